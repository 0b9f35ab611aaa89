//! An unknown key inside an optional or nested table (`retention = 7` under
//! `[backup]`, `{ evn = "X" }` for a secret) is reported as that key, at its
//! own line, with the closest allowed field. One table per test, in
//! fleet.toml, a cluster file and a request file; the full text of every
//! message is kept under snapshot.

mod common;

use common::cli::{self, output};
use common::git::TempRepo;

const CLUSTER: &str = "name = \"shop\"\nengine = \"postgresql\"\nversion = \"16\"\ntopology = \"single\"\n";
const NODE: &str = "\n[[nodes]]\nhost = \"10.0.0.11\"\n";
const EMAIL: &str = "[notify.email]\nsmtp = \"smtp://mail.example.internal:587\"\nfrom = \"dbfleet@example.internal\"\nto = [\"ops@example.internal\"]\n";
const DNS: &str = "[dns]\nserver = \"10.0.0.53:53\"\nzone = \"db.example.internal.\"\n";

/// `dbfleet validate` on a repository of `files`: exit code and stderr.
fn validate(files: &[(&str, &str)]) -> (i32, String) {
    let repo = TempRepo::with_files(files);
    let (code, _, stderr) = output(
        cli::dbfleet()
            .env("HOME", "/nonexistent-home")
            .args(["validate", "--state-dir", "/nonexistent", "."])
            .current_dir(repo.path()),
    );
    (code, stderr)
}

fn fleet(text: &str) -> (i32, String) {
    validate(&[
        ("fleet.toml", text),
        ("clusters/shop.toml", &format!("{CLUSTER}{NODE}")),
    ])
}

fn cluster(extra: &str) -> (i32, String) {
    validate(&[("clusters/shop.toml", &format!("{CLUSTER}{extra}{NODE}"))])
}

fn request(text: &str) -> (i32, String) {
    validate(&[
        ("clusters/shop.toml", &format!("{CLUSTER}{NODE}")),
        ("requests/2026-11-30-migrate-shop.toml", text),
    ])
}

/// Each message names the key, where it was written, and what was meant.
fn assert_names(stderr: &str, key: &str, line: usize, meant: &str) {
    assert!(stderr.contains(&format!("unknown field `{key}`")), "{stderr}");
    assert!(
        stderr.contains(&format!(":{line}:")),
        "not at line {line}:\n{stderr}"
    );
    assert!(stderr.contains(&format!("did you mean `{meant}`?")), "{stderr}");
    assert!(!stderr.contains("expected a"), "{stderr}");
}

#[test]
fn cluster_backup() {
    let (code, stderr) = cluster("\n[backup]\nschedule = \"daily\"\nretention = 7\n");
    assert_eq!(code, 1);
    assert_names(&stderr, "retention", 8, "retain");
    insta::assert_snapshot!("cluster_backup", stderr);
}

#[test]
fn cluster_backup_inline() {
    let (code, stderr) = cluster("backup = { schedule = \"daily\", retention = 7 }\n");
    assert_eq!(code, 1);
    assert_names(&stderr, "retention", 5, "retain");
    insta::assert_snapshot!("cluster_backup_inline", stderr);
}

#[test]
fn cluster_passwords() {
    let (code, stderr) = cluster("\n[passwords]\nadmn = { env = \"SHOP_ADMIN\" }\n");
    assert_eq!(code, 1);
    assert_names(&stderr, "admn", 7, "admin");
    insta::assert_snapshot!("cluster_passwords", stderr);
}

#[test]
fn cluster_password_reference() {
    let (code, stderr) = cluster("\n[passwords]\nadmin = { evn = \"SHOP_ADMIN\" }\n");
    assert_eq!(code, 1);
    assert_names(&stderr, "evn", 7, "env");
    insta::assert_snapshot!("cluster_password_reference", stderr);
}

#[test]
fn cluster_password_reference_as_a_table() {
    let (code, stderr) = cluster("\n[passwords.replication]\nfiel = \"/etc/dbfleet/shop-replication\"\n");
    assert_eq!(code, 1);
    assert_names(&stderr, "fiel", 7, "file");
    insta::assert_snapshot!("cluster_password_reference_as_a_table", stderr);
}

