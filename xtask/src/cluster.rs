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
    use std::future::Future;
    use std::io::IsTerminal as _;
    use std::net::SocketAddr;
    use std::process::ExitCode;
    use std::sync::Arc;
    use std::time::Duration;

    use anyhow::{Context as _, bail};
    use serde::Serialize;
    use serde_json::Value;
    use stack_k8s::cluster::apply::{self as k8s_apply, Applied, ApplyOptions, Outcome};
    use stack_k8s::cluster::rollout::{self, State, Workload, WorkloadKind};
    use stack_k8s::cluster::{Client, ClusterInfo, ObjectRef, Resolver, diff as k8s_diff, forward, logs as k8s_logs, workload};
    use stack_k8s::guard::{self, ContextChoice};

    use super::parse_ports;
    use crate::Context;
    use crate::flags::{Apply, Delete, K8sLogs, PortForward, Rollback, Scale, Target};
    use crate::k8s::{Prepared, Purpose, prepare};
    use crate::local::runtime;
    use crate::output::{note, table};

    /// An overlay rendered and a cluster connected.
    struct Session {
        prepared: Prepared,
        objects: Vec<Value>,
        namespace: String,
        applyset: String,
        client: Client,
        info: ClusterInfo,
    }

    impl Session {
        fn overlay(&self) -> String {
            self.prepared.name.clone().unwrap_or_else(|| self.prepared.dir.to_string())
        }

        /// The Deployments, StatefulSets and Jobs of the overlay, in render order.
        fn workloads(&self) -> Vec<Workload> {
            self.objects
                .iter()
                .filter_map(ObjectRef::of)
                .filter_map(|o| {
                    let kind = WorkloadKind::of(&o)?;
                    Some(Workload { kind, namespace: o.namespace.clone().unwrap_or_else(|| self.namespace.clone()), name: o.name })
                })
                .collect()
        }

        /// The workload named `name` (`srvthreds-engine`, `deployment/srvthreds-engine`).
        fn workload(&self, name: &str) -> anyhow::Result<Workload> {
            let all = self.workloads();
            let (kind, bare) = match name.split_once('/') {
                Some((k, n)) => (Some(k.to_ascii_lowercase()), n),
                None => (None, name),
            };
            let found = all.iter().find(|w| {
                w.name == bare
                    && kind.as_deref().is_none_or(|k| {
                        matches!(
                            (k, w.kind),
                            ("deployment" | "deploy", WorkloadKind::Deployment)
                                | ("statefulset" | "sts", WorkloadKind::StatefulSet)
                                | ("job", WorkloadKind::Job)
                        )
                    })
            });
            match found {
                Some(w) => Ok(w.clone()),
                None => bail!(
                    "no workload `{name}` in overlay {}\n  help: name one of {}",
                    self.overlay(),
                    all.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
                ),
            }
        }
    }

    /// Renders the overlay, connects, and (for a change) applies the wrong-cluster guard.
    async fn session(cx: &Context, target: &Target, purpose: Purpose, mutating: bool) -> anyhow::Result<Session> {
        let prepared = prepare(cx, &target.overlay.overlay, purpose)?;
        let objects = stack_k8s::render::render(&prepared.dir)?;
        let Some(namespace) = stack_k8s::cluster::overlay_namespace(&objects) else {
            bail!("overlay {} renders no namespace and no namespaced object\n  help: set `namespace:` in its kustomization", prepared.dir);
        };
        let applyset = prepared.name.clone().unwrap_or_else(|| prepared.dir.file_name().unwrap_or("overlay").to_owned());
        let (client, info) = stack_k8s::cluster::connect(target.context.as_deref()).await?;
        if mutating {
            let allowed = allowed_contexts(cx, prepared.name.as_deref())?;
            let choice = if target.context.is_some() { ContextChoice::Explicit } else { ContextChoice::Current };
            let overlay = prepared.name.clone().unwrap_or_else(|| target.overlay.overlay.clone());
            guard::check(&overlay, &allowed, info.context.as_deref(), choice)?;
        }
        Ok(Session { prepared, objects, namespace, applyset, client, info })
    }

    /// The kube contexts the overlay declares (none for an overlay given as a path).
    fn allowed_contexts(cx: &Context, overlay: Option<&str>) -> anyhow::Result<Vec<String>> {
        let Some(overlay) = overlay else { return Ok(Vec::new()) };
        let (infra, _) = stack_config::Infra::load(&cx.infra, &crate::load_options())?;
        Ok(infra.environments.kube_contexts_for(overlay))
    }

    /// Runs `fut` on a fresh runtime; Ctrl-C ends it as an interruption (exit 130).
    fn block_on<T>(doing: &str, fut: impl Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
        runtime()?.block_on(async {
            tokio::select! {
                r = fut => r,
                _ = tokio::signal::ctrl_c() => Err(stack_compose::Error::Interrupted { doing: doing.to_owned() }.into()),
            }
        })
    }

    fn progress(cx: &Context, line: &str) {
        if !cx.quiet {
            note(line);
        }
    }

    fn say_connected(cx: &Context, s: &Session) {
        progress(
            cx,
            &format!(
                "context {} ({} at {}), namespace {}, overlay {}",
                s.info.context.as_deref().unwrap_or("(none)"),
                s.info.version,
                s.info.server,
                s.namespace,
                s.overlay()
            ),
        );
    }

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct ApplyReport<'a> {
        overlay: String,
        context: Option<&'a str>,
        namespace: &'a str,
        applied: &'a [Applied],
        waited: bool,
        rolled_back: Vec<String>,
        ok: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    }

    pub fn apply(cx: &Context, args: &Apply) -> anyhow::Result<ExitCode> {
        block_on("applying the overlay", async {
            let s = session(cx, &args.target, Purpose::Apply, true).await?;
            say_connected(cx, &s);
            let mut resolver = Resolver::new(s.client.clone());
            let recorded = k8s_apply::recorded_kinds(&mut resolver, &s.namespace).await.unwrap_or_default();
            let objects = k8s_apply::prepare(&s.objects, &s.applyset, &recorded)?;
            let workloads = s.workloads();
            // Revisions before the change, for --rollback-on-failure.
            let before = if args.rollback_on_failure { workload::revisions(&s.client, &workloads).await? } else { Vec::new() };
            let options =
                ApplyOptions { applyset: s.applyset.clone(), force_conflicts: args.force_conflicts, prune: !args.no_prune, dry_run: false };
            let mut print = |a: &Applied| {
                let note = if a.took_over.is_some() { " (took fields back from `cargo xtask k8s scale`/`rollback`)" } else { "" };
                progress(cx, &format!("  {} {}{note}", a.object, a.outcome.as_str()));
            };
            let applied = k8s_apply::apply(&mut resolver, &objects, &s.namespace, &options, &mut print).await?;
            let count = |o: Outcome| applied.iter().filter(|a| a.outcome == o).count();
            let summary = format!(
                "{} created, {} configured, {} unchanged, {} recreated, {} pruned",
                count(Outcome::Created),
                count(Outcome::Configured),
                count(Outcome::Unchanged),
                count(Outcome::Recreated),
                count(Outcome::Pruned)
            );
            let mut rolled_back = Vec::new();
            let waited = !args.no_wait;
            let mut failure = None;
            if waited {
                progress(cx, &format!("waiting for {} workloads (up to {}s)", workloads.len(), cx.wait_timeout));
                if let Err(e) = wait(cx, &s.client, &workloads).await {
                    let rolled = workload::roll_back_changed(&s.client, &before).await?;
                    for (w, from, to) in &rolled {
                        progress(cx, &format!("  rolled back {w} from revision {from} to {to}"));
                        rolled_back.push(format!("{w} {from}->{to}"));
                    }
                    if !rolled.is_empty() {
                        let back: Vec<Workload> = rolled.into_iter().map(|(w, _, _)| w).collect();
                        wait(cx, &s.client, &back).await.context("waiting for the rollback")?;
                    }
                    failure = Some(e);
                }
            }
            let ok = failure.is_none();
            if cx.out.is_json() {
                cx.out.json(&ApplyReport {
                    overlay: s.overlay(),
                    context: s.info.context.as_deref(),
                    namespace: &s.namespace,
                    applied: &applied,
                    waited,
                    rolled_back: rolled_back.clone(),
                    ok,
                    error: failure.as_ref().map(|e| format!("{e:#}")),
                })?;
            }
            if let Some(e) = failure {
                let extra = if rolled_back.is_empty() { String::new() } else { format!("\nrolled back: {}", rolled_back.join(", ")) };
                return Err(anyhow::Error::new(e).context(format!("apply of overlay {} did not roll out ({summary}){extra}", s.overlay())));
            }
            if !cx.out.is_json() {
                let tail = if waited { "; every workload rolled out" } else { "; not waited for (--no-wait)" };
                cx.out.text(&format!(
                    "apply ok: overlay {} on context {}: {summary}{tail}",
                    s.overlay(),
                    s.info.context.as_deref().unwrap_or("(none)")
                ))?;
            }
            Ok(ExitCode::SUCCESS)
        })
    }

    async fn wait(cx: &Context, client: &Client, workloads: &[Workload]) -> stack_k8s::Result<()> {
        let mut print = |w: &Workload, state: &State| match state {
            State::Progressing(why) => progress(cx, &format!("  {w}: {why}")),
            State::Done(what) => progress(cx, &format!("  {w}: rolled out ({what})")),
        };
        rollout::wait_all(client, workloads, Duration::from_secs(cx.wait_timeout), &mut print).await
    }

    pub fn diff(cx: &Context, args: &Target) -> anyhow::Result<ExitCode> {
        let result = block_on("diffing the overlay", async {
            let s = session(cx, args, Purpose::Apply, false).await?;
            say_connected(cx, &s);
            let mut resolver = Resolver::new(s.client.clone());
            let recorded = k8s_apply::recorded_kinds(&mut resolver, &s.namespace).await.unwrap_or_default();
            let objects = k8s_apply::prepare(&s.objects, &s.applyset, &recorded)?;
            let diffs = k8s_diff::diff(&mut resolver, &objects, &s.namespace, &s.applyset, true).await?;
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

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct StatusReport<'a> {
        overlay: String,
        context: Option<&'a str>,
        namespace: &'a str,
        all_ready: bool,
        workloads: &'a [workload::WorkloadStatus],
    }

    pub fn status(cx: &Context, args: &Target) -> anyhow::Result<ExitCode> {
        block_on("reading the status", async {
            let s = session(cx, args, Purpose::Inspect, false).await?;
            let rows = workload::status(&s.client, &s.workloads()).await?;
            let all_ready = rows.iter().all(|r| r.is_ready);
            if cx.out.is_json() {
                cx.out.json(&StatusReport {
                    overlay: s.overlay(),
                    context: s.info.context.as_deref(),
                    namespace: &s.namespace,
                    all_ready,
                    workloads: &rows,
                })?;
            } else {
                let mut table_rows =
                    vec![["WORKLOAD", "READY", "UP-TO-DATE", "AVAILABLE", "RESTARTS", "STATE", "IMAGES"].map(String::from).to_vec()];
                for r in &rows {
                    let name = Workload { kind: r.kind, namespace: s.namespace.clone(), name: r.name.clone() }.to_string();
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
                    s.info.context.as_deref().unwrap_or("(none)"),
                    s.info.version,
                    s.namespace,
                    s.overlay(),
                    table(&table_rows)
                ))?;
            }
            Ok(ExitCode::SUCCESS)
        })
    }

    pub fn scale(cx: &Context, args: &Scale) -> anyhow::Result<ExitCode> {
        if args.replicas < 0 {
            bail!("replicas must be 0 or more, not {}", args.replicas);
        }
        block_on("scaling", async {
            let s = session(cx, &args.target, Purpose::Inspect, true).await?;
            let w = s.workload(&args.workload)?;
            workload::scale(&s.client, &w, args.replicas).await?;
            progress(cx, &format!("  {w} scaled to {}", args.replicas));
            if !args.no_wait {
                wait(cx, &s.client, std::slice::from_ref(&w)).await?;
            }
            cx.out.text(&format!("scaled {w} to {} replicas (a later `k8s apply` sets the overlay's count again)", args.replicas))?;
            Ok(ExitCode::SUCCESS)
        })
    }

    pub fn rollback(cx: &Context, args: &Rollback) -> anyhow::Result<ExitCode> {
        block_on("rolling back", async {
            let s = session(cx, &args.target, Purpose::Inspect, true).await?;
            let w = s.workload(&args.workload)?;
            let (from, to) = workload::rollback(&s.client, &w, args.to_revision).await?;
            if from == to {
                cx.out.text(&format!("{w} is already at revision {to}"))?;
                return Ok(ExitCode::SUCCESS);
            }
            progress(cx, &format!("  {w} rolled back from revision {from} to the template of revision {to}"));
            if !args.no_wait {
                wait(cx, &s.client, std::slice::from_ref(&w)).await?;
            }
            cx.out.text(&format!("rolled back {w} to the template of revision {to} (a later `k8s apply` applies the overlay's again)"))?;
            Ok(ExitCode::SUCCESS)
        })
    }

    pub fn logs(cx: &Context, args: &K8sLogs) -> anyhow::Result<ExitCode> {
        block_on("streaming logs", async {
            let s = session(cx, &args.target, Purpose::Inspect, false).await?;
            let w = s.workload(&args.workload)?;
            let mut sink = |line: String| {
                let _ = cx.out.text(&line);
            };
            k8s_logs::stream(&s.client, &w, args.follow, args.tail, &mut sink).await?;
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
            let s = session(cx, &args.target, Purpose::Inspect, false).await?;
            let listener = forward::bind(SocketAddr::new(address, local)).await?;
            let bound = listener.local_addr().context("reading the bound address")?;
            let target = forward::ForwardTarget { namespace: s.namespace.clone(), target: args.service.clone(), port: remote };
            let verbose = cx.verbose;
            let events: forward::Events = Arc::new(move |line: &str| {
                if verbose || line.contains("failed") {
                    note(line);
                }
            });
            // stdout: the line scripts wait for; it names the bound port (LOCAL 0 picks one).
            cx.out.text(&format!("Forwarding from {bound} -> {}:{remote} (namespace {}); Ctrl-C stops", args.service, s.namespace))?;
            forward::serve(s.client.clone(), listener, target, events).await?;
            Ok(ExitCode::SUCCESS)
        })
    }

    pub fn delete(cx: &Context, args: &Delete) -> anyhow::Result<ExitCode> {
        block_on("deleting", async {
            let s = session(cx, &args.target, Purpose::Inspect, true).await?;
            if !args.yes {
                if !std::io::stdin().is_terminal() {
                    bail!(
                        "refusing to delete namespace {} on context {} without confirmation\n  help: pass --yes",
                        s.namespace,
                        s.info.context.as_deref().unwrap_or("(none)")
                    );
                }
                note(&format!(
                    "delete namespace {} and everything in it on context {}? [y/N] ",
                    s.namespace,
                    s.info.context.as_deref().unwrap_or("(none)")
                ));
                let mut answer = String::new();
                std::io::stdin().read_line(&mut answer).context("reading the answer")?;
                if !matches!(answer.trim(), "y" | "Y" | "yes") {
                    bail!("not deleted");
                }
            }
            progress(cx, &format!("deleting namespace {} (waits until it is gone, up to {}s)", s.namespace, cx.wait_timeout));
            let existed = workload::delete_namespace(&s.client, &s.namespace, Duration::from_secs(cx.wait_timeout)).await?;
            cx.out.text(&if existed {
                format!("deleted namespace {} on context {}", s.namespace, s.info.context.as_deref().unwrap_or("(none)"))
            } else {
                format!(
                    "namespace {} does not exist on context {}: nothing to delete",
                    s.namespace,
                    s.info.context.as_deref().unwrap_or("(none)")
                )
            })?;
            Ok(ExitCode::SUCCESS)
        })
    }
}
