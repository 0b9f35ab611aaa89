//! Secrets, data directory, start and stop of one node.

use std::time::Duration;

use tokio::time::{sleep, Instant};

use super::client::{Cli, Ping, Reply, Target};
use super::conf::secrets_content;
use super::host::{
    alive, config_path, empty_data_dir, ensure_dir, host, info, live_pid, log_tail, marker_path, ping,
    terminate, test,
};
use super::info::{full_sync_problem, version_from_banner, version_from_info};
use crate::engine::contract::Result;
use crate::engine::{DriverError, NodeCx};
use crate::transport::{Command, Transport};

/// How long a started server may take to answer `PING` with `PONG`
/// (loading a large snapshot counts).
pub const START_TIMEOUT: Duration = Duration::from_secs(120);
/// A server that neither answers nor has a live process this long after
/// its start has failed; no need to wait out [`START_TIMEOUT`].
const START_GRACE: Duration = Duration::from_secs(5);
/// How long a clean shutdown (with its final save) may take.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(120);
pub const POLL: Duration = Duration::from_millis(250);

/// Data directories are private to the service account.
const DATA_DIR_MODE: u32 = 0o750;
const RUN_DIR_MODE: u32 = 0o755;
const LOG_DIR_MODE: u32 = 0o750;
const SECRETS_MODE: u32 = 0o640;

pub async fn write_secrets(t: &dyn Transport, cx: &NodeCx<'_>) -> Result<()> {
    let paths = cx.paths;
    let Some(path) = &paths.secrets_file else {
        return Err(DriverError::Other {
            host: host(t),
            message: "the engine layout names no secrets file".into(),
        });
    };
    let content = secrets_content(&cx.secrets.admin_password).map_err(|problem| DriverError::Other {
        host: host(t),
        message: format!("cannot write {path}: {problem}"),
    })?;
    // Unchanged secrets are not rewritten: a second apply touches nothing.
    if t.read_file(path).await?.as_deref() == Some(content.as_bytes()) {
        return Ok(());
    }
    ensure_dir(t, &paths.config_dir, paths, 0o750, false).await?;
    t.write_file(path, content.as_bytes(), SECRETS_MODE, &paths.user, &paths.group)
        .await?;
    Ok(())
}

/// Redis has no initdb: an empty (or existing) data directory owned by the
/// service account is ready. The marker is written last.
pub async fn init(t: &dyn Transport, cx: &NodeCx<'_>) -> Result<()> {
    let paths = cx.paths;
    let marker = marker_path(paths);
    if test(t, "-f", &marker).await? {
        return Ok(());
    }
    ensure_dir(t, &paths.data_dir, paths, DATA_DIR_MODE, true).await?;
    write_marker(t, cx, &marker, "init").await
}

async fn write_marker(t: &dyn Transport, cx: &NodeCx<'_>, marker: &str, how: &str) -> Result<()> {
    let text = format!(
        "{how} by dbfleet for node {} of cluster {}\n",
        cx.node.name, cx.cluster.name
    );
    t.write_file(marker, text.as_bytes(), 0o640, &cx.paths.user, &cx.paths.group)
        .await?;
    Ok(())
}

/// For the Redis family the engine's own full sync is the copy: the
/// replica's rendered config has `replicaof`, so it syncs when it starts.
/// Here: refuse a pairing that could never full-sync, stop the replica,
/// empty its data directory (an old snapshot would be served until the
/// sync replaces it) and write the marker.
pub async fn seed(
    source: &dyn Transport,
    source_cx: &NodeCx<'_>,
    replica: &dyn Transport,
    cx: &NodeCx<'_>,
) -> Result<()> {
    check_full_sync(source, source_cx, replica, cx).await?;
    stop(replica, cx).await?;
    let paths = cx.paths;
    empty_data_dir(replica, paths).await?;
    ensure_dir(replica, &paths.data_dir, paths, DATA_DIR_MODE, true).await?;
    write_marker(
        replica,
        cx,
        &marker_path(paths),
        "seeded (the engine's full sync fills it)",
    )
    .await
}

/// Refuses when the replica's server binary cannot load what the running
/// source sends (see `info::full_sync_problem`).
async fn check_full_sync(
    source: &dyn Transport,
    source_cx: &NodeCx<'_>,
    replica: &dyn Transport,
    cx: &NodeCx<'_>,
) -> Result<()> {
    let Some(source_info) = info(source, source_cx, Target::Local, Some("server"), None).await? else {
        return Err(DriverError::Other {
            host: host(source),
            message: format!(
                "{} does not answer INFO, so it cannot be a replica's source",
                source_cx.cluster.engine
            ),
        });
    };
    let banner = replica
        .run(&Command::new(&cx.paths.server_binary).arg("--version"))
        .await?;
    let theirs = version_from_info(&source_info, source_cx.cluster.engine);
    let ours = version_from_banner(&banner.stdout_str());
    if let (Some(theirs), Some(ours)) = (theirs, ours) {
        if let Some(problem) = full_sync_problem(&ours, &theirs) {
            return Err(DriverError::Other {
                host: host(replica),
                message: format!("refusing to seed from {}: {problem}", source.host()),
            });
        }
    }
    Ok(())
}

