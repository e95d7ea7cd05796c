//! `patches`: strategic-merge patches (maps merged, lists of containers, volumes, env and ports
//! merged by their key, `$patch: delete` and `$patch: replace`, `null` deletes a field) and JSON
//! 6902 patches (`add`, `remove`, `replace`, `move`, `copy`, `test`), with `target` selectors.

use serde_json::{Map, Value};

use super::kustomization::{Kustomization, parse_objects};
use super::{Resource, yaml};
use crate::Result;

/// Applies one entry of `patches` to the accumulated resources.
pub(super) fn apply(kustomization: &Kustomization, (entry, line): &(Value, usize), resources: &mut Vec<Resource>) -> Result<()> {
    let line = *line;
    let text = match (entry.get("patch").and_then(Value::as_str), entry.get("path").and_then(Value::as_str)) {
        (Some(text), None) => text.to_owned(),
        (None, Some(path)) => kustomization.read(path, "patch file", line)?,
        _ => return Err(kustomization.invalid(line, "a patch needs exactly one of `patch` or `path`")),
    };
    let origin = format!("{} (patch at line {line})", kustomization.path);
    let documents =
        yaml::parse_documents(&text).map_err(|error| kustomization.invalid(line, format!("patch is not valid YAML: {error}")))?;
    let target = entry.get("target");
    let is_json6902 = documents.first().is_some_and(|document| matches!(document.node.value, stack_config::node::Value::Seq(_)));
    if is_json6902 {
        let target = target.ok_or_else(|| kustomization.invalid(line, "a JSON 6902 patch needs a `target`"))?;
        let operations = yaml::to_json(&documents[0].node);
        let operations = operations.as_array().cloned().unwrap_or_default();
        for resource in resources.iter_mut().filter(|resource| selects(target, resource)) {
            // A JSON 6902 patch may rename the object; outer layers still find it by the old name.
            resource.store_previous_name();
            for operation in &operations {
                json6902(&mut resource.object, operation).map_err(|message| {
                    kustomization.invalid(line, format!("patch on {} `{}`: {message}", resource.kind(), resource.name()))
                })?;
            }
        }
        return Ok(());
    }
    for patch in parse_objects(&text, &origin).or_else(|_| {
        // A targeted strategic-merge patch may leave out kind and name.
        Ok::<_, crate::Error>(documents.iter().map(|document| yaml::to_json(&document.node)).collect())
    })? {
        let indices: Vec<usize> = match target {
            Some(target) => (0..resources.len()).filter(|&index| selects(target, &resources[index])).collect(),
            None => {
                let kind = patch.get("kind").and_then(Value::as_str).unwrap_or_default();
                let name = patch.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default();
                let namespace = patch.pointer("/metadata/namespace").and_then(Value::as_str);
                let found: Vec<usize> = (0..resources.len())
                    .filter(|&index| {
                        let resource = &resources[index];
                        resource.kind() == kind
                            && resource.answers_to(name)
                            && namespace.is_none_or(|namespace| resource.namespace() == namespace)
                    })
                    .collect();
                if found.len() != 1 {
                    return Err(kustomization
                        .invalid(line, format!("patch target {kind} `{name}`: {} objects match, exactly one must", found.len())));
                }
                found
            }
        };
        let mut deleted = Vec::new();
        for index in indices {
            let resource = &mut resources[index];
            let mut patch = patch.clone();
            // A strategic-merge patch keeps the object's name (Kustomize's `ApplySmPatch`), also
            // when it found the object by an earlier name.
            if let Some(metadata) = patch.get_mut("metadata").and_then(Value::as_object_mut) {
                metadata.insert("name".into(), Value::String(resource.name().to_owned()));
            }
            if target.is_some() {
                // Kustomize points a targeted patch at each selected object.
                if let Some(metadata) = patch.get_mut("metadata").and_then(Value::as_object_mut) {
                    metadata.remove("namespace");
                }
                if let Some(object) = patch.as_object_mut() {
                    object.remove("kind");
                    object.remove("apiVersion");
                }
            }
            if patch.get("$patch").and_then(Value::as_str) == Some("delete") {
                deleted.push(index);
                continue;
            }
            strategic_merge(&mut resource.object, &patch, "").map_err(|message| kustomization.invalid(line, message))?;
        }
        for index in deleted.into_iter().rev() {
            resources.remove(index);
        }
    }
    Ok(())
}

