//! `cargo xtask k8s validate` and the Kubernetes part of `config check`, on the real overlays and
//! on broken copies of `infrastructure/`: every broken input is exit 1 naming the object and the
//! field path. `k8s validate` runs in the default build: its schema check needs k8s-openapi
//! only, not the cluster client.

use std::process::Output;

use stack_tests::{InfraCopy, describe, run_xtask};

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Asserts exit 1 (not a crash) with each of `expected` on stdout, where findings go.
fn assert_fails_with(out: &Output, expected: &[&str]) {
    assert_eq!(out.status.code(), Some(1), "expected exit 1\n{}", describe(out));
    let text = stdout(out);
    for e in expected {
        assert!(text.contains(e), "stdout lacks `{e}`\n{}", describe(out));
    }
}

#[test]
fn minikube_overlay_validates() {
    let out = run_xtask(&["k8s", "validate", "--overlay", "minikube"]);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(stdout(&out).contains("k8s validate ok: overlay minikube ("), "{}", describe(&out));
}

#[test]
fn all_overlays_validate_as_one_json_report() {
    let out = run_xtask(&["--output", "json", "k8s", "validate", "--overlay", "all"]);
    assert!(out.status.success(), "{}", describe(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is one JSON document");
    assert_eq!(report["ok"], true, "{report}");
    let overlays = report["overlays"].as_array().expect("overlays");
    let names: Vec<&str> = overlays.iter().filter_map(|o| o["overlay"].as_str()).collect();
    assert_eq!(names, ["dev", "minikube", "prod", "staging"]);
    for overlay in overlays {
        assert_eq!(overlay["errors"], 0, "{overlay}");
        assert_eq!(overlay["findings"], serde_json::json!([]), "{overlay}");
        assert!(overlay["objects"].as_u64().is_some_and(|n| n >= 10), "{overlay}");
    }
}

#[test]
fn misspelt_field_in_the_base_fails_every_overlay_with_its_path() {
    let tree = InfraCopy::new();
    tree.replace("k8s/base/srvthreds-engine.yaml", "readOnlyRootFilesystem: true", "readOnlyRootFileSystem: true");
    let expected = [
        "error: overlays/minikube: Deployment/srvthreds/srvthreds-engine: \
         spec.template.spec.containers[0].securityContext.readOnlyRootFileSystem: unknown field `readOnlyRootFileSystem`",
        "did you mean `readOnlyRootFilesystem`?",
        "k8s validate FAILED: overlay minikube",
    ];
    assert_fails_with(&tree.xtask(&["k8s", "validate", "--overlay", "minikube"]), &expected);
    let all = tree.xtask(&["k8s", "validate", "--overlay", "all"]);
    assert_fails_with(&all, &["k8s validate FAILED: overlay dev", "k8s validate FAILED: overlay prod"]);
}

#[test]
fn secret_in_a_configmap_literal_is_rejected() {
    let tree = InfraCopy::new();
    tree.replace(
        "k8s/overlays/minikube/kustomization.yaml",
        "      - LOG_LEVEL=debug\n",
        "      - LOG_LEVEL=debug\n      - DB_PASSWORD=x\n",
    );
    let out = tree.xtask(&["k8s", "validate", "--overlay", "minikube"]);
    assert_fails_with(
        &out,
        &[
            "error: overlays/minikube: ConfigMap/srvthreds/srvthreds-config: data.DB_PASSWORD: key `DB_PASSWORD` looks like a secret",
            "help: ",
        ],
    );
}

#[test]
fn wrong_types_unknown_kinds_and_latest_images_are_rejected() {
    let tree = InfraCopy::new();
    tree.replace("k8s/overlays/prod/hpa.yaml", "minReplicas: 3", "minReplicas: three");
    tree.replace("k8s/overlays/prod/pdb.yaml", "apiVersion: policy/v1", "apiVersion: policy/v1beta1");
    tree.replace("k8s/overlays/prod/kustomization.yaml", "newTag: \"1.0.0\"", "newTag: latest");
    let out = tree.xtask(&["--output", "json", "k8s", "validate", "--overlay", "prod"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is one JSON document");
    let findings = report["overlays"][0]["findings"].as_array().expect("findings").clone();
    let has = |object: &str, path: &str, message: &str| {
        findings.iter().any(|f| f["object"] == object && f["path"] == path && f["message"].as_str().is_some_and(|m| m.contains(message)))
    };
    assert!(has("HorizontalPodAutoscaler/srvthreds/srvthreds-engine", "spec.minReplicas", "expected i32"), "{report}");
    assert!(has("PodDisruptionBudget/srvthreds/srvthreds-engine", "", "no schema for policy/v1beta1 PodDisruptionBudget"), "{report}");
    assert!(has("Deployment/srvthreds/srvthreds-engine", "spec.template.spec.containers[0].image", "uses the tag `latest`"), "{report}");
    assert_eq!(report["ok"], false);
}

#[test]
fn config_check_reports_lint_and_schema_findings_once() {
    let tree = InfraCopy::new();
    tree.replace("k8s/base/srvthreds-engine.yaml", "readOnlyRootFilesystem: true", "readOnlyRootFileSystem: true");
    tree.replace(
        "k8s/overlays/minikube/kustomization.yaml",
        "      - LOG_LEVEL=debug\n",
        "      - LOG_LEVEL=debug\n      - DB_PASSWORD=x\n",
    );
    let out = tree.xtask(&["config", "check"]);
    assert_fails_with(
        &out,
        &[
            "k8s/overlays/minikube: ConfigMap/srvthreds/srvthreds-config: data.DB_PASSWORD: key `DB_PASSWORD` looks like a secret",
            "k8s/overlays/prod: Deployment/srvthreds/srvthreds-engine: spec.template.spec.containers[0].securityContext.readOnlyRootFileSystem: unknown field",
            "config check FAILED",
        ],
    );
    // The plain build lints natively and takes only the schema findings from its `full` re-run.
    assert_eq!(stdout(&out).matches("data.DB_PASSWORD").count(), 1, "{}", describe(&out));
    assert_eq!(stdout(&out).matches("readOnlyRootFileSystem: unknown field").count(), 4, "{}", describe(&out));
}
