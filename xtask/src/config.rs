//! `cargo xtask config check` (every finding under the infrastructure tree: config files,
//! Terraform cross-references, every Kubernetes overlay's validation) and `cloud lint` (the
//! Terraform part alone).

use std::process::ExitCode;

use serde::Serialize;
use stack_config::{Diagnostic, Diagnostics, Infra};
use stack_k8s::validate::overlays::{self, Checks, RenderError};

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
    let Config::Check = action;
    let mut diags = Infra::check(&cx.infra, &crate::load_options());
    diags.extend(stack_cloud::lint::diagnostics(&cx.infra)?);
    diags.extend(kubernetes(cx));
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

/// The Kubernetes findings: every overlay rendered, linted and decoded. The plain build lints
/// natively and asks a `full` build for the schema findings; when that build cannot run, the
/// report says so as an error (the check is never skipped silently).
fn kubernetes(cx: &Context) -> Diagnostics {
    let mut diags = Diagnostics::new();
    let overlays_dir = cx.infra.join("k8s/overlays");
    if !overlays_dir.is_dir() {
        return diags;
    }
    let checks = if cfg!(feature = "full") { Checks::All } else { Checks::Lints };
    let native = Infra::load(&cx.infra, &crate::load_options()).map_err(anyhow::Error::from).and_then(|(infra, _)| {
        let names = overlays::all_overlays(&cx.infra)?;
        Ok(names.iter().map(|name| (name.clone(), overlays::validate_one(&infra, name, checks))).collect::<Vec<_>>())
    });
    match native {
        Ok(results) => {
            for (name, result) in results {
                match result {
                    Ok(report) => diags.extend(report.diagnostics(RenderError::Include)),
                    Err(e) => diags.push(Diagnostic::error(&overlays_dir.join(name), None, "", e.to_string())),
                }
            }
        }
        Err(e) => diags.push(Diagnostic::error(&overlays_dir, None, "", format!("{e:#}"))),
    }
    if checks == Checks::Lints {
        // Render errors are already reported by the native run above.
        match crate::backend::schema_in_full_build(cx) {
            Ok(report) => report.overlays.iter().for_each(|o| diags.extend(o.diagnostics(RenderError::Leave))),
            Err(e) => {
                diags.push(Diagnostic::error(&overlays_dir, None, "", format!("the Kubernetes schema check did not run: {e:#}")).with_help(
                    "run `cargo run --package xtask --features full -- k8s validate --overlay all` to see why; \
                 the first build of the `full` feature takes several minutes",
                ))
            }
        }
    }
    diags
}
