//! Unit tests of the retry policy on a paused tokio clock, with fake probers.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use super::*;

/// What a fake probe does on each attempt.
#[derive(Clone, Copy)]
enum Behaviour {
    /// Fails at once.
    FailFast,
    /// Never answers.
    Hang,
    /// Fails this many times, then passes.
    PassAfter(u32),
    /// Takes this long, then passes.
    PassAfterDelay(Duration),
    /// Fails with a message that quotes the password.
    LeakPassword,
}

struct Fake {
    behaviour: Behaviour,
    /// When each attempt started, and with which timeout.
    calls: Mutex<Vec<(Instant, Duration)>>,
}

impl Fake {
    fn new(behaviour: Behaviour) -> Fake {
        Fake { behaviour, calls: Mutex::new(Vec::new()) }
    }

    fn calls(&self) -> Vec<(Instant, Duration)> {
        self.calls.lock().expect("calls").clone()
    }

    /// Start of each attempt relative to the first one.
    fn offsets(&self) -> Vec<Duration> {
        let calls = self.calls();
        let first = calls.first().map(|(at, _)| *at).expect("at least one attempt");
        calls.iter().map(|(at, _)| *at - first).collect()
    }
}

impl Prober for Fake {
    fn probe<'a>(&'a self, target: &'a Target, attempt_timeout: Duration) -> BoxFuture<'a, Result<String>> {
        Box::pin(async move {
            let attempt = {
                let mut calls = self.calls.lock().expect("calls");
                calls.push((Instant::now(), attempt_timeout));
                u32::try_from(calls.len()).expect("few attempts")
            };
            let fail = |message: &str| Error::Step { target: target.subject(), step: "PING".to_owned(), message: message.to_owned() };
            match self.behaviour {
                Behaviour::FailFast => Err(fail("connection refused")),
                Behaviour::Hang => std::future::pending().await,
                Behaviour::PassAfter(failures) if attempt <= failures => Err(fail("connection refused")),
                Behaviour::PassAfter(_) => Ok("PONG".to_owned()),
                Behaviour::PassAfterDelay(delay) => {
                    tokio::time::sleep(delay).await;
                    Ok("PONG".to_owned())
                }
                Behaviour::LeakPassword => Err(fail("AUTH hunter2-secret rejected, url redis://:hunter2-secret@h:1")),
            }
        })
    }
}

