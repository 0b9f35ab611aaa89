//! The driver's command sequences against a scripted host, above all for
//! MySQL 8, which cannot be installed here: what runs, in which order, and
//! where passwords go. Real MariaDB servers: tests/e2e_mysql_driver.rs.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::host::{INCOMPLETE, INITIALISED, SEED_GTID};
use super::MysqlDriver;
use crate::engine::{
    ConfigChange, Driver, DriverError, LiveOutcome, NodeCx, ObservedRole, Secrets, ServiceMode,
};
use crate::layout::{layout, Allocations, NodeLayout, PeerRef};
use crate::model::Cluster;
use crate::render::{engine_paths, EnginePaths};
use crate::transport::{BoxFuture, Command, Output, Process, Transport, TransportError};

const ADMIN_PW: &str = "admin 'secret' $x";
const REPL_PW: &str = "repl:secret\\y";
const DATA: &str = "/var/lib/mysql";

const RUNNING_STATUS: &str = "*************************** 1. row ***************************
             Replica_IO_State: Waiting for source to send event
                  Source_Host: 10.0.0.1
                  Source_Port: 3306
           Replica_IO_Running: Yes
          Replica_SQL_Running: Yes
        Seconds_Behind_Source: 0
                Last_IO_Error: 
               Last_SQL_Error: 
";

/// A host as a few facts, changed by the commands it receives.
#[derive(Default)]
struct State {
    files: BTreeMap<String, String>,
    running: bool,
    /// Entries of the data directory.
    entries: Vec<String>,
    /// Vertical output of SHOW REPLICA/SLAVE STATUS.
    replica_status: String,
    /// (text in a statement, the client's stderr when it is sent)
    refuse: Vec<(&'static str, &'static str)>,
}

struct Fake {
    state: Mutex<State>,
    log: Mutex<Vec<Command>>,
}

impl Fake {
    fn new(state: State) -> Fake {
        Fake {
            state: Mutex::new(state),
            log: Mutex::new(Vec::new()),
        }
    }

    fn commands(&self) -> Vec<Command> {
        self.log.lock().unwrap().clone()
    }

    fn kinds(&self) -> Vec<String> {
        self.commands().iter().map(kind).collect()
    }

    /// Everything sent to the SQL client, in order.
    fn sql(&self) -> String {
        self.commands()
            .iter()
            .filter(|c| c.program == "mysql" || c.program == "mariadb")
            .filter_map(|c| c.stdin.as_ref().map(|s| String::from_utf8_lossy(s).into_owned()))
            .collect()
    }

    fn file(&self, path: &str) -> Option<String> {
        self.state.lock().unwrap().files.get(path).cloned()
    }

