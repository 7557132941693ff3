//! The front ends' commands for single nodes of a running run (issue 15): stop or restart one
//! service, type to its stdin, resize its terminal. A cloneable `RunControl` the front end keeps
//! (in `RunOptions`, like the `CancelToken`); the scheduler owns the receiving end and answers
//! each command through the run's events (a node that does not exist or cannot take the
//! command gets a `warning`, never a panic).

use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use zeroize::Zeroizing;

/// How the run treats a node the operator stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StopMark {
    /// As a failure of the service: error paths, fail-fast and keep-going apply.
    Failed,
    /// As cancelled: the node ends `cancelled`.
    Cancelled,
}

/// One command for one node (or, for `Resize`, for every node on a terminal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeCommand {
    /// SIGTERM to the node's process group, SIGKILL after the grace period.
    Stop { node: String, mark: StopMark },
    /// A new attempt of the node while the rest of the run goes on.
    Restart { node: String },
    /// Bytes for the node's stdin (what the operator typed: never logged or recorded).
    Input {
        node: String,
        data: Zeroizing<Vec<u8>>,
    },
    /// The end of the node's input.
    InputEof { node: String },
    /// The size of the terminal that services on a pseudo-terminal write to.
    Resize { cols: u16, rows: u16 },
}

/// A front end's handle to steer single nodes of a run. Cheap to clone; every clone is the same
/// handle.
#[derive(Debug, Clone)]
pub struct RunControl {
    tx: mpsc::UnboundedSender<NodeCommand>,
    rx: Arc<Mutex<Option<mpsc::UnboundedReceiver<NodeCommand>>>>,
}

impl Default for RunControl {
    fn default() -> Self {
        RunControl::new()
    }
}

impl RunControl {
    pub fn new() -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        RunControl {
            tx,
            rx: Arc::new(Mutex::new(Some(rx))),
        }
    }

    /// Passes a command to the run; false once the run has ended (nobody receives it).
    pub fn send(&self, cmd: NodeCommand) -> bool {
        self.tx.send(cmd).is_ok()
    }

    /// The receiving end, for the one scheduler of the run (`None` when it was taken).
    pub(crate) fn take_receiver(&self) -> Option<mpsc::UnboundedReceiver<NodeCommand>> {
        self.rx.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_clone_feeds_the_one_receiver() {
        let c = RunControl::new();
        let c2 = c.clone();
        let mut rx = c.take_receiver().expect("first take");
        assert!(c2.take_receiver().is_none());
        assert!(c2.send(NodeCommand::Resize { cols: 80, rows: 24 }));
        assert_eq!(
            rx.try_recv().ok(),
            Some(NodeCommand::Resize { cols: 80, rows: 24 })
        );
        drop(rx);
        assert!(!c.send(NodeCommand::InputEof { node: "a".into() }));
    }
}
