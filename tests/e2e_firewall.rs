//! `allowed_ips` enforced by nftables on real hosts, through the built
//! `dbfleet apply` on a Redis primary-replica cluster on h1..h3:
//!
//! 1. `allowed_ips = [h4]`: h4 reaches every node's engine port; this
//!    machine (10.231.0.1, the lab bridge) is refused at once (TCP reset,
//!    not a timeout); SSH from here keeps working; replication keeps
//!    working through the firewall;
//! 2. a chain dropped from one host (as a reboot drops unsaved rules) is
//!    planned and loaded again, with the engine untouched;
//! 3. `allowed_ips = [10.231.0.1]`: now h4 is refused and this machine let
//!    in, without restarting or reconfiguring the engine;
//! 4. `allowed_ips = []`: the port is open to all, same engine processes.
//!
//! Skipped unless DBFLEET_LAB=1. Resets only what it creates: its Redis
//! (stopped, data emptied), its chain `cluster-e2e-fw` and its file
//! `/etc/nftables.d/dbfleet-e2e-fw.nft`.
//!
//! Run: `DBFLEET_LAB=1 cargo test --test e2e_firewall -- --test-threads=1 --nocapture`

mod common;

use std::io::ErrorKind;
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use common::engines::{drop_firewall_script, redis_cli_command, redis_reset_script};
use common::fleet::{admin_password, lab_repo, nodes_toml, run_dbfleet, stdout, text};
use common::lab::{wait_until, Lab};

const HOSTS: [&str; 3] = ["h1", "h2", "h3"];
const CLUSTER: &str = "e2e-fw";
const CHAIN: &str = "cluster-e2e-fw";
const CONF: &str = "/etc/redis/redis.conf";
const PID_FILE: &str = "/run/redis/redis-server.pid";
const SOCKET: &str = "/run/redis/redis-server.sock";
const PORT: u16 = 6379;
/// This machine's address on the lab bridge.
const BRIDGE_IP: &str = "10.231.0.1";

/// Stops this test's Redis, empties its data and removes its firewall
/// chain and file; other engines and other clusters' chains stay.
fn reset(lab: &Lab, host: &str) {
    let script = format!(
        "{}\n{}",
        redis_reset_script("redis", ""),
        drop_firewall_script(CLUSTER)
    );
    lab.ssh_ok(host, &script);
}

/// Resets the hosts when the test ends, passed or not.
struct Cleanup<'a>(&'a Lab);

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        for h in HOSTS {
            reset(self.0, h);
        }
    }
}

fn cluster_toml(lab: &Lab, allowed: &[&str]) -> String {
    let allowed: Vec<String> = allowed.iter().map(|a| format!("\"{a}\"")).collect();
    let nodes = nodes_toml(lab, &HOSTS);
    format!(
        "name = \"{CLUSTER}\"\nengine = \"redis\"\nversion = \"7.0\"\ntopology = \"primary-replica\"\n\
         allowed_ips = [{}]\n\n[settings]\nrepl-diskless-sync-delay = 0\n\n{nodes}",
        allowed.join(", ")
    )
}

fn password(state: &Path) -> String {
    admin_password(state, CLUSTER)
}

/// `redis-cli` run on `from`, with the cluster's password: over the socket
/// when `to` is `None`, else over TCP to that address.
fn redis_cli(lab: &Lab, pw: &str, from: &str, to: Option<&str>, args: &str) -> Output {
    let target = match to {
        Some(ip) => format!("-h {ip} -p {PORT}"),
        None => format!("-s {SOCKET}"),
    };
    lab.ssh(from, &redis_cli_command("redis-cli", &target, pw, args))
}

/// Whether this machine connects to `ip`:6379, and how long it took to know.
fn local_connect(ip: &str) -> (Result<(), ErrorKind>, Duration) {
    let addr: SocketAddr = format!("{ip}:{PORT}").parse().expect("address");
    let started = Instant::now();
    let r = TcpStream::connect_timeout(&addr, Duration::from_secs(3))
        .map(drop)
        .map_err(|e| e.kind());
    (r, started.elapsed())
}

fn assert_refused_here(lab: &Lab, host: &str) {
    let (r, took) = local_connect(&lab.ip(host).to_string());
    assert_eq!(r, Err(ErrorKind::ConnectionRefused), "{host} from {BRIDGE_IP}");
    assert!(
        took < Duration::from_secs(1),
        "{host}: refused only after {took:?}"
    );
}

fn pids(lab: &Lab) -> Vec<String> {
    HOSTS
        .iter()
        .map(|h| lab.ssh_ok(h, &format!("cat {PID_FILE}")))
        .collect()
}

fn conf_stamps(lab: &Lab) -> Vec<String> {
    HOSTS
        .iter()
        .map(|h| lab.ssh_ok(h, &format!("stat -c '%i %Y' {CONF}")))
        .collect()
}

fn chain(lab: &Lab, host: &str) -> String {
    lab.ssh_ok(host, &format!("nft list chain inet dbfleet {CHAIN}"))
}

