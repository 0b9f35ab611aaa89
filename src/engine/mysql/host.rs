//! One node as the driver sees it: its transport, context and flavour, and
//! the small operations every step is made of (SQL through the client on
//! the local socket, ping, files in the data directory, the log's tail).

use std::time::Duration;

use super::flavor::Flavor;
use super::sql::{script, SqlError};
use super::status::{parse_vertical, Row};
use crate::engine::contract::Result;
use crate::engine::{DriverError, NodeCx};
use crate::transport::{Command, Output, Transport};

/// Marker written last by `init` and `seed`: the data directory is whole.
pub(crate) const INITIALISED: &str = ".dbfleet-initialised";

/// `$1` pid file: `<pid> <comm>` of the process it names, if any.
const SERVER_PID: &str = r#"read -r pid <"$1" 2>/dev/null || exit 0
case $pid in ''|*[!0-9]*) exit 0 ;; esac
read -r comm <"/proc/$pid/comm" 2>/dev/null || exit 0
printf '%s %s\n' "$pid" "$comm"
"#;
/// Marker written first by `init`: a data directory holding it is a
/// half-done initialisation that the next `init` may wipe.
pub(crate) const INCOMPLETE: &str = ".dbfleet-incomplete";
/// The GTID position of the backup a replica was seeded from, until its
/// first `start_replication` has used it.
pub(crate) const SEED_GTID: &str = ".dbfleet-seed-gtid";

/// Client statements must not hang forever on a stuck server.
const SQL_TIMEOUT: Duration = Duration::from_secs(120);

/// A shell script that starts `"$@"` detached from the SSH session: its own
/// session, stdin/stdout/stderr away from the channel (which would
/// otherwise stay open as long as the daemon lives).
const DETACH: &str = "cd / && exec setsid -f \"$@\" </dev/null >/dev/null 2>&1";
/// Creates directory `$1` (owner `$2`, group `$3`, mode `$4`) unless it exists.
const ENSURE_DIR: &str = "[ -d \"$1\" ] || install -d -o \"$2\" -g \"$3\" -m \"$4\" \"$1\"";

pub(crate) struct Host<'a> {
    pub t: &'a dyn Transport,
    pub cx: &'a NodeCx<'a>,
    pub flavor: Flavor,
}

