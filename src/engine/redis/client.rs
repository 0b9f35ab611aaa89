//! The engine's own client on the host (`redis-cli`, `valkey-cli`,
//! `keydb-cli`), run as root against the node's unix socket, or against a
//! peer's address from the node.
//!
//! The password never appears on a command line: a constant shell script
//! reads it from stdin into `REDISCLI_AUTH` (which every one of these
//! clients reads) and then runs the client. Without `-e` (missing from
//! older clients) the client exits 0 even on an error reply, so replies are
//! judged by their text: each command here has a known success reply.

use std::time::Duration;

use crate::engine::{DriverError, NodeCx};
use crate::model::Engine;
use crate::transport::{Command, Output, Transport};

/// `$1` preferred client, `$2` fallback when `$1` is not in PATH, then the
/// client's arguments; the password is the first line of stdin.
const CLI_SCRIPT: &str = r#"IFS= read -r REDISCLI_AUTH || [ -n "$REDISCLI_AUTH" ] || exit 90
export REDISCLI_AUTH
cli=$1
command -v "$cli" >/dev/null 2>&1 || cli=$2
shift 2
exec "$cli" "$@"
"#;

/// Exit status of a shell that could not find the program.
const NOT_FOUND: i32 = 127;

/// How long one client call may take unless it says otherwise.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// Where the client connects.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    /// The node's own server, on its unix socket.
    Local,
    /// Another server, from the node (`-h host -p port`).
    Remote { host: &'a str, port: u16 },
}

/// The client for one node: program, socket and password.
pub struct Cli<'a> {
    preferred: &'static str,
    fallback: &'static str,
    socket: &'a str,
    password: &'a str,
    host: &'a str,
}

/// What a client call got back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// The server answered; stdout as text (an error reply is text too).
    Text(String),
    /// No server answered (nothing listens on the socket or address).
    NoServer(String),
}

impl<'a> Cli<'a> {
    pub fn new(cx: &'a NodeCx<'a>, host: &'a str) -> Cli<'a> {
        let (preferred, fallback) = programs(cx.cluster.engine);
        Cli {
            preferred,
            fallback,
            socket: &cx.paths.socket,
            password: &cx.secrets.admin_password,
            host,
        }
    }

    /// The command that runs the client with `args` against `target`.
    pub fn command<S: AsRef<str>>(&self, target: Target<'_>, args: &[S]) -> Command {
        let mut cmd = Command::new("sh").args(["-c", CLI_SCRIPT, "sh", self.preferred, self.fallback]);
        cmd = match target {
            Target::Local => cmd.args(["-s", self.socket]),
            Target::Remote { host, port } => cmd.args(["-h", host, "-p"]).arg(port.to_string()),
        };
        cmd.args(args.iter().map(AsRef::as_ref))
            .stdin(format!("{}\n", self.password))
            .timeout(CALL_TIMEOUT)
    }

    /// Runs `args` against `target`.
    ///
    /// Errors: the host could not be reached, or no client is installed.
    pub async fn call<S: AsRef<str>>(
        &self,
        t: &dyn Transport,
        target: Target<'_>,
        args: &[S],
        timeout: Option<Duration>,
    ) -> Result<Reply, DriverError> {
        let mut cmd = self.command(target, args);
        if let Some(timeout) = timeout {
            cmd = cmd.timeout(timeout);
        }
        let out = t.run(&cmd).await?;
        self.judge(out)
    }

    fn judge(&self, out: Output) -> Result<Reply, DriverError> {
        if out.status == Some(NOT_FOUND) {
            return Err(DriverError::NotInstalled {
                host: self.host.to_string(),
                program: self.fallback.to_string(),
            });
        }
        let stdout = out.stdout_str();
        let stderr = out.stderr_str();
        if stderr.contains("Could not connect") || (!out.success() && stdout.trim().is_empty()) {
            let why = if stderr.trim().is_empty() {
                format!("{} exited with {:?}", self.preferred, out.status)
            } else {
                stderr.trim().to_string()
            };
            return Ok(Reply::NoServer(why));
        }
        // A refused password shows as "AUTH failed: ..." on stderr and the
        // command's own NOAUTH reply on stdout; keep both.
        let auth = stderr.lines().find(|l| l.starts_with("AUTH failed"));
        let text = match auth {
            Some(auth) if is_auth_error(stdout.trim_start()) => format!("{auth}\n{stdout}"),
            _ => stdout,
        };
        Ok(Reply::Text(text))
    }
}

/// (preferred, fallback) client for an engine: Valkey's own client when
/// the host has it, `redis-cli` (which speaks to Valkey too) otherwise.
fn programs(engine: Engine) -> (&'static str, &'static str) {
    match engine {
        Engine::Valkey => ("valkey-cli", "redis-cli"),
        Engine::Keydb => ("keydb-cli", "keydb-cli"),
        _ => ("redis-cli", "redis-cli"),
    }
}

/// How a server answered `PING`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ping {
    Pong,
    /// Up but not serving yet (`LOADING ...`, `MASTERDOWN ...`).
    Busy(String),
    /// Up, but it refuses the cluster's password.
    AuthRefused(String),
    /// Nothing answers.
    Down(String),
}

impl Ping {
    /// The server process answers, whatever it said.
    pub fn answers(&self) -> bool {
        !matches!(self, Ping::Down(_))
    }
}

