//! `configMapGenerator` and `secretGenerator`: building the objects from literals, env files
//! and files, the `create`/`merge`/`replace` behaviours, and the content hash Kustomize appends
//! to generated names.

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::kustomization::Kustomization;
use super::{Resource, str_at};
use crate::{Error, Result};

/// Runs both generators of a kustomization over the resources accumulated so far.
pub(super) fn run(kustomization: &Kustomization, resources: &mut Vec<Resource>) -> Result<()> {
    for (args, line) in &kustomization.config_maps {
        let generated = generate(kustomization, args, *line, false)?;
        absorb(kustomization, generated, args, *line, resources)?;
    }
    for (args, line) in &kustomization.secrets {
        let generated = generate(kustomization, args, *line, true)?;
        absorb(kustomization, generated, args, *line, resources)?;
    }
    Ok(())
}

/// The hash suffix Kustomize gives a generated ConfigMap or Secret: sha256 over a compact,
/// key-sorted JSON encoding of its content, the first ten hex digits, with the characters
/// `0 1 3 a e` replaced so the suffix cannot spell words (Kustomize's `encodeHash`).
pub(super) fn hash_suffix(object: &Value) -> Result<String> {
    let kind = str_at(object, &["kind"]).unwrap_or_default();
    let data = object.get("data").cloned().unwrap_or_else(|| json!({}));
    let mut encoded = Map::new();
    encoded.insert("kind".into(), Value::String(kind.to_owned()));
    encoded.insert("name".into(), Value::String(String::new()));
    encoded.insert("data".into(), data);
    match kind {
        "ConfigMap" => {
            if let Some(binary) = object.get("binaryData").filter(|binary| binary.as_object().is_some_and(|map| !map.is_empty())) {
                encoded.insert("binaryData".into(), binary.clone());
            }
        }
        "Secret" => {
            let kind_of_secret = object.get("type").cloned().unwrap_or_else(|| Value::String(String::new()));
            encoded.insert("type".into(), kind_of_secret);
        }
        other => {
            return Err(Error::RenderInvalid {
                path: format!("generated object `{}`", str_at(object, &["metadata", "name"]).unwrap_or_default()),
                line: 0,
                message: format!("cannot hash a {other}: only ConfigMaps and Secrets get a name suffix"),
            });
        }
    }
    let text = go_json(&Value::Object(encoded));
    let digest = Sha256::digest(text.as_bytes());
    let hex: String = digest.iter().take(5).map(|byte| format!("{byte:02x}")).collect();
    Ok(hex
        .chars()
        .map(|c| match c {
            '0' => 'g',
            '1' => 'h',
            '3' => 'k',
            'a' => 'm',
            'e' => 't',
            other => other,
        })
        .collect())
}

/// Compact JSON with sorted keys and Go's HTML escaping of `<`, `>` and `&`, as `json.Marshal`
/// writes it: the hash must see the same bytes as Kustomize's.
fn go_json(value: &Value) -> String {
    let text = serde_json::to_string(&sort_keys(value)).unwrap_or_default();
    text.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

/// A copy with every map's keys inserted in sorted order, so the encoding is sorted whether or
/// not serde_json's `preserve_order` feature is on in this build.
fn sort_keys(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            Value::Object(entries.into_iter().map(|(key, value)| (key.clone(), sort_keys(value))).collect())
        }
        Value::Array(items) => Value::Array(items.iter().map(sort_keys).collect()),
        other => other.clone(),
    }
}

