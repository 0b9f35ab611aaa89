//! The MySQL-family driver: MariaDB (10.6+) and MySQL (8.0, 8.4).
//!
//! dbfleet talks to the server as root over the local socket with the
//! engine's own client on the host (root authenticates as the system's
//! root: unix_socket on MariaDB, auth_socket on MySQL), so the driver needs
//! no secret file of its own; passwords only travel inside SQL on the
//! client's stdin. Every MariaDB/MySQL difference lives in [`flavor`].
//!
//! Files the driver keeps in the data directory:
//! `.dbfleet-initialised` (written last by `init` and `seed`),
//! `.dbfleet-incomplete` (during `init`, MariaDB only) and
//! `.dbfleet-seed-gtid` (a seeded replica's starting GTID position, until
//! its first `start_replication`).
//!
//! Module map: `host` (one node: client, ping, files), `lifecycle` (init,
//! start, stop), `admin` (observe, users), `seed`, `replication`, `live`
//! (SET GLOBAL), and the pure parts `flavor`, `sql`, `status`, `cnf`.

mod admin;
mod cnf;
mod flavor;
mod host;
mod lifecycle;
mod live;
mod replication;
mod seed;
mod sql;
mod status;
mod switchover;
#[cfg(test)]
mod tests;

use host::Host;

use super::contract::{ConfigChange, Driver, EngineState, LiveOutcome, NodeCx, Result};
use crate::layout::PeerRef;
use crate::transport::{BoxFuture, Transport};

pub struct MysqlDriver;

impl Driver for MysqlDriver {
    fn observe<'a>(&'a self, t: &'a dyn Transport, cx: &'a NodeCx<'a>) -> BoxFuture<'a, Result<EngineState>> {
        Box::pin(async move { Host::new(t, cx).observe().await })
    }

    fn observe_commands(&self, t: &dyn Transport, cx: &NodeCx<'_>) -> Vec<crate::transport::Command> {
        Host::new(t, cx).observe_commands()
    }

    fn has_config_check(&self) -> bool {
        true
    }

    fn check_config<'a>(
        &'a self,
        t: &'a dyn Transport,
        cx: &'a NodeCx<'a>,
        content: &'a str,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move { Host::new(t, cx).check_config(content).await })
    }

    /// Nothing to write: the server keeps the credentials itself.
    fn write_secrets<'a>(&'a self, _t: &'a dyn Transport, _cx: &'a NodeCx<'a>) -> BoxFuture<'a, Result<()>> {
        Box::pin(async { Ok(()) })
    }

    fn init<'a>(&'a self, t: &'a dyn Transport, cx: &'a NodeCx<'a>) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move { Host::new(t, cx).init().await })
    }

    fn start<'a>(&'a self, t: &'a dyn Transport, cx: &'a NodeCx<'a>) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move { Host::new(t, cx).start().await })
    }

    fn stop<'a>(&'a self, t: &'a dyn Transport, cx: &'a NodeCx<'a>) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move { Host::new(t, cx).stop().await })
    }

    fn create_users<'a>(&'a self, t: &'a dyn Transport, cx: &'a NodeCx<'a>) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move { Host::new(t, cx).create_users().await })
    }

    fn seed<'a>(
        &'a self,
        source: &'a dyn Transport,
        source_cx: &'a NodeCx<'a>,
        replica: &'a dyn Transport,
        cx: &'a NodeCx<'a>,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move { seed::seed(&Host::new(source, source_cx), &Host::new(replica, cx)).await })
    }

    fn start_replication<'a>(
        &'a self,
        t: &'a dyn Transport,
        cx: &'a NodeCx<'a>,
        from: &'a PeerRef,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move { Host::new(t, cx).start_replication(from).await })
    }

    /// The `[mysqld]` settings that differ (and `[mysqld_safe]`'s, as
    /// `mysqld_safe.<key>`, which only a restart applies).
    fn fence<'a>(
        &'a self,
        t: &'a dyn Transport,
        cx: &'a NodeCx<'a>,
        _hold: std::time::Duration,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move { Host::new(t, cx).fence().await })
    }

    fn unfence<'a>(&'a self, t: &'a dyn Transport, cx: &'a NodeCx<'a>) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move { Host::new(t, cx).unfence().await })
    }

    fn write_position<'a>(
        &'a self,
        t: &'a dyn Transport,
        cx: &'a NodeCx<'a>,
    ) -> BoxFuture<'a, Result<String>> {
        Box::pin(async move { Host::new(t, cx).write_position().await })
    }

    fn wait_caught_up<'a>(
        &'a self,
        t: &'a dyn Transport,
        cx: &'a NodeCx<'a>,
        position: &'a str,
        timeout: std::time::Duration,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move { Host::new(t, cx).wait_caught_up(position, timeout).await })
    }

    fn promote<'a>(&'a self, t: &'a dyn Transport, cx: &'a NodeCx<'a>) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move { Host::new(t, cx).promote().await })
    }

    fn repoint<'a>(
        &'a self,
        t: &'a dyn Transport,
        cx: &'a NodeCx<'a>,
        to: &'a PeerRef,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move { Host::new(t, cx).repoint(to).await })
    }

    fn unit(&self, cx: &NodeCx<'_>) -> String {
        flavor::Flavor::of(cx.cluster.engine, &cx.cluster.version)
            .unit()
            .to_string()
    }

    fn forget_peer<'a>(
        &'a self,
        t: &'a dyn Transport,
        cx: &'a NodeCx<'a>,
        peer: &'a PeerRef,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move { Host::new(t, cx).forget_peer(peer).await })
    }

    fn changed_settings(&self, old: &str, new: &str) -> Vec<ConfigChange> {
        cnf::changed_settings(old, new)
    }

    fn apply_live<'a>(
        &'a self,
        t: &'a dyn Transport,
        cx: &'a NodeCx<'a>,
        changes: &'a [ConfigChange],
    ) -> BoxFuture<'a, Result<LiveOutcome>> {
        Box::pin(async move { Host::new(t, cx).apply_live(changes).await })
    }
}
