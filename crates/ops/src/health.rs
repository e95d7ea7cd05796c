//! `health`: the checks of one environment ([`stack_health::plan::Plan`]) built from what runs
//! there — a Docker environment's containers (a service without one is "not deployed"), a cloud
//! environment's managed stores — narrowed to the names asked for, run concurrently under a
//! retry policy into one report (feature `health`).

use std::time::Duration;

use stack_compose::{Engine, EngineOptions};
use stack_config::Infra;
use stack_config::environment::Kind;
use stack_health::plan::{Absent, Plan};
use stack_health::targets::Addresses;
use stack_health::{Report, RetryPolicy};

use crate::{Console, Error};

/// Which checks, how long, and whether services that were never deployed fail.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Only these checks (all when empty).
    pub only: Vec<String>,
    /// The overall deadline of each check.
    pub deadline: Duration,
    pub absent: Absent,
}

/// Plans and runs the checks of environment `env`; the report says which failed.
pub fn run(infra: &Infra, env: &str, options: &Options, console: &Console<'_>) -> Result<Report, Error> {
    let kind = infra.environments.get(env)?.kind;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let mut plan = match kind {
        Kind::Docker => {
            let (resolved, _) = infra.resolve(env, "s_a_dbs_s")?;
            let (ips, containers) = rt.block_on(async {
                let engine = Engine::connect(&EngineOptions::from_env(&|k| std::env::var(k).ok())).await?;
                let project = &resolved.project_name;
                Ok::<_, stack_compose::Error>((engine.container_ips(project).await?, engine.project_containers(project).await?))
            })?;
            Plan::docker(&resolved, &|s| containers.iter().any(|c| c.service == s), &Addresses { container_ips: ips })?
        }
        Kind::Cloud => {
            let vars = infra.vars(env)?;
            let (plan, missing) = Plan::cloud(&|k| vars.get(k));
            if !missing.is_empty() {
                let file = vars.source.as_ref().map_or_else(|| "the environment's env file".to_owned(), |s| s.to_string());
                console.progress(&format!("warning: no check for {} (not set in {file} or the environment)", missing.join(", ")));
            }
            console.progress(
                "note: the services of a cloud environment are checked through the Kubernetes driver, which is not implemented yet",
            );
            plan
        }
    };
    plan.only(&options.only)
        .map_err(|e| format!("no check named `{}` in environment `{env}`\n  help: {}", e.name, e.hint.unwrap_or_default()))?;
    if plan.is_empty() {
        return Err(format!("environment `{env}` has nothing to check").into());
    }
    let policy = RetryPolicy { deadline: options.deadline.max(Duration::from_secs(1)), ..RetryPolicy::default() };
    Ok(rt.block_on(plan.run(&policy, options.absent)))
}
