//! Rerunning a finished run from one node onwards (`wfop run --from NODE --reuse RUN`): which run
//! is reused, which nodes run again and which take their outputs from that run's record.
//!
//! The rules (docs/lifecycle.md, "Rerun from a node"): NODE and every node reachable from it
//! (edges and error paths) run; every other step is reused: it does not run, its recorded
//! result goes through its output mapping again, so the variables it set are set again, and
//! the gateways upstream decide again on them. A reused step must have succeeded in the reused
//! run, or not have been taken there; a step that is neither an ancestor of what runs nor
//! succeeded (an independent branch a fail-fast stop cut short) runs again. NODE inside a loop,
//! or a reused step inside one, is refused: the record keeps only a node's last iteration.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::lifecycle::{NodeOutcome, NodeState, RunState};
use super::record::{self, NodeDoc, RunDoc};
use super::redact::ShownVars;
use crate::workflow::{NodeKind, Workflow};

/// The reason `Run` gives a step that was not taken (run.rs `skip_reason`).
const NOT_TAKEN: &str = "not taken";

#[derive(Debug, thiserror::Error)]
pub enum ReuseError {
    #[error("--from: no node `{node}` in workflow `{workflow}`{suggestion}")]
    UnknownNode {
        node: String,
        workflow: String,
        suggestion: String,
    },
    #[error("--reuse: no run `{0}` (see `wfop runs`)")]
    UnknownRun(String),
    #[error("--from without --reuse: no finished run of workflow `{0}` to reuse (see `wfop runs`)")]
    NoFinishedRun(String),
    #[error("--reuse: run {run} is still running; wait for its end or stop it")]
    StillRunning { run: String },
    #[error("--reuse: run {run} is of workflow `{theirs}`, not `{ours}`")]
    OtherWorkflow {
        run: String,
        theirs: String,
        ours: String,
    },
    #[error("--reuse: cannot read run {run}: {reason}")]
    Unreadable { run: String, reason: String },
    #[error(
        "--reuse: run {run} has no successful outputs of `{node}`, which `{from}` needs: {why}; rerun from `{node}` or earlier"
    )]
    Missing {
        run: String,
        node: String,
        from: String,
        why: String,
    },
    #[error(
        "--reuse: the workflow changed since run {run}: {what}; rerun from an earlier node or run it whole"
    )]
    Changed { run: String, what: String },
    #[error(
        "--from: `{node}` is inside a loop ({cycle}): the record keeps only a loop's last iteration; rerun from a node before the loop{before}"
    )]
    InLoop {
        node: String,
        cycle: String,
        before: String,
    },
    #[error(
        "--from: `{node}`, upstream of `{from}`, is inside a loop ({cycle}): the record keeps only its last iteration's outputs; rerun from a node before that loop"
    )]
    UpstreamLoop {
        node: String,
        from: String,
        cycle: String,
    },
    #[error("--from: `{node}` was not taken in run {run}: nothing reaches it with its outputs")]
    NotTaken { node: String, run: String },
}

/// A rerun from one node, planned against the reused run's record.
#[derive(Debug, Clone)]
pub struct Reuse {
    /// The reused run's id and record folder.
    pub run_id: String,
    pub record: PathBuf,
    /// The node the rerun starts from.
    pub from: String,
    /// By node index: the node runs (else, a step, it is reused).
    pub runs: Vec<bool>,
    /// The reused steps' entries in the reused run's record, by node id.
    pub docs: HashMap<String, NodeDoc>,
    /// The reused steps that succeeded there (their outputs are reused), in file order.
    pub nodes: Vec<String>,
    /// The reused run's inputs, as recorded (redacted).
    pub inputs: ShownVars,
}

impl Reuse {
    /// Whether step `i` is reused (does not run).
    pub fn reused(&self, i: usize) -> bool {
        !self.runs.get(i).copied().unwrap_or(true)
    }
}

