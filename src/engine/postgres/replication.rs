//! Users, slots and streaming replication, and what a node reports about
//! itself (`observe`).

use std::time::Duration;

use crate::engine::contract::Result;
use crate::engine::{DriverError, EngineState, NodeCx, ObservedRole, Replication};
use crate::layout::PeerRef;
use crate::transport::Transport;

use super::conf::{parse_conf, parse_conninfo};
use super::host::{engine, log_tail, main_config, other, poll, probe, psql, psql_ok};
use super::lifecycle::{ensure_standby_signal, start};
use super::sql::{parse_bool, slots_script, users_script, Rows};

/// How long a standby may take to stream after it was (re)started.
pub const STREAM_TIMEOUT: Duration = Duration::from_secs(60);

pub async fn create_users(t: &dyn Transport, cx: &NodeCx<'_>) -> Result<()> {
    let script = users_script(&cx.secrets.admin_password, &cx.secrets.replication_password)
        .map_err(|e| other(t, e.to_string()))?;
    psql_ok(t, cx, &script, "creating the dbfleet users").await?;
    create_slots(t, cx, cx.node.peers.iter().map(|p| p.name.as_str())).await
}

/// On a primary: drop the replication slot of `node`, if there is one
/// (an active slot is first released by ending its walsender).
pub async fn drop_slot(t: &dyn Transport, cx: &NodeCx<'_>, node: &str) -> Result<()> {
    let slot =
        super::sql::quote_literal(&crate::render::slot_name(node)).map_err(|e| other(t, e.to_string()))?;
    let sql = format!(
        "SELECT pg_catalog.pg_terminate_backend(active_pid) FROM pg_catalog.pg_replication_slots \
          WHERE slot_name = {slot} AND active_pid IS NOT NULL;\n\
         SELECT pg_catalog.pg_drop_replication_slot(slot_name) FROM pg_catalog.pg_replication_slots \
          WHERE slot_name = {slot};"
    );
    psql_ok(t, cx, &sql, "dropping the replication slot")
        .await
        .map(drop)
}

/// On a primary: a replication slot for each of `nodes` (kept where one
/// exists).
pub async fn create_slots<'n>(
    t: &dyn Transport,
    cx: &NodeCx<'_>,
    nodes: impl IntoIterator<Item = &'n str>,
) -> Result<()> {
    let slots = slots_script(nodes).map_err(|e| other(t, e.to_string()))?;
    if !slots.is_empty() {
        psql_ok(t, cx, &slots, "creating replication slots").await?;
    }
    Ok(())
}

/// One row: version, in recovery, primary_conninfo, then the WAL
/// receiver's status and sender, bytes received but not replayed, and
/// seconds since the last replayed transaction (0 when all received WAL is
/// replayed: an idle primary is not lag).
const OBSERVE_SQL: &str = "SELECT pg_catalog.current_setting('server_version'),
       pg_catalog.pg_is_in_recovery(),
       pg_catalog.current_setting('primary_conninfo'),
       r.status,
       r.sender_host,
       pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_last_wal_receive_lsn(), pg_catalog.pg_last_wal_replay_lsn()),
       CASE WHEN pg_catalog.pg_last_wal_receive_lsn() = pg_catalog.pg_last_wal_replay_lsn() THEN 0
            ELSE extract(epoch FROM pg_catalog.now() - pg_catalog.pg_last_xact_replay_timestamp())
       END
  FROM (SELECT 1) AS one LEFT JOIN pg_catalog.pg_stat_wal_receiver AS r ON true";

/// What [`OBSERVE_SQL`] says.
#[derive(Debug, Clone, PartialEq)]
struct Status {
    version: Option<String>,
    in_recovery: bool,
    /// The host in `primary_conninfo` ("" on a primary).
    conninfo_host: Option<String>,
    receiver_status: Option<String>,
    sender_host: Option<String>,
    lag_bytes: Option<u64>,
    lag_seconds: Option<f64>,
}

