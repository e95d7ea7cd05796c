//! Server-side apply of rendered objects (Namespaces first), then prune of the objects an
//! earlier apply of the same apply set created that have left the overlay.
//!
//! Every applied object carries [`APPLYSET_LABEL`]`=<id>`; the overlay's Namespace records in
//! [`APPLYSET_KINDS`] every kind the set has held, so a prune also finds kinds the overlay no
//! longer has. Namespaces are never pruned (that would delete everything in them).

use std::collections::BTreeSet;
use std::time::Duration;

use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PropagationPolicy};
use serde::Serialize;
use serde_json::Value;

use super::{APPLYSET_KINDS, APPLYSET_LABEL, FIELD_MANAGER, ObjectRef, Resolver, api_error, status_of};
use crate::error::{Error, Result};

/// Kinds always searched by prune, besides the recorded and the current ones.
const PRUNE_DEFAULT_KINDS: &[&str] = &[
    "v1/ConfigMap",
    "v1/Secret",
    "v1/Service",
    "apps/v1/Deployment",
    "apps/v1/StatefulSet",
    "batch/v1/Job",
    "networking.k8s.io/v1/Ingress",
];

/// How to apply.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// The apply set: objects labelled with it that leave the overlay are pruned.
    pub applyset: String,
    /// Take over fields owned by other managers.
    pub force_conflicts: bool,
    /// Delete objects of the set that are no longer rendered.
    pub prune: bool,
    /// Server-side dry run: nothing is persisted.
    pub dry_run: bool,
}

/// What happened to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Outcome {
    Created,
    Configured,
    Unchanged,
    /// Deleted and created again because a field is immutable (a Job's pod template).
    Recreated,
    Pruned,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Created => "created",
            Outcome::Configured => "configured",
            Outcome::Unchanged => "unchanged",
            Outcome::Recreated => "recreated",
            Outcome::Pruned => "pruned",
        }
    }
}

/// One line of the apply report.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Applied {
    pub object: ObjectRef,
    pub outcome: Outcome,
    /// Fields taken back from `cargo xtask k8s scale` / `rollback`, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub took_over: Option<String>,
}

/// The applied objects with the label and kinds record added, Namespaces first (then render
/// order), so the caller can also diff or wait on exactly what is sent.
pub fn prepare(objects: &[Value], applyset: &str, recorded_kinds: &BTreeSet<String>) -> Result<Vec<Value>> {
    let mut kinds: BTreeSet<String> = recorded_kinds.clone();
    let mut out = Vec::with_capacity(objects.len());
    for object in objects {
        let Some(r) = ObjectRef::of(object) else {
            return Err(Error::Rejected {
                resource: object.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("(unnamed object)").to_owned(),
                message: "an object lacks apiVersion, kind or metadata.name".to_owned(),
                help: None,
            });
        };
        kinds.insert(format!("{}/{}", r.api_version, r.kind));
        let mut object = object.clone();
        set_path(&mut object, &["metadata", "labels", APPLYSET_LABEL], Value::String(applyset.to_owned()));
        default_protocols(&mut object);
        out.push(object);
    }
    stamp_config_hashes(&mut out);
    let record = kinds.into_iter().collect::<Vec<_>>().join(",");
    for object in &mut out {
        if is_namespace(object) {
            set_path(object, &["metadata", "annotations", APPLYSET_KINDS], Value::String(record.clone()));
        }
    }
    out.sort_by_key(|o| !is_namespace(o));
    Ok(out)
}

/// Sets `protocol: TCP` where a port leaves it out: the API default, but server-side apply on
/// Kubernetes before 1.21 cannot merge a ports list whose key field is missing ("associative
/// list with keys has an element that omits key field protocol").
fn default_protocols(object: &mut Value) {
    fn fill(ports: Option<&mut Value>) {
        for port in ports.and_then(Value::as_array_mut).into_iter().flatten() {
            if let Some(port) = port.as_object_mut() {
                port.entry("protocol").or_insert_with(|| Value::String("TCP".to_owned()));
            }
        }
    }
    if object.get("kind").and_then(Value::as_str) == Some("Service") {
        fill(object.pointer_mut("/spec/ports"));
    }
    let pod_spec = match object.get("kind").and_then(Value::as_str) {
        Some("Pod") => "/spec",
        Some("CronJob") => "/spec/jobTemplate/spec/template/spec",
        Some(_) => "/spec/template/spec",
        None => return,
    };
    for list in ["containers", "initContainers"] {
        let containers = object.pointer_mut(&format!("{pod_spec}/{list}")).and_then(Value::as_array_mut);
        for container in containers.into_iter().flatten() {
            fill(container.get_mut("ports"));
        }
    }
}

