//! Text rendering of a graph [`Layout`]: a canvas of cells, each tagged with what owns it
//! (a node, an edge, nothing), and its plain-text form for `wfop graph` and line mode.
//!
//! The TUI paints the same [`Canvas`] cell by cell into its buffer and styles each cell by its
//! [`Owner`], so the graph looks the same in every front end.
//!
//! Glyphs, Unicode | ASCII (`--ascii`):
//!
//! | what                          | Unicode           | ASCII |
//! |-------------------------------|-------------------|-------|
//! | start node                    | `○`               | `o`   |
//! | end node                      | `●`               | `@`   |
//! | service node                  | `[label]`         | `[label]` |
//! | exclusive gateway             | `◇× label`        | `<x> label` |
//! | parallel gateway              | `◇+ label`        | `<+> label` |
//! | timer                         | `◷ label 30s`     | `(t) label 30s` |
//! | a BPMN element wfop does not run (a user task, …) | `[⊘ label]`, `◇× ⊘ label` | `[(/) label]`, `<x> (/) label` |
//! | horizontal line               | `─`               | `-`   |
//! | vertical line                 | `│`               | `\|`  |
//! | corners, tees, crossings      | `┌ ┐ └ ┘ ├ ┤ ┬ ┴ ┼` | `+` |
//! | arrow head                    | `→`               | `>`   |
//! | a loop's way back (under it)  | `←`               | `<`   |
//! | an edge's label, where it fits | `──Yes─→`        | `--Yes-->` |
//!
//! Lay out with [`Charset::layout_options`] so that ASCII arrows get their shaft:
//! `○ → [Service] → ●` in Unicode, `o -> [Service] -> @` in ASCII.

use crate::human::{self, Form};
use crate::workflow::layout::{self, Glyph, Layout, LayoutNode, LayoutOptions, Shape, char_width};
use crate::workflow::{Node, NodeKind, Workflow};

/// Which characters draw the graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Charset {
    #[default]
    Unicode,
    Ascii,
}

impl Charset {
    /// The character of an edge glyph.
    pub fn glyph(self, glyph: Glyph) -> char {
        match self {
            Charset::Unicode => match glyph {
                Glyph::Horizontal => '─',
                Glyph::Vertical => '│',
                Glyph::DownRight => '┌',
                Glyph::DownLeft => '┐',
                Glyph::UpRight => '└',
                Glyph::UpLeft => '┘',
                Glyph::TeeRight => '├',
                Glyph::TeeLeft => '┤',
                Glyph::TeeDown => '┬',
                Glyph::TeeUp => '┴',
                Glyph::Cross => '┼',
                Glyph::ArrowRight => '→',
                Glyph::ArrowLeft => '←',
            },
            Charset::Ascii => match glyph {
                Glyph::Horizontal => '-',
                Glyph::Vertical => '|',
                Glyph::ArrowRight => '>',
                Glyph::ArrowLeft => '<',
                _ => '+',
            },
        }
    }

    /// The layout options this charset draws well with.
    pub fn layout_options(self) -> LayoutOptions {
        match self {
            Charset::Unicode => LayoutOptions { arrow_shaft: 0 },
            Charset::Ascii => LayoutOptions { arrow_shaft: 1 },
        }
    }

    /// The text of a node: the start and end marks, a service label in a box, a gateway's or
    /// a timer's mark with its label (terminal-safe: `safe`, so a label's escapes neither reach
    /// the terminal nor break the layout).
    pub fn node_text(self, shape: Shape, label: &str) -> String {
        let label = crate::safe::line(label);
        let marked = |mark: &str| {
            if label.is_empty() {
                mark.to_string()
            } else {
                format!("{mark} {label}")
            }
        };
        match shape {
            Shape::Start | Shape::End => self.mark(shape).to_string(),
            Shape::Service => format!("[{label}]"),
            Shape::Exclusive | Shape::Parallel | Shape::Timer => marked(self.mark(shape)),
        }
    }

