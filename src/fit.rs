//! Fitting a Markdown document into a pull-request comment (GitHub stops at
//! 65,536 characters): the document (a plan, or the problems of a repository
//! that does not validate) comes as blocks, and when they are too big
//! together, folded diffs go first, from the end, then other folded details,
//! then node rows of the tables and items of lists; a note says what was
//! left out and how to see it all.
//!
//! Guarantee: with a limit, the result never has more bytes than it.

use std::fmt::Write;

/// What a block is, which decides when it is left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Always kept (headings, the summary, warnings).
    Keep,
    /// A folded diff: the first to go.
    Diff,
    /// The head of table `n`: kept while one of its rows is.
    TableHead(usize),
    /// A row of table `n`: goes when leaving out diffs was not enough.
    Row(usize),
    /// Folded details other than a diff (the full text of the problems).
    Fold,
    /// An item of a list (a problem): goes, from the end, with the rows.
    Item,
    /// Where the note on what was left out goes (nothing when nothing was).
    Note,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub kind: Kind,
    pub text: String,
}

impl Block {
    pub fn new(kind: Kind, text: impl Into<String>) -> Block {
        Block {
            kind,
            text: text.into(),
        }
    }
}

/// What the document is and how to see all of it, for the note: "For the
/// whole {what} {how}."
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Whole<'a> {
    /// "plan".
    pub what: &'a str,
    /// "run `dbfleet plan --format markdown --max-bytes 0`".
    pub how: &'a str,
}

/// What was left out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Cut {
    diffs: usize,
    diff_bytes: usize,
    folds: usize,
    rows: usize,
    items: usize,
    /// The end of the document was cut off: even without diffs and rows it
    /// was too big.
    tail: bool,
}

impl Cut {
    fn is_empty(&self) -> bool {
        *self == Cut::default()
    }

    fn note(&self, max: usize, whole: Whole<'_>) -> String {
        if self.is_empty() {
            return String::new();
        }
        let mut what = Vec::new();
        if self.diffs > 0 {
            what.push(format!(
                "{} diff{} ({})",
                self.diffs,
                if self.diffs == 1 { "" } else { "s" },
                size(self.diff_bytes)
            ));
        }
        if self.folds > 0 {
            what.push("the folded details".into());
        }
        if self.items > 0 {
            what.push(format!(
                "{} item{} of the list",
                self.items,
                if self.items == 1 { "" } else { "s" }
            ));
        }
        if self.rows > 0 {
            what.push(format!(
                "{} node row{} of the tables",
                self.rows,
                if self.rows == 1 { "" } else { "s" }
            ));
        }
        if self.tail {
            what.push(format!("the end of the {}", whole.what));
        }
        let mut out = String::new();
        let _ = writeln!(
            out,
            "> [!NOTE]\n> {} {} left out to fit a pull-request comment (at most {max} bytes). \
             For the whole {} {}.\n",
            and_list(&what),
            if what.len() == 1 && self.diffs + self.rows + self.items <= 1 {
                "was"
            } else {
                "were"
            },
            whole.what,
            whole.how
        );
        out
    }
}

/// "a", "a and b", "a, b and c".
fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

fn size(bytes: usize) -> String {
    match bytes {
        0..=999 => format!("{bytes} bytes"),
        _ => format!("{} KB", bytes.div_ceil(1000)),
    }
}

