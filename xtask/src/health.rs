//! `cargo xtask health [--env E] [--only NAME] [--output json]`: the health checks of an
//! environment, run concurrently under a retry policy; exit 0 only when every check passes.
//! The probe clients are heavy, so they live in the `full` build (see `backend.rs`).

use std::process::ExitCode;

use crate::Context;
use crate::backend;
use crate::flags::Health;

pub fn run(cx: &Context, args: Health) -> anyhow::Result<ExitCode> {
    if let Some(code) = backend::ensure_full("health")? {
        return Ok(code);
    }
    full::run(cx, args)
}

#[cfg(feature = "full")]
mod full {
    use std::process::ExitCode;
    use std::time::Duration;

    use anyhow::bail;
    use stack_compose::{Engine, EngineOptions};
    use stack_config::Infra;
    use stack_config::environment::Kind;
    use stack_health::targets::{Addresses, cloud_checks, docker_checks_by_deployment};
    use stack_health::{RetryPolicy, run_all};

    use crate::Context;
    use crate::flags::Health;
    use crate::output::note;

    pub fn run(cx: &Context, args: Health) -> anyhow::Result<ExitCode> {
        let (infra, _) = Infra::load(&cx.infra, &crate::load_options())?;
        let env = infra.environments.get(&cx.env).map_err(|d| anyhow::anyhow!("{d}"))?.clone();
        let rt = crate::backend::runtime()?;
        // Checks of services that were never started here: reported as not deployed.
        let mut absent = Vec::new();
        let mut checks = match env.kind {
            Kind::Docker => {
                let (resolved, _) = infra.resolve(&cx.env, "s_a_dbs_s")?;
                let Some(project) = resolved.compose.as_ref() else { bail!("the full stack of `{}` has no compose project", cx.env) };
                let (ips, containers) = rt.block_on(async {
                    let engine = Engine::connect(&EngineOptions::from_env(&|k| std::env::var(k).ok())).await?;
                    let ips = engine.container_ips(&resolved.project_name).await?;
                    anyhow::Ok((ips, engine.project_containers(&resolved.project_name).await?))
                })?;
                // A service with a container (in any state) is deployed: checked, and a stopped
                // one fails. One without a container was never started here: not deployed (a
                // failure with --require-all).
                let deployed = |s: &str| containers.iter().any(|c| c.service == s);
                let (run, never) = docker_checks_by_deployment(project, &resolved.services, &deployed, &Addresses { container_ips: ips });
                let why = format!("no container in project {}: never started here", resolved.project_name);
                absent = never.into_iter().map(|c| (c, why.clone())).collect();
                run
            }
            Kind::Cloud => {
                let vars = infra.vars(&cx.env).map_err(|d| anyhow::anyhow!("{d}"))?;
                let (checks, missing) = cloud_checks(&|k| vars.get(k));
                if !missing.is_empty() {
                    let file = vars.source.as_ref().map(|s| s.to_string()).unwrap_or_else(|| "the environment's env file".to_owned());
                    note(&format!("warning: no check for {} (not set in {file} or the environment)", missing.join(", ")));
                }
                note("note: the services of a cloud environment are checked through the Kubernetes driver, which is not implemented yet");
                checks
            }
        };
        if !args.only.is_empty() {
            let names: Vec<String> = checks.iter().chain(absent.iter().map(|(c, _)| c)).map(|c| c.name.clone()).collect();
            for wanted in &args.only {
                if !names.contains(wanted) {
                    let hint = stack_config::suggest::did_you_mean(wanted, names.iter().map(String::as_str)).unwrap_or_default();
                    bail!("no check named `{wanted}` in environment `{}`\n  help: {hint}", cx.env);
                }
            }
            checks.retain(|c| args.only.contains(&c.name));
            absent.retain(|(c, _)| args.only.contains(&c.name));
        }
        if checks.is_empty() && absent.is_empty() {
            bail!("environment `{}` has nothing to check", cx.env);
        }
        let policy = RetryPolicy { deadline: Duration::from_secs(args.deadline.max(1)), ..RetryPolicy::default() };
        let mut ran = rt.block_on(run_all(&checks, &policy)).checks;
        ran.extend(absent.iter().map(|(c, why)| {
            let mut report = stack_health::CheckReport::not_deployed(c, why);
            if args.require_all {
                report.status = stack_health::Status::Fail;
                report.last_error = Some(format!("{why} (--require-all)"));
                report.detail = None;
            }
            report
        }));
        let report = stack_health::Report::new(ran);
        if cx.out.is_json() {
            cx.out.json(&report)?;
        } else {
            cx.out.text(&report.to_string())?;
        }
        if !report.ok {
            let failed: Vec<String> =
                report.checks.iter().filter(|c| c.status == stack_health::Status::Fail).map(|c| c.name.clone()).collect();
            note(&format!("error: {} failed: {}", if failed.len() == 1 { "1 check" } else { "checks" }, failed.join(", ")));
            return Ok(ExitCode::FAILURE);
        }
        Ok(ExitCode::SUCCESS)
    }
}

#[cfg(not(feature = "full"))]
mod full {
    use std::process::ExitCode;

    use crate::Context;
    use crate::flags::Health;

    /// Unreachable in practice: `ensure_full` re-runs a `full` build first.
    pub fn run(_: &Context, _: Health) -> anyhow::Result<ExitCode> {
        anyhow::bail!("`health` needs the `full` feature")
    }
}
