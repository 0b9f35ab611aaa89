//! One walk over a repository for both sources: which files are read, how
//! symbolic links are followed, and the problems found on the way. The
//! working tree and a git revision only answer the three questions of
//! [`Tree`], so they read the same files and refuse the same links.
//!
//! Links are followed only while they stay inside the repository directory:
//! a target is resolved component by component from the link's directory,
//! each `..` stepping out of a real directory, never above the root; an
//! absolute target is refused (inside the repository it would break in any
//! other clone). Content outside the repository is never read.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use super::problem::{decode, ProblemKind, SourceProblem};

/// A path inside the repository, as its components (the root is empty).
pub(super) type Rel = [String];

/// What is at a path, links not followed.
pub(super) enum Entry {
    File,
    Dir,
    /// A symbolic link and its target, as written.
    Link(String),
    Missing,
    /// A socket, device, git submodule...: never read.
    Other,
}

/// The repository as the walk sees it. Errors are the reason, for the user.
pub(super) trait Tree {
    fn entry(&self, path: &Rel) -> Result<Entry, String>;
    /// The names in a directory (not `.`, `..`).
    fn list(&self, dir: &Rel) -> Result<Vec<String>, String>;
    fn read(&self, file: &Rel) -> Result<Vec<u8>, String>;
    /// The repository directory on disk, made absolute, when there is one:
    /// an absolute link target inside it is told apart from one outside.
    fn root_dir(&self) -> Option<PathBuf>;
}

/// Links followed in a row before giving up (as Linux's ELOOP).
const MAX_LINKS: usize = 40;

/// The files dbfleet reads and the problems found.
#[derive(Default)]
pub(super) struct Walked {
    pub files: BTreeMap<String, String>,
    pub problems: Vec<SourceProblem>,
    /// Whether fleet.toml, clusters/ or requests/ exist at all.
    pub looks_like_a_repository: bool,
}

enum Resolved {
    File(Vec<String>),
    Dir(Vec<String>),
    Missing,
    Other,
}

/// A file or directory class in clusters/ and requests/ (and templates/).
struct Kind {
    dir: &'static str,
    ext: &'static str,
    expected: &'static str,
    /// Extensions (lower-case) that can only be a mistake.
    mistakes: &'static [&'static str],
}

const CLUSTERS: Kind = Kind {
    dir: "clusters",
    ext: "toml",
    expected: "clusters/<name>.toml",
    mistakes: &["toml", "yaml", "yml", "json"],
};
const REQUESTS: Kind = Kind {
    dir: "requests",
    ext: "toml",
    expected: "requests/<id>.toml",
    mistakes: &["toml", "yaml", "yml", "json"],
};
const TEMPLATES: Kind = Kind {
    dir: "templates",
    ext: "j2",
    expected: "templates/<engine>/<file>.j2",
    mistakes: &["j2"],
};

enum Class {
    Read,
    Mistake,
    Ignored,
    NotRead,
}

fn classify(name: &str, kind: &Kind) -> Class {
    let ext = name.rsplit_once('.').map(|(_, e)| e);
    let lower = ext.map(str::to_ascii_lowercase);
    let upper = name.to_ascii_uppercase();
    if name.starts_with('.') {
        // .gitkeep, .DS_Store, an editor's swap file
        Class::Ignored
    } else if ext == Some(kind.ext) {
        Class::Read
    } else if lower.as_deref().is_some_and(|e| kind.mistakes.contains(&e)) {
        Class::Mistake
    } else if upper.starts_with("README") || matches!(lower.as_deref(), Some("md" | "txt")) {
        Class::Ignored
    } else {
        Class::NotRead
    }
}

pub(super) fn walk(tree: &dyn Tree) -> Walked {
    let mut w = Walked::default();
    let root: Vec<String> = Vec::new();
    let fleet = w.resolve(tree, &root, "fleet.toml");
    w.looks_like_a_repository |= !matches!(fleet, Some(Resolved::Missing));
    match fleet {
        Some(Resolved::File(real)) => w.read(tree, "fleet.toml", &real),
        Some(Resolved::Dir(_) | Resolved::Other) => w.problem("fleet.toml", ProblemKind::NotAFile),
        Some(Resolved::Missing) | None => {}
    }
    w.misnamed_fleet(tree);
    for kind in [&CLUSTERS, &REQUESTS, &TEMPLATES] {
        let found = w.resolve(tree, &root, kind.dir);
        // templates/ alone is too common a name to mark a dbfleet repository
        if kind.dir != TEMPLATES.dir {
            w.looks_like_a_repository |= !matches!(found, Some(Resolved::Missing));
        }
        match found {
            Some(Resolved::Dir(real)) if kind.dir == TEMPLATES.dir => {
                w.templates(tree, kind.dir, &real, &mut Vec::new())
            }
            Some(Resolved::Dir(real)) => w.flat(tree, kind, &real),
            Some(Resolved::File(_) | Resolved::Other) => w.problem(kind.dir, ProblemKind::NotADirectory),
            Some(Resolved::Missing) | None => {}
        }
    }
    w
}

