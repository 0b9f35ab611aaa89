//! Remote commands as typed values, and the one place that turns them into
//! the command line an SSH server (or `sh -c`) runs.
//!
//! Values never get pasted into a shell line raw: every word is quoted with
//! POSIX single quotes, and bulk data travels on stdin.

use std::fmt;
use std::time::{Duration, Instant};

/// A command to run on a host: a program and its arguments, never a shell
/// string. Build it with [`Command::new`] and the chained setters.
#[derive(Clone, PartialEq, Eq)]
pub struct Command {
    pub program: String,
    pub args: Vec<String>,
    /// Bytes sent to the command's standard input, then end-of-file.
    /// `None` closes stdin at once.
    pub stdin: Option<Vec<u8>>,
    /// Extra environment variables, set with `env NAME=VALUE` on the host.
    pub env: Vec<(String, String)>,
    /// Run as this user through `runuser -u USER --` (needs root).
    pub run_as: Option<String>,
    /// Working directory; the command fails to start when it is missing.
    pub cwd: Option<String>,
    /// Give up waiting after this long (the transport's default when `None`).
    pub timeout: Option<Duration>,
}

impl Command {
    pub fn new(program: impl Into<String>) -> Self {
        Command {
            program: program.into(),
            args: Vec::new(),
            stdin: None,
            env: Vec::new(),
            run_as: None,
            cwd: None,
            timeout: None,
        }
    }

    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(bytes.into());
        self
    }

    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((name.into(), value.into()));
        self
    }

    pub fn run_as(mut self, user: impl Into<String>) -> Self {
        self.run_as = Some(user.into());
        self
    }

    pub fn cwd(mut self, dir: impl Into<String>) -> Self {
        self.cwd = Some(dir.into());
        self
    }

    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The command line handed to the remote login shell (`sh -c` locally),
    /// with the command's own timeout. See [`Command::exec_line`].
    pub fn to_exec_string(&self) -> Result<String, CommandError> {
        self.exec_line(self.timeout)
    }

    /// The command line with `timeout` (the command's own, or a transport's
    /// default) enforced on the host.
    ///
    /// Shape: `[cd DIR && ]exec [timeout -k 2s LIMIT ][runuser -u USER -- ]`
    /// `[env NAME=VALUE.. ]PROGRAM ARGS..`, every word single-quoted.
    /// coreutils' `timeout` sends TERM to the command's process group at
    /// LIMIT and KILL [`KILL_GRACE`] later: the host stops the command even
    /// when the connection is gone, and OpenSSH refuses channel signals to
    /// root sessions anyway.
    ///
    /// # Errors
    /// A word that cannot be passed safely: an empty program, a NUL byte
    /// anywhere, an environment name that is not `[A-Za-z_][A-Za-z0-9_]*`,
    /// a user name starting with `-`, or a program containing `=` together
    /// with environment variables (`env` would take it for an assignment).
    pub fn exec_line(&self, timeout: Option<Duration>) -> Result<String, CommandError> {
        self.check()?;
        let mut words: Vec<&str> = Vec::new();
        let limit = timeout.map(|t| format!("{}s", t.as_secs_f64()));
        let grace = format!("{}s", KILL_GRACE.as_secs());
        if let Some(limit) = &limit {
            words.extend(["timeout", "-k", grace.as_str(), limit.as_str()]);
        }
        if let Some(user) = &self.run_as {
            words.extend(["runuser", "-u", user.as_str(), "--"]);
        }
        let assignments: Vec<String> = self
            .env
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        if !assignments.is_empty() {
            words.push("env");
            words.extend(assignments.iter().map(String::as_str));
        }
        words.push(&self.program);
        words.extend(self.args.iter().map(String::as_str));

        let mut line = String::new();
        if let Some(dir) = &self.cwd {
            line.push_str("cd ");
            line.push_str(&quote(dir));
            line.push_str(" && ");
        }
        line.push_str("exec");
        for word in words {
            line.push(' ');
            line.push_str(&quote(word));
        }
        Ok(line)
    }

    fn check(&self) -> Result<(), CommandError> {
        if self.program.is_empty() {
            return Err(CommandError::EmptyProgram);
        }
        let words = std::iter::once(&self.program)
            .chain(&self.args)
            .chain(self.env.iter().flat_map(|(n, v)| [n, v]))
            .chain(&self.run_as)
            .chain(&self.cwd);
        for word in words {
            if word.contains('\0') {
                return Err(CommandError::NulByte {
                    program: self.program.clone(),
                });
            }
        }
        for (name, _) in &self.env {
            if !is_env_name(name) {
                return Err(CommandError::BadEnvName { name: name.clone() });
            }
        }
        if !self.env.is_empty() && self.program.contains('=') {
            return Err(CommandError::ProgramWithEquals {
                program: self.program.clone(),
            });
        }
        if let Some(user) = &self.run_as {
            if user.is_empty() || user.starts_with('-') {
                return Err(CommandError::BadUser { user: user.clone() });
            }
        }
        Ok(())
    }
}

