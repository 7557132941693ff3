//! The list view (`v`): the workflow's steps as a table (state, attempt, duration, exit, last
//! log line) with counts by state, a filter by state or name (`f`), and the jumps to the next
//! failed or running node (`e`/`E`, `]`/`[`), which the graph uses too.

use std::time::Duration;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};

use super::app::NodeView;
use super::graphpane::{self, status_role};
use super::layout::cut;
use super::logbuf::{LogStore, Selection};
use super::mapping::EdgeRun;
use super::theme::{Role, Theme};
use crate::engine::{NodeOutcome, NodeState};
use crate::human::{self, Form};
use crate::ui::graph::Charset;
use crate::workflow::{NodeKind, Workflow};

/// A step's state as the list groups, counts and filters it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Class {
    Running,
    /// Has its tokens but `--max-parallel` services run already, or waits in a cluster
    /// scheduler's queue (`NodeQueued`; such a service holds a slot).
    Queued,
    /// Waits for the next attempt after a failure (retry backoff).
    Retrying,
    Failed,
    Cancelled,
    Done,
    Skipped,
    Pending,
}

impl Class {
    /// In the order counts are shown.
    pub const ALL: [Class; 8] = [
        Class::Running,
        Class::Queued,
        Class::Retrying,
        Class::Failed,
        Class::Cancelled,
        Class::Done,
        Class::Skipped,
        Class::Pending,
    ];

    pub fn word(self) -> &'static str {
        match self {
            Class::Running => "running",
            Class::Queued => "queued",
            Class::Retrying => "retrying",
            Class::Failed => "failed",
            Class::Cancelled => "cancelled",
            Class::Done => "done",
            Class::Skipped => "skipped",
            Class::Pending => "pending",
        }
    }

    /// The class a filter word names (`failed`, `running`, `done`, …; a few synonyms).
    pub fn from_word(w: &str) -> Option<Class> {
        Some(match w {
            "running" | "run" => Class::Running,
            "queued" | "ready" => Class::Queued,
            "retrying" | "waiting" | "retry" => Class::Retrying,
            "failed" | "fail" | "timed_out" | "timed-out" | "timeout" => Class::Failed,
            "cancelled" | "canceled" => Class::Cancelled,
            "done" | "succeeded" | "ok" => Class::Done,
            "skipped" => Class::Skipped,
            "pending" => Class::Pending,
            _ => return None,
        })
    }

    fn of(state: NodeState, queued: bool) -> Class {
        match state {
            NodeState::Pending | NodeState::Running if queued => Class::Queued,
            NodeState::Pending => Class::Pending,
            NodeState::Running => Class::Running,
            NodeState::Waiting => Class::Retrying,
            NodeState::Done(NodeOutcome::Succeeded) => Class::Done,
            NodeState::Done(NodeOutcome::Failed | NodeOutcome::TimedOut) => Class::Failed,
            NodeState::Done(NodeOutcome::Cancelled) => Class::Cancelled,
            NodeState::Done(NodeOutcome::Skipped) => Class::Skipped,
        }
    }
}

/// What the list filter keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    None,
    State(Class),
    /// A name (id or label) containing the text; smart case: all lower case ignores case.
    Name {
        text: String,
        exact_case: bool,
    },
}

impl Filter {
    pub fn parse(q: &str) -> Filter {
        let q = q.trim();
        if q.is_empty() {
            return Filter::None;
        }
        if let Some(c) = Class::from_word(&q.to_lowercase()) {
            return Filter::State(c);
        }
        let exact_case = q.chars().any(char::is_uppercase);
        Filter::Name {
            text: if exact_case {
                q.to_string()
            } else {
                q.to_lowercase()
            },
            exact_case,
        }
    }

    fn keeps(&self, id: &str, label: &str, class: Class) -> bool {
        match self {
            Filter::None => true,
            Filter::State(c) => *c == class,
            Filter::Name { text, exact_case } => {
                if *exact_case {
                    id.contains(text.as_str()) || label.contains(text.as_str())
                } else {
                    id.to_lowercase().contains(text.as_str())
                        || label.to_lowercase().contains(text.as_str())
                }
            }
        }
    }
}

