//! Layering: turns any edge list into a proper layered DAG (edges span exactly one layer).
//! Unusable edges are dropped, cycles broken at DFS back edges (set aside as loops), long edges cut.

use std::collections::HashSet;

/// One edge of the layered graph, from a node in layer `l` to a node in layer `l + 1`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Seg {
    pub from: usize,
    pub to: usize,
}

/// How one forward input edge is drawn: the chain of segments from left to right.
#[derive(Debug, Clone)]
pub(super) struct Chain {
    pub segs: Vec<usize>,
}

/// An input edge that closes a cycle (a DFS back edge, or a self-loop): left out of the
/// layering and routed as a loop around the bottom of the drawing, from `from` back to `to`
/// (whose layer is never right of `from`'s).
#[derive(Debug, Clone, Copy)]
pub(super) struct Loop {
    pub edge: usize,
    pub from: usize,
    pub to: usize,
}

/// The layered graph. Nodes `0..real` are the input nodes, the rest are virtual (bends of long
/// edges).
#[derive(Debug)]
pub(super) struct Ranked {
    pub real: usize,
    pub layer: Vec<usize>,
    pub layers: usize,
    pub segs: Vec<Seg>,
    /// Per input edge; `None` when the edge is not drawn as a chain (a loop, or not drawn).
    pub chains: Vec<Option<Chain>>,
    /// The loops to draw, one per distinct pair, in input order.
    pub loops: Vec<Loop>,
    /// Per input edge: it closes a cycle (also set on undrawn duplicates).
    pub reversed: Vec<bool>,
}

impl Ranked {
    pub fn node_count(&self) -> usize {
        self.layer.len()
    }

    pub fn is_virtual(&self, node: usize) -> bool {
        node >= self.real
    }
}

pub(super) fn rank(n: usize, edges: &[(usize, usize)]) -> Ranked {
    // Usable edges, as adjacency for the cycle-breaking DFS.
    let mut out: Vec<Vec<(usize, usize)>> = vec![Vec::new(); n];
    let mut indeg = vec![0usize; n];
    for (i, &(a, b)) in edges.iter().enumerate() {
        if a < n && b < n && a != b {
            out[a].push((b, i));
            indeg[b] += 1;
        }
    }
    let mut reversed = back_edges(n, &out, &indeg, edges.len());

    // Deduplicated DAG edges and loops; the first input edge of each pair draws it.
    let mut dag: Vec<(usize, usize)> = Vec::new();
    let mut dag_of_edge: Vec<Option<usize>> = vec![None; edges.len()];
    let mut loops: Vec<Loop> = Vec::new();
    let mut seen: HashSet<(usize, usize)> = HashSet::new();
    for (i, &(a, b)) in edges.iter().enumerate() {
        if a >= n || b >= n {
            continue;
        }
        // A self-loop closes a cycle of its own.
        reversed[i] |= a == b;
        if !seen.insert((a, b)) {
            continue;
        }
        if reversed[i] {
            loops.push(Loop {
                edge: i,
                from: a,
                to: b,
            });
        } else {
            dag_of_edge[i] = Some(dag.len());
            dag.push((a, b));
        }
    }

    let layer_of_real = longest_path_layers(n, &dag);
    let layers = layer_of_real.iter().map(|&l| l + 1).max().unwrap_or(0);

    // Cut every DAG edge into one-layer segments through virtual nodes.
    let mut layer = layer_of_real;
    let mut segs = Vec::with_capacity(dag.len());
    let mut dag_chain: Vec<Vec<usize>> = Vec::with_capacity(dag.len());
    for &(a, b) in &dag {
        let (la, lb) = (layer[a], layer[b]);
        let mut chain = Vec::with_capacity(lb.saturating_sub(la));
        let mut prev = a;
        for l in la + 1..lb {
            let v = layer.len();
            layer.push(l);
            chain.push(segs.len());
            segs.push(Seg { from: prev, to: v });
            prev = v;
        }
        chain.push(segs.len());
        segs.push(Seg { from: prev, to: b });
        dag_chain.push(chain);
    }

    let chains = dag_of_edge
        .iter()
        .map(|d| {
            d.map(|d| Chain {
                segs: dag_chain[d].clone(),
            })
        })
        .collect();

    Ranked {
        real: n,
        layer,
        layers,
        segs,
        chains,
        loops,
        reversed,
    }
}

/// Marks the input edges that are DFS back edges (they close a cycle): without them the graph
/// is acyclic, and each one runs from a node to one that reaches it (a layer to its left). The DFS starts from the
/// sources, in input order, then from whatever is left; it is iterative (no stack overflow).
fn back_edges(
    n: usize,
    out: &[Vec<(usize, usize)>],
    indeg: &[usize],
    edge_count: usize,
) -> Vec<bool> {
    const WHITE: u8 = 0;
    const GRAY: u8 = 1;
    const BLACK: u8 = 2;
    let mut reversed = vec![false; edge_count];
    let mut state = vec![WHITE; n];
    let roots = (0..n)
        .filter(|&v| indeg[v] == 0)
        .chain((0..n).filter(|&v| indeg[v] != 0));
    let mut stack: Vec<(usize, usize)> = Vec::new();
    for root in roots {
        if state[root] != WHITE {
            continue;
        }
        state[root] = GRAY;
        stack.push((root, 0));
        while let Some(top) = stack.last_mut() {
            let (v, next) = *top;
            if let Some(&(w, i)) = out[v].get(next) {
                top.1 += 1;
                match state[w] {
                    WHITE => {
                        state[w] = GRAY;
                        stack.push((w, 0));
                    }
                    GRAY => reversed[i] = true,
                    _ => {}
                }
            } else {
                state[v] = BLACK;
                stack.pop();
            }
        }
    }
    reversed
}

/// Layer of every node: the length of the longest path to it from a source (Kahn's order).
fn longest_path_layers(n: usize, dag: &[(usize, usize)]) -> Vec<usize> {
    let mut succ: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut indeg = vec![0usize; n];
    for &(a, b) in dag {
        succ[a].push(b);
        indeg[b] += 1;
    }
    let mut layer = vec![0usize; n];
    let mut queue: Vec<usize> = (0..n).filter(|&v| indeg[v] == 0).collect();
    let mut head = 0;
    while let Some(&v) = queue.get(head) {
        head += 1;
        for &w in &succ[v] {
            layer[w] = layer[w].max(layer[v] + 1);
            indeg[w] -= 1;
            if indeg[w] == 0 {
                queue.push(w);
            }
        }
    }
    // The graph is acyclic by construction, so every node was reached; a node that was not
    // (impossible) simply keeps layer 0 and its edges are still drawn left to right below.
    layer
}