/// Join the blocks, leaving out what must go so that the result has at most
/// `max` bytes (0: no limit): diffs from the end, then other folded
/// details, then table rows and list items from the end (a table's head
/// goes with its last row), then, if still too big, the end of the
/// document. The note goes where the [`Kind::Note`] block is.
pub fn fit(blocks: &[Block], max: usize, whole: Whole<'_>) -> String {
    let mut kept = vec![true; blocks.len()];
    let tables = blocks
        .iter()
        .filter_map(|b| match b.kind {
            Kind::TableHead(t) | Kind::Row(t) => Some(t + 1),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    let mut rows = vec![0usize; tables];
    for b in blocks {
        if let Kind::Row(t) = b.kind {
            rows[t] += 1;
        }
    }
    let mut total: usize = blocks.iter().map(|b| b.text.len()).sum();
    let mut cut = Cut::default();
    let fits = |total: usize, cut: &Cut| max == 0 || total + cut.note(max, whole).len() <= max;
    for kind in [Kind::Diff, Kind::Fold] {
        for (i, b) in blocks.iter().enumerate().rev() {
            if fits(total, &cut) {
                break;
            }
            if b.kind == kind {
                kept[i] = false;
                total -= b.text.len();
                if kind == Kind::Diff {
                    cut.diffs += 1;
                    cut.diff_bytes += b.text.len();
                } else {
                    cut.folds += 1;
                }
            }
        }
    }
    for i in (0..blocks.len()).rev() {
        if fits(total, &cut) {
            break;
        }
        let t = match blocks[i].kind {
            Kind::Item => {
                kept[i] = false;
                total -= blocks[i].text.len();
                cut.items += 1;
                continue;
            }
            Kind::Row(t) => t,
            _ => continue,
        };
        kept[i] = false;
        total -= blocks[i].text.len();
        cut.rows += 1;
        rows[t] -= 1;
        if rows[t] == 0 {
            for (j, head) in blocks.iter().enumerate() {
                if head.kind == Kind::TableHead(t) && kept[j] {
                    kept[j] = false;
                    total -= head.text.len();
                }
            }
        }
    }
    if !fits(total, &cut) {
        cut.tail = true;
    }
    let mut out = String::with_capacity(total);
    for (b, _) in blocks.iter().zip(&kept).filter(|(_, k)| **k) {
        match b.kind {
            Kind::Note => out.push_str(&cut.note(max, whole)),
            _ => out.push_str(&b.text),
        }
    }
    if max > 0 && out.len() > max {
        // Whole lines only, where there is a line to end on.
        let mut end = max;
        while !out.is_char_boundary(end) {
            end -= 1;
        }
        if let Some(nl) = out[..end].rfind('\n') {
            end = nl + 1;
        }
        out.truncate(end);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str) -> String {
        format!("| {name} {} |\n", "r".repeat(100))
    }

    fn doc() -> Vec<Block> {
        vec![
            Block::new(Kind::Keep, "# title\n\n"),
            Block::new(Kind::Note, ""),
            Block::new(Kind::TableHead(0), "| a |\n|---|\n"),
            Block::new(Kind::Row(0), row("row 0.1")),
            Block::new(Kind::Row(0), row("row 0.2")),
            Block::new(Kind::Keep, "\n"),
            Block::new(Kind::Diff, format!("diff 0: {}\n", "x".repeat(1000))),
            Block::new(Kind::TableHead(1), "| b |\n|---|\n"),
            Block::new(Kind::Row(1), row("row 1.1")),
            Block::new(Kind::Keep, "\n"),
            Block::new(Kind::Diff, format!("diff 1: {}\n", "y".repeat(1000))),
            Block::new(Kind::Keep, format!("{}\n", "k".repeat(49)).repeat(10)),
            Block::new(Kind::Keep, "## end\n"),
        ]
    }

    const PLAN: Whole<'static> = Whole {
        what: "plan",
        how: "run `dbfleet plan --format markdown --max-bytes 0`, or see the text plan (`dbfleet plan`)",
    };

    fn all(blocks: &[Block]) -> String {
        blocks.iter().map(|b| b.text.as_str()).collect()
    }

    #[test]
    fn everything_when_it_fits_or_without_a_limit() {
        let blocks = doc();
        let whole = all(&blocks);
        assert_eq!(fit(&blocks, 0, PLAN), whole);
        assert_eq!(fit(&blocks, whole.len(), PLAN), whole);
    }

    #[test]
    fn the_last_diff_goes_first() {
        let blocks = doc();
        let max = all(&blocks).len() - 1;
        let out = fit(&blocks, max, PLAN);
        assert!(out.len() <= max);
        assert!(out.contains("diff 0") && !out.contains("diff 1"), "{out}");
        assert!(out.contains("row 1.1"), "{out}");
        assert!(
            out.starts_with(&format!(
                "# title\n\n> [!NOTE]\n> 1 diff (2 KB) was left out to fit a pull-request comment (at most {max} bytes). \
                 For the whole plan run `dbfleet plan --format markdown --max-bytes 0`, or see the text plan (`dbfleet plan`).\n\n| a |"
            )),
            "{out}"
        );
        assert!(out.ends_with("## end\n"), "{out}");
    }

    #[test]
    fn rows_go_from_the_end_when_diffs_were_not_enough() {
        let blocks = doc();
        let no_diffs = all(&blocks).len() - 2 * 1009;
        let two_diffs = Cut {
            diffs: 2,
            diff_bytes: 2018,
            ..Cut::default()
        };
        // The note names the limit: one of as many digits.
        let max = no_diffs + two_diffs.note(1000, PLAN).len() - 1;
        assert!((1000..10_000).contains(&max), "{max}");
        let out = fit(&blocks, max, PLAN);
        assert!(out.len() <= max, "{}", out.len());
        assert!(!out.contains("diff "), "{out}");
        // Table 1's head goes with its only row.
        assert!(!out.contains("| b |") && !out.contains("row 1.1"), "{out}");
        assert!(
            out.contains("| a |") && out.contains("row 0.1") && out.contains("row 0.2"),
            "{out}"
        );
        assert!(
            out.contains("> 2 diffs (3 KB) and 1 node row of the tables were left out"),
            "{out}"
        );
        assert!(out.ends_with("## end\n"), "{out}");
    }

    #[test]
    fn never_more_than_the_limit() {
        let blocks = doc();
        for max in [1, 5, 20, 100, 300, 400, 500, 1000, 2000] {
            let out = fit(&blocks, max, PLAN);
            assert!(out.len() <= max, "{max}: {} bytes:\n{out}", out.len());
        }
        // Without diffs and rows, the kept blocks and the note are too big.
        let out = fit(&blocks, 700, PLAN);
        assert!(out.starts_with("# title\n\n> [!NOTE]\n"), "{out}");
        assert!(out.contains("and the end of the plan were left out"), "{out}");
        assert!(!out.contains("## end"), "{out}");
    }
}
