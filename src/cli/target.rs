//! `--cluster NAME` (repeatable): `plan` and `apply` on some clusters only,
//! like Terraform's `-target`. The repository and the recorded state are cut
//! down to those clusters before anything is observed or planned, so the
//! rest of the command never sees the others.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::args::Global;
use super::repo::{self, Invalid, Opened};
use crate::load::structure::did_you_mean;
use crate::model::Repo;

#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("no cluster named `{name}`; {help}")]
    Unknown { name: String, help: String },
}

/// [`repo::open`], then [`select`] the clusters named (none: every one).
pub fn open(g: &Global, dir: &Path, names: &[String]) -> anyhow::Result<Result<Opened, Invalid>> {
    let mut opened = match repo::open(g, dir)? {
        Ok(opened) => opened,
        Err(invalid) => return Ok(Err(invalid)),
    };
    select(names, &mut opened.loaded.repo, &mut opened.recorded)?;
    Ok(Ok(opened))
}

/// [`only`], with a note on stderr naming the clusters left out.
pub fn select<V>(
    names: &[String],
    repo: &mut Repo,
    recorded: &mut BTreeMap<String, V>,
) -> Result<(), TargetError> {
    let left_out = only(names, repo, recorded)?;
    if !left_out.is_empty() {
        eprintln!(
            "note: --cluster: {} left out (not observed, planned or applied)",
            left_out.join(", ")
        );
    }
    Ok(())
}

/// Keep only the clusters named, their requests and their recorded state
/// (an orphaned cluster, recorded but gone from the repository, may be
/// named); return the names of the clusters left out. No names: keep
/// everything.
///
/// Errors: a name that is neither in the repository nor recorded; the
/// message lists the clusters (and the closest one).
pub fn only<V>(
    names: &[String],
    repo: &mut Repo,
    recorded: &mut BTreeMap<String, V>,
) -> Result<Vec<String>, TargetError> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let known: BTreeSet<&str> = repo
        .clusters
        .iter()
        .map(|c| c.name.as_str())
        .chain(recorded.keys().map(String::as_str))
        .collect();
    let known: Vec<&str> = known.into_iter().collect();
    if let Some(name) = names.iter().find(|n| !known.contains(&n.as_str())) {
        let help = match did_you_mean(name, &known) {
            Some(s) => format!("did you mean `{s}`? clusters: {}", known.join(", ")),
            None if known.is_empty() => "the repository has no clusters".to_string(),
            None => format!("clusters: {}", known.join(", ")),
        };
        return Err(TargetError::Unknown {
            name: name.clone(),
            help,
        });
    }
    let named = |n: &str| names.iter().any(|x| x == n);
    let left_out = known
        .iter()
        .filter(|n| !named(n))
        .map(|n| n.to_string())
        .collect();
    repo.clusters.retain(|c| named(&c.name));
    repo.requests.retain(|r| named(r.request.cluster()));
    recorded.retain(|n, _| named(n));
    Ok(left_out)
}
