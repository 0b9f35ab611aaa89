use fs2::FileExt;
use std::io::{Read, Seek, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use super::StateError;

/// How often a waiting lock is tried again.
const POLL: Duration = Duration::from_millis(100);

/// An exclusive lock on one cluster, held until dropped (or the process dies:
/// the kernel releases flock locks, so a crash never leaves a stale lock).
#[derive(Debug)]
pub struct ClusterLock {
    file: std::fs::File,
}

impl ClusterLock {
    /// Take the lock, waiting up to `wait` while another process holds it.
    pub(super) fn acquire(dir: &Path, cluster: &str, wait: Duration) -> Result<ClusterLock, StateError> {
        let path = dir.join(format!("{cluster}.lock"));
        let write_err = |source| StateError::Write {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(write_err)?;
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(write_err)?;
        let deadline = Instant::now() + wait;
        while file.try_lock_exclusive().is_err() {
            if Instant::now() < deadline {
                std::thread::sleep(POLL.min(deadline.saturating_duration_since(Instant::now())));
                continue;
            }
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = if holder.trim().is_empty() {
                "unknown process".to_string()
            } else {
                holder.trim().to_string()
            };
            return Err(StateError::Locked {
                cluster: cluster.to_string(),
                holder,
            });
        }
        file.set_len(0).map_err(write_err)?;
        file.rewind().map_err(write_err)?;
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
        write!(file, "pid {} on {}", std::process::id(), host.trim()).map_err(write_err)?;
        Ok(ClusterLock { file })
    }
}

impl Drop for ClusterLock {
    fn drop(&mut self) {
        let _ = FileExt::unlock(&self.file);
    }
}
