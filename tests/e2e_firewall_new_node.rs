//! A node added to a cluster with `allowed_ips` enforces the same list from
//! its first start, and replication to it passes the firewall. Real hosts,
//! real nftables, real Valkey.

mod common;

use common::engines::{drop_firewall_script, redis_cli_command};
use common::fleet::{admin_password, lab_repo, nodes_toml, run_dbfleet, text};
use common::lab::{wait_until, Lab};
use std::io::ErrorKind;
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::Duration;

const CLUSTER: &str = "fwgrow";
const PORT: u16 = 6394;

fn cluster_toml(lab: &Lab, hosts: &[&str]) -> String {
    format!(
        "name = \"{CLUSTER}\"\nengine = \"valkey\"\nversion = \"9.1\"\ntopology = \"primary-replica\"\nport = {PORT}\nallowed_ips = [\"{}\"]\n{}",
        lab.ip("h4"),
        nodes_toml(lab, hosts)
    )
}

fn reset(lab: &Lab, host: &str) {
    lab.ssh(
        host,
        &format!(
            "pkill -f 'valkey-server.*:{PORT}'; for i in $(seq 50); do pgrep -f 'valkey-server.*:{PORT}' >/dev/null || break; sleep 0.1; done; \
             rm -rf /var/lib/valkey/* /var/lib/valkey/.dbfleet* /etc/valkey/*; {}",
            drop_firewall_script(CLUSTER)
        ),
    );
}

fn apply(state: &Path, repo: &Path) {
    let out = run_dbfleet(state, &["apply", "--yes"], repo);
    assert!(out.status.success(), "apply failed:\n{}", text(&out));
}

/// redis-cli on `from` to the node on `to`, with the cluster's password:
/// stdout and stderr together.
fn cli(lab: &Lab, state: &Path, from: &str, to: &str, args: &str) -> String {
    let target = format!("--no-auth-warning -h {} -p {PORT}", lab.ip(to));
    let password = admin_password(state, CLUSTER);
    let out = lab.ssh(from, &redis_cli_command("redis-cli", &target, &password, args));
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout).trim_end(),
        String::from_utf8_lossy(&out.stderr).trim_end()
    )
}

#[test]
fn a_new_node_enforces_the_same_allowed_ips() {
    let Some(lab) = Lab::get() else { return };
    for h in ["h1", "h2", "h3"] {
        reset(&lab, h);
    }
    let file = format!("clusters/{CLUSTER}.toml");
    let repo = lab_repo(&lab, CLUSTER, &cluster_toml(&lab, &["h1", "h2"]));
    let state = tempfile::tempdir().expect("state");
    apply(state.path(), repo.path());
    assert_eq!(cli(&lab, state.path(), "h4", "h1", "SET grow:before yes"), "OK");

    // h3 joins: seeded through the primary's firewall, and guarded by its own.
    repo.write(&file, &cluster_toml(&lab, &["h1", "h2", "h3"]));
    apply(state.path(), repo.path());
    assert!(
        lab.ssh_ok("h3", &format!("nft list chain inet dbfleet cluster-{CLUSTER}"))
            .contains(&format!("ip saddr {} tcp dport {PORT} accept", lab.ip("h4"))),
        "h3 has no rule for the allowed address"
    );
    // The allowed host reaches the new node; this machine (not in the list) is refused.
    assert_eq!(cli(&lab, state.path(), "h4", "h3", "GET grow:before"), "yes");
    let addr: SocketAddr = format!("{}:{PORT}", lab.ip("h3")).parse().expect("addr");
    let refused = TcpStream::connect_timeout(&addr, Duration::from_secs(3))
        .map(drop)
        .map_err(|e| e.kind());
    assert_eq!(
        refused,
        Err(ErrorKind::ConnectionRefused),
        "h3 lets a host outside allowed_ips in"
    );
    // Replication to the new node keeps flowing through both firewalls; SSH too.
    assert_eq!(cli(&lab, state.path(), "h4", "h1", "SET grow:after yes"), "OK");
    wait_until("key on h3", Duration::from_secs(20), || {
        cli(&lab, state.path(), "h4", "h3", "GET grow:after") == "yes"
    });
    assert_eq!(lab.ssh_ok("h3", "hostname"), "h3");
    for h in ["h1", "h2", "h3"] {
        reset(&lab, h);
    }
}
