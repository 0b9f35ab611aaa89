//! Running one command on an SSH channel: stdin out, stdout and stderr in,
//! exit status, timeout.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use russh::client::Msg;
use russh::{Channel, ChannelMsg, ChannelReadHalf, ChannelWriteHalf, Sig};
use tokio::io::{AsyncWriteExt, DuplexStream};
use tokio::sync::OwnedSemaphorePermit;

use super::SshTransport;
use crate::transport::command::Limit;
use crate::transport::{BoxWrite, Command, Output, Process, Result, TransportError};

/// stderr kept per command; more is dropped, with a note saying how much.
const STDERR_LIMIT: usize = 4 << 20;
/// Buffer between a spawned command's channel and its stdout reader.
const STREAM_BUFFER: usize = 256 << 10;
/// How long a command gets between TERM and KILL when we give up on it.
const KILL_GRACE: Duration = crate::transport::command::KILL_GRACE;

/// Where stdout goes.
enum Sink {
    Collect(Vec<u8>),
    /// `None` once the reader went away.
    Stream(Option<DuplexStream>),
}

/// One command's channel, from exec to close.
struct Exec<'a> {
    host: &'a str,
    program: &'a str,
    rx: ChannelReadHalf,
    tx: ChannelWriteHalf<Msg>,
}

impl SshTransport {
    /// The command line and the time limit it runs under.
    fn prepare(&self, cmd: &Command) -> Result<(String, Option<Limit>)> {
        let (line, limit) = Limit::line(&self.host, cmd, self.config.command_timeout)?;
        tracing::trace!(host = %self.host, %line, "exec");
        Ok((line, limit))
    }

    /// A channel running `cmd`, the session permit it holds, and the
    /// command's time limit.
    async fn start(&self, cmd: &Command) -> Result<(Channel<Msg>, OwnedSemaphorePermit, Option<Limit>)> {
        let (line, limit) = self.prepare(cmd)?;
        let (channel, permit) = self.open_channel(&cmd.program, limit).await?;
        channel
            .exec(true, line)
            .await
            .map_err(|e| self.channel_error(&cmd.program, Arc::new(e)))?;
        Ok((channel, permit, limit))
    }

    pub(super) async fn run_command(&self, cmd: &Command) -> Result<Output> {
        let (channel, permit, limit) = self.start(cmd).await?;
        let (rx, tx) = channel.split();
        let exec = Exec {
            host: &self.host,
            program: &cmd.program,
            rx,
            tx,
        };
        let out = exec
            .drive(cmd.stdin.as_deref(), Sink::Collect(Vec::new()), limit)
            .await;
        drop(permit);
        out
    }

    pub(super) async fn spawn_command(&self, cmd: &Command) -> Result<Process> {
        let (channel, permit, limit) = self.start(cmd).await?;
        let (rx, tx) = channel.split();
        let (sink, stdout) = tokio::io::duplex(STREAM_BUFFER);
        let (stdin, feed): (Option<BoxWrite>, Option<Vec<u8>>) = match &cmd.stdin {
            Some(bytes) => (None, Some(bytes.clone())),
            None => (Some(Box::pin(tx.make_writer())), None),
        };
        let host = self.host.clone();
        let program = cmd.program.clone();
        let task = tokio::spawn(async move {
            let exec = Exec {
                host: &host,
                program: &program,
                rx,
                tx,
            };
            let out = exec.drive(feed.as_deref(), Sink::Stream(Some(sink)), limit).await;
            drop(permit);
            out
        });
        let host = self.host.clone();
        let program = cmd.program.clone();
        let exit = async move {
            task.await.map_err(|e| TransportError::Channel {
                host,
                program,
                cause: Arc::new(e),
            })?
        };
        Ok(Process::new(stdin, Box::pin(stdout), Box::pin(exit)))
    }
}

