use std::path::Path;

use super::args::{Format, Global, PlanArgs};
use super::{exit, online, output, repo, target};
use crate::diag;
use crate::load::{load, LoadContext};
use crate::plan::{self, Plan, PlanInput};
use crate::render::Renderer;
use crate::source::{self, Snapshot};

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
    let plan = plan::plan(&PlanInput {
        repo: &loaded.repo,
        renderer: &renderer,
        before: &plan::before::from_recorded(&recorded),
        base_requests: None,
        source: dir.display().to_string(),
        against: format!("state in {}", store.dir().display()),
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
    let pool = crate::observe::ssh_pool(&loaded.repo.fleet)?;
    let plan = online::runtime()?.block_on(async {
        let before = online::observe_all(&loaded.repo, &store, &recorded, &pool).await?;
        pool.disconnect_all().await;
        let plan = plan::plan(&PlanInput {
            repo: &loaded.repo,
            renderer: &renderer,
            before: &before,
            base_requests: None,
            source: dir.display().to_string(),
            against: "the hosts".into(),
        })?;
        anyhow::Ok(plan)
    })?;
    Ok(Some(plan))
}

/// `plan --base REV [--head REV]`: what changes between two revisions; no
/// hosts, no state. The base is taken as applied.
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
    let ctx = LoadContext::default();
    let Some(mut head_loaded) = repo::load_or_report(g, &head_snap, &ctx) else {
        return Ok(None);
    };
    let base_loaded = match load(&base_snap, &ctx) {
        Ok(l) => Some(l),
        Err(diags) => {
            eprintln!(
                "warning: base revision `{base}` does not validate ({}); planning as if it were empty",
                diag::summary(&diags)
            );
            None
        }
    };
    let mut recorded = match &base_loaded {
        Some(l) => plan::simulate_applied(&l.repo, &Renderer::new(&l.repo.templates)?)?,
        None => plan::Recorded::new(),
    };
    target::select(only, &mut head_loaded.repo, &mut recorded)?;
    let renderer = Renderer::new(&head_loaded.repo.templates)?;
    let plan = plan::plan(&PlanInput {
        repo: &head_loaded.repo,
        renderer: &renderer,
        before: &plan::before::from_recorded(&recorded),
        base_requests: Some(
            base_loaded
                .as_ref()
                .map_or(&[][..], |l| l.repo.requests.as_slice()),
        ),
        source: label(&head_snap, head.unwrap_or("working tree")),
        against: format!("base {}", label(&base_snap, base)),
    })?;
    Ok(Some(plan))
}

fn label(snap: &Snapshot, name: &str) -> String {
    match snap.commit() {
        Some(c) => format!("{name} ({})", &c[..c.len().min(12)]),
        None => name.to_string(),
    }
}
