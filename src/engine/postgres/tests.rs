//! The driver's command sequences against a scripted transport: what runs,
//! in which order, and where passwords go. Real servers: tests/e2e_postgres_driver.rs.

use std::sync::Mutex;

use super::PostgresDriver;
use crate::engine::{Driver, DriverError, NodeCx, Secrets, ServiceMode};
use crate::layout::{layout, Allocations, NodeLayout};
use crate::model::Cluster;
use crate::render::{engine_paths, EnginePaths};
use crate::transport::{BoxFuture, Command, Output, Process, Transport, TransportError};

const ADMIN_PW: &str = "admin 'secret' $x";
const REPL_PW: &str = "repl:secret\\y";

/// What the scripted host looks like.
#[derive(Clone, Copy)]
struct Host {
    initialised: bool,
    /// `pid=` or `stale=1` or nothing in the probe.
    pid: Pid,
    data_dir_empty: bool,
}

#[derive(Clone, Copy, PartialEq)]
enum Pid {
    None,
    Live,
    Stale,
}

struct Fake {
    host: Host,
    log: Mutex<Vec<Command>>,
}

impl Fake {
    fn new(host: Host) -> Fake {
        Fake {
            host,
            log: Mutex::new(Vec::new()),
        }
    }

    fn kinds(&self) -> Vec<String> {
        self.commands().iter().map(kind).collect()
    }

    fn commands(&self) -> Vec<Command> {
        self.log.lock().unwrap().clone()
    }

    fn respond(&self, cmd: &Command) -> Output {
        let ok = |stdout: &str| Output {
            status: Some(0),
            stdout: stdout.as_bytes().to_vec(),
            ..Output::default()
        };
        let k = kind(cmd);
        if k == "probe" {
            let pid = match self.host.pid {
                Pid::None => "",
                Pid::Live => "pid=77\n",
                Pid::Stale => "stale=1\n",
            };
            let init = u8::from(self.host.initialised);
            return ok(&format!(
                "installed=1\ninitialised={init}\nstandby_signal=0\n{pid}"
            ));
        }
        if k.starts_with("read ") {
            return Output {
                status: Some(44),
                ..Output::default()
            };
        }
        if k == "empty?" && !self.host.data_dir_empty {
            return Output {
                status: Some(1),
                ..Output::default()
            };
        }
        if k == "psql" {
            let sql = String::from_utf8_lossy(cmd.stdin.as_deref().unwrap_or_default()).into_owned();
            if sql.contains("pg_is_in_recovery()") {
                // A streaming standby, as OBSERVE_SQL reads it.
                let fields = [
                    "15.10",
                    "t",
                    "host=10.0.0.1 port=5432",
                    "streaming",
                    "10.0.0.1",
                    "0",
                    "0",
                ];
                return ok(&format!("{}\u{1e}", fields.join("\u{1f}")));
            }
            return ok("1\n");
        }
        ok("")
    }
}

/// A short name for a logged command: the program's file name, or what
/// a `sh -c` script does.
fn kind(cmd: &Command) -> String {
    let program = cmd.program.rsplit('/').next().unwrap_or_default();
    if program != "sh" {
        return program.to_string();
    }
    let script = cmd.args.get(1).map(String::as_str).unwrap_or_default();
    let arg = |i: usize| cmd.args.get(i).cloned().unwrap_or_default();
    if script.contains("installed=") {
        "probe".into()
    } else if script.contains("mktemp") {
        format!("write {}", arg(3))
    } else if script.contains("exit 44") {
        format!("read {}", arg(3))
    } else if script.contains("ls -A") {
        "empty?".into()
    } else if script.contains("mv --") {
        "swap".into()
    } else {
        "sh".into()
    }
}

impl Transport for Fake {
    fn host(&self) -> &str {
        "fake"
    }

    fn run<'a>(&'a self, cmd: &'a Command) -> BoxFuture<'a, Result<Output, TransportError>> {
        self.log.lock().unwrap().push(cmd.clone());
        let out = self.respond(cmd);
        Box::pin(async move { Ok(out) })
    }

    fn spawn<'a>(&'a self, cmd: &'a Command) -> BoxFuture<'a, Result<Process, TransportError>> {
        Box::pin(async move {
            Err(TransportError::Channel {
                host: "fake".into(),
                program: cmd.program.clone(),
                cause: Box::<dyn std::error::Error + Send + Sync>::from("no streams here").into(),
            })
        })
    }
}

struct Setup {
    cluster: Cluster,
    nodes: Vec<NodeLayout>,
    paths: EnginePaths,
    secrets: Secrets,
}

impl Setup {
    fn new() -> Setup {
        let cluster: Cluster = toml::from_str(
            "name = \"pg\"\nengine = \"postgresql\"\nversion = \"15\"\ntopology = \"primary-replica\"\n\
             [[nodes]]\nhost = \"10.0.0.1\"\n[[nodes]]\nhost = \"10.0.0.2\"\n",
        )
        .unwrap();
        let nodes = layout(&cluster, &Allocations::default(), None);
        let paths = engine_paths(cluster.engine, &cluster.version);
        Setup {
            cluster,
            nodes,
            paths,
            secrets: Secrets {
                admin_password: ADMIN_PW.into(),
                replication_password: REPL_PW.into(),
            },
        }
    }

