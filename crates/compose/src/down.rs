//! `stop` and `down`: dependents first; `down` also removes the project's networks (when the
//! whole project goes), its orphans, and its volumes only when asked.

use std::collections::BTreeSet;

use bollard::query_parameters::{RemoveVolumeOptionsBuilder, StopContainerOptionsBuilder};
use futures_util::future::join_all;
use serde::Serialize;
use stack_config::compose::dependency_levels;

use crate::lock::ProjectLock;
use crate::progress::{Event, Progress};
use crate::up::Stack;
use crate::{Engine, Error, Result};

/// Options of [`Engine::down`].
#[derive(Debug, Clone, Copy, Default)]
pub struct DownOptions {
    /// Also remove the project's named volumes (their data is lost).
    pub volumes: bool,
    /// Also remove containers of services no longer in the compose files.
    pub remove_orphans: bool,
}

/// What `stop` or `down` did.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Teardown {
    pub stopped: Vec<String>,
    pub removed: Vec<String>,
    pub networks: Vec<String>,
    pub volumes: Vec<String>,
    pub orphans: Vec<String>,
}

impl Engine {
    /// Stops the selected services' containers, dependents first, keeping them and their data.
    pub async fn stop(&self, stack: &Stack<'_>, progress: &dyn Progress) -> Result<Teardown> {
        let _lock = ProjectLock::acquire(stack.name, progress).await?;
        let mut report = Teardown::default();
        let containers = self.project_containers(stack.name).await?;
        for level in self.reverse_levels(stack) {
            let jobs = level.iter().flat_map(|svc| containers.iter().filter(move |c| &c.service == svc && c.state == "running")).map(
                |c| async move {
                    let options = StopContainerOptionsBuilder::default().t(10).build();
                    match self.docker().stop_container(&c.name, Some(options)).await {
                        Ok(()) | Err(bollard::errors::Error::DockerResponseServerError { status_code: 304 | 404, .. }) => {
                            progress.event(&Event::ContainerStopped { service: c.service.clone(), container: c.name.clone() });
                            Ok(c.name.clone())
                        }
                        Err(e) => Err(Error::Api { operation: format!("stop container {}", c.name), source: e }),
                    }
                },
            );
            for r in join_all(jobs).await {
                report.stopped.push(r?);
            }
        }
        Ok(report)
    }

    /// Stops and removes the selected services' containers. When every service of the project
    /// is selected, the project's networks go too, and orphans when asked.
    pub async fn down(&self, stack: &Stack<'_>, options: DownOptions, progress: &dyn Progress) -> Result<Teardown> {
        let _lock = ProjectLock::acquire(stack.name, progress).await?;
        let mut report = Teardown::default();
        let containers = self.project_containers(stack.name).await?;
        // Services behind a profile are not started by default, so they do not keep a project
        // "partly selected".
        let whole = stack.project.services.values().all(|s| stack.services.contains(&s.name) || !s.profiles.is_empty());
        for level in self.reverse_levels(stack) {
            let jobs = level.iter().flat_map(|svc| containers.iter().filter(move |c| &c.service == svc)).map(|c| async move {
                self.remove_container(&c.name, true).await?;
                progress.event(&Event::ContainerRemoved { service: c.service.clone(), container: c.name.clone() });
                Ok::<_, Error>(c.name.clone())
            });
            for r in join_all(jobs).await {
                report.removed.push(r?);
            }
        }
        let orphans: Vec<_> = containers.iter().filter(|c| !stack.project.services.contains_key(&c.service)).collect();
        for c in orphans {
            if options.remove_orphans {
                self.remove_container(&c.name, true).await?;
                report.orphans.push(c.name.clone());
            }
            progress.event(&Event::Orphan { service: c.service.clone(), container: c.name.clone(), removed: options.remove_orphans });
        }
        if whole {
            let still_running: BTreeSet<String> = self.project_containers(stack.name).await?.into_iter().map(|c| c.name).collect();
            if still_running.is_empty() {
                for (name, _) in self.project_networks(stack.name).await? {
                    match self.docker().remove_network(&name).await {
                        Ok(()) | Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => {
                            progress.event(&Event::NetworkRemoved { name: name.clone() });
                            report.networks.push(name);
                        }
                        Err(e) => return Err(Error::Api { operation: format!("remove network {name}"), source: e }),
                    }
                }
            }
        }
        if options.volumes {
            // The named volumes the selected services mount; external volumes are never removed.
            let wanted: BTreeSet<String> = stack
                .services
                .iter()
                .filter_map(|s| stack.project.services.get(s))
                .flat_map(|s| s.volumes.iter())
                .filter_map(|m| m.source.as_ref())
                .filter_map(|src| stack.project.volumes.get(src).filter(|v| !v.external).map(|v| v.engine_name(stack.name, src)))
                .collect();
            for name in self.project_volumes(stack.name).await?.into_iter().filter(|v| wanted.contains(v)) {
                let opts = RemoveVolumeOptionsBuilder::default().force(true).build();
                match self.docker().remove_volume(&name, Some(opts)).await {
                    Ok(()) | Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => {
                        progress.event(&Event::VolumeRemoved { name: name.clone() });
                        report.volumes.push(name);
                    }
                    Err(e) => return Err(Error::Api { operation: format!("remove volume {name}"), source: e }),
                }
            }
        }
        Ok(report)
    }

    /// The selected services in reverse dependency levels (dependents first).
    fn reverse_levels(&self, stack: &Stack<'_>) -> Vec<Vec<String>> {
        let names: Vec<&str> = stack.services.iter().map(String::as_str).collect();
        let mut levels = dependency_levels(stack.project, &names).unwrap_or_else(|_| vec![stack.services.to_vec()]);
        levels.reverse();
        levels
    }
}
