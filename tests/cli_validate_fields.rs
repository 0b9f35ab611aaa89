//! `dbfleet validate` on one field at a time (issue 12, defects 9 and 10):
//! values that used to pass silently, and messages that used to mislead.
//! Every test runs the binary on a temporary git repository and keeps the
//! full text of what it prints under snapshot.

mod common;

use assert_cmd::Command;
use common::git::TempRepo;

const PG: &str = "name = \"pg\"\nengine = \"postgresql\"\nversion = \"16\"\n";

/// Runs `dbfleet validate` in a repository holding `files`: exit code and
/// stderr, with the repository's path written as `[REPO]`.
fn validate(files: &[(&str, &str)]) -> (i32, String) {
    run(&TempRepo::with_files(files))
}

fn run(repo: &TempRepo) -> (i32, String) {
    run_with_home(repo, std::path::Path::new("/nonexistent-home"))
}

fn run_with_home(repo: &TempRepo, home: &std::path::Path) -> (i32, String) {
    let out = Command::cargo_bin("dbfleet")
        .expect("binary built")
        .env("HOME", home)
        .env_remove("DBFLEET_STATE_DIR")
        .env("NO_COLOR", "1")
        .args(["validate", "--state-dir", "/nonexistent"])
        .arg(repo.path())
        .output()
        .expect("run");
    let real = std::fs::canonicalize(repo.path()).expect("repo path");
    let stderr = String::from_utf8_lossy(&out.stderr)
        .replace(&real.display().to_string(), "[REPO]")
        .replace(&repo.path().display().to_string(), "[REPO]");
    (out.status.code().unwrap_or(-1), stderr)
}

fn cluster(topology: &str, extra: &str, hosts: &[&str]) -> String {
    let nodes: String = hosts
        .iter()
        .map(|h| format!("[[nodes]]\nhost = \"{h}\"\n"))
        .collect();
    format!("{PG}topology = \"{topology}\"\n{extra}{nodes}")
}

#[test]
fn hosts_that_name_no_node_are_errors() {
    let hosts = [
        "10.0.0.1",
        "0.0.0.0",
        "::",
        "127.0.0.1",
        "::1",
        "::ffff:127.0.0.1",
        "224.0.0.1",
        "ff02::1",
        "255.255.255.255",
    ];
    let (code, stderr) = validate(&[("clusters/pg.toml", &cluster("primary-replica", "", &hosts))]);
    assert_eq!(code, 1);
    insta::assert_snapshot!("unusable_hosts", stderr);
}

#[test]
fn two_spellings_of_one_host_in_a_cluster_are_the_same_host() {
    let hosts = ["2001:db8::1", "2001:DB8:0::1", "192.0.2.11", "::ffff:192.0.2.11"];
    let (code, stderr) = validate(&[("clusters/pg.toml", &cluster("primary-replica", "", &hosts))]);
    assert_eq!(code, 1);
    insta::assert_snapshot!("same_host_in_cluster", stderr);
}

#[test]
fn two_spellings_of_one_host_across_clusters_are_the_same_host() {
    let other = "name = \"pg-b\"\nengine = \"postgresql\"\nversion = \"16\"\ntopology = \"primary-replica\"\nport = 5433\n\
                 [[nodes]]\nhost = \"::ffff:192.0.2.11\"\n[[nodes]]\nhost = \"2001:DB8:0::1\"\n";
    let (code, stderr) = validate(&[
        (
            "clusters/pg.toml",
            &cluster("primary-replica", "", &["192.0.2.11", "2001:db8::1"]),
        ),
        ("clusters/pg-b.toml", other),
    ]);
    assert_eq!(code, 1);
    insta::assert_snapshot!("same_host_across_clusters", stderr);
}

#[test]
fn allowed_ips_open_to_all_warns() {
    let extra = "allowed_ips = [\"0.0.0.0/0\", \"::/0\", \"10.0.0.0/24\"]\n";
    let (code, stderr) = validate(&[("clusters/pg.toml", &cluster("single", extra, &["10.0.0.1"]))]);
    assert_eq!(code, 0, "a warning does not fail validation:\n{stderr}");
    insta::assert_snapshot!("allowed_ips_open_to_all", stderr);
}

