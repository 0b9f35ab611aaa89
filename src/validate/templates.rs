//! Templates: overrides that do not parse or override nothing, and every
//! node of every cluster rendered offline as plan renders it, so that a
//! template failing for some node fails validation at the template's line.

use std::collections::BTreeMap;
use std::ops::Range;

use super::Input;
use crate::diag::Diagnostic;
use crate::layout::{layout, Allocations, NodeLayout};
use crate::load::Numbering;
use crate::model::{Cluster, Topology};
use crate::render::{Addresses, Origin, RenderError, Renderer};

const SYNTAX_HELP: &str =
    "templates use minijinja (Jinja2) syntax; see templates/README.md for the variables";

/// Every problem of the templates. Clusters whose file already has an error
/// in `so_far` are not rendered: what stops them is reported there.
pub fn check(input: &Input<'_>, so_far: &[Diagnostic]) -> Vec<Diagnostic> {
    let owned;
    let renderer = match Renderer::builtin() {
        Ok(r) if input.templates.is_empty() => r,
        Err(e) if input.templates.is_empty() => return vec![Diagnostic::error("templates", e.to_string())],
        _ => match Renderer::with_overrides(input.templates) {
            Ok(r) => {
                owned = r;
                &owned
            }
            Err(errors) => {
                return errors
                    .into_iter()
                    .map(|e| override_diag(e, input.templates))
                    .collect()
            }
        },
    };
    let mut failures: Vec<Failure> = Vec::new();
    let ssh_port = input.fleet.ssh.port;
    for (file, c) in input.clusters {
        if so_far.iter().any(|d| d.is_error() && d.file == *file) {
            continue;
        }
        let alloc = input.ctx.allocations.get(&c.name).cloned().unwrap_or_default();
        for node in layouts(c, &alloc) {
            if let Err(e) = renderer.render_all(c, &node, ssh_port, &Addresses::unresolved()) {
                // Without known numbers, node names would be made up.
                let name = match input.ctx.numbering {
                    Numbering::Unknown(_) => &node.host,
                    _ => &node.name,
                };
                let diag = render_diag(e, file, input);
                match failures.iter_mut().find(|f| f.diag == diag) {
                    Some(f) => f.add(&c.name, name),
                    None => failures.push(Failure::new(diag, &c.name, name)),
                }
            }
        }
    }
    failures.into_iter().map(Failure::into_diag).collect()
}

/// The layouts plan can render a node in: the nodes as plan lays them out
/// with the recorded numbers, and, in primary-replica, each node in the role
/// the recorded primary could also give it (every other node as the primary,
/// the first as a replica). Plan renders the same templates with the same
/// fields; only which node is the primary depends on the state.
fn layouts(c: &Cluster, alloc: &Allocations) -> Vec<NodeLayout> {
    let mut out = layout(c, alloc, None);
    if c.topology == Topology::PrimaryReplica && c.nodes.len() > 1 {
        let first = &c.nodes[0].host;
        for (i, node) in c.nodes.iter().enumerate().skip(1) {
            let shown: &[&String] = if i == 1 {
                &[&node.host, first]
            } else {
                &[&node.host]
            };
            out.extend(
                layout(c, alloc, Some(&node.host))
                    .into_iter()
                    .filter(|l| shown.contains(&&l.host)),
            );
        }
    }
    out
}

/// One render error and the nodes it was hit on.
struct Failure {
    diag: Diagnostic,
    /// cluster -> node names, in the order met.
    nodes: BTreeMap<String, Vec<String>>,
}

impl Failure {
    fn new(diag: Diagnostic, cluster: &str, node: &str) -> Failure {
        let mut f = Failure {
            diag,
            nodes: BTreeMap::new(),
        };
        f.add(cluster, node);
        f
    }

    fn add(&mut self, cluster: &str, node: &str) {
        let names = self.nodes.entry(cluster.to_string()).or_default();
        if !names.iter().any(|n| n == node) {
            names.push(node.to_string());
        }
    }

    fn into_diag(self) -> Diagnostic {
        let hit: Vec<String> = self
            .nodes
            .iter()
            .map(|(cluster, nodes)| format!("{} (cluster {cluster})", nodes.join(", ")))
            .collect();
        let help = match self.diag.help.as_deref() {
            Some(h) => format!("rendered for {}; {h}", hit.join("; ")),
            None => format!("rendered for {}", hit.join("; ")),
        };
        self.diag.help(help)
    }
}

/// A render error as a diagnostic: at the template's line when the template
/// is the repository's, else at the cluster file.
fn render_diag(e: RenderError, cluster_file: &str, input: &Input<'_>) -> Diagnostic {
    match &e {
        RenderError::Render { at, message } if at.origin == Origin::Override => {
            let span = template_span(input.templates, &at.path, at.span.clone(), at.line, at.column);
            Diagnostic::error(at.path.clone(), format!("rendering failed: {message}"))
                .at(span)
                .label(short(message))
                .help("templates/README.md lists the variables templates see")
        }
        _ => Diagnostic::error(cluster_file, format!("cannot render this cluster: {e}"))
            .at(input.doc(cluster_file).and_then(|d| d.value_span("/name"))),
    }
}

/// The kind of a minijinja message, for the label: `undefined value` of
/// `undefined value: ...`.
fn short(message: &str) -> String {
    message.split(':').next().unwrap_or(message).to_string()
}

