//! The screen's geometry as pure functions of sizes and rows: where each pane goes for a terminal
//! size, how the mapping table's columns and cells are laid out, and centred dialogs.

use ratatui::layout::{Constraint, Rect};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use super::mapping::{MapRow, Resolved, RowKind, SECRET_MASK};

/// Smallest usable terminal; below it the screen says so.
pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 16;

/// Width at which the graph and the mapping table sit side by side.
const WIDE: u16 = 140;

/// Where each part of the screen goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Areas {
    pub full: Rect,
    pub title: Rect,
    pub body: Rect,
    pub graph: Option<Rect>,
    /// The list of nodes, in the graph's place (list view).
    pub list: Option<Rect>,
    pub mapping: Option<Rect>,
    pub logs: Option<Rect>,
    pub bar: Rect,
    pub too_small: bool,
}

/// The inner size of a bordered pane.
pub fn inner(r: Rect) -> (u16, u16) {
    (r.width.saturating_sub(2), r.height.saturating_sub(2))
}

/// The inside of a bordered pane.
pub fn inner_rect(r: Rect) -> Rect {
    Rect::new(
        r.x + 1,
        r.y + 1,
        r.width.saturating_sub(2),
        r.height.saturating_sub(2),
    )
}

/// A dialog of at most `width × height` centred in `area` (ratatui's `Flex::Center`).
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    area.centered(
        Constraint::Length(width.min(area.width)),
        Constraint::Length(height.min(area.height)),
    )
}

/// The areas inside `full` for a graph laid out `graph` (width, height) cells and the selected
/// node's mapping `rows`.
pub fn areas(full: Rect, graph: (usize, usize), rows: &[MapRow]) -> Areas {
    let (w, h) = (full.width, full.height);
    let too_small = w < MIN_WIDTH || h < MIN_HEIGHT;
    let title = Rect::new(full.x, full.y, w, 1.min(h));
    let bar = Rect::new(full.x, full.y + h.saturating_sub(1), w, 1.min(h));
    let body = Rect::new(full.x, full.y + 1, w, h.saturating_sub(2));
    let mut a = Areas {
        full,
        title,
        body,
        graph: None,
        list: None,
        mapping: None,
        logs: None,
        bar,
        too_small,
    };
    if too_small {
        return a;
    }
    let bh = body.height;
    let graph_need = u16::try_from(graph.1)
        .unwrap_or(u16::MAX)
        .saturating_add(2)
        .max(3);
    let map_need = u16::try_from(mapping_lines(rows, mapping_inner_width(graph.0, w)))
        .unwrap_or(u16::MAX)
        .saturating_add(2);
    if w >= WIDE {
        let top = graph_need.max(map_need).min(bh * 45 / 100).max(5);
        let gw = wide_graph_width(graph.0, w);
        a.graph = Some(Rect::new(body.x, body.y, gw, top));
        a.mapping = Some(Rect::new(body.x + gw, body.y, w - gw, top));
        a.logs = Some(Rect::new(body.x, body.y + top, w, bh - top));
    } else {
        let graph_h = graph_need.min((bh * 30 / 100).max(3));
        let mut map_h = map_need.min((bh * 40 / 100).max(4));
        let min_logs = 6;
        if bh < graph_h + map_h + min_logs {
            map_h = bh.saturating_sub(graph_h + min_logs).max(3);
        }
        let logs_h = bh.saturating_sub(graph_h + map_h);
        a.graph = Some(Rect::new(body.x, body.y, w, graph_h));
        a.mapping = Some(Rect::new(body.x, body.y + graph_h, w, map_h));
        a.logs = Some(Rect::new(body.x, body.y + graph_h + map_h, w, logs_h));
    }
    a
}

