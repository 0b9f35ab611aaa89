//! Rules for one cluster file, and for clusters against each other.

use std::collections::HashMap;

use super::{addr, line_of, Input};
use crate::diag::Diagnostic;
use crate::load::doc::Doc;
use crate::model::{Cluster, Engine, Fleet, Topology};

pub fn check(c: &Cluster, file: &str, doc: &Doc, fleet: &Fleet) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let err = |ptr: &str, msg: String, label: &str| {
        Diagnostic::error(file, msg)
            .field(crate::load::doc::field_path(ptr))
            .at(doc.value_span(ptr))
            .label(label)
    };

    let expected_file = format!("clusters/{}.toml", c.name);
    if file != expected_file {
        out.push(
            err(
                "/name",
                format!("cluster `{}` is defined in {file}", c.name),
                "does not match the file name",
            )
            .help(format!(
                "a cluster lives in clusters/<name>.toml: rename the file to {expected_file}"
            )),
        );
    }

    if !c.engine.accepts_version(&c.version) {
        let what = match c.engine {
            Engine::Timescaledb | Engine::Hydra => format!("PostgreSQL major version for {}", c.engine),
            e => format!("{e} release"),
        };
        out.push(
            err(
                "/version",
                format!("`{}` is not a known {what}", c.version),
                "unknown version",
            )
            .help(format!(
                "known versions for {}: {}",
                c.engine,
                c.engine.versions().join(", ")
            )),
        );
    }

    if !c.engine.supports(c.topology) {
        let engines: Vec<&str> = Engine::multi_master_engines()
            .iter()
            .map(|e| e.as_str())
            .collect();
        out.push(
            err(
                "/topology",
                format!("{} has no {} topology", c.engine, c.topology),
                "not available for this engine",
            )
            .help(format!(
                "multi-master is available for {}; use \"single\" or \"primary-replica\"",
                engines.join(", ")
            )),
        );
    }
    let n = c.nodes.len();
    let count_problem = match c.topology {
        Topology::Single if n != 1 => Some((
            format!("a single cluster has exactly one node, found {n}"),
            "use topology = \"primary-replica\" for more than one node".to_string(),
        )),
        Topology::MultiMaster if n != 2 => Some((
            format!("multi-master needs exactly 2 nodes, found {n}"),
            "two primaries replicate from each other; use primary-replica for more nodes".to_string(),
        )),
        Topology::PrimaryReplica if n < 2 => Some((
            format!("primary-replica needs at least 2 nodes, found {n}"),
            "add a node, or use topology = \"single\"".to_string(),
        )),
        _ => None,
    };
    if let Some((msg, help)) = count_problem {
        if n > 0 {
            out.push(
                Diagnostic::error(file, msg)
                    .field("nodes")
                    .at(doc.value_span("/topology"))
                    .label(format!("{} topology", c.topology))
                    .help(help),
            );
        }
    }

    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, node) in c.nodes.iter().enumerate() {
        let ptr = format!("/nodes/{i}/host");
        if !addr::valid_host(&node.host) {
            out.push(
                err(
                    &ptr,
                    format!("`{}` is not a valid IP address or host name", node.host),
                    "invalid host",
                )
                .help("write an IPv4 or IPv6 address, or a DNS name"),
            );
            continue;
        }
        if let Some(why) = addr::unusable_host(&node.host) {
            out.push(
                err(&ptr, format!("`{}` is {why}", node.host), "not a node's address")
                    .help("write the address the other nodes and dbfleet reach this host at"),
            );
            continue;
        }
        let key = addr::canonical_host(&node.host);
        match seen.get(&key) {
            Some(&first) => {
                let first_ptr = format!("/nodes/{first}/host");
                let line = line_of(doc.value_span(&first_ptr), Some(doc.text.as_str()));
                let first_host = &c.nodes[first].host;
                let d = if *first_host == node.host {
                    err(
                        &ptr,
                        format!("host `{}` appears twice in this cluster", node.host),
                        "duplicate host",
                    )
                    .help(format!("first listed as nodes[{first}]{}", at_line(line)))
                } else {
                    err(
                        &ptr,
                        format!(
                            "host `{}` is the same host as `{first_host}` (nodes[{first}]){}",
                            node.host,
                            line_suffix(line)
                        ),
                        "duplicate host",
                    )
                    .help(format!("both are {key}; list each host once"))
                };
                out.push(d);
            }
            None => {
                seen.insert(key, i);
            }
        }
    }

    // Host names are fine with allowed_ips: plan and apply resolve them
    // (crate::resolve) and the firewall lets in every address they resolve to.
    for (i, entry) in c.allowed_ips.iter().enumerate() {
        let ptr = format!("/allowed_ips/{i}");
        match addr::parse_allowed(entry) {
            None => out.push(
                err(&ptr, format!("`{entry}` is not an IP address or CIDR range"), "invalid address")
                    .help("write an address such as \"203.0.113.7\" or a range such as \"10.0.0.0/24\" or \"2001:db8::/48\""),
            ),
            Some(net) if addr::is_everyone(&net) => {
                let family = if net.addr().is_ipv4() { "IPv4" } else { "IPv6" };
                out.push(
                    Diagnostic::warning(file, format!("`{entry}` opens the engine port to every {family} address"))
                        .field(crate::load::doc::field_path(&ptr))
                        .at(doc.value_span(&ptr))
                        .label("open to all")
                        .help("if the port is meant to be open to everyone, leave allowed_ips empty (or remove it); otherwise narrow the range to the clients' networks, e.g. \"10.0.0.0/24\""),
                );
            }
            Some(_) => {}
        }
    }

    if let Some(backup) = &c.backup {
        if let Err(why) = super::schedule::check(&backup.schedule) {
            out.push(
                err(
                    "/backup/schedule",
                    format!("`{}` is not a valid schedule: {why}", backup.schedule),
                    "invalid schedule",
                )
                .help("use \"daily\", \"hourly\" or a five-field cron expression such as \"0 3 * * *\""),
            );
        }
    }

    if c.extension_version.is_some() && !matches!(c.engine, Engine::Timescaledb | Engine::Hydra) {
        out.push(
            err(
                "/extension_version",
                format!("{} has no extension to pin", c.engine),
                "not used by this engine",
            )
            .help("extension_version applies to timescaledb and hydra only"),
        );
    }
    if c.port() == fleet.ssh.port {
        out.push(
            err(
                "/port",
                format!("port {} is the SSH port", c.port()),
                "clashes with ssh.port",
            )
            .help("choose another engine port"),
        );
    }

    let managed = super::engine_rules::managed_keys(c.engine);
    for (key, value) in &c.settings {
        let ptr = format!("/settings/{}", crate::load::doc::escape(key));
        let valid_key = !key.is_empty()
            && key
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '_' | '-' | '.'));
        if !valid_key {
            out.push(
                Diagnostic::error(file, format!("`{key}` is not a valid setting name"))
                    .field(crate::load::doc::field_path(&ptr))
                    .at(doc.key_span(&ptr))
                    .label("invalid name")
                    .help("setting names are letters, digits, '_', '-' and '.'"),
            );
            continue;
        }
        let normal = super::engine_rules::normalise_key(c.engine, key);
        if managed.contains(&normal.as_str()) {
            out.push(
                Diagnostic::error(file, format!("`{key}` is managed by dbfleet"))
                    .field(crate::load::doc::field_path(&ptr))
                    .at(doc.key_span(&ptr))
                    .label("cannot be set in [settings]")
                    .help(if normal == "port" {
                        let n = match value {
                            crate::model::SettingValue::Integer(n) => n.to_string(),
                            _ => "N".into(),
                        };
                        format!(
                            "the engine port is the cluster's top-level field: remove `{key}` from [settings] and write `port = {n}` above [settings]"
                        )
                    } else {
                        format!("dbfleet sets {key} itself from the cluster's topology and nodes; remove it")
                    }),
            );
        }
        if let crate::model::SettingValue::String(s) = value {
            if s.contains(['\n', '\r', '\0']) {
                out.push(
                    err(
                        &ptr,
                        format!("setting `{key}` contains a line break"),
                        "line break",
                    )
                    .help("settings are single-line values"),
                );
            }
        }
    }

    if c.auto_failover && c.topology == Topology::Single {
        out.push(
            Diagnostic::warning(file, "auto_failover has no effect on a single-node cluster")
                .field("auto_failover")
                .at(doc.value_span("/auto_failover"))
                .label("no replica to promote"),
        );
    }
    out
}

