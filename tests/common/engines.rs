//! The engines on a lab host as the end-to-end tests check them: their
//! clients (root over the local socket), waiting for an answer, resets that
//! stop only one engine and wipe only its directories, and pid readers.

use std::collections::BTreeMap;
use std::process::Output;
use std::time::Duration;

use super::fleet::text;
use super::lab::{wait_until, Lab};

/// The MariaDB client as root over the host's socket; statements on stdin.
pub const MARIADB_CLIENT: &str = "mariadb --batch --skip-column-names";

/// psql as postgres over the host's socket; SQL on stdin.
pub const PSQL_CLIENT: &str =
    "cd /tmp && runuser -u postgres -- psql -X -A -t -q -v ON_ERROR_STOP=1 -h /var/run/postgresql -d postgres";

/// PostgreSQL 15's data directory on the lab hosts.
pub const PG_DATA: &str = "/var/lib/postgresql/15/main";

/// Runs `client` on `host` with `input` on stdin and returns its stdout,
/// trimmed; fails the test when the client fails.
pub fn query(lab: &Lab, host: &str, client: &str, input: &str) -> String {
    let out = lab.ssh_with_input(host, client, input.as_bytes());
    assert!(out.status.success(), "{host}: {input}: {}", text(&out));
    String::from_utf8_lossy(&out.stdout).trim_end().to_string()
}

/// SQL as root on MariaDB over the host's socket.
pub fn mariadb_sql(lab: &Lab, host: &str, sql: &str) -> String {
    query(lab, host, MARIADB_CLIENT, sql)
}

/// SQL as postgres on PostgreSQL over the host's socket.
pub fn psql(lab: &Lab, host: &str, sql: &str) -> String {
    query(lab, host, PSQL_CLIENT, sql)
}

/// Waits up to `timeout` until `run` prints `want` (trimmed) on stdout;
/// `input` and `host` name what is waited for.
pub fn wait_for(host: &str, input: &str, want: &str, timeout: Duration, mut run: impl FnMut() -> Output) {
    wait_until(&format!("{want:?} from {input:?} on {host}"), timeout, || {
        String::from_utf8_lossy(&run().stdout).trim_end() == want
    });
}

/// Waits up to `timeout` until MariaDB on `host` answers `query` with `want`.
pub fn mariadb_wait_for(lab: &Lab, host: &str, query: &str, want: &str, timeout: Duration) {
    wait_for(host, query, want, timeout, || {
        lab.ssh_with_input(host, MARIADB_CLIENT, query.as_bytes())
    });
}

/// Waits up to `timeout` until PostgreSQL on `host` answers `query` with `want`.
pub fn psql_wait_for(lab: &Lab, host: &str, query: &str, want: &str, timeout: Duration) {
    wait_for(host, query, want, timeout, || {
        lab.ssh_with_input(host, PSQL_CLIENT, query.as_bytes())
    });
}

/// The Redis-family client on `host` as a shell command: `client` (e.g.
/// `redis-cli`) to `target` (`-s <socket>` or `-h <ip> -p <port>`) with
/// `password`, running `args`.
pub fn redis_cli_command(client: &str, target: &str, password: &str, args: &str) -> String {
    let pw = password.replace('\'', "'\\''");
    format!("REDISCLI_AUTH='{pw}' {client} {target} {args}")
}

/// valkey-cli where installed, redis-cli otherwise.
pub const VALKEY_OR_REDIS_CLI: &str = "$(command -v valkey-cli || echo redis-cli)";

/// The Redis-family client on `host` to the engine on `port` (TCP to
/// localhost), with `password`, running `args`; stdout, trimmed.
pub fn redis_cli(lab: &Lab, host: &str, port: u16, password: &str, args: &str) -> String {
    lab.ssh_ok(
        host,
        &redis_cli_command(
            "redis-cli",
            &format!("-p {port} --no-auth-warning"),
            password,
            args,
        ),
    )
}

