//! [`Prefetched`]: a transport that answers commands from one batch run
//! beforehand ([`Transport::run_all`]: over SSH, one remote shell), so code
//! written as a sequence of small commands (observing a node) costs one
//! round trip.
//!
//! Only read-only commands belong in the batch: they all run first, at
//! once. A command asked for that the batch did not hold, or asked for a
//! second time, runs for real, so the answers are never wrong, only
//! sometimes not prefetched.

use std::sync::{Mutex, PoisonError};

use super::{BoxFuture, Command, Output, Process, Result, Transport};

/// `inner`, with the outputs of commands run ahead in one batch.
pub struct Prefetched<'a> {
    inner: &'a dyn Transport,
    answers: Mutex<Vec<(Command, Output)>>,
}

impl<'a> Prefetched<'a> {
    /// Runs `cmds` on `inner` in one go ([`Transport::run_all`]) and keeps
    /// their outputs.
    ///
    /// # Errors
    /// The batch could not run (host unreachable, output cut short).
    pub async fn run(inner: &'a dyn Transport, cmds: Vec<Command>) -> Result<Prefetched<'a>> {
        let mut cmds = cmds;
        cmds.dedup();
        let outputs = inner.run_all(&cmds).await?;
        Ok(Prefetched {
            inner,
            answers: Mutex::new(cmds.into_iter().zip(outputs).collect()),
        })
    }

    /// The prefetched output of `cmd`, taken (a second run is a real one).
    fn take(&self, cmd: &Command) -> Option<Output> {
        // The list holds no invariant a panic elsewhere could break.
        let mut answers = self.answers.lock().unwrap_or_else(PoisonError::into_inner);
        let at = answers.iter().position(|(c, _)| c == cmd)?;
        Some(answers.swap_remove(at).1)
    }
}

impl Transport for Prefetched<'_> {
    fn host(&self) -> &str {
        self.inner.host()
    }

    fn run<'b>(&'b self, cmd: &'b Command) -> BoxFuture<'b, Result<Output>> {
        match self.take(cmd) {
            Some(out) => {
                tracing::trace!(host = self.host(), program = %cmd.program, "answered from the batch");
                Box::pin(async move { Ok(out) })
            }
            None => self.inner.run(cmd),
        }
    }

    fn spawn<'b>(&'b self, cmd: &'b Command) -> BoxFuture<'b, Result<Process>> {
        self.inner.spawn(cmd)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::LocalTransport;

    #[test]
    fn answers_once_from_the_batch_then_runs_for_real() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, "before").unwrap();
        let path = file.to_str().unwrap().to_string();
        let local = LocalTransport::new();
        rt.block_on(async {
            let cat = Command::new("cat").arg(path.clone());
            let t = Prefetched::run(&local, vec![cat.clone()]).await.unwrap();
            std::fs::write(&file, "after").unwrap();
            // The first answer is the batch's (the file as it was then)...
            assert_eq!(t.run(&cat).await.unwrap().stdout, b"before");
            // ...a second run, or a command not in the batch, is real.
            assert_eq!(t.run(&cat).await.unwrap().stdout, b"after");
            let other = Command::new("cat").arg(path.clone()).arg("/dev/null");
            assert_eq!(t.run(&other).await.unwrap().stdout, b"after");
        });
    }
}
