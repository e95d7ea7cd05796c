//! The Kubernetes driver: Kustomize rendering, manifest validation, server-side apply, rollout waits, port-forward and the minikube lifecycle.
//!
//! This crate is being built up issue by issue; what exists is listed in `ARCHITECTURE.md`.
//!
//! - [`overlay`]: an overlay found by name or path and made ready to render (a cloud overlay's
//!   uncommitted `secrets.env` written into a private temporary copy).
//! - [`minikube`]: the steps of `minikube up|down|status` with their exact commands, and
//!   parsers for minikube's `status` and `docker-env` output (pure data; xtask runs them).
//!
//! # Features
//!
//! - `cluster` (off by default): talking to a live API server through `kube` (rustls with the
//!   `ring` provider, the one TLS stack of the workspace): [`cluster::connect`].
//! - `schema` (off by default, part of `cluster`): [`validate::schema`] decodes rendered objects
//!   into their `k8s-openapi` types; the lints of [`validate::lint`] need no feature.
//!
//! `k8s-openapi` needs exactly one Kubernetes version feature, and a library never picks it: the
//! final binary does (xtask enables `k8s-openapi/v1_33`). To build, lint or test this crate alone
//! with `cluster`, name a version on the command line:
//!
//! ```text
//! cargo clippy -p stack-k8s --features cluster,k8s-openapi/v1_33 -- -D warnings
//! cargo test -p stack-k8s --features cluster,k8s-openapi/v1_33
//! ```
//!
//! The [`Error`] enum has the same variants with and without `cluster`; backend errors are
//! boxed sources.

#[cfg(feature = "cluster")]
pub mod cluster;
mod error;
pub mod guard;
pub mod minikube;
pub mod overlay;
pub mod plan;
pub mod render;
pub mod validate;

pub use error::{BoxError, Error, Result};
