//! `cargo xtask`: parses flags and dispatches to one module per command group.

mod backend;
#[cfg(feature = "full")]
mod cloud;
#[cfg(feature = "full")]
mod cluster;
mod deploy;
mod flags;
mod images;
mod k8s;
mod local;
mod minikube;
mod output;
#[cfg(feature = "full")]
mod release;
mod terraform;

use std::process::ExitCode;

use camino::{Utf8Path, Utf8PathBuf};
use clap::{CommandFactory, FromArgMatches};
use stack_config::environment::Kind;
use stack_config::infra::LoadOptions;

use crate::backend::in_full_build;
use crate::flags::{Cloud, Command, Db, K8s, Services, Xtask};
use crate::output::{Out, note};

/// What every command needs besides its own flags.
#[derive(Debug, Clone)]
pub struct Context {
    pub infra: Utf8PathBuf,
    pub env: String,
    pub dry_run: bool,
    pub out: Out,
    pub quiet: bool,
    pub verbose: bool,
    pub wait_timeout: u64,
    /// The subcommand words (`k8s apply`), for messages.
    pub command: String,
}

impl Context {
    /// The infrastructure tree, loaded once per command; its warnings on stderr.
    pub fn load(&self) -> anyhow::Result<stack_config::Infra> {
        let (infra, warnings) = stack_config::Infra::load(&self.infra, &load_options())?;
        warnings.iter().for_each(|w| self.progress(&w.to_string()));
        Ok(infra)
    }

    /// A progress line on stderr, unless `--quiet`.
    pub fn progress(&self, line: &str) {
        if !self.quiet {
            note(line);
        }
    }

    /// `--dry-run` as the cluster session's mode.
    #[cfg(feature = "full")]
    pub fn mode(&self) -> stack_k8s::cluster::session::Mode {
        if self.dry_run { stack_k8s::cluster::session::Mode::DryRun } else { stack_k8s::cluster::session::Mode::Change }
    }

