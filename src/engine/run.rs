//! The decisions of a run, without processes: BPMN token semantics (gateways, joins, loops,
//! retries, error paths), cancel/kill/signals, skips with their reasons, the final status.

use std::sync::Arc;
use std::time::Duration;

use super::control::StopMark;
use super::event::Attempt;
use super::lifecycle::{NodeOutcome, NodeState, RunStatus, Stop};
use crate::workflow::{NodeKind, Workflow};

/// How a run treats failures and how much runs at once.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Policy {
    /// Most services running at once (0 counts as 1).
    pub max_parallel: usize,
    /// On a failure, keep running what does not depend on it (else: stop the run).
    pub keep_going: bool,
}

/// A node as the decisions need it.
#[derive(Debug, Clone)]
pub(crate) struct NodeSpec {
    pub id: Arc<str>,
    pub kind: NodeKind,
    /// Attempts per iteration (a service's `retries`, else 1).
    pub tries: u32,
    /// The wait before each further attempt.
    pub backoff: Duration,
    pub max_iterations: u32,
    /// Each error path's target node, in the order of the node's `errors`.
    pub error_paths: Vec<usize>,
}

impl NodeSpec {
    pub fn new(id: &str, kind: NodeKind) -> NodeSpec {
        NodeSpec {
            id: Arc::from(id),
            kind,
            tries: 1,
            backoff: Duration::ZERO,
            max_iterations: crate::workflow::model::DEFAULT_MAX_ITERATIONS,
            error_paths: Vec::new(),
        }
    }
}

/// What the scheduler must do next.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Action {
    /// Run this attempt of a service (the node is `Running`).
    Start(usize, Attempt),
    /// Wait out this attempt of a timer (the node is `Running`).
    Wait(usize, Attempt),
    /// Take this attempt of a reused step (`--from NODE --reuse RUN`) from the reused run's
    /// record instead of running it (the node is `Running`; it counts against no limit).
    Reuse(usize, Attempt),
    /// Evaluate this exclusive gateway's outgoing conditions and answer with `decided`.
    Decide { node: usize, iteration: u32 },
    /// The node got a token once more than its `max_iterations` allow: it failed without
    /// running (a step's refused attempt has its number), which fails the run.
    Guard {
        node: usize,
        attempt: Attempt,
        reason: String,
    },
}

/// What the operator asked of one node (`NodeCommand::Stop`, `NodeCommand::Restart`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Steer {
    /// Stop it; the run treats it as failed or as cancelled.
    Stop(StopMark),
    /// A new attempt now.
    Restart,
}

impl Steer {
    /// The reason its attempt ends with.
    pub fn reason(self) -> &'static str {
        match self {
            Steer::Stop(_) => "stopped by the operator",
            Steer::Restart => "restarted by the operator",
        }
    }
}

/// What the scheduler does for a command `Run::steer` took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Steered {
    /// Stop the running attempt (SIGTERM, SIGKILL after the grace); what follows is decided
    /// when it has ended (`finish`).
    Signal,
    /// The node was waiting out a retry's backoff and is over now, with this outcome (its
    /// backoff is to be dropped).
    Ended(NodeOutcome),
    /// The node was waiting out a retry's backoff: its retry starts now (the backoff is to be
    /// dropped; `next_action` starts it when a slot is free).
    RetryNow,
}

/// What a step's end leads to.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Finished {
    /// Nothing more for this node now (its tokens moved on, or the failure stands).
    Done,
    /// The failed attempt is retried: `next` is due after `delay` (call `retry_due` then).
    Retry { next: Attempt, delay: Duration },
    /// The failure was caught by the error path `path` (index in the node's `errors`), which
    /// goes on at node `to`.
    Caught { path: usize, to: usize },
    /// The operator restarted the node: attempt `next` starts at once (`next_action` gives
    /// it when a slot is free).
    Restart { next: Attempt },
}

/// The lifecycle of every node of one run. The scheduler asks it what to do, tells it what
/// ended and what came from outside (a front end's cancel, a signal), and sends its `stop()`
/// level to the running services and timers.
///
/// Tokens (BPMN): a start node puts one on each outgoing edge; a service, timer or parallel
/// gateway consumes one from each incoming edge (a join) and, when it succeeds, puts one on
/// each outgoing edge; an exclusive gateway or an end node consumes one from any incoming edge
/// (a merge passes each arrival on) and the gateway puts it on the one edge it chose. A node
/// runs one attempt at a time: a token that arrives while it runs waits on its edge.
#[derive(Debug)]
pub(crate) struct Run {
    nodes: Vec<NodeSpec>,
    /// Edges (from, to), and each one's index in the workflow's `edges`.
    edges: Vec<(usize, usize)>,
    edge_ids: Vec<usize>,
    outgoing: Vec<Vec<usize>>,
    incoming: Vec<Vec<usize>>,
    tokens: Vec<u32>,
    /// Tokens that came along an error path, per target node.
    error_tokens: Vec<u32>,
    /// A start node's token, not yet passed on.
    initial: Vec<bool>,
    state: Vec<NodeState>,
    iterations: Vec<u32>,
    attempts: Vec<u32>,
    try_no: Vec<u32>,
    /// A `Waiting` node whose backoff is over.
    retry_due: Vec<bool>,
    /// The last attempt's failure went along an error path (not the run's failure).
    caught: Vec<bool>,
    /// The last attempt's outcome (what a retry abandoned by a stop ends with).
    last: Vec<NodeOutcome>,
    /// What the operator asked of a running node, until its attempt ends.
    steer: Vec<Option<Steer>>,
    /// The next attempt is a restart: it does not count as a try of its iteration.
    restarting: Vec<bool>,
    /// A node the operator stopped as cancelled (the run ends `cancelled` unless interrupted).
    operator_cancelled: Option<usize>,
    /// Steps that do not run: their attempts are taken from a reused run (`Action::Reuse`).
    reused: Vec<bool>,
    /// Edges a token moved along since the scheduler last asked (workflow edge indices).
    moved: Vec<usize>,
    policy: Policy,
    /// Services running now.
    running: usize,
    /// The first node that failed the run while nothing from outside stopped it.
    first_failure: Option<usize>,
    /// The signal that interrupted the run.
    interrupted: Option<i32>,
    /// The level a front end asked for (its `CancelToken`).
    cancelled: Stop,
    /// The level running services are stopped with.
    stop: Stop,
    /// Where the search for ready nodes goes on: file order, again from the top while a pass
    /// changed something (a node that passed may make an earlier one ready).
    cursor: usize,
    changed: bool,
}

impl Run {
    pub fn new(wf: &Workflow, policy: Policy) -> Run {
        let index = |id: &str| wf.node_index(id);
        let nodes = wf
            .nodes
            .iter()
            .map(|n| {
                let mut spec = NodeSpec::new(&n.id, n.kind);
                if let Some(r) = &n.retries {
                    spec.tries = r.attempts.max(1);
                    spec.backoff = r.backoff.unwrap_or_default();
                }
                spec.max_iterations = n.max_iterations;
                // Paths to unknown nodes are refused by `wfop check`; one left here never
                // catches anything.
                spec.error_paths = n
                    .errors
                    .iter()
                    .map(|e| index(&e.to).unwrap_or(usize::MAX))
                    .collect();
                spec
            })
            .collect();
        let edges: Vec<(usize, usize, usize)> = wf
            .edges
            .iter()
            .enumerate()
            .filter_map(|(k, e)| Some((index(&e.from)?, index(&e.to)?, k)))
            .collect();
        Run::from_graph(nodes, &edges, policy)
    }

