//! Rules for request files: the cluster and node they name, confirmations,
//! protection.

use super::Input;
use crate::diag::Diagnostic;
use crate::layout::{layout, node_name, Allocations};
use crate::load::doc::Doc;
use crate::load::structure::did_you_mean;
use crate::load::Numbering;
use crate::model::{Cluster, Family, Request, RequestFile, Topology};

pub fn check(input: &Input<'_>) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for rf in input.requests {
        let Some(doc) = input.doc(&rf.path) else { continue };
        let at = At { file: &rf.path, doc };
        if !rf
            .id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            out.push(
                Diagnostic::error(
                    at.file,
                    format!(
                        "request id `{}` has characters other than letters, digits, '-', '_', '.'",
                        rf.id
                    ),
                )
                .help("rename the file, e.g. requests/2026-11-22-promote-db3.toml"),
            );
        }
        let req = &rf.request;
        if let Some(Err((why, label))) = req.timeout_field().map(super::fleet::positive_duration) {
            out.push(
                at.err("/timeout", why, label)
                    .help("a duration such as \"90s\", \"10m\" or \"2h\""),
            );
        }
        let name = req.cluster();
        let Some((cfile, cluster)) = input.clusters.iter().find(|(_, c)| c.name == name) else {
            if input.failed_files.iter().any(|f| f.starts_with("clusters/")) {
                continue; // the cluster may be in a file that did not load; judged once it does
            }
            out.extend(gone_cluster(input, rf, &at));
            continue;
        };
        if let Some(node) = req.node() {
            out.extend(check_node(input, rf, cfile, cluster, node, &at));
        }
        out.extend(confirm_problem(req, &at));
        match req {
            Request::Promote { .. } if cluster.topology != Topology::PrimaryReplica => {
                out.push(
                    at.err(
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
            Request::Migrate { source, .. } => {
                if let Some(problem) = source_problem(cluster, source) {
                    out.push(at.err("/source", problem.0, "invalid source").help(problem.1));
                }
            }
            Request::DeleteCluster { .. } if cluster.protected => {
                out.push(
                    at.err(
                        "/cluster",
                        format!("cluster `{name}` is protected"),
                        "termination protection is on",
                    )
                    .help(format!(
                        "set protected = false in {cfile} and merge that first; then this request may run"
                    )),
                );
            }
            _ => {}
        }
    }
    out
}

/// A request file, for pointing at its fields.
struct At<'a> {
    file: &'a str,
    doc: &'a Doc,
}

impl At<'_> {
    fn diag(&self, d: Diagnostic, ptr: &str, label: &str) -> Diagnostic {
        d.field(crate::load::doc::field_path(ptr))
            .at(self.doc.value_span(ptr))
            .label(label)
    }

    fn err(&self, ptr: &str, msg: String, label: &str) -> Diagnostic {
        self.diag(Diagnostic::error(self.file, msg), ptr, label)
    }
}

/// `confirm` must repeat what a destructive request deletes.
fn confirm_problem(req: &Request, at: &At<'_>) -> Option<Diagnostic> {
    let (what, expected, confirm) = match req {
        Request::RemoveNode { node, confirm, .. } => ("node", node.as_str(), confirm),
        Request::DeleteCluster { cluster, confirm, .. } => ("cluster", cluster.as_str(), confirm),
        _ => return None,
    };
    (confirm != expected).then(|| {
        at.err(
            "/confirm",
            format!("confirm must repeat the {what} name `{expected}`"),
            &format!("does not match `{what}`"),
        )
        .help(format!("write confirm = \"{expected}\" to delete this {what}"))
    })
}

