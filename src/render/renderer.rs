//! The renderer: built-in templates plus repository overrides in one
//! minijinja environment, and rendering of one node's files.

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::OnceLock;

use minijinja::syntax::SyntaxConfig;
use minijinja::{context, AutoEscape, Environment, ErrorKind, UndefinedBehavior};

use super::addresses::Addresses;
use super::blocks::unclosed_block;
use super::builtin::{firewall_template_name, repo_path, template_name, BUILTINS, FIREWALL_DIR};
use super::context::{build as build_context, cidr_filter};
use super::error::{Origin, RenderError, TemplateLocation};
use super::firewall::{self, firewall_path};
use super::paths::engine_paths;
use crate::layout::NodeLayout;
use crate::model::{Cluster, Engine};

/// One rendered configuration file, ready to be written to a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedFile {
    /// The template it came from, as `<engine>/<file>`, e.g. `mariadb/my.cnf.j2`.
    pub template: String,
    /// Absolute path on the host.
    pub path: String,
    pub content: String,
    /// Permission bits, e.g. `0o640`.
    pub mode: u32,
    pub owner: String,
    pub group: String,
}

/// Renders every configuration file of a node from the built-in templates
/// and the repository's overrides.
///
/// Guarantees: output depends only on the cluster, the node layout and the
/// templates (no clock, no environment, no I/O); undefined variables are
/// errors, never empty strings.
#[derive(Debug)]
pub struct Renderer {
    env: Environment<'static>,
    origins: BTreeMap<String, Origin>,
}

impl Renderer {
    /// The built-in templates with `overrides` (repository path such as
    /// `templates/mariadb/my.cnf.j2` -> template source) in their place.
    ///
    /// Errors: the first problem [`Renderer::check_overrides`] reports.
    pub fn new(overrides: &BTreeMap<String, String>) -> Result<Renderer, RenderError> {
        Self::with_overrides(overrides).map_err(|mut errors| errors.swap_remove(0))
    }

    /// The renderer with no overrides, built once per process (validation
    /// renders every node on every load).
    ///
    /// Errors: as [`Renderer::new`] (a dbfleet bug: the built-in templates
    /// are tested).
    pub fn builtin() -> Result<&'static Renderer, &'static RenderError> {
        static BUILTIN: OnceLock<Result<Renderer, RenderError>> = OnceLock::new();
        BUILTIN.get_or_init(|| Renderer::new(&BTreeMap::new())).as_ref()
    }

    /// Every problem with `overrides`: first the paths that override no
    /// built-in template, then template syntax errors with file, line and
    /// column, each group in path order. Empty when [`Renderer::new`] would
    /// succeed.
    pub fn check_overrides(overrides: &BTreeMap<String, String>) -> Vec<RenderError> {
        Self::with_overrides(overrides).err().unwrap_or_default()
    }

    /// [`Renderer::new`], failing with every problem
    /// [`Renderer::check_overrides`] reports (never an empty list).
    pub fn with_overrides(overrides: &BTreeMap<String, String>) -> Result<Renderer, Vec<RenderError>> {
        let mut env = Environment::new();
        let syntax = SyntaxConfig::builder()
            .keep_trailing_newline(true)
            .trim_blocks(true)
            .lstrip_blocks(true)
            .build()
            .map_err(|e| vec![RenderError::Setup(e)])?;
        env.set_syntax(syntax);
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_auto_escape_callback(|_| AutoEscape::None);
        env.set_debug(true);
        env.add_filter("cidr", cidr_filter);

        let mut errors = Vec::new();
        let mut sources: BTreeMap<String, (String, Origin)> = BUILTINS
            .iter()
            .map(|b| (b.name(), (b.source.to_string(), Origin::BuiltIn)))
            .collect();
        for (path, source) in overrides {
            let name = path.strip_prefix("templates/").unwrap_or(path);
            match sources.get_mut(name) {
                Some(slot) => *slot = (source.clone(), Origin::Override),
                None => errors.push(RenderError::UnknownOverride {
                    path: path.clone(),
                    expected: expected_overrides(name),
                }),
            }
        }
        let mut origins = BTreeMap::new();
        for (name, (source, origin)) in sources {
            if let Err(e) = env.add_template_owned(name.clone(), source.clone()) {
                errors.push(syntax_error(&name, origin, &e, &source));
            }
            origins.insert(name, origin);
        }
        if errors.is_empty() {
            Ok(Renderer { env, origins })
        } else {
            Err(errors)
        }
    }

