use proptest::prelude::*;

use super::*;

fn service(width: usize) -> LayoutNode {
    LayoutNode::new(Shape::Service, width)
}

/// The reference answer to "is this edge list acyclic?" (a self-loop is a cycle; bad indexes
/// are ignored).
fn is_acyclic(n: usize, edges: &[(usize, usize)]) -> bool {
    let mut indeg = vec![0usize; n];
    let mut succ = vec![Vec::new(); n];
    for &(a, b) in edges {
        if a < n && a == b {
            return false;
        }
        if a < n && b < n {
            succ[a].push(b);
            indeg[b] += 1;
        }
    }
    let mut queue: Vec<usize> = (0..n).filter(|&v| indeg[v] == 0).collect();
    let mut seen = 0;
    while let Some(v) = queue.pop() {
        seen += 1;
        for &w in &succ[v] {
            indeg[w] -= 1;
            if indeg[w] == 0 {
                queue.push(w);
            }
        }
    }
    seen == n
}

/// Every invariant a layout must keep, whatever its input.
fn check(nodes: &[LayoutNode], edges: &[(usize, usize)], l: &Layout) {
    let n = nodes.len();
    assert_eq!(l.nodes.len(), n);
    assert_eq!(l.edges.len(), edges.len());
    for (i, p) in l.nodes.iter().enumerate() {
        assert_eq!(p.width, nodes[i].width.clamp(1, MAX_NODE_WIDTH));
        assert!(p.x + p.width <= l.width, "node {i} sticks out: {p:?}");
        assert!(p.y < l.height, "node {i} below the area: {p:?}");
    }
    let on_box = |x: usize, y: usize| {
        l.nodes
            .iter()
            .position(|p| p.y == y && p.x <= x && x < p.x + p.width)
    };
    for (i, p) in l.nodes.iter().enumerate() {
        for (j, q) in l.nodes.iter().enumerate().skip(i + 1) {
            let apart = p.y != q.y || p.x + p.width <= q.x || q.x + q.width <= p.x;
            assert!(apart, "nodes {i} and {j} overlap: {p:?} {q:?}");
        }
    }
    let acyclic = is_acyclic(n, edges);
    // The rows of the nodes and of the edges that are not loops (which may run below the
    // lowest node).
    let node_rows = l
        .nodes
        .iter()
        .map(|p| p.y + 1)
        .chain(
            l.edges
                .iter()
                .filter(|e| !e.reversed)
                .flat_map(|e| e.cells.iter().map(|c| c.y + 1)),
        )
        .max()
        .unwrap_or(0);
    for (e, (&(a, b), r)) in edges.iter().zip(&l.edges).enumerate() {
        assert_eq!((r.from, r.to), (a, b));
        for c in &r.cells {
            assert!(c.x < l.width && c.y < l.height, "edge {e} cell out: {c:?}");
            assert_eq!(on_box(c.x, c.y), None, "edge {e} cell on a box: {c:?}");
        }
        if a >= n || b >= n {
            assert!(r.cells.is_empty(), "edge {e} should not be drawn");
            continue;
        }
        let (pa, pb) = (l.nodes[a], l.nodes[b]);
        if acyclic {
            assert!(!r.reversed, "edge {e} reversed in an acyclic graph");
        }
        if a == b {
            assert!(r.reversed, "self-loop {e} is a loop");
        }
        let loop_cells = r.cells.iter().filter(|c| c.y >= node_rows).count();
        if r.reversed {
            assert!(pb.layer <= pa.layer, "loop {e} does not go back");
            if !r.cells.is_empty() {
                // Around the bottom, with a `←` there saying which way.
                assert!(loop_cells > 0, "loop {e} does not go below the nodes");
                assert!(
                    r.cells
                        .iter()
                        .any(|c| c.y >= node_rows && c.glyph == Glyph::ArrowLeft),
                    "loop {e} has no direction mark"
                );
            }
        } else {
            assert!(pa.layer < pb.layer, "edge {e} not left to right");
        }
        for w in r.cells.windows(2) {
            let step = w[0].x.abs_diff(w[1].x) + w[0].y.abs_diff(w[1].y);
            assert_eq!(step, 1, "edge {e} is not one connected path: {w:?}");
        }
        if !r.cells.is_empty() {
            // Every edge, loops too, ends in an arrow head right before its target.
            let head = (pb.x - 2, pb.y, Glyph::ArrowRight);
            assert_eq!(
                r.cells.last().map(|c| (c.x, c.y, c.glyph)),
                Some(head),
                "edge {e} has no arrow head at {head:?}"
            );
        }
    }
    // Every pair of nodes with an edge is drawn by exactly one of its input edges.
    let mut drawn = std::collections::HashSet::new();
    for (&(a, b), r) in edges.iter().zip(&l.edges) {
        if !r.cells.is_empty() {
            assert!(drawn.insert((a, b)), "pair {:?} drawn twice", (a, b));
        }
    }
    for &(a, b) in edges {
        if a < n && b < n && !l.truncated {
            assert!(drawn.contains(&(a, b)), "pair {:?} not drawn", (a, b));
        }
    }
}

