//! Commands the driver runs on a PostgreSQL host: the engine's tools as the
//! service account, psql queries, the on-disk probe, log tails.

use std::time::{Duration, Instant};

use crate::engine::contract::Result;
use crate::engine::{parse_pairs, DriverError, NodeCx};
use crate::transport::{Command, Output, Transport};

use super::sql::{parse_rows, Rows, FIELD_SEP, NULL_MARK, RECORD_SEP};

/// Written last into the data directory once it holds a complete cluster
/// (after initdb, or after a base backup finished); its content names the
/// node. A base backup copies the primary's marker too, which is why seed
/// copies into a staging directory and only then writes the replica's own.
pub const MARKER: &str = ".dbfleet-initialised";

/// Where `pg_basebackup` copies to, beside the data directory; renamed into
/// place once complete, so a half-done copy never sits at `data_dir`.
pub const STAGING_SUFFIX: &str = ".dbfleet-seed";

/// The locale every tool runs with: the one initdb gets, and English
/// messages for the parts of stderr we read.
const LOCALE: &str = "C.UTF-8";

pub fn engine(cx: &NodeCx<'_>) -> String {
    cx.cluster.engine.as_str().to_string()
}

pub fn marker_path(cx: &NodeCx<'_>) -> String {
    format!("{}/{MARKER}", cx.paths.data_dir)
}

pub fn main_config(cx: &NodeCx<'_>) -> String {
    format!("{}/postgresql.conf", cx.paths.config_dir)
}

/// `systemctl`'s name for the cluster, as Debian's postgresql-common has it.
pub fn unit(cx: &NodeCx<'_>) -> String {
    format!("postgresql@{}-main", cx.cluster.version)
}

/// One of PostgreSQL's own programs (`bin_dir`), run as the service
/// account from /tmp (runuser from root's cwd warns), in a fixed locale.
pub fn tool(cx: &NodeCx<'_>, name: &str) -> Command {
    Command::new(format!("{}/{name}", cx.paths.bin_dir))
        .run_as(cx.paths.user.clone())
        .cwd("/tmp")
        .env("LC_ALL", LOCALE)
}

/// Runs `cmd`; a non-zero exit becomes [`DriverError::Other`] saying what
/// failed, with the command's stderr.
pub async fn run_ok(t: &dyn Transport, cmd: &Command, what: &str) -> Result<Output> {
    let out = t.run(cmd).await?;
    if out.success() {
        return Ok(out);
    }
    Err(other(
        t,
        format!("{what} failed ({}): {}", status(&out), stderr_text(&out)),
    ))
}

pub fn other(t: &dyn Transport, message: String) -> DriverError {
    DriverError::Other {
        host: t.host().to_string(),
        message,
    }
}

fn status(out: &Output) -> String {
    match (&out.status, &out.signal) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(sig)) => format!("killed by SIG{sig}"),
        (None, None) => "no exit status".to_string(),
    }
}

/// stderr, trimmed, or stdout when stderr is empty (pg_ctl writes some
/// failures there).
pub fn stderr_text(out: &Output) -> String {
    let err = out.stderr_str();
    let text = if err.trim().is_empty() {
        out.stdout_str()
    } else {
        err
    };
    text.trim().to_string()
}

/// Fails with [`DriverError::NotInstalled`] when `program` is not an
/// executable on the host.
pub async fn require(t: &dyn Transport, program: &str) -> Result<()> {
    let out = t.run(&Command::new("test").args(["-x", program])).await?;
    if out.success() {
        Ok(())
    } else {
        Err(DriverError::NotInstalled {
            host: t.host().to_string(),
            program: program.to_string(),
        })
    }
}

/// Creates a directory (and its parents) with this owner and mode, or sets
/// them on an existing one.
pub async fn ensure_dir(t: &dyn Transport, path: &str, owner: &str, group: &str, mode: &str) -> Result<()> {
    let cmd = Command::new("install").args(["-d", "-o", owner, "-g", group, "-m", mode, "--", path]);
    run_ok(t, &cmd, &format!("creating {path}")).await.map(drop)
}

