//! The test-harness API (`stack-testkit`) on a real engine: a Redis-only stack answers its own
//! protocol on a free host port and leaves nothing behind when dropped, parallel harnesses do not
//! collide, and a test that panics or aborts with a stack running leaks nothing after the next
//! harness start (the test re-runs this binary as a child that does exactly that).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::process::ExitStatusExt;
use std::process::Command;
use std::time::Duration;

use stack_testkit::owner::{OWNER_PID, OWNER_START, Owner, RUN_ID};
use stack_testkit::{Endpoint, Error, TestStack};
use stack_tests::{describe, require_engine};
use tokio::sync::RwLock;

/// Every test here that starts a harness holds this gate; the abort test holds it alone, since
/// any harness start removes the leftovers it must first see.
static GATE: RwLock<()> = RwLock::const_new(());

/// Set in the child process: `panic` or `abort`, what `child_harness` does with its stack running.
const CHILD_ENV: &str = "STACK_TESTKIT_CHILD";
const PROJECT_LABEL: &str = "com.docker.compose.project";

#[tokio::test(flavor = "current_thread")]
async fn redis_only_stack_answers_and_drop_leaves_nothing() {
    require_engine();
    let _gate = GATE.read().await;
    let stack = redis_stack().await;
    assert_eq!(stack.services(), ["redis"], "only Redis, which depends on nothing");
    let redis = stack.endpoint("redis").expect("redis endpoint");
    assert_eq!(redis.host, "127.0.0.1");
    assert_ne!(redis.port, 36379, "the env file's port is replaced by a free one");
    assert_eq!(stack.port("redis", 6379).expect("port of 6379"), redis.port);
    assert_eq!(redis.uri(), format!("redis://:srvthreds-test-redis@127.0.0.1:{}", redis.port), "the test env file's password");
    assert!(!format!("{redis} {redis:?} {stack:?}").contains("srvthreds-test-redis"), "messages never show the password");
    assert_eq!(ping(&redis), "+OK\r\n+PONG\r\n");

    // The container names its run and its owner; the network is the project's own.
    let container = stack.container("redis").expect("container name");
    let labels: serde_json::Value =
        serde_json::from_str(&docker(&["inspect", "--format", "{{json .Config.Labels}}", &container]).join("")).expect("labels JSON");
    let me = Owner::current().expect("/proc is readable here");
    assert_eq!(labels[RUN_ID], stack.project());
    assert_eq!(labels[OWNER_PID], std::process::id().to_string());
    assert_eq!(labels[OWNER_START], me.start);
    assert_eq!(stack.network(), format!("{}-net", stack.project()));
    let project = stack.project().to_owned();
    let before = resources(&format!("{PROJECT_LABEL}={project}"));
    assert!(before.contains(&format!("network {}", stack.network())), "{before:?}");
    assert!(before.contains(&format!("volume {project}_redis-data")), "{before:?}");
    assert!(before.contains(&format!("container {container}")), "{before:?}");

    // Asking for what the stack does not run is an error, not a panic.
    let err = stack.endpoint("mongo").expect_err("mongo was not started");
    assert!(matches!(err, Error::UnknownService { .. }), "{err:?}");
    let err = stack.port("redis", 1234).expect_err("1234 is not published");
    assert!(err.to_string().contains("6379/tcp"), "{err}");

    drop(stack);
    assert_eq!(resources(&format!("{PROJECT_LABEL}={project}")), Vec::<String>::new(), "drop removes everything");
}

#[tokio::test(flavor = "current_thread")]
async fn parallel_harnesses_get_their_own_project_ports_and_network() {
    require_engine();
    let _gate = GATE.read().await;
    let (a, b) = tokio::join!(redis_stack(), redis_stack());
    assert_ne!(a.project(), b.project());
    assert_ne!(a.network(), b.network());
    let (ea, eb) = (a.endpoint("redis").expect("endpoint a"), b.endpoint("redis").expect("endpoint b"));
    assert_ne!(ea.port, eb.port);
    assert_eq!(ping(&ea), "+OK\r\n+PONG\r\n");
    assert_eq!(ping(&eb), "+OK\r\n+PONG\r\n");

    // An explicit stop removes one stack through the engine API and leaves the other alone.
    let project_a = a.project().to_owned();
    a.stop().await.expect("stop a");
    assert_eq!(resources(&format!("{PROJECT_LABEL}={project_a}")), Vec::<String>::new(), "stop removes everything");
    assert_eq!(ping(&eb), "+OK\r\n+PONG\r\n");
    let project_b = b.project().to_owned();
    drop(b);
    assert_eq!(resources(&format!("{PROJECT_LABEL}={project_b}")), Vec::<String>::new());
}

