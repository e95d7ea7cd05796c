//! `diff`: each object's live state against a server-side dry-run apply of the rendered one
//! (what the API server would store, defaults and admission included), as `kubectl diff
//! --server-side` does; plus the objects a prune would delete. Secret values are masked.

use serde::Serialize;
use serde_json::Value;

use super::apply::{ApplyOptions, Outcome, prune_candidates};
use super::{FIELD_MANAGER, ObjectRef, Resolver, api_error, status_of};
use crate::error::{Error, Result};
use kube::api::{Patch, PatchParams};

/// Lines of context around each change.
const CONTEXT: usize = 3;

/// What an apply would do to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Change {
    Create,
    Update,
    /// A Job whose pod template changed: deleted and created again.
    Recreate,
    Prune,
}

impl Change {
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Create => "create",
            Change::Update => "update",
            Change::Recreate => "recreate",
            Change::Prune => "prune",
        }
    }
}

/// One changed object, with a unified diff of its YAML (`-` live, `+` after apply).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectDiff {
    pub object: ObjectRef,
    pub change: Change,
    pub diff: String,
}

/// The changes an apply of `objects` (from [`super::apply::prepare`]) would make; unchanged
/// objects are left out.
pub async fn diff(resolver: &mut Resolver, objects: &[Value], default_ns: &str, applyset: &str, prune: bool) -> Result<Vec<ObjectDiff>> {
    let mut out = Vec::new();
    // Preview only: take fields over from any manager, as the apply with --force-conflicts would.
    let params = PatchParams { dry_run: true, force: true, ..PatchParams::apply(FIELD_MANAGER) };
    let mut keep = Vec::new();
    for object in objects {
        let Some(r) = ObjectRef::of(object) else { continue };
        keep.push(r.clone());
        let (api, _, _) = resolver.api_for(&r, default_ns).await?;
        let live = api.get_opt(&r.name).await.map_err(|e| api_error("read", &r, e))?;
        let after = match api.patch(&r.name, &params, &Patch::Apply(object)).await {
            Ok(after) => after,
            Err(e) if r.kind == "Job" && status_of(&e).is_some_and(|(c, m)| c == 422 && m.contains("field is immutable")) => {
                out.push(ObjectDiff {
                    object: r,
                    change: Change::Recreate,
                    diff: "the pod template changed: the Job will be deleted and created again\n".to_owned(),
                });
                continue;
            }
            // The namespace does not exist yet (the dry run of its creation persists nothing):
            // the object will be created as rendered.
            Err(e) if live.is_none() && status_of(&e).is_some_and(|(c, m)| c == 404 && m.starts_with("namespaces ")) => {
                let text = to_lines(&normalize(object.clone(), None, r.kind == "Secret" && r.api_version == "v1", "after"));
                let diff = format!(
                    "# namespace not created yet: as rendered, before server defaults\n{}",
                    text.lines().map(|l| format!("+{l}\n")).collect::<String>()
                );
                out.push(ObjectDiff { object: r, change: Change::Create, diff });
                continue;
            }
            Err(e) => {
                return Err(match status_of(&e) {
                    Some((_, message)) => {
                        Error::Rejected { resource: format!("{r} ({})", r.api_version), message: message.to_owned(), help: None }
                    }
                    _ => api_error("dry-run apply", &r, e),
                });
            }
        };
        let after = serde_json::to_value(after).map_err(|e| api_error("read", &r, kube::Error::SerdeError(e)))?;
        let secret = r.kind == "Secret" && r.api_version == "v1";
        match live {
            None => {
                let text = to_lines(&normalize(after, None, secret, "after"));
                out.push(ObjectDiff { object: r, change: Change::Create, diff: text.lines().map(|l| format!("+{l}\n")).collect() });
            }
            Some(live) => {
                let live = serde_json::to_value(live).map_err(|e| api_error("read", &r, kube::Error::SerdeError(e)))?;
                let (before, after) =
                    (normalize(live.clone(), Some(&after), secret, "before"), normalize(after, Some(&live), secret, "after"));
                let text = unified(&to_lines(&before), &to_lines(&after));
                if !text.is_empty() {
                    out.push(ObjectDiff { object: r, change: Change::Update, diff: text });
                }
            }
        }
    }
    if prune {
        let options = ApplyOptions { applyset: applyset.to_owned(), force_conflicts: false, prune: true, dry_run: true };
        for pruned in prune_candidates(resolver, objects, &keep, default_ns, &options).await? {
            debug_assert_eq!(pruned.outcome, Outcome::Pruned);
            out.push(ObjectDiff {
                object: pruned.object,
                change: Change::Prune,
                diff: "the object left the overlay: it will be deleted\n".to_owned(),
            });
        }
    }
    Ok(out)
}