impl<'a> Host<'a> {
    pub(crate) fn new(t: &'a dyn Transport, cx: &'a NodeCx<'a>) -> Host<'a> {
        Host {
            t,
            cx,
            flavor: Flavor::of(cx.cluster.engine, &cx.cluster.version),
        }
    }

    pub(crate) fn name(&self) -> &str {
        self.t.host()
    }

    /// The main configuration file (the one dbfleet renders).
    pub(crate) fn config(&self) -> &str {
        self.cx
            .paths
            .config_files
            .first()
            .map(|f| f.path.as_str())
            .unwrap_or("/etc/mysql/my.cnf")
    }

    /// `<data_dir>/<name>`.
    pub(crate) fn data_file(&self, name: &str) -> String {
        format!("{}/{name}", self.cx.paths.data_dir.trim_end_matches('/'))
    }

    // ------------------------------------------------------------ errors

    pub(crate) fn other(&self, message: impl Into<String>) -> DriverError {
        DriverError::Other {
            host: self.name().to_string(),
            message: message.into(),
        }
    }

    pub(crate) fn rejected(&self, what: impl Into<String>, message: impl Into<String>) -> DriverError {
        DriverError::Rejected {
            host: self.name().to_string(),
            engine: self.cx.cluster.engine.as_str().to_string(),
            what: what.into(),
            message: message.into(),
        }
    }

    pub(crate) async fn not_healthy(&self, seconds: u64) -> DriverError {
        // The log tail is a courtesy: its absence must not hide the error.
        let log = self.log_tail().await.unwrap_or_default();
        DriverError::NotHealthy {
            host: self.name().to_string(),
            engine: self.cx.cluster.engine.as_str().to_string(),
            seconds,
            log,
        }
    }

    // ------------------------------------------------------------ commands

    pub(crate) async fn run(&self, cmd: &Command) -> Result<Output> {
        Ok(self.t.run(cmd).await?)
    }

    pub(crate) async fn run_checked(&self, cmd: &Command) -> Result<Output> {
        Ok(self.t.run_checked(cmd).await?)
    }

    /// `sh -c SCRIPT sh ARGS..` with a constant script.
    pub(crate) fn sh(script: &'static str, args: &[&str]) -> Command {
        Command::new("sh")
            .args(["-c", script, "sh"])
            .args(args.iter().copied())
    }

    /// Starts `argv` detached from the session.
    pub(crate) async fn detach(&self, argv: &[String]) -> Result<()> {
        let args: Vec<&str> = argv.iter().map(String::as_str).collect();
        self.run_checked(&Self::sh(DETACH, &args)).await.map(drop)
    }

    pub(crate) async fn ensure_dir(&self, path: &str, owner: &str, group: &str, mode: &str) -> Result<()> {
        self.run_checked(&Self::sh(ENSURE_DIR, &[path, owner, group, mode]))
            .await
            .map(drop)
    }

    /// Whether `path` exists (`test -e`).
    pub(crate) async fn exists(&self, path: &str) -> Result<bool> {
        Ok(self.run(&exists_command(path)).await?.success())
    }

    /// Whether a program is installed: a path is tested directly, a bare
    /// name looked up in PATH.
    pub(crate) async fn has_program(&self, program: &str) -> Result<bool> {
        Ok(self.run(&has_program_command(program)).await?.success())
    }

    /// `NotInstalled` unless every program is there.
    pub(crate) async fn require(&self, programs: &[&str]) -> Result<()> {
        for p in programs {
            if !self.has_program(p).await? {
                return Err(DriverError::NotInstalled {
                    host: self.name().to_string(),
                    program: p.to_string(),
                });
            }
        }
        Ok(())
    }

    /// The server's process id, from its pid file, when that process is
    /// alive and is the server (not a stranger that reused the number).
    pub(crate) async fn server_pid(&self) -> Result<Option<u32>> {
        let out = self.run(&self.server_pid_command()).await?;
        let text = out.stdout_str();
        let mut words = text.split_whitespace();
        let (Some(pid), Some(comm)) = (words.next(), words.next()) else {
            return Ok(None);
        };
        Ok(pid
            .parse::<u32>()
            .ok()
            .filter(|_| self.flavor.server_names().contains(&comm)))
    }

    /// Prints `<pid> <process name>` for the pid in the pid file, or
    /// nothing (no file, no number, no such process).
    pub(crate) fn server_pid_command(&self) -> Command {
        Self::sh(SERVER_PID, &[&self.cx.paths.pid_file])
    }

    /// Whether mysqld_safe runs for this node's configuration.
    pub(crate) async fn supervisor_running(&self) -> Result<bool> {
        if !self.flavor.is_mariadb() {
            return Ok(false);
        }
        let pattern = format!("mysqld_safe --defaults-file={}", self.config());
        let cmd = Command::new("pgrep").args(["-f", "--", &pattern]);
        Ok(self.run(&cmd).await?.success())
    }

    /// Whether the server or its supervisor still runs.
    pub(crate) async fn any_process(&self) -> Result<bool> {
        Ok(self.server_pid().await?.is_some() || self.supervisor_running().await?)
    }

    /// The last lines of the server's error log ("" when there is none).
    pub(crate) async fn log_tail(&self) -> Result<String> {
        let cmd = Command::new("tail").args(["-n", "30", &self.cx.paths.log_file]);
        Ok(self.run(&cmd).await?.stdout_str())
    }

    /// Writes a small file in the data directory, owned by the engine user.
    pub(crate) async fn write_data_file(&self, name: &str, contents: &str) -> Result<()> {
        let p = self.cx.paths;
        self.t
            .write_file(
                &self.data_file(name),
                contents.as_bytes(),
                0o640,
                &p.user,
                &p.group,
            )
            .await?;
        Ok(())
    }

    pub(crate) async fn remove_data_file(&self, name: &str) -> Result<()> {
        let cmd = Command::new("rm").args(["-f", "--", &self.data_file(name)]);
        self.run_checked(&cmd).await.map(drop)
    }

    // ------------------------------------------------------------ the server

    /// Whether the server answers on its socket.
    pub(crate) async fn ping(&self) -> Result<bool> {
        Ok(self.run(&self.ping_command()).await?.success())
    }

    pub(crate) fn ping_command(&self) -> Command {
        Command::new(self.flavor.admin())
            .args([
                format!("--socket={}", self.cx.paths.socket),
                "--connect-timeout=5".to_string(),
                "ping".to_string(),
            ])
            .timeout(Duration::from_secs(30))
    }

    fn client(&self, vertical: bool) -> Command {
        let mut cmd = Command::new(self.flavor.client()).args([
            "--user=root".to_string(),
            format!("--socket={}", self.cx.paths.socket),
            "--batch".to_string(),
            "--connect-timeout=10".to_string(),
            "--default-character-set=utf8mb4".to_string(),
        ]);
        if !vertical {
            cmd = cmd.arg("--skip-column-names");
        }
        cmd.timeout(SQL_TIMEOUT)
    }

    /// Runs statements as root over the socket (on stdin: passwords never
    /// show in the process list). `Ok(Err(..))`: the server refused one.
    pub(crate) async fn sql<S: AsRef<str>>(
        &self,
        statements: &[S],
    ) -> Result<std::result::Result<String, SqlError>> {
        self.client_run(self.client(false), script(statements)).await
    }

    /// Like [`Host::sql`], but a refusal is `Rejected` (`what` says what
    /// was being done).
    pub(crate) async fn sql_ok<S: AsRef<str>>(&self, what: &str, statements: &[S]) -> Result<String> {
        match self.sql(statements).await? {
            Ok(out) => Ok(out),
            Err(e) => Err(self.rejected(what, e.message)),
        }
    }

    /// One query with vertical (`\G`) output, as rows.
    pub(crate) async fn query_vertical(&self, what: &str, statement: &str) -> Result<Vec<Row>> {
        match self.client_out(self.vertical_command(statement)).await? {
            Ok(out) => Ok(parse_vertical(&out)),
            Err(e) => Err(self.rejected(what, e.message)),
        }
    }

    /// Rows of tab-separated output, for values without tabs or newlines.
    pub(crate) async fn query_rows(&self, what: &str, statement: &str) -> Result<Vec<Vec<String>>> {
        let out = self.sql_ok(what, &[statement]).await?;
        Ok(out
            .lines()
            .map(|l| l.split('\t').map(str::to_string).collect())
            .collect())
    }

    /// The client command that runs `statement` with vertical output.
    pub(crate) fn vertical_command(&self, statement: &str) -> Command {
        self.client(true).stdin(format!("{statement}\\G\n"))
    }

    async fn client_run(&self, cmd: Command, input: String) -> Result<std::result::Result<String, SqlError>> {
        self.client_out(cmd.stdin(input)).await
    }

    pub(crate) async fn client_out(&self, cmd: Command) -> Result<std::result::Result<String, SqlError>> {
        let out = self.run(&cmd).await?;
        if out.success() {
            Ok(Ok(out.stdout_str()))
        } else {
            Ok(Err(SqlError::parse(&out.stderr_str())))
        }
    }

    /// The replica status row of the default connection, if any.
    pub(crate) async fn replica_row(&self) -> Result<Option<Row>> {
        let rows = self
            .query_vertical("reading the replica status", self.flavor.replica_status())
            .await?;
        Ok(rows.into_iter().next())
    }
}

/// `test -e path`.
pub(crate) fn exists_command(path: &str) -> Command {
    Command::new("test").args(["-e", path])
}

/// A path is tested directly (`test -x`), a bare name looked up in PATH.
pub(crate) fn has_program_command(program: &str) -> Command {
    if program.starts_with('/') {
        Command::new("test").args(["-x", program])
    } else {
        Host::sh("command -v \"$1\" >/dev/null", &[program])
    }
}
