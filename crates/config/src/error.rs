//! The crate's error type: every failure is a set of diagnostics naming file, line and field.

use crate::Diagnostics;

/// Errors of the config crate.
///
/// Loading never stops at the first problem: it collects every error it can find, so the one
/// variant carries all of them.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration is malformed or inconsistent.
    #[error("{0}")]
    Invalid(Diagnostics),
}

/// Result alias of the config crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The diagnostics behind this error.
    pub fn diagnostics(&self) -> &Diagnostics {
        match self {
            Error::Invalid(d) => d,
        }
    }
}
