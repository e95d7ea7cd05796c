//! Rollout waits with `kubectl rollout status` semantics, failing fast.
//!
//! - Deployment: the controller observed the newest generation, every replica is updated and
//!   available, no old replica is left; `ProgressDeadlineExceeded` fails.
//! - StatefulSet: observed generation, every replica ready and on the update revision.
//! - Job: the `Complete` condition; `Failed` fails.
//!
//! On every poll the workload's current pods are inspected: a container waiting in
//! CrashLoopBackOff, ImagePullBackOff, ErrImagePull, ErrImageNeverPull, InvalidImageName or a
//! container-config error fails the wait at once, with the pod's events and its last log lines.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::{Api, ListParams, LogParams};
use serde::Serialize;

use super::{ObjectRef, api_error};
use crate::error::{Error, Result};

/// Waiting reasons that never resolve on their own.
const FATAL_WAITING: &[&str] = &[
    "CrashLoopBackOff",
    "ImagePullBackOff",
    "ErrImagePull",
    "ErrImageNeverPull",
    "InvalidImageName",
    "CreateContainerConfigError",
    "CreateContainerError",
    "RunContainerError",
];

/// The state of a workload whose controller has not yet observed its newest generation.
const NOT_OBSERVED: &str = "waiting for the controller to observe the new spec";

/// Log lines of a failing pod put into the error.
const LOG_LINES: i64 = 20;
/// Events of a failing pod put into the error.
const EVENTS: usize = 8;

/// A workload to wait for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Workload {
    pub kind: WorkloadKind,
    pub namespace: String,
    pub name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum WorkloadKind {
    Deployment,
    StatefulSet,
    Job,
}

impl WorkloadKind {
    /// The kind of a rendered object, if it is one we wait for.
    pub fn of(object: &ObjectRef) -> Option<WorkloadKind> {
        match (object.api_version.as_str(), object.kind.as_str()) {
            ("apps/v1", "Deployment") => Some(WorkloadKind::Deployment),
            ("apps/v1", "StatefulSet") => Some(WorkloadKind::StatefulSet),
            ("batch/v1", "Job") => Some(WorkloadKind::Job),
            _ => None,
        }
    }
}

impl std::fmt::Display for Workload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.kind {
            WorkloadKind::Deployment => "deployment",
            WorkloadKind::StatefulSet => "statefulset",
            WorkloadKind::Job => "job",
        };
        write!(f, "{kind}/{}", self.name)
    }
}

/// Where a workload stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// Still rolling out: what it waits for.
    Progressing(String),
    /// Rolled out (or completed).
    Done(String),
}

