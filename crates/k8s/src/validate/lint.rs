//! Our lints on rendered objects, beyond what the API server checks: every workload container has
//! resource limits and requests, long-running ones have readiness and liveness probes, images are
//! pinned (except where the profile allows `latest`), and ConfigMaps hold nothing secret.

use serde_json::Value;

use super::{FieldPath, Finding, LintProfile, object_id};

/// Lints `objects` (rendered, in any order); the findings follow the objects' order.
pub fn lint(objects: &[Value], profile: LintProfile) -> Vec<Finding> {
    let mut findings = Vec::new();
    for object in objects {
        let id = object_id(object);
        let kind = object.get("kind").and_then(Value::as_str).unwrap_or_default();
        if kind == "ConfigMap" {
            config_map(&id, object, &mut findings);
        }
        if let Some(workload) = Workload::of(kind) {
            workload.lint(&id, object, profile, &mut findings);
        }
    }
    findings
}

/// Where a kind keeps its pod spec, and whether its pods are meant to keep running (and so need
/// probes; a Job's pod runs to completion).
struct Workload {
    pod_spec: &'static [&'static str],
    long_running: bool,
}

impl Workload {
    fn of(kind: &str) -> Option<Self> {
        const TEMPLATE: &[&str] = &["spec", "template", "spec"];
        Some(match kind {
            "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" => Self { pod_spec: TEMPLATE, long_running: true },
            "Job" => Self { pod_spec: TEMPLATE, long_running: false },
            "CronJob" => Self { pod_spec: &["spec", "jobTemplate", "spec", "template", "spec"], long_running: false },
            "Pod" => Self { pod_spec: &["spec"], long_running: false },
            _ => return None,
        })
    }

    fn lint(&self, id: &str, object: &Value, profile: LintProfile, findings: &mut Vec<Finding>) {
        let mut path = FieldPath::default();
        let mut spec = object;
        for key in self.pod_spec {
            path = path.key(key);
            // A workload without a pod spec is the schema check's business, not a lint's.
            let Some(next) = spec.get(key) else { return };
            spec = next;
        }
        for list in ["initContainers", "containers"] {
            let Some(containers) = spec.get(list).and_then(Value::as_array) else { continue };
            for (i, container) in containers.iter().enumerate() {
                let at = path.key(list).index(i);
                let name = container.get("name").and_then(Value::as_str).unwrap_or("?");
                resources(id, name, container, &at, findings);
                image(id, container, &at, profile, findings);
                if self.long_running && list == "containers" {
                    probes(id, name, container, &at, findings);
                }
            }
        }
    }
}

fn resources(id: &str, name: &str, container: &Value, at: &FieldPath, findings: &mut Vec<Finding>) {
    let resources = container.get("resources");
    for (section, noun, example, why) in [
        ("limits", "limit", "cpu: \"1\", memory: 512Mi", "a container without limits can starve everything else on its node"),
        ("requests", "request", "cpu: 100m, memory: 128Mi", "the scheduler places pods by their requests"),
    ] {
        let path = at.key("resources").key(section);
        let set = resources.and_then(|r| r.get(section)).and_then(Value::as_object).filter(|s| !s.is_empty());
        let Some(set) = set else {
            findings.push(Finding::error(
                id,
                &path,
                format!("no {section} set on container `{name}`"),
                format!("{why}; set resources.{section}.cpu and resources.{section}.memory (e.g. {example})"),
            ));
            continue;
        };
        for resource in ["cpu", "memory"] {
            if set.get(resource).is_none_or(Value::is_null) {
                findings.push(Finding::error(
                    id,
                    &path.key(resource),
                    format!("no {resource} {noun} set on container `{name}`"),
                    format!("{why}; set resources.{section}.{resource}"),
                ));
            }
        }
    }
}

fn probes(id: &str, name: &str, container: &Value, at: &FieldPath, findings: &mut Vec<Finding>) {
    for (probe, what, why) in [
        ("readinessProbe", "readiness", "without it the Service sends traffic to pods that cannot serve it yet"),
        ("livenessProbe", "liveness", "without it a hung process is never restarted"),
    ] {
        if container.get(probe).is_none_or(Value::is_null) {
            findings.push(Finding::error(
                id,
                &at.key(probe),
                format!("no {what} probe on container `{name}`"),
                format!("{why}; add {probe} (e.g. httpGet on the service's /health)"),
            ));
        }
    }
}

