//! Pinning an overlay to a release record ([`stack_config::release::Release`]): every container
//! whose image the record names runs `repository@digest`, with the Kustomize `images:`
//! transformer's matching (the image's name without tag or digest).
//!
//! - [`pin_objects`] pins rendered objects (`k8s render|apply --images`, `release`), so no
//!   committed file changes. A pinned container's `imagePullPolicy: Never` (the minikube
//!   overlay's, for images loaded into the node) becomes `IfNotPresent`: a pinned image comes
//!   from the registry, and a digest never changes.
//! - [`pin_kustomization`] writes the same pins into a `kustomization.yaml` as `images:` entries
//!   (`newName` + `digest`), keeping its comments and order (`k8s pin`, for a GitOps flow).

use camino::Utf8Path;
use serde::Serialize;
use serde_json::Value;
use stack_config::node::{Node, Value as NodeValue, parse_yaml};
use stack_config::release::Release;

use crate::{Error, Result};

/// One container pinned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Pinned {
    /// `Deployment/srvthreds-engine`.
    pub object: String,
    pub container: String,
    pub from: String,
    pub to: String,
}

/// What [`pin_objects`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PinReport {
    pub pinned: Vec<Pinned>,
    /// Images of the record that no container of the overlay runs.
    pub unused: Vec<String>,
}

impl PinReport {
    /// What a caller shows: how many containers were pinned, and the record's images that no
    /// container runs.
    pub fn notes(&self) -> Vec<String> {
        let mut notes = vec![format!("pinned {} containers to the release record's digests", self.pinned.len())];
        if !self.unused.is_empty() {
            notes.push(format!("warning: no container of the overlay runs {} of the release record", self.unused.join(", ")));
        }
        notes
    }
}

/// The name part of an image reference: `host:5000/a/b:tag@sha256:x` → `host:5000/a/b`.
pub fn image_name(image: &str) -> &str {
    let image = image.split('@').next().unwrap_or(image);
    let last_slash = image.rfind('/').map_or(0, |i| i + 1);
    match image[last_slash..].find(':') {
        Some(colon) => &image[..last_slash + colon],
        None => image,
    }
}

/// Pins every container (and init container) of `objects` whose image name is in `release`.
pub fn pin_objects(objects: &mut [Value], release: &Release) -> PinReport {
    let mut report = PinReport::default();
    for object in objects.iter_mut() {
        let id = format!("{}/{}", object["kind"].as_str().unwrap_or("?"), object["metadata"]["name"].as_str().unwrap_or("?"));
        walk(object, &id, release, &mut report.pinned);
    }
    report.unused =
        release.images.keys().filter(|name| !report.pinned.iter().any(|p| image_name(&p.from) == name.as_str())).cloned().collect();
    report
}

fn walk(value: &mut Value, id: &str, release: &Release, pinned: &mut Vec<Pinned>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                if matches!(key.as_str(), "containers" | "initContainers")
                    && let Value::Array(containers) = child
                {
                    for container in containers.iter_mut() {
                        pin_container(container, id, release, pinned);
                    }
                } else {
                    walk(child, id, release, pinned);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| walk(v, id, release, pinned)),
        _ => {}
    }
}

fn pin_container(container: &mut Value, id: &str, release: &Release, pinned: &mut Vec<Pinned>) {
    let Some(from) = container["image"].as_str().map(str::to_owned) else { return };
    let Some(image) = release.images.get(image_name(&from)) else { return };
    let to = image.reference();
    container["image"] = Value::String(to.clone());
    if container["imagePullPolicy"] == "Never" {
        container["imagePullPolicy"] = Value::String("IfNotPresent".to_owned());
    }
    let name = container["name"].as_str().unwrap_or_default().to_owned();
    pinned.push(Pinned { object: id.to_owned(), container: name, from, to });
}

/// What [`pin_kustomization`] changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FilePins {
    pub file: String,
    /// `images:` entries rewritten to the record's `newName` + `digest`.
    pub updated: Vec<String>,
    /// Entries added (the overlay had none for these names).
    pub added: Vec<String>,
    /// Whether the text changed at all (pinning the same record twice changes nothing).
    pub changed: bool,
    /// Notes for the user (an `imagePullPolicy: Never` patch that stops the pull).
    pub notes: Vec<String>,
    /// The new text.
    #[serde(skip)]
    pub text: String,
}