/// Drops what the server maintains (managed fields, versions, status, timestamps); masks a
/// Secret's values (`***`, or `*** (before)` / `*** (after)` where they differ from `other`).
fn normalize(mut object: Value, other: Option<&Value>, secret: bool, side: &str) -> Value {
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        for key in ["managedFields", "resourceVersion", "generation", "creationTimestamp", "uid", "selfLink"] {
            meta.remove(key);
        }
    }
    if let Some(map) = object.as_object_mut() {
        map.remove("status");
    }
    if secret {
        // Values also hide in kubectl's last-applied annotation and in stringData.
        if let Some(v) = object.pointer_mut("/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration") {
            *v = Value::String("***".to_owned());
        }
        if let Some(data) = object.get_mut("stringData").and_then(Value::as_object_mut) {
            for value in data.values_mut() {
                *value = Value::String("***".to_owned());
            }
        }
        let other_data = other.and_then(|o| o.get("data")).cloned();
        if let Some(data) = object.get_mut("data").and_then(Value::as_object_mut) {
            for (key, value) in data.iter_mut() {
                let same = other_data.as_ref().and_then(|d| d.get(key)) == Some(value);
                *value = Value::String(if same || other.is_none() { "***".to_owned() } else { format!("*** ({side})") });
            }
        }
    }
    object
}

fn to_lines(object: &Value) -> String {
    crate::render::to_yaml(std::slice::from_ref(object))
}

/// A unified diff (no headers) of two texts, `CONTEXT` lines around each change; empty when
/// they are equal.
pub fn unified(before: &str, after: &str) -> String {
    let a: Vec<&str> = before.lines().collect();
    let b: Vec<&str> = after.lines().collect();
    // Longest common subsequence table, from the end.
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] { lcs[i + 1][j + 1] + 1 } else { lcs[i + 1][j].max(lcs[i][j + 1]) };
        }
    }
    let mut ops: Vec<(char, &str)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            ops.push((' ', a[i]));
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            // Removals before additions, as `diff -u` prints them.
            ops.push(('-', a[i]));
            i += 1;
        } else {
            ops.push(('+', b[j]));
            j += 1;
        }
    }
    let changed: Vec<usize> = ops.iter().enumerate().filter(|(_, (op, _))| *op != ' ').map(|(k, _)| k).collect();
    if changed.is_empty() {
        return String::new();
    }
    let mut out = String::new();
    let mut last_printed: Option<usize> = None;
    for (k, (op, line)) in ops.iter().enumerate() {
        let near = changed.iter().any(|&c| c.abs_diff(k) <= CONTEXT);
        if !near {
            continue;
        }
        if last_printed.is_some_and(|l| l + 1 != k) || (last_printed.is_none() && k > 0) {
            out.push_str("@@\n");
        }
        out.push_str(&format!("{op}{line}\n"));
        last_printed = Some(k);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_texts_have_no_diff() {
        assert_eq!(unified("a\nb\n", "a\nb\n"), "");
    }

    #[test]
    fn changes_come_with_context() {
        let before = "1\n2\n3\n4\n5\n6\n7\n8\n9\n";
        let after = "1\n2\n3\n4\nfive\n6\n7\n8\n9\n";
        assert_eq!(unified(before, after), "@@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n");
    }

    #[test]
    fn secrets_are_masked_and_marked_where_they_differ() {
        let live = serde_json::json!({"kind": "Secret", "metadata": {"resourceVersion": "1"}, "data": {"A": "YQ==", "B": "Yg=="}});
        let after = serde_json::json!({"kind": "Secret", "metadata": {"resourceVersion": "1"}, "data": {"A": "YQ==", "B": "Yw=="}});
        let before = normalize(live.clone(), Some(&after), true, "before");
        let after = normalize(after, Some(&live), true, "after");
        assert_eq!(before["data"]["A"], "***");
        assert_eq!(after["data"]["A"], "***");
        assert_eq!((before["data"]["B"].as_str(), after["data"]["B"].as_str()), (Some("*** (before)"), Some("*** (after)")));
        let text = format!("{before}{after}");
        assert!(!text.contains("Yg==") && !text.contains("Yw=="), "{text}");
    }
}
