//! A plan as GitHub-flavoured Markdown, ready to paste into a pull-request
//! comment: a summary, a table per changed cluster, diffs folded in
//! `<details>` blocks, orphans called out.

use std::fmt::Write;

use super::text::{summary_line, BASE_ERRORS_SHOWN};
use super::{Change, Plan, RequestStatus};

pub fn to_markdown(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "### dbfleet plan\n");
    let _ = writeln!(out, "`{}` against {}\n", plan.source, plan.against);
    let _ = writeln!(out, "**{}**\n", summary_line(&plan.summary));
    if let Some(p) = &plan.base_problem {
        let _ = writeln!(
            out,
            "> [!CAUTION]\n> The base `{}` does not validate ({}): it is compared as far as it loads.\n>",
            p.rev, p.summary
        );
        for e in p.errors.iter().take(BASE_ERRORS_SHOWN) {
            let _ = writeln!(out, "> - {}", e.replace('<', "&lt;"));
        }
        if p.errors.len() > BASE_ERRORS_SHOWN {
            let _ = writeln!(out, "> - ... and {} more", p.errors.len() - BASE_ERRORS_SHOWN);
        }
        if !p.not_compared.is_empty() {
            let names: Vec<String> = p.not_compared.iter().map(|c| format!("`{c}`")).collect();
            let _ = writeln!(
                out,
                ">\n> Not compared, unknown in the base: {}",
                names.join(", ")
            );
        }
        out.push('\n');
    }
    for n in &plan.not_planned {
        let _ = writeln!(
            out,
            "> [!CAUTION]\n> Cluster `{}` is not planned: host name `{}` does not resolve: {}\n",
            n.cluster,
            n.host,
            n.reason.replace('<', "&lt;")
        );
    }
    for c in plan.clusters.iter().filter(|c| c.change != Change::NoChange) {
        let what = match c.change {
            Change::Create => "create",
            Change::Update => "update",
            Change::NoChange => "no changes",
            Change::Orphaned => "orphaned",
        };
        let _ = writeln!(
            out,
            "#### `{}` ({} {}, {}): {}\n",
            c.name, c.engine, c.version, c.topology, what
        );
        if let Some(req) = &c.delete_request {
            let _ = writeln!(
                out,
                "> [!WARNING]\n> This cluster is no longer in the repository. Nothing will be deleted.\n> To delete it, commit `{}`:\n>\n> ```toml\n{}> ```\n",
                req.path,
                req.toml.lines().map(|l| format!("> {l}\n")).collect::<String>()
            );
        }
        let _ = writeln!(
            out,
            "| node | host | role | change | steps |\n|---|---|---|---|---|"
        );
        for n in c.nodes.iter().filter(|n| n.change != Change::NoChange) {
            let steps: Vec<String> = n.steps.iter().map(|s| s.to_string()).collect();
            let change = match n.change {
                Change::Create => "new",
                Change::Update => "update",
                Change::NoChange => "none",
                Change::Orphaned => "**orphaned**",
            };
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} | {} |",
                n.name,
                super::text::host(n),
                n.role.as_str(),
                change,
                escape_cell(&steps.join("; "))
            );
        }
        out.push('\n');
        for n in c.nodes.iter() {
            if let Some(req) = &n.remove_request {
                let _ = writeln!(
                    out,
                    "> [!WARNING]\n> `{}` ({}) is no longer in the cluster file. Nothing will be deleted.\n> To remove it, commit `{}`:\n>\n> ```toml\n{}> ```\n",
                    n.name,
                    n.host,
                    req.path,
                    req.toml.lines().map(|l| format!("> {l}\n")).collect::<String>()
                );
            }
            for f in &n.files {
                let fence = fence_for(&f.diff);
                let _ = writeln!(
                    out,
                    "<details><summary><code>{}</code>: <code>{}</code>{}</summary>\n\n{fence}diff\n{}{fence}\n\n</details>\n",
                    n.name,
                    f.path,
                    if f.new { " (new)" } else { "" },
                    f.diff
                );
            }
        }
    }
    if !plan.requests.is_empty() {
        let _ = writeln!(
            out,
            "#### Requests\n\n| request | action | target | status |\n|---|---|---|---|"
        );
        for r in &plan.requests {
            let target = match (&r.node, &r.host) {
                (Some(n), Some(h)) => format!("`{}/{n}` ({h})", r.cluster),
                (Some(n), None) => format!("`{}/{n}`", r.cluster),
                (None, _) => format!("`{}`", r.cluster),
            };
            let status = match r.status {
                RequestStatus::Pending => "pending (this version of apply does not run requests)",
                RequestStatus::New => "new: runs once merged",
                RequestStatus::Edited => "**edited after commit: never re-run**",
                RequestStatus::Unchanged => "unchanged",
            };
            let _ = writeln!(out, "| `{}` | {} | {} | {} |", r.id, r.action, target, status);
        }
        out.push('\n');
    }
    out
}

fn escape_cell(s: &str) -> String {
    s.replace('|', "\\|")
}

/// A code fence longer than any backtick run in the text.
fn fence_for(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    "`".repeat(longest.max(2) + 1)
}