impl Exec<'_> {
    /// Sends `stdin` (then EOF) while reading the channel until it closes.
    /// With `stdin` `None` and a stream sink, stdin is left to the caller's
    /// writer; with `None` and a collecting sink, EOF goes at once.
    async fn drive(mut self, stdin: Option<&[u8]>, mut sink: Sink, limit: Option<Limit>) -> Result<Output> {
        let streaming_stdin = stdin.is_none() && matches!(sink, Sink::Stream(_));
        let tx = &self.tx;
        let feed = async {
            if !streaming_stdin {
                if let Some(bytes) = stdin {
                    // Whole slices, so packets are as large as the peer
                    // allows (`data()` would copy through an 8 KiB buffer).
                    // A command may exit without reading all its input;
                    // its exit status tells, not this write.
                    let _ = tx.make_writer().write_all(bytes).await;
                }
                let _ = tx.eof().await;
            }
            std::future::pending::<Infallible>().await
        };
        let pump = pump(&mut self.rx, tx, &mut sink);
        let both = async {
            tokio::select! {
                ended = pump => ended,
                never = feed => match never {},
            }
        };
        let timed_out = |after| TransportError::Timeout {
            host: self.host.to_string(),
            what: format!("running {}", self.program),
            after,
        };
        let ended = match limit {
            None => both.await,
            Some(limit) => match tokio::time::timeout_at(limit.deadline().into(), both).await {
                Ok(ended) => ended,
                Err(_) => {
                    // The host's own `timeout` should have ended it by now:
                    // the connection or the host is in trouble.
                    let err = timed_out(limit.limit);
                    stop(self.tx);
                    return Err(err);
                }
            },
        };
        let mut out = ended.map_err(|cause| TransportError::Channel {
            host: self.host.to_string(),
            program: self.program.to_string(),
            cause: crate::transport::error::message(cause),
        })?;
        if let Some(limit) = limit {
            if limit.overran(out.status) {
                return Err(timed_out(limit.limit));
            }
        }
        if let Sink::Collect(stdout) = sink {
            out.stdout = stdout;
        }
        Ok(out)
    }
}

/// Reads channel messages until the channel closes. Returns the exit
/// status and stderr; stdout goes to `sink`.
async fn pump(
    rx: &mut ChannelReadHalf,
    tx: &ChannelWriteHalf<Msg>,
    sink: &mut Sink,
) -> std::result::Result<Output, String> {
    let mut out = Output::default();
    let mut stderr_dropped = 0usize;
    while let Some(msg) = rx.wait().await {
        match msg {
            ChannelMsg::Data { data } => match sink {
                Sink::Collect(buf) => buf.extend_from_slice(&data),
                Sink::Stream(writer) => {
                    let gone = match writer {
                        Some(w) => w.write_all(&data).await.is_err(),
                        None => false,
                    };
                    if gone {
                        // Nobody reads the output any more: stop the command,
                        // as a closed pipe would.
                        *writer = None;
                        let _ = tx.signal(Sig::PIPE).await;
                    }
                }
            },
            ChannelMsg::ExtendedData { data, ext: 1 } => {
                let room = STDERR_LIMIT.saturating_sub(out.stderr.len());
                let keep = data.len().min(room);
                out.stderr.extend_from_slice(&data[..keep]);
                stderr_dropped += data.len() - keep;
            }
            ChannelMsg::ExitStatus { exit_status } => {
                out.status = Some(i32::try_from(exit_status).unwrap_or(i32::MAX));
            }
            ChannelMsg::ExitSignal { signal_name, .. } => {
                out.signal = Some(signal_text(&signal_name));
            }
            ChannelMsg::Failure => return Err("the host refused to run the command".into()),
            ChannelMsg::Close => break,
            _ => {}
        }
    }
    if let Sink::Stream(writer) = sink {
        if let Some(mut w) = writer.take() {
            let _ = w.shutdown().await;
        }
    }
    if stderr_dropped > 0 {
        let note = format!("\n[dbfleet: {stderr_dropped} more bytes of stderr dropped]\n");
        out.stderr.extend_from_slice(note.as_bytes());
    }
    if out.status.is_none() && out.signal.is_none() {
        return Err("the channel closed before the command reported how it ended \
                    (connection lost?)"
            .into());
    }
    Ok(out)
}

fn signal_text(sig: &Sig) -> String {
    match sig {
        Sig::Custom(name) => name.clone(),
        other => format!("{other:?}"),
    }
}

/// Gives up on a command: TERM, KILL after a grace period (OpenSSH ignores
/// both for root sessions; the host's `timeout` is what really stops it),
/// then closes the channel. Runs in the background so a dead connection
/// cannot hold up the caller.
fn stop(tx: ChannelWriteHalf<Msg>) {
    tokio::spawn(async move {
        let _ = tx.signal(Sig::TERM).await;
        tokio::time::sleep(KILL_GRACE).await;
        let _ = tx.signal(Sig::KILL).await;
        let _ = tx.close().await;
    });
}
