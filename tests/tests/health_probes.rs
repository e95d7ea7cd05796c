//! The health probes against real containers (Redis, RabbitMQ, the MongoDB stand-in) started
//! with the docker CLI, and the HTTP probe against a small local server: each probe passes when
//! its service answers and fails with an error that names the step, never quoting a password.
//! Needs a running Docker Engine and fails (never skips) without one.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use stack_health::{Check, Report, RetryPolicy, Status, Target, probe_once, run, run_all};
use stack_tests::{describe, docker_lines, free_port, require_engine, test_image_vars};

/// The password every container is started with; no output may contain it.
const PASSWORD: &str = "hp-Secr3t-pw";
/// A wrong password, which must not show either.
const WRONG: &str = "wr0ng-Passw0rd";

/// A container started for these tests, removed on drop (also when the test panics).
struct Container {
    name: String,
}

impl Container {
    fn start(role: &str, args: &[&str]) -> Container {
        require_engine();
        let name = format!("health-probes-{role}-{}", std::process::id());
        docker_lines(&["rm", "-f", &name]);
        let out = Command::new("docker")
            .args(["run", "-d", "--rm", "--name", &name, "--label", "dev.srvthreds.test=health-probes"])
            .args(args)
            .output()
            .expect("run the docker CLI");
        assert!(out.status.success(), "docker run {args:?} failed\n{}", describe(&out));
        Container { name }
    }

    /// The last lines of the container's log, for assertion messages.
    fn logs(&self) -> String {
        Command::new("docker")
            .args(["logs", "--tail", "30", &self.name])
            .output()
            .map(|o| format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)))
            .unwrap_or_default()
    }

    fn exec(&self, args: &[&str]) -> String {
        let out = Command::new("docker").arg("exec").arg(&self.name).args(args).output().expect("run docker exec");
        assert!(out.status.success(), "docker exec {} {args:?} failed\n{}", self.name, describe(&out));
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    fn stop(&self) {
        let out = Command::new("docker").args(["stop", "-t", "5", &self.name]).output().expect("run docker stop");
        assert!(out.status.success(), "docker stop {} failed\n{}", self.name, describe(&out));
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        docker_lines(&["rm", "-f", &self.name]);
    }
}

fn image(key: &str) -> String {
    test_image_vars().iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()).unwrap_or_else(|| panic!("test-images printed no {key}"))
}

/// Long enough for a service to start (RabbitMQ takes a few seconds on two busy cores).
fn startup() -> RetryPolicy {
    RetryPolicy { deadline: Duration::from_secs(90), attempt_timeout: Duration::from_secs(5), ..RetryPolicy::default() }
}

/// For checks that are expected to fail: a few attempts, soon over.
fn brief() -> RetryPolicy {
    RetryPolicy {
        deadline: Duration::from_secs(2),
        attempt_timeout: Duration::from_secs(2),
        initial_interval: Duration::from_millis(200),
        ..RetryPolicy::default()
    }
}

const ATTEMPT: Duration = Duration::from_secs(5);

/// Asserts that none of the secrets appears in `text`.
fn assert_hidden(text: &str) {
    for secret in [PASSWORD, WRONG] {
        assert!(!text.contains(secret), "a password shows in:\n{text}");
    }
}

/// Asserts that one probe failed with an error containing `expected`, and that no password
/// shows in it; returns the error text.
fn assert_fails(outcome: stack_health::Result<String>, expected: &str) -> String {
    let error = match outcome {
        Ok(detail) => panic!("the probe passed ({detail}), expected an error containing {expected:?}"),
        Err(error) => error,
    };
    let text = format!("{error} / {error:?}");
    assert!(error.to_string().contains(expected), "expected {expected:?} in the error: {error}");
    assert_hidden(&text);
    text
}

/// Asserts that a report passed, with the container log when it did not.
fn assert_passed(report: &Report, container: Option<&Container>) {
    let logs = container.map(Container::logs).unwrap_or_default();
    assert!(report.ok, "expected every check to pass:\n{report}\n--- container log ---\n{logs}");
    assert_hidden(&report.to_string());
}

