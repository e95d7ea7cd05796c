//! Reading a kustomization file into the fields the renderer supports, with source lines, and
//! reading resource files into objects.

use camino::{Utf8Path, Utf8PathBuf};
use serde_json::Value;
use stack_config::kustomize;
use stack_config::node::{Node, Value as NodeValue};

use super::yaml;
use crate::{Error, Result};

/// The top-level fields the native renderer implements.
const SUPPORTED: [&str; 14] = [
    "apiVersion",
    "kind",
    "resources",
    "namespace",
    "namePrefix",
    "nameSuffix",
    "labels",
    "commonLabels",
    "images",
    "replicas",
    "configMapGenerator",
    "secretGenerator",
    "generatorOptions",
    "patches",
];

/// A string entry and the line it is on.
#[derive(Debug, Clone)]
pub(super) struct Entry {
    pub value: String,
    pub line: usize,
}

/// One kustomization file, reduced to what the renderer uses.
#[derive(Debug)]
pub(super) struct Kustomization {
    pub dir: Utf8PathBuf,
    pub path: Utf8PathBuf,
    pub resources: Vec<Entry>,
    pub namespace: Option<String>,
    pub name_prefix: String,
    pub name_suffix: String,
    pub labels: Vec<LabelSet>,
    pub images: Vec<Value>,
    pub replicas: Vec<(Value, usize)>,
    pub config_maps: Vec<(Value, usize)>,
    pub secrets: Vec<(Value, usize)>,
    pub generator_options: Value,
    pub patches: Vec<(Value, usize)>,
}

/// One entry of `labels` (or the whole of `commonLabels`).
#[derive(Debug)]
pub(super) struct LabelSet {
    pub pairs: serde_json::Map<String, Value>,
    pub include_selectors: bool,
    pub include_templates: bool,
}

impl Kustomization {
    /// Finds and reads the kustomization file of `dir`.
    pub fn load(dir: &Utf8Path) -> Result<Self> {
        let path = kustomize::find_file(dir).ok_or_else(|| Error::RenderInvalid {
            path: dir.to_string(),
            line: 0,
            message: format!("no kustomization file (one of {}) in this directory", kustomize::FILE_NAMES.join(", ")),
        })?;
        let text = std::fs::read_to_string(&path).map_err(|source| Error::RenderRead { path: path.to_string(), source })?;
        let root = stack_config::node::parse_yaml(&text).map_err(|error| Error::RenderSyntax {
            path: path.to_string(),
            line: error.location.line,
            column: error.location.column,
            message: error.message,
        })?;
        let invalid = |line: usize, message: String| Error::RenderInvalid { path: path.to_string(), line, message };
        let Some(entries) = root.entries() else {
            return Err(invalid(root.location.line, "a kustomization must be a mapping".into()));
        };
        let mut kustomization = Self {
            dir: dir.to_owned(),
            path: path.clone(),
            resources: Vec::new(),
            namespace: None,
            name_prefix: String::new(),
            name_suffix: String::new(),
            labels: Vec::new(),
            images: Vec::new(),
            replicas: Vec::new(),
            config_maps: Vec::new(),
            secrets: Vec::new(),
            generator_options: Value::Null,
            patches: Vec::new(),
        };
        for (key, value) in entries {
            let field = key.as_str().unwrap_or_default();
            let line = key.location.line;
            if !SUPPORTED.contains(&field) {
                return Err(Error::RenderUnsupportedField { field: field.to_owned(), path: path.to_string(), line });
            }
            let json = yaml::to_json(value);
            match field {
                "kind" if !matches!(json.as_str(), Some("Kustomization")) => {
                    return Err(invalid(line, format!("kind `{}` is not supported (only Kustomization)", json)));
                }
                "resources" => kustomization.resources = string_list(value, &invalid)?,
                "namespace" => kustomization.namespace = json.as_str().map(str::to_owned),
                "namePrefix" => kustomization.name_prefix = json.as_str().unwrap_or_default().to_owned(),
                "nameSuffix" => kustomization.name_suffix = json.as_str().unwrap_or_default().to_owned(),
                "commonLabels" => {
                    tracing::warn!(file = %path, line, "`commonLabels` is deprecated in Kustomize; `labels` with `includeSelectors: true` does the same");
                    let pairs = json.as_object().cloned().ok_or_else(|| invalid(line, "`commonLabels` must be a mapping".into()))?;
                    kustomization.labels.push(LabelSet { pairs: stringify(pairs), include_selectors: true, include_templates: true });
                }
                "labels" => {
                    for item in list(value, field, &invalid)? {
                        let json = yaml::to_json(item);
                        check_keys(item, &["pairs", "includeSelectors", "includeTemplates"], field, &path)?;
                        let pairs = json.get("pairs").and_then(Value::as_object).cloned().unwrap_or_default();
                        kustomization.labels.push(LabelSet {
                            pairs: stringify(pairs),
                            include_selectors: json.get("includeSelectors").and_then(Value::as_bool).unwrap_or(false),
                            include_templates: json.get("includeTemplates").and_then(Value::as_bool).unwrap_or(false),
                        });
                    }
                }
                "images" => {
                    for item in list(value, field, &invalid)? {
                        check_keys(item, &["name", "newName", "newTag", "digest"], field, &path)?;
                        kustomization.images.push(yaml::to_json(item));
                    }
                }
                "replicas" => {
                    for item in list(value, field, &invalid)? {
                        check_keys(item, &["name", "count"], field, &path)?;
                        kustomization.replicas.push((yaml::to_json(item), item.location.line));
                    }
                }
                "configMapGenerator" | "secretGenerator" => {
                    let allowed = ["name", "namespace", "behavior", "literals", "envs", "env", "files", "options", "type"];
                    for item in list(value, field, &invalid)? {
                        check_keys(item, &allowed, field, &path)?;
                        if let Some(options) = item.get("options") {
                            check_keys(options, &["disableNameSuffixHash", "labels", "annotations"], "options", &path)?;
                        }
                        let target =
                            if field == "configMapGenerator" { &mut kustomization.config_maps } else { &mut kustomization.secrets };
                        target.push((yaml::to_json(item), item.location.line));
                    }
                }
                "generatorOptions" => {
                    check_keys(value, &["disableNameSuffixHash", "labels", "annotations"], field, &path)?;
                    kustomization.generator_options = json;
                }
                "patches" => {
                    for item in list(value, field, &invalid)? {
                        check_keys(item, &["patch", "path", "target"], field, &path)?;
                        if let Some(target) = item.get("target") {
                            check_keys(target, &["group", "version", "kind", "name", "namespace", "labelSelector"], "target", &path)?;
                        }
                        kustomization.patches.push((yaml::to_json(item), item.location.line));
                    }
                }
                _ => {}
            }
        }
        Ok(kustomization)
    }

