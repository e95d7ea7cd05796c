//! `cargo xtask minikube up|down|status`: [`stack_ops::minikube::Minikube`]'s plan, printed with
//! `--dry-run`, else carried out, its summary printed.

// Without `full` the cluster parts are not compiled, only the re-run through cargo.
#![cfg_attr(not(feature = "full"), allow(unused_variables, unused_imports))]

use std::process::ExitCode;
use std::time::Duration;

use stack_ops::minikube::{Command, Minikube as Planned};

use crate::Context;
use crate::backend::in_full_build;
use crate::flags::Minikube;

pub fn run(cx: &Context, action: Minikube) -> anyhow::Result<ExitCode> {
    let infra = cx.load()?;
    let command = match action {
        Minikube::Up(args) => Command::Up { port_forward: !args.no_port_forward },
        Minikube::Down => Command::Down,
        Minikube::Status => Command::Status,
    };
    let minikube = Planned::prepare(&infra, &cx.env, command, Duration::from_secs(cx.wait_timeout)).map_err(anyhow::Error::from_boxed)?;
    if cx.dry_run {
        cx.out.print(&minikube.plan)?;
        return Ok(ExitCode::SUCCESS);
    }
    // A missing tool fails before anything changes (and before the rebuild with the backends).
    minikube.preflight().map_err(anyhow::Error::from_boxed)?;
    // Inner steps' results: on stderr when stdout holds this command's JSON.
    cx.nested().with_console(|console| finish(cx, &minikube, command, console))
}

fn finish(cx: &Context, minikube: &Planned<'_>, command: Command, console: &stack_ops::Console<'_>) -> anyhow::Result<ExitCode> {
    let p = &minikube.settings;
    let summary = match command {
        Command::Up { .. } => in_full_build!(cx, minikube.up(console, &|summary| drop(cx.out.is_json().then(|| cx.out.json(summary))))?),
        Command::Down => minikube.down(console)?,
        Command::Status => return status(cx, minikube, console),
    };
    // With a port-forward, the JSON summary went out before it started.
    if !(cx.out.is_json() && minikube.plan.step("port-forward").is_some()) {
        cx.out.print(&summary)?;
    }
    if !cx.out.is_json() && summary.result == stack_k8s::minikube::run::Outcome::Ready {
        cx.progress(&format!("  port-forward: cargo xtask k8s port-forward --overlay {} --context {} SERVICE PORTS", p.overlay, p.profile));
    }
    Ok(ExitCode::SUCCESS)
}

/// `minikube status`: minikube's view, then the overlay's workloads when the API server runs.
/// Exit 0 only when the cluster runs.
fn status(cx: &Context, minikube: &Planned<'_>, console: &stack_ops::Console<'_>) -> anyhow::Result<ExitCode> {
    let state = minikube.status(console)?;
    let (running, p) = (state.running(), &minikube.settings);
    // The workloads need the Kubernetes backend: re-run there before printing anything.
    if running && !cx.out.is_json() {
        in_full_build!(cx, ());
    }
    cx.out.print(&stack_k8s::minikube::StatusReport::new(&p.profile, state))?;
    if !running {
        cx.progress(&format!("note: profile {} is not running: `cargo xtask minikube up` starts it", p.profile));
        return Ok(ExitCode::FAILURE);
    }
    if cx.out.is_json() {
        cx.progress(&format!("note: workloads: cargo xtask k8s status --overlay {} --context {} --output json", p.overlay, p.profile));
        return Ok(ExitCode::SUCCESS);
    }
    in_full_build!(cx, {
        cx.out
            .print(&stack_ops::block_on("reading the status", async { minikube.workloads().await.map_err(anyhow::Error::from_boxed) })?)?;
        Ok(ExitCode::SUCCESS)
    })
}
