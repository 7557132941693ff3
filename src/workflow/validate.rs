//! Checks a loaded workflow as a whole: the graph (one start, ends, dangling and duplicate
//! edges, error paths, reachability, cycles only through exclusive gateways, gateway conditions
//! and defaults, joins that can never complete) and the expressions (`$secrets`,
//! `secret_value`, conditions, variables).

use std::collections::{BTreeSet, HashMap, HashSet};

use super::json::Str;
use super::load::kind_phrase;
use super::model::{Expression, MappingRow, Node, NodeKind, SECRETS_ROW, Workflow};
use crate::diag::{Diagnostic, suggestion};
use crate::expr::{self, BinaryOp, Expr, ExprKind};

/// Every finding about the workflow beyond what loading found.
pub fn validate(wf: &Workflow) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    check_id_lengths(wf, &mut out);
    let index = unique_ids(wf, &mut out);
    let edges = check_edges(wf, &index, &mut out);
    let error_flows = check_error_paths(wf, &index, &mut out);
    let all: Vec<(usize, usize)> = edges
        .iter()
        .copied()
        .chain(error_flows.iter().map(|f| (f.from, f.to)))
        .collect();
    let graph = Graph::new(wf.nodes.len(), &all);
    check_start_and_ends(wf, &graph, &mut out);
    check_cycles(wf, &graph, &mut out);
    check_reachability(wf, &graph, &mut out);
    check_gateways(wf, &index, &mut out);
    check_joins(wf, &graph, &edges, &error_flows, &mut out);
    for node in &wf.nodes {
        check_node(wf, node, &mut out);
    }
    check_conditions(wf, &index, &mut out);
    check_variables(wf, &edges, &error_flows, &mut out);
    out
}

/// A service's error path, resolved: node `from`'s `errors[path]` continues at node `to`.
#[derive(Debug, Clone, Copy)]
struct ErrorFlow {
    from: usize,
    path: usize,
    to: usize,
}

/// Outgoing and incoming adjacency over node indices.
struct Graph {
    succ: Vec<Vec<usize>>,
    pred: Vec<Vec<usize>>,
}

impl Graph {
    fn new(n: usize, edges: &[(usize, usize)]) -> Graph {
        let mut succ = vec![Vec::new(); n];
        let mut pred = vec![Vec::new(); n];
        for &(a, b) in edges {
            succ[a].push(b);
            pred[b].push(a);
        }
        Graph { succ, pred }
    }

    /// Nodes reachable from `from` following `next`.
    fn reach(next: &[Vec<usize>], from: impl IntoIterator<Item = usize>) -> Vec<bool> {
        Graph::reach_avoiding(next, from, &[])
    }

    /// Nodes reachable from `from` following `next` without entering the `avoid` nodes.
    fn reach_avoiding(
        next: &[Vec<usize>],
        from: impl IntoIterator<Item = usize>,
        avoid: &[usize],
    ) -> Vec<bool> {
        let mut seen = vec![false; next.len()];
        for &a in avoid {
            seen[a] = true;
        }
        let mut stack: Vec<usize> = from.into_iter().filter(|s| !avoid.contains(s)).collect();
        for &s in &stack {
            seen[s] = true;
        }
        while let Some(i) = stack.pop() {
            for &j in &next[i] {
                if !seen[j] {
                    seen[j] = true;
                    stack.push(j);
                }
            }
        }
        for &a in avoid {
            seen[a] = false;
        }
        seen
    }
}

/// The dominator tree of a graph from a set of starts (Cooper, Harvey and Kennedy's iterative
/// algorithm over a virtual root before the starts): `a` dominates `b` when every path from a
/// start to `b` passes `a` — `b` is reached from the starts, and no longer when `a` is avoided.
/// One question costs O(1), where a search avoiding `a` costs O(nodes + edges).
struct Dominators {
    /// Entry and exit times of each node in a walk of the tree (`usize::MAX`: not reached).
    enter: Vec<usize>,
    exit: Vec<usize>,
}

impl Dominators {
    fn new(graph: &Graph, starts: &[usize]) -> Dominators {
        let n = graph.succ.len();
        let root = n;
        const UNSEEN: usize = usize::MAX;
        // Depth-first postorder from the root (iterative).
        let next = |v: usize| -> &[usize] { if v == root { starts } else { &graph.succ[v] } };
        let mut post = vec![UNSEEN; n + 1];
        let mut order: Vec<usize> = Vec::with_capacity(n + 1);
        let mut seen = vec![false; n + 1];
        let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
        seen[root] = true;
        while let Some(top) = stack.last_mut() {
            let (v, k) = *top;
            if let Some(&w) = next(v).get(k) {
                top.1 += 1;
                if !seen[w] {
                    seen[w] = true;
                    stack.push((w, 0));
                }
            } else {
                post[v] = order.len();
                order.push(v);
                stack.pop();
            }
        }
        let is_start = {
            let mut s = vec![false; n];
            for &v in starts {
                s[v] = true;
            }
            s
        };
        let mut idom = vec![UNSEEN; n + 1];
        idom[root] = root;
        let intersect = |idom: &[usize], mut a: usize, mut b: usize| {
            while a != b {
                while post[a] < post[b] {
                    a = idom[a];
                }
                while post[b] < post[a] {
                    b = idom[b];
                }
            }
            a
        };
        let mut changed = true;
        while changed {
            changed = false;
            // Reverse postorder, the root (last in postorder) left out.
            for &v in order.iter().rev().skip(1) {
                let preds = graph.pred[v]
                    .iter()
                    .copied()
                    .chain(is_start[v].then_some(root));
                let mut new = UNSEEN;
                for p in preds.filter(|&p| idom[p] != UNSEEN) {
                    new = if new == UNSEEN {
                        p
                    } else {
                        intersect(&idom, p, new)
                    };
                }
                if new != idom[v] {
                    idom[v] = new;
                    changed = true;
                }
            }
        }
        // Walk the tree for entry and exit times.
        let mut children: Vec<Vec<usize>> = vec![Vec::new(); n + 1];
        for &v in &order {
            if v != root && idom[v] != UNSEEN {
                children[idom[v]].push(v);
            }
        }
        let mut enter = vec![UNSEEN; n + 1];
        let mut exit = vec![UNSEEN; n + 1];
        let mut clock = 0;
        let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
        enter[root] = clock;
        while let Some(top) = stack.last_mut() {
            let (v, k) = *top;
            if let Some(&w) = children[v].get(k) {
                top.1 += 1;
                clock += 1;
                enter[w] = clock;
                stack.push((w, 0));
            } else {
                exit[v] = clock;
                stack.pop();
            }
        }
        enter.truncate(n);
        exit.truncate(n);
        Dominators { enter, exit }
    }

