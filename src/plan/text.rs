//! A plan for people at a terminal.

use std::fmt::Write;

use super::{BaseProblem, Change, ClusterPlan, NodePlan, Plan, RequestStatus, Summary};

/// Render a plan as text. Clusters without changes are counted, not listed.
pub fn to_text(plan: &Plan, color: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "dbfleet plan: {} against {}", plan.source, plan.against);
    if let Some(p) = &plan.base_problem {
        base_problem(&mut out, p);
    }
    for c in plan.clusters.iter().filter(|c| c.is_shown()) {
        cluster(&mut out, c, color);
    }
    for n in &plan.not_planned {
        let _ = writeln!(out, "\n! {n}");
    }
    if !plan.requests.is_empty() {
        let _ = writeln!(out, "\nrequests:");
        for r in &plan.requests {
            let target = match (&r.node, &r.host) {
                (Some(n), Some(h)) => format!("{}/{} ({h})", r.cluster, n),
                (Some(n), None) => format!("{}/{}", r.cluster, n),
                (None, _) => r.cluster.clone(),
            };
            let status = match r.status {
                RequestStatus::Pending => "pending: runs once the cluster has converged",
                RequestStatus::Running => "RUNNING: interrupted; the next apply resumes it",
                RequestStatus::Succeeded => "succeeded",
                RequestStatus::Failed => "FAILED",
                RequestStatus::Refused => "refused",
                RequestStatus::New => "new, will run once merged",
                RequestStatus::Edited => "EDITED after it was committed: never re-run",
                RequestStatus::Unchanged => "unchanged",
            };
            let _ = writeln!(out, "  {} {} {}: {}", r.id, r.action, target, status);
            if let Some(why) = &r.reason {
                let _ = writeln!(out, "      {why}");
            }
            for s in &r.steps {
                let _ = writeln!(out, "      - {s}");
            }
        }
    }
    let unreachable: Vec<String> = plan
        .unreachable()
        .map(|(_, n)| format!("{} ({})", n.name, n.host))
        .collect();
    if !unreachable.is_empty() {
        let line = format!(
            "error: {} node(s) could not be observed, the plan leaves them out: {}",
            unreachable.len(),
            unreachable.join(", ")
        );
        let _ = writeln!(out, "\n{}", red(&line, color));
    }
    let _ = writeln!(out, "\n{}", summary_line(&plan.summary));
    out
}

/// How many errors of a base that does not validate are listed.
pub(super) const BASE_ERRORS_SHOWN: usize = 10;

fn base_problem(out: &mut String, p: &BaseProblem) {
    let _ = writeln!(
        out,
        "\n! the base {} does not validate ({}): it is compared as far as it loads",
        p.rev, p.summary
    );
    for e in p.errors.iter().take(BASE_ERRORS_SHOWN) {
        let _ = writeln!(out, "    {e}");
    }
    if p.errors.len() > BASE_ERRORS_SHOWN {
        let _ = writeln!(out, "    ... and {} more", p.errors.len() - BASE_ERRORS_SHOWN);
    }
    if !p.not_compared.is_empty() {
        let _ = writeln!(
            out,
            "    not compared, unknown in the base: {}",
            p.not_compared.join(", ")
        );
    }
}

fn cluster(out: &mut String, c: &ClusterPlan, color: bool) {
    let what = match c.change {
        Change::Create => "create",
        Change::Update => "update",
        Change::NoChange => "nothing to do on the nodes observed",
        Change::Orphaned => "ORPHANED",
    };
    // Shown without changes: some node could not be observed.
    let symbol = match c.change {
        Change::NoChange => "?",
        other => other.symbol(),
    };
    let _ = writeln!(
        out,
        "\n{} cluster {} ({} {}, {}): {}",
        symbol, c.name, c.engine, c.version, c.topology, what
    );
    if let Some(req) = &c.delete_request {
        let _ = writeln!(out, "    no longer in the repository; nothing will be deleted.");
        let _ = writeln!(out, "    to delete it, commit {}:", req.path);
        for line in req.toml.lines() {
            let _ = writeln!(out, "      {line}");
        }
    }
    for n in c.nodes.iter().filter(|n| n.change != Change::NoChange) {
        node(out, n, color);
    }
    for b in &c.blocked {
        let line = format!("    left out: {}: {}: {}", b.node, b.what, b.reason);
        let _ = writeln!(out, "{}", red(&line, color));
    }
}

