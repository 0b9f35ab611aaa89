//! Well-known parameters of each engine family and the values they take.
//!
//! A table, not a grammar: each entry names a parameter in the family's
//! spelling (see [`crate::render::normalise_key`]) and the kind of value it
//! takes. Parameters not listed are passed through unchecked. The same table
//! tells a parameter of another family (`maxmemory-policy` in a MariaDB
//! cluster). docs/settings.md lists it for users; a test keeps the two equal.

use crate::model::{Family, SettingValue};

/// The values a parameter takes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    /// A whole number in `min..=max` (a string holding one is fine too).
    Integer {
        min: i64,
        max: Option<i64>,
    },
    /// Any number in `min..=max`.
    Number {
        min: f64,
        max: Option<f64>,
    },
    /// An amount of memory: an integer, or a number with the family's unit.
    Size,
    /// PostgreSQL's time parameters: an integer >= `min` in the parameter's
    /// unit, or a number with a time unit.
    Duration {
        min: i64,
    },
    Bool,
    /// A boolean, or one of these words.
    BoolOr(&'static [&'static str]),
    /// One of these words (case does not matter to the engines).
    OneOf(&'static [&'static str]),
}

/// One well-known parameter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Known {
    pub name: &'static str,
    pub kind: Kind,
    /// A valid value as written in TOML, for the help text.
    pub example: &'static str,
}

const fn int(name: &'static str, min: i64, max: Option<i64>, example: &'static str) -> Known {
    Known {
        name,
        kind: Kind::Integer { min, max },
        example,
    }
}

const fn known(name: &'static str, kind: Kind, example: &'static str) -> Known {
    Known { name, kind, example }
}

const MYSQL: &[Known] = &[
    int("max_connections", 1, Some(100_000), "500"),
    int("max_user_connections", 0, None, "100"),
    known("innodb_buffer_pool_size", Kind::Size, "\"4G\""),
    int("innodb_buffer_pool_instances", 1, Some(64), "8"),
    known("innodb_log_file_size", Kind::Size, "\"1G\""),
    known("innodb_redo_log_capacity", Kind::Size, "\"2G\""),
    known("innodb_log_buffer_size", Kind::Size, "\"64M\""),
    int("innodb_flush_log_at_trx_commit", 0, Some(2), "1"),
    int("innodb_io_capacity", 100, None, "2000"),
    known("innodb_file_per_table", Kind::Bool, "true"),
    known("max_allowed_packet", Kind::Size, "\"64M\""),
    known("tmp_table_size", Kind::Size, "\"64M\""),
    known("max_heap_table_size", Kind::Size, "\"64M\""),
    known("sort_buffer_size", Kind::Size, "\"2M\""),
    known("join_buffer_size", Kind::Size, "\"2M\""),
    int("sync_binlog", 0, Some(4_294_967_295), "1"),
    int("binlog_expire_logs_seconds", 0, None, "604800"),
    int("table_open_cache", 1, None, "4000"),
    int("thread_cache_size", 0, Some(16_384), "64"),
    int("wait_timeout", 1, None, "28800"),
    int("interactive_timeout", 1, None, "28800"),
    known("long_query_time", Kind::Number { min: 0.0, max: None }, "1.0"),
    known("slow_query_log", Kind::Bool, "true"),
    known("general_log", Kind::Bool, "false"),
    known(
        "transaction_isolation",
        Kind::OneOf(&[
            "READ-UNCOMMITTED",
            "READ-COMMITTED",
            "REPEATABLE-READ",
            "SERIALIZABLE",
        ]),
        "\"READ-COMMITTED\"",
    ),
];

const POSTGRESQL: &[Known] = &[
    int("max_connections", 1, Some(262_143), "200"),
    int("superuser_reserved_connections", 0, None, "3"),
    known("shared_buffers", Kind::Size, "\"8GB\""),
    known("work_mem", Kind::Size, "\"32MB\""),
    known("maintenance_work_mem", Kind::Size, "\"1GB\""),
    known("effective_cache_size", Kind::Size, "\"24GB\""),
    known("temp_buffers", Kind::Size, "\"8MB\""),
    known("max_wal_size", Kind::Size, "\"4GB\""),
    known("min_wal_size", Kind::Size, "\"1GB\""),
    known("random_page_cost", Kind::Number { min: 0.0, max: None }, "1.1"),
    known("seq_page_cost", Kind::Number { min: 0.0, max: None }, "1.0"),
    int("effective_io_concurrency", 0, Some(1000), "200"),
    known(
        "checkpoint_completion_target",
        Kind::Number {
            min: 0.0,
            max: Some(1.0),
        },
        "0.9",
    ),
    known("checkpoint_timeout", Kind::Duration { min: 30 }, "\"15min\""),
    int("max_worker_processes", 0, Some(262_143), "16"),
    int("max_parallel_workers", 0, Some(1024), "8"),
    int("max_parallel_workers_per_gather", 0, Some(1024), "4"),
    int("default_statistics_target", 1, Some(10_000), "100"),
    known("log_min_duration_statement", Kind::Duration { min: -1 }, "500"),
    known("statement_timeout", Kind::Duration { min: 0 }, "\"30s\""),
    known(
        "synchronous_commit",
        Kind::BoolOr(&["local", "remote_write", "remote_apply"]),
        "\"local\"",
    ),
    known("huge_pages", Kind::BoolOr(&["try"]), "\"try\""),
    known(
        "wal_compression",
        Kind::BoolOr(&["pglz", "lz4", "zstd"]),
        "\"zstd\"",
    ),
    known("autovacuum", Kind::Bool, "true"),
    known("jit", Kind::Bool, "false"),
];

