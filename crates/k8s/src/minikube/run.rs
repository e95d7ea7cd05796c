//! Carrying a minikube [`Plan`] out, step by step, through a [`Host`]: the embedding tool runs
//! the processes and provides the compose driver and the cluster session; this module decides
//! what each step's [`Work`] needs, skips what is already done (a running profile is not started
//! again), and on a failure names the step, what was done and what was not.
//!
//! ```
//! use stack_k8s::minikube::run::{Finished, Host, HostError, Output, down};
//! use stack_k8s::minikube::{Plan, Tool};
//!
//! /// A host whose `minikube stop` says the profile does not exist.
//! struct NoProfile;
//! impl Host for NoProfile {
//!     fn find(&mut self, _: Tool) -> Result<String, HostError> { Ok("/usr/bin/minikube".into()) }
//!     fn exec(&mut self, _: &[String], _: Output, _: &[i32]) -> Result<Finished, HostError> {
//!         Ok(Finished { code: Some(stack_k8s::minikube::EXIT_GUEST_NOT_FOUND), stdout: String::new() })
//!     }
//! }
//!
//! let settings = stack_config::environment::Minikube {
//!     profile: "dev".into(),
//!     driver: "docker".into(),
//!     cpus: 2,
//!     memory_mb: 4096,
//!     disk_size: "20g".into(),
//!     addons: Vec::new(),
//!     overlay: "minikube".into(),
//!     kube_contexts: vec!["dev".into()],
//!     namespace: "srvthreds".into(),
//!     port_forward: None,
//! };
//! let summary = down(&Plan::down(&settings), &mut NoProfile).unwrap();
//! assert_eq!(summary.result, stack_k8s::minikube::run::Outcome::Absent);
//! ```

use std::fmt;

use serde::Serialize;

use super::{DockerEnv, EXIT_GUEST_NOT_FOUND, Plan, Status, Step, Tool, Work};

/// An error of the host's work, with its causes.
pub type HostError = Box<dyn std::error::Error + Send + Sync>;

/// What a command printed and how it ended.
#[derive(Debug, Clone, Default)]
pub struct Finished {
    pub code: Option<i32>,
    pub stdout: String,
}

/// What a command's output is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// Data (JSON, KEY=VALUE lines): stdout captured and returned, stderr shown.
    Capture,
    /// Captured, stderr too: nothing shown unless the command fails.
    Quiet,
    /// Both shown as progress.
    Stream,
}

/// What the executor needs from the tool that embeds it. Only `find` and `exec` are needed by
/// every plan; the others have defaults that refuse, for hosts that run only `down`/`status`.
pub trait Host {
    /// The path of `tool` on `PATH`, or an error with how to install it.
    fn find(&mut self, tool: Tool) -> Result<String, HostError>;
    /// Runs `argv`; an exit code outside `ok` is an error naming the command and its stderr tail.
    fn exec(&mut self, argv: &[String], output: Output, ok: &[i32]) -> Result<Finished, HostError>;
    /// Builds the images on minikube's Docker daemon.
    fn build_images(&mut self, _docker: &DockerEnv) -> Result<(), HostError> {
        Err("this host cannot build images".into())
    }
    /// Starts the host databases.
    fn start_databases(&mut self) -> Result<(), HostError> {
        Err("this host cannot start databases".into())
    }
    /// Applies the overlay to the profile's context and waits for the rollouts.
    fn apply(&mut self) -> Result<(), HostError> {
        Err("this host cannot apply overlays".into())
    }
    /// Forwards the configured port until interrupted; `summary` is what was done before it.
    fn port_forward(&mut self, _summary: &Summary) -> Result<(), HostError> {
        Err("this host cannot port-forward".into())
    }
    /// A step starts.
    fn announce(&mut self, _step: &Step) {}
    /// A line about the current step.
    fn detail(&mut self, _text: &str) {}
}

/// [`Host::find`] on `PATH`: the tool's path, or an error saying how to install it (and that
/// nothing was changed).
pub fn find_on_path(tool: Tool) -> Result<String, HostError> {
    let path = which::which(tool.name())
        .map_err(|_| format!("{} is not installed (looked on PATH); nothing was changed\n  help: {}", tool.name(), tool.install_hint()))?;
    Ok(path.display().to_string())
}

