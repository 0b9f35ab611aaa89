//! Temporary git repositories for tests, written with git2 (no `git` subprocess).
//!
//! Commits are deterministic: a fixed author and a clock that starts at 2023-11-14 22:13:20 UTC
//! and advances one minute per commit, so the same files give the same commit ids in every run
//! (snapshot tests may show them).

use std::cell::Cell;
use std::fs;
use std::path::{Path, PathBuf};

use git2::{IndexAddOption, Oid, Repository, RepositoryInitOptions, Signature, Time};
use tempfile::TempDir;

const FIRST_COMMIT_TIME: i64 = 1_700_000_000;

/// A git repository in a temporary directory (deleted on drop), branch `main`.
pub struct TempRepo {
    dir: TempDir,
    repo: Repository,
    commits: Cell<i64>,
}

impl TempRepo {
    /// An empty repository (no commit yet).
    pub fn new() -> TempRepo {
        let dir = tempfile::Builder::new()
            .prefix("dbfleet-repo-")
            .tempdir()
            .expect("create temp dir");
        let mut opts = RepositoryInitOptions::new();
        opts.initial_head("main");
        let repo = Repository::init_opts(dir.path(), &opts).expect("git init");
        TempRepo {
            dir,
            repo,
            commits: Cell::new(0),
        }
    }

    /// A repository whose first commit ("initial") holds `files` (path relative to the
    /// repository, content).
    pub fn with_files(files: &[(&str, &str)]) -> TempRepo {
        let repo = TempRepo::new();
        repo.commit_files("initial", files);
        repo
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn repo(&self) -> &Repository {
        &self.repo
    }

    /// Writes a file in the work tree (creating parent directories); not committed.
    pub fn write(&self, rel: &str, content: &str) -> PathBuf {
        let path = self.dir.path().join(rel);
        fs::create_dir_all(path.parent().expect("file path has a parent")).expect("create dirs");
        fs::write(&path, content).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        path
    }

    /// Removes a file from the work tree; not committed.
    pub fn remove(&self, rel: &str) {
        let path = self.dir.path().join(rel);
        fs::remove_file(&path).unwrap_or_else(|e| panic!("remove {}: {e}", path.display()));
    }

    /// Stages everything in the work tree (new, changed and removed files) and commits it on
    /// `main`. Returns the commit id.
    pub fn commit(&self, message: &str) -> Oid {
        let mut index = self.repo.index().expect("open index");
        index
            .add_all(["*"], IndexAddOption::DEFAULT, None)
            .expect("git add");
        index.update_all(["*"], None).expect("stage removals");
        index.write().expect("write index");
        let tree = self
            .repo
            .find_tree(index.write_tree().expect("write tree"))
            .expect("find tree");
        let n = self.commits.get();
        self.commits.set(n + 1);
        let sig = Signature::new(
            "dbfleet tests",
            "tests@dbfleet.invalid",
            &Time::new(FIRST_COMMIT_TIME + 60 * n, 0),
        )
        .expect("signature");
        let parent = self.repo.head().ok().and_then(|h| h.peel_to_commit().ok());
        let parents: Vec<&git2::Commit> = parent.iter().collect();
        self.repo
            .commit(Some("HEAD"), &sig, &sig, message, &tree, &parents)
            .expect("git commit")
    }

    /// Writes `files` and commits them.
    pub fn commit_files(&self, message: &str, files: &[(&str, &str)]) -> Oid {
        for (rel, content) in files {
            self.write(rel, content);
        }
        self.commit(message)
    }

    /// The commit `main` points at.
    pub fn head(&self) -> Oid {
        self.repo
            .head()
            .expect("HEAD")
            .peel_to_commit()
            .expect("HEAD is a commit")
            .id()
    }
}

impl Default for TempRepo {
    fn default() -> Self {
        TempRepo::new()
    }
}
