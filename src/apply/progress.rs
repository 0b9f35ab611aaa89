//! Progress of an apply: typed events for each planned step (logged through
//! tracing and, with `--events FILE`, written as JSON lines for machines; on
//! a terminal, a progress bar per cluster), and one line per driver call on
//! stderr for people.

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Mutex;
use std::time::Duration;

use crate::plan::PlannedStep;

/// What happened to one planned step of a cluster.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum Event<'a> {
    /// The cluster's plan is about to be carried out: `steps` steps.
    Planned { cluster: &'a str, steps: usize },
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
    /// Progress bars, one per cluster, when stderr is a terminal.
    bars: Option<Bars>,
}

#[derive(Debug)]
struct Bars {
    multi: MultiProgress,
    by_cluster: Mutex<BTreeMap<String, ProgressBar>>,
}

impl Progress {
    pub fn new(quiet: bool) -> Progress {
        Progress {
            quiet,
            events: None,
            bars: None,
        }
    }

    /// Show a progress bar per cluster (for a terminal).
    pub fn with_bars(mut self) -> Progress {
        if !self.quiet {
            self.bars = Some(Bars {
                multi: MultiProgress::new(),
                by_cluster: Mutex::new(BTreeMap::new()),
            });
        }
        self
    }

    fn bar(&self, cluster: &str, f: impl FnOnce(&ProgressBar)) {
        let Some(bars) = &self.bars else { return };
        if let Ok(map) = bars.by_cluster.lock() {
            if let Some(bar) = map.get(cluster) {
                f(bar);
            }
        }
    }

    fn add_bar(&self, cluster: &str, steps: usize) {
        let Some(bars) = &self.bars else { return };
        let style = ProgressStyle::with_template("{prefix:>12} [{bar:30}] {pos}/{len} {wide_msg}")
            .map(|s| s.progress_chars("=> "))
            .unwrap_or_else(|_| ProgressStyle::default_bar());
        let bar = bars.multi.add(ProgressBar::new(steps as u64));
        bar.set_style(style);
        bar.set_prefix(cluster.to_string());
        if let Ok(mut map) = bars.by_cluster.lock() {
            map.insert(cluster.to_string(), bar);
        }
    }

    /// Also write every event as one JSON line to `file`.
    pub fn with_events(mut self, file: std::fs::File) -> Progress {
        self.events = Some(Mutex::new(file));
        self
    }

    fn line(&self, s: &str) {
        if let Some(bars) = &self.bars {
            let _ = bars.multi.println(s);
            return;
        }
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{s}");
    }

    /// A planned step's event.
    pub fn event(&self, e: &Event<'_>) {
        match e {
            Event::Planned { cluster, steps } => {
                tracing::info!(cluster, steps, "carrying out the plan");
                self.add_bar(cluster, *steps);
            }
            Event::StepStarted { cluster, step, .. } => {
                tracing::debug!(cluster, node = %step.node, step = %step.step, "planned step started");
                self.bar(cluster, |b| b.set_message(step.to_string()));
            }
            Event::StepDone {
                cluster,
                step,
                seconds,
                ..
            } => {
                tracing::info!(cluster, node = %step.node, step = %step.step, seconds, "planned step done");
                self.bar(cluster, |b| b.inc(1));
            }
            Event::StepFailed {
                cluster, step, error, ..
            } => {
                tracing::warn!(cluster, node = %step.node, step = %step.step, error, "planned step failed");
                self.bar(cluster, |b| b.inc(1));
            }
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
                self.bar(cluster, |b| b.inc(1));
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

    /// The cluster's steps are over: its bar stays, finished.
    pub fn finished(&self, cluster: &str) {
        self.bar(cluster, |b| b.finish_with_message("done"));
    }

    pub fn failed(&self, cluster: &str, e: &dyn std::fmt::Display) {
        self.line(&format!("{cluster}: apply failed: {e}"));
    }
}
