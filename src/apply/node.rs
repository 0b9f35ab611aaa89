//! What the steps on one node share: its driver, transport and context,
//! progress around each driver call, file writes, grants, the data
//! directory's owner marker, replication.

use std::time::Instant;

use super::{ApplyError, ClusterRun};
use crate::engine::{self, Driver, DriverError, NodeCx};
use crate::layout::{NodeLayout, PeerRef};
use crate::render::{engine_paths, EnginePaths, RenderedFile};
use crate::transport::{SshTransport, Transport};

impl<'a> ClusterRun<'a> {
    pub(super) fn driver(&self) -> &'static dyn Driver {
        engine::driver(self.cluster.engine)
    }

    pub(super) fn paths(&self) -> EnginePaths {
        engine_paths(self.cluster.engine, &self.cluster.version)
    }

    pub(super) fn cx<'c>(&'c self, node: &'c NodeLayout, paths: &'c EnginePaths) -> NodeCx<'c> {
        NodeCx {
            cluster: self.cluster,
            node,
            paths,
            service: self
                .services
                .get(&node.name)
                .copied()
                .unwrap_or(crate::engine::ServiceMode::Direct),
            secrets: self.secrets,
        }
    }

    pub(super) fn transport(&self, node: &NodeLayout) -> std::sync::Arc<SshTransport> {
        self.apply.pool.get(&node.host)
    }

    /// Run one driver step with progress and error context.
    pub(super) async fn step<T>(
        &self,
        node: &NodeLayout,
        what: &str,
        fut: impl std::future::Future<Output = Result<T, DriverError>>,
    ) -> Result<T, ApplyError> {
        let t0 = Instant::now();
        self.apply
            .progress
            .step_start(&self.cluster.name, &node.name, what);
        let r = fut.await;
        match &r {
            Ok(_) => self
                .apply
                .progress
                .step_done(&self.cluster.name, &node.name, what, t0.elapsed()),
            Err(e) => self
                .apply
                .progress
                .step_failed(&self.cluster.name, &node.name, what, e),
        }
        r.map_err(|source| ApplyError::Step {
            node: node.name.clone(),
            step: what.to_string(),
            source: Box::new(source),
        })
    }

    /// Write `f` when the node holds something else; true when written.
    pub(super) async fn write_if_changed(
        &self,
        t: &dyn Transport,
        node: &NodeLayout,
        f: &RenderedFile,
    ) -> Result<bool, ApplyError> {
        let current = self.current.get(&node.name).and_then(|c| c.get(&f.path));
        if current == Some(&f.content) {
            return Ok(false);
        }
        self.write(t, node, &f.path, &f.content, (f.mode, &f.owner, &f.group))
            .await?;
        self.apply
            .progress
            .note(&self.cluster.name, &format!("{}: wrote {}", node.name, f.path));
        Ok(true)
    }

    /// Write `content` to `path` on the node, with (mode, owner, group).
    pub(super) async fn write(
        &self,
        t: &dyn Transport,
        node: &NodeLayout,
        path: &str,
        content: &str,
        (mode, owner, group): (u32, &str, &str),
    ) -> Result<(), ApplyError> {
        t.write_file(path, content.as_bytes(), mode, owner, group)
            .await
            .map_err(|source| ApplyError::Write {
                node: node.name.clone(),
                path: path.to_string(),
                source: Box::new(source),
            })
    }

    /// On a running node of an existing cluster that new nodes will be
    /// seeded from: create the users again, so that the new nodes may
    /// replicate from it (replication grants by address, slots). Orphans
    /// (still allocated, gone from the file) count as peers: they keep
    /// their access until a remove-node request removes them.
    pub(super) async fn grant(&self, node: &NodeLayout, orphans: &[PeerRef]) -> Result<(), ApplyError> {
        let mut with_orphans = node.clone();
        with_orphans.peers.extend(orphans.iter().cloned());
        with_orphans.peers.sort_by_key(|p| p.number);
        let (t, paths) = (self.transport(node), self.paths());
        let cx = self.cx(&with_orphans, &paths);
        self.step(
            node,
            "create users for the new nodes",
            self.driver().create_users(t.as_ref(), &cx),
        )
        .await
    }

    /// Record in the node's data directory that its data belongs to this
    /// cluster, so that no other cluster (or state directory) takes it over.
    pub(super) async fn claim(
        &self,
        t: &dyn Transport,
        node: &NodeLayout,
        paths: &EnginePaths,
    ) -> Result<(), ApplyError> {
        let path = crate::observe::owner_file(&paths.data_dir);
        let content = format!("{}\n", self.cluster.name);
        self.write(t, node, &path, &content, (0o644, "root", "root"))
            .await
    }

    pub(super) async fn replicate(&self, node: &NodeLayout, from: &str) -> Result<(), ApplyError> {
        let Some(source) = self.node(from) else {
            return Ok(());
        };
        let (t, paths) = (self.transport(node), self.paths());
        let cx = self.cx(node, &paths);
        let peer = peer_ref(source);
        let what = format!("replicate from {from}");
        self.step(
            node,
            &what,
            self.driver().start_replication(t.as_ref(), &cx, &peer),
        )
        .await
    }
}

fn peer_ref(n: &NodeLayout) -> PeerRef {
    PeerRef {
        name: n.name.clone(),
        number: n.number,
        host: n.host.clone(),
    }
}