/// Clusters against each other: unique names, and clusters sharing a host
/// only when their engines keep out of each other's way.
pub fn check_across(input: &Input<'_>) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut names: HashMap<&str, &str> = HashMap::new();
    let mut hosts: HashMap<String, Vec<OnHost<'_>>> = HashMap::new();
    for (file, c) in input.clusters {
        let Some(doc) = input.doc(file) else { continue };
        if let Some(first) = names.get(c.name.as_str()) {
            out.push(
                Diagnostic::error(file.as_str(), format!("duplicate cluster name `{}`", c.name))
                    .field("name")
                    .at(doc.value_span("/name"))
                    .label("already used")
                    .help(format!(
                        "{first} defines a cluster with the same name; cluster names are unique"
                    )),
            );
        } else {
            names.insert(&c.name, file);
        }
        // Node names are <cluster><number>: `db` and `db1` would both have a `db11`.
        for (other_file, o) in input.clusters {
            let clash = c
                .name
                .strip_prefix(o.name.as_str())
                .is_some_and(|rest| !rest.is_empty() && rest.chars().all(|ch| ch.is_ascii_digit()));
            if clash {
                let example = format!("{}1", c.name);
                out.push(
                    Diagnostic::error(file.as_str(), format!("cluster name `{}` clashes with cluster `{}`", c.name, o.name))
                        .field("name")
                        .at(doc.value_span("/name"))
                        .label("node names could collide")
                        .help(format!(
                            "node names are <cluster><number>: `{example}` would name node 1 of `{}` and a node of `{}` ({other_file}); rename one, e.g. `{}-a`",
                            c.name, o.name, c.name
                        )),
                );
            }
        }
        for (i, node) in c.nodes.iter().enumerate() {
            let on_host = hosts.entry(addr::canonical_host(&node.host)).or_default();
            let clash = on_host
                .iter()
                .filter(|seen| seen.cluster.name != c.name)
                .find_map(|seen| super::shared_hosts::clash(c, seen.cluster).map(|why| (seen, why)));
            if let Some((seen, why)) = clash {
                let other = seen.cluster;
                let message = if seen.host == node.host {
                    format!(
                        "host `{}` is already in cluster `{}`, and {why}",
                        node.host, other.name
                    )
                } else {
                    let line = input.doc(seen.file).and_then(|d| {
                        line_of(
                            d.value_span(&format!("/nodes/{}/host", seen.index)),
                            Some(d.text.as_str()),
                        )
                    });
                    format!(
                        "host `{}` is the same host as `{}` in cluster `{}` ({}{}), and {why}",
                        node.host,
                        seen.host,
                        other.name,
                        seen.file,
                        line_suffix(line)
                    )
                };
                out.push(
                    Diagnostic::error(file.as_str(), message)
                        .field(format!("nodes[{i}].host"))
                        .at(doc.value_span(&format!("/nodes/{i}/host")))
                        .label("clashes on this host")
                        .help(format!(
                            "{} puts {} {} on the same host; clusters can share a host only when their engines use different files and ports (e.g. Redis beside MariaDB)",
                            seen.file, other.engine, other.version
                        )),
                );
            }
            if !on_host.iter().any(|seen| seen.cluster.name == c.name) {
                on_host.push(OnHost {
                    file: file.as_str(),
                    cluster: c,
                    host: node.host.as_str(),
                    index: i,
                });
            }
        }
    }
    out
}

/// A node already seen on a host (by its canonical address).
struct OnHost<'a> {
    file: &'a str,
    cluster: &'a Cluster,
    /// The host as that cluster file spells it.
    host: &'a str,
    index: usize,
}

fn at_line(line: Option<usize>) -> String {
    line.map(|l| format!(" on line {l}")).unwrap_or_default()
}

/// " at line N", or nothing when the line is not known.
fn line_suffix(line: Option<usize>) -> String {
    line.map(|l| format!(" at line {l}")).unwrap_or_default()
}
