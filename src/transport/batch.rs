//! Several commands in one remote shell: one SSH channel (one sshd session
//! process, one shell) instead of one per command. On a busy host that
//! per-channel cost is most of what a short command costs.
//!
//! The script travels on stdin to `sh -s`, never on a command line, so the
//! commands' own stdin (passwords, SQL) is not visible in the host's process
//! list: `printf` is a shell builtin. Each command runs in a subshell with
//! its own line from [`Command::exec_line`] (its timeout, user, directory,
//! environment), writing straight to the channel; after it, the shell
//! writes a boundary (a random token, new for every batch) and the exit
//! status to stdout, and the boundary to stderr. Nothing else runs per
//! command, and the outputs come back byte for byte.

use std::time::Duration;

use rand::distr::{Alphanumeric, SampleString};

use super::{error, quote, Command, CommandError, Output, Result, Transport, TransportError};

/// The one command that runs `cmds` on a host, in order, each followed by
/// `boundary`.
fn batch_command(cmds: &[Command], boundary: &str) -> std::result::Result<Command, CommandError> {
    let mut script = Vec::new();
    let mut limit = Some(Duration::ZERO);
    for cmd in cmds {
        let line = inline(cmd).map_or_else(|| cmd.exec_line(cmd.timeout), Ok)?;
        limit = limit.zip(cmd.timeout).map(|(a, b)| a + b);
        match &cmd.stdin {
            Some(bytes) => {
                if bytes.contains(&0) {
                    return Err(CommandError::NulByte {
                        program: cmd.program.clone(),
                    });
                }
                script.extend_from_slice(b"printf '%s' ");
                script.extend(quote_bytes(bytes));
                script.extend_from_slice(b" | ( ");
                script.extend_from_slice(line.as_bytes());
                script.extend_from_slice(b" )");
            }
            None => {
                script.extend_from_slice(b"( ");
                script.extend_from_slice(line.as_bytes());
                script.extend_from_slice(b" ) </dev/null");
            }
        }
        script.extend_from_slice(
            format!("; printf '{boundary} %s\\n' $?; printf '{boundary}\\n' >&2\n").as_bytes(),
        );
    }
    let batch = Command::new("sh").arg("-s").stdin(script);
    // Every command has a limit: the batch gets their sum, plus slack for
    // the shell. Otherwise the transport's default applies.
    Ok(match limit {
        Some(total) => batch.timeout(total + Duration::from_secs(10)),
        None => batch,
    })
}

/// The shell's own way to run `cmd`, sparing a process, when it has no
/// wrapper (timeout, user, directory, environment): `test` is a builtin,
/// and `sh -c SCRIPT sh ARGS..` runs as `set -- ARGS..; SCRIPT`. Both still
/// run in a subshell, so a script's `exit` or `exec` ends only itself.
fn inline(cmd: &Command) -> Option<String> {
    let plain = cmd.env.is_empty() && cmd.run_as.is_none() && cmd.cwd.is_none() && cmd.timeout.is_none();
    if !plain || cmd.args.iter().any(|a| a.contains('\0')) {
        return None;
    }
    let words = |args: &[String]| args.iter().map(|a| quote(a)).collect::<Vec<_>>().join(" ");
    match (cmd.program.as_str(), cmd.args.as_slice()) {
        ("test", args) => Some(format!("test {}", words(args))),
        ("sh", [c, script, zero, args @ ..]) if c == "-c" && zero == "sh" => {
            Some(format!("set -- {}\n{script}\n", words(args)))
        }
        _ => None,
    }
}

