//! Problems the source layer finds in single files (a link that leaves the
//! repository, bytes that are not UTF-8, a file under a name dbfleet does not
//! read). They travel in the [`Snapshot`](super::Snapshot) beside the files
//! that did read, so that one bad file hides nothing else; loading turns them
//! into [`Diagnostic`]s.

use crate::diag::Diagnostic;

/// One problem with one path of the repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceProblem {
    /// Repository-relative path with `/` separators (`clusters/a.toml`).
    pub path: String,
    pub kind: ProblemKind,
}

/// What is wrong with the path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProblemKind {
    /// A symbolic link whose target is outside the repository directory.
    LinkOutside { target: String },
    /// A symbolic link to an absolute path inside the repository: it would
    /// break in a clone anywhere else.
    LinkAbsolute { target: String },
    /// A symbolic link to nothing.
    LinkDangling { target: String },
    /// Links that lead to themselves, or too many links in a row.
    LinkLoop { target: String },
    /// The bytes are not UTF-8; `offset` is that of the first bad byte.
    NotUtf8 {
        offset: usize,
        byte: u8,
        line: usize,
        column: usize,
    },
    /// The file or directory could not be read.
    Unreadable { reason: String },
    /// `clusters` or `requests` (or `templates`) is not a directory.
    NotADirectory,
    /// `fleet.toml` is not a file.
    NotAFile,
    /// A name that can only be a mistake (`clusters/billing.yaml`,
    /// `CACHE.TOML`): an error. `expected` is the form dbfleet reads.
    WrongName { expected: &'static str },
    /// A file in a sub-directory of clusters/ or requests/ that looks like
    /// one dbfleet would read: an error, as it is not read.
    InSubdirectory {
        dir: &'static str,
        expected: &'static str,
    },
    /// Some other file that is not read (`shop.toml.bak`): a warning, as
    /// the user may mean it.
    NotRead { expected: &'static str },
    /// The working tree has none of fleet.toml, clusters/ and requests/.
    NotARepository { dir: String },
}

impl SourceProblem {
    pub fn new(path: impl Into<String>, kind: ProblemKind) -> SourceProblem {
        SourceProblem {
            path: path.into(),
            kind,
        }
    }

    pub fn is_error(&self) -> bool {
        !matches!(self.kind, ProblemKind::NotRead { .. })
    }

    /// What is wrong, naming the path.
    pub fn message(&self) -> String {
        let p = &self.path;
        match &self.kind {
            ProblemKind::LinkOutside { target } => {
                format!("`{p}` is a symbolic link to `{target}`, which is outside the repository")
            }
            ProblemKind::LinkAbsolute { target } => {
                format!("`{p}` is a symbolic link to the absolute path `{target}`")
            }
            ProblemKind::LinkDangling { target } => {
                format!("`{p}` is a symbolic link to `{target}`, which does not exist")
            }
            ProblemKind::LinkLoop { target } => {
                format!("`{p}` is a symbolic link to `{target}`, which leads back to itself")
            }
            ProblemKind::NotUtf8 {
                offset,
                byte,
                line,
                column,
            } => format!(
                "`{p}` is not UTF-8 text: invalid byte 0x{byte:02x} at offset {offset} \
                 (line {line}, column {column})"
            ),
            ProblemKind::Unreadable { reason } => format!("cannot read `{p}`: {reason}"),
            ProblemKind::NotADirectory => format!("`{p}` is not a directory"),
            ProblemKind::NotAFile => format!("`{p}` is not a file"),
            ProblemKind::WrongName { expected } | ProblemKind::NotRead { expected } => {
                format!("`{p}` is not read: dbfleet reads `{expected}`")
            }
            ProblemKind::InSubdirectory { dir, expected } => {
                format!("`{p}` is not read: dbfleet reads `{expected}`, not sub-directories of {dir}/")
            }
            ProblemKind::NotARepository { dir } => {
                format!("no clusters/ directory in {dir}: is this a dbfleet repository?")
            }
        }
    }

    /// How to fix it.
    pub fn help(&self) -> String {
        match &self.kind {
            ProblemKind::LinkOutside { .. } => "links must stay inside the repository (dbfleet \
                 reads nothing outside it): copy what the link points to into the repository"
                .into(),
            ProblemKind::LinkAbsolute { .. } => "links must stay inside the repository and be \
                 relative (`../templates/x.j2`), so that every clone reads the same files"
                .into(),
            ProblemKind::LinkDangling { .. } => "links must point to a file inside the repository".into(),
            ProblemKind::LinkLoop { .. } => "links must end at a file inside the repository".into(),
            ProblemKind::NotUtf8 { .. } => "dbfleet reads UTF-8 text only: save the file as UTF-8".into(),
            ProblemKind::Unreadable { .. } => "check the file's permissions".into(),
            ProblemKind::NotADirectory => {
                format!("{} holds one file per item: make it a directory", self.path)
            }
            ProblemKind::NotAFile => "fleet.toml must be a file".into(),
            ProblemKind::WrongName { expected } => {
                format!("rename it to `{}`", renamed(&self.path, expected))
                    + if self.path.to_ascii_lowercase().ends_with(".toml")
                        || self.path.to_ascii_lowercase().ends_with(".j2")
                    {
                        ""
                    } else {
                        ", written in TOML"
                    }
            }
            ProblemKind::InSubdirectory { dir, .. } => {
                format!("move it directly into {dir}/, or out of {dir}/ if it is not meant to be read")
            }
            ProblemKind::NotRead { expected } => {
                format!("name it like `{expected}` if it is meant to be read; move it elsewhere otherwise")
            }
            ProblemKind::NotARepository { .. } => "a dbfleet repository has clusters/<name>.toml \
                 (and optionally fleet.toml, requests/ and templates/): run dbfleet in it, or \
                 name it, e.g. `dbfleet validate path/to/repo`"
                .into(),
        }
    }
}

/// The name a misnamed file should have: its stem with the expected
/// extension (`clusters/billing.yaml` -> `clusters/billing.toml`).
fn renamed(path: &str, expected: &str) -> String {
    let ext = expected.rsplit_once('.').map_or("", |(_, e)| e);
    let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
    let stem = name.rsplit_once('.').map_or(name, |(s, _)| s);
    let stem = if expected == "fleet.toml" {
        "fleet".to_string()
    } else {
        stem.to_string()
    };
    match dir {
        "" => format!("{stem}.{ext}"),
        d => format!("{d}/{stem}.{ext}"),
    }
}

impl From<&SourceProblem> for Diagnostic {
    fn from(p: &SourceProblem) -> Diagnostic {
        let d = if p.is_error() {
            Diagnostic::error(&p.path, p.message())
        } else {
            Diagnostic::warning(&p.path, p.message())
        };
        let d = match &p.kind {
            ProblemKind::NotUtf8 { offset, .. } => d.at(Some(*offset..offset + 1)),
            _ => d,
        };
        d.help(p.help())
    }
}

/// The first bad byte of text that is not UTF-8, as a problem of `path`.
pub(super) fn decode(path: &str, bytes: Vec<u8>) -> Result<String, SourceProblem> {
    String::from_utf8(bytes).map_err(|e| {
        let bytes = e.as_bytes();
        let offset = e.utf8_error().valid_up_to();
        let before = &bytes[..offset];
        let line = before.iter().filter(|b| **b == b'\n').count() + 1;
        let line_start = before.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        // The prefix is valid UTF-8 by definition, so its characters can be counted.
        let column = std::str::from_utf8(&before[line_start..]).map_or(0, |s| s.chars().count()) + 1;
        SourceProblem::new(
            path,
            ProblemKind::NotUtf8 {
                offset,
                byte: bytes.get(offset).copied().unwrap_or_default(),
                line,
                column,
            },
        )
    })
}
