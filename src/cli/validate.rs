use super::args::{Format, Global, ValidateArgs};
use super::{exit, output, repo};
use crate::diag;

pub fn run(g: &Global, a: &ValidateArgs) -> anyhow::Result<u8> {
    let dir = a.repo.dir();
    let snapshot = crate::source::from_worktree(&dir)?;
    let (_, recorded) = repo::read_state(g, &dir, &snapshot)?;
    let result = crate::load::load(&snapshot, &repo::offline_context(&dir, &recorded));
    let (diags, ok) = match &result {
        Ok(loaded) => (loaded.warnings.clone(), true),
        Err(d) => (d.clone(), false),
    };
    match a.format {
        Format::Json => {
            let v = serde_json::json!({ "valid": ok, "diagnostics": diags });
            println!("{}", serde_json::to_string_pretty(&v)?);
        }
        Format::Text | Format::Markdown => {
            eprint!("{}", diag::render(&diags, &snapshot, output::color_stderr(g)));
            if let Ok(loaded) = &result {
                let nodes: usize = loaded.repo.clusters.iter().map(|c| c.nodes.len()).sum();
                println!(
                    "{}: valid ({} cluster{}, {} node{}, {} request{})",
                    dir.display(),
                    loaded.repo.clusters.len(),
                    if loaded.repo.clusters.len() == 1 { "" } else { "s" },
                    nodes,
                    if nodes == 1 { "" } else { "s" },
                    loaded.repo.requests.len(),
                    if loaded.repo.requests.len() == 1 { "" } else { "s" },
                );
            } else {
                eprintln!("{}: {}", dir.display(), diag::summary(&diags));
            }
        }
    }
    Ok(if ok { exit::OK } else { exit::ERROR })
}
