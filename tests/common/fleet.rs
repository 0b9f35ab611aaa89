//! Running the built `dbfleet` against a repository in a temporary
//! directory, as the end-to-end tests do: the runner, failure messages, the
//! lab's fleet file and a repository with one cluster file.

use std::path::Path;
use std::process::Output;

use assert_cmd::cargo::CommandCargoExt;

use super::git::TempRepo;
use super::lab::Lab;

/// The built `dbfleet` as a plain process (to spawn it and watch it run),
/// with `--state-dir state` and `NO_COLOR=1`.
pub fn dbfleet_process(state: &Path) -> std::process::Command {
    let mut c = std::process::Command::cargo_bin("dbfleet").expect("binary");
    c.arg("--state-dir").arg(state).env("NO_COLOR", "1");
    c
}

/// The built `dbfleet` with `--state-dir state` and `NO_COLOR=1`.
pub fn dbfleet(state: &Path) -> assert_cmd::Command {
    assert_cmd::Command::from_std(dbfleet_process(state))
}

/// Exit status, stdout and stderr of a finished command, for failure messages.
pub fn text(out: &Output) -> String {
    format!(
        "status {}\n--- stdout\n{}--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A command's stdout, trailing whitespace trimmed.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).trim_end().to_string()
}

/// `fleet.toml` for the lab: its SSH settings and engines started directly
/// (no service manager).
pub fn fleet_toml(lab: &Lab) -> String {
    format!("{}[hosts]\nservice_manager = \"direct\"\n", lab.fleet_ssh_toml())
}

/// One `[[nodes]]` entry per lab host, by IP.
pub fn nodes_toml(lab: &Lab, hosts: &[&str]) -> String {
    hosts
        .iter()
        .map(|h| format!("[[nodes]]\nhost = \"{}\"\n", lab.ip(h)))
        .collect()
}

/// A repository with the lab's [`fleet_toml`] and `clusters/<cluster>.toml`.
pub fn lab_repo(lab: &Lab, cluster: &str, cluster_toml: &str) -> TempRepo {
    TempRepo::with_files(&[
        ("fleet.toml", &fleet_toml(lab)),
        (&format!("clusters/{cluster}.toml"), cluster_toml),
    ])
}

/// The cluster's admin password, as dbfleet generated and stored it.
pub fn admin_password(state: &Path, cluster: &str) -> String {
    let path = state.join("secrets").join(format!("{cluster}.json"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let v: serde_json::Value = serde_json::from_slice(&bytes).expect("secrets json");
    v["admin"].as_str().expect("admin password").to_string()
}

/// `dbfleet --state-dir state <args> <repo>`, run to its end.
pub fn run_dbfleet(state: &Path, args: &[&str], repo: &Path) -> Output {
    dbfleet(state)
        .args(args)
        .arg(repo)
        .output()
        .unwrap_or_else(|e| panic!("dbfleet {}: {e}", args.join(" ")))
}

/// A lab cluster file: `name`, `engine`, `version`, primary-replica on
/// `hosts`, `extra` lines (port, allowed_ips...) and `[settings]` as strings.
pub fn lab_cluster_toml(
    lab: &Lab,
    head: (&str, &str, &str),
    extra: &str,
    settings: &[(&str, &str)],
    hosts: &[&str],
) -> String {
    let (name, engine, version) = head;
    let settings: String = settings.iter().map(|(k, v)| format!("{k} = \"{v}\"\n")).collect();
    format!(
        "name = \"{name}\"\nengine = \"{engine}\"\nversion = \"{version}\"\ntopology = \"primary-replica\"\n\
         {extra}\n[settings]\n{settings}\n{}",
        nodes_toml(lab, hosts)
    )
}