    fn respond(&self, cmd: &Command) -> Output {
        let mut st = self.state.lock().unwrap();
        let out = |status: i32, stdout: &str| Output {
            status: Some(status),
            stdout: stdout.as_bytes().to_vec(),
            ..Output::default()
        };
        let arg = |i: usize| cmd.args.get(i).cloned().unwrap_or_default();
        let stdin = cmd
            .stdin
            .as_ref()
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .unwrap_or_default();
        match kind(cmd).as_str() {
            "test -e" => out(i32::from(!st.files.contains_key(&arg(1))), ""),
            "ping" => out(i32::from(!st.running), ""),
            "shutdown" | "systemctl stop" => {
                st.running = false;
                out(0, "")
            }
            "start" | "systemctl start" => {
                st.running = true;
                out(0, "")
            }
            "pid" => {
                let pid = st.files.get(&arg(3)).map(|p| p.trim().to_string());
                let comm = pid
                    .as_ref()
                    .and_then(|p| st.files.get(&format!("/proc/{p}/comm")));
                match (pid, comm) {
                    (Some(pid), Some(comm)) => out(0, &format!("{pid} {}", comm.trim())),
                    _ => out(0, ""),
                }
            }
            "read" => match st.files.get(&arg(3)) {
                Some(c) => out(0, c),
                None => out(44, ""),
            },
            "write" => {
                st.files.insert(arg(3), stdin);
                out(0, "")
            }
            "rm" => {
                st.files.remove(&arg(2));
                out(0, "")
            }
            "list" => out(0, &st.entries.join("\n")),
            "pgrep" => out(1, ""),
            "client" => {
                if let Some((_, err)) = st.refuse.iter().find(|(w, _)| stdin.contains(w)) {
                    return Output {
                        status: Some(1),
                        stderr: err.as_bytes().to_vec(),
                        ..Output::default()
                    };
                }
                if stdin.contains("START REPLICA") || stdin.contains("START SLAVE") {
                    st.replica_status = RUNNING_STATUS.to_string();
                }
                // Each statement's rows, in the order asked.
                let mut rows = String::new();
                if stdin.contains("SELECT VERSION()") {
                    rows.push_str(
                        "*************************** 1. row ***************************\n\
                         \x20 version: 8.0.40\nread_only: 1\n",
                    );
                }
                if stdin.contains("REPLICA STATUS") || stdin.contains("SLAVE STATUS") {
                    rows.push_str(&st.replica_status);
                }
                if !rows.is_empty() {
                    return out(0, &rows);
                }
                if stdin.contains("FROM mysql.user") {
                    return out(0, "10.0.0.1\n10.0.0.9\n");
                }
                out(0, "")
            }
            _ => out(0, ""),
        }
    }
}

