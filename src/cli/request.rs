//! `dbfleet request new`: a request file from flags, written only when the
//! repository with it added validates.

use anyhow::Context;
use std::io::Write;
use std::path::Path;

use super::args::{Global, RequestArgs, RequestCommand, RequestNewArgs};
use super::{clock, exit, output, repo};
use crate::diag;
use crate::requests::{self, Draft};

pub fn run(g: &Global, a: &RequestArgs) -> anyhow::Result<u8> {
    match &a.command {
        RequestCommand::New(a) => new(g, a),
    }
}

fn new(g: &Global, a: &RequestNewArgs) -> anyhow::Result<u8> {
    let dir = a.repo.dir();
    let draft = Draft {
        action: a.action.clone(),
        cluster: a.cluster.clone(),
        node: a.node.clone(),
        backup: a.backup.clone(),
        source: a.source.clone(),
        timeout: a.timeout.clone(),
        confirm: a.confirm,
    };
    let path = draft.path(&clock::today());
    let text = match draft.text() {
        Ok(t) => t,
        Err(e) => return refused(&path, &e.to_string()),
    };
    let file = dir.join(&path);
    if file.symlink_metadata().is_ok() {
        return refused(&path, "the file exists already");
    }
    let snapshot = crate::source::from_worktree(&dir)?;
    let (_, recorded) = repo::read_state(g, &dir, &snapshot)?;
    let ctx = repo::offline_context(&dir, &recorded);
    let mut shown = snapshot.clone();
    shown.files.insert(path.clone(), text.clone());
    let color = output::color_stderr(g);
    match requests::check(&snapshot, &ctx, &path, &text) {
        Ok(warnings) => eprint!("{}", diag::render(&warnings, &shown, color)),
        Err(problems) => {
            eprint!("{}", diag::render(&problems, &shown, color));
            let why = format!(
                "the repository with it would not validate ({})",
                diag::summary(&problems)
            );
            return refused(&path, &why);
        }
    }
    write_new(&file, &text)?;
    println!("{}", shown_path(&dir, &path));
    Ok(exit::OK)
}

fn refused(path: &str, why: &str) -> anyhow::Result<u8> {
    eprintln!("error: {path} not written: {why}");
    Ok(exit::ERROR)
}

/// Create `file` (and requests/), never replacing one that appeared meanwhile.
fn write_new(file: &Path, text: &str) -> anyhow::Result<()> {
    if let Some(parent) = file.parent() {
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(file)
        .with_context(|| format!("creating {}", file.display()))?;
    f.write_all(text.as_bytes())
        .with_context(|| format!("writing {}", file.display()))
}

/// The path as the user reaches it from here: `requests/...` in the
/// repository given as `.`, else under the repository's path.
fn shown_path(dir: &Path, path: &str) -> String {
    if dir == Path::new(".") {
        path.to_string()
    } else {
        dir.join(path).display().to_string()
    }
}
