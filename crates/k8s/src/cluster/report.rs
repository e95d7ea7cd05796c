//! The human text of the session's reports and events (their JSON is their `Serialize`).

use std::fmt;

use super::diff::ObjectDiff;
use super::rollout::State;
use super::session::{ApplyReport, DeleteReport, Event, RollbackReport, ScaleReport, StatusReport};
use crate::error::Error;

/// A context for messages: its name, or `(none)`.
pub(crate) fn context_name(context: &Option<String>) -> &str {
    context.as_deref().unwrap_or("(none)")
}

impl fmt::Display for Event<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Applied(a) => {
                let note = if a.took_over.is_some() { " (took fields back from an earlier scale or rollback)" } else { "" };
                write!(f, "  {} {}{note}", a.object, a.outcome.as_str())
            }
            Event::Rollout(w, State::Progressing(why)) => write!(f, "  {w}: {why}"),
            Event::Rollout(w, State::Done(what)) => write!(f, "  {w}: rolled out ({what})"),
            Event::RolledBack(r) => write!(f, "  rolled back {} from revision {} to {}", r.workload, r.from, r.to),
        }
    }
}

/// The changes an apply would make, as `diff` reports them. Serialized as the list.
#[derive(Debug, serde::Serialize)]
#[serde(transparent)]
pub struct Diffs(pub Vec<ObjectDiff>);

impl fmt::Display for Diffs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text: Vec<String> = self.0.iter().map(|d| format!("--- {} ({})\n{}", d.object, d.change.as_str(), d.diff.trim_end())).collect();
        f.write_str(&text.join("\n"))
    }
}

impl ApplyReport {
    /// Takes the rollout failure out of the report, as an error that says what was applied and
    /// what was rolled back.
    pub fn failure(&mut self) -> Option<Error> {
        let source = self.error.take()?;
        let mut message = format!("apply of overlay {} did not roll out ({})", self.overlay, self.summary());
        if !self.rolled_back.is_empty() {
            let back: Vec<String> = self.rolled_back.iter().map(ToString::to_string).collect();
            message.push_str(&format!("\nrolled back: {}", back.join(", ")));
        }
        Some(Error::ApplyFailed { message, source: Box::new(source) })
    }
}

impl fmt::Display for ApplyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let context = context_name(&self.context);
        if let Some(changes) = &self.changes {
            for d in changes {
                writeln!(f, "--- {} ({})\n{}", d.object, d.change.as_str(), d.diff.trim_end())?;
            }
            let wait = match self.wait_secs {
                Some(t) => format!("would then wait for {} workloads (up to {t}s)", self.workloads.len()),
                None => "would not wait".to_owned(),
            };
            return write!(
                f,
                "dry run: apply of overlay {} on context {context} would make: {}; {wait}; nothing was changed",
                self.overlay,
                self.summary()
            );
        }
        let tail = if self.waited { "; every workload rolled out" } else { "; not waited for" };
        write!(f, "apply ok: overlay {} on context {context}: {}{tail}", self.overlay, self.summary())
    }
}

impl fmt::Display for StatusReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rows = vec![["WORKLOAD", "READY", "UP-TO-DATE", "AVAILABLE", "RESTARTS", "STATE", "IMAGES"].map(String::from).to_vec()];
        for r in &self.workloads {
            let name = super::rollout::Workload { kind: r.kind, namespace: self.namespace.clone(), name: r.name.clone() }.to_string();
            rows.push(vec![
                name,
                format!("{}/{}", r.ready, r.desired),
                r.updated.to_string(),
                r.available.to_string(),
                r.restarts.to_string(),
                r.state.clone(),
                r.images.join(","),
            ]);
        }
        write!(
            f,
            "context {} ({}), namespace {}, overlay {}\n{}",
            context_name(&self.context),
            self.server_version,
            self.namespace,
            self.overlay,
            stack_config::table::table(&rows).trim_end()
        )
    }
}

impl fmt::Display for ScaleReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (w, context) = (&self.workload, context_name(&self.context));
        if self.dry_run {
            write!(f, "dry run: would scale {w} from {} to {} replicas on context {context}; nothing was changed", self.from, self.to)
        } else {
            write!(f, "scaled {w} from {} to {} replicas (a later apply of the overlay sets its count again)", self.from, self.to)
        }
    }
}

impl fmt::Display for RollbackReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (w, context) = (&self.workload, context_name(&self.context));
        if self.from == self.to {
            write!(f, "{w} is already at revision {}", self.to)
        } else if self.dry_run {
            write!(
                f,
                "dry run: would roll back {w} from revision {} to the template of revision {} (images {}) on context {context}; nothing was changed",
                self.from,
                self.to,
                self.images.join(", ")
            )
        } else {
            write!(
                f,
                "rolled back {w} from revision {} to the template of revision {} (a later apply of the overlay applies its template again)",
                self.from, self.to
            )
        }
    }
}

impl fmt::Display for DeleteReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let context = context_name(&self.context);
        match (self.existed, self.dry_run) {
            (false, _) => write!(f, "namespace {} does not exist on context {context}: nothing to delete", self.namespace),
            (true, true) => write!(
                f,
                "dry run: would delete namespace {} on context {context}, with {} objects of the overlay in it ({}); nothing was changed",
                self.namespace,
                self.objects.len(),
                self.objects.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
            ),
            (true, false) => write!(f, "deleted namespace {} on context {context}", self.namespace),
        }
    }
}