/// Whether a patch `target` selects an object (group, version, kind, name, namespace,
/// labelSelector). The name is the object's current or original one, not one an inner overlay
/// gave it, as in Kustomize.
pub(super) fn selects(target: &Value, resource: &Resource) -> bool {
    let field = |name: &str| target.get(name).and_then(Value::as_str);
    field("group").is_none_or(|group| resource.group() == group)
        && field("version").is_none_or(|version| resource.version() == version)
        && field("kind").is_none_or(|kind| resource.kind() == kind)
        && field("name").is_none_or(|name| resource.is_named(name))
        && field("namespace").is_none_or(|namespace| resource.namespace() == namespace)
        && field("labelSelector").is_none_or(|selector| label_selector_matches(selector, &resource.object))
}

/// Equality-based label selectors: `k=v`, `k==v`, `k!=v`, `k`, `!k`, comma-separated.
fn label_selector_matches(selector: &str, object: &Value) -> bool {
    let labels = object.pointer("/metadata/labels").and_then(Value::as_object);
    let label = |key: &str| labels.and_then(|labels| labels.get(key)).and_then(Value::as_str);
    selector.split(',').map(str::trim).filter(|term| !term.is_empty()).all(|term| {
        if let Some((key, value)) = term.split_once("!=") {
            label(key.trim()) != Some(value.trim())
        } else if let Some((key, value)) = term.split_once("==").or_else(|| term.split_once('=')) {
            label(key.trim()) == Some(value.trim())
        } else if let Some(key) = term.strip_prefix('!') {
            label(key.trim()).is_none()
        } else {
            label(term).is_some()
        }
    })
}

/// The key lists of this name are merged by, as the Kubernetes API types declare
/// (`patchMergeKey`); lists not named here are replaced.
fn merge_key(field: &str, items: &[Value]) -> Option<&'static str> {
    match field {
        "containers" | "initContainers" | "ephemeralContainers" | "volumes" | "env" | "imagePullSecrets" => Some("name"),
        "volumeMounts" => Some("mountPath"),
        "volumeDevices" => Some("devicePath"),
        "topologySpreadConstraints" => Some("topologyKey"),
        "hostAliases" => Some("ip"),
        "ports" if items.iter().any(|item| item.get("containerPort").is_some()) => Some("containerPort"),
        "ports" => Some("port"),
        _ => None,
    }
}

/// Merges a strategic-merge patch into `target` (both maps).
fn strategic_merge(target: &mut Value, patch: &Value, path: &str) -> Result<(), String> {
    let Some(patch_map) = patch.as_object() else {
        *target = patch.clone();
        return Ok(());
    };
    match patch_map.get("$patch").and_then(Value::as_str) {
        Some("replace") => {
            *target = Value::Object(without_directives(patch_map));
            return Ok(());
        }
        Some("delete") | Some("merge") | None => {}
        Some(other) => return Err(format!("{path}: unsupported `$patch: {other}`")),
    }
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Some(target_map) = target.as_object_mut() else { return Ok(()) };
    for (key, value) in patch_map {
        if key == "$patch" {
            continue;
        }
        if key.starts_with('$') {
            return Err(format!("{path}/{key}: this strategic-merge directive is not supported by the native renderer"));
        }
        let child_path = format!("{path}/{key}");
        match value {
            Value::Null => {
                target_map.remove(key);
            }
            Value::Object(child) if child.get("$patch").and_then(Value::as_str) == Some("delete") => {
                target_map.remove(key);
            }
            Value::Object(_) => strategic_merge(target_map.entry(key.clone()).or_insert(Value::Null), value, &child_path)?,
            Value::Array(items) => {
                let existing = target_map.get(key).and_then(Value::as_array).cloned();
                let merged = match (merge_key(key, items), existing) {
                    (Some(merge_key), Some(existing)) => merge_list(existing, items, merge_key, &child_path)?,
                    _ => items.iter().filter(|item| !is_delete(item)).map(strip_directives).collect(),
                };
                target_map.insert(key.clone(), Value::Array(merged));
            }
            _ => {
                target_map.insert(key.clone(), value.clone());
            }
        }
    }
    Ok(())
}

