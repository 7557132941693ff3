//! Sequence flows → edges (name → label, conditionExpression → condition, the gateway's
//! `default=` → default); error boundary events → the task's error paths; and the merges
//! BPMN leaves implicit (a task with several incoming flows runs once per token) made explicit.

use std::collections::{HashMap, HashSet};

use roxmltree::Node as XNode;

use super::super::BPMN_NS;
use super::nodes::{self, Parts};
use super::{Cx, xml, zeebe};
use crate::workflow::json::{Span, Str};
use crate::workflow::model::{Edge, ErrorPath, Expression, MappingRow, Node, NodeKind};

/// The code of a catch-all error boundary (one without an `errorRef`).
pub use crate::workflow::model::CATCH_ALL;

/// A `sequenceFlow`.
pub struct Flow {
    pub id: String,
    pub source: Option<Str>,
    pub target: Option<Str>,
    pub label: Option<String>,
    pub condition: Option<Expression>,
    pub span: Span,
}

pub fn flow(cx: &mut Cx, el: XNode, id: &Str) -> Flow {
    let source = cx.required(el, "sourceRef");
    let target = cx.required(el, "targetRef");
    Flow {
        id: id.text.clone(),
        source,
        target,
        label: el
            .attribute("name")
            .filter(|n| !n.trim().is_empty())
            .map(str::to_string),
        condition: nodes::condition(cx, el),
        span: el.range(),
    }
}

/// A `boundaryEvent` with an `errorEventDefinition`.
pub struct Boundary {
    pub id: String,
    pub attached: Option<Str>,
    /// The definition's `errorRef`; `None`: it catches every error.
    pub error_ref: Option<Str>,
    /// Where the definition is (for a catch-all's message).
    pub definition: Span,
    pub output_mapping: Option<Vec<MappingRow>>,
    pub span: Span,
    /// Its start tag, where findings about it point.
    pub tag: Span,
}

/// An error boundary event; `Err`: why another kind of boundary event is not run.
pub fn boundary(cx: &mut Cx, el: XNode, id: &Str) -> Result<Boundary, String> {
    let defs: Vec<XNode> = el
        .children()
        .filter(|c| xml::in_ns(*c, BPMN_NS) && c.tag_name().name().ends_with("EventDefinition"))
        .collect();
    let def = match defs.as_slice() {
        [d] if d.tag_name().name() == "errorEventDefinition" => *d,
        [] => return Err("a boundary event without an event definition catches nothing".into()),
        [d] => {
            return Err(format!(
                "a boundary event that waits for {} is not run; only error boundary events are (they become the task's error paths)",
                nodes::event_word(d.tag_name().name())
            ));
        }
        _ => return Err("a boundary event with several event definitions is not run".into()),
    };
    Ok(Boundary {
        id: id.text.clone(),
        attached: cx.required(el, "attachedToRef"),
        error_ref: cx
            .attr(def, "errorRef")
            .filter(|r| !r.text.trim().is_empty()),
        definition: cx.tag(def),
        output_mapping: zeebe::boundary_outputs(cx, el, &id.text),
        span: el.range(),
        tag: cx.tag(el),
    })
}

/// The file's `error` elements: id → `errorCode` (absent or blank: `None`).
pub fn error_codes(cx: &Cx, root: XNode) -> HashMap<String, Option<Str>> {
    xml::children(root, BPMN_NS, "error")
        .filter_map(|e| {
            let id = e.attribute("id")?.to_string();
            let code = cx
                .attr(e, "errorCode")
                .filter(|c| !c.text.trim().is_empty());
            Some((id, code))
        })
        .collect()
}

