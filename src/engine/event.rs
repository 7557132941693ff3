//! What the engine tells a front end: one `Event` enum for the whole run. Every text inside an
//! event is already redacted; front ends only display or serialise it.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use serde::{Serialize, Serializer};

use super::lifecycle::{NodeOutcome, RunStatus};
use super::redact::ShownVars;

/// Which output of a service a log chunk came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    pub fn as_str(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// One line of the final summary: a service node and how it ended.
#[derive(Debug, Clone, Serialize)]
pub struct NodeSummary {
    pub node: String,
    pub label: String,
    pub status: NodeOutcome,
    pub duration_ms: Option<u64>,
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    /// Why it failed or was skipped (redacted).
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    RunStarted {
        run_id: String,
        workflow: String,
        record: PathBuf,
        /// Service node ids in file order.
        nodes: Vec<String>,
        /// The workflow inputs (`$secrets` removed), redacted: a secret's value inside an
        /// ordinary input is shown as `***`.
        inputs: ShownVars,
    },
    NodeStarted {
        node: Arc<str>,
        pid: Option<u32>,
    },
    /// Redacted output of a service: whole lines (each ending in `\n`, except that a very long
    /// line or the last bytes before end of output may come without one). Batched: one event
    /// carries every line of one read.
    NodeLog {
        node: Arc<str>,
        stream: Stream,
        #[serde(serialize_with = "lossy")]
        data: Vec<u8>,
        /// Where in `data` the redactor wrote its `***` (byte ranges, sorted; a marker is never
        /// split between events), so a viewer tells them from a service's own asterisks. Not
        /// serialised: `--json` is unchanged.
        #[serde(skip)]
        redacted: Vec<std::ops::Range<usize>>,
    },
    NodeFinished {
        node: Arc<str>,
        status: NodeOutcome,
        duration_ms: u64,
        exit_code: Option<i32>,
        signal: Option<i32>,
        reason: Option<String>,
    },
    NodeSkipped {
        node: Arc<str>,
        reason: String,
    },
    /// The workflow variables a succeeded node set through its output mapping (or its whole
    /// object result without one), already redacted; sent before its `NodeFinished`.
    Outputs {
        node: Arc<str>,
        variables: ShownVars,
    },
    /// How often each secret was redacted from one node's output and result.
    Redactions {
        node: Arc<str>,
        counts: BTreeMap<String, u64>,
    },
    Warning {
        node: Option<Arc<str>>,
        message: String,
    },
    SecretsPurged,
    RunFinished {
        status: RunStatus,
        duration_ms: u64,
        nodes: Vec<NodeSummary>,
    },
}

fn lossy<S: Serializer>(data: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&String::from_utf8_lossy(data))
}
