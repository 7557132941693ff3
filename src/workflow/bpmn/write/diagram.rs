//! The export's `bpmndi` diagram: wfop's layered layout (`workflow::layout`, in terminal
//! cells) scaled to the modeler's sizes — tasks 100×80, events 36×36, gateways 50×50, one
//! column per layer — with every sequence flow's waypoints at the turns of its routed edge.

use std::collections::{BTreeMap, HashMap};

use super::xml::Xml;
use super::{Plan, Workflow};
use crate::workflow::NodeKind;
use crate::workflow::layout::{self, EdgeCell, Layout, LayoutNode, Placed, Shape};

/// Left of the first column and above the first row, in diagram units.
const MARGIN: f64 = 150.0;
/// A column's width: the widest shape, a task.
const COLUMN: f64 = 100.0;
/// Between two columns (room for the forks' and joins' tracks).
const GAP: f64 = 100.0;
/// One layout row. Sibling boxes are two rows apart: 120 between centres, 40 between tasks.
const ROW: f64 = 60.0;
/// Diagram units per cell left of the first or right of the last column.
const CELL: f64 = 10.0;

/// A shape's box in diagram units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Bounds {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
}

impl Bounds {
    fn right_middle(&self) -> (f64, f64) {
        (self.x + self.width, self.y + self.height / 2.0)
    }

    fn left_middle(&self) -> (f64, f64) {
        (self.x, self.y + self.height / 2.0)
    }
}

fn shape_of(kind: NodeKind) -> Shape {
    match kind {
        NodeKind::Start => Shape::Start,
        NodeKind::End => Shape::End,
        NodeKind::Service => Shape::Service,
        NodeKind::Exclusive => Shape::Exclusive,
        NodeKind::Parallel => Shape::Parallel,
        NodeKind::Timer => Shape::Timer,
    }
}

/// The modeler's size of a node's shape.
fn size_of(kind: NodeKind) -> (f64, f64) {
    match kind {
        NodeKind::Service => (100.0, 80.0),
        NodeKind::Exclusive | NodeKind::Parallel => (50.0, 50.0),
        NodeKind::Start | NodeKind::End | NodeKind::Timer => (36.0, 36.0),
    }
}

/// Layout cells → diagram units: each layer's cells map onto its column, the cells between
/// two layers onto the gap between their columns (piecewise linear, so straight lines stay
/// straight and turns keep their order).
struct Scale {
    /// (cell x, diagram x), increasing in both.
    anchors: Vec<(f64, f64)>,
}

impl Scale {
    fn new(placed: &[Placed]) -> Scale {
        let mut layers: BTreeMap<usize, (usize, usize)> = BTreeMap::new();
        for p in placed {
            let e = layers.entry(p.layer).or_insert((p.x, p.x + p.width));
            e.0 = e.0.min(p.x);
            e.1 = e.1.max(p.x + p.width);
        }
        let mut anchors: Vec<(f64, f64)> = Vec::new();
        for (layer, (start, end)) in layers {
            let left = MARGIN + layer as f64 * (COLUMN + GAP);
            for point in [(start as f64, left), (end as f64, left + COLUMN)] {
                if anchors
                    .last()
                    .is_none_or(|a| a.0 < point.0 && a.1 < point.1)
                {
                    anchors.push(point);
                }
            }
        }
        Scale { anchors }
    }

    fn x(&self, cell: f64) -> f64 {
        let a = &self.anchors;
        match (a.first(), a.last()) {
            (Some(first), _) if cell <= first.0 => first.1 - (first.0 - cell) * CELL,
            (_, Some(last)) if cell >= last.0 => last.1 + (cell - last.0) * CELL,
            _ => a.windows(2).find(|w| cell <= w[1].0).map_or(MARGIN, |w| {
                w[0].1 + (cell - w[0].0) / (w[1].0 - w[0].0) * (w[1].1 - w[0].1)
            }),
        }
    }

    /// The diagram x of a layer's column (its left side).
    fn column(layer: usize) -> f64 {
        MARGIN + layer as f64 * (COLUMN + GAP)
    }
}

/// The centre line of a layout row.
fn row_y(row: usize) -> f64 {
    MARGIN + row as f64 * ROW
}

/// Where everything goes.
pub(super) struct Drawing {
    pub nodes: Vec<Bounds>,
    /// Per flow of the plan, its waypoints.
    pub flows: Vec<Vec<(f64, f64)>>,
    /// Per boundary event of the plan, its box.
    pub boundaries: Vec<Bounds>,
    /// Per join gateway of the plan, its box.
    pub joins: Vec<Bounds>,
}

