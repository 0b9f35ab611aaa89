use serde::{Deserialize, Serialize};
use std::fmt;

/// One idempotent step of a plan, on one node.
///
/// A node's plan ([`super::NodePlan::steps`]) lists what will happen to it,
/// in words a reviewer reads; the cluster's plan
/// ([`super::ClusterPlan::steps`]) lists every step apply takes, in the
/// order it takes them, each mapped by the executor to one driver or
/// transport call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "kebab-case")]
pub enum Step {
    /// Create the engine's data directory (mariadb-install-db, initdb, ...).
    InitDataDir,
    /// Write a rendered config file atomically, keeping the previous one.
    WriteConfig { path: String },
    /// Write every rendered engine config file of the node that differs
    /// from what it holds (after its role changed).
    WriteConfigs,
    /// Write the engine's secret files (passwords; never in a rendered file).
    WriteSecrets,
    /// Start the engine and wait until it is healthy.
    Start,
    /// Create the administrative and replication users and keep their passwords.
    CreateUsers,
    /// On a running node that new nodes are seeded from: create the users
    /// again, so that the new nodes (and the orphans, until removed) may
    /// replicate from it.
    GrantAccess,
    /// Copy the data of `from` onto this node (physical copy streamed over SSH).
    SeedFromPrimary { from: String },
    /// Start replicating from `from`.
    StartReplication { from: String },
    /// Check the node's new main config file with the engine's own program,
    /// before any node is changed.
    CheckConfig,
    /// Apply changed settings: live where the engine allows (reload, SET
    /// GLOBAL, CONFIG SET), by a restart otherwise (then wait until the
    /// node replicates again); a change the engine rejects is rolled back.
    ApplyConfig,
    /// Load the node's firewall file (`nft -f`): after it changed, or when
    /// the cluster's chain is missing from the host's ruleset. Never touches
    /// the engine.
    ApplyFirewall,
    /// Mark the data directory as this cluster's, so that no other cluster
    /// takes it over.
    ClaimData,
    /// Record in the state store what the node now holds.
    Record,
    /// Stop the primary taking writes (a switchover's first step).
    Fence,
    /// Let a fenced primary take writes again (a switchover that stopped
    /// before its promote).
    Unfence,
    /// Wait until this node has applied everything `from` (fenced) wrote.
    WaitCaughtUp { from: String },
    /// Make this replica the writable primary.
    Promote,
    /// Replicate from `to`, the new primary, without a new seed.
    Repoint { to: String },
    /// Take the node out of service: its engine stopped (and its systemd
    /// unit disabled), its configuration files and firewall chain removed.
    RemoveNode,
    /// Move the node's data directory aside, to `<data dir>.<suffix>`;
    /// never deleted.
    MoveDataAside { suffix: String },
    /// On the primary: take away what the removed `node` had there to
    /// replicate (a slot, an account).
    ForgetPeer { node: String },
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::InitDataDir => write!(f, "initialise the data directory"),
            Step::WriteConfig { path } => write!(f, "write {path}"),
            Step::WriteSecrets => write!(f, "write the secret files"),
            Step::WriteConfigs => write!(f, "write its configuration for the new roles"),
            Step::Start => write!(f, "start the engine"),
            Step::CreateUsers => write!(f, "create the admin and replication users"),
            Step::GrantAccess => write!(f, "create users for the new nodes"),
            Step::SeedFromPrimary { from } => write!(f, "seed data from {from}"),
            Step::StartReplication { from } => write!(f, "replicate from {from}"),
            Step::CheckConfig => write!(f, "check the new configuration"),
            Step::ApplyConfig => write!(f, "apply settings (live where possible, else rolling restart)"),
            Step::ApplyFirewall => write!(f, "load the firewall rules (nft -f)"),
            Step::ClaimData => write!(f, "mark the data directory as the cluster's"),
            Step::Record => write!(f, "record the applied files"),
            Step::Fence => write!(f, "stop taking writes (fence)"),
            Step::Unfence => write!(f, "take writes again (lift the fence)"),
            Step::WaitCaughtUp { from } => write!(f, "wait until it has everything {from} wrote"),
            Step::Promote => write!(f, "become the primary"),
            Step::Repoint { to } => write!(f, "replicate from {to}"),
            Step::RemoveNode => write!(
                f,
                "stop and disable the engine, remove its configuration and firewall"
            ),
            Step::MoveDataAside { suffix } => write!(f, "move the data directory aside (.{suffix})"),
            Step::ForgetPeer { node } => write!(f, "forget {node} (its slot or replication account)"),
        }
    }
}

/// The part of an apply a step belongs to, in the order they run. Recorded
/// in the operation state, so that a killed run says where it stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// Changed firewalls of existing nodes, before any new node connects.
    Firewall,
    /// The first node of a new cluster.
    Build,
    /// Every changed node's new configuration checked, before any is written.
    Check,
    /// Configuration changes of existing nodes, one node at a time.
    Roll,
    /// Sources of new nodes let them in.
    Grant,
    /// New nodes seeded from their source.
    Seed,
    /// Stopped engines started, broken replication repaired.
    Repair,
    /// A switchover: the old primary stops taking writes.
    Fence,
    /// A switchover: the new primary catches up with the fenced one.
    CatchUp,
    /// A switchover: the new primary takes over.
    Promote,
    /// A switchover: the other nodes follow the new primary.
    Repoint,
    /// A switchover that stopped before its promote: the old primary takes
    /// writes again.
    Abort,
    /// A node taken out of the cluster.
    Remove,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Firewall => "firewall",
            Phase::Build => "build",
            Phase::Check => "check",
            Phase::Roll => "roll",
            Phase::Grant => "grant",
            Phase::Seed => "seed",
            Phase::Repair => "repair",
            Phase::Fence => "fence",
            Phase::CatchUp => "wait-caught-up",
            Phase::Promote => "promote",
            Phase::Repoint => "repoint",
            Phase::Abort => "abort",
            Phase::Remove => "remove",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One step of a cluster's plan: what, on which node, in which phase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedStep {
    pub node: String,
    pub phase: Phase,
    #[serde(flatten)]
    pub step: Step,
}

impl PlannedStep {
    pub fn new(node: &str, phase: Phase, step: Step) -> PlannedStep {
        PlannedStep {
            node: node.to_string(),
            phase,
            step,
        }
    }

    /// The other node this step needs, when it needs one (its data or
    /// replication source).
    pub fn needs(&self) -> Option<&str> {
        match &self.step {
            Step::SeedFromPrimary { from }
            | Step::StartReplication { from }
            | Step::WaitCaughtUp { from } => Some(from),
            Step::Repoint { to } => Some(to),
            _ => None,
        }
    }
}

impl fmt::Display for PlannedStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.node, self.step)
    }
}

/// A step the plan could not include, and why (a node it needs cannot be
/// reached).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BlockedStep {
    pub node: String,
    pub what: String,
    pub reason: String,
}
