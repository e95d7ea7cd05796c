//! `cargo xtask config check` (every finding under the infrastructure tree: config files,
//! Terraform cross-references, every Kubernetes overlay's lints and schema check; the `full`
//! build, gated in `main`) and `cloud lint` (the Terraform part alone, in any build).

use std::process::ExitCode;

use serde::Serialize;
use stack_config::Diagnostics;

use crate::Context;

#[derive(Serialize)]
struct Report<'a> {
    ok: bool,
    infra: &'a str,
    errors: usize,
    warnings: usize,
    diagnostics: &'a Diagnostics,
}

#[cfg(feature = "full")]
pub fn run(cx: &Context, action: crate::flags::Config) -> anyhow::Result<ExitCode> {
    let crate::flags::Config::Check = action;
    let mut diags = stack_config::Infra::check(&cx.infra, &crate::load_options());
    diags.extend(stack_cloud::lint::diagnostics(&cx.infra)?);
    diags.extend(stack_k8s::validate::overlays::config_diagnostics(
        &cx.infra,
        &crate::load_options(),
        stack_k8s::validate::overlays::Checks::All,
    ));
    print(cx, &diags, "config check", cx.infra.as_str())
}

/// `cloud lint`: the Terraform cross-reference check alone.
pub fn lint_terraform(cx: &Context) -> anyhow::Result<ExitCode> {
    print(cx, &stack_cloud::lint::diagnostics(&cx.infra)?, "terraform lint", cx.infra.join("terraform").as_str())
}

fn print(cx: &Context, diags: &Diagnostics, what: &str, infra: &str) -> anyhow::Result<ExitCode> {
    let (errors, warnings) = (diags.errors().count(), diags.warnings().count());
    if cx.out.is_json() {
        cx.out.json(&Report { ok: errors == 0, infra, errors, warnings, diagnostics: diags })?;
    } else {
        for d in diags.iter() {
            cx.out.text(&d.to_string())?;
        }
        cx.out.text(&format!("{what} {}: {infra} ({errors} errors, {warnings} warnings)", if errors == 0 { "ok" } else { "FAILED" }))?;
    }
    Ok(if errors == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
