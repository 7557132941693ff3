//! Drawing the whole screen from `&App` (never mutating it): title line, graph pane, mapping
//! table, log pane, key bar, and the overlays (prompt, help, confirmation, too-small notice).

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Widget, Wrap};
use unicode_width::UnicodeWidthStr;

use super::app::{App, Confirm, EdgeLook, Overlay, Phase};
use super::graphpane::{self, status_role};
use super::keymap::{self, Context};
use super::layout::{self, MIN_HEIGHT, MIN_WIDTH, columns, cut, inner, inner_rect, resolved_lines};
use super::mapping::{Resolved, RowKind};
use super::theme::Role;
use crate::engine::{NodeOutcome, NodeState, RunStatus};
use crate::human::{self, Form};
use crate::workflow::NodeKind;

/// Draws the whole screen into a frame.
pub fn view(app: &App, frame: &mut Frame) {
    let area = frame.area();
    draw(app, area, frame.buffer_mut());
}

/// Draws the whole screen into a buffer.
pub fn draw(app: &App, area: Rect, buf: &mut Buffer) {
    let t = &app.theme;
    buf.set_style(area, t.style(Role::Text));
    // The app keeps the layout for its terminal size; a frame of another size (a resize not
    // taken in yet) is laid out here, from the same pure function.
    let a = if app.layout.full == area {
        app.layout
    } else {
        app.areas_at(area)
    };
    if a.too_small {
        draw_too_small(app, area, buf);
        app.fit.apply(buf);
        return;
    }
    draw_title(app, a.title, buf);
    if let Some(r) = a.graph {
        draw_graph(app, r, buf);
    }
    if let Some(r) = a.list {
        draw_list(app, r, buf);
    }
    match (&app.prompt, a.mapping, a.logs) {
        (Some(p), Some(m), Some(l)) => {
            // The prompt takes the place of the log pane (and of the mapping pane when
            // they are stacked).
            let side_by_side = m.x > a.body.x;
            let rest = if side_by_side {
                draw_mapping(app, m, buf);
                l
            } else {
                Rect::new(a.body.x, m.y, a.body.width, m.height + l.height)
            };
            p.draw(t, rest, buf);
        }
        _ => {
            if let Some(r) = a.mapping {
                draw_mapping(app, r, buf);
            }
            if let Some(r) = a.logs {
                draw_logs(app, r, buf);
            }
        }
    }
    draw_bar(app, a.bar, buf);
    match &app.overlay {
        Overlay::Help { scroll } => keymap::render_help(app.focus, *scroll, t, a.body, buf),
        Overlay::Confirm(c) => draw_confirm(app, *c, a.body, buf),
        Overlay::Detail(d) => super::detail::draw(app, d, a.body, buf),
        Overlay::StopNode(i) => super::nodectl::draw_dialog(app, *i, a.body, buf),
        _ => {}
    }
    app.fit.apply(buf);
}

fn draw_too_small(app: &App, area: Rect, buf: &mut Buffer) {
    let t = &app.theme;
    let lines = vec![
        Line::styled(
            format!("wfop needs at least {MIN_WIDTH}×{MIN_HEIGHT}"),
            t.style(Role::Warning),
        ),
        Line::styled(
            format!("this terminal is {}×{}", area.width, area.height),
            t.style(Role::Text),
        ),
        Line::styled("enlarge it, or q to quit", t.style(Role::Muted)),
    ];
    let y = area.y + area.height.saturating_sub(3) / 2;
    Paragraph::new(lines)
        .wrap(Wrap { trim: true })
        .centered()
        .render(
            Rect::new(area.x, y, area.width, area.height - (y - area.y)),
            buf,
        );
}

fn pane_block<'a>(app: &App, title: String, focused: bool) -> Block<'a> {
    let t = &app.theme;
    let border = if focused {
        t.style(Role::BorderFocused)
    } else {
        t.style(Role::Border)
    };
    Block::default()
        .borders(Borders::ALL)
        .border_style(border)
        .title(Span::styled(format!(" {title} "), t.style(Role::Title)))
}

