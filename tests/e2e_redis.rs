//! `dbfleet apply` on Redis 7.0 and Valkey 9.1 primary-replica clusters in
//! the lab, through the built binary and a repository in a temporary
//! directory: build from empty data directories, a second apply that does
//! nothing, a live change, a rolling restart (replicas first, primary
//! last), and a rejected value that leaves every node on its previous
//! configuration. Skipped unless DBFLEET_LAB=1; only Redis/Valkey state on
//! the hosts is reset.
//!
//! Run: `DBFLEET_LAB=1 cargo test --test e2e_redis -- --test-threads=1 --nocapture`

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::engines::{
    self, assert_port_free, read_pid, redis_cli_command, redis_reset_script, wait_for, VALKEY_OR_REDIS_CLI,
};
use common::fleet::{admin_password as password, lab_cluster_toml, lab_repo, run_dbfleet, text};
use common::lab::Lab;

const HOSTS: [&str; 3] = ["h1", "h2", "h3"];

/// One engine of the family as the test sees it on a host.
struct Engine {
    name: &'static str,
    version: &'static str,
    port: u16,
    /// `redis` or `valkey`: /etc/<dir>, /var/lib/<dir>, /run/<dir>, ...
    dir: &'static str,
}

const REDIS: Engine = Engine {
    name: "redis",
    version: "7.0",
    port: 6379,
    dir: "redis",
};
const VALKEY: Engine = Engine {
    name: "valkey",
    version: "9.1",
    port: 6380,
    dir: "valkey",
};

impl Engine {
    fn cluster(&self) -> String {
        format!("e2e-{}", self.name)
    }
    fn conf(&self) -> String {
        format!("/etc/{0}/{0}.conf", self.dir)
    }
    fn secrets(&self) -> String {
        format!("/etc/{}/dbfleet-secrets.conf", self.dir)
    }
    fn pid_file(&self) -> String {
        format!("/run/{0}/{0}-server.pid", self.dir)
    }
    fn socket(&self) -> String {
        format!("/run/{0}/{0}-server.sock", self.dir)
    }

    /// Stops this engine (by its pid file) and removes its data, dbfleet's
    /// files and its log; other engines are left alone.
    fn reset(&self, lab: &Lab, host: &str) {
        lab.ssh_ok(host, &redis_reset_script(self.dir, ""));
        assert_port_free(lab, host, self.port);
    }

    fn cluster_toml(&self, lab: &Lab, settings: &[(&str, &str)]) -> String {
        let extra = format!("port = {}\nallowed_ips = [\"10.231.0.0/24\"]\n", self.port);
        let cluster = self.cluster();
        let head = (cluster.as_str(), self.name, self.version);
        lab_cluster_toml(lab, head, &extra, settings, &HOSTS)
    }
}

/// The family's client on a host, as root over the node's socket.
struct Client<'a> {
    lab: &'a Lab,
    engine: &'a Engine,
    password: String,
}

impl Client<'_> {
    fn command(&self, args: &str) -> String {
        redis_cli_command(
            VALKEY_OR_REDIS_CLI,
            &format!("-s {}", self.engine.socket()),
            &self.password,
            args,
        )
    }

    fn run(&self, host: &str, args: &str) -> String {
        self.lab.ssh_ok(host, &self.command(args))
    }

    fn wait_for(&self, host: &str, args: &str, want: &str) {
        wait_for(host, args, want, Duration::from_secs(30), || {
            self.lab.ssh(host, &self.command(args))
        });
    }

    fn wait_replicating(&self, host: &str) {
        self.wait_for(
            host,
            "INFO replication | tr -d '\\r' | grep -E '^(role|master_link_status):'",
            "role:slave\nmaster_link_status:up",
        );
    }
}

fn pid(lab: &Lab, e: &Engine, host: &str) -> String {
    read_pid(lab, host, &e.pid_file())
}

/// When the server process started, in clock ticks since boot (the lab's
/// hosts share one kernel, so these compare across hosts).
fn start_ticks(lab: &Lab, e: &Engine, host: &str) -> u64 {
    engines::start_ticks(lab, host, &e.pid_file())
}

/// `name inode mtime` of the config and secrets files on every host.
fn file_stamps(lab: &Lab, e: &Engine) -> BTreeMap<String, String> {
    engines::file_stamps(lab, &HOSTS, &[&e.conf(), &e.secrets()])
}

