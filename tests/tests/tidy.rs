//! Repository rules, checked as tests: crate dependency direction and module doc comments.

use std::collections::BTreeMap;
use std::process::Command;

use stack_tests::repo_root;

/// The allowed sibling dependencies of each workspace crate (normal and build dependencies).
fn allowed() -> BTreeMap<&'static str, &'static [&'static str]> {
    BTreeMap::from([
        ("stack-config", &[][..]),
        // The process runner depends on no sibling; every driver may use it.
        ("stack-process", &[][..]),
        ("stack-compose", &["stack-config", "stack-process"][..]),
        ("stack-k8s", &["stack-config", "stack-process"][..]),
        ("stack-cloud", &["stack-config", "stack-process"][..]),
        ("stack-health", &["stack-config"][..]),
        ("stack-testkit", &["stack-config", "stack-compose", "stack-health"][..]),
        // The workflows that span several drivers; no driver depends on it.
        ("stack-ops", &["stack-config", "stack-compose", "stack-k8s", "stack-cloud", "stack-health"][..]),
        (
            "xtask",
            &["stack-config", "stack-process", "stack-compose", "stack-k8s", "stack-cloud", "stack-health", "stack-ops", "stack-testkit"][..],
        ),
        (
            "stack-tests",
            &["stack-config", "stack-process", "stack-compose", "stack-k8s", "stack-cloud", "stack-health", "stack-ops", "stack-testkit"][..],
        ),
    ])
}

/// Crates the pure config model must never depend on, directly or not.
const NOT_IN_CONFIG: &[&str] = &["tokio", "bollard", "kube", "kube-client", "k8s-openapi", "aws-config", "aws-sdk-eks", "hyper", "reqwest"];

/// Crates xtask may not depend on directly: it goes through the library crates. (k8s-openapi is
/// a dependency of xtask only to select the Kubernetes API version, which only a final binary
/// may do; `xtask_source_uses_no_backend_crate` checks that xtask never uses it.)
const NOT_IN_XTASK: &[&str] = &["bollard", "kube", "aws-config", "aws-sdk-eks", "aws-sdk-ecr", "aws-sdk-sts"];

/// Paths xtask's source must not name.
const NOT_IN_XTASK_SOURCE: &[&str] = &["bollard", "kube", "k8s_openapi", "aws_sdk_eks", "aws_sdk_sts", "aws_config"];

fn metadata() -> serde_json::Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--all-features", "--locked"])
        .current_dir(repo_root())
        .output()
        .expect("cargo metadata runs");
    assert!(out.status.success(), "cargo metadata failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON")
}

#[test]
fn crate_dependencies_point_one_way() {
    let meta = metadata();
    let packages = meta["packages"].as_array().expect("packages");
    let members: Vec<&str> = meta["workspace_members"].as_array().expect("members").iter().filter_map(|m| m.as_str()).collect();
    let allowed = allowed();
    let mut checked = 0;
    for pkg in packages.iter().filter(|p| members.contains(&p["id"].as_str().unwrap_or_default())) {
        let name = pkg["name"].as_str().expect("name");
        let ok = allowed.get(name).unwrap_or_else(|| panic!("workspace crate `{name}` has no entry in the tidy test's dependency rules"));
        for dep in pkg["dependencies"].as_array().expect("dependencies") {
            let dep_name = dep["name"].as_str().expect("dep name");
            let is_dev = dep["kind"].as_str() == Some("dev");
            if allowed.contains_key(dep_name) && !is_dev {
                assert!(ok.contains(&dep_name), "`{name}` depends on `{dep_name}`, which the architecture does not allow");
            }
            if name == "xtask" {
                assert!(!NOT_IN_XTASK.contains(&dep_name), "xtask depends on `{dep_name}` directly; go through a library crate");
            }
        }
        checked += 1;
    }
    assert!(checked >= 6, "only {checked} workspace crates were found");
}

