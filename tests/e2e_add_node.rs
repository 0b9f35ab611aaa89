//! Growing a running cluster, through the built `dbfleet` binary on real
//! servers in the lab, for MariaDB 10.11, PostgreSQL 15 and Valkey 9.1:
//!
//! 1. a primary-replica cluster on h1, h2, h3 is applied and data written
//!    on the primary;
//! 2. the cluster file drops h3 and adds h4. The online plan shows, before
//!    anything is done, h3 orphaned (with the remove-node request to commit)
//!    and the new node numbered 4, never 3, with its steps (seed from the
//!    primary, replicate) and the diff of its new config file;
//! 3. apply seeds the new node from the primary (mariadb-backup streamed
//!    over SSH / pg_basebackup / the engine's full sync) and it joins as a
//!    replica: it holds every row written before it joined, replicates
//!    writes made after, and runs with the cluster's [settings]; h3 is left
//!    exactly as it was (same process, same config file) and still follows
//!    the primary, whose replication grant (MariaDB) or slot (PostgreSQL)
//!    it keeps;
//! 4. `status` shows four nodes, h3 marked orphaned, and the state records
//!    the numbers 1, 2, 3 (orphaned) and 4.
//!
//! Every test starts from a clean state of its engine on h1..h4 (only that
//! engine is stopped and only its directories and its cluster's firewall
//! chain removed) and stops it again at the end. Skipped unless
//! DBFLEET_LAB=1.
//!
//! Run: `DBFLEET_LAB=1 cargo test --test e2e_add_node -- --test-threads=1 --nocapture`

mod common;

use std::time::{Duration, Instant};

use common::engines::{assert_port_free, drop_firewall_script, PG_DATA};
use common::fleet::{admin_password as password, lab_repo, nodes_toml, run_dbfleet, text};
use common::lab::Lab;
use common::lab_engine::{Kind, OnDrop};

/// Rows (or keys) written before the new node joins, and after.
const BEFORE: u32 = 5000;
const AFTER: u32 = 100;

/// One engine as this test drives and checks it on the hosts.
struct Engine {
    kind: Kind,
    cluster: &'static str,
    /// The `[settings]` entry every node must run with: key, value in the
    /// cluster file, and what the engine reports for it.
    setting: (&'static str, &'static str, &'static str),
}

const MARIADB: Engine = Engine {
    kind: Kind::Mariadb,
    cluster: "grow-maria",
    setting: ("max_connections", "222", "222"),
};
const POSTGRESQL: Engine = Engine {
    kind: Kind::Postgresql,
    cluster: "grow-pg",
    setting: ("work_mem", "6MB", "6MB"),
};
/// Port 6393: the lab's other Valkey/Redis tests use 6379 and 6380.
const VALKEY: Engine = Engine {
    kind: Kind::Valkey,
    cluster: "grow-valkey",
    setting: ("maxmemory", "96mb", "100663296"),
};

const VALKEY_PORT: u16 = 6393;

impl Engine {
    fn conf(&self) -> String {
        self.kind.conf()
    }

    fn pid_file(&self) -> String {
        self.kind.pid_file()
    }

    fn node(&self, n: u32) -> String {
        format!("{}{n}", self.cluster)
    }

    /// Stops this engine on `host` (nothing else), empties its data,
    /// configuration and log, and removes the cluster's firewall.
    fn reset(&self, lab: &Lab, host: &str) {
        let (script, port) = self.reset_script();
        lab.ssh_ok(host, &script);
        assert_port_free(lab, host, port);
    }

    /// The script of [`Engine::reset`], and the engine's port.
    fn reset_script(&self) -> (String, u16) {
        let port = match self.kind {
            Kind::Mariadb => 3306,
            Kind::Postgresql => 5432,
            Kind::Redis | Kind::Valkey => VALKEY_PORT,
        };
        let script = self.kind.reset_script();
        (format!("{script}\n{}", drop_firewall_script(self.cluster)), port)
    }

