use super::*;

#[test]
fn quote_table() {
    let cases: &[(&str, &str)] = &[
        ("plain", "'plain'"),
        ("", "''"),
        ("two words", "'two words'"),
        ("it's", r"'it'\''s'"),
        ("'", r"''\'''"),
        ("$HOME", "'$HOME'"),
        ("a;rm -rf /", "'a;rm -rf /'"),
        ("line1\nline2", "'line1\nline2'"),
        ("`id` $(id) \\ \"q\"", "'`id` $(id) \\ \"q\"'"),
        ("*?[a]", "'*?[a]'"),
    ];
    for (word, want) in cases {
        assert_eq!(quote(word), *want, "quoting {word:?}");
    }
}

/// Every quoted word reaches the program unchanged through a real `sh`.
#[test]
fn quoted_words_survive_a_real_shell() {
    let words = [
        "plain",
        "",
        "two words",
        "it's",
        "''",
        "$HOME",
        "a;echo pwned",
        "line1\nline2",
        "`id` $(id) \\ \"q\"",
        "*",
        "-n",
        "trailing\n",
        "tab\there",
        "ünïcödé",
    ];
    let cmd = Command::new("printf").arg("%s\\0").args(words);
    let line = cmd.to_exec_string().unwrap();
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(&line)
        .output()
        .unwrap();
    assert!(out.status.success(), "{line}");
    let got: Vec<&[u8]> = out.stdout.split(|b| *b == 0).collect();
    let want: Vec<&[u8]> = words.iter().map(|w| w.as_bytes()).chain([&b""[..]]).collect();
    assert_eq!(got, want);
}

#[test]
fn exec_string_plain() {
    let cmd = Command::new("mariadb").arg("-N").arg("-e").arg("SELECT 1");
    assert_eq!(
        cmd.to_exec_string().unwrap(),
        "exec 'mariadb' '-N' '-e' 'SELECT 1'"
    );
}

#[test]
fn exec_string_with_everything() {
    let cmd = Command::new("psql")
        .arg("-c")
        .arg("select 'x'")
        .env("PGPASSWORD", "p'w $x")
        .env("PGCONNECT_TIMEOUT", "5")
        .run_as("postgres")
        .cwd("/tmp/a dir");
    assert_eq!(
        cmd.to_exec_string().unwrap(),
        "cd '/tmp/a dir' && exec 'runuser' '-u' 'postgres' '--' 'env' \
         'PGPASSWORD=p'\\''w $x' 'PGCONNECT_TIMEOUT=5' 'psql' '-c' 'select '\\''x'\\'''"
    );
}

#[test]
fn stdin_is_not_in_the_command_line() {
    let cmd = Command::new("cat").stdin(b"secret-password".to_vec());
    let line = cmd.to_exec_string().unwrap();
    assert_eq!(line, "exec 'cat'");
    assert!(!format!("{cmd:?}").contains("secret"));
    assert!(format!("{cmd:?}").contains("stdin_len: Some(15)"));
}

#[test]
fn builder_sets_fields() {
    let cmd = Command::new("redis-cli")
        .args(["-p", "6379"])
        .stdin("PING\n")
        .timeout(Duration::from_secs(3));
    assert_eq!(cmd.program, "redis-cli");
    assert_eq!(cmd.args, vec!["-p", "6379"]);
    assert_eq!(cmd.stdin.as_deref(), Some(&b"PING\n"[..]));
    assert_eq!(cmd.timeout, Some(Duration::from_secs(3)));
    assert_eq!(cmd.run_as, None);
}

#[test]
fn unsafe_commands_are_refused() {
    let cases: Vec<(Command, CommandError)> = vec![
        (Command::new(""), CommandError::EmptyProgram),
        (
            Command::new("echo").arg("a\0b"),
            CommandError::NulByte {
                program: "echo".into(),
            },
        ),
        (
            Command::new("echo").env("A=B", "x"),
            CommandError::BadEnvName { name: "A=B".into() },
        ),
        (
            Command::new("echo").env("1A", "x"),
            CommandError::BadEnvName { name: "1A".into() },
        ),
        (
            Command::new("X=1").env("A", "x"),
            CommandError::ProgramWithEquals {
                program: "X=1".into(),
            },
        ),
        (
            Command::new("id").run_as("-root"),
            CommandError::BadUser { user: "-root".into() },
        ),
    ];
    for (cmd, want) in cases {
        assert_eq!(cmd.to_exec_string(), Err(want), "{cmd:?}");
    }
}

#[test]
fn output_helpers() {
    let ok = Output {
        status: Some(0),
        stdout: b"h1\n".to_vec(),
        ..Output::default()
    };
    assert!(ok.success());
    assert_eq!(ok.stdout_str(), "h1\n");
    let failed = Output {
        status: Some(2),
        ..Output::default()
    };
    assert!(!failed.success());
    let killed = Output {
        status: None,
        signal: Some("KILL".into()),
        ..Output::default()
    };
    assert!(!killed.success());
}

#[test]
fn timeout_is_enforced_on_the_host() {
    let cmd = Command::new("sleep")
        .arg("10")
        .run_as("mysql")
        .timeout(Duration::from_millis(1500));
    assert_eq!(
        cmd.to_exec_string().unwrap(),
        "exec 'timeout' '-k' '2s' '1.5s' 'runuser' '-u' 'mysql' '--' 'sleep' '10'"
    );
    // A transport's default applies to commands without their own.
    let cmd = Command::new("true");
    assert_eq!(
        cmd.exec_line(Some(Duration::from_secs(30))).unwrap(),
        "exec 'timeout' '-k' '2s' '30s' 'true'"
    );
    assert_eq!(cmd.exec_line(None).unwrap(), "exec 'true'");
}

#[test]
fn overrun_is_timeouts_status_after_the_limit() {
    let limit = Limit::start(Duration::ZERO);
    assert!(limit.overran(Some(124)));
    assert!(limit.overran(Some(137)));
    assert!(!limit.overran(Some(0)));
    assert!(!limit.overran(None));
    let limit = Limit::start(Duration::from_secs(60));
    assert!(
        !limit.overran(Some(124)),
        "124 before the limit is the program's own"
    );
}
