//! `dbfleet plan --base` between two commits of a real git repository and
//! `plan --offline` against an empty state store.

use assert_cmd::Command;
use git2::{Repository, Signature};
use std::path::Path;

const BEFORE: &str = r#"name = "shop"
engine = "mariadb"
version = "10.11"
topology = "primary-replica"

[settings]
max_connections = 200

[[nodes]]
host = "10.0.0.11"
[[nodes]]
host = "10.0.0.12"
[[nodes]]
host = "10.0.0.13"
"#;

/// A setting changed, 10.0.0.12 (shop2) removed, 10.0.0.14 added.
const AFTER: &str = r#"name = "shop"
engine = "mariadb"
version = "10.11"
topology = "primary-replica"

[settings]
max_connections = 500

[[nodes]]
host = "10.0.0.11"
[[nodes]]
host = "10.0.0.13"
[[nodes]]
host = "10.0.0.14"
"#;

const CACHE: &str = r#"name = "cache"
engine = "redis"
version = "7.0"
topology = "single"

[[nodes]]
host = "10.0.1.11"
"#;

fn commit(repo: &Repository, dir: &Path, files: &[(&str, &str)], message: &str) {
    for (path, text) in files {
        let full = dir.join(path);
        std::fs::create_dir_all(full.parent().expect("parent")).expect("mkdir");
        std::fs::write(&full, text).expect("write");
    }
    let mut index = repo.index().expect("index");
    index
        .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
        .expect("add");
    index.write().expect("write index");
    let tree = repo
        .find_tree(index.write_tree().expect("tree"))
        .expect("find tree");
    let sig = Signature::now("Test", "test@example.internal").expect("sig");
    let parent = repo.head().ok().and_then(|h| h.peel_to_commit().ok());
    let parents: Vec<&git2::Commit> = parent.iter().collect();
    repo.commit(Some("HEAD"), &sig, &sig, message, &tree, &parents)
        .expect("commit");
}

fn two_commits() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = Repository::init(dir.path()).expect("init");
    commit(
        &repo,
        dir.path(),
        &[("clusters/shop.toml", BEFORE), ("clusters/cache.toml", CACHE)],
        "one",
    );
    commit(&repo, dir.path(), &[("clusters/shop.toml", AFTER)], "two");
    dir
}