/// A service being stopped, `left` before SIGKILL: `stopping · SIGKILL in 4.2s`.
fn stopping_text(left: std::time::Duration) -> String {
    if left.is_zero() {
        "stopping · SIGKILL sent".into()
    } else {
        format!(
            "stopping · SIGKILL in {}",
            human::duration(left, Form::Compact)
        )
    }
}

fn phase_text(app: &App) -> (String, Role) {
    let frame = app.frame();
    match app.phase {
        Phase::Prompt => ("waiting for secrets".into(), Role::StatusPending),
        Phase::Starting => ("starting…".into(), Role::StatusPending),
        Phase::Running => {
            let g = graphpane::glyph(NodeState::Running, frame, app.charset);
            (
                format!(
                    "{g} running {}",
                    human::duration(app.elapsed(), Form::Clock)
                ),
                Role::StatusRunning,
            )
        }
        Phase::Stopping => {
            // The countdown of the service that will be killed last.
            let now = app.elapsed();
            let left = app.nodes.iter().filter_map(|v| v.kill_left(now)).max();
            match left {
                Some(left) => (stopping_text(left), Role::StatusCancelled),
                None => ("stopping…".into(), Role::StatusCancelled),
            }
        }
        Phase::Finished => {
            let took = app
                .run_duration
                .map(|d| format!(" in {}", human::duration(d, Form::Compact)))
                .unwrap_or_default();
            match app.status {
                Some(RunStatus::Succeeded) => (format!("✓ succeeded{took}"), Role::StatusSucceeded),
                Some(RunStatus::Failed) => (format!("✗ failed{took}"), Role::StatusFailed),
                Some(RunStatus::Cancelled) => (format!("⊘ cancelled{took}"), Role::StatusCancelled),
                Some(RunStatus::Interrupted { signal }) => (
                    format!("interrupted by signal {signal}{took}"),
                    Role::StatusCancelled,
                ),
                None => ("not run".into(), Role::StatusPending),
            }
        }
    }
}

fn draw_title(app: &App, area: Rect, buf: &mut Buffer) {
    let t = &app.theme;
    let (phase, role) = phase_text(app);
    let mut spans = vec![
        Span::styled(" wfop ", t.style(Role::Title)),
        Span::styled(
            format!("{}  ", crate::safe::line(&app.wf.name)),
            t.style(Role::Text),
        ),
        Span::styled(phase, t.style(role)),
    ];
    // Extras only where they fit next to the message.
    let msg_w = app.message.as_ref().map_or(0, |m| m.text.width() + 2);
    let mut extras = Vec::new();
    if let Some(id) = &app.run_id {
        extras.push(format!("  run {id}"));
    }
    if app.purged {
        extras.push("  secrets purged".to_string());
    }
    for e in extras {
        let used: usize = spans.iter().map(|s| s.width()).sum();
        if used + e.width() + msg_w <= usize::from(area.width) {
            spans.push(Span::styled(e, t.style(Role::Muted)));
        }
    }
    let left = Line::from(spans);
    let lw = left.width() as u16;
    buf.set_line(area.x, area.y, &left, area.width);
    if let Some(m) = &app.message {
        let style = if m.error {
            t.style(Role::Error)
        } else {
            t.style(Role::Warning)
        };
        let room = area.width.saturating_sub(lw + 2);
        let text = cut(&m.text, usize::from(room));
        let w = text.width() as u16;
        if w > 0 {
            // Right-aligned; a long message covers the run id rather than being lost.
            let x = area.x + area.width.saturating_sub(w + 1).max(lw + 1);
            buf.set_stringn(x, area.y, &text, usize::from(room), style);
        }
    }
}

