//! Spanned document tree for YAML and JSON, so that every later validation error can name the
//! line and column of the value it is about.
//!
//! The tree and the typing of its scalars are here; [`parse_yaml`] and [`parse_yaml_documents`]
//! (and the YAML builder over yaml-rust2's events) are in `yaml.rs`, [`parse_json`] (a spanned parser checked by serde_json)
//! in `json.rs`.

use std::fmt;

mod json;
mod yaml;

pub use json::parse_json;
pub use yaml::{parse_yaml, parse_yaml_documents};

/// A position in the source text; both numbers start at 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize)]
pub struct Location {
    pub line: usize,
    pub column: usize,
}

/// One value of the document and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub location: Location,
}

/// The shape of a node. Scalars keep their source text; typing happens on access.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    /// Every non-null scalar keeps its source text.
    Scalar(Scalar),
    Seq(Vec<Node>),
    /// Key node (always a [`Value::Scalar`]) and value node, in source order.
    Map(Vec<(Node, Node)>),
}

/// The text of a scalar and whether it was quoted (quoted scalars are always strings).
#[derive(Debug, Clone, PartialEq)]
pub struct Scalar {
    pub text: String,
    pub quoted: bool,
}

/// A document that could not be read, and where the reader gave up.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct SyntaxError {
    pub message: String,
    pub location: Location,
}

/// Nesting deeper than this is refused: the tree's `Drop`, `Clone` and `PartialEq` recurse, and
/// serde_json stops at the same depth.
const MAX_DEPTH: usize = 128;

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

impl Node {
    /// The value of `key` when this node is a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entries()?.iter().find(|(k, _)| k.as_str() == Some(key)).map(|(_, v)| v)
    }

    pub fn entries(&self) -> Option<&[(Node, Node)]> {
        match &self.value {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }

    pub fn items(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(items) => Some(items),
            _ => None,
        }
    }

    pub fn as_scalar(&self) -> Option<&Scalar> {
        match &self.value {
            Value::Scalar(scalar) => Some(scalar),
            _ => None,
        }
    }

    /// The text of any scalar, quoted or not.
    pub fn as_str(&self) -> Option<&str> {
        self.as_scalar().map(|scalar| scalar.text.as_str())
    }

    /// An unquoted `true` or `false` (also `True`, `TRUE`, `False`, `FALSE`).
    pub fn as_bool(&self) -> Option<bool> {
        parse_bool(self.plain()?)
    }

    /// An unquoted decimal, `0x` hexadecimal or `0o` octal integer.
    pub fn as_i64(&self) -> Option<i64> {
        parse_int(self.plain()?)
    }

    /// An unquoted integer or float, including `.inf` and `.nan`.
    pub fn as_f64(&self) -> Option<f64> {
        parse_float(self.plain()?)
    }

    pub fn is_null(&self) -> bool {
        self.value == Value::Null
    }

    /// What the node is, phrased for error messages ("expected a list, found a string").
    pub fn kind(&self) -> &'static str {
        match &self.value {
            Value::Null => "null",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
            Value::Scalar(scalar) if scalar.quoted => "a string",
            Value::Scalar(scalar) => {
                if parse_bool(&scalar.text).is_some() {
                    "a boolean"
                } else if parse_float(&scalar.text).is_some() {
                    "a number"
                } else {
                    "a string"
                }
            }
        }
    }

    /// The text of an unquoted scalar: only those can be booleans or numbers.
    fn plain(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar(scalar) if !scalar.quoted => Some(&scalar.text),
            _ => None,
        }
    }
}

fn parse_bool(text: &str) -> Option<bool> {
    match text {
        "true" | "True" | "TRUE" => Some(true),
        "false" | "False" | "FALSE" => Some(false),
        _ => None,
    }
}

fn all_digits(text: &str, radix: u32) -> bool {
    !text.is_empty() && text.chars().all(|c| c.is_digit(radix))
}

