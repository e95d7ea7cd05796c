//! Kustomize's built-in transformers for the fields we support (namespace, prefix/suffix,
//! labels, replicas, images), the final hash suffixes, and the legacy output order.

use serde_json::{Map, Value};

use super::kustomization::{Kustomization, LabelSet};
use super::{Resource, generate};
use crate::Result;

/// Kinds that have no namespace; `namespace:` leaves them alone.
pub(super) const CLUSTER_SCOPED: [&str; 16] = [
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "PersistentVolume",
    "StorageClass",
    "PriorityClass",
    "IngressClass",
    "APIService",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
    "CSIDriver",
    "CSINode",
    "RuntimeClass",
    "Node",
    "VolumeAttachment",
];

/// Kustomize's legacy order: these kinds first, in this order ...
const ORDER_FIRST: [&str; 22] = [
    "Namespace",
    "ResourceQuota",
    "StorageClass",
    "CustomResourceDefinition",
    "ServiceAccount",
    "PodSecurityPolicy",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    "ConfigMap",
    "Secret",
    "Endpoints",
    "Service",
    "LimitRange",
    "PriorityClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Deployment",
    "StatefulSet",
    "CronJob",
    "PodDisruptionBudget",
];

/// ... these last, and every other kind in between, by `group_version_kind`.
const ORDER_LAST: [&str; 2] = ["MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"];

/// `namespace:` sets the namespace of every namespaced object, and (as Kustomize's namespace
/// filter does) the name of every Namespace object. As Kustomize's, it first stores every
/// object's name among its earlier ones (references match earlier names only).
pub(super) fn namespace(kustomization: &Kustomization, resources: &mut [Resource]) {
    let Some(namespace) = &kustomization.namespace else { return };
    for resource in resources.iter_mut() {
        resource.store_previous_name();
        if resource.kind() == "Namespace" && resource.group().is_empty() {
            resource.set_name(namespace.clone());
        }
        if CLUSTER_SCOPED.contains(&resource.kind()) {
            continue;
        }
        if let Some(metadata) = resource.object.get_mut("metadata").and_then(Value::as_object_mut) {
            metadata.insert("namespace".into(), Value::String(namespace.clone()));
        }
    }
}

/// `namePrefix` / `nameSuffix` on every object's name except Namespaces and CRDs, as Kustomize:
/// the prefix first, then the suffix, each a rename of its own, so that the name with only the
/// prefix is among the object's earlier names too. Each object keeps the prefixes and suffixes
/// it got, for [`super::references`].
pub(super) fn prefix_suffix(kustomization: &Kustomization, resources: &mut [Resource]) {
    let (prefix, suffix) = (&kustomization.name_prefix, &kustomization.name_suffix);
    if prefix.is_empty() && suffix.is_empty() {
        return;
    }
    for resource in resources.iter_mut().filter(|resource| !matches!(resource.kind(), "Namespace" | "CustomResourceDefinition")) {
        if !prefix.is_empty() {
            let name = format!("{prefix}{}", resource.name());
            resource.rename(name);
            resource.prefixes.push(prefix.clone());
        }
        if !suffix.is_empty() {
            let name = format!("{}{suffix}", resource.name());
            resource.rename(name);
            resource.suffixes.push(suffix.clone());
        }
    }
}

/// `labels` and `commonLabels`: metadata always; pod templates with `includeTemplates`;
/// selectors (and templates) with `includeSelectors`, which `commonLabels` implies.
pub(super) fn labels(kustomization: &Kustomization, resources: &mut [Resource]) {
    for set in &kustomization.labels {
        for resource in resources.iter_mut() {
            apply_label_set(set, resource);
        }
    }
}