fn node(out: &mut String, n: &NodePlan, color: bool) {
    if let Some(why) = &n.unreachable {
        let line = format!(
            "  error: {} ({}, {}, #{}) cannot be reached, nothing is planned for it: {why}",
            n.name,
            n.host,
            n.role.as_str(),
            n.number
        );
        let _ = writeln!(out, "{}", red(&line, color));
        return;
    }
    let what = match n.change {
        Change::Create => "new node",
        Change::Update => "update",
        Change::NoChange => "no changes",
        Change::Orphaned => "ORPHANED",
    };
    let _ = writeln!(
        out,
        "  {} {} ({}, {}, #{}): {}",
        n.change.symbol(),
        n.name,
        host(n),
        n.role.as_str(),
        n.number,
        what
    );
    if let Some(req) = &n.remove_request {
        let _ = writeln!(
            out,
            "      no longer in the cluster file; nothing will be deleted."
        );
        let _ = writeln!(out, "      to remove it, commit {}:", req.path);
        for line in req.toml.lines() {
            let _ = writeln!(out, "        {line}");
        }
    }
    for s in &n.steps {
        let _ = writeln!(out, "      - {s}");
    }
    for f in &n.files {
        for line in f.diff.lines() {
            let _ = writeln!(out, "      {}", paint(line, color));
        }
    }
}

fn red(line: &str, color: bool) -> String {
    if color {
        format!("\x1b[31m{line}\x1b[0m")
    } else {
        line.to_string()
    }
}

/// `db1.example.internal = 10.0.0.11 fd00::11` for a host name, else the address.
pub(super) fn host(n: &NodePlan) -> String {
    if n.address.is_empty() {
        return n.host.clone();
    }
    let addresses: Vec<String> = n.address.iter().map(ToString::to_string).collect();
    format!("{} = {}", n.host, addresses.join(" "))
}

fn paint(line: &str, color: bool) -> String {
    if !color {
        return line.to_string();
    }
    let code = match line.as_bytes().first() {
        _ if line.starts_with("---") || line.starts_with("+++") => "1",
        Some(b'+') => "32",
        Some(b'-') => "31",
        Some(b'@') => "36",
        _ => return line.to_string(),
    };
    format!("\x1b[{code}m{line}\x1b[0m")
}

/// "Plan: 1 cluster to create, ...", or "No changes." when there are none.
pub fn summary_line(s: &Summary) -> String {
    if !s.has_changes && s.nodes_unreachable > 0 {
        return format!(
            "No changes on the nodes observed; {} node(s) could not be observed.",
            s.nodes_unreachable
        );
    }
    if !s.has_changes {
        return format!(
            "No changes. {} cluster{} the repository.",
            s.clusters_unchanged,
            if s.clusters_unchanged == 1 {
                " matches"
            } else {
                "s match"
            }
        );
    }
    let mut parts = Vec::new();
    let mut push = |n: usize, what: &str| {
        if n > 0 {
            parts.push(format!("{n} {what}"));
        }
    };
    push(s.clusters_to_create, "cluster(s) to create");
    push(s.clusters_to_update, "cluster(s) to update");
    push(s.clusters_orphaned, "cluster(s) orphaned");
    push(s.clusters_not_compared, "cluster(s) not compared");
    push(s.clusters_not_planned, "cluster(s) not planned");
    push(s.nodes_to_create, "node(s) to create");
    push(s.nodes_to_update, "node(s) to update");
    push(s.nodes_orphaned, "node(s) orphaned");
    push(s.nodes_unreachable, "node(s) unreachable");
    push(s.files_changed, "file(s) changed");
    push(s.requests_to_run, "request(s) to run");
    push(s.clusters_unchanged, "cluster(s) unchanged");
    format!("Plan: {}.", parts.join(", "))
}
