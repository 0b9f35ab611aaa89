use anyhow::bail;
use futures::future::join_all;
use std::io::{BufRead, IsTerminal, Write};

use super::args::{ApplyArgs, Global};
use super::{exit, online, output, repo, target};
use crate::apply::{Apply, Progress};
use crate::observe::error_chain;
use crate::plan::{self, PlanInput};
use crate::render::Renderer;

pub fn run(g: &Global, a: &ApplyArgs) -> anyhow::Result<u8> {
    let dir = a.repo.dir();
    let Some(repo::Opened {
        loaded,
        store,
        recorded,
    }) = target::open(g, &dir, &a.target.clusters)?
    else {
        return Ok(exit::ERROR);
    };
    let repo = &loaded.repo;
    let renderer = Renderer::new(&repo.templates)?;
    let pool = crate::observe::ssh_pool(&repo.fleet)?;
    let commit = crate::source::head_commit(&dir);
    online::runtime()?.block_on(async {
        let progress = Progress {
            quiet: output::quiet(g),
        };
        let apply = Apply {
            repo,
            renderer: &renderer,
            store: &store,
            pool: &pool,
            commit,
            progress: &progress,
        };
        // Lock, observe and plan every cluster once, all at once; what is
        // shown is what runs.
        let (mut prepared, mut failed) = (Vec::new(), Vec::new());
        let preparing = repo.clusters.iter().map(|c| apply.prepare(c));
        for (c, p) in repo.clusters.iter().zip(join_all(preparing).await) {
            match p {
                Ok(p) => prepared.push(p),
                Err(e) => failed.push((c.name.clone(), e)),
            }
        }
        let plan = plan::assemble(
            &PlanInput {
                repo,
                renderer: &renderer,
                before: &plan::before::from_recorded(&recorded),
                base_requests: None,
                source: dir.display().to_string(),
                against: "the hosts".into(),
                today: super::clock::today(),
            },
            prepared.iter().map(|p| p.plan.clone()).collect(),
        );
        print!("{}", plan::to_text(&plan, output::color_stdout(g)));
        if plan.has_changes() && !a.yes && !confirm()? {
            eprintln!("apply cancelled; nothing was changed");
            return Ok(exit::ERROR);
        }
        // Clusters are independent (their own lock, files, ports and
        // firewall chain, even on a shared host): carried out side by side.
        let names: Vec<String> = prepared.iter().map(|p| p.plan.name.clone()).collect();
        let executing = prepared.into_iter().map(|p| apply.execute(p));
        let results: Vec<_> = names.into_iter().zip(join_all(executing).await).collect();
        for (name, result) in &results {
            if let Err(e) = result {
                progress.failed(name, &error_chain(e));
            }
        }
        pool.disconnect_all().await;
        for (name, e) in &failed {
            eprintln!("{name}: FAILED: {}", error_chain(e));
        }
        for (name, r) in &results {
            match r {
                Ok(rep) if rep.changed_anything() => eprintln!(
                    "{name}: applied ({} built, {} file(s) written, live: [{}], restarted: [{}])",
                    rep.nodes_built.len(),
                    rep.files_written,
                    rep.live.join(", "),
                    rep.restarted.join(", ")
                ),
                Ok(_) => {}
                Err(e) => eprintln!("{name}: FAILED: {}", error_chain(e)),
            }
        }
        let ok = failed.is_empty() && results.iter().all(|(_, r)| r.is_ok());
        Ok(if ok { exit::OK } else { exit::ERROR })
    })
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
