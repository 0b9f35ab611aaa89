//! JSON Schemas of the repository files, generated from the model types.
//! `schema/` holds the checked-in copies; a test fails when they drift.

use schemars::schema_for;
use serde_json::Value;

use crate::model::{Cluster, Fleet, Request};

/// The schema files: (file name under `schema/`, schema).
pub fn all() -> Vec<(&'static str, Value)> {
    vec![
        ("fleet.schema.json", fleet()),
        ("cluster.schema.json", cluster()),
        ("request.schema.json", request()),
    ]
}

pub fn fleet() -> Value {
    schema_for!(Fleet).to_value()
}

pub fn cluster() -> Value {
    schema_for!(Cluster).to_value()
}

pub fn request() -> Value {
    schema_for!(Request).to_value()
}

/// The text of a schema file as checked in: pretty JSON with a final newline.
pub fn to_text(schema: &Value) -> String {
    let mut s = serde_json::to_string_pretty(schema).unwrap_or_default();
    s.push('\n');
    s
}