    fn cluster_toml(&self, lab: &Lab, hosts: &[&str]) -> String {
        let (engine, version) = self.kind.engine_version();
        let port = match self.kind {
            Kind::Redis | Kind::Valkey => format!("port = {VALKEY_PORT}\n"),
            _ => String::new(),
        };
        let nodes = nodes_toml(lab, hosts);
        let (key, value, _) = self.setting;
        format!(
            "name = \"{}\"\nengine = \"{engine}\"\nversion = \"{version}\"\ntopology = \"primary-replica\"\n\
             {port}allowed_ips = [\"10.231.0.0/24\"]\n\n[settings]\n{key} = \"{value}\"\n\n{nodes}",
            self.cluster
        )
    }

    fn query(&self, lab: &Lab, host: &str, password: &str, input: &str) -> String {
        self.kind.query(lab, host, password, input)
    }

    fn wait_for(&self, lab: &Lab, host: &str, password: &str, input: &str, want: &str) {
        self.kind
            .wait(lab, host, password, input, want, Duration::from_secs(30));
    }

    /// Writes rows `from..=to` on the primary.
    fn write(&self, lab: &Lab, pw: &str, from: u32, to: u32) {
        let input = match self.kind {
            Kind::Mariadb => format!(
                "CREATE DATABASE IF NOT EXISTS e2e; \
                 CREATE TABLE IF NOT EXISTS e2e.t (id INT PRIMARY KEY, note VARCHAR(40)); \
                 INSERT INTO e2e.t SELECT seq, CONCAT('row ', seq) FROM e2e.seq_{from}_to_{to};"
            ),
            Kind::Postgresql => format!(
                "CREATE TABLE IF NOT EXISTS e2e (id int PRIMARY KEY, note text); \
                 INSERT INTO e2e SELECT i, 'row ' || i FROM generate_series({from}, {to}) AS i;"
            ),
            Kind::Redis | Kind::Valkey => format!(
                "EVAL \"for i = {from}, {to} do redis.call('SET', 'e2e:' .. i, 'row ' .. i) end return {to}\" 0"
            ),
        };
        self.query(lab, "h1", pw, &input);
    }

    /// `count sum` of the rows (keys) a node holds.
    fn digest_query(&self) -> &'static str {
        match self.kind {
            Kind::Mariadb => "SELECT CONCAT(COUNT(*), ' ', SUM(id)) FROM e2e.t",
            Kind::Postgresql => "SELECT count(*) || ' ' || sum(id) FROM e2e",
            Kind::Redis | Kind::Valkey => {
                "EVAL_RO \"local n, s = 0, 0 for _, k in ipairs(redis.call('KEYS', 'e2e:*')) do n = n + 1 s = s + tonumber(string.sub(k, 5)) end return n .. ' ' .. s\" 0"
            }
        }
    }

    fn setting_query(&self) -> String {
        let key = self.setting.0;
        match self.kind {
            Kind::Mariadb => format!("SELECT @@GLOBAL.{key}"),
            Kind::Postgresql => format!("SHOW {key}"),
            Kind::Redis | Kind::Valkey => format!("CONFIG GET {key}"),
        }
    }

    fn setting_want(&self) -> String {
        match self.kind {
            Kind::Redis | Kind::Valkey => format!("{}\n{}", self.setting.0, self.setting.2),
            _ => self.setting.2.to_string(),
        }
    }

    /// Waits until `host` replicates from h1, by the engine's own account.
    fn wait_replica_of_h1(&self, lab: &Lab, host: &str, pw: &str) {
        let h1 = lab.ip("h1").to_string();
        self.kind
            .wait_replica_of(lab, host, pw, &h1, Duration::from_secs(30));
    }

    /// The replicas h1 serves, as h1 reports them: sorted addresses.
    fn replicas_of_h1(&self, lab: &Lab, pw: &str) -> String {
        let q = match self.kind {
            Kind::Mariadb => "SELECT GROUP_CONCAT(HOST ORDER BY HOST) FROM information_schema.PROCESSLIST WHERE COMMAND LIKE 'Binlog Dump%'".to_string(),
            Kind::Postgresql => "SELECT string_agg(client_addr::text || ' ' || application_name || ' ' || state, ',' ORDER BY client_addr) FROM pg_stat_replication".to_string(),
            Kind::Redis | Kind::Valkey => "INFO replication | tr -d '\\r' | grep -E '^slave[0-9]+:' | cut -d, -f1,3 | sort".to_string(),
        };
        self.query(lab, "h1", pw, &q)
    }

