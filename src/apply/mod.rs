//! Apply: carry out the plan of each cluster on its hosts.
//!
//! Per cluster, under the cluster's lock: allocate node numbers (recorded
//! before any host is touched, so a number is never handed out twice),
//! observe every node, plan against what is really there, then
//! 0. load the changed firewalls of existing nodes (and reload those a
//!    reboot dropped), so that a new node's address is let in before it
//!    connects; the engine is not touched,
//! 1. build the first node (initialise, configure, start, create users),
//! 2. check every changed node's new configuration with the engine, all at
//!    once (nothing changes anywhere when one is refused), then roll the
//!    configuration changes of existing nodes: replicas one at a time,
//!    each healthy before the next, the primary last (first when the change
//!    lowers a setting replicas need at least as high as their primary); live where the engine
//!    allows, by a restart otherwise; a change the engine rejects is rolled
//!    back on that node and stops the roll. This comes before seeding: a
//!    new node's source must let it in first (pg_hba.conf),
//! 3. seed every other new node from the primary and start replication
//!    (a new node loads its firewall before its engine starts); a source
//!    that ran before this apply first re-creates the users, so that the
//!    new nodes have replication access (MariaDB grants by address,
//!    PostgreSQL slots) and nodes orphaned by the file keep theirs,
//! 4. start stopped engines and repair replication.
//!
//! The state is saved after every node, with a journal entry naming the
//! step in progress: a run killed halfway is resumed by the next one, which
//! plans from what it observes.

mod configure;
mod firewall;
mod node;
mod progress;

pub use progress::Progress;

use std::collections::BTreeMap;

use crate::engine::{DriverError, Secrets, ServiceMode};
use crate::layout::{layout, node_name, NodeLayout, PeerRef, Role};
use crate::model::{Cluster, Fleet, Repo, Topology};
use crate::observe::{self, NodeObservation};
use crate::plan::{self, Change, ClusterPlan, PlanError, Step};
use crate::render::{firewall_path, RenderedFile, Renderer};
use crate::secrets::SecretError;
use crate::state::{ClusterLock, ClusterState, Journal, StateError, StateStore};
use crate::transport::{SshPool, TransportError};

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Secrets(#[from] SecretError),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error("{node} ({host}) cannot be reached; nothing was done on cluster {cluster}: {why}")]
    Unreachable {
        cluster: String,
        node: String,
        host: String,
        why: String,
    },
    #[error("{node}: {step}: {source}")]
    Step {
        node: String,
        step: String,
        #[source]
        source: Box<DriverError>,
    },
    #[error("{node}: writing {path}: {source}")]
    Write {
        node: String,
        path: String,
        #[source]
        source: Box<TransportError>,
    },
    #[error("{node}: {source}\n  nothing was changed: every node of the cluster was checked before any was touched")]
    Refused {
        node: String,
        #[source]
        source: Box<DriverError>,
    },
    #[error("{node}: {source}\n  rolled back: {node} serves on its previous configuration; the nodes after it were not changed")]
    RolledBack {
        node: String,
        #[source]
        source: Box<DriverError>,
    },
    #[error("{node}: {source}\n  and rolling back failed too: {rollback}")]
    RollbackFailed {
        node: String,
        source: Box<DriverError>,
        rollback: String,
    },
}

/// What apply did to one cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterReport {
    pub name: String,
    pub nodes_built: Vec<String>,
    pub files_written: usize,
    /// Nodes whose changes took effect live.
    pub live: Vec<String>,
    /// Nodes restarted, in order.
    pub restarted: Vec<String>,
    pub started: Vec<String>,
    pub replication_started: Vec<String>,
    /// Nodes whose firewall was loaded.
    pub firewalls_loaded: Vec<String>,
}

impl ClusterReport {
    pub fn changed_anything(&self) -> bool {
        self.files_written > 0
            || !self.nodes_built.is_empty()
            || !self.restarted.is_empty()
            || !self.started.is_empty()
            || !self.replication_started.is_empty()
            || !self.firewalls_loaded.is_empty()
    }
}

