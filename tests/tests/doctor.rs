//! `cargo xtask doctor` on this machine, against the real thing each check reads: a `PATH`
//! without a tool the environment needs, a host port held by a listener of this test, and a
//! kubeconfig whose current context may not run the environment's overlay.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;
use stack_tests::{describe, free_port, require_engine, xtask_binary};

/// `xtask --output json doctor` with the process environment changed by `env`.
fn doctor(args: &[&str], env: &[(&str, &str)]) -> (Output, Value) {
    let mut cmd = Command::new(xtask_binary());
    cmd.args(["--output", "json"]).args(args).arg("doctor").env_remove("SRVTHREDS_ENV");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let report =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("doctor printed no JSON document ({e})\n{}", describe(&out)));
    (out, report)
}

fn finding<'a>(report: &'a Value, check: &str) -> &'a Value {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == check)
        .unwrap_or_else(|| panic!("no finding `{check}` in {report:#}"))
}

/// A directory of links to the named programs only: a `PATH` without everything else.
fn path_with(dir: &Path, programs: &[&str]) -> String {
    for program in programs {
        let found = which::which(program).unwrap_or_else(|e| panic!("{program} is not on this machine's PATH ({e})"));
        std::os::unix::fs::symlink(found, dir.join(program)).unwrap();
    }
    dir.to_str().unwrap().to_owned()
}

#[test]
fn a_tool_the_environment_needs_missing_from_path_is_an_error_with_the_install_hint() {
    require_engine();
    let dir = tempfile::tempdir().unwrap();
    // Everything a cloud environment needs but terraform.
    let path = path_with(dir.path(), &["kubectl", "df"]);
    let (out, report) =
        doctor(&["--env", "dev"], &[("PATH", &path), ("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing")]);
    assert_eq!(out.status.code(), Some(1), "an error is exit 1\n{}", describe(&out));
    let terraform = finding(&report, "tool terraform");
    assert_eq!(terraform["level"], "error", "{terraform}");
    assert!(terraform["detail"].as_str().unwrap().contains("not found on PATH; environment `dev` needs it"), "{terraform}");
    assert!(terraform["fix"].as_str().unwrap().contains("developer.hashicorp.com/terraform/install"), "{terraform}");
    assert_eq!(finding(&report, "tool kubectl")["level"], "ok", "{report:#}");
    // minikube is not needed by a cloud environment: a warning only.
    assert_eq!(finding(&report, "tool minikube")["level"], "warning", "{report:#}");
    assert_eq!(report["ok"], false);

    // With terraform back on PATH, that error is gone.
    let path = path_with(dir.path(), &["terraform"]);
    let (_, report) = doctor(&["--env", "dev"], &[("PATH", &path), ("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing")]);
    assert_eq!(finding(&report, "tool terraform")["level"], "ok", "{report:#}");
    assert_eq!(finding(&report, "aws credentials")["level"], "ok", "{report:#}");
    assert!(!report.to_string().contains("testing"), "a credential value in the report: {report}");
}

#[test]
fn a_host_port_held_by_another_process_names_that_process() {
    require_engine();
    let port = free_port();
    let listener = std::net::TcpListener::bind(("0.0.0.0", port)).unwrap();
    let port_text = port.to_string();
    // The test environment's Redis, moved to the held port by the process environment.
    let (out, report) = doctor(&["--env", "test"], &[("REDIS_PORT", &port_text)]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let held = finding(&report, &format!("host port {port}"));
    assert_eq!(held["level"], "error", "{held}");
    let detail = held["detail"].as_str().unwrap();
    assert!(
        detail.contains("of service redis") && detail.contains(&format!("(pid {})", std::process::id())),
        "the holder is this test: {held}"
    );
    drop(listener);

    // Released: no error about ports remains.
    let (_, report) = doctor(&["--env", "test"], &[("REDIS_PORT", &port_text)]);
    assert_eq!(finding(&report, "host ports")["level"], "ok", "{report:#}");
}

#[test]
fn a_current_kube_context_the_overlay_may_not_run_on_is_an_error_with_the_switch() {
    require_engine();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = |current: &str| {
        let file = dir.path().join(format!("{current}.kubeconfig"));
        let text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:1\ncontexts:\n- name: {current}\n  context:\n    cluster: c\n    user: u\nusers:\n- name: u\n  user:\n    token: t\ncurrent-context: {current}\n"
        );
        std::fs::write(&file, text).unwrap();
        file.to_str().unwrap().to_owned()
    };
    let (out, report) = doctor(&["--env", "minikube"], &[("KUBECONFIG", &kubeconfig("arn-of-prod"))]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let context = finding(&report, "kube context");
    assert_eq!(context["level"], "error", "{context}");
    assert!(context["detail"].as_str().unwrap().contains("`arn-of-prod`"), "names the current context: {context}");
    assert!(context["fix"].as_str().unwrap().contains("kubectl config use-context minikube"), "{context}");

    let (_, report) = doctor(&["--env", "minikube"], &[("KUBECONFIG", &kubeconfig("local-k8s"))]);
    assert_eq!(finding(&report, "kube context")["level"], "ok", "{report:#}");
}
