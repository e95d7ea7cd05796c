//! The error type of this crate: why one probe attempt failed.

/// Why one probe attempt failed; each variant names the target (kind and host, never
/// credentials) and the step.
///
/// Drivers' errors are kept as redacted text rather than as `source` values: a driver may quote
/// the URL it was given, password included, and a source chain cannot be redacted after the fact.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The target cannot be probed as written (malformed URL, unsupported scheme); retrying does
    /// not help, so the retry policy stops at once.
    #[error("{target}: invalid target: {reason}")]
    InvalidTarget { target: String, reason: String },
    /// A step of the probe (`connect`, `AUTH`, `PING`, `GET /path`, ...) failed.
    #[error("{target}: {step} failed: {message}")]
    Step { target: String, step: String, message: String },
    /// The attempt did not finish within its timeout; `step` is the one it was waiting for.
    #[error("{target}: {step} timed out after {after_ms} ms")]
    TimedOut { target: String, step: String, after_ms: u64 },
}

impl Error {
    /// Whether retrying cannot help.
    pub fn is_permanent(&self) -> bool {
        matches!(self, Error::InvalidTarget { .. })
    }
}

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