/// Polls every workload until all are done, one fails, or `timeout` passes. `progress` gets
/// each workload's state whenever it changes.
pub async fn wait_all(
    client: &kube::Client,
    workloads: &[Workload],
    timeout: Duration,
    progress: &mut dyn FnMut(&Workload, &State),
) -> Result<()> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut last: BTreeMap<String, State> = BTreeMap::new();
    loop {
        let mut pending = Vec::new();
        for w in workloads {
            if matches!(last.get(&w.to_string()), Some(State::Done(_))) {
                continue;
            }
            let state = check(client, w).await?;
            if last.get(&w.to_string()) != Some(&state) {
                progress(w, &state);
                last.insert(w.to_string(), state.clone());
            }
            if let State::Progressing(why) = state {
                pending.push((w, why));
            }
        }
        if pending.is_empty() {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            let (w, why) = &pending[0];
            let pods = pods_of(client, w).await?;
            let unready: Vec<&Pod> = pods.iter().filter(|p| !pod_ready(p)).collect();
            let details = match unready.first().copied().or(pods.first()) {
                Some(pod) => pod_details(client, &w.namespace, pod, false).await,
                None => String::new(),
            };
            let others = pending.iter().skip(1).map(|(w, why)| format!("\n  also waiting: {w}: {why}")).collect::<String>();
            return Err(Error::Rollout {
                resource: w.to_string(),
                reason: format!("not rolled out after {}s: {why}{others}", timeout.as_secs()),
                details,
            });
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// One look at a workload: its state, or the error that fails it.
pub async fn check(client: &kube::Client, w: &Workload) -> Result<State> {
    let state = match w.kind {
        WorkloadKind::Deployment => deployment_state(client, w).await?,
        WorkloadKind::StatefulSet => statefulset_state(client, w).await?,
        WorkloadKind::Job => job_state(client, w).await?,
    };
    // Until the controller has seen the new spec, the "current" pods are still the old ones:
    // judging them would blame the previous revision (a rollback right after a failure).
    if matches!(&state, State::Progressing(why) if why != NOT_OBSERVED) {
        for pod in pods_of(client, w).await? {
            if let Some((container, reason, message)) = fatal_waiting(&pod) {
                let name = pod.metadata.name.clone().unwrap_or_default();
                let crashed = reason == "CrashLoopBackOff";
                return Err(Error::Rollout {
                    resource: w.to_string(),
                    reason: format!(
                        "container `{container}` of pod {name} is in {reason}{}",
                        if message.is_empty() { String::new() } else { format!(": {message}") }
                    ),
                    details: pod_details(client, &w.namespace, &pod, crashed).await,
                });
            }
        }
    }
    Ok(state)
}

async fn deployment_state(client: &kube::Client, w: &Workload) -> Result<State> {
    let api: Api<Deployment> = Api::namespaced(client.clone(), &w.namespace);
    let Some(d) = api.get_opt(&w.name).await.map_err(|e| api_error("read", w, e))? else {
        return Ok(State::Progressing("not created yet".to_owned()));
    };
    let status = d.status.clone().unwrap_or_default();
    if d.metadata.generation > status.observed_generation {
        return Ok(State::Progressing(NOT_OBSERVED.to_owned()));
    }
    if let Some(c) =
        status.conditions.iter().flatten().find(|c| c.type_ == "Progressing" && c.reason.as_deref() == Some("ProgressDeadlineExceeded"))
    {
        let pods = pods_of(client, w).await?;
        let details = match pods.iter().find(|p| !pod_ready(p)) {
            Some(pod) => pod_details(client, &w.namespace, pod, false).await,
            None => String::new(),
        };
        return Err(Error::Rollout {
            resource: w.to_string(),
            reason: format!("progress deadline exceeded: {}", c.message.clone().unwrap_or_default()),
            details,
        });
    }
    let desired = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    let updated = status.updated_replicas.unwrap_or(0);
    let total = status.replicas.unwrap_or(0);
    let available = status.available_replicas.unwrap_or(0);
    Ok(if updated < desired {
        State::Progressing(format!("{updated} of {desired} replicas updated"))
    } else if total > updated {
        State::Progressing(format!("{} old replicas pending termination", total - updated))
    } else if available < updated {
        State::Progressing(format!("{available} of {updated} updated replicas available"))
    } else {
        State::Done(format!("{available}/{desired} available"))
    })
}

async fn statefulset_state(client: &kube::Client, w: &Workload) -> Result<State> {
    let api: Api<StatefulSet> = Api::namespaced(client.clone(), &w.namespace);
    let Some(s) = api.get_opt(&w.name).await.map_err(|e| api_error("read", w, e))? else {
        return Ok(State::Progressing("not created yet".to_owned()));
    };
    let status = s.status.clone().unwrap_or_default();
    if status.observed_generation.is_none() || s.metadata.generation > status.observed_generation {
        return Ok(State::Progressing(NOT_OBSERVED.to_owned()));
    }
    let desired = s.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    let ready = status.ready_replicas.unwrap_or(0);
    let partition = s
        .spec
        .as_ref()
        .and_then(|s| s.update_strategy.as_ref())
        .and_then(|u| u.rolling_update.as_ref())
        .and_then(|r| r.partition)
        .unwrap_or(0);
    let updated = status.updated_replicas.unwrap_or(0);
    Ok(if ready < desired {
        State::Progressing(format!("{ready} of {desired} replicas ready"))
    } else if partition > 0 && updated < desired - partition {
        State::Progressing(format!("{updated} of {} replicas updated (partition {partition})", desired - partition))
    } else if partition == 0 && status.update_revision.is_some() && status.update_revision != status.current_revision {
        State::Progressing(format!("{updated} of {desired} replicas on the new revision"))
    } else {
        State::Done(format!("{ready}/{desired} ready"))
    })
}

async fn job_state(client: &kube::Client, w: &Workload) -> Result<State> {
    let api: Api<Job> = Api::namespaced(client.clone(), &w.namespace);
    let Some(job) = api.get_opt(&w.name).await.map_err(|e| api_error("read", w, e))? else {
        return Ok(State::Progressing("not created yet".to_owned()));
    };
    let status = job.status.clone().unwrap_or_default();
    let conditions = status.conditions.unwrap_or_default();
    if conditions.iter().any(|c| c.type_ == "Complete" && c.status == "True") {
        return Ok(State::Done(format!("completed ({} succeeded)", status.succeeded.unwrap_or(0))));
    }
    if let Some(c) = conditions.iter().find(|c| c.type_ == "Failed" && c.status == "True") {
        let pods = pods_of(client, w).await?;
        // The newest failed pod says most.
        let failed = pods
            .iter()
            .filter(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Failed"))
            .max_by_key(|p| p.metadata.creation_timestamp.clone());
        let details = match failed.or(pods.first()) {
            Some(pod) => pod_details(client, &w.namespace, pod, false).await,
            None => String::new(),
        };
        return Err(Error::Rollout {
            resource: w.to_string(),
            reason: format!("the Job failed ({}): {}", c.reason.clone().unwrap_or_default(), c.message.clone().unwrap_or_default()),
            details,
        });
    }
    Ok(State::Progressing(format!("{} active, {} failed", status.active.unwrap_or(0), status.failed.unwrap_or(0))))
}

/// The pods a wait looks at: a Deployment's current ReplicaSet's pods, a StatefulSet's pods, a
/// Job's pods.
pub async fn pods_of(client: &kube::Client, w: &Workload) -> Result<Vec<Pod>> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), &w.namespace);
    let list = |selector: String| {
        let pods = pods.clone();
        async move { pods.list(&ListParams::default().labels(&selector)).await.map(|l| l.items) }
    };
    let found = match w.kind {
        WorkloadKind::Job => list(format!("job-name={}", w.name)).await,
        WorkloadKind::StatefulSet => {
            let api: Api<StatefulSet> = Api::namespaced(client.clone(), &w.namespace);
            let Some(s) = api.get_opt(&w.name).await.map_err(|e| api_error("read", w, e))? else { return Ok(Vec::new()) };
            let selector = s.spec.map(|s| selector_string(s.selector.match_labels.unwrap_or_default())).unwrap_or_default();
            list(selector).await
        }
        WorkloadKind::Deployment => {
            let api: Api<Deployment> = Api::namespaced(client.clone(), &w.namespace);
            let Some(d) = api.get_opt(&w.name).await.map_err(|e| api_error("read", w, e))? else { return Ok(Vec::new()) };
            let selector =
                d.spec.as_ref().map(|s| selector_string(s.selector.match_labels.clone().unwrap_or_default())).unwrap_or_default();
            let hash = current_template_hash(client, &d, &selector).await?;
            list(selector).await.map(|pods| {
                pods.into_iter()
                    .filter(|p| hash.is_none() || p.metadata.labels.as_ref().and_then(|l| l.get("pod-template-hash")) == hash.as_ref())
                    .collect()
            })
        }
    };
    found.map_err(|e| api_error("list pods of", w, e))
}

