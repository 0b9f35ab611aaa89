//! Building a plan: desired state (the repository, rendered) against the
//! recorded state (the state store, or a base revision simulated as applied).

use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

use super::before::{Before, ClusterBefore, NodeBefore};
use super::{
    diff::unified_diff, Change, ClusterPlan, FileChange, NodePlan, Plan, RequestPlan, RequestStatus, Step,
    SuggestedRequest, Summary, JSON_FORMAT_VERSION,
};
use crate::layout::history::Derived;
use crate::layout::{layout, node_name, Allocations, NodeLayout, Role};
use crate::model::{Cluster, Repo, RequestFile, Topology};
use crate::render::{firewall_path, Addresses, RenderError, RenderedFile, Renderer, Unresolved};
use crate::state::{AppliedFile, AppliedNode, ClusterState};

/// Recorded state per cluster name.
pub type Recorded = BTreeMap<String, ClusterState>;

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("rendering {node} of cluster {cluster}")]
    Render {
        cluster: String,
        node: String,
        #[source]
        source: RenderError,
    },
    #[error("the templates of the base revision do not load")]
    BaseTemplates(#[source] RenderError),
    /// A node's host name without addresses: the cluster is not planned.
    #[error("cluster {cluster}: {source}")]
    Unresolved {
        cluster: String,
        #[source]
        source: Unresolved,
    },
}

impl std::error::Error for Unresolved {}

/// What a plan is built from.
pub struct PlanInput<'a> {
    pub repo: &'a Repo,
    pub renderer: &'a Renderer,
    /// What the nodes' host names resolved to (looked up by the caller).
    pub addresses: &'a Addresses,
    /// What is there now, per cluster (see [`super::before`]).
    pub before: &'a Before,
    /// Requests of the base revision (plan --base), to tell new and edited
    /// requests apart; `None` when planning against the state store.
    pub base_requests: Option<&'a [RequestFile]>,
    /// Shown in the plan: what was planned, against what.
    pub source: String,
    pub against: String,
    /// Today, `YYYY-MM-DD`: the suggested request files are named after it,
    /// like every request (`requests/<date>-remove-node-db3.toml`).
    pub today: String,
}

/// Build the plan.
///
/// A cluster with a host name that did not resolve is not planned; the
/// plan says why (see [`Plan::not_planned`](super::Plan)).
///
/// Errors: a template that fails to render for some node.
pub fn plan(input: &PlanInput<'_>) -> Result<Plan, PlanError> {
    let ssh = input.repo.fleet.ssh.port;
    let (mut clusters, mut not_planned) = (Vec::new(), Vec::new());
    for c in &input.repo.clusters {
        match plan_cluster(c, input.renderer, ssh, input.before.get(&c.name), input.addresses) {
            Ok(p) => clusters.push(p),
            Err(PlanError::Unresolved { cluster, source }) => not_planned.push(super::NotPlanned {
                cluster,
                host: source.host,
                reason: source.reason,
            }),
            Err(e) => return Err(e),
        }
    }
    let mut plan = assemble(input, clusters);
    plan.set_not_planned(not_planned);
    Ok(plan)
}

/// The whole plan from the plans of the repository's clusters (made with
/// [`plan_cluster`]): adds clusters recorded in `input.before` but gone from
/// the repository (orphaned), the requests and the summary.
pub fn assemble(input: &PlanInput<'_>, mut clusters: Vec<ClusterPlan>) -> Plan {
    for c in &mut clusters {
        for n in c.nodes.iter_mut().filter(|n| n.change == Change::Orphaned) {
            n.remove_request = Some(remove_node_request(&input.today, &c.name, &n.name));
        }
    }
    for (name, before) in input.before {
        if input.repo.cluster(name).is_none() && !before.state.allocations.live.is_empty() {
            clusters.push(orphaned_cluster(&input.today, name, &before.state));
        }
    }
    let requests = plan_requests(&input.repo.requests, input.base_requests, &clusters);
    let summary = summarise(&clusters, &requests);
    Plan {
        format_version: JSON_FORMAT_VERSION,
        source: input.source.clone(),
        against: input.against.clone(),
        base_problem: None,
        clusters,
        not_planned: Vec::new(),
        requests,
        summary,
    }
}

