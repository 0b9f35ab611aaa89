use futures::future::join_all;
use serde::Serialize;
use std::fmt::Write;

use super::args::{Format, Global, StatusArgs};
use super::{exit, online, repo};
use crate::engine::ObservedRole;
use crate::layout::{NodeLayout, Role};
use crate::model::{Cluster, Repo};
use crate::observe::{self, NodeObservation};
use crate::state::{ClusterState, StateStore};
use crate::transport::SshPool;

#[derive(Serialize)]
struct ClusterStatus {
    name: String,
    engine: String,
    topology: String,
    last_applied_commit: Option<String>,
    nodes: Vec<NodeObservation>,
    /// Names of the nodes in `nodes` that are still allocated but no longer
    /// in the cluster file (kept until a remove-node request runs).
    orphaned: Vec<String>,
}

pub fn run(g: &Global, a: &StatusArgs) -> anyhow::Result<u8> {
    let dir = a.repo.clone().unwrap_or_else(|| ".".into());
    let Some(repo::Opened { loaded, store, .. }) = repo::open(g, &dir)? else {
        return Ok(exit::ERROR);
    };
    let repo = &loaded.repo;
    if let Some(name) = &a.cluster {
        if repo.cluster(name).is_none() {
            anyhow::bail!("no cluster named `{name}` in {}", dir.display());
        }
    }
    let pool = crate::observe::ssh_pool(&repo.fleet)?;
    let statuses = online::runtime()?.block_on(async {
        let chosen = repo
            .clusters
            .iter()
            .filter(|c| a.cluster.as_ref().is_none_or(|n| *n == c.name));
        let out = join_all(chosen.map(|c| cluster_status(repo, &store, &pool, c))).await;
        pool.disconnect_all().await;
        out.into_iter().collect::<anyhow::Result<Vec<_>>>()
    })?;
    match a.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&statuses)?),
        Format::Text | Format::Markdown => print!("{}", table(&statuses)),
    }
    Ok(exit::OK)
}

/// One cluster's nodes as observed, with the orphans it still holds.
async fn cluster_status(
    repo: &Repo,
    store: &StateStore,
    pool: &SshPool,
    c: &Cluster,
) -> anyhow::Result<ClusterStatus> {
    let (_, mut nodes) = online::observe_cluster(repo, store, pool, c).await?;
    let state = store.cluster(&c.name)?;
    let orphans = orphan_layouts(c, &state);
    if !orphans.is_empty() {
        let secrets = crate::secrets::peek(store.dir(), c);
        nodes.extend(observe::observe_cluster(pool, &repo.fleet, c, &orphans, &secrets).await);
        nodes.sort_by_key(|n| n.number);
    }
    Ok(ClusterStatus {
        name: c.name.clone(),
        engine: format!("{} {}", c.engine, c.version),
        topology: c.topology.to_string(),
        last_applied_commit: state.commit,
        nodes,
        orphaned: orphans.into_iter().map(|o| o.name).collect(),
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
        let _ = writeln!(out, "{} ({}, {}): {}", c.name, c.engine, c.topology, commit);
        let _ = writeln!(
            out,
            "  {:<20} {:<16} {:<8} {:<9} {:<14} VERSION",
            "NODE", "HOST", "ROLE", "HEALTH", "LAG"
        );
        for n in &c.nodes {
            let (role, health, lag, version) = describe(n);
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
        out.push('\n');
    }
    out
}

/// Nodes still allocated to the cluster whose hosts left the cluster file,
/// laid out to be observed (none of them is anyone's source).
fn orphan_layouts(c: &Cluster, state: &ClusterState) -> Vec<NodeLayout> {
    crate::layout::orphans(c, &state.allocations)
        .into_iter()
        .map(|o| NodeLayout {
            role: if state.primary.as_deref() == Some(o.host.as_str()) {
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

fn describe(n: &NodeObservation) -> (String, String, String, String) {
    let Some(e) = &n.engine else {
        return ("-".into(), "DOWN".into(), "-".into(), "-".into());
    };
    let role = match e.role {
        Some(ObservedRole::Primary) => "primary",
        Some(ObservedRole::Replica) => "replica",
        None => "-",
    };
    let health = match (e.installed, e.initialised, e.running, &e.replication) {
        (false, _, _, _) => "missing",
        (_, false, _, _) => "empty",
        (_, _, false, _) => "stopped",
        (_, _, true, Some(r)) if !r.healthy => "degraded",
        _ => "healthy",
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
    (
        role.into(),
        health.into(),
        lag,
        e.version.clone().unwrap_or_else(|| "-".into()),
    )
}
