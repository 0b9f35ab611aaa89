//! One engine of the lab as the end-to-end tests drive and check it on the
//! hosts, by the engine's own client: its reset, a query as root over the
//! local socket, waiting for an answer, and whether a node replicates from
//! another.

use std::process::Output;
use std::time::Duration;

use super::engines::{
    postgresql_reset_script, redis_reset_script, wait_for, MARIADB_CLIENT, MARIADB_RESET, PSQL_CLIENT,
};
use super::fleet::text;
use super::lab::Lab;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Mariadb,
    Postgresql,
    Redis,
    Valkey,
}

impl Kind {
    /// `engine` and `version` of the cluster file.
    pub fn engine_version(self) -> (&'static str, &'static str) {
        match self {
            Kind::Mariadb => ("mariadb", "10.11"),
            Kind::Postgresql => ("postgresql", "15"),
            Kind::Redis => ("redis", "7.0"),
            Kind::Valkey => ("valkey", "9.1"),
        }
    }

    /// `redis` or `valkey`: the directories of a Redis-family engine.
    fn dir(self) -> &'static str {
        match self {
            Kind::Redis => "redis",
            _ => "valkey",
        }
    }

    pub fn conf(self) -> String {
        match self {
            Kind::Mariadb => "/etc/mysql/my.cnf".into(),
            Kind::Postgresql => "/etc/postgresql/15/main/postgresql.conf".into(),
            Kind::Redis | Kind::Valkey => format!("/etc/{0}/{0}.conf", self.dir()),
        }
    }

    pub fn pid_file(self) -> String {
        match self {
            Kind::Mariadb => "/run/mysqld/mysqld.pid".into(),
            Kind::Postgresql => "/var/lib/postgresql/15/main/postmaster.pid".into(),
            Kind::Redis | Kind::Valkey => format!("/run/{0}/{0}-server.pid", self.dir()),
        }
    }

    /// Stops this engine on a host (nothing else) and empties its data,
    /// configuration and log.
    pub fn reset_script(self) -> String {
        match self {
            Kind::Mariadb => MARIADB_RESET.to_string(),
            Kind::Postgresql => postgresql_reset_script(),
            Kind::Redis | Kind::Valkey => redis_reset_script(self.dir(), &self.conf()),
        }
    }

    /// Runs `input` with the engine's client on `host`, as root over the
    /// local socket (the Redis family with `password`, the admin's).
    pub fn client(self, lab: &Lab, host: &str, password: &str, input: &str) -> Output {
        match self {
            Kind::Mariadb => lab.ssh_with_input(host, MARIADB_CLIENT, input.as_bytes()),
            Kind::Postgresql => lab.ssh_with_input(host, PSQL_CLIENT, input.as_bytes()),
            Kind::Redis | Kind::Valkey => lab.ssh_with_input(
                host,
                &format!(
                    "REDISCLI_AUTH=\"$(cat)\" redis-cli -s /run/{0}/{0}-server.sock {input}",
                    self.dir()
                ),
                password.as_bytes(),
            ),
        }
    }

    /// [`Kind::client`], which must succeed: its stdout, trimmed.
    pub fn query(self, lab: &Lab, host: &str, password: &str, input: &str) -> String {
        let out = self.client(lab, host, password, input);
        assert!(out.status.success(), "{host}: {input}: {}", text(&out));
        String::from_utf8_lossy(&out.stdout).trim_end().to_string()
    }

    /// Waits (up to `timeout`) until `input` answers `want` on `host`.
    pub fn wait(self, lab: &Lab, host: &str, password: &str, input: &str, want: &str, timeout: Duration) {
        wait_for(host, input, want, timeout, || {
            self.client(lab, host, password, input)
        });
    }

    /// Waits until `host` replicates from `source` (an address), by the
    /// engine's own account; MariaDB replicas are also read-only.
    pub fn wait_replica_of(self, lab: &Lab, host: &str, password: &str, source: &str, timeout: Duration) {
        match self {
            Kind::Mariadb => {
                self.wait(
                    lab,
                    host,
                    password,
                    "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'SLAVE_RUNNING'",
                    "ON",
                    timeout,
                );
                let status = lab.ssh_ok(host, "mariadb --vertical -e 'SHOW SLAVE STATUS'");
                assert!(
                    status.contains(&format!("Master_Host: {source}")),
                    "{host}: {status}"
                );
                assert_eq!(
                    self.query(lab, host, password, "SELECT @@read_only"),
                    "1",
                    "{host}"
                );
            }
            Kind::Postgresql => {
                self.wait(
                    lab,
                    host,
                    password,
                    "SELECT status || ' ' || sender_host FROM pg_stat_wal_receiver",
                    &format!("streaming {source}"),
                    timeout,
                );
                assert_eq!(self.query(lab, host, password, "SELECT pg_is_in_recovery()"), "t");
            }
            Kind::Redis | Kind::Valkey => self.wait(
                lab,
                host,
                password,
                "INFO replication | tr -d '\\r' | grep -E '^(role|master_host|master_link_status):'",
                &format!("role:slave\nmaster_host:{source}\nmaster_link_status:up"),
                timeout,
            ),
        }
    }
}

/// Runs `script` on `hosts` when dropped: a test's cleanup, whether it
/// passed or not.
pub struct OnDrop<'a> {
    pub lab: &'a Lab,
    pub hosts: &'a [&'a str],
    pub script: String,
}

impl Drop for OnDrop<'_> {
    fn drop(&mut self) {
        for h in self.hosts {
            let _ = self.lab.ssh(h, &self.script);
        }
    }
}
