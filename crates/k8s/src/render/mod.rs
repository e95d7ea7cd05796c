//! A native Kustomize renderer for the subset of Kustomize our overlays use, producing the same
//! objects as `kubectl kustomize` (Kustomize v5.5), in the same (legacy) order.
//!
//! Supported kustomization fields: `resources` (files and kustomization directories,
//! recursively), `namespace`, `namePrefix`, `nameSuffix`, `labels`, `commonLabels`, `images`,
//! `replicas`, `configMapGenerator`, `secretGenerator`, `generatorOptions` and `patches`
//! (strategic merge and JSON 6902, inline or from a file, with `target`). Any other field is an
//! error naming it and the file, never silently ignored.
//!
//! The steps follow Kustomize: each kustomization accumulates its resources, runs its
//! generators, then its transformers in Kustomize's order (patches, namespace, prefix/suffix,
//! labels, replicas, images); once the whole tree is built, generated names get their content
//! hash and references to renamed objects are rewritten.

mod generate;
mod kustomization;
mod patch;
mod references;
mod transform;
mod yaml;

use camino::{Utf8Path, Utf8PathBuf};
use serde_json::Value;

use crate::{Error, Result};

pub use yaml::to_yaml;

/// Renders the kustomization in `dir` into its objects, in `kubectl kustomize` order.
pub fn render(dir: &Utf8Path) -> Result<Vec<Value>> {
    let mut stack = Vec::new();
    let mut resources = build(dir, &mut stack)?;
    transform::add_hash_suffixes(&mut resources)?;
    references::fix_references(&mut resources)?;
    transform::sort(&mut resources);
    Ok(resources.into_iter().map(|resource| resource.object).collect())
}

/// Which renderer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// [`render`]: the toolkit's own (no external tool).
    Native,
    /// [`kubectl`]: `kubectl kustomize` from `PATH`.
    Kubectl,
}

/// An overlay rendered: kubectl's YAML exactly as it printed it (when nothing was pinned), or
/// the objects.
#[derive(Debug, Clone)]
pub enum Rendered {
    Yaml(String),
    Objects(Vec<Value>),
}

impl Rendered {
    /// The objects (kubectl's YAML parsed).
    pub fn objects(self) -> Result<Vec<Value>> {
        match self {
            Rendered::Yaml(text) => from_yaml(&text),
            Rendered::Objects(objects) => Ok(objects),
        }
    }

    /// The YAML stream.
    pub fn yaml(&self) -> String {
        match self {
            Rendered::Yaml(text) => text.clone(),
            Rendered::Objects(objects) => to_yaml(objects),
        }
    }
}

/// JSON: one array of the objects.
impl serde::Serialize for Rendered {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Rendered::Objects(objects) => objects.serialize(s),
            Rendered::Yaml(text) => from_yaml(text).map_err(serde::ser::Error::custom)?.serialize(s),
        }
    }
}

/// The YAML stream.
impl std::fmt::Display for Rendered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.yaml())
    }
}

/// `k8s render`: the kustomization in `dir` by `engine`, with the images pinned to `release`
/// when one is given (see [`crate::pin`]); the pins' notes are returned for the caller to show.
pub fn render_with(dir: &Utf8Path, engine: Engine, release: Option<&stack_config::release::Release>) -> Result<(Rendered, Vec<String>)> {
    let rendered = match engine {
        Engine::Kubectl => Rendered::Yaml(kubectl(dir)?),
        Engine::Native => Rendered::Objects(render(dir)?),
    };
    let Some(release) = release else { return Ok((rendered, Vec::new())) };
    let mut objects = rendered.objects()?;
    let notes = crate::pin::pin_objects(&mut objects, release).notes();
    Ok((Rendered::Objects(objects), notes))
}

