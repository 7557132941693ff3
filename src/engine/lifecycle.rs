//! The one lifecycle of a run: where a node stands (`NodeState`), how it ended (`NodeOutcome`),
//! how the run stands and ended (`RunState`, `RunStatus`), and how hard it is stopped (`Stop`).

use serde::{Deserialize, Serialize};

/// How a node ended, or why it never ran. Serialised as `succeeded`, `failed`, `timed_out`,
/// `cancelled` or `skipped` (events and `run.json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeOutcome {
    Succeeded,
    Failed,
    TimedOut,
    Cancelled,
    Skipped,
}

impl NodeOutcome {
    /// For people (`timed out`); the serialised key is `timed_out`.
    pub fn as_str(self) -> &'static str {
        match self {
            NodeOutcome::Succeeded => "succeeded",
            NodeOutcome::Failed => "failed",
            NodeOutcome::TimedOut => "timed out",
            NodeOutcome::Cancelled => "cancelled",
            NodeOutcome::Skipped => "skipped",
        }
    }
}

/// Where a node stands: `Pending` → `Running` → `Done`, or `Pending` → `Done` for a node that
/// never ran (skipped, or failed before its process started). A failed attempt that will be
/// retried goes `Running` → `Waiting` → `Running`; a node in a loop goes `Done` → `Running`
/// again for its next iteration. Serialised flat, as `run.json` has it: `pending`, `running`,
/// `waiting`, or the outcome's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum NodeState {
    #[default]
    Pending,
    Running,
    /// A failed attempt's retry is due after its backoff.
    Waiting,
    #[serde(untagged)]
    Done(NodeOutcome),
}

/// How a whole run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum RunStatus {
    Succeeded,
    Failed,
    /// Stopped by a signal to wfop; `signal` is its number.
    Interrupted {
        signal: i32,
    },
    /// Stopped by a front end's cancel command (`CancelToken`).
    Cancelled,
}

impl RunStatus {
    /// The process exit code wfop ends with: 0, 1 (failed or cancelled), or 128 + signal.
    pub fn exit_code(self) -> i32 {
        match self {
            RunStatus::Succeeded => 0,
            RunStatus::Failed | RunStatus::Cancelled => 1,
            RunStatus::Interrupted { signal } => 128 + signal,
        }
    }

    pub fn as_str(self) -> &'static str {
        RunState::from(self).as_str()
    }
}

/// A run as its record states it: `running`, then how it ended (an interrupted run's signal
/// is kept beside it, in `RunDoc::signal`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    Running,
    Succeeded,
    Failed,
    Interrupted,
    Cancelled,
    /// The record said `running` but its wfop (or run host) was gone, killed outright: set by
    /// whoever reads the record next (`record::list_runs`), never by a run.
    Abandoned,
}

impl RunState {
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Running => "running",
            RunState::Succeeded => "succeeded",
            RunState::Failed => "failed",
            RunState::Interrupted => "interrupted",
            RunState::Cancelled => "cancelled",
            RunState::Abandoned => "abandoned",
        }
    }
}

impl From<RunStatus> for RunState {
    fn from(s: RunStatus) -> RunState {
        match s {
            RunStatus::Succeeded => RunState::Succeeded,
            RunStatus::Failed => RunState::Failed,
            RunStatus::Interrupted { .. } => RunState::Interrupted,
            RunStatus::Cancelled => RunState::Cancelled,
        }
    }
}

/// How hard a run is being stopped. It only rises: `None < Cancel < Kill`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum Stop {
    #[default]
    None,
    /// Nothing new starts; running services get SIGTERM, SIGKILL after the grace period.
    Cancel,
    /// Running services get SIGKILL at once.
    Kill,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_serialise_flat_as_run_json_has_them() {
        let cases = [
            (NodeState::Pending, "pending"),
            (NodeState::Running, "running"),
            (NodeState::Waiting, "waiting"),
            (NodeState::Done(NodeOutcome::Succeeded), "succeeded"),
            (NodeState::Done(NodeOutcome::Failed), "failed"),
            (NodeState::Done(NodeOutcome::TimedOut), "timed_out"),
            (NodeState::Done(NodeOutcome::Cancelled), "cancelled"),
            (NodeState::Done(NodeOutcome::Skipped), "skipped"),
        ];
        for (state, key) in cases {
            let text = serde_json::to_string(&state).unwrap();
            assert_eq!(text, format!("\"{key}\""));
            assert_eq!(serde_json::from_str::<NodeState>(&text).unwrap(), state);
        }
        assert!(serde_json::from_str::<NodeState>("\"timed out\"").is_err());
        assert!(serde_json::from_str::<NodeState>("\"done\"").is_err());
    }

    #[test]
    fn run_states_serialise_as_their_names() {
        for s in [
            RunState::Running,
            RunState::Succeeded,
            RunState::Failed,
            RunState::Interrupted,
            RunState::Cancelled,
        ] {
            let text = serde_json::to_string(&s).unwrap();
            assert_eq!(text, format!("\"{}\"", s.as_str()));
            assert_eq!(serde_json::from_str::<RunState>(&text).unwrap(), s);
        }
        let s = RunStatus::Interrupted { signal: 15 };
        assert_eq!(
            serde_json::to_string(&s).unwrap(),
            r#"{"status":"interrupted","signal":15}"#
        );
        assert_eq!((s.as_str(), s.exit_code()), ("interrupted", 143));
    }

    #[test]
    fn stop_levels_are_ordered() {
        assert!(Stop::None < Stop::Cancel && Stop::Cancel < Stop::Kill);
        assert_eq!(Stop::Cancel.max(Stop::Kill), Stop::Kill);
        assert_eq!(Stop::default(), Stop::None);
    }
}
