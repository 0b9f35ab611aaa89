//! The PostgreSQL family driver: `postgresql`, `timescaledb` and `hydra`
//! (the latter two differ only in the extension their templates preload).
//!
//! Layout (Debian's): configuration in `/etc/postgresql/<v>/main`, data in
//! `/var/lib/postgresql/<v>/main`, the tools in `/usr/lib/postgresql/<v>/bin`
//! (never from PATH), run as `postgres` through `runuser` from /tmp.
//! State is read with psql over the local socket (peer authentication as
//! `postgres`); SQL goes on psql's stdin, so passwords never show on a
//! command line.
//!
//! - [`lifecycle`]: initdb, start/stop (pg_ctl or systemd), the `.pgpass`,
//!   seeding a standby with `pg_basebackup` run on the standby itself.
//! - [`replication`]: users and slots, `start_replication`, `observe`.
//! - [`live`]: checked reloads and what needs a restart.
//! - [`conf`], [`sql`]: the pure parts (file parsing, quoting, psql output).
//!
//! The "initialised" marker ([`host::MARKER`]) is the last thing written
//! into a data directory, after initdb or after a complete base backup.

mod conf;
mod host;
mod lifecycle;
mod live;
mod replication;
mod sql;
mod switchover;
#[cfg(test)]
mod tests;

pub use conf::{FILE_KEY, HBA_KEY};
pub use host::MARKER;
pub use lifecycle::{START_TIMEOUT, STOP_TIMEOUT};
pub use replication::STREAM_TIMEOUT;
pub use sql::{quote_ident, quote_literal};

use crate::layout::PeerRef;
use crate::transport::{BoxFuture, Transport};

use super::contract::{ConfigChange, Driver, EngineState, LiveOutcome, NodeCx, Result};

/// The driver of the PostgreSQL family.
pub struct PostgresDriver;

impl Driver for PostgresDriver {
    fn observe<'a>(&'a self, t: &'a dyn Transport, cx: &'a NodeCx<'a>) -> BoxFuture<'a, Result<EngineState>> {
        Box::pin(replication::observe(t, cx))
    }

    fn observe_commands(&self, _t: &dyn Transport, cx: &NodeCx<'_>) -> Vec<crate::transport::Command> {
        replication::observe_commands(cx)
    }

    /// The replication user's `.pgpass` (`paths.secrets_file`, 0600,
    /// postgres), which `primary_conninfo`'s `passfile=` and pg_basebackup
    /// read. Written on every node, so any node can become a standby.
    fn write_secrets<'a>(&'a self, t: &'a dyn Transport, cx: &'a NodeCx<'a>) -> BoxFuture<'a, Result<()>> {
        Box::pin(lifecycle::write_secrets(t, cx))
    }

    /// initdb (peer locally, scram-sha-256 over TCP, UTF8, C.UTF-8), then
    /// the marker. Refuses a data directory that holds files but no marker
    /// rather than touch data dbfleet did not create.
    fn init<'a>(&'a self, t: &'a dyn Transport, cx: &'a NodeCx<'a>) -> BoxFuture<'a, Result<()>> {
        Box::pin(lifecycle::init(t, cx))
    }

    /// Creates the socket directory (on /run, a tmpfs) and the log
    /// directory, removes a `postmaster.pid` left by a power-off when its pid
    /// is not a postmaster of this data directory, then starts and waits
    /// until psql gets an answer.
    fn start<'a>(&'a self, t: &'a dyn Transport, cx: &'a NodeCx<'a>) -> BoxFuture<'a, Result<()>> {
        Box::pin(lifecycle::start(t, cx))
    }

    /// Fast shutdown (`pg_ctl stop -m fast -w`), waiting until it is gone.
    fn stop<'a>(&'a self, t: &'a dyn Transport, cx: &'a NodeCx<'a>) -> BoxFuture<'a, Result<()>> {
        Box::pin(lifecycle::stop(t, cx))
    }

