//! `[settings]` of a cluster in each engine's own spelling: key
//! normalisation, value formatting, and the keys dbfleet manages itself.
//!
//! Rendering and validation share these functions, so what the validator
//! accepts is exactly what the templates can write.

use std::collections::BTreeMap;
use std::fmt;

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

const MYSQL_COMMON: &[&str] = &[
    "auto_increment_increment",
    "auto_increment_offset",
    "bind_address",
    "binlog_format",
    "datadir",
    "log_bin",
    "log_bin_index",
    "log_error",
    "log_replica_updates",
    "log_slave_updates",
    "pid_file",
    "port",
    "read_only",
    "relay_log",
    "relay_log_index",
    "report_host",
    "server_id",
    "skip_name_resolve",
    "skip_networking",
    "socket",
    "user",
];

const MARIADB_ONLY: &[&str] = &["gtid_domain_id", "gtid_strict_mode", "log_basename"];
const MYSQL_ONLY: &[&str] = &["enforce_gtid_consistency", "gtid_mode"];

const POSTGRESQL: &[&str] = &[
    "config_file",
    "data_directory",
    "external_pid_file",
    "hba_file",
    "hot_standby",
    "ident_file",
    "include",
    "include_dir",
    "include_if_exists",
    "listen_addresses",
    "password_encryption",
    "port",
    "primary_conninfo",
    "primary_slot_name",
    "unix_socket_directories",
];

/// TimescaleDB and Hydra preload their extension; another list would drop it.
const PG_EXTENSION: &[&str] = &["shared_preload_libraries"];

const REDIS: &[&str] = &[
    "aclfile",
    "bind",
    "daemonize",
    "dbfilename",
    "dir",
    "include",
    "logfile",
    "masterauth",
    "masteruser",
    "pidfile",
    "port",
    "rename-command",
    "replica-read-only",
    "replicaof",
    "requirepass",
    "slave-read-only",
    "slaveof",
    "unixsocket",
    "unixsocketperm",
    "user",
];

const KEYDB_ONLY: &[&str] = &["active-replica", "multi-master"];

/// Setting keys (normalised) that dbfleet sets itself and users may not set
/// in `[settings]`: addresses, paths, identities and replication wiring.
pub fn managed_keys(engine: Engine) -> &'static [&'static str] {
    // One static list per engine, built from the shared parts at compile time
    // would need const concat; a small match over prebuilt slices is clearer.
    match engine {
        Engine::Mysql => &MANAGED_MYSQL,
        Engine::Mariadb => &MANAGED_MARIADB,
        Engine::Postgresql => POSTGRESQL,
        Engine::Timescaledb | Engine::Hydra => &MANAGED_PG_EXTENSION,
        Engine::Redis | Engine::Valkey => REDIS,
        Engine::Keydb => &MANAGED_KEYDB,
    }
}

const fn concat<const N: usize>(a: &[&'static str], b: &[&'static str]) -> [&'static str; N] {
    let mut out = [""; N];
    let mut i = 0;
    while i < a.len() {
        out[i] = a[i];
        i += 1;
    }
    let mut j = 0;
    while j < b.len() {
        out[i + j] = b[j];
        j += 1;
    }
    out
}

static MANAGED_MYSQL: [&str; MYSQL_COMMON.len() + MYSQL_ONLY.len()] = concat(MYSQL_COMMON, MYSQL_ONLY);
static MANAGED_MARIADB: [&str; MYSQL_COMMON.len() + MARIADB_ONLY.len()] = concat(MYSQL_COMMON, MARIADB_ONLY);
static MANAGED_PG_EXTENSION: [&str; POSTGRESQL.len() + PG_EXTENSION.len()] = concat(POSTGRESQL, PG_EXTENSION);
static MANAGED_KEYDB: [&str; REDIS.len() + KEYDB_ONLY.len()] = concat(REDIS, KEYDB_ONLY);

/// Whether `key` (any spelling) is managed by dbfleet for `engine`. MySQL
/// option prefixes (`loose_`, `skip_`, `disable_`, `enable_`) are seen
/// through, so `skip-log-bin` is as managed as `log_bin`.
pub fn is_managed(engine: Engine, key: &str) -> bool {
    let key = normalise_key(engine, key);
    let managed = managed_keys(engine);
    if managed.contains(&key.as_str()) {
        return true;
    }
    if engine.family() == Family::Mysql {
        return ["loose_", "skip_", "disable_", "enable_"]
            .iter()
            .filter_map(|p| key.strip_prefix(p))
            .any(|rest| is_managed(engine, rest));
    }
    false
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

    #[test]
    fn managed_keys_per_engine() {
        assert!(is_managed(Engine::Mariadb, "server-id"));
        assert!(is_managed(Engine::Mariadb, "skip-log-bin"));
        assert!(is_managed(Engine::Mysql, "loose_gtid_mode"));
        assert!(is_managed(Engine::Mariadb, "gtid_domain_id"));
        assert!(!is_managed(Engine::Mariadb, "max_connections"));
        assert!(is_managed(Engine::Postgresql, "primary_conninfo"));
        assert!(!is_managed(Engine::Postgresql, "shared_preload_libraries"));
        assert!(is_managed(Engine::Timescaledb, "shared_preload_libraries"));
        assert!(is_managed(Engine::Redis, "replicaof"));
        assert!(is_managed(Engine::Valkey, "slaveof"));
        assert!(!is_managed(Engine::Redis, "maxmemory"));
        assert!(is_managed(Engine::Keydb, "active_replica"));
        for engine in Engine::ALL {
            for key in managed_keys(engine) {
                assert_eq!(
                    normalise_key(engine, key),
                    *key,
                    "{engine}: {key} is not normalised"
                );
            }
        }
    }
}
