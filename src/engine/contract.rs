//! The contract between the apply executor and an engine driver.

use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

use super::ServiceMode;
use crate::layout::{NodeLayout, PeerRef};
use crate::model::Cluster;
use crate::render::EnginePaths;
use crate::transport::{BoxFuture, Command, Transport, TransportError};

/// Passwords of a cluster. Never printed: `Debug` hides them.
#[derive(Clone, PartialEq, Eq)]
pub struct Secrets {
    /// Password of the administrative user (`render::ADMIN_USER`).
    pub admin_password: String,
    /// Password of the replication user (`render::REPLICATION_USER`).
    pub replication_password: String,
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secrets { .. }")
    }
}

/// Everything a driver needs to know about the node it works on.
#[derive(Debug, Clone)]
pub struct NodeCx<'a> {
    pub cluster: &'a Cluster,
    pub node: &'a NodeLayout,
    pub paths: &'a EnginePaths,
    pub service: ServiceMode,
    pub secrets: &'a Secrets,
}

impl NodeCx<'_> {
    pub fn port(&self) -> u16 {
        self.cluster.port()
    }
}

/// Role as the engine itself reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ObservedRole {
    Primary,
    Replica,
}

/// A replica's replication as the engine reports it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Replication {
    /// Host (as configured on the replica) it replicates from.
    pub source_host: String,
    /// Both directions of the stream are up (IO/SQL threads, walreceiver
    /// streaming, master_link_status up).
    pub healthy: bool,
    /// Lag in seconds when the engine reports one.
    pub lag_seconds: Option<f64>,
    /// Bytes behind (PostgreSQL replay lag, Redis offset difference) when known.
    pub lag_bytes: Option<u64>,
    /// The engine's last replication error, verbatim.
    pub last_error: Option<String>,
}

/// What a driver observes on one node.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct EngineState {
    /// The server binary is present.
    pub installed: bool,
    /// The data directory was fully initialised or seeded by dbfleet (a
    /// marker written as the last step; a half-done seed is not initialised).
    pub initialised: bool,
    /// The engine answers its own client's ping.
    pub running: bool,
    /// Server version as the engine reports it (e.g. "10.11.6-MariaDB").
    pub version: Option<String>,
    /// Process id of the server, when running.
    pub pid: Option<u32>,
    pub role: Option<ObservedRole>,
    /// For a replica (in multi-master, for each node: its incoming stream).
    pub replication: Option<Replication>,
}

/// One changed setting between the applied and the new configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigChange {
    /// Key as written in the rendered file (engine spelling).
    pub key: String,
    /// Value as written in the new file; `None` when the line was removed.
    pub value: Option<String>,
}

/// How a configuration change was applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LiveOutcome {
    /// Every change took effect without a restart.
    Applied,
    /// These keys cannot change at runtime: a restart is needed.
    NeedsRestart(Vec<String>),
}

#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    /// Could not reach or run on the host.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The engine refused something (a setting, a statement); `message` is
    /// the engine's own error, verbatim.
    #[error("{host}: {engine} rejected {what}: {message}")]
    Rejected {
        host: String,
        engine: String,
        what: String,
        message: String,
    },
    /// The engine did not become healthy in time; `log` is the tail of its log.
    #[error("{host}: {engine} did not become healthy within {seconds}s{}", log_suffix(.log))]
    NotHealthy {
        host: String,
        engine: String,
        seconds: u64,
        log: String,
    },
    /// The engine binary is missing on the host.
    #[error("{host}: {program} is not installed")]
    NotInstalled { host: String, program: String },
    /// Anything else, with a description.
    #[error("{host}: {message}")]
    Other { host: String, message: String },
}

fn log_suffix(log: &str) -> String {
    if log.trim().is_empty() {
        String::new()
    } else {
        format!("; last log lines:\n{}", log.trim_end())
    }
}

pub type Result<T> = std::result::Result<T, DriverError>;

/// How dbfleet drives one engine family. All methods take the node's
/// transport and context; none may print or read anything but the host.
///
/// Files: the executor writes the rendered config files itself (through
/// `Transport::write_file`, keeping `<path>.dbfleet-prev`) before calling
/// `init`/`seed`/`start`/`apply_live`.
pub trait Driver: Send + Sync {
    /// Observe the engine on the node. A stopped or missing engine is not an
    /// error: it is reported in the state. Errors only when the host cannot
    /// be reached.
    fn observe<'a>(&'a self, t: &'a dyn Transport, cx: &'a NodeCx<'a>) -> BoxFuture<'a, Result<EngineState>>;

