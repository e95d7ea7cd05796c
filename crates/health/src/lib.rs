//! Health checks: TCP, HTTP, Redis, MongoDB and RabbitMQ probes under a retry policy, run in parallel, with reports.
//!
//! This crate is being built up issue by issue; what exists is listed in `ARCHITECTURE.md`.

mod error;

pub use error::{Error, Result};