/// The directories a start needs: the socket directory on /run (a tmpfs,
/// gone after every boot) and the log directory (Debian's modes).
pub async fn ensure_runtime_dirs(t: &dyn Transport, cx: &NodeCx<'_>) -> Result<()> {
    let p = cx.paths;
    ensure_dir(t, &p.run_dir, &p.user, &p.group, "2775").await?;
    ensure_dir(t, &p.log_dir, "root", &p.group, "1775").await
}

/// The last `lines` lines of the server log ("" when there is none).
pub async fn log_tail(t: &dyn Transport, cx: &NodeCx<'_>, lines: u32) -> Result<String> {
    let cmd = Command::new("tail").args(["-n", &lines.to_string(), "--", &cx.paths.log_file]);
    let out = t.run(&cmd).await?;
    Ok(if out.success() {
        out.stdout_str()
    } else {
        String::new()
    })
}

/// What the file system says about the node, in one round trip.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Probe {
    pub installed: bool,
    pub initialised: bool,
    /// The postmaster pid, when `postmaster.pid` names a live process
    /// working in this data directory.
    pub pid: Option<u32>,
    /// `postmaster.pid` exists but names no postmaster of this data
    /// directory (left by a power-off; its pid may belong to anyone now).
    pub stale_pid_file: bool,
    pub standby_signal: bool,
}

/// `$1` server binary, `$2` data directory, `$3` marker name. A pid from
/// `postmaster.pid` counts only if that process's cwd is the data
/// directory (the postmaster chdirs there): PIDs restart at 1 after a
/// reboot in a fresh PID namespace, so "some process has that pid" is not
/// enough.
const PROBE_SCRIPT: &str = r#"bin=$1 data=$2 marker=$3
if [ -x "$bin" ]; then echo installed=1; else echo installed=0; fi
if [ -f "$data/$marker" ]; then echo initialised=1; else echo initialised=0; fi
if [ -f "$data/standby.signal" ]; then echo standby_signal=1; else echo standby_signal=0; fi
if [ -f "$data/postmaster.pid" ]; then
  pid=$(head -n 1 -- "$data/postmaster.pid")
  real=$(readlink -f -- "$data")
  case $pid in
    ''|*[!0-9]*) echo stale=1 ;;
    *) if [ "$(readlink "/proc/$pid/cwd" 2>/dev/null)" = "$real" ]; then echo "pid=$pid"; else echo stale=1; fi ;;
  esac
fi
"#;

pub async fn probe(t: &dyn Transport, cx: &NodeCx<'_>) -> Result<Probe> {
    let out = run_ok(t, &probe_command(cx), "inspecting the data directory").await?;
    Ok(parse_probe(&out.stdout_str()))
}

pub fn probe_command(cx: &NodeCx<'_>) -> Command {
    Command::new("sh").args([
        "-c",
        PROBE_SCRIPT,
        "sh",
        &cx.paths.server_binary,
        &cx.paths.data_dir,
        MARKER,
    ])
}

fn parse_probe(text: &str) -> Probe {
    let pairs = parse_pairs(text, '=');
    let flag = |k: &str| pairs.get(k).map(String::as_str) == Some("1");
    Probe {
        installed: flag("installed"),
        initialised: flag("initialised"),
        pid: pairs.get("pid").and_then(|p| p.parse().ok()),
        stale_pid_file: flag("stale"),
        standby_signal: flag("standby_signal"),
    }
}

/// Removes a stale `postmaster.pid`, so that neither PostgreSQL nor pg_ctl
/// mistakes an unrelated process for a running server.
pub async fn remove_stale_pid_file(t: &dyn Transport, cx: &NodeCx<'_>) -> Result<()> {
    let path = format!("{}/postmaster.pid", cx.paths.data_dir);
    let cmd = Command::new("rm").args(["-f", "--", &path]);
    run_ok(t, &cmd, "removing the stale postmaster.pid")
        .await
        .map(drop)
}

