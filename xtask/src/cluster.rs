//! The cluster commands of `cargo xtask k8s` (diff, apply, status, scale, logs, port-forward,
//! rollback, delete) on the live-cluster client of `stack-k8s` (feature `full`).
//!
//! Every entry point first makes sure it runs in a `full` build (re-running xtask through cargo
//! otherwise), so other modules (minikube, deploy) may call them from any build.

// Without `full` the bodies are not compiled, only the re-run through cargo.
#![cfg_attr(not(feature = "full"), allow(unused_variables))]

use std::process::ExitCode;

use crate::Context;
use crate::flags::{Apply, Delete, K8sLogs, PortForward, Rollback, Scale, Target};

/// Runs `$body` in a `full` build; re-runs xtask with `--features full` otherwise.
macro_rules! in_full_build {
    ($what:expr, $body:expr) => {{
        if let Some(code) = crate::backend::ensure_full($what)? {
            return Ok(code);
        }
        #[cfg(feature = "full")]
        {
            $body
        }
        #[cfg(not(feature = "full"))]
        {
            anyhow::bail!("`{}` needs the full build", $what)
        }
    }};
}

/// `k8s apply`: render, guard, server-side apply, prune, wait. Exit 0 only once every workload
/// rolled out and every Job completed.
pub fn apply(cx: &Context, args: &Apply) -> anyhow::Result<ExitCode> {
    in_full_build!("k8s apply", live::apply(cx, args))
}

/// `k8s diff`: exit 0 no change, 1 changes, 2 error.
pub fn diff(cx: &Context, args: &Target) -> anyhow::Result<ExitCode> {
    in_full_build!("k8s diff", live::diff(cx, args))
}

/// `k8s status`.
pub fn status(cx: &Context, args: &Target) -> anyhow::Result<ExitCode> {
    in_full_build!("k8s status", live::status(cx, args))
}

/// `k8s scale`.
pub fn scale(cx: &Context, args: &Scale) -> anyhow::Result<ExitCode> {
    in_full_build!("k8s scale", live::scale(cx, args))
}

/// `k8s logs`.
pub fn logs(cx: &Context, args: &K8sLogs) -> anyhow::Result<ExitCode> {
    in_full_build!("k8s logs", live::logs(cx, args))
}

/// `k8s port-forward`: runs until interrupted, reconnecting to a new pod when one is replaced.
pub fn port_forward(cx: &Context, args: &PortForward) -> anyhow::Result<ExitCode> {
    in_full_build!("k8s port-forward", live::port_forward(cx, args))
}

/// `k8s rollback`.
pub fn rollback(cx: &Context, args: &Rollback) -> anyhow::Result<ExitCode> {
    in_full_build!("k8s rollback", live::rollback(cx, args))
}

/// `k8s delete`.
pub fn delete(cx: &Context, args: &Delete) -> anyhow::Result<ExitCode> {
    in_full_build!("k8s delete", live::delete(cx, args))
}

/// `LOCAL:REMOTE` or `PORT`.
#[cfg_attr(not(feature = "full"), allow(dead_code))]
pub fn parse_ports(ports: &str) -> anyhow::Result<(u16, u16)> {
    let parse = |p: &str| {
        p.trim()
            .parse::<u16>()
            .map_err(|_| anyhow::anyhow!("invalid port `{p}` in `{ports}`\n  help: give LOCAL:REMOTE (e.g. 3000:3000) or one PORT"))
    };
    match ports.split_once(':') {
        Some((local, remote)) => Ok((parse(local)?, parse(remote)?)),
        None => {
            let p = parse(ports)?;
            Ok((p, p))
        }
    }
}

#[cfg(feature = "full")]
mod live {
    use std::io::IsTerminal as _;
    use std::net::SocketAddr;
    use std::process::ExitCode;
    use std::sync::Arc;
    use std::time::Duration;

    use anyhow::{Context as _, bail};
    use stack_k8s::cluster::forward;
    use stack_k8s::cluster::logs as k8s_logs;
    use stack_k8s::cluster::rollout::{State, Workload};
    use stack_k8s::cluster::session::{self, Conflicts, Event, Mode, OnFailure, Open, Prune, Session};

    use super::parse_ports;
    use crate::Context;
    use crate::flags::{Apply, Delete, K8sLogs, PortForward, Rollback, Scale, Target};
    use crate::k8s::{Purpose, load_and_prepare};
    use crate::backend::block_on;
    use crate::output::{note, table};

