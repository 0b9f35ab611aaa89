//! The order apply works in, decided by the planner: every step of a
//! cluster's plan in one list, for a build, a configuration roll (replicas
//! first, or the primary first when a change lowers a setting standbys need
//! at least as high), and with unreachable nodes (planned nothing; steps
//! that need them blocked).

use std::collections::BTreeMap;

use dbfleet::layout::{layout, Allocations};
use dbfleet::model::Cluster;
use dbfleet::plan::{plan_cluster, ClusterBefore, ClusterPlan, NodeBefore};
use dbfleet::render::{Addresses, Renderer};

const SSH_PORT: u16 = 22;

fn cluster(engine: &str, version: &str, settings: &str, hosts: &[&str]) -> Cluster {
    let nodes: String = hosts
        .iter()
        .map(|h| format!("[[nodes]]\nhost = \"{h}\"\n"))
        .collect();
    let text = format!(
        "name = \"db\"\nengine = \"{engine}\"\nversion = \"{version}\"\ntopology = \"primary-replica\"\n\
         [settings]\n{settings}\n{nodes}"
    );
    toml::from_str(&text).expect("cluster")
}

/// Every node of `c` built, running, replicating, its files as `c` renders them.
fn applied(c: &Cluster) -> ClusterBefore {
    let r = Renderer::new(&BTreeMap::new()).expect("renderer");
    let mut before = ClusterBefore {
        observed: true,
        ..Default::default()
    };
    before.state.allocations = Allocations::default().extend_with(c);
    for node in layout(c, &before.state.allocations, None) {
        let files = r
            .render_all(c, &node, SSH_PORT, &Addresses::default())
            .expect("render")
            .into_iter()
            .map(|f| (f.path, f.content))
            .collect();
        let replicating_from = node.primary.as_ref().map(|p| (p.host.clone(), true));
        before.nodes.insert(
            node.name.clone(),
            NodeBefore {
                host: node.host.clone(),
                built: true,
                running: true,
                files,
                replicating_from,
                ..Default::default()
            },
        );
    }
    before
}

fn plan(c: &Cluster, before: Option<&ClusterBefore>) -> ClusterPlan {
    let r = Renderer::new(&BTreeMap::new()).expect("renderer");
    plan_cluster(c, &r, SSH_PORT, before, &Addresses::default()).expect("plan")
}

/// One line per planned step: `phase node: step`.
fn lines(p: &ClusterPlan) -> String {
    p.steps
        .iter()
        .map(|s| format!("{:<6} {s}\n", s.phase.as_str()))
        .collect()
}

const HOSTS: [&str; 3] = ["10.0.0.11", "10.0.0.12", "10.0.0.13"];

