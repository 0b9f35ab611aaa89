//! File operations built on `run`: an atomic write and a read that tells
//! "missing" from "unreadable". The scripts are constants; paths, modes and
//! owners reach them as positional parameters (`sh -c SCRIPT sh ARGS..`),
//! and file contents on stdin, so no value is ever parsed by a shell.

use super::{check, Command, CommandError, Result, Transport, TransportError};

/// Suffix of the previous version kept beside a written file.
pub const PREV_SUFFIX: &str = ".dbfleet-prev";

/// `$1` path, `$2` octal mode, `$3` owner, `$4` group; contents on stdin.
const WRITE_SCRIPT: &str = r#"set -eu
path=$1 mode=$2 owner=$3 group=$4
dir=${path%/*}
[ -n "$dir" ] || dir=/
base=${path##*/}
tmp=$(mktemp "$dir/.$base.dbfleet-tmp.XXXXXX")
trap 'rm -f -- "$tmp"' EXIT
cat >"$tmp"
chown -- "$owner:$group" "$tmp"
chmod -- "$mode" "$tmp"
sync -- "$tmp"
if [ -e "$path" ] || [ -L "$path" ]; then ln -f -- "$path" "$path.dbfleet-prev"; fi
mv -f -- "$tmp" "$path"
sync -- "$dir"
"#;

/// Exit status of [`READ_SCRIPT`] when the file does not exist.
const MISSING: i32 = 44;

/// `$1` path.
const READ_SCRIPT: &str = r#"if [ -e "$1" ] || [ -L "$1" ]; then exec cat -- "$1"; fi
exit 44
"#;

fn check_path(host: &str, path: &str) -> Result<()> {
    let ok = path.starts_with('/') && !path.ends_with('/') && !path.contains('\0');
    if ok {
        return Ok(());
    }
    Err(TransportError::invalid(
        host,
        "sh",
        CommandError::BadPath {
            path: path.to_string(),
        },
    ))
}

/// The command [`write_file`] runs (public for tests and dry runs).
pub fn write_command(
    path: &str,
    contents: &[u8],
    mode: u32,
    owner: &str,
    group: &str,
) -> Result<Command, CommandError> {
    if mode > 0o7777 {
        return Err(CommandError::BadMode { mode });
    }
    Ok(Command::new("sh")
        .args(["-c", WRITE_SCRIPT, "sh", path])
        .arg(format!("{mode:o}"))
        .args([owner, group])
        .stdin(contents))
}

pub(super) async fn write_file<T: Transport + ?Sized>(
    transport: &T,
    path: &str,
    contents: &[u8],
    mode: u32,
    owner: &str,
    group: &str,
) -> Result<()> {
    check_path(transport.host(), path)?;
    let cmd = write_command(path, contents, mode, owner, group)
        .map_err(|cause| TransportError::invalid(transport.host(), "sh", cause))?;
    let out = transport.run(&cmd).await?;
    check(transport.host(), &format!("write {path}"), out).map(drop)
}

/// The command [`read_file`] runs (public for batches: see
/// [`super::Prefetched`]).
pub fn read_command(path: &str) -> Command {
    Command::new("sh").args(["-c", READ_SCRIPT, "sh", path])
}

pub(super) async fn read_file<T: Transport + ?Sized>(transport: &T, path: &str) -> Result<Option<Vec<u8>>> {
    check_path(transport.host(), path)?;
    let cmd = read_command(path);
    let out = transport.run(&cmd).await?;
    if out.status == Some(MISSING) {
        return Ok(None);
    }
    let out = check(transport.host(), &format!("read {path}"), out)?;
    Ok(Some(out.stdout))
}
