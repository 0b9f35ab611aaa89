//! Option files (`my.cnf`): the server's settings in a rendered file, and
//! which of them changed between two renderings.
//!
//! Pure. Follows the option-file syntax of MySQL and MariaDB: `[group]`
//! headers, `key = value` or a bare `key`, `#` and `;` comment lines, `#`
//! comments after an unquoted value, quoted values, `-` and `_` alike in
//! names, the last occurrence of a key winning. `!include` lines are
//! ignored (dbfleet owns the whole file).

use std::collections::BTreeMap;

use crate::engine::ConfigChange;

/// Prefix of the keys of the `[mysqld_safe]` group in the result of
/// [`server_options`]: they matter at the next start only.
pub(crate) const SAFE_PREFIX: &str = "mysqld_safe.";

/// The options the server reads (groups `[mysqld]`, `[server]`,
/// `[mariadb]`, `[mariadbd]` and their version-suffixed forms), plus the
/// `[mysqld_safe]` group's as `mysqld_safe.<key>`. Values are as written,
/// quotes included; a bare key is `ON`.
pub(crate) fn server_options(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut prefix: Option<&str> = None;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with(['#', ';', '!']) {
            continue;
        }
        if let Some(group) = line.strip_prefix('[') {
            let name = group
                .split(']')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase();
            prefix = group_prefix(&name);
            continue;
        }
        let Some(prefix) = prefix else {
            continue;
        };
        let (key, value) = match line.split_once('=') {
            Some((k, v)) => (k, value_part(v)),
            None => (strip_comment(line), "ON".to_string()),
        };
        let key = key.trim().replace('-', "_");
        if key.is_empty() {
            continue;
        }
        out.insert(format!("{prefix}{key}"), value);
    }
    out
}

/// The key prefix for a group's options, or `None` for groups the server
/// does not read (`[client]`, ...).
fn group_prefix(name: &str) -> Option<&'static str> {
    let base = match name.split_once('-') {
        Some((base, version)) if version.starts_with(|c: char| c.is_ascii_digit()) => base,
        _ => name,
    };
    match base {
        "mysqld" | "server" | "mariadb" | "mariadbd" => Some(""),
        "mysqld_safe" | "safe_mysqld" => Some(SAFE_PREFIX),
        _ => None,
    }
}

/// The value after `=`: trimmed; a quoted value up to its closing quote;
/// otherwise up to a `#` comment.
fn value_part(v: &str) -> String {
    let v = v.trim();
    if let Some(q) = v.chars().next().filter(|c| *c == '"' || *c == '\'') {
        let mut escaped = false;
        for (i, c) in v.char_indices().skip(1) {
            match c {
                '\\' if !escaped => escaped = true,
                c if c == q && !escaped => return v[..=i].to_string(),
                _ => escaped = false,
            }
        }
        return v.to_string();
    }
    strip_comment(v).trim().to_string()
}

fn strip_comment(s: &str) -> &str {
    s.split('#').next().unwrap_or_default().trim()
}

/// The settings that differ between two renderings: changed and added
/// keys with their new value, removed keys with `None`, by key.
pub(crate) fn changed_settings(old: &str, new: &str) -> Vec<ConfigChange> {
    let (old, new) = (server_options(old), server_options(new));
    let mut out: Vec<ConfigChange> = new
        .iter()
        .filter(|(k, v)| old.get(*k) != Some(*v))
        .map(|(k, v)| ConfigChange {
            key: k.clone(),
            value: Some(v.clone()),
        })
        .collect();
    out.extend(
        old.keys()
            .filter(|k| !new.contains_key(*k))
            .map(|k| ConfigChange {
                key: k.clone(),
                value: None,
            }),
    );
    out.sort_by(|a, b| a.key.cmp(&b.key));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(key: &str, value: Option<&str>) -> ConfigChange {
        ConfigChange {
            key: key.to_string(),
            value: value.map(str::to_string),
        }
    }

    const RENDERED: &str = "\
# /etc/mysql/my.cnf for db1 (primary) of cluster db.
[client]
port = 3306
socket = /run/mysqld/mysqld.sock

[mysqld_safe]
skip_syslog
log_error = /var/log/mysql/error.log
open_files_limit = 16384

[mysqld]
user = mysql
port = 3306
skip_name_resolve = ON
read_only = OFF

# from [settings]
max_connections = 500
";

    #[test]
    fn server_options_of_a_rendered_file() {
        let o = server_options(RENDERED);
        assert_eq!(o.get("max_connections").map(String::as_str), Some("500"));
        assert_eq!(o.get("port").map(String::as_str), Some("3306"));
        assert_eq!(o.get("socket"), None, "[client] is not the server's");
        assert_eq!(o.get("mysqld_safe.skip_syslog").map(String::as_str), Some("ON"));
        assert_eq!(
            o.get("mysqld_safe.open_files_limit").map(String::as_str),
            Some("16384")
        );
        assert_eq!(o.len(), 8);
    }

    #[test]
    fn syntax_variants() {
        let text = "\
key_outside_a_group = 1
[MYSQLD]
max-connections=10   # dashes, no spaces, a comment
sql_mode = \"STRICT_TRANS_TABLES, NO_ENGINE_SUBSTITUTION\" # quoted, then a comment
init_connect = 'SET NAMES utf8mb4 # not a comment'
escaped = \"a \\\" b\"
; a comment
!includedir /etc/mysql/conf.d/
general_log
[client-server]
port = 1
[mariadb-10.11]
max_connections = 20
[mysqld-8.0]
server_id = 3
[mysqldump]
quick
";
        let o = server_options(text);
        let get = |k: &str| o.get(k).map(String::as_str);
        assert_eq!(get("key_outside_a_group"), None);
        assert_eq!(get("max_connections"), Some("20"), "the last one wins");
        assert_eq!(
            get("sql_mode"),
            Some("\"STRICT_TRANS_TABLES, NO_ENGINE_SUBSTITUTION\"")
        );
        assert_eq!(get("init_connect"), Some("'SET NAMES utf8mb4 # not a comment'"));
        assert_eq!(get("escaped"), Some("\"a \\\" b\""));
        assert_eq!(get("general_log"), Some("ON"));
        assert_eq!(get("port"), None);
        assert_eq!(get("server_id"), Some("3"));
        assert_eq!(get("quick"), None);
    }

    #[test]
    fn changes_between_renderings() {
        let new = RENDERED
            .replace(
                "max_connections = 500",
                "max_connections = 600\ninnodb_log_buffer_size = 32M",
            )
            .replace("read_only = OFF\n", "")
            .replace("open_files_limit = 16384", "open_files_limit = 20000")
            .replace("# from [settings]", "# a changed comment");
        assert_eq!(
            changed_settings(RENDERED, &new),
            [
                change("innodb_log_buffer_size", Some("32M")),
                change("max_connections", Some("600")),
                change("mysqld_safe.open_files_limit", Some("20000")),
                change("read_only", None),
            ]
        );
        assert!(changed_settings(RENDERED, RENDERED).is_empty());
        assert_eq!(
            changed_settings("", "[mysqld]\nmax_connections = 5\n"),
            [change("max_connections", Some("5"))]
        );
    }
}
