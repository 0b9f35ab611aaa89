//! What a node is (observe) and who may log in to it (create_users).

use std::collections::BTreeSet;
use std::net::IpAddr;

use super::host::{exists_command, has_program_command, Host, INITIALISED};
use super::sql::{account, literal};
use super::status::{get, parse_vertical, ReplicaStatus};
use crate::engine::contract::Result;
use crate::engine::{EngineState, ObservedRole};
use crate::layout::PeerRef;
use crate::model::Topology;
use crate::render::{ADMIN_USER, REPLICATION_USER};
use crate::transport::Command;

const SERVER_STATE: &str = "SELECT VERSION() AS version, @@GLOBAL.read_only AS read_only";

impl Host<'_> {
    /// What [`Host::observe`] runs on a running node, built the same way.
    pub(crate) fn observe_commands(&self) -> Vec<Command> {
        let p = self.cx.paths;
        vec![
            has_program_command(&p.server_binary),
            exists_command(&self.data_file(INITIALISED)),
            self.vertical_command(&self.observe_sql()),
            self.server_pid_command(),
        ]
    }

    /// The server state, then the replica status (no row on a primary).
    fn observe_sql(&self) -> String {
        format!("{SERVER_STATE}\\G\n{}", self.flavor.replica_status())
    }

    /// See [`crate::engine::Driver::observe`]. One client call reads the
    /// server state and the replica status; a server that answers it runs.
    /// When it does not, ping tells a stopped server from one that refuses
    /// the query (an error).
    pub(crate) async fn observe(&self) -> Result<EngineState> {
        let p = self.cx.paths;
        let mut state = EngineState {
            installed: self.has_program(&p.server_binary).await?,
            initialised: self.initialised().await?,
            ..EngineState::default()
        };
        let out = match self
            .client_out(self.vertical_command(&self.observe_sql()))
            .await?
        {
            Ok(out) => out,
            Err(_) if !self.ping().await? => return Ok(state),
            Err(e) => return Err(self.rejected("reading the server state", e.message)),
        };
        state.running = true;
        state.pid = self.server_pid().await?;
        let rows = parse_vertical(&out);
        let row = rows.first();
        state.version = row.and_then(|r| get(r, &["version"])).map(str::to_string);
        let read_only = row
            .and_then(|r| get(r, &["read_only"]))
            .is_some_and(|v| v == "1" || v.eq_ignore_ascii_case("ON"));
        let replica = rows.get(1).and_then(ReplicaStatus::from_row);
        // In multi-master every node replicates and every node is primary.
        let replicates = replica.is_some() && self.cx.cluster.topology != Topology::MultiMaster;
        state.role = Some(if read_only || replicates {
            ObservedRole::Replica
        } else {
            ObservedRole::Primary
        });
        state.replication = replica.map(|r| r.replication());
        Ok(state)
    }

    /// See [`crate::engine::Driver::create_users`]. The admin user may log
    /// in from anywhere (the firewall narrows that down); the replication
    /// user from every node of the cluster, by address (the servers run
    /// with skip_name_resolve), and from nowhere else: grants for hosts
    /// that left the cluster are dropped. Replicated through the binary log,
    /// so every node gets the same users.
    pub(crate) async fn create_users(&self) -> Result<()> {
        let s = self.cx.secrets;
        let f = self.flavor;
        let mut statements: Vec<String> = Vec::new();
        if !f.is_mariadb() {
            let active = !self
                .query_rows(
                    "checking the auth_socket plugin",
                    "SELECT PLUGIN_NAME FROM information_schema.PLUGINS \
                     WHERE PLUGIN_NAME = 'auth_socket' AND PLUGIN_STATUS = 'ACTIVE'",
                )
                .await?
                .is_empty();
            statements.extend(f.secure_root(active).into_iter().map(str::to_string));
        }
        let admin = account(ADMIN_USER, "%");
        let password = literal(&s.admin_password);
        statements.extend([
            format!("CREATE USER IF NOT EXISTS {admin} IDENTIFIED BY {password}"),
            format!("ALTER USER {admin} IDENTIFIED BY {password}"),
            format!("GRANT ALL PRIVILEGES ON *.* TO {admin} WITH GRANT OPTION"),
        ]);
        let hosts = self.node_addresses().await?;
        let password = literal(&s.replication_password);
        for host in &hosts {
            let repl = account(REPLICATION_USER, host);
            statements.extend([
                format!("CREATE USER IF NOT EXISTS {repl} IDENTIFIED BY {password}"),
                format!("ALTER USER {repl} IDENTIFIED BY {password}"),
                format!("GRANT {} ON *.* TO {repl}", f.replication_privileges()),
            ]);
        }
        let existing = self
            .query_rows(
                "listing replication users",
                &format!(
                    "SELECT Host FROM mysql.user WHERE User = {}",
                    literal(REPLICATION_USER)
                ),
            )
            .await?;
        for row in existing {
            let Some(host) = row.into_iter().next() else {
                continue;
            };
            if !hosts.contains(&host) {
                statements.push(format!(
                    "DROP USER IF EXISTS {}",
                    account(REPLICATION_USER, &host)
                ));
            }
        }
        self.sql_ok("creating users", &statements).await.map(drop)
    }

    /// See [`crate::engine::Driver::forget_peer`]: the replication account
    /// of each of the peer's addresses.
    pub(crate) async fn forget_peer(&self, peer: &PeerRef) -> Result<()> {
        let statements: Vec<String> = self
            .addresses([&peer.host])
            .await?
            .iter()
            .map(|a| format!("DROP USER IF EXISTS {}", account(REPLICATION_USER, a)))
            .collect();
        self.sql_ok("dropping the replication account", &statements)
            .await
            .map(drop)
    }

    /// Addresses of every node of the cluster (this one included, so that
    /// any node can become the source), host names resolved on this node.
    async fn node_addresses(&self) -> Result<BTreeSet<String>> {
        let node = self.cx.node;
        let hosts: Vec<String> = std::iter::once(&node.host)
            .chain(node.peers.iter().map(|p| &p.host))
            .cloned()
            .collect();
        self.addresses(&hosts).await
    }

    /// The addresses of `hosts`, names resolved on this node.
    async fn addresses<'h>(&self, hosts: impl IntoIterator<Item = &'h String>) -> Result<BTreeSet<String>> {
        let mut out = BTreeSet::new();
        for host in hosts {
            if let Ok(ip) = host.parse::<IpAddr>() {
                out.insert(ip.to_string());
                continue;
            }
            let resolved = self.run(&Command::new("getent").args(["ahosts", host])).await?;
            let addrs: BTreeSet<String> = resolved
                .stdout_str()
                .lines()
                .filter_map(|l| l.split_whitespace().next())
                .filter(|a| a.parse::<IpAddr>().is_ok())
                .map(str::to_string)
                .collect();
            if addrs.is_empty() {
                return Err(self.other(format!("cannot resolve cluster node {host} on this host")));
            }
            out.extend(addrs);
        }
        Ok(out)
    }
}
