//! The compose driver: plans a compose project and runs it on a Docker Engine through `bollard`.
//!
//! [`plan::Plan`] is pure: it turns a resolved deployment (from `stack-config`) into the ordered
//! list of what would be created, built, started and awaited. [`Engine`] is the connection to a
//! Docker Engine, and carries the operations: [`Engine::up`] converges a [`Stack`] (idempotent:
//! containers carry Docker Compose's labels and a config hash), [`Engine::run_job`] runs a
//! one-shot job, [`Engine::stop`] and [`Engine::down`] tear down, [`Engine::logs`] and
//! [`Engine::project_containers`] report. Progress goes to a [`progress::Progress`]; the driver
//! never prints.
//!
//! The main entry point is [`entry::run`]: one catalogue entry of the deployment catalogue
//! (here `s_a_dbs`, the host databases, in the `local` environment) carried out as the
//! catalogue says, pre-commands, compose action and post-commands. It needs a Docker Engine:
//!
//! ```no_run
//! # fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use camino::Utf8Path;
//! use stack_compose::EngineOptions;
//! use stack_compose::entry::{self, Options};
//! use stack_config::infra::{Infra, LoadOptions};
//!
//! // Warnings (the second values) are left out here; a caller shows them.
//! let (infra, _) = Infra::load(Utf8Path::new("infrastructure"), &LoadOptions::default())?;
//! let (resolved, _) = infra.resolve("local", "s_a_dbs")?;
//! // `DOCKER_HOST` and friends, as the docker CLI reads them.
//! let engine = EngineOptions::from_env(&|key| std::env::var(key).ok());
//! let report = entry::run(&resolved, std::path::Path::new("."), &engine, &Options::default(), &entry::Quiet)?;
//! println!("{report}");
//! std::process::exit(report.exit_code().into());
//! # }
//! ```

pub mod build;
mod context;
mod down;
pub mod engine;
pub mod entry;
mod error;
pub mod hooks;
pub mod labels;
pub mod live;
mod lock;
pub mod logs;
pub mod observe;
pub mod plan;
mod ports;
pub mod progress;
pub mod push;
mod run;
mod spec;
pub mod up;
mod wait;

pub use build::BuildPolicy;
pub use down::{DownOptions, Teardown};
pub use engine::{Engine, EngineOptions};
pub use error::{Error, Result};
pub use lock::ProjectLock;
pub use plan::Plan;
pub use up::{ProbeHook, ReadyProbe, Report, Stack, UpOptions};
