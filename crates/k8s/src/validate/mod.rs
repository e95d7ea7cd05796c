//! Validation of rendered objects: our lints ([`lint`], always compiled) and, with the `schema`
//! feature, a strict decode of every object into its `k8s-openapi` type ([`schema`]).
//!
//! Both take the objects [`crate::render::render`] returns and give [`Finding`]s, each naming the
//! object (`Kind/namespace/name`), the field path inside it and how to fix it. Neither stops at
//! the first finding: one run lists everything that is wrong.

mod lint;
pub mod overlays;
#[cfg(feature = "schema")]
mod schema;

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;
pub use stack_config::Severity;

pub use lint::lint;
#[cfg(feature = "schema")]
pub use schema::schema;

/// One problem with one field of one rendered object. It reads back from its JSON form, so that
/// a report of another process (xtask's `full` build) can be merged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Errors fail validation; warnings are reported only.
    #[serde(deserialize_with = "severity_from_str")]
    pub severity: Severity,
    /// `Kind/namespace/name`, or `Kind/name` for an object without a namespace.
    pub object: String,
    /// The field inside the object, such as `spec.template.spec.containers[0].resources.limits`;
    /// empty for the object as a whole.
    pub path: String,
    /// What is wrong.
    pub message: String,
    /// What to do about it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
}

/// Which of the environment-dependent lints apply.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LintProfile {
    /// Images may be untagged or tagged `latest` (images built locally and never pulled).
    pub allow_latest_images: bool,
}

impl LintProfile {
    /// The profile of an overlay by its name: only `minikube`, whose images are built and loaded
    /// locally, may use `latest`; every cloud overlay must pin its images.
    pub fn for_overlay(name: &str) -> Self {
        Self { allow_latest_images: name == "minikube" }
    }
}

impl Finding {
    fn error(object: &str, path: &FieldPath, message: impl Into<String>, help: impl Into<String>) -> Self {
        let help = help.into();
        Self {
            severity: Severity::Error,
            object: object.to_owned(),
            path: path.to_string(),
            message: message.into(),
            help: (!help.is_empty()).then_some(help),
        }
    }

    /// Whether this finding fails validation.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// The finding prefixed by where the objects came from, such as `overlays/minikube`:
    /// `error: overlays/minikube: Deployment/srvthreds/srvthreds-engine: spec.replicas: ...`.
    pub fn display_in<'a>(&'a self, origin: &'a str) -> impl fmt::Display + 'a {
        InOrigin { finding: self, origin }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        InOrigin { finding: self, origin: "" }.fmt(f)
    }
}

struct InOrigin<'a> {
    finding: &'a Finding,
    origin: &'a str,
}

impl fmt::Display for InOrigin<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let finding = self.finding;
        let severity = match finding.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{severity}: ")?;
        if !self.origin.is_empty() {
            write!(f, "{}: ", self.origin)?;
        }
        write!(f, "{}: ", finding.object)?;
        if !finding.path.is_empty() {
            write!(f, "{}: ", finding.path)?;
        }
        write!(f, "{}", finding.message)?;
        if let Some(help) = &finding.help {
            write!(f, "\n  help: {help}")?;
        }
        Ok(())
    }
}

/// `stack_config::Severity` serializes only; its JSON form is `error` or `warning`.
fn severity_from_str<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Severity, D::Error> {
    match String::deserialize(deserializer)?.as_str() {
        "error" => Ok(Severity::Error),
        "warning" => Ok(Severity::Warning),
        other => Err(serde::de::Error::unknown_variant(other, &["error", "warning"])),
    }
}

/// `Kind/namespace/name` of an object, `Kind/name` without a namespace; `?` for what is missing.
pub fn object_id(object: &Value) -> String {
    let field = |pointer: &str| object.pointer(pointer).and_then(Value::as_str).filter(|s| !s.is_empty());
    let kind = field("/kind").unwrap_or("?");
    let name = field("/metadata/name").unwrap_or("?");
    match field("/metadata/namespace") {
        Some(namespace) => format!("{kind}/{namespace}/{name}"),
        None => format!("{kind}/{name}"),
    }
}

