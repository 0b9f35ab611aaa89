//! Observation: what is really on the hosts. Per node: reachable or not,
//! the engine's own view (installed, initialised, running, version, role,
//! replication and lag), the current content of every managed file, and
//! whether the cluster's firewall chain is loaded.

use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;

use crate::engine::{self, detect_service_mode, service_command, EngineState, NodeCx, Secrets, ServiceMode};
use crate::layout::NodeLayout;
use crate::model::{Cluster, Fleet, ServiceManager};
use crate::plan::{ClusterBefore, NodeBefore};
use crate::render::{engine_paths, firewall_chain, firewall_path, EnginePaths, FIREWALL_TABLE};
use crate::state::ClusterState;
use crate::transport::{
    read_command, Command, Prefetched, SshConfig, SshPool, SshTransport, Transport, TransportError,
};

/// One node as observed.
#[derive(Debug, Clone, Serialize)]
pub struct NodeObservation {
    pub name: String,
    pub number: u32,
    pub host: String,
    /// Why the node could not be observed (host down, key refused...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unreachable: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<ServiceMode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub engine: Option<EngineState>,
    /// Managed files: path -> content (None: missing). Not serialised.
    #[serde(skip)]
    pub files: BTreeMap<String, Option<String>>,
    /// The cluster's firewall chain is not in the host's ruleset. Not
    /// serialised.
    #[serde(skip)]
    pub firewall_missing: bool,
}

impl NodeObservation {
    /// The managed files that exist on the node: path -> content.
    pub fn present_files(&self) -> BTreeMap<String, String> {
        self.files
            .iter()
            .filter_map(|(p, c)| c.clone().map(|c| (p.clone(), c)))
            .collect()
    }
}

/// Build the SSH pool from fleet.toml's `[ssh]`.
pub fn ssh_pool(fleet: &Fleet) -> anyhow::Result<SshPool> {
    let ssh = &fleet.ssh;
    let mut config = SshConfig::new(
        ssh.user.clone(),
        crate::secrets::expand_home(&ssh.identity),
        crate::secrets::expand_home(&ssh.known_hosts),
    );
    config.port = ssh.port;
    config.connect_timeout = humantime::parse_duration(&ssh.connect_timeout)?;
    Ok(SshPool::new(config, ssh.parallel as usize))
}

/// Observe every node of a cluster, `parallel` hosts at once.
pub async fn observe_cluster(
    pool: &SshPool,
    fleet: &Fleet,
    cluster: &Cluster,
    nodes: &[NodeLayout],
    secrets: &Secrets,
) -> Vec<NodeObservation> {
    let hosts: Vec<&str> = nodes.iter().map(|n| n.host.as_str()).collect();
    let work = |t: Arc<SshTransport>| {
        let node = nodes.iter().find(|n| n.host == t.host()).cloned();
        async move {
            match node {
                Some(node) => observe_node(t.as_ref(), fleet, cluster, &node, secrets).await,
                None => unreachable_obs(&NodeLayoutLite::default(), "internal: host not in layout".into()),
            }
        }
    };
    pool.for_each_host(&hosts, work).await
}

#[derive(Default)]
struct NodeLayoutLite {
    name: String,
    number: u32,
    host: String,
}

fn unreachable_obs(n: &NodeLayoutLite, why: String) -> NodeObservation {
    NodeObservation {
        name: n.name.clone(),
        number: n.number,
        host: n.host.clone(),
        unreachable: Some(why),
        service: None,
        engine: None,
        files: BTreeMap::new(),
        firewall_missing: false,
    }
}