/// Asserts that a failing report names `expected` in the text and JSON forms, and hides passwords.
fn assert_report_fails(report: &Report, expected: &str) {
    assert!(!report.ok, "expected a failure:\n{report}");
    let text = report.to_string();
    let json = serde_json::to_string(report).expect("serialise the report");
    assert!(text.contains(expected) && json.contains(expected), "expected {expected:?} in:\n{text}\n{json}");
    assert_hidden(&text);
    assert_hidden(&json);
}

#[tokio::test]
async fn redis_probe_passes_and_fails_on_wrong_password_wrong_port_and_stop() {
    let port = free_port();
    let redis = Container::start(
        "redis",
        &["-p", &format!("{port}:6379"), &image("REDIS_IMAGE"), "redis-server", "--requirepass", PASSWORD, "--save", ""],
    );
    let url = |password: &str, port: u16| format!("redis://:{password}@127.0.0.1:{port}");

    let up = Check::new("redis", Target::Redis { url: url(PASSWORD, port) });
    let report = run_all(std::slice::from_ref(&up), &startup()).await;
    assert_passed(&report, Some(&redis));
    assert_eq!(report.checks[0].detail.as_deref(), Some("PONG"));
    assert!(report.checks[0].target.contains("redis://:******@127.0.0.1"), "{report}");

    let wrong = Target::Redis { url: url(WRONG, port) };
    assert_fails(probe_once(&wrong, ATTEMPT).await, &format!("redis at 127.0.0.1:{port}: AUTH failed"));
    let report = run_all(&[Check::new("redis", wrong)], &brief()).await;
    assert_report_fails(&report, "AUTH failed");
    assert!(report.checks[0].attempts >= 2, "a wrong password is retried until the deadline:\n{report}");

    let anonymous = Target::Redis { url: format!("redis://127.0.0.1:{port}") };
    let text = assert_fails(probe_once(&anonymous, ATTEMPT).await, "PING failed");
    assert!(text.contains("NOAUTH"), "{text}");

    let elsewhere = free_port();
    let wrong_port = Target::Redis { url: url(PASSWORD, elsewhere) };
    assert_fails(probe_once(&wrong_port, ATTEMPT).await, &format!("redis at 127.0.0.1:{elsewhere}: connect failed"));

    redis.stop();
    let report = run_all(&[up], &brief()).await;
    assert_report_fails(&report, &format!("redis at 127.0.0.1:{port}: connect failed"));
    assert_eq!(report.checks[0].status, Status::Fail);
    assert!(report.checks[0].elapsed_ms >= 2000, "a failing check reports at its deadline:\n{report:?}");
}