    /// Every path from a start to `b` passes `a` (also when `a == b`); false when `b` is not
    /// reached from the starts.
    fn dominates(&self, a: usize, b: usize) -> bool {
        let reached = |v: usize| self.enter[v] != usize::MAX;
        reached(a) && reached(b) && self.enter[a] <= self.enter[b] && self.exit[b] <= self.exit[a]
    }

    /// How deep `v` lies in the tree (a larger entry time on one path is deeper).
    fn depth_key(&self, v: usize) -> usize {
        self.enter[v]
    }
}

/// Longest node id, in bytes (ids are ASCII). The id names the node's log file
/// (`<id>.log`) and the TUI's saved log (`wfop-<run>-<id>.log`): both stay far below the
/// 255-byte limit of a file name.
pub const MAX_NODE_ID_LEN: usize = 128;

/// Refuses node ids longer than `MAX_NODE_ID_LEN` (the message does not repeat the id).
fn check_id_lengths(wf: &Workflow, out: &mut Vec<Diagnostic>) {
    for n in wf.nodes.iter().filter(|n| n.id.len() > MAX_NODE_ID_LEN) {
        out.push(Diagnostic::error(
            n.id_span.clone(),
            format!(
                "this node id is {} characters long; at most {MAX_NODE_ID_LEN} are allowed",
                n.id.len()
            ),
            "too long",
        ));
    }
}

fn unique_ids<'w>(wf: &'w Workflow, out: &mut Vec<Diagnostic>) -> HashMap<&'w str, usize> {
    let mut index: HashMap<&str, usize> = HashMap::with_capacity(wf.nodes.len());
    for (i, n) in wf.nodes.iter().enumerate() {
        if let Some(&first) = index.get(n.id.as_str()) {
            out.push(
                Diagnostic::error(
                    n.id_span.clone(),
                    format!("duplicate node id `{}`", n.id),
                    "used again",
                )
                .with_secondary(wf.nodes[first].id_span.clone(), "first used here"),
            );
        } else {
            index.insert(&n.id, i);
        }
    }
    index
}

/// Resolves edges to node indices, reporting dangling, self, duplicate and misdirected edges.
fn check_edges(
    wf: &Workflow,
    index: &HashMap<&str, usize>,
    out: &mut Vec<Diagnostic>,
) -> Vec<(usize, usize)> {
    let mut seen: HashMap<(usize, usize), usize> = HashMap::new();
    let mut edges = Vec::new();
    for (k, e) in wf.edges.iter().enumerate() {
        let resolve = |id: &str, span: &std::ops::Range<usize>, out: &mut Vec<Diagnostic>| {
            match index.get(id) {
                Some(&i) => Some(i),
                None => {
                    let hint = suggestion(id, index.keys().copied());
                    out.push(Diagnostic::error(
                        span.clone(),
                        format!("edge refers to unknown node `{id}`{hint}"),
                        "no node has this id",
                    ));
                    None
                }
            }
        };
        let from = resolve(&e.from, &e.from_span, out);
        let to = resolve(&e.to, &e.to_span, out);
        let (Some(from), Some(to)) = (from, to) else {
            continue;
        };
        if from == to {
            out.push(Diagnostic::error(
                e.span.clone(),
                format!("edge from `{}` to itself", e.from),
                "self-loop",
            ));
            continue;
        }
        if let Some(&first) = seen.get(&(from, to)) {
            out.push(
                Diagnostic::error(
                    e.span.clone(),
                    format!("duplicate edge `{}` → `{}`", e.from, e.to),
                    "duplicate edge",
                )
                .with_secondary(wf.edges[first].span.clone(), "first given here"),
            );
            continue;
        }
        seen.insert((from, to), k);
        if wf.nodes[to].kind == NodeKind::Start {
            out.push(Diagnostic::error(
                e.to_span.clone(),
                format!("edge into the start node `{}`", e.to),
                "a start node has no incoming edges",
            ));
        }
        if wf.nodes[from].kind == NodeKind::End {
            out.push(Diagnostic::error(
                e.from_span.clone(),
                format!("edge out of the end node `{}`", e.from),
                "an end node has no outgoing edges",
            ));
        }
        edges.push((from, to));
    }
    edges
}

/// Resolves every service's error paths, reporting unknown targets, the start node and the
/// service itself as targets.
fn check_error_paths(
    wf: &Workflow,
    index: &HashMap<&str, usize>,
    out: &mut Vec<Diagnostic>,
) -> Vec<ErrorFlow> {
    let mut flows = Vec::new();
    for (from, node) in wf.nodes.iter().enumerate() {
        if index.get(node.id.as_str()) != Some(&from) {
            continue; // a duplicate id, reported
        }
        for (path, e) in node.errors.iter().enumerate() {
            let Some(&to) = index.get(e.to.as_str()) else {
                let hint = suggestion(&e.to, index.keys().copied());
                out.push(Diagnostic::error(
                    e.to_span.clone(),
                    format!("error path to unknown node `{}`{hint}", e.to),
                    "no node has this id",
                ));
                continue;
            };
            if to == from {
                out.push(
                    Diagnostic::error(
                        e.to_span.clone(),
                        format!("error path from `{}` back to itself", e.to),
                        "same node",
                    )
                    .with_note("to try a failing service again, give it `retries`"),
                );
            } else if wf.nodes[to].kind == NodeKind::Start {
                out.push(Diagnostic::error(
                    e.to_span.clone(),
                    format!("error path into the start node `{}`", e.to),
                    "a start node has no incoming edges",
                ));
            } else {
                flows.push(ErrorFlow { from, path, to });
            }
        }
    }
    flows
}

/// A hint in the words of the workflow's own format: JSON's fields, or BPMN's elements.
fn spelled(wf: &Workflow, json: &'static str, bpmn: &'static str) -> &'static str {
    if wf.bpmn.is_some() { bpmn } else { json }
}

