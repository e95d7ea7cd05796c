//! Running a Docker entry of the deployment catalogue, as one call: its pre-commands, the compose
//! action its `deployCommand` names (up, run, build, stop, down), then its post-commands when the
//! action succeeded. [`run`] is the blocking entry point (it owns a runtime, and Ctrl-C ends it
//! as [`Error::Interrupted`]); [`action`] is the compose action alone, for async callers.
//!
//! ```no_run
//! # fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use stack_compose::EngineOptions;
//! use stack_compose::entry::{self, Options};
//! use stack_config::infra::{Infra, LoadOptions};
//!
//! let (infra, _) = Infra::load(camino::Utf8Path::new("infrastructure"), &LoadOptions::default())?;
//! let (resolved, _) = infra.resolve("local", "s_a_dbs")?;
//! let engine = EngineOptions::from_env(&|k| std::env::var(k).ok());
//! let report = entry::run(&resolved, std::path::Path::new("."), &engine, &Options::default(), &entry::Quiet)?;
//! println!("{report}");
//! # Ok(()) }
//! ```

use std::fmt;
use std::path::Path;
use std::time::Duration;

use serde::Serialize;
use stack_config::deployment::DeployCommand;
use stack_config::infra::Resolved;

use crate::progress::{Event, Progress};
use crate::{BuildPolicy, DownOptions, Engine, EngineOptions, Error, Result, Stack, Teardown, UpOptions};

/// What a teardown does with the project's named volumes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Volumes {
    #[default]
    Keep,
    /// Remove them: their data is lost.
    Remove,
}

/// What happens to containers of services no longer in the compose files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Orphans {
    #[default]
    Keep,
    Remove,
}

/// How to run an entry.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// The deadline of each readiness wait.
    pub wait_timeout: Duration,
    pub volumes: Volumes,
    pub orphans: Orphans,
}

impl Default for Options {
    fn default() -> Options {
        Options { wait_timeout: Duration::from_secs(180), volumes: Volumes::Keep, orphans: Orphans::Keep }
    }
}

/// Where an entry reports while it runs.
pub trait Sink: Progress {
    /// A line of a pre- or post-command (already redacted), or its announcement.
    fn hook_line(&self, line: &str);
    /// A line a one-shot job printed (already redacted).
    fn job_line(&self, job: &str, line: &str);
}

/// A sink that drops everything.
#[derive(Debug, Clone, Copy)]
pub struct Quiet;

impl Progress for Quiet {
    fn event(&self, _: &Event) {}
}

impl Sink for Quiet {
    fn hook_line(&self, _: &str) {}
    fn job_line(&self, _: &str, _: &str) {}
}

/// How much of an entry's progress [`Terminal`] shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// Nothing but job output.
    Quiet,
    /// Progress and command output, without image build lines.
    Normal,
    /// Everything, image build lines too.
    Verbose,
}

/// Where one-shot jobs' output goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobOutput {
    /// stdout, prefixed `job | ` (it is the human result).
    Stdout,
    /// stderr (stdout holds a JSON result).
    Stderr,
}

/// The sink of a command line: progress and command output on stderr, job output where
/// `jobs` says. The one place this crate writes to the process's streams, and only for a
/// caller that chose it.
/// On a terminal (see [`Terminal::live`]) progress is drawn live.
#[derive(Debug, Clone)]
pub struct Terminal {
    pub detail: Detail,
    pub jobs: JobOutput,
    pub live: Option<crate::live::Live>,
}

impl Terminal {
    /// The sink of a command line: `quiet` shows only errors, `verbose` adds the image build
    /// lines; job output goes to stderr when `jobs_on_stderr` (stdout holds another result).
    pub fn for_command_line(quiet: bool, verbose: bool, jobs_on_stderr: bool) -> Terminal {
        let detail = match (quiet, verbose) {
            (true, _) => Detail::Quiet,
            (_, true) => Detail::Verbose,
            _ => Detail::Normal,
        };
        Terminal { detail, jobs: if jobs_on_stderr { JobOutput::Stderr } else { JobOutput::Stdout }, live: None }
    }