    /// Nodes in file order and edges as (from, to, index in the workflow's `edges`).
    pub fn from_graph(
        nodes: Vec<NodeSpec>,
        edges: &[(usize, usize, usize)],
        policy: Policy,
    ) -> Run {
        let n = nodes.len();
        let mut outgoing = vec![Vec::new(); n];
        let mut incoming = vec![Vec::new(); n];
        for (k, &(a, b, _)) in edges.iter().enumerate() {
            outgoing[a].push(k);
            incoming[b].push(k);
        }
        Run {
            initial: nodes.iter().map(|s| s.kind == NodeKind::Start).collect(),
            nodes,
            edges: edges.iter().map(|&(a, b, _)| (a, b)).collect(),
            edge_ids: edges.iter().map(|&(_, _, k)| k).collect(),
            outgoing,
            incoming,
            tokens: vec![0; edges.len()],
            error_tokens: vec![0; n],
            state: vec![NodeState::Pending; n],
            iterations: vec![0; n],
            attempts: vec![0; n],
            try_no: vec![0; n],
            retry_due: vec![false; n],
            caught: vec![false; n],
            last: vec![NodeOutcome::Succeeded; n],
            steer: vec![None; n],
            restarting: vec![false; n],
            operator_cancelled: None,
            reused: vec![false; n],
            moved: Vec::new(),
            policy,
            running: 0,
            first_failure: None,
            interrupted: None,
            cancelled: Stop::None,
            stop: Stop::None,
            cursor: 0,
            changed: false,
        }
    }

    /// Marks steps that do not run (`Action::Reuse` instead of `Start` and `Wait`).
    pub fn reuse(&mut self, reused: impl Fn(usize) -> bool) {
        for (i, r) in self.reused.iter_mut().enumerate() {
            *r = reused(i);
        }
    }

    pub fn id(&self, node: usize) -> &Arc<str> {
        &self.nodes[node].id
    }

    #[cfg(test)]
    pub fn state(&self, node: usize) -> NodeState {
        self.state[node]
    }

    /// Services running now.
    #[cfg(test)]
    pub fn running(&self) -> usize {
        self.running
    }

    /// The level running services are stopped with (`None` while the run goes on).
    pub fn stop(&self) -> Stop {
        self.stop
    }

    /// The level a front end asked for so far.
    pub fn cancelled(&self) -> Stop {
        self.cancelled
    }

    /// The edges tokens moved along since the last call (workflow edge indices, in order).
    pub fn take_moved(&mut self) -> Vec<usize> {
        std::mem::take(&mut self.moved)
    }

    /// The next thing to do, in file order; start nodes, end nodes and parallel gateways pass
    /// their tokens on the way. `None`: nothing more can happen until something ends (the run
    /// is stopping, `max_parallel` services run, or no node has its tokens).
    pub fn next_action(&mut self) -> Option<Action> {
        let n = self.state.len();
        loop {
            while self.cursor < n {
                let i = self.cursor;
                self.cursor += 1;
                if let Some(a) = self.try_node(i) {
                    self.changed = true;
                    return Some(a);
                }
            }
            self.cursor = 0;
            if !std::mem::take(&mut self.changed) {
                return None;
            }
        }
    }

    /// Whether node `i` can do something now; does it.
    fn try_node(&mut self, i: usize) -> Option<Action> {
        if matches!(self.state[i], NodeState::Running | NodeState::Waiting) {
            if self.retry_due[i] {
                return self.retry(i);
            }
            return None;
        }
        if self.stop > Stop::None {
            return None;
        }
        let kind = self.nodes[i].kind;
        let reused = self.reused[i] && matches!(kind, NodeKind::Service | NodeKind::Timer);
        if kind == NodeKind::Service && !reused && self.running >= self.policy.max_parallel.max(1) {
            return None;
        }
        if !self.consume(i) {
            return None;
        }
        self.changed = true;
        if self.iterations[i] >= self.nodes[i].max_iterations {
            self.state[i] = NodeState::Done(NodeOutcome::Failed);
            self.attempts[i] += 1;
            self.fail(i);
            let max = self.nodes[i].max_iterations;
            return Some(Action::Guard {
                node: i,
                attempt: self.attempt(i),
                reason: format!(
                    "got a token {} times, more than its max_iterations ({max}): a loop did not end",
                    max.saturating_add(1)
                ),
            });
        }
        self.iterations[i] += 1;
        self.try_no[i] = 1;
        self.caught[i] = false;
        if reused {
            self.attempts[i] += 1;
            self.state[i] = NodeState::Running;
            return Some(Action::Reuse(i, self.attempt(i)));
        }
        match kind {
            NodeKind::Start | NodeKind::Parallel => {
                self.state[i] = NodeState::Done(NodeOutcome::Succeeded);
                self.pass_on(i);
                None
            }
            NodeKind::End => {
                self.state[i] = NodeState::Done(NodeOutcome::Succeeded);
                None
            }
            NodeKind::Exclusive => {
                self.state[i] = NodeState::Running;
                Some(Action::Decide {
                    node: i,
                    iteration: self.iterations[i],
                })
            }
            NodeKind::Service => {
                self.attempts[i] += 1;
                self.state[i] = NodeState::Running;
                self.running += 1;
                Some(Action::Start(i, self.attempt(i)))
            }
            NodeKind::Timer => {
                self.attempts[i] += 1;
                self.state[i] = NodeState::Running;
                Some(Action::Wait(i, self.attempt(i)))
            }
        }
    }

    /// Takes the tokens node `i` needs to fire, if they are there.
    fn consume(&mut self, i: usize) -> bool {
        if std::mem::take(&mut self.initial[i]) {
            return true;
        }
        if self.error_tokens[i] > 0 {
            self.error_tokens[i] -= 1;
            return true;
        }
        let inc = &self.incoming[i];
        match self.nodes[i].kind {
            NodeKind::Exclusive | NodeKind::End => {
                match inc.iter().find(|&&e| self.tokens[e] > 0) {
                    Some(&e) => {
                        self.tokens[e] -= 1;
                        true
                    }
                    None => false,
                }
            }
            _ => {
                if inc.is_empty() || inc.iter().any(|&e| self.tokens[e] == 0) {
                    return false;
                }
                for &e in inc {
                    self.tokens[e] -= 1;
                }
                true
            }
        }
    }

    /// A token on every outgoing edge of `i`.
    fn pass_on(&mut self, i: usize) {
        for k in 0..self.outgoing[i].len() {
            let e = self.outgoing[i][k];
            self.tokens[e] += 1;
            self.moved.push(self.edge_ids[e]);
        }
        self.changed = true;
    }

    fn attempt(&self, i: usize) -> Attempt {
        Attempt {
            attempt: self.attempts[i],
            iteration: self.iterations[i],
            try_no: self.try_no[i],
            tries: self.nodes[i].tries,
        }
    }

    /// A `Waiting` node whose backoff is over: its next attempt, or (the run is stopping) the
    /// end of the node with the failure it had.
    fn retry(&mut self, i: usize) -> Option<Action> {
        if self.stop > Stop::None {
            self.retry_due[i] = false;
            self.restarting[i] = false;
            self.state[i] = NodeState::Done(self.last[i]);
            self.changed = true;
            return None;
        }
        if self.running >= self.policy.max_parallel.max(1) {
            return None;
        }
        self.retry_due[i] = false;
        self.attempts[i] += 1;
        if !std::mem::take(&mut self.restarting[i]) {
            self.try_no[i] += 1;
        }
        self.state[i] = NodeState::Running;
        self.running += 1;
        Some(Action::Start(i, self.attempt(i)))
    }

    /// The backoff of `Waiting` node `i` is over (or was cut short by a stop).
    pub fn retry_due(&mut self, i: usize) {
        if self.state[i] == NodeState::Waiting {
            self.retry_due[i] = true;
            self.changed = true;
        }
    }

