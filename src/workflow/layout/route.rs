//! Columns and edge routing: sizes every layer column and the channel after it, gives every
//! bundle of segments a vertical track in its channel, and traces edges into glyph cells.
//!
//! A channel between layer `l` and `l + 1` is, from left to right: one blank margin cell; if it
//! needs tracks, a lead cell (`─`) and one column per track; `arrow_shaft` cells; the arrow
//! column; one blank margin cell. Segments leaving one node form a fork bundle on one track,
//! segments entering a node that several segments enter form a join bundle on one track, so
//! `[A] ─┤` forks and `├→ [B]` joins read naturally. Bundles whose rows don't overlap share a
//! track; on a row, the tracks of the bundles leaving it lie left of those entering it, so the
//! line out of one node never runs into the line into another.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use super::order::Rows;
use super::rank::Ranked;
use super::{DOWN, EdgeCell, Glyph, LEFT, Layout, LayoutOptions, Placed, RIGHT, RoutedEdge, UP};

const NONE: usize = usize::MAX;

#[derive(Debug, Clone, Copy)]
struct Bundle {
    channel: usize,
    lo: usize,
    hi: usize,
    /// Track column inside the channel, `NONE` for a bundle that is one straight segment.
    col: usize,
}

/// One cell contribution of one edge: arm bits, plus [`ARROW_RIGHT`] or [`ARROW_LEFT`].
#[derive(Debug, Clone, Copy)]
struct Mark {
    x: usize,
    y: usize,
    code: u8,
}

const ARROW_RIGHT: u8 = 0x10;
const ARROW_LEFT: u8 = 0x20;

/// Layouts up to this many cells unite marks on a dense grid, bigger ones in a hash map.
const DENSE_CELLS: usize = 1 << 24;

/// At most this many edge cells are traced; the edges after that are left undrawn and the
/// layout says it is truncated. Ordinary graphs stay far below (1 000 nodes with 1 500 edges:
/// some 300 000 cells); only pathological ones (every node linked to every later one) reach it.
pub(super) const MAX_EDGE_CELLS: usize = 2_000_000;

