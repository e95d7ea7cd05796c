//! The pure planner: a resolved deployment becomes an ordered plan of networks, volumes, image
//! builds, containers (in dependency levels, with what each waits for) and shell commands.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Serialize;
use stack_config::compose::{Condition, MountKind, Project, Service, dependency_levels};
use stack_config::deployment::{Command, DeployCommand};
use stack_config::infra::Resolved;
use stack_config::secret::Redactor;

use crate::{Error, Result};

/// Everything a deployment would do, in order. Serialised as one JSON document.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    pub environment: String,
    pub deployment: String,
    pub project: String,
    pub action: String,
    pub pre_commands: Vec<CommandStep>,
    pub networks: Vec<NetworkStep>,
    pub volumes: Vec<VolumeStep>,
    /// Builds in order: an image another build uses as its base comes first.
    pub images: Vec<ImageStep>,
    /// Containers by dependency level; each level may start in parallel once the previous
    /// level's wait conditions hold.
    pub levels: Vec<Vec<ContainerStep>>,
    /// For `stop` and `down`: containers in the order they are stopped (dependents first).
    pub teardown: Vec<String>,
    pub post_commands: Vec<CommandStep>,
}

/// A shell command of the catalogue.
#[derive(Debug, Clone, Serialize)]
pub struct CommandStep {
    pub description: String,
    pub command: String,
}

/// A network to ensure (or remove).
#[derive(Debug, Clone, Serialize)]
pub struct NetworkStep {
    pub key: String,
    pub name: String,
    pub external: bool,
}

/// A named volume to ensure.
#[derive(Debug, Clone, Serialize)]
pub struct VolumeStep {
    pub key: String,
    pub name: String,
    pub external: bool,
}

/// An image build.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageStep {
    pub service: String,
    pub image: String,
    pub context: String,
    pub dockerfile: Option<String>,
    pub target: Option<String>,
    /// Build args, secrets redacted.
    pub args: BTreeMap<String, String>,
    /// Images of this plan this build uses (built before it).
    pub after: Vec<String>,
}

/// A container to create and start.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerStep {
    pub service: String,
    pub container: String,
    pub image: String,
    /// Dependencies and the condition each must meet before this starts.
    pub wait_for: Vec<Wait>,
    /// What "ready" means for this container once started.
    pub ready_when: Readiness,
    /// Published ports as `HOST:CONTAINER/PROTO`.
    pub ports: Vec<String>,
}

/// A dependency's wait condition.
#[derive(Debug, Clone, Serialize)]
pub struct Wait {
    pub service: String,
    pub condition: Condition,
}

/// When a started container counts as ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Readiness {
    /// Running (no healthcheck).
    Running,
    /// Its healthcheck passed after this start.
    Healthy,
    /// A one-shot job: exited with code 0.
    Completed,
}

impl Plan {
    /// Plans `resolved` (a docker deployment) against an empty engine: everything is ensured.
    pub fn new(resolved: &Resolved) -> Result<Plan> {
        let project = resolved.compose.as_ref().ok_or_else(|| Error::NotDocker(resolved.deployment.short_name.clone()))?;
        let redactor = resolved.vars.redactor();
        let name = &resolved.project_name;
        let command = resolved.target.deploy_command;
        let selected: Vec<&str> = resolved.services.iter().map(String::as_str).collect();
        let levels = dependency_levels(project, &selected).map_err(|c| Error::Cycle(c.join(" -> ")))?;
        let starts = matches!(command, DeployCommand::Up | DeployCommand::Run);
        let mut plan = Plan {
            environment: resolved.environment.name.clone(),
            deployment: resolved.deployment.short_name.clone(),
            project: name.clone(),
            action: command.as_str().to_owned(),
            pre_commands: commands(&resolved.target.pre_build_commands, &redactor),
            networks: Vec::new(),
            volumes: Vec::new(),
            images: Vec::new(),
            levels: Vec::new(),
            teardown: Vec::new(),
            post_commands: commands(&resolved.target.post_build_commands, &redactor),
        };
        let services: Vec<&Service> = selected.iter().filter_map(|s| project.services.get(*s)).collect();
        if starts || command == DeployCommand::Down {
            let used_networks: BTreeSet<&str> = services.iter().flat_map(|s| s.networks.keys().map(String::as_str)).collect();
            for (key, net) in &project.networks {
                if used_networks.contains(key.as_str()) {
                    plan.networks.push(NetworkStep { key: key.clone(), name: net.engine_name(name, key), external: net.external });
                }
            }
            if services.iter().any(|s| s.networks.is_empty()) {
                plan.networks.push(NetworkStep { key: "default".to_owned(), name: format!("{name}_default"), external: false });
            }
        }
        if starts {
            let used_volumes: BTreeSet<&str> = services
                .iter()
                .flat_map(|s| s.volumes.iter())
                .filter(|m| m.kind == MountKind::Volume)
                .filter_map(|m| m.source.as_deref())
                .collect();
            for (key, vol) in &project.volumes {
                if used_volumes.contains(key.as_str()) {
                    plan.volumes.push(VolumeStep { key: key.clone(), name: vol.engine_name(name, key), external: vol.external });
                }
            }
        }
        if starts || command == DeployCommand::Build {
            plan.images = images(project, name, &services, &redactor);
        }
        if starts {
            for level in &levels {
                let steps =
                    level.iter().filter_map(|s| project.services.get(s)).map(|svc| container_step(project, name, svc, &selected)).collect();
                plan.levels.push(steps);
            }
        }
        if matches!(command, DeployCommand::Stop | DeployCommand::Down) {
            plan.teardown = levels.iter().rev().flat_map(|l| l.iter().cloned()).collect();
        }
        Ok(plan)
    }
}

