//! Issue 16 §5: the graph view's derived state kept cheaply at scale — node texts formatted
//! again only where a node's look changed — always equals what formatting every node afresh
//! gives, whatever the events.

use std::sync::Arc;
use std::time::Duration;

use super::app::{self, App, AppEvent};
use super::screen_tests::{log, new_app, node_started, prepared_with_secrets, started};
use crate::engine::{Event, NodeOutcome, Stream};

fn same(app: &App, after: &str) {
    assert_eq!(app.texts, app.texts_afresh(), "after {after}");
}

fn finished(app: &mut App, id: &str, status: NodeOutcome, ms: u64) {
    app::update(
        app,
        AppEvent::Engine(Event::NodeFinished {
            node: Arc::from(id),
            status,
            duration_ms: ms,
            exit_code: Some(0),
            signal: None,
            reason: None,
            attempt: 1,
            error_code: None,
        }),
    );
}

#[test]
fn kept_node_texts_equal_texts_formatted_afresh_after_every_event() {
    let (mut app, t) = new_app(prepared_with_secrets("portfolio-risk"), (160, 48));
    same(&app, "the start");
    let nodes = [
        "fetch_prices",
        "classical_risk",
        "quantum_sampling",
        "report",
    ];
    started(&mut app, &nodes);
    same(&app, "the run started");
    let mut ms = 0;
    let mut tick = |app: &mut App, n: u64| {
        for _ in 0..n {
            ms += 100;
            app::update(app, AppEvent::Tick(t + Duration::from_millis(ms)));
            same(app, &format!("a tick at {ms} ms"));
        }
    };
    node_started(&mut app, "fetch_prices");
    same(&app, "a start");
    tick(&mut app, 25);
    log(&mut app, "fetch_prices", Stream::Stdout, "a line\n");
    same(&app, "a log line");
    finished(&mut app, "fetch_prices", NodeOutcome::Succeeded, 2_500);
    same(&app, "a node finished");
    tick(&mut app, 5);
    node_started(&mut app, "classical_risk");
    node_started(&mut app, "quantum_sampling");
    tick(&mut app, 12);
    finished(&mut app, "classical_risk", NodeOutcome::Failed, 1_200);
    same(&app, "a node failed");
    finished(&mut app, "quantum_sampling", NodeOutcome::Cancelled, 1_300);
    same(&app, "a node cancelled");
    tick(&mut app, 3);
}

#[test]
fn every_kept_text_follows_a_change_of_charset() {
    let (mut app, t) = new_app(prepared_with_secrets("portfolio-risk"), (160, 48));
    started(&mut app, &["fetch_prices"]);
    node_started(&mut app, "fetch_prices");
    let pending = app.texts.clone();
    // The fit tests switch a running app to ASCII: the pending nodes' texts (`·` → `.`)
    // follow at the next tick, though their looks did not change.
    app.charset = crate::ui::graph::Charset::Ascii;
    app::update(&mut app, AppEvent::Tick(t + Duration::from_millis(300)));
    same(&app, "the switch to ASCII");
    assert_ne!(app.texts, pending);
}