/// What apply needs.
pub struct Apply<'a> {
    pub repo: &'a Repo,
    pub renderer: &'a Renderer,
    pub store: &'a StateStore,
    pub pool: &'a SshPool,
    /// The commit applied, recorded in the state.
    pub commit: Option<String>,
    pub progress: &'a Progress,
}

impl Apply<'_> {
    fn fleet(&self) -> &Fleet {
        &self.repo.fleet
    }

    /// Apply one cluster under its lock.
    pub async fn cluster(&self, c: &Cluster) -> Result<ClusterReport, ApplyError> {
        let prepared = self.prepare(c).await?;
        self.execute(prepared).await
    }

    /// Lock the cluster, allocate node numbers (recorded before any host is
    /// touched), observe every node and plan against what is there. The
    /// lock is held until the [`Prepared`] is executed or dropped, so the
    /// plan shown to the user is the one that runs.
    pub async fn prepare<'c>(&self, c: &'c Cluster) -> Result<Prepared<'c>, ApplyError> {
        let lock = self.store.lock(&c.name)?;
        let mut state = self.store.cluster(&c.name)?;
        if let Some(j) = &state.journal {
            self.progress.note(
                &c.name,
                &format!("resuming an apply interrupted at: {} (pid {})", j.step, j.pid),
            );
        }
        state.allocations = state.allocations.extend_with(c);
        state.engine = Some(c.engine);
        state.version = Some(c.version.clone());
        state.topology = Some(c.topology);
        let nodes = layout(c, &state.allocations, state.primary.as_deref());
        if c.topology != Topology::MultiMaster {
            state.primary = nodes
                .iter()
                .find(|n| n.role == Role::Primary)
                .map(|n| n.host.clone());
        }
        self.store.save_cluster(&c.name, &state)?;

        let secrets = crate::secrets::resolve(self.store.dir(), c)?;
        let observed = observe::observe_cluster(self.pool, self.fleet(), c, &nodes, &secrets).await;
        if let Some(o) = observed.iter().find(|o| o.unreachable.is_some()) {
            return Err(ApplyError::Unreachable {
                cluster: c.name.clone(),
                node: o.name.clone(),
                host: o.host.clone(),
                why: o.unreachable.clone().unwrap_or_default(),
            });
        }
        let before = observe::to_before(&state, &observed);
        let (plan, rendered) =
            plan::plan_cluster_rendered(c, self.renderer, self.fleet().ssh.port, Some(&before))?;
        Ok(Prepared {
            cluster: c,
            _lock: lock,
            state,
            nodes,
            observed,
            secrets,
            plan,
            rendered,
        })
    }

    /// Carry out a prepared plan, then release the cluster's lock.
    pub async fn execute(&self, p: Prepared<'_>) -> Result<ClusterReport, ApplyError> {
        let Prepared {
            cluster: c,
            _lock,
            mut state,
            nodes,
            observed,
            secrets,
            plan,
            rendered,
        } = p;
        let mut report = ClusterReport {
            name: c.name.clone(),
            ..Default::default()
        };
        if plan
            .nodes
            .iter()
            .any(|n| !matches!(n.change, Change::NoChange | Change::Orphaned))
        {
            let run = ClusterRun::new(self, c, &nodes, &observed, &secrets, rendered);
            run.execute(&plan, &mut state, &mut report).await?;
        }
        self.finish(c, &mut state, &nodes)?;
        Ok(report)
    }

    /// Clear the journal and record the commit.
    fn finish(&self, c: &Cluster, state: &mut ClusterState, _nodes: &[NodeLayout]) -> Result<(), ApplyError> {
        state.journal = None;
        if self.commit.is_some() {
            state.commit = self.commit.clone();
        }
        self.store.save_cluster(&c.name, state)?;
        Ok(())
    }
}

/// A cluster locked, observed and planned, waiting to be executed.
pub struct Prepared<'c> {
    cluster: &'c Cluster,
    _lock: ClusterLock,
    state: ClusterState,
    nodes: Vec<NodeLayout>,
    observed: Vec<NodeObservation>,
    secrets: Secrets,
    /// What execution will do.
    pub plan: ClusterPlan,
    /// The files the plan was made from, written as they are.
    rendered: plan::Rendered,
}

