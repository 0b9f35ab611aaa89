//! One entry point that brings a cluster to what the repository says:
//! prepare (lock, allocate, observe), plan, and execute that plan. `apply`
//! calls it for every cluster; the daemon will too.
//!
//! Modelled on kube-runtime's controller: the reconciler is not told why it
//! runs, so it must be idempotent (every step is); its outcome says when
//! the cluster should be looked at again; an error policy turns a failure
//! into a requeue. A [`Gate`] sees the plan before anything runs (the CLI
//! asks the user; the daemon approves).

use std::time::Duration;

use crate::apply::{Apply, ApplyError, ClusterReport};
use crate::model::Cluster;
use crate::plan::{ClusterPlan, PlannedStep};
use crate::transport::BoxFuture;

/// What the planner says a cluster needs next.
#[derive(Debug, Clone, PartialEq)]
pub enum Next {
    /// These steps, in order.
    Steps(Vec<PlannedStep>),
    /// Nothing can be done now (a node it needs cannot be reached): look
    /// again after a while.
    Wait { after: Duration, reason: String },
    /// The cluster is as the repository says.
    Done,
}

/// How long to wait before looking again at a cluster that could not be
/// fully worked on.
pub const RETRY_AFTER: Duration = Duration::from_secs(30);

/// What the cluster needs next, from its plan (made from what was observed
/// and what was recorded). Pure.
pub fn next(plan: &ClusterPlan) -> Next {
    if !plan.steps.is_empty() {
        return Next::Steps(plan.steps.clone());
    }
    let unreachable: Vec<String> = plan
        .nodes
        .iter()
        .filter_map(|n| Some(format!("{} ({}): {}", n.name, n.host, n.unreachable.as_ref()?)))
        .collect();
    if plan.blocked.is_empty() && unreachable.is_empty() {
        return Next::Done;
    }
    let mut reasons = unreachable;
    reasons.extend(
        plan.blocked
            .iter()
            .map(|b| format!("{}: {}: {}", b.node, b.what, b.reason)),
    );
    Next::Wait {
        after: RETRY_AFTER,
        reason: reasons.join("; "),
    }
}

/// Sees each cluster's plan before it runs.
pub trait Gate: Sync {
    /// `plan` is the cluster's plan, or `None` when preparing it failed
    /// (so that a gate waiting for every cluster is not kept waiting).
    /// `false`: nothing is done on the cluster.
    fn approve<'a>(&'a self, plan: Option<&'a ClusterPlan>) -> BoxFuture<'a, bool>;
}

/// A gate that lets every plan run (`apply --yes`, the daemon).
pub struct Approve;

impl Gate for Approve {
    fn approve<'a>(&'a self, _plan: Option<&'a ClusterPlan>) -> BoxFuture<'a, bool> {
        Box::pin(async { true })
    }
}

/// What one reconcile of a cluster did, and when to look again.
#[derive(Debug)]
pub struct Outcome {
    /// `None`: when the next trigger comes (a commit, the drift timer).
    pub requeue_after: Option<Duration>,
    /// Whether the plan was carried out (false: preparing it failed, or
    /// the gate said no).
    pub executed: bool,
    pub report: Result<ClusterReport, ApplyError>,
}

/// Bring one cluster to what the repository says.
pub async fn reconcile_cluster(apply: &Apply<'_>, c: &Cluster, gate: &dyn Gate) -> Outcome {
    let prepared = match apply.prepare(c).await {
        Ok(p) => p,
        Err(e) => {
            gate.approve(None).await;
            return error_policy(Err(e), false);
        }
    };
    let next = next(&prepared.plan);
    if !gate.approve(Some(&prepared.plan)).await {
        return Outcome {
            requeue_after: None,
            executed: false,
            report: Err(ApplyError::Cancelled),
        };
    }
    let report = apply.execute(prepared).await;
    match (next, report) {
        (Next::Wait { after, .. }, report) => Outcome {
            requeue_after: Some(after),
            executed: true,
            report,
        },
        (_, report) => error_policy(report, true),
    }
}

/// A failed reconcile is tried again after [`RETRY_AFTER`]; a successful
/// one waits for the next trigger.
fn error_policy(report: Result<ClusterReport, ApplyError>, executed: bool) -> Outcome {
    Outcome {
        requeue_after: report.is_err().then_some(RETRY_AFTER),
        executed,
        report,
    }
}
