//! Rendering: the configuration files of each node, from the built-in
//! templates in `templates/` (embedded in the binary) or the repository's
//! overrides at the same paths.
//!
//! Pure: no I/O. Input is a validated [`Cluster`](crate::model::Cluster) and a
//! [`NodeLayout`](crate::layout::NodeLayout); output is a list of
//! [`RenderedFile`]s with their host path, mode and owner. Secrets never
//! enter a template: files that need them include (Redis family) or point at
//! (PostgreSQL's passfile) a file that apply writes separately, whose path is
//! [`EnginePaths::secrets_file`].
//!
//! Every node also gets a firewall ruleset (see `firewall.rs`), rendered
//! from `templates/nftables/dbfleet.nft.j2`: [`Renderer::render_all`] returns
//! the engine's files followed by it.
//!
//! The template context is described in `context.rs` and, for
//! users writing overrides, in `templates/README.md`.

mod addresses;
mod blocks;
mod builtin;
mod context;
mod error;
mod firewall;
#[cfg(test)]
mod firewall_tests;
mod managed;
mod paths;
mod renderer;
mod settings;
#[cfg(test)]
mod tests;

pub use addresses::{Addresses, Unresolved};
pub use error::{Origin, RenderError, TemplateLocation};
pub use firewall::{firewall_chain, firewall_path, FIREWALL_TABLE};
pub use managed::{is_managed, managed_keys};
pub use paths::{engine_paths, slot_name, ConfigFile, EnginePaths, ADMIN_USER, REPLICATION_USER};
pub use renderer::{builtin_paths, builtin_source, RenderedFile, Renderer};
pub use settings::{format_settings, format_value, normalise_key, SettingError, SettingProblem};