pub(super) fn route(
    r: &Ranked,
    widths: &[usize],
    rows: &Rows,
    edges: &[(usize, usize)],
    options: &LayoutOptions,
) -> Layout {
    let count = r.node_count();
    let y = &rows.y;
    let width_of = |v: usize| if r.is_virtual(v) { 1 } else { widths[v] };
    // Channel `c` lies left of layer `c`; channel `layers` right of the last layer. The outer
    // two carry only loops and take no room without them.
    let channels = if r.layers == 0 { 0 } else { r.layers + 1 };

    // Segments that really span one layer (all of them, by construction; the guard keeps the
    // routing safe whatever happens upstream).
    let valid = |s: usize| {
        let seg = r.segs[s];
        r.layer[seg.from] + 1 == r.layer[seg.to]
    };
    // Arrivals per node: its segments and the loops back into it.
    let mut indeg = vec![0usize; count];
    for (s, seg) in r.segs.iter().enumerate() {
        if valid(s) {
            indeg[seg.to] += 1;
        }
    }
    for l in &r.loops {
        indeg[l.to] += 1;
    }
    let node_rows = y.iter().map(|&row| row + 1).max().unwrap_or(0);
    let loop_row: Vec<usize> = loop_rows(r).into_iter().map(|k| node_rows + k).collect();

    // Bundles: a join bundle per node several segments or loops enter, else a fork bundle per
    // source node. A loop leaves its source on the source's fork track and enters its target
    // on the target's join track.
    let mut join_of = vec![NONE; count];
    let mut fork_of = vec![NONE; count];
    let mut bundles: Vec<Bundle> = Vec::new();
    let mut add = |slot: &mut usize, channel: usize, ends: [usize; 2]| -> usize {
        if *slot == NONE {
            *slot = bundles.len();
            bundles.push(Bundle {
                channel,
                lo: ends[0],
                hi: ends[0],
                col: NONE,
            });
        }
        let b = &mut bundles[*slot];
        for row in ends {
            b.lo = b.lo.min(row);
            b.hi = b.hi.max(row);
        }
        *slot
    };
    let mut bundle_of_seg = vec![NONE; r.segs.len()];
    for (s, seg) in r.segs.iter().enumerate() {
        if !valid(s) {
            continue;
        }
        let slot = if indeg[seg.to] >= 2 {
            &mut join_of[seg.to]
        } else {
            &mut fork_of[seg.from]
        };
        let channel = r.layer[seg.from] + 1;
        bundle_of_seg[s] = add(slot, channel, [y[seg.from], y[seg.to]]);
    }
    // (out bundle, in bundle) per loop.
    let mut loop_bundles: Vec<(usize, usize)> = Vec::with_capacity(r.loops.len());
    for (k, l) in r.loops.iter().enumerate() {
        let row = loop_row[k];
        let out = add(&mut fork_of[l.from], r.layer[l.from] + 1, [y[l.from], row]);
        let into = add(&mut join_of[l.to], r.layer[l.to], [y[l.to], row]);
        loop_bundles.push((out, into));
    }

    // Per channel: (row, 0 = leaves that row / 1 = enters it, bundle).
    let mut events: Vec<Vec<(usize, u8, usize)>> = vec![Vec::new(); channels];
    let mut event = |b: usize, row: usize, kind: u8| {
        let bundle = bundles[b];
        if bundle.lo < bundle.hi && bundle.channel < channels {
            events[bundle.channel].push((row, kind, b));
        }
    };
    for (s, seg) in r.segs.iter().enumerate() {
        let b = bundle_of_seg[s];
        if b != NONE {
            event(b, y[seg.from], 0);
            event(b, y[seg.to], 1);
        }
    }
    for (l, &(out, into)) in r.loops.iter().zip(&loop_bundles) {
        event(out, y[l.from], 0);
        event(into, y[l.to], 1);
    }
    let tracks = assign_tracks(&mut bundles, events, channels);

    // Columns: x of every layer, arrow column of every channel that leads into a layer.
    let mut layer_width = vec![1usize; r.layers];
    for v in 0..count {
        let w = &mut layer_width[r.layer[v]];
        *w = (*w).max(width_of(v));
    }
    let mut layer_x = vec![0usize; r.layers];
    let mut arrow_x = vec![0usize; channels];
    // x of each channel's track column 0.
    let mut track0 = vec![0usize; channels];
    for c in 0..r.layers {
        let k = tracks[c];
        if c == 0 {
            // Only loops come in from the left of the first layer: tracks, shaft, arrow.
            track0[0] = 0;
            arrow_x[0] = k + options.arrow_shaft;
            layer_x[0] = if k > 0 { arrow_x[0] + 2 } else { 0 };
        } else {
            let start = layer_x[c - 1] + layer_width[c - 1];
            track0[c] = start + 2;
            arrow_x[c] = start + 1 + if k > 0 { 1 + k } else { 0 } + options.arrow_shaft;
            layer_x[c] = arrow_x[c] + 2;
        }
    }
    let width = match r.layers {
        0 => 0,
        n => {
            // Loops out of the last layer turn down right of it.
            let end = layer_x[n - 1] + layer_width[n - 1];
            track0[n] = end + 2;
            if tracks[n] > 0 {
                end + 2 + tracks[n]
            } else {
                end
            }
        }
    };
    let track_x = |c: usize, col: usize| track0[c] + col;
    let height = node_rows
        + loop_row
            .iter()
            .map(|&row| row + 1 - node_rows)
            .max()
            .unwrap_or(0);

    // Trace every drawn edge, segment by segment from left to right.
    let mut marks: Vec<Mark> = Vec::new();
    let mut spans: Vec<(usize, usize, usize)> = Vec::new(); // (edge, first mark, end)
    let mut points: Vec<(usize, usize)> = Vec::with_capacity(6);
    let mut truncated = false;
    for (e, chain) in r.chains.iter().enumerate() {
        let Some(chain) = chain else { continue };
        let first_mark = marks.len();
        if first_mark > MAX_EDGE_CELLS {
            truncated = true;
            break;
        }
        for (k, &s) in chain.segs.iter().enumerate() {
            let b = bundle_of_seg[s];
            if b == NONE {
                continue;
            }
            let seg = r.segs[s];
            let (u, v) = (seg.from, seg.to);
            let c = r.layer[v];
            let xs = if r.is_virtual(u) {
                layer_x[c - 1]
            } else {
                layer_x[c - 1] + width_of(u) + 1
            };
            let xe = if r.is_virtual(v) {
                layer_x[c] - 1
            } else {
                arrow_x[c]
            };
            points.clear();
            points.push((xs, y[u]));
            let col = bundles[b].col;
            if col != NONE {
                let xt = track_x(c, col);
                points.push((xt, y[u]));
                points.push((xt, y[v]));
            }
            points.push((xe, y[v]));
            trace(&points, k + 1 == chain.segs.len(), &mut marks);
        }
        if marks.len() > MAX_EDGE_CELLS {
            marks.truncate(first_mark);
            truncated = true;
            break;
        }
        spans.push((e, first_mark, marks.len()));
    }
    // Loops: out of the source's right side, down its fork track to the loop's row below the
    // nodes, left along that row (a `←` under the middle layer says which way), up the
    // target's join track and into the target like any edge.
    for (k, l) in r.loops.iter().enumerate() {
        if truncated {
            break;
        }
        let first_mark = marks.len();
        let (lu, lv) = (r.layer[l.from], r.layer[l.to]);
        let (out, into) = loop_bundles[k];
        let (xo, xi) = (
            track_x(lu + 1, bundles[out].col),
            track_x(lv, bundles[into].col),
        );
        let row = loop_row[k];
        points.clear();
        points.extend([
            (layer_x[lu] + width_of(l.from) + 1, y[l.from]),
            (xo, y[l.from]),
            (xo, row),
            (xi, row),
            (xi, y[l.to]),
            (arrow_x[lv], y[l.to]),
        ]);
        trace(&points, true, &mut marks);
        // Under a layer's column no track runs, so the `←` never hides a crossing.
        let xm = if lv <= lu {
            let m = (lv + lu) / 2;
            layer_x[m] + layer_width[m] / 2
        } else {
            xo.midpoint(xi)
        };
        if let Some(m) = marks[first_mark..]
            .iter_mut()
            .find(|m| (m.x, m.y) == (xm, row))
        {
            m.code |= ARROW_LEFT;
        }
        if marks.len() > MAX_EDGE_CELLS {
            marks.truncate(first_mark);
            truncated = true;
            break;
        }
        spans.push((l.edge, first_mark, marks.len()));
    }

    let mut routed: Vec<RoutedEdge> = edges
        .iter()
        .enumerate()
        .map(|(e, &(from, to))| RoutedEdge {
            from,
            to,
            reversed: r.reversed.get(e).copied().unwrap_or(false),
            cells: Vec::new(),
        })
        .collect();
    merge(&marks, &spans, width, &mut routed);

    let nodes = (0..r.real)
        .map(|v| {
            let l = r.layer[v];
            Placed {
                layer: l,
                x: layer_x[l],
                y: y[v],
                width: widths[v],
            }
        })
        .collect();
    Layout {
        width,
        height,
        nodes,
        edges: routed,
        truncated,
    }
}