/// The state a repository would leave once applied, the store having
/// followed `history` (the revisions before it: node numbers, primaries):
/// used as the "before" of `plan --base`. Clusters the history holds that are
/// gone from `repo` keep their nodes, as orphans. Host names render with
/// the addresses they resolved to, those that did not without any.
pub fn simulate_applied(
    repo: &Repo,
    renderer: &Renderer,
    history: &Derived,
    addresses: &Addresses,
) -> Result<Recorded, PlanError> {
    let addresses = addresses.lenient();
    let mut out = Recorded::new();
    for c in &repo.clusters {
        let allocations = history
            .allocations
            .get(&c.name)
            .cloned()
            .unwrap_or_default()
            .extend_with(c);
        let primary = history
            .primaries
            .get(&c.name)
            .or(c.nodes.first().map(|n| &n.host))
            .cloned();
        let mut applied = BTreeMap::new();
        for node in layout(c, &allocations, primary.as_deref()) {
            let files = render(renderer, c, &node, repo.fleet.ssh.port, &addresses)?;
            applied.insert(node.name.clone(), applied_node(&node.host, files));
        }
        out.insert(c.name.clone(), simulated(c, allocations, primary, applied));
    }
    for (name, c) in &history.last_seen {
        let allocations = history.allocations.get(name).cloned().unwrap_or_default();
        if repo.cluster(name).is_none() && !allocations.live.is_empty() {
            let primary = history.primaries.get(name).cloned();
            out.insert(name.clone(), simulated(c, allocations, primary, BTreeMap::new()));
        }
    }
    Ok(out)
}

fn simulated(
    c: &Cluster,
    allocations: Allocations,
    primary: Option<String>,
    applied: BTreeMap<String, AppliedNode>,
) -> ClusterState {
    ClusterState {
        operation: None,
        engine: Some(c.engine),
        version: Some(c.version.clone()),
        topology: Some(c.topology),
        allocations,
        primary,
        applied,
        commit: None,
        requests: Default::default(),
    }
}

/// Every file dbfleet manages on the node: the engine's, then the firewall.
fn render(
    renderer: &Renderer,
    c: &Cluster,
    node: &NodeLayout,
    ssh_port: u16,
    addresses: &Addresses,
) -> Result<Vec<RenderedFile>, PlanError> {
    renderer
        .render_all(c, node, ssh_port, addresses)
        .map_err(|source| PlanError::Render {
            cluster: c.name.clone(),
            node: node.name.clone(),
            source,
        })
}

/// Plan one cluster against its before-view (`None`: nothing there yet).
/// `ssh_port` is the fleet's, which every node's firewall keeps open;
/// `addresses` what the nodes' host names resolved to.
///
/// Errors: a host name of the cluster (orphans included) without addresses
/// ([`PlanError::Unresolved`]), a template that fails to render.
pub fn plan_cluster(
    c: &Cluster,
    renderer: &Renderer,
    ssh_port: u16,
    before: Option<&ClusterBefore>,
    addresses: &Addresses,
) -> Result<ClusterPlan, PlanError> {
    plan_cluster_rendered(c, renderer, ssh_port, before, addresses).map(|(plan, _)| plan)
}

