//! Validation rules that need more than one field or more than one file:
//! versions per engine, topology limits, hosts, addresses, schedules,
//! requests against the clusters they name, duplicates across files.
//!
//! Every rule reports through [`Diagnostic`]s that point at the text.

mod addr;
mod cluster;
mod engine_rules;
mod fleet;
mod known_settings;
mod requests;
mod schedule;
mod secret_refs;
mod settings;
mod shared_hosts;
mod templates;
#[cfg(test)]
mod testing;

use std::collections::{BTreeMap, HashMap};

use crate::diag::Diagnostic;
use crate::load::doc::Doc;
use crate::load::LoadContext;
use crate::model::{Cluster, Fleet, RequestFile};

pub use addr::{parse_allowed, valid_host};

/// Everything the rules look at.
pub struct Input<'a> {
    pub fleet: &'a Fleet,
    /// (file, cluster) in file order.
    pub clusters: &'a [(String, Cluster)],
    pub requests: &'a [RequestFile],
    pub templates: &'a BTreeMap<String, String>,
    pub docs: &'a HashMap<String, Doc>,
    pub ctx: &'a LoadContext,
    /// Files that already failed to parse or failed their structural check.
    pub failed_files: &'a [String],
    /// The working tree the files come from, when they come from one.
    pub repo_dir: Option<&'a std::path::Path>,
}

impl Input<'_> {
    fn doc(&self, file: &str) -> Option<&Doc> {
        self.docs.get(file)
    }
}

/// Run every rule. Rules that need a file which already failed its
/// structural check (a request naming a cluster whose file is broken) skip
/// what they cannot judge.
pub fn check(input: &Input<'_>) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    if let Some(doc) = input.doc("fleet.toml") {
        out.extend(fleet::check(input.fleet, doc));
    }
    for (file, c) in input.clusters {
        if let Some(doc) = input.doc(file) {
            out.extend(cluster::check(c, file, doc, input.fleet));
        }
    }
    out.extend(cluster::check_across(input));
    out.extend(requests::check(input));
    out.extend(secret_refs::check(input));
    // Last: these skip what the rules above already reported.
    out.extend(settings::check(input, &out));
    out.extend(templates::check(input, &out));
    out
}

/// 1-based line of a byte offset, for "first defined at line N" notes.
fn line_of(doc_text_span: Option<std::ops::Range<usize>>, text: Option<&str>) -> Option<usize> {
    let (span, text) = (doc_text_span?, text?);
    Some(text[..span.start.min(text.len())].matches('\n').count() + 1)
}
