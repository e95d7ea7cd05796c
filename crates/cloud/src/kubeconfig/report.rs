//! Writing a cluster's entry as one step with its [`Report`]: the kubeconfig file, the context,
//! what happened to the file, and the credential command, as JSON or as a line of text.

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

use super::{Entry, ExecPlugin, Outcome, write};
use crate::Result;

/// Where and how a cluster's entry goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update {
    /// The environment the cluster belongs to (named in the report).
    pub environment: String,
    /// The kubeconfig file.
    pub path: PathBuf,
    /// The context's name; `None` names it after the cluster's ARN.
    pub alias: Option<String>,
    /// The credential plugin of the entry's user.
    pub exec: ExecPlugin,
    /// Compute the entry and report, but write nothing.
    pub dry_run: bool,
}

/// What [`apply`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub environment: String,
    /// The cluster's name.
    pub cluster: String,
    /// The kubeconfig file.
    pub kubeconfig: String,
    pub context: String,
    /// `None` under a dry run.
    pub outcome: Option<Outcome>,
    pub dry_run: bool,
    /// The credential command line of the entry: which binary kubectl will run.
    pub credentials: String,
}

/// Writes `entry` (the entry of `cluster`, made from `update`'s alias and plugin) into
/// `update.path`, unless `update.dry_run`, and reports.
pub fn apply(update: &Update, cluster: &str, entry: &Entry) -> Result<Report> {
    let outcome = if update.dry_run { None } else { Some(write(&update.path, entry)?) };
    Ok(Report {
        environment: update.environment.clone(),
        cluster: cluster.to_owned(),
        kubeconfig: update.path.display().to_string(),
        context: entry.context.clone(),
        outcome,
        dry_run: update.dry_run,
        credentials: stack_process::shell_line(&std::iter::once(&entry.exec.command).chain(&entry.exec.args).collect::<Vec<_>>()),
    })
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.outcome {
            None => "would be written (dry run)",
            Some(Outcome::Created) => "created",
            Some(Outcome::Updated) => "updated",
            Some(Outcome::Unchanged) => "already up to date",
        };
        write!(
            f,
            "kubeconfig {}: context `{}` for cluster {} {what}; it is the current context\n  credentials: `{}`",
            self.kubeconfig, self.context, self.cluster, self.credentials
        )
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn update(path: PathBuf, dry_run: bool) -> Update {
        Update {
            environment: "dev".into(),
            path,
            alias: Some("dev".into()),
            exec: ExecPlugin {
                command: "/opt/bin/xtask".into(),
                args: vec!["cloud".into(), "token".into(), "--cluster".into(), "c".into()],
            },
            dry_run,
        }
    }

    fn entry(update: &Update) -> Entry {
        Entry {
            name: "arn:aws:eks:eu-west-1:1:cluster/c".into(),
            context: update.alias.clone().unwrap(),
            server: "https://e".into(),
            certificate_authority_data: "Q0E=".into(),
            exec: update.exec.clone(),
        }
    }

    #[test]
    fn a_dry_run_writes_nothing_and_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        let update = update(path.clone(), true);
        let report = apply(&update, "c", &entry(&update)).unwrap();
        assert!(!path.exists());
        assert_eq!((report.outcome, report.dry_run), (None, true));
        assert_eq!(
            report.to_string(),
            format!(
                "kubeconfig {}: context `dev` for cluster c would be written (dry run); it is the current context\n  credentials: `/opt/bin/xtask cloud token --cluster c`",
                path.display()
            )
        );
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"environment": "dev", "cluster": "c", "kubeconfig": path.display().to_string(), "context": "dev", "outcome": null, "dryRun": true, "credentials": "/opt/bin/xtask cloud token --cluster c"})
        );
    }

    #[test]
    fn a_write_reports_its_outcome() {
        let dir = tempfile::tempdir().unwrap();
        let update = update(dir.path().join("config"), false);
        let first = apply(&update, "c", &entry(&update)).unwrap();
        assert_eq!(first.outcome, Some(Outcome::Created));
        assert!(first.to_string().contains("for cluster c created;"), "{first}");
        let again = apply(&update, "c", &entry(&update)).unwrap();
        assert_eq!(again.outcome, Some(Outcome::Unchanged));
        assert!(again.to_string().contains("already up to date"), "{again}");
        assert_eq!(serde_json::to_value(&again).unwrap()["outcome"], "unchanged");
    }
}
