//! MariaDB 10.11 multi-master on two lab hosts, through the built `dbfleet`
//! binary: apply gives two primaries that replicate from each other with
//! GTIDs (distinct server ids and GTID domains, interleaved
//! auto-increment); a row written on either node is read on the other;
//! two clients inserting at once on both nodes never collide on
//! auto-increment keys and both nodes end with identical tables; and the
//! plan afterwards has nothing to do.
//!
//! Starts from a clean MariaDB on both hosts (only MariaDB is stopped and
//! only its directories emptied). Skipped unless DBFLEET_LAB=1.
//!
//! Run: `DBFLEET_LAB=1 cargo test --test e2e_multimaster -- --test-threads=1 --nocapture`

mod common;

use std::time::{Duration, Instant};

use common::engines::{drop_firewall_script, mariadb_sql, mariadb_wait_for, MARIADB_RESET};
use common::fleet::{lab_repo, nodes_toml, run_dbfleet, text};
use common::lab::Lab;

const PAIR: [&str; 2] = ["h1", "h2"];
/// Rows each client inserts, one statement (and transaction) per row.
const ROWS: usize = 200;

/// Stops MariaDB (only it), empties its data directory, removes dbfleet's
/// my.cnf (putting Debian's link back), the log and this cluster's firewall.
fn reset_script() -> String {
    format!("{MARIADB_RESET}\n{}", drop_firewall_script("multi"))
}

/// Stops MariaDB and removes the cluster's firewall when the test ends,
/// passed or not.
struct Cleanup<'a>(&'a Lab);

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        for h in PAIR {
            let _ = self.0.ssh(h, &reset_script());
        }
    }
}

fn sql(lab: &Lab, host: &str, sql: &str) -> String {
    mariadb_sql(lab, host, sql)
}

fn wait_for(lab: &Lab, host: &str, query: &str, want: &str) {
    mariadb_wait_for(lab, host, query, want, Duration::from_secs(60));
}

