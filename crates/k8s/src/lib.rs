//! The Kubernetes driver: Kustomize rendering, manifest validation, server-side apply, rollout waits, port-forward and the minikube lifecycle.
//!
//! This crate is being built up issue by issue; what exists is listed in `ARCHITECTURE.md`.
//!
//! The pure entry point is [`render::render`], the native Kustomize renderer: an overlay
//! directory in, its objects (as `kubectl kustomize` would print them) out, with no cluster and
//! no `kubectl`. Rendering the repository's `minikube` overlay:
//!
//! ```
//! use camino::Utf8Path;
//!
//! let overlay = Utf8Path::new(env!("CARGO_MANIFEST_DIR")).join("../../infrastructure/k8s/overlays/minikube");
//! let objects = stack_k8s::render::render(&overlay)?;
//! // The namespace comes first, and every object is in it.
//! assert_eq!(objects[0]["kind"], "Namespace");
//! assert_eq!(objects[0]["metadata"]["name"], "srvthreds");
//! assert!(objects.len() > 1 && objects[1..].iter().all(|o| o["metadata"]["namespace"] == "srvthreds"));
//! // The YAML stream `kubectl kustomize` prints.
//! let yaml = stack_k8s::render::to_yaml(&objects);
//! assert!(yaml.starts_with("apiVersion: v1\nkind: Namespace\n"));
//! # Ok::<(), stack_k8s::Error>(())
//! ```
//!
//! A cloud overlay's uncommitted `secrets.env` is written first by [`overlay::prepare`]. To
//! apply, diff or inspect an overlay on a live cluster (feature `cluster`), a caller opens
//! `cluster::session::Session::for_overlay`: it prepares and renders the overlay the same way,
//! connects to the chosen kube context and checks it against the overlay's declared contexts.
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
pub mod pin;
pub mod plan;
pub mod render;
pub mod validate;

pub use error::{BoxError, Error, Result};