#[test]
fn config_crate_stays_pure() {
    let meta = metadata();
    let nodes = meta["resolve"]["nodes"].as_array().expect("resolve nodes");
    let by_id: BTreeMap<&str, &serde_json::Value> = nodes.iter().map(|n| (n["id"].as_str().unwrap_or_default(), n)).collect();
    let packages = meta["packages"].as_array().expect("packages");
    let name_of: BTreeMap<&str, &str> =
        packages.iter().map(|p| (p["id"].as_str().unwrap_or_default(), p["name"].as_str().unwrap_or_default())).collect();
    let config_id = packages.iter().find(|p| p["name"] == "stack-config").and_then(|p| p["id"].as_str()).expect("stack-config exists");
    // Walk normal (non-dev) dependencies transitively.
    let mut stack = vec![config_id];
    let mut seen = std::collections::BTreeSet::new();
    while let Some(id) = stack.pop() {
        if !seen.insert(id) {
            continue;
        }
        for dep in by_id[id]["deps"].as_array().expect("deps") {
            let normal = dep["dep_kinds"].as_array().expect("dep_kinds").iter().any(|k| k["kind"].is_null() || k["kind"] == "build");
            if normal {
                let dep_id = dep["pkg"].as_str().expect("pkg");
                let name = name_of[dep_id];
                assert!(!NOT_IN_CONFIG.contains(&name), "stack-config depends (transitively) on `{name}`; the config model must stay pure");
                stack.push(dep_id);
            }
        }
    }
    assert!(seen.len() > 1, "stack-config has no dependencies at all, which is unexpected");
}

#[test]
fn xtask_source_uses_no_backend_crate() {
    let mut offenders = Vec::new();
    let mut count = 0;
    visit(repo_root().join("xtask/src").as_std_path(), &mut |path| {
        count += 1;
        let text = std::fs::read_to_string(path).unwrap_or_default();
        // A crate path starts a `use` or an expression: `name::` after a non-identifier char.
        let named = |name: &str| {
            text.match_indices(&format!("{name}::")).any(|(i, _)| i == 0 || !text[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_'))
        };
        for name in NOT_IN_XTASK_SOURCE {
            if named(name) {
                offenders.push(format!("{} names `{name}`", path.display()));
            }
        }
    });
    assert!(count > 3, "found only {count} xtask files");
    assert!(offenders.is_empty(), "xtask must go through the library crates:\n{}", offenders.join("\n"));
}

#[test]
fn every_source_file_starts_with_a_doc_comment() {
    let root = repo_root();
    let mut missing = Vec::new();
    let mut count = 0;
    for dir in ["xtask", "crates", "tests"] {
        visit(root.join(dir).as_std_path(), &mut |path| {
            if path.extension().is_some_and(|e| e == "rs")
                && !path.components().any(|c| c.as_os_str() == "fixtures" || c.as_os_str() == "target")
            {
                count += 1;
                let text = std::fs::read_to_string(path).unwrap_or_default();
                if !text.trim_start().starts_with("//!") {
                    missing.push(path.display().to_string());
                }
            }
        });
    }
    assert!(count > 10, "found only {count} Rust files");
    assert!(missing.is_empty(), "files without a leading `//!` comment:\n{}", missing.join("\n"));
}

fn visit(dir: &std::path::Path, f: &mut dyn FnMut(&std::path::Path)) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            visit(&path, f);
        } else {
            f(&path);
        }
    }
}

/// xtask is wiring: no command module uses another; the shared parts are `output`, `flags` and
/// `backend` (the full-build gate), and `main` dispatches.
#[test]
fn no_xtask_command_module_imports_another() {
    let src = repo_root().join("xtask/src");
    let shared = ["main", "output", "flags", "backend"];
    let modules: Vec<String> = std::fs::read_dir(src.as_std_path())
        .expect("read xtask/src")
        .filter_map(|e| e.ok()?.file_name().to_str()?.strip_suffix(".rs").map(str::to_owned))
        .filter(|m| !shared.contains(&m.as_str()))
        .collect();
    assert!(modules.len() >= 8, "expected the command modules in xtask/src, found {modules:?}");
    let mut offenders = Vec::new();
    for file in modules.iter().map(String::as_str).chain(["output", "flags", "backend"]) {
        let text = std::fs::read_to_string(src.join(format!("{file}.rs"))).expect("read module");
        for other in modules.iter().filter(|m| m.as_str() != file) {
            if text.contains(&format!("crate::{other}::"))
                || text.contains(&format!("crate::{other};"))
                || text.contains(&format!("crate::{{{other}"))
            {
                offenders.push(format!("xtask/src/{file}.rs uses crate::{other}"));
            }
        }
    }
    assert!(offenders.is_empty(), "{}", offenders.join("\n"));
}
