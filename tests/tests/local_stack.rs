//! The local Docker stack end to end on a real engine, through the real `cargo xtask` commands:
//! health, idempotency, dependency order, job exit codes, teardown, data kept across stop/start,
//! and the failure paths. Each test has its own compose project, network and host ports.
//! The tests run one at a time: a whole stack per test is what two cores can take.

use std::sync::{Mutex, MutexGuard};

use stack_tests::{describe, docker_lines, free_port, stderr, stdout, test_image_vars, xtask};

static SERIAL: Mutex<()> = Mutex::new(());

/// The passwords of `infrastructure/env/test.env.example`, which must never be printed.
const TEST_REDIS_PASSWORD: &str = "srvthreds-test-redis";
const TEST_RABBIT_PASSWORD: &str = "srvthreds-test-rabbit";

/// One isolated SrvThreds stack driven through the real `cargo xtask` commands in the `test`
/// environment: its own compose project, network, image tag and host ports (free ones, from
/// `stack_testkit`), the local test images. Created clean and removed on drop by
/// `stack_testkit::remove_project`, as a harness stack is. (`stack_testkit::TestStack` starts
/// a stack itself; these tests are about the commands that start it.)
#[derive(Debug)]
struct CliStack {
    project: String,
    vars: Vec<(String, String)>,
}

impl CliStack {
    fn new(name: &str) -> CliStack {
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
        // Leftovers of an earlier run of this test in a process with the same pid.
        stack_testkit::remove_project(&project);
        CliStack { project, vars }
    }

    /// The value of one of this stack's variables.
    fn var(&self, key: &str) -> String {
        self.vars.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.clone()).unwrap_or_default()
    }

    /// Sets (or replaces) a variable for later commands.
    fn set(&mut self, key: &str, value: &str) {
        self.vars.retain(|(k, _)| k != key);
        self.vars.push((key.to_owned(), value.to_owned()));
    }

    /// `cargo xtask --env test ARGS` with this stack's variables.
    fn xtask(&self, args: &[&str]) -> std::process::Output {
        let mut cmd = xtask();
        cmd.arg("--env").arg("test").args(args).env("CI", "true");
        cmd.envs(self.vars.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        cmd.output().unwrap_or_else(|e| panic!("cannot run cargo xtask {args:?}: {e}"))
    }

    /// `xtask --env test ARGS` in a pseudo-terminal (util-linux `script`), with `CI=true` or
    /// without `CI`; everything the terminal got, control sequences included.
    fn in_terminal(&self, args: &[&str], ci: bool) -> String {
        let line = std::iter::once(stack_tests::xtask_binary().display().to_string())
            .chain(["--env", "test"].into_iter().chain(args.iter().copied()).map(str::to_owned));
        let mut cmd = std::process::Command::new("script");
        cmd.args(["--quiet", "--flush", "--return", "--command"]).arg(line.collect::<Vec<_>>().join(" ")).arg("/dev/null");
        cmd.envs(self.vars.iter().map(|(k, v)| (k.as_str(), v.as_str()))).env_remove("CI").env("TERM", "xterm");
        if ci {
            cmd.env("CI", "true");
        }
        let out = cmd.output().unwrap_or_else(|e| panic!("cannot run `script` (util-linux) for a pseudo-terminal: {e}"));
        assert!(out.status.success(), "xtask {args:?} in a terminal failed\n{}", describe(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Like [`CliStack::xtask`], asserting success.
    fn ok(&self, args: &[&str]) -> std::process::Output {
        let out = self.xtask(args);
        assert!(out.status.success(), "cargo xtask {args:?} failed\n{}", describe(&out));
        out
    }

    /// Names of this project's containers (all states).
    fn containers(&self) -> Vec<String> {
        docker_lines(&["ps", "-a", "--filter", &format!("label=com.docker.compose.project={}", self.project), "--format", "{{.Names}}"])
    }

    /// `docker exec` in a service's container, asserting success; its trimmed stdout.
    fn exec(&self, service: &str, args: &[&str]) -> String {
        let container = format!("{}-{service}-1", self.project);
        let out = std::process::Command::new("docker").arg("exec").arg(&container).args(args).output().expect("docker exec");
        assert!(out.status.success(), "docker exec {container} {args:?}\n{}", describe(&out));
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }
}

impl Drop for CliStack {
    fn drop(&mut self) {
        stack_testkit::remove_project(&self.project);
    }
}

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("stdout is not one JSON document ({e})\n{}", describe(out)))
}

fn actions(report: &serde_json::Value) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = report["services"]
        .as_array()
        .expect("services")
        .iter()
        .map(|s| (s["service"].as_str().unwrap_or_default().to_owned(), s["action"]["kind"].as_str().unwrap_or_default().to_owned()))
        .collect();
    v.sort();
    v
}

