//! Replication and live configuration changes on a running node.

use std::time::Duration;

use tokio::time::{sleep, Instant};

use super::client::{judge_config_set, Cli, Reply, SetOutcome, Target};
use super::conf::{config_set_value, split_args};
use super::host::{host, info, log_tail};
use super::info::{full_sync_problem, link_to, links, version_from_info, Info};
use super::lifecycle::POLL;
use crate::engine::contract::Result;
use crate::engine::{ConfigChange, DriverError, LiveOutcome, NodeCx};
use crate::layout::PeerRef;
use crate::transport::Transport;

/// How long a replica may wait for its link to come up without any
/// progress of the full sync.
pub const SYNC_STALL_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a question to another node may take (e.g. its offset, for the
/// lag); a node that does not answer in time leaves the figure unknown.
pub const PEER_TIMEOUT: Duration = Duration::from_secs(5);

fn other(t: &dyn Transport, message: String) -> DriverError {
    DriverError::Other {
        host: host(t),
        message,
    }
}

async fn local_info(t: &dyn Transport, cx: &NodeCx<'_>, section: &str) -> Result<Info> {
    info(t, cx, Target::Local, Some(section), None)
        .await?
        .ok_or_else(|| other(t, format!("{} does not answer INFO {section}", cx.cluster.engine)))
}

/// Makes the node replicate from `from` (unless it already does) and waits
/// until the link is up with the full sync done.
pub async fn start_replication(t: &dyn Transport, cx: &NodeCx<'_>, from: &PeerRef) -> Result<()> {
    let port = cx.port();
    let current = local_info(t, cx, "replication").await?;
    if link_to(&links(&current), &from.host, port).is_none() {
        replicaof(t, cx, &from.host, port).await?;
    }
    wait_link_up(t, cx, &from.host, port).await
}

/// `REPLICAOF host port`, after checking that this node could full-sync
/// from that one.
async fn replicaof(t: &dyn Transport, cx: &NodeCx<'_>, source: &str, port: u16) -> Result<()> {
    check_pairing(t, cx, source, port).await?;
    let h = host(t);
    let cli = Cli::new(cx, &h);
    let reply = cli
        .call(t, Target::Local, &["REPLICAOF", source, &port.to_string()], None)
        .await?;
    expect_ok(t, cx, &format!("REPLICAOF {source} {port}"), reply)
}

/// Refuses a source whose snapshots this node cannot load (a Redis 7.0
/// node under a Valkey primary). A source that does not answer is left to
/// the engine, which keeps retrying.
async fn check_pairing(t: &dyn Transport, cx: &NodeCx<'_>, source: &str, port: u16) -> Result<()> {
    let engine = cx.cluster.engine;
    let ours = local_info(t, cx, "server").await?;
    let remote = Target::Remote { host: source, port };
    let theirs = info(t, cx, remote, Some("server"), Some(PEER_TIMEOUT)).await?;
    let (Some(ours), Some(theirs)) = (
        version_from_info(&ours, engine),
        theirs.and_then(|i| version_from_info(&i, engine)),
    ) else {
        return Ok(());
    };
    match full_sync_problem(&ours, &theirs) {
        Some(problem) => Err(other(
            t,
            format!("refusing to replicate from {source}:{port}: {problem}"),
        )),
        None => Ok(()),
    }
}

fn expect_ok(t: &dyn Transport, cx: &NodeCx<'_>, what: &str, reply: Reply) -> Result<()> {
    match reply {
        Reply::Text(text) if text.trim_start().starts_with("OK") => Ok(()),
        Reply::Text(text) => Err(DriverError::Rejected {
            host: host(t),
            engine: cx.cluster.engine.to_string(),
            what: what.to_string(),
            message: text.trim().to_string(),
        }),
        Reply::NoServer(why) => Err(other(t, format!("{what}: {why}"))),
    }
}

/// Polls `INFO replication` until the link to `source` is up and no full
/// sync is running. Gives up after [`SYNC_STALL_TIMEOUT`] without progress
/// (a full sync that keeps reading bytes keeps the wait going).
async fn wait_link_up(t: &dyn Transport, cx: &NodeCx<'_>, source: &str, port: u16) -> Result<()> {
    let mut last_progress = Instant::now();
    let mut last_read = None;
    loop {
        let current = local_info(t, cx, "replication").await?;
        let links = links(&current);
        match link_to(&links, source, port) {
            Some(link) if link.up && !link.syncing => return Ok(()),
            Some(link) if link.sync_read_bytes.is_some() && link.sync_read_bytes != last_read => {
                last_read = link.sync_read_bytes;
                last_progress = Instant::now();
            }
            Some(_) => {}
            None => return Err(other(t, format!("does not replicate from {source}:{port}"))),
        }
        if last_progress.elapsed() > SYNC_STALL_TIMEOUT {
            return Err(DriverError::NotHealthy {
                host: host(t),
                engine: cx.cluster.engine.to_string(),
                seconds: last_progress.elapsed().as_secs(),
                log: format!(
                    "(replication link to {source}:{port} not up)\n{}",
                    log_tail(t, cx.paths).await
                ),
            });
        }
        sleep(POLL).await;
    }
}

/// Keys that are commands, not `CONFIG SET` parameters.
fn is_replicaof(key: &str) -> bool {
    key == "replicaof" || key == "slaveof"
}

/// Applies `changes` with `CONFIG SET`, one key at a time. A value the
/// server rejects undoes the keys set before it (back to what `CONFIG GET`
/// said) and is `Rejected` with the server's message. Keys that cannot
/// change at runtime, and removed keys (whose default only a restart
/// restores), need a restart. A changed `replicaof` is `REPLICAOF host
/// port`, a removed one `REPLICAOF NO ONE`; several (KeyDB multi-master)
/// need a restart.
pub async fn apply_live(t: &dyn Transport, cx: &NodeCx<'_>, changes: &[ConfigChange]) -> Result<LiveOutcome> {
    let h = host(t);
    let cli = Cli::new(cx, &h);
    let mut restart = Vec::new();
    let mut applied: Vec<(String, String)> = Vec::new();
    let mut repoint: Option<Option<(String, u16)>> = None;
    for change in changes {
        let key = change.key.to_ascii_lowercase();
        let Some(raw) = &change.value else {
            if is_replicaof(&key) {
                repoint = Some(None);
            } else {
                restart.push(change.key.clone());
            }
            continue;
        };
        if is_replicaof(&key) {
            match split_args(raw).as_deref() {
                Some([source, port]) => match port.parse() {
                    Ok(port) => repoint = Some(Some((source.clone(), port))),
                    Err(_) => restart.push(change.key.clone()),
                },
                _ => restart.push(change.key.clone()),
            }
            continue;
        }
        let value = config_set_value(raw);
        let old = config_get(t, &cli, &key).await?;
        let reply = cli
            .call(t, Target::Local, &["CONFIG", "SET", &key, &value], None)
            .await?;
        let outcome = match reply {
            Reply::Text(text) => judge_config_set(&text),
            Reply::NoServer(why) => SetOutcome::Failed(why),
        };
        match outcome {
            SetOutcome::Applied => {
                if let Some(old) = old {
                    applied.push((key, old));
                }
            }
            SetOutcome::NeedsRestart => restart.push(change.key.clone()),
            SetOutcome::Rejected(message) => {
                undo(t, &cli, &applied).await;
                return Err(DriverError::Rejected {
                    host: h.clone(),
                    engine: cx.cluster.engine.to_string(),
                    what: format!("{} {raw}", change.key),
                    message,
                });
            }
            SetOutcome::Failed(message) => {
                undo(t, &cli, &applied).await;
                return Err(other(t, format!("CONFIG SET {key}: {message}")));
            }
        }
    }
    match repoint {
        Some(Some((source, port))) => replicaof(t, cx, &source, port).await?,
        Some(None) => {
            let reply = cli
                .call(t, Target::Local, &["REPLICAOF", "NO", "ONE"], None)
                .await?;
            expect_ok(t, cx, "REPLICAOF NO ONE", reply)?;
        }
        None => {}
    }
    Ok(if restart.is_empty() {
        LiveOutcome::Applied
    } else {
        LiveOutcome::NeedsRestart(restart)
    })
}

/// The running value of `key`, or `None` when the server has no such
/// parameter (or does not say).
async fn config_get(t: &dyn Transport, cli: &Cli<'_>, key: &str) -> Result<Option<String>> {
    let reply = cli.call(t, Target::Local, &["CONFIG", "GET", key], None).await?;
    let Reply::Text(text) = reply else {
        return Ok(None);
    };
    // Raw output: the name on one line, the value on the next.
    let mut lines = text.lines();
    Ok(match (lines.next(), lines.next()) {
        (Some(name), Some(value)) if name.eq_ignore_ascii_case(key) => Some(value.to_string()),
        _ => None,
    })
}

/// Puts back the values of keys already set, newest first. Best effort:
/// the change is failing anyway, and the executor restores the file.
async fn undo(t: &dyn Transport, cli: &Cli<'_>, applied: &[(String, String)]) {
    for (key, old) in applied.iter().rev() {
        if let Err(e) = cli
            .call(t, Target::Local, &["CONFIG", "SET", key, old], None)
            .await
        {
            tracing::warn!(host = t.host(), key, error = %e, "could not restore a setting");
        }
    }
}
