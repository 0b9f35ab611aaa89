//! Node layout: which node of a cluster is called what, has which number and
//! plays which role. Pure: derived from the cluster, the recorded number
//! allocations and the recorded primary.

pub mod history;

use serde::Serialize;
use std::collections::BTreeMap;

use crate::model::{Cluster, Topology};

/// The role a node plays in its cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Primary,
    Replica,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Primary => "primary",
            Role::Replica => "replica",
        }
    }
}

/// Another node of the same cluster, as seen from one node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PeerRef {
    pub name: String,
    pub number: u32,
    pub host: String,
}

/// Everything about one node that rendering and planning need.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeLayout {
    /// `<cluster><number>`, e.g. `mysql-cluster3`.
    pub name: String,
    pub number: u32,
    pub host: String,
    pub role: Role,
    /// The node this one replicates from (replicas in primary-replica).
    pub primary: Option<PeerRef>,
    /// Every other node of the cluster, by number.
    pub peers: Vec<PeerRef>,
    /// Nodes still recorded but no longer in the cluster file. Nothing is
    /// deleted until a remove-node request runs, so they keep their access
    /// (replication, firewall) until then.
    pub orphans: Vec<PeerRef>,
}

/// Number allocations of one cluster: host -> number, numbers never reused.
///
/// Guarantees: a host keeps its number for as long as it is allocated; a
/// released number is kept as a tombstone and never handed out again.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Allocations {
    /// host -> number, for hosts currently in the cluster.
    pub live: BTreeMap<String, u32>,
    /// Numbers of removed nodes (host kept for the record).
    #[serde(default)]
    pub tombstones: BTreeMap<u32, String>,
}

impl Allocations {
    /// The next number never used in this cluster.
    pub fn next_number(&self) -> u32 {
        let live_max = self.live.values().copied().max().unwrap_or(0);
        let dead_max = self.tombstones.keys().copied().max().unwrap_or(0);
        live_max.max(dead_max) + 1
    }

    /// Allocations after this cluster file: hosts already known keep their
    /// numbers, new hosts get the next unused numbers in file order. Hosts no
    /// longer in the file are *not* released here (removal is a request);
    /// they stay allocated so that the plan can show them as orphaned.
    pub fn extend_with(&self, cluster: &Cluster) -> Allocations {
        let mut next = self.clone();
        for node in &cluster.nodes {
            if !next.live.contains_key(&node.host) {
                let n = next.next_number();
                next.live.insert(node.host.clone(), n);
            }
        }
        next
    }

    /// Release a host's number, keeping it as a tombstone.
    pub fn release(&mut self, host: &str) -> Option<u32> {
        let n = self.live.remove(host)?;
        self.tombstones.insert(n, host.to_string());
        Some(n)
    }

    pub fn number_of(&self, host: &str) -> Option<u32> {
        self.live.get(host).copied()
    }
}

/// The node name for a number: `<cluster><number>`.
pub fn node_name(cluster: &str, number: u32) -> String {
    format!("{cluster}{number}")
}

/// Nodes still allocated to the cluster whose hosts are no longer in its
/// file, by number: orphans until a remove-node request releases them.
pub fn orphans(cluster: &Cluster, alloc: &Allocations) -> Vec<PeerRef> {
    alloc
        .live
        .iter()
        .filter(|(host, _)| !cluster.nodes.iter().any(|n| &n.host == *host))
        .map(|(host, number)| PeerRef {
            name: node_name(&cluster.name, *number),
            number: *number,
            host: host.clone(),
        })
        .collect()
}

/// The orphans of `cluster` laid out to be observed or worked on (a
/// remove-node request): none of them is anyone's source; the recorded
/// primary keeps its role.
pub fn orphan_layouts(cluster: &Cluster, alloc: &Allocations, primary_host: Option<&str>) -> Vec<NodeLayout> {
    orphans(cluster, alloc)
        .into_iter()
        .map(|o| NodeLayout {
            role: if primary_host == Some(o.host.as_str()) {
                Role::Primary
            } else {
                Role::Replica
            },
            name: o.name,
            number: o.number,
            host: o.host,
            primary: None,
            peers: Vec::new(),
            orphans: Vec::new(),
        })
        .collect()
}

