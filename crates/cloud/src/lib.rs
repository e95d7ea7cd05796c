//! Cloud provisioning: the Terraform runner and EKS (cluster status, kubeconfig, native auth token).
//!
//! This crate is being built up issue by issue; what exists is listed in `ARCHITECTURE.md`.
//!
//! The operator's entry point is [`terraform::action::run`] (`plan`, `apply` or `destroy` of one
//! environment). Its dry run, [`terraform::action::plan_dry_run`], runs nothing and needs no
//! `terraform`: it gives the exact command lines and what a real run would stop at. For the
//! repository's `infrastructure/terraform`:
//!
//! ```
//! use std::path::Path;
//!
//! use stack_cloud::terraform::Options;
//! use stack_cloud::terraform::action::{self, Action, Confirm, DryRunNote};
//!
//! let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../infrastructure/terraform");
//! let options = action::Options { action: Action::Plan, terraform: Options::new(&root, "dev"), confirm: Confirm::Unavailable };
//! let plan = action::plan_dry_run(&options);
//! // init, plan, show: every one inside the environment's folder.
//! let steps: Vec<&str> = plan.commands.iter().map(|argv| argv[2].as_str()).collect();
//! assert_eq!(steps, ["init", "plan", "show"]);
//! assert!(plan.commands.iter().all(|argv| argv[0] == "terraform" && argv[1].ends_with("environments/dev")));
//! assert_eq!(plan.commands[1][3..], ["-input=false", "-no-color", "-out=.terraform/srvthreds.tfplan"]);
//! // The backend settings are not committed (only `backend.hcl.example` is).
//! assert!(matches!(plan.notes.as_slice(), [DryRunNote::NoBackendConfig { .. }]));
//! ```
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

pub mod ecr;
#[cfg(feature = "aws")]
pub mod eks;
mod error;
pub mod kubeconfig;
pub mod lint;
pub mod terraform;
#[cfg(feature = "aws")]
pub mod token;

pub use error::{BoxError, Error, Result};
