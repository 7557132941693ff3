//! The scheduler (docs/lifecycle.md): the async loop around a `Run` (run.rs, which decides): starts
//! services, waits for their ends, signals and cancels, keeps the record, sends the events.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use super::child_env::{base_env, dropped_warning};
use super::event::{Event, NodeSummary};
use super::lifecycle::{NodeOutcome, NodeState, RunState, RunStatus, Stop};
use super::mapping::{apply_output, eval_input};
use super::record::{NodeDoc, NodeLog, Record, RunDoc};
use super::redact::{Redactor, ShownVars};
use super::run::{Policy, Run};
use super::service::{Outcome, RunCtx, run_service};
use super::vars::{Inputs, Vars};
use super::{EngineError, RunOptions, RunReport, clock, sandbox};
use crate::secrets::SecretStore;
use crate::workflow::{NodeKind, Workflow};

pub(crate) async fn schedule(
    wf: Arc<Workflow>,
    inputs: Arc<Inputs>,
    store: SecretStore,
    opts: RunOptions,
    events: mpsc::Sender<Event>,
) -> Result<RunReport, EngineError> {
    let t0 = Instant::now();
    let started = SystemTime::now();
    // Caught before the record exists, so no stop signal can end wfop with a run `running`.
    let mut signals = watch_signals()?;
    let redactor = Redactor::new();
    let mut warnings = add_secrets(&redactor, &store);
    let (base_env, dropped) = base_env(&store);
    if !dropped.is_empty() {
        warnings.push(dropped_warning(&dropped));
    }
    let sandbox = sandbox_plan(&wf, &mut warnings);

    // Shared by the record, the events and the report (and with `inputs` when no secret is in
    // them).
    let shown_inputs = ShownVars::redact_inputs(&redactor, &inputs);
    let recorded_inputs = shown_inputs.clone();
    let service_ids: Vec<usize> = (0..wf.nodes.len())
        .filter(|&i| wf.nodes[i].kind == NodeKind::Service)
        .collect();
    let record = create_record(&opts, &wf, recorded_inputs, &service_ids, started)?;
    let run_id = record.doc.run_id.clone();
    let _ = events
        .send(Event::RunStarted {
            run_id: run_id.clone(),
            workflow: wf.name.clone(),
            record: record.dir().to_path_buf(),
            nodes: service_ids
                .iter()
                .map(|&i| wf.nodes[i].id.clone())
                .collect(),
            inputs: shown_inputs.clone(),
        })
        .await;
    for w in warnings {
        let _ = events
            .send(Event::Warning {
                node: None,
                message: w,
            })
            .await;
    }

    let ctx = Arc::new(RunCtx {
        run_id: run_id.clone(),
        base_dir: std::path::absolute(&wf.base_dir).unwrap_or_else(|_| wf.base_dir.clone()),
        redactor,
        secrets: Arc::new(Mutex::new(store)),
        base_env,
        events: events.clone(),
        kill_grace: opts.kill_grace,
        sandbox,
    });
    let policy = Policy {
        max_parallel: opts.max_parallel,
        keep_going: opts.keep_going,
    };
    let mut run = Run::new(&wf, policy);
    let mut d = Driver {
        wf,
        ctx,
        record,
        events,
        vars: Vars::new(inputs),
        stop: watch::channel(Stop::None).0,
        tasks: JoinSet::new(),
        task_node: HashMap::new(),
        logs: HashMap::new(),
        summaries: BTreeMap::new(),
    };

    loop {
        let asked = opts.cancel.level();
        if asked > run.cancelled() {
            run.cancel(asked);
            d.send_stop(&run);
        }
        while let Some(i) = run.next_start() {
            if let Err(reason) = d.start(i, run.id(i).clone()) {
                let out = Outcome::failed(SystemTime::now(), Instant::now(), reason);
                run.finish(i, out.status);
                d.finish(i, &out).await;
                d.send_stop(&run);
            }
        }
        debug_assert_eq!(run.running(), d.tasks.len());
        if d.tasks.is_empty() {
            break;
        }
        tokio::select! {
            joined = d.tasks.join_next_with_id() => {
                if let Some((i, out)) = d.joined(joined).await {
                    run.finish(i, out.status);
                    d.finish(i, &out).await;
                }
            }
            Some(sig) = signals.recv() => run.interrupt(sig),
            level = opts.cancel.above(run.cancelled()) => run.cancel(level),
        }
        d.send_stop(&run);
    }
    for (i, reason) in run.skip_rest() {
        d.skip(i, run.id(i).clone(), reason).await;
    }
    Ok(d.end(run.status(), &service_ids, t0, shown_inputs).await)
}

