//! Redis-family configuration text, pure: the argument splitter the server
//! itself uses, the settings that differ between two renderings, and the
//! secrets file.

use std::collections::BTreeMap;

use crate::engine::ConfigChange;

/// Keys that name other files rather than settings: never compared.
const IGNORED: &[&str] = &["include"];

/// Splits a configuration line or value into words the way the server does
/// (`sdssplitargs`): blanks separate words; `"..."` understands `\n`, `\r`,
/// `\t`, `\b`, `\a`, `\xHH` and `\<char>`; `'...'` understands only `\'`.
/// A closing quote must be followed by a blank or the end.
///
/// `None` for unbalanced quotes, as the server rejects them.
pub fn split_args(line: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_ascii_whitespace()).is_some() {}
        if chars.peek().is_none() {
            return Some(words);
        }
        let mut word = String::new();
        loop {
            match chars.next() {
                None => break,
                Some(c) if c.is_ascii_whitespace() => break,
                Some('"') => {
                    double_quoted(&mut chars, &mut word)?;
                    if chars.peek().is_some_and(|c| !c.is_ascii_whitespace()) {
                        return None;
                    }
                }
                Some('\'') => {
                    single_quoted(&mut chars, &mut word)?;
                    if chars.peek().is_some_and(|c| !c.is_ascii_whitespace()) {
                        return None;
                    }
                }
                Some(c) => word.push(c),
            }
        }
        words.push(word);
    }
}

fn double_quoted(chars: &mut std::iter::Peekable<std::str::Chars<'_>>, word: &mut String) -> Option<()> {
    loop {
        match chars.next()? {
            '"' => return Some(()),
            '\\' => {
                let c = chars.next()?;
                match c {
                    'n' => word.push('\n'),
                    'r' => word.push('\r'),
                    't' => word.push('\t'),
                    'b' => word.push('\u{8}'),
                    'a' => word.push('\u{7}'),
                    'x' => {
                        let hex: String = chars.clone().take(2).collect();
                        match u8::from_str_radix(&hex, 16) {
                            Ok(byte) if hex.len() == 2 => {
                                chars.nth(1);
                                word.push(char::from(byte));
                            }
                            _ => word.push('x'),
                        }
                    }
                    other => word.push(other),
                }
            }
            c => word.push(c),
        }
    }
}

fn single_quoted(chars: &mut std::iter::Peekable<std::str::Chars<'_>>, word: &mut String) -> Option<()> {
    loop {
        match chars.next()? {
            '\'' => return Some(()),
            '\\' if chars.peek() == Some(&'\'') => {
                chars.next();
                word.push('\'');
            }
            c => word.push(c),
        }
    }
}

/// One key of a configuration file: every line that sets it, in order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Entry {
    /// The text after the key on each line, trimmed.
    raw: Vec<String>,
    /// The words of each line after the key (or the raw text when it does
    /// not split), for comparison: quoting and spacing do not count.
    words: Vec<Vec<String>>,
}

/// The settings of a configuration file: lower-cased key -> its lines.
fn parse(text: &str) -> BTreeMap<String, Entry> {
    let mut out: BTreeMap<String, Entry> = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, rest) = match line.split_once(|c: char| c.is_ascii_whitespace()) {
            Some((k, r)) => (k, r.trim()),
            None => (line, ""),
        };
        let key = key.to_ascii_lowercase();
        if IGNORED.contains(&key.as_str()) {
            continue;
        }
        let words = split_args(rest).unwrap_or_else(|| vec![rest.to_string()]);
        let entry = out.entry(key).or_default();
        entry.raw.push(rest.to_string());
        entry.words.push(words);
    }
    out
}

/// The settings that differ between two renderings of a node's config
/// file, in key order. A key set on several lines (`save`,
/// `client-output-buffer-limit`, KeyDB's `replicaof` per peer) is one
/// change whose value is every line's value joined by a space, which is
/// also the form `CONFIG SET` takes. `include` lines are ignored: the
/// included secrets file is not a setting.
pub fn changed_settings(old: &str, new: &str) -> Vec<ConfigChange> {
    let old = parse(old);
    let new = parse(new);
    let mut keys: Vec<&String> = old.keys().chain(new.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter_map(|key| match (old.get(key), new.get(key)) {
            (Some(a), Some(b)) if a.words == b.words => None,
            (_, Some(b)) => Some(ConfigChange {
                key: key.clone(),
                value: Some(b.raw.join(" ")),
            }),
            (Some(_), None) => Some(ConfigChange {
                key: key.clone(),
                value: None,
            }),
            (None, None) => None,
        })
        .collect()
}

/// The argument `CONFIG SET` takes for a value as written in the file:
/// its words joined by single spaces (`"3600 1" ` and `3600 1` alike; `""`
/// is the empty string).
pub fn config_set_value(raw: &str) -> String {
    split_args(raw).map_or_else(|| raw.to_string(), |words| words.join(" "))
}

/// A value for the configuration file: bare when it is made of safe
/// characters, otherwise double-quoted with `\` and `"` escaped.
pub fn quote_value(value: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "_.,:/+=@-!%^*()[]{}<>?~".contains(c);
    if !value.is_empty() && value.chars().all(safe) {
        value.to_string()
    } else {
        format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

/// Why a password cannot go into the secrets file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordProblem {
    /// An empty `requirepass` turns authentication off.
    Empty,
    /// A control character would end the line or confuse the client's
    /// password handover.
    ControlCharacter,
}

impl std::fmt::Display for PasswordProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PasswordProblem::Empty => {
                "the admin password is empty (an empty requirepass turns authentication off)"
            }
            PasswordProblem::ControlCharacter => "the admin password holds a control character",
        })
    }
}

