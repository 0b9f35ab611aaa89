//! A node's life: initdb, start, stop, the secrets file, and seeding a
//! standby with pg_basebackup.
//!
//! Start and stop, direct mode: `pg_ctl start -D <config_dir>` (PostgreSQL
//! reads `postgresql.conf` there and finds `data_directory` in it, as
//! Debian's layout intends; pg_ctl asks `postgres -C data_directory`, so a
//! broken file fails at once with PostgreSQL's message) and `pg_ctl stop -D
//! <data_dir>` (which needs only `postmaster.pid`, so it works whatever the
//! file on disk says). Systemd mode: Debian's `postgresql@<v>-main` unit.

use std::time::Duration;

use crate::engine::contract::Result;
use crate::engine::{DriverError, NodeCx};
use crate::render::{slot_name, REPLICATION_USER};
use crate::transport::{Command, Transport, PREV_SUFFIX};

use super::host::{
    engine, ensure_dir, ensure_runtime_dirs, log_tail, marker_path, other, poll, probe, psql, psql_ok,
    remove_stale_pid_file, require, run_ok, stderr_text, tool, unit, MARKER, STAGING_SUFFIX,
};
use super::sql::{pgpass, slots_script};

/// How long a start may take (crash recovery, a standby reaching a
/// consistent state) before the node is reported unhealthy.
pub const START_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a fast shutdown may take.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(120);
/// Log lines shown when a start fails.
const LOG_LINES: u32 = 30;
/// Files initdb writes into the data directory that this layout keeps in
/// the configuration directory instead: removed so nobody edits a file
/// PostgreSQL does not read.
const UNUSED_CONFIG: [&str; 3] = ["postgresql.conf", "pg_hba.conf", "pg_ident.conf"];

fn parent(path: &str) -> &str {
    path.rsplit_once('/')
        .map(|(p, _)| p)
        .filter(|p| !p.is_empty())
        .unwrap_or("/")
}

/// Writes the `.pgpass`. Also creates the configuration directory: the
/// executor writes the rendered files into it right after this, and on a
/// fresh host (no `pg_createcluster` ever ran) it does not exist.
pub async fn write_secrets(t: &dyn Transport, cx: &NodeCx<'_>) -> Result<()> {
    let p = cx.paths;
    ensure_dir(t, &p.config_dir, &p.user, &p.group, "0755").await?;
    let Some(path) = p.secrets_file.as_deref() else {
        return Ok(());
    };
    let content = pgpass(&cx.secrets.replication_password).map_err(|e| other(t, e.to_string()))?;
    if t.read_file(path).await?.as_deref() == Some(content.as_bytes()) {
        return Ok(());
    }
    ensure_dir(t, parent(path), &p.user, &p.group, "0755").await?;
    t.write_file(path, content.as_bytes(), 0o600, &p.user, &p.group)
        .await?;
    // A secret needs no rollback copy: do not leave the old password behind.
    let prev = format!("{path}{PREV_SUFFIX}");
    run_ok(
        t,
        &Command::new("rm").args(["-f", "--", &prev]),
        "removing the old passfile",
    )
    .await?;
    Ok(())
}

/// `$1` directory: exit 0 when it is missing or empty.
const EMPTY_DIR_SCRIPT: &str = r#"[ ! -e "$1" ] || [ -z "$(ls -A -- "$1")" ]"#;

