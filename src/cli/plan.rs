use std::path::Path;

use super::args::{Format, Global, PlanArgs};
use super::{clock, exit, online, output, repo, target};
use crate::diag;
use crate::load::Numbering;
use crate::plan::{self, Plan, PlanInput};
use crate::render::Renderer;
use crate::resolve::{self, SystemResolver};
use crate::source::{self, Snapshot};
use crate::state::StateStore as _;

pub fn run(g: &Global, a: &PlanArgs) -> anyhow::Result<u8> {
    let dir = a.repo.dir();
    let only = &a.target.clusters;
    let plan = match (&a.base, a.offline) {
        (Some(base), _) => against_base(g, &dir, base, a.head.as_deref(), only)?,
        (None, true) => against_state(g, &dir, only)?,
        (None, false) => against_hosts(g, &dir, only)?,
    };
    let plan = match plan {
        Ok(plan) => plan,
        Err(invalid) => return invalid_repository(&invalid, a.format, a.max_bytes),
    };
    match a.format {
        Format::Text => print!("{}", plan::to_text(&plan, output::color_stdout(g))),
        Format::Markdown => print!("{}", plan::to_markdown(&plan, a.max_bytes)),
        Format::Json => println!("{}", serde_json::to_string_pretty(&plan)?),
    }
    Ok(exit_code(&plan, a))
}

/// A repository that does not validate: its problems are on stderr; a
/// document format also gets a document showing them on stdout (never an
/// empty pull-request comment). Exit 1.
fn invalid_repository(invalid: &repo::Invalid, format: Format, max_bytes: usize) -> anyhow::Result<u8> {
    let diags = &invalid.diagnostics;
    match format {
        Format::Text => {}
        Format::Markdown => print!(
            "{}",
            diag::to_markdown(
                "dbfleet plan",
                &format!(
                    "The repository does not validate ({}): nothing was planned.",
                    diag::summary(diags)
                ),
                diags,
                &invalid.snapshot,
                max_bytes,
                crate::fit::Whole {
                    what: "list",
                    how: "run `dbfleet validate`, or `dbfleet plan --format markdown --max-bytes 0`",
                },
            )
        ),
        Format::Json => {
            let v = serde_json::json!({
                "format_version": plan::JSON_FORMAT_VERSION,
                "valid": false,
                "summary": diag::summary(diags),
                "diagnostics": diag::locate(diags, &invalid.snapshot),
            });
            println!("{}", serde_json::to_string_pretty(&v)?);
        }
    }
    Ok(exit::ERROR)
}

/// 1 when a node could not be observed (the plan is incomplete, whatever
/// it shows), else 2 for changes with `--detailed-exitcode`, else 0.
fn exit_code(plan: &Plan, a: &PlanArgs) -> u8 {
    // The other clusters are planned; these are not: an error.
    if !plan.not_planned.is_empty() {
        for n in &plan.not_planned {
            eprintln!("error: {n}");
        }
        return exit::ERROR;
    }
    let unreachable = plan.summary.nodes_unreachable;
    if unreachable > 0 {
        // The text plan ends with this line already; a document on stdout
        // may be going to a file.
        if a.format != Format::Text {
            eprintln!("error: {unreachable} node(s) could not be observed; the plan leaves them out");
        }
        return exit::ERROR;
    }
    let detailed = a.detailed_exitcode;
    match (detailed, plan.has_changes()) {
        (true, true) => exit::CHANGES,
        _ => exit::OK,
    }
}

/// `plan --offline`: the working tree against the state store.
fn against_state(g: &Global, dir: &Path, only: &[String]) -> anyhow::Result<Result<Plan, repo::Invalid>> {
    let repo::Opened {
        loaded,
        store,
        recorded,
    } = match target::open(g, dir, only)? {
        Ok(opened) => opened,
        Err(invalid) => return Ok(Err(invalid)),
    };
    let renderer = Renderer::new(&loaded.repo.templates)?;
    let addresses = resolve::resolve(resolve::hosts_of(&loaded.repo, &recorded), &SystemResolver);
    let before = plan::before::from_recorded(&recorded);
    let mut plan = plan::plan(&PlanInput {
        repo: &loaded.repo,
        renderer: &renderer,
        addresses: &addresses,
        before: &before,
        base_requests: None,
        source: dir.display().to_string(),
        against: store.describe(),
        today: clock::today(),
    })?;
    annotate_requests(dir, &mut plan, &loaded.repo, &recorded, &before);
    Ok(Ok(plan))
}

