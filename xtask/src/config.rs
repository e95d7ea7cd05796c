//! `cargo xtask config check`: every finding under the infrastructure tree (config files,
//! Terraform cross-references, and every Kubernetes overlay's validation).

use std::process::ExitCode;

use serde::Serialize;
use stack_config::{Diagnostic, Diagnostics, Infra};

use crate::Context;
use crate::flags::Config;

#[derive(Serialize)]
struct Report<'a> {
    ok: bool,
    infra: &'a str,
    errors: usize,
    warnings: usize,
    diagnostics: &'a Diagnostics,
}

pub fn run(cx: &Context, action: Config) -> anyhow::Result<ExitCode> {
    match action {
        Config::Check => check(cx),
    }
}

fn check(cx: &Context) -> anyhow::Result<ExitCode> {
    let mut diags = Infra::check(&cx.infra, &crate::load_options());
    diags.extend(terraform_findings(cx)?);
    diags.extend(crate::validate::config_check(cx));
    let errors = diags.errors().count();
    let warnings = diags.warnings().count();
    if cx.out.is_json() {
        cx.out.json(&Report { ok: errors == 0, infra: cx.infra.as_str(), errors, warnings, diagnostics: &diags })?;
    } else {
        for d in diags.iter() {
            cx.out.text(&d.to_string())?;
        }
        let verdict = if errors == 0 { "ok" } else { "FAILED" };
        cx.out.text(&format!("config check {verdict}: {} ({errors} errors, {warnings} warnings)", cx.infra))?;
    }
    Ok(if errors == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// The Terraform cross-reference findings, as diagnostics of the same report.
pub fn terraform_findings(cx: &Context) -> anyhow::Result<Diagnostics> {
    let mut diags = Diagnostics::new();
    let root = cx.infra.join("terraform");
    if !root.is_dir() {
        return Ok(diags);
    }
    for f in stack_cloud::lint::lint(root.as_std_path())? {
        let file =
            camino::Utf8PathBuf::from_path_buf(f.file.clone()).unwrap_or_else(|p| camino::Utf8PathBuf::from(p.display().to_string()));
        let location = f.line.map(|line| stack_config::node::Location { line, column: 1 });
        diags.push(Diagnostic::error(&file, location, "", f.message.clone()).with_help_opt(f.help.clone()));
    }
    Ok(diags)
}

/// `cloud lint`: the Terraform cross-reference check alone.
pub fn lint_terraform(cx: &Context) -> anyhow::Result<ExitCode> {
    let diags = terraform_findings(cx)?;
    let errors = diags.errors().count();
    if cx.out.is_json() {
        cx.out.json(&Report { ok: errors == 0, infra: cx.infra.as_str(), errors, warnings: 0, diagnostics: &diags })?;
    } else {
        for d in diags.iter() {
            cx.out.text(&d.to_string())?;
        }
        cx.out.text(&format!(
            "terraform lint {}: {} ({errors} findings)",
            if errors == 0 { "ok" } else { "FAILED" },
            cx.infra.join("terraform")
        ))?;
    }
    Ok(if errors == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
