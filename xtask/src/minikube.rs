//! `cargo xtask minikube up|down|status`: the plans of `stack_k8s::minikube`, printed with
//! `--dry-run`, else carried out by `stack_k8s::minikube::run` through [`Xtask`], this command's
//! host: processes, the compose driver (images, databases) and the cluster session.

// Without `full` the cluster parts of the host are not compiled, only the re-run through cargo.
#![cfg_attr(not(feature = "full"), allow(unused_variables, unused_imports))]

use std::process::ExitCode;

use anyhow::Context as _;
use stack_compose::EngineOptions;
use stack_compose::entry;
use stack_config::Infra;
use stack_config::environment::Minikube as Settings;
use stack_config::infra::Resolved;
use stack_k8s::minikube::run::{self as exec, Finished, Host, HostError, Output, Summary};
use stack_k8s::minikube::{DockerEnv, OverlaySummary, Plan, PlanInputs, Step, Tool};

use crate::Context;
use crate::backend::in_full_build;
use crate::flags::Minikube;
use crate::output::note;

/// The catalogue deployment that builds the images (`cargo xtask services build`).
const BUILD: &str = "b_a_s";
/// The catalogue deployment that starts the host databases (`cargo xtask db start`).
const DATABASES: &str = "s_a_dbs";

pub fn run(cx: &Context, action: Minikube) -> anyhow::Result<ExitCode> {
    let infra = cx.load()?;
    let settings = infra.environments.minikube.clone().with_context(|| {
        format!(
            "{} has no `minikube` section\n  help: add one (profile, driver, cpus, memoryMb, diskSize, addons, overlay)",
            infra.environments.file
        )
    })?;
    let (build, databases) = (infra.resolve(&cx.env, BUILD)?.0, infra.resolve(&cx.env, DATABASES)?.0);
    let plan = match &action {
        Minikube::Up(args) => Plan::up(&settings, &inputs(cx, &infra, &settings, &build, &databases, !args.no_port_forward)?),
        Minikube::Down => Plan::down(&settings),
        Minikube::Status => Plan::status(&settings),
    };
    if cx.dry_run {
        cx.out.print(&plan)?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut host = Xtask { cx, infra: &infra, settings: &settings, build, databases };
    match action {
        Minikube::Up(_) => {
            // A missing tool fails before anything changes (and before the rebuild with the backends).
            host.find(Tool::Minikube).and_then(|_| host.find(Tool::Kubectl)).map_err(anyhow::Error::from_boxed)?;
            in_full_build!(cx, {
                let summary = exec::up(&plan, &settings.overlay, &mut host)?;
                finish(cx, &summary, &settings)
            })
        }
        Minikube::Down => {
            host.find(Tool::Minikube).map_err(anyhow::Error::from_boxed)?;
            finish(cx, &exec::down(&plan, &mut host)?, &settings)
        }
        Minikube::Status => status(cx, &plan, &settings, &mut host),
    }
}

fn finish(cx: &Context, summary: &Summary, settings: &Settings) -> anyhow::Result<ExitCode> {
    cx.out.print(summary)?;
    if !cx.out.is_json() && summary.result == exec::Outcome::Ready {
        cx.progress(&format!(
            "  port-forward: cargo xtask k8s port-forward --overlay {} --context {} SERVICE PORTS",
            settings.overlay, settings.profile
        ));
    }
    Ok(ExitCode::SUCCESS)
}

/// `minikube status`: minikube's view, then the overlay's workloads when the API server runs.
/// Exit 0 only when the cluster runs.
fn status(cx: &Context, plan: &Plan, settings: &Settings, host: &mut Xtask<'_>) -> anyhow::Result<ExitCode> {
    host.find(Tool::Minikube).map_err(anyhow::Error::from_boxed)?;
    let state = exec::status(plan, host)?;
    let running = state.running();
    // The workloads need the Kubernetes backend: re-run there before printing anything.
    if running && !cx.out.is_json() {
        in_full_build!(cx, ());
    }
    cx.out.print(&stack_k8s::minikube::StatusReport::new(&settings.profile, state))?;
    if !running {
        cx.progress(&format!("note: profile {} is not running: `cargo xtask minikube up` starts it", settings.profile));
        return Ok(ExitCode::FAILURE);
    }
    if cx.out.is_json() {
        cx.progress(&format!(
            "note: workloads: cargo xtask k8s status --overlay {} --context {} --output json",
            settings.overlay, settings.profile
        ));
        return Ok(ExitCode::SUCCESS);
    }
    in_full_build!(cx, {
        use stack_k8s::cluster::session::{Purpose, Session};
        crate::backend::block_on("reading the status", async {
            let (s, _) = Session::for_overlay(host.infra, &target(settings), Purpose::Inspect, cx.mode()).await?;
            cx.out.print(&s.status().await?)?;
            Ok(ExitCode::SUCCESS)
        })
    })
}

/// The plan's inputs: the images the build produces and the rendered overlay (native renderer,
/// no cluster needed).
fn inputs(
    cx: &Context,
    infra: &Infra,
    settings: &Settings,
    build: &Resolved,
    databases: &Resolved,
    port_forward: bool,
) -> anyhow::Result<PlanInputs> {
    let project = build.compose.as_ref().context("the build deployment has no compose project")?;
    let built_images =
        build.services.iter().filter_map(|s| project.services.get(s)).map(|svc| stack_compose::plan::image_name(&build.project_name, svc));
    let prepared = stack_k8s::overlay::prepare(infra, &settings.overlay, stack_k8s::overlay::Purpose::Inspect)?;
    Ok(PlanInputs {
        overlay: OverlaySummary::from_objects(&stack_k8s::render::render(&prepared.dir)?),
        build: build.into(),
        built_images: built_images.collect(),
        databases: databases.into(),
        wait_timeout_secs: cx.wait_timeout,
        port_forward,
    })
}

/// This command's host of the minikube executor.
struct Xtask<'a> {
    cx: &'a Context,
    infra: &'a Infra,
    #[cfg_attr(not(feature = "full"), allow(dead_code))]
    settings: &'a Settings,
    build: Resolved,
    databases: Resolved,
}