/// Lays the workflow out: its edges, then its error paths (as `ui::graph` draws them).
pub(super) fn draw(wf: &Workflow, plan: &Plan) -> Drawing {
    let layout_nodes: Vec<LayoutNode> = wf
        .nodes
        .iter()
        .map(|n| LayoutNode::for_text(shape_of(n.kind), n.display_label()))
        .collect();
    let mut nodes_by_id: HashMap<&str, usize> = HashMap::new();
    for (i, n) in wf.nodes.iter().enumerate() {
        nodes_by_id.entry(n.id.as_str()).or_insert(i);
    }
    let joins_by_id: HashMap<&str, usize> = plan
        .joins
        .iter()
        .enumerate()
        .map(|(j, join)| (join.id.as_str(), j))
        .collect();
    let boundary_by_flow: HashMap<&str, usize> = plan
        .boundaries
        .iter()
        .enumerate()
        .map(|(b, boundary)| (boundary.flow.as_str(), b))
        .collect();
    let index = |id: &str| nodes_by_id.get(id).copied();
    let join_of = |id: &str| joins_by_id.get(id).copied();
    // One layout edge per flow out of a node, into a node or a join gateway (as into its
    // node). Boundary flows are laid out as edges out of their service, to place their
    // targets; they are drawn from the boundary event.
    let mut layout_edges: Vec<(usize, usize)> = Vec::new();
    let mut edge_of_flow: Vec<Option<usize>> = Vec::new();
    let mut boundary_of_flow: Vec<Option<usize>> = Vec::new();
    for f in &plan.flows {
        let b = boundary_by_flow.get(f.id.as_str()).copied();
        let from = match b {
            Some(b) => Some(plan.boundaries[b].at.0),
            None => index(&f.from),
        };
        let to = index(&f.to).or_else(|| join_of(&f.to).map(|j| plan.joins[j].node));
        boundary_of_flow.push(b);
        match (from, to) {
            (Some(a), Some(z)) => {
                edge_of_flow.push(Some(layout_edges.len()));
                layout_edges.push((a, z));
            }
            _ => edge_of_flow.push(None),
        }
    }
    let laid: Layout = layout::layout(&layout_nodes, &layout_edges);
    let scale = Scale::new(&laid.nodes);
    let nodes: Vec<Bounds> = wf
        .nodes
        .iter()
        .zip(&laid.nodes)
        .map(|(n, p)| {
            let (width, height) = size_of(n.kind);
            Bounds {
                x: Scale::column(p.layer) + (COLUMN - width) / 2.0,
                y: row_y(p.y) - height / 2.0,
                width,
                height,
            }
        })
        .collect();
    let boundaries: Vec<Bounds> = plan
        .boundaries
        .iter()
        .map(|b| {
            let task = nodes[b.at.0];
            Bounds {
                // Along the bottom border from the right; the centre stays on the border.
                x: (task.x + task.width - 54.0 - 40.0 * b.at.1 as f64).max(task.x - 18.0),
                y: task.y + task.height - 18.0,
                width: 36.0,
                height: 36.0,
            }
        })
        .collect();
    let joins: Vec<Bounds> = plan
        .joins
        .iter()
        .map(|j| {
            let node = nodes[j.node];
            Bounds {
                x: node.x - 75.0,
                y: node.y + node.height / 2.0 - 25.0,
                width: 50.0,
                height: 50.0,
            }
        })
        .collect();
    let flows = plan
        .flows
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let into_join = join_of(&f.to);
            let end = match into_join {
                Some(j) => joins[j].left_middle(),
                None => match index(&f.to) {
                    Some(z) => nodes[z].left_middle(),
                    None => return Vec::new(),
                },
            };
            let (start, from) = if let Some(b) = boundary_of_flow[i] {
                let bb = boundaries[b];
                ((bb.x + bb.width / 2.0, bb.y + bb.height), None)
            } else if let Some(j) = join_of(&f.from) {
                (joins[j].right_middle(), None)
            } else {
                match index(&f.from) {
                    Some(a) => (nodes[a].right_middle(), Some(a)),
                    None => return Vec::new(),
                }
            };
            let routed = edge_of_flow[i]
                .and_then(|e| laid.edges.get(e))
                .filter(|r| !r.cells.is_empty());
            let mut points = match (routed, from) {
                (Some(r), Some(a)) => along(
                    &scale,
                    start,
                    end,
                    &laid.nodes[a],
                    &laid.nodes[r.to],
                    &r.cells,
                ),
                _ => elbow(start, end, boundary_of_flow[i].is_some()),
            };
            // A join's tracks run left of its gateway, which sits in front of its node.
            if into_join.is_some() {
                let last = points.len().saturating_sub(1);
                for p in points.iter_mut().take(last).skip(1) {
                    p.0 = p.0.min(end.0 - 10.0);
                }
            }
            points
        })
        .collect();
    Drawing {
        nodes,
        flows,
        boundaries,
        joins,
    }
}

/// Waypoints along a routed edge: its start, each cell where it turns, its end.
fn along(
    scale: &Scale,
    start: (f64, f64),
    end: (f64, f64),
    from: &Placed,
    to: &Placed,
    cells: &[EdgeCell],
) -> Vec<(f64, f64)> {
    // The path in cells, from the source's last cell to the target's first.
    let mut path: Vec<(usize, usize)> = Vec::with_capacity(cells.len() + 2);
    path.push(((from.x + from.width).saturating_sub(1), from.y));
    path.extend(cells.iter().map(|c| (c.x, c.y)));
    path.push((to.x, to.y));
    let mut points = vec![start];
    for w in path.windows(3) {
        let (a, b, c) = (w[0], w[1], w[2]);
        let horizontal_in = a.1 == b.1;
        let horizontal_out = b.1 == c.1;
        if horizontal_in != horizontal_out {
            let point = (scale.x(b.0 as f64 + 0.5).round(), row_y(b.1));
            if points.last() != Some(&point) {
                points.push(point);
            }
        }
    }
    points.push(end);
    points
}

