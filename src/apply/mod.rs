//! Apply: carry out the plan of each cluster on its hosts.
//!
//! Per cluster, under the cluster's lock: allocate node numbers (recorded
//! before any host is touched, so a number is never handed out twice),
//! observe every node, plan against what is really there (the order of
//! the steps is the plan's, see [`crate::plan::order`]), then execute the
//! planned steps one after another ([`execute`]). A node that cannot be
//! reached is planned nothing; the others are worked on, and the apply
//! fails at the end, naming it.
//!
//! The state is saved before every step, with the typed operation state
//! ([`crate::state::Operation`]) naming the phase and step in progress: a
//! run killed halfway is finished by the next one, which plans from what it
//! observes.

mod configure;
mod execute;
mod firewall;
mod node;
mod progress;
mod remove;
mod request;

pub use progress::{Event, Progress};

use std::collections::BTreeMap;

use crate::engine::{DriverError, Secrets, ServiceMode};
use crate::layout::{layout, NodeLayout, PeerRef, Role};
use crate::model::{Cluster, Fleet, Repo, Topology};
use crate::observe::{self, NodeObservation};
use crate::plan::{self, ClusterPlan, PlanError};
use crate::render::{firewall_path, Addresses, RenderedFile, Renderer};
use crate::secrets::SecretError;
use crate::state::{AuditEntry, ClusterLock, ClusterState, Operation, OperationKind, StateError, StateStore};
use crate::transport::{SshPool, TransportError};

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Secrets(#[from] SecretError),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error("{node} ({host}) cannot be reached: {why}; nothing was done on {node}, the other nodes of {cluster} were worked on")]
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
    /// More than one step failed (steps that did not depend on a failed one
    /// went on).
    #[error("{}", several(.0))]
    Several(Vec<ApplyError>),
    /// The plan was not approved (the user said no).
    #[error("apply cancelled; nothing was changed")]
    Cancelled,
}

fn several(errors: &[ApplyError]) -> String {
    let lines: Vec<String> = errors.iter().map(|e| crate::observe::error_chain(e)).collect();
    format!("{} steps failed:\n{}", errors.len(), lines.join("\n"))
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
    /// What the nodes' host names resolved to (looked up before applying).
    pub addresses: &'a Addresses,
    pub store: &'a dyn StateStore,
    pub pool: &'a SshPool,
    /// The commit applied, recorded in the state, and its author (both in
    /// the audit log).
    pub commit: Option<String>,
    pub author: Option<String>,
    pub progress: &'a Progress,
    /// How long to wait for a cluster's lock held by another process.
    pub lock_wait: std::time::Duration,
    /// The request files not yet finished, in commit order: each runs
    /// after its cluster converged ([`crate::reconcile`]).
    pub queue: &'a [crate::requests::Due<'a>],
}

impl Apply<'_> {
    pub(crate) fn fleet(&self) -> &Fleet {
        &self.repo.fleet
    }

    /// An audit line of this apply (its commit and author) for `operation`
    /// on `cluster`, ending in `error` or "ok"; the caller names the node
    /// and the step.
    fn audit_line(&self, operation: &str, cluster: &str, error: Option<&ApplyError>) -> AuditEntry {
        AuditEntry {
            at: AuditEntry::now(),
            commit: self.commit.clone(),
            author: self.author.clone(),
            operation: operation.to_string(),
            cluster: cluster.to_string(),
            node: None,
            step: String::new(),
            what: String::new(),
            result: if error.is_some() { "failed" } else { "ok" }.into(),
            error: error.map(|e| observe::error_chain(e)),
        }
    }

    /// Append to the audit log. A log that cannot be written is reported,
    /// and the work goes on: the change itself was made.
    fn audit(&self, entry: AuditEntry) {
        if let Err(e) = self.store.append_audit(&entry) {
            self.progress
                .note(&entry.cluster, &format!("warning: {}", observe::error_chain(&e)));
        }
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
        // A host name without addresses stops the cluster before its state is touched.
        if let Some(source) = self
            .addresses
            .first_unresolved(c.nodes.iter().map(|n| n.host.as_str()))
        {
            return Err(plan::PlanError::Unresolved {
                cluster: c.name.clone(),
                source,
            }
            .into());
        }
        let lock = self.store.lock(&c.name, self.lock_wait)?;
        let mut state = self.store.cluster(&c.name)?;
        if let Some(op) = &state.operation {
            self.progress.note(
                &c.name,
                &format!("resuming an apply interrupted at: {}", op.describe()),
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
        let before = observe::to_before(&state, &observed);
        let (plan, rendered) = plan::plan_cluster_rendered(
            c,
            self.renderer,
            self.fleet().ssh.port,
            Some(&before),
            self.addresses,
        )?;
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
    ///
    /// Errors: every step that failed ([`ApplyError::Several`] when more
    /// than one), and every node that could not be reached. The operation
    /// state stays behind when a step failed, so that the next run says it
    /// resumes.
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
        let mut errors = Vec::new();
        if !plan.steps.is_empty() {
            let op = Operation::begin(OperationKind::Converge {
                commit: self.commit.clone(),
            });
            let mut run = ClusterRun::new(self, c, &nodes, &observed, &secrets, rendered);
            run.operation = op.id.clone();
            state.operation = Some(op);
            errors = run.execute(&plan.steps, &mut state, &mut report).await;
        }
        let stepped = errors.is_empty();
        errors.extend(observed.iter().filter_map(|o| {
            Some(ApplyError::Unreachable {
                cluster: c.name.clone(),
                node: o.name.clone(),
                host: o.host.clone(),
                why: o.unreachable.clone()?,
            })
        }));
        if stepped {
            state.operation = None;
            if errors.is_empty() && self.commit.is_some() {
                state.commit = self.commit.clone();
            }
        }
        self.store.save_cluster(&c.name, &state)?;
        match errors.len() {
            0 => Ok(report),
            1 => Err(errors.remove(0)),
            _ => Err(ApplyError::Several(errors)),
        }
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
    /// The operation the steps belong to (its id, for the audit log).
    operation: String,
    /// When the work must be done (a request's timeout): waits end then.
    deadline: Option<std::time::Instant>,
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
            operation: String::new(),
            deadline: None,
        }
    }

    /// How long a wait may still take: until the deadline, or a minute.
    fn remaining(&self) -> std::time::Duration {
        match self.deadline {
            Some(d) => d.saturating_duration_since(std::time::Instant::now()),
            None => std::time::Duration::from_secs(60),
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

    /// Record what a node now holds, and save.
    fn record(&self, state: &mut ClusterState, node: &NodeLayout) -> Result<(), ApplyError> {
        let mut files = self.files.get(&node.name).cloned().unwrap_or_default();
        files.extend(self.firewalls.get(&node.name).cloned());
        state
            .applied
            .insert(node.name.clone(), plan::applied_node(&node.host, files));
        self.apply.store.save_cluster(&self.cluster.name, state)?;
        Ok(())
    }

    /// Nodes still allocated to the cluster but no longer in its file:
    /// kept until a remove-node request removes them.
    fn orphans(&self, state: &ClusterState) -> Vec<PeerRef> {
        crate::layout::orphans(self.cluster, &state.allocations)
    }
}