/// YAML 1.2 core schema integers; `str::parse` alone would also accept forms YAML calls strings.
fn parse_int(text: &str) -> Option<i64> {
    if let Some(hex) = text.strip_prefix("0x") {
        return all_digits(hex, 16).then(|| i64::from_str_radix(hex, 16).ok()).flatten();
    }
    if let Some(octal) = text.strip_prefix("0o") {
        return all_digits(octal, 8).then(|| i64::from_str_radix(octal, 8).ok()).flatten();
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    all_digits(digits, 10).then(|| text.parse().ok()).flatten()
}

/// YAML 1.2 core schema floats (which include every JSON number).
fn parse_float(text: &str) -> Option<f64> {
    if let Some(int) = parse_int(text) {
        // Precision loss on huge integers is expected of a float view.
        #[allow(clippy::cast_precision_loss)]
        return Some(int as f64);
    }
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    match unsigned {
        ".inf" | ".Inf" | ".INF" if text.starts_with('-') => return Some(f64::NEG_INFINITY),
        ".inf" | ".Inf" | ".INF" => return Some(f64::INFINITY),
        ".nan" | ".NaN" | ".NAN" if unsigned.len() == text.len() => return Some(f64::NAN),
        _ => {}
    }
    let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
        Some((mantissa, exponent)) => (mantissa, Some(exponent)),
        None => (unsigned, None),
    };
    let (whole, fraction) = match mantissa.split_once('.') {
        Some((whole, fraction)) => (whole, fraction),
        None => (mantissa, ""),
    };
    let digits_ok = (whole.is_empty() || all_digits(whole, 10))
        && (fraction.is_empty() || all_digits(fraction, 10))
        && !(whole.is_empty() && fraction.is_empty());
    let exponent_ok = exponent.is_none_or(|e| all_digits(e.strip_prefix(['-', '+']).unwrap_or(e), 10));
    if !(digits_ok && exponent_ok) {
        return None;
    }
    text.parse().ok()
}

fn syntax_error(message: impl Into<String>, location: Location) -> SyntaxError {
    SyntaxError { message: message.into(), location }
}

/// What the tests of both readers (`json.rs`, `yaml.rs`) share.
#[cfg(test)]
mod testing {
    use super::{Location, Node, SyntaxError, Value};

    /// A one-based location.
    pub(super) fn at(line: usize, column: usize) -> Location {
        Location { line, column }
    }

    /// Every node of a tree with its location, in document order: the root is ``, a mapping's
    /// value `a` (nested: `a.b`, `a[0]`), its key `a:`.
    pub(super) fn locations(node: &Node) -> Vec<(String, Location)> {
        fn walk(node: &Node, path: &str, out: &mut Vec<(String, Location)>) {
            out.push((path.to_owned(), node.location));
            match &node.value {
                Value::Null | Value::Scalar(_) => {}
                Value::Seq(items) => items.iter().enumerate().for_each(|(i, item)| walk(item, &format!("{path}[{i}]"), out)),
                Value::Map(entries) => {
                    for (key, value) in entries {
                        let name = key.as_str().unwrap_or_default();
                        let path = if path.is_empty() { name.to_owned() } else { format!("{path}.{name}") };
                        out.push((format!("{path}:"), key.location));
                        walk(value, &path, out);
                    }
                }
            }
        }
        let mut out = Vec::new();
        walk(node, "", &mut out);
        out
    }

