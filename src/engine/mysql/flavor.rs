//! Every difference between MariaDB and MySQL, in one place: program
//! names, how a data directory is created, how a replica is pointed at its
//! source, where a physical backup leaves its GTID position, and which
//! privileges replication needs.
//!
//! Seeding MySQL uses Percona XtraBackup (`xtrabackup --backup
//! --stream=xbstream` piped into `xbstream -x`), not the clone plugin:
//! the same streamed copy over SSH as MariaDB's mariadb-backup, no plugin
//! to install on both ends, no extra donor user, and no direct connection
//! from the replica to the source's SQL port during the copy. The
//! xtrabackup release must match the server's (8.0 or 8.4).

use std::time::Duration;

use super::sql::literal;
use crate::model::Engine;
use crate::transport::Command;

/// MariaDB or MySQL (with the release line where syntax differs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flavor {
    Mariadb,
    /// MySQL 8.0 (8.0.23 or later: CHANGE REPLICATION SOURCE, START REPLICA).
    Mysql80,
    /// MySQL 8.4 and later (RESET MASTER is gone).
    Mysql84,
}

/// Where a replica connects to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Source<'a> {
    pub host: &'a str,
    pub port: u16,
    pub user: &'a str,
    pub password: &'a str,
}

/// Limit for each step of a seed (backup stream, prepare).
const SEED_TIMEOUT: Duration = Duration::from_secs(24 * 3600);

/// Seconds between a replica's attempts to reconnect to its source.
const CONNECT_RETRY: u32 = 5;

impl Flavor {
    pub(crate) fn of(engine: Engine, version: &str) -> Flavor {
        match engine {
            Engine::Mysql if version.starts_with("8.0") => Flavor::Mysql80,
            Engine::Mysql => Flavor::Mysql84,
            _ => Flavor::Mariadb,
        }
    }

    pub(crate) fn is_mariadb(self) -> bool {
        self == Flavor::Mariadb
    }

