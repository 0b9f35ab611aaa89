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
        report.files_written += usize::from(self.write_if_changed(t.as_ref(), node, f).await?);
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
