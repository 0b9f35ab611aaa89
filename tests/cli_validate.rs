//! `dbfleet validate` on the examples and on broken repositories: exit codes
//! and the full text of every error message.

use assert_cmd::Command;
use std::path::Path;

fn dbfleet() -> Command {
    let mut cmd = Command::cargo_bin("dbfleet").expect("binary built");
    cmd.env_remove("DBFLEET_STATE_DIR").env("NO_COLOR", "1");
    cmd
}

#[test]
fn every_example_validates() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut seen = 0;
    for entry in std::fs::read_dir(&examples).expect("examples/") {
        let dir = entry.expect("entry").path();
        if !dir.is_dir() {
            continue;
        }
        seen += 1;
        let out = dbfleet()
            .arg("validate")
            .arg(&dir)
            .arg("--state-dir")
            .arg("/nonexistent")
            .output()
            .expect("run");
        assert!(
            out.status.success(),
            "{} does not validate:\n{}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains(": valid ("));
    }
    assert!(
        seen >= 20,
        "expected an example per engine and topology, found {seen}"
    );
}

fn broken(name: &str) -> (i32, String) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    let out = dbfleet()
        .current_dir(&dir)
        .args(["validate", ".", "--state-dir", "/nonexistent"])
        .output()
        .expect("run");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn syntax_and_structure_errors_name_file_line_and_field() {
    let (code, stderr) = broken("broken-structure");
    assert_eq!(code, 1);
    insta::assert_snapshot!("broken_structure", stderr);
}

#[test]
fn rule_errors_name_file_line_and_field() {
    let (code, stderr) = broken("broken-rules");
    assert_eq!(code, 1);
    insta::assert_snapshot!("broken_rules", stderr);
}

#[test]
fn json_format_lists_every_diagnostic() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/broken-rules");
    let out = dbfleet()
        .args(["validate", "--format", "json", "--state-dir", "/nonexistent"])
        .arg(&dir)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["valid"], false);
    let diags = v["diagnostics"].as_array().expect("array");
    assert!(diags
        .iter()
        .any(|d| d["file"] == "clusters/pg.toml" && d["field"] == "version"));
    assert!(diags
        .iter()
        .all(|d| d["file"].is_string() && d["message"].is_string()));
}

#[test]
fn missing_repository_is_an_error_not_a_panic() {
    let out = dbfleet()
        .args(["validate", "/nonexistent/repo"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: repository directory /nonexistent/repo does not exist\n"
    );
}
