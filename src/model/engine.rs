use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt;

use super::Topology;

/// A database engine dbfleet manages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    Mysql,
    Mariadb,
    Postgresql,
    Timescaledb,
    Hydra,
    Redis,
    Valkey,
    Keydb,
}

/// Engines that share replication mechanics and client tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    Mysql,
    Postgresql,
    Redis,
}

impl Engine {
    pub const ALL: [Engine; 8] = [
        Engine::Mysql,
        Engine::Mariadb,
        Engine::Postgresql,
        Engine::Timescaledb,
        Engine::Hydra,
        Engine::Redis,
        Engine::Valkey,
        Engine::Keydb,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Mysql => "mysql",
            Engine::Mariadb => "mariadb",
            Engine::Postgresql => "postgresql",
            Engine::Timescaledb => "timescaledb",
            Engine::Hydra => "hydra",
            Engine::Redis => "redis",
            Engine::Valkey => "valkey",
            Engine::Keydb => "keydb",
        }
    }

    pub fn family(self) -> Family {
        match self {
            Engine::Mysql | Engine::Mariadb => Family::Mysql,
            Engine::Postgresql | Engine::Timescaledb | Engine::Hydra => Family::Postgresql,
            Engine::Redis | Engine::Valkey | Engine::Keydb => Family::Redis,
        }
    }

    /// The TCP port the engine listens on unless the cluster sets `port`.
    pub fn default_port(self) -> u16 {
        match self.family() {
            Family::Mysql => 3306,
            Family::Postgresql => 5432,
            Family::Redis => 6379,
        }
    }

    pub fn supports(self, topology: Topology) -> bool {
        match topology {
            Topology::Single | Topology::PrimaryReplica => true,
            Topology::MultiMaster => matches!(self, Engine::Mysql | Engine::Mariadb | Engine::Keydb),
        }
    }

    /// Engines that support multi-master, for error messages.
    pub fn multi_master_engines() -> Vec<Engine> {
        Engine::ALL
            .into_iter()
            .filter(|e| e.supports(Topology::MultiMaster))
            .collect()
    }

    /// Release lines dbfleet knows how to configure, as written in `version`.
    /// For TimescaleDB and Hydra this is the PostgreSQL major version.
    pub fn versions(self) -> &'static [&'static str] {
        match self {
            Engine::Mysql => &["8.0", "8.4"],
            Engine::Mariadb => &["10.6", "10.11", "11.4", "11.8"],
            Engine::Postgresql | Engine::Timescaledb | Engine::Hydra => &["13", "14", "15", "16", "17"],
            Engine::Redis => &["6.2", "7.0", "7.2", "7.4"],
            Engine::Valkey => &["7.2", "8.0", "8.1", "9.0", "9.1"],
            Engine::Keydb => &["6.3"],
        }
    }

    /// Whether `version` names a release line of this engine. A major alone
    /// ("7", "8") is accepted where it is unambiguous for the family
    /// (PostgreSQL majors); otherwise major.minor is required.
    pub fn accepts_version(self, version: &str) -> bool {
        self.versions().contains(&version)
    }

    /// The name of the server program and client, e.g. for log lines.
    pub fn server_name(self) -> &'static str {
        match self {
            Engine::Mysql => "mysqld",
            Engine::Mariadb => "mariadbd",
            Engine::Postgresql | Engine::Timescaledb | Engine::Hydra => "postgres",
            Engine::Redis => "redis-server",
            Engine::Valkey => "valkey-server",
            Engine::Keydb => "keydb-server",
        }
    }
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
