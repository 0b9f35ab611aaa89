//! Node identities in `validate` and `plan --base` on real git repositories:
//! names come from the numbers allocated along the history (never from the
//! position of a host in the file), requests may name clusters gone from
//! the tree, suggested request files validate, and a base that does not
//! validate is never planned as empty.

mod common;

use assert_cmd::Command;
use common::git::TempRepo;
use serde_json::Value;
use std::path::Path;

/// 2026-11-30 12:00 UTC: the date in suggested request names.
const DATE_EPOCH: &str = "1796040000";

fn app(hosts: &[&str]) -> String {
    let nodes: String = hosts
        .iter()
        .map(|h| format!("\n[[nodes]]\nhost = \"{h}\"\n"))
        .collect();
    format!(
        "name = \"app\"\nengine = \"mariadb\"\nversion = \"10.11\"\ntopology = \"primary-replica\"\n\n[settings]\nmax_connections = 200\n{nodes}"
    )
}

const KV: &str = r#"name = "kv"
engine = "redis"
version = "7.0"
topology = "single"

[[nodes]]
host = "10.0.1.11"
"#;

const PROMOTE_APP3: &str = "action = \"promote\"\ncluster = \"app\"\nnode = \"app3\"\n";
const PROMOTE_APP2: &str = "action = \"promote\"\ncluster = \"app\"\nnode = \"app2\"\n";

fn dbfleet(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::cargo_bin("dbfleet")
        .expect("binary")
        .current_dir(dir)
        .env_remove("DBFLEET_STATE_DIR")
        .env("NO_COLOR", "1")
        .env("SOURCE_DATE_EPOCH", DATE_EPOCH)
        .args(args)
        .output()
        .expect("run");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `validate .` with no state store (a directory that does not exist).
fn validate(dir: &Path) -> (i32, String, String) {
    dbfleet(
        dir,
        &["validate", ".", "--state-dir", "/nonexistent/dbfleet-state"],
    )
}

/// app with .41 .42 .43 (app1..app3); then .42 removed; then a promote of
/// app3 (10.0.0.43, third in the first file, second in the file now).
fn promote_after_removal() -> TempRepo {
    let repo = TempRepo::with_files(&[(
        "clusters/app.toml",
        &app(&["10.0.0.41", "10.0.0.42", "10.0.0.43"]),
    )]);
    repo.commit_files(
        "remove 10.0.0.42",
        &[("clusters/app.toml", &app(&["10.0.0.41", "10.0.0.43"]))],
    );
    repo.commit_files(
        "promote app3",
        &[("requests/2026-11-30-promote-app3.toml", PROMOTE_APP3)],
    );
    repo
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}):\n{text}"))
}

fn cluster<'a>(plan: &'a Value, name: &str) -> &'a Value {
    plan["clusters"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["name"] == name))
        .unwrap_or_else(|| panic!("no cluster {name} in {plan}"))
}

fn node<'a>(cluster: &'a Value, name: &str) -> &'a Value {
    cluster["nodes"]
        .as_array()
        .and_then(|ns| ns.iter().find(|n| n["name"] == name))
        .unwrap_or_else(|| panic!("no node {name} in {cluster}"))
}

#[test]
fn validate_names_nodes_by_their_allocated_numbers() {
    let repo = promote_after_removal();
    let (code, stdout, stderr) = validate(repo.path());
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stderr, "", "no warning: the history says what app3 is");
    assert!(
        stdout.contains(": valid (1 cluster, 2 nodes, 1 request)"),
        "{stdout}"
    );

    // app2 is the removed host: no promote may name it.
    repo.remove("requests/2026-11-30-promote-app3.toml");
    repo.write("requests/2026-11-30-promote-app2.toml", PROMOTE_APP2);
    let (code, _, stderr) = validate(repo.path());
    assert_eq!(code, 1, "{stderr}");
    insta::assert_snapshot!("promote_of_an_orphan", stderr);

    // A node that never existed is listed against the real names too.
    repo.write(
        "requests/2026-11-30-promote-app2.toml",
        "action = \"promote\"\ncluster = \"app\"\nnode = \"app4\"\n",
    );
    let (code, _, stderr) = validate(repo.path());
    assert_eq!(code, 1, "{stderr}");
    insta::assert_snapshot!("promote_of_an_unknown_node", stderr);
}

