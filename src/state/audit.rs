//! The audit log's lines: every change dbfleet makes, with when, from which
//! commit and whose, on which cluster and node, which step, and how it ended.

use serde::{Deserialize, Serialize};

/// One change, as one JSON line of `audit.jsonl`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// RFC 3339 UTC time the step ended.
    pub at: String,
    /// The commit applied, and its author ("Name <email>"), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// The operation the step belongs to (see `Operation::id`).
    pub operation: String,
    pub cluster: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// The step, as the plan names it (`write-config`, `apply-config` ...).
    pub step: String,
    /// The step in words, e.g. "write /etc/mysql/my.cnf".
    pub what: String,
    /// `ok` or `failed`.
    pub result: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl AuditEntry {
    /// The current time, as `at` takes it.
    pub fn now() -> String {
        humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
    }
}
