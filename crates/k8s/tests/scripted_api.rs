//! The live-cluster driver against a scripted API server: what a real cluster cannot show
//! cheaply (API errors, field-manager conflicts, immutable fields, timeouts, pods stuck in
//! ImagePullBackOff, Secret masking), as kube's own tests do it — a `kube::Client` over a
//! `tower_test` mock, answered by a script, every request recorded for the assertions.
//!
//! Alone: `cargo test -p stack-k8s --features cluster,k8s-openapi/v1_33 --test scripted_api`.

#![cfg(feature = "cluster")]
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::{Request, Response};
use kube::client::Body;
use serde_json::{Value, json};
use stack_k8s::Error;
use stack_k8s::cluster::apply::{Applied, ApplyOptions, Outcome, apply};
use stack_k8s::cluster::diff::{Change, diff};
use stack_k8s::cluster::rollout::{Workload, WorkloadKind, wait_all};
use stack_k8s::cluster::session::{Apply as SessionApply, Conflicts, Mode, OnFailure, Open, Prune, Session};
use stack_k8s::cluster::{Client, ClusterInfo, Resolver};

/// The namespace of every scripted object.
const NS: &str = "srvthreds";

/// How long one driver call may take before the test fails (the longest scripted wait is 1 s).
const WITHIN: Duration = Duration::from_secs(20);

/// A request the scripted server received.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    /// Decoded query pairs, in order.
    query: Vec<(String, String)>,
    content_type: Option<String>,
    /// The JSON body (`Null` when empty).
    body: Value,
}

impl Seen {
    /// `METHOD path`, without the query.
    fn call(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    fn param(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// A discovery request: `/api/v1` or `/apis/<group>/<version>`.
    fn group_version(&self) -> Option<String> {
        let parts: Vec<&str> = self.path.trim_start_matches('/').split('/').collect();
        match parts.as_slice() {
            ["api", version] => Some((*version).to_owned()),
            ["apis", group, version] => Some(format!("{group}/{version}")),
            _ => None,
        }
    }
}

/// The script's answer to one request.
enum Reply {
    /// A response with this status and JSON body.
    Json(u16, Value),
    /// No response: the transport fails with this I/O error kind (a timeout, a reset).
    Fail(std::io::ErrorKind),
}

/// A scripted API server: the script answers first; discovery of the core, apps, batch and
/// networking groups is built in for what it leaves. Every request is recorded.
struct ApiServer {
    log: Arc<Mutex<Vec<Seen>>>,
}

impl ApiServer {
    /// A client of a server that answers with `script`. A request neither the script nor
    /// discovery answers gets a 500 naming it, so the driver's error shows it.
    fn start(mut script: impl FnMut(&Seen) -> Option<Reply> + Send + 'static) -> (Client, ApiServer) {
        let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        let log = Arc::new(Mutex::new(Vec::new()));
        let recorded = Arc::clone(&log);
        tokio::spawn(async move {
            while let Some((request, send)) = handle.next_request().await {
                let seen = read(request).await;
                let reply = script(&seen)
                    .or_else(|| seen.group_version().and_then(|gv| discovery(&gv)).map(|list| Reply::Json(200, list)))
                    .unwrap_or_else(|| Reply::Json(500, status(500, "InternalError", &format!("unscripted request: {}", seen.call()))));
                recorded.lock().unwrap().push(seen);
                match reply {
                    Reply::Json(code, body) => send.send_response(
                        Response::builder()
                            .status(code)
                            .header("content-type", "application/json")
                            .body(Body::from(serde_json::to_vec(&body).unwrap()))
                            .unwrap(),
                    ),
                    Reply::Fail(kind) => send.send_error(std::io::Error::new(kind, "scripted transport failure")),
                }
            }
        });
        (Client::new(service, "default"), ApiServer { log })
    }

    /// Every request but discovery, in order.
    fn requests(&self) -> Vec<Seen> {
        self.log.lock().unwrap().iter().filter(|s| s.group_version().is_none()).cloned().collect()
    }

    /// `METHOD path` of every request but discovery, in order.
    fn calls(&self) -> Vec<String> {
        self.requests().iter().map(Seen::call).collect()
    }

    /// The discovery requests, as the group versions asked for.
    fn discovered(&self) -> Vec<String> {
        self.log.lock().unwrap().iter().filter_map(Seen::group_version).collect()
    }
}

async fn read(request: Request<Body>) -> Seen {
    let (parts, body) = request.into_parts();
    let bytes = body.collect_bytes().await.unwrap();
    Seen {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts
            .uri
            .query()
            .unwrap_or_default()
            .split('&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                (percent_decode(k), percent_decode(v))
            })
            .collect(),
        content_type: parts.headers.get("content-type").map(|v| v.to_str().unwrap().to_owned()),
        body: if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap() },
    }
}

/// `application/x-www-form-urlencoded` decoding of one query key or value.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                out.push(u8::from_str_radix(&text[i + 1..i + 3], 16).unwrap());
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap()
}

