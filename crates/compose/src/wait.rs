//! Honest waiting: "ready" is judged on this start of the container, every wait has a deadline,
//! a container that exits or restarts fails the wait at once, and a failed wait carries the last
//! probe output and the container's last log lines.

use std::time::{Duration, Instant};

use bollard::models::{ContainerStateStatusEnum, ExecConfig, HealthStatusEnum};
use bollard::query_parameters::LogsOptionsBuilder;
use futures_util::StreamExt;
use stack_config::compose::Healthcheck;
use stack_config::secret::Redactor;

use crate::plan::Readiness;
use crate::{Engine, Error, Result};

/// What to wait for on one container.
#[derive(Debug)]
pub(crate) struct Target<'a> {
    pub service: &'a str,
    pub container: &'a str,
    pub readiness: Readiness,
    pub healthcheck: Option<&'a Healthcheck>,
    pub deadline: Duration,
    pub redactor: &'a Redactor,
}

/// How a wait ended well.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Outcome {
    /// The exit code of a one-shot job.
    pub exit_code: Option<i64>,
}

const POLL: Duration = Duration::from_millis(200);
/// How often we run the healthcheck command ourselves while Docker's own interval is pending.
const PROBE_EVERY: Duration = Duration::from_millis(500);

impl Engine {
    pub(crate) async fn wait_ready(&self, t: &Target<'_>) -> Result<Outcome> {
        let started = Instant::now();
        let first = self.inspect(t.container).await?;
        let start_time = first.state.as_ref().and_then(|s| s.started_at.clone()).unwrap_or_default();
        let restarts = first.restart_count.unwrap_or(0);
        let mut last_probe: Option<String> = None;
        let mut last_exec = Instant::now() - PROBE_EVERY;
        loop {
            let info = self.inspect(t.container).await?;
            let state = info.state.clone().unwrap_or_default();
            let status = state.status.unwrap_or(ContainerStateStatusEnum::EMPTY);
            let exit_code = state.exit_code.unwrap_or_default();
            if info.restart_count.unwrap_or(0) > restarts || status == ContainerStateStatusEnum::RESTARTING {
                return Err(self
                    .wait_error(t, format!("restarted while we waited for it (exit code {exit_code}): it is crash-looping"), last_probe)
                    .await);
            }
            if matches!(status, ContainerStateStatusEnum::EXITED | ContainerStateStatusEnum::DEAD) {
                if t.readiness == Readiness::Completed {
                    if exit_code == 0 {
                        return Ok(Outcome { exit_code: Some(0) });
                    }
                    return Err(self.wait_error(t, format!("exited with code {exit_code}"), last_probe).await);
                }
                return Err(self
                    .wait_error(t, format!("exited with code {exit_code} while we waited for it to be {}", word(t.readiness)), last_probe)
                    .await);
            }
            if status == ContainerStateStatusEnum::RUNNING {
                match t.readiness {
                    Readiness::Running => return Ok(Outcome { exit_code: None }),
                    Readiness::Completed => {}
                    Readiness::Healthy => {
                        // Docker's own verdict counts only when its latest result is from after
                        // this start: a stale "healthy" from before a restart proves nothing.
                        if let Some(health) = &state.health {
                            let fresh = health
                                .log
                                .as_ref()
                                .and_then(|l| l.last())
                                .filter(|r| r.start.as_deref().is_some_and(|s| after(s, &start_time)));
                            if let Some(result) = fresh {
                                last_probe = result.output.clone().map(|o| o.trim().to_owned());
                                match health.status {
                                    Some(HealthStatusEnum::HEALTHY) => return Ok(Outcome { exit_code: None }),
                                    Some(HealthStatusEnum::UNHEALTHY) => {
                                        return Err(self
                                            .wait_error(t, "is unhealthy: its healthcheck failed every retry".to_owned(), last_probe)
                                            .await);
                                    }
                                    _ => {}
                                }
                            }
                        }
                        // Between Docker's checks, run the same probe ourselves, so readiness is
                        // seen when it happens, not at the next interval.
                        if let Some(test) = t.healthcheck.map(|h| h.test.as_slice()).filter(|t| !t.is_empty())
                            && last_exec.elapsed() >= PROBE_EVERY
                        {
                            last_exec = Instant::now();
                            let timeout = t.healthcheck.and_then(|h| h.timeout).unwrap_or(Duration::from_secs(10));
                            if let Some((code, output)) = self.probe(t.container, test, timeout).await? {
                                last_probe = Some(output);
                                if code == 0 {
                                    return Ok(Outcome { exit_code: None });
                                }
                            }
                        }
                    }
                }
            }
            if started.elapsed() >= t.deadline {
                let reason = format!("was not {} within {}s (deadline)", word(t.readiness), t.deadline.as_secs());
                return Err(self.wait_error(t, reason, last_probe).await);
            }
            tokio::time::sleep(POLL).await;
        }
    }

    pub(crate) async fn inspect(&self, container: &str) -> Result<bollard::models::ContainerInspectResponse> {
        self.docker()
            .inspect_container(container, None)
            .await
            .map_err(|e| Error::Api { operation: format!("inspect container {container}"), source: e })
    }

