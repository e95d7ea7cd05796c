//! Container, network and volume labels: Docker Compose's own keys, so `docker compose ps`
//! and `docker-compose -p P ps` see what we start, plus ours.

/// Compose project name.
pub const PROJECT: &str = "com.docker.compose.project";
/// Compose service name.
pub const SERVICE: &str = "com.docker.compose.service";
/// Replica number, from 1.
pub const NUMBER: &str = "com.docker.compose.container-number";
/// `True` for `run` containers, `False` otherwise.
pub const ONEOFF: &str = "com.docker.compose.oneoff";
/// Hash of the service definition the container was created from.
pub const CONFIG_HASH: &str = "com.docker.compose.config-hash";
/// The compose version label; we write our own name and version.
pub const VERSION: &str = "com.docker.compose.version";
/// Directory of the first compose file.
pub const WORKING_DIR: &str = "com.docker.compose.project.working_dir";
/// The compose files, comma separated.
pub const CONFIG_FILES: &str = "com.docker.compose.project.config_files";
/// Network key in the compose file.
pub const NETWORK: &str = "com.docker.compose.network";
/// Volume key in the compose file.
pub const VOLUME: &str = "com.docker.compose.volume";

/// Marks everything this driver created.
pub const MANAGED_BY: &str = "dev.srvthreds.managed-by";
/// Value of [`MANAGED_BY`].
pub const MANAGER: &str = "stack-compose";
/// Hash of an image's build inputs (context files, Dockerfile, args, target, base images).
pub const BUILD_HASH: &str = "dev.srvthreds.build-hash";
/// On a MongoDB service: initiate this replica set once the server answers.
pub const MONGO_REPLICA_SET: &str = "dev.srvthreds.mongo.replica-set";
/// Per-service wait deadline in seconds, overriding the command line's.
pub const WAIT_TIMEOUT: &str = "dev.srvthreds.wait-timeout";

/// The version written into [`VERSION`].
pub fn version() -> String {
    format!("{MANAGER}-{}", env!("CARGO_PKG_VERSION"))
}
