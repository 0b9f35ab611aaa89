//! What is there before a plan: per node, whether it is built and running,
//! what its files hold and whom it replicates from. Derived either from the
//! recorded state (offline, `--base`) or from observing the hosts (online).

use std::collections::BTreeMap;

use crate::engine::{ObservedRole, Replication};
use crate::state::ClusterState;

/// One node as it is now.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NodeBefore {
    pub host: String,
    /// The node holds data (initialised or seeded by dbfleet).
    pub built: bool,
    pub running: bool,
    /// Managed files: host path -> content (absent: missing on the host).
    pub files: BTreeMap<String, String>,
    /// For a replica: the host it replicates from, and whether the stream is
    /// healthy. `None`: not replicating.
    pub replicating_from: Option<(String, bool)>,
    /// The role the engine reports (online only).
    pub role: Option<ObservedRole>,
    /// The replica's stream as the engine reports it: source, health, lag
    /// (online only).
    pub replication: Option<Replication>,
    /// Set when the host could not be observed: why.
    pub unreachable: Option<String>,
    /// The cluster's firewall chain is missing from the host's ruleset (a
    /// reboot drops rules that were never saved): it must be loaded again.
    pub firewall_missing: bool,
}

/// A cluster as it is now.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClusterBefore {
    /// Allocations, recorded primary, engine facts.
    pub state: ClusterState,
    /// Node name -> what is there. A node missing here is not built.
    pub nodes: BTreeMap<String, NodeBefore>,
    /// Whether `nodes` reports replication (online) or assumes it (recorded).
    pub observed: bool,
}

impl ClusterBefore {
    /// The recorded state taken at its word: every applied node is built,
    /// running, replicating as laid out, with the files last applied.
    pub fn from_recorded(state: &ClusterState) -> ClusterBefore {
        let nodes = state
            .applied
            .iter()
            .map(|(name, a)| {
                let node = NodeBefore {
                    host: a.host.clone(),
                    built: true,
                    running: true,
                    files: a
                        .files
                        .iter()
                        .map(|(p, f)| (p.clone(), f.content.clone()))
                        .collect(),
                    replicating_from: None,
                    role: None,
                    replication: None,
                    unreachable: None,
                    firewall_missing: false,
                };
                (name.clone(), node)
            })
            .collect();
        ClusterBefore {
            state: state.clone(),
            nodes,
            observed: false,
        }
    }
}

/// Before-views of every cluster, by name.
pub type Before = BTreeMap<String, ClusterBefore>;

/// Before-views from recorded state.
pub fn from_recorded(recorded: &BTreeMap<String, ClusterState>) -> Before {
    recorded
        .iter()
        .map(|(k, v)| (k.clone(), ClusterBefore::from_recorded(v)))
        .collect()
}
