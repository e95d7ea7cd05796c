//! What a run of checks found: per check status, attempts, latency and last error; a human
//! table (`Display`) and JSON (`Serialize`, camelCase).

use std::fmt;

use serde::Serialize;

/// Whether a check passed within its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Status {
    Pass,
    Fail,
    /// What it checks was never started in this environment (no container of the service):
    /// reported, not probed, and not a failure.
    NotDeployed,
}

/// The outcome of one check. Every text in it is redacted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckReport {
    pub name: String,
    /// What was probed, e.g. `redis redis://:******@127.0.0.1:6379`.
    pub target: String,
    pub status: Status,
    pub attempts: u32,
    /// Duration of the passing attempt, or of the last one.
    pub latency_ms: u64,
    /// From the first attempt to the verdict.
    pub elapsed_ms: u64,
    /// The error of the last failed attempt (kept when a later attempt passed).
    pub last_error: Option<String>,
    /// What the passing attempt saw (`PONG`, `200 OK`, ...).
    pub detail: Option<String>,
}

impl CheckReport {
    /// The report of a check whose service is not deployed: not probed.
    pub fn not_deployed(check: &crate::Check, why: &str) -> CheckReport {
        CheckReport {
            name: check.name.clone(),
            target: check.target.describe(),
            status: Status::NotDeployed,
            attempts: 0,
            latency_ms: 0,
            elapsed_ms: 0,
            last_error: None,
            detail: Some(why.to_owned()),
        }
    }
}

/// The outcome of several checks; `ok` when none failed (a check that is not deployed is no
/// failure).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub checks: Vec<CheckReport>,
    pub ok: bool,
}

impl Report {
    pub fn new(checks: Vec<CheckReport>) -> Report {
        let ok = checks.iter().all(|check| check.status != Status::Fail);
        Report { checks, ok }
    }

    /// The checks that failed.
    pub fn failures(&self) -> impl Iterator<Item = &CheckReport> {
        self.checks.iter().filter(|check| check.status == Status::Fail)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Pass => "pass",
            Status::Fail => "FAIL",
            Status::NotDeployed => "not deployed",
        })
    }
}

impl fmt::Display for Report {
    /// A table: `NAME STATUS ATTEMPTS LATENCY TARGET`, and under each failed check its last
    /// error, indented.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rows: Vec<[String; 5]> = self
            .checks
            .iter()
            .map(|c| [c.name.clone(), c.status.to_string(), c.attempts.to_string(), format!("{} ms", c.latency_ms), c.target.clone()])
            .collect();
        let header = ["NAME", "STATUS", "ATTEMPTS", "LATENCY", "TARGET"].map(str::to_owned);
        let mut widths = header.clone().map(|h| h.chars().count());
        for row in &rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        write_row(f, &header, &widths)?;
        for (row, check) in rows.iter().zip(&self.checks) {
            write_row(f, row, &widths)?;
            match check.status {
                Status::Fail => writeln!(f, "  error: {}", check.last_error.as_deref().unwrap_or("no attempt finished"))?,
                Status::NotDeployed => writeln!(f, "  note: {}", check.detail.as_deref().unwrap_or("not deployed"))?,
                Status::Pass => {}
            }
        }
        Ok(())
    }
}

fn write_row(f: &mut fmt::Formatter<'_>, cells: &[String; 5], widths: &[usize; 5]) -> fmt::Result {
    let mut line = String::new();
    for (i, (cell, width)) in cells.iter().zip(widths).enumerate() {
        if i + 1 == cells.len() {
            line.push_str(cell);
        } else {
            line.push_str(&format!("{cell:<width$}  "));
        }
    }
    writeln!(f, "{}", line.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> Report {
        Report::new(vec![
            CheckReport {
                name: "redis".to_owned(),
                target: "redis redis://:******@127.0.0.1:6379".to_owned(),
                status: Status::Pass,
                attempts: 1,
                latency_ms: 3,
                elapsed_ms: 3,
                last_error: None,
                detail: Some("PONG".to_owned()),
            },
            CheckReport {
                name: "mongodb".to_owned(),
                target: "mongodb mongodb://127.0.0.1:1".to_owned(),
                status: Status::Fail,
                attempts: 12,
                latency_ms: 1500,
                elapsed_ms: 30000,
                last_error: Some("mongodb at 127.0.0.1:1: ping failed: connection refused".to_owned()),
                detail: None,
            },
        ])
    }

    #[test]
    fn table() {
        let expected = "\
NAME     STATUS  ATTEMPTS  LATENCY  TARGET
redis    pass    1         3 ms     redis redis://:******@127.0.0.1:6379
mongodb  FAIL    12        1500 ms  mongodb mongodb://127.0.0.1:1
  error: mongodb at 127.0.0.1:1: ping failed: connection refused
";
        assert_eq!(report().to_string(), expected);
    }

    #[test]
    fn not_deployed_is_reported_and_no_failure() {
        let check = crate::Check::new("srvthreds-engine", crate::Target::Tcp { host: "127.0.0.1".to_owned(), port: 3001 });
        let mut checks = report().checks;
        checks.retain(|c| c.status == Status::Pass);
        checks.push(CheckReport::not_deployed(&check, "no container of service srvthreds-engine"));
        let report = Report::new(checks);
        assert!(report.ok);
        assert_eq!(report.failures().count(), 0);
        let json = serde_json::to_value(&report).unwrap_or_default();
        assert_eq!(json["checks"][1]["status"], "notDeployed");
        assert_eq!(json["checks"][1]["attempts"], 0);
        let text = report.to_string();
        assert!(text.contains("srvthreds-engine  not deployed  0"), "{text}");
        assert!(text.contains("  note: no container of service srvthreds-engine"), "{text}");
    }

    #[test]
    fn json_is_camel_case() {
        let json = serde_json::to_value(report()).unwrap_or_default();
        assert_eq!(json["ok"], false);
        assert_eq!(json["checks"][0]["status"], "pass");
        assert_eq!(json["checks"][1]["status"], "fail");
        assert_eq!(json["checks"][1]["latencyMs"], 1500);
        assert_eq!(json["checks"][1]["elapsedMs"], 30000);
        assert_eq!(json["checks"][1]["lastError"], "mongodb at 127.0.0.1:1: ping failed: connection refused");
        assert_eq!(json["checks"][0]["detail"], "PONG");
    }
}