/// Each error boundary event → an error path of the task it is attached to, continuing where
/// the event's one outgoing flow leads (that flow is no edge).
pub fn attach_boundaries(cx: &mut Cx, parts: &mut Parts, errors: &HashMap<String, Option<Str>>) {
    let boundary_ids: HashSet<&str> = parts.boundaries.iter().map(|b| b.id.as_str()).collect();
    // The flows out of each boundary event, in document order; the others stay flows.
    let mut out_of: HashMap<String, Vec<Flow>> = HashMap::new();
    let mut rest = Vec::with_capacity(parts.flows.len());
    for f in std::mem::take(&mut parts.flows) {
        match f
            .source
            .as_ref()
            .filter(|s| boundary_ids.contains(s.text.as_str()))
        {
            Some(s) => out_of.entry(s.text.clone()).or_default().push(f),
            None => rest.push(f),
        }
    }
    parts.flows = rest;
    let mut index: HashMap<String, usize> = HashMap::new();
    for (i, n) in parts.nodes.iter().enumerate() {
        index.entry(n.id.clone()).or_insert(i);
    }
    for b in std::mem::take(&mut parts.boundaries) {
        let outgoing = out_of.remove(&b.id).unwrap_or_default();
        let Some(attached) = &b.attached else {
            continue;
        };
        let Some(node) = index.get(&attached.text).map(|&i| &mut parts.nodes[i]) else {
            cx.error(
                attached.span.clone(),
                format!("error boundary event `{}` is attached to `{}`, which is no task of this process", b.id, attached.text),
                "no such task",
            );
            continue;
        };
        if node.kind != NodeKind::Service {
            cx.error(
                attached.span.clone(),
                format!(
                    "error boundary event `{}` is attached to `{}`, which is not a task",
                    b.id, node.id
                ),
                "not a task",
            );
            continue;
        }
        let (code, code_span) = match &b.error_ref {
            // Without an errorRef it catches every error: the catch-all path.
            None => (CATCH_ALL.to_string(), b.definition.clone()),
            Some(r) => match errors.get(r.text.trim()) {
                None => {
                    cx.error(
                        r.span.clone(),
                        format!("errorRef `{}` names no `error` element of the file", r.text),
                        "no such error",
                    );
                    continue;
                }
                Some(None) => {
                    cx.error(
                        r.span.clone(),
                        format!("error `{}` has no errorCode, so nothing raises it", r.text),
                        "no errorCode",
                    );
                    continue;
                }
                Some(Some(c)) => {
                    if c.text.trim_start().starts_with('=') {
                        cx.run_only(
                            c.span.clone(),
                            "an errorCode computed by an expression is not supported; give the code itself",
                            "expression",
                        );
                    }
                    (c.text.trim().to_string(), r.span.clone())
                }
            },
        };
        let mut flows = outgoing.into_iter();
        let Some(first) = flows.next() else {
            cx.run_only(
                b.tag.clone(),
                format!("error boundary event `{}` has no outgoing flow: where does the run go on after the error?", b.id),
                "leads nowhere",
            );
            continue;
        };
        for extra in flows {
            cx.error(
                extra.span.clone(),
                format!("error boundary event `{}` has a second outgoing flow; wfop follows one (put a parallel gateway after it to fork)", b.id),
                "second flow",
            );
        }
        let Some(target) = first.target else { continue };
        if let Some(c) = &first.condition {
            cx.error(
                c.value.span.clone(),
                "a condition on a flow out of a boundary event is not supported",
                "not here",
            );
        }
        if let Some(p) = node.errors.iter().find(|p| p.code == code) {
            let d = crate::diag::Diagnostic::error(
                code_span.clone(),
                format!("error code `{code}` is caught twice on `{}`", node.id),
                "caught again",
            )
            .with_secondary(p.code_span.clone(), "first caught here");
            cx.diags.push(d);
            continue;
        }
        node.errors.push(ErrorPath {
            code,
            code_span,
            to: target.text.clone(),
            to_span: target.span.clone(),
            output_mapping: b.output_mapping,
            span: b.span,
        });
    }
}

