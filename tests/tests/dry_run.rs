//! `--dry-run` and `--output json` across the command surface. Every leaf command of `cargo
//! xtask --help` is known here as one that changes something or one that only reads, so a new
//! command cannot be added without deciding; each changing command that runs without a cluster
//! or AWS runs here with `--dry-run --output json`: stdout must be exactly one JSON document,
//! and the real Docker Engine's containers, images, networks and volumes must be the same
//! afterwards. (The cluster commands are run so in `k8s_live.rs`, `release` in `release_live.rs`,
//! `cloud kubeconfig` in `cloud_moto.rs`.)

use std::collections::BTreeSet;

use stack_tests::{describe, docker_lines, repo_root, require_engine, run_xtask, stdout};

/// The leaf commands that change something, with the arguments to run them under --dry-run
/// here; `None`: run with --dry-run by another test binary (named).
const CHANGING: &[(&str, Option<&[&str]>)] = &[
    ("deploy", Some(&["deploy", "local", "s_a_dbs_s"])),
    ("db start", Some(&["db", "start"])),
    ("db stop", Some(&["db", "stop"])),
    ("db reset", Some(&["db", "reset"])),
    ("services build", Some(&["services", "build"])),
    ("services up", Some(&["services", "up"])),
    ("services down", Some(&["services", "down"])),
    ("bootstrap", Some(&["bootstrap"])),
    ("test-images", Some(&["test-images"])),
    ("bench compose", Some(&["bench", "compose"])),
    ("images push", Some(&["images", "push", "--registry", "localhost:5000", "--record", "target/dry-run-release.json"])),
    ("k8s pin", Some(&["k8s", "pin", "--overlay", "minikube", "--images", "tests/fixtures/release/release.json"])),
    ("minikube up", Some(&["minikube", "up"])),
    ("minikube down", Some(&["minikube", "down"])),
    ("cloud plan", Some(&["--env", "dev", "cloud", "plan"])),
    ("cloud apply", Some(&["--env", "dev", "cloud", "apply", "--yes"])),
    ("cloud destroy", Some(&["--env", "dev", "cloud", "destroy", "--yes"])),
    // cloud_moto.rs (needs the AWS emulator).
    ("cloud kubeconfig", None),
    // release_live.rs (needs the cluster and the registry).
    ("release", None),
    // k8s_live.rs (needs the cluster).
    ("k8s apply", None),
    ("k8s scale", None),
    ("k8s rollback", None),
    ("k8s delete", None),
];

/// The leaf commands that only read.
const READING: &[&str] = &[
    "db status",
    "services logs",
    "status",
    "logs",
    "health",
    "minikube status",
    "k8s render",
    "k8s validate",
    "k8s diff",
    "k8s status",
    "k8s logs",
    "k8s port-forward",
    "smoke",
    "cloud token",
    "cloud status",
    "cloud lint",
    "config check",
    "doctor",
    "completions",
];

/// The subcommands a `--help` text lists (without `help`).
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .filter(|c| c != "help")
        .collect()
}

/// Every leaf command, as `group sub` or `command`.
fn leaf_commands() -> Vec<String> {
    let top = run_xtask(&["--help"]);
    assert!(top.status.success(), "{}", describe(&top));
    let mut leaves = Vec::new();
    for command in subcommands(&stdout(&top)) {
        let help = run_xtask(&[&command, "--help"]);
        assert!(help.status.success(), "{}", describe(&help));
        let subs = subcommands(&stdout(&help));
        if subs.is_empty() {
            leaves.push(command);
        } else {
            leaves.extend(subs.into_iter().map(|s| format!("{command} {s}")));
        }
    }
    leaves
}

#[test]
fn every_command_is_known_as_changing_or_reading() {
    let leaves = leaf_commands();
    assert!(leaves.len() > 20, "too few commands found: {leaves:?}");
    for leaf in &leaves {
        assert!(
            CHANGING.iter().any(|(c, _)| c == leaf) || READING.contains(&leaf.as_str()),
            "`{leaf}` is new: put it in CHANGING (with a --dry-run run) or READING"
        );
    }
    for known in CHANGING.iter().map(|(c, _)| *c).chain(READING.iter().copied()) {
        assert!(leaves.iter().any(|l| l == known), "`{known}` is listed here but not by --help: {leaves:?}");
    }
}

/// What the engine holds: every container (with its state), image, network and volume.
fn engine_state() -> BTreeSet<String> {
    let mut state = BTreeSet::new();
    for (what, args) in [
        ("container", &["ps", "-a", "--no-trunc", "--format", "{{.ID}} {{.State}} {{.Status}}"][..]),
        ("image", &["images", "-a", "--no-trunc", "--format", "{{.ID}} {{.Repository}}:{{.Tag}}"][..]),
        ("network", &["network", "ls", "--no-trunc", "--format", "{{.ID}}"][..]),
        ("volume", &["volume", "ls", "--format", "{{.Name}}"][..]),
    ] {
        // A container's status text counts its age ("Up 5 minutes"): keep its state only.
        state.extend(docker_lines(args).into_iter().map(|l| {
            let l = if what == "container" { l.split(' ').take(2).collect::<Vec<_>>().join(" ") } else { l };
            format!("{what} {l}")
        }));
    }
    state
}

#[test]
fn dry_runs_print_one_json_document_and_change_nothing_on_the_engine() {
    require_engine();
    let before = engine_state();
    let kustomization = repo_root().join("infrastructure/k8s/overlays/minikube/kustomization.yaml");
    let kustomization_before = std::fs::read_to_string(&kustomization).expect("the minikube overlay");
    for (name, args) in CHANGING {
        let Some(args) = args else { continue };
        // The flags after the command, as users type them.
        let mut full: Vec<&str> = args.to_vec();
        full.extend(["--dry-run", "--output", "json"]);
        let out = run_xtask(&full);
        assert!(out.status.success(), "`{name}` --dry-run failed\n{}", describe(&out));
        let text = stdout(&out);
        let mut documents = serde_json::Deserializer::from_str(&text).into_iter::<serde_json::Value>();
        let first = documents.next().unwrap_or_else(|| panic!("`{name}` printed no JSON\n{}", describe(&out)));
        first.unwrap_or_else(|e| panic!("`{name}` printed invalid JSON ({e})\n{}", describe(&out)));
        assert!(documents.next().is_none(), "`{name}` printed more than one JSON document\n{}", describe(&out));
    }
    assert!(!repo_root().join("target/dry-run-release.json").exists(), "`images push --dry-run` wrote its release record");
    assert_eq!(
        std::fs::read_to_string(&kustomization).expect("the minikube overlay"),
        kustomization_before,
        "`k8s pin --dry-run` changed the overlay"
    );
    let after = engine_state();
    let changed: Vec<String> = before.symmetric_difference(&after).cloned().collect();
    assert!(changed.is_empty(), "a dry run changed the engine:\n{}", changed.join("\n"));
}
