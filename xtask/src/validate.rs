//! `cargo xtask k8s validate`: overlays rendered and checked by `stack_k8s::validate` (our lints,
//! and the `k8s-openapi` schema check of the `full` build); and the same checks as diagnostics of
//! `config check`, which runs in the plain build and gets the schema findings from a `full` run.

use std::process::{ExitCode, Stdio};

use anyhow::Context as _;
use camino::{Utf8Path, Utf8PathBuf};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use stack_config::{Diagnostic, Diagnostics};
use stack_k8s::validate::{Finding, LintProfile};

use crate::Context;
use crate::backend::REEXEC_GUARD;
use crate::flags::Overlay;

/// Set on `config check`'s `full` re-run: it lints natively, so the re-run reports only the
/// schema findings (no finding twice).
const SCHEMA_ONLY: &str = "SRVTHREDS_VALIDATE_SCHEMA_ONLY";

/// What `k8s validate` prints as JSON, and what `config check` reads back from its re-run.
#[derive(Debug, Serialize, Deserialize)]
struct Report {
    ok: bool,
    overlays: Vec<OverlayReport>,
}

/// The result of one overlay.
#[derive(Debug, Serialize, Deserialize)]
struct OverlayReport {
    /// The overlay as named (`minikube`) or the path given.
    overlay: String,
    /// Its directory in the infrastructure tree (never the temporary copy).
    dir: Utf8PathBuf,
    /// Rendered objects.
    objects: usize,
    errors: usize,
    warnings: usize,
    /// Why the overlay did not render; counted as one error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    render_error: Option<String>,
    findings: Vec<Finding>,
}

/// Which checks to run on an overlay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Checks {
    /// Lints and schema (`k8s validate`; `config check` in the `full` build).
    All,
    /// The lints alone (`config check` in the plain build).
    Lints,
    /// The schema alone (`config check`'s `full` re-run).
    Schema,
}