/// The `APIResourceList` of a group version the scripted server serves.
fn discovery(group_version: &str) -> Option<Value> {
    let resources: &[(&str, &str, bool)] = match group_version {
        "v1" => &[
            ("namespaces", "Namespace", false),
            ("configmaps", "ConfigMap", true),
            ("services", "Service", true),
            ("secrets", "Secret", true),
            ("pods", "Pod", true),
            ("events", "Event", true),
        ],
        "apps/v1" => &[
            ("deployments", "Deployment", true),
            ("deployments/scale", "Scale", true),
            ("replicasets", "ReplicaSet", true),
            ("statefulsets", "StatefulSet", true),
        ],
        "batch/v1" => &[("jobs", "Job", true)],
        "networking.k8s.io/v1" => &[("ingresses", "Ingress", true)],
        _ => return None,
    };
    let resources: Vec<Value> = resources
        .iter()
        .map(|(name, kind, namespaced)| {
            let verbs = if name.contains('/') {
                json!(["get", "patch", "update"])
            } else {
                json!(["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"])
            };
            json!({"name": name, "singularName": "", "namespaced": namespaced, "kind": kind, "verbs": verbs})
        })
        .collect();
    Some(json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources}))
}

/// A `Status` failure, as the API server sends with an error code.
fn status(code: u16, reason: &str, message: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message, "reason": reason, "code": code})
}

fn not_found(resource: &str, name: &str) -> Reply {
    Reply::Json(404, status(404, "NotFound", &format!("{resource} \"{name}\" not found")))
}

/// `object` as the server stores it: with a resource version (and a uid).
fn stored(object: &Value, resource_version: &str) -> Value {
    let mut object = object.clone();
    object["metadata"]["resourceVersion"] = json!(resource_version);
    object["metadata"]["uid"] = json!("0b6c1d2e-0000-4000-8000-000000000001");
    object
}

fn config_map(data: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": NS}, "data": data})
}

fn deployment_object() -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "engine", "namespace": NS},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "engine"}},
            "template": {"metadata": {"labels": {"app": "engine"}}, "spec": {"containers": [{"name": "engine", "image": "registry/engine:v2"}]}}
        }
    })
}

fn job_object() -> Value {
    json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "migrate", "namespace": NS},
        "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "migrate", "image": "registry/migrate:v2"}]}}}
    })
}

fn options() -> ApplyOptions {
    ApplyOptions { applyset: "minikube".to_owned(), force_conflicts: false, prune: false, dry_run: false }
}

/// Applies `objects` through a server running `script`; the report or error, and the server.
async fn apply_with(
    objects: &[Value],
    script: impl FnMut(&Seen) -> Option<Reply> + Send + 'static,
) -> (Result<Vec<Applied>, Error>, ApiServer) {
    let (client, server) = ApiServer::start(script);
    let mut resolver = Resolver::new(client);
    let mut reported = Vec::new();
    let result = tokio::time::timeout(WITHIN, apply(&mut resolver, objects, NS, &options(), &mut |a| reported.push(a.clone())))
        .await
        .expect("apply did not finish");
    if let Ok(report) = &result {
        assert_eq!(report.len(), reported.len(), "every applied object is reported through progress");
    }
    (result, server)
}

const CM_PATH: &str = "/api/v1/namespaces/srvthreds/configmaps/settings";
const DEPLOY_PATH: &str = "/apis/apps/v1/namespaces/srvthreds/deployments/engine";
const JOB_PATH: &str = "/apis/batch/v1/namespaces/srvthreds/jobs/migrate";

/// Applies one ConfigMap whose live state is `live` and which the PATCH turns into `applied`.
async fn check_outcome(live: Option<Value>, applied: Value, expected: Outcome) {
    let object = config_map(json!({"mode": "new"}));
    let script = move |seen: &Seen| match (seen.method.as_str(), seen.path.as_str()) {
        ("GET", CM_PATH) => Some(live.clone().map_or_else(|| not_found("configmaps", "settings"), |l| Reply::Json(200, l))),
        ("PATCH", CM_PATH) => Some(Reply::Json(200, applied.clone())),
        _ => None,
    };
    let (result, server) = apply_with(std::slice::from_ref(&object), script).await;
    let report = result.unwrap();
    assert_eq!(report.len(), 1);
    assert_eq!(report[0].object.to_string(), "configmap/settings");
    assert_eq!(report[0].outcome, expected);
    assert_eq!(report[0].took_over, None);
    assert_eq!(server.discovered(), ["v1"]);
    assert_eq!(server.calls(), [format!("GET {CM_PATH}"), format!("PATCH {CM_PATH}")]);
    let patch = &server.requests()[1];
    assert_eq!(patch.query, [("fieldManager".to_owned(), "srvthreds".to_owned())], "no force, no dry run");
    assert_eq!(patch.content_type.as_deref(), Some("application/apply-patch+yaml"));
    assert_eq!(patch.body, object, "the object is sent as rendered");
}

#[tokio::test]
async fn apply_reports_created_unchanged_and_configured() {
    let old = config_map(json!({"mode": "old"}));
    let new = config_map(json!({"mode": "new"}));
    check_outcome(None, stored(&new, "1"), Outcome::Created).await;
    check_outcome(Some(stored(&new, "1")), stored(&new, "1"), Outcome::Unchanged).await;
    check_outcome(Some(stored(&old, "1")), stored(&new, "2"), Outcome::Configured).await;
    // Kubernetes before 1.22 bumps the version of a no-op apply: same content is unchanged.
    let mut bumped = stored(&new, "2");
    bumped["metadata"]["managedFields"] = json!([{"manager": "srvthreds", "operation": "Apply", "time": "2026-11-27T09:00:00Z"}]);
    check_outcome(Some(stored(&new, "1")), bumped, Outcome::Unchanged).await;
}