fn image(id: &str, container: &Value, at: &FieldPath, profile: LintProfile, findings: &mut Vec<Finding>) {
    let path = at.key("image");
    let Some(image) = container.get("image").and_then(Value::as_str).filter(|i| !i.trim().is_empty()) else {
        findings.push(Finding::error(id, &path, "container has no image", "set `image` (name and pinned tag)"));
        return;
    };
    if profile.allow_latest_images {
        return;
    }
    let problem = match image_tag(image) {
        ImageTag::Digest => return,
        ImageTag::Tag(tag) if tag != "latest" => return,
        ImageTag::Tag(_) => format!("image `{image}` uses the tag `latest`"),
        ImageTag::None => format!("image `{image}` has no tag, which means `latest`"),
    };
    findings.push(Finding::error(
        id,
        &path,
        problem,
        "pin a version tag or a digest (in the overlay's kustomization.yaml: `images: [{name: ..., newTag: 1.2.3}]`); \
         `latest` is allowed only in the minikube overlay, whose images are built locally",
    ));
}

enum ImageTag<'a> {
    Digest,
    Tag(&'a str),
    None,
}

/// The tag of an image reference; a registry port (`host:5000/app`) is not a tag.
fn image_tag(image: &str) -> ImageTag<'_> {
    if image.contains('@') {
        return ImageTag::Digest;
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.split_once(':') {
        Some((_, tag)) if !tag.is_empty() => ImageTag::Tag(tag),
        _ => ImageTag::None,
    }
}

fn config_map(id: &str, object: &Value, findings: &mut Vec<Finding>) {
    const MOVE: &str = "ConfigMaps are stored and shown in plain text: move it into the overlay's secretGenerator \
                        (secrets.env) and read it through a secretRef";
    for section in ["data", "binaryData"] {
        let Some(entries) = object.get(section).and_then(Value::as_object) else { continue };
        let path = FieldPath::default().key(section);
        for (key, value) in entries {
            let at = path.key(key);
            if secret_like_key(key) {
                findings.push(Finding::error(id, &at, format!("key `{key}` looks like a secret in a ConfigMap"), MOVE));
            }
            let Some(text) = value.as_str().filter(|_| section == "data") else { continue };
            if let Some(url) = url_with_password(text) {
                findings.push(Finding::error(id, &at, format!("value is a URL with a password ({url}) in a ConfigMap"), MOVE));
            }
            if text.contains("-----BEGIN") && text.contains("PRIVATE KEY-----") {
                findings.push(Finding::error(id, &at, "value is a private key in a ConfigMap", MOVE));
            }
        }
    }
}

/// Whether a key names a secret: one of its words (split at `_`, `-`, `.` and camelCase humps,
/// case-insensitive) is a secret word, or it contains one of the unmistakable ones.
fn secret_like_key(key: &str) -> bool {
    const WORDS: &[&str] = &["PASS", "PWD", "TOKEN", "TOKENS", "AUTHTOKEN", "SECRETS"];
    const PAIRS: &[[&str; 2]] = &[["API", "KEY"], ["PRIVATE", "KEY"], ["ACCESS", "KEY"], ["SIGNING", "KEY"], ["ENCRYPTION", "KEY"]];
    const INSIDE: &[&str] = &["PASSWORD", "PASSWD", "PASSPHRASE", "SECRET", "CREDENTIAL", "APIKEY", "PRIVATEKEY"];
    let upper = key.to_uppercase();
    if INSIDE.iter().any(|word| upper.contains(word)) {
        return true;
    }
    let words = words(key);
    words.iter().any(|w| WORDS.contains(&w.as_str()))
        || words.windows(2).any(|pair| PAIRS.iter().any(|p| pair[0] == p[0] && pair[1] == p[1]))
}

/// The upper-cased words of a key: `dbPassword_hint` → `DB`, `PASSWORD`, `HINT`.
fn words(key: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut previous_lower = false;
    for c in key.chars() {
        if !c.is_alphanumeric() {
            words.push(std::mem::take(&mut current));
            previous_lower = false;
            continue;
        }
        if c.is_uppercase() && previous_lower {
            words.push(std::mem::take(&mut current));
        }
        previous_lower = c.is_lowercase() || c.is_ascii_digit();
        current.extend(c.to_uppercase());
    }
    words.push(current);
    words.retain(|w| !w.is_empty());
    words
}