#[test]
fn secret_references_name_a_variable_and_a_file_outside_the_repository() {
    let repo = TempRepo::new();
    let extra = "[passwords]\nadmin = { env = \"\" }\nreplication = { file = \"secrets/replication\" }\n";
    // HOME is the repository here, so ~/ leads into it.
    let fleet =
        "[dns]\nserver = \"10.0.0.53:53\"\nzone = \"db.example.\"\ntsig_key = { file = \"~/keys/tsig\" }\n";
    let migrate = "action = \"migrate\"\ncluster = \"pg\"\nsource = \"postgresql://app@old.example/app\"\npassword = { file = \"\" }\n";
    repo.commit_files(
        "secrets",
        &[
            ("clusters/pg.toml", &cluster("single", extra, &["10.0.0.1"])),
            ("fleet.toml", fleet),
            ("requests/2026-12-01-migrate.toml", migrate),
        ],
    );
    let (code, stderr) = run_with_home(&repo, repo.path());
    assert_eq!(code, 1);
    insta::assert_snapshot!("secret_references", stderr);
}

#[test]
fn durations_must_be_longer_than_zero() {
    let fleet = "[ssh]\nconnect_timeout = \"0s\"\n";
    let (code, stderr) = validate(&[
        ("fleet.toml", fleet),
        ("clusters/pg.toml", &cluster("single", "", &["10.0.0.1"])),
    ]);
    assert_eq!(code, 1);
    insta::assert_snapshot!("zero_connect_timeout", stderr);
}

#[test]
fn enum_values_and_unknown_table_keys_name_what_is_allowed() {
    let fleet = "[hosts]\nservice_manager = \"systemctl\"\n";
    let extra = "[passwords]\nroot = { env = \"PG_ROOT\" }\n";
    let (code, stderr) = validate(&[
        ("fleet.toml", fleet),
        ("clusters/pg.toml", &cluster("single", extra, &["10.0.0.1"])),
    ]);
    assert_eq!(code, 1);
    assert!(!stderr.contains("expected a string, integer"), "{stderr}");
    insta::assert_snapshot!("allowed_values_and_keys", stderr);
}

#[test]
fn bad_cron_names_the_field_the_value_and_the_range() {
    let extra = "[backup]\nschedule = \"0 25 * * *\"\n";
    let (code, stderr) = validate(&[("clusters/pg.toml", &cluster("single", extra, &["10.0.0.1"]))]);
    assert_eq!(code, 1);
    insta::assert_snapshot!("cron_out_of_range", stderr);
}

#[test]
fn retain_beyond_its_range_names_the_field_and_the_range() {
    let extra = "[backup]\nschedule = \"daily\"\nretain = 9223372036854775807\n";
    let (code, stderr) = validate(&[("clusters/pg.toml", &cluster("single", extra, &["10.0.0.1"]))]);
    assert_eq!(code, 1);
    insta::assert_snapshot!("retain_out_of_range", stderr);
}

#[test]
fn port_in_settings_points_at_the_top_level_port() {
    let extra = "[settings]\nport = 5433\n";
    let (code, stderr) = validate(&[("clusters/pg.toml", &cluster("single", extra, &["10.0.0.1"]))]);
    assert_eq!(code, 1);
    insta::assert_snapshot!("port_in_settings", stderr);
}

#[test]
fn an_empty_cluster_file_is_told_the_toml_to_write() {
    let (code, stderr) = validate(&[("clusters/pg.toml", "")]);
    assert_eq!(code, 1);
    insta::assert_snapshot!("empty_cluster_file", stderr);
}

#[test]
fn values_of_the_wrong_kind_name_what_is_allowed() {
    let fleet = "[hosts]\nservice_manager = 5\n[notify]\nemail = { smtp = \"smtp://mail.example:25\", from = \"a@example\", to = [\"b@example\"], extra = 1 }\n";
    let pg = "name = \"pg\"\nengine = 5\nversion = \"16\"\ntopology = \"single\"\n\
              [passwords]\nadmin = { envv = \"PG_ADMIN\" }\nreplication = { env = 5 }\n[[nodes]]\nhost = \"10.0.0.1\"\n";
    let (code, stderr) = validate(&[("fleet.toml", fleet), ("clusters/pg.toml", pg)]);
    assert_eq!(code, 1);
    insta::assert_snapshot!("wrong_kinds_of_value", stderr);
}