/// The record folder `--reuse RUN` names: a folder holding a `run.json`, else a run id (or a
/// unique prefix, or `last`) under `<state>/runs`. Without RUN, the latest finished run of
/// this workflow (the same workflow name).
pub fn find(state_dir: &Path, wf: &Workflow, run: Option<&str>) -> Result<PathBuf, ReuseError> {
    if let Some(run) = run {
        let p = Path::new(run);
        if p.join("run.json").is_file() {
            return Ok(std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf()));
        }
        return record::find_run(state_dir, run).map_err(|_| ReuseError::UnknownRun(run.into()));
    }
    record::list_runs(state_dir)
        .into_iter()
        .rev()
        .find(|r| r.workflow == wf.name && r.status != RunState::Running)
        .map(|r| state_dir.join("runs").join(&r.run_id))
        .ok_or_else(|| ReuseError::NoFinishedRun(wf.name.clone()))
}

/// Plans the rerun of `wf` from node `from` reusing the run recorded in `dir`; every refusal
/// says why in one line (names, never a value).
pub fn plan(wf: &Workflow, dir: &Path, from: &str) -> Result<Reuse, ReuseError> {
    let Some(start) = wf.node_index(from) else {
        return Err(ReuseError::UnknownNode {
            node: from.into(),
            workflow: wf.name.clone(),
            suggestion: crate::diag::suggestion(from, wf.nodes.iter().map(|n| n.id.as_str())),
        });
    };
    let doc = record::read_doc(dir).map_err(|e| ReuseError::Unreadable {
        run: dir.display().to_string(),
        reason: e.to_string(),
    })?;
    let doc = record::settle(dir, doc);
    let run = doc.run_id.clone();
    if doc.status == RunState::Running {
        return Err(ReuseError::StillRunning { run });
    }
    if doc.workflow != wf.name {
        return Err(ReuseError::OtherWorkflow {
            run,
            theirs: doc.workflow,
            ours: wf.name.clone(),
        });
    }
    let g = Graph::of(wf);
    let n = wf.nodes.len();
    if let Some(cycle) = g.cycle_through(start) {
        // The loop's entries from outside it, and the nodes before them.
        let inside = g.strongly_connected(start);
        let mut before: Vec<&str> = Vec::new();
        for &m in inside.iter() {
            for &p in &g.pred[m] {
                if !inside.contains(&p) && !before.contains(&wf.nodes[p].id.as_str()) {
                    before.push(&wf.nodes[p].id);
                }
            }
        }
        let before = if before.is_empty() {
            String::new()
        } else {
            format!(
                ": {}",
                before
                    .iter()
                    .map(|b| format!("`{b}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        return Err(ReuseError::InLoop {
            node: from.into(),
            cycle: g.names(wf, &cycle),
            before,
        });
    }
    let mut runs = g.reachable(&[start]);
    // What the nodes that run wait for: an end node takes any token (a branch that only ends
    // there is not needed by what runs).
    let waiting: Vec<bool> = (0..n)
        .map(|i| runs[i] && wf.nodes[i].kind != NodeKind::End)
        .collect();
    let ancestors: Vec<bool> = g
        .ancestors(&waiting)
        .iter()
        .zip(&runs)
        .map(|(&a, &r)| a && !r)
        .collect();
    let by_id: HashMap<&str, &NodeDoc> = doc.nodes.iter().map(|d| (d.id.as_str(), d)).collect();
    let is_step = |i: usize| matches!(wf.nodes[i].kind, NodeKind::Service | NodeKind::Timer);
    let succeeded = |d: &NodeDoc| d.status == NodeState::Done(NodeOutcome::Succeeded);
    let not_taken = |d: &NodeDoc| {
        d.status == NodeState::Done(NodeOutcome::Skipped) && d.reason.as_deref() == Some(NOT_TAKEN)
    };

    if is_step(start)
        && let Some(d) = by_id.get(from)
        && not_taken(d)
    {
        return Err(ReuseError::NotTaken {
            node: from.into(),
            run,
        });
    }
    // What runs needs: every step before it must have succeeded there (or not been taken).
    for i in (0..n).filter(|&i| ancestors[i] && is_step(i)) {
        let id = wf.nodes[i].id.as_str();
        let Some(d) = by_id.get(id) else {
            return Err(ReuseError::Changed {
                run,
                what: format!("node `{id}` is new (it is not in that run's record)"),
            });
        };
        if let Some(cycle) = g.cycle_through(i) {
            return Err(ReuseError::UpstreamLoop {
                node: id.into(),
                from: from.into(),
                cycle: g.names(wf, &cycle),
            });
        }
        if !succeeded(d) && !not_taken(d) {
            return Err(ReuseError::Missing {
                run,
                node: id.into(),
                from: from.into(),
                why: why_not(d),
            });
        }
    }
    // Steps on branches of their own that did not succeed there run again, with what follows.
    let again: Vec<usize> = (0..n)
        .filter(|&i| !runs[i] && !ancestors[i] && is_step(i))
        .filter(|&i| {
            by_id
                .get(wf.nodes[i].id.as_str())
                .is_none_or(|d| !succeeded(d) && !not_taken(d))
        })
        .collect();
    if !again.is_empty() {
        let more = g.reachable(&again);
        for (r, m) in runs.iter_mut().zip(more) {
            *r |= m;
        }
    }
    check_edges(wf, &doc, &runs)?;
    let mut docs = HashMap::new();
    let mut nodes = Vec::new();
    for i in (0..n).filter(|&i| !runs[i] && is_step(i)) {
        if let Some(d) = by_id.get(wf.nodes[i].id.as_str()) {
            if succeeded(d) {
                nodes.push(d.id.clone());
            }
            docs.insert(d.id.clone(), (*d).clone());
        }
    }
    Ok(Reuse {
        run_id: doc.run_id.clone(),
        record: dir.to_path_buf(),
        from: from.into(),
        runs,
        docs,
        nodes,
        inputs: doc.inputs.clone(),
    })
}

/// What a record entry that is not a success says about it.
fn why_not(d: &NodeDoc) -> String {
    let what = match d.status {
        NodeState::Pending => return "it never ran there".into(),
        NodeState::Running | NodeState::Waiting => "did not finish",
        NodeState::Done(NodeOutcome::Failed) => "failed",
        NodeState::Done(NodeOutcome::TimedOut) => "timed out",
        NodeState::Done(NodeOutcome::Cancelled) => "was cancelled",
        NodeState::Done(NodeOutcome::Skipped) => "was skipped",
        NodeState::Done(NodeOutcome::Succeeded) => "succeeded",
    };
    match &d.reason {
        Some(r) => format!("it {what} there ({})", crate::safe::line(r)),
        None => format!("it {what} there"),
    }
}

/// The graph the reused nodes' outputs were made in must be the one they are reused in: every
/// edge into or out of a reused node is in the reused run's record and the other way round.
fn check_edges(wf: &Workflow, doc: &RunDoc, runs: &[bool]) -> Result<(), ReuseError> {
    if doc.edges.is_empty() {
        // A record written before edges were kept: nothing to compare with.
        return Ok(());
    }
    let reused = |id: &str| wf.node_index(id).is_some_and(|i| !runs[i]);
    let ours: Vec<(String, String)> = edge_list(wf);
    let touches = |(a, b): &(String, String)| reused(a) || reused(b);
    for e in ours.iter().filter(|e| touches(e)) {
        if !doc.edges.contains(e) {
            return Err(ReuseError::Changed {
                run: doc.run_id.clone(),
                what: format!("the edge `{}` → `{}` is new", e.0, e.1),
            });
        }
    }
    for e in doc.edges.iter().filter(|e| touches(e)) {
        if !ours.contains(e) {
            return Err(ReuseError::Changed {
                run: doc.run_id.clone(),
                what: format!("the edge `{}` → `{}` is gone", e.0, e.1),
            });
        }
    }
    Ok(())
}

/// The workflow's edges and error paths as (from, to) node ids, for the record.
pub(crate) fn edge_list(wf: &Workflow) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = wf
        .edges
        .iter()
        .map(|e| (e.from.clone(), e.to.clone()))
        .collect();
    for n in &wf.nodes {
        for e in &n.errors {
            out.push((n.id.clone(), e.to.clone()));
        }
    }
    out
}

/// Successors and predecessors by node index: edges and error paths.
struct Graph {
    succ: Vec<Vec<usize>>,
    pred: Vec<Vec<usize>>,
}

impl Graph {
    fn of(wf: &Workflow) -> Graph {
        let n = wf.nodes.len();
        let mut g = Graph {
            succ: vec![Vec::new(); n],
            pred: vec![Vec::new(); n],
        };
        for (a, b) in edge_list(wf) {
            if let (Some(a), Some(b)) = (wf.node_index(&a), wf.node_index(&b)) {
                g.succ[a].push(b);
                g.pred[b].push(a);
            }
        }
        g
    }

    fn walk(next: &[Vec<usize>], from: &[usize]) -> Vec<bool> {
        let mut seen = vec![false; next.len()];
        let mut todo: Vec<usize> = from.to_vec();
        for &i in from {
            seen[i] = true;
        }
        while let Some(i) = todo.pop() {
            for &j in &next[i] {
                if !std::mem::replace(&mut seen[j], true) {
                    todo.push(j);
                }
            }
        }
        seen
    }

    /// `from` and every node reachable from them.
    fn reachable(&self, from: &[usize]) -> Vec<bool> {
        Graph::walk(&self.succ, from)
    }

    /// Every node outside `set` from which a node of `set` is reachable.
    fn ancestors(&self, set: &[bool]) -> Vec<bool> {
        let members: Vec<usize> = (0..set.len()).filter(|&i| set[i]).collect();
        let mut up = Graph::walk(&self.pred, &members);
        for (u, &s) in up.iter_mut().zip(set) {
            *u &= !s;
        }
        up
    }

    /// The nodes of a shortest cycle through `i` (starting at `i`), if it is on one.
    fn cycle_through(&self, i: usize) -> Option<Vec<usize>> {
        let n = self.succ.len();
        let mut prev = vec![usize::MAX; n];
        let mut queue = std::collections::VecDeque::from([i]);
        while let Some(a) = queue.pop_front() {
            for &b in &self.succ[a] {
                if b == i {
                    let mut path = vec![a];
                    let mut at = a;
                    while at != i {
                        at = prev[at];
                        path.push(at);
                    }
                    path.reverse();
                    return Some(path);
                }
                if prev[b] == usize::MAX {
                    prev[b] = a;
                    queue.push_back(b);
                }
            }
        }
        None
    }

    /// The nodes both reachable from `i` and reaching it (its loop).
    fn strongly_connected(&self, i: usize) -> Vec<usize> {
        let down = Graph::walk(&self.succ, &[i]);
        let up = Graph::walk(&self.pred, &[i]);
        (0..down.len()).filter(|&k| down[k] && up[k]).collect()
    }

    fn names(&self, wf: &Workflow, cycle: &[usize]) -> String {
        let mut names: Vec<&str> = cycle.iter().map(|&k| wf.nodes[k].id.as_str()).collect();
        if let Some(&first) = names.first() {
            names.push(first);
        }
        names.join(" → ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::record::{Record, RunDoc};

    fn workflow(text: &str) -> Workflow {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("w.json");
        std::fs::write(&p, text).unwrap();
        crate::engine::setup::load_workflow(&p, &Default::default())
            .unwrap()
            .0
    }

    fn svc(id: &str) -> String {
        format!(r#"{{"id":"{id}","type":"service","run":{{"command":["true"]}}}}"#)
    }

    /// start → a → b → c → end, and start → p → end (a branch of its own).
    fn chain() -> Workflow {
        let nodes = ["a", "b", "c", "p"].map(svc).join(",");
        workflow(&format!(
            r#"{{"name":"w","nodes":[{{"id":"start","type":"start"}},{nodes},{{"id":"end","type":"end"}}],
            "edges":[{{"from":"start","to":"a"}},{{"from":"a","to":"b"}},{{"from":"b","to":"c"}},
                     {{"from":"c","to":"end"}},{{"from":"start","to":"p"}},{{"from":"p","to":"end"}}]}}"#
        ))
    }

    fn recorded(
        state: &Path,
        wf: &Workflow,
        status: &[(&str, NodeOutcome, Option<&str>)],
    ) -> PathBuf {
        let nodes = status
            .iter()
            .map(|(id, s, reason)| NodeDoc {
                id: id.to_string(),
                label: id.to_string(),
                status: NodeState::Done(*s),
                started: None,
                finished: None,
                duration_ms: None,
                exit_code: None,
                signal: None,
                reason: reason.map(String::from),
                result: Some(serde_json::json!({ "from": id })),
                redactions: Default::default(),
                error_code: None,
                problem: None,
                iterations: 1,
                attempts: Vec::new(),
                files: Vec::new(),
                reused_from: None,
            })
            .collect();
        let doc = RunDoc {
            run_id: "r1".into(),
            workflow: wf.name.clone(),
            workflow_path: "w.json".into(),
            process: None,
            services: None,
            pid: 0,
            pid_start: None,
            status: RunState::Failed,
            exit_code: Some(1),
            signal: None,
            started: "2026-12-02T00:00:00Z".into(),
            finished: Some("2026-12-02T00:00:01Z".into()),
            duration_ms: Some(1),
            inputs: ShownVars::default(),
            nodes,
            error: None,
            variables: None,
            edges: edge_list(wf),
            reused: None,
        };
        Record::create(state, doc).unwrap().dir().to_path_buf()
    }

    use NodeOutcome::{Failed, Skipped, Succeeded};

    #[test]
    fn what_is_reachable_from_the_node_runs_the_rest_is_reused() {
        let wf = chain();
        let state = tempfile::tempdir().unwrap();
        let dir = recorded(
            state.path(),
            &wf,
            &[
                ("a", Succeeded, None),
                ("b", Failed, None),
                ("c", Skipped, None),
                ("p", Succeeded, None),
            ],
        );
        let r = plan(&wf, &dir, "b").unwrap();
        let runs: Vec<&str> = (0..wf.nodes.len())
            .filter(|&i| r.runs[i])
            .map(|i| wf.nodes[i].id.as_str())
            .collect();
        assert_eq!(runs, ["b", "c", "end"]);
        assert_eq!(r.nodes, ["a", "p"]);
        assert_eq!(r.run_id, "r1");
        assert!(r.reused(wf.node_index("a").unwrap()));
    }

    #[test]
    fn an_upstream_node_without_outputs_is_named() {
        let wf = chain();
        let state = tempfile::tempdir().unwrap();
        let dir = recorded(
            state.path(),
            &wf,
            &[
                ("a", Failed, Some("exited with code 1")),
                ("b", Skipped, None),
                ("c", Skipped, None),
                ("p", Succeeded, None),
            ],
        );
        let e = plan(&wf, &dir, "c").unwrap_err().to_string();
        assert!(e.contains("no successful outputs of `a`, which `c` needs: it failed there (exited with code 1)"), "{e}");
    }

    #[test]
    fn a_branch_of_its_own_that_did_not_succeed_runs_again() {
        let wf = chain();
        let state = tempfile::tempdir().unwrap();
        let dir = recorded(
            state.path(),
            &wf,
            &[
                ("a", Succeeded, None),
                ("b", Failed, None),
                ("c", Skipped, None),
                ("p", NodeOutcome::Cancelled, None),
            ],
        );
        let r = plan(&wf, &dir, "b").unwrap();
        assert!(r.runs[wf.node_index("p").unwrap()]);
        assert_eq!(r.nodes, ["a"]);
    }

    #[test]
    fn unknown_nodes_changed_graphs_and_loops_are_refused() {
        let wf = chain();
        let state = tempfile::tempdir().unwrap();
        let all = [
            ("a", Succeeded, None),
            ("b", Succeeded, None),
            ("c", Succeeded, None),
            ("p", Succeeded, None),
        ];
        let dir = recorded(state.path(), &wf, &all);
        let e = plan(&wf, &dir, "bb").unwrap_err().to_string();
        assert!(
            e.contains("no node `bb`") && e.contains("did you mean `b`"),
            "{e}"
        );
        // An edge added before the node: the reused outputs were made without it.
        let nodes = ["a", "b", "c", "p"].map(svc).join(",");
        let changed = workflow(&format!(
            r#"{{"name":"w","nodes":[{{"id":"start","type":"start"}},{nodes},{{"id":"end","type":"end"}}],
            "edges":[{{"from":"start","to":"a"}},{{"from":"a","to":"b"}},{{"from":"b","to":"c"}},
                     {{"from":"c","to":"end"}},{{"from":"start","to":"p"}},{{"from":"p","to":"b"}}]}}"#
        ));
        let e = plan(&changed, &dir, "c").unwrap_err().to_string();
        assert!(
            e.contains("the workflow changed since run r1: the edge `p` → `b` is new"),
            "{e}"
        );
        // A loop: a → x → a.
        let looped = workflow(&format!(
            r#"{{"name":"w","nodes":[{{"id":"start","type":"start"}},{{"id":"m","type":"exclusive"}},{},{},{{"id":"x","type":"exclusive"}},{{"id":"end","type":"end"}}],
            "edges":[{{"from":"start","to":"m"}},{{"from":"m","to":"a"}},{{"from":"a","to":"b"}},{{"from":"b","to":"x"}},
                     {{"from":"x","to":"m","condition":"false"}},{{"from":"x","to":"end","default":true}}]}}"#,
            svc("a"),
            svc("b")
        ));
        let e = plan(&looped, &dir, "b").unwrap_err().to_string();
        assert!(
            e.contains("`b` is inside a loop (b → x → m → a → b)")
                && e.contains("before the loop: `start`"),
            "{e}"
        );
        let other = workflow(
            r#"{"name":"other","nodes":[{"id":"start","type":"start"},{"id":"end","type":"end"}],"edges":[{"from":"start","to":"end"}]}"#,
        );
        let e = plan(&other, &dir, "end").unwrap_err().to_string();
        assert!(e.contains("run r1 is of workflow `w`, not `other`"), "{e}");
    }

    #[test]
    fn finding_the_run_by_id_path_or_the_latest_of_the_workflow() {
        let wf = chain();
        let state = tempfile::tempdir().unwrap();
        let dir = recorded(state.path(), &wf, &[]);
        assert_eq!(find(state.path(), &wf, Some("r1")).unwrap(), dir);
        assert_eq!(find(state.path(), &wf, None).unwrap(), dir);
        assert_eq!(
            find(state.path(), &wf, Some(dir.to_str().unwrap())).unwrap(),
            dir
        );
        let e = find(state.path(), &wf, Some("nope"))
            .unwrap_err()
            .to_string();
        assert_eq!(e, "--reuse: no run `nope` (see `wfop runs`)");
        let empty = tempfile::tempdir().unwrap();
        let e = find(empty.path(), &wf, None).unwrap_err().to_string();
        assert!(e.contains("no finished run of workflow `w`"), "{e}");
    }
}