    fn cx(&self, i: usize) -> NodeCx<'_> {
        NodeCx {
            cluster: &self.cluster,
            node: &self.nodes[i],
            paths: &self.paths,
            service: ServiceMode::Direct,
            secrets: &self.secrets,
        }
    }
}

fn block<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

fn position(kinds: &[String], want: &str) -> usize {
    kinds
        .iter()
        .position(|k| k == want)
        .unwrap_or_else(|| panic!("no {want} in {kinds:?}"))
}

/// Every word of every command line and every environment value.
fn visible_words(cmds: &[Command]) -> Vec<String> {
    cmds.iter()
        .flat_map(|c| {
            let mut words = vec![c.program.clone()];
            words.extend(c.args.iter().cloned());
            words.extend(c.env.iter().map(|(_, v)| v.clone()));
            words
        })
        .collect()
}

#[test]
fn passwords_travel_on_stdin_only() {
    let s = Setup::new();
    let host = Fake::new(Host {
        initialised: true,
        pid: Pid::Live,
        data_dir_empty: false,
    });
    block(PostgresDriver.create_users(&host, &s.cx(0))).unwrap();
    block(PostgresDriver.write_secrets(&host, &s.cx(0))).unwrap();
    let cmds = host.commands();
    for word in visible_words(&cmds) {
        assert!(!word.contains("secret"), "a password on a command line: {word:?}");
    }
    let stdin: Vec<String> = cmds
        .iter()
        .filter_map(|c| c.stdin.as_ref())
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .collect();
    assert!(
        stdin.iter().any(|s| s.contains("PASSWORD 'admin ''secret'' $x'")),
        "{stdin:?}"
    );
    assert!(
        stdin.iter().any(|s| s.contains("PASSWORD E'repl:secret\\\\y'")),
        "{stdin:?}"
    );
    assert!(
        stdin
            .iter()
            .any(|s| s == "*:*:*:dbfleet_repl:repl\\:secret\\\\y\n"),
        "{stdin:?}"
    );
    // The slot of the one peer.
    assert!(stdin
        .iter()
        .any(|s| s.contains("pg_create_physical_replication_slot('pg2', true)")));
    // write_secrets makes the configuration directory the executor writes to next.
    assert!(cmds
        .iter()
        .any(|c| c.program == "install" && c.args.contains(&s.paths.config_dir)));
}

#[test]
fn seed_copies_to_staging_and_marks_only_when_complete() {
    let s = Setup::new();
    let primary = Fake::new(Host {
        initialised: true,
        pid: Pid::Live,
        data_dir_empty: false,
    });
    let replica = Fake::new(Host {
        initialised: false,
        pid: Pid::None,
        data_dir_empty: true,
    });
    block(PostgresDriver.seed(&primary, &s.cx(0), &replica, &s.cx(1))).unwrap();

    // The slot is made on the primary; nothing else runs there.
    assert_eq!(primary.kinds(), vec!["psql"]);
    let kinds = replica.kinds();
    assert!(
        !kinds.contains(&"pg_ctl".to_string()),
        "nothing to stop: {kinds:?}"
    );
    let staging = "/var/lib/postgresql/15/main.dbfleet-seed";
    let backup = position(&kinds, "pg_basebackup");
    let signal = position(&kinds, &format!("write {staging}/standby.signal"));
    let marker = position(&kinds, &format!("write {staging}/.dbfleet-initialised"));
    let swap = position(&kinds, "swap");
    assert!(backup < signal && signal < marker && marker < swap, "{kinds:?}");
    assert!(
        !kinds
            .iter()
            .any(|k| k.starts_with("write /var/lib/postgresql/15/main/")),
        "nothing written into the data directory itself: {kinds:?}"
    );
    let cmds = replica.commands();
    let bb = &cmds[backup];
    let args = bb.args.join(" ");
    assert_eq!(
        args,
        format!("-h 10.0.0.1 -p 5432 -U dbfleet_repl -D {staging} -X stream -c fast -S pg2 --no-password")
    );
    assert!(bb
        .env
        .contains(&("PGPASSFILE".into(), "/var/lib/postgresql/.pgpass".into())));
    assert_eq!(bb.run_as.as_deref(), Some("postgres"));
    assert_eq!(bb.cwd.as_deref(), Some("/tmp"));
    let marker_text = cmds[marker].stdin.clone().unwrap();
    assert_eq!(marker_text, b"node=pg2\n");
}

