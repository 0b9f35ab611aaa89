//! What the source layer reads, from the working tree and from a git
//! revision alike, and how its problems reach the user: symbolic links,
//! bytes that are not UTF-8, names dbfleet does not read, a directory that
//! is not a dbfleet repository, and errors that say their cause once.

mod common;

use assert_cmd::Command;
use std::os::unix::fs::symlink;
use std::path::Path;

use common::git::TempRepo;

const SHOP: &str = r#"name = "shop"
engine = "mariadb"
version = "10.11"
topology = "single"

[settings]
max_connections = 321

[[nodes]]
host = "10.0.0.11"
"#;

/// The output of `dbfleet ARGS` run in `dir`: exit code, stdout, stderr,
/// with `dir` (as given and canonical) shown as `[repo]`.
fn run(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::cargo_bin("dbfleet")
        .expect("binary")
        .current_dir(dir)
        .env_remove("DBFLEET_STATE_DIR")
        .env("NO_COLOR", "1")
        .args(args)
        .output()
        .expect("run");
    let hide = |s: &[u8]| hide_path(&String::from_utf8_lossy(s), dir, "[repo]");
    (
        out.status.code().unwrap_or(-1),
        hide(&out.stdout),
        hide(&out.stderr),
    )
}

fn hide_path(text: &str, path: &Path, shown: &str) -> String {
    let canonical = path.canonicalize().expect("canonical");
    text.replace(&canonical.display().to_string(), shown)
        .replace(&path.display().to_string(), shown)
}

const VALIDATE: &[&str] = &["validate", ".", "--state-dir", "/nonexistent"];
const OFFLINE: &[&str] = &["plan", ".", "--offline", "--state-dir", "/nonexistent"];
const BASE_HEAD: &[&str] = &["plan", ".", "--base", "HEAD", "--head", "HEAD"];

/// validate in the working tree, then `plan --offline` (the working tree)
/// and `plan --base HEAD --head HEAD` (the committed revision): all three
/// fail with the same diagnostics. Returns validate's stderr.
fn fails_alike_in_tree_and_git(repo: &TempRepo, errors: &str) -> String {
    let (code, _, validate) = run(repo.path(), VALIDATE);
    assert_eq!(code, 1, "{validate}");
    let diags = validate
        .strip_suffix(&format!(".: {errors}\n"))
        .unwrap_or_else(|| panic!("validate ends with the summary `{errors}`:\n{validate}"));
    for args in [OFFLINE, BASE_HEAD] {
        let (code, stdout, stderr) = run(repo.path(), args);
        assert_eq!(code, 1, "{args:?}: {stderr}");
        assert!(
            !stdout.contains("Plan:"),
            "{args:?}: no plan from bad input:\n{stdout}"
        );
        assert_eq!(stderr, format!("{diags}{errors}\n"), "{args:?}");
    }
    validate
}