    /// Runs a healthcheck test (`CMD ...` or `CMD-SHELL ...`) in the container: exit code and
    /// output, or `None` for a test we cannot run (`NONE`).
    pub(crate) async fn probe(&self, container: &str, test: &[String], timeout: Duration) -> Result<Option<(i64, String)>> {
        let cmd: Vec<String> = match test.split_first() {
            Some((kind, rest)) if kind == "CMD" => rest.to_vec(),
            Some((kind, rest)) if kind == "CMD-SHELL" => vec!["/bin/sh".to_owned(), "-c".to_owned(), rest.join(" ")],
            _ => return Ok(None),
        };
        match tokio::time::timeout(timeout, self.exec(container, cmd)).await {
            Ok(Ok(r)) => Ok(Some(r)),
            Ok(Err(e)) => Ok(Some((-1, e.to_string()))),
            Err(_) => Ok(Some((-1, format!("probe timed out after {}s", timeout.as_secs())))),
        }
    }

    /// Runs `cmd` in a running container: its exit code and combined output.
    pub(crate) async fn exec(&self, container: &str, cmd: Vec<String>) -> Result<(i64, String)> {
        let op = |what: &str| format!("{what} in container {container}");
        let config = ExecConfig { cmd: Some(cmd), attach_stdout: Some(true), attach_stderr: Some(true), ..Default::default() };
        let exec =
            self.docker().create_exec(container, config).await.map_err(|e| Error::Api { operation: op("create exec"), source: e })?;
        let mut output = String::new();
        if let bollard::exec::StartExecResults::Attached { output: mut stream, .. } =
            self.docker().start_exec(&exec.id, None).await.map_err(|e| Error::Api { operation: op("start exec"), source: e })?
        {
            while let Some(Ok(chunk)) = stream.next().await {
                output.push_str(&String::from_utf8_lossy(&chunk.into_bytes()));
            }
        }
        let info = self.docker().inspect_exec(&exec.id).await.map_err(|e| Error::Api { operation: op("inspect exec"), source: e })?;
        Ok((info.exit_code.unwrap_or(-1), output.trim().to_owned()))
    }

    /// The last `lines` log lines of a container, stdout and stderr merged.
    pub async fn log_tail(&self, container: &str, lines: usize) -> String {
        let options = LogsOptionsBuilder::default().stdout(true).stderr(true).tail(&lines.to_string()).build();
        let mut stream = self.docker().logs(container, Some(options));
        let mut out = String::new();
        while let Some(Ok(chunk)) = stream.next().await {
            out.push_str(&String::from_utf8_lossy(&chunk.into_bytes()));
        }
        out.trim_end().to_owned()
    }

    async fn wait_error(&self, t: &Target<'_>, reason: String, last_probe: Option<String>) -> Error {
        let probe = match last_probe {
            Some(p) if !p.is_empty() => format!("\n--- last healthcheck output ---\n{}", t.redactor.redact(&p)),
            _ => String::new(),
        };
        let logs = t.redactor.redact(&self.log_tail(t.container, 20).await);
        let logs = if logs.is_empty() { "(no output)".to_owned() } else { logs };
        Error::Wait { service: t.service.to_owned(), container: t.container.to_owned(), reason, probe, logs }
    }
}

fn word(r: Readiness) -> &'static str {
    match r {
        Readiness::Running => "running",
        Readiness::Healthy => "healthy",
        Readiness::Completed => "completed",
    }
}

/// Whether RFC 3339 time `a` is at or after `b`. Docker writes both with nanoseconds, but the
/// health log may carry a zone offset where the state has `Z`, so compare parsed instants.
fn after(a: &str, b: &str) -> bool {
    match (parse_time(a), parse_time(b)) {
        (Some(a), Some(b)) => a >= b,
        _ => true,
    }
}

/// `(seconds since the epoch, nanoseconds)` of an RFC 3339 timestamp.
pub(crate) fn parse_time(text: &str) -> Option<(i64, u32)> {
    let (date, rest) = text.split_once('T')?;
    let mut d = date.split('-').map(|p| p.parse::<i64>());
    let (y, m, day) = (d.next()?.ok()?, d.next()?.ok()?, d.next()?.ok()?);
    let zone_at = rest.find(['Z', 'z', '+', '-']).unwrap_or(rest.len());
    let (clock, zone) = rest.split_at(zone_at);
    let (hms, frac) = clock.split_once('.').unwrap_or((clock, ""));
    let mut t = hms.split(':').map(|p| p.parse::<i64>());
    let (h, min, s) = (t.next()?.ok()?, t.next()?.ok()?, t.next()?.ok()?);
    let nanos: u32 = format!("{frac:0<9}").get(..9)?.parse().ok()?;
    let offset = match zone.chars().next() {
        Some(sign @ ('+' | '-')) => {
            let (zh, zm) = zone[1..].split_once(':')?;
            let secs = zh.parse::<i64>().ok()? * 3600 + zm.parse::<i64>().ok()? * 60;
            if sign == '+' { secs } else { -secs }
        }
        _ => 0,
    };
    // Days from civil date (Howard Hinnant's algorithm).
    let (y2, m2) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let doy = (153 * m2 + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some((days * 86_400 + h * 3600 + min * 60 + s - offset, nanos))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn times() {
        assert_eq!(parse_time("1970-01-01T00:00:00Z"), Some((0, 0)));
        assert_eq!(parse_time("2026-11-27T06:10:00.5Z").unwrap().1, 500_000_000);
        let z = parse_time("2026-11-27T06:10:00.123456789Z").unwrap();
        let off = parse_time("2026-11-27T07:10:00.123456789+01:00").unwrap();
        assert_eq!(z, off);
        assert!(after("2026-11-27T06:10:01Z", "2026-11-27T06:10:00.999Z"));
        assert!(!after("2026-11-27T06:09:59Z", "2026-11-27T06:10:00Z"));
        assert_eq!(parse_time("garbage"), None);
    }
}