#[test]
fn empty_graph() {
    let l = layout(&[], &[(0, 1)]);
    assert_eq!((l.width, l.height), (0, 0));
    assert!(l.nodes.is_empty());
    assert_eq!(l.edges.len(), 1);
    assert!(l.edges[0].cells.is_empty());
}

#[test]
fn linear_coordinates() {
    let nodes = [
        LayoutNode::new(Shape::Start, 1),
        service(22),
        LayoutNode::new(Shape::End, 1),
    ];
    let l = layout(&nodes, &[(0, 1), (1, 2)]);
    check(&nodes, &[(0, 1), (1, 2)], &l);
    let xs: Vec<(usize, usize, usize)> = l.nodes.iter().map(|p| (p.layer, p.x, p.y)).collect();
    assert_eq!(xs, [(0, 0, 0), (1, 4, 0), (2, 29, 0)]);
    assert_eq!((l.width, l.height), (30, 1));
    let cells: Vec<_> = l.edges[0].cells.iter().map(|c| (c.x, c.glyph)).collect();
    assert_eq!(cells, [(2, Glyph::ArrowRight)]);
}

#[test]
fn ascii_options_give_arrows_a_shaft() {
    let nodes = [service(3), service(3)];
    let l = layout_with(&nodes, &[(0, 1)], &LayoutOptions { arrow_shaft: 1 });
    let cells: Vec<_> = l.edges[0].cells.iter().map(|c| (c.x, c.glyph)).collect();
    assert_eq!(cells, [(4, Glyph::Horizontal), (5, Glyph::ArrowRight)]);
    assert_eq!(l.nodes[1].x, 7);
}

#[test]
fn isolated_nodes_stack_in_layer_zero() {
    let nodes = [service(3), service(5), service(1)];
    let l = layout(&nodes, &[]);
    check(&nodes, &[], &l);
    let ys: Vec<_> = l.nodes.iter().map(|p| (p.layer, p.x, p.y)).collect();
    assert_eq!(ys, [(0, 0, 0), (0, 0, 2), (0, 0, 4)]);
}

#[test]
fn cycles_self_loops_duplicates_and_bad_indexes() {
    let nodes = [service(3), service(3), service(3)];
    let edges = [(0, 1), (1, 2), (2, 0), (1, 1), (0, 1), (7, 0), (0, 9)];
    let l = layout(&nodes, &edges);
    check(&nodes, &edges, &l);
    assert!(l.edges[2].reversed);
    assert!(!l.edges[2].cells.is_empty());
    // The self-loop is a loop of its own, drawn too.
    assert!(l.edges[3].reversed);
    assert!(!l.edges[3].cells.is_empty());
    for e in [4, 5, 6] {
        assert!(l.edges[e].cells.is_empty(), "edge {e}");
    }
}

#[test]
fn long_edge_becomes_one_drawn_path() {
    let nodes = [service(3), service(3), service(3), service(3)];
    let edges = [(0, 1), (1, 2), (2, 3), (0, 3)];
    let l = layout(&nodes, &edges);
    check(&nodes, &edges, &l);
    assert_eq!(l.nodes[3].layer, 3);
    assert!(l.edges[3].cells.len() > l.edges[0].cells.len() * 3);
}

#[test]
fn huge_widths_are_clamped() {
    let nodes = [service(usize::MAX), service(0)];
    let l = layout(&nodes, &[(0, 1)]);
    check(&nodes, &[(0, 1)], &l);
    assert_eq!(l.nodes[0].width, MAX_NODE_WIDTH);
    assert_eq!(l.nodes[1].width, 1);
}

