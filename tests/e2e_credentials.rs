//! `dbfleet credentials CLUSTER --repo R` prints credentials that work, and
//! no other output of dbfleet, nor any file it leaves readable, holds a
//! password. For MariaDB 10.11, PostgreSQL 15 and Valkey 9.1, each a single
//! node on h1 built by the `dbfleet` binary:
//!
//! - a client on h2 connects with what `credentials` prints (mariadb with
//!   -u -p -h -P; psql with the postgresql:// URL; redis-cli -u with the
//!   redis:// URL) and runs a query;
//! - neither password of the cluster (admin, replication) appears in the
//!   plan (text, markdown, json; online and offline), in apply's stderr
//!   (the build with DBFLEET_LOG=trace, which logs every remote command
//!   line; default logging; DBFLEET_LOG=debug with --log-format json), in
//!   status, nor in any file of the state directory
//!   but the secrets file, which is 0600 in a 0700 directory; no file of
//!   the state directory is readable by others.
//!
//! Every test starts from a clean state of its engine on h1 (only that
//! engine is stopped and only its directories emptied). Skipped unless
//! DBFLEET_LAB=1.
//!
//! Run: `DBFLEET_LAB=1 cargo test --test e2e_credentials -- --test-threads=1 --nocapture`

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use common::engines::{drop_firewall_script, postgresql_reset_script, redis_reset_script, MARIADB_RESET};
use common::fleet::{self, lab_repo, text};
use common::lab::Lab;

const SERVER: &str = "h1";
const CLIENT: &str = "h2";
const VALKEY_PORT: u16 = 6393;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Mariadb,
    Postgresql,
    Valkey,
}

impl Kind {
    fn cluster(self) -> &'static str {
        match self {
            Kind::Mariadb => "cred-maria",
            Kind::Postgresql => "cred-pg",
            Kind::Valkey => "cred-valkey",
        }
    }

    /// Stops this engine on `host` (nothing else), empties its data,
    /// configuration and log, and removes the cluster's firewall.
    fn reset(self, lab: &Lab, host: &str) {
        lab.ssh_ok(host, &self.reset_script());
    }

    fn reset_script(self) -> String {
        let script = match self {
            Kind::Mariadb => MARIADB_RESET.to_string(),
            Kind::Postgresql => postgresql_reset_script(),
            Kind::Valkey => redis_reset_script("valkey", "/etc/valkey/valkey.conf"),
        };
        format!("{script}\n{}", drop_firewall_script(self.cluster()))
    }

    /// A single-node cluster on SERVER; `setting` goes into [settings].
    fn cluster_toml(self, lab: &Lab, setting: &str) -> String {
        let (engine, version, port) = match self {
            Kind::Mariadb => ("mariadb", "10.11", String::new()),
            Kind::Postgresql => ("postgresql", "15", String::new()),
            Kind::Valkey => ("valkey", "9.1", format!("port = {VALKEY_PORT}\n")),
        };
        format!(
            "name = \"{}\"\nengine = \"{engine}\"\nversion = \"{version}\"\ntopology = \"single\"\n\
             {port}allowed_ips = [\"10.231.0.0/24\"]\n\n[settings]\n{setting}\n\n[[nodes]]\nhost = \"{}\"\n",
            self.cluster(),
            lab.ip(SERVER)
        )
    }

    /// Two different values of a setting the engine takes live.
    fn settings(self) -> [&'static str; 3] {
        match self {
            Kind::Mariadb => [
                "max_connections = 151",
                "max_connections = 152",
                "max_connections = 153",
            ],
            Kind::Postgresql => ["work_mem = \"4MB\"", "work_mem = \"5MB\"", "work_mem = \"6MB\""],
            Kind::Valkey => [
                "maxmemory = \"64mb\"",
                "maxmemory = \"65mb\"",
                "maxmemory = \"66mb\"",
            ],
        }
    }
}

/// Stops the test's engine and removes its firewall when the test ends,
/// passed or not.
struct Cleanup<'a>(&'a Lab, Kind);

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        let _ = self.0.ssh(SERVER, &self.1.reset_script());
    }
}

/// Fails when any of `secrets` occurs in `haystack`; `what` names it.
fn assert_no_secret(what: &str, haystack: &str, secrets: &[String]) {
    for s in secrets {
        assert!(
            !haystack.contains(s.as_str()),
            "{what} holds a password ({} characters of it at byte {:?})",
            s.len(),
            haystack.find(s.as_str())
        );
    }
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read state dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).expect("metadata").permissions().mode() & 0o7777
}

