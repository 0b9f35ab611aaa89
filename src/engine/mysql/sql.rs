//! SQL text and what comes back from the client: string literals, values
//! for `SET GLOBAL`, option-file values, and the client's error lines.
//!
//! Pure. Statements with values are built here and sent on the client's
//! stdin, never on a command line.

use std::fmt;

/// The first statement of every script that embeds string literals: with
/// a known `sql_mode`, backslash escapes in [`literal`] mean what they say
/// even where the server's mode has NO_BACKSLASH_ESCAPES.
pub(crate) const SESSION_MODE: &str = "SET SESSION sql_mode = 'NO_ENGINE_SUBSTITUTION'";

/// A string literal: single quotes, with `\`, `'`, NUL, CR, LF and Ctrl-Z
/// escaped, so any text (passwords included) comes through unchanged.
pub(crate) fn literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\0' => out.push_str("\\0"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\x1a' => out.push_str("\\Z"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// `'user'@'host'`.
pub(crate) fn account(user: &str, host: &str) -> String {
    format!("{}@{}", literal(user), literal(host))
}

/// Statements as one script for the client's stdin, each ended by `;`.
pub(crate) fn script<S: AsRef<str>>(statements: &[S]) -> String {
    let mut out = String::new();
    for s in std::iter::once(SESSION_MODE).chain(statements.iter().map(AsRef::as_ref)) {
        out.push_str(s);
        out.push_str(";\n");
    }
    out
}

/// Whether `name` can be used bare as a system variable name in
/// `SET GLOBAL name = ...` (`[a-z0-9_]`, not starting with a digit).
pub(crate) fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A value as an option file holds it, without its quotes and with its
/// escapes (`\n`, `\t`, `\r`, `\b`, `\s`, `\\`, `\"`, `\'`) resolved.
pub(crate) fn unquote_option(raw: &str) -> String {
    let raw = raw.trim();
    let inner = match raw.as_bytes() {
        [q @ (b'"' | b'\''), .., last] if raw.len() >= 2 && last == q => &raw[1..raw.len() - 1],
        _ => raw,
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('b') => out.push('\x08'),
            Some('s') => out.push(' '),
            Some(c @ ('\\' | '"' | '\'')) => out.push(c),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// The right-hand side of `SET GLOBAL key = ...` for a value written in an
/// option file: numbers bare, sizes with a suffix (`64M`) as bytes, any
/// other text as a string literal (`ON`, `utf8mb4`, a sql_mode list).
pub(crate) fn set_value(raw: &str) -> String {
    let v = unquote_option(raw);
    if is_number(&v) {
        return v;
    }
    match with_suffix(&v) {
        Some(n) => n.to_string(),
        None => literal(&v),
    }
}

/// An integer or a decimal fraction, as SQL accepts it bare.
pub(crate) fn is_number(v: &str) -> bool {
    let digits = v.strip_prefix(['-', '+']).unwrap_or(v);
    let (int, frac) = match digits.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (digits, None),
    };
    let all_digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    match frac {
        None => !int.is_empty() && all_digits(int),
        Some(f) => (!int.is_empty() || !f.is_empty()) && all_digits(int) && all_digits(f),
    }
}

/// `64M` and the like (K, M, G, T, P, E; either case) in bytes, as the
/// server reads them in option files; `None` for anything else or on
/// overflow.
fn with_suffix(v: &str) -> Option<u64> {
    let (digits, suffix) = v.split_at(v.len().checked_sub(1)?);
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let power = "KMGTPE".find(suffix.to_ascii_uppercase().as_str())? as u32 + 1;
    digits
        .parse::<u64>()
        .ok()?
        .checked_mul(1024u64.checked_pow(power)?)
}

/// An error the server (or the client) reported, as the client printed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SqlError {
    /// The error number, e.g. 1238; `None` when the client printed no
    /// `ERROR n (state)` line.
    pub code: Option<u32>,
    /// The engine's message as printed, e.g.
    /// `ERROR 1238 (HY000): Variable 'x' is a read only variable`
    /// (the client's "at line N" of our script left out).
    pub message: String,
}

/// ER_UNKNOWN_SYSTEM_VARIABLE
pub(crate) const UNKNOWN_VARIABLE: u32 = 1193;
/// ER_LOCAL_VARIABLE: a session-only variable with SET GLOBAL.
pub(crate) const SESSION_ONLY: u32 = 1228;
/// ER_WRONG_TYPE_FOR_VAR
pub(crate) const WRONG_TYPE: u32 = 1232;
/// ER_INCORRECT_GLOBAL_LOCAL_VAR: "is a read only variable".
pub(crate) const READ_ONLY: u32 = 1238;

impl SqlError {
    /// The error in a client's stderr: its first `ERROR` line, or the
    /// whole text when there is none.
    pub(crate) fn parse(stderr: &str) -> SqlError {
        for line in stderr.lines() {
            let Some(rest) = line.trim().strip_prefix("ERROR ") else {
                continue;
            };
            let code_end = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
            let code = rest[..code_end].parse::<u32>().ok();
            let message = match line.trim().split_once(" at line ") {
                Some((head, tail)) => match tail.split_once(": ") {
                    Some((n, msg)) if n.chars().all(|c| c.is_ascii_digit()) => format!("{head}: {msg}"),
                    _ => line.trim().to_string(),
                },
                None => line.trim().to_string(),
            };
            return SqlError { code, message };
        }
        SqlError {
            code: None,
            message: stderr.trim().to_string(),
        }
    }

    pub(crate) fn is(&self, code: u32) -> bool {
        self.code == Some(code)
    }
}

impl fmt::Display for SqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// The `[ERROR]` lines of a configuration check, without timestamps and
/// MariaDB's "Buffered error: " prefix, each once.
pub(crate) fn config_errors(stderr: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in stderr.lines() {
        let Some(at) = line.find("[ERROR]") else {
            continue;
        };
        let mut msg = line[at + "[ERROR]".len()..].trim();
        // MySQL: "[ERROR] [MY-000067] [Server] unknown variable ..."
        while let Some(rest) = msg.strip_prefix('[') {
            match rest.split_once(']') {
                Some((_, tail)) => msg = tail.trim_start(),
                None => break,
            }
        }
        let msg = msg.strip_prefix("Buffered error: ").unwrap_or(msg).to_string();
        if !msg.is_empty() && !out.contains(&msg) {
            out.push(msg);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_escape_everything_that_could_end_them() {
        assert_eq!(literal("plain"), "'plain'");
        assert_eq!(literal(""), "''");
        assert_eq!(literal("it's"), "'it\\'s'");
        assert_eq!(literal("back\\slash"), "'back\\\\slash'");
        assert_eq!(literal("a\nb\rc\0d\x1ae"), "'a\\nb\\rc\\0d\\Ze'");
        assert_eq!(literal("'; DROP USER root; --"), "'\\'; DROP USER root; --'");
        assert_eq!(literal("ünï\"code`"), "'ünï\"code`'");
    }

    #[test]
    fn accounts_and_scripts() {
        assert_eq!(account("dbfleet", "%"), "'dbfleet'@'%'");
        assert_eq!(
            script(&["SELECT 1", "SELECT 2"]),
            "SET SESSION sql_mode = 'NO_ENGINE_SUBSTITUTION';\nSELECT 1;\nSELECT 2;\n"
        );
    }

    #[test]
    fn variable_names() {
        assert!(is_variable_name("max_connections"));
        assert!(is_variable_name("innodb_buffer_pool_size"));
        assert!(!is_variable_name("mysqld_safe.open_files_limit"));
        assert!(!is_variable_name("max connections"));
        assert!(!is_variable_name("x`; DROP"));
        assert!(!is_variable_name(""));
        assert!(!is_variable_name("1abc"));
    }

    #[test]
    fn option_values_unquoted() {
        assert_eq!(unquote_option("utf8mb4"), "utf8mb4");
        assert_eq!(unquote_option(" \"a b\" "), "a b");
        assert_eq!(unquote_option("'it''s'"), "it''s");
        assert_eq!(unquote_option("\"say \\\"hi\\\"\""), "say \"hi\"");
        assert_eq!(unquote_option("C:\\\\dir"), "C:\\dir");
        assert_eq!(unquote_option("a\\sb\\tc"), "a b\tc");
        assert_eq!(unquote_option("\""), "\"");
        assert_eq!(unquote_option("trailing\\"), "trailing\\");
    }

    #[test]
    fn set_values() {
        let table = [
            ("500", "500"),
            ("-1", "-1"),
            ("0.5", "0.5"),
            (".5", ".5"),
            ("64M", "67108864"),
            ("1G", "1073741824"),
            ("16k", "16384"),
            ("2E", "2305843009213693952"),
            ("99999999999E", "'99999999999E'"),
            ("ON", "'ON'"),
            ("utf8mb4", "'utf8mb4'"),
            (
                "STRICT_TRANS_TABLES,NO_ENGINE_SUBSTITUTION",
                "'STRICT_TRANS_TABLES,NO_ENGINE_SUBSTITUTION'",
            ),
            ("\"a 'b'\"", "'a \\'b\\''"),
            ("M", "'M'"),
            ("1.2.3", "'1.2.3'"),
            ("", "''"),
            ("abc", "'abc'"),
        ];
        for (raw, want) in table {
            assert_eq!(set_value(raw), want, "{raw}");
        }
    }

    #[test]
    fn client_errors_from_the_lab() {
        // Captured from mariadb 10.11 in batch mode, with its echo of the statement.
        let stderr = "--------------\nSET GLOBAL innodb_log_buffer_size = 1000000\n--------------\n\n\
                      ERROR 1238 (HY000) at line 2: Variable 'innodb_log_buffer_size' is a read only variable\n";
        let e = SqlError::parse(stderr);
        assert_eq!(e.code, Some(READ_ONLY));
        assert_eq!(
            e.message,
            "ERROR 1238 (HY000): Variable 'innodb_log_buffer_size' is a read only variable"
        );
        let e = SqlError::parse("ERROR 1193 (HY000) at line 1: Unknown system variable 'foo_bar'\n");
        assert!(e.is(UNKNOWN_VARIABLE));
        let e = SqlError::parse(
            "ERROR 2002 (HY000): Can't connect to local server through socket '/run/mysqld/mysqld.sock' (2)\n",
        );
        assert_eq!(e.code, Some(2002));
        assert_eq!(
            e.message,
            "ERROR 2002 (HY000): Can't connect to local server through socket '/run/mysqld/mysqld.sock' (2)"
        );
        let e = SqlError::parse("mariadb: unknown option '--bogus'\n");
        assert_eq!(e.code, None);
        assert_eq!(e.message, "mariadb: unknown option '--bogus'");
    }

    #[test]
    fn config_check_errors() {
        let mariadb = "2026-11-22  4:56:18 0 [Warning] Could not increase number of max_open_files to more than 20000 (request: 32184)\n\
            2026-11-22  4:56:18 0 [ERROR] Buffered error: Unknown suffix 'a' used for variable 'max_connections' (value 'abc'). Legal suffix characters are: K, M, G, T, P, E\n\
            2026-11-22  4:56:18 0 [ERROR] Buffered error: mariadbd: Error while setting value 'abc' to 'max_connections'\n\
            2026-11-22  4:56:18 0 [ERROR] Unknown suffix 'a' used for variable 'max_connections' (value 'abc'). Legal suffix characters are: K, M, G, T, P, E\n\
            2026-11-22  4:56:18 0 [ERROR] mariadbd: Error while setting value 'abc' to 'max_connections'\n";
        assert_eq!(
            config_errors(mariadb),
            [
                "Unknown suffix 'a' used for variable 'max_connections' (value 'abc'). Legal suffix characters are: K, M, G, T, P, E",
                "mariadbd: Error while setting value 'abc' to 'max_connections'"
            ]
        );
        let mysql =
            "2026-11-22T04:56:18.123456Z 0 [ERROR] [MY-000067] [Server] unknown variable 'foo_bar=1'.\n\
                     2026-11-22T04:56:18.123500Z 0 [ERROR] [MY-010119] [Server] Aborting\n";
        assert_eq!(
            config_errors(mysql),
            ["unknown variable 'foo_bar=1'.", "Aborting"]
        );
        assert!(config_errors("all fine\n").is_empty());
    }
}
