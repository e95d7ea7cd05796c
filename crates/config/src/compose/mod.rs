//! The compose-file model: the subset of the compose specification SrvThreds uses.
//!
//! Files are parsed into spanned trees, interpolated, decoded into [`Project`] and merged the
//! way `docker compose -f a -f b` merges them; [`validate`] then cross-checks the result.

mod load;
mod merge;
mod model;
mod validate;

pub use load::{LoadedFile, load_file};
pub use merge::merge;
pub use model::*;
pub use validate::{dependency_levels, validate};
