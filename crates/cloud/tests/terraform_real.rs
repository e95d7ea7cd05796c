//! The plan summary on what real Terraform writes, through the crate's own runner.
//!
//! A configuration of the built-in `terraform_data` resource (and, later, the built-in
//! `terraform_remote_state` data source) needs no provider download, so `init`, `plan`, `apply`
//! and `show -json` run offline. The test applies a first version in a temporary environment
//! folder, then changes the configuration so that the next plan creates, updates in place,
//! replaces (delete-then-create and, with `create_before_destroy`, create-then-delete), destroys,
//! forgets (a `removed` block) and reads during apply, and checks the summary of that plan's
//! `terraform show -json` against the plan itself: the actions the JSON lists per resource, and
//! Terraform's own `Plan: X to add, Y to change, Z to destroy.` line.
//!
//! It needs `terraform` (1.7 or later, for `removed`) on `PATH`; without it the test fails rather
//! than skips, like the other checks that run the real binary.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use stack_cloud::terraform::{Counts, Options, Plan, PlanSummary, Step, Stream, Terraform, TypeCounts};

/// The first configuration: what is applied before the plan under test.
const FIRST: &str = r#"terraform {
  backend "local" {}
}

resource "terraform_data" "kept" {
  input = "same"
}

resource "terraform_data" "updated" {
  input = "v1"
}

resource "terraform_data" "replaced" {
  triggers_replace = "r1"
}

resource "terraform_data" "replaced_first" {
  triggers_replace = "r1"

  lifecycle {
    create_before_destroy = true
  }
}

resource "terraform_data" "destroyed" {
  input = "bye"
}

resource "terraform_data" "forgotten" {
  input = "kept out of the state, not destroyed"
}

output "kept" {
  value = terraform_data.kept.output
}

output "updated" {
  value = terraform_data.updated.output
}
"#;

/// The second configuration: one resource of each kind of change against the state of [`FIRST`].
const SECOND: &str = r#"terraform {
  backend "local" {}
}

resource "terraform_data" "kept" {
  input = "same"
}

# `input` changes in place; `triggers_replace` forces a replacement.
resource "terraform_data" "updated" {
  input = "v2"
}

resource "terraform_data" "replaced" {
  triggers_replace = "r2"
}

resource "terraform_data" "replaced_first" {
  triggers_replace = "r2"

  lifecycle {
    create_before_destroy = true
  }
}

resource "terraform_data" "created" {
  input = "new"
}

# terraform_data.destroyed is gone from the configuration: destroyed.

removed {
  from = terraform_data.forgotten

  lifecycle {
    destroy = false
  }
}

# Its configuration is unknown until terraform_data.created exists: read during apply.
data "terraform_remote_state" "later" {
  backend = "local"

  config = {
    path = "${terraform_data.created.output}.tfstate"
  }
}

output "kept" {
  value = terraform_data.kept.output
}

output "updated" {
  value = terraform_data.updated.output
}
"#;

const ENVIRONMENT: &str = "offline";

/// A Terraform tree with one environment folder holding `config` and a local-backend
/// `backend.hcl`, and a runner for it that may apply.
fn environment(root: &Path, config: &str) -> Terraform {
    let dir = root.join("environments").join(ENVIRONMENT);
    fs::create_dir_all(&dir).expect("environment folder");
    fs::write(dir.join("main.tf"), config).expect("write main.tf");
    // `init` always passes `-backend-config=backend.hcl`; the local backend takes a state path.
    fs::write(dir.join("backend.hcl"), "path = \"terraform.tfstate\"\n").expect("write backend.hcl");
    let mut options = Options::new(root, ENVIRONMENT);
    options.yes = true;
    Terraform::new(options).expect("`terraform` (1.7 or later) is on PATH: this test runs the real binary")
}

/// Runs `f`, returning its result and the stdout lines it streamed.
fn with_stdout<T>(f: impl FnOnce(&mut dyn FnMut(Stream, &str)) -> T) -> (T, Vec<String>) {
    let mut stdout = Vec::new();
    let result = f(&mut |stream, line| {
        if stream == Stream::Stdout {
            stdout.push(line.to_owned());
        }
    });
    (result, stdout)
}

/// The action lists of a `show -json` plan, per resource address, read without the summary.
fn actions_by_address(json: &str) -> BTreeMap<String, (String, Vec<String>)> {
    let plan: serde_json::Value = serde_json::from_str(json).expect("show -json prints JSON");
    let changes = plan["resource_changes"].as_array().expect("the plan lists resource_changes");
    changes
        .iter()
        .map(|rc| {
            let text = |v: &serde_json::Value| v.as_str().expect("a string").to_owned();
            let actions = rc["change"]["actions"].as_array().expect("actions").iter().map(text).collect();
            (text(&rc["address"]), (text(&rc["type"]), actions))
        })
        .collect()
}

/// Counts per resource type tallied straight from the action lists, as the summary documents
/// them (no-op entries left out).
fn tally(actions: &BTreeMap<String, (String, Vec<String>)>) -> Vec<TypeCounts> {
    let mut by_type: BTreeMap<&str, Counts> = BTreeMap::new();
    for (resource_type, list) in actions.values() {
        let list: Vec<&str> = list.iter().map(String::as_str).collect();
        if list == ["no-op"] {
            continue;
        }
        let counts = by_type.entry(resource_type).or_default();
        match list.as_slice() {
            ["create"] => counts.add += 1,
            ["update"] => counts.change += 1,
            ["delete"] => counts.destroy += 1,
            ["delete", "create"] | ["create", "delete"] => counts.replace += 1,
            ["read"] => counts.read += 1,
            ["forget"] => counts.forget += 1,
            other => panic!("unexpected actions {other:?}"),
        }
    }
    by_type.into_iter().map(|(t, counts)| TypeCounts { resource_type: t.to_owned(), counts }).collect()
}

