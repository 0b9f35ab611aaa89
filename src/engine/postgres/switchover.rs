//! A planned switchover, PostgreSQL: the primary stopped cleanly (its
//! walsenders send the shutdown checkpoint to the standbys before it
//! exits), its checkpoint location read from pg_control, the new primary
//! waited for until it has replayed past it, `pg_promote()`, slots made on
//! it for the others, and the others pointed at it: a running standby by a
//! reload of its new `primary_conninfo` (it follows the new timeline), the
//! old primary started as a standby, which a clean shutdown allows without
//! pg_rewind.

use std::time::Duration;

use crate::engine::contract::Result;
use crate::engine::{DriverError, NodeCx};
use crate::layout::PeerRef;
use crate::transport::Transport;

use super::host::{engine, other, poll, probe, psql_ok, run_ok, tool};
use super::lifecycle::{start, stop};

/// See [`crate::engine::Driver::fence`]: a fast, clean stop.
pub async fn fence(t: &dyn Transport, cx: &NodeCx<'_>) -> Result<()> {
    stop(t, cx).await
}

/// See [`crate::engine::Driver::unfence`]: started again, as the primary
/// it still is.
pub async fn unfence(t: &dyn Transport, cx: &NodeCx<'_>) -> Result<()> {
    start(t, cx).await
}

/// See [`crate::engine::Driver::write_position`]: the stopped server's
/// latest checkpoint location, from pg_controldata; refused unless it was
/// shut down cleanly (then that checkpoint is the last record it wrote).
pub async fn write_position(t: &dyn Transport, cx: &NodeCx<'_>) -> Result<String> {
    if probe(t, cx).await?.pid.is_some() {
        return Err(other(
            t,
            format!(
                "{} is running: its write position moves until it is stopped",
                engine(cx)
            ),
        ));
    }
    let cmd = tool(cx, "pg_controldata").args(["-D", &cx.paths.data_dir]);
    let out = run_ok(t, &cmd, "pg_controldata").await?;
    control_position(&out.stdout_str()).map_err(|why| other(t, why))
}

/// The checkpoint location of a cleanly shut down cluster, from
/// pg_controldata's output (LC_ALL=C).
fn control_position(text: &str) -> std::result::Result<String, String> {
    let field = |name: &str| {
        text.lines().find_map(|l| {
            l.strip_prefix(name)
                .map(|v| v.trim_start_matches(':').trim().to_string())
        })
    };
    match field("Database cluster state").as_deref() {
        Some("shut down") => {}
        Some(state) => return Err(format!("the server was not shut down cleanly (state: {state})")),
        None => return Err("pg_controldata printed no cluster state".into()),
    }
    field("Latest checkpoint location").ok_or_else(|| "pg_controldata printed no checkpoint location".into())
}

/// See [`crate::engine::Driver::wait_caught_up`]: replayed past the
/// position (the end of the checkpoint record lies beyond its start).
pub async fn wait_caught_up(
    t: &dyn Transport,
    cx: &NodeCx<'_>,
    position: &str,
    timeout: Duration,
) -> Result<()> {
    let lsn = super::sql::quote_literal(position).map_err(|e| other(t, e.to_string()))?;
    let sql =
        format!("SELECT pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_last_wal_replay_lsn(), {lsn}::pg_lsn) > 0");
    let done = poll(timeout, || async {
        let rows = psql_ok(t, cx, &sql, "reading the replay position").await?;
        let replayed = rows.first().and_then(|r| r.first().cloned().flatten()).as_deref() == Some("t");
        Ok(replayed.then_some(()))
    })
    .await?;
    done.ok_or_else(|| {
        other(
            t,
            format!("has not replayed up to {position} after {}s", timeout.as_secs()),
        )
    })
}

/// See [`crate::engine::Driver::promote`]: `pg_promote()` (waiting for the
/// end of recovery), then a replication slot for every other node.
pub async fn promote(t: &dyn Transport, cx: &NodeCx<'_>) -> Result<()> {
    let rows = psql_ok(t, cx, "SELECT pg_catalog.pg_is_in_recovery()", "reading the role").await?;
    if rows.first().and_then(|r| r.first().cloned().flatten()).as_deref() == Some("t") {
        let rows = psql_ok(t, cx, "SELECT pg_catalog.pg_promote(true, 60)", "promoting").await?;
        if rows.first().and_then(|r| r.first().cloned().flatten()).as_deref() != Some("t") {
            return Err(DriverError::NotHealthy {
                host: t.host().to_string(),
                engine: format!("{} promotion", engine(cx)),
                seconds: 60,
                log: super::host::log_tail(t, cx, 30).await?,
            });
        }
    }
    let others = cx.node.peers.iter().chain(&cx.node.orphans);
    super::replication::create_slots(t, cx, others.map(|p| p.name.as_str())).await
}

/// See [`crate::engine::Driver::repoint`]: the standby's new
/// `primary_conninfo` is written; reload it, or start the stopped old
/// primary as a standby.
pub async fn repoint(t: &dyn Transport, cx: &NodeCx<'_>, to: &PeerRef) -> Result<()> {
    super::replication::start_replication(t, cx, to).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoint_of_a_clean_shutdown() {
        let out = "pg_control version number:            1300\n\
                   Database cluster state:               shut down\n\
                   Latest checkpoint location:           0/3000028\n\
                   Latest checkpoint's REDO location:    0/3000028\n";
        assert_eq!(control_position(out), Ok("0/3000028".to_string()));
        let crashed = out.replace("shut down", "in production");
        assert_eq!(
            control_position(&crashed),
            Err("the server was not shut down cleanly (state: in production)".to_string())
        );
    }
}
