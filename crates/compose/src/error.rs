//! The compose driver's error type.

/// Errors of the compose driver; each names the operation and the resource.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The Docker Engine could not be reached.
    #[error("cannot reach the Docker Engine at {endpoint}: {reason}\n  help: start one (e.g. `sudo dockerd &`, or `sudo systemctl start docker`), or point DOCKER_HOST at a running engine")]
    EngineUnreachable { endpoint: String, reason: String },
    /// `DOCKER_HOST` or the TLS settings are malformed.
    #[error("invalid Docker connection settings: {0}")]
    Connection(String),
    /// A request to the engine failed.
    #[error("{operation} failed")]
    Api {
        operation: String,
        #[source]
        source: bollard::errors::Error,
    },
    /// The deployment has no compose project (it is not a docker target).
    #[error("deployment `{0}` is not a docker deployment")]
    NotDocker(String),
    /// The dependency graph has a cycle.
    #[error("dependency cycle: {0}")]
    Cycle(String),
}

/// Result alias of the compose driver.
pub type Result<T, E = Error> = std::result::Result<T, E>;
