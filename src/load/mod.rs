//! Loading: every file of a [`Snapshot`] parsed, checked against its schema,
//! turned into its type, then the whole repository checked by the rules in
//! [`crate::validate`]. Every problem is collected; nothing stops at the first.

pub mod doc;
mod hint;
pub mod structure;
mod suggest;

use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::OnceLock;

use crate::diag::{self, Diagnostic};
use crate::layout::Allocations;
use crate::model::{Cluster, Fleet, Repo, Request, RequestFile};
use crate::schema;
use crate::source::{ProblemKind, Snapshot};
use crate::validate::Input;
use doc::Doc;
use structure::{did_you_mean, Checker};

/// What loading needs besides the files.
#[derive(Debug, Default, Clone)]
pub struct LoadContext {
    /// Node numbers per cluster, from the state store or derived from the
    /// git history, so that requests name nodes by their real names. A
    /// cluster named here but gone from the repository is still known.
    pub allocations: BTreeMap<String, Allocations>,
    /// Where the numbers come from.
    pub numbering: Numbering,
    /// Ids of requests that already ran: their effect is in `allocations`
    /// (a node a remove-node released is a tombstone there).
    pub ran: BTreeSet<String>,
}

/// Where the node numbers of a [`LoadContext`] come from.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub enum Numbering {
    /// The state store: a cluster it has not recorded is new, numbered as
    /// apply will number it (its hosts in file order).
    #[default]
    Recorded,
    /// Derived from the git history (no state store): a cluster the history
    /// never held is new.
    History,
    /// Neither can say (the text says why, e.g. "no state store and no git
    /// history"): node names of clusters cannot be checked.
    Unknown(String),
}

/// A loaded repository plus the parsed documents (for spans) and warnings.
#[derive(Debug)]
pub struct Loaded {
    pub repo: Repo,
    pub docs: HashMap<String, Doc>,
    pub warnings: Vec<Diagnostic>,
}

/// Load and validate a repository. On failure every problem found is
/// returned, errors and warnings, sorted by file and position.
pub fn load(snapshot: &Snapshot, ctx: &LoadContext) -> Result<Loaded, Vec<Diagnostic>> {
    let mut diags = Vec::new();
    let mut docs = HashMap::new();
    let mut fleet = Fleet::default();
    let mut clusters = Vec::new();
    let mut requests = Vec::new();
    let mut templates = BTreeMap::new();

    // Files the source could not read as text (links out of the repository,
    // not UTF-8, misnamed). "Not a dbfleet repository" does not hold when
    // the state store knows clusters: their files were all removed.
    let orphans_known = !ctx.allocations.is_empty();
    diags.extend(
        snapshot
            .problems
            .iter()
            .filter(|p| !(orphans_known && matches!(p.kind, ProblemKind::NotARepository { .. })))
            .map(Diagnostic::from),
    );
    for (path, text) in &snapshot.files {
        if path.starts_with("templates/") {
            templates.insert(path.clone(), text.clone());
            continue;
        }
        let Some(doc) = parse(path, text, &mut diags) else {
            continue;
        };
        if path == "fleet.toml" {
            if let Some(f) = typed::<Fleet>(&doc, text, checkers().fleet.check(&doc), &mut diags) {
                fleet = f;
            }
        } else if path.starts_with("clusters/") {
            if let Some(c) = typed::<Cluster>(&doc, text, checkers().cluster.check(&doc), &mut diags) {
                clusters.push((path.clone(), c));
            }
        } else if path.starts_with("requests/") {
            let found = check_request(&doc);
            if let Some(request) = typed::<Request>(&doc, text, found, &mut diags) {
                let id = path
                    .trim_start_matches("requests/")
                    .trim_end_matches(".toml")
                    .to_string();
                requests.push(RequestFile {
                    id,
                    path: path.clone(),
                    request,
                });
            }
        }
        docs.insert(path.clone(), doc);
    }
    let failed: Vec<String> = diags
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.file.clone())
        .collect();
    let input = Input {
        fleet: &fleet,
        clusters: &clusters,
        requests: &requests,
        templates: &templates,
        docs: &docs,
        ctx,
        failed_files: &failed,
        repo_dir: match &snapshot.origin {
            crate::source::Origin::Worktree(dir) => Some(std::path::Path::new(dir)),
            _ => None,
        },
    };
    diags.extend(crate::validate::check(&input));
    let mut clusters: Vec<Cluster> = clusters.into_iter().map(|(_, c)| c).collect();
    clusters.sort_by(|a, b| a.name.cmp(&b.name));
    let repo = Repo {
        fleet,
        clusters,
        requests,
        templates,
    };
    diag::sort(&mut diags);
    if diags.iter().any(Diagnostic::is_error) {
        return Err(diags);
    }
    Ok(Loaded {
        repo,
        docs,
        warnings: diags,
    })
}