/// The 409 of a server-side apply of `engine`, worded as the API server words it
/// (`managedfields/internal/conflict.go`): one (manager, field) per conflict, the manager as
/// the server prints it (`"kubectl-edit" using apps/v1`), grouped by manager in the given order.
fn conflict(conflicts: &[(&str, &str)]) -> Value {
    let message = match conflicts {
        [(manager, field)] => format!("Apply failed with 1 conflict: conflict with {manager}: {field}"),
        _ => {
            let mut lines: Vec<String> = Vec::new();
            let mut managers: Vec<&str> = conflicts.iter().map(|(m, _)| *m).collect();
            managers.dedup();
            for manager in managers {
                lines.push(format!("conflicts with {manager}:"));
                lines.extend(conflicts.iter().filter(|(m, _)| *m == manager).map(|(_, field)| format!("- {field}")));
            }
            format!("Apply failed with {} conflicts: {}", conflicts.len(), lines.join("\n"))
        }
    };
    let causes: Vec<Value> = conflicts
        .iter()
        .map(|(manager, field)| json!({"reason": "FieldManagerConflict", "message": format!("conflict with {manager}"), "field": field}))
        .collect();
    let mut status = status(409, "Conflict", &message);
    status["details"] = json!({"name": "engine", "group": "apps", "kind": "deployments", "causes": causes});
    status
}

/// Managers as the API server prints them: an edit, and our own scale and rollback commands.
const KUBECTL_EDIT: &str = r#""kubectl-edit" using apps/v1"#;
const OUR_SCALE: &str = r#""srvthreds-scale" with subresource "scale" using apps/v1 at 2026-11-27T09:00:00Z"#;
const OUR_ROLLBACK: &str = r#""srvthreds-rollback" using apps/v1 at 2026-11-27T09:05:00Z"#;
const IMAGE_FIELD: &str = r#".spec.template.spec.containers[name="engine"].image"#;

#[tokio::test]
async fn conflict_with_a_foreign_manager_fails_and_names_force_conflicts() {
    let live = stored(&deployment_object(), "5");
    let script = move |seen: &Seen| match (seen.method.as_str(), seen.path.as_str()) {
        ("GET", DEPLOY_PATH) => Some(Reply::Json(200, live.clone())),
        ("PATCH", DEPLOY_PATH) => Some(Reply::Json(409, conflict(&[(KUBECTL_EDIT, ".spec.replicas")]))),
        _ => None,
    };
    let (result, server) = apply_with(&[deployment_object()], script).await;
    let error = result.unwrap_err();
    let message = r#"Apply failed with 1 conflict: conflict with "kubectl-edit" using apps/v1: .spec.replicas"#;
    assert!(matches!(&error, Error::Conflict { resource, message: m } if resource == "deployment/engine" && m == message), "{error:?}");
    assert_eq!(
        error.to_string(),
        format!(
            "cannot apply deployment/engine: fields are owned by another manager: {message}\nhelp: apply again forcing the conflicts to take them over, or change them through their owner"
        )
    );
    assert_eq!(server.calls(), [format!("GET {DEPLOY_PATH}"), format!("PATCH {DEPLOY_PATH}")], "no second, forced PATCH");
    assert_eq!(server.requests()[1].param("force"), None);
}

#[tokio::test]
async fn conflict_with_our_scale_command_is_taken_over() {
    // `cargo xtask k8s scale engine 5` ran since the last apply; the overlay says 2.
    let mut live = stored(&deployment_object(), "5");
    live["spec"]["replicas"] = json!(5);
    let applied = stored(&deployment_object(), "6");
    let script = move |seen: &Seen| match (seen.method.as_str(), seen.path.as_str(), seen.param("force")) {
        ("GET", DEPLOY_PATH, _) => Some(Reply::Json(200, live.clone())),
        ("PATCH", DEPLOY_PATH, None) => Some(Reply::Json(409, conflict(&[(OUR_SCALE, ".spec.replicas")]))),
        ("PATCH", DEPLOY_PATH, Some("true")) => Some(Reply::Json(200, applied.clone())),
        _ => None,
    };
    let (result, server) = apply_with(&[deployment_object()], script).await;
    let report = result.unwrap();
    assert_eq!(report.len(), 1);
    assert_eq!(report[0].outcome, Outcome::Configured);
    assert_eq!(
        report[0].took_over.as_deref(),
        Some(
            r#"Apply failed with 1 conflict: conflict with "srvthreds-scale" with subresource "scale" using apps/v1 at 2026-11-27T09:00:00Z: .spec.replicas"#
        )
    );
    assert_eq!(server.calls(), [format!("GET {DEPLOY_PATH}"), format!("PATCH {DEPLOY_PATH}"), format!("PATCH {DEPLOY_PATH}")]);
    let requests = server.requests();
    assert_eq!(requests[1].param("force"), None, "the first apply does not force");
    assert_eq!(requests[2].param("force"), Some("true"), "the second apply forces");
    assert_eq!(requests[2].param("fieldManager"), Some("srvthreds"));
    assert_eq!(requests[2].content_type.as_deref(), Some("application/apply-patch+yaml"));
}

