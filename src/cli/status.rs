//! `dbfleet status`: every node as observed now, and one verdict: exit 0
//! when every node is healthy, 2 when one is not (orphans aside), 1 when
//! status could not run.

use futures::future::join_all;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::{self, Write};

use super::args::{Format, Global, StatusArgs};
use super::{exit, online, repo, target};
use crate::engine::ObservedRole;
use crate::model::{Cluster, Engine, Repo, Topology};
use crate::observe::{self, NodeObservation};
use crate::state::StateStore;
use crate::transport::SshPool;

/// One cluster, in the shape of a cluster of the JSON plan (`name`,
/// `engine`, `version`, `topology`).
#[derive(Serialize)]
struct ClusterStatus {
    name: String,
    engine: Engine,
    version: String,
    topology: Topology,
    last_applied_commit: Option<String>,
    nodes: Vec<NodeStatus>,
    /// Names of the nodes in `nodes` that are still allocated but no longer
    /// in the cluster file (kept until a remove-node request runs).
    orphaned: Vec<String>,
    /// The request ledger: every request that ran (or runs) on the
    /// cluster, oldest first, with its state, phase, times and reason.
    requests: Vec<crate::state::RequestRecord>,
}

#[derive(Serialize)]
struct NodeStatus {
    #[serde(flatten)]
    observed: NodeObservation,
    health: Health,
}

/// A node's health, worst first; only `Healthy` is healthy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
enum Health {
    /// Not observed: the host did not answer, or refused us.
    Down,
    /// The engine is not installed.
    Missing,
    /// Installed, but no data directory initialised by dbfleet.
    Empty,
    /// Not running.
    Stopped,
    /// Running, but its replication is broken.
    Degraded,
    Healthy,
}

impl fmt::Display for Health {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            Health::Down => "DOWN",
            Health::Missing => "missing",
            Health::Empty => "empty",
            Health::Stopped => "stopped",
            Health::Degraded => "degraded",
            Health::Healthy => "healthy",
        })
    }
}

impl ClusterStatus {
    /// Every node of the cluster file is healthy (orphans do not count).
    fn healthy(&self) -> bool {
        self.nodes
            .iter()
            .all(|n| n.health == Health::Healthy || self.orphaned.contains(&n.observed.name))
    }
}

pub fn run(g: &Global, a: &StatusArgs) -> anyhow::Result<u8> {
    let dir = a.repo.clone().unwrap_or_else(|| ".".into());
    let Ok(repo::Opened {
        mut loaded, store, ..
    }) = repo::open(g, &dir)?
    else {
        return Ok(exit::ERROR);
    };
    // Only clusters of the repository have a status (not orphaned ones).
    target::only(
        a.cluster.as_slice(),
        &mut loaded.repo,
        &mut BTreeMap::<String, ()>::new(),
    )?;
    let repo = &loaded.repo;
    let pool = crate::observe::ssh_pool(&repo.fleet)?;
    let statuses = online::runtime()?.block_on(async {
        let observing = repo
            .clusters
            .iter()
            .map(|c| cluster_status(repo, &store, &pool, c));
        let out = join_all(observing).await;
        pool.disconnect_all().await;
        out.into_iter().collect::<anyhow::Result<Vec<_>>>()
    })?;
    match a.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&statuses)?),
        Format::Text | Format::Markdown => print!("{}", table(&statuses)),
    }
    Ok(verdict(&statuses))
}

fn verdict(statuses: &[ClusterStatus]) -> u8 {
    if statuses.iter().all(ClusterStatus::healthy) {
        exit::OK
    } else {
        exit::DEGRADED
    }
}

