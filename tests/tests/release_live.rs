//! `cargo xtask release` end to end, against the real registry (`registry.sh`, localhost:5000)
//! and the real local cluster (`../shared/tools/local-k8s`, which pulls `localhost:5000/...`
//! through its mirror), through our own commands only. In one test, since every step builds on
//! the one before:
//!
//! - `--dry-run` pushes nothing and creates nothing (checked on the registry and the cluster);
//! - release v1: every workload ready, the pods run exactly the pushed digests (their
//!   `imageID`), the smoke tests pass;
//! - the same release again: nothing pushed, nothing changed, "nothing to do";
//! - a broken v2 (the engine exits at start, built from a changed copy of the fixture app): the
//!   release fails fast, rolls back to v1's digests, smoke is not reported as passed, exit
//!   non-zero;
//! - v1's record promoted to a second overlay (namespace): nothing built or pushed, all ready.
//!
//! The service images are never loaded into the node: the cluster pulls them by digest. The
//! RabbitMQ image is not part of a release and is loaded, as in `k8s_live`.

#![allow(clippy::unwrap_used)]

use camino::Utf8Path;
use stack_tests::live::{
    assert_runs, catalog, delete_namespace, digest_of, digests, json, kubectl, prepare_cluster, registry, release, workspace,
};
use stack_tests::{describe, stdout};

#[test]
fn release_pushes_pins_rolls_out_smoke_tests_rolls_back_and_promotes() {
    let registry = registry();
    let overlays = [("release-a", "srvthreds-rel-a"), ("release-b", "srvthreds-rel-b")];
    prepare_cluster(&overlays);
    let infra = workspace(&overlays);
    let (ns_a, ns_b) = ("srvthreds-rel-a", "srvthreds-rel-b");
    for ns in [ns_a, ns_b] {
        let _ = kubectl(&["delete", "namespace", ns, "--ignore-not-found", "--wait=true", "--timeout=120s"]);
    }
    let repo = format!("{registry}/e2e-{}", std::process::id());
    let records = tempfile::tempdir().unwrap();
    let records = Utf8Path::from_path(records.path()).unwrap().to_owned();
    let (v1, v2) = (records.join("v1.json"), records.join("v2.json"));

    // A dry run: nothing pushed, nothing created.
    let before = catalog(&registry);
    let plan = release(&infra, &["--overlay", "release-a", "--registry", &repo, "--record", v1.as_str(), "--dry-run", "--output", "json"]);
    assert!(plan.status.success(), "{}", describe(&plan));
    let plan = json(&plan);
    assert_eq!(plan["dryRun"], true, "{plan:#}");
    assert!(plan["changes"].as_array().unwrap().len() > 5, "{plan:#}");
    assert_eq!(plan["smokePlan"]["services"].as_array().unwrap().len(), 3, "{plan:#}");
    assert_eq!(catalog(&registry), before, "a dry run pushed to the registry");
    assert!(!v1.exists(), "a dry run wrote the release record");
    let ns = kubectl(&["get", "namespace", ns_a, "--ignore-not-found", "-o", "name"]);
    assert!(stdout(&ns).trim().is_empty(), "a dry run created namespace {ns_a}");

    // v1: pushed, applied, ready, smoke-tested; the pods run the pushed digests.
    let first = release(&infra, &["--overlay", "release-a", "--registry", &repo, "--record", v1.as_str(), "--output", "json"]);
    assert!(first.status.success(), "release v1 failed\n{}", describe(&first));
    let report = json(&first);
    assert_eq!(report["ok"], true, "{report:#}");
    assert_eq!(report["smoke"]["ok"], true, "{report:#}");
    let smoke = report["smoke"]["checks"].as_array().unwrap();
    assert!(smoke.iter().any(|c| c["name"].as_str().unwrap().starts_with("amqp")), "no in-cluster RabbitMQ check: {report:#}");
    let v1_digests = digests(&v1);
    assert_runs(ns_a, &v1_digests, "after release v1");

    // The same sources again: nothing uploaded, nothing to do.
    let again = release(&infra, &["--overlay", "release-a", "--registry", &repo, "--record", v1.as_str(), "--output", "json"]);
    assert!(again.status.success(), "{}", describe(&again));
    let again = json(&again);
    assert_eq!((again["uploaded"].as_u64(), &again["nothingToDo"]), (Some(0), &serde_json::Value::Bool(true)), "{again:#}");
    assert_eq!(digests(&v1), v1_digests, "an unchanged source gave other digests");

    // A broken v2: the engine exits at start. The release fails and rolls back to v1.
    let engine = infra.root().parent().unwrap().join("tests/fixtures/srvthreds-app/src/engine.js");
    let source = std::fs::read_to_string(&engine).unwrap();
    std::fs::write(&engine, format!("process.env.FAIL_MODE = 'crash';\n{source}")).unwrap();
    let broken = release(&infra, &["--overlay", "release-a", "--registry", &repo, "--record", v2.as_str()]);
    assert!(!broken.status.success(), "a release of a crashing engine succeeded\n{}", describe(&broken));
    let text = format!("{}{}", stdout(&broken), String::from_utf8_lossy(&broken.stderr));
    assert!(text.contains("release of overlay release-a failed: the rollout failed"), "{}", describe(&broken));
    assert!(text.contains("rolled back deployment/srvthreds-engine"), "{}", describe(&broken));
    assert!(text.contains(&format!("now {repo}/srvthreds-engine@{}", digest_of(&v1_digests, "srvthreds-engine"))), "{}", describe(&broken));
    assert!(!text.contains("checks passed"), "smoke reported as passed\n{}", describe(&broken));
    let v2_digests = digests(&v2);
    assert_ne!(digest_of(&v2_digests, "srvthreds-engine"), digest_of(&v1_digests, "srvthreds-engine"));
    assert_runs(ns_a, &v1_digests, "after the rollback of v2");
    delete_namespace(&infra, "release-a");

    // v1's record promoted to another overlay: nothing built or pushed.
    let repos = catalog(&registry);
    let promoted = release(&infra, &["--overlay", "release-b", "--images", v1.as_str(), "--output", "json"]);
    assert!(promoted.status.success(), "promotion failed\n{}", describe(&promoted));
    let promoted_report = json(&promoted);
    assert!(
        promoted_report.get("uploaded").is_none() && promoted_report["source"].as_str().unwrap().starts_with("record "),
        "{promoted_report:#}"
    );
    let stderr = String::from_utf8_lossy(&promoted.stderr);
    assert!(!stderr.contains("Building") && !stderr.contains("push"), "the promotion built or pushed\n{}", describe(&promoted));
    assert_eq!(catalog(&registry), repos);
    assert_runs(ns_b, &v1_digests, "after the promotion");
    delete_namespace(&infra, "release-b");
}
