//! Layered left-to-right layout of a workflow graph: pure data, no drawing.
//! Places every node on a layer, column and row, and routes every edge as orthogonal glyph cells.
//!
//! The pipeline (Sugiyama style) is split by job:
//! - `rank`: drop unusable edges, break cycles (DFS back edges are reversed), assign layers by
//!   longest path from the sources, and cut long edges into chains of virtual nodes;
//! - `order`: order each layer with barycenter sweeps, then give every node a row;
//! - `route`: size the columns and the routing channels between them, and trace the edges.
//!
//! Coordinates are terminal cells, `x` to the right and `y` down; every node is one row high.
//! A [`Glyph`] is abstract, so a renderer can draw it with Unicode box drawing or with ASCII.
//!
//! Drawing conventions the layout produces (shown with Unicode glyphs):
//! `○ → [A] → ●` for a straight edge; a fork leaves its node on one vertical "track"
//! (`[A] ─┤`, `┌→ [B]`, `└→ [C]`), a join enters its node from one track (`[B] ─┐`,
//! `├→ [D]`). Sibling boxes in a layer are one blank row apart; edges passing through a layer
//! may run right next to a box. An edge that closes a cycle (a loop) is left out of the layering
//! and drawn around the bottom: out of its source's right side, down, left along a row of its
//! own below the nodes (a `←` there says which way), up, and into its target from the left like
//! any edge (`┌→ [A] → ◇× ─┐` over `└────←───┘`). Shorter loops run nearer the nodes.

mod order;
mod rank;
mod route;

/// What a node looks like; the layout only needs its width, the renderer and the TUI the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Shape {
    /// `○`, one cell wide.
    Start,
    /// `●`, one cell wide.
    End,
    /// A box `[label]`.
    Service,
    /// An exclusive gateway, `◇× label`.
    Exclusive,
    /// A parallel gateway, `◇+ label`.
    Parallel,
    /// A timer, `◷ label 30s`.
    Timer,
}

/// One node to lay out: its shape and the width, in terminal cells, of the text the caller draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayoutNode {
    pub shape: Shape,
    pub width: usize,
}

impl LayoutNode {
    pub fn new(shape: Shape, width: usize) -> Self {
        LayoutNode { shape, width }
    }

    /// A node whose drawn text is `text`, measured with [`display_width`].
    pub fn for_text(shape: Shape, text: &str) -> Self {
        LayoutNode::new(shape, display_width(text))
    }
}

/// Widths are clamped into `1..=MAX_NODE_WIDTH` cells (a renderer truncates longer texts).
pub const MAX_NODE_WIDTH: usize = 1024;

/// Knobs of the layout; the defaults suit Unicode drawing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LayoutOptions {
    /// Horizontal cells always drawn right before an arrow head: 0 gives `○ → [A]`, 1 gives
    /// `o -> [A]` (what the ASCII charset wants, whose arrow head `>` needs a shaft).
    pub arrow_shaft: usize,
}

/// Where a node went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placed {
    /// Layer (column index), 0 for sources.
    pub layer: usize,
    /// Leftmost cell of the node's text.
    pub x: usize,
    /// Row of the node.
    pub y: usize,
    /// Width in cells (the input width, clamped into `1..=MAX_NODE_WIDTH`).
    pub width: usize,
}

/// The abstract glyph of one edge cell. Lines are named by the arms they have: a corner
/// `DownRight` (`┌`) connects down and right; a tee `TeeRight` (`├`) is a vertical line with an
/// arm to the right. All edges sharing a cell see the same glyph: the union of their arms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Glyph {
    /// `─`
    Horizontal,
    /// `│`
    Vertical,
    /// `┌`
    DownRight,
    /// `┐`
    DownLeft,
    /// `└`
    UpRight,
    /// `┘`
    UpLeft,
    /// `├`
    TeeRight,
    /// `┤`
    TeeLeft,
    /// `┬`
    TeeDown,
    /// `┴`
    TeeUp,
    /// `┼`: a junction of four arms, or one line crossing another.
    Cross,
    /// `→`: the head of an edge, right before its target.
    ArrowRight,
    /// `←`: the direction of a loop, on its run back along the bottom.
    ArrowLeft,
}