    /// Every configuration file of the engine on `node` of `cluster`, in
    /// the engine's file order (see [`super::EnginePaths::config_files`]).
    /// The firewall is not among them: see [`Renderer::render_all`].
    ///
    /// `addresses` holds what the nodes' host names resolved to.
    ///
    /// Errors: unrenderable `[settings]` or `allowed_ips`, a peer's host name
    /// without addresses, and template failures with the template's path and
    /// line.
    pub fn render_node(
        &self,
        cluster: &Cluster,
        node: &NodeLayout,
        addresses: &Addresses,
    ) -> Result<Vec<RenderedFile>, RenderError> {
        let paths = engine_paths(cluster.engine, &cluster.version);
        let ctx = build_context(cluster, node, &paths, addresses)?;
        paths
            .config_files
            .iter()
            .map(|f| {
                let name = template_name(cluster.engine, f.template);
                let content = self.render_one(&name, &ctx)?;
                Ok(RenderedFile {
                    template: name,
                    path: f.path.clone(),
                    content,
                    mode: f.mode,
                    owner: f.owner.clone(),
                    group: f.group.clone(),
                })
            })
            .collect()
    }

    /// The firewall ruleset of `node`: the cluster's chain in
    /// `table inet dbfleet`, at [`firewall_path`], 0644 root:root.
    /// `ssh_port` is the fleet's (`[ssh] port`), always accepted.
    ///
    /// Errors: as [`Renderer::render_node`]; and with `allowed_ips` set, a
    /// node whose host name has no addresses ([`RenderError::Unresolved`]).
    pub fn render_firewall(
        &self,
        cluster: &Cluster,
        node: &NodeLayout,
        ssh_port: u16,
        addresses: &Addresses,
    ) -> Result<RenderedFile, RenderError> {
        let paths = engine_paths(cluster.engine, &cluster.version);
        let base = build_context(cluster, node, &paths, addresses)?;
        let firewall = firewall::context(cluster, node, ssh_port, addresses)?;
        let ctx = context! { firewall => firewall, ..base };
        let name = firewall_template_name();
        let content = self.render_one(&name, &ctx)?;
        Ok(RenderedFile {
            template: name,
            path: firewall_path(&cluster.name),
            content,
            mode: 0o644,
            owner: "root".to_string(),
            group: "root".to_string(),
        })
    }

    /// Every file dbfleet manages on `node`: the engine's configuration
    /// files ([`Renderer::render_node`]), then the firewall
    /// ([`Renderer::render_firewall`]). The first file stays the engine's
    /// main configuration file.
    pub fn render_all(
        &self,
        cluster: &Cluster,
        node: &NodeLayout,
        ssh_port: u16,
        addresses: &Addresses,
    ) -> Result<Vec<RenderedFile>, RenderError> {
        let mut files = self.render_node(cluster, node, addresses)?;
        files.push(self.render_firewall(cluster, node, ssh_port, addresses)?);
        Ok(files)
    }

