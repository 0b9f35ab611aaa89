//! What the driver tests (`tests/e2e_*_driver.rs`) share: a cluster on lab
//! hosts driven through `Driver` over an [`SshPool`] with configs from the
//! renderer. Each test file adds its engine's own helpers in an `impl Rig`.

use std::collections::BTreeMap;
use std::sync::Arc;

use dbfleet::engine::{driver, Driver, EngineState, NodeCx, Secrets, ServiceMode};
use dbfleet::layout::{layout, Allocations, NodeLayout};
use dbfleet::model::{Cluster, SettingValue};
use dbfleet::render::{engine_paths, Addresses, EnginePaths, Renderer};
use dbfleet::transport::{SshConfig, SshPool, SshTransport, Transport};

use super::lab::Lab;

/// One cluster on lab hosts as a driver test drives it.
pub struct Rig {
    pub lab: Lab,
    pub rt: tokio::runtime::Runtime,
    pub pool: SshPool,
    pub renderer: Renderer,
    pub cluster: Cluster,
    pub paths: EnginePaths,
    pub secrets: Secrets,
    pub nodes: Vec<NodeLayout>,
}

/// SSH as root to the lab hosts with the lab's key and known_hosts.
pub fn lab_ssh_config(lab: &Lab) -> SshConfig {
    SshConfig::new("root", lab.key().to_path_buf(), lab.known_hosts().to_path_buf())
}

impl Rig {
    /// The cluster of `cluster_toml` laid out with no allocations, over a
    /// pool of four connections a host made with `ssh`. Resets nothing.
    pub fn from_toml_with_ssh(lab: Lab, cluster_toml: &str, secrets: Secrets, ssh: SshConfig) -> Rig {
        let cluster: Cluster = toml::from_str(cluster_toml).expect("cluster toml");
        let nodes = layout(&cluster, &Allocations::default(), None);
        let paths = engine_paths(cluster.engine, &cluster.version);
        Rig {
            rt: tokio::runtime::Runtime::new().expect("runtime"),
            pool: SshPool::new(ssh, 4),
            renderer: Renderer::new(&BTreeMap::new()).expect("renderer"),
            cluster,
            paths,
            secrets,
            nodes,
            lab,
        }
    }

    /// [`Rig::from_toml_with_ssh`] with [`lab_ssh_config`].
    pub fn from_toml(lab: Lab, cluster_toml: &str, secrets: Secrets) -> Rig {
        let ssh = lab_ssh_config(&lab);
        Rig::from_toml_with_ssh(lab, cluster_toml, secrets, ssh)
    }

    pub fn driver(&self) -> &'static dyn Driver {
        driver(self.cluster.engine)
    }

    pub fn transport(&self, i: usize) -> Arc<SshTransport> {
        self.pool.get(&self.nodes[i].host)
    }

    pub fn cx(&self, i: usize) -> NodeCx<'_> {
        NodeCx {
            cluster: &self.cluster,
            node: &self.nodes[i],
            paths: &self.paths,
            service: ServiceMode::Direct,
            secrets: &self.secrets,
        }
    }

    pub fn block<T>(&self, f: impl std::future::Future<Output = T>) -> T {
        self.rt.block_on(f)
    }

    /// Renders node `i` and writes all its files; returns the main config text.
    pub fn write_config(&self, i: usize) -> String {
        let files = self
            .renderer
            .render_node(&self.cluster, &self.nodes[i], &Addresses::default())
            .expect("render");
        let t = self.transport(i);
        for f in &files {
            self.block(t.write_file(&f.path, f.content.as_bytes(), f.mode, &f.owner, &f.group))
                .expect("write config");
        }
        files[0].content.clone()
    }

    /// As the executor does before building: every node's secret files,
    /// then its rendered files. Returns each node's main file.
    pub fn write_all_configs(&self) -> Vec<String> {
        (0..self.nodes.len())
            .map(|i| {
                let t = self.transport(i);
                self.block(self.driver().write_secrets(&*t, &self.cx(i)))
                    .expect("secrets");
                self.write_config(i)
            })
            .collect()
    }

    pub fn observe(&self, i: usize) -> EngineState {
        let t = self.transport(i);
        let cx = self.cx(i);
        self.block(self.driver().observe(&*t, &cx)).expect("observe")
    }

    pub fn set_setting(&mut self, key: &str, value: &str) {
        self.cluster
            .settings
            .insert(key.into(), SettingValue::String(value.into()));
    }
}
