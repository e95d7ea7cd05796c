//! `cloud plan|apply|destroy` end to end with the real `terraform` binary, through our own
//! commands: an infrastructure copy whose dev environment is a small root of the built-in
//! `terraform_data` resource (no provider download, so it runs offline) with a local backend.
//! The plan summary, the confirmation refused without a terminal, the saved-plan apply, a plan
//! with nothing to do, a dry-run destroy that changes nothing, and the destroy.

#![allow(clippy::unwrap_used)]

use stack_tests::{InfraCopy, describe};

const ROOT: &str = "terraform {\n  backend \"local\" {}\n}\n\nresource \"terraform_data\" \"cluster\" {\n  input = \"srvthreds-dev\"\n}\n\nresource \"terraform_data\" \"registry\" {\n  input = \"srvthreds-engine\"\n}\n";

/// The resources Terraform's state holds (none before the first apply).
fn state_resources(infra: &InfraCopy) -> usize {
    let state = infra.root().join("terraform/environments/dev/terraform.tfstate");
    let Ok(text) = std::fs::read_to_string(&state) else { return 0 };
    let state: serde_json::Value = serde_json::from_str(&text).unwrap();
    state["resources"].as_array().map_or(0, Vec::len)
}

fn json(out: &std::process::Output) -> serde_json::Value {
    assert!(out.status.success(), "{}", describe(out));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("not one JSON document ({e})\n{}", describe(out)))
}

#[test]
fn cloud_plan_apply_and_destroy_run_real_terraform_with_confirmation() {
    let infra = InfraCopy::new();
    let dev = infra.root().join("terraform/environments/dev");
    for file in ["main.tf", "variables.tf", "outputs.tf", "terraform.tfvars"] {
        let _ = std::fs::remove_file(dev.join(file));
    }
    std::fs::write(dev.join("main.tf"), ROOT).unwrap();
    std::fs::write(dev.join("backend.hcl"), "path = \"terraform.tfstate\"\n").unwrap();
    let cloud = |args: &[&str]| {
        let mut full = vec!["--env", "dev", "--output", "json", "cloud"];
        full.extend_from_slice(args);
        infra.command(&full).stdin(std::process::Stdio::null()).output().unwrap()
    };

    let plan = json(&cloud(&["plan"]));
    assert_eq!((plan["action"].as_str(), plan["applied"].as_bool()), (Some("plan"), Some(false)), "{plan:#}");
    assert_eq!(plan["summary"]["totals"]["add"], 2, "{plan:#}");
    assert_eq!(state_resources(&infra), 0, "a plan changed the state");

    // No terminal and no --yes: refused, nothing applied.
    let refused = cloud(&["apply"]);
    assert!(!refused.status.success(), "{}", describe(&refused));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("pass --yes to confirm"), "{}", describe(&refused));
    assert_eq!(state_resources(&infra), 0, "a refused apply changed the state");

    let applied = json(&cloud(&["apply", "--yes"]));
    assert_eq!((applied["applied"].as_bool(), &applied["summary"]["totals"]["add"]), (Some(true), &serde_json::json!(2)), "{applied:#}");
    assert_eq!(state_resources(&infra), 2);

    let again = json(&cloud(&["plan"]));
    let totals = &again["summary"]["totals"];
    assert!(["add", "change", "destroy", "replace"].iter().all(|k| totals[k] == 0), "{again:#}");

    let dry = json(&cloud(&["destroy", "--yes", "--dry-run"]));
    // The plan of commands it would run, nothing run.
    assert!(dry["commands"].as_array().is_some_and(|c| !c.is_empty()) && dry.get("applied").is_none(), "{dry:#}");
    assert_eq!(state_resources(&infra), 2, "a dry-run destroy changed the state");

    let destroyed = json(&cloud(&["destroy", "--yes"]));
    assert_eq!(
        (destroyed["applied"].as_bool(), &destroyed["summary"]["totals"]["destroy"]),
        (Some(true), &serde_json::json!(2)),
        "{destroyed:#}"
    );
    assert_eq!(state_resources(&infra), 0);
}
