//! The request ledger: per request file, what ran, when, how far it got and
//! how it ended. Kept in the cluster's state (so it is saved with the
//! cluster, under the cluster's lock, and survives a delete-cluster as part
//! of its tombstone).
//!
//! A request runs exactly once: a record that is not [`RequestState::Running`]
//! is final. The sha256 of the file it ran from is kept, so that an edit
//! after the run is reported and never run again.

use serde::{Deserialize, Serialize};

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RequestState {
    /// Started and not finished: the next run resumes it first.
    Running,
    /// Done.
    Succeeded,
    /// Stopped by an error or its timeout, in `phase`, for `reason`.
    Failed,
    /// A precheck said no; nothing was changed.
    Refused,
}

impl RequestState {
    pub fn as_str(self) -> &'static str {
        match self {
            RequestState::Running => "running",
            RequestState::Succeeded => "succeeded",
            RequestState::Failed => "failed",
            RequestState::Refused => "refused",
        }
    }

    /// Whether the request is over (it never runs again).
    pub fn is_final(self) -> bool {
        self != RequestState::Running
    }
}

/// One phase of a request, timed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhaseTiming {
    pub phase: String,
    /// Seconds since the Unix epoch, to the millisecond (a whole second
    /// would time each phase from the start of its second).
    pub started: f64,
    /// Seconds the phase took; absent while it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds: Option<f64>,
}

/// What the ledger holds about one request file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestRecord {
    /// The file name without `.toml`.
    pub id: String,
    pub action: String,
    pub cluster: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// sha256 of the file's text when it ran.
    pub sha256: String,
    /// The commit that added the file, and its author (absent outside git).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    pub state: RequestState,
    /// The phase in progress, or the one it ended in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    /// Seconds since the Unix epoch.
    pub started: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended: Option<u64>,
    #[serde(default)]
    pub phases: Vec<PhaseTiming>,
    /// Why it failed or was refused; for a success, a note (e.g. "already
    /// the primary").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Facts a later phase needs and must not observe again: the host of
    /// the primary it started from, the position it fenced at.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub facts: std::collections::BTreeMap<String, String>,
}

impl RequestRecord {
    /// Enter `phase` now (ending the one before).
    pub fn enter(&mut self, phase: &str) {
        self.close_phase();
        self.phase = Some(phase.to_string());
        self.phases.push(PhaseTiming {
            phase: phase.to_string(),
            started: (now_f64() * 1000.0).round() / 1000.0,
            seconds: None,
        });
    }

    /// End the request.
    pub fn finish(&mut self, state: RequestState, reason: Option<String>) {
        self.close_phase();
        self.state = state;
        self.reason = reason;
        self.ended = Some(now());
    }

    fn close_phase(&mut self) {
        if let Some(last) = self.phases.last_mut().filter(|p| p.seconds.is_none()) {
            let elapsed = now_f64() - last.started;
            last.seconds = Some((elapsed.max(0.0) * 10.0).round() / 10.0);
        }
    }

    /// Seconds since it started.
    pub fn age(&self) -> u64 {
        now().saturating_sub(self.started)
    }
}

/// Seconds since the Unix epoch, as the state records times.
pub fn now() -> u64 {
    now_f64() as u64
}

fn now_f64() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_are_timed_and_the_end_is_final() {
        let mut r = RequestRecord {
            id: "2026-12-06-promote-db3".into(),
            action: "promote".into(),
            cluster: "db".into(),
            node: Some("db3".into()),
            sha256: "ab".into(),
            commit: None,
            author: None,
            state: RequestState::Running,
            phase: None,
            started: now(),
            ended: None,
            phases: vec![],
            reason: None,
            facts: Default::default(),
        };
        r.enter("fence");
        std::thread::sleep(std::time::Duration::from_millis(250));
        r.enter("wait-caught-up");
        assert_eq!(r.phases.len(), 2);
        // Timed from when the phase began, not from the start of its second.
        let fence = r.phases[0].seconds.expect("timed");
        assert!((0.2..0.5).contains(&fence), "{fence}");
        assert!(r.phases[1].seconds.is_none());
        r.finish(RequestState::Failed, Some("timeout".into()));
        assert!(r.phases[1].seconds.is_some());
        assert_eq!(r.phase.as_deref(), Some("wait-caught-up"));
        assert!(r.state.is_final());
        let back: RequestRecord =
            serde_json::from_value(serde_json::to_value(&r).expect("json")).expect("back");
        assert_eq!(back, r);
    }
}
