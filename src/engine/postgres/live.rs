//! Applying a new configuration to a running server: check it, reload,
//! then ask the server what still needs a restart.
//!
//! PostgreSQL applies a reload value by value: a bad value is skipped
//! (logged, `pg_file_settings.error` = "setting could not be applied") while
//! the others take effect. So the files are checked *before* the reload,
//! with `postgres -C` (a separate process that parses the configuration
//! the way a start would and prints PostgreSQL's own message) and
//! `pg_hba_file_rules`; a rejected file is never loaded. After the reload,
//! `pg_settings.pending_restart` names what waits for a restart.

use std::time::Duration;

use crate::engine::contract::Result;
use crate::engine::{ConfigChange, DriverError, LiveOutcome, NodeCx};
use crate::transport::Transport;

use super::host::{engine, main_config, other, poll, psql, psql_ok, stderr_text, tool};
use super::sql::{parse_bool, Rows};

/// How long the postmaster may take to process the reload signal.
const RELOAD_TIMEOUT: Duration = Duration::from_secs(15);

pub async fn apply_live(t: &dyn Transport, cx: &NodeCx<'_>, changes: &[ConfigChange]) -> Result<LiveOutcome> {
    let what = describe(changes);
    let check = tool(cx, "postgres").args(["-D", &cx.paths.config_dir, "-C", "data_directory"]);
    let out = t.run(&check).await?;
    if !out.success() {
        return Err(rejected(t, cx, &what, server_messages(&stderr_text(&out))));
    }
    let hba = psql_ok(
        t,
        cx,
        "SELECT line_number, error FROM pg_catalog.pg_hba_file_rules WHERE error IS NOT NULL ORDER BY line_number",
        "reading pg_hba_file_rules",
    )
    .await?;
    if !hba.is_empty() {
        let file = format!("{}/pg_hba.conf", cx.paths.config_dir);
        return Err(rejected(
            t,
            cx,
            &format!("{file} ({what})"),
            hba_errors(&file, &hba),
        ));
    }

    let before = psql_ok(
        t,
        cx,
        "SELECT pg_catalog.pg_conf_load_time(), pg_catalog.pg_reload_conf()",
        "reloading the configuration",
    )
    .await?;
    let before = first(&before);
    // A new session forks from the postmaster, so it sees the postmaster's
    // load time: it changes once the reload has been processed.
    let reloaded = poll(RELOAD_TIMEOUT, || async {
        let now = psql(t, cx, "SELECT pg_catalog.pg_conf_load_time()").await?.ok();
        Ok(now.map(|rows| first(&rows)).filter(|now| *now != before))
    })
    .await?;
    if reloaded.is_none() {
        return Err(other(
            t,
            format!(
                "{} did not reload {} within {RELOAD_TIMEOUT:?}",
                engine(cx),
                main_config(cx)
            ),
        ));
    }

    let rows = psql_ok(
        t,
        cx,
        "SELECT f.name, f.error, s.pending_restart
           FROM pg_catalog.pg_file_settings AS f
           LEFT JOIN pg_catalog.pg_settings AS s ON s.name = f.name
          WHERE f.error IS NOT NULL
         UNION ALL
         SELECT name, NULL, true FROM pg_catalog.pg_settings WHERE pending_restart",
        "reading pg_file_settings",
    )
    .await?;
    let verdict = judge(&rows);
    if !verdict.errors.is_empty() {
        return Err(rejected(t, cx, &what, verdict.errors.join("; ")));
    }
    Ok(if verdict.restart.is_empty() {
        LiveOutcome::Applied
    } else {
        LiveOutcome::NeedsRestart(verdict.restart)
    })
}

fn rejected(t: &dyn Transport, cx: &NodeCx<'_>, what: &str, message: String) -> DriverError {
    DriverError::Rejected {
        host: t.host().to_string(),
        engine: engine(cx),
        what: what.to_string(),
        message,
    }
}

fn first(rows: &Rows) -> Option<String> {
    rows.first().and_then(|r| r.first().cloned().flatten())
}

fn describe(changes: &[ConfigChange]) -> String {
    if changes.is_empty() {
        return "the configuration".to_string();
    }
    let keys: Vec<&str> = changes.iter().map(|c| c.key.as_str()).collect();
    format!("the configuration change ({})", keys.join(", "))
}

/// What the server said after the reload.
#[derive(Debug, Default, PartialEq, Eq)]
struct Verdict {
    /// Parameters waiting for a restart, sorted, once each.
    restart: Vec<String>,
    /// File lines the server could not apply for another reason.
    errors: Vec<String>,
}

