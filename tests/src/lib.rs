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

/// A free TCP port on all interfaces, as Docker will bind it.
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("0.0.0.0:0").expect("bind an ephemeral port");
    l.local_addr().expect("local addr").port()
}

/// One isolated SrvThreds stack for a test: its own compose project, network, image tag and
/// host ports, in the `test` environment, driven through the real `cargo xtask` commands.
/// Dropping it removes every container, network and volume of its project.
#[derive(Debug)]
pub struct TestStack {
    pub project: String,
    pub vars: Vec<(String, String)>,
}

impl TestStack {
    pub fn new(name: &str) -> TestStack {
        let project = format!("e2e-{name}-{}", std::process::id());
        let mut vars: Vec<(String, String)> = test_image_vars().to_vec();
        for (k, v) in [
            ("COMPOSE_PROJECT_NAME", project.clone()),
            ("SRVTHREDS_NETWORK", format!("{project}-net")),
            ("SRVTHREDS_TAG", "e2e".to_owned()),
            ("MONGO_PORT", free_port().to_string()),
            ("REDIS_PORT", free_port().to_string()),
            ("RABBITMQ_PORT", free_port().to_string()),
            ("RABBITMQ_MANAGEMENT_PORT", free_port().to_string()),
            ("SESSION_AGENT_PORT", free_port().to_string()),
        ] {
            vars.push((k.to_owned(), v));
        }
        let stack = TestStack { project, vars };
        stack.remove_all();
        stack
    }

    /// The value of one of this stack's variables.
    pub fn var(&self, key: &str) -> String {
        self.vars.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.clone()).unwrap_or_default()
    }

    /// Sets (or replaces) a variable for later commands.
    pub fn set(&mut self, key: &str, value: &str) {
        self.vars.retain(|(k, _)| k != key);
        self.vars.push((key.to_owned(), value.to_owned()));
    }

    /// `cargo xtask --env test ARGS` with this stack's variables.
    pub fn xtask(&self, args: &[&str]) -> Output {
        let mut cmd = xtask();
        cmd.arg("--env").arg("test").args(args).env("CI", "true");
        for (k, v) in &self.vars {
            cmd.env(k, v);
        }
        cmd.output().unwrap_or_else(|e| panic!("cannot run cargo xtask {args:?}: {e}"))
    }

    /// Like [`TestStack::xtask`], asserting success.
    pub fn ok(&self, args: &[&str]) -> Output {
        let out = self.xtask(args);
        assert!(out.status.success(), "cargo xtask {args:?} failed\n{}", describe(&out));
        out
    }

    /// Names of this project's containers (all states).
    pub fn containers(&self) -> Vec<String> {
        docker_lines(&["ps", "-a", "--filter", &format!("label=com.docker.compose.project={}", self.project), "--format", "{{.Names}}"])
    }

    /// `docker exec CONTAINER ARGS` output, asserting success.
    pub fn exec(&self, service: &str, args: &[&str]) -> String {
        let container = format!("{}-{service}-1", self.project);
        let out = Command::new("docker").arg("exec").arg(&container).args(args).output().expect("docker exec");
        assert!(out.status.success(), "docker exec {container} {args:?}\n{}", describe(&out));
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    fn remove_all(&self) {
        let label = format!("label=com.docker.compose.project={}", self.project);
        let ids = docker_lines(&["ps", "-aq", "--filter", &label]);
        if !ids.is_empty() {
            let mut args = vec!["rm", "-f", "-v"];
            args.extend(ids.iter().map(String::as_str));
            docker_lines(&args);
        }
        for kind in ["network", "volume"] {
            let names = docker_lines(&[kind, "ls", "-q", "--filter", &label]);
            for n in names {
                docker_lines(&[kind, "rm", &n]);
            }
        }
    }
}

impl Drop for TestStack {
    fn drop(&mut self) {
        self.remove_all();
    }
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
        copy_dir(repo_root().join("infrastructure").as_std_path(), &dir.path().join("infrastructure"));
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

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir").flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}
