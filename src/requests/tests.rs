use super::*;
use crate::engine::{ObservedRole, Replication};
use crate::layout::{layout, Allocations};
use crate::model::Cluster;
use crate::plan::{NodeBefore, Step};

fn cluster() -> Cluster {
    toml::from_str(
        "name = \"db\"\nengine = \"mariadb\"\nversion = \"10.11\"\ntopology = \"primary-replica\"\n\
         [[nodes]]\nhost = \"10.0.0.1\"\n[[nodes]]\nhost = \"10.0.0.2\"\n[[nodes]]\nhost = \"10.0.0.3\"\n",
    )
    .expect("cluster")
}

fn nodes(primary: &str) -> Vec<NodeLayout> {
    let c = cluster();
    layout(&c, &Allocations::default().extend_with(&c), Some(primary))
}

/// db1 primary, db2 and db3 healthy replicas of it.
fn healthy() -> ClusterBefore {
    let mut b = ClusterBefore::default();
    for (name, host) in [("db1", "10.0.0.1"), ("db2", "10.0.0.2"), ("db3", "10.0.0.3")] {
        let primary = name == "db1";
        b.nodes.insert(
            name.into(),
            NodeBefore {
                host: host.into(),
                built: true,
                running: true,
                role: Some(if primary {
                    ObservedRole::Primary
                } else {
                    ObservedRole::Replica
                }),
                replication: (!primary).then(|| Replication {
                    source_host: "10.0.0.1".into(),
                    healthy: true,
                    lag_seconds: Some(0.0),
                    lag_bytes: Some(0),
                    last_error: None,
                }),
                ..Default::default()
            },
        );
    }
    b.observed = true;
    b
}

/// The replication of a replica of [`healthy`].
fn replication_of<'b>(b: &'b mut ClusterBefore, node: &str) -> &'b mut Replication {
    let n = b.nodes.get_mut(node).expect("node");
    n.replication.as_mut().expect("a replica")
}

fn record(done: Option<&str>) -> RequestRecord {
    let file = RequestFile {
        id: "2026-12-06-promote-db3".into(),
        path: "requests/2026-12-06-promote-db3.toml".into(),
        request: promote("db3"),
    };
    let mut r = new_record(&Due {
        file: &file,
        sha256: "x".into(),
        origin: None,
    });
    if let Some(d) = done {
        r.facts.insert(DONE.into(), d.into());
        r.facts.insert(promote::OLD_PRIMARY.into(), "db1".into());
    }
    r
}

fn promote(node: &str) -> Request {
    toml::from_str(&format!(
        "action = \"promote\"\ncluster = \"db\"\nnode = \"{node}\"\n"
    ))
    .expect("request")
}

fn verdict(before: &ClusterBefore, done: Option<&str>, primary: &str, timed_out: bool) -> Verdict {
    let nodes = nodes(primary);
    let rec = record(done);
    next(
        &promote("db3"),
        &Situation {
            nodes: &nodes,
            before,
            record: &rec,
            timed_out,
        },
    )
}

#[test]
fn a_promote_goes_fence_catch_up_promote_repoint_done() {
    let b = healthy();
    let steps = |v: Verdict| match v {
        Verdict::Run(PhaseRun { phase, steps, .. }) => (
            phase.as_str(),
            steps
                .iter()
                .map(|s| format!("{} {}", s.node, s.step))
                .collect::<Vec<_>>(),
        ),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        steps(verdict(&b, None, "10.0.0.1", false)),
        ("fence", vec!["db1 stop taking writes (fence)".to_string()])
    );
    assert_eq!(
        steps(verdict(&b, Some("fence"), "10.0.0.1", false)),
        (
            "wait-caught-up",
            vec!["db3 wait until it has everything db1 wrote".to_string()]
        )
    );
    assert_eq!(
        steps(verdict(&b, Some("wait-caught-up"), "10.0.0.1", false)),
        ("promote", vec!["db3 become the primary".to_string()])
    );
    let (phase, repoint) = steps(verdict(&b, Some("promote"), "10.0.0.3", false));
    assert_eq!(phase, "repoint");
    assert_eq!(
        repoint,
        [
            "db3 write its configuration for the new roles",
            "db3 record the applied files",
            "db1 write its configuration for the new roles",
            "db1 replicate from db3",
            "db1 record the applied files",
            "db2 write its configuration for the new roles",
            "db2 replicate from db3",
            "db2 record the applied files",
        ]
    );
    assert_eq!(
        verdict(&b, Some("repoint"), "10.0.0.3", false),
        Verdict::Done(None)
    );
}

