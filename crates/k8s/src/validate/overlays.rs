//! Validation of an infrastructure tree's overlays as one call: each overlay prepared, rendered
//! and checked ([`lint`](super::lint) and, with the `schema` feature, [`schema`](super::schema)),
//! one [`Report`] for all of them, which prints as `k8s validate` does and converts into
//! `config check`'s diagnostics.

use std::fmt;

use camino::{Utf8Path, Utf8PathBuf};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use stack_config::{Diagnostic, Diagnostics, Infra};

use super::{Finding, LintProfile};
use crate::error::{Error, Result};
use crate::overlay::Purpose;

/// Which checks to run on an overlay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checks {
    /// Lints and schema.
    All,
    /// The lints alone (a build without the `schema` feature).
    Lints,
    /// The schema alone (merged into a lint-only report of another build).
    Schema,
}

/// The result of every overlay validated.
#[derive(Debug, Serialize, Deserialize)]
pub struct Report {
    pub ok: bool,
    pub overlays: Vec<OverlayReport>,
    /// The infrastructure tree, for naming the overlays in the text.
    #[serde(skip)]
    pub infra: Utf8PathBuf,
}

/// The result of one overlay.
#[derive(Debug, Serialize, Deserialize)]
pub struct OverlayReport {
    /// The overlay as named (`minikube`) or the path given.
    pub overlay: String,
    /// Its directory in the infrastructure tree (never a temporary copy).
    pub dir: Utf8PathBuf,
    /// Rendered objects.
    pub objects: usize,
    pub errors: usize,
    pub warnings: usize,
    /// Why the overlay did not render; counted as one error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub render_error: Option<String>,
    pub findings: Vec<Finding>,
}

/// Whether [`OverlayReport::diagnostics`] includes the render error (a schema-only report of
/// another build repeats the one the lint run already has).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RenderError {
    Include,
    Leave,
}

/// Validates `overlay` of `infra` (`all`: every overlay under `<infra>/k8s/overlays`).
pub fn validate(infra: &Infra, overlay: &str, checks: Checks) -> Result<Report> {
    let names = if overlay == "all" { all_overlays(&infra.root)? } else { vec![overlay.to_owned()] };
    let overlays = names.iter().map(|name| validate_one(infra, name, checks)).collect::<Result<Vec<_>>>()?;
    Ok(Report { ok: overlays.iter().all(|o| o.errors == 0), overlays, infra: infra.root.clone() })
}

/// Renders one overlay and runs `checks` on it. A render error is part of the report; an overlay
/// that does not exist is an error.
pub fn validate_one(infra: &Infra, overlay: &str, checks: Checks) -> Result<OverlayReport> {
    let (_, dir) = crate::overlay::locate(&infra.root.join("k8s"), overlay)?;
    let prepared = crate::overlay::prepare(infra, overlay, Purpose::Inspect)?;
    let mut report =
        OverlayReport { overlay: overlay.to_owned(), dir, objects: 0, errors: 0, warnings: 0, render_error: None, findings: Vec::new() };
    let objects = match crate::render::render(&prepared.dir) {
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
        report.findings.extend(super::lint(&objects, LintProfile::for_overlay(&name)));
    }
    if checks != Checks::Lints {
        report.findings.extend(schema(&objects));
    }
    report.errors = report.findings.iter().filter(|f| f.is_error()).count();
    report.warnings = report.findings.len() - report.errors;
    Ok(report)
}

#[cfg(feature = "schema")]
fn schema(objects: &[Value]) -> Vec<Finding> {
    super::schema(objects)
}

/// A build without the `schema` feature cannot check the schema: the check fails rather than
/// passing unchecked.
#[cfg(not(feature = "schema"))]
fn schema(_: &[Value]) -> Vec<Finding> {
    vec![Finding {
        severity: stack_config::Severity::Error,
        object: "*".to_owned(),
        path: String::new(),
        message: "the schema check needs stack-k8s's `schema` feature".to_owned(),
        help: Some("validate with a build that has the feature".to_owned()),
    }]
}

