//! Diagnostics as GitHub-flavoured Markdown, for `--format markdown` on a
//! repository that does not validate: a document that shows the problems,
//! never an empty pull-request comment.

use std::fmt::Write;

use super::{locate, render, summary, Severity};
use crate::diag::Diagnostic;
use crate::fit::{fit, Block, Kind, Whole};
use crate::source::Snapshot;

/// A Markdown document: `title` (e.g. "dbfleet plan"), then `headline` (as a
/// caution when there are errors), one list item per diagnostic
/// (`file:line:column`, field, message, help), and the full messages with
/// the lines they point at, folded. At most `max_bytes` bytes (0: no
/// limit): the folded messages go first, then problems from the end of the
/// list, and a note says so and how to see them all (`whole`).
pub fn to_markdown(
    title: &str,
    headline: &str,
    diags: &[Diagnostic],
    snapshot: &Snapshot,
    max_bytes: usize,
    whole: Whole<'_>,
) -> String {
    let mut blocks = Vec::new();
    let mut out = String::new();
    let _ = writeln!(out, "### {title}\n");
    if diags.iter().any(Diagnostic::is_error) {
        let _ = writeln!(out, "> [!CAUTION]\n> {}\n", inline(headline));
    } else {
        let _ = writeln!(out, "**{}**\n", inline(headline));
    }
    blocks.push(Block::new(Kind::Keep, std::mem::take(&mut out)));
    blocks.push(Block::new(Kind::Note, ""));
    if diags.is_empty() {
        return fit(&blocks, max_bytes, whole);
    }
    for d in locate(diags, snapshot) {
        let severity = match d.diagnostic.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let field = match &d.diagnostic.field {
            Some(f) => format!("`{f}`: "),
            None => String::new(),
        };
        let _ = writeln!(
            out,
            "- **{severity}** `{}`: {field}{}",
            d.location(),
            inline(&d.diagnostic.message)
        );
        if let Some(help) = &d.diagnostic.help {
            let _ = writeln!(out, "  - help: {}", inline(help));
        }
        blocks.push(Block::new(Kind::Item, std::mem::take(&mut out)));
    }
    let full = render(diags, snapshot, false);
    let fence = "`".repeat(longest_backticks(&full).max(2) + 1);
    let _ = writeln!(
        out,
        "\n<details><summary>The full messages ({})</summary>\n\n{fence}text\n{}\n{fence}\n\n</details>",
        summary(diags),
        full.trim_end()
    );
    blocks.push(Block::new(Kind::Fold, out));
    fit(&blocks, max_bytes, whole)
}

/// One line of Markdown text: no line breaks, and no raw HTML outside
/// code spans (inside them `<` shows as it is).
fn inline(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_code = false;
    for ch in s.chars() {
        match ch {
            '`' => {
                in_code = !in_code;
                out.push(ch);
            }
            '<' if !in_code => out.push_str("&lt;"),
            '\n' => out.push(' '),
            _ => out.push(ch),
        }
    }
    out
}

fn longest_backticks(text: &str) -> usize {
    text.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_problem_with_its_position_and_help() {
        let snapshot = Snapshot::in_memory([("clusters/a.toml", "name = \"a\"\nversion = \"19\"\n")]);
        let diags = vec![
            Diagnostic::error("clusters/a.toml", "`<19>` is not a known <release>")
                .at(Some(21..25))
                .field("version")
                .label("unknown version")
                .help("known versions: 15, 16"),
            Diagnostic::warning("fleet.toml", "not read"),
        ];
        let whole = Whole {
            what: "list",
            how: "run `dbfleet validate`",
        };
        let md = to_markdown(
            "dbfleet plan",
            "It does not validate.",
            &diags,
            &snapshot,
            0,
            whole,
        );
        let head: Vec<&str> = md.lines().take(8).collect();
        assert_eq!(
            head,
            [
                "### dbfleet plan",
                "",
                "> [!CAUTION]",
                "> It does not validate.",
                "",
                "- **error** `clusters/a.toml:2:11`: `version`: `<19>` is not a known &lt;release>",
                "  - help: known versions: 15, 16",
                "- **warning** `fleet.toml`: not read",
            ]
        );
        assert!(md.contains("<details><summary>The full messages (1 error, 1 warning)</summary>"));
        assert!(md.contains(" --> clusters/a.toml:2:11"), "{md}");
    }
}
