//! Test harness for real backing services, in the role testcontainers plays elsewhere.
//!
//! [`images::ensure`] builds (or finds cached by content) the local images the test suites
//! need on a machine with no registry: a Debian base made with `mmdebstrap`, Node.js, Redis and
//! RabbitMQ from Debian's packages, and a MongoDB wire-protocol stand-in.

pub mod bench;
mod error;
pub mod images;

pub use error::{Error, Result};
