//! Running the built `dbfleet` from CLI tests.

use assert_cmd::Command;

/// The built binary in a quiet, fixed environment: no colour, and no log
/// filter or state directory taken from the caller's environment.
pub fn dbfleet() -> Command {
    let mut cmd = Command::cargo_bin("dbfleet").expect("binary built");
    cmd.env("NO_COLOR", "1")
        .env_remove("DBFLEET_LOG")
        .env_remove("RUST_LOG")
        .env_remove("DBFLEET_STATE_DIR");
    cmd
}

/// Run `cmd` to its end: exit code (-1 when killed), stdout, stderr.
pub fn output(cmd: &mut Command) -> (i32, String, String) {
    let out = cmd.output().expect("run dbfleet");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
