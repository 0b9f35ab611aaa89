//! `validate` is as strict as `plan`: it renders every node offline, checks
//! `[settings]` as rendering sees them, and both commands print the same
//! diagnostics for the same repository (issue 12, defects 6, 9 and 10).

mod common;

use common::fleet::{dbfleet, text};
use common::git::TempRepo;

fn mariadb(settings: &str) -> String {
    format!(
        "name = \"shop\"\nengine = \"mariadb\"\nversion = \"10.11\"\ntopology = \"primary-replica\"\n\n\
         [settings]\n{settings}\n\n[[nodes]]\nhost = \"10.0.0.11\"\n[[nodes]]\nhost = \"10.0.0.12\"\n\
         [[nodes]]\nhost = \"10.0.0.13\"\n"
    )
}

/// The built-in my.cnf with every `node.host` misspelt.
fn misspelt_my_cnf() -> String {
    let builtin = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/templates/mariadb/my.cnf.j2"
    ))
    .expect("built-in template");
    assert!(builtin.contains("{{ node.host }}"));
    builtin.replace("{{ node.host }}", "{{ node.adress }}")
}

/// Exit code and stderr of `dbfleet <args>` run in the repository.
fn run(repo: &TempRepo, args: &[&str]) -> (i32, String) {
    let state = repo.path().join(".state");
    let out = dbfleet(&state)
        .current_dir(repo.path())
        .args(args)
        .output()
        .expect("run");
    assert!(out.stdout.is_empty() || args[0] == "validate", "{}", text(&out));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `validate` fails with `summary`; `plan --offline` and `plan --base` fail
/// with the same diagnostics. Returns validate's stderr.
fn validate_and_plan_agree(repo: &TempRepo, summary: &str) -> String {
    let (code, validate) = run(repo, &["validate", "."]);
    assert_eq!(code, 1, "{validate}");
    let diagnostics = validate
        .strip_suffix(&format!(".: {summary}\n"))
        .unwrap_or_else(|| panic!("summary `{summary}` in:\n{validate}"));
    let plans: [&[&str]; 2] = [
        &["plan", ".", "--offline"],
        &["plan", ".", "--base", "HEAD", "--head", "HEAD"],
    ];
    for args in plans {
        let (code, plan) = run(repo, args);
        assert_eq!(code, 1, "{args:?}: {plan}");
        assert_eq!(plan, format!("{diagnostics}{summary}\n"), "{args:?}");
    }
    validate
}

#[test]
fn an_undefined_template_variable_fails_validate_once_at_its_line() {
    let repo = TempRepo::with_files(&[
        ("clusters/shop.toml", &mariadb("max_connections = 500")),
        ("templates/mariadb/my.cnf.j2", &misspelt_my_cnf()),
    ]);
    let stderr = validate_and_plan_agree(&repo, "1 error");
    insta::assert_snapshot!("undefined_template_variable", stderr);
}

#[test]
fn two_spellings_of_a_setting_are_one_error_at_the_second() {
    let repo = TempRepo::with_files(&[(
        "clusters/shop.toml",
        &mariadb("max_connections = 500\ninnodb_buffer_pool_size = \"1G\"\nmax-connections = 600"),
    )]);
    let stderr = validate_and_plan_agree(&repo, "1 error");
    insta::assert_snapshot!("two_spellings_of_a_setting", stderr);
}

#[test]
fn setting_values_of_the_wrong_kind_name_what_is_expected() {
    let pg = "name = \"pg\"\nengine = \"postgresql\"\nversion = \"15\"\ntopology = \"single\"\n\n\
              [settings]\nshared_buffers = \"1G\"\nsynchronous_commit = \"sometimes\"\n\
              checkpoint_completion_target = 1.5\n\n[[nodes]]\nhost = \"10.0.1.11\"\n";
    let kv = "name = \"kv\"\nengine = \"valkey\"\nversion = \"8.1\"\ntopology = \"single\"\n\n\
              [settings]\nmaxmemory = \"lots\"\nmaxmemory_policy = \"lru\"\nappendonly = 1\n\n\
              [[nodes]]\nhost = \"10.0.2.11\"\n";
    let repo = TempRepo::with_files(&[
        (
            "clusters/shop.toml",
            &mariadb(
                "max_connections = \"lots\"\nmax_user_connections = -5\nwait_timeout = 400.5\n\
                 innodb_buffer_pool_size = \"4GB\"\nslow_query_log = \"maybe\"",
            ),
        ),
        ("clusters/pg.toml", pg),
        ("clusters/kv.toml", kv),
    ]);
    let stderr = validate_and_plan_agree(&repo, "11 errors");
    insta::assert_snapshot!("setting_values_of_the_wrong_kind", stderr);
}

#[test]
fn a_setting_of_another_engine_family_warns() {
    let repo = TempRepo::with_files(&[(
        "clusters/shop.toml",
        &mariadb("max_connections = 500\nmaxmemory-policy = \"allkeys-lru\"\nshared_buffers = \"1GB\""),
    )]);
    let (code, stderr) = run(&repo, &["validate", "."]);
    assert_eq!(code, 0, "a warning only: {stderr}");
    insta::assert_snapshot!("setting_of_another_family", stderr);
}

#[test]
fn an_unclosed_block_points_at_the_tag_that_opened_it() {
    let template = misspelt_my_cnf()
        .replace("{{ node.adress }}", "{{ node.host }}")
        .replacen("{% endif %}\n", "", 1);
    let repo = TempRepo::with_files(&[
        ("clusters/shop.toml", &mariadb("max_connections = 500")),
        ("templates/mariadb/my.cnf.j2", &template),
    ]);
    let stderr = validate_and_plan_agree(&repo, "1 error");
    insta::assert_snapshot!("unclosed_block", stderr);
}