/// [`Host::exec`] as a process (the program found on `PATH`), through `stack_process`: the lines
/// `output` shows go to `on_line`; an exit code outside `ok` is an error with the stderr tail.
pub fn run_process(argv: &[String], output: Output, ok: &[i32], on_line: &mut dyn FnMut(&str)) -> Result<Finished, HostError> {
    let (program, args) = argv.split_first().ok_or("an empty command")?;
    let path = which::which(program).map_err(|_| format!("{program} is not installed (looked on PATH)"))?;
    let mut command = std::process::Command::new(path);
    command.args(args);
    let deliver = match output {
        Output::Quiet => stack_process::Deliver::Nothing,
        Output::Capture => stack_process::Deliver::Stderr,
        Output::Stream => stack_process::Deliver::All,
    };
    let options = stack_process::Options {
        display: Some(stack_process::shell_line(argv)),
        success: ok.to_vec(),
        capture_stdout: output != Output::Stream,
        deliver,
        ..stack_process::Options::default()
    };
    let done = stack_process::run(command, &options, &mut |_, line| on_line(line))?;
    Ok(Finished { code: done.code, stdout: done.stdout })
}

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Outcome {
    /// `up`: the cluster runs with the overlay applied.
    Ready,
    /// `down`: the profile was stopped.
    Stopped,
    /// `down`: the profile does not exist.
    Absent,
}

/// The result of `up` or `down`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub profile: String,
    pub result: Outcome,
    /// The ids of the steps carried out.
    pub steps: Vec<String>,
    /// The overlay `up` applied.
    #[serde(skip)]
    pub overlay: String,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = &self.profile;
        match self.result {
            Outcome::Ready => write!(f, "minikube up: profile {p} ready, overlay {} applied", self.overlay),
            Outcome::Stopped => write!(
                f,
                "minikube profile {p} stopped; the cluster is kept (`minikube delete --profile {p}` removes it)\n  note: the host databases keep running (shared with the Docker workflow)"
            ),
            Outcome::Absent => write!(f, "minikube profile {p} does not exist: nothing to stop"),
        }
    }
}

/// A step failed: which, of which command, what was done before and what was not.
#[derive(Debug, thiserror::Error)]
#[error("step `{step}` of minikube {command} failed (done: {}; not done: {})", list(done), list(pending))]
pub struct StepFailed {
    pub step: String,
    pub command: String,
    pub done: Vec<String>,
    pub pending: Vec<String>,
    #[source]
    pub source: HostError,
}

fn list(ids: &[String]) -> String {
    if ids.is_empty() { "nothing".to_owned() } else { ids.join(", ") }
}

/// The exit codes of `minikube status`: it encodes the state in them (and 85: no such profile).
const STATUS_CODES: [i32; 9] = [0, 1, 2, 3, 4, 5, 6, 7, EXIT_GUEST_NOT_FOUND];

/// A plan being carried out.
struct Progress<'a> {
    plan: &'a Plan,
    done: Vec<String>,
}

impl Progress<'_> {
    fn failed(&self, step: &Step, source: impl Into<HostError>) -> StepFailed {
        let pending = self.plan.steps.iter().map(|s| &s.id).filter(|id| **id != step.id && !self.done.contains(id)).cloned().collect();
        StepFailed { step: step.id.clone(), command: self.plan.command.clone(), done: self.done.clone(), pending, source: source.into() }
    }

    fn summary(&self, result: Outcome, overlay: &str) -> Summary {
        Summary { profile: self.plan.profile.clone(), result, steps: self.done.clone(), overlay: overlay.to_owned() }
    }
}

fn argv(step: &Step) -> Result<&[String], HostError> {
    step.argv().ok_or_else(|| format!("step `{}` runs no command", step.id).into())
}

