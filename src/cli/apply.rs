use anyhow::bail;
use std::io::{BufRead, IsTerminal, Write};

use super::args::{ApplyArgs, Global};
use super::{exit, online, output, repo};
use crate::apply::{Apply, Progress};
use crate::plan::{self, PlanInput};
use crate::render::Renderer;

pub fn run(g: &Global, a: &ApplyArgs) -> anyhow::Result<u8> {
    let dir = a.repo.dir();
    let Some(repo::Opened { loaded, store, .. }) = repo::open(g, &dir)? else {
        return Ok(exit::ERROR);
    };
    let repo = &loaded.repo;
    let renderer = Renderer::new(&repo.templates)?;
    let pool = crate::observe::ssh_pool(&repo.fleet)?;
    let commit = crate::source::head_commit(&dir);
    online::runtime()?.block_on(async {
        let before = online::observe_all(repo, &store, &pool).await?;
        let plan = plan::plan(&PlanInput {
            repo,
            renderer: &renderer,
            before: &before,
            base_requests: None,
            source: dir.display().to_string(),
            against: "the hosts".into(),
        })?;
        print!("{}", plan::to_text(&plan, output::color_stdout(g)));
        if !plan.has_changes() {
            return Ok(exit::OK);
        }
        if !a.yes && !confirm()? {
            eprintln!("apply cancelled; nothing was changed");
            return Ok(exit::ERROR);
        }
        let progress = Progress { quiet: false };
        let results = Apply {
            repo,
            renderer: &renderer,
            store: &store,
            pool: &pool,
            commit,
            progress: &progress,
        }
        .run()
        .await;
        pool.disconnect_all().await;
        let failed: Vec<_> = results.iter().filter(|(_, r)| r.is_err()).collect();
        for (name, r) in &results {
            match r {
                Ok(rep) if rep.changed_anything() => eprintln!(
                    "{name}: applied ({} built, {} file(s) written, live: [{}], restarted: [{}])",
                    rep.nodes_built.len(),
                    rep.files_written,
                    rep.live.join(", "),
                    rep.restarted.join(", ")
                ),
                Ok(_) => eprintln!("{name}: no changes"),
                Err(e) => eprintln!("{name}: FAILED: {e}"),
            }
        }
        Ok(if failed.is_empty() { exit::OK } else { exit::ERROR })
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
