//! The transport: how dbfleet runs commands and moves files on hosts.
//!
//! Owns the [`Transport`] trait and its implementations: [`SshTransport`]
//! (russh, one lazily opened connection per host, host keys checked against
//! known_hosts) and [`LocalTransport`] (this machine, for tests and
//! `localhost`). Commands are typed values ([`Command`]), never shell
//! strings; bulk data travels on stdin. The pure core never imports this
//! module.

mod batch;
mod command;
mod error;
mod files;
mod local;
mod pool;
mod prefetch;
mod ssh;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

pub use batch::run_batch;
pub use command::{quote, Command, CommandError, Output};
pub use error::{message, Cause, Message, TransportError};
pub use files::{read_command, PREV_SUFFIX};
pub use local::LocalTransport;
pub use pool::SshPool;
pub use prefetch::Prefetched;
pub use ssh::{SshConfig, SshTransport};

/// The result type of this module.
pub type Result<T, E = TransportError> = std::result::Result<T, E>;

/// A boxed future, so that [`Transport`] stays dyn-compatible.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A writable stream (a running command's stdin).
pub type BoxWrite = Pin<Box<dyn AsyncWrite + Send>>;
/// A readable stream (a running command's stdout).
pub type BoxRead = Pin<Box<dyn AsyncRead + Send>>;

/// Runs commands and moves files on one host.
///
/// Guarantees: `run` returns `Ok(Output)` whenever the command ran, whatever
/// its exit status; an `Err` means it could not be run (or its outcome is
/// unknown: timeout, lost connection).
pub trait Transport: Send + Sync {
    /// The host name or address this transport reaches.
    fn host(&self) -> &str;

    /// Runs a command to completion, sending `cmd.stdin` and collecting
    /// stdout and stderr.
    fn run<'a>(&'a self, cmd: &'a Command) -> BoxFuture<'a, Result<Output>>;

    /// Runs `cmds` one after the other and returns their outputs, as `run`
    /// would. Transports that can run them in one go do: over SSH, one
    /// remote shell ([`run_batch`]) instead of a channel each.
    fn run_all<'a>(&'a self, cmds: &'a [Command]) -> BoxFuture<'a, Result<Vec<Output>>> {
        Box::pin(async move {
            let mut outputs = Vec::with_capacity(cmds.len());
            for cmd in cmds {
                outputs.push(self.run(cmd).await?);
            }
            Ok(outputs)
        })
    }

    /// Starts a command and hands out its stdin and stdout as streams, for
    /// data too large to hold in memory. See [`Process`].
    fn spawn<'a>(&'a self, cmd: &'a Command) -> BoxFuture<'a, Result<Process>>;

    /// Like [`Transport::run`], but a non-zero exit is an error
    /// ([`TransportError::Failed`]) naming the program and its stderr.
    fn run_checked<'a>(&'a self, cmd: &'a Command) -> BoxFuture<'a, Result<Output>> {
        Box::pin(async move {
            let out = self.run(cmd).await?;
            check(self.host(), &cmd.program, out)
        })
    }

    /// Replaces `path` atomically: the contents go on stdin to a temporary
    /// file in the same directory, which gets `mode`, `owner:group` and an
    /// fsync, then is renamed over `path` (and the directory fsynced). The
    /// previous file, if any, stays as `<path>.dbfleet-prev`.
    ///
    /// Needs a POSIX shell and GNU coreutils on the host. A symbolic link at
    /// `path` is replaced by a regular file.
    fn write_file<'a>(
        &'a self,
        path: &'a str,
        contents: &'a [u8],
        mode: u32,
        owner: &'a str,
        group: &'a str,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(files::write_file(self, path, contents, mode, owner, group))
    }

    /// The contents of `path`, or `None` when it does not exist.
    fn read_file<'a>(&'a self, path: &'a str) -> BoxFuture<'a, Result<Option<Vec<u8>>>> {
        Box::pin(files::read_file(self, path))
    }
}

/// Turns a non-zero exit into [`TransportError::Failed`].
pub fn check(host: &str, program: &str, out: Output) -> Result<Output> {
    if out.success() {
        return Ok(out);
    }
    Err(TransportError::Failed {
        host: host.to_string(),
        program: program.to_string(),
        status: out.status,
        signal: out.signal.clone(),
        stderr: error::stderr_excerpt(&out.stderr),
    })
}

/// A running command with streamed stdin and stdout.
///
/// If the [`Command`] had `stdin` set, the transport sends it and `stdin`
/// here is `None`; otherwise write to `stdin` and call `shutdown()` on it to
/// send end-of-file (dropping it without `shutdown` may leave the command
/// waiting for more input). Read `stdout` to its end; dropping it early
/// stops the command, as a closed pipe would. Over SSH, output left unread
/// holds up the whole connection to that host (russh's back-pressure is per
/// connection). stderr is collected and comes back from [`Process::wait`].
/// `spawn` copies `Command::stdin`: stream large inputs through `stdin`.
pub struct Process {
    pub stdin: Option<BoxWrite>,
    pub stdout: BoxRead,
    exit: BoxFuture<'static, Result<Output>>,
}

