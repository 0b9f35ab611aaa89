//! Seeding a replica: a physical backup of the running source streamed
//! over SSH straight into the replica's emptied data directory, prepared
//! there, with the backup's GTID position kept for `start_replication`.

use std::time::Instant;

use super::host::{Host, INITIALISED, SEED_GTID};
use super::status::backup_gtid;
use crate::engine::contract::Result;
use crate::transport::{pipe, Output};

/// See [`crate::engine::Driver::seed`].
pub(crate) async fn seed(source: &Host<'_>, replica: &Host<'_>) -> Result<()> {
    let f = replica.flavor;
    let p = replica.cx.paths;
    source.require(&[f.backup_tool()]).await?;
    replica
        .require(&[&p.server_binary, f.backup_tool(), f.stream_tool()])
        .await?;
    if !source.ping().await? {
        return Err(source.other(format!(
            "{} is not running here, so {} cannot be seeded from it",
            f.name(),
            replica.name()
        )));
    }
    replica.stop().await?;
    replica.ensure_dir(&p.data_dir, &p.user, &p.group, "0750").await?;
    // The marker goes with everything else: a copy that stops halfway
    // leaves a data directory that is not initialised, redone next time.
    replica.wipe_data_dir().await?;

    let started = Instant::now();
    let backup = f.backup(&source.cx.paths.socket);
    let unpack = f.unpack(&p.data_dir, &p.user);
    let out = pipe(source.t, &backup, replica.t, &unpack).await?;
    if !out.success() {
        return Err(replica.other(format!(
            "seeding from {} failed\n{} on {}: {}\n{} here: {}",
            source.name(),
            backup.program,
            source.name(),
            describe(&out.src),
            unpack.program,
            describe(&out.dst),
        )));
    }
    let copied = started.elapsed();
    let prepare = f.prepare(&p.data_dir, &p.user);
    let prepared = replica.run(&prepare).await?;
    if !prepared.success() {
        return Err(replica.other(format!(
            "{} --prepare failed: {}",
            prepare.program,
            describe(&prepared)
        )));
    }
    tracing::info!(
        source = source.name(),
        replica = replica.name(),
        bytes = out.bytes,
        copy_secs = copied.as_secs_f64(),
        total_secs = started.elapsed().as_secs_f64(),
        "seeded"
    );

    let mut gtid = None;
    for name in f.binlog_info_files() {
        if let Some(bytes) = replica.t.read_file(&replica.data_file(name)).await? {
            gtid = backup_gtid(&String::from_utf8_lossy(&bytes));
            if gtid.is_some() {
                break;
            }
        }
    }
    let Some(gtid) = gtid else {
        return Err(replica.other(format!(
            "the backup from {} records no binary log position (is log_bin on there?)",
            source.name()
        )));
    };
    replica.write_data_file(SEED_GTID, &format!("{gtid}\n")).await?;
    replica
        .write_data_file(INITIALISED, &format!("seed from {}\n", source.name()))
        .await
}

/// Exit status and the end of stderr (backup tools log every file).
fn describe(out: &Output) -> String {
    let stderr = out.stderr_str();
    let lines: Vec<&str> = stderr.lines().collect();
    let tail = lines[lines.len().saturating_sub(15)..].join("\n");
    let status = match (out.status, &out.signal) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(sig)) => format!("killed by signal {sig}"),
        (None, None) => "no exit status".to_string(),
    };
    format!("{status}\n{tail}")
}
