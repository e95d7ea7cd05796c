//! Teardown without a runtime: a test stack dropped without `stop()` (a failed assertion, a
//! panic) is removed synchronously with the docker CLI, since `Drop` cannot await the engine.

use std::process::Command;

use stack_compose::labels;

/// Removes a project's containers, networks and volumes with the docker CLI when dropped while
/// armed. Armed from the moment a start begins, so a failed or cancelled start cleans up too.
#[derive(Debug)]
pub(crate) struct Cleanup {
    project: String,
    armed: bool,
}

impl Cleanup {
    pub(crate) fn new(project: &str) -> Cleanup {
        Cleanup { project: project.to_owned(), armed: true }
    }

    /// The project is gone already (an explicit stop succeeded).
    pub(crate) fn disarm(&mut self) {
        self.armed = false;
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if self.armed {
            remove_project(&self.project);
        }
    }
}

/// Removes every container, network and volume labelled with compose project `project`, with
/// the docker CLI, and the compose driver's lock file of the project. Synchronous, so it can
/// run in `Drop`; failures are logged, not returned. For tests that drive a stack some other
/// way (e.g. through `cargo xtask`) and must leave nothing behind.
pub fn remove_project(project: &str) {
    remove_with_cli(project);
    remove_lock_file(project);
}

/// `docker rm -f -v` of every container labelled with `project`, then its networks and volumes.
/// Failures are logged: this runs in `Drop`, which has no one to return them to.
fn remove_with_cli(project: &str) {
    let docker = match which::which("docker") {
        Ok(path) => path,
        Err(e) => {
            tracing::warn!(project, error = %e, "cannot remove the test stack: the docker CLI is not on PATH (install docker.io, or call stop() before the stack is dropped)");
            return;
        }
    };
    let filter = format!("label={}={project}", labels::PROJECT);
    let run = |args: &[&str]| -> Vec<String> {
        match Command::new(&docker).args(args).output() {
            Ok(out) if out.status.success() => {
                String::from_utf8_lossy(&out.stdout).lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect()
            }
            Ok(out) => {
                tracing::warn!(project, command = %args.join(" "), stderr = %String::from_utf8_lossy(&out.stderr).trim(), "docker CLI failed while removing a test stack");
                Vec::new()
            }
            Err(e) => {
                tracing::warn!(project, command = %args.join(" "), error = %e, "cannot run the docker CLI");
                Vec::new()
            }
        }
    };
    let containers = run(&["ps", "-aq", "--filter", &filter]);
    if !containers.is_empty() {
        let mut args = vec!["rm", "-f", "-v"];
        args.extend(containers.iter().map(String::as_str));
        run(&args);
    }
    for (kind, extra) in [("network", None), ("volume", Some("-f"))] {
        let names = run(&[kind, "ls", "-q", "--filter", &filter]);
        if !names.is_empty() {
            let mut args = vec![kind, "rm"];
            args.extend(extra);
            args.extend(names.iter().map(String::as_str));
            run(&args);
        }
    }
}

/// Removes the compose driver's lock file of `project` (it names the lock after the project, so
/// every test stack leaves one behind otherwise).
pub(crate) fn remove_lock_file(project: &str) {
    let _ = std::fs::remove_file(stack_compose::ProjectLock::path(project));
}
