//! `health`: the checks of one environment built from what runs there — a Docker environment's
//! containers (a service without one is "not deployed"); a minikube or cloud environment's
//! cluster, then its host or managed stores — narrowed to the names asked for, run concurrently
//! under a retry policy into one report (feature `health`; the cluster's part needs `cluster`).

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

/// Plans and runs the checks of environment `env`; the report says which failed. A minikube or
/// cloud environment's cluster comes first (feature `cluster`): each workload's readiness
/// (naming the pods that are not ready), every service's `/health` through the API server,
/// the Jobs, the in-cluster data stores (the smoke tests, [`crate::smoke`]); then its host or
/// managed data stores.
pub fn run(infra: &Infra, env: &str, options: &Options, console: &Console<'_>) -> Result<Report, Error> {
    let environment = infra.environments.get(env)?;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let docker = |short: &str| -> Result<Plan, Error> {
        let (resolved, _) = infra.resolve(env, short)?;
        let (ips, containers) = rt.block_on(async {
            let engine = Engine::connect(&EngineOptions::from_env(&|k| std::env::var(k).ok())).await?;
            let project = &resolved.project_name;
            Ok::<_, stack_compose::Error>((engine.container_ips(project).await?, engine.project_containers(project).await?))
        })?;
        Ok(Plan::docker(&resolved, &|s| containers.iter().any(|c| c.service == s), &Addresses { container_ips: ips })?)
    };
    let mut plan = match environment.kind {
        Kind::Docker => docker("s_a_dbs_s")?,
        Kind::Minikube => docker(crate::minikube::DATABASES)?,
        Kind::Cloud => {
            let vars = infra.vars(env)?;
            let (plan, missing) = Plan::cloud(&|k| vars.get(k));
            if !missing.is_empty() {
                let file = vars.source.as_ref().map_or_else(|| "the environment's env file".to_owned(), |s| s.to_string());
                console.progress(&format!("warning: no check for {} (not set in {file} or the environment)", missing.join(", ")));
            }
            plan
        }
    };
    let policy = RetryPolicy { deadline: options.deadline.max(Duration::from_secs(1)), ..RetryPolicy::default() };
    let mut cluster = match environment.kind {
        Kind::Docker => Vec::new(),
        Kind::Minikube | Kind::Cloud => cluster_checks(infra, env, &policy, console)?,
    };
    // `--only`: names of the cluster's checks, then of the plan's.
    if !options.only.is_empty() {
        let (ours, rest): (Vec<String>, Vec<String>) = options.only.iter().cloned().partition(|n| cluster.iter().any(|c| &c.name == n));
        cluster.retain(|c| ours.contains(&c.name));
        if rest.is_empty() {
            plan = Plan::default();
        } else {
            plan.only(&rest).map_err(|e| {
                let hint = e.hint.or_else(|| stack_config::suggest::did_you_mean(&e.name, cluster.iter().map(|c| c.name.as_str())));
                format!("no check named `{}` in environment `{env}`\n  help: {}", e.name, hint.unwrap_or_default())
            })?;
        }
    }
    if plan.is_empty() && cluster.is_empty() {
        return Err(format!("environment `{env}` has nothing to check").into());
    }
    let mut report = rt.block_on(plan.run(&policy, options.absent));
    cluster.append(&mut report.checks);
    Ok(Report::new(cluster))
}

/// The cluster's checks of a minikube or cloud environment: read only.
#[cfg(feature = "cluster")]
fn cluster_checks(infra: &Infra, env: &str, policy: &RetryPolicy, console: &Console<'_>) -> Result<Vec<stack_health::CheckReport>, Error> {
    use stack_k8s::cluster::rollout::WorkloadKind;
    use stack_k8s::cluster::session::{Mode, Purpose, Session, Target};
    let target = Target { overlay: crate::release::overlay_for(infra, env, None)?, context: None, images: None };
    crate::block_on("checking the cluster", async {
        let (session, notes) = Session::for_overlay(infra, &target, Purpose::Inspect, Mode::Change).await?;
        notes.iter().for_each(|n| console.progress(n));
        console.progress(&session.connected());
        let status = session.status().await?;
        let mut checks = Vec::new();
        for (w, row) in session.workloads().iter().zip(&status.workloads).filter(|(w, _)| w.kind != WorkloadKind::Job) {
            let problem = if !row.exists {
                Some(format!("{w} does not exist in namespace {}: `k8s apply` creates it", session.namespace()))
            } else if row.desired == 0 {
                Some(format!("{w} is scaled to zero (0 replicas desired): `k8s scale {} N` or `k8s apply` scales it back", row.name))
            } else if !row.is_ready {
                let pods = session.unready_pods(w).await?;
                let pods: Vec<String> = pods.iter().map(|(pod, why)| format!("pod {pod}: {why}")).collect();
                Some(format!(
                    "{w}: {} of {} ready ({}){}",
                    row.ready,
                    row.desired,
                    row.state,
                    pods.iter().map(|p| format!("; {p}")).collect::<String>()
                ))
            } else {
                None
            };
            checks.push(stack_health::CheckReport {
                name: w.to_string(),
                target: format!("{w} in namespace {}: every replica ready", session.namespace()),
                status: if problem.is_some() { stack_health::Status::Fail } else { stack_health::Status::Pass },
                attempts: 1,
                latency_ms: 0,
                elapsed_ms: 0,
                detail: Some(format!("{} of {} ready", row.ready, row.desired)),
                last_error: problem,
            });
        }
        let smoke = crate::smoke::run(&session, &crate::smoke::Options { deadline: policy.deadline }).await?;
        smoke
            .skipped
            .iter()
            .for_each(|s| console.progress(&format!("note: {} is checked below, not from the cluster: {}", s.name, s.reason)));
        checks.extend(smoke.checks);
        Ok(checks)
    })
}

#[cfg(not(feature = "cluster"))]
fn cluster_checks(_: &Infra, env: &str, _: &RetryPolicy, _: &Console<'_>) -> Result<Vec<stack_health::CheckReport>, Error> {
    Err(format!("the cluster checks of environment `{env}` need stack-ops' `cluster` feature").into())
}