pub async fn init(t: &dyn Transport, cx: &NodeCx<'_>) -> Result<()> {
    let p = cx.paths;
    let initdb = format!("{}/initdb", p.bin_dir);
    require(t, &initdb).await?;
    let state = probe(t, cx).await?;
    if state.initialised {
        return Ok(());
    }
    if state.pid.is_some() {
        return Err(other(
            t,
            format!(
                "a server is running on {} although dbfleet never initialised it; stop it and move the directory away",
                p.data_dir
            ),
        ));
    }
    let empty = t
        .run(&Command::new("sh").args(["-c", EMPTY_DIR_SCRIPT, "sh", &p.data_dir]))
        .await?;
    if !empty.success() {
        // Never initdb over (or delete) files we did not put there.
        return Err(other(
            t,
            format!(
                "{} holds files but no {MARKER} marker: not initialised by dbfleet (or initdb was \
                 interrupted); move it away or empty it, then apply again",
                p.data_dir
            ),
        ));
    }
    ensure_dir(t, parent(&p.data_dir), &p.user, &p.group, "0755").await?;
    let cmd = tool(cx, "initdb")
        .args(["-D", &p.data_dir])
        .args(["--auth-local=peer", "--auth-host=scram-sha-256"])
        .args(["-E", "UTF8", "--locale=C.UTF-8"])
        .timeout(Duration::from_secs(600));
    run_ok(t, &cmd, "initdb").await?;
    let unused: Vec<String> = UNUSED_CONFIG
        .iter()
        .map(|f| format!("{}/{f}", p.data_dir))
        .collect();
    let rm = Command::new("rm").args(["-f", "--"]).args(unused);
    run_ok(t, &rm, "removing initdb's configuration files").await?;
    write_marker(t, cx, &p.data_dir).await
}

async fn write_marker(t: &dyn Transport, cx: &NodeCx<'_>, dir: &str) -> Result<()> {
    let content = format!("node={}\n", cx.node.name);
    let path = format!("{dir}/{MARKER}");
    t.write_file(&path, content.as_bytes(), 0o600, &cx.paths.user, &cx.paths.group)
        .await?;
    Ok(())
}

pub async fn start(t: &dyn Transport, cx: &NodeCx<'_>) -> Result<()> {
    let p = cx.paths;
    require(t, &p.server_binary).await?;
    let state = probe(t, cx).await?;
    if !state.initialised {
        return Err(other(
            t,
            format!(
                "cannot start: {} is not initialised ({} is missing)",
                p.data_dir,
                marker_path(cx)
            ),
        ));
    }
    if state.pid.is_none() {
        if state.stale_pid_file {
            remove_stale_pid_file(t, cx).await?;
        }
        ensure_runtime_dirs(t, cx).await?;
        let secs = START_TIMEOUT.as_secs().to_string();
        let (cmd, what) = if cx.service.is_systemd() {
            (
                Command::new("systemctl").args(["start", &unit(cx)]),
                "systemctl start",
            )
        } else {
            let cmd = tool(cx, "pg_ctl")
                .args(["start", "-D", &p.config_dir, "-l", &p.log_file, "-w", "-t", &secs])
                .timeout(START_TIMEOUT + Duration::from_secs(30));
            (cmd, "pg_ctl start")
        };
        let out = t.run(&cmd).await?;
        if !out.success() {
            return Err(not_healthy(t, cx, Some(format!("{what}: {}", stderr_text(&out)))).await);
        }
    }
    wait_ready(t, cx, START_TIMEOUT).await
}

/// Waits until psql gets an answer (a server already starting, or one
/// that pg_ctl reported started).
async fn wait_ready(t: &dyn Transport, cx: &NodeCx<'_>, limit: Duration) -> Result<()> {
    let ready = poll(limit, || async { Ok(psql(t, cx, "SELECT 1").await?.ok()) }).await?;
    match ready {
        Some(_) => Ok(()),
        None => Err(not_healthy(t, cx, None).await),
    }
}

/// [`DriverError::NotHealthy`] with the log tail and, when given, what the
/// starting command itself said.
async fn not_healthy(t: &dyn Transport, cx: &NodeCx<'_>, said: Option<String>) -> DriverError {
    let mut log = log_tail(t, cx, LOG_LINES).await.unwrap_or_default();
    if let Some(said) = said {
        if !said.trim().is_empty() {
            log.push_str(&said);
        }
    }
    DriverError::NotHealthy {
        host: t.host().to_string(),
        engine: engine(cx),
        seconds: START_TIMEOUT.as_secs(),
        log,
    }
}

