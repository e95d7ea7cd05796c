//! A Kubernetes catalogue entry (`k8s_minikube`, `k8s_cloud` and their `d_` twins): the entry's
//! pre-commands, the apply (or, for a `delete` entry, the namespace delete) of its overlay on the
//! kubeconfig's current context — so the wrong-cluster guard applies — and then its
//! post-commands, only when that succeeded (feature `cluster`).

use std::time::Duration;

use serde::Serialize;
use stack_config::Infra;
use stack_config::deployment::DeployCommand;
use stack_config::infra::Resolved;
use stack_k8s::cluster::session::{Apply, ApplyReport, DeleteReport, Mode, Purpose, Session, Target};

use crate::{Console, Error};

/// What the entry did: its apply or its delete. JSON: that report.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Report {
    Applied(ApplyReport),
    Deleted(DeleteReport),
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Report::Applied(r) => r.fmt(f),
            Report::Deleted(r) => r.fmt(f),
        }
    }
}

/// Runs the entry; `report` gets the apply's or delete's report as soon as there is one (also
/// for a failed rollout, which then ends the run as an error without the post-commands).
/// Returns the exit code of the entry's commands (0).
pub fn run(
    infra: &Infra,
    resolved: &Resolved,
    mode: Mode,
    wait: Duration,
    console: &Console<'_>,
    report: &mut dyn FnMut(&Report),
) -> Result<u8, Error> {
    let overlay = resolved.target.overlay.clone().ok_or("a kubernetes deployment without an overlay")?;
    let target = Target { overlay, context: None, images: None };
    stack_compose::hooks::run_entry(resolved, infra.repo_root().as_std_path(), &|l| console.progress(l), || -> Result<u8, Error> {
        if resolved.target.deploy_command != DeployCommand::Delete {
            let mut applied =
                crate::block_on("applying the overlay", crate::cluster::apply(infra, &target, mode, &Apply::waiting(Some(wait)), console))?;
            let failure = applied.failure();
            report(&Report::Applied(applied));
            return failure.map_or(Ok(0), |e| Err(e.into()));
        }
        let deleted = crate::block_on::<_, Error>("deleting", async {
            let (session, notes) = Session::for_overlay(infra, &target, Purpose::Inspect, mode).await?;
            notes.iter().for_each(|n| console.progress(n));
            Ok(session.delete(wait).await?)
        })?;
        report(&Report::Deleted(deleted));
        Ok(0)
    })
}