/// The pod-template annotation that carries a hash of the ConfigMaps a workload reads.
pub const CONFIG_HASH: &str = "srvthreds.io/config-hash";

/// Stamps [`CONFIG_HASH`] on the pod template of every Deployment, StatefulSet and DaemonSet
/// that reads a ConfigMap of the same render (`envFrom`, `env[].valueFrom`, volumes): a changed
/// ConfigMap value then rolls the pods, as a changed (hash-suffixed) Secret already does.
fn stamp_config_hashes(objects: &mut [Value]) {
    use sha2::{Digest as _, Sha256};
    let config_maps: Vec<(Option<String>, String, String)> = objects
        .iter()
        .filter(|o| o.get("kind").and_then(Value::as_str) == Some("ConfigMap"))
        .filter_map(|o| {
            let r = ObjectRef::of(o)?;
            let content = format!("{}{}", o.get("data").cloned().unwrap_or_default(), o.get("binaryData").cloned().unwrap_or_default());
            Some((r.namespace, r.name, content))
        })
        .collect();
    for object in objects.iter_mut() {
        let Some(r) = ObjectRef::of(object) else { continue };
        if !matches!(r.kind.as_str(), "Deployment" | "StatefulSet" | "DaemonSet") {
            continue;
        }
        let Some(spec) = object.pointer("/spec/template/spec") else { continue };
        let used = referenced_config_maps(spec);
        let mut hasher = Sha256::new();
        let mut any = false;
        for (namespace, name, content) in &config_maps {
            if used.contains(name) && *namespace == r.namespace {
                hasher.update(name.as_bytes());
                hasher.update([0]);
                hasher.update(content.as_bytes());
                any = true;
            }
        }
        if any {
            let hash: String = hasher.finalize().iter().take(8).map(|b| format!("{b:02x}")).collect();
            set_path(object, &["spec", "template", "metadata", "annotations", CONFIG_HASH], Value::String(hash));
        }
    }
}

/// Names of the ConfigMaps a pod spec reads.
fn referenced_config_maps(spec: &Value) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let name_at = |v: &Value, p: &str| v.pointer(p).and_then(Value::as_str).map(str::to_owned);
    for list in ["containers", "initContainers"] {
        for c in spec.get(list).and_then(Value::as_array).into_iter().flatten() {
            for e in c.get("envFrom").and_then(Value::as_array).into_iter().flatten() {
                names.extend(name_at(e, "/configMapRef/name"));
            }
            for e in c.get("env").and_then(Value::as_array).into_iter().flatten() {
                names.extend(name_at(e, "/valueFrom/configMapKeyRef/name"));
            }
        }
    }
    for v in spec.get("volumes").and_then(Value::as_array).into_iter().flatten() {
        names.extend(name_at(v, "/configMap/name"));
        for source in v.pointer("/projected/sources").and_then(Value::as_array).into_iter().flatten() {
            names.extend(name_at(source, "/configMap/name"));
        }
    }
    names
}

fn is_namespace(object: &Value) -> bool {
    object.get("kind").and_then(Value::as_str) == Some("Namespace") && object.get("apiVersion").and_then(Value::as_str) == Some("v1")
}

fn set_path(object: &mut Value, path: &[&str], value: Value) {
    let mut at = object;
    for key in &path[..path.len() - 1] {
        if !at.get(*key).is_some_and(Value::is_object) {
            at[*key] = Value::Object(serde_json::Map::new());
        }
        at = &mut at[*key];
    }
    at[path[path.len() - 1]] = value;
}

/// The kinds recorded on the live Namespace `namespace` (empty when it does not exist yet).
pub async fn recorded_kinds(resolver: &mut Resolver, namespace: &str) -> Result<BTreeSet<String>> {
    let api: Api<DynamicObject> = Api::all_with(resolver.client().clone(), &resolver.resolve("v1", "Namespace").await?.0);
    let live = api.get_opt(namespace).await.map_err(|e| api_error("read", format!("namespace/{namespace}"), e))?;
    Ok(live
        .and_then(|ns| ns.metadata.annotations.and_then(|mut a| a.remove(APPLYSET_KINDS)))
        .map(|s| s.split(',').filter(|k| !k.is_empty()).map(str::to_owned).collect())
        .unwrap_or_default())
}

