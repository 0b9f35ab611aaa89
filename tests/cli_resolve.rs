//! Nodes given by host name: validate accepts them beside `allowed_ips`;
//! plan looks them up (here `localhost`, from /etc/hosts, and a name under
//! `.invalid`, which never resolves) and renders the firewall and
//! pg_hba.conf with the addresses, showing what each name resolved to. A
//! name that does not resolve leaves its cluster out with an error naming
//! it; the other clusters are still planned.

mod common;

use assert_cmd::Command;
use common::git::TempRepo;
use serde_json::Value;
use std::path::Path;

const NAMED: &str = "name = \"shop\"\nengine = \"postgresql\"\nversion = \"15\"\ntopology = \"primary-replica\"\nallowed_ips = [\"10.1.0.0/16\"]\n\n[[nodes]]\nhost = \"localhost\"\n[[nodes]]\nhost = \"10.0.0.12\"\n";

const UNRESOLVED: &str = "name = \"kv\"\nengine = \"redis\"\nversion = \"7.0\"\ntopology = \"single\"\nallowed_ips = [\"10.1.0.0/16\"]\n\n[[nodes]]\nhost = \"kv1.dbfleet-test.invalid\"\n";

const GOOD: &str = "name = \"app\"\nengine = \"mariadb\"\nversion = \"10.11\"\ntopology = \"single\"\nallowed_ips = [\"10.1.0.0/16\"]\n\n[[nodes]]\nhost = \"10.0.0.21\"\n";

fn dbfleet(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::cargo_bin("dbfleet")
        .expect("binary")
        .current_dir(dir)
        .env_remove("DBFLEET_STATE_DIR")
        .env_remove("DBFLEET_LOG")
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .args(args)
        .output()
        .expect("run");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn offline(repo: &TempRepo, format: &str) -> (i32, String, String) {
    let state = repo.path().join("state");
    let state = state.to_str().expect("utf-8");
    dbfleet(
        repo.path(),
        &["plan", ".", "--offline", "--state-dir", state, "--format", format],
    )
}

#[test]
fn validate_accepts_host_names_with_allowed_ips() {
    let names = "name = \"shop\"\nengine = \"mariadb\"\nversion = \"10.11\"\ntopology = \"primary-replica\"\nallowed_ips = [\"10.1.0.0/16\"]\n\n[[nodes]]\nhost = \"db1.example.internal\"\n[[nodes]]\nhost = \"db2.example.internal\"\n";
    let repo = TempRepo::with_files(&[("clusters/shop.toml", names)]);
    let (code, stdout, stderr) = dbfleet(repo.path(), &["validate", ".", "--state-dir", "/nonexistent"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
    assert!(stdout.contains("valid (1 cluster, 2 nodes"), "{stdout}");
}

#[test]
fn an_offline_plan_renders_the_addresses_a_name_resolved_to() {
    let repo = TempRepo::with_files(&[("clusters/shop.toml", NAMED)]);
    let (code, text, stderr) = offline(&repo, "text");
    assert_eq!(code, 0, "{stderr}");
    // The node line says what the name resolved to.
    let line = text
        .lines()
        .find(|l| l.contains("+ shop1 ("))
        .expect("a line for shop1");
    assert!(line.starts_with("  + shop1 (localhost = 127.0.0.1"), "{line}");
    assert!(line.ends_with(", primary, #1): new node"), "{line}");
    // The firewall of both nodes lets shop1 in by address.
    let rule = "+\t\tip saddr 127.0.0.1 tcp dport 5432 accept comment \"node shop1\"";
    assert_eq!(text.matches(rule).count(), 2, "{text}");
    assert!(!text.contains("saddr localhost"), "{text}");
    // So does pg_hba.conf of the standby.
    assert!(
        text.contains("+host    replication  dbfleet_repl    127.0.0.1/32   scram-sha-256"),
        "{text}"
    );
    // The engine still connects by name.
    assert!(text.contains("host=localhost port=5432"), "{text}");

    let (code, md, stderr) = offline(&repo, "markdown");
    assert_eq!(code, 0, "{stderr}");
    assert!(md.contains("| `shop1` | localhost = 127.0.0.1"), "{md}");

    let (code, json, stderr) = offline(&repo, "json");
    assert_eq!(code, 0, "{stderr}");
    let plan: Value = serde_json::from_str(&json).expect("json");
    let nodes = &plan["clusters"][0]["nodes"];
    assert_eq!(nodes[0]["host"], "localhost");
    let address = nodes[0]["address"].as_array().expect("address");
    assert!(address.iter().any(|a| a == "127.0.0.1"), "{address:?}");
    assert!(
        address.iter().all(|a| a == "127.0.0.1" || a == "::1"),
        "{address:?}"
    );
    // An address needs no lookup.
    assert_eq!(nodes[1]["host"], "10.0.0.12");
    assert!(nodes[1].get("address").is_none(), "{}", nodes[1]);
}

#[test]
fn a_name_that_does_not_resolve_is_an_error_naming_it_and_the_others_plan() {
    let repo = TempRepo::with_files(&[("clusters/kv.toml", UNRESOLVED), ("clusters/app.toml", GOOD)]);
    let (code, text, stderr) = offline(&repo, "text");
    assert_eq!(code, 1, "{stderr}");
    let error = "error: cluster kv is not planned: host name `kv1.dbfleet-test.invalid` does not resolve: ";
    assert!(stderr.starts_with(error), "{stderr}");
    assert!(
        stderr.trim_end().len() > error.len(),
        "no reason given:\n{stderr}"
    );
    assert!(
        text.contains(&format!("! {}", &error["error: ".len()..])),
        "{text}"
    );
    assert!(
        text.contains("+ cluster app (mariadb 10.11, single): create"),
        "{text}"
    );
    assert!(!text.contains("cluster kv ("), "{text}");
    assert!(text.contains("1 cluster(s) not planned"), "{text}");

    let (code, json, _) = offline(&repo, "json");
    assert_eq!(code, 1);
    let plan: Value = serde_json::from_str(&json).expect("json");
    assert_eq!(plan["not_planned"][0]["cluster"], "kv");
    assert_eq!(plan["not_planned"][0]["host"], "kv1.dbfleet-test.invalid");
    assert_eq!(plan["clusters"][0]["name"], "app");
    assert_eq!(plan["summary"]["clusters_not_planned"], 1);

    let (code, md, _) = offline(&repo, "markdown");
    assert_eq!(code, 1);
    assert!(
        md.contains("> Cluster `kv` is not planned: host name `kv1.dbfleet-test.invalid` does not resolve: "),
        "{md}"
    );
}

#[test]
fn a_base_plan_resolves_names_too() {
    let repo = TempRepo::with_files(&[("clusters/app.toml", GOOD)]);
    repo.write("clusters/shop.toml", NAMED);
    repo.write("clusters/kv.toml", UNRESOLVED);
    let (code, text, stderr) = dbfleet(repo.path(), &["plan", ".", "--base", "HEAD"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.starts_with(
            "error: cluster kv is not planned: host name `kv1.dbfleet-test.invalid` does not resolve: "
        ),
        "{stderr}"
    );
    assert!(text.contains("+ shop1 (localhost = 127.0.0.1"), "{text}");
    assert!(text.contains("ip saddr 127.0.0.1 tcp dport 5432"), "{text}");
}