#[test]
fn db_start_is_healthy_idempotent_and_recreates_only_what_changed() {
    let _g = serial();
    let mut s = CliStack::new("db");
    let first = json(&s.ok(&["db", "start", "--output", "json"]));
    assert_eq!(
        actions(&first),
        [("mongo", "create"), ("rabbitmq", "create"), ("redis", "create")].map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
    // Right after the start, status agrees with it: every store is healthy, even where Docker's
    // own first healthcheck (5 s after the start) has not run yet; the JSON says whose verdict.
    let status = json(&s.ok(&["db", "status", "--output", "json"]));
    for row in status.as_array().expect("rows") {
        assert_eq!(row["health"], "healthy", "{row}");
        match row["healthSource"].as_str() {
            Some("docker") => assert_eq!(row["dockerHealth"], "healthy", "{row}"),
            Some("probe") => assert_eq!(row["dockerHealth"], "starting", "{row}"),
            other => panic!("healthSource {other:?}: {row}"),
        }
    }
    assert_eq!(status.as_array().map(Vec::len), Some(3), "{status}");
    // Every store answers its own protocol inside its container, after this start.
    assert_eq!(s.exec("redis", &["redis-cli", "ping"]), "PONG");
    s.exec("rabbitmq", &["rabbitmq-diagnostics", "-q", "ping"]);
    assert_eq!(s.exec("mongo", &["mongosh", "--quiet", "--eval", "rs.status().ok"]), "1", "the replica set was initiated");

    let again = s.ok(&["db", "start", "--output", "json"]);
    let report = json(&again);
    assert_eq!(report["unchanged"], true, "{report}");
    assert!(actions(&report).iter().all(|(_, a)| a == "up_to_date"), "{report}");
    let human = s.ok(&["db", "start"]);
    assert!(stdout(&human).contains("everything up to date"), "{}", describe(&human));

    s.set("REDIS_PORT", &free_port().to_string());
    let changed = json(&s.ok(&["db", "start", "--output", "json"]));
    assert_eq!(
        actions(&changed),
        [("mongo", "up_to_date"), ("rabbitmq", "up_to_date"), ("redis", "recreate")].map(|(a, b)| (a.to_owned(), b.to_owned()))
    );

    let status = json(&s.ok(&["db", "status", "--output", "json"]));
    let rows = status.as_array().expect("rows");
    assert_eq!(rows.len(), 3, "{status}");
    assert!(rows.iter().all(|r| r["state"] == "running"), "{status}");
    // Docker Compose v1 sees the same containers through the same labels.
    let ps = std::process::Command::new("docker-compose")
        .args([
            "--env-file",
            "../../env/test.env.example",
            "-f",
            "docker-compose-db.yml",
            "-f",
            "docker-compose-services.yml",
            "-p",
            &s.project,
            "ps",
            "-q",
        ])
        .current_dir(stack_tests::repo_root().join("infrastructure/local/compose"))
        .envs(s.vars.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .expect("docker-compose runs");
    assert_eq!(String::from_utf8_lossy(&ps.stdout).lines().count(), 3, "docker-compose -p {} ps\n{}", s.project, describe(&ps));
}

#[test]
fn full_deploy_runs_in_dependency_order_and_job_exit_codes_propagate() {
    let _g = serial();
    let mut s = CliStack::new("full");
    let out = s.ok(&["deploy", "test", "s_a_dbs_s", "--output", "json"]);
    let report = json(&out);
    let ready = |svc: &str| -> f64 {
        report["services"]
            .as_array()
            .expect("services")
            .iter()
            .find(|r| r["service"] == svc)
            .and_then(|r| r["readyAfterSecs"].as_f64())
            .unwrap_or_else(|| panic!("{svc} missing: {report}"))
    };
    assert_eq!(report["services"].as_array().map(Vec::len), Some(7), "{report}");
    assert!(ready("mongo") <= ready("srvthreds-bootstrap") && ready("redis") <= ready("srvthreds-bootstrap"));
    assert!(ready("srvthreds-bootstrap") <= ready("srvthreds-engine"));
    assert!(ready("srvthreds-engine") <= ready("srvthreds-session-agent"));
    let events = stderr(&out);
    let pos = |needle: &str| events.find(needle).unwrap_or_else(|| panic!("no `{needle}` in\n{events}"));
    assert!(pos("srvthreds-bootstrap: completed") < pos("srvthreds-engine: started"), "{events}");
    assert!(pos("srvthreds-engine: healthy") < pos("srvthreds-session-agent: started"), "{events}");

    // The Session Agent answers on its published port.
    let port: u16 = s.var("SESSION_AGENT_PORT").parse().expect("port");
    let body = http_get(port, "/health");
    assert!(body.starts_with("HTTP/1.1 200") && body.contains("\"status\":\"ok\""), "{body}");

    let ok = s.xtask(&["bootstrap"]);
    assert_eq!(ok.status.code(), Some(0), "{}", describe(&ok));
    assert!(stdout(&ok).contains("srvthreds-bootstrap | "), "job logs are streamed\n{}", describe(&ok));
    // With --output json, stdout is one document; the job's lines go to stderr.
    let ok = s.xtask(&["bootstrap", "--output", "json"]);
    assert_eq!(ok.status.code(), Some(0), "{}", describe(&ok));
    let report = json(&ok);
    assert_eq!((report["ok"].as_bool(), report["jobs"][0]["exitCode"].as_i64()), (Some(true), Some(0)), "{report}");
    assert!(stderr(&ok).contains("srvthreds-bootstrap | "), "{}", describe(&ok));
    s.set("BOOTSTRAP_EXIT_CODE", "3");
    let failed = s.xtask(&["bootstrap"]);
    assert_eq!(failed.status.code(), Some(3), "the job's exit code is ours\n{}", describe(&failed));

    s.ok(&["deploy", "test", "d_a_dbs_s"]);
    assert!(s.containers().is_empty(), "down left {:?}", s.containers());
    let label = format!("label=com.docker.compose.project={}", s.project);
    assert!(docker_lines(&["network", "ls", "-q", "--filter", &label]).is_empty(), "down left a network");
}

#[test]
fn stop_and_start_keep_named_volume_data() {
    let _g = serial();
    let s = CliStack::new("data");
    s.ok(&["db", "start"]);
    assert_eq!(s.exec("redis", &["redis-cli", "SET", "kept", "yes"]), "OK");
    s.exec("redis", &["redis-cli", "SAVE"]);
    s.ok(&["db", "stop"]);
    let states =
        docker_lines(&["ps", "-a", "--filter", &format!("label=com.docker.compose.project={}", s.project), "--format", "{{.State}}"]);
    assert!(states.len() == 3 && states.iter().all(|st| st == "exited"), "{states:?}");
    s.ok(&["db", "start"]);
    assert_eq!(s.exec("redis", &["redis-cli", "GET", "kept"]), "yes");
}

#[test]
fn concurrent_starts_end_with_one_set_of_containers() {
    let _g = serial();
    let s = CliStack::new("race");
    let (a, b) = std::thread::scope(|scope| {
        let a = scope.spawn(|| s.xtask(&["db", "start"]));
        let b = scope.spawn(|| s.xtask(&["db", "start"]));
        (a.join().expect("thread"), b.join().expect("thread"))
    });
    assert!(a.status.success(), "{}", describe(&a));
    assert!(b.status.success(), "{}", describe(&b));
    let mut names = s.containers();
    names.sort();
    assert_eq!(names.len(), 3, "{names:?}");
}

#[test]
fn unreachable_engine_is_one_clear_error() {
    let mut s = CliStack::new("noengine");
    s.set("DOCKER_HOST", "unix:///nonexistent/docker.sock");
    let out = s.xtask(&["db", "start"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("cannot reach the Docker Engine at unix:///nonexistent/docker.sock") && stderr(&out).contains("help:"),
        "{}",
        describe(&out)
    );
}

#[test]
fn missing_image_names_the_variable_and_creates_nothing() {
    let _g = serial();
    let mut s = CliStack::new("noimage");
    s.set("MONGO_IMAGE", "srvthreds-test/not-there:0");
    let out = s.xtask(&["db", "start"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("image srvthreds-test/not-there:0 (service mongo) is not present and cannot be pulled") && err.contains("MONGO_IMAGE"),
        "{}",
        describe(&out)
    );
    assert!(s.containers().is_empty(), "created {:?} anyway", s.containers());
}

#[test]
fn taken_host_port_is_reported_before_anything_is_created() {
    let _g = serial();
    let s = CliStack::new("port");
    let port: u16 = s.var("REDIS_PORT").parse().expect("port");
    let _holder = std::net::TcpListener::bind(("0.0.0.0", port)).expect("hold the port");
    let out = s.xtask(&["db", "start"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains(&format!("host port {port}/tcp for service redis is already in use by process")), "{}", describe(&out));
    assert!(err.contains(&format!("pid {}", std::process::id())) || err.contains("could not be identified"), "{}", describe(&out));
    assert!(s.containers().is_empty(), "created {:?} anyway", s.containers());
}

#[test]
fn taken_host_port_of_a_stopped_container_is_reported_before_anything_is_started() {
    let _g = serial();
    let s = CliStack::new("portstop");
    s.ok(&["db", "start"]);
    s.ok(&["db", "stop"]);
    let port: u16 = s.var("REDIS_PORT").parse().expect("port");
    let holder = std::net::TcpListener::bind(("0.0.0.0", port)).expect("hold the port");
    let out = s.xtask(&["db", "start"]);
    assert!(!out.status.success(), "{}", describe(&out));
    let err = stderr(&out);
    assert!(err.contains(&format!("host port {port}/tcp for service redis is already in use by process")), "{}", describe(&out));
    assert!(err.contains(&format!("pid {}", std::process::id())) || err.contains("could not be identified"), "{}", describe(&out));
    assert!(!err.contains("userland proxy"), "the engine's bind error instead of the preflight's\n{}", describe(&out));
    // Nothing was started: mongo and rabbitmq are still stopped.
    let states = docker_lines(&[
        "ps",
        "-a",
        "--filter",
        &format!("label=com.docker.compose.project={}", s.project),
        "--format",
        "{{.Names}} {{.State}}",
    ]);
    assert!(states.len() == 3 && states.iter().all(|st| st.ends_with(" exited")), "{states:?}");
    drop(holder);
    s.ok(&["db", "start"]);
}

#[test]
fn crash_loop_fails_fast_with_the_log_tail() {
    let _g = serial();
    let mut s = CliStack::new("crash");
    s.set("ENGINE_FAIL_MODE", "crash");
    let out = s.xtask(&["--wait-timeout", "120", "deploy", "test", "s_a_dbs_s"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("srvthreds-engine") && (err.contains("crash-looping") || err.contains("exited with code 1")),
        "{}",
        describe(&out)
    );
    assert!(err.contains("--- last log lines of"), "{}", describe(&out));
    assert!(err.contains("srvthreds-session-agent was not started: dependency srvthreds-engine failed"), "{}", describe(&out));
}

#[test]
fn healthcheck_that_never_passes_hits_the_deadline_with_probe_output_and_logs() {
    let _g = serial();
    let mut s = CliStack::new("unhealthy");
    s.set("ENGINE_FAIL_MODE", "unhealthy");
    let out = s.xtask(&["--wait-timeout", "20", "deploy", "test", "s_a_dbs_s"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("srvthreds-engine") && (err.contains("was not healthy within 20s") || err.contains("is unhealthy")),
        "{}",
        describe(&out)
    );
    assert!(err.contains("--- last log lines of"), "{}", describe(&out));
    assert!(!err.contains(TEST_REDIS_PASSWORD) && !err.contains(TEST_RABBIT_PASSWORD), "a password leaked:\n{err}");
}

/// A minimal HTTP GET on localhost, returning the raw response.
fn http_get(port: u16, path: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.set_read_timeout(Some(std::time::Duration::from_secs(10))).expect("timeout");
    write!(stream, "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").expect("write");
    let mut out = String::new();
    let _ = stream.read_to_string(&mut out);
    out
}

#[test]
fn ctrl_c_during_a_start_leaves_a_state_the_next_run_converges_from() {
    let _g = serial();
    let s = CliStack::new("sigint");
    // The xtask binary itself (not `cargo run`, which would take the signal): built by cargo
    // for this workspace next to the test binaries.
    stack_tests::run_xtask(&["--version"]);
    let exe = std::env::current_exe().expect("test binary");
    let xtask = exe.parent().and_then(|p| p.parent()).expect("target dir").join("xtask");
    let child = std::process::Command::new(&xtask)
        .args(["--env", "test", "db", "start"])
        .current_dir(stack_tests::repo_root())
        .envs(s.vars.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start xtask");
    let begun = std::time::Instant::now();
    while s.containers().is_empty() {
        assert!(begun.elapsed() < std::time::Duration::from_secs(60), "no container was created within 60s");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let kill = std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status().expect("kill");
    assert!(kill.success());
    let out = child.wait_with_output().expect("wait");
    // Either the signal came in time and the run says it was interrupted, or the start had
    // already finished; both leave containers behind for the next run to converge from.
    if !out.status.success() {
        assert!(stderr(&out).contains("interrupted"), "{}", describe(&out));
    }
    let report = json(&s.ok(&["db", "start", "--output", "json"]));
    assert_eq!(report["services"].as_array().map(Vec::len), Some(3), "{report}");
    assert_eq!(s.exec("redis", &["redis-cli", "ping"]), "PONG");
}

#[test]
fn health_reports_every_store_and_service_and_a_stopped_store_fails_alone() {
    let _g = serial();
    let s = CliStack::new("health");
    s.ok(&["deploy", "test", "s_a_dbs_s"]);
    let report = json(&s.ok(&["health", "--output", "json"]));
    let status = |report: &serde_json::Value| -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = report["checks"]
            .as_array()
            .expect("checks")
            .iter()
            .map(|c| (c["name"].as_str().unwrap_or_default().to_owned(), c["status"].as_str().unwrap_or_default().to_owned()))
            .collect();
        v.sort();
        v
    };
    let expected: Vec<(String, String)> =
        ["mongo", "rabbitmq", "rabbitmq-management", "redis", "srvthreds-engine", "srvthreds-persistence-agent", "srvthreds-session-agent"]
            .iter()
            .map(|n| ((*n).to_owned(), "pass".to_owned()))
            .collect();
    assert_eq!(status(&report), expected, "{report}");
    assert_eq!(report["ok"], true);

    assert!(!docker_lines(&["stop", &format!("{}-redis-1", s.project)]).is_empty(), "docker stop redis");
    // The services re-check their dependencies every 2 s (HEALTH_CHECK_INTERVAL_MS of the
    // fixture app), and a connect to a stopped container's address can take seconds to fail:
    // their own /health turns 503 a few seconds after the stop. Run until it has (30 s at most).
    let give_up = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let (out, report) = loop {
        let out = s.xtask(&["health", "--output", "json", "--deadline", "4"]);
        assert!(!out.status.success(), "a stopped store must fail the run\n{}", describe(&out));
        let report = json(&out);
        // Both services that use Redis must have noticed; each re-checks on its own clock.
        let noticed = ["srvthreds-engine", "srvthreds-session-agent"]
            .iter()
            .all(|wanted| status(&report).iter().any(|(name, st)| name == wanted && st == "fail"));
        if noticed || std::time::Instant::now() > give_up {
            break (out, report);
        }
        std::thread::sleep(std::time::Duration::from_secs(1));
    };
    // The other stores stay healthy; the services whose own /health depends on Redis (engine and
    // session agent) honestly report it, and the persistence agent, which does not use Redis,
    // stays healthy.
    for (name, st) in status(&report) {
        let down = ["redis", "srvthreds-engine", "srvthreds-session-agent"].contains(&name.as_str());
        assert_eq!(st, if down { "fail" } else { "pass" }, "{name}: {report}");
    }
    let engine = report["checks"].as_array().expect("checks").iter().find(|c| c["name"] == "srvthreds-engine").expect("engine check");
    assert!(
        engine["lastError"].as_str().is_some_and(|e| e.contains("redis")),
        "the engine's failure names its missing dependency: {engine}"
    );
    let redis = report["checks"].as_array().expect("checks").iter().find(|c| c["name"] == "redis").expect("redis check");
    assert!(redis["elapsedMs"].as_u64().is_some_and(|ms| ms <= 4_500), "redis gave up late: {redis}");
    assert!(redis["lastError"].as_str().is_some_and(|e| e.contains("redis")), "{redis}");
    let all = format!("{}{}", stdout(&out), stderr(&out));
    assert!(!all.contains(TEST_REDIS_PASSWORD) && !all.contains(TEST_RABBIT_PASSWORD), "a password leaked:\n{all}");
    assert!(stderr(&out).contains("failed: redis"), "{}", describe(&out));
}

#[test]
fn health_reports_services_never_started_as_not_deployed() {
    let _g = serial();
    let s = CliStack::new("hnodeploy");
    s.ok(&["deploy", "test", "s_a_dbs"]);
    let out = s.ok(&["health", "--output", "json"]);
    let report = json(&out);
    let mut status: Vec<(String, String)> = report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .map(|c| (c["name"].as_str().unwrap_or_default().to_owned(), c["status"].as_str().unwrap_or_default().to_owned()))
        .collect();
    status.sort();
    let expected: Vec<(String, String)> = [
        ("mongo", "pass"),
        ("rabbitmq", "pass"),
        ("rabbitmq-management", "pass"),
        ("redis", "pass"),
        ("srvthreds-engine", "notDeployed"),
        ("srvthreds-persistence-agent", "notDeployed"),
        ("srvthreds-session-agent", "notDeployed"),
    ]
    .map(|(a, b)| (a.to_owned(), b.to_owned()))
    .to_vec();
    assert_eq!(status, expected, "{report}");
    assert_eq!(report["ok"], true, "{report}");
    let human = s.ok(&["health"]);
    assert!(stdout(&human).contains("not deployed"), "{}", describe(&human));
    // Asked for, the services that never started fail.
    let all = s.xtask(&["health", "--require-all", "--deadline", "2", "--output", "json"]);
    assert!(!all.status.success(), "{}", describe(&all));
    let report = json(&all);
    let engine = report["checks"].as_array().expect("checks").iter().find(|c| c["name"] == "srvthreds-engine").expect("engine");
    assert_eq!(engine["status"], "fail", "{report}");
}

/// On a terminal, `db start` draws each wait live, redrawn in place with the elapsed time
/// against the deadline; with `CI=true` the same start prints plain lines and not one control
/// sequence.
#[test]
fn progress_is_drawn_live_on_a_terminal_and_plain_with_ci_set() {
    let _serial = serial();
    let stack = CliStack::new("pty");
    let drawn = stack.in_terminal(&["--wait-timeout", "170", "db", "start"], false);
    assert!(drawn.contains("\x1b[2K"), "no line was redrawn in place:\n{drawn:?}");
    assert!(drawn.contains("mongo: waiting until") && drawn.contains(" of 170s)"), "no live wait against the deadline:\n{drawn:?}");
    assert!(drawn.contains("mongo: replica set rs0 has a primary"), "the finished line stays:\n{drawn:?}");

    stack_testkit::remove_project(&stack.project);
    let plain = stack.in_terminal(&["db", "start"], true);
    assert!(!plain.contains('\x1b'), "a control sequence with CI=true:\n{plain:?}");
    let ready = format!("{}: 3 services ready", stack.project);
    for line in ["mongo: waiting until", "redis: waiting until", "rabbitmq: healthy after", &ready] {
        assert!(plain.contains(line), "no plain `{line}` line:\n{plain}");
    }
}
