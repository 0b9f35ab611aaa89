//! The plan is what runs: for a build, a live change, a restart roll and a
//! primary-first roll of a PostgreSQL cluster in the lab, the steps apply
//! executes (its `--events` progress) are exactly the steps
//! `plan --format json` listed, in the plan's order. Then one standby's
//! host is powered off: the plan names it, a live change still rolls to the
//! reachable nodes, and apply exits non-zero.
//! Skipped unless DBFLEET_LAB=1.

mod common;

use serde_json::Value;

use common::engines::{assert_port_free, postgresql_reset_script, psql as sql};
use common::fleet::{lab_cluster_toml, lab_repo, run_dbfleet, stdout, text};
use common::lab::Lab;

const HOSTS: [&str; 3] = ["h1", "h2", "h3"];

fn cluster_toml(lab: &Lab, settings: &[(&str, &str)]) -> String {
    lab_cluster_toml(lab, ("steps", "postgresql", "15"), "", settings, &HOSTS)
}

fn reset(lab: &Lab) {
    for h in HOSTS {
        lab.ssh_ok(h, &postgresql_reset_script());
        assert_port_free(lab, h, 5432);
    }
}

/// The fields that name a step: node, phase, kind, path/from.
fn key(v: &Value) -> String {
    let field = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    format!(
        "{} {} {} {}{}",
        field("phase"),
        field("node"),
        field("step"),
        field("path"),
        field("from")
    )
}

/// The cluster's planned steps, from `plan --format json`.
fn planned(state: &std::path::Path, repo: &std::path::Path) -> Vec<String> {
    let out = run_dbfleet(state, &["plan", "--format", "json"], repo);
    assert!(out.status.success(), "plan:\n{}", text(&out));
    let plan: Value = serde_json::from_str(&stdout(&out)).expect("plan json");
    plan["clusters"][0]["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(key)
        .collect()
}

/// Apply with `--events`; the steps done, by their index in the plan, and
/// whether apply succeeded.
fn applied(state: &std::path::Path, repo: &std::path::Path) -> (Vec<String>, bool, String) {
    let events = state.join("events.jsonl");
    let ev = events.to_str().expect("utf-8 path");
    let out = run_dbfleet(state, &["apply", "--yes", "--events", ev], repo);
    let lines = std::fs::read_to_string(&events).expect("events file");
    let events: Vec<Value> = lines
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("event json"))
        .collect();
    // Started in the plan's order; only the config checks of a roll run
    // side by side.
    let started: Vec<(u64, bool)> = events
        .iter()
        .filter(|e| e["event"] == "step-started")
        .map(|e| (e["index"].as_u64().expect("index"), e["step"] == "check-config"))
        .collect();
    for pair in started.windows(2) {
        let ((a, a_check), (b, b_check)) = (pair[0], pair[1]);
        assert!(
            b > a || (a_check && b_check),
            "step {b} started after step {a}: {started:?}"
        );
    }
    let mut done: Vec<(u64, String)> = events
        .iter()
        .filter(|e| e["event"] == "step-done")
        .map(|e| (e["index"].as_u64().expect("index"), key(e)))
        .collect();
    done.sort();
    let indices: Vec<u64> = done.iter().map(|d| d.0).collect();
    assert_eq!(
        indices,
        (0..done.len() as u64).collect::<Vec<_>>(),
        "every step done once"
    );
    (
        done.into_iter().map(|d| d.1).collect(),
        out.status.success(),
        text(&out),
    )
}

#[test]
fn apply_executes_the_planned_steps_in_order() {
    let Some(lab) = Lab::get() else { return };
    reset(&lab);
    let state = tempfile::tempdir().expect("state");
    let base = [("work_mem", "4MB"), ("shared_buffers", "32MB")];
    let repo = lab_repo(&lab, "steps", &cluster_toml(&lab, &base));
    let check = |what: &str, settings: &[(&str, &str)]| {
        repo.commit_files(what, &[("clusters/steps.toml", &cluster_toml(&lab, settings))]);
        let plan = planned(state.path(), repo.path());
        assert!(!plan.is_empty(), "{what}: nothing planned");
        let (done, ok, out) = applied(state.path(), repo.path());
        assert!(ok, "{what}: apply failed:\n{out}");
        assert_eq!(done, plan, "{what}: the steps apply took are not the plan's");
        plan
    };
    let build = check("build", &base);
    assert!(
        build.iter().any(|s| s == "build steps1 init-data-dir "),
        "{build:?}"
    );
    assert!(
        build.iter().any(|s| s == "seed steps3 seed-from-primary steps1"),
        "{build:?}"
    );

    let live = [("work_mem", "8MB"), ("shared_buffers", "32MB")];
    let plan = check("live change", &live);
    let applies: Vec<&String> = plan.iter().filter(|s| s.contains("apply-config")).collect();
    assert_eq!(
        applies,
        [
            "roll steps2 apply-config ",
            "roll steps3 apply-config ",
            "roll steps1 apply-config "
        ]
    );
    assert_eq!(sql(&lab, "h3", "SHOW work_mem"), "8MB");

    let restart = [("work_mem", "8MB"), ("shared_buffers", "48MB")];
    check("restart roll", &restart);
    assert_eq!(sql(&lab, "h1", "SHOW shared_buffers"), "48MB");

    let lower = [
        ("work_mem", "8MB"),
        ("shared_buffers", "48MB"),
        ("max_connections", "50"),
    ];
    let plan = check("primary-first roll", &lower);
    let applies: Vec<&String> = plan.iter().filter(|s| s.contains("apply-config")).collect();
    assert_eq!(
        applies,
        [
            "roll steps1 apply-config ",
            "roll steps2 apply-config ",
            "roll steps3 apply-config "
        ]
    );
    assert_eq!(sql(&lab, "h2", "SHOW max_connections"), "50");

    // One standby's host is off: the plan names it; the others still roll.
    lab.poweroff("h3");
    let off = [
        ("work_mem", "16MB"),
        ("shared_buffers", "48MB"),
        ("max_connections", "50"),
    ];
    repo.commit_files("h3 off", &[("clusters/steps.toml", &cluster_toml(&lab, &off))]);
    let out = run_dbfleet(state.path(), &["plan", "--format", "json"], repo.path());
    let plan: Value = serde_json::from_str(&stdout(&out)).expect("plan json");
    let h3 = lab.ip("h3").to_string();
    let node = plan["clusters"][0]["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .find(|n| n["host"] == h3.as_str())
        .expect("h3 in the plan")
        .clone();
    assert!(
        node["unreachable"].is_string(),
        "h3 not named unreachable: {node}"
    );
    let steps = plan["clusters"][0]["steps"].as_array().expect("steps");
    assert!(
        steps.iter().all(|s| s["node"] != "steps3"),
        "steps for the unreachable node"
    );
    let out = run_dbfleet(state.path(), &["apply", "--yes"], repo.path());
    assert!(
        !out.status.success(),
        "apply must fail with a node unreachable:\n{}",
        text(&out)
    );
    assert!(
        text(&out).contains(&format!("steps3 ({h3}) cannot be reached")),
        "{}",
        text(&out)
    );
    for h in ["h1", "h2"] {
        assert_eq!(sql(&lab, h, "SHOW work_mem"), "16MB", "{h} was not rolled");
    }
    lab.poweron("h3");
    reset(&lab);
}
