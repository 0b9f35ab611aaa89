//! remove-node through the built `dbfleet` binary on PostgreSQL 15 in the
//! lab: h3 leaves the cluster file and a remove-node request for node 3 is
//! committed. Apply keeps h3 as an orphan until the request runs, then:
//! h3's engine is stopped, its configuration and firewall gone, its data
//! kept under `<data dir>.removed-<time>`; its slot on the primary is
//! dropped; the peers' firewalls no longer let it in; number 3 stays a
//! tombstone, so h4, added next, becomes node 4.
//!
//! Skipped unless DBFLEET_LAB=1.

mod common;

use std::time::Duration;

use common::engines::{drop_firewall_script, PG_DATA};
use common::fleet::{lab_repo, nodes_toml, run_dbfleet, stdout, text};
use common::lab::Lab;
use common::lab_engine::{Kind, OnDrop};

const HOSTS: [&str; 4] = ["h1", "h2", "h3", "h4"];
const CLUSTER: &str = "rm-pg";

fn cluster_toml(lab: &Lab, hosts: &[&str]) -> String {
    format!(
        "name = \"{CLUSTER}\"\nengine = \"postgresql\"\nversion = \"15\"\ntopology = \"primary-replica\"\n\
         allowed_ips = [\"10.231.0.1\"]\n\n{}",
        nodes_toml(lab, hosts)
    )
}

/// Whether `from` can open a TCP connection to PostgreSQL on `to`.
fn reaches(lab: &Lab, from: &str, to: &str) -> bool {
    let ip = lab.ip(to);
    lab.ssh(from, &format!("timeout 3 bash -c '</dev/tcp/{ip}/5432'"))
        .status
        .success()
}

#[test]
fn a_removed_node_is_stopped_kept_aside_and_shut_out() {
    let Some(lab) = Lab::get() else { return };
    let pg = Kind::Postgresql;
    let reset = format!(
        "{}\n{}\nrm -rf {PG_DATA}.removed-*",
        pg.reset_script(),
        drop_firewall_script(CLUSTER)
    );
    for h in HOSTS {
        lab.ssh_ok(h, &reset);
    }
    let _cleanup = OnDrop {
        lab: &lab,
        hosts: &HOSTS,
        script: reset.clone(),
    };
    let repo = lab_repo(&lab, CLUSTER, &cluster_toml(&lab, &["h1", "h2", "h3"]));
    let state = tempfile::tempdir().expect("state");
    let run = |args: &[&str]| {
        let out = run_dbfleet(state.path(), args, repo.path());
        println!("--- dbfleet {}\n{}", args.join(" "), text(&out));
        out
    };
    assert!(run(&["apply", "--yes"]).status.success());
    let wait = Duration::from_secs(60);
    pg.wait_replica_of(&lab, "h3", "", &lab.ip("h1").to_string(), wait);
    assert!(reaches(&lab, "h3", "h1"), "h3 cannot reach the primary before");

    let n3 = format!("{CLUSTER}3");
    let id = format!("2026-12-06-remove-node-{n3}");
    repo.commit_files(
        "h3 out, and removed",
        &[
            (&format!("clusters/{CLUSTER}.toml"), &cluster_toml(&lab, &["h1", "h2"])),
            (
                &format!("requests/{id}.toml"),
                &format!("action = \"remove-node\"\ncluster = \"{CLUSTER}\"\nnode = \"{n3}\"\nconfirm = \"{n3}\"\n"),
            ),
        ],
    );
    let plan = stdout(&run(&["plan"]));
    for want in [
        format!("- {n3}: stop and disable the engine, remove its configuration and firewall"),
        format!("- {n3}: move the data directory aside (.removed-<time>)"),
        format!("- {CLUSTER}1: forget {n3} (its slot or replication account)"),
    ] {
        assert!(plan.contains(&want), "plan lacks {want:?}:\n{plan}");
    }
    let out = run(&["apply", "--yes"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains(&format!("request {id} (remove-node): succeeded")),
        "{}",
        text(&out)
    );

    // Stopped, configuration and firewall gone, data kept aside.
    let h3 = lab.ssh_ok(
        "h3",
        &format!(
            "test -e {PG_DATA}/postmaster.pid && echo running; \
             test -e /etc/postgresql/15/main/postgresql.conf && echo config; \
             nft list chain inet dbfleet cluster-{CLUSTER} >/dev/null 2>&1 && echo chain; \
             ls -d {PG_DATA}.removed-* && ls {PG_DATA}.removed-*/PG_VERSION"
        ),
    );
    let lines: Vec<&str> = h3.lines().collect();
    assert_eq!(lines.len(), 2, "h3: {h3}");
    assert!(lines[0].starts_with(&format!("{PG_DATA}.removed-2")), "h3: {h3}");
    // Its slot is gone from the primary, and the peers shut it out.
    let slots = pg.query(
        &lab,
        "h1",
        "",
        "SELECT string_agg(slot_name, ',' ORDER BY slot_name) FROM pg_replication_slots",
    );
    assert_eq!(slots, "rm_pg2", "slots on h1");
    assert!(!reaches(&lab, "h3", "h1"), "h3 still reaches the primary");
    assert!(!reaches(&lab, "h3", "h2"), "h3 still reaches h2");
    assert!(reaches(&lab, "h2", "h1"), "h2 lost the primary");

    // Number 3 is a tombstone: h4 becomes node 4.
    let recorded: serde_json::Value = serde_json::from_slice(
        &std::fs::read(state.path().join(format!("clusters/{CLUSTER}.json"))).expect("state"),
    )
    .expect("state json");
    assert_eq!(
        recorded["allocations"]["tombstones"]["3"],
        lab.ip("h3").to_string(),
        "{recorded}"
    );
    assert_eq!(recorded["requests"][&id]["state"], "succeeded", "{recorded}");
    repo.commit_files(
        "h4 in",
        &[(
            &format!("clusters/{CLUSTER}.toml"),
            &cluster_toml(&lab, &["h1", "h2", "h4"]),
        )],
    );
    let plan = stdout(&run(&["plan"]));
    assert!(
        plan.contains(&format!("+ {CLUSTER}4 ({}, replica, #4): new node", lab.ip("h4"))),
        "{plan}"
    );
    assert!(run(&["apply", "--yes"]).status.success());
    pg.wait_replica_of(&lab, "h4", "", &lab.ip("h1").to_string(), wait);
    let out = run(&["plan", "--detailed-exitcode"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}