fn json_diagnostics(repo: &TempRepo) -> Vec<serde_json::Value> {
    let (code, stdout, stderr) = run(
        repo.path(),
        &["validate", ".", "--format", "json", "--state-dir", "/nonexistent"],
    );
    assert_eq!(code, 1, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("validate --format json is JSON");
    assert_eq!(v["valid"], false);
    v["diagnostics"].as_array().expect("diagnostics").clone()
}

#[test]
fn links_out_of_the_repository_are_refused_in_the_tree_and_in_git() {
    let repo = TempRepo::new();
    repo.write("clusters/shop.toml", SHOP);
    std::fs::create_dir_all(repo.path().join("templates/mariadb")).expect("mkdir");
    symlink("/etc/passwd", repo.path().join("clusters/passwd.toml")).expect("link");
    symlink("/etc/hostname", repo.path().join("templates/mariadb/my.cnf.j2")).expect("link");
    symlink("../../outside.toml", repo.path().join("clusters/up.toml")).expect("link");
    repo.commit("links out");
    let mode = |p: &str| {
        let index = repo.repo().index().expect("index");
        index.get_path(Path::new(p), 0).expect("in index").mode
    };
    assert_eq!(mode("clusters/passwd.toml"), 0o120000, "committed as a link");

    let stderr = fails_alike_in_tree_and_git(&repo, "3 errors");
    assert!(
        !stderr.contains("root:"),
        "never the outside file's content:\n{stderr}"
    );
    insta::assert_snapshot!("links_out_of_the_repository", stderr);

    let diags = json_diagnostics(&repo);
    assert!(
        diags.iter().any(|d| d["file"] == "clusters/passwd.toml"
            && d["message"]
                == "`clusters/passwd.toml` is a symbolic link to `/etc/passwd`, which is outside the repository"),
        "{diags:?}"
    );
}

#[test]
fn a_linked_directory_out_of_the_repository_is_refused() {
    let outside = tempfile::tempdir().expect("tmp");
    std::fs::write(outside.path().join("shop.toml"), SHOP).expect("write");
    let repo = TempRepo::new();
    repo.write("fleet.toml", "");
    symlink(outside.path(), repo.path().join("clusters")).expect("link");
    repo.commit("clusters elsewhere");

    let stderr = fails_alike_in_tree_and_git(&repo, "1 error");
    let stderr = hide_path(&stderr, outside.path(), "[outside]");
    insta::assert_snapshot!("linked_directory_outside", stderr);
}

#[test]
fn links_inside_the_repository_read_the_same_in_the_tree_and_in_git() {
    let template =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/mariadb/my.cnf.j2"))
            .expect("built-in template");
    let repo = TempRepo::new();
    repo.commit("empty");
    repo.write("shared/shop.toml", SHOP);
    repo.write("shared/my.cnf.j2", &format!("# shared template\n{template}"));
    std::fs::create_dir_all(repo.path().join("clusters")).expect("mkdir");
    std::fs::create_dir_all(repo.path().join("templates/mariadb")).expect("mkdir");
    symlink("../shared/shop.toml", repo.path().join("clusters/shop.toml")).expect("link");
    symlink(
        "../../shared/my.cnf.j2",
        repo.path().join("templates/mariadb/my.cnf.j2"),
    )
    .expect("link");
    repo.commit("linked");

    let (code, stdout, stderr) = run(repo.path(), VALIDATE);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, ".: valid (1 cluster, 1 node, 0 requests)\n");
    let (code, tree, stderr) = run(repo.path(), OFFLINE);
    assert_eq!(code, 0, "{stderr}");
    let (code, git, stderr) = run(repo.path(), &["plan", ".", "--base", "HEAD~1", "--head", "HEAD"]);
    assert_eq!(code, 0, "{stderr}");
    for plan in [&tree, &git] {
        assert!(plan.contains("+# shared template"), "{plan}");
        assert!(plan.contains("+max_connections = 321"), "{plan}");
    }
    let body = |p: &str| {
        p.lines()
            .filter(|l| l.starts_with('+'))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(body(&tree), body(&git), "the same files from both sources");
}

#[test]
fn a_file_that_is_not_utf8_is_one_diagnostic_among_the_others() {
    let repo = TempRepo::new();
    repo.write("clusters/shop.toml", &SHOP.replace("single", "triangle"));
    std::fs::write(
        repo.path().join("clusters/latin1.toml"),
        b"name = \"latin1\"\n# caf\xe9\nengine = \"mariadb\"\n",
    )
    .expect("write");
    repo.commit("two bad files");

    let stderr = fails_alike_in_tree_and_git(&repo, "2 errors");
    insta::assert_snapshot!("not_utf8", stderr);

    let diags = json_diagnostics(&repo);
    let latin1 = diags
        .iter()
        .find(|d| d["file"] == "clusters/latin1.toml")
        .expect("the file that is not UTF-8 is listed");
    assert_eq!(latin1["span"], serde_json::json!({ "start": 21, "end": 22 }));
    assert!(
        diags.iter().any(|d| d["file"] == "clusters/shop.toml"),
        "{diags:?}"
    );
}

#[test]
fn names_dbfleet_does_not_read_are_errors_naming_the_expected_form() {
    let repo = TempRepo::new();
    repo.write("clusters/shop.toml", SHOP);
    repo.write("clusters/billing.yaml", "name: billing\n");
    repo.write("clusters/CACHE.TOML", SHOP);
    repo.write("requests/CACHE.TOML", "action = \"backup\"\ncluster = \"shop\"\n");
    repo.write("clusters/archive/old.toml", SHOP);
    repo.write("clusters/shop.toml.bak", SHOP);
    // Left alone: not meant to be read.
    repo.write("clusters/README.md", "# clusters\n");
    repo.write("clusters/.gitkeep", "");
    repo.commit("misnamed");

    let stderr = fails_alike_in_tree_and_git(&repo, "4 errors, 1 warning");
    insta::assert_snapshot!("misnamed_files", stderr);
}

#[test]
fn a_file_that_may_be_meant_is_a_warning_only() {
    let repo = TempRepo::with_files(&[
        ("clusters/shop.toml", SHOP),
        ("clusters/shop.toml.disabled", SHOP),
    ]);
    let (code, stdout, stderr) = run(repo.path(), VALIDATE);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, ".: valid (1 cluster, 1 node, 0 requests)\n");
    insta::assert_snapshot!("not_read_warning", stderr);
}

