//! The typed model of a dbfleet repository: what a user commits, as Rust types.
//!
//! These types are the single source of the JSON Schemas in `schema/` and of
//! every structural check. They do no I/O.

mod cluster;
mod engine;
mod fleet;
mod request;
mod secret;

pub use cluster::{BackupPolicy, Cluster, Node, Passwords, SettingValue, Topology};
pub use engine::{Engine, Family};
pub use fleet::{
    DnsSettings, EmailSettings, Fleet, FleetBackup, HostSettings, NotifySettings, ServiceManager, SshSettings,
};
pub use request::{Request, RequestFile};
pub use secret::Secret;

use std::collections::BTreeMap;

/// A repository after loading and validation: every file parsed into its type
/// and every cross-file rule checked.
#[derive(Debug, Clone)]
pub struct Repo {
    pub fleet: Fleet,
    /// Clusters sorted by name.
    pub clusters: Vec<Cluster>,
    /// Requests sorted by file name (the id).
    pub requests: Vec<RequestFile>,
    /// Template overrides: `templates/<engine>/<file>.j2` path -> source.
    pub templates: BTreeMap<String, String>,
}

impl Repo {
    pub fn cluster(&self, name: &str) -> Option<&Cluster> {
        self.clusters.iter().find(|c| c.name == name)
    }
}
