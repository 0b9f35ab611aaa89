//! Configuration changes on a built node, with confirm-or-roll-back: the
//! new files are written (the previous kept), applied live where the engine
//! allows or by a restart; when the engine rejects them or does not come
//! back healthy, the previous files are restored and the engine brought
//! back on them.

use super::{ApplyError, ClusterReport, ClusterRun};
use crate::engine::LiveOutcome;
use crate::layout::NodeLayout;

impl ClusterRun<'_> {
    /// Checks the node's new main file with the engine, before any node
    /// changes: a file the engine would not start on is
    /// [`ApplyError::Refused`]. The executor runs the checks of a roll side
    /// by side, all before the first write.
    pub(super) async fn check_config(&self, node: &NodeLayout) -> Result<(), ApplyError> {
        let d = self.driver();
        let (t, paths) = (self.transport(node), self.paths());
        let cx = self.cx(node, &paths);
        let (_, new) = self.main_file(&node.name);
        self.step(
            node,
            "check the new configuration",
            d.check_config(t.as_ref(), &cx, new),
        )
        .await
        .map_err(|e| match e {
            ApplyError::Step { node, source, .. } => ApplyError::Refused { node, source },
            other => other,
        })
    }

    /// On a node whose new files are written: make the changed settings
    /// take effect, live where the engine allows, else by a restart (then
    /// wait until the node replicates again). A change the engine rejects,
    /// or a restart that does not come back healthy, restores the previous
    /// files and brings the engine back on them. A stopped engine is left
    /// for its start step.
    pub(super) async fn apply_config(
        &self,
        node: &NodeLayout,
        report: &mut ClusterReport,
    ) -> Result<(), ApplyError> {
        let (t, paths) = (self.transport(node), self.paths());
        let cx = self.cx(node, &paths);
        let d = self.driver();
        let old = self.current.get(&node.name).cloned().unwrap_or_default();
        let (old_main, new_main) = self.main_file(&node.name);
        let changes = d.changed_settings(old_main, new_main);
        if !self.running.get(&node.name).copied().unwrap_or(false) {
            return Ok(()); // started later with the new files
        }
        let live = self
            .step(
                node,
                "apply settings live",
                d.apply_live(t.as_ref(), &cx, &changes),
            )
            .await;
        let failure = match live {
            Ok(LiveOutcome::Applied) => {
                report.live.push(node.name.clone());
                return Ok(());
            }
            Ok(LiveOutcome::NeedsRestart(keys)) => {
                let what = format!("restart (needed by {})", keys.join(", "));
                let restarted = async {
                    d.stop(t.as_ref(), &cx).await?;
                    d.start(t.as_ref(), &cx).await
                };
                match self.step(node, &what, restarted).await {
                    Ok(()) => {
                        report.restarted.push(node.name.clone());
                        // Healthy means replicating again, not just answering:
                        // only then may the roll move on to the next node.
                        return self.rejoin(node).await;
                    }
                    Err(e) => e,
                }
            }
            Err(e) => e,
        };
        let source = match failure {
            ApplyError::Step { source, .. } => source,
            other => return Err(other),
        };
        match self.roll_back(node, &old).await {
            Ok(()) => Err(ApplyError::RolledBack {
                node: node.name.clone(),
                source,
            }),
            Err(rollback) => Err(ApplyError::RollbackFailed {
                node: node.name.clone(),
                source,
                rollback: rollback.to_string(),
            }),
        }
    }

    /// After a restart: wait until the node replicates from its sources again.
    async fn rejoin(&self, node: &NodeLayout) -> Result<(), ApplyError> {
        let sources: Vec<String> = match self.cluster.topology {
            crate::model::Topology::MultiMaster => node.peers.iter().map(|p| p.name.clone()).collect(),
            _ => node.primary.iter().map(|p| p.name.clone()).collect(),
        };
        for from in sources {
            self.replicate(node, &from).await?;
        }
        Ok(())
    }

    /// Put the previous files back and bring the engine back on them.
    async fn roll_back(
        &self,
        node: &NodeLayout,
        old: &std::collections::BTreeMap<String, String>,
    ) -> Result<(), ApplyError> {
        let (t, paths) = (self.transport(node), self.paths());
        let cx = self.cx(node, &paths);
        let d = self.driver();
        self.apply.progress.note(
            &self.cluster.name,
            &format!("{}: rolling back to the previous configuration", node.name),
        );
        let new = self.files.get(&node.name).cloned().unwrap_or_default();
        for f in &new {
            if let Some(content) = old.get(&f.path) {
                self.write(t.as_ref(), node, &f.path, content, (f.mode, &f.owner, &f.group))
                    .await?;
            }
        }
        let state = self
            .step(node, "check engine", d.observe(t.as_ref(), &cx))
            .await?;
        if !state.running {
            return self
                .step(
                    node,
                    "start on the previous configuration",
                    d.start(t.as_ref(), &cx),
                )
                .await;
        }
        // Still running: undo whatever took effect live before the rejection.
        let main = new.first().map(|f| f.path.clone()).unwrap_or_default();
        let undo = d.changed_settings(
            new.first().map(|f| f.content.as_str()).unwrap_or_default(),
            old.get(&main).map(String::as_str).unwrap_or_default(),
        );
        match d.apply_live(t.as_ref(), &cx, &undo).await {
            Ok(LiveOutcome::Applied) | Ok(LiveOutcome::NeedsRestart(_)) => Ok(()),
            Err(e) => Err(ApplyError::Step {
                node: node.name.clone(),
                step: "undo live settings".into(),
                source: Box::new(e),
            }),
        }
    }
}