impl Walked {
    fn problem(&mut self, path: &str, kind: ProblemKind) {
        self.problems.push(SourceProblem::new(path, kind));
    }

    /// What `name` in the real directory `dir` is, following links; a
    /// problem (and None) when a link leaves the repository or leads
    /// nowhere. `logical` names the path in problems.
    fn resolve(&mut self, tree: &dyn Tree, dir: &Rel, name: &str) -> Option<Resolved> {
        let logical = logical(dir, name);
        match resolve(tree, dir, name) {
            Ok(r) => Some(r),
            Err(kind) => {
                self.problems.push(SourceProblem::new(logical, kind));
                None
            }
        }
    }

    fn read(&mut self, tree: &dyn Tree, logical: &str, real: &Rel) {
        match tree.read(real) {
            Ok(bytes) => match decode(logical, bytes) {
                Ok(text) => {
                    self.files.insert(logical.to_string(), text);
                }
                Err(p) => self.problems.push(p),
            },
            Err(reason) => self.problem(logical, ProblemKind::Unreadable { reason }),
        }
    }

    fn list(&mut self, tree: &dyn Tree, logical: &str, real: &Rel) -> Vec<String> {
        match tree.list(real) {
            Ok(mut names) => {
                names.sort();
                names
            }
            Err(reason) => {
                self.problem(logical, ProblemKind::Unreadable { reason });
                Vec::new()
            }
        }
    }

    /// `fleet.yaml`, `FLEET.TOML` beside (or instead of) fleet.toml.
    fn misnamed_fleet(&mut self, tree: &dyn Tree) {
        let Ok(names) = tree.list(&[]) else { return };
        for name in names {
            let Some((stem, ext)) = name.rsplit_once('.') else {
                continue;
            };
            let ext = ext.to_ascii_lowercase();
            if name != "fleet.toml"
                && stem.eq_ignore_ascii_case("fleet")
                && ["toml", "yaml", "yml", "json"].contains(&ext.as_str())
            {
                self.problem(
                    &name,
                    ProblemKind::WrongName {
                        expected: "fleet.toml",
                    },
                );
            }
        }
    }

    /// clusters/ or requests/: the files directly inside.
    fn flat(&mut self, tree: &dyn Tree, kind: &Kind, real: &Rel) {
        for name in self.list(tree, kind.dir, real) {
            let path = format!("{}/{name}", kind.dir);
            match classify(&name, kind) {
                Class::Ignored => continue,
                Class::Mistake => {
                    self.problem(
                        &path,
                        ProblemKind::WrongName {
                            expected: kind.expected,
                        },
                    );
                    continue;
                }
                Class::NotRead | Class::Read => {}
            }
            match self.resolve(tree, real, &name) {
                Some(Resolved::File(file)) => match classify(&name, kind) {
                    Class::Read => self.read(tree, &path, &file),
                    _ => self.problem(
                        &path,
                        ProblemKind::NotRead {
                            expected: kind.expected,
                        },
                    ),
                },
                Some(Resolved::Dir(sub)) => self.subdirectory(tree, kind, &path, &sub),
                Some(Resolved::Missing | Resolved::Other) | None => {}
            }
        }
    }

    /// A sub-directory of clusters/ or requests/: nothing in it is read;
    /// what looks meant to be is an error. Links in it are not followed.
    fn subdirectory(&mut self, tree: &dyn Tree, kind: &Kind, logical: &str, real: &Rel) {
        for name in self.list(tree, logical, real) {
            let path = format!("{logical}/{name}");
            let mut inner = real.to_vec();
            inner.push(name.clone());
            match tree.entry(&inner) {
                Ok(Entry::Dir) => self.subdirectory(tree, kind, &path, &inner),
                Ok(Entry::File | Entry::Link(_)) => {
                    if matches!(classify(&name, kind), Class::Read | Class::Mistake) {
                        self.problem(
                            &path,
                            ProblemKind::InSubdirectory {
                                dir: kind.dir,
                                expected: kind.expected,
                            },
                        );
                    }
                }
                Ok(Entry::Missing | Entry::Other) => {}
                Err(reason) => self.problem(&path, ProblemKind::Unreadable { reason }),
            }
        }
    }

