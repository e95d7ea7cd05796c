//! Helpers that turn a spanned [`Node`] tree into typed values, recording precise diagnostics.

use camino::Utf8Path;

use crate::node::{Location, Node, Value};
use crate::{Diagnostic, Diagnostics, suggest};

/// Decoding context of one file: where findings go and which file they name.
pub(crate) struct Ctx<'a> {
    pub file: &'a Utf8Path,
    pub diags: &'a mut Diagnostics,
}

/// `parent.key`, or `key` at the root.
pub(crate) fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() { key.to_owned() } else { format!("{parent}.{key}") }
}

/// `parent[index]`.
pub(crate) fn index(parent: &str, i: usize) -> String {
    format!("{parent}[{i}]")
}

/// What kind of value the user wrote, for "expected X, found Y".
pub(crate) fn found(node: &Node) -> String {
    match &node.value {
        Value::Scalar(s) if s.text.is_empty() => "an empty string".to_owned(),
        _ => node.kind().to_owned(),
    }
}

impl Ctx<'_> {
    pub fn error(&mut self, at: Location, field: &str, message: impl Into<String>) {
        self.diags.push(Diagnostic::error(self.file, Some(at), field, message));
    }

    pub fn error_help(&mut self, at: Location, field: &str, message: impl Into<String>, help: Option<String>) {
        self.diags.push(Diagnostic::error(self.file, Some(at), field, message).with_help_opt(help));
    }

    pub fn warning(&mut self, at: Location, field: &str, message: impl Into<String>, help: Option<String>) {
        self.diags.push(Diagnostic::warning(self.file, Some(at), field, message).with_help_opt(help));
    }

    fn expected(&mut self, node: &Node, field: &str, what: &str) {
        self.error(node.location, field, format!("expected {what}, found {}", found(node)));
    }

    /// The entries of a mapping, or an error.
    pub fn map<'n>(&mut self, node: &'n Node, field: &str) -> Option<&'n [(Node, Node)]> {
        match node.entries() {
            Some(e) => Some(e),
            None => {
                self.expected(node, field, "a mapping");
                None
            }
        }
    }

    /// The items of a list, or an error.
    pub fn list<'n>(&mut self, node: &'n Node, field: &str) -> Option<&'n [Node]> {
        match node.items() {
            Some(e) => Some(e),
            None => {
                self.expected(node, field, "a list");
                None
            }
        }
    }

    /// The text of a scalar (strings, numbers and booleans all have one), or an error.
    pub fn string(&mut self, node: &Node, field: &str) -> Option<String> {
        match node.as_scalar() {
            Some(s) => Some(s.text.clone()),
            None => {
                self.expected(node, field, "a string");
                None
            }
        }
    }

    /// Like [`Ctx::string`] but rejects the empty string.
    pub fn non_empty(&mut self, node: &Node, field: &str) -> Option<String> {
        let s = self.string(node, field)?;
        if s.trim().is_empty() {
            self.error(node.location, field, "must not be empty");
            return None;
        }
        Some(s)
    }

    /// A list of strings.
    pub fn strings(&mut self, node: &Node, field: &str) -> Option<Vec<String>> {
        let items = self.list(node, field)?;
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            out.push(self.string(item, &index(field, i))?);
        }
        Some(out)
    }

    /// One string or a list of strings.
    pub fn string_or_list(&mut self, node: &Node, field: &str) -> Option<Vec<String>> {
        if node.as_scalar().is_some() {
            return self.string(node, field).map(|s| vec![s]);
        }
        if node.items().is_some() {
            return self.strings(node, field);
        }
        self.expected(node, field, "a string or a list of strings");
        None
    }

    pub fn bool(&mut self, node: &Node, field: &str) -> Option<bool> {
        let b = node.as_bool();
        if b.is_none() {
            self.expected(node, field, "`true` or `false`");
        }
        b
    }

    pub fn u64(&mut self, node: &Node, field: &str) -> Option<u64> {
        match node.as_i64().or_else(|| node.as_str().and_then(|s| s.trim().parse().ok())) {
            Some(n) if n >= 0 => Some(n as u64),
            _ => {
                self.expected(node, field, "a non-negative whole number");
                None
            }
        }
    }

    pub fn f64(&mut self, node: &Node, field: &str) -> Option<f64> {
        match node.as_f64().or_else(|| node.as_str().and_then(|s| s.trim().parse().ok())) {
            Some(n) if n.is_finite() => Some(n),
            _ => {
                self.expected(node, field, "a number");
                None
            }
        }
    }

    /// Reports keys outside `known`. `x-` extension keys are always allowed. Unknown keys are
    /// errors when `strict` (our own formats), warnings otherwise (compose: never a silent drop).
    pub fn check_keys(&mut self, entries: &[(Node, Node)], field: &str, known: &[&str], strict: bool) {
        for (key, _) in entries {
            let name = key.as_str().unwrap_or_default();
            if known.contains(&name) || name.starts_with("x-") {
                continue;
            }
            let help = suggest::closest(name, known.iter().copied()).map(|s| format!("did you mean `{s}`?"));
            let path = join(field, name);
            if strict {
                self.error_help(
                    key.location,
                    &path,
                    format!("unknown field `{name}`"),
                    help.or_else(|| Some(format!("known fields: {}", known.join(", ")))),
                );
            } else {
                let help = help.or_else(|| Some("remove it, or run it with Docker Compose; this toolkit does not apply it".to_owned()));
                self.warning(key.location, &path, format!("unsupported key `{name}` is ignored"), help);
            }
        }
    }
}
