//! Pointing a node at its source and waiting for the stream.

use std::time::{Duration, Instant};

use super::flavor::Source;
use super::host::{Host, SEED_GTID};
use super::status::ReplicaStatus;
use crate::engine::contract::Result;
use crate::layout::PeerRef;
use crate::render::REPLICATION_USER;

/// How long the stream may take to come up.
const REPLICATION_TIMEOUT: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_millis(500);

impl Host<'_> {
    /// See [`crate::engine::Driver::start_replication`]. A freshly seeded
    /// node first takes the GTID position of its backup; a node that
    /// already replicates from `from` is only started if stopped.
    pub(crate) async fn start_replication(&self, from: &PeerRef) -> Result<()> {
        if !self.ping().await? {
            return Err(self.other(format!(
                "{} is not running, so it cannot replicate from {}",
                self.flavor.name(),
                from.host
            )));
        }
        let port = self.cx.port();
        let what = format!("replication from {}", from.host);
        let current = self
            .replica_row()
            .await?
            .and_then(|r| ReplicaStatus::from_row(&r));
        let seeded_at = self.t.read_file(&self.data_file(SEED_GTID)).await?;
        match current {
            Some(s) if s.points_at(&from.host, port) => {
                // The position was taken when this source was set.
                if seeded_at.is_some() {
                    self.remove_data_file(SEED_GTID).await?;
                }
                if !s.running() {
                    self.sql_ok(&what, &[self.flavor.start_replica()]).await?;
                }
            }
            _ => {
                let f = self.flavor;
                let mut statements = vec![f.stop_replica().to_string()];
                if let Some(gtid) = &seeded_at {
                    statements.extend(f.seed_position(String::from_utf8_lossy(gtid).trim()));
                }
                statements.push(f.change_source(&Source {
                    host: &from.host,
                    port,
                    user: REPLICATION_USER,
                    password: &self.cx.secrets.replication_password,
                }));
                statements.push(f.start_replica().to_string());
                self.sql_ok(&what, &statements).await?;
                if seeded_at.is_some() {
                    self.remove_data_file(SEED_GTID).await?;
                }
            }
        }
        self.wait_replicating(&what).await
    }

    /// Waits until both replication threads run, seen twice in a row (a
    /// thread that starts only to fail on its first event looks fine for a
    /// moment); fails at once when one stopped on an error, and at the
    /// timeout with the last error.
    async fn wait_replicating(&self, what: &str) -> Result<()> {
        let started = Instant::now();
        let mut seen_running = false;
        loop {
            let status = self
                .replica_row()
                .await?
                .and_then(|r| ReplicaStatus::from_row(&r));
            let Some(s) = status else {
                return Err(self.other(format!("{what}: no source configured after CHANGE MASTER")));
            };
            if s.running() {
                if seen_running {
                    return Ok(());
                }
                seen_running = true;
                tokio::time::sleep(POLL).await;
                continue;
            }
            seen_running = false;
            let stopped = (s.io_running == "No" || s.sql_running == "No") && s.last_error().is_some();
            if stopped || started.elapsed() > REPLICATION_TIMEOUT {
                let message = s.last_error().unwrap_or_else(|| {
                    format!(
                        "not up after {}s (IO thread: {}, SQL thread: {})",
                        started.elapsed().as_secs(),
                        s.io_running,
                        s.sql_running
                    )
                });
                return Err(self.rejected(what, message));
            }
            tokio::time::sleep(POLL).await;
        }
    }
}
