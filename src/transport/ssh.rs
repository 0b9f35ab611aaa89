//! [`SshTransport`]: commands over SSH with russh.
//!
//! One connection per host, opened on first use and shared by every
//! command (each gets its own channel; up to `max_sessions` at once, as
//! sshd's MaxSessions allows). A connection that dropped is replaced on the
//! next command. Host keys are checked against a known_hosts file and never
//! learned: an unknown or changed key stops the work on that host.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use russh::client::{self, Handle};
use russh::keys::known_hosts::known_host_keys_path;
use russh::keys::{load_secret_key, PrivateKeyWithHashAlg};
use tokio::sync::{Mutex, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use super::command::Limit;
use super::{BoxFuture, Command, Output, Process, Result, Transport, TransportError};

mod exec;
mod hostkey;

use hostkey::{preferred_for, Client, ClientError};

/// How to reach hosts over SSH: already checked values (paths expanded,
/// durations parsed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshConfig {
    pub user: String,
    /// Private key file (OpenSSH format, not passphrase-protected).
    pub identity: PathBuf,
    pub known_hosts: PathBuf,
    pub port: u16,
    /// Limit for TCP connect, key exchange and authentication together.
    pub connect_timeout: Duration,
    /// Limit for commands that set no timeout of their own; `None`: no limit.
    pub command_timeout: Option<Duration>,
    /// Channels open at once on one connection (sshd's MaxSessions, 10 by default).
    pub max_sessions: usize,
    /// Keepalive interval; three unanswered keepalives close the connection.
    pub keepalive: Duration,
}

impl SshConfig {
    pub fn new(user: impl Into<String>, identity: PathBuf, known_hosts: PathBuf) -> Self {
        SshConfig {
            user: user.into(),
            identity,
            known_hosts,
            port: 22,
            connect_timeout: Duration::from_secs(10),
            command_timeout: None,
            max_sessions: 10,
            keepalive: Duration::from_secs(15),
        }
    }
}

/// Commands on one host over one shared SSH connection.
pub struct SshTransport {
    host: String,
    config: Arc<SshConfig>,
    conn: Mutex<Slot>,
    sessions: Arc<Semaphore>,
}

/// The shared connection, or how the last attempt to open it failed.
#[derive(Default)]
struct Slot {
    handle: Option<Arc<Handle<Client>>>,
    failed: Option<(Instant, TransportError)>,
}

impl std::fmt::Debug for SshTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SshTransport")
            .field("host", &self.host)
            .field("user", &self.config.user)
            .field("port", &self.config.port)
            .finish()
    }
}

impl SshTransport {
    /// Nothing is contacted until the first command.
    pub fn new(host: impl Into<String>, config: Arc<SshConfig>) -> Self {
        let sessions = Arc::new(Semaphore::new(config.max_sessions.max(1)));
        SshTransport {
            host: host.into(),
            config,
            conn: Mutex::new(Slot::default()),
            sessions,
        }
    }

    /// Opens the connection now (if not open yet): checks the host key and
    /// authenticates, so that problems show before any work starts.
    pub async fn connect(&self) -> Result<()> {
        self.connection().await.map(drop)
    }

    /// Closes the connection; the next command opens a new one.
    pub async fn disconnect(&self) {
        let handle = self.conn.lock().await.handle.take();
        if let Some(handle) = handle {
            let _ = handle
                .disconnect(russh::Disconnect::ByApplication, "", "en")
                .await;
        }
    }

    /// The shared connection, opened or re-opened as needed. Commands that
    /// were waiting while an attempt failed get that attempt's error rather
    /// than each waiting for a timeout of their own.
    async fn connection(&self) -> Result<Arc<Handle<Client>>> {
        let asked = Instant::now();
        let mut slot = self.conn.lock().await;
        if let Some(handle) = slot.handle.as_ref() {
            if !handle.is_closed() {
                return Ok(Arc::clone(handle));
            }
            tracing::debug!(host = %self.host, "connection closed; reconnecting");
        }
        if let Some((at, error)) = &slot.failed {
            if *at >= asked {
                return Err(error.clone());
            }
        }
        slot.handle = None;
        match self.open_connection().await {
            Ok(handle) => {
                let handle = Arc::new(handle);
                slot.handle = Some(Arc::clone(&handle));
                slot.failed = None;
                Ok(handle)
            }
            Err(error) => {
                slot.failed = Some((Instant::now(), error.clone()));
                Err(error)
            }
        }
    }

    /// Drops `stale` from the cache, unless another command replaced it.
    async fn forget(&self, stale: &Arc<Handle<Client>>) {
        let mut slot = self.conn.lock().await;
        if slot.handle.as_ref().is_some_and(|h| Arc::ptr_eq(h, stale)) {
            slot.handle = None;
        }
    }

