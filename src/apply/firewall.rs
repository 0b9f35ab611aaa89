//! The firewall of a node: write its ruleset file when it differs from
//! the host's, then load it with `nft -f`. The file swaps the cluster's
//! chain in one transaction (see `render/firewall.rs`); the engine is never
//! restarted or reloaded for it.

use super::{ApplyError, ClusterReport, ClusterRun};
use crate::engine::DriverError;
use crate::layout::NodeLayout;
use crate::transport::{Command, Transport};

impl ClusterRun<'_> {
    /// Write (if changed) and load the node's firewall file.
    ///
    /// Errors: the file cannot be written ([`ApplyError::Write`]); `nft`
    /// is missing or refuses the ruleset ([`ApplyError::Step`], with nft's
    /// own message). The chain keeps its previous rules in that case: nft
    /// loads the whole file or nothing.
    pub(super) async fn firewall(
        &self,
        node: &NodeLayout,
        report: &mut ClusterReport,
    ) -> Result<(), ApplyError> {
        let Some(f) = self.firewalls.get(&node.name) else {
            return Ok(());
        };
        let t = self.transport(node);
        let current = self.current.get(&node.name).and_then(|c| c.get(&f.path));
        if current != Some(&f.content) {
            t.write_file(&f.path, f.content.as_bytes(), f.mode, &f.owner, &f.group)
                .await
                .map_err(|source| ApplyError::Write {
                    node: node.name.clone(),
                    path: f.path.clone(),
                    source: Box::new(source),
                })?;
            self.apply
                .progress
                .note(&self.cluster.name, &format!("{}: wrote {}", node.name, f.path));
            report.files_written += 1;
        }
        let load = Command::new("nft").args(["-f", f.path.as_str()]);
        let loaded = async {
            t.run_checked(&load).await.map_err(DriverError::from)?;
            Ok(())
        };
        self.step(node, "load the firewall", loaded).await?;
        report.firewalls_loaded.push(node.name.clone());
        Ok(())
    }
}
