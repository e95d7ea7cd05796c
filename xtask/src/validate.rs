//! `cargo xtask k8s validate --overlay O|all`: `stack_k8s::validate::overlays` (our lints and
//! the `k8s-openapi` schema check), its report printed; the `full` build only (gated in `main`).

use std::process::ExitCode;

use stack_k8s::validate::overlays::{self, Checks};

use crate::Context;
use crate::flags::Overlay;

pub fn run(cx: &Context, args: &Overlay) -> anyhow::Result<ExitCode> {
    let report = overlays::validate(&cx.load()?, &args.overlay, Checks::All)?;
    cx.out.print(&report)?;
    Ok(if report.ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
