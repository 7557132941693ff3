//! The parallel gateways wfop's export puts in front of a service or timer that joins several
//! edges (marked `wfop.join`, see `bpmn::props::JOIN`): folded back into that node, so its
//! incoming edges are its own again (a wfop service waits for a token on each).

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
/// and the gateway stays as it is.
pub fn fold(cx: &mut Cx, process: XNode, nodes: &mut Vec<Node>, edges: &mut Vec<Edge>) {
    for gateway in xml::children(process, BPMN_NS, "parallelGateway") {
        let Some(target) = join_target(cx, gateway) else {
            continue;
        };
        let Some(id) = gateway.attribute("id") else {
            continue;
        };
        let out: Vec<usize> = (0..edges.len()).filter(|&k| edges[k].from == id).collect();
        let into_target = edges.iter().filter(|e| e.to == target.text).count();
        let joins = nodes
            .iter()
            .any(|n| n.id == target.text && matches!(n.kind, NodeKind::Service | NodeKind::Timer));
        let caught_into = nodes.iter().flat_map(|n| &n.errors).any(|p| p.to == id);
        let fits = joins
            && into_target == 1
            && !caught_into
            && matches!(out.as_slice(), [k] if edges[*k].to == target.text);
        if !fits {
            cx.warning(
                target.span.clone(),
                format!(
                    "gateway `{id}` is marked as the join of `{}` (wfop.join), but it is not only that; it is kept as a parallel gateway",
                    target.text
                ),
                "not folded",
            );
            continue;
        }
        edges.remove(out[0]);
        for e in edges.iter_mut().filter(|e| e.to == id) {
            e.to = target.text.clone();
        }
        nodes.retain(|n| n.id != id);
    }
}