/// The areas of the list view: the list of `list_rows` steps in the graph's place, taller than
/// the graph gets (up to 55 % of the body); stacked, the mapping pane keeps only the selected
/// node's status line, so the list and the logs share the rest.
pub fn list_areas(full: Rect, list_rows: usize, rows: &[MapRow]) -> Areas {
    let mut a = areas(full, (0, 0), rows);
    if a.too_small {
        return a;
    }
    a.graph = None;
    let (w, body) = (full.width, a.body);
    let bh = body.height;
    // Borders and the header row (and a row saying the list is empty).
    let need = u16::try_from(list_rows.max(1))
        .unwrap_or(u16::MAX)
        .saturating_add(3);
    if w >= WIDE {
        let map_need = u16::try_from(mapping_lines(rows, usize::from(w * 2 / 5)))
            .unwrap_or(u16::MAX)
            .saturating_add(2);
        let top = need.max(map_need).min(bh * 55 / 100).max(5);
        let lw = w * 3 / 5;
        a.list = Some(Rect::new(body.x, body.y, lw, top));
        a.mapping = Some(Rect::new(body.x + lw, body.y, w - lw, top));
        a.logs = Some(Rect::new(body.x, body.y + top, w, bh - top));
    } else {
        let map_h = 3;
        let min_logs = 6;
        let list_h = need
            .min((bh * 55 / 100).max(4))
            .min(bh.saturating_sub(map_h + min_logs).max(4));
        let logs_h = bh.saturating_sub(list_h + map_h);
        a.list = Some(Rect::new(body.x, body.y, w, list_h));
        a.mapping = Some(Rect::new(body.x, body.y + list_h, w, map_h));
        a.logs = Some(Rect::new(body.x, body.y + list_h + map_h, w, logs_h));
    }
    a
}

/// In the wide layout: the graph's width, as much as it needs between 40 % of the screen and
/// what leaves the mapping table 56 columns.
fn wide_graph_width(graph_width: usize, w: u16) -> u16 {
    let need = u16::try_from(graph_width + 2).unwrap_or(u16::MAX);
    need.clamp(w * 2 / 5, w.saturating_sub(56).max(w * 2 / 5))
}

fn mapping_inner_width(graph_width: usize, w: u16) -> usize {
    let pane = if w >= WIDE {
        w - wide_graph_width(graph_width, w)
    } else {
        w
    };
    usize::from(pane.saturating_sub(2))
}

/// Display lines the mapping pane wants at inner width `w`.
fn mapping_lines(rows: &[MapRow], w: usize) -> usize {
    let cols = columns(rows, w);
    2 + rows
        .iter()
        .map(|r| resolved_lines(r, cols.2).len())
        .sum::<usize>()
}

/// (name, value, resolved) column widths for inner width `w` (2 blanks between columns).
pub fn columns(rows: &[MapRow], w: usize) -> (usize, usize, usize) {
    let name = rows
        .iter()
        .filter(|r| r.kind == RowKind::Row)
        .map(|r| r.name.width())
        .max()
        .unwrap_or(4)
        .clamp(8, 20)
        .min(w / 4);
    let rest = w.saturating_sub(name + 4);
    let value = (rest * 3 / 10).max(1);
    (name, value, rest.saturating_sub(value))
}

/// The resolved cell as lines: values are cut to one line, a secret binding wraps (it must be
/// read whole: name, source and the mask).
pub fn resolved_lines(r: &MapRow, w: usize) -> Vec<String> {
    let text = r.resolved.text();
    match r.resolved {
        Resolved::Secret {
            ref param,
            ref secret,
            ref source,
        } if text.width() > w => {
            let from = source.as_deref().unwrap_or("not given yet");
            let pieces = [
                format!("{param} ←"),
                format!("secret_value(\"{secret}\")"),
                format!("{SECRET_MASK}  (from: {from})"),
            ];
            wrap_pieces(&pieces, w)
        }
        _ => vec![cut(&text, w)],
    }
}

/// Greedy line filling with whole pieces (a piece longer than a line is cut).
fn wrap_pieces(pieces: &[String], w: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut cur = String::new();
    for word in pieces {
        let word = word.as_str();
        let need = if cur.is_empty() {
            word.width()
        } else {
            cur.width() + 1 + word.width()
        };
        if need > w && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(word);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out.into_iter().map(|l| cut(&l, w)).collect()
}

/// `s` cut to `w` display cells, with `…` when cut.
pub fn cut(s: &str, w: usize) -> String {
    if s.width() <= w {
        return s.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let cw = c.width().unwrap_or(0);
        if used + cw + 1 > w {
            break;
        }
        out.push(c);
        used += cw;
    }
    if w > 0 {
        out.push('…');
    }
    out
}
