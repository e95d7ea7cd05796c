//! The local Docker commands: `deploy` (docker targets), `db`, `services`, `bootstrap`,
//! `status`, `logs`. Each resolves a catalogue deployment and hands it to the compose driver.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, bail};
use futures_util::StreamExt;
use serde::Serialize;
use stack_compose::observe::HealthSource;
use stack_compose::progress::{Event, Progress};
use stack_compose::{BuildPolicy, DownOptions, Engine, EngineOptions, Stack, UpOptions};
use stack_config::Infra;
use stack_config::deployment::DeployCommand;
use stack_config::infra::Resolved;

use crate::Context;
use crate::backend::runtime;
use crate::output::note;

/// Options of one docker deployment run, from the command line.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunFlags {
    pub volumes: bool,
    pub remove_orphans: bool,
}

/// Prints driver progress on stderr, one line per event.
struct Lines {
    verbose: bool,
    quiet: bool,
}

impl Progress for Lines {
    fn event(&self, event: &Event) {
        if self.quiet || (matches!(event, Event::ImageBuildLine { .. }) && !self.verbose) {
            return;
        }
        note(&event.to_string());
    }
}

async fn connect() -> anyhow::Result<Engine> {
    Ok(Engine::connect(&process_engine()).await?)
}

/// The engine the process environment names (`DOCKER_HOST`, ...), as the Docker CLI finds it.
fn process_engine() -> EngineOptions {
    EngineOptions::from_env(&|k| std::env::var(k).ok())
}

/// Loads the tree and resolves `short_name` in `env`, printing warnings.
pub fn resolve(cx: &Context, env: &str, short_name: &str) -> anyhow::Result<(Infra, Resolved)> {
    let (infra, warnings) = Infra::load(&cx.infra, &crate::load_options())?;
    let (resolved, more) = infra.resolve(env, short_name)?;
    if !cx.quiet {
        for w in warnings.iter().chain(more.iter()) {
            note(&w.to_string());
        }
    }
    Ok((infra, resolved))
}

/// Runs a resolved docker deployment: pre-commands, the compose action, post-commands.
pub fn execute(cx: &Context, infra: &Infra, resolved: &Resolved, flags: RunFlags) -> anyhow::Result<ExitCode> {
    execute_on(cx, infra, resolved, flags, &process_engine())
}

/// Runs a catalogue entry through [`stack_compose::hooks::run_entry`]: its pre-commands,
/// `target` (its Docker or Kubernetes action), then its post-commands when `target` exited 0.
pub fn run_entry(
    cx: &Context,
    infra: &Infra,
    resolved: &Resolved,
    target: impl FnOnce() -> anyhow::Result<u8>,
) -> anyhow::Result<ExitCode> {
    let repo_root = infra.root.parent().map(|p| p.as_std_path().to_owned()).unwrap_or_else(|| ".".into());
    let print = |l: &str| {
        if !cx.quiet {
            note(l)
        }
    };
    let code = stack_compose::hooks::run_entry(resolved, &repo_root, &print, target)?;
    Ok(ExitCode::from(code))
}

/// [`execute`] on the engine `engine` instead of the process environment's: `minikube up` builds
/// the images with minikube's Docker daemon this way.
pub fn execute_on(cx: &Context, infra: &Infra, resolved: &Resolved, flags: RunFlags, engine: &EngineOptions) -> anyhow::Result<ExitCode> {
    run_entry(cx, infra, resolved, || docker_action(cx, resolved, flags, engine))
}

