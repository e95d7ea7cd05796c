//! Workflows that span several drivers, each one call for an embedding tool.
//!
//! - [`minikube`]: `minikube up|down|status` — the plans of [`stack_k8s::minikube`] carried out
//!   over processes, the compose driver (images, host databases) and the cluster session.
//! - `images`: `images push` and the release record; `release` and `smoke` (features
//!   `cluster` + `health`): push or promote, apply pinned, wait, smoke-test, roll back.
//!
//! Nothing here writes to the process's streams: lines go to the caller's [`Console`].
//!
//! ```no_run
//! use std::time::Duration;
//! use stack_ops::{Console, minikube::{Command, Minikube}};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! let (infra, _) = stack_config::Infra::load("infrastructure".as_ref(), &Default::default())?;
//! let minikube = Minikube::prepare(&infra, "local", Command::Down, Duration::from_secs(180))?;
//! let print = |line: &str| eprintln!("{line}");
//! let console = Console::new(&print, &print, &stack_compose::entry::Quiet);
//! println!("{}", minikube.down(&console)?);
//! # Ok(())
//! # }
//! ```

#[cfg(feature = "cluster")]
pub mod catalogue;
#[cfg(feature = "cluster")]
pub mod cluster;
pub mod doctor;
#[cfg(feature = "health")]
pub mod health;
pub mod images;
pub mod minikube;
#[cfg(all(feature = "cluster", feature = "health"))]
pub mod release;
#[cfg(all(feature = "cluster", feature = "health"))]
pub mod smoke;
#[cfg(all(feature = "cluster", feature = "health"))]
pub mod status;

use std::sync::Arc;

use stack_compose::entry;

/// Where a workflow's lines go, and how much of them.
pub struct Console<'a> {
    /// Progress lines (announcements, details); not called with `quiet`.
    pub progress: &'a dyn Fn(&str),
    /// The human result of an inner step (a catalogue entry's report, the apply's report, the
    /// forward's address): the caller decides where it goes next to its own result.
    pub result: &'a dyn Fn(&str),
    /// The compose driver's sink for the catalogue entries.
    pub compose: &'a dyn entry::Sink,
    /// Only errors: no progress, and the processes' output only when they fail.
    pub quiet: bool,
    /// Every line of the port-forward's reconnections, not only its failures.
    pub verbose: bool,
    /// Lines from background tasks (the port-forward's reconnections); none by default.
    pub background: Arc<dyn Fn(&str) + Send + Sync>,
}

impl std::fmt::Debug for Console<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Console").field("quiet", &self.quiet).field("verbose", &self.verbose).finish_non_exhaustive()
    }
}

impl<'a> Console<'a> {
    /// A console with progress and results going to `progress` and `result`.
    pub fn new(progress: &'a dyn Fn(&str), result: &'a dyn Fn(&str), compose: &'a dyn entry::Sink) -> Console<'a> {
        Console { progress, result, compose, quiet: false, verbose: false, background: Arc::new(|_| {}) }
    }

    /// A progress line, unless `quiet`.
    pub fn progress(&self, line: &str) {
        if !self.quiet {
            (self.progress)(line);
        }
    }
}

/// The `tracing` filter of a command line's `-q` / `-v` count: errors only, warnings, debug
/// (the HTTP and TLS stacks under kube and bollard, which log every request at debug, kept at
/// info), or everything.
pub fn log_filter(verbose: u8, quiet: bool) -> &'static str {
    match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "debug,hyper=info,hyper_util=info,tower=info,rustls=info,h2=info,kube_client=info",
        (false, _) => "trace",
    }
}

/// An error of a workflow's step, with its causes.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// Runs `fut` on a fresh runtime; Ctrl-C ends it as [`stack_compose::Error::Interrupted`]
/// (`doing` says what was interrupted). Any error type that takes those two will do (this
/// crate's [`Error`], `anyhow::Error`).
pub fn block_on<T, E>(doing: &str, fut: impl Future<Output = Result<T, E>>) -> Result<T, E>
where
    E: From<stack_compose::Error> + From<std::io::Error>,
{
    tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
        tokio::select! {
            r = fut => r,
            _ = tokio::signal::ctrl_c() => Err(stack_compose::Error::Interrupted { doing: doing.to_owned() }.into()),
        }
    })
}
