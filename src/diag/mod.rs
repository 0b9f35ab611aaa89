//! Diagnostics: problems found in a repository, each pointing at the text the
//! user wrote, and their rendering as `file:line:column` with a caret.

mod markdown;

pub use markdown::to_markdown;

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};
use serde::Serialize;
use std::ops::Range;

use crate::source::Snapshot;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One problem in one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Repository-relative path, e.g. `clusters/pg.toml`.
    pub file: String,
    /// Byte range in the file the problem is about, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub span: Option<Range<usize>>,
    /// The field, as a dotted path (`nodes[1].host`), when the problem is about one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
    /// Short text shown under the caret.
    pub label: String,
    /// What is allowed, or how to fix it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(file: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            file: file.into(),
            span: None,
            field: None,
            message: message.into(),
            label: String::new(),
            help: None,
        }
    }

    pub fn warning(file: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(file, message)
        }
    }

    pub fn at(mut self, span: Option<Range<usize>>) -> Self {
        self.span = span;
        self
    }

    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// 1-based line and column of the start of the span.
    pub fn line_col(&self, source: &str) -> Option<(usize, usize)> {
        let start = self.span.as_ref()?.start.min(source.len());
        let before = &source[..start];
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        Some((line, col))
    }
}

/// A diagnostic with the line and column its span starts at, as the JSON
/// forms (`validate`, and `plan` on a repository that does not validate)
/// print it.
#[derive(Debug, Clone, Serialize)]
pub struct Located<'a> {
    #[serde(flatten)]
    pub diagnostic: &'a Diagnostic,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
}

impl Located<'_> {
    /// `file:line:column`, or the file alone when the position is unknown.
    pub fn location(&self) -> String {
        match (self.line, self.column) {
            (Some(l), Some(c)) => format!("{}:{l}:{c}", self.diagnostic.file),
            _ => self.diagnostic.file.clone(),
        }
    }
}

/// Each diagnostic with its line and column in the files of `snapshot`.
pub fn locate<'a>(diags: &'a [Diagnostic], snapshot: &Snapshot) -> Vec<Located<'a>> {
    diags
        .iter()
        .map(|d| {
            let at = snapshot.files.get(&d.file).and_then(|src| d.line_col(src));
            Located {
                diagnostic: d,
                line: at.map(|(l, _)| l),
                column: at.map(|(_, c)| c),
            }
        })
        .collect()
}

/// Sort diagnostics by file, then position, for stable output.
pub fn sort(diags: &mut [Diagnostic]) {
    diags.sort_by(|a, b| {
        (a.file.as_str(), a.span.as_ref().map(|s| s.start), &a.message).cmp(&(
            b.file.as_str(),
            b.span.as_ref().map(|s| s.start),
            &b.message,
        ))
    });
}

/// Render diagnostics for people: rustc style, with the offending line and a caret.
pub fn render(diags: &[Diagnostic], snapshot: &Snapshot, color: bool) -> String {
    let renderer = if color {
        Renderer::styled()
    } else {
        Renderer::plain()
    };
    let mut out = String::new();
    for d in diags {
        let level = match d.severity {
            Severity::Error => Level::ERROR,
            Severity::Warning => Level::WARNING,
        };
        let title = match &d.field {
            Some(f) => format!("{}: {}", f, d.message),
            None => d.message.clone(),
        };
        let source = snapshot.files.get(&d.file).map(String::as_str);
        let mut report = Vec::new();
        let group = match (source, &d.span) {
            (Some(src), Some(span)) => {
                let span = clamp(span.clone(), src);
                level.primary_title(&title).element(
                    Snippet::source(src)
                        .path(&d.file)
                        .fold(true)
                        .annotation(AnnotationKind::Primary.span(span).label(&d.label)),
                )
            }
            _ => level
                .primary_title(&title)
                .element(annotate_snippets::Origin::path(&d.file)),
        };
        report.push(group);
        if let Some(help) = &d.help {
            report.push(Group::with_title(Level::HELP.secondary_title(help)));
        }
        out.push_str(&renderer.render(&report));
        out.push_str("\n\n");
    }
    out
}

fn clamp(span: Range<usize>, src: &str) -> Range<usize> {
    let start = floor_char(src, span.start.min(src.len()));
    let end = floor_char(src, span.end.min(src.len())).max(start);
    start..end
}

fn floor_char(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// A one-line summary: "2 errors, 1 warning".
pub fn summary(diags: &[Diagnostic]) -> String {
    let errors = diags.iter().filter(|d| d.is_error()).count();
    let warnings = diags.len() - errors;
    let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
    match warnings {
        0 => plural(errors, "error"),
        _ => format!("{}, {}", plural(errors, "error"), plural(warnings, "warning")),
    }
}