/// The compose action of a docker catalogue entry; its exit code.
fn docker_action(cx: &Context, resolved: &Resolved, flags: RunFlags, engine: &EngineOptions) -> anyhow::Result<u8> {
    let project = resolved.compose.as_ref().context("not a docker deployment")?;
    let redactor = resolved.vars.redactor();
    let lookup = |k: &str| resolved.vars.get(k);
    let stack = Stack { name: &resolved.project_name, project, services: &resolved.services, lookup: &lookup, redactor: &redactor };
    let progress = Lines { verbose: cx.verbose, quiet: cx.quiet };
    let options = UpOptions {
        wait_timeout: Duration::from_secs(cx.wait_timeout),
        build: BuildPolicy::WhenChanged,
        remove_orphans: flags.remove_orphans,
        ..UpOptions::default()
    };
    let rt = runtime()?;
    rt.block_on(async {
        let engine = Engine::connect(engine).await?;
        let work = async {
            match resolved.target.deploy_command {
                DeployCommand::Up => {
                    let report = engine.up(&stack, &options, &progress).await?;
                    if cx.out.is_json() {
                        cx.out.json(&report)?;
                    } else if report.unchanged {
                        cx.out.text(&format!("{}: everything up to date ({:.1}s)", report.project, report.elapsed_secs))?;
                    } else {
                        cx.out.text(&format!("{}: {} services ready in {:.1}s", report.project, report.services.len(), report.elapsed_secs))?;
                    }
                    Ok(0)
                }
                DeployCommand::Run => {
                    let mut last = 0;
                    let mut jobs = Vec::new();
                    for job in resolved.target.services.clone().unwrap_or_default() {
                        // The job's output is the human result; with --output json, stdout holds
                        // only the one JSON document, and the output goes to stderr.
                        let on_log = |l: &str| {
                            if cx.out.is_json() {
                                note(&format!("{job} | {l}"));
                            } else {
                                let _ = writeln!(std::io::stdout().lock(), "{job} | {l}");
                            }
                        };
                        last = engine.run_job(&stack, &job, &options, &progress, &on_log).await?;
                        jobs.push(serde_json::json!({ "job": job, "exitCode": last }));
                        if last != 0 {
                            note(&format!("error: {job} exited with code {last}"));
                            break;
                        }
                    }
                    if cx.out.is_json() {
                        cx.out.json(&serde_json::json!({ "project": resolved.project_name, "jobs": jobs, "ok": last == 0 }))?;
                    }
                    Ok(exit_code(last))
                }
                DeployCommand::Build => {
                    let selected: Vec<_> = resolved.services.iter().filter_map(|s| project.services.get(s)).collect();
                    let order: Vec<_> = stack_compose::plan::build_order(project, &resolved.project_name, &selected).into_iter().map(|(s, _)| s).collect();
                    let built = engine.build_images(&resolved.project_name, project, &order, BuildPolicy::WhenChanged, &progress).await?;
                    if cx.out.is_json() {
                        cx.out.json(&built)?;
                    } else {
                        for b in &built {
                            cx.out.text(&format!("{} {}", b.image, if b.skipped { "up to date" } else { "built" }))?;
                        }
                    }
                    Ok(0)
                }
                DeployCommand::Stop => {
                    let report = engine.stop(&stack, &progress).await?;
                    print_teardown(cx, &report, "stopped")?;
                    Ok(0)
                }
                DeployCommand::Down => {
                    let report = engine.down(&stack, DownOptions { volumes: flags.volumes, remove_orphans: flags.remove_orphans }, &progress).await?;
                    print_teardown(cx, &report, "removed")?;
                    Ok(0)
                }
                DeployCommand::Apply | DeployCommand::Delete => bail!("a kubernetes action reached the docker driver"),
            }
        };
        tokio::select! {
            r = work => r,
            _ = tokio::signal::ctrl_c() => Err(stack_compose::Error::Interrupted { doing: format!("running {}", resolved.deployment.short_name) }.into()),
        }
    })
}

fn exit_code(code: i64) -> u8 {
    match code {
        0 => 0,
        c => u8::try_from(c.clamp(1, 255)).unwrap_or(1),
    }
}

fn print_teardown(cx: &Context, report: &stack_compose::Teardown, verb: &str) -> anyhow::Result<()> {
    if cx.out.is_json() {
        return cx.out.json(report);
    }
    let n = if verb == "stopped" { report.stopped.len() } else { report.removed.len() };
    let mut text = format!("{n} containers {verb}");
    if !report.networks.is_empty() {
        text.push_str(&format!(", networks removed: {}", report.networks.join(", ")));
    }
    if !report.volumes.is_empty() {
        text.push_str(&format!(", volumes removed: {}", report.volumes.join(", ")));
    }
    cx.out.text(&text)
}

