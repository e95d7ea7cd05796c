//! Who owns a test stack, and the removal of stacks whose owner is gone: every container the
//! harness starts names its run and its owning process (pid and start time, so a reused pid is
//! told apart), and each harness start removes the projects of owners that no longer run.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::OnceLock;

use stack_compose::progress::Progress;
use stack_compose::{DownOptions, Engine, Stack, labels};
use stack_config::compose::{Mount, MountKind, Project, Service, Volume};
use stack_config::secret::Redactor;

use crate::cleanup::remove_lock_file;
use crate::{Error, Result};

/// The run id of a harness (also its compose project name).
pub const RUN_ID: &str = "dev.srvthreds.testkit.run-id";
/// The pid of the process that started the harness.
pub const OWNER_PID: &str = "dev.srvthreds.testkit.owner-pid";
/// The start time of that process (field 22 of `/proc/<pid>/stat`, in clock ticks since boot).
pub const OWNER_START: &str = "dev.srvthreds.testkit.owner-start";
/// Where that pid means something: the boot id and the pid namespace. Owners from elsewhere (a
/// shared engine, another container) are never judged, since their pids are not ours to read.
pub const OWNER_HOST: &str = "dev.srvthreds.testkit.owner-host";

/// The identity of a process that owns test stacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub pid: u32,
    /// Field 22 of `/proc/<pid>/stat`.
    pub start: String,
    /// Boot id and pid namespace, see [`OWNER_HOST`].
    pub host: String,
}

/// Whether an owner still runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Liveness {
    Alive,
    Gone,
    /// Cannot be told from here (another host or pid namespace, or `/proc` unreadable).
    Unknown,
}

impl Owner {
    /// This process, or `None` where `/proc` cannot tell (then no leftovers are judged).
    pub fn current() -> Option<&'static Owner> {
        static CURRENT: OnceLock<Option<Owner>> = OnceLock::new();
        CURRENT
            .get_or_init(|| {
                let text = std::fs::read_to_string("/proc/self/stat").ok()?;
                let (_, start) = parse_stat(&text)?;
                Some(Owner { pid: std::process::id(), start, host: host_identity()? })
            })
            .as_ref()
    }

    /// The labels that put this owner and `run_id` on a container, network or volume.
    pub fn labels(&self, run_id: &str) -> HashMap<String, String> {
        HashMap::from([
            (RUN_ID.to_owned(), run_id.to_owned()),
            (OWNER_PID.to_owned(), self.pid.to_string()),
            (OWNER_START.to_owned(), self.start.clone()),
            (OWNER_HOST.to_owned(), self.host.clone()),
        ])
    }

    fn from_labels(labels: &HashMap<String, String>) -> Option<Owner> {
        Some(Owner {
            pid: labels.get(OWNER_PID)?.parse().ok()?,
            start: labels.get(OWNER_START)?.clone(),
            host: labels.get(OWNER_HOST).cloned().unwrap_or_default(),
        })
    }

    /// Judged from `me`'s point of view.
    fn liveness(&self, me: &Owner) -> Liveness {
        if self.host != me.host {
            return Liveness::Unknown;
        }
        match std::fs::read_to_string(format!("/proc/{}/stat", self.pid)) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Liveness::Gone,
            Err(_) => Liveness::Unknown,
            Ok(text) => match parse_stat(&text) {
                // A zombie has finished; only its parent has not collected its exit status yet.
                Some((state, _)) if state == 'Z' || state == 'X' => Liveness::Gone,
                Some((_, start)) if start != self.start => Liveness::Gone,
                Some(_) => Liveness::Alive,
                None => Liveness::Unknown,
            },
        }
    }
}

/// Removes the containers, networks and volumes of every test stack whose owning process is
/// gone, through the compose driver's `down`. Returns the projects removed. Stacks of live
/// owners, and of owners this process cannot judge, are left alone.
pub async fn remove_leftovers(engine: &Engine, progress: &dyn Progress) -> Result<Vec<String>> {
    let Some(me) = Owner::current() else {
        tracing::warn!("cannot read /proc/self/stat: leftovers of dead test runs are not removed");
        return Ok(Vec::new());
    };
    let containers =
        engine.containers_labelled(&[OWNER_PID.to_owned()]).await.map_err(|source| Error::ListLeftovers { source: Box::new(source) })?;
    // Per project: its services, and whether any container's owner is still there.
    let mut projects: BTreeMap<String, (BTreeSet<String>, bool)> = BTreeMap::new();
    for c in &containers {
        let Some(project) = c.labels.get(labels::PROJECT) else { continue };
        let keep = match Owner::from_labels(&c.labels) {
            Some(owner) => owner.liveness(me) != Liveness::Gone,
            None => true,
        };
        let entry = projects.entry(project.clone()).or_default();
        entry.0.insert(c.service.clone());
        entry.1 |= keep;
    }
    let mut removed = Vec::new();
    for (project, (services, keep)) in projects {
        if keep {
            continue;
        }
        tracing::info!(project = %project, "removing a test stack whose owner is gone");
        remove_project(engine, &project, &services, progress)
            .await
            .map_err(|source| Error::Leftovers { project: project.clone(), source: Box::new(source) })?;
        remove_lock_file(&project);
        removed.push(project);
    }
    Ok(removed)
}

