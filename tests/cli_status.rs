//! `dbfleet status` without the lab: hosts on TEST-NET (192.0.2.0/24), which
//! never answer, with a short connect timeout.

mod common;

use assert_cmd::Command;
use common::git::TempRepo;

const CACHE: &str = r#"name = "cache"
engine = "valkey"
version = "9.0"
topology = "primary-replica"

[[nodes]]
host = "192.0.2.1"
[[nodes]]
host = "192.0.2.2"
"#;

/// A repository whose every node is unreachable; its key files and state
/// directory live outside it.
fn unreachable() -> (TempRepo, tempfile::TempDir) {
    common::testnet::unreachable_repo(&[("cache.toml", CACHE)])
}

fn status(repo: &TempRepo, outside: &tempfile::TempDir, args: &[&str]) -> (i32, String, String) {
    let out = Command::cargo_bin("dbfleet")
        .expect("binary built")
        .env("NO_COLOR", "1")
        .env_remove("DBFLEET_LOG")
        .env_remove("RUST_LOG")
        .arg("status")
        .args(args)
        .arg("--repo")
        .arg(repo.path())
        .arg("--state-dir")
        .arg(outside.path().join("state"))
        .output()
        .expect("run");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Defect 12: status exited 0 with every node down.
#[test]
fn every_node_unreachable_exits_2() {
    let (repo, outside) = unreachable();
    let (code, stdout, stderr) = status(&repo, &outside, &[]);
    assert_eq!(code, 2, "{stdout}\n{stderr}");
    assert!(
        stdout.starts_with("cache (valkey 9.0, primary-replica): never applied\n"),
        "{stdout}"
    );
    for node in ["cache1", "cache2"] {
        let row = stdout
            .lines()
            .find(|l| l.trim_start().starts_with(node))
            .unwrap_or_default();
        assert!(row.contains("DOWN"), "{node} not shown down:\n{stdout}");
    }
    assert!(stdout.contains("192.0.2.1"), "{stdout}");
}

/// Defect 12: `"engine":"valkey 9.0"` where the JSON plan says
/// `"engine":"valkey","version":"9.0"`.
#[test]
fn json_has_the_plan_shape_and_each_node_health() {
    let (repo, outside) = unreachable();
    let (code, stdout, stderr) = status(&repo, &outside, &["cache", "--format", "json"]);
    assert_eq!(code, 2, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    let c = &v[0];
    assert_eq!(c["name"], "cache");
    assert_eq!(c["engine"], "valkey");
    assert_eq!(c["version"], "9.0");
    assert_eq!(c["topology"], "primary-replica");
    let nodes = c["nodes"].as_array().expect("nodes");
    assert_eq!(nodes.len(), 2);
    for n in nodes {
        assert_eq!(n["health"], "down", "{n}");
        assert!(n["unreachable"].as_str().is_some_and(|s| !s.is_empty()), "{n}");
    }
}

#[test]
fn unknown_cluster_is_an_error_that_lists_the_clusters() {
    let (repo, outside) = unreachable();
    let (code, stdout, stderr) = status(&repo, &outside, &["cahce"]);
    assert_eq!(code, 1, "{stdout}");
    insta::assert_snapshot!(
        stderr,
        @"error: no cluster named `cahce`; did you mean `cache`? clusters: cache"
    );
}