fn check_start_and_ends(wf: &Workflow, graph: &Graph, out: &mut Vec<Diagnostic>) {
    if wf.nodes.is_empty() {
        return; // the loader reported the missing or empty `nodes`
    }
    let starts: Vec<&Node> = wf
        .nodes
        .iter()
        .filter(|n| n.kind == NodeKind::Start)
        .collect();
    let whole = 0..1;
    match starts.as_slice() {
        [] => out.push(Diagnostic::error(
            whole.clone(),
            "the workflow has no start node",
            spelled(
                wf,
                "add a node with \"type\": \"start\"",
                "add a startEvent",
            ),
        )),
        [_] => {}
        [first, rest @ ..] => {
            for extra in rest {
                out.push(
                    Diagnostic::error(
                        extra.id_span.clone(),
                        format!(
                            "a second start node `{}`: a workflow has exactly one",
                            extra.id
                        ),
                        "second start",
                    )
                    .with_secondary(first.id_span.clone(), "the first start node"),
                );
            }
        }
    }
    if !wf.nodes.iter().any(|n| n.kind == NodeKind::End) {
        out.push(Diagnostic::error(
            whole,
            "the workflow has no end node",
            spelled(wf, "add a node with \"type\": \"end\"", "add an endEvent"),
        ));
    }
    for (i, n) in wf.nodes.iter().enumerate() {
        if n.kind == NodeKind::Start && graph.succ[i].is_empty() {
            out.push(Diagnostic::error(
                n.id_span.clone(),
                format!("the start node `{}` has no outgoing edge", n.id),
                "leads nowhere",
            ));
        }
    }
}

/// Reports each cycle that avoids every exclusive gateway (one per strongly connected component
/// of the graph without the gateways) by naming its nodes in order. Cycles through an exclusive
/// gateway are loops, which its conditions end.
fn check_cycles(wf: &Workflow, graph: &Graph, out: &mut Vec<Diagnostic>) {
    let exclusive = |v: usize| wf.nodes[v].kind == NodeKind::Exclusive;
    let succ: Vec<Vec<usize>> = graph
        .succ
        .iter()
        .enumerate()
        .map(|(v, next)| {
            if exclusive(v) {
                Vec::new()
            } else {
                next.iter().copied().filter(|&w| !exclusive(w)).collect()
            }
        })
        .collect();
    let comps = strongly_connected(&succ);
    for comp in comps.iter().filter(|c| c.len() > 1) {
        let members: HashSet<usize> = comp.iter().copied().collect();
        let cycle = find_cycle(&succ, &members, comp[0]);
        let names: Vec<&str> = cycle
            .iter()
            .chain(cycle.first())
            .map(|&i| wf.nodes[i].id.as_str())
            .collect();
        let first = &wf.nodes[cycle[0]];
        let mut d = Diagnostic::error(
            first.id_span.clone(),
            format!("cycle without an exclusive gateway: {}", names.join(" → ")),
            "this node is on the cycle",
        )
        .with_note(format!("a loop must pass through an exclusive gateway ({}) whose conditions end it; or remove one of the cycle's edges", spelled(wf, "\"type\": \"exclusive\"", "exclusiveGateway")));
        for &i in cycle.iter().skip(1) {
            d = d.with_secondary(wf.nodes[i].id_span.clone(), "on the cycle");
        }
        out.push(d);
    }
}

/// True for the nodes on some cycle (of the whole graph).
fn on_cycles(succ: &[Vec<usize>]) -> Vec<bool> {
    let mut on = vec![false; succ.len()];
    for comp in strongly_connected(succ) {
        if comp.len() > 1 {
            for v in comp {
                on[v] = true;
            }
        }
    }
    on
}

/// Tarjan's algorithm, iterative (no recursion: graphs may be large).
fn strongly_connected(succ: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let n = succ.len();
    let mut index = vec![usize::MAX; n];
    let mut low = vec![0; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut comps = Vec::new();
    let mut next_index = 0;
    for root in 0..n {
        if index[root] != usize::MAX {
            continue;
        }
        let mut work: Vec<(usize, usize)> = vec![(root, 0)];
        while let Some(&mut (v, ref mut child)) = work.last_mut() {
            if *child == 0 && index[v] == usize::MAX {
                index[v] = next_index;
                low[v] = next_index;
                next_index += 1;
                stack.push(v);
                on_stack[v] = true;
            }
            if let Some(&w) = succ[v].get(*child) {
                *child += 1;
                if index[w] == usize::MAX {
                    work.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            work.pop();
            if let Some(&(parent, _)) = work.last() {
                low[parent] = low[parent].min(low[v]);
            }
            if low[v] == index[v] {
                let mut comp = Vec::new();
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    comp.push(w);
                    if w == v {
                        break;
                    }
                }
                comp.reverse();
                comps.push(comp);
            }
        }
    }
    comps
}

/// A simple cycle through `start` inside one strongly connected component (BFS back to start).
fn find_cycle(succ: &[Vec<usize>], members: &HashSet<usize>, start: usize) -> Vec<usize> {
    let mut parent: HashMap<usize, usize> = HashMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(v) = queue.pop_front() {
        for &w in &succ[v] {
            if !members.contains(&w) {
                continue;
            }
            if w == start {
                let mut path = vec![v];
                let mut cur = v;
                while cur != start {
                    cur = parent[&cur];
                    path.push(cur);
                }
                path.reverse();
                return path;
            }
            if let std::collections::hash_map::Entry::Vacant(e) = parent.entry(w) {
                e.insert(v);
                queue.push_back(w);
            }
        }
    }
    vec![start]
}

fn check_reachability(wf: &Workflow, graph: &Graph, out: &mut Vec<Diagnostic>) {
    let starts = wf
        .nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| n.kind == NodeKind::Start)
        .map(|(i, _)| i);
    let from_start = Graph::reach(&graph.succ, starts);
    let ends = wf
        .nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| n.kind == NodeKind::End)
        .map(|(i, _)| i);
    let to_end = Graph::reach(&graph.pred, ends);
    let has_start = wf.nodes.iter().any(|n| n.kind == NodeKind::Start);
    let has_end = wf.nodes.iter().any(|n| n.kind == NodeKind::End);
    for (i, n) in wf.nodes.iter().enumerate() {
        if has_start && !from_start[i] {
            out.push(Diagnostic::error(
                n.id_span.clone(),
                format!(
                    "node `{}` is unreachable: no path leads to it from the start",
                    n.id
                ),
                "unreachable",
            ));
        }
        if has_end && !to_end[i] && n.kind != NodeKind::Start {
            out.push(Diagnostic::error(
                n.id_span.clone(),
                format!("node `{}` reaches no end node", n.id),
                "no path to an end",
            ));
        }
    }
}

