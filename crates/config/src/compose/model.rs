//! Plain data types of a compose project after interpolation and merging.

use std::collections::BTreeMap;
use std::time::Duration;

use camino::Utf8PathBuf;
use serde::Serialize;

use crate::node::Location;

/// A compose project: the merge of one or more compose files.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Project {
    /// The files, in `-f` order.
    pub files: Vec<Utf8PathBuf>,
    pub services: BTreeMap<String, Service>,
    pub networks: BTreeMap<String, Network>,
    pub volumes: BTreeMap<String, Volume>,
}

/// Where a definition was written, for error messages.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Origin {
    pub file: Utf8PathBuf,
    pub location: Location,
}

/// One service.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Service {
    pub name: String,
    pub origin: Origin,
    pub image: Option<String>,
    pub build: Option<Build>,
    /// Exec form; a string command is split like a shell would (no expansion).
    pub command: Option<Vec<String>>,
    pub entrypoint: Option<Vec<String>>,
    /// `None` value: taken from the environment of the caller at run time (`- KEY` form).
    pub environment: BTreeMap<String, Option<String>>,
    pub env_file: Vec<Utf8PathBuf>,
    pub ports: Vec<Port>,
    pub expose: Vec<String>,
    pub volumes: Vec<Mount>,
    pub networks: BTreeMap<String, ServiceNetwork>,
    pub depends_on: BTreeMap<String, Dependency>,
    pub healthcheck: Option<Healthcheck>,
    pub restart: Option<Restart>,
    pub limits: Limits,
    pub profiles: Vec<String>,
    pub labels: BTreeMap<String, String>,
    pub extra_hosts: Vec<String>,
    pub container_name: Option<String>,
    pub hostname: Option<String>,
    /// Variables the `image:` value was interpolated from (e.g. `MONGO_IMAGE`), so a missing
    /// image can be reported with the variable that overrides it.
    pub image_vars: Vec<String>,
}

/// `build:` of a service.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Build {
    /// Absolute or relative to the directory of the compose file that declared it, already joined.
    pub context: Utf8PathBuf,
    /// Relative to the context, as Compose interprets it (absolute paths stay absolute).
    pub dockerfile: Option<String>,
    pub target: Option<String>,
    pub args: BTreeMap<String, Option<String>>,
}

/// A published or unpublished container port.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Port {
    pub host_ip: Option<String>,
    /// `None`: an ephemeral host port is chosen by the engine.
    pub published: Option<u16>,
    pub target: u16,
    pub protocol: String,
    #[serde(skip)]
    pub location: Location,
}

/// A volume or bind mount.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mount {
    pub kind: MountKind,
    /// Volume name (for `volume`), host path (for `bind`, joined to the compose file's
    /// directory when relative), or absent for an anonymous volume.
    pub source: Option<String>,
    pub target: String,
    pub read_only: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MountKind {
    Volume,
    Bind,
    Tmpfs,
}

/// A service's attachment to a network.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ServiceNetwork {
    pub aliases: Vec<String>,
}

/// A `depends_on` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dependency {
    pub condition: Condition,
    /// `required: false` makes a missing dependency a warning in Compose.
    pub required: bool,
    #[serde(skip)]
    pub location: Location,
}

/// What "ready" means for a dependency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    ServiceStarted,
    ServiceHealthy,
    ServiceCompletedSuccessfully,
}

/// A container healthcheck.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Healthcheck {
    /// Docker's form: `["CMD", ...]`, `["CMD-SHELL", "..."]` or `["NONE"]`.
    pub test: Vec<String>,
    pub interval: Option<Duration>,
    pub timeout: Option<Duration>,
    pub start_period: Option<Duration>,
    pub retries: Option<u64>,
    pub disable: bool,
}

/// A restart policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Restart {
    No,
    Always,
    OnFailure,
    UnlessStopped,
}

/// `deploy.resources.limits`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Limits {
    pub cpus: Option<f64>,
    pub memory_bytes: Option<u64>,
}

/// A top-level network.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Network {
    /// The engine-side name when set with `name:`; otherwise `<project>_<key>`.
    pub name: Option<String>,
    pub external: bool,
    pub driver: Option<String>,
    pub labels: BTreeMap<String, String>,
}

/// A top-level named volume.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Volume {
    pub name: Option<String>,
    pub external: bool,
    pub driver: Option<String>,
    pub labels: BTreeMap<String, String>,
}

impl Condition {
    /// The compose spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Condition::ServiceStarted => "service_started",
            Condition::ServiceHealthy => "service_healthy",
            Condition::ServiceCompletedSuccessfully => "service_completed_successfully",
        }
    }
}

impl Restart {
    /// The compose spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Restart::No => "no",
            Restart::Always => "always",
            Restart::OnFailure => "on-failure",
            Restart::UnlessStopped => "unless-stopped",
        }
    }
}

impl Service {
    /// Whether the service is a one-shot job: it never restarts and something waits for it to
    /// complete, or it is declared `restart: "no"` without ports.
    pub fn is_one_shot(&self, project: &Project) -> bool {
        let awaited = project
            .services
            .values()
            .any(|s| s.depends_on.get(&self.name).is_some_and(|d| d.condition == Condition::ServiceCompletedSuccessfully));
        awaited || (matches!(self.restart, Some(Restart::No)) && self.ports.is_empty() && self.healthcheck.is_none())
    }

    /// Whether the service has a healthcheck that is not disabled.
    pub fn has_healthcheck(&self) -> bool {
        self.healthcheck.as_ref().is_some_and(|h| !h.disable && h.test.first().map(String::as_str) != Some("NONE"))
    }
}

impl Network {
    /// The name of the network on the engine.
    pub fn engine_name(&self, project: &str, key: &str) -> String {
        self.name.clone().unwrap_or_else(|| format!("{project}_{key}"))
    }
}

impl Volume {
    /// The name of the volume on the engine.
    pub fn engine_name(&self, project: &str, key: &str) -> String {
        self.name.clone().unwrap_or_else(|| format!("{project}_{key}"))
    }
}