/// Two or three orthogonal segments from `start` to `end` (a flow the layout did not route),
/// leaving downwards when it leaves a boundary event.
fn elbow(start: (f64, f64), end: (f64, f64), down: bool) -> Vec<(f64, f64)> {
    if start.1 == end.1 {
        return vec![start, end];
    }
    if down {
        if end.1 >= start.1 + 20.0 && end.0 > start.0 {
            return vec![start, (start.0, end.1), end];
        }
        let below = start.1 + 20.0;
        let x = end.0 - 20.0;
        return vec![start, (start.0, below), (x, below), (x, end.1), end];
    }
    let middle = ((start.0 + end.0) / 2.0).round();
    vec![start, (middle, start.1), (middle, end.1), end]
}

fn number(v: f64) -> String {
    format!("{}", v.round() as i64)
}

/// Writes `bpmndi:BPMNDiagram`.
pub(super) fn write(x: &mut Xml, wf: &Workflow, plan: &Plan) {
    let d = draw(wf, plan);
    x.open("bpmndi:BPMNDiagram", &[("id", &plan.diagram_id)]);
    x.open(
        "bpmndi:BPMNPlane",
        &[("id", &plan.plane_id), ("bpmnElement", &plan.process_id)],
    );
    let shapes = wf
        .nodes
        .iter()
        .map(|n| (n.id.as_str(), n.kind == NodeKind::Exclusive))
        .zip(&d.nodes)
        .chain(
            plan.boundaries
                .iter()
                .map(|b| (b.id.as_str(), false))
                .zip(&d.boundaries),
        )
        .chain(
            plan.joins
                .iter()
                .map(|j| (j.id.as_str(), false))
                .zip(&d.joins),
        );
    for (((element, gateway), bounds), shape_id) in shapes.zip(&plan.shape_ids) {
        let mut attrs: Vec<(&str, &str)> = vec![("id", shape_id), ("bpmnElement", element)];
        if gateway {
            attrs.push(("isMarkerVisible", "true"));
        }
        x.open("bpmndi:BPMNShape", &attrs);
        x.empty(
            "dc:Bounds",
            &[
                ("x", &number(bounds.x)),
                ("y", &number(bounds.y)),
                ("width", &number(bounds.width)),
                ("height", &number(bounds.height)),
            ],
        );
        x.close("bpmndi:BPMNShape");
    }
    for ((f, points), edge_id) in plan.flows.iter().zip(&d.flows).zip(&plan.edge_ids) {
        x.open(
            "bpmndi:BPMNEdge",
            &[("id", edge_id), ("bpmnElement", &f.id)],
        );
        for (px, py) in points {
            x.empty("di:waypoint", &[("x", &number(*px)), ("y", &number(*py))]);
        }
        x.close("bpmndi:BPMNEdge");
    }
    x.close("bpmndi:BPMNPlane");
    x.close("bpmndi:BPMNDiagram");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scale_keeps_order_and_maps_columns() {
        let placed = [
            Placed {
                layer: 0,
                x: 0,
                y: 0,
                width: 1,
            },
            Placed {
                layer: 1,
                x: 4,
                y: 0,
                width: 10,
            },
        ];
        let s = Scale::new(&placed);
        assert_eq!(s.x(0.0), MARGIN);
        assert_eq!(s.x(1.0), MARGIN + COLUMN);
        assert_eq!(s.x(4.0), MARGIN + COLUMN + GAP);
        assert_eq!(s.x(14.0), MARGIN + 2.0 * COLUMN + GAP);
        assert_eq!(s.x(16.0), MARGIN + 2.0 * COLUMN + GAP + 2.0 * CELL);
        let xs: Vec<f64> = (0..30).map(|c| s.x(c as f64 / 2.0)).collect();
        assert!(xs.windows(2).all(|w| w[0] < w[1]), "{xs:?}");
    }

    #[test]
    fn elbows_are_orthogonal() {
        for (start, end, down) in [
            ((0.0, 0.0), (100.0, 50.0), false),
            ((0.0, 0.0), (100.0, 50.0), true),
            ((0.0, 50.0), (100.0, 0.0), true),
            ((0.0, 50.0), (-100.0, 0.0), true),
        ] {
            let points = elbow(start, end, down);
            assert_eq!(points.first(), Some(&start));
            assert_eq!(points.last(), Some(&end));
            assert!(
                points
                    .windows(2)
                    .all(|w| w[0].0 == w[1].0 || w[0].1 == w[1].1),
                "{points:?}"
            );
        }
    }
}