    /// Renders the overlay and connects. The one place where `--dry-run` becomes the session's
    /// mode: every cluster command goes through here, and the session's changing operations
    /// honour the mode (and apply the wrong-cluster guard) themselves.
    async fn session(cx: &Context, target: &Target, purpose: Purpose) -> anyhow::Result<Session> {
        let (infra, prepared) = load_and_prepare(cx, &target.overlay.overlay, purpose)?;
        let objects = stack_k8s::render::render(&prepared.dir)?;
        let applyset = prepared.applyset();
        let allowed_contexts = prepared.name.as_deref().map(|o| infra.environments.kube_contexts_for(o)).unwrap_or_default();
        let overlay = prepared.name.clone().unwrap_or_else(|| target.overlay.overlay.clone());
        let mode = if cx.dry_run { Mode::DryRun } else { Mode::Change };
        Ok(Session::open(Open { overlay, applyset, objects, context: target.context.clone(), allowed_contexts, mode }).await?)
    }

    fn progress(cx: &Context, line: &str) {
        if !cx.quiet {
            note(line);
        }
    }

    fn context_name(s: &Session) -> &str {
        s.info().context.as_deref().unwrap_or("(none)")
    }

    fn say_connected(cx: &Context, s: &Session) {
        let info = s.info();
        let dry = if s.mode() == Mode::DryRun { " (dry run: nothing will be changed)" } else { "" };
        progress(
            cx,
            &format!(
                "context {} ({} at {}), namespace {}, overlay {}{dry}",
                context_name(s),
                info.version,
                info.server,
                s.namespace(),
                s.overlay()
            ),
        );
    }