/// The row, counted below the nodes, of every loop: short loops nearest the nodes, loops
/// whose channel ranges do not meet sharing a row.
fn loop_rows(r: &Ranked) -> Vec<usize> {
    let span = |k: usize| {
        let l = r.loops[k];
        let (a, b) = (r.layer[l.to], r.layer[l.from]);
        (a.min(b), a.max(b) + 1)
    };
    let mut order: Vec<usize> = (0..r.loops.len()).collect();
    order.sort_by_key(|&k| {
        let (a, b) = span(k);
        (b - a, k)
    });
    let mut taken: Vec<Vec<(usize, usize)>> = Vec::new();
    let mut row_of = vec![0usize; r.loops.len()];
    for k in order {
        let (a, b) = span(k);
        let row = taken
            .iter()
            .position(|row| row.iter().all(|&(c, d)| b < c || d < a))
            .unwrap_or(taken.len());
        if row == taken.len() {
            taken.push(Vec::new());
        }
        taken[row].push((a, b));
        row_of[k] = row;
    }
    row_of
}

/// Gives every bundle that needs one a track column in its channel; returns the number of
/// track columns per channel. `events` lists, per channel, where each bundle leaves a row
/// (0) or enters one (1).
fn assign_tracks(
    bundles: &mut [Bundle],
    mut events: Vec<Vec<(usize, u8, usize)>>,
    channels: usize,
) -> Vec<usize> {
    let mut in_channel: Vec<Vec<usize>> = vec![Vec::new(); channels];
    for (b, bundle) in bundles.iter().enumerate() {
        if bundle.lo < bundle.hi && bundle.channel < channels {
            in_channel[bundle.channel].push(b);
        }
    }

    let mut local = vec![NONE; bundles.len()];
    let mut tracks = vec![0usize; channels];
    for c in 0..channels {
        let ids = &in_channel[c];
        if ids.is_empty() {
            continue;
        }
        for (i, &b) in ids.iter().enumerate() {
            local[b] = i;
        }
        // "Must be left of" constraints between bundles sharing a row.
        let mut succ: Vec<Vec<usize>> = vec![Vec::new(); ids.len()];
        let mut indeg = vec![0usize; ids.len()];
        let ev = &mut events[c];
        ev.sort_unstable();
        ev.dedup();
        let mut start = 0;
        while start < ev.len() {
            let row = ev[start].0;
            let mut end = start;
            while end < ev.len() && ev[end].0 == row {
                end += 1;
            }
            let group = &ev[start..end];
            for &(_, _, a) in group.iter().filter(|e| e.1 == 0) {
                for &(_, _, b) in group.iter().filter(|e| e.1 == 1) {
                    if a != b {
                        succ[local[a]].push(local[b]);
                        indeg[local[b]] += 1;
                    }
                }
            }
            start = end;
        }

        // Topological order (top bundles first), cycles broken at the topmost bundle left.
        let keys: Vec<(usize, usize, usize)> = ids
            .iter()
            .enumerate()
            .map(|(i, &b)| (bundles[b].lo, bundles[b].hi, i))
            .collect();
        let key = |i: usize| Reverse(keys[i]);
        let mut heap: BinaryHeap<Reverse<(usize, usize, usize)>> =
            (0..ids.len()).filter(|&i| indeg[i] == 0).map(key).collect();
        let mut placed = vec![false; ids.len()];
        let mut min_col = vec![0usize; ids.len()];
        let mut columns: Vec<Vec<(usize, usize)>> = Vec::new();
        let mut done = 0;
        while done < ids.len() {
            let i = match heap.pop() {
                Some(Reverse((_, _, i))) => i,
                None => match (0..ids.len())
                    .filter(|&i| !placed[i])
                    .min_by_key(|&i| key(i).0)
                {
                    Some(i) => i,
                    None => break,
                },
            };
            if placed[i] {
                continue;
            }
            placed[i] = true;
            done += 1;
            let (lo, hi, _) = keys[i];
            let mut col = min_col[i];
            while col < columns.len() && columns[col].iter().any(|&(a, b)| !(hi < a || b < lo)) {
                col += 1;
            }
            if col == columns.len() {
                columns.push(Vec::new());
            }
            columns[col].push((lo, hi));
            bundles[ids[i]].col = col;
            for &j in &succ[i] {
                min_col[j] = min_col[j].max(col + 1);
                indeg[j] = indeg[j].saturating_sub(1);
                if indeg[j] == 0 && !placed[j] {
                    heap.push(key(j));
                }
            }
        }
        tracks[c] = columns.len();
    }
    tracks
}