/// The list's state: whether it is shown, its filter, and the rows derived from the node
/// states (recomputed on the events that change a state or a token, not on ticks or logs).
#[derive(Debug, Clone)]
pub struct ListState {
    /// The list is shown in place of the graph.
    pub shown: bool,
    /// The filter as typed.
    pub query: String,
    filter: Filter,
    /// Per node: the workflow edges (and error paths, numbered after them) that bring it a
    /// token, for telling a step that has its tokens and waits for a free slot.
    incoming: Vec<(Vec<usize>, Vec<usize>)>,
    /// Derived: each node's class (meaningful for steps).
    pub class: Vec<Class>,
    /// Derived: the steps shown (filtered), in workflow order.
    pub rows: Vec<usize>,
    /// Derived: how many steps are in each class (of all steps, the filter aside).
    pub counts: [usize; Class::ALL.len()],
    /// Derived: services running now (what `--max-parallel` bounds), those waiting in a
    /// cluster scheduler's queue with them.
    pub running: usize,
    /// Derived: per node, it waits for a free slot (`--max-parallel`).
    for_slot: Vec<bool>,
    /// Derived: the widest label among the rows (display cells).
    name_width: usize,
    /// The run's `--max-parallel` at the last refresh, when known.
    bound: Option<usize>,
    /// The first row drawn.
    pub scroll: usize,
}

/// A step: a node that runs (a service or a timer).
pub fn is_step(kind: NodeKind) -> bool {
    matches!(kind, NodeKind::Service | NodeKind::Timer)
}

impl ListState {
    pub fn new(wf: &Workflow) -> ListState {
        let mut incoming = vec![(Vec::new(), Vec::new()); wf.nodes.len()];
        // One map, not a scan of the nodes per edge (10 000 nodes: 10⁸ comparisons at start).
        let by_id = wf.index_by_id();
        let node_index = |id: &str| by_id.get(id).copied();
        for (k, e) in wf.edges.iter().enumerate() {
            if let Some(i) = node_index(&e.to) {
                incoming[i].0.push(k);
            }
        }
        let mut k = wf.edges.len();
        for n in &wf.nodes {
            for p in &n.errors {
                if let Some(i) = node_index(&p.to) {
                    incoming[i].1.push(k);
                }
                k += 1;
            }
        }
        ListState {
            shown: false,
            query: String::new(),
            filter: Filter::None,
            incoming,
            class: vec![Class::Pending; wf.nodes.len()],
            for_slot: vec![false; wf.nodes.len()],
            rows: Vec::new(),
            counts: [0; Class::ALL.len()],
            running: 0,
            name_width: 4,
            bound: None,
            scroll: 0,
        }
    }

    pub fn filter(&self) -> &Filter {
        &self.filter
    }

    /// Sets the filter text (the rows follow at the next refresh).
    pub fn set_query(&mut self, q: String) {
        self.filter = Filter::parse(&q);
        self.query = q;
    }

    /// Recomputes the classes, counts and rows from the node states and the edges taken.
    /// `max_parallel` is the run's bound when this screen knows it.
    pub fn refresh(
        &mut self,
        wf: &Workflow,
        nodes: &[NodeView],
        edges: &[EdgeRun],
        max_parallel: Option<usize>,
    ) {
        self.running = wf
            .nodes
            .iter()
            .zip(nodes)
            .filter(|(n, v)| n.kind == NodeKind::Service && v.state == NodeState::Running)
            .count();
        self.bound = max_parallel;
        let full = max_parallel.is_some_and(|m| self.running >= m.max(1));
        let taken = |k: &usize| edges.get(*k).map_or(0, |r| r.taken);
        self.counts = [0; Class::ALL.len()];
        self.rows.clear();
        self.name_width = 4;
        for (i, (n, v)) in wf.nodes.iter().zip(nodes).enumerate() {
            // A pending service holds its tokens when every incoming edge brought one more
            // than it consumed (or an error path did): only a full house keeps it waiting.
            let for_slot = full
                && n.kind == NodeKind::Service
                && v.state == NodeState::Pending
                && self.incoming.get(i).is_some_and(|(inc, err)| {
                    let consumed = v.attempt.iteration;
                    let on_edges = inc.iter().map(taken).min().unwrap_or(0);
                    let caught: u32 = err.iter().map(taken).sum();
                    (!inc.is_empty() && on_edges > consumed) || caught > consumed
                });
            let c = Class::of(v.state, for_slot || v.is_queued());
            self.class[i] = c;
            self.for_slot[i] = for_slot;
            if !is_step(n.kind) {
                continue;
            }
            if let Some(k) = Class::ALL.iter().position(|x| *x == c) {
                self.counts[k] += 1;
            }
            let label = n.line_label();
            if self.filter.keeps(&n.id, label.as_ref(), c) {
                self.rows.push(i);
                self.name_width = self
                    .name_width
                    .max(unicode_width::UnicodeWidthStr::width(label.as_ref()));
            }
        }
    }