#[test]
fn plan_base_shows_the_orphan_and_the_node_the_promote_targets() {
    let repo = promote_after_removal();
    let (code, text, stderr) = dbfleet(
        repo.path(),
        &[
            "plan",
            "--base",
            "HEAD~2",
            "--head",
            "HEAD",
            "--detailed-exitcode",
        ],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(
        text.contains("! app2 (10.0.0.42, replica, #2): ORPHANED"),
        "{text}"
    );
    assert!(
        text.contains("2026-11-30-promote-app3 promote app/app3 (10.0.0.43): new, will run once merged"),
        "{text}"
    );
    insta::assert_snapshot!("promote_after_removal_text", text);

    let (code, out, stderr) = dbfleet(
        repo.path(),
        &["plan", "--base", "HEAD~2", "--head", "HEAD", "--format", "json"],
    );
    assert_eq!(code, 0, "{stderr}");
    let plan = json(&out);
    let app = cluster(&plan, "app");
    assert_eq!(node(app, "app2")["host"], "10.0.0.42");
    assert_eq!(node(app, "app2")["change"], "orphaned");
    let request = &plan["requests"][0];
    assert_eq!(request["status"], "new");
    let target = request["node"].as_str().expect("the promote names a node");
    assert_eq!(target, "app3");
    assert_eq!(node(app, target)["host"], "10.0.0.43");
    assert_eq!(node(app, target)["number"], 3);
    assert_eq!(request["host"], "10.0.0.43");
}

#[test]
fn suggested_requests_are_dated_and_validate_once_committed() {
    let repo = promote_after_removal();
    repo.commit_files("two clusters", &[("clusters/kv.toml", KV)]);
    repo.remove("clusters/kv.toml");
    repo.commit("git rm clusters/kv.toml");
    let (code, out, stderr) = dbfleet(
        repo.path(),
        &["plan", "--base", "HEAD~1", "--head", "HEAD", "--format", "json"],
    );
    assert_eq!(code, 0, "{stderr}");
    let plan = json(&out);
    let kv = cluster(&plan, "kv");
    assert_eq!(kv["change"], "orphaned");
    assert_eq!(kv["engine"], "redis", "described as it last was");
    let delete = &kv["delete_request"];
    assert_eq!(delete["path"], "requests/2026-11-30-delete-cluster-kv.toml");
    let remove = &node(cluster(&plan, "app"), "app2")["remove_request"];
    assert_eq!(remove["path"], "requests/2026-11-30-remove-node-app2.toml");

    // Committed as suggested, both validate: kv is gone from the tree but
    // known to the history, app2 is released by its own request.
    for r in [delete, remove] {
        repo.write(
            r["path"].as_str().expect("path"),
            r["toml"].as_str().expect("toml"),
        );
    }
    repo.commit("the suggested requests");
    let (code, stdout, stderr) = validate(repo.path());
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("3 requests"), "{stdout}");

    // The pull request that adds them: both new; kv still orphaned, app2 too
    // until the request runs.
    let (code, text, stderr) = dbfleet(repo.path(), &["plan", "--base", "HEAD~1", "--head", "HEAD"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        text.contains("! cluster kv (redis 7.0, single): ORPHANED"),
        "{text}"
    );
    assert!(
        text.contains("2026-11-30-delete-cluster-kv delete-cluster kv: new, will run once merged"),
        "{text}"
    );
    assert!(
        text.contains(
            "2026-11-30-remove-node-app2 remove-node app/app2 (10.0.0.42): new, will run once merged"
        ),
        "{text}"
    );
}

#[test]
fn requests_for_a_cluster_gone_from_the_tree() {
    let repo = TempRepo::with_files(&[
        ("clusters/app.toml", &app(&["10.0.0.41", "10.0.0.42"])),
        ("clusters/kv.toml", KV),
    ]);
    repo.remove("clusters/kv.toml");
    repo.commit("git rm clusters/kv.toml");
    // Its nodes may be removed one by one; nothing else may run on it.
    repo.write(
        "requests/2026-11-30-remove-node-kv1.toml",
        "action = \"remove-node\"\ncluster = \"kv\"\nnode = \"kv1\"\nconfirm = \"kv1\"\n",
    );
    let (code, _, stderr) = validate(repo.path());
    assert_eq!(code, 0, "{stderr}");
    repo.write(
        "requests/2026-11-30-backup-kv.toml",
        "action = \"backup\"\ncluster = \"kv\"\n",
    );
    repo.write(
        "requests/2026-11-30-remove-node-kv2.toml",
        "action = \"remove-node\"\ncluster = \"kv\"\nnode = \"kv2\"\nconfirm = \"kv2\"\n",
    );
    repo.write(
        "requests/2026-11-30-delete-cluster-nosuch.toml",
        "action = \"delete-cluster\"\ncluster = \"nosuch\"\nconfirm = \"nosuch\"\n",
    );
    let (code, _, stderr) = validate(repo.path());
    assert_eq!(code, 1, "{stderr}");
    insta::assert_snapshot!("requests_for_a_gone_cluster", stderr);
}

#[test]
fn without_state_or_history_numbering_is_unknown() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (path, text) in [
        ("clusters/app.toml", app(&["10.0.0.41", "10.0.0.43"])),
        ("requests/2026-11-30-promote-app3.toml", PROMOTE_APP3.to_string()),
        (
            "requests/2026-11-30-delete-cluster-kv.toml",
            "action = \"delete-cluster\"\ncluster = \"kv\"\nconfirm = \"kv\"\n".to_string(),
        ),
    ] {
        let full = dir.path().join(path);
        std::fs::create_dir_all(full.parent().expect("parent")).expect("mkdir");
        std::fs::write(full, text).expect("write");
    }
    let (code, _, stderr) = validate(dir.path());
    assert_eq!(code, 1, "{stderr}");
    insta::assert_snapshot!("numbering_unknown", stderr);
    // Without the request for an unknown cluster, a warning is all.
    std::fs::remove_file(dir.path().join("requests/2026-11-30-delete-cluster-kv.toml")).expect("rm");
    let (code, _, stderr) = validate(dir.path());
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("warning: node: node numbers of `app` are unknown"),
        "{stderr}"
    );
}

