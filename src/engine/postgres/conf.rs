//! Reading PostgreSQL's configuration files: `postgresql.conf` settings,
//! `pg_hba.conf` rules and libpq connection strings. Pure.

use std::collections::BTreeMap;

use crate::engine::ConfigChange;

/// Pseudo key [`changed_settings`] reports for a changed `pg_hba.conf`
/// (a reload applies it).
pub const HBA_KEY: &str = "pg_hba.conf";
/// Pseudo key for a change that touches no setting PostgreSQL parses out
/// of the file the way we do (a line we cannot read, a moved include); a
/// reload applies it and the server's own check judges it.
pub const FILE_KEY: &str = "(configuration file)";

/// One setting line: the value as written and as PostgreSQL reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// Value as written (quotes kept).
    pub raw: String,
    /// Value as PostgreSQL reads it (quotes and escapes resolved).
    pub value: String,
}

/// What a `postgresql.conf` says: settings by lower-case name (the last
/// line wins, as for PostgreSQL), and the lines that are not settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfFile {
    pub settings: BTreeMap<String, Setting>,
    pub unreadable: Vec<String>,
}

/// Parses `postgresql.conf` syntax: `name [=] value`, `#` comments outside
/// quotes, single-quoted values with `''` or `\'` inside. `include*`
/// directives are kept as settings of that name.
pub fn parse_conf(text: &str) -> ConfFile {
    let mut file = ConfFile::default();
    for line in text.lines() {
        let line = strip_comment(line).trim();
        if line.is_empty() {
            continue;
        }
        match parse_line(line) {
            Some((name, setting)) => {
                file.settings.insert(name, setting);
            }
            None => file.unreadable.push(line.to_string()),
        }
    }
    file
}

fn strip_comment(line: &str) -> &str {
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '\'' => quoted = !quoted,
            '#' if !quoted => return &line[..i],
            _ => {}
        }
    }
    line
}

fn parse_line(line: &str) -> Option<(String, Setting)> {
    let name_end = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '$')))
        .unwrap_or(line.len());
    let name = &line[..name_end];
    if !name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        return None;
    }
    let rest = line[name_end..].trim_start();
    let rest = rest.strip_prefix('=').unwrap_or(rest).trim_start();
    if rest.is_empty() {
        return None;
    }
    let value = match rest.strip_prefix('\'') {
        Some(quoted) => unquote(quoted)?,
        None if rest.contains(char::is_whitespace) => return None,
        None => rest.to_string(),
    };
    Some((
        name.to_ascii_lowercase(),
        Setting {
            raw: rest.to_string(),
            value,
        },
    ))
}

/// The inside of a single-quoted value (after the opening quote), which
/// must end at the closing quote.
fn unquote(s: &str) -> Option<String> {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let next = chars.next()?;
                out.push(match next {
                    'n' => '\n',
                    't' => '\t',
                    'r' => '\r',
                    'b' => '\u{8}',
                    'f' => '\u{c}',
                    other => other,
                });
            }
            '\'' => {
                let rest = chars.as_str();
                if let Some(after) = rest.strip_prefix('\'') {
                    out.push('\'');
                    chars = after.chars();
                } else if rest.trim().is_empty() {
                    return Some(out);
                } else {
                    return None;
                }
            }
            c => out.push(c),
        }
    }
    None
}

/// Settings a hot standby needs at least as high as its primary's (it
/// refuses to run otherwise), with PostgreSQL's defaults.
const STANDBY_MINIMUMS: [(&str, i64); 5] = [
    ("max_connections", 100),
    ("max_prepared_transactions", 0),
    ("max_locks_per_transaction", 64),
    ("max_wal_senders", 10),
    ("max_worker_processes", 8),
];

/// Whether `new` lowers one of [`STANDBY_MINIMUMS`] from `old`: then the
/// primary must take the change before its standbys.
pub fn lowers_standby_minimum(old: &str, new: &str) -> bool {
    let (old, new) = (parse_conf(old), parse_conf(new));
    let value = |file: &ConfFile, key: &str, default: i64| {
        file.settings
            .get(key)
            .map_or(Some(default), |s| s.value.trim().parse::<i64>().ok())
    };
    STANDBY_MINIMUMS.iter().any(|(key, default)| {
        matches!(
            (value(&old, key, *default), value(&new, key, *default)),
            (Some(before), Some(after)) if after < before
        )
    })
}