    /// The engine's name in messages.
    pub(crate) fn name(self) -> &'static str {
        if self.is_mariadb() {
            "MariaDB"
        } else {
            "MySQL"
        }
    }

    /// The command-line client.
    pub(crate) fn client(self) -> &'static str {
        if self.is_mariadb() {
            "mariadb"
        } else {
            "mysql"
        }
    }

    /// The administration tool (ping, shutdown).
    pub(crate) fn admin(self) -> &'static str {
        if self.is_mariadb() {
            "mariadb-admin"
        } else {
            "mysqladmin"
        }
    }

    /// The systemd unit of the Debian packages.
    pub(crate) fn unit(self) -> &'static str {
        if self.is_mariadb() {
            "mariadb"
        } else {
            "mysql"
        }
    }

    /// The physical backup tool, run on the source.
    pub(crate) fn backup_tool(self) -> &'static str {
        if self.is_mariadb() {
            "mariadb-backup"
        } else {
            "xtrabackup"
        }
    }

    /// The tool that unpacks the backup stream on the replica.
    pub(crate) fn stream_tool(self) -> &'static str {
        if self.is_mariadb() {
            "mbstream"
        } else {
            "xbstream"
        }
    }

    /// Names the server process may have (`/proc/<pid>/comm`).
    pub(crate) fn server_names(self) -> &'static [&'static str] {
        if self.is_mariadb() {
            &["mariadbd", "mysqld"]
        } else {
            &["mysqld"]
        }
    }

    /// Creates the system tables in an empty data directory. MariaDB's
    /// root can log in over the socket as the system's root (unix_socket);
    /// MySQL's root starts without a password (`--initialize-insecure`) and
    /// is switched to auth_socket by `create_users`.
    pub(crate) fn install(self, server: &str, config: &str, data_dir: &str, user: &str) -> Command {
        let cmd = if self.is_mariadb() {
            Command::new("mariadb-install-db").args([
                format!("--defaults-file={config}"),
                format!("--user={user}"),
                format!("--datadir={data_dir}"),
                "--skip-test-db".to_string(),
            ])
        } else {
            Command::new(server).args([
                format!("--defaults-file={config}"),
                "--initialize-insecure".to_string(),
                format!("--user={user}"),
                format!("--datadir={data_dir}"),
            ])
        };
        cmd.cwd("/").timeout(Duration::from_secs(600))
    }

    /// Streams a physical backup of the server behind `socket` to stdout.
    pub(crate) fn backup(self, socket: &str) -> Command {
        let mut cmd = Command::new(self.backup_tool()).args([
            "--backup".to_string(),
            "--stream=xbstream".to_string(),
            "--user=root".to_string(),
            format!("--socket={socket}"),
        ]);
        if !self.is_mariadb() {
            // xtrabackup keeps its temporary files there.
            cmd = cmd.arg("--target-dir=/tmp");
        }
        cmd.cwd("/tmp").timeout(SEED_TIMEOUT)
    }

    /// Unpacks a backup stream (stdin) into `data_dir`, as the engine user.
    pub(crate) fn unpack(self, data_dir: &str, user: &str) -> Command {
        Command::new(self.stream_tool())
            .args(["-x", "-C", data_dir])
            .run_as(user)
            .cwd(data_dir)
            .timeout(SEED_TIMEOUT)
    }

    /// Makes an unpacked backup consistent (applies its redo log).
    pub(crate) fn prepare(self, data_dir: &str, user: &str) -> Command {
        Command::new(self.backup_tool())
            .args(["--prepare".to_string(), format!("--target-dir={data_dir}")])
            .run_as(user)
            .cwd(data_dir)
            .timeout(SEED_TIMEOUT)
    }

    /// Whether initialisation tolerates dbfleet's `.dbfleet-incomplete`
    /// marker in the data directory. `mysqld --initialize` insists on an
    /// empty directory, so for MySQL a half-done initialisation is left
    /// for the operator to clear.
    pub(crate) fn install_tolerates_marker(self) -> bool {
        self.is_mariadb()
    }

    /// The server program and arguments for a start without systemd; the
    /// caller detaches it from the session (`setsid -f`). MariaDB runs under
    /// mysqld_safe (which restarts a crashed server and sets the file limit);
    /// MySQL's packages do not always ship mysqld_safe, so mysqld
    /// daemonises itself.
    pub(crate) fn direct_start(self, server: &str, config: &str) -> Vec<String> {
        if self.is_mariadb() {
            vec!["mysqld_safe".into(), format!("--defaults-file={config}")]
        } else {
            vec![
                server.into(),
                format!("--defaults-file={config}"),
                "--daemonize".into(),
            ]
        }
    }

    /// Checks a configuration file without starting a server; fails with
    /// the server's own `[ERROR]` lines.
    pub(crate) fn config_check(self, server: &str, config: &str, user: &str) -> Command {
        let cmd = if self.is_mariadb() {
            Command::new(server).args([
                format!("--defaults-file={config}"),
                format!("--user={user}"),
                "--help".to_string(),
                "--verbose".to_string(),
            ])
        } else {
            Command::new(server).args([
                format!("--defaults-file={config}"),
                format!("--user={user}"),
                "--validate-config".to_string(),
            ])
        };
        cmd.cwd("/").timeout(Duration::from_secs(60))
    }

    // ------------------------------------------------------------ SQL text

    pub(crate) fn replica_status(self) -> &'static str {
        if self.is_mariadb() {
            "SHOW SLAVE STATUS"
        } else {
            "SHOW REPLICA STATUS"
        }
    }

    pub(crate) fn start_replica(self) -> &'static str {
        if self.is_mariadb() {
            "START SLAVE"
        } else {
            "START REPLICA"
        }
    }

    pub(crate) fn stop_replica(self) -> &'static str {
        if self.is_mariadb() {
            "STOP SLAVE"
        } else {
            "STOP REPLICA"
        }
    }

    /// Points the replica at `source`, positioned by GTID: MariaDB from
    /// `gtid_slave_pos`, MySQL by auto-positioning on `gtid_executed`.
    /// MySQL's default caching_sha2_password needs the source's public key
    /// on a connection without TLS.
    pub(crate) fn change_source(self, s: &Source<'_>) -> String {
        let (host, user, password) = (literal(s.host), literal(s.user), literal(s.password));
        if self.is_mariadb() {
            format!(
                "CHANGE MASTER TO MASTER_HOST = {host}, MASTER_PORT = {}, MASTER_USER = {user}, \
                 MASTER_PASSWORD = {password}, MASTER_USE_GTID = slave_pos, MASTER_CONNECT_RETRY = {CONNECT_RETRY}",
                s.port
            )
        } else {
            format!(
                "CHANGE REPLICATION SOURCE TO SOURCE_HOST = {host}, SOURCE_PORT = {}, SOURCE_USER = {user}, \
                 SOURCE_PASSWORD = {password}, SOURCE_AUTO_POSITION = 1, SOURCE_CONNECT_RETRY = {CONNECT_RETRY}, \
                 GET_SOURCE_PUBLIC_KEY = 1",
                s.port
            )
        }
    }

    /// Statements that give a freshly seeded replica the GTID position of
    /// the backup it was made from (run before its first `change_source`).
    /// MariaDB: the replica's own position is `gtid_slave_pos`. MySQL: the
    /// restored server must believe it executed those transactions, so its
    /// binary log is reset and `gtid_purged` set.
    pub(crate) fn seed_position(self, gtid: &str) -> Vec<String> {
        match self {
            Flavor::Mariadb => vec![format!("SET GLOBAL gtid_slave_pos = {}", literal(gtid))],
            Flavor::Mysql80 | Flavor::Mysql84 => {
                let reset = if self == Flavor::Mysql80 {
                    "RESET MASTER"
                } else {
                    "RESET BINARY LOGS AND GTIDS"
                };
                let mut out = vec![reset.to_string()];
                if !gtid.is_empty() {
                    out.push(format!("SET GLOBAL gtid_purged = {}", literal(gtid)));
                }
                out
            }
        }
    }

    /// Privileges of the replication user: MariaDB splits what a replica
    /// needs from its source into three.
    pub(crate) fn replication_privileges(self) -> &'static str {
        if self.is_mariadb() {
            "REPLICATION SLAVE, REPLICATION SLAVE ADMIN, BINLOG MONITOR"
        } else {
            "REPLICATION SLAVE, REPLICATION CLIENT"
        }
    }

    /// Files, in the data directory after a backup is unpacked, that hold
    /// the source's binary log coordinates and GTID position.
    pub(crate) fn binlog_info_files(self) -> &'static [&'static str] {
        if self.is_mariadb() {
            &["mariadb_backup_binlog_info", "xtrabackup_binlog_info"]
        } else {
            &["xtrabackup_binlog_info"]
        }
    }

    /// Statements run by `create_users` so that root logs in only as the
    /// system's root over the socket (`auth_socket_active`: whether that
    /// plugin is loaded already). MariaDB's install already does this.
    pub(crate) fn secure_root(self, auth_socket_active: bool) -> Vec<&'static str> {
        if self.is_mariadb() {
            return Vec::new();
        }
        let mut out = Vec::new();
        if !auth_socket_active {
            out.push("INSTALL PLUGIN auth_socket SONAME 'auth_socket.so'");
        }
        out.push("ALTER USER 'root'@'localhost' IDENTIFIED WITH auth_socket");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source() -> Source<'static> {
        Source {
            host: "10.0.0.11",
            port: 3306,
            user: "dbfleet_repl",
            password: "pa'ss\\word",
        }
    }

    #[test]
    fn flavor_from_engine_and_version() {
        assert_eq!(Flavor::of(Engine::Mariadb, "10.11"), Flavor::Mariadb);
        assert_eq!(Flavor::of(Engine::Mysql, "8.0"), Flavor::Mysql80);
        assert_eq!(Flavor::of(Engine::Mysql, "8.4"), Flavor::Mysql84);
    }

    #[test]
    fn mariadb_change_master_uses_slave_pos() {
        assert_eq!(
            Flavor::Mariadb.change_source(&source()),
            "CHANGE MASTER TO MASTER_HOST = '10.0.0.11', MASTER_PORT = 3306, MASTER_USER = 'dbfleet_repl', \
             MASTER_PASSWORD = 'pa\\'ss\\\\word', MASTER_USE_GTID = slave_pos, MASTER_CONNECT_RETRY = 5"
        );
        assert_eq!(Flavor::Mariadb.start_replica(), "START SLAVE");
        assert_eq!(Flavor::Mariadb.stop_replica(), "STOP SLAVE");
        assert_eq!(Flavor::Mariadb.replica_status(), "SHOW SLAVE STATUS");
    }

    #[test]
    fn mysql_change_replication_source_auto_positions() {
        for f in [Flavor::Mysql80, Flavor::Mysql84] {
            assert_eq!(
                f.change_source(&source()),
                "CHANGE REPLICATION SOURCE TO SOURCE_HOST = '10.0.0.11', SOURCE_PORT = 3306, \
                 SOURCE_USER = 'dbfleet_repl', SOURCE_PASSWORD = 'pa\\'ss\\\\word', SOURCE_AUTO_POSITION = 1, \
                 SOURCE_CONNECT_RETRY = 5, GET_SOURCE_PUBLIC_KEY = 1"
            );
            assert_eq!(f.start_replica(), "START REPLICA");
            assert_eq!(f.stop_replica(), "STOP REPLICA");
            assert_eq!(f.replica_status(), "SHOW REPLICA STATUS");
        }
    }

    #[test]
    fn seed_positions() {
        assert_eq!(
            Flavor::Mariadb.seed_position("0-1-42,2-2-7"),
            ["SET GLOBAL gtid_slave_pos = '0-1-42,2-2-7'"]
        );
        let uuid = "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5";
        assert_eq!(
            Flavor::Mysql80.seed_position(uuid),
            [
                "RESET MASTER".to_string(),
                format!("SET GLOBAL gtid_purged = '{uuid}'")
            ]
        );
        assert_eq!(
            Flavor::Mysql84.seed_position(uuid)[0],
            "RESET BINARY LOGS AND GTIDS"
        );
        assert_eq!(Flavor::Mysql84.seed_position(""), ["RESET BINARY LOGS AND GTIDS"]);
    }

    #[test]
    fn install_commands() {
        let m = Flavor::Mariadb.install(
            "/usr/sbin/mariadbd",
            "/etc/mysql/my.cnf",
            "/var/lib/mysql",
            "mysql",
        );
        assert_eq!(m.program, "mariadb-install-db");
        assert_eq!(
            m.args,
            [
                "--defaults-file=/etc/mysql/my.cnf",
                "--user=mysql",
                "--datadir=/var/lib/mysql",
                "--skip-test-db"
            ]
        );
        let y = Flavor::Mysql80.install("/usr/sbin/mysqld", "/etc/mysql/my.cnf", "/var/lib/mysql", "mysql");
        assert_eq!(y.program, "/usr/sbin/mysqld");
        assert!(y.args.contains(&"--initialize-insecure".to_string()));
        assert!(
            y.args[0].starts_with("--defaults-file="),
            "must come first: {:?}",
            y.args
        );
    }

    #[test]
    fn direct_start_and_config_check() {
        assert_eq!(
            Flavor::Mariadb.direct_start("/usr/sbin/mariadbd", "/etc/mysql/my.cnf"),
            ["mysqld_safe", "--defaults-file=/etc/mysql/my.cnf"]
        );
        assert_eq!(
            Flavor::Mysql84.direct_start("/usr/sbin/mysqld", "/etc/mysql/my.cnf"),
            [
                "/usr/sbin/mysqld",
                "--defaults-file=/etc/mysql/my.cnf",
                "--daemonize"
            ]
        );
        let c = Flavor::Mariadb.config_check("/usr/sbin/mariadbd", "/etc/mysql/my.cnf", "mysql");
        assert_eq!(c.args.last().map(String::as_str), Some("--verbose"));
        let c = Flavor::Mysql80.config_check("/usr/sbin/mysqld", "/etc/mysql/my.cnf", "mysql");
        assert_eq!(c.args.last().map(String::as_str), Some("--validate-config"));
    }

    #[test]
    fn backup_unpack_prepare() {
        let b = Flavor::Mariadb.backup("/run/mysqld/mysqld.sock");
        assert_eq!(
            (b.program.as_str(), b.args.as_slice()),
            (
                "mariadb-backup",
                [
                    "--backup",
                    "--stream=xbstream",
                    "--user=root",
                    "--socket=/run/mysqld/mysqld.sock"
                ]
                .map(String::from)
                .as_slice()
            )
        );
        assert!(Flavor::Mysql80
            .backup("/s")
            .args
            .contains(&"--target-dir=/tmp".to_string()));
        let u = Flavor::Mariadb.unpack("/var/lib/mysql", "mysql");
        assert_eq!(u.program, "mbstream");
        assert_eq!(u.args, ["-x", "-C", "/var/lib/mysql"]);
        assert_eq!(u.run_as.as_deref(), Some("mysql"));
        let p = Flavor::Mysql84.prepare("/var/lib/mysql", "mysql");
        assert_eq!(p.program, "xtrabackup");
        assert_eq!(p.args, ["--prepare", "--target-dir=/var/lib/mysql"]);
    }

    #[test]
    fn tools_and_privileges() {
        assert_eq!(
            (Flavor::Mariadb.backup_tool(), Flavor::Mariadb.stream_tool()),
            ("mariadb-backup", "mbstream")
        );
        assert_eq!(
            (Flavor::Mysql80.backup_tool(), Flavor::Mysql80.stream_tool()),
            ("xtrabackup", "xbstream")
        );
        assert!(Flavor::Mariadb
            .replication_privileges()
            .contains("BINLOG MONITOR"));
        assert_eq!(
            Flavor::Mysql84.replication_privileges(),
            "REPLICATION SLAVE, REPLICATION CLIENT"
        );
        assert!(Flavor::Mariadb.secure_root(false).is_empty());
        assert_eq!(Flavor::Mysql80.secure_root(false).len(), 2);
        assert_eq!(
            Flavor::Mysql80.secure_root(true),
            ["ALTER USER 'root'@'localhost' IDENTIFIED WITH auth_socket"]
        );
    }
}
