//! Runs a workflow: scheduler over the graph, one service = one subprocess, events, run records
//! on disk. Knows nothing of any front end: it sends `Event`s, every text in them redacted.

mod cancel;
mod child_env;
mod clock;
mod control;
pub mod datapool;
mod event;
pub mod executor;
pub mod files;
mod hub;
mod lifecycle;
mod mapping;
mod pty;
mod pyjson;
mod reaper;
pub mod record;
mod redact;
pub mod reuse;
mod run;
mod sandbox;
mod scheduler;
mod service;
pub mod setup;
pub mod signals;
mod vars;
pub mod venv;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use cancel::CancelToken;
pub use control::{NodeCommand, RunControl, StopMark};
pub use event::{Attempt, ConditionResult, Event, NodeSummary, Stream, write_json, write_logged};
pub use files::OutputFile;
pub use lifecycle::{NodeOutcome, NodeState, RunState, RunStatus, Stop};
pub use redact::ShownVars;
pub use vars::{Inputs, VarRef, Vars};

use crate::secrets::SecretStore;
use crate::workflow::Workflow;

/// How to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Most services running at once (at least 1).
    pub max_parallel: usize,
    /// On a failure, keep running what does not depend on it.
    pub keep_going: bool,
    /// `<state>`: records go to `<state>/runs/<run-id>/`.
    pub state_dir: PathBuf,
    /// Time between SIGTERM and SIGKILL when a service is stopped.
    pub kill_grace: Duration,
    /// A front end's handle to stop the run (keep a clone before starting it).
    pub cancel: CancelToken,
    /// A front end's handle to steer single nodes (stop, restart, stdin, terminal size).
    pub control: RunControl,
    /// `--datapool NAME=DIR`: data pools on top of the workflow's `datapools` (a name given
    /// here replaces the workflow's), checked folders.
    pub datapools: Vec<datapool::Pool>,
    /// How the workflow file was read (`--process`, `--services`): kept in the record, so
    /// that `wfop attach` reads it the same way.
    pub load: crate::workflow::LoadOptions,
    /// `--tty`: every local service on a pseudo-terminal, as a node's `"tty": true` does.
    pub tty: bool,
    /// `--from NODE --reuse RUN`: the nodes that do not run take their outputs from that
    /// run's record (engine/reuse.rs).
    pub reuse: Option<Arc<reuse::Reuse>>,
    /// `--executor` and its settings: where the services run (engine/executor/).
    pub executor: executor::ExecutorOptions,
}

impl RunOptions {
    pub fn new(state_dir: PathBuf) -> RunOptions {
        RunOptions {
            max_parallel: std::thread::available_parallelism().map_or(2, |n| n.get()),
            keep_going: false,
            state_dir,
            kill_grace: Duration::from_secs(5),
            cancel: CancelToken::new(),
            control: RunControl::new(),
            datapools: Vec::new(),
            load: crate::workflow::LoadOptions::default(),
            tty: false,
            reuse: None,
            executor: Default::default(),
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone)]
pub struct RunReport {
    pub status: RunStatus,
    /// The run's record folder.
    pub record: PathBuf,
    pub nodes: Vec<NodeSummary>,
    /// The workflow inputs (redacted), as `RunStarted` carried them.
    pub inputs: ShownVars,
    /// The workflow variables at the end (redacted).
    pub variables: ShownVars,
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("cannot start the engine: {0}")]
    Runtime(std::io::Error),
    #[error("cannot watch for signals: {0}")]
    Signals(std::io::Error),
    #[error("{0}")]
    Record(String),
    /// The executor cannot run the workflow's services (Slurm's commands missing, the remote
    /// work folder unusable, a service on a terminal under Slurm).
    #[error("wfop: {0}")]
    Executor(String),
}

/// Runs a workflow to its end and returns how it went. `sink` gets every event, in order, on a
/// thread of its own (a slow sink slows the services' output down, it never loses any). The
/// secrets are purged when this returns, whatever way the run ended. On Linux this process
/// becomes the subreaper of its services, and every child still there when the run is over
/// (processes that escaped a service's process group) is killed before this returns.
pub fn run(
    workflow: Workflow,
    inputs: Arc<Inputs>,
    secrets: SecretStore,
    options: RunOptions,
    mut sink: impl FnMut(Event) + Send + 'static,
) -> Result<RunReport, EngineError> {
    // Processes that escape a service's process group come back to wfop, to be ended below.
    let subreaper = reaper::become_subreaper();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(EngineError::Runtime)?;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Event>(256);
    // Two threads, so that writing the event log and the front end's work overlap: the first
    // writes every event to the record's event log (what `wfop attach` replays and a run host
    // serves) and passes it on, flushed before the last event of a burst is passed on; the
    // second hands it to the sink. Bounded between them: a slow sink still slows the services.
    let (fwd, passed) = std::sync::mpsc::sync_channel::<Event>(64);
    let front = std::thread::spawn(move || {
        for e in passed {
            sink(e);
        }
    });
    let consumer = std::thread::spawn(move || {
        let mut log: Option<record::EventLog> = None;
        let mut began = std::time::Instant::now();
        let warn = |message: &str| Event::Warning {
            node: None,
            message: format!("cannot write the event log in the record: {message}"),
        };
        while let Some(e) = rx.blocking_recv() {
            if let Event::RunStarted { record: dir, .. } = &e {
                began = std::time::Instant::now();
                match record::EventLog::create(dir) {
                    Ok(l) => log = Some(l),
                    Err(err) => {
                        let _ = fwd.send(warn(&err.to_string()));
                    }
                }
            }
            if let Some(l) = log.as_mut() {
                let t = began.elapsed().as_millis() as u64;
                let ok = l.write(&e, t).is_ok() && (!rx.is_empty() || l.flush().is_ok());
                if !ok {
                    log = None;
                    let _ = fwd.send(warn("it stops here"));
                }
            }
            if fwd.send(e).is_err() {
                break;
            }
        }
    });
    let result = rt.block_on(scheduler::schedule(
        Arc::new(workflow),
        inputs,
        secrets,
        options,
        tx,
    ));
    rt.shutdown_timeout(Duration::from_secs(1));
    if subreaper {
        reaper::end_orphans();
    }
    let _ = consumer.join();
    let _ = front.join();
    result
}
