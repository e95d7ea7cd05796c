//! The retry policy: attempts under an overall deadline with a per-attempt timeout and
//! jittered exponential backoff; many checks at once.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use futures_util::future::{BoxFuture, join_all};
use tokio::time::Instant;

use crate::error::{Error, Result};
use crate::probe::{millis, probe_once};
use crate::report::{CheckReport, Report, Status};
use crate::target::{Check, Target};

/// How long and how often a check is retried.
///
/// Attempt `n` (from 1) that fails is followed by a pause of
/// `initial_interval * backoff_factor^(n-1)`, varied by ±`jitter` (a fraction, 0 to 1) and
/// capped at `max_interval`. No pause and no attempt runs past `deadline`, counted from the
/// first attempt: the last attempt's timeout is cut to the time that remains, and a check that
/// keeps failing reports exactly at its deadline.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    pub deadline: Duration,
    pub attempt_timeout: Duration,
    pub initial_interval: Duration,
    pub backoff_factor: f64,
    pub max_interval: Duration,
    pub jitter: f64,
}

/// Runs one probe attempt. [`Live`] probes for real; tests pass fakes.
pub trait Prober: Sync {
    fn probe<'a>(&'a self, target: &'a Target, attempt_timeout: Duration) -> BoxFuture<'a, Result<String>>;
}

/// The real probes: [`probe_once`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Live;

/// Runs `check` under `policy` until it passes or the deadline is reached.
pub async fn run(check: &Check, policy: &RetryPolicy) -> CheckReport {
    run_with(check, policy, &Live).await
}

/// Runs every check concurrently under `policy`; the report keeps their order.
pub async fn run_all(checks: &[Check], policy: &RetryPolicy) -> Report {
    run_all_with(checks, policy, &Live).await
}

/// [`run_all`] with another prober.
pub async fn run_all_with(checks: &[Check], policy: &RetryPolicy, prober: &dyn Prober) -> Report {
    Report::new(join_all(checks.iter().map(|check| run_with(check, policy, prober))).await)
}

/// [`run`] with another prober.
pub async fn run_with(check: &Check, policy: &RetryPolicy, prober: &dyn Prober) -> CheckReport {
    let redactor = check.target.redactor();
    let started = Instant::now();
    // A deadline too far to represent means "no deadline" in practice: a year.
    let deadline = started.checked_add(policy.deadline).unwrap_or_else(|| started + Duration::from_secs(365 * 24 * 60 * 60));
    let mut schedule = Schedule::new(policy);
    let mut attempts = 0;
    let mut latency_ms;
    let mut last_error = None;
    loop {
        let budget = policy.attempt_timeout.min(deadline.saturating_duration_since(Instant::now()));
        attempts += 1;
        let began = Instant::now();
        let outcome = match tokio::time::timeout(budget, prober.probe(&check.target, budget)).await {
            Ok(outcome) => outcome,
            // The live prober times out by itself and names the step; this covers any prober.
            Err(_) => Err(Error::TimedOut { target: check.target.subject(), step: "attempt".to_owned(), after_ms: millis(budget) }),
        };
        latency_ms = millis(began.elapsed());
        let error = match outcome {
            Ok(detail) => {
                tracing::debug!(check = %check.name, attempts, latency_ms, "check passed");
                return CheckReport {
                    name: check.name.clone(),
                    target: check.target.describe(),
                    status: Status::Pass,
                    attempts,
                    latency_ms,
                    elapsed_ms: millis(started.elapsed()),
                    last_error,
                    detail: Some(redactor.redact(&detail)),
                };
            }
            Err(error) => error,
        };
        let message = redactor.redact(&error.to_string());
        tracing::debug!(check = %check.name, attempt = attempts, error = %message, "attempt failed");
        last_error = Some(message);
        let remaining = deadline.saturating_duration_since(Instant::now());
        if error.is_permanent() || remaining.is_zero() {
            break;
        }
        tokio::time::sleep(schedule.next_pause().min(remaining)).await;
        if Instant::now() >= deadline {
            break;
        }
    }
    tracing::debug!(check = %check.name, attempts, "check failed");
    CheckReport {
        name: check.name.clone(),
        target: check.target.describe(),
        status: Status::Fail,
        attempts,
        latency_ms,
        elapsed_ms: millis(started.elapsed()),
        last_error,
        detail: None,
    }
}

impl Default for RetryPolicy {
    /// 30 s overall, 3 s per attempt, pauses from 250 ms doubling up to 2 s, ±20 % jitter.
    fn default() -> Self {
        RetryPolicy {
            deadline: Duration::from_secs(30),
            attempt_timeout: Duration::from_secs(3),
            initial_interval: Duration::from_millis(250),
            backoff_factor: 2.0,
            max_interval: Duration::from_secs(2),
            jitter: 0.2,
        }
    }
}

impl Prober for Live {
    fn probe<'a>(&'a self, target: &'a Target, attempt_timeout: Duration) -> BoxFuture<'a, Result<String>> {
        Box::pin(probe_once(target, attempt_timeout))
    }
}

/// The pauses between attempts.
struct Schedule {
    /// The next pause before jitter, in seconds.
    base: f64,
    factor: f64,
    max: f64,
    jitter: f64,
    rng: u64,
}

impl Schedule {
    fn new(policy: &RetryPolicy) -> Schedule {
        let max = policy.max_interval.as_secs_f64();
        // Out-of-range settings are clamped rather than refused: a factor below 1 (or NaN) means
        // constant pauses, a jitter outside 0..=1 is pulled into it.
        let factor = if policy.backoff_factor >= 1.0 { policy.backoff_factor } else { 1.0 };
        let jitter = if policy.jitter.is_nan() { 0.0 } else { policy.jitter.clamp(0.0, 1.0) };
        // Seeded per schedule from the process's random hash keys, so that checks started
        // together do not retry in lockstep. Jitter needs spread, not cryptographic quality.
        let rng = RandomState::new().build_hasher().finish() | 1;
        Schedule { base: policy.initial_interval.as_secs_f64().min(max), factor, max, jitter, rng }
    }

    fn next_pause(&mut self) -> Duration {
        let spread = self.jitter * self.next_unit();
        let seconds = (self.base * (1.0 + spread)).clamp(0.0, self.max);
        self.base = (self.base * self.factor).min(self.max);
        Duration::try_from_secs_f64(seconds).unwrap_or(Duration::ZERO)
    }

    /// A uniform value in `[-1, 1)` (xorshift64*).
    fn next_unit(&mut self) -> f64 {
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        let bits = self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11;
        // 53 random bits make an exact f64 in [0, 1).
        #[allow(clippy::cast_precision_loss, reason = "53 bits fit an f64 mantissa exactly")]
        let unit = bits as f64 / (1u64 << 53) as f64;
        unit * 2.0 - 1.0
    }
}

#[cfg(test)]
#[path = "policy_tests.rs"]
mod tests;
