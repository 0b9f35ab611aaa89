//! Progress of an apply: typed events for each planned step (logged through
//! tracing and, with `--events FILE`, written as JSON lines for machines),
//! and one line per driver call on stderr for people.

use serde::Serialize;
use std::io::Write;
use std::sync::Mutex;
use std::time::Duration;

use crate::plan::PlannedStep;

/// What happened to one planned step of a cluster.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum Event<'a> {
    /// The step began. `index` is its position in the cluster's plan.
    StepStarted {
        cluster: &'a str,
        index: usize,
        #[serde(flatten)]
        step: &'a PlannedStep,
    },
    StepDone {
        cluster: &'a str,
        index: usize,
        #[serde(flatten)]
        step: &'a PlannedStep,
        seconds: f64,
    },
    StepFailed {
        cluster: &'a str,
        index: usize,
        #[serde(flatten)]
        step: &'a PlannedStep,
        error: String,
    },
    /// Not run: a step it depends on failed.
    StepSkipped {
        cluster: &'a str,
        index: usize,
        #[serde(flatten)]
        step: &'a PlannedStep,
        reason: String,
    },
}

/// Reports steps as they start and end. Quiet mode prints only failures.
#[derive(Debug, Default)]
pub struct Progress {
    pub quiet: bool,
    /// Where JSON-line events go, when asked for.
    events: Option<Mutex<std::fs::File>>,
}

impl Progress {
    pub fn new(quiet: bool) -> Progress {
        Progress { quiet, events: None }
    }

    /// Also write every event as one JSON line to `file`.
    pub fn with_events(mut self, file: std::fs::File) -> Progress {
        self.events = Some(Mutex::new(file));
        self
    }

    fn line(&self, s: &str) {
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{s}");
    }

    /// A planned step's event.
    pub fn event(&self, e: &Event<'_>) {
        match e {
            Event::StepStarted { cluster, step, .. } => {
                tracing::debug!(cluster, node = %step.node, step = %step.step, "planned step started")
            }
            Event::StepDone {
                cluster,
                step,
                seconds,
                ..
            } => tracing::info!(cluster, node = %step.node, step = %step.step, seconds, "planned step done"),
            Event::StepFailed {
                cluster, step, error, ..
            } => tracing::warn!(cluster, node = %step.node, step = %step.step, error, "planned step failed"),
            Event::StepSkipped {
                cluster,
                step,
                reason,
                ..
            } => {
                tracing::warn!(cluster, node = %step.node, step = %step.step, reason, "planned step skipped");
                self.line(&format!(
                    "{cluster}: {}: {} ... skipped: {reason}",
                    step.node, step.step
                ));
            }
        }
        if let Some(out) = &self.events {
            if let (Ok(mut f), Ok(json)) = (out.lock(), serde_json::to_string(e)) {
                let _ = writeln!(f, "{json}");
            }
        }
    }

    pub fn step_start(&self, cluster: &str, node: &str, what: &str) {
        tracing::info!(cluster, node, step = what, "step started");
    }

    pub fn step_done(&self, cluster: &str, node: &str, what: &str, took: Duration) {
        tracing::info!(
            cluster,
            node,
            step = what,
            seconds = took.as_secs_f64(),
            "step done"
        );
        if !self.quiet {
            self.line(&format!(
                "{cluster}: {node}: {what} ... ok ({:.1}s)",
                took.as_secs_f64()
            ));
        }
    }

    pub fn step_failed(&self, cluster: &str, node: &str, what: &str, e: &dyn std::fmt::Display) {
        tracing::warn!(cluster, node, step = what, error = %e, "step failed");
        self.line(&format!("{cluster}: {node}: {what} ... FAILED"));
    }

    pub fn note(&self, cluster: &str, what: &str) {
        tracing::info!(cluster, "{what}");
        if !self.quiet {
            self.line(&format!("{cluster}: {what}"));
        }
    }

    pub fn failed(&self, cluster: &str, e: &dyn std::fmt::Display) {
        self.line(&format!("{cluster}: apply failed: {e}"));
    }
}