/// Adds every secret to the redactor (one build of its automaton); returns the warnings.
fn add_secrets(redactor: &Redactor, store: &SecretStore) -> Vec<String> {
    let mut warnings = Vec::new();
    let secrets: Vec<_> = store.iter().collect();
    for ((name, _), result) in secrets
        .iter()
        .zip(redactor.add_secrets(secrets.iter().copied()))
    {
        match result {
            Ok(None) => {}
            Ok(Some(w)) => warnings.push(w.to_string()),
            Err(e) => warnings.push(format!("secret `{name}` cannot be redacted: {e}")),
        }
    }
    warnings
}

/// Each service in namespaces of its own, when the system allows it (else a warning).
fn sandbox_plan(wf: &Workflow, warnings: &mut Vec<String>) -> Option<Arc<sandbox::Plan>> {
    if !wf.nodes.iter().any(|n| n.kind == NodeKind::Service) {
        return None;
    }
    let plan = sandbox::Plan::new();
    match sandbox::probe(&plan) {
        Ok(()) => Some(Arc::new(plan)),
        Err(e) => {
            warnings.push(format!(
                "services are not isolated from each other ({e}): a service can read the \
                 environment of a sibling's processes, and with it the `SECRET_*` of command \
                 services; processes a service leaves behind live until the run ends"
            ));
            None
        }
    }
}

/// What `JoinSet::join_next_with_id` gives for a service's task.
type Joined = Option<Result<(tokio::task::Id, (usize, Outcome)), tokio::task::JoinError>>;

/// The I/O side of a run, driven by the scheduler's loop as `Run` decides: starts services,
/// keeps the record, the variables and the summaries, sends the events.
struct Driver {
    wf: Arc<Workflow>,
    ctx: Arc<RunCtx>,
    record: Record,
    events: mpsc::Sender<Event>,
    /// The workflow variables.
    vars: Vars,
    /// The stop level every running service watches.
    stop: watch::Sender<Stop>,
    tasks: JoinSet<(usize, Outcome)>,
    task_node: HashMap<tokio::task::Id, usize>,
    /// The open log of each running node, kept until the node ends (for wfop's own notes).
    logs: HashMap<usize, Arc<Mutex<NodeLog>>>,
    summaries: BTreeMap<usize, NodeSummary>,
}

impl Driver {
    /// Sends the run's stop level to the running services when it rose.
    fn send_stop(&self, run: &Run) {
        let to = run.stop();
        self.stop.send_if_modified(|l| {
            let rises = to > *l;
            *l = (*l).max(to);
            rises
        });
    }

    /// Starts node `i`'s service. A node whose input mapping or log fails does not start:
    /// the error is why (redacted).
    fn start(&mut self, i: usize, id: Arc<str>) -> Result<(), String> {
        let node = &self.wf.nodes[i];
        let prepared = eval_input(node, &self.vars).and_then(|input| {
            self.record
                .node_log(&id)
                .map(|log| (input, log))
                .map_err(|e| e.to_string())
        });
        let (input, log) = prepared.map_err(|reason| self.ctx.redactor.redact_str(&reason))?;
        if let Some(d) = self.record.node_mut(&id) {
            d.status = NodeState::Running;
            d.started = Some(clock::rfc3339(SystemTime::now()));
        }
        let _ = self.record.save();
        let (ctx, wf, rx) = (self.ctx.clone(), self.wf.clone(), self.stop.subscribe());
        let log = Arc::new(Mutex::new(log));
        let log2 = log.clone();
        let handle = self.tasks.spawn(async move {
            let node = &wf.nodes[i];
            let out = run_service(ctx, id, node, input, log2, rx).await;
            (i, out)
        });
        self.task_node.insert(handle.id(), i);
        self.logs.insert(i, log);
        Ok(())
    }