/// Observe one node.
pub async fn observe_node(
    t: &dyn Transport,
    fleet: &Fleet,
    cluster: &Cluster,
    node: &NodeLayout,
    secrets: &Secrets,
) -> NodeObservation {
    let lite = NodeLayoutLite {
        name: node.name.clone(),
        number: node.number,
        host: node.host.clone(),
    };
    let paths = engine_paths(cluster.engine, &cluster.version);
    let driver = engine::driver(cluster.engine);
    // Everything below is read-only: run it ahead in one remote shell.
    let prefetch = {
        let cx = NodeCx {
            cluster,
            node,
            paths: &paths,
            service: ServiceMode::Direct,
            secrets,
        };
        let mut cmds = Vec::new();
        if fleet.hosts.service_manager == ServiceManager::Auto {
            cmds.push(service_command());
        }
        cmds.extend(driver.observe_commands(t, &cx));
        cmds.push(read_command(&owner_file(&paths.data_dir)));
        cmds.extend(managed_files(cluster, &paths).iter().map(|p| read_command(p)));
        cmds.push(firewall_command(&cluster.name));
        cmds
    };
    let t = &match Prefetched::run(t, prefetch).await {
        Ok(t) => t,
        Err(e) => return unreachable_obs(&lite, error_chain(&e)),
    };
    let service = match detect_service_mode(t, fleet.hosts.service_manager).await {
        Ok(s) => s,
        Err(e) => return unreachable_obs(&lite, error_chain(&e)),
    };
    let cx = NodeCx {
        cluster,
        node,
        paths: &paths,
        service,
        secrets,
    };
    let state = match driver.observe(t, &cx).await {
        Ok(s) => s,
        Err(e) => return unreachable_obs(&lite, error_chain(&e)),
    };
    match owner(t, &paths.data_dir).await {
        Ok(Some(other)) if other != cluster.name => {
            let why = format!(
                "its {} data belongs to cluster `{other}` ({}); dbfleet will not take it over",
                cluster.engine,
                owner_file(&paths.data_dir)
            );
            return unreachable_obs(&lite, why);
        }
        Ok(_) => {}
        Err(e) => return unreachable_obs(&lite, error_chain(&e)),
    }
    let mut files = BTreeMap::new();
    for path in managed_files(cluster, &paths) {
        match t.read_file(&path).await {
            Ok(content) => {
                files.insert(path, content.map(|b| String::from_utf8_lossy(&b).into_owned()));
            }
            Err(e) => return unreachable_obs(&lite, error_chain(&e)),
        }
    }
    let firewall_missing = match firewall_loaded(t, &cluster.name).await {
        Ok(loaded) => !loaded,
        Err(e) => return unreachable_obs(&lite, error_chain(&e)),
    };
    NodeObservation {
        name: node.name.clone(),
        number: node.number,
        host: node.host.clone(),
        unreachable: None,
        service: Some(service),
        engine: Some(state),
        files,
        firewall_missing,
    }
}

/// Whether the cluster's chain is in the host's nftables ruleset. An `nft`
/// that fails for any reason (no such chain or table, no nft at all) counts
/// as not loaded: loading the file again then reports the real problem.
pub async fn firewall_loaded(t: &dyn Transport, cluster: &str) -> Result<bool, TransportError> {
    Ok(t.run(&firewall_command(cluster)).await?.success())
}

fn firewall_command(cluster: &str) -> Command {
    let chain = firewall_chain(cluster);
    Command::new("nft").args(["list", "chain", "inet", FIREWALL_TABLE, chain.as_str()])
}

/// The files observation reads: the engine's configuration and the
/// cluster's firewall file.
fn managed_files(cluster: &Cluster, paths: &EnginePaths) -> Vec<String> {
    let config = paths.config_files.iter().map(|f| f.path.clone());
    config.chain([firewall_path(&cluster.name)]).collect()
}

/// The file in a node's data directory naming the cluster that owns the data.
pub fn owner_file(data_dir: &str) -> String {
    format!("{}/.dbfleet-cluster", data_dir.trim_end_matches('/'))
}

/// The cluster that owns the data on this host, if dbfleet recorded one.
pub async fn owner(
    t: &dyn Transport,
    data_dir: &str,
) -> Result<Option<String>, crate::transport::TransportError> {
    let content = t.read_file(&owner_file(data_dir)).await?;
    Ok(content
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .filter(|s| !s.is_empty()))
}

/// The before-view of a cluster from observation (for the online plan).
pub fn to_before(state: &ClusterState, observed: &[NodeObservation]) -> ClusterBefore {
    let nodes = observed
        .iter()
        .map(|o| {
            let engine = o.engine.clone().unwrap_or_default();
            let node = NodeBefore {
                host: o.host.clone(),
                built: engine.initialised,
                running: engine.running,
                files: o.present_files(),
                replicating_from: engine
                    .replication
                    .as_ref()
                    .map(|r| (r.source_host.clone(), r.healthy)),
                role: engine.role,
                replication: engine.replication.clone(),
                unreachable: o.unreachable.clone(),
                firewall_missing: o.firewall_missing,
            };
            (o.name.clone(), node)
        })
        .collect();
    ClusterBefore {
        state: state.clone(),
        nodes,
        observed: true,
    }
}

/// An error with its causes: "a: b: c".
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let text = c.to_string();
        if !s.contains(&text) {
            s.push_str(": ");
            s.push_str(&text);
        }
        cur = c.source();
    }
    s
}
