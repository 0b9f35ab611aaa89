//! The firewall ruleset: rules for empty and set `allowed_ips`, IPv4 and
//! IPv6, ports, DNS-named nodes, overrides, agreement with pg_hba.conf, and
//! (when this machine's `nft` can check rulesets) the syntax nft accepts.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use ipnet::IpNet;

use super::*;
use crate::layout::{layout, Allocations, NodeLayout};
use crate::model::Cluster;

fn cluster(engine: &str, port: Option<u16>, hosts: &[&str], allowed: &[&str]) -> Cluster {
    let port = port.map(|p| format!("port = {p}\n")).unwrap_or_default();
    let allowed: Vec<String> = allowed.iter().map(|a| format!("{a:?}")).collect();
    let nodes: String = hosts
        .iter()
        .map(|h| format!("[[nodes]]\nhost = {h:?}\n"))
        .collect();
    let topology = if hosts.len() == 1 {
        "single"
    } else {
        "primary-replica"
    };
    let text = format!(
        "name = \"shop\"\nengine = \"{engine}\"\nversion = \"15\"\ntopology = \"{topology}\"\n{port}\
         allowed_ips = [{}]\n{nodes}",
        allowed.join(", ")
    );
    toml::from_str(&text).unwrap()
}

fn nodes(c: &Cluster) -> Vec<NodeLayout> {
    layout(c, &Allocations::default(), None)
}

fn firewall(c: &Cluster, node: usize, ssh_port: u16) -> RenderedFile {
    let r = Renderer::new(&BTreeMap::new()).unwrap();
    r.render_firewall(c, &nodes(c)[node], ssh_port, &Addresses::default())
        .unwrap()
}

/// The rules of the chain: the lines after the flush, without comments,
/// braces and the table and chain headers.
fn rules(content: &str) -> Vec<String> {
    content
        .lines()
        .skip_while(|l| !l.starts_with("flush chain"))
        .skip(1)
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && *l != "}")
        .filter(|l| !l.starts_with("table ") && !l.starts_with("chain "))
        .map(str::to_string)
        .collect()
}

#[test]
fn file_path_mode_and_transaction_shape() {
    let c = cluster("redis", None, &["10.0.0.11"], &[]);
    let f = firewall(&c, 0, 22);
    assert_eq!(f.path, "/etc/nftables.d/dbfleet-shop.nft");
    assert_eq!(f.template, "nftables/dbfleet.nft.j2");
    assert_eq!(
        (f.mode, f.owner.as_str(), f.group.as_str()),
        (0o644, "root", "root")
    );
    let code: Vec<&str> = f
        .content
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .collect();
    assert_eq!(
        code[..5],
        [
            "table inet dbfleet {",
            "\tchain cluster-shop {",
            "\t\ttype filter hook input priority filter; policy accept;",
            "\t}",
            "}",
        ]
    );
    assert_eq!(code[5], "flush chain inet dbfleet cluster-shop");
    assert_eq!(code[6..8], ["table inet dbfleet {", "\tchain cluster-shop {"]);
}

#[test]
fn empty_allowed_ips_leave_the_engine_port_open() {
    let c = cluster("redis", None, &["10.0.0.11", "10.0.0.12"], &[]);
    let f = firewall(&c, 1, 22);
    assert_eq!(
        rules(&f.content),
        [
            "iif \"lo\" accept",
            "tcp dport 22 accept comment \"ssh: dbfleet never locks itself out\"",
        ]
    );
    assert!(f
        .content
        .contains("# allowed_ips is empty: port 6379 is open to all.\n"));
    assert!(!f.content.contains("reject with"), "{}", f.content);
}