pub async fn start(t: &dyn Transport, cx: &NodeCx<'_>) -> Result<()> {
    let paths = cx.paths;
    match ping(t, cx).await? {
        Ping::Pong => return Ok(()),
        Ping::Down(_) => {}
        // Up already; wait until it serves.
        Ping::Busy(_) | Ping::AuthRefused(_) => return wait_ready(t, cx).await,
    }
    if !test(t, "-x", &paths.server_binary).await? {
        return Err(DriverError::NotInstalled {
            host: host(t),
            program: paths.server_binary.clone(),
        });
    }
    ensure_dir(t, &paths.run_dir, paths, RUN_DIR_MODE, true).await?;
    ensure_dir(t, &paths.log_dir, paths, LOG_DIR_MODE, false).await?;
    let cmd = if cx.service.is_systemd() {
        Command::new("systemctl").args(["start", cx.cluster.engine.server_name()])
    } else {
        // `daemonize yes` in the config: the command returns once the
        // server has forked, or at once with a config error on stderr.
        Command::new(&paths.server_binary)
            .arg(config_path(t, paths)?)
            .run_as(&paths.user)
            .cwd("/")
    };
    let out = t.run(&cmd.timeout(START_TIMEOUT)).await?;
    if !out.success() {
        let log = format!("{}{}", out.stderr_str(), log_tail(t, paths).await);
        return Err(not_healthy(t, cx, Duration::ZERO, log));
    }
    wait_ready(t, cx).await
}

/// Polls `PING` until `PONG`; a refused password is an error at once.
async fn wait_ready(t: &dyn Transport, cx: &NodeCx<'_>) -> Result<()> {
    let started = Instant::now();
    loop {
        match ping(t, cx).await? {
            Ping::Pong => return Ok(()),
            Ping::AuthRefused(reply) => {
                return Err(DriverError::Other {
                    host: host(t),
                    message: format!(
                        "{} answers but refuses the cluster's admin password: {}",
                        cx.cluster.engine,
                        reply.trim()
                    ),
                })
            }
            Ping::Down(_) if started.elapsed() > START_GRACE && live_pid(t, cx.paths).await?.is_none() => {
                let log = log_tail(t, cx.paths).await;
                return Err(not_healthy(t, cx, started.elapsed(), log));
            }
            Ping::Busy(_) | Ping::Down(_) => {}
        }
        if started.elapsed() > START_TIMEOUT {
            let log = log_tail(t, cx.paths).await;
            return Err(not_healthy(t, cx, started.elapsed(), log));
        }
        sleep(POLL).await;
    }
}

fn not_healthy(t: &dyn Transport, cx: &NodeCx<'_>, waited: Duration, log: String) -> DriverError {
    DriverError::NotHealthy {
        host: host(t),
        engine: cx.cluster.engine.to_string(),
        seconds: waited.as_secs(),
        log,
    }
}

/// `SHUTDOWN SAVE` through the client (systemd: `systemctl stop`), then
/// waits for the process to be gone. A server that does not take commands
/// (loading, password refused) gets SIGTERM, which also shuts it down
/// cleanly.
pub async fn stop(t: &dyn Transport, cx: &NodeCx<'_>) -> Result<()> {
    let paths = cx.paths;
    let state = ping(t, cx).await?;
    let pid = match &state {
        Ping::Pong => {
            let from_info = info(t, cx, Target::Local, Some("server"), None)
                .await?
                .and_then(|i| i.get("process_id").and_then(|p| p.parse().ok()));
            match from_info {
                Some(pid) => Some(pid),
                None => live_pid(t, paths).await?,
            }
        }
        _ => live_pid(t, paths).await?,
    };
    let Some(pid) = pid else {
        return Ok(());
    };
    if cx.service.is_systemd() {
        t.run_checked(
            &Command::new("systemctl")
                .args(["stop", cx.cluster.engine.server_name()])
                .timeout(STOP_TIMEOUT),
        )
        .await?;
    } else if state == Ping::Pong {
        let h = host(t);
        let cli = Cli::new(cx, &h);
        let reply = cli
            .call(t, Target::Local, &["SHUTDOWN", "SAVE"], Some(STOP_TIMEOUT))
            .await?;
        if let Reply::Text(text) = reply {
            if !text.trim().is_empty() {
                return Err(DriverError::Other {
                    host: h,
                    message: format!("{} refused SHUTDOWN SAVE: {}", cx.cluster.engine, text.trim()),
                });
            }
        }
    } else {
        terminate(t, pid).await?;
    }
    let started = Instant::now();
    while alive(t, pid).await? {
        if started.elapsed() > STOP_TIMEOUT {
            return Err(DriverError::Other {
                host: host(t),
                message: format!(
                    "{} (pid {pid}) still runs {}s after it was asked to shut down",
                    cx.cluster.engine,
                    STOP_TIMEOUT.as_secs()
                ),
            });
        }
        sleep(POLL).await;
    }
    Ok(())
}
