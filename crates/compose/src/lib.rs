//! The compose driver: plans a compose project and runs it on a Docker Engine through `bollard`.
//!
//! [`plan::Plan`] is pure: it turns a resolved deployment (from `stack-config`) into the ordered
//! list of what would be created, built, started and awaited. [`engine::Engine`] is the
//! connection to a Docker Engine.

pub mod engine;
mod error;
pub mod plan;

pub use engine::{Engine, EngineOptions};
pub use error::{Error, Result};
pub use plan::Plan;