/// `minikube up` (see [`Plan::up`]): every step in order. Idempotent: a running profile is not
/// started again, and the host's build and apply converge. With a port-forward step, returns
/// only when the host's forward ends.
pub fn up(plan: &Plan, overlay: &str, host: &mut dyn Host) -> Result<Summary, StepFailed> {
    let mut run = Progress { plan, done: Vec::new() };
    let mut running = false;
    let mut docker = None;
    for step in &plan.steps {
        host.announce(step);
        let result: Result<(), HostError> = match step.work {
            Work::Find(tool) => host.find(tool).map(|path| host.detail(&format!("found {path}"))),
            Work::Status => status_of(step, host).map(|state| {
                running = state.running();
                host.detail(&format!("host {}, apiserver {}", state.host, state.apiserver));
            }),
            Work::Start if running => {
                host.detail("already running: skipped");
                Ok(())
            }
            Work::DockerEnv => argv(step).and_then(|a| host.exec(a, Output::Capture, &[0])).and_then(|out| {
                let env = DockerEnv::parse(&out.stdout)?;
                host.detail(&format!("DOCKER_HOST={}", env.host));
                docker = Some(env);
                Ok(())
            }),
            Work::BuildImages => match &docker {
                Some(env) => host.build_images(env),
                None => Err("the images are built after `docker-env`, which did not run".into()),
            },
            Work::StartDatabases => host.start_databases(),
            Work::Apply => host.apply(),
            Work::Wait => {
                host.detail("done: the apply waited for every rollout");
                Ok(())
            }
            Work::PortForward => {
                run.done.push(step.id.clone());
                let summary = run.summary(Outcome::Ready, overlay);
                return host.port_forward(&summary).map(|()| summary).map_err(|e| {
                    run.done.pop();
                    run.failed(step, e)
                });
            }
            Work::Start | Work::Command | Work::Stop | Work::Workloads => {
                argv(step).and_then(|a| host.exec(a, Output::Stream, &[0])).map(drop)
            }
        };
        result.map_err(|e| run.failed(step, e))?;
        run.done.push(step.id.clone());
    }
    Ok(run.summary(Outcome::Ready, overlay))
}

/// `minikube down` (see [`Plan::down`]): stops the profile; one that does not exist is
/// [`Outcome::Absent`], not an error.
pub fn down(plan: &Plan, host: &mut dyn Host) -> Result<Summary, StepFailed> {
    let mut run = Progress { plan, done: Vec::new() };
    for step in &plan.steps {
        host.announce(step);
        let result: Result<bool, HostError> = match step.work {
            Work::Find(tool) => host.find(tool).map(|path| {
                host.detail(&format!("found {path}"));
                false
            }),
            _ => argv(step)
                .and_then(|a| host.exec(a, Output::Stream, &[0, EXIT_GUEST_NOT_FOUND]))
                .map(|out| out.code == Some(EXIT_GUEST_NOT_FOUND)),
        };
        if result.map_err(|e| run.failed(step, e))? {
            return Ok(run.summary(Outcome::Absent, ""));
        }
        run.done.push(step.id.clone());
    }
    Ok(run.summary(Outcome::Stopped, ""))
}

/// `minikube status` (see [`Plan::status`]): the profile's state from minikube. Listing the
/// workloads is the caller's (it needs the cluster session), when the state is running.
pub fn status(plan: &Plan, host: &mut dyn Host) -> Result<Status, StepFailed> {
    let run = Progress { plan, done: Vec::new() };
    let step = plan.steps.iter().find(|s| s.work == Work::Status);
    let step = step.ok_or_else(|| StepFailed {
        step: "status".to_owned(),
        command: plan.command.clone(),
        done: Vec::new(),
        pending: Vec::new(),
        source: "the plan has no status step".into(),
    })?;
    status_of(step, host).map_err(|e| run.failed(step, e))
}