/// Runs `k8s validate --overlay O` (`all`: every overlay under `<infra>/k8s/overlays`).
pub fn run(cx: &Context, args: &Overlay) -> anyhow::Result<ExitCode> {
    if let Some(code) = crate::backend::ensure_full("k8s validate")? {
        return Ok(code);
    }
    let checks = if std::env::var_os(SCHEMA_ONLY).is_some() { Checks::Schema } else { Checks::All };
    let names = if args.overlay == "all" { all_overlays(&cx.infra)? } else { vec![args.overlay.clone()] };
    let overlays = names.iter().map(|name| validate(cx, name, checks)).collect::<anyhow::Result<Vec<_>>>()?;
    let ok = overlays.iter().all(|o| o.errors == 0);
    if cx.out.is_json() {
        cx.out.json(&Report { ok, overlays })?;
    } else {
        for overlay in &overlays {
            let origin = origin(&cx.infra, overlay);
            if let Some(error) = &overlay.render_error {
                cx.out.text(&format!("error: {origin}: {error}"))?;
            }
            for finding in &overlay.findings {
                cx.out.text(&finding.display_in(&origin).to_string())?;
            }
            cx.out.text(&format!(
                "k8s validate {}: overlay {} ({} objects, {} errors, {} warnings)",
                if overlay.errors == 0 { "ok" } else { "FAILED" },
                overlay.overlay,
                overlay.objects,
                overlay.errors,
                overlay.warnings
            ))?;
        }
    }
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// The Kubernetes findings of `config check`: every overlay rendered, linted and decoded. The
/// plain build lints natively and asks a `full` build for the schema findings; when that build
/// cannot run, the report says so as an error (the check is never skipped silently).
pub fn config_check(cx: &Context) -> Diagnostics {
    let mut diags = Diagnostics::new();
    let overlays_dir = cx.infra.join("k8s/overlays");
    if !overlays_dir.is_dir() {
        return diags;
    }
    let names = match all_overlays(&cx.infra) {
        Ok(names) => names,
        Err(e) => {
            diags.push(Diagnostic::error(&overlays_dir, None, "", format!("{e:#}")));
            return diags;
        }
    };
    let checks = if cfg!(feature = "full") { Checks::All } else { Checks::Lints };
    for name in &names {
        match validate(cx, name, checks) {
            Ok(report) => diags.extend(report.diagnostics(true)),
            Err(e) => diags.push(Diagnostic::error(&overlays_dir.join(name), None, "", format!("{e:#}"))),
        }
    }
    if checks == Checks::Lints {
        match schema_in_full_build(cx) {
            // Render errors are already reported by the native run above.
            Ok(report) => {
                for overlay in &report.overlays {
                    diags.extend(overlay.diagnostics(false));
                }
            }
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

impl OverlayReport {
    /// The findings (and the render error, when `with_render_error`) as diagnostics on the
    /// overlay's directory.
    fn diagnostics(&self, with_render_error: bool) -> Diagnostics {
        let mut diags = Diagnostics::new();
        if let Some(error) = self.render_error.as_ref().filter(|_| with_render_error) {
            diags.push(Diagnostic::error(&self.dir, None, "", error.clone()));
        }
        for f in &self.findings {
            let path = if f.path.is_empty() { String::new() } else { format!("{}: ", f.path) };
            let message = format!("{}: {path}{}", f.object, f.message);
            let diagnostic = if f.is_error() {
                Diagnostic::error(&self.dir, None, "", message)
            } else {
                Diagnostic::warning(&self.dir, None, "", message)
            };
            diags.push(diagnostic.with_help_opt(f.help.clone()));
        }
        diags
    }
}

/// Renders one overlay and runs `checks` on it. A render error is part of the report; an overlay
/// that does not exist is an error.
fn validate(cx: &Context, overlay: &str, checks: Checks) -> anyhow::Result<OverlayReport> {
    let (_, dir) = stack_k8s::overlay::locate(&cx.infra.join("k8s"), overlay)?;
    let (_, prepared) = crate::k8s::load_and_prepare(cx, overlay, crate::k8s::Purpose::Inspect)?;
    let mut report =
        OverlayReport { overlay: overlay.to_owned(), dir, objects: 0, errors: 0, warnings: 0, render_error: None, findings: Vec::new() };
    let objects = match stack_k8s::render::render(&prepared.dir) {
        Ok(objects) => objects,
        Err(e) => {
            report.render_error = Some(in_real_tree(&e.to_string(), &prepared.dir, &report.dir));
            report.errors = 1;
            return Ok(report);
        }
    };
    report.objects = objects.len();
    if checks != Checks::Schema {
        let name = prepared.name.clone().unwrap_or_else(|| report.dir.file_name().unwrap_or_default().to_owned());
        report.findings.extend(stack_k8s::validate::lint(&objects, LintProfile::for_overlay(&name)));
    }
    if checks != Checks::Lints {
        report.findings.extend(schema(&objects));
    }
    report.errors = report.findings.iter().filter(|f| f.is_error()).count();
    report.warnings = report.findings.len() - report.errors;
    Ok(report)
}

/// `message` with the paths of the temporary copy `prepare` may render from (a cloud overlay
/// with a written `secrets.env`) put back into the infrastructure tree: users edit that one.
fn in_real_tree(message: &str, rendered: &Utf8Path, real: &Utf8Path) -> String {
    if rendered == real {
        return message.to_owned();
    }
    // The copy is of the whole `k8s/` tree: go up as many levels from both overlay directories.
    let mut rendered_root = rendered;
    let mut real_root = real;
    while rendered_root.file_name().is_some() && rendered_root.file_name() == real_root.file_name() {
        match (rendered_root.parent(), real_root.parent()) {
            (Some(a), Some(b)) => (rendered_root, real_root) = (a, b),
            _ => break,
        }
    }
    message.replace(rendered_root.as_str(), real_root.as_str())
}

#[cfg(feature = "full")]
fn schema(objects: &[Value]) -> Vec<Finding> {
    stack_k8s::validate::schema(objects)
}

/// Never reached: the plain build asks a `full` build for the schema check. Should that change,
/// the check fails rather than passing unchecked.
#[cfg(not(feature = "full"))]
fn schema(_: &[Value]) -> Vec<Finding> {
    vec![Finding {
        severity: stack_config::Severity::Error,
        object: "*".to_owned(),
        path: String::new(),
        message: "the schema check needs xtask's `full` feature".to_owned(),
        help: Some("run `cargo run --package xtask --features full -- k8s validate`".to_owned()),
    }]
}

/// Every overlay directory (holding a kustomization) under `<infra>/k8s/overlays`, by name.
fn all_overlays(infra: &Utf8Path) -> anyhow::Result<Vec<String>> {
    let names = stack_config::kustomize::overlays(infra).with_context(|| format!("cannot read {infra}/k8s/overlays"))?;
    anyhow::ensure!(!names.is_empty(), "no overlay (directory with a kustomization file) in {infra}/k8s/overlays");
    Ok(names)
}

/// `overlays/minikube` for a named overlay, the path as given otherwise.
fn origin(infra: &Utf8Path, overlay: &OverlayReport) -> String {
    match overlay.dir.strip_prefix(infra.join("k8s")) {
        Ok(relative) if overlay.dir.parent() == Some(infra.join("k8s/overlays").as_path()) => relative.to_string(),
        _ => overlay.overlay.clone(),
    }
}

/// `k8s validate --overlay all` with the schema check only, in a `full` build of xtask (the
/// same re-run as backend.rs), read back from its JSON report.
fn schema_in_full_build(cx: &Context) -> anyhow::Result<Report> {
    if std::env::var_os(REEXEC_GUARD).is_some() {
        anyhow::bail!("this is already a re-run of xtask, and it lacks the `full` feature");
    }
    crate::output::note(
        "note: checking the Kubernetes schemas with xtask --features full (the first build of that feature takes several minutes)",
    );
    let output = crate::backend::full_command()?
        .args(["--infra", cx.infra.as_str(), "--output", "json", "k8s", "validate", "--overlay", "all"])
        .env(SCHEMA_ONLY, "1")
        .stdin(Stdio::null())
        .output()
        .context("cannot run cargo")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str::<Report>(&stdout).with_context(|| {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(20).collect::<Vec<_>>().into_iter().rev().collect();
        format!("`xtask --features full k8s validate` exited with {} and no report:\n{}", output.status, tail.join("\n"))
    })
}
