//! Requests as people and plans see them: a line for one that ran, and the
//! requests of a plan set to what the ledger says of them (pure).

use super::{Standing, Verdict};
use crate::plan::{Before, ClusterBefore, Plan, RequestStatus};
use crate::state::{RequestRecord, RequestState};

/// A line for a request that ran: "2026-12-06-promote-db3 promote: succeeded in 4.2s".
pub fn outcome_line(r: &RequestRecord) -> String {
    let took = r
        .ended
        .map(|e| format!(" in {}s", e.saturating_sub(r.started)))
        .unwrap_or_default();
    let at = match (r.state, r.phase.as_deref()) {
        (RequestState::Failed, Some(p)) => format!(" in phase {p}"),
        _ => String::new(),
    };
    let reason = r.reason.as_deref().map(|w| format!(": {w}")).unwrap_or_default();
    format!(
        "request {} ({}): {}{at}{took}{reason}",
        r.id,
        r.action,
        r.state.as_str()
    )
}

/// For a request edited after it ran.
pub fn edited_line(r: &RequestRecord) -> String {
    let when = std::time::UNIX_EPOCH + std::time::Duration::from_secs(r.ended.unwrap_or(r.started));
    format!(
        "request {}: edited after it ran on {} ({}); not run again",
        r.id,
        humantime::format_rfc3339_seconds(when),
        r.state.as_str()
    )
}

/// Set each request of `plan` to what the ledger says of it; for a pending
/// one, list its steps and, when the hosts were observed, a precheck
/// already failing.
pub fn annotate(plan: &mut Plan, repo: &crate::model::Repo, standings: &[Standing<'_>], before: &Before) {
    for rp in &mut plan.requests {
        let Some(standing) = standings.iter().find(|s| id_of(s) == rp.id) else {
            continue;
        };
        match standing {
            Standing::Due(d) => {
                let running = before
                    .get(&rp.cluster)
                    .and_then(|b| b.state.requests.get(&rp.id))
                    .filter(|r| r.state == RequestState::Running);
                if let Some(r) = running {
                    rp.status = RequestStatus::Running;
                    rp.reason = Some(format!("stopped in phase {}", r.phase.as_deref().unwrap_or("-")));
                    continue;
                }
                rp.status = RequestStatus::Pending;
                if let Some(why) = super::unsupported(&d.file.request) {
                    rp.reason = Some(format!("will be refused: {why}"));
                    continue;
                }
                let Some(c) = repo.clusters.iter().find(|c| c.name == rp.cluster) else {
                    continue;
                };
                let empty = ClusterBefore::default();
                let b = before.get(&c.name).unwrap_or(&empty);
                let alloc = b.state.allocations.extend_with(c);
                let nodes = crate::layout::layout(c, &alloc, b.state.primary.as_deref());
                rp.steps = super::outline(&d.file.request, &nodes);
                if b.observed {
                    let record = super::new_record(d);
                    let situation = super::Situation {
                        nodes: &nodes,
                        before: b,
                        record: &record,
                        timed_out: false,
                    };
                    if let Verdict::Refuse(why) = super::next(&d.file.request, &situation) {
                        rp.reason = Some(format!("will be refused: {why}"));
                    }
                }
            }
            Standing::Ran(r) => {
                rp.status = match r.state {
                    RequestState::Succeeded => RequestStatus::Succeeded,
                    RequestState::Refused => RequestStatus::Refused,
                    RequestState::Failed | RequestState::Running => RequestStatus::Failed,
                };
                rp.reason = r.reason.clone();
            }
            Standing::EditedAfterRun(r) => {
                rp.status = RequestStatus::Edited;
                rp.reason = Some(edited_line(r));
            }
        }
    }
    crate::plan::count_requests(&mut plan.summary, &plan.requests);
}

fn id_of<'s>(s: &'s Standing<'_>) -> &'s str {
    match s {
        Standing::Due(d) => &d.file.id,
        Standing::Ran(r) | Standing::EditedAfterRun(r) => &r.id,
    }
}
