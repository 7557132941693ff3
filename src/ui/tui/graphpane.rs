//! The graph pane: node texts with status glyph, duration, redaction, loop and attempt counts
//! and a timer's time left, the layered
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
use crate::workflow::{Node, NodeKind, Workflow};

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

/// The status glyph of a service waiting in a cluster scheduler's queue (`NodeQueued`): a
/// place taken, not yet filled; it does not turn.
pub fn queued_glyph(charset: Charset) -> char {
    if charset == Charset::Unicode {
        '◌'
    } else {
        'o'
    }
}

/// The status glyph of node view `v`: its state's, or the queued one.
pub fn node_glyph(v: &super::app::NodeView, frame: usize, charset: Charset) -> char {
    if v.is_queued() {
        queued_glyph(charset)
    } else {
        glyph(v.state, frame, charset)
    }
}

/// The theme role of a state (a queued service has its running one, as a retry's wait has:
/// both are on their way).
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

/// What a node's text shows besides its kind and label, at the app's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Look {
    pub state: NodeState,
    /// How long it has run or took (none while pending or when skipped).
    pub time: Option<Duration>,
    /// Secret values redacted from its output.
    pub redactions: u64,
    /// The spinner frame.
    pub frame: usize,
    /// Tokens it consumed in this run (a loop's iterations): `↻3` from the second on.
    pub iteration: u32,
    /// The attempt within this iteration out of the node's `retries`: `attempt 2/3` from
    /// the second attempt on.
    pub attempt: (u32, u32),
    /// A waiting timer's time left.
    pub left: Option<Duration>,
    /// A rerun took its outputs from the reused run (`--from NODE --reuse RUN`): `reused`
    /// where its time would be.
    pub reused: bool,
    /// Waits in a cluster scheduler's queue: the queued glyph, and the time since queued.
    pub queued: bool,
}

impl Look {
    /// A node that has not run.
    pub const PENDING: Look = Look {
        state: NodeState::Pending,
        time: None,
        redactions: 0,
        frame: 0,
        iteration: 0,
        attempt: (0, 0),
        left: None,
        reused: false,
        queued: false,
    };
}

/// What one node shows: `[✓ Label 1.2s]`, `[⠋ Label 0.3s *2]` (2 redactions), `[⠋ Flaky
/// 0.3s attempt 2/3]`, `[✓ Poll 0.2s ↻3]`; a timer `◷ ⠋ wait 12.5s left`, a gateway
/// `◇× done? ↻3`; start and end their marks; a node wfop does not run `[⊘ Approve]`.
pub fn node_text(node: &Node, look: &Look, charset: Charset) -> String {
    let shape = shape_of(node.kind);
    let line = node.line_label();
    let label = crate::safe::line(line.as_ref());
    // A node wfop does not run (it never runs: no status glyph, no time) is marked `⊘`.
    if node.unsupported.is_some() {
        let marked = format!("{} {label}", charset.unsupported_mark());
        return match node.kind {
            NodeKind::Start | NodeKind::End => {
                format!("{} {}", charset.unsupported_mark(), charset.mark(shape))
            }
            _ => charset.node_text(shape, &marked),
        };
    }
    let loops = if look.iteration > 1 {
        format!(" ↻{}", look.iteration)
    } else {
        String::new()
    };
    let g = match look.queued {
        true => queued_glyph(charset),
        false => glyph(look.state, look.frame, charset),
    };
    // Durations take a fixed 6 cells, so the layout does not move as the clock runs.
    let dur = |d: Duration| format!("{:>6}", format!(" {}", human::duration(d, Form::Compact)));
    match node.kind {
        NodeKind::Start | NodeKind::End => charset.mark(shape).to_string(),
        NodeKind::Exclusive | NodeKind::Parallel => {
            format!("{}{loops}", charset.node_text(shape, &label))
        }
        NodeKind::Timer => {
            let wait = match (look.left, look.state, &node.timer) {
                (Some(left), NodeState::Running, _) => format!("{} left", dur(left)),
                (_, NodeState::Pending, Some(_)) => crate::ui::graph::timer_wait(node)
                    .map(|w| format!(" {w}"))
                    .unwrap_or_default(),
                _ => look.time.map(dur).unwrap_or_default(),
            };
            format!("{} {g} {label}{wait}{loops}", charset.mark(shape))
        }
        NodeKind::Service => {
            let time = match look.reused {
                true => " reused".to_string(),
                false => look.time.map(dur).unwrap_or_else(|| " ".repeat(6)),
            };
            let red = if look.redactions > 0 {
                format!(" *{}", look.redactions)
            } else {
                String::new()
            };
            let attempt = match look.attempt {
                (n, of) if n > 1 => format!(" attempt {n}/{of}"),
                _ => String::new(),
            };
            format!("[{g} {label}{time}{red}{loops}{attempt}]")
        }
    }
}

