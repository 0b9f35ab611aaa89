//! promote: a planned switchover to a named replica.
//!
//! ```text
//! prechecks -> fence -> wait-caught-up -> promote -> repoint -> done
//!                 \_________ (failure or timeout) ____> abort (unfence)
//! ```
//!
//! The prechecks judge what was observed before anything is touched: the
//! target is a healthy replica of the current primary, within
//! [`MAX_LAG_BYTES`] and [`MAX_LAG_SECONDS`] (where the engine reports each), and the primary answers.
//! Otherwise the request is refused and nothing changes. Once the old
//! primary is fenced, a failure (or the timeout) before the promote lifts
//! the fence again, so that the cluster always ends with exactly one
//! writable primary; from the promote on, the request goes forward.

use super::{PhaseRun, Situation, Verdict, DONE};
use crate::engine::ObservedRole;
use crate::layout::{NodeLayout, Role};
use crate::plan::{Phase, PlannedStep, Step};

/// The lag a target may have: 1 MiB behind...
pub const MAX_LAG_BYTES: u64 = 1024 * 1024;
/// ... and 10 seconds.
pub const MAX_LAG_SECONDS: f64 = 10.0;

/// Fact key: the primary the switchover started from.
pub const OLD_PRIMARY: &str = "old-primary";

pub fn next(target: &str, s: &Situation<'_>) -> Verdict {
    let done = s.record.facts.get(DONE).map(String::as_str);
    let old = s.record.facts.get(OLD_PRIMARY).cloned();
    let Some(t) = s.nodes.iter().find(|n| n.name == target) else {
        return match done {
            None => Verdict::Refuse(format!("the cluster has no node {target}")),
            Some(_) => Verdict::Fail(format!("{target} is no longer in the cluster")),
        };
    };
    // A phase entered but not finished (a run killed halfway) is run again:
    // the old primary may be fenced already, so the prechecks, which would
    // see no primary, are never judged twice.
    let unfinished = s.record.phase.as_deref().filter(|p| Some(*p) != done);
    match (unfinished, &old) {
        (Some("abort"), Some(old)) => return abort(old),
        (Some("fence"), Some(old)) if s.timed_out => return abort(old),
        (Some("fence"), Some(old)) => return Verdict::Run(fence(old)),
        _ => {}
    }
    match (done, old) {
        (None, _) => prechecks(t, s),
        (Some(_), None) => Verdict::Fail("the ledger lost the old primary's name".into()),
        (Some(done), Some(old)) if s.timed_out && before_promote(done) => abort(&old),
        (Some("fence"), Some(old)) => Verdict::Run(PhaseRun {
            undo: unfence(&old),
            ..PhaseRun::new(
                Phase::CatchUp,
                vec![step(
                    &t.name,
                    Phase::CatchUp,
                    Step::WaitCaughtUp { from: old.clone() },
                )],
            )
        }),
        (Some("wait-caught-up"), Some(old)) => Verdict::Run(PhaseRun {
            undo: unfence(&old),
            then_primary: Some(t.host.clone()),
            ..PhaseRun::new(Phase::Promote, vec![step(&t.name, Phase::Promote, Step::Promote)])
        }),
        (Some("promote"), Some(old)) => {
            Verdict::Run(PhaseRun::new(Phase::Repoint, repoint(t, s.nodes, &old)))
        }
        (Some("repoint"), _) => Verdict::Done(None),
        (Some("abort"), _) => Verdict::Fail(
            s.record
                .reason
                .clone()
                .unwrap_or_else(|| "stopped before the promote; the old primary takes writes again".into()),
        ),
        (Some(other), _) => Verdict::Fail(format!("unknown phase `{other}` in the ledger")),
    }
}

/// Whether the old primary is still the only one that may become primary
/// again (the promote did not run).
fn before_promote(done: &str) -> bool {
    matches!(done, "fence" | "wait-caught-up")
}

/// The phase that lifts the fence: the request then fails.
pub fn abort(old: &str) -> Verdict {
    Verdict::Run(PhaseRun::new(Phase::Abort, unfence(old)))
}

fn unfence(old: &str) -> Vec<PlannedStep> {
    vec![step(old, Phase::Abort, Step::Unfence)]
}

fn prechecks(t: &NodeLayout, s: &Situation<'_>) -> Verdict {
    let Some(primary) = s.nodes.iter().find(|n| n.role == Role::Primary) else {
        return Verdict::Refuse("the cluster has no primary to hand over from".into());
    };
    if primary.name == t.name {
        let really = s.before.nodes.get(&t.name).and_then(|n| n.role) == Some(ObservedRole::Primary);
        return if really {
            Verdict::Done(Some(format!("{} is already the primary", t.name)))
        } else {
            Verdict::Refuse(format!(
                "{} is recorded as the primary but does not run as one",
                t.name
            ))
        };
    }
    if let Some(why) = refusal(t, primary, s) {
        return Verdict::Refuse(why);
    }
    Verdict::Run(PhaseRun {
        facts: vec![(OLD_PRIMARY.to_string(), primary.name.clone())],
        ..fence(&primary.name)
    })
}

