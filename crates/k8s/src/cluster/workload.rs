//! Status, scale, rollback and delete of an overlay's workloads.

use std::time::Duration;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, PropagationPolicy};
use serde::Serialize;

use super::rollout::{Workload, WorkloadKind, selector_string};
use super::{api_error, status_of};
use crate::error::{Error, Result};

/// The field manager of `scale`.
pub const SCALE_MANAGER: &str = "srvthreds-scale";
/// The field manager of `rollback`.
pub const ROLLBACK_MANAGER: &str = "srvthreds-rollback";
const REVISION: &str = "deployment.kubernetes.io/revision";

/// One row of `status`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadStatus {
    pub kind: WorkloadKind,
    pub name: String,
    pub exists: bool,
    /// Desired replicas (a Job: its completions).
    pub desired: i32,
    pub ready: i32,
    pub updated: i32,
    pub available: i32,
    /// Container restarts over the workload's pods.
    pub restarts: i32,
    /// Rolled out and every replica ready; a Job: completed.
    pub is_ready: bool,
    /// `Ready`, `Progressing`, `Complete`, `Failed`, `Missing`.
    pub state: String,
    /// Images of the pod template.
    pub images: Vec<String>,
    /// A Deployment's revision.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<i64>,
}

/// The status of each workload.
pub async fn status(client: &kube::Client, workloads: &[Workload]) -> Result<Vec<WorkloadStatus>> {
    let mut rows = Vec::new();
    for w in workloads {
        rows.push(status_one(client, w).await?);
    }
    Ok(rows)
}

async fn status_one(client: &kube::Client, w: &Workload) -> Result<WorkloadStatus> {
    let mut row = WorkloadStatus {
        kind: w.kind,
        name: w.name.clone(),
        exists: false,
        desired: 0,
        ready: 0,
        updated: 0,
        available: 0,
        restarts: 0,
        is_ready: false,
        state: "Missing".to_owned(),
        images: Vec::new(),
        revision: None,
    };
    let template_images = |spec: Option<&k8s_openapi::api::core::v1::PodSpec>| -> Vec<String> {
        spec.map(|s| s.containers.iter().filter_map(|c| c.image.clone()).collect()).unwrap_or_default()
    };
    let selector = match w.kind {
        WorkloadKind::Deployment => {
            let Some(d) =
                Api::<Deployment>::namespaced(client.clone(), &w.namespace).get_opt(&w.name).await.map_err(|e| api_error("read", w, e))?
            else {
                return Ok(row);
            };
            let s = d.status.clone().unwrap_or_default();
            row.desired = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
            row.ready = s.ready_replicas.unwrap_or(0);
            row.updated = s.updated_replicas.unwrap_or(0);
            row.available = s.available_replicas.unwrap_or(0);
            row.images = template_images(d.spec.as_ref().and_then(|s| s.template.spec.as_ref()));
            row.revision = d.metadata.annotations.as_ref().and_then(|a| a.get(REVISION)).and_then(|r| r.parse().ok());
            let observed = d.metadata.generation <= s.observed_generation;
            row.is_ready = observed && row.updated == row.desired && row.available == row.desired && s.replicas.unwrap_or(0) == row.desired;
            let deadline = s.conditions.iter().flatten().any(|c| c.reason.as_deref() == Some("ProgressDeadlineExceeded"));
            row.state = if row.is_ready {
                "Ready"
            } else if deadline {
                "Failed"
            } else {
                "Progressing"
            }
            .to_owned();
            d.spec.map(|s| selector_string(s.selector.match_labels.unwrap_or_default())).unwrap_or_default()
        }
        WorkloadKind::StatefulSet => {
            let Some(st) =
                Api::<StatefulSet>::namespaced(client.clone(), &w.namespace).get_opt(&w.name).await.map_err(|e| api_error("read", w, e))?
            else {
                return Ok(row);
            };
            let s = st.status.clone().unwrap_or_default();
            row.desired = st.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
            row.ready = s.ready_replicas.unwrap_or(0);
            row.updated = s.updated_replicas.unwrap_or(0);
            row.available = s.ready_replicas.unwrap_or(0);
            row.images = template_images(st.spec.as_ref().and_then(|s| s.template.spec.as_ref()));
            let observed = s.observed_generation.is_some() && st.metadata.generation <= s.observed_generation;
            row.is_ready = observed && row.ready == row.desired && (s.update_revision.is_none() || s.update_revision == s.current_revision);
            row.state = if row.is_ready { "Ready" } else { "Progressing" }.to_owned();
            st.spec.map(|s| selector_string(s.selector.match_labels.unwrap_or_default())).unwrap_or_default()
        }
        WorkloadKind::Job => {
            let Some(job) =
                Api::<Job>::namespaced(client.clone(), &w.namespace).get_opt(&w.name).await.map_err(|e| api_error("read", w, e))?
            else {
                return Ok(row);
            };
            let s = job.status.clone().unwrap_or_default();
            row.desired = job.spec.as_ref().and_then(|s| s.completions).unwrap_or(1);
            row.ready = s.succeeded.unwrap_or(0);
            row.updated = row.ready;
            row.available = row.ready;
            row.images = template_images(job.spec.as_ref().and_then(|s| s.template.spec.as_ref()));
            let conditions = s.conditions.unwrap_or_default();
            let has = |t: &str| conditions.iter().any(|c| c.type_ == t && c.status == "True");
            row.is_ready = has("Complete");
            row.state = if has("Complete") {
                "Complete"
            } else if has("Failed") {
                "Failed"
            } else {
                "Progressing"
            }
            .to_owned();
            format!("job-name={}", w.name)
        }
    };
    row.exists = true;
    let pods = Api::<Pod>::namespaced(client.clone(), &w.namespace)
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(|e| api_error("list pods of", w, e))?;
    row.restarts =
        pods.items.iter().filter_map(|p| p.status.as_ref()?.container_statuses.as_ref()).flatten().map(|c| c.restart_count).sum();
    Ok(row)
}