/// Limit for one psql call: every statement we send is quick, but a lock
/// held elsewhere must not hang a whole apply.
const PSQL_TIMEOUT: Duration = Duration::from_secs(60);

/// Why a psql call did not give rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PsqlError {
    /// No server to talk to (psql exit status 2: not running, starting up,
    /// shutting down).
    NoServer(String),
    /// The server refused the SQL; its error text.
    Sql(String),
}

/// Runs `sql` (on stdin: it may carry passwords) with psql as the service
/// account over the local socket (peer authentication), stopping at the
/// first error. `sql` must produce at most one result set.
///
/// Errors: `Err` only when the host could not be reached; psql's own
/// failures come back as `Ok(Err(PsqlError))`.
pub async fn psql(
    t: &dyn Transport,
    cx: &NodeCx<'_>,
    sql: &str,
) -> Result<std::result::Result<Rows, PsqlError>> {
    let out = t.run(&psql_command(cx, sql)).await?;
    if out.success() {
        return Ok(Ok(parse_rows(&out.stdout_str())));
    }
    let message = stderr_text(&out);
    Ok(Err(if out.status == Some(2) {
        PsqlError::NoServer(message)
    } else {
        PsqlError::Sql(message)
    }))
}

/// The `psql` command [`psql`] runs.
pub fn psql_command(cx: &NodeCx<'_>, sql: &str) -> Command {
    let port = cx.port().to_string();
    tool(cx, "psql")
        .args(["-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1"])
        .args(["-h", &cx.paths.socket, "-p", &port, "-d", "postgres"])
        .arg(format!("--field-separator={FIELD_SEP}"))
        .arg(format!("--record-separator={RECORD_SEP}"))
        .arg(format!("--pset=null={NULL_MARK}"))
        .env("PGCONNECT_TIMEOUT", "5")
        .env("PGAPPNAME", "dbfleet")
        .timeout(PSQL_TIMEOUT)
        .stdin(sql.as_bytes())
}

/// Like [`psql`], but an SQL error is [`DriverError::Rejected`] (`what` was
/// refused) and no server is [`DriverError::Other`].
pub async fn psql_ok(t: &dyn Transport, cx: &NodeCx<'_>, sql: &str, what: &str) -> Result<Rows> {
    match psql(t, cx, sql).await? {
        Ok(rows) => Ok(rows),
        Err(PsqlError::Sql(message)) => Err(DriverError::Rejected {
            host: t.host().to_string(),
            engine: engine(cx),
            what: what.to_string(),
            message: strip_severity(&message),
        }),
        Err(PsqlError::NoServer(message)) => Err(other(
            t,
            format!("{} is not answering ({what}): {message}", engine(cx)),
        )),
    }
}

/// psql's `ERROR:  text` as `text`, with `LINE n:` context dropped.
fn strip_severity(message: &str) -> String {
    message
        .lines()
        .filter(|l| !l.starts_with("LINE ") && !l.trim_start().starts_with('^'))
        .map(|l| l.strip_prefix("ERROR:").map(str::trim_start).unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_string()
}

/// Polls `check` every 250 ms until it gives `Some`, for at most `limit`.
pub async fn poll<T, F, Fut>(limit: Duration, mut check: F) -> Result<Option<T>>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = check().await? {
            return Ok(Some(v));
        }
        if start.elapsed() >= limit {
            return Ok(None);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_output() {
        let p = parse_probe("installed=1\ninitialised=0\nstandby_signal=1\npid=4242\n");
        assert_eq!(
            p,
            Probe {
                installed: true,
                initialised: false,
                pid: Some(4242),
                stale_pid_file: false,
                standby_signal: true,
            }
        );
        let p = parse_probe("installed=0\ninitialised=1\nstandby_signal=0\nstale=1\n");
        assert!(p.stale_pid_file && p.pid.is_none() && p.initialised && !p.installed);
    }

    #[test]
    fn sql_errors_lose_severity_and_position() {
        let m = "ERROR:  syntax error at or near \"selec\"\nLINE 1: selec 2\n        ^";
        assert_eq!(strip_severity(m), "syntax error at or near \"selec\"");
    }
}