/// Rows of (name, error, pending_restart): an error on a parameter that
/// waits for a restart is that wait, not a fault.
fn judge(rows: &Rows) -> Verdict {
    let mut v = Verdict::default();
    for row in rows {
        let field = |i: usize| row.get(i).cloned().flatten();
        let name = field(0).unwrap_or_default();
        if parse_bool(field(2).as_deref()) == Some(true) {
            if !v.restart.contains(&name) {
                v.restart.push(name);
            }
        } else if let Some(error) = field(1) {
            let at = if name.is_empty() {
                String::new()
            } else {
                format!("{name}: ")
            };
            v.errors.push(format!("{at}{error}"));
        }
    }
    v.restart.sort();
    v
}

/// Log lines of a `postgres` run without their prefix (time, pid): what
/// follows `LOG:`, `FATAL:` and the like, hints kept as `HINT: ...`,
/// joined with "; ".
fn server_messages(stderr: &str) -> String {
    const PLAIN: [&str; 5] = ["PANIC:", "FATAL:", "ERROR:", "WARNING:", "LOG:"];
    const LABELLED: [&str; 2] = ["DETAIL:", "HINT:"];
    let lines: Vec<String> = stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            for marker in PLAIN {
                if let Some((_, m)) = l.split_once(marker) {
                    return m.trim().to_string();
                }
            }
            for marker in LABELLED {
                if let Some((_, m)) = l.split_once(marker) {
                    return format!("{marker} {}", m.trim());
                }
            }
            l.trim().to_string()
        })
        .collect();
    lines.join("; ")
}

fn hba_errors(file: &str, rows: &Rows) -> String {
    rows.iter()
        .map(|r| {
            let line = r.first().cloned().flatten().unwrap_or_default();
            let error = r.get(1).cloned().flatten().unwrap_or_default();
            format!("{file} line {line}: {error}")
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(data: &[&[Option<&str>]]) -> Rows {
        data.iter()
            .map(|r| r.iter().map(|f| f.map(str::to_string)).collect())
            .collect()
    }

    #[test]
    fn messages_of_a_rejected_file() {
        let stderr = "2026-11-22 04:55:41.664 GMT [24000] LOG:  invalid value for parameter \"work_mem\": \"10XB\"\n\
                      2026-11-22 04:55:41.664 GMT [24000] HINT:  Valid units for this parameter are \"B\", \"kB\", \"MB\", \"GB\", and \"TB\".\n\
                      2026-11-22 04:55:41.664 GMT [24000] FATAL:  configuration file \"/etc/postgresql/15/main/postgresql.conf\" contains errors\n";
        assert_eq!(
            server_messages(stderr),
            "invalid value for parameter \"work_mem\": \"10XB\"; \
             HINT: Valid units for this parameter are \"B\", \"kB\", \"MB\", \"GB\", and \"TB\".; \
             configuration file \"/etc/postgresql/15/main/postgresql.conf\" contains errors"
        );
        assert_eq!(
            server_messages("postgres: could not access directory\n"),
            "postgres: could not access directory"
        );
    }

    #[test]
    fn pending_restarts_are_not_errors() {
        let v = judge(&rows(&[
            &[
                Some("shared_buffers"),
                Some("setting could not be applied"),
                Some("t"),
            ],
            &[Some("shared_buffers"), None, Some("t")],
            &[Some("max_connections"), None, Some("t")],
        ]));
        assert_eq!(
            v,
            Verdict {
                restart: vec!["max_connections".into(), "shared_buffers".into()],
                errors: vec![],
            }
        );
    }

    #[test]
    fn other_errors_are() {
        let v = judge(&rows(&[
            &[Some("work_mem"), Some("setting could not be applied"), Some("f")],
            &[None, Some("syntax error"), None],
        ]));
        assert_eq!(
            v.errors,
            vec!["work_mem: setting could not be applied", "syntax error"]
        );
        assert!(v.restart.is_empty());
        assert_eq!(judge(&Rows::new()), Verdict::default());
    }

    #[test]
    fn descriptions() {
        assert_eq!(describe(&[]), "the configuration");
        let c = |k: &str| ConfigChange {
            key: k.into(),
            value: None,
        };
        assert_eq!(
            describe(&[c("work_mem"), c("port")]),
            "the configuration change (work_mem, port)"
        );
    }
}