/// `SHOW SLAVE STATUS` as field -> value.
fn slave_status(lab: &Lab, host: &str) -> std::collections::BTreeMap<String, String> {
    lab.ssh_ok(host, "mariadb --vertical -e 'SHOW SLAVE STATUS'")
        .lines()
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

#[test]
fn two_primaries_replicate_both_ways_without_collisions() {
    let Some(lab) = Lab::get() else { return };
    let t0 = Instant::now();
    for h in PAIR {
        lab.ssh_ok(h, &reset_script());
    }
    let _cleanup = Cleanup(&lab);
    let nodes = nodes_toml(&lab, &PAIR);
    let cluster = format!(
        "name = \"multi\"\nengine = \"mariadb\"\nversion = \"10.11\"\ntopology = \"multi-master\"\n\
         allowed_ips = [\"10.231.0.0/24\"]\n\n[settings]\nmax_connections = 150\n\n{nodes}"
    );
    let repo = lab_repo(&lab, "multi", &cluster);
    let state = tempfile::tempdir().expect("state");
    let started = Instant::now();
    let out = run_dbfleet(state.path(), &["apply", "--yes"], repo.path());
    println!("apply took {:.1?}\n{}", started.elapsed(), text(&out));
    assert!(out.status.success(), "apply failed:\n{}", text(&out));

    // Two primaries, each the other's replica, over GTID.
    let (ip1, ip2) = (lab.ip("h1").to_string(), lab.ip("h2").to_string());
    let mut ids = Vec::new();
    for (h, peer, offset) in [("h1", &ip2, "1"), ("h2", &ip1, "2")] {
        wait_for(
            &lab,
            h,
            "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'SLAVE_RUNNING'",
            "ON",
        );
        let s = slave_status(&lab, h);
        assert_eq!(s.get("Master_Host"), Some(peer), "{h}: {s:?}");
        assert_eq!(s.get("Slave_IO_Running").map(String::as_str), Some("Yes"), "{h}");
        assert_eq!(s.get("Slave_SQL_Running").map(String::as_str), Some("Yes"), "{h}");
        assert_eq!(
            s.get("Using_Gtid").map(String::as_str),
            Some("Slave_Pos"),
            "{h}: {s:?}"
        );
        let vars = sql(
            &lab,
            h,
            "SELECT CONCAT_WS(' ', @@read_only, @@server_id, @@gtid_domain_id, @@gtid_strict_mode, \
             @@log_bin, @@log_slave_updates, @@auto_increment_increment, @@auto_increment_offset, \
             @@max_connections)",
        );
        println!("{h}: read_only server_id gtid_domain_id gtid_strict log_bin log_slave_updates auto_inc(incr offset) max_connections = {vars}");
        let v: Vec<&str> = vars.split(' ').collect();
        assert_eq!(v[0], "OFF", "{h} is read-only");
        assert_eq!(&v[3..8], ["ON", "ON", "ON", "2", offset], "{h}: {vars}");
        assert_eq!(v[8], "150", "{h}: [settings] not applied");
        ids.push((v[1].to_string(), v[2].to_string()));
    }
    assert_ne!(ids[0].0, ids[1].0, "server ids must differ: {ids:?}");
    assert_ne!(ids[0].1, ids[1].1, "GTID domains must differ: {ids:?}");

    // Nothing left to do.
    let out = run_dbfleet(state.path(), &["plan", "--detailed-exitcode"], repo.path());
    assert_eq!(out.status.code(), Some(0), "plan after apply:\n{}", text(&out));

    // A row written on each node is read on the other.
    sql(
        &lab,
        "h1",
        "CREATE DATABASE e2e; CREATE TABLE e2e.t (id INT AUTO_INCREMENT PRIMARY KEY, origin CHAR(2), \
         n INT, at DATETIME(6) NOT NULL DEFAULT NOW(6), UNIQUE KEY (origin, n)) ENGINE=InnoDB;",
    );
    wait_for(
        &lab,
        "h2",
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'e2e'",
        "1",
    );
    sql(&lab, "h1", "INSERT INTO e2e.t (origin, n) VALUES ('h1', 0)");
    sql(&lab, "h2", "INSERT INTO e2e.t (origin, n) VALUES ('h2', 0)");
    wait_for(&lab, "h2", "SELECT id FROM e2e.t WHERE origin = 'h1'", "1");
    wait_for(&lab, "h1", "SELECT id FROM e2e.t WHERE origin = 'h2'", "2");

    // Two clients at once, one per node, ROWS single-row transactions each.
    // Both start at the same instant of the hosts' (shared) clock.
    let inserts = |origin: &str| {
        (1..=ROWS)
            .map(|n| format!("INSERT INTO e2e.t (origin, n) VALUES ('{origin}', {n});\n"))
            .collect::<String>()
    };
    let start_ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_nanos()
        + 1_500_000_000;
    let client = |host: &str| {
        let cmd = format!(
            "while [ \"$(date +%s%N)\" -lt {start_ns} ]; do sleep 0.005; done; \
             mariadb --batch --skip-column-names"
        );
        let out = lab.ssh_with_input(host, &cmd, inserts(host).as_bytes());
        assert!(out.status.success(), "client on {host}: {}", text(&out));
    };
    let started = Instant::now();
    std::thread::scope(|s| {
        let a = s.spawn(|| client("h1"));
        let b = s.spawn(|| client("h2"));
        a.join().expect("client on h1");
        b.join().expect("client on h2");
    });
    let wrote = started.elapsed();
    let total = 2 * (ROWS + 1);
    wait_for(&lab, "h1", "SELECT COUNT(*) FROM e2e.t", &total.to_string());
    wait_for(&lab, "h2", "SELECT COUNT(*) FROM e2e.t", &total.to_string());
    // The two clients really wrote at the same time.
    let span = |o: &str| {
        format!("(SELECT MIN(at) FROM e2e.t WHERE origin = '{o}' AND n > 0), (SELECT MAX(at) FROM e2e.t WHERE origin = '{o}')")
    };
    let spans = sql(&lab, "h1", &format!("SELECT {}, {}", span("h1"), span("h2")));
    let s: Vec<&str> = spans.split('\t').collect();
    assert!(s[0] < s[3] && s[2] < s[1], "the clients did not overlap: {spans}");
    println!("insert spans (h1 first, last; h2 first, last): {spans}");
    // Same rows on both: per-origin counts, ids by residue, and a checksum
    // of the whole table.
    let digest =
        "SELECT origin, COUNT(*), SUM(id % 2), MIN(id), MAX(id) FROM e2e.t GROUP BY origin ORDER BY origin";
    let want = sql(&lab, "h1", digest);
    assert_eq!(sql(&lab, "h2", digest), want, "h1 and h2 differ");
    let lines: Vec<&str> = want.lines().collect();
    assert_eq!(lines.len(), 2, "{want}");
    assert!(
        lines[0].starts_with(&format!("h1\t{}\t{}\t", ROWS + 1, ROWS + 1)),
        "h1's ids must all be odd: {want}"
    );
    assert!(
        lines[1].starts_with(&format!("h2\t{}\t0\t", ROWS + 1)),
        "h2's ids must all be even: {want}"
    );
    let checksum = |h: &str| {
        let c = sql(&lab, h, "CHECKSUM TABLE e2e.t EXTENDED");
        let rows = sql(
            &lab,
            h,
            "SELECT MD5(GROUP_CONCAT(id, ':', origin, ':', n ORDER BY id)) FROM e2e.t",
        );
        format!("{c} {rows}")
    };
    assert_eq!(checksum("h1"), checksum("h2"), "the tables differ");
    for h in PAIR {
        let s = slave_status(&lab, h);
        assert_eq!(
            s.get("Last_SQL_Errno").map(String::as_str),
            Some("0"),
            "{h}: {s:?}"
        );
        assert_eq!(
            s.get("Last_IO_Errno").map(String::as_str),
            Some("0"),
            "{h}: {s:?}"
        );
    }
    let gtids: Vec<String> = PAIR
        .iter()
        .map(|h| sql(&lab, h, "SELECT @@gtid_current_pos"))
        .collect();
    assert_eq!(gtids[0], gtids[1], "both nodes applied the same transactions");
    assert_eq!(
        gtids[0].split(',').count(),
        2,
        "one GTID domain per primary: {}",
        gtids[0]
    );
    println!(
        "{total} rows, {ROWS} per client written in {wrote:.1?}; gtid_current_pos h1 {} / h2 {}; checksum {}",
        gtids[0],
        gtids[1],
        checksum("h1")
    );

    // Still nothing to do once both have taken writes.
    let out = run_dbfleet(state.path(), &["plan", "--detailed-exitcode"], repo.path());
    assert_eq!(out.status.code(), Some(0), "plan after writes:\n{}", text(&out));
    println!("whole test {:.1?}", t0.elapsed());
}
