//! The SSH transport against the lab's real OpenSSH servers. Skipped unless
//! DBFLEET_LAB=1 (see tests/common/lab.rs). Timings are printed; run with
//! `--nocapture` to see them.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::lab::Lab;
use dbfleet::transport::{pipe, Command, SshConfig, SshPool, SshTransport, Transport, TransportError};
use sha2::{Digest, Sha256};

fn config(lab: &Lab) -> SshConfig {
    let mut config = SshConfig::new("root", lab.key().into(), lab.known_hosts().into());
    config.connect_timeout = Duration::from_secs(5);
    config
}

fn transport(lab: &Lab, host: &str) -> SshTransport {
    SshTransport::new(lab.ip(host).to_string(), Arc::new(config(lab)))
}

/// Deterministic pseudo-random bytes (xorshift), so they do not compress.
fn noise(len: usize) -> Vec<u8> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// The known_hosts lines of `lab` whose host list names `ip`, and the rest.
fn split_known_hosts(lab: &Lab, ip: &str) -> (Vec<String>, Vec<String>) {
    let text = std::fs::read_to_string(lab.known_hosts()).unwrap();
    text.lines()
        .map(str::to_string)
        .partition(|l| l.split(' ').next().unwrap().split(',').any(|h| h == ip))
}

fn fingerprint(known_hosts_line: &str) -> String {
    let b64 = known_hosts_line.split(' ').nth(2).unwrap();
    let key = russh::keys::parse_public_key_base64(b64).unwrap();
    key.fingerprint(russh::keys::HashAlg::Sha256).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_commands_and_reports_exit_codes() {
    let Some(lab) = Lab::get() else { return };
    let t = transport(&lab, "h1");

    let started = Instant::now();
    let out = t.run(&Command::new("hostname")).await.unwrap();
    let first = started.elapsed();
    assert_eq!(out.stdout_str(), "h1\n");
    assert!(out.success());

    let out = t
        .run(&Command::new("sh").args(["-c", "echo to-err >&2; exit 7"]))
        .await
        .unwrap();
    assert_eq!(out.status, Some(7));
    assert_eq!(out.stderr_str(), "to-err\n");

    let err = t
        .run_checked(&Command::new("ls").arg("/no/such/dir"))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("10.231.0.11: ls exited with status 2: ls: cannot access"),
        "{err}"
    );

    // Values with shell syntax arrive as they are.
    let tricky = "it's $HOME; `id` \"q\"\nnext";
    let out = t
        .run_checked(
            &Command::new("printf")
                .args(["%s", tricky])
                .run_as("postgres")
                .cwd("/tmp"),
        )
        .await
        .unwrap();
    assert_eq!(out.stdout_str(), tricky);

    let rounds = 50;
    let started = Instant::now();
    for _ in 0..rounds {
        t.run_checked(&Command::new("true")).await.unwrap();
    }
    let per = started.elapsed() / rounds;
    println!("first command (connect + auth + run): {first:?}; reused connection: {per:?} per command");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_50_mb_of_stdin() {
    let Some(lab) = Lab::get() else { return };
    let t = transport(&lab, "h2");
    t.connect().await.unwrap();
    let data = noise(50 << 20);
    let want = hex::encode(Sha256::digest(&data));
    let started = Instant::now();
    let out = t
        .run_checked(&Command::new("sha256sum").stdin(data))
        .await
        .unwrap();
    let took = started.elapsed();
    assert_eq!(out.stdout_str(), format!("{want}  -\n"));
    println!("50 MiB stdin: {took:?}, {:.0} MiB/s", 50.0 / took.as_secs_f64());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_commands_concurrently_on_one_connection() {
    let Some(lab) = Lab::get() else { return };
    let t = transport(&lab, "h3");
    t.connect().await.unwrap();
    let started = Instant::now();
    let cmds: Vec<Command> = (0..10)
        .map(|i| Command::new("sh").args(["-c", &format!("sleep 1; echo {i}")]))
        .collect();
    let outs = futures::future::join_all(cmds.iter().map(|c| t.run_checked(c))).await;
    let took = started.elapsed();
    for (i, out) in outs.into_iter().enumerate() {
        assert_eq!(out.unwrap().stdout_str(), format!("{i}\n"));
    }
    assert!(took < Duration::from_millis(2500), "10 x sleep 1 took {took:?}");

    // More than sshd's MaxSessions (10) at once: they queue, none fails.
    let cmds: Vec<Command> = (0..25).map(|i| Command::new("echo").arg(i.to_string())).collect();
    let outs = futures::future::join_all(cmds.iter().map(|c| t.run_checked(c))).await;
    for (i, out) in outs.into_iter().enumerate() {
        assert_eq!(out.unwrap().stdout_str(), format!("{i}\n"));
    }

    // All of it went over a single TCP connection from us.
    let ours = t
        .run_checked(&Command::new("sh").args([
            "-c",
            "ss -Htn state established '( sport = :22 )' | grep -c 10.231.0.1:",
        ]))
        .await
        .unwrap();
    println!("10 x sleep 1 concurrently: {took:?}");
    assert_eq!(ours.stdout_str().trim(), "1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_file_is_atomic_and_keeps_the_previous_version() {
    let Some(lab) = Lab::get() else { return };
    let t = transport(&lab, "h1");
    let dir = "/tmp/dbfleet-e2e-write";
    t.run_checked(&Command::new("rm").args(["-rf", dir]))
        .await
        .unwrap();
    t.run_checked(&Command::new("mkdir").args(["-p", dir]))
        .await
        .unwrap();
    let path = format!("{dir}/my.cnf");

    assert_eq!(t.read_file(&path).await.unwrap(), None);
    t.write_file(&path, b"[mysqld]\nport = 3306\n", 0o644, "root", "root")
        .await
        .unwrap();
    t.write_file(&path, b"[mysqld]\nport = 3307\n", 0o640, "mysql", "mysql")
        .await
        .unwrap();

    let now = t.read_file(&path).await.unwrap().unwrap();
    assert_eq!(now, b"[mysqld]\nport = 3307\n");
    let prev = t.read_file(&format!("{path}.dbfleet-prev")).await.unwrap();
    assert_eq!(prev.as_deref(), Some(&b"[mysqld]\nport = 3306\n"[..]));
    let stat = t
        .run_checked(&Command::new("stat").args(["-c", "%a %U %G", &path]))
        .await
        .unwrap();
    assert_eq!(stat.stdout_str(), "640 mysql mysql\n");
    let listing = t
        .run_checked(&Command::new("ls").args(["-A", dir]))
        .await
        .unwrap();
    assert_eq!(listing.stdout_str(), "my.cnf\nmy.cnf.dbfleet-prev\n");

    // A failed write leaves the file as it was.
    let err = t
        .write_file(&path, b"broken", 0o640, "no-such-user", "mysql")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("invalid user"), "{err}");
    assert_eq!(t.read_file(&path).await.unwrap().unwrap(), now);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_host_key_is_refused() {
    let Some(lab) = Lab::get() else { return };
    let (h1_lines, others) = split_known_hosts(&lab, "10.231.0.11");
    let dir = tempfile::tempdir().unwrap();
    let known_hosts = dir.path().join("known_hosts");
    std::fs::write(&known_hosts, others.join("\n") + "\n").unwrap();
    let mut config = config(&lab);
    config.known_hosts = known_hosts.clone();
    let t = SshTransport::new("10.231.0.11", Arc::new(config));

    let err = t.run(&Command::new("true")).await.unwrap_err();
    assert!(matches!(err, TransportError::HostKeyUnknown { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "10.231.0.11: host key {} is not in {}; refusing to connect \
             (check the fingerprint on the host, then add its key to that file)",
            fingerprint(&h1_lines[0]),
            known_hosts.display()
        )
    );

    // A missing known_hosts file is the same refusal.
    let mut config = self::config(&lab);
    config.known_hosts = dir.path().join("absent");
    let t = SshTransport::new("10.231.0.11", Arc::new(config));
    let err = t.run(&Command::new("true")).await.unwrap_err();
    assert!(matches!(err, TransportError::HostKeyUnknown { .. }), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changed_host_key_is_refused() {
    let Some(lab) = Lab::get() else { return };
    let (h1_lines, _) = split_known_hosts(&lab, "10.231.0.11");
    let (h2_lines, _) = split_known_hosts(&lab, "10.231.0.12");
    // h2's key recorded for h1's address: what a reinstalled (or spoofed) h1 looks like.
    let h2_key: Vec<&str> = h2_lines[0].split(' ').skip(1).collect();
    let dir = tempfile::tempdir().unwrap();
    let known_hosts = dir.path().join("known_hosts");
    std::fs::write(
        &known_hosts,
        format!(
            "# test\n10.231.0.99 {}\n10.231.0.11 {}\n",
            h2_key.join(" "),
            h2_key.join(" ")
        ),
    )
    .unwrap();
    let mut config = config(&lab);
    config.known_hosts = known_hosts.clone();
    let t = SshTransport::new("10.231.0.11", Arc::new(config));

    let err = t.run(&Command::new("true")).await.unwrap_err();
    assert!(matches!(err, TransportError::HostKeyChanged { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "10.231.0.11: HOST KEY CHANGED: the host presented {}, which does not match \
             the key at {}:3; refusing to connect (someone may be intercepting the \
             connection, or the host was reinstalled)",
            fingerprint(&h1_lines[0]),
            known_hosts.display()
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_key_is_refused() {
    let Some(lab) = Lab::get() else { return };
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("id_ed25519");
    let made = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .status()
        .unwrap();
    assert!(made.success());
    let mut config = config(&lab);
    config.identity = key.clone();
    let t = SshTransport::new("10.231.0.11", Arc::new(config));
    let err = t.run(&Command::new("true")).await.unwrap_err();
    assert!(matches!(err, TransportError::AuthRefused { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "10.231.0.11: authentication refused for user root with key {}",
            key.display()
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn powered_off_host_times_out() {
    let Some(lab) = Lab::get() else { return };
    lab.poweroff("h4");
    let mut config = config(&lab);
    config.connect_timeout = Duration::from_secs(2);
    let t = SshTransport::new(lab.ip("h4").to_string(), Arc::new(config));
    let started = Instant::now();
    let err = t.run(&Command::new("true")).await.unwrap_err();
    let took = started.elapsed();
    lab.poweron("h4");
    assert!(err.is_unreachable(), "{err:?}");
    assert_eq!(
        err.to_string(),
        "10.231.0.14: timed out after 2s connecting to port 22"
    );
    assert!(took < Duration::from_secs(4), "{took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnects_after_the_connection_dropped() {
    let Some(lab) = Lab::get() else { return };
    let t = transport(&lab, "h2");
    t.run_checked(&Command::new("true")).await.unwrap();
    // Kill the sshd process that serves our connection (the shell's parent).
    let killed = t.run(&Command::new("sh").args(["-c", "kill -KILL $PPID"])).await;
    assert!(killed.is_err(), "{killed:?}");
    let out = t.run_checked(&Command::new("hostname")).await.unwrap();
    assert_eq!(out.stdout_str(), "h2\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn command_timeout_stops_the_remote_command() {
    let Some(lab) = Lab::get() else { return };
    let t = transport(&lab, "h3");
    // A duration no other test uses, to find this very process.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let marker = format!("30.{nanos:09}");
    let started = Instant::now();
    let err = t
        .run(&Command::new("sleep").arg(&marker).timeout(Duration::from_secs(1)))
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(err.to_string(), "10.231.0.13: timed out after 1s running sleep");
    let left = t
        .run(&Command::new("pgrep").args(["-f", &format!("sleep {marker}")]))
        .await
        .unwrap();
    assert_eq!(left.status, Some(1), "still running: {left:?}");
    // The connection is still good.
    t.run_checked(&Command::new("true")).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipes_between_hosts_without_local_files() {
    let Some(lab) = Lab::get() else { return };
    let pool = SshPool::new(config(&lab), 4);
    let (src, dst) = (pool.get("10.231.0.11"), pool.get("10.231.0.12"));
    let size = 64 << 20;
    let src_cmd = Command::new("sh").args([
        "-c",
        &format!(
            "head -c {size} /dev/urandom > /tmp/pipe.bin && sha256sum < /tmp/pipe.bin >&2 \
             && cat /tmp/pipe.bin && rm /tmp/pipe.bin"
        ),
    ]);
    let dst_cmd = Command::new("sha256sum");
    let started = Instant::now();
    let out = pipe(src.as_ref(), &src_cmd, dst.as_ref(), &dst_cmd)
        .await
        .unwrap();
    let took = started.elapsed();
    assert!(out.success(), "{out:?}");
    assert_eq!(out.bytes, size as u64);
    assert_eq!(out.src.stderr_str(), out.dst.stdout_str());
    println!(
        "pipe h1 -> h2, 64 MiB: {took:?} ({:.0} MiB/s, includes urandom and a temp file on h1)",
        64.0 / took.as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pool_works_on_every_host_in_order() {
    let Some(lab) = Lab::get() else { return };
    let pool = SshPool::new(config(&lab), 2);
    let hosts: Vec<String> = lab.hosts().iter().map(|h| h.ip.to_string()).collect();
    let cmd = Command::new("hostname");
    let names = pool
        .for_each_host(&hosts, |t| {
            let cmd = &cmd;
            async move { t.run_checked(cmd).await.map(|o| o.stdout_str()) }
        })
        .await;
    let names: Vec<String> = names.into_iter().map(|n| n.unwrap().trim().to_string()).collect();
    let want: Vec<String> = lab.hosts().iter().map(|h| h.name.clone()).collect();
    assert_eq!(names, want);
    assert!(Path::new(lab.known_hosts()).exists());
}

/// `run_all` over SSH: one remote shell for many commands, outputs exact
/// and in order, each command's stdin kept off every command line on the
/// host while it runs, and fewer processes than one channel each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_a_batch_in_one_remote_shell() {
    let Some(lab) = Lab::get() else { return };
    let t = transport(&lab, "h2");
    t.connect().await.unwrap();
    let secret = "batch-secret-7c1e 'quoted' $HOME";
    let cmds = vec![
        Command::new("printf").arg("no newline"),
        // Holds the secret on stdin for a moment, while `ps` looks.
        Command::new("sh")
            .args(["-c", "IFS= read -r s; sleep 1; printf '%s' \"$s\" | sha256sum"])
            .stdin(format!("{secret}\n")),
        Command::new("sh").args(["-c", "echo to-stderr >&2; exit 7"]),
        Command::new("test").args(["-d", "/etc"]),
        Command::new("cat").arg("/no/such/file"),
    ];
    let observer = transport(&lab, "h2");
    let look = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        observer
            .run_checked(&Command::new("ps").args(["-eo", "args"]))
            .await
    };
    let (outs, ps) = tokio::join!(t.run_all(&cmds), look);
    let outs = outs.expect("run_all");
    let ps = ps.expect("ps").stdout_str();
    assert!(ps.contains("sleep 1"), "ps ran while the batch did:\n{ps}");
    assert!(!ps.contains("batch-secret-7c1e"), "the secret shows in ps:\n{ps}");
    assert_eq!(outs.len(), cmds.len());
    assert_eq!(outs[0].stdout, b"no newline");
    let want = hex::encode(Sha256::digest(secret.as_bytes()));
    assert_eq!(outs[1].stdout_str(), format!("{want}  -\n"));
    assert_eq!(
        (outs[2].status, outs[2].stderr_str().as_str()),
        (Some(7), "to-stderr\n")
    );
    assert!(outs[3].success());
    assert_eq!(outs[4].status, Some(1));
    assert!(outs[4].stderr_str().contains("No such file"), "{:?}", outs[4]);

    // The same 20 reads as one batch and as 20 commands.
    let reads: Vec<Command> = (0..20)
        .map(|_| Command::new("cat").arg("/etc/hostname"))
        .collect();
    let started = Instant::now();
    let batched = t.run_all(&reads).await.unwrap();
    let batch_took = started.elapsed();
    let started = Instant::now();
    for cmd in &reads {
        assert_eq!(t.run(cmd).await.unwrap().stdout, batched[0].stdout);
    }
    println!(
        "20 reads: one batch {batch_took:?}, one channel each {:?}",
        started.elapsed()
    );
}