#[test]
fn ipv4_addresses_and_ranges() {
    let c = cluster(
        "redis",
        None,
        &["10.0.0.11", "10.0.0.12", "10.0.0.13"],
        &["203.0.113.7", "198.51.100.0/24", "10.9.8.7/16"],
    );
    // The same rules on every node: the node itself is listed too.
    for node in 0..3 {
        assert_eq!(
            rules(&firewall(&c, node, 22).content),
            [
                "iif \"lo\" accept",
                "tcp dport 22 accept comment \"ssh: dbfleet never locks itself out\"",
                "ip saddr 10.0.0.11 tcp dport 6379 accept comment \"node shop1\"",
                "ip saddr 10.0.0.12 tcp dport 6379 accept comment \"node shop2\"",
                "ip saddr 10.0.0.13 tcp dport 6379 accept comment \"node shop3\"",
                "ip saddr 203.0.113.7/32 tcp dport 6379 accept comment \"allowed_ips\"",
                "ip saddr 198.51.100.0/24 tcp dport 6379 accept comment \"allowed_ips\"",
                "ip saddr 10.9.0.0/16 tcp dport 6379 accept comment \"allowed_ips\"",
                "tcp dport 6379 reject with tcp reset comment \"not in allowed_ips\"",
            ],
            "node {node}"
        );
    }
}

#[test]
fn ipv6_and_mixed_families() {
    let c = cluster(
        "postgresql",
        None,
        &["fd00::11", "10.0.0.12"],
        &["2001:db8::/48", "2001:db8:1::7", "192.0.2.1"],
    );
    assert_eq!(
        rules(&firewall(&c, 0, 22).content)[2..],
        [
            "ip6 saddr fd00::11 tcp dport 5432 accept comment \"node shop1\"",
            "ip saddr 10.0.0.12 tcp dport 5432 accept comment \"node shop2\"",
            "ip6 saddr 2001:db8::/48 tcp dport 5432 accept comment \"allowed_ips\"",
            "ip6 saddr 2001:db8:1::7/128 tcp dport 5432 accept comment \"allowed_ips\"",
            "ip saddr 192.0.2.1/32 tcp dport 5432 accept comment \"allowed_ips\"",
            "tcp dport 5432 reject with tcp reset comment \"not in allowed_ips\"",
        ]
    );
}

#[test]
fn ports_come_from_the_cluster_and_the_fleet() {
    let c = cluster("valkey", Some(6390), &["10.0.0.11"], &["10.1.0.0/16"]);
    let r = rules(&firewall(&c, 0, 2222).content);
    assert_eq!(
        r,
        [
            "iif \"lo\" accept",
            "tcp dport 2222 accept comment \"ssh: dbfleet never locks itself out\"",
            "ip saddr 10.0.0.11 tcp dport 6390 accept comment \"node shop1\"",
            "ip saddr 10.1.0.0/16 tcp dport 6390 accept comment \"allowed_ips\"",
            "tcp dport 6390 reject with tcp reset comment \"not in allowed_ips\"",
        ]
    );
}

fn resolved(names: &[(&str, &[&str])]) -> Addresses {
    Addresses::resolved(
        names
            .iter()
            .map(|(name, ips)| {
                let ips = ips.iter().map(|ip| ip.parse::<IpAddr>().unwrap()).collect();
                (name.to_string(), Ok(ips))
            })
            .collect(),
    )
}

#[test]
fn host_names_are_let_in_by_every_address_they_resolved_to() {
    let r = Renderer::new(&BTreeMap::new()).unwrap();
    let c = cluster(
        "redis",
        None,
        &["10.0.0.11", "db2.example.internal"],
        &["10.1.0.0/16"],
    );
    let addresses = resolved(&[("db2.example.internal", &["10.0.0.12", "fd00::12"])]);
    let f = r.render_firewall(&c, &nodes(&c)[0], 22, &addresses).unwrap();
    assert_eq!(
        rules(&f.content),
        [
            "iif \"lo\" accept",
            "tcp dport 22 accept comment \"ssh: dbfleet never locks itself out\"",
            "ip saddr 10.0.0.11 tcp dport 6379 accept comment \"node shop1\"",
            "ip saddr 10.0.0.12 tcp dport 6379 accept comment \"node shop2\"",
            "ip6 saddr fd00::12 tcp dport 6379 accept comment \"node shop2\"",
            "ip saddr 10.1.0.0/16 tcp dport 6379 accept comment \"allowed_ips\"",
            "tcp dport 6379 reject with tcp reset comment \"not in allowed_ips\"",
        ]
    );
}