fn apply_label_set(set: &LabelSet, resource: &mut Resource) {
    let kind = resource.kind().to_owned();
    let group = resource.group().to_owned();
    let object = &mut resource.object;
    add_labels(object, &["metadata", "labels"], &set.pairs, true);
    let workload = matches!(kind.as_str(), "Deployment" | "ReplicaSet" | "DaemonSet" | "StatefulSet" | "Job" | "ReplicationController");
    if set.include_templates || set.include_selectors {
        if workload {
            add_labels(object, &["spec", "template", "metadata", "labels"], &set.pairs, true);
        }
        if kind == "CronJob" {
            add_labels(object, &["spec", "jobTemplate", "metadata", "labels"], &set.pairs, true);
            add_labels(object, &["spec", "jobTemplate", "spec", "template", "metadata", "labels"], &set.pairs, true);
        }
        if kind == "StatefulSet"
            && group == "apps"
            && let Some(templates) = object.pointer_mut("/spec/volumeClaimTemplates").and_then(Value::as_array_mut)
        {
            for template in templates {
                add_labels(template, &["metadata", "labels"], &set.pairs, true);
            }
        }
    }
    if !set.include_selectors {
        return;
    }
    match kind.as_str() {
        "Service" | "ReplicationController" => add_labels(object, &["spec", "selector"], &set.pairs, true),
        "Deployment" | "ReplicaSet" | "DaemonSet" | "StatefulSet" => {
            add_labels(object, &["spec", "selector", "matchLabels"], &set.pairs, true);
        }
        "Job" => add_labels(object, &["spec", "selector", "matchLabels"], &set.pairs, false),
        "CronJob" => add_labels(object, &["spec", "jobTemplate", "spec", "selector", "matchLabels"], &set.pairs, false),
        "PodDisruptionBudget" => add_labels(object, &["spec", "selector", "matchLabels"], &set.pairs, false),
        "NetworkPolicy" => add_labels(object, &["spec", "podSelector", "matchLabels"], &set.pairs, false),
        _ => {}
    }
    if matches!(kind.as_str(), "Deployment" | "StatefulSet") && group == "apps" {
        // Existing label selectors inside the pod spec follow the pods' labels.
        if let Some(constraints) = object.pointer_mut("/spec/template/spec/topologySpreadConstraints").and_then(Value::as_array_mut) {
            for constraint in constraints {
                add_labels(constraint, &["labelSelector", "matchLabels"], &set.pairs, false);
            }
        }
        for affinity in ["podAffinity", "podAntiAffinity"] {
            let base = format!("/spec/template/spec/affinity/{affinity}");
            if let Some(terms) =
                object.pointer_mut(&format!("{base}/requiredDuringSchedulingIgnoredDuringExecution")).and_then(Value::as_array_mut)
            {
                for term in terms {
                    add_labels(term, &["labelSelector", "matchLabels"], &set.pairs, false);
                }
            }
            if let Some(terms) =
                object.pointer_mut(&format!("{base}/preferredDuringSchedulingIgnoredDuringExecution")).and_then(Value::as_array_mut)
            {
                for term in terms {
                    add_labels(term, &["podAffinityTerm", "labelSelector", "matchLabels"], &set.pairs, false);
                }
            }
        }
    }
}

/// Adds labels at a path of maps; `create` makes missing maps, otherwise only existing ones
/// are touched.
fn add_labels(object: &mut Value, path: &[&str], pairs: &Map<String, Value>, create: bool) {
    let mut current = object;
    for key in path {
        let Some(map) = current.as_object_mut() else { return };
        if !map.contains_key(*key) || map.get(*key).is_some_and(Value::is_null) {
            if !create {
                return;
            }
            map.insert((*key).to_owned(), Value::Object(Map::new()));
        }
        let Some(next) = map.get_mut(*key) else { return };
        current = next;
    }
    if let Some(map) = current.as_object_mut() {
        map.extend(pairs.clone());
    }
}

/// The kinds `replicas:` scales.
const SCALABLE: [&str; 4] = ["Deployment", "StatefulSet", "ReplicaSet", "ReplicationController"];

/// `replicas:` sets `spec.replicas` of the named Deployments, ReplicaSets, StatefulSets and
/// ReplicationControllers. As in Kustomize, the name may be any the object has had: its current
/// one, its original one, or one an inner overlay gave it; an entry that names none is an error
/// (kubectl: "resource with name ... does not match a config with the following GVK").
pub(super) fn replicas(kustomization: &Kustomization, resources: &mut [Resource]) -> Result<()> {
    for (entry, line) in &kustomization.replicas {
        let name = entry.get("name").and_then(Value::as_str).unwrap_or_default();
        let mut found = false;
        for resource in resources.iter_mut().filter(|resource| SCALABLE.contains(&resource.kind()) && resource.answers_to(name)) {
            found = true;
            let Some(count) = entry.get("count").cloned() else { continue };
            if let Some(spec) = resource.object.get_mut("spec").and_then(Value::as_object_mut) {
                spec.insert("replicas".into(), count);
            } else if let Some(object) = resource.object.as_object_mut() {
                object.insert("spec".into(), serde_json::json!({ "replicas": count }));
            }
        }
        if !found {
            return Err(kustomization.invalid(*line, no_workload_named(name, resources)));
        }
    }
    Ok(())
}

/// The message for a `replicas:` entry that names no workload, with the closest name any
/// workload has had, or the workloads' names when none is close.
fn no_workload_named(name: &str, resources: &[Resource]) -> String {
    let workloads: Vec<&Resource> = resources.iter().filter(|resource| SCALABLE.contains(&resource.kind())).collect();
    let mut names: Vec<&str> = Vec::new();
    for workload in &workloads {
        let earlier = workload.previous_names.iter().map(String::as_str);
        for candidate in [workload.name(), workload.original_name.as_str()].into_iter().chain(earlier) {
            if !names.contains(&candidate) {
                names.push(candidate);
            }
        }
    }
    let help = match stack_config::suggest::closest(name, names.iter().copied()) {
        Some(closest) => format!("did you mean `{closest}`?"),
        None if workloads.is_empty() => "there is no workload to scale in this kustomization's resources; remove the entry".to_owned(),
        None => {
            let current: Vec<String> = workloads.iter().map(|workload| format!("`{}`", workload.name())).collect();
            format!("the workloads here are {} (any name they had in an inner layer works too)", current.join(", "))
        }
    };
    format!(
        "`replicas` entry `{name}` names no Deployment, StatefulSet, ReplicaSet or ReplicationController, by its current name or an earlier one\nhelp: {help}"
    )
}