/// A request naming a cluster that is not in the repository: one the state
/// store or the git history knows may still be deleted, node by node or as
/// a whole.
fn gone_cluster(input: &Input<'_>, rf: &RequestFile, at: &At<'_>) -> Vec<Diagnostic> {
    let req = &rf.request;
    let name = req.cluster();
    let names: Vec<&str> = input.clusters.iter().map(|(_, c)| c.name.as_str()).collect();
    let listed = match did_you_mean(name, &names) {
        Some(s) => format!("did you mean `{s}`? clusters: {}", names.join(", ")),
        None if names.is_empty() => "the repository has no clusters".to_string(),
        None => format!("clusters: {}", names.join(", ")),
    };
    let Some(alloc) = input.ctx.allocations.get(name) else {
        let help = match &input.ctx.numbering {
            Numbering::Unknown(why) => {
                format!("{listed}; clusters removed from the repository cannot be known: {why}")
            }
            _ => listed,
        };
        return vec![at
            .err(
                "/cluster",
                format!("no cluster named `{name}`"),
                "unknown cluster",
            )
            .help(help)];
    };
    let mut out: Vec<Diagnostic> = confirm_problem(req, at).into_iter().collect();
    match req {
        Request::DeleteCluster { .. } => {}
        Request::RemoveNode { node, .. } => {
            let known = alloc.live.values().map(|n| node_name(name, *n));
            let released = input.ctx.ran.contains(&rf.id)
                && alloc.tombstones.keys().any(|n| node_name(name, *n) == *node);
            if !released && !known.clone().any(|n| n == *node) {
                let known: Vec<String> = known.collect();
                let help = if known.is_empty() {
                    format!("`{name}` has no nodes left")
                } else {
                    format!("nodes of {name}: {}", known.join(", "))
                };
                out.push(
                    at.err(
                        "/node",
                        format!("cluster `{name}` has no node `{node}`"),
                        "unknown node",
                    )
                    .help(help),
                );
            }
        }
        _ => out.push(
            at.err(
                "/cluster",
                format!(
                    "cluster `{name}` is no longer in the repository: a {} request cannot run on it",
                    req.action()
                ),
                "removed from the repository",
            )
            .help(format!(
                "only remove-node and delete-cluster may name a cluster whose file was removed; {listed}"
            )),
        ),
    }
    out
}

/// The node a request names, against the numbers plan uses: a node in the
/// cluster file; for remove-node also an orphan (gone from the file, still
/// allocated), or the node this very request already released.
fn check_node(
    input: &Input<'_>,
    rf: &RequestFile,
    cfile: &str,
    cluster: &Cluster,
    node: &str,
    at: &At<'_>,
) -> Option<Diagnostic> {
    let name = cluster.name.as_str();
    if let Numbering::Unknown(why) = &input.ctx.numbering {
        let msg = format!("node numbers of `{name}` are unknown: {why}; `{node}` cannot be checked");
        return Some(
            at.diag(Diagnostic::warning(at.file, msg), "/node", "not checked")
                .help(
                    "validate a git clone with its whole history, or give the state directory (--state-dir)",
                ),
        );
    }
    let empty = Allocations::default();
    let alloc = input.ctx.allocations.get(name).unwrap_or(&empty);
    let names: Vec<String> = layout(cluster, alloc, None).into_iter().map(|n| n.name).collect();
    if names.iter().any(|n| n == node) {
        return None;
    }
    let removing = matches!(rf.request, Request::RemoveNode { .. });
    let orphans = crate::layout::orphans(cluster, alloc);
    let listed = match orphans.is_empty() {
        true => format!("nodes of {name}: {}", names.join(", ")),
        false => format!(
            "nodes of {name}: {}; orphaned (only remove-node may name them): {}",
            names.join(", "),
            orphans
                .iter()
                .map(|o| o.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    if let Some(o) = orphans.iter().find(|o| o.name == node) {
        return (!removing).then(|| {
            at.err(
                "/node",
                format!("node `{node}` ({}) is no longer in {cfile}", o.host),
                "orphaned node",
            )
            .help(listed)
        });
    }
    let tombstone = alloc
        .tombstones
        .iter()
        .find(|(n, _)| node_name(name, **n) == node);
    if let Some((_, host)) = tombstone {
        if removing && input.ctx.ran.contains(&rf.id) {
            return None;
        }
        return Some(
            at.err(
                "/node",
                format!("node `{node}` ({host}) was removed from `{name}`; its number is never used again"),
                "removed node",
            )
            .help(listed),
        );
    }
    let mut candidates = names.clone();
    if removing {
        candidates.extend(orphans.iter().map(|o| o.name.clone()));
    }
    let help = match did_you_mean(node, &candidates) {
        Some(s) => format!("did you mean `{s}`? {listed}"),
        None => listed,
    };
    Some(
        at.err(
            "/node",
            format!("cluster `{name}` has no node `{node}`"),
            "unknown node",
        )
        .help(help),
    )
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