const REDIS: &[Known] = &[
    known("maxmemory", Kind::Size, "\"4gb\""),
    known(
        "maxmemory-policy",
        Kind::OneOf(&[
            "noeviction",
            "allkeys-lru",
            "allkeys-lfu",
            "allkeys-random",
            "volatile-lru",
            "volatile-lfu",
            "volatile-random",
            "volatile-ttl",
        ]),
        "\"allkeys-lru\"",
    ),
    int("maxmemory-samples", 1, Some(64), "5"),
    int("maxclients", 1, None, "10000"),
    known("appendonly", Kind::Bool, "true"),
    known(
        "appendfsync",
        Kind::OneOf(&["always", "everysec", "no"]),
        "\"everysec\"",
    ),
    int("timeout", 0, None, "300"),
    int("tcp-keepalive", 0, None, "60"),
    int("tcp-backlog", 0, None, "511"),
    int("databases", 1, None, "16"),
    int("hz", 1, Some(500), "10"),
    int("io-threads", 1, Some(128), "4"),
    known(
        "loglevel",
        Kind::OneOf(&["debug", "verbose", "notice", "warning", "nothing"]),
        "\"notice\"",
    ),
];

/// The well-known parameters of a family.
pub fn table(family: Family) -> &'static [Known] {
    match family {
        Family::Mysql => MYSQL,
        Family::Postgresql => POSTGRESQL,
        Family::Redis => REDIS,
    }
}

pub const FAMILIES: [Family; 3] = [Family::Mysql, Family::Postgresql, Family::Redis];

/// How users name a family.
pub fn family_name(family: Family) -> &'static str {
    match family {
        Family::Mysql => "MySQL/MariaDB",
        Family::Postgresql => "PostgreSQL",
        Family::Redis => "Redis",
    }
}

/// The entry for `key`, already in the family's spelling.
pub fn lookup(family: Family, key: &str) -> Option<&'static Known> {
    table(family).iter().find(|k| k.name == key)
}

impl Kind {
    /// Whether `value` is one the parameter takes in `family`.
    pub fn accepts(self, family: Family, value: &SettingValue) -> bool {
        use SettingValue as V;
        match (self, value) {
            (Kind::Integer { min, max }, _) => as_integer(value).is_some_and(|n| in_range(n, min, max)),
            (Kind::Number { min, max }, _) => {
                as_number(value).is_some_and(|x| x >= min && max.is_none_or(|m| x <= m))
            }
            (Kind::Size, V::String(s)) => with_unit(s, size_units(family), family == Family::Postgresql),
            (Kind::Duration { .. }, V::String(s)) if s.trim().parse::<i64>().is_err() => {
                with_unit(s, &["us", "ms", "s", "min", "h", "d"], true)
            }
            (Kind::Size, _) => as_integer(value).is_some_and(|n| n >= 0),
            (Kind::Duration { min }, _) => as_integer(value).is_some_and(|n| n >= min),
            (Kind::Bool, _) => is_bool(family, value),
            (Kind::BoolOr(words) | Kind::OneOf(words), V::String(s))
                if words.iter().any(|w| w.eq_ignore_ascii_case(s)) =>
            {
                true
            }
            (Kind::BoolOr(_), _) => is_bool(family, value),
            (Kind::OneOf(_), _) => false,
        }
    }

    /// What the parameter takes, completing "must be ...".
    pub fn expected(self) -> String {
        match self {
            Kind::Integer { min, max: None } => format!("an integer >= {min}"),
            Kind::Integer { min, max: Some(max) } => format!("an integer from {min} to {max}"),
            Kind::Number { min, max: None } => format!("a number >= {min}"),
            Kind::Number { min, max: Some(max) } => format!("a number from {min} to {max}"),
            Kind::Size => "a size".to_string(),
            Kind::Duration { min } => format!("a duration (an integer >= {min}, or with a unit)"),
            Kind::Bool => "a boolean".to_string(),
            Kind::BoolOr(words) => format!("a boolean or one of {}", list(words)),
            Kind::OneOf(words) => format!("one of {}", list(words)),
        }
    }