    /// A service's task ended: its outcome, after its output mapping (which may fail it).
    async fn joined(&mut self, joined: Joined) -> Option<(usize, Outcome)> {
        let (i, mut out) = match joined? {
            Ok((_, done)) => done,
            Err(e) => {
                let i = *self.task_node.get(&e.id())?;
                let reason = "internal error: the node's task ended abnormally".to_string();
                (
                    i,
                    Outcome::failed(SystemTime::now(), Instant::now(), reason),
                )
            }
        };
        if out.status == NodeOutcome::Succeeded {
            let node = &self.wf.nodes[i];
            match apply_output(node, &out.result, &mut self.vars) {
                Ok(set) if !set.is_empty() => {
                    let variables = ShownVars::redact(&self.ctx.redactor, &set);
                    let _ = self
                        .events
                        .send(Event::Outputs {
                            node: node.id.as_str().into(),
                            variables,
                        })
                        .await;
                }
                Ok(_) => {}
                Err(reason) => {
                    out.status = NodeOutcome::Failed;
                    out.reason = Some(self.ctx.redactor.redact_str(&reason));
                }
            }
        }
        Some((i, out))
    }

    /// Records how node `i` ended, notes a failure's reason in its log, tells the front end.
    async fn finish(&mut self, i: usize, out: &Outcome) {
        let node = &self.wf.nodes[i];
        let id: Arc<str> = Arc::from(node.id.as_str());
        let now = SystemTime::now();
        if let (Some(log), Some(reason)) = (self.logs.remove(&i), &out.reason) {
            let mut l = log.lock().unwrap_or_else(|e| e.into_inner());
            let _ = l.note(now, &format!("{}: {reason}", out.status.as_str()));
        }
        let duration_ms = out.duration.as_millis() as u64;
        if let Some(d) = self.record.node_mut(&id) {
            d.status = NodeState::Done(out.status);
            d.started.get_or_insert_with(|| clock::rfc3339(out.started));
            d.finished = Some(clock::rfc3339(now));
            d.duration_ms = Some(duration_ms);
            d.exit_code = out.exit_code;
            d.signal = out.signal;
            d.reason = out.reason.clone();
            d.result = (out.status == NodeOutcome::Succeeded).then(|| out.result.clone());
            d.redactions = out.counts.clone();
        }
        let _ = self.record.save();
        if !out.counts.is_empty() {
            let _ = self
                .events
                .send(Event::Redactions {
                    node: id.clone(),
                    counts: out.counts.clone(),
                })
                .await;
        }
        self.summaries.insert(
            i,
            NodeSummary {
                node: node.id.clone(),
                label: node.display_label().to_string(),
                status: out.status,
                duration_ms: Some(duration_ms),
                exit_code: out.exit_code,
                signal: out.signal,
                reason: out.reason.clone(),
            },
        );
        let _ = self
            .events
            .send(Event::NodeFinished {
                node: id,
                status: out.status,
                duration_ms,
                exit_code: out.exit_code,
                signal: out.signal,
                reason: out.reason.clone(),
            })
            .await;
    }

    /// Records and tells that service `i` never ran, and why.
    async fn skip(&mut self, i: usize, id: Arc<str>, reason: String) {
        let node = &self.wf.nodes[i];
        if let Some(d) = self.record.node_mut(&node.id) {
            d.status = NodeState::Done(NodeOutcome::Skipped);
            d.reason = Some(reason.clone());
        }
        self.summaries.insert(
            i,
            NodeSummary {
                node: node.id.clone(),
                label: node.display_label().to_string(),
                status: NodeOutcome::Skipped,
                duration_ms: None,
                exit_code: None,
                signal: None,
                reason: Some(reason.clone()),
            },
        );
        let _ = self
            .events
            .send(Event::NodeSkipped { node: id, reason })
            .await;
    }