/// A Deployment apply whose first PATCH conflicts as `answer` says; a forced PATCH succeeds.
async fn apply_engine_against(answer: Value) -> (Result<Vec<Applied>, Error>, ApiServer) {
    let mut live = stored(&deployment_object(), "5");
    live["spec"]["replicas"] = json!(5);
    let applied = stored(&deployment_object(), "6");
    let script = move |seen: &Seen| match (seen.method.as_str(), seen.path.as_str(), seen.param("force")) {
        ("GET", DEPLOY_PATH, _) => Some(Reply::Json(200, live.clone())),
        ("PATCH", DEPLOY_PATH, None) => Some(Reply::Json(409, answer.clone())),
        ("PATCH", DEPLOY_PATH, Some("true")) => Some(Reply::Json(200, applied.clone())),
        _ => None,
    };
    apply_with(&[deployment_object()], script).await
}

#[tokio::test]
async fn several_conflicts_including_a_foreign_manager_fail() {
    let answer = conflict(&[(KUBECTL_EDIT, IMAGE_FIELD), (OUR_SCALE, ".spec.replicas")]);
    let message = answer["message"].as_str().unwrap().to_owned();
    let (result, server) = apply_engine_against(answer).await;
    let error = result.unwrap_err();
    assert!(matches!(&error, Error::Conflict { resource, message: m } if resource == "deployment/engine" && *m == message), "{error:?}");
    assert!(error.to_string().contains("forcing the conflicts"), "{error}");
    assert_eq!(server.calls(), [format!("GET {DEPLOY_PATH}"), format!("PATCH {DEPLOY_PATH}")], "no second, forced PATCH");
}

#[tokio::test]
async fn several_conflicts_with_our_own_commands_are_taken_over() {
    // After `k8s rollback` (image) and `k8s scale` (replicas), the next apply conflicts with both.
    let answer = conflict(&[(OUR_ROLLBACK, IMAGE_FIELD), (OUR_SCALE, ".spec.replicas")]);
    let message = answer["message"].as_str().unwrap().to_owned();
    let (result, server) = apply_engine_against(answer).await;
    let report = result.unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(report[0].outcome, Outcome::Configured);
    assert_eq!(report[0].took_over.as_deref(), Some(message.as_str()));
    assert_eq!(server.calls(), [format!("GET {DEPLOY_PATH}"), format!("PATCH {DEPLOY_PATH}"), format!("PATCH {DEPLOY_PATH}")]);
    assert_eq!(server.requests()[2].param("force"), Some("true"));
}

#[tokio::test]
async fn job_with_an_immutable_template_is_deleted_and_created_again() {
    let live = stored(&job_object(), "7");
    let created = stored(&job_object(), "9");
    let mut deleted = false;
    let mut reads_after_delete = 0;
    let script = move |seen: &Seen| match (seen.method.as_str(), seen.path.as_str()) {
        ("GET", JOB_PATH) if !deleted => Some(Reply::Json(200, live.clone())),
        // Foreground deletion: the Job stays (with a deletionTimestamp) while its pods go.
        ("GET", JOB_PATH) => {
            reads_after_delete += 1;
            if reads_after_delete == 1 {
                let mut terminating = live.clone();
                terminating["metadata"]["deletionTimestamp"] = json!("2026-11-27T09:00:00Z");
                Some(Reply::Json(200, terminating))
            } else {
                Some(not_found("jobs.batch", "migrate"))
            }
        }
        ("PATCH", JOB_PATH) if !deleted => Some(Reply::Json(
            422,
            status(
                422,
                "Invalid",
                "Job.batch \"migrate\" is invalid: spec.template: Invalid value: core.PodTemplateSpec{...}: field is immutable",
            ),
        )),
        ("PATCH", JOB_PATH) => Some(Reply::Json(201, created.clone())),
        ("DELETE", JOB_PATH) => {
            deleted = true;
            Some(Reply::Json(200, json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"})))
        }
        _ => None,
    };
    let (result, server) = apply_with(&[job_object()], script).await;
    let report = result.unwrap();
    assert_eq!(report.len(), 1);
    assert_eq!(report[0].object.to_string(), "job/migrate");
    assert_eq!(report[0].outcome, Outcome::Recreated);
    assert_eq!(
        server.calls(),
        [
            format!("GET {JOB_PATH}"),
            format!("PATCH {JOB_PATH}"),
            format!("DELETE {JOB_PATH}"),
            format!("GET {JOB_PATH}"),
            format!("GET {JOB_PATH}"),
            format!("PATCH {JOB_PATH}"),
        ]
    );
    let requests = server.requests();
    assert_eq!(requests[2].body["propagationPolicy"], "Foreground", "{}", requests[2].body);
    assert_eq!(requests[5].param("fieldManager"), Some("srvthreds"));
    assert_eq!(requests[5].param("force"), None);
}

#[tokio::test]
async fn server_error_on_apply_is_rejected_with_its_code() {
    let script = |seen: &Seen| match (seen.method.as_str(), seen.path.as_str()) {
        ("GET", CM_PATH) => Some(not_found("configmaps", "settings")),
        ("PATCH", CM_PATH) => Some(Reply::Json(500, status(500, "InternalError", "etcdserver: request timed out"))),
        _ => None,
    };
    let (result, server) = apply_with(&[config_map(json!({"mode": "new"}))], script).await;
    let error = result.unwrap_err();
    assert!(
        matches!(&error, Error::Rejected { resource, message, help: None }
            if resource == "configmap/settings (v1)" && message == "etcdserver: request timed out (HTTP 500)"),
        "{error:?}"
    );
    assert_eq!(error.to_string(), "configmap/settings (v1) was rejected by the API server: etcdserver: request timed out (HTTP 500)");
    assert_eq!(server.calls(), [format!("GET {CM_PATH}"), format!("PATCH {CM_PATH}")], "a server error is not retried");
}

#[tokio::test]
async fn transport_timeout_on_apply_is_an_api_error_naming_the_step() {
    let script = |seen: &Seen| match (seen.method.as_str(), seen.path.as_str()) {
        ("GET", CM_PATH) => Some(not_found("configmaps", "settings")),
        ("PATCH", CM_PATH) => Some(Reply::Fail(std::io::ErrorKind::TimedOut)),
        _ => None,
    };
    let (result, server) = apply_with(&[config_map(json!({"mode": "new"}))], script).await;
    let error = result.unwrap_err();
    assert!(matches!(&error, Error::Api { action, resource, .. } if action == "apply" && resource == "configmap/settings"), "{error:?}");
    assert_eq!(error.to_string(), "cannot apply configmap/settings");
    let source = std::error::Error::source(&error).expect("the kube error is the source").to_string();
    assert!(source.contains("scripted transport failure"), "{source}");
    assert_eq!(server.calls(), [format!("GET {CM_PATH}"), format!("PATCH {CM_PATH}")]);
}

#[tokio::test]
async fn unserved_api_version_is_rejected_with_a_version_hint() {
    let hpa = json!({
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "engine", "namespace": NS},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "engine"}, "minReplicas": 1, "maxReplicas": 3}
    });
    // What a 1.20 API server answers for a group version it does not have.
    let script = |seen: &Seen| {
        (seen.method == "GET" && seen.path == "/apis/autoscaling/v2")
            .then(|| Reply::Json(404, status(404, "NotFound", "the server could not find the requested resource")))
    };
    let (result, server) = apply_with(&[hpa], script).await;
    let error = result.unwrap_err();
    let Error::Rejected { resource, message, help } = &error else { panic!("expected Rejected, got {error:?}") };
    assert_eq!(resource, "autoscaling/v2 HorizontalPodAutoscaler");
    assert!(message.starts_with("the API server does not serve this kind ("), "{message}");
    assert!(message.contains("the server could not find the requested resource"), "{message}");
    let help = help.as_deref().expect("a help line");
    assert!(help.contains("Kubernetes version"), "{help}");
    let text = error.to_string();
    assert!(
        text.starts_with(
            "autoscaling/v2 HorizontalPodAutoscaler was rejected by the API server: the API server does not serve this kind ("
        ),
        "{text}"
    );
    assert!(text.ends_with(&format!("\nhelp: {help}")), "{text}");
    assert_eq!(server.discovered(), ["autoscaling/v2"]);
    assert!(server.calls().is_empty(), "nothing is read or applied: {:?}", server.calls());
}