    /// Progress lines of the session's events.
    fn events(cx: &Context) -> impl FnMut(Event<'_>) + '_ {
        move |event| match event {
            Event::Applied(a) => {
                let note = if a.took_over.is_some() { " (took fields back from `cargo xtask k8s scale`/`rollback`)" } else { "" };
                progress(cx, &format!("  {} {}{note}", a.object, a.outcome.as_str()));
            }
            Event::Rollout(w, State::Progressing(why)) => progress(cx, &format!("  {w}: {why}")),
            Event::Rollout(w, State::Done(what)) => progress(cx, &format!("  {w}: rolled out ({what})")),
            Event::RolledBack(r) => progress(cx, &format!("  rolled back {} from revision {} to {}", r.workload, r.from, r.to)),
        }
    }

    fn wait_for(cx: &Context, no_wait: bool) -> Option<Duration> {
        (!no_wait).then(|| Duration::from_secs(cx.wait_timeout))
    }

    pub fn apply(cx: &Context, args: &Apply) -> anyhow::Result<ExitCode> {
        block_on("applying the overlay", async {
            let s = session(cx, &args.target, Purpose::Apply).await?;
            say_connected(cx, &s);
            let options = session::Apply {
                conflicts: if args.force_conflicts { Conflicts::Force } else { Conflicts::Refuse },
                prune: if args.no_prune { Prune::Keep } else { Prune::Delete },
                wait: wait_for(cx, args.no_wait),
                on_failure: if args.rollback_on_failure { OnFailure::RollBack } else { OnFailure::Stay },
            };
            if let Some(timeout) = options.wait.filter(|_| s.mode() == Mode::Change) {
                progress(cx, &format!("applying, then waiting for {} workloads (up to {}s)", s.workloads().len(), timeout.as_secs()));
            }
            let mut report = s.apply(&options, &mut events(cx)).await?;
            let summary = report.summary();
            if cx.out.is_json() {
                cx.out.json(&report)?;
            }
            if let Some(e) = report.error.take() {
                let extra = if report.rolled_back.is_empty() {
                    String::new()
                } else {
                    format!("\nrolled back: {}", report.rolled_back.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "))
                };
                return Err(anyhow::Error::new(e).context(format!("apply of overlay {} did not roll out ({summary}){extra}", s.overlay())));
            }
            if cx.out.is_json() {
                return Ok(ExitCode::SUCCESS);
            }
            if let Some(changes) = &report.changes {
                for d in changes {
                    cx.out.text(&format!("--- {} ({})\n{}", d.object, d.change.as_str(), d.diff))?;
                }
                let wait = match options.wait {
                    Some(t) => format!("would then wait for {} workloads (up to {}s)", report.workloads.len(), t.as_secs()),
                    None => "would not wait (--no-wait)".to_owned(),
                };
                cx.out.text(&format!(
                    "dry run: apply of overlay {} on context {} would make: {summary}; {wait}; nothing was changed",
                    s.overlay(),
                    context_name(&s)
                ))?;
                return Ok(ExitCode::SUCCESS);
            }
            let tail = if report.waited { "; every workload rolled out" } else { "; not waited for (--no-wait)" };
            cx.out.text(&format!("apply ok: overlay {} on context {}: {summary}{tail}", s.overlay(), context_name(&s)))?;
            Ok(ExitCode::SUCCESS)
        })
    }

    pub fn diff(cx: &Context, args: &Target) -> anyhow::Result<ExitCode> {
        let result = block_on("diffing the overlay", async {
            let s = session(cx, args, Purpose::Apply).await?;
            say_connected(cx, &s);
            let diffs = s.diff(Prune::Delete).await?;
            if cx.out.is_json() {
                cx.out.json(&diffs)?;
            } else {
                for d in &diffs {
                    cx.out.text(&format!("--- {} ({})\n{}", d.object, d.change.as_str(), d.diff))?;
                }
                progress(cx, &format!("{} objects would change", diffs.len()));
            }
            Ok(if diffs.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
        });
        // kubectl diff's exit codes: 0 no change, 1 changes, >1 an error.
        result.or_else(|e| {
            if matches!(e.downcast_ref::<stack_compose::Error>(), Some(stack_compose::Error::Interrupted { .. })) {
                return Err(e);
            }
            note(&format!("error: {e:#}"));
            Ok(ExitCode::from(2))
        })
    }

    pub fn status(cx: &Context, args: &Target) -> anyhow::Result<ExitCode> {
        block_on("reading the status", async {
            let s = session(cx, args, Purpose::Inspect).await?;
            let report = s.status().await?;
            if cx.out.is_json() {
                cx.out.json(&report)?;
            } else {
                let mut table_rows =
                    vec![["WORKLOAD", "READY", "UP-TO-DATE", "AVAILABLE", "RESTARTS", "STATE", "IMAGES"].map(String::from).to_vec()];
                for r in &report.workloads {
                    let name = Workload { kind: r.kind, namespace: report.namespace.clone(), name: r.name.clone() }.to_string();
                    table_rows.push(vec![
                        name,
                        format!("{}/{}", r.ready, r.desired),
                        r.updated.to_string(),
                        r.available.to_string(),
                        r.restarts.to_string(),
                        r.state.clone(),
                        r.images.join(","),
                    ]);
                }
                cx.out.text(&format!(
                    "context {} ({}), namespace {}, overlay {}\n{}",
                    context_name(&s),
                    s.info().version,
                    report.namespace,
                    report.overlay,
                    table(&table_rows)
                ))?;
            }
            Ok(ExitCode::SUCCESS)
        })
    }

    pub fn scale(cx: &Context, args: &Scale) -> anyhow::Result<ExitCode> {
        block_on("scaling", async {
            let s = session(cx, &args.target, Purpose::Inspect).await?;
            let report = s.scale(&args.workload, args.replicas, wait_for(cx, args.no_wait), &mut events(cx)).await?;
            let w = &report.workload;
            if cx.out.is_json() {
                cx.out.json(&report)?;
            } else if report.dry_run {
                cx.out.text(&format!(
                    "dry run: would scale {w} from {} to {} replicas on context {}; nothing was changed",
                    report.from,
                    report.to,
                    context_name(&s)
                ))?;
            } else {
                cx.out.text(&format!(
                    "scaled {w} from {} to {} replicas (a later `k8s apply` sets the overlay's count again)",
                    report.from, report.to
                ))?;
            }
            Ok(ExitCode::SUCCESS)
        })
    }

    pub fn rollback(cx: &Context, args: &Rollback) -> anyhow::Result<ExitCode> {
        block_on("rolling back", async {
            let s = session(cx, &args.target, Purpose::Inspect).await?;
            let report = s.rollback(&args.workload, args.to_revision, wait_for(cx, args.no_wait), &mut events(cx)).await?;
            let w = &report.workload;
            if cx.out.is_json() {
                cx.out.json(&report)?;
            } else if report.from == report.to {
                cx.out.text(&format!("{w} is already at revision {}", report.to))?;
            } else if report.dry_run {
                cx.out.text(&format!(
                    "dry run: would roll back {w} from revision {} to the template of revision {} (images {}) on context {}; nothing was changed",
                    report.from,
                    report.to,
                    report.images.join(", "),
                    context_name(&s)
                ))?;
            } else {
                cx.out.text(&format!(
                    "rolled back {w} from revision {} to the template of revision {} (a later `k8s apply` applies the overlay's again)",
                    report.from, report.to
                ))?;
            }
            Ok(ExitCode::SUCCESS)
        })
    }

    pub fn logs(cx: &Context, args: &K8sLogs) -> anyhow::Result<ExitCode> {
        block_on("streaming logs", async {
            let s = session(cx, &args.target, Purpose::Inspect).await?;
            let w = s.workload(&args.workload)?;
            let mut sink = |line: String| {
                let _ = cx.out.text(&line);
            };
            k8s_logs::stream(s.client(), &w, args.follow, args.tail, &mut sink).await?;
            Ok(ExitCode::SUCCESS)
        })
    }

    pub fn port_forward(cx: &Context, args: &PortForward) -> anyhow::Result<ExitCode> {
        let (local, remote) = parse_ports(&args.ports)?;
        let address: std::net::IpAddr = args
            .address
            .parse()
            .with_context(|| format!("invalid --address `{}`\n  help: give an IP address such as 127.0.0.1", args.address))?;
        block_on("port-forwarding", async {
            let s = session(cx, &args.target, Purpose::Inspect).await?;
            let listener = forward::bind(SocketAddr::new(address, local)).await?;
            let bound = listener.local_addr().context("reading the bound address")?;
            let target = forward::ForwardTarget { namespace: s.namespace().to_owned(), target: args.service.clone(), port: remote };
            let verbose = cx.verbose;
            let events: forward::Events = Arc::new(move |line: &str| {
                if verbose || line.contains("failed") {
                    note(line);
                }
            });
            // stdout: the line scripts wait for; it names the bound port (LOCAL 0 picks one).
            cx.out.text(&format!("Forwarding from {bound} -> {}:{remote} (namespace {}); Ctrl-C stops", args.service, s.namespace()))?;
            forward::serve(s.client().clone(), listener, target, events).await?;
            Ok(ExitCode::SUCCESS)
        })
    }

    pub fn delete(cx: &Context, args: &Delete) -> anyhow::Result<ExitCode> {
        block_on("deleting", async {
            let s = session(cx, &args.target, Purpose::Inspect).await?;
            // A dry run changes nothing, so it needs no confirmation.
            if !args.yes && s.mode() == Mode::Change {
                if !std::io::stdin().is_terminal() {
                    bail!(
                        "refusing to delete namespace {} on context {} without confirmation\n  help: pass --yes",
                        s.namespace(),
                        context_name(&s)
                    );
                }
                note(&format!("delete namespace {} and everything in it on context {}? [y/N] ", s.namespace(), context_name(&s)));
                let mut answer = String::new();
                std::io::stdin().read_line(&mut answer).context("reading the answer")?;
                if !matches!(answer.trim(), "y" | "Y" | "yes") {
                    bail!("not deleted");
                }
            }
            if s.mode() == Mode::Change {
                progress(cx, &format!("deleting namespace {} (waits until it is gone, up to {}s)", s.namespace(), cx.wait_timeout));
            }
            let report = s.delete(Duration::from_secs(cx.wait_timeout)).await?;
            if cx.out.is_json() {
                cx.out.json(&report)?;
                return Ok(ExitCode::SUCCESS);
            }
            let context = context_name(&s);
            cx.out.text(&match (report.existed, report.dry_run) {
                (false, _) => format!("namespace {} does not exist on context {context}: nothing to delete", report.namespace),
                (true, true) => format!(
                    "dry run: would delete namespace {} on context {context}, with {} objects of the overlay in it ({}); nothing was changed",
                    report.namespace,
                    report.objects.len(),
                    report.objects.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
                ),
                (true, false) => format!("deleted namespace {} on context {context}", report.namespace),
            })?;
            Ok(ExitCode::SUCCESS)
        })
    }
}
