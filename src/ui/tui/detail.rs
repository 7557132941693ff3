//! The failure detail view (Enter on a failed node): the node's whole failure reason and its
//! problem document from the run record, wrapped and scrollable; drawn from `&App`.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Widget};

use super::app::App;
use super::keymap::{self, Context};
use super::theme::Role;
use crate::engine::{NodeOutcome, NodeState};
use crate::human::{self, Form};

/// What the detail view shows beyond the node's state in the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detail {
    /// The workflow node's index.
    pub node: usize,
    /// Lines scrolled off the top.
    pub scroll: u16,
    /// The node's problem document (RFC 7807, redacted by the engine) as pretty JSON, when the
    /// record has one; terminal-safe.
    pub problem: Option<String>,
}

/// True for a node whose detail view opens on Enter: it failed (or timed out) with a reason.
pub fn has_detail(app: &App, i: usize) -> bool {
    app.nodes.get(i).is_some_and(|v| {
        matches!(
            v.state,
            NodeState::Done(NodeOutcome::Failed | NodeOutcome::TimedOut)
        ) && v.reason.is_some()
    })
}

impl Detail {
    /// The detail of node `i` when it failed; reads its problem document from the record
    /// (`run.json`), if there is one.
    pub fn open(app: &App, i: usize) -> Option<Detail> {
        if !has_detail(app, i) {
            return None;
        }
        let id = &app.wf.nodes.get(i)?.id;
        let problem = app
            .record
            .as_deref()
            .and_then(|dir| crate::engine::record::read_doc(dir).ok())
            .and_then(|doc| doc.nodes.into_iter().find(|n| &n.id == id))
            .and_then(|n| n.problem)
            .and_then(|p| serde_json::to_string_pretty(&p).ok())
            .map(|s| crate::safe::json(&s).into_owned());
        Some(Detail {
            node: i,
            scroll: 0,
            problem,
        })
    }
}

/// The detail's lines (before wrapping).
pub fn lines(app: &App, d: &Detail) -> Vec<Line<'static>> {
    let t = &app.theme;
    let Some(node) = app.wf.nodes.get(d.node) else {
        return Vec::new();
    };
    let v = &app.nodes[d.node];
    let mut out = Vec::new();
    let name = if node.label.is_some() {
        format!(
            "{} ({})",
            crate::safe::line(node.line_label().as_ref()),
            crate::safe::line(&node.id)
        )
    } else {
        crate::safe::line(&node.id).into_owned()
    };
    out.push(Line::styled(name, t.style(Role::Title)));
    let state = match v.state {
        NodeState::Done(o) => o.as_str().to_string(),
        _ => "failed".to_string(),
    };
    let mut facts = vec![format!(
        "{state} after {}",
        human::duration(v.took, Form::Compact)
    )];
    if v.attempt.tries > 1 {
        facts.push(format!("attempt {}/{}", v.attempt.try_no, v.attempt.tries));
    }
    if let Some(c) = v.exit_code {
        facts.push(format!("exit {c}"));
    }
    if let Some(s) = v.signal {
        facts.push(format!("signal {s}"));
    }
    out.push(Line::styled(facts.join(" · "), t.style(Role::StatusFailed)));
    out.push(Line::raw(""));
    out.push(Line::styled("Reason", t.style(Role::Title)));
    // The reason is terminal-safe already (kept with `safe::line`).
    out.push(Line::styled(
        v.reason.clone().unwrap_or_default(),
        t.style(Role::Error),
    ));
    out.push(Line::raw(""));
    match &d.problem {
        Some(p) => {
            out.push(Line::styled(
                "Problem document (run.json)",
                t.style(Role::Title),
            ));
            for l in p.lines() {
                out.push(Line::styled(l.to_string(), t.style(Role::Text)));
            }
        }
        None => out.push(Line::styled(
            "No problem document in the record: the reason comes from the exit status, a \
             signal or the service's stderr (see its logs).",
            t.style(Role::Muted),
        )),
    }
    out
}

/// Draws the detail over `area` (the panes).
pub fn draw(app: &App, d: &Detail, area: Rect, buf: &mut Buffer) {
    let t = &app.theme;
    let rect = super::layout::centered(
        area,
        area.width.saturating_sub(4).min(100),
        area.height.saturating_sub(2),
    );
    Clear.render(rect, buf);
    let inner_w = rect.width.saturating_sub(2).max(1);
    let inner_h = rect.height.saturating_sub(2);
    // Wrapped here (by display width, a wide character never split) so the count is exact.
    let mut text: Vec<Line<'static>> = Vec::new();
    for l in lines(app, d) {
        let s: String = l.spans.iter().map(|s| s.content.as_ref()).collect();
        for r in super::logview::wrap_ranges(&s, usize::from(inner_w)) {
            text.push(Line::styled(s[r].to_string(), l.style));
        }
    }
    let total = u16::try_from(text.len()).unwrap_or(u16::MAX);
    let para = Paragraph::new(text);
    let scroll = d.scroll.min(total.saturating_sub(inner_h));
    let more = if scroll + inner_h < total {
        " ↓ more "
    } else {
        ""
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.style(Role::BorderFocused))
        .title(Span::styled(
            format!(
                " failure — {} ",
                keymap::hint(&keymap::active(Context::Detail))
            ),
            t.style(Role::Title),
        ))
        .title_bottom(Line::styled(more, t.style(Role::Muted)).right_aligned());
    para.block(block).scroll((scroll, 0)).render(rect, buf);
}