/// `plan`: the working tree against what the hosts really hold.
fn against_hosts(g: &Global, dir: &Path, only: &[String]) -> anyhow::Result<Result<Plan, repo::Invalid>> {
    let repo::Opened {
        loaded,
        store,
        recorded,
    } = match target::open(g, dir, only)? {
        Ok(opened) => opened,
        Err(invalid) => return Ok(Err(invalid)),
    };
    let renderer = Renderer::new(&loaded.repo.templates)?;
    let addresses = resolve::resolve(resolve::hosts_of(&loaded.repo, &recorded), &SystemResolver);
    let pool = crate::observe::ssh_pool(&loaded.repo.fleet)?;
    let plan = online::runtime()?.block_on(async {
        let before = online::observe_all(&loaded.repo, &store, &recorded, &pool).await?;
        pool.disconnect_all().await;
        let mut plan = plan::plan(&PlanInput {
            repo: &loaded.repo,
            renderer: &renderer,
            addresses: &addresses,
            before: &before,
            base_requests: None,
            source: dir.display().to_string(),
            against: "the hosts".into(),
            today: clock::today(),
        })?;
        annotate_requests(dir, &mut plan, &loaded.repo, &recorded, &before);
        anyhow::Ok(plan)
    })?;
    Ok(Ok(plan))
}

/// `plan --base REV [--head REV]`: what changes between two revisions; no
/// hosts, no state. The base is taken as applied, with the node numbers its
/// git history leads to; a base that does not validate is taken as far as
/// it loads, and the plan says so.
fn against_base(
    g: &Global,
    dir: &Path,
    base: &str,
    head: Option<&str>,
    only: &[String],
) -> anyhow::Result<Result<Plan, repo::Invalid>> {
    let head_snap = match head {
        Some(rev) => source::from_revision(dir, rev)?,
        None => source::from_worktree(dir)?,
    };
    let base_snap = source::from_revision(dir, base)?;
    let (ctx, history) = repo::history_context(dir, base);
    if let Numbering::Unknown(why) = &ctx.numbering {
        eprintln!("warning: node numbers of `{base}` may differ from the fleet's: {why}");
    }
    let mut head_loaded = match repo::load_or_report(g, &head_snap, &ctx) {
        Ok(loaded) => loaded,
        Err(invalid) => return Ok(Err(invalid)),
    };
    // Host names of both revisions, and of nodes the history keeps.
    let base_hosts = resolve::hosts_in_files(&base_snap);
    let kept = history.allocations.values().flat_map(|a| a.live.keys());
    let none = Default::default();
    let hosts = resolve::hosts_of(&head_loaded.repo, &none)
        .into_iter()
        .chain(base_hosts.iter().chain(kept).map(String::as_str));
    let addresses = resolve::resolve(hosts, &SystemResolver);
    let mut based =
        plan::base::simulate_base(&base_snap, base, &ctx, &history, &head_loaded.repo, &addresses)?;
    if let Some(problem) = &based.problem {
        eprint!(
            "{}",
            diag::render(&based.diagnostics, &base_snap, output::color_stderr(g))
        );
        eprintln!(
            "warning: base revision `{base}` does not validate ({}); compared as far as it loads",
            problem.summary
        );
    }
    let mut recorded = std::mem::take(&mut based.recorded);
    target::select(only, &mut head_loaded.repo, &mut recorded)?;
    let repo = based.comparable(&head_loaded.repo);
    let renderer = Renderer::new(&repo.templates)?;
    let mut plan = plan::plan(&PlanInput {
        repo: &repo,
        renderer: &renderer,
        addresses: &addresses,
        before: &plan::before::from_recorded(&recorded),
        base_requests: Some(&based.requests),
        source: label(&head_snap, head.unwrap_or("working tree")),
        against: format!("base {}", label(&base_snap, base)),
        today: clock::today(),
    })?;
    if let Some(problem) = based.problem {
        plan.set_base_problem(problem);
    }
    Ok(Ok(plan))
}

/// The requests of a plan against the state or the hosts, as the ledger
/// says they stand.
fn annotate_requests(
    dir: &Path,
    plan: &mut Plan,
    repo: &crate::model::Repo,
    recorded: &std::collections::BTreeMap<String, crate::state::ClusterState>,
    before: &plan::Before,
) {
    let ledger = super::requests::ledger(recorded);
    let standings = super::requests::standings(dir, &repo.requests, &ledger);
    crate::requests::annotate(plan, repo, &standings, before);
}

fn label(snap: &Snapshot, name: &str) -> String {
    match snap.commit() {
        Some(c) => format!("{name} ({})", &c[..c.len().min(12)]),
        None => name.to_string(),
    }
}
