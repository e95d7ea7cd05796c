//! `minikube up|down|status` for a tool that embeds the drivers: [`Minikube::prepare`] builds
//! the plan of [`stack_k8s::minikube`] from the infrastructure tree (the catalogue's build and
//! database entries, the rendered overlay), and [`Minikube::up`], [`Minikube::down`] and
//! [`Minikube::status`] carry it out through [`stack_k8s::minikube::run`] on this host:
//! processes on `PATH`, the compose driver for the images and the host databases, the cluster
//! session for the apply and the port-forward.

use std::time::Duration;

use stack_compose::EngineOptions;
use stack_compose::entry;
use stack_config::Infra;
use stack_config::environment::Minikube as Settings;
use stack_config::infra::Resolved;
use stack_k8s::minikube::run::{self as exec, Finished, Host, HostError, Output, StepFailed, Summary};
use stack_k8s::minikube::{DockerEnv, OverlaySummary, Plan, PlanInputs, Status, Step, Tool};

use crate::{Console, Error};

/// The catalogue deployment that builds the images (`services build`).
pub const BUILD: &str = "b_a_s";
/// The catalogue deployment that starts the host databases (`db start`).
pub const DATABASES: &str = "s_a_dbs";

/// Which command to plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Start the profile, build, start the databases, apply and wait; then forward the
    /// configured port until interrupted when `port_forward` is set.
    Up {
        port_forward: bool,
    },
    Down,
    Status,
}

/// A planned minikube command of one environment.
#[derive(Debug)]
pub struct Minikube<'a> {
    infra: &'a Infra,
    /// The tree's `minikube` settings.
    pub settings: Settings,
    /// The exact steps; what `--dry-run` prints.
    pub plan: Plan,
    build: Resolved,
    databases: Resolved,
    wait: Duration,
}

impl<'a> Minikube<'a> {
    /// Plans `command` in environment `env` of `infra` (`wait`: the deadline of each rollout).
    /// Reads and renders only; nothing is changed.
    pub fn prepare(infra: &'a Infra, env: &str, command: Command, wait: Duration) -> Result<Minikube<'a>, Error> {
        let settings = infra.environments.minikube.clone().ok_or_else(|| {
            format!(
                "{} has no `minikube` section\n  help: add one (profile, driver, cpus, memoryMb, diskSize, addons, overlay)",
                infra.environments.file
            )
        })?;
        let (build, databases) = (infra.resolve(env, BUILD)?.0, infra.resolve(env, DATABASES)?.0);
        let plan = match command {
            Command::Up { port_forward } => Plan::up(&settings, &inputs(infra, &settings, &build, &databases, wait, port_forward)?),
            Command::Down => Plan::down(&settings),
            Command::Status => Plan::status(&settings),
        };
        Ok(Minikube { infra, settings, plan, build, databases, wait })
    }

    /// The tools the plan runs, found on `PATH` before anything changes: an error says how to
    /// install the first one missing.
    pub fn preflight(&self) -> Result<(), Error> {
        exec::find_on_path(Tool::Minikube)?;
        if self.plan.command == "up" {
            exec::find_on_path(Tool::Kubectl)?;
        }
        Ok(())
    }

    /// Carries out the `up` plan; with a port-forward step it returns only when the forward
    /// ends, after `before_forward` got the summary of what was done.
    #[cfg(feature = "cluster")]
    pub fn up(&self, console: &Console<'_>, before_forward: &dyn Fn(&Summary)) -> Result<Summary, StepFailed> {
        exec::up(&self.plan, &self.settings.overlay, &mut self.host(console, Some(before_forward)))
    }

    /// Carries out the `down` plan: stops the profile (the cluster and the host databases stay).
    pub fn down(&self, console: &Console<'_>) -> Result<Summary, StepFailed> {
        exec::down(&self.plan, &mut self.host(console, None))
    }

    /// minikube's own view of the profile.
    pub fn status(&self, console: &Console<'_>) -> Result<Status, StepFailed> {
        exec::status(&self.plan, &mut self.host(console, None))
    }

    /// The overlay in the profile's kube context: naming the context lifts the wrong-cluster
    /// guard.
    #[cfg(feature = "cluster")]
    pub fn target(&self) -> stack_k8s::cluster::session::Target {
        stack_k8s::cluster::session::Target {
            overlay: self.settings.overlay.clone(),
            context: Some(self.settings.profile.clone()),
            images: None,
        }
    }

    /// The overlay's workloads in the profile's cluster.
    #[cfg(feature = "cluster")]
    pub async fn workloads(&self) -> Result<stack_k8s::cluster::session::StatusReport, Error> {
        use stack_k8s::cluster::session::{Mode, Purpose, Session};
        let (session, _) = Session::for_overlay(self.infra, &self.target(), Purpose::Inspect, Mode::Change).await?;
        Ok(session.status().await?)
    }

    fn host<'h>(&'h self, console: &'h Console<'h>, before_forward: Option<&'h dyn Fn(&Summary)>) -> ThisHost<'h> {
        ThisHost { minikube: self, console, before_forward }
    }
}

/// The plan's inputs: the images the build produces and the rendered overlay (native renderer,
/// no cluster needed).
fn inputs(
    infra: &Infra,
    settings: &Settings,
    build: &Resolved,
    databases: &Resolved,
    wait: Duration,
    port_forward: bool,
) -> Result<PlanInputs, Error> {
    let project = build.compose.as_ref().ok_or("the build deployment has no compose project")?;
    let built_images =
        build.services.iter().filter_map(|s| project.services.get(s)).map(|svc| stack_compose::plan::image_name(&build.project_name, svc));
    let prepared = stack_k8s::overlay::prepare(infra, &settings.overlay, stack_k8s::overlay::Purpose::Inspect)?;
    Ok(PlanInputs {
        overlay: OverlaySummary::from_objects(&stack_k8s::render::render(&prepared.dir)?),
        build: build.into(),
        built_images: built_images.collect(),
        databases: databases.into(),
        wait_timeout_secs: wait.as_secs(),
        port_forward,
    })
}

/// The executor's host: processes on `PATH`, the compose driver and the cluster session.
struct ThisHost<'h> {
    minikube: &'h Minikube<'h>,
    console: &'h Console<'h>,
    #[cfg_attr(not(feature = "cluster"), allow(dead_code))]
    before_forward: Option<&'h dyn Fn(&Summary)>,
}

