//! The error type of this crate.

/// Errors of this crate; each variant names the operation and the resource.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The requested operation is not part of this build yet.
    #[error("{0} is not implemented yet")]
    NotImplemented(&'static str),
}

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
