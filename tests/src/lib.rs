//! Shared helpers of the integration tests: running `cargo xtask` (on the repository's tree or
//! on a copy of it) and the docker CLI. Harness concerns (isolated stacks, free ports, fixture
//! copies, teardown) are `stack_testkit`'s; what is here only wraps them for these tests.

pub mod live;

use std::process::{Command, Output};

use camino::Utf8PathBuf;

/// The workspace root.
pub fn repo_root() -> Utf8PathBuf {
    stack_testkit::repository_root().to_owned()
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

/// The plain xtask binary cargo builds for these tests (`<target>/debug/xtask`), built first:
/// for a test that runs it in an environment cargo itself could not run in (another `PATH`).
pub fn xtask_binary() -> std::path::PathBuf {
    static BUILT: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let out = run_xtask(&["--version"]);
            assert!(out.status.success(), "cargo xtask --version failed\n{}", describe(&out));
            // This test binary is `<target>/debug/deps/NAME-HASH`.
            let exe = std::env::current_exe().expect("the test binary's path");
            let binary = exe.parent().and_then(std::path::Path::parent).map(|debug| debug.join("xtask")).expect("a target directory");
            assert!(binary.is_file(), "no xtask binary at {}", binary.display());
            binary
        })
        .clone()
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

/// Panics with a clear message when no Docker Engine answers: a test that needs one must fail,
/// never skip.
pub fn require_engine() {
    let out = Command::new("docker").args(["version", "--format", "{{.Server.Version}}"]).output();
    match out {
        Ok(o) if o.status.success() => {}
        Ok(o) => panic!(
            "no Docker Engine answers (`docker version`: {}); .ci/run starts dockerd, start one by hand for local runs",
            String::from_utf8_lossy(&o.stderr).trim()
        ),
        Err(e) => panic!("cannot run the docker CLI ({e}); .ci/run installs docker.io and starts dockerd"),
    }
}

/// The `NAME=VALUE` lines of `cargo xtask test-images` (built once per test binary).
pub fn test_image_vars() -> &'static [(String, String)] {
    static VARS: std::sync::OnceLock<Vec<(String, String)>> = std::sync::OnceLock::new();
    VARS.get_or_init(|| {
        require_engine();
        let out = run_xtask(&["test-images"]);
        assert!(out.status.success(), "cargo xtask test-images failed\n{}", describe(&out));
        let vars: Vec<(String, String)> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())))
            .collect();
        assert_eq!(vars.len(), 5, "test-images printed {vars:?}");
        vars
    })
}

/// A free TCP port on all interfaces, as Docker will bind it, never handed out twice in this
/// process (`stack_testkit::free_port`).
pub fn free_port() -> u16 {
    stack_testkit::free_port("tcp").unwrap_or_else(|e| panic!("no free TCP port: {e}"))
}

/// Runs the docker CLI and returns its stdout lines (empty on failure).
pub fn docker_lines(args: &[&str]) -> Vec<String> {
    Command::new("docker")
        .args(args)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).lines().map(str::to_owned).filter(|l| !l.is_empty()).collect())
        .unwrap_or_default()
}

/// stderr of an output as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// stdout of an output as text.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A copy of `infrastructure/` in a temporary directory (removed on drop), for tests that break
/// or change it; xtask runs against it with `--infra`, the compose build context
/// (`SRVTHREDS_BUILD_CONTEXT`) kept at the real repository.
#[derive(Debug)]
pub struct InfraCopy {
    dir: tempfile::TempDir,
}

impl InfraCopy {
    pub fn new() -> InfraCopy {
        let dir = tempfile::tempdir().expect("tempdir");
        stack_testkit::fixture::copy_tree(repo_root().join("infrastructure").as_std_path(), &dir.path().join("infrastructure"))
            .expect("copy infrastructure/");
        InfraCopy { dir }
    }

    /// The copy's `infrastructure/` directory.
    pub fn root(&self) -> Utf8PathBuf {
        Utf8PathBuf::from_path_buf(self.dir.path().join("infrastructure")).expect("a UTF-8 temporary directory")
    }

    /// Rewrites one file of the copy with `f`.
    pub fn edit(&self, rel: &str, f: impl FnOnce(String) -> String) {
        let path = self.root().join(rel);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        std::fs::write(&path, f(text)).expect("write");
    }

    /// Replaces `from` (which must occur) by `to` in one file of the copy.
    pub fn replace(&self, rel: &str, from: &str, to: &str) {
        self.edit(rel, |text| {
            assert!(text.contains(from), "{rel} lacks {from:?}");
            text.replacen(from, to, 1)
        });
    }

    /// `cargo xtask --infra <copy> ARGS`, not run yet.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = xtask();
        cmd.arg("--infra").arg(self.root().as_str()).args(args).env("SRVTHREDS_BUILD_CONTEXT", repo_root().as_str());
        cmd
    }

    /// `cargo xtask --infra <copy> ARGS`, run.
    pub fn xtask(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run xtask")
    }
}

impl Default for InfraCopy {
    fn default() -> Self {
        InfraCopy::new()
    }
}
