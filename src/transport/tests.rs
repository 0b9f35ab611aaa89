//! Transport behaviour through [`LocalTransport`]: the same command lines,
//! scripts and stream plumbing the SSH transport uses, without a network.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::files::write_command;
use super::*;

fn local() -> LocalTransport {
    LocalTransport::new()
}

fn whoami() -> (String, String) {
    let out = std::process::Command::new("id").arg("-un").output().unwrap();
    let user = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let out = std::process::Command::new("id").arg("-gn").output().unwrap();
    let group = String::from_utf8(out.stdout).unwrap().trim().to_string();
    (user, group)
}

#[tokio::test]
async fn run_collects_stdout_stderr_and_status() {
    let t = local();
    let cmd = Command::new("sh").args(["-c", "echo out; echo err >&2; exit 3"]);
    let out = t.run(&cmd).await.unwrap();
    assert_eq!(out.status, Some(3));
    assert_eq!(out.stdout_str(), "out\n");
    assert_eq!(out.stderr_str(), "err\n");
    assert!(!out.success());
}

#[tokio::test]
async fn run_checked_names_program_and_stderr() {
    let t = local();
    let cmd = Command::new("ls").arg("/nonexistent-dbfleet-path");
    let err = t.run_checked(&cmd).await.unwrap_err();
    let text = err.to_string();
    assert!(text.starts_with("localhost: ls exited with status 2: "), "{text}");
    assert!(text.contains("nonexistent-dbfleet-path"), "{text}");
}

#[tokio::test]
async fn stdin_env_cwd_reach_the_program() {
    let t = local();
    let cmd = Command::new("sh")
        .args(["-c", "pwd; printf '%s|' \"$GREETING\"; cat"])
        .env("GREETING", "it's $HOME; `id`")
        .cwd("/")
        .stdin(b"from stdin".to_vec());
    let out = t.run_checked(&cmd).await.unwrap();
    assert_eq!(out.stdout_str(), "/\nit's $HOME; `id`|from stdin");
}

#[tokio::test]
async fn large_stdin_is_streamed() {
    let t = local();
    let data = vec![b'x'; 8 << 20];
    let out = t
        .run_checked(&Command::new("wc").arg("-c").stdin(data))
        .await
        .unwrap();
    assert_eq!(out.stdout_str().trim(), (8 << 20).to_string());
}

#[tokio::test]
async fn a_command_that_ignores_stdin_still_finishes() {
    let t = local();
    let out = t
        .run(&Command::new("true").stdin(vec![0u8; 4 << 20]))
        .await
        .unwrap();
    assert!(out.success());
}

#[tokio::test]
async fn timeout_kills_and_reports() {
    let t = local();
    let started = Instant::now();
    let cmd = Command::new("sleep")
        .arg("10")
        .timeout(Duration::from_millis(200));
    let err = t.run(&cmd).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(matches!(err, TransportError::Timeout { .. }), "{err:?}");
    assert_eq!(err.to_string(), "localhost: timed out after 200ms running sleep");
}

#[tokio::test]
async fn missing_program_is_exit_127() {
    let out = local()
        .run(&Command::new("dbfleet-no-such-program"))
        .await
        .unwrap();
    assert_eq!(out.status, Some(127));
}

#[tokio::test]
async fn invalid_command_is_refused_before_running() {
    let err = local()
        .run(&Command::new("echo").env("BAD NAME", "x"))
        .await
        .unwrap_err();
    assert!(matches!(err, TransportError::InvalidCommand { .. }), "{err:?}");
}

#[tokio::test]
async fn write_file_is_atomic_and_keeps_previous() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("my file's.cnf");
    let path = path.to_str().unwrap();
    let (user, group) = whoami();
    let t = local();

    assert_eq!(t.read_file(path).await.unwrap(), None);
    t.write_file(path, b"v1\n", 0o640, &user, &group).await.unwrap();
    assert_eq!(t.read_file(path).await.unwrap().as_deref(), Some(&b"v1\n"[..]));
    let prev = format!("{path}{}", files::PREV_SUFFIX);
    assert_eq!(t.read_file(&prev).await.unwrap(), None);

    t.write_file(path, b"v2 $x 'q'\n", 0o600, &user, &group)
        .await
        .unwrap();
    assert_eq!(
        t.read_file(path).await.unwrap().as_deref(),
        Some(&b"v2 $x 'q'\n"[..])
    );
    assert_eq!(t.read_file(&prev).await.unwrap().as_deref(), Some(&b"v1\n"[..]));

    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).unwrap().permissions().mode();
    assert_eq!(mode & 0o7777, 0o600);
    // No temporary file left behind.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[tokio::test]
async fn write_file_failure_leaves_the_old_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    let path = path.to_str().unwrap();
    let (user, group) = whoami();
    let t = local();
    t.write_file(path, b"old", 0o644, &user, &group).await.unwrap();
    let err = t
        .write_file(path, b"new", 0o644, "dbfleet-no-such-user", &group)
        .await
        .unwrap_err();
    assert!(matches!(err, TransportError::Failed { .. }), "{err:?}");
    assert!(err.to_string().contains("dbfleet-no-such-user"), "{err}");
    assert_eq!(std::fs::read(path).unwrap(), b"old");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[tokio::test]
