//! A node added to a cluster with `allowed_ips` enforces the same list from
//! its first start, and replication to it passes the firewall. Real hosts,
//! real nftables, real Valkey.

mod common;

use assert_cmd::Command;
use common::git::TempRepo;
use common::lab::{wait_until, Lab};
use std::io::ErrorKind;
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::Duration;

const CLUSTER: &str = "fwgrow";
const PORT: u16 = 6394;

fn cluster_toml(lab: &Lab, hosts: &[&str]) -> String {
    let nodes: String = hosts
        .iter()
        .map(|h| format!("[[nodes]]\nhost = \"{}\"\n", lab.ip(h)))
        .collect();
    format!(
        "name = \"{CLUSTER}\"\nengine = \"valkey\"\nversion = \"9.1\"\ntopology = \"primary-replica\"\nport = {PORT}\nallowed_ips = [\"{}\"]\n{nodes}",
        lab.ip("h4")
    )
}

fn reset(lab: &Lab, host: &str) {
    lab.ssh(
        host,
        &format!(
            "pkill -f 'valkey-server.*:{PORT}'; for i in $(seq 50); do pgrep -f 'valkey-server.*:{PORT}' >/dev/null || break; sleep 0.1; done; \
             rm -rf /var/lib/valkey/* /var/lib/valkey/.dbfleet* /etc/valkey/*; \
             nft delete chain inet dbfleet cluster-{CLUSTER} 2>/dev/null; rm -f /etc/nftables.d/dbfleet-{CLUSTER}.nft; true"
        ),
    );
}

fn apply(state: &Path, repo: &Path) {
    let out = Command::cargo_bin("dbfleet")
        .expect("binary")
        .args(["apply", "--yes", "--state-dir"])
        .arg(state)
        .arg(repo)
        .env("NO_COLOR", "1")
        .output()
        .expect("apply");
    assert!(
        out.status.success(),
        "apply failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn cli(lab: &Lab, state: &Path, from: &str, to: &str, args: &str) -> String {
    let v: serde_json::Value = serde_json::from_slice(
        &std::fs::read(state.join(format!("secrets/{CLUSTER}.json"))).expect("secrets"),
    )
    .expect("json");
    let pw = v["admin"].as_str().expect("password");
    let out = lab.ssh(
        from,
        &format!(
            "REDISCLI_AUTH='{pw}' redis-cli --no-auth-warning -h {} -p {PORT} {args}",
            lab.ip(to)
        ),
    );
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
    let fleet = format!("{}[hosts]\nservice_manager = \"direct\"\n", lab.fleet_ssh_toml());
    let file = format!("clusters/{CLUSTER}.toml");
    let repo = TempRepo::with_files(&[
        ("fleet.toml", &fleet),
        (&file, &cluster_toml(&lab, &["h1", "h2"])),
    ]);
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