    /// An exclusive gateway's answer: the workflow edge it takes, or why none (a failure of
    /// the run).
    pub fn decided(&mut self, node: usize, taken: Result<usize, String>) {
        let edge = taken.ok().and_then(|k| {
            self.outgoing[node]
                .iter()
                .copied()
                .find(|&e| self.edge_ids[e] == k)
        });
        match edge {
            Some(e) => {
                self.state[node] = NodeState::Done(NodeOutcome::Succeeded);
                self.tokens[e] += 1;
                self.moved.push(self.edge_ids[e]);
            }
            None => {
                self.state[node] = NodeState::Done(NodeOutcome::Failed);
                self.fail(node);
            }
        }
        self.changed = true;
    }

    /// A step's attempt ended (a started one, or one that failed before its process started);
    /// `error_path`: the path of the node's `errors` that catches the failure's code, if one
    /// does. A failure with tries left is retried; a caught one goes along its error path;
    /// otherwise, while nothing from outside stops the run, it is the run's failure: without
    /// `keep_going` the run stops (running services are cancelled, nothing new starts).
    pub fn finish(
        &mut self,
        node: usize,
        outcome: NodeOutcome,
        error_path: Option<usize>,
    ) -> Finished {
        if self.state[node] == NodeState::Running
            && self.nodes[node].kind == NodeKind::Service
            && !self.reused[node]
        {
            self.running -= 1;
        }
        self.last[node] = outcome;
        self.changed = true;
        let failed = matches!(outcome, NodeOutcome::Failed | NodeOutcome::TimedOut);
        let stopping = self.stop > Stop::None;
        let steer = self.steer[node].take();
        match (steer, outcome) {
            // The restarted attempt is over: the next one starts as soon as a slot is free.
            (Some(Steer::Restart), NodeOutcome::Cancelled) if !stopping => {
                self.state[node] = NodeState::Waiting;
                self.retry_due[node] = true;
                self.restarting[node] = true;
                return Finished::Restart {
                    next: Attempt {
                        attempt: self.attempts[node] + 1,
                        iteration: self.iterations[node],
                        try_no: self.try_no[node],
                        tries: self.nodes[node].tries,
                    },
                };
            }
            // Stopped as cancelled: not a failure; what needs it is skipped at the end.
            (Some(Steer::Stop(StopMark::Cancelled)), NodeOutcome::Cancelled) => {
                self.state[node] = NodeState::Done(outcome);
                if self.interrupted.is_none() && self.cancelled == Stop::None {
                    self.operator_cancelled.get_or_insert(node);
                }
                return Finished::Done;
            }
            _ => {}
        }
        // Stopped as failed: a failure like any other, but never retried.
        let retry = steer != Some(Steer::Stop(StopMark::Failed));
        if outcome == NodeOutcome::Succeeded {
            self.state[node] = NodeState::Done(outcome);
            self.pass_on(node);
            return Finished::Done;
        }
        if failed && !stopping {
            let to = error_path.and_then(|p| Some((p, *self.nodes[node].error_paths.get(p)?)));
            if let Some((path, to)) = to.filter(|&(_, t)| t < self.state.len()) {
                self.state[node] = NodeState::Done(outcome);
                self.caught[node] = true;
                self.error_tokens[to] += 1;
                return Finished::Caught { path, to };
            }
            if retry && self.try_no[node] < self.nodes[node].tries {
                self.state[node] = NodeState::Waiting;
                return Finished::Retry {
                    next: Attempt {
                        attempt: self.attempts[node] + 1,
                        iteration: self.iterations[node],
                        try_no: self.try_no[node] + 1,
                        tries: self.nodes[node].tries,
                    },
                    delay: self.nodes[node].backoff,
                };
            }
        }
        self.state[node] = NodeState::Done(outcome);
        self.fail(node);
        Finished::Done
    }

    /// Node `i` failed outside any attempt (a start node's output mapping): its tokens do not
    /// move, and the run fails.
    pub fn fail_node(&mut self, i: usize) {
        self.initial[i] = false;
        self.state[i] = NodeState::Done(NodeOutcome::Failed);
        self.fail(i);
        self.changed = true;
    }

    /// Node `i` did not succeed: the run's failure unless something from outside stops it.
    fn fail(&mut self, i: usize) {
        if self.interrupted.is_none() && self.cancelled == Stop::None {
            self.first_failure.get_or_insert(i);
            if !self.policy.keep_going {
                self.stop = self.stop.max(Stop::Cancel);
            }
        }
    }

    /// The operator's stop or restart of node `i`. A running service is signalled (the end
    /// of its attempt is decided by `finish`: a stop as cancelled is no failure, a stop as
    /// failed is one that is not retried, a restart starts the next attempt at once); a
    /// service waiting out a retry's backoff ends now (stop: as failed, with the failure it
    /// had, or as cancelled) or retries now (restart). Refused, with the reason, for nodes
    /// that are not services, that do not run, and while the run stops.
    pub fn steer(&mut self, i: usize, what: Steer) -> Result<Steered, String> {
        let id = &self.nodes[i].id;
        if self.nodes[i].kind != NodeKind::Service {
            return Err(format!(
                "`{id}` is not a service: only services can be stopped or restarted"
            ));
        }
        if self.stop > Stop::None {
            return Err(format!("the run is stopping: `{id}` is stopped with it"));
        }
        match self.state[i] {
            NodeState::Running => {
                self.steer[i] = Some(what);
                Ok(Steered::Signal)
            }
            NodeState::Waiting if self.retry_due[i] => {
                Err(format!("`{id}` is about to start its next attempt"))
            }
            NodeState::Waiting => {
                self.changed = true;
                match what {
                    Steer::Restart => {
                        self.retry_due[i] = true;
                        Ok(Steered::RetryNow)
                    }
                    Steer::Stop(StopMark::Cancelled) => {
                        self.state[i] = NodeState::Done(NodeOutcome::Cancelled);
                        if self.interrupted.is_none() && self.cancelled == Stop::None {
                            self.operator_cancelled.get_or_insert(i);
                        }
                        Ok(Steered::Ended(NodeOutcome::Cancelled))
                    }
                    Steer::Stop(StopMark::Failed) => {
                        let outcome = self.last[i];
                        self.state[i] = NodeState::Done(outcome);
                        self.fail(i);
                        Ok(Steered::Ended(outcome))
                    }
                }
            }
            NodeState::Pending => Err(format!("`{id}` has not started")),
            NodeState::Done(o) => Err(format!(
                "`{id}` is not running: it {}",
                match o {
                    NodeOutcome::Skipped => "was skipped".to_string(),
                    o => format!("ended {}", o.as_str()),
                }
            )),
        }
    }

    /// What the operator asked of running node `i`, until its attempt ends.
    pub fn steering(&self, i: usize) -> Option<Steer> {
        self.steer[i]
    }

    /// A front end's cancel command (`Cancel`) or kill (`Kill`).
    pub fn cancel(&mut self, level: Stop) {
        self.cancelled = self.cancelled.max(level);
        self.stop = self.stop.max(level);
    }

    /// A stop signal to wfop: the first cancels the run, a second kills what still runs.
    pub fn interrupt(&mut self, signal: i32) {
        if self.interrupted.is_some() {
            self.stop = Stop::Kill;
        } else {
            self.interrupted = Some(signal);
            self.stop = self.stop.max(Stop::Cancel);
        }
    }

