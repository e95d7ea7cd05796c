//! `cargo xtask k8s render`: an overlay (by name or path) rendered by the native Kustomize
//! renderer of `stack-k8s`, or by `kubectl kustomize`, printed as YAML or one JSON array.

use std::process::{Command, ExitCode};

use anyhow::{Context as _, bail};
use camino::Utf8Path;

use crate::Context;
use crate::flags::{Render, RenderEngine};

/// Runs `k8s render`.
pub fn render(cx: &Context, args: Render) -> anyhow::Result<ExitCode> {
    let (_, prepared) = load_and_prepare(cx, &args.overlay.overlay, Purpose::Inspect)?;
    let dir = prepared.dir.clone();
    match (args.engine, cx.out.is_json()) {
        // kubectl's YAML goes out as it is; everything else needs the renderer crate.
        (RenderEngine::Kubectl, false) => {
            cx.out.text(&kubectl_kustomize(&dir)?)?;
            Ok(ExitCode::SUCCESS)
        }
        (engine, json) => native::print(cx, &dir, engine, json),
    }
}

pub use stack_k8s::overlay::{Prepared, Purpose};

/// [`stack_k8s::overlay::prepare`] of `overlay` in `infra`, its notes printed on stderr.
pub fn prepare(cx: &Context, infra: &stack_config::Infra, overlay: &str, purpose: Purpose) -> anyhow::Result<Prepared> {
    let prepared = stack_k8s::overlay::prepare(infra, overlay, purpose)?;
    if !cx.quiet {
        for n in &prepared.notes {
            crate::output::note(n);
        }
    }
    Ok(prepared)
}

/// Loads the infrastructure tree of `cx` (once per command) and prepares `overlay` in it.
pub fn load_and_prepare(cx: &Context, overlay: &str, purpose: Purpose) -> anyhow::Result<(stack_config::Infra, Prepared)> {
    let (infra, _) = stack_config::Infra::load(&cx.infra, &crate::load_options())?;
    let prepared = prepare(cx, &infra, overlay, purpose)?;
    Ok((infra, prepared))
}

/// `kubectl kustomize DIR`, found with `which`.
fn kubectl_kustomize(dir: &Utf8Path) -> anyhow::Result<String> {
    let kubectl = which::which("kubectl").context(
        "kubectl is not installed\n  help: install kubectl (https://kubernetes.io/docs/tasks/tools/), or render with `--engine native`",
    )?;
    let output = Command::new(kubectl).arg("kustomize").arg(dir.as_str()).output().context("running kubectl kustomize")?;
    if !output.status.success() {
        bail!("kubectl kustomize {dir} failed:\n{}", String::from_utf8_lossy(&output.stderr).trim_end());
    }
    String::from_utf8(output.stdout).context("kubectl kustomize printed non-UTF-8 output")
}

/// The native renderer (pure: part of every build), or kubectl's output parsed for JSON.
mod native {
    use super::*;

    pub fn print(cx: &Context, dir: &Utf8Path, engine: RenderEngine, json: bool) -> anyhow::Result<ExitCode> {
        let objects = match engine {
            RenderEngine::Native => stack_k8s::render::render(dir)?,
            RenderEngine::Kubectl => stack_k8s::render::from_yaml(&kubectl_kustomize(dir)?)?,
        };
        if json {
            cx.out.json(&objects)?;
        } else {
            cx.out.text(&stack_k8s::render::to_yaml(&objects))?;
        }
        Ok(ExitCode::SUCCESS)
    }
}
