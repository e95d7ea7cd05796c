//! The SrvThreds deployment config model: pure data, loaded from files, validated precisely.
//!
//! Everything here is synchronous and free of Docker, Kubernetes and AWS crates: the drivers
//! take the plain data this crate produces. The entry point is [`Infra::load`], which reads the
//! deployment catalogue, the environments and their env files under one infrastructure tree;
//! [`Infra::check`] validates the whole tree and returns every finding at once.

// A `Diagnostic` is returned only on the error path of config loading, never in a hot loop, so
// its size costs nothing worth boxing for.
#![allow(clippy::result_large_err)]

pub mod compose;
mod decode;
pub mod deployment;
pub mod diagnostic;
pub mod duration;
pub mod envfile;
pub mod environment;
mod error;
pub mod infra;
pub mod interpolate;
pub mod kustomize;
pub mod node;
pub mod secret;
pub mod suggest;
pub mod table;

pub use diagnostic::{Diagnostic, Diagnostics, Severity};
pub use error::{Error, Result};
pub use infra::Infra;
