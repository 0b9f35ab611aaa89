//! Opening a repository for a command: its files, its state directory, the
//! recorded state, and the validated model (problems printed).

use anyhow::Context;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::args::Global;
use super::output;
use crate::diag::{self, Diagnostic};
use crate::layout::history::Derived;
use crate::load::{load, LoadContext, Loaded, Numbering};
use crate::model::Fleet;
use crate::source::Snapshot;
use crate::state::{ClusterState, DirStore, StateStore};

/// A repository opened from a working tree.
pub struct Opened {
    pub loaded: Loaded,
    pub store: DirStore,
    /// Recorded state per cluster, as read when opening.
    pub recorded: BTreeMap<String, ClusterState>,
}

/// A repository that does not validate: its problems (already printed on
/// stderr) and the files they point into, for a document on stdout.
pub struct Invalid {
    pub diagnostics: Vec<Diagnostic>,
    pub snapshot: Snapshot,
}

/// Read the working tree at `dir` and its state, then load and validate.
/// Problems found in the files are printed and give [`Invalid`].
pub fn open(g: &Global, dir: &Path) -> anyhow::Result<Result<Opened, Invalid>> {
    let snapshot = crate::source::from_worktree(dir)?;
    let (store, recorded) = read_state(g, dir, &snapshot)?;
    let loaded = match load_or_report(g, &snapshot, &context(&recorded)) {
        Ok(loaded) => loaded,
        Err(invalid) => return Ok(Err(invalid)),
    };
    Ok(Ok(Opened {
        loaded,
        store,
        recorded,
    }))
}

/// The state directory: `--state-dir` / DBFLEET_STATE_DIR, else `state_dir`
/// in fleet.toml (relative to the repository), else `<repo>/.dbfleet`.
pub fn state_dir(g: &Global, repo: &Path, snapshot: &Snapshot) -> PathBuf {
    if let Some(d) = &g.state_dir {
        return d.clone();
    }
    // A broken fleet.toml is reported by validation; here it just means "default".
    let fleet: Option<Fleet> = snapshot
        .files
        .get("fleet.toml")
        .and_then(|t| toml::from_str(t).ok());
    match fleet.and_then(|f| f.state_dir) {
        Some(d) if Path::new(&d).is_absolute() => PathBuf::from(d),
        Some(d) => repo.join(d),
        None => repo.join(".dbfleet"),
    }
}

/// The state store of the repository and what it recorded.
pub fn read_state(
    g: &Global,
    repo: &Path,
    snapshot: &Snapshot,
) -> anyhow::Result<(DirStore, BTreeMap<String, ClusterState>)> {
    let store = DirStore::open(state_dir(g, repo, snapshot));
    let recorded = store
        .clusters()
        .with_context(|| format!("reading state in {}", store.dir().display()))?;
    Ok((store, recorded))
}

/// What loading needs from the recorded state: node numbers, so that
/// requests can name nodes by their real names.
pub fn context(recorded: &BTreeMap<String, ClusterState>) -> LoadContext {
    LoadContext {
        allocations: recorded
            .iter()
            .map(|(k, v)| (k.clone(), v.allocations.clone()))
            .collect(),
        numbering: Numbering::Recorded,
        // Requests whose effect the allocations hold (a released number).
        ran: recorded
            .values()
            .flat_map(|s| s.requests.values())
            .filter(|r| r.state == crate::state::RequestState::Succeeded)
            .map(|r| r.id.clone())
            .collect(),
    }
}

/// Node numbers for checking the working tree at `dir` (validate): the
/// state store's when it recorded any cluster, else those the git history
/// up to HEAD leads to, else unknown.
pub fn offline_context(dir: &Path, recorded: &BTreeMap<String, ClusterState>) -> LoadContext {
    if !recorded.is_empty() {
        return context(recorded);
    }
    match crate::source::head_commit(dir) {
        Some(commit) => history_context(dir, &commit).0,
        None => LoadContext {
            numbering: Numbering::Unknown("no state store and no git history".into()),
            ..LoadContext::default()
        },
    }
}

/// Node numbers as the git history up to `rev` leads to (see
/// [`crate::layout::history`]), and the derivation itself.
pub fn history_context(dir: &Path, rev: &str) -> (LoadContext, Derived) {
    let (history, numbering) = match crate::source::history(dir, rev) {
        Ok(h) if h.shallow => (
            h,
            Numbering::Unknown("the git history is shallow (older commits were not fetched)".into()),
        ),
        Ok(h) => (h, Numbering::History),
        Err(e) => {
            let why = format!("the git history cannot be read ({e})");
            return (
                LoadContext {
                    numbering: Numbering::Unknown(why),
                    ..LoadContext::default()
                },
                Derived::default(),
            );
        }
    };
    let derived = Derived::from_revisions(&history.revisions);
    let ctx = LoadContext {
        allocations: derived.allocations.clone(),
        numbering,
        ran: derived.ran.clone(),
    };
    (ctx, derived)
}

/// Load a repository, printing its warnings; on failure print the
/// problems (on stderr, whatever the output format) and return them.
pub fn load_or_report(g: &Global, snapshot: &Snapshot, ctx: &LoadContext) -> Result<Loaded, Invalid> {
    match load(snapshot, ctx) {
        Ok(loaded) => {
            eprint!(
                "{}",
                diag::render(&loaded.warnings, snapshot, output::color_stderr(g))
            );
            Ok(loaded)
        }
        Err(diags) => {
            eprint!("{}", diag::render(&diags, snapshot, output::color_stderr(g)));
            eprintln!("{}", diag::summary(&diags));
            Err(Invalid {
                diagnostics: diags,
                snapshot: snapshot.clone(),
            })
        }
    }
}