    /// What the parameter takes, short enough to go under the value.
    pub fn label(self) -> String {
        match self {
            Kind::BoolOr(_) | Kind::OneOf(_) => "not an allowed value".to_string(),
            Kind::Duration { .. } => "expected a duration".to_string(),
            other => format!("expected {}", other.expected()),
        }
    }

    /// How to write such a value in `family`, for the help text.
    pub fn how(self, family: Family) -> String {
        match self {
            Kind::Size => match family {
                Family::Mysql => {
                    "a whole number of bytes, or a string with a suffix K, M, G, T, P or E".into()
                }
                Family::Postgresql => "an integer in the parameter's unit, or a string with a unit \
                                       B, kB, MB, GB or TB (case matters)"
                    .into(),
                Family::Redis => {
                    "a whole number of bytes, or a string with a unit b, k, kb, m, mb, g or gb".into()
                }
            },
            Kind::Duration { .. } => {
                "an integer in the parameter's unit, or a string with a unit us, ms, s, min, h or d".into()
            }
            Kind::Bool | Kind::BoolOr(_) => match family {
                Family::Mysql => "true or false (also \"ON\"/\"OFF\", 1/0)".into(),
                Family::Postgresql => "true or false (also \"on\"/\"off\")".into(),
                Family::Redis => "true or false (also \"yes\"/\"no\")".into(),
            },
            Kind::Integer { .. } => "a whole number".into(),
            Kind::Number { .. } => "a number".into(),
            Kind::OneOf(_) => "one of the words above, as a string".into(),
        }
    }
}

fn in_range(n: i64, min: i64, max: Option<i64>) -> bool {
    n >= min && max.is_none_or(|m| n <= m)
}

