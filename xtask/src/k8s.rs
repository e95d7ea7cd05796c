//! `cargo xtask k8s render`: an overlay (by name or path) rendered by the native Kustomize
//! renderer of `stack-k8s`, or by `kubectl kustomize`, printed as YAML or one JSON array.

use std::process::{Command, ExitCode};

use anyhow::{Context as _, bail};
use camino::{Utf8Path, Utf8PathBuf};

use crate::Context;
use crate::flags::{Render, RenderEngine};

/// Runs `k8s render`.
pub fn render(cx: &Context, args: Render) -> anyhow::Result<ExitCode> {
    let prepared = prepare(cx, &args.overlay.overlay, Purpose::Inspect)?;
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

/// An overlay name under `<infra>/k8s/overlays/`, or a path to any kustomization directory.
pub fn overlay_dir(infra: &Utf8Path, overlay: &str) -> anyhow::Result<Utf8PathBuf> {
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

/// Why an overlay is being prepared: only an apply needs the real secret values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// render, validate, diff: placeholder secrets are good enough when the real ones are absent.
    Inspect,
    /// apply: the real values, or an error.
    Apply,
}

/// An overlay ready to render: its directory, or a temporary copy of `<infra>/k8s` with the
/// uncommitted `secrets.env` written in. The copy is removed on drop.
#[derive(Debug)]
#[allow(dead_code, reason = "name: read by the cluster commands")]
pub struct Prepared {
    /// The overlay's name when it is one of `<infra>/k8s/overlays`.
    pub name: Option<String>,
    /// The directory to render.
    pub dir: Utf8PathBuf,
    /// The temporary copy, if one was made.
    temp: Option<Utf8PathBuf>,
}

impl Drop for Prepared {
    fn drop(&mut self) {
        if let Some(temp) = &self.temp {
            let _ = std::fs::remove_dir_all(temp);
        }
    }
}

/// Finds the overlay, and for a cloud overlay whose `secrets.env` is missing (it is never
/// committed) writes one into a temporary copy of the k8s tree: the values of the keys of
/// `secrets.env.example` from the environment's env file (`infrastructure/env/<env>.env`, and
/// the process environment). With no such env file, [`Purpose::Inspect`] renders with the
/// example's placeholder values and [`Purpose::Apply`] fails, naming the file to create.
pub fn prepare(cx: &Context, overlay: &str, purpose: Purpose) -> anyhow::Result<Prepared> {
    let dir = overlay_dir(&cx.infra, overlay)?;
    let overlays = cx.infra.join("k8s/overlays");
    let name = (dir.parent() == Some(overlays.as_path())).then(|| dir.file_name().unwrap_or_default().to_owned());
    let example = dir.join("secrets.env.example");
    if dir.join("secrets.env").is_file() || !example.is_file() {
        return Ok(Prepared { name, dir, temp: None });
    }
    let keys: Vec<String> = std::fs::read_to_string(&example)
        .with_context(|| format!("cannot read {example}"))?
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('=').map(|(k, _)| k.trim().to_owned()))
        .collect();
    let env = name.as_deref().and_then(|n| environment_of_overlay(cx, n));
    let (infra, _) = stack_config::Infra::load(&cx.infra, &crate::load_options()).map_err(|e| anyhow::anyhow!("{e}"))?;
    let vars = match env.as_deref() {
        Some(e) => Some(infra.vars(e).map_err(|d| anyhow::anyhow!("{d}"))?),
        None => None,
    };
    let real = vars.as_ref().filter(|v| v.source.as_ref().is_some_and(|s| !s.as_str().ends_with(".example")));
    let mut text = String::from("# Written by cargo xtask for this render only; never committed.\n");
    match real {
        Some(vars) => {
            let missing: Vec<&str> = keys.iter().filter(|k| vars.get(k).is_none_or(|v| v.is_empty())).map(String::as_str).collect();
            if !missing.is_empty() && purpose == Purpose::Apply {
                bail!(
                    "{}: no value for {} (needed by the secretGenerator of overlay {dir})\n  help: set them in that file, marked `# @secret`",
                    vars.source.as_ref().map_or("the env file", |s| s.as_str()),
                    missing.join(", ")
                );
            }
            for k in &keys {
                text.push_str(&format!("{k}={}\n", vars.get(k).unwrap_or_default()));
            }
        }
        None if purpose == Purpose::Apply => bail!(
            "overlay {dir} needs {} (never committed) and there is no env file to write it from\n  help: create infrastructure/env/{}.env from its .example with the real values (marked `# @secret`), or write {} by hand",
            dir.join("secrets.env"),
            env.as_deref().unwrap_or("<env>"),
            dir.join("secrets.env")
        ),
        None => {
            crate::output::note(&format!(
                "note: {} is missing: rendering with the placeholder values of {example}",
                dir.join("secrets.env")
            ));
            for k in &keys {
                text.push_str(&format!("{k}=\n"));
            }
        }
    }
    // A copy of the whole k8s tree keeps relative references (../../base) working.
    let temp = std::env::temp_dir().join(format!("srvthreds-k8s-{}-{}", std::process::id(), unique()));
    let temp = Utf8PathBuf::from_path_buf(temp).map_err(|p| anyhow::anyhow!("temporary directory {} is not UTF-8", p.display()))?;
    let k8s_root = cx.infra.join("k8s");
    let rel = dir.strip_prefix(&k8s_root).with_context(|| format!("overlay {dir} is not under {k8s_root}"))?.to_owned();
    copy_tree(&k8s_root, &temp).with_context(|| format!("copying {k8s_root} to {temp}"))?;
    let prepared = Prepared { name, dir: temp.join(rel), temp: Some(temp) };
    write_private(&prepared.dir.join("secrets.env"), &text)?;
    Ok(prepared)
}

/// The environment whose `overlay` is `overlay` (dev, staging, prod).
fn environment_of_overlay(cx: &Context, overlay: &str) -> Option<String> {
    let (infra, _) = stack_config::Infra::load(&cx.infra, &crate::load_options()).ok()?;
    infra.environments.environments.values().find(|e| e.overlay.as_deref() == Some(overlay)).map(|e| e.name.clone())
}

fn unique() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos())
}

fn copy_tree(from: &Utf8Path, to: &Utf8Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.as_std_path().join(entry.file_name());
        if entry.file_type()?.is_dir() {
            let path = entry.path();
            let (Some(src), Some(dst)) = (Utf8Path::from_path(&path), Utf8Path::from_path(&target)) else { continue };
            copy_tree(src, dst)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

/// Writes a file only its owner can read.
fn write_private(path: &Utf8Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot write {path}"))?;
    file.write_all(text.as_bytes()).with_context(|| format!("cannot write {path}"))?;
    Ok(())
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