/// A short name for a command: what it does to the fake host.
fn kind(cmd: &Command) -> String {
    let program = cmd.program.rsplit('/').next().unwrap_or_default();
    let has = |a: &str| cmd.args.iter().any(|x| x == a);
    match program {
        "mysql" | "mariadb" => "client".into(),
        "mysqladmin" | "mariadb-admin" if has("ping") => "ping".into(),
        "mysqladmin" | "mariadb-admin" if has("shutdown") => "shutdown".into(),
        "systemctl" => format!("systemctl {}", cmd.args.first().cloned().unwrap_or_default()),
        "test" => format!("test {}", cmd.args.first().cloned().unwrap_or_default()),
        "sh" => {
            let script = cmd.args.get(1).map(String::as_str).unwrap_or_default();
            if script.contains("mktemp") {
                "write".into()
            } else if script.contains("/proc/$pid/comm") {
                "pid".into()
            } else if script.contains("exit 44") {
                "read".into()
            } else if script.contains("-maxdepth 1") {
                "list".into()
            } else if script.contains("setsid") {
                "start".into()
            } else if script.contains("-delete") {
                "wipe".into()
            } else {
                "sh".into()
            }
        }
        other => other.to_string(),
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
    service: ServiceMode,
}

impl Setup {
    fn new(engine: &str, version: &str) -> Setup {
        let cluster: Cluster = toml::from_str(&format!(
            "name = \"db\"\nengine = \"{engine}\"\nversion = \"{version}\"\ntopology = \"primary-replica\"\n\
             [[nodes]]\nhost = \"10.0.0.1\"\n[[nodes]]\nhost = \"10.0.0.2\"\n"
        ))
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
            service: ServiceMode::Direct,
        }
    }

    fn cx(&self, i: usize) -> NodeCx<'_> {
        NodeCx {
            cluster: &self.cluster,
            node: &self.nodes[i],
            paths: &self.paths,
            service: self.service,
            secrets: &self.secrets,
        }
    }

    fn primary(&self) -> PeerRef {
        PeerRef {
            name: "db1".into(),
            number: 1,
            host: "10.0.0.1".into(),
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

fn assert_in_order(text: &str, parts: &[&str]) {
    let mut from = 0;
    for p in parts {
        match text[from..].find(p) {
            Some(at) => from += at + p.len(),
            None => panic!("{p:?} missing (or out of order) in:\n{text}"),
        }
    }
}

fn seed_file() -> String {
    format!("{DATA}/{SEED_GTID}")
}

#[test]
fn mysql80_seeded_replica_takes_the_backup_position_then_auto_positions() {
    let s = Setup::new("mysql", "8.0");
    let uuid = "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-42";
    let fake = Fake::new(State {
        running: true,
        files: [(seed_file(), format!("{uuid}\n"))].into(),
        ..State::default()
    });
    block(MysqlDriver.start_replication(&fake, &s.cx(1), &s.primary())).unwrap();
    assert_in_order(
        &fake.sql(),
        &[
            "SHOW REPLICA STATUS\\G",
            "SET SESSION sql_mode = 'NO_ENGINE_SUBSTITUTION';\nSTOP REPLICA;\nRESET MASTER;\n",
            &format!("SET GLOBAL gtid_purged = '{uuid}';\n"),
            "CHANGE REPLICATION SOURCE TO SOURCE_HOST = '10.0.0.1', SOURCE_PORT = 3306, \
             SOURCE_USER = 'dbfleet_repl', SOURCE_PASSWORD = 'repl:secret\\\\y', SOURCE_AUTO_POSITION = 1",
            "GET_SOURCE_PUBLIC_KEY = 1;\nSTART REPLICA;\n",
            "SHOW REPLICA STATUS\\G",
        ],
    );
    assert_eq!(fake.file(&seed_file()), None, "the position is used once");
    let words = visible_words(&fake.commands());
    assert!(!words.iter().any(|w| w.contains("secret")), "{words:?}");

    // Called again: already replicating from the primary, nothing changes.
    let before = fake.commands().len();
    block(MysqlDriver.start_replication(&fake, &s.cx(1), &s.primary())).unwrap();
    let again: String = fake.commands()[before..]
        .iter()
        .filter_map(|c| c.stdin.as_ref().map(|b| String::from_utf8_lossy(b).into_owned()))
        .collect();
    assert!(!again.contains("CHANGE"), "{again}");
}

#[test]
fn mysql84_resets_binary_logs_and_gtids() {
    let s = Setup::new("mysql", "8.4");
    let fake = Fake::new(State {
        running: true,
        files: [(seed_file(), "u:1-3\n".to_string())].into(),
        ..State::default()
    });
    block(MysqlDriver.start_replication(&fake, &s.cx(1), &s.primary())).unwrap();
    assert_in_order(
        &fake.sql(),
        &["STOP REPLICA;\nRESET BINARY LOGS AND GTIDS;\nSET GLOBAL gtid_purged = 'u:1-3';"],
    );
}

#[test]
fn mariadb_replication_stopped_on_an_error_is_rejected_with_it() {
    let s = Setup::new("mariadb", "10.11");
    let fake = Fake::new(State {
        running: true,
        refuse: vec![(
            "START SLAVE",
            "ERROR 1200 (HY000) at line 4: Misconfigured slave: MASTER_HOST was not set\n",
        )],
        ..State::default()
    });
    let err = block(MysqlDriver.start_replication(&fake, &s.cx(1), &s.primary())).unwrap_err();
    assert_eq!(
        err.to_string(),
        "fake: mariadb rejected replication from 10.0.0.1: \
         ERROR 1200 (HY000): Misconfigured slave: MASTER_HOST was not set"
    );
    assert_in_order(
        &fake.sql(),
        &[
            "STOP SLAVE;\nCHANGE MASTER TO MASTER_HOST = '10.0.0.1'",
            "MASTER_USE_GTID = slave_pos",
        ],
    );
}

#[test]
fn mysql_init_uses_initialize_insecure_on_an_empty_directory() {
    let s = Setup::new("mysql", "8.0");
    let fake = Fake::new(State::default());
    block(MysqlDriver.init(&fake, &s.cx(0))).unwrap();
    let init = fake
        .commands()
        .into_iter()
        .find(|c| c.args.iter().any(|a| a == "--initialize-insecure"))
        .expect("mysqld --initialize-insecure");
    assert_eq!(init.program, "/usr/sbin/mysqld");
    assert_eq!(init.args[0], "--defaults-file=/etc/mysql/my.cnf");
    assert_eq!(
        fake.file(&format!("{DATA}/{INITIALISED}")).as_deref(),
        Some("init\n")
    );
    let writes: Vec<String> = fake
        .commands()
        .iter()
        .filter(|c| kind(c) == "write")
        .map(|c| c.args[3].clone())
        .collect();
    // No .dbfleet-incomplete: mysqld --initialize wants an empty directory.
    assert_eq!(writes, [format!("{DATA}/{INITIALISED}")]);

    // Initialised: nothing more happens.
    let before = fake.commands().len();
    block(MysqlDriver.init(&fake, &s.cx(0))).unwrap();
    assert_eq!(fake.kinds()[before..], ["test -e"]);
}

#[test]
fn init_adopts_a_package_data_directory_and_refuses_foreign_data() {
    let s = Setup::new("mariadb", "10.11");
    let fake = Fake::new(State {
        entries: vec!["mysql".into(), "ibdata1".into(), "aria_log_control".into()],
        ..State::default()
    });
    block(MysqlDriver.init(&fake, &s.cx(0))).unwrap();
    assert!(
        !fake.kinds().contains(&"mariadb-install-db".to_string()),
        "{:?}",
        fake.kinds()
    );
    assert_eq!(
        fake.file(&format!("{DATA}/{INITIALISED}")).as_deref(),
        Some("init: adopted\n")
    );

    let fake = Fake::new(State {
        entries: vec!["lost+found".into(), "notes.txt".into()],
        ..State::default()
    });
    let err = block(MysqlDriver.init(&fake, &s.cx(0))).unwrap_err();
    assert!(matches!(err, DriverError::Other { .. }), "{err:?}");
    assert!(err.to_string().contains("found notes.txt"), "{err}");
    assert!(!fake.kinds().contains(&"wipe".to_string()));

    // A half-done initialisation of our own is wiped and redone.
    let fake = Fake::new(State {
        entries: vec![INCOMPLETE.into(), "ibdata1".into()],
        ..State::default()
    });
    block(MysqlDriver.init(&fake, &s.cx(0))).unwrap();
    let kinds = fake.kinds();
    let at = |k: &str| {
        kinds
            .iter()
            .position(|x| x == k)
            .unwrap_or_else(|| panic!("{k} in {kinds:?}"))
    };
    assert!(at("wipe") < at("mariadb-install-db"), "{kinds:?}");
    assert_eq!(fake.file(&format!("{DATA}/{INCOMPLETE}")), None);
}

#[test]
fn mysql_users_switch_root_to_auth_socket_and_drop_stale_grants() {
    let s = Setup::new("mysql", "8.0");
    let fake = Fake::new(State {
        running: true,
        ..State::default()
    });
    block(MysqlDriver.create_users(&fake, &s.cx(0))).unwrap();
    assert_in_order(
        &fake.sql(),
        &[
            "INSTALL PLUGIN auth_socket SONAME 'auth_socket.so';\n",
            "ALTER USER 'root'@'localhost' IDENTIFIED WITH auth_socket;\n",
            "CREATE USER IF NOT EXISTS 'dbfleet'@'%' IDENTIFIED BY 'admin \\'secret\\' $x';\n",
            "GRANT ALL PRIVILEGES ON *.* TO 'dbfleet'@'%' WITH GRANT OPTION;\n",
            "CREATE USER IF NOT EXISTS 'dbfleet_repl'@'10.0.0.1' IDENTIFIED BY 'repl:secret\\\\y';\n",
            "GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'dbfleet_repl'@'10.0.0.1';\n",
            "GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'dbfleet_repl'@'10.0.0.2';\n",
            "DROP USER IF EXISTS 'dbfleet_repl'@'10.0.0.9';\n",
        ],
    );
    assert!(!fake
        .sql()
        .contains("DROP USER IF EXISTS 'dbfleet_repl'@'10.0.0.1'"));
    let words = visible_words(&fake.commands());
    assert!(!words.iter().any(|w| w.contains("secret")), "{words:?}");
}

#[test]
fn starts_directly_or_through_systemd() {
    let mut s = Setup::new("mysql", "8.4");
    let fake = Fake::new(State::default());
    block(MysqlDriver.start(&fake, &s.cx(0))).unwrap();
    let start = fake
        .commands()
        .into_iter()
        .find(|c| kind(c) == "start")
        .expect("start");
    assert_eq!(
        start.args[3..],
        [
            "/usr/sbin/mysqld",
            "--defaults-file=/etc/mysql/my.cnf",
            "--daemonize"
        ]
    );
    assert!(fake.kinds().iter().filter(|k| *k == "ping").count() >= 2);

    s.service = ServiceMode::Systemd;
    let fake = Fake::new(State::default());
    block(MysqlDriver.start(&fake, &s.cx(0))).unwrap();
    assert!(fake.kinds().contains(&"systemctl start".to_string()));
    let unit = fake
        .commands()
        .into_iter()
        .find(|c| c.program == "systemctl")
        .unwrap();
    assert_eq!(unit.args, ["start", "mysql"]);
    block(MysqlDriver.stop(&fake, &s.cx(0))).unwrap();
    assert!(fake.kinds().contains(&"systemctl stop".to_string()));

    let s = Setup::new("mariadb", "10.11");
    let fake = Fake::new(State::default());
    block(MysqlDriver.start(&fake, &s.cx(0))).unwrap();
    let start = fake
        .commands()
        .into_iter()
        .find(|c| kind(c) == "start")
        .expect("start");
    assert_eq!(
        start.args[3..],
        ["mysqld_safe", "--defaults-file=/etc/mysql/my.cnf"]
    );
}

#[test]
fn mysql_observe_reads_replica_status() {
    let s = Setup::new("mysql", "8.0");
    let fake = Fake::new(State {
        running: true,
        files: [
            ("/run/mysqld/mysqld.pid".to_string(), "4242\n".to_string()),
            ("/proc/4242/comm".to_string(), "mysqld\n".to_string()),
            (format!("{DATA}/{INITIALISED}"), "seed\n".to_string()),
        ]
        .into(),
        replica_status: RUNNING_STATUS.into(),
        ..State::default()
    });
    let state = block(MysqlDriver.observe(&fake, &s.cx(1))).unwrap();
    assert!(state.installed && state.initialised && state.running);
    assert_eq!(state.pid, Some(4242));
    assert_eq!(state.version.as_deref(), Some("8.0.40"));
    assert_eq!(state.role, Some(ObservedRole::Replica));
    let r = state.replication.unwrap();
    assert!(r.healthy);
    assert_eq!(r.source_host, "10.0.0.1");
    assert!(fake.sql().contains("SHOW REPLICA STATUS\\G"));

    // A pid file naming some other process is no server.
    let fake = Fake::new(State {
        running: true,
        files: [
            ("/run/mysqld/mysqld.pid".to_string(), "4242\n".to_string()),
            ("/proc/4242/comm".to_string(), "sshd\n".to_string()),
        ]
        .into(),
        ..State::default()
    });
    assert_eq!(block(MysqlDriver.observe(&fake, &s.cx(1))).unwrap().pid, None);
}

#[test]
fn live_changes_on_mysql() {
    let s = Setup::new("mysql", "8.0");
    let fake = Fake::new(State {
        running: true,
        refuse: vec![(
            "SET GLOBAL innodb_log_buffer_size",
            "ERROR 1238 (HY000) at line 2: Variable 'innodb_log_buffer_size' is a read only variable\n",
        )],
        ..State::default()
    });
    let changes = [
        ConfigChange {
            key: "max_connections".into(),
            value: Some("500".into()),
        },
        ConfigChange {
            key: "innodb_log_buffer_size".into(),
            value: Some("32M".into()),
        },
        ConfigChange {
            key: "long_query_time".into(),
            value: None,
        },
        ConfigChange {
            key: "mysqld_safe.open_files_limit".into(),
            value: Some("20000".into()),
        },
    ];
    let outcome = block(MysqlDriver.apply_live(&fake, &s.cx(0), &changes)).unwrap();
    assert_eq!(
        outcome,
        LiveOutcome::NeedsRestart(vec![
            "innodb_log_buffer_size".into(),
            "mysqld_safe.open_files_limit".into()
        ])
    );
    assert!(
        !fake
            .commands()
            .iter()
            .any(|c| c.args.iter().any(|a| a == "--validate-config")),
        "the executor checks the file before apply_live"
    );
    assert_in_order(
        &fake.sql(),
        &[
            "SET GLOBAL max_connections = 500;",
            "SET GLOBAL innodb_log_buffer_size = 33554432;",
            "SET GLOBAL long_query_time = DEFAULT;",
        ],
    );
    assert_eq!(
        block(MysqlDriver.apply_live(&fake, &s.cx(0), &[])).unwrap(),
        LiveOutcome::Applied
    );
}

#[test]
fn observe_runs_nothing_beyond_its_prefetched_commands() {
    // What observe_commands lists is exactly what observe asks a healthy
    // replica: prefetched in one batch, observation costs one round trip.
    let s = Setup::new("mariadb", "10.11");
    let fake = Fake::new(State {
        running: true,
        files: [
            ("/run/mysqld/mysqld.pid".to_string(), "4242\n".to_string()),
            ("/proc/4242/comm".to_string(), "mariadbd\n".to_string()),
            (format!("{DATA}/{INITIALISED}"), "seed\n".to_string()),
        ]
        .into(),
        replica_status: RUNNING_STATUS.into(),
        ..State::default()
    });
    let cx = s.cx(1);
    let listed = MysqlDriver.observe_commands(&fake, &cx);
    let state = block(async {
        let ahead = crate::transport::Prefetched::run(&fake, listed.clone())
            .await
            .unwrap();
        MysqlDriver.observe(&ahead, &cx).await
    })
    .unwrap();
    assert!(state.running && state.pid == Some(4242), "{state:?}");
    assert_eq!(fake.commands(), listed, "observe asked more than it listed");
}

#[test]
fn check_config_checks_a_staged_copy_and_removes_it() {
    let s = Setup::new("mysql", "8.0");
    let fake = Fake::new(State {
        running: true,
        ..State::default()
    });
    let content = "[mysqld]\nmax_connections = 500\n";
    block(MysqlDriver.check_config(&fake, &s.cx(0), content)).unwrap();
    let staged = "/etc/mysql/my.cnf.dbfleet-check";
    let cmds = fake.commands();
    let write = cmds
        .iter()
        .position(|c| kind(c) == "write")
        .expect("staged write");
    assert_eq!(cmds[write].args[3], staged);
    assert_eq!(cmds[write].stdin.as_deref(), Some(content.as_bytes()));
    let check = cmds
        .iter()
        .position(|c| c.args.iter().any(|a| a == "--validate-config"))
        .expect("config check");
    assert_eq!(cmds[check].program, "/usr/sbin/mysqld");
    assert!(cmds[check].args.contains(&format!("--defaults-file={staged}")));
    let rm = cmds
        .iter()
        .position(|c| c.program == "rm")
        .expect("staged copy removed");
    assert!(cmds[rm].args.iter().any(|a| a == staged));
    assert!(write < check && check < rm, "{:?}", fake.kinds());
    assert!(
        !fake
            .commands()
            .iter()
            .any(|c| c.args.iter().any(|a| a == "/etc/mysql/my.cnf")),
        "my.cnf untouched"
    );
}
