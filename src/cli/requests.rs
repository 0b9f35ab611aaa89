//! The request queue as the CLI reads it: the files' texts from the working
//! tree, the commits that added them, the ledger from the state.

use std::collections::BTreeMap;
use std::path::Path;

use crate::model::RequestFile;
use crate::requests::{queue, Due, Standing};
use crate::state::{ClusterState, RequestRecord, RequestState};

/// Every request record of the recorded clusters, by id.
pub fn ledger(recorded: &BTreeMap<String, ClusterState>) -> BTreeMap<String, RequestRecord> {
    recorded
        .values()
        .flat_map(|s| s.requests.iter().map(|(id, r)| (id.clone(), r.clone())))
        .collect()
}

/// The request files of the repository at `dir`, with their standing.
pub fn standings<'a>(
    dir: &Path,
    files: &'a [RequestFile],
    ledger: &'a BTreeMap<String, RequestRecord>,
) -> Vec<Standing<'a>> {
    let texts: BTreeMap<String, String> = files
        .iter()
        .filter_map(|f| Some((f.path.clone(), std::fs::read_to_string(dir.join(&f.path)).ok()?)))
        .collect();
    queue(files, &texts, &crate::source::request_origins(dir), ledger)
}

/// The requests still to run (or resume), in order.
pub fn due<'a>(standings: &[Standing<'a>]) -> Vec<Due<'a>> {
    standings
        .iter()
        .filter_map(|s| match s {
            Standing::Due(d) => Some(d.clone()),
            _ => None,
        })
        .collect()
}

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
pub fn annotate(
    plan: &mut crate::plan::Plan,
    repo: &crate::model::Repo,
    standings: &[Standing<'_>],
    before: &crate::plan::Before,
) {
    use crate::plan::RequestStatus;
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
                if let Some(why) = crate::requests::unsupported(&d.file.request) {
                    rp.reason = Some(format!("will be refused: {why}"));
                    continue;
                }
                let Some(c) = repo.clusters.iter().find(|c| c.name == rp.cluster) else {
                    continue;
                };
                let empty = crate::plan::ClusterBefore::default();
                let b = before.get(&c.name).unwrap_or(&empty);
                let alloc = b.state.allocations.extend_with(c);
                let nodes = crate::layout::layout(c, &alloc, b.state.primary.as_deref());
                rp.steps = crate::requests::outline(&d.file.request, &nodes);
                if b.observed {
                    let record = crate::requests::new_record(d);
                    let situation = crate::requests::Situation {
                        nodes: &nodes,
                        before: b,
                        record: &record,
                        timed_out: false,
                    };
                    if let crate::requests::Verdict::Refuse(why) =
                        crate::requests::next(&d.file.request, &situation)
                    {
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
    plan.summary = crate::plan::summarise(&plan.clusters, &plan.requests);
}

fn id_of<'s>(s: &'s Standing<'_>) -> &'s str {
    match s {
        Standing::Due(d) => &d.file.id,
        Standing::Ran(r) | Standing::EditedAfterRun(r) => &r.id,
    }
}