    async fn open_connection(&self) -> Result<Handle<Client>> {
        let cfg = &self.config;
        let started = Instant::now();
        let key = load_secret_key(&cfg.identity, None).map_err(|e| TransportError::Identity {
            host: self.host.clone(),
            identity: cfg.identity.clone(),
            cause: Arc::new(e),
        })?;
        let recorded = known_host_keys_path(&self.host, cfg.port, &cfg.known_hosts)
            .map_err(|e| self.known_hosts_error(e))?;
        let client_config = client::Config {
            preferred: preferred_for(recorded.iter().map(|(_, k)| k)),
            keepalive_interval: Some(cfg.keepalive),
            keepalive_max: 3,
            nodelay: true,
            ..client::Config::default()
        };
        let handler = Client {
            host: self.host.clone(),
            port: cfg.port,
            known_hosts: cfg.known_hosts.clone(),
        };
        let handshake = async {
            let mut handle =
                client::connect(Arc::new(client_config), (self.host.as_str(), cfg.port), handler)
                    .await
                    .map_err(|e| match e {
                        ClientError::HostKey(refused) => refused,
                        ClientError::Ssh(e) => self.connect_error(e),
                    })?;
            let hash = handle
                .best_supported_rsa_hash()
                .await
                .map_err(|e| self.connect_error(e))?
                .flatten();
            let key = PrivateKeyWithHashAlg::new(Arc::new(key), hash);
            let auth = handle
                .authenticate_publickey(cfg.user.clone(), key)
                .await
                .map_err(|e| self.connect_error(e))?;
            if !auth.success() {
                return Err(TransportError::AuthRefused {
                    host: self.host.clone(),
                    user: cfg.user.clone(),
                    identity: cfg.identity.clone(),
                });
            }
            Ok(handle)
        };
        let handle = tokio::time::timeout(cfg.connect_timeout, handshake)
            .await
            .map_err(|_| TransportError::Timeout {
                host: self.host.clone(),
                what: format!("connecting to port {}", cfg.port),
                after: cfg.connect_timeout,
            })??;
        tracing::debug!(host = %self.host, elapsed = ?started.elapsed(), "ssh connected");
        Ok(handle)
    }

    fn connect_error(&self, e: russh::Error) -> TransportError {
        TransportError::Connect {
            host: self.host.clone(),
            cause: Arc::new(e),
        }
    }

    fn known_hosts_error(&self, e: russh::keys::Error) -> TransportError {
        TransportError::KnownHosts {
            host: self.host.clone(),
            known_hosts: self.config.known_hosts.clone(),
            cause: Arc::new(e),
        }
    }

    /// A session slot and a channel, within `deadline`. A connection on
    /// which the channel cannot be opened (it died without us noticing)
    /// is dropped, and the open retried once on a fresh one.
    async fn open_channel(
        &self,
        program: &str,
        limit: Option<Limit>,
    ) -> Result<(russh::Channel<client::Msg>, OwnedSemaphorePermit)> {
        let opening = async {
            let permit = Arc::clone(&self.sessions)
                .acquire_owned()
                .await
                .map_err(|e| self.channel_error(program, Arc::new(e)))?;
            let mut retried = false;
            loop {
                let handle = self.connection().await?;
                match handle.channel_open_session().await {
                    Ok(channel) => return Ok((channel, permit)),
                    Err(russh::Error::ChannelOpenFailure(reason)) => {
                        let cause = format!("the host refused a channel: {reason:?}");
                        return Err(self.channel_error(program, super::error::message(cause)));
                    }
                    Err(e) if retried => return Err(self.channel_error(program, Arc::new(e))),
                    Err(e) => {
                        tracing::debug!(host = %self.host, error = %e, "channel open failed; reconnecting");
                        self.forget(&handle).await;
                        retried = true;
                    }
                }
            }
        };
        let Some(limit) = limit else {
            return opening.await;
        };
        match tokio::time::timeout_at(limit.deadline().into(), opening).await {
            Ok(opened) => opened,
            Err(_) => {
                // Most likely a dead connection: start afresh next time.
                self.conn.lock().await.handle = None;
                Err(TransportError::Timeout {
                    host: self.host.clone(),
                    what: format!("opening a channel for {program}"),
                    after: limit.limit,
                })
            }
        }
    }

    fn channel_error(&self, program: &str, cause: super::Cause) -> TransportError {
        TransportError::Channel {
            host: self.host.clone(),
            program: program.to_string(),
            cause,
        }
    }
}

impl Transport for SshTransport {
    fn host(&self) -> &str {
        &self.host
    }

    fn run<'a>(&'a self, cmd: &'a Command) -> BoxFuture<'a, Result<Output>> {
        Box::pin(self.run_command(cmd))
    }

    fn run_all<'a>(&'a self, cmds: &'a [Command]) -> BoxFuture<'a, Result<Vec<Output>>> {
        Box::pin(super::run_batch(self, cmds))
    }

    fn spawn<'a>(&'a self, cmd: &'a Command) -> BoxFuture<'a, Result<Process>> {
        Box::pin(self.spawn_command(cmd))
    }
}
