//! A hub-hosted service node: a managed service on the hub called through its Service API
//! (docs/service-protocol.md, "Hub services"): `POST /` with the node's input as the body,
//! status polled, logs streamed (redacted), result fetched, cancelled with the run.

use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

use tokio::sync::watch;

use super::event::Attempt;
use super::lifecycle::Stop;
use super::record::NodeLog;
use super::service::{Outcome, RunCtx, ServiceInput};
use crate::workflow::{HubRun, Node};

/// Runs one hub node's execution to its end. Never panics on anything the server does.
pub(crate) async fn run(
    ctx: &RunCtx,
    (_node_id, _attempt): (&Arc<str>, Attempt),
    _node: &Node,
    hub: &HubRun,
    _input: ServiceInput,
    _log: Arc<Mutex<NodeLog>>,
    _cancel: watch::Receiver<Stop>,
) -> Outcome {
    // Issue 13, part 3 fills this in (the contract commit only routes hub nodes here).
    Outcome::failed(
        SystemTime::now(),
        Instant::now(),
        ctx.redactor
            .redact_str(&format!("hub services are not built yet ({})", hub.url)),
    )
}
