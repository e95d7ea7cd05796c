//! End to end on a real Kubernetes cluster (`../shared/tools/local-k8s`, Kubernetes 1.20; `.ci/run`
//! builds and starts it and exports `KUBECONFIG`), through our own commands only: the host
//! databases on Docker (`db start`), the service images built and loaded into the node, the
//! minikube overlay applied and waited for, status, diff, a health check through the
//! port-forward across a pod replacement, scale, an image change rolled back (by hand and by
//! `--rollback-on-failure`), prune, delete; and the failures that must fail fast with events and
//! log lines: a crash loop, an image that is not present, a failing Job, a readiness probe that
//! never passes.
//!
//! The tests share one cluster and one namespace, so they run one at a time (a mutex).

#![allow(clippy::unwrap_used)]

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use camino::{Utf8Path, Utf8PathBuf};
use stack_tests::{describe, free_port, repo_root, require_engine, stdout, test_image_vars, xtask};

/// The context name local-k8s writes into its kubeconfig.
const CONTEXT: &str = "local-k8s";
/// The images the minikube overlay runs, as it names them.
const SERVICE_IMAGES: &[&str] = &["srvthreds-engine", "srvthreds-session-agent", "srvthreds-persistence-agent", "srvthreds-bootstrap"];
const RABBITMQ_IMAGE: &str = "rabbitmq:3.10-management";

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// `../shared/tools/local-k8s` (or `LOCAL_K8S_TOOLS`).
fn tools() -> Utf8PathBuf {
    std::env::var("LOCAL_K8S_TOOLS").map(Utf8PathBuf::from).unwrap_or_else(|_| repo_root().join("../shared/tools/local-k8s"))
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

fn kubectl(args: &[&str]) -> Output {
    run(Command::new("kubectl").arg("--context").arg(CONTEXT).args(args))
}

/// The cluster answers, the images are in it, the host databases run and the RabbitMQ volume
/// exists. Once per test binary.
fn cluster() {
    static READY: OnceLock<()> = OnceLock::new();
    READY.get_or_init(|| {
        require_engine();
        let version = kubectl(&["version", "-o", "json"]);
        assert!(
            version.status.success() && String::from_utf8_lossy(&version.stdout).contains("serverVersion"),
            "no Kubernetes cluster answers on context `{CONTEXT}` (KUBECONFIG={:?}): .ci/run builds and starts ../shared/tools/local-k8s; by hand: `eval \"$(../shared/tools/local-k8s/up.sh)\"`\n{}",
            std::env::var("KUBECONFIG").ok(),
            describe(&version)
        );
        // Service images at the overlay's tag `dev`, built by our own compose driver.
        let built = with_images(xtask().args(["services", "build"]).env("SRVTHREDS_TAG", "dev")).output().unwrap();
        assert!(built.status.success(), "services build failed\n{}", describe(&built));
        // The locally built RabbitMQ stands in for the official image the overlay names.
        let rabbit = test_image_vars().iter().find(|(k, _)| k == "RABBITMQ_IMAGE").map(|(_, v)| v.clone()).unwrap();
        let tagged = run(Command::new("docker").args(["tag", &rabbit, RABBITMQ_IMAGE]));
        assert!(tagged.status.success(), "{}", describe(&tagged));
        let mut images: Vec<String> = SERVICE_IMAGES.iter().map(|i| format!("{i}:dev")).collect();
        images.push(RABBITMQ_IMAGE.to_owned());
        let loaded = run(Command::new(tools().join("load-images.sh")).args(&images));
        assert!(loaded.status.success(), "load-images.sh failed\n{}", describe(&loaded));
        // MongoDB and Redis on the host, where the overlay's host.minikube.internal points.
        let db = with_images(xtask().args(["db", "start"])).output().unwrap();
        assert!(db.status.success(), "db start failed\n{}", describe(&db));
        // No provisioner on local-k8s: a hostPath volume for the RabbitMQ claim, owned by 999.
        let dir = "/var/lib/srvthreds-k8s-pv/rabbitmq";
        std::fs::create_dir_all(dir).unwrap();
        let chown = run(Command::new("chown").args(["-R", "999:999", dir]));
        assert!(chown.status.success(), "{}", describe(&chown));
        let pv = format!(
            "apiVersion: v1\nkind: PersistentVolume\nmetadata:\n  name: srvthreds-rabbitmq-data\nspec:\n  capacity:\n    storage: 1Gi\n  accessModes: [ReadWriteOnce]\n  persistentVolumeReclaimPolicy: Retain\n  hostPath:\n    path: {dir}\n    type: DirectoryOrCreate\n"
        );
        let mut apply = Command::new("kubectl").args(["--context", CONTEXT, "apply", "-f", "-"]).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        apply.stdin.take().unwrap().write_all(pv.as_bytes()).unwrap();
        let out = apply.wait_with_output().unwrap();
        assert!(out.status.success(), "creating the PersistentVolume failed\n{}", describe(&out));
    });
}

/// A retained PersistentVolume keeps its old claim after the namespace is deleted: free it so
/// the next claim binds.
fn release_volume() {
    let pv = kubectl(&["get", "pv", "srvthreds-rabbitmq-data", "-o", "jsonpath={.status.phase}"]);
    if String::from_utf8_lossy(&pv.stdout) == "Released" {
        let out =
            kubectl(&["patch", "pv", "srvthreds-rabbitmq-data", "--type", "json", "-p", r#"[{"op":"remove","path":"/spec/claimRef"}]"#]);
        assert!(out.status.success(), "{}", describe(&out));
    }
}

fn with_images(cmd: &mut Command) -> &mut Command {
    for (k, v) in test_image_vars() {
        cmd.env(k, v);
    }
    cmd
}

/// `cargo xtask ARGS` against the cluster.
fn k(args: &[&str]) -> Output {
    with_images(xtask().args(args)).output().unwrap_or_else(|e| panic!("cannot run cargo xtask {args:?}: {e}"))
}

fn ok(args: &[&str]) -> Output {
    let out = k(args);
    assert!(out.status.success(), "cargo xtask {args:?} failed\n{}", describe(&out));
    out
}

fn status_json(extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["--output", "json", "k8s", "status"];
    args.extend_from_slice(extra);
    let out = ok(&args);
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("status is not JSON ({e})\n{}", describe(&out)))
}

fn workload<'a>(status: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    status["workloads"].as_array().unwrap().iter().find(|w| w["name"] == name).unwrap_or_else(|| panic!("no {name} in {status}"))
}

/// A copy of `infrastructure/` to change; the overlay keeps its name (and its apply set).
fn infra_copy() -> (tempfile::TempDir, Utf8PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = Utf8Path::from_path(dir.path()).unwrap().join("infrastructure");
    let out = run(Command::new("cp").args(["-r", repo_root().join("infrastructure").as_str(), root.as_str()]));
    assert!(out.status.success(), "{}", describe(&out));
    (dir, root)
}

/// `GET /health` through `port`, raw HTTP/1.0.
fn health(port: u16) -> Result<String, String> {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    stream.set_read_timeout(Some(Duration::from_secs(90))).map_err(|e| e.to_string())?;
    stream.write_all(b"GET /health HTTP/1.0\r\nHost: localhost\r\n\r\n").map_err(|e| e.to_string())?;
    let mut response = String::new();
    stream.read_to_string(&mut response).map_err(|e| e.to_string())?;
    if response.starts_with("HTTP/1.1 200") || response.starts_with("HTTP/1.0 200") { Ok(response) } else { Err(response) }
}

/// A running `k8s port-forward`; killed on drop.
struct Forward(std::process::Child);

impl Drop for Forward {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn port_forward(service: &str, local: u16, remote: u16) -> Forward {
    let mut child = with_images(xtask().args(["k8s", "port-forward", service, &format!("{local}:{remote}")]))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    assert!(line.starts_with(&format!("Forwarding from 127.0.0.1:{local} -> {service}:{remote}")), "port-forward printed {line:?}");
    Forward(child)
}

/// SIGTERM (not the terminal's Ctrl-C) to a `cargo xtask k8s port-forward`: the re-run into
/// the full build replaced the process, so nothing of it is left running.
fn terminate(mut forward: Forward, port: u16) {
    let ports = format!("{port}:3000");
    let forwards = || -> Vec<String> {
        let pids = std::fs::read_dir("/proc").unwrap().filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok());
        pids.filter(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
            args.contains(&b"port-forward".as_slice()) && args.contains(&ports.as_bytes())
        })
        .map(|pid| pid.to_string())
        .collect()
    };
    let pid = forward.0.id().to_string();
    assert_eq!(forwards(), std::slice::from_ref(&pid), "one process runs the forward, under the pid that was started");
    let killed = run(Command::new("kill").args(["-TERM", &pid]));
    assert!(killed.status.success(), "{}", describe(&killed));
    let status = forward.0.wait().unwrap();
    assert!(!status.success(), "the forward ended by the signal: {status:?}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !forwards().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(forwards().is_empty(), "processes of the port-forward are left after SIGTERM: {:?}", forwards());
    std::mem::forget(forward);
}

/// The checks of `health --env minikube` that failed, by name, and the report.
fn failing_health(deadline: &str) -> (Vec<String>, serde_json::Value) {
    let out = k(&["--env", "minikube", "--output", "json", "health", "--deadline", deadline]);
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("health printed no JSON ({e})\n{}", describe(&out)));
    let failed: Vec<String> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "fail")
        .map(|c| c["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(out.status.success(), failed.is_empty(), "exit status and report agree\n{}", describe(&out));
    (failed, report)
}

/// `health --env minikube`: the workloads, every service's /health through the cluster, the
/// Bootstrap Job, the in-cluster RabbitMQ and the host stores all pass; a workload scaled to
/// zero and a pod that never gets ready are named exactly. `status --env minikube`: the
/// workloads and the host stores.
fn minikube_environment_health_and_status() {
    let (failed, report) = failing_health("30");
    assert!(failed.is_empty(), "{report:#}");
    let names: Vec<&str> = report["checks"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    for name in [
        "deployment/srvthreds-engine",
        "statefulset/rabbitmq",
        "session-agent /health",
        "engine /health",
        "job/srvthreds-bootstrap",
        "mongo",
        "redis",
    ] {
        assert!(names.contains(&name), "no check {name}: {names:?}");
    }
    assert!(!report.to_string().contains("srvthreds-local-redis"), "a secret value in the report");

    let out = ok(&["--env", "minikube", "--output", "json", "status"]);
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((&status["kind"], &status["ok"]), (&serde_json::json!("minikube"), &serde_json::json!(true)), "{status:#}");
    assert_eq!(workload(&status["workloads"], "srvthreds-engine")["isReady"], true, "{status:#}");
    let stores: Vec<&str> = status["hostStores"].as_array().unwrap().iter().map(|c| c["service"].as_str().unwrap()).collect();
    assert!(stores.contains(&"mongo") && stores.contains(&"redis"), "{status:#}");
    let text = stdout(&ok(&["--env", "minikube", "status"]));
    assert!(text.contains("srvthreds-engine") && text.contains("host data stores"), "{text}");

    // Scaled to zero: exactly that workload, and the /health of its Service.
    ok(&["k8s", "scale", "srvthreds-engine", "0"]);
    let (failed, report) = failing_health("3");
    assert_eq!(failed, ["deployment/srvthreds-engine", "engine /health"], "{report:#}");
    let engine = report["checks"].as_array().unwrap().iter().find(|c| c["name"] == "deployment/srvthreds-engine").unwrap();
    assert!(engine["lastError"].as_str().unwrap().contains("scaled to zero"), "{engine}");
    let status = k(&["--env", "minikube", "status"]);
    assert_eq!(status.status.code(), Some(1), "status is not ok with a workload at zero\n{}", describe(&status));
    assert!(stdout(&status).contains("problem: deployment srvthreds-engine is scaled to zero"), "{}", describe(&status));

    // A pod that never gets ready (its new revision fails its readiness probe): named, with why.
    ok(&["k8s", "scale", "srvthreds-engine", "1"]);
    let broken = kubectl(&["-n", "srvthreds", "set", "env", "deployment/srvthreds-persistence-agent", "FAIL_MODE=unhealthy"]);
    assert!(broken.status.success(), "{}", describe(&broken));
    let deadline = Instant::now() + Duration::from_secs(90);
    let (failed, report) = loop {
        let (failed, report) = failing_health("3");
        let named = report.to_string().contains("pod srvthreds-persistence-agent-");
        if named || Instant::now() > deadline {
            break (failed, report);
        }
        std::thread::sleep(Duration::from_secs(2));
    };
    assert_eq!(failed, ["deployment/srvthreds-persistence-agent"], "the old pod still serves /health: {report:#}");
    let agent = report["checks"].as_array().unwrap().iter().find(|c| c["name"] == "deployment/srvthreds-persistence-agent").unwrap();
    assert!(agent["lastError"].as_str().unwrap().contains("pod srvthreds-persistence-agent-"), "{agent}");
    // The template before the change again (an apply would keep the field `set env` owns).
    ok(&["k8s", "rollback", "srvthreds-persistence-agent"]);
    let (failed, report) = failing_health("30");
    assert!(failed.is_empty(), "{report:#}");
}

#[test]
fn minikube_overlay_lifecycle_on_a_real_cluster() {
    let _serial = serial();
    cluster();
    // A clean start: nothing of an earlier run left.
    ok(&["k8s", "delete", "--yes"]);
    release_volume();

    // Everything is new: diff says so with exit 1, and prints no secret value.
    let diff = k(&["k8s", "diff"]);
    assert_eq!(diff.status.code(), Some(1), "diff before the first apply\n{}", describe(&diff));
    let text = stdout(&diff);
    assert!(text.contains("--- deployment/srvthreds-engine (create)"), "{text}");
    assert!(!text.contains("c3J2dGhyZWRz"), "a secret value leaked into the diff: {text}");

    // Apply exits 0 only once everything rolled out and the Bootstrap Job completed.
    let applied = ok(&["k8s", "apply", "--overlay", "minikube", "--wait-timeout", "300"]);
    assert!(stdout(&applied).contains("apply ok: overlay minikube on context local-k8s"), "{}", describe(&applied));
    let status = status_json(&["--overlay", "minikube"]);
    assert_eq!(status["allReady"], true, "{status:#}");
    for name in ["srvthreds-engine", "srvthreds-session-agent", "srvthreds-persistence-agent", "rabbitmq", "srvthreds-bootstrap"] {
        let w = workload(&status, name);
        assert_eq!(w["isReady"], true, "{name}: {w}");
    }
    assert_eq!(workload(&status, "srvthreds-bootstrap")["state"], "Complete");

    // Nothing left to change: diff exits 0.
    let diff = k(&["k8s", "diff"]);
    assert_eq!(diff.status.code(), Some(0), "diff right after apply\n{}", describe(&diff));

    // The minikube environment from one place: health and status.
    minikube_environment_health_and_status();

    // A health check through the port-forward, then again after the pod behind it is replaced.
    let port = free_port();
    let forward = port_forward("session-agent", port, 3000);
    let first = health(port).unwrap_or_else(|e| panic!("health through the forward failed: {e}"));
    assert!(first.contains("srvthreds-session-agent"), "{first}");
    let deleted = kubectl(&["-n", "srvthreds", "delete", "pod", "-l", "app.kubernetes.io/name=srvthreds-session-agent", "--wait=true"]);
    assert!(deleted.status.success(), "{}", describe(&deleted));
    let second = health(port).unwrap_or_else(|e| panic!("health through the forward after the pod was replaced failed: {e}"));
    assert!(second.contains("srvthreds-session-agent"), "{second}");
    terminate(forward, port);

    // Logs of every pod of a workload, prefixed.
    let logs = ok(&["k8s", "logs", "srvthreds-bootstrap"]);
    assert!(stdout(&logs).lines().any(|l| l.starts_with("[srvthreds-bootstrap-")), "{}", describe(&logs));

    // Scale up; the next apply takes the count back to the overlay's without --force-conflicts.
    ok(&["k8s", "scale", "srvthreds-engine", "2"]);
    let w = workload(&status_json(&[]), "srvthreds-engine").clone();
    assert_eq!((w["desired"].as_i64(), w["ready"].as_i64()), (Some(2), Some(2)), "{w}");

    // Change the engine's image (a second tag of the same build), then roll back by hand.
    let tagged = run(Command::new("docker").args(["tag", "srvthreds-engine:dev", "srvthreds-engine:dev2"]));
    assert!(tagged.status.success());
    let loaded = run(Command::new(tools().join("load-images.sh")).arg("srvthreds-engine:dev2"));
    assert!(loaded.status.success(), "{}", describe(&loaded));
    let (_keep, infra) = infra_copy();
    let kustomization = infra.join("k8s/overlays/minikube/kustomization.yaml");
    let original = std::fs::read_to_string(&kustomization).unwrap();
    let changed = original.replacen("  - name: srvthreds-engine\n    newTag: dev\n", "  - name: srvthreds-engine\n    newTag: dev2\n", 1);
    assert_ne!(changed, original, "the image entry of the overlay changed shape");
    std::fs::write(&kustomization, &changed).unwrap();
    let applied = ok(&["--infra", infra.as_str(), "k8s", "apply"]);
    // (Before 1.22 a scale through the subresource records no field owner, so there is no
    // conflict to take back here; the scripted-API tests cover the conflict on newer servers.)
    assert!(stdout(&applied).contains("apply ok"), "{}", describe(&applied));
    let w = workload(&status_json(&[]), "srvthreds-engine").clone();
    assert_eq!(w["images"][0], "srvthreds-engine:dev2", "{w}");
    assert_eq!(w["desired"], 1, "apply sets the overlay's replica count again: {w}");

    // --dry-run changes nothing, on every command that changes the cluster, wherever the flag
    // stands; the wrong-cluster guard still refuses under it.
    dry_runs_change_nothing(&infra);
    let rolled = ok(&["k8s", "rollback", "srvthreds-engine"]);
    assert!(stdout(&rolled).contains("rolled back deployment/srvthreds-engine"), "{}", describe(&rolled));
    let w = workload(&status_json(&[]), "srvthreds-engine").clone();
    assert_eq!((w["images"][0].as_str(), w["isReady"].as_bool()), (Some("srvthreds-engine:dev"), Some(true)), "{w}");

    // An image that is not in the node: the apply fails fast and rolls itself back.
    std::fs::write(
        &kustomization,
        original.replacen("  - name: srvthreds-engine\n    newTag: dev\n", "  - name: srvthreds-engine\n    newTag: not-loaded\n", 1),
    )
    .unwrap();
    let failed = k(&["--infra", infra.as_str(), "k8s", "apply", "--rollback-on-failure"]);
    assert_eq!(failed.status.code(), Some(1), "{}", describe(&failed));
    let err = stderr_of(&failed);
    assert!(err.contains("ErrImageNeverPull") && err.contains("rolled back: deployment/srvthreds-engine"), "{err}");
    let w = workload(&status_json(&[]), "srvthreds-engine").clone();
    assert_eq!((w["images"][0].as_str(), w["isReady"].as_bool()), (Some("srvthreds-engine:dev"), Some(true)), "{w}");

    // Prune: the Ingress leaves a copy of the overlay, the apply deletes it from the cluster.
    std::fs::write(&kustomization, original.replacen("  - ingress.yaml\n", "", 1)).unwrap();
    let pruned = ok(&["--infra", infra.as_str(), "k8s", "apply"]);
    assert!(stderr_of(&pruned).contains("ingress/session-agent pruned"), "{}", describe(&pruned));
    let gone = kubectl(&["-n", "srvthreds", "get", "ingress", "session-agent"]);
    assert!(!gone.status.success() && String::from_utf8_lossy(&gone.stderr).contains("NotFound"), "{}", describe(&gone));
    // The repository's overlay still has it: diff shows it to create (exit 1).
    let diff = k(&["k8s", "diff"]);
    assert_eq!(diff.status.code(), Some(1), "{}", describe(&diff));
    assert!(stdout(&diff).contains("--- ingress/session-agent (create)"), "{}", describe(&diff));

    // The wrong-cluster guard: the prod overlay is refused on this context.
    let (_keep2, cloud) = infra_copy();
    std::fs::copy(cloud.join("k8s/overlays/prod/secrets.env.example"), cloud.join("k8s/overlays/prod/secrets.env")).unwrap();
    let refused = k(&["--infra", cloud.as_str(), "k8s", "apply", "--overlay", "prod"]);
    assert_eq!(refused.status.code(), Some(1), "{}", describe(&refused));
    assert!(stderr_of(&refused).contains("refusing to change context `local-k8s` through overlay `prod`"), "{}", describe(&refused));

    // Delete waits until the namespace is gone.
    let deleted = ok(&["k8s", "delete", "--yes"]);
    assert!(stdout(&deleted).contains("deleted namespace srvthreds"), "{}", describe(&deleted));
    let ns = kubectl(&["get", "namespace", "srvthreds"]);
    assert!(!ns.status.success(), "namespace still there\n{}", describe(&ns));
    release_volume();
}

/// The namespace's objects (and the namespace), by uid, with their resourceVersions: any
/// change to one of them (a scale, a rollback, an apply, a deletion starting) changes its
/// version. Pods are left out: the kubelet updates their status on its own.
fn snapshot() -> std::collections::BTreeMap<String, String> {
    let kinds = "deployments,statefulsets,jobs,replicasets,services,configmaps,secrets,ingresses,persistentvolumeclaims,serviceaccounts";
    let mut out = std::collections::BTreeMap::new();
    for args in [vec!["get", "namespace", "srvthreds", "-o", "json"], vec!["-n", "srvthreds", "get", kinds, "-o", "json"]] {
        let got = kubectl(&args);
        assert!(got.status.success(), "{}", describe(&got));
        let value: serde_json::Value = serde_json::from_slice(&got.stdout).unwrap();
        let items = match value["items"].as_array() {
            Some(items) => items.clone(),
            None => vec![value],
        };
        for item in items {
            let meta = &item["metadata"];
            let key = format!("{} {}/{}", meta["uid"].as_str().unwrap(), item["kind"].as_str().unwrap(), meta["name"].as_str().unwrap());
            out.insert(key, meta["resourceVersion"].as_str().unwrap().to_owned());
        }
    }
    out
}

/// A snapshot once the controllers have settled (two equal snapshots 3 s apart).
fn settled_snapshot() -> std::collections::BTreeMap<String, String> {
    let give_up = Instant::now() + Duration::from_secs(120);
    let mut last = snapshot();
    loop {
        std::thread::sleep(Duration::from_secs(3));
        let now = snapshot();
        if now == last || Instant::now() > give_up {
            return now;
        }
        last = now;
    }
}

/// The commands of `cargo xtask k8s` that change the cluster, and those that only read. A new
/// subcommand must be put in one list (the test below checks `k8s --help` against both); each
/// changing one is run with --dry-run in [`dry_runs_change_nothing`].
const K8S_CHANGING: &[&str] = &["apply", "scale", "rollback", "delete"];
const K8S_READING: &[&str] = &["render", "validate", "diff", "status", "logs", "port-forward"];
/// The commands that change files, not the cluster (run with --dry-run in `dry_run.rs`).
const K8S_FILES: &[&str] = &["pin"];

#[test]
fn every_k8s_subcommand_is_known_as_changing_or_reading() {
    let help = stack_tests::run_xtask(&["k8s", "--help"]);
    assert!(help.status.success(), "{}", describe(&help));
    let text = stdout(&help);
    let listed: Vec<String> = text
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .filter(|c| c != "help")
        .collect();
    assert!(!listed.is_empty(), "no subcommands found in\n{text}");
    for c in &listed {
        assert!(
            K8S_CHANGING.contains(&c.as_str()) || K8S_READING.contains(&c.as_str()) || K8S_FILES.contains(&c.as_str()),
            "`k8s {c}` is new: put it in K8S_CHANGING (and test it with --dry-run), K8S_FILES or K8S_READING"
        );
    }
    for c in K8S_CHANGING.iter().chain(K8S_READING).chain(K8S_FILES) {
        assert!(listed.iter().any(|l| l == c), "`k8s {c}` is listed here but not by `k8s --help`");
    }
}

/// Runs every changing cluster command (and the catalogue's Kubernetes entries, and minikube
/// up/down) with --dry-run against the live overlay, and checks that no object of the cluster
/// changed. At this point the engine runs the image of `infra` (revision 2), so the repository's
/// overlay has a change to show and the engine has a revision to roll back to.
fn dry_runs_change_nothing(infra: &Utf8Path) {
    let before = settled_snapshot();
    let mut ran: Vec<&str> = Vec::new();

    let plan = ok(&["k8s", "apply", "--overlay", "minikube", "--dry-run"]);
    let text = stdout(&plan);
    assert!(text.contains("--- deployment/srvthreds-engine (update)") && text.contains("srvthreds-engine:dev"), "{}", describe(&plan));
    assert!(text.contains("nothing was changed"), "{}", describe(&plan));
    assert!(!text.contains("c3J2dGhyZWRz"), "a secret value leaked into the dry run: {text}");
    let plan = ok(&["--output", "json", "k8s", "apply", "--dry-run", "--no-wait", "--rollback-on-failure"]);
    let json: serde_json::Value =
        serde_json::from_slice(&plan.stdout).unwrap_or_else(|e| panic!("not one JSON document ({e})\n{}", describe(&plan)));
    assert_eq!(json["dryRun"], true, "{json:#}");
    assert!(
        json["changes"].as_array().unwrap().iter().any(|c| c["object"]["name"] == "srvthreds-engine" && c["change"] == "update"),
        "{json:#}"
    );
    ran.push("apply");

    let scaled = ok(&["k8s", "scale", "srvthreds-engine", "4", "--overlay", "minikube", "--no-wait", "--dry-run"]);
    assert!(stdout(&scaled).contains("dry run: would scale deployment/srvthreds-engine from 1 to 4 replicas"), "{}", describe(&scaled));
    let scaled = ok(&["--dry-run", "k8s", "scale", "srvthreds-engine", "3", "--overlay", "minikube"]);
    assert!(stdout(&scaled).contains("from 1 to 3 replicas"), "{}", describe(&scaled));
    let scaled = ok(&["--output", "json", "--dry-run", "k8s", "scale", "deploy/srvthreds-engine", "2"]);
    let json: serde_json::Value = serde_json::from_slice(&scaled.stdout).unwrap();
    assert_eq!((json["dryRun"].as_bool(), json["from"].as_i64(), json["to"].as_i64()), (Some(true), Some(1), Some(2)), "{json}");
    ran.push("scale");

    let rolled = ok(&["k8s", "rollback", "srvthreds-engine", "--dry-run"]);
    assert!(
        stdout(&rolled).contains("dry run: would roll back deployment/srvthreds-engine from revision 2 to the template of revision 1 (images srvthreds-engine:dev)"),
        "{}",
        describe(&rolled)
    );
    let rolled = ok(&["--output", "json", "k8s", "rollback", "srvthreds-engine", "--to-revision", "1", "--dry-run"]);
    let json: serde_json::Value = serde_json::from_slice(&rolled.stdout).unwrap();
    assert_eq!((json["dryRun"].as_bool(), json["from"].as_i64(), json["to"].as_i64()), (Some(true), Some(2), Some(1)), "{json}");
    ran.push("rollback");

    for args in [&["k8s", "delete", "--overlay", "minikube", "--dry-run", "--yes"][..], &["--dry-run", "k8s", "delete"][..]] {
        let deleted = ok(args);
        let text = stdout(&deleted);
        assert!(
            text.contains("dry run: would delete namespace srvthreds on context local-k8s") && text.contains("deployment/srvthreds-engine"),
            "{}",
            describe(&deleted)
        );
    }
    let deleted = ok(&["--output", "json", "k8s", "delete", "--dry-run"]);
    let json: serde_json::Value = serde_json::from_slice(&deleted.stdout).unwrap();
    assert_eq!((json["dryRun"].as_bool(), json["existed"].as_bool()), (Some(true), Some(true)), "{json}");
    ran.push("delete");
    assert_eq!(ran, K8S_CHANGING, "every changing k8s command runs with --dry-run here");

    // The catalogue's Kubernetes entries and the minikube lifecycle print their plans.
    for args in [
        &["deploy", "local", "k8s_minikube", "--dry-run"][..],
        &["deploy", "local", "d_k8s_minikube", "--dry-run"][..],
        &["--output", "json", "deploy", "local", "k8s_minikube", "--dry-run"][..],
        &["minikube", "up", "--dry-run"][..],
        &["minikube", "down", "--dry-run"][..],
    ] {
        ok(args);
    }

    // The guard applies to a dry run too: prod is refused on this context.
    std::fs::copy(infra.join("k8s/overlays/prod/secrets.env.example"), infra.join("k8s/overlays/prod/secrets.env")).unwrap();
    for args in [
        &["k8s", "delete", "--overlay", "prod", "--dry-run", "--yes"][..],
        &["k8s", "apply", "--overlay", "prod", "--dry-run"][..],
        &["k8s", "scale", "srvthreds-engine", "2", "--overlay", "prod", "--dry-run"][..],
    ] {
        let mut full = vec!["--infra", infra.as_str()];
        full.extend_from_slice(args);
        let refused = k(&full);
        assert_eq!(refused.status.code(), Some(1), "{}", describe(&refused));
        assert!(stderr_of(&refused).contains("refusing to change context `local-k8s` through overlay `prod`"), "{}", describe(&refused));
    }
    std::fs::remove_file(infra.join("k8s/overlays/prod/secrets.env")).unwrap();

    let after = snapshot();
    let changed: Vec<String> = before
        .iter()
        .filter(|(k, v)| after.get(*k) != Some(*v))
        .map(|(k, v)| format!("{k}: {v} -> {}", after.get(k).map_or("(gone)", String::as_str)))
        .chain(after.keys().filter(|k| !before.contains_key(*k)).map(|k| format!("{k}: new")))
        .collect();
    assert!(changed.is_empty(), "a dry run changed the cluster:\n{}", changed.join("\n"));
}

fn stderr_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Applies a failure fixture; it must fail with `expect` (all of them) in the error, well before
/// the deadline (the error is the reason, not "not rolled out after").
fn must_fail_fast(fixture: &str, expect: &[&str]) {
    let dir = repo_root().join("tests/fixtures/k8s").join(fixture);
    let start = Instant::now();
    let out = k(&["k8s", "apply", "--overlay", dir.as_str(), "--context", CONTEXT, "--wait-timeout", "600"]);
    let took = start.elapsed();
    let cleanup = k(&["k8s", "delete", "--overlay", dir.as_str(), "--context", CONTEXT, "--yes"]);
    assert_eq!(out.status.code(), Some(1), "{fixture}: apply must fail\n{}", describe(&out));
    let err = stderr_of(&out);
    assert!(!err.contains("not rolled out after"), "{fixture}: failed only at the deadline\n{err}");
    for e in expect {
        assert!(err.contains(e), "{fixture}: `{e}` missing from the error (after {took:?})\n{err}");
    }
    assert!(cleanup.status.success(), "{}", describe(&cleanup));
}

#[test]
fn rollouts_that_cannot_succeed_fail_fast_with_events_and_logs() {
    let _serial = serial();
    cluster();
    must_fail_fast("crashloop", &["CrashLoopBackOff", "event: Warning BackOff", "log app: boom: MONGO_URI is not set"]);
    must_fail_fast("missing-image", &["ErrImageNeverPull", "srvthreds-not-built:never", "event: Warning"]);
    must_fail_fast("failing-job", &["the Job failed (BackoffLimitExceeded)", "log bootstrap: bootstrap: cannot load patterns"]);
    must_fail_fast("never-ready", &["progress deadline exceeded", "Readiness probe failed", "log app: listening, never healthy"]);
}

#[test]
fn undeclared_overlays_need_an_explicit_context() {
    let _serial = serial();
    cluster();
    let dir = repo_root().join("tests/fixtures/k8s/crashloop");
    let out = k(&["k8s", "apply", "--overlay", dir.as_str()]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(stderr_of(&out).contains("declares no kube contexts"), "{}", describe(&out));
    let ns = kubectl(&["get", "namespace", "srvthreds-fail-crashloop"]);
    assert!(!ns.status.success(), "the refused apply changed the cluster\n{}", describe(&ns));
}

/// `cargo xtask minikube up` for real, with the minikube stand-in of the tests' fixtures first on
/// `PATH` (minikube cannot be had here; `tests/fixtures/minikube-standin/README.md` says what it
/// replaces) on the local cluster: the profile started, images built and loaded, the host
/// databases up, the overlay applied and rolled out, the Session Agent answering on
/// localhost:3000 through the port-forward; then `minikube status`, `minikube down`.
#[test]
fn minikube_up_runs_end_to_end_on_the_minikube_stand_in() {
    let _serial = serial();
    cluster();
    ok(&["k8s", "delete", "--yes"]);
    release_volume();
    let state = tempfile::tempdir().unwrap();
    // The stand-in writes the profile's context into the first KUBECONFIG file: a copy.
    let kubeconfig = state.path().join("kubeconfig");
    let admin = std::env::var("KUBECONFIG").unwrap();
    std::fs::copy(admin.split(':').next().unwrap(), &kubeconfig).unwrap();
    let path = format!("{}:{}", repo_root().join("tests/fixtures/minikube-standin"), std::env::var("PATH").unwrap());
    let standin = |args: &[&str]| -> Command {
        let mut cmd = xtask();
        with_images(&mut cmd).args(args).env("PATH", &path).env("KUBECONFIG", &kubeconfig).env("SRVTHREDS_TAG", "dev");
        cmd.env("MINIKUBE_STANDIN_STATE", state.path().join("standin"));
        cmd
    };
    assert!(free_port_is(3000), "localhost:3000 is taken: minikube up forwards the Session Agent there");

    let log = state.path().join("up.log");
    let mut up = standin(&["--output", "json", "--wait-timeout", "300", "minikube", "up"])
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let up_log = || std::fs::read_to_string(&log).unwrap_or_default();
    let deadline = Instant::now() + Duration::from_secs(900);
    let answer = loop {
        if let Ok(body) = health(3000) {
            break body;
        }
        if let Some(status) = up.try_wait().unwrap() {
            panic!("minikube up ended ({status}) before localhost:3000 answered\n{}", up_log());
        }
        assert!(Instant::now() < deadline, "localhost:3000 did not answer within 15 minutes\n{}", up_log());
        std::thread::sleep(Duration::from_secs(2));
    };
    assert!(answer.contains("srvthreds-session-agent"), "{answer}");
    let log_text = up_log();
    for line in
        ["minikube start --profile minikube", "minikube image load rabbitmq:3.10-management", "not available in the minikube stand-in"]
    {
        assert!(log_text.contains(line), "no `{line}` in the log of minikube up\n{log_text}");
    }
    let pid = up.id().to_string();
    assert!(run(Command::new("kill").args(["-TERM", &pid])).status.success());
    let out = up.wait_with_output().unwrap();
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("no JSON summary ({e})\n{}", up_log()));
    assert_eq!(summary["result"], "ready", "{summary}");
    let steps: Vec<&str> = summary["steps"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
    for step in ["start", "build-images", "db-start", "load-image-rabbitmq", "apply", "wait"] {
        assert!(steps.contains(&step), "step {step} was not carried out: {steps:?}");
    }
    // The images the overlay runs came from this build, through the stand-in's loads.
    let status = status_json(&[]);
    assert_eq!(status["allReady"], true, "{status:#}");

    let status = standin(&["minikube", "status"]).output().unwrap();
    assert!(status.status.success(), "{}", describe(&status));
    assert!(stdout(&status).contains("srvthreds-engine"), "the workloads are listed\n{}", describe(&status));
    let down = standin(&["minikube", "down"]).output().unwrap();
    assert!(down.status.success() && stdout(&down).contains("stopped"), "{}", describe(&down));
    let status = standin(&["minikube", "status"]).output().unwrap();
    assert_eq!(status.status.code(), Some(1), "a stopped profile is not running\n{}", describe(&status));

    ok(&["k8s", "delete", "--yes"]);
    release_volume();
}

/// Whether nothing listens on `port` of localhost.
fn free_port_is(port: u16) -> bool {
    std::net::TcpStream::connect(("127.0.0.1", port)).is_err()
}
