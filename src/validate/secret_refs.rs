//! Secret references (`{ env = "NAME" }`, `{ file = "path" }`) in every
//! file: a name to read, and a file that never sits in the repository.
//!
//! A `file` is read by the dbfleet process as written (after `~/`), so a
//! relative path would depend on the directory dbfleet runs in and most
//! likely point into the checkout: it must be absolute or start with `~/`.
//! An absolute path inside the repository's working tree is refused too.

use std::path::{Component, Path, PathBuf};

use super::Input;
use crate::diag::Diagnostic;
use crate::load::doc::{field_path, Doc};
use crate::model::{Request, Secret};

pub fn check(input: &Input<'_>) -> Vec<Diagnostic> {
    let mut found: Vec<(&str, String, &Secret)> = Vec::new();
    if let Some(email) = input.fleet.notify.as_ref().and_then(|n| n.email.as_ref()) {
        found.extend(
            email
                .password
                .iter()
                .map(|s| ("fleet.toml", "/notify/email/password".into(), s)),
        );
    }
    if let Some(dns) = &input.fleet.dns {
        found.extend(
            dns.tsig_key
                .iter()
                .map(|s| ("fleet.toml", "/dns/tsig_key".into(), s)),
        );
    }
    for (file, c) in input.clusters {
        if let Some(p) = &c.passwords {
            found.extend(
                p.admin
                    .iter()
                    .map(|s| (file.as_str(), "/passwords/admin".into(), s)),
            );
            found.extend(
                p.replication
                    .iter()
                    .map(|s| (file.as_str(), "/passwords/replication".into(), s)),
            );
        }
    }
    for r in input.requests {
        if let Request::Migrate {
            password: Some(s), ..
        } = &r.request
        {
            found.push((r.path.as_str(), "/password".into(), s));
        }
    }
    let checkout = input.repo_dir.map(checkout);
    found
        .into_iter()
        .filter_map(|(file, ptr, secret)| {
            let doc = input.doc(file)?;
            check_one(doc, &ptr, secret, checkout.as_deref())
        })
        .collect()
}

/// The git checkout the repository directory lies in (the directory holding
/// `.git`), else the directory itself; absolute where it can be.
fn checkout(dir: &Path) -> PathBuf {
    let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    dir.ancestors()
        .find(|a| a.join(".git").exists())
        .map_or_else(|| dir.clone(), Path::to_path_buf)
}

fn check_one(doc: &Doc, ptr: &str, secret: &Secret, repo: Option<&Path>) -> Option<Diagnostic> {
    let (key, value) = match secret {
        Secret::Env(name) => ("env", name),
        Secret::File(path) => ("file", path),
    };
    let at = format!("{ptr}/{key}");
    let d = |msg: String, label: &str| {
        Diagnostic::error(&doc.file, msg)
            .field(field_path(ptr))
            .at(doc.value_span(&at).or_else(|| doc.value_span(ptr)))
            .label(label)
    };
    let example = r#"{ env = "SHOP_ADMIN_PASSWORD" }"#;
    match secret {
        Secret::Env(name) if name.trim().is_empty() => Some(
            d("the environment variable name is empty".into(), "empty name")
                .help(format!("write the name of the variable that holds the secret, e.g. {example}")),
        ),
        Secret::Env(name) if name.contains(['=', '\0']) || name.trim() != name => Some(
            d(format!("`{name}` is not an environment variable name"), "invalid name")
                .help("a variable name has no spaces, '=' or NUL characters"),
        ),
        Secret::File(path) if path.trim().is_empty() => Some(
            d("the file path is empty".into(), "empty path")
                .help(r#"write the absolute path of a file outside the repository, e.g. { file = "/etc/dbfleet/secrets/shop-admin" }"#),
        ),
        Secret::File(path) if !(path.starts_with('/') || path.starts_with("~/")) => Some(
            d(format!("`{value}` is a relative path"), "relative path").help(
                "secrets must never sit in the repository: write an absolute path or one starting with ~/, outside the repository",
            ),
        ),
        Secret::File(path) => {
            let repo = repo?;
            let full = crate::secrets::expand_home(path);
            inside(&full, repo).then(|| {
                d(
                    format!("`{path}` is inside the repository ({})", repo.display()),
                    "inside the repository",
                )
                .help("secrets must never sit in git: move the file outside the repository and name that path")
            })
        }
        Secret::Env(_) => None,
    }
}

/// Whether `path` lies in the directory `root`, by its written form and,
/// where the files exist, after following links.
fn inside(path: &Path, root: &Path) -> bool {
    if lexical(path).starts_with(lexical(root)) {
        return true;
    }
    match (std::fs::canonicalize(root), resolved(path)) {
        (Ok(root), Some(path)) => path.starts_with(root),
        _ => false,
    }
}

/// `path` without `.` and `..` components.
fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// The real path of `path`: its longest existing ancestor resolved, the rest appended.
fn resolved(path: &Path) -> Option<PathBuf> {
    let path = lexical(path);
    let mut tail = Vec::new();
    let mut head = path.as_path();
    loop {
        if let Ok(real) = std::fs::canonicalize(head) {
            return Some(tail.iter().rev().fold(real, |p, c| p.join(c)));
        }
        tail.push(head.file_name()?.to_owned());
        head = head.parent()?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inside_by_text_and_by_links() {
        let root = tempfile::tempdir().expect("tmp");
        let r = root.path();
        assert!(inside(&r.join("secrets/pw"), r));
        assert!(inside(&r.join("a/../pw"), r));
        assert!(!inside(&r.join("../elsewhere/pw"), r));
        assert!(!inside(Path::new("/etc/dbfleet/pw"), r));
        let outside = tempfile::tempdir().expect("tmp");
        let link = outside.path().join("link");
        std::os::unix::fs::symlink(r, &link).expect("symlink");
        assert!(inside(&link.join("not-yet/pw"), r));
    }
}