fn list(words: &[&str]) -> String {
    words
        .iter()
        .map(|w| format!("`{w}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn as_integer(value: &SettingValue) -> Option<i64> {
    match value {
        SettingValue::Integer(n) => Some(*n),
        SettingValue::Float(x) if x.fract() == 0.0 && x.abs() < 9e15 => Some(*x as i64),
        SettingValue::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn as_number(value: &SettingValue) -> Option<f64> {
    match value {
        SettingValue::Integer(n) => Some(*n as f64),
        SettingValue::Float(x) if x.is_finite() => Some(*x),
        SettingValue::String(s) => s.trim().parse().ok().filter(|x: &f64| x.is_finite()),
        _ => None,
    }
}

fn size_units(family: Family) -> &'static [&'static str] {
    match family {
        Family::Mysql => &["k", "m", "g", "t", "p", "e"],
        Family::Postgresql => &["B", "kB", "MB", "GB", "TB"],
        Family::Redis => &["b", "k", "kb", "m", "mb", "g", "gb"],
    }
}

/// `s` is a non-negative number with an optional unit. MySQL and Redis take
/// whole numbers and units in any case; PostgreSQL also fractions, a space
/// before the unit, and units only as written.
fn with_unit(s: &str, units: &[&str], postgres: bool) -> bool {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let number_ok = if postgres {
        number.parse::<f64>().is_ok_and(f64::is_finite)
    } else {
        !number.is_empty() && number.chars().all(|c| c.is_ascii_digit())
    };
    let unit = if postgres { unit.trim_start() } else { unit };
    number_ok
        && (unit.is_empty()
            || units.iter().any(|u| {
                if postgres {
                    *u == unit
                } else {
                    u.eq_ignore_ascii_case(unit)
                }
            }))
}

fn is_bool(family: Family, value: &SettingValue) -> bool {
    let words: &[&str] = match family {
        Family::Mysql => &["on", "off", "true", "false", "1", "0"],
        Family::Postgresql => &["on", "off", "true", "false", "yes", "no", "1", "0"],
        Family::Redis => &["yes", "no"],
    };
    match value {
        SettingValue::Bool(_) => true,
        SettingValue::Integer(0 | 1) => family != Family::Redis,
        SettingValue::String(s) => words.iter().any(|w| w.eq_ignore_ascii_case(s.trim())),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use SettingValue as V;

    fn s(v: &str) -> SettingValue {
        V::String(v.to_string())
    }

    fn accepts(family: Family, name: &str, value: SettingValue) -> bool {
        let known = lookup(family, name).unwrap_or_else(|| panic!("{name} not in the table"));
        known.kind.accepts(family, &value)
    }

    #[test]
    fn integers_and_their_range() {
        let f = Family::Mysql;
        assert!(accepts(f, "max_connections", V::Integer(500)));
        assert!(accepts(f, "max_connections", s("500")));
        assert!(accepts(f, "max_connections", V::Float(400.0)));
        assert!(!accepts(f, "max_connections", s("lots")));
        assert!(!accepts(f, "max_connections", V::Integer(-5)));
        assert!(!accepts(f, "max_connections", V::Float(400.5)));
        assert!(!accepts(f, "max_connections", V::Bool(true)));
        assert!(!accepts(f, "innodb_flush_log_at_trx_commit", V::Integer(3)));
    }

    #[test]
    fn sizes_in_each_familys_units() {
        assert!(accepts(Family::Mysql, "innodb_buffer_pool_size", s("4G")));
        assert!(accepts(Family::Mysql, "innodb_buffer_pool_size", s("128m")));
        assert!(accepts(
            Family::Mysql,
            "innodb_buffer_pool_size",
            V::Integer(134_217_728)
        ));
        assert!(!accepts(Family::Mysql, "innodb_buffer_pool_size", s("4GB")));
        assert!(!accepts(Family::Mysql, "innodb_buffer_pool_size", s("1.5G")));
        assert!(!accepts(Family::Mysql, "innodb_buffer_pool_size", V::Integer(-1)));
        assert!(accepts(Family::Postgresql, "shared_buffers", s("8GB")));
        assert!(accepts(Family::Postgresql, "shared_buffers", s("512 MB")));
        assert!(accepts(Family::Postgresql, "shared_buffers", s("1.5GB")));
        assert!(accepts(Family::Postgresql, "shared_buffers", V::Integer(16_384)));
        assert!(!accepts(Family::Postgresql, "shared_buffers", s("1G")));
        assert!(!accepts(Family::Postgresql, "shared_buffers", s("8gb")));
        assert!(accepts(Family::Redis, "maxmemory", s("4gb")));
        assert!(accepts(Family::Redis, "maxmemory", s("100MB")));
        assert!(!accepts(Family::Redis, "maxmemory", s("4 gb")));
        assert!(!accepts(Family::Redis, "maxmemory", s("lots")));
    }

    #[test]
    fn durations_booleans_and_words() {
        let pg = Family::Postgresql;
        assert!(accepts(pg, "log_min_duration_statement", V::Integer(-1)));
        assert!(accepts(pg, "log_min_duration_statement", s("250ms")));
        assert!(accepts(pg, "statement_timeout", s("1min")));
        assert!(!accepts(pg, "statement_timeout", s("1 minute")));
        assert!(!accepts(pg, "statement_timeout", V::Integer(-1)));
        assert!(accepts(pg, "synchronous_commit", V::Bool(false)));
        assert!(accepts(pg, "synchronous_commit", s("remote_apply")));
        assert!(!accepts(pg, "synchronous_commit", s("sometimes")));
        assert!(accepts(Family::Mysql, "slow_query_log", V::Integer(1)));
        assert!(accepts(Family::Mysql, "slow_query_log", s("ON")));
        assert!(accepts(Family::Redis, "appendonly", s("yes")));
        assert!(!accepts(Family::Redis, "appendonly", V::Integer(1)));
        assert!(accepts(Family::Redis, "maxmemory-policy", s("ALLKEYS-LRU")));
        assert!(!accepts(Family::Redis, "maxmemory-policy", s("lru")));
    }

    #[test]
    fn every_example_is_accepted() {
        for family in FAMILIES {
            for k in table(family) {
                let value: SettingValue = toml::from_str::<toml::Table>(&format!("v = {}", k.example))
                    .ok()
                    .and_then(|t| t.get("v").cloned())
                    .and_then(|v| v.try_into().ok())
                    .unwrap_or_else(|| panic!("{} example {}", k.name, k.example));
                assert!(k.kind.accepts(family, &value), "{} = {}", k.name, k.example);
            }
        }
    }

    /// docs/settings.md lists exactly the table, family by family.
    #[test]
    fn the_docs_list_every_parameter() {
        let docs = include_str!("../../docs/settings.md");
        for family in FAMILIES {
            let heading = format!("## {}", family_name(family));
            let section: String = docs
                .split("\n## ")
                .find(|s| format!("## {s}").starts_with(&heading))
                .unwrap_or_else(|| panic!("no section {heading}"))
                .to_string();
            let listed: Vec<&str> = section
                .lines()
                .filter_map(|l| l.strip_prefix("| `"))
                .filter_map(|l| l.split('`').next())
                .collect();
            let names: Vec<&str> = table(family).iter().map(|k| k.name).collect();
            assert_eq!(listed, names, "{heading}");
        }
    }
}