/// Sets the replica count of a Deployment or StatefulSet through its scale subresource.
pub async fn scale(client: &kube::Client, w: &Workload, replicas: i32) -> Result<()> {
    let params = PatchParams { field_manager: Some(SCALE_MANAGER.to_owned()), ..PatchParams::default() };
    let patch = Patch::Merge(serde_json::json!({ "spec": { "replicas": replicas } }));
    let result = match w.kind {
        WorkloadKind::Deployment => Api::<Deployment>::namespaced(client.clone(), &w.namespace).patch_scale(&w.name, &params, &patch).await,
        WorkloadKind::StatefulSet => {
            Api::<StatefulSet>::namespaced(client.clone(), &w.namespace).patch_scale(&w.name, &params, &patch).await
        }
        WorkloadKind::Job => {
            return Err(Error::Rejected { resource: w.to_string(), message: "a Job cannot be scaled".to_owned(), help: None });
        }
    };
    match result {
        Ok(_) => Ok(()),
        Err(e) if status_of(&e).is_some_and(|(c, _)| c == 404) => Err(not_found(w)),
        Err(e) => Err(api_error("scale", w, e)),
    }
}

fn not_found(w: &Workload) -> Error {
    Error::NotFound { what: format!("{w} in namespace {}", w.namespace), help: Some("apply the overlay first".to_owned()) }
}

/// The current revision of a Deployment (`None`: it does not exist yet).
pub async fn deployment_revision(client: &kube::Client, namespace: &str, name: &str) -> Result<Option<i64>> {
    let d = Api::<Deployment>::namespaced(client.clone(), namespace)
        .get_opt(name)
        .await
        .map_err(|e| api_error("read", format!("deployment/{name}"), e))?;
    Ok(d.and_then(|d| d.metadata.annotations?.get(REVISION)?.parse().ok()))
}