    /// templates/, at any depth; `stack` holds the real directories being
    /// walked, so that a link back to one of them is reported, not looped.
    fn templates(&mut self, tree: &dyn Tree, logical: &str, real: &Rel, stack: &mut Vec<Vec<String>>) {
        stack.push(real.to_vec());
        for name in self.list(tree, logical, real) {
            let path = format!("{logical}/{name}");
            let class = classify(&name, &TEMPLATES);
            if matches!(class, Class::Ignored) {
                continue;
            }
            match self.resolve(tree, real, &name) {
                Some(Resolved::File(file)) => match class {
                    Class::Read => self.read(tree, &path, &file),
                    Class::Mistake => self.problem(
                        &path,
                        ProblemKind::WrongName {
                            expected: TEMPLATES.expected,
                        },
                    ),
                    _ => self.problem(
                        &path,
                        ProblemKind::NotRead {
                            expected: TEMPLATES.expected,
                        },
                    ),
                },
                Some(Resolved::Dir(sub)) if stack.iter().any(|s| s.starts_with(&sub)) => {
                    let mut link = real.to_vec();
                    link.push(name.clone());
                    let target = match tree.entry(&link) {
                        Ok(Entry::Link(t)) => t,
                        _ => name.clone(),
                    };
                    self.problem(&path, ProblemKind::LinkLoop { target });
                }
                Some(Resolved::Dir(sub)) => self.templates(tree, &path, &sub, stack),
                Some(Resolved::Missing | Resolved::Other) | None => {}
            }
        }
        stack.pop();
    }
}

fn logical(dir: &Rel, name: &str) -> String {
    let mut parts = dir.to_vec();
    parts.push(name.to_string());
    parts.join("/")
}

/// Follow `name` in the real directory `dir` to what it is. The resolved
/// path holds no link, so `..` in a target is the real parent directory.
fn resolve(tree: &dyn Tree, dir: &Rel, name: &str) -> Result<Resolved, ProblemKind> {
    let mut done: Vec<String> = dir.to_vec();
    let mut todo: Vec<String> = vec![name.to_string()];
    // The first link met is the one the user sees: `name` itself.
    let mut first: Option<String> = None;
    let mut links = 0;
    while let Some(part) = todo.pop() {
        match part.as_str() {
            "" | "." => continue,
            ".." => {
                if done.pop().is_none() {
                    return Err(ProblemKind::LinkOutside {
                        target: first.unwrap_or_default(),
                    });
                }
                continue;
            }
            _ => {}
        }
        done.push(part);
        let entry = tree
            .entry(&done)
            .map_err(|reason| ProblemKind::Unreadable { reason })?;
        match entry {
            Entry::Link(target) => {
                done.pop();
                let shown = first.get_or_insert_with(|| target.clone()).clone();
                links += 1;
                if links > MAX_LINKS {
                    return Err(ProblemKind::LinkLoop { target: shown });
                }
                if Path::new(&target).is_absolute() {
                    return Err(absolute(tree, &target, shown));
                }
                // Components are taken from the end of `todo`: push in reverse.
                todo.extend(target.split('/').rev().map(str::to_string));
            }
            Entry::Dir => {}
            Entry::File if todo.iter().all(|p| p.is_empty() || p == ".") => return Ok(Resolved::File(done)),
            Entry::File | Entry::Missing => {
                return match first {
                    Some(target) => Err(ProblemKind::LinkDangling { target }),
                    None => Ok(Resolved::Missing),
                };
            }
            Entry::Other => return Ok(Resolved::Other),
        }
    }
    Ok(Resolved::Dir(done))
}

/// An absolute link target: outside the repository, or inside but absolute.
fn absolute(tree: &dyn Tree, target: &str, shown: String) -> ProblemKind {
    let inside = tree
        .root_dir()
        .is_some_and(|root| normalize(Path::new(target)).starts_with(root));
    if inside {
        ProblemKind::LinkAbsolute { target: shown }
    } else {
        ProblemKind::LinkOutside { target: shown }
    }
}

/// `..` and `.` taken out of an absolute path, lexically.
fn normalize(path: &Path) -> PathBuf {
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

#[cfg(test)]
#[path = "walk_tests.rs"]
mod tests;
