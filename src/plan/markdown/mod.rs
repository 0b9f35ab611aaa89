//! A plan as GitHub-flavoured Markdown, ready to paste into a pull-request
//! comment: a summary table first, then a table per changed cluster, diffs
//! folded in `<details>` blocks (a change that is the same on several nodes
//! shown once), orphans and unreachable nodes called out. The document keeps
//! to a size limit ([`crate::fit`]).

use std::fmt::Write;

use super::text::{summary_line, BASE_ERRORS_SHOWN};
use super::{Change, ClusterPlan, FileChange, Plan, RequestStatus, Summary};
use crate::fit::{fit, Block, Kind, Whole};

/// The default size limit: below GitHub's 65,536 characters per comment,
/// with room for what CI adds around the plan.
pub const MARKDOWN_MAX_BYTES: usize = 60_000;

/// Render a plan as Markdown of at most `max_bytes` bytes (0: no limit);
/// what is left out to keep to it is named in the document.
pub fn to_markdown(plan: &Plan, max_bytes: usize) -> String {
    let whole = Whole {
        what: "plan",
        how: "run `dbfleet plan --format markdown --max-bytes 0`, or see the text plan (`dbfleet plan`)",
    };
    fit(&blocks(plan), max_bytes, whole)
}

fn blocks(plan: &Plan) -> Vec<Block> {
    let mut doc = Doc::default();
    let _ = writeln!(doc.text, "### dbfleet plan\n");
    let _ = writeln!(doc.text, "`{}` against {}\n", plan.source, plan.against);
    let _ = writeln!(doc.text, "**{}**\n", summary_line(&plan.summary));
    summary_table(&mut doc.text, plan);
    doc.push(Kind::Note, "");
    if let Some(p) = &plan.base_problem {
        let _ = writeln!(
            doc.text,
            "> [!CAUTION]\n> The base `{}` does not validate ({}): it is compared as far as it loads.\n>",
            p.rev, p.summary
        );
        for e in p.errors.iter().take(BASE_ERRORS_SHOWN) {
            let _ = writeln!(doc.text, "> - {}", e.replace('<', "&lt;"));
        }
        if p.errors.len() > BASE_ERRORS_SHOWN {
            let _ = writeln!(
                doc.text,
                "> - ... and {} more",
                p.errors.len() - BASE_ERRORS_SHOWN
            );
        }
        if !p.not_compared.is_empty() {
            let names: Vec<String> = p.not_compared.iter().map(|c| format!("`{c}`")).collect();
            let _ = writeln!(
                doc.text,
                ">\n> Not compared, unknown in the base: {}",
                names.join(", ")
            );
        }
        doc.text.push('\n');
    }
    for n in &plan.not_planned {
        let _ = writeln!(
            doc.text,
            "> [!CAUTION]\n> Cluster `{}` is not planned: host name `{}` does not resolve: {}\n",
            n.cluster,
            n.host,
            n.reason.replace('<', "&lt;")
        );
    }
    let unreachable: Vec<String> = plan
        .unreachable()
        .map(|(_, n)| format!("`{}` ({})", n.name, n.host))
        .collect();
    if !unreachable.is_empty() {
        let _ = writeln!(
            doc.text,
            "> [!CAUTION]\n> **Error:** {} node(s) could not be observed; the plan leaves them out: {}\n",
            unreachable.len(),
            unreachable.join(", ")
        );
    }
    for (table, c) in plan.clusters.iter().filter(|c| c.is_shown()).enumerate() {
        cluster(&mut doc, c, table);
    }
    if !plan.requests.is_empty() {
        let _ = writeln!(
            doc.text,
            "#### Requests\n\n| request | action | target | status |\n|---|---|---|---|"
        );
        for r in &plan.requests {
            let target = match (&r.node, &r.host) {
                (Some(n), Some(h)) => format!("`{}/{n}` ({h})", r.cluster),
                (Some(n), None) => format!("`{}/{n}`", r.cluster),
                (None, _) => format!("`{}`", r.cluster),
            };
            let status = match r.status {
                RequestStatus::Pending => "pending: runs once the cluster has converged",
                RequestStatus::Running => "RUNNING: interrupted; the next apply resumes it",
                RequestStatus::Succeeded => "succeeded",
                RequestStatus::Failed => "FAILED",
                RequestStatus::Refused => "refused",
                RequestStatus::New => "new: runs once merged",
                RequestStatus::Edited => "**edited after commit: never re-run**",
                RequestStatus::Unchanged => "unchanged",
            };
            let status = match &r.reason {
                Some(why) => format!("{status}: {}", why.replace('|', "\\|")),
                None => status.to_string(),
            };
            let _ = writeln!(
                doc.text,
                "| `{}` | {} | {} | {} |",
                r.id, r.action, target, status
            );
        }
        doc.text.push('\n');
        for r in plan.requests.iter().filter(|r| !r.steps.is_empty()) {
            let _ = writeln!(doc.text, "`{}` will:\n", r.id);
            for s in &r.steps {
                let _ = writeln!(doc.text, "1. `{}`: {}", s.node, s.step);
            }
            doc.text.push('\n');
        }
    }
    doc.finish()
}

