//! `cargo xtask config check` and `deploy --dry-run` on the real tree and on broken copies of it:
//! the wiring of the CLI. A finding reaches the output with its file and line, an error is a
//! non-zero exit (never a panic), a warning is not, and `--output json` is one document. What
//! each broken input is reported as is tested on `stack_config::Infra` directly, in
//! `crates/config/tests/diagnostics.rs`.

use stack_tests::{InfraCopy, describe, repo_root, run_xtask};

/// Asserts a failing run whose stderr or stdout contains each of `expected`, and no panic.
fn assert_fails_with(out: &std::process::Output, expected: &[&str]) {
    let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!out.status.success(), "expected a failure\n{}", describe(out));
    assert_ne!(out.status.code(), Some(101), "xtask panicked\n{}", describe(out));
    assert!(!all.contains("panicked"), "xtask panicked\n{}", describe(out));
    for e in expected {
        assert!(all.contains(e), "output lacks `{e}`\n{}", describe(out));
    }
}

#[test]
fn the_shipped_tree_checks_clean() {
    let out = run_xtask(&["config", "check"]);
    assert!(out.status.success(), "{}", describe(&out));
    let out = run_xtask(&["config", "check", "--output", "json"]);
    assert!(out.status.success(), "{}", describe(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["errors"], 0, "{report}");
}

#[test]
fn dry_run_plan_is_one_json_document_in_dependency_order() {
    let out = run_xtask(&["deploy", "local", "s_a_dbs_s", "--dry-run", "--output", "json"]);
    assert!(out.status.success(), "{}", describe(&out));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is one JSON document");
    assert_eq!(plan["deployment"], "s_a_dbs_s");
    assert_eq!(plan["environment"], "local");
    let levels = plan["levels"].as_array().expect("levels");
    let level_of = |svc: &str| {
        levels
            .iter()
            .position(|l| l.as_array().expect("level").iter().any(|c| c["service"] == svc))
            .unwrap_or_else(|| panic!("{svc} is not in the plan: {plan}"))
    };
    // Every container starts after everything it waits for.
    let mut containers = 0;
    for (i, level) in levels.iter().enumerate() {
        for c in level.as_array().expect("level") {
            containers += 1;
            for w in c["waitFor"].as_array().expect("waitFor") {
                let dep = w["service"].as_str().expect("service");
                assert!(level_of(dep) < i, "{} (level {i}) waits for {dep} (level {})", c["service"], level_of(dep));
            }
        }
    }
    assert_eq!(containers, 7, "three stores, bootstrap and three services: {plan}");
    assert!(level_of("mongo") < level_of("srvthreds-bootstrap"));
    assert!(level_of("srvthreds-bootstrap") < level_of("srvthreds-engine"));
    assert!(level_of("srvthreds-engine") < level_of("srvthreds-session-agent"));
    // The builder image is built before the images that use it.
    let images: Vec<&str> = plan["images"].as_array().expect("images").iter().map(|i| i["service"].as_str().unwrap_or_default()).collect();
    assert_eq!(images.first(), Some(&"srvthreds-builder"), "{images:?}");
    assert_eq!(images.len(), 5, "{images:?}");
    // Secrets never appear in a plan.
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("srvthreds-local-redis") && !text.contains("srvthreds-local-rabbit"), "a password leaked into the plan: {text}");
}

#[test]
fn unknown_short_name_suggests_the_closest() {
    let out = run_xtask(&["deploy", "local", "s_a_db", "--dry-run"]);
    assert_fails_with(&out, &["containerDeploymentConfig.json", "unknown deployment `s_a_db`", "help: did you mean `s_a_dbs`?"]);
}

