//! Rules for request files: the cluster and node they name, confirmations,
//! protection.

use super::Input;
use crate::diag::Diagnostic;
use crate::layout::{layout, Allocations};
use crate::load::structure::did_you_mean;
use crate::model::{Cluster, Family, Request, Topology};

pub fn check(input: &Input<'_>) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for rf in input.requests {
        let Some(doc) = input.doc(&rf.path) else { continue };
        let file = rf.path.as_str();
        let err = |ptr: &str, msg: String, label: &str| {
            Diagnostic::error(file, msg)
                .field(crate::load::doc::field_path(ptr))
                .at(doc.value_span(ptr))
                .label(label)
        };
        if !rf
            .id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            out.push(
                Diagnostic::error(
                    file,
                    format!(
                        "request id `{}` has characters other than letters, digits, '-', '_', '.'",
                        rf.id
                    ),
                )
                .help("rename the file, e.g. requests/2026-11-22-promote-db3.toml"),
            );
        }
        let req = &rf.request;
        let name = req.cluster();
        let Some(cluster) = input.clusters.iter().map(|(_, c)| c).find(|c| c.name == name) else {
            if input.failed_files.iter().any(|f| f.starts_with("clusters/")) {
                continue; // the cluster may be in a file that did not load; judged once it does
            }
            let names: Vec<&str> = input.clusters.iter().map(|(_, c)| c.name.as_str()).collect();
            let help = match did_you_mean(name, &names) {
                Some(s) => format!("did you mean `{s}`? clusters: {}", names.join(", ")),
                None if names.is_empty() => "the repository has no clusters".to_string(),
                None => format!("clusters: {}", names.join(", ")),
            };
            out.push(
                err(
                    "/cluster",
                    format!("no cluster named `{name}`"),
                    "unknown cluster",
                )
                .help(help),
            );
            continue;
        };
        if let Some(node) = req.node() {
            let names = node_names(cluster, input.ctx.allocations.get(&cluster.name));
            if !names.iter().any(|n| n == node) {
                let help = match did_you_mean(node, &names) {
                    Some(s) => format!("did you mean `{s}`? nodes of {name}: {}", names.join(", ")),
                    None => format!("nodes of {name}: {}", names.join(", ")),
                };
                out.push(
                    err(
                        "/node",
                        format!("cluster `{name}` has no node `{node}`"),
                        "unknown node",
                    )
                    .help(help),
                );
            }
        }
        match req {
            Request::Promote { .. } if cluster.topology != Topology::PrimaryReplica => {
                out.push(
                    err(
                        "/cluster",
                        format!(
                            "cluster `{name}` is {}: there is no replica to promote",
                            cluster.topology
                        ),
                        "no replicas",
                    )
                    .help("promote applies to primary-replica clusters"),
                );
            }
            Request::RemoveNode { node, confirm, .. } if confirm != node => {
                out.push(
                    err(
                        "/confirm",
                        format!("confirm must repeat the node name `{node}`"),
                        "does not match `node`",
                    )
                    .help(format!("write confirm = \"{node}\" to delete this node")),
                );
            }
            Request::DeleteCluster { confirm, .. } if confirm != name => {
                out.push(
                    err(
                        "/confirm",
                        format!("confirm must repeat the cluster name `{name}`"),
                        "does not match `cluster`",
                    )
                    .help(format!("write confirm = \"{name}\" to delete this cluster")),
                );
            }
            Request::Migrate { source, .. } => {
                if let Some(problem) = source_problem(cluster, source) {
                    out.push(err("/source", problem.0, "invalid source").help(problem.1));
                }
            }
            _ => {}
        }
        if let Request::DeleteCluster { .. } = req {
            if cluster.protected {
                let cfile = format!("clusters/{name}.toml");
                out.push(
                    err(
                        "/cluster",
                        format!("cluster `{name}` is protected"),
                        "termination protection is on",
                    )
                    .help(format!(
                        "set protected = false in {cfile} and merge that first; then this request may run"
                    )),
                );
            }
        }
    }
    out
}

/// Node names of a cluster, numbered from the recorded allocations (or as a
/// new cluster would be).
pub fn node_names(cluster: &Cluster, alloc: Option<&Allocations>) -> Vec<String> {
    let empty = Allocations::default();
    let alloc = alloc.unwrap_or(&empty);
    let mut names: Vec<String> = layout(cluster, alloc, None).into_iter().map(|n| n.name).collect();
    // Nodes already removed from the file but still allocated may be named too
    // (remove-node of an orphaned node).
    names.extend(crate::layout::orphans(cluster, alloc).into_iter().map(|o| o.name));
    names
}

fn source_problem(cluster: &Cluster, source: &str) -> Option<(String, String)> {
    let schemes: &[&str] = match cluster.engine.family() {
        Family::Mysql => &["mysql", "mariadb"],
        Family::Postgresql => &["postgres", "postgresql"],
        Family::Redis => &["redis", "rediss"],
    };
    let example = format!("{}://user@db.example.internal/name", schemes[0]);
    let Some((scheme, rest)) = source.split_once("://") else {
        return Some((
            format!("`{source}` is not a URL"),
            format!("write a URL such as \"{example}\""),
        ));
    };
    if !schemes.contains(&scheme) {
        return Some((
            format!("a {} cluster cannot import from a `{scheme}` URL", cluster.engine),
            format!(
                "use {}",
                schemes
                    .iter()
                    .map(|s| format!("{s}://"))
                    .collect::<Vec<_>>()
                    .join(" or ")
            ),
        ));
    }
    let authority = rest.split('/').next().unwrap_or_default();
    if authority
        .split('@')
        .next()
        .is_some_and(|userinfo| authority.contains('@') && userinfo.contains(':'))
    {
        return Some((
            "the source URL contains a password".to_string(),
            "remove it from the URL and write password = { env = \"NAME\" } or { file = \"path\" }"
                .to_string(),
        ));
    }
    None
}