#[test]
fn a_directory_without_clusters_is_not_a_repository() {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(dir.path().join("README.md"), "not dbfleet\n").expect("write");
    let (code, stdout, stderr) = run(dir.path(), VALIDATE);
    assert_eq!(code, 1);
    assert_eq!(stdout, "");
    insta::assert_snapshot!("not_a_repository", stderr);
    let (code, stdout, _) = run(dir.path(), OFFLINE);
    assert_eq!(code, 1);
    assert!(!stdout.contains("Plan:"), "{stdout}");

    let (code, stdout, _) = run(
        dir.path(),
        &["validate", "--format", "json", "--state-dir", "/nonexistent"],
    );
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    assert_eq!(
        v["diagnostics"][0]["message"],
        "no clusters/ directory in [repo]: is this a dbfleet repository?"
    );
}

#[test]
fn a_repository_whose_clusters_are_all_removed_is_still_one() {
    // fleet.toml marks the repository.
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(dir.path().join("fleet.toml"), "").expect("write");
    let (code, stdout, stderr) = run(dir.path(), VALIDATE);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, ".: valid (0 clusters, 0 nodes, 0 requests)\n");

    // So does a state store that records clusters: they are orphans now.
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::create_dir_all(dir.path().join(".dbfleet/clusters")).expect("mkdir");
    std::fs::write(dir.path().join(".dbfleet/clusters/kv.json"), "{}").expect("write");
    let (code, _, stderr) = run(dir.path(), &["validate", "."]);
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn git_errors_say_their_cause_once() {
    let repo = TempRepo::with_files(&[("clusters/shop.toml", SHOP)]);
    let (code, _, stderr) = run(repo.path(), &["plan", ".", "--base", "nosuch"]);
    assert_eq!(code, 1);
    assert_eq!(
        stderr,
        "error: revision `nosuch` not found in .: revspec 'nosuch' not found\n"
    );

    let dir = tempfile::tempdir().expect("tmp");
    let (code, _, stderr) = run(dir.path(), &["plan", ".", "--base", "HEAD"]);
    assert_eq!(code, 1);
    assert_eq!(
        stderr,
        "error: . is not inside a git repository: could not find repository at '.'\n"
    );
}

#[test]
fn state_errors_say_their_cause_once() {
    let repo = TempRepo::with_files(&[("clusters/shop.toml", SHOP)]);
    repo.write(".dbfleet/clusters/shop.json", "{not json");
    let (code, _, stderr) = run(repo.path(), &["validate", "."]);
    assert_eq!(code, 1);
    assert_eq!(
        stderr,
        "error: reading state in ./.dbfleet: state file ./.dbfleet/clusters/shop.json is corrupt: \
         key must be a string at line 1 column 2\n"
    );
}
