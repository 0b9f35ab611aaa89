//! Bad input gets diagnostics, never a panic: every prefix of every example
//! file, and a few byte-level corruptions, go through the loader.

use dbfleet::load::{load, LoadContext};
use dbfleet::source::Snapshot;
use std::collections::BTreeMap;
use std::path::Path;

fn example_files() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/mixed-fleet");
    let snap = dbfleet::source::from_worktree(&root).expect("mixed-fleet");
    snap.files.into_iter().collect()
}

#[test]
fn truncated_and_corrupted_files_never_panic() {
    let files = example_files();
    let base: BTreeMap<String, String> = files.iter().cloned().collect();
    let mut runs = 0;
    for (path, text) in &files {
        let mut cuts: Vec<usize> = (0..text.len()).step_by(17).collect();
        cuts.push(text.len());
        for cut in cuts {
            if !text.is_char_boundary(cut) {
                continue;
            }
            let mut variants = vec![text[..cut].to_string()];
            // A character that breaks strings, tables and arrays in turn.
            for junk in ["\"", "]", "\n[[nodes]]\n", "\u{0}", "é"] {
                variants.push(format!("{}{junk}{}", &text[..cut], &text[cut..]));
            }
            for v in variants {
                let mut files = base.clone();
                files.insert(path.clone(), v);
                let snap = Snapshot::in_memory(files);
                let _ = load(&snap, &LoadContext::default());
                runs += 1;
            }
        }
    }
    assert!(runs > 300, "only {runs} variants");
}