/// The reference renderer: `kubectl kustomize DIR` (kubectl found on `PATH`), its YAML as it
/// printed it.
pub fn kubectl(dir: &Utf8Path) -> Result<String> {
    let kubectl = which::which("kubectl").map_err(|_| Error::Overlay {
        message: "kubectl is not installed (looked on PATH)".to_owned(),
        help: Some("install kubectl (https://kubernetes.io/docs/tasks/tools/), or use the native renderer".to_owned()),
    })?;
    let mut command = std::process::Command::new(kubectl);
    command.arg("kustomize").arg(dir.as_str());
    let options = stack_process::Options { capture_stdout: true, deliver: stack_process::Deliver::Nothing, ..Default::default() };
    let done = stack_process::run(command, &options, &mut |_, _| {})
        .map_err(|e| Error::Overlay { message: format!("kubectl kustomize {dir} failed: {e}"), help: None })?;
    Ok(done.stdout)
}

/// Parses a `---`-separated YAML stream (such as `kubectl kustomize` output) into JSON values,
/// typing plain scalars as YAML does: an unquoted `3` is a number, `"3"` a string.
pub fn from_yaml(text: &str) -> Result<Vec<Value>> {
    let documents = yaml::parse_documents(text).map_err(|error| Error::RenderSyntax {
        path: "<stream>".into(),
        line: error.location.line,
        column: error.location.column,
        message: error.message,
    })?;
    Ok(documents.iter().map(|document| yaml::to_json(&document.node)).collect())
}

/// One object on its way through the tree, with what Kustomize remembers about it.
#[derive(Debug, Clone)]
struct Resource {
    object: Value,
    /// Where it comes from: its resource file, or the kustomization whose generator made it.
    origin: String,
    /// The name it had in its source file or generator, before prefixes, suffixes and hashes
    /// (Kustomize's `OrgId`): a patch `target` selects by it.
    original_name: String,
    /// Its name before each step that may have renamed it, oldest first, from every layer of the
    /// tree (Kustomize's `PrevIds`): a prefix, a suffix, the hash, a JSON 6902 patch and
    /// `namespace:` each leave one, even when the name did not change.
    previous_names: Vec<String>,
    /// The prefixes put on its name, innermost layer first; references use them to tell apart
    /// objects that had the same name.
    prefixes: Vec<String>,
    /// The suffixes put on its name, innermost layer first.
    suffixes: Vec<String>,
    /// Whether the content-hash suffix is still to be added (generated, hash not disabled).
    needs_hash: bool,
}

impl Resource {
    fn new(object: Value, origin: impl Into<String>) -> Self {
        let original_name = str_at(&object, &["metadata", "name"]).unwrap_or_default().to_owned();
        Self {
            object,
            origin: origin.into(),
            original_name,
            previous_names: Vec::new(),
            prefixes: Vec::new(),
            suffixes: Vec::new(),
            needs_hash: false,
        }
    }

    fn kind(&self) -> &str {
        str_at(&self.object, &["kind"]).unwrap_or_default()
    }

    fn name(&self) -> &str {
        str_at(&self.object, &["metadata", "name"]).unwrap_or_default()
    }

    fn namespace(&self) -> &str {
        str_at(&self.object, &["metadata", "namespace"]).unwrap_or_default()
    }

    /// The API group (`apps` for `apps/v1`, empty for the core group).
    fn group(&self) -> &str {
        let api_version = str_at(&self.object, &["apiVersion"]).unwrap_or_default();
        api_version.rsplit_once('/').map_or("", |(group, _)| group)
    }

    fn version(&self) -> &str {
        let api_version = str_at(&self.object, &["apiVersion"]).unwrap_or_default();
        api_version.rsplit_once('/').map_or(api_version, |(_, version)| version)
    }

    /// Whether `name` is any name this object has had: its current one, its original one or one
    /// an inner overlay gave it. Kustomize finds the objects of `replicas`, of an untargeted
    /// strategic-merge patch and of a merging generator so (`GetMatchingResourcesByAnyId`).
    fn answers_to(&self, name: &str) -> bool {
        self.is_named(name) || self.previous_names.iter().any(|previous| previous == name)
    }

