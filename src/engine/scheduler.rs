//! The scheduler (docs/lifecycle.md): the async loop around a `Run` (run.rs, which decides): starts
//! services, waits for their ends, signals and cancels, keeps the record, sends the events.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

use serde_json::{Map, Value};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use super::child_env::{base_env, dropped_warning};
use super::control::NodeCommand;
use super::event::{Attempt, ConditionResult, Event, NodeSummary};
use super::files;
use super::lifecycle::{NodeOutcome, NodeState, RunState, RunStatus, Stop};
use super::mapping::{
    AttemptEnd, apply_error_output, apply_output, eval_condition, eval_error_expression, eval_input,
};
use super::pty::{Feed, Refusal};
use super::record::{AttemptDoc, NodeDoc, NodeLog, Record, ReusedDoc, RunDoc};
use super::redact::{Redactor, ShownVars, redact_value};
use super::reuse::{self, Reuse};
use super::run::{Action, Finished, Policy, Run, Steer, Steered};
use super::service::{Outcome, RunCtx, run_service};
use super::vars::{Inputs, Vars};
use super::{EngineError, RunOptions, RunReport, clock, datapool, sandbox};
use crate::secrets::SecretStore;
use crate::workflow::{Edge, NodeKind, Workflow};

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
    let step_ids: Vec<usize> = (0..wf.nodes.len())
        .filter(|&i| is_step(wf.nodes[i].kind))
        .collect();
    let workdir = match opts.executor.uses_slurm(&wf) {
        true => Some(
            super::executor::slurm::check(&opts.executor, &wf, &opts.state_dir)
                .map_err(EngineError::Executor)?,
        ),
        false => None,
    };
    let record = create_record(&opts, &wf, recorded_inputs, &step_ids, started)?;
    let run_id = record.doc.run_id.clone();
    let cluster = match workdir {
        Some(dir) => Some(Arc::new(
            super::executor::slurm::Cluster::new(
                base_env.clone(),
                opts.executor.clone(),
                run_id.clone(),
                dir,
                opts.executor.allocation_steps(&wf).min(opts.max_parallel),
            )
            .map_err(|e| EngineError::Executor(format!("cannot make the run's token: {e}")))?,
        )),
        None => None,
    };
    let _ = events
        .send(Event::RunStarted {
            run_id: run_id.clone(),
            workflow: wf.name.clone(),
            record: record.dir().to_path_buf(),
            nodes: step_ids.iter().map(|&i| wf.nodes[i].id.clone()).collect(),
            inputs: shown_inputs.clone(),
            started: Some(clock::rfc3339(started)),
        })
        .await;
    if let Some(r) = &opts.reuse {
        let _ = events
            .send(Event::Reusing {
                run_id: r.run_id.clone(),
                record: r.record.clone(),
                from: r.from.clone(),
                nodes: r.nodes.clone(),
            })
            .await;
        // The reused outputs were made from that run's inputs; compared as both are shown.
        let json = |v: &ShownVars| serde_json::to_value(v).unwrap_or_default();
        if json(&r.inputs) != json(&shown_inputs) {
            warnings.push(format!(
                "the inputs differ from run {}'s: its reused outputs were made from its own",
                r.run_id
            ));
        }
    }
    for w in warnings {
        let _ = events
            .send(Event::Warning {
                node: None,
                message: w,
            })
            .await;
    }

    let base_dir = std::path::absolute(&wf.base_dir).unwrap_or_else(|_| wf.base_dir.clone());
    // Lowest first: a `$DATAPOOL_DIRECTORY` wfop inherited (a folder of pools, as the
    // platform's mount point), the workflow's `datapools`, then `--datapool`.
    let inherited = base_env
        .iter()
        .find(|(k, _)| k == datapool::DATAPOOL_DIRECTORY)
        .map(|(_, v)| datapool::pools_in(std::path::Path::new(v)))
        .unwrap_or_default();
    let workflow_pools: Vec<datapool::Pool> = wf
        .datapools
        .iter()
        .map(|p| datapool::Pool {
            name: p.name.clone(),
            dir: base_dir.join(&p.dir),
        })
        .collect();
    let datapools = datapool::merged(
        datapool::merged(inherited, &workflow_pools),
        &opts.datapools,
    );
    let ctx = Arc::new(RunCtx {
        run_id: run_id.clone(),
        base_dir,
        state_dir: opts.state_dir.clone(),
        workflow: wf.path.clone(),
        datapools,
        redactor,
        secrets: Arc::new(Mutex::new(store)),
        base_env,
        events: events.clone(),
        kill_grace: opts.kill_grace,
        sandbox,
        record_dir: record.dir().to_path_buf(),
        hub_tokens: Default::default(),
        tty: opts.tty,
        consoles: Default::default(),
        executor: opts.executor.clone(),
        cluster,
    });
    let policy = Policy {
        max_parallel: opts.max_parallel,
        keep_going: opts.keep_going,
    };
    let mut run = Run::new(&wf, policy);
    if let Some(r) = &opts.reuse {
        run.reuse(|i| r.reused(i));
    }
    let mut d = Driver {
        reuse: opts.reuse.clone(),
        wf,
        ctx,
        record,
        events,
        vars: Vars::new(inputs),
        stop: watch::channel(Stop::None).0,
        node_stop: HashMap::new(),
        backoffs: HashMap::new(),
        tasks: JoinSet::new(),
        task_node: HashMap::new(),
        logs: HashMap::new(),
        current: HashMap::new(),
        summaries: BTreeMap::new(),
    };
    d.start_mappings(&mut run).await;
    // The front end's node commands; a second run on the same handle gets none.
    let mut control = opts.control.take_receiver();

    loop {
        let asked = opts.cancel.level();
        if asked > run.cancelled() {
            run.cancel(asked);
            d.send_stop(&run);
        }
        while let Some(action) = run.next_action() {
            d.moved(&mut run).await;
            d.act(&mut run, action).await;
            d.moved(&mut run).await;
            d.send_stop(&run);
        }
        if d.tasks.is_empty() {
            break;
        }
        // `run.json` catches up with changes that could wait (`Record::changed`) when they
        // are due, also while nothing else happens.
        let due = d.record.due().map(tokio::time::Instant::from_std);
        let flush_at = async {
            match due {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            joined = d.tasks.join_next_with_id() => d.joined(&mut run, joined).await,
            () = flush_at => {
                let _ = d.record.flush();
            }
            Some(sig) = signals.recv() => run.interrupt(sig),
            level = opts.cancel.above(run.cancelled()) => run.cancel(level),
            Some(cmd) = next_command(&mut control) => d.command(&mut run, cmd).await,
        }
        d.moved(&mut run).await;
        d.send_stop(&run);
    }
    for (i, reason) in run.skip_rest() {
        d.skip(i, run.id(i).clone(), reason).await;
    }
    Ok(d.end(run.status(), &step_ids, t0, shown_inputs).await)
}

