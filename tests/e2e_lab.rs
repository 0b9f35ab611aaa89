//! The test helpers themselves: the lab (skipped unless DBFLEET_LAB=1) and temporary git repos.

mod common;

use std::time::Duration;

use common::git::TempRepo;
use common::lab::{wait_until, Lab};

#[test]
fn every_host_answers_ssh_by_ip_with_its_own_name() {
    let Some(lab) = Lab::get() else { return };
    assert!(lab.hosts().len() >= 4, "LAB_HOSTS: {:?}", lab.hosts());
    for h in lab.hosts() {
        assert_eq!(lab.ssh_ok(&h.name, "hostname"), h.name);
        assert_eq!(lab.ssh_ok(&h.name, "hostname -I").trim(), h.ip.to_string());
    }
    let kh = std::fs::read_to_string(lab.known_hosts()).unwrap();
    for h in lab.hosts() {
        assert!(
            kh.lines().any(|l| l.starts_with(&format!("{},", h.ip))),
            "{} missing in {kh}",
            h.ip
        );
    }
}

#[test]
fn reset_host_stops_engines_and_restores_package_defaults() {
    let Some(lab) = Lab::get() else { return };
    lab.reset_host("h1");
    // dirty h1: a running redis on a changed config, a file in a datadir, a firewall table
    lab.ssh_ok(
        "h1",
        "sed -i 's/^port 6379$/port 6390/' /etc/redis/redis.conf \
         && runuser -u redis -- redis-server /etc/redis/redis.conf \
         && touch /var/lib/mysql/leftover && nft add table inet leftover",
    );
    lab.write_file("h1", "/etc/valkey/valkey.conf", "port 6391\n", "0640");
    wait_until("redis on h1:6390", Duration::from_secs(10), || {
        lab.ssh("h1", "redis-cli -p 6390 ping")
            .stdout
            .starts_with(b"PONG")
    });

    lab.reset_host("h1");

    assert_eq!(lab.ssh_ok("h1", "pgrep -c -x redis-server || true"), "0");
    assert_eq!(
        lab.ssh_ok("h1", "grep -c '^port 6379$' /etc/redis/redis.conf"),
        "1"
    );
    assert_eq!(
        lab.ssh_ok(
            "h1",
            "find /var/lib/mysql /etc/valkey /var/lib/redis /var/log/redis -mindepth 1"
        ),
        ""
    );
    assert_eq!(lab.ssh_ok("h1", "nft list tables"), "");
    assert_eq!(
        lab.ssh_ok("h1", "stat -c %U:%G /run/redis /var/lib/mysql"),
        "redis:redis\nmysql:mysql"
    );
}

#[test]
fn poweroff_poweron_partition_heal() {
    let Some(lab) = Lab::get() else { return };
    let h2 = lab.ip("h2");
    let h3 = lab.ip("h3");
    lab.poweroff("h2");
    assert_eq!(
        lab.ssh_ok("h1", &format!("nc -z -w 2 {h2} 22 && echo open || echo closed")),
        "closed"
    );
    lab.poweron("h2");
    assert_eq!(lab.ssh_ok("h2", "hostname"), "h2");

    lab.partition("h1", "h3");
    assert_eq!(
        lab.ssh_ok("h1", &format!("nc -z -w 2 {h3} 22 && echo open || echo closed")),
        "closed"
    );
    assert_eq!(
        lab.ssh_ok("h2", &format!("nc -z -w 2 {h3} 22 && echo open || echo closed")),
        "open"
    );
    lab.heal();
    assert_eq!(
        lab.ssh_ok("h1", &format!("nc -z -w 5 {h3} 22 && echo open || echo closed")),
        "open"
    );
}

#[test]
fn temp_repo_commits_are_deterministic() {
    let files = [("fleet.toml", "# empty\n"), ("clusters/a.toml", "name = \"a\"\n")];
    let a = TempRepo::with_files(&files);
    let b = TempRepo::with_files(&files);
    assert_eq!(a.head(), b.head());
    assert!(a.path().join("clusters/a.toml").is_file());

    a.remove("clusters/a.toml");
    let second = a.commit_files("second", &[("clusters/b.toml", "name = \"b\"\n")]);
    let tree = a.repo().find_commit(second).unwrap().tree().unwrap();
    let clusters = tree
        .get_path(std::path::Path::new("clusters"))
        .unwrap()
        .to_object(a.repo())
        .unwrap();
    let names: Vec<String> = clusters
        .peel_to_tree()
        .unwrap()
        .iter()
        .map(|e| e.name().unwrap().to_string())
        .collect();
    assert_eq!(names, ["b.toml"]);
    assert_eq!(a.repo().head().unwrap().shorthand().unwrap(), "main");
}