/// The current revision of each Deployment among `workloads` that exists: what
/// [`roll_back_changed`] returns to after a failed rollout.
pub async fn revisions(client: &kube::Client, workloads: &[Workload]) -> Result<Vec<(Workload, i64)>> {
    let mut out = Vec::new();
    for w in workloads.iter().filter(|w| w.kind == WorkloadKind::Deployment) {
        if let Some(revision) = deployment_revision(client, &w.namespace, &w.name).await? {
            out.push((w.clone(), revision));
        }
    }
    Ok(out)
}

/// Rolls every Deployment whose revision moved away from the one in `before` back to it
/// (`apply --rollback-on-failure`). Returns each rolled-back workload with (from, to).
pub async fn roll_back_changed(client: &kube::Client, before: &[(Workload, i64)]) -> Result<Vec<(Workload, i64, i64)>> {
    let mut rolled = Vec::new();
    for (w, revision) in before {
        let now = deployment_revision(client, &w.namespace, &w.name).await?.unwrap_or(*revision);
        if now != *revision {
            let (from, to) = rollback(client, w, Some(*revision)).await?;
            rolled.push((w.clone(), from, to));
        }
    }
    Ok(rolled)
}

/// Rolls a Deployment back, as `kubectl rollout undo`: its pod template becomes that of the
/// ReplicaSet of revision `to` (default: the newest revision before the current one).
/// Returns (from, to) revisions.
pub async fn rollback(client: &kube::Client, w: &Workload, to: Option<i64>) -> Result<(i64, i64)> {
    let plan = plan_rollback(client, w, to).await?;
    if plan.from != plan.to {
        execute_rollback(client, w, &plan).await?;
    }
    Ok((plan.from, plan.to))
}

/// A rollback worked out from the live objects, not yet made: the revisions, the images of the
/// template it goes back to, and the Deployment with that template in place.
#[derive(Debug, Clone)]
pub struct RollbackPlan {
    /// The current revision.
    pub from: i64,
    /// The revision whose template is restored (`from` itself: nothing to do).
    pub to: i64,
    /// The images of the restored template.
    pub images: Vec<String>,
    deployment: Deployment,
}

/// Works out a rollback of `w` to revision `to` (default: the newest before the current one),
/// reading only.
pub async fn plan_rollback(client: &kube::Client, w: &Workload, to: Option<i64>) -> Result<RollbackPlan> {
    if w.kind != WorkloadKind::Deployment {
        return Err(Error::Rejected {
            resource: w.to_string(),
            message: "only Deployments can be rolled back here".to_owned(),
            help: Some("re-apply the overlay with the previous image for a StatefulSet".to_owned()),
        });
    }
    let api: Api<Deployment> = Api::namespaced(client.clone(), &w.namespace);
    let Some(mut d) = api.get_opt(&w.name).await.map_err(|e| api_error("read", w, e))? else { return Err(not_found(w)) };
    let current: i64 = d.metadata.annotations.as_ref().and_then(|a| a.get(REVISION)).and_then(|r| r.parse().ok()).unwrap_or(0);
    let selector = d.spec.as_ref().map(|s| selector_string(s.selector.match_labels.clone().unwrap_or_default())).unwrap_or_default();
    let sets = Api::<ReplicaSet>::namespaced(client.clone(), &w.namespace)
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(|e| api_error("list replicasets of", w, e))?;
    let mut revisions: Vec<(i64, ReplicaSet)> = sets
        .items
        .into_iter()
        .filter(|rs| rs.metadata.owner_references.iter().flatten().any(|o| o.kind == "Deployment" && o.name == w.name))
        .filter_map(|rs| Some((rs.metadata.annotations.as_ref()?.get(REVISION)?.parse().ok()?, rs)))
        .collect();
    revisions.sort_by_key(|(r, _)| *r);
    let known = revisions.iter().map(|(r, _)| r.to_string()).collect::<Vec<_>>().join(", ");
    let target = match to {
        Some(n) => revisions.into_iter().find(|(r, _)| *r == n),
        None => revisions.into_iter().rev().find(|(r, _)| *r < current),
    };
    let Some((revision, rs)) = target else {
        return Err(Error::NotFound {
            what: match to {
                Some(n) => format!("revision {n} of {w}"),
                None => format!("a revision of {w} before its current revision {current}"),
            },
            help: Some(format!("revisions kept: {}", if known.is_empty() { "none".to_owned() } else { known })),
        });
    };
    let Some(mut template) = rs.spec.and_then(|s| s.template) else {
        return Err(Error::Rejected { resource: w.to_string(), message: format!("revision {revision} has no pod template"), help: None });
    };
    if let Some(labels) = template.metadata.as_mut().and_then(|m| m.labels.as_mut()) {
        labels.remove("pod-template-hash");
    }
    let images = template.spec.as_ref().map(|s| s.containers.iter().filter_map(|c| c.image.clone()).collect()).unwrap_or_default();
    if let Some(spec) = d.spec.as_mut() {
        spec.template = template;
    }
    Ok(RollbackPlan { from: current, to: revision, images, deployment: d })
}

