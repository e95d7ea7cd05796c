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
    /// No Docker Engine answered.
    #[error("connecting to the Docker Engine for a test stack failed")]
    Connect {
        #[source]
        source: Box<stack_compose::Error>,
    },
    /// The containers of earlier test runs could not be listed.
    #[error("listing the containers of earlier test runs failed")]
    ListLeftovers {
        #[source]
        source: Box<stack_compose::Error>,
    },
    /// A test stack whose owner is gone could not be removed.
    #[error("removing test stack {project}, left behind by a process that is gone, failed")]
    Leftovers {
        project: String,
        #[source]
        source: Box<stack_compose::Error>,
    },
    /// The infrastructure path is not UTF-8.
    #[error("infrastructure path {0} is not valid UTF-8")]
    InfraPath(String),
    /// The infrastructure tree could not be loaded.
    #[error("loading the infrastructure tree {infra} failed")]
    Load {
        infra: String,
        #[source]
        source: stack_config::Error,
    },
    /// The deployment could not be resolved, or a requested service does not exist.
    #[error("resolving deployment {deployment} for environment {environment} failed")]
    Resolve {
        environment: String,
        deployment: String,
        #[source]
        source: stack_config::Error,
    },
    /// A requested service is not in the deployment's compose files.
    #[error("deployment {deployment} has no service `{service}`\n  help: {help}")]
    NoSuchService { service: String, deployment: String, help: String },
    /// The deployment does not run compose.
    #[error(
        "deployment {deployment} in environment {environment} does not run on Docker\n  help: the harness starts compose deployments only (e.g. s_a_dbs_s in test)"
    )]
    NotDocker { environment: String, deployment: String },
    /// No free host port could be found.
    #[error("finding a free host port for {service} failed")]
    FreePort {
        service: String,
        #[source]
        source: std::io::Error,
    },
    /// The stack did not start, or did not become ready; what was started is removed.
    #[error("starting test stack {project} failed; its containers, networks and volumes are removed")]
    Start {
        project: String,
        #[source]
        source: Box<stack_compose::Error>,
    },
    /// The explicit teardown failed; dropping the stack retries with the docker CLI.
    #[error("stopping test stack {project} failed")]
    Stop {
        project: String,
        #[source]
        source: Box<stack_compose::Error>,
    },
    /// A service the stack did not start was asked for.
    #[error("service `{service}` is not part of test stack {project} (it runs: {running})")]
    UnknownService { service: String, project: String, running: String },
    /// The service publishes no such port.
    #[error("service {service} of test stack {project} publishes no {what} (its published container ports: {published})")]
    NotPublished { service: String, project: String, what: String, published: String },
}

/// Result alias of the test harness.
pub type Result<T, E = Error> = std::result::Result<T, E>;
