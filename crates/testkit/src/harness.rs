//! The test-harness API: start the stack (or part of it) as its own compose project with free
//! host ports, wait until it is ready, hand out endpoints, and tear it down: explicitly with
//! [`TestStack::stop`], or on drop with the docker CLI.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::BuildHasher;
use std::net::{TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use camino::{Utf8Path, Utf8PathBuf};
use stack_compose::progress::{Event, Progress};
use stack_compose::{BuildPolicy, DownOptions, Engine, EngineOptions, Report, Stack, UpOptions};
use stack_config::Infra;
use stack_config::compose::{Network, Port, Project};
use stack_config::deployment::DeployCommand;
use stack_config::environment::Vars;
use stack_config::infra::{LoadOptions, select_services};

use crate::cleanup::{Cleanup, remove_lock_file};
use crate::endpoint::Endpoint;
use crate::owner::{self, Owner};
use crate::{Error, Result, images};

/// The environment a harness uses unless told otherwise.
pub const DEFAULT_ENVIRONMENT: &str = "test";
/// The deployment a harness starts unless told otherwise: the whole stack.
pub const DEFAULT_DEPLOYMENT: &str = "s_a_dbs_s";

/// How to start a [`TestStack`]; made by [`TestStack::builder`].
#[derive(Clone)]
pub struct Builder {
    infra: PathBuf,
    environment: String,
    deployment: String,
    services: Option<Vec<String>>,
    test_images: bool,
    vars: BTreeMap<String, String>,
    wait_timeout: Duration,
}

/// A running stack owned by one test: its own compose project (`tk-<pid>-<n>-<random>`, also
/// its run id), network and host ports. Removed by [`TestStack::stop`], or when dropped.
pub struct TestStack {
    engine: Engine,
    project: String,
    network: String,
    model: Project,
    services: Vec<String>,
    vars: Vars,
    report: Report,
    cleanup: Cleanup,
}

impl TestStack {
    /// A builder with the defaults: this repository's `infrastructure/`, environment `test`,
    /// deployment `s_a_dbs_s` (the whole stack), the local test images.
    pub fn builder() -> Builder {
        Builder {
            infra: repository_root().join("infrastructure").into_std_path_buf(),
            environment: DEFAULT_ENVIRONMENT.to_owned(),
            deployment: DEFAULT_DEPLOYMENT.to_owned(),
            services: None,
            test_images: true,
            vars: BTreeMap::new(),
            wait_timeout: UpOptions::default().wait_timeout,
        }
    }

    /// The compose project name, which is also the run id on every container.
    pub fn project(&self) -> &str {
        &self.project
    }

    /// The name of the stack's network on the engine.
    pub fn network(&self) -> &str {
        &self.network
    }

    /// The services started (the requested ones and their dependencies).
    pub fn services(&self) -> &[String] {
        &self.services
    }

    /// What the compose driver did to start the stack.
    pub fn report(&self) -> &Report {
        &self.report
    }

    /// The engine the stack runs on.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// A variable of the stack's environment (env file, process, the builder's `var`s).
    pub fn var(&self, key: &str) -> Option<String> {
        self.vars.get(key)
    }

    /// The container name of a service, e.g. for `docker exec`.
    pub fn container(&self, service: &str) -> Result<String> {
        let svc = self.service(service)?;
        Ok(stack_compose::plan::container_name(&self.project, svc))
    }

    /// The endpoint of a service's first published port.
    pub fn endpoint(&self, service: &str) -> Result<Endpoint> {
        let svc = self.service(service)?;
        let port = svc.ports.iter().find(|p| p.published.is_some()).ok_or_else(|| self.not_published(service, "port"))?;
        Ok(self.endpoint_of(service, port))
    }

    /// The endpoint of the host port that publishes `container_port` of a service.
    pub fn endpoint_at(&self, service: &str, container_port: u16) -> Result<Endpoint> {
        let svc = self.service(service)?;
        let mut ports: Vec<&Port> = svc.ports.iter().filter(|p| p.target == container_port && p.published.is_some()).collect();
        ports.sort_by_key(|p| p.protocol != "tcp");
        let port = ports.first().ok_or_else(|| self.not_published(service, &format!("container port {container_port}")))?;
        Ok(self.endpoint_of(service, port))
    }

    /// The host port that publishes `container_port` of a service.
    pub fn port(&self, service: &str, container_port: u16) -> Result<u16> {
        Ok(self.endpoint_at(service, container_port)?.port)
    }

    /// Removes the stack's containers, network and volumes through the engine API.
    pub async fn stop(self) -> Result<()> {
        let TestStack { engine, project, model, vars, mut cleanup, .. } = self;
        // Every service of the project, so `down` takes the network and all volumes too.
        let names: Vec<String> = model.services.keys().cloned().collect();
        let redactor = vars.redactor();
        let lookup = |k: &str| vars.get(k);
        let stack = Stack { name: &project, project: &model, services: &names, lookup: &lookup, redactor: &redactor };
        let options = DownOptions { volumes: true, remove_orphans: true };
        // On failure `cleanup` is still armed and tries again with the docker CLI as it drops.
        engine.down(&stack, options, &Trace).await.map_err(|source| Error::Stop { project: project.clone(), source: Box::new(source) })?;
        cleanup.disarm();
        remove_lock_file(&project);
        Ok(())
    }

    fn service(&self, service: &str) -> Result<&stack_config::compose::Service> {
        self.services.iter().any(|s| s == service).then(|| self.model.services.get(service)).flatten().ok_or_else(|| {
            Error::UnknownService { service: service.to_owned(), project: self.project.clone(), running: self.services.join(", ") }
        })
    }

    fn endpoint_of(&self, service: &str, port: &Port) -> Endpoint {
        let host = match port.host_ip.as_deref() {
            Some(ip) if !ip.is_empty() && ip != "0.0.0.0" && ip != "::" => ip,
            _ => "127.0.0.1",
        };
        Endpoint::new(service, host, port.published.unwrap_or_default(), port.target, &|k| self.vars.get(k))
    }

    fn not_published(&self, service: &str, what: &str) -> Error {
        let published: Vec<String> = self
            .model
            .services
            .get(service)
            .map(|s| s.ports.iter().filter(|p| p.published.is_some()).map(|p| format!("{}/{}", p.target, p.protocol)).collect())
            .unwrap_or_default();
        Error::NotPublished {
            service: service.to_owned(),
            project: self.project.clone(),
            what: what.to_owned(),
            published: if published.is_empty() { "none".to_owned() } else { published.join(", ") },
        }
    }
}

impl Builder {
    /// The infrastructure tree (the shape of this repository's `infrastructure/`).
    pub fn infra(mut self, dir: &Path) -> Builder {
        self.infra = dir.to_owned();
        self
    }

    /// The environment whose env file supplies variables and credentials (default `test`).
    pub fn environment(mut self, name: &str) -> Builder {
        self.environment = name.to_owned();
        self
    }

    /// The catalogue deployment whose compose files are used (default `s_a_dbs_s`).
    pub fn deployment(mut self, short_name: &str) -> Builder {
        self.deployment = short_name.to_owned();
        self
    }

    /// Only these services, with what they depend on (default: the deployment's services).
    pub fn services(mut self, names: &[&str]) -> Builder {
        self.services = Some(names.iter().map(|s| (*s).to_owned()).collect());
        self
    }

    /// Build (or find, cached by content) the local test images and point the compose files at
    /// them (default true). Off: the images the variables name are used, pulled if missing.
    pub fn test_images(mut self, on: bool) -> Builder {
        self.test_images = on;
        self
    }

    /// A variable for the compose files, over the env file and the process environment.
    pub fn var(mut self, key: &str, value: &str) -> Builder {
        self.vars.insert(key.to_owned(), value.to_owned());
        self
    }

    /// Deadline of each service's wait for readiness (default 180 s).
    pub fn wait_timeout(mut self, timeout: Duration) -> Builder {
        self.wait_timeout = timeout;
        self
    }

    /// Starts the stack and waits until every service is ready. Leftovers of earlier runs whose
    /// process is gone are removed first. A start that fails removes what it started.
    pub async fn start(self) -> Result<TestStack> {
        let engine = Engine::connect(&EngineOptions::from_env(&|k| std::env::var(k).ok()))
            .await
            .map_err(|source| Error::Connect { source: Box::new(source) })?;
        owner::remove_leftovers(&engine, &Trace).await?;

        let project = new_run_id();
        let network = format!("{project}-net");
        // The process environment overrides the env file, as in Compose (non-UTF-8 entries cannot
        // be compose variables and are skipped).
        let mut process_env: BTreeMap<String, String> =
            std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))).collect();
        if self.test_images {
            process_env.extend(test_image_vars(&engine).await?);
        }
        process_env.extend(self.vars.clone());
        // The compose files name the project and the network through these.
        let ours = [("COMPOSE_PROJECT_NAME", project.clone()), ("SRVTHREDS_NETWORK", network.clone())];
        process_env.extend(ours.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));

        let infra_root = Utf8PathBuf::from_path_buf(self.infra.clone()).map_err(|p| Error::InfraPath(p.display().to_string()))?;
        let (infra, warnings) = Infra::load(&infra_root, &LoadOptions { process_env })
            .map_err(|source| Error::Load { infra: infra_root.to_string(), source })?;
        let (mut resolved, more) = infra.resolve(&self.environment, &self.deployment).map_err(|source| Error::Resolve {
            environment: self.environment.clone(),
            deployment: self.deployment.clone(),
            source,
        })?;
        for w in warnings.iter().chain(more.iter()) {
            tracing::debug!(warning = %w, "configuration warning");
        }
        let Some(mut model) = resolved.compose.take() else {
            return Err(Error::NotDocker { environment: self.environment, deployment: self.deployment });
        };
        // A deployment's own `env` could name another project; ours wins.
        resolved.vars.extra.extend(ours.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
        let services = match &self.services {
            None => resolved.services.clone(),
            Some(list) => self.select(&model, list)?,
        };

        let labels = match Owner::current() {
            Some(me) => me.labels(&project),
            None => HashMap::from([(owner::RUN_ID.to_owned(), project.clone())]),
        };
        isolate(&mut model, &project, &services, &labels);
        assign_ports(&mut model, &services)?;

        // From here on, whatever happens (an error, a panic, a cancelled future), what was
        // started is removed.
        let cleanup = Cleanup::new(&project);
        let options = UpOptions { wait_timeout: self.wait_timeout, build: BuildPolicy::WhenChanged, labels, remove_orphans: true };
        let redactor = resolved.vars.redactor();
        let mut attempt = 0;
        let report = loop {
            attempt += 1;
            let lookup = |k: &str| resolved.vars.get(k);
            let stack = Stack { name: &project, project: &model, services: &services, lookup: &lookup, redactor: &redactor };
            match engine.up(&stack, &options, &Trace).await {
                Ok(report) => break report,
                // Another process took a chosen port between our check and the engine's bind;
                // the driver found it before creating anything, so new ports fix it.
                Err(stack_compose::Error::PortInUse { port, .. }) if attempt < 3 => {
                    tracing::debug!(project = %project, port, "host port taken meanwhile; choosing new ones");
                    assign_ports(&mut model, &services)?;
                }
                Err(source) => return Err(Error::Start { project, source: Box::new(source) }),
            }
        };
        Ok(TestStack { engine, project, network, model, services, vars: resolved.vars, report, cleanup })
    }

    /// The requested services with their dependencies; an unknown name is a clear error.
    fn select(&self, model: &Project, list: &[String]) -> Result<Vec<String>> {
        for s in list {
            if !model.services.contains_key(s) {
                let names: Vec<&str> = model.services.keys().map(String::as_str).collect();
                return Err(Error::NoSuchService {
                    service: s.clone(),
                    deployment: self.deployment.clone(),
                    help: stack_config::suggest::did_you_mean(s, names.iter().copied()).unwrap_or_default(),
                });
            }
        }
        select_services(model, Some(list), DeployCommand::Up).map_err(|d| Error::Resolve {
            environment: self.environment.clone(),
            deployment: self.deployment.clone(),
            source: stack_config::Error::Invalid(d.into()),
        })
    }
}

