//! YAML in and out for the renderer: spanned trees to JSON values, multi-document splitting,
//! and an emitter that writes documents the way `kubectl kustomize` does (keys sorted, list
//! items at their parent's indentation, strings quoted when YAML would read them as another type).

use serde_json::{Map, Value};
use stack_config::node::{self, Node, Value as NodeValue};

/// Writes `---`-separated YAML documents, one per object, with sorted keys as kubectl does.
pub fn to_yaml(objects: &[Value]) -> String {
    let mut out = String::new();
    for (index, object) in objects.iter().enumerate() {
        if index > 0 {
            out.push_str("---\n");
        }
        emit_document(object, &mut out);
    }
    out
}

/// Converts a spanned YAML node into a JSON value, typing plain scalars as YAML's core schema
/// does: booleans, integers, floats and null; quoted scalars are always strings.
pub fn to_json(node: &Node) -> Value {
    match &node.value {
        NodeValue::Null => Value::Null,
        NodeValue::Scalar(scalar) if scalar.quoted => Value::String(scalar.text.clone()),
        NodeValue::Scalar(scalar) => {
            if let Some(flag) = node.as_bool() {
                Value::Bool(flag)
            } else if let Some(int) = node.as_i64() {
                Value::from(int)
            } else if let Some(float) = node.as_f64().and_then(serde_json::Number::from_f64) {
                Value::Number(float)
            } else if matches!(scalar.text.as_str(), "null" | "Null" | "NULL" | "~") {
                Value::Null
            } else {
                Value::String(scalar.text.clone())
            }
        }
        NodeValue::Seq(items) => Value::Array(items.iter().map(to_json).collect()),
        NodeValue::Map(entries) => {
            let mut map = Map::new();
            for (key, value) in entries {
                let key = match &key.value {
                    NodeValue::Scalar(scalar) => scalar.text.clone(),
                    _ => String::new(),
                };
                map.insert(key, to_json(value));
            }
            Value::Object(map)
        }
    }
}

/// One document of a multi-document YAML text; its node's lines are those of the whole text.
#[derive(Debug)]
pub struct Document {
    pub node: Node,
}

/// Splits a YAML stream on `---` lines and parses each document; empty documents are dropped.
/// Line numbers in errors and nodes are those of the whole text.
pub fn parse_documents(text: &str) -> Result<Vec<Document>, node::SyntaxError> {
    let mut documents = Vec::new();
    let mut current = String::new();
    let mut first_line = 1;
    for (index, line) in text.lines().enumerate() {
        let is_separator = line == "---" || line.starts_with("--- ") || line == "...";
        if is_separator {
            push_document(&current, first_line, &mut documents)?;
            current.clear();
            first_line = index + 2;
        } else {
            current.push_str(line);
            current.push('\n');
        }
    }
    push_document(&current, first_line, &mut documents)?;
    Ok(documents)
}

fn push_document(text: &str, first_line: usize, documents: &mut Vec<Document>) -> Result<(), node::SyntaxError> {
    // Padding with blank lines keeps the parser's line numbers true to the whole file.
    let padded = format!("{}{text}", "\n".repeat(first_line - 1));
    let mut parsed = node::parse_yaml(&padded)?;
    if !parsed.is_null() {
        if parsed.location.line < first_line {
            parsed.location.line = first_line;
        }
        documents.push(Document { node: parsed });
    }
    Ok(())
}

fn emit_document(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) if !map.is_empty() => emit_map(map, 0, out),
        Value::Array(items) if !items.is_empty() => emit_seq(items, 0, out),
        other => {
            out.push_str(&scalar(other, 0));
            out.push('\n');
        }
    }
}

fn emit_map(map: &Map<String, Value>, indent: usize, out: &mut String) {
    // Sorted here, not by the map: serde_json keeps insertion order when another crate in the
    // build turns on its `preserve_order` feature (kube does, in xtask's `full` build).
    let mut entries: Vec<(&String, &Value)> = map.iter().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    let mut first = true;
    for (key, value) in entries {
        if !first || !out.ends_with("- ") {
            out.push_str(&" ".repeat(indent));
        }
        first = false;
        out.push_str(&key_text(key));
        out.push(':');
        emit_value_after_key(value, indent, out);
    }
}

fn emit_value_after_key(value: &Value, indent: usize, out: &mut String) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            out.push('\n');
            emit_map(map, indent + 2, out);
        }
        // kubectl writes list items at the indentation of their key.
        Value::Array(items) if !items.is_empty() => {
            out.push('\n');
            emit_seq(items, indent, out);
        }
        other => {
            out.push(' ');
            out.push_str(&scalar(other, indent + 2));
            out.push('\n');
        }
    }
}

fn emit_seq(items: &[Value], indent: usize, out: &mut String) {
    for item in items {
        out.push_str(&" ".repeat(indent));
        out.push_str("- ");
        match item {
            Value::Object(map) if !map.is_empty() => emit_map(map, indent + 2, out),
            Value::Array(inner) if !inner.is_empty() => {
                out.push('\n');
                emit_seq(inner, indent + 2, out);
            }
            other => {
                out.push_str(&scalar(other, indent + 2));
                out.push('\n');
            }
        }
    }
}