    /// Whether `name` is this object's current or original name, the only two a patch `target`
    /// selects by (Kustomize's `Select`: `CurId` or `OrgId`).
    fn is_named(&self, name: &str) -> bool {
        self.name() == name || self.original_name == name
    }

    /// Remembers the current name among the earlier ones before a step that may change it, as
    /// Kustomize's `StorePreviousId` (which keeps it even if the step leaves the name alone).
    fn store_previous_name(&mut self) {
        let name = self.name().to_owned();
        self.previous_names.push(name);
    }

    /// Renames the object, remembering the name it had.
    fn rename(&mut self, name: String) {
        self.store_previous_name();
        self.set_name(name);
    }

    /// Sets the object's name; a patch may have broken `metadata`, which is then rebuilt rather
    /// than indexed into (indexing a non-object would panic).
    fn set_name(&mut self, name: String) {
        let Some(object) = self.object.as_object_mut() else { return };
        let metadata = object.entry("metadata").or_insert_with(|| Value::Object(serde_json::Map::new()));
        if !metadata.is_object() {
            *metadata = Value::Object(serde_json::Map::new());
        }
        if let Some(metadata) = metadata.as_object_mut() {
            metadata.insert("name".into(), Value::String(name));
        }
    }
}

fn str_at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut current = value;
    for key in path {
        current = current.get(key)?;
    }
    current.as_str()
}

/// Builds one kustomization directory: resources, generators, transformers.
fn build(dir: &Utf8Path, stack: &mut Vec<Utf8PathBuf>) -> Result<Vec<Resource>> {
    let kustomization = kustomization::Kustomization::load(dir)?;
    // Canonical, so that `.` or `../x/..` cannot hide a cycle.
    let file = kustomization.path.canonicalize_utf8().unwrap_or_else(|_| kustomization.path.clone());
    if stack.contains(&file) {
        return Err(Error::RenderInvalid { path: file.to_string(), line: 0, message: "kustomization includes itself".into() });
    }
    stack.push(file);
    let mut resources = Vec::new();
    for entry in &kustomization.resources {
        let path = dir.join(&entry.value);
        if path.is_dir() {
            resources.extend(build(&path, stack)?);
        } else {
            let path = kustomization.file(&entry.value, "resource", entry.line)?;
            resources.extend(kustomization::read_objects(&path)?.into_iter().map(|object| Resource::new(object, path.as_str())));
        }
    }
    stack.pop();
    generate::run(&kustomization, &mut resources)?;
    for patch in &kustomization.patches {
        patch::apply(&kustomization, patch, &mut resources)?;
    }
    transform::namespace(&kustomization, &mut resources);
    transform::prefix_suffix(&kustomization, &mut resources);
    transform::labels(&kustomization, &mut resources);
    transform::replicas(&kustomization, &mut resources)?;
    transform::images(&kustomization, &mut resources);
    Ok(resources)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_earlier_name_is_remembered() {
        let mut resource = Resource::new(json!({"kind": "Deployment", "metadata": {"name": "web"}}), "app.yaml");
        for name in ["in-web", "in-web-v1", "out-in-web-v1"] {
            resource.rename(name.into());
        }
        assert_eq!(resource.name(), "out-in-web-v1");
        assert!(["web", "in-web", "in-web-v1", "out-in-web-v1"].iter().all(|name| resource.answers_to(name)));
        assert!(!resource.answers_to("out-web"));
        // A patch target sees only the original and the current name.
        assert!(resource.is_named("web") && resource.is_named("out-in-web-v1"));
        assert!(!resource.is_named("in-web-v1"));
        // As Kustomize's `PrevIds`: the name before each step, not the current one.
        assert_eq!(resource.previous_names, ["web", "in-web", "in-web-v1"]);
        resource.store_previous_name();
        assert_eq!(resource.previous_names.last().map(String::as_str), Some("out-in-web-v1"));
    }
}
