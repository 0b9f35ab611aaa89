//! Small facts and chores on a node's host: the marker, directories,
//! processes, the log tail, the server's `INFO`.

use std::time::Duration;

use super::client::{judge_ping, Cli, Ping, Reply, Target};
use super::info::{parse_info, Info};
use crate::engine::contract::Result;
use crate::engine::{DriverError, NodeCx};
use crate::render::EnginePaths;
use crate::transport::{Command, Transport};

/// Name of the marker file in the data directory: written last by `init`
/// and `seed`, removed first by `seed`.
pub const MARKER: &str = ".dbfleet-initialised";

/// How many log lines an error carries.
const LOG_LINES: &str = "40";

/// `$1` path, `$2` owner, `$3` group, `$4` mode, `$5` "fix" to give an
/// existing directory to owner:group as well.
const ENSURE_DIR: &str = r#"set -e
if [ ! -d "$1" ]; then install -d -o "$2" -g "$3" -m "$4" -- "$1"
elif [ "$5" = fix ]; then chown -- "$2:$3" "$1"; fi
"#;

/// `$1` pid: exit 0 while that process exists.
const ALIVE: &str = r#"kill -0 "$1" 2>/dev/null"#;

/// `$1` pid: ask it to shut down.
const TERMINATE: &str = r#"kill -TERM "$1""#;

/// `$1` a data directory: removes everything inside it, keeps it.
const EMPTY_DIR: &str = r#"set -e
[ -d "$1" ] || exit 0
find "$1" -mindepth 1 -maxdepth 1 -exec rm -rf -- {} +
"#;

pub fn host(t: &dyn Transport) -> String {
    t.host().to_string()
}

pub fn marker_path(paths: &EnginePaths) -> String {
    format!("{}/{MARKER}", paths.data_dir)
}

/// The node's main configuration file (the one the server is started with).
pub fn config_path<'a>(t: &dyn Transport, paths: &'a EnginePaths) -> Result<&'a str> {
    paths
        .config_files
        .first()
        .map(|f| f.path.as_str())
        .ok_or_else(|| DriverError::Other {
            host: host(t),
            message: "the engine layout names no configuration file".into(),
        })
}

/// `test <flag> <path>` succeeded.
pub async fn test(t: &dyn Transport, flag: &str, path: &str) -> Result<bool> {
    Ok(t.run(&test_command(flag, path)).await?.success())
}

pub fn test_command(flag: &str, path: &str) -> Command {
    Command::new("test").args([flag, path])
}

/// Creates `path` (owner, group, mode) when missing; with `fix`, an
/// existing directory is given to owner:group too.
pub async fn ensure_dir(
    t: &dyn Transport,
    path: &str,
    paths: &EnginePaths,
    mode: u32,
    fix: bool,
) -> Result<()> {
    let cmd = Command::new("sh").args([
        "-c",
        ENSURE_DIR,
        "sh",
        path,
        &paths.user,
        &paths.group,
        &format!("{mode:o}"),
        if fix { "fix" } else { "keep" },
    ]);
    t.run_checked(&cmd).await?;
    Ok(())
}

/// Removes everything inside the data directory.
pub async fn empty_data_dir(t: &dyn Transport, paths: &EnginePaths) -> Result<()> {
    let dir = paths.data_dir.trim_end_matches('/');
    // A guard against a layout bug wiping a system directory.
    if !dir.starts_with('/') || dir.matches('/').count() < 2 {
        return Err(DriverError::Other {
            host: host(t),
            message: format!("refusing to empty data directory {:?}", paths.data_dir),
        });
    }
    t.run_checked(&Command::new("sh").args(["-c", EMPTY_DIR, "sh", dir]))
        .await?;
    Ok(())
}

/// The last lines of the engine's log, for error messages. Empty when the
/// log cannot be read: the error it decorates matters more.
pub async fn log_tail(t: &dyn Transport, paths: &EnginePaths) -> String {
    let cmd = Command::new("tail").args(["-n", LOG_LINES, "--", &paths.log_file]);
    match t.run(&cmd).await {
        Ok(out) if out.success() => out.stdout_str(),
        _ => String::new(),
    }
}

/// The pid in the pid file, if there is one.
pub async fn pidfile_pid(t: &dyn Transport, paths: &EnginePaths) -> Result<Option<u32>> {
    let content = t.read_file(&paths.pid_file).await?;
    Ok(content.and_then(|bytes| String::from_utf8_lossy(&bytes).trim().parse().ok()))
}

pub async fn alive(t: &dyn Transport, pid: u32) -> Result<bool> {
    let cmd = Command::new("sh").args(["-c", ALIVE, "sh", &pid.to_string()]);
    Ok(t.run(&cmd).await?.success())
}

/// The process in the pid file, if it still runs.
pub async fn live_pid(t: &dyn Transport, paths: &EnginePaths) -> Result<Option<u32>> {
    match pidfile_pid(t, paths).await? {
        Some(pid) if alive(t, pid).await? => Ok(Some(pid)),
        _ => Ok(None),
    }
}

/// Sends SIGTERM (a clean shutdown for these servers).
pub async fn terminate(t: &dyn Transport, pid: u32) -> Result<()> {
    t.run_checked(&Command::new("sh").args(["-c", TERMINATE, "sh", &pid.to_string()]))
        .await?;
    Ok(())
}

pub async fn ping(t: &dyn Transport, cx: &NodeCx<'_>) -> Result<Ping> {
    let h = host(t);
    let cli = Cli::new(cx, &h);
    Ok(judge_ping(cli.call(t, Target::Local, &["PING"], None).await?))
}

/// `INFO` (or one section of it) from `target`, or `None` when the server
/// did not answer with one (down, refused the password, loading...).
pub async fn info(
    t: &dyn Transport,
    cx: &NodeCx<'_>,
    target: Target<'_>,
    section: Option<&str>,
    timeout: Option<Duration>,
) -> Result<Option<Info>> {
    let h = host(t);
    let cli = Cli::new(cx, &h);
    let mut args = vec!["INFO"];
    args.extend(section);
    match cli.call(t, target, &args, timeout).await? {
        Reply::Text(text) if text.trim_start().starts_with('#') => Ok(Some(parse_info(&text))),
        _ => Ok(None),
    }
}
