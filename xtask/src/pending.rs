//! Commands whose implementation has not landed: each fails with a clear message, never a fake
//! success.

use std::process::ExitCode;

use anyhow::bail;

use crate::flags::Minikube;

pub fn minikube(action: Minikube) -> anyhow::Result<ExitCode> {
    let name = match action {
        Minikube::Up(_) => "minikube up",
        Minikube::Down => "minikube down",
        Minikube::Status => "minikube status",
    };
    not_yet(name, "the Kubernetes driver")
}

pub fn not_yet(command: &str, arrives_with: &str) -> anyhow::Result<ExitCode> {
    bail!("`cargo xtask {command}` is not implemented yet; it arrives with {arrives_with}")
}