    /// When nothing runs any more: every node that never ran is skipped. Returns the steps
    /// (services and timers) among them, in file order, each with the reason.
    pub fn skip_rest(&mut self) -> Vec<(usize, String)> {
        let n = self.state.len();
        let pending: Vec<bool> = (0..n)
            .map(|i| self.state[i] == NodeState::Pending)
            .collect();
        // Blocked: a predecessor failed (the failure not caught), or is itself a blocked node
        // that never ran.
        let mut blocked = vec![false; n];
        loop {
            let mut grew = false;
            let open: Vec<usize> = (0..n).filter(|&i| pending[i] && !blocked[i]).collect();
            for i in open {
                if !self.failed_preds(i, &pending, &blocked).is_empty() {
                    blocked[i] = true;
                    grew = true;
                }
            }
            if !grew {
                break;
            }
        }
        let mut skipped = Vec::new();
        for i in (0..n).filter(|&i| pending[i]) {
            if matches!(self.nodes[i].kind, NodeKind::Service | NodeKind::Timer) {
                let why = self.skip_reason(i, &pending, &blocked);
                skipped.push((i, why));
            }
        }
        for i in (0..n).filter(|&i| pending[i]) {
            self.state[i] = NodeState::Done(NodeOutcome::Skipped);
        }
        skipped
    }

    fn failed_preds(&self, i: usize, pending: &[bool], blocked: &[bool]) -> Vec<usize> {
        let mut preds: Vec<usize> = Vec::new();
        for &e in &self.incoming[i] {
            let p = self.edges[e].0;
            let failed = matches!(
                self.state[p],
                NodeState::Done(
                    NodeOutcome::Failed | NodeOutcome::TimedOut | NodeOutcome::Cancelled
                )
            ) && !self.caught[p];
            if (failed || (pending[p] && blocked[p])) && !preds.contains(&p) {
                preds.push(p);
            }
        }
        preds
    }

    fn skip_reason(&self, i: usize, pending: &[bool], blocked: &[bool]) -> String {
        if self.interrupted.is_some() {
            return "the run was interrupted".into();
        }
        if self.cancelled > Stop::None {
            return "the run was cancelled".into();
        }
        if let (Some(f), false) = (self.first_failure, self.policy.keep_going) {
            return format!("the run stopped after `{}` failed", self.nodes[f].id);
        }
        // Gateways that never ran are looked through: the reason names steps.
        let mut failed = Vec::new();
        let mut seen = vec![false; self.nodes.len()];
        let mut todo = self.failed_preds(i, pending, blocked);
        while let Some(p) = todo.pop() {
            if std::mem::replace(&mut seen[p], true) {
                continue;
            }
            if pending[p] && !matches!(self.nodes[p].kind, NodeKind::Service | NodeKind::Timer) {
                todo.extend(self.failed_preds(p, pending, blocked));
            } else {
                failed.push(p);
            }
        }
        failed.sort_unstable();
        if !failed.is_empty() {
            let names: Vec<String> = failed
                .iter()
                .map(|&p| format!("`{}`", self.nodes[p].id))
                .collect();
            return format!("needs {}, which did not succeed", names.join(", "));
        }
        "not taken".into()
    }

