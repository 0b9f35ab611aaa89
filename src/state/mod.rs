//! The embedded inventory store: a directory holding, per cluster, the node
//! number allocations, the current primary and what was last applied to each
//! node; plus locks so that two dbfleet processes never work on one cluster
//! at once. Every write is atomic (temporary file, fsync, rename).
//!
//! Layout:
//! ```text
//! <dir>/clusters/<name>.json   ClusterState
//! <dir>/locks/<name>.lock      held (flock) while a process works on the cluster
//! ```

mod files;
mod lock;
mod operation;

pub use files::write_atomic;
pub use lock::ClusterLock;
pub use operation::{DoneStep, Operation, OperationKind};

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::layout::Allocations;

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot read state file {path}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("state file {path} is corrupt")]
    Corrupt {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("cannot write state file {path}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("cluster `{cluster}` is locked by another dbfleet process ({holder})")]
    Locked { cluster: String, holder: String },
}

/// What dbfleet last recorded about one cluster.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClusterState {
    /// Engine, version and topology as last applied (to describe the
    /// cluster once its file is gone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<crate::model::Engine>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topology: Option<crate::model::Topology>,
    /// Node numbers, with tombstones of removed nodes.
    #[serde(default)]
    pub allocations: Allocations,
    /// Host of the current primary (absent before the first apply).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary: Option<String>,
    /// Per node name: the files last written to it.
    #[serde(default)]
    pub applied: BTreeMap<String, AppliedNode>,
    /// Set while an operation works on the cluster; left behind by a run
    /// that was killed, so the next one knows it resumes, and from where.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<Operation>,
    /// Commit of the repository the last apply came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
}

/// The files last written to one node.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedNode {
    pub host: String,
    /// Host path -> applied file.
    pub files: BTreeMap<String, AppliedFile>,
}

/// One applied file: its content (rendered files hold no secrets) and digest.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedFile {
    pub sha256: String,
    pub content: String,
}

/// The state directory.
#[derive(Debug, Clone)]
pub struct StateStore {
    dir: PathBuf,
}

impl StateStore {
    /// Open (without creating) the store at `dir`.
    pub fn open(dir: impl Into<PathBuf>) -> StateStore {
        StateStore { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn cluster_path(&self, name: &str) -> PathBuf {
        self.dir.join("clusters").join(format!("{name}.json"))
    }

    /// The recorded state of a cluster; empty when none was recorded.
    pub fn cluster(&self, name: &str) -> Result<ClusterState, StateError> {
        let path = self.cluster_path(name);
        match std::fs::read(&path) {
            Ok(bytes) => {
                serde_json::from_slice(&bytes).map_err(|source| StateError::Corrupt { path, source })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ClusterState::default()),
            Err(source) => Err(StateError::Read { path, source }),
        }
    }

    /// Every recorded cluster, by name.
    pub fn clusters(&self) -> Result<BTreeMap<String, ClusterState>, StateError> {
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

    /// Record the state of a cluster (atomically).
    pub fn save_cluster(&self, name: &str, state: &ClusterState) -> Result<(), StateError> {
        let path = self.cluster_path(name);
        let bytes = serde_json::to_vec_pretty(state).map_err(|source| StateError::Corrupt {
            path: path.clone(),
            source,
        })?;
        write_atomic(&path, &bytes, 0o600).map_err(|source| StateError::Write { path, source })
    }

    /// Take the cluster's lock, waiting up to `wait` while another process
    /// holds it (zero: fail at once).
    pub fn lock(&self, name: &str, wait: std::time::Duration) -> Result<ClusterLock, StateError> {
        ClusterLock::acquire(&self.dir.join("locks"), name, wait)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn saves_atomically_and_privately() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = StateStore::open(dir.path().join("state"));
        assert_eq!(store.cluster("db").expect("empty"), ClusterState::default());
        let mut s = ClusterState {
            primary: Some("10.0.0.1".into()),
            ..Default::default()
        };
        s.allocations.live.insert("10.0.0.1".into(), 1);
        store.save_cluster("db", &s).expect("save");
        assert_eq!(store.cluster("db").expect("load"), s);
        assert_eq!(store.clusters().expect("all").len(), 1);
        let mode = std::fs::metadata(dir.path().join("state/clusters/db.json"))
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("state/clusters"))
            .expect("dir")
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().contains(".tmp"))
            .collect();
        assert!(leftovers.is_empty());
    }

    #[test]
    fn one_process_per_cluster() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = StateStore::open(dir.path());
        let now = std::time::Duration::ZERO;
        let held = store.lock("db", now).expect("first lock");
        let err = store.lock("db", now).expect_err("second lock must fail");
        assert!(
            err.to_string().starts_with(&format!(
                "cluster `db` is locked by another dbfleet process (pid {}",
                std::process::id()
            )),
            "{err}"
        );
        assert!(store.lock("other", now).is_ok(), "other clusters are independent");
        drop(held);
        assert!(store.lock("db", now).is_ok(), "released on drop");
    }

    #[test]
    fn a_waiting_lock_gets_its_turn() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = StateStore::open(dir.path());
        let held = store.lock("db", std::time::Duration::ZERO).expect("first lock");
        let releaser = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(300));
            drop(held);
        });
        let t0 = std::time::Instant::now();
        store
            .lock("db", std::time::Duration::from_secs(10))
            .expect("taken once released");
        assert!(
            t0.elapsed() >= std::time::Duration::from_millis(250),
            "waited for the holder"
        );
        releaser.join().expect("join");
        let _again = StateStore::open(dir.path()).lock("db", std::time::Duration::ZERO);
        let store2 = StateStore::open(dir.path());
        let _mine = store2.lock("x", std::time::Duration::ZERO).expect("x");
        let err = store2
            .lock("x", std::time::Duration::from_millis(200))
            .expect_err("still held after the wait");
        assert!(
            err.to_string().contains("is locked by another dbfleet process"),
            "{err}"
        );
    }

    #[test]
    fn corrupt_state_is_an_error_not_a_reset() {
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::create_dir_all(dir.path().join("clusters")).expect("mkdir");
        std::fs::write(dir.path().join("clusters/db.json"), "{not json").expect("write");
        let err = StateStore::open(dir.path()).cluster("db").expect_err("corrupt");
        assert!(err.to_string().contains("is corrupt"), "{err}");
    }
}