/// The difference between two renderings of a PostgreSQL configuration
/// file, sorted by key.
///
/// For `postgresql.conf`: one change per setting whose value (as PostgreSQL
/// reads it) differs, `None` for a removed one, plus [`FILE_KEY`] when only
/// lines we cannot read changed. A `pg_hba.conf` (recognised by its rules)
/// that changed gives [`HBA_KEY`] alone.
pub fn changed_settings(old: &str, new: &str) -> Vec<ConfigChange> {
    if is_hba(old) || is_hba(new) {
        return if effective_lines(old) == effective_lines(new) {
            Vec::new()
        } else {
            vec![ConfigChange {
                key: HBA_KEY.to_string(),
                value: None,
            }]
        };
    }
    let (old, new) = (parse_conf(old), parse_conf(new));
    let mut changes: Vec<ConfigChange> = Vec::new();
    for (key, setting) in &new.settings {
        if old.settings.get(key).map(|s| &s.value) != Some(&setting.value) {
            changes.push(ConfigChange {
                key: key.clone(),
                value: Some(setting.raw.clone()),
            });
        }
    }
    for key in old.settings.keys() {
        if !new.settings.contains_key(key) {
            changes.push(ConfigChange {
                key: key.clone(),
                value: None,
            });
        }
    }
    changes.sort_by(|a, b| a.key.cmp(&b.key));
    if changes.is_empty() && old.unreadable != new.unreadable {
        changes.push(ConfigChange {
            key: FILE_KEY.to_string(),
            value: None,
        });
    }
    changes
}

/// Connection types that start a `pg_hba.conf` rule.
const HBA_TYPES: [&str; 6] = [
    "local",
    "host",
    "hostssl",
    "hostnossl",
    "hostgssenc",
    "hostnogssenc",
];

/// A file whose non-comment lines are all `pg_hba.conf` rules (and at
/// least one).
fn is_hba(text: &str) -> bool {
    let lines = effective_lines(text);
    !lines.is_empty()
        && lines.iter().all(|l| {
            let first = l.split(' ').next().unwrap_or_default();
            HBA_TYPES.contains(&first) || first.starts_with("include")
        })
        && lines.iter().any(|l| l.split(' ').count() >= 4)
}

/// Lines without comments, with runs of blanks as one space.
fn effective_lines(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| strip_comment(l).split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| !l.is_empty())
        .collect()
}

