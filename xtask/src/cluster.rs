//! The cluster commands of `cargo xtask k8s` (diff, apply, status, scale, logs, port-forward,
//! rollback, delete) on the live-cluster client of `stack-k8s` (feature `full`).
//!
//! Every entry point first makes sure it runs in a `full` build (re-running xtask through cargo
//! otherwise), so other modules (minikube, deploy) may call them from any build.

use std::process::ExitCode;

use crate::Context;
use crate::flags::{Apply, Delete, K8sLogs, PortForward, Rollback, Scale, Target};

/// `k8s apply`: render, guard, server-side apply, prune, wait. Exit 0 only once every workload
/// rolled out and every Job completed.
pub fn apply(cx: &Context, args: &Apply) -> anyhow::Result<ExitCode> {
    let _ = (cx, args);
    crate::pending::not_yet("k8s apply", "the Kubernetes driver")
}

/// `k8s diff`: exit 0 no change, 1 changes, 2 error.
pub fn diff(cx: &Context, args: &Target) -> anyhow::Result<ExitCode> {
    let _ = (cx, args);
    crate::pending::not_yet("k8s diff", "the Kubernetes driver")
}

/// `k8s status`.
pub fn status(cx: &Context, args: &Target) -> anyhow::Result<ExitCode> {
    let _ = (cx, args);
    crate::pending::not_yet("k8s status", "the Kubernetes driver")
}

/// `k8s scale`.
pub fn scale(cx: &Context, args: &Scale) -> anyhow::Result<ExitCode> {
    let _ = (cx, args);
    crate::pending::not_yet("k8s scale", "the Kubernetes driver")
}

/// `k8s logs`.
pub fn logs(cx: &Context, args: &K8sLogs) -> anyhow::Result<ExitCode> {
    let _ = (cx, args);
    crate::pending::not_yet("k8s logs", "the Kubernetes driver")
}

/// `k8s port-forward`: runs until interrupted, reconnecting to a new pod when one is replaced.
pub fn port_forward(cx: &Context, args: &PortForward) -> anyhow::Result<ExitCode> {
    let _ = (cx, args);
    crate::pending::not_yet("k8s port-forward", "the Kubernetes driver")
}

/// `k8s rollback`.
pub fn rollback(cx: &Context, args: &Rollback) -> anyhow::Result<ExitCode> {
    let _ = (cx, args);
    crate::pending::not_yet("k8s rollback", "the Kubernetes driver")
}

/// `k8s delete`.
pub fn delete(cx: &Context, args: &Delete) -> anyhow::Result<ExitCode> {
    let _ = (cx, args);
    crate::pending::not_yet("k8s delete", "the Kubernetes driver")
}
