//! Where each request file came from: the commit that added it (as it is
//! now named) on the first-parent history of HEAD, and that commit's author.
//! Requests run in that order ("commit order"); files no commit added yet
//! (a working tree not committed) come last, by name.

use git2::Repository;
use std::collections::BTreeMap;
use std::path::Path;

use super::git::subdir_prefix;

/// The commit that added a request file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileOrigin {
    pub commit: String,
    /// "Name <email>".
    pub author: String,
    /// Position on the first-parent history, oldest commit 0.
    pub seq: usize,
}

/// For every `requests/*.toml` file present at HEAD of the repository
/// containing `root`: the commit that added it. Empty outside git, or
/// when the history cannot be read.
pub fn request_origins(root: &Path) -> BTreeMap<String, FileOrigin> {
    let Ok(repo) = Repository::discover(root) else {
        return BTreeMap::new();
    };
    let prefix = subdir_prefix(&repo, root);
    let Ok(mut commit) = repo.head().and_then(|h| h.peel_to_commit()) else {
        return BTreeMap::new();
    };
    let dir = format!("{prefix}requests");
    let mut chain = Vec::new();
    loop {
        let listing = commit
            .tree()
            .ok()
            .and_then(|t| t.get_path(Path::new(&dir)).ok())
            .and_then(|e| e.to_object(&repo).ok())
            .and_then(|o| o.into_tree().ok())
            .map(|t| {
                t.iter()
                    .filter_map(|e| e.name().ok().map(|n| (n.to_string(), e.id())))
                    .collect::<BTreeMap<String, git2::Oid>>()
            })
            .unwrap_or_default();
        let who = {
            let author = commit.author();
            format!(
                "{} <{}>",
                String::from_utf8_lossy(author.name_bytes()),
                String::from_utf8_lossy(author.email_bytes())
            )
        };
        chain.push((commit.id().to_string(), who, listing));
        match commit.parents().next() {
            Some(parent) => commit = parent,
            None => break,
        }
    }
    // Oldest first: a file is added by the first commit of its last
    // unbroken run of presence up to HEAD.
    chain.reverse();
    let Some((_, _, at_head)) = chain.last() else {
        return BTreeMap::new();
    };
    let mut out = BTreeMap::new();
    for name in at_head.keys().filter(|n| n.ends_with(".toml")) {
        let mut added = chain.len() - 1;
        while added > 0 && chain[added - 1].2.contains_key(name) {
            added -= 1;
        }
        let (id, author, _) = &chain[added];
        out.insert(
            format!("requests/{name}"),
            FileOrigin {
                commit: id.clone(),
                author: author.clone(),
                seq: added,
            },
        );
    }
    out
}