fn generate(kustomization: &Kustomization, args: &Value, line: usize, secret: bool) -> Result<Resource> {
    let name = args.get("name").and_then(Value::as_str).ok_or_else(|| kustomization.invalid(line, "a generator needs a `name`"))?;
    let mut data = Map::new();
    let mut binary = Map::new();
    for literal in strings(args, "literals") {
        let (key, value) =
            literal.split_once('=').ok_or_else(|| kustomization.invalid(line, format!("literal `{literal}` is not KEY=VALUE")))?;
        insert(kustomization, line, &mut data, key, encode(unquote(value).as_bytes(), secret))?;
    }
    let mut env_files = strings(args, "envs");
    env_files.extend(args.get("env").and_then(Value::as_str).map(str::to_owned));
    for file in env_files {
        let text = kustomization.read(&file, "env file", line)?;
        for (key, value) in parse_env_file(&text).map_err(|message| kustomization.invalid(line, format!("{file}: {message}")))? {
            insert(kustomization, line, &mut data, &key, encode(value.as_bytes(), secret))?;
        }
    }
    for file in strings(args, "files") {
        let (key, path) = match file.split_once('=') {
            Some((key, path)) => (key.to_owned(), path.to_owned()),
            None => (file.rsplit('/').next().unwrap_or(&file).to_owned(), file.clone()),
        };
        let full = kustomization.file(&path, "file", line)?;
        let bytes = std::fs::read(&full).map_err(|source| Error::RenderRead { path: full.to_string(), source })?;
        if secret {
            insert(kustomization, line, &mut data, &key, base64(&bytes, true))?;
            continue;
        }
        match String::from_utf8(bytes) {
            Ok(text) => insert(kustomization, line, &mut data, &key, text)?,
            Err(error) => {
                binary.insert(key, Value::String(base64(error.as_bytes(), true)));
            }
        }
    }
    let options = merged_options(&kustomization.generator_options, args.get("options"));
    let mut metadata = Map::new();
    metadata.insert("name".into(), Value::String(name.to_owned()));
    if let Some(namespace) = args.get("namespace").and_then(Value::as_str) {
        metadata.insert("namespace".into(), Value::String(namespace.to_owned()));
    }
    for field in ["labels", "annotations"] {
        if let Some(map) = options.get(field).and_then(Value::as_object).filter(|map| !map.is_empty()) {
            metadata.insert(field.into(), Value::Object(map.clone()));
        }
    }
    let mut object = Map::new();
    object.insert("apiVersion".into(), Value::String("v1".into()));
    object.insert("kind".into(), Value::String(if secret { "Secret" } else { "ConfigMap" }.into()));
    object.insert("metadata".into(), Value::Object(metadata));
    if !data.is_empty() {
        object.insert("data".into(), Value::Object(data));
    }
    if !binary.is_empty() {
        object.insert("binaryData".into(), Value::Object(binary));
    }
    if secret {
        let kind_of_secret = args.get("type").and_then(Value::as_str).unwrap_or("Opaque");
        object.insert("type".into(), Value::String(kind_of_secret.to_owned()));
    }
    let mut resource = Resource::new(Value::Object(object), kustomization.path.as_str());
    resource.needs_hash = !options.get("disableNameSuffixHash").and_then(Value::as_bool).unwrap_or(false);
    Ok(resource)
}

/// Adds a generated object to the accumulated ones according to its `behavior`.
fn absorb(kustomization: &Kustomization, mut generated: Resource, args: &Value, line: usize, resources: &mut Vec<Resource>) -> Result<()> {
    let behavior = args.get("behavior").and_then(Value::as_str).unwrap_or("create");
    let kind = generated.kind().to_owned();
    let name = generated.name().to_owned();
    let existing = resources.iter().position(|resource| resource.kind() == kind && resource.answers_to(&name));
    match (behavior, existing) {
        ("create", None) => resources.push(generated),
        ("create", Some(_)) => {
            return Err(kustomization.invalid(line, format!("{kind} `{name}` already exists; use `behavior: merge` or `replace`")));
        }
        ("merge" | "replace", Some(index)) => {
            let old = &resources[index];
            if behavior == "merge" {
                for field in ["data", "binaryData"] {
                    if let Some(old_map) = old.object.get(field).and_then(Value::as_object) {
                        let mut merged = old_map.clone();
                        if let Some(new_map) = generated.object.get(field).and_then(Value::as_object) {
                            merged.extend(new_map.clone());
                        }
                        generated.object[field] = Value::Object(merged);
                    }
                }
            }
            // As Kustomize's CopyMergeMetaDataFieldsFrom: labels and annotations merged (new
            // wins), name, namespace, earlier names, prefixes, suffixes and the hash decision
            // taken from the existing object.
            for field in ["labels", "annotations"] {
                let mut merged = old.object.pointer(&format!("/metadata/{field}")).and_then(Value::as_object).cloned().unwrap_or_default();
                if let Some(new_map) = generated.object.pointer(&format!("/metadata/{field}")).and_then(Value::as_object) {
                    merged.extend(new_map.clone());
                }
                if !merged.is_empty() {
                    generated.object["metadata"][field] = Value::Object(merged);
                }
            }
            generated.object["metadata"]["name"] = Value::String(old.name().to_owned());
            match old.object.pointer("/metadata/namespace") {
                Some(namespace) => generated.object["metadata"]["namespace"] = namespace.clone(),
                None => {
                    if let Some(metadata) = generated.object["metadata"].as_object_mut() {
                        metadata.remove("namespace");
                    }
                }
            }
            generated.original_name.clone_from(&old.original_name);
            generated.previous_names.clone_from(&old.previous_names);
            generated.prefixes.clone_from(&old.prefixes);
            generated.suffixes.clone_from(&old.suffixes);
            generated.needs_hash = old.needs_hash;
            resources[index] = generated;
        }
        ("merge" | "replace", None) => {
            return Err(kustomization.invalid(line, format!("{kind} `{name}` to {behavior} not found in the resources")));
        }
        (other, _) => return Err(kustomization.invalid(line, format!("unknown generator behavior `{other}` (create, merge or replace)"))),
    }
    Ok(())
}

