//! Apply's safety nets on real hosts: one dbfleet per cluster at a time (a
//! lock held by another process stops a second apply before it touches a
//! host), and an apply killed halfway is finished by the next run.

mod common;

use common::engines::redis_cli;
use common::fleet::{admin_password, dbfleet_process as dbfleet, lab_repo, nodes_toml, run_dbfleet};
use common::git::TempRepo;
use common::lab::{wait_until, Lab};
use fs2::FileExt;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

const HOSTS: [&str; 3] = ["h2", "h3", "h4"];
const PORT: u16 = 6390;

fn repo(lab: &Lab, name: &str) -> TempRepo {
    let nodes = nodes_toml(lab, &HOSTS);
    let cluster = format!(
        "name = \"{name}\"\nengine = \"valkey\"\nversion = \"9.1\"\ntopology = \"primary-replica\"\nport = {PORT}\n{nodes}"
    );
    lab_repo(lab, name, &cluster)
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

fn valkey(lab: &Lab, host: &str, state: &Path, cluster: &str, args: &str) -> String {
    redis_cli(lab, host, PORT, &admin_password(state, cluster), args)
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
    let out = run_dbfleet(state.path(), &["apply", "--yes"], repo.path());
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
    let out = run_dbfleet(state.path(), &["apply", "--yes"], repo.path());
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
    // The typed operation state says where it stopped: after the primary's
    // users were created, in the build of the primary or a later phase.
    let op = &recorded["operation"];
    assert_eq!(
        op["kind"], "converge",
        "no operation left by the killed run: {recorded}"
    );
    let phase = op["phase"].as_str().unwrap_or_default();
    assert!(
        ["build", "grant", "seed"].contains(&phase),
        "recorded phase {phase:?}: {recorded}"
    );
    let done: Vec<String> = op["steps_done"]
        .as_array()
        .expect("steps_done")
        .iter()
        .map(|s| {
            format!(
                "{} {}",
                s["node"].as_str().unwrap_or(""),
                s["step"].as_str().unwrap_or("")
            )
        })
        .collect();
    assert!(
        done.iter().any(|s| s == "resumed1 init-data-dir"),
        "the primary's initialisation is not recorded as done: {done:?}"
    );

    let out = run_dbfleet(state.path(), &["apply", "--yes"], repo.path());
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
    let out = run_dbfleet(state.path(), &["plan", "--detailed-exitcode"], repo.path());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    reset_valkey(&lab);
}