    /// The read-only commands `observe` is expected to run on a healthy
    /// node, exactly as it builds them: the caller runs them ahead in one
    /// batch ([`crate::transport::Prefetched`]). Anything `observe` asks
    /// that is not here still runs, so this only has to be a good guess.
    fn observe_commands(&self, _t: &dyn Transport, _cx: &NodeCx<'_>) -> Vec<Command> {
        Vec::new()
    }

    /// Write the engine's secret files (Redis-family include file with
    /// requirepass/masterauth, PostgreSQL's .pgpass, MySQL client option
    /// file if used), mode 0600/0640, owned by the engine user. Idempotent.
    fn write_secrets<'a>(&'a self, t: &'a dyn Transport, cx: &'a NodeCx<'a>) -> BoxFuture<'a, Result<()>>;

    /// Initialise an empty data directory for a first node (primary or the
    /// first multi-master node) and leave the engine *stopped*. Idempotent:
    /// nothing when already initialised. Writes the initialised marker last.
    fn init<'a>(&'a self, t: &'a dyn Transport, cx: &'a NodeCx<'a>) -> BoxFuture<'a, Result<()>>;

    /// Start the engine (systemd or direct per `cx.service`) and wait until
    /// it answers, within a timeout; on timeout, `NotHealthy` with the log
    /// tail. Idempotent: nothing when already running.
    fn start<'a>(&'a self, t: &'a dyn Transport, cx: &'a NodeCx<'a>) -> BoxFuture<'a, Result<()>>;

    /// Stop the engine cleanly and wait until it is gone. Idempotent.
    fn stop<'a>(&'a self, t: &'a dyn Transport, cx: &'a NodeCx<'a>) -> BoxFuture<'a, Result<()>>;

    /// On a running first node: create the admin and replication users with
    /// the passwords of `cx.secrets` (and, where the engine needs it, grant
    /// access from the peers). Idempotent (passwords re-set).
    fn create_users<'a>(&'a self, t: &'a dyn Transport, cx: &'a NodeCx<'a>) -> BoxFuture<'a, Result<()>>;

