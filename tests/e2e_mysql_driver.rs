//! The MySQL-family driver against real MariaDB 10.11 servers in the lab:
//! a primary on h1 with replicas on h2 and h3 seeded by a streamed
//! mariadb-backup, and a two-primary multi-master pair, driven through
//! `Driver` over SSH with configs from the renderer. Skipped unless
//! DBFLEET_LAB=1; only MariaDB state on the hosts is reset.
//!
//! Run: `DBFLEET_LAB=1 cargo test --test e2e_mysql_driver -- --test-threads=1 --nocapture`

mod common;

use std::time::{Duration, Instant};

use common::driver::{lab_ssh_config, Rig};
use common::engines::MARIADB_RESET;
use common::fleet::nodes_toml;
use common::lab::Lab;
use dbfleet::engine::{ConfigChange, DriverError, LiveOutcome, ObservedRole, Secrets};
use dbfleet::layout::PeerRef;
use dbfleet::model::SettingValue;
use dbfleet::render::Addresses;
use dbfleet::transport::{Command, Transport};

/// Passwords with everything quoting could get wrong.
const ADMIN_PASSWORD: &str = "adm'in \"pw\" $HOME `id` \\x;";
const REPL_PASSWORD: &str = "re;pl\\pw 'x' --";

impl Rig {
    /// A cluster of `hosts` (lab names), MariaDB reset on each.
    fn new(topology: &str, hosts: &[&str]) -> Option<Rig> {
        let lab = Lab::get()?;
        for h in hosts {
            lab.ssh_ok(h, MARIADB_RESET);
        }
        let nodes = nodes_toml(&lab, hosts);
        let toml = format!(
            "name = \"maria\"\nengine = \"mariadb\"\nversion = \"10.11\"\ntopology = \"{topology}\"\n{nodes}"
        );
        let mut ssh = lab_ssh_config(&lab);
        ssh.connect_timeout = Duration::from_secs(5);
        let secrets = Secrets {
            admin_password: ADMIN_PASSWORD.into(),
            replication_password: REPL_PASSWORD.into(),
        };
        Some(Rig::from_toml_with_ssh(lab, &toml, secrets, ssh))
    }

    fn peer(&self, i: usize) -> PeerRef {
        let n = &self.nodes[i];
        PeerRef {
            name: n.name.clone(),
            number: n.number,
            host: n.host.clone(),
        }
    }

    /// The node's my.cnf as rendered now.
    fn render(&self, i: usize) -> String {
        let files = self
            .renderer
            .render_node(&self.cluster, &self.nodes[i], &Addresses::default())
            .expect("render");
        files[0].content.clone()
    }

    /// Renders and writes the node's my.cnf (as the executor would).
    fn write_my_cnf(&self, i: usize) -> String {
        let content = self.render(i);
        let f = &self.paths.config_files[0];
        self.rt
            .block_on(
                self.transport(i)
                    .write_file(&f.path, content.as_bytes(), f.mode, &f.owner, &f.group),
            )
            .expect("write my.cnf");
        content
    }

    fn set(&mut self, key: &str, value: SettingValue) {
        self.cluster.settings.insert(key.to_string(), value);
    }

    /// SQL as root on the node, output in batch form.
    fn sql(&self, i: usize, script: &str) -> String {
        let cmd = Command::new("mariadb")
            .args(["--batch", "--skip-column-names"])
            .stdin(script);
        let out = self
            .rt
            .block_on(self.transport(i).run_checked(&cmd))
            .expect("sql");
        out.stdout_str().trim_end().to_string()
    }

