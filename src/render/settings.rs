//! `[settings]` of a cluster in each engine's own spelling: key
//! normalisation and value formatting.
//!
//! Rendering and validation share these functions, so what the validator
//! accepts is exactly what the templates can write.

use std::collections::BTreeMap;
use std::fmt;

use super::managed::is_managed;
use crate::model::{Engine, Family, SettingValue};

/// Why one `[settings]` entry cannot be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingProblem {
    #[error("is not a parameter name (letters, digits, '_', '-' and '.', starting with a letter)")]
    BadKey,
    #[error("is managed by dbfleet and cannot be set in [settings]")]
    Managed,
    #[error("names the same parameter as {0:?}")]
    Duplicate(String),
    #[error("has a value with a control character (newline, tab, ...)")]
    ControlCharacter,
    #[error("has a value that is not a finite number")]
    NotFinite,
}

/// One `[settings]` key and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingError {
    /// The key as the user wrote it.
    pub key: String,
    pub problem: SettingProblem,
}

impl fmt::Display for SettingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "setting {:?} {}", self.key, self.problem)
    }
}

impl std::error::Error for SettingError {}

/// A key in the engine's canonical spelling: lower case, with `_` between
/// words for MySQL and PostgreSQL and `-` for the Redis family (users may
/// write either).
pub fn normalise_key(engine: Engine, key: &str) -> String {
    let key = key.to_ascii_lowercase();
    match engine.family() {
        Family::Mysql | Family::Postgresql => key.replace('-', "_"),
        Family::Redis => key.replace('_', "-"),
    }
}

/// A value as the engine's configuration file spells it.
///
/// - MySQL/MariaDB: bare; booleans `ON`/`OFF`; strings double-quoted only
///   when empty or holding characters outside `[A-Za-z0-9_.,:/+=@*%()-]`.
/// - PostgreSQL: numbers bare; booleans `on`/`off`; strings single-quoted
///   with `'` doubled and `\` escaped.
/// - Redis family: bare; booleans `yes`/`no`; strings double-quoted only when
///   empty or holding spaces or special characters.
///
/// Errors: control characters in strings (they would start a new line of
/// configuration) and non-finite floats.
pub fn format_value(engine: Engine, value: &SettingValue) -> Result<String, SettingProblem> {
    let family = engine.family();
    match value {
        SettingValue::Bool(b) => Ok(match (family, b) {
            (Family::Mysql, true) => "ON",
            (Family::Mysql, false) => "OFF",
            (Family::Postgresql, true) => "on",
            (Family::Postgresql, false) => "off",
            (Family::Redis, true) => "yes",
            (Family::Redis, false) => "no",
        }
        .to_string()),
        SettingValue::Integer(i) => Ok(i.to_string()),
        SettingValue::Float(x) if !x.is_finite() => Err(SettingProblem::NotFinite),
        SettingValue::Float(x) => Ok(x.to_string()),
        SettingValue::String(s) if s.chars().any(char::is_control) => Err(SettingProblem::ControlCharacter),
        SettingValue::String(s) => Ok(match family {
            Family::Mysql => quote_if_needed(s, "_.,:/+=@*%()-"),
            Family::Postgresql => format!("'{}'", s.replace('\\', "\\\\").replace('\'', "''")),
            Family::Redis => quote_if_needed(s, "_.,:/+=@-"),
        }),
    }
}

