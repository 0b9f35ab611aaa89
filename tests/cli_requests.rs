//! How `plan` shows pending requests without the lab: the steps a promote
//! will take, and the refusal of an action this version does not carry out.

use assert_cmd::Command;

#[test]
fn the_plan_lists_a_promotes_steps_and_says_which_requests_will_be_refused() {
    let state = tempfile::tempdir().expect("state");
    let out = Command::cargo_bin("dbfleet")
        .expect("binary built")
        .env("NO_COLOR", "1")
        .args(["plan", "examples/mixed-fleet", "--offline", "--state-dir"])
        .arg(state.path())
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    let requests = text.split("\nrequests:\n").nth(1).expect("a requests section");
    let want = "  2026-11-20-backup-catalog backup catalog: pending: runs once the cluster has converged\n\
                \x20     will be refused: the backup action is not carried out by this version of dbfleet; the file is kept and reported\n";
    assert!(requests.starts_with(want), "{requests}");
    let promote = "  2026-11-22-promote-billing2 promote billing/billing2 (10.20.3.12): pending: runs once the cluster has converged\n\
                   \x20     - billing1: stop taking writes (fence)\n\
                   \x20     - billing2: wait until it has everything billing1 wrote\n\
                   \x20     - billing2: become the primary\n";
    assert!(requests.contains(promote), "{requests}");
}
