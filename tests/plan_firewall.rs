//! Planning the firewall: a changed ruleset or a chain missing from the
//! host (after a reboot) plans `ApplyFirewall` alone, never an engine
//! reload; new nodes load their firewall before the engine starts.

use std::collections::BTreeMap;

use dbfleet::layout::{layout, Allocations};
use dbfleet::model::Cluster;
use dbfleet::plan::{plan_cluster, Change, ClusterBefore, NodeBefore, Step};
use dbfleet::render::{Addresses, Renderer};

const SSH_PORT: u16 = 22;

fn cluster(allowed: &str) -> Cluster {
    let text = format!(
        "name = \"cache\"\nengine = \"redis\"\nversion = \"7.0\"\ntopology = \"primary-replica\"\n\
         allowed_ips = [{allowed}]\n\
         [[nodes]]\nhost = \"10.0.0.11\"\n[[nodes]]\nhost = \"10.0.0.12\"\n"
    );
    toml::from_str(&text).expect("cluster")
}

/// Every node built, running, replicating, its files as `c` renders them.
fn applied(c: &Cluster, r: &Renderer) -> ClusterBefore {
    let mut before = ClusterBefore {
        observed: true,
        ..Default::default()
    };
    for node in layout(c, &Allocations::default(), None) {
        let files = r
            .render_all(c, &node, SSH_PORT, &Addresses::default())
            .expect("render")
            .into_iter()
            .map(|f| (f.path, f.content))
            .collect();
        let replicating_from = node.primary.as_ref().map(|p| (p.host.clone(), true));
        before.nodes.insert(
            node.name.clone(),
            NodeBefore {
                host: node.host.clone(),
                built: true,
                running: true,
                files,
                replicating_from,
                ..Default::default()
            },
        );
    }
    before
}

fn steps(c: &Cluster, r: &Renderer, before: &ClusterBefore) -> BTreeMap<String, Vec<Step>> {
    let plan = plan_cluster(c, r, SSH_PORT, Some(before), &Addresses::default()).expect("plan");
    plan.nodes.into_iter().map(|n| (n.name, n.steps)).collect()
}

const FIREWALL: &str = "/etc/nftables.d/dbfleet-cache.nft";

#[test]
fn matching_hosts_plan_nothing() {
    let r = Renderer::new(&BTreeMap::new()).expect("renderer");
    let c = cluster("\"203.0.113.7\"");
    let plan = plan_cluster(&c, &r, SSH_PORT, Some(&applied(&c, &r)), &Addresses::default()).expect("plan");
    assert_eq!(plan.change, Change::NoChange);
}

#[test]
fn a_changed_allowed_ips_reloads_the_firewall_only() {
    let r = Renderer::new(&BTreeMap::new()).expect("renderer");
    let before = applied(&cluster("\"203.0.113.7\""), &r);
    let after = cluster("\"203.0.113.7\", \"198.51.100.0/24\"");
    let want = vec![
        Step::WriteConfig {
            path: FIREWALL.into(),
        },
        Step::ApplyFirewall,
    ];
    for (node, s) in steps(&after, &r, &before) {
        assert_eq!(s, want, "{node}");
    }
    // Emptying the list: the same, and the diff drops the reject rule.
    let plan = plan_cluster(&cluster(""), &r, SSH_PORT, Some(&before), &Addresses::default()).expect("plan");
    for n in &plan.nodes {
        assert_eq!(n.steps, want, "{}", n.name);
        assert!(
            n.files[0]
                .diff
                .contains("-\t\ttcp dport 6379 reject with tcp reset"),
            "{}",
            n.files[0].diff
        );
    }
}

#[test]
fn a_missing_chain_is_loaded_again() {
    let r = Renderer::new(&BTreeMap::new()).expect("renderer");
    let c = cluster("\"203.0.113.7\"");
    let mut before = applied(&c, &r);
    if let Some(n) = before.nodes.get_mut("cache2") {
        n.firewall_missing = true;
        n.running = false; // rebooted: the engine is down too
        n.replicating_from = None;
    }
    let s = steps(&c, &r, &before);
    assert_eq!(s["cache1"], []);
    assert_eq!(
        s["cache2"],
        [
            Step::ApplyFirewall,
            Step::Start,
            Step::StartReplication {
                from: "cache1".into()
            }
        ]
    );
}

#[test]
fn engine_and_firewall_changes_together() {
    let r = Renderer::new(&BTreeMap::new()).expect("renderer");
    let before = applied(&cluster("\"203.0.113.7\""), &r);
    let mut after = cluster("\"198.51.100.7\"");
    after.port = Some(6390);
    let s = steps(&after, &r, &before);
    assert_eq!(
        s["cache1"],
        [
            Step::WriteConfig {
                path: "/etc/redis/redis.conf".into()
            },
            Step::WriteConfig {
                path: FIREWALL.into()
            },
            Step::ApplyFirewall,
            Step::ApplyConfig,
        ]
    );
}

#[test]
fn new_nodes_load_their_firewall_before_the_engine_starts() {
    let r = Renderer::new(&BTreeMap::new()).expect("renderer");
    let c = cluster("\"203.0.113.7\"");
    let s = steps(&c, &r, &ClusterBefore::default());
    let writes = |s: &[Step]| s.iter().filter(|s| matches!(s, Step::WriteConfig { .. })).count();
    let at = |s: &[Step], step: &Step| s.iter().position(|x| x == step).expect("step");
    for (node, s) in &s {
        assert_eq!(writes(s), 2, "{node}: {s:?}");
        assert!(at(s, &Step::ApplyFirewall) < at(s, &Step::Start), "{node}: {s:?}");
    }
    let seed = Step::SeedFromPrimary {
        from: "cache1".into(),
    };
    assert!(at(&s["cache2"], &Step::ApplyFirewall) < at(&s["cache2"], &seed));
}
