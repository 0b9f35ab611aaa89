//! The Redis family driver: Redis, Valkey and KeyDB. One driver; the
//! engines differ in their binaries (`redis-server`/`redis-cli`,
//! `valkey-server` with `valkey-cli` or else `redis-cli`,
//! `keydb-server`/`keydb-cli`), their paths (`render::engine_paths`) and
//! the version field `INFO` reports.
//!
//! Passwords: one per cluster. `secrets.admin_password` is written to the
//! included secrets file as both `requirepass` (clients, dbfleet's own
//! included) and `masterauth` (replicas to their primary), so any node can
//! replicate from any other after a failover. No ACL users are created;
//! `secrets.replication_password` is not used.
//!
//! The client runs on the host against the node's unix socket, with the
//! password handed over on stdin into `REDISCLI_AUTH` (see [`client`]).
//! There is no initdb: `init` prepares the data directory, and `seed`
//! empties a replica's so that the engine's own full sync (`replicaof` in
//! the rendered config) fills it when it starts.

mod client;
mod conf;
mod host;
mod info;
mod lifecycle;
mod observe;
mod replication;
mod switchover;

use crate::layout::PeerRef;
use crate::transport::{BoxFuture, Transport};

use super::contract::{ConfigChange, Driver, EngineState, LiveOutcome, NodeCx, Result};

pub use host::MARKER;
pub use lifecycle::{START_TIMEOUT, STOP_TIMEOUT};
pub use replication::SYNC_STALL_TIMEOUT;

pub struct RedisDriver;

impl Driver for RedisDriver {
    fn observe<'a>(&'a self, t: &'a dyn Transport, cx: &'a NodeCx<'a>) -> BoxFuture<'a, Result<EngineState>> {
        Box::pin(observe::observe(t, cx))
    }

    fn observe_commands(&self, _t: &dyn Transport, cx: &NodeCx<'_>) -> Vec<crate::transport::Command> {
        observe::observe_commands(cx)
    }

    fn write_secrets<'a>(&'a self, t: &'a dyn Transport, cx: &'a NodeCx<'a>) -> BoxFuture<'a, Result<()>> {
        Box::pin(lifecycle::write_secrets(t, cx))
    }

    fn init<'a>(&'a self, t: &'a dyn Transport, cx: &'a NodeCx<'a>) -> BoxFuture<'a, Result<()>> {
        Box::pin(lifecycle::init(t, cx))
    }

    fn start<'a>(&'a self, t: &'a dyn Transport, cx: &'a NodeCx<'a>) -> BoxFuture<'a, Result<()>> {
        Box::pin(lifecycle::start(t, cx))
    }

    fn stop<'a>(&'a self, t: &'a dyn Transport, cx: &'a NodeCx<'a>) -> BoxFuture<'a, Result<()>> {
        Box::pin(lifecycle::stop(t, cx))
    }

    /// Nothing to create: the password is `requirepass`, loaded from the
    /// secrets file at start.
    fn create_users<'a>(&'a self, _t: &'a dyn Transport, _cx: &'a NodeCx<'a>) -> BoxFuture<'a, Result<()>> {
        Box::pin(async { Ok(()) })
    }

    fn seed<'a>(
        &'a self,
        source: &'a dyn Transport,
        source_cx: &'a NodeCx<'a>,
        replica: &'a dyn Transport,
        cx: &'a NodeCx<'a>,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(lifecycle::seed(source, source_cx, replica, cx))
    }

    fn start_replication<'a>(
        &'a self,
        t: &'a dyn Transport,
        cx: &'a NodeCx<'a>,
        from: &'a PeerRef,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(replication::start_replication(t, cx, from))
    }

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
        cx.cluster.engine.server_name().to_string()
    }

    fn forget_peer<'a>(
        &'a self,
        _t: &'a dyn Transport,
        _cx: &'a NodeCx<'a>,
        _peer: &'a PeerRef,
    ) -> BoxFuture<'a, Result<()>> {
        // One password for every replica: nothing is the peer's alone.
        Box::pin(async { Ok(()) })
    }

    fn changed_settings(&self, old: &str, new: &str) -> Vec<ConfigChange> {
        conf::changed_settings(old, new)
    }

    fn apply_live<'a>(
        &'a self,
        t: &'a dyn Transport,
        cx: &'a NodeCx<'a>,
        changes: &'a [ConfigChange],
    ) -> BoxFuture<'a, Result<LiveOutcome>> {
        Box::pin(replication::apply_live(t, cx, changes))
    }
}
