//! The operation in progress on a cluster, as typed state: what kind, which
//! phase and step it is at, and the steps already done. Saved before every
//! step, so that a run killed halfway leaves it behind; the next run says
//! where the last one stopped and finishes the work by planning again from
//! what it observes (every step is idempotent).

use serde::{Deserialize, Serialize};

use crate::plan::{Phase, PlannedStep};

/// What an operation is doing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum OperationKind {
    /// Bring the cluster to what the repository says (apply, the daemon).
    Converge {
        /// The commit being applied, when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        commit: Option<String>,
    },
}

/// One step finished.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DoneStep {
    #[serde(flatten)]
    pub step: PlannedStep,
    pub seconds: f64,
}

/// An operation on one cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Operation {
    /// Unique per run: `<kind>-<started>-<pid>`.
    pub id: String,
    #[serde(flatten)]
    pub kind: OperationKind,
    /// The phase of the step in progress (absent before the first step).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<Phase>,
    /// The step in progress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<PlannedStep>,
    /// Seconds since the Unix epoch when the operation began.
    pub started: u64,
    pub pid: u32,
    /// Steps finished, in order.
    #[serde(default)]
    pub steps_done: Vec<DoneStep>,
}

impl Operation {
    /// A new operation of `kind`, starting now.
    pub fn begin(kind: OperationKind) -> Operation {
        let started = super::ledger::now();
        let pid = std::process::id();
        let name = match &kind {
            OperationKind::Converge { .. } => "converge",
        };
        Operation {
            id: format!("{name}-{started}-{pid}"),
            kind,
            phase: None,
            step: None,
            started,
            pid,
            steps_done: Vec::new(),
        }
    }

    /// Mark `step` as the one in progress.
    pub fn at(&mut self, step: &PlannedStep) {
        self.phase = Some(step.phase);
        self.step = Some(step.clone());
    }

    /// The step in progress is done.
    pub fn done(&mut self, seconds: f64) {
        if let Some(step) = self.step.take() {
            self.steps_done.push(DoneStep { step, seconds });
        }
    }

    /// Where it is, for people: "seed phase, resumed2: seed data from resumed1 (pid 42)".
    pub fn describe(&self) -> String {
        match (&self.phase, &self.step) {
            (Some(phase), Some(step)) => format!("{phase} phase, {step} (pid {})", self.pid),
            (Some(phase), None) => format!("{phase} phase (pid {})", self.pid),
            _ => format!("before the first step (pid {})", self.pid),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Step;

    #[test]
    fn records_phase_step_and_done_steps_and_round_trips() {
        let mut op = Operation::begin(OperationKind::Converge {
            commit: Some("abc".into()),
        });
        assert_eq!(op.describe(), format!("before the first step (pid {})", op.pid));
        op.at(&PlannedStep::new("db1", Phase::Build, Step::InitDataDir));
        op.done(1.5);
        op.at(&PlannedStep::new(
            "db2",
            Phase::Seed,
            Step::SeedFromPrimary { from: "db1".into() },
        ));
        assert_eq!(
            op.describe(),
            format!("seed phase, db2: seed data from db1 (pid {})", op.pid)
        );
        let json = serde_json::to_value(&op).expect("json");
        assert_eq!(json["kind"], "converge");
        assert_eq!(json["phase"], "seed");
        assert_eq!(json["step"]["step"], "seed-from-primary");
        assert_eq!(json["steps_done"][0]["node"], "db1");
        assert_eq!(json["steps_done"][0]["step"], "init-data-dir");
        let back: Operation = serde_json::from_value(json).expect("back");
        assert_eq!(back, op);
    }
}
