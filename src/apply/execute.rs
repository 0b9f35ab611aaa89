//! The executor: the cluster's planned steps, in the plan's order, each
//! mapped to one driver or transport call. It has no phase logic of its
//! own; what it decides is only what a failure stops:
//!
//! - a failed step stops the later steps of its node, and the steps that
//!   need that node (a seed from it, replication from it);
//! - a failure while building the first node, checking the new
//!   configurations, rolling them out or granting access stops the rest of
//!   the cluster's plan (the roll must not move on past a node that did
//!   not come back; the checks exist so that nothing changes when one is
//!   refused; the later steps need what those built).
//!
//! The operation state is saved before every step, so that a run killed
//! halfway says where it stopped; the next run plans again from what it
//! observes.

use futures::future::join_all;
use std::collections::BTreeSet;
use std::time::Instant;

use super::progress::Event;
use super::{ApplyError, ClusterReport, ClusterRun};
use crate::engine::DriverError;
use crate::plan::{Phase, PlannedStep, Step};
use crate::state::{AuditEntry, ClusterState};

impl ClusterRun<'_> {
    /// Carry out `steps` in order. Every failure is returned; the first
    /// one's node is named by [`ApplyError`].
    pub(super) async fn execute(
        &self,
        steps: &[PlannedStep],
        state: &mut ClusterState,
        report: &mut ClusterReport,
    ) -> Vec<ApplyError> {
        let mut failed: BTreeSet<&str> = BTreeSet::new();
        let mut errors = Vec::new();
        self.emit(&Event::Planned {
            cluster: &self.cluster.name,
            steps: steps.len(),
        });
        let mut i = 0;
        while i < steps.len() {
            let s = &steps[i];
            if let Some(reason) = skipped(s, &failed) {
                self.emit(&Event::StepSkipped {
                    cluster: &self.cluster.name,
                    index: i,
                    step: s,
                    reason,
                });
                failed.insert(&s.node);
                i += 1;
                if s.phase == Phase::Roll {
                    break; // the roll stops at a node it cannot finish
                }
                continue;
            }
            if s.step == Step::CheckConfig {
                // The checks of a roll run side by side.
                let end = i + steps[i..]
                    .iter()
                    .take_while(|s| s.step == Step::CheckConfig)
                    .count();
                let batch: Vec<(usize, &PlannedStep)> = (i..end).map(|k| (k, &steps[k])).collect();
                if let Err(e) = self.save_at(state, s) {
                    errors.push(e);
                    break;
                }
                let results = join_all(batch.iter().map(|(k, s)| self.check(*k, s))).await;
                let refused: Vec<ApplyError> = results.into_iter().filter_map(Result::err).collect();
                let stop = !refused.is_empty();
                errors.extend(refused);
                if stop {
                    break;
                }
                for (_, s) in &batch {
                    if let Some(op) = state.operation.as_mut() {
                        op.at(s);
                        op.done(0.0);
                    }
                }
                i = end;
                continue;
            }
            if let Err(e) = self.save_at(state, s) {
                errors.push(e);
                break;
            }
            let t0 = Instant::now();
            match self.run(i, s, state, report).await {
                Ok(()) => {
                    if let Some(op) = state.operation.as_mut() {
                        op.done(t0.elapsed().as_secs_f64());
                    }
                }
                Err(e) => {
                    failed.insert(&s.node);
                    errors.push(e);
                    if halts(s.phase) {
                        break;
                    }
                }
            }
            i += 1;
        }
        self.apply.progress.finished(&self.cluster.name);
        errors
    }

    /// One audit line for a step that ran. A log that cannot be written is
    /// reported, and the apply goes on: the change itself was made.
    fn audit(&self, s: &PlannedStep, error: Option<&ApplyError>) {
        let step = serde_json::to_value(&s.step)
            .ok()
            .and_then(|v| v.get("step").and_then(|k| k.as_str()).map(str::to_string))
            .unwrap_or_default();
        self.apply.audit(AuditEntry {
            node: Some(s.node.clone()),
            step,
            what: s.step.to_string(),
            ..self.apply.audit_line(&self.operation, &self.cluster.name, error)
        });
    }

    fn emit(&self, e: &Event<'_>) {
        self.apply.progress.event(e);
    }

    /// Record the step in progress in the operation state, and save.
    fn save_at(&self, state: &mut ClusterState, s: &PlannedStep) -> Result<(), ApplyError> {
        if let Some(op) = state.operation.as_mut() {
            op.at(s);
        }
        self.apply.store.save_cluster(&self.cluster.name, state)?;
        Ok(())
    }

    /// A node's config check, with its events.
    async fn check(&self, index: usize, s: &PlannedStep) -> Result<(), ApplyError> {
        let node = self.node(&s.node).ok_or_else(|| missing(&s.node, &s.node))?;
        self.with_events(index, s, self.check_config(node)).await
    }

    /// One step, with its events.
    async fn run(
        &self,
        index: usize,
        s: &PlannedStep,
        state: &mut ClusterState,
        report: &mut ClusterReport,
    ) -> Result<(), ApplyError> {
        self.with_events(index, s, self.dispatch(s, state, report)).await
    }

    async fn with_events(
        &self,
        index: usize,
        s: &PlannedStep,
        work: impl std::future::Future<Output = Result<(), ApplyError>>,
    ) -> Result<(), ApplyError> {
        let cluster = &self.cluster.name;
        self.emit(&Event::StepStarted {
            cluster,
            index,
            step: s,
        });
        let t0 = Instant::now();
        let result = work.await;
        self.audit(s, result.as_ref().err());
        match &result {
            Ok(()) => self.emit(&Event::StepDone {
                cluster,
                index,
                step: s,
                seconds: t0.elapsed().as_secs_f64(),
            }),
            Err(e) => self.emit(&Event::StepFailed {
                cluster,
                index,
                step: s,
                error: crate::observe::error_chain(e),
            }),
        }
        result
    }

    /// The one call a step maps to.
    async fn dispatch(
        &self,
        s: &PlannedStep,
        state: &mut ClusterState,
        report: &mut ClusterReport,
    ) -> Result<(), ApplyError> {
        let node = self.node(&s.node).ok_or_else(|| missing(&s.node, &s.node))?;
        let (t, paths) = (self.transport(node), self.paths());
        let cx = self.cx(node, &paths);
        let d = self.driver();
        match &s.step {
            Step::WriteSecrets => {
                self.step(node, "write secrets", d.write_secrets(t.as_ref(), &cx))
                    .await
            }
            Step::WriteConfig { path } => {
                let f = self
                    .files
                    .get(&node.name)
                    .and_then(|fs| fs.iter().find(|f| &f.path == path))
                    .ok_or_else(|| missing(&node.name, path))?;
                report.files_written += usize::from(self.write_if_changed(t.as_ref(), node, f).await?);
                Ok(())
            }
            Step::WriteConfigs => {
                let files = self.files.get(&node.name).cloned().unwrap_or_default();
                for f in &files {
                    report.files_written += usize::from(self.write_if_changed(t.as_ref(), node, f).await?);
                }
                Ok(())
            }
            Step::ApplyFirewall => self.firewall(node, report).await,
            Step::InitDataDir => {
                self.step(node, "initialise data directory", d.init(t.as_ref(), &cx))
                    .await
            }
            Step::Start => {
                self.step(node, "start", d.start(t.as_ref(), &cx)).await?;
                if s.phase == Phase::Repair {
                    report.started.push(node.name.clone());
                }
                Ok(())
            }
            Step::CreateUsers => {
                self.step(node, "create users", d.create_users(t.as_ref(), &cx))
                    .await
            }
            Step::GrantAccess => self.grant(node, &self.orphans(state)).await,
            Step::SeedFromPrimary { from } => {
                let source = self.node(from).ok_or_else(|| missing(&node.name, from))?;
                let st = self.transport(source);
                let scx = self.cx(source, &paths);
                let what = format!("seed from {from}");
                self.step(node, &what, d.seed(st.as_ref(), &scx, t.as_ref(), &cx))
                    .await
            }
            Step::StartReplication { from } => {
                self.replicate(node, from).await?;
                if s.phase == Phase::Repair {
                    report.replication_started.push(node.name.clone());
                }
                Ok(())
            }
            Step::CheckConfig => self.check_config(node).await,
            Step::ApplyConfig => self.apply_config(node, report).await,
            Step::ClaimData => {
                self.claim(t.as_ref(), node, &paths).await?;
                report.nodes_built.push(node.name.clone());
                Ok(())
            }
            Step::Record => self.record(state, node),
            Step::Fence => {
                let hold = self.remaining();
                self.step(node, "fence", d.fence(t.as_ref(), &cx, hold)).await
            }
            Step::Unfence => {
                self.step(node, "lift the fence", d.unfence(t.as_ref(), &cx))
                    .await
            }
            Step::WaitCaughtUp { from } => {
                let source = self.node(from).ok_or_else(|| missing(&node.name, from))?;
                let (st, scx) = (self.transport(source), self.cx(source, &paths));
                let what = format!("read the write position of {from}");
                let position = self
                    .step(source, &what, d.write_position(st.as_ref(), &scx))
                    .await?;
                let what = format!("catch up with {from} at {position}");
                let wait = d.wait_caught_up(t.as_ref(), &cx, &position, self.remaining());
                self.step(node, &what, wait).await
            }
            Step::Promote => self.step(node, "promote", d.promote(t.as_ref(), &cx)).await,
            Step::RemoveNode => self.retire(node, &paths).await,
            Step::MoveDataAside { suffix } => self.move_aside(node, &paths, suffix).await,
            Step::ForgetPeer { node: gone } => {
                let peer = self.peer(gone).ok_or_else(|| missing(&node.name, gone))?;
                let what = format!("forget {gone}");
                self.step(node, &what, d.forget_peer(t.as_ref(), &cx, &peer))
                    .await
            }
            Step::Repoint { to } => {
                let peer = self.peer(to).ok_or_else(|| missing(&node.name, to))?;
                let what = format!("replicate from {to}");
                self.step(node, &what, d.repoint(t.as_ref(), &cx, &peer)).await
            }
        }
    }
}

/// Why `s` cannot run after the failures so far, if it cannot.
fn skipped(s: &PlannedStep, failed: &BTreeSet<&str>) -> Option<String> {
    if failed.contains(s.node.as_str()) {
        return Some(format!("an earlier step on {} failed", s.node));
    }
    let needed = s.needs().filter(|n| failed.contains(n))?;
    Some(format!("a step on {needed}, which it needs, failed"))
}

/// Whether a failure in this phase stops the rest of the cluster's plan.
fn halts(phase: Phase) -> bool {
    match phase {
        Phase::Build | Phase::Check | Phase::Roll | Phase::Grant => true,
        // A switchover goes on only from a phase that completed.
        Phase::Fence | Phase::CatchUp | Phase::Promote | Phase::Abort => true,
        // The other nodes are repointed even when one could not be.
        Phase::Remove => true,
        Phase::Firewall | Phase::Seed | Phase::Repair | Phase::Repoint => false,
    }
}

fn missing(node: &str, what: &str) -> ApplyError {
    ApplyError::Step {
        node: node.to_string(),
        step: "plan".into(),
        source: Box::new(DriverError::Other {
            host: node.to_string(),
            message: format!("the plan names {what}, which the cluster does not have"),
        }),
    }
}