/// Applies `objects` (from [`prepare`]) one by one, reporting each through `progress`, then
/// prunes. Stops at the first error: what was applied before it is reported by `progress`.
pub async fn apply(
    resolver: &mut Resolver,
    objects: &[Value],
    default_ns: &str,
    options: &ApplyOptions,
    progress: &mut dyn FnMut(&Applied),
) -> Result<Vec<Applied>> {
    let mut report = Vec::new();
    for object in objects {
        let Some(r) = ObjectRef::of(object) else { continue };
        let applied = apply_one(resolver, object, &r, default_ns, options).await?;
        progress(&applied);
        report.push(applied);
    }
    if options.prune {
        let kinds = recorded_in(objects);
        let keep: Vec<ObjectRef> = report.iter().map(|a| a.object.clone()).collect();
        for pruned in prune(resolver, &kinds, &keep, default_ns, options).await? {
            progress(&pruned);
            report.push(pruned);
        }
    }
    Ok(report)
}

async fn apply_one(resolver: &mut Resolver, object: &Value, r: &ObjectRef, default_ns: &str, options: &ApplyOptions) -> Result<Applied> {
    let (api, _, _) = resolver.api_for(r, default_ns).await?;
    let before = api.get_opt(&r.name).await.map_err(|e| api_error("read", r, e))?;
    let mut params = PatchParams::apply(FIELD_MANAGER);
    params.force = options.force_conflicts;
    params.dry_run = options.dry_run;
    let mut took_over = None;
    let result = match api.patch(&r.name, &params, &Patch::Apply(object)).await {
        Err(e) if status_of(&e).is_some_and(|(code, _)| code == 409) => {
            let message = status_of(&e).map(|(_, m)| m.to_owned()).unwrap_or_default();
            // Conflicts only with our own imperative commands (scale, rollback): the overlay is
            // the source of truth again, so take the fields back, and say so.
            let managers = conflicting_managers(&message);
            if !managers.is_empty() && managers.iter().all(|m| m.starts_with("srvthreds-")) {
                took_over = Some(message.clone());
                api.patch(&r.name, &params.clone().force(), &Patch::Apply(object)).await.map_err(|e| classify(r, e))?
            } else {
                return Err(Error::Conflict { resource: r.to_string(), message });
            }
        }
        Err(e) if r.kind == "Job" && status_of(&e).is_some_and(|(code, m)| code == 422 && m.contains("field is immutable")) => {
            // A Job's pod template cannot change: delete the old Job (and its pods), create anew.
            if options.dry_run {
                return Ok(Applied { object: r.clone(), outcome: Outcome::Recreated, took_over: None });
            }
            delete_and_wait(&api, r, Duration::from_secs(60)).await?;
            let created = api.patch(&r.name, &params, &Patch::Apply(object)).await.map_err(|e| classify(r, e))?;
            drop(created);
            return Ok(Applied { object: r.clone(), outcome: Outcome::Recreated, took_over: None });
        }
        Err(e) => return Err(classify(r, e)),
        Ok(applied) => applied,
    };
    let outcome = match before {
        None => Outcome::Created,
        Some(before) if before.metadata.resource_version == result.metadata.resource_version => Outcome::Unchanged,
        // Kubernetes before 1.22 bumps the version of a no-op apply (managedFields
        // timestamps): compare what the object holds instead.
        Some(before) if content(&before) == content(&result) => Outcome::Unchanged,
        Some(_) => Outcome::Configured,
    };
    Ok(Applied { object: r.clone(), outcome, took_over })
}

/// An object without what the server maintains (versions, managed fields, status).
fn content(object: &DynamicObject) -> Value {
    let mut value = serde_json::to_value(object).unwrap_or(Value::Null);
    if let Some(meta) = value.get_mut("metadata").and_then(Value::as_object_mut) {
        for key in ["managedFields", "resourceVersion", "generation"] {
            meta.remove(key);
        }
    }
    if let Some(map) = value.as_object_mut() {
        map.remove("status");
    }
    value
}

/// The field managers named in a server-side apply conflict message
/// (`Apply failed with 1 conflict: conflict with "srvthreds-scale": .spec.replicas`).
///
/// With several conflicts the server words it `conflicts with "m" ...:` followed by the fields.
pub fn conflicting_managers(message: &str) -> Vec<String> {
    let mut managers = Vec::new();
    for (at, _) in message.match_indices("with \"") {
        let before = message[..at].trim_end();
        if !(before.ends_with("conflict") || before.ends_with("conflicts")) {
            continue;
        }
        if let Some((manager, _)) = message[at + "with \"".len()..].split_once('"') {
            managers.push(manager.to_owned());
        }
    }
    managers
}

