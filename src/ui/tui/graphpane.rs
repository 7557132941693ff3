//! The graph pane: node texts with status glyph, duration and redaction count, the layered
//! layout (recomputed only when a text's width changes), keyboard navigation, and painting.

use std::time::Duration;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;

use super::theme::{Role, Theme};
use crate::engine::{NodeOutcome, NodeState};
use crate::human::{self, Form};
use crate::ui::graph::{Canvas, Cell, Charset, Owner, Window, shape_of};
use crate::workflow::layout::{self, Layout, LayoutNode, Shape};
use crate::workflow::{NodeKind, Workflow};

const SPINNER: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const SPINNER_ASCII: [char; 4] = ['|', '/', '-', '\\'];

/// The status glyph; `frame` animates running nodes.
pub fn glyph(state: NodeState, frame: usize, charset: Charset) -> char {
    let uni = charset == Charset::Unicode;
    match state {
        NodeState::Pending => {
            if uni {
                '·'
            } else {
                '.'
            }
        }
        NodeState::Running => {
            if uni {
                SPINNER[frame % SPINNER.len()]
            } else {
                SPINNER_ASCII[frame % SPINNER_ASCII.len()]
            }
        }
        NodeState::Waiting => {
            if uni {
                '↻'
            } else {
                '~'
            }
        }
        NodeState::Done(outcome) => match (outcome, uni) {
            (NodeOutcome::Succeeded, true) => '✓',
            (NodeOutcome::Succeeded, false) => '+',
            (NodeOutcome::Failed | NodeOutcome::TimedOut, true) => '✗',
            (NodeOutcome::Failed | NodeOutcome::TimedOut, false) => 'x',
            (NodeOutcome::Cancelled, true) => '⊘',
            (NodeOutcome::Cancelled, false) => '!',
            (NodeOutcome::Skipped, _) => '-',
        },
    }
}

/// The theme role of a state.
pub fn status_role(state: NodeState) -> Role {
    match state {
        NodeState::Pending => Role::StatusPending,
        NodeState::Running | NodeState::Waiting => Role::StatusRunning,
        NodeState::Done(outcome) => match outcome {
            NodeOutcome::Succeeded => Role::StatusSucceeded,
            NodeOutcome::Failed | NodeOutcome::TimedOut => Role::StatusFailed,
            NodeOutcome::Cancelled => Role::StatusCancelled,
            NodeOutcome::Skipped => Role::StatusSkipped,
        },
    }
}

/// What one node shows: `[✓ Label 1.2s]`, `[⠋ Label 0.3s *2]` (2 redactions); `time` is how
/// long it has run or took (none while pending or when skipped).
pub fn node_text(
    kind: NodeKind,
    label: &str,
    state: NodeState,
    time: Option<Duration>,
    redactions: u64,
    frame: usize,
    charset: Charset,
) -> String {
    if kind != NodeKind::Service {
        return charset.node_text(shape_of(kind), label);
    }
    let g = glyph(state, frame, charset);
    let dur = time
        .map(|d| format!(" {}", human::duration(d, Form::Compact)))
        .unwrap_or_default();
    // Durations take a fixed 6 cells, so the layout does not move as the clock runs.
    let red = if redactions > 0 {
        format!(" *{redactions}")
    } else {
        String::new()
    };
    format!("[{g} {label}{dur:>6}{red}]")
}

/// The laid-out graph of one workflow, with the texts it was laid out for.
#[derive(Debug, Clone)]
pub struct GraphModel {
    pub layout: Layout,
    widths: Vec<usize>,
    shapes: Vec<Shape>,
    edges: Vec<(usize, usize)>,
    charset: Charset,
}

impl GraphModel {
    pub fn new(wf: &Workflow, charset: Charset) -> Self {
        let shapes: Vec<Shape> = wf.nodes.iter().map(|n| shape_of(n.kind)).collect();
        let mut g = GraphModel {
            layout: Layout::default(),
            widths: Vec::new(),
            shapes,
            edges: wf.edge_indices(),
            charset,
        };
        let texts: Vec<String> = wf
            .nodes
            .iter()
            .map(|n| {
                node_text(
                    n.kind,
                    n.display_label(),
                    NodeState::Pending,
                    None,
                    0,
                    0,
                    charset,
                )
            })
            .collect();
        g.relayout(&texts);
        g
    }

