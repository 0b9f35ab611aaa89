//! `dbfleet request new`: the file it writes validates, for every action;
//! a request `validate` would refuse is refused with validate's message and
//! nothing written; so is a deleting request without `--confirm`, and a file
//! that exists.

mod common;

use common::cli::{self, output};
use common::git::TempRepo;
use std::path::Path;

/// 2026-11-30 12:00 UTC: the date in the file names.
const DATE_EPOCH: &str = "1796040000";

const SHOP: &str = "name = \"shop\"\nengine = \"mariadb\"\nversion = \"10.11\"\ntopology = \"primary-replica\"\n\n[[nodes]]\nhost = \"10.0.0.11\"\n[[nodes]]\nhost = \"10.0.0.12\"\n[[nodes]]\nhost = \"10.0.0.13\"\n";

fn shop() -> TempRepo {
    TempRepo::with_files(&[("clusters/shop.toml", SHOP)])
}

fn dbfleet(dir: &Path, args: &[&str]) -> (i32, String, String) {
    output(
        cli::dbfleet()
            .current_dir(dir)
            .env("SOURCE_DATE_EPOCH", DATE_EPOCH)
            .args(args)
            .args(["--state-dir", "/nonexistent/dbfleet-state"]),
    )
}

/// The files under requests/, by name.
fn requests(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir.join("requests")) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn every_action_writes_a_file_that_validate_accepts() {
    let cases: [(&[&str], &str, &str); 7] = [
        (
            &["promote", "--cluster", "shop", "--node", "shop3"],
            "requests/2026-11-30-promote-shop3.toml",
            "action = \"promote\"\ncluster = \"shop\"\nnode = \"shop3\"\n",
        ),
        (
            &["resync", "--cluster", "shop"],
            "requests/2026-11-30-resync-shop.toml",
            "action = \"resync\"\ncluster = \"shop\"\n",
        ),
        (
            &["backup", "--cluster", "shop", "--timeout", "3h"],
            "requests/2026-11-30-backup-shop.toml",
            "action = \"backup\"\ncluster = \"shop\"\ntimeout = \"3h\"\n",
        ),
        (
            &["restore", "--cluster", "shop", "--backup", "latest"],
            "requests/2026-11-30-restore-shop.toml",
            "action = \"restore\"\ncluster = \"shop\"\nbackup = \"latest\"\n",
        ),
        (
            &["migrate", "--cluster", "shop", "--source", "mysql://app@old.example.internal/shop"],
            "requests/2026-11-30-migrate-shop.toml",
            "action = \"migrate\"\ncluster = \"shop\"\nsource = \"mysql://app@old.example.internal/shop\"\n",
        ),
        (
            &["remove-node", "--cluster", "shop", "--node", "shop2", "--confirm", "--timeout", "20m"],
            "requests/2026-11-30-remove-node-shop2.toml",
            "action = \"remove-node\"\ncluster = \"shop\"\nnode = \"shop2\"\nconfirm = \"shop2\"\ntimeout = \"20m\"\n",
        ),
        (
            &["delete-cluster", "--cluster", "shop", "--confirm"],
            "requests/2026-11-30-delete-cluster-shop.toml",
            "action = \"delete-cluster\"\ncluster = \"shop\"\nconfirm = \"shop\"\n",
        ),
    ];
    for (args, path, text) in cases {
        let repo = shop();
        let mut argv = vec!["request", "new"];
        argv.extend_from_slice(args);
        let (code, stdout, stderr) = dbfleet(repo.path(), &argv);
        assert_eq!(code, 0, "{args:?}:\n{stderr}");
        assert_eq!(stdout, format!("{path}\n"), "{args:?}");
        let written = std::fs::read_to_string(repo.path().join(path)).expect("written");
        assert_eq!(written, text, "{args:?}");
        let (code, stdout, stderr) = dbfleet(repo.path(), &["validate", "."]);
        assert_eq!(
            code, 0,
            "{args:?}: validate refuses what request new wrote:\n{stderr}"
        );
        assert!(stdout.contains("1 request)"), "{stdout}");
    }
}

#[test]
fn the_repository_may_be_given_as_a_path_or_with_repo() {
    let repo = shop();
    let dir = repo.path().to_str().expect("utf-8");
    let (code, stdout, stderr) = dbfleet(
        Path::new("/"),
        &["request", "new", "backup", dir, "--cluster", "shop"],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, format!("{dir}/requests/2026-11-30-backup-shop.toml\n"));
    let (code, _, stderr) = dbfleet(
        Path::new("/"),
        &["request", "new", "resync", "--repo", dir, "--cluster", "shop"],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        requests(repo.path()),
        ["2026-11-30-backup-shop.toml", "2026-11-30-resync-shop.toml"]
    );
}

