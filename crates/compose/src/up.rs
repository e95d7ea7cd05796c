//! `up`: converge a project on the engine. Networks and volumes are ensured, images built or
//! pulled, and each service's container created, recreated (its config hash changed), started
//! or left alone, as soon as what it depends on meets its condition.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use bollard::models::{EndpointSettings, NetworkConnectRequest, NetworkCreateRequest, VolumeCreateRequest};
use bollard::query_parameters::{CreateContainerOptionsBuilder, RemoveContainerOptionsBuilder, StopContainerOptionsBuilder};
use futures_util::future::{BoxFuture, join_all};
use serde::Serialize;
use stack_config::compose::{Condition, Project, Service};
use stack_config::secret::Redactor;
use tokio::sync::watch;

use crate::build::BuildPolicy;
use crate::lock::ProjectLock;
use crate::observe::Container;
use crate::plan::{Readiness, build_order, image_name, readiness};
use crate::ports::OwnContainers;
use crate::progress::{Event, Progress};
use crate::spec::{Spec, spec};
use crate::wait::Target;
use crate::{Engine, Error, Result, labels};

/// A compose project as the driver runs it.
#[derive(Clone, Copy)]
pub struct Stack<'a> {
    /// The compose project name.
    pub name: &'a str,
    pub project: &'a Project,
    /// The services to act on (with their dependencies, for `up`).
    pub services: &'a [String],
    /// Variables for `environment` entries without a value.
    pub lookup: &'a (dyn Fn(&str) -> Option<String> + Sync),
    pub redactor: &'a Redactor,
}

impl std::fmt::Debug for Stack<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stack").field("name", &self.name).field("services", &self.services).finish_non_exhaustive()
    }
}

/// A protocol-level readiness check the caller adds to the driver's waits: after a container's
/// healthcheck passes, the service must also answer its own protocol through its published
/// port (e.g. Redis PING). The driver depends on no probe crate; the caller hands one in.
pub trait ReadyProbe: Send + Sync {
    /// One attempt for `service`, whose published ports are `(container port, host port)`;
    /// `None` when there is no protocol probe for it, else the detail or the error.
    fn probe<'a>(&'a self, service: &'a Service, ports: &'a [(u16, u16)]) -> BoxFuture<'a, Option<Result<String, String>>>;
}

/// A shared [`ReadyProbe`].
#[derive(Clone)]
pub struct ProbeHook(pub std::sync::Arc<dyn ReadyProbe>);

impl std::fmt::Debug for ProbeHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProbeHook")
    }
}

/// Options of [`Engine::up`].
#[derive(Debug, Clone)]
pub struct UpOptions {
    /// Deadline of each service's wait (a service's `dev.srvthreds.wait-timeout` label overrides).
    pub wait_timeout: Duration,
    pub build: BuildPolicy,
    /// Extra labels on every container created (e.g. a test run's id and owner).
    pub labels: HashMap<String, String>,
    /// Remove containers of services no longer in the compose files.
    pub remove_orphans: bool,
    /// A protocol probe every long-running service must also pass before it counts as ready.
    pub ready_probe: Option<ProbeHook>,
}

impl Default for UpOptions {
    fn default() -> Self {
        UpOptions {
            wait_timeout: Duration::from_secs(180),
            build: BuildPolicy::WhenChanged,
            labels: HashMap::new(),
            remove_orphans: false,
            ready_probe: None,
        }
    }
}

/// What `up` did to each service.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub project: String,
    pub services: Vec<ServiceReport>,
    pub elapsed_secs: f64,
    /// True when nothing was created, recreated, started or built.
    pub unchanged: bool,
}

/// One service's outcome.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceReport {
    pub service: String,
    pub container: String,
    pub action: Action,
    pub ready_after_secs: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i64>,
}

/// What happened to a service's container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "reason")]
pub enum Action {
    Create,
    /// With the reason (e.g. the config hash changed).
    Recreate(String),
    Start,
    UpToDate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Pending,
    Started,
    Ready,
    Failed,
}

