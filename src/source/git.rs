use git2::{ObjectType, Repository, TreeWalkMode, TreeWalkResult};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{is_relevant, Origin, Snapshot};

#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("{path} is not inside a git repository: {source}")]
    NotARepository { path: PathBuf, source: git2::Error },
    #[error("revision `{rev}` not found in {repo}: {source}")]
    Revision {
        rev: String,
        repo: PathBuf,
        source: git2::Error,
    },
    #[error("reading revision `{rev}`: {source}")]
    Read { rev: String, source: git2::Error },
    #[error("{path} at revision `{rev}` is not UTF-8 text")]
    NotUtf8 { rev: String, path: String },
}

/// Read the dbfleet files of the repository at `root` as they were at `rev`
/// (any revision git understands: a commit id, branch, tag, `HEAD~1`).
///
/// `root` may be a subdirectory of the git work tree; paths in the snapshot
/// are relative to `root`.
pub fn from_revision(root: &Path, rev: &str) -> Result<Snapshot, GitError> {
    let repo = Repository::discover(root).map_err(|source| GitError::NotARepository {
        path: root.to_path_buf(),
        source,
    })?;
    let prefix = subdir_prefix(&repo, root);
    let object = repo.revparse_single(rev).map_err(|source| GitError::Revision {
        rev: rev.to_string(),
        repo: root.to_path_buf(),
        source,
    })?;
    let commit = object.peel_to_commit().map_err(|source| GitError::Read {
        rev: rev.to_string(),
        source,
    })?;
    let tree = commit.tree().map_err(|source| GitError::Read {
        rev: rev.to_string(),
        source,
    })?;
    let mut blobs: Vec<(String, git2::Oid)> = Vec::new();
    tree.walk(TreeWalkMode::PreOrder, |dir, entry| {
        if entry.kind() != Some(ObjectType::Blob) {
            return TreeWalkResult::Ok;
        }
        let Ok(name) = entry.name() else {
            return TreeWalkResult::Ok;
        };
        let full = format!("{dir}{name}");
        if let Some(rel) = full.strip_prefix(&prefix) {
            if is_relevant(rel) {
                blobs.push((rel.to_string(), entry.id()));
            }
        }
        TreeWalkResult::Ok
    })
    .map_err(|source| GitError::Read {
        rev: rev.to_string(),
        source,
    })?;
    let mut files = BTreeMap::new();
    for (path, oid) in blobs {
        let blob = repo.find_blob(oid).map_err(|source| GitError::Read {
            rev: rev.to_string(),
            source,
        })?;
        let text = String::from_utf8(blob.content().to_vec()).map_err(|_| GitError::NotUtf8 {
            rev: rev.to_string(),
            path: path.clone(),
        })?;
        files.insert(path, text);
    }
    Ok(Snapshot {
        origin: Origin::Revision {
            rev: rev.to_string(),
            commit: commit.id().to_string(),
        },
        files,
    })
}

/// `root` relative to the work tree, as a tree-path prefix ("" or "examples/x/").
fn subdir_prefix(repo: &Repository, root: &Path) -> String {
    let (Some(workdir), Ok(root)) = (repo.workdir(), root.canonicalize()) else {
        return String::new();
    };
    let Ok(workdir) = workdir.canonicalize() else {
        return String::new();
    };
    match root.strip_prefix(&workdir) {
        Ok(rel) if rel.as_os_str().is_empty() => String::new(),
        Ok(rel) => {
            let parts: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            format!("{}/", parts.join("/"))
        }
        Err(_) => String::new(),
    }
}

/// The commit HEAD points at in the git repository containing `root`, if any.
pub fn head_commit(root: &Path) -> Option<String> {
    let repo = Repository::discover(root).ok()?;
    let head = repo.head().ok()?.peel_to_commit().ok()?;
    Some(head.id().to_string())
}
