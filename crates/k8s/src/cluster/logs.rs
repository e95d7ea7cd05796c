//! `logs`: every pod of a workload, each line prefixed with its pod and container; with
//! `follow`, new pods are picked up as they appear (a rollout, a restart).

use std::collections::BTreeSet;
use std::time::Duration;

use futures_util::AsyncBufReadExt as _;
use futures_util::TryStreamExt as _;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, LogParams};
use tokio::sync::mpsc;

use super::api_error;
use super::rollout::{Workload, selector_of};
use crate::error::Result;

/// How often `follow` looks for new pods.
const POD_POLL: Duration = Duration::from_secs(2);

/// Whether a log stream ends at the end of the logs or keeps following new lines and pods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Follow {
    /// Read what is there and return.
    No,
    /// Keep streaming until the caller drops the future.
    Yes,
}

/// Streams the logs of `w`'s pods into `sink`, one line at a time (`[pod/container] line`).
/// Without `follow` it returns once every pod's log was read; with it, it runs until the caller
/// drops the future.
pub async fn stream(
    client: &kube::Client,
    w: &Workload,
    follow: Follow,
    tail: Option<i64>,
    sink: &mut (dyn FnMut(String) + Send),
) -> Result<()> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), &w.namespace);
    let selector = selector_of(client, w).await?;
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    let mut started: BTreeSet<(String, String)> = BTreeSet::new();
    loop {
        let list = pods.list(&ListParams::default().labels(&selector)).await.map_err(|e| api_error("list pods of", w, e))?;
        for pod in list.items {
            let Some(name) = pod.metadata.name.clone() else { continue };
            let containers: Vec<String> = pod.spec.iter().flat_map(|s| s.containers.iter().map(|c| c.name.clone())).collect();
            let running = pod.status.as_ref().and_then(|s| s.phase.as_deref()).is_some_and(|p| p != "Pending");
            if !running {
                continue;
            }
            for container in containers {
                if !started.insert((name.clone(), container.clone())) {
                    continue;
                }
                let (pods, tx, name) = (pods.clone(), tx.clone(), name.clone());
                let params = LogParams {
                    container: Some(container.clone()),
                    follow: follow == Follow::Yes,
                    tail_lines: tail,
                    ..LogParams::default()
                };
                tokio::spawn(async move {
                    let prefix = format!("[{name}/{container}]");
                    match pods.log_stream(&name, &params).await {
                        Ok(reader) => {
                            let mut lines = reader.lines();
                            while let Ok(Some(line)) = lines.try_next().await {
                                if tx.send(format!("{prefix} {line}")).is_err() {
                                    return;
                                }
                            }
                        }
                        Err(e) => {
                            let _ = tx.send(format!("{prefix} (cannot read the log: {e})"));
                        }
                    }
                });
            }
        }
        if follow == Follow::No {
            drop(tx);
            while let Some(line) = rx.recv().await {
                sink(line);
            }
            return Ok(());
        }
        let pause = tokio::time::sleep(POD_POLL);
        tokio::pin!(pause);
        loop {
            tokio::select! {
                Some(line) = rx.recv() => sink(line),
                () = &mut pause => break,
            }
        }
    }
}
