//! Health checks: TCP, HTTP, Redis, MongoDB and RabbitMQ probes under a retry policy, run in parallel, with reports.
//!
//! Plain data in, plain data out: a [`Check`] names a [`Target`]; [`probe_once`] tries it once,
//! [`run`] retries it under a [`RetryPolicy`], [`run_all`] runs many concurrently and returns a
//! [`Report`] (a human table through `Display`, JSON through `Serialize`).
//!
//! ```no_run
//! # async fn example() {
//! use stack_health::{Check, RetryPolicy, Target, run_all};
//!
//! let checks = [
//!     Check::new("redis", Target::Redis { url: "redis://:secret@127.0.0.1:6379".to_owned() }),
//!     Check::new("mongodb", Target::Mongo { uri: "mongodb://127.0.0.1:27017".to_owned(), require_primary: true }),
//! ];
//! let report = run_all(&checks, &RetryPolicy::default()).await;
//! if !report.ok {
//!     eprintln!("{report}"); // the password shows as ******
//! }
//! # }
//! ```
//!
//! Probes go through the client crates (`redis`, `mongodb`, `lapin`, hyper), all on rustls
//! with the ring provider. Passwords never appear in an error, a report or a log line: every
//! text is redacted with the target's passwords and with `stack_config::secret::redact_uri`.
//! The crate never prints and never builds a runtime; it logs attempts with `tracing` at debug
//! level.

mod error;
pub mod plan;
mod policy;
mod probe;
mod report;
mod target;
pub mod targets;

pub use error::{Error, Result};
pub use policy::{Live, Prober, RetryPolicy, run, run_all, run_all_with, run_with};
pub use probe::probe_once;
pub use report::{CheckReport, Report, Status};
pub use target::{Check, Target};