fn draw_graph(app: &App, area: Rect, buf: &mut Buffer) {
    let t = &app.theme;
    let focused = app.focus == Context::Graph && app.prompt.is_none();
    let title = if app.runs > 0 {
        format!("graph · {}", app.list.counts_text())
    } else {
        "graph".to_string()
    };
    let mut block = pane_block(app, title, focused);
    let (iw, ih) = inner(area);
    let more = more_hint(app.graph_size(), app.graph_scroll, (iw, ih));
    if !more.is_empty() {
        block = block.title_bottom(
            Line::styled(format!(" more: {more} "), t.style(Role::Muted)).right_aligned(),
        );
    }
    block.render(area, buf);
    let selected = app.selected;
    let inner = inner_rect(area);
    graphpane::paint(
        &app.graph,
        &app.texts,
        app.graph_scroll,
        inner,
        buf,
        t,
        (
            |i| {
                let kind = app.wf.nodes.get(i).map(|n| n.kind);
                let unsupported = app.wf.nodes.get(i).is_some_and(|n| n.unsupported.is_some());
                let base = match kind {
                    _ if unsupported => t.style(Role::NodeUnsupported),
                    Some(NodeKind::Service | NodeKind::Timer) => {
                        t.style(status_role(app.nodes[i].state))
                    }
                    Some(NodeKind::Exclusive | NodeKind::Parallel)
                        if app.nodes[i].state != NodeState::Pending =>
                    {
                        t.style(status_role(app.nodes[i].state))
                    }
                    Some(NodeKind::End) => match app.status {
                        Some(RunStatus::Succeeded) => t.style(Role::StatusSucceeded),
                        Some(RunStatus::Failed) => t.style(Role::StatusFailed),
                        Some(_) => t.style(Role::StatusCancelled),
                        None => t.style(Role::Text),
                    },
                    _ => t.style(Role::Text),
                };
                if i == selected {
                    base.patch(t.style(Role::Selection))
                } else {
                    base
                }
            },
            |e| {
                // Taken over plain over untaken, where edges share a cell; bold and dim unless the
                // theme styles the role itself, so the difference shows without colour.
                let (role, rank, extra) = match app.edge_look(e) {
                    EdgeLook::Taken => (Role::EdgeTaken, 2, Modifier::BOLD),
                    EdgeLook::Plain => (Role::Edge, 1, Modifier::empty()),
                    EdgeLook::Untaken => (Role::EdgeUntaken, 0, Modifier::DIM),
                };
                let style = t.style(role);
                if t.defines(role) {
                    (style, rank)
                } else {
                    (style.add_modifier(extra), rank)
                }
            },
        ),
    );
}

/// The directions in which a graph of `size` cells, scrolled to `scroll`, has more than a
/// window of `window` cells shows (`←↑↓→` order; empty when it all fits).
pub fn more_hint(size: (usize, usize), scroll: (usize, usize), window: (u16, u16)) -> String {
    let (w, h) = (usize::from(window.0), usize::from(window.1));
    let mut s = String::new();
    if scroll.0 > 0 {
        s.push('←');
    }
    if scroll.1 > 0 {
        s.push('↑');
    }
    if scroll.1 + h < size.1 {
        s.push('↓');
    }
    if scroll.0 + w < size.0 {
        s.push('→');
    }
    s
}

fn draw_list(app: &App, area: Rect, buf: &mut Buffer) {
    let focused = app.focus == Context::List && app.prompt.is_none();
    let visible = usize::from(inner(area).1.saturating_sub(1));
    let title = super::listview::title(&app.list, visible);
    pane_block(app, title, focused).render(area, buf);
    let cx = super::listview::Ctx {
        wf: &app.wf,
        nodes: &app.nodes,
        logs: &app.logs,
        theme: &app.theme,
        selected: app.selected,
        now: app.elapsed(),
        frame: app.frame(),
        charset: app.charset,
    };
    super::listview::draw(&app.list, &cx, inner_rect(area), buf);
}