/// Marks the cells of a polyline (axis-parallel pieces), in path order, with an arrow head at
/// its end when `head`. The ends extend outwards, so the line runs on into the margin or the
/// arrow head.
fn trace(points: &[(usize, usize)], head: bool, out: &mut Vec<Mark>) {
    let mut pts: Vec<(usize, usize)> = Vec::with_capacity(points.len());
    for &p in points {
        if pts.last() != Some(&p) {
            pts.push(p);
        }
    }
    let Some(&first) = pts.first() else { return };
    let Some(&last) = pts.last() else { return };
    let mark = |out: &mut Vec<Mark>, (x, y): (usize, usize), arms: u8| {
        let mut code = arms;
        if head && (x, y) == last {
            code |= ARROW_RIGHT;
        }
        out.push(Mark { x, y, code });
    };
    if pts.len() == 1 {
        mark(out, first, LEFT | RIGHT);
        return;
    }
    for (i, w) in pts.windows(2).enumerate() {
        let ((x0, y0), (x1, y1)) = (w[0], w[1]);
        let (toward, back) = if y0 == y1 {
            if x1 > x0 {
                (RIGHT, LEFT)
            } else {
                (LEFT, RIGHT)
            }
        } else if y1 > y0 {
            (DOWN, UP)
        } else {
            (UP, DOWN)
        };
        let mut start_arms = toward;
        if i == 0 {
            start_arms |= back;
        }
        let mut end_arms = back;
        if i + 2 == pts.len() {
            end_arms |= toward;
        }
        mark(out, (x0, y0), start_arms);
        let inner = if y0 == y1 { LEFT | RIGHT } else { UP | DOWN };
        let steps = x0.abs_diff(x1) + y0.abs_diff(y1);
        for k in 1..steps {
            let at = if y0 == y1 {
                (if x1 > x0 { x0 + k } else { x0 - k }, y0)
            } else {
                (x0, if y1 > y0 { y0 + k } else { y0 - k })
            };
            mark(out, at, inner);
        }
        mark(out, (x1, y1), end_arms);
    }
}

