//! `cargo xtask release` and `cargo xtask smoke`: [`stack_ops::release::run`] and
//! [`stack_ops::smoke::run_overlay`], their reports printed; a failed release or smoke test is
//! an error after the report. The `full` build only (gated in `main`).

use std::process::ExitCode;
use std::time::Duration;

use stack_ops::release::{Options, Source};

use crate::Context;
use crate::flags::{EnvTarget, Release};

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