/// One cluster's nodes as observed, with the orphans it still holds.
async fn cluster_status(
    repo: &Repo,
    store: &dyn StateStore,
    pool: &SshPool,
    c: &Cluster,
) -> anyhow::Result<ClusterStatus> {
    let (_, mut nodes) = online::observe_cluster(repo, store, pool, c).await?;
    let state = store.cluster(&c.name)?;
    let orphans = crate::layout::orphan_layouts(c, &state.allocations, state.primary.as_deref());
    if !orphans.is_empty() {
        let secrets = crate::secrets::peek(store.dir(), c);
        nodes.extend(observe::observe_cluster(pool, &repo.fleet, c, &orphans, &secrets).await);
        nodes.sort_by_key(|n| n.number);
    }
    Ok(ClusterStatus {
        name: c.name.clone(),
        engine: c.engine,
        version: c.version.clone(),
        topology: c.topology,
        last_applied_commit: state.commit,
        nodes: nodes
            .into_iter()
            .map(|observed| NodeStatus {
                health: health(&observed),
                observed,
            })
            .collect(),
        orphaned: orphans.into_iter().map(|o| o.name).collect(),
        requests: {
            let mut r: Vec<_> = state.requests.into_values().collect();
            r.sort_by_key(|r| (r.started, r.id.clone()));
            r
        },
    })
}

fn table(statuses: &[ClusterStatus]) -> String {
    let mut out = String::new();
    for c in statuses {
        let commit = c
            .last_applied_commit
            .as_deref()
            .map_or("never applied".to_string(), |s| {
                format!("last applied {}", &s[..s.len().min(12)])
            });
        let _ = writeln!(
            out,
            "{} ({} {}, {}): {}",
            c.name, c.engine, c.version, c.topology, commit
        );
        let _ = writeln!(
            out,
            "  {:<20} {:<16} {:<8} {:<9} {:<14} VERSION",
            "NODE", "HOST", "ROLE", "HEALTH", "LAG"
        );
        for NodeStatus { observed: n, health } in &c.nodes {
            let (role, lag, version) = describe(n);
            let _ = writeln!(
                out,
                "  {:<20} {:<16} {:<8} {:<9} {:<14} {}",
                n.name, n.host, role, health, lag, version
            );
            if c.orphaned.contains(&n.name) {
                let _ = writeln!(
                    out,
                    "      orphaned: no longer in the cluster file; left as it is until a remove-node request removes it"
                );
            }
            if let Some(why) = &n.unreachable {
                let _ = writeln!(out, "      {why}");
            }
            if let Some(err) = n
                .engine
                .as_ref()
                .and_then(|e| e.replication.as_ref())
                .and_then(|r| r.last_error.as_ref())
            {
                let _ = writeln!(out, "      replication error: {err}");
            }
        }
        if !c.requests.is_empty() {
            let _ = writeln!(out, "  requests:");
            for r in &c.requests {
                let _ = writeln!(out, "    {}", crate::requests::outcome_line(r));
            }
        }
        out.push('\n');
    }
    out
}

fn health(n: &NodeObservation) -> Health {
    let Some(e) = &n.engine else {
        return Health::Down;
    };
    match (e.installed, e.initialised, e.running, &e.replication) {
        (false, _, _, _) => Health::Missing,
        (_, false, _, _) => Health::Empty,
        (_, _, false, _) => Health::Stopped,
        (_, _, true, Some(r)) if !r.healthy => Health::Degraded,
        _ => Health::Healthy,
    }
}

