//! `cargo xtask health [--env E] [--only NAME] [--require-all] [--output json]`: the health
//! checks of an environment ([`stack_health::plan::Plan`]), run concurrently under a retry
//! policy; exit 0 only when every check passes. The probe clients are heavy: the `full` build
//! only (gated in `main`).

use std::process::ExitCode;
use std::time::Duration;

use anyhow::bail;
use stack_compose::{Engine, EngineOptions};
use stack_config::environment::Kind;
use stack_health::RetryPolicy;
use stack_health::plan::{Absent, Plan};
use stack_health::targets::Addresses;

use crate::Context;
use crate::backend::runtime;
use crate::flags::Health;

pub fn run(cx: &Context, args: Health) -> anyhow::Result<ExitCode> {
    let infra = cx.load()?;
    let env = infra.environments.get(&cx.env)?.clone();
    let rt = runtime()?;
    let mut plan = match env.kind {
        Kind::Docker => {
            let (resolved, _) = infra.resolve(&cx.env, "s_a_dbs_s")?;
            let (ips, containers) = rt.block_on(async {
                let engine = Engine::connect(&EngineOptions::from_env(&|k| std::env::var(k).ok())).await?;
                anyhow::Ok((engine.container_ips(&resolved.project_name).await?, engine.project_containers(&resolved.project_name).await?))
            })?;
            Plan::docker(&resolved, &|s| containers.iter().any(|c| c.service == s), &Addresses { container_ips: ips })?
        }
        Kind::Cloud => {
            let vars = infra.vars(&cx.env)?;
            let (plan, missing) = Plan::cloud(&|k| vars.get(k));
            if !missing.is_empty() {
                let file = vars.source.as_ref().map(|s| s.to_string()).unwrap_or_else(|| "the environment's env file".to_owned());
                cx.progress(&format!("warning: no check for {} (not set in {file} or the environment)", missing.join(", ")));
            }
            cx.progress(
                "note: the services of a cloud environment are checked through the Kubernetes driver, which is not implemented yet",
            );
            plan
        }
    };
    if let Err(e) = plan.only(&args.only) {
        bail!("no check named `{}` in environment `{}`\n  help: {}", e.name, cx.env, e.hint.unwrap_or_default());
    }
    if plan.is_empty() {
        bail!("environment `{}` has nothing to check", cx.env);
    }
    let policy = RetryPolicy { deadline: Duration::from_secs(args.deadline.max(1)), ..RetryPolicy::default() };
    let report = rt.block_on(plan.run(&policy, if args.require_all { Absent::Fails } else { Absent::Allowed }));
    cx.out.print(&report)?;
    if !report.ok {
        let failed: Vec<&str> = report.failures().map(|c| c.name.as_str()).collect();
        crate::output::note(&format!("error: {} failed: {}", if failed.len() == 1 { "1 check" } else { "checks" }, failed.join(", ")));
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