    /// The admin role (SUPERUSER LOGIN), the replication role (REPLICATION
    /// LOGIN), and a physical slot ([`crate::render::slot_name`]) for every
    /// peer. Passwords are re-set every time.
    fn create_users<'a>(&'a self, t: &'a dyn Transport, cx: &'a NodeCx<'a>) -> BoxFuture<'a, Result<()>> {
        Box::pin(replication::create_users(t, cx))
    }

    /// pg_basebackup runs on the replica and pulls from the source over
    /// PostgreSQL's replication protocol (no SSH pipe): into a staging
    /// directory beside the data directory, using the replica's slot (made
    /// on the source first); then `standby.signal` and the marker, and the
    /// copy is renamed into place.
    fn seed<'a>(
        &'a self,
        source: &'a dyn Transport,
        source_cx: &'a NodeCx<'a>,
        replica: &'a dyn Transport,
        cx: &'a NodeCx<'a>,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(lifecycle::seed(source, source_cx, replica, cx))
    }

    /// Checks that the written `postgresql.conf` points `primary_conninfo`
    /// at `from`; a stopped node gets `standby.signal` and is started, a
    /// running standby reloads; then waits until the WAL receiver streams
    /// from `from`. A running primary is an error (it needs a rewind).
    fn start_replication<'a>(
        &'a self,
        t: &'a dyn Transport,
        cx: &'a NodeCx<'a>,
        from: &'a PeerRef,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(replication::start_replication(t, cx, from))
    }

    /// See [`conf::changed_settings`]: settings compared by value; a
    /// `pg_hba.conf` passed here gives the pseudo key [`HBA_KEY`].
    fn fence<'a>(
        &'a self,
        t: &'a dyn Transport,
        cx: &'a NodeCx<'a>,
        _hold: std::time::Duration,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(switchover::fence(t, cx))
    }

    fn unfence<'a>(&'a self, t: &'a dyn Transport, cx: &'a NodeCx<'a>) -> BoxFuture<'a, Result<()>> {
        Box::pin(switchover::unfence(t, cx))
    }

    fn write_position<'a>(
        &'a self,
        t: &'a dyn Transport,
        cx: &'a NodeCx<'a>,
    ) -> BoxFuture<'a, Result<String>> {
        Box::pin(switchover::write_position(t, cx))
    }

    fn wait_caught_up<'a>(
        &'a self,
        t: &'a dyn Transport,
        cx: &'a NodeCx<'a>,
        position: &'a str,
        timeout: std::time::Duration,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(switchover::wait_caught_up(t, cx, position, timeout))
    }

    fn promote<'a>(&'a self, t: &'a dyn Transport, cx: &'a NodeCx<'a>) -> BoxFuture<'a, Result<()>> {
        Box::pin(switchover::promote(t, cx))
    }

    fn repoint<'a>(
        &'a self,
        t: &'a dyn Transport,
        cx: &'a NodeCx<'a>,
        to: &'a PeerRef,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(switchover::repoint(t, cx, to))
    }

    fn unit(&self, cx: &NodeCx<'_>) -> String {
        host::unit(cx)
    }

    fn forget_peer<'a>(
        &'a self,
        t: &'a dyn Transport,
        cx: &'a NodeCx<'a>,
        peer: &'a PeerRef,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(replication::drop_slot(t, cx, &peer.name))
    }

    fn changed_settings(&self, old: &str, new: &str) -> Vec<ConfigChange> {
        conf::changed_settings(old, new)
    }

    fn primary_first(&self, old: &str, new: &str) -> bool {
        conf::lowers_standby_minimum(old, new)
    }

    /// Checks the written files, reloads, and reports `pending_restart`
    /// parameters. Every call reloads all files (`pg_hba.conf` too), so an
    /// empty `changes` is a plain checked reload.
    fn apply_live<'a>(
        &'a self,
        t: &'a dyn Transport,
        cx: &'a NodeCx<'a>,
        changes: &'a [ConfigChange],
    ) -> BoxFuture<'a, Result<LiveOutcome>> {
        Box::pin(live::apply_live(t, cx, changes))
    }
}
