//! A planned switchover through the built `dbfleet` binary, on real servers
//! in the lab, for MariaDB 10.11, PostgreSQL 15, Redis 7 and Valkey 9.1:
//!
//! 1. a primary-replica cluster on h1, h2, h3 is applied, rows written on h1;
//! 2. a promote request for node 3 is committed; `plan` shows its steps;
//! 3. a writer on h4 keeps writing over TCP to whichever node accepts
//!    writes while `apply` runs the request; it counts acknowledged writes;
//! 4. afterwards h3 is the primary: a write on h3 is read on h1 and h2, h1
//!    replicates from h3, no acknowledged write is missing on any node,
//!    `plan --detailed-exitcode` exits 0, the ledger says succeeded (status
//!    JSON), the audit log has a line per phase with the commit's author,
//!    and a second apply does not run it again (h3's pid unchanged).
//!
//! Skipped unless DBFLEET_LAB=1.
//! Run: `DBFLEET_LAB=1 cargo test --test e2e_promote -- --test-threads=1 --nocapture`

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::engines::{assert_port_free, drop_firewall_script};
use common::fleet::{admin_password, lab_repo, nodes_toml, run_dbfleet, stdout, text};
use common::lab::Lab;
use common::lab_engine::{Kind, OnDrop};

const WAIT: Duration = Duration::from_secs(60);

struct Engine {
    kind: Kind,
    cluster: &'static str,
}

const HOSTS: [&str; 3] = ["h1", "h2", "h3"];

impl Engine {
    fn port(&self) -> u16 {
        match self.kind {
            Kind::Mariadb => 3306,
            Kind::Postgresql => 5432,
            Kind::Redis => 6395,
            Kind::Valkey => 6396,
        }
    }

    fn pid_file(&self) -> String {
        self.kind.pid_file()
    }

    fn reset_script(&self) -> String {
        format!(
            "{}\n{}",
            self.kind.reset_script(),
            drop_firewall_script(self.cluster)
        )
    }

    fn cluster_toml(&self, lab: &Lab) -> String {
        let (engine, version) = self.kind.engine_version();
        let port = match self.kind {
            Kind::Redis | Kind::Valkey => format!("port = {}\n", self.port()),
            _ => String::new(),
        };
        format!(
            "name = \"{}\"\nengine = \"{engine}\"\nversion = \"{version}\"\ntopology = \"primary-replica\"\n\
             {port}allowed_ips = [\"10.231.0.0/24\"]\n\n{}",
            self.cluster,
            nodes_toml(lab, &HOSTS)
        )
    }

    fn local(&self, lab: &Lab, host: &str, pw: &str, input: &str) -> String {
        self.kind.query(lab, host, pw, input)
    }

    fn wait(&self, lab: &Lab, host: &str, pw: &str, input: &str, want: &str) {
        self.kind.wait(lab, host, pw, input, want, WAIT);
    }

    /// Creates what the writer writes into (and, for MariaDB, its own
    /// account: read_only does not hold back accounts with SUPER).
    fn prepare_writes(&self, lab: &Lab, pw: &str) {
        match self.kind {
            Kind::Mariadb => {
                self.local(
                    lab,
                    "h1",
                    pw,
                    "CREATE DATABASE e2e; CREATE TABLE e2e.w (id INT PRIMARY KEY); \
                     CREATE USER app@'%' IDENTIFIED BY 'app-pw'; GRANT SELECT, INSERT ON e2e.* TO app@'%';",
                );
            }
            Kind::Postgresql => {
                self.local(lab, "h1", pw, "CREATE TABLE w (id int PRIMARY KEY);");
            }
            Kind::Redis | Kind::Valkey => {}
        }
    }