/// Role, lag and version, as shown in the table.
fn describe(n: &NodeObservation) -> (String, String, String) {
    let Some(e) = &n.engine else {
        return ("-".into(), "-".into(), "-".into());
    };
    let role = match e.role {
        Some(ObservedRole::Primary) => "primary",
        Some(ObservedRole::Replica) => "replica",
        None => "-",
    };
    let lag = match &e.replication {
        Some(r) => match (r.lag_seconds, r.lag_bytes) {
            (Some(s), Some(b)) => format!("{s:.0}s/{b}B"),
            (Some(s), None) => format!("{s:.0}s"),
            (None, Some(b)) => format!("{b}B"),
            (None, None) => "unknown".into(),
        },
        None => "-".into(),
    };
    (role.into(), lag, e.version.clone().unwrap_or_else(|| "-".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{EngineState, Replication};

    fn node(name: &str, engine: Option<EngineState>) -> NodeObservation {
        NodeObservation {
            name: name.into(),
            number: 1,
            host: "192.0.2.1".into(),
            unreachable: engine.is_none().then(|| "192.0.2.1: could not connect".into()),
            service: None,
            engine,
            files: Default::default(),
            firewall_missing: false,
        }
    }

    fn running(replication: Option<bool>) -> Option<EngineState> {
        Some(EngineState {
            installed: true,
            initialised: true,
            running: true,
            replication: replication.map(|healthy| Replication {
                source_host: "192.0.2.1".into(),
                healthy,
                lag_seconds: Some(0.0),
                lag_bytes: None,
                last_error: None,
            }),
            ..EngineState::default()
        })
    }

    #[test]
    fn health_of_a_node() {
        let stopped = EngineState {
            installed: true,
            initialised: true,
            ..EngineState::default()
        };
        let empty = EngineState {
            installed: true,
            ..EngineState::default()
        };
        let cases = [
            (None, Health::Down),
            (Some(EngineState::default()), Health::Missing),
            (Some(empty), Health::Empty),
            (Some(stopped), Health::Stopped),
            (running(Some(false)), Health::Degraded),
            (running(Some(true)), Health::Healthy),
            (running(None), Health::Healthy),
        ];
        for (engine, want) in cases {
            assert_eq!(health(&node("a1", engine.clone())), want, "{engine:?}");
        }
    }

    fn cluster(nodes: Vec<NodeObservation>, orphaned: &[&str]) -> ClusterStatus {
        ClusterStatus {
            name: "kv".into(),
            engine: Engine::Valkey,
            version: "9.0".into(),
            topology: Topology::PrimaryReplica,
            last_applied_commit: None,
            nodes: nodes
                .into_iter()
                .map(|observed| NodeStatus {
                    health: health(&observed),
                    observed,
                })
                .collect(),
            orphaned: orphaned.iter().map(|s| s.to_string()).collect(),
            requests: Vec::new(),
        }
    }

    #[test]
    fn exit_0_only_when_every_node_is_healthy_orphans_aside() {
        let healthy = || {
            cluster(
                vec![node("kv1", running(None)), node("kv2", running(Some(true)))],
                &[],
            )
        };
        assert_eq!(verdict(&[healthy()]), exit::OK);
        assert_eq!(verdict(&[]), exit::OK);
        let replica_broken = cluster(
            vec![node("kv1", running(None)), node("kv2", running(Some(false)))],
            &[],
        );
        assert_eq!(verdict(&[healthy(), replica_broken]), exit::DEGRADED);
        let all_down = cluster(vec![node("kv1", None), node("kv2", None)], &[]);
        assert_eq!(verdict(&[all_down]), exit::DEGRADED);
        let orphan_down = cluster(vec![node("kv1", running(None)), node("kv3", None)], &["kv3"]);
        assert_eq!(verdict(&[orphan_down]), exit::OK);
    }

    /// Defect 12: one shape with the JSON plan: engine and version apart.
    #[test]
    fn json_names_engine_and_version_apart_and_each_node_health() {
        let c = cluster(vec![node("kv1", None)], &[]);
        let v = serde_json::to_value([c]).expect("json");
        assert_eq!(v[0]["engine"], "valkey");
        assert_eq!(v[0]["version"], "9.0");
        assert_eq!(v[0]["topology"], "primary-replica");
        assert_eq!(v[0]["nodes"][0]["name"], "kv1");
        assert_eq!(v[0]["nodes"][0]["health"], "down");
        assert_eq!(v[0]["nodes"][0]["unreachable"], "192.0.2.1: could not connect");
    }
}