/// The secrets file the rendered config `include`s. The cluster's admin
/// password is both `requirepass` (what clients, dbfleet included, give)
/// and `masterauth` (what a replica gives its primary): one password per
/// cluster, so any node can replicate from any other after a failover.
pub fn secrets_content(password: &str) -> Result<String, PasswordProblem> {
    if password.is_empty() {
        return Err(PasswordProblem::Empty);
    }
    if password.chars().any(char::is_control) {
        return Err(PasswordProblem::ControlCharacter);
    }
    let pw = quote_value(password);
    Ok(format!(
        "# Written by dbfleet. The cluster's admin password: requirepass for clients,\n\
         # masterauth for replicas connecting to their primary.\n\
         requirepass {pw}\n\
         masterauth {pw}\n"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        split_args(s).unwrap_or_else(|| panic!("{s:?} does not split"))
    }

    #[test]
    fn splits_like_the_server() {
        let table: &[(&str, &[&str])] = &[
            ("", &[]),
            ("   ", &[]),
            ("3600 1 300 100", &["3600", "1", "300", "100"]),
            ("  allkeys-lru  ", &["allkeys-lru"]),
            (r#""""#, &[""]),
            (r#""a b" c"#, &["a b", "c"]),
            (r#""q\"uote\\d""#, &["q\"uote\\d"]),
            (r#""tab\there\x41""#, &["tab\there\u{41}"]),
            (r#"'it\'s' "x""#, &["it's", "x"]),
            (r#"ab"cd ef""#, &["abcd ef"]),
        ];
        for (line, expected) in table {
            assert_eq!(words(line), *expected, "{line:?}");
        }
    }

    #[test]
    fn unbalanced_or_glued_quotes_do_not_split() {
        for line in [r#""open"#, "'open", r#""a"b"#, "'a'b"] {
            assert_eq!(split_args(line), None, "{line:?}");
        }
    }

    const OLD: &str = "\
# comment
bind 10.0.0.1 127.0.0.1
port 6379
maxmemory 64mb
save 3600 1
save 300 100
appendonly no
include /etc/redis/dbfleet-secrets.conf
";

    fn change(key: &str, value: Option<&str>) -> ConfigChange {
        ConfigChange {
            key: key.into(),
            value: value.map(Into::into),
        }
    }

    #[test]
    fn same_text_has_no_changes() {
        assert_eq!(changed_settings(OLD, OLD), vec![]);
    }

    #[test]
    fn spacing_quoting_case_and_comments_are_not_changes() {
        let new = "\
BIND 10.0.0.1   127.0.0.1
port \"6379\"
# another comment
maxmemory '64mb'
save 3600 1
save 300 100
appendonly no
include /elsewhere.conf
";
        assert_eq!(changed_settings(OLD, new), vec![]);
    }

    #[test]
    fn changed_added_and_removed_keys_in_key_order() {
        let new = "\
bind 10.0.0.1 127.0.0.1
port 6380
save 60 10000
appendonly no
maxmemory-policy allkeys-lru
include /etc/redis/dbfleet-secrets.conf
";
        assert_eq!(
            changed_settings(OLD, new),
            vec![
                change("maxmemory", None),
                change("maxmemory-policy", Some("allkeys-lru")),
                change("port", Some("6380")),
                change("save", Some("60 10000")),
            ]
        );
    }

    #[test]
    fn repeated_keys_join_their_lines() {
        let old = "replicaof 10.0.0.2 6379\n";
        let new = "replicaof 10.0.0.2 6379\nreplicaof 10.0.0.3 6379\n";
        assert_eq!(
            changed_settings(old, new),
            vec![change("replicaof", Some("10.0.0.2 6379 10.0.0.3 6379"))]
        );
    }

    #[test]
    fn config_set_value_takes_words() {
        assert_eq!(config_set_value("3600 1 300 100"), "3600 1 300 100");
        assert_eq!(config_set_value("\"\""), "");
        assert_eq!(config_set_value("\"a b\""), "a b");
        assert_eq!(config_set_value("64mb"), "64mb");
    }

    #[test]
    fn secrets_file_quotes_what_needs_quoting() {
        assert_eq!(
            secrets_content("s3cret-Pw").unwrap(),
            "# Written by dbfleet. The cluster's admin password: requirepass for clients,\n\
             # masterauth for replicas connecting to their primary.\n\
             requirepass s3cret-Pw\nmasterauth s3cret-Pw\n"
        );
        let text = secrets_content(r#"a b"c\d#e'f"#).unwrap();
        let line = text.lines().find(|l| l.starts_with("requirepass")).unwrap();
        assert_eq!(line, r#"requirepass "a b\"c\\d#e'f""#);
        // The server reads back exactly the password.
        assert_eq!(words(line), vec!["requirepass", r#"a b"c\d#e'f"#]);
    }

    #[test]
    fn unusable_passwords_are_refused() {
        assert_eq!(secrets_content(""), Err(PasswordProblem::Empty));
        assert_eq!(secrets_content("a\nb"), Err(PasswordProblem::ControlCharacter));
    }
}