pub async fn stop(t: &dyn Transport, cx: &NodeCx<'_>) -> Result<()> {
    let p = cx.paths;
    let state = probe(t, cx).await?;
    if state.pid.is_none() {
        if state.stale_pid_file {
            remove_stale_pid_file(t, cx).await?;
        }
        return Ok(());
    }
    if cx.service.is_systemd() {
        run_ok(
            t,
            &Command::new("systemctl").args(["stop", &unit(cx)]),
            "systemctl stop",
        )
        .await?;
        // Started by hand, outside the unit? Then systemd stopped nothing.
        if probe(t, cx).await?.pid.is_none() {
            return Ok(());
        }
    }
    let secs = STOP_TIMEOUT.as_secs().to_string();
    let cmd = tool(cx, "pg_ctl")
        .args(["stop", "-D", &p.data_dir, "-m", "fast", "-w", "-t", &secs])
        .timeout(STOP_TIMEOUT + Duration::from_secs(30));
    run_ok(t, &cmd, "pg_ctl stop").await?;
    if let Some(pid) = probe(t, cx).await?.pid {
        return Err(other(
            t,
            format!("{} (pid {pid}) is still running after pg_ctl stop", engine(cx)),
        ));
    }
    Ok(())
}

/// `$1` staging directory, `$2` data directory: drop the copies of
/// configuration files, then put the complete copy in place.
const SWAP_SCRIPT: &str = r#"set -eu
rm -f -- "$1/postgresql.conf" "$1/pg_hba.conf" "$1/pg_ident.conf"
rm -rf -- "$2"
mv -- "$1" "$2"
"#;

pub async fn seed(
    source: &dyn Transport,
    source_cx: &NodeCx<'_>,
    replica: &dyn Transport,
    cx: &NodeCx<'_>,
) -> Result<()> {
    let p = cx.paths;
    require(replica, &format!("{}/pg_basebackup", p.bin_dir)).await?;
    stop(replica, cx).await?;
    write_secrets(replica, cx).await?;
    // The standby's slot keeps the WAL it needs from the backup's start on.
    let slot = slot_name(&cx.node.name);
    let sql = slots_script([cx.node.name.as_str()]).map_err(|e| other(source, e.to_string()))?;
    psql_ok(
        source,
        source_cx,
        &sql,
        &format!("creating replication slot {slot}"),
    )
    .await?;

    let staging = format!("{}{STAGING_SUFFIX}", p.data_dir);
    run_ok(
        replica,
        &Command::new("rm").args(["-rf", "--", &staging]),
        "removing an old copy",
    )
    .await?;
    ensure_dir(replica, parent(&p.data_dir), &p.user, &p.group, "0755").await?;
    let port = source_cx.port().to_string();
    let mut cmd = tool(cx, "pg_basebackup")
        .args(["-h", &source_cx.node.host, "-p", &port, "-U", REPLICATION_USER])
        .args([
            "-D",
            &staging,
            "-X",
            "stream",
            "-c",
            "fast",
            "-S",
            &slot,
            "--no-password",
        ]);
    if let Some(passfile) = &p.secrets_file {
        cmd = cmd.env("PGPASSFILE", passfile.clone());
    }
    run_ok(
        replica,
        &cmd,
        &format!("pg_basebackup from {}", source_cx.node.host),
    )
    .await?;

    let signal = format!("{staging}/standby.signal");
    replica.write_file(&signal, b"", 0o600, &p.user, &p.group).await?;
    write_marker(replica, cx, &staging).await?;
    let swap = Command::new("sh").args(["-c", SWAP_SCRIPT, "sh", &staging, &p.data_dir]);
    run_ok(replica, &swap, "moving the copy into place").await?;
    Ok(())
}

/// Ensures `standby.signal` in the data directory (as the service account).
pub async fn ensure_standby_signal(t: &dyn Transport, cx: &NodeCx<'_>) -> Result<()> {
    let p = cx.paths;
    let path = format!("{}/standby.signal", p.data_dir);
    if t.read_file(&path).await?.is_some() {
        return Ok(());
    }
    t.write_file(&path, b"", 0o600, &p.user, &p.group).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents() {
        assert_eq!(parent("/var/lib/postgresql/15/main"), "/var/lib/postgresql/15");
        assert_eq!(parent("/var/lib/postgresql/.pgpass"), "/var/lib/postgresql");
        assert_eq!(parent("/x"), "/");
    }
}
