//! What is running: the containers, networks and volumes of a project, found by label.

use std::collections::{BTreeMap, HashMap};

use bollard::query_parameters::{ListContainersOptionsBuilder, ListNetworksOptionsBuilder, ListVolumesOptionsBuilder};
use serde::Serialize;

use crate::labels;
use crate::{Engine, Error, Result};

/// One container of a project, as the engine lists it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Container {
    pub id: String,
    pub name: String,
    pub service: String,
    pub number: u32,
    pub oneoff: bool,
    pub config_hash: String,
    pub image: String,
    /// created, running, paused, restarting, removing, exited, dead.
    pub state: String,
    /// Docker's status text, e.g. "Up 5 minutes (healthy)".
    pub status: String,
    /// The verdict: healthy, unhealthy, starting, or none. Docker's own, except where
    /// [`Engine::project_status`] probed a container Docker still calls `starting`.
    pub health: String,
    /// What Docker's healthcheck says (healthy, unhealthy, starting, or none).
    pub docker_health: String,
    /// Where `health` comes from.
    pub health_source: HealthSource,
    /// Published ports as `HOST_IP:HOST_PORT->CONTAINER_PORT/PROTO`.
    pub ports: Vec<String>,
    /// Unix seconds of creation.
    pub created: i64,
    /// The exit code of a container that is not running (read by [`Engine::project_status`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i64>,
    #[serde(skip)]
    pub labels: HashMap<String, String>,
}

/// Where a container's health verdict comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum HealthSource {
    /// Docker's healthcheck.
    Docker,
    /// The toolkit ran the container's healthcheck command itself, after the container's
    /// current start, while Docker's first check was still pending (as `up` judges readiness).
    Probe,
    /// The container has no healthcheck.
    None,
}

impl Engine {
    /// Every container of `project`, with the toolkit's health verdict: a running container
    /// that Docker still calls `starting` (its first healthcheck interval has not passed) gets
    /// its own healthcheck command run once, as `up` does while it waits; when that passes it
    /// is `healthy` from [`HealthSource::Probe`], and `docker_health` keeps Docker's word. So a
    /// `status` right after a start agrees with the start.
    pub async fn project_status(&self, project: &str) -> Result<Vec<Container>> {
        let mut containers = self.project_containers(project).await?;
        for c in containers.iter_mut().filter(|c| c.state == "exited" || c.state == "dead") {
            c.exit_code = self.inspect(&c.name).await?.state.and_then(|s| s.exit_code);
        }
        for c in containers.iter_mut().filter(|c| c.state == "running" && c.docker_health == "starting") {
            let info = self.inspect(&c.name).await?;
            let Some(check) = info.config.and_then(|config| config.healthcheck) else { continue };
            let test = check.test.unwrap_or_default();
            // Docker's timeout is in nanoseconds; 0 means its default of 30 s.
            let timeout = match check.timeout {
                Some(ns) if ns > 0 => std::time::Duration::from_nanos(ns.unsigned_abs()),
                _ => std::time::Duration::from_secs(30),
            };
            if let Some((0, _)) = self.probe(&c.name, &test, timeout).await? {
                c.health = "healthy".to_owned();
                c.health_source = HealthSource::Probe;
            }
        }
        Ok(containers)
    }

    /// [`Engine::project_status`] as a report of `project`, keeping the containers of `services`
    /// (all when `None`).
    pub async fn status_report(&self, project: &str, services: Option<&[String]>) -> Result<StatusReport> {
        let containers =
            self.project_status(project).await?.into_iter().filter(|c| services.is_none_or(|s| s.contains(&c.service))).collect();
        Ok(StatusReport { project: project.to_owned(), containers })
    }

    /// Every container of `project` (running or not), sorted by service and number.
    pub async fn project_containers(&self, project: &str) -> Result<Vec<Container>> {
        self.containers_labelled(&[format!("{}={project}", labels::PROJECT)]).await
    }

