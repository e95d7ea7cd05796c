//! Kustomize's name-reference fixing: once every rename (prefix, suffix, hash) is done, fields
//! that name a ConfigMap, Secret, Service, ServiceAccount or scaled workload are rewritten to the
//! final names.

use serde_json::Value;

use super::Resource;

/// Rewrites references to ConfigMaps, Secrets, Services, workloads and ServiceAccounts whose
/// names changed (prefix, suffix, hash) to their final names, as Kustomize's name-reference
/// transformer does for the fields our objects use.
pub(super) fn fix_references(resources: &mut [Resource]) {
    let renamed: Vec<(String, String, String, String)> = resources
        .iter()
        .filter(|resource| resource.name() != resource.original_name)
        .map(|resource| {
            (resource.kind().to_owned(), resource.namespace().to_owned(), resource.original_name.clone(), resource.name().to_owned())
        })
        .collect();
    if renamed.is_empty() {
        return;
    }
    for resource in resources.iter_mut() {
        let namespace = resource.namespace().to_owned();
        let lookup = |kind: &str, name: &str| -> Option<String> {
            renamed
                .iter()
                .find(|(k, ns, original, _)| k == kind && original == name && (ns.is_empty() || namespace.is_empty() || *ns == namespace))
                .map(|(_, _, _, new)| new.clone())
        };
        let kind = resource.kind().to_owned();
        let object = &mut resource.object;
        if let Some(pod_spec) = pod_spec_mut(object, &kind) {
            fix_pod_spec(pod_spec, &lookup);
        }
        match kind.as_str() {
            "StatefulSet" => fix_string(object.pointer_mut("/spec/serviceName"), "Service", &lookup),
            "Ingress" => {
                fix_string(object.pointer_mut("/spec/defaultBackend/service/name"), "Service", &lookup);
                fix_string(object.pointer_mut("/spec/backend/serviceName"), "Service", &lookup);
                if let Some(rules) = object.pointer_mut("/spec/rules").and_then(Value::as_array_mut) {
                    for rule in rules {
                        if let Some(paths) = rule.pointer_mut("/http/paths").and_then(Value::as_array_mut) {
                            for path in paths {
                                fix_string(path.pointer_mut("/backend/service/name"), "Service", &lookup);
                                fix_string(path.pointer_mut("/backend/serviceName"), "Service", &lookup);
                            }
                        }
                    }
                }
                if let Some(tls) = object.pointer_mut("/spec/tls").and_then(Value::as_array_mut) {
                    for entry in tls {
                        fix_string(entry.get_mut("secretName"), "Secret", &lookup);
                    }
                }
            }
            "HorizontalPodAutoscaler" => {
                let target_kind = object.pointer("/spec/scaleTargetRef/kind").and_then(Value::as_str).unwrap_or_default().to_owned();
                if matches!(target_kind.as_str(), "Deployment" | "StatefulSet" | "ReplicaSet" | "ReplicationController") {
                    fix_string(object.pointer_mut("/spec/scaleTargetRef/name"), &target_kind, &lookup);
                }
            }
            _ => {}
        }
    }
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

fn fix_pod_spec(spec: &mut Value, lookup: &dyn Fn(&str, &str) -> Option<String>) {
    fix_string(spec.get_mut("serviceAccountName"), "ServiceAccount", lookup);
    if let Some(secrets) = spec.get_mut("imagePullSecrets").and_then(Value::as_array_mut) {
        for secret in secrets {
            fix_string(secret.get_mut("name"), "Secret", lookup);
        }
    }
    if let Some(volumes) = spec.get_mut("volumes").and_then(Value::as_array_mut) {
        for volume in volumes {
            fix_string(volume.pointer_mut("/configMap/name"), "ConfigMap", lookup);
            fix_string(volume.pointer_mut("/secret/secretName"), "Secret", lookup);
            if let Some(sources) = volume.pointer_mut("/projected/sources").and_then(Value::as_array_mut) {
                for source in sources {
                    fix_string(source.pointer_mut("/configMap/name"), "ConfigMap", lookup);
                    fix_string(source.pointer_mut("/secret/name"), "Secret", lookup);
                }
            }
        }
    }
    for list in ["containers", "initContainers", "ephemeralContainers"] {
        let Some(containers) = spec.get_mut(list).and_then(Value::as_array_mut) else { continue };
        for container in containers {
            if let Some(sources) = container.get_mut("envFrom").and_then(Value::as_array_mut) {
                for source in sources {
                    fix_string(source.pointer_mut("/configMapRef/name"), "ConfigMap", lookup);
                    fix_string(source.pointer_mut("/secretRef/name"), "Secret", lookup);
                }
            }
            if let Some(env) = container.get_mut("env").and_then(Value::as_array_mut) {
                for variable in env {
                    fix_string(variable.pointer_mut("/valueFrom/configMapKeyRef/name"), "ConfigMap", lookup);
                    fix_string(variable.pointer_mut("/valueFrom/secretKeyRef/name"), "Secret", lookup);
                }
            }
        }
    }
}

fn fix_string(field: Option<&mut Value>, kind: &str, lookup: &dyn Fn(&str, &str) -> Option<String>) {
    let Some(field) = field else { return };
    let Some(name) = field.as_str() else { return };
    if let Some(new) = lookup(kind, name) {
        *field = Value::String(new);
    }
}