/// The text of `file` (a kustomization) with an `images:` entry `{name, newName, digest}` for
/// every image of `release`: an existing entry keeps its place, its comments and its other
/// keys (`newTag` is dropped: a digest pins the image); a missing one is appended to the list
/// (or a new list at the end of the file). Nothing is written; the caller writes `text`.
pub fn pin_kustomization(file: &Utf8Path, text: &str, release: &Release) -> Result<FilePins> {
    let invalid = |message: String| Error::Pin { file: file.to_string(), message };
    let root = parse_yaml(text).map_err(|e| invalid(e.to_string()))?;
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let images = map_get(&root, "images");
    let entries: Vec<&Node> = match images.map(|n| &n.value) {
        Some(NodeValue::Seq(items)) => items.iter().collect(),
        Some(NodeValue::Null) | None => Vec::new(),
        Some(_) => return Err(invalid("`images` is not a list".to_owned())),
    };
    if images.is_some() && !entries.is_empty() && entries.iter().any(|e| !lines[e.location.line - 1].trim_start().starts_with('-')) {
        return Err(invalid("`images` is written in flow style; write it as a block list so it can be edited in place".to_owned()));
    }
    let starts: Vec<usize> = entries.iter().map(|e| e.location.line - 1).collect();
    let dash_col = starts.first().map(|&s| indent(&lines[s]));
    let list_end = match (starts.last(), dash_col) {
        (Some(&last), Some(col)) => list_end(&lines, col, last),
        _ => lines.len(),
    };
    let (mut updated, mut added, mut delta) = (Vec::new(), Vec::new(), 0isize);
    // From the last entry up, so the earlier entries' line numbers stay right.
    for i in (0..entries.len()).rev() {
        let Some(name) = map_get(entries[i], "name").and_then(scalar) else { continue };
        let Some(image) = release.images.get(name) else { continue };
        let (start, end) = (starts[i], starts.get(i + 1).copied().unwrap_or(list_end));
        // The entry's keys are indented as far as the text after its dash.
        let key_indent = indent(&lines[start]) + 1 + indent(&lines[start].trim_start()[1..]);
        let mut kept: Vec<String> = Vec::new();
        let mut after_name = 1;
        for (n, line) in lines[start..end].iter().enumerate() {
            let key = if n == 0 { line.trim_start()[1..].trim_start() } else { line.trim_start() };
            let key = key.split(':').next().unwrap_or_default().trim();
            if key == "name" {
                after_name = kept.len() + 1;
            } else if (n == 0 || indent(line) == key_indent) && matches!(key, "newTag" | "newName" | "digest") {
                if n == 0 {
                    return Err(invalid(format!(
                        "the `images` entry of {name} does not start with `name:`; move `name:` first so it can be pinned"
                    )));
                }
                continue;
            }
            kept.push(line.clone());
        }
        let pad = " ".repeat(key_indent);
        kept.splice(after_name..after_name, [format!("{pad}newName: {}", image.repository), format!("{pad}digest: {}", image.digest)]);
        delta += kept.len() as isize - (end - start) as isize;
        lines.splice(start..end, kept);
        updated.push(name.to_owned());
    }
    updated.reverse();
    let missing: Vec<_> = release.images.iter().filter(|(n, _)| !updated.contains(n)).collect();
    if !missing.is_empty() {
        let col = dash_col.unwrap_or(2);
        let mut block = Vec::new();
        if entries.is_empty() {
            if images.is_some() {
                return Err(invalid("`images` is empty but present; remove it or write its entries as a block list".to_owned()));
            }
            block.extend(["".to_owned(), "# Pinned to a release record (`cargo xtask k8s pin`).".to_owned(), "images:".to_owned()]);
        }
        for (name, image) in missing {
            block.push(format!("{}- name: {name}", " ".repeat(col)));
            block.push(format!("{}newName: {}", " ".repeat(col + 2), image.repository));
            block.push(format!("{}digest: {}", " ".repeat(col + 2), image.digest));
            added.push(name.clone());
        }
        let at = if entries.is_empty() { lines.len() } else { (list_end as isize + delta) as usize };
        lines.splice(at..at, block);
    }
    let mut new_text = lines.join("\n");
    if text.ends_with('\n') || text.is_empty() {
        new_text.push('\n');
    }
    let notes = if text.contains("imagePullPolicy") && text.contains("Never") {
        vec!["the overlay patches imagePullPolicy to Never: pods of the pinned images will not pull them from the registry".to_owned()]
    } else {
        Vec::new()
    };
    Ok(FilePins { file: file.to_string(), changed: new_text != text, updated, added, notes, text: new_text })
}

