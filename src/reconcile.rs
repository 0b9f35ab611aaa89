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
use crate::state::{RequestRecord, RequestState};
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
    /// The requests that ran (or resumed), in order, as they ended.
    pub requests: Vec<RequestRecord>,
}

/// Bring one cluster to what the repository says: a request that a
/// killed run left running is finished first (the cluster must not be
/// converged halfway through a switchover); then the cluster converges;
/// then its pending requests run, in commit order, each once. A request
/// that does not succeed stops the ones after it.
pub async fn reconcile_cluster(apply: &Apply<'_>, c: &Cluster, gate: &dyn Gate) -> Outcome {
    let mut ran = Vec::new();
    let running = match apply.store.cluster(&c.name) {
        Ok(state) => state
            .requests
            .values()
            .find(|r| r.state == RequestState::Running)
            .map(|r| r.id.clone()),
        Err(e) => {
            gate.approve(None).await;
            return error_policy(Err(e.into()), false, ran);
        }
    };
    let due: Vec<_> = apply
        .queue
        .iter()
        .filter(|d| d.file.request.cluster() == c.name)
        .collect();
    if let Some(d) = running.and_then(|id| due.iter().find(|d| d.file.id == id)) {
        match apply.run_request(c, d).await {
            Ok(record) => ran.push(record),
            Err(e) => {
                gate.approve(None).await;
                return error_policy(Err(e), false, ran);
            }
        }
    }
    let mut outcome = converge(apply, c, gate).await;
    outcome.requests = ran;
    if outcome.report.is_err() || !outcome.executed {
        return outcome;
    }
    let done: Vec<String> = outcome.requests.iter().map(|r| r.id.clone()).collect();
    for d in due.iter().filter(|d| !done.contains(&d.file.id)) {
        match apply.run_request(c, d).await {
            Ok(record) => {
                let ok = record.state == RequestState::Succeeded;
                outcome.requests.push(record);
                if !ok {
                    break;
                }
                // What the cluster should be may have changed (a node
                // released): converge again, approved with the request.
                let after = converge(apply, c, &Approve).await;
                if let Err(e) = after.report {
                    outcome.report = Err(e);
                    outcome.requeue_after = Some(RETRY_AFTER);
                    break;
                }
            }
            Err(e) => {
                outcome.report = Err(e);
                outcome.requeue_after = Some(RETRY_AFTER);
                break;
            }
        }
    }
    outcome
}

/// Converge the cluster: prepare, plan, gate, execute.
async fn converge(apply: &Apply<'_>, c: &Cluster, gate: &dyn Gate) -> Outcome {
    let prepared = match apply.prepare(c).await {
        Ok(p) => p,
        Err(e) => {
            gate.approve(None).await;
            return error_policy(Err(e), false, Vec::new());
        }
    };
    let next = next(&prepared.plan);
    if !gate.approve(Some(&prepared.plan)).await {
        return Outcome {
            requeue_after: None,
            executed: false,
            report: Err(ApplyError::Cancelled),
            requests: Vec::new(),
        };
    }
    let report = apply.execute(prepared).await;
    match (next, report) {
        (Next::Wait { after, .. }, report) => Outcome {
            requeue_after: Some(after),
            executed: true,
            report,
            requests: Vec::new(),
        },
        (_, report) => error_policy(report, true, Vec::new()),
    }
}

/// A failed reconcile is tried again after [`RETRY_AFTER`]; a successful
/// one waits for the next trigger.
fn error_policy(
    report: Result<ClusterReport, ApplyError>,
    executed: bool,
    requests: Vec<RequestRecord>,
) -> Outcome {
    Outcome {
        requeue_after: report.is_err().then_some(RETRY_AFTER),
        executed,
        report,
        requests,
    }
}