fn node_detail(app: &App) -> Vec<Span<'static>> {
    let t = &app.theme;
    let Some(node) = app.wf.nodes.get(app.selected) else {
        return Vec::new();
    };
    let v = &app.nodes[app.selected];
    match node.kind {
        NodeKind::Start => vec![Span::styled(
            "start: the workflow inputs",
            t.style(Role::Muted),
        )],
        NodeKind::End => vec![Span::styled(
            "end: the workflow variables (final after a run)",
            t.style(Role::Muted),
        )],
        NodeKind::Exclusive | NodeKind::Parallel => {
            let (what, did) = if node.kind == NodeKind::Exclusive {
                (
                    "exclusive gateway: the first true condition is taken",
                    "decided",
                )
            } else {
                ("parallel gateway: forks to every edge, joins all", "passed")
            };
            let mut spans = vec![Span::styled(what, t.style(Role::Muted))];
            if v.attempt.iteration > 0 {
                spans.push(Span::styled(
                    format!(" · {did} {}×", v.attempt.iteration),
                    t.style(status_role(v.state)),
                ));
            }
            if let Some(r) = &v.reason {
                spans.push(Span::styled(format!(" · {r}"), t.style(Role::Error)));
            }
            spans
        }
        NodeKind::Timer => {
            let g = graphpane::glyph(v.state, app.frame(), app.charset);
            let wait = node
                .timer
                .as_ref()
                .map(|t| human::duration(t.duration, Form::Exact))
                .unwrap_or_default();
            let what = match (v.state, v.timer_left(app.elapsed())) {
                (NodeState::Running, Some(left)) => format!(
                    "waiting, {} left of {wait}",
                    human::duration(left, Form::Compact)
                ),
                (NodeState::Pending, _) => format!("timer: waits {wait}"),
                (NodeState::Done(NodeOutcome::Skipped), _) => "skipped".into(),
                (NodeState::Done(outcome), _) => format!(
                    "{} after {}",
                    outcome.as_str(),
                    human::duration(v.took, Form::Compact)
                ),
                _ => "waiting".into(),
            };
            let mut spans = vec![Span::styled(
                format!("{g} {what}"),
                t.style(status_role(v.state)),
            )];
            if v.attempt.iteration > 1 {
                spans.push(Span::styled(
                    format!(" · iteration {}", v.attempt.iteration),
                    t.style(Role::Muted),
                ));
            }
            if let Some(r) = &v.reason {
                spans.push(Span::styled(format!(" · {r}"), t.style(Role::Muted)));
            }
            spans
        }
        NodeKind::Service => {
            let g = graphpane::node_glyph(v, app.frame(), app.charset);
            let since = human::duration(app.elapsed().saturating_sub(v.since), Form::Compact);
            let what = match v.state {
                NodeState::Pending if app.list.is_queued(app.selected) => {
                    app.list.wait_reason(app.selected).unwrap_or_default()
                }
                NodeState::Pending => "pending".to_string(),
                // In a cluster scheduler's queue: `queued 12.0s · slurm job 123`.
                NodeState::Running if v.is_queued() => match v.kill_left(app.elapsed()) {
                    Some(left) => stopping_text(left),
                    None => format!(
                        "queued {since} · {}",
                        v.cluster.as_ref().map(|c| c.text()).unwrap_or_default()
                    ),
                },
                NodeState::Running => match v.kill_left(app.elapsed()) {
                    Some(left) => stopping_text(left),
                    None => format!("running {since}"),
                },
                NodeState::Waiting => match v.retry_at {
                    Some(at) => format!(
                        "waiting to retry, in {}",
                        human::duration(at.saturating_sub(app.elapsed()), Form::Compact)
                    ),
                    None => "waiting to retry".into(),
                },
                NodeState::Done(NodeOutcome::Skipped) => "skipped".into(),
                NodeState::Done(NodeOutcome::Succeeded) if v.reused.is_some() => format!(
                    "succeeded in run {} (reused, not run again)",
                    v.reused.as_deref().unwrap_or_default()
                ),
                NodeState::Done(outcome) => {
                    format!(
                        "{} in {}",
                        outcome.as_str(),
                        human::duration(v.took, Form::Compact)
                    )
                }
            };
            let mut spans = vec![Span::styled(
                format!("{g} {what}"),
                t.style(status_role(v.state)),
            )];
            // The cluster job of the attempt that runs or ran (the queued one says it above).
            if let Some(c) = &v.cluster
                && !v.is_queued()
                && matches!(v.state, NodeState::Running | NodeState::Done(_))
            {
                spans.push(Span::styled(
                    format!(" · {}", c.text()),
                    t.style(Role::Muted),
                ));
            }
            let a = v.attempt;
            if a.tries > 1 {
                spans.push(Span::styled(
                    format!(" · attempt {}/{}", a.try_no, a.tries),
                    t.style(Role::Muted),
                ));
            } else if a.attempt > a.iteration {
                // Restarted by the operator: more attempts than iterations.
                spans.push(Span::styled(
                    format!(" · attempt {}", a.attempt),
                    t.style(Role::Muted),
                ));
            }
            if a.iteration > 1 {
                spans.push(Span::styled(
                    format!(" · iteration {}", a.iteration),
                    t.style(Role::Muted),
                ));
            }
            if let Some(c) = &v.caught {
                spans.push(Span::styled(
                    format!(" · caught {c}"),
                    t.style(Role::Warning),
                ));
            }
            match (v.exit_code, v.signal) {
                (Some(c), _) if c != 0 => spans.push(Span::styled(
                    format!(" · exit {c}"),
                    t.style(Role::StatusFailed),
                )),
                (_, Some(s)) => spans.push(Span::styled(
                    format!(" · signal {s}"),
                    t.style(Role::StatusFailed),
                )),
                _ => {}
            }
            if !v.redactions.is_empty() {
                let parts: Vec<String> = v
                    .redactions
                    .iter()
                    .map(|(k, n)| format!("{k} {n}×"))
                    .collect();
                spans.push(Span::styled(
                    format!(" · redacted {}", parts.join(", ")),
                    t.style(Role::Redacted),
                ));
            }
            if !v.files.is_empty() {
                let names: Vec<&str> = v.files.iter().map(|f| f.name.as_str()).collect();
                spans.push(Span::styled(
                    format!(
                        " · {} {} in the record: {}",
                        names.len(),
                        if names.len() == 1 { "file" } else { "files" },
                        crate::safe::line(&names.join(", "))
                    ),
                    t.style(Role::Muted),
                ));
            }
            if let Some(r) = &v.reason {
                let role = match v.state {
                    NodeState::Done(NodeOutcome::Failed | NodeOutcome::TimedOut) => Role::Error,
                    _ => Role::Muted,
                };
                spans.push(Span::styled(format!(" · {r}"), t.style(role)));
            }
            spans
        }
    }
}