impl Xtask<'_> {
    /// A catalogue entry on `engine`, its report on stderr (stdout holds this command's one result).
    fn entry(&self, resolved: &Resolved, engine: &EngineOptions) -> Result<(), HostError> {
        let cx = self.cx.nested();
        let report = entry::run(resolved, self.infra.repo_root().as_std_path(), engine, &cx.entry_options(), &cx.terminal())?;
        cx.out.print(&report)?;
        Ok(())
    }
}

impl Host for Xtask<'_> {
    fn find(&mut self, tool: Tool) -> Result<String, HostError> {
        exec::find_on_path(tool)
    }

    fn exec(&mut self, argv: &[String], output: Output, ok: &[i32]) -> Result<Finished, HostError> {
        let quiet = if self.cx.quiet { Output::Quiet } else { output };
        exec::run_process(argv, quiet, ok, &mut |line| note(&format!("    {line}")))
    }

    fn build_images(&mut self, docker: &DockerEnv) -> Result<(), HostError> {
        // Only the docker-env values, never this process's DOCKER_* variables.
        self.entry(&self.build, &EngineOptions::from_env(&|k| docker.get(k)))
    }

    fn start_databases(&mut self) -> Result<(), HostError> {
        self.entry(&self.databases, &EngineOptions::from_env(&|k| std::env::var(k).ok()))
    }

    // Without `full`, the trait's defaults refuse: `minikube up` runs in the full build.
    #[cfg(feature = "full")]
    fn apply(&mut self) -> Result<(), HostError> {
        let options = stack_k8s::cluster::session::Apply::waiting(Some(std::time::Duration::from_secs(self.cx.wait_timeout)));
        crate::output::apply_overlay(&self.cx.nested(), self.infra, &target(self.settings), &options)?;
        Ok(())
    }

    #[cfg(feature = "full")]
    fn port_forward(&mut self, summary: &Summary) -> Result<(), HostError> {
        let pf = self.settings.port_forward.as_ref().ok_or("a port-forward step without portForward settings")?;
        self.cx.progress(&format!(
            "minikube up: done. svc/{} at http://localhost:{} (Ctrl-C ends the forward; the cluster keeps running)",
            pf.service, pf.local_port
        ));
        // The forward runs until interrupted: with --output json, the summary is the one
        // document on stdout, printed before it starts.
        if self.cx.out.is_json() {
            self.cx.out.json(summary)?;
        }
        let local = std::net::SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), pf.local_port);
        let forward = stack_k8s::cluster::session::Forward { local, service: pf.service.clone(), remote: pf.remote_port };
        Ok(crate::output::port_forward(&self.cx.nested(), self.infra, &target(self.settings), &forward)?)
    }

    fn announce(&mut self, step: &Step) {
        self.cx.progress(&step.announcement());
    }

    fn detail(&mut self, text: &str) {
        self.cx.progress(&format!("    {text}"));
    }
}

/// The overlay in the profile's kube context: naming the context lifts the wrong-cluster guard.
#[cfg(feature = "full")]
fn target(settings: &Settings) -> stack_k8s::cluster::session::Target {
    stack_k8s::cluster::session::Target { overlay: settings.overlay.clone(), context: Some(settings.profile.clone()) }
}