    pub fn invalid(&self, line: usize, message: impl Into<String>) -> Error {
        Error::RenderInvalid { path: self.path.to_string(), line, message: message.into() }
    }

    /// Reads a file named by this kustomization (a patch, an env file, a generator file).
    pub fn read(&self, name: &str, what: &'static str, line: usize) -> Result<String> {
        let path = self.file(name, what, line)?;
        std::fs::read_to_string(&path).map_err(|source| Error::RenderRead { path: path.to_string(), source })
    }
}

impl Kustomization {
    /// The path of a file this kustomization names, which must exist and, as Kustomize's default
    /// load restrictor demands, lie in or below the kustomization's directory.
    pub fn file(&self, name: &str, what: &'static str, line: usize) -> Result<Utf8PathBuf> {
        let path = self.dir.join(name);
        if !path.is_file() {
            return Err(Error::RenderMissing { what, name: name.to_owned(), path: self.path.to_string(), line });
        }
        let inside = match (path.canonicalize_utf8(), self.dir.canonicalize_utf8()) {
            (Ok(file), Ok(dir)) => file.starts_with(dir),
            _ => false,
        };
        if !inside {
            return Err(self.invalid(
                line,
                format!("{what} `{name}` is outside the kustomization's directory (Kustomize only loads files in or below it)"),
            ));
        }
        Ok(path)
    }
}

/// Reads the objects of a resource file; `List` objects are unpacked as Kustomize does.
pub(super) fn read_objects(path: &Utf8Path) -> Result<Vec<Value>> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::RenderRead { path: path.to_string(), source })?;
    parse_objects(&text, path.as_str())
}

/// Parses YAML documents into objects, each of which must have a kind and a name.
pub(super) fn parse_objects(text: &str, origin: &str) -> Result<Vec<Value>> {
    let documents = yaml::parse_documents(text).map_err(|error| Error::RenderSyntax {
        path: origin.to_owned(),
        line: error.location.line,
        column: error.location.column,
        message: error.message,
    })?;
    let mut objects = Vec::new();
    for document in documents {
        let object = yaml::to_json(&document.node);
        let line = document.node.location.line;
        let invalid = |message: &str| Error::RenderInvalid { path: origin.to_owned(), line, message: message.to_owned() };
        if !object.is_object() {
            return Err(invalid("a resource document must be a mapping"));
        }
        if object.get("kind").and_then(Value::as_str).is_some_and(|kind| kind.ends_with("List"))
            && let Some(items) = object.get("items").and_then(Value::as_array)
        {
            objects.extend(items.iter().cloned());
            continue;
        }
        if object.get("kind").and_then(Value::as_str).is_none() {
            return Err(invalid("a resource has no `kind`"));
        }
        if object.pointer("/metadata/name").and_then(Value::as_str).is_none() {
            return Err(invalid("a resource has no `metadata.name`"));
        }
        objects.push(object);
    }
    Ok(objects)
}

fn list<'a>(value: &'a Node, field: &str, invalid: &dyn Fn(usize, String) -> Error) -> Result<&'a [Node]> {
    match &value.value {
        NodeValue::Seq(items) => Ok(items),
        NodeValue::Null => Ok(&[]),
        _ => Err(invalid(value.location.line, format!("`{field}` must be a list"))),
    }
}

fn string_list(value: &Node, invalid: &dyn Fn(usize, String) -> Error) -> Result<Vec<Entry>> {
    list(value, "resources", invalid)?
        .iter()
        .map(|item| match item.as_scalar() {
            Some(scalar) => Ok(Entry { value: scalar.text.clone(), line: item.location.line }),
            None => Err(invalid(item.location.line, "a resource entry must be a string".into())),
        })
        .collect()
}

/// Rejects keys of a nested mapping the renderer does not implement, naming the first one.
fn check_keys(node: &Node, allowed: &[&str], parent: &str, path: &Utf8Path) -> Result<()> {
    for (key, _) in node.entries().unwrap_or_default() {
        let name = key.as_str().unwrap_or_default();
        if !allowed.contains(&name) {
            return Err(Error::RenderUnsupportedField {
                field: format!("{parent}.{name}"),
                path: path.to_string(),
                line: key.location.line,
            });
        }
    }
    Ok(())
}

/// Label values are strings in Kubernetes; Kustomize reads `true` or `1` as the string.
fn stringify(pairs: serde_json::Map<String, Value>) -> serde_json::Map<String, Value> {
    pairs
        .into_iter()
        .map(|(key, value)| {
            let text = match value {
                Value::String(text) => text,
                Value::Null => String::new(),
                other => other.to_string(),
            };
            (key, Value::String(text))
        })
        .collect()
}
