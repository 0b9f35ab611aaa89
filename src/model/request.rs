use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Secret;

/// A one-shot operation: `requests/<id>.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "action", rename_all = "kebab-case", deny_unknown_fields)]
#[schemars(title = "dbfleet request file")]
pub enum Request {
    /// Make a replica the primary.
    Promote {
        cluster: String,
        node: String,
        /// Past this the request fails ("10m"; default per action).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timeout: Option<String>,
    },
    /// Reset every replica and seed it again from the primary.
    Resync {
        cluster: String,
        /// Past this the request fails ("10m"; default per action).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timeout: Option<String>,
    },
    /// Back up the primary now.
    Backup {
        cluster: String,
        /// Past this the request fails ("10m"; default per action).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timeout: Option<String>,
    },
    /// Restore the primary from a backup, then re-seed the replicas.
    Restore {
        cluster: String,
        /// A backup id or "latest".
        backup: String,
        /// Past this the request fails ("10m"; default per action).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timeout: Option<String>,
    },
    /// Import an external database into the primary, then resync.
    Migrate {
        cluster: String,
        /// URL of the source database, without a password.
        source: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        password: Option<Secret>,
        /// Past this the request fails ("10m"; default per action).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timeout: Option<String>,
    },
    /// Delete a node from a cluster.
    RemoveNode {
        cluster: String,
        node: String,
        /// Must equal the node's name.
        confirm: String,
        /// Past this the request fails ("10m"; default per action).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timeout: Option<String>,
    },
    /// Delete a whole cluster; refused while it is protected.
    DeleteCluster {
        cluster: String,
        /// Must equal the cluster's name.
        confirm: String,
        /// Past this the request fails ("10m"; default per action).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timeout: Option<String>,
    },
}

impl Request {
    pub const ACTIONS: [&'static str; 7] = [
        "promote",
        "resync",
        "backup",
        "restore",
        "migrate",
        "remove-node",
        "delete-cluster",
    ];

    pub fn action(&self) -> &'static str {
        match self {
            Request::Promote { .. } => "promote",
            Request::Resync { .. } => "resync",
            Request::Backup { .. } => "backup",
            Request::Restore { .. } => "restore",
            Request::Migrate { .. } => "migrate",
            Request::RemoveNode { .. } => "remove-node",
            Request::DeleteCluster { .. } => "delete-cluster",
        }
    }

    pub fn cluster(&self) -> &str {
        match self {
            Request::Promote { cluster, .. }
            | Request::Resync { cluster, .. }
            | Request::Backup { cluster, .. }
            | Request::Restore { cluster, .. }
            | Request::Migrate { cluster, .. }
            | Request::RemoveNode { cluster, .. }
            | Request::DeleteCluster { cluster, .. } => cluster,
        }
    }

    /// The `timeout` field as written, if any.
    pub fn timeout_field(&self) -> Option<&str> {
        match self {
            Request::Promote { timeout, .. }
            | Request::Resync { timeout, .. }
            | Request::Backup { timeout, .. }
            | Request::Restore { timeout, .. }
            | Request::Migrate { timeout, .. }
            | Request::RemoveNode { timeout, .. }
            | Request::DeleteCluster { timeout, .. } => timeout.as_deref(),
        }
    }

    /// How long the request may run: its `timeout`, or the action's
    /// default. A `timeout` that does not parse (validate refuses it) is
    /// taken as the default.
    pub fn timeout(&self) -> std::time::Duration {
        self.timeout_field()
            .and_then(|t| humantime::parse_duration(t).ok())
            .unwrap_or_else(|| self.default_timeout())
    }

    /// The default `timeout` of the action.
    pub fn default_timeout(&self) -> std::time::Duration {
        let minutes = match self {
            Request::Promote { .. } => 5,
            Request::RemoveNode { .. } => 10,
            Request::DeleteCluster { .. } => 30,
            Request::Resync { .. } | Request::Backup { .. } | Request::Restore { .. } => 120,
            Request::Migrate { .. } => 240,
        };
        std::time::Duration::from_secs(minutes * 60)
    }

    /// The node the request names, if any.
    pub fn node(&self) -> Option<&str> {
        match self {
            Request::Promote { node, .. } | Request::RemoveNode { node, .. } => Some(node),
            _ => None,
        }
    }
}

/// A request with its id (the file name without `.toml`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestFile {
    pub id: String,
    pub path: String,
    pub request: Request,
}