/// Arm bits of a line cell (see [`Glyph::from_arms`]).
pub const UP: u8 = 1;
pub const DOWN: u8 = 2;
pub const LEFT: u8 = 4;
pub const RIGHT: u8 = 8;

impl Glyph {
    /// The line glyph with these arms (a single arm counts as a straight line through the cell).
    pub fn from_arms(arms: u8) -> Glyph {
        let arms = arms & (UP | DOWN | LEFT | RIGHT);
        let vertical = arms & (UP | DOWN) != 0;
        let horizontal = arms & (LEFT | RIGHT) != 0;
        match (vertical, horizontal) {
            (false, _) => Glyph::Horizontal,
            (true, false) => Glyph::Vertical,
            (true, true) => match arms {
                a if a == DOWN | RIGHT => Glyph::DownRight,
                a if a == DOWN | LEFT => Glyph::DownLeft,
                a if a == UP | RIGHT => Glyph::UpRight,
                a if a == UP | LEFT => Glyph::UpLeft,
                a if a == UP | DOWN | RIGHT => Glyph::TeeRight,
                a if a == UP | DOWN | LEFT => Glyph::TeeLeft,
                a if a == LEFT | RIGHT | DOWN => Glyph::TeeDown,
                a if a == LEFT | RIGHT | UP => Glyph::TeeUp,
                // Four arms, or a vertical end with both horizontal arms and the like.
                _ => Glyph::Cross,
            },
        }
    }
}

/// One cell of a routed edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EdgeCell {
    pub x: usize,
    pub y: usize,
    pub glyph: Glyph,
}

/// The drawing of one input edge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutedEdge {
    pub from: usize,
    pub to: usize,
    /// The edge closes a cycle (a self-loop too): it is drawn as a loop around the bottom.
    pub reversed: bool,
    /// Its cells in path order, from its source to the arrow head before its target (a cell
    /// where the path turns appears once). Empty for an edge that is not drawn: an index out
    /// of range, a duplicate of an earlier edge (which is drawn once, by the first), or an
    /// edge past the cell budget of a truncated layout.
    pub cells: Vec<EdgeCell>,
}

/// The result: a `width × height` cell area, nodes indexed like the input nodes, edges indexed
/// like the input edges.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Layout {
    pub width: usize,
    pub height: usize,
    pub nodes: Vec<Placed>,
    pub edges: Vec<RoutedEdge>,
    /// Some edges were left undrawn (empty `cells`) because the drawing would have been too
    /// big: a safety valve for pathological, very dense graphs, never hit by real workflows.
    pub truncated: bool,
}

/// Lays out a graph with the default (Unicode) options. Never panics: out-of-range edges are
/// ignored, duplicates drawn once, cycles broken at their back edges and drawn as loops.
pub fn layout(nodes: &[LayoutNode], edges: &[(usize, usize)]) -> Layout {
    layout_with(nodes, edges, &LayoutOptions::default())
}

/// Lays out a graph, see [`layout`].
pub fn layout_with(
    nodes: &[LayoutNode],
    edges: &[(usize, usize)],
    options: &LayoutOptions,
) -> Layout {
    let widths: Vec<usize> = nodes
        .iter()
        .map(|n| n.width.clamp(1, MAX_NODE_WIDTH))
        .collect();
    let ranked = rank::rank(nodes.len(), edges);
    let rows = order::place_rows(&ranked);
    route::route(&ranked, &widths, &rows, edges, options)
}

/// Display width in cells of one character, as the renderer paints it: control characters are
/// shown as one replacement character, zero-width characters are dropped.
pub fn char_width(c: char) -> usize {
    unicode_width::UnicodeWidthChar::width(c).unwrap_or(1)
}

/// Display width in cells of a text, as the renderer paints it (the sum of [`char_width`]).
pub fn display_width(text: &str) -> usize {
    text.chars().map(char_width).sum()
}

#[cfg(test)]
mod tests;