    /// `12 running · 3 failed · 25 done` (classes with none left out).
    pub fn counts_text(&self) -> String {
        let parts: Vec<String> = Class::ALL
            .iter()
            .zip(self.counts)
            .filter(|(_, n)| *n > 0)
            .map(|(c, n)| format!("{n} {}", c.word()))
            .collect();
        if parts.is_empty() {
            "no steps".to_string()
        } else {
            parts.join(" · ")
        }
    }

    /// Node `i` has its tokens and waits because `--max-parallel` services run.
    pub fn is_queued(&self, i: usize) -> bool {
        self.for_slot.get(i) == Some(&true)
    }

    /// Why node `i` waits, when it waits for a slot: `waiting: --max-parallel 4 reached`.
    pub fn wait_reason(&self, i: usize) -> Option<String> {
        match self.bound {
            Some(m) if self.is_queued(i) => Some(format!("waiting: --max-parallel {m} reached")),
            _ => None,
        }
    }

    /// Keeps row `sel` (an index into `rows`) inside a window of `h` rows.
    pub fn follow(&mut self, sel: Option<usize>, h: usize) {
        let max = self.rows.len().saturating_sub(h);
        self.scroll = self.scroll.min(max);
        if let Some(s) = sel {
            if s < self.scroll {
                self.scroll = s;
            } else if h > 0 && s >= self.scroll + h {
                self.scroll = s + 1 - h;
            }
        }
    }
}

/// Which nodes a jump looks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Jump {
    Failed,
    Running,
}

impl Jump {
    pub fn word(self) -> &'static str {
        match self {
            Jump::Failed => "failed",
            Jump::Running => "running",
        }
    }

    fn matches(self, c: Class) -> bool {
        match self {
            Jump::Failed => c == Class::Failed,
            Jump::Running => c == Class::Running,
        }
    }
}

/// The next (or previous) node of `order` after `from` that `jump` looks for, wrapping
/// around; with its place among them (1-based) and how many there are.
pub fn jump_target(
    order: &[usize],
    class: &[Class],
    from: usize,
    jump: Jump,
    forward: bool,
) -> Option<(usize, usize, usize)> {
    let hits: Vec<usize> = order
        .iter()
        .copied()
        .filter(|&i| class.get(i).is_some_and(|c| jump.matches(*c)))
        .collect();
    if hits.is_empty() {
        return None;
    }
    // Where `from` stands in `order` (a node not in it stands where it would be by index).
    let pos = |i: usize| order.iter().position(|&x| x >= i).unwrap_or(order.len());
    let here = order.iter().position(|&x| x == from);
    let k = if forward {
        match here {
            Some(h) => hits.iter().position(|&i| pos(i) > h),
            None => hits.iter().position(|&i| pos(i) >= pos(from)),
        }
        .unwrap_or(0)
    } else {
        let before = match here {
            Some(h) => hits.iter().rposition(|&i| pos(i) < h),
            None => hits.iter().rposition(|&i| pos(i) < pos(from)),
        };
        before.unwrap_or(hits.len() - 1)
    };
    Some((hits[k], k + 1, hits.len()))
}

/// Column widths: (node, state, attempt, duration, exit); the last log line takes the rest.
fn columns(list: &ListState, w: usize) -> [usize; 5] {
    [list.name_width.clamp(4, 24).min(w / 4), 11, 7, 6, 4]
}

/// What the list draws for one step at `now` (since the run began).
pub struct Row {
    pub cells: [String; 6],
    pub state_role: Role,
    pub last_role: Role,
}