/// The union of all marks per cell: a dense grid for ordinary sizes, a map for huge areas.
enum Grid {
    Dense { width: usize, codes: Vec<u8> },
    Sparse(HashMap<(usize, usize), u8>),
}

impl Grid {
    fn new(width: usize, height: usize) -> Grid {
        match width.checked_mul(height) {
            Some(area) if area <= DENSE_CELLS => Grid::Dense {
                width,
                codes: vec![0; area],
            },
            _ => Grid::Sparse(HashMap::new()),
        }
    }

    fn add(&mut self, m: &Mark) {
        match self {
            Grid::Dense { width, codes } => {
                if let Some(c) = codes.get_mut(m.y * *width + m.x) {
                    *c |= m.code;
                }
            }
            Grid::Sparse(map) => *map.entry((m.x, m.y)).or_insert(0) |= m.code,
        }
    }

    fn get(&self, x: usize, y: usize) -> u8 {
        match self {
            Grid::Dense { width, codes } => codes.get(y * *width + x).copied().unwrap_or(0),
            Grid::Sparse(map) => map.get(&(x, y)).copied().unwrap_or(0),
        }
    }
}

/// Unites the marks of every cell into one glyph and hands each edge its cells, in path order.
fn merge(marks: &[Mark], spans: &[(usize, usize, usize)], width: usize, routed: &mut [RoutedEdge]) {
    let height = marks.iter().map(|m| m.y + 1).max().unwrap_or(0);
    let mut grid = Grid::new(width, height);
    for m in marks {
        grid.add(m);
    }
    for &(e, start, end) in spans {
        let Some(edge) = routed.get_mut(e) else {
            continue;
        };
        edge.cells.reserve(end - start);
        for m in &marks[start..end] {
            let code = grid.get(m.x, m.y);
            // An arrow head (into a node) wins over a loop's direction mark.
            let glyph = if code & ARROW_RIGHT != 0 {
                Glyph::ArrowRight
            } else if code & ARROW_LEFT != 0 {
                Glyph::ArrowLeft
            } else {
                Glyph::from_arms(code)
            };
            let cell = EdgeCell {
                x: m.x,
                y: m.y,
                glyph,
            };
            if edge.cells.last().is_none_or(|c| (c.x, c.y) != (m.x, m.y)) {
                edge.cells.push(cell);
            }
        }
    }
}
