//! Online `plan` and `apply` with hosts that never answer (TEST-NET,
//! 192.0.2.0/24), without the lab: an unreachable node is an error that
//! names the node, its host and the reason, in every format, and `plan`
//! exits 1.

mod common;

use common::cli::{self, output};
use common::git::TempRepo;
use common::testnet::unreachable_repo;

const CACHE: &str = r#"name = "cache"
engine = "valkey"
version = "9.0"
topology = "primary-replica"

[[nodes]]
host = "192.0.2.1"
[[nodes]]
host = "192.0.2.2"
"#;

fn dbfleet(repo: &TempRepo, outside: &tempfile::TempDir, args: &[&str]) -> (i32, String, String) {
    output(
        cli::dbfleet()
            .args(args)
            .arg(repo.path())
            .arg("--state-dir")
            .arg(outside.path().join("state")),
    )
}

/// Each node's reason, as the JSON plan gives it.
fn reasons(repo: &TempRepo, outside: &tempfile::TempDir) -> Vec<(String, String, String)> {
    let (code, json, stderr) = dbfleet(repo, outside, &["plan", "--format", "json"]);
    assert_eq!(code, 1, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(v["summary"]["nodes_unreachable"], 2, "{json}");
    assert_eq!(v["summary"]["nodes_to_update"], 0, "{json}");
    v["clusters"][0]["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|n| {
            let field = |k: &str| n[k].as_str().unwrap_or_default().to_string();
            (field("name"), field("host"), field("unreachable"))
        })
        .collect()
}

/// Defect 3: `~ cache1 … update` with no reason, and exit 0.
#[test]
fn online_plan_names_unreachable_nodes_and_exits_1() {
    let (repo, outside) = unreachable_repo(&[("cache.toml", CACHE)]);
    let reasons = reasons(&repo, &outside);
    assert_eq!(reasons.len(), 2);
    let (code, text, stderr) = dbfleet(&repo, &outside, &["plan"]);
    assert_eq!(code, 1, "{text}\n{stderr}");
    let (code, md, stderr) = dbfleet(&repo, &outside, &["plan", "--format", "markdown"]);
    assert_eq!(code, 1, "{md}\n{stderr}");
    assert!(
        stderr.contains("error: 2 node(s) could not be observed"),
        "{stderr}"
    );
    for (name, host, why) in &reasons {
        assert!(!why.is_empty(), "{name} has no reason");
        assert!(why.contains(host.as_str()), "{why}");
        let line = text
            .lines()
            .find(|l| l.contains(&format!("{name} ({host}")))
            .unwrap_or_else(|| panic!("{name} not in:\n{text}"));
        assert!(line.trim_start().starts_with("error: "), "{line}");
        assert!(line.ends_with(why.as_str()), "{line}");
        let item =
            format!("**error:** `{name}` ({host}) cannot be reached, nothing is planned for it: {why}");
        assert!(md.contains(&item), "{item}\nnot in:\n{md}");
    }
    assert!(!text.contains(": update"), "nothing is updated:\n{text}");
    assert!(
        text.contains("error: 2 node(s) could not be observed, the plan leaves them out: cache1 (192.0.2.1), cache2 (192.0.2.2)"),
        "{text}"
    );
}

#[test]
fn detailed_exitcode_with_unreachable_nodes_exits_1() {
    let (repo, outside) = unreachable_repo(&[("cache.toml", CACHE)]);
    let (code, text, stderr) = dbfleet(&repo, &outside, &["plan", "--detailed-exitcode"]);
    assert_eq!(code, 1, "{text}\n{stderr}");
}

#[test]
fn apply_names_unreachable_nodes_before_no_changes() {
    let (repo, outside) = unreachable_repo(&[("cache.toml", CACHE)]);
    let (code, stdout, stderr) = dbfleet(&repo, &outside, &["apply", "--yes"]);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    let no_changes = stdout
        .find("No changes")
        .unwrap_or_else(|| panic!("no `No changes` line:\n{stdout}"));
    for named in ["cache1 (192.0.2.1", "cache2 (192.0.2.2"] {
        let at = stdout
            .find(named)
            .unwrap_or_else(|| panic!("{named} not in:\n{stdout}"));
        assert!(at < no_changes, "{named} after `No changes`:\n{stdout}");
    }
    assert!(
        stdout.contains("No changes on the nodes observed; 2 node(s) could not be observed."),
        "{stdout}"
    );
}