    /// Who may replicate from h1: the replication user's hosts (MariaDB),
    /// the replication slots (PostgreSQL); Valkey has one password for all.
    fn replication_access(&self, lab: &Lab, pw: &str) -> String {
        let q = match self.kind {
            Kind::Mariadb => {
                "SELECT GROUP_CONCAT(Host ORDER BY INET_ATON(Host)) FROM mysql.user WHERE User = 'dbfleet_repl'"
            }
            Kind::Postgresql => "SELECT string_agg(slot_name, ',' ORDER BY slot_name) FROM pg_replication_slots",
            Kind::Redis | Kind::Valkey => return String::new(),
        };
        self.query(lab, "h1", pw, q)
    }

    /// Evidence on the new node that its data came from a physical copy
    /// (MariaDB, PostgreSQL) or from the engine's full sync (Valkey, on the
    /// primary's counters).
    fn seed_evidence(&self, lab: &Lab, pw: &str) -> String {
        match self.kind {
            Kind::Mariadb => lab.ssh_ok(
                "h4",
                "ls /var/lib/mysql/mariadb_backup_info /var/lib/mysql/xtrabackup_info 2>/dev/null | head -n 1",
            ),
            Kind::Postgresql => lab.ssh_ok("h4", &format!("ls {PG_DATA}/backup_label.old 2>/dev/null; true")),
            Kind::Redis | Kind::Valkey => self.query(lab, "h1", pw, "INFO stats | tr -d '\\r' | grep '^sync_full:'"),
        }
    }
}

const HOSTS: [&str; 4] = ["h1", "h2", "h3", "h4"];