#[test]
fn prechecks_refuse_a_stopped_lagging_or_misplaced_target_and_a_lost_primary() {
    let refused = |b: &ClusterBefore| match verdict(b, None, "10.0.0.1", false) {
        Verdict::Refuse(why) => why,
        other => panic!("{other:?}"),
    };
    let mut b = healthy();
    b.nodes.get_mut("db3").expect("db3").running = false;
    assert_eq!(refused(&b), "db3 (10.0.0.3) is not running");
    let mut b = healthy();
    let r = replication_of(&mut b, "db3");
    r.lag_bytes = Some(50 << 20);
    r.lag_seconds = Some(30.0);
    assert_eq!(
        refused(&b),
        "db3 lags 52428800 bytes and 30s behind the primary (at most 1048576 bytes and 10s)"
    );
    let mut b = healthy();
    replication_of(&mut b, "db3").healthy = false;
    assert_eq!(refused(&b), "db3's replication is broken: the stream is not up");
    let mut b = healthy();
    b.nodes.get_mut("db1").expect("db1").unreachable = Some("connection timed out".into());
    assert_eq!(
        refused(&b),
        "the primary db1 (10.0.0.1) cannot be reached: connection timed out"
    );
    // Few bytes but long behind (a delayed replica) is too far behind too.
    let mut b = healthy();
    let r = replication_of(&mut b, "db3");
    r.lag_bytes = Some(300);
    r.lag_seconds = Some(3600.0);
    assert_eq!(
        refused(&b),
        "db3 lags 300 bytes and 3600s behind the primary (at most 1048576 bytes and 10s)"
    );
}

#[test]
fn a_timeout_before_the_promote_lifts_the_fence_and_after_it_goes_on() {
    let b = healthy();
    match verdict(&b, Some("wait-caught-up"), "10.0.0.1", true) {
        Verdict::Run(PhaseRun { phase, steps, .. }) => {
            assert_eq!(phase, Phase::Abort);
            assert_eq!(steps.len(), 1);
            assert_eq!((steps[0].node.as_str(), &steps[0].step), ("db1", &Step::Unfence));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        verdict(&b, Some("promote"), "10.0.0.3", true),
        Verdict::Run(PhaseRun {
            phase: Phase::Repoint,
            ..
        })
    ));
}

#[test]
fn the_primary_itself_is_already_promoted() {
    let mut b = healthy();
    b.nodes.get_mut("db3").expect("db3").role = Some(ObservedRole::Primary);
    assert_eq!(
        verdict(&b, None, "10.0.0.3", false),
        Verdict::Done(Some("db3 is already the primary".into()))
    );
}

#[test]
fn the_queue_is_in_commit_order_and_edited_requests_are_never_rerun() {
    let files: Vec<RequestFile> = ["b", "a", "c"]
        .iter()
        .map(|id| RequestFile {
            id: id.to_string(),
            path: format!("requests/{id}.toml"),
            request: promote("db3"),
        })
        .collect();
    let texts: BTreeMap<String, String> = files.iter().map(|f| (f.path.clone(), f.id.clone())).collect();
    let origin = |seq| FileOrigin {
        commit: format!("c{seq}"),
        author: "A <a@x>".into(),
        seq,
    };
    // b was committed first, then a; c is not committed.
    let origins = BTreeMap::from([
        ("requests/b.toml".to_string(), origin(1)),
        ("requests/a.toml".to_string(), origin(2)),
    ]);
    let mut ledger = BTreeMap::new();
    let mut ran = record(None);
    ran.id = "a".into();
    ran.sha256 = "not what the file holds now".into();
    ran.state = RequestState::Succeeded;
    ledger.insert("a".to_string(), ran);
    let q = queue(&files, &texts, &origins, &ledger);
    let shown: Vec<String> = q
        .iter()
        .map(|s| match s {
            Standing::Due(d) => format!("due {} {:?}", d.file.id, d.origin.as_ref().map(|o| &o.commit)),
            Standing::Ran(r) => format!("ran {}", r.id),
            Standing::EditedAfterRun(r) => format!("edited {}", r.id),
        })
        .collect();
    assert_eq!(shown, ["due b Some(\"c1\")", "edited a", "due c None"]);
}

