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
    let Some(plan) = plan else { return Ok(exit::ERROR) };
    match a.format {
        Format::Text => print!("{}", plan::to_text(&plan, output::color_stdout(g))),
        Format::Markdown => print!("{}", plan::to_markdown(&plan)),
        Format::Json => println!("{}", serde_json::to_string_pretty(&plan)?),
    }
    // The other clusters are planned; these are not: an error.
    if !plan.not_planned.is_empty() {
        for n in &plan.not_planned {
            eprintln!("error: {n}");
        }
        return Ok(exit::ERROR);
    }
    Ok(match (a.detailed_exitcode, plan.has_changes()) {
        (true, true) => exit::CHANGES,
        _ => exit::OK,
    })
}

/// `plan --offline`: the working tree against the state store.
fn against_state(g: &Global, dir: &Path, only: &[String]) -> anyhow::Result<Option<Plan>> {
    let Some(repo::Opened {
        loaded,
        store,
        recorded,
        ..
    }) = target::open(g, dir, only)?
    else {
        return Ok(None);
    };
    let renderer = Renderer::new(&loaded.repo.templates)?;
    let addresses = resolve::resolve(resolve::hosts_of(&loaded.repo, &recorded), &SystemResolver);
    let plan = plan::plan(&PlanInput {
        repo: &loaded.repo,
        renderer: &renderer,
        addresses: &addresses,
        before: &plan::before::from_recorded(&recorded),
        base_requests: None,
        source: dir.display().to_string(),
        against: store.describe(),
        today: clock::today(),
    })?;
    Ok(Some(plan))
}

/// `plan`: the working tree against what the hosts really hold.
fn against_hosts(g: &Global, dir: &Path, only: &[String]) -> anyhow::Result<Option<Plan>> {
    let Some(repo::Opened {
        loaded,
        store,
        recorded,
    }) = target::open(g, dir, only)?
    else {
        return Ok(None);
    };
    let renderer = Renderer::new(&loaded.repo.templates)?;
    let addresses = resolve::resolve(resolve::hosts_of(&loaded.repo, &recorded), &SystemResolver);
    let pool = crate::observe::ssh_pool(&loaded.repo.fleet)?;
    let plan = online::runtime()?.block_on(async {
        let before = online::observe_all(&loaded.repo, &store, &recorded, &pool).await?;
        pool.disconnect_all().await;
        let plan = plan::plan(&PlanInput {
            repo: &loaded.repo,
            renderer: &renderer,
            addresses: &addresses,
            before: &before,
            base_requests: None,
            source: dir.display().to_string(),
            against: "the hosts".into(),
            today: clock::today(),
        })?;
        anyhow::Ok(plan)
    })?;
    Ok(Some(plan))
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
) -> anyhow::Result<Option<Plan>> {
    let head_snap = match head {
        Some(rev) => source::from_revision(dir, rev)?,
        None => source::from_worktree(dir)?,
    };
    let base_snap = source::from_revision(dir, base)?;
    let (ctx, history) = repo::history_context(dir, base);
    if let Numbering::Unknown(why) = &ctx.numbering {
        eprintln!("warning: node numbers of `{base}` may differ from the fleet's: {why}");
    }
    let Some(mut head_loaded) = repo::load_or_report(g, &head_snap, &ctx) else {
        return Ok(None);
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
    Ok(Some(plan))
}

fn label(snap: &Snapshot, name: &str) -> String {
    match snap.commit() {
        Some(c) => format!("{name} ({})", &c[..c.len().min(12)]),
        None => name.to_string(),
    }
}
