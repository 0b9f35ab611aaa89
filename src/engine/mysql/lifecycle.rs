//! Bringing a node's server into being and up and down: initialising the
//! data directory, starting (systemd or directly under mysqld_safe) and
//! stopping.

use std::time::{Duration, Instant};

use super::host::{Host, INCOMPLETE, INITIALISED};
use crate::engine::contract::Result;
use crate::transport::Command;

/// How long a start may take before the node counts as not healthy
/// (InnoDB crash recovery included).
const START_TIMEOUT: Duration = Duration::from_secs(180);
/// How long a clean shutdown may take.
const STOP_TIMEOUT: Duration = Duration::from_secs(300);
const POLL: Duration = Duration::from_millis(250);

/// Removes everything inside directory `$1`, keeping the directory itself.
const WIPE: &str = "find \"$1\" -mindepth 1 -delete";
/// Names of the entries of directory `$1`, one a line.
const LIST: &str = "find \"$1\" -mindepth 1 -maxdepth 1 -printf '%f\\n'";

impl Host<'_> {
    /// The initialised marker is there.
    pub(crate) async fn initialised(&self) -> Result<bool> {
        self.exists(&self.data_file(INITIALISED)).await
    }

    /// See [`crate::engine::Driver::init`]. An empty data directory is
    /// initialised; one left half-done by an earlier `init` is wiped and
    /// initialised again; one that already holds the system schema (the
    /// distribution's package set it up) is adopted as it is. Anything else
    /// is refused: dbfleet does not delete data it did not create.
    pub(crate) async fn init(&self) -> Result<()> {
        if self.initialised().await? {
            return Ok(());
        }
        let p = self.cx.paths;
        self.require(&[&p.server_binary]).await?;
        if self.flavor.is_mariadb() {
            self.require(&["mariadb-install-db"]).await?;
        }
        self.stop().await?;
        self.ensure_dir(&p.data_dir, &p.user, &p.group, "0750").await?;
        let entries = self.data_entries().await?;
        let half_done = entries.iter().any(|e| e == INCOMPLETE);
        let visible: Vec<&String> = entries
            .iter()
            .filter(|e| !e.starts_with('.') && *e != "lost+found")
            .collect();
        if half_done {
            self.wipe_data_dir().await?;
        } else if visible.iter().any(|e| *e == "mysql") {
            tracing::info!(host = self.name(), dir = %p.data_dir, "adopting an existing data directory");
            return self.write_data_file(INITIALISED, "init: adopted\n").await;
        } else if !visible.is_empty() {
            return Err(self.other(format!(
                "{} is not empty and holds no MySQL system schema (found {}); \
                 dbfleet does not overwrite data it did not create: move it away first",
                p.data_dir,
                visible
                    .iter()
                    .take(5)
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        if self.flavor.install_tolerates_marker() {
            self.write_data_file(INCOMPLETE, "init in progress\n").await?;
        }
        let install = self
            .flavor
            .install(&p.server_binary, self.config(), &p.data_dir, &p.user);
        let out = self.run(&install).await?;
        if !out.success() {
            let log = self.log_tail().await.unwrap_or_default();
            return Err(self.other(format!(
                "{} failed: {}{}",
                install.program,
                out.stderr_str().trim(),
                if log.trim().is_empty() {
                    String::new()
                } else {
                    format!("\nlast log lines:\n{}", log.trim_end())
                }
            )));
        }
        self.remove_data_file(INCOMPLETE).await?;
        self.write_data_file(INITIALISED, "init\n").await
    }

    async fn data_entries(&self) -> Result<Vec<String>> {
        let out = self
            .run_checked(&Self::sh(LIST, &[&self.cx.paths.data_dir]))
            .await?;
        Ok(out.stdout_str().lines().map(str::to_string).collect())
    }

    /// Empties the data directory (the engine must be stopped).
    pub(crate) async fn wipe_data_dir(&self) -> Result<()> {
        let dir = &self.cx.paths.data_dir;
        if !dir.starts_with('/') || dir.trim_end_matches('/').matches('/').count() < 2 {
            return Err(self.other(format!("refusing to wipe data directory {dir:?}")));
        }
        self.run_checked(&Self::sh(WIPE, &[dir])).await.map(drop)
    }

    /// See [`crate::engine::Driver::start`].
    pub(crate) async fn start(&self) -> Result<()> {
        if self.ping().await? {
            return Ok(());
        }
        let p = self.cx.paths;
        self.require(&[&p.server_binary]).await?;
        // /run is a tmpfs: the socket directory is gone after a reboot.
        self.ensure_dir(&p.run_dir, &p.user, &p.group, "0755").await?;
        self.ensure_dir(&p.log_dir, &p.user, &p.group, "2750").await?;
        let started = Instant::now();
        if self.cx.service.is_systemd() {
            let cmd = Command::new("systemctl")
                .args(["start", self.flavor.unit()])
                .timeout(START_TIMEOUT);
            let out = self.run(&cmd).await?;
            if !out.success() {
                let mut e = self.not_healthy(started.elapsed().as_secs()).await;
                if let crate::engine::DriverError::NotHealthy { log, .. } = &mut e {
                    log.insert_str(0, &format!("systemctl start: {}\n", out.stderr_str().trim()));
                }
                return Err(e);
            }
        } else if !self.any_process().await? {
            if self.flavor.is_mariadb() {
                self.require(&["mysqld_safe"]).await?;
            }
            let argv = self.flavor.direct_start(&p.server_binary, self.config());
            self.detach(&argv).await?;
        }
        // Otherwise a server is on its way up already (crash recovery after
        // an earlier start timed out, say): a second one would only fail on
        // the locked data files. Wait for it instead.
        self.wait_for_ping(started).await
    }

    /// Polls ping until it answers; gives up early when every engine
    /// process has exited (mysqld_safe stops retrying a server that aborts
    /// at once).
    async fn wait_for_ping(&self, started: Instant) -> Result<()> {
        let mut polls = 0u32;
        loop {
            if self.ping().await? {
                return Ok(());
            }
            polls += 1;
            let gone = polls > 8 && polls % 4 == 0 && !self.any_process().await?;
            if gone || started.elapsed() > START_TIMEOUT {
                return Err(self.not_healthy(started.elapsed().as_secs()).await);
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// See [`crate::engine::Driver::stop`]: a clean shutdown, then waiting
    /// until mysqld_safe and the server have exited.
    pub(crate) async fn stop(&self) -> Result<()> {
        let started = Instant::now();
        if self.cx.service.is_systemd() {
            let cmd = Command::new("systemctl")
                .args(["stop", self.flavor.unit()])
                .timeout(STOP_TIMEOUT);
            self.run_checked(&cmd).await?;
        } else if self.ping().await? {
            let cmd = Command::new(self.flavor.admin())
                .args([
                    format!("--socket={}", self.cx.paths.socket),
                    "shutdown".to_string(),
                ])
                .timeout(STOP_TIMEOUT);
            let out = self.run(&cmd).await?;
            // The server may be gone before the tool hears back; what counts
            // is that the processes end.
            if !out.success() && self.ping().await? {
                return Err(self.other(format!(
                    "{} shutdown failed: {}",
                    self.flavor.admin(),
                    out.stderr_str().trim()
                )));
            }
        }
        let mut termed = false;
        while self.any_process().await? {
            // A server that does not answer (still starting, or stuck)
            // shuts down cleanly on SIGTERM too; mysqld_safe follows it.
            if !termed && started.elapsed() > Duration::from_secs(10) {
                if let Some(pid) = self.server_pid().await? {
                    self.run(&Command::new("kill").args(["-TERM", &pid.to_string()]))
                        .await?;
                }
                termed = true;
            }
            if started.elapsed() > STOP_TIMEOUT {
                return Err(self.other(format!(
                    "{} still running {}s after shutdown",
                    self.flavor.name(),
                    started.elapsed().as_secs()
                )));
            }
            tokio::time::sleep(POLL).await;
        }
        Ok(())
    }
}
