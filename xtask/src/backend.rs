//! Heavy backends (kube, the AWS SDK) are compiled only into `--features full` builds. A command
//! that needs them re-runs xtask through cargo with that feature, so `cargo xtask` stays quick to
//! build for the everyday Docker commands.

use std::path::Path;
use std::process::{Command, ExitCode};

use anyhow::{Context, bail};

use crate::output::note;

/// Runs `$body` (compiled into `full` builds only) in a `full` build; re-runs xtask with
/// `--features full` otherwise. The one gate of every command that needs the backends.
macro_rules! in_full_build {
    ($cx:expr, $body:expr) => {{
        if let Some(code) = crate::backend::ensure_full(&$cx.command)? {
            return Ok(code);
        }
        #[cfg(feature = "full")]
        {
            $body
        }
        #[cfg(not(feature = "full"))]
        {
            anyhow::bail!("`{}` needs the full build", $cx.command)
        }
    }};
}
pub(crate) use in_full_build;

/// Set on the re-run so a build that still lacks the feature fails instead of looping.
pub const REEXEC_GUARD: &str = "SRVTHREDS_XTASK_REEXEC";

/// `None` when this binary has the backends; otherwise runs the same arguments through a
/// `--features full` build and returns its exit code.
pub fn ensure_full(what: &str) -> anyhow::Result<Option<ExitCode>> {
    if cfg!(feature = "full") {
        return Ok(None);
    }
    if std::env::var_os(REEXEC_GUARD).is_some() {
        bail!(
            "`{what}` needs the `full` feature, and the rebuilt xtask still lacks it\n  help: run `cargo run --package xtask --features full -- ...` directly"
        );
    }
    note(&format!(
        "note: `{what}` needs the Kubernetes/AWS backends: running xtask with --features full (the first build takes several minutes)"
    ));
    let mut command = full_command()?;
    command.args(std::env::args_os().skip(1));
    // On Unix the full build replaces this process (cargo run execs its binary in turn), so a
    // signal sent to this pid reaches the real command and nothing is left behind.
    #[cfg(unix)]
    return Err(std::os::unix::process::CommandExt::exec(&mut command)).context("running cargo to rebuild xtask");
    #[cfg(not(unix))]
    return Ok(Some(ExitCode::from(
        command.status().context("running cargo to rebuild xtask")?.code().map_or(1, |c| c.clamp(0, 255) as u8),
    )));
}

/// `cargo run ... --package xtask --features full --` (arguments to follow), with the re-run
/// guard set.
///
/// The full build gets its own target directory (`<target>/full`): both builds produce the
/// same `xtask` binary file, so in one directory every switch between them recompiles and
/// relinks xtask (over a minute here); apart, both stay fresh.
pub fn full_command() -> anyhow::Result<Command> {
    let cargo = std::env::var_os("CARGO").map(Into::into).map_or_else(|| which::which("cargo"), Ok).context("cannot find cargo to rebuild xtask with the Kubernetes/AWS backends\n  help: install Rust with rustup, or run `cargo run --package xtask --features full -- ...`")?;
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap_or(Path::new("."));
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => std::env::current_dir().context("reading the current directory")?.join(dir),
        None => workspace.join("target"),
    };
    let mut command = Command::new(cargo);
    command
        .args(["run", "--quiet", "--manifest-path"])
        .arg(workspace.join("Cargo.toml"))
        .args(["--package", "xtask", "--features", "full", "--"])
        .env("CARGO_TARGET_DIR", target.join("full"))
        .env(REEXEC_GUARD, "1");
    Ok(command)
}

/// A runtime for the async drivers; only commands that talk to an engine or a cluster build one.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().context("starting the async runtime")
}

/// Whether `error` is (or was caused by) an interruption (Ctrl-C).
pub fn interrupted(error: &anyhow::Error) -> bool {
    error.chain().any(|c| matches!(c.downcast_ref::<stack_compose::Error>(), Some(stack_compose::Error::Interrupted { .. })))
}