/// Lay out the nodes of `cluster` in file order.
///
/// Hosts missing from `alloc` are numbered as [`Allocations::extend_with`]
/// would number them. `primary_host` is the recorded primary;
/// when absent (a new cluster) or no longer in the file, the first node is
/// the primary. In multi-master every node is a primary.
pub fn layout(cluster: &Cluster, alloc: &Allocations, primary_host: Option<&str>) -> Vec<NodeLayout> {
    let alloc = alloc.extend_with(cluster);
    let refs: Vec<PeerRef> = cluster
        .nodes
        .iter()
        .filter_map(|n| {
            let number = alloc.number_of(&n.host)?;
            Some(PeerRef {
                name: node_name(&cluster.name, number),
                number,
                host: n.host.clone(),
            })
        })
        .collect();
    let orphans = orphans(cluster, &alloc);
    let primary = primary_host
        .and_then(|h| refs.iter().find(|r| r.host == h))
        .or_else(|| refs.first())
        .cloned();
    let mut out: Vec<NodeLayout> = refs
        .iter()
        .map(|me| {
            let is_primary = cluster.topology == Topology::MultiMaster || primary.as_ref() == Some(me);
            let mut peers: Vec<PeerRef> = refs.iter().filter(|r| *r != me).cloned().collect();
            peers.sort_by_key(|p| p.number);
            NodeLayout {
                name: me.name.clone(),
                number: me.number,
                host: me.host.clone(),
                role: if is_primary { Role::Primary } else { Role::Replica },
                primary: if is_primary { None } else { primary.clone() },
                peers,
                orphans: orphans.clone(),
            }
        })
        .collect();
    out.sort_by_key(|n| n.number);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cluster(topology: &str, hosts: &[&str]) -> Cluster {
        let nodes: String = hosts
            .iter()
            .map(|h| format!("[[nodes]]\nhost = \"{h}\"\n"))
            .collect();
        toml::from_str(&format!(
            "name = \"db\"\nengine = \"mariadb\"\nversion = \"10.11\"\ntopology = \"{topology}\"\n{nodes}"
        ))
        .expect("cluster")
    }

    #[test]
    fn numbers_are_never_reused() {
        let a = Allocations::default().extend_with(&cluster("primary-replica", &["h1", "h2", "h3"]));
        assert_eq!(a.live.values().copied().collect::<Vec<_>>(), vec![1, 2, 3]);
        let mut b = a.extend_with(&cluster("primary-replica", &["h1", "h2"]));
        assert_eq!(b.release("h3"), Some(3));
        let c = b.extend_with(&cluster("primary-replica", &["h1", "h2", "h4"]));
        assert_eq!(c.number_of("h4"), Some(4), "3 was used by a removed node");
        // A host that comes back after removal gets a new number too.
        let mut d = c.clone();
        d.release("h2");
        let e = d.extend_with(&cluster("primary-replica", &["h1", "h4", "h2"]));
        assert_eq!(e.number_of("h2"), Some(5));
    }

    #[test]
    fn first_node_is_primary_until_recorded_otherwise() {
        let c = cluster("primary-replica", &["h1", "h2", "h3"]);
        let alloc = Allocations::default().extend_with(&c);
        let l = layout(&c, &alloc, None);
        assert_eq!(
            l.iter().map(|n| (n.name.as_str(), n.role)).collect::<Vec<_>>(),
            vec![
                ("db1", Role::Primary),
                ("db2", Role::Replica),
                ("db3", Role::Replica)
            ]
        );
        assert_eq!(l[1].primary.as_ref().map(|p| p.name.as_str()), Some("db1"));
        // Reordering the file does not move the primary; the record does.
        let reordered = cluster("primary-replica", &["h3", "h1", "h2"]);
        let l = layout(&reordered, &alloc, Some("h1"));
        assert_eq!(
            l.iter()
                .find(|n| n.role == Role::Primary)
                .map(|n| n.name.as_str()),
            Some("db1")
        );
        let l = layout(&reordered, &alloc, Some("h2"));
        assert_eq!(
            l.iter()
                .find(|n| n.role == Role::Primary)
                .map(|n| n.name.as_str()),
            Some("db2")
        );
    }

    #[test]
    fn removed_hosts_stay_as_orphans_until_released() {
        let alloc = Allocations::default().extend_with(&cluster("primary-replica", &["h1", "h2", "h3"]));
        let smaller = cluster("primary-replica", &["h1", "h2"]);
        let l = layout(&smaller, &alloc, None);
        assert_eq!(l.len(), 2);
        assert!(l
            .iter()
            .all(|n| n.orphans.iter().map(|o| o.name.as_str()).eq(["db3"])));
        let mut released = alloc.clone();
        released.release("h3");
        assert!(layout(&smaller, &released, None)
            .iter()
            .all(|n| n.orphans.is_empty()));
    }

    #[test]
    fn multi_master_nodes_are_all_primaries() {
        let c = cluster("multi-master", &["h1", "h2"]);
        let l = layout(&c, &Allocations::default(), None);
        assert!(l.iter().all(|n| n.role == Role::Primary && n.primary.is_none()));
        assert_eq!(
            l[0].peers.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
            vec!["db2"]
        );
    }
}