/// The messages of `error` and of its sources, outermost first.
fn chain(error: &Error) -> Vec<String> {
    let mut out = vec![error.to_string()];
    let mut source = std::error::Error::source(error);
    while let Some(e) = source {
        out.push(e.to_string());
        source = e.source();
    }
    out
}

#[tokio::test]
async fn discovery_timeout_is_not_reported_as_an_unserved_kind() {
    let script = |seen: &Seen| (seen.method == "GET" && seen.path == "/api/v1").then_some(Reply::Fail(std::io::ErrorKind::TimedOut));
    let (result, server) = apply_with(&[config_map(json!({"mode": "new"}))], script).await;
    let error = result.unwrap_err();
    let text = error.to_string();
    assert!(!matches!(&error, Error::Rejected { .. }), "a timeout is not a rejection: {text}");
    assert!(!text.contains("does not serve") && !text.contains("Kubernetes version"), "{text}");
    assert!(text.contains("v1 ConfigMap"), "the error names the kind it was resolving: {text}");
    let chain = chain(&error);
    assert!(chain.iter().any(|m| m.contains("scripted transport failure")), "the transport error is a source: {chain:?}");
    assert!(server.calls().is_empty(), "{:?}", server.calls());
}

#[tokio::test]
async fn prune_fails_when_the_discovery_of_a_kind_fails() {
    let object = config_map(json!({"mode": "new"}));
    let created = stored(&object, "1");
    let script = move |seen: &Seen| match (seen.method.as_str(), seen.path.as_str()) {
        ("GET", "/apis/batch/v1") => Some(Reply::Fail(std::io::ErrorKind::TimedOut)),
        ("GET", CM_PATH) => Some(not_found("configmaps", "settings")),
        ("PATCH", CM_PATH) => Some(Reply::Json(200, created.clone())),
        ("GET", _) if seen.param("labelSelector") == Some("srvthreds.io/applyset=minikube") => Some(Reply::Json(
            200,
            json!({"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1", "metadata": {}, "items": []}),
        )),
        _ => None,
    };
    let (client, server) = ApiServer::start(script);
    let mut resolver = Resolver::new(client);
    let options = ApplyOptions { prune: true, ..options() };
    let result =
        tokio::time::timeout(WITHIN, apply(&mut resolver, &[object], NS, &options, &mut |_| {})).await.expect("apply did not finish");
    assert!(server.discovered().contains(&"batch/v1".to_owned()), "{:?}", server.discovered());
    // Jobs of the apply set may be left over: the prune cannot say it is complete.
    let error = result.expect_err("a prune that could not look at Jobs succeeded");
    assert!(error.to_string().contains("batch/v1") && error.to_string().contains("Job"), "{error}");
}

// --- rollout waits -------------------------------------------------------------------------

