//! `cargo xtask k8s render`: an overlay (by name or path) rendered by the native Kustomize
//! renderer of `stack-k8s`, or by `kubectl kustomize`, printed as YAML or one JSON array.

use std::process::ExitCode;

use stack_k8s::overlay::Purpose;
use stack_k8s::render;

use crate::Context;
use crate::flags::{Render, RenderEngine};

pub fn render(cx: &Context, args: Render) -> anyhow::Result<ExitCode> {
    let prepared = stack_k8s::overlay::prepare(&cx.load()?, &args.overlay.overlay, Purpose::Inspect)?;
    prepared.notes.iter().for_each(|n| cx.progress(n));
    match (args.engine, cx.out.is_json()) {
        // kubectl's YAML goes out as it is.
        (RenderEngine::Kubectl, false) => cx.out.text(&render::kubectl(&prepared.dir)?)?,
        (RenderEngine::Kubectl, true) => cx.out.json(&render::from_yaml(&render::kubectl(&prepared.dir)?)?)?,
        (RenderEngine::Native, false) => cx.out.text(&render::to_yaml(&render::render(&prepared.dir)?))?,
        (RenderEngine::Native, true) => cx.out.json(&render::render(&prepared.dir)?)?,
    }
    Ok(ExitCode::SUCCESS)
}
