//! `cargo bench -p stack-tests --bench release`: `cargo xtask release` on the real local
//! cluster and registry (as `tests/release_live.rs`; `.ci/run`'s setup must have run: the
//! cluster, the registry, `KUBECONFIG`), figures printed side by side.
//!
//! - An unchanged release: from command start to "nothing to do", with `--registry` (the build's
//!   staleness check and a push that uploads nothing) and with `--images` (a record).
//! - A changed release: the engine's source changes (the service images share one builder
//!   image, so every service image changes), the images already built; from command start to
//!   every rollout ready (ours also runs the smoke tests), against the same sequence by hand:
//!   `docker tag` + `docker push` of each image, `kubectl set image` of each Deployment,
//!   `kubectl rollout status` of each.
//!
//! `BENCH_RUNS` (default 2) runs of each; the median and the range are printed. Our changed
//! runs come first: `kubectl set image` takes the image fields over from our field manager,
//! after which the overlay's next apply would be refused as a conflict.

#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)]

use std::process::Command;
use std::time::{Duration, Instant};

use camino::Utf8Path;
use stack_tests::live::{self, CONTEXT, DEPLOYMENTS, TAG, kubectl, release, run};
use stack_tests::{InfraCopy, describe, test_image_vars};

const OVERLAY: &str = "release-bench";
const NAMESPACE: &str = "srvthreds-bench";

fn timed(what: &str, f: impl FnOnce()) -> Duration {
    let started = Instant::now();
    f();
    let took = started.elapsed();
    eprintln!("bench: {what}: {:.2} s", took.as_secs_f64());
    took
}

fn ok(out: &std::process::Output, what: &str) {
    assert!(out.status.success(), "{what} failed\n{}", describe(out));
}

/// Changes the engine's source (a comment) and builds the images, untimed.
fn change_and_build(infra: &InfraCopy, mark: &str) {
    let engine = infra.root().parent().unwrap().join("tests/fixtures/srvthreds-app/src/engine.js");
    let mut source = std::fs::read_to_string(&engine).unwrap();
    source.push_str(&format!("// bench {mark}\n"));
    std::fs::write(&engine, source).unwrap();
    let context = infra.root().parent().unwrap().to_owned();
    let mut build = infra.command(&["services", "build"]);
    build.env("SRVTHREDS_TAG", TAG).env("SRVTHREDS_BUILD_CONTEXT", context.as_str());
    for (k, v) in test_image_vars() {
        build.env(k, v);
    }
    ok(&run(&mut build), "services build");
}

fn summary(times: &[Duration]) -> String {
    let mut secs: Vec<f64> = times.iter().map(Duration::as_secs_f64).collect();
    secs.sort_by(f64::total_cmp);
    let median = if secs.len() % 2 == 1 { secs[secs.len() / 2] } else { (secs[secs.len() / 2 - 1] + secs[secs.len() / 2]) / 2.0 };
    format!("{median:.2} s median ({:.2}–{:.2})", secs[0], secs[secs.len() - 1])
}

fn main() {
    let runs: usize = std::env::var("BENCH_RUNS").ok().and_then(|r| r.parse().ok()).unwrap_or(2).max(1);
    let registry = live::registry();
    live::prepare_cluster(&[(OVERLAY, NAMESPACE)]);
    let infra = live::workspace(&[(OVERLAY, NAMESPACE)]);
    let _ = kubectl(&["delete", "namespace", NAMESPACE, "--ignore-not-found", "--wait=true", "--timeout=120s"]);
    let repo = format!("{registry}/bench-{}", std::process::id());
    let dir = tempfile::tempdir().unwrap();
    let record = Utf8Path::from_path(dir.path()).unwrap().join("release.json");
    let push = ["--overlay", OVERLAY, "--registry", &repo, "--record", record.as_str()];
    ok(&release(&infra, &push), "the first release");

    let mut unchanged_push = Vec::new();
    let mut unchanged_record = Vec::new();
    for _ in 0..runs {
        unchanged_push.push(timed("unchanged release --registry", || ok(&release(&infra, &push), "unchanged release")));
        let promote = ["--overlay", OVERLAY, "--images", record.as_str()];
        unchanged_record.push(timed("unchanged release --images", || ok(&release(&infra, &promote), "unchanged release")));
    }

    let mut ours = Vec::new();
    for i in 0..runs {
        change_and_build(&infra, &format!("ours {i}"));
        ours.push(timed("changed release --registry", || ok(&release(&infra, &push), "changed release")));
    }
    let mut peer = Vec::new();
    for i in 0..runs {
        change_and_build(&infra, &format!("peer {i}"));
        let tag = format!("peer-{}-{i}", std::process::id());
        peer.push(timed("docker push + kubectl set image + rollout status", || {
            let images = ["srvthreds-bootstrap", "srvthreds-engine", "srvthreds-persistence-agent", "srvthreds-session-agent"];
            for image in images {
                let target = format!("{repo}/{image}:{tag}");
                ok(&run(Command::new("docker").args(["tag", &format!("{image}:{TAG}"), &target])), "docker tag");
                ok(&run(Command::new("docker").args(["push", "--quiet", &target])), "docker push");
            }
            for (deployment, image) in DEPLOYMENTS {
                let set =
                    kubectl(&["set", "image", "-n", NAMESPACE, &format!("deployment/{deployment}"), &format!("*={repo}/{image}:{tag}")]);
                ok(&set, "kubectl set image");
            }
            for (deployment, _) in DEPLOYMENTS {
                ok(
                    &kubectl(&["rollout", "status", "-n", NAMESPACE, &format!("deployment/{deployment}"), "--timeout=300s"]),
                    "rollout status",
                );
            }
        }));
    }
    let _ = kubectl(&["delete", "namespace", NAMESPACE, "--wait=false"]);

    println!("release benchmark on context {CONTEXT}, {runs} runs each (images built before the timed part of changed runs)");
    println!("| | time |");
    println!("|---|---|");
    println!("| unchanged, `release --registry` (to \"nothing to do\") | {} |", summary(&unchanged_push));
    println!("| unchanged, `release --images release.json` | {} |", summary(&unchanged_record));
    println!("| changed, `release --registry` (push, apply, all ready, smoke) | {} |", summary(&ours));
    println!("| changed, `docker push` ×4 + `kubectl set image` ×3 + `kubectl rollout status` ×3 | {} |", summary(&peer));
}
