//! The native Kustomize renderer against the real `kubectl kustomize` (Kustomize v5.5): every
//! overlay of `infrastructure/k8s` and a fixture overlay per supported feature must give the
//! same objects, in the same order, with the same fields. kubectl must be installed: a missing
//! kubectl fails these tests, it does not skip them.

use std::process::Command;

use camino::{Utf8Path, Utf8PathBuf};
use serde_json::Value;
use stack_k8s::render::{from_yaml, render, to_yaml};
use stack_testkit::fixture::copy_tree;

fn workspace_root() -> Utf8PathBuf {
    Utf8Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixtures() -> Utf8PathBuf {
    Utf8Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/render")
}

/// Runs `kubectl kustomize DIR` and returns its output.
fn kubectl_kustomize(dir: &Utf8Path) -> String {
    let kubectl = which_kubectl();
    let output = Command::new(kubectl).arg("kustomize").arg(dir.as_str()).output().expect("run kubectl kustomize");
    assert!(output.status.success(), "kubectl kustomize {dir} failed:\n{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("kubectl output is UTF-8")
}

/// Runs `kubectl kustomize DIR` on an error fixture, which must fail, and returns its message.
fn kubectl_kustomize_error(dir: &Utf8Path) -> String {
    let output = Command::new(which_kubectl()).arg("kustomize").arg(dir.as_str()).output().expect("run kubectl kustomize");
    assert!(!output.status.success(), "kubectl kustomize {dir} succeeded, the fixture expects it to fail");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn which_kubectl() -> std::path::PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("kubectl"))
        .find(|candidate| candidate.is_file())
        .expect("kubectl is not installed: these tests compare with `kubectl kustomize` and must not be skipped")
}

fn identity(object: &Value) -> String {
    let field = |pointer: &str| object.pointer(pointer).and_then(Value::as_str).unwrap_or("?").to_owned();
    format!("{} {}", field("/kind"), field("/metadata/name"))
}

/// The native renderer and kubectl agree object by object, the YAML we emit reads back to the
/// same values, and it is the same text kubectl prints.
fn check_same_as_kubectl(dir: &Utf8Path) -> Vec<Value> {
    let native = render(dir).unwrap_or_else(|error| panic!("native render of {dir} failed: {error}"));
    let expected_text = kubectl_kustomize(dir);
    let expected = from_yaml(&expected_text).expect("kubectl output parses");
    let native_ids: Vec<String> = native.iter().map(identity).collect();
    let expected_ids: Vec<String> = expected.iter().map(identity).collect();
    assert_eq!(native_ids, expected_ids, "objects or order differ for {dir}");
    for (ours, theirs) in native.iter().zip(&expected) {
        assert_eq!(
            ours,
            theirs,
            "{} differs for {dir}\nnative:\n{}\nkubectl:\n{}",
            identity(ours),
            serde_json::to_string_pretty(ours).unwrap_or_default(),
            serde_json::to_string_pretty(theirs).unwrap_or_default()
        );
    }
    let ours_text = to_yaml(&native);
    assert_eq!(from_yaml(&ours_text).expect("our YAML parses"), native, "to_yaml does not round-trip for {dir}");
    // Beyond equal values: the emitted YAML is byte for byte kubectl's (key order, quoting,
    // list indentation, wrapped base64).
    assert!(ours_text == expected_text, "YAML text differs for {dir}\nnative:\n{ours_text}\nkubectl:\n{expected_text}");
    native
}

/// A copy of `infrastructure/k8s` with each `secrets.env.example` copied to `secrets.env`, as
/// the cloud overlays need.
fn infra_copy() -> (tempfile::TempDir, Utf8PathBuf) {
    let temp = tempfile::tempdir().expect("tempdir");
    let root = Utf8PathBuf::from_path_buf(temp.path().join("k8s")).expect("UTF-8 temp path");
    copy_tree(workspace_root().join("infrastructure/k8s").as_std_path(), root.as_std_path()).expect("copy infrastructure/k8s");
    for overlay in ["dev", "staging", "prod"] {
        let dir = root.join("overlays").join(overlay);
        std::fs::copy(dir.join("secrets.env.example"), dir.join("secrets.env")).expect("copy secrets.env.example");
    }
    (temp, root)
}

fn check_overlay(name: &str) -> Vec<Value> {
    let (_temp, root) = infra_copy();
    check_same_as_kubectl(&root.join("overlays").join(name))
}

#[test]
fn minikube_overlay_matches_kubectl() {
    let objects = check_overlay("minikube");
    assert!(objects.iter().any(|object| identity(object).starts_with("Secret srvthreds-secrets-")));
}

#[test]
fn dev_overlay_matches_kubectl() {
    check_overlay("dev");
}

#[test]
fn staging_overlay_matches_kubectl() {
    check_overlay("staging");
}

#[test]
fn prod_overlay_matches_kubectl() {
    let objects = check_overlay("prod");
    assert!(objects.iter().any(|object| identity(object) == "HorizontalPodAutoscaler srvthreds-engine"));
}

/// An overlay that moves the base into another namespace: Kustomize renames the base's
/// Namespace object too (a second namespace of the same app, as `release` promotes into).
#[test]
fn overlay_in_another_namespace_renames_the_namespace_object_as_kubectl() {
    let (_temp, root) = infra_copy();
    let dir = root.join("overlays/other-namespace");
    copy_tree(root.join("overlays/minikube").as_std_path(), dir.as_std_path()).expect("copy the minikube overlay");
    let file = dir.join("kustomization.yaml");
    let text = std::fs::read_to_string(&file).expect("read kustomization.yaml");
    std::fs::write(&file, text.replace("\nnamespace: srvthreds\n", "\nnamespace: srvthreds-other\n")).expect("write kustomization.yaml");
    let objects = check_same_as_kubectl(&dir);
    assert!(objects.iter().any(|object| identity(object) == "Namespace srvthreds-other"), "no renamed Namespace");
}

#[test]
fn committed_minikube_overlay_renders_in_place() {
    check_same_as_kubectl(&workspace_root().join("infrastructure/k8s/overlays/minikube"));
}

fn check_fixture(name: &str) -> Vec<Value> {
    check_same_as_kubectl(&fixtures().join(name))
}

#[test]
fn fixture_prefix_suffix_matches_kubectl() {
    check_fixture("prefix-suffix");
}

#[test]
fn fixture_common_labels_matches_kubectl() {
    check_fixture("common-labels");
}

#[test]
fn fixture_images_matches_kubectl() {
    check_fixture("images");
}

#[test]
fn fixture_replicas_matches_kubectl() {
    check_fixture("replicas");
}

#[test]
fn fixture_generators_match_kubectl() {
    check_fixture("generators/overlay");
}

#[test]
fn fixture_json6902_matches_kubectl() {
    check_fixture("json6902");
}

#[test]
fn fixture_strategic_merge_matches_kubectl() {
    check_fixture("strategic-merge");
}

#[test]
fn fixture_nested_prefixes_match_kubectl() {
    check_fixture("nested/overlay");
}

#[test]
fn fixture_nested_replicas_match_kubectl() {
    // `replicas:` naming a workload as an inner overlay produced it, or by its base name.
    check_fixture("nested-replicas/overlay");
}

#[test]
fn fixture_deeply_nested_replicas_match_kubectl() {
    // Names given two layers down and one layer down, under a third prefix.
    check_fixture("nested-replicas/deep");
}

#[test]
fn fixture_nested_patches_and_merges_match_kubectl() {
    check_fixture("nested-patches/overlay");
}

#[test]
fn fixture_nested_references_match_kubectl() {
    // Objects of an outer overlay refer to the inner layers' objects by intermediate names;
    // objects that had the same name are told apart by namespace and by prefixes and suffixes.
    check_fixture("nested-references/overlay");
}

#[test]
fn unsupported_field_names_field_file_and_line() {
    let dir = fixtures().join("errors/unsupported-field");
    let message = render(&dir).expect_err("helmCharts is not supported").to_string();
    assert!(message.contains("`helmCharts`"), "{message}");
    assert!(message.contains(&format!("{}:5:", dir.join("kustomization.yaml"))), "{message}");
}

#[test]
fn missing_resource_names_it() {
    let dir = fixtures().join("errors/missing-resource");
    let message = render(&dir).expect_err("the resource does not exist").to_string();
    assert!(message.contains("`does-not-exist.yaml`"), "{message}");
    assert!(message.contains(&format!("{}:4:", dir.join("kustomization.yaml"))), "{message}");
}

#[test]
fn missing_secrets_env_names_it() {
    // The cloud overlays cannot render without their uncommitted secrets.env.
    let temp = tempfile::tempdir().expect("tempdir");
    let root = Utf8PathBuf::from_path_buf(temp.path().join("k8s")).expect("UTF-8 temp path");
    copy_tree(workspace_root().join("infrastructure/k8s").as_std_path(), root.as_std_path()).expect("copy infrastructure/k8s");
    let message = render(&root.join("overlays/prod")).expect_err("secrets.env is missing").to_string();
    assert!(message.contains("`secrets.env` not found"), "{message}");
}

#[test]
fn unsupported_nested_field_is_named() {
    let dir = fixtures().join("errors/unsupported-patch-option");
    let message = render(&dir).expect_err("patch options are not supported").to_string();
    assert!(message.contains("`patches.options`"), "{message}");
    assert!(message.contains(&format!("{}:11:", dir.join("kustomization.yaml"))), "{message}");
}

#[test]
fn patch_without_target_object_is_an_error() {
    let dir = fixtures().join("errors/patch-no-match");
    let message = render(&dir).expect_err("the patch matches nothing").to_string();
    assert!(message.contains("Deployment `missing`: 0 objects match"), "{message}");
}

#[test]
fn replicas_naming_no_workload_is_an_error_as_in_kubectl() {
    let dir = fixtures().join("errors/replicas-no-match");
    let kubectl = kubectl_kustomize_error(&dir);
    assert!(kubectl.contains("resource with name p-stor does not match a config"), "{kubectl}");
    let message = render(&dir).expect_err("no workload is named p-stor").to_string();
    assert!(message.contains(&format!("{}:12:", dir.join("kustomization.yaml"))), "{message}");
    assert!(message.contains("`p-stor`"), "{message}");
    assert!(message.contains("did you mean `p-store`?"), "{message}");
}

#[test]
fn ambiguous_reference_is_an_error_as_in_kubectl() {
    let dir = fixtures().join("errors/ambiguous-reference");
    let kubectl = kubectl_kustomize_error(&dir);
    assert!(kubectl.contains("found multiple possible referrals"), "{kubectl}");
    let message = render(&dir).expect_err("two ConfigMaps answer to `env`").to_string();
    assert!(message.contains(dir.join("app.yaml").as_str()), "{message}");
    assert!(message.contains("ConfigMap `env`"), "{message}");
    for candidate in ["top-mid-in-env-89g4tffbfk", "top-other-env-89g4tffbfk"] {
        assert!(message.contains(candidate), "{message}");
    }
}

#[test]
fn file_outside_the_kustomization_is_refused_as_kubectl_does() {
    let dir = fixtures().join("errors/outside-root");
    kubectl_kustomize_error(&dir);
    let message = render(&dir).expect_err("the file is outside the kustomization").to_string();
    assert!(message.contains("is outside the kustomization's directory"), "{message}");
}

/// Pieces of kustomizations, sane and broken, that the property test below combines.
const FRAGMENTS: [&str; 16] = [
    "namespace: ns\n",
    "namePrefix: p-\n",
    "nameSuffix: 5\n",
    "commonLabels: {a: b, c: 1}\n",
    "labels: [{pairs: {x: y}, includeTemplates: true}]\n",
    "images: [{name: web, newTag: 2}, {name: x, digest: 'sha256:1'}]\n",
    "replicas: [{name: web, count: 3}, {name: nope, count: x}]\n",
    "configMapGenerator: [{name: web, literals: [A=1, B]}]\n",
    "configMapGenerator: [{name: plain, behavior: merge, literals: [A=2]}]\n",
    "secretGenerator: [{name: s, envs: [missing.env]}]\n",
    "patches: [{target: {kind: Deployment}, patch: '[{op: remove, path: /metadata}]'}]\n",
    "patches: [{target: {kind: Deployment}, patch: '[{op: replace, path: /metadata, value: 3}]'}]\n",
    "patches: [{patch: '{kind: Deployment, metadata: {name: web}, spec: {template: {spec: {containers: [{name: web, $patch: delete}]}}}}'}]\n",
    "patches: [{patch: '{kind: Deployment, metadata: {name: web}, spec: [1, 2]}'}]\n",
    "resources: [., ../x, plain.yaml]\n",
    "resources: [plain.yaml]\nresources: [plain.yaml]\n",
];

const PLAIN: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain\ndata:\n  A: '1'\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        image: web:1\n";

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 64, ..Default::default() })]

    /// Whatever the combination, rendering returns objects or an error; it never panics or loops.
    #[test]
    fn render_never_panics(picks in proptest::collection::vec(0..FRAGMENTS.len(), 0..6), resources in proptest::bool::ANY) {
        let temp = tempfile::tempdir().expect("tempdir");
        let dir = Utf8PathBuf::from_path_buf(temp.path().to_owned()).expect("UTF-8 temp path");
        std::fs::write(dir.join("plain.yaml"), PLAIN).expect("write resource");
        let mut text = String::new();
        if resources {
            text.push_str("resources: [plain.yaml]\n");
        }
        for pick in picks {
            text.push_str(FRAGMENTS[pick]);
        }
        std::fs::write(dir.join("kustomization.yaml"), &text).expect("write kustomization");
        if let Ok(objects) = render(&dir) {
            proptest::prop_assert!(from_yaml(&to_yaml(&objects)).is_ok());
        }
    }
}