/// The label selector of all of a workload's pods (every revision).
pub async fn selector_of(client: &kube::Client, w: &Workload) -> Result<String> {
    let missing =
        || Error::NotFound { what: format!("{w} in namespace {}", w.namespace), help: Some("apply the overlay first".to_owned()) };
    Ok(match w.kind {
        WorkloadKind::Job => format!("job-name={}", w.name),
        WorkloadKind::StatefulSet => {
            let api: Api<StatefulSet> = Api::namespaced(client.clone(), &w.namespace);
            let s = api.get_opt(&w.name).await.map_err(|e| api_error("read", w, e))?.ok_or_else(missing)?;
            s.spec.map(|s| selector_string(s.selector.match_labels.unwrap_or_default())).unwrap_or_default()
        }
        WorkloadKind::Deployment => {
            let api: Api<Deployment> = Api::namespaced(client.clone(), &w.namespace);
            let d = api.get_opt(&w.name).await.map_err(|e| api_error("read", w, e))?.ok_or_else(missing)?;
            d.spec.map(|s| selector_string(s.selector.match_labels.unwrap_or_default())).unwrap_or_default()
        }
    })
}

/// `a=b,c=d` from match labels.
pub fn selector_string(labels: BTreeMap<String, String>) -> String {
    labels.into_iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",")
}

/// The `pod-template-hash` of the Deployment's ReplicaSet at its current revision.
async fn current_template_hash(client: &kube::Client, d: &Deployment, selector: &str) -> Result<Option<String>> {
    let revision = d.metadata.annotations.as_ref().and_then(|a| a.get("deployment.kubernetes.io/revision")).cloned();
    let Some(revision) = revision else { return Ok(None) };
    let namespace = d.metadata.namespace.clone().unwrap_or_default();
    let api: Api<ReplicaSet> = Api::namespaced(client.clone(), &namespace);
    let name = d.metadata.name.clone().unwrap_or_default();
    let sets = api
        .list(&ListParams::default().labels(selector))
        .await
        .map_err(|e| api_error("list replicasets of", format!("deployment/{name}"), e))?;
    Ok(sets
        .items
        .into_iter()
        .filter(|rs| rs.metadata.owner_references.iter().flatten().any(|o| o.kind == "Deployment" && o.name == name))
        .find(|rs| rs.metadata.annotations.as_ref().and_then(|a| a.get("deployment.kubernetes.io/revision")) == Some(&revision))
        .and_then(|rs| rs.metadata.labels.and_then(|mut l| l.remove("pod-template-hash"))))
}

