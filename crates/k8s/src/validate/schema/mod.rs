//! The schema check (feature `schema`): every object decodes into its `k8s-openapi` type with
//! nothing dropped. An unknown or misspelt field, a value of the wrong type, a malformed quantity
//! and an apiVersion/kind without a schema are errors with their path.
//!
//! An object whose apiVersion and kind match no type here is an error, not a warning: our
//! overlays use only built-in kinds, and a misspelt kind (`Deploymnet`) or a removed version
//! (`extensions/v1beta1`) must not pass as "not checked". A custom resource gets its type added
//! to [`SCHEMAS`] when an overlay first needs one.

mod decode;
mod quantity;

use std::borrow::Cow;

use k8s_openapi::Resource;
use k8s_openapi::api::{apps, autoscaling, batch, core, networking, policy, rbac, scheduling, storage};
use serde::de::DeserializeOwned;
use serde_json::Value;
use stack_config::suggest;

use super::{FieldPath, Finding, object_id};

/// Decodes every object into its `k8s-openapi` type; the findings follow the objects' order.
pub fn schema(objects: &[Value]) -> Vec<Finding> {
    let mut findings = Vec::new();
    for object in objects {
        check(object, &mut findings);
    }
    findings
}

/// A type objects of one apiVersion and kind decode into.
struct Schema {
    api_version: &'static str,
    kind: &'static str,
    decode: fn(&Value) -> (Result<(), String>, decode::Report),
}

macro_rules! schemas {
    ($($ty:ty),* $(,)?) => {
        /// The kinds validation knows: the built-in kinds overlays use or are likely to.
        const SCHEMAS: &[Schema] = &[$(
            Schema { api_version: <$ty as Resource>::API_VERSION, kind: <$ty as Resource>::KIND, decode: decode_as::<$ty> },
        )*];
    };
}

schemas![
    core::v1::Namespace,
    core::v1::ConfigMap,
    core::v1::Secret,
    core::v1::Service,
    core::v1::ServiceAccount,
    core::v1::PersistentVolumeClaim,
    core::v1::PersistentVolume,
    core::v1::Pod,
    core::v1::Endpoints,
    core::v1::LimitRange,
    core::v1::ResourceQuota,
    apps::v1::Deployment,
    apps::v1::StatefulSet,
    apps::v1::DaemonSet,
    apps::v1::ReplicaSet,
    batch::v1::Job,
    batch::v1::CronJob,
    networking::v1::Ingress,
    networking::v1::IngressClass,
    networking::v1::NetworkPolicy,
    autoscaling::v1::HorizontalPodAutoscaler,
    autoscaling::v2::HorizontalPodAutoscaler,
    policy::v1::PodDisruptionBudget,
    rbac::v1::Role,
    rbac::v1::RoleBinding,
    rbac::v1::ClusterRole,
    rbac::v1::ClusterRoleBinding,
    scheduling::v1::PriorityClass,
    storage::v1::StorageClass,
];

fn decode_as<T: DeserializeOwned>(value: &Value) -> (Result<(), String>, decode::Report) {
    let (result, report) = decode::decode::<T>(value);
    (result.map(drop), report)
}

fn check(object: &Value, findings: &mut Vec<Finding>) {
    let id = object_id(object);
    let root = FieldPath::default();
    let field = |key: &str| object.get(key).and_then(Value::as_str).filter(|s| !s.is_empty());
    let (Some(api_version), Some(kind)) = (field("apiVersion"), field("kind")) else {
        let missing = if field("apiVersion").is_none() { "apiVersion" } else { "kind" };
        findings.push(Finding::error(
            &id,
            &root.key(missing),
            format!("no {missing}"),
            "every object needs apiVersion and kind (e.g. apiVersion: apps/v1, kind: Deployment)",
        ));
        return;
    };
    let Some(schema) = SCHEMAS.iter().find(|s| s.api_version == api_version && s.kind == kind) else {
        findings.push(Finding::error(&id, &root, format!("no schema for {api_version} {kind}"), unknown_kind_help(api_version, kind)));
        return;
    };
    let explain = |path: &FieldPath| {
        let mut target = kind.to_lowercase();
        for key in path.keys() {
            target.push('.');
            target.push_str(key);
        }
        format!("`kubectl explain {target}`")
    };
    let object = &without_base64_line_breaks(object, kind);
    let (result, report) = (schema.decode)(object);
    for unknown in &report.unknown {
        let suggestion = suggest::did_you_mean(&unknown.key, unknown.fields.iter().copied()).unwrap_or_default();
        findings.push(Finding::error(
            &id,
            &unknown.path.key(&unknown.key),
            format!("unknown field `{}` ({} has no such field; Kubernetes would drop it)", unknown.key, unknown.type_name),
            format!("{suggestion} ({} lists the fields)", explain(&unknown.path)),
        ));
    }
    for (path, text) in &report.bad_quantities {
        findings.push(Finding::error(
            &id,
            path,
            format!("invalid quantity `{text}`"),
            "a quantity is a number with an optional suffix: m, k, M, G, T, P, E (powers of 1000), Ki, Mi, Gi, Ti, Pi, Ei \
             (powers of 1024) or an exponent (e3); e.g. 500m, 1, 256Mi",
        ));
    }
    if let Err(message) = result {
        let path = report.error_path.unwrap_or_default();
        findings.push(Finding::error(&id, &path, message, format!("see {} for the field's type", explain(&path))));
    }
}

