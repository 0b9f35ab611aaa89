//! Host keys: a host whose key is missing from, or differs from,
//! known_hosts is refused with an error naming host and fingerprint, and
//! nothing is done on it. Real OpenSSH servers in the lab.

mod common;

use assert_cmd::Command;
use common::git::TempRepo;
use common::lab::Lab;

const HOST: &str = "h4";

fn repo(lab: &Lab, known_hosts: &std::path::Path) -> TempRepo {
    let ip = lab.ip(HOST);
    let fleet = format!(
        "[ssh]\nuser = \"root\"\nidentity = \"{}\"\nknown_hosts = \"{}\"\nconnect_timeout = \"5s\"\n[hosts]\nservice_manager = \"direct\"\n",
        lab.key().display(),
        known_hosts.display()
    );
    let cluster = format!(
        "name = \"keys\"\nengine = \"redis\"\nversion = \"7.0\"\ntopology = \"single\"\n[[nodes]]\nhost = \"{ip}\"\n"
    );
    TempRepo::with_files(&[("fleet.toml", &fleet), ("clusters/keys.toml", &cluster)])
}

/// What would change on the host if dbfleet touched it.
fn fingerprint_of_host_state(lab: &Lab) -> String {
    lab.ssh_ok(
        HOST,
        "md5sum /etc/redis/redis.conf; ls -A /var/lib/redis; ls /etc/redis; pgrep -c redis-server || true",
    )
}

fn apply(repo: &TempRepo, state: &std::path::Path) -> (i32, String) {
    let out = Command::cargo_bin("dbfleet")
        .expect("binary")
        .args(["apply", "--yes", "--state-dir"])
        .arg(state)
        .arg(repo.path())
        .env("NO_COLOR", "1")
        .output()
        .expect("run");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn unknown_host_key_is_refused_and_nothing_is_done() {
    let Some(lab) = Lab::get() else { return };
    let ip = lab.ip(HOST).to_string();
    let dir = tempfile::tempdir().expect("tmp");
    let kh = dir.path().join("known_hosts");
    let all = std::fs::read_to_string(lab.known_hosts()).expect("known_hosts");
    let without: String = all
        .lines()
        .filter(|l| !l.starts_with(&format!("{ip},")))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&kh, without).expect("write");
    let before = fingerprint_of_host_state(&lab);
    let (code, stderr) = apply(&repo(&lab, &kh), &dir.path().join("state"));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains(&format!("{ip}: host key SHA256:")), "{stderr}");
    assert!(
        stderr.contains(&format!("is not in {}; refusing to connect", kh.display())),
        "{stderr}"
    );
    assert_eq!(fingerprint_of_host_state(&lab), before, "the host was changed");
}

#[test]
fn changed_host_key_is_refused_and_nothing_is_done() {
    let Some(lab) = Lab::get() else { return };
    let ip = lab.ip(HOST).to_string();
    let other = lab.ip("h1").to_string();
    let dir = tempfile::tempdir().expect("tmp");
    let kh = dir.path().join("known_hosts");
    let all = std::fs::read_to_string(lab.known_hosts()).expect("known_hosts");
    // h4's address with h1's key: what a reinstalled or impersonated host looks like.
    let h1_key = all
        .lines()
        .find(|l| l.starts_with(&format!("{other},")))
        .and_then(|l| l.split_once(' ').map(|(_, k)| k.to_string()))
        .expect("h1 key");
    let forged: String = all
        .lines()
        .map(|l| {
            if l.starts_with(&format!("{ip},")) {
                format!("{ip} {h1_key}\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    std::fs::write(&kh, forged).expect("write");
    let before = fingerprint_of_host_state(&lab);
    let (code, stderr) = apply(&repo(&lab, &kh), &dir.path().join("state"));
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains(&format!("{ip}: HOST KEY CHANGED: the host presented SHA256:")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("does not match the key at {}:", kh.display())),
        "{stderr}"
    );
    assert_eq!(fingerprint_of_host_state(&lab), before, "the host was changed");
}