    /// Polls `sql` on node `i` until it prints `want`.
    fn wait_for(&self, i: usize, script: &str, want: &str) {
        let started = Instant::now();
        loop {
            let got = self.sql(i, script);
            if got == want {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "{}: {script:?} gave {got:?}, not {want:?}",
                self.nodes[i].name
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// init, start and create_users on node `i`.
    fn build_first(&self, i: usize) {
        let (t, cx) = (self.transport(i), self.cx(i));
        self.write_my_cnf(i);
        let started = Instant::now();
        self.rt
            .block_on(self.driver().init(t.as_ref(), &cx))
            .expect("init");
        let initialised = started.elapsed();
        self.rt
            .block_on(self.driver().start(t.as_ref(), &cx))
            .expect("start");
        self.rt
            .block_on(self.driver().create_users(t.as_ref(), &cx))
            .expect("create_users");
        println!(
            "{}: init {:.1}s, init+start+users {:.1}s",
            self.nodes[i].name,
            initialised.as_secs_f64(),
            started.elapsed().as_secs_f64()
        );
    }

    /// seed node `i` from node `from`, start it, replicate from `from`.
    fn build_replica(&self, i: usize, from: usize) {
        let (t, cx) = (self.transport(i), self.cx(i));
        let (st, scx) = (self.transport(from), self.cx(from));
        self.write_my_cnf(i);
        let started = Instant::now();
        self.rt
            .block_on(self.driver().seed(st.as_ref(), &scx, t.as_ref(), &cx))
            .expect("seed");
        let seeded = started.elapsed();
        self.rt
            .block_on(self.driver().start(t.as_ref(), &cx))
            .expect("start replica");
        self.rt
            .block_on(self.driver().start_replication(t.as_ref(), &cx, &self.peer(from)))
            .expect("start_replication");
        println!(
            "{}: seed from {} {:.1}s, seed+start+replicating {:.1}s",
            self.nodes[i].name,
            self.nodes[from].name,
            seeded.as_secs_f64(),
            started.elapsed().as_secs_f64()
        );
    }

    /// As the executor does: checks node `i`'s new my.cnf with the server,
    /// writes it and applies the changed setting live.
    fn change(&mut self, i: usize, key: &str, value: SettingValue) -> Result<LiveOutcome, DriverError> {
        let old = self.render(i);
        self.set(key, value);
        let t = self.transport(i);
        self.rt.block_on(
            self.driver()
                .check_config(t.as_ref(), &self.cx(i), &self.render(i)),
        )?;
        let new = self.write_my_cnf(i);
        let changes: Vec<ConfigChange> = self.driver().changed_settings(&old, &new);
        assert!(changes.iter().any(|c| c.key == key), "{changes:?}");
        self.rt.block_on(
            self.driver()
                .apply_live(self.transport(i).as_ref(), &self.cx(i), &changes),
        )
    }

    fn stop_all(&self) {
        for i in 0..self.nodes.len() {
            self.rt
                .block_on(self.driver().stop(self.transport(i).as_ref(), &self.cx(i)))
                .expect("stop");
            let s = self.observe(i);
            assert!(!s.running && s.pid.is_none(), "{s:?}");
            let left = self.lab.ssh_ok(
                &format!("h{}", i + 1),
                "pgrep -x mariadbd; pgrep -x mysqld_safe; true",
            );
            assert_eq!(left, "", "processes left on {}", self.nodes[i].name);
        }
    }
}

#[test]
fn primary_with_two_seeded_replicas_replicates_and_takes_live_settings() {
    let Some(mut rig) = Rig::new("primary-replica", &["h1", "h2", "h3"]) else {
        return;
    };
    let d = rig.driver();

    // Nothing there yet.
    let s = rig.observe(0);
    assert!(s.installed && !s.initialised && !s.running, "{s:?}");

    rig.build_first(0);
    // Idempotent: a second init and start change nothing.
    let pid = rig.observe(0).pid;
    rig.rt
        .block_on(d.init(rig.transport(0).as_ref(), &rig.cx(0)))
        .expect("init again");
    rig.rt
        .block_on(d.start(rig.transport(0).as_ref(), &rig.cx(0)))
        .expect("start again");
    assert_eq!(rig.observe(0).pid, pid);
    rig.rt
        .block_on(d.create_users(rig.transport(0).as_ref(), &rig.cx(0)))
        .expect("create_users again");

    // Rows written before seeding: 1 kB each, 50000 (about 60 MB on disk)
    // unless DBFLEET_E2E_ROWS says otherwise (seed timings for bigger data).
    let rows: u64 = std::env::var("DBFLEET_E2E_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50_000);
    rig.sql(
        0,
        &format!(
            "CREATE DATABASE app; \
             CREATE TABLE app.t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(20), pad TEXT); \
             USE app; INSERT INTO t (v, pad) SELECT 'before', REPEAT('x', 1000) FROM seq_1_to_{rows};"
        ),
    );
    let size = rig.lab.ssh_ok("h1", "du -sm /var/lib/mysql/app | cut -f1");
    println!("h1: {rows} rows, {size} MB of table files");

    rig.build_replica(1, 0);
    rig.build_replica(2, 0);
    for i in 1..3 {
        rig.wait_for(
            i,
            "SELECT COUNT(*) FROM app.t WHERE v = 'before'",
            &rows.to_string(),
        );
    }
    rig.sql(0, "INSERT INTO app.t (v) VALUES ('after');");
    for i in 1..3 {
        rig.wait_for(i, "SELECT COUNT(*) FROM app.t WHERE v = 'after'", "1");
    }

    // Roles and lag as the engine reports them.
    let p = rig.observe(0);
    assert_eq!(p.role, Some(ObservedRole::Primary), "{p:?}");
    assert!(p.replication.is_none(), "{p:?}");
    assert!(
        p.version.as_deref().is_some_and(|v| v.contains("MariaDB")),
        "{p:?}"
    );
    for i in 1..3 {
        let s = rig.observe(i);
        assert!(s.initialised && s.running, "{s:?}");
        assert_eq!(s.role, Some(ObservedRole::Replica), "{s:?}");
        let r = s.replication.expect("replication");
        assert_eq!(r.source_host, rig.nodes[0].host);
        assert!(r.healthy && r.last_error.is_none(), "{r:?}");
        assert_eq!(r.lag_seconds, Some(0.0), "{r:?}");
    }
    // Replicas are read-only for ordinary users, and the admin user works on them.
    let login = rig.rt.block_on(
        rig.transport(1).run(
            &Command::new("mariadb")
                .args(["--user=dbfleet", "--host", &rig.nodes[1].host.clone()])
                .env("MYSQL_PWD", ADMIN_PASSWORD)
                .stdin("SELECT CURRENT_USER(), @@read_only;"),
        ),
    );
    let out = login.expect("admin login");
    assert!(out.success(), "{out:?}");
    assert!(out.stdout_str().contains("dbfleet@%\t1"), "{out:?}");

    // start_replication again: nothing changes, still healthy.
    rig.rt
        .block_on(d.start_replication(rig.transport(1).as_ref(), &rig.cx(1), &rig.peer(0)))
        .expect("start_replication again");
    assert!(rig.observe(1).replication.is_some_and(|r| r.healthy));

    // A live change keeps the process.
    let pid = rig.observe(0).pid;
    let outcome = rig.change(0, "max_connections", SettingValue::Integer(345));
    assert_eq!(outcome.expect("live"), LiveOutcome::Applied);
    assert_eq!(rig.sql(0, "SELECT @@GLOBAL.max_connections"), "345");
    assert_eq!(rig.observe(0).pid, pid);

    // A read-only variable needs a restart.
    let outcome = rig.change(0, "innodb_log_buffer_size", SettingValue::String("32M".into()));
    assert_eq!(
        outcome.expect("live"),
        LiveOutcome::NeedsRestart(vec!["innodb_log_buffer_size".into()])
    );
    let outcome = rig.change(0, "performance_schema", SettingValue::Bool(true));
    assert_eq!(
        outcome.expect("live"),
        LiveOutcome::NeedsRestart(vec!["performance_schema".into()])
    );

    // A bad value is rejected with MariaDB's own message, before anything changes.
    let err = rig
        .change(0, "max_connections", SettingValue::String("lots".into()))
        .expect_err("rejected");
    println!("rejected: {err}");
    match &err {
        DriverError::Rejected { engine, message, .. } => {
            assert_eq!(engine, "mariadb");
            assert!(
                message.contains("Error while setting value 'lots' to 'max_connections'"),
                "{message}"
            );
        }
        other => panic!("not Rejected: {other:?}"),
    }
    assert_eq!(rig.sql(0, "SELECT @@GLOBAL.max_connections"), "345");
    rig.set("max_connections", SettingValue::Integer(345)); // as the executor's roll-back would
    let err = rig
        .change(0, "sql_mode", SettingValue::String("NO_SUCH_MODE".into()))
        .expect_err("rejected");
    assert!(err.to_string().contains("'NO_SUCH_MODE' to 'sql_mode'"), "{err}");
    assert_eq!(rig.observe(0).pid, pid);

    // A replica whose SQL thread stopped: observe says so with MariaDB's
    // error, start_replication fails with it, and works again once fixed.
    rig.sql(
        2,
        "SET sql_log_bin = 0; INSERT INTO app.t (id, v) VALUES (1000001, 'conflict');",
    );
    rig.sql(0, "INSERT INTO app.t (id, v) VALUES (1000001, 'primary');");
    let started = Instant::now();
    let broken = loop {
        let r = rig.observe(2).replication.expect("replication");
        if !r.healthy {
            break r;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "{r:?}");
        std::thread::sleep(Duration::from_millis(200));
    };
    let error = broken.last_error.expect("last error");
    assert!(
        error.contains("Duplicate entry '1000001' for key 'PRIMARY'"),
        "{error}"
    );
    let err = rig
        .rt
        .block_on(d.start_replication(rig.transport(2).as_ref(), &rig.cx(2), &rig.peer(0)))
        .expect_err("a replica that cannot apply");
    assert!(err.to_string().contains("Duplicate entry '1000001'"), "{err}");
    rig.sql(2, "SET sql_log_bin = 0; DELETE FROM app.t WHERE id = 1000001;");
    rig.rt
        .block_on(d.start_replication(rig.transport(2).as_ref(), &rig.cx(2), &rig.peer(0)))
        .expect("repaired");
    rig.wait_for(2, "SELECT v FROM app.t WHERE id = 1000001", "primary");
    assert!(rig
        .observe(2)
        .replication
        .is_some_and(|r| r.healthy && r.last_error.is_none()));

    rig.stop_all();
    // Idempotent stop; a restart brings replication back by itself.
    rig.rt
        .block_on(d.stop(rig.transport(1).as_ref(), &rig.cx(1)))
        .expect("stop again");
    rig.cluster.settings.clear();
    for i in 0..3 {
        rig.write_my_cnf(i);
        rig.rt
            .block_on(d.start(rig.transport(i).as_ref(), &rig.cx(i)))
            .expect("restart");
    }
    rig.sql(0, "INSERT INTO app.t (v) VALUES ('restarted');");
    for i in 1..3 {
        rig.wait_for(i, "SELECT COUNT(*) FROM app.t WHERE v = 'restarted'", "1");
    }
    rig.stop_all();
}

#[test]
fn multi_master_pair_never_collides() {
    let Some(rig) = Rig::new("multi-master", &["h1", "h2"]) else {
        return;
    };
    let d = rig.driver();
    rig.build_first(0);
    rig.sql(
        0,
        "CREATE DATABASE app; CREATE TABLE app.t (id INT AUTO_INCREMENT PRIMARY KEY, origin VARCHAR(10));",
    );
    rig.build_replica(1, 0);
    // ... and back: h1 replicates from h2.
    rig.rt
        .block_on(d.start_replication(rig.transport(0).as_ref(), &rig.cx(0), &rig.peer(1)))
        .expect("start_replication h1 <- h2");

    // Inserts on both sides at once.
    let batch = |origin: &str| {
        let mut s = String::new();
        for _ in 0..50 {
            s.push_str(&format!("INSERT INTO app.t (origin) VALUES ('{origin}');\n"));
        }
        s
    };
    let (a, b) = (batch("h1"), batch("h2"));
    std::thread::scope(|scope| {
        scope.spawn(|| rig.sql(0, &a));
        scope.spawn(|| rig.sql(1, &b));
    });
    for i in 0..2 {
        rig.wait_for(i, "SELECT COUNT(*) FROM app.t", "100");
    }
    let digest = "SELECT origin, COUNT(*), SUM(id % 2) FROM app.t GROUP BY origin ORDER BY origin";
    // h1 (offset 1) hands out odd ids, h2 (offset 2) even ones.
    assert_eq!(rig.sql(0, digest), "h1\t50\t50\nh2\t50\t0");
    assert_eq!(rig.sql(1, digest), rig.sql(0, digest));
    for i in 0..2 {
        let s = rig.observe(i);
        assert_eq!(s.role, Some(ObservedRole::Primary), "{s:?}");
        let r = s.replication.expect("replication");
        assert_eq!(r.source_host, rig.nodes[1 - i].host);
        assert!(r.healthy && r.last_error.is_none(), "{r:?}");
    }
    rig.stop_all();
}