fn classify(r: &ObjectRef, error: kube::Error) -> Error {
    match status_of(&error) {
        Some((409, message)) => Error::Conflict { resource: r.to_string(), message: message.to_owned() },
        Some((code, message)) => Error::Rejected {
            resource: format!("{r} ({})", r.api_version),
            message: format!("{message} (HTTP {code})"),
            help: message
                .contains("field is immutable")
                .then(|| "delete the object first (deleting the overlay removes its whole namespace)".to_owned()),
        },
        None => api_error("apply", r, error),
    }
}

/// What a prune after applying `objects` would delete (nothing is deleted).
pub async fn prune_candidates(
    resolver: &mut Resolver,
    objects: &[Value],
    keep: &[ObjectRef],
    default_ns: &str,
    options: &ApplyOptions,
) -> Result<Vec<Applied>> {
    let options = ApplyOptions { dry_run: true, ..options.clone() };
    prune(resolver, &recorded_in(objects), keep, default_ns, &options).await
}

/// The kinds a prune searches: those recorded on the rendered Namespace, and the defaults.
fn recorded_in(objects: &[Value]) -> BTreeSet<String> {
    objects
        .iter()
        .filter(|o| is_namespace(o))
        .filter_map(|o| o.pointer(&format!("/metadata/annotations/{}", APPLYSET_KINDS.replace('/', "~1"))))
        .filter_map(Value::as_str)
        .flat_map(|s| s.split(',').map(str::to_owned))
        .chain(PRUNE_DEFAULT_KINDS.iter().map(|s| (*s).to_owned()))
        .collect()
}

async fn prune(
    resolver: &mut Resolver,
    kinds: &BTreeSet<String>,
    keep: &[ObjectRef],
    default_ns: &str,
    options: &ApplyOptions,
) -> Result<Vec<Applied>> {
    let namespaces: BTreeSet<String> =
        keep.iter().filter_map(|k| k.namespace.clone()).chain(std::iter::once(default_ns.to_owned())).collect();
    let selector = ListParams::default().labels(&format!("{APPLYSET_LABEL}={}", options.applyset));
    let mut pruned = Vec::new();
    for kind in kinds {
        let Some((api_version, kind)) = kind.rsplit_once('/') else { continue };
        if kind == "Namespace" {
            continue;
        }
        // A kind this server does not serve holds nothing to prune.
        let (resource, caps) = match resolver.resolve(api_version, kind).await {
            Ok(found) => found,
            Err(Error::Rejected { .. }) => continue,
            Err(e) => return Err(e),
        };
        let apis: Vec<(Api<DynamicObject>, Option<String>)> = if caps.scope == kube::discovery::Scope::Namespaced {
            namespaces.iter().map(|ns| (Api::namespaced_with(resolver.client().clone(), ns, &resource), Some(ns.clone()))).collect()
        } else {
            vec![(Api::all_with(resolver.client().clone(), &resource), None)]
        };
        for (api, namespace) in apis {
            let what = format!("{}/{kind}", api_version);
            let list = api.list_metadata(&selector).await.map_err(|e| api_error("list", &what, e))?;
            for item in list.items {
                let Some(name) = item.metadata.name else { continue };
                let r = ObjectRef { api_version: api_version.to_owned(), kind: kind.to_owned(), namespace: namespace.clone(), name };
                if keep.iter().any(|k| k.same_kind(&r) && k.name == r.name && (k.namespace.is_none() || k.namespace == r.namespace)) {
                    continue;
                }
                if !options.dry_run {
                    let params = DeleteParams { propagation_policy: Some(PropagationPolicy::Background), ..DeleteParams::default() };
                    match api.delete(&r.name, &params).await {
                        Ok(_) => {}
                        Err(e) if status_of(&e).is_some_and(|(code, _)| code == 404) => continue,
                        Err(e) => return Err(api_error("prune", &r, e)),
                    }
                }
                pruned.push(Applied { object: r, outcome: Outcome::Pruned, took_over: None });
            }
        }
    }
    Ok(pruned)
}

