//! `cargo xtask health [--env E] [--only NAME] [--require-all] [--output json]`:
//! [`stack_ops::health::run`], its report printed; exit 0 only when every check passes. The
//! probe clients are heavy: the `full` build only (gated in `main`).

use std::process::ExitCode;
use std::time::Duration;

use stack_health::plan::Absent;

use crate::Context;
use crate::flags::Health;

pub fn run(cx: &Context, args: Health) -> anyhow::Result<ExitCode> {
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