impl Engine {
    /// Converges `stack` and waits until every service is ready.
    pub async fn up(&self, stack: &Stack<'_>, options: &UpOptions, progress: &dyn Progress) -> Result<Report> {
        let started = Instant::now();
        let _lock = ProjectLock::acquire(stack.name, progress).await?;
        let existing = self.project_containers(stack.name).await?;
        self.handle_orphans(stack, &existing, options.remove_orphans, progress).await?;
        let selected: Vec<&Service> = stack
            .services
            .iter()
            .map(|s| stack.project.services.get(s).ok_or_else(|| Error::UnknownService(s.clone())))
            .collect::<Result<_>>()?;

        // Images: builds first (bases before their dependents), then pulls of missing images.
        let mut image_ids: HashMap<String, String> = HashMap::new();
        let order: Vec<&Service> = build_order(stack.project, stack.name, &selected).into_iter().map(|(s, _)| s).collect();
        let mut built_any = false;
        for b in self.build_images(stack.name, stack.project, &order, options.build, progress).await? {
            built_any |= !b.skipped;
            image_ids.insert(b.service, b.id);
        }
        for svc in &selected {
            if !image_ids.contains_key(&svc.name) {
                let image = image_name(stack.name, svc);
                image_ids.insert(svc.name.clone(), self.ensure_image(svc, &image, progress).await?);
            }
        }

        // Decide per service, then check ports before anything is created.
        let mut plans: BTreeMap<String, (Spec, Action, Option<Container>)> = BTreeMap::new();
        for svc in &selected {
            let image = image_name(stack.name, svc);
            let spec = spec(stack.name, stack.project, svc, &image, &image_ids[&svc.name], stack.lookup, &options.labels);
            let current = existing.iter().find(|c| c.service == svc.name && !c.oneoff && c.number == 1).cloned();
            let action = match &current {
                None => Action::Create,
                Some(c) if c.config_hash != spec.config_hash => Action::Recreate("its definition or image changed".to_owned()),
                Some(c) if c.state == "running" => Action::UpToDate,
                Some(c)
                    if readiness(stack.project, svc) == Readiness::Completed
                        && c.state == "exited"
                        && c.status.starts_with("Exited (0)") =>
                {
                    Action::UpToDate
                }
                Some(c) if c.state == "exited" && readiness(stack.project, svc) == Readiness::Completed => {
                    Action::Recreate("its last run failed".to_owned())
                }
                Some(_) => Action::Start,
            };
            plans.insert(svc.name.clone(), (spec, action, current));
        }
        for svc in &selected {
            let (_, action, current) = &plans[&svc.name];
            if *action != Action::UpToDate {
                // Only a running container of the service holds its ports now (a recreate
                // removes it first). A stopped one holds nothing: its ports must be free, or
                // its start fails half-way through the stack with the engine's bind error.
                // (One the engine is still starting, after an interrupted run, is told apart by
                // the engine's own proxy pointing at it.)
                let own = OwnContainers {
                    running: current.iter().filter(|c| holds_ports(c)).map(|c| c.name.clone()).collect(),
                    stopped: current.iter().filter(|c| !holds_ports(c)).map(|c| c.name.clone()).collect(),
                };
                for port in &svc.ports {
                    self.check_port(&svc.name, port, &own).await?;
                }
            }
        }
        self.ensure_networks(stack, &selected, progress).await?;
        self.ensure_volumes(stack, &selected, progress).await?;

        // Start every service as soon as its dependencies meet their conditions.
        let channels: HashMap<String, (watch::Sender<Phase>, watch::Receiver<Phase>)> =
            selected.iter().map(|s| (s.name.clone(), watch::channel(Phase::Pending))).collect();
        let tasks = selected.iter().map(|svc| {
            let (spec, action, current) = &plans[&svc.name];
            self.service_task(stack, svc, spec, action, current.as_ref(), &channels, options, progress, started)
        });
        let results = join_all(tasks).await;
        let mut reports = Vec::new();
        let mut primary = Vec::new();
        let mut secondary = Vec::new();
        for r in results {
            match r {
                Ok(rep) => reports.push(rep),
                Err(e @ Error::DependencyFailed { .. }) => secondary.push(e),
                Err(e) => primary.push(e),
            }
        }
        primary.extend(secondary);
        match primary.len() {
            0 => {}
            1 => return Err(primary.remove(0)),
            _ => return Err(Error::Many(primary)),
        }
        let unchanged = !built_any && reports.iter().all(|r| r.action == Action::UpToDate);
        Ok(Report { project: stack.name.to_owned(), services: reports, elapsed_secs: started.elapsed().as_secs_f64(), unchanged })
    }

