//! What one node runs, as its own client reports it.

use super::client::{Cli, Ping, Target};
use super::host::{info, live_pid, marker_path, ping, test, test_command};
use super::info::{links, offset_lag, replication, role, version_from_info};
use super::replication::PEER_TIMEOUT;
use crate::engine::contract::Result;
use crate::engine::{EngineState, NodeCx, ObservedRole};
use crate::transport::{Command, Transport};

/// Installed: the server binary is executable. Initialised: the marker.
/// Running: the server answers `INFO` on its socket or, failing that,
/// `PING` (even when it only says it is loading, or refuses the password:
/// a second server must not be started then). Version, pid, role and
/// replication come from `INFO`;
/// a replica's byte lag is its primary's `master_repl_offset` (asked from
/// the replica's host, with a short timeout) minus its own
/// `slave_repl_offset`, unknown when the primary does not answer.
pub async fn observe(t: &dyn Transport, cx: &NodeCx<'_>) -> Result<EngineState> {
    let paths = cx.paths;
    let mut state = EngineState {
        installed: test(t, "-x", &paths.server_binary).await?,
        initialised: test(t, "-f", &marker_path(paths)).await?,
        ..EngineState::default()
    };
    // A server that answers INFO runs: one call in the usual case.
    let all = match info(t, cx, Target::Local, None, None).await {
        Ok(all) => all,
        // Without a client on the host nothing more can be known.
        Err(crate::engine::DriverError::NotInstalled { .. }) => return Ok(state),
        Err(e) => return Err(e),
    };
    let Some(all) = all else {
        // Down, loading or refusing our password: PING tells which, and
        // then only the pid file is left.
        let answer = ping(t, cx).await?;
        state.running = answer.answers();
        if matches!(answer, Ping::Busy(_) | Ping::AuthRefused(_)) {
            state.pid = live_pid(t, paths).await?;
        }
        return Ok(state);
    };
    state.running = true;
    state.version = version_from_info(&all, cx.cluster.engine).map(|v| v.version);
    state.pid = all.get("process_id").and_then(|p| p.parse().ok());
    state.role = role(&all);
    let links = links(&all);
    state.replication = replication(&links);
    if let (Some(ObservedRole::Replica), Some(r), [link]) =
        (state.role, state.replication.as_mut(), links.as_slice())
    {
        if link.up {
            let port = link.port.unwrap_or_else(|| cx.port());
            let primary = Target::Remote {
                host: &link.host,
                port,
            };
            // A primary that cannot be asked leaves the lag unknown.
            if let Ok(Some(theirs)) = info(t, cx, primary, Some("replication"), Some(PEER_TIMEOUT)).await {
                r.lag_bytes = offset_lag(&theirs, &all);
            }
        }
    }
    Ok(state)
}

/// What [`observe`] runs on a healthy node, built the same way: the
/// binary and marker tests, `INFO` on the socket, and on a
/// replica its primary's `INFO replication` for the lag.
pub fn observe_commands(cx: &NodeCx<'_>) -> Vec<Command> {
    let paths = cx.paths;
    let cli = Cli::new(cx, &cx.node.host);
    let mut cmds = vec![
        test_command("-x", &paths.server_binary),
        test_command("-f", &marker_path(paths)),
        cli.command(Target::Local, &["INFO"]),
    ];
    if let Some(primary) = &cx.node.primary {
        let target = Target::Remote {
            host: &primary.host,
            port: cx.port(),
        };
        cmds.push(
            cli.command(target, &["INFO", "replication"])
                .timeout(PEER_TIMEOUT),
        );
    }
    cmds
}