/// Shows the command line with values, but stdin only by its size: stdin
/// often carries secrets or megabytes.
impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Command")
            .field("program", &self.program)
            .field("args", &self.args)
            .field("stdin_len", &self.stdin.as_ref().map(Vec::len))
            .field("env", &self.env.iter().map(|(n, _)| n).collect::<Vec<_>>())
            .field("run_as", &self.run_as)
            .field("cwd", &self.cwd)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Time between TERM and KILL for a command that overran its timeout.
pub const KILL_GRACE: Duration = Duration::from_secs(2);

/// Extra wait, past the host's own TERM and KILL, before the transport
/// gives up on hearing back (a dead connection, an unresponsive host).
const WAIT_MARGIN: Duration = Duration::from_secs(3);

/// A running command's time limit.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limit {
    pub limit: Duration,
    started: Instant,
}

impl Limit {
    /// The line `cmd` runs as on `host` and its time limit (its own, or
    /// `default`), started now.
    pub fn line(
        host: &str,
        cmd: &Command,
        default: Option<Duration>,
    ) -> Result<(String, Option<Limit>), super::TransportError> {
        let limit = cmd.timeout.or(default).map(Limit::start);
        let line = cmd
            .exec_line(limit.map(|l| l.limit))
            .map_err(|cause| super::TransportError::invalid(host, &cmd.program, cause))?;
        Ok((line, limit))
    }

    pub fn start(limit: Duration) -> Self {
        Limit {
            limit,
            started: Instant::now(),
        }
    }

    /// When to stop waiting for the host.
    pub fn deadline(&self) -> Instant {
        self.started + self.limit + KILL_GRACE + WAIT_MARGIN
    }

    /// True when `status` is `timeout`'s report of an overrun (124 after
    /// TERM, 137 after KILL) and the limit has indeed passed.
    pub fn overran(&self, status: Option<i32>) -> bool {
        matches!(status, Some(124 | 137)) && self.started.elapsed() >= self.limit
    }
}

/// A command that cannot be turned into a safe command line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    #[error("command has an empty program name")]
    EmptyProgram,
    #[error("command {program}: a word contains a NUL byte")]
    NulByte { program: String },
    #[error("environment variable name {name:?} is not [A-Za-z_][A-Za-z0-9_]*")]
    BadEnvName { name: String },
    #[error("program {program:?} contains '=', which env would read as an assignment")]
    ProgramWithEquals { program: String },
    #[error("run_as user {user:?} is empty or starts with '-'")]
    BadUser { user: String },
    #[error("path {path:?} must be absolute, name a file and contain no NUL byte")]
    BadPath { path: String },
    #[error("file mode {mode:o} is beyond 7777")]
    BadMode { mode: u32 },
    #[error("{program}: stdin is already set, but the command's stdin is meant to be a stream")]
    StdinConflict { program: String },
}

fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

/// Quotes one word for a POSIX shell: wrapped in single quotes, each `'`
/// written as `'\''`. Inside single quotes nothing is special, so `$`, `;`,
/// backquotes, newlines and spaces stay literal; the empty word becomes `''`.
pub fn quote(word: &str) -> String {
    let mut out = String::with_capacity(word.len() + 2);
    out.push('\'');
    for c in word.chars() {
        if c == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

/// What a command that ran produced. A non-zero exit is still `Ok(Output)`:
/// "ran and failed" is not "could not run".
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Output {
    /// Exit code; `None` when the command was killed by a signal.
    pub status: Option<i32>,
    /// The signal that killed the command, e.g. "KILL".
    pub signal: Option<String>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl Output {
    /// True when the command exited with status 0.
    pub fn success(&self) -> bool {
        self.status == Some(0)
    }

    /// stdout as text (invalid UTF-8 replaced).
    pub fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// stderr as text (invalid UTF-8 replaced).
    pub fn stderr_str(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

impl fmt::Debug for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Output")
            .field("status", &self.status)
            .field("signal", &self.signal)
            .field("stdout", &String::from_utf8_lossy(&self.stdout))
            .field("stderr", &String::from_utf8_lossy(&self.stderr))
            .finish()
    }
}

#[cfg(test)]
#[path = "command_tests.rs"]
mod tests;
