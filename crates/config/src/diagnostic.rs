//! Findings about config files: where (file, line, column, field path), what, and how to fix it.

use std::fmt;

use camino::{Utf8Path, Utf8PathBuf};
use serde::Serialize;

use crate::node::Location;

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing, nothing is wrong.
    Warning,
    /// The configuration cannot be used as it is.
    Error,
}

/// One finding about one place in one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub file: Utf8PathBuf,
    /// Absent when the finding is about the file as a whole (e.g. it does not exist).
    pub location: Option<Location>,
    /// Dotted field path inside the file, such as `services.redis.ports[0]`; empty for the root.
    pub field: String,
    pub message: String,
    /// What to do about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
}

/// An ordered collection of findings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Diagnostics(Vec<Diagnostic>);

impl Diagnostic {
    /// An error at `location` in `file`.
    pub fn error(file: &Utf8Path, location: Option<Location>, field: &str, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            file: file.to_owned(),
            location,
            field: field.to_owned(),
            message: message.into(),
            help: None,
        }
    }

    /// A warning at `location` in `file`.
    pub fn warning(file: &Utf8Path, location: Option<Location>, field: &str, message: impl Into<String>) -> Self {
        Diagnostic { severity: Severity::Warning, ..Diagnostic::error(file, location, field, message) }
    }

    /// Adds a fix suggestion.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Adds a fix suggestion when there is one.
    pub fn with_help_opt(mut self, help: Option<String>) -> Self {
        self.help = help;
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let severity = match self.severity {
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        write!(f, "{severity}: {}", self.file)?;
        if let Some(loc) = self.location {
            write!(f, ":{}:{}", loc.line, loc.column)?;
        }
        if !self.field.is_empty() {
            write!(f, ": `{}`", self.field)?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(help) = &self.help {
            write!(f, "\n  help: {help}")?;
        }
        Ok(())
    }
}

/// A finding is an error value of its own: it can be returned with `?` into any error type,
/// and its [`Display`](fmt::Display) is the whole report (file, position, field, help).
impl std::error::Error for Diagnostic {}

impl Diagnostics {
    /// No findings.
    pub fn new() -> Self {
        Diagnostics(Vec::new())
    }

    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.0.push(diagnostic);
    }

    pub fn extend(&mut self, other: Diagnostics) {
        self.0.extend(other.0);
    }

    /// Whether any finding is an error.
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(|d| d.severity == Severity::Error)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter()
    }

    /// Only the errors.
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter().filter(|d| d.severity == Severity::Error)
    }

    /// Only the warnings.
    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter().filter(|d| d.severity == Severity::Warning)
    }

    /// Sorted by file, then position, for stable output; duplicates removed.
    pub fn sorted(mut self) -> Self {
        self.0.sort_by(|a, b| (&a.file, a.location, &a.field, &a.message).cmp(&(&b.file, b.location, &b.field, &b.message)));
        self.0.dedup();
        self
    }

    /// `Ok(value)` when there is no error, otherwise the whole set as an error.
    pub fn into_result<T>(self, value: T) -> crate::Result<(T, Diagnostics)> {
        if self.has_errors() { Err(crate::Error::Invalid(self)) } else { Ok((value, self)) }
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let errors = self.errors().count();
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        if errors > 1 {
            write!(f, "\n{errors} errors in the configuration")?;
        }
        Ok(())
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl From<Diagnostic> for Diagnostics {
    fn from(d: Diagnostic) -> Self {
        Diagnostics(vec![d])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unknown_service() -> Diagnostic {
        let location = Location { line: 3, column: 5 };
        Diagnostic::error(Utf8Path::new("compose.yaml"), Some(location), "services.web.depends_on[0]", "unknown service `db`")
            .with_help("did you mean `dbs`?")
    }

    #[test]
    fn display_names_file_position_field_message_and_help() {
        assert_eq!(
            unknown_service().to_string(),
            "error: compose.yaml:3:5: `services.web.depends_on[0]`: unknown service `db`\n  help: did you mean `dbs`?"
        );
        let whole_file = Diagnostic::warning(Utf8Path::new("a.env"), None, "", "no such file");
        assert_eq!(whole_file.to_string(), "warning: a.env: no such file");
    }

    #[test]
    fn is_an_error_that_question_mark_boxes() {
        fn check() -> Result<(), Diagnostic> {
            Err(unknown_service())
        }
        fn fails() -> Result<(), Box<dyn std::error::Error>> {
            check()?;
            Ok(())
        }
        let error = fails().expect_err("the diagnostic is returned");
        assert_eq!(error.to_string(), unknown_service().to_string());
        assert!(error.source().is_none());
        assert_eq!(error.downcast_ref::<Diagnostic>(), Some(&unknown_service()));
    }
}

/// The result of a whole-tree check (`config check`, `cloud lint`): every finding with the
/// counts. JSON: `{ok, infra, errors, warnings, diagnostics}`; text: one line per finding, then
/// `<what> ok|FAILED: <infra> (N errors, M warnings)`.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    pub ok: bool,
    /// What was checked.
    pub infra: String,
    pub errors: usize,
    pub warnings: usize,
    pub diagnostics: Diagnostics,
    /// The check's name in the summary line (`config check`).
    #[serde(skip)]
    pub what: String,
}

impl CheckReport {
    pub fn new(what: &str, infra: &str, diagnostics: Diagnostics) -> CheckReport {
        let (errors, warnings) = (diagnostics.errors().count(), diagnostics.warnings().count());
        CheckReport { ok: errors == 0, infra: infra.to_owned(), errors, warnings, diagnostics, what: what.to_owned() }
    }
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in self.diagnostics.iter() {
            writeln!(f, "{d}")?;
        }
        let verdict = if self.ok { "ok" } else { "FAILED" };
        write!(f, "{} {verdict}: {} ({} errors, {} warnings)", self.what, self.infra, self.errors, self.warnings)
    }
}
