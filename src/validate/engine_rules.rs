//! What validation asks of the renderer: keys dbfleet manages, key spelling,
//! and whether repository template overrides parse.

use std::collections::BTreeMap;

use crate::diag::Diagnostic;
use crate::model::Engine;

pub fn managed_keys(_engine: Engine) -> &'static [&'static str] {
    &[]
}

pub fn normalise_key(_engine: Engine, key: &str) -> String {
    key.to_string()
}

pub fn check_overrides(_templates: &BTreeMap<String, String>) -> Vec<Diagnostic> {
    Vec::new()
}