#[tokio::test]
async fn rabbitmq_amqp_management_http_and_tcp_probes() {
    let (amqp_port, management_port) = (free_port(), free_port());
    let rabbit = Container::start(
        "rabbitmq",
        &[
            "-e",
            "RABBITMQ_DEFAULT_USER=probe",
            "-e",
            &format!("RABBITMQ_DEFAULT_PASS={PASSWORD}"),
            "-p",
            &format!("{amqp_port}:5672"),
            "-p",
            &format!("{management_port}:15672"),
            &image("RABBITMQ_IMAGE"),
        ],
    );
    let amqp = |password: &str, port: u16| Target::Amqp { url: format!("amqp://probe:{password}@127.0.0.1:{port}/%2f") };
    let management = |password: &str| Target::RabbitManagement {
        url: format!("http://127.0.0.1:{management_port}"),
        user: "probe".to_owned(),
        password: password.to_owned(),
    };

    // Both come up; the retry policy waits for the broker's start.
    let checks = [Check::new("amqp", amqp(PASSWORD, amqp_port)), Check::new("management", management(PASSWORD))];
    let report = run_all(&checks, &startup()).await;
    assert_passed(&report, Some(&rabbit));
    assert_eq!(report.checks[1].detail.as_deref(), Some("no alarms"));

    let text =
        assert_fails(probe_once(&amqp(WRONG, amqp_port), ATTEMPT).await, &format!("amqp at 127.0.0.1:{amqp_port}: open connection failed"));
    assert!(text.contains("ACCESS_REFUSED") || text.contains("ACCESS-REFUSED"), "{text}");
    let elsewhere = free_port();
    assert_fails(probe_once(&amqp(PASSWORD, elsewhere), ATTEMPT).await, &format!("amqp at 127.0.0.1:{elsewhere}: open connection failed"));

    assert_fails(probe_once(&management(WRONG), ATTEMPT).await, "GET /api/health/checks/alarms failed: status 401 Unauthorized");
    let report = run_all(&[Check::new("management", management(WRONG))], &brief()).await;
    assert_report_fails(&report, "wrong user or password");

    // Plain HTTP against the management API: credentials from the URL become basic auth.
    let overview = |password: &str| Target::Http {
        url: format!("http://probe:{password}@127.0.0.1:{management_port}/api/overview"),
        expect_status: 200,
        body_contains: Some("rabbitmq_version".to_owned()),
    };
    assert_eq!(probe_once(&overview(PASSWORD), ATTEMPT).await.expect("GET /api/overview"), "200 OK");
    assert_fails(probe_once(&overview(WRONG), ATTEMPT).await, "GET /api/overview failed: status 401 Unauthorized, expected 200");

    let tcp = |port: u16| Target::Tcp { host: "127.0.0.1".to_owned(), port };
    let detail = probe_once(&tcp(amqp_port), ATTEMPT).await.expect("the AMQP port accepts TCP");
    assert!(detail.starts_with("connected to 127.0.0.1:"), "{detail}");
    assert_fails(probe_once(&tcp(elsewhere), ATTEMPT).await, &format!("tcp at 127.0.0.1:{elsewhere}: connect failed"));
}

#[tokio::test]
async fn mongodb_ping_and_replica_set_primary_against_the_standin() {
    let port = free_port();
    let mongo = Container::start(
        "mongo",
        &["-p", &format!("{port}:27017"), &image("MONGO_IMAGE"), "mongod", "--replSet", "rs0", "--bind_ip_all", "--port", "27017"],
    );
    // One host and no replicaSet: the probe connects directly (the member's name is internal).
    let uri = format!("mongodb://127.0.0.1:{port}");
    let ping = Check::new("mongodb", Target::Mongo { uri: uri.clone(), require_primary: false });
    let report = run_all(std::slice::from_ref(&ping), &startup()).await;
    assert_passed(&report, Some(&mongo));
    assert_eq!(report.checks[0].detail.as_deref(), Some("ping ok"));

    let primary = Check::new("mongodb-primary", Target::Mongo { uri: format!("{uri}/?directConnection=true"), require_primary: true });
    assert_fails(probe_once(&primary.target, ATTEMPT).await, "replica set check failed: replica set not initiated");
    let report = run_all(std::slice::from_ref(&primary), &brief()).await;
    assert_report_fails(&report, "replica set not initiated");

    let initiated =
        mongo.exec(&["mongosh", "--quiet", "--eval", "rs.initiate({_id: 'rs0', members: [{_id: 0, host: '127.0.0.1:27017'}]}).ok"]);
    assert_eq!(initiated, "1", "rs.initiate answered {initiated:?}\n{}", mongo.logs());
    // SECONDARY first, PRIMARY after the election: the retry policy waits for it.
    let report = run(&primary, &startup()).await;
    assert_eq!(report.status, Status::Pass, "{report:?}\n{}", mongo.logs());
    assert_eq!(report.detail.as_deref(), Some("PRIMARY 127.0.0.1:27017 of replica set rs0"));

    // The stand-in has no authentication: credentials fail, and are not quoted.
    let with_password =
        Target::Mongo { uri: format!("mongodb://probe:{PASSWORD}@127.0.0.1:{port}/?authSource=admin"), require_primary: false };
    assert_fails(probe_once(&with_password, ATTEMPT).await, &format!("mongodb at 127.0.0.1:{port}: authenticate failed: SCRAM failure"));
    let elsewhere = free_port();
    let wrong_port = Target::Mongo { uri: format!("mongodb://probe:{WRONG}@127.0.0.1:{elsewhere}"), require_primary: false };
    assert_fails(probe_once(&wrong_port, Duration::from_secs(2)).await, &format!("mongodb at 127.0.0.1:{elsewhere}: ping failed"));
}

