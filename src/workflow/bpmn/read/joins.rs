//! The parallel gateways wfop's export puts in front of a service or timer that joins several
//! edges (marked `wfop.join`, see `bpmn::props::JOIN`): folded back into that node, so its
//! incoming edges are its own again (a wfop service waits for a token on each).

use std::collections::{HashMap, HashSet};

use roxmltree::Node as XNode;

use super::super::{BPMN_NS, ZEEBE_NS, props};
use super::{Cx, xml, zeebe};
use crate::workflow::json::Str;
use crate::workflow::model::{Edge, Node, NodeKind};

/// The value of a gateway's `wfop.join` property: the node it joins for.
fn join_target(cx: &Cx, gateway: XNode) -> Option<Str> {
    let properties = zeebe::ext(gateway, "properties")?;
    xml::children(properties, ZEEBE_NS, "property")
        .find(|p| p.attribute("name") == Some(props::JOIN))
        .and_then(|p| cx.attr(p, "value"))
}

/// Folds each marked join gateway into its node: the edges into the gateway go to the node,
/// the gateway and its one flow to the node go. A mark that does not fit (the gateway leads
/// elsewhere too, the node is no service or timer, or has other incoming edges) is a warning,
/// and the gateway stays as it is. Linear in the size of the process.
pub fn fold(cx: &mut Cx, process: XNode, nodes: &mut Vec<Node>, edges: &mut Vec<Edge>) {
    let marked: Vec<(&str, Str)> = xml::children(process, BPMN_NS, "parallelGateway")
        .filter_map(|g| Some((g.attribute("id")?, join_target(cx, g)?)))
        .collect();
    if marked.is_empty() {
        return;
    }
    let mut out: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut into: HashMap<&str, usize> = HashMap::new();
    for (k, e) in edges.iter().enumerate() {
        out.entry(e.from.as_str()).or_default().push(k);
        *into.entry(e.to.as_str()).or_default() += 1;
    }
    let joins: HashSet<&str> = nodes
        .iter()
        .filter(|n| matches!(n.kind, NodeKind::Service | NodeKind::Timer))
        .map(|n| n.id.as_str())
        .collect();
    let caught: HashSet<&str> = nodes
        .iter()
        .flat_map(|n| &n.errors)
        .map(|p| p.to.as_str())
        .collect();
    // Gateway id → its node; the gateways' flows to their nodes.
    let mut folded: HashMap<String, String> = HashMap::new();
    let mut dropped: HashSet<usize> = HashSet::new();
    let mut warnings = Vec::new();
    for (id, target) in &marked {
        let t = target.text.as_str();
        let only = match out.get(id).map(Vec::as_slice) {
            Some([k]) if edges[*k].to == t => Some(*k),
            _ => None,
        };
        match only {
            Some(k) if joins.contains(t) && into.get(t) == Some(&1) && !caught.contains(id) => {
                folded.insert(id.to_string(), t.to_string());
                dropped.insert(k);
            }
            _ => warnings.push((
                target.span.clone(),
                format!(
                    "gateway `{id}` is marked as the join of `{t}` (wfop.join), but it is not only that; it is kept as a parallel gateway"
                ),
            )),
        }
    }
    for (span, message) in warnings {
        cx.warning(span, message, "not folded");
    }
    if folded.is_empty() {
        return;
    }
    let mut k = 0;
    edges.retain(|_| {
        k += 1;
        !dropped.contains(&(k - 1))
    });
    for e in edges.iter_mut() {
        if let Some(t) = folded.get(&e.to) {
            e.to = t.clone();
        }
    }
    nodes.retain(|n| !folded.contains_key(&n.id));
}
