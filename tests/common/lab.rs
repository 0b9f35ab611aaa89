//! The namespace test lab (`lab/lab.sh`) as seen from end-to-end tests.
//!
//! An end-to-end test lives in `tests/e2e_*.rs` and starts with
//!
//! ```ignore
//! let Some(lab) = Lab::get() else { return };   // skipped unless DBFLEET_LAB=1
//! lab.reset_hosts(&["h1", "h2"]);                // empty engine dirs, no engine running
//! ```
//!
//! `scripts/test` brings the lab up and runs these tests with `DBFLEET_LAB=1`. Without it they
//! pass at once, printing "skipped: lab not up". With it, hosts that are down are brought up
//! (which needs root and `lab/lab.sh deps`), and a lab that cannot be brought up fails the test.
//!
//! The system `ssh` client is used here for test assertions only; dbfleet itself talks russh.
//! A `Lab` holds the lab's lock (`$LAB_DIR/lock`) until it is dropped, so tests never overlap,
//! even across test binaries, parallel test threads or several people's test runs, and
//! `lab.sh down`/`destroy` from outside wait for the test to end.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use fs2::FileExt;

/// Environment variable that turns the end-to-end tests on.
pub const ENV_SWITCH: &str = "DBFLEET_LAB";

/// One lab host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    /// `h1`, `h2`, ...
    pub name: String,
    /// `10.231.0.11` for h1, and so on.
    pub ip: IpAddr,
}

/// A running lab, locked for the current test.
#[derive(Debug)]
pub struct Lab {
    script: PathBuf,
    dir: PathBuf,
    key: PathBuf,
    known_hosts: PathBuf,
    hosts: Vec<Host>,
    _lock: File,
}

impl Lab {
    /// The lab, ready for a test: every host of `LAB_HOSTS` up (started when it is not) and no
    /// partition left over from an earlier test. Hosts are *not* reset; call
    /// [`Lab::reset_hosts`].
    ///
    /// Returns `None` (and prints "skipped: lab not up") when `DBFLEET_LAB` is not `1`.
    ///
    /// # Panics
    /// When `DBFLEET_LAB=1` but the lab cannot be brought up.
    pub fn get() -> Option<Lab> {
        if std::env::var(ENV_SWITCH).as_deref() != Ok("1") {
            println!("skipped: lab not up ({ENV_SWITCH} is not 1; scripts/test runs the end-to-end tests)");
            return None;
        }
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("lab/lab.sh");
        let env = parse_env(&run_script(&script, &["env"]));
        let field = |k: &str| {
            env.get(k)
                .unwrap_or_else(|| panic!("`lab.sh env` printed no {k}"))
                .clone()
        };
        let dir = PathBuf::from(field("LAB_DIR"));
        let names = field("LAB_HOSTS");
        let hosts: Vec<Host> = names
            .split_whitespace()
            .map(|name| Host {
                name: name.to_string(),
                ip: field(&format!("LAB_IP_{name}")).parse().expect("host IP"),
            })
            .collect();
        let lock_path = dir.join("lock");
        let lock = std::fs::create_dir_all(&dir)
            .and_then(|()| {
                OpenOptions::new()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .open(&lock_path)
            })
            .unwrap_or_else(|e| {
                panic!(
                    "{ENV_SWITCH}=1 but {} cannot be opened ({e}); the lab needs root",
                    lock_path.display()
                )
            });
        lock.lock_exclusive().expect("lock the lab");
        let lab = Lab {
            script,
            key: PathBuf::from(field("LAB_KEY")),
            known_hosts: PathBuf::from(field("LAB_KNOWN_HOSTS")),
            dir,
            hosts,
            _lock: lock,
        };
        lab.make_ready();
        Some(lab)
    }

    /// Starts the hosts that are down (an earlier test powered them off, or the whole lab is
    /// down) and heals partitions.
    fn make_ready(&self) {
        let status = self.lab_sh_output(&["status"]);
        let text = String::from_utf8_lossy(&status.stdout);
        let off: Vec<&str> = text
            .lines()
            .filter_map(|l| {
                let name = l.split_whitespace().next()?;
                (self.hosts.iter().any(|h| h.name == name) && !l.ends_with("ssh=open")).then_some(name)
            })
            .collect();
        if !off.is_empty() {
            let mut args = vec!["up"];
            args.extend(off);
            self.lab_sh(&args);
        }
        if !text.contains("partitions: none") {
            self.lab_sh(&["heal"]);
        }
    }

    /// The hosts of `LAB_HOSTS` (h1..h4 unless set otherwise).
    pub fn hosts(&self) -> &[Host] {
        &self.hosts
    }

    /// The host called `name`.
    pub fn host(&self, name: &str) -> &Host {
        self.hosts
            .iter()
            .find(|h| h.name == name)
            .unwrap_or_else(|| panic!("no lab host {name} (LAB_HOSTS has {:?})", self.names()))
    }

    pub fn ip(&self, name: &str) -> IpAddr {
        self.host(name).ip
    }

    fn names(&self) -> Vec<&str> {
        self.hosts.iter().map(|h| h.name.as_str()).collect()
    }

    /// `$LAB_DIR`, default `/var/lib/dblab`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The private key that every host accepts for root.
    pub fn key(&self) -> &Path {
        &self.key
    }