/// Base64 fields (`Secret.data`, `ConfigMap.binaryData`) with their line breaks removed: Go's
/// decoder, and so the API server, skips them, and Kustomize wraps long values at 76 columns;
/// `k8s-openapi`'s decoder would reject them.
fn without_base64_line_breaks<'a>(object: &'a Value, kind: &str) -> Cow<'a, Value> {
    let section = match kind {
        "Secret" => "data",
        "ConfigMap" => "binaryData",
        _ => return Cow::Borrowed(object),
    };
    let mut object = object.clone();
    if let Some(entries) = object.get_mut(section).and_then(Value::as_object_mut) {
        for value in entries.values_mut() {
            if let Value::String(text) = value {
                text.retain(|c| c != '\n' && c != '\r');
            }
        }
    }
    Cow::Owned(object)
}

/// Where the kind is served when the version is wrong; else the closest known kind.
fn unknown_kind_help(api_version: &str, kind: &str) -> String {
    let versions: Vec<&str> = SCHEMAS.iter().filter(|s| s.kind == kind).map(|s| s.api_version).collect();
    if !versions.is_empty() {
        return format!("{kind} is served as {}, not {api_version}: set apiVersion to it", versions.join(" or "));
    }
    if let Some(close) = suggest::closest(kind, SCHEMAS.iter().map(|s| s.kind)) {
        let api_version = SCHEMAS.iter().find(|s| s.kind == close).map_or("", |s| s.api_version);
        return format!("did you mean `{close}` ({api_version})? Only built-in Kubernetes kinds are known");
    }
    "only built-in Kubernetes kinds are known (custom resources are not); check kind and apiVersion".to_owned()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn findings(object: Value) -> Vec<(String, String)> {
        schema(&[object]).into_iter().map(|f| (f.path, f.message)).collect()
    }

    #[test]
    fn every_schema_is_listed_once() {
        for (i, a) in SCHEMAS.iter().enumerate() {
            assert!(!SCHEMAS[i + 1..].iter().any(|b| a.api_version == b.api_version && a.kind == b.kind), "{} twice", a.kind);
        }
    }

    #[test]
    fn maps_take_any_key_structs_do_not() {
        let config_map = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c", "labels": {"app.kubernetes.io/name": "c"}, "annotations": {"x": "y"}},
            "data": {"ANY_KEY": "v"}});
        assert_eq!(findings(config_map), []);
        let typo = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "lables": {}}, "dta": {}});
        assert_eq!(
            findings(typo),
            [
                ("dta".to_owned(), "unknown field `dta` (ConfigMap has no such field; Kubernetes would drop it)".to_owned()),
                (
                    "metadata.lables".to_owned(),
                    "unknown field `lables` (ObjectMeta has no such field; Kubernetes would drop it)".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn nulls_and_int_or_string_are_accepted() {
        let service = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "creationTimestamp": null},
            "spec": {"ports": [{"port": 80, "targetPort": "http"}, {"port": 81, "targetPort": 8081}], "selector": null}});
        assert_eq!(findings(service), []);
    }

    #[test]
    fn secret_data_is_base64_with_or_without_line_breaks() {
        let secret = |value: &str| json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"K": value}});
        assert_eq!(findings(secret("aGVsbG8g\nd29ybGQ=")), []);
        let bad = findings(secret("not base64!"));
        assert_eq!(bad.len(), 1, "{bad:?}");
        assert_eq!(bad[0].0, "data.K");
    }

    #[test]
    fn quantities_are_checked() {
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [
            {"name": "a", "resources": {"limits": {"cpu": 1, "memory": "1GB"}}}
        ]}});
        assert_eq!(findings(pod), [("spec.containers[0].resources.limits.memory".to_owned(), "invalid quantity `1GB`".to_owned())]);
    }

    #[test]
    fn unknown_kinds_suggest_a_version_or_a_kind() {
        assert_eq!(
            unknown_kind_help("extensions/v1beta1", "Ingress"),
            "Ingress is served as networking.k8s.io/v1, not extensions/v1beta1: set apiVersion to it"
        );
        assert_eq!(
            unknown_kind_help("apps/v1", "Deploymnet"),
            "did you mean `Deployment` (apps/v1)? Only built-in Kubernetes kinds are known"
        );
        assert!(unknown_kind_help("example.com/v1", "Widget").starts_with("only built-in"));
        let object = json!({"apiVersion": "v1", "metadata": {"name": "x"}});
        assert_eq!(findings(object), [("kind".to_owned(), "no kind".to_owned())]);
    }
}