/// Splits the batch's output into one [`Output`] per command.
fn split_batch(host: &str, n: usize, boundary: &str, out: &Output) -> Result<Vec<Output>> {
    let bad = |why: String| TransportError::Channel {
        host: host.to_string(),
        program: "sh (a batch of commands)".to_string(),
        cause: error::message(why),
    };
    let mark = boundary.as_bytes();
    let (mut stdout, mut stderr) = (out.stdout.as_slice(), out.stderr.as_slice());
    let mut outputs = Vec::with_capacity(n);
    for i in 0..n {
        let (Some(o), Some(e)) = (find(stdout, mark), find(stderr, mark)) else {
            let tail = String::from_utf8_lossy(stderr).trim().to_string();
            return Err(bad(format!(
                "the batch stopped after {i} of {n} commands (exit {:?}): {tail}",
                out.status
            )));
        };
        let after = &stdout[o + mark.len()..];
        let end = after.iter().position(|b| *b == b'\n').unwrap_or(after.len());
        let status = String::from_utf8_lossy(&after[..end]).trim().parse::<i32>().ok();
        let Some(status) = status else {
            return Err(bad(format!("command {} of the batch: no exit status", i + 1)));
        };
        outputs.push(Output {
            status: Some(status),
            signal: None,
            stdout: stdout[..o].to_vec(),
            stderr: stderr[..e].to_vec(),
        });
        stdout = after.get(end + 1..).unwrap_or_default();
        stderr = stderr.get(e + mark.len() + 1..).unwrap_or_default();
    }
    Ok(outputs)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Runs `cmds` in one remote shell and returns their outputs in order.
/// Like [`Transport::run`], a command that ran and failed is an `Ok` output.
///
/// # Errors
/// The batch itself could not run or its output was cut short.
pub async fn run_batch<T: Transport + ?Sized>(t: &T, cmds: &[Command]) -> Result<Vec<Output>> {
    if cmds.is_empty() {
        return Ok(Vec::new());
    }
    let boundary = format!("DBFLEET-{}", Alphanumeric.sample_string(&mut rand::rng(), 32));
    let batch =
        batch_command(cmds, &boundary).map_err(|cause| TransportError::invalid(t.host(), "sh", cause))?;
    let out = t.run(&batch).await?;
    split_batch(t.host(), cmds.len(), &boundary, &out)
}

/// POSIX single quotes around any bytes but NUL.
fn quote_bytes(bytes: &[u8]) -> Vec<u8> {
    let mut q = Vec::with_capacity(bytes.len() + 2);
    q.push(b'\'');
    for &b in bytes {
        if b == b'\'' {
            q.extend_from_slice(b"'\\''");
        } else {
            q.push(b);
        }
    }
    q.push(b'\'');
    q
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::LocalTransport;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn outputs_come_back_exactly_and_in_order() {
        let t = LocalTransport::new();
        let tricky = b"it's \"quoted\" $HOME `x` \\ %s\nno newline at the end\xff".to_vec();
        let cmds = vec![
            Command::new("printf").arg("a\\nb"),
            Command::new("cat").stdin(tricky.clone()),
            Command::new("sh").args(["-c", "echo out; echo err >&2; exit 3"]),
            Command::new("cat"),
            Command::new("sh")
                .args(["-c", "printf '%s' \"$V\""])
                .env("V", "from env"),
            Command::new("definitely-not-a-program-here"),
            Command::new("pwd").cwd("/tmp"),
            Command::new("test").args(["-d", "/tmp"]),
            Command::new("test").args(["-e", "/no/such/path"]),
            Command::new("sh").args(["-c", "printf '%s|' \"$@\"; exit 4", "sh", "a b", "it's"]),
            Command::new("sh").args(["-c", "exec cat", "sh"]).stdin("piped"),
            Command::new("echo").arg("still here"),
        ];
        let outs = rt().block_on(run_batch(&t, &cmds)).unwrap();
        assert_eq!(outs.len(), cmds.len());
        assert_eq!(outs[0].stdout, b"a\nb");
        assert!(outs[0].success());
        assert_eq!(outs[1].stdout, tricky, "stdin passes byte for byte");
        assert_eq!(outs[2].status, Some(3));
        assert_eq!(outs[2].stdout, b"out\n");
        assert_eq!(outs[2].stderr, b"err\n");
        assert!(
            outs[3].stdout.is_empty() && outs[3].success(),
            "no stdin: end of file at once"
        );
        assert_eq!(outs[4].stdout, b"from env");
        assert_eq!(outs[5].status, Some(127));
        assert_eq!(outs[6].stdout, b"/tmp\n");
        assert!(outs[7].success(), "test, run by the shell itself");
        assert_eq!(outs[8].status, Some(1));
        assert_eq!(outs[9].stdout, b"a b|it's|", "sh -c inline keeps its arguments");
        assert_eq!(outs[9].status, Some(4), "and its exit ends only itself");
        assert_eq!(outs[10].stdout, b"piped");
        assert_eq!(outs[11].stdout, b"still here\n");
    }

    #[test]
    fn the_script_and_stdin_stay_off_the_command_line() {
        let cmd = batch_command(&[Command::new("cat").stdin("s3cret\n")], "B").unwrap();
        assert_eq!(cmd.program, "sh");
        assert_eq!(cmd.args, ["-s"]);
        let script = String::from_utf8(cmd.stdin.unwrap()).unwrap();
        assert!(script.contains("printf '%s' 's3cret\n' | ( exec 'cat' )"));
    }

    #[test]
    fn timeouts_add_up_and_nul_is_refused() {
        let a = Command::new("true").timeout(Duration::from_secs(5));
        let b = Command::new("true").timeout(Duration::from_secs(7));
        let both = batch_command(&[a.clone(), b], "B").unwrap();
        assert_eq!(both.timeout, Some(Duration::from_secs(22)));
        let open = batch_command(&[a, Command::new("true")], "B").unwrap();
        assert_eq!(open.timeout, None);
        assert!(batch_command(&[Command::new("cat").stdin(vec![b'a', 0])], "B").is_err());
    }

    #[test]
    fn cut_short_output_is_an_error() {
        let out = Output {
            status: Some(97),
            stderr: b"sh: 1: cannot fork".to_vec(),
            ..Default::default()
        };
        let err = split_batch("h", 1, "B", &out).unwrap_err().to_string();
        assert!(err.contains("h"), "{err}");
        let one_of_two = Output {
            status: Some(0),
            stdout: b"abcB 0\n".to_vec(),
            stderr: b"B\n".to_vec(),
            ..Default::default()
        };
        assert!(split_batch("h", 2, "B", &one_of_two).is_err());
        let outs = split_batch("h", 1, "B", &one_of_two).unwrap();
        assert_eq!(outs[0].stdout, b"abc");
        assert_eq!(outs[0].status, Some(0));
    }
}
