//! Taking a node out of service (a remove-node request): its engine
//! stopped and, under systemd, disabled; its configuration files, secrets
//! file and firewall (file and chain) removed. The data directory is moved
//! aside by its own step, never deleted.

use super::{ApplyError, ClusterRun};
use crate::engine::DriverError;
use crate::layout::{NodeLayout, PeerRef};
use crate::render::{firewall_chain, firewall_path, EnginePaths, FIREWALL_TABLE};
use crate::transport::{Command, Transport as _};

/// `$1` unit to disable (empty: none), `$2` nftables table, `$3` chain,
/// then the files to remove (with their `.dbfleet-prev` copies).
const RETIRE: &str = r#"set -eu
unit=$1 table=$2 chain=$3
shift 3
if [ -n "$unit" ]; then systemctl disable --quiet -- "$unit" 2>/dev/null || true; fi
if nft list chain inet "$table" "$chain" >/dev/null 2>&1; then nft delete chain inet "$table" "$chain"; fi
for f in "$@"; do rm -f -- "$f" "$f.dbfleet-prev"; done
"#;

/// `$1` data directory, `$2` suffix: moved to `$1.$2` (once: a directory
/// already moved is left as it is).
const MOVE_ASIDE: &str = r#"set -eu
if [ -e "$1" ]; then mv -- "$1" "$1.$2"; fi
test -e "$1.$2"
"#;

impl ClusterRun<'_> {
    /// The node's data directory moved to `<data dir>.<suffix>`.
    pub(super) async fn move_aside(
        &self,
        node: &NodeLayout,
        paths: &EnginePaths,
        suffix: &str,
    ) -> Result<(), ApplyError> {
        let t = self.transport(node);
        let cmd = Command::new("sh").args(["-c", MOVE_ASIDE, "sh", &paths.data_dir, suffix]);
        let run = async {
            t.run_checked(&cmd).await.map_err(DriverError::from)?;
            Ok(())
        };
        self.step(node, "move the data directory aside", run).await
    }

    /// A node of the cluster, an orphan included, as a peer.
    pub(super) fn peer(&self, name: &str) -> Option<PeerRef> {
        self.node(name).map(|n| PeerRef {
            name: n.name.clone(),
            number: n.number,
            host: n.host.clone(),
        })
    }

    /// See the module comment.
    pub(super) async fn retire(&self, node: &NodeLayout, paths: &EnginePaths) -> Result<(), ApplyError> {
        let t = self.transport(node);
        let cx = self.cx(node, paths);
        let d = self.driver();
        self.step(node, "stop", d.stop(t.as_ref(), &cx)).await?;
        let unit = if cx.service.is_systemd() {
            d.unit(&cx)
        } else {
            String::new()
        };
        let chain = firewall_chain(&self.cluster.name);
        let mut files: Vec<String> = paths.config_files.iter().map(|f| f.path.clone()).collect();
        files.extend(paths.secrets_file.clone());
        files.push(firewall_path(&self.cluster.name));
        let cmd = Command::new("sh")
            .args(["-c", RETIRE, "sh", &unit, FIREWALL_TABLE, &chain])
            .args(files);
        let run = async {
            t.run_checked(&cmd).await.map_err(DriverError::from)?;
            Ok(())
        };
        self.step(node, "remove its configuration and firewall", run)
            .await
    }
}
