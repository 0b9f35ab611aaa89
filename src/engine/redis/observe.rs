//! What one node runs, as its own client reports it.

use super::client::{Ping, Target};
use super::host::{info, live_pid, marker_path, ping, test};
use super::info::{links, offset_lag, replication, role, version_from_info};
use super::replication::PEER_TIMEOUT;
use crate::engine::contract::Result;
use crate::engine::{EngineState, NodeCx, ObservedRole};
use crate::transport::Transport;

/// Installed: the server binary is executable. Initialised: the marker.
/// Running: the server answers `PING` on its socket (even when it only
/// says it is loading, or refuses the password: a second server must not
/// be started then). Version, pid, role and replication come from `INFO`;
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
    let answer = match ping(t, cx).await {
        Ok(answer) => answer,
        // Without a client on the host nothing more can be known.
        Err(crate::engine::DriverError::NotInstalled { .. }) => return Ok(state),
        Err(e) => return Err(e),
    };
    state.running = answer.answers();
    if !state.running {
        return Ok(state);
    }
    let Some(all) = info(t, cx, Target::Local, None, None).await? else {
        // Loading or refusing our password: only the pid file is left.
        if matches!(answer, Ping::Busy(_) | Ping::AuthRefused(_)) {
            state.pid = live_pid(t, paths).await?;
        }
        return Ok(state);
    };
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