    /// The mark before the label of a node wfop does not run (`Node::unsupported`): `⊘`
    /// (ASCII `(/)`).
    pub fn unsupported_mark(self) -> &'static str {
        match self {
            Charset::Unicode => "⊘",
            Charset::Ascii => "(/)",
        }
    }

    /// The mark before the label of a service that runs on the hub (`run.hub`): `☁` (ASCII
    /// `(hub)`).
    pub fn hub_mark(self) -> &'static str {
        match self {
            Charset::Unicode => "☁",
            Charset::Ascii => "(hub)",
        }
    }

    /// The mark of a shape: `○`, `●`, `◇×`, `◇+`, `◷` (ASCII `o`, `@`, `<x>`, `<+>`, `(t)`);
    /// a service's box has none.
    pub fn mark(self, shape: Shape) -> &'static str {
        match (shape, self) {
            (Shape::Start, Charset::Unicode) => "○",
            (Shape::Start, Charset::Ascii) => "o",
            (Shape::End, Charset::Unicode) => "●",
            (Shape::End, Charset::Ascii) => "@",
            (Shape::Exclusive, Charset::Unicode) => "◇×",
            (Shape::Exclusive, Charset::Ascii) => "<x>",
            (Shape::Parallel, Charset::Unicode) => "◇+",
            (Shape::Parallel, Charset::Ascii) => "<+>",
            (Shape::Timer, Charset::Unicode) => "◷",
            (Shape::Timer, Charset::Ascii) => "(t)",
            (Shape::Service, _) => "",
        }
    }
}

/// What a canvas cell belongs to; indexes are those of the layout's input nodes and edges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Owner {
    #[default]
    Empty,
    Node(usize),
    Edge(usize),
}

/// One cell. `ch` is [`Cell::WIDE_TAIL`] for the right half of a double-width character (paint
/// nothing there; the character on its left covers it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cell {
    pub ch: char,
    pub owner: Owner,
}

impl Cell {
    pub const WIDE_TAIL: char = '\0';
    const BLANK: Cell = Cell {
        ch: ' ',
        owner: Owner::Empty,
    };
}

/// A part of a layout, in layout cells: what a scrolled pane shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Window {
    pub x: usize,
    pub y: usize,
    pub width: usize,
    pub height: usize,
}

/// A `width × height` grid of cells painted from a layout (or from a window of it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Canvas {
    origin: (usize, usize),
    width: usize,
    height: usize,
    cells: Vec<Cell>,
}

impl Canvas {
    /// Paints the edges, then the node texts (`texts[i]` for node `i`; a missing text paints
    /// blanks). A text is truncated or padded with blanks to its node's width; control
    /// characters are shown as `�`, zero-width characters are dropped.
    pub fn paint(layout: &Layout, texts: &[String], charset: Charset) -> Canvas {
        let whole = Window {
            x: 0,
            y: 0,
            width: layout.width,
            height: layout.height,
        };
        Canvas::paint_window(layout, texts, charset, whole)
    }

    /// Paints only `window` of the layout, as [`Canvas::paint`] does the whole; the canvas'
    /// cell `(0, 0)` is the window's top left. A double-width character cut by the window's
    /// edge is painted as a blank.
    pub fn paint_window(
        layout: &Layout,
        texts: &[String],
        charset: Charset,
        window: Window,
    ) -> Canvas {
        Canvas::paint_ranked(layout, texts, charset, window, |_| 0)
    }

    /// Paints like [`Canvas::paint_window`], but a cell that several edges share (a fork's or
    /// a join's track) belongs to the one of highest `rank` (the first in input order among
    /// equals): the TUI ranks the edges a run took over the others.
    pub fn paint_ranked(
        layout: &Layout,
        texts: &[String],
        charset: Charset,
        window: Window,
        rank: impl Fn(usize) -> u8,
    ) -> Canvas {
        let all: Vec<usize> = (0..layout.edges.len()).collect();
        Canvas::paint_ranked_edges(layout, texts, charset, window, rank, all)
    }