impl Status {
    fn streaming_from(&self, host: &str) -> bool {
        self.receiver_status.as_deref() == Some("streaming") && self.sender_host.as_deref() == Some(host)
    }
}

fn parse_status(rows: &Rows) -> Option<Status> {
    let row = rows.first()?;
    let field = |i: usize| row.get(i).cloned().flatten();
    let number = |i: usize| field(i).and_then(|v| v.parse::<f64>().ok());
    Some(Status {
        version: field(0),
        in_recovery: parse_bool(field(1).as_deref())?,
        conninfo_host: field(2)
            .map(|c| parse_conninfo(&c).remove("host").unwrap_or_default())
            .filter(|h| !h.is_empty()),
        receiver_status: field(3),
        sender_host: field(4),
        // Replay can be ahead of what streaming received (WAL read from
        // pg_wal at start): that is no lag.
        lag_bytes: number(5).map(|b| b.max(0.0) as u64),
        lag_seconds: number(6).map(|s| s.max(0.0)),
    })
}

async fn status(t: &dyn Transport, cx: &NodeCx<'_>) -> Result<Option<Status>> {
    Ok(psql(t, cx, OBSERVE_SQL)
        .await?
        .ok()
        .and_then(|rows| parse_status(&rows)))
}

/// What [`observe`] runs on a running node, built the same way.
pub fn observe_commands(cx: &NodeCx<'_>) -> Vec<crate::transport::Command> {
    vec![
        super::host::probe_command(cx),
        super::host::psql_command(cx, OBSERVE_SQL),
    ]
}

pub async fn observe(t: &dyn Transport, cx: &NodeCx<'_>) -> Result<EngineState> {
    let disk = probe(t, cx).await?;
    let mut state = EngineState {
        installed: disk.installed,
        initialised: disk.initialised,
        ..EngineState::default()
    };
    if disk.pid.is_none() {
        return Ok(state);
    }
    let Some(s) = status(t, cx).await? else {
        // A postmaster that does not answer yet (starting, recovering).
        return Ok(state);
    };
    state.running = true;
    state.pid = disk.pid;
    state.version = s.version.clone();
    state.role = Some(if s.in_recovery {
        ObservedRole::Replica
    } else {
        ObservedRole::Primary
    });
    if s.in_recovery {
        let healthy = s.receiver_status.as_deref() == Some("streaming");
        let last_error = if healthy {
            None
        } else {
            receiver_error(&log_tail(t, cx, 200).await?)
        };
        state.replication = Some(Replication {
            source_host: s
                .conninfo_host
                .clone()
                .or(s.sender_host.clone())
                .unwrap_or_default(),
            healthy,
            // Without a stream the replica cannot know how far behind it is
            // ("all received WAL replayed" would read as no lag).
            lag_seconds: if healthy { s.lag_seconds } else { None },
            lag_bytes: s.lag_bytes,
            last_error,
        });
    }
    Ok(state)
}

/// The WAL receiver's last complaint in the server log, without the line
/// prefix.
fn receiver_error(log: &str) -> Option<String> {
    const ABOUT_STREAMING: [&str; 5] = [
        "primary server",
        "WAL stream",
        "walreceiver",
        "timeline",
        "replication slot",
    ];
    log.lines()
        .rev()
        .filter_map(|l| l.split_once("FATAL:").map(|(_, m)| m.trim()))
        .find(|m| ABOUT_STREAMING.iter().any(|w| m.contains(w)))
        .map(str::to_string)
}

