//! Node numbers derived from the revisions of a repository, for when no
//! state store recorded them (offline `validate`, `plan --base`): what the
//! store would hold had every revision been applied in turn, as far as the
//! history can say. Pure: it reads [`Snapshot`]s, oldest first.
//!
//! Each revision's cluster files extend the allocations (a host gone from the
//! file stays allocated, an orphan); then its requests run once, in id order,
//! as soon as what they act on allows it: a `remove-node` whose host is gone
//! from the file releases the number to a tombstone, a `delete-cluster` whose
//! file is gone releases every number, a `promote` moves the primary.

use std::collections::{BTreeMap, BTreeSet};

use super::{node_name, Allocations};
use crate::model::{Cluster, Request};
use crate::source::Snapshot;

/// The numbering a history leads to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Derived {
    /// Every cluster the history ever held, by name: its numbers, with the
    /// hosts gone from the file (orphans) and the tombstones.
    pub allocations: BTreeMap<String, Allocations>,
    /// Host of the primary: the first node when the cluster first appeared,
    /// moved by promote requests.
    pub primaries: BTreeMap<String, String>,
    /// Ids of the requests that ran (their effect is in the numbers above).
    pub ran: BTreeSet<String>,
    /// Each cluster's file as it last parsed: what a cluster gone from the
    /// repository was (engine, version, topology).
    pub last_seen: BTreeMap<String, Cluster>,
}

impl Derived {
    /// The same without the named clusters: nothing is known of them.
    pub fn without(&self, names: &BTreeSet<String>) -> Derived {
        let mut out = self.clone();
        for name in names {
            out.allocations.remove(name);
            out.primaries.remove(name);
            out.last_seen.remove(name);
        }
        out
    }

