//! Checks a loaded workflow as a whole: the graph (one start, ends, dangling and duplicate
//! edges, reachability, cycles) and the mappings (`$secrets`, `secret_value`, variables).

use std::collections::{BTreeSet, HashMap, HashSet};

use super::model::{MappingRow, Node, NodeKind, SECRETS_ROW, Workflow};
use crate::diag::{Diagnostic, suggestion};
use crate::expr;

/// Every finding about the workflow beyond what loading found.
pub fn validate(wf: &Workflow) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    check_id_lengths(wf, &mut out);
    let index = unique_ids(wf, &mut out);
    let edges = check_edges(wf, &index, &mut out);
    let graph = Graph::new(wf.nodes.len(), &edges);
    check_start_and_ends(wf, &graph, &mut out);
    let cyclic = check_cycles(wf, &graph, &mut out);
    check_reachability(wf, &graph, &mut out);
    for node in &wf.nodes {
        check_node(wf, node, &mut out);
    }
    if !cyclic {
        check_variables(wf, &graph, &mut out);
    }
    out
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
        let mut seen = vec![false; next.len()];
        let mut stack: Vec<usize> = from.into_iter().collect();
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
        seen
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
            "add a node with \"type\": \"start\"",
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
            "add a node with \"type\": \"end\"",
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

/// Reports each cycle (one per strongly connected component) by naming its nodes in order.
fn check_cycles(wf: &Workflow, graph: &Graph, out: &mut Vec<Diagnostic>) -> bool {
    let comps = strongly_connected(&graph.succ);
    let mut any = false;
    for comp in comps.iter().filter(|c| c.len() > 1) {
        any = true;
        let members: HashSet<usize> = comp.iter().copied().collect();
        let cycle = find_cycle(&graph.succ, &members, comp[0]);
        let names: Vec<&str> = cycle
            .iter()
            .chain(cycle.first())
            .map(|&i| wf.nodes[i].id.as_str())
            .collect();
        let first = &wf.nodes[cycle[0]];
        let mut d = Diagnostic::error(
            first.id_span.clone(),
            format!("cycle: {}", names.join(" → ")),
            "this node is on a cycle",
        )
        .with_note("workflows are acyclic: remove one of the edges of the cycle");
        for &i in cycle.iter().skip(1) {
            d = d.with_secondary(wf.nodes[i].id_span.clone(), "on the cycle");
        }
        out.push(d);
    }
    any
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

fn check_node(wf: &Workflow, node: &Node, out: &mut Vec<Diagnostic>) {
    if node.kind != NodeKind::Service {
        return;
    }
    if node.run.is_none()
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
    let rows = node.input_mapping.iter().flatten().map(|r| (r, true));
    let out_rows = node.output_mapping.iter().flatten().map(|r| (r, false));
    for (row, is_input) in rows.chain(out_rows) {
        if row.name == SECRETS_ROW && is_input {
            check_secrets_row(wf, node, row, out);
            continue;
        }
        if row.name == SECRETS_ROW {
            out.push(Diagnostic::error(
                row.name_span.clone(),
                "`$secrets` belongs in the input mapping, not the output mapping",
                "not allowed here",
            ));
            continue;
        }
        let Some(e) = &row.expr else { continue };
        let analysis = expr::analyze(e);
        for span in &analysis.secret_value_calls {
            out.push(
                Diagnostic::error(row.value.file_span(span.start..span.end), "`secret_value()` may only be used in the `$secrets` row of an input mapping", "not inside `$secrets`")
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
                    row.value.file_span(span.start..span.end),
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
                row.value.file_span(err.span.start..err.span.end),
                err.message.clone(),
                "here",
            ));
        }
    }
    check_secret_env_names(node, out);
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
    let Some(e) = &row.expr else { return };
    let bindings = match expr::secret_bindings(e) {
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
    for b in &bindings {
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

/// Warns about mapping expressions that read variables nothing can provide. Only where that
/// is knowable: the workflow declares its inputs, and every upstream node maps its outputs.
fn check_variables(wf: &Workflow, graph: &Graph, out: &mut Vec<Diagnostic>) {
    let Some(inputs) = &wf.inputs else { return };
    let n = wf.nodes.len();
    // Kahn's order; the graph is acyclic here.
    let mut indeg: Vec<usize> = graph.pred.iter().map(Vec::len).collect();
    let mut order: Vec<usize> = (0..n).filter(|&i| indeg[i] == 0).collect();
    let mut k = 0;
    while k < order.len() {
        let v = order[k];
        k += 1;
        for &w in &graph.succ[v] {
            indeg[w] -= 1;
            if indeg[w] == 0 {
                order.push(w);
            }
        }
    }
    // Variables available before and after each node runs, as bit sets over every name an
    // input or output mapping provides; `None` where an upstream result is unknown (a service
    // without an output mapping merges whatever its result holds).
    let mut names: Vec<&str> = inputs.iter().map(|d| d.name.as_str()).collect();
    names.extend(
        wf.nodes
            .iter()
            .flat_map(|n| n.output_mapping.iter().flatten().map(|r| r.name.as_str())),
    );
    names.sort_unstable();
    names.dedup();
    let bit = |name: &str| names.binary_search(&name).ok();
    let words = names.len().div_ceil(64);
    let mut base = vec![0u64; words];
    for d in inputs {
        if let Some(i) = bit(&d.name) {
            base[i / 64] |= 1 << (i % 64);
        }
    }
    let mut before: Vec<Option<Vec<u64>>> = vec![None; n];
    let mut after: Vec<Option<Vec<u64>>> = vec![None; n];
    for &v in &order {
        let avail = if graph.pred[v].is_empty() {
            Some(base.clone())
        } else {
            graph.pred[v]
                .iter()
                .try_fold(vec![0u64; words], |mut acc, &p| {
                    for (a, b) in acc.iter_mut().zip(after[p].as_ref()?) {
                        *a |= b;
                    }
                    Some(acc)
                })
        };
        let node = &wf.nodes[v];
        after[v] = match (&avail, node.kind, &node.output_mapping) {
            (Some(_), NodeKind::Service, None) | (None, _, _) => None,
            (Some(set), _, outs) => {
                let mut set = set.clone();
                for i in outs.iter().flatten().filter_map(|r| bit(&r.name)) {
                    set[i / 64] |= 1 << (i % 64);
                }
                Some(set)
            }
        };
        before[v] = avail;
    }
    let provided =
        |set: &[u64], name: &str| bit(name).is_some_and(|i| set[i / 64] & (1 << (i % 64)) != 0);
    for (i, node) in wf.nodes.iter().enumerate() {
        let Some(avail) = &before[i] else { continue };
        let mut local: BTreeSet<&str> = BTreeSet::new();
        for row in node.input_mapping.iter().flatten() {
            if row.name == SECRETS_ROW {
                continue;
            }
            if let Some(e) = &row.expr {
                for (var, span) in expr::analyze(e).free_variables {
                    if !provided(avail, &var) && !local.contains(var.as_str()) {
                        let avail_names = names.iter().copied().filter(|n| provided(avail, n));
                        let hint = suggestion(&var, avail_names.chain(local.iter().copied()));
                        out.push(
                            Diagnostic::warning(row.value.file_span(span.start..span.end), format!("`{var}` is not provided by any workflow input or upstream node{hint}"), "evaluates to null")
                                .with_note("a missing variable is null in FEEL; declare it in the workflow's `inputs` or map it from an upstream node's output"),
                        );
                    }
                }
            }
            local.insert(row.name.as_str());
        }
    }
}
