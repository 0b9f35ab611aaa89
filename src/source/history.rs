//! The history of a revision: the snapshots of the commits that led to it,
//! along the first parents (the branch as it was merged), oldest first. What
//! node numbers the state store would hold is derived from it
//! ([`crate::layout::history`]) when there is no store to ask.

use git2::{Oid, Repository};
use std::path::Path;

use super::git::{from_revision, subdir_prefix};
use super::{GitCause, GitError, Snapshot};

/// The revisions that led to a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct History {
    /// Oldest first; the last holds the files of the commit itself. Commits
    /// that changed neither `clusters/` nor `requests/` are left out: they
    /// change no numbers.
    pub revisions: Vec<Snapshot>,
    /// The repository is a shallow clone: older commits are missing, so the
    /// history may not say everything.
    pub shallow: bool,
}

/// The first-parent history of `rev` in the repository at `root` (which may
/// be a subdirectory of the work tree, as [`from_revision`] reads it).
///
/// Errors: `root` is not in a git repository, `rev` is unknown, or a commit
/// on the way cannot be read.
pub fn history(root: &Path, rev: &str) -> Result<History, GitError> {
    let repo = Repository::discover(root).map_err(|e| GitError::NotARepository {
        path: root.to_path_buf(),
        source: GitCause(e),
    })?;
    let prefix = subdir_prefix(&repo, root);
    let read = |e| GitError::Read {
        rev: rev.to_string(),
        source: GitCause(e),
    };
    let mut commit = repo
        .revparse_single(rev)
        .and_then(|o| o.peel_to_commit())
        .map_err(|e| GitError::Revision {
            rev: rev.to_string(),
            repo: root.to_path_buf(),
            source: GitCause(e),
        })?;
    let mut chain = Vec::new();
    loop {
        let tree = commit.tree().map_err(read)?;
        let key = ["clusters", "requests"].map(|dir| {
            tree.get_path(Path::new(&format!("{prefix}{dir}")))
                .ok()
                .map(|e| e.id())
        });
        chain.push((commit.id(), key));
        // A shallow clone ends at a commit whose parents were not fetched.
        match commit.parents().next() {
            Some(parent) => commit = parent,
            None => break,
        }
    }
    let mut revisions = Vec::new();
    let mut last: [Option<Oid>; 2] = [None, None];
    for (id, key) in chain.into_iter().rev() {
        if key == last {
            continue;
        }
        last = key;
        revisions.push(from_revision(root, &id.to_string())?);
    }
    Ok(History {
        revisions,
        shallow: repo.is_shallow(),
    })
}