#[test]
fn a_run_killed_in_a_phase_runs_that_phase_again_and_never_the_prechecks() {
    // Killed during the fence: h1 may be read-only already; the prechecks
    // would refuse ("not running as a primary") and leave it fenced.
    let mut fenced = healthy();
    fenced.nodes.get_mut("db1").expect("db1").role = Some(ObservedRole::Replica);
    let nodes = nodes("10.0.0.1");
    let mut rec = record(None);
    rec.enter("fence");
    rec.facts.insert(promote::OLD_PRIMARY.into(), "db1".into());
    let next_of = |rec: &RequestRecord, timed_out: bool| {
        next(
            &promote("db3"),
            &Situation {
                nodes: &nodes,
                before: &fenced,
                record: rec,
                timed_out,
            },
        )
    };
    let shown = |v: Verdict| match v {
        Verdict::Run(PhaseRun { phase, steps, .. }) => (
            phase,
            steps
                .iter()
                .map(|s| format!("{} {}", s.node, s.step))
                .collect::<Vec<_>>(),
        ),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        shown(next_of(&rec, false)),
        (Phase::Fence, vec!["db1 stop taking writes (fence)".to_string()])
    );
    assert_eq!(
        shown(next_of(&rec, true)),
        (
            Phase::Abort,
            vec!["db1 take writes again (lift the fence)".to_string()]
        )
    );
    // Killed while lifting the fence: lift it again.
    rec.facts.insert(DONE.into(), "fence".into());
    rec.enter("abort");
    assert_eq!(
        shown(next_of(&rec, false)),
        (
            Phase::Abort,
            vec!["db1 take writes again (lift the fence)".to_string()]
        )
    );
}

fn remove(node: &str) -> Request {
    toml::from_str(&format!(
        "action = \"remove-node\"\ncluster = \"db\"\nnode = \"{node}\"\nconfirm = \"{node}\"\n"
    ))
    .expect("request")
}

/// db3's host gone from the file: db3 is an orphan; `primary` recorded.
fn remove_verdict(node: &str, primary: &str) -> Verdict {
    let c: Cluster = toml::from_str(
        "name = \"db\"\nengine = \"postgresql\"\nversion = \"15\"\ntopology = \"primary-replica\"\n\
         [[nodes]]\nhost = \"10.0.0.1\"\n[[nodes]]\nhost = \"10.0.0.2\"\n",
    )
    .expect("cluster");
    let alloc = Allocations::default().extend_with(&cluster());
    let nodes = layout(&c, &alloc, Some(primary));
    let mut b = healthy();
    b.state.primary = Some(primary.into());
    let rec = record(None);
    next(
        &remove(node),
        &Situation {
            nodes: &nodes,
            before: &b,
            record: &rec,
            timed_out: false,
        },
    )
}

#[test]
fn remove_node_takes_out_an_orphan_and_refuses_the_others() {
    match remove_verdict("db3", "10.0.0.1") {
        Verdict::Run(run) => {
            let steps: Vec<String> = run
                .steps
                .iter()
                .map(|s| format!("{} {}", s.node, s.step))
                .collect();
            assert_eq!(
                steps[0],
                "db3 stop and disable the engine, remove its configuration and firewall"
            );
            assert!(
                steps[1].starts_with("db3 move the data directory aside (.removed-2"),
                "{steps:?}"
            );
            assert_eq!(steps[2], "db1 forget db3 (its slot or replication account)");
            assert_eq!(steps.len(), 3);
            assert_eq!(
                run.then_release.map(|p| (p.name, p.number)),
                Some(("db3".into(), 3))
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        remove_verdict("db2", "10.0.0.1"),
        Verdict::Refuse(
            "db2 (10.0.0.2) is still in the cluster file: remove its [[nodes]] entry first (remove-node takes out a node the file no longer lists)"
                .into()
        )
    );
    assert_eq!(
        remove_verdict("db3", "10.0.0.3"),
        Verdict::Refuse("db3 (10.0.0.3) is the primary: promote another node first".into())
    );
    assert_eq!(
        remove_verdict("db9", "10.0.0.1"),
        Verdict::Refuse("the cluster has no node db9".into())
    );
}

#[test]
fn data_is_moved_aside_under_the_time_the_request_started() {
    assert_eq!(remove::suffix(1_796_540_729), "removed-20261206T070529Z");
}