    /// Lays out again if any text's width changed; true if it did.
    pub fn relayout(&mut self, texts: &[String]) -> bool {
        let widths: Vec<usize> = texts.iter().map(|t| layout::display_width(t)).collect();
        if widths == self.widths {
            return false;
        }
        let nodes: Vec<LayoutNode> = self
            .shapes
            .iter()
            .zip(&widths)
            .map(|(&s, &w)| LayoutNode::new(s, w))
            .collect();
        self.layout = layout::layout_with(&nodes, &self.edges, &self.charset.layout_options());
        self.widths = widths;
        true
    }

    /// The node reached from `from` by an arrow key: Up/Down stay in the layer, Left/Right go
    /// to the nearest node (by row) of the previous/next layer that has one.
    pub fn step(&self, from: usize, dir: Dir) -> usize {
        let nodes = &self.layout.nodes;
        let Some(cur) = nodes.get(from) else {
            return from;
        };
        let candidates = nodes.iter().enumerate().filter(|(i, _)| *i != from);
        let best = match dir {
            Dir::Up => candidates
                .filter(|(_, n)| n.layer == cur.layer && n.y < cur.y)
                .max_by_key(|(_, n)| n.y),
            Dir::Down => candidates
                .filter(|(_, n)| n.layer == cur.layer && n.y > cur.y)
                .min_by_key(|(_, n)| n.y),
            Dir::Left | Dir::Right => {
                let layers: Vec<usize> = nodes.iter().map(|n| n.layer).collect();
                let target = if dir == Dir::Left {
                    layers.iter().copied().filter(|&l| l < cur.layer).max()
                } else {
                    layers.iter().copied().filter(|&l| l > cur.layer).min()
                };
                target.and_then(|t| {
                    candidates
                        .filter(|(_, n)| n.layer == t)
                        .min_by_key(|(_, n)| (n.y.abs_diff(cur.y), n.y))
                })
            }
        };
        best.map_or(from, |(i, _)| i)
    }

    /// The scroll offset that keeps node `sel` inside a `w × h` window, moving `prev` as
    /// little as possible.
    pub fn scroll_for(
        &self,
        sel: usize,
        prev: (usize, usize),
        w: usize,
        h: usize,
    ) -> (usize, usize) {
        let max_x = self.layout.width.saturating_sub(w);
        let max_y = self.layout.height.saturating_sub(h);
        let (mut x, mut y) = (prev.0.min(max_x), prev.1.min(max_y));
        if let Some(n) = self.layout.nodes.get(sel) {
            if n.x < x {
                x = n.x;
            } else if n.x + n.width > x + w {
                x = (n.x + n.width).saturating_sub(w).min(n.x);
            }
            if n.y < y {
                y = n.y;
            } else if n.y >= y + h {
                y = n.y + 1 - h;
            }
        }
        (x, y)
    }
}

/// A direction key in the graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    Up,
    Down,
    Left,
    Right,
}

/// Paints the window of the graph at `scroll` into `area`; each node is styled by `node_style`,
/// edges by the border role.
pub fn paint(
    model: &GraphModel,
    texts: &[String],
    scroll: (usize, usize),
    area: Rect,
    buf: &mut Buffer,
    theme: &Theme,
    node_style: impl Fn(usize) -> Style,
) {
    let window = Window {
        x: scroll.0,
        y: scroll.1,
        width: usize::from(area.width),
        height: usize::from(area.height),
    };
    let canvas = Canvas::paint_window(&model.layout, texts, model.charset, window);
    let edge = theme.style(Role::Muted);
    for y in 0..canvas.height() {
        for (x, cell) in canvas.row(y).iter().enumerate() {
            let Cell { ch, owner } = *cell;
            if ch == Cell::WIDE_TAIL || (ch == ' ' && owner == Owner::Empty) {
                continue;
            }
            let style = match owner {
                Owner::Node(i) => node_style(i),
                Owner::Edge(_) => edge,
                Owner::Empty => theme.style(Role::Text),
            };
            if let Some(c) = buf.cell_mut((area.x + x as u16, area.y + y as u16)) {
                c.set_char(ch);
                c.set_style(style);
            }
        }
    }
}
