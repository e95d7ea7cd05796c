//! Benchmark: 50 health probes (30 Redis PING, 10 AMQP open/close, 10 TCP connect) against live
//! test containers, one after another and then all at once through `run_all`. Prints figures;
//! asserts nothing about time. Run: `cargo bench -p stack-tests --bench health_probes`.

#![allow(clippy::print_stdout, reason = "a benchmark prints its figures")]

use std::process::Command;
use std::time::{Duration, Instant};

use stack_health::{Check, RetryPolicy, Target, probe_once, run_all};
use stack_tests::{describe, docker_lines, free_port, require_engine, test_image_vars};

const PASSWORD: &str = "bench-Secr3t";

/// A container for this benchmark, removed on drop (also on panic).
struct Container(String);

impl Container {
    fn start(role: &str, args: &[&str]) -> Container {
        let name = format!("health-probes-bench-{role}-{}", std::process::id());
        docker_lines(&["rm", "-f", &name]);
        let out = Command::new("docker")
            .args(["run", "-d", "--rm", "--name", &name, "--label", "dev.srvthreds.test=health-probes-bench"])
            .args(args)
            .output()
            .expect("run the docker CLI");
        assert!(out.status.success(), "docker run {args:?} failed\n{}", describe(&out));
        Container(name)
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        docker_lines(&["rm", "-f", &self.0]);
    }
}

fn image(key: &str) -> String {
    test_image_vars().iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()).unwrap_or_else(|| panic!("test-images printed no {key}"))
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    require_engine();
    let (redis_port, amqp_port) = (free_port(), free_port());
    let _redis =
        Container::start("redis", &["-p", &format!("{redis_port}:6379"), &image("REDIS_IMAGE"), "redis-server", "--requirepass", PASSWORD]);
    let _rabbit = Container::start(
        "rabbitmq",
        &[
            "-e",
            "RABBITMQ_DEFAULT_USER=bench",
            "-e",
            &format!("RABBITMQ_DEFAULT_PASS={PASSWORD}"),
            "-p",
            &format!("{amqp_port}:5672"),
            &image("RABBITMQ_IMAGE"),
        ],
    );
    let redis = Target::Redis { url: format!("redis://:{PASSWORD}@127.0.0.1:{redis_port}") };
    let amqp = Target::Amqp { url: format!("amqp://bench:{PASSWORD}@127.0.0.1:{amqp_port}/%2f") };
    let tcp = Target::Tcp { host: "127.0.0.1".to_owned(), port: amqp_port };
    let mut checks = Vec::new();
    for i in 0..30 {
        checks.push(Check::new(&format!("redis-{i}"), redis.clone()));
    }
    for i in 0..10 {
        checks.push(Check::new(&format!("amqp-{i}"), amqp.clone()));
        checks.push(Check::new(&format!("tcp-{i}"), tcp.clone()));
    }

    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime");
    runtime.block_on(async {
        let startup = RetryPolicy { deadline: Duration::from_secs(90), attempt_timeout: Duration::from_secs(5), ..RetryPolicy::default() };
        let ready = run_all(&[Check::new("redis", redis.clone()), Check::new("amqp", amqp.clone())], &startup).await;
        assert!(ready.ok, "the containers did not come up:\n{ready}");

        // One after another: each probe's own time.
        let mut times: Vec<(&str, Duration)> = Vec::new();
        let sequential = Instant::now();
        for check in &checks {
            let began = Instant::now();
            let outcome = probe_once(&check.target, Duration::from_secs(5)).await;
            if let Err(error) = outcome {
                panic!("{}: {error}", check.name);
            }
            times.push((check.target.kind(), began.elapsed()));
        }
        let sequential_wall = sequential.elapsed();
        let sum: Duration = times.iter().map(|(_, d)| *d).sum();
        let slowest = times.iter().map(|(_, d)| *d).max().unwrap_or_default();

        // All at once.
        let policy = RetryPolicy { deadline: Duration::from_secs(10), attempt_timeout: Duration::from_secs(5), ..RetryPolicy::default() };
        let concurrent = Instant::now();
        let report = run_all(&checks, &policy).await;
        let concurrent_wall = concurrent.elapsed();
        assert!(report.ok, "a probe failed in the concurrent run:\n{report}");
        let attempts: u32 = report.checks.iter().map(|c| c.attempts).sum();
        let concurrent_max =
            |prefix: &str| report.checks.iter().filter(|c| c.name.starts_with(prefix)).map(|c| c.latency_ms).max().unwrap_or_default();
        // Each kind alone, all at once: where the concurrent time goes.
        let mut alone = Vec::new();
        for kind in ["redis", "amqp", "tcp"] {
            let of_kind: Vec<Check> = checks.iter().filter(|c| c.name.starts_with(kind)).cloned().collect();
            let began = Instant::now();
            let report = run_all(&of_kind, &policy).await;
            assert!(report.ok, "{report}");
            alone.push((kind, began.elapsed()));
        }

        println!("health probes: 50 against live containers (30 redis PING, 10 AMQP open+close, 10 TCP connect)");
        println!();
        println!("{:<12} {:>6} {:>12} {:>12} {:>12}", "kind", "count", "min", "max", "sum");
        for kind in ["redis", "amqp", "tcp"] {
            let of_kind: Vec<Duration> = times.iter().filter(|(k, _)| *k == kind).map(|(_, d)| *d).collect();
            let min = of_kind.iter().min().copied().unwrap_or_default();
            let max = of_kind.iter().max().copied().unwrap_or_default();
            let total: Duration = of_kind.iter().sum();
            println!("{kind:<12} {:>6} {:>12} {:>12} {:>12}", of_kind.len(), ms(min), ms(max), ms(total));
        }
        println!();
        println!("{:<44} {:>12}", "slowest single probe (sequential run)", ms(slowest));
        println!("{:<44} {:>12}", "sum of all probes (sequential run)", ms(sum));
        println!("{:<44} {:>12}", "sequential wall time", ms(sequential_wall));
        println!("{:<44} {:>12}", "concurrent wall time (run_all)", ms(concurrent_wall));
        println!("{:<44} {:>12.2}", "ratio concurrent / slowest single", concurrent_wall.as_secs_f64() / slowest.as_secs_f64());
        println!("{:<44} {:>12.2}", "ratio concurrent / sum", concurrent_wall.as_secs_f64() / sum.as_secs_f64());
        println!("{:<44} {:>12}", "attempts in the concurrent run", attempts);
        println!();
        println!("{:<12} {:>26} {:>26}", "kind", "max latency in run_all", "run_all of this kind alone");
        for (kind, wall) in alone {
            println!("{kind:<12} {:>23} ms {:>26}", concurrent_max(kind), ms(wall));
        }
    });
}
