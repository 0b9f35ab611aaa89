//! [`LocalTransport`]: runs commands on this machine through `sh -c`, with
//! the same command line an SSH server would get, so tests exercise the
//! same quoting.

use std::pin::Pin;
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::process::{Child, ChildStdin, Command as OsCommand};

use super::command::Limit;
use super::{BoxFuture, Command, Output, Process, Result, Transport, TransportError};

/// Runs commands on the local machine.
#[derive(Debug, Clone)]
pub struct LocalTransport {
    host: String,
    default_timeout: Option<Duration>,
}

impl Default for LocalTransport {
    fn default() -> Self {
        LocalTransport::new()
    }
}

impl LocalTransport {
    pub fn new() -> Self {
        LocalTransport {
            host: "localhost".to_string(),
            default_timeout: None,
        }
    }

    /// Applies to commands without their own timeout.
    pub fn with_default_timeout(mut self, timeout: Duration) -> Self {
        self.default_timeout = Some(timeout);
        self
    }

    /// Starts `sh -c LINE`; the limit is enforced by `timeout` in LINE, as
    /// on a remote host, and by dropping (so killing) the child past it.
    fn start(&self, cmd: &Command) -> Result<(Child, Option<Limit>)> {
        let (line, limit) = Limit::line(&self.host, cmd, self.default_timeout)?;
        OsCommand::new("sh")
            .arg("-c")
            .arg(line)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map(|child| (child, limit))
            .map_err(|e| self.channel_error(&cmd.program, e))
    }

    fn channel_error(&self, program: &str, e: std::io::Error) -> TransportError {
        TransportError::Channel {
            host: self.host.clone(),
            program: program.to_string(),
            cause: Arc::new(e),
        }
    }

    fn timed_out(&self, program: &str, after: Duration) -> TransportError {
        TransportError::Timeout {
            host: self.host.clone(),
            what: format!("running {program}"),
            after,
        }
    }

    async fn run_inner(&self, cmd: &Command) -> Result<Output> {
        let (mut child, limit) = self.start(cmd)?;
        let stdin = child.stdin.take();
        let feed = async {
            if let (Some(mut pipe), Some(bytes)) = (stdin, cmd.stdin.as_deref()) {
                // A command that exits without reading all of its input is
                // not an error of ours: its status tells.
                let _ = pipe.write_all(bytes).await;
            }
        };
        let both = async { tokio::join!(feed, child.wait_with_output()).1 };
        let out = match limit {
            None => both.await,
            // Past the deadline the child is dropped, and so killed.
            Some(limit) => tokio::time::timeout_at(limit.deadline().into(), both)
                .await
                .map_err(|_| self.timed_out(&cmd.program, limit.limit))?,
        };
        let out = out.map_err(|e| self.channel_error(&cmd.program, e))?;
        let out = output(out.status, out.stdout, out.stderr);
        match limit {
            Some(limit) if limit.overran(out.status) => Err(self.timed_out(&cmd.program, limit.limit)),
            _ => Ok(out),
        }
    }
}

fn output(status: ExitStatus, stdout: Vec<u8>, stderr: Vec<u8>) -> Output {
    use std::os::unix::process::ExitStatusExt;
    Output {
        status: status.code(),
        signal: status.signal().map(signal_name),
        stdout,
        stderr,
    }
}

fn signal_name(number: i32) -> String {
    let name = match number {
        1 => "HUP",
        2 => "INT",
        3 => "QUIT",
        6 => "ABRT",
        9 => "KILL",
        13 => "PIPE",
        14 => "ALRM",
        15 => "TERM",
        _ => return number.to_string(),
    };
    name.to_string()
}

/// A child's stdin whose `shutdown` closes the pipe (tokio's only closes
/// it on drop), so that the child sees end-of-file as over SSH.
struct ClosingStdin(Option<ChildStdin>);

impl AsyncWrite for ClosingStdin {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.0.as_mut() {
            Some(pipe) => Pin::new(pipe).poll_write(cx, buf),
            None => Poll::Ready(Err(std::io::ErrorKind::BrokenPipe.into())),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.0.as_mut() {
            Some(pipe) => Pin::new(pipe).poll_flush(cx),
            None => Poll::Ready(Ok(())),
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        if let Some(pipe) = self.0.as_mut() {
            ready!(Pin::new(pipe).poll_flush(cx))?;
        }
        self.0 = None;
        Poll::Ready(Ok(()))
    }
}

impl Transport for LocalTransport {
    fn host(&self) -> &str {
        &self.host
    }

    fn run<'a>(&'a self, cmd: &'a Command) -> BoxFuture<'a, Result<Output>> {
        Box::pin(self.run_inner(cmd))
    }

    fn run_all<'a>(&'a self, cmds: &'a [Command]) -> BoxFuture<'a, Result<Vec<Output>>> {
        Box::pin(super::run_batch(self, cmds))
    }

    fn spawn<'a>(&'a self, cmd: &'a Command) -> BoxFuture<'a, Result<Process>> {
        Box::pin(async move {
            let (mut child, limit) = self.start(cmd)?;
            let (Some(mut stdin), Some(stdout), Some(mut stderr)) =
                (child.stdin.take(), child.stdout.take(), child.stderr.take())
            else {
                return Err(self.channel_error(&cmd.program, std::io::ErrorKind::BrokenPipe.into()));
            };
            let stdin: Option<super::BoxWrite> = match cmd.stdin.clone() {
                Some(bytes) => {
                    tokio::spawn(async move {
                        let _ = stdin.write_all(&bytes).await;
                    });
                    None
                }
                None => Some(Box::pin(ClosingStdin(Some(stdin)))),
            };
            let errors = tokio::spawn(async move {
                let mut buf = Vec::new();
                let _ = stderr.read_to_end(&mut buf).await;
                buf
            });
            let this = self.clone();
            let program = cmd.program.clone();
            let exit = async move {
                let waited = match limit {
                    None => child.wait().await,
                    Some(limit) => {
                        match tokio::time::timeout_at(limit.deadline().into(), child.wait()).await {
                            Ok(waited) => waited,
                            Err(_) => {
                                let _ = child.kill().await;
                                return Err(this.timed_out(&program, limit.limit));
                            }
                        }
                    }
                };
                let status = waited.map_err(|e| this.channel_error(&program, e))?;
                let stderr = errors.await.unwrap_or_default();
                let out = output(status, Vec::new(), stderr);
                match limit {
                    Some(limit) if limit.overran(out.status) => Err(this.timed_out(&program, limit.limit)),
                    _ => Ok(out),
                }
            };
            Ok(Process::new(stdin, Box::pin(stdout), Box::pin(exit)))
        })
    }
}
