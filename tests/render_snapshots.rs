//! Snapshots of every built-in template: each engine, each topology it
//! supports, each kind of node. The snapshots under tests/snapshots/ are the
//! contract for what dbfleet writes to hosts; review changes to them by eye.

use std::collections::BTreeMap;
use std::fmt::Write;

use dbfleet::layout::{layout, Allocations};
use dbfleet::model::{Cluster, Engine, Topology};
use dbfleet::render::{Addresses, RenderedFile, Renderer};

/// Cluster file fields for each engine: version, extra lines, settings, hosts.
fn cluster_toml(engine: Engine, topology: Topology) -> String {
    let (version, extra, settings) = match engine {
        Engine::Mysql => ("8.4", "", "max_connections = 500\ninnodb-buffer-pool-size = \"1G\"\nslow_query_log = true\n"),
        Engine::Mariadb => ("10.11", "", "max_connections = 500\ninnodb-buffer-pool-size = \"1G\"\nsql_mode = \"STRICT_TRANS_TABLES,NO_ENGINE_SUBSTITUTION\"\n"),
        Engine::Postgresql => ("15", "", "max_connections = 200\nshared_buffers = \"1GB\"\nlog_connections = true\n"),
        Engine::Timescaledb => ("16", "extension_version = \"2.17\"\n", "max_connections = 200\nshared_buffers = \"1GB\"\nrandom_page_cost = 1.1\n"),
        Engine::Hydra => ("15", "", "max_connections = 200\nshared-buffers = \"1GB\"\n"),
        Engine::Redis => ("7.0", "", "maxmemory = \"2gb\"\nmaxmemory_policy = \"allkeys-lru\"\nappendonly = true\n"),
        Engine::Valkey => ("9.1", "port = 6380\n", "maxmemory = \"2gb\"\nsave = \"3600 1 300 100\"\n"),
        Engine::Keydb => ("6.3", "", "maxmemory = \"2gb\"\nserver_threads = 2\n"),
    };
    // Hydra runs on IPv6 hosts, to cover /128 and IPv6 addresses in files.
    let host = |n: u32| match engine {
        Engine::Hydra => format!("fd00::{}", 10 + n),
        _ => format!("10.0.0.{}", 10 + n),
    };
    let count = match topology {
        Topology::Single => 1,
        Topology::PrimaryReplica => 3,
        Topology::MultiMaster => 2,
    };
    let nodes: String = (1..=count)
        .map(|n| format!("[[nodes]]\nhost = \"{}\"\n", host(n)))
        .collect();
    format!(
        "name = \"shop-db\"\nengine = \"{engine}\"\nversion = \"{version}\"\ntopology = \"{}\"\n{extra}\
         allowed_ips = [\"203.0.113.7\", \"2001:db8::/48\"]\n\n[settings]\n{settings}\n{nodes}",
        topology.as_str()
    )
}

fn show(files: &[RenderedFile]) -> String {
    let mut out = String::new();
    for f in files {
        let _ = writeln!(
            out,
            "=== {} ({}, {:04o} {}:{})",
            f.path, f.template, f.mode, f.owner, f.group
        );
        out.push_str(&f.content);
    }
    out
}

#[test]
fn every_engine_topology_and_node() {
    let renderer = Renderer::new(&BTreeMap::new()).unwrap();
    let topologies = [Topology::Single, Topology::PrimaryReplica, Topology::MultiMaster];
    for engine in Engine::ALL {
        for topology in topologies.into_iter().filter(|t| engine.supports(*t)) {
            let cluster: Cluster = toml::from_str(&cluster_toml(engine, topology)).unwrap();
            let nodes = layout(&cluster, &Allocations::default(), None);
            // single: the primary; primary-replica: the primary and one replica
            // of three; multi-master: both primaries.
            let picked = match topology {
                Topology::PrimaryReplica => vec![&nodes[0], &nodes[2]],
                _ => nodes.iter().collect(),
            };
            for node in picked {
                let files = renderer
                    .render_all(&cluster, node, 22, &Addresses::default())
                    .unwrap();
                let name = format!(
                    "{engine}-{}-{}-{}",
                    topology.as_str(),
                    node.role.as_str(),
                    node.name
                );
                insta::assert_snapshot!(name, show(&files));
            }
        }
    }
}

#[test]
fn repository_override_replaces_builtin_for_that_engine_only() {
    let overrides = BTreeMap::from([(
        "templates/mariadb/my.cnf.j2".to_string(),
        "[mysqld]\nserver_id = {{ node.server_id }}\n".to_string(),
    )]);
    let renderer = Renderer::new(&overrides).unwrap();
    let maria: Cluster = toml::from_str(&cluster_toml(Engine::Mariadb, Topology::Single)).unwrap();
    let node = &layout(&maria, &Allocations::default(), None)[0];
    let files = renderer.render_node(&maria, node, &Addresses::default()).unwrap();
    assert_eq!(files[0].content, "[mysqld]\nserver_id = 1\n");

    let mysql: Cluster = toml::from_str(&cluster_toml(Engine::Mysql, Topology::Single)).unwrap();
    let node = &layout(&mysql, &Allocations::default(), None)[0];
    let files = renderer.render_node(&mysql, node, &Addresses::default()).unwrap();
    assert!(files[0].content.contains("gtid_mode = ON"));
}

#[test]
fn broken_override_names_file_and_line() {
    let overrides = BTreeMap::from([(
        "templates/postgresql/pg_hba.conf.j2".to_string(),
        "local all postgres peer\n{% for p in peers %}\nhost all all {{ p.host | cidr }} scram-sha-256\n"
            .to_string(),
    )]);
    let err = Renderer::new(&overrides).unwrap_err().to_string();
    // minijinja notices the missing `{% endfor %}` at the end of the file;
    // the error points at the tag that opened the block.
    assert_eq!(
        err,
        "templates/postgresql/pg_hba.conf.j2:2:1: template syntax error: `{% for %}` opened here \
         is never closed (expected `{% endfor %}`)"
    );
}