    /// Every container carrying all of `labels` (`key=value` or `key`).
    pub async fn containers_labelled(&self, label_filters: &[String]) -> Result<Vec<Container>> {
        let filters = HashMap::from([("label".to_owned(), label_filters.to_vec())]);
        let options = ListContainersOptionsBuilder::default().all(true).filters(&filters).build();
        let list = self
            .docker()
            .list_containers(Some(options))
            .await
            .map_err(|e| Error::Api { operation: format!("list containers with {}", label_filters.join(", ")), source: e })?;
        let mut out: Vec<Container> = list
            .into_iter()
            .map(|c| {
                let labels = c.labels.unwrap_or_default();
                let get = |k: &str| labels.get(k).cloned().unwrap_or_default();
                let status = c.status.unwrap_or_default();
                let health = if status.contains("(healthy)") {
                    "healthy"
                } else if status.contains("(unhealthy)") {
                    "unhealthy"
                } else if status.contains("(health: starting)") {
                    "starting"
                } else {
                    "none"
                };
                let mut ports: Vec<String> = c
                    .ports
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|p| {
                        let proto = p.typ.map(|t| t.to_string()).unwrap_or_else(|| "tcp".to_owned());
                        p.public_port.map(|pp| format!("{}:{pp}->{}/{proto}", p.ip.unwrap_or_else(|| "0.0.0.0".to_owned()), p.private_port))
                    })
                    .collect();
                ports.sort();
                ports.dedup();
                Container {
                    id: c.id.unwrap_or_default(),
                    name: c.names.unwrap_or_default().first().map(|n| n.trim_start_matches('/').to_owned()).unwrap_or_default(),
                    service: get(labels::SERVICE),
                    number: get(labels::NUMBER).parse().unwrap_or(1),
                    oneoff: get(labels::ONEOFF).eq_ignore_ascii_case("true"),
                    config_hash: get(labels::CONFIG_HASH),
                    image: c.image.unwrap_or_default(),
                    state: c.state.map(|s| s.to_string()).unwrap_or_default(),
                    status,
                    health: health.to_owned(),
                    docker_health: health.to_owned(),
                    health_source: if health == "none" { HealthSource::None } else { HealthSource::Docker },
                    ports,
                    created: c.created.unwrap_or_default(),
                    exit_code: None,
                    labels,
                }
            })
            .collect();
        out.sort_by(|a, b| (&a.service, a.number, &a.name).cmp(&(&b.service, b.number, &b.name)));
        Ok(out)
    }

    /// The IP address of each running service container of `project` (first replica, first
    /// network), by service.
    pub async fn container_ips(&self, project: &str) -> Result<BTreeMap<String, String>> {
        let filters = HashMap::from([("label".to_owned(), vec![format!("{}={project}", labels::PROJECT)])]);
        let options = ListContainersOptionsBuilder::default().filters(&filters).build();
        let list = self
            .docker()
            .list_containers(Some(options))
            .await
            .map_err(|e| Error::Api { operation: format!("list containers of project {project}"), source: e })?;
        let mut out = BTreeMap::new();
        for c in list {
            let service = c.labels.as_ref().and_then(|l| l.get(labels::SERVICE)).cloned().unwrap_or_default();
            let ip = c
                .network_settings
                .and_then(|n| n.networks)
                .and_then(|n| n.into_values().filter_map(|e| e.ip_address).find(|ip| !ip.is_empty()));
            if let (false, Some(ip)) = (service.is_empty(), ip) {
                out.entry(service).or_insert(ip);
            }
        }
        Ok(out)
    }

    /// Networks labelled with `project`, by name.
    pub async fn project_networks(&self, project: &str) -> Result<BTreeMap<String, String>> {
        let filters = HashMap::from([("label".to_owned(), vec![format!("{}={project}", labels::PROJECT)])]);
        let options = ListNetworksOptionsBuilder::default().filters(&filters).build();
        let list = self
            .docker()
            .list_networks(Some(options))
            .await
            .map_err(|e| Error::Api { operation: format!("list networks of project {project}"), source: e })?;
        Ok(list.into_iter().filter_map(|n| Some((n.name?, n.id.unwrap_or_default()))).collect())
    }

    /// Volumes labelled with `project`, by name.
    pub async fn project_volumes(&self, project: &str) -> Result<Vec<String>> {
        let filters = HashMap::from([("label".to_owned(), vec![format!("{}={project}", labels::PROJECT)])]);
        let options = ListVolumesOptionsBuilder::default().filters(&filters).build();
        let list = self
            .docker()
            .list_volumes(Some(options))
            .await
            .map_err(|e| Error::Api { operation: format!("list volumes of project {project}"), source: e })?;
        let mut names: Vec<String> = list.volumes.unwrap_or_default().into_iter().map(|v| v.name).collect();
        names.sort();
        Ok(names)
    }
}

/// The containers of a project and their health. Serialized as the list of containers.
#[derive(Debug, Clone, Serialize)]
#[serde(transparent)]
pub struct StatusReport {
    #[serde(skip)]
    pub project: String,
    pub containers: Vec<Container>,
}

impl StatusReport {
    /// No container is unhealthy, and none stopped other than with exit code 0 (a one-shot job
    /// that completed).
    pub fn ok(&self) -> bool {
        !self.containers.iter().any(|c| c.health == "unhealthy" || (c.state != "running" && c.exit_code != Some(0)))
    }
}

impl std::fmt::Display for StatusReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.containers.is_empty() {
            return write!(f, "project {}: no containers", self.project);
        }
        let mut rows = vec![["SERVICE", "CONTAINER", "STATE", "HEALTH", "PORTS", "IMAGE", "STATUS"].map(str::to_owned).to_vec()];
        for c in &self.containers {
            rows.push(vec![
                c.service.clone(),
                c.name.clone(),
                c.state.clone(),
                match c.health_source {
                    HealthSource::Probe => format!("{} (probe; docker: {})", c.health, c.docker_health),
                    _ => c.health.clone(),
                },
                c.ports.join(","),
                c.image.clone(),
                c.status.clone(),
            ]);
        }
        f.write_str(stack_config::table::table(&rows).trim_end())
    }
}
