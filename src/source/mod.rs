//! Sources: the files of a dbfleet repository, read from a working tree or
//! from a git revision. This is the edge where git2 and the filesystem live;
//! everything after works on a [`Snapshot`].

mod git;
mod history;
mod origins;
mod problem;
mod walk;
mod worktree;

pub use git::{from_revision, head, head_commit, GitCause, GitError, Head};
pub use history::{history, History};
pub use origins::{request_origins, FileOrigin};
pub use problem::{ProblemKind, SourceProblem};
pub use worktree::{from_worktree, WorktreeError};

use std::collections::BTreeMap;

/// Where a snapshot came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A directory on disk, as it is now.
    Worktree(String),
    /// A git revision: what the user named, and the commit it resolved to.
    Revision { rev: String, commit: String },
    /// Built in memory (tests).
    Memory,
}

/// The text of every file dbfleet reads, keyed by repository-relative path
/// with `/` separators: `fleet.toml`, `clusters/*.toml`, `requests/*.toml`,
/// `templates/<engine>/*.j2`; and the problems of the files that could not
/// be read that way (loading reports them beside the others).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub origin: Origin,
    pub files: BTreeMap<String, String>,
    pub problems: Vec<SourceProblem>,
}

impl Snapshot {
    pub fn in_memory<I, K, V>(files: I) -> Snapshot
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        Snapshot {
            origin: Origin::Memory,
            files: files.into_iter().map(|(k, v)| (k.into(), v.into())).collect(),
            problems: Vec::new(),
        }
    }

    /// The commit id, when the snapshot is a git revision.
    pub fn commit(&self) -> Option<&str> {
        match &self.origin {
            Origin::Revision { commit, .. } => Some(commit),
            _ => None,
        }
    }
}

/// Whether a repository-relative path is one dbfleet reads.
pub fn is_relevant(path: &str) -> bool {
    if path == "fleet.toml" {
        return true;
    }
    match path.split_once('/') {
        Some(("clusters", rest)) | Some(("requests", rest)) => !rest.contains('/') && rest.ends_with(".toml"),
        Some(("templates", rest)) => rest.ends_with(".j2"),
        _ => false,
    }
}
