//! Commands whose implementation has not landed: each fails with a clear message, never a fake
//! success.

use std::process::ExitCode;

use anyhow::bail;

use crate::flags::{K8s, Minikube};

const KUBE: &str = "the Kubernetes driver";

pub fn not_yet(command: &str, arrives_with: &str) -> anyhow::Result<ExitCode> {
    bail!("`cargo xtask {command}` is not implemented yet; it arrives with {arrives_with}")
}

pub fn minikube(action: Minikube) -> anyhow::Result<ExitCode> {
    let name = match action {
        Minikube::Up => "minikube up",
        Minikube::Down => "minikube down",
        Minikube::Status => "minikube status",
    };
    not_yet(name, KUBE)
}

pub fn k8s(action: K8s) -> anyhow::Result<ExitCode> {
    let name = match action {
        K8s::Render(_) => "k8s render",
        K8s::Validate(_) => "k8s validate",
        K8s::Diff(_) => "k8s diff",
        K8s::Apply(_) => "k8s apply",
        K8s::Status(_) => "k8s status",
        K8s::Scale(_) => "k8s scale",
        K8s::Logs(_) => "k8s logs",
        K8s::PortForward(_) => "k8s port-forward",
        K8s::Rollback(_) => "k8s rollback",
        K8s::Delete(_) => "k8s delete",
    };
    not_yet(name, KUBE)
}