/// A path into an object: `spec.template.spec.containers[0].image`. Keys that are not plain
/// identifiers are quoted: `metadata.labels["app.kubernetes.io/name"]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct FieldPath(Vec<Segment>);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Key(String),
    Index(usize),
}

impl FieldPath {
    pub(crate) fn key(&self, key: &str) -> Self {
        let mut path = self.clone();
        path.0.push(Segment::Key(key.to_owned()));
        path
    }

    pub(crate) fn index(&self, index: usize) -> Self {
        let mut path = self.clone();
        path.0.push(Segment::Index(index));
        path
    }

    /// Whether `self` is `other` or inside it.
    #[cfg_attr(not(feature = "schema"), allow(dead_code))]
    pub(crate) fn starts_with(&self, other: &FieldPath) -> bool {
        self.0.starts_with(&other.0)
    }

    /// The keys only, dot-separated (`deployment.spec.template`): the form `kubectl explain`
    /// takes.
    #[cfg_attr(not(feature = "schema"), allow(dead_code))]
    pub(crate) fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().filter_map(|segment| match segment {
            Segment::Key(key) => Some(key.as_str()),
            Segment::Index(_) => None,
        })
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Index(index) => write!(f, "[{index}]")?,
                Segment::Key(key) if is_plain(key) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    f.write_str(key)?;
                }
                Segment::Key(key) => write!(f, "[{key:?}]")?,
            }
        }
        Ok(())
    }
}

fn is_plain(key: &str) -> bool {
    !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '$')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_quote_keys_that_are_not_identifiers() {
        let path = FieldPath::default().key("spec").key("containers").index(0).key("image");
        assert_eq!(path.to_string(), "spec.containers[0].image");
        let labels = FieldPath::default().key("metadata").key("labels").key("app.kubernetes.io/name");
        assert_eq!(labels.to_string(), r#"metadata.labels["app.kubernetes.io/name"]"#);
        assert_eq!(FieldPath::default().to_string(), "");
    }

    #[test]
    fn findings_read_back_from_json() {
        let finding =
            Finding { severity: Severity::Warning, object: "ConfigMap/c".into(), path: "data.X".into(), message: "m".into(), help: None };
        let json = serde_json::to_value(&finding).expect("serialize");
        assert_eq!(json, serde_json::json!({"severity": "warning", "object": "ConfigMap/c", "path": "data.X", "message": "m"}));
        assert_eq!(serde_json::from_value::<Finding>(json).expect("deserialize"), finding);
        assert!(
            serde_json::from_value::<Finding>(serde_json::json!({"severity": "fatal", "object": "", "path": "", "message": ""})).is_err()
        );
    }

    #[test]
    fn object_ids() {
        let deployment = serde_json::json!({"kind": "Deployment", "metadata": {"name": "a", "namespace": "n"}});
        assert_eq!(object_id(&deployment), "Deployment/n/a");
        assert_eq!(object_id(&serde_json::json!({"kind": "Namespace", "metadata": {"name": "n"}})), "Namespace/n");
        assert_eq!(object_id(&serde_json::json!({})), "?/?");
    }

    #[test]
    fn display_names_origin_object_path_and_help() {
        let finding = Finding::error(
            "Deployment/srvthreds/srvthreds-engine",
            &FieldPath::default().key("spec").key("replicass"),
            "unknown field `replicass`",
            "did you mean `replicas`?",
        );
        assert_eq!(
            finding.display_in("overlays/minikube").to_string(),
            "error: overlays/minikube: Deployment/srvthreds/srvthreds-engine: spec.replicass: unknown field `replicass`\n  help: did you mean `replicas`?"
        );
        assert_eq!(
            finding.to_string(),
            "error: Deployment/srvthreds/srvthreds-engine: spec.replicass: unknown field `replicass`\n  help: did you mean `replicas`?"
        );
    }
}