#[test]
fn allowed_ips_are_enforced_by_nftables() {
    let Some(lab) = Lab::get() else { return };
    for h in HOSTS {
        reset(&lab, h);
    }
    let _cleanup = Cleanup(&lab);
    let h4 = lab.ip("h4").to_string();
    let file = format!("clusters/{CLUSTER}.toml");
    let repo = lab_repo(&lab, CLUSTER, &cluster_toml(&lab, &[&h4]));
    let state = tempfile::tempdir().expect("state");
    let apply = || {
        let started = Instant::now();
        let out = run_dbfleet(state.path(), &["apply", "--yes"], repo.path());
        println!("apply took {:?}\n{}", started.elapsed(), text(&out));
        assert!(out.status.success(), "apply failed:\n{}", text(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let plan = || run_dbfleet(state.path(), &["plan", "--detailed-exitcode"], repo.path());

    // 1. allowed_ips = [h4]
    let shown = apply();
    assert_eq!(
        shown.matches("load the firewall rules (nft -f)").count(),
        3,
        "{shown}"
    );
    let pw = password(state.path());
    for h in HOSTS {
        let rules = chain(&lab, h);
        assert!(
            rules.contains(&format!("ip saddr {h4} tcp dport {PORT} accept")),
            "{h}:\n{rules}"
        );
        assert!(
            rules.contains(&format!("tcp dport {PORT} reject with tcp reset")),
            "{h}:\n{rules}"
        );
        let ip = lab.ip(h).to_string();
        let out = redis_cli(&lab, &pw, "h4", Some(&ip), "PING");
        assert_eq!(stdout(&out), "PONG", "h4 -> {h}: {}", text(&out));
        assert_refused_here(&lab, h);
        // SSH from this machine, which is not in allowed_ips.
        assert_eq!(lab.ssh_ok(h, "hostname"), h);
    }
    let primary = |args: &str| stdout(&redis_cli(&lab, &pw, "h1", None, args));
    assert_eq!(primary("SET e2e:fw 'through the firewall'"), "OK");
    for h in ["h2", "h3"] {
        wait_until(&format!("the key on {h}"), Duration::from_secs(30), || {
            stdout(&redis_cli(&lab, &pw, h, None, "GET e2e:fw")) == "through the firewall"
        });
    }
    assert_eq!(
        plan().status.code(),
        Some(0),
        "plan after apply:\n{}",
        text(&plan())
    );

    // 2. A chain dropped from h2 (a reboot drops unsaved rules): planned
    //    and loaded again, the engine untouched.
    let (before_pids, before_confs) = (pids(&lab), conf_stamps(&lab));
    lab.ssh_ok("h2", &format!("nft delete chain inet dbfleet {CHAIN}"));
    let (r, _) = local_connect(&lab.ip("h2").to_string());
    assert_eq!(r, Ok(()), "h2 without its chain is open");
    let out = plan();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let planned = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(planned.matches("load the firewall rules").count(), 1, "{planned}");
    assert!(planned.contains("e2e-fw2 (10.231.0.12"), "{planned}");
    assert!(!planned.contains("apply settings"), "{planned}");
    apply();
    assert_refused_here(&lab, "h2");
    assert_eq!(
        pids(&lab),
        before_pids,
        "reloading the firewall restarted an engine"
    );
    assert_eq!(
        conf_stamps(&lab),
        before_confs,
        "reloading the firewall rewrote redis.conf"
    );

    // 3. allowed_ips = [this machine]: h4 is refused, this machine let in.
    repo.commit_files("allow the bridge", &[(&file, &cluster_toml(&lab, &[BRIDGE_IP]))]);
    let shown = apply();
    assert_eq!(
        shown.matches("load the firewall rules (nft -f)").count(),
        3,
        "{shown}"
    );
    assert!(!shown.contains("apply settings"), "{shown}");
    for h in HOSTS {
        let ip = lab.ip(h).to_string();
        let started = Instant::now();
        let out = lab.ssh("h4", &format!("nc -z -w 2 {ip} {PORT}"));
        assert!(!out.status.success(), "h4 -> {h} still connects");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "h4 -> {h}: a timeout, not a reset"
        );
        let out = redis_cli(&lab, &pw, "h4", Some(&ip), "PING");
        let said = String::from_utf8_lossy(&out.stderr).into_owned() + &stdout(&out);
        assert!(said.contains("Connection refused"), "h4 -> {h}: {said}");
        assert_eq!(local_connect(&ip).0, Ok(()), "{BRIDGE_IP} -> {h}");
    }
    assert_eq!(primary("SET e2e:fw2 'still replicating'"), "OK");
    for h in ["h2", "h3"] {
        wait_until(&format!("the second key on {h}"), Duration::from_secs(30), || {
            stdout(&redis_cli(&lab, &pw, h, None, "GET e2e:fw2")) == "still replicating"
        });
    }
    assert_eq!(pids(&lab), before_pids, "a firewall change restarted an engine");
    assert_eq!(
        conf_stamps(&lab),
        before_confs,
        "a firewall change rewrote redis.conf"
    );

    // 4. allowed_ips = []: open to all, same processes.
    repo.commit_files("open to all", &[(&file, &cluster_toml(&lab, &[]))]);
    apply();
    for h in HOSTS {
        let rules = chain(&lab, h);
        assert!(!rules.contains("reject"), "{h}:\n{rules}");
        let ip = lab.ip(h).to_string();
        assert_eq!(local_connect(&ip).0, Ok(()), "{BRIDGE_IP} -> {h}");
        let out = redis_cli(&lab, &pw, "h4", Some(&ip), "PING");
        assert_eq!(stdout(&out), "PONG", "h4 -> {h}: {}", text(&out));
    }
    assert_eq!(pids(&lab), before_pids, "opening the port restarted an engine");
    assert_eq!(
        conf_stamps(&lab),
        before_confs,
        "opening the port rewrote redis.conf"
    );
    assert_eq!(plan().status.code(), Some(0), "plan after the last apply");
}