#[test]
fn cluster_nodes() {
    let (code, stderr) = cluster("\n[[nodes]]\nhost = \"10.0.0.12\"\nhots = \"10.0.0.13\"\n");
    assert_eq!(code, 1);
    assert_names(&stderr, "hots", 8, "host");
    insta::assert_snapshot!("cluster_nodes", stderr);
}

#[test]
fn fleet_ssh() {
    let (code, stderr) = fleet("[ssh]\nusr = \"dbfleet\"\n");
    assert_eq!(code, 1);
    assert_names(&stderr, "usr", 2, "user");
    insta::assert_snapshot!("fleet_ssh", stderr);
}

#[test]
fn fleet_hosts() {
    let (code, stderr) = fleet("[hosts]\ninstall = true\n");
    assert_eq!(code, 1);
    assert_names(&stderr, "install", 2, "install_packages");
    insta::assert_snapshot!("fleet_hosts", stderr);
}

#[test]
fn fleet_backup() {
    let (code, stderr) = fleet("[backup]\ndirectory = \"/srv/backups\"\n");
    assert_eq!(code, 1);
    assert_names(&stderr, "directory", 2, "dir");
    insta::assert_snapshot!("fleet_backup", stderr);
}

#[test]
fn fleet_notify() {
    let (code, stderr) = fleet("[notify]\nwebhooks = \"https://hooks.example.internal/dbfleet\"\n");
    assert_eq!(code, 1);
    assert_names(&stderr, "webhooks", 2, "webhook");
    insta::assert_snapshot!("fleet_notify", stderr);
}

#[test]
fn fleet_notify_email() {
    let (code, stderr) = fleet(&format!("{EMAIL}passwd = {{ env = \"SMTP_PASSWORD\" }}\n"));
    assert_eq!(code, 1);
    assert_names(&stderr, "passwd", 5, "password");
    insta::assert_snapshot!("fleet_notify_email", stderr);
}

#[test]
fn fleet_notify_email_password() {
    let (code, stderr) = fleet(&format!("{EMAIL}password = {{ evn = \"SMTP_PASSWORD\" }}\n"));
    assert_eq!(code, 1);
    assert_names(&stderr, "evn", 5, "env");
    insta::assert_snapshot!("fleet_notify_email_password", stderr);
}

#[test]
fn fleet_dns() {
    let (code, stderr) = fleet(&format!("{DNS}tsig = {{ file = \"/etc/dbfleet/tsig.key\" }}\n"));
    assert_eq!(code, 1);
    assert_names(&stderr, "tsig", 4, "tsig_key");
    insta::assert_snapshot!("fleet_dns", stderr);
}

#[test]
fn fleet_dns_tsig_key() {
    let (code, stderr) = fleet(&format!(
        "{DNS}tsig_key = {{ fil = \"/etc/dbfleet/tsig.key\" }}\n"
    ));
    assert_eq!(code, 1);
    assert_names(&stderr, "fil", 4, "file");
    insta::assert_snapshot!("fleet_dns_tsig_key", stderr);
}

#[test]
fn request_password() {
    let (code, stderr) = request(
        "action = \"migrate\"\ncluster = \"shop\"\nsource = \"postgres://old.example.internal/shop\"\npassword = { evn = \"OLD_PASSWORD\" }\n",
    );
    assert_eq!(code, 1);
    assert_names(&stderr, "evn", 4, "env");
    insta::assert_snapshot!("request_password", stderr);
}

#[test]
fn request_password_as_a_table() {
    let (code, stderr) = request(
        "action = \"migrate\"\ncluster = \"shop\"\nsource = \"postgres://old.example.internal/shop\"\n\n[password]\nenvironment = \"OLD_PASSWORD\"\n",
    );
    assert_eq!(code, 1);
    assert_names(&stderr, "environment", 6, "env");
    insta::assert_snapshot!("request_password_as_a_table", stderr);
}

/// Both fields of a secret reference: neither is unknown, the table is
/// simply not one of the two forms.
#[test]
fn a_secret_reference_with_both_forms_is_not_an_unknown_key() {
    let (code, stderr) =
        cluster("\n[passwords.admin]\nenv = \"SHOP_ADMIN\"\nfile = \"/etc/dbfleet/shop-admin\"\n");
    assert_eq!(code, 1);
    assert!(!stderr.contains("unknown field"), "{stderr}");
    assert!(stderr.contains("expected a secret reference"), "{stderr}");
}
