//! Kustomize's name-reference fixing: once every rename (prefix, suffix, hash) is done, fields
//! that name a ConfigMap, Secret, Service, ServiceAccount or scaled workload are rewritten to the
//! final name of the object they refer to.
//!
//! A reference may use any earlier name of its target, from any layer: an object added by an
//! outer overlay can name a ConfigMap as an inner overlay produced it. Objects that had the same
//! name are told apart as Kustomize's name-reference transformer does (`nameref.selectReferral`):
//! by namespace, then by how their chains of prefixes and suffixes end compared with the
//! referrer's; a reference still left with several different objects is an error, as in kubectl.

use serde_json::Value;

use super::Resource;
use super::transform::CLUSTER_SCOPED;
use crate::{Error, Result};

/// What a reference is matched against, copied out of each object so that referrers can be
/// rewritten while it is read.
#[derive(Debug, Clone)]
struct Candidate {
    kind: String,
    /// `None` for cluster-scoped objects, `default` for namespaced objects without one.
    namespace: Option<String>,
    name: String,
    previous_names: Vec<String>,
    prefixes: Vec<String>,
    suffixes: Vec<String>,
}

impl Candidate {
    fn of(resource: &Resource) -> Self {
        Self {
            kind: resource.kind().to_owned(),
            namespace: effective_namespace(resource),
            name: resource.name().to_owned(),
            previous_names: resource.previous_names.clone(),
            prefixes: resource.prefixes.clone(),
            suffixes: resource.suffixes.clone(),
        }
    }
}

/// The namespace Kustomize compares (`EffectiveNamespace`): none for cluster-scoped kinds, and
/// `default` for a namespaced object that sets none.
fn effective_namespace(resource: &Resource) -> Option<String> {
    if CLUSTER_SCOPED.contains(&resource.kind()) {
        return None;
    }
    Some(if resource.namespace().is_empty() { "default" } else { resource.namespace() }.to_owned())
}

/// Looks up the final name a reference in one object stands for.
type Lookup<'a> = dyn Fn(&str, &str) -> Result<Option<String>> + 'a;

/// Rewrites references to ConfigMaps, Secrets, Services, workloads and ServiceAccounts whose
/// names changed (prefix, suffix, hash) to their final names, as Kustomize's name-reference
/// transformer does for the fields our objects use.
pub(super) fn fix_references(resources: &mut [Resource]) -> Result<()> {
    let candidates: Vec<Candidate> = resources.iter().map(Candidate::of).collect();
    for resource in resources.iter_mut() {
        let referrer = Candidate::of(resource);
        let origin = resource.origin.clone();
        let lookup = |kind: &str, name: &str| -> Result<Option<String>> {
            match select(&candidates, &referrer, kind, name) {
                Ok(found) => Ok(found.map(|candidate| candidate.name.clone())),
                Err(several) => Err(ambiguous(&origin, &referrer, kind, name, &several)),
            }
        };
        fix_object(&mut resource.object, &referrer.kind, &lookup)?;
    }
    Ok(())
}