/// Runs a catalogue deployment by short name in the context's environment.
pub fn run_short(cx: &Context, short_name: &str, flags: RunFlags) -> anyhow::Result<ExitCode> {
    let (infra, resolved) = resolve(cx, &cx.env, short_name)?;
    if cx.dry_run {
        return crate::deploy::print_plan(cx, &resolved);
    }
    execute(cx, &infra, &resolved, flags)
}

/// `db reset`: asks first, then removes the data layer with its volumes.
pub fn reset(cx: &Context, yes: bool) -> anyhow::Result<ExitCode> {
    let (infra, resolved) = resolve(cx, &cx.env, "d_a_dbs")?;
    if cx.dry_run {
        return crate::deploy::print_plan(cx, &resolved);
    }
    if !yes {
        let what = format!(
            "This removes the {} containers of project {} AND their data volumes: all data is lost.",
            resolved.services.join(", "),
            resolved.project_name
        );
        if !std::io::stdin().is_terminal() {
            bail!("{what}\n  help: not a terminal, so nothing to ask: pass --yes to confirm");
        }
        note(&format!("{what}\nType `yes` to continue: "));
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if answer.trim() != "yes" {
            bail!("cancelled: nothing was changed");
        }
    }
    execute(cx, &infra, &resolved, RunFlags { volumes: true, remove_orphans: false })
}

#[derive(Serialize)]
struct StatusRow<'a> {
    #[serde(flatten)]
    container: &'a stack_compose::observe::Container,
}

/// `status` (all services) and `db status` (`only` the data layer).
pub fn status(cx: &Context, only: Option<&str>) -> anyhow::Result<ExitCode> {
    let filter: Option<Vec<String>> = match only {
        Some(short) => Some(resolve(cx, &cx.env, short)?.1.services),
        None => None,
    };
    let (infra, _) = Infra::load(&cx.infra, &crate::load_options())?;
    let env = infra.environments.get(&cx.env).map_err(|d| anyhow::anyhow!("{d}"))?;
    let vars = infra.vars(&cx.env).map_err(|d| anyhow::anyhow!("{d}"))?;
    let project = stack_config::infra::project_name(env, &vars);
    let rt = runtime()?;
    let containers = rt.block_on(async { anyhow::Ok(connect().await?.project_status(&project).await?) })?;
    let rows: Vec<_> = containers.iter().filter(|c| filter.as_ref().is_none_or(|f| f.contains(&c.service))).collect();
    if cx.out.is_json() {
        let rows: Vec<StatusRow<'_>> = rows.iter().map(|c| StatusRow { container: c }).collect();
        cx.out.json(&rows)?;
    } else if rows.is_empty() {
        cx.out.text(&format!("project {project}: no containers"))?;
    } else {
        let mut table = vec![["SERVICE", "CONTAINER", "STATE", "HEALTH", "PORTS", "IMAGE", "STATUS"].map(str::to_owned).to_vec()];
        for c in &rows {
            table.push(vec![
                c.service.clone(),
                c.name.clone(),
                c.state.clone(),
                match c.health_source {
                    HealthSource::Probe => format!("{} (probe; docker: {})", c.health, c.docker_health),
                    _ => c.health.clone(),
                },
                c.ports.join(","),
                c.image.clone(),
                c.status.clone(),
            ]);
        }
        cx.out.text(&crate::output::table(&table))?;
    }
    let unhealthy = rows.iter().any(|c| c.health == "unhealthy" || (c.state != "running" && !c.status.starts_with("Exited (0)")));
    Ok(if unhealthy { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// `logs` and `services logs`.
pub fn logs(cx: &Context, only: Option<&str>, services: &[String], follow: bool, tail: &str) -> anyhow::Result<ExitCode> {
    let (infra, resolved) = resolve(cx, &cx.env, only.unwrap_or("s_a_dbs_s"))?;
    drop(infra);
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
    let progress = Lines { verbose: cx.verbose, quiet: cx.quiet };
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
        cx.out.json(&images.vars.iter().cloned().collect::<std::collections::BTreeMap<_, _>>())?;
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
    let progress = Lines { verbose: cx.verbose, quiet: true };
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