#[test]
fn a_request_naming_a_missing_node_is_refused_with_validates_message() {
    let repo = shop();
    let (code, stdout, stderr) = dbfleet(
        repo.path(),
        &[
            "request",
            "new",
            "promote",
            "--cluster",
            "shop",
            "--node",
            "shop7",
        ],
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(
        requests(repo.path()).is_empty(),
        "written: {:?}",
        requests(repo.path())
    );
    // validate says the same of that file, once written by hand.
    repo.write(
        "requests/2026-11-30-promote-shop7.toml",
        "action = \"promote\"\ncluster = \"shop\"\nnode = \"shop7\"\n",
    );
    let (_, _, validate) = dbfleet(repo.path(), &["validate", "."]);
    let message = validate.split("\n\n").next().expect("a message");
    assert!(stderr.starts_with(message), "{stderr}\nvalidate:\n{validate}");
    insta::assert_snapshot!("missing_node", stderr);
}

#[test]
fn fields_the_action_does_not_take_and_bad_values_are_refused() {
    let repo = shop();
    for args in [
        &["resync", "--cluster", "shop", "--node", "shop2"][..],
        &["promote", "--cluster", "shop"],
        &["backup", "--cluster", "shop", "--timeout", "soon"],
        &["backup", "--cluster", "shopp"],
    ] {
        let mut argv = vec!["request", "new"];
        argv.extend_from_slice(args);
        let (code, _, stderr) = dbfleet(repo.path(), &argv);
        assert_eq!(code, 1, "{args:?}:\n{stderr}");
        assert!(
            stderr.contains("not written: the repository with it would not validate"),
            "{stderr}"
        );
    }
    assert!(requests(repo.path()).is_empty(), "{:?}", requests(repo.path()));
    let (_, _, stderr) = dbfleet(
        repo.path(),
        &["request", "new", "resync", "--cluster", "shop", "--backup", "x"],
    );
    insta::assert_snapshot!("field_of_another_action", stderr);
}

#[test]
fn remove_node_and_delete_cluster_without_confirm_are_refused() {
    let repo = shop();
    let (code, stdout, stderr) = dbfleet(
        repo.path(),
        &[
            "request",
            "new",
            "remove-node",
            "--cluster",
            "shop",
            "--node",
            "shop2",
        ],
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(stdout.is_empty());
    insta::assert_snapshot!("remove_node_unconfirmed", stderr);
    let (code, _, stderr) = dbfleet(
        repo.path(),
        &["request", "new", "delete-cluster", "--cluster", "shop"],
    );
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(
        stderr,
        "error: requests/2026-11-30-delete-cluster-shop.toml not written: delete-cluster deletes cluster `shop` and must be confirmed: add --confirm to write confirm = \"shop\"\n"
    );
    let (code, _, stderr) = dbfleet(
        repo.path(),
        &["request", "new", "backup", "--cluster", "shop", "--confirm"],
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("--confirm is only for remove-node and delete-cluster"),
        "{stderr}"
    );
    assert!(requests(repo.path()).is_empty(), "{:?}", requests(repo.path()));
}

#[test]
fn a_file_that_exists_is_refused_and_kept() {
    let repo = shop();
    let path = "requests/2026-11-30-backup-shop.toml";
    repo.write(path, "# mine\naction = \"backup\"\ncluster = \"shop\"\n");
    let (code, stdout, stderr) = dbfleet(repo.path(), &["request", "new", "backup", "--cluster", "shop"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stdout.is_empty());
    assert_eq!(
        stderr,
        format!("error: {path} not written: the file exists already\n")
    );
    let kept = std::fs::read_to_string(repo.path().join(path)).expect("kept");
    assert!(kept.starts_with("# mine\n"), "{kept}");
}

/// A protected cluster cannot be deleted: validate's rule, so request new's.
#[test]
fn delete_cluster_of_a_protected_cluster_is_refused() {
    let repo = TempRepo::with_files(&[(
        "clusters/shop.toml",
        &SHOP.replace("topology", "protected = true\ntopology"),
    )]);
    let (code, _, stderr) = dbfleet(
        repo.path(),
        &[
            "request",
            "new",
            "delete-cluster",
            "--cluster",
            "shop",
            "--confirm",
        ],
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("cluster `shop` is protected"), "{stderr}");
    assert!(requests(repo.path()).is_empty());
}

#[test]
fn request_new_help_has_examples_and_exit_codes() {
    let (code, out, _) = dbfleet(Path::new("/"), &["request", "new", "--help"]);
    assert_eq!(code, 0);
    for section in ["Examples:\n  dbfleet request new ", "Exit codes:\n  0  written"] {
        assert!(out.contains(section), "{out}");
    }
}
