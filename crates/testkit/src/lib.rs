//! Test harness for real backing services, in the role testcontainers plays elsewhere.
//!
//! [`TestStack`] starts the SrvThreds stack, or part of it, from the compose files of an
//! infrastructure tree, waits until every service is really ready (the compose driver's
//! healthcheck-based waits), hands out [`Endpoint`]s and tears everything down:
//!
//! - each harness is its own compose project (`tk-<pid>-<counter>-<random>`) with its own
//!   network, and every published port is moved to a free host port, so parallel tests never
//!   collide;
//! - every container carries the run id and its owner process (labels in [`owner`]: pid, start
//!   time, boot and pid namespace), and every [`Builder::start`] first removes the stacks of
//!   owners that are gone, so a panic, an abort or a SIGKILL leaks nothing for long;
//! - [`TestStack::stop`] removes containers, network and volumes through the engine API;
//!   dropping a stack without it does the same synchronously with the docker CLI.
//!
//! Starting only Redis, from the local test images, and talking to it:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use stack_testkit::TestStack;
//!
//! let stack = TestStack::builder().services(&["redis"]).start().await?;
//! let redis = stack.endpoint("redis")?;
//! assert_eq!(redis.host, "127.0.0.1");
//! assert!(redis.uri().starts_with("redis://:")); // with the `test` environment's password
//! assert!(redis.to_string().starts_with("redis://:***@")); // Display hides the password
//! std::net::TcpStream::connect(redis.addr())?;
//! stack.stop().await?;
//! # Ok(())
//! # }
//! ```
//!
//! [`images::ensure`] builds (or finds cached by content) the local images the test suites
//! need on a machine with no registry: a Debian base made with `mmdebstrap`, Node.js, Redis and
//! RabbitMQ from Debian's packages, and a MongoDB wire-protocol stand-in.

pub mod bench;
mod cleanup;
mod endpoint;
mod error;
pub mod fixture;
mod harness;
pub mod images;
mod isolate;
pub mod owner;
#[cfg(feature = "probes")]
pub mod probes;

pub use cleanup::remove_project;
pub use endpoint::{Endpoint, Scheme};
pub use error::{Error, Result};
pub use harness::{Builder, DEFAULT_DEPLOYMENT, DEFAULT_ENVIRONMENT, TestStack, repository_root};
pub use isolate::free_port;
pub use owner::remove_leftovers;
