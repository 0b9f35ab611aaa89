//! A planned switchover, Redis family: the primary fenced by
//! `min-replicas-to-write` set beyond its replica count (every write is then
//! refused with NOREPLICAS before it runs, on Redis, Valkey and KeyDB alike;
//! unlike CLIENT PAUSE it does not expire, so a dbfleet killed halfway
//! leaves no primary that takes writes behind the new one's back), its
//! replication offset read, the new primary waited for until its offset
//! reaches it, `REPLICAOF NO ONE` on it, and `REPLICAOF` on the others. The
//! old primary, once a replica, gets its configured value back.

use std::time::Duration;

use tokio::time::{sleep, Instant};

use super::client::{Cli, Reply, Target};
use super::host::host;
use super::lifecycle::POLL;
use crate::engine::contract::Result;
use crate::engine::{DriverError, NodeCx};
use crate::layout::PeerRef;
use crate::transport::Transport;

async fn call(t: &dyn Transport, cx: &NodeCx<'_>, args: &[&str]) -> Result<String> {
    let h = host(t);
    let reply = Cli::new(cx, &h).call(t, Target::Local, args, None).await?;
    match reply {
        Reply::Text(text) if !text.trim_start().starts_with("ERR") && !text.contains("(error)") => {
            Ok(text.trim().to_string())
        }
        Reply::Text(text) => Err(DriverError::Rejected {
            host: h,
            engine: cx.cluster.engine.to_string(),
            what: args.join(" "),
            message: text.trim().to_string(),
        }),
        Reply::NoServer(why) => Err(DriverError::Other {
            host: h,
            message: format!("{}: {why}", args.join(" ")),
        }),
    }
}

async fn replication(t: &dyn Transport, cx: &NodeCx<'_>) -> Result<super::info::Info> {
    super::host::info(t, cx, Target::Local, Some("replication"), None)
        .await?
        .ok_or_else(|| DriverError::Other {
            host: host(t),
            message: format!("{} does not answer INFO replication", cx.cluster.engine),
        })
}

/// More replicas than any cluster has: no write can be acknowledged.
const FENCED: &str = "100000";
const KEY: &str = "min-replicas-to-write";

/// See [`crate::engine::Driver::fence`].
pub async fn fence(t: &dyn Transport, cx: &NodeCx<'_>) -> Result<()> {
    call(t, cx, &["CONFIG", "SET", KEY, FENCED]).await.map(drop)
}

/// See [`crate::engine::Driver::unfence`]: the value of the node's
/// configuration file (0 when it sets none).
pub async fn unfence(t: &dyn Transport, cx: &NodeCx<'_>) -> Result<()> {
    let value = configured(t, cx).await?;
    call(t, cx, &["CONFIG", "SET", KEY, &value]).await.map(drop)
}

/// `min-replicas-to-write` (or its old name) as the main config file sets it.
async fn configured(t: &dyn Transport, cx: &NodeCx<'_>) -> Result<String> {
    let Some(main) = cx.paths.config_files.first() else {
        return Ok("0".into());
    };
    let text = t.read_file(&main.path).await?.unwrap_or_default();
    Ok(String::from_utf8_lossy(&text)
        .lines()
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            let key = words.next()?;
            (key == KEY || key == "min-slaves-to-write").then(|| words.next().map(str::to_string))?
        })
        .next_back()
        .unwrap_or_else(|| "0".into()))
}

/// See [`crate::engine::Driver::write_position`]: `master_repl_offset`.
pub async fn write_position(t: &dyn Transport, cx: &NodeCx<'_>) -> Result<String> {
    let info = replication(t, cx).await?;
    info.get("master_repl_offset")
        .cloned()
        .ok_or_else(|| DriverError::Other {
            host: host(t),
            message: "INFO replication has no master_repl_offset".into(),
        })
}

/// See [`crate::engine::Driver::wait_caught_up`]: this replica's offset
/// (`slave_repl_offset`, `master_repl_offset` once promoted) reaches it.
pub async fn wait_caught_up(
    t: &dyn Transport,
    cx: &NodeCx<'_>,
    position: &str,
    timeout: Duration,
) -> Result<()> {
    let want: u64 = position.parse().map_err(|_| DriverError::Other {
        host: host(t),
        message: format!("`{position}` is not a replication offset"),
    })?;
    let started = Instant::now();
    loop {
        let info = replication(t, cx).await?;
        let have = info
            .get("slave_repl_offset")
            .or_else(|| info.get("master_repl_offset"))
            .and_then(|o| o.parse::<u64>().ok())
            .unwrap_or(0);
        if have >= want {
            return Ok(());
        }
        if started.elapsed() >= timeout {
            return Err(DriverError::Other {
                host: host(t),
                message: format!(
                    "replication offset {have} has not reached {want} after {}s",
                    started.elapsed().as_secs()
                ),
            });
        }
        sleep(POLL.min(Duration::from_millis(100))).await;
    }
}

/// See [`crate::engine::Driver::promote`].
pub async fn promote(t: &dyn Transport, cx: &NodeCx<'_>) -> Result<()> {
    let info = replication(t, cx).await?;
    if info.get("role").map(String::as_str) == Some("master") {
        return Ok(());
    }
    call(t, cx, &["REPLICAOF", "NO", "ONE"]).await.map(drop)
}

/// See [`crate::engine::Driver::repoint`]: REPLICAOF (the old primary is
/// a read-only replica from then on), its fence lifted, and the link
/// waited for.
pub async fn repoint(t: &dyn Transport, cx: &NodeCx<'_>, to: &PeerRef) -> Result<()> {
    let info = replication(t, cx).await?;
    let port = cx.port().to_string();
    let follows = info.get("role").map(String::as_str) == Some("slave")
        && info.get("master_host") == Some(&to.host)
        && info.get("master_port") == Some(&port);
    if !follows {
        call(t, cx, &["REPLICAOF", &to.host, &port]).await?;
    }
    unfence(t, cx).await?;
    super::replication::start_replication(t, cx, to).await
}
