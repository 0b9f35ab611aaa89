//! `dbfleet apply` on a MariaDB 10.11 primary-replica cluster in the lab,
//! through the built binary and a repository in a temporary directory:
//! build from empty data directories, a second apply that does nothing,
//! a live change, a rolling restart (replicas first, primary last), and a
//! rejected value that leaves every node on its previous configuration; and
//! a multi-master pair whose primaries take writes without collisions.
//! Skipped unless DBFLEET_LAB=1; only MariaDB state on the hosts is reset.
//!
//! Run: `DBFLEET_LAB=1 cargo test --test e2e_mariadb -- --test-threads=1 --nocapture`

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::engines::{self, mariadb_sql, mariadb_wait_for, read_pid, MARIADB_RESET};
use common::fleet::{lab_cluster_toml, lab_repo, nodes_toml, run_dbfleet, text};
use common::lab::Lab;

const HOSTS: [&str; 3] = ["h1", "h2", "h3"];
const PID_FILE: &str = "/run/mysqld/mysqld.pid";

fn sql(lab: &Lab, host: &str, sql: &str) -> String {
    mariadb_sql(lab, host, sql)
}

fn wait_for(lab: &Lab, host: &str, query: &str, want: &str) {
    mariadb_wait_for(lab, host, query, want, Duration::from_secs(30));
}

fn pid(lab: &Lab, host: &str) -> String {
    read_pid(lab, host, PID_FILE)
}

/// When the server process started, in clock ticks since boot (the lab's
/// hosts share one kernel, so these compare across hosts).
fn start_ticks(lab: &Lab, host: &str) -> u64 {
    engines::start_ticks(lab, host, PID_FILE)
}

/// `name inode mtime` of the managed file on every host.
fn file_stamps(lab: &Lab) -> BTreeMap<String, String> {
    engines::file_stamps(lab, &HOSTS, &["/etc/mysql/my.cnf"])
}

fn cluster_toml(lab: &Lab, settings: &[(&str, &str)]) -> String {
    let head = ("maria", "mariadb", "10.11");
    lab_cluster_toml(lab, head, "allowed_ips = [\"10.231.0.0/24\"]\n", settings, &HOSTS)
}

