//! Transport errors: "could not run" (connect, host key, auth, timeout,
//! channel) and, from the `*_checked` helpers, "ran and exited non-zero".

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::command::CommandError;

/// The underlying error kept as the `source` of a transport error. Shared,
/// so that a failed connection attempt can be reported to every command
/// that waited for it.
pub type Cause = Arc<dyn std::error::Error + Send + Sync + 'static>;

/// A cause that is only a message.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Message(pub String);

/// A [`Cause`] from a message.
pub fn message(text: impl Into<String>) -> Cause {
    Arc::new(Message(text.into()))
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum TransportError {
    #[error("{host}: could not connect")]
    Connect {
        host: String,
        #[source]
        cause: Cause,
    },
    #[error(
        "{host}: host key {fingerprint} is not in {}; refusing to connect \
         (check the fingerprint on the host, then add its key to that file)",
        known_hosts.display()
    )]
    HostKeyUnknown {
        host: String,
        fingerprint: String,
        known_hosts: PathBuf,
    },
    #[error(
        "{host}: HOST KEY CHANGED: the host presented {fingerprint}, which does not match \
         the key at {}:{line}; refusing to connect (someone may be intercepting the \
         connection, or the host was reinstalled)",
        known_hosts.display()
    )]
    HostKeyChanged {
        host: String,
        fingerprint: String,
        known_hosts: PathBuf,
        line: usize,
    },
    #[error("{host}: could not read known_hosts file {}", known_hosts.display())]
    KnownHosts {
        host: String,
        known_hosts: PathBuf,
        #[source]
        cause: Cause,
    },
    #[error("{host}: could not load the private key {}", identity.display())]
    Identity {
        host: String,
        identity: PathBuf,
        #[source]
        cause: Cause,
    },
    #[error("{host}: authentication refused for user {user} with key {}", identity.display())]
    AuthRefused {
        host: String,
        user: String,
        identity: PathBuf,
    },
    #[error("{host}: timed out after {after:?} {what}")]
    Timeout {
        host: String,
        what: String,
        after: Duration,
    },
    #[error("{host}: channel error while running {program}")]
    Channel {
        host: String,
        program: String,
        #[source]
        cause: Cause,
    },
    #[error("{host}: {program}: invalid command")]
    InvalidCommand {
        host: String,
        program: String,
        #[source]
        cause: CommandError,
    },
    /// The command ran and exited non-zero (or died from a signal). Only
    /// the `*_checked` helpers return this; `run` returns `Ok(Output)`.
    #[error("{host}: {program} {}: {stderr}", describe_exit(*status, signal.as_deref()))]
    Failed {
        host: String,
        program: String,
        status: Option<i32>,
        signal: Option<String>,
        /// The command's stderr, trimmed and shortened.
        stderr: String,
    },
}

impl TransportError {
    /// [`TransportError::InvalidCommand`]: `program` cannot be run on
    /// `host` as asked.
    pub fn invalid(host: &str, program: &str, cause: CommandError) -> Self {
        TransportError::InvalidCommand {
            host: host.to_string(),
            program: program.to_string(),
            cause,
        }
    }

    /// True for the errors that mean "the host (or the network) is not
    /// answering": worth a retry later, unlike a refused key or a failed
    /// command.
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            TransportError::Connect { .. } | TransportError::Timeout { .. }
        )
    }
}

fn describe_exit(status: Option<i32>, signal: Option<&str>) -> String {
    match (status, signal) {
        (Some(code), _) => format!("exited with status {code}"),
        (None, Some(sig)) => format!("was killed by signal {sig}"),
        (None, None) => "ended without an exit status".to_string(),
    }
}

/// Trimmed stderr for error messages: at most `MAX` bytes, keeping the
/// end, where programs print the reason they stopped.
pub(crate) fn stderr_excerpt(stderr: &[u8]) -> String {
    const MAX: usize = 2000;
    let text = String::from_utf8_lossy(stderr);
    let text = text.trim();
    if text.len() <= MAX {
        return text.to_string();
    }
    let mut start = text.len() - MAX;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    format!("...{}", &text[start..])
}
