//! SQL text the driver sends to psql, and psql's output read back. Pure.
//!
//! Values reach SQL only through [`quote_literal`] and [`quote_ident`];
//! statements that carry a password travel on psql's stdin, never on a
//! command line.

use crate::render::{slot_name, ADMIN_USER, REPLICATION_USER};

/// psql's field separator (`-F`): ASCII unit separator.
pub const FIELD_SEP: char = '\u{1f}';
/// psql's record separator (`-R`): ASCII record separator.
pub const RECORD_SEP: char = '\u{1e}';
/// What psql prints for NULL (`-P null=`): a byte no value of ours holds.
pub const NULL_MARK: &str = "\u{2}";

/// A value that cannot be written as an SQL literal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a value contains a NUL byte, which PostgreSQL cannot store")]
pub struct NulByte;

/// `s` as an SQL string literal, the way PostgreSQL's own `quote_literal`
/// writes it: in single quotes with `'` doubled; when `s` holds a
/// backslash, as an escape string (`E'...'`) with `\` doubled too, so the
/// result means the same whatever `standard_conforming_strings` says.
pub fn quote_literal(s: &str) -> Result<String, NulByte> {
    if s.contains('\0') {
        return Err(NulByte);
    }
    let mut out = String::with_capacity(s.len() + 3);
    if s.contains('\\') {
        out.push('E');
    }
    out.push('\'');
    for c in s.chars() {
        match c {
            '\'' => out.push_str("''"),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('\'');
    Ok(out)
}

/// `s` as a quoted SQL identifier: in double quotes with `"` doubled.
pub fn quote_ident(s: &str) -> Result<String, NulByte> {
    if s.contains('\0') {
        return Err(NulByte);
    }
    Ok(format!("\"{}\"", s.replace('"', "\"\"")))
}

/// One `.pgpass` field: `\` and `:` escaped with a backslash.
pub fn pgpass_field(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c == '\\' || c == ':' {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The `.pgpass` a standby's `primary_conninfo` (`passfile=`) and
/// `pg_basebackup` read: the replication user's password for any host.
///
/// Errors: a password with a line break, which `.pgpass` cannot hold.
pub fn pgpass(replication_password: &str) -> Result<String, PasswordProblem> {
    if replication_password.contains(['\n', '\r']) {
        return Err(PasswordProblem::LineBreak);
    }
    if replication_password.contains('\0') {
        return Err(PasswordProblem::Nul);
    }
    Ok(format!(
        "*:*:*:{}:{}\n",
        pgpass_field(REPLICATION_USER),
        pgpass_field(replication_password)
    ))
}

/// Why a password cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordProblem {
    #[error("the replication password contains a line break, which a .pgpass file cannot hold")]
    LineBreak,
    #[error("a password contains a NUL byte, which PostgreSQL cannot store")]
    Nul,
}

impl From<NulByte> for PasswordProblem {
    fn from(_: NulByte) -> Self {
        PasswordProblem::Nul
    }
}

/// Settings for the session that carries passwords: a failing statement
/// must not be written to the server log with its password in it.
const QUIET_SESSION: &str = "SET log_statement = 'none';\n\
SET log_min_error_statement = 'panic';\n\
SET log_min_duration_statement = -1;\n";

/// Creates the admin and replication roles when missing, then (re)sets
/// their attributes and passwords. Idempotent; for psql's stdin only.
pub fn users_script(admin_password: &str, replication_password: &str) -> Result<String, PasswordProblem> {
    let admin = quote_ident(ADMIN_USER)?;
    let repl = quote_ident(REPLICATION_USER)?;
    let mut sql = String::from(QUIET_SESSION);
    // CREATE ROLE has no IF NOT EXISTS; the DO block carries no secret.
    sql.push_str("DO $dbfleet$\nBEGIN\n");
    for (name, ident) in [(ADMIN_USER, &admin), (REPLICATION_USER, &repl)] {
        sql.push_str(&format!(
            "  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = {}) THEN\n    CREATE ROLE {ident};\n  END IF;\n",
            quote_literal(name)?
        ));
    }
    sql.push_str("END\n$dbfleet$;\n");
    sql.push_str(&format!(
        "ALTER ROLE {admin} WITH SUPERUSER LOGIN PASSWORD {};\n",
        quote_literal(admin_password)?
    ));
    sql.push_str(&format!(
        "ALTER ROLE {repl} WITH NOSUPERUSER NOCREATEDB NOCREATEROLE REPLICATION LOGIN PASSWORD {};\n",
        quote_literal(replication_password)?
    ));
    Ok(sql)
}

/// Creates the physical replication slot of each named node when missing,
/// reserving WAL at once so nothing a new standby needs is recycled.
pub fn slots_script<'a>(nodes: impl IntoIterator<Item = &'a str>) -> Result<String, NulByte> {
    let mut sql = String::new();
    for node in nodes {
        let slot = quote_literal(&slot_name(node))?;
        sql.push_str(&format!(
            "SELECT pg_catalog.pg_create_physical_replication_slot({slot}, true) \
             WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_replication_slots WHERE slot_name = {slot});\n"
        ));
    }
    Ok(sql)
}

/// Rows of one psql result set printed with `-A -t` and the separators
/// above: NULL is `None`.
pub type Rows = Vec<Vec<Option<String>>>;

/// Parses psql's output for a single result set. No output is no rows;
/// otherwise records end with one newline in all and are separated by
/// [`RECORD_SEP`], fields by [`FIELD_SEP`] (values may hold newlines).
pub fn parse_rows(stdout: &str) -> Rows {
    if stdout.is_empty() {
        return Vec::new();
    }
    let body = stdout.strip_suffix('\n').unwrap_or(stdout);
    body.split(RECORD_SEP)
        .map(|record| {
            record
                .split(FIELD_SEP)
                .map(|field| (field != NULL_MARK).then(|| field.to_string()))
                .collect()
        })
        .collect()
}

/// psql's boolean output.
pub fn parse_bool(field: Option<&str>) -> Option<bool> {
    match field? {
        "t" | "true" | "on" => Some(true),
        "f" | "false" | "off" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_double_quotes_and_escape_backslashes() {
        let cases = [
            ("", "''"),
            ("plain", "'plain'"),
            ("it's", "'it''s'"),
            ("''", "''''''"),
            (r"back\slash", r"E'back\\slash'"),
            (r"'\'", r"E'''\\'''"),
            ("semi; DROP TABLE x; --", "'semi; DROP TABLE x; --'"),
            ("$dbfleet$", "'$dbfleet$'"),
            ("new\nline", "'new\nline'"),
            ("ünïcödé", "'ünïcödé'"),
        ];
        for (input, want) in cases {
            assert_eq!(quote_literal(input).unwrap(), want, "{input:?}");
        }
        assert_eq!(quote_literal("a\0b"), Err(NulByte));
    }

    #[test]
    fn identifiers_double_their_quotes() {
        assert_eq!(quote_ident("dbfleet").unwrap(), "\"dbfleet\"");
        assert_eq!(quote_ident("we\"ird").unwrap(), "\"we\"\"ird\"");
        assert_eq!(quote_ident("x\0"), Err(NulByte));
    }

    #[test]
    fn pgpass_escapes_colons_and_backslashes() {
        assert_eq!(pgpass_field(r"a:b\c"), r"a\:b\\c");
        assert_eq!(pgpass("p:w").unwrap(), "*:*:*:dbfleet_repl:p\\:w\n");
        assert_eq!(pgpass("two\nlines"), Err(PasswordProblem::LineBreak));
    }

    #[test]
    fn users_script_quotes_passwords_and_keeps_them_out_of_the_log() {
        let sql = users_script("ad'min", r"re\pl").unwrap();
        assert!(sql.starts_with("SET log_statement = 'none';"), "{sql}");
        assert!(sql.contains("SET log_min_error_statement = 'panic';"));
        assert!(sql.contains("CREATE ROLE \"dbfleet\";"));
        assert!(sql.contains("CREATE ROLE \"dbfleet_repl\";"));
        assert!(sql.contains("ALTER ROLE \"dbfleet\" WITH SUPERUSER LOGIN PASSWORD 'ad''min';"));
        assert!(sql.contains(
            "ALTER ROLE \"dbfleet_repl\" WITH NOSUPERUSER NOCREATEDB NOCREATEROLE REPLICATION LOGIN PASSWORD E're\\\\pl';"
        ));
        // The DO block, whose body is dollar-quoted, holds no password.
        let do_block = &sql[sql.find("DO $dbfleet$").unwrap()..sql.find("END\n$dbfleet$").unwrap()];
        assert!(!do_block.contains("PASSWORD"));
        assert_eq!(users_script("a\0", "b"), Err(PasswordProblem::Nul));
    }

    #[test]
    fn slot_script_is_idempotent_per_node() {
        let sql = slots_script(["pg-main2", "pg-main3"]).unwrap();
        assert_eq!(sql.lines().count(), 2);
        assert!(sql.contains("pg_create_physical_replication_slot('pg_main2', true) WHERE NOT EXISTS"));
        assert!(sql.contains("WHERE slot_name = 'pg_main3');"));
    }

    #[test]
    fn rows_with_nulls_newlines_and_empty_strings() {
        assert_eq!(parse_rows(""), Rows::new());
        assert_eq!(parse_rows("\n"), vec![vec![Some(String::new())]]);
        let out = "1\u{1f}a\nb\u{1e}2\u{1f}\u{2}\n";
        assert_eq!(
            parse_rows(out),
            vec![
                vec![Some("1".into()), Some("a\nb".into())],
                vec![Some("2".into()), None]
            ]
        );
        assert_eq!(parse_bool(Some("t")), Some(true));
        assert_eq!(parse_bool(Some("f")), Some(false));
        assert_eq!(parse_bool(None), None);
    }
}