/// Deletes one object (its dependents in the foreground) and waits until it is gone.
pub async fn delete_and_wait(api: &Api<DynamicObject>, r: &ObjectRef, timeout: Duration) -> Result<()> {
    let params = DeleteParams { propagation_policy: Some(PropagationPolicy::Foreground), ..DeleteParams::default() };
    match api.delete(&r.name, &params).await {
        Ok(_) => {}
        Err(e) if status_of(&e).is_some_and(|(code, _)| code == 404) => return Ok(()),
        Err(e) => return Err(api_error("delete", r, e)),
    }
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if api.get_opt(&r.name).await.map_err(|e| api_error("read", r, e))?.is_none() {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(Error::Rollout {
                resource: r.to_string(),
                reason: format!("still present {}s after its deletion", timeout.as_secs()),
                details: String::new(),
            });
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    #[test]
    fn prepare_labels_everything_and_puts_namespaces_first() {
        let objects = vec![
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "n"}}),
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n"}}),
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "n", "labels": {"a": "b"}}}),
        ];
        let recorded: BTreeSet<String> = ["batch/v1/Job".to_owned()].into();
        let out = prepare(&objects, "minikube", &recorded).unwrap();
        assert_eq!(out[0]["kind"], "Namespace");
        assert_eq!(out[1]["kind"], "ConfigMap");
        for o in &out {
            assert_eq!(o["metadata"]["labels"][APPLYSET_LABEL], "minikube");
        }
        assert_eq!(out[2]["metadata"]["labels"]["a"], "b");
        assert!(out[2].pointer("/spec").is_none(), "nothing but the label is added: {}", out[2]);
        assert_eq!(out[0]["metadata"]["annotations"][APPLYSET_KINDS], "apps/v1/Deployment,batch/v1/Job,v1/ConfigMap,v1/Namespace");
    }

    #[test]
    fn ports_get_the_default_protocol() {
        let objects = vec![
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}, "spec": {"ports": [{"port": 1}, {"port": 2, "protocol": "UDP"}]}}),
            json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "d"},
                   "spec": {"template": {"spec": {"containers": [{"name": "c", "ports": [{"containerPort": 5672}]}]}}}}),
        ];
        let out = prepare(&objects, "x", &BTreeSet::new()).unwrap();
        assert_eq!(out[0]["spec"]["ports"][0]["protocol"], "TCP");
        assert_eq!(out[0]["spec"]["ports"][1]["protocol"], "UDP");
        assert_eq!(out[1]["spec"]["template"]["spec"]["containers"][0]["ports"][0]["protocol"], "TCP");
    }

    #[test]
    fn a_changed_config_map_changes_the_pod_template() {
        let render = |level: &str| {
            vec![
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": "n"}, "data": {"LOG_LEVEL": level}}),
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "other", "namespace": "n"}, "data": {"X": level}}),
                json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "n"},
                       "spec": {"template": {"spec": {"containers": [{"name": "c", "envFrom": [{"configMapRef": {"name": "cfg"}}]}]}}}}),
                json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "plain", "namespace": "n"},
                       "spec": {"template": {"spec": {"containers": [{"name": "c"}]}}}}),
            ]
        };
        let hash = |level: &str| {
            let out = prepare(&render(level), "x", &BTreeSet::new()).unwrap();
            assert!(out[3].pointer("/spec/template/metadata/annotations").is_none(), "no ConfigMap read, no stamp");
            out[2]["spec"]["template"]["metadata"]["annotations"][CONFIG_HASH].as_str().unwrap().to_owned()
        };
        assert_eq!(hash("info"), hash("info"));
        assert_ne!(hash("info"), hash("debug"));
    }

    #[test]
    fn prepare_rejects_nameless_objects() {
        let error = prepare(&[json!({"apiVersion": "v1", "kind": "ConfigMap"})], "x", &BTreeSet::new()).unwrap_err();
        assert!(error.to_string().contains("lacks apiVersion, kind or metadata.name"), "{error}");
    }

    #[test]
    fn conflict_managers_are_read_from_the_message() {
        let message = r#"Apply failed with 2 conflicts: conflict with "srvthreds-scale" using apps/v1: .spec.replicas, conflict with "kubectl-edit" using apps/v1: .spec.template.spec.containers[name="a"].image"#;
        assert_eq!(conflicting_managers(message), vec!["srvthreds-scale", "kubectl-edit"]);
        assert!(conflicting_managers("no conflicts here").is_empty());
        let several = "Apply failed with 2 conflicts: conflicts with \"srvthreds-scale\" with subresource \"scale\" using apps/v1:\n- .spec.replicas\nconflicts with \"srvthreds-rollback\" using apps/v1:\n- .spec.template";
        assert_eq!(conflicting_managers(several), vec!["srvthreds-scale", "srvthreds-rollback"]);
    }
}