/// Stops MariaDB (only it), empties its data directory, removes dbfleet's
/// my.cnf (putting Debian's link back) and the log.
pub const MARIADB_RESET: &str = "\
mariadb-admin shutdown >/dev/null 2>&1
i=0
while { pgrep -x mariadbd || pgrep -x mysqld_safe; } >/dev/null && [ $i -lt 100 ]; do sleep 0.2; i=$((i+1)); done
pkill -KILL -x mysqld_safe; pkill -KILL -x mariadbd
find /var/lib/mysql -mindepth 1 -delete
rm -f /etc/mysql/my.cnf /etc/mysql/my.cnf.dbfleet-prev /var/log/mysql/error.log
if [ -e /etc/alternatives/my.cnf ]; then ln -s /etc/alternatives/my.cnf /etc/mysql/my.cnf; fi
true";

/// Stops PostgreSQL 15 (only a postmaster of its data directory) and
/// removes its data, configuration, passfile and log.
pub fn postgresql_reset_script() -> String {
    format!(
        "cd /tmp; pid=$(head -n 1 {PG_DATA}/postmaster.pid 2>/dev/null); \
         if [ -n \"$pid\" ] && [ \"$(readlink /proc/$pid/cwd)\" = {PG_DATA} ]; then \
           runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D {PG_DATA} stop -m immediate -w >/dev/null; fi; \
         rm -rf /var/lib/postgresql/15 /etc/postgresql/15 /var/lib/postgresql/.pgpass* \
           /var/log/postgresql/postgresql-15-main.log; true"
    )
}

/// Stops the Redis-family engine installed under `dir` (`redis` or
/// `valkey`: /run/<dir>, /var/lib/<dir>, /etc/<dir>, ...) by its pid file,
/// empties its data and removes dbfleet's secrets, the previous config, the
/// log and `also_remove`; other engines are left alone.
pub fn redis_reset_script(dir: &str, also_remove: &str) -> String {
    format!(
        "pid=$(cat /run/{dir}/{dir}-server.pid 2>/dev/null) && kill \"$pid\" 2>/dev/null; \
         i=0; while [ -n \"$pid\" ] && kill -0 \"$pid\" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done; \
         find /var/lib/{dir} -mindepth 1 -delete; \
         rm -f /etc/{dir}/{dir}.conf.dbfleet-prev /etc/{dir}/dbfleet-secrets.conf /etc/{dir}/dbfleet-secrets.conf.dbfleet-prev \
           /var/log/{dir}/{dir}-server.log {also_remove}; true"
    )
}

/// Removes a cluster's firewall (file and chain) from a host; other
/// clusters' chains stay.
pub fn drop_firewall_script(cluster: &str) -> String {
    let file = format!("/etc/nftables.d/dbfleet-{cluster}.nft");
    format!(
        "rm -f {file} {file}.dbfleet-prev; nft delete chain inet dbfleet cluster-{cluster} 2>/dev/null; true"
    )
}

/// Fails unless nothing listens on TCP `port` on `host`.
pub fn assert_port_free(lab: &Lab, host: &str, port: u16) {
    let listening = lab.ssh_ok(host, &format!("ss -Hltn 'sport = :{port}' | wc -l"));
    assert_eq!(listening, "0", "{host}: something still listens on :{port}");
}

/// The first line of a pid file on `host`.
pub fn read_pid(lab: &Lab, host: &str, pid_file: &str) -> String {
    lab.ssh_ok(host, &format!("head -n 1 {pid_file}"))
}

/// When the process of a pid file started, in clock ticks since boot (the
/// lab's hosts share one kernel, so these compare across hosts).
pub fn start_ticks(lab: &Lab, host: &str, pid_file: &str) -> u64 {
    lab.ssh_ok(host, &format!("awk '{{print $22}}' /proc/$(cat {pid_file})/stat"))
        .parse()
        .expect("start ticks")
}

/// `name inode mtime` of `paths` on each of `hosts` (host -> stamps): what
/// a second apply must leave as it was.
pub fn file_stamps(lab: &Lab, hosts: &[&str], paths: &[&str]) -> BTreeMap<String, String> {
    let cmd = format!("stat -c '%n %i %Y' {}", paths.join(" "));
    hosts
        .iter()
        .map(|h| (h.to_string(), lab.ssh_ok(h, &cmd)))
        .collect()
}
