//! `dbfleet status`: role, health and lag of every node of a running
//! cluster, and a powered-off node shown as down. Real hosts and Redis.

mod common;

use common::fleet::{lab_repo, nodes_toml, run_dbfleet};
use common::git::TempRepo;
use common::lab::Lab;

fn repo(lab: &Lab) -> TempRepo {
    let nodes = nodes_toml(lab, &["h1", "h2", "h3"]);
    let cluster = format!(
        "name = \"cache\"\nengine = \"redis\"\nversion = \"7.0\"\ntopology = \"primary-replica\"\n{nodes}"
    );
    lab_repo(lab, "cache", &cluster)
}

#[test]
fn status_shows_roles_health_lag_and_a_powered_off_node() {
    let Some(lab) = Lab::get() else { return };
    lab.reset_hosts(&["h1", "h2", "h3"]);
    let repo = repo(&lab);
    let state = tempfile::tempdir().expect("state");
    let out = run_dbfleet(state.path(), &["apply", "--yes"], repo.path());
    assert!(
        out.status.success(),
        "apply failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = run_dbfleet(state.path(), &["status", "--repo"], repo.path());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let row = |node: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(node))
            .unwrap_or_default()
            .to_string()
    };
    assert!(
        row("cache1").contains("primary") && row("cache1").contains("healthy"),
        "{text}"
    );
    for replica in ["cache2", "cache3"] {
        let r = row(replica);
        assert!(r.contains("replica") && r.contains("healthy"), "{text}");
        assert!(
            r.contains('s') || r.contains('B'),
            "no lag shown for {replica}: {r}"
        );
    }

    let out = run_dbfleet(
        state.path(),
        &["status", "cache", "--format", "json", "--repo"],
        repo.path(),
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let nodes = v[0]["nodes"].as_array().expect("nodes");
    assert_eq!(nodes.len(), 3);
    assert_eq!(nodes[1]["engine"]["role"], "replica");
    assert_eq!(nodes[1]["engine"]["replication"]["healthy"], true);
    assert_eq!(nodes[1]["health"], "healthy");
    assert!(out.status.success(), "every node healthy: status exits 0");

    lab.poweroff("h3");
    let out = run_dbfleet(state.path(), &["status", "--repo"], repo.path());
    lab.poweron("h3");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        out.status.code(),
        Some(2),
        "a node is down: status exits 2\n{text}"
    );
    let r = text
        .lines()
        .find(|l| l.trim_start().starts_with("cache3"))
        .unwrap_or_default();
    assert!(r.contains("DOWN"), "powered-off node not shown as down:\n{text}");
    assert!(
        text.contains(&format!("{}: could not connect", lab.ip("h3"))) || text.contains("timed out"),
        "{text}"
    );
    let r1 = text
        .lines()
        .find(|l| l.trim_start().starts_with("cache1"))
        .unwrap_or_default();
    assert!(r1.contains("healthy"), "{text}");
}
