//! Two clusters on the same three lab hosts in one repository: a MariaDB
//! cluster and a Redis cluster, applied by one `dbfleet apply` (observed,
//! planned and carried out side by side). Each replicates on its own, each
//! has its own firewall chain, a second apply does nothing, and `status`
//! shows both. Skipped unless DBFLEET_LAB=1; only MariaDB and Redis state
//! on the hosts is reset.
//!
//! Run: `DBFLEET_LAB=1 cargo test --test e2e_shared_hosts -- --nocapture`

mod common;

use std::time::{Duration, Instant};

use common::engines::{
    drop_firewall_script, mariadb_sql, mariadb_wait_for, read_pid, redis_cli_command, redis_reset_script,
    wait_for, MARIADB_RESET,
};
use common::fleet::{admin_password, fleet_toml, nodes_toml, run_dbfleet, stdout, text};
use common::git::TempRepo;
use common::lab::Lab;

const HOSTS: [&str; 3] = ["h1", "h2", "h3"];
const DB: &str = "shared-db";
const CACHE: &str = "shared-cache";

fn reset(lab: &Lab) {
    for h in HOSTS {
        lab.ssh_ok(h, MARIADB_RESET);
        lab.ssh_ok(h, &redis_reset_script("redis", ""));
        lab.ssh_ok(h, &drop_firewall_script(DB));
        lab.ssh_ok(h, &drop_firewall_script(CACHE));
    }
}

fn redis(lab: &Lab, host: &str, password: &str, args: &str) -> String {
    let cmd = redis_cli_command(
        "redis-cli",
        "-s /run/redis/redis-server.sock --no-auth-warning",
        password,
        args,
    );
    lab.ssh_ok(host, &cmd)
}

#[test]
fn one_repository_two_clusters_on_the_same_hosts() {
    let Some(lab) = Lab::get() else { return };
    reset(&lab);
    let nodes = nodes_toml(&lab, &HOSTS);
    let db = format!(
        "name = \"{DB}\"\nengine = \"mariadb\"\nversion = \"10.11\"\ntopology = \"primary-replica\"\n\
         allowed_ips = [\"{}\"]\n\n[settings]\nmax_connections = 150\n\n{nodes}",
        lab.ip("h4")
    );
    let cache = format!(
        "name = \"{CACHE}\"\nengine = \"redis\"\nversion = \"7.0\"\ntopology = \"primary-replica\"\n\n\
         [settings]\nmaxmemory = \"64mb\"\n\n{nodes}"
    );
    let repo = TempRepo::with_files(&[
        ("fleet.toml", &fleet_toml(&lab)),
        (&format!("clusters/{DB}.toml"), &db),
        (&format!("clusters/{CACHE}.toml"), &cache),
    ]);
    let state = tempfile::tempdir().expect("state");

    let out = run_dbfleet(state.path(), &["validate"], repo.path());
    assert!(out.status.success(), "validate:\n{}", text(&out));

    // 1. One apply builds both clusters.
    let started = Instant::now();
    let out = run_dbfleet(state.path(), &["apply", "--yes"], repo.path());
    println!("apply took {:?}\n{}", started.elapsed(), text(&out));
    assert!(out.status.success(), "apply failed:\n{}", text(&out));
    for c in [DB, CACHE] {
        assert!(
            text(&out).contains(&format!("{c}: applied (3 built")),
            "{c} not built:\n{}",
            text(&out)
        );
    }

    // 2. Each cluster replicates on its own: written on h1, read on h2, h3.
    mariadb_sql(
        &lab,
        "h1",
        "CREATE DATABASE shared; CREATE TABLE shared.t (id INT PRIMARY KEY); INSERT INTO shared.t VALUES (7);",
    );
    let password = admin_password(state.path(), CACHE);
    assert_eq!(redis(&lab, "h1", &password, "SET shared-key from-h1"), "OK");
    for h in ["h2", "h3"] {
        mariadb_wait_for(&lab, h, "SELECT id FROM shared.t", "7", Duration::from_secs(30));
        let get = redis_cli_command(
            "redis-cli",
            "-s /run/redis/redis-server.sock --no-auth-warning",
            &password,
            "GET shared-key",
        );
        wait_for(h, "GET shared-key", "from-h1", Duration::from_secs(30), || {
            lab.ssh(h, &get)
        });
        assert_eq!(mariadb_sql(&lab, h, "SELECT @@read_only"), "1", "{h}");
        assert_eq!(
            redis(&lab, h, &password, "ROLE").lines().next(),
            Some("slave"),
            "{h}"
        );
    }

    // 3. Each cluster has its own chain: MariaDB's narrows port 3306 to h4,
    //    Redis's leaves 6379 open.
    for h in HOSTS {
        let db_chain = lab.ssh_ok(h, &format!("nft list chain inet dbfleet cluster-{DB}"));
        assert!(db_chain.contains("tcp dport 3306 reject"), "{h}:\n{db_chain}");
        let cache_chain = lab.ssh_ok(h, &format!("nft list chain inet dbfleet cluster-{CACHE}"));
        assert!(!cache_chain.contains("reject"), "{h}:\n{cache_chain}");
    }

    // 4. Converged: plan finds nothing, a second apply restarts nothing.
    let out = run_dbfleet(state.path(), &["plan", "--detailed-exitcode"], repo.path());
    assert_eq!(out.status.code(), Some(0), "plan after apply:\n{}", text(&out));
    let pids = |lab: &Lab| -> Vec<String> {
        HOSTS
            .iter()
            .flat_map(|h| {
                [
                    read_pid(lab, h, "/run/mysqld/mysqld.pid"),
                    read_pid(lab, h, "/run/redis/redis-server.pid"),
                ]
            })
            .collect()
    };
    let before = pids(&lab);
    let out = run_dbfleet(state.path(), &["apply", "--yes"], repo.path());
    assert!(out.status.success(), "second apply:\n{}", text(&out));
    assert!(stdout(&out).contains("No changes."), "{}", text(&out));
    assert_eq!(pids(&lab), before, "an engine restarted");

    // 5. status shows both clusters' nodes on the shared hosts.
    let out = run_dbfleet(state.path(), &["status", "--repo"], repo.path());
    assert!(out.status.success(), "status:\n{}", text(&out));
    let table = stdout(&out);
    for n in 1..=3 {
        for c in [DB, CACHE] {
            assert!(table.contains(&format!("{c}{n}")), "{c}{n} missing:\n{table}");
        }
    }

    reset(&lab);
}