/// `s` bare when every character is alphanumeric or in `safe`, otherwise in
/// double quotes with `\` and `"` escaped (both MySQL option files and
/// Redis's argument splitter read that form).
fn quote_if_needed(s: &str, safe: &str) -> String {
    let bare = !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || safe.contains(c));
    if bare {
        s.to_string()
    } else {
        format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

/// Whether `key` is a plausible parameter name for any engine.
fn valid_key(key: &str) -> bool {
    let mut chars = key.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// Every `[settings]` entry normalised and formatted for `engine`, ordered by
/// normalised key.
///
/// Errors: every bad key, managed key, duplicate (two spellings of one
/// parameter) and unrenderable value, all listed.
pub fn format_settings(
    engine: Engine,
    settings: &BTreeMap<String, SettingValue>,
) -> Result<BTreeMap<String, String>, Vec<SettingError>> {
    let mut out = BTreeMap::new();
    let mut written_as: BTreeMap<String, &str> = BTreeMap::new();
    let mut errors = Vec::new();
    for (key, value) in settings {
        let fail = |problem| SettingError {
            key: key.clone(),
            problem,
        };
        if !valid_key(key) {
            errors.push(fail(SettingProblem::BadKey));
            continue;
        }
        let norm = normalise_key(engine, key);
        if is_managed(engine, &norm) {
            errors.push(fail(SettingProblem::Managed));
            continue;
        }
        if let Some(first) = written_as.get(&norm) {
            errors.push(fail(SettingProblem::Duplicate((*first).to_string())));
            continue;
        }
        written_as.insert(norm.clone(), key);
        match format_value(engine, value) {
            Ok(v) => {
                out.insert(norm, v);
            }
            Err(problem) => errors.push(fail(problem)),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> SettingValue {
        SettingValue::String(v.to_string())
    }

    #[test]
    fn keys_take_the_engine_spelling() {
        let cases = [
            (
                Engine::Mariadb,
                "innodb-buffer-pool-size",
                "innodb_buffer_pool_size",
            ),
            (Engine::Mysql, "Max_Connections", "max_connections"),
            (Engine::Postgresql, "shared-buffers", "shared_buffers"),
            (
                Engine::Timescaledb,
                "timescaledb.max_background_workers",
                "timescaledb.max_background_workers",
            ),
            (Engine::Redis, "maxmemory_policy", "maxmemory-policy"),
            (Engine::Keydb, "server-threads", "server-threads"),
        ];
        for (engine, key, want) in cases {
            assert_eq!(normalise_key(engine, key), want, "{engine} {key}");
        }
    }

    #[test]
    fn values_take_the_engine_spelling() {
        let cases = [
            (Engine::Mariadb, SettingValue::Bool(true), "ON"),
            (Engine::Mysql, SettingValue::Bool(false), "OFF"),
            (Engine::Mariadb, SettingValue::Integer(500), "500"),
            (Engine::Mariadb, s("1G"), "1G"),
            (
                Engine::Mariadb,
                s("STRICT_TRANS_TABLES,NO_ZERO_DATE"),
                "STRICT_TRANS_TABLES,NO_ZERO_DATE",
            ),
            (Engine::Mariadb, s("a b"), "\"a b\""),
            (Engine::Mariadb, s("x#y"), "\"x#y\""),
            (Engine::Mariadb, s(""), "\"\""),
            (Engine::Postgresql, SettingValue::Bool(true), "on"),
            (Engine::Hydra, SettingValue::Bool(false), "off"),
            (Engine::Postgresql, SettingValue::Integer(200), "200"),
            (Engine::Postgresql, SettingValue::Float(0.05), "0.05"),
            (Engine::Postgresql, s("1GB"), "'1GB'"),
            (Engine::Postgresql, s("it's"), "'it''s'"),
            (Engine::Postgresql, s(r"C:\x"), r"'C:\\x'"),
            (Engine::Redis, SettingValue::Bool(true), "yes"),
            (Engine::Valkey, SettingValue::Bool(false), "no"),
            (Engine::Redis, s("allkeys-lru"), "allkeys-lru"),
            (Engine::Redis, s("2gb"), "2gb"),
            (Engine::Redis, s("3600 1 300 100"), "\"3600 1 300 100\""),
            (Engine::Redis, s(""), "\"\""),
            (Engine::Keydb, s("say \"hi\""), r#""say \"hi\"""#),
        ];
        for (engine, value, want) in cases {
            assert_eq!(
                format_value(engine, &value).as_deref(),
                Ok(want),
                "{engine} {value:?}"
            );
        }
    }

    #[test]
    fn unrenderable_values_are_refused() {
        assert_eq!(
            format_value(Engine::Redis, &s("x\nreplicaof 1.2.3.4 6379")),
            Err(SettingProblem::ControlCharacter)
        );
        assert_eq!(
            format_value(Engine::Postgresql, &SettingValue::Float(f64::NAN)),
            Err(SettingProblem::NotFinite)
        );
    }

    #[test]
    fn format_settings_lists_every_problem() {
        let settings: BTreeMap<String, SettingValue> = [
            ("max-connections", SettingValue::Integer(10)),
            ("max_connections", SettingValue::Integer(20)),
            ("server-id", SettingValue::Integer(9)),
            ("bad key", SettingValue::Integer(1)),
            ("ok", s("fine")),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let errors = format_settings(Engine::Mariadb, &settings).unwrap_err();
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            [
                "setting \"bad key\" is not a parameter name (letters, digits, '_', '-' and '.', starting with a letter)",
                "setting \"max_connections\" names the same parameter as \"max-connections\"",
                "setting \"server-id\" is managed by dbfleet and cannot be set in [settings]",
            ]
        );
    }

    #[test]
    fn format_settings_orders_by_normalised_key() {
        let settings: BTreeMap<String, SettingValue> = [
            ("maxmemory_policy", s("allkeys-lru")),
            ("appendonly", SettingValue::Bool(true)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let out = format_settings(Engine::Redis, &settings).unwrap();
        let pairs: Vec<(&str, &str)> = out.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(
            pairs,
            [("appendonly", "yes"), ("maxmemory-policy", "allkeys-lru")]
        );
    }
}