#[test]
fn a_host_name_without_addresses_is_an_error_naming_it() {
    let r = Renderer::new(&BTreeMap::new()).unwrap();
    let c = cluster("redis", None, &["10.0.0.11", "db2.invalid"], &["10.1.0.0/16"]);
    let failed = Addresses::resolved(BTreeMap::from([(
        "db2.invalid".to_string(),
        Err("Name or service not known".to_string()),
    )]));
    let err = r
        .render_firewall(&c, &nodes(&c)[0], 22, &failed)
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "cluster \"shop\": node shop2: host name `db2.invalid` does not resolve: Name or service not known"
    );
    // Validate renders without looking names up: no rule for the name.
    let f = r
        .render_firewall(&c, &nodes(&c)[0], 22, &Addresses::unresolved())
        .unwrap();
    assert!(!f.content.contains("node shop2"), "{}", f.content);
}

#[test]
fn render_all_appends_the_firewall_to_the_engine_files() {
    let r = Renderer::new(&BTreeMap::new()).unwrap();
    let c = cluster("postgresql", None, &["10.0.0.11", "10.0.0.12"], &["10.1.0.0/16"]);
    let node = &nodes(&c)[1];
    let all = r.render_all(&c, node, 22, &Addresses::default()).unwrap();
    let engine = r.render_node(&c, node, &Addresses::default()).unwrap();
    assert_eq!(all.len(), engine.len() + 1);
    assert_eq!(all[..engine.len()], engine[..]);
    assert_eq!(
        all[engine.len()],
        r.render_firewall(&c, node, 22, &Addresses::default()).unwrap()
    );
}

#[test]
fn the_firewall_template_can_be_overridden_for_every_engine() {
    let o = BTreeMap::from([(
        "templates/nftables/dbfleet.nft.j2".to_string(),
        "# {{ cluster.engine }} {{ firewall.chain }} {{ firewall.port }}\n".to_string(),
    )]);
    let r = Renderer::new(&o).unwrap();
    assert!(r.is_overridden("nftables/dbfleet.nft.j2"));
    for (engine, want) in [
        ("mariadb", "# mariadb cluster-shop 3306\n"),
        ("valkey", "# valkey cluster-shop 6379\n"),
    ] {
        let c = cluster(engine, None, &["10.0.0.11"], &[]);
        assert!(
            firewall(&c, 0, 22).content.contains("\ntable inet dbfleet {\n"),
            "built-in"
        );
        assert_eq!(
            r.render_firewall(&c, &nodes(&c)[0], 22, &Addresses::default())
                .unwrap()
                .content,
            want
        );
    }
    let bad = BTreeMap::from([("templates/nftables/rules.nft.j2".to_string(), "x".to_string())]);
    let errors: Vec<String> = Renderer::check_overrides(&bad)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        errors,
        [
            "templates/nftables/rules.nft.j2: no built-in template at this path to override; \
          the firewall template is templates/nftables/dbfleet.nft.j2"
        ]
    );
}

/// Every `firewall.*` field templates/README.md documents exists.
#[test]
fn context_exposes_every_documented_firewall_field() {
    let readme = include_str!("../../templates/README.md");
    let fields: Vec<&str> = readme
        .lines()
        .skip_while(|l| *l != "## The firewall")
        .filter_map(|l| l.strip_prefix("- `firewall."))
        .filter_map(|l| l.split('`').next())
        .collect();
    assert_eq!(fields.len(), 8, "{fields:?}");
    let body: String = fields
        .iter()
        .map(|f| format!("{f}={{{{ firewall.{f} }}}}\n"))
        .collect();
    let o = BTreeMap::from([("templates/nftables/dbfleet.nft.j2".to_string(), body)]);
    let c = cluster("redis", None, &["10.0.0.11"], &["10.1.0.0/16"]);
    let out = Renderer::new(&o)
        .unwrap()
        .render_firewall(&c, &nodes(&c)[0], 22, &Addresses::default())
        .unwrap()
        .content;
    assert!(out.contains("chain=cluster-shop\n"), "{out}");
    assert!(out.contains("restricted=True\n"), "{out}");
    assert!(
        out.contains("nodes=[{'name': 'shop1', 'host': '10.0.0.11', 'family': 'ip'}]\n"),
        "{out}"
    );
}