/// The laid-out graph of one workflow, with the texts it was laid out for.
#[derive(Debug, Clone)]
pub struct GraphModel {
    pub layout: Layout,
    widths: Vec<usize>,
    shapes: Vec<Shape>,
    edges: Vec<(usize, usize)>,
    /// The number (`ui::graph::graph_edges`) of each laid-out edge.
    edge_of: Vec<usize>,
    /// Each laid-out edge's label (a BPMN flow's name), drawn where it fits.
    labels: Vec<Option<String>>,
    /// The cells each laid-out edge covers, as `(x0, y0, x1, y1)` (inclusive; `None` for an
    /// edge not drawn): painting skips the edges outside the window.
    bounds: Vec<Option<(usize, usize, usize, usize)>>,
    charset: Charset,
}

impl GraphModel {
    pub fn new(wf: &Workflow, charset: Charset) -> Self {
        let shapes: Vec<Shape> = wf.nodes.iter().map(|n| shape_of(n.kind)).collect();
        // The edges and error paths between known nodes, and their numbers.
        let (edges, edge_of): (Vec<(usize, usize)>, Vec<usize>) = crate::ui::graph::graph_edges(wf)
            .into_iter()
            .map(|(k, a, b)| ((a, b), k))
            .unzip();
        let labels = edge_of
            .iter()
            .map(|&k| crate::ui::graph::edge_label(wf, k).map(str::to_string))
            .collect();
        let mut g = GraphModel {
            layout: Layout::default(),
            widths: Vec::new(),
            shapes,
            edges,
            edge_of,
            labels,
            bounds: Vec::new(),
            charset,
        };
        let texts: Vec<String> = wf
            .nodes
            .iter()
            .map(|n| node_text(n, &Look::PENDING, charset))
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
        self.bounds = self
            .layout
            .edges
            .iter()
            .map(|e| {
                e.cells.iter().fold(None, |b, c| {
                    let (x0, y0, x1, y1) = b.unwrap_or((c.x, c.y, c.x, c.y));
                    Some((x0.min(c.x), y0.min(c.y), x1.max(c.x), y1.max(c.y)))
                })
            })
            .collect();
        true
    }