    /// known_hosts with every host's key, by IP (and by name).
    pub fn known_hosts(&self) -> &Path {
        &self.known_hosts
    }

    /// The `[ssh]` table of a fleet.toml that lets dbfleet reach the lab.
    pub fn fleet_ssh_toml(&self) -> String {
        format!(
            "[ssh]\nuser = \"root\"\nidentity = \"{}\"\nknown_hosts = \"{}\"\nconnect_timeout = \"5s\"\n",
            self.key.display(),
            self.known_hosts.display()
        )
    }

    // ------------------------------------------------------------------ ssh (assertions only)

    fn ssh_command(&self, host: &str, cmd: &str) -> Command {
        let mut c = Command::new("ssh");
        c.arg("-i")
            .arg(&self.key)
            .arg("-o")
            .arg(format!("UserKnownHostsFile={}", self.known_hosts.display()))
            .args([
                "-o",
                "StrictHostKeyChecking=yes",
                "-o",
                "BatchMode=yes",
                "-o",
                "ConnectTimeout=5",
            ])
            .args(["-o", "LogLevel=ERROR"])
            .arg(format!("root@{}", self.ip(host)))
            .arg(cmd);
        c
    }

    /// Runs a shell command line on `host` as root; stdin is empty.
    pub fn ssh(&self, host: &str, cmd: &str) -> Output {
        self.ssh_command(host, cmd)
            .stdin(Stdio::null())
            .output()
            .expect("run ssh")
    }

    /// Like [`Lab::ssh`], with `input` on the command's stdin.
    pub fn ssh_with_input(&self, host: &str, cmd: &str, input: &[u8]) -> Output {
        let mut child = self
            .ssh_command(host, cmd)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run ssh");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input)
            .expect("write ssh stdin");
        child.wait_with_output().expect("wait for ssh")
    }

    /// Runs `cmd` on `host` and returns its stdout without the trailing newline.
    ///
    /// # Panics
    /// When the command fails (the message has its exit status, stdout and stderr).
    pub fn ssh_ok(&self, host: &str, cmd: &str) -> String {
        let out = self.ssh(host, cmd);
        assert!(out.status.success(), "ssh {host} {cmd:?}: {}", describe(&out));
        String::from_utf8_lossy(&out.stdout)
            .trim_end_matches('\n')
            .to_string()
    }

    /// Writes a file on `host` (through ssh stdin), with the given mode.
    pub fn write_file(&self, host: &str, path: &str, content: &str, mode: &str) {
        let cmd = format!("install -D -m {mode} /dev/stdin '{path}'");
        let out = self.ssh_with_input(host, &cmd, content.as_bytes());
        assert!(out.status.success(), "write {host}:{path}: {}", describe(&out));
    }

    // ------------------------------------------------------------------ lab.sh

    /// Kills the host's PID 1: every process dies, its IP goes silent. Data stays on disk.
    pub fn poweroff(&self, host: &str) {
        self.lab_sh(&["poweroff", host]);
    }

    /// Boots the host again; no engine is started.
    pub fn poweron(&self, host: &str) {
        self.lab_sh(&["poweron", host]);
    }

    /// Drops IP traffic between two hosts (TCP connections time out).
    pub fn partition(&self, a: &str, b: &str) {
        self.lab_sh(&["partition", a, b]);
    }

    /// Undoes every partition.
    pub fn heal(&self) {
        self.lab_sh(&["heal"]);
    }

    /// Stops every engine on the host (SIGKILL) and puts its engine config, data and log
    /// directories back to the package defaults (datadirs empty), empties /tmp and flushes the
    /// host's nftables ruleset. sshd and the host's key stay.
    pub fn reset_host(&self, host: &str) {
        self.lab_sh(&["reset", host]);
    }

    pub fn reset_hosts(&self, hosts: &[&str]) {
        let mut args = vec!["reset"];
        args.extend_from_slice(hosts);
        self.lab_sh(&args);
    }

    fn lab_sh_output(&self, args: &[&str]) -> Output {
        Command::new(&self.script)
            .args(args)
            .env("LAB_DIR", &self.dir)
            .env("LAB_HOSTS", self.names().join(" "))
            .env("LAB_LOCK_HELD", "1") // this process holds it
            .stdin(Stdio::null())
            .output()
            .expect("run lab/lab.sh")
    }

    fn lab_sh(&self, args: &[&str]) -> String {
        let out = self.lab_sh_output(args);
        assert!(
            out.status.success(),
            "lab/lab.sh {}: {}",
            args.join(" "),
            describe(&out)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

/// Polls `f` every 200 ms until it returns true.
///
/// # Panics
/// When `timeout` passes first; the message names `what`.
pub fn wait_until(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    loop {
        if f() {
            return;
        }
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        sleep(Duration::from_millis(200));
    }
}

fn run_script(script: &Path, args: &[&str]) -> String {
    let out = Command::new(script)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run lab/lab.sh");
    assert!(
        out.status.success(),
        "{} {}: {}",
        script.display(),
        args.join(" "),
        describe(&out)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `KEY=value` and `KEY="value"` lines of `lab.sh env`.
fn parse_env(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.trim_matches('"').to_string()))
        .collect()
}

fn describe(out: &Output) -> String {
    format!(
        "{}\n--- stdout\n{}--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