/// The addresses a rendered file lets in, as networks, from `pg_hba.conf`'s
/// `host` lines or the firewall's `saddr` rules.
fn nets<'a>(lines: impl Iterator<Item = &'a str>) -> BTreeSet<IpNet> {
    lines
        .filter_map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            let i = words.iter().position(|w| *w == "saddr")?;
            words.get(i + 1).copied()
        })
        .filter_map(|a| {
            a.parse::<IpNet>()
                .ok()
                .or_else(|| a.parse::<IpAddr>().ok().map(IpNet::from))
        })
        .collect()
}

/// pg_hba.conf and the firewall let in the same addresses: the other nodes
/// and allowed_ips (the firewall also lists the node itself).
#[test]
fn pg_hba_and_firewall_agree() {
    let r = Renderer::new(&BTreeMap::new()).unwrap();
    let c = cluster(
        "postgresql",
        None,
        &["10.0.0.11", "fd00::12", "10.0.0.13"],
        &["203.0.113.7", "2001:db8::/48"],
    );
    for node in nodes(&c) {
        let files = r.render_all(&c, &node, 22, &Addresses::default()).unwrap();
        let hba = files.iter().find(|f| f.path.ends_with("pg_hba.conf")).unwrap();
        let hba_lines = hba.content.lines().filter(|l| l.starts_with("host "));
        let hba_nets: BTreeSet<IpNet> = hba_lines
            .filter_map(|l| l.split_whitespace().nth(3))
            .filter_map(|a| a.parse::<IpNet>().ok())
            .filter(|n| !n.addr().is_loopback())
            .collect();
        let fw = files.last().unwrap();
        let mut fw_nets = nets(fw.content.lines());
        let own: IpAddr = node.host.parse().unwrap();
        assert!(fw_nets.remove(&IpNet::from(own)), "{}", fw.content);
        assert_eq!(hba_nets, fw_nets, "{}", node.name);
    }
}

/// `nft -c -f` accepts the rendered rulesets (check only: nothing is
/// loaded). Skipped when this machine has no usable nft.
#[test]
fn nft_accepts_the_rulesets() {
    let usable = std::process::Command::new("nft")
        .args(["-c", "-f", "/dev/null"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !usable {
        println!("skipped: no nft that can check rulesets here");
        return;
    }
    let cases = [
        cluster("redis", None, &["10.0.0.11", "10.0.0.12"], &[]),
        cluster(
            "redis",
            Some(6390),
            &["10.0.0.11", "fd00::12"],
            &["203.0.113.7", "10.9.8.7/16", "2001:db8::/48"],
        ),
        cluster(
            "mariadb",
            None,
            &["10.0.0.11", "db2.example.internal"],
            &["10.1.0.0/16"],
        ),
    ];
    let addresses = resolved(&[("db2.example.internal", &["10.0.0.12", "fd00::12"])]);
    let r = Renderer::new(&BTreeMap::new()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (i, c) in cases.iter().enumerate() {
        let f = r.render_firewall(c, &nodes(c)[0], 2222, &addresses).unwrap();
        let path = dir.path().join(format!("case{i}.nft"));
        std::fs::write(&path, &f.content).unwrap();
        let out = std::process::Command::new("nft")
            .arg("-c")
            .arg("-f")
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "case {i}: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            f.content
        );
    }
}