/// `k8s pin`: pins the kustomization of `overlay` (a name under `<infra>/k8s/overlays` or a
/// directory) to `release` and writes it back, unless `dry_run` (then the result says what
/// would change and nothing is written). The file is replaced whole (written beside it, then
/// renamed), and the pinned overlay must still render.
pub fn pin_overlay(infra: &stack_config::Infra, overlay: &str, release: &Release, dry_run: bool) -> Result<FilePins> {
    let (_, dir) = crate::overlay::locate(&infra.root.join("k8s"), overlay)?;
    let file = stack_config::kustomize::find_file(&dir)
        .ok_or_else(|| Error::Pin { file: dir.to_string(), message: "the directory has no kustomization file".to_owned() })?;
    let read = |path: &Utf8Path| std::fs::read_to_string(path).map_err(|source| Error::RenderRead { path: path.to_string(), source });
    let original = read(&file)?;
    let pins = pin_kustomization(&file, &original, release)?;
    if dry_run || !pins.changed {
        return Ok(pins);
    }
    let write_error = |e: std::io::Error| Error::Pin { file: file.to_string(), message: format!("cannot write it: {e}") };
    let tmp = dir.join(format!(".{}.pin", file.file_name().unwrap_or("kustomization.yaml")));
    std::fs::write(&tmp, &pins.text).map_err(write_error)?;
    std::fs::rename(&tmp, &file).map_err(write_error)?;
    // The pinned overlay must still render; if not, the file goes back as it was.
    let prepared = crate::overlay::prepare(infra, overlay, crate::overlay::Purpose::Inspect)?;
    if let Err(e) = crate::render::render(&prepared.dir) {
        std::fs::write(&file, &original).map_err(write_error)?;
        return Err(Error::Pin {
            file: file.to_string(),
            message: format!("the pinned overlay does not render ({e}); the file was restored"),
        });
    }
    Ok(pins)
}

impl std::fmt::Display for FilePins {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if !self.changed {
            return write!(f, "{}: already pinned to the release record; nothing changed", self.file);
        }
        writeln!(f, "{}: pinned", self.file)?;
        for name in &self.updated {
            writeln!(f, "  updated {name}")?;
        }
        for name in &self.added {
            writeln!(f, "  added {name}")?;
        }
        for note in &self.notes {
            writeln!(f, "  note: {note}")?;
        }
        Ok(())
    }
}

/// The end (exclusive) of a block list whose dashes are at column `dash_col` and whose last
/// item starts on line `last`: the first later line that is neither blank, nor a comment, nor
/// indented deeper than the dash; blank lines and comments just before it belong to what follows.
fn list_end(lines: &[String], dash_col: usize, last: usize) -> usize {
    let content = |l: &String| !l.trim().is_empty() && !l.trim_start().starts_with('#');
    let mut end = (last + 1..lines.len()).find(|&i| content(&lines[i]) && indent(&lines[i]) <= dash_col).unwrap_or(lines.len());
    while end > last + 1 && !content(&lines[end - 1]) {
        end -= 1;
    }
    end
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

fn map_get<'n>(node: &'n Node, key: &str) -> Option<&'n Node> {
    match &node.value {
        NodeValue::Map(entries) => entries.iter().find(|(k, _)| scalar(k) == Some(key)).map(|(_, v)| v),
        _ => None,
    }
}

