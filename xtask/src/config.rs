//! `cargo xtask config check` (every finding under the infrastructure tree: config files,
//! Terraform cross-references, every Kubernetes overlay's lints and schema check; the `full`
//! build, gated in `main`) and `cloud lint` (the Terraform part alone, in any build).

use std::process::ExitCode;

use stack_config::diagnostic::CheckReport;

use crate::Context;

#[cfg(feature = "full")]
pub fn run(cx: &Context, action: crate::flags::Config) -> anyhow::Result<ExitCode> {
    use stack_k8s::validate::overlays::{Checks, config_diagnostics};
    let crate::flags::Config::Check = action;
    let mut diags = stack_config::Infra::check(&cx.infra, &crate::load_options());
    diags.extend(stack_cloud::lint::diagnostics(&cx.infra)?);
    diags.extend(config_diagnostics(&cx.infra, &crate::load_options(), Checks::All));
    print(cx, &CheckReport::new("config check", cx.infra.as_str(), diags))
}

/// `cloud lint`: the Terraform cross-reference check alone.
pub fn lint_terraform(cx: &Context) -> anyhow::Result<ExitCode> {
    print(cx, &CheckReport::new("terraform lint", cx.infra.join("terraform").as_str(), stack_cloud::lint::diagnostics(&cx.infra)?))
}

fn print(cx: &Context, report: &CheckReport) -> anyhow::Result<ExitCode> {
    cx.out.print(report)?;
    Ok(if report.ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