    /// A shell loop for h4 that writes ids 1, 2, 3... one at a time to the
    /// first node that accepts it, printing each acknowledged id, until
    /// `stop` exists.
    fn writer_script(&self, lab: &Lab, pw: &str, stop: &str) -> String {
        let hosts: Vec<String> = HOSTS.iter().map(|h| lab.ip(h).to_string()).collect();
        let port = self.port();
        let attempt = match self.kind {
            Kind::Mariadb => format!(
                "mariadb -h \"$h\" -P {port} -u app -papp-pw --connect-timeout=1 -e \"INSERT INTO e2e.w VALUES ($i)\" 2>/dev/null"
            ),
            Kind::Postgresql => format!(
                "PGPASSWORD='{pw}' PGCONNECT_TIMEOUT=1 /usr/lib/postgresql/15/bin/psql -X -q -h \"$h\" -p {port} -U dbfleet -d postgres -c \"INSERT INTO w VALUES ($i)\" >/dev/null 2>&1"
            ),
            Kind::Redis | Kind::Valkey => format!(
                "[ \"$(REDISCLI_AUTH='{pw}' timeout 2 redis-cli --no-auth-warning -h \"$h\" -p {port} SET w:$i $i 2>/dev/null)\" = OK ]"
            ),
        };
        format!(
            "rm -f {stop}; i=0; while [ ! -e {stop} ]; do i=$((i+1)); \
             for h in {}; do if {attempt}; then echo $i; break; fi; done; done",
            hosts.join(" ")
        )
    }

    /// Runs `during` while a writer on h4 keeps writing (from 2 s before
    /// to 2 s after); the ids it got acknowledged.
    fn with_writer<T>(&self, lab: &Lab, pw: &str, during: impl FnOnce() -> T) -> (T, BTreeSet<u64>) {
        let stop = format!("/tmp/dbfleet-e2e-writer-{}", self.cluster);
        let script = self.writer_script(lab, pw, &stop);
        let (value, written) = std::thread::scope(|scope| {
            let writer = scope.spawn(|| lab.ssh("h4", &script));
            std::thread::sleep(Duration::from_secs(2));
            let value = during();
            std::thread::sleep(Duration::from_secs(2));
            lab.ssh_ok("h4", &format!("touch {stop}"));
            (value, writer.join().expect("writer"))
        });
        let acked: BTreeSet<u64> = String::from_utf8_lossy(&written.stdout)
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect();
        assert!(
            acked.len() > 10,
            "the writer wrote too little: {}",
            text(&written)
        );
        (value, acked)
    }

    /// Fails unless every node holds every acknowledged id.
    fn assert_none_missing(&self, lab: &Lab, pw: &str, acked: &BTreeSet<u64>) {
        for h in HOSTS {
            let held = self.written(lab, h, pw);
            let missing: Vec<&u64> = acked.difference(&held).collect();
            assert!(missing.is_empty(), "{h} lacks acknowledged writes {missing:?}");
        }
    }

    /// Every id written, as `host` holds them.
    fn written(&self, lab: &Lab, host: &str, pw: &str) -> BTreeSet<u64> {
        let out = match self.kind {
            Kind::Mariadb => self.local(lab, host, pw, "SELECT id FROM e2e.w"),
            Kind::Postgresql => self.local(lab, host, pw, "SELECT id FROM w"),
            Kind::Redis | Kind::Valkey => self.local(lab, host, pw, "--scan --pattern 'w:*'"),
        };
        out.lines()
            .filter_map(|l| l.trim().trim_start_matches("w:").parse().ok())
            .collect()
    }

    /// Writes a marker on `host` (the new primary).
    fn mark(&self, lab: &Lab, host: &str, pw: &str) {
        let q = match self.kind {
            Kind::Mariadb => "INSERT INTO e2e.w VALUES (999999)",
            Kind::Postgresql => "INSERT INTO w VALUES (999999)",
            Kind::Redis | Kind::Valkey => "SET w:999999 999999",
        };
        self.local(lab, host, pw, q);
    }

    fn marker_query(&self) -> &'static str {
        match self.kind {
            Kind::Mariadb => "SELECT COUNT(*) FROM e2e.w WHERE id = 999999",
            Kind::Postgresql => "SELECT count(*) FROM w WHERE id = 999999",
            Kind::Redis | Kind::Valkey => "EXISTS w:999999",
        }
    }

    /// Waits until `host` replicates from `source`, by the engine's account.
    fn follows(&self, lab: &Lab, host: &str, pw: &str, source: &str) {
        let ip = lab.ip(source).to_string();
        self.kind.wait_replica_of(lab, host, pw, &ip, WAIT);
    }
}