/// `images:` rewrites the `image` of every container and init container whose image name matches.
pub(super) fn images(kustomization: &Kustomization, resources: &mut [Resource]) {
    if kustomization.images.is_empty() {
        return;
    }
    for resource in resources.iter_mut() {
        rewrite_images(&mut resource.object, &kustomization.images);
    }
}

fn rewrite_images(value: &mut Value, rules: &[Value]) {
    match value {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                if matches!(key.as_str(), "containers" | "initContainers" | "ephemeralContainers") {
                    if let Some(containers) = child.as_array_mut() {
                        for container in containers {
                            if let Some(image) = container.get_mut("image")
                                && let Some(new) = image.as_str().and_then(|text| new_image(text, rules))
                            {
                                *image = Value::String(new);
                            }
                        }
                    }
                } else {
                    rewrite_images(child, rules);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| rewrite_images(item, rules)),
        _ => {}
    }
}

/// Splits an image into name, tag (with its `:`) and digest (with its `@`).
fn split_image(image: &str) -> (&str, &str, &str) {
    let (rest, digest) = match image.find('@') {
        Some(at) => (&image[..at], &image[at..]),
        None => (image, ""),
    };
    let slash = rest.rfind('/').map_or(0, |index| index + 1);
    match rest[slash..].rfind(':') {
        Some(colon) => (&rest[..slash + colon], &rest[slash + colon..], digest),
        None => (rest, "", digest),
    }
}

fn new_image(image: &str, rules: &[Value]) -> Option<String> {
    let (name, tag, digest) = split_image(image);
    let rule = rules.iter().find(|rule| rule.get("name").and_then(Value::as_str) == Some(name))?;
    let text = |field: &str| match rule.get(field) {
        Some(Value::String(text)) => Some(text.clone()),
        Some(Value::Null) | None => None,
        Some(other) => Some(other.to_string()),
    };
    let new_name = text("newName").unwrap_or_else(|| name.to_owned());
    let suffix = match (text("digest"), text("newTag")) {
        (Some(new_digest), _) => format!("@{new_digest}"),
        (None, Some(new_tag)) => format!(":{new_tag}"),
        (None, None) => format!("{tag}{digest}"),
    };
    Some(format!("{new_name}{suffix}"))
}

/// Appends the content hash to every generated name that still needs one.
pub(super) fn add_hash_suffixes(resources: &mut [Resource]) -> Result<()> {
    for resource in resources.iter_mut().filter(|resource| resource.needs_hash) {
        let suffix = generate::hash_suffix(&resource.object)?;
        let name = format!("{}-{suffix}", resource.name());
        resource.rename(name);
        resource.needs_hash = false;
    }
    Ok(())
}

/// Sorts as `kubectl kustomize` does by default (Kustomize's legacy order).
pub(super) fn sort(resources: &mut [Resource]) {
    resources.sort_by(|a, b| {
        let key = |resource: &Resource| {
            let kind = resource.kind();
            let rank: i64 = if let Some(index) = ORDER_FIRST.iter().position(|first| *first == kind) {
                index as i64 - ORDER_FIRST.len() as i64
            } else if let Some(index) = ORDER_LAST.iter().position(|last| *last == kind) {
                index as i64 + 1
            } else {
                0
            };
            let group = if resource.group().is_empty() { "~G" } else { resource.group() };
            let version = if resource.version().is_empty() { "~V" } else { resource.version() };
            let gvk = format!("{group}_{version}_{kind}");
            let namespace = if resource.namespace().is_empty() { "~X" } else { resource.namespace() };
            (rank, gvk, format!("{namespace}|{}", resource.name()))
        };
        key(a).cmp(&key(b))
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn image_rules() {
        let rules = [
            json!({"name": "app", "newName": "reg.io/app", "newTag": "2"}),
            json!({"name": "db", "digest": "sha256:abc"}),
            json!({"name": "localhost:5000/x", "newTag": "t"}),
        ];
        assert_eq!(new_image("app", &rules).as_deref(), Some("reg.io/app:2"));
        assert_eq!(new_image("app:1@sha256:old", &rules).as_deref(), Some("reg.io/app:2"));
        assert_eq!(new_image("db:5", &rules).as_deref(), Some("db@sha256:abc"));
        assert_eq!(new_image("localhost:5000/x:1", &rules).as_deref(), Some("localhost:5000/x:t"));
        assert_eq!(new_image("other:1", &rules), None);
    }
}
