//! The test harness's error type.

/// Errors of the test harness; each names the step and the resource.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The base image could not be made.
    #[error(
        "making the base image {image} failed ({status})\n--- output ---\n{output}\n  help: the base image needs `mmdebstrap` (apt-get install mmdebstrap) and a reachable Debian mirror"
    )]
    BaseImage { image: String, status: String, output: String },
    /// A recipe directory is missing.
    #[error("test image recipe {0} not found")]
    Recipe(String),
    /// The compose driver failed.
    #[error(transparent)]
    Compose(#[from] stack_compose::Error),
}

/// Result alias of the test harness.
pub type Result<T, E = Error> = std::result::Result<T, E>;
