//! Setting keys dbfleet manages itself: addresses, ports, paths, server
//! identities and replication wiring. Users may not set them in
//! `[settings]`; the validator reports them and rendering refuses them, so a
//! rendered file never holds a key twice.

use super::settings::normalise_key;
use crate::model::{Engine, Family};

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
    match engine {
        Engine::Mysql => &MANAGED_MYSQL,
        Engine::Mariadb => &MANAGED_MARIADB,
        Engine::Postgresql => POSTGRESQL,
        Engine::Timescaledb | Engine::Hydra => &MANAGED_PG_EXTENSION,
        Engine::Redis | Engine::Valkey => REDIS,
        Engine::Keydb => &MANAGED_KEYDB,
    }
}

/// `a` then `b`, at compile time, so each engine's list is one static slice.
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