    /// Make `replica` a copy of `source` (the primary, running): stop the
    /// replica's engine if running, replace its data directory with a
    /// physical copy streamed over SSH (`transport::pipe`: mariadb-backup,
    /// pg_basebackup) or, for the Redis family, leave it to the engine's
    /// full sync. Writes the initialised marker last; leaves the engine
    /// stopped. A copy interrupted halfway is redone by the next call.
    fn seed<'a>(
        &'a self,
        source: &'a dyn Transport,
        source_cx: &'a NodeCx<'a>,
        replica: &'a dyn Transport,
        cx: &'a NodeCx<'a>,
    ) -> BoxFuture<'a, Result<()>>;

    /// On a running node: replicate from `from` (CHANGE MASTER / REPLICAOF
    /// / standby settings already rendered) and wait until the stream is up.
    /// Idempotent: nothing when already replicating from `from`.
    fn start_replication<'a>(
        &'a self,
        t: &'a dyn Transport,
        cx: &'a NodeCx<'a>,
        from: &'a PeerRef,
    ) -> BoxFuture<'a, Result<()>>;

    /// On the primary of a switchover: stop taking writes, and keep it so
    /// for at least `hold` (an engine whose fence expires by itself, the
    /// Redis family's CLIENT PAUSE, holds it that long). MySQL family:
    /// read_only (and super_read_only where the engine has it), client
    /// connections ended. PostgreSQL: a clean (fast) stop, which writes the
    /// shutdown checkpoint its standbys receive. Redis family: CLIENT PAUSE
    /// WRITE. Idempotent.
    fn fence<'a>(
        &'a self,
        t: &'a dyn Transport,
        cx: &'a NodeCx<'a>,
        hold: std::time::Duration,
    ) -> BoxFuture<'a, Result<()>>;

    /// Undo [`Driver::fence`] on a node that is still the primary (a
    /// switchover that failed before its promote). Idempotent.
    fn unfence<'a>(&'a self, t: &'a dyn Transport, cx: &'a NodeCx<'a>) -> BoxFuture<'a, Result<()>>;

    /// The write position of a fenced primary, in the engine's terms: the
    /// GTID set of its binary log, the LSN of its shutdown checkpoint, the
    /// replication offset. Read from the stopped server's control file where
    /// the fence stopped it.
    fn write_position<'a>(
        &'a self,
        t: &'a dyn Transport,
        cx: &'a NodeCx<'a>,
    ) -> BoxFuture<'a, Result<String>>;

    /// On a replica: wait until it has applied everything up to
    /// `position` (from [`Driver::write_position`] of its primary), for at
    /// most `timeout`; `NotHealthy` past it.
    fn wait_caught_up<'a>(
        &'a self,
        t: &'a dyn Transport,
        cx: &'a NodeCx<'a>,
        position: &'a str,
        timeout: std::time::Duration,
    ) -> BoxFuture<'a, Result<()>>;

    /// Make this replica a writable primary: stop replicating and forget
    /// its source, leave recovery, accept writes. Idempotent: nothing on a
    /// node that already is a writable primary.
    fn promote<'a>(&'a self, t: &'a dyn Transport, cx: &'a NodeCx<'a>) -> BoxFuture<'a, Result<()>>;

    /// Make this node (a replica of the old primary, or the fenced old
    /// primary itself) replicate from `to`, the new primary, without a new
    /// seed: a GTID repoint, a cleanly stopped primary started as a
    /// standby, REPLICAOF. Its rendered configuration (which names `to`)
    /// is already written. Waits until the stream is up. Idempotent.
    fn repoint<'a>(
        &'a self,
        t: &'a dyn Transport,
        cx: &'a NodeCx<'a>,
        to: &'a PeerRef,
    ) -> BoxFuture<'a, Result<()>>;

    /// The systemd unit that runs the engine (pure), for disabling a node
    /// that is removed.
    fn unit(&self, cx: &NodeCx<'_>) -> String;

    /// On the primary: take away what a removed node `peer` had there to
    /// replicate (PostgreSQL: its slot, which would keep WAL forever; MySQL
    /// family: its replication account). Nothing for the Redis family (one
    /// password for all). Idempotent.
    fn forget_peer<'a>(
        &'a self,
        t: &'a dyn Transport,
        cx: &'a NodeCx<'a>,
        peer: &'a PeerRef,
    ) -> BoxFuture<'a, Result<()>>;

    /// The settings that differ between two renderings of the node's main
    /// config file (pure; no I/O).
    fn changed_settings(&self, old: &str, new: &str) -> Vec<ConfigChange>;

    /// Whether going from `old` to `new` (the main config file) must reach
    /// the primary before its replicas: a replica that needs a setting at
    /// least as high as its primary's would not start with a value lowered
    /// before the primary's (pure; no I/O). The roll is replicas first
    /// otherwise.
    fn primary_first(&self, _old: &str, _new: &str) -> bool {
        false
    }

    /// Whether [`Driver::check_config`] checks anything (then the executor
    /// checks every node's new file before the roll).
    fn has_config_check(&self) -> bool {
        false
    }

    /// Checks, with the engine's own program, that it would start on
    /// `content` as the node's main configuration file, before anything is
    /// written: from a staged copy beside the file, removed again.
    /// `Rejected` with the engine's words when it would not. Engines
    /// without such a check accept everything; their `apply_live` judges.
    fn check_config<'a>(
        &'a self,
        _t: &'a dyn Transport,
        _cx: &'a NodeCx<'a>,
        _content: &'a str,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async { Ok(()) })
    }

    /// On a running node whose new config file is already written (and
    /// was checked with [`Driver::check_config`]): apply
    /// `changes` at runtime where the engine allows (PostgreSQL reload per
    /// pg_settings.context; SET GLOBAL; CONFIG SET). A value the engine
    /// rejects is `Rejected` with the engine's message (the executor then
    /// restores the previous file). Keys that need a restart are returned.
    fn apply_live<'a>(
        &'a self,
        t: &'a dyn Transport,
        cx: &'a NodeCx<'a>,
        changes: &'a [ConfigChange],
    ) -> BoxFuture<'a, Result<LiveOutcome>>;
}

/// Helper for observers: parse `key=value` or `key:value` lines.
pub fn parse_pairs(text: &str, sep: char) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once(sep))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}