/// Conditions only on the edges out of an exclusive gateway; at most one default there, without
/// a condition; with two or more outgoing edges each has a condition or is the default. A BPMN
/// element wfop does not run (an inclusive or event-based gateway) routes by its own rules,
/// which never apply: its edges are left alone (its `run_only` error says it is not run).
fn check_gateways(wf: &Workflow, index: &HashMap<&str, usize>, out: &mut Vec<Diagnostic>) {
    let mut outgoing: Vec<Vec<usize>> = vec![Vec::new(); wf.nodes.len()];
    for (k, e) in wf.edges.iter().enumerate() {
        let Some(&from) = index.get(e.from.as_str()) else {
            continue;
        };
        let node = &wf.nodes[from];
        if node.unsupported.is_some() {
            continue;
        }
        if node.kind == NodeKind::Exclusive {
            outgoing[from].push(k);
            continue;
        }
        if let Some(c) = &e.condition {
            out.push(
                Diagnostic::error(
                    c.value.span.clone(),
                    format!(
                        "a condition on an edge out of {} `{}`: only the edges out of an exclusive gateway have conditions",
                        kind_phrase(node.kind),
                        node.id
                    ),
                    "not on a gateway's edge",
                )
                .with_note(format!("put an exclusive gateway ({}) where the paths part and give its outgoing edges the conditions", spelled(wf, "\"type\": \"exclusive\"", "exclusiveGateway"))),
            );
        }
        if e.default {
            out.push(Diagnostic::error(
                e.span.clone(),
                format!(
                    "a default edge out of {} `{}`: only an exclusive gateway has a default edge",
                    kind_phrase(node.kind),
                    node.id
                ),
                "not on a gateway's edge",
            ));
        }
    }
    for (g, ks) in outgoing.iter().enumerate().filter(|(_, ks)| !ks.is_empty()) {
        let id = &wf.nodes[g].id;
        let mut first_default: Option<usize> = None;
        for &k in ks {
            let e = &wf.edges[k];
            if !e.default {
                continue;
            }
            if let Some(c) = &e.condition {
                out.push(
                    Diagnostic::error(
                        c.value.span.clone(),
                        format!("the default edge of exclusive gateway `{id}` has a condition"),
                        "the default has no condition",
                    )
                    .with_note("the default edge is taken when no condition is true; remove one of `condition` and `default`"),
                );
            }
            match first_default {
                None => first_default = Some(k),
                Some(first) => out.push(
                    Diagnostic::error(
                        e.span.clone(),
                        format!("exclusive gateway `{id}` has a second default edge"),
                        "second default",
                    )
                    .with_secondary(wf.edges[first].span.clone(), "the first default"),
                ),
            }
        }
        if ks.len() < 2 {
            continue; // a merge: its one edge is always taken
        }
        for &k in ks {
            let e = &wf.edges[k];
            if e.condition.is_none() && !e.default {
                out.push(
                    Diagnostic::error(
                        e.span.clone(),
                        format!(
                            "edge `{id}` → `{}` has no `condition` and is not the `default`: exclusive gateway `{id}` takes one of its {} outgoing edges",
                            e.to,
                            ks.len()
                        ),
                        "no condition",
                    )
                    .with_note("add \"condition\": \"…\" (a FEEL expression), or \"default\": true on the one edge taken when no condition is true"),
                );
            }
        }
    }
}

/// Joins that can never complete. A parallel gateway, service or timer with several incoming
/// edges waits for a token on each; it never gets them all when one can only come after the
/// join itself ran (a loop back into a join), or when they lie on different branches of one
/// choice (an exclusive gateway, or a service's result against its error paths) that only one
/// token passes.
fn check_joins(
    wf: &Workflow,
    graph: &Graph,
    edges: &[(usize, usize)],
    error_flows: &[ErrorFlow],
    out: &mut Vec<Diagnostic>,
) {
    let n = wf.nodes.len();
    let starts: Vec<usize> = (0..n)
        .filter(|&i| wf.nodes[i].kind == NodeKind::Start)
        .collect();
    let from_start = Graph::reach(&graph.succ, starts.iter().copied());
    let mut normal: Vec<Vec<usize>> = vec![Vec::new(); n];
    for &(a, b) in edges {
        normal[a].push(b);
    }
    let joins: Vec<usize> = (0..n)
        .filter(|&j| {
            matches!(
                wf.nodes[j].kind,
                NodeKind::Parallel | NodeKind::Service | NodeKind::Timer
            ) && from_start[j]
                && distinct(&graph.pred[j]).len() >= 2
        })
        .collect();
    if joins.is_empty() {
        return;
    }
    // The choices: their alternatives (target sets), for nodes that see at most one token in a
    // run (on no cycle, and after no fork), so that one alternative is all that ever happens.
    let on_cycle = on_cycles(&graph.succ);
    // "Reached from the start without passing `x`" is `from_start` and not dominated by `x`.
    let dom = Dominators::new(graph, &starts);
    let without = |x: usize, v: usize| from_start[v] && !dom.dominates(x, v);
    let fork_seeds = (0..n)
        .filter(|&v| wf.nodes[v].kind != NodeKind::Exclusive && normal[v].len() >= 2)
        .flat_map(|v| normal[v].iter().copied());
    let after_fork = Graph::reach(&graph.succ, fork_seeds);
    let mut choices: Vec<Choice> = Vec::new();
    for x in (0..n).filter(|&x| from_start[x] && !on_cycle[x] && !after_fork[x]) {
        let alternatives: Vec<Vec<usize>> = match wf.nodes[x].kind {
            NodeKind::Exclusive => normal[x].iter().map(|&t| vec![t]).collect(),
            _ => {
                let errors = error_flows
                    .iter()
                    .filter(|f| f.from == x)
                    .map(|f| vec![f.to]);
                std::iter::once(normal[x].clone()).chain(errors).collect()
            }
        };
        if alternatives.len() >= 2 {
            choices.push(Choice {
                node: x,
                alternatives,
            });
        }
    }
    for j in joins {
        let node = &wf.nodes[j];
        let preds = distinct(&graph.pred[j]);
        let what = match node.kind {
            NodeKind::Parallel => format!("parallel join `{}` can never complete", node.id),
            _ => format!(
                "{} `{}` can never run: it joins its {} incoming edges (waits for a token on each)",
                kind_noun(node.kind),
                node.id,
                preds.len()
            ),
        };
        if let Some(&p) = preds.iter().find(|&&p| from_start[p] && !without(j, p)) {
            out.push(
                Diagnostic::error(
                    node.id_span.clone(),
                    format!("{what}: the token from `{}` can only come after `{}` itself has run", wf.nodes[p].id, node.id),
                    "waits for itself",
                )
                .with_secondary(wf.nodes[p].id_span.clone(), "reached only through the join")
                .with_note("a loop re-enters through an exclusive gateway, which passes on each token: put one before the join"),
            );
            continue;
        }
        // The choices every token to the join passes; only the nearest one (which all the
        // others dominate) can split the join's incoming edges: an earlier one leads to it
        // down one branch, and that branch reaches every incoming edge through it.
        // They all dominate one reached incoming edge, so they lie on one path of the
        // dominator tree: the nearest is the deepest.
        let nearest = choices
            .iter()
            .filter(|c| c.node != j && !preds.iter().any(|&p| p != c.node && without(c.node, p)))
            .max_by_key(|c| dom.depth_key(c.node));
        if let Some(Choice {
            node: x,
            alternatives,
            ..
        }) = nearest
        {
            let x = *x;
            let complete = alternatives.iter().any(|alt| {
                let seeds = alt.iter().copied().filter(|&t| t != j);
                let reached = Graph::reach_avoiding(&graph.succ, seeds, &[j, x]);
                preds
                    .iter()
                    .all(|&p| if p == x { alt.contains(&j) } else { reached[p] })
            });
            if complete {
                continue;
            }
            let chooser = &wf.nodes[x];
            let (why, label) = if chooser.kind == NodeKind::Exclusive {
                (
                    format!(
                        "its incoming edges lie on different branches of exclusive gateway `{}`, which takes only one",
                        chooser.id
                    ),
                    "takes one branch",
                )
            } else {
                (
                    format!(
                        "its incoming edges lie on different outcomes of service `{}` (its result, or one of its error paths), of which only one happens",
                        chooser.id
                    ),
                    "one outcome happens",
                )
            };
            out.push(
                Diagnostic::error(node.id_span.clone(), format!("{what}: {why}"), "never gets all its tokens")
                    .with_secondary(chooser.id_span.clone(), label)
                    .with_note(format!("merge alternative paths with an exclusive gateway ({}), which passes on each token", spelled(wf, "\"type\": \"exclusive\"", "exclusiveGateway"))),
            );
        }
    }
}

