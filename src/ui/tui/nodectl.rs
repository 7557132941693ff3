//! Steering one node from the TUI: `x` stops the selected service (a dialog asks whether the
//! run treats it as failed or as cancelled), `R` restarts it; both go to the engine as
//! `Effect::Node` (in process, or as a run host's command), whose answer comes back as events.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Widget, Wrap};

use super::app::{App, Effect, Overlay, Phase};
use super::keymap::Action;
use super::layout;
use super::theme::Role;
use crate::engine::{NodeCommand, NodeState, StopMark};
use crate::workflow::NodeKind;

/// Why the selected node cannot be stopped or restarted now, or its index.
fn steerable(app: &App, verb: &str) -> Result<usize, String> {
    let i = app.selected;
    let Some(node) = app.wf.nodes.get(i) else {
        return Err("no node is selected".into());
    };
    if app.phase != Phase::Running {
        return Err(format!("nothing to {verb}: the run is not running"));
    }
    if node.kind != NodeKind::Service {
        let done = if verb == "stop" {
            "stopped"
        } else {
            "restarted"
        };
        return Err(format!("only a service can be {done}"));
    }
    // Running includes a service waiting in a cluster scheduler's queue (`NodeView::is_queued`):
    // its attempt has begun, and stopping it takes it out of the queue.
    match app.nodes.get(i).map(|v| v.state) {
        Some(NodeState::Running | NodeState::Waiting) => Ok(i),
        _ => Err(format!(
            "{} is not running: nothing to {verb}",
            node.line_label()
        )),
    }
}

/// `x`: the stop dialog for the selected service.
pub fn ask_stop(app: &mut App) {
    match steerable(app, "stop") {
        Ok(i) => app.overlay = Overlay::StopNode(i),
        Err(why) => app.say(why),
    }
}

/// `R`: a new attempt of the selected service (its running attempt is stopped first).
pub fn restart(app: &mut App) {
    match steerable(app, "restart") {
        Ok(i) => {
            let id = app.wf.nodes[i].id.clone();
            let label = app.wf.nodes[i].line_label().into_owned();
            app.effects
                .push(Effect::Node(NodeCommand::Restart { node: id }));
            app.say(format!("restarting {label}…"));
        }
        Err(why) => app.say(why),
    }
}

/// A key in the stop dialog of node `i`.
pub fn dialog_action(app: &mut App, i: usize, action: Action) {
    let mark = match action {
        Action::MarkFailed => StopMark::Failed,
        Action::MarkCancelled => StopMark::Cancelled,
        Action::Back => {
            app.overlay = Overlay::None;
            return;
        }
        _ => return,
    };
    app.overlay = Overlay::None;
    let Some(node) = app.wf.nodes.get(i) else {
        return;
    };
    let label = node.line_label().into_owned();
    app.effects.push(Effect::Node(NodeCommand::Stop {
        node: node.id.clone(),
        mark,
    }));
    let how = match mark {
        StopMark::Failed => "as failed",
        StopMark::Cancelled => "as cancelled",
    };
    app.say(format!("stopping {label} {how}…"));
}

/// The stop dialog over the panes.
pub fn draw_dialog(app: &App, i: usize, area: Rect, buf: &mut Buffer) {
    let t = &app.theme;
    let label = app
        .wf
        .nodes
        .get(i)
        .map(|n| crate::safe::line(n.line_label().as_ref()).into_owned())
        .unwrap_or_default();
    let rect = layout::centered(area, area.width.saturating_sub(4).min(64), 8);
    Clear.render(rect, buf);
    let key = |k: &'static str, what: &'static str| {
        vec![
            Span::styled(k, t.style(Role::KeybarKey)),
            Span::styled(what, t.style(Role::Keybar)),
        ]
    };
    let queued = app
        .nodes
        .get(i)
        .filter(|v| v.is_queued())
        .and_then(|v| v.cluster.as_ref());
    let mut choices = key("f", " failed   ");
    choices.extend(key("c", " cancelled   "));
    choices.extend(key(
        "Esc",
        match queued {
            Some(_) => " keep it queued",
            None => " keep it running",
        },
    ));
    let how = match queued {
        Some(c) if c.job.is_some() => format!(
            "It leaves the queue ({} is cancelled). The run treats it as:",
            c.text()
        ),
        Some(c) => format!("It leaves {}'s queue. The run treats it as:", c.executor),
        None => {
            "SIGTERM to its process group, SIGKILL after the grace period. The run treats it as:"
                .to_string()
        }
    };
    let lines = vec![
        Line::styled(how, t.style(Role::Text)),
        Line::styled(
            "failed: error paths, fail-fast and --keep-going apply · cancelled: what needs it is skipped",
            t.style(Role::Muted),
        ),
        Line::raw(""),
        Line::from(choices),
    ];
    Paragraph::new(lines)
        .wrap(Wrap { trim: true })
        .block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(t.style(Role::BorderFocused))
                .title(Span::styled(
                    format!(" stop {label}? "),
                    t.style(Role::Title),
                )),
        )
        .render(rect, buf);
}