/// The node's status line cut to `width`; when a failure's reason does not fit, it is cut with
/// a hint that Enter shows all of it (never cut silently).
fn fit_status(app: &App, spans: Vec<Span<'static>>, width: usize) -> Line<'static> {
    let line = Line::from(spans);
    if line.width() <= width || !super::detail::has_detail(app, app.selected) {
        return line;
    }
    let hint = " … Enter: whole reason";
    let room = width.saturating_sub(hint.width());
    let mut out = Vec::new();
    let mut used = 0;
    for s in line.spans {
        let w = s.content.width();
        if used + w <= room {
            used += w;
            out.push(s);
        } else {
            let rest = cut_plain(&s.content, room - used);
            out.push(Span::styled(rest, s.style));
            break;
        }
    }
    out.push(Span::styled(hint, app.theme.style(Role::KeybarKey)));
    Line::from(out)
}

/// The first `width` columns of `s` (no ellipsis: the caller adds its own).
fn cut_plain(s: &str, width: usize) -> String {
    let mut out = String::new();
    let mut w = 0;
    for c in s.chars() {
        let cw = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if w + cw > width {
            break;
        }
        w += cw;
        out.push(c);
    }
    out
}

fn draw_mapping(app: &App, area: Rect, buf: &mut Buffer) {
    let t = &app.theme;
    let focused = app.focus == Context::Mapping && app.prompt.is_none();
    let node = app.wf.nodes.get(app.selected);
    let title = match node {
        Some(n) if n.kind == NodeKind::Service => {
            if n.label.is_some() {
                format!(
                    "{} ({})",
                    crate::safe::line(n.line_label().as_ref()),
                    crate::safe::line(&n.id)
                )
            } else {
                crate::safe::line(&n.id).into_owned()
            }
        }
        Some(n) => n.id.clone(),
        None => String::new(),
    };
    pane_block(app, title, focused).render(area, buf);
    let inner = inner_rect(area);
    if inner.height == 0 || inner.width == 0 {
        return;
    }
    let w = usize::from(inner.width);
    let mut y = inner.y;
    let bottom = inner.y + inner.height;
    buf.set_line(
        inner.x,
        y,
        &fit_status(app, node_detail(app), w),
        inner.width,
    );
    y += 1;
    let rows = app.mapping_rows();
    let (nw, vw, rw) = columns(rows, w);
    if y < bottom {
        let head = format!(
            "{:<nw$}  {:<vw$}  {}",
            cut("Local variable name", nw),
            cut("Variable assignment value", vw),
            cut("Resolved", rw)
        );
        buf.set_stringn(
            inner.x,
            y,
            head,
            w,
            t.style(Role::Muted)
                .patch(Style::new().add_modifier(ratatui::style::Modifier::UNDERLINED)),
        );
        y += 1;
    }
    // Scroll so the selected row stays visible.
    let sel = app.mapping_row.min(rows.len().saturating_sub(1));
    let heights: Vec<usize> = rows.iter().map(|r| resolved_lines(r, rw).len()).collect();
    let room = usize::from(bottom.saturating_sub(y));
    let mut first = 0;
    while first < sel && heights[first..=sel].iter().sum::<usize>() > room {
        first += 1;
    }
    for (i, r) in rows.iter().enumerate().skip(first) {
        if y >= bottom {
            break;
        }
        match r.kind {
            RowKind::Heading | RowKind::Text => {
                let role = match r.kind {
                    RowKind::Heading => Role::Title,
                    _ => Role::Muted,
                };
                buf.set_stringn(inner.x, y, cut(&r.name, w), w, t.style(role));
                y += 1;
                continue;
            }
            RowKind::Row => {}
        }
        let lines = resolved_lines(r, rw);
        let res_style = match r.resolved {
            Resolved::Value(_) => t.style(Role::Text),
            Resolved::Note(_) => t.style(Role::Muted),
            Resolved::Taken(_) => t.style(Role::StatusSucceeded),
            Resolved::Secret { .. } => t.style(Role::Redacted),
        };
        for (k, l) in lines.iter().enumerate() {
            if y >= bottom {
                break;
            }
            if k == 0 {
                buf.set_stringn(inner.x, y, cut(&r.name, nw), nw, t.style(Role::Title));
                buf.set_stringn(
                    inner.x + (nw + 2) as u16,
                    y,
                    cut(&r.value, vw),
                    vw,
                    t.style(Role::Text),
                );
            }
            buf.set_stringn(inner.x + (nw + vw + 4) as u16, y, l, rw, res_style);
            if focused && i == sel {
                buf.set_style(
                    Rect::new(inner.x, y, inner.width, 1),
                    t.style(Role::Selection),
                );
            }
            y += 1;
        }
    }
    if rows.is_empty() && y < bottom {
        buf.set_stringn(inner.x, y, "(nothing mapped)", w, t.style(Role::Muted));
    }
}

fn draw_logs(app: &App, area: Rect, buf: &mut Buffer) {
    let focused = app.focus == Context::Logs && app.prompt.is_none();
    let title = app.logview.title(&app.logs);
    pane_block(app, title, focused).render(area, buf);
    app.logview
        .draw(&app.logs, &app.theme, inner_rect(area), buf, focused);
}

fn draw_bar(app: &App, area: Rect, buf: &mut Buffer) {
    let t = &app.theme;
    let contexts = app.contexts();
    if let Overlay::Search(q) | Overlay::Filter(q) = &app.overlay {
        let sign = if matches!(app.overlay, Overlay::Filter(_)) {
            "&"
        } else {
            "/"
        };
        let re = if app.input_regex { "re:" } else { "" };
        let text = format!(" {sign}{re}{}▏", crate::safe::line(q));
        let (x, _) = buf.set_stringn(
            area.x,
            area.y,
            &text,
            usize::from(area.width),
            t.style(Role::Title),
        );
        let rest = Rect::new(x, area.y, area.width.saturating_sub(x - area.x), 1);
        keymap::render_key_bar(&contexts, t, rest, buf);
        return;
    }
    if app.overlay == Overlay::ListFilter {
        let text = format!(" filter: {}▏", crate::safe::line(&app.list.query));
        let (x, _) = buf.set_stringn(
            area.x,
            area.y,
            &text,
            usize::from(area.width),
            t.style(Role::Title),
        );
        let rest = Rect::new(x, area.y, area.width.saturating_sub(x - area.x), 1);
        keymap::render_key_bar(&contexts, t, rest, buf);
        return;
    }
    if let Overlay::Input(l) = &app.overlay {
        let x = l.draw(t, area, buf);
        let rest = Rect::new(x, area.y, area.width.saturating_sub(x - area.x), 1);
        keymap::render_key_bar(&contexts, t, rest, buf);
        return;
    }
    keymap::render_key_bar(&contexts, t, area, buf);
}

fn draw_confirm(app: &App, c: Confirm, area: Rect, buf: &mut Buffer) {
    let t = &app.theme;
    let rerun;
    let (title, text): (&str, &str) = match c {
        Confirm::Cancel => (
            " cancel the run? ",
            "The running services are stopped (SIGTERM, then SIGKILL) and the rest skipped.",
        ),
        Confirm::Quit => (
            " quit while running? ",
            "The run is cancelled first: the services are stopped and the record closed.",
        ),
        Confirm::RerunFrom(i) => {
            let node = app
                .wf
                .nodes
                .get(i)
                .map(|n| crate::safe::line(&n.id).into_owned())
                .unwrap_or_default();
            let run = crate::safe::line(app.run_id.as_deref().unwrap_or("?")).into_owned();
            rerun = format!(
                "`{node}` and every node after it run again; the others do not run: their outputs come from run {run}."
            );
            (" rerun from the selected node? ", rerun.as_str())
        }
    };
    // The rerun's question names a node and a run: room for a longer text.
    let height = if matches!(c, Confirm::RerunFrom(_)) {
        8
    } else {
        6
    };
    let rect = layout::centered(area, area.width.saturating_sub(4).min(60), height);
    Clear.render(rect, buf);
    let lines = vec![
        Line::styled(text, t.style(Role::Text)),
        Line::raw(""),
        Line::from(vec![
            Span::styled("y", t.style(Role::KeybarKey)),
            Span::styled(" yes   ", t.style(Role::Keybar)),
            Span::styled("n", t.style(Role::KeybarKey)),
            Span::styled(" no", t.style(Role::Keybar)),
        ]),
    ];
    Paragraph::new(lines)
        .wrap(Wrap { trim: true })
        .block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(t.style(Role::BorderFocused))
                .title(Span::styled(title, t.style(Role::Title))),
        )
        .render(rect, buf);
}