    /// Draws progress live when stderr is a terminal and `CI` is unset ([`crate::live::Live`]),
    /// waits measured against `deadline`; plain lines otherwise, and always with `Quiet`.
    pub fn live(mut self, deadline: Duration) -> Terminal {
        if self.detail != Detail::Quiet && crate::live::Live::wanted() {
            self.live = Some(crate::live::Live::new(deadline));
        }
        self
    }

    /// A plain line on stderr, above the live lines when there are any.
    pub fn line(&self, line: &str) {
        match &self.live {
            Some(live) => live.line(line),
            None => line_to(&mut std::io::stderr(), line),
        }
    }
}

impl Progress for Terminal {
    fn event(&self, event: &Event) {
        let shown = match self.detail {
            Detail::Quiet => false,
            Detail::Normal => !matches!(event, Event::ImageBuildLine { .. }),
            Detail::Verbose => true,
        };
        match (&self.live, shown) {
            (_, false) => {}
            (Some(live), true) => live.event(event, self.detail == Detail::Verbose),
            (None, true) => line_to(&mut std::io::stderr(), &event.to_string()),
        }
    }
}

impl Sink for Terminal {
    fn hook_line(&self, line: &str) {
        if self.detail != Detail::Quiet {
            self.line(line);
        }
    }

    fn job_line(&self, job: &str, line: &str) {
        match self.jobs {
            JobOutput::Stdout => {
                let print = || line_to(&mut std::io::stdout(), &format!("{job} | {line}"));
                self.live.as_ref().map_or_else(print, |live| live.suspend(print));
            }
            JobOutput::Stderr => self.line(&format!("{job} | {line}")),
        }
    }
}

/// One line; a closed stream (a pager quit) is not an error of the entry.
fn line_to(stream: &mut dyn std::io::Write, line: &str) {
    let _ = writeln!(stream, "{line}");
}

/// One one-shot job's result.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Job {
    pub job: String,
    pub exit_code: i64,
}

/// The jobs of a `run` entry, in order; the first that fails ends the run.
#[derive(Debug, Clone, Serialize)]
pub struct Jobs {
    pub project: String,
    pub jobs: Vec<Job>,
    pub ok: bool,
}

/// What the entry's action did. Serialized as the action's own report.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Report {
    Up(crate::Report),
    Run(Jobs),
    Build(Vec<crate::build::Built>),
    Stop(Teardown),
    Down(Teardown),
}

impl Report {
    /// The entry's exit code: 0, or the exit code of the job that failed (clamped to 1..=255).
    pub fn exit_code(&self) -> u8 {
        match self {
            Report::Run(jobs) => {
                jobs.jobs.iter().map(|j| j.exit_code).find(|c| *c != 0).map_or(0, |c| u8::try_from(c.clamp(1, 255)).unwrap_or(1))
            }
            _ => 0,
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Report::Up(r) if r.unchanged => write!(f, "{}: everything up to date ({:.1}s)", r.project, r.elapsed_secs),
            Report::Up(r) => write!(f, "{}: {} services ready in {:.1}s", r.project, r.services.len(), r.elapsed_secs),
            Report::Run(jobs) => {
                let failed = jobs.jobs.iter().find(|j| j.exit_code != 0);
                match failed {
                    Some(j) => write!(f, "{}: job {} exited with code {}", jobs.project, j.job, j.exit_code),
                    None => write!(f, "{}: {} jobs completed", jobs.project, jobs.jobs.len()),
                }
            }
            Report::Build(built) => {
                let lines: Vec<String> =
                    built.iter().map(|b| format!("{} {}", b.image, if b.skipped { "up to date" } else { "built" })).collect();
                write!(f, "{}", lines.join("\n"))
            }
            Report::Stop(t) => teardown(f, t.stopped.len(), "stopped", t),
            Report::Down(t) => teardown(f, t.removed.len(), "removed", t),
        }
    }
}

fn teardown(f: &mut fmt::Formatter<'_>, n: usize, verb: &str, t: &Teardown) -> fmt::Result {
    write!(f, "{n} containers {verb}")?;
    if !t.networks.is_empty() {
        write!(f, ", networks removed: {}", t.networks.join(", "))?;
    }
    if !t.volumes.is_empty() {
        write!(f, ", volumes removed: {}", t.volumes.join(", "))?;
    }
    Ok(())
}