/// [`plan_cluster`], with every node's rendered files (node name -> files,
/// the firewall last), so that apply writes exactly what was planned.
pub fn plan_cluster_rendered(
    c: &Cluster,
    renderer: &Renderer,
    ssh_port: u16,
    before: Option<&ClusterBefore>,
    addresses: &Addresses,
) -> Result<(ClusterPlan, Rendered), PlanError> {
    let empty = ClusterBefore::default();
    let before = before.unwrap_or(&empty);
    let prev = &before.state;
    let alloc = prev.allocations.extend_with(c);
    if let Some(source) = addresses.first_unresolved(alloc.live.keys().map(String::as_str)) {
        return Err(PlanError::Unresolved {
            cluster: c.name.clone(),
            source,
        });
    }
    let nodes = layout(c, &alloc, prev.primary.as_deref());
    let (mut plans, mut rendered) = (Vec::new(), Rendered::new());
    for node in &nodes {
        let files = render(renderer, c, node, ssh_port, addresses)?;
        let now = before.nodes.get(&node.name).filter(|b| b.host == node.host);
        let mut plan = plan_node(c, node, &nodes, &files, now, before.observed);
        plan.address = addresses.shown(&node.host);
        plans.push(plan);
        rendered.insert(node.name.clone(), files);
    }
    for orphan in crate::layout::orphans(c, &alloc) {
        let role = if prev.primary.as_deref() == Some(orphan.host.as_str()) {
            Role::Primary
        } else {
            Role::Replica
        };
        plans.push(NodePlan {
            remove_request: None, // suggested by assemble, which knows the date
            name: orphan.name,
            number: orphan.number,
            address: addresses.shown(&orphan.host),
            host: orphan.host,
            role,
            change: Change::Orphaned,
            steps: Vec::new(),
            files: Vec::new(),
            unreachable: None,
        });
    }
    plans.sort_by_key(|n| n.number);
    // A node that could not be observed changes nothing the plan knows of:
    // the cluster's change is that of the others (the plan names it apart).
    let known: Vec<&NodePlan> = plans.iter().filter(|n| n.unreachable.is_none()).collect();
    let change = if before.nodes.is_empty()
        || (!known.is_empty() && known.iter().all(|n| n.change == Change::Create))
    {
        Change::Create
    } else if known.iter().all(|n| n.change == Change::NoChange) {
        Change::NoChange
    } else {
        Change::Update
    };
    let (steps, blocked) = super::order(c, &plans, before, &rendered);
    let plan = ClusterPlan {
        name: c.name.clone(),
        engine: c.engine,
        version: c.version.clone(),
        topology: c.topology,
        change,
        nodes: plans,
        steps,
        blocked,
        delete_request: None,
    };
    Ok((plan, rendered))
}

/// Node name -> its rendered files, the firewall last.
pub type Rendered = std::collections::BTreeMap<String, Vec<RenderedFile>>;

fn plan_node(
    c: &Cluster,
    node: &NodeLayout,
    nodes: &[NodeLayout],
    files: &[RenderedFile],
    now: Option<&NodeBefore>,
    observed: bool,
) -> NodePlan {
    let mut plan = NodePlan {
        name: node.name.clone(),
        number: node.number,
        host: node.host.clone(),
        role: node.role,
        change: Change::NoChange,
        steps: Vec::new(),
        files: Vec::new(),
        remove_request: None,
        unreachable: None,
        address: Vec::new(),
    };
    if let Some(why) = now.and_then(|n| n.unreachable.clone()) {
        plan.change = Change::Update;
        plan.unreachable = Some(why);
        return plan;
    }
    plan.files = files.iter().filter_map(|f| file_change(f, now)).collect();
    let Some(now) = now.filter(|n| n.built) else {
        plan.change = Change::Create;
        plan.steps = create_steps(c, node, nodes, files);
        return plan;
    };
    let mut steps: Vec<Step> = plan
        .files
        .iter()
        .map(|f| Step::WriteConfig { path: f.path.clone() })
        .collect();
    // The firewall loads on its own; only engine files make ApplyConfig.
    let firewall = firewall_path(&c.name);
    if now.firewall_missing || plan.files.iter().any(|f| f.path == firewall) {
        steps.push(Step::ApplyFirewall);
    }
    if plan.files.iter().any(|f| f.path != firewall) {
        steps.push(Step::ApplyConfig);
    }
    if !now.running {
        steps.push(Step::Start);
    }
    if observed {
        for source in replication_sources(c, node, nodes) {
            let ok = now
                .replicating_from
                .as_ref()
                .is_some_and(|(h, healthy)| *h == source.host && *healthy);
            if !ok {
                steps.push(Step::StartReplication {
                    from: source.name.clone(),
                });
            }
        }
    }
    plan.change = if steps.is_empty() {
        Change::NoChange
    } else {
        Change::Update
    };
    plan.steps = steps;
    plan
}