#[test]
fn wrong_type_names_file_line_and_field() {
    let tree = InfraCopy::new();
    tree.edit("config/containerDeploymentConfig.json", |t| t.replacen("\"environments\": [", "\"environments\": 7, \"x\": [", 1));
    let out = tree.xtask(&["config", "check"]);
    assert_fails_with(&out, &["containerDeploymentConfig.json:7:", "`deployments[0].environments`: expected a list, found a number"]);
    // The same finding as one JSON document, and the same exit.
    let out = tree.xtask(&["config", "check", "--output", "json"]);
    assert!(!out.status.success(), "{}", describe(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is one JSON document");
    assert_eq!(report["ok"], false, "{report}");
    let found = report["diagnostics"].as_array().expect("diagnostics").iter().find(|d| d["field"] == "deployments[0].environments");
    let found = found.unwrap_or_else(|| panic!("no finding about the field: {report}"));
    assert_eq!(found["severity"], "error", "{found}");
    assert_eq!(found["location"]["line"], 7, "{found}");
    assert!(found["file"].as_str().is_some_and(|f| f.ends_with("config/containerDeploymentConfig.json")), "{found}");
}

#[test]
fn unsupported_compose_key_is_a_warning_naming_it() {
    let tree = InfraCopy::new();
    tree.edit("local/compose/docker-compose-db.yml", |t| t.replacen("  redis:\n", "  redis:\n    tmpfs: /run\n", 1));
    let out = tree.xtask(&["config", "check"]);
    assert!(out.status.success(), "a warning must not fail the check\n{}", describe(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("warning:") && text.contains("`services.redis.tmpfs`: unsupported key `tmpfs` is ignored"), "{}", describe(&out));
}

#[test]
fn cloud_overlay_without_its_secrets_is_not_applied() {
    // No env/prod.env and no overlays/prod/secrets.env: refused before any cluster is contacted.
    let tree = InfraCopy::new();
    let out = tree.xtask(&["k8s", "apply", "--overlay", "prod"]);
    assert_fails_with(&out, &["overlays/prod/secrets.env", "never committed", "infrastructure/env/prod.env"]);
}

#[test]
fn terraform_files_are_formatted_and_cross_reference_cleanly() {
    let out = std::process::Command::new("terraform")
        .args(["fmt", "-check", "-recursive", "infrastructure/terraform"])
        .current_dir(repo_root())
        .output()
        .expect("terraform is installed on these machines (.ci/run checks for it)");
    assert!(out.status.success(), "terraform fmt -check found unformatted files\n{}", describe(&out));
    let out = run_xtask(&["cloud", "lint"]);
    assert!(out.status.success(), "{}", describe(&out));
}

#[test]
fn cloud_lint_names_the_file_and_the_undeclared_variable() {
    let tree = InfraCopy::new();
    tree.edit("terraform/environments/prod/main.tf", |t| t.replacen("  cluster_name       =", "  cluster_nme       =", 1));
    let out = tree.xtask(&["cloud", "lint"]);
    assert_fails_with(&out, &["environments/prod/main.tf:78", "cluster_nme", "cluster_name"]);
}

#[test]
fn deploy_without_arguments_on_a_terminal_asks_for_environment_then_deployment() {
    // `script` gives the command a pseudo-terminal, so the Phase 1 menu appears; the answers
    // pick `local` (second environment in name order) and the first deployment.
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let inner = format!("{cargo} run --quiet --package xtask -- --dry-run deploy");
    let mut child = std::process::Command::new("script")
        .args(["-q", "-e", "-c", &inner, "/dev/null"])
        .current_dir(repo_root())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("script (util-linux) runs");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        // Answers are read by the menu one line at a time; an out-of-range one is asked again.
        stdin.write_all(b"9\n2\n1\n").expect("answers");
    }
    let out = child.wait_with_output().expect("wait");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(text.contains("Environment:") && text.contains("Deployment:"), "{text}");
    assert!(text.contains("`9` is not a number between 1 and 6"), "{text}");
    assert!(text.contains("plan: up `s_a_dbs_s` in environment `local`"), "{text}");
}

#[test]
fn cloud_deployment_dry_run_lists_kubeconfig_apply_wait_and_health_in_order() {
    let out = run_xtask(&["deploy", "staging", "k8s_cloud", "--dry-run", "--output", "json"]);
    assert!(out.status.success(), "{}", describe(&out));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    assert_eq!(plan["overlay"], "staging", "{plan}");
    let steps: Vec<String> =
        plan["steps"].as_array().expect("steps").iter().map(|s| s["description"].as_str().unwrap_or_default().to_owned()).collect();
    let pos =
        |needle: &str| steps.iter().position(|s| s.contains(needle)).unwrap_or_else(|| panic!("no step with `{needle}` in {steps:#?}"));
    assert!(pos("kubeconfig") < pos("render overlay `staging`"));
    assert!(pos("render overlay") < pos("server-side apply"));
    assert!(pos("server-side apply") < pos("roll out"));
    assert!(pos("roll out") < pos("managed data services"));
    // The cluster steps run through `k8s apply` now; a real run needs an EKS cluster, so it is
    // not attempted here.
    assert!(plan["steps"].as_array().expect("steps").iter().all(|s| s["implemented"] == true), "{plan}");
    let text = run_xtask(&["deploy", "staging", "k8s_cloud", "--dry-run"]);
    assert!(text.status.success() && !String::from_utf8_lossy(&text.stdout).contains("not implemented"), "{}", describe(&text));
}
