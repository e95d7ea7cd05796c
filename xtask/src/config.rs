//! `cargo xtask config check`: every finding under the infrastructure tree.

use std::process::ExitCode;

use serde::Serialize;
use stack_config::{Diagnostics, Infra};

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
    let diags = Infra::check(&cx.infra, &crate::load_options());
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