impl std::fmt::Debug for Builder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Variables may hold passwords: their names only.
        f.debug_struct("Builder")
            .field("infra", &self.infra)
            .field("environment", &self.environment)
            .field("deployment", &self.deployment)
            .field("services", &self.services)
            .field("test_images", &self.test_images)
            .field("vars", &self.vars.keys().collect::<Vec<_>>())
            .field("wait_timeout", &self.wait_timeout)
            .finish()
    }
}

impl std::fmt::Debug for TestStack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestStack")
            .field("project", &self.project)
            .field("network", &self.network)
            .field("services", &self.services)
            .finish_non_exhaustive()
    }
}

/// The repository this crate belongs to (holds `infrastructure/` and the test image recipes).
pub fn repository_root() -> &'static Utf8Path {
    let manifest = Utf8Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().and_then(Utf8Path::parent).unwrap_or(manifest)
}

/// Logs the compose driver's progress with `tracing`; the harness never prints.
struct Trace;

impl Progress for Trace {
    fn event(&self, event: &Event) {
        match event {
            Event::ImageBuildLine { .. } => tracing::trace!("{event}"),
            _ => tracing::debug!("{event}"),
        }
    }
}

/// The test images' variables, built or found once per process: parallel harnesses wait for
/// one build instead of racing each other through the same one.
async fn test_image_vars(engine: &Engine) -> Result<Vec<(String, String)>> {
    static VARS: tokio::sync::OnceCell<Vec<(String, String)>> = tokio::sync::OnceCell::const_new();
    let vars = VARS.get_or_try_init(|| async { images::ensure(engine, repository_root(), &Trace).await.map(|t| t.vars) }).await?;
    Ok(vars.clone())
}