    fn render_one(&self, name: &str, ctx: &minijinja::Value) -> Result<String, RenderError> {
        let template = self
            .env
            .get_template(name)
            .map_err(|_| RenderError::MissingTemplate {
                name: name.to_string(),
            })?;
        template.render(ctx).map_err(|e| {
            // Errors name the template they happened in; fall back to ours.
            let failed = e.name().unwrap_or(name).to_string();
            let origin = self.origins.get(&failed).copied().unwrap_or(Origin::BuiltIn);
            let source = self
                .env
                .get_template(&failed)
                .map(|t| t.source().to_string())
                .unwrap_or_default();
            RenderError::Render {
                at: location(&failed, origin, &e, &source),
                message: describe(&e),
            }
        })
    }

    /// Whether `<engine>/<file>` comes from the repository rather than the
    /// binary.
    pub fn is_overridden(&self, template: &str) -> bool {
        self.origins.get(template) == Some(&Origin::Override)
    }
}

/// The source of a built-in template, by repository path
/// (`templates/<engine>/<file>.j2`), e.g. to start an override from.
pub fn builtin_source(path: &str) -> Option<&'static str> {
    let name = path.strip_prefix("templates/")?;
    BUILTINS.iter().find(|b| b.name() == name).map(|b| b.source)
}

/// Repository paths of every built-in template.
pub fn builtin_paths() -> Vec<String> {
    BUILTINS.iter().map(|b| repo_path(&b.name())).collect()
}

/// What an override path should have been, for the error message.
fn expected_overrides(name: &str) -> String {
    let dir = name.split('/').next().unwrap_or_default();
    let firewall = repo_path(&firewall_template_name());
    if dir == FIREWALL_DIR {
        return format!("the firewall template is {firewall}");
    }
    match Engine::ALL.iter().find(|e| e.as_str() == dir) {
        Some(e) => {
            let files: Vec<String> = BUILTINS
                .iter()
                .filter(|b| b.is_for(*e))
                .map(|b| repo_path(&b.name()))
                .collect();
            format!("{e} has {}", files.join(", "))
        }
        None => {
            let engines: Vec<&str> = Engine::ALL.iter().map(|e| e.as_str()).collect();
            format!(
                "expected templates/<engine>/<file>.j2 with <engine> one of {}, or {firewall}",
                engines.join(", ")
            )
        }
    }
}

/// A template that does not parse. minijinja notices a block that is never
/// closed at the end of the file: such errors point at the opening tag.
fn syntax_error(name: &str, origin: Origin, e: &minijinja::Error, source: &str) -> RenderError {
    let at_end = e.kind() == ErrorKind::SyntaxError
        && e.detail()
            .is_some_and(|d| d.starts_with("unexpected end of input"));
    match unclosed_block(source).filter(|_| at_end) {
        Some(open) => RenderError::Unclosed {
            at: location_of(name, origin, source, open.span),
            keyword: open.keyword,
        },
        None => RenderError::Syntax {
            at: location(name, origin, e, source),
            message: describe(e),
        },
    }
}

fn location(name: &str, origin: Origin, e: &minijinja::Error, source: &str) -> Box<TemplateLocation> {
    match (e.line(), e.range()) {
        (Some(_), Some(range)) if source.get(..range.start).is_some() => {
            location_of(name, origin, source, range)
        }
        (line, _) => Box::new(TemplateLocation {
            path: repo_path(name),
            origin,
            line,
            column: None,
            span: None,
        }),
    }
}

/// The location of a byte range of `source`.
fn location_of(name: &str, origin: Origin, source: &str, span: Range<usize>) -> Box<TemplateLocation> {
    let start = span.start.min(source.len());
    let before = source.get(..start).unwrap_or_default();
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    Box::new(TemplateLocation {
        path: repo_path(name),
        origin,
        line: Some(before.matches('\n').count() + 1),
        column: Some(before[line_start..].chars().count() + 1),
        span: Some(start..span.end.clamp(start, source.len())),
    })
}

/// minijinja's message without its own "(in file:line)" suffix.
fn describe(e: &minijinja::Error) -> String {
    match e.detail() {
        Some(detail) => format!("{}: {detail}", e.kind()),
        None => e.kind().to_string(),
    }
}
