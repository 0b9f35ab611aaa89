//! Errors of building the renderer and of rendering a node's files.

use std::fmt;
use std::ops::Range;

use super::settings::SettingError;

/// Where a template came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Embedded in the dbfleet binary.
    BuiltIn,
    /// A file in the user's repository.
    Override,
}

/// A position in a template, for `file:line:column` messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateLocation {
    /// Repository path, e.g. `templates/mariadb/my.cnf.j2`.
    pub path: String,
    pub origin: Origin,
    /// 1-based; absent when the engine could not tell.
    pub line: Option<usize>,
    /// 1-based, in characters.
    pub column: Option<usize>,
    /// Byte range in the template's source of what the error is about,
    /// when the engine could tell.
    pub span: Option<Range<usize>>,
}

impl fmt::Display for TemplateLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.origin == Origin::BuiltIn {
            f.write_str("built-in ")?;
        }
        f.write_str(&self.path)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        Ok(())
    }
}

/// Guarantees: small enough to embed in other errors (locations are boxed).
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// A template override does not parse.
    #[error("{at}: template syntax error: {message}")]
    Syntax {
        at: Box<TemplateLocation>,
        message: String,
    },

    /// A template override leaves a block tag open (`{% if %}` without
    /// `{% endif %}`); `at` is the opening tag.
    #[error("{at}: template syntax error: `{{% {keyword} %}}` opened here is never closed (expected `{{% end{keyword} %}}`)")]
    Unclosed {
        at: Box<TemplateLocation>,
        keyword: String,
    },

    /// An override names no built-in template (wrong engine or file name).
    #[error("{path}: no built-in template at this path to override; {expected}")]
    UnknownOverride { path: String, expected: String },

    /// A template failed while rendering (an undefined variable, a bad filter
    /// argument, an explicit raise).
    #[error("{at}: rendering failed: {message}")]
    Render {
        at: Box<TemplateLocation>,
        message: String,
    },

    /// `[settings]` entries that cannot be written into the configuration.
    #[error("cluster {cluster:?}: {}", join(.errors))]
    Settings {
        cluster: String,
        errors: Vec<SettingError>,
    },

    /// An `allowed_ips` entry that is neither an address nor a CIDR range.
    #[error("cluster {cluster:?}: allowed_ips entry {value:?} is neither an IP address nor a CIDR range")]
    AllowedIp { cluster: String, value: String },

    /// A node given by host name without addresses (its lookup failed):
    /// the firewall and pg_hba.conf let the cluster's own nodes in by address.
    #[error("cluster {cluster:?}: node {node}: {unresolved}")]
    Unresolved {
        cluster: String,
        node: String,
        unresolved: Box<super::Unresolved>,
    },

    /// The template engine could not be configured (a dbfleet bug).
    #[error("template engine setup failed: {0}")]
    Setup(#[source] minijinja::Error),

    /// No template is loaded for one of the engine's files (a dbfleet bug).
    #[error("no template {name:?} is loaded")]
    MissingTemplate { name: String },
}

fn join(errors: &[SettingError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}
