//! The local Docker observation commands: `status`, `db status`, `logs`, `test-images`,
//! `bench compose`.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::bail;
use futures_util::StreamExt;
use stack_compose::{Engine, EngineOptions};

use crate::Context;
use crate::backend::runtime;
use crate::output::{Lines, note};

async fn connect() -> anyhow::Result<Engine> {
    Ok(Engine::connect(&EngineOptions::from_env(&|k| std::env::var(k).ok())).await?)
}

/// `status` (all services) and `db status` (`only` the data layer).
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

/// `logs` and `services logs`.
pub fn logs(cx: &Context, only: Option<&str>, services: &[String], follow: bool, tail: &str) -> anyhow::Result<ExitCode> {
    let (resolved, _) = cx.load()?.resolve(&cx.env, only.unwrap_or("s_a_dbs_s"))?;
    let rt = runtime()?;
    rt.block_on(async {
        let engine = connect().await?;
        let containers: Vec<_> = engine
            .project_containers(&resolved.project_name)
            .await?
            .into_iter()
            .filter(|c| {
                if services.is_empty() { only.is_none() || resolved.services.contains(&c.service) } else { services.contains(&c.service) }
            })
            .collect();
        if containers.is_empty() {
            bail!("no containers of project {} match", resolved.project_name);
        }
        let width = containers.iter().map(|c| c.service.len()).max().unwrap_or(0);
        let redactor = resolved.vars.redactor();
        let mut stream = engine.logs(&containers, follow, tail);
        let mut out = std::io::stdout().lock();
        loop {
            tokio::select! {
                line = stream.next() => match line {
                    Some(mut l) => {
                        l.line = redactor.redact(&l.line);
                        writeln!(out, "{}", l.prefixed(width))?;
                    }
                    None => break,
                },
                _ = tokio::signal::ctrl_c() => break,
            }
        }
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// `test-images`: builds or finds the local test images and prints `NAME=VALUE` lines.
pub fn test_images(cx: &Context) -> anyhow::Result<ExitCode> {
    let progress = Lines { cx };
    let repo_root = cx.infra.parent().map(camino::Utf8Path::to_owned).unwrap_or_else(|| ".".into());
    if cx.dry_run {
        let plan =
            runtime()?.block_on(async { anyhow::Ok(stack_testkit::images::plan(&connect().await?, &repo_root, &progress).await?) })?;
        if cx.out.is_json() {
            cx.out.json(&plan)?;
        } else {
            let mut text = String::new();
            if plan.make_base {
                text.push_str(&format!("would make the base image {}\n", stack_testkit::images::BASE_IMAGE));
            }
            for (image, build) in &plan.images {
                text.push_str(&format!("{image}: {}\n", if *build { "would be built" } else { "up to date" }));
            }
            text.push_str("dry run: nothing was built");
            cx.out.text(&text)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let images =
        runtime()?.block_on(async { anyhow::Ok(stack_testkit::images::ensure(&connect().await?, &repo_root, &progress).await?) })?;
    if cx.out.is_json() {
        cx.out.json(&images.vars.iter().cloned().collect::<BTreeMap<_, _>>())?;
    } else {
        for (k, v) in &images.vars {
            cx.out.text(&format!("{k}={v}"))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `bench compose`: ours against Docker Compose v1, as a table (or JSON).
pub fn bench_compose(cx: &Context, runs: usize) -> anyhow::Result<ExitCode> {
    if cx.dry_run {
        let plan = serde_json::json!({
            "dryRun": true,
            "would": format!("start and remove the data layer {runs} times each with this toolkit and with docker-compose, cold and re-run, in projects of their own"),
        });
        if cx.out.is_json() {
            cx.out.json(&plan)?;
        } else {
            cx.out.text(&format!("dry run: would {}; nothing was run", plan["would"].as_str().unwrap_or_default()))?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let progress = stack_compose::entry::Quiet;
    let repo_root = cx.infra.parent().map(camino::Utf8Path::to_owned).unwrap_or_else(|| ".".into());
    let images =
        runtime()?.block_on(async { anyhow::Ok(stack_testkit::images::ensure(&connect().await?, &repo_root, &progress).await?) })?;
    let options = stack_testkit::bench::BenchOptions {
        xtask: std::env::current_exe()?,
        infra: cx.infra.clone().into_std_path_buf(),
        runs: runs.max(1),
        image_vars: images.vars,
        deadline: Duration::from_secs(cx.wait_timeout),
    };
    note(&format!("benchmark: {runs} interleaved runs of each; every cold run starts from no containers (images present)"));
    let report = stack_testkit::bench::compare_with_compose(&options).map_err(anyhow::Error::msg)?;
    if cx.out.is_json() {
        cx.out.json(&report)?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut rows = vec![["tool", "mode", "median s", "min s", "max s", "runs"].map(str::to_owned).to_vec()];
    for s in &report.series {
        let runs: Vec<String> = s.runs.iter().map(|r| format!("{r:.2}")).collect();
        rows.push(vec![
            s.tool.clone(),
            s.mode.clone(),
            format!("{:.2}", s.median),
            format!("{:.2}", s.min),
            format!("{:.2}", s.max),
            runs.join(" "),
        ]);
    }
    cx.out.text(&crate::output::table(&rows))?;
    cx.out.text(&format!("ratio ours/compose (medians): cold {:.2}, re-run {:.2}", report.cold_ratio, report.rerun_ratio))?;
    Ok(ExitCode::SUCCESS)
}