    /// The laid-out edges with a cell inside `window`, in order.
    fn edges_in(&self, window: Window) -> Vec<usize> {
        let (wx1, wy1) = (window.x + window.width, window.y + window.height);
        self.bounds
            .iter()
            .enumerate()
            .filter(|(_, b)| {
                b.is_some_and(|(x0, y0, x1, y1)| {
                    x0 < wx1 && window.x <= x1 && y0 < wy1 && window.y <= y1
                })
            })
            .map(|(e, _)| e)
            .collect()
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

/// Paints the window of the graph at `scroll` into `area`; `(node_style, edge_style)` style
/// each node, and each edge by its index in the workflow's `edges` (also ranking it: a cell
/// edges share takes the style of the highest ranked).
pub fn paint<N, E>(
    model: &GraphModel,
    texts: &[String],
    scroll: (usize, usize),
    area: Rect,
    buf: &mut Buffer,
    theme: &Theme,
    (node_style, edge_style): (N, E),
) where
    N: Fn(usize) -> Style,
    E: Fn(usize) -> (Style, u8),
{
    let window = Window {
        x: scroll.0,
        y: scroll.1,
        width: usize::from(area.width),
        height: usize::from(area.height),
    };
    let wf_edge = |e: usize| model.edge_of.get(e).copied().unwrap_or(usize::MAX);
    let shown = model.edges_in(window);
    let mut canvas = Canvas::paint_ranked_edges(
        &model.layout,
        texts,
        model.charset,
        window,
        |e| edge_style(wf_edge(e)).1,
        shown,
    );
    canvas.label_edges(&model.layout, |e| {
        model.labels.get(e).and_then(|l| l.as_deref())
    });
    for y in 0..canvas.height() {
        for (x, cell) in canvas.row(y).iter().enumerate() {
            let Cell { ch, owner } = *cell;
            if ch == Cell::WIDE_TAIL || (ch == ' ' && owner == Owner::Empty) {
                continue;
            }
            let style = match owner {
                Owner::Node(i) => node_style(i),
                Owner::Edge(e) => edge_style(wf_edge(e)).0,
                Owner::Empty => theme.style(Role::Text),
            };
            if let Some(c) = buf.cell_mut((area.x + x as u16, area.y + y as u16)) {
                c.set_char(ch);
                c.set_style(style);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A frame paints only the edges with a cell in its window: the canvas is the one all
    /// edges paint, for every window over a graph with forks, joins, long edges and a loop,
    /// whatever the edges' ranks.
    #[test]
    fn painting_the_edges_in_the_window_equals_painting_them_all() {
        let wf = crate::ui::tui::screen_tests::polling_workflow();
        let g = GraphModel::new(&wf, Charset::Unicode);
        let texts: Vec<String> = wf
            .nodes
            .iter()
            .map(|n| node_text(n, &Look::PENDING, Charset::Unicode))
            .collect();
        assert!(
            g.layout.edges.len() > 3 && g.layout.width > 12,
            "{:?}",
            g.layout
        );
        let rank = |e: usize| (e % 3) as u8;
        let mut checked = 0;
        for (w, h) in [(7, 2), (12, 3), (30, 5)] {
            for y in 0..=g.layout.height {
                for x in (0..=g.layout.width).step_by(3) {
                    let window = Window {
                        x,
                        y,
                        width: w,
                        height: h,
                    };
                    let all =
                        Canvas::paint_ranked(&g.layout, &texts, Charset::Unicode, window, rank);
                    let shown = g.edges_in(window);
                    assert!(shown.len() <= g.layout.edges.len());
                    let some = Canvas::paint_ranked_edges(
                        &g.layout,
                        &texts,
                        Charset::Unicode,
                        window,
                        rank,
                        shown,
                    );
                    assert_eq!(some, all, "window {window:?}");
                    checked += 1;
                }
            }
        }
        assert!(checked > 20);
        // A window away from the graph paints no edge.
        let far = Window {
            x: g.layout.width + 5,
            y: g.layout.height + 5,
            width: 10,
            height: 10,
        };
        assert!(g.edges_in(far).is_empty());
    }

    fn text(id: &str, look: Look) -> String {
        let wf = crate::ui::tui::screen_tests::polling_workflow();
        let i = wf.node_index(id).expect("node");
        node_text(&wf.nodes[i], &look, Charset::Unicode)
    }

    #[test]
    fn texts_of_gateways_timers_loops_and_attempts() {
        assert_eq!(text("check", Look::PENDING), "◇× done?");
        let third = Look {
            iteration: 3,
            ..Look::PENDING
        };
        assert_eq!(text("check", third), "◇× done? ↻3");
        // A timer: its wait before, the time left while waiting, the time it took after.
        assert_eq!(text("wait", Look::PENDING), "◷ · wait 30s");
        let waiting = Look {
            state: NodeState::Running,
            time: Some(Duration::from_millis(17_500)),
            left: Some(Duration::from_millis(12_500)),
            iteration: 2,
            ..Look::PENDING
        };
        assert_eq!(text("wait", waiting), "◷ ⠋ wait 12.5s left ↻2");
        let done = Look {
            state: NodeState::Done(NodeOutcome::Succeeded),
            time: Some(Duration::from_secs(30)),
            ..Look::PENDING
        };
        assert_eq!(text("wait", done), "◷ ✓ wait 30.0s");
        // A service: the loop count, and the attempt from the second on.
        let retried = Look {
            state: NodeState::Running,
            time: Some(Duration::from_millis(300)),
            iteration: 2,
            attempt: (2, 3),
            ..Look::PENDING
        };
        assert_eq!(text("poll", retried), "[⠋ Poll  0.3s ↻2 attempt 2/3]");
        // Queued on a cluster: its own glyph, still, and as wide as when it runs (the layout
        // does not move when it starts).
        let queued = Look {
            state: NodeState::Running,
            time: Some(Duration::from_secs(12)),
            frame: 3,
            queued: true,
            ..Look::PENDING
        };
        assert_eq!(text("poll", queued), "[◌ Poll 12.0s]");
        let running = Look {
            queued: false,
            ..queued
        };
        assert_eq!(text("poll", running), "[⠸ Poll 12.0s]");
        let first = Look {
            attempt: (1, 3),
            ..Look::PENDING
        };
        assert_eq!(text("poll", first), "[· Poll      ]");
        assert_eq!(text("start", third), "○");
    }
}
