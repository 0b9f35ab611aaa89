//! `plan --format markdown` as a pull-request comment: a summary table
//! first, a change that is the same on several nodes shown once, and never
//! more than `--max-bytes` (GitHub stops at 65,536 characters).

mod common;

use common::cli::{self, output};
use common::git::TempRepo;
use std::path::Path;

fn plan(dir: &Path, args: &[&str]) -> (i32, String, String) {
    output(
        cli::dbfleet()
            .current_dir(dir)
            .env("SOURCE_DATE_EPOCH", "1796040000")
            .arg("plan")
            .args(args),
    )
}

/// 300 new PostgreSQL clusters of 3 nodes each (names ending in a letter:
/// node names are <cluster><number>).
fn big_fleet() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let clusters = dir.path().join("clusters");
    std::fs::create_dir_all(&clusters).expect("mkdir");
    for i in 0..300 {
        let nodes: String = (1..=3)
            .map(|n| format!("[[nodes]]\nhost = \"10.{}.{}.{n}\"\n", i / 200, i % 200))
            .collect();
        let text = format!(
            "name = \"pg{i:03}x\"\nengine = \"postgresql\"\nversion = \"16\"\ntopology = \"primary-replica\"\n\n\
             [settings]\nmax_connections = 200\n\n{nodes}"
        );
        std::fs::write(clusters.join(format!("pg{i:03}x.toml")), text).expect("write");
    }
    dir
}

#[test]
fn a_big_plan_fits_a_pull_request_comment_with_the_summary_first() {
    let dir = big_fleet();
    let state = tempfile::tempdir().expect("state");
    let state = state.path().to_str().expect("utf8");
    let (code, md, stderr) = plan(
        dir.path(),
        &[".", "--offline", "--state-dir", state, "--format", "markdown"],
    );
    assert_eq!(code, 0, "{stderr}");
    eprintln!("markdown plan of 300 clusters: {} bytes", md.len());
    assert!(md.len() <= 60_000, "{} bytes", md.len());
    let table = md
        .find("| clusters | nodes | files changed | orphans | requests |")
        .expect("summary table");
    let first_cluster = md.find("\n#### ").expect("a cluster section");
    assert!(
        table < first_cluster,
        "the summary table comes first:\n{}",
        &md[..first_cluster]
    );
    assert!(
        md.contains("| 300 to create | 900 to create | 3600 | 0 | 0 |"),
        "{}",
        &md[..first_cluster]
    );
    let note = &md[table..first_cluster];
    assert!(
        note.contains("were left out to fit a pull-request comment (at most 60000 bytes)"),
        "{note}"
    );
    assert!(
        note.contains("`dbfleet plan --format markdown --max-bytes 0`"),
        "{note}"
    );
    // Every cluster is still named.
    for i in [0, 150, 299] {
        let heading = format!("#### `pg{i:03}x` (postgresql 16, primary-replica): create");
        assert!(md.contains(&heading), "{heading}");
    }

    // A smaller limit is kept to as well; 0 is no limit.
    let (_, small, _) = plan(
        dir.path(),
        &[
            ".",
            "--offline",
            "--state-dir",
            state,
            "--format",
            "markdown",
            "--max-bytes",
            "20000",
        ],
    );
    assert!(small.len() <= 20_000, "{} bytes", small.len());
    assert!(small.starts_with("### dbfleet plan\n"), "{small}");
    let (_, whole, _) = plan(
        dir.path(),
        &[
            ".",
            "--offline",
            "--state-dir",
            state,
            "--format",
            "markdown",
            "--max-bytes",
            "0",
        ],
    );
    assert!(whole.len() > 60_000, "{} bytes", whole.len());
    assert!(!whole.contains("left out to fit"));
}

const KV: &str = r#"name = "kv"
engine = "valkey"
version = "9.0"
topology = "primary-replica"
allowed_ips = ["203.0.113.7"]

[[nodes]]
host = "10.0.0.11"
[[nodes]]
host = "10.0.0.12"
[[nodes]]
host = "10.0.0.13"
"#;

#[test]
fn the_same_change_on_every_node_is_shown_once() {
    let repo = TempRepo::with_files(&[("clusters/kv.toml", KV)]);
    repo.commit_files(
        "another client",
        &[("clusters/kv.toml", &KV.replace("203.0.113.7", "203.0.113.8"))],
    );
    let (code, md, stderr) = plan(
        repo.path(),
        &[".", "--base", "HEAD~1", "--head", "HEAD", "--format", "markdown"],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(md.matches("<details>").count(), 1, "{md}");
    assert!(
        md.contains(
            "<details><summary>same change on <code>kv1</code>, <code>kv2</code>, <code>kv3</code>: \
             <code>/etc/nftables.d/dbfleet-kv.nft</code></summary>"
        ),
        "{md}"
    );
    assert_eq!(md.matches("+\t\tip saddr 203.0.113.8/32").count(), 1, "{md}");
    // The text plan still shows each node's diff.
    let (_, text, _) = plan(repo.path(), &[".", "--base", "HEAD~1", "--head", "HEAD"]);
    assert_eq!(text.matches("+\t\tip saddr 203.0.113.8/32").count(), 3, "{text}");
}