/// `down` of a project known only from the engine: its model is made of the services its
/// containers name and the volumes labelled with it, so every container, network and volume of
/// the project goes.
async fn remove_project(
    engine: &Engine,
    project: &str,
    services: &BTreeSet<String>,
    progress: &dyn Progress,
) -> stack_compose::Result<stack_compose::Teardown> {
    let mut model = Project::default();
    for name in services {
        model.services.insert(name.clone(), Service { name: name.clone(), ..Service::default() });
    }
    // The volumes hang on one service of their own, which no container names; a parenthesis
    // cannot start a compose service name, so it cannot collide with one.
    let holder = "(volumes)".to_owned();
    let mut volumes = Service { name: holder.clone(), ..Service::default() };
    for name in engine.project_volumes(project).await? {
        volumes.volumes.push(Mount { kind: MountKind::Volume, source: Some(name.clone()), target: format!("/{name}"), read_only: false });
        model.volumes.insert(name.clone(), Volume { name: Some(name), ..Volume::default() });
    }
    model.services.insert(holder, volumes);
    let names: Vec<String> = model.services.keys().cloned().collect();
    let redactor = Redactor::new();
    let stack = Stack { name: project, project: &model, services: &names, lookup: &|_| None, redactor: &redactor };
    engine.down(&stack, DownOptions { volumes: true, remove_orphans: true }, progress).await
}

/// State (field 3) and start time (field 22) of a `/proc/<pid>/stat` line. The command name
/// (field 2) is in parentheses and may itself hold spaces and parentheses, so fields are
/// counted from the last `)`.
fn parse_stat(text: &str) -> Option<(char, String)> {
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let state = fields.first()?.chars().next()?;
    let start = fields.get(22 - 3)?;
    start.parse::<u64>().ok()?;
    Some((state, (*start).to_owned()))
}

/// The boot id and the pid namespace of this process.
fn host_identity() -> Option<String> {
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
    let ns = std::fs::read_link("/proc/self/ns/pid").map(|p| p.display().to_string()).unwrap_or_default();
    Some(format!("{}/{ns}", boot.trim()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn check(line: &str, expected: Option<(char, &str)>) {
        assert_eq!(parse_stat(line), expected.map(|(s, t)| (s, t.to_owned())), "{line}");
    }

    #[test]
    fn reads_state_and_start_time_past_odd_command_names() {
        let tail = "0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 8123456 19 20";
        check(&format!("42 (cargo) S {tail}"), Some(('S', "8123456")));
        check(&format!("42 (a b) c) (d) R {tail}"), Some(('R', "8123456")));
        check(&format!("42 (zombie) Z {tail}"), Some(('Z', "8123456")));
        check("42 (short) S 1 2", None);
        check("no parenthesis at all", None);
        check(&format!("42 (x) S {}", tail.replace("8123456", "not-a-number")), None);
    }

    #[test]
    fn this_process_is_alive_and_a_changed_start_time_is_gone() {
        let me = Owner::current().unwrap();
        assert_eq!(me.pid, std::process::id());
        assert_eq!(me.liveness(me), Liveness::Alive);
        let reused = Owner { start: format!("{}0", me.start), ..me.clone() };
        assert_eq!(reused.liveness(me), Liveness::Gone);
        // Pids above the kernel's limit (2^22) never exist.
        let missing = Owner { pid: 1 << 23, ..me.clone() };
        assert_eq!(missing.liveness(me), Liveness::Gone);
        let elsewhere = Owner { pid: 1 << 23, host: "another-host".to_owned(), ..me.clone() };
        assert_eq!(elsewhere.liveness(me), Liveness::Unknown);
    }

    #[test]
    fn owner_round_trips_through_labels() {
        let me = Owner::current().unwrap();
        let labels = me.labels("tk-1-2-abc");
        assert_eq!(labels[RUN_ID], "tk-1-2-abc");
        assert_eq!(Owner::from_labels(&labels).as_ref(), Some(me));
    }
}
