//! Finding the repository's state directory and loading what commands share.

use anyhow::Context;
use std::path::{Path, PathBuf};

use super::args::Global;
use crate::load::LoadContext;
use crate::model::Fleet;
use crate::source::Snapshot;
use crate::state::StateStore;

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

pub fn load_context(g: &Global, repo: &Path, snapshot: &Snapshot) -> anyhow::Result<LoadContext> {
    let store = StateStore::open(state_dir(g, repo, snapshot));
    let recorded = store
        .clusters()
        .with_context(|| format!("reading state in {}", store.dir().display()))?;
    Ok(LoadContext {
        allocations: recorded.into_iter().map(|(k, v)| (k, v.allocations)).collect(),
    })
}