/// The first URL in `text` with a password in its user info (`scheme://user:password@host`),
/// with the password masked.
fn url_with_password(text: &str) -> Option<String> {
    let mut rest = text;
    while let Some(start) = rest.find("://") {
        let scheme_start = rest[..start].rfind(|c: char| !(c.is_ascii_alphanumeric() || "+-.".contains(c))).map_or(0, |i| i + 1);
        let after = &rest[start + 3..];
        let authority_end = after.find(|c: char| "/?#".contains(c) || c.is_whitespace()).unwrap_or(after.len());
        let authority = &after[..authority_end];
        if let Some((user_info, host)) = authority.rsplit_once('@')
            && let Some((user, password)) = user_info.split_once(':')
            && !password.is_empty()
        {
            return Some(format!("{}://{user}:***@{host}", &rest[scheme_start..start]));
        }
        rest = after;
    }
    None
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// The paths and messages of the findings of one object.
    fn check(object: Value, profile: LintProfile, expected: &[(&str, &str)]) {
        let findings = lint(&[object], profile);
        let got: Vec<(String, String)> = findings.iter().map(|f| (f.path.clone(), f.message.clone())).collect();
        let expected: Vec<(String, String)> = expected.iter().map(|(p, m)| ((*p).to_owned(), (*m).to_owned())).collect();
        assert_eq!(got, expected, "findings: {findings:#?}");
        assert!(findings.iter().all(|f| f.is_error() && f.help.is_some()));
    }

    fn container() -> Value {
        json!({
            "name": "app",
            "image": "registry.example/app:1.0.0",
            "resources": {"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "100m", "memory": "128Mi"}},
            "readinessProbe": {"httpGet": {"path": "/health", "port": 80}},
            "livenessProbe": {"httpGet": {"path": "/health", "port": 80}},
        })
    }

    fn deployment(container: Value) -> Value {
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "ns"},
            "spec": {"template": {"spec": {"containers": [container]}}},
        })
    }

    fn without(mut value: Value, pointer: &str) -> Value {
        let (parent, key) = pointer.rsplit_once('/').expect("pointer has a parent");
        value.pointer_mut(parent).and_then(Value::as_object_mut).expect("parent is an object").remove(key);
        value
    }

    fn with(mut value: Value, pointer: &str, new: Value) -> Value {
        *value.pointer_mut(pointer).expect("pointer exists") = new;
        value
    }

    const C: &str = "spec.template.spec.containers[0]";

    #[test]
    fn a_complete_workload_passes() {
        check(deployment(container()), LintProfile::default(), &[]);
    }

    #[test]
    fn limits_and_requests_are_required() {
        let limits = format!("{C}.resources.limits");
        check(
            deployment(without(container(), "/resources/limits")),
            LintProfile::default(),
            &[(&limits, "no limits set on container `app`")],
        );
        let memory = format!("{C}.resources.limits.memory");
        check(
            deployment(without(container(), "/resources/limits/memory")),
            LintProfile::default(),
            &[(&memory, "no memory limit set on container `app`")],
        );
        let requests = format!("{C}.resources.requests");
        check(
            deployment(without(container(), "/resources")),
            LintProfile::default(),
            &[(&limits, "no limits set on container `app`"), (&requests, "no requests set on container `app`")],
        );
        // Jobs too: a batch pod can starve a node as well as a service can.
        let job = json!({"kind": "Job", "metadata": {"name": "j"}, "spec": {"template": {"spec": {"containers": [
            {"name": "once", "image": "x:1", "resources": {"requests": {"cpu": "1", "memory": "1Gi"}}}
        ]}}}});
        check(job, LintProfile::default(), &[(&limits, "no limits set on container `once`")]);
    }

    #[test]
    fn long_running_containers_need_probes_jobs_do_not() {
        let probe = format!("{C}.readinessProbe");
        check(
            deployment(without(container(), "/readinessProbe")),
            LintProfile::default(),
            &[(&probe, "no readiness probe on container `app`")],
        );
        let probe = format!("{C}.livenessProbe");
        let statefulset = with(deployment(without(container(), "/livenessProbe")), "/kind", json!("StatefulSet"));
        check(statefulset, LintProfile::default(), &[(&probe, "no liveness probe on container `app`")]);
        let job = with(deployment(without(without(container(), "/livenessProbe"), "/readinessProbe")), "/kind", json!("Job"));
        check(job, LintProfile::default(), &[]);
        let cronjob = json!({"kind": "CronJob", "metadata": {"name": "c"}, "spec": {"jobTemplate": {"spec": {"template": {"spec": {
            "containers": [without(container(), "/resources/requests")]
        }}}}}});
        check(
            cronjob,
            LintProfile::default(),
            &[("spec.jobTemplate.spec.template.spec.containers[0].resources.requests", "no requests set on container `app`")],
        );
    }

    #[test]
    fn images_are_pinned_unless_the_profile_allows_latest() {
        let image = format!("{C}.image");
        for (reference, problem) in [
            ("app", Some("image `app` has no tag, which means `latest`")),
            ("app:latest", Some("image `app:latest` uses the tag `latest`")),
            ("localhost:5000/app", Some("image `localhost:5000/app` has no tag, which means `latest`")),
            ("localhost:5000/app:2.1", None),
            ("app@sha256:0123abcd", None),
            ("app:dev", None),
        ] {
            let object = deployment(with(container(), "/image", json!(reference)));
            let expected: Vec<(&str, &str)> = problem.map(|p| (image.as_str(), p)).into_iter().collect();
            check(object.clone(), LintProfile::default(), &expected);
            check(object, LintProfile::for_overlay("minikube"), &[]);
        }
        check(deployment(without(container(), "/image")), LintProfile::for_overlay("minikube"), &[(&image, "container has no image")]);
        assert!(!LintProfile::for_overlay("prod").allow_latest_images);
    }

    #[test]
    fn configmaps_hold_no_secrets() {
        let config_map = |data: Value| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": data});
        check(
            config_map(json!({"NODE_ENV": "production", "REDIS_HOST": "redis", "RABBITMQ_PORT": "5672", "BYPASS_CACHE": "1",
                "MONGO_URI_HOST": "mongodb://mongo:27017/db", "KEYBOARD": "us", "AUTH_URL": "https://user@sso.example/"})),
            LintProfile::default(),
            &[],
        );
        for key in [
            "DB_PASSWORD",
            "db_password",
            "dbPassword",
            "REDIS_PASS",
            "API_KEY",
            "apiKey",
            "GITHUB_TOKEN",
            "client-secret",
            "AWS_SECRET_ACCESS_KEY",
            "PRIVATE_KEY",
            "credentials.json",
            "SMTP_PWD",
        ] {
            let path = FieldPath::default().key("data").key(key).to_string();
            let message = format!("key `{key}` looks like a secret in a ConfigMap");
            check(config_map(json!({ key: "x" })), LintProfile::default(), &[(&path, &message)]);
        }
        check(
            config_map(json!({"RABBITMQ_URL": "amqps://srv:hunter2@host.cloudamqp.com/vhost"})),
            LintProfile::default(),
            &[("data.RABBITMQ_URL", "value is a URL with a password (amqps://srv:***@host.cloudamqp.com) in a ConfigMap")],
        );
        check(
            config_map(json!({"MONGO": "hosts=mongodb://u:p@a:1,b:2/db?replicaSet=rs0"})),
            LintProfile::default(),
            &[("data.MONGO", "value is a URL with a password (mongodb://u:***@a:1,b:2) in a ConfigMap")],
        );
        check(
            config_map(json!({"tls.pem": "-----BEGIN RSA PRIVATE KEY-----\nabc\n-----END RSA PRIVATE KEY-----\n"})),
            LintProfile::default(),
            &[(r#"data["tls.pem"]"#, "value is a private key in a ConfigMap")],
        );
    }

    #[test]
    fn words_split_at_separators_and_humps() {
        assert_eq!(words("dbPassword_hint"), ["DB", "PASSWORD", "HINT"]);
        assert_eq!(words("RABBITMQ_DEFAULT_PASS"), ["RABBITMQ", "DEFAULT", "PASS"]);
        assert_eq!(words("s3Bucket.name"), ["S3", "BUCKET", "NAME"]);
    }
}