    /// How the run ended: a signal beats a cancel, which beats a failure.
    pub fn status(&self) -> RunStatus {
        match self.interrupted {
            Some(signal) => RunStatus::Interrupted { signal },
            None if self.cancelled > Stop::None || self.operator_cancelled.is_some() => {
                RunStatus::Cancelled
            }
            None if self.first_failure.is_some() => RunStatus::Failed,
            None => RunStatus::Succeeded,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use NodeOutcome::{Cancelled, Failed, Succeeded};

    /// `nodes` in file order, the kind by name: `start`, `end`, `x…` an exclusive gateway,
    /// `p…` a parallel gateway, `t…` a timer, every other a service; `edges` as `"a>b"` (their
    /// workflow index is their place in the list).
    fn run_with(
        nodes: &str,
        edges: &str,
        max_parallel: usize,
        keep_going: bool,
        tune: impl Fn(&mut NodeSpec),
    ) -> Run {
        let nodes: Vec<NodeSpec> = nodes
            .split_whitespace()
            .map(|id| {
                let kind = match id {
                    "start" => NodeKind::Start,
                    "end" => NodeKind::End,
                    _ if id.starts_with('x') => NodeKind::Exclusive,
                    _ if id.starts_with('p') => NodeKind::Parallel,
                    _ if id.starts_with('t') => NodeKind::Timer,
                    _ => NodeKind::Service,
                };
                let mut spec = NodeSpec::new(id, kind);
                tune(&mut spec);
                spec
            })
            .collect();
        let index = |id: &str| nodes.iter().position(|n| &*n.id == id).unwrap();
        let edges: Vec<(usize, usize, usize)> = edges
            .split_whitespace()
            .enumerate()
            .map(|(k, e)| {
                let (a, b) = e.split_once('>').unwrap();
                (index(a), index(b), k)
            })
            .collect();
        let policy = Policy {
            max_parallel,
            keep_going,
        };
        Run::from_graph(nodes, &edges, policy)
    }

    fn run(nodes: &str, edges: &str, max_parallel: usize, keep_going: bool) -> Run {
        run_with(nodes, edges, max_parallel, keep_going, |_| {})
    }

    /// The steps that start now (services and timers), by id.
    fn starts(r: &mut Run) -> Vec<String> {
        let mut ids = Vec::new();
        while let Some(a) = r.next_action() {
            match a {
                Action::Start(i, _) | Action::Wait(i, _) => ids.push(r.id(i).to_string()),
                other => panic!("unexpected {other:?}"),
            }
        }
        ids
    }

    fn by_id(r: &Run, id: &str) -> usize {
        r.nodes.iter().position(|n| &*n.id == id).unwrap()
    }

    fn end(r: &mut Run, id: &str, outcome: NodeOutcome) -> Finished {
        let i = by_id(r, id);
        assert_eq!(r.state(i), NodeState::Running, "{id} was not running");
        r.finish(i, outcome, None)
    }

    fn skipped(r: &mut Run) -> Vec<(String, String)> {
        r.skip_rest()
            .into_iter()
            .map(|(i, why)| (r.id(i).to_string(), why))
            .collect()
    }

    const DIAMOND: (&str, &str) = ("start a b c d end", "start>a start>b a>c b>d c>end d>end");

    /// Reused steps are taken, not started, whatever `max_parallel` says; the run goes on
    /// from them as from steps that ran.
    #[test]
    fn reused_steps_are_taken_from_the_record_and_count_against_no_limit() {
        let mut r = run("start a b c end", "start>a a>b b>c c>end", 1, false);
        let b = by_id(&r, "b");
        r.reuse(|i| i < b);
        let mut seen = Vec::new();
        while let Some(a) = r.next_action() {
            match a {
                Action::Reuse(i, at) => {
                    assert_eq!(at.attempt, 1);
                    seen.push(format!("reuse {}", r.id(i)));
                    assert_eq!(r.finish(i, Succeeded, None), Finished::Done);
                }
                Action::Start(i, _) => seen.push(format!("start {}", r.id(i))),
                other => panic!("{other:?}"),
            }
        }
        // `start` is not a step: `a` is the only reused one; `b` starts after it.
        assert_eq!(seen, ["reuse a", "start b"]);
        assert_eq!(r.running(), 1);
        end(&mut r, "b", Succeeded);
        assert_eq!(starts(&mut r), ["c"]);
        end(&mut r, "c", Succeeded);
        assert_eq!(r.status(), RunStatus::Succeeded);
    }

    #[test]
    fn a_chain_runs_in_order_and_succeeds() {
        let mut r = run("start a b end", "start>a a>b b>end", 4, false);
        assert_eq!(starts(&mut r), ["a"]);
        end(&mut r, "a", Succeeded);
        assert_eq!(starts(&mut r), ["b"]);
        end(&mut r, "b", Succeeded);
        assert_eq!(starts(&mut r), Vec::<String>::new());
        assert_eq!(r.running(), 0);
        assert!(skipped(&mut r).is_empty());
        assert_eq!(r.status(), RunStatus::Succeeded);
        assert_eq!(r.state(by_id(&r, "end")), NodeState::Done(Succeeded));
    }

    #[test]
    fn max_parallel_is_respected_and_the_next_starts_when_one_ends() {
        let mut r = run(
            "start a b c end",
            "start>a start>b start>c a>end b>end c>end",
            2,
            false,
        );
        assert_eq!(starts(&mut r), ["a", "b"]);
        assert_eq!(r.running(), 2);
        end(&mut r, "b", Succeeded);
        assert_eq!(starts(&mut r), ["c"]);
        // Zero counts as one.
        let mut r = run("start a b end", "start>a start>b a>end b>end", 0, false);
        assert_eq!(starts(&mut r), ["a"]);
    }

    #[test]
    fn ready_nodes_start_in_file_order_sweep_by_sweep() {
        // `b` comes before the start node in the file: the first sweep passes `start` after
        // looking at `b`, so `a` starts first and `b` on the next sweep, as the file order of
        // each sweep has it.
        let mut r = run("b start a end", "start>a start>b a>end b>end", 4, false);
        assert_eq!(starts(&mut r), ["a", "b"]);
    }

    #[test]
    fn fail_fast_cancels_the_running_and_skips_the_rest_naming_the_failure() {
        let (nodes, edges) = DIAMOND;
        let mut r = run(nodes, edges, 4, false);
        assert_eq!(starts(&mut r), ["a", "b"]);
        end(&mut r, "a", Failed);
        assert_eq!(r.stop(), Stop::Cancel);
        assert_eq!(starts(&mut r), Vec::<String>::new());
        // `b` is stopped by the cancel: its end is not a second failure.
        end(&mut r, "b", Cancelled);
        assert_eq!(r.running(), 0);
        let why = "the run stopped after `a` failed".to_string();
        assert_eq!(
            skipped(&mut r),
            [("c".to_string(), why.clone()), ("d".to_string(), why)]
        );
        assert_eq!(r.status(), RunStatus::Failed);
    }

    #[test]
    fn keep_going_runs_the_independent_branch_and_names_the_missing_ones() {
        let (nodes, edges) = DIAMOND;
        let mut r = run(nodes, edges, 4, true);
        assert_eq!(starts(&mut r), ["a", "b"]);
        end(&mut r, "a", Failed);
        assert_eq!(r.stop(), Stop::None);
        assert_eq!(starts(&mut r), Vec::<String>::new());
        end(&mut r, "b", Succeeded);
        assert_eq!(starts(&mut r), ["d"]);
        end(&mut r, "d", Succeeded);
        assert_eq!(starts(&mut r), Vec::<String>::new());
        assert_eq!(
            skipped(&mut r),
            [(
                "c".to_string(),
                "needs `a`, which did not succeed".to_string()
            )]
        );
        // The end node merges: `d`'s token reached it.
        assert_eq!(r.state(by_id(&r, "end")), NodeState::Done(Succeeded));
        assert_eq!(r.status(), RunStatus::Failed);
    }

    #[test]
    fn a_join_names_every_predecessor_that_did_not_succeed() {
        let mut r = run("start a b j end", "start>a start>b a>j b>j j>end", 4, true);
        assert_eq!(starts(&mut r), ["a", "b"]);
        end(&mut r, "a", Failed);
        end(&mut r, "b", NodeOutcome::TimedOut);
        assert_eq!(starts(&mut r), Vec::<String>::new());
        assert_eq!(
            skipped(&mut r),
            [(
                "j".to_string(),
                "needs `a`, `b`, which did not succeed".to_string()
            )]
        );
    }

    #[test]
    fn a_failure_before_the_process_started_stops_the_run_too() {
        let mut r = run("start a b end", "start>a start>b a>end b>end", 4, false);
        let Some(Action::Start(a, _)) = r.next_action() else {
            panic!("a starts")
        };
        // Its input mapping failed: it ends at once, and `b` never starts.
        r.finish(a, Failed, None);
        assert_eq!(r.running(), 0);
        assert_eq!(starts(&mut r), Vec::<String>::new());
        assert_eq!(
            skipped(&mut r),
            [(
                "b".to_string(),
                "the run stopped after `a` failed".to_string()
            )]
        );
    }

    #[test]
    fn cancel_stops_the_running_and_skips_the_pending_as_cancelled() {
        let (nodes, edges) = DIAMOND;
        let mut r = run(nodes, edges, 1, false);
        assert_eq!(starts(&mut r), ["a"]);
        r.cancel(Stop::Cancel);
        assert_eq!((r.stop(), r.cancelled()), (Stop::Cancel, Stop::Cancel));
        end(&mut r, "a", Cancelled);
        assert_eq!(starts(&mut r), Vec::<String>::new());
        let why = "the run was cancelled".to_string();
        let names: Vec<_> = skipped(&mut r)
            .into_iter()
            .map(|(n, w)| (n, w == why))
            .collect();
        assert_eq!(
            names,
            [
                ("b".to_string(), true),
                ("c".to_string(), true),
                ("d".to_string(), true)
            ]
        );
        assert_eq!(r.status(), RunStatus::Cancelled);
        assert_eq!(r.status().exit_code(), 1);
    }

    #[test]
    fn a_cancel_before_anything_started_starts_nothing() {
        let mut r = run("start a end", "start>a a>end", 4, false);
        r.cancel(Stop::Cancel);
        assert_eq!(starts(&mut r), Vec::<String>::new());
        assert_eq!(
            skipped(&mut r),
            [("a".to_string(), "the run was cancelled".to_string())]
        );
        assert_eq!(r.status(), RunStatus::Cancelled);
    }

    #[test]
    fn kill_raises_the_stop_and_it_never_falls() {
        let mut r = run("start a end", "start>a a>end", 4, false);
        starts(&mut r);
        r.cancel(Stop::Kill);
        r.cancel(Stop::Cancel);
        assert_eq!(r.stop(), Stop::Kill);
        // A failure after a cancel is not the run's failure: the status says cancelled.
        end(&mut r, "a", Failed);
        assert_eq!(r.status(), RunStatus::Cancelled);
    }

    #[test]
    fn a_signal_interrupts_and_a_second_one_kills() {
        let mut r = run("start a b end", "start>a a>b b>end", 4, false);
        starts(&mut r);
        r.interrupt(15);
        assert_eq!(r.stop(), Stop::Cancel);
        r.interrupt(2);
        assert_eq!(r.stop(), Stop::Kill);
        end(&mut r, "a", Cancelled);
        assert_eq!(
            skipped(&mut r),
            [("b".to_string(), "the run was interrupted".to_string())]
        );
        // The first signal is the one the run reports; it beats a cancel too.
        r.cancel(Stop::Cancel);
        assert_eq!(r.status(), RunStatus::Interrupted { signal: 15 });
        assert_eq!(r.status().exit_code(), 143);
    }

    #[test]
    fn a_run_without_services_succeeds_at_once() {
        let mut r = run("start end", "start>end", 4, false);
        assert_eq!(starts(&mut r), Vec::<String>::new());
        assert!(skipped(&mut r).is_empty());
        assert_eq!(r.status(), RunStatus::Succeeded);
    }

    /// The actions until none is left, as text: `start a#1.1.1/1` (attempt, iteration, try,
    /// tries), `wait t#…`, `decide x@1`, `guard a: …`.
    fn actions(r: &mut Run) -> Vec<String> {
        let mut out = Vec::new();
        while let Some(a) = r.next_action() {
            out.push(match a {
                Action::Reuse(i, a) => format!("reuse {}#{}", r.id(i), a.attempt),
                Action::Start(i, a) | Action::Wait(i, a) => {
                    let verb = if r.nodes[i].kind == NodeKind::Timer {
                        "wait"
                    } else {
                        "start"
                    };
                    format!(
                        "{verb} {}#{}.{}.{}/{}",
                        r.id(i),
                        a.attempt,
                        a.iteration,
                        a.try_no,
                        a.tries
                    )
                }
                Action::Decide { node, iteration } => format!("decide {}@{iteration}", r.id(node)),
                Action::Guard { node, reason, .. } => format!("guard {}: {reason}", r.id(node)),
            });
        }
        out
    }

    fn decide(r: &mut Run, gateway: &str, edge: Result<usize, String>) {
        let i = by_id(r, gateway);
        assert_eq!(r.state(i), NodeState::Running, "{gateway} was not deciding");
        r.decided(i, edge);
    }

    #[test]
    fn an_exclusive_gateway_takes_one_edge_and_the_other_branch_is_not_taken() {
        let mut r = run("start x a b end", "start>x x>a x>b a>end b>end", 4, false);
        assert_eq!(actions(&mut r), ["decide x@1"]);
        assert_eq!(r.take_moved(), [0]);
        // Edge 2 is `x>b`.
        decide(&mut r, "x", Ok(2));
        assert_eq!(actions(&mut r), ["start b#1.1.1/1"]);
        assert_eq!(r.take_moved(), [2]);
        assert_eq!(end(&mut r, "b", Succeeded), Finished::Done);
        assert_eq!(actions(&mut r), Vec::<String>::new());
        assert_eq!(r.take_moved(), [4]);
        assert_eq!(
            skipped(&mut r),
            [("a".to_string(), "not taken".to_string())]
        );
        assert_eq!(r.status(), RunStatus::Succeeded);
    }

    #[test]
    fn a_gateway_without_a_choice_fails_the_run() {
        let mut r = run("start x a b end", "start>x x>a x>b a>end b>end", 4, false);
        assert_eq!(actions(&mut r), ["decide x@1"]);
        decide(&mut r, "x", Err("no condition is true".into()));
        assert_eq!(r.stop(), Stop::Cancel);
        assert_eq!(actions(&mut r), Vec::<String>::new());
        let why = "the run stopped after `x` failed".to_string();
        assert_eq!(
            skipped(&mut r),
            [("a".to_string(), why.clone()), ("b".to_string(), why)]
        );
        assert_eq!(r.status(), RunStatus::Failed);
    }

    const FORK_JOIN: (&str, &str) = (
        "start p1 a b p2 c end",
        "start>p1 p1>a p1>b a>p2 b>p2 p2>c c>end",
    );

    #[test]
    fn a_parallel_gateway_forks_and_its_join_waits_for_every_branch() {
        let (nodes, edges) = FORK_JOIN;
        let mut r = run(nodes, edges, 4, false);
        assert_eq!(actions(&mut r), ["start a#1.1.1/1", "start b#1.1.1/1"]);
        assert_eq!(r.take_moved(), [0, 1, 2]);
        end(&mut r, "a", Succeeded);
        assert_eq!(actions(&mut r), Vec::<String>::new());
        end(&mut r, "b", Succeeded);
        assert_eq!(actions(&mut r), ["start c#1.1.1/1"]);
        assert_eq!(r.take_moved(), [3, 4, 5]);
        end(&mut r, "c", Succeeded);
        assert_eq!(actions(&mut r), Vec::<String>::new());
        assert!(skipped(&mut r).is_empty());
        assert_eq!(r.status(), RunStatus::Succeeded);
    }

    #[test]
    fn a_join_after_a_failed_branch_waits_in_vain_with_keep_going_and_stops_without() {
        let (nodes, edges) = FORK_JOIN;
        // Keep going: the other branch runs to its end; the join never completes.
        let mut r = run(nodes, edges, 4, true);
        actions(&mut r);
        end(&mut r, "a", Failed);
        assert_eq!(r.stop(), Stop::None);
        end(&mut r, "b", Succeeded);
        assert_eq!(actions(&mut r), Vec::<String>::new());
        assert_eq!(r.state(by_id(&r, "b")), NodeState::Done(Succeeded));
        assert_eq!(
            skipped(&mut r),
            [(
                "c".to_string(),
                "needs `a`, which did not succeed".to_string()
            )]
        );
        assert_eq!(r.status(), RunStatus::Failed);
        // Fail fast: the other branch is cancelled.
        let mut r = run(nodes, edges, 4, false);
        actions(&mut r);
        end(&mut r, "a", Failed);
        assert_eq!(r.stop(), Stop::Cancel);
        end(&mut r, "b", Cancelled);
        assert_eq!(actions(&mut r), Vec::<String>::new());
        assert_eq!(
            skipped(&mut r),
            [(
                "c".to_string(),
                "the run stopped after `a` failed".to_string()
            )]
        );
        assert_eq!(r.status(), RunStatus::Failed);
    }

    /// `start → xm (merge) → s → x`, `x` back to `xm` or on to the end.
    const LOOP: (&str, &str) = ("start xm s x end", "start>xm xm>s s>x x>xm x>end");

    #[test]
    fn a_loop_runs_each_iteration_as_an_attempt_until_the_gateway_leaves_it() {
        let (nodes, edges) = LOOP;
        let mut r = run(nodes, edges, 4, false);
        for it in 1..=3u32 {
            assert_eq!(actions(&mut r), [format!("decide xm@{it}")]);
            decide(&mut r, "xm", Ok(1));
            assert_eq!(actions(&mut r), [format!("start s#{it}.{it}.1/1")]);
            end(&mut r, "s", Succeeded);
            assert_eq!(actions(&mut r), [format!("decide x@{it}")]);
            // Edge 3 loops back, edge 4 leaves.
            decide(&mut r, "x", Ok(if it < 3 { 3 } else { 4 }));
        }
        assert_eq!(actions(&mut r), Vec::<String>::new());
        assert!(skipped(&mut r).is_empty());
        assert_eq!(r.status(), RunStatus::Succeeded);
    }

    #[test]
    fn a_loop_guard_trips_on_the_token_after_max_iterations_and_fails_the_run() {
        let (nodes, edges) = LOOP;
        let mut r = run_with(nodes, edges, 4, false, |n| {
            if &*n.id == "s" {
                n.max_iterations = 2;
            }
        });
        for _ in 0..2 {
            actions(&mut r);
            decide(&mut r, "xm", Ok(1));
            actions(&mut r);
            end(&mut r, "s", Succeeded);
            actions(&mut r);
            decide(&mut r, "x", Ok(3));
        }
        assert_eq!(actions(&mut r), ["decide xm@3"]);
        decide(&mut r, "xm", Ok(1));
        assert_eq!(
            actions(&mut r),
            ["guard s: got a token 3 times, more than its max_iterations (2): a loop did not end"]
        );
        assert_eq!(r.state(by_id(&r, "s")), NodeState::Done(Failed));
        assert_eq!(r.stop(), Stop::Cancel);
        assert_eq!(r.status(), RunStatus::Failed);
    }

    #[test]
    fn a_merge_passes_each_token_and_a_node_runs_one_attempt_at_a_time() {
        let mut r = run(
            "start p a b xm c end",
            "start>p p>a p>b a>xm b>xm xm>c c>end",
            4,
            false,
        );
        assert_eq!(actions(&mut r), ["start a#1.1.1/1", "start b#1.1.1/1"]);
        end(&mut r, "a", Succeeded);
        assert_eq!(actions(&mut r), ["decide xm@1"]);
        decide(&mut r, "xm", Ok(5));
        assert_eq!(actions(&mut r), ["start c#1.1.1/1"]);
        end(&mut r, "b", Succeeded);
        assert_eq!(actions(&mut r), ["decide xm@2"]);
        decide(&mut r, "xm", Ok(5));
        // `c` is still running: the second token waits on its edge.
        assert_eq!(actions(&mut r), Vec::<String>::new());
        end(&mut r, "c", Succeeded);
        assert_eq!(actions(&mut r), ["start c#2.2.1/1"]);
        end(&mut r, "c", Succeeded);
        assert_eq!(actions(&mut r), Vec::<String>::new());
        assert_eq!(r.status(), RunStatus::Succeeded);
    }

    fn flaky(tries: u32) -> Run {
        run_with("start s a end", "start>s s>a a>end", 4, false, move |n| {
            if &*n.id == "s" {
                n.tries = tries;
                n.backoff = Duration::from_millis(250);
            }
        })
    }

    #[test]
    fn a_failed_attempt_is_retried_after_its_backoff_and_may_succeed() {
        let mut r = flaky(3);
        assert_eq!(actions(&mut r), ["start s#1.1.1/3"]);
        let next = Attempt {
            attempt: 2,
            iteration: 1,
            try_no: 2,
            tries: 3,
        };
        assert_eq!(
            end(&mut r, "s", NodeOutcome::TimedOut),
            Finished::Retry {
                next,
                delay: Duration::from_millis(250)
            }
        );
        assert_eq!(r.state(by_id(&r, "s")), NodeState::Waiting);
        assert_eq!(r.stop(), Stop::None);
        assert_eq!(actions(&mut r), Vec::<String>::new());
        r.retry_due(by_id(&r, "s"));
        assert_eq!(actions(&mut r), ["start s#2.1.2/3"]);
        end(&mut r, "s", Succeeded);
        assert_eq!(actions(&mut r), ["start a#1.1.1/1"]);
        end(&mut r, "a", Succeeded);
        assert_eq!(r.status(), RunStatus::Succeeded);
    }

    #[test]
    fn the_last_try_failing_is_the_run_failure() {
        let mut r = flaky(2);
        actions(&mut r);
        assert!(matches!(end(&mut r, "s", Failed), Finished::Retry { .. }));
        r.retry_due(by_id(&r, "s"));
        assert_eq!(actions(&mut r), ["start s#2.1.2/2"]);
        assert_eq!(end(&mut r, "s", Failed), Finished::Done);
        assert_eq!(r.stop(), Stop::Cancel);
        assert_eq!(
            skipped(&mut r),
            [(
                "a".to_string(),
                "the run stopped after `s` failed".to_string()
            )]
        );
        assert_eq!(r.status(), RunStatus::Failed);
    }

    #[test]
    fn a_cancel_during_the_backoff_ends_the_node_without_its_retry() {
        let mut r = flaky(3);
        actions(&mut r);
        end(&mut r, "s", Failed);
        r.cancel(Stop::Cancel);
        // A cancelled attempt is never retried either.
        r.retry_due(by_id(&r, "s"));
        assert_eq!(actions(&mut r), Vec::<String>::new());
        assert_eq!(r.state(by_id(&r, "s")), NodeState::Done(Failed));
        assert_eq!(
            skipped(&mut r),
            [("a".to_string(), "the run was cancelled".to_string())]
        );
        assert_eq!(r.status(), RunStatus::Cancelled);
        let mut r = flaky(3);
        actions(&mut r);
        r.cancel(Stop::Cancel);
        assert_eq!(end(&mut r, "s", Cancelled), Finished::Done);
    }

    #[test]
    fn a_caught_error_goes_along_its_error_path_not_the_normal_edges() {
        let mk = |tries| {
            run_with(
                "start s a h end",
                "start>s s>a a>end h>end",
                4,
                false,
                move |n| {
                    if &*n.id == "s" {
                        n.tries = tries;
                        n.error_paths = vec![3];
                    }
                },
            )
        };
        let mut r = mk(3);
        assert_eq!(actions(&mut r), ["start s#1.1.1/3"]);
        // A caught code is not retried: it goes along its path at once.
        let s = by_id(&r, "s");
        assert_eq!(
            r.finish(s, Failed, Some(0)),
            Finished::Caught { path: 0, to: 3 }
        );
        assert_eq!(r.stop(), Stop::None);
        assert_eq!(actions(&mut r), ["start h#1.1.1/1"]);
        end(&mut r, "h", Succeeded);
        assert_eq!(actions(&mut r), Vec::<String>::new());
        assert_eq!(
            skipped(&mut r),
            [("a".to_string(), "not taken".to_string())]
        );
        assert_eq!(r.status(), RunStatus::Succeeded);
        // Without a path for its code, the failure is retried and then is the run's.
        let mut r = mk(1);
        actions(&mut r);
        assert_eq!(end(&mut r, "s", Failed), Finished::Done);
        assert_eq!(r.status(), RunStatus::Failed);
    }

    #[test]
    fn a_timer_waits_and_a_cancel_during_it_cancels_the_run() {
        let mut r = run("start t a end", "start>t t>a a>end", 4, false);
        assert_eq!(actions(&mut r), ["wait t#1.1.1/1"]);
        // A timer takes no service slot.
        assert_eq!(r.running(), 0);
        end(&mut r, "t", Succeeded);
        assert_eq!(actions(&mut r), ["start a#1.1.1/1"]);
        let mut r = run("start t a end", "start>t t>a a>end", 4, false);
        actions(&mut r);
        r.cancel(Stop::Cancel);
        end(&mut r, "t", Cancelled);
        assert_eq!(actions(&mut r), Vec::<String>::new());
        assert_eq!(
            skipped(&mut r),
            [("a".to_string(), "the run was cancelled".to_string())]
        );
        assert_eq!(r.status(), RunStatus::Cancelled);
    }

    #[test]
    fn a_failed_start_mapping_fails_the_run_before_anything_runs() {
        let mut r = run("start a end", "start>a a>end", 4, false);
        r.fail_node(by_id(&r, "start"));
        assert_eq!(actions(&mut r), Vec::<String>::new());
        assert_eq!(
            skipped(&mut r),
            [(
                "a".to_string(),
                "the run stopped after `start` failed".to_string()
            )]
        );
        assert_eq!(r.status(), RunStatus::Failed);
    }

    // The operator's stop and restart of one node (issue 15).

    fn steer(r: &mut Run, id: &str, what: Steer) -> Result<Steered, String> {
        let i = by_id(r, id);
        r.steer(i, what)
    }

    const STOP_FAILED: Steer = Steer::Stop(StopMark::Failed);
    const STOP_CANCELLED: Steer = Steer::Stop(StopMark::Cancelled);

    #[test]
    fn a_stop_as_cancelled_ends_the_node_not_the_run_and_its_downstream_is_skipped() {
        // `a` feeds `c`; `b` is independent and goes on.
        let (nodes, edges) = DIAMOND;
        let mut r = run(nodes, edges, 4, false);
        assert_eq!(starts(&mut r), ["a", "b"]);
        assert_eq!(steer(&mut r, "a", STOP_CANCELLED), Ok(Steered::Signal));
        assert_eq!(r.steering(by_id(&r, "a")), Some(STOP_CANCELLED));
        // Nothing else is stopped: the run's level stays.
        assert_eq!(r.stop(), Stop::None);
        assert_eq!(end(&mut r, "a", Cancelled), Finished::Done);
        assert_eq!(r.steering(by_id(&r, "a")), None);
        assert_eq!(starts(&mut r), Vec::<String>::new());
        end(&mut r, "b", Succeeded);
        assert_eq!(starts(&mut r), ["d"]);
        end(&mut r, "d", Succeeded);
        assert_eq!(
            skipped(&mut r),
            [(
                "c".to_string(),
                "needs `a`, which did not succeed".to_string()
            )]
        );
        // Not everything ran: the run ends cancelled, not failed.
        assert_eq!(r.status(), RunStatus::Cancelled);
    }

    #[test]
    fn a_stop_as_failed_is_a_failure_fail_fast_or_keep_going_and_is_never_retried() {
        let (nodes, edges) = DIAMOND;
        // Fail fast: the run stops, the sibling is cancelled (not a second failure).
        let mut r = run_with(nodes, edges, 4, false, |n| n.tries = 3);
        assert_eq!(starts(&mut r), ["a", "b"]);
        assert_eq!(steer(&mut r, "a", STOP_FAILED), Ok(Steered::Signal));
        // Tries were left: still not retried.
        assert_eq!(end(&mut r, "a", Failed), Finished::Done);
        assert_eq!(r.stop(), Stop::Cancel);
        end(&mut r, "b", Cancelled);
        assert_eq!(starts(&mut r), Vec::<String>::new());
        assert_eq!(r.status(), RunStatus::Failed);
        assert_eq!(
            skipped(&mut r),
            [
                (
                    "c".to_string(),
                    "the run stopped after `a` failed".to_string()
                ),
                (
                    "d".to_string(),
                    "the run stopped after `a` failed".to_string()
                )
            ]
        );
        // Keep going: the independent branch runs on.
        let mut r = run(nodes, edges, 4, true);
        starts(&mut r);
        steer(&mut r, "a", STOP_FAILED).unwrap();
        end(&mut r, "a", Failed);
        assert_eq!(r.stop(), Stop::None);
        end(&mut r, "b", Succeeded);
        assert_eq!(starts(&mut r), ["d"]);
        end(&mut r, "d", Succeeded);
        assert_eq!(r.status(), RunStatus::Failed);
    }

    #[test]
    fn a_stopped_attempt_that_ended_on_its_own_first_keeps_its_outcome() {
        let mut r = run("start a b end", "start>a a>b b>end", 4, false);
        starts(&mut r);
        steer(&mut r, "a", STOP_CANCELLED).unwrap();
        // It succeeded before the signal: its token moves on.
        end(&mut r, "a", Succeeded);
        assert_eq!(starts(&mut r), ["b"]);
        end(&mut r, "b", Succeeded);
        assert_eq!(r.status(), RunStatus::Succeeded);
    }

    #[test]
    fn a_restart_starts_the_next_attempt_at_once_and_the_downstream_waits_for_it() {
        let mut r = run_with("start s a end", "start>s s>a a>end", 4, false, |n| {
            if &*n.id == "s" {
                n.tries = 2
            }
        });
        assert_eq!(actions(&mut r), ["start s#1.1.1/2"]);
        assert_eq!(steer(&mut r, "s", Steer::Restart), Ok(Steered::Signal));
        let next = Attempt {
            attempt: 2,
            iteration: 1,
            try_no: 1,
            tries: 2,
        };
        assert_eq!(end(&mut r, "s", Cancelled), Finished::Restart { next });
        assert_eq!(r.stop(), Stop::None);
        // A restart is not a try: the try stays 1 of 2.
        assert_eq!(actions(&mut r), ["start s#2.1.1/2"]);
        assert_eq!(r.state(by_id(&r, "a")), NodeState::Pending);
        // Its retry is still there.
        assert!(matches!(end(&mut r, "s", Failed), Finished::Retry { .. }));
        r.retry_due(by_id(&r, "s"));
        assert_eq!(actions(&mut r), ["start s#3.1.2/2"]);
        end(&mut r, "s", Succeeded);
        assert_eq!(actions(&mut r), ["start a#1.1.1/1"]);
        end(&mut r, "a", Succeeded);
        assert_eq!(r.status(), RunStatus::Succeeded);
    }

    #[test]
    fn a_restart_waits_for_a_free_slot_and_a_stop_of_the_run_ends_it() {
        let mut r = run("start s b end", "start>s start>b s>end b>end", 1, false);
        assert_eq!(starts(&mut r), ["s"]);
        steer(&mut r, "s", Steer::Restart).unwrap();
        assert!(matches!(
            end(&mut r, "s", Cancelled),
            Finished::Restart { .. }
        ));
        // The restart comes first in file order: it takes the freed slot.
        assert_eq!(starts(&mut r), ["s"]);
        // A restart during the run's stop is not one: the node ends cancelled.
        steer(&mut r, "s", Steer::Restart).unwrap();
        r.cancel(Stop::Cancel);
        assert_eq!(end(&mut r, "s", Cancelled), Finished::Done);
        assert_eq!(r.state(by_id(&r, "s")), NodeState::Done(Cancelled));
        assert_eq!(r.status(), RunStatus::Cancelled);
    }

    #[test]
    fn in_a_retry_s_backoff_a_restart_retries_now_and_a_stop_ends_the_node() {
        let mut r = flaky(3);
        actions(&mut r);
        end(&mut r, "s", Failed);
        assert_eq!(steer(&mut r, "s", Steer::Restart), Ok(Steered::RetryNow));
        assert_eq!(actions(&mut r), ["start s#2.1.2/3"]);
        // Stopped as failed in the backoff: the failure it had stands, and fails the run.
        end(&mut r, "s", NodeOutcome::TimedOut);
        assert_eq!(
            steer(&mut r, "s", STOP_FAILED),
            Ok(Steered::Ended(NodeOutcome::TimedOut))
        );
        assert_eq!(
            r.state(by_id(&r, "s")),
            NodeState::Done(NodeOutcome::TimedOut)
        );
        assert_eq!(r.stop(), Stop::Cancel);
        assert_eq!(r.status(), RunStatus::Failed);
        // Stopped as cancelled in the backoff: no failure; the run ends cancelled.
        let mut r = flaky(3);
        actions(&mut r);
        end(&mut r, "s", Failed);
        assert_eq!(
            steer(&mut r, "s", STOP_CANCELLED),
            Ok(Steered::Ended(Cancelled))
        );
        assert_eq!(r.stop(), Stop::None);
        // The dropped backoff's end comes to nothing.
        r.retry_due(by_id(&r, "s"));
        assert_eq!(actions(&mut r), Vec::<String>::new());
        assert_eq!(
            skipped(&mut r),
            [(
                "a".to_string(),
                "needs `s`, which did not succeed".to_string()
            )]
        );
        assert_eq!(r.status(), RunStatus::Cancelled);
    }

    #[test]
    fn steering_what_cannot_take_it_is_refused_with_the_reason() {
        let mut r = run(
            "start a t b end",
            "start>a start>t a>b t>end b>end",
            4,
            false,
        );
        starts(&mut r);
        let refused = |r: &mut Run, id: &str, what| steer(r, id, what).unwrap_err();
        assert_eq!(
            refused(&mut r, "t", STOP_FAILED),
            "`t` is not a service: only services can be stopped or restarted"
        );
        assert_eq!(
            refused(&mut r, "start", Steer::Restart),
            "`start` is not a service: only services can be stopped or restarted"
        );
        assert_eq!(refused(&mut r, "b", STOP_FAILED), "`b` has not started");
        end(&mut r, "a", Succeeded);
        assert_eq!(
            refused(&mut r, "a", Steer::Restart),
            "`a` is not running: it ended succeeded"
        );
        starts(&mut r);
        r.cancel(Stop::Cancel);
        assert_eq!(
            refused(&mut r, "b", STOP_CANCELLED),
            "the run is stopping: `b` is stopped with it"
        );
        // Nothing was changed by a refusal.
        assert_eq!(r.steering(by_id(&r, "b")), None);
    }
}