/// Whom a node replicates from: the primary for a replica; in multi-master,
/// the other node.
pub fn replication_sources<'n>(
    c: &Cluster,
    node: &'n NodeLayout,
    _nodes: &[NodeLayout],
) -> Vec<&'n crate::layout::PeerRef> {
    match c.topology {
        Topology::MultiMaster => node.peers.iter().collect(),
        _ => node.primary.iter().collect(),
    }
}

fn file_change(f: &RenderedFile, now: Option<&NodeBefore>) -> Option<FileChange> {
    let old = now.and_then(|n| n.files.get(&f.path));
    if old.is_some_and(|o| *o == f.content) {
        return None;
    }
    Some(FileChange {
        path: f.path.clone(),
        template: f.template.clone(),
        new: old.is_none(),
        diff: unified_diff(&f.path, old.map(String::as_str), &f.content),
        sha256: sha256(&f.content),
    })
}

/// Steps that build a node that does not exist yet.
fn create_steps(c: &Cluster, node: &NodeLayout, nodes: &[NodeLayout], files: &[RenderedFile]) -> Vec<Step> {
    // The firewall is in place before the engine first listens.
    let writes = files
        .iter()
        .map(|f| Step::WriteConfig { path: f.path.clone() })
        .chain([Step::ApplyFirewall]);
    // Who this node copies its data from: the primary, or in multi-master the
    // lowest-numbered other node; nobody for the first node of the cluster.
    let first = nodes.first().map(|n| n.name.as_str());
    let source = match c.topology {
        Topology::MultiMaster if first != Some(node.name.as_str()) => first.map(str::to_string),
        _ => node.primary.as_ref().map(|p| p.name.clone()),
    };
    let mut steps = Vec::new();
    match source {
        None => {
            steps.push(Step::InitDataDir);
            steps.extend(writes);
            steps.push(Step::Start);
            steps.push(Step::CreateUsers);
        }
        Some(from) => {
            steps.extend(writes);
            steps.push(Step::SeedFromPrimary { from: from.clone() });
            steps.push(Step::Start);
            steps.push(Step::StartReplication { from });
        }
    }
    if c.topology == Topology::MultiMaster {
        for peer in &node.peers {
            let step = Step::StartReplication {
                from: peer.name.clone(),
            };
            if !steps.contains(&step) {
                steps.push(step);
            }
        }
    }
    steps
}

fn orphaned_cluster(today: &str, name: &str, state: &ClusterState) -> ClusterPlan {
    let nodes = state
        .allocations
        .live
        .iter()
        .map(|(host, number)| NodePlan {
            name: node_name(name, *number),
            number: *number,
            host: host.clone(),
            address: Vec::new(),
            role: if state.primary.as_deref() == Some(host.as_str()) {
                Role::Primary
            } else {
                Role::Replica
            },
            change: Change::Orphaned,
            steps: Vec::new(),
            files: Vec::new(),
            remove_request: None,
            unreachable: None,
        })
        .collect();
    ClusterPlan {
        name: name.to_string(),
        engine: state.engine.unwrap_or(crate::model::Engine::Mariadb),
        version: state.version.clone().unwrap_or_default(),
        topology: state.topology.unwrap_or(Topology::Single),
        change: Change::Orphaned,
        nodes,
        steps: Vec::new(),
        blocked: Vec::new(),
        delete_request: Some(SuggestedRequest {
            path: format!("requests/{today}-delete-cluster-{name}.toml"),
            toml: format!("action = \"delete-cluster\"\ncluster = \"{name}\"\nconfirm = \"{name}\"\n"),
        }),
    }
}