/// A container (or init container) waiting for a reason that will not pass: (container,
/// reason, message).
pub fn fatal_waiting(pod: &Pod) -> Option<(String, String, String)> {
    let status = pod.status.as_ref()?;
    status.init_container_statuses.iter().flatten().chain(status.container_statuses.iter().flatten()).find_map(|c| {
        let waiting = c.state.as_ref()?.waiting.as_ref()?;
        let reason = waiting.reason.clone()?;
        FATAL_WAITING.contains(&reason.as_str()).then(|| (c.name.clone(), reason, waiting.message.clone().unwrap_or_default()))
    })
}

/// Whether the pod's Ready condition is true.
pub fn pod_ready(pod: &Pod) -> bool {
    pod.status.as_ref().and_then(|s| s.conditions.as_ref()).is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// The pod's recent events and the last log lines of its first non-ready container, indented,
/// for an error message. API failures here are reported inline, never hide the error itself.
pub async fn pod_details(client: &kube::Client, namespace: &str, pod: &Pod, previous: bool) -> String {
    let name = pod.metadata.name.clone().unwrap_or_default();
    let mut out = format!("  pod {name}:");
    let events: Api<Event> = Api::namespaced(client.clone(), namespace);
    let selector = ListParams::default().fields(&format!("involvedObject.name={name}"));
    match events.list(&selector).await {
        Ok(list) => {
            let mut items = list.items;
            items.sort_by_key(|e| e.last_timestamp.clone().or(e.first_timestamp.clone()));
            let skip = items.len().saturating_sub(EVENTS);
            for e in items.into_iter().skip(skip) {
                let count = e.count.filter(|c| *c > 1).map(|c| format!(" (x{c})")).unwrap_or_default();
                out.push_str(&format!(
                    "\n    event: {} {}: {}{count}",
                    e.type_.unwrap_or_default(),
                    e.reason.unwrap_or_default(),
                    e.message.unwrap_or_default().trim()
                ));
            }
        }
        Err(e) => out.push_str(&format!("\n    (cannot list its events: {e})")),
    }
    let statuses = pod.status.as_ref().and_then(|s| s.container_statuses.clone()).unwrap_or_default();
    let container = statuses.iter().find(|c| !c.ready).or(statuses.first()).map(|c| c.name.clone());
    let started =
        statuses.iter().any(|c| c.restart_count > 0 || c.state.as_ref().is_some_and(|s| s.running.is_some() || s.terminated.is_some()));
    if let (Some(container), true) = (container, started) {
        let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
        let params =
            |previous| LogParams { container: Some(container.clone()), tail_lines: Some(LOG_LINES), previous, ..LogParams::default() };
        let logs = match pods.logs(&name, &params(previous)).await {
            Ok(text) => Ok(text),
            Err(_) if previous => pods.logs(&name, &params(false)).await,
            Err(e) => Err(e),
        };
        match logs {
            Ok(text) if text.trim().is_empty() => out.push_str(&format!("\n    (container {container} logged nothing)")),
            Ok(text) => {
                for line in text.lines() {
                    out.push_str(&format!("\n    log {container}: {line}"));
                }
            }
            Err(e) => out.push_str(&format!("\n    (cannot read the logs of {container}: {e})")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn pod(json: serde_json::Value) -> Pod {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn fatal_waiting_reasons_are_found_in_init_and_app_containers() {
        let p = pod(serde_json::json!({
            "metadata": {"name": "p"},
            "status": {"containerStatuses": [
                {"name": "ok", "ready": true, "restartCount": 0, "image": "i", "imageID": "", "state": {"running": {}}},
                {"name": "bad", "ready": false, "restartCount": 0, "image": "i", "imageID": "", "state": {"waiting": {"reason": "ErrImageNeverPull", "message": "Container image \"x:dev\" is not present with pull policy of Never"}}}
            ]}
        }));
        let (container, reason, message) = fatal_waiting(&p).unwrap();
        assert_eq!((container.as_str(), reason.as_str()), ("bad", "ErrImageNeverPull"));
        assert!(message.contains("not present"));
        let init = pod(serde_json::json!({
            "metadata": {"name": "p"},
            "status": {"initContainerStatuses": [
                {"name": "init", "ready": false, "restartCount": 3, "image": "i", "imageID": "", "state": {"waiting": {"reason": "CrashLoopBackOff"}}}
            ]}
        }));
        assert_eq!(fatal_waiting(&init).unwrap().1, "CrashLoopBackOff");
    }

    #[test]
    fn ordinary_waiting_is_not_fatal() {
        let p = pod(serde_json::json!({
            "metadata": {"name": "p"},
            "status": {"containerStatuses": [
                {"name": "c", "ready": false, "restartCount": 0, "image": "i", "imageID": "", "state": {"waiting": {"reason": "ContainerCreating"}}}
            ]}
        }));
        assert!(fatal_waiting(&p).is_none());
        assert!(!pod_ready(&p));
    }
}
