//! The pieces the release tests and the release benchmark share: the real registry
//! (`registry.sh`, localhost:5000) and the real local cluster (`../shared/tools/local-k8s`),
//! a workspace copy that is its own build context, and `cargo xtask release` on it.

#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]

use std::io::Write as _;
use std::process::{Command, Output, Stdio};

use camino::{Utf8Path, Utf8PathBuf};

use crate::{InfraCopy, describe, repo_root, require_engine, stdout, test_image_vars, xtask};

pub const CONTEXT: &str = "local-k8s";
pub const RABBITMQ_IMAGE: &str = "rabbitmq:3.10-management";
pub const DEPLOYMENTS: &[(&str, &str)] = &[
    ("srvthreds-engine", "srvthreds-engine"),
    ("srvthreds-session-agent", "srvthreds-session-agent"),
    ("srvthreds-persistence-agent", "srvthreds-persistence-agent"),
];
/// The local tag of this test's builds, so the images other tests use (`:dev`) stay as they are.
/// The storage class of the release tests' RabbitMQ claims and volumes (no such class object
/// exists: it only matches claims to volumes).
pub const STORAGE_CLASS: &str = "srvthreds-release";
pub const TAG: &str = "release-e2e";

pub fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

pub fn kubectl(args: &[&str]) -> Output {
    run(Command::new("kubectl").arg("--context").arg(CONTEXT).args(args))
}

pub fn kubectl_stdin(yaml: &str) {
    let mut apply = Command::new("kubectl")
        .args(["--context", CONTEXT, "apply", "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    apply.stdin.take().unwrap().write_all(yaml.as_bytes()).unwrap();
    let out = apply.wait_with_output().unwrap();
    assert!(out.status.success(), "kubectl apply failed\n{}", describe(&out));
}

pub fn tools() -> Utf8PathBuf {
    std::env::var("LOCAL_K8S_TOOLS").map(Utf8PathBuf::from).unwrap_or_else(|_| repo_root().join("../shared/tools/local-k8s"))
}

pub fn registry() -> String {
    let registry = std::env::var("LOCAL_REGISTRY").unwrap_or_else(|_| "localhost:5000".to_owned());
    let out = run(Command::new("curl").args(["-sS", "-o", "/dev/null", "-w", "%{http_code}", &format!("http://{registry}/v2/")]));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "200", "no registry answers on {registry}: .ci/run starts one\n{}", describe(&out));
    registry
}

/// The repositories the registry holds (its catalog).
pub fn catalog(registry: &str) -> Vec<String> {
    let out = run(Command::new("curl").args(["-sS", &format!("http://{registry}/v2/_catalog?n=10000")]));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("catalog not JSON ({e})\n{}", describe(&out)));
    v["repositories"].as_array().into_iter().flatten().map(|r| r.as_str().unwrap().to_owned()).collect()
}

/// A copy of the repository's parts a build and a release need: `infrastructure/` with
/// `overlays` (name, namespace) made from the minikube overlay, the fixture app and `.dockerignore`
/// (the copy is the build context).
pub fn workspace(overlays: &[(&str, &str)]) -> InfraCopy {
    let infra = InfraCopy::new();
    let root = infra.root();
    let top = root.parent().unwrap().to_owned();
    stack_testkit::fixture::copy_tree(
        repo_root().join("tests/fixtures/srvthreds-app").as_std_path(),
        top.join("tests/fixtures/srvthreds-app").as_std_path(),
    )
    .unwrap();
    std::fs::copy(repo_root().join(".dockerignore"), top.join(".dockerignore")).unwrap();
    // The RabbitMQ claims ask for a class of their own, so they bind only the volumes made for
    // them below (never the one `k8s_live` keeps for its namespace).
    infra.replace(
        "k8s/base/rabbitmq.yaml",
        "        accessModes: [\"ReadWriteOnce\"]\n",
        &format!("        accessModes: [\"ReadWriteOnce\"]\n        storageClassName: {STORAGE_CLASS}\n"),
    );
    for (name, namespace) in overlays {
        let dir = root.join("k8s/overlays").join(name);
        stack_testkit::fixture::copy_tree(root.join("k8s/overlays/minikube").as_std_path(), dir.as_std_path()).unwrap();
        infra.replace(
            &format!("k8s/overlays/{name}/kustomization.yaml"),
            "\nnamespace: srvthreds\n",
            &format!("\nnamespace: {namespace}\n"),
        );
    }
    infra
}

pub fn release(infra: &InfraCopy, args: &[&str]) -> Output {
    let mut cmd = infra.command(&["release", "--context", CONTEXT]);
    // The copy is the build context (its fixture app changes for v2).
    let context = infra.root().parent().unwrap().to_owned();
    cmd.args(args).env("SRVTHREDS_TAG", TAG).env("SRVTHREDS_BUILD_CONTEXT", context.as_str());
    for (k, v) in test_image_vars() {
        cmd.env(k, v);
    }
    run(&mut cmd)
}