/// The `keyword=value` pairs of a libpq connection string (values may be
/// single-quoted with `\` escapes). Unparseable input gives what was read.
pub fn parse_conninfo(s: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut key = String::new();
        while let Some(c) = chars.next_if(|c| *c != '=' && !c.is_whitespace()) {
            key.push(c);
        }
        if key.is_empty() {
            break;
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.next_if_eq(&'=').is_none() {
            break;
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut value = String::new();
        if chars.next_if_eq(&'\'').is_some() {
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '\'' => break,
                    c => value.push(c),
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                if c == '\\' {
                    value.extend(chars.next());
                } else {
                    value.push(c);
                }
            }
        }
        out.insert(key, value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(key: &str, value: Option<&str>) -> ConfigChange {
        ConfigChange {
            key: key.into(),
            value: value.map(Into::into),
        }
    }

    #[test]
    fn parses_the_forms_postgresql_accepts() {
        let f = parse_conf(
            "# comment\n\
             data_directory = '/var/lib/postgresql/15/main'   # trailing\n\
             port=5432\n\
             Work_Mem 4MB\n\
             log_line_prefix = '%m [%p] # not a comment'\n\
             quoted = 'it''s \\'here\\''\n\
             shared_buffers = '64MB'\n\
             shared_buffers = '128MB'\n\
             plpgsql.extra_warnings = 'all'\n\
             include_dir 'conf.d'\n\
             this is not a setting\n\
             = 3\n",
        );
        let v = |k: &str| f.settings.get(k).map(|s| s.value.as_str());
        assert_eq!(v("data_directory"), Some("/var/lib/postgresql/15/main"));
        assert_eq!(v("port"), Some("5432"));
        assert_eq!(v("work_mem"), Some("4MB"));
        assert_eq!(v("log_line_prefix"), Some("%m [%p] # not a comment"));
        assert_eq!(v("quoted"), Some("it's 'here'"));
        assert_eq!(v("shared_buffers"), Some("128MB"), "the last line wins");
        assert_eq!(f.settings["shared_buffers"].raw, "'128MB'");
        assert_eq!(v("plpgsql.extra_warnings"), Some("all"));
        assert_eq!(v("include_dir"), Some("conf.d"));
        assert_eq!(f.unreadable, vec!["this is not a setting", "= 3"]);
    }

    #[test]
    fn changed_settings_compare_values_not_spelling() {
        let old = "port = 5432\nwork_mem = '4MB'\nshared_buffers = 64MB\nmax_connections = 50\n# x\n";
        let new = "port = 5432\nwork_mem = '8MB'\nshared_buffers = '64MB' # same value\n\
                   wal_keep_size = '1GB'\n";
        assert_eq!(
            changed_settings(old, new),
            vec![
                change("max_connections", None),
                change("wal_keep_size", Some("'1GB'")),
                change("work_mem", Some("'8MB'")),
            ]
        );
        assert_eq!(changed_settings(old, old), vec![]);
        assert_eq!(changed_settings(old, &format!("# only a comment\n{old}")), vec![]);
    }

    #[test]
    fn unreadable_lines_are_a_file_change() {
        assert_eq!(
            changed_settings("port = 1\n", "port = 1\nwork_mem = = 3\n"),
            vec![change(FILE_KEY, None)]
        );
    }

    #[test]
    fn hba_changes_are_one_pseudo_key() {
        let old = "# TYPE DATABASE USER ADDRESS METHOD\nlocal all postgres peer\n\
                   host all all 10.0.0.0/8 scram-sha-256\n";
        let respaced = "local   all   postgres   peer\nhost all all 10.0.0.0/8   scram-sha-256 # c\n";
        let new = format!("{old}host all all 192.0.2.0/24 scram-sha-256\n");
        assert_eq!(changed_settings(old, respaced), vec![]);
        assert_eq!(changed_settings(old, &new), vec![change(HBA_KEY, None)]);
    }

    #[test]
    fn conninfo_pairs() {
        let c = parse_conninfo(
            "host=10.231.0.11 port = 5432 user=dbfleet_repl passfile='/var/lib/postgresql/.pgpass' \
             application_name='pg 2' options='-c x=\\'y\\''",
        );
        assert_eq!(c["host"], "10.231.0.11");
        assert_eq!(c["port"], "5432");
        assert_eq!(c["passfile"], "/var/lib/postgresql/.pgpass");
        assert_eq!(c["application_name"], "pg 2");
        assert_eq!(c["options"], "-c x='y'");
        assert!(parse_conninfo("").is_empty());
    }

    #[test]
    fn lowering_a_standby_minimum_goes_to_the_primary_first() {
        let base = "port = 5432\nwork_mem = '4MB'\n";
        let with = |extra: &str| format!("{base}{extra}\n");
        // Lowered from the default or from a set value: primary first.
        assert!(lowers_standby_minimum(base, &with("max_connections = 50")));
        assert!(lowers_standby_minimum(
            &with("max_wal_senders = 20"),
            &with("max_wal_senders = '12'")
        ));
        // Raised, unchanged, back to a higher default, or other settings: replicas first.
        assert!(!lowers_standby_minimum(base, &with("max_connections = 200")));
        assert!(!lowers_standby_minimum(&with("max_connections = 50"), base));
        assert!(!lowers_standby_minimum(base, &with("work_mem = '1MB'")));
        assert!(!lowers_standby_minimum(base, base));
    }
}