/// Blocks being written: text accumulates as [`Kind::Keep`] until a block
/// of another kind is pushed.
#[derive(Default)]
struct Doc {
    blocks: Vec<Block>,
    text: String,
}

impl Doc {
    fn push(&mut self, kind: Kind, text: impl Into<String>) {
        if !self.text.is_empty() {
            self.blocks
                .push(Block::new(Kind::Keep, std::mem::take(&mut self.text)));
        }
        self.blocks.push(Block::new(kind, text));
    }

    fn finish(mut self) -> Vec<Block> {
        self.push(Kind::Keep, "");
        self.blocks
    }
}

/// Counts of clusters, nodes, changed files, orphans and requests.
fn summary_table(out: &mut String, plan: &Plan) {
    let s: &Summary = &plan.summary;
    let counts = |parts: &[(usize, &str)]| {
        let shown: Vec<String> = parts
            .iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, what)| format!("{n} {what}"))
            .collect();
        if shown.is_empty() {
            "0".to_string()
        } else {
            shown.join(", ")
        }
    };
    let clusters = counts(&[
        (s.clusters_to_create, "to create"),
        (s.clusters_to_update, "to update"),
        (s.clusters_unchanged, "unchanged"),
        (s.clusters_not_compared, "not compared"),
    ]);
    let nodes = counts(&[
        (s.nodes_to_create, "to create"),
        (s.nodes_to_update, "to update"),
        (s.nodes_unreachable, "**unreachable**"),
    ]);
    let orphans = counts(&[(s.clusters_orphaned, "cluster(s)"), (s.nodes_orphaned, "node(s)")]);
    let requests = match s.requests_to_run {
        0 => plan.requests.len().to_string(),
        run => format!("{} ({run} to run)", plan.requests.len()),
    };
    let _ = writeln!(
        out,
        "| clusters | nodes | files changed | orphans | requests |\n|---|---|---|---|---|\n| {clusters} | {nodes} | {} | {orphans} | {requests} |\n",
        s.files_changed
    );
}

