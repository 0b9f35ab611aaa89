//! The base of `plan --base`: the older revision, taken as applied. A base
//! that does not validate is taken as far as it loads: the clusters whose
//! files load are simulated as applied; those whose files fail (every
//! cluster, when a file they all need fails: fleet.toml, a template) are
//! unknown in the base, left out of the plan and named in it.

use std::collections::BTreeSet;

use super::build::{simulate_applied, PlanError, Recorded};
use super::{BaseProblem, Plan};
use crate::diag::{self, Diagnostic};
use crate::layout::history::Derived;
use crate::load::{load, LoadContext};
use crate::model::{Repo, Request, RequestFile};
use crate::render::{Addresses, Renderer};
use crate::source::Snapshot;

/// The base, as far as it could be taken.
#[derive(Debug)]
pub struct Base {
    /// The state once the base is applied (the "before" of the plan).
    pub recorded: Recorded,
    /// The request files of the base, to tell new and edited ones apart.
    pub requests: Vec<RequestFile>,
    /// Set when the base does not validate.
    pub problem: Option<BaseProblem>,
    /// The base's diagnostics when it does not validate (for stderr).
    pub diagnostics: Vec<Diagnostic>,
}

impl Base {
    /// The head repository without the clusters the base cannot tell about.
    pub fn comparable(&self, head: &Repo) -> Repo {
        let mut repo = head.clone();
        if let Some(p) = &self.problem {
            repo.clusters.retain(|c| !p.not_compared.contains(&c.name));
        }
        repo
    }
}

/// Load the base revision `rev` (its files in `snapshot`; node numbers from
/// `ctx` and `history`, the revisions up to it) and simulate it as applied.
/// `head` is the repository planned, for naming the clusters not compared;
/// `addresses` what host names resolved to (a name that did not renders
/// without addresses: the base stands for a state already there).
///
/// Errors: a template of the base that does not render for some node.
pub fn simulate_base(
    snapshot: &Snapshot,
    rev: &str,
    ctx: &LoadContext,
    history: &Derived,
    head: &Repo,
    addresses: &Addresses,
) -> Result<Base, PlanError> {
    let diags = match load(snapshot, ctx) {
        Ok(loaded) => {
            let renderer = Renderer::new(&loaded.repo.templates).map_err(PlanError::BaseTemplates)?;
            return Ok(Base {
                recorded: simulate_applied(&loaded.repo, &renderer, history, addresses)?,
                requests: loaded.repo.requests,
                problem: None,
                diagnostics: Vec::new(),
            });
        }
        Err(diags) => diags,
    };
    let (partial, mut unknown) = load_partial(snapshot, ctx, &diags);
    let renderer = partial.as_ref().and_then(|r| Renderer::new(&r.templates).ok());
    let recorded = match (&partial, &renderer) {
        (Some(repo), Some(renderer)) => {
            simulate_applied(repo, renderer, &history.without(&unknown), addresses)?
        }
        _ => {
            // Nothing of the base could be taken: no cluster is known there.
            unknown.extend(head.clusters.iter().map(|c| c.name.clone()));
            unknown.extend(cluster_names(snapshot, snapshot.files.keys()));
            Recorded::new()
        }
    };
    let errors = diags
        .iter()
        .filter(|d| d.is_error())
        .map(|d| one_line(d, snapshot))
        .collect();
    Ok(Base {
        recorded,
        requests: lenient_requests(snapshot),
        problem: Some(BaseProblem {
            rev: rev.to_string(),
            summary: diag::summary(&diags),
            errors,
            not_compared: unknown.into_iter().collect(),
        }),
        diagnostics: diags,
    })
}

impl Plan {
    /// Say in the plan that its base does not validate. A cluster left out
    /// may have changed: the plan does not claim "no changes".
    pub fn set_base_problem(&mut self, problem: BaseProblem) {
        self.summary.clusters_not_compared = problem.not_compared.len();
        self.summary.has_changes |= !problem.not_compared.is_empty();
        self.base_problem = Some(problem);
    }
}

/// The base without the files that do not validate, loaded; and the names
/// of the clusters left out. Only cluster and request files are left out:
/// without fleet.toml or a template every cluster would render otherwise
/// than in the base, so then nothing is taken (`None`).
fn load_partial(
    snapshot: &Snapshot,
    ctx: &LoadContext,
    diags: &[Diagnostic],
) -> (Option<Repo>, BTreeSet<String>) {
    let mut files = snapshot.clone();
    let mut dropped = BTreeSet::new();
    let mut diags = diags.to_vec();
    loop {
        let bad: BTreeSet<String> = diags
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.file.clone())
            .collect();
        let removable = bad
            .iter()
            .all(|f| f.starts_with("clusters/") || f.starts_with("requests/"));
        if bad.is_empty() || !removable || !bad.iter().all(|f| files.files.contains_key(f)) {
            return (None, cluster_names(snapshot, dropped.iter()));
        }
        for f in &bad {
            files.files.remove(f);
        }
        dropped.extend(bad);
        match load(&files, ctx) {
            Ok(loaded) => return (Some(loaded.repo), cluster_names(snapshot, dropped.iter())),
            Err(d) => diags = d,
        }
    }
}

/// Names of the clusters in `paths`: the file name, and the `name` the file
/// gives when it parses that far.
fn cluster_names<'a>(snapshot: &Snapshot, paths: impl Iterator<Item = &'a String>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for path in paths {
        let Some(stem) = path
            .strip_prefix("clusters/")
            .and_then(|p| p.strip_suffix(".toml"))
        else {
            continue;
        };
        out.insert(stem.to_string());
        let named = snapshot
            .files
            .get(path)
            .and_then(|t| t.parse::<toml::Table>().ok())
            .and_then(|t| t.get("name").and_then(|v| v.as_str()).map(str::to_string));
        out.extend(named);
    }
    out
}

/// Every request file of the base that parses, valid or not: whether a
/// request of the head is new or edited is a matter of the file.
fn lenient_requests(snapshot: &Snapshot) -> Vec<RequestFile> {
    snapshot
        .files
        .iter()
        .filter_map(|(path, text)| {
            let id = path.strip_prefix("requests/")?.strip_suffix(".toml")?;
            let request = toml::from_str::<Request>(text).ok()?;
            Some(RequestFile {
                id: id.to_string(),
                path: path.clone(),
                request,
            })
        })
        .collect()
}

/// `file:line:column: field: message`.
fn one_line(d: &Diagnostic, snapshot: &Snapshot) -> String {
    let at = snapshot
        .files
        .get(&d.file)
        .and_then(|t| d.line_col(t))
        .map_or(d.file.clone(), |(l, c)| format!("{}:{l}:{c}", d.file));
    match &d.field {
        Some(f) => format!("{at}: {f}: {}", d.message),
        None => format!("{at}: {}", d.message),
    }
}
