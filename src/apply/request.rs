//! Running one request: under the cluster's lock, one phase per pass.
//! Each pass observes the cluster, asks the request's planner
//! ([`crate::requests::next`]) for the next phase, records it in the ledger
//! (saved before anything runs), and executes its steps with the same
//! executor as every other step. A run killed halfway leaves the request
//! `running` at its phase; the next run starts here again and plans that
//! phase anew from what it observes (every step is idempotent).

use std::time::{Duration, Instant};

use super::{Apply, ApplyError, ClusterReport, ClusterRun};
use crate::layout::{layout, orphan_layouts};
use crate::model::Cluster;
use crate::observe;
use crate::plan::{self, Phase};
use crate::requests::{self, Due, PhaseRun, Situation, Verdict, DONE};
use crate::state::{AuditEntry, ClusterState, RequestRecord, RequestState};

impl Apply<'_> {
    /// Run (or resume) a request to its end: succeeded, failed or refused.
    /// The record is saved in the cluster's state after every phase.
    ///
    /// Errors: only when the state cannot be read or written, or the
    /// cluster cannot be rendered; what happens on the hosts ends up in the
    /// record.
    pub async fn run_request(&self, c: &Cluster, due: &Due<'_>) -> Result<RequestRecord, ApplyError> {
        let _lock = self.store.lock(&c.name, self.lock_wait)?;
        let mut state = self.store.cluster(&c.name)?;
        let mut record = match state.requests.get(&due.file.id) {
            Some(r) if r.state == RequestState::Running => {
                let at = r.phase.as_deref().unwrap_or("its start");
                self.progress
                    .note(&c.name, &format!("resuming request {} at {at}", r.id));
                r.clone()
            }
            _ => requests::new_record(due),
        };
        // The steps of a request are audited under its own commit and author.
        let apply = Apply {
            commit: record.commit.clone(),
            author: record.author.clone(),
            ..*self
        };
        let timeout = due.file.request.timeout();
        let left = timeout.saturating_sub(Duration::from_secs(record.age()));
        let deadline = Instant::now() + left;
        let secrets = crate::secrets::resolve(self.store.dir(), c)?;
        loop {
            let nodes = layout(c, &state.allocations, state.primary.as_deref());
            // The orphans too: a remove-node works on one.
            let mut all = nodes.clone();
            all.extend(orphan_layouts(c, &state.allocations, state.primary.as_deref()));
            let observed = observe::observe_cluster(self.pool, self.fleet(), c, &all, &secrets).await;
            let before = observe::to_before(&state, &observed);
            let situation = Situation {
                nodes: &nodes,
                before: &before,
                record: &record,
                timed_out: Instant::now() >= deadline,
            };
            let run = match requests::next(&due.file.request, &situation) {
                Verdict::Refuse(why) => {
                    record.finish(RequestState::Refused, Some(why));
                    break;
                }
                Verdict::Done(note) => {
                    record.finish(RequestState::Succeeded, note);
                    break;
                }
                Verdict::Fail(why) => {
                    record.finish(RequestState::Failed, Some(why));
                    break;
                }
                Verdict::Run(run) => run,
            };
            if run.phase == Phase::Abort && record.reason.is_none() {
                record.reason = Some(format!("timed out after {}", humantime::format_duration(timeout)));
            }
            record.enter(run.phase.as_str());
            record.facts.extend(run.facts.iter().cloned());
            self.save_record(&mut state, &record)?;
            let (_, rendered) = plan::plan_cluster_rendered(
                c,
                self.renderer,
                self.fleet().ssh.port,
                Some(&before),
                self.addresses,
            )?;
            let mut exec = ClusterRun::new(&apply, c, &all, &observed, &secrets, rendered);
            exec.operation = record.id.clone();
            exec.deadline = Some(deadline.max(Instant::now() + Duration::from_secs(5)));
            let errors = self.run_phase(&exec, &run, &mut state).await;
            apply.audit_phase(c, &record, &run, errors.first());
            if errors.is_empty() {
                if let Some(host) = &run.then_primary {
                    state.primary = Some(host.clone());
                }
                if let Some(gone) = &run.then_release {
                    state.allocations.release(&gone.host);
                    state.applied.remove(&gone.name);
                }
                record.facts.insert(DONE.into(), run.phase.as_str().into());
                if run.phase == Phase::Abort {
                    record.finish(RequestState::Failed, record.reason.clone());
                    break;
                }
                continue;
            }
            let why = errors
                .iter()
                .map(|e| observe::error_chain(e))
                .collect::<Vec<_>>()
                .join("; ");
            if run.undo.is_empty() {
                record.finish(RequestState::Failed, Some(why));
                break;
            }
            // Put the cluster back as it was before the request.
            let undo = PhaseRun::new(Phase::Abort, run.undo.clone());
            record.reason = Some(why.clone());
            record.enter(Phase::Abort.as_str());
            self.save_record(&mut state, &record)?;
            let undo_errors = self.run_phase(&exec, &undo, &mut state).await;
            apply.audit_phase(c, &record, &undo, undo_errors.first());
            record.facts.insert(DONE.into(), Phase::Abort.as_str().into());
            let reason = match undo_errors.first() {
                None => why,
                Some(e) => format!(
                    "{why}; and undoing it failed too, so no node may be taking writes: {}",
                    observe::error_chain(e)
                ),
            };
            record.finish(RequestState::Failed, Some(reason));
            break;
        }
        self.save_record(&mut state, &record)?;
        apply.audit_outcome(c, &record);
        Ok(record)
    }

    async fn run_phase(
        &self,
        exec: &ClusterRun<'_>,
        run: &PhaseRun,
        state: &mut ClusterState,
    ) -> Vec<ApplyError> {
        let mut report = ClusterReport::default();
        exec.execute(&run.steps, state, &mut report).await
    }

    fn save_record(&self, state: &mut ClusterState, record: &RequestRecord) -> Result<(), ApplyError> {
        state.requests.insert(record.id.clone(), record.clone());
        state.operation = None;
        self.store.save_cluster(&record.cluster, state)?;
        Ok(())
    }

    fn audit_phase(&self, c: &Cluster, record: &RequestRecord, run: &PhaseRun, error: Option<&ApplyError>) {
        self.audit(AuditEntry {
            step: format!("request-{}", run.phase.as_str()),
            what: format!("{} {}: phase {}", record.action, record.id, run.phase.as_str()),
            ..self.audit_line(&record.id, &c.name, error)
        });
    }

    fn audit_outcome(&self, c: &Cluster, record: &RequestRecord) {
        self.audit(AuditEntry {
            node: record.node.clone(),
            step: "request".into(),
            what: format!("{} {}", record.action, record.id),
            result: record.state.as_str().into(),
            error: record.reason.clone(),
            ..self.audit_line(&record.id, &c.name, None)
        });
    }
}
