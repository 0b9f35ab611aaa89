//! The Redis-family driver against real servers in the lab: Redis 7.0 and
//! Valkey 9.1, each as a primary with two replicas on h1..h3, driven through
//! `Driver` over SSH with configs from the renderer. Skipped unless
//! DBFLEET_LAB=1; only Redis/Valkey state on the hosts is reset.
//!
//! Run: `DBFLEET_LAB=1 cargo test --test e2e_redis_driver -- --test-threads=1`

mod common;

use std::time::{Duration, Instant};

use common::driver::Rig;
use common::engines::{assert_port_free, redis_cli_command, VALKEY_OR_REDIS_CLI};
use common::lab::{wait_until, Lab};
use dbfleet::engine::{ConfigChange, DriverError, LiveOutcome, NodeCx, ObservedRole, Secrets, ServiceMode};
use dbfleet::layout::Role;
use dbfleet::model::Engine;
use dbfleet::render::engine_paths;

const PASSWORD: &str = "lab 'pw\" $x";
const HOSTS: [&str; 3] = ["h1", "h2", "h3"];

impl Rig {
    fn new(lab: Lab, engine: &str, version: &str, port: u16) -> Rig {
        let ips: Vec<String> = HOSTS.iter().map(|h| lab.ip(h).to_string()).collect();
        let toml = format!(
            "name = \"e2e-{engine}\"\nengine = \"{engine}\"\nversion = \"{version}\"\n\
             topology = \"primary-replica\"\nport = {port}\n\
             [[nodes]]\nhost = \"{}\"\n[[nodes]]\nhost = \"{}\"\n[[nodes]]\nhost = \"{}\"\n",
            ips[0], ips[1], ips[2]
        );
        let secrets = Secrets {
            admin_password: PASSWORD.into(),
            replication_password: "unused".into(),
        };
        let rig = Rig::from_toml(lab, &toml, secrets);
        for h in HOSTS {
            rig.reset(h);
        }
        rig
    }

    /// Stops this engine on `host` (by its pid file) and empties its data,
    /// secrets and log; other engines on the host are left alone.
    fn reset(&self, host: &str) {
        let p = &self.paths;
        let script = format!(
            "pid=$(cat {pid} 2>/dev/null) && kill \"$pid\" 2>/dev/null; \
             i=0; while [ -n \"$pid\" ] && kill -0 \"$pid\" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done; \
             find {data} -mindepth 1 -delete; rm -f {secrets} {secrets}.dbfleet-prev {conf}.dbfleet-prev; \
             rm -f {log}; true",
            pid = p.pid_file,
            data = p.data_dir,
            secrets = p.secrets_file.as_deref().unwrap_or("/nonexistent"),
            conf = p.config_files[0].path,
            log = p.log_file,
        );
        self.lab.ssh_ok(host, &script);
        assert_port_free(&self.lab, host, self.cluster.port());
    }

    /// Runs the engine's client on the node's host (test assertions only).
    fn cli(&self, i: usize, args: &str) -> String {
        let host = HOSTS[i];
        let client = if self.cluster.engine == Engine::Valkey {
            VALKEY_OR_REDIS_CLI
        } else {
            "redis-cli"
        };
        let target = format!("-s {}", self.paths.socket);
        self.lab
            .ssh_ok(host, &redis_cli_command(client, &target, PASSWORD, args))
    }
}