fn add_a_fourth_node(e: &Engine) {
    let Some(lab) = Lab::get() else { return };
    let t0 = Instant::now();
    for h in HOSTS {
        e.reset(&lab, h);
    }
    let _cleanup = OnDrop {
        lab: &lab,
        hosts: &HOSTS,
        script: e.reset_script().0,
    };
    let file = format!("clusters/{}.toml", e.cluster);
    let repo = lab_repo(&lab, e.cluster, &e.cluster_toml(&lab, &["h1", "h2", "h3"]));
    let state = tempfile::tempdir().expect("state");
    let run = |args: &[&str]| {
        let started = Instant::now();
        let out = run_dbfleet(state.path(), args, repo.path());
        println!(
            "--- dbfleet {} ({:.1?})\n{}",
            args.join(" "),
            started.elapsed(),
            text(&out)
        );
        out
    };

    // (a) h1, h2, h3: a primary and two replicas, data on the primary.
    let out = run(&["apply", "--yes"]);
    assert!(out.status.success(), "first apply failed:\n{}", text(&out));
    let pw = password(state.path(), e.cluster);
    for h in ["h2", "h3"] {
        e.wait_replica_of_h1(&lab, h, &pw);
    }
    e.write(&lab, &pw, 1, BEFORE);
    let before = format!("{BEFORE} {}", BEFORE * (BEFORE + 1) / 2);
    for h in ["h2", "h3"] {
        e.wait_for(&lab, h, &pw, e.digest_query(), &before);
    }
    let seed_before = e.seed_evidence(&lab, &pw);
    let h3_pid = lab.ssh_ok("h3", &format!("head -n 1 {}", e.pid_file()));
    let h3_conf = lab.ssh_ok("h3", &format!("stat -c '%i %Y' {} && cat {}", e.conf(), e.conf()));
    println!("(a) built and filled with {BEFORE} rows in {:.1?}", t0.elapsed());

    // (b) h3 leaves the file, h4 joins it.
    repo.commit_files(
        "h3 out, h4 in",
        &[(&file, &e.cluster_toml(&lab, &["h1", "h2", "h4"]))],
    );
    let (ip3, ip4) = (lab.ip("h3"), lab.ip("h4"));
    let (n1, n3, n4) = (e.node(1), e.node(3), e.node(4));

    // The online plan, before apply: number 4 (3 stays with the orphan),
    // the steps, the new node's config file as a diff.
    let out = run(&["plan", "--detailed-exitcode"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "plan must show changes:\n{}",
        text(&out)
    );
    let plan = String::from_utf8_lossy(&out.stdout).into_owned();
    for want in [
        format!("+ {n4} ({ip4}, replica, #4): new node"),
        format!("- seed data from {n1}"),
        format!("- replicate from {n1}"),
        format!("+++ b{}", e.conf()),
        format!("+{} ", e.setting.0),
        format!("! {n3} ({ip3}, replica, #3): ORPHANED"),
        "no longer in the cluster file; nothing will be deleted.".to_string(),
        // dated like every request file: requests/<YYYY-MM-DD>-remove-node-<node>.toml
        format!("-remove-node-{n3}.toml"),
        "action = \"remove-node\"".to_string(),
        format!("confirm = \"{n3}\""),
    ] {
        assert!(plan.contains(&want), "plan lacks {want:?}:\n{plan}");
    }
    assert!(!plan.contains(&e.node(5)), "no node 5 expected:\n{plan}");
    let suggested = plan
        .split_whitespace()
        .map(|w| w.trim_end_matches(':'))
        .find(|w| w.ends_with(&format!("-remove-node-{n3}.toml")))
        .unwrap_or_default();
    assert!(
        suggested.starts_with("requests/")
            && suggested["requests/".len()..]
                .split('-')
                .take(3)
                .map(str::len)
                .eq([4, 2, 2]),
        "the suggested request is not requests/<date>-remove-node-{n3}.toml: {suggested:?}\n{plan}"
    );
    let out = run(&["plan", "--format", "json"]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("plan json");
    let nodes = v["clusters"][0]["nodes"].as_array().expect("nodes");
    let summary: Vec<(u64, String, String)> = nodes
        .iter()
        .map(|n| {
            (
                n["number"].as_u64().expect("number"),
                n["host"].as_str().expect("host").to_string(),
                n["change"].as_str().expect("change").to_string(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (1, lab.ip("h1").to_string(), summary[0].2.clone()),
            (2, lab.ip("h2").to_string(), summary[1].2.clone()),
            (3, ip3.to_string(), "orphaned".to_string()),
            (4, ip4.to_string(), "create".to_string()),
        ],
        "{summary:?}"
    );
    assert_eq!(
        nodes[3]["steps"]
            .as_array()
            .expect("steps")
            .iter()
            .filter(|s| ["seed-from-primary", "start", "start-replication"]
                .contains(&s["step"].as_str().unwrap_or_default()))
            .cloned()
            .collect::<Vec<_>>(),
        vec![
            serde_json::json!({"step": "seed-from-primary", "from": n1}),
            serde_json::json!({"step": "start"}),
            serde_json::json!({"step": "start-replication", "from": n1}),
        ]
    );
    assert!(
        nodes[2]["remove_request"]["toml"]
            .as_str()
            .is_some_and(|t| t.contains(&format!("node = \"{n3}\""))),
        "{}",
        nodes[2]
    );

    // Apply: h4 is seeded from h1 and replicates; h3 is left alone.
    let started = Instant::now();
    let out = run(&["apply", "--yes"]);
    let took = started.elapsed();
    assert!(out.status.success(), "apply adding h4 failed:\n{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("{n4}: seed from {n1} ... ok")),
        "no seed step reported:\n{stderr}"
    );
    assert!(
        !stderr.contains(&format!("{n3}:")),
        "apply worked on the orphan:\n{stderr}"
    );
    e.wait_replica_of_h1(&lab, "h4", &pw);
    assert_eq!(
        e.query(&lab, "h4", &pw, e.digest_query()),
        before,
        "h4 lacks data written before it joined"
    );
    assert_eq!(
        e.query(&lab, "h4", &pw, &e.setting_query()),
        e.setting_want(),
        "h4 does not run with the cluster's [settings]"
    );
    let seed_after = e.seed_evidence(&lab, &pw);
    println!("seed evidence: before {seed_before:?}, after {seed_after:?}");
    match e.kind {
        Kind::Redis | Kind::Valkey => assert_eq!(
            (seed_before.as_str(), seed_after.as_str()),
            ("sync_full:2", "sync_full:3"),
            "h4 was not filled by a full sync from h1"
        ),
        _ => assert!(!seed_after.is_empty(), "no trace of a physical copy on h4"),
    }
    e.write(&lab, &pw, BEFORE + 1, BEFORE + AFTER);
    let all = BEFORE + AFTER;
    let after = format!("{all} {}", all * (all + 1) / 2);
    e.wait_for(&lab, "h4", &pw, e.digest_query(), &after);
    e.wait_for(&lab, "h2", &pw, e.digest_query(), &after);
    assert_eq!(
        lab.ssh_ok("h3", &format!("head -n 1 {}", e.pid_file())),
        h3_pid,
        "h3 was restarted or stopped"
    );
    assert_eq!(
        lab.ssh_ok("h3", &format!("stat -c '%i %Y' {} && cat {}", e.conf(), e.conf())),
        h3_conf,
        "h3's config was touched"
    );
    // Left alone, the orphan still follows the primary, and keeps its
    // replication access there (grant, slot) until it is removed.
    e.wait_for(&lab, "h3", &pw, e.digest_query(), &after);
    let access = e.replication_access(&lab, &pw);
    println!(
        "h1 serves replicas: {}; replication access on h1: {access}",
        e.replicas_of_h1(&lab, &pw)
    );
    match e.kind {
        Kind::Mariadb => assert_eq!(
            access,
            ["h1", "h2", "h3", "h4"].map(|h| lab.ip(h).to_string()).join(",")
        ),
        Kind::Postgresql => assert_eq!(access, format!("{},{},{}", e.node(2), n3, n4).replace('-', "_")),
        Kind::Redis | Kind::Valkey => {}
    }

    // The record: 1, 2, 4 in the file, 3 kept for the orphan.
    let recorded: serde_json::Value = serde_json::from_slice(
        &std::fs::read(state.path().join(format!("clusters/{}.json", e.cluster))).expect("state"),
    )
    .expect("state json");
    let live = &recorded["allocations"]["live"];
    for (h, n) in [("h1", 1), ("h2", 2), ("h3", 3), ("h4", 4)] {
        assert_eq!(live[lab.ip(h).to_string()], n, "{recorded}");
    }

    // Status after the change.
    let out = run_dbfleet(state.path(), &["status", "--repo"], repo.path());
    println!("--- dbfleet status\n{}", text(&out));
    assert!(out.status.success());
    let status = String::from_utf8_lossy(&out.stdout).into_owned();
    let row = |node: &str| {
        status
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{node} ")))
            .unwrap_or_default()
            .to_string()
    };
    assert!(
        row(&n1).contains("primary") && row(&n1).contains("healthy"),
        "{status}"
    );
    for n in [e.node(2), n3.clone(), n4.clone()] {
        assert!(
            row(&n).contains("replica") && row(&n).contains("healthy"),
            "{status}"
        );
    }
    let orphan_note = status
        .lines()
        .skip_while(|l| !l.trim_start().starts_with(&format!("{n3} ")))
        .nth(1)
        .unwrap_or_default();
    assert!(orphan_note.contains("orphaned"), "{status}");
    let out = run_dbfleet(
        state.path(),
        &["status", "--format", "json", "--repo"],
        repo.path(),
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("status json");
    let names: Vec<&str> = v[0]["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .filter_map(|n| n["name"].as_str())
        .collect();
    assert_eq!(names, [n1.as_str(), &e.node(2), &n3, &n4], "{v}");
    assert_eq!(v[0]["orphaned"], serde_json::json!([n3]), "{v}");
    let out = run(&["plan", "--detailed-exitcode"]);
    println!(
        "plan after apply exits {:?} (the orphan is a difference until a remove-node request runs)",
        out.status.code()
    );
    println!(
        "{}: apply adding h4 took {took:.1?}; whole test {:.1?}",
        e.cluster,
        t0.elapsed()
    );
}

#[test]
fn mariadb_gets_a_fourth_node() {
    add_a_fourth_node(&MARIADB);
}

#[test]
fn postgresql_gets_a_fourth_node() {
    add_a_fourth_node(&POSTGRESQL);
}

#[test]
fn valkey_gets_a_fourth_node() {
    add_a_fourth_node(&VALKEY);
}