fn remove_node_request(today: &str, cluster: &str, node: &str) -> SuggestedRequest {
    SuggestedRequest {
        path: format!("requests/{today}-remove-node-{node}.toml"),
        toml: format!(
            "action = \"remove-node\"\ncluster = \"{cluster}\"\nnode = \"{node}\"\nconfirm = \"{node}\"\n"
        ),
    }
}

fn plan_requests(
    requests: &[RequestFile],
    base: Option<&[RequestFile]>,
    clusters: &[ClusterPlan],
) -> Vec<RequestPlan> {
    requests
        .iter()
        .map(|rf| {
            let status = match base.map(|b| b.iter().find(|x| x.id == rf.id)) {
                None => RequestStatus::Pending,
                Some(None) => RequestStatus::New,
                Some(Some(old)) if old.request != rf.request => RequestStatus::Edited,
                Some(Some(_)) => RequestStatus::Unchanged,
            };
            RequestPlan {
                id: rf.id.clone(),
                action: rf.request.action().to_string(),
                cluster: rf.request.cluster().to_string(),
                node: rf.request.node().map(str::to_string),
                host: rf.request.node().and_then(|name| {
                    let c = clusters.iter().find(|c| c.name == rf.request.cluster())?;
                    c.nodes.iter().find(|n| n.name == name).map(|n| n.host.clone())
                }),
                status,
                steps: Vec::new(),
                reason: None,
            }
        })
        .collect()
}

fn summarise(clusters: &[ClusterPlan], requests: &[RequestPlan]) -> Summary {
    let mut s = Summary::default();
    for c in clusters {
        match c.change {
            Change::Create => s.clusters_to_create += 1,
            Change::Update => s.clusters_to_update += 1,
            Change::NoChange => s.clusters_unchanged += 1,
            Change::Orphaned => s.clusters_orphaned += 1,
        }
        for n in &c.nodes {
            if n.unreachable.is_some() {
                s.nodes_unreachable += 1;
                continue;
            }
            match n.change {
                Change::Create => s.nodes_to_create += 1,
                Change::Update => s.nodes_to_update += 1,
                Change::NoChange => {}
                Change::Orphaned => s.nodes_orphaned += 1,
            }
            s.files_changed += n.files.len();
        }
    }
    count_requests(&mut s, requests);
    s
}

/// The request counts of a summary, and whether the plan has changes.
/// Pending requests (and one a killed run left running) are what apply
/// will run; new and edited ones (plan --base) what a pull request changes.
pub fn count_requests(s: &mut Summary, requests: &[RequestPlan]) {
    let runs = |r: &&RequestPlan| {
        matches!(
            r.status,
            RequestStatus::New | RequestStatus::Pending | RequestStatus::Running
        )
    };
    s.requests_to_run = requests.iter().filter(runs).count();
    s.has_changes = s.clusters_to_create + s.clusters_to_update + s.clusters_orphaned + s.nodes_orphaned > 0
        || requests
            .iter()
            .any(|r| runs(&r) || r.status == RequestStatus::Edited);
}

/// What a node holds once `files` were written to it, for the state store.
pub fn applied_node(host: &str, files: impl IntoIterator<Item = RenderedFile>) -> AppliedNode {
    let files = files
        .into_iter()
        .map(|f| {
            (
                f.path,
                AppliedFile {
                    sha256: sha256(&f.content),
                    content: f.content,
                },
            )
        })
        .collect();
    AppliedNode {
        host: host.to_string(),
        files,
    }
}

pub fn sha256(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}