impl ThisHost<'_> {
    /// A catalogue entry on `engine`; its report is a result of the console.
    fn entry(&self, resolved: &Resolved, engine: &EngineOptions) -> Result<(), HostError> {
        let options = entry::Options { wait_timeout: self.minikube.wait, ..Default::default() };
        let report = entry::run(resolved, self.minikube.infra.repo_root().as_std_path(), engine, &options, self.console.compose)?;
        (self.console.result)(&report.to_string());
        Ok(())
    }
}

impl Host for ThisHost<'_> {
    fn find(&mut self, tool: Tool) -> Result<String, HostError> {
        exec::find_on_path(tool)
    }

    fn exec(&mut self, argv: &[String], output: Output, ok: &[i32]) -> Result<Finished, HostError> {
        let output = if self.console.quiet { Output::Quiet } else { output };
        exec::run_process(argv, output, ok, &mut |line| (self.console.progress)(&format!("    {line}")))
    }

    fn build_images(&mut self, docker: &DockerEnv) -> Result<(), HostError> {
        // Only the docker-env values, never this process's DOCKER_* variables.
        self.entry(&self.minikube.build, &EngineOptions::from_env(&|k| docker.get(k)))
    }

    fn start_databases(&mut self) -> Result<(), HostError> {
        self.entry(&self.minikube.databases, &EngineOptions::from_env(&|k| std::env::var(k).ok()))
    }

    #[cfg(feature = "cluster")]
    fn apply(&mut self) -> Result<(), HostError> {
        let options = stack_k8s::cluster::session::Apply::waiting(Some(self.minikube.wait));
        let (target, mode) = (self.minikube.target(), stack_k8s::cluster::session::Mode::Change);
        let mut report =
            crate::block_on("applying the overlay", crate::cluster::apply(self.minikube.infra, &target, mode, &options, self.console))?;
        if report.ok {
            (self.console.result)(&report.to_string());
        }
        report.failure().map_or(Ok(()), |e| Err(e.into()))
    }

    #[cfg(feature = "cluster")]
    fn port_forward(&mut self, summary: &Summary) -> Result<(), HostError> {
        let pf = self.minikube.settings.port_forward.as_ref().ok_or("a port-forward step without portForward settings")?;
        self.console.progress(&format!(
            "minikube up: done. svc/{} at http://localhost:{} (Ctrl-C ends the forward; the cluster keeps running)",
            pf.service, pf.local_port
        ));
        if let Some(before) = self.before_forward {
            before(summary);
        }
        let local = std::net::SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), pf.local_port);
        let forward = stack_k8s::cluster::session::Forward { local, service: pf.service.clone(), remote: pf.remote_port };
        let (target, mode) = (self.minikube.target(), stack_k8s::cluster::session::Mode::Change);
        crate::block_on("port-forwarding", crate::cluster::port_forward(self.minikube.infra, &target, mode, &forward, self.console))
    }

    fn announce(&mut self, step: &Step) {
        self.console.progress(&step.announcement());
    }

    fn detail(&mut self, text: &str) {
        self.console.progress(&format!("    {text}"));
    }
}