/// Makes a planned rollback: the Deployment's template is replaced by the planned one.
pub async fn execute_rollback(client: &kube::Client, w: &Workload, plan: &RollbackPlan) -> Result<()> {
    let api: Api<Deployment> = Api::namespaced(client.clone(), &w.namespace);
    let params = PostParams { field_manager: Some(ROLLBACK_MANAGER.to_owned()), ..PostParams::default() };
    api.replace(&w.name, &params, &plan.deployment).await.map_err(|e| api_error("roll back", w, e))?;
    Ok(())
}

/// The replica count a Deployment or StatefulSet asks for (`None`: it does not exist).
pub async fn desired_replicas(client: &kube::Client, w: &Workload) -> Result<Option<i32>> {
    let row = status_one(client, w).await?;
    Ok(row.exists.then_some(row.desired))
}

/// Whether namespace `namespace` exists.
pub async fn namespace_exists(client: &kube::Client, namespace: &str) -> Result<bool> {
    let api: Api<Namespace> = Api::all(client.clone());
    Ok(api.get_opt(namespace).await.map_err(|e| api_error("read", format!("namespace/{namespace}"), e))?.is_some())
}

/// Deletes a namespace and waits until it is gone. `Ok(false)`: it did not exist.
pub async fn delete_namespace(client: &kube::Client, namespace: &str, timeout: Duration) -> Result<bool> {
    let api: Api<Namespace> = Api::all(client.clone());
    let params = DeleteParams { propagation_policy: Some(PropagationPolicy::Foreground), ..DeleteParams::default() };
    match api.delete(namespace, &params).await {
        Ok(_) => {}
        Err(e) if status_of(&e).is_some_and(|(c, _)| c == 404) => return Ok(false),
        Err(e) => return Err(api_error("delete", format!("namespace/{namespace}"), e)),
    }
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let live = api.get_opt(namespace).await.map_err(|e| api_error("read", format!("namespace/{namespace}"), e))?;
        let Some(live) = live else { return Ok(true) };
        if tokio::time::Instant::now() >= deadline {
            let conditions = live
                .status
                .and_then(|s| s.conditions)
                .unwrap_or_default()
                .into_iter()
                .filter(|c| c.status == "True")
                .map(|c| format!("\n  {}: {}", c.type_, c.message.unwrap_or_default()))
                .collect::<String>();
            return Err(Error::Rollout {
                resource: format!("namespace/{namespace}"),
                reason: format!("still terminating after {}s", timeout.as_secs()),
                details: conditions,
            });
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