/// Terraform's own count line of a plan's output, e.g. `Plan: 3 to add, 1 to change, 3 to destroy.`
fn plan_line(stdout: &[String]) -> &str {
    stdout.iter().find(|l| l.starts_with("Plan: ")).map_or_else(|| panic!("no `Plan:` line in\n{}", stdout.join("\n")), String::as_str)
}

#[test]
fn the_summary_of_a_real_plan_counts_what_the_plan_contains() {
    let root = tempfile::tempdir().expect("temporary folder");
    let terraform = environment(root.path(), FIRST);
    let main = terraform.options().dir.join("main.tf");

    let (init, _) = with_stdout(|on_line| terraform.init(on_line));
    init.expect("init with the built-in provider and the local backend works offline");

    // The first plan creates all six; its summary says so and Terraform agrees.
    let (first, stdout) = with_stdout(|on_line| terraform.plan(Plan::Changes, on_line));
    let first = first.expect("first plan");
    assert_eq!(
        first.resource_types,
        [TypeCounts { resource_type: "terraform_data".to_owned(), counts: Counts { add: 6, ..Counts::default() } }]
    );
    assert_eq!(plan_line(&stdout), "Plan: 6 to add, 0 to change, 0 to destroy.");
    assert_eq!(first.changed_outputs, ["kept", "updated"]);
    insta::assert_snapshot!("first_plan", first.to_string());
    let (applied, _) = with_stdout(|on_line| terraform.apply(Plan::Changes, on_line));
    applied.expect("apply of the first plan");

    // Planned again unchanged: nothing to do.
    let (again, _) = with_stdout(|on_line| terraform.plan(Plan::Changes, on_line));
    let again = again.expect("plan of the applied configuration");
    assert!(again.changes_nothing() && again.totals == Counts::default(), "{again:?}");
    assert!(again.changed_outputs.is_empty(), "{again:?}");
    insta::assert_snapshot!("unchanged_plan", again.to_string());

    fs::write(&main, SECOND).expect("write the second configuration");
    let (summary, stdout) = with_stdout(|on_line| terraform.plan(Plan::Changes, on_line));
    let summary = summary.expect("second plan");
    let (json, _) = with_stdout(|on_line| terraform.run(Step::Show, on_line));
    let json = json.expect("show -json of the saved plan");
    let from_json = PlanSummary::from_json(&json).expect("the summary reads show -json");
    assert_eq!(from_json, summary);

    // The plan really has each kind of change, both orders of replacement included.
    let actions = actions_by_address(&json);
    let listed = |address: &str| actions.get(address).map(|(_, a)| a.join(",")).unwrap_or_else(|| panic!("{address} not in the plan"));
    assert_eq!(listed("terraform_data.kept"), "no-op");
    assert_eq!(listed("terraform_data.updated"), "update");
    assert_eq!(listed("terraform_data.replaced"), "delete,create");
    assert_eq!(listed("terraform_data.replaced_first"), "create,delete");
    assert_eq!(listed("terraform_data.created"), "create");
    assert_eq!(listed("terraform_data.destroyed"), "delete");
    assert_eq!(listed("terraform_data.forgotten"), "forget");
    assert_eq!(listed("data.terraform_remote_state.later"), "read");
    assert_eq!(actions.len(), 8, "{actions:?}");

    // The summary counts what the plan lists, per type and in total.
    let expected = vec![
        TypeCounts {
            resource_type: "terraform_data".to_owned(),
            counts: Counts { add: 1, change: 1, destroy: 1, replace: 2, read: 0, forget: 1 },
        },
        TypeCounts { resource_type: "terraform_remote_state".to_owned(), counts: Counts { read: 1, ..Counts::default() } },
    ];
    assert_eq!(tally(&actions), expected);
    assert_eq!(summary.resource_types, expected);
    assert_eq!(summary.totals, Counts { add: 1, change: 1, destroy: 1, replace: 2, read: 1, forget: 1 });
    assert!(!summary.changes_nothing());
    assert_eq!(summary.replaced, ["terraform_data.replaced", "terraform_data.replaced_first"]);
    assert_eq!(summary.changed_outputs, ["updated"]);
    assert!(summary.terraform_version.as_deref().is_some_and(|v| v.starts_with("1.")), "{:?}", summary.terraform_version);

    // Terraform counts a replacement as an add and a destroy, and a forget as neither; later
    // versions may append a forget count, so only the start of the line is fixed.
    let t = summary.totals;
    let terraform_counts = format!("Plan: {} to add, {} to change, {} to destroy", t.add + t.replace, t.change, t.destroy + t.replace);
    assert!(plan_line(&stdout).starts_with(&terraform_counts), "{} does not start with {terraform_counts}", plan_line(&stdout));

    // The table `terraform plan` prints, computed from this `show -json`.
    insta::assert_snapshot!("second_plan", from_json.to_string());
}