/// The text of row `i`'s cells. The last log line is the buffer's own text (redacted by the
/// engine, control sequences already dropped and format characters escaped by the filter),
/// made one terminal-safe line again here; a failure's reason or the wait reason stands in
/// when the node has no output.
pub fn row(
    wf: &Workflow,
    list: &ListState,
    v: &NodeView,
    i: usize,
    logs: &LogStore,
    (now, frame, charset): (Duration, usize, Charset),
) -> Row {
    let n = &wf.nodes[i];
    let class = list.class.get(i).copied().unwrap_or(Class::Pending);
    let g = graphpane::node_glyph(v, frame, charset);
    let state = match v.state {
        NodeState::Done(o) if o != NodeOutcome::Succeeded => format!("{g} {}", o.as_str()),
        _ => format!("{g} {}", class.word()),
    };
    let a = v.attempt;
    let attempt = match (a.try_no, a.tries) {
        (0, _) => String::new(),
        (t, n) if n > 1 => format!("{t}/{n}"),
        (t, _) if a.iteration > 1 => format!("{t} ↻{}", a.iteration),
        (t, _) => t.to_string(),
    };
    let took = v
        .shown_time(now)
        .map(|d| human::duration(d, Form::Compact))
        .unwrap_or_default();
    let exit = match (v.exit_code, v.signal) {
        (Some(c), _) => c.to_string(),
        (None, Some(s)) => format!("s{s}"),
        _ => String::new(),
    };
    let last = v
        .log
        .and_then(|idx| last_line(logs, idx))
        .map(|t| (crate::safe::line(t).into_owned(), Role::Text));
    let (last, last_role) = match (last, list.wait_reason(i)) {
        (Some(l), _) => l,
        (None, Some(why)) => (why, Role::Warning),
        // Its job, until it writes a line.
        (None, None) if v.cluster.is_some() && v.state == NodeState::Running => (
            v.cluster.as_ref().map(|c| c.text()).unwrap_or_default(),
            Role::Muted,
        ),
        (None, None) => (
            v.reason.clone().unwrap_or_default(),
            match class {
                Class::Failed => Role::Error,
                _ => Role::Muted,
            },
        ),
    };
    Row {
        cells: [
            n.line_label().into_owned(),
            state,
            attempt,
            took,
            exit,
            last,
        ],
        state_role: status_role(v.state),
        last_role,
    }
}

/// The newest line of a node that has text (a still open, empty line is skipped).
fn last_line(logs: &LogStore, idx: super::logbuf::NodeIdx) -> Option<&str> {
    let view = logs.view(Selection::Node(idx));
    let end = view.end();
    (view.first()..end)
        .rev()
        .take(2)
        .filter_map(|k| view.get(k))
        .map(|l| l.text())
        .find(|t| !t.trim().is_empty())
}

/// Everything `draw` needs besides the list itself.
pub struct Ctx<'a> {
    pub wf: &'a Workflow,
    pub nodes: &'a [NodeView],
    pub logs: &'a LogStore,
    pub theme: &'a Theme,
    pub selected: usize,
    pub now: Duration,
    pub frame: usize,
    pub charset: Charset,
}

