use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A secret is never written in the repository: it names where to read it.
///
/// `{ env = "NAME" }` reads an environment variable of the dbfleet process;
/// `{ file = "path" }` reads a file on the machine that runs dbfleet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub enum Secret {
    #[serde(rename = "env")]
    Env(String),
    #[serde(rename = "file")]
    File(String),
}

impl Secret {
    /// Fields whose value is a [`Secret`]; used to explain a plain-text value.
    pub const FIELDS: &'static [&'static str] = &["password", "tsig_key", "admin", "replication"];
}