fn apply_builds_rolls_and_rolls_back(e: &Engine) {
    let Some(lab) = Lab::get() else { return };
    for h in HOSTS {
        e.reset(&lab, h);
    }
    let file = format!("clusters/{}.toml", e.cluster());
    let base = [("maxmemory", "64mb"), ("databases", "16")];
    let repo = lab_repo(&lab, &e.cluster(), &e.cluster_toml(&lab, &base));
    let state = tempfile::tempdir().expect("state");
    let apply = || {
        let started = Instant::now();
        let out = run_dbfleet(state.path(), &["apply", "--yes"], repo.path());
        println!("{}: apply took {:?}\n{}", e.name, started.elapsed(), text(&out));
        out
    };

    // 1. From empty data directories: a primary and two replicas.
    let out = apply();
    assert!(out.status.success(), "first apply failed:\n{}", text(&out));
    let cli = Client {
        lab: &lab,
        engine: e,
        password: password(state.path(), &e.cluster()),
    };
    assert_eq!(
        cli.run(
            "h1",
            "INFO replication | tr -d '\\r' | grep -E '^(role|connected_slaves):'"
        ),
        "role:master\nconnected_slaves:2"
    );
    for h in ["h2", "h3"] {
        cli.wait_replicating(h);
    }
    assert_eq!(cli.run("h1", "SET e2e:first 'written on the primary'"), "OK");
    for h in ["h2", "h3"] {
        cli.wait_for(h, "GET e2e:first", "written on the primary");
    }

    // 2. Nothing left to do: plan says so, a second apply touches nothing.
    let out = run_dbfleet(state.path(), &["plan", "--detailed-exitcode"], repo.path());
    assert_eq!(out.status.code(), Some(0), "plan after apply:\n{}", text(&out));
    let stamps = file_stamps(&lab, e);
    let pids: Vec<String> = HOSTS.iter().map(|h| pid(&lab, e, h)).collect();
    let out = apply();
    assert!(out.status.success(), "second apply:\n{}", text(&out));
    assert_eq!(file_stamps(&lab, e), stamps, "the second apply rewrote a file");
    let now: Vec<String> = HOSTS.iter().map(|h| pid(&lab, e, h)).collect();
    assert_eq!(now, pids, "the second apply restarted an engine");

    // 3. A live change: CONFIG SET everywhere, no process restarts.
    let live = [("maxmemory", "128mb"), base[1]];
    repo.commit_files("maxmemory 128mb", &[(&file, &e.cluster_toml(&lab, &live))]);
    let out = apply();
    assert!(out.status.success(), "live change:\n{}", text(&out));
    for (i, h) in HOSTS.iter().enumerate() {
        assert_eq!(cli.run(h, "CONFIG GET maxmemory"), "maxmemory\n134217728", "{h}");
        assert_eq!(pid(&lab, e, h), pids[i], "{h} restarted for a live change");
    }

    // 4. A restart-needing change: replicas first, one at a time, primary last.
    let restart = [live[0], ("databases", "32")];
    repo.commit_files("databases 32", &[(&file, &e.cluster_toml(&lab, &restart))]);
    let out = apply();
    assert!(out.status.success(), "restart change:\n{}", text(&out));
    let mut ticks = Vec::new();
    for (i, h) in HOSTS.iter().enumerate() {
        assert_eq!(cli.run(h, "CONFIG GET databases"), "databases\n32", "{h}");
        assert_ne!(pid(&lab, e, h), pids[i], "{h} was not restarted");
        ticks.push(start_ticks(&lab, e, h));
    }
    assert!(
        ticks[1] < ticks[2] && ticks[2] < ticks[0],
        "restart order h2, h3, h1 expected: {ticks:?}"
    );
    for h in ["h2", "h3"] {
        cli.wait_replicating(h);
        assert_eq!(cli.run(h, "GET e2e:first"), "written on the primary", "{h}");
    }

    // 5. A value the engine rejects: apply fails with the engine's words,
    //    every node serves on its previous configuration, data intact.
    let pids: Vec<String> = HOSTS.iter().map(|h| pid(&lab, e, h)).collect();
    let confs: Vec<String> = HOSTS
        .iter()
        .map(|h| lab.ssh_ok(h, &format!("cat {}", e.conf())))
        .collect();
    // (A parameter validate has no table for: only the engine can say no.)
    let bad = [restart[0], restart[1], ("repl-diskless-load", "bogus")];
    repo.commit_files(
        "repl-diskless-load bogus",
        &[(&file, &e.cluster_toml(&lab, &bad))],
    );
    let out = apply();
    assert!(
        !out.status.success(),
        "a rejected value must fail apply:\n{}",
        text(&out)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "ERR CONFIG SET failed (possibly related to argument 'repl-diskless-load') - \
             argument(s) must be one of the following:"
        ),
        "the engine's message is missing:\n{stderr}"
    );
    for (i, h) in HOSTS.iter().enumerate() {
        assert_eq!(
            cli.run(h, "CONFIG GET repl-diskless-load"),
            "repl-diskless-load\ndisabled",
            "{h}"
        );
        assert_eq!(pid(&lab, e, h), pids[i], "{h} restarted");
        assert_eq!(
            lab.ssh_ok(h, &format!("cat {}", e.conf())),
            confs[i],
            "{h} is not on its previous config"
        );
    }
    assert_eq!(cli.run("h1", "SET e2e:second 'after the rejected change'"), "OK");
    for h in ["h2", "h3"] {
        cli.wait_for(h, "GET e2e:second", "after the rejected change");
        assert_eq!(cli.run(h, "GET e2e:first"), "written on the primary", "{h}");
    }
}

#[test]
fn redis_apply_builds_rolls_and_rolls_back() {
    apply_builds_rolls_and_rolls_back(&REDIS);
}

#[test]
fn valkey_apply_builds_rolls_and_rolls_back() {
    apply_builds_rolls_and_rolls_back(&VALKEY);
}