const PODS_PATH: &str = "/api/v1/namespaces/srvthreds/pods";
const EVENTS_PATH: &str = "/api/v1/namespaces/srvthreds/events";
const REPLICASETS_PATH: &str = "/apis/apps/v1/namespaces/srvthreds/replicasets";

/// The live Deployment `engine` at revision 2: its controller observed the spec, nothing is
/// updated yet.
fn live_deployment() -> Value {
    let mut d = stored(&deployment_object(), "11");
    d["metadata"]["generation"] = json!(2);
    d["metadata"]["annotations"] = json!({"deployment.kubernetes.io/revision": "2"});
    d["status"] = json!({"observedGeneration": 2, "replicas": 2, "updatedReplicas": 0, "availableReplicas": 0});
    d
}

/// The ReplicaSet of `engine` at `revision`, with pod-template-hash `hash`.
fn replica_set(revision: &str, hash: &str) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {
            "name": format!("engine-{hash}"), "namespace": NS,
            "labels": {"app": "engine", "pod-template-hash": hash},
            "annotations": {"deployment.kubernetes.io/revision": revision},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "engine", "uid": "d-1", "controller": true}]
        },
        "spec": {"selector": {"matchLabels": {"app": "engine", "pod-template-hash": hash}}}
    })
}

/// A pod of ReplicaSet `hash` whose container `engine` is in `state`.
fn pod(name: &str, hash: &str, state: Value) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": NS, "labels": {"app": "engine", "pod-template-hash": hash}},
        "status": {
            "phase": "Pending",
            "conditions": [{"type": "Ready", "status": "False"}],
            "containerStatuses": [{"name": "engine", "ready": false, "restartCount": 0, "image": "registry/engine:v2", "imageID": "", "state": state}]
        }
    })
}

fn event(pod: &str, type_: &str, reason: &str, message: &str, count: i32) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": format!("{pod}.1"), "namespace": NS},
        "involvedObject": {"kind": "Pod", "name": pod, "namespace": NS},
        "type": type_, "reason": reason, "message": message, "count": count,
        "lastTimestamp": "2026-11-27T09:00:00Z"
    })
}

fn list(kind: &str, items: Vec<Value>) -> Reply {
    Reply::Json(200, json!({"kind": kind, "apiVersion": "v1", "metadata": {"resourceVersion": "20"}, "items": items}))
}

/// A server for the rollout of `engine`: the live Deployment, its old (revision 1) and current
/// (revision 2) ReplicaSets, `pods`, and `events` for any pod.
fn rollout_server(pods: Vec<Value>, events: Vec<Value>) -> (Client, ApiServer) {
    let deployment = live_deployment();
    ApiServer::start(move |seen: &Seen| match (seen.method.as_str(), seen.path.as_str()) {
        ("GET", DEPLOY_PATH) => Some(Reply::Json(200, deployment.clone())),
        ("GET", REPLICASETS_PATH) if seen.param("labelSelector") == Some("app=engine") => {
            Some(list("ReplicaSetList", vec![replica_set("1", "old111"), replica_set("2", "new222")]))
        }
        ("GET", PODS_PATH) if seen.param("labelSelector") == Some("app=engine") => Some(list("PodList", pods.clone())),
        ("GET", EVENTS_PATH) => {
            let pod = seen.param("fieldSelector").and_then(|s| s.strip_prefix("involvedObject.name=")).unwrap_or_default().to_owned();
            Some(list("EventList", events.iter().filter(|e| e["involvedObject"]["name"] == pod.as_str()).cloned().collect()))
        }
        _ => None,
    })
}

fn engine() -> Workload {
    Workload { kind: WorkloadKind::Deployment, namespace: NS.to_owned(), name: "engine".to_owned() }
}

/// Waits for `engine` with `timeout`: the result and the states reported through `progress`.
async fn wait(client: &Client, timeout: Duration) -> (Result<(), Error>, Vec<String>) {
    let mut states = Vec::new();
    let result = tokio::time::timeout(WITHIN, wait_all(client, &[engine()], timeout, &mut |w, s| states.push(format!("{w}: {s:?}"))))
        .await
        .expect("wait_all did not finish");
    (result, states)
}

