//! The SrvThreds deployment config model: pure data, loaded from files, validated precisely.
//!
//! Everything here is synchronous and free of Docker, Kubernetes and AWS crates: the drivers
//! take the plain data this crate produces. The entry point is [`Infra::load`], which reads the
//! deployment catalogue, the environments and their env files under one infrastructure tree;
//! [`Infra::check`] validates the whole tree and returns every finding at once.
//!
//! Loading this repository's own `infrastructure/` tree and resolving the local database
//! deployment into a compose project, then asking for a deployment that does not exist:
//!
//! ```
//! use camino::Utf8Path;
//! use stack_config::Infra;
//! use stack_config::infra::LoadOptions;
//!
//! let root = Utf8Path::new(env!("CARGO_MANIFEST_DIR")).join("../../infrastructure");
//! let (infra, _warnings) = Infra::load(&root, &LoadOptions::default())?;
//! let (resolved, _warnings) = infra.resolve("local", "s_a_dbs")?;
//! let project = resolved.compose.as_ref().expect("a docker deployment has a compose project");
//! assert!(project.services.contains_key("mongo"));
//! assert_eq!(resolved.services, ["mongo", "rabbitmq", "redis"]);
//!
//! // Every problem is a diagnostic naming the file, the field and what to do about it.
//! let error = infra.resolve("local", "s_a_db").unwrap_err();
//! let finding = error.diagnostics().iter().next().expect("one finding");
//! assert!(finding.file.ends_with("config/containerDeploymentConfig.json"));
//! assert_eq!(finding.message, "unknown deployment `s_a_db`");
//! assert_eq!(finding.help.as_deref(), Some("did you mean `s_a_dbs`?"));
//!
//! // The whole tree, every deployment in every environment it allows: no errors.
//! assert!(!Infra::check(&root, &LoadOptions::default()).has_errors());
//! # Ok::<(), stack_config::Error>(())
//! ```

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
pub mod menu;
pub mod node;
pub mod release;
pub mod secret;
pub mod suggest;
pub mod table;

pub use diagnostic::{Diagnostic, Diagnostics, Severity};
pub use error::{Error, Result};
pub use infra::Infra;
