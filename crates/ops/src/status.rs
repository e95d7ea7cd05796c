//! `status --env E` for the environments that run on a cluster (feature `cluster`): the
//! overlay's workloads, plus the host data stores of a minikube environment or (feature `aws`)
//! the EKS cluster and node groups of a cloud one — one report, read only. Docker
//! environments' status is [`stack_compose::Engine::status_report`].

use std::fmt;

use serde::Serialize;
use stack_compose::{Engine, EngineOptions};
use stack_config::Infra;
use stack_config::environment::Kind;
use stack_k8s::cluster::rollout::WorkloadKind;
use stack_k8s::cluster::session::{Mode, Purpose, Session, StatusReport as Workloads, Target};

use crate::{Console, Error};

/// What runs for one environment on a cluster.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusReport {
    pub environment: String,
    pub kind: Kind,
    pub workloads: Workloads,
    /// A minikube environment's data stores on the host's Docker.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_stores: Option<stack_compose::observe::StatusReport>,
    /// A cloud environment's EKS cluster and node groups.
    #[cfg(feature = "aws")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eks: Option<stack_cloud::eks::StatusReport>,
    /// What makes the environment not ok, one line each.
    pub problems: Vec<String>,
    pub ok: bool,
}

impl fmt::Display for StatusReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.workloads)?;
        if let Some(host) = &self.host_stores {
            writeln!(f, "host data stores (compose project {}):", host.project)?;
            writeln!(f, "{host}")?;
        }
        #[cfg(feature = "aws")]
        if let Some(eks) = &self.eks {
            writeln!(f, "{eks}")?;
        }
        for p in &self.problems {
            writeln!(f, "problem: {p}")?;
        }
        Ok(())
    }
}

/// The status of environment `env` (a minikube or cloud one) on the cluster of `context`
/// (`None`: the current one).
pub fn run(infra: &Infra, env: &str, context: Option<String>, console: &Console<'_>) -> Result<StatusReport, Error> {
    let environment = infra.environments.get(env)?;
    let kind = environment.kind;
    if kind == Kind::Docker {
        return Err(format!("environment `{env}` runs on Docker: its status is the compose project's").into());
    }
    let target = Target { overlay: crate::release::overlay_for(infra, env, None)?, context, images: None };
    let host_services = match kind {
        Kind::Minikube => Some(infra.resolve(env, crate::minikube::DATABASES)?.0),
        _ => None,
    };
    crate::block_on("reading the status", async {
        let (session, notes) = Session::for_overlay(infra, &target, Purpose::Inspect, Mode::Change).await?;
        notes.iter().for_each(|n| console.progress(n));
        let workloads = session.status().await?;
        let host_stores = match &host_services {
            Some(resolved) => {
                let engine = Engine::connect(&EngineOptions::from_env(&|k| std::env::var(k).ok())).await?;
                Some(engine.status_report(&resolved.project_name, Some(&resolved.services)).await?)
            }
            None => None,
        };
        let mut problems: Vec<String> = workloads
            .workloads
            .iter()
            .filter_map(|w| match (w.is_ready, w.desired) {
                (false, _) => Some(format!("{} {}/{} is {}", format!("{:?}", w.kind).to_lowercase(), w.name, w.ready, w.state)),
                (true, 0) if w.kind != WorkloadKind::Job => {
                    Some(format!("{} {} is scaled to zero", format!("{:?}", w.kind).to_lowercase(), w.name))
                }
                _ => None,
            })
            .collect();
        match &host_stores {
            Some(h) if h.containers.is_empty() => {
                problems.push(format!("no host data store runs in compose project {}: `db start` starts them", h.project))
            }
            Some(h) if !h.ok() => problems.push(format!("a host data store of compose project {} is unhealthy or stopped", h.project)),
            _ => {}
        }
        #[cfg(feature = "aws")]
        let eks = match &environment.cluster {
            Some(cluster) if kind == Kind::Cloud => {
                let options = stack_cloud::eks::Options { region: cluster.region.clone(), endpoint_url: None };
                let report = stack_cloud::eks::status(&options, env, &cluster.name, None).await?;
                if !report.is_active() {
                    problems.push(format!("EKS cluster {} is {}", cluster.name, report.cluster.status));
                }
                Some(report)
            }
            _ => None,
        };
        Ok(StatusReport {
            environment: env.to_owned(),
            kind,
            workloads,
            host_stores,
            #[cfg(feature = "aws")]
            eks,
            ok: problems.is_empty(),
            problems,
        })
    })
}