    /// Paints like [`Canvas::paint_ranked`], but only the layout edges `edges` (in input
    /// order): the caller leaves out edges it knows lie outside the window (a 10 000-node
    /// graph's pane paints the few hundred it shows, not all of them).
    pub fn paint_ranked_edges(
        layout: &Layout,
        texts: &[String],
        charset: Charset,
        window: Window,
        rank: impl Fn(usize) -> u8,
        edges: Vec<usize>,
    ) -> Canvas {
        let mut canvas = Canvas {
            origin: (window.x, window.y),
            width: window.width,
            height: window.height,
            cells: vec![Cell::BLANK; window.width.saturating_mul(window.height)],
        };
        let mut order: Vec<usize> = edges
            .into_iter()
            .filter(|&e| e < layout.edges.len())
            .collect();
        order.sort_by_key(|&e| std::cmp::Reverse(rank(e)));
        for (e, edge) in order.into_iter().map(|e| (e, &layout.edges[e])) {
            for c in &edge.cells {
                if let Some(cell) = canvas.at_mut(c.x, c.y)
                    && cell.owner == Owner::Empty
                {
                    *cell = Cell {
                        ch: charset.glyph(c.glyph),
                        owner: Owner::Edge(e),
                    };
                }
            }
        }
        let (y0, y1) = (window.y, window.y.saturating_add(window.height));
        for (i, node) in layout.nodes.iter().enumerate() {
            if node.y < y0 || node.y >= y1 {
                continue;
            }
            let text = texts.get(i).map(String::as_str).unwrap_or("");
            canvas.paint_text(node.x, node.y, node.width, text, Owner::Node(i));
        }
        canvas
    }

    /// Writes each labelled edge's label (`label(e)` for layout edge `e`: a BPMN flow's name,
    /// `Yes`) into the middle of its longest straight horizontal run, where that run still
    /// shows the edge and is at least two cells longer than the label: `──Yes─→`. A label
    /// that fits nowhere is not drawn (the layout makes no room for labels); one with a
    /// character that is not one cell wide neither.
    pub fn label_edges<'l>(&mut self, layout: &Layout, label: impl Fn(usize) -> Option<&'l str>) {
        for (e, edge) in layout.edges.iter().enumerate() {
            let Some(text) = label(e) else { continue };
            let words: Vec<&str> = text.split_whitespace().collect();
            let text = crate::safe::line(&words.join(" ")).into_owned();
            let chars: Vec<char> = text.chars().collect();
            if chars.is_empty() || chars.iter().any(|&c| char_width(c) != 1) {
                continue;
            }
            // The cells still showing this edge's horizontal line, by row, left to right.
            let mut cells: Vec<(usize, usize)> = edge
                .cells
                .iter()
                .filter(|c| c.glyph == Glyph::Horizontal)
                .filter(|c| self.owned_at(c.x, c.y) == Some(Owner::Edge(e)))
                .map(|c| (c.y, c.x))
                .collect();
            cells.sort_unstable();
            cells.dedup();
            let mut best: Option<(usize, usize, usize)> = None; // (y, start x, length)
            let mut run: Option<(usize, usize, usize)> = None;
            for (y, x) in cells {
                run = match run {
                    Some((ry, rx, len)) if ry == y && rx + len == x => Some((ry, rx, len + 1)),
                    _ => Some((y, x, 1)),
                };
                if let Some(r) = run
                    && best.is_none_or(|b| r.2 > b.2)
                {
                    best = Some(r);
                }
            }
            let Some((y, x, len)) = best.filter(|b| b.2 >= chars.len() + 2) else {
                continue;
            };
            let start = x + (len - chars.len()) / 2;
            for (k, &ch) in chars.iter().enumerate() {
                self.set(
                    start + k,
                    y,
                    Cell {
                        ch,
                        owner: Owner::Edge(e),
                    },
                );
            }
        }
    }

    /// The owner of the cell at layout coordinates, if inside the window.
    fn owned_at(&mut self, x: usize, y: usize) -> Option<Owner> {
        self.at_mut(x, y).map(|c| c.owner)
    }

    /// Paints a node's text at layout coordinates.
    fn paint_text(&mut self, x: usize, y: usize, width: usize, text: &str, owner: Owner) {
        let (x0, y0) = self.origin;
        if y < y0 || y >= y0 + self.height {
            return;
        }
        let end = x.saturating_add(width);
        let mut at = x;
        for c in text.chars() {
            let (c, w) = match unicode_width::UnicodeWidthChar::width(c) {
                Some(0) => continue,
                Some(w) => (c, w),
                None => ('\u{FFFD}', char_width(c)),
            };
            if at + w > end {
                break;
            }
            // A wide character the window cuts in half shows as blanks.
            let whole = at >= x0 && at + w <= x0 + self.width;
            for k in 0..w {
                let ch = match (whole, k) {
                    (false, _) => ' ',
                    (true, 0) => c,
                    (true, _) => Cell::WIDE_TAIL,
                };
                self.set(at + k, y, Cell { ch, owner });
            }
            at += w;
        }
        for pad in at..end {
            self.set(pad, y, Cell { ch: ' ', owner });
        }
    }

    /// The cell at layout coordinates, if inside the window.
    fn at_mut(&mut self, x: usize, y: usize) -> Option<&mut Cell> {
        let (x0, y0) = self.origin;
        let (x, y) = (x.checked_sub(x0)?, y.checked_sub(y0)?);
        if x < self.width && y < self.height {
            self.cells.get_mut(y * self.width + x)
        } else {
            None
        }
    }

    fn set(&mut self, x: usize, y: usize, cell: Cell) {
        if let Some(c) = self.at_mut(x, y) {
            *c = cell;
        }
    }

    pub fn width(&self) -> usize {
        self.width
    }

    pub fn height(&self) -> usize {
        self.height
    }

    /// The cell at `(x, y)` of the canvas (relative to its window), `None` outside.
    pub fn get(&self, x: usize, y: usize) -> Option<&Cell> {
        if x < self.width && y < self.height {
            self.cells.get(y * self.width + x)
        } else {
            None
        }
    }

    /// The cells of row `y`, left to right (empty outside the canvas).
    pub fn row(&self, y: usize) -> &[Cell] {
        if y < self.height {
            &self.cells[y * self.width..(y + 1) * self.width]
        } else {
            &[]
        }
    }

    /// The canvas as text: rows without trailing blanks, joined by `\n`.
    pub fn to_text(&self) -> String {
        let mut out = String::with_capacity(self.cells.len() + self.height);
        for y in 0..self.height {
            if y > 0 {
                out.push('\n');
            }
            let line_start = out.len();
            out.extend(
                self.row(y)
                    .iter()
                    .map(|c| c.ch)
                    .filter(|&c| c != Cell::WIDE_TAIL),
            );
            let trimmed = out[line_start..].trim_end_matches(' ').len();
            out.truncate(line_start + trimmed);
        }
        out
    }
}

