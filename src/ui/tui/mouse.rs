//! The mouse: the wheel scrolls the pane under the pointer (graph, list, mapping, log, help), a
//! click focuses a pane and selects the graph node, the list's row or the log line under it. Shift+drag is left to the
//! terminal, which selects text as usual.

use crossterm::event::{KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};

use super::app::{App, Overlay};
use super::keymap::Context;
use super::layout::inner_rect;

/// Lines one wheel notch moves.
pub const WHEEL_LINES: i64 = 3;

/// True for the mouse events the screen acts on (the others are not even queued).
pub fn wanted(ev: &MouseEvent) -> bool {
    matches!(
        ev.kind,
        MouseEventKind::Down(MouseButton::Left)
            | MouseEventKind::ScrollUp
            | MouseEventKind::ScrollDown
    )
}

fn inside(r: Option<Rect>, col: u16, row: u16) -> Option<Rect> {
    r.filter(|r| r.contains(Position { x: col, y: row }))
}

/// Applies one mouse event. Nothing happens while the secret prompt, a confirmation or the
/// search input is open: they take keys only.
pub fn handle(app: &mut App, ev: MouseEvent) {
    if app.prompt.is_some() || ev.modifiers.contains(KeyModifiers::SHIFT) {
        return;
    }
    let wheel = match ev.kind {
        MouseEventKind::ScrollUp => -WHEEL_LINES,
        MouseEventKind::ScrollDown => WHEEL_LINES,
        MouseEventKind::Down(MouseButton::Left) => 0,
        _ => return,
    };
    let (col, row) = (ev.column, ev.row);
    match app.overlay {
        Overlay::Help { scroll } => {
            if wheel != 0 {
                let by = u16::try_from(wheel.unsigned_abs()).unwrap_or(u16::MAX);
                app.overlay = Overlay::Help {
                    scroll: if wheel < 0 {
                        scroll.saturating_sub(by)
                    } else {
                        scroll.saturating_add(by)
                    },
                };
            }
            return;
        }
        Overlay::None => {}
        _ => return,
    }
    let a = app.layout;
    if a.too_small {
        return;
    }
    if let Some(r) = inside(a.logs, col, row) {
        let (lv, store) = (&mut app.logview, &app.logs);
        if wheel != 0 {
            lv.scroll_lines(store, wheel);
        } else {
            app.focus = Context::Logs;
            let inner = inner_rect(r);
            if inner.contains(Position { x: col, y: row }) {
                lv.click_row(store, usize::from(row - inner.y));
            }
        }
    } else if let Some(r) = inside(a.list, col, row) {
        // The list view: the wheel moves the selection, a click selects the row under it
        // (below the header row).
        app.focus = Context::List;
        let rows = &app.list.rows;
        let target = if wheel != 0 {
            let pos = rows.iter().position(|&i| i == app.selected).unwrap_or(0);
            Some(
                pos.saturating_add_signed(wheel as isize)
                    .min(rows.len().saturating_sub(1)),
            )
        } else {
            let inner = inner_rect(r);
            (row > inner.y && inner.contains(Position { x: col, y: row }))
                .then(|| app.list.scroll + usize::from(row - inner.y - 1))
        };
        if let Some(&i) = target.and_then(|t| rows.get(t)) {
            super::app::select_node(app, i);
        }
    } else if let Some(r) = inside(a.graph, col, row) {
        let inner = inner_rect(r);
        if wheel != 0 {
            let lay = &app.graph.layout;
            let max = lay.height.saturating_sub(usize::from(inner.height));
            let y = app.graph_scroll.1.saturating_add_signed(wheel as isize);
            app.graph_scroll.1 = y.min(max);
        } else {
            app.focus = Context::Graph;
            if inner.contains(Position { x: col, y: row }) {
                let gx = usize::from(col - inner.x) + app.graph_scroll.0;
                let gy = usize::from(row - inner.y) + app.graph_scroll.1;
                let hit = app
                    .graph
                    .layout
                    .nodes
                    .iter()
                    .position(|n| n.y == gy && (n.x..n.x + n.width.max(1)).contains(&gx));
                if let Some(i) = hit {
                    super::app::select_node(app, i);
                }
            }
        }
    } else if inside(a.mapping, col, row).is_some() {
        if wheel != 0 {
            let n = app.mapping_rows().len();
            app.mapping_row = app
                .mapping_row
                .saturating_add_signed(wheel.signum() as isize)
                .min(n.saturating_sub(1));
        } else {
            app.focus = Context::Mapping;
        }
    }
}