fn promote_third_node(e: &Engine) {
    let Some(lab) = Lab::get() else { return };
    let t0 = Instant::now();
    for h in HOSTS {
        lab.ssh_ok(h, &e.reset_script());
        assert_port_free(&lab, h, e.port());
    }
    let _cleanup = OnDrop {
        lab: &lab,
        hosts: &HOSTS,
        script: e.reset_script(),
    };
    let repo = lab_repo(&lab, e.cluster, &e.cluster_toml(&lab));
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
    assert!(run(&["apply", "--yes"]).status.success(), "first apply failed");
    let pw = admin_password(state.path(), e.cluster);
    for h in ["h2", "h3"] {
        e.follows(&lab, h, &pw, "h1");
    }
    e.prepare_writes(&lab, &pw);

    // The request, committed by someone; plan shows its steps.
    let (n1, n3) = (format!("{}1", e.cluster), format!("{}3", e.cluster));
    let id = format!("2026-12-06-promote-{n3}");
    repo.commit_files(
        "promote node 3",
        &[(
            &format!("requests/{id}.toml"),
            &format!(
                "action = \"promote\"\ncluster = \"{}\"\nnode = \"{n3}\"\n",
                e.cluster
            ),
        )],
    );
    let out = run(&["plan", "--detailed-exitcode"]);
    assert_eq!(out.status.code(), Some(2), "a pending request is a change");
    let plan = stdout(&out);
    for want in [
        format!("{id} promote {}/{n3}", e.cluster),
        "pending: runs once the cluster has converged".to_string(),
        format!("- {n1}: stop taking writes (fence)"),
        format!("- {n3}: wait until it has everything {n1} wrote"),
        format!("- {n3}: become the primary"),
        format!("- {n1}: replicate from {n3}"),
    ] {
        assert!(plan.contains(&want), "plan lacks {want:?}:\n{plan}");
    }

    // A writer keeps writing through the switchover.
    let ((out, took), acked) = e.with_writer(&lab, &pw, || {
        let started = Instant::now();
        let out = run(&["apply", "--yes"]);
        (out, started.elapsed())
    });
    assert!(
        out.status.success(),
        "apply running the promote failed:\n{}",
        text(&out)
    );
    assert!(
        text(&out).contains(&format!("request {id} (promote): succeeded")),
        "{}",
        text(&out)
    );

    // h3 is the primary; the others follow it; nothing acknowledged is lost.
    e.mark(&lab, "h3", &pw);
    for h in ["h1", "h2"] {
        e.follows(&lab, h, &pw, "h3");
        e.wait(&lab, h, &pw, e.marker_query(), "1");
    }
    e.assert_none_missing(&lab, &pw, &acked);
    println!(
        "{}: promote under load: {} acknowledged writes, none missing; apply took {took:.1?}",
        e.cluster,
        acked.len()
    );

    // Converged, recorded, audited, and never run again.
    let out = run(&["plan", "--detailed-exitcode"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "plan after the promote:\n{}",
        text(&out)
    );
    let recorded: serde_json::Value = serde_json::from_slice(
        &std::fs::read(state.path().join(format!("clusters/{}.json", e.cluster))).expect("state"),
    )
    .expect("state json");
    let r = &recorded["requests"][&id];
    assert_eq!(r["state"], "succeeded", "{recorded}");
    assert_eq!(recorded["primary"], lab.ip("h3").to_string(), "{recorded}");
    let phases: Vec<&str> = r["phases"]
        .as_array()
        .expect("phases")
        .iter()
        .filter_map(|p| p["phase"].as_str())
        .collect();
    assert_eq!(phases, ["fence", "wait-caught-up", "promote", "repoint"], "{r}");
    let audit = std::fs::read_to_string(state.path().join("audit.jsonl")).expect("audit");
    for phase in phases {
        assert!(
            audit
                .lines()
                .any(|l| l.contains(&format!("\"step\":\"request-{phase}\""))
                    && l.contains("\"author\":")
                    && l.contains(&id)),
            "no audit line for {phase}:\n{audit}"
        );
    }
    let pid = lab.ssh_ok("h3", &format!("head -n 1 {}", e.pid_file()));
    let out = run(&["apply", "--yes"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        !text(&out).contains(&format!("request {id} (promote)")),
        "ran again"
    );
    assert_eq!(lab.ssh_ok("h3", &format!("head -n 1 {}", e.pid_file())), pid);
    println!("{}: whole test {:.1?}", e.cluster, t0.elapsed());
}

#[test]
fn mariadb_promotes_its_third_node_under_load() {
    promote_third_node(&Engine {
        kind: Kind::Mariadb,
        cluster: "sw-maria",
    });
}

#[test]
fn postgresql_promotes_its_third_node_under_load() {
    promote_third_node(&Engine {
        kind: Kind::Postgresql,
        cluster: "sw-pg",
    });
}

#[test]
fn redis_promotes_its_third_node_under_load() {
    promote_third_node(&Engine {
        kind: Kind::Redis,
        cluster: "sw-redis",
    });
}

#[test]
fn valkey_promotes_its_third_node_under_load() {
    promote_third_node(&Engine {
        kind: Kind::Valkey,
        cluster: "sw-valkey",
    });
}

/// A promote whose target lags (MariaDB's MASTER_DELAY holds it an hour
/// behind) is refused with the reason; nothing changes: the old primary
/// stays the primary and takes writes, the target still follows it.
#[test]
fn a_promote_of_a_lagging_replica_is_refused_and_changes_nothing() {
    let Some(lab) = Lab::get() else { return };
    let e = Engine {
        kind: Kind::Mariadb,
        cluster: "sw-lag",
    };
    for h in HOSTS {
        lab.ssh_ok(h, &e.reset_script());
    }
    let _cleanup = OnDrop {
        lab: &lab,
        hosts: &HOSTS,
        script: e.reset_script(),
    };
    let repo = lab_repo(&lab, e.cluster, &e.cluster_toml(&lab));
    let state = tempfile::tempdir().expect("state");
    let out = run_dbfleet(state.path(), &["apply", "--yes"], repo.path());
    assert!(out.status.success(), "{}", text(&out));
    let pw = admin_password(state.path(), e.cluster);
    e.follows(&lab, "h3", &pw, "h1");
    e.local(
        &lab,
        "h3",
        &pw,
        "STOP SLAVE; CHANGE MASTER TO MASTER_DELAY = 3600; START SLAVE;",
    );
    e.prepare_writes(&lab, &pw);
    e.local(&lab, "h1", &pw, "INSERT INTO e2e.w VALUES (1)");
    let behind = || {
        let s = lab.ssh_ok(
            "h3",
            "mariadb --vertical -e 'SHOW SLAVE STATUS' | awk '/Seconds_Behind_Master/ {print $2}'",
        );
        s.parse::<u64>().unwrap_or(0)
    };
    let deadline = Instant::now() + Duration::from_secs(40);
    while behind() <= 12 {
        assert!(Instant::now() < deadline, "h3 never fell behind");
        std::thread::sleep(Duration::from_millis(500));
    }
    let n3 = format!("{}3", e.cluster);
    let id = format!("2026-12-06-promote-{n3}");
    repo.commit_files(
        "promote a lagging node",
        &[(
            &format!("requests/{id}.toml"),
            &format!(
                "action = \"promote\"\ncluster = \"{}\"\nnode = \"{n3}\"\n",
                e.cluster
            ),
        )],
    );
    let out = run_dbfleet(state.path(), &["plan"], repo.path());
    assert!(
        stdout(&out).contains(&format!("will be refused: {n3} lags")),
        "the plan does not see the refusal coming:\n{}",
        text(&out)
    );
    let out = run_dbfleet(state.path(), &["apply", "--yes"], repo.path());
    println!("{}", text(&out));
    assert!(!out.status.success(), "a refused request fails the apply");
    assert!(
        text(&out).contains(&format!("request {id} (promote): refused"))
            && text(&out).contains("behind the primary"),
        "{}",
        text(&out)
    );
    e.local(&lab, "h1", &pw, "INSERT INTO e2e.w VALUES (424242)");
    assert_eq!(
        e.local(&lab, "h1", &pw, "SELECT @@read_only"),
        "0",
        "h1 was fenced"
    );
    e.follows(&lab, "h3", &pw, "h1");
    let recorded: serde_json::Value = serde_json::from_slice(
        &std::fs::read(state.path().join(format!("clusters/{}.json", e.cluster))).expect("state"),
    )
    .expect("state json");
    assert_eq!(recorded["requests"][&id]["state"], "refused", "{recorded}");
    assert_eq!(recorded["primary"], lab.ip("h1").to_string(), "{recorded}");
}

/// An apply SIGKILLed between the fence and the promote (MariaDB: h1 is
/// read-only, nobody takes writes) leaves the request running at its phase;
/// the next apply finishes it first: exactly one writable primary (h3),
/// the others following it, and no acknowledged write missing.
#[test]
fn a_promote_killed_after_the_fence_is_finished_by_the_next_apply() {
    let Some(lab) = Lab::get() else { return };
    let e = Engine {
        kind: Kind::Mariadb,
        cluster: "sw-kill",
    };
    for h in HOSTS {
        lab.ssh_ok(h, &e.reset_script());
    }
    let _cleanup = OnDrop {
        lab: &lab,
        hosts: &HOSTS,
        script: e.reset_script(),
    };
    let repo = lab_repo(&lab, e.cluster, &e.cluster_toml(&lab));
    let state = tempfile::tempdir().expect("state");
    let out = run_dbfleet(state.path(), &["apply", "--yes"], repo.path());
    assert!(out.status.success(), "{}", text(&out));
    let pw = admin_password(state.path(), e.cluster);
    for h in ["h2", "h3"] {
        e.follows(&lab, h, &pw, "h1");
    }
    e.prepare_writes(&lab, &pw);
    let n3 = format!("{}3", e.cluster);
    let id = format!("2026-12-06-promote-{n3}");
    repo.commit_files(
        "promote node 3",
        &[(
            &format!("requests/{id}.toml"),
            &format!(
                "action = \"promote\"\ncluster = \"{}\"\nnode = \"{n3}\"\n",
                e.cluster
            ),
        )],
    );
    let events = state.path().join("events.jsonl");
    let state_file = state.path().join(format!("clusters/{}.json", e.cluster));
    let (killed_at, acked) = e.with_writer(&lab, &pw, || {
        let mut apply = common::fleet::dbfleet_process(state.path())
            .args(["apply", "--yes", "--events"])
            .arg(&events)
            .arg(repo.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("apply");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let seen = std::fs::read_to_string(&events).unwrap_or_default();
            if seen
                .lines()
                .any(|l| l.contains("\"event\":\"step-done\"") && l.contains("\"step\":\"fence\""))
            {
                apply.kill().expect("SIGKILL");
                break;
            }
            assert!(Instant::now() < deadline, "no fence step seen:\n{seen}");
            std::thread::sleep(Duration::from_millis(2));
        }
        let _ = apply.wait();
        let recorded: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&state_file).expect("state")).expect("state json");
        // Killed before the promote: the old primary is fenced, and recorded.
        assert_eq!(recorded["requests"][&id]["state"], "running", "{recorded}");
        assert_eq!(recorded["primary"], lab.ip("h1").to_string(), "{recorded}");
        assert_eq!(
            e.local(&lab, "h1", &pw, "SELECT @@read_only"),
            "1",
            "h1 is not fenced"
        );
        let phase = recorded["requests"][&id]["phase"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        // The next apply resumes it.
        let out = run_dbfleet(state.path(), &["apply", "--yes"], repo.path());
        println!("{}", text(&out));
        assert!(out.status.success(), "{}", text(&out));
        assert!(
            text(&out).contains(&format!("resuming request {id} at {phase}")),
            "{}",
            text(&out)
        );
        assert!(
            text(&out).contains(&format!("request {id} (promote): succeeded")),
            "{}",
            text(&out)
        );
        phase
    });
    assert!(
        ["fence", "wait-caught-up"].contains(&killed_at.as_str()),
        "killed at {killed_at}"
    );
    // Exactly one writable primary: h3; h1 and h2 follow it.
    assert_eq!(e.local(&lab, "h3", &pw, "SELECT @@read_only"), "0");
    for h in ["h1", "h2"] {
        e.follows(&lab, h, &pw, "h3");
    }
    e.mark(&lab, "h3", &pw);
    for h in ["h1", "h2"] {
        e.wait(&lab, h, &pw, e.marker_query(), "1");
    }
    e.assert_none_missing(&lab, &pw, &acked);
    println!(
        "{}: killed at {killed_at}, resumed: {} acknowledged writes, none missing",
        e.cluster,
        acked.len()
    );
}
