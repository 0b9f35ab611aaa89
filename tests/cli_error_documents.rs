//! `--format markdown|json` on a repository that does not validate: a
//! document showing the problems on stdout (never an empty pull-request
//! comment) and exit 1; the text form keeps them on stderr.

mod common;

use common::cli::{self, output};
use common::git::TempRepo;

const BROKEN: &str = r#"name = "shop"
engine = "mariadb"
version = "9.9"
topology = "primary-replica"

[[nodes]]
host = "10.0.0.300"
[[nodes]]
host = "10.0.0.12"
"#;

fn broken() -> TempRepo {
    TempRepo::with_files(&[("clusters/shop.toml", BROKEN)])
}

fn dbfleet(repo: &TempRepo, args: &[&str]) -> (i32, String, String) {
    let state = repo.path().join(".state-none");
    output(
        cli::dbfleet()
            .current_dir(repo.path())
            .args(args)
            .arg("--state-dir")
            .arg(state),
    )
}

/// Defect 8: `plan --format markdown > plan.md` posted an empty comment.
#[test]
fn plan_markdown_of_an_invalid_repository_shows_the_errors() {
    let repo = broken();
    for mode in [&["--offline"][..], &["--base", "HEAD"][..]] {
        let args = [&["plan", ".", "--format", "markdown"][..], mode].concat();
        let (code, md, stderr) = dbfleet(&repo, &args);
        assert_eq!(code, 1, "{args:?}\n{md}\n{stderr}");
        assert!(stderr.contains("--> clusters/shop.toml:3:11"), "{stderr}");
        insta::assert_snapshot!("plan_markdown_invalid", md);
    }
}

#[test]
fn plan_json_of_an_invalid_repository_lists_the_diagnostics() {
    let repo = broken();
    let (code, json, stderr) = dbfleet(&repo, &["plan", ".", "--offline", "--format", "json"]);
    assert_eq!(code, 1, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(v["valid"], false);
    assert_eq!(v["format_version"], 1);
    assert_eq!(v["summary"], "2 errors");
    let diags = v["diagnostics"].as_array().expect("diagnostics");
    let located: Vec<String> = diags
        .iter()
        .map(|d| format!("{}:{}:{}: {}", d["file"], d["line"], d["column"], d["field"]))
        .collect();
    assert_eq!(
        located,
        [
            r#""clusters/shop.toml":3:11: "version""#,
            r#""clusters/shop.toml":7:8: "nodes[0].host""#,
        ]
    );
    assert!(diags
        .iter()
        .all(|d| d["message"].is_string() && d["severity"] == "error"));
}

#[test]
fn plan_text_of_an_invalid_repository_keeps_the_errors_on_stderr() {
    let repo = broken();
    let (code, stdout, stderr) = dbfleet(&repo, &["plan", ".", "--offline"]);
    assert_eq!(code, 1);
    assert_eq!(stdout, "");
    assert!(stderr.contains("--> clusters/shop.toml:7:8"), "{stderr}");
    assert!(stderr.ends_with("2 errors\n"), "{stderr}");
}

/// `validate --format markdown` printed the text form.
#[test]
fn validate_markdown_is_a_markdown_document() {
    let repo = broken();
    let (code, md, stderr) = dbfleet(&repo, &["validate", ".", "--format", "markdown"]);
    assert_eq!(code, 1, "{stderr}");
    insta::assert_snapshot!("validate_markdown_invalid", md);
    repo.write(
        "clusters/shop.toml",
        &BROKEN.replace("9.9", "10.11").replace("10.0.0.300", "10.0.0.11"),
    );
    let (code, md, stderr) = dbfleet(&repo, &["validate", ".", "--format", "markdown"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        md,
        "### dbfleet validate\n\n**`.`: valid (1 cluster, 2 nodes, 0 requests)**\n\n"
    );
}

#[test]
fn validate_json_gives_line_and_column() {
    let repo = broken();
    let (code, json, _) = dbfleet(&repo, &["validate", ".", "--format", "json"]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(v["diagnostics"][0]["line"], 3);
    assert_eq!(v["diagnostics"][0]["column"], 11);
}

/// 300 broken clusters: the document of their problems still fits a
/// pull-request comment, its first problems shown and the cut named, for
/// `plan` (at its --max-bytes) and `validate`.
#[test]
fn a_long_list_of_problems_fits_a_pull_request_comment() {
    let files: Vec<(String, String)> = (1..=300)
        .map(|i| {
            (
                format!("clusters/shop{i}.toml"),
                BROKEN.replace("\"shop\"", &format!("\"shop{i}\"")),
            )
        })
        .collect();
    let refs: Vec<(&str, &str)> = files.iter().map(|(p, t)| (p.as_str(), t.as_str())).collect();
    let repo = TempRepo::with_files(&refs);
    for (args, max) in [
        (&["plan", ".", "--offline", "--format", "markdown"][..], 60_000),
        (
            &[
                "plan",
                ".",
                "--offline",
                "--format",
                "markdown",
                "--max-bytes",
                "20000",
            ][..],
            20_000,
        ),
        (&["validate", ".", "--format", "markdown"][..], 60_000),
    ] {
        let (code, md, _) = dbfleet(&repo, args);
        assert_eq!(code, 1, "{args:?}");
        assert!(md.len() <= max, "{args:?}: {} bytes", md.len());
        assert!(
            md.contains("- **error** `clusters/shop1.toml:"),
            "{args:?}:\n{md}"
        );
        assert!(
            md.contains("items of the list were left out to fit a pull-request comment"),
            "{args:?}:\n{md}"
        );
    }
    let (_, whole, _) = dbfleet(
        &repo,
        &[
            "plan",
            ".",
            "--offline",
            "--format",
            "markdown",
            "--max-bytes",
            "0",
        ],
    );
    assert!(whole.len() > 60_000, "{} bytes", whole.len());
    assert!(!whole.contains("left out"));
}
