//! What validation asks of the renderer: keys dbfleet manages, key spelling,
//! and whether repository template overrides parse.

use std::collections::BTreeMap;

use crate::diag::Diagnostic;
use crate::render::{RenderError, Renderer};

pub use crate::render::{managed_keys, normalise_key};

/// Every template override that does not parse, or overrides nothing.
pub fn check_overrides(templates: &BTreeMap<String, String>) -> Vec<Diagnostic> {
    Renderer::check_overrides(templates)
        .into_iter()
        .map(|e| to_diag(e, templates))
        .collect()
}

fn to_diag(e: RenderError, templates: &BTreeMap<String, String>) -> Diagnostic {
    match &e {
        RenderError::Syntax { at, message } => {
            let span = templates
                .get(&at.path)
                .and_then(|text| span_of(text, at.line, at.column));
            Diagnostic::error(at.path.clone(), format!("template syntax error: {message}"))
                .at(span)
                .label(message.clone())
                .help("templates use minijinja (Jinja2) syntax; see templates/README.md for the variables")
        }
        RenderError::UnknownOverride { path, expected } => {
            Diagnostic::error(path.clone(), "this template overrides no built-in template")
                .help(expected.clone())
        }
        other => Diagnostic::error("templates", other.to_string()),
    }
}

/// Byte span of a 1-based line (and column) in `text`.
fn span_of(text: &str, line: Option<usize>, column: Option<usize>) -> Option<std::ops::Range<usize>> {
    let line = line?;
    let start: usize = text.split_inclusive('\n').take(line - 1).map(str::len).sum();
    let this = text[start.min(text.len())..]
        .split('\n')
        .next()
        .unwrap_or_default();
    match column {
        Some(c) => {
            let off = this
                .char_indices()
                .nth(c.saturating_sub(1))
                .map_or(this.len(), |(i, _)| i);
            Some(start + off..start + this.len().max(off))
        }
        None => Some(start..start + this.len()),
    }
}
