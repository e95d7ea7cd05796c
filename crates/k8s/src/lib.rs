//! The Kubernetes driver: Kustomize rendering, manifest validation, server-side apply, rollout waits, port-forward and the minikube lifecycle.
//!
//! This crate is being built up issue by issue; what exists is listed in `ARCHITECTURE.md`.

mod error;

pub use error::{Error, Result};