fn scalar(node: &Node) -> Option<&str> {
    match &node.value {
        NodeValue::Scalar(s) => Some(s.text.as_str()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stack_config::release::Image;

    fn release() -> Release {
        let mut r = Release::new("localhost:5000", None, std::time::UNIX_EPOCH);
        for (name, d) in [("srvthreds-engine", "a"), ("srvthreds-bootstrap", "b")] {
            r.images.insert(name.into(), Image::new(&format!("localhost:5000/{name}"), "t", &format!("sha256:{}", d.repeat(64))));
        }
        r
    }

    #[test]
    fn names_drop_tags_and_digests() {
        assert_eq!(image_name("srvthreds-engine:dev"), "srvthreds-engine");
        assert_eq!(image_name("localhost:5000/a/b:1@sha256:00"), "localhost:5000/a/b");
        assert_eq!(image_name("localhost:5000/a"), "localhost:5000/a");
    }

    #[test]
    fn objects_are_pinned_and_loaded_only_images_become_pullable() {
        let mut objects = vec![serde_json::json!({
            "kind": "Deployment", "metadata": {"name": "srvthreds-engine"},
            "spec": {"template": {"spec": {
                "initContainers": [{"name": "wait", "image": "busybox:1"}],
                "containers": [{"name": "engine", "image": "srvthreds-engine:dev", "imagePullPolicy": "Never"}]}}}
        })];
        let report = pin_objects(&mut objects, &release());
        let c = &objects[0]["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(c["image"], format!("localhost:5000/srvthreds-engine@sha256:{}", "a".repeat(64)));
        assert_eq!(c["imagePullPolicy"], "IfNotPresent");
        assert_eq!(objects[0]["spec"]["template"]["spec"]["initContainers"][0]["image"], "busybox:1");
        assert_eq!(report.pinned.len(), 1);
        assert_eq!(report.unused, vec!["srvthreds-bootstrap".to_owned()]);
    }

    #[test]
    fn the_minikube_kustomization_keeps_its_comments_and_order_and_a_second_pin_changes_nothing() {
        let file = Utf8Path::new(env!("CARGO_MANIFEST_DIR")).join("../../infrastructure/k8s/overlays/minikube/kustomization.yaml");
        let text = std::fs::read_to_string(&file).expect("the overlay is there");
        let pins = pin_kustomization(&file, &text, &release()).expect("pinned");
        assert_eq!(pins.updated, vec!["srvthreds-engine".to_owned(), "srvthreds-bootstrap".to_owned()]);
        assert!(pins.added.is_empty() && pins.changed);
        // The `images:` section, up to the next top-level key.
        let section: Vec<&str> = pins
            .text
            .lines()
            .skip_while(|l| *l != "images:")
            .take_while(|l| *l == "images:" || !l.starts_with(|c: char| c.is_ascii_alphabetic()))
            .collect();
        insta::assert_snapshot!(section.join("\n"));
        // Every comment line is still there, in order.
        let comments = |t: &str| t.lines().filter(|l| l.trim_start().starts_with('#')).map(str::to_owned).collect::<Vec<_>>();
        assert_eq!(comments(&pins.text), comments(&text));
        // The renderer reads the result with the pins.
        let again = pin_kustomization(&file, &pins.text, &release()).expect("pinned again");
        assert!(!again.changed, "a second pin of the same record changes the text:\n{}", again.text);
    }

    #[test]
    fn images_missing_from_the_file_are_added_to_its_list_or_a_new_one() {
        let file = Utf8Path::new("kustomization.yaml");
        let with_list = "resources:\n  - ../../base\nimages:\n- name: other\n  newTag: \"1\"\n\n# replicas next\nreplicas: []\n";
        let pins = pin_kustomization(file, with_list, &release()).expect("pinned");
        insta::assert_snapshot!("added_to_the_list", pins.text);
        let without = "resources:\n  - ../../base\n";
        let pins = pin_kustomization(file, without, &release()).expect("pinned");
        assert_eq!(pins.added.len(), 2);
        insta::assert_snapshot!("a_new_list", pins.text);
        let flow = "images: [{name: srvthreds-engine, newTag: dev}]\n";
        let e = pin_kustomization(file, flow, &release()).expect_err("flow style");
        assert!(e.to_string().contains("flow style"), "{e}");
    }
}
