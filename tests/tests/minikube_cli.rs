//! `cargo xtask minikube up|down|status` and `deploy local k8s_minikube` from the command line:
//! the dry-run plans with their exact commands (snapshots), and the clear failure when minikube is missing.
//! minikube cannot be installed on the CI machines, so a real run is tested up to that failure.

use std::path::{Path, PathBuf};
use std::process::Output;

use stack_tests::{describe, repo_root, run_xtask, stderr, stdout, xtask};

/// Asserts that every needle occurs in `text`, each after the previous one.
fn assert_in_order(text: &str, needles: &[&str], out: &Output) {
    let mut from = 0;
    for needle in needles {
        match text[from..].find(needle) {
            Some(at) => from += at + needle.len(),
            None => panic!("`{needle}` missing or out of order\n{}", describe(out)),
        }
    }
}

/// `PATH` without the directories that hold a `minikube`, so cargo (and everything else) is still
/// found; panics if minikube would still be found, so the test cannot pass for the wrong reason.
fn path_without_minikube() -> String {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs: Vec<PathBuf> = std::env::split_paths(&path).filter(|d| !d.join("minikube").exists()).collect();
    assert!(dirs.iter().all(|d| !Path::new(d).join("minikube").exists()));
    std::env::join_paths(dirs).expect("PATH entries are joinable").into_string().expect("UTF-8 PATH")
}

fn run_without_minikube(args: &[&str]) -> Output {
    let mut cmd = xtask();
    cmd.args(args).env("PATH", path_without_minikube());
    cmd.output().unwrap_or_else(|e| panic!("cannot run cargo xtask {args:?}: {e}"))
}

fn assert_missing_minikube(out: &Output) {
    assert_eq!(out.status.code(), Some(1), "{}", describe(out));
    let err = stderr(out);
    assert!(err.contains("error: minikube is not installed (looked on PATH); nothing was changed"), "{}", describe(out));
    assert!(err.contains("help: install it: https://minikube.sigs.k8s.io/docs/start/"), "{}", describe(out));
    // Failed before any step ran, and before rebuilding xtask with the Kubernetes backend.
    assert!(!err.contains("==>") && !err.contains("--features full"), "{}", describe(out));
    assert!(stdout(out).is_empty(), "{}", describe(out));
}

/// Runs `cargo xtask ARGS`, which must succeed, and returns its stdout with the repository's
/// path replaced by `[REPO]`, so a snapshot holds on any clone.
fn dry_run_stdout(args: &[&str]) -> String {
    let out = run_xtask(args);
    assert!(out.status.success(), "{}", describe(&out));
    let text = stdout(&out);
    assert!(!text.is_empty(), "{}", describe(&out));
    text.replace(repo_root().as_str(), "[REPO]")
}

/// The plans of the committed configuration (environments.json's minikube section, the catalogue
/// and the rendered `minikube` overlay), as `--dry-run` prints them.
#[test]
fn up_down_and_status_dry_runs_print_the_plan() {
    insta::assert_snapshot!("up_dry_run", dry_run_stdout(&["minikube", "up", "--dry-run"]));
    insta::assert_snapshot!("down_dry_run", dry_run_stdout(&["minikube", "down", "--dry-run"]));
    insta::assert_snapshot!("status_dry_run", dry_run_stdout(&["minikube", "status", "--dry-run"]));
}

#[test]
fn up_dry_run_json_is_one_document_of_the_plan() {
    let text = dry_run_stdout(&["minikube", "up", "--dry-run", "--output", "json"]);
    let plan: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not one JSON document ({e}):\n{text}"));
    assert_eq!(plan["command"], "up", "{text}");
    // The printed text, so the snapshot also fixes the key order.
    insta::assert_snapshot!("up_dry_run_json", text);
}

#[test]
fn up_dry_run_without_port_forward_ends_with_the_wait() {
    let out = run_xtask(&["minikube", "up", "--no-port-forward", "--dry-run"]);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(stdout(&out).contains(" 13. [wait]") && !stdout(&out).contains("[port-forward]"), "{}", describe(&out));
}

#[test]
fn up_without_minikube_fails_with_the_install_hint_before_any_change() {
    assert_missing_minikube(&run_without_minikube(&["minikube", "up"]));
}

#[test]
fn status_and_down_without_minikube_fail_with_the_install_hint() {
    assert_missing_minikube(&run_without_minikube(&["minikube", "status"]));
    assert_missing_minikube(&run_without_minikube(&["minikube", "down"]));
}

#[test]
fn setup_minikube_script_runs_minikube_up() {
    let script = repo_root().join("infrastructure/k8s/scripts/setup-minikube.sh");
    let out = std::process::Command::new("bash").arg(script.as_str()).arg("--dry-run").output().expect("bash runs");
    assert!(out.status.success(), "{}", describe(&out));
    assert!(stdout(&out).starts_with("plan: minikube up (profile minikube)"), "{}", describe(&out));
}

#[test]
fn deploy_local_k8s_minikube_dry_run_starts_the_databases_then_applies_and_waits() {
    let out = run_xtask(&["deploy", "local", "k8s_minikube", "--dry-run", "--output", "json"]);
    assert!(out.status.success(), "{}", describe(&out));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    assert_eq!(plan["overlay"], "minikube", "{plan}");
    let steps = plan["steps"].as_array().expect("steps");
    assert_eq!(steps[0]["command"], "cargo xtask deploy local s_a_dbs", "{plan}");
    assert!(steps.iter().all(|s| s["implemented"] == true), "every step can be carried out now\n{plan}");
    let text: Vec<&str> = steps.iter().map(|s| s["description"].as_str().unwrap_or_default()).collect();
    assert_in_order(&text.join("\n"), &["host databases", "render overlay `minikube`", "server-side apply", "roll out"], &out);
    let out = run_xtask(&["deploy", "local", "d_k8s_minikube", "--dry-run"]);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(stdout(&out).contains("delete every object of overlay `minikube`"), "{}", describe(&out));
    assert!(!stdout(&out).contains("not implemented"), "{}", describe(&out));
}
