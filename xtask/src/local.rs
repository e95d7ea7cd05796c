//! The local observation commands: `status`, `db status`, `logs`, `doctor`, `test-images`,
//! `bench compose`.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use stack_compose::{Engine, EngineOptions, logs::Follow, logs::Services};
use stack_ops::block_on;
use stack_testkit::{bench, images};

use crate::Context;
use crate::backend::runtime;
use crate::output::note;

async fn connect() -> anyhow::Result<Engine> {
    Ok(Engine::connect(&EngineOptions::from_env(&|k| std::env::var(k).ok())).await?)
}

/// The repository of the infrastructure tree (the test images' recipes are there); the tree
/// itself need not load.
fn repo_root(cx: &Context) -> camino::Utf8PathBuf {
    cx.infra.parent().map_or_else(|| ".".into(), camino::Utf8Path::to_owned)
}

/// `status` (all services) and `db status` (`only` the data layer) of a Docker environment.
pub fn status(cx: &Context, only: Option<&str>) -> anyhow::Result<ExitCode> {
    let infra = cx.load()?;
    let filter = match only {
        Some(short) => Some(infra.resolve(&cx.env, short)?.0.services),
        None => None,
    };
    let project = infra.project_name(&cx.env)?;
    let report = runtime()?.block_on(async { anyhow::Ok(connect().await?.status_report(&project, filter.as_deref()).await?) })?;
    cx.out.print(&report)?;
    Ok(if report.ok() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// `logs` and `services logs` (`only`: the services of that catalogue entry); Ctrl-C ends a
/// followed stream.
pub fn logs(cx: &Context, only: Option<&str>, services: &[String], follow: bool, tail: &str) -> anyhow::Result<ExitCode> {
    let (resolved, _) = cx.load()?.resolve(&cx.env, only.unwrap_or("s_a_dbs_s"))?;
    let selection = match (services.is_empty(), only) {
        (false, _) => Services::Only(services),
        (true, Some(_)) => Services::Only(&resolved.services),
        (true, None) => Services::All,
    };
    let follow = if follow { Follow::Yes } else { Follow::No };
    let mut out = std::io::stdout();
    let result = block_on("following the logs", async {
        let redactor = resolved.vars.redactor();
        let mut sink = |line: &str| drop(writeln!(out, "{line}"));
        Ok(connect().await?.project_logs(&resolved.project_name, selection, follow, tail, &redactor, &mut sink).await?)
    });
    // Ctrl-C ends a followed stream: that is its normal end.
    match result {
        Err(e) if follow == Follow::Yes && crate::backend::interrupted(&e) => Ok(ExitCode::SUCCESS),
        other => other.map(|()| ExitCode::SUCCESS),
    }
}

/// `doctor`: [`stack_ops::doctor::run`] for `--env`; exit 1 on an error.
pub fn doctor(cx: &Context) -> anyhow::Result<ExitCode> {
    let report = stack_ops::doctor::run(&cx.load()?, &cx.env, &stack_ops::doctor::Probe::process()).map_err(anyhow::Error::from_boxed)?;
    cx.out.print(&report)?;
    Ok(if report.ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// `test-images`: builds or finds the local test images and prints `NAME=VALUE` lines.
pub fn test_images(cx: &Context) -> anyhow::Result<ExitCode> {
    let progress = cx.terminal();
    let repo_root = repo_root(cx);
    if cx.dry_run {
        cx.out.print(&runtime()?.block_on(async { anyhow::Ok(images::plan(&connect().await?, &repo_root, &progress).await?) })?)?;
    } else {
        cx.out.print(&runtime()?.block_on(async { anyhow::Ok(images::ensure(&connect().await?, &repo_root, &progress).await?) })?)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `bench compose`: ours against Docker Compose v1, side by side.
pub fn bench_compose(cx: &Context, runs: usize) -> anyhow::Result<ExitCode> {
    if cx.dry_run {
        cx.out.print(&bench::DryRun::new(runs))?;
        return Ok(ExitCode::SUCCESS);
    }
    note(&format!("benchmark: {runs} interleaved runs of each; every cold run starts from no containers (images present)"));
    let (xtask, infra, deadline) = (std::env::current_exe()?, cx.infra.clone().into_std_path_buf(), Duration::from_secs(cx.wait_timeout));
    cx.out.print(&bench::run(xtask, infra, &repo_root(cx), runs, deadline).map_err(anyhow::Error::msg)?)?;
    Ok(ExitCode::SUCCESS)
}