#[test]
fn huge_areas_are_routed_too() {
    // 2 500 stacked nodes and a long chain: an area too big for the dense grid.
    let mut nodes = vec![service(3); 3000];
    nodes[0] = service(1000);
    let edges: Vec<(usize, usize)> = (0..500).map(|i| (i, i + 1)).chain([(0, 2999)]).collect();
    let l = layout(&nodes, &edges);
    assert!(l.width * l.height > 1 << 24, "{}x{}", l.width, l.height);
    let e = &l.edges[500];
    assert_eq!(e.cells.last().map(|c| c.glyph), Some(Glyph::ArrowRight));
    assert_eq!(
        l.edges[0].cells.last().map(|c| c.glyph),
        Some(Glyph::ArrowRight)
    );
}

#[test]
fn pathological_density_is_truncated_not_hung() {
    // Every node linked to every later one: the drawing grows with the cube of the size.
    let n = 50;
    let nodes = vec![service(8); n];
    let edges: Vec<(usize, usize)> = (0..n)
        .flat_map(|a| (a + 1..n).map(move |b| (a, b)))
        .collect();
    let l = layout(&nodes, &edges);
    assert!(l.truncated);
    let cells: usize = l.edges.iter().map(|e| e.cells.len()).sum();
    assert!(cells <= route::MAX_EDGE_CELLS);
    assert!(!l.edges[0].cells.is_empty());
    check(&nodes, &edges, &l);
    assert!(!layout(&nodes, &edges[..100]).truncated);
}

#[test]
fn glyph_from_arms() {
    assert_eq!(Glyph::from_arms(LEFT | RIGHT), Glyph::Horizontal);
    assert_eq!(Glyph::from_arms(UP | DOWN), Glyph::Vertical);
    assert_eq!(Glyph::from_arms(DOWN | RIGHT), Glyph::DownRight);
    assert_eq!(Glyph::from_arms(UP | LEFT), Glyph::UpLeft);
    assert_eq!(Glyph::from_arms(UP | DOWN | LEFT), Glyph::TeeLeft);
    assert_eq!(Glyph::from_arms(LEFT | RIGHT | UP), Glyph::TeeUp);
    assert_eq!(Glyph::from_arms(UP | DOWN | LEFT | RIGHT), Glyph::Cross);
    assert_eq!(Glyph::from_arms(RIGHT), Glyph::Horizontal);
    assert_eq!(Glyph::from_arms(UP), Glyph::Vertical);
}

#[test]
fn display_width_counts_cells() {
    assert_eq!(display_width("[Orchestrated Service]"), 22);
    assert_eq!(display_width("○"), 1);
    assert_eq!(display_width("[量子]"), 6);
    assert_eq!(display_width("e\u{301}"), 1);
    assert_eq!(display_width("a\tb"), 3);
}

fn graphs() -> impl Strategy<Value = (Vec<LayoutNode>, Vec<(usize, usize)>)> {
    (0usize..24).prop_flat_map(|n| {
        let nodes = prop::collection::vec(
            (0usize..3, 0usize..14).prop_map(|(s, w)| {
                let shape = [Shape::Start, Shape::Service, Shape::End][s];
                LayoutNode::new(shape, w)
            }),
            n,
        );
        // Indexes up to n + 1: some edges point outside the graph.
        let edges = prop::collection::vec((0..n + 2, 0..n + 2), 0..(3 * n + 2));
        (nodes, edges)
    })
}

/// Forward-only edges: acyclic graphs, where nothing may be drawn reversed.
fn dags() -> impl Strategy<Value = (Vec<LayoutNode>, Vec<(usize, usize)>)> {
    (1usize..24).prop_flat_map(|n| {
        let nodes = prop::collection::vec((1usize..14).prop_map(service), n);
        let edges = prop::collection::vec((0..n, 0..n), 0..(2 * n))
            .prop_map(|es| es.into_iter().filter(|(a, b)| a < b).collect::<Vec<_>>());
        (nodes, edges)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn any_graph_lays_out_soundly((nodes, edges) in graphs()) {
        let l = layout(&nodes, &edges);
        check(&nodes, &edges, &l);
        let again = layout_with(&nodes, &edges, &LayoutOptions { arrow_shaft: 1 });
        check(&nodes, &edges, &again);
        prop_assert_eq!(&l, &layout(&nodes, &edges), "layout is deterministic");
    }

    #[test]
    fn dags_lay_out_left_to_right((nodes, edges) in dags()) {
        let l = layout(&nodes, &edges);
        check(&nodes, &edges, &l);
        prop_assert!(l.edges.iter().all(|e| !e.reversed));
    }
}
