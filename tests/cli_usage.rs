//! The command line itself: exit codes of usage errors, `--help` texts,
//! shell completions and the man page.

use assert_cmd::Command;
use clap::CommandFactory;

fn dbfleet() -> Command {
    let mut cmd = Command::cargo_bin("dbfleet").expect("binary built");
    cmd.env_remove("DBFLEET_STATE_DIR")
        .env_remove("DBFLEET_LOG")
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1");
    cmd
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = dbfleet().args(args).output().expect("run");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Defect 7: clap's own exit code for a usage error is 2, which
/// `--detailed-exitcode` means as "changes".
#[test]
fn usage_errors_exit_1_never_2() {
    for args in [
        &["plan", "--detailed-exitcode", "--offlin"][..],
        &["plan", "--format", "yaml"],
        &["plan", "--head", "HEAD"],
        &["frobnicate"],
        &["credentials"],
        &[],
    ] {
        let (code, stdout, stderr) = run(args);
        assert_eq!(code, 1, "dbfleet {args:?}:\n{stderr}");
        assert!(stdout.is_empty(), "dbfleet {args:?} wrote on stdout:\n{stdout}");
        assert!(
            stderr.starts_with("error: ") || stderr.contains("Usage: dbfleet"),
            "dbfleet {args:?}:\n{stderr}"
        );
    }
    let (_, _, stderr) = run(&["plan", "--detailed-exitcode", "--offlin"]);
    insta::assert_snapshot!("usage_error", stderr);
}

#[test]
fn help_and_version_exit_0_on_stdout() {
    for args in [
        &["--help"][..],
        &["-h"],
        &["plan", "--help"],
        &["help", "plan"],
        &["--version"],
    ] {
        let (code, stdout, stderr) = run(args);
        assert_eq!(code, 0, "dbfleet {args:?}:\n{stderr}");
        assert!(stderr.is_empty(), "dbfleet {args:?}:\n{stderr}");
        assert!(stdout.contains("dbfleet"), "dbfleet {args:?}:\n{stdout}");
    }
}

#[test]
fn help_snapshots() {
    let (_, main, _) = run(&["--help"]);
    insta::assert_snapshot!("help_main", main);
    let (_, plan, _) = run(&["plan", "--help"]);
    insta::assert_snapshot!("help_plan", plan);
}

/// Every command's `--help` shows an example and its exit codes.
#[test]
fn every_command_help_has_an_example_and_the_exit_codes() {
    let cli = dbfleet::cli::Cli::command();
    let names: Vec<&str> = cli.get_subcommands().map(|c| c.get_name()).collect();
    assert!(names.len() >= 8, "{names:?}");
    for name in names {
        let (code, out, _) = run(&[name, "--help"]);
        assert_eq!(code, 0, "{name}");
        for section in ["Examples:\n  dbfleet ", "Exit codes:\n  0  "] {
            assert!(
                out.contains(section),
                "`dbfleet {name} --help` has no {section:?}:\n{out}"
            );
        }
    }
}

/// Must show 4: the bash completion script loads in bash and registers a
/// completion for dbfleet.
#[test]
fn bash_completion_loads() {
    let out = std::process::Command::new("bash")
        .arg("--norc")
        .arg("-c")
        .arg(r#"source <("$DBFLEET" completions bash) && complete -p dbfleet"#)
        .env("DBFLEET", env!("CARGO_BIN_EXE_dbfleet"))
        .output()
        .expect("run bash");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("complete") && stdout.trim_end().ends_with(" dbfleet"),
        "{stdout}"
    );
}

/// The bash script completes subcommands and flags (here `pl` -> plan, and
/// plan's `--clu` -> --cluster).
#[test]
fn bash_completion_completes_commands_and_flags() {
    let script = r#"source <("$DBFLEET" completions bash)
complete_words() {
    COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
    COMPREPLY=()
    "$(complete -p dbfleet | sed -E 's/.*-F ([^ ]+).*/\1/')" dbfleet "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
    printf '%s\n' "${COMPREPLY[@]}"
}
complete_words dbfleet pl
complete_words dbfleet plan --clu
"#;
    let out = std::process::Command::new("bash")
        .arg("--norc")
        .arg("-c")
        .arg(script)
        .env("DBFLEET", env!("CARGO_BIN_EXE_dbfleet"))
        .output()
        .expect("run bash");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let words: Vec<&str> = stdout.split_whitespace().collect();
    assert!(
        words.contains(&"plan") && words.contains(&"--cluster"),
        "{stdout}"
    );
}

#[test]
fn zsh_and_fish_completions_name_dbfleet_and_its_commands() {
    for shell in ["zsh", "fish"] {
        let (code, out, err) = run(&["completions", shell]);
        assert_eq!(code, 0, "{err}");
        for word in ["dbfleet", "plan", "cluster", "detailed-exitcode"] {
            assert!(out.contains(word), "{shell} completions lack {word}");
        }
    }
    let (code, _, err) = run(&["completions", "tcsh"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("possible values: bash, elvish, fish, powershell, zsh"),
        "{err}"
    );
}

#[test]
fn man_page_prints_roff_with_the_exit_codes() {
    let (code, out, err) = run(&["man"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(".TH dbfleet 1"), "{out}");
    assert!(out.contains("Exit codes:"), "{out}");
    assert!(out.contains("completions"), "{out}");

    let dir = tempfile::tempdir().expect("tempdir");
    let (code, _, err) = run(&["man", "--write", dir.path().to_str().expect("utf-8")]);
    assert_eq!(code, 0, "{err}");
    for page in [
        "dbfleet.1",
        "dbfleet-plan.1",
        "dbfleet-status.1",
        "dbfleet-completions.1",
    ] {
        let text = std::fs::read_to_string(dir.path().join(page)).unwrap_or_else(|e| panic!("{page}: {e}"));
        assert!(text.contains(".TH"), "{page}:\n{text}");
    }
}
