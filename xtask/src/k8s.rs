//! `cargo xtask k8s render`: an overlay (by name or path) rendered by the native Kustomize
//! renderer of `stack-k8s`, or by `kubectl kustomize`, printed as YAML or one JSON array.

use std::process::{Command, ExitCode};

use anyhow::{Context as _, bail};
use camino::{Utf8Path, Utf8PathBuf};

use crate::Context;
use crate::flags::{Render, RenderEngine};

/// Runs `k8s render`.
pub fn render(cx: &Context, args: Render) -> anyhow::Result<ExitCode> {
    let dir = overlay_dir(&cx.infra, &args.overlay.overlay)?;
    match (args.engine, cx.out.is_json()) {
        // kubectl's YAML goes out as it is; everything else needs the renderer crate.
        (RenderEngine::Kubectl, false) => {
            cx.out.text(&kubectl_kustomize(&dir)?)?;
            Ok(ExitCode::SUCCESS)
        }
        (engine, json) => native::print(cx, &dir, engine, json),
    }
}

/// An overlay name under `<infra>/k8s/overlays/`, or a path to any kustomization directory.
fn overlay_dir(infra: &Utf8Path, overlay: &str) -> anyhow::Result<Utf8PathBuf> {
    let overlays = infra.join("k8s/overlays");
    let named = overlays.join(overlay);
    if !overlay.contains('/') && named.is_dir() {
        return Ok(named);
    }
    let path = Utf8Path::new(overlay);
    if path.is_dir() {
        return Ok(path.to_owned());
    }
    let mut known: Vec<String> = std::fs::read_dir(&overlays)
        .map(|entries| entries.filter_map(|entry| entry.ok()?.file_name().into_string().ok()).collect())
        .unwrap_or_default();
    known.sort();
    bail!(
        "unknown overlay `{overlay}`: neither {named} nor a directory `{overlay}` exists\n  help: name one of {} or give the path of a kustomization directory",
        if known.is_empty() { "(none found)".to_owned() } else { known.join(", ") }
    )
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