/// The next node command, or never when there is no receiver or every sender is gone.
async fn next_command(
    control: &mut Option<mpsc::UnboundedReceiver<NodeCommand>>,
) -> Option<NodeCommand> {
    match control {
        Some(rx) => match rx.recv().await {
            Some(cmd) => Some(cmd),
            None => {
                *control = None;
                std::future::pending().await
            }
        },
        None => std::future::pending().await,
    }
}

/// Nodes that take time and are shown as such: services and timers.
fn is_step(kind: NodeKind) -> bool {
    matches!(kind, NodeKind::Service | NodeKind::Timer)
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

/// How a task of the run ended.
enum Ended {
    /// A service's attempt (after its process ended).
    Service(Outcome),
    /// A timer's wait (succeeded, or cancelled by the run's stop).
    Timer(Outcome),
    /// A retry's backoff (over, or cut short by the run's stop).
    Backoff,
}

/// What `JoinSet::join_next_with_id` gives for a task.
type Joined = Option<Result<(tokio::task::Id, (usize, Ended)), tokio::task::JoinError>>;

/// The I/O side of a run, driven by the scheduler's loop as `Run` decides: starts services and
/// timers, evaluates gateways' conditions, keeps the record, the variables and the summaries,
/// sends the events.
struct Driver {
    wf: Arc<Workflow>,
    ctx: Arc<RunCtx>,
    record: Record,
    events: mpsc::Sender<Event>,
    /// The workflow variables.
    vars: Vars,
    /// The stop level of the run, which every timer and backoff watches and every running
    /// service's own level follows.
    stop: watch::Sender<Stop>,
    /// Each running service's stop level: the run's, or `Cancel` when the operator stops or
    /// restarts it.
    node_stop: HashMap<usize, watch::Sender<Stop>>,
    /// Each retry's backoff, dropped when the operator stops or restarts the node.
    backoffs: HashMap<usize, tokio::task::AbortHandle>,
    tasks: JoinSet<(usize, Ended)>,
    task_node: HashMap<tokio::task::Id, usize>,
    /// Each step's log, open from its first attempt to the end of the run (later attempts
    /// follow a `wfop attempt N` line).
    logs: HashMap<usize, Arc<Mutex<NodeLog>>>,
    /// The attempt each running or waiting step is at.
    current: HashMap<usize, Attempt>,
    summaries: BTreeMap<usize, NodeSummary>,
    /// A rerun's reused run (`--from NODE --reuse RUN`).
    reuse: Option<Arc<Reuse>>,
}

impl Driver {
    /// Sends the run's stop level to the running services when it rose.
    fn send_stop(&self, run: &Run) {
        let to = run.stop();
        let raise = |l: &mut Stop| {
            let rises = to > *l;
            *l = (*l).max(to);
            rises
        };
        self.stop.send_if_modified(raise);
        for tx in self.node_stop.values() {
            tx.send_if_modified(raise);
        }
    }

    /// A front end's command for one node.
    async fn command(&mut self, run: &mut Run, cmd: NodeCommand) {
        // Typing and the terminal size (engine/pty.rs), a stop or restart of one node; what a
        // node cannot take is refused with a warning that says why.
        let typed = match cmd {
            NodeCommand::Input { node, data } => Some((node, Feed::Data(data))),
            NodeCommand::InputEof { node } => Some((node, Feed::Eof)),
            NodeCommand::Resize { cols, rows } => {
                self.ctx.consoles.resize(cols, rows);
                return;
            }
            NodeCommand::Stop { node, mark } => {
                return self.steer(run, &node, Steer::Stop(mark)).await;
            }
            NodeCommand::Restart { node } => return self.steer(run, &node, Steer::Restart).await,
        };
        if let Some((node, feed)) = typed
            && let Err(why) = self.feed(&node, feed)
        {
            self.send(Event::Warning {
                node: self.wf.node_index(&node).map(|i| run.id(i).clone()),
                message: why,
            })
            .await;
        }
    }

    /// Hands what the operator typed to `node`'s stdin, or says why it cannot take it (never
    /// naming what was typed).
    fn feed(&self, node: &str, feed: Feed) -> Result<(), String> {
        let Some(i) = self.wf.node_index(node) else {
            return Err(format!("no node `{node}` to type to"));
        };
        let n = &self.wf.nodes[i];
        if n.kind != NodeKind::Service {
            return Err(format!("node `{node}` is not a service: it takes no input"));
        }
        if matches!(n.run, Some(crate::workflow::Run::Hub(_))) {
            return Err(Refusal::Hub(node.to_string()).to_string());
        }
        if !(n.tty || n.stdin_open || self.ctx.tty) {
            return Err(Refusal::Closed(node.to_string()).to_string());
        }
        // Not registered: not started yet, waiting for a retry, or ended.
        match self.ctx.consoles.send(node, feed) {
            Err(Refusal::Closed(_)) => Err(Refusal::NotRunning(node.to_string()).to_string()),
            r => r.map_err(|e| e.to_string()),
        }
    }

    /// The operator's stop or restart of one node, as `Run::steer` decides it; a node that
    /// does not exist or cannot take it gets a warning saying why.
    async fn steer(&mut self, run: &mut Run, node: &str, what: Steer) {
        let verb = match what {
            Steer::Stop(_) => "stop",
            Steer::Restart => "restart",
        };
        let Some(i) = self.wf.node_index(node) else {
            let mut shown: String = node.chars().take(100).collect();
            if shown.len() < node.len() {
                shown.push('…');
            }
            let message = format!("cannot {verb} `{shown}`: the workflow has no such node");
            let message = self.ctx.redactor.redact_str(&message);
            self.send(Event::Warning {
                node: None,
                message,
            })
            .await;
            return;
        };
        let id = run.id(i).clone();
        match run.steer(i, what) {
            Err(why) => {
                self.send(Event::Warning {
                    node: Some(id),
                    message: format!("cannot {verb} it: {why}"),
                })
                .await;
            }
            Ok(Steered::Signal) => {
                if let Some(tx) = self.node_stop.get(&i) {
                    tx.send_if_modified(|l| {
                        let rises = *l < Stop::Cancel;
                        *l = (*l).max(Stop::Cancel);
                        rises
                    });
                }
            }
            Ok(Steered::RetryNow) => {
                if let Some(b) = self.backoffs.remove(&i) {
                    b.abort();
                }
            }
            Ok(Steered::Ended(outcome)) => {
                if let Some(b) = self.backoffs.remove(&i) {
                    b.abort();
                }
                self.current.remove(&i);
                self.stopped_waiting(i, outcome, what.reason()).await;
            }
        }
    }

    /// A node stopped while it waited out a retry's backoff: it ends so (its last attempt's
    /// entry stays as that attempt ended).
    async fn stopped_waiting(&mut self, i: usize, outcome: NodeOutcome, why: &str) {
        let node = &self.wf.nodes[i];
        let id: Arc<str> = Arc::from(node.id.as_str());
        let reason = format!("{why} while it waited to retry");
        let mut attempt = 0;
        let mut duration_ms = 0;
        let (mut exit_code, mut signal) = (None, None);
        if let Some(d) = self.record.node_mut(&id) {
            d.status = NodeState::Done(outcome);
            d.reason = Some(reason.clone());
            if let Some(a) = d.attempts.last() {
                attempt = a.attempt;
                duration_ms = a.duration_ms.unwrap_or(0);
                (exit_code, signal) = (a.exit_code, a.signal);
            }
        }
        let _ = self.record.save();
        if let Some(s) = self.summaries.get_mut(&i) {
            s.status = outcome;
            s.reason = Some(reason.clone());
        }
        self.send(Event::NodeFinished {
            node: id,
            attempt,
            status: outcome,
            duration_ms,
            exit_code,
            signal,
            reason: Some(reason),
            error_code: None,
        })
        .await;
    }

    async fn send(&self, e: Event) {
        let _ = self.events.send(e).await;
    }

    /// `EdgeTaken` for every edge a token moved along.
    async fn moved(&mut self, run: &mut Run) {
        for k in run.take_moved() {
            let e = &self.wf.edges[k];
            let event = Event::EdgeTaken {
                edge: k,
                from: e.from.as_str().into(),
                to: e.to.as_str().into(),
            };
            self.send(event).await;
        }
    }

    /// The start nodes' output mappings set the initial variables; one that fails fails the
    /// run before anything runs.
    async fn start_mappings(&mut self, run: &mut Run) {
        let wf = self.wf.clone();
        for (i, node) in wf.nodes.iter().enumerate() {
            if node.kind != NodeKind::Start || node.output_mapping.is_none() {
                continue;
            }
            match apply_output(node, &Value::Null, &mut self.vars) {
                Ok(set) => self.outputs(&node.id, &set).await,
                Err(reason) => {
                    let reason = self.ctx.redactor.redact_str(&reason);
                    self.run_error(format!("start node `{}`: {reason}", node.id))
                        .await;
                    run.fail_node(i);
                }
            }
        }
    }

    /// Why the run fails when no step says it: in the record, and as a warning.
    async fn run_error(&mut self, message: String) {
        self.record.doc.error.get_or_insert_with(|| message.clone());
        let _ = self.record.save();
        self.send(Event::Warning {
            node: None,
            message,
        })
        .await;
    }

    async fn outputs(&self, node: &str, set: &Map<String, Value>) {
        if set.is_empty() {
            return;
        }
        let variables = ShownVars::redact(&self.ctx.redactor, set);
        self.send(Event::Outputs {
            node: node.into(),
            variables,
        })
        .await;
    }

    async fn act(&mut self, run: &mut Run, action: Action) {
        match action {
            Action::Start(i, attempt) => {
                if let Err(reason) = self.start(i, attempt) {
                    let out = Outcome::failed(SystemTime::now(), Instant::now(), reason);
                    self.ended(run, i, out).await;
                }
            }
            Action::Wait(i, attempt) => self.start_timer(run, i, attempt).await,
            Action::Reuse(i, attempt) => self.reused(run, i, attempt).await,
            Action::Decide { node, iteration } => {
                let (conditions, taken) = self.decide(node);
                let event = Event::GatewayDecision {
                    node: run.id(node).clone(),
                    iteration,
                    conditions,
                    taken: taken.as_ref().ok().copied(),
                    reason: taken.as_ref().err().cloned(),
                };
                self.send(event).await;
                if let Err(reason) = &taken {
                    let message = format!("gateway `{}`: {reason}", run.id(node));
                    self.record.doc.error.get_or_insert(message);
                    let _ = self.record.save();
                }
                run.decided(node, taken);
            }
            Action::Guard {
                node,
                attempt,
                reason,
            } => {
                if is_step(self.wf.nodes[node].kind) {
                    self.begin_attempt(node, attempt, SystemTime::now());
                    let out = Outcome::failed(SystemTime::now(), Instant::now(), reason);
                    self.record_end(node, attempt, &out).await;
                } else {
                    let event = Event::GatewayDecision {
                        node: run.id(node).clone(),
                        iteration: attempt.iteration.saturating_add(1),
                        conditions: Vec::new(),
                        taken: None,
                        reason: Some(reason.clone()),
                    };
                    self.send(event).await;
                    let message = format!("gateway `{}`: {reason}", run.id(node));
                    self.record.doc.error.get_or_insert(message);
                    let _ = self.record.save();
                }
            }
        }
    }

    /// An exclusive gateway's outgoing edges in file order: the first whose condition is true,
    /// else the default edge; a condition that fails to evaluate or gives a non-boolean is not
    /// true (its error is shown with it). A lone outgoing edge without a condition (a merge) is
    /// always taken.
    fn decide(&self, node: usize) -> (Vec<ConditionResult>, Result<usize, String>) {
        let id = &self.wf.nodes[node].id;
        let mut results = Vec::new();
        let mut taken = None;
        let mut default = None;
        let out: Vec<(usize, &Edge)> = (self.wf.edges.iter().enumerate())
            .filter(|(_, e)| &e.from == id)
            .collect();
        if let [(k, e)] = out[..]
            && e.condition.is_none()
        {
            let r = ConditionResult {
                edge: k,
                to: e.to.as_str().into(),
                value: None,
                default: e.default,
                error: None,
            };
            return (vec![r], Ok(k));
        }
        for (k, e) in out {
            let mut r = ConditionResult {
                edge: k,
                to: e.to.as_str().into(),
                value: None,
                default: e.default,
                error: None,
            };
            if e.default {
                default.get_or_insert(k);
            } else if taken.is_none() {
                match e.condition.as_ref().map(|c| eval_condition(c, &self.vars)) {
                    Some(Ok(v)) => {
                        r.value = Some(v);
                        if v {
                            taken = Some(k);
                        }
                    }
                    // Not true: the edge is not taken; the reason goes with it.
                    Some(Err(why)) => r.error = Some(self.ctx.redactor.redact_str(&why)),
                    // No condition and not the default: `wfop check` refuses it; never taken.
                    None => {}
                }
            }
            results.push(r);
        }
        let choice = taken.or(default).ok_or_else(|| {
            let mut why = "no condition is true and there is no default edge".to_string();
            for r in results.iter().filter(|r| r.error.is_some()) {
                let e = r.error.as_deref().unwrap_or_default();
                why.push_str(&format!("; edge to `{}`: {e}", r.to));
            }
            why
        });
        (results, choice)
    }

    /// Record and log of a step's new attempt.
    fn begin_attempt(&mut self, i: usize, attempt: Attempt, now: SystemTime) {
        self.current.insert(i, attempt);
        let id = self.wf.nodes[i].id.clone();
        if let Some(d) = self.record.node_mut(&id) {
            d.status = NodeState::Running;
            d.iterations = attempt.iteration;
            d.attempts.push(AttemptDoc {
                attempt: attempt.attempt,
                iteration: attempt.iteration,
                try_no: attempt.try_no,
                status: NodeState::Running,
                started: Some(clock::rfc3339(now)),
                finished: None,
                duration_ms: None,
                exit_code: None,
                signal: None,
                reason: None,
                error_code: None,
                files: Vec::new(),
            });
            d.files.clear();
            d.started = Some(clock::rfc3339(now));
            d.finished = None;
            d.duration_ms = None;
        }
        let _ = self.record.changed();
    }

    /// The node's log, opened (truncated) at its first attempt; a later attempt begins with
    /// a `wfop attempt N` line.
    fn log_for(&mut self, i: usize, attempt: Attempt) -> Result<Arc<Mutex<NodeLog>>, String> {
        if let Some(l) = self.logs.get(&i) {
            if attempt.attempt > 1 {
                let mut g = l.lock().unwrap_or_else(|e| e.into_inner());
                let _ = g.note(SystemTime::now(), &attempt_marker(attempt));
            }
            return Ok(l.clone());
        }
        let mut log = self
            .record
            .node_log(&self.wf.nodes[i].id)
            .map_err(|e| e.to_string())?;
        if attempt.attempt > 1 {
            let _ = log.note(SystemTime::now(), &attempt_marker(attempt));
        }
        let log = Arc::new(Mutex::new(log));
        self.logs.insert(i, log.clone());
        Ok(log)
    }

    /// Starts an attempt of node `i`'s service. One whose input mapping or log fails does not
    /// start: the error is why (redacted).
    fn start(&mut self, i: usize, attempt: Attempt) -> Result<(), String> {
        let now = SystemTime::now();
        self.begin_attempt(i, attempt, now);
        let node = &self.wf.nodes[i];
        let id: Arc<str> = node.id.as_str().into();
        let input = eval_input(node, &self.vars, &self.ctx.redactor);
        let prepared = input.and_then(|input| self.log_for(i, attempt).map(|log| (input, log)));
        let (input, log) = prepared.map_err(|reason| self.ctx.redactor.redact_str(&reason))?;
        // The service's own stop level, from the run's.
        let (tx, rx) = watch::channel(*self.stop.borrow());
        self.node_stop.insert(i, tx);
        let (ctx, wf) = (self.ctx.clone(), self.wf.clone());
        let handle = self.tasks.spawn(async move {
            let node = &wf.nodes[i];
            let out = run_service(ctx, (id, attempt), node, input, log, rx).await;
            (i, Ended::Service(out))
        });
        self.task_node.insert(handle.id(), i);
        Ok(())
    }

    /// An attempt of a step that does not run in a rerun: its recorded result from the reused
    /// run goes through its output mapping as a new result would, and it ends `succeeded`;
    /// a step the reused run has no success of fails, saying so.
    async fn reused(&mut self, run: &mut Run, i: usize, attempt: Attempt) {
        let now = SystemTime::now();
        self.begin_attempt(i, attempt, now);
        let wf = self.wf.clone();
        let node = &wf.nodes[i];
        let id: Arc<str> = node.id.as_str().into();
        let Some(reuse) = self.reuse.clone() else {
            return;
        };
        let doc = reuse.docs.get(node.id.as_str());
        let succeeded = doc.filter(|d| d.status == NodeState::Done(NodeOutcome::Succeeded));
        let Some(doc) = succeeded else {
            let why = match doc {
                None => "it is not in that run's record".to_string(),
                Some(d) => match d.status {
                    NodeState::Done(o) => format!("it was {} there", o.as_str()),
                    _ => "it did not run there".to_string(),
                },
            };
            let reason = format!(
                "run {} has no successful outputs of this node to reuse: {why}",
                reuse.run_id
            );
            let out = Outcome::failed(now, Instant::now(), reason);
            self.ended(run, i, out).await;
            return;
        };
        if let Ok(log) = self.log_for(i, attempt) {
            let mut l = log.lock().unwrap_or_else(|e| e.into_inner());
            let _ = l.note(
                now,
                &format!(
                    "reused the outputs of run {} (its log: wfop logs {} {})",
                    reuse.run_id, reuse.run_id, node.id
                ),
            );
        }
        if let Some(d) = self.record.node_mut(&node.id) {
            d.reused_from = Some(reuse.run_id.clone());
        }
        self.send(Event::NodeReused {
            node: id,
            attempt: attempt.attempt,
            run_id: reuse.run_id.clone(),
        })
        .await;
        let mut out = Outcome::failed(now, Instant::now(), String::new());
        out.status = NodeOutcome::Succeeded;
        out.reason = None;
        out.result = doc.result.clone().unwrap_or(Value::Null);
        out.exit_code = doc.exit_code;
        let node = &self.wf.nodes[i];
        match apply_output(node, &out.result, &mut self.vars) {
            Ok(set) => self.outputs(&node.id, &set).await,
            Err(reason) => {
                out.status = NodeOutcome::Failed;
                out.reason = Some(self.ctx.redactor.redact_str(&reason));
            }
        }
        self.ended(run, i, out).await;
    }

    /// Starts a timer's wait; the run's stop cancels it.
    async fn start_timer(&mut self, run: &mut Run, i: usize, attempt: Attempt) {
        let now = SystemTime::now();
        self.begin_attempt(i, attempt, now);
        let id: Arc<str> = self.wf.nodes[i].id.as_str().into();
        let Some(duration) = self.wf.nodes[i].timer.as_ref().map(|t| t.duration) else {
            let reason = "the timer has no `duration`".to_string();
            let out = Outcome::failed(now, Instant::now(), reason);
            self.ended(run, i, out).await;
            return;
        };
        self.send(Event::NodeStarted {
            node: id.clone(),
            attempt,
            pid: None,
        })
        .await;
        self.send(Event::TimerStarted {
            node: id,
            attempt: attempt.attempt,
            duration_ms: duration.as_millis() as u64,
            deadline: clock::rfc3339(now + duration),
        })
        .await;
        let mut rx = self.stop.subscribe();
        let handle = self.tasks.spawn(async move {
            let t0 = Instant::now();
            let status = tokio::select! {
                _ = tokio::time::sleep(duration) => NodeOutcome::Succeeded,
                _ = rx.wait_for(|l| *l >= Stop::Cancel) => NodeOutcome::Cancelled,
            };
            let mut out = Outcome::failed(now, t0, String::new());
            out.status = status;
            out.reason = (status == NodeOutcome::Cancelled).then(|| "cancelled".to_string());
            (i, Ended::Timer(out))
        });
        self.task_node.insert(handle.id(), i);
    }

    /// A task ended: a service's or a timer's attempt, or a retry's backoff.
    async fn joined(&mut self, run: &mut Run, joined: Joined) {
        let Some(joined) = joined else { return };
        let (i, ended) = match joined {
            Ok((id, done)) => {
                self.task_node.remove(&id);
                done
            }
            // A backoff the operator's stop or restart dropped.
            Err(e) if e.is_cancelled() => {
                self.task_node.remove(&e.id());
                return;
            }
            Err(e) => {
                let Some(&i) = self.task_node.get(&e.id()) else {
                    return;
                };
                let reason = "internal error: the node's task ended abnormally".to_string();
                let out = Outcome::failed(SystemTime::now(), Instant::now(), reason);
                (i, Ended::Service(out))
            }
        };
        match ended {
            Ended::Backoff => {
                self.backoffs.remove(&i);
                run.retry_due(i);
            }
            Ended::Timer(out) => self.ended(run, i, out).await,
            Ended::Service(mut out) => {
                self.node_stop.remove(&i);
                // Stopped or restarted by the operator: said so; stopped as failed, it failed.
                if out.status == NodeOutcome::Cancelled
                    && let Some(s) = run.steering(i)
                {
                    out.reason = Some(s.reason().into());
                    if s == Steer::Stop(crate::engine::StopMark::Failed) {
                        out.status = NodeOutcome::Failed;
                    }
                }
                self.error_expression(i, &mut out);
                if out.status == NodeOutcome::Succeeded {
                    let node = &self.wf.nodes[i];
                    match apply_output(node, &out.result, &mut self.vars) {
                        Ok(set) => self.outputs(&node.id, &set).await,
                        Err(reason) => {
                            out.status = NodeOutcome::Failed;
                            out.reason = Some(self.ctx.redactor.redact_str(&reason));
                        }
                    }
                }
                self.ended(run, i, out).await;
            }
        }
    }

    /// A service's `error_expression` at the end of an attempt (not a cancelled one): a
    /// `bpmnError(code, message)` it gives fails the attempt raising `code` (caught by an
    /// error path like a problem document's code; its variables and message are the error's
    /// fields), null leaves the end as it is, anything else fails the attempt with the reason.
    fn error_expression(&self, i: usize, out: &mut Outcome) {
        let node = &self.wf.nodes[i];
        let reason = out.reason.clone().unwrap_or_else(|| "failed".into());
        let end = match out.status {
            NodeOutcome::Succeeded => AttemptEnd::Succeeded(&out.result),
            NodeOutcome::Failed | NodeOutcome::TimedOut => AttemptEnd::Failed {
                code: out.error_code.as_deref(),
                problem: out.problem.as_ref(),
                reason: &reason,
            },
            NodeOutcome::Cancelled | NodeOutcome::Skipped => return,
        };
        let redactor = &self.ctx.redactor;
        match eval_error_expression(node, end, &self.vars) {
            Ok(None) => {}
            Ok(Some(raised)) => {
                let code = redactor.redact_str(&raised.code);
                let message = redactor.redact_str(&raised.message);
                let mut problem = Value::Object(raised.variables);
                redact_value(redactor, &mut problem);
                if let Value::Object(m) = &mut problem {
                    m.insert("code".into(), Value::String(code.clone()));
                    if !message.is_empty() {
                        m.insert("message".into(), Value::String(message.clone()));
                    }
                }
                out.status = NodeOutcome::Failed;
                out.reason = Some(if message.is_empty() {
                    format!("the error expression raised `{code}`")
                } else {
                    format!("the error expression raised `{code}`: {message}")
                });
                out.error_code = Some(code);
                out.problem = Some(problem);
                out.result = Value::Null;
            }
            Err(why) => {
                let why = redactor.redact_str(&why);
                if out.status == NodeOutcome::Succeeded {
                    out.reason = Some(why);
                    out.status = NodeOutcome::Failed;
                    out.result = Value::Null;
                } else {
                    out.reason = Some(format!("{reason}; {why}"));
                }
            }
        }
    }

    /// An attempt of step `i` ended: recorded and told, then what `Run` makes of it (a retry
    /// after its backoff, an error path, or nothing more).
    async fn ended(&mut self, run: &mut Run, i: usize, mut out: Outcome) {
        let attempt = self.current.get(&i).copied().unwrap_or(Attempt::FIRST);
        // An error path that catches the code, its mapping applied (one that fails leaves the
        // failure uncaught, its reason says why).
        let node = &self.wf.nodes[i];
        let mut path = None;
        if run.stop() == Stop::None
            && matches!(out.status, NodeOutcome::Failed | NodeOutcome::TimedOut)
            && let Some(code) = &out.error_code
            && let Some(p) = catching(&node.errors, code)
        {
            let reason = out.reason.as_deref().unwrap_or("failed");
            let applied = apply_error_output(
                &node.errors[p],
                out.problem.as_ref(),
                code,
                reason,
                &mut self.vars,
            );
            match applied {
                Ok(set) => {
                    self.outputs(&node.id, &set).await;
                    path = Some(p);
                }
                Err(why) => {
                    let message = format!(
                        "error path `{code}` not taken: {}",
                        self.ctx.redactor.redact_str(&why)
                    );
                    self.send(Event::Warning {
                        node: Some(node.id.as_str().into()),
                        message,
                    })
                    .await;
                }
            }
        }
        // A caught failure's reason says so and where the run went on.
        if let Some(p) = path {
            let e = &node.errors[p];
            // The code raised (a catch-all path's `*` says nothing).
            let raised = out.error_code.as_deref().unwrap_or(&e.code);
            let caught = format!("{raised} caught → {}", e.to);
            out.reason = Some(match &out.reason {
                Some(r) => format!("{caught}: {r}"),
                None => caught,
            });
        }
        self.record_end(i, attempt, &out).await;
        let id = run.id(i).clone();
        match run.finish(i, out.status, path) {
            Finished::Done => {
                self.current.remove(&i);
            }
            Finished::Caught { path, to } => {
                self.current.remove(&i);
                let code = out
                    .error_code
                    .clone()
                    .unwrap_or_else(|| self.wf.nodes[i].errors[path].code.clone());
                self.send(Event::ErrorCaught {
                    node: id,
                    attempt: attempt.attempt,
                    code,
                    to: run.id(to).clone(),
                })
                .await;
            }
            Finished::Restart { next } => {
                if let Some(d) = self.record.node_mut(&id) {
                    d.status = NodeState::Waiting;
                }
                let _ = self.record.changed();
                self.current.insert(i, next);
            }
            Finished::Retry { next, delay } => {
                if let Some(d) = self.record.node_mut(&id) {
                    d.status = NodeState::Waiting;
                }
                let _ = self.record.changed();
                self.send(Event::RetryScheduled {
                    node: id,
                    attempt: attempt.attempt,
                    next,
                    delay_ms: delay.as_millis() as u64,
                    at: clock::rfc3339(SystemTime::now() + delay),
                })
                .await;
                let mut rx = self.stop.subscribe();
                let handle = self.tasks.spawn(async move {
                    tokio::select! {
                        _ = tokio::time::sleep(delay) => {}
                        _ = rx.wait_for(|l| *l >= Stop::Cancel) => {}
                    }
                    (i, Ended::Backoff)
                });
                self.task_node.insert(handle.id(), i);
                self.backoffs.insert(i, handle);
            }
        }
    }

    /// Records how an attempt of step `i` ended, notes a failure's reason in its log, tells
    /// the front end.
    async fn record_end(&mut self, i: usize, attempt: Attempt, out: &Outcome) {
        let node = &self.wf.nodes[i];
        let id: Arc<str> = Arc::from(node.id.as_str());
        let now = SystemTime::now();
        if let (Some(log), Some(reason)) = (self.logs.get(&i), &out.reason) {
            let mut l = log.lock().unwrap_or_else(|e| e.into_inner());
            let _ = l.note(now, &format!("{}: {reason}", out.status.as_str()));
        }
        if let Some(log) = self.logs.get(&i) {
            let mut l = log.lock().unwrap_or_else(|e| e.into_inner());
            for f in &out.files {
                let _ = l.note(now, &files::note(f));
            }
        }
        let duration_ms = out.duration.as_millis() as u64;
        if let Some(d) = self.record.node_mut(&id) {
            d.files = out.files.clone();
            d.status = NodeState::Done(out.status);
            d.started.get_or_insert_with(|| clock::rfc3339(out.started));
            d.finished = Some(clock::rfc3339(now));
            d.duration_ms = Some(duration_ms);
            d.exit_code = out.exit_code;
            d.signal = out.signal;
            d.reason = out.reason.clone();
            d.error_code = out.error_code.clone();
            d.problem = out.problem.clone();
            d.result = (out.status == NodeOutcome::Succeeded).then(|| out.result.clone());
            merge_counts(&mut d.redactions, &out.counts);
            if let Some(a) = d
                .attempts
                .iter_mut()
                .rev()
                .find(|a| a.attempt == attempt.attempt)
            {
                a.status = NodeState::Done(out.status);
                a.finished = Some(clock::rfc3339(now));
                a.duration_ms = Some(duration_ms);
                a.exit_code = out.exit_code;
                a.signal = out.signal;
                a.reason = out.reason.clone();
                a.error_code = out.error_code.clone();
                a.files = out.files.clone();
            }
        }
        // A success can wait for the next rewrite; a failure is written before it is told
        // (the TUI's detail reads its problem document from `run.json` at once).
        let _ = match out.status {
            NodeOutcome::Succeeded => self.record.changed(),
            _ => self.record.save(),
        };
        if !out.files.is_empty() {
            self.send(Event::OutputFiles {
                node: id.clone(),
                attempt: attempt.attempt,
                files: out.files.clone(),
            })
            .await;
        }
        if !out.counts.is_empty() {
            self.send(Event::Redactions {
                node: id.clone(),
                counts: out.counts.clone(),
            })
            .await;
        }
        self.summaries.insert(
            i,
            NodeSummary {
                node: node.id.clone(),
                label: node.line_label().into_owned(),
                status: out.status,
                attempts: attempt.attempt,
                duration_ms: Some(duration_ms),
                exit_code: out.exit_code,
                signal: out.signal,
                reason: out.reason.clone(),
                reused: self
                    .record
                    .doc
                    .nodes
                    .iter()
                    .find(|d| d.id == node.id)
                    .and_then(|d| d.reused_from.clone()),
            },
        );
        self.send(Event::NodeFinished {
            node: id,
            attempt: attempt.attempt,
            status: out.status,
            duration_ms,
            exit_code: out.exit_code,
            signal: out.signal,
            reason: out.reason.clone(),
            error_code: out.error_code.clone(),
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
                label: node.line_label().into_owned(),
                status: NodeOutcome::Skipped,
                attempts: self.current.get(&i).map_or(0, |a| a.attempt),
                duration_ms: None,
                exit_code: None,
                signal: None,
                reason: Some(reason.clone()),
                reused: None,
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
        step_ids: &[usize],
        t0: Instant,
        shown_inputs: ShownVars,
    ) -> RunReport {
        // Nothing of the run stays in the cluster's queue: its allocation is released, and a
        // job still named after it is cancelled (said: it should not happen).
        if let Some(cluster) = &self.ctx.cluster {
            let message = match cluster.sweep().await {
                Ok(left) if left.is_empty() => None,
                Ok(left) => Some(format!(
                    "Slurm jobs of this run were still in the queue at its end, cancelled: {}",
                    left.join(", ")
                )),
                Err(e) => Some(format!(
                    "cannot check Slurm's queue for this run's jobs at its end: {e}"
                )),
            };
            if let Some(message) = message {
                let _ = self
                    .events
                    .send(Event::Warning {
                        node: None,
                        message,
                    })
                    .await;
            }
        }
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
        self.ctx.hub_tokens.purge();
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
        let nodes: Vec<NodeSummary> = step_ids
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

/// The line in a step's log before the lines of its attempt `N` (N ≥ 2): `wfop logs --attempt`
/// reads the log by these.
fn attempt_marker(a: Attempt) -> String {
    format!(
        "attempt {} (iteration {}, try {}/{})",
        a.attempt, a.iteration, a.try_no, a.tries
    )
}

fn merge_counts(into: &mut BTreeMap<String, u64>, from: &BTreeMap<String, u64>) {
    for (k, n) in from {
        *into.entry(k.clone()).or_insert(0) += n;
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
    step_ids: &[usize],
    started: SystemTime,
) -> Result<Record, EngineError> {
    let nodes: Vec<NodeDoc> = step_ids
        .iter()
        .map(|&i| NodeDoc {
            id: wf.nodes[i].id.clone(),
            label: wf.nodes[i].line_label().into_owned(),
            status: NodeState::Pending,
            started: None,
            finished: None,
            duration_ms: None,
            exit_code: None,
            signal: None,
            reason: None,
            result: None,
            redactions: BTreeMap::new(),
            error_code: None,
            problem: None,
            iterations: 0,
            attempts: Vec::new(),
            files: Vec::new(),
            reused_from: None,
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
            process: opts.load.process.clone(),
            services: opts.load.services.clone(),
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
            error: None,
            variables: None,
            edges: reuse::edge_list(wf),
            reused: opts.reuse.as_ref().map(|r| ReusedDoc {
                run_id: r.run_id.clone(),
                record: r.record.clone(),
                from: r.from.clone(),
                nodes: r.nodes.clone(),
            }),
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

/// The error path that catches `code`: the one naming it, else a catch-all (`"*"`, BPMN's
/// error boundary without an `errorRef`).
fn catching(paths: &[crate::workflow::ErrorPath], code: &str) -> Option<usize> {
    paths.iter().position(|e| e.code == code).or_else(|| {
        paths
            .iter()
            .position(|e| e.code == crate::workflow::model::CATCH_ALL)
    })
}
