//! The compose driver's error type.

/// Errors of the compose driver; each names the operation and the resource.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The Docker Engine could not be reached.
    #[error(
        "cannot reach the Docker Engine at {endpoint}: {reason}\n  help: start one (e.g. `sudo dockerd &`, or `sudo systemctl start docker`), or point DOCKER_HOST at a running engine"
    )]
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
    /// A build context could not be read or packed.
    #[error("build context {context}: {message}")]
    Context { context: String, message: String },
    /// An image build failed.
    #[error("building image {image} failed: {message}\n--- last build output ---\n{tail}")]
    Build { image: String, message: String, tail: String },
    /// A push to a registry failed, or its credentials could not be read.
    #[error(transparent)]
    Push(#[from] crate::push::PushError),
    /// An image is missing and cannot be pulled.
    #[error("image {image} (service {service}) is not present and cannot be pulled: {reason}\n  help: {help}")]
    Pull { image: String, service: String, reason: String, help: String },
    /// A host port is taken before anything was created.
    #[error(
        "host port {port}/{protocol} for service {service} is already in use by {holder}; nothing was created or started\n  help: stop it, or publish another host port (e.g. set the port variable in the env file)"
    )]
    PortInUse { service: String, port: u16, protocol: String, holder: String },
    /// A container did not become ready.
    #[error("{service} ({container}) {reason}{probe}\n--- last log lines of {container} ---\n{logs}")]
    Wait { service: String, container: String, reason: String, probe: String, logs: String },
    /// A dependency failed, so its dependents were not started.
    #[error("{service} was not started: dependency {dependency} failed")]
    DependencyFailed { service: String, dependency: String },
    /// Several services failed; each error is listed.
    #[error("{} of the requested services failed:\n{}", .0.len(), .0.iter().map(|e| format!("- {e}")).collect::<Vec<_>>().join("\n"))]
    Many(Vec<Error>),
    /// The per-project lock could not be taken.
    #[error("cannot lock project {project} ({path}): {reason}")]
    Lock { project: String, path: String, reason: String },
    /// The wait was interrupted (Ctrl-C); what was created stays and the next run converges.
    #[error("interrupted while {doing}; containers created so far are kept and the next run continues from them")]
    Interrupted { doing: String },
    /// An unknown service was asked for.
    #[error("unknown service `{0}`")]
    UnknownService(String),
    /// No container of the project matches what was asked for.
    #[error("no containers of project {project} match")]
    NoContainers { project: String },
    /// A pre- or post-command of a catalogue entry failed.
    #[error(transparent)]
    Hook(#[from] crate::hooks::HookFailed),
    /// The async runtime of a blocking entry point could not start.
    #[error("cannot start the async runtime: {0}")]
    Runtime(#[source] std::io::Error),
}

/// Result alias of the compose driver.
pub type Result<T, E = Error> = std::result::Result<T, E>;
