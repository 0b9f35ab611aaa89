//! Progress of an apply, for people: one line per step on stderr.

use std::io::Write;
use std::time::Duration;

/// Reports steps as they start and end. Quiet mode prints only failures.
#[derive(Debug, Default)]
pub struct Progress {
    pub quiet: bool,
}

impl Progress {
    fn line(&self, s: &str) {
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{s}");
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
