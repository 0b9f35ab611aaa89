//! What online commands share: the SSH pool, and observing clusters into
//! before-views for planning.

use anyhow::Context;
use futures::future::join_all;
use std::collections::BTreeMap;

use crate::layout::layout;
use crate::model::{Cluster, Repo};
use crate::observe::{self, NodeObservation};
use crate::plan::{Before, ClusterBefore};
use crate::state::{ClusterState, StateStore};
use crate::transport::SshPool;

/// A tokio runtime for one command.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// Observe one cluster as recorded (allocations, primary) and laid out now.
pub async fn observe_cluster(
    repo: &Repo,
    store: &dyn StateStore,
    pool: &SshPool,
    c: &Cluster,
) -> anyhow::Result<(ClusterBefore, Vec<NodeObservation>)> {
    let state = store.cluster(&c.name)?;
    let nodes = layout(c, &state.allocations, state.primary.as_deref());
    let secrets = crate::secrets::peek(store.dir(), c);
    let obs = observe::observe_cluster(pool, &repo.fleet, c, &nodes, &secrets).await;
    Ok((observe::to_before(&state, &obs), obs))
}

/// Before-views of every cluster of the repository (plus the `recorded`
/// clusters no longer in it, from their state).
pub async fn observe_all(
    repo: &Repo,
    store: &dyn StateStore,
    recorded: &BTreeMap<String, ClusterState>,
    pool: &SshPool,
) -> anyhow::Result<Before> {
    let mut before = Before::new();
    let observing = repo
        .clusters
        .iter()
        .map(|c| observe_cluster(repo, store, pool, c));
    for (c, observed) in repo.clusters.iter().zip(join_all(observing).await) {
        before.insert(c.name.clone(), observed?.0);
    }
    for (name, state) in recorded {
        before
            .entry(name.clone())
            .or_insert_with(|| ClusterBefore::from_recorded(state));
    }
    Ok(before)
}