#[tokio::test(flavor = "current_thread")]
async fn an_unknown_service_is_a_clear_error() {
    require_engine();
    let _gate = GATE.read().await;
    let err = TestStack::builder().services(&["rediss"]).start().await.expect_err("no such service");
    let text = err.to_string();
    assert!(text.contains("no service `rediss`") && text.contains("did you mean `redis`?"), "{text}");
}

#[tokio::test(flavor = "current_thread")]
async fn a_panicking_test_leaves_nothing_behind() {
    require_engine();
    let _gate = GATE.read().await;
    let child = run_child("panic");
    assert_eq!(child.code, Some(101), "the child test fails by its panic\n{}", child.output);
    // Unwinding dropped the stack: nothing is left even before another harness starts.
    assert_eq!(resources(&format!("{OWNER_PID}={}", child.pid)), Vec::<String>::new(), "{}", child.output);
    assert_eq!(resources(&format!("{PROJECT_LABEL}={}", child.project)), Vec::<String>::new(), "{}", child.output);
}

#[tokio::test(flavor = "current_thread")]
async fn an_aborted_test_leaves_nothing_after_the_next_start() {
    require_engine();
    let _gate = GATE.write().await;
    let child = run_child("abort");
    assert_eq!(child.signal, Some(6), "the child aborts (SIGABRT), skipping every Drop\n{}", child.output);
    let left = resources(&format!("{PROJECT_LABEL}={}", child.project));
    assert!(left.iter().any(|r| r.starts_with("container ")), "the aborted child's container is still there: {left:?}");
    assert!(left.iter().any(|r| r.starts_with("network ")), "{left:?}");
    assert!(left.iter().any(|r| r.starts_with("volume ")), "{left:?}");
    let owned = docker(&["ps", "-a", "--filter", &format!("label={OWNER_PID}={}", child.pid), "--format", "{{.Names}}"]);
    assert!(!owned.is_empty(), "the container carries the child's pid");

    let next = redis_stack().await;
    assert_eq!(resources(&format!("{PROJECT_LABEL}={}", child.project)), Vec::<String>::new(), "the next start removed them");
    assert_eq!(resources(&format!("{OWNER_PID}={}", child.pid)), Vec::<String>::new());
    next.stop().await.expect("stop");
}

/// Run by `run_child` in a child process only (`--ignored --exact child_harness`): ignored in an
/// ordinary run of this binary, where it would have nothing to do. Asked for without its
/// parent, it fails instead of passing empty.
#[tokio::test(flavor = "current_thread")]
#[ignore = "the child half of the panic/abort tests; run_child runs it"]
async fn child_harness() {
    let mode = std::env::var(CHILD_ENV).unwrap_or_else(|_| panic!("{CHILD_ENV} is not set: this test runs only as run_child's child"));
    let stack = redis_stack().await;
    std::fs::write("project", stack.project()).expect("write the project name for the parent");
    match mode.as_str() {
        "abort" => std::process::abort(),
        _ => panic!("the child test panics with its stack running"),
    }
}

/// What a child run of `child_harness` left.
struct Child {
    pid: u32,
    code: Option<i32>,
    signal: Option<i32>,
    project: String,
    output: String,
}