    #[allow(clippy::too_many_arguments)]
    async fn service_task(
        &self,
        stack: &Stack<'_>,
        svc: &Service,
        spec: &Spec,
        action: &Action,
        current: Option<&Container>,
        channels: &HashMap<String, (watch::Sender<Phase>, watch::Receiver<Phase>)>,
        options: &UpOptions,
        progress: &dyn Progress,
        started: Instant,
    ) -> Result<ServiceReport> {
        let tx = &channels[&svc.name].0;
        let result = async {
            for (dep, d) in &svc.depends_on {
                let Some((_, rx)) = channels.get(dep) else { continue };
                let mut rx = rx.clone();
                let wanted = |p: Phase| match d.condition {
                    Condition::ServiceStarted => matches!(p, Phase::Started | Phase::Ready),
                    _ => p == Phase::Ready,
                };
                let phase = rx.wait_for(|p| wanted(*p) || *p == Phase::Failed).await.map(|p| *p).unwrap_or(Phase::Failed);
                if phase == Phase::Failed {
                    return Err(Error::DependencyFailed { service: svc.name.clone(), dependency: dep.clone() });
                }
            }
            let container = spec.container.clone();
            let readiness = readiness(stack.project, svc);
            let mut already_ready = false;
            match action {
                Action::UpToDate => {
                    progress.event(&Event::ContainerUpToDate { service: svc.name.clone(), container: container.clone() });
                    let c = current.map(|c| (c.state.as_str(), c.health.as_str()));
                    already_ready = match readiness {
                        Readiness::Completed => true,
                        Readiness::Running => true,
                        Readiness::Healthy => c.is_some_and(|(_, h)| h == "healthy"),
                    };
                }
                Action::Start => self.start(&svc.name, &container, progress).await?,
                Action::Create | Action::Recreate(_) => {
                    if let (Action::Recreate(_), Some(c)) = (action, current) {
                        self.remove_container(&c.name, true).await?;
                    }
                    let reason = match action {
                        Action::Recreate(r) => r.clone(),
                        _ => "new".to_owned(),
                    };
                    self.create(spec).await?;
                    progress.event(&Event::ContainerCreated { service: svc.name.clone(), container: container.clone(), reason });
                    self.start(&svc.name, &container, progress).await?;
                }
            }
            let _ = tx.send(Phase::Started);
            let mut exit_code = None;
            let deadline =
                svc.labels.get(labels::WAIT_TIMEOUT).and_then(|t| t.parse().ok()).map(Duration::from_secs).unwrap_or(options.wait_timeout);
            if !already_ready {
                progress.event(&Event::Waiting { service: svc.name.clone(), condition: condition_text(readiness).to_owned() });
                let t = Target {
                    service: &svc.name,
                    container: &container,
                    readiness,
                    healthcheck: svc.healthcheck.as_ref(),
                    deadline,
                    redactor: stack.redactor,
                };
                let waited = Instant::now();
                exit_code = self.wait_ready(&t).await?.exit_code;
                progress.event(&Event::Ready {
                    service: svc.name.clone(),
                    condition: condition_text(readiness).to_owned(),
                    elapsed: waited.elapsed(),
                });
            }
            if let (Some(hook), false) = (&options.ready_probe, readiness == Readiness::Completed) {
                self.wait_for_protocol(svc, &container, hook, deadline, stack.redactor, progress).await?;
            }
            if let Some(set) = svc.labels.get(labels::MONGO_REPLICA_SET) {
                self.initiate_replica_set(svc, &container, set, options.wait_timeout, stack.redactor, progress).await?;
            }
            Ok(ServiceReport {
                service: svc.name.clone(),
                container,
                action: action.clone(),
                ready_after_secs: started.elapsed().as_secs_f64(),
                exit_code,
            })
        }
        .await;
        let _ = tx.send(if result.is_ok() { Phase::Ready } else { Phase::Failed });
        result
    }

