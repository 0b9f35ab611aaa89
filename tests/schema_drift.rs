//! The checked-in schemas in schema/ must match the Rust types exactly.

use std::path::Path;

#[test]
fn checked_in_schemas_match_the_types() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("schema");
    for (file, schema) in dbfleet::schema::all() {
        let want = dbfleet::schema::to_text(&schema);
        let have = std::fs::read_to_string(dir.join(file)).unwrap_or_default();
        assert!(
            have == want,
            "schema/{file} is out of date with the types: run `cargo run -- schema --write schema`"
        );
    }
}

#[test]
fn examples_start_with_a_schema_comment() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut checked = 0;
    for repo in std::fs::read_dir(&examples).expect("examples/").flatten() {
        for (sub, schema) in [
            ("clusters", "cluster.schema.json"),
            ("requests", "request.schema.json"),
        ] {
            for f in std::fs::read_dir(repo.path().join(sub))
                .into_iter()
                .flatten()
                .flatten()
            {
                let text = std::fs::read_to_string(f.path()).expect("read");
                let first = text.lines().next().unwrap_or_default();
                assert!(
                    first.starts_with("#:schema ") && first.ends_with(schema),
                    "{} does not start with a #:schema comment for {schema}",
                    f.path().display()
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 20);
}