/// Draws the table (header and the visible rows) into the pane's inside.
pub fn draw(list: &ListState, cx: &Ctx<'_>, area: Rect, buf: &mut Buffer) {
    if area.height == 0 || area.width == 0 {
        return;
    }
    let t = cx.theme;
    let w = usize::from(area.width);
    let cols = columns(list, w);
    let fixed: usize = cols.iter().sum::<usize>() + 2 * cols.len();
    let rest = w.saturating_sub(fixed);
    let head = ["node", "state", "attempt", "time", "exit", "last line"];
    let put = |buf: &mut Buffer, y: u16, cells: [&str; 6], styles: [Style; 6]| {
        let mut x = area.x;
        for (k, text) in cells.iter().enumerate() {
            let cw = if k < 5 { cols[k] } else { rest };
            if cw == 0 {
                continue;
            }
            // Numbers right-aligned.
            let s = cut(text, cw);
            let pad = if k == 3 || k == 4 {
                cw.saturating_sub(unicode_width::UnicodeWidthStr::width(s.as_str()))
            } else {
                0
            };
            buf.set_stringn(x + pad as u16, y, &s, cw, styles[k]);
            x += (cw + 2) as u16;
        }
    };
    let muted = t
        .style(Role::Muted)
        .patch(Style::new().add_modifier(Modifier::UNDERLINED));
    put(buf, area.y, head, [muted; 6]);
    let h = usize::from(area.height - 1);
    if list.rows.is_empty() {
        if area.height > 1 {
            let why = if *list.filter() == Filter::None {
                "(no steps)"
            } else {
                "(no step matches the filter; Esc clears it)"
            };
            buf.set_stringn(area.x, area.y + 1, why, w, t.style(Role::Muted));
        }
        return;
    }
    for (k, &i) in list.rows.iter().skip(list.scroll).take(h).enumerate() {
        let y = area.y + 1 + k as u16;
        let Some(v) = cx.nodes.get(i) else { continue };
        let r = row(cx.wf, list, v, i, cx.logs, (cx.now, cx.frame, cx.charset));
        let text = t.style(Role::Text);
        let styles = [
            t.style(Role::Title),
            t.style(r.state_role),
            t.style(Role::Muted),
            text,
            if v.exit_code.is_some_and(|c| c != 0) || v.signal.is_some() {
                t.style(Role::StatusFailed)
            } else {
                text
            },
            t.style(r.last_role),
        ];
        let cells = [
            r.cells[0].as_str(),
            r.cells[1].as_str(),
            r.cells[2].as_str(),
            r.cells[3].as_str(),
            r.cells[4].as_str(),
            r.cells[5].as_str(),
        ];
        put(buf, y, cells, styles);
        if i == cx.selected {
            buf.set_style(
                Rect::new(area.x, y, area.width, 1),
                t.style(Role::Selection),
            );
        }
    }
}

/// The pane's title: counts by state, the filter, and where the window is when not all fit.
pub fn title(list: &ListState, visible: usize) -> String {
    let mut s = format!("nodes · {}", list.counts_text());
    if !list.query.trim().is_empty() {
        s.push_str(&format!(
            " · filter {}: {}",
            crate::safe::line(list.query.trim()),
            list.rows.len()
        ));
    }
    if list.rows.len() > visible && visible > 0 {
        s.push_str(&format!(
            " · {}-{}/{}",
            list.scroll + 1,
            (list.scroll + visible).min(list.rows.len()),
            list.rows.len()
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_words_name_states_and_other_text_names_with_smart_case() {
        assert_eq!(Filter::parse("failed"), Filter::State(Class::Failed));
        assert_eq!(Filter::parse(" Running "), Filter::State(Class::Running));
        assert_eq!(Filter::parse(""), Filter::None);
        let f = Filter::parse("work");
        assert!(f.keeps("w1", "Worker 1", Class::Done));
        assert!(!f.keeps("x", "Other", Class::Done));
        let exact = Filter::parse("Work");
        assert!(exact.keeps("w1", "Worker 1", Class::Done));
        assert!(!exact.keeps("w1", "worker 1", Class::Done));
        assert!(Filter::State(Class::Failed).keeps("a", "a", Class::Failed));
        assert!(!Filter::State(Class::Failed).keeps("a", "a", Class::Done));
    }

    #[test]
    fn jumps_wrap_around_both_ways() {
        use Class::*;
        let class = [Pending, Failed, Done, Failed, Running, Failed];
        let order = [0, 1, 2, 3, 4, 5];
        let next = |from| jump_target(&order, &class, from, Jump::Failed, true);
        let prev = |from| jump_target(&order, &class, from, Jump::Failed, false);
        assert_eq!(next(0), Some((1, 1, 3)));
        assert_eq!(next(1), Some((3, 2, 3)));
        assert_eq!(next(5), Some((1, 1, 3)), "wraps to the first");
        assert_eq!(prev(1), Some((5, 3, 3)), "wraps to the last");
        assert_eq!(prev(4), Some((3, 2, 3)));
        assert_eq!(
            jump_target(&order, &class, 4, Jump::Running, true),
            Some((4, 1, 1)),
            "the only one is itself"
        );
        let none = [Done; 6];
        assert_eq!(jump_target(&order, &none, 0, Jump::Running, true), None);
        // A node outside the order (filtered out) jumps from where it would stand.
        let order = [1, 3, 5];
        assert_eq!(
            jump_target(&order, &class, 2, Jump::Failed, true),
            Some((3, 2, 3))
        );
        assert_eq!(
            jump_target(&order, &class, 2, Jump::Failed, false),
            Some((1, 1, 3))
        );
    }
}
