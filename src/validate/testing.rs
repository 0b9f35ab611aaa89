//! For the rules' unit tests: a repository in memory, loaded, and every
//! diagnostic as one line.

use crate::load::{load, LoadContext};
use crate::source::Snapshot;

/// Every diagnostic of loading `files`, as
/// `file:line:column: severity: [field: ]message [| label] [| help]`.
pub fn diagnostics(files: &[(&str, &str)], ctx: &LoadContext) -> Vec<String> {
    let snap = Snapshot::in_memory(files.iter().copied());
    let diags = match load(&snap, ctx) {
        Ok(loaded) => loaded.warnings,
        Err(diags) => diags,
    };
    diags
        .iter()
        .map(|d| {
            let text = snap.files.get(&d.file).map(String::as_str).unwrap_or_default();
            let (line, col) = d.line_col(text).unwrap_or((0, 0));
            let severity = if d.is_error() { "error" } else { "warning" };
            let field = d.field.as_ref().map(|f| format!("{f}: ")).unwrap_or_default();
            let mut out = format!("{}:{line}:{col}: {severity}: {field}{}", d.file, d.message);
            if !d.label.is_empty() {
                out.push_str(&format!(" | {}", d.label));
            }
            if let Some(help) = &d.help {
                out.push_str(&format!(" | {help}"));
            }
            out
        })
        .collect()
}

/// A MariaDB cluster `db` with three nodes and these `[settings]` lines.
pub fn mariadb(settings: &str) -> String {
    format!(
        "name = \"db\"\nengine = \"mariadb\"\nversion = \"10.11\"\ntopology = \"primary-replica\"\n\
         [settings]\n{settings}\n[[nodes]]\nhost = \"10.0.0.11\"\n[[nodes]]\nhost = \"10.0.0.12\"\n\
         [[nodes]]\nhost = \"10.0.0.13\"\n"
    )
}
