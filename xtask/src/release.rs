//! The commands on a deployed environment: `release` and `smoke` ([`stack_ops::release::run`],
//! [`stack_ops::smoke::run_overlay`]; a failed release or smoke test is an error after the
//! report), `health` ([`stack_ops::health::run`]; exit 0 only when every check passes) and a
//! cluster environment's `status`. The `full` build only (gated in `main`).

use std::process::ExitCode;
use std::time::Duration;

use stack_health::plan::Absent;
use stack_ops::release::{Options, Source};

use crate::Context;
use crate::flags::{EnvTarget, Health, Release};

pub fn release(cx: &Context, args: Release) -> anyhow::Result<ExitCode> {
    let (infra, wait) = (cx.load()?, Duration::from_secs(cx.wait_timeout));
    let source = match (args.images, args.registry) {
        (Some(record), _) => Source::Record(record),
        (None, registry) => Source::Push(stack_ops::images::Options::new(&registry.unwrap_or_default(), args.record, wait)),
    };
    let (overlay, context) = (args.target.overlay, args.target.context);
    let options = Options { overlay, context, source, wait, smoke: Default::default(), mode: cx.mode() };
    let report = cx.nested().with_console(|c| stack_ops::release::run(&infra, &cx.env, &options, c)).map_err(anyhow::Error::from_boxed)?;
    cx.out.print(&report)?;
    report.error.map_or(Ok(ExitCode::SUCCESS), |e| Err(anyhow::anyhow!(e)))
}

pub fn smoke(cx: &Context, args: EnvTarget) -> anyhow::Result<ExitCode> {
    let infra = cx.load()?;
    let (overlay, context) = (args.overlay.as_deref(), args.context);
    let report = cx.with_console(|c| stack_ops::smoke::run_overlay(&infra, &cx.env, overlay, context, &Default::default(), c));
    let report = report.map_err(anyhow::Error::from_boxed)?;
    cx.out.print(&report)?;
    Ok(if report.ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

pub fn health(cx: &Context, args: Health) -> anyhow::Result<ExitCode> {
    let absent = if args.require_all { Absent::Fails } else { Absent::Allowed };
    let options = stack_ops::health::Options { only: args.only, deadline: Duration::from_secs(args.deadline), absent };
    let report =
        cx.with_console(|console| stack_ops::health::run(&cx.load()?, &cx.env, &options, console).map_err(anyhow::Error::from_boxed))?;
    cx.out.print(&report)?;
    if !report.ok {
        let failed: Vec<&str> = report.failures().map(|c| c.name.as_str()).collect();
        crate::output::note(&format!("error: {} failed: {}", if failed.len() == 1 { "1 check" } else { "checks" }, failed.join(", ")));
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// `status --env E` of a minikube or cloud environment: [`stack_ops::status::run`].
pub fn status(cx: &Context) -> anyhow::Result<ExitCode> {
    let infra = cx.load()?;
    let report = cx.with_console(|console| stack_ops::status::run(&infra, &cx.env, None, console).map_err(anyhow::Error::from_boxed))?;
    cx.out.print(&report)?;
    Ok(if report.ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