    /// The progress lines of a cluster session's events.
    #[cfg(feature = "full")]
    pub fn events(&self) -> impl FnMut(stack_k8s::cluster::session::Event<'_>) + '_ {
        move |event| self.progress(&event.to_string())
    }

    /// `--overlay`, `--images` and `--context` as the session's target.
    #[cfg(feature = "full")]
    pub fn k8s_target(&self, target: &flags::Target) -> anyhow::Result<stack_k8s::cluster::session::Target> {
        let images = target.overlay.images.as_deref().map(stack_config::release::Release::read).transpose()?;
        Ok(stack_k8s::cluster::session::Target { overlay: target.overlay.overlay.clone(), context: target.context.clone(), images })
    }

    /// The compose driver's sink: progress on stderr (image build lines with `--verbose`), job
    /// output on stdout as the human result (stderr with `--output json`).
    pub fn terminal(&self) -> stack_compose::entry::Terminal {
        stack_compose::entry::Terminal::for_command_line(self.quiet, self.verbose, self.out.is_json() || self.out.to_stderr)
            .live(std::time::Duration::from_secs(self.wait_timeout))
    }

    /// Runs `f` with this context's console for the workflows of `stack-ops`: progress on stderr,
    /// inner steps' results as human text where this context's results go.
    pub fn with_console<T>(&self, f: impl FnOnce(&stack_ops::Console<'_>) -> T) -> T {
        let (progress, result, terminal) = (|line: &str| note(line), |text: &str| drop(self.out.text(text)), self.terminal());
        let console = stack_ops::Console {
            quiet: self.quiet,
            verbose: self.verbose,
            background: std::sync::Arc::new(|line: &str| note(line)),
            ..stack_ops::Console::new(&progress, &result, &terminal)
        };
        f(&console)
    }

    /// The options of a Docker catalogue entry: `--wait-timeout`, volumes and orphans kept.
    pub fn entry_options(&self) -> stack_compose::entry::Options {
        stack_compose::entry::Options { wait_timeout: std::time::Duration::from_secs(self.wait_timeout), ..Default::default() }
    }

    /// The context of a step inside a command that prints one result of its own (see
    /// [`Out::nested`]).
    pub fn nested(&self) -> Context {
        Context { out: self.out.nested(), ..self.clone() }
    }
}

fn main() -> ExitCode {
    let matches = Xtask::command().get_matches();
    // `k8s apply`: the subcommand words, for messages.
    let words: Vec<&str> = std::iter::successors(matches.subcommand(), |(_, m)| m.subcommand()).map(|(name, _)| name).collect();
    let flags = Xtask::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    init_logging(flags.global.verbose, flags.global.quiet);
    match run(flags, words.join(" ")) {
        Ok(code) => code,
        Err(e) => {
            // Config errors are already rendered as `error: file:line:col: ...` lines.
            let text = format!("{e:#}");
            note(&if text.starts_with("error:") { text } else { format!("error: {text}") });
            if let Some(help) = flags::help_for(&e) {
                note(&format!("  help: {help}"));
            }
            // 130 = 128 + SIGINT, as shells report an interrupted command.
            if backend::interrupted(&e) {
                return ExitCode::from(130);
            }
            ExitCode::FAILURE
        }
    }
}

// Without `full` the gated commands' flags are not used, only the re-run through cargo.
#[cfg_attr(not(feature = "full"), allow(unused_variables))]
fn run(flags: Xtask, command: String) -> anyhow::Result<ExitCode> {
    let g = flags.global;
    // Without --infra and outside a tree: the one of the repository this xtask was built from.
    let repository = Utf8Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap_or(Utf8Path::new(".")).join("infrastructure");
    let cx = Context {
        infra: g.infra.unwrap_or_else(|| stack_config::infra::default_tree(&repository)),
        env: g.env,
        dry_run: g.dry_run,
        out: Out::new(g.output),
        quiet: g.quiet,
        verbose: g.verbose > 0,
        wait_timeout: g.wait_timeout,
        command,
    };
    match flags.command {
        Command::Deploy(args) => deploy::run(&cx, args),
        Command::Config { action } => k8s::config_check(&cx, action),
        Command::Db { action } => match action {
            Db::Start => deploy::run_short(&cx, "s_a_dbs"),
            Db::Stop => deploy::run_short(&cx, "stop_a_dbs"),
            Db::Status => local::status(&cx, Some("s_a_dbs")),
            Db::Reset { yes } => deploy::reset(&cx, yes),
        },
        Command::Services { action } => match action {
            Services::Build => deploy::run_short(&cx, "b_a_s"),
            Services::Up => deploy::run_short(&cx, "s_a_s"),
            Services::Down => deploy::run_short(&cx, "d_a_s"),
            Services::Logs(l) => local::logs(&cx, Some("s_a_s"), &l.services, l.follow, &l.tail),
        },
        Command::Bootstrap => deploy::run_short(&cx, "bootstrap"),
        Command::Status if cx.load()?.environments.get(&cx.env)?.kind != Kind::Docker => in_full_build!(cx, release::status(&cx)),
        Command::Status => local::status(&cx, None),
        Command::Logs(l) => local::logs(&cx, None, &l.services, l.follow, &l.tail),
        Command::TestImages => local::test_images(&cx),
        Command::Images { action: flags::Images::Push(args) } => images::push(&cx, args),
        Command::Bench { what: flags::Bench::Compose { runs } } => local::bench_compose(&cx, runs),
        Command::Health(args) => in_full_build!(cx, release::health(&cx, args)),
        Command::Minikube { action } => minikube::run(&cx, action),
        Command::K8s { action: K8s::Render(args) } => k8s::render(&cx, args),
        Command::K8s { action: K8s::Pin(args) } => k8s::pin(&cx, args),
        Command::K8s { action: K8s::Validate(args) } => k8s::validate(&cx, &args),
        Command::K8s { action } => in_full_build!(cx, cluster::run(&cx, action)),
        Command::Release(args) => in_full_build!(cx, release::release(&cx, args)),
        Command::Smoke(args) => in_full_build!(cx, release::smoke(&cx, args)),
        Command::Cloud { action: Cloud::Lint } => k8s::lint_terraform(&cx),
        Command::Cloud { action: action @ (Cloud::Plan | Cloud::Apply { .. } | Cloud::Destroy { .. }) } => terraform::run(&cx, action),
        Command::Cloud { action } => in_full_build!(cx, cloud::run(&cx, action)),
        Command::Doctor => local::doctor(&cx),
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Xtask::command(), "xtask", &mut script);
            cx.out.text(&String::from_utf8_lossy(&script)).map(|()| ExitCode::SUCCESS)
        }
    }
}

/// Load options from this process: its environment overrides env files, as in Compose.
pub fn load_options() -> LoadOptions {
    LoadOptions { process_env: std::env::vars().collect() }
}

fn init_logging(verbose: u8, quiet: bool) {
    let level = stack_ops::log_filter(verbose, quiet);
    let filter = tracing_subscriber::EnvFilter::try_from_env("XTASK_LOG").unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let ci = stack_compose::live::ci(std::env::var("CI").ok().as_deref());
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr()) && std::env::var_os("NO_COLOR").is_none() && !ci;
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi).with_target(false).without_time().init();
}