/// Renders a layout as text (see [`Canvas::paint`] and [`Canvas::to_text`]).
pub fn render_text(layout: &Layout, texts: &[String], charset: Charset) -> String {
    Canvas::paint(layout, texts, charset).to_text()
}

/// Lays out and renders a whole graph given as `(shape, label)` per node: the one call behind
/// `wfop graph`.
pub fn render_graph(nodes: &[(Shape, &str)], edges: &[(usize, usize)], charset: Charset) -> String {
    let texts: Vec<String> = nodes
        .iter()
        .map(|&(shape, label)| charset.node_text(shape, label))
        .collect();
    let shapes: Vec<Shape> = nodes.iter().map(|&(shape, _)| shape).collect();
    render_texts(&shapes, &texts, edges, &[], charset)
}

/// Lays out and renders nodes given as their shapes and finished texts, and edges with their
/// labels (`labels[e]` for `edges[e]`, drawn where they fit: [`Canvas::label_edges`]).
fn render_texts(
    shapes: &[Shape],
    texts: &[String],
    edges: &[(usize, usize)],
    labels: &[Option<&str>],
    charset: Charset,
) -> String {
    let layout_nodes: Vec<LayoutNode> = shapes
        .iter()
        .zip(texts)
        .map(|(&shape, text)| LayoutNode::for_text(shape, text))
        .collect();
    let laid = layout::layout_with(&layout_nodes, edges, &charset.layout_options());
    let mut canvas = Canvas::paint(&laid, texts, charset);
    canvas.label_edges(&laid, |e| labels.get(e).copied().flatten());
    canvas.to_text()
}

#[cfg(test)]
mod tests;

/// The layout shape of a workflow node.
pub fn shape_of(kind: NodeKind) -> Shape {
    match kind {
        NodeKind::Start => Shape::Start,
        NodeKind::Service => Shape::Service,
        NodeKind::End => Shape::End,
        NodeKind::Exclusive => Shape::Exclusive,
        NodeKind::Parallel => Shape::Parallel,
        NodeKind::Timer => Shape::Timer,
    }
}

