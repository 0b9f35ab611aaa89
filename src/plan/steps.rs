use serde::Serialize;
use std::fmt;

/// One idempotent step of a plan, on one node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "step", rename_all = "kebab-case")]
pub enum Step {
    /// Create the engine's data directory (mariadb-install-db, initdb, ...).
    InitDataDir,
    /// Write a rendered config file atomically, keeping the previous one.
    WriteConfig { path: String },
    /// Start the engine and wait until it is healthy.
    Start,
    /// Create the administrative and replication users and keep their passwords.
    CreateUsers,
    /// Copy the data of `from` onto this node (physical copy streamed over SSH).
    SeedFromPrimary { from: String },
    /// Start replicating from `from`.
    StartReplication { from: String },
    /// Apply changed settings: live where the engine allows (reload, SET
    /// GLOBAL, CONFIG SET), by a rolling restart otherwise.
    ApplyConfig,
    /// Load the node's firewall file (`nft -f`): after it changed, or when
    /// the cluster's chain is missing from the host's ruleset. Never touches
    /// the engine.
    ApplyFirewall,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::InitDataDir => write!(f, "initialise the data directory"),
            Step::WriteConfig { path } => write!(f, "write {path}"),
            Step::Start => write!(f, "start the engine"),
            Step::CreateUsers => write!(f, "create the admin and replication users"),
            Step::SeedFromPrimary { from } => write!(f, "seed data from {from}"),
            Step::StartReplication { from } => write!(f, "replicate from {from}"),
            Step::ApplyConfig => write!(f, "apply settings (live where possible, else rolling restart)"),
            Step::ApplyFirewall => write!(f, "load the firewall rules (nft -f)"),
        }
    }
}