/// A node that sends each token down one of its alternatives (target sets).
struct Choice {
    node: usize,
    alternatives: Vec<Vec<usize>>,
}

/// The distinct values of `v`, in order.
fn distinct(v: &[usize]) -> Vec<usize> {
    let mut out: Vec<usize> = Vec::with_capacity(v.len());
    if v.len() <= 16 {
        for &x in v {
            if !out.contains(&x) {
                out.push(x);
            }
        }
    } else {
        // A join of thousands of branches: a set, not a scan per value.
        let mut seen = HashSet::with_capacity(v.len());
        out.extend(v.iter().copied().filter(|&x| seen.insert(x)));
    }
    out
}

/// "service", "timer", … for messages that name a node.
fn kind_noun(kind: NodeKind) -> &'static str {
    match kind {
        NodeKind::Start => "start node",
        NodeKind::Service => "service",
        NodeKind::End => "end node",
        NodeKind::Exclusive => "exclusive gateway",
        NodeKind::Parallel => "parallel gateway",
        NodeKind::Timer => "timer",
    }
}

fn check_node(wf: &Workflow, node: &Node, out: &mut Vec<Diagnostic>) {
    if node.kind == NodeKind::Start {
        for row in node.output_mapping.iter().flatten() {
            check_output_row(row, out);
        }
    }
    if node.kind != NodeKind::Service {
        return;
    }
    // A BPMN task's missing `run` is `bpmn::bind`'s finding (naming the binding to add); a node
    // wfop does not run has its own.
    if node.run.is_none()
        && wf.bpmn.is_none()
        && node.unsupported.is_none()
        && !out
            .iter()
            .any(|d| d.primary.0.start >= node.span.start && d.primary.0.end <= node.span.end)
    {
        out.push(Diagnostic::error(
            node.id_span.clone(),
            format!("service node `{}` has no `run`", node.id),
            "add \"run\": { \"command\": [...] } or { \"python\": \"….py\" }",
        ));
    }
    for row in node.input_mapping.iter().flatten() {
        if row.name == SECRETS_ROW {
            check_secrets_row(wf, node, row, out);
        } else if let Some(e) = &row.expr {
            check_expr(&row.value, e, out);
        }
    }
    let error_rows = node
        .errors
        .iter()
        .flat_map(|p| p.output_mapping.iter().flatten());
    for row in node.output_mapping.iter().flatten().chain(error_rows) {
        check_output_row(row, out);
    }
    check_headers(node, out);
    check_secret_env_names(node, out);
    check_hub_auth(wf, node, out);
    check_executor(node, out);
    if node.secrets_row().is_none() && !node.secrets.is_empty() {
        let span = node
            .secrets_span
            .clone()
            .unwrap_or_else(|| node.id_span.clone());
        out.push(
            Diagnostic::error(
                span,
                format!(
                    "service `{}` declares secrets but its input mapping has no `$secrets` row",
                    node.id
                ),
                "declared here",
            )
            .with_note(format!(
                "add {{ \"name\": \"$secrets\", \"value\": \"{{ {} }}\" }} to input_mapping",
                node.secrets
                    .iter()
                    .map(|(p, _)| format!("\\\"{p}\\\": secret_value(\\\"…\\\")"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        );
    }
}

/// A service's `result_expression` and `error_expression`: the expression checks, and a value
/// that can knowably never be what the engine takes (a context of variables; `bpmnError(…)` or
/// null).
fn check_headers(node: &Node, out: &mut Vec<Diagnostic>) {
    if let Some(x) = &node.result_expression
        && let Some(e) = &x.expr
    {
        check_expr(&x.value, e, out);
        if let Some(what) = non_context(e) {
            out.push(
                Diagnostic::error(
                    x.value.file_span(e.span.start..e.span.end),
                    format!("this result expression is {what}, never a context, so the service would always fail"),
                    "not a context",
                )
                .with_note("a result expression gives a context whose entries become variables, e.g. { status: response.status }"),
            );
        }
    }
    if let Some(x) = &node.error_expression
        && let Some(e) = &x.expr
    {
        check_expr(&x.value, e, out);
        if let Some(what) = non_context(e) {
            out.push(
                Diagnostic::error(
                    x.value.file_span(e.span.start..e.span.end),
                    format!("this error expression is {what}, neither `bpmnError(…)` nor null, so the service would always fail"),
                    "not an error",
                )
                .with_note("an error expression gives bpmnError(\"CODE\", \"message\") to raise an error, or null, e.g. if error != null then bpmnError(\"DOWN\", error.message) else null"),
            );
        }
    }
}

/// What an expression certainly is when that is neither a context nor null, as far as the
/// syntax tells. `None`: it may be one of them.
fn non_context(e: &Expr) -> Option<&'static str> {
    match &e.kind {
        ExprKind::Context(_) | ExprKind::Null => None,
        ExprKind::Bool(_) => Some("a boolean"),
        ExprKind::Binary { rest, .. }
            if rest.first().is_some_and(|o| {
                !matches!(
                    o.op,
                    BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::Pow
                )
            }) =>
        {
            Some("a boolean")
        }
        _ => non_boolean(e),
    }
}

/// A row of an output mapping (a service's, a start node's or an error path's).
fn check_output_row(row: &MappingRow, out: &mut Vec<Diagnostic>) {
    if row.name == SECRETS_ROW {
        out.push(Diagnostic::error(
            row.name_span.clone(),
            "`$secrets` belongs in the input mapping, not the output mapping",
            "not allowed here",
        ));
    } else if let Some(e) = &row.expr {
        check_expr(&row.value, e, out);
    }
}

/// What every expression outside `$secrets` must respect: no `secret_value`, known functions
/// with the right arguments. `value` maps the expression's spans into the file.
fn check_expr(value: &Str, e: &Expr, out: &mut Vec<Diagnostic>) {
    let analysis = expr::analyze(e);
    for span in &analysis.secret_value_calls {
        out.push(
            Diagnostic::error(value.file_span(span.start..span.end), "`secret_value()` may only be used in the `$secrets` row of an input mapping", "not inside `$secrets`")
                .with_note("secrets never become workflow variables; bind them with { \"param\": secret_value(\"name\") } in a `$secrets` row"),
        );
    }
    for (name, span) in &analysis.unknown_calls {
        let known = expr::FUNCTIONS
            .iter()
            .map(|(f, _)| *f)
            .filter(|f| *f != "secret_value");
        let hint = suggestion(name, known.clone());
        out.push(
            Diagnostic::error(
                value.file_span(span.start..span.end),
                format!("unknown function `{name}`{hint}"),
                "not a known function",
            )
            .with_note(format!(
                "the functions are: {}",
                known.collect::<Vec<_>>().join(", ")
            )),
        );
    }
    for err in &analysis.call_errors {
        out.push(Diagnostic::error(
            value.file_span(err.span.start..err.span.end),
            err.message.clone(),
            "here",
        ));
    }
}

/// The conditions of gateway edges: the expression checks, and a condition whose value is
/// knowably not a boolean (it would never be true).
fn check_conditions(wf: &Workflow, index: &HashMap<&str, usize>, out: &mut Vec<Diagnostic>) {
    for e in &wf.edges {
        let Some(c) = &e.condition else { continue };
        let Some(ex) = &c.expr else { continue };
        check_expr(&c.value, ex, out);
        let on_gateway = index
            .get(e.from.as_str())
            .is_some_and(|&g| wf.nodes[g].kind == NodeKind::Exclusive);
        if let (true, Some(what)) = (on_gateway, non_boolean(ex)) {
            out.push(
                Diagnostic::error(
                    c.value.file_span(ex.span.start..ex.span.end),
                    format!("this condition is {what}, never a boolean, so it is never true"),
                    "not a boolean",
                )
                .with_note("a condition is a comparison or a test, e.g. status = \"DONE\", count(items) > 0, is defined(x)"),
            );
        }
    }
}

/// What an expression certainly is when that is not a boolean (null included), as far as the
/// syntax tells: literals, arithmetic, and functions of known result. `None`: it may be one.
fn non_boolean(e: &Expr) -> Option<&'static str> {
    match &e.kind {
        ExprKind::Null => Some("null"),
        ExprKind::Number(_) => Some("a number"),
        ExprKind::String(_) => Some("a string"),
        ExprKind::List(_) => Some("a list"),
        ExprKind::Context(_) => Some("a context"),
        ExprKind::Neg(_) => Some("a negated number"),
        ExprKind::Binary { rest, .. } => match rest.first().map(|o| o.op) {
            Some(BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div) => {
                Some("an arithmetic result")
            }
            _ => None,
        },
        ExprKind::Call { name, .. } => match name.as_str() {
            "string" => Some("a string (the result of `string()`)"),
            "number" | "count" => Some("a number"),
            _ => None,
        },
        _ => None,
    }
}

/// A node's `executor`: none on a hub service (it runs on the hub), and no `tty` on Slurm (a
/// Slurm step has no terminal of wfop's). The run's `--executor slurm` with a `tty` node is
/// the engine's to refuse, at start.
fn check_executor(node: &Node, out: &mut Vec<Diagnostic>) {
    use super::model::{NodeExecutor, Run};
    if node.executor == NodeExecutor::Run {
        return;
    }
    if let Some(Run::Hub(_)) = &node.run {
        out.push(Diagnostic::warning(
            node.id_span.clone(),
            format!(
                "hub service `{}`: `executor` has no effect (the service runs on the hub)",
                node.id
            ),
            "no effect on a hub service",
        ));
        return;
    }
    if node.tty && matches!(node.executor, NodeExecutor::Slurm(_)) {
        out.push(
            Diagnostic::error(
                node.id_span.clone(),
                format!(
                    "service `{}`: `tty` cannot be used with the slurm executor",
                    node.id
                ),
                "tty on Slurm",
            )
            .with_note(
                "a Slurm step has no terminal of wfop's; drop `tty`, or run the node with \"executor\": \"local\"",
            ),
        );
    }
}

/// A hub node's credentials name workflow secrets: names that can be secrets, and, where the
/// workflow declares its secrets, declared ones.
fn check_hub_auth(wf: &Workflow, node: &Node, out: &mut Vec<Diagnostic>) {
    use super::model::{HubAuth, Run};
    let Some(Run::Hub(hub)) = &node.run else {
        return;
    };
    // A hub service runs elsewhere: no terminal, no stdin of wfop's.
    for (set, field) in [(node.tty, "tty"), (node.stdin_open, "stdin")] {
        if set {
            out.push(Diagnostic::warning(
                node.id_span.clone(),
                format!(
                    "hub service `{}`: `{field}` has no effect (the service runs on the hub, not on a terminal or stdin of wfop's)",
                    node.id
                ),
                "no effect on a hub service",
            ));
        }
    }
    let fields: Vec<(&str, &str)> = match &hub.auth {
        HubAuth::None => Vec::new(),
        HubAuth::Bearer { token } => vec![("token", token)],
        HubAuth::ClientCredentials {
            access_key_id,
            secret_access_key,
        } => vec![
            ("access_key_id", access_key_id),
            ("secret_access_key", secret_access_key),
        ],
    };
    // The text may be a pasted value: messages never repeat it.
    for (field, name) in fields {
        if !crate::diag::is_identifier(name) {
            out.push(
                Diagnostic::error(
                    node.id_span.clone(),
                    format!("hub service `{}`: `auth.{field}` must name a workflow secret (letters, digits and `_`, not starting with a digit)", node.id),
                    "not a secret name",
                )
                .with_note("`auth` takes the names of secrets, never their values: { \"token\": \"hub_token\" }"),
            );
        } else if let Some(decls) = &wf.secrets
            && !decls.iter().any(|d| d.name == name)
        {
            let hint = suggestion(name, decls.iter().map(|d| d.name.as_str()));
            out.push(
                Diagnostic::error(
                    node.id_span.clone(),
                    format!("hub service `{}`: `auth.{field}` names a secret the workflow does not declare in its `secrets`{hint}", node.id),
                    "undeclared secret",
                )
                .with_note("hub credentials are workflow secrets: declare them in `secrets`, give them with --secret or at the prompt"),
            );
        }
    }
}

/// Two secret parameters of one service that become the same `SECRET_*` variable
/// (`ibmToken` and `ibm_token`): one value would silently replace the other.
fn check_secret_env_names(node: &Node, out: &mut Vec<Diagnostic>) {
    let mut seen: Vec<(String, &str, &std::ops::Range<usize>)> = Vec::new();
    for (param, span) in &node.secrets {
        let env = super::names::secret_env_name(param);
        if let Some((_, first, first_span)) = seen.iter().find(|(e, _, _)| *e == env) {
            out.push(
                Diagnostic::error(
                    span.clone(),
                    format!(
                        "secret parameters `{first}` and `{param}` of service `{}` both become the environment variable {env}: one value would replace the other",
                        node.id
                    ),
                    format!("also {env}"),
                )
                .with_secondary((*first_span).clone(), format!("becomes {env}"))
                .with_note("rename one of them (and its key in the `$secrets` row)"),
            );
        } else {
            seen.push((env, param, span));
        }
    }
}

fn check_secrets_row(wf: &Workflow, node: &Node, row: &MappingRow, out: &mut Vec<Diagnostic>) {
    if row.expr.is_none() {
        return;
    }
    let bindings = match &node.secret_bindings {
        Ok(b) => b,
        Err(errors) => {
            for err in errors {
                out.push(
                    Diagnostic::error(row.value.file_span(err.span.start..err.span.end), format!("in `$secrets`: {}", err.message), "here")
                        .with_note("`$secrets` must be a context of secret_value calls: { \"param\": secret_value(\"secret_name\") }"),
                );
            }
            return;
        }
    };
    // Text inside a `$secrets` row may be a pasted value: messages name only what the workflow
    // declares elsewhere (parameters, secrets, node ids), never the row's own words.
    let declared: Vec<&str> = node.secrets.iter().map(|(s, _)| s.as_str()).collect();
    for b in bindings {
        if !declared.contains(&b.param.as_str()) {
            let hint = suggestion(&b.param, declared.iter().copied());
            let span = row.value.file_span(b.param_span.start..b.param_span.end);
            let mut d = Diagnostic::error(
                span,
                format!(
                    "`$secrets` binds a parameter that service `{}` does not declare in its `secrets`{hint}",
                    node.id
                ),
                "not declared",
            );
            if let Some(s) = &node.secrets_span {
                d = d.with_secondary(s.clone(), "the node's declared secrets");
            }
            out.push(d);
        }
        let span = row.value.file_span(b.secret_span.start..b.secret_span.end);
        if !crate::diag::is_identifier(&b.secret) {
            out.push(
                Diagnostic::error(
                    span,
                    "the secret name in `secret_value` must be letters, digits and `_`, not starting with a digit",
                    "not a secret name",
                )
                .with_note("secret_value(\"name\") names a workflow secret; the value itself never belongs in a workflow"),
            );
        } else if let Some(decls) = &wf.secrets
            && !decls.iter().any(|d| d.name == b.secret)
        {
            let hint = suggestion(&b.secret, decls.iter().map(|d| d.name.as_str()));
            out.push(Diagnostic::error(
                span,
                format!(
                    "this `secret_value` names a secret the workflow does not declare in its `secrets`{hint}"
                ),
                "undeclared secret",
            ));
        }
    }
    for (param, span) in &node.secrets {
        if !bindings.iter().any(|b| &b.param == param) {
            out.push(
                Diagnostic::error(span.clone(), format!("secret parameter `{param}` of service `{}` is not bound in its `$secrets` row", node.id), "not bound")
                    .with_secondary(row.name_span.clone(), "the `$secrets` row"),
            );
        }
    }
}

/// The variables a service's result headers set when it has no output mapping: its
/// `result_variable` and the keys of a `result_expression` that is a context literal. `None`:
/// no headers (the result's keys merge), or a result expression whose keys the syntax does not
/// tell.
fn header_names(node: &Node) -> Option<Vec<&str>> {
    if node.kind != NodeKind::Service
        || (node.result_variable.is_none() && node.result_expression.is_none())
    {
        return None;
    }
    let mut names: Vec<&str> = node.result_variable.iter().map(String::as_str).collect();
    if let Some(x) = &node.result_expression {
        match x.expr.as_ref().map(|e| &e.kind) {
            Some(ExprKind::Context(entries)) => {
                names.extend(entries.iter().map(|c| c.key.as_str()))
            }
            Some(ExprKind::Null) => {}
            _ => return None,
        }
    }
    Some(names)
}

/// What variables may be set when a token reaches a point of the graph: a set over the names
/// mappings provide, `Unknown` after a service without an output mapping (its result may merge
/// any keys), `Unreached` where no token has come (yet, while the fixpoint runs).
#[derive(Clone, Debug, PartialEq)]
enum Avail {
    Unreached,
    Known(Vec<u64>),
    Unknown,
}

impl Avail {
    /// `self` ∪ `other` (a variable set on any incoming path may be there).
    fn join(&mut self, other: &Avail) {
        match (&mut *self, other) {
            (_, Avail::Unreached) | (Avail::Unknown, _) => {}
            (Avail::Known(a), Avail::Known(b)) => {
                for (x, y) in a.iter_mut().zip(b) {
                    *x |= y;
                }
            }
            (this, other) => *this = other.clone(),
        }
    }

    /// `self` with the bits `bits` set too.
    fn with(&self, bits: impl IntoIterator<Item = usize>) -> Avail {
        match self {
            Avail::Known(set) => {
                let mut set = set.clone();
                for i in bits {
                    set[i / 64] |= 1 << (i % 64);
                }
                Avail::Known(set)
            }
            other => other.clone(),
        }
    }
}

/// Warns about expressions (input mappings, a start node's output mapping, gateway conditions)
/// that read variables nothing can provide. Only where that is knowable: the workflow declares
/// its inputs, and every node upstream maps its outputs. With loops and merges a variable counts
/// as provided when any path to the node provides it.
fn check_variables(
    wf: &Workflow,
    edges: &[(usize, usize)],
    error_flows: &[ErrorFlow],
    out: &mut Vec<Diagnostic>,
) {
    let Some(inputs) = &wf.inputs else { return };
    let n = wf.nodes.len();
    let error_rows = |f: &ErrorFlow| {
        wf.nodes[f.from].errors[f.path]
            .output_mapping
            .iter()
            .flatten()
    };
    let mut names: Vec<&str> = inputs.iter().map(|d| d.name.as_str()).collect();
    for node in &wf.nodes {
        let errors = node
            .errors
            .iter()
            .flat_map(|p| p.output_mapping.iter().flatten());
        names.extend(
            node.output_mapping
                .iter()
                .flatten()
                .chain(errors)
                .map(|r| r.name.as_str()),
        );
        if let Some(set) = header_names(node) {
            names.extend(set);
        }
    }
    names.sort_unstable();
    names.dedup();
    let bit = |name: &str| names.binary_search(&name).ok();
    let bits = |rows: &mut dyn Iterator<Item = &MappingRow>| -> Vec<usize> {
        rows.filter_map(|r| bit(&r.name)).collect()
    };
    let words = names.len().div_ceil(64);
    let base = Avail::Known(vec![0; words]).with(inputs.iter().filter_map(|d| bit(&d.name)));
    // Incoming flows per node: a normal edge carries what its source has after running, an
    // error path what the service had before it, plus the error path's mapping.
    let mut incoming: Vec<Vec<(usize, Option<Vec<usize>>)>> = vec![Vec::new(); n];
    for &(a, b) in edges {
        incoming[b].push((a, None));
    }
    for f in error_flows {
        incoming[f.to].push((f.from, Some(bits(&mut error_rows(f)))));
    }
    let outs: Vec<Vec<usize>> = wf
        .nodes
        .iter()
        .map(|n| match (&n.output_mapping, header_names(n)) {
            (None, Some(set)) => set.into_iter().filter_map(bit).collect(),
            _ => bits(&mut n.output_mapping.iter().flatten()),
        })
        .collect();
    let mut before = vec![Avail::Unreached; n];
    let mut after = vec![Avail::Unreached; n];
    // A fixpoint: the sets only grow, so this ends.
    loop {
        let mut changed = false;
        for v in 0..n {
            let node = &wf.nodes[v];
            let mut avail = if node.kind == NodeKind::Start {
                base.clone()
            } else {
                Avail::Unreached
            };
            for (p, error_bits) in &incoming[v] {
                match error_bits {
                    None => avail.join(&after[*p]),
                    Some(b) => avail.join(&before[*p].with(b.iter().copied())),
                }
            }
            let next = match (&avail, node.kind, &node.output_mapping) {
                (Avail::Unreached, _, _) => Avail::Unreached,
                (_, NodeKind::Service, None) if header_names(node).is_none() => Avail::Unknown,
                (a, _, _) => a.with(outs[v].iter().copied()),
            };
            if avail != before[v] || next != after[v] {
                before[v] = avail;
                after[v] = next;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    let provided = |avail: &Avail, name: &str| match avail {
        Avail::Known(set) => bit(name).is_some_and(|i| set[i / 64] & (1 << (i % 64)) != 0),
        _ => true,
    };
    let mut warn = |avail: &Avail, value: &Str, e: &Expr, local: &BTreeSet<&str>| {
        for (var, span) in expr::analyze(e).free_variables {
            if provided(avail, &var) || local.contains(var.as_str()) {
                continue;
            }
            let avail_names = names.iter().copied().filter(|n| provided(avail, n));
            let hint = suggestion(&var, avail_names.chain(local.iter().copied()));
            out.push(
                Diagnostic::warning(value.file_span(span.start..span.end), format!("`{var}` is not provided by any workflow input or upstream node{hint}"), "evaluates to null")
                    .with_note("a missing variable is null in FEEL; declare it in the workflow's `inputs` or map it from an upstream node's output"),
            );
        }
    };
    for (i, node) in wf.nodes.iter().enumerate() {
        let avail = &before[i];
        if !matches!(avail, Avail::Known(_)) {
            continue;
        }
        let rows = match node.kind {
            NodeKind::Start => node.output_mapping.as_deref(),
            _ => node.input_mapping.as_deref(),
        };
        let mut local: BTreeSet<&str> = BTreeSet::new();
        for row in rows.into_iter().flatten() {
            if row.name == SECRETS_ROW {
                continue;
            }
            if let Some(e) = &row.expr {
                warn(avail, &row.value, e, &local);
            }
            local.insert(row.name.as_str());
        }
        // The result headers read the result as `response`, the error expression the
        // failure as `error`, over the variables the service started with.
        let headers = [
            (&node.result_expression, &["response"][..]),
            (&node.error_expression, &["response", "error"][..]),
        ];
        for (x, readable) in headers {
            if let Some(Expression {
                value,
                expr: Some(e),
            }) = x
            {
                warn(avail, value, e, &readable.iter().copied().collect());
            }
        }
        if node.kind == NodeKind::Exclusive {
            let conditions = wf.edges.iter().filter(|e| e.from == node.id);
            for c in conditions.filter_map(|e| e.condition.as_ref()) {
                if let Some(e) = &c.expr {
                    warn(avail, &c.value, e, &local);
                }
            }
        }
    }
}

#[cfg(test)]
mod dominator_tests {
    use super::{Dominators, Graph};

    /// The dominator tree answers as the searches it replaces: `b` is reached from the starts,
    /// and not when `a` is avoided — on random graphs with cycles, several starts and nodes
    /// nothing reaches.
    #[test]
    fn dominators_agree_with_searches_avoiding_a_node() {
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut rand = move |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        for round in 0..300 {
            let n = 2 + rand(14);
            let edges: Vec<(usize, usize)> = (0..rand(3 * n)).map(|_| (rand(n), rand(n))).collect();
            let graph = Graph::new(n, &edges);
            let starts: Vec<usize> = (0..1 + round % 2).map(|_| rand(n)).collect();
            let dom = Dominators::new(&graph, &starts);
            let reached = Graph::reach(&graph.succ, starts.iter().copied());
            for a in 0..n {
                let without = Graph::reach_avoiding(&graph.succ, starts.iter().copied(), &[a]);
                for b in 0..n {
                    let expected = reached[b] && !without[b];
                    assert_eq!(
                        dom.dominates(a, b),
                        expected,
                        "{a} dominates {b}? edges {edges:?}, starts {starts:?}"
                    );
                }
            }
        }
    }
}