/// Merges a keyed list as Kustomize (kyaml) does: the patch's items first, in the patch's order
/// (merged into their existing counterparts), then the existing items the patch does not name.
fn merge_list(existing: Vec<Value>, patch: &[Value], key: &str, path: &str) -> Result<Vec<Value>, String> {
    let mut remaining: Vec<Option<Value>> = existing.into_iter().map(Some).collect();
    let mut merged = Vec::new();
    for item in patch {
        let Some(id) = item.get(key) else {
            return Err(format!("{path}: list item without its merge key `{key}`"));
        };
        let position = remaining.iter().position(|current| current.as_ref().is_some_and(|current| current.get(key) == Some(id)));
        let current = position.and_then(|index| remaining[index].take());
        if is_delete(item) {
            continue;
        }
        match current {
            Some(mut current) => {
                strategic_merge(&mut current, item, path)?;
                merged.push(current);
            }
            None => merged.push(strip_directives(item)),
        }
    }
    merged.extend(remaining.into_iter().flatten());
    Ok(merged)
}

fn is_delete(item: &Value) -> bool {
    item.get("$patch").and_then(Value::as_str) == Some("delete")
}

fn without_directives(map: &Map<String, Value>) -> Map<String, Value> {
    map.iter().filter(|(key, _)| !key.starts_with('$')).map(|(key, value)| (key.clone(), strip_directives(value))).collect()
}

fn strip_directives(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(without_directives(map)),
        Value::Array(items) => Value::Array(items.iter().map(strip_directives).collect()),
        other => other.clone(),
    }
}

/// Applies one JSON 6902 operation.
fn json6902(document: &mut Value, operation: &Value) -> Result<(), String> {
    let op = operation.get("op").and_then(Value::as_str).ok_or("an operation without `op`")?;
    let path = operation.get("path").and_then(Value::as_str).ok_or("an operation without `path`")?;
    let value = || operation.get("value").cloned().ok_or_else(|| format!("`{op} {path}` needs a `value`"));
    match op {
        "add" => add(document, path, value()?),
        "remove" => remove(document, path).map(drop),
        "replace" => {
            let target = document.pointer_mut(path).ok_or_else(|| format!("replace: `{path}` does not exist"))?;
            *target = value()?;
            Ok(())
        }
        "move" | "copy" => {
            let from = operation.get("from").and_then(Value::as_str).ok_or_else(|| format!("`{op}` needs `from`"))?;
            let moved = if op == "move" {
                remove(document, from)?
            } else {
                document.pointer(from).cloned().ok_or_else(|| format!("copy: `{from}` does not exist"))?
            };
            add(document, path, moved)
        }
        "test" => match document.pointer(path) {
            Some(current) if *current == value()? => Ok(()),
            _ => Err(format!("test of `{path}` failed")),
        },
        other => Err(format!("unknown JSON patch operation `{other}`")),
    }
}

fn split_pointer(path: &str) -> Result<(&str, String), String> {
    let (parent, last) = path.rsplit_once('/').ok_or_else(|| format!("`{path}` is not a JSON pointer"))?;
    Ok((parent, last.replace("~1", "/").replace("~0", "~")))
}

