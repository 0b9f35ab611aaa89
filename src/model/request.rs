use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Secret;

/// A one-shot operation: `requests/<id>.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "action", rename_all = "kebab-case", deny_unknown_fields)]
#[schemars(title = "dbfleet request file")]
pub enum Request {
    /// Make a replica the primary.
    Promote { cluster: String, node: String },
    /// Reset every replica and seed it again from the primary.
    Resync { cluster: String },
    /// Back up the primary now.
    Backup { cluster: String },
    /// Restore the primary from a backup, then re-seed the replicas.
    Restore {
        cluster: String,
        /// A backup id or "latest".
        backup: String,
    },
    /// Import an external database into the primary, then resync.
    Migrate {
        cluster: String,
        /// URL of the source database, without a password.
        source: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        password: Option<Secret>,
    },
    /// Delete a node from a cluster.
    RemoveNode {
        cluster: String,
        node: String,
        /// Must equal the node's name.
        confirm: String,
    },
    /// Delete a whole cluster; refused while it is protected.
    DeleteCluster {
        cluster: String,
        /// Must equal the cluster's name.
        confirm: String,
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
            | Request::Resync { cluster }
            | Request::Backup { cluster }
            | Request::Restore { cluster, .. }
            | Request::Migrate { cluster, .. }
            | Request::RemoveNode { cluster, .. }
            | Request::DeleteCluster { cluster, .. } => cluster,
        }
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