/// What a node's mark is labelled with when nothing runs: its label, a timer's wait as a
/// workflow writes it (`poll 30s`), the mark of a node wfop does not run (`⊘ Approve`) and of
/// a service on the hub (`☁ Solve`).
pub fn static_label(node: &Node, charset: Charset) -> String {
    let label = match timer_wait(node) {
        Some(wait) => format!("{} {wait}", node.line_label()),
        None => node.line_label().into_owned(),
    };
    match (&node.unsupported, &node.run) {
        (Some(_), _) => format!("{} {label}", charset.unsupported_mark()),
        (None, Some(crate::workflow::Run::Hub(_))) => format!("{} {label}", charset.hub_mark()),
        (None, _) => label,
    }
}

/// A timer's wait as its box shows it before it runs (`30s`), unless its label says it already
/// (a BPMN timer named `Wait 30s`): `None` then, and for every other node.
pub fn timer_wait(node: &Node) -> Option<String> {
    let t = node
        .timer
        .as_ref()
        .filter(|_| node.kind == NodeKind::Timer)?;
    let wait = human::duration(t.duration, Form::Exact);
    let label = node.line_label();
    let said = label
        .split(|c: char| c.is_whitespace() || "()[],;:".contains(c))
        .any(|w| w == wait);
    (!said).then_some(wait)
}

/// Every edge the graph of a workflow draws, as `(number, from, to)` node indexes: the
/// workflow's edges, numbered as in `wf.edges`, then each node's error paths (`errors[].to`),
/// numbered on from `wf.edges.len()` in node and file order. Edges naming an unknown node are
/// left out (their numbers are not reused).
pub fn graph_edges(wf: &Workflow) -> Vec<(usize, usize, usize)> {
    edge_ends(wf)
        .into_iter()
        .enumerate()
        .filter_map(|(k, (from, to))| Some((k, from?, to?)))
        .collect()
}

/// The ends of every edge as [`graph_edges`] numbers them (edges, then error paths), as node
/// indexes, `None` for an id no node has: one map, not a scan of the nodes per edge (10 000
/// nodes: 2·10⁸ comparisons).
pub fn edge_ends(wf: &Workflow) -> Vec<(Option<usize>, Option<usize>)> {
    let by_id = wf.index_by_id();
    let index = |id: &str| by_id.get(id).copied();
    let paths = wf
        .nodes
        .iter()
        .enumerate()
        .flat_map(|(i, n)| n.errors.iter().map(move |p| (i, p.to.as_str())));
    wf.edges
        .iter()
        .map(|e| (index(&e.from), index(&e.to)))
        .chain(paths.map(|(i, to)| (Some(i), index(to))))
        .collect()
}

/// The label of the edge [`graph_edges`] numbers `k`: a workflow edge's `label` (a BPMN
/// flow's name); error paths have none.
pub fn edge_label(wf: &Workflow, k: usize) -> Option<&str> {
    wf.edges.get(k)?.label.as_deref()
}

/// The number [`graph_edges`] gives the error path of node `node` that catches `code`.
pub fn error_path_number(wf: &Workflow, node: usize, code: &str) -> Option<usize> {
    let before: usize = wf.nodes.iter().take(node).map(|n| n.errors.len()).sum();
    let k = wf
        .nodes
        .get(node)?
        .errors
        .iter()
        .position(|p| p.code == code)?;
    Some(wf.edges.len() + before + k)
}

/// A workflow's graph as text, nodes shown by their labels (`wfop graph`).
pub fn workflow_graph_text(wf: &Workflow, charset: Charset) -> String {
    let shapes: Vec<Shape> = wf.nodes.iter().map(|n| shape_of(n.kind)).collect();
    let texts: Vec<String> = wf
        .nodes
        .iter()
        .zip(&shapes)
        .map(|(n, &shape)| match (n.kind, &n.unsupported) {
            // A start or end event wfop does not run: its mark, marked.
            (NodeKind::Start | NodeKind::End, Some(_)) => {
                format!("{} {}", charset.unsupported_mark(), charset.mark(shape))
            }
            _ => charset.node_text(shape, &static_label(n, charset)),
        })
        .collect();
    let drawn = graph_edges(wf);
    let edges: Vec<(usize, usize)> = drawn.iter().map(|&(_, a, b)| (a, b)).collect();
    let labels: Vec<Option<&str>> = drawn.iter().map(|&(k, _, _)| edge_label(wf, k)).collect();
    render_texts(&shapes, &texts, &edges, &labels, charset)
}
