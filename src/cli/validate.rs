use super::args::{Format, Global, ValidateArgs};
use super::{exit, output, repo};
use crate::diag;
use crate::model::Repo;

pub fn run(g: &Global, a: &ValidateArgs) -> anyhow::Result<u8> {
    let dir = a.repo.dir();
    let snapshot = crate::source::from_worktree(&dir)?;
    let (_, recorded) = repo::read_state(g, &dir, &snapshot)?;
    let result = crate::load::load(&snapshot, &repo::offline_context(&dir, &recorded));
    let (diags, ok) = match &result {
        Ok(loaded) => (loaded.warnings.clone(), true),
        Err(d) => (d.clone(), false),
    };
    let verdict = match &result {
        Ok(loaded) => format!("{}: valid ({})", dir.display(), counts(&loaded.repo)),
        Err(_) => format!("{}: {}", dir.display(), diag::summary(&diags)),
    };
    match a.format {
        Format::Json => {
            let v = serde_json::json!({ "valid": ok, "diagnostics": diag::locate(&diags, &snapshot) });
            println!("{}", serde_json::to_string_pretty(&v)?);
        }
        Format::Markdown => {
            // The problems on stderr as well, for a CI log; the document on stdout.
            eprint!("{}", diag::render(&diags, &snapshot, output::color_stderr(g)));
            let headline = match &result {
                Ok(loaded) => format!("`{}`: valid ({})", dir.display(), counts(&loaded.repo)),
                Err(_) => format!(
                    "`{}` does not validate ({})",
                    dir.display(),
                    diag::summary(&diags)
                ),
            };
            print!(
                "{}",
                diag::to_markdown(
                    "dbfleet validate",
                    &headline,
                    &diags,
                    &snapshot,
                    crate::plan::MARKDOWN_MAX_BYTES,
                    crate::fit::Whole {
                        what: "list",
                        how: "run `dbfleet validate` (the text form, on stderr)",
                    },
                )
            );
        }
        Format::Text => {
            eprint!("{}", diag::render(&diags, &snapshot, output::color_stderr(g)));
            if ok {
                println!("{verdict}");
            } else {
                eprintln!("{verdict}");
            }
        }
    }
    Ok(if ok { exit::OK } else { exit::ERROR })
}

/// "2 clusters, 5 nodes, 1 request".
fn counts(repo: &Repo) -> String {
    let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
    let nodes: usize = repo.clusters.iter().map(|c| c.nodes.len()).sum();
    format!(
        "{}, {}, {}",
        plural(repo.clusters.len(), "cluster"),
        plural(nodes, "node"),
        plural(repo.requests.len(), "request")
    )
}
