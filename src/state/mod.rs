//! The inventory store: per cluster, the node number allocations, the
//! current primary, what was last applied to each node and the operation
//! in progress; per cluster a lock, so that two dbfleet processes (an apply
//! and the daemon) never work on one cluster at once; and the append-only
//! audit log. Behind the [`StateStore`] trait; [`DirStore`], a directory
//! beside the checkout, is the embedded default.

mod audit;
mod dir;
mod files;
mod ledger;
mod lock;
mod operation;

pub use audit::AuditEntry;
pub use dir::DirStore;
pub use files::write_atomic;
pub use ledger::{now as ledger_now, PhaseTiming, RequestRecord, RequestState};
pub use lock::ClusterLock;
pub use operation::{DoneStep, Operation, OperationKind};

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

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
    /// The request ledger of the cluster, by request id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub requests: BTreeMap<String, RequestRecord>,
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

/// Where dbfleet keeps what it recorded.
///
/// Guarantees every implementation gives: a saved [`ClusterState`] is read
/// back whole or not at all (never half written); at most one holder of a
/// cluster's lock at a time, the lock released when its guard is dropped or
/// its process dies; audit lines are only ever appended.
pub trait StateStore: Send + Sync {
    /// The recorded state of a cluster; empty when none was recorded.
    fn cluster(&self, name: &str) -> Result<ClusterState, StateError>;

    /// Every recorded cluster, by name.
    fn clusters(&self) -> Result<BTreeMap<String, ClusterState>, StateError>;

    /// Record the state of a cluster.
    fn save_cluster(&self, name: &str, state: &ClusterState) -> Result<(), StateError>;

    /// Take the cluster's lock, waiting up to `wait` while another process
    /// holds it (zero: fail at once with [`StateError::Locked`]).
    fn lock(&self, name: &str, wait: Duration) -> Result<ClusterLock, StateError>;

    /// Append one line to the audit log.
    fn append_audit(&self, entry: &AuditEntry) -> Result<(), StateError>;

    /// The local directory kept beside the state: generated secrets live
    /// in it (for the directory store, the store itself).
    fn dir(&self) -> &Path;

    /// How the store is named to people, e.g. "state in /srv/fleet/.dbfleet".
    fn describe(&self) -> String {
        format!("state in {}", self.dir().display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::DirStore;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn saves_atomically_and_privately() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = DirStore::open(dir.path().join("state"));
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
        let store = DirStore::open(dir.path());
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
        let store = DirStore::open(dir.path());
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
        let _mine = store.lock("x", std::time::Duration::ZERO).expect("x");
        let err = store
            .lock("x", std::time::Duration::from_millis(200))
            .expect_err("still held after the wait");
        assert!(
            err.to_string().contains("is locked by another dbfleet process"),
            "{err}"
        );
    }

    #[test]
    fn the_audit_log_is_appended_one_line_per_entry() {
        let dir = tempfile::tempdir().expect("tmp");
        let store: &dyn StateStore = &DirStore::open(dir.path().join("state"));
        let entry = |step: &str| AuditEntry {
            at: "2026-12-04T21:00:00Z".into(),
            commit: Some("abc".into()),
            author: Some("Ann <ann@example.internal>".into()),
            operation: "converge-1-2".into(),
            cluster: "db".into(),
            node: Some("db1".into()),
            step: step.into(),
            what: step.into(),
            result: "ok".into(),
            error: None,
        };
        store.append_audit(&entry("start")).expect("first");
        store.append_audit(&entry("record")).expect("second");
        let text = std::fs::read_to_string(dir.path().join("state/audit.jsonl")).expect("log");
        let lines: Vec<AuditEntry> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
            .collect();
        assert_eq!(lines, vec![entry("start"), entry("record")]);
    }

    #[test]
    fn corrupt_state_is_an_error_not_a_reset() {
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::create_dir_all(dir.path().join("clusters")).expect("mkdir");
        std::fs::write(dir.path().join("clusters/db.json"), "{not json").expect("write");
        let err = DirStore::open(dir.path()).cluster("db").expect_err("corrupt");
        assert!(err.to_string().contains("is corrupt"), "{err}");
    }
}
