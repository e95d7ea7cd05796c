//! `cargo xtask k8s validate --overlay O|all`: `stack_k8s::validate::overlays` (our lints and
//! the `k8s-openapi` schema check of the `full` build), its report printed.

// Without `full` the body is not compiled, only the re-run through cargo.
#![cfg_attr(not(feature = "full"), allow(unused_variables, unused_imports))]

use std::process::ExitCode;

use stack_k8s::validate::overlays::{self, Checks};

use crate::Context;
use crate::backend::{SCHEMA_ONLY, in_full_build};
use crate::flags::Overlay;

pub fn run(cx: &Context, args: &Overlay) -> anyhow::Result<ExitCode> {
    in_full_build!("k8s validate", {
        // `config check`'s re-run: it lints natively, so this reports only the schema findings.
        let checks = if std::env::var_os(SCHEMA_ONLY).is_some() { Checks::Schema } else { Checks::All };
        let report = overlays::validate(&cx.load()?, &args.overlay, checks)?;
        cx.out.print(&report)?;
        Ok(if report.ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
    })
}
