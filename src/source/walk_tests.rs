//! The walk on an in-memory tree: which files are read, how links resolve.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use super::{walk, Entry, Rel, Tree, Walked};
use crate::source::problem::ProblemKind;

enum Node {
    File(&'static [u8]),
    Link(&'static str),
}

/// Files and links by path; directories are implied by the paths under them.
struct Mem(BTreeMap<&'static str, Node>);

impl Mem {
    fn new(entries: Vec<(&'static str, Node)>) -> Mem {
        Mem(entries.into_iter().collect())
    }
}

impl Tree for Mem {
    fn entry(&self, rel: &Rel) -> Result<Entry, String> {
        let path = rel.join("/");
        Ok(match self.0.get(path.as_str()) {
            Some(Node::File(_)) => Entry::File,
            Some(Node::Link(t)) => Entry::Link(t.to_string()),
            None if path.is_empty() || self.0.keys().any(|k| k.starts_with(&format!("{path}/"))) => {
                Entry::Dir
            }
            None => Entry::Missing,
        })
    }

    fn list(&self, dir: &Rel) -> Result<Vec<String>, String> {
        let prefix = match dir.join("/") {
            d if d.is_empty() => d,
            d => format!("{d}/"),
        };
        let names: BTreeSet<String> = self
            .0
            .keys()
            .filter_map(|k| k.strip_prefix(&prefix))
            .filter_map(|rest| rest.split('/').next().map(str::to_string))
            .collect();
        Ok(names.into_iter().collect())
    }

    fn read(&self, file: &Rel) -> Result<Vec<u8>, String> {
        match self.0.get(file.join("/").as_str()) {
            Some(Node::File(b)) => Ok(b.to_vec()),
            _ => Err("not a file".into()),
        }
    }

    fn root_dir(&self) -> Option<PathBuf> {
        Some(PathBuf::from("/repo"))
    }
}

fn run(entries: Vec<(&'static str, Node)>) -> Walked {
    walk(&Mem::new(entries))
}

fn problems(w: &Walked) -> Vec<(String, ProblemKind)> {
    w.problems
        .iter()
        .map(|p| (p.path.clone(), p.kind.clone()))
        .collect()
}

fn files(w: &Walked) -> Vec<(&str, &str)> {
    w.files.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

use Node::{File, Link};

#[test]
fn a_link_inside_the_repository_is_read_under_its_own_name() {
    let w = run(vec![
        ("shared/a.toml", File(b"a")),
        ("clusters/a.toml", Link("../shared/a.toml")),
        ("clusters/b.toml", Link("./a.toml")),
    ]);
    assert_eq!(files(&w), [("clusters/a.toml", "a"), ("clusters/b.toml", "a")]);
    assert!(w.problems.is_empty());
}

#[test]
fn links_out_of_the_repository_are_refused_and_not_read() {
    let w = run(vec![
        ("clusters/passwd.toml", Link("/etc/passwd")),
        ("clusters/up.toml", Link("../../outside.toml")),
        ("clusters/abs.toml", Link("/repo/shared/a.toml")),
        ("shared/a.toml", File(b"a")),
        ("templates/mariadb/my.cnf.j2", Link("/etc/hostname")),
    ]);
    assert!(w.files.is_empty(), "{:?}", w.files);
    let target = |t: &str| t.to_string();
    assert_eq!(
        problems(&w),
        [
            (
                "clusters/abs.toml".into(),
                ProblemKind::LinkAbsolute {
                    target: target("/repo/shared/a.toml")
                }
            ),
            (
                "clusters/passwd.toml".into(),
                ProblemKind::LinkOutside {
                    target: target("/etc/passwd")
                }
            ),
            (
                "clusters/up.toml".into(),
                ProblemKind::LinkOutside {
                    target: target("../../outside.toml")
                }
            ),
            (
                "templates/mariadb/my.cnf.j2".into(),
                ProblemKind::LinkOutside {
                    target: target("/etc/hostname")
                }
            ),
        ]
    );
}

#[test]
fn a_chain_that_leaves_the_repository_is_refused_at_every_link() {
    let w = run(vec![
        ("clusters/a.toml", Link("b.toml")),
        ("clusters/b.toml", Link("/etc/passwd")),
    ]);
    assert!(w.files.is_empty());
    assert_eq!(
        problems(&w),
        [
            (
                "clusters/a.toml".into(),
                ProblemKind::LinkOutside {
                    target: "b.toml".into()
                }
            ),
            (
                "clusters/b.toml".into(),
                ProblemKind::LinkOutside {
                    target: "/etc/passwd".into()
                }
            ),
        ]
    );
}

#[test]
fn dangling_and_looping_links_are_problems() {
    let w = run(vec![
        ("clusters/gone.toml", Link("nothing.toml")),
        ("clusters/a.toml", Link("b.toml")),
        ("clusters/b.toml", Link("a.toml")),
    ]);
    assert_eq!(
        problems(&w),
        [
            (
                "clusters/a.toml".into(),
                ProblemKind::LinkLoop {
                    target: "b.toml".into()
                }
            ),
            (
                "clusters/b.toml".into(),
                ProblemKind::LinkLoop {
                    target: "a.toml".into()
                }
            ),
            (
                "clusters/gone.toml".into(),
                ProblemKind::LinkDangling {
                    target: "nothing.toml".into()
                }
            ),
        ]
    );
}

#[test]
fn a_linked_directory_is_followed_inside_and_refused_outside() {
    let w = run(vec![
        ("clusters", Link("fleet/clusters")),
        ("fleet/clusters/a.toml", File(b"a")),
        // `..` from a linked directory is its real parent, fleet/
        ("fleet/clusters/b.toml", Link("../b.toml")),
        ("fleet/b.toml", File(b"b")),
        ("requests", Link("/srv/requests")),
    ]);
    assert_eq!(files(&w), [("clusters/a.toml", "a"), ("clusters/b.toml", "b")]);
    assert_eq!(
        problems(&w),
        [(
            "requests".into(),
            ProblemKind::LinkOutside {
                target: "/srv/requests".into()
            }
        )]
    );
    assert!(w.looks_like_a_repository);
}

#[test]
fn templates_may_share_a_directory_but_not_loop() {
    let w = run(vec![
        ("templates/mariadb/my.cnf.j2", File(b"t")),
        ("templates/mysql", Link("mariadb")),
        ("templates/mariadb/up", Link("..")),
    ]);
    assert_eq!(
        files(&w),
        [
            ("templates/mariadb/my.cnf.j2", "t"),
            ("templates/mysql/my.cnf.j2", "t")
        ]
    );
    assert_eq!(
        problems(&w),
        [
            (
                "templates/mariadb/up".into(),
                ProblemKind::LinkLoop { target: "..".into() }
            ),
            (
                "templates/mysql/up".into(),
                ProblemKind::LinkLoop { target: "..".into() }
            ),
        ]
    );
}

#[test]
fn names_dbfleet_does_not_read_are_errors_or_warnings() {
    let w = run(vec![
        ("clusters/billing.yaml", File(b"")),
        ("clusters/CACHE.TOML", File(b"")),
        ("clusters/shop.toml.bak", File(b"")),
        ("clusters/.gitkeep", File(b"")),
        ("clusters/README.md", File(b"")),
        ("clusters/old/a.toml", File(b"")),
        ("clusters/old/notes", File(b"")),
        ("requests/x.json", File(b"")),
        ("templates/mariadb/my.cnf.J2", File(b"")),
        ("templates/mariadb/my.cnf", File(b"")),
        ("fleet.yaml", File(b"")),
    ]);
    assert!(w.files.is_empty());
    let found: Vec<(String, bool)> = w
        .problems
        .iter()
        .map(|p| (p.path.clone(), p.is_error()))
        .collect();
    assert_eq!(
        found,
        [
            ("fleet.yaml".into(), true),
            ("clusters/CACHE.TOML".into(), true),
            ("clusters/billing.yaml".into(), true),
            ("clusters/old/a.toml".into(), true),
            ("clusters/shop.toml.bak".into(), false),
            ("requests/x.json".into(), true),
            ("templates/mariadb/my.cnf".into(), false),
            ("templates/mariadb/my.cnf.J2".into(), true),
        ]
    );
}

#[test]
fn not_utf8_names_the_first_bad_byte() {
    let w = run(vec![
        ("clusters/a.toml", File(b"name = \"a\"\n# caf\xc3\xa9 \xff\n")),
        ("clusters/b.toml", File(b"b")),
    ]);
    assert_eq!(files(&w), [("clusters/b.toml", "b")]);
    assert_eq!(
        problems(&w),
        [(
            "clusters/a.toml".into(),
            ProblemKind::NotUtf8 {
                offset: 19,
                byte: 0xff,
                line: 2,
                column: 8
            }
        )]
    );
    assert_eq!(
        w.problems[0].message(),
        "`clusters/a.toml` is not UTF-8 text: invalid byte 0xff at offset 19 (line 2, column 8)"
    );
}

#[test]
fn a_directory_with_nothing_dbfleet_reads_is_not_a_repository() {
    assert!(!run(vec![("src/main.rs", File(b""))]).looks_like_a_repository);
    assert!(!run(vec![("templates/x.j2", File(b""))]).looks_like_a_repository);
    assert!(run(vec![("fleet.toml", File(b""))]).looks_like_a_repository);
    assert!(run(vec![("requests/a.toml", File(b""))]).looks_like_a_repository);
}
