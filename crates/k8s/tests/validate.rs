//! Validation of rendered objects: the four real overlays pass clean, and each fixture under
//! `tests/fixtures/validate/` fails with the finding (object, path, message, help) it is about.
//! The schema tests need the `schema` feature (on in `cargo test --workspace` through `tests/`;
//! alone: `cargo test -p stack-k8s --features schema,k8s-openapi/v1_33`).

use camino::{Utf8Path, Utf8PathBuf};
use serde_json::Value;
use stack_k8s::render::{from_yaml, render};
use stack_k8s::validate::{Finding, LintProfile, lint};
use stack_testkit::fixture::copy_tree;

fn workspace_root() -> Utf8PathBuf {
    Utf8Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixtures() -> Utf8PathBuf {
    Utf8Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/validate")
}

fn fixture(name: &str) -> Vec<Value> {
    let path = fixtures().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    from_yaml(&text).unwrap_or_else(|e| panic!("parse {path}: {e}"))
}

/// `(object, path, message)` of each finding.
fn summary(findings: &[Finding]) -> Vec<(String, String, String)> {
    findings.iter().map(|f| (f.object.clone(), f.path.clone(), f.message.clone())).collect()
}

/// Every real overlay rendered from a copy of `infrastructure/k8s` (with each cloud overlay's
/// `secrets.env.example` as its `secrets.env`): `(name, objects)`.
fn real_overlays() -> Vec<(String, Vec<Value>)> {
    let temp = tempfile::tempdir().expect("tempdir");
    let root = Utf8PathBuf::from_path_buf(temp.path().join("k8s")).expect("UTF-8 temp path");
    copy_tree(workspace_root().join("infrastructure/k8s").as_std_path(), root.as_std_path()).expect("copy infrastructure/k8s");
    let mut overlays = Vec::new();
    for name in ["minikube", "dev", "staging", "prod"] {
        let dir = root.join("overlays").join(name);
        if dir.join("secrets.env.example").is_file() {
            std::fs::copy(dir.join("secrets.env.example"), dir.join("secrets.env")).expect("copy secrets.env.example");
        }
        let objects = render(&dir).unwrap_or_else(|e| panic!("render {name}: {e}"));
        assert!(objects.len() > 5, "{name} rendered only {} objects", objects.len());
        overlays.push((name.to_owned(), objects));
    }
    overlays
}

#[test]
fn real_overlays_pass_the_lints() {
    for (name, objects) in real_overlays() {
        let findings = lint(&objects, LintProfile::for_overlay(&name));
        assert!(findings.is_empty(), "overlay {name}:\n{}", findings.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"));
    }
}

#[test]
fn good_fixture_passes_the_lints_even_strictly() {
    assert_eq!(summary(&lint(&fixture("good.yaml"), LintProfile::default())), []);
}

#[test]
fn lint_fixture_fails_every_lint() {
    let findings = lint(&fixture("lint-failures.yaml"), LintProfile::default());
    let c = "spec.template.spec.containers[0]";
    let expected = [
        ("ConfigMap/shop/app-config", "data.DB_PASSWORD".to_owned(), "key `DB_PASSWORD` looks like a secret in a ConfigMap"),
        (
            "ConfigMap/shop/app-config",
            "data.QUEUE_URL".to_owned(),
            "value is a URL with a password (amqp://shop:***@queue:5672) in a ConfigMap",
        ),
        ("Deployment/shop/api", format!("{c}.resources.limits"), "no limits set on container `api`"),
        ("Deployment/shop/api", format!("{c}.image"), "image `registry.example.com/api:latest` uses the tag `latest`"),
        ("Deployment/shop/api", format!("{c}.readinessProbe"), "no readiness probe on container `api`"),
        ("Deployment/shop/api", format!("{c}.livenessProbe"), "no liveness probe on container `api`"),
    ];
    let expected: Vec<(String, String, String)> = expected.into_iter().map(|(o, p, m)| (o.to_owned(), p, m.to_owned())).collect();
    assert_eq!(summary(&findings), expected);
    // The password itself is never repeated in a finding.
    assert!(findings.iter().all(|f| !f.to_string().contains("hunter2")));
    // minikube may run `latest`; everything else still fails there.
    let minikube = lint(&fixture("lint-failures.yaml"), LintProfile::for_overlay("minikube"));
    assert_eq!(minikube.len(), expected.len() - 1);
}

#[cfg(feature = "schema")]
mod schema {
    use stack_k8s::validate::schema;

    use super::*;

    /// The findings of a fixture, with the help of the first one.
    fn check(name: &str, expected: &[(&str, &str, &str)], help: &str) {
        let findings = schema(&fixture(name));
        let expected: Vec<(String, String, String)> =
            expected.iter().map(|(o, p, m)| ((*o).to_owned(), (*p).to_owned(), (*m).to_owned())).collect();
        assert_eq!(summary(&findings), expected, "{name}");
        assert!(findings.iter().all(Finding::is_error));
        let first = findings[0].help.as_deref().unwrap_or_default();
        assert!(first.contains(help), "{name}: help {first:?} lacks {help:?}");
    }

    #[test]
    fn real_overlays_decode_with_nothing_dropped() {
        for (name, objects) in real_overlays() {
            let findings = schema(&objects);
            assert!(findings.is_empty(), "overlay {name}:\n{}", findings.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"));
        }
    }

    #[test]
    fn good_fixture_decodes() {
        assert_eq!(summary(&schema(&fixture("good.yaml"))), []);
    }

    #[test]
    fn misspelt_spec_field_is_named_with_a_suggestion() {
        check(
            "misspelt-field.yaml",
            &[(
                "Deployment/shop/web",
                "spec.replicass",
                "unknown field `replicass` (DeploymentSpec has no such field; Kubernetes would drop it)",
            )],
            "did you mean `replicas`? (`kubectl explain deployment.spec` lists the fields)",
        );
    }

    #[test]
    fn misspelt_container_field_is_named_with_its_path() {
        check(
            "misspelt-container-field.yaml",
            &[(
                "Deployment/shop/web",
                "spec.template.spec.containers[0].imagePullPolicyy",
                "unknown field `imagePullPolicyy` (Container has no such field; Kubernetes would drop it)",
            )],
            "did you mean `imagePullPolicy`? (`kubectl explain deployment.spec.template.spec.containers` lists the fields)",
        );
    }

    #[test]
    fn wrong_type_is_an_error_at_its_path() {
        check(
            "wrong-type.yaml",
            &[("Deployment/shop/web", "spec.replicas", r#"invalid type: string "two", expected i32"#)],
            "kubectl explain deployment.spec.replicas",
        );
    }

    #[test]
    fn unknown_kinds_and_versions_are_errors() {
        check(
            "unknown-kind.yaml",
            &[
                ("Deploymnet/shop/web", "", "no schema for apps/v1 Deploymnet"),
                ("Ingress/web", "", "no schema for extensions/v1beta1 Ingress"),
            ],
            "did you mean `Deployment` (apps/v1)?",
        );
    }

    #[test]
    fn findings_survive_rendering() {
        let objects = render(&fixtures().join("overlay")).expect("render the fixture overlay");
        let findings = schema(&objects);
        assert_eq!(
            summary(&findings),
            [(
                "Deployment/shop/web".to_owned(),
                "spec.template.spec.containers[0].imagePullPolicyy".to_owned(),
                "unknown field `imagePullPolicyy` (Container has no such field; Kubernetes would drop it)".to_owned()
            )]
        );
        assert_eq!(summary(&lint(&objects, LintProfile::default())), []);
    }
}