#[tokio::test]
async fn rollout_that_never_catches_up_times_out_with_the_pending_pod() {
    let creating = json!({"waiting": {"reason": "ContainerCreating"}});
    let pods = vec![pod("engine-new222-a", "new222", creating.clone()), pod("engine-old111-z", "old111", creating)];
    let events = vec![event("engine-new222-a", "Normal", "Pulling", "Pulling image \"registry/engine:v2\"", 1)];
    let (client, server) = rollout_server(pods, events);
    let (result, states) = wait(&client, Duration::from_secs(1)).await;
    let error = result.unwrap_err();
    let Error::Rollout { resource, reason, details } = &error else { panic!("expected Rollout, got {error:?}") };
    assert_eq!(resource, "deployment/engine");
    assert!(reason.starts_with("not rolled out after 1s"), "{reason}");
    assert_eq!(reason, "not rolled out after 1s: 0 of 2 replicas updated");
    // Only the current ReplicaSet's pod is shown; it has not started, so there are no logs.
    assert_eq!(details, "  pod engine-new222-a:\n    event: Normal Pulling: Pulling image \"registry/engine:v2\"");
    assert_eq!(
        error.to_string(),
        "deployment/engine failed: not rolled out after 1s: 0 of 2 replicas updated\n  pod engine-new222-a:\n    event: Normal Pulling: Pulling image \"registry/engine:v2\""
    );
    assert_eq!(states, [r#"deployment/engine: Progressing("0 of 2 replicas updated")"#], "one state, reported once");
    let calls = server.calls();
    assert!(calls.iter().filter(|c| *c == &format!("GET {DEPLOY_PATH}")).count() >= 4, "polled at least twice: {calls:?}");
    assert_eq!(calls.last().map(String::as_str), Some("GET /api/v1/namespaces/srvthreds/events"), "{calls:?}");
    let events = server.requests().into_iter().filter(|s| s.path == EVENTS_PATH).collect::<Vec<_>>();
    assert_eq!(events.len(), 1, "events are read once, for the error");
    assert_eq!(events[0].param("fieldSelector"), Some("involvedObject.name=engine-new222-a"));
}

#[tokio::test]
async fn image_pull_backoff_fails_the_wait_on_the_first_poll() {
    let backoff = json!({"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image \"registry/engine:v2\""}});
    let pods = vec![pod("engine-old111-z", "old111", json!({"running": {}})), pod("engine-new222-a", "new222", backoff)];
    let events = vec![
        event("engine-new222-a", "Warning", "Failed", "Failed to pull image \"registry/engine:v2\": not found", 3),
        event("engine-old111-z", "Normal", "Started", "Started container engine", 1),
    ];
    let (client, server) = rollout_server(pods, events);
    let (result, states) = wait(&client, Duration::from_secs(300)).await;
    let error = result.unwrap_err();
    let Error::Rollout { resource, reason, details } = &error else { panic!("expected Rollout, got {error:?}") };
    assert_eq!(resource, "deployment/engine");
    assert_eq!(reason, "container `engine` of pod engine-new222-a is in ImagePullBackOff: Back-off pulling image \"registry/engine:v2\"");
    assert_eq!(details, "  pod engine-new222-a:\n    event: Warning Failed: Failed to pull image \"registry/engine:v2\": not found (x3)");
    assert!(error.to_string().starts_with("deployment/engine failed: container `engine` of pod engine-new222-a is in ImagePullBackOff"));
    assert!(states.is_empty(), "the first poll fails before any state is reported: {states:?}");
    assert_eq!(
        server.calls(),
        [
            format!("GET {DEPLOY_PATH}"),
            format!("GET {DEPLOY_PATH}"),
            format!("GET {REPLICASETS_PATH}"),
            format!("GET {PODS_PATH}"),
            format!("GET {EVENTS_PATH}"),
        ],
        "one poll, then the failing pod's events"
    );
}

// --- diff -----------------------------------------------------------------------------------

#[tokio::test]
async fn diff_masks_secret_values() {
    const SECRET_PATH: &str = "/api/v1/namespaces/srvthreds/secrets/credentials";
    let secret = |value: &str| json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "credentials", "namespace": NS}, "type": "Opaque", "data": {"A": value}});
    let live = stored(&secret("YQ=="), "3");
    let after = stored(&secret("Yg=="), "3");
    let (client, server) = ApiServer::start(move |seen: &Seen| match (seen.method.as_str(), seen.path.as_str()) {
        ("GET", SECRET_PATH) => Some(Reply::Json(200, live.clone())),
        ("PATCH", SECRET_PATH) if seen.param("dryRun") == Some("All") => Some(Reply::Json(200, after.clone())),
        _ => None,
    });
    let mut resolver = Resolver::new(client);
    let changes = tokio::time::timeout(WITHIN, diff(&mut resolver, &[secret("Yg==")], NS, "minikube", false))
        .await
        .expect("diff did not finish")
        .unwrap();
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].object.to_string(), "secret/credentials");
    assert_eq!(changes[0].change, Change::Update);
    let text = &changes[0].diff;
    assert!(text.contains("*** (before)") && text.contains("*** (after)"), "{text}");
    assert!(!text.contains("YQ==") && !text.contains("Yg=="), "a Secret value leaked into the diff:\n{text}");
    assert_eq!(server.calls(), [format!("GET {SECRET_PATH}"), format!("PATCH {SECRET_PATH}")]);
    let patch = &server.requests()[1];
    assert_eq!(patch.param("dryRun"), Some("All"));
    assert_eq!(patch.param("force"), Some("true"), "the preview takes fields over as --force-conflicts would");
    assert_eq!(patch.param("fieldManager"), Some("srvthreds"));
}

#[tokio::test]
async fn diff_masks_secret_values_in_the_last_applied_annotation() {
    const SECRET_PATH: &str = "/api/v1/namespaces/srvthreds/secrets/credentials";
    let rendered = json!({
        "apiVersion": "v1", "kind": "Secret", "type": "Opaque", "data": {"A": "YQ=="},
        "metadata": {"name": "credentials", "namespace": NS, "labels": {"app": "engine", "srvthreds.io/applyset": "minikube"}}
    });
    // Created by `kubectl apply` (client-side) before this toolkit: the annotation holds the
    // whole object, values included. Our first apply adds the apply-set label.
    let mut live = stored(&rendered, "3");
    live["metadata"]["labels"] = json!({"app": "engine"});
    live["metadata"]["annotations"] = json!({
        "kubectl.kubernetes.io/last-applied-configuration":
            "{\"apiVersion\":\"v1\",\"data\":{\"A\":\"YQ==\"},\"kind\":\"Secret\",\"metadata\":{\"labels\":{\"app\":\"engine\"},\"name\":\"credentials\",\"namespace\":\"srvthreds\"},\"type\":\"Opaque\"}\n"
    });
    let mut after = live.clone();
    after["metadata"]["labels"] = rendered["metadata"]["labels"].clone();
    let (client, _server) = ApiServer::start(move |seen: &Seen| match (seen.method.as_str(), seen.path.as_str()) {
        ("GET", SECRET_PATH) => Some(Reply::Json(200, live.clone())),
        ("PATCH", SECRET_PATH) if seen.param("dryRun") == Some("All") => Some(Reply::Json(200, after.clone())),
        _ => None,
    });
    let mut resolver = Resolver::new(client);
    let changes =
        tokio::time::timeout(WITHIN, diff(&mut resolver, &[rendered], NS, "minikube", false)).await.expect("diff did not finish").unwrap();
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].change, Change::Update);
    let text = &changes[0].diff;
    assert!(text.contains("+    srvthreds.io/applyset: minikube"), "{text}");
    assert!(!text.contains("YQ=="), "a Secret value leaked into the diff:\n{text}");
}