pub fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("not one JSON document ({e})\n{}", describe(out)))
}

/// Image name → digest of a release record.
pub fn digests(record: &Utf8Path) -> Vec<(String, String)> {
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(record).unwrap()).unwrap();
    v["images"].as_object().unwrap().iter().map(|(k, i)| (k.clone(), i["digest"].as_str().unwrap().to_owned())).collect()
}

pub fn digest_of<'a>(digests: &'a [(String, String)], image: &str) -> &'a str {
    &digests.iter().find(|(n, _)| n == image).unwrap_or_else(|| panic!("{image} not in {digests:?}")).1
}

/// The `imageID` of every running, not terminating pod of a Deployment (by its name label).
pub fn running_image_ids(namespace: &str, deployment: &str) -> Vec<String> {
    let out = kubectl(&["get", "pods", "-n", namespace, "-l", &format!("app.kubernetes.io/name={deployment}"), "-o", "json"]);
    assert!(out.status.success(), "{}", describe(&out));
    let pods: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    pods["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["metadata"]["deletionTimestamp"].is_null() && p["status"]["phase"] == "Running")
        .flat_map(|p| p["status"]["containerStatuses"].as_array().cloned().unwrap_or_default())
        .map(|c| c["imageID"].as_str().unwrap_or_default().to_owned())
        .collect()
}

pub fn assert_runs(namespace: &str, digests: &[(String, String)], when: &str) {
    for (deployment, image) in DEPLOYMENTS {
        let ids = running_image_ids(namespace, deployment);
        let digest = digest_of(digests, image);
        assert!(!ids.is_empty() && ids.iter().all(|id| id.ends_with(digest)), "{when}: {deployment} runs {ids:?}, not {digest}");
    }
}

/// The cluster answers, RabbitMQ's image is in it, the host databases run, and the RabbitMQ
/// claim of each of `overlays` (name, namespace) has a volume (no provisioner on local-k8s).
pub fn prepare_cluster(overlays: &[(&str, &str)]) {
    require_engine();
    let version = kubectl(&["version", "-o", "json"]);
    assert!(
        version.status.success() && stdout(&version).contains("serverVersion"),
        "no Kubernetes cluster answers on context `{CONTEXT}`: .ci/run starts ../shared/tools/local-k8s\n{}",
        describe(&version)
    );
    let rabbit = test_image_vars().iter().find(|(k, _)| k == "RABBITMQ_IMAGE").map(|(_, v)| v.clone()).unwrap();
    let tagged = run(Command::new("docker").args(["tag", &rabbit, RABBITMQ_IMAGE]));
    assert!(tagged.status.success(), "{}", describe(&tagged));
    let loaded = run(Command::new(tools().join("load-images.sh")).arg(RABBITMQ_IMAGE));
    assert!(loaded.status.success(), "load-images.sh failed\n{}", describe(&loaded));
    let mut db = xtask();
    db.args(["db", "start"]);
    for (k, v) in test_image_vars() {
        db.env(k, v);
    }
    let db = run(&mut db);
    assert!(db.status.success(), "db start failed\n{}", describe(&db));
    // Each volume is bound ahead to its overlay's claim, in the class of `workspace`'s claims.
    for (overlay, namespace) in overlays {
        let name = format!("srvthreds-{overlay}");
        let dir = format!("/var/lib/srvthreds-k8s-pv/{name}");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        assert!(run(Command::new("chown").args(["-R", "999:999", &dir])).status.success());
        // A volume left by an earlier run keeps its old claim: recreate it.
        let _ = kubectl(&["delete", "pv", &name, "--ignore-not-found", "--wait=false"]);
        let _ = kubectl(&["patch", "pv", &name, "--type", "json", "-p", r#"[{"op":"remove","path":"/metadata/finalizers"}]"#]);
        kubectl_stdin(&format!(
            "apiVersion: v1\nkind: PersistentVolume\nmetadata:\n  name: {name}\nspec:\n  capacity:\n    storage: 1Gi\n  accessModes: [ReadWriteOnce]\n  persistentVolumeReclaimPolicy: Retain\n  storageClassName: {STORAGE_CLASS}\n  claimRef:\n    namespace: {namespace}\n    name: data-rabbitmq-0\n  hostPath:\n    path: {dir}\n    type: DirectoryOrCreate\n"
        ));
    }
}

pub fn delete_namespace(infra: &InfraCopy, overlay: &str) {
    let out = run(infra.command(&["k8s", "delete", "--overlay", overlay, "--context", CONTEXT, "--yes"]).env("SRVTHREDS_TAG", TAG));
    assert!(out.status.success(), "k8s delete --overlay {overlay} failed\n{}", describe(&out));
}
