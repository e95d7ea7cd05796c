//! Heavy backends (kube, the AWS SDK) are compiled only into `--features full` builds. A command
//! that needs them re-runs xtask through cargo with that feature, so `cargo xtask` stays quick to
//! build for the everyday Docker commands.

use std::process::{Command, ExitCode};

use anyhow::{Context, bail};

use crate::output::note;

/// Set on the re-run so a build that still lacks the feature fails instead of looping.
const REEXEC_GUARD: &str = "SRVTHREDS_XTASK_REEXEC";

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
    let cargo = std::env::var_os("CARGO").map(Into::into).map_or_else(|| which::which("cargo"), Ok).context("cannot find cargo to rebuild xtask with the Kubernetes/AWS backends\n  help: install Rust with rustup, or run `cargo run --package xtask --features full -- ...`")?;
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml");
    note(&format!(
        "note: `{what}` needs the Kubernetes/AWS backends: running xtask with --features full (the first build takes several minutes)"
    ));
    let status = Command::new(cargo)
        .args(["run", "--quiet", "--manifest-path", manifest, "--package", "xtask", "--features", "full", "--"])
        .args(std::env::args_os().skip(1))
        .env(REEXEC_GUARD, "1")
        .status()
        .context("running cargo to rebuild xtask")?;
    let code = status.code().map_or(1, |c| u8::try_from(c).unwrap_or(1));
    Ok(Some(ExitCode::from(code)))
}
