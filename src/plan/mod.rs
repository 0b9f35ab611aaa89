//! The plan: a typed value saying, per cluster and node, what apply would do
//! and how every rendered file would change. `plan` prints it, `apply`
//! executes the same value, the daemon logs it.
//!
//! Pure: built from the repository, a [`Renderer`](crate::render::Renderer)
//! and the recorded state; no I/O.

pub mod base;
pub mod before;
mod build;
mod diff;
mod markdown;
mod order;
mod steps;
mod text;

pub use before::{Before, ClusterBefore, NodeBefore};
pub use build::{
    applied_node, assemble, count_requests, plan, plan_cluster, plan_cluster_rendered, replication_sources,
    sha256 as sha256_hex, simulate_applied, PlanError, PlanInput, Recorded, Rendered,
};
pub use diff::unified_diff;
pub use markdown::{to_markdown, MARKDOWN_MAX_BYTES};
pub use order::order;
pub use steps::{BlockedStep, Phase, PlannedStep, Step};
pub use text::to_text;

fn is_zero(n: &usize) -> bool {
    *n == 0
}

use serde::Serialize;

use crate::layout::Role;
use crate::model::{Engine, Topology};

/// Version of the JSON form of a plan (`--format json`); bumped on any
/// incompatible change.
pub const JSON_FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    pub format_version: u32,
    /// The revision or directory planned, e.g. a commit id.
    pub source: String,
    /// What the plan was compared against: "state" or "base <rev>".
    pub against: String,
    /// `plan --base` with a base that does not validate: what is wrong with
    /// it and which clusters could not be compared.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_problem: Option<BaseProblem>,
    pub clusters: Vec<ClusterPlan>,
    /// Clusters left out: a node's host name did not resolve.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_planned: Vec<NotPlanned>,
    pub requests: Vec<RequestPlan>,
    pub summary: Summary,
}

/// A cluster that could not be planned: the host name of one of its nodes
/// did not resolve to any address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotPlanned {
    pub cluster: String,
    /// The host name, as written.
    pub host: String,
    /// The resolver's reason.
    pub reason: String,
}

impl std::fmt::Display for NotPlanned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "cluster {} is not planned: host name `{}` does not resolve: {}",
            self.cluster, self.host, self.reason
        )
    }
}

impl Plan {
    /// Record the clusters left out of the plan. They may have changed: the
    /// plan does not claim "no changes".
    pub fn set_not_planned(&mut self, not_planned: Vec<NotPlanned>) {
        self.summary.clusters_not_planned = not_planned.len();
        self.summary.has_changes |= !not_planned.is_empty();
        self.not_planned = not_planned;
    }

    /// Whether applying the plan would change anything (orphans and pending
    /// requests count: the repository and the fleet differ).
    pub fn has_changes(&self) -> bool {
        self.summary.has_changes
    }

    /// The nodes whose host could not be observed, with their cluster.
    pub fn unreachable(&self) -> impl Iterator<Item = (&ClusterPlan, &NodePlan)> {
        self.clusters
            .iter()
            .flat_map(|c| c.nodes.iter().map(move |n| (c, n)))
            .filter(|(_, n)| n.unreachable.is_some())
    }
}

/// What happens to a cluster or a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Change {
    /// Not yet built: everything will be created.
    Create,
    /// Exists; some files or steps change.
    Update,
    /// Exists and matches the repository.
    NoChange,
    /// Recorded but no longer in the repository: kept as is, shown with the
    /// request that would delete it.
    Orphaned,
}