fn plan(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::cargo_bin("dbfleet")
        .expect("binary")
        .current_dir(dir)
        .env_remove("DBFLEET_STATE_DIR")
        .env("NO_COLOR", "1")
        .env("SOURCE_DATE_EPOCH", "1796040000") // 2026-11-30: suggested request names
        .arg("plan")
        .args(args)
        .output()
        .expect("run");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Commit ids change with every run; hide them for snapshots.
fn redact(s: &str) -> String {
    let mut out = String::new();
    for word in s.split_inclusive([' ', '(', ')', '`']) {
        let core = word.trim_end_matches([' ', '(', ')', '`']);
        if core.len() == 12 && core.chars().all(|c| c.is_ascii_hexdigit()) {
            out.push_str(&word.replacen(core, "<commit>", 1));
        } else {
            out.push_str(word);
        }
    }
    out
}

#[test]
fn base_plan_shows_diffs_new_node_and_orphan() {
    let dir = two_commits();
    let (code, text, stderr) = plan(
        dir.path(),
        &["--base", "HEAD~1", "--head", "HEAD", "--detailed-exitcode"],
    );
    assert_eq!(code, 2, "{stderr}");
    // The setting change reaches every node that stays.
    for node in [
        "shop1 (10.0.0.11, primary, #1): update",
        "shop3 (10.0.0.13, replica, #3): update",
    ] {
        assert!(text.contains(node), "{node} missing in:\n{text}");
    }
    assert_eq!(text.matches("-max_connections = 200").count(), 2, "{text}");
    // The new host gets the next unused number (4), never the removed one (2).
    assert!(
        text.contains("+ shop4 (10.0.0.14, replica, #4): new node"),
        "{text}"
    );
    assert!(text.contains("seed data from shop1"));
    // The removed host is orphaned, with the request that would delete it.
    assert!(
        text.contains("! shop2 (10.0.0.12, replica, #2): ORPHANED"),
        "{text}"
    );
    assert!(text.contains("action = \"remove-node\"\n        cluster = \"shop\"\n        node = \"shop2\""));
    // The untouched cluster is not listed.
    assert!(!text.contains("cluster cache"));
    insta::assert_snapshot!("base_plan_text", redact(&text));
}

#[test]
fn base_plan_markdown_is_ready_for_a_pull_request() {
    let dir = two_commits();
    let (code, md, _) = plan(
        dir.path(),
        &["--base", "HEAD~1", "--head", "HEAD", "--format", "markdown"],
    );
    assert_eq!(code, 0, "without --detailed-exitcode a plan with changes exits 0");
    insta::assert_snapshot!("base_plan_markdown", redact(&md));
}

#[test]
fn base_plan_json_is_typed() {
    let dir = two_commits();
    let (code, json, _) = plan(
        dir.path(),
        &["--base", "HEAD~1", "--head", "HEAD", "--format", "json"],
    );
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(v["format_version"], 1);
    let shop = v["clusters"]
        .as_array()
        .expect("clusters")
        .iter()
        .find(|c| c["name"] == "shop")
        .expect("shop");
    let changes: Vec<(String, String)> = shop["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|n| {
            (
                n["name"].as_str().unwrap_or("").into(),
                n["change"].as_str().unwrap_or("").into(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = [
        ("shop1", "update"),
        ("shop2", "orphaned"),
        ("shop3", "update"),
        ("shop4", "create"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(changes, expected);
    assert_eq!(v["summary"]["has_changes"], true);
}

#[test]
fn unchanged_revisions_exit_zero() {
    let dir = two_commits();
    let (code, text, _) = plan(
        dir.path(),
        &["--base", "HEAD~1", "--head", "HEAD~1", "--detailed-exitcode"],
    );
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("No changes. 2 clusters match the repository."),
        "{text}"
    );
}

#[test]
fn an_orphan_of_an_earlier_commit_stays_orphaned() {
    // shop2 left the file in HEAD and no remove-node request released it:
    // the fleet still has it, whatever the revisions compared.
    let dir = two_commits();
    for base in [&["--base", "HEAD", "--head", "HEAD"][..], &["--base", "HEAD"][..]] {
        let (code, text, stderr) = plan(dir.path(), &[base, &["--detailed-exitcode"]].concat());
        assert_eq!(code, 2, "{stderr}");
        assert!(
            text.contains("! shop2 (10.0.0.12, replica, #2): ORPHANED"),
            "{text}"
        );
        assert!(
            text.contains("Plan: 1 cluster(s) to update, 1 node(s) orphaned, 1 cluster(s) unchanged."),
            "{text}"
        );
        assert!(!text.contains("update\n      -"), "nothing else changes:\n{text}");
    }
}

#[test]
fn offline_plan_with_empty_state_creates_everything() {
    let dir = two_commits();
    let state = tempfile::tempdir().expect("state");
    let state_arg = state.path().to_str().expect("utf8");
    let (code, text, stderr) = plan(
        dir.path(),
        &["--offline", "--state-dir", state_arg, "--detailed-exitcode"],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(text.contains("+ cluster shop (mariadb 10.11, primary-replica): create"));
    assert!(text.contains("+ cluster cache (redis 7.0, single): create"));
    assert!(
        text.contains("Plan: 2 cluster(s) to create, 4 node(s) to create"),
        "{text}"
    );
}

#[test]
fn unknown_revision_is_a_clear_error() {
    let dir = two_commits();
    let (code, _, stderr) = plan(dir.path(), &["--base", "nosuchbranch"]);
    assert_eq!(code, 1);
    assert!(
        stderr.starts_with("error: revision `nosuchbranch` not found in ."),
        "{stderr}"
    );
}

#[test]
fn plan_output_never_contains_secrets() {
    let dir = two_commits();
    let with_passwords = format!(
        "{CACHE}\n[passwords]\nadmin = {{ env = \"CACHE_ADMIN_PW\" }}\nreplication = {{ env = \"CACHE_REPL_PW\" }}\n"
    );
    std::fs::write(dir.path().join("clusters/cache.toml"), with_passwords).expect("write");
    let state = tempfile::tempdir().expect("state");
    for format in ["text", "markdown", "json"] {
        let out = Command::cargo_bin("dbfleet")
            .expect("binary")
            .current_dir(dir.path())
            .env("CACHE_ADMIN_PW", "Sup3r-Secret-Marker-1")
            .env("CACHE_REPL_PW", "Sup3r-Secret-Marker-2")
            .args(["plan", "--offline", "--format", format, "--state-dir"])
            .arg(state.path())
            .output()
            .expect("run");
        assert!(out.status.success());
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !all.contains("Sup3r-Secret-Marker"),
            "a password reached the {format} plan"
        );
        for line in all.lines() {
            let directive = line.trim_start_matches(['+', ' ']);
            assert!(
                !(directive.starts_with("requirepass ") || directive.starts_with("masterauth ")),
                "a password directive reached the {format} plan: {line}"
            );
        }
    }
}
