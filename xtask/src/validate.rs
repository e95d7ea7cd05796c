//! `cargo xtask k8s validate --overlay O|all`: `stack_k8s::validate::overlays` (our lints and
//! the `k8s-openapi` schema check), its report printed; the `full` build only (gated in `main`).

use std::process::ExitCode;

use stack_k8s::validate::overlays::{self, Checks};

use crate::Context;
use crate::backend::SCHEMA_ONLY;
use crate::flags::Overlay;

pub fn run(cx: &Context, args: &Overlay) -> anyhow::Result<ExitCode> {
    // `config check`'s re-run: it lints natively, so this reports only the schema findings.
    let checks = if std::env::var_os(SCHEMA_ONLY).is_some() { Checks::Schema } else { Checks::All };
    let report = overlays::validate(&cx.load()?, &args.overlay, checks)?;
    cx.out.print(&report)?;
    Ok(if report.ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