/// Primary + two replicas, keys before and after the replicas joined,
/// observation, restart of a replica, live changes, stop.
fn primary_and_two_replicas(engine: &str, version: &str, port: u16) {
    let Some(lab) = Lab::get() else { return };
    let mut rig = Rig::new(lab, engine, version, port);
    let d = rig.driver();
    assert_eq!(rig.nodes[0].role, Role::Primary);

    // Nothing there yet.
    let fresh = rig.observe(0);
    assert!(
        fresh.installed && !fresh.initialised && !fresh.running,
        "{fresh:?}"
    );

    let mut configs = rig.write_all_configs();
    let secrets_file = rig.paths.secrets_file.clone().unwrap();
    assert_eq!(
        rig.lab.ssh_ok("h1", &format!("stat -c '%a %U' {secrets_file}")),
        format!("640 {}", rig.paths.user)
    );

    // The primary.
    let (t0, cx0) = (rig.transport(0), rig.cx(0));
    let started = Instant::now();
    rig.block(d.init(&*t0, &cx0)).expect("init");
    rig.block(d.start(&*t0, &cx0)).expect("start primary");
    println!("{engine}: primary init+start in {:?}", started.elapsed());
    let p = rig.observe(0);
    assert!(p.initialised && p.running, "{p:?}");
    assert_eq!(p.role, Some(ObservedRole::Primary));
    assert!(p.version.as_deref().unwrap().starts_with(version), "{p:?}");
    assert_eq!(p.replication, None);
    let primary_pid = p.pid.expect("pid");
    rig.block(d.create_users(&*t0, &cx0)).expect("create users");
    // Idempotent: a second init and start change nothing.
    rig.block(d.init(&*t0, &cx0)).expect("init again");
    rig.block(d.start(&*t0, &cx0)).expect("start again");
    assert_eq!(rig.observe(0).pid, Some(primary_pid));
    assert_eq!(rig.cli(0, "SET before-replicas 1"), "OK");

    // The replicas: seeded by the engine's full sync.
    let primary_ref = rig.nodes[1].primary.clone().expect("replica has a primary");
    for (i, host) in HOSTS.iter().enumerate().skip(1) {
        let (t, cx) = (rig.transport(i), rig.cx(i));
        let started = Instant::now();
        rig.block(d.seed(&*t0, &cx0, &*t, &cx)).expect("seed");
        rig.block(d.start(&*t, &cx)).expect("start replica");
        rig.block(d.start_replication(&*t, &cx, &primary_ref))
            .expect("replication");
        println!(
            "{engine}: replica {host} seed+start+sync in {:?}",
            started.elapsed()
        );
        // Already replicating: nothing to do.
        rig.block(d.start_replication(&*t, &cx, &primary_ref))
            .expect("replication again");
    }
    assert_eq!(rig.cli(0, "SET after-replicas 2"), "OK");
    assert_eq!(rig.cli(0, "WAIT 2 5000"), "2");
    for (i, host) in HOSTS.iter().enumerate().skip(1) {
        assert_eq!(rig.cli(i, "GET before-replicas"), "1", "{host}");
        assert_eq!(rig.cli(i, "GET after-replicas"), "2", "{host}");
        let r = rig.observe(i);
        println!("{engine}: {host} observed {r:?}");
        assert!(r.initialised && r.running, "{r:?}");
        assert_eq!(r.role, Some(ObservedRole::Replica));
        let repl = r.replication.expect("replication");
        assert_eq!(repl.source_host, rig.nodes[0].host);
        assert!(repl.healthy, "{repl:?}");
        assert!(repl.lag_seconds.is_some_and(|s| s < 10.0), "{repl:?}");
        assert!(repl.lag_bytes.is_some_and(|b| b < 1024), "{repl:?}");
    }
    assert_eq!(rig.cli(0, "INFO replication | grep -c '^slave[0-9]'"), "2");

    // A replica stopped and started again catches up.
    let (t2, cx2) = (rig.transport(2), rig.cx(2));
    rig.block(d.stop(&*t2, &cx2)).expect("stop replica");
    let stopped = rig.observe(2);
    assert!(!stopped.running && stopped.pid.is_none(), "{stopped:?}");
    rig.block(d.stop(&*t2, &cx2)).expect("stop again");
    assert_eq!(rig.cli(0, "SET while-down 3"), "OK");
    rig.block(d.start(&*t2, &cx2)).expect("restart replica");
    rig.block(d.start_replication(&*t2, &cx2, &primary_ref))
        .expect("replication after restart");
    assert_eq!(rig.cli(2, "GET while-down"), "3");
    assert_eq!(rig.cli(2, "GET before-replicas"), "1");

    // Live changes, on the primary.
    let pids: Vec<u32> = (0..3).map(|i| rig.observe(i).pid.unwrap()).collect();
    rig.set_setting("maxmemory", "64mb");
    let new = rig.write_config(0);
    let changes = d.changed_settings(&configs[0], &new);
    assert_eq!(
        changes,
        vec![ConfigChange {
            key: "maxmemory".into(),
            value: Some("64mb".into())
        }]
    );
    let outcome = rig
        .block(d.apply_live(&*t0, &rig.cx(0), &changes))
        .expect("apply_live");
    assert_eq!(outcome, LiveOutcome::Applied);
    assert_eq!(rig.cli(0, "CONFIG GET maxmemory"), "maxmemory\n67108864");
    assert_eq!(rig.observe(0).pid, Some(pids[0]), "no restart");
    configs[0] = new;

    // `databases` cannot change at runtime on either engine.
    rig.set_setting("databases", "32");
    let new = rig.write_config(0);
    let changes = d.changed_settings(&configs[0], &new);
    let outcome = rig
        .block(d.apply_live(&*t0, &rig.cx(0), &changes))
        .expect("apply_live");
    assert_eq!(outcome, LiveOutcome::NeedsRestart(vec!["databases".into()]));
    assert_eq!(rig.cli(0, "CONFIG GET databases"), "databases\n16");
    rig.cluster.settings.remove("databases");
    rig.write_config(0);

    // A bad value is rejected with the engine's words, and what was set
    // before it in the same change is undone.
    rig.set_setting("maxmemory", "32mb");
    rig.set_setting("maxmemory-policy", "bogus");
    let new = rig.write_config(0);
    let changes = d.changed_settings(&configs[0], &new);
    assert_eq!(changes.len(), 2, "{changes:?}");
    let err = rig
        .block(d.apply_live(&*t0, &rig.cx(0), &changes))
        .expect_err("bogus policy");
    let text = err.to_string();
    println!("{engine}: {text}");
    match &err {
        DriverError::Rejected { what, message, .. } => {
            assert_eq!(what, "maxmemory-policy bogus");
            assert!(
                message.starts_with(
                    "ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy') - \
                     argument(s) must be one of the following:"
                ),
                "{message}"
            );
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
    assert_eq!(rig.cli(0, "CONFIG GET maxmemory"), "maxmemory\n67108864");
    assert_eq!(
        rig.cli(0, "CONFIG GET maxmemory-policy"),
        "maxmemory-policy\nnoeviction"
    );
    for (i, pid) in pids.iter().enumerate() {
        assert_eq!(rig.observe(i).pid, Some(*pid), "{} kept its process", HOSTS[i]);
    }

    // Stop everything, replicas first.
    for i in [2, 1, 0] {
        let (t, cx) = (rig.transport(i), rig.cx(i));
        rig.block(d.stop(&*t, &cx)).expect("stop");
        let s = rig.observe(i);
        assert!(!s.running && s.initialised, "{s:?}");
    }
    // The primary saved on shutdown: its data is on disk.
    rig.lab
        .ssh_ok("h1", &format!("test -s {}/dump.rdb", rig.paths.data_dir));
}

#[test]
fn redis_7_0_primary_and_two_replicas() {
    primary_and_two_replicas("redis", "7.0", 6379);
}

#[test]
fn valkey_9_1_primary_and_two_replicas() {
    primary_and_two_replicas("valkey", "9.1", 6380);
}

/// Pitfall 11: a Redis 7.0 node must never be pointed at a Valkey primary.
#[test]
fn redis_7_0_is_never_seeded_from_valkey() {
    let Some(lab) = Lab::get() else { return };
    let valkey = Rig::new(lab, "valkey", "9.1", 6380);
    let d = valkey.driver();
    let (t0, cx0) = (valkey.transport(0), valkey.cx(0));
    valkey.block(d.write_secrets(&*t0, &cx0)).expect("secrets");
    valkey.write_config(0);
    valkey.block(d.init(&*t0, &cx0)).expect("init");
    valkey.block(d.start(&*t0, &cx0)).expect("start");

    // A Redis node of the same name on h2 (nothing runs there for it).
    let mut redis_cluster = valkey.cluster.clone();
    redis_cluster.engine = Engine::Redis;
    redis_cluster.version = "7.0".into();
    let redis_paths = engine_paths(Engine::Redis, "7.0");
    let cx = NodeCx {
        cluster: &redis_cluster,
        node: &valkey.nodes[1],
        paths: &redis_paths,
        service: ServiceMode::Direct,
        secrets: &valkey.secrets,
    };
    let t1 = valkey.transport(1);
    valkey
        .lab
        .ssh_ok("h2", &format!("touch {}/keep-me", redis_paths.data_dir));
    let err = valkey.block(d.seed(&*t0, &cx0, &*t1, &cx)).expect_err("refused");
    println!("{err}");
    assert!(
        err.to_string().contains(
            "refusing to seed from 10.231.0.11: a Redis 7.0.15 replica cannot full-sync from a \
             Valkey 9.1.2 primary"
        ),
        "{err}"
    );
    // Refused before anything was touched.
    valkey
        .lab
        .ssh_ok("h2", &format!("test -f {}/keep-me", redis_paths.data_dir));
    valkey
        .lab
        .ssh_ok("h2", &format!("rm -f {}/keep-me", redis_paths.data_dir));
    valkey.block(d.stop(&*t0, &cx0)).expect("stop");
    wait_until("valkey on h1 gone", Duration::from_secs(10), || {
        !valkey.observe(0).running
    });
}

/// A config the server refuses: `start` fails at once with the server's
/// own words, and nothing is left running.
#[test]
fn a_refused_config_is_not_healthy_with_the_servers_words() {
    let Some(lab) = Lab::get() else { return };
    let mut rig = Rig::new(lab, "redis", "7.0", 6379);
    rig.set_setting("maxmemory-policy", "bogus");
    let d = rig.driver();
    let (t, cx) = (rig.transport(0), rig.cx(0));
    rig.block(d.write_secrets(&*t, &cx)).expect("secrets");
    rig.write_config(0);
    rig.block(d.init(&*t, &cx)).expect("init");
    let started = Instant::now();
    let err = rig.block(d.start(&*t, &cx)).expect_err("refused config");
    println!("{err}");
    assert!(started.elapsed() < Duration::from_secs(10), "failed fast");
    match &err {
        DriverError::NotHealthy { log, .. } => {
            assert!(log.contains("*** FATAL CONFIG FILE ERROR"), "{log}");
            assert!(log.contains("maxmemory-policy"), "{log}");
        }
        other => panic!("expected NotHealthy, got {other:?}"),
    }
    assert!(!rig.observe(0).running);
}
