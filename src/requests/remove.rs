//! remove-node: take a node the cluster file no longer lists out of the
//! cluster, in one phase: its engine stopped and disabled, its
//! configuration and firewall removed, its data directory moved aside
//! (never deleted), and what it had on the primaries to replicate (a slot,
//! an account) taken away. Its number then stays a tombstone; the converge
//! that follows drops it from the peers' firewall and pg_hba.conf.
//!
//! Refused, with nothing changed: a node still in the cluster file (remove
//! it there first, or the next apply would build it again), the primary
//! (promote another node first), a node the cluster never had.

use super::{PhaseRun, Situation, Verdict, DONE};
use crate::engine::ObservedRole;
use crate::layout::{NodeLayout, PeerRef, Role};
use crate::plan::{Phase, PlannedStep, Step};

pub fn next(node: &str, s: &Situation<'_>) -> Verdict {
    if s.record.facts.get(DONE).map(String::as_str) == Some("remove") {
        return Verdict::Done(None);
    }
    let started = s.record.phase.is_some();
    let orphan = s
        .nodes
        .first()
        .and_then(|n| n.orphans.iter().find(|o| o.name == node));
    let Some(orphan) = orphan else {
        if started {
            return Verdict::Fail(format!("{node} is no longer an orphan of the cluster"));
        }
        return Verdict::Refuse(match s.nodes.iter().find(|n| n.name == node) {
            Some(n) => format!(
                "{node} ({}) is still in the cluster file: remove its [[nodes]] entry first (remove-node takes out a node the file no longer lists)",
                n.host
            ),
            None => format!("the cluster has no node {node}"),
        });
    };
    if !started {
        let recorded = s.before.state.primary.as_deref() == Some(orphan.host.as_str());
        let observed = s.before.nodes.get(node).and_then(|n| n.role) == Some(ObservedRole::Primary);
        if recorded || (observed && !multi_master(s.nodes)) {
            return Verdict::Refuse(format!(
                "{node} ({}) is the primary: promote another node first",
                orphan.host
            ));
        }
    }
    Verdict::Run(PhaseRun {
        then_release: Some(orphan.clone()),
        ..PhaseRun::new(Phase::Remove, steps(orphan, s.nodes, &suffix(s.record.started)))
    })
}

fn multi_master(nodes: &[NodeLayout]) -> bool {
    nodes.iter().filter(|n| n.role == Role::Primary).count() > 1
}

fn steps(orphan: &PeerRef, nodes: &[NodeLayout], suffix: &str) -> Vec<PlannedStep> {
    let mut steps = vec![
        PlannedStep::new(&orphan.name, Phase::Remove, Step::RemoveNode),
        PlannedStep::new(
            &orphan.name,
            Phase::Remove,
            Step::MoveDataAside {
                suffix: suffix.to_string(),
            },
        ),
    ];
    steps.extend(nodes.iter().filter(|n| n.role == Role::Primary).map(|p| {
        PlannedStep::new(
            &p.name,
            Phase::Remove,
            Step::ForgetPeer {
                node: orphan.name.clone(),
            },
        )
    }));
    steps
}

/// `removed-20261206T032529Z`: when the request started (the same on a
/// resumed run, so the data is moved once).
pub fn suffix(started: u64) -> String {
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(started);
    let stamp: String = humantime::format_rfc3339_seconds(at)
        .to_string()
        .chars()
        .filter(|c| !matches!(c, '-' | ':'))
        .collect();
    format!("removed-{stamp}")
}

/// Every step of removing `node` (for the plan).
pub fn outline(node: &str, nodes: &[NodeLayout]) -> Vec<PlannedStep> {
    match nodes
        .first()
        .and_then(|n| n.orphans.iter().find(|o| o.name == node))
    {
        Some(orphan) => steps(orphan, nodes, "removed-<time>"),
        None => Vec::new(),
    }
}
