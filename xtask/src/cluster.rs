//! The cluster commands of `cargo xtask k8s` (diff, apply, status, scale, logs, port-forward,
//! rollback, delete): flags into a [`stack_k8s::cluster::session::Session`] call, its report
//! printed. The live-cluster client is part of the `full` build only (gated in `main`).

use std::process::ExitCode;
use std::time::Duration;

use stack_k8s::cluster::Diffs;
use stack_k8s::cluster::logs::Follow;
use stack_k8s::cluster::session::{self, Conflicts, Forward, Mode, OnFailure, Prune, Session};
use stack_k8s::overlay::Purpose;

use crate::Context;
use crate::flags::{Apply, Delete, K8s, K8sLogs, PortForward, Target};
use crate::output::note;
use stack_ops::block_on;

pub fn run(cx: &Context, action: K8s) -> anyhow::Result<ExitCode> {
    match action {
        K8s::Diff(args) => diff(cx, &args),
        K8s::Apply(args) => apply(cx, &args),
        K8s::Status(args) => print_with(cx, &args, "reading the status", async |s| s.status().await),
        K8s::Scale(a) => print_with(cx, &a.target, "scaling", async |s| {
            s.scale(&a.workload, a.replicas, wait_for(cx, a.no_wait), &mut cx.events()).await
        }),
        K8s::Logs(args) => logs(cx, &args),
        K8s::PortForward(args) => port_forward(cx, &args),
        K8s::Rollback(a) => print_with(cx, &a.target, "rolling back", async |s| {
            s.rollback(&a.workload, a.to_revision, wait_for(cx, a.no_wait), &mut cx.events()).await
        }),
        K8s::Delete(args) => delete(cx, &args),
        K8s::Render(_) | K8s::Validate(_) | K8s::Pin(_) => anyhow::bail!("`{}` is not a cluster command", cx.command),
    }
}

/// Opens the session of `target`. The one place where `--dry-run` becomes the session's
/// mode: the session's changing operations honour it (and the wrong-cluster guard) themselves.
async fn session(cx: &Context, target: &Target, purpose: Purpose) -> anyhow::Result<Session> {
    let (session, notes) = Session::for_overlay(&cx.load()?, &cx.k8s_target(target)?, purpose, cx.mode()).await?;
    notes.iter().for_each(|n| cx.progress(n));
    Ok(session)
}

/// Prints what `f` makes of the session of `target` (which honours `--dry-run` itself).
fn print_with<T: serde::Serialize + std::fmt::Display>(
    cx: &Context,
    target: &Target,
    what: &str,
    f: impl AsyncFnOnce(&Session) -> stack_k8s::Result<T>,
) -> anyhow::Result<ExitCode> {
    block_on(what, async {
        cx.out.print(&f(&session(cx, target, Purpose::Inspect).await?).await?)?;
        Ok(ExitCode::SUCCESS)
    })
}

fn wait_for(cx: &Context, no_wait: bool) -> Option<Duration> {
    (!no_wait).then(|| Duration::from_secs(cx.wait_timeout))
}

fn apply(cx: &Context, args: &Apply) -> anyhow::Result<ExitCode> {
    let options = session::Apply {
        conflicts: if args.force_conflicts { Conflicts::Force } else { Conflicts::Refuse },
        prune: if args.no_prune { Prune::Keep } else { Prune::Delete },
        wait: wait_for(cx, args.no_wait),
        on_failure: if args.rollback_on_failure { OnFailure::RollBack } else { OnFailure::Stay },
    };
    let (infra, target) = (cx.load()?, cx.k8s_target(&args.target)?);
    let mut report = cx
        .with_console(|console| block_on("applying the overlay", stack_ops::cluster::apply(&infra, &target, cx.mode(), &options, console)))
        .map_err(anyhow::Error::from_boxed)?;
    // A failed rollout's report is in its error, unless stdout wants the JSON.
    if cx.out.is_json() || report.ok {
        cx.out.print(&report)?;
    }
    report.failure().map_or(Ok(ExitCode::SUCCESS), |e| Err(e.into()))
}

fn diff(cx: &Context, args: &Target) -> anyhow::Result<ExitCode> {
    let result = block_on("diffing the overlay", async {
        let s = session(cx, args, Purpose::Apply).await?;
        cx.progress(&s.connected());
        let diffs = Diffs(s.diff(Prune::Delete).await?);
        cx.out.print(&diffs)?;
        cx.progress(&format!("{} objects would change", diffs.0.len()));
        Ok(if diffs.0.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
    });
    result.or_else(|e| {
        if crate::backend::interrupted(&e) {
            return Err(e);
        }
        note(&format!("error: {e:#}"));
        Ok(ExitCode::from(2))
    })
}

fn logs(cx: &Context, args: &K8sLogs) -> anyhow::Result<ExitCode> {
    block_on("streaming logs", async {
        let s = session(cx, &args.target, Purpose::Inspect).await?;
        let follow = if args.follow { Follow::Yes } else { Follow::No };
        s.logs(&args.workload, follow, args.tail, &mut |line| drop(cx.out.text(&line))).await?;
        Ok(ExitCode::SUCCESS)
    })
}

fn port_forward(cx: &Context, args: &PortForward) -> anyhow::Result<ExitCode> {
    let forward = Forward::parse(&args.address, &args.service, &args.ports)?;
    let (infra, target) = (cx.load()?, cx.k8s_target(&args.target)?);
    cx.with_console(|console| block_on("port-forwarding", stack_ops::cluster::port_forward(&infra, &target, cx.mode(), &forward, console)))
        .map_err(anyhow::Error::from_boxed)?;
    Ok(ExitCode::SUCCESS)
}

fn delete(cx: &Context, args: &Delete) -> anyhow::Result<ExitCode> {
    block_on("deleting", async {
        let s = session(cx, &args.target, Purpose::Inspect).await?;
        let context = s.info().context.clone().unwrap_or_else(|| "(none)".to_owned());
        // A dry run changes nothing, so it needs no confirmation.
        if !args.yes && s.mode() == Mode::Change {
            let question = format!("delete namespace {} and everything in it on context {context}? [y/N] ", s.namespace());
            crate::output::confirm(&question, &["y", "Y", "yes"])?;
        }
        if s.mode() == Mode::Change {
            cx.progress(&format!("deleting namespace {} (waits until it is gone, up to {}s)", s.namespace(), cx.wait_timeout));
        }
        cx.out.print(&s.delete(Duration::from_secs(cx.wait_timeout)).await?)?;
        Ok(ExitCode::SUCCESS)
    })
}
