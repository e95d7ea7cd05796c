//! `cargo xtask k8s render`: an overlay (by name or path) rendered by the native Kustomize
//! renderer of `stack-k8s`, or by `kubectl kustomize`, printed as YAML or one JSON array,
//! pinned to a release record with `--images`; `k8s pin` writes those pins into the overlay;
//! `k8s validate`; `config check` (every finding under the infrastructure tree: config files,
//! Terraform cross-references, every overlay's lints and schema check) and `cloud lint` (the
//! Terraform part alone).

use std::process::ExitCode;

use stack_config::diagnostic::CheckReport;
use stack_config::release::Release;
use stack_k8s::overlay::Purpose;
use stack_k8s::render;

use crate::Context;
use crate::flags::{Overlay, Render, RenderEngine};

pub fn render(cx: &Context, args: Render) -> anyhow::Result<ExitCode> {
    let prepared = stack_k8s::overlay::prepare(&cx.load()?, &args.overlay.overlay, Purpose::Inspect)?;
    prepared.notes.iter().for_each(|n| cx.progress(n));
    let release = args.overlay.images.as_deref().map(Release::read).transpose()?;
    let engine = if args.engine == RenderEngine::Kubectl { render::Engine::Kubectl } else { render::Engine::Native };
    let (rendered, notes) = render::render_with(&prepared.dir, engine, release.as_ref())?;
    notes.iter().for_each(|n| cx.progress(n));
    cx.out.print(&rendered)?;
    Ok(ExitCode::SUCCESS)
}

/// `k8s pin`: the release record's digests written into the overlay's kustomization.
pub fn pin(cx: &Context, args: Overlay) -> anyhow::Result<ExitCode> {
    let Some(images) = &args.images else { anyhow::bail!("`k8s pin` needs the release record\n  help: pass --images release.json") };
    cx.out.print(&stack_k8s::pin::pin_overlay(&cx.load()?, &args.overlay, &Release::read(images)?, cx.dry_run)?)?;
    Ok(ExitCode::SUCCESS)
}

/// `k8s validate --overlay O|all`: `stack_k8s::validate::overlays` (our lints and the
/// `k8s-openapi` schema check), its report printed.
pub fn validate(cx: &Context, args: &Overlay) -> anyhow::Result<ExitCode> {
    use stack_k8s::validate::overlays::{self, Checks};
    let report = overlays::validate(&cx.load()?, &args.overlay, Checks::All)?;
    cx.out.print(&report)?;
    Ok(if report.ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

pub fn config_check(cx: &Context, action: crate::flags::Config) -> anyhow::Result<ExitCode> {
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
