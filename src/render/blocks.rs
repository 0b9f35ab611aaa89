//! Which block tag a template leaves open.
//!
//! minijinja reports a block that is never closed (`{% if %}` without
//! `{% endif %}`) at the end of the file, where it noticed. Users need the tag
//! that opened it: this small scan pairs the block tags of the default
//! syntax (`{% ... %}`, comments `{# ... #}`, expressions `{{ ... }}`,
//! `{% raw %}` sections) and returns the innermost one still open at the end.

use std::ops::Range;

/// Tags that open a block closed by `end<tag>`. `set` opens one only in its
/// block form (`{% set x %}...{% endset %}`, no `=`).
const OPENERS: &[&str] = &[
    "if",
    "for",
    "macro",
    "call",
    "filter",
    "block",
    "with",
    "autoescape",
    "set",
];

/// A block tag that is never closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unclosed {
    /// Its keyword, e.g. `if`.
    pub keyword: String,
    /// Byte range of the whole opening tag, `{%` to `%}`.
    pub span: Range<usize>,
}

/// The innermost block tag of `source` left open at its end, when the block
/// tags otherwise pair up. `None` when every block is closed, or when the
/// tags are out of order in a way minijinja reports at the offending tag.
pub fn unclosed_block(source: &str) -> Option<Unclosed> {
    let mut open: Vec<Unclosed> = Vec::new();
    let mut at = 0;
    while let Some(found) = source[at..].find('{') {
        let start = at + found;
        let rest = &source[start..];
        if rest.starts_with("{#") {
            at = start + rest.find("#}").map_or(rest.len(), |i| i + 2);
        } else if rest.starts_with("{{") {
            at = start + tag_end(rest, "}}").unwrap_or(rest.len());
        } else if rest.starts_with("{%") {
            // An unfinished tag: minijinja names it itself.
            let end = start + tag_end(rest, "%}")?;
            let inner = source[start + 2..end - 2]
                .trim_start_matches(['-', '+'])
                .trim_end_matches(['-', '+'])
                .trim();
            let keyword: String = inner
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            at = end;
            if keyword == "raw" {
                at = skip_raw(source, end);
            } else if let Some(closed) = keyword.strip_prefix("end") {
                if open.pop()?.keyword != closed {
                    return None;
                }
            } else if opens_block(&keyword, inner) {
                open.push(Unclosed {
                    keyword,
                    span: start..end,
                });
            }
        } else {
            at = start + 1;
        }
    }
    open.pop()
}

fn opens_block(keyword: &str, inner: &str) -> bool {
    OPENERS.contains(&keyword) && (keyword != "set" || !has_assignment(inner))
}

/// Whether a `set` tag assigns (`=` outside strings, not part of `==`, `!=`,
/// `<=` or `>=`).
fn has_assignment(inner: &str) -> bool {
    let bytes = inner.as_bytes();
    let mut quote = None;
    for (i, &b) in bytes.iter().enumerate() {
        match (quote, b) {
            (Some(q), _) if b == q && bytes.get(i.wrapping_sub(1)) != Some(&b'\\') => quote = None,
            (Some(_), _) => {}
            (None, b'\'' | b'"') => quote = Some(b),
            (None, b'=') => {
                let before = i.checked_sub(1).map(|j| bytes[j]);
                let after = bytes.get(i + 1).copied();
                if !matches!(before, Some(b'=' | b'!' | b'<' | b'>')) && after != Some(b'=') {
                    return true;
                }
            }
            _ => {}
        }
    }
    false
}

/// Byte offset just past the `close` delimiter of the tag starting `rest`,
/// skipping quoted strings.
fn tag_end(rest: &str, close: &str) -> Option<usize> {
    let bytes = rest.as_bytes();
    let mut quote = None;
    let mut i = 2;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(_) if b == b'\\' => i += 1,
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None if b == b'\'' || b == b'"' => quote = Some(b),
            None if rest[i..].starts_with(close) => return Some(i + close.len()),
            None => {}
        }
        i += 1;
    }
    None
}

/// Past the `{% endraw %}` that closes a raw section starting at `from`.
fn skip_raw(source: &str, from: usize) -> usize {
    let mut at = from;
    while let Some(found) = source[at..].find("{%") {
        let start = at + found;
        let Some(len) = tag_end(&source[start..], "%}") else {
            return source.len();
        };
        let inner = source[start + 2..start + len - 2].trim_matches(['-', '+', ' ', '\t', '\n', '\r']);
        if inner == "endraw" {
            return start + len;
        }
        at = start + len;
    }
    source.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(source: &str) -> Option<(String, &str)> {
        unclosed_block(source).map(|u| (u.keyword, &source[u.span]))
    }

    #[test]
    fn finds_the_tag_left_open() {
        let src = "a\n{% if x %}\n{% if y %}b{% endif %}\n{% for i in l %}{{ i }}{% endfor %}\n";
        assert_eq!(open(src), Some(("if".into(), "{% if x %}")));
    }

    #[test]
    fn the_innermost_of_several() {
        let src = "{%- for i in l -%}\n{% with a = 1 %}\n{% if a %}\n";
        assert_eq!(open(src), Some(("if".into(), "{% if a %}")));
    }

    #[test]
    fn every_block_closed_is_none() {
        let src = "{% if a %}{% elif b %}{% else %}{% endif %}{% set x = 1 %}{% set y %}z{% endset %}\
                   {% macro m() %}{% endmacro %}{% call m() %}{% endcall %}{% filter upper %}{% endfilter %}";
        assert_eq!(open(src), None);
    }

    #[test]
    fn strings_comments_and_raw_sections_hide_tags() {
        let src = "{# {% if a %} #}{{ \"{% if b %}\" }}{% raw %}{% if c %}{% endraw %}\
                   {% if d == '%}' %}{% set e = f == g %}";
        assert_eq!(open(src), Some(("if".into(), "{% if d == '%}' %}")));
    }

    #[test]
    fn mismatched_or_unfinished_tags_are_left_to_minijinja() {
        assert_eq!(open("{% if a %}{% endfor %}{% if b %}"), None);
        assert_eq!(open("{% if a %}{% if b"), None);
        assert_eq!(open("{% endif %}"), None);
    }
}