/// Every overlay directory (holding a kustomization) under `<infra>/k8s/overlays`, by name.
pub fn all_overlays(infra: &Utf8Path) -> Result<Vec<String>> {
    let names = stack_config::kustomize::overlays(infra)
        .map_err(|source| Error::RenderRead { path: infra.join("k8s/overlays").to_string(), source })?;
    if names.is_empty() {
        return Err(Error::Overlay {
            message: format!("no overlay (directory with a kustomization file) in {infra}/k8s/overlays"),
            help: None,
        });
    }
    Ok(names)
}

/// `message` with the paths of the temporary copy `prepare` may render from (a cloud overlay
/// with a written `secrets.env`) put back into the infrastructure tree: users edit that one.
fn in_real_tree(message: &str, rendered: &Utf8Path, real: &Utf8Path) -> String {
    if rendered == real {
        return message.to_owned();
    }
    // The copy is of the whole `k8s/` tree: go up as many levels from both overlay directories.
    let (mut rendered_root, mut real_root) = (rendered, real);
    while rendered_root.file_name().is_some() && rendered_root.file_name() == real_root.file_name() {
        match (rendered_root.parent(), real_root.parent()) {
            (Some(a), Some(b)) => (rendered_root, real_root) = (a, b),
            _ => break,
        }
    }
    message.replace(rendered_root.as_str(), real_root.as_str())
}

/// The Kubernetes part of `config check`: every overlay of the tree at `infra_root` rendered and
/// checked with `checks`, as diagnostics on the overlays' directories.
pub fn config_diagnostics(infra_root: &Utf8Path, load: &stack_config::infra::LoadOptions, checks: Checks) -> Diagnostics {
    let mut diags = Diagnostics::new();
    let overlays_dir = infra_root.join("k8s/overlays");
    if !overlays_dir.is_dir() {
        return diags;
    }
    let infra = match Infra::load(infra_root, load) {
        Ok((infra, _)) => infra,
        // The tree's own errors are the config part's findings.
        Err(_) => return diags,
    };
    match all_overlays(infra_root) {
        Ok(names) => {
            for name in names {
                match validate_one(&infra, &name, checks) {
                    Ok(report) => diags.extend(report.diagnostics(RenderError::Include)),
                    Err(e) => diags.push(Diagnostic::error(&overlays_dir.join(&name), None, "", e.to_string())),
                }
            }
        }
        Err(e) => diags.push(Diagnostic::error(&overlays_dir, None, "", e.to_string())),
    }
    diags
}

impl OverlayReport {
    /// The findings (and the render error, with [`RenderError::Include`]) as diagnostics on the
    /// overlay's directory.
    pub fn diagnostics(&self, render_error: RenderError) -> Diagnostics {
        let mut diags = Diagnostics::new();
        if let Some(error) = self.render_error.as_ref().filter(|_| render_error == RenderError::Include) {
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

    /// `overlays/minikube` for a named overlay of `infra`, the path as given otherwise.
    fn origin(&self, infra: &Utf8Path) -> String {
        match self.dir.strip_prefix(infra.join("k8s")) {
            Ok(relative) if self.dir.parent() == Some(infra.join("k8s/overlays").as_path()) => relative.to_string(),
            _ => self.overlay.clone(),
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut lines = Vec::new();
        for overlay in &self.overlays {
            let origin = overlay.origin(&self.infra);
            if let Some(error) = &overlay.render_error {
                lines.push(format!("error: {origin}: {error}"));
            }
            lines.extend(overlay.findings.iter().map(|finding| finding.display_in(&origin).to_string()));
            lines.push(format!(
                "k8s validate {}: overlay {} ({} objects, {} errors, {} warnings)",
                if overlay.errors == 0 { "ok" } else { "FAILED" },
                overlay.overlay,
                overlay.objects,
                overlay.errors,
                overlay.warnings
            ));
        }
        f.write_str(&lines.join("\n"))
    }
}