/// Runs the Docker catalogue entry `resolved` on the engine `engine`: pre-commands from
/// `repo_root`, the compose action, and post-commands when it succeeded (see
/// [`crate::hooks::run_entry`]). Blocking: call it outside an async runtime.
pub fn run(resolved: &Resolved, repo_root: &Path, engine: &EngineOptions, options: &Options, sink: &dyn Sink) -> Result<Report> {
    let mut report = None;
    crate::hooks::run_entry(resolved, repo_root, &|l| sink.hook_line(l), || -> Result<u8> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(Error::Runtime)?;
        let done = runtime.block_on(async {
            let work = async {
                let engine = Engine::connect(engine).await?;
                action(&engine, resolved, options, sink).await
            };
            tokio::select! {
                r = work => r,
                _ = tokio::signal::ctrl_c() => Err(Error::Interrupted { doing: format!("running {}", resolved.deployment.short_name) }),
            }
        })?;
        let code = done.exit_code();
        report = Some(done);
        Ok(code)
    })?;
    report.ok_or_else(|| Error::Runtime(std::io::Error::other("the entry's action did not run")))
}

/// The compose action of the Docker entry `resolved` on `engine`.
pub async fn action(engine: &Engine, resolved: &Resolved, options: &Options, sink: &dyn Sink) -> Result<Report> {
    let project = resolved.compose.as_ref().ok_or_else(|| Error::NotDocker(resolved.deployment.short_name.clone()))?;
    let redactor = resolved.vars.redactor();
    let lookup = |k: &str| resolved.vars.get(k);
    let stack = Stack { name: &resolved.project_name, project, services: &resolved.services, lookup: &lookup, redactor: &redactor };
    let up = UpOptions {
        wait_timeout: options.wait_timeout,
        build: BuildPolicy::WhenChanged,
        remove_orphans: options.orphans == Orphans::Remove,
        ..UpOptions::default()
    };
    let progress: &dyn Progress = sink;
    Ok(match resolved.target.deploy_command {
        DeployCommand::Up => Report::Up(engine.up(&stack, &up, progress).await?),
        DeployCommand::Run => {
            let mut jobs = Vec::new();
            for job in resolved.target.services.clone().unwrap_or_default() {
                let on_log = |l: &str| sink.job_line(&job, l);
                let exit_code = engine.run_job(&stack, &job, &up, progress, &on_log).await?;
                jobs.push(Job { job: job.clone(), exit_code });
                if exit_code != 0 {
                    break;
                }
            }
            Report::Run(Jobs { project: resolved.project_name.clone(), ok: jobs.iter().all(|j| j.exit_code == 0), jobs })
        }
        DeployCommand::Build => Report::Build(build(engine, resolved, BuildPolicy::WhenChanged, progress).await?),
        DeployCommand::Stop => Report::Stop(engine.stop(&stack, progress).await?),
        DeployCommand::Down => {
            let down = DownOptions { volumes: options.volumes == Volumes::Remove, remove_orphans: options.orphans == Orphans::Remove };
            Report::Down(engine.down(&stack, down, progress).await?)
        }
        DeployCommand::Apply | DeployCommand::Delete => return Err(Error::NotDocker(resolved.deployment.short_name.clone())),
    })
}

/// The images a build entry (`deployCommand: build`) builds, in build order (bases first),
/// under `policy`: [`BuildPolicy::Plan`] decides what is stale and builds nothing.
pub async fn build(engine: &Engine, resolved: &Resolved, policy: BuildPolicy, progress: &dyn Progress) -> Result<Vec<crate::build::Built>> {
    let project = resolved.compose.as_ref().ok_or_else(|| Error::NotDocker(resolved.deployment.short_name.clone()))?;
    let selected: Vec<_> = resolved.services.iter().filter_map(|s| project.services.get(s)).collect();
    let order: Vec<_> = crate::plan::build_order(project, &resolved.project_name, &selected).into_iter().map(|(s, _)| s).collect();
    engine.build_images(&resolved.project_name, project, &order, policy, progress).await
}