fn credentials_work_and_never_leak(kind: Kind) {
    let Some(lab) = Lab::get() else { return };
    let t0 = Instant::now();
    kind.reset(&lab, SERVER);
    let _cleanup = Cleanup(&lab, kind);
    let file = format!("clusters/{}.toml", kind.cluster());
    let [first, second, third] = kind.settings();
    let repo = lab_repo(&lab, kind.cluster(), &kind.cluster_toml(&lab, first));
    let tmp = tempfile::tempdir().expect("tmp");
    // A state directory dbfleet creates itself.
    let state = tmp.path().join("state");
    let dbfleet = |env_log: Option<&str>, args: &[&str]| {
        let mut c = fleet::dbfleet(&state);
        c.env_remove("DBFLEET_LOG");
        if let Some(level) = env_log {
            c.env("DBFLEET_LOG", level);
        }
        let out = c.args(args).output().expect("dbfleet");
        let repo_path = repo.path().display().to_string();
        println!(
            "--- {}dbfleet {} ({} bytes of stdout, {} of stderr, {})",
            env_log.map(|l| format!("DBFLEET_LOG={l} ")).unwrap_or_default(),
            args.join(" ").replace(&repo_path, "REPO"),
            out.stdout.len(),
            out.stderr.len(),
            out.status
        );
        out
    };
    let repo_arg = repo.path().to_str().expect("utf-8 path").to_string();
    let mut logs: Vec<(String, String)> = Vec::new();

    // Build, logging everything (trace: every remote command line too).
    let out = dbfleet(Some("trace"), &["apply", "--yes", &repo_arg]);
    assert!(out.status.success(), "apply failed:\n{}", text(&out));
    logs.push(("apply (DBFLEET_LOG=trace)".into(), text(&out)));

    // The passwords dbfleet generated.
    let secrets_dir = state.join("secrets");
    let secrets_file = secrets_dir.join(format!("{}.json", kind.cluster()));
    let stored: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&secrets_file).expect("secrets file")).expect("json");
    let secrets: Vec<String> = ["admin", "replication"]
        .iter()
        .map(|k| stored[k].as_str().expect("password").to_string())
        .collect();
    assert!(secrets.iter().all(|s| s.len() >= 16), "short passwords");
    assert_eq!(mode(&secrets_file), 0o600, "secrets file mode");
    assert_eq!(mode(&secrets_dir), 0o700, "secrets directory mode");

    // credentials: text and json agree; the client on another host gets in.
    let out = dbfleet(None, &["credentials", kind.cluster(), "--repo", &repo_arg]);
    assert!(out.status.success(), "credentials:\n{}", text(&out));
    let printed = String::from_utf8_lossy(&out.stdout).into_owned();
    let field = |name: &str| {
        printed
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}:")))
            .map(|v| v.trim().to_string())
            .unwrap_or_else(|| {
                panic!(
                    "no {name}: line in\n{}",
                    printed.replace(&secrets[0], "<password>")
                )
            })
    };
    let (user, password, primary) = (field("user"), field("password"), field("primary"));
    assert_eq!(password, secrets[0], "credentials prints the admin password");
    assert_eq!(
        primary,
        format!(
            "{}:{}",
            lab.ip(SERVER),
            match kind {
                Kind::Mariadb => 3306,
                Kind::Postgresql => 5432,
                Kind::Valkey => VALKEY_PORT,
            }
        )
    );
    let out = dbfleet(
        None,
        &[
            "credentials",
            kind.cluster(),
            "--repo",
            &repo_arg,
            "--format",
            "json",
        ],
    );
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json["user"], user.as_str());
    assert_eq!(json["password"], password.as_str());
    let url = json["primary"]["url"].as_str().expect("url").to_string();
    assert!(printed.contains(&url), "text and json differ on the URL");
    let (host, port) = primary.rsplit_once(':').expect("host:port");
    // Secrets go on the client's stdin, never on the test's own command line.
    let (cmd, input, want) = match kind {
        Kind::Mariadb => (
            format!(
                "mariadb -u {user} -p\"$(cat)\" -h {host} -P {port} --batch --skip-column-names \
                 -e \"SELECT CONCAT(CURRENT_USER(), ' ', @@hostname IS NOT NULL, ' ', VERSION() LIKE '10.11%')\""
            ),
            password.clone(),
            format!("{user}@% 1 1"),
        ),
        Kind::Postgresql => (
            "cd /tmp && psql \"$(cat)\" -X -A -t -c \"SELECT current_user || ' ' || host(inet_server_addr())\"".to_string(),
            url.clone(),
            format!("{user} {host}"),
        ),
        Kind::Valkey => (
            "u=$(cat); redis-cli --no-auth-warning -u \"$u\" SET e2e:cred ok >/dev/null && \
             redis-cli --no-auth-warning -u \"$u\" ACL WHOAMI && redis-cli --no-auth-warning -u \"$u\" GET e2e:cred"
                .to_string(),
            url.clone(),
            format!("{user}\nok"),
        ),
    };
    let out = lab.ssh_with_input(CLIENT, &cmd, input.as_bytes());
    assert!(out.status.success(), "client on {CLIENT} failed: {}", text(&out));
    let got = String::from_utf8_lossy(&out.stdout).trim_end().to_string();
    assert_eq!(got, want, "client on {CLIENT}");
    println!("client on {CLIENT} connected to {host}:{port} as {user}: {got:?}");
    // A wrong password is refused: the check above is not vacuous.
    let wrong = match kind {
        Kind::Mariadb => "not-the-password".to_string(),
        _ => url.replace(&password, "not-the-password"),
    };
    let out = lab.ssh_with_input(CLIENT, &cmd, wrong.as_bytes());
    let got_wrong = String::from_utf8_lossy(&out.stdout).trim_end().to_string();
    assert!(got_wrong != want, "a wrong password got in");

    // A pending change: plan in every format, online and offline.
    repo.commit_files("second setting", &[(&file, &kind.cluster_toml(&lab, second))]);
    for format in ["text", "markdown", "json"] {
        for offline in [false, true] {
            let mut args = vec!["plan", &repo_arg, "--format", format];
            if offline {
                args.push("--offline");
            }
            let out = dbfleet(None, &args);
            assert!(out.status.success(), "plan:\n{}", text(&out));
            let label = format!(
                "plan --format {format}{}",
                if offline { " --offline" } else { "" }
            );
            logs.push((label, text(&out)));
        }
    }
    let out = dbfleet(Some("debug"), &["plan", &repo_arg]);
    logs.push(("plan (DBFLEET_LOG=debug)".into(), text(&out)));

    // Apply it with default logging, then another change with JSON logs.
    let out = dbfleet(None, &["apply", "--yes", &repo_arg]);
    assert!(out.status.success(), "apply:\n{}", text(&out));
    logs.push(("apply".into(), text(&out)));
    repo.commit_files("third setting", &[(&file, &kind.cluster_toml(&lab, third))]);
    let out = dbfleet(
        Some("debug"),
        &["--log-format", "json", "apply", "--yes", &repo_arg],
    );
    assert!(out.status.success(), "apply:\n{}", text(&out));
    let json_lines = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| l.starts_with('{'))
        .count();
    assert!(json_lines > 0, "no JSON log lines:\n{}", text(&out));
    logs.push(("apply --log-format json (DBFLEET_LOG=debug)".into(), text(&out)));
    let out = dbfleet(Some("debug"), &["status", "--repo", &repo_arg]);
    assert!(out.status.success(), "status:\n{}", text(&out));
    logs.push(("status (DBFLEET_LOG=debug)".into(), text(&out)));
    let out = dbfleet(
        Some("debug"),
        &["status", "--repo", &repo_arg, "--format", "json"],
    );
    logs.push(("status --format json (DBFLEET_LOG=debug)".into(), text(&out)));

    let mut total = 0;
    for (what, output) in &logs {
        total += output.len();
        assert_no_secret(what, output, &secrets);
    }
    println!("{} outputs, {total} bytes: no password", logs.len());

    // The state directory: only the secrets file holds them; nothing is
    // readable by others.
    let files = files_under(&state);
    for f in &files {
        let m = mode(f);
        println!(
            "  {:o} {}",
            m,
            f.strip_prefix(&state).expect("under state").display()
        );
        assert_eq!(m & 0o007, 0, "{} is accessible to others", f.display());
        if *f != secrets_file {
            let bytes = std::fs::read(f).expect("read");
            assert_no_secret(
                &f.display().to_string(),
                &String::from_utf8_lossy(&bytes),
                &secrets,
            );
        }
    }
    assert!(files.len() >= 2, "{files:?}");
    println!("{}: whole test {:.1?}", kind.cluster(), t0.elapsed());
}

#[test]
fn mariadb_credentials() {
    credentials_work_and_never_leak(Kind::Mariadb);
}

#[test]
fn postgresql_credentials() {
    credentials_work_and_never_leak(Kind::Postgresql);
}

#[test]
fn valkey_credentials() {
    credentials_work_and_never_leak(Kind::Valkey);
}