fn cluster(doc: &mut Doc, c: &ClusterPlan, table: usize) {
    let what = match c.change {
        Change::Create => "create",
        Change::Update => "update",
        Change::NoChange => "nothing to do on the nodes observed",
        Change::Orphaned => "orphaned",
    };
    let _ = writeln!(
        doc.text,
        "#### `{}` ({} {}, {}): {}\n",
        c.name, c.engine, c.version, c.topology, what
    );
    if let Some(req) = &c.delete_request {
        let _ = writeln!(
            doc.text,
            "> [!WARNING]\n> This cluster is no longer in the repository. Nothing will be deleted.\n> To delete it, commit `{}`:\n>\n> ```toml\n{}> ```\n",
            req.path,
            quoted(&req.toml)
        );
    }
    doc.push(
        Kind::TableHead(table),
        "| node | host | role | change | steps |\n|---|---|---|---|---|\n",
    );
    for n in c.nodes.iter().filter(|n| n.change != Change::NoChange) {
        let steps: Vec<String> = n.steps.iter().map(|s| s.to_string()).collect();
        let change = match n.change {
            _ if n.unreachable.is_some() => "**unreachable**",
            Change::Create => "new",
            Change::Update => "update",
            Change::NoChange => "none",
            Change::Orphaned => "**orphaned**",
        };
        doc.push(
            Kind::Row(table),
            format!(
                "| `{}` | {} | {} | {} | {} |\n",
                n.name,
                super::text::host(n),
                n.role.as_str(),
                change,
                escape_cell(&steps.join("; "))
            ),
        );
    }
    doc.text.push('\n');
    unobserved(&mut doc.text, c);
    for n in &c.nodes {
        if let Some(req) = &n.remove_request {
            let _ = writeln!(
                doc.text,
                "> [!WARNING]\n> `{}` ({}) is no longer in the cluster file. Nothing will be deleted.\n> To remove it, commit `{}`:\n>\n> ```toml\n{}> ```\n",
                n.name,
                n.host,
                req.path,
                quoted(&req.toml)
            );
        }
    }
    for (f, nodes) in same_changes(c) {
        let who = match nodes.as_slice() {
            [one] => format!("<code>{one}</code>"),
            many => {
                let names: Vec<String> = many.iter().map(|n| format!("<code>{n}</code>")).collect();
                format!("same change on {}", names.join(", "))
            }
        };
        let fence = fence_for(&f.diff);
        doc.push(
            Kind::Diff,
            format!(
                "<details><summary>{who}: <code>{}</code>{}</summary>\n\n{fence}diff\n{}{fence}\n\n</details>\n\n",
                f.path,
                if f.new { " (new)" } else { "" },
                f.diff
            ),
        );
    }
}

/// The cluster's changed files, a diff that is byte for byte the same on
/// several nodes (same path, same diff) once, with the nodes it is on; in
/// the order of the nodes, then of their files.
fn same_changes(c: &ClusterPlan) -> Vec<(&FileChange, Vec<&str>)> {
    let mut out: Vec<(&FileChange, Vec<&str>)> = Vec::new();
    for n in &c.nodes {
        for f in &n.files {
            let same = out
                .iter_mut()
                .find(|(g, _)| g.path == f.path && g.new == f.new && g.diff == f.diff);
            match same {
                Some((_, nodes)) => nodes.push(&n.name),
                None => out.push((f, vec![&n.name])),
            }
        }
    }
    out
}

fn quoted(text: &str) -> String {
    text.lines().map(|l| format!("> {l}\n")).collect()
}

/// The cluster's nodes that could not be observed and the steps left out
/// because of them, as an alert.
fn unobserved(out: &mut String, c: &ClusterPlan) {
    let mut lines: Vec<String> = c
        .nodes
        .iter()
        .filter_map(|n| {
            let why = n.unreachable.as_ref()?;
            Some(format!(
                "> - **error:** `{}` ({}) cannot be reached, nothing is planned for it: {}",
                n.name,
                n.host,
                escape_html(why)
            ))
        })
        .collect();
    lines.extend(c.blocked.iter().map(|b| {
        format!(
            "> - left out: `{}`: {}: {}",
            b.node,
            escape_html(&b.what),
            escape_html(&b.reason)
        )
    }));
    if !lines.is_empty() {
        let _ = writeln!(out, "> [!CAUTION]\n{}\n", lines.join("\n"));
    }
}

fn escape_html(s: &str) -> String {
    s.replace('<', "&lt;")
}

fn escape_cell(s: &str) -> String {
    s.replace('|', "\\|")
}

/// A code fence longer than any backtick run in the text.
fn fence_for(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    "`".repeat(longest.max(2) + 1)
}