/// `tk-<pid>-<counter>-<random>`: unique within the process by the counter, and across pid reuse
/// by the random part.
fn new_run_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let random = std::hash::RandomState::new().hash_one((std::time::SystemTime::now(), n, std::process::id()));
    format!("tk-{}-{n}-{:06x}", std::process::id(), random & 0xff_ffff)
}

/// Makes the project safe to run beside others: no fixed container names, networks and volumes
/// named after the project (unless external, which are shared on purpose), and the owner's
/// labels on the networks and volumes too.
fn isolate(model: &mut Project, project: &str, selected: &[String], labels: &HashMap<String, String>) {
    for svc in model.services.values_mut() {
        svc.container_name = None;
    }
    let uses_default = selected.iter().filter_map(|s| model.services.get(s)).any(|s| s.networks.is_empty());
    if uses_default && !model.networks.contains_key("default") {
        // The driver's implicit default network, made explicit so it carries the labels.
        model.networks.insert("default".to_owned(), Network::default());
    }
    for (key, net) in model.networks.iter_mut().filter(|(_, n)| !n.external) {
        if net.name.as_deref().is_some_and(|n| !n.starts_with(project)) {
            net.name = Some(format!("{project}_{key}"));
        }
        net.labels.extend(labels.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    for vol in model.volumes.values_mut().filter(|v| !v.external) {
        if vol.name.as_deref().is_some_and(|n| !n.starts_with(project)) {
            vol.name = None;
        }
        vol.labels.extend(labels.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
}

/// Publishes every port of the selected services on a free host port.
fn assign_ports(model: &mut Project, selected: &[String]) -> Result<()> {
    for name in selected {
        let Some(svc) = model.services.get_mut(name) else { continue };
        for port in &mut svc.ports {
            let free = free_port(&port.protocol).map_err(|source| Error::FreePort { service: name.clone(), source })?;
            port.published = Some(free);
        }
    }
    Ok(())
}

/// A port the system reports free on all interfaces, never handed out twice in this process (so
/// parallel harnesses cannot pick the same one before either has bound it).
fn free_port(protocol: &str) -> std::io::Result<u16> {
    static HANDED_OUT: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());
    for _ in 0..64 {
        let port = match protocol {
            "udp" => UdpSocket::bind("0.0.0.0:0")?.local_addr()?.port(),
            _ => TcpListener::bind("0.0.0.0:0")?.local_addr()?.port(),
        };
        if HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner()).insert(port) {
            return Ok(port);
        }
    }
    Err(std::io::Error::other("the system kept offering ports this process has handed out already"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use stack_config::compose::{Service, ServiceNetwork, Volume};

    use super::*;

    #[test]
    fn run_ids_are_unique_and_valid_project_names() {
        let a = new_run_id();
        let b = new_run_id();
        assert_ne!(a, b);
        let prefix = format!("tk-{}-", std::process::id());
        for id in [&a, &b] {
            assert!(id.starts_with(&prefix), "{id}");
            assert!(id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'), "{id}");
        }
    }

    #[test]
    fn free_ports_are_never_handed_out_twice() {
        let ports: Vec<u16> = (0..50).map(|_| free_port("tcp").unwrap()).collect();
        let unique: BTreeSet<u16> = ports.iter().copied().collect();
        assert_eq!(unique.len(), ports.len());
        assert!(free_port("udp").unwrap() > 0);
    }

    #[test]
    fn isolation_renames_shared_resources_and_rewrites_ports() {
        let mut model = Project::default();
        let port = |target| Port { host_ip: None, published: Some(6379), target, protocol: "tcp".to_owned(), location: Default::default() };
        let redis = Service {
            name: "redis".to_owned(),
            container_name: Some("redis".to_owned()),
            ports: vec![port(6379), port(6380)],
            networks: BTreeMap::from([("net".to_owned(), ServiceNetwork::default())]),
            ..Service::default()
        };
        let other = Service { name: "other".to_owned(), ports: vec![port(1)], ..Service::default() };
        model.services.insert("redis".to_owned(), redis);
        model.services.insert("other".to_owned(), other);
        model.networks.insert("net".to_owned(), Network { name: Some("srvthreds-net".to_owned()), ..Network::default() });
        model.networks.insert("ext".to_owned(), Network { name: Some("shared".to_owned()), external: true, ..Network::default() });
        model.volumes.insert("data".to_owned(), Volume { name: Some("fixed".to_owned()), ..Volume::default() });
        let selected = vec!["redis".to_owned()];
        let labels = HashMap::from([(owner::RUN_ID.to_owned(), "tk-1-0-abc".to_owned())]);
        isolate(&mut model, "tk-1-0-abc", &selected, &labels);
        assign_ports(&mut model, &selected).unwrap();

        let redis = &model.services["redis"];
        assert_eq!(redis.container_name, None);
        let published: Vec<u16> = redis.ports.iter().filter_map(|p| p.published).collect();
        assert_eq!(published.len(), 2);
        assert!(published.iter().all(|p| *p != 6379) && published[0] != published[1], "{published:?}");
        assert_eq!(model.services["other"].ports[0].published, Some(6379), "only selected services are rewritten");
        assert_eq!(model.networks["net"].name.as_deref(), Some("tk-1-0-abc_net"));
        assert_eq!(model.networks["net"].labels[owner::RUN_ID], "tk-1-0-abc");
        assert_eq!(model.networks["ext"].name.as_deref(), Some("shared"));
        assert!(model.networks["ext"].labels.is_empty());
        assert!(!model.networks.contains_key("default"), "redis names its network");
        assert_eq!(model.volumes["data"].name, None);
        assert_eq!(model.volumes["data"].engine_name("tk-1-0-abc", "data"), "tk-1-0-abc_data");
    }
}