/// Re-runs this test binary as a child running only `child_harness` in `mode`, in a directory of
/// its own (a core dump from the abort lands there, not in the repository).
fn run_child(mode: &str) -> Child {
    let dir = tempfile::tempdir().expect("tempdir");
    let exe = std::env::current_exe().expect("this test binary");
    let child = Command::new(exe)
        .args(["--ignored", "--exact", "child_harness", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, mode)
        .current_dir(dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start the child test");
    let pid = child.id();
    let out = child.wait_with_output().expect("wait for the child test");
    let output = describe(&out);
    let project =
        std::fs::read_to_string(dir.path().join("project")).unwrap_or_else(|e| panic!("the child did not start a stack ({e})\n{output}"));
    Child { pid, code: out.status.code(), signal: out.status.signal(), project, output }
}

async fn redis_stack() -> TestStack {
    TestStack::builder().services(&["redis"]).start().await.unwrap_or_else(|e| panic!("starting a Redis stack: {e:?}"))
}

/// `AUTH` with the endpoint's password, then `PING`, in RESP written by hand; the raw replies.
fn ping(redis: &Endpoint) -> String {
    let mut conn = TcpStream::connect(redis.addr()).unwrap_or_else(|e| panic!("connect to {redis}: {e}"));
    conn.set_read_timeout(Some(Duration::from_secs(5))).expect("read timeout");
    let password = redis.password().expect("the test environment has a Redis password");
    write!(conn, "*2\r\n$4\r\nAUTH\r\n${}\r\n{password}\r\n*1\r\n$4\r\nPING\r\n", password.len()).expect("send AUTH and PING");
    let mut reply = Vec::new();
    let mut buf = [0u8; 256];
    while reply.iter().filter(|b| **b == b'\n').count() < 2 {
        let n = conn.read(&mut buf).unwrap_or_else(|e| panic!("read from {redis}: {e}"));
        if n == 0 {
            break;
        }
        reply.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&reply).into_owned()
}

/// Containers, networks and volumes carrying `label` (`key=value`), as `KIND NAME`.
fn resources(label: &str) -> Vec<String> {
    let filter = format!("label={label}");
    let mut out = Vec::new();
    for (kind, args) in [
        ("container", ["ps", "-a", "--filter", &filter, "--format", "{{.Names}}"].as_slice()),
        ("network", ["network", "ls", "--filter", &filter, "--format", "{{.Name}}"].as_slice()),
        ("volume", ["volume", "ls", "--filter", &filter, "--format", "{{.Name}}"].as_slice()),
    ] {
        out.extend(docker(args).into_iter().map(|name| format!("{kind} {name}")));
    }
    out
}

/// The docker CLI's stdout lines; a failing command fails the test (an empty answer must mean
/// "nothing there", never "could not ask").
fn docker(args: &[&str]) -> Vec<String> {
    let out = Command::new("docker").args(args).output().unwrap_or_else(|e| panic!("cannot run docker {args:?}: {e}"));
    assert!(out.status.success(), "docker {args:?} failed\n{}", describe(&out));
    String::from_utf8_lossy(&out.stdout).lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect()
}

#[tokio::test(flavor = "current_thread")]
async fn readiness_probe_speaks_the_stores_protocol_through_the_published_port() {
    use stack_compose::ReadyProbe;
    use stack_config::compose::{Port, Service};
    use stack_testkit::probes::HealthProbe;

    require_engine();
    let _gate = GATE.read().await;
    let stack = redis_stack().await;
    let redis = stack.endpoint("redis").expect("redis endpoint");
    let password = redis.password().expect("the test env sets a Redis password").to_owned();
    // The probe reads the service definition the driver hands it: published port and the
    // `--requirepass` of its command.
    let service = |pw: &str| Service {
        name: "redis".to_owned(),
        command: Some(vec!["redis-server".to_owned(), "--requirepass".to_owned(), pw.to_owned()]),
        ports: vec![Port {
            host_ip: None,
            published: Some(redis.port),
            target: 6379,
            protocol: "tcp".to_owned(),
            location: Default::default(),
        }],
        ..Service::default()
    };
    let ok = HealthProbe.probe(&service(&password), &[(6379, redis.port)]).await;
    assert!(matches!(&ok, Some(Ok(detail)) if detail.contains("PONG")), "{ok:?}");
    let wrong = HealthProbe.probe(&service("not-the-password"), &[(6379, redis.port)]).await;
    assert!(matches!(&wrong, Some(Err(e)) if e.contains("AUTH") && !e.contains("not-the-password")), "{wrong:?}");
    let none = HealthProbe.probe(&Service { name: "app".to_owned(), ..Service::default() }, &[]).await;
    assert!(none.is_none(), "a service without a protocol probe is left to its healthcheck: {none:?}");
    stack.stop().await.expect("stop");
}
