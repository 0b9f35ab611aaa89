use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

use super::{Engine, Secret};

/// One database cluster: `clusters/<name>.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "dbfleet cluster file")]
pub struct Cluster {
    /// Cluster name, also the base DNS name and the prefix of node names.
    #[schemars(regex(pattern = r"^[a-z][a-z0-9-]{0,40}$"))]
    pub name: String,
    /// The database engine.
    pub engine: Engine,
    /// Engine release line, e.g. "10.11", "15", "7.2".
    pub version: String,
    /// single | primary-replica | multi-master
    pub topology: Topology,
    /// Pin of the TimescaleDB or Hydra extension version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension_version: Option<String>,
    /// Engine TCP port; defaults to the engine's standard port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 65535))]
    pub port: Option<u16>,
    /// Termination protection: no delete-cluster while true.
    #[serde(default)]
    pub protected: bool,
    /// Promote the most advanced healthy replica when the primary is lost.
    #[serde(default)]
    pub auto_failover: bool,
    /// Addresses or CIDR ranges allowed to the engine port; empty = open to all.
    #[serde(default)]
    pub allowed_ips: Vec<String>,
    /// Engine parameters merged into the rendered configuration.
    #[serde(default)]
    pub settings: BTreeMap<String, SettingValue>,
    /// Scheduled backups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<BackupPolicy>,
    /// Where the database passwords come from; generated and kept in the
    /// state directory when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passwords: Option<Passwords>,
    /// The hosts of the cluster. The first node of a new cluster is its primary.
    #[schemars(length(min = 1))]
    pub nodes: Vec<Node>,
}

impl Cluster {
    pub fn port(&self) -> u16 {
        self.port.unwrap_or_else(|| self.engine.default_port())
    }
}

/// How the nodes of a cluster replicate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Topology {
    Single,
    PrimaryReplica,
    MultiMaster,
}

impl Topology {
    pub fn as_str(self) -> &'static str {
        match self {
            Topology::Single => "single",
            Topology::PrimaryReplica => "primary-replica",
            Topology::MultiMaster => "multi-master",
        }
    }
}

impl fmt::Display for Topology {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One host of a cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Node {
    /// IP address or DNS name of the host, reached over SSH.
    pub host: String,
}

/// A value in `[settings]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum SettingValue {
    Bool(bool),
    Integer(i64),
    Float(f64),
    String(String),
}

impl fmt::Display for SettingValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SettingValue::Bool(b) => write!(f, "{b}"),
            SettingValue::Integer(i) => write!(f, "{i}"),
            SettingValue::Float(x) => write!(f, "{x}"),
            SettingValue::String(s) => f.write_str(s),
        }
    }
}

/// `[backup]` of a cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BackupPolicy {
    /// "daily", "hourly" or a five-field cron expression.
    pub schedule: String,
    /// How many backups to keep.
    #[serde(default = "default_retain")]
    #[schemars(range(min = 1, max = u32::MAX))]
    pub retain: u32,
}

fn default_retain() -> u32 {
    7
}

/// `[passwords]` of a cluster: each a secret reference, never plain text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Passwords {
    /// Password of the administrative database user dbfleet creates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin: Option<Secret>,
    /// Password of the replication user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replication: Option<Secret>,
}
