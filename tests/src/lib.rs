//! Shared helpers of the integration tests: paths of the repository and running `cargo xtask`.

use std::process::{Command, Output};

use camino::{Utf8Path, Utf8PathBuf};

/// The workspace root.
pub fn repo_root() -> Utf8PathBuf {
    Utf8Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Utf8Path::to_owned).unwrap_or_default()
}

/// The xtask binary built for these tests (cargo builds workspace binaries before tests that
/// name them; we build it once with cargo to be sure it is current).
pub fn xtask() -> Command {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut cmd = Command::new(cargo);
    cmd.args(["run", "--quiet", "--package", "xtask", "--"]).current_dir(repo_root());
    cmd.env_remove("SRVTHREDS_ENV");
    cmd
}

/// Runs `cargo xtask ARGS` and returns its output.
pub fn run_xtask(args: &[&str]) -> Output {
    xtask().args(args).output().unwrap_or_else(|e| panic!("cannot run cargo xtask {args:?}: {e}"))
}

/// stdout and stderr of an output, for assertion messages.
pub fn describe(out: &Output) -> String {
    format!(
        "exit: {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
