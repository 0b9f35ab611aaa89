use std::path::{Path, PathBuf};

use super::problem::{ProblemKind, SourceProblem};
use super::walk::{walk, Entry, Rel, Tree};
use super::{Origin, Snapshot};

#[derive(Debug, thiserror::Error)]
pub enum WorktreeError {
    #[error("repository directory {0} does not exist")]
    Missing(PathBuf),
    #[error("cannot read repository directory {path}")]
    Read { path: PathBuf, source: std::io::Error },
}

/// Read the dbfleet files of the repository at `root`, as they are on disk.
///
/// Errors: only when `root` is missing or cannot be listed. A file that
/// cannot be read, is not UTF-8, is a link out of the repository or has a
/// name dbfleet does not read is a problem in [`Snapshot::problems`]; so is
/// a directory with none of fleet.toml, clusters/ and requests/.
pub fn from_worktree(root: &Path) -> Result<Snapshot, WorktreeError> {
    if !root.is_dir() {
        return Err(WorktreeError::Missing(root.to_path_buf()));
    }
    std::fs::read_dir(root).map_err(|source| WorktreeError::Read {
        path: root.to_path_buf(),
        source,
    })?;
    let walked = walk(&Dir {
        root: root.to_path_buf(),
    });
    let mut problems = walked.problems;
    if !walked.looks_like_a_repository {
        problems.push(SourceProblem::new(
            "clusters/",
            ProblemKind::NotARepository {
                // absolute: "in ." would not tell a user in the wrong directory where they are
                dir: root
                    .canonicalize()
                    .unwrap_or_else(|_| root.to_path_buf())
                    .display()
                    .to_string(),
            },
        ));
    }
    Ok(Snapshot {
        origin: Origin::Worktree(root.display().to_string()),
        files: walked.files,
        problems,
    })
}

/// A directory on disk.
struct Dir {
    root: PathBuf,
}

impl Dir {
    fn path(&self, rel: &Rel) -> PathBuf {
        rel.iter().fold(self.root.clone(), |p, c| p.join(c))
    }
}

impl Tree for Dir {
    fn entry(&self, rel: &Rel) -> Result<Entry, String> {
        let path = self.path(rel);
        let meta = match std::fs::symlink_metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Entry::Missing),
            Err(e) => return Err(e.to_string()),
        };
        let kind = meta.file_type();
        Ok(if kind.is_symlink() {
            let target = std::fs::read_link(&path).map_err(|e| e.to_string())?;
            Entry::Link(target.to_string_lossy().into_owned())
        } else if kind.is_dir() {
            Entry::Dir
        } else if kind.is_file() {
            Entry::File
        } else {
            Entry::Other
        })
    }

    fn list(&self, dir: &Rel) -> Result<Vec<String>, String> {
        let mut names = Vec::new();
        for entry in std::fs::read_dir(self.path(dir)).map_err(|e| e.to_string())? {
            let entry = entry.map_err(|e| e.to_string())?;
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
        Ok(names)
    }

    fn read(&self, file: &Rel) -> Result<Vec<u8>, String> {
        std::fs::read(self.path(file)).map_err(|e| e.to_string())
    }

    fn root_dir(&self) -> Option<PathBuf> {
        self.root.canonicalize().ok()
    }
}