#[test]
fn start_removes_a_stale_pid_file_first() {
    let s = Setup::new();
    let host = Fake::new(Host {
        initialised: true,
        pid: Pid::Stale,
        data_dir_empty: false,
    });
    block(PostgresDriver.start(&host, &s.cx(0))).unwrap();
    let kinds = host.kinds();
    let cmds = host.commands();
    let rm = cmds
        .iter()
        .position(|c| c.program == "rm" && c.args.iter().any(|a| a.ends_with("/main/postmaster.pid")))
        .unwrap_or_else(|| panic!("stale pid file not removed: {kinds:?}"));
    let pg_ctl = position(&kinds, "pg_ctl");
    assert!(rm < pg_ctl, "{kinds:?}");
    assert_eq!(
        cmds[pg_ctl].args,
        [
            "start",
            "-D",
            "/etc/postgresql/15/main",
            "-l",
            "/var/log/postgresql/postgresql-15-main.log",
            "-w",
            "-t",
            "120"
        ]
    );
    // /run/postgresql is made before the start (tmpfs).
    let run_dir = cmds
        .iter()
        .position(|c| c.program == "install" && c.args.contains(&"/var/run/postgresql".to_string()))
        .unwrap();
    assert!(run_dir < pg_ctl);
}

#[test]
fn running_server_is_left_alone_by_start_and_stopped_by_stop() {
    let s = Setup::new();
    let host = Fake::new(Host {
        initialised: true,
        pid: Pid::Live,
        data_dir_empty: false,
    });
    block(PostgresDriver.start(&host, &s.cx(0))).unwrap();
    assert!(
        !host.kinds().contains(&"pg_ctl".to_string()),
        "{:?}",
        host.kinds()
    );

    // The fake keeps reporting a live pid, so stop must say it is still there.
    let err = block(PostgresDriver.stop(&host, &s.cx(0))).unwrap_err();
    assert!(
        err.to_string().contains("still running after pg_ctl stop"),
        "{err}"
    );
    let cmds = host.commands();
    let stop = cmds.iter().find(|c| kind(c) == "pg_ctl").unwrap();
    assert_eq!(
        stop.args[..6],
        ["stop", "-D", "/var/lib/postgresql/15/main", "-m", "fast", "-w"]
    );
}

#[test]
fn stop_without_a_server_does_nothing() {
    let s = Setup::new();
    let host = Fake::new(Host {
        initialised: true,
        pid: Pid::None,
        data_dir_empty: false,
    });
    block(PostgresDriver.stop(&host, &s.cx(0))).unwrap();
    assert_eq!(host.kinds(), vec!["probe"]);
}

#[test]
fn init_never_touches_a_foreign_data_directory() {
    let s = Setup::new();
    let host = Fake::new(Host {
        initialised: false,
        pid: Pid::None,
        data_dir_empty: false,
    });
    let err = block(PostgresDriver.init(&host, &s.cx(0))).unwrap_err();
    assert!(matches!(err, DriverError::Other { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("holds files but no .dbfleet-initialised marker"),
        "{err}"
    );
    assert_eq!(host.kinds(), vec!["test", "probe", "empty?"]);

    let done = Fake::new(Host {
        initialised: true,
        pid: Pid::None,
        data_dir_empty: false,
    });
    block(PostgresDriver.init(&done, &s.cx(0))).unwrap();
    assert_eq!(done.kinds(), vec!["test", "probe"], "initialised: nothing to do");
}

#[test]
fn init_runs_initdb_then_writes_the_marker() {
    let s = Setup::new();
    let host = Fake::new(Host {
        initialised: false,
        pid: Pid::None,
        data_dir_empty: true,
    });
    block(PostgresDriver.init(&host, &s.cx(0))).unwrap();
    let kinds = host.kinds();
    let cmds = host.commands();
    let initdb = position(&kinds, "initdb");
    assert_eq!(
        cmds[initdb].args.join(" "),
        "-D /var/lib/postgresql/15/main --auth-local=peer --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8"
    );
    assert_eq!(cmds[initdb].run_as.as_deref(), Some("postgres"));
    assert_eq!(cmds[initdb].cwd.as_deref(), Some("/tmp"));
    let marker = position(&kinds, "write /var/lib/postgresql/15/main/.dbfleet-initialised");
    assert_eq!(marker, kinds.len() - 1, "the marker is the last thing: {kinds:?}");
}

#[test]
fn observe_runs_nothing_beyond_its_prefetched_commands() {
    // What observe_commands lists is exactly what observe asks a healthy
    // node: prefetched in one batch, observation costs one round trip.
    let s = Setup::new();
    let fake = Fake::new(Host {
        initialised: true,
        pid: Pid::Live,
        data_dir_empty: false,
    });
    let cx = s.cx(0);
    let listed = PostgresDriver.observe_commands(&fake, &cx);
    let state = block(async {
        let ahead = crate::transport::Prefetched::run(&fake, listed.clone())
            .await
            .unwrap();
        PostgresDriver.observe(&ahead, &cx).await
    })
    .unwrap();
    assert!(state.running && state.pid == Some(77), "{state:?}");
    assert!(state.replication.is_some_and(|r| r.healthy), "streaming standby");
    assert_eq!(fake.commands(), listed, "observe asked more than it listed");
}