#[test]
fn apply_builds_rolls_and_rolls_back() {
    let Some(lab) = Lab::get() else { return };
    for h in HOSTS {
        lab.ssh_ok(h, MARIADB_RESET);
    }
    let base = [("max_connections", "200"), ("innodb_log_buffer_size", "16M")];
    let repo = lab_repo(&lab, "maria", &cluster_toml(&lab, &base));
    let state = tempfile::tempdir().expect("state");
    let apply = || {
        let started = Instant::now();
        let out = run_dbfleet(state.path(), &["apply", "--yes"], repo.path());
        println!("apply took {:?}\n{}", started.elapsed(), text(&out));
        out
    };

    // 1. From empty data directories: a primary and two replicas.
    let out = apply();
    assert!(out.status.success(), "first apply failed:\n{}", text(&out));
    assert_eq!(sql(&lab, "h1", "SELECT @@read_only"), "0");
    // ON when both replication threads run.
    let status =
        "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'SLAVE_RUNNING'";
    for h in ["h2", "h3"] {
        assert_eq!(sql(&lab, h, "SELECT @@read_only"), "1", "{h}");
        wait_for(&lab, h, status, "ON");
    }
    sql(
        &lab,
        "h1",
        "CREATE DATABASE e2e; CREATE TABLE e2e.t (id INT PRIMARY KEY, note VARCHAR(40)); \
         INSERT INTO e2e.t VALUES (1, 'written on the primary');",
    );
    for h in ["h2", "h3"] {
        wait_for(
            &lab,
            h,
            "SELECT note FROM e2e.t WHERE id = 1",
            "written on the primary",
        );
    }

    // 2. Nothing left to do: plan says so, a second apply touches nothing.
    let out = run_dbfleet(state.path(), &["plan", "--detailed-exitcode"], repo.path());
    assert_eq!(out.status.code(), Some(0), "plan after apply:\n{}", text(&out));
    let stamps = file_stamps(&lab);
    let pids: Vec<String> = HOSTS.iter().map(|h| pid(&lab, h)).collect();
    let out = apply();
    assert!(out.status.success(), "second apply:\n{}", text(&out));
    assert_eq!(file_stamps(&lab), stamps, "the second apply rewrote a file");
    let now: Vec<String> = HOSTS.iter().map(|h| pid(&lab, h)).collect();
    assert_eq!(now, pids, "the second apply restarted an engine");

    // 3. A live change: SET GLOBAL everywhere, no process restarts.
    let live = [("max_connections", "300"), base[1]];
    repo.commit_files(
        "max_connections 300",
        &[("clusters/maria.toml", &cluster_toml(&lab, &live))],
    );
    let out = apply();
    assert!(out.status.success(), "live change:\n{}", text(&out));
    for (i, h) in HOSTS.iter().enumerate() {
        assert_eq!(sql(&lab, h, "SELECT @@GLOBAL.max_connections"), "300", "{h}");
        assert_eq!(pid(&lab, h), pids[i], "{h} restarted for a live change");
    }

    // 4. A restart-needing change: replicas first, one at a time, primary last.
    let restart = [live[0], ("innodb_log_buffer_size", "32M")];
    repo.commit_files(
        "innodb_log_buffer_size 32M",
        &[("clusters/maria.toml", &cluster_toml(&lab, &restart))],
    );
    let out = apply();
    assert!(out.status.success(), "restart change:\n{}", text(&out));
    let mut ticks = Vec::new();
    for (i, h) in HOSTS.iter().enumerate() {
        assert_eq!(sql(&lab, h, "SELECT @@innodb_log_buffer_size"), "33554432", "{h}");
        assert_ne!(pid(&lab, h), pids[i], "{h} was not restarted");
        ticks.push(start_ticks(&lab, h));
    }
    assert!(
        ticks[1] < ticks[2] && ticks[2] < ticks[0],
        "restart order h2, h3, h1 expected: {ticks:?}"
    );
    for h in ["h2", "h3"] {
        wait_for(&lab, h, status, "ON");
    }

    // 5. A value MariaDB rejects: apply fails with MariaDB's words, every
    //    node serves on its previous configuration, the data is intact.
    let pids: Vec<String> = HOSTS.iter().map(|h| pid(&lab, h)).collect();
    let confs: Vec<String> = HOSTS
        .iter()
        .map(|h| lab.ssh_ok(h, "cat /etc/mysql/my.cnf"))
        .collect();
    // (A value validate cannot judge: only the server can say no.)
    let bad = [live[0], restart[1], ("sql_mode", "NO_SUCH_MODE")];
    repo.commit_files(
        "sql_mode NO_SUCH_MODE",
        &[("clusters/maria.toml", &cluster_toml(&lab, &bad))],
    );
    let out = apply();
    assert!(
        !out.status.success(),
        "a rejected value must fail apply:\n{}",
        text(&out)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("Error while setting value 'NO_SUCH_MODE' to 'sql_mode'"),
        "MariaDB's message missing:\n{stderr}"
    );
    // Every node's new file was checked before any was written.
    assert!(stderr.contains("nothing was changed"), "{stderr}");
    for h in HOSTS {
        assert_eq!(
            lab.ssh_ok(h, "ls /etc/mysql/my.cnf.dbfleet-check* 2>/dev/null | wc -l"),
            "0",
            "{h}: the staged copy was left behind"
        );
    }
    for (i, h) in HOSTS.iter().enumerate() {
        assert_eq!(sql(&lab, h, "SELECT @@GLOBAL.max_connections"), "300", "{h}");
        assert_eq!(pid(&lab, h), pids[i], "{h} restarted");
        assert_eq!(
            lab.ssh_ok(h, "cat /etc/mysql/my.cnf"),
            confs[i],
            "{h} is not on its previous my.cnf"
        );
    }
    sql(
        &lab,
        "h1",
        "INSERT INTO e2e.t VALUES (2, 'after the rejected change');",
    );
    for h in ["h2", "h3"] {
        wait_for(&lab, h, "SELECT COUNT(*) FROM e2e.t", "2");
    }
}

#[test]
fn apply_builds_a_multi_master_pair() {
    let Some(lab) = Lab::get() else { return };
    let pair = ["h1", "h2"];
    for h in pair {
        lab.ssh_ok(h, MARIADB_RESET);
    }
    let nodes = nodes_toml(&lab, &pair);
    let cluster = format!(
        "name = \"mm\"\nengine = \"mariadb\"\nversion = \"10.11\"\ntopology = \"multi-master\"\n{nodes}"
    );
    let repo = lab_repo(&lab, "mm", &cluster);
    let state = tempfile::tempdir().expect("state");
    let out = run_dbfleet(state.path(), &["apply", "--yes"], repo.path());
    assert!(out.status.success(), "apply failed:\n{}", text(&out));
    let status =
        "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'SLAVE_RUNNING'";
    for h in pair {
        wait_for(&lab, h, status, "ON");
    }
    let out = run_dbfleet(state.path(), &["plan", "--detailed-exitcode"], repo.path());
    assert_eq!(out.status.code(), Some(0), "plan after apply:\n{}", text(&out));

    // Both take writes; their auto-increment values never collide.
    sql(
        &lab,
        "h1",
        "CREATE DATABASE e2e; CREATE TABLE e2e.t (id INT AUTO_INCREMENT PRIMARY KEY, origin CHAR(2));",
    );
    wait_for(
        &lab,
        "h2",
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'e2e'",
        "1",
    );
    let inserts = |origin: &str| format!("INSERT INTO e2e.t (origin) VALUES ('{origin}');\n").repeat(20);
    std::thread::scope(|s| {
        s.spawn(|| sql(&lab, "h1", &inserts("h1")));
        s.spawn(|| sql(&lab, "h2", &inserts("h2")));
    });
    let digest = "SELECT origin, COUNT(*), SUM(id % 2) FROM e2e.t GROUP BY origin ORDER BY origin";
    for h in pair {
        wait_for(&lab, h, digest, "h1\t20\t20\nh2\t20\t0");
    }
}
