//! Requests: one-shot operations committed as files (`requests/<id>.toml`),
//! each run once, in commit order, as a state machine of recorded phases.
//!
//! This module is the pure part: which requests are due and in what order
//! ([`queue`]), and, for one request, what its next phase is from what was
//! observed and what the ledger recorded ([`next`]). Apply runs the steps
//! of each phase with the same executor as every other step
//! ([`crate::apply`]), one phase per pass, so that a run killed halfway
//! plans the rest again from what it observes.
//!
//! [`Draft`]: a request file written for the user (`dbfleet request new`),
//! its text and name, and the check that the repository with it added
//! still validates.

mod draft;
mod promote;
mod remove;
mod report;

pub use draft::{check, Draft, DraftError};
pub use promote::MAX_LAG_BYTES;
pub use promote::MAX_LAG_SECONDS;
pub use report::{annotate, edited_line, outcome_line};

use std::collections::BTreeMap;

use crate::layout::NodeLayout;
use crate::model::{Request, RequestFile};
use crate::plan::{ClusterBefore, Phase, PlannedStep};
use crate::source::FileOrigin;
use crate::state::{RequestRecord, RequestState};

/// What a request needs next.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// A precheck said no; nothing was changed.
    Refuse(String),
    /// Run these steps as `phase`.
    Run(PhaseRun),
    /// Finished (with a note, e.g. "already the primary").
    Done(Option<String>),
    /// It cannot go on: ends failed, for this reason.
    Fail(String),
}

/// One phase of a request, as the planner decided it.
#[derive(Debug, Clone, PartialEq)]
pub struct PhaseRun {
    pub phase: Phase,
    pub steps: Vec<PlannedStep>,
    /// Facts to record before the phase runs (see [`RequestRecord::facts`]).
    pub facts: Vec<(String, String)>,
    /// When the phase succeeded, the cluster's primary is this host.
    pub then_primary: Option<String>,
    /// When the phase succeeded, this node is gone: its number becomes a
    /// tombstone, its record of applied files is dropped.
    pub then_release: Option<crate::layout::PeerRef>,
    /// When the phase fails: the steps that put the cluster back as it was
    /// before the request (then the request fails).
    pub undo: Vec<PlannedStep>,
}

impl PhaseRun {
    pub fn new(phase: Phase, steps: Vec<PlannedStep>) -> PhaseRun {
        PhaseRun {
            phase,
            steps,
            facts: Vec::new(),
            then_primary: None,
            then_release: None,
            undo: Vec::new(),
        }
    }
}

/// Fact key: the last phase that completed.
pub const DONE: &str = "done";

/// What the planner of a request sees.
#[derive(Debug, Clone)]
pub struct Situation<'a> {
    /// The nodes laid out with the recorded primary.
    pub nodes: &'a [NodeLayout],
    /// The cluster as observed.
    pub before: &'a ClusterBefore,
    /// The ledger's record of the request (a new one for a request that did
    /// not start).
    pub record: &'a RequestRecord,
    /// The request is past its timeout.
    pub timed_out: bool,
}

/// The next phase of `request`.
pub fn next(request: &Request, s: &Situation<'_>) -> Verdict {
    match request {
        Request::Promote { node, .. } => promote::next(node, s),
        Request::RemoveNode { node, .. } => remove::next(node, s),
        other => Verdict::Refuse(not_carried_out(other)),
    }
}

/// Why apply refuses `request` whatever the cluster looks like: its action
/// is not carried out by this version. `None` for the actions it runs.
pub fn unsupported(request: &Request) -> Option<String> {
    match request {
        Request::Promote { .. } | Request::RemoveNode { .. } => None,
        other => Some(not_carried_out(other)),
    }
}

fn not_carried_out(r: &Request) -> String {
    format!(
        "the {} action is not carried out by this version of dbfleet; the file is kept and reported",
        r.action()
    )
}

/// Every step a request would take, phase by phase, on `nodes` as they are
/// laid out now (for the plan; prechecks are not judged here).
pub fn outline(request: &Request, nodes: &[NodeLayout]) -> Vec<PlannedStep> {
    match request {
        Request::Promote { node, .. } => promote::outline(node, nodes),
        Request::RemoveNode { node, .. } => remove::outline(node, nodes),
        _ => Vec::new(),
    }
}

/// A request file that has not finished: its place in the queue.
#[derive(Debug, Clone, PartialEq)]
pub struct Due<'a> {
    pub file: &'a RequestFile,
    /// sha256 of the file's text.
    pub sha256: String,
    pub origin: Option<FileOrigin>,
}

/// How a request file stands against the ledger.
#[derive(Debug, Clone, PartialEq)]
pub enum Standing<'a> {
    /// Never ran, or started and not finished: runs (resumes) in order.
    Due(Due<'a>),
    /// Ran; its outcome is final.
    Ran(&'a RequestRecord),
    /// Ran, and the file changed since: reported, never run again.
    EditedAfterRun(&'a RequestRecord),
}

/// The request files in commit order (the commit that added each; files
/// no commit added come last, by name), each with its standing.
/// `texts` holds each file's text by path; `ledger` the records by id.
pub fn queue<'a>(
    files: &'a [RequestFile],
    texts: &BTreeMap<String, String>,
    origins: &BTreeMap<String, FileOrigin>,
    ledger: &'a BTreeMap<String, RequestRecord>,
) -> Vec<Standing<'a>> {
    let mut ordered: Vec<&RequestFile> = files.iter().collect();
    ordered.sort_by_key(|f| (origins.get(&f.path).map_or(usize::MAX, |o| o.seq), f.id.clone()));
    ordered
        .into_iter()
        .map(|file| {
            let sha256 = crate::plan::sha256_hex(texts.get(&file.path).map_or("", String::as_str));
            match ledger.get(&file.id) {
                Some(r) if r.state.is_final() && r.sha256 != sha256 => Standing::EditedAfterRun(r),
                Some(r) if r.state.is_final() => Standing::Ran(r),
                _ => Standing::Due(Due {
                    file,
                    sha256,
                    origin: origins.get(&file.path).cloned(),
                }),
            }
        })
        .collect()
}

/// A ledger record for a request about to start.
pub fn new_record(due: &Due<'_>) -> RequestRecord {
    let r = &due.file.request;
    RequestRecord {
        id: due.file.id.clone(),
        action: r.action().to_string(),
        cluster: r.cluster().to_string(),
        node: r.node().map(str::to_string),
        sha256: due.sha256.clone(),
        commit: due.origin.as_ref().map(|o| o.commit.clone()),
        author: due.origin.as_ref().map(|o| o.author.clone()),
        state: RequestState::Running,
        phase: None,
        started: crate::state::ledger_now(),
        ended: None,
        phases: Vec::new(),
        reason: None,
        facts: BTreeMap::new(),
    }
}

#[cfg(test)]
mod tests;
