//! The PostgreSQL driver against real PostgreSQL 15 servers in the lab: a
//! primary on h1 and streaming standbys on h2 and h3, driven through
//! `Driver` over SSH with configs from the renderer. Skipped unless
//! DBFLEET_LAB=1; only PostgreSQL state on the hosts is reset.
//!
//! Run: `DBFLEET_LAB=1 cargo test --test e2e_postgres_driver -- --test-threads=1 --nocapture`

// Nodes are indexed into several parallel vectors (hosts, layouts, configs).
#![allow(clippy::needless_range_loop)]

mod common;

use std::time::{Duration, Instant};

use common::driver::Rig;
use common::engines::assert_port_free;
use common::lab::{wait_until, Lab};
use dbfleet::engine::{ConfigChange, DriverError, LiveOutcome, NodeCx, ObservedRole, Secrets};
use dbfleet::layout::Role;
use dbfleet::render::{Addresses, ADMIN_USER};
use dbfleet::transport::{Command, Transport};

/// Passwords with everything quoting could get wrong.
const ADMIN_PASSWORD: &str = "adm'in \"pw\" $HOME `id` \\x;";
const REPL_PASSWORD: &str = "re:pl\\pw 'x'";
const HOSTS: [&str; 3] = ["h1", "h2", "h3"];

impl Rig {
    fn new(lab: Lab) -> Rig {
        let ips: Vec<String> = HOSTS.iter().map(|h| lab.ip(h).to_string()).collect();
        let toml = format!(
            "name = \"e2e-pg\"\nengine = \"postgresql\"\nversion = \"15\"\n\
             topology = \"primary-replica\"\nallowed_ips = [\"10.231.0.0/24\"]\n\
             [settings]\nwork_mem = \"4MB\"\nshared_buffers = \"32MB\"\n\
             [[nodes]]\nhost = \"{}\"\n[[nodes]]\nhost = \"{}\"\n[[nodes]]\nhost = \"{}\"\n",
            ips[0], ips[1], ips[2]
        );
        let secrets = Secrets {
            admin_password: ADMIN_PASSWORD.into(),
            replication_password: REPL_PASSWORD.into(),
        };
        let rig = Rig::from_toml(lab, &toml, secrets);
        for h in HOSTS {
            rig.reset(h);
        }
        rig
    }

    /// Stops PostgreSQL 15 on `host` (only if `postmaster.pid` names a
    /// postmaster of its data directory) and removes its data, config,
    /// passfile and log; other engines on the host are left alone.
    fn reset(&self, host: &str) {
        let p = &self.paths;
        let script = format!(
            "cd /tmp; pid=$(head -n 1 {data}/postmaster.pid 2>/dev/null); \
             if [ -n \"$pid\" ] && [ \"$(readlink /proc/$pid/cwd)\" = {data} ]; then \
               runuser -u postgres -- {bin}/pg_ctl -D {data} stop -m immediate -w >/dev/null; fi; \
             rm -rf /var/lib/postgresql/15 /etc/postgresql/15 {secrets} {secrets}.dbfleet-prev {log}; true",
            data = p.data_dir,
            bin = p.bin_dir,
            secrets = p.secrets_file.as_deref().unwrap_or("/nonexistent"),
            log = p.log_file,
        );
        self.lab.ssh_ok(host, &script);
        assert_port_free(&self.lab, host, self.cluster.port());
    }

    /// psql as postgres over the socket on node `i` (test assertions only).
    fn sql(&self, i: usize, sql: &str) -> String {
        let cmd = Command::new("psql")
            .args([
                "-X",
                "-A",
                "-t",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                "/var/run/postgresql",
            ])
            .args(["-d", "postgres"])
            .run_as("postgres")
            .cwd("/tmp")
            .stdin(sql.as_bytes());
        let t = self.transport(i);
        let out = self.block(t.run(&cmd)).expect("psql");
        assert!(out.success(), "{} {sql}: {}", HOSTS[i], out.stderr_str());
        out.stdout_str().trim_end().to_string()
    }
}

