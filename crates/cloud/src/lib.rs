//! Cloud provisioning: the Terraform runner and EKS (cluster status, kubeconfig, native auth token).
//!
//! This crate is being built up issue by issue; what exists is listed in `ARCHITECTURE.md`.
//!
//! # Features
//!
//! - `aws` (off by default): EKS through the AWS SDK: [`eks::client`],
//!   [`eks::describe_cluster`], [`eks::wait_active`], [`eks::kubeconfig_entry`] and the native
//!   auth token of [`token`]. Its HTTP client is hyper + rustls with the `ring` provider, the
//!   one TLS stack of the workspace (bollard and kube use the same); aws-lc-rs is never compiled.
//!
//! [`kubeconfig`] (merging an entry into a kubeconfig file) needs no feature.
//!
//! The [`Error`] enum has the same variants with and without `aws`; SDK errors are boxed sources.

#[cfg(feature = "aws")]
pub mod eks;
mod error;
pub mod kubeconfig;
pub mod lint;
pub mod terraform;
#[cfg(feature = "aws")]
pub mod token;

pub use error::{BoxError, Error, Result};