/// The image a service runs: its `image`, or `<project>-<service>` for a build-only service.
pub fn image_name(project: &str, svc: &Service) -> String {
    svc.image.clone().unwrap_or_else(|| format!("{project}-{}", svc.name))
}

/// The container name of the first replica, as Docker Compose v2 names it.
pub fn container_name(project: &str, svc: &Service) -> String {
    svc.container_name.clone().unwrap_or_else(|| format!("{project}-{}-1", svc.name))
}

fn commands(list: &[Command], redactor: &Redactor) -> Vec<CommandStep> {
    list.iter().map(|c| CommandStep { description: c.description.clone(), command: redactor.redact(&c.command) }).collect()
}

/// The services to build for `services`, in build order: a build whose args name another
/// build's image (the builder pattern's `BUILDER_IMAGE`) comes after it, and that base build is
/// included even when its own service is not selected (e.g. it sits behind a profile).
pub fn build_order<'a>(project: &'a Project, name: &str, services: &[&'a Service]) -> Vec<(&'a Service, Vec<String>)> {
    let buildable: BTreeMap<String, &Service> =
        project.services.values().filter(|s| s.build.is_some()).map(|s| (image_name(name, s), s)).collect();
    let uses = |svc: &Service| -> Vec<String> {
        let Some(build) = &svc.build else { return Vec::new() };
        let own = image_name(name, svc);
        let mut out: Vec<String> = build.args.values().flatten().filter(|v| **v != own && buildable.contains_key(*v)).cloned().collect();
        out.sort();
        out.dedup();
        out
    };
    let mut wanted: Vec<&Service> = services.iter().copied().filter(|s| s.build.is_some()).collect();
    let mut i = 0;
    while i < wanted.len() {
        for base in uses(wanted[i]) {
            if let Some(svc) = buildable.get(&base)
                && !wanted.iter().any(|w| w.name == svc.name)
            {
                wanted.push(svc);
            }
        }
        i += 1;
    }
    // Repeatedly take a build whose bases are done; a loop of bases is kept in name order at the
    // end rather than dropped.
    let mut done: BTreeSet<String> = BTreeSet::new();
    let mut out = Vec::new();
    wanted.sort_by(|a, b| a.name.cmp(&b.name));
    while !wanted.is_empty() {
        let pos = wanted.iter().position(|s| uses(s).iter().all(|b| done.contains(b))).unwrap_or(0);
        let svc = wanted.remove(pos);
        done.insert(image_name(name, svc));
        out.push((svc, uses(svc)));
    }
    out
}

fn images(project: &Project, name: &str, services: &[&Service], redactor: &Redactor) -> Vec<ImageStep> {
    build_order(project, name, services)
        .into_iter()
        .filter_map(|(svc, after)| {
            let build = svc.build.as_ref()?;
            Some(ImageStep {
                service: svc.name.clone(),
                image: image_name(name, svc),
                context: build.context.to_string(),
                dockerfile: build.dockerfile.clone(),
                target: build.target.clone(),
                args: build.args.iter().map(|(k, v)| (k.clone(), redactor.redact(v.as_deref().unwrap_or_default()))).collect(),
                after,
            })
        })
        .collect()
}

/// What "ready" means for `svc` once started.
pub fn readiness(project: &Project, svc: &Service) -> Readiness {
    if svc.is_one_shot(project) {
        Readiness::Completed
    } else if svc.has_healthcheck() {
        Readiness::Healthy
    } else {
        Readiness::Running
    }
}