/// A session on the scripted server, for the overlay of `objects`.
fn session(client: Client, objects: Vec<Value>, mode: Mode) -> Session {
    session_on(client, objects, mode, "local-k8s")
}

/// [`session`] with another current context (the overlay allows only `local-k8s`).
fn session_on(client: Client, objects: Vec<Value>, mode: Mode, context: &str) -> Session {
    let info = ClusterInfo { context: Some(context.to_owned()), server: "https://scripted".to_owned(), version: "v1.20.2".to_owned() };
    let open = Open {
        overlay: "minikube".to_owned(),
        applyset: "minikube".to_owned(),
        objects,
        context: None,
        allowed_contexts: vec!["local-k8s".to_owned()],
        mode,
    };
    Session::with_client(client, info, open).unwrap()
}

fn namespace_object() -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
}

const NS_PATH: &str = "/api/v1/namespaces/srvthreds";

#[tokio::test]
async fn a_failed_read_of_the_recorded_kinds_fails_the_apply_before_anything_is_sent() {
    // Read as "nothing recorded", the apply would rewrite the kinds record from the current
    // overlay alone, and objects of kinds recorded earlier would never be pruned again.
    let script = |seen: &Seen| match (seen.method.as_str(), seen.path.as_str()) {
        ("GET", NS_PATH) => Some(Reply::Json(403, status(403, "Forbidden", "namespaces \"srvthreds\" is forbidden"))),
        _ => None,
    };
    let (client, server) = ApiServer::start(script);
    let s = session(client, vec![namespace_object(), config_map(json!({"mode": "new"}))], Mode::Change);
    let options = SessionApply { conflicts: Conflicts::Refuse, prune: Prune::Delete, wait: None, on_failure: OnFailure::Stay };
    let result = tokio::time::timeout(WITHIN, s.apply(&options, &mut |_| {})).await.expect("apply did not finish");
    let error = result.expect_err("the apply must fail");
    assert!(matches!(&error, Error::Api { action, resource, .. } if action == "read" && resource == "namespace/srvthreds"), "{error:?}");
    assert_eq!(server.calls(), [format!("GET {NS_PATH}")], "nothing was applied");
}

#[tokio::test]
async fn dry_run_sessions_send_no_change() {
    let live_deployment = {
        let mut d = stored(&deployment_object(), "7");
        d["metadata"]["annotations"] = json!({"deployment.kubernetes.io/revision": "1"});
        d
    };
    let script = move |seen: &Seen| match (seen.method.as_str(), seen.path.as_str()) {
        ("GET", DEPLOY_PATH) => Some(Reply::Json(200, live_deployment.clone())),
        ("GET", NS_PATH) => Some(Reply::Json(200, stored(&namespace_object(), "3"))),
        ("GET", "/api/v1/namespaces/srvthreds/pods") => {
            Some(Reply::Json(200, json!({"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": []})))
        }
        _ => None,
    };
    let (client, server) = ApiServer::start(script);
    let s = session(client, vec![namespace_object(), deployment_object()], Mode::DryRun);
    let scaled = tokio::time::timeout(WITHIN, s.scale("engine", 5, Some(WITHIN), &mut |_| {})).await.unwrap().unwrap();
    assert_eq!((scaled.from, scaled.to, scaled.dry_run, scaled.waited), (2, 5, true, false));
    let deleted = tokio::time::timeout(WITHIN, s.delete(WITHIN)).await.unwrap().unwrap();
    assert!(deleted.dry_run && deleted.existed, "{deleted:?}");
    assert_eq!(deleted.objects.iter().map(ToString::to_string).collect::<Vec<_>>(), ["namespace/srvthreds", "deployment/engine"]);
    let calls = server.requests();
    assert!(calls.iter().all(|c| c.method == "GET"), "a dry run sent a change: {:?}", server.calls());
}

#[tokio::test]
async fn the_guard_refuses_a_dry_run_on_another_context() {
    let (client, server) = ApiServer::start(|_| None);
    let s = session_on(client, vec![namespace_object(), deployment_object()], Mode::DryRun, "prod-cluster");
    let error = s.delete(WITHIN).await.expect_err("refused");
    assert!(matches!(error, Error::WrongCluster { .. }), "{error:?}");
    let error = s.scale("engine", 1, None, &mut |_| {}).await.expect_err("refused");
    assert!(matches!(error, Error::WrongCluster { .. }), "{error:?}");
    assert!(server.calls().is_empty(), "{:?}", server.calls());
}