/// A tiny HTTP/1.1 server: `/health` answers 200 `status: ok`, `/down` 503, `/auth` 200 only
/// with the basic credentials `probe:PASSWORD`. Returns its port and the request heads it saw.
fn http_server() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a local port");
    let port = listener.local_addr().expect("local address").port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(&stream);
            let mut head = String::new();
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                head.push_str(&line);
                line.clear();
            }
            let target = head.split_whitespace().nth(1).unwrap_or_default().to_owned();
            // base64("probe:hp-Secr3t-pw")
            let authorised = head.lines().any(|l| l.eq_ignore_ascii_case("authorization: Basic cHJvYmU6aHAtU2VjcjN0LXB3"));
            log.lock().expect("request log").push(head);
            let (status, body) = match target.as_str() {
                "/health" => ("200 OK", "status: ok"),
                "/auth" if authorised => ("200 OK", "welcome"),
                "/auth" => ("401 Unauthorized", "who are you"),
                "/down" => ("503 Service Unavailable", "down for maintenance"),
                _ => ("404 Not Found", "no such page"),
            };
            let response = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
            let _ = (&stream).write_all(response.as_bytes());
        }
    });
    (port, seen)
}

#[tokio::test]
async fn http_probe_status_body_and_basic_auth() {
    let (port, seen) = http_server();
    let http = |path: &str, status: u16, body: Option<&str>| Target::Http {
        url: format!("http://127.0.0.1:{port}{path}"),
        expect_status: status,
        body_contains: body.map(str::to_owned),
    };
    assert_eq!(probe_once(&http("/health", 200, Some("ok")), ATTEMPT).await.expect("/health"), "200 OK");
    assert_eq!(probe_once(&http("/down", 503, None), ATTEMPT).await.expect("/down expected 503"), "503 Service Unavailable");
    assert_fails(
        probe_once(&http("/down", 200, None), ATTEMPT).await,
        "GET /down failed: status 503 Service Unavailable, expected 200; body: down for maintenance",
    );
    assert_fails(probe_once(&http("/health", 200, Some("green")), ATTEMPT).await, "the body does not contain \"green\"");

    let auth = |password: &str| Target::Http {
        url: format!("http://probe:{password}@127.0.0.1:{port}/auth"),
        expect_status: 200,
        body_contains: None,
    };
    assert_eq!(probe_once(&auth(PASSWORD), ATTEMPT).await.expect("/auth with the right password"), "200 OK");
    assert_fails(probe_once(&auth(WRONG), ATTEMPT).await, "status 401 Unauthorized, expected 200");
    // The credentials went in a header, never in the request line or the Host header.
    let heads = seen.lock().expect("request log").clone();
    assert!(heads.iter().all(|h| !h.lines().take(1).any(|l| l.contains(PASSWORD) || l.contains(WRONG))), "{heads:?}");
    assert!(
        heads.iter().all(|h| h.contains(&format!("host: 127.0.0.1:{port}")) || h.contains(&format!("Host: 127.0.0.1:{port}"))),
        "{heads:?}"
    );

    let closed = free_port();
    assert_fails(probe_once(&http_at(closed), ATTEMPT).await, &format!("http at 127.0.0.1:{closed}: GET /health failed"));
    assert_fails(
        probe_once(&Target::Http { url: "ftp://127.0.0.1/x".to_owned(), expect_status: 200, body_contains: None }, ATTEMPT).await,
        "invalid target: unsupported scheme",
    );
}

fn http_at(port: u16) -> Target {
    Target::Http { url: format!("http://127.0.0.1:{port}/health"), expect_status: 200, body_contains: None }
}