fn merged_options(global: &Value, local: Option<&Value>) -> Map<String, Value> {
    let mut options = global.as_object().cloned().unwrap_or_default();
    if let Some(local) = local.and_then(Value::as_object) {
        for (key, value) in local {
            match (options.get_mut(key), value) {
                (Some(Value::Object(existing)), Value::Object(new)) => existing.extend(new.clone()),
                _ => {
                    options.insert(key.clone(), value.clone());
                }
            }
        }
    }
    for field in ["labels", "annotations"] {
        if let Some(Value::Object(map)) = options.get_mut(field) {
            for value in map.values_mut() {
                if !value.is_string() {
                    *value = Value::String(value.to_string());
                }
            }
        }
    }
    options
}

fn strings(args: &Value, field: &str) -> Vec<String> {
    args.get(field)
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .map(|item| match item {
                    Value::String(text) => text.clone(),
                    other => other.to_string(),
                })
                .collect()
        })
        .unwrap_or_default()
}

fn insert(kustomization: &Kustomization, line: usize, data: &mut Map<String, Value>, key: &str, value: String) -> Result<()> {
    let valid = !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !valid {
        return Err(kustomization.invalid(line, format!("`{key}` is not a valid ConfigMap/Secret key")));
    }
    if data.contains_key(key) {
        return Err(kustomization.invalid(line, format!("key `{key}` is set twice in one generator")));
    }
    data.insert(key.to_owned(), Value::String(value));
    Ok(())
}

/// Kustomize strips one pair of matching quotes around a literal's value.
fn unquote(value: &str) -> &str {
    for quote in ['"', '\''] {
        if value.len() >= 2 && value.starts_with(quote) && value.ends_with(quote) {
            return &value[1..value.len() - 1];
        }
    }
    value
}

/// Parses an env file as Kustomize does: `KEY=VALUE` lines, `#` comments and blank lines
/// skipped, leading whitespace trimmed, the value kept verbatim.
fn parse_env_file(text: &str) -> std::result::Result<Vec<(String, String)>, String> {
    let mut pairs = Vec::new();
    for (index, line) in text.trim_start_matches('\u{feff}').lines().enumerate() {
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match line.split_once('=') {
            Some((key, value)) => pairs.push((key.to_owned(), value.to_owned())),
            None => return Err(format!("line {}: `{line}` is not KEY=VALUE", index + 1)),
        }
    }
    Ok(pairs)
}

/// Secret data is base64 (wrapped as Kustomize wraps it); ConfigMap data stays text.
fn encode(bytes: &[u8], secret: bool) -> String {
    if secret { base64(bytes, true) } else { String::from_utf8_lossy(bytes).into_owned() }
}

/// Standard base64; `wrap` breaks it every 70 characters with a trailing newline, as
/// Kustomize does for Secret data longer than one line.
fn base64(bytes: &[u8], wrap: bool) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    const LINE: usize = 70;
    if !wrap || out.len() < LINE {
        return out;
    }
    let mut wrapped = String::with_capacity(out.len() + out.len() / LINE + 1);
    for (index, c) in out.chars().enumerate() {
        if index > 0 && index % LINE == 0 {
            wrapped.push('\n');
        }
        wrapped.push(c);
    }
    wrapped.push('\n');
    wrapped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_standard_alphabet() {
        assert_eq!(base64(b"", false), "");
        assert_eq!(base64(b"f", false), "Zg==");
        assert_eq!(base64(b"fo", false), "Zm8=");
        assert_eq!(base64(b"foobar", false), "Zm9vYmFy");
        let long = base64(&[b'x'; 60], true);
        assert_eq!(long.lines().next().map(str::len), Some(70));
        assert!(long.ends_with('\n'));
    }

    #[test]
    fn env_files_and_literals() {
        assert_eq!(
            parse_env_file("# c\n\n  A=1\nB=x=y\nC=\n").expect("test input is valid"),
            [("A".into(), "1".into()), ("B".into(), "x=y".into()), ("C".into(), String::new())]
        );
        assert!(parse_env_file("NOEQUALS\n").is_err());
        assert_eq!(unquote("\"a b\""), "a b");
        assert_eq!(unquote("'x"), "'x");
    }

    #[test]
    fn hash_suffixes_match_kubectl() {
        // From `kubectl kustomize` (v5.5) on `configMapGenerator: [{name: x, literals: [b=2, a=1]}]`
        // and `secretGenerator: [{name: z, literals: [k=v]}]`; keys deliberately out of order.
        let config_map = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {"b": "2", "a": "1"}});
        assert_eq!(hash_suffix(&config_map).expect("a ConfigMap hashes"), "7gdc49gk6d");
        let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "z"}, "data": {"k": "dg=="}, "type": "Opaque"});
        assert_eq!(hash_suffix(&secret).expect("a Secret hashes"), "ftgtgc4t9f");
        assert!(hash_suffix(&json!({"kind": "Service"})).is_err());
    }

    #[test]
    fn go_json_escapes_html() {
        assert_eq!(go_json(&json!({"b": "<&>", "a": 1})), r#"{"a":1,"b":"\u003c\u0026\u003e"}"#);
    }
}