    /// Retries the caller's protocol probe until it passes or the deadline is hit.
    async fn wait_for_protocol(
        &self,
        svc: &Service,
        container: &str,
        hook: &ProbeHook,
        deadline: Duration,
        redactor: &Redactor,
        progress: &dyn Progress,
    ) -> Result<()> {
        let ports: Vec<(u16, u16)> = svc.ports.iter().filter_map(|p| p.published.map(|h| (p.target, h))).collect();
        let begun = Instant::now();
        loop {
            match hook.0.probe(svc, &ports).await {
                None => return Ok(()),
                Some(Ok(detail)) => {
                    progress.event(&Event::Ready {
                        service: svc.name.clone(),
                        condition: format!("answering its protocol ({detail})"),
                        elapsed: begun.elapsed(),
                    });
                    return Ok(());
                }
                Some(Err(e)) if begun.elapsed() >= deadline => {
                    return Err(Error::Wait {
                        service: svc.name.clone(),
                        container: container.to_owned(),
                        reason: format!("passed its healthcheck but did not answer its protocol within {}s", deadline.as_secs()),
                        probe: format!("\n--- last protocol probe ---\n{}", redactor.redact(&e)),
                        logs: redactor.redact(&self.log_tail(container, 20).await),
                    });
                }
                Some(Err(_)) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    }

    async fn create(&self, spec: &Spec) -> Result<()> {
        let options = CreateContainerOptionsBuilder::default().name(&spec.container).build();
        self.docker()
            .create_container(Some(options), spec.body.clone())
            .await
            .map_err(|e| Error::Api { operation: format!("create container {}", spec.container), source: e })?;
        for (net, aliases) in &spec.extra_networks {
            let request = NetworkConnectRequest {
                container: spec.container.clone(),
                endpoint_config: Some(EndpointSettings { aliases: Some(aliases.clone()), ..Default::default() }),
            };
            self.docker()
                .connect_network(net, request)
                .await
                .map_err(|e| Error::Api { operation: format!("connect container {} to network {net}", spec.container), source: e })?;
        }
        Ok(())
    }

    async fn start(&self, service: &str, container: &str, progress: &dyn Progress) -> Result<()> {
        self.docker()
            .start_container(container, None)
            .await
            .map_err(|e| Error::Api { operation: format!("start container {container}"), source: e })?;
        progress.event(&Event::ContainerStarted { service: service.to_owned(), container: container.to_owned() });
        Ok(())
    }

    /// Stops (10 s grace) and removes a container with its anonymous volumes; a missing one is fine.
    pub(crate) async fn remove_container(&self, container: &str, force: bool) -> Result<()> {
        let stop = StopContainerOptionsBuilder::default().t(10).build();
        match self.docker().stop_container(container, Some(stop)).await {
            Ok(()) | Err(bollard::errors::Error::DockerResponseServerError { status_code: 304 | 404, .. }) => {}
            Err(e) => return Err(Error::Api { operation: format!("stop container {container}"), source: e }),
        }
        // `v` removes the container's anonymous volumes (an image's `VOLUME` paths nothing else
        // mounts): nothing can ever reattach them, so keeping them would only leak disk. Named
        // volumes are never touched here.
        let options = RemoveContainerOptionsBuilder::default().force(force).v(true).build();
        match self.docker().remove_container(container, Some(options)).await {
            Ok(()) | Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => Ok(()),
            Err(e) => Err(Error::Api { operation: format!("remove container {container}"), source: e }),
        }
    }

    async fn handle_orphans(&self, stack: &Stack<'_>, existing: &[Container], remove: bool, progress: &dyn Progress) -> Result<()> {
        for c in existing.iter().filter(|c| !stack.project.services.contains_key(&c.service)) {
            if remove {
                self.remove_container(&c.name, true).await?;
            }
            progress.event(&Event::Orphan { service: c.service.clone(), container: c.name.clone(), removed: remove });
        }
        Ok(())
    }

    async fn ensure_networks(&self, stack: &Stack<'_>, selected: &[&Service], progress: &dyn Progress) -> Result<()> {
        let mut keys: Vec<String> = selected.iter().flat_map(|s| s.networks.keys().cloned()).collect();
        if selected.iter().any(|s| s.networks.is_empty()) {
            keys.push("default".to_owned());
        }
        keys.sort();
        keys.dedup();
        for key in keys {
            let def = stack.project.networks.get(&key).cloned().unwrap_or_default();
            let name = if key == "default" && !stack.project.networks.contains_key("default") {
                format!("{}_default", stack.name)
            } else {
                def.engine_name(stack.name, &key)
            };
            // Engine 20.10 lets two networks share a name, after which lookups by name fail as
            // ambiguous: inspect first and create only when it is really absent.
            match self.docker().inspect_network(&name, None).await {
                Ok(_) => {
                    progress.event(&Event::NetworkExists { name });
                    continue;
                }
                Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => {}
                Err(e) => return Err(Error::Api { operation: format!("inspect network {name}"), source: e }),
            }
            if def.external {
                return Err(Error::Api {
                    operation: format!("find external network {name} (create it first: docker network create {name})"),
                    source: bollard::errors::Error::DockerResponseServerError { status_code: 404, message: "not found".to_owned() },
                });
            }
            let mut net_labels: HashMap<String, String> = def.labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            net_labels.insert(labels::PROJECT.to_owned(), stack.name.to_owned());
            net_labels.insert(labels::NETWORK.to_owned(), key.clone());
            net_labels.insert(labels::VERSION.to_owned(), labels::version());
            net_labels.insert(labels::MANAGED_BY.to_owned(), labels::MANAGER.to_owned());
            let request = NetworkCreateRequest {
                name: name.clone(),
                driver: def.driver.clone().or_else(|| Some("bridge".to_owned())),
                labels: Some(net_labels),
                ..Default::default()
            };
            self.docker()
                .create_network(request)
                .await
                .map_err(|e| Error::Api { operation: format!("create network {name}"), source: e })?;
            progress.event(&Event::NetworkCreated { name });
        }
        Ok(())
    }

    async fn ensure_volumes(&self, stack: &Stack<'_>, selected: &[&Service], progress: &dyn Progress) -> Result<()> {
        let mut keys: Vec<&str> = selected
            .iter()
            .flat_map(|s| s.volumes.iter())
            .filter(|m| m.kind == stack_config::compose::MountKind::Volume)
            .filter_map(|m| m.source.as_deref())
            .filter(|s| stack.project.volumes.contains_key(*s))
            .collect();
        keys.sort();
        keys.dedup();
        for key in keys {
            let def = &stack.project.volumes[key];
            let name = def.engine_name(stack.name, key);
            match self.docker().inspect_volume(&name).await {
                Ok(_) => {
                    progress.event(&Event::VolumeExists { name });
                    continue;
                }
                Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) if !def.external => {}
                Err(e) => return Err(Error::Api { operation: format!("inspect volume {name}"), source: e }),
            }
            let mut vol_labels: HashMap<String, String> = def.labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            vol_labels.insert(labels::PROJECT.to_owned(), stack.name.to_owned());
            vol_labels.insert(labels::VOLUME.to_owned(), key.to_owned());
            vol_labels.insert(labels::VERSION.to_owned(), labels::version());
            vol_labels.insert(labels::MANAGED_BY.to_owned(), labels::MANAGER.to_owned());
            let request = VolumeCreateRequest {
                name: Some(name.clone()),
                driver: def.driver.clone(),
                labels: Some(vol_labels),
                ..Default::default()
            };
            self.docker().create_volume(request).await.map_err(|e| Error::Api { operation: format!("create volume {name}"), source: e })?;
            progress.event(&Event::VolumeCreated { name });
        }
        Ok(())
    }

    /// Initiates a MongoDB replica set through the container's own `mongosh`, once: a set that
    /// reports `ok` is left alone.
    async fn initiate_replica_set(
        &self,
        svc: &Service,
        container: &str,
        set: &str,
        deadline: Duration,
        redactor: &Redactor,
        progress: &dyn Progress,
    ) -> Result<()> {
        let eval = |js: &str| vec!["mongosh".to_owned(), "--quiet".to_owned(), "--eval".to_owned(), js.to_owned()];
        let status = self.exec(container, eval("rs.status().ok")).await?;
        if status.0 == 0 && status.1.trim() == "1" {
            return Ok(());
        }
        let port = svc
            .command
            .as_ref()
            .and_then(|c| c.iter().position(|a| a == "--port").and_then(|i| c.get(i + 1)).cloned())
            .unwrap_or_else(|| "27017".to_owned());
        let host = svc.networks.values().flat_map(|n| n.aliases.first()).next().cloned().unwrap_or_else(|| svc.name.clone());
        let js = format!("rs.initiate({{_id: '{set}', members: [{{_id: 0, host: '{host}:{port}'}}]}}).ok");
        let (code, out) = self.exec(container, eval(&js)).await?;
        if code != 0 || out.trim() != "1" {
            // A concurrent initiation may have won; the status check below decides.
            tracing::debug!(service = %svc.name, output = %redactor.redact(&out), "replSetInitiate did not answer ok");
        } else {
            progress.event(&Event::ReplicaSetInitiated { service: svc.name.clone(), set: set.to_owned() });
        }
        let begun = Instant::now();
        loop {
            let (code, out) = self.exec(container, eval("db.hello().isWritablePrimary")).await?;
            if code == 0 && out.trim() == "true" {
                progress.event(&Event::ReplicaSetReady { service: svc.name.clone(), set: set.to_owned() });
                return Ok(());
            }
            if begun.elapsed() > deadline {
                let logs = redactor.redact(&self.log_tail(container, 20).await);
                return Err(Error::Wait {
                    service: svc.name.clone(),
                    container: container.to_owned(),
                    reason: format!("replica set {set} has no primary after {}s", deadline.as_secs()),
                    probe: format!("\n--- last mongosh output ---\n{}", redactor.redact(&out)),
                    logs,
                });
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

/// Whether a container's published ports are bound now (its state is running, paused or
/// restarting).
fn holds_ports(c: &Container) -> bool {
    matches!(c.state.as_str(), "running" | "paused" | "restarting")
}

fn condition_text(r: Readiness) -> &'static str {
    match r {
        Readiness::Running => "running",
        Readiness::Healthy => "healthy",
        Readiness::Completed => "completed",
    }
}