fn key_text(key: &str) -> String {
    string_scalar(key)
}

fn scalar(value: &Value, indent: usize) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(flag) => flag.to_string(),
        Value::Number(number) => number.to_string(),
        Value::String(text) if text.contains('\n') && literal_block_ok(text) => block(text, indent),
        Value::String(text) => string_scalar(text),
        Value::Object(_) => "{}".to_owned(),
        Value::Array(_) => "[]".to_owned(),
    }
}

fn literal_block_ok(text: &str) -> bool {
    !text.starts_with(' ') && !text.chars().any(|c| c.is_control() && c != '\n' && c != '\t')
}

fn block(text: &str, indent: usize) -> String {
    let chomp = if text.ends_with("\n\n") {
        "+"
    } else if text.ends_with('\n') {
        ""
    } else {
        "-"
    };
    let mut out = format!("|{chomp}");
    let pad = " ".repeat(indent);
    for line in text.trim_end_matches('\n').split('\n') {
        out.push('\n');
        if !line.is_empty() {
            out.push_str(&pad);
            out.push_str(line);
        }
    }
    out
}

/// Quotes as kubectl's YAML library does: double quotes for strings YAML would read as another
/// type (`"3"`, `"true"`, `""`) or that hold control characters, single quotes for strings that
/// are only unsafe as plain scalars (`'*/5 * * * *'`).
fn string_scalar(text: &str) -> String {
    if resolves_to_other_type(text) || text.chars().any(char::is_control) {
        serde_json::to_string(text).unwrap_or_else(|_| format!("\"{text}\""))
    } else if needs_quotes(text) {
        format!("'{}'", text.replace('\'', "''"))
    } else {
        text.to_owned()
    }
}

fn resolves_to_other_type(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    text.is_empty()
        || matches!(lower.as_str(), "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n" | "null" | "~")
        || looks_numeric(text)
}

/// Whether a plain scalar would be read back as something other than this string (YAML 1.1
/// words included, as kubectl quotes `yes`, `on` and friends).
fn needs_quotes(text: &str) -> bool {
    if resolves_to_other_type(text) || text.trim() != text {
        return true;
    }
    let first = text.chars().next().unwrap_or(' ');
    if "-?:,[]{}#&*!|>'\"%@`".contains(first) && !(first == '-' && text.len() > 1 && !text.starts_with("- ")) {
        return true;
    }
    text.contains(": ") || text.contains(" #") || text.ends_with(':') || text.chars().any(char::is_control)
}

fn looks_numeric(text: &str) -> bool {
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    if unsigned.is_empty() {
        return false;
    }
    if matches!(unsigned.to_ascii_lowercase().as_str(), ".inf" | ".nan") {
        return true;
    }
    if unsigned.starts_with("0x") || unsigned.starts_with("0o") || unsigned.starts_with("0b") {
        return true;
    }
    let cleaned = unsigned.replace('_', "");
    cleaned.parse::<f64>().is_ok() && cleaned.chars().next().is_some_and(|c| c.is_ascii_digit() || c == '.')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(value: Value, expected: &str) {
        assert_eq!(to_yaml(&[value]), expected);
    }

    #[test]
    fn emits_kubectl_style() {
        check(
            json!({"kind": "X", "a": {"b": [{"name": "nm", "v": "1"}, {"x": true}]}, "s": ["p"]}),
            "a:\n  b:\n  - name: nm\n    v: \"1\"\n  - x: true\nkind: X\ns:\n- p\n",
        );
        check(json!({"d": "line1\nline2\n", "e": "", "f": "yes"}), "d: |\n  line1\n  line2\ne: \"\"\nf: \"yes\"\n");
        check(json!({"s": "*/5 * * * *", "q": "it's: x"}), "q: 'it''s: x'\ns: '*/5 * * * *'\n");
    }

    #[test]
    fn types_plain_scalars() {
        let docs = parse_documents("a: 3\nb: \"3\"\nc: true\nd: 1.5\ne: text\n---\n---\nf: ~\n").expect("test input is valid");
        assert_eq!(docs.len(), 2);
        assert_eq!(to_json(&docs[0].node), json!({"a": 3, "b": "3", "c": true, "d": 1.5, "e": "text"}));
        assert_eq!(docs[1].node.location.line, 8);
        assert_eq!(to_json(&docs[1].node), json!({"f": null}));
    }

    #[test]
    fn round_trips_through_the_parser() {
        let value = json!({"a": {"b": ["1", 1, "x: y", "-dash", "- item", "#c", "multi\nline"], "c": null}});
        let docs = parse_documents(&to_yaml(std::slice::from_ref(&value))).expect("test input is valid");
        assert_eq!(to_json(&docs[0].node), value);
    }
}