impl Change {
    pub fn symbol(self) -> &'static str {
        match self {
            Change::Create => "+",
            Change::Update => "~",
            Change::NoChange => "=",
            Change::Orphaned => "!",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClusterPlan {
    pub name: String,
    pub engine: Engine,
    pub version: String,
    pub topology: Topology,
    pub change: Change,
    pub nodes: Vec<NodePlan>,
    /// Every step apply takes on the cluster, in the order it takes them
    /// (see [`order`]).
    pub steps: Vec<PlannedStep>,
    /// Steps left out because a node they need cannot be reached.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub blocked: Vec<BlockedStep>,
    /// For an orphaned cluster: the request that would delete it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delete_request: Option<SuggestedRequest>,
}

impl ClusterPlan {
    /// Whether a plan lists the cluster: it changes, or some of it could not
    /// be observed or planned.
    pub fn is_shown(&self) -> bool {
        self.change != Change::NoChange
            || !self.blocked.is_empty()
            || self.nodes.iter().any(|n| n.unreachable.is_some())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodePlan {
    pub name: String,
    pub number: u32,
    pub host: String,
    /// What `host` resolved to, when it is a host name.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub address: Vec<std::net::IpAddr>,
    pub role: Role,
    pub change: Change,
    pub steps: Vec<Step>,
    pub files: Vec<FileChange>,
    /// For an orphaned node: the request that would remove it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remove_request: Option<SuggestedRequest>,
    /// Set when the host could not be observed: why. Nothing is planned for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unreachable: Option<String>,
}

/// A rendered file that differs from what was applied.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileChange {
    /// Absolute path on the host.
    pub path: String,
    /// The template it was rendered from, e.g. `mariadb/my.cnf.j2`.
    pub template: String,
    /// True when the file was never applied to this node.
    pub new: bool,
    /// sha256 of the new content.
    pub sha256: String,
    /// Unified diff from the applied content (empty side for a new file).
    pub diff: String,
}

/// A request file the user could commit; shown for orphans.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SuggestedRequest {
    /// Suggested path, e.g. `requests/2026-11-22-remove-node-pg3.toml`.
    pub path: String,
    pub toml: String,
}

/// The base of `plan --base` does not validate. It is compared as far as it
/// loads: clusters whose files load are taken as applied; the others are
/// unknown in the base and left out of the plan, never shown as new.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BaseProblem {
    /// The base revision, as named.
    pub rev: String,
    /// "2 errors, 1 warning".
    pub summary: String,
    /// Each error of the base: `file:line:column: field: message`.
    pub errors: Vec<String>,
    /// Clusters left out of the plan: unknown in the base.
    pub not_compared: Vec<String>,
}

/// A request file of the repository and whether it will run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestPlan {
    pub id: String,
    pub action: String,
    pub cluster: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// The host of `node`, as this plan numbers the nodes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    pub status: RequestStatus,
    /// What it will do, step by step, as the nodes are laid out now
    /// (pending requests).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<PlannedStep>,
    /// A precheck that the plan already sees failing (online plans), or,
    /// for a request that ran, why it failed or was refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RequestStatus {
    /// Not run yet: apply runs it, in commit order.
    Pending,
    /// Started by a run that did not finish it: the next apply resumes it.
    Running,
    /// Ran and succeeded.
    Succeeded,
    /// Ran and failed.
    Failed,
    /// Ran; a precheck refused it, nothing was changed.
    Refused,
    /// Added by the head revision (plan --base): runs once merged and applied.
    New,
    /// Changed after it was committed: never re-run, reported.
    Edited,
    /// In the base revision already, unchanged (plan --base).
    Unchanged,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub clusters_to_create: usize,
    pub clusters_to_update: usize,
    pub clusters_unchanged: usize,
    pub clusters_orphaned: usize,
    /// Clusters left out: unknown in a base that does not validate.
    pub clusters_not_compared: usize,
    /// Clusters left out: a host name did not resolve.
    #[serde(skip_serializing_if = "is_zero")]
    pub clusters_not_planned: usize,
    pub nodes_to_create: usize,
    pub nodes_to_update: usize,
    pub nodes_orphaned: usize,
    /// Nodes whose host could not be observed: nothing is planned for them
    /// (not counted as nodes to create or update); `plan` exits 1.
    pub nodes_unreachable: usize,
    pub files_changed: usize,
    pub requests_to_run: usize,
    pub has_changes: bool,
}