/// The fence phase: `primary` stops taking writes; undone by lifting it.
fn fence(primary: &str) -> PhaseRun {
    PhaseRun {
        undo: unfence(primary),
        ..PhaseRun::new(Phase::Fence, vec![step(primary, Phase::Fence, Step::Fence)])
    }
}

/// Why the switchover from `primary` to `t` must not start, if it must not.
pub fn refusal(t: &NodeLayout, primary: &NodeLayout, s: &Situation<'_>) -> Option<String> {
    let seen = |n: &NodeLayout| s.before.nodes.get(&n.name);
    let Some(p) = seen(primary) else {
        return Some(format!("the primary {} was not observed", primary.name));
    };
    if let Some(why) = &p.unreachable {
        return Some(format!(
            "the primary {} ({}) cannot be reached: {why}",
            primary.name, primary.host
        ));
    }
    if !p.running || p.role != Some(ObservedRole::Primary) {
        return Some(format!(
            "the primary {} ({}) is not running as a primary",
            primary.name, primary.host
        ));
    }
    let Some(n) = seen(t) else {
        return Some(format!("{} was not observed", t.name));
    };
    if let Some(why) = &n.unreachable {
        return Some(format!("{} ({}) cannot be reached: {why}", t.name, t.host));
    }
    if !n.running {
        return Some(format!("{} ({}) is not running", t.name, t.host));
    }
    let Some(r) = n
        .replication
        .as_ref()
        .filter(|_| n.role == Some(ObservedRole::Replica))
    else {
        return Some(format!("{} ({}) is not a replica", t.name, t.host));
    };
    if r.source_host != primary.host {
        return Some(format!(
            "{} replicates from {}, not from the primary {} ({})",
            t.name, r.source_host, primary.name, primary.host
        ));
    }
    if !r.healthy {
        let why = r.last_error.as_deref().unwrap_or("the stream is not up");
        return Some(format!("{}'s replication is broken: {why}", t.name));
    }
    let bytes = r.lag_bytes.unwrap_or(0);
    let secs = r.lag_seconds.unwrap_or(0.0);
    if bytes > MAX_LAG_BYTES || secs > MAX_LAG_SECONDS {
        return Some(format!(
            "{} lags {bytes} bytes and {secs:.0}s behind the primary (at most {MAX_LAG_BYTES} bytes and {MAX_LAG_SECONDS:.0}s)",
            t.name
        ));
    }
    None
}

/// The repoint phase: the new primary's files, then every other node
/// (the old primary first: it must be a replica before anything else)
/// written and pointed at the new primary. `nodes` are laid out with the
/// new primary.
fn repoint(t: &NodeLayout, nodes: &[NodeLayout], old: &str) -> Vec<PlannedStep> {
    let mut others: Vec<&NodeLayout> = nodes.iter().filter(|n| n.name != t.name).collect();
    others.sort_by_key(|n| (n.name != old, n.number));
    let mut steps = vec![
        step(&t.name, Phase::Repoint, Step::WriteConfigs),
        step(&t.name, Phase::Repoint, Step::Record),
    ];
    for n in others {
        steps.push(step(&n.name, Phase::Repoint, Step::WriteConfigs));
        steps.push(step(
            &n.name,
            Phase::Repoint,
            Step::Repoint { to: t.name.clone() },
        ));
        steps.push(step(&n.name, Phase::Repoint, Step::Record));
    }
    steps
}

/// Every step of a switchover to `target`, in order (for the plan).
pub fn outline(target: &str, nodes: &[NodeLayout]) -> Vec<PlannedStep> {
    let (Some(t), Some(p)) = (
        nodes.iter().find(|n| n.name == target),
        nodes.iter().find(|n| n.role == Role::Primary),
    ) else {
        return Vec::new();
    };
    if t.name == p.name {
        return Vec::new();
    }
    let mut steps = vec![
        step(&p.name, Phase::Fence, Step::Fence),
        step(
            &t.name,
            Phase::CatchUp,
            Step::WaitCaughtUp { from: p.name.clone() },
        ),
        step(&t.name, Phase::Promote, Step::Promote),
    ];
    steps.extend(repoint(t, nodes, &p.name));
    steps
}

fn step(node: &str, phase: Phase, step: Step) -> PlannedStep {
    PlannedStep::new(node, phase, step)
}
