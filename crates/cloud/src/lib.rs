//! Cloud provisioning: the Terraform runner and EKS (cluster status, kubeconfig, native auth token).
//!
//! This crate is being built up issue by issue; what exists is listed in `ARCHITECTURE.md`.

mod error;

pub use error::{Error, Result};