    /// After the last node: the variables redacted while the secrets are still known, then the
    /// purge, the finished record and `RunFinished`.
    async fn end(
        mut self,
        status: RunStatus,
        service_ids: &[usize],
        t0: Instant,
        shown_inputs: ShownVars,
    ) -> RunReport {
        // The variables hold the real values the services needed: redacted in place, no
        // second tree.
        let final_vars = ShownVars::redact_owned(
            &self.ctx.redactor,
            std::mem::take(&mut self.vars),
            &shown_inputs,
        );
        self.ctx
            .secrets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .purge();
        self.ctx.redactor.purge();
        let _ = self.events.send(Event::SecretsPurged).await;

        let doc = &mut self.record.doc;
        doc.status = status.into();
        doc.exit_code = Some(status.exit_code());
        doc.signal = match status {
            RunStatus::Interrupted { signal } => Some(signal),
            _ => None,
        };
        doc.finished = Some(clock::rfc3339(SystemTime::now()));
        let duration_ms = t0.elapsed().as_millis() as u64;
        doc.duration_ms = Some(duration_ms);
        doc.variables = Some(final_vars.clone());
        if let Err(e) = self.record.save() {
            let _ = self
                .events
                .send(Event::Warning {
                    node: None,
                    message: e.to_string(),
                })
                .await;
        }
        let nodes: Vec<NodeSummary> = service_ids
            .iter()
            .filter_map(|i| self.summaries.get(i).cloned())
            .collect();
        let _ = self
            .events
            .send(Event::RunFinished {
                status,
                duration_ms,
                nodes: nodes.clone(),
            })
            .await;
        RunReport {
            status,
            record: self.record.dir().to_path_buf(),
            nodes,
            inputs: shown_inputs,
            variables: final_vars,
        }
    }
}

/// Every stop signal of `signals::stop_signals()`, as one channel of signal numbers.
fn watch_signals() -> Result<mpsc::UnboundedReceiver<i32>, EngineError> {
    let (tx, rx) = mpsc::unbounded_channel();
    for sig in super::signals::stop_signals() {
        let mut stream = signal(SignalKind::from_raw(sig)).map_err(EngineError::Signals)?;
        let tx = tx.clone();
        tokio::spawn(async move {
            while stream.recv().await.is_some() {
                if tx.send(sig).is_err() {
                    return;
                }
            }
        });
    }
    Ok(rx)
}

fn create_record(
    opts: &RunOptions,
    wf: &Workflow,
    inputs: ShownVars,
    service_ids: &[usize],
    started: SystemTime,
) -> Result<Record, EngineError> {
    let nodes: Vec<NodeDoc> = service_ids
        .iter()
        .map(|&i| NodeDoc {
            id: wf.nodes[i].id.clone(),
            label: wf.nodes[i].display_label().to_string(),
            status: NodeState::Pending,
            started: None,
            finished: None,
            duration_ms: None,
            exit_code: None,
            signal: None,
            reason: None,
            result: None,
            redactions: BTreeMap::new(),
        })
        .collect();
    let mut last = None;
    for attempt in 0..8u32 {
        let nanos = SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let tag =
            (nanos ^ std::process::id().rotate_left(16) ^ attempt.wrapping_mul(0x9e37)) & 0xffff;
        let doc = RunDoc {
            // Start time to the microsecond, then a random tail: ids sort by start.
            run_id: format!("{}-{tag:04x}", clock::compact_micros(started)),
            workflow: wf.name.clone(),
            workflow_path: wf.path.clone(),
            pid: std::process::id(),
            pid_start: super::record::own_start(),
            status: RunState::Running,
            exit_code: None,
            signal: None,
            started: clock::rfc3339(started),
            finished: None,
            duration_ms: None,
            inputs: inputs.clone(),
            nodes: nodes.clone(),
            variables: None,
        };
        match Record::create(&opts.state_dir, doc) {
            Ok(r) => return Ok(r),
            Err(e) => last = Some(e),
        }
    }
    Err(EngineError::Record(
        last.map(|e| e.to_string()).unwrap_or_default(),
    ))
}
