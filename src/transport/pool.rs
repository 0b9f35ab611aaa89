//! [`SshPool`]: one [`SshTransport`] per host, and bounded parallelism
//! across hosts.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::Semaphore;

use super::{SshConfig, SshTransport};

/// Hands out one shared [`SshTransport`] (so one connection) per host, and
/// runs work on many hosts with at most `parallel` at once.
pub struct SshPool {
    config: Arc<SshConfig>,
    transports: Mutex<HashMap<String, Arc<SshTransport>>>,
    parallel: usize,
    slots: Arc<Semaphore>,
}

impl std::fmt::Debug for SshPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SshPool")
            .field("config", &self.config)
            .field("parallel", &self.parallel)
            .finish()
    }
}

impl SshPool {
    /// `parallel` is the number of hosts worked on at once (at least 1).
    pub fn new(config: SshConfig, parallel: usize) -> Self {
        let parallel = parallel.max(1);
        SshPool {
            config: Arc::new(config),
            transports: Mutex::new(HashMap::new()),
            parallel,
            slots: Arc::new(Semaphore::new(parallel)),
        }
    }

    pub fn config(&self) -> &SshConfig {
        &self.config
    }

    pub fn parallel(&self) -> usize {
        self.parallel
    }

    /// The transport for `host`, created on first request; later requests
    /// get the same one. Nothing is contacted until it runs a command.
    pub fn get(&self, host: &str) -> Arc<SshTransport> {
        // The map holds no invariant a panic elsewhere could break.
        let mut map = self.transports.lock().unwrap_or_else(PoisonError::into_inner);
        let transport = map
            .entry(host.to_string())
            .or_insert_with(|| Arc::new(SshTransport::new(host, Arc::clone(&self.config))));
        Arc::clone(transport)
    }

    /// Runs `work` for every host, at most `parallel` at once (the limit
    /// is shared by every call on this pool), and returns the results in
    /// the order of `hosts`. Duplicate hosts run once each time listed.
    pub async fn for_each_host<H, F, Fut, T>(&self, hosts: &[H], work: F) -> Vec<T>
    where
        H: AsRef<str>,
        F: Fn(Arc<SshTransport>) -> Fut,
        Fut: Future<Output = T>,
    {
        let jobs = hosts.iter().map(|host| {
            let transport = self.get(host.as_ref());
            let job = work(transport);
            let slots = Arc::clone(&self.slots);
            async move {
                // The semaphore is never closed, so acquiring cannot fail;
                // if it ever did, running unthrottled beats not running.
                let _slot = slots.acquire_owned().await.ok();
                job.await
            }
        });
        futures::future::join_all(jobs).await
    }

    /// Closes every open connection.
    pub async fn disconnect_all(&self) {
        let all: Vec<Arc<SshTransport>> = self
            .transports
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect();
        for transport in all {
            transport.disconnect().await;
        }
    }
}