/// A base whose kv file does not validate, and whose app has 200
/// connections; the head fixes kv and raises app's setting.
fn invalid_base() -> TempRepo {
    let repo = TempRepo::with_files(&[
        ("clusters/app.toml", &app(&["10.0.0.41", "10.0.0.42"])),
        ("clusters/kv.toml", &KV.replace("10.0.1.11", "10.0.1.300")),
    ]);
    repo.commit_files(
        "fix kv, more connections",
        &[
            ("clusters/kv.toml", KV),
            (
                "clusters/app.toml",
                &app(&["10.0.0.41", "10.0.0.42"]).replace("= 200", "= 500"),
            ),
        ],
    );
    repo
}

#[test]
fn a_base_that_does_not_validate_is_compared_as_far_as_it_loads() {
    let repo = invalid_base();
    let base = ["plan", "--base", "HEAD~1", "--head", "HEAD"];
    let (code, text, stderr) = dbfleet(repo.path(), &[&base[..], &["--detailed-exitcode"]].concat());
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("base revision `HEAD~1` does not validate (1 error)"),
        "{stderr}"
    );
    // app loaded in the base: its diff, not a creation.
    assert!(
        text.contains("~ cluster app (mariadb 10.11, primary-replica): update"),
        "{text}"
    );
    assert!(text.contains("-max_connections = 200"), "{text}");
    // kv did not: unknown, never "to create".
    assert!(!text.contains("cluster kv"), "{text}");
    assert!(!text.contains("create"), "{text}");
    insta::assert_snapshot!("invalid_base_text", text);

    let (code, md, stderr) = dbfleet(repo.path(), &[&base[..], &["--format", "markdown"]].concat());
    assert_eq!(code, 0, "{stderr}");
    insta::assert_snapshot!("invalid_base_markdown", md);

    let (code, out, stderr) = dbfleet(repo.path(), &[&base[..], &["--format", "json"]].concat());
    assert_eq!(code, 0, "{stderr}");
    let plan = json(&out);
    assert_eq!(plan["base_problem"]["rev"], "HEAD~1");
    assert_eq!(plan["base_problem"]["summary"], "1 error");
    assert_eq!(plan["base_problem"]["not_compared"], serde_json::json!(["kv"]));
    assert_eq!(plan["summary"]["clusters_not_compared"], 1);
    assert_eq!(plan["summary"]["clusters_to_create"], 0);
    assert_eq!(cluster(&plan, "app")["change"], "update");
}

#[test]
fn a_base_whose_fleet_file_does_not_validate_compares_no_cluster() {
    let repo = invalid_base();
    repo.commit_files(
        "break fleet.toml",
        &[("fleet.toml", "[ssh]\nport = \"twenty-two\"\n")],
    );
    repo.commit_files("fix fleet.toml", &[("fleet.toml", "[ssh]\nport = 22\n")]);
    let (code, text, stderr) = dbfleet(
        repo.path(),
        &[
            "plan",
            "--base",
            "HEAD~1",
            "--head",
            "HEAD",
            "--detailed-exitcode",
        ],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(
        text.contains("    not compared, unknown in the base: app, kv\n"),
        "{text}"
    );
    assert!(!text.contains("create"), "{text}");
    assert!(text.contains("Plan: 2 cluster(s) not compared."), "{text}");
}

#[test]
fn markdown_names_the_host_a_request_targets() {
    let repo = promote_after_removal();
    let (code, md, stderr) = dbfleet(
        repo.path(),
        &[
            "plan", "--base", "HEAD~2", "--head", "HEAD", "--format", "markdown",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        md.contains(
            "| `2026-11-30-promote-app3` | promote | `app/app3` (10.0.0.43) | new: runs once merged |"
        ),
        "{md}"
    );
}

#[test]
fn a_shallow_clone_does_not_claim_to_know_the_numbers() {
    let repo = promote_after_removal();
    // What `git clone --depth 1` leaves: the parents of HEAD are not there.
    let head = repo.head().to_string();
    std::fs::write(repo.path().join(".git/shallow"), format!("{head}\n")).expect("write .git/shallow");
    let (code, _, stderr) = validate(repo.path());
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains(
            "warning: node: node numbers of `app` are unknown: the git history is shallow (older commits were not fetched); `app3` cannot be checked"
        ),
        "{stderr}"
    );
}