    /// The numbering after every revision, oldest first.
    pub fn from_revisions<'a>(revisions: impl IntoIterator<Item = &'a Snapshot>) -> Derived {
        let mut derived = Derived::default();
        for snapshot in revisions {
            derived.apply(snapshot);
        }
        derived
    }

    /// One more revision. Files that do not parse are passed over: the
    /// hosts they held earlier stay allocated.
    pub fn apply(&mut self, snapshot: &Snapshot) {
        let mut clusters: BTreeMap<String, Cluster> = BTreeMap::new();
        let mut requests: Vec<(String, Request)> = Vec::new();
        for (path, text) in &snapshot.files {
            if path.starts_with("clusters/") {
                if let Ok(c) = toml::from_str::<Cluster>(text) {
                    clusters.insert(c.name.clone(), c);
                }
            } else if let Some(id) = path
                .strip_prefix("requests/")
                .and_then(|p| p.strip_suffix(".toml"))
            {
                if let Ok(r) = toml::from_str::<Request>(text) {
                    requests.push((id.to_string(), r));
                }
            }
        }
        for (name, c) in &clusters {
            let before = self.allocations.get(name).cloned().unwrap_or_default();
            if before.live.is_empty() && !self.primaries.contains_key(name) {
                if let Some(first) = c.nodes.first() {
                    self.primaries.insert(name.clone(), first.host.clone());
                }
            }
            self.allocations.insert(name.clone(), before.extend_with(c));
        }
        self.last_seen
            .extend(clusters.iter().map(|(k, c)| (k.clone(), c.clone())));
        for (id, request) in requests {
            if !self.ran.contains(&id) && self.run(&request, clusters.get(request.cluster())) {
                self.ran.insert(id);
            }
        }
    }

    /// Run a request if it can run now; whether it did.
    fn run(&mut self, request: &Request, file: Option<&Cluster>) -> bool {
        let name = request.cluster();
        let Some(alloc) = self.allocations.get_mut(name) else {
            return false;
        };
        let in_file = |host: &str| file.is_some_and(|c| c.nodes.iter().any(|n| n.host == host));
        let host_of = |alloc: &Allocations, node: &str| {
            alloc
                .live
                .iter()
                .find(|(_, n)| node_name(name, **n) == node)
                .map(|(h, _)| h.clone())
        };
        match request {
            Request::RemoveNode { node, .. } => match host_of(alloc, node) {
                Some(host) if !in_file(&host) => {
                    alloc.release(&host);
                    if self.primaries.get(name) == Some(&host) {
                        self.primaries.remove(name);
                    }
                    true
                }
                _ => false,
            },
            Request::DeleteCluster { .. } if file.is_none() => {
                let hosts: Vec<String> = alloc.live.keys().cloned().collect();
                for host in hosts {
                    alloc.release(&host);
                }
                self.primaries.remove(name);
                true
            }
            Request::Promote { node, .. } => match host_of(alloc, node) {
                Some(host) if in_file(&host) => {
                    self.primaries.insert(name.to_string(), host);
                    true
                }
                _ => false,
            },
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cluster(name: &str, hosts: &[&str]) -> String {
        let nodes: String = hosts
            .iter()
            .map(|h| format!("[[nodes]]\nhost = \"{h}\"\n"))
            .collect();
        format!(
            "name = \"{name}\"\nengine = \"mariadb\"\nversion = \"10.11\"\ntopology = \"primary-replica\"\n{nodes}"
        )
    }

    fn remove(cluster: &str, node: &str) -> String {
        format!(
            "action = \"remove-node\"\ncluster = \"{cluster}\"\nnode = \"{node}\"\nconfirm = \"{node}\"\n"
        )
    }

    fn rev(files: &[(&str, String)]) -> Snapshot {
        Snapshot::in_memory(files.iter().map(|(p, t)| (p.to_string(), t.clone())))
    }

    fn live(d: &Derived, cluster: &str) -> Vec<(String, u32)> {
        d.allocations[cluster]
            .live
            .iter()
            .map(|(h, n)| (h.clone(), *n))
            .collect()
    }

    fn pairs(p: &[(&str, u32)]) -> Vec<(String, u32)> {
        p.iter().map(|(h, n)| (h.to_string(), *n)).collect()
    }

    #[test]
    fn a_removed_host_stays_allocated_and_new_hosts_never_take_its_number() {
        let d = Derived::from_revisions(&[
            rev(&[("clusters/app.toml", cluster("app", &["h41", "h42", "h43"]))]),
            rev(&[("clusters/app.toml", cluster("app", &["h41", "h43"]))]),
            rev(&[("clusters/app.toml", cluster("app", &["h41", "h43", "h44"]))]),
        ]);
        assert_eq!(
            live(&d, "app"),
            pairs(&[("h41", 1), ("h42", 2), ("h43", 3), ("h44", 4)])
        );
        assert_eq!(d.primaries["app"], "h41");
        assert!(d.ran.is_empty());
    }

    #[test]
    fn remove_node_releases_once_the_host_is_gone() {
        let three = cluster("app", &["h41", "h42", "h43"]);
        let two = cluster("app", &["h41", "h43"]);
        let req = remove("app", "app2");
        let d = Derived::from_revisions(&[
            rev(&[("clusters/app.toml", three.clone())]),
            // Committed while the host is still in the file: waits.
            rev(&[
                ("clusters/app.toml", three.clone()),
                ("requests/2026-01-02-remove-node-app2.toml", req.clone()),
            ]),
        ]);
        assert_eq!(live(&d, "app").len(), 3);
        assert!(d.ran.is_empty());
        let d = Derived::from_revisions(&[
            rev(&[("clusters/app.toml", three)]),
            rev(&[
                ("clusters/app.toml", two.clone()),
                ("requests/2026-01-02-remove-node-app2.toml", req.clone()),
            ]),
            // The host comes back later: a new number; the old request, still
            // in the tree, has run and does not run again.
            rev(&[
                ("clusters/app.toml", cluster("app", &["h41", "h43", "h42"])),
                ("requests/2026-01-02-remove-node-app2.toml", req),
            ]),
        ]);
        assert_eq!(live(&d, "app"), pairs(&[("h41", 1), ("h42", 4), ("h43", 3)]));
        assert_eq!(
            d.allocations["app"].tombstones,
            BTreeMap::from([(2, "h42".to_string())])
        );
        assert_eq!(
            d.ran.iter().collect::<Vec<_>>(),
            vec!["2026-01-02-remove-node-app2"]
        );
    }

    #[test]
    fn delete_cluster_releases_every_number_once_the_file_is_gone() {
        let del = "action = \"delete-cluster\"\ncluster = \"kv\"\nconfirm = \"kv\"\n".to_string();
        let d = Derived::from_revisions(&[
            rev(&[("clusters/kv.toml", cluster("kv", &["h1", "h2"]))]),
            rev(&[("requests/2026-01-03-delete-cluster-kv.toml", del)]),
        ]);
        assert!(d.allocations["kv"].live.is_empty());
        assert_eq!(d.allocations["kv"].tombstones.len(), 2);
        assert!(!d.primaries.contains_key("kv"));
        assert!(d.ran.contains("2026-01-03-delete-cluster-kv"));
    }

    #[test]
    fn a_cluster_gone_without_a_request_keeps_its_nodes_as_orphans() {
        let d = Derived::from_revisions(&[
            rev(&[("clusters/kv.toml", cluster("kv", &["h1", "h2"]))]),
            rev(&[]),
        ]);
        assert_eq!(live(&d, "kv"), pairs(&[("h1", 1), ("h2", 2)]));
    }

    #[test]
    fn promote_moves_the_primary_and_reordering_does_not() {
        let promote = "action = \"promote\"\ncluster = \"app\"\nnode = \"app3\"\n".to_string();
        let d = Derived::from_revisions(&[
            rev(&[("clusters/app.toml", cluster("app", &["h41", "h42", "h43"]))]),
            rev(&[("clusters/app.toml", cluster("app", &["h42", "h41", "h43"]))]),
        ]);
        assert_eq!(d.primaries["app"], "h41");
        let d = Derived::from_revisions(&[
            rev(&[("clusters/app.toml", cluster("app", &["h41", "h42", "h43"]))]),
            rev(&[
                ("clusters/app.toml", cluster("app", &["h41", "h42", "h43"])),
                ("requests/2026-01-04-promote-app3.toml", promote),
            ]),
        ]);
        assert_eq!(d.primaries["app"], "h43");
    }

    #[test]
    fn files_that_do_not_parse_are_passed_over() {
        let d = Derived::from_revisions(&[
            rev(&[("clusters/app.toml", cluster("app", &["h1", "h2"]))]),
            rev(&[
                ("clusters/app.toml", "name = \"app\"\nnodes = [".to_string()),
                ("requests/x.toml", "action = 3".to_string()),
            ]),
            rev(&[("clusters/app.toml", cluster("app", &["h2", "h3"]))]),
        ]);
        assert_eq!(live(&d, "app"), pairs(&[("h1", 1), ("h2", 2), ("h3", 3)]));
    }
}
