//! Apply's safety nets on real hosts: one dbfleet per cluster at a time (a
//! lock held by another process stops a second apply before it touches a
//! host), and an apply killed halfway is finished by the next run.

mod common;

use assert_cmd::cargo::CommandCargoExt;
use common::git::TempRepo;
use common::lab::{wait_until, Lab};
use fs2::FileExt;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

const HOSTS: [&str; 3] = ["h2", "h3", "h4"];
const PORT: u16 = 6390;

fn repo(lab: &Lab, name: &str) -> TempRepo {
    let fleet = format!("{}[hosts]\nservice_manager = \"direct\"\n", lab.fleet_ssh_toml());
    let nodes: String = HOSTS
        .iter()
        .map(|h| format!("[[nodes]]\nhost = \"{}\"\n", lab.ip(h)))
        .collect();
    let cluster = format!(
        "name = \"{name}\"\nengine = \"valkey\"\nversion = \"9.1\"\ntopology = \"primary-replica\"\nport = {PORT}\n{nodes}"
    );
    TempRepo::with_files(&[
        ("fleet.toml", &fleet),
        (&format!("clusters/{name}.toml"), &cluster),
    ])
}

/// Stop any valkey on the hosts and empty its directories.
fn reset_valkey(lab: &Lab) {
    for h in HOSTS {
        lab.ssh(
            h,
            "pkill -x valkey-server; for i in $(seq 50); do pgrep -x valkey-server >/dev/null || break; sleep 0.1; done; \
             rm -rf /var/lib/valkey/* /var/lib/valkey/.dbfleet* /etc/valkey/*",
        );
    }
}

fn dbfleet(state: &Path) -> Command {
    let mut c = Command::cargo_bin("dbfleet").expect("binary");
    c.arg("--state-dir").arg(state).env("NO_COLOR", "1");
    c
}

fn valkey(lab: &Lab, host: &str, state: &Path, cluster: &str, args: &str) -> String {
    let secrets: serde_json::Value = serde_json::from_slice(
        &std::fs::read(state.join(format!("secrets/{cluster}.json"))).expect("secrets"),
    )
    .expect("json");
    let pw = secrets["admin"].as_str().expect("admin password").to_string();
    lab.ssh_ok(
        host,
        &format!("REDISCLI_AUTH={pw} redis-cli -p {PORT} --no-auth-warning {args}"),
    )
}

#[test]
fn a_cluster_locked_by_another_process_is_not_touched() {
    let Some(lab) = Lab::get() else { return };
    reset_valkey(&lab);
    let repo = repo(&lab, "locked");
    let state = tempfile::tempdir().expect("state");
    // Another process holds the cluster's lock (this test process).
    std::fs::create_dir_all(state.path().join("locks")).expect("mkdir");
    let lock = std::fs::File::create(state.path().join("locks/locked.lock")).expect("lock file");
    lock.try_lock_exclusive().expect("take the lock");
    let out = dbfleet(state.path())
        .args(["apply", "--yes"])
        .arg(repo.path())
        .output()
        .expect("apply");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("locked: FAILED: cluster `locked` is locked by another dbfleet process"),
        "{stderr}"
    );
    for h in HOSTS {
        assert_eq!(
            lab.ssh_ok(h, "ls -A /var/lib/valkey /etc/valkey | grep -v : | wc -w"),
            "0",
            "{h} was touched"
        );
    }
    drop(lock);
    let out = dbfleet(state.path())
        .args(["apply", "--yes"])
        .arg(repo.path())
        .output()
        .expect("apply");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    reset_valkey(&lab);
}

#[test]
fn an_apply_killed_halfway_is_finished_by_the_next() {
    let Some(lab) = Lab::get() else { return };
    reset_valkey(&lab);
    let repo = repo(&lab, "resumed");
    let state = tempfile::tempdir().expect("state");
    let mut child = dbfleet(state.path())
        .args(["apply", "--yes"])
        .arg(repo.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    // Kill it as soon as the primary is built, while the replicas are not.
    let stderr = child.stderr.take().expect("stderr");
    for line in BufReader::new(stderr).lines() {
        let line = line.expect("line");
        if line.contains("resumed1: create users ... ok") {
            child.kill().expect("kill");
            break;
        }
    }
    let status = child.wait().expect("wait");
    assert!(
        !status.success(),
        "the first apply finished before it could be killed"
    );
    let recorded: serde_json::Value =
        serde_json::from_slice(&std::fs::read(state.path().join("clusters/resumed.json")).expect("state"))
            .expect("json");
    assert!(
        recorded["journal"].is_object(),
        "no journal left by the killed run: {recorded}"
    );

    let out = dbfleet(state.path())
        .args(["apply", "--yes"])
        .arg(repo.path())
        .output()
        .expect("apply");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("resumed: resuming an apply interrupted at:"),
        "{stderr}"
    );
    valkey(&lab, "h2", state.path(), "resumed", "SET resumed:key yes");
    for replica in ["h3", "h4"] {
        wait_until(&format!("key on {replica}"), Duration::from_secs(20), || {
            valkey(&lab, replica, state.path(), "resumed", "GET resumed:key") == "yes"
        });
    }
    let out = dbfleet(state.path())
        .args(["plan", "--detailed-exitcode"])
        .arg(repo.path())
        .output()
        .expect("plan");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    reset_valkey(&lab);
}