/// One cluster being applied: its nodes, rendered files, services.
struct ClusterRun<'a> {
    apply: &'a Apply<'a>,
    cluster: &'a Cluster,
    nodes: &'a [NodeLayout],
    secrets: &'a Secrets,
    /// Node name -> rendered engine files.
    files: BTreeMap<String, Vec<RenderedFile>>,
    /// Node name -> rendered firewall file.
    firewalls: BTreeMap<String, RenderedFile>,
    /// Node name -> observed files (path -> content).
    current: BTreeMap<String, BTreeMap<String, String>>,
    services: BTreeMap<String, ServiceMode>,
    running: BTreeMap<String, bool>,
}

impl<'a> ClusterRun<'a> {
    fn new(
        apply: &'a Apply<'a>,
        cluster: &'a Cluster,
        nodes: &'a [NodeLayout],
        observed: &[NodeObservation],
        secrets: &'a Secrets,
        rendered: plan::Rendered,
    ) -> ClusterRun<'a> {
        let (mut files, mut firewalls) = (BTreeMap::new(), BTreeMap::new());
        let firewall = firewall_path(&cluster.name);
        for (name, rendered) in rendered {
            let (fw, engine): (Vec<_>, Vec<_>) = rendered.into_iter().partition(|f| f.path == firewall);
            firewalls.extend(fw.into_iter().next().map(|f| (name.clone(), f)));
            files.insert(name, engine);
        }
        let current = observed
            .iter()
            .map(|o| (o.name.clone(), o.present_files()))
            .collect();
        let services = observed
            .iter()
            .map(|o| (o.name.clone(), o.service.unwrap_or(ServiceMode::Direct)))
            .collect();
        let running = observed
            .iter()
            .map(|o| (o.name.clone(), o.engine.as_ref().is_some_and(|e| e.running)))
            .collect();
        ClusterRun {
            apply,
            cluster,
            nodes,
            secrets,
            files,
            firewalls,
            current,
            services,
            running,
        }
    }

    /// A node's main configuration file: as observed (empty when missing)
    /// and as rendered now.
    fn main_file(&self, name: &str) -> (&str, &str) {
        let new = self.files.get(name).and_then(|f| f.first());
        let old = new
            .and_then(|f| self.current.get(name)?.get(&f.path))
            .map_or("", String::as_str);
        (old, new.map_or("", |f| f.content.as_str()))
    }

    fn node(&self, name: &str) -> Option<&'a NodeLayout> {
        self.nodes.iter().find(|n| n.name == name)
    }

    /// Record what a node now holds, with the journal step, and save.
    fn record(&self, state: &mut ClusterState, node: &NodeLayout, step: &str) -> Result<(), ApplyError> {
        let mut files = self.files.get(&node.name).cloned().unwrap_or_default();
        files.extend(self.firewalls.get(&node.name).cloned());
        state
            .applied
            .insert(node.name.clone(), plan::applied_node(&node.host, files));
        state.journal = Some(Journal::now(step));
        self.apply.store.save_cluster(&self.cluster.name, state)?;
        Ok(())
    }

    fn journal(&self, state: &mut ClusterState, step: &str) -> Result<(), ApplyError> {
        state.journal = Some(Journal::now(step));
        self.apply.store.save_cluster(&self.cluster.name, state)?;
        Ok(())
    }

    async fn execute(
        &self,
        plan: &ClusterPlan,
        state: &mut ClusterState,
        report: &mut ClusterReport,
    ) -> Result<(), ApplyError> {
        let creates: Vec<_> = plan.nodes.iter().filter(|n| n.change == Change::Create).collect();
        // 0. firewalls of existing nodes, before any new node connects
        for n in plan.nodes.iter().filter(|n| n.change == Change::Update) {
            let Some(layout) = self.node(&n.name) else {
                continue;
            };
            if n.steps.contains(&Step::ApplyFirewall) {
                self.journal(state, &format!("firewall {}", n.name))?;
                self.firewall(layout, report).await?;
            }
        }
        // 1. the first node of a new cluster
        for n in creates.iter().filter(|n| n.steps.contains(&Step::InitDataDir)) {
            let Some(layout) = self.node(&n.name) else {
                continue;
            };
            self.journal(state, &format!("build {}", n.name))?;
            self.build_first(layout, report).await?;
            self.record(state, layout, &format!("built {}", n.name))?;
        }
        // 2. configuration changes of existing nodes: replicas first, one at a
        //    time; primaries last, unless the change lowers a setting replicas
        //    need at least as high as their primary (then the primary first).
        //    Before any new node is seeded: its source must let it in first
        //    (pg_hba.conf).
        let mut updates: Vec<_> = plan
            .nodes
            .iter()
            .filter(|n| n.change == Change::Update && n.steps.contains(&Step::ApplyConfig))
            .collect();
        let primary_first = updates.iter().any(|n| {
            let (old, new) = self.main_file(&n.name);
            self.driver().primary_first(old, new)
        });
        updates.sort_by_key(|n| ((n.role == Role::Primary) != primary_first, n.number));
        self.check_configs(&updates).await?;
        for n in updates {
            let Some(layout) = self.node(&n.name) else {
                continue;
            };
            self.journal(state, &format!("configure {}", n.name))?;
            self.configure(layout, report).await?;
            self.record(state, layout, &format!("configured {}", n.name))?;
        }
        // 3. every other new node, seeded from its source. A source that was
        //    running before this apply first grants the new nodes access
        //    (replication users and slots), orphans keeping theirs.
        let seeds: Vec<_> = creates
            .iter()
            .filter(|n| !n.steps.contains(&Step::InitDataDir))
            .filter_map(|n| {
                let from = n.steps.iter().find_map(|s| match s {
                    Step::SeedFromPrimary { from } => Some(from.clone()),
                    _ => None,
                })?;
                Some((self.node(&n.name)?, from))
            })
            .collect();
        let mut granted: Vec<&str> = Vec::new();
        for (_, from) in &seeds {
            if granted.contains(&from.as_str()) || report.nodes_built.contains(from) {
                continue;
            }
            granted.push(from);
            let Some(source) = self.node(from) else {
                continue;
            };
            self.journal(state, &format!("grant the new nodes access on {from}"))?;
            self.grant(source, &orphans(state, self.cluster, self.nodes))
                .await?;
        }
        for (layout, from) in seeds {
            self.journal(state, &format!("seed {} from {from}", layout.name))?;
            self.build_replica(layout, &from, report).await?;
            self.record(state, layout, &format!("seeded {}", layout.name))?;
        }
        // 4. repairs: stopped engines, broken replication
        let mut repairs: Vec<_> = plan.nodes.iter().filter(|n| n.change == Change::Update).collect();
        repairs.sort_by_key(|n| (n.role == Role::Replica, n.number));
        for n in repairs {
            let Some(layout) = self.node(&n.name) else {
                continue;
            };
            for step in &n.steps {
                match step {
                    Step::Start => {
                        self.journal(state, &format!("start {}", n.name))?;
                        self.start(layout).await?;
                        report.started.push(n.name.clone());
                    }
                    Step::StartReplication { from } => {
                        self.journal(state, &format!("replicate {} from {from}", n.name))?;
                        self.replicate(layout, from).await?;
                        report.replication_started.push(n.name.clone());
                    }
                    _ => {}
                }
            }
            self.record(state, layout, &format!("repaired {}", n.name))?;
        }
        Ok(())
    }
}

/// Nodes still allocated to the cluster but no longer in its file: kept
/// until a remove-node request removes them.
fn orphans(state: &ClusterState, cluster: &Cluster, nodes: &[NodeLayout]) -> Vec<PeerRef> {
    state
        .allocations
        .live
        .iter()
        .filter(|(host, _)| !nodes.iter().any(|n| &n.host == *host))
        .map(|(host, number)| PeerRef {
            name: node_name(&cluster.name, *number),
            number: *number,
            host: host.clone(),
        })
        .collect()
}
