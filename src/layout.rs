//! Node layout: which node of a cluster is called what, has which number and
//! plays which role. Pure: derived from the cluster, the recorded number
//! allocations and the recorded primary.

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
            }
        })
        .collect();
    out.sort_by_key(|n| n.number);
    out
}