#[test]
fn a_new_cluster_builds_its_primary_then_seeds_the_replicas() {
    let c = cluster("mariadb", "10.11", "max_connections = 100", &HOSTS);
    insta::assert_snapshot!(lines(&plan(&c, None)), @r"
    build  db1: write the secret files
    build  db1: write /etc/mysql/my.cnf
    build  db1: load the firewall rules (nft -f)
    build  db1: initialise the data directory
    build  db1: start the engine
    build  db1: create the admin and replication users
    build  db1: mark the data directory as the cluster's
    build  db1: record the applied files
    seed   db2: write the secret files
    seed   db2: write /etc/mysql/my.cnf
    seed   db2: load the firewall rules (nft -f)
    seed   db2: seed data from db1
    seed   db2: start the engine
    seed   db2: replicate from db1
    seed   db2: mark the data directory as the cluster's
    seed   db2: record the applied files
    seed   db3: write the secret files
    seed   db3: write /etc/mysql/my.cnf
    seed   db3: load the firewall rules (nft -f)
    seed   db3: seed data from db1
    seed   db3: start the engine
    seed   db3: replicate from db1
    seed   db3: mark the data directory as the cluster's
    seed   db3: record the applied files
    ");
}

#[test]
fn a_changed_setting_is_checked_everywhere_then_rolled_replicas_first() {
    let old = cluster("mariadb", "10.11", "max_connections = 100", &HOSTS);
    let new = cluster("mariadb", "10.11", "max_connections = 200", &HOSTS);
    insta::assert_snapshot!(lines(&plan(&new, Some(&applied(&old)))), @r"
    check  db2: check the new configuration
    check  db3: check the new configuration
    check  db1: check the new configuration
    roll   db2: write the secret files
    roll   db2: write /etc/mysql/my.cnf
    roll   db2: apply settings (live where possible, else rolling restart)
    roll   db2: record the applied files
    roll   db3: write the secret files
    roll   db3: write /etc/mysql/my.cnf
    roll   db3: apply settings (live where possible, else rolling restart)
    roll   db3: record the applied files
    roll   db1: write the secret files
    roll   db1: write /etc/mysql/my.cnf
    roll   db1: apply settings (live where possible, else rolling restart)
    roll   db1: record the applied files
    ");
}

#[test]
fn lowering_a_standby_minimum_rolls_the_primary_first() {
    let old = cluster("postgresql", "15", "max_connections = 100", &HOSTS);
    let new = cluster("postgresql", "15", "max_connections = 50", &HOSTS);
    let p = plan(&new, Some(&applied(&old)));
    let applies: Vec<&str> = p
        .steps
        .iter()
        .filter(|s| s.step == dbfleet::plan::Step::ApplyConfig)
        .map(|s| s.node.as_str())
        .collect();
    assert_eq!(applies, ["db1", "db2", "db3"]);
    // Raising it goes replicas first.
    let up = cluster("postgresql", "15", "max_connections = 200", &HOSTS);
    let p = plan(&up, Some(&applied(&old)));
    let applies: Vec<&str> = p
        .steps
        .iter()
        .filter(|s| s.step == dbfleet::plan::Step::ApplyConfig)
        .map(|s| s.node.as_str())
        .collect();
    assert_eq!(applies, ["db2", "db3", "db1"]);
}

#[test]
fn an_unreachable_replica_gets_no_step_and_the_others_roll() {
    let old = cluster("postgresql", "15", "work_mem = \"4MB\"", &HOSTS);
    let new = cluster("postgresql", "15", "work_mem = \"8MB\"", &HOSTS);
    let mut before = applied(&old);
    before.nodes.get_mut("db3").expect("db3").unreachable = Some("connection timed out".into());
    let p = plan(&new, Some(&before));
    assert!(p.steps.iter().all(|s| s.node != "db3"), "{}", lines(&p));
    let applies: Vec<&str> = p
        .steps
        .iter()
        .filter(|s| s.step == dbfleet::plan::Step::ApplyConfig)
        .map(|s| s.node.as_str())
        .collect();
    assert_eq!(applies, ["db2", "db1"]);
    assert!(p.blocked.is_empty(), "{:?}", p.blocked);
    let db3 = p.nodes.iter().find(|n| n.name == "db3").expect("db3");
    assert_eq!(db3.unreachable.as_deref(), Some("connection timed out"));
}

#[test]
fn a_roll_that_must_reach_an_unreachable_primary_first_is_blocked() {
    let old = cluster("postgresql", "15", "max_connections = 100", &HOSTS);
    let new = cluster("postgresql", "15", "max_connections = 50", &HOSTS);
    let mut before = applied(&old);
    before.nodes.get_mut("db1").expect("db1").unreachable = Some("no route to host".into());
    let p = plan(&new, Some(&before));
    assert!(
        p.steps.iter().all(|s| s.step != dbfleet::plan::Step::ApplyConfig),
        "{}",
        lines(&p)
    );
    let blocked: Vec<String> = p
        .blocked
        .iter()
        .map(|b| format!("{}: {}: {}", b.node, b.what, b.reason))
        .collect();
    insta::assert_snapshot!(blocked.join("\n"), @r"
    db2: apply settings (live where possible, else rolling restart): the change must reach the primary db1 first, and it cannot be reached
    db3: apply settings (live where possible, else rolling restart): the change must reach the primary db1 first, and it cannot be reached
    ");
}

#[test]
fn a_new_node_whose_source_is_unreachable_is_blocked() {
    let old = cluster("valkey", "9.1", "", &HOSTS[..2]);
    let new = cluster("valkey", "9.1", "", &HOSTS);
    let mut before = applied(&old);
    before.nodes.get_mut("db1").expect("db1").unreachable = Some("connection refused".into());
    let p = plan(&new, Some(&before));
    assert!(
        p.steps.iter().all(|s| s.node != "db3" && s.node != "db1"),
        "{}",
        lines(&p)
    );
    let blocked: Vec<String> = p
        .blocked
        .iter()
        .map(|b| format!("{}: {}: {}", b.node, b.what, b.reason))
        .collect();
    assert_eq!(
        blocked,
        ["db3: seed data from db1: db1 cannot be reached: connection refused"]
    );
}

/// Defect 3: the plan names what it left out, in text and markdown.
#[test]
fn unreachable_nodes_and_blocked_steps_are_named_in_text_and_markdown() {
    let old = cluster("postgresql", "15", "max_connections = 100", &HOSTS);
    let new = cluster("postgresql", "15", "max_connections = 50", &HOSTS);
    let mut before = applied(&old);
    before.nodes.get_mut("db1").expect("db1").unreachable = Some("no route to host".into());
    let cp = plan(&new, Some(&before));
    let plan = dbfleet::plan::Plan {
        format_version: dbfleet::plan::JSON_FORMAT_VERSION,
        source: "repo".into(),
        against: "the hosts".into(),
        base_problem: None,
        clusters: vec![cp],
        requests: Vec::new(),
        not_planned: Vec::new(),
        summary: dbfleet::plan::Summary {
            nodes_unreachable: 1,
            ..Default::default()
        },
    };
    let text = dbfleet::plan::to_text(&plan, false);
    let errors: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("error:") || l.contains("left out:"))
        .collect();
    insta::assert_snapshot!(errors.join("\n"), @r"
      error: db1 (10.0.0.11, primary, #1) cannot be reached, nothing is planned for it: no route to host
        left out: db2: apply settings (live where possible, else rolling restart): the change must reach the primary db1 first, and it cannot be reached
        left out: db3: apply settings (live where possible, else rolling restart): the change must reach the primary db1 first, and it cannot be reached
    error: 1 node(s) could not be observed, the plan leaves them out: db1 (10.0.0.11)
    ");
    let md = dbfleet::plan::to_markdown(&plan, 0);
    let errors: Vec<&str> = md.lines().filter(|l| l.starts_with("> ")).collect();
    insta::assert_snapshot!(errors.join("\n"), @r"
    > [!CAUTION]
    > **Error:** 1 node(s) could not be observed; the plan leaves them out: `db1` (10.0.0.11)
    > [!CAUTION]
    > - **error:** `db1` (10.0.0.11) cannot be reached, nothing is planned for it: no route to host
    > - left out: `db2`: apply settings (live where possible, else rolling restart): the change must reach the primary db1 first, and it cannot be reached
    > - left out: `db3`: apply settings (live where possible, else rolling restart): the change must reach the primary db1 first, and it cannot be reached
    ");
}
