//! A node removed from the cluster file is not deleted (only a remove-node
//! request deletes it), so the nodes that stay keep letting it in: its
//! replication line in pg_hba.conf and its address in the firewall.

use dbfleet::layout::{layout, Allocations};
use dbfleet::model::Cluster;
use dbfleet::render::{Addresses, Renderer};
use std::collections::BTreeMap;

fn cluster(hosts: &[&str]) -> Cluster {
    let nodes: String = hosts
        .iter()
        .map(|h| format!("[[nodes]]\nhost = \"{h}\"\n"))
        .collect();
    toml::from_str(&format!(
        "name = \"pg\"\nengine = \"postgresql\"\nversion = \"15\"\ntopology = \"primary-replica\"\nallowed_ips = [\"192.0.2.0/24\"]\n{nodes}"
    ))
    .expect("cluster")
}

#[test]
fn orphans_keep_replication_and_firewall_access() {
    let before = cluster(&["10.0.0.1", "10.0.0.2", "10.0.0.3"]);
    let alloc = Allocations::default().extend_with(&before);
    let after = cluster(&["10.0.0.1", "10.0.0.2"]);
    let renderer = Renderer::new(&BTreeMap::new()).expect("renderer");
    let primary = layout(&after, &alloc, None).into_iter().next().expect("primary");
    let files = renderer
        .render_all(&after, &primary, 22, &Addresses::default())
        .expect("render");
    let file = |suffix: &str| {
        files
            .iter()
            .find(|f| f.path.ends_with(suffix))
            .map(|f| f.content.clone())
            .expect("file")
    };
    let hba = file("pg_hba.conf");
    assert!(
        hba.lines().any(|l| l.split_whitespace().eq([
            "host",
            "replication",
            "dbfleet_repl",
            "10.0.0.3/32",
            "scram-sha-256"
        ])),
        "the orphan lost its replication line:\n{hba}"
    );
    let nft = files
        .iter()
        .find(|f| f.path.contains("nftables"))
        .map(|f| f.content.clone())
        .expect("firewall");
    assert!(
        nft.contains("10.0.0.3"),
        "the orphan lost its firewall access:\n{nft}"
    );

    // Once released (remove-node ran), it is gone from both.
    let mut released = alloc.clone();
    released.release("10.0.0.3");
    let primary = layout(&after, &released, None)
        .into_iter()
        .next()
        .expect("primary");
    let files = renderer
        .render_all(&after, &primary, 22, &Addresses::default())
        .expect("render");
    assert!(files.iter().all(|f| !f.content.contains("10.0.0.3")));
}