    /// The error `parse` gives for `text`, asserted to be at `location`.
    pub(super) fn error_at<T: std::fmt::Debug>(
        parse: impl Fn(&str) -> Result<T, SyntaxError>,
        text: &str,
        location: Location,
    ) -> SyntaxError {
        match parse(text) {
            Ok(parsed) => panic!("{text:?} parsed as {parsed:?}"),
            Err(error) => {
                assert_eq!(error.location, location, "{text:?}: {}", error.message);
                error
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use proptest::prelude::*;
    use testing::{at, locations};

    /// Every node of `text`, as `parse` reads it, is at its `expected` path and location.
    fn check_locations(parse: fn(&str) -> Result<Node, SyntaxError>, text: &str, expected: &[(&str, Location)]) {
        let expected: Vec<(String, Location)> = expected.iter().map(|(path, location)| ((*path).to_owned(), *location)).collect();
        assert_eq!(locations(&parse(text).unwrap()), expected, "{text:?}");
    }

    #[test]
    fn every_node_knows_its_one_based_location() {
        check_locations(
            parse_json,
            "{\n\t\"a\": [1, -2.5e3, true, null, \"\\u00e9\\ud83d\\ude00\\/\"],\n  \"b\": {}\n}",
            &[
                ("", at(1, 1)),
                ("a:", at(2, 2)),
                ("a", at(2, 7)),
                ("a[0]", at(2, 8)),
                ("a[1]", at(2, 11)),
                ("a[2]", at(2, 19)),
                ("a[3]", at(2, 25)),
                ("a[4]", at(2, 31)),
                ("b:", at(3, 3)),
                ("b", at(3, 8)),
            ],
        );
        // An empty YAML value is placed at its key, and a block mapping at its first key.
        check_locations(
            parse_yaml,
            "a: 1\nb:\n  - x\n  - 'y'\nc:\n",
            &[
                ("", at(1, 1)),
                ("a:", at(1, 1)),
                ("a", at(1, 4)),
                ("b:", at(2, 1)),
                ("b", at(3, 3)),
                ("b[0]", at(3, 5)),
                ("b[1]", at(4, 5)),
                ("c:", at(5, 1)),
                ("c", at(5, 1)),
            ],
        );
    }

    /// Converts a tree back to JSON the way a typed reader would see it.
    fn to_json(node: &Node) -> serde_json::Value {
        use serde_json::Value as J;
        match &node.value {
            Value::Null => J::Null,
            Value::Scalar(scalar) if scalar.quoted => J::String(scalar.text.clone()),
            Value::Scalar(scalar) => {
                if let Some(b) = node.as_bool() {
                    J::Bool(b)
                } else if let Some(i) = node.as_i64() {
                    J::from(i)
                } else if let Some(f) = node.as_f64() {
                    J::from(f)
                } else {
                    J::String(scalar.text.clone())
                }
            }
            Value::Seq(items) => J::Array(items.iter().map(to_json).collect()),
            Value::Map(entries) => J::Object(entries.iter().map(|(k, v)| (k.as_str().unwrap().to_owned(), to_json(v))).collect()),
        }
    }

    #[test]
    fn yaml_scalars_are_typed_on_access() {
        let doc =
            parse_yaml("t: True\nf: FALSE\ni: -12\nh: 0x1F\no: 0o17\nx: 1.5e3\nq: '12'\ns: !!str 12\nn: ~\ninf: -.inf\nw: yes\n").unwrap();
        assert_eq!(doc.get("t").unwrap().as_bool(), Some(true));
        assert_eq!(doc.get("f").unwrap().as_bool(), Some(false));
        assert_eq!(doc.get("i").unwrap().as_i64(), Some(-12));
        assert_eq!(doc.get("h").unwrap().as_i64(), Some(31));
        assert_eq!(doc.get("o").unwrap().as_i64(), Some(15));
        assert_eq!(doc.get("x").unwrap().as_f64(), Some(1500.0));
        assert_eq!(doc.get("x").unwrap().as_i64(), None);
        assert_eq!(doc.get("q").unwrap().as_i64(), None);
        assert_eq!(doc.get("q").unwrap().kind(), "a string");
        assert_eq!(doc.get("s").unwrap().kind(), "a string");
        assert_eq!(doc.get("i").unwrap().kind(), "a number");
        assert_eq!(doc.get("t").unwrap().kind(), "a boolean");
        assert_eq!(doc.get("w").unwrap().kind(), "a string");
        assert_eq!(doc.get("n").unwrap().kind(), "null");
        assert_eq!(doc.get("inf").unwrap().as_f64(), Some(f64::NEG_INFINITY));
        assert_eq!(doc.kind(), "a mapping");
    }

    fn json_value(strings: BoxedStrategy<String>) -> impl Strategy<Value = serde_json::Value> {
        use serde_json::Value as J;
        let leaf = prop_oneof![
            Just(J::Null),
            any::<bool>().prop_map(J::Bool),
            any::<i64>().prop_map(J::from),
            strings.clone().prop_map(J::String),
        ];
        leaf.prop_recursive(4, 64, 6, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(J::Array),
                prop::collection::btree_map(strings.clone(), inner, 0..6).prop_map(|map| J::Object(map.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn parsers_never_panic(text in any::<String>()) {
            let _ = parse_yaml(&text);
            let _ = parse_yaml_documents(&text);
            let _ = parse_json(&text);
        }

        #[test]
        fn json_round_trips(value in json_value(any::<String>().boxed())) {
            for text in [serde_json::to_string(&value).unwrap(), serde_json::to_string_pretty(&value).unwrap()] {
                let node = parse_json(&text).unwrap();
                prop_assert_eq!(to_json(&node), value.clone());
            }
        }

        // YAML reads JSON too. Strings are kept to printable characters (and short, as YAML
        // limits implicit keys to 1024 characters): serde_json writes DEL and other
        // non-printables raw, which YAML does not allow.
        #[test]
        fn yaml_reads_json(value in json_value("\\PC{0,12}".boxed())) {
            for text in [serde_json::to_string(&value).unwrap(), serde_json::to_string_pretty(&value).unwrap()] {
                let node = parse_yaml(&text).unwrap();
                prop_assert_eq!(to_json(&node), value.clone(), "{}", text);
            }
        }
    }
}
