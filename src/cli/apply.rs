use anyhow::{bail, Context};
use futures::future::join_all;
use std::io::{BufRead, IsTerminal, Write};
use std::sync::Mutex;

use super::args::{ApplyArgs, Global};
use super::{exit, online, output, repo, target};
use crate::apply::{Apply, ApplyError, Progress};
use crate::observe::error_chain;
use crate::plan::{self, ClusterPlan, PlanInput};
use crate::reconcile::{reconcile_cluster, Gate};
use crate::render::Renderer;
use crate::resolve::{self, SystemResolver};
use crate::transport::BoxFuture;

pub fn run(g: &Global, a: &ApplyArgs) -> anyhow::Result<u8> {
    let dir = a.repo.dir();
    let Ok(repo::Opened {
        loaded,
        store,
        recorded,
    }) = target::open(g, &dir, &a.target.clusters)?
    else {
        return Ok(exit::ERROR);
    };
    let repo = &loaded.repo;
    let renderer = Renderer::new(&repo.templates)?;
    let addresses = resolve::resolve(resolve::hosts_of(repo, &recorded), &SystemResolver);
    let pool = crate::observe::ssh_pool(&repo.fleet)?;
    let head = crate::source::head(&dir);
    let ledger = super::requests::ledger(&recorded);
    let standings = super::requests::standings(&dir, &repo.requests, &ledger);
    for s in &standings {
        if let crate::requests::Standing::EditedAfterRun(r) = s {
            eprintln!("warning: {}", crate::requests::edited_line(r));
        }
    }
    let queue = super::requests::due(&standings);
    let mut progress = Progress::new(output::quiet(g));
    if std::io::stderr().is_terminal() {
        progress = progress.with_bars();
    }
    if let Some(path) = &a.events {
        let file = std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
        progress = progress.with_events(file);
    }
    online::runtime()?.block_on(async {
        let apply = Apply {
            repo,
            renderer: &renderer,
            addresses: &addresses,
            store: &store,
            pool: &pool,
            commit: head.as_ref().map(|h| h.id.clone()),
            author: head.map(|h| h.author),
            progress: &progress,
            lock_wait: a.lock_timeout,
            queue: &queue,
        };
        // Every cluster is locked, observed and planned at once; the plans
        // are shown together and, once approved, carried out as they are,
        // side by side (clusters are independent: their own lock, files,
        // ports and firewall chain, even on a shared host).
        let show = |plans: Vec<ClusterPlan>| -> anyhow::Result<bool> {
            let input = PlanInput {
                repo,
                renderer: &renderer,
                addresses: &addresses,
                before: &plan::before::from_recorded(&recorded),
                base_requests: None,
                source: dir.display().to_string(),
                against: "the hosts".into(),
                today: super::clock::today(),
            };
            let mut plan = plan::assemble(&input, plans);
            crate::requests::annotate(&mut plan, repo, &standings, input.before);
            print!("{}", plan::to_text(&plan, output::color_stdout(g)));
            Ok(!plan.has_changes() || a.yes || confirm()?)
        };
        let gate = Confirm::new(repo.clusters.len(), show);
        let reconciling = repo.clusters.iter().map(|c| reconcile_cluster(&apply, c, &gate));
        let outcomes = join_all(reconciling).await;
        pool.disconnect_all().await;
        if let Some(e) = gate.error() {
            eprintln!("error: {e:#}");
            return Ok(exit::ERROR);
        }
        for (c, outcome) in repo.clusters.iter().zip(&outcomes).filter(|(_, o)| o.executed) {
            if let Err(e) = &outcome.report {
                progress.failed(&c.name, &error_chain(e));
            }
        }
        let mut ok = true;
        for (c, outcome) in repo.clusters.iter().zip(&outcomes) {
            let name = &c.name;
            match &outcome.report {
                Ok(rep) if rep.changed_anything() => eprintln!(
                    "{name}: applied ({} built, {} file(s) written, live: [{}], restarted: [{}])",
                    rep.nodes_built.len(),
                    rep.files_written,
                    rep.live.join(", "),
                    rep.restarted.join(", ")
                ),
                Ok(_) => {}
                Err(ApplyError::Cancelled) => ok = false,
                Err(e) => {
                    ok = false;
                    eprintln!("{name}: FAILED: {}", error_chain(e));
                }
            }
        }
        for r in outcomes.iter().flat_map(|o| &o.requests) {
            eprintln!("{}: {}", r.cluster, crate::requests::outcome_line(r));
            if r.state != crate::state::RequestState::Succeeded {
                ok = false;
            }
        }
        if outcomes
            .iter()
            .any(|o| matches!(o.report, Err(ApplyError::Cancelled)))
        {
            eprintln!("apply cancelled; nothing was changed");
        }
        Ok(if ok { exit::OK } else { exit::ERROR })
    })
}

/// The terminal's gate: waits until every cluster is planned (or failed to
/// prepare), shows the plans together, asks once, and gives every cluster
/// the same answer.
struct Confirm<F> {
    expected: usize,
    show: F,
    inner: Mutex<Inner>,
    decided: tokio::sync::watch::Sender<Option<bool>>,
}

#[derive(Default)]
struct Inner {
    arrived: usize,
    plans: Vec<ClusterPlan>,
    error: Option<anyhow::Error>,
}

impl<F> Confirm<F>
where
    F: Fn(Vec<ClusterPlan>) -> anyhow::Result<bool> + Sync,
{
    fn new(expected: usize, show: F) -> Confirm<F> {
        Confirm {
            expected,
            show,
            inner: Mutex::new(Inner::default()),
            decided: tokio::sync::watch::channel(None).0,
        }
    }

    fn error(&self) -> Option<anyhow::Error> {
        self.inner.lock().ok()?.error.take()
    }
}

impl<F> Gate for Confirm<F>
where
    F: Fn(Vec<ClusterPlan>) -> anyhow::Result<bool> + Sync,
{
    fn approve<'a>(&'a self, plan: Option<&'a ClusterPlan>) -> BoxFuture<'a, bool> {
        Box::pin(async move {
            let mut rx = self.decided.subscribe();
            let all = {
                let Ok(mut inner) = self.inner.lock() else {
                    return false;
                };
                inner.arrived += 1;
                inner.plans.extend(plan.cloned());
                (inner.arrived == self.expected).then(|| std::mem::take(&mut inner.plans))
            };
            if let Some(plans) = all {
                let decision = tokio::task::block_in_place(|| (self.show)(plans));
                let yes = match decision {
                    Ok(yes) => yes,
                    Err(e) => {
                        if let Ok(mut inner) = self.inner.lock() {
                            inner.error = Some(e);
                        }
                        false
                    }
                };
                self.decided.send_replace(Some(yes));
            }
            let decided = rx.wait_for(Option::is_some).await.map(|d| d.unwrap_or(false));
            decided.unwrap_or(false)
        })
    }
}

/// Ask on the terminal; refuse when there is none (use --yes).
fn confirm() -> anyhow::Result<bool> {
    if !std::io::stdin().is_terminal() {
        bail!("not on a terminal: pass --yes to apply without confirmation");
    }
    eprint!("Apply these changes? Only 'yes' is accepted: ");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim() == "yes")
}
