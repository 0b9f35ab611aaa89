//! The mysql family driver. (Being written.)

use crate::layout::PeerRef;
use crate::transport::{BoxFuture, Transport};

use super::contract::{ConfigChange, Driver, DriverError, EngineState, LiveOutcome, NodeCx, Result};

pub struct MysqlDriver;

impl Driver for MysqlDriver {
    fn observe<'a>(
        &'a self,
        t: &'a dyn Transport,
        _cx: &'a NodeCx<'a>,
    ) -> BoxFuture<'a, Result<EngineState>> {
        Box::pin(async move { Err(pending(t)) })
    }
    fn write_secrets<'a>(&'a self, t: &'a dyn Transport, _cx: &'a NodeCx<'a>) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move { Err(pending(t)) })
    }
    fn init<'a>(&'a self, t: &'a dyn Transport, _cx: &'a NodeCx<'a>) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move { Err(pending(t)) })
    }
    fn start<'a>(&'a self, t: &'a dyn Transport, _cx: &'a NodeCx<'a>) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move { Err(pending(t)) })
    }
    fn stop<'a>(&'a self, t: &'a dyn Transport, _cx: &'a NodeCx<'a>) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move { Err(pending(t)) })
    }
    fn create_users<'a>(&'a self, t: &'a dyn Transport, _cx: &'a NodeCx<'a>) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move { Err(pending(t)) })
    }
    fn seed<'a>(
        &'a self,
        _source: &'a dyn Transport,
        _source_cx: &'a NodeCx<'a>,
        replica: &'a dyn Transport,
        _cx: &'a NodeCx<'a>,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move { Err(pending(replica)) })
    }
    fn start_replication<'a>(
        &'a self,
        t: &'a dyn Transport,
        _cx: &'a NodeCx<'a>,
        _from: &'a PeerRef,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move { Err(pending(t)) })
    }
    fn changed_settings(&self, _old: &str, _new: &str) -> Vec<ConfigChange> {
        Vec::new()
    }
    fn apply_live<'a>(
        &'a self,
        t: &'a dyn Transport,
        _cx: &'a NodeCx<'a>,
        _changes: &'a [ConfigChange],
    ) -> BoxFuture<'a, Result<LiveOutcome>> {
        Box::pin(async move { Err(pending(t)) })
    }
}

fn pending(t: &dyn Transport) -> DriverError {
    DriverError::Other {
        host: t.host().to_string(),
        message: "driver not written yet".into(),
    }
}
