//! `dbfleet apply` on a PostgreSQL 15 primary-replica cluster in the lab,
//! through the built binary and a repository in a temporary directory:
//! build from empty data directories, a second apply that does nothing,
//! a live change, a rolling restart (replicas first, primary last), and a
//! rejected value that leaves every node on its previous configuration.
//! Skipped unless DBFLEET_LAB=1; only PostgreSQL state on the hosts is reset.
//!
//! Run: `DBFLEET_LAB=1 cargo test --test e2e_postgresql -- --test-threads=1 --nocapture`

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::engines::{self, assert_port_free, postgresql_reset_script, psql as sql, read_pid};
use common::fleet::{lab_cluster_toml, lab_repo, run_dbfleet, text};
use common::lab::{wait_until, Lab};

const HOSTS: [&str; 3] = ["h1", "h2", "h3"];
const DATA: &str = common::engines::PG_DATA;
const CONF_DIR: &str = "/etc/postgresql/15/main";

/// Stops PostgreSQL 15 on `host` (only a postmaster of its data directory)
/// and removes its data, configuration, passfile and log.
fn reset(lab: &Lab, host: &str) {
    lab.ssh_ok(host, &postgresql_reset_script());
    assert_port_free(lab, host, 5432);
}

fn pid(lab: &Lab, host: &str) -> String {
    read_pid(lab, host, &format!("{DATA}/postmaster.pid"))
}

/// `name inode mtime` of every managed file on every host.
fn file_stamps(lab: &Lab) -> BTreeMap<String, String> {
    let files = ["postgresql.conf", "pg_hba.conf", "pg_ident.conf"].map(|f| format!("{CONF_DIR}/{f}"));
    let mut paths: Vec<&str> = files.iter().map(String::as_str).collect();
    paths.push("/var/lib/postgresql/.pgpass");
    engines::file_stamps(lab, &HOSTS, &paths)
}

fn cluster_toml(lab: &Lab, settings: &[(&str, &str)]) -> String {
    let head = ("pg", "postgresql", "15");
    lab_cluster_toml(lab, head, "allowed_ips = [\"10.231.0.0/24\"]\n", settings, &HOSTS)
}