async fn file_paths_must_be_absolute() {
    let t = local();
    for bad in ["relative", "/etc/", ""] {
        let err = t.read_file(bad).await.unwrap_err();
        assert!(matches!(err, TransportError::InvalidCommand { .. }), "{bad}");
    }
}

#[test]
fn contents_travel_on_stdin_not_the_command_line() {
    let cmd = write_command("/etc/x.cnf", b"password=secret", 0o600, "root", "root").unwrap();
    let line = cmd.to_exec_string().unwrap();
    assert!(!line.contains("secret"));
    assert!(line.ends_with("'sh' '/etc/x.cnf' '600' 'root' 'root'"), "{line}");
    assert_eq!(cmd.stdin.as_deref(), Some(&b"password=secret"[..]));
    assert!(write_command("/x", b"", 0o10000, "root", "root").is_err());
}

#[tokio::test]
async fn pipe_streams_between_commands() {
    let (a, b) = (local(), local());
    let src = Command::new("head").args(["-c", "5000000", "/dev/zero"]);
    let dst = Command::new("wc").arg("-c");
    let out = pipe(&a, &src, &b, &dst).await.unwrap();
    assert!(out.success(), "{out:?}");
    assert_eq!(out.bytes, 5_000_000);
    assert_eq!(out.dst.stdout_str().trim(), "5000000");
}

#[tokio::test]
async fn pipe_stops_the_source_when_the_destination_quits() {
    let (a, b) = (local(), local());
    let src = Command::new("cat").arg("/dev/zero");
    let dst = Command::new("head").args(["-c", "1000"]);
    let out = tokio::time::timeout(Duration::from_secs(10), pipe(&a, &src, &b, &dst))
        .await
        .unwrap()
        .unwrap();
    assert!(out.dst.success());
    assert_eq!(out.dst.stdout.len(), 1000);
    assert!(!out.src.success(), "{out:?}");
}

#[tokio::test]
async fn pipe_refuses_a_destination_with_stdin() {
    let t = local();
    let err = pipe(&t, &Command::new("true"), &t, &Command::new("cat").stdin("x"))
        .await
        .unwrap_err();
    assert!(matches!(err, TransportError::InvalidCommand { .. }), "{err:?}");
}

#[tokio::test]
async fn pool_runs_in_input_order_within_the_limit() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let config = SshConfig::new("root", "/nonexistent/key".into(), "/nonexistent/kh".into());
    let pool = SshPool::new(config, 2);
    let running = AtomicUsize::new(0);
    let peak = AtomicUsize::new(0);
    let hosts = ["h1", "h2", "h3", "h4", "h5"];
    let results = pool
        .for_each_host(&hosts, |t| {
            let (running, peak) = (&running, &peak);
            async move {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(50)).await;
                running.fetch_sub(1, Ordering::SeqCst);
                t.host().to_string()
            }
        })
        .await;
    assert_eq!(results, hosts);
    assert_eq!(peak.load(Ordering::SeqCst), 2);
    assert!(Arc::ptr_eq(&pool.get("h1"), &pool.get("h1")));
}

#[tokio::test]
async fn ssh_identity_problem_is_reported_before_connecting() {
    let config = SshConfig::new("root", "/nonexistent/key".into(), "/nonexistent/kh".into());
    let t = SshTransport::new("192.0.2.1", Arc::new(config));
    let err = t.run(&Command::new("true")).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "192.0.2.1: could not load the private key /nonexistent/key"
    );
}

#[tokio::test]
async fn waiters_share_a_failed_connection_attempt() {
    // A server that accepts and then says nothing: the SSH handshake hangs.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("id_ed25519");
    let made = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .status()
        .unwrap();
    assert!(made.success());
    let mut config = SshConfig::new("root", key, dir.path().join("known_hosts"));
    config.port = port;
    config.connect_timeout = Duration::from_millis(300);
    let t = SshTransport::new("127.0.0.1", Arc::new(config));

    let cmds: Vec<Command> = (0..5).map(|_| Command::new("true")).collect();
    let started = Instant::now();
    let results = futures::future::join_all(cmds.iter().map(|c| t.run(c))).await;
    let took = started.elapsed();
    for result in results {
        let err = result.unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("127.0.0.1: timed out after 300ms connecting to port {port}")
        );
        assert!(err.is_unreachable());
    }
    assert!(took < Duration::from_millis(1200), "{took:?}");
    // A later command tries again.
    let started = Instant::now();
    assert!(t.run(&cmds[0]).await.is_err());
    assert!(started.elapsed() >= Duration::from_millis(300));
    silent.abort();
}

#[tokio::test]
async fn stdin_reaches_a_command_under_a_timeout() {
    let out = local()
        .run_checked(
            &Command::new("wc")
                .arg("-c")
                .stdin(vec![7u8; 100_000])
                .timeout(Duration::from_secs(20)),
        )
        .await
        .unwrap();
    assert_eq!(out.stdout_str().trim(), "100000");
}