fn add(document: &mut Value, path: &str, value: Value) -> Result<(), String> {
    if path.is_empty() {
        *document = value;
        return Ok(());
    }
    let (parent, last) = split_pointer(path)?;
    match document.pointer_mut(parent) {
        Some(Value::Object(map)) => {
            map.insert(last, value);
            Ok(())
        }
        Some(Value::Array(items)) => {
            let index = if last == "-" { items.len() } else { last.parse().map_err(|_| format!("add: bad index in `{path}`"))? };
            if index > items.len() {
                return Err(format!("add: index out of range in `{path}`"));
            }
            items.insert(index, value);
            Ok(())
        }
        _ => Err(format!("add: the parent of `{path}` does not exist")),
    }
}

fn remove(document: &mut Value, path: &str) -> Result<Value, String> {
    let (parent, last) = split_pointer(path)?;
    let missing = || format!("remove: `{path}` does not exist");
    match document.pointer_mut(parent) {
        Some(Value::Object(map)) => map.remove(&last).ok_or_else(missing),
        Some(Value::Array(items)) => {
            let index: usize = last.parse().map_err(|_| missing())?;
            if index < items.len() { Ok(items.remove(index)) } else { Err(missing()) }
        }
        _ => Err(missing()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(target: Value, patch: Value, expected: Value) {
        let mut target = target;
        strategic_merge(&mut target, &patch, "").expect("test input is valid");
        assert_eq!(target, expected);
    }

    #[test]
    fn strategic_merge_cases() {
        check(json!({"a": {"b": 1, "c": 2}}), json!({"a": {"b": null, "d": 3}}), json!({"a": {"c": 2, "d": 3}}));
        check(
            json!({"containers": [{"name": "a", "image": "x"}, {"name": "b"}]}),
            json!({"containers": [{"name": "b", "$patch": "delete"}, {"name": "a", "image": "y"}, {"name": "c"}]}),
            json!({"containers": [{"name": "a", "image": "y"}, {"name": "c"}]}),
        );
        check(
            json!({"env": [{"name": "a"}, {"name": "b"}, {"name": "c"}, {"name": "e"}]}),
            json!({"env": [{"name": "c", "value": "2"}, {"name": "d"}, {"name": "a"}]}),
            json!({"env": [{"name": "c", "value": "2"}, {"name": "d"}, {"name": "a"}, {"name": "b"}, {"name": "e"}]}),
        );
        check(json!({"args": ["a", "b"]}), json!({"args": ["c"]}), json!({"args": ["c"]}));
        check(json!({"m": {"x": 1}}), json!({"m": {"$patch": "replace", "y": 2}}), json!({"m": {"y": 2}}));
    }

    #[test]
    fn json6902_cases() {
        let mut doc = json!({"a": [1, 2], "b": {"c": 1}});
        json6902(&mut doc, &json!({"op": "add", "path": "/a/-", "value": 3})).expect("test input is valid");
        json6902(&mut doc, &json!({"op": "remove", "path": "/b/c"})).expect("test input is valid");
        json6902(&mut doc, &json!({"op": "replace", "path": "/a/0", "value": 0})).expect("test input is valid");
        assert_eq!(doc, json!({"a": [0, 2, 3], "b": {}}));
        assert!(json6902(&mut doc, &json!({"op": "replace", "path": "/x", "value": 0})).is_err());
        assert!(json6902(&mut doc, &json!({"op": "remove", "path": "/a/9"})).is_err());
    }

    #[test]
    fn label_selectors() {
        let object = json!({"metadata": {"labels": {"a": "1", "b": "2"}}});
        assert!(label_selector_matches("a=1,b", &object));
        assert!(label_selector_matches("a==1,c!=3,!c", &object));
        assert!(!label_selector_matches("a=2", &object));
    }
}