/// Rewrites the reference fields of one object.
fn fix_object(object: &mut Value, kind: &str, lookup: &Lookup) -> Result<()> {
    if let Some(pod_spec) = pod_spec_mut(object, kind) {
        fix_pod_spec(pod_spec, lookup)?;
    }
    match kind {
        "StatefulSet" => fix_string(object.pointer_mut("/spec/serviceName"), "Service", lookup)?,
        "Ingress" => fix_ingress(object, lookup)?,
        "HorizontalPodAutoscaler" => {
            let target_kind = object.pointer("/spec/scaleTargetRef/kind").and_then(Value::as_str).unwrap_or_default().to_owned();
            if matches!(target_kind.as_str(), "Deployment" | "StatefulSet" | "ReplicaSet" | "ReplicationController") {
                fix_string(object.pointer_mut("/spec/scaleTargetRef/name"), &target_kind, lookup)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// The object of kind `kind` that `name` refers to from `referrer`, as Kustomize's
/// `selectReferral` picks it: among the objects of that kind that had `name` before a rename
/// (the current name is not enough: an object never renamed needs no rewrite) and are in the
/// referrer's namespace, the only one; or else the only one whose prefixes and suffixes end as
/// the referrer's do, where an empty chain on either side first counts as a match and then, if
/// several remain, only the same endings do; several left with one final name are one. The
/// kind compared is the current one (Kustomize compares the earlier kinds, which differ only if
/// a patch changed the kind). `Ok(None)` leaves the reference alone; `Err` lists the objects a
/// reference could not choose between.
fn select<'a>(
    candidates: &'a [Candidate],
    referrer: &Candidate,
    kind: &str,
    name: &str,
) -> std::result::Result<Option<&'a Candidate>, Vec<&'a Candidate>> {
    let mut found: Vec<&Candidate> = candidates
        .iter()
        .filter(|candidate| candidate.kind == kind && candidate.previous_names.iter().any(|previous| previous == name))
        .filter(|candidate| reachable(referrer, candidate))
        .collect();
    if found.len() == 1 {
        return Ok(found.pop());
    }
    found.retain(|candidate| ends_alike(candidate, referrer, true));
    if found.len() > 1 {
        found.retain(|candidate| ends_alike(candidate, referrer, false));
    }
    match found.as_slice() {
        [] => Ok(None),
        [first, rest @ ..] if rest.iter().all(|other| other.name == first.name) => Ok(Some(*first)),
        _ => Err(found),
    }
}

/// Whether a reference in `referrer` can point at `candidate`: either is cluster-scoped, or
/// both are in the same namespace.
fn reachable(referrer: &Candidate, candidate: &Candidate) -> bool {
    match (&referrer.namespace, &candidate.namespace) {
        (Some(ours), Some(theirs)) => ours == theirs,
        _ => true,
    }
}

/// Kustomize's `PrefixesSuffixesEquals`: the prefix chains end the same way, and so do the
/// suffix chains; with `allow_empty`, an empty chain on either side matches anything.
fn ends_alike(candidate: &Candidate, referrer: &Candidate, allow_empty: bool) -> bool {
    let alike = |ours: &[String], theirs: &[String]| (allow_empty && (ours.is_empty() || theirs.is_empty())) || same_ending(ours, theirs);
    alike(&candidate.prefixes, &referrer.prefixes) && alike(&candidate.suffixes, &referrer.suffixes)
}

/// Whether the shorter list is the end of the longer one; an empty list only ends an empty one
/// (Kustomize's `SameEndingSubSlice`).
fn same_ending(a: &[String], b: &[String]) -> bool {
    if a.is_empty() || b.is_empty() {
        return a.is_empty() && b.is_empty();
    }
    if a.len() <= b.len() { b.ends_with(a) } else { a.ends_with(b) }
}

/// The error for a reference that several objects answer to, suggesting for each a name only
/// it has had.
fn ambiguous(origin: &str, referrer: &Candidate, kind: &str, name: &str, several: &[&Candidate]) -> Error {
    let names: Vec<String> = several.iter().map(|candidate| format!("`{}`", candidate.name)).collect();
    let unique: Vec<String> = several
        .iter()
        .filter_map(|candidate| {
            let others = several.iter().filter(|other| other.name != candidate.name);
            let shared = |previous: &str| others.clone().any(|other| other.previous_names.iter().any(|theirs| theirs == previous));
            candidate.previous_names.iter().find(|previous| !shared(previous)).map(|previous| format!("`{previous}`"))
        })
        .collect();
    let help = if unique.is_empty() {
        "give the objects different names".to_owned()
    } else {
        format!("refer to the one you mean by a name only it has had: {}", unique.join(" or "))
    };
    Error::RenderInvalid {
        path: origin.to_owned(),
        line: 0,
        message: format!(
            "{} `{}` refers to {kind} `{name}`, which could be any of {}\nhelp: {help}",
            referrer.kind,
            referrer.name,
            names.join(", ")
        ),
    }
}

fn fix_ingress(object: &mut Value, lookup: &Lookup) -> Result<()> {
    fix_string(object.pointer_mut("/spec/defaultBackend/service/name"), "Service", lookup)?;
    fix_string(object.pointer_mut("/spec/backend/serviceName"), "Service", lookup)?;
    if let Some(rules) = object.pointer_mut("/spec/rules").and_then(Value::as_array_mut) {
        for rule in rules {
            if let Some(paths) = rule.pointer_mut("/http/paths").and_then(Value::as_array_mut) {
                for path in paths {
                    fix_string(path.pointer_mut("/backend/service/name"), "Service", lookup)?;
                    fix_string(path.pointer_mut("/backend/serviceName"), "Service", lookup)?;
                }
            }
        }
    }
    if let Some(tls) = object.pointer_mut("/spec/tls").and_then(Value::as_array_mut) {
        for entry in tls {
            fix_string(entry.get_mut("secretName"), "Secret", lookup)?;
        }
    }
    Ok(())
}

fn pod_spec_mut<'a>(object: &'a mut Value, kind: &str) -> Option<&'a mut Value> {
    let pointer = match kind {
        "Pod" => "/spec",
        "Deployment" | "ReplicaSet" | "DaemonSet" | "StatefulSet" | "Job" | "ReplicationController" => "/spec/template/spec",
        "CronJob" => "/spec/jobTemplate/spec/template/spec",
        _ => return None,
    };
    object.pointer_mut(pointer)
}

fn fix_pod_spec(spec: &mut Value, lookup: &Lookup) -> Result<()> {
    fix_string(spec.get_mut("serviceAccountName"), "ServiceAccount", lookup)?;
    if let Some(secrets) = spec.get_mut("imagePullSecrets").and_then(Value::as_array_mut) {
        for secret in secrets {
            fix_string(secret.get_mut("name"), "Secret", lookup)?;
        }
    }
    if let Some(volumes) = spec.get_mut("volumes").and_then(Value::as_array_mut) {
        for volume in volumes {
            fix_string(volume.pointer_mut("/configMap/name"), "ConfigMap", lookup)?;
            fix_string(volume.pointer_mut("/secret/secretName"), "Secret", lookup)?;
            if let Some(sources) = volume.pointer_mut("/projected/sources").and_then(Value::as_array_mut) {
                for source in sources {
                    fix_string(source.pointer_mut("/configMap/name"), "ConfigMap", lookup)?;
                    fix_string(source.pointer_mut("/secret/name"), "Secret", lookup)?;
                }
            }
        }
    }
    for list in ["containers", "initContainers", "ephemeralContainers"] {
        let Some(containers) = spec.get_mut(list).and_then(Value::as_array_mut) else { continue };
        for container in containers {
            if let Some(sources) = container.get_mut("envFrom").and_then(Value::as_array_mut) {
                for source in sources {
                    fix_string(source.pointer_mut("/configMapRef/name"), "ConfigMap", lookup)?;
                    fix_string(source.pointer_mut("/secretRef/name"), "Secret", lookup)?;
                }
            }
            if let Some(env) = container.get_mut("env").and_then(Value::as_array_mut) {
                for variable in env {
                    fix_string(variable.pointer_mut("/valueFrom/configMapKeyRef/name"), "ConfigMap", lookup)?;
                    fix_string(variable.pointer_mut("/valueFrom/secretKeyRef/name"), "Secret", lookup)?;
                }
            }
        }
    }
    Ok(())
}

fn fix_string(field: Option<&mut Value>, kind: &str, lookup: &Lookup) -> Result<()> {
    let Some(field) = field else { return Ok(()) };
    let Some(name) = field.as_str() else { return Ok(()) };
    if let Some(new) = lookup(kind, name)? {
        *field = Value::String(new);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_map(name: &str, namespace: &str, previous: &[&str], prefixes: &[&str], suffixes: &[&str]) -> Candidate {
        let strings = |items: &[&str]| items.iter().map(|item| (*item).to_owned()).collect();
        Candidate {
            kind: "ConfigMap".into(),
            namespace: Some(namespace.into()),
            name: name.into(),
            previous_names: strings(previous),
            prefixes: strings(prefixes),
            suffixes: strings(suffixes),
        }
    }

    fn referrer(namespace: &str, prefixes: &[&str], suffixes: &[&str]) -> Candidate {
        Candidate { kind: "Deployment".into(), ..config_map("app", namespace, &[], prefixes, suffixes) }
    }

    /// The final name `name` stands for from `referrer`, or how many objects it could be.
    fn chosen<'a>(candidates: &'a [Candidate], referrer: &Candidate, name: &str) -> std::result::Result<Option<&'a str>, usize> {
        select(candidates, referrer, "ConfigMap", name)
            .map(|found| found.map(|candidate| candidate.name.as_str()))
            .map_err(|several| several.len())
    }

    #[test]
    fn earlier_names_namespaces_and_prefix_chains_choose_the_object() {
        // One base generated `env` three times: under in- and mid-, under other-, and in the
        // namespace local, all under top- (as tests/fixtures/render/nested-references).
        let candidates = [
            config_map("top-mid-in-env-h", "default", &["env", "in-env", "mid-in-env", "top-mid-in-env"], &["in-", "mid-", "top-"], &[]),
            config_map("top-other-env-h", "default", &["env", "other-env", "top-other-env"], &["other-", "top-"], &[]),
            config_map("top-env-h", "local", &["env", "env", "top-env"], &["top-"], &[]),
        ];
        let outer = referrer("default", &["top-"], &[]);
        assert_eq!(chosen(&candidates, &outer, "in-env"), Ok(Some("top-mid-in-env-h")));
        assert_eq!(chosen(&candidates, &outer, "top-other-env"), Ok(Some("top-other-env-h")));
        assert_eq!(chosen(&candidates, &referrer("local", &["top-"], &[]), "env"), Ok(Some("top-env-h")));
        assert_eq!(chosen(&candidates, &referrer("default", &["other-", "top-"], &[]), "env"), Ok(Some("top-other-env-h")));
        assert_eq!(chosen(&candidates, &referrer("default", &["in-", "mid-", "top-"], &[]), "env"), Ok(Some("top-mid-in-env-h")));
        // Both chains end as the outer referrer's: kubectl fails.
        assert_eq!(chosen(&candidates, &outer, "env"), Err(2));
        // A referrer without prefixes matches neither chain exactly: kubectl leaves the name.
        assert_eq!(chosen(&candidates, &referrer("default", &[], &[]), "env"), Ok(None));
        // A final name is no earlier name; neither is a name no object had.
        assert_eq!(chosen(&candidates, &outer, "top-other-env-h"), Ok(None));
        assert_eq!(chosen(&candidates, &outer, "unrelated"), Ok(None));
    }

    #[test]
    fn suffix_chains_tell_apart_what_prefixes_do_not() {
        let candidates = [
            config_map(
                "top-in-creds-v1-h",
                "default",
                &["creds", "in-creds", "in-creds-v1", "top-in-creds-v1"],
                &["in-", "top-"],
                &["-v1"],
            ),
            config_map("top-other-creds-h", "default", &["creds", "other-creds", "top-other-creds"], &["other-", "top-"], &[]),
        ];
        assert_eq!(chosen(&candidates, &referrer("default", &["top-"], &[]), "creds"), Ok(Some("top-other-creds-h")));
        assert_eq!(chosen(&candidates, &referrer("default", &["top-"], &["-v1"]), "creds"), Ok(Some("top-in-creds-v1-h")));
    }

    #[test]
    fn same_ending_is_kustomizes_same_ending_sub_slice() {
        let list = |items: &[&str]| items.iter().map(|item| (*item).to_owned()).collect::<Vec<String>>();
        assert!(same_ending(&list(&["a", "b", "c"]), &list(&["b", "c"])));
        assert!(!same_ending(&list(&["a", "b", "c"]), &list(&["a", "b"])));
        assert!(!same_ending(&list(&["a"]), &list(&[])));
        assert!(same_ending(&list(&[]), &list(&[])));
    }
}
