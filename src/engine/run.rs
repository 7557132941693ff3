//! The decisions of a run, without processes: which node starts next, what a node's end means
//! for the rest, cancel/kill/signals, skips with their reasons, the final status.

use std::sync::Arc;

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

/// The lifecycle of every node of one run. The scheduler asks it what to start, tells it what
/// ended and what came from outside (a front end's cancel, a signal), and sends its `stop()`
/// level to the running services.
#[derive(Debug)]
pub(crate) struct Run {
    ids: Vec<Arc<str>>,
    service: Vec<bool>,
    preds: Vec<Vec<usize>>,
    state: Vec<NodeState>,
    policy: Policy,
    running: usize,
    /// The first node that did not succeed while nothing from outside stopped the run.
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
        let nodes = wf
            .nodes
            .iter()
            .map(|n| (Arc::from(n.id.as_str()), n.kind))
            .collect();
        Run::from_graph(nodes, &wf.edge_indices(), policy)
    }

    /// Nodes in file order (id, kind) and edges as index pairs.
    pub fn from_graph(
        nodes: Vec<(Arc<str>, NodeKind)>,
        edges: &[(usize, usize)],
        policy: Policy,
    ) -> Run {
        let n = nodes.len();
        let mut preds = vec![Vec::new(); n];
        for &(a, b) in edges {
            preds[b].push(a);
        }
        let (ids, kinds): (Vec<_>, Vec<_>) = nodes.into_iter().unzip();
        Run {
            ids,
            service: kinds.iter().map(|k| *k == NodeKind::Service).collect(),
            preds,
            state: vec![NodeState::Pending; n],
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

    pub fn id(&self, node: usize) -> &Arc<str> {
        &self.ids[node]
    }

    #[cfg(test)]
    pub fn state(&self, node: usize) -> NodeState {
        self.state[node]
    }

    /// Services running now.
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

    /// The next service to start, now `Running`, in file order; start and end nodes whose
    /// predecessors succeeded pass on the way. `None`: nothing more can start until a node
    /// ends (the run is stopping, `max_parallel` are running, or nothing is ready).
    pub fn next_start(&mut self) -> Option<usize> {
        let n = self.state.len();
        loop {
            while self.cursor < n {
                let i = self.cursor;
                self.cursor += 1;
                if self.state[i] != NodeState::Pending || !self.preds_succeeded(i) {
                    continue;
                }
                if !self.service[i] {
                    self.state[i] = NodeState::Done(NodeOutcome::Succeeded);
                    self.changed = true;
                    continue;
                }
                if self.stop > Stop::None || self.running >= self.policy.max_parallel.max(1) {
                    continue;
                }
                self.state[i] = NodeState::Running;
                self.running += 1;
                self.changed = true;
                return Some(i);
            }
            self.cursor = 0;
            if !std::mem::take(&mut self.changed) {
                return None;
            }
        }
    }

    fn preds_succeeded(&self, i: usize) -> bool {
        self.preds[i]
            .iter()
            .all(|&p| self.state[p] == NodeState::Done(NodeOutcome::Succeeded))
    }

    /// A node ended (a started one, or one that failed before its process started). A failure
    /// while nothing from outside stops the run is the run's failure: without `keep_going` the
    /// run stops (running services are cancelled, nothing new starts).
    pub fn finish(&mut self, node: usize, outcome: NodeOutcome) {
        if self.state[node] == NodeState::Running {
            self.running -= 1;
        }
        self.state[node] = NodeState::Done(outcome);
        if outcome != NodeOutcome::Succeeded
            && self.interrupted.is_none()
            && self.cancelled == Stop::None
        {
            self.first_failure.get_or_insert(node);
            if !self.policy.keep_going {
                self.stop = self.stop.max(Stop::Cancel);
            }
        }
        // What ends may make others ready, earlier in file order too.
        self.changed = true;
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

    /// When nothing runs any more: every node that never ran is skipped. Returns the services
    /// among them, in file order, each with the reason.
    pub fn skip_rest(&mut self) -> Vec<(usize, String)> {
        let mut skipped = Vec::new();
        for i in 0..self.state.len() {
            if self.state[i] != NodeState::Pending {
                continue;
            }
            self.state[i] = NodeState::Done(NodeOutcome::Skipped);
            if self.service[i] {
                skipped.push((i, self.skip_reason(i)));
            }
        }
        skipped
    }

    fn skip_reason(&self, i: usize) -> String {
        if self.interrupted.is_some() {
            return "the run was interrupted".into();
        }
        if self.cancelled > Stop::None {
            return "the run was cancelled".into();
        }
        if let (Some(f), false) = (self.first_failure, self.policy.keep_going) {
            return format!("the run stopped after `{}` failed", self.ids[f]);
        }
        let failed: Vec<String> = self.preds[i]
            .iter()
            .filter(|&&p| self.state[p] != NodeState::Done(NodeOutcome::Succeeded))
            .map(|&p| format!("`{}`", self.ids[p]))
            .collect();
        format!("needs {}, which did not succeed", failed.join(", "))
    }

    /// How the run ended: a signal beats a cancel, which beats a failed service.
    pub fn status(&self) -> RunStatus {
        let failed = (0..self.state.len())
            .any(|i| self.service[i] && self.state[i] != NodeState::Done(NodeOutcome::Succeeded));
        match self.interrupted {
            Some(signal) => RunStatus::Interrupted { signal },
            None if self.cancelled > Stop::None => RunStatus::Cancelled,
            None if failed => RunStatus::Failed,
            None => RunStatus::Succeeded,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use NodeOutcome::{Cancelled, Failed, Skipped, Succeeded};

    /// `spec`: nodes in file order, `start`/`end` by name, every other a service; `edges` as
    /// `"a>b"`.
    fn run(nodes: &str, edges: &str, max_parallel: usize, keep_going: bool) -> Run {
        let nodes: Vec<(Arc<str>, NodeKind)> = nodes
            .split_whitespace()
            .map(|id| {
                let kind = match id {
                    "start" => NodeKind::Start,
                    "end" => NodeKind::End,
                    _ => NodeKind::Service,
                };
                (Arc::from(id), kind)
            })
            .collect();
        let index = |id: &str| nodes.iter().position(|(n, _)| &**n == id).unwrap();
        let edges: Vec<(usize, usize)> = edges
            .split_whitespace()
            .map(|e| {
                let (a, b) = e.split_once('>').unwrap();
                (index(a), index(b))
            })
            .collect();
        let policy = Policy {
            max_parallel,
            keep_going,
        };
        Run::from_graph(nodes, &edges, policy)
    }

    fn starts(r: &mut Run) -> Vec<String> {
        let started: Vec<usize> = std::iter::from_fn(|| r.next_start()).collect();
        started.iter().map(|&i| r.id(i).to_string()).collect()
    }

    fn by_id(r: &Run, id: &str) -> usize {
        r.ids.iter().position(|n| &**n == id).unwrap()
    }

    fn end(r: &mut Run, id: &str, outcome: NodeOutcome) {
        let i = by_id(r, id);
        assert_eq!(r.state(i), NodeState::Running, "{id} was not running");
        r.finish(i, outcome);
    }

    fn skipped(r: &mut Run) -> Vec<(String, String)> {
        r.skip_rest()
            .into_iter()
            .map(|(i, why)| (r.id(i).to_string(), why))
            .collect()
    }

    const DIAMOND: (&str, &str) = ("start a b c d end", "start>a start>b a>c b>d c>end d>end");

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
        assert_eq!(r.state(by_id(&r, "end")), NodeState::Done(Skipped));
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
        let a = r.next_start().unwrap();
        // Its input mapping failed: it ends at once, and `b` never starts.
        r.finish(a, Failed);
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
}