/// An override that does not parse, or overrides nothing.
fn override_diag(e: RenderError, templates: &BTreeMap<String, String>) -> Diagnostic {
    match &e {
        RenderError::Syntax { at, message } => {
            let span = template_span(templates, &at.path, at.span.clone(), at.line, at.column);
            Diagnostic::error(at.path.clone(), format!("template syntax error: {message}"))
                .at(span)
                .label(message.clone())
                .help(SYNTAX_HELP)
        }
        RenderError::Unclosed { at, keyword } => {
            let span = template_span(templates, &at.path, at.span.clone(), at.line, at.column);
            Diagnostic::error(
                at.path.clone(),
                format!(
                    "template syntax error: `{{% {keyword} %}}` opened here is never closed (expected `{{% end{keyword} %}}`)"
                ),
            )
            .at(span)
            .label("never closed")
            .help(SYNTAX_HELP)
        }
        RenderError::UnknownOverride { path, expected } => {
            Diagnostic::error(path.clone(), "this template overrides no built-in template")
                .help(expected.clone())
        }
        other => Diagnostic::error("templates", other.to_string()),
    }
}

/// The span of a template location: its byte range when minijinja gave one,
/// else its line (from the column on).
fn template_span(
    templates: &BTreeMap<String, String>,
    path: &str,
    span: Option<Range<usize>>,
    line: Option<usize>,
    column: Option<usize>,
) -> Option<Range<usize>> {
    let text = templates.get(path)?;
    span.or_else(|| line_span(text, line?, column))
}

/// Byte span of a 1-based line (from a 1-based column) in `text`.
fn line_span(text: &str, line: usize, column: Option<usize>) -> Option<Range<usize>> {
    let start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
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

#[cfg(test)]
mod tests {
    use super::super::testing::{diagnostics, mariadb};
    use crate::layout::Allocations;
    use crate::load::{LoadContext, Numbering};

    const MY_CNF: &str = "templates/mariadb/my.cnf.j2";

    #[test]
    fn a_render_error_is_one_diagnostic_naming_the_nodes() {
        let template = "[mysqld]\nbind_address = {{ node.adress }}\n";
        let other = mariadb("")
            .replace("\"db\"", "\"app\"")
            .replace("10.0.0.", "10.0.1.");
        let files = [
            ("clusters/db.toml", mariadb("")),
            ("clusters/app.toml", other),
            (MY_CNF, template.to_string()),
        ];
        let files: Vec<(&str, &str)> = files.iter().map(|(p, t)| (*p, t.as_str())).collect();
        // db's numbers as recorded: 2 was removed, 10.0.0.12 came back as 4.
        let mut db = Allocations::default();
        db.live.insert("10.0.0.11".into(), 1);
        db.live.insert("10.0.0.13".into(), 3);
        db.tombstones.insert(2, "10.0.0.12".into());
        let ctx = LoadContext {
            allocations: [("db".to_string(), db)].into(),
            ..LoadContext::default()
        };
        assert_eq!(
            diagnostics(&files, &ctx),
            [
                "templates/mariadb/my.cnf.j2:2:19: error: rendering failed: undefined value: \
              `node.adress` is undefined | undefined value | rendered for app1, app2, app3 (cluster \
              app); db1, db3, db4 (cluster db); templates/README.md lists the variables templates see"
            ]
        );
    }

    #[test]
    fn without_known_numbers_nodes_are_named_by_host() {
        let template = "[mysqld]\n{{ nope }}\n";
        let cluster = mariadb("");
        let files = [("clusters/db.toml", cluster.as_str()), (MY_CNF, template)];
        let ctx = LoadContext {
            numbering: Numbering::Unknown("no state store and no git history".into()),
            ..LoadContext::default()
        };
        let diags = diagnostics(&files, &ctx);
        assert_eq!(diags.len(), 1, "{diags:?}");
        assert!(
            diags[0].contains("rendered for 10.0.0.11, 10.0.0.12, 10.0.0.13 (cluster db);"),
            "{diags:?}"
        );
    }

    #[test]
    fn every_node_is_rendered_in_each_role() {
        // Fails only on a primary other than the first node: plan meets it
        // once the state records such a primary.
        let template =
            "[mysqld]\n{% if node.role == \"primary\" and node.number == 3 %}{{ nope }}{% endif %}\n";
        let cluster = mariadb("");
        let files = [("clusters/db.toml", cluster.as_str()), (MY_CNF, template)];
        let diags = diagnostics(&files, &LoadContext::default());
        assert_eq!(diags.len(), 1, "{diags:?}");
        assert!(diags[0].contains("`nope` is undefined"), "{diags:?}");
        assert!(diags[0].contains("rendered for db3 (cluster db)"), "{diags:?}");
    }

    #[test]
    fn clusters_with_errors_are_not_rendered() {
        let template = "[mysqld]\n{{ nope }}\n";
        let cluster = mariadb("server_id = 1");
        let files = [("clusters/db.toml", cluster.as_str()), (MY_CNF, template)];
        let diags = diagnostics(&files, &LoadContext::default());
        assert_eq!(diags.len(), 1, "{diags:?}");
        assert!(
            diags[0].contains("`server_id` is managed by dbfleet"),
            "{diags:?}"
        );
    }

    #[test]
    fn an_unclosed_block_is_reported_at_its_tag() {
        let template = "[mysqld]\n{% for p in peers %}\n# {{ p.name }}\n";
        let cluster = mariadb("");
        let files = [("clusters/db.toml", cluster.as_str()), (MY_CNF, template)];
        assert_eq!(
            diagnostics(&files, &LoadContext::default()),
            [
                "templates/mariadb/my.cnf.j2:2:1: error: template syntax error: `{% for %}` opened here \
              is never closed (expected `{% endfor %}`) | never closed | templates use minijinja \
              (Jinja2) syntax; see templates/README.md for the variables"
            ]
        );
    }
}