/// Primary, two standbys, rows before and after they joined, observation,
/// idempotence, live changes, a restart-needing change, a rejected value.
#[test]
fn primary_and_two_standbys() {
    let Some(lab) = Lab::get() else { return };
    let mut rig = Rig::new(lab);
    let d = rig.driver();
    assert_eq!(rig.nodes[0].role, Role::Primary);

    let fresh = rig.observe(0);
    assert!(
        fresh.installed && !fresh.initialised && !fresh.running,
        "{fresh:?}"
    );

    let mut configs = rig.write_all_configs();
    let passfile = rig.paths.secrets_file.clone().unwrap();
    assert_eq!(
        rig.lab
            .ssh_ok("h2", &format!("stat -c '%a %U' {passfile}; cat {passfile}")),
        "600 postgres\n*:*:*:dbfleet_repl:re\\:pl\\\\pw 'x'"
    );

    // The primary.
    let t0 = rig.transport(0);
    let started = Instant::now();
    rig.block(d.init(&*t0, &rig.cx(0))).expect("init");
    let init_time = started.elapsed();
    let stopped = rig.observe(0);
    assert!(
        stopped.initialised && !stopped.running,
        "init leaves it stopped: {stopped:?}"
    );
    let started = Instant::now();
    rig.block(d.start(&*t0, &rig.cx(0))).expect("start primary");
    println!("primary: init {init_time:?}, start {:?}", started.elapsed());
    let p = rig.observe(0);
    assert!(p.initialised && p.running, "{p:?}");
    assert_eq!(p.role, Some(ObservedRole::Primary));
    assert!(p.version.as_deref().unwrap().starts_with("15."), "{p:?}");
    assert_eq!(p.replication, None);
    let primary_pid = p.pid.expect("pid");
    assert_eq!(
        rig.lab
            .ssh_ok("h1", "head -n 1 /var/lib/postgresql/15/main/postmaster.pid"),
        primary_pid.to_string()
    );
    // initdb's own config files are gone: the ones in /etc are used.
    rig.lab
        .ssh_ok("h1", "test ! -e /var/lib/postgresql/15/main/postgresql.conf");
    assert_eq!(
        rig.sql(0, "SHOW config_file"),
        "/etc/postgresql/15/main/postgresql.conf"
    );
    assert_eq!(rig.sql(0, "SHOW work_mem"), "4MB");

    rig.block(d.create_users(&*t0, &rig.cx(0))).expect("create users");
    rig.block(d.create_users(&*t0, &rig.cx(0)))
        .expect("create users again");
    assert_eq!(
        rig.sql(
            0,
            "SELECT rolname, rolsuper, rolreplication FROM pg_roles WHERE rolname LIKE 'dbfleet%' ORDER BY 1"
        ),
        "dbfleet|t|f\ndbfleet_repl|f|t"
    );
    assert_eq!(
        rig.sql(0, "SELECT slot_name FROM pg_replication_slots ORDER BY 1"),
        "e2e_pg2\ne2e_pg3"
    );
    // Idempotent: a second init and start change nothing.
    rig.block(d.init(&*t0, &rig.cx(0))).expect("init again");
    rig.block(d.start(&*t0, &rig.cx(0))).expect("start again");
    assert_eq!(rig.observe(0).pid, Some(primary_pid));

    // The admin password works over TCP from another host (scram-sha-256).
    let t1 = rig.transport(1);
    let login = Command::new("psql")
        .args([
            "-X",
            "-A",
            "-t",
            "-h",
            &rig.nodes[0].host,
            "-U",
            ADMIN_USER,
            "-d",
            "postgres",
        ])
        .args(["-c", "SELECT current_user"])
        .env("PGPASSWORD", ADMIN_PASSWORD)
        .cwd("/tmp");
    let out = rig.block(t1.run(&login)).expect("psql login");
    assert_eq!(out.stdout_str().trim(), "dbfleet", "{}", out.stderr_str());

    rig.sql(
        0,
        "CREATE TABLE e2e (id int PRIMARY KEY, note text); INSERT INTO e2e VALUES (1, 'before standbys');",
    );

    // The standbys.
    let primary_ref = rig.nodes[1].primary.clone().expect("replica has a primary");
    for i in 1..3 {
        let (t, cx) = (rig.transport(i), rig.cx(i));
        let started = Instant::now();
        rig.block(d.seed(&*t0, &rig.cx(0), &*t, &cx)).expect("seed");
        let seeded = started.elapsed();
        let s = rig.observe(i);
        assert!(s.initialised && !s.running, "seed leaves it stopped: {s:?}");
        assert_eq!(
            rig.lab
                .ssh_ok(HOSTS[i], "cat /var/lib/postgresql/15/main/.dbfleet-initialised"),
            format!("node={}", rig.nodes[i].name),
            "the marker is the replica's, not a copy of the primary's"
        );
        let started = Instant::now();
        rig.block(d.start(&*t, &cx)).expect("start standby");
        rig.block(d.start_replication(&*t, &cx, &primary_ref))
            .expect("replication");
        println!(
            "{}: seed {seeded:?}, start + streaming {:?}",
            HOSTS[i],
            started.elapsed()
        );
        let started = Instant::now();
        rig.block(d.start_replication(&*t, &cx, &primary_ref))
            .expect("replication again");
        println!(
            "{}: start_replication when streaming: {:?}",
            HOSTS[i],
            started.elapsed()
        );
    }

    rig.sql(0, "INSERT INTO e2e VALUES (2, 'after standbys');");
    for i in 1..3 {
        wait_until("row 2 on the standby", Duration::from_secs(10), || {
            rig.sql(i, "SELECT count(*) FROM e2e") == "2"
        });
        assert_eq!(
            rig.sql(i, "SELECT note FROM e2e ORDER BY id"),
            "before standbys\nafter standbys"
        );
        let r = rig.observe(i);
        println!("{} observed {r:?}", HOSTS[i]);
        assert!(r.initialised && r.running, "{r:?}");
        assert_eq!(r.role, Some(ObservedRole::Replica));
        let repl = r.replication.expect("replication");
        assert_eq!(repl.source_host, rig.nodes[0].host);
        assert!(repl.healthy, "{repl:?}");
        assert!(repl.lag_seconds.is_some_and(|s| s < 10.0), "{repl:?}");
        assert!(repl.lag_bytes.is_some_and(|b| b < 1024 * 1024), "{repl:?}");
        assert_eq!(repl.last_error, None);
    }
    assert_eq!(
        rig.sql(
            0,
            "SELECT application_name, state FROM pg_stat_replication ORDER BY 1"
        ),
        "e2e-pg2|streaming\ne2e-pg3|streaming"
    );
    assert_eq!(
        rig.sql(0, "SELECT slot_name, active FROM pg_replication_slots ORDER BY 1"),
        "e2e_pg2|t\ne2e_pg3|t"
    );

    // A standby stopped, written to meanwhile, started again, catches up.
    let t2 = rig.transport(2);
    rig.block(d.stop(&*t2, &rig.cx(2))).expect("stop standby");
    let s = rig.observe(2);
    assert!(!s.running && s.pid.is_none() && s.initialised, "{s:?}");
    rig.block(d.stop(&*t2, &rig.cx(2))).expect("stop again");
    rig.sql(0, "INSERT INTO e2e VALUES (3, 'while h3 was down');");
    rig.block(d.start_replication(&*t2, &rig.cx(2), &primary_ref))
        .expect("replication after restart");
    wait_until("row 3 on h3", Duration::from_secs(10), || {
        rig.sql(2, "SELECT count(*) FROM e2e") == "3"
    });

    // A live change, on every node.
    let pids: Vec<u32> = (0..3).map(|i| rig.observe(i).pid.unwrap()).collect();
    rig.set_setting("work_mem", "8MB");
    for i in 0..3 {
        let (t, cx) = (rig.transport(i), rig.cx(i));
        let new = rig.write_config(i);
        let changes = d.changed_settings(&configs[i], &new);
        assert_eq!(
            changes,
            vec![ConfigChange {
                key: "work_mem".into(),
                value: Some("'8MB'".into())
            }]
        );
        let started = Instant::now();
        let outcome = rig.block(d.apply_live(&*t, &cx, &changes)).expect("apply_live");
        println!("{}: live work_mem in {:?}", HOSTS[i], started.elapsed());
        assert_eq!(outcome, LiveOutcome::Applied);
        assert_eq!(rig.sql(i, "SHOW work_mem"), "8MB");
        assert_eq!(rig.observe(i).pid, Some(pids[i]), "{}: no restart", HOSTS[i]);
        configs[i] = new;
    }

    // shared_buffers needs a restart; the server says so and keeps running.
    rig.set_setting("shared_buffers", "48MB");
    let new = rig.write_config(0);
    let changes = d.changed_settings(&configs[0], &new);
    let outcome = rig
        .block(d.apply_live(&*t0, &rig.cx(0), &changes))
        .expect("apply_live");
    assert_eq!(outcome, LiveOutcome::NeedsRestart(vec!["shared_buffers".into()]));
    assert_eq!(rig.sql(0, "SHOW shared_buffers"), "32MB");
    assert_eq!(rig.observe(0).pid, Some(pids[0]));
    let started = Instant::now();
    rig.block(d.stop(&*t0, &rig.cx(0))).expect("stop primary");
    rig.block(d.start(&*t0, &rig.cx(0))).expect("start primary");
    println!("primary restart: {:?}", started.elapsed());
    assert_eq!(rig.sql(0, "SHOW shared_buffers"), "48MB");
    configs[0] = new;
    let primary_pid = rig.observe(0).pid.unwrap();
    assert_ne!(primary_pid, pids[0]);
    // The standbys reconnect by themselves.
    for i in 1..3 {
        wait_until("standby streaming again", Duration::from_secs(30), || {
            rig.observe(i).replication.is_some_and(|r| r.healthy)
        });
    }

    // A bad value: rejected with PostgreSQL's words, and never loaded.
    rig.set_setting("work_mem", "lots");
    rig.set_setting("maintenance_work_mem", "96MB");
    let new = rig.write_config(0);
    let changes = d.changed_settings(&configs[0], &new);
    assert_eq!(changes.len(), 2, "{changes:?}");
    let err = rig
        .block(d.apply_live(&*t0, &rig.cx(0), &changes))
        .expect_err("work_mem = lots");
    println!("{err}");
    match &err {
        DriverError::Rejected { what, message, .. } => {
            assert_eq!(what, "the configuration change (maintenance_work_mem, work_mem)");
            assert!(
                message.starts_with("invalid value for parameter \"work_mem\": \"lots\""),
                "{message}"
            );
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
    assert_eq!(rig.sql(0, "SHOW work_mem"), "8MB");
    assert_eq!(
        rig.sql(0, "SHOW maintenance_work_mem"),
        "64MB",
        "nothing of the bad file was applied"
    );
    assert_eq!(rig.observe(0).pid, Some(primary_pid));
    // Put the previous file back, as the executor does.
    rig.set_setting("work_mem", "8MB");
    rig.cluster.settings.remove("maintenance_work_mem");
    assert_eq!(rig.write_config(0), configs[0]);
    assert_eq!(
        rig.block(d.apply_live(&*t0, &rig.cx(0), &[])).expect("reload"),
        LiveOutcome::Applied
    );

    // A broken pg_hba.conf is rejected too.
    rig.lab.ssh_ok(
        "h1",
        "echo 'host all all 10.0.0.0/33 md5' >> /etc/postgresql/15/main/pg_hba.conf",
    );
    let err = rig
        .block(d.apply_live(&*t0, &rig.cx(0), &[]))
        .expect_err("bad hba");
    println!("{err}");
    assert!(err.to_string().contains("pg_hba.conf line"), "{err}");
    rig.write_config(0);

    // The primary goes away: the standbys say so, with the WAL receiver's
    // own complaint from the log.
    rig.block(d.stop(&*t0, &rig.cx(0))).expect("stop primary");
    wait_until("h2 sees its primary gone", Duration::from_secs(30), || {
        let r = rig.observe(1).replication.expect("still a standby");
        !r.healthy && r.last_error.is_some()
    });
    let r = rig.observe(1).replication.unwrap();
    println!("h2 without its primary: {r:?}");
    assert_eq!(r.source_host, rig.nodes[0].host);
    assert_eq!(r.lag_seconds, None, "no stream, no lag figure");
    let why = r.last_error.unwrap();
    assert!(
        why.contains("primary server") || why.contains("WAL stream"),
        "{why}"
    );

    // Stop everything else.
    for i in [2, 1, 0] {
        let (t, cx) = (rig.transport(i), rig.cx(i));
        rig.block(d.stop(&*t, &cx)).expect("stop");
        let s = rig.observe(i);
        assert!(!s.running && s.initialised, "{s:?}");
    }
}

/// Pitfall 10: after a power-off `postmaster.pid` stays, and its pid may
/// belong to another process of the rebooted host. The driver neither
/// mistakes that process for PostgreSQL nor lets PostgreSQL refuse to
/// start. Also: a SIGKILLed postmaster comes back through crash recovery.
#[test]
fn stale_pid_file_and_crash() {
    let Some(lab) = Lab::get() else { return };
    let rig = Rig::new(lab);
    let d = rig.driver();
    let (t0, cx0) = (rig.transport(0), rig.cx(0));
    rig.block(d.write_secrets(&*t0, &cx0)).expect("secrets");
    rig.write_config(0);
    rig.block(d.init(&*t0, &cx0)).expect("init");
    rig.block(d.start(&*t0, &cx0)).expect("start");
    rig.sql(0, "CREATE TABLE kept (x int); INSERT INTO kept VALUES (42);");

    // Crash: SIGKILL the postmaster; its pid file stays behind.
    let pid = rig.observe(0).pid.unwrap();
    rig.lab.ssh_ok("h1", &format!("kill -KILL {pid}"));
    wait_until("postmaster gone", Duration::from_secs(10), || {
        rig.lab.ssh("h1", &format!("kill -0 {pid}")).status.code() != Some(0)
    });
    // Its children notice the postmaster died and exit.
    wait_until("backends gone", Duration::from_secs(20), || {
        rig.lab.ssh_ok("h1", "ss -Hltn 'sport = :5432' | wc -l") == "0"
    });
    // As after a reboot: the file names a live process that is not
    // PostgreSQL (sshd), as PID reuse in a fresh namespace would.
    let sshd = rig.lab.ssh_ok("h1", "cat /run/sshd.pid");
    rig.lab.ssh_ok(
        "h1",
        &format!("sed -i '1s/.*/{sshd}/' /var/lib/postgresql/15/main/postmaster.pid"),
    );
    let s = rig.observe(0);
    assert!(!s.running && s.pid.is_none() && s.initialised, "{s:?}");
    let started = Instant::now();
    rig.block(d.start(&*t0, &cx0))
        .expect("start after crash with a stale pid file");
    println!("start with crash recovery: {:?}", started.elapsed());
    assert_eq!(rig.sql(0, "SELECT x FROM kept"), "42");
    rig.lab.ssh_ok("h1", &format!("kill -0 {sshd}"));

    // Stopped, with a stale pid file naming sshd: stop must not signal it.
    rig.block(d.stop(&*t0, &cx0)).expect("stop");
    rig.lab.ssh_ok(
        "h1",
        &format!("printf '%s\\n' {sshd} > /var/lib/postgresql/15/main/postmaster.pid"),
    );
    rig.block(d.stop(&*t0, &cx0)).expect("stop with a stale pid file");
    rig.lab.ssh_ok("h1", &format!("kill -0 {sshd}"));
    rig.lab
        .ssh_ok("h1", "test ! -e /var/lib/postgresql/15/main/postmaster.pid");
    rig.block(d.stop(&*t0, &cx0)).expect("stop");
}

/// A data directory with files but no marker is never initialised over;
/// a half-done copy (staging dir) is not initialised and is redone; a
/// standby whose config points elsewhere is refused.
#[test]
fn refuses_foreign_data_and_redoes_half_seeds() {
    let Some(lab) = Lab::get() else { return };
    let rig = Rig::new(lab);
    let d = rig.driver();
    let (t0, cx0) = (rig.transport(0), rig.cx(0));
    let (t1, cx1) = (rig.transport(1), rig.cx(1));
    for i in 0..2 {
        rig.block(d.write_secrets(&*rig.transport(i), &rig.cx(i)))
            .expect("secrets");
        rig.write_config(i);
    }

    // Foreign files in h1's data directory.
    rig.lab.ssh_ok(
        "h1",
        "install -d -o postgres -m 0700 /var/lib/postgresql/15/main && touch /var/lib/postgresql/15/main/PG_VERSION",
    );
    let err = rig.block(d.init(&*t0, &cx0)).expect_err("not ours");
    assert!(
        err.to_string()
            .contains("holds files but no .dbfleet-initialised marker"),
        "{err}"
    );
    rig.lab
        .ssh_ok("h1", "test -e /var/lib/postgresql/15/main/PG_VERSION");
    rig.lab.ssh_ok("h1", "rm -rf /var/lib/postgresql/15/main");
    rig.block(d.init(&*t0, &cx0)).expect("init");
    rig.block(d.start(&*t0, &cx0)).expect("start");
    rig.block(d.create_users(&*t0, &cx0)).expect("users");

    // A copy interrupted halfway on h2: staging dir left, no data dir.
    rig.lab.ssh_ok(
        "h2",
        "install -d -o postgres -m 0700 /var/lib/postgresql/15/main.dbfleet-seed && \
         touch /var/lib/postgresql/15/main.dbfleet-seed/half",
    );
    assert!(!rig.observe(1).initialised);
    let err = rig.block(d.start(&*t1, &cx1)).expect_err("not initialised");
    assert!(err.to_string().contains("is not initialised"), "{err}");
    rig.block(d.seed(&*t0, &cx0, &*t1, &cx1)).expect("seed redone");
    rig.lab
        .ssh_ok("h2", "test ! -e /var/lib/postgresql/15/main.dbfleet-seed");
    assert!(rig.observe(1).initialised);

    // primary_conninfo names h1; asking to follow h3 is refused.
    let wrong = rig.nodes[2].clone();
    let peer = dbfleet::layout::PeerRef {
        name: wrong.name,
        number: wrong.number,
        host: wrong.host,
    };
    let err = rig
        .block(d.start_replication(&*t1, &cx1, &peer))
        .expect_err("wrong source");
    assert!(
        err.to_string()
            .contains("has primary_conninfo host=\"10.231.0.11\""),
        "{err}"
    );
    let primary_ref = rig.nodes[1].primary.clone().unwrap();
    rig.block(d.start_replication(&*t1, &cx1, &primary_ref))
        .expect("replication");

    // The primary refuses to become a standby without a rewind.
    let mut as_standby = rig.nodes[0].clone();
    as_standby.role = Role::Replica;
    as_standby.primary = Some(dbfleet::layout::PeerRef {
        name: rig.nodes[1].name.clone(),
        number: rig.nodes[1].number,
        host: rig.nodes[1].host.clone(),
    });
    let files = rig
        .renderer
        .render_node(&rig.cluster, &as_standby, &Addresses::default())
        .expect("render");
    rig.block(t0.write_file(
        &files[0].path,
        files[0].content.as_bytes(),
        0o644,
        "postgres",
        "postgres",
    ))
    .expect("write");
    let cx = NodeCx {
        node: &as_standby,
        ..rig.cx(0)
    };
    let err = rig
        .block(d.start_replication(&*t0, &cx, as_standby.primary.as_ref().unwrap()))
        .expect_err("primary");
    assert!(err.to_string().contains("runs as a primary"), "{err}");

    for i in [1, 0] {
        rig.block(d.stop(&*rig.transport(i), &rig.cx(i))).expect("stop");
    }
}