fn parse(path: &str, text: &str, diags: &mut Vec<Diagnostic>) -> Option<Doc> {
    match Doc::parse(path, text) {
        Ok(doc) => Some(doc),
        Err(errs) => {
            diags.extend(errs);
            None
        }
    }
}

/// Deserialize a document whose structural check found `found` problems.
fn typed<T: DeserializeOwned>(
    doc: &Doc,
    text: &str,
    found: Vec<Diagnostic>,
    diags: &mut Vec<Diagnostic>,
) -> Option<T> {
    if !found.is_empty() {
        diags.extend(found);
        return None;
    }
    match toml::from_str::<T>(text) {
        Ok(v) => Some(v),
        Err(e) => {
            let msg = e.message().trim().to_string();
            let mut d = Diagnostic::error(&doc.file, msg.clone()).at(e.span()).label(msg);
            if let Some(ptr) = e.span().and_then(|s| doc.pointer_at(&s)) {
                d = d.field(doc::field_path(ptr));
            }
            diags.push(d);
            None
        }
    }
}

/// Requests are checked against the schema of their `action`, so that the
/// problems reported are those of the action the user meant.
fn check_request(doc: &Doc) -> Vec<Diagnostic> {
    let actions: Vec<String> = Request::ACTIONS.iter().map(|s| s.to_string()).collect();
    let help = format!("allowed actions: {}", actions.join(", "));
    match doc.value.get("action") {
        None => vec![
            Diagnostic::error(&doc.file, "missing required field `action` in the file")
                .at(Some(0..0))
                .label("`action` is required")
                .help(help),
        ],
        Some(Value::String(action)) => match checkers().requests.get(action.as_str()) {
            Some(checker) => checker.check(doc),
            None => {
                let help = match did_you_mean(action, &actions) {
                    Some(s) => format!("did you mean `{s}`? {help}"),
                    None => help,
                };
                vec![Diagnostic::error(&doc.file, format!("unknown action `{action}`"))
                    .field("action")
                    .at(doc.value_span("/action"))
                    .label("not a known action")
                    .help(help)]
            }
        },
        Some(_) => vec![Diagnostic::error(
            &doc.file,
            format!(
                "expected a string, found {}",
                doc.kind("/action").unwrap_or("value")
            ),
        )
        .field("action")
        .at(doc.value_span("/action"))
        .label("expected a string")
        .help(help)],
    }
}

struct Checkers {
    fleet: Checker,
    cluster: Checker,
    requests: HashMap<&'static str, Checker>,
}

fn checkers() -> &'static Checkers {
    static CHECKERS: OnceLock<Checkers> = OnceLock::new();
    CHECKERS.get_or_init(|| {
        let request = schema::request();
        let mut requests = HashMap::new();
        for action in Request::ACTIONS {
            requests.insert(action, Checker::new(request_branch(&request, action)));
        }
        Checkers {
            fleet: Checker::new(schema::fleet()),
            cluster: Checker::new(schema::cluster()),
            requests,
        }
    })
}

/// The part of the request schema for one action, with the shared `$defs`.
fn request_branch(schema: &Value, action: &str) -> Value {
    let branch = schema
        .get("oneOf")
        .and_then(Value::as_array)
        .and_then(|bs| {
            bs.iter()
                .find(|b| b.pointer("/properties/action/const").and_then(Value::as_str) == Some(action))
        })
        .cloned()
        .unwrap_or(Value::Bool(false));
    let mut branch = match branch {
        Value::Object(m) => m,
        _ => serde_json::Map::new(),
    };
    if let Some(defs) = schema.get("$defs") {
        branch.insert("$defs".into(), defs.clone());
    }
    Value::Object(branch)
}