fn container_step(project: &Project, name: &str, svc: &Service, selected: &[&str]) -> ContainerStep {
    let wait_for = svc
        .depends_on
        .iter()
        .filter(|(d, _)| selected.contains(&d.as_str()))
        .map(|(d, dep)| Wait { service: d.clone(), condition: dep.condition })
        .collect();
    let ready_when = readiness(project, svc);
    let ports = svc
        .ports
        .iter()
        .map(|p| {
            let host = match (&p.host_ip, p.published) {
                (Some(ip), Some(port)) => format!("{ip}:{port}:"),
                (None, Some(port)) => format!("{port}:"),
                (Some(ip), None) => format!("{ip}::"),
                (None, None) => String::new(),
            };
            format!("{host}{}/{}", p.target, p.protocol)
        })
        .collect();
    ContainerStep {
        service: svc.name.clone(),
        container: container_name(name, svc),
        image: image_name(name, svc),
        wait_for,
        ready_when,
        ports,
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "plan: {} `{}` in environment `{}` (project {})", self.action, self.deployment, self.environment, self.project)?;
        let mut n = 0;
        let mut step = |f: &mut fmt::Formatter<'_>, text: String| -> fmt::Result {
            n += 1;
            writeln!(f, "{n:>3}. {text}")
        };
        for c in &self.pre_commands {
            step(f, format!("run pre-command: {} ($ {})", c.description, c.command))?;
        }
        let verb = if self.action == "down" { "remove" } else { "ensure" };
        for net in &self.networks {
            let ext = if net.external { " (external: must exist)" } else { "" };
            step(f, format!("{verb} network {}{ext}", net.name))?;
        }
        for vol in &self.volumes {
            let ext = if vol.external { " (external: must exist)" } else { "" };
            step(f, format!("ensure volume {}{ext}", vol.name))?;
        }
        for img in &self.images {
            let mut text = format!("build image {} (service {}) from {}", img.image, img.service, img.context);
            if let Some(df) = &img.dockerfile {
                text.push_str(&format!(", dockerfile {df}"));
            }
            if let Some(t) = &img.target {
                text.push_str(&format!(", target {t}"));
            }
            if !img.after.is_empty() {
                text.push_str(&format!(", after {}", img.after.join(", ")));
            }
            step(f, text)?;
        }
        for (i, level) in self.levels.iter().enumerate() {
            for c in level {
                let waits = if c.wait_for.is_empty() {
                    String::new()
                } else {
                    format!(
                        " after {}",
                        c.wait_for
                            .iter()
                            .map(|w| format!("{} is {}", w.service, condition_word(w.condition)))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                };
                let ports = if c.ports.is_empty() { String::new() } else { format!(", ports {}", c.ports.join(" ")) };
                let ready = match c.ready_when {
                    Readiness::Running => "running",
                    Readiness::Healthy => "healthy",
                    Readiness::Completed => "completed with exit code 0",
                };
                step(f, format!("[level {}] start {} ({}){waits}{ports}; ready when {ready}", i + 1, c.container, c.image))?;
            }
        }
        let verb = if self.action == "down" { "stop and remove" } else { "stop" };
        for c in &self.teardown {
            step(f, format!("{verb} service {c}"))?;
        }
        for c in &self.post_commands {
            step(f, format!("run post-command: {} ($ {})", c.description, c.command))?;
        }
        if n == 0 {
            writeln!(f, "nothing to do")?;
        }
        Ok(())
    }
}

fn condition_word(c: Condition) -> &'static str {
    match c {
        Condition::ServiceStarted => "started",
        Condition::ServiceHealthy => "healthy",
        Condition::ServiceCompletedSuccessfully => "completed successfully",
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;
    use stack_config::compose::Build;

    /// `n` buildable services; service `i`'s build args name the images of `bases[i]` (only
    /// lower indices, so the graph has no cycle).
    fn project(n: usize, bases: &[Vec<usize>]) -> Project {
        let mut p = Project::default();
        for i in 0..n {
            let args =
                bases.get(i).into_iter().flatten().filter(|b| **b < i).map(|b| (format!("BASE{b}"), Some(format!("img{b}:dev")))).collect();
            let svc = Service {
                name: format!("s{i}"),
                image: Some(format!("img{i}:dev")),
                build: Some(Build { context: ".".into(), dockerfile: None, target: None, args }),
                profiles: if i == 0 { vec!["build".to_owned()] } else { Vec::new() },
                ..Service::default()
            };
            p.services.insert(svc.name.clone(), svc);
        }
        p
    }

    #[test]
    fn the_builder_comes_first_even_behind_a_profile() {
        let p = project(3, &[vec![], vec![0], vec![0]]);
        let selected: Vec<&Service> = ["s1", "s2"].iter().map(|s| &p.services[*s]).collect();
        let order: Vec<&str> = build_order(&p, "proj", &selected).iter().map(|(s, _)| s.name.as_str()).collect();
        assert_eq!(order, ["s0", "s1", "s2"]);
    }

    proptest! {
        #[test]
        fn every_base_is_built_before_its_users(n in 1usize..10, bases in proptest::collection::vec(proptest::collection::vec(0usize..10, 0..3), 0..10)) {
            let p = project(n, &bases);
            let selected: Vec<&Service> = p.services.values().collect();
            let order = build_order(&p, "proj", &selected);
            prop_assert_eq!(order.len(), n);
            let pos = |image: &str| order.iter().position(|(s, _)| image_name("proj", s) == image).unwrap();
            for (i, (svc, after)) in order.iter().enumerate() {
                for base in after {
                    prop_assert!(pos(base) < i, "{} is built before its base {}", svc.name, base);
                }
            }
        }
    }
}
