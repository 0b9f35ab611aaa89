//! `plan`/`apply --cluster NAME`: only the clusters named are observed,
//! planned and applied.

mod common;

use assert_cmd::Command;
use common::git::TempRepo;
use serde_json::Value;

const SHOP: &str = r#"name = "shop"
engine = "mariadb"
version = "10.11"
topology = "single"

[[nodes]]
host = "192.0.2.1"
"#;

const CACHE: &str = r#"name = "cache"
engine = "redis"
version = "7.0"
topology = "single"

[[nodes]]
host = "192.0.2.2"
"#;

const BACKUP_CACHE: &str = "action = \"backup\"\ncluster = \"cache\"\n";
const BACKUP_SHOP: &str = "action = \"backup\"\ncluster = \"shop\"\n";

/// Two clusters on TEST-NET hosts (never answering, 1s to give up), a
/// request for each; key files and state outside the repository.
fn two_clusters() -> (TempRepo, tempfile::TempDir) {
    let outside = tempfile::tempdir().expect("tempdir");
    let fleet = format!(
        "[ssh]\nconnect_timeout = \"1s\"\nidentity = \"{0}/id_ed25519\"\nknown_hosts = \"{0}/known_hosts\"\n",
        outside.path().display()
    );
    let repo = TempRepo::with_files(&[
        ("fleet.toml", &fleet),
        ("clusters/shop.toml", SHOP),
        ("clusters/cache.toml", CACHE),
        ("requests/2026-11-20-backup-cache.toml", BACKUP_CACHE),
        ("requests/2026-11-21-backup-shop.toml", BACKUP_SHOP),
    ]);
    (repo, outside)
}

fn dbfleet(repo: &TempRepo, outside: &tempfile::TempDir, args: &[&str]) -> (i32, String, String) {
    let out = Command::cargo_bin("dbfleet")
        .expect("binary built")
        .env("NO_COLOR", "1")
        .env_remove("DBFLEET_LOG")
        .env_remove("RUST_LOG")
        .args(args)
        .arg("--state-dir")
        .arg(outside.path().join("state"))
        .current_dir(repo.path())
        .output()
        .expect("run");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The names of the clusters and the clusters of the requests of a JSON plan.
fn planned(json: &str) -> (Vec<String>, Vec<String>) {
    let v: Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}:\n{json}"));
    let names = |key: &str, field: &str| -> Vec<String> {
        v[key]
            .as_array()
            .expect("array")
            .iter()
            .map(|c| c[field].as_str().expect("string").to_string())
            .collect()
    };
    (names("clusters", "name"), names("requests", "cluster"))
}

#[test]
fn offline_plan_of_one_cluster() {
    let (repo, outside) = two_clusters();
    let (code, out, err) = dbfleet(&repo, &outside, &["plan", "--offline", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        planned(&out),
        (
            vec!["cache".into(), "shop".into()],
            vec!["cache".into(), "shop".into()]
        )
    );

    let (code, out, err) = dbfleet(
        &repo,
        &outside,
        &["plan", "--offline", "--cluster", "shop", "--format", "json"],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(planned(&out), (vec!["shop".into()], vec!["shop".into()]));
    assert!(
        err.contains("note: --cluster: cache left out (not observed, planned or applied)\n"),
        "{err}"
    );
    let v: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["summary"]["clusters_to_create"], 1, "{out}");

    let (code, out, err) = dbfleet(
        &repo,
        &outside,
        &["plan", "--offline", "--cluster", "shop", "--cluster", "cache"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("cluster shop") && out.contains("cluster cache"),
        "{out}"
    );
}

#[test]
fn an_unknown_cluster_is_an_error_that_lists_the_clusters() {
    let (repo, outside) = two_clusters();
    for args in [
        &["plan", "--offline", "--cluster", "shpo"][..],
        &["apply", "--cluster", "shpo"],
    ] {
        let (code, out, err) = dbfleet(&repo, &outside, args);
        assert_eq!(code, 1, "{args:?}: {out}\n{err}");
        assert!(out.is_empty(), "{args:?}: {out}");
        assert_eq!(
            err, "error: no cluster named `shpo`; did you mean `shop`? clusters: cache, shop\n",
            "{args:?}"
        );
    }
    let (code, _, err) = dbfleet(&repo, &outside, &["plan", "--offline", "--cluster", "billing"]);
    assert_eq!(code, 1);
    insta::assert_snapshot!(err, @"error: no cluster named `billing`; clusters: cache, shop");
}

/// A cluster gone from the head but in the base is orphaned; naming it
/// keeps it in the plan, and naming another leaves it out.
#[test]
fn base_plan_of_an_orphaned_cluster() {
    let (repo, outside) = two_clusters();
    repo.remove("clusters/cache.toml");
    repo.remove("requests/2026-11-20-backup-cache.toml");
    repo.commit("remove cache");

    let (code, out, err) = dbfleet(
        &repo,
        &outside,
        &[
            "plan",
            "--base",
            "HEAD~1",
            "--head",
            "HEAD",
            "--cluster",
            "cache",
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(planned(&out), (vec!["cache".into()], vec![]));
    let v: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["clusters"][0]["change"], "orphaned", "{out}");

    let (code, out, err) = dbfleet(
        &repo,
        &outside,
        &[
            "plan",
            "--base",
            "HEAD~1",
            "--head",
            "HEAD",
            "--cluster",
            "shop",
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(planned(&out), (vec!["shop".into()], vec!["shop".into()]));
}

/// Online, only the cluster named is observed: the other's host is never
/// tried.
#[test]
fn online_plan_observes_only_the_cluster_named() {
    let (repo, outside) = two_clusters();
    let (_, out, err) = dbfleet(
        &repo,
        &outside,
        &["plan", "--cluster", "cache", "--format", "json"],
    );
    let (clusters, _) = planned(&out);
    assert_eq!(clusters, ["cache"], "{err}");
    assert!(out.contains("192.0.2.2"), "{out}");
    assert!(
        !out.contains("192.0.2.1") && !err.contains("192.0.2.1"),
        "{out}\n{err}"
    );
}
