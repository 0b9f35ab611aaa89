use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{is_relevant, Origin, Snapshot};

#[derive(Debug, thiserror::Error)]
pub enum WorktreeError {
    #[error("repository directory {0} does not exist")]
    Missing(PathBuf),
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{0} is not UTF-8 text")]
    NotUtf8(PathBuf),
}

/// Read the dbfleet files of the repository at `root`, as they are on disk.
pub fn from_worktree(root: &Path) -> Result<Snapshot, WorktreeError> {
    if !root.is_dir() {
        return Err(WorktreeError::Missing(root.to_path_buf()));
    }
    let mut files = BTreeMap::new();
    let fleet = root.join("fleet.toml");
    if fleet.is_file() {
        files.insert("fleet.toml".to_string(), read(&fleet)?);
    }
    for dir in ["clusters", "requests", "templates"] {
        collect(root, &root.join(dir), &mut files)?;
    }
    Ok(Snapshot {
        origin: Origin::Worktree(root.display().to_string()),
        files,
    })
}

fn collect(root: &Path, dir: &Path, files: &mut BTreeMap<String, String>) -> Result<(), WorktreeError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(WorktreeError::Read {
                path: dir.to_path_buf(),
                source,
            })
        }
    };
    for entry in entries {
        let entry = entry.map_err(|source| WorktreeError::Read {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = entry.path();
        if path.is_dir() {
            collect(root, &path, files)?;
            continue;
        }
        let Ok(rel) = path.strip_prefix(root) else {
            continue;
        };
        let rel: Vec<String> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        let rel = rel.join("/");
        if is_relevant(&rel) {
            files.insert(rel, read(&path)?);
        }
    }
    Ok(())
}

fn read(path: &Path) -> Result<String, WorktreeError> {
    let bytes = std::fs::read(path).map_err(|source| WorktreeError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    String::from_utf8(bytes).map_err(|_| WorktreeError::NotUtf8(path.to_path_buf()))
}
