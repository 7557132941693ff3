//! Ordering and rows: orders every layer with barycenter sweeps (fewer crossings), then gives
//! each node a row close to its neighbours' rows while keeping the layer's order and spacing.

use super::rank::Ranked;

/// Barycenter sweeps (one down and one up each).
const ORDER_SWEEPS: usize = 4;
/// Row-placement sweeps (one down and one up each).
const ROW_SWEEPS: usize = 4;

/// Rows and per-layer order of the layered graph.
#[derive(Debug)]
pub(super) struct Rows {
    /// Row of every layered node.
    pub y: Vec<usize>,
}

pub(super) fn place_rows(r: &Ranked) -> Rows {
    let count = r.node_count();
    let mut preds: Vec<Vec<usize>> = vec![Vec::new(); count];
    let mut succs: Vec<Vec<usize>> = vec![Vec::new(); count];
    for s in &r.segs {
        succs[s.from].push(s.to);
        preds[s.to].push(s.from);
    }
    let mut order: Vec<Vec<usize>> = vec![Vec::new(); r.layers];
    for v in 0..count {
        if let Some(layer) = order.get_mut(r.layer[v]) {
            layer.push(v);
        }
    }
    let mut pos = vec![0usize; count];
    renumber(&order, &mut pos);

    for _ in 0..ORDER_SWEEPS {
        for layer in order.iter_mut().skip(1) {
            sort_by_barycenter(layer, &preds, &mut pos);
        }
        for layer in order.iter_mut().rev().skip(1) {
            sort_by_barycenter(layer, &succs, &mut pos);
        }
    }

    let y = assign_rows(r, &order, &preds, &succs);
    Rows { y }
}

fn renumber(order: &[Vec<usize>], pos: &mut [usize]) {
    for layer in order {
        for (i, &v) in layer.iter().enumerate() {
            pos[v] = i;
        }
    }
}

/// Stable sort of one layer by the mean position of each node's neighbours in the adjacent
/// layer; a node without neighbours there keeps its own position as its key.
fn sort_by_barycenter(layer: &mut [usize], adj: &[Vec<usize>], pos: &mut [usize]) {
    let mut keyed: Vec<(f64, usize)> = layer
        .iter()
        .map(|&v| {
            let n = &adj[v];
            let key = if n.is_empty() {
                pos[v] as f64
            } else {
                n.iter().map(|&u| pos[u] as f64).sum::<f64>() / n.len() as f64
            };
            (key, v)
        })
        .collect();
    keyed.sort_by(|a, b| a.0.total_cmp(&b.0));
    for (i, (_, v)) in keyed.into_iter().enumerate() {
        layer[i] = v;
        pos[v] = i;
    }
}

/// Minimum row distance between two neighbours in a layer: boxes get a blank row between them,
/// edges passing through a layer may run right next to a box or another edge.
fn separation(r: &Ranked, a: usize, b: usize) -> f64 {
    if r.is_virtual(a) || r.is_virtual(b) {
        1.0
    } else {
        2.0
    }
}

fn assign_rows(
    r: &Ranked,
    order: &[Vec<usize>],
    preds: &[Vec<usize>],
    succs: &[Vec<usize>],
) -> Vec<usize> {
    let mut y = vec![0f64; r.node_count()];
    for layer in order {
        let mut acc = 0.0;
        for (i, &v) in layer.iter().enumerate() {
            if i > 0 {
                acc += separation(r, layer[i - 1], v);
            }
            y[v] = acc;
        }
    }
    for _ in 0..ROW_SWEEPS {
        for layer in order.iter().skip(1) {
            place_layer(r, layer, preds, &mut y);
        }
        for layer in order.iter().rev().skip(1) {
            place_layer(r, layer, succs, &mut y);
        }
    }
    let min = y.iter().copied().fold(f64::INFINITY, f64::min);
    let min = if min.is_finite() { min } else { 0.0 };
    y.iter()
        .map(|&v| (v - min).round().max(0.0) as usize)
        .collect()
}

/// Moves the nodes of one layer as close as possible (least squares) to the mean row of their
/// neighbours in `adj`, keeping order and separation: isotonic regression (pool adjacent
/// violators) on `desired - prefix separation`, rounded to whole rows.
fn place_layer(r: &Ranked, layer: &[usize], adj: &[Vec<usize>], y: &mut [f64]) {
    // (sum of weighted targets, sum of weights, number of nodes) per block.
    let mut blocks: Vec<(f64, f64, usize)> = Vec::with_capacity(layer.len());
    let mut offset = 0.0;
    let mut offsets = Vec::with_capacity(layer.len());
    for (i, &v) in layer.iter().enumerate() {
        if i > 0 {
            offset += separation(r, layer[i - 1], v);
        }
        offsets.push(offset);
        let n = &adj[v];
        let (desired, weight) = if n.is_empty() {
            (y[v], 0.5)
        } else {
            let mean = n.iter().map(|&u| y[u]).sum::<f64>() / n.len() as f64;
            // Virtual nodes pull harder, so long edges stay straight.
            (mean, if r.is_virtual(v) { 2.0 } else { 1.0 })
        };
        let target = desired - offset;
        blocks.push((target * weight, weight, 1));
        while blocks.len() >= 2 {
            let last = blocks[blocks.len() - 1];
            let prev = blocks[blocks.len() - 2];
            if prev.0 / prev.1 > last.0 / last.1 {
                blocks.pop();
                let merged = blocks.len() - 1;
                blocks[merged] = (prev.0 + last.0, prev.1 + last.1, prev.2 + last.2);
            } else {
                break;
            }
        }
    }
    let mut i = 0;
    for (sum, weight, len) in blocks {
        let q = (sum / weight).round();
        for _ in 0..len {
            y[layer[i]] = q + offsets[i];
            i += 1;
        }
    }
}