pub async fn start_replication(t: &dyn Transport, cx: &NodeCx<'_>, from: &PeerRef) -> Result<()> {
    let path = main_config(cx);
    let text = t.read_file(&path).await?.unwrap_or_default();
    let conf = parse_conf(&String::from_utf8_lossy(&text));
    let conninfo = conf
        .settings
        .get("primary_conninfo")
        .map(|s| s.value.clone())
        .unwrap_or_default();
    let host = parse_conninfo(&conninfo).remove("host").unwrap_or_default();
    if host != from.host {
        return Err(other(
            t,
            format!(
                "{path} has primary_conninfo host={host:?}, not {}: write the standby's rendered configuration first",
                from.host
            ),
        ));
    }
    if probe(t, cx).await?.pid.is_some() {
        start(t, cx).await?; // waits for a server still starting
        let Some(now) = status(t, cx).await? else {
            return Err(other(t, format!("{} is not answering", engine(cx))));
        };
        if !now.in_recovery {
            return Err(other(
                t,
                format!(
                    "{} runs as a primary; it cannot follow {} without a rewind or a new seed",
                    engine(cx),
                    from.host
                ),
            ));
        }
        if now.streaming_from(&from.host) {
            return Ok(());
        }
        // primary_conninfo is reloadable (PostgreSQL 13+): the WAL receiver
        // restarts with the new value.
        psql_ok(
            t,
            cx,
            "SELECT pg_catalog.pg_reload_conf()",
            "reloading the configuration",
        )
        .await?;
    } else {
        ensure_standby_signal(t, cx).await?;
        start(t, cx).await?;
    }
    let streaming = poll(STREAM_TIMEOUT, || async {
        Ok(status(t, cx).await?.filter(|s| s.streaming_from(&from.host)))
    })
    .await?;
    if streaming.is_some() {
        return Ok(());
    }
    Err(DriverError::NotHealthy {
        host: t.host().to_string(),
        engine: format!("{} replication from {}", engine(cx), from.host),
        seconds: STREAM_TIMEOUT.as_secs(),
        log: log_tail(t, cx, 30).await?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(fields: &[Option<&str>]) -> Rows {
        vec![fields.iter().map(|f| f.map(str::to_string)).collect()]
    }

    #[test]
    fn standby_status() {
        let s = parse_status(&row(&[
            Some("15.20 (Debian 15.20-0+deb12u1)"),
            Some("t"),
            Some("host=10.231.0.11 port=5432 user=dbfleet_repl passfile=/var/lib/postgresql/.pgpass"),
            Some("streaming"),
            Some("10.231.0.11"),
            Some("0"),
            Some("0.25"),
        ]))
        .unwrap();
        assert!(s.in_recovery);
        assert_eq!(s.conninfo_host.as_deref(), Some("10.231.0.11"));
        assert!(s.streaming_from("10.231.0.11"));
        assert!(!s.streaming_from("10.231.0.12"));
        assert_eq!(s.lag_bytes, Some(0));
        assert_eq!(s.lag_seconds, Some(0.25));
    }

    #[test]
    fn primary_status() {
        let s = parse_status(&row(&[
            Some("15.20"),
            Some("f"),
            Some(""),
            None,
            None,
            None,
            None,
        ]))
        .unwrap();
        assert!(!s.in_recovery);
        assert_eq!(s.conninfo_host, None);
        assert_eq!((s.lag_bytes, s.lag_seconds), (None, None));
        assert_eq!(parse_status(&Rows::new()), None);
    }

    #[test]
    fn replay_ahead_of_receive_is_no_lag() {
        let s = parse_status(&row(&[
            Some("15"),
            Some("t"),
            Some(""),
            None,
            None,
            Some("-4096"),
            None,
        ]))
        .unwrap();
        assert_eq!(s.lag_bytes, Some(0));
    }

    #[test]
    fn receiver_errors_from_the_log() {
        let log = "2026-11-22 05:00:00.000 UTC [10] LOG:  started streaming WAL\n\
                   2026-11-22 05:00:01.000 UTC [11] app@db FATAL:  role \"x\" does not exist\n\
                   2026-11-22 05:00:02.000 UTC [12] FATAL:  could not start WAL streaming: ERROR:  replication slot \"pg2\" does not exist\n\
                   2026-11-22 05:00:03.000 UTC [13] app@db FATAL:  password authentication failed for user \"app\"\n";
        assert_eq!(
            receiver_error(log).as_deref(),
            Some("could not start WAL streaming: ERROR:  replication slot \"pg2\" does not exist")
        );
        assert_eq!(receiver_error("LOG:  ready\n"), None);
    }
}
