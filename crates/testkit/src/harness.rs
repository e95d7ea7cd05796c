//! The test-harness API: start the stack (or part of it) as its own compose project with free
//! host ports, wait until it is ready, hand out endpoints, and tear it down: explicitly with
//! [`TestStack::stop`], or on drop with the docker CLI.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use camino::{Utf8Path, Utf8PathBuf};
use stack_compose::progress::{Event, Progress};
use stack_compose::{BuildPolicy, DownOptions, Engine, EngineOptions, Report, Stack, UpOptions};
use stack_config::Infra;
use stack_config::compose::{Port, Project};
use stack_config::deployment::DeployCommand;
use stack_config::environment::Vars;
use stack_config::infra::{LoadOptions, select_services};

use crate::cleanup::{Cleanup, remove_lock_file};
use crate::endpoint::Endpoint;
use crate::isolate::{assign_ports, isolate, new_run_id};
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
        #[cfg(feature = "probes")]
        let ready_probe = Some(stack_compose::ProbeHook(std::sync::Arc::new(crate::probes::HealthProbe)));
        #[cfg(not(feature = "probes"))]
        let ready_probe = None;
        let options =
            UpOptions { wait_timeout: self.wait_timeout, build: BuildPolicy::WhenChanged, labels, remove_orphans: true, ready_probe };
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