fn redis() -> Check {
    Check::new("redis", Target::Redis { url: "redis://:hunter2-secret@127.0.0.1:6379".to_owned() })
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

/// No jitter: pauses 1, 2, 4, 4, ... s; 10 s overall; 5 s per attempt.
fn policy() -> RetryPolicy {
    RetryPolicy {
        deadline: secs(10.0),
        attempt_timeout: secs(5.0),
        initial_interval: secs(1.0),
        backoff_factor: 2.0,
        max_interval: secs(4.0),
        jitter: 0.0,
    }
}

#[tokio::test(start_paused = true)]
async fn passes_at_once() {
    let fake = Fake::new(Behaviour::PassAfter(0));
    let report = run_with(&redis(), &policy(), &fake).await;
    assert_eq!((report.status, report.attempts, report.elapsed_ms, report.detail.as_deref()), (Status::Pass, 1, 0, Some("PONG")));
    assert_eq!(report.last_error, None);
}

#[tokio::test(start_paused = true)]
async fn retries_with_backoff_until_it_passes() {
    let fake = Fake::new(Behaviour::PassAfter(3));
    let report = run_with(&redis(), &policy(), &fake).await;
    assert_eq!((report.status, report.attempts), (Status::Pass, 4));
    // Pauses 1, 2, 4 s after the three failures.
    assert_eq!(fake.offsets(), [secs(0.0), secs(1.0), secs(3.0), secs(7.0)]);
    assert_eq!(report.elapsed_ms, 7000);
    // The failure before the pass is kept, redacted.
    let last = report.last_error.expect("the last failure is kept");
    assert!(last.contains("connection refused") && !last.contains("hunter2"), "{last}");
}

#[tokio::test(start_paused = true)]
async fn pauses_are_capped_at_max_interval() {
    let policy = RetryPolicy { deadline: secs(60.0), backoff_factor: 3.0, max_interval: secs(5.0), ..policy() };
    let fake = Fake::new(Behaviour::PassAfter(6));
    run_with(&redis(), &policy, &fake).await;
    let offsets = fake.offsets();
    let pauses: Vec<Duration> = offsets.windows(2).map(|w| w[1] - w[0]).collect();
    // 1, 3, then 9 capped to 5.
    assert_eq!(pauses, [secs(1.0), secs(3.0), secs(5.0), secs(5.0), secs(5.0), secs(5.0)]);
}

#[tokio::test(start_paused = true)]
async fn deadline_is_respected_exactly() {
    let fake = Fake::new(Behaviour::FailFast);
    let report = run_with(&redis(), &policy(), &fake).await;
    // Attempts at 0, 1, 3 and 7 s; the next pause (4 s) is cut to the 3 s that remain, after
    // which no attempt fits.
    assert_eq!(fake.offsets(), [secs(0.0), secs(1.0), secs(3.0), secs(7.0)]);
    assert_eq!((report.status, report.attempts, report.elapsed_ms), (Status::Fail, 4, 10_000));
    assert!(report.last_error.is_some_and(|e| e.contains("PING failed: connection refused")));
}

#[tokio::test(start_paused = true)]
async fn attempt_timeout_cuts_a_hanging_probe_and_the_last_one_gets_what_remains() {
    let policy = RetryPolicy { deadline: secs(4.5), attempt_timeout: secs(2.0), initial_interval: secs(0.5), ..policy() };
    let fake = Fake::new(Behaviour::Hang);
    let report = run_with(&redis(), &policy, &fake).await;
    // 0-2 s timed out, pause 0.5 s, 2.5-4.5 s cut to the 2 s that remain.
    let calls = fake.calls();
    assert_eq!(calls.iter().map(|(_, timeout)| *timeout).collect::<Vec<_>>(), [secs(2.0), secs(2.0)]);
    assert_eq!((report.status, report.attempts, report.elapsed_ms, report.latency_ms), (Status::Fail, 2, 4500, 2000));
    assert_eq!(report.last_error.as_deref(), Some("redis at 127.0.0.1:6379: attempt timed out after 2000 ms"));

    let policy = RetryPolicy { deadline: secs(3.5), ..policy };
    let fake = Fake::new(Behaviour::Hang);
    let report = run_with(&redis(), &policy, &fake).await;
    assert_eq!(fake.calls().iter().map(|(_, timeout)| *timeout).collect::<Vec<_>>(), [secs(2.0), secs(1.0)]);
    assert_eq!((report.attempts, report.elapsed_ms, report.latency_ms), (2, 3500, 1000));
}

#[tokio::test(start_paused = true)]
async fn a_slow_pass_within_the_timeout_reports_its_latency() {
    let fake = Fake::new(Behaviour::PassAfterDelay(secs(1.25)));
    let report = run_with(&redis(), &policy(), &fake).await;
    assert_eq!((report.status, report.attempts, report.latency_ms), (Status::Pass, 1, 1250));
}

#[tokio::test(start_paused = true)]
async fn jitter_stays_within_bounds() {
    let policy = RetryPolicy {
        deadline: secs(1000.0),
        initial_interval: secs(1.0),
        backoff_factor: 1.0,
        max_interval: secs(10.0),
        jitter: 0.5,
        ..policy()
    };
    let fake = Fake::new(Behaviour::PassAfter(200));
    run_with(&redis(), &policy, &fake).await;
    let offsets = fake.offsets();
    let pauses: Vec<Duration> = offsets.windows(2).map(|w| w[1] - w[0]).collect();
    assert_eq!(pauses.len(), 200);
    assert!(pauses.iter().all(|p| (secs(0.5)..=secs(1.5)).contains(p)), "{pauses:?}");
    // It does vary, on both sides of the base interval.
    assert!(pauses.iter().any(|p| *p < secs(0.9)) && pauses.iter().any(|p| *p > secs(1.1)), "{pauses:?}");
}

#[test]
fn jittered_pauses_never_exceed_max_interval() {
    let policy = RetryPolicy { initial_interval: secs(4.0), max_interval: secs(4.0), jitter: 1.0, ..policy() };
    let mut schedule = Schedule::new(&policy);
    for _ in 0..1000 {
        assert!(schedule.next_pause() <= secs(4.0));
    }
}

#[test]
fn odd_settings_are_clamped_not_panicking() {
    let odd = RetryPolicy { backoff_factor: f64::NAN, jitter: 7.0, max_interval: Duration::MAX, ..policy() };
    let mut schedule = Schedule::new(&odd);
    for _ in 0..100 {
        assert!(schedule.next_pause() <= secs(2.0));
    }
    let odd = RetryPolicy { backoff_factor: f64::INFINITY, ..policy() };
    let mut schedule = Schedule::new(&odd);
    assert_eq!([schedule.next_pause(), schedule.next_pause(), schedule.next_pause()], [secs(1.0), secs(4.0), secs(4.0)]);
}

#[tokio::test(start_paused = true)]
async fn an_unrepresentable_deadline_does_not_panic() {
    let policy = RetryPolicy { deadline: Duration::MAX, attempt_timeout: Duration::MAX, ..policy() };
    let report = run_with(&redis(), &policy, &Fake::new(Behaviour::PassAfter(2))).await;
    assert_eq!((report.status, report.attempts), (Status::Pass, 3));
}

#[tokio::test(start_paused = true)]
async fn run_all_takes_the_slowest_checks_time_not_the_sum() {
    struct Slow(AtomicU32);
    impl Prober for Slow {
        fn probe<'a>(&'a self, target: &'a Target, _: Duration) -> BoxFuture<'a, Result<String>> {
            self.0.fetch_add(1, Ordering::SeqCst);
            let delay = match target {
                Target::Tcp { port, .. } => Duration::from_millis(u64::from(*port)),
                _ => Duration::ZERO,
            };
            Box::pin(async move {
                tokio::time::sleep(delay).await;
                Ok("up".to_owned())
            })
        }
    }
    let checks: Vec<Check> =
        [300, 1200, 700, 900].iter().map(|ms| Check::new(&format!("c{ms}"), Target::Tcp { host: "h".to_owned(), port: *ms })).collect();
    let prober = Slow(AtomicU32::new(0));
    let started = Instant::now();
    let report = run_all_with(&checks, &policy(), &prober).await;
    assert_eq!(started.elapsed(), Duration::from_millis(1200));
    assert!(report.ok);
    assert_eq!(report.checks.iter().map(|c| c.latency_ms).collect::<Vec<_>>(), [300, 1200, 700, 900]);
    assert_eq!(prober.0.load(Ordering::SeqCst), 4);
}

#[tokio::test(start_paused = true)]
async fn one_failing_check_fails_the_report_only() {
    let checks = [redis(), Check::new("tcp", Target::Tcp { host: "h".to_owned(), port: 1 })];
    struct ByKind;
    impl Prober for ByKind {
        fn probe<'a>(&'a self, target: &'a Target, timeout: Duration) -> BoxFuture<'a, Result<String>> {
            Box::pin(async move {
                match target {
                    Target::Tcp { .. } => Ok("connected".to_owned()),
                    _ => Err(Error::TimedOut { target: target.subject(), step: "connect".to_owned(), after_ms: millis(timeout) }),
                }
            })
        }
    }
    let report = run_all_with(&checks, &policy(), &ByKind).await;
    assert!(!report.ok);
    assert_eq!(report.failures().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["redis"]);
    assert_eq!(report.checks[1].status, Status::Pass);
}

#[tokio::test(start_paused = true)]
async fn invalid_targets_are_not_retried() {
    struct Invalid;
    impl Prober for Invalid {
        fn probe<'a>(&'a self, target: &'a Target, _: Duration) -> BoxFuture<'a, Result<String>> {
            Box::pin(async move { Err(Error::InvalidTarget { target: target.subject(), reason: "unsupported scheme".to_owned() }) })
        }
    }
    let report = run_with(&redis(), &policy(), &Invalid).await;
    assert_eq!((report.status, report.attempts, report.elapsed_ms), (Status::Fail, 1, 0));
}

#[tokio::test(start_paused = true)]
async fn a_password_in_the_uri_or_the_error_never_shows() {
    let fake = Fake::new(Behaviour::LeakPassword);
    let report = run_with(&redis(), &policy(), &fake).await;
    let texts = [report.to_owned_text(), Report::new(vec![report.clone()]).to_string(), serde_json::to_string(&report).expect("json")];
    for text in texts {
        assert!(!text.contains("hunter2-secret"), "{text}");
        assert!(text.contains("******"), "{text}");
    }
}

#[tokio::test]
async fn the_live_prober_redacts_a_failing_uri() {
    // Nothing listens on port 1 of this machine; the error must not quote the password.
    let check = Check::new("redis", Target::Redis { url: "redis://:hunter2-secret@127.0.0.1:1".to_owned() });
    let policy = RetryPolicy { deadline: secs(1.0), attempt_timeout: secs(1.0), ..policy() };
    let report = run(&check, &policy).await;
    assert_eq!(report.status, Status::Fail);
    let text = format!("{report:?}");
    assert!(!text.contains("hunter2"), "{text}");
    assert!(report.last_error.is_some_and(|e| e.starts_with("redis at 127.0.0.1:1: connect failed: ")), "{text}");
}

impl CheckReport {
    /// Every text field, for "never shows" assertions.
    fn to_owned_text(&self) -> String {
        format!("{self:?}")
    }
}
