use git2::{ObjectType, Repository, Tree as GitTree};
use std::path::{Path, PathBuf};

use super::walk::{walk, Entry, Rel, Tree};
use super::{Origin, Snapshot};

/// git2's error as its message alone (its `Display` adds the class and
/// code, which say nothing to a user).
#[derive(Debug)]
pub struct GitCause(pub git2::Error);

impl std::fmt::Display for GitCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0.message())
    }
}

impl std::error::Error for GitCause {}

/// The cause is the `source`, printed once by whoever prints the chain.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("{path} is not inside a git repository")]
    NotARepository { path: PathBuf, source: GitCause },
    #[error("revision `{rev}` not found in {repo}")]
    Revision {
        rev: String,
        repo: PathBuf,
        source: GitCause,
    },
    #[error("reading revision `{rev}`")]
    Read { rev: String, source: GitCause },
}

/// Read the dbfleet files of the repository at `root` as they were at `rev`
/// (any revision git understands: a commit id, branch, tag, `HEAD~1`).
///
/// `root` may be a subdirectory of the git work tree; paths in the snapshot
/// are relative to `root`. Links are followed as in the working tree (a
/// tree entry of mode 120000 is a link; its blob is the target).
///
/// Errors: no repository, an unknown revision, or a commit whose tree
/// cannot be read. Problems of single files are in [`Snapshot::problems`].
pub fn from_revision(root: &Path, rev: &str) -> Result<Snapshot, GitError> {
    let repo = Repository::discover(root).map_err(|e| GitError::NotARepository {
        path: root.to_path_buf(),
        source: GitCause(e),
    })?;
    let prefix = subdir_prefix(&repo, root);
    let object = repo.revparse_single(rev).map_err(|e| GitError::Revision {
        rev: rev.to_string(),
        repo: root.to_path_buf(),
        source: GitCause(e),
    })?;
    let read_err = |e| GitError::Read {
        rev: rev.to_string(),
        source: GitCause(e),
    };
    let commit = object.peel_to_commit().map_err(read_err)?;
    let tree = commit.tree().map_err(read_err)?;
    let sub = match prefix.as_str() {
        "" => Some(tree),
        p => tree
            .get_path(Path::new(p.trim_end_matches('/')))
            .ok()
            .filter(|e| e.kind() == Some(ObjectType::Tree))
            .and_then(|e| repo.find_tree(e.id()).ok()),
    };
    let origin = Origin::Revision {
        rev: rev.to_string(),
        commit: commit.id().to_string(),
    };
    let Some(sub) = sub else {
        // The directory did not exist at that revision.
        return Ok(Snapshot {
            origin,
            files: Default::default(),
            problems: Vec::new(),
        });
    };
    let walked = walk(&Revision {
        repo: &repo,
        tree: sub,
        root: root_dir(&repo, &prefix),
    });
    Ok(Snapshot {
        origin,
        files: walked.files,
        problems: walked.problems,
    })
}

/// The tree of `root` at one revision.
struct Revision<'r> {
    repo: &'r Repository,
    tree: GitTree<'r>,
    root: Option<PathBuf>,
}

impl Revision<'_> {
    fn blob(&self, rel: &Rel) -> Result<Vec<u8>, String> {
        let entry = self
            .tree
            .get_path(Path::new(&rel.join("/")))
            .map_err(|e| e.message().to_string())?;
        let blob = self
            .repo
            .find_blob(entry.id())
            .map_err(|e| e.message().to_string())?;
        Ok(blob.content().to_vec())
    }
}

/// The file mode git records for a symbolic link.
const LINK_MODE: i32 = 0o120000;

impl Tree for Revision<'_> {
    fn entry(&self, rel: &Rel) -> Result<Entry, String> {
        if rel.is_empty() {
            return Ok(Entry::Dir);
        }
        let entry = match self.tree.get_path(Path::new(&rel.join("/"))) {
            Ok(e) => e,
            Err(e) if e.code() == git2::ErrorCode::NotFound => return Ok(Entry::Missing),
            Err(e) => return Err(e.message().to_string()),
        };
        Ok(match entry.kind() {
            Some(ObjectType::Tree) => Entry::Dir,
            Some(ObjectType::Blob) if entry.filemode() == LINK_MODE => {
                Entry::Link(String::from_utf8_lossy(&self.blob(rel)?).into_owned())
            }
            Some(ObjectType::Blob) => Entry::File,
            _ => Entry::Other,
        })
    }

    fn list(&self, dir: &Rel) -> Result<Vec<String>, String> {
        let tree = if dir.is_empty() {
            self.tree.clone()
        } else {
            let entry = self
                .tree
                .get_path(Path::new(&dir.join("/")))
                .map_err(|e| e.message().to_string())?;
            self.repo
                .find_tree(entry.id())
                .map_err(|e| e.message().to_string())?
        };
        Ok(tree
            .iter()
            .filter_map(|e| e.name().ok().map(str::to_string))
            .collect())
    }

    fn read(&self, file: &Rel) -> Result<Vec<u8>, String> {
        self.blob(file)
    }

    fn root_dir(&self) -> Option<PathBuf> {
        self.root.clone()
    }
}

/// The repository directory on disk (the work tree plus `prefix`), if any.
fn root_dir(repo: &Repository, prefix: &str) -> Option<PathBuf> {
    let workdir = repo.workdir()?.canonicalize().ok()?;
    Some(workdir.join(prefix.trim_end_matches('/')))
}

/// `root` relative to the work tree, as a tree-path prefix ("" or "examples/x/").
pub(super) fn subdir_prefix(repo: &Repository, root: &Path) -> String {
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
    head(root).map(|h| h.id)
}

/// The commit HEAD points at: its id and author, for the state and the
/// audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub id: String,
    /// "Name <email>".
    pub author: String,
}

/// HEAD of the git repository containing `root`, if any.
pub fn head(root: &Path) -> Option<Head> {
    let repo = Repository::discover(root).ok()?;
    let commit = repo.head().ok()?.peel_to_commit().ok()?;
    let author = commit.author();
    Some(Head {
        id: commit.id().to_string(),
        author: format!(
            "{} <{}>",
            String::from_utf8_lossy(author.name_bytes()),
            String::from_utf8_lossy(author.email_bytes())
        ),
    })
}