pub fn judge_ping(reply: Reply) -> Ping {
    match reply {
        Reply::NoServer(why) => Ping::Down(why),
        Reply::Text(text) => {
            let text = text.trim();
            if text == "PONG" {
                Ping::Pong
            } else if is_auth_error(text) {
                Ping::AuthRefused(text.to_string())
            } else {
                Ping::Busy(text.to_string())
            }
        }
    }
}

/// A reply that says the password was refused.
pub fn is_auth_error(text: &str) -> bool {
    text.starts_with("AUTH failed") || text.starts_with("NOAUTH") || text.starts_with("WRONGPASS")
}

/// What a `CONFIG SET` reply means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetOutcome {
    Applied,
    /// The parameter cannot change at runtime (immutable, protected, or
    /// only known to the config file parser).
    NeedsRestart,
    /// The server refused the value; its message verbatim.
    Rejected(String),
    /// Not an answer about the value (authentication, loading, ...).
    Failed(String),
}

pub fn judge_config_set(text: &str) -> SetOutcome {
    let text = text.trim();
    if text == "OK" {
        return SetOutcome::Applied;
    }
    let restart = [
        "can't set immutable config",
        "can't set protected config",
        "Unsupported CONFIG parameter",
        "Unknown option or number of arguments for CONFIG SET",
    ];
    if restart.iter().any(|m| text.contains(m)) {
        SetOutcome::NeedsRestart
    } else if text.starts_with("ERR") {
        SetOutcome::Rejected(text.to_string())
    } else {
        SetOutcome::Failed(text.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_set_replies() {
        let table = [
            ("OK\n", SetOutcome::Applied),
            (
                "ERR CONFIG SET failed (possibly related to argument 'databases') - can't set immutable config\n\n",
                SetOutcome::NeedsRestart,
            ),
            (
                "ERR CONFIG SET failed (possibly related to argument 'dir') - can't set protected config",
                SetOutcome::NeedsRestart,
            ),
            (
                "ERR Unknown option or number of arguments for CONFIG SET - 'loadmodule'",
                SetOutcome::NeedsRestart,
            ),
            ("ERR Unsupported CONFIG parameter: loadmodule", SetOutcome::NeedsRestart),
            (
                "ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy') - argument(s) must be one of the following: volatile-lru, noeviction\n",
                SetOutcome::Rejected(
                    "ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy') - argument(s) must be one of the following: volatile-lru, noeviction".into(),
                ),
            ),
            (
                "ERR Invalid argument 'bogus' for CONFIG SET 'maxmemory-policy'",
                SetOutcome::Rejected("ERR Invalid argument 'bogus' for CONFIG SET 'maxmemory-policy'".into()),
            ),
            (
                "NOAUTH Authentication required.",
                SetOutcome::Failed("NOAUTH Authentication required.".into()),
            ),
        ];
        for (reply, expected) in table {
            assert_eq!(judge_config_set(reply), expected, "{reply}");
        }
    }

    #[test]
    fn ping_replies() {
        assert_eq!(judge_ping(Reply::Text("PONG\n".into())), Ping::Pong);
        assert_eq!(
            judge_ping(Reply::Text(
                "AUTH failed: WRONGPASS invalid username-password pair\nNOAUTH Authentication required.\n"
                    .into()
            )),
            Ping::AuthRefused(
                "AUTH failed: WRONGPASS invalid username-password pair\nNOAUTH Authentication required."
                    .into()
            )
        );
        let loading = judge_ping(Reply::Text(
            "LOADING Redis is loading the dataset in memory\n".into(),
        ));
        assert!(matches!(loading, Ping::Busy(_)));
        assert!(loading.answers());
        assert!(!judge_ping(Reply::NoServer("Could not connect".into())).answers());
    }

    #[test]
    fn the_password_goes_on_stdin_never_in_the_command_line() {
        let cli = Cli {
            preferred: "valkey-cli",
            fallback: "redis-cli",
            socket: "/run/valkey/valkey-server.sock",
            password: "s3cret",
            host: "h1",
        };
        let cmd = cli.command(Target::Local, &["PING"]);
        let line = cmd.to_exec_string().unwrap();
        assert!(!line.contains("s3cret"), "{line}");
        assert!(cmd.env.is_empty());
        assert_eq!(cmd.stdin.as_deref(), Some(&b"s3cret\n"[..]));
        assert_eq!(
            &cmd.args[3..],
            [
                "valkey-cli",
                "redis-cli",
                "-s",
                "/run/valkey/valkey-server.sock",
                "PING"
            ]
        );
        let remote = cli.command(
            Target::Remote {
                host: "10.0.0.1",
                port: 6380,
            },
            &["INFO", "server"],
        );
        assert_eq!(
            &remote.args[5..],
            ["-h", "10.0.0.1", "-p", "6380", "INFO", "server"]
        );
    }

    #[test]
    fn valkey_prefers_its_own_client() {
        assert_eq!(programs(Engine::Valkey), ("valkey-cli", "redis-cli"));
        assert_eq!(programs(Engine::Redis), ("redis-cli", "redis-cli"));
        assert_eq!(programs(Engine::Keydb), ("keydb-cli", "keydb-cli"));
    }
}