impl Process {
    /// For transport implementations: `exit` resolves when the command has
    /// ended, with its status and stderr (and an empty stdout).
    pub fn new(stdin: Option<BoxWrite>, stdout: BoxRead, exit: BoxFuture<'static, Result<Output>>) -> Self {
        Process { stdin, stdout, exit }
    }

    /// Waits for the command to end. The `Output` has its status and
    /// stderr; its stdout is empty, since it went through `self.stdout`.
    pub async fn wait(self) -> Result<Output> {
        let Process { stdin, stdout, exit } = self;
        drop(stdin);
        drop(stdout);
        exit.await
    }
}

/// What [`pipe`] saw: both commands' outcomes and the bytes that flowed.
#[derive(Debug)]
pub struct PipeOutput {
    /// The source command (its stdout is empty: it went to the destination).
    pub src: Output,
    /// The destination command, with its own stdout.
    pub dst: Output,
    /// Bytes copied from the source's stdout to the destination's stdin.
    pub bytes: u64,
}

impl PipeOutput {
    pub fn success(&self) -> bool {
        self.src.success() && self.dst.success()
    }
}

/// Streams `src_cmd`'s stdout on `src` into `dst_cmd`'s stdin on `dst`,
/// as `src_cmd | dst_cmd` across two hosts (e.g. a backup streamed from a
/// primary into a new replica). Bytes pass through this process's memory
/// in small chunks and never touch the local disk.
///
/// If the destination stops reading, the source is stopped as by a closed
/// pipe. Non-zero exits come back in the [`PipeOutput`], as with `run`.
///
/// With SSH, a slow destination holds the source connection back (russh
/// applies back-pressure per connection, not per channel): other commands
/// to the source host wait meanwhile. Do not pipe between two commands on
/// the same SSH connection.
///
/// # Errors
/// Either command could not be started or waited for; `dst_cmd.stdin` is
/// set; or the copy failed while both commands reported success.
pub async fn pipe(
    src: &dyn Transport,
    src_cmd: &Command,
    dst: &dyn Transport,
    dst_cmd: &Command,
) -> Result<PipeOutput> {
    if dst_cmd.stdin.is_some() {
        let cause = CommandError::StdinConflict {
            program: dst_cmd.program.clone(),
        };
        return Err(TransportError::invalid(dst.host(), &dst_cmd.program, cause));
    }
    let mut source = src.spawn(src_cmd).await?;
    let mut sink = dst.spawn(dst_cmd).await?;
    if let Some(mut stdin) = source.stdin.take() {
        // The source reads nothing from us; a failure here shows in its exit.
        let _ = stdin.shutdown().await;
    }
    let Some(mut sink_in) = sink.stdin.take() else {
        return Err(TransportError::Channel {
            host: dst.host().to_string(),
            program: dst_cmd.program.clone(),
            cause: error::message("the destination command has no stdin stream"),
        });
    };
    let copy = async {
        let mut buf = vec![0u8; 256 * 1024];
        let mut bytes = 0u64;
        let copied = loop {
            match source.stdout.read(&mut buf).await {
                Ok(0) => break Ok(()),
                Ok(n) => {
                    if let Err(e) = sink_in.write_all(&buf[..n]).await {
                        break Err(e);
                    }
                    bytes += n as u64;
                }
                Err(e) => break Err(e),
            }
        };
        let closed = sink_in.shutdown().await;
        drop(sink_in);
        (bytes, copied.and(closed))
    };
    let collect = async {
        let mut buf = Vec::new();
        sink.stdout.read_to_end(&mut buf).await.map(|_| buf)
    };
    let ((bytes, copied), collected) = tokio::join!(copy, collect);
    // Whatever happened, the source must not go on writing to nobody.
    source.stdout = Box::pin(tokio::io::empty());
    let src_out = source.wait().await?;
    let mut dst_out = sink.wait().await?;
    let stream_error = match collected {
        Ok(stdout) => {
            dst_out.stdout = stdout;
            copied.err()
        }
        Err(e) => Some(e),
    };
    if let Some(e) = stream_error {
        if src_out.success() && dst_out.success() {
            return Err(TransportError::Channel {
                host: format!("{} -> {}", src.host(), dst.host()),
                program: format!("{} | {}", src_cmd.program, dst_cmd.program),
                cause: Arc::new(e),
            });
        }
    }
    Ok(PipeOutput {
        src: src_out,
        dst: dst_out,
        bytes,
    })
}

#[cfg(test)]
mod tests;
