//! The embedded store: a directory, written atomically (temporary file,
//! fsync, rename).
//!
//! Layout:
//! ```text
//! <dir>/clusters/<name>.json   ClusterState
//! <dir>/locks/<name>.lock      held (flock) while a process works on the cluster
//! <dir>/audit.jsonl            the audit log, one JSON object per line
//! <dir>/secrets/<name>.json    generated passwords (see crate::secrets)
//! ```

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{write_atomic, AuditEntry, ClusterLock, ClusterState, StateError, StateStore};

/// The state directory.
#[derive(Debug, Clone)]
pub struct DirStore {
    dir: PathBuf,
}

impl DirStore {
    /// Open (without creating) the store at `dir`.
    pub fn open(dir: impl Into<PathBuf>) -> DirStore {
        DirStore { dir: dir.into() }
    }

    fn cluster_path(&self, name: &str) -> PathBuf {
        self.dir.join("clusters").join(format!("{name}.json"))
    }

    fn audit_path(&self) -> PathBuf {
        self.dir.join("audit.jsonl")
    }
}

impl StateStore for DirStore {
    fn cluster(&self, name: &str) -> Result<ClusterState, StateError> {
        let path = self.cluster_path(name);
        match std::fs::read(&path) {
            Ok(bytes) => {
                serde_json::from_slice(&bytes).map_err(|source| StateError::Corrupt { path, source })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ClusterState::default()),
            Err(source) => Err(StateError::Read { path, source }),
        }
    }

    fn clusters(&self) -> Result<BTreeMap<String, ClusterState>, StateError> {
        let dir = self.dir.join("clusters");
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
            Err(source) => return Err(StateError::Read { path: dir, source }),
        };
        let mut out = BTreeMap::new();
        for entry in entries {
            let entry = entry.map_err(|source| StateError::Read {
                path: dir.clone(),
                source,
            })?;
            let file = entry.file_name().to_string_lossy().into_owned();
            if let Some(name) = file.strip_suffix(".json") {
                out.insert(name.to_string(), self.cluster(name)?);
            }
        }
        Ok(out)
    }

    fn save_cluster(&self, name: &str, state: &ClusterState) -> Result<(), StateError> {
        let path = self.cluster_path(name);
        let bytes = serde_json::to_vec_pretty(state).map_err(|source| StateError::Corrupt {
            path: path.clone(),
            source,
        })?;
        write_atomic(&path, &bytes, 0o600).map_err(|source| StateError::Write { path, source })
    }

    fn lock(&self, name: &str, wait: Duration) -> Result<ClusterLock, StateError> {
        ClusterLock::acquire(&self.dir.join("locks"), name, wait)
    }

    /// One line, appended with O_APPEND and synced: concurrent writers
    /// (one per cluster) never interleave within a line.
    fn append_audit(&self, entry: &AuditEntry) -> Result<(), StateError> {
        let path = self.audit_path();
        let write_err = |source| StateError::Write {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(&self.dir).map_err(write_err)?;
        let mut line = serde_json::to_vec(entry).map_err(|source| StateError::Corrupt {
            path: path.clone(),
            source,
        })?;
        line.push(b'\n');
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(&path)
            .map_err(write_err)?;
        file.write_all(&line).map_err(write_err)?;
        file.sync_data().map_err(write_err)
    }

    fn dir(&self) -> &Path {
        &self.dir
    }
}