/// The flows as edges (document order, which is the order an exclusive gateway tries its
/// conditions in), the gateways' default flows marked.
pub fn edges(cx: &mut Cx, parts: Parts) -> (Vec<Node>, Vec<Edge>) {
    let Parts {
        nodes,
        flows,
        defaults,
        attached,
        ..
    } = parts;
    let mut edges: Vec<(String, Edge)> = flows
        .into_iter()
        .filter_map(|f| {
            let (from, to) = (f.source?, f.target?);
            Some((
                f.id,
                Edge {
                    from: from.text,
                    from_span: from.span,
                    to: to.text,
                    to_span: to.span,
                    condition: f.condition,
                    default: false,
                    label: f.label,
                    span: f.span,
                },
            ))
        })
        .collect();
    let mut by_id: HashMap<String, usize> = HashMap::new();
    for (k, (id, _)) in edges.iter().enumerate() {
        by_id.entry(id.clone()).or_insert(k);
    }
    for (gateway, flow) in defaults {
        match by_id.get(&flow.text).map(|&k| &mut edges[k]) {
            Some((_, e)) if e.from == gateway => e.default = true,
            Some(_) => cx.error(
                flow.span.clone(),
                format!("the default flow `{}` of gateway `{gateway}` does not leave that gateway", flow.text),
                "not an outgoing flow",
            ),
            None => cx.error(
                flow.span.clone(),
                format!("the default flow `{}` of gateway `{gateway}` is no sequence flow of this process", flow.text),
                "no such flow",
            ),
        }
    }
    let mut edges: Vec<Edge> = edges.into_iter().map(|(_, e)| e).collect();
    edges.extend(attached);
    (nodes, edges)
}

/// A task or timer with several incoming sequence flows runs once per token in BPMN, while in
/// wfop's model it would wait for one on each: such a node gets an exclusive gateway
/// `<id>.merge` in front, which passes each token on. Error paths do not count: a token that
/// comes along one starts its node on its own in wfop too (`engine::run`), so a task with one
/// flow and error boundary flows into it needs no merge.
pub fn implicit_merges(nodes: &mut Vec<Node>, edges: &mut Vec<Edge>) {
    let mut incoming: HashMap<&str, usize> = HashMap::new();
    for e in edges.iter() {
        *incoming.entry(e.to.as_str()).or_default() += 1;
    }
    let merged: Vec<usize> = (0..nodes.len())
        .filter(|&i| {
            matches!(nodes[i].kind, NodeKind::Service | NodeKind::Timer)
                && incoming.get(nodes[i].id.as_str()).copied().unwrap_or(0) >= 2
        })
        .collect();
    if merged.is_empty() {
        return;
    }
    let mut taken: HashSet<String> = nodes.iter().map(|n| n.id.clone()).collect();
    // Node id → its merge's id.
    let mut merge_of: HashMap<String, String> = HashMap::new();
    for &i in &merged {
        let id = &nodes[i].id;
        let mut merge_id = format!("{id}.merge");
        let mut k = 2;
        while taken.contains(&merge_id) {
            merge_id = format!("{id}.merge{k}");
            k += 1;
        }
        taken.insert(merge_id.clone());
        merge_of.insert(id.clone(), merge_id);
    }
    for e in edges.iter_mut() {
        if let Some(m) = merge_of.get(&e.to) {
            e.to = m.clone();
        }
    }
    let mut out = Vec::with_capacity(nodes.len() + merged.len());
    for node in std::mem::take(nodes) {
        if let Some(merge_id) = merge_of.get(&node.id) {
            let tag = node.span.start..node.span.start + 1;
            out.push(Node::new(
                merge_id.clone(),
                node.id_span.clone(),
                NodeKind::Exclusive,
                tag.clone(),
            ));
            edges.push(Edge {
                from: merge_id.clone(),
                from_span: node.id_span.clone(),
                to: node.id.clone(),
                to_span: node.id_span.clone(),
                condition: None,
                default: false,
                label: None,
                span: tag,
            });
        }
        out.push(node);
    }
    *nodes = out;
}