#[test]
fn apply_builds_rolls_and_rolls_back() {
    let Some(lab) = Lab::get() else { return };
    for h in HOSTS {
        reset(&lab, h);
    }
    let base = [("work_mem", "4MB"), ("shared_buffers", "32MB")];
    let repo = lab_repo(&lab, "pg", &cluster_toml(&lab, &base));
    let state = tempfile::tempdir().expect("state");
    let apply = || {
        let started = Instant::now();
        let out = run_dbfleet(state.path(), &["apply", "--yes"], repo.path());
        println!("apply took {:?}\n{}", started.elapsed(), text(&out));
        out
    };

    // 1. From empty data directories: a primary and two streaming standbys.
    let out = apply();
    assert!(out.status.success(), "first apply failed:\n{}", text(&out));
    assert_eq!(sql(&lab, "h1", "SELECT pg_is_in_recovery()"), "f");
    for h in ["h2", "h3"] {
        assert_eq!(sql(&lab, h, "SELECT pg_is_in_recovery()"), "t", "{h}");
    }
    assert_eq!(
        sql(
            &lab,
            "h1",
            "SELECT application_name, state FROM pg_stat_replication ORDER BY 1"
        ),
        "pg2|streaming\npg3|streaming"
    );
    sql(
        &lab,
        "h1",
        "CREATE TABLE e2e (id int PRIMARY KEY, note text); INSERT INTO e2e VALUES (1, 'written on the primary');",
    );
    for h in ["h2", "h3"] {
        wait_until("the row on the standby", Duration::from_secs(10), || {
            lab.ssh_with_input(
                h,
                "cd /tmp && runuser -u postgres -- psql -X -A -t -h /var/run/postgresql -d postgres",
                b"SELECT note FROM e2e WHERE id = 1",
            )
            .stdout
            .starts_with(b"written on the primary")
        });
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

    // 3. A live change: every node reloads, no process restarts.
    repo.commit_files(
        "work_mem 8MB",
        &[(
            "clusters/pg.toml",
            &cluster_toml(&lab, &[("work_mem", "8MB"), base[1]]),
        )],
    );
    let out = apply();
    assert!(out.status.success(), "live change:\n{}", text(&out));
    for (i, h) in HOSTS.iter().enumerate() {
        assert_eq!(sql(&lab, h, "SHOW work_mem"), "8MB", "{h}");
        assert_eq!(pid(&lab, h), pids[i], "{h} restarted for a live change");
    }

    // 4. A restart-needing change: replicas first, one at a time, primary last.
    let settings = [("work_mem", "8MB"), ("shared_buffers", "48MB")];
    repo.commit_files(
        "shared_buffers 48MB",
        &[("clusters/pg.toml", &cluster_toml(&lab, &settings))],
    );
    let out = apply();
    assert!(out.status.success(), "restart change:\n{}", text(&out));
    let mut started_at = Vec::new();
    for (i, h) in HOSTS.iter().enumerate() {
        assert_eq!(sql(&lab, h, "SHOW shared_buffers"), "48MB", "{h}");
        assert_ne!(pid(&lab, h), pids[i], "{h} was not restarted");
        started_at.push(sql(
            &lab,
            h,
            "SELECT extract(epoch FROM pg_postmaster_start_time())::numeric(20,6)",
        ));
    }
    let t: Vec<f64> = started_at.iter().map(|s| s.parse().expect("epoch")).collect();
    assert!(
        t[1] < t[2] && t[2] < t[0],
        "restart order h2, h3, h1 expected: {started_at:?}"
    );
    for h in ["h2", "h3"] {
        wait_until("standby streaming again", Duration::from_secs(30), || {
            lab.ssh_with_input(
                h,
                "cd /tmp && runuser -u postgres -- psql -X -A -t -h /var/run/postgresql -d postgres",
                b"SELECT status FROM pg_stat_wal_receiver",
            )
            .stdout
            .starts_with(b"streaming")
        });
    }

    // 5. A value PostgreSQL rejects: apply fails with PostgreSQL's words,
    //    every node serves on its previous configuration.
    let pids: Vec<String> = HOSTS.iter().map(|h| pid(&lab, h)).collect();
    let confs: Vec<String> = HOSTS
        .iter()
        .map(|h| lab.ssh_ok(h, &format!("cat {CONF_DIR}/postgresql.conf")))
        .collect();
    // (A parameter validate has no table for: only PostgreSQL can say no.)
    let bad = [
        ("work_mem", "8MB"),
        ("shared_buffers", "48MB"),
        ("default_transaction_isolation", "lots"),
    ];
    repo.commit_files(
        "default_transaction_isolation lots",
        &[("clusters/pg.toml", &cluster_toml(&lab, &bad))],
    );
    let out = apply();
    assert!(
        !out.status.success(),
        "a rejected value must fail apply:\n{}",
        text(&out)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("invalid value for parameter \"default_transaction_isolation\": \"lots\""),
        "PostgreSQL's message missing:\n{stderr}"
    );
    for (i, h) in HOSTS.iter().enumerate() {
        assert_eq!(sql(&lab, h, "SHOW work_mem"), "8MB", "{h}");
        assert_eq!(pid(&lab, h), pids[i], "{h} restarted");
        assert_eq!(
            lab.ssh_ok(h, &format!("cat {CONF_DIR}/postgresql.conf")),
            confs[i],
            "{h} is not on its previous postgresql.conf"
        );
    }
    sql(
        &lab,
        "h1",
        "INSERT INTO e2e VALUES (2, 'after the rejected change');",
    );
    for h in ["h2", "h3"] {
        wait_until("replication still works", Duration::from_secs(10), || {
            lab.ssh_with_input(
                h,
                "cd /tmp && runuser -u postgres -- psql -X -A -t -h /var/run/postgresql -d postgres",
                b"SELECT count(*) FROM e2e",
            )
            .stdout
            .starts_with(b"2")
        });
    }

    // 6. Lowering a setting a standby needs at least as high as its primary
    //    (max_connections, 100 -> 50, a restart): the primary goes first,
    //    then the standbys, and every standby streams again.
    let lower = [
        ("work_mem", "8MB"),
        ("shared_buffers", "48MB"),
        ("max_connections", "50"),
    ];
    repo.commit_files(
        "max_connections 50",
        &[("clusters/pg.toml", &cluster_toml(&lab, &lower))],
    );
    let out = apply();
    assert!(out.status.success(), "lowering max_connections:\n{}", text(&out));
    let mut started_at = Vec::new();
    for h in HOSTS {
        assert_eq!(sql(&lab, h, "SHOW max_connections"), "50", "{h}");
        started_at.push(sql(
            &lab,
            h,
            "SELECT extract(epoch FROM pg_postmaster_start_time())::numeric(20,6)",
        ));
    }
    let t: Vec<f64> = started_at.iter().map(|s| s.parse().expect("epoch")).collect();
    assert!(
        t[0] < t[1] && t[1] < t[2],
        "restart order h1 (primary), h2, h3 expected: {started_at:?}"
    );
    sql(&lab, "h1", "INSERT INTO e2e VALUES (3, 'after lowering');");
    for h in ["h2", "h3"] {
        wait_until(
            "standby streaming after lowering",
            Duration::from_secs(30),
            || {
                lab.ssh_with_input(
                    h,
                    "cd /tmp && runuser -u postgres -- psql -X -A -t -h /var/run/postgresql -d postgres",
                    b"SELECT count(*) FROM e2e",
                )
                .stdout
                .starts_with(b"3")
            },
        );
    }
}