fn status_of(step: &Step, host: &mut dyn Host) -> Result<Status, HostError> {
    let out = host.exec(argv(step)?, Output::Quiet, &STATUS_CODES)?;
    Ok(Status::parse(out.code, &out.stdout)?)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::minikube::{CatalogueRun, OverlaySummary, PlanInputs};

    /// A host that answers `minikube status` with `status`, records what it was asked, and fails
    /// the work named in `fail`.
    #[derive(Default)]
    struct Scripted {
        status: String,
        fail: Option<&'static str>,
        calls: Vec<String>,
    }

    impl Scripted {
        fn call(&mut self, what: &str) -> Result<(), HostError> {
            self.calls.push(what.to_owned());
            if self.fail == Some(what) { Err(format!("{what} broke").into()) } else { Ok(()) }
        }
    }

    impl Host for Scripted {
        fn find(&mut self, tool: Tool) -> Result<String, HostError> {
            self.call(&format!("find {}", tool.name())).map(|()| format!("/bin/{}", tool.name()))
        }
        fn exec(&mut self, argv: &[String], _: Output, _: &[i32]) -> Result<Finished, HostError> {
            self.call(&argv[..2].join(" "))?;
            let stdout = match argv[1].as_str() {
                "status" => self.status.clone(),
                "docker-env" => "DOCKER_HOST=tcp://192.168.49.2:2376\n".to_owned(),
                _ => String::new(),
            };
            Ok(Finished { code: Some(0), stdout })
        }
        fn build_images(&mut self, docker: &DockerEnv) -> Result<(), HostError> {
            self.call(&format!("build on {}", docker.host))
        }
        fn start_databases(&mut self) -> Result<(), HostError> {
            self.call("databases")
        }
        fn apply(&mut self) -> Result<(), HostError> {
            self.call("apply")
        }
        fn port_forward(&mut self, summary: &Summary) -> Result<(), HostError> {
            self.call(&format!("forward after {}", summary.steps.len()))
        }
    }

    fn plan() -> Plan {
        let settings = stack_config::environment::Minikube {
            profile: "dev".into(),
            driver: "docker".into(),
            cpus: 2,
            memory_mb: 4096,
            disk_size: "20g".into(),
            addons: vec!["ingress".into()],
            overlay: "minikube".into(),
            kube_contexts: vec!["dev".into()],
            namespace: "apps".into(),
            port_forward: Some(stack_config::environment::PortForward { service: "web".into(), local_port: 8080, remote_port: 80 }),
        };
        let inputs = PlanInputs {
            overlay: OverlaySummary {
                objects: 3,
                workloads: vec!["deployment/web".into()],
                images: vec!["redis:7".into(), "web:dev".into()],
            },
            build: CatalogueRun { short_name: "b".into(), services: vec!["web".into()] },
            built_images: vec!["web:dev".into()],
            databases: CatalogueRun { short_name: "d".into(), services: vec!["redis".into()] },
            wait_timeout_secs: 60,
            port_forward: true,
        };
        Plan::up(&settings, &inputs)
    }

    const RUNNING: &str = r#"{"Name":"dev","Host":"Running","Kubelet":"Running","APIServer":"Running","Kubeconfig":"Configured"}"#;
    const STOPPED: &str = r#"{"Name":"dev","Host":"Stopped","Kubelet":"Stopped","APIServer":"Stopped","Kubeconfig":"Stopped"}"#;

    #[test]
    fn up_on_a_stopped_profile_does_every_step_in_order() {
        let mut host = Scripted { status: STOPPED.into(), ..Scripted::default() };
        let summary = up(&plan(), "minikube", &mut host).unwrap();
        assert_eq!(
            host.calls,
            [
                "find minikube",
                "find kubectl",
                "minikube status",
                "minikube start",
                "minikube addons",
                "minikube docker-env",
                "build on tcp://192.168.49.2:2376",
                "databases",
                "minikube image",
                "apply",
                "forward after 12"
            ]
        );
        assert_eq!(summary.result, Outcome::Ready);
        assert_eq!(summary.steps.len(), plan().steps.len());
    }

    #[test]
    fn up_on_a_running_profile_does_not_start_it_again() {
        let mut host = Scripted { status: RUNNING.into(), ..Scripted::default() };
        up(&plan(), "minikube", &mut host).unwrap();
        assert!(!host.calls.iter().any(|c| c == "minikube start"), "{:?}", host.calls);
        assert!(host.calls.iter().any(|c| c == "apply"), "{:?}", host.calls);
    }

    #[test]
    fn a_failed_step_names_what_was_done_and_what_was_not() {
        let mut host = Scripted { status: STOPPED.into(), fail: Some("databases"), ..Scripted::default() };
        let error = up(&plan(), "minikube", &mut host).unwrap_err();
        assert_eq!(error.step, "db-start");
        assert_eq!(error.done.last().map(String::as_str), Some("build-images"));
        assert_eq!(error.pending.first().map(String::as_str), Some("load-image-redis"));
        let text = error.to_string();
        assert!(text.starts_with("step `db-start` of minikube up failed (done: find-minikube, "), "{text}");
        assert_eq!(error.source.to_string(), "databases broke");
        assert!(!host.calls.iter().any(|c| c == "apply"), "nothing after the failure ran: {:?}", host.calls);
    }
}
