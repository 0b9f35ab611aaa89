//! A planned switchover, MySQL family: fence the primary (read_only, its
//! clients' connections ended), read its GTID position, wait until the new
//! primary has applied it, promote, and repoint the others by GTID.
//!
//! On MariaDB 10.x an account with SUPER (READ_ONLY ADMIN) may still write
//! through read_only; dbfleet ends every client connection at the fence, so
//! only a client that reconnects with such an account could. Applications
//! must not use those accounts.

use std::time::{Duration, Instant};

use super::host::Host;
use super::sql::literal;
use super::status::ReplicaStatus;
use crate::engine::contract::Result;
use crate::layout::PeerRef;

const POLL: Duration = Duration::from_millis(200);

impl Host<'_> {
    fn read_only_on(&self) -> Vec<&'static str> {
        if self.flavor.is_mariadb() {
            vec!["SET GLOBAL read_only = ON"]
        } else {
            vec!["SET GLOBAL super_read_only = ON"]
        }
    }

    fn read_only_off(&self) -> Vec<&'static str> {
        if self.flavor.is_mariadb() {
            vec!["SET GLOBAL read_only = OFF"]
        } else {
            vec!["SET GLOBAL super_read_only = OFF", "SET GLOBAL read_only = OFF"]
        }
    }

    /// See [`crate::engine::Driver::fence`].
    pub(crate) async fn fence(&self) -> Result<()> {
        self.sql_ok("setting read_only", &self.read_only_on()).await?;
        // Every client connection but replication, the server's own threads
        // and this one: a transaction open before read_only could commit.
        let ids = self
            .query_rows(
                "listing client connections",
                "SELECT ID FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() \
                 AND COMMAND NOT IN ('Binlog Dump', 'Binlog Dump GTID', 'Daemon', 'Slave_IO', 'Slave_SQL', 'Slave_worker') \
                 AND USER NOT IN ('system user', 'event_scheduler')",
            )
            .await?;
        for id in ids
            .iter()
            .filter_map(|r| r.first())
            .filter(|id| id.parse::<u64>().is_ok())
        {
            // A connection that ended meanwhile is "Unknown thread id": fine.
            let _ = self.sql(&[format!("KILL CONNECTION {id}")]).await?;
        }
        Ok(())
    }

    /// See [`crate::engine::Driver::unfence`].
    pub(crate) async fn unfence(&self) -> Result<()> {
        self.sql_ok("clearing read_only", &self.read_only_off()).await?;
        Ok(())
    }

    /// See [`crate::engine::Driver::write_position`].
    pub(crate) async fn write_position(&self) -> Result<String> {
        let q = if self.flavor.is_mariadb() {
            "SELECT @@GLOBAL.gtid_binlog_pos"
        } else {
            "SELECT REPLACE(@@GLOBAL.gtid_executed, '\\n', '')"
        };
        let out = self.sql_ok("reading the GTID position", &[q]).await?;
        Ok(out.trim().to_string())
    }

    /// See [`crate::engine::Driver::wait_caught_up`]: short waits in a loop,
    /// so that no client call outlives the timeout.
    pub(crate) async fn wait_caught_up(&self, position: &str, timeout: Duration) -> Result<()> {
        let started = Instant::now();
        let q = if self.flavor.is_mariadb() {
            format!("SELECT MASTER_GTID_WAIT({}, 1)", literal(position))
        } else {
            format!("SELECT WAIT_FOR_EXECUTED_GTID_SET({}, 1)", literal(position))
        };
        loop {
            let out = self.sql_ok("waiting for the GTID position", &[&q]).await?;
            if out.trim() == "0" {
                return Ok(());
            }
            if started.elapsed() >= timeout {
                let status = self
                    .replica_row()
                    .await?
                    .and_then(|r| ReplicaStatus::from_row(&r))
                    .and_then(|s| s.last_error())
                    .map(|e| format!(" (replication: {e})"))
                    .unwrap_or_default();
                return Err(self.other(format!(
                    "has not applied GTID position {position} after {}s{status}",
                    started.elapsed().as_secs()
                )));
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// See [`crate::engine::Driver::promote`].
    pub(crate) async fn promote(&self) -> Result<()> {
        let f = self.flavor;
        let reset = if f.is_mariadb() {
            "RESET SLAVE ALL"
        } else {
            "RESET REPLICA ALL"
        };
        let mut statements = vec![f.stop_replica(), reset];
        statements.extend(self.read_only_off());
        self.sql_ok("promoting", &statements).await?;
        Ok(())
    }

    /// See [`crate::engine::Driver::repoint`]. A node not yet pointing at
    /// `to` starts from its own GTID position (MariaDB: `gtid_current_pos`,
    /// which for the old primary is its binary log; MySQL auto-positions).
    pub(crate) async fn repoint(&self, to: &PeerRef) -> Result<()> {
        self.sql_ok("setting read_only", &self.read_only_on()).await?;
        let current = self
            .replica_row()
            .await?
            .and_then(|r| ReplicaStatus::from_row(&r));
        let pointed = current.is_some_and(|s| s.points_at(&to.host, self.cx.port()));
        if !pointed && self.flavor.is_mariadb() {
            self.sql_ok(
                "taking the GTID position",
                &[
                    self.flavor.stop_replica(),
                    "SET GLOBAL gtid_slave_pos = @@GLOBAL.gtid_current_pos",
                ],
            )
            .await?;
        }
        self.start_replication(to).await
    }
}
