//! The list view, its filter, the jumps and the graph's scrolling on a run of 40 parallel
//! workers (`tests/workflows/many-workers.json`), driven by made-up engine events and keys and
//! drawn into ratatui's `TestBackend` for insta snapshots.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::app::{self, App, AppEvent, Effect};
use super::keymap::Context;
use super::logview::tests::buf_text;
use super::theme::Theme;
use super::view;
use crate::engine::setup;
use crate::engine::{Attempt, Event, NodeOutcome, Stream};
use crate::ui::graph::Charset;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn ev(app: &mut App, e: Event) {
    app::update(app, AppEvent::Engine(e));
}

fn key(app: &mut App, code: KeyCode) {
    app::update(app, AppEvent::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

fn ch(app: &mut App, c: char) {
    let mods = if c.is_uppercase() {
        KeyModifiers::SHIFT
    } else {
        KeyModifiers::NONE
    };
    app::update(app, AppEvent::Key(KeyEvent::new(KeyCode::Char(c), mods)));
}

fn typed(app: &mut App, s: &str) {
    s.chars().for_each(|c| ch(app, c));
}

fn render(app: &App) -> String {
    let (w, h) = app.size;
    let mut term = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    term.draw(|f| view::view(app, f)).expect("draw");
    buf_text(term.backend().buffer())
}

fn id(i: usize) -> String {
    format!("w{i:02}")
}

fn edge(app: &mut App, from: &str, to: &str) {
    let k = app
        .wf
        .edges
        .iter()
        .position(|e| e.from == from && e.to == to)
        .expect("an edge");
    ev(
        app,
        Event::EdgeTaken {
            edge: k,
            from: Arc::from(from),
            to: Arc::from(to),
        },
    );
}

fn started(app: &mut App, i: usize) {
    ev(
        app,
        Event::NodeStarted {
            node: Arc::from(id(i)),
            attempt: Attempt::FIRST,
            pid: Some(4000 + i as u32),
        },
    );
}

fn log(app: &mut App, i: usize, text: &str) {
    ev(
        app,
        Event::NodeLog {
            node: Arc::from(id(i)),
            attempt: 1,
            stream: Stream::Stdout,
            data: text.as_bytes().to_vec(),
            redacted: Vec::new(),
        },
    );
}

fn finished(app: &mut App, i: usize, status: NodeOutcome, ms: u64) {
    let failed = status != NodeOutcome::Succeeded;
    ev(
        app,
        Event::NodeFinished {
            node: Arc::from(id(i)),
            status,
            duration_ms: ms,
            exit_code: Some(i32::from(failed)),
            signal: None,
            reason: failed.then(|| "exited with code 1".to_string()),
            attempt: 1,
            error_code: None,
        },
    );
}

/// The 40 workers 2.5 s into a run with `--max-parallel 30`: w03 failed, w05 succeeded, 30
/// run (w31 and w32 took the two free slots), w33–w40 have their tokens and wait.
fn workers(size: (u16, u16)) -> (App, Instant) {
    let wf = root().join("tests/workflows/many-workers.json");
    let p = setup::prepare(&wf, None, &[]).expect("prepare");
    let t = Instant::now();
    let mut app = App::new(p, Theme::default(), Charset::Unicode, t);
    app.max_parallel = Some(30);
    app::update(&mut app, AppEvent::Resize(size.0, size.1));
    assert!(matches!(app.take_effects().as_slice(), [Effect::Start(_)]));
    let workflow = app.wf.name.clone();
    ev(
        &mut app,
        Event::RunStarted {
            run_id: "20250101-120000-abcd".into(),
            workflow,
            record: PathBuf::from("/state/runs/20250101-120000-abcd"),
            nodes: (1..=40).map(id).collect(),
            inputs: crate::engine::ShownVars::assume_redacted(Default::default()),
            started: None,
        },
    );
    edge(&mut app, "start", "fork");
    for i in 1..=40 {
        edge(&mut app, "fork", &id(i));
    }
    for i in 1..=30 {
        started(&mut app, i);
        log(&mut app, i, &format!("{} up, polling the queue\n", id(i)));
    }
    log(
        &mut app,
        7,
        "batch 17: processed 1024 shots in 812 ms, 0 retries, queue depth 3, next poll in 5 s\n",
    );
    // A child's escape sequences never reach the row; a bidi control is shown escaped.
    log(
        &mut app,
        9,
        "\x1b[31mred\x1b[0m \x1b]0;title\x07ok \u{202e}evil\n",
    );
    app::update(&mut app, AppEvent::Tick(t + Duration::from_millis(1_200)));
    finished(&mut app, 3, NodeOutcome::Failed, 1_100);
    finished(&mut app, 5, NodeOutcome::Succeeded, 1_150);
    started(&mut app, 31);
    started(&mut app, 32);
    app::update(&mut app, AppEvent::Tick(t + Duration::from_millis(2_500)));
    (app, t)
}

fn select(app: &mut App, i: usize) {
    app.selected = app.wf.node_index(&id(i)).expect("node");
    let size = app.size;
    app::update(app, AppEvent::Resize(size.0, size.1));
}

#[test]
fn snapshot_list_view_80x24_with_40_workers() {
    let (mut app, _) = workers((80, 24));
    ch(&mut app, 'v');
    assert_eq!(app.focus, Context::List);
    let screen = render(&app);
    assert!(
        screen.contains("30 running · 8 queued · 1 failed · 1 done"),
        "{screen}"
    );
    // Far more rows than the graph showed (2 workers at 80×24 before).
    let rows = screen.lines().filter(|l| l.contains("worker ")).count();
    assert!(rows >= 9, "{rows} rows:\n{screen}");
    assert!(!screen.contains('\u{1b}') && !screen.contains('\u{202e}'));
    insta::assert_snapshot!(screen);
}

#[test]
fn snapshot_list_view_120x36_with_40_workers() {
    let (mut app, _) = workers((120, 36));
    ch(&mut app, 'v');
    // Down to the queued workers: the list scrolls to keep the selection in view.
    for _ in 0..34 {
        ch(&mut app, 'j');
    }
    assert_eq!(app.wf.nodes[app.selected].id, "w35");
    let screen = render(&app);
    assert!(
        screen.contains("waiting: --max-parallel 30 reached"),
        "{screen}"
    );
    assert!(screen.contains("worker 35"), "{screen}");
    // The long line is cut with a visible marker.
    insta::assert_snapshot!(screen);
}

#[test]
fn the_last_log_line_is_cut_with_a_marker_and_the_failure_reason_stands_in() {
    let (mut app, _) = workers((80, 24));
    ch(&mut app, 'v');
    for _ in 0..6 {
        ch(&mut app, 'j');
    }
    let screen = render(&app);
    let w07 = screen
        .lines()
        .find(|l| l.contains("worker 07"))
        .expect("w07 row");
    assert!(w07.contains("batch 17") && w07.contains('…'), "{w07}");
    let w03 = screen
        .lines()
        .find(|l| l.contains("worker 03"))
        .expect("w03 row");
    assert!(w03.contains("failed") && w03.contains(" 1 "), "{w03}");
}

#[test]
fn the_filter_keeps_states_or_names_and_esc_clears_it() {
    let (mut app, _) = workers((120, 36));
    ch(&mut app, 'v');
    ch(&mut app, 'f');
    assert_eq!(app.contexts(), vec![Context::ListFilter]);
    typed(&mut app, "failed");
    // The list follows as it is typed; keys are text in the input (`q` does not quit).
    let screen = render(&app);
    assert!(screen.contains(" filter: failed▏"), "{screen}");
    assert_eq!(app.list.rows.len(), 1);
    assert!(screen.contains("filter failed: 1"), "{screen}");
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.contexts()[0], Context::List);
    assert_eq!(app.list.rows.len(), 1, "Enter keeps the filter");
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.list.rows.len(), 40, "Esc in the list clears it");
    // Names, smart case.
    ch(&mut app, 'f');
    typed(&mut app, "worker 1");
    assert_eq!(app.list.rows.len(), 10, "worker 10–19");
    key(&mut app, KeyCode::Enter);
    ch(&mut app, 'f');
    app::update(
        &mut app,
        AppEvent::Key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL)),
    );
    typed(&mut app, "Worker");
    assert!(app.list.rows.is_empty(), "upper case is exact");
    let screen = render(&app);
    assert!(screen.contains("no step matches the filter"), "{screen}");
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.list.rows.len(), 40, "Esc in the input clears it too");
    ch(&mut app, 'f');
    typed(&mut app, "queued");
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.list.rows.len(), 8);
    // A state filter follows the states: a queued worker that starts leaves it.
    finished(&mut app, 1, NodeOutcome::Succeeded, 2_400);
    started(&mut app, 33);
    assert_eq!(app.list.rows.len(), 7);
    insta::assert_snapshot!(render(&app));
}

#[test]
fn jumps_go_to_the_next_failed_or_running_node_and_wrap_around() {
    let (mut app, _) = workers((80, 24));
    select(&mut app, 1);
    ch(&mut app, 'e');
    assert_eq!(app.wf.nodes[app.selected].id, "w03");
    assert!(render(&app).contains("failed node 1 of 1"));
    ch(&mut app, 'e');
    assert_eq!(app.wf.nodes[app.selected].id, "w03", "the only one");
    ch(&mut app, ']');
    assert_eq!(app.wf.nodes[app.selected].id, "w04");
    ch(&mut app, '[');
    assert_eq!(app.wf.nodes[app.selected].id, "w02", "w03 is not running");
    select(&mut app, 32);
    ch(&mut app, ']');
    assert_eq!(app.wf.nodes[app.selected].id, "w01", "wraps to the first");
    ch(&mut app, '[');
    assert_eq!(app.wf.nodes[app.selected].id, "w32", "and back to the last");
    // The same in the list, within the filter.
    ch(&mut app, 'v');
    ch(&mut app, 'f');
    typed(&mut app, "worker 2");
    key(&mut app, KeyCode::Enter);
    ch(&mut app, 'e');
    assert!(render(&app).contains("no failed node in the filtered list"));
    ch(&mut app, ']');
    assert_eq!(app.wf.nodes[app.selected].id, "w20");
    ch(&mut app, 'E');
    assert!(
        app.message
            .as_ref()
            .is_some_and(|m| m.text.contains("no failed node"))
    );
}

#[test]
fn with_nothing_failed_or_running_a_jump_says_so() {
    let wf = root().join("tests/workflows/many-workers.json");
    let p = setup::prepare(&wf, None, &[]).expect("prepare");
    let mut app = App::new(p, Theme::default(), Charset::Unicode, Instant::now());
    app::update(&mut app, AppEvent::Resize(80, 24));
    let before = app.selected;
    ch(&mut app, 'e');
    assert_eq!(app.selected, before);
    assert!(render(&app).contains("no failed node"));
    ch(&mut app, '[');
    assert!(render(&app).contains("no running node"));
}

#[test]
fn the_graph_scrolls_to_the_selection_and_names_only_the_directions_with_more() {
    let (mut app, _) = workers((80, 24));
    select(&mut app, 1);
    let top = render(&app);
    assert!(top.contains("worker 01"), "{top}");
    let hint = |s: &str| {
        s.lines()
            .find_map(|l| l.find("more: ").map(|k| l[k..].to_string()))
            .unwrap_or_default()
    };
    assert!(
        hint(&top).contains('↓') && !hint(&top).contains('↑'),
        "{top}"
    );
    // The last worker, far below the pane: the graph follows.
    ch(&mut app, '[');
    assert_eq!(
        app.wf.nodes[app.selected].id, "w32",
        "wrapped to the last running"
    );
    let screen = render(&app);
    let graph: String = screen.lines().take(8).collect::<Vec<_>>().join("\n");
    assert!(graph.contains("worker 32"), "{screen}");
    assert!(hint(&screen).contains('↑'), "{screen}");
    for _ in 0..8 {
        ch(&mut app, 'j');
    }
    assert_eq!(app.wf.nodes[app.selected].id, "w40");
    let bottom = render(&app);
    assert!(bottom.lines().take(8).any(|l| l.contains("worker 40")));
    assert!(!hint(&bottom).contains('↓'), "nothing below: {bottom}");
    insta::assert_snapshot!(bottom);
}

#[test]
fn a_step_waiting_for_a_slot_says_why() {
    let (mut app, _) = workers((120, 36));
    select(&mut app, 36);
    let screen = render(&app);
    assert!(
        screen.contains("waiting: --max-parallel 30 reached"),
        "{screen}"
    );
    // A slot frees up: until the engine starts the next, no step waits for a slot.
    finished(&mut app, 1, NodeOutcome::Succeeded, 2_400);
    assert!(!app.list.is_queued(app.selected), "29 run");
    started(&mut app, 33);
    assert!(app.list.is_queued(app.selected), "30 run again");
    assert_eq!(
        app.list.counts_text(),
        "30 running · 7 queued · 1 failed · 2 done"
    );
    // A screen that does not know the bound (attached) claims nothing.
    app.max_parallel = None;
    finished(&mut app, 2, NodeOutcome::Succeeded, 2_400);
    started(&mut app, 34);
    assert!(!app.list.is_queued(app.selected));
    assert!(!render(&app).contains("--max-parallel"));
}

#[test]
fn list_rows_are_recomputed_on_state_events_not_on_ticks_or_logs() {
    let (mut app, t) = workers((80, 24));
    ch(&mut app, 'v');
    let before = app.recomputed.list;
    for k in 0..50 {
        log(&mut app, 4, "more output\n");
        app::update(
            &mut app,
            AppEvent::Tick(t + Duration::from_millis(2_600 + k)),
        );
    }
    assert_eq!(app.recomputed.list, before, "logs and ticks");
    finished(&mut app, 4, NodeOutcome::Succeeded, 2_000);
    assert_eq!(app.recomputed.list, before + 1);
    ch(&mut app, 'j');
    assert_eq!(
        app.recomputed.list,
        before + 1,
        "a selection moves, the rows stay"
    );
    // The graph's texts (and the layout of a big graph) wait while the list is shown.
    let texts = app.recomputed.texts;
    app::update(&mut app, AppEvent::Tick(t + Duration::from_millis(3_000)));
    started(&mut app, 33);
    assert_eq!(app.recomputed.texts, texts);
    ch(&mut app, 'v');
    assert_eq!(
        app.recomputed.texts,
        texts + 1,
        "brought up to date for the graph"
    );
    let w01 = app.wf.node_index("w01").expect("w01");
    assert!(app.texts[w01].contains("3.0s"), "{}", app.texts[w01]);
}

fn mouse(app: &mut App, kind: crossterm::event::MouseEventKind, col: u16, row: u16) {
    app::update(
        app,
        AppEvent::Mouse(crossterm::event::MouseEvent {
            kind,
            column: col,
            row,
            modifiers: KeyModifiers::NONE,
        }),
    );
}

#[test]
fn the_mouse_selects_and_scrolls_in_the_list_and_enter_on_a_failed_row_shows_why() {
    use crossterm::event::{MouseButton, MouseEventKind};
    let (mut app, _) = workers((80, 24));
    ch(&mut app, 'v');
    // Focus elsewhere first: a click on the list focuses it.
    app.focus = Context::Logs;
    let l = app.layout.list.expect("the list is shown");
    // Row 0 is the border, row 1 the header, row 2 the first step (w01).
    mouse(
        &mut app,
        MouseEventKind::Down(MouseButton::Left),
        l.x + 3,
        l.y + 4,
    );
    assert_eq!(app.focus, Context::List);
    assert_eq!(app.wf.nodes[app.selected].id, "w03", "{}", render(&app));
    // A click on the header selects nothing new.
    mouse(
        &mut app,
        MouseEventKind::Down(MouseButton::Left),
        l.x + 3,
        l.y + 1,
    );
    assert_eq!(app.wf.nodes[app.selected].id, "w03");
    // The wheel moves the selection three rows at a time, and the list follows it.
    for _ in 0..5 {
        mouse(&mut app, MouseEventKind::ScrollDown, l.x + 3, l.y + 3);
    }
    assert_eq!(app.wf.nodes[app.selected].id, "w18");
    assert!(render(&app).contains("worker 18"), "{}", render(&app));
    mouse(&mut app, MouseEventKind::ScrollUp, l.x + 3, l.y + 3);
    assert_eq!(app.wf.nodes[app.selected].id, "w15");
    // Enter on the failed row (w03): its failure, as from the graph.
    ch(&mut app, 'e');
    assert_eq!(app.wf.nodes[app.selected].id, "w03");
    key(&mut app, KeyCode::Enter);
    assert!(
        matches!(app.overlay, app::Overlay::Detail(_)),
        "{}",
        render(&app)
    );
}

#[test]
fn snapshot_list_view_with_a_worker_queued_on_slurm() {
    let (mut app, t) = workers((120, 36));
    // A slot frees up and w33 goes to Slurm's queue: it holds the slot, the others still wait
    // for one; both kinds count as queued.
    finished(&mut app, 1, NodeOutcome::Succeeded, 2_400);
    app::update(&mut app, AppEvent::Tick(t + Duration::from_millis(2_600)));
    ev(
        &mut app,
        Event::NodeQueued {
            node: Arc::from(id(33)),
            attempt: Attempt::FIRST,
            executor: "slurm".into(),
            job: Some("1234".into()),
        },
    );
    app::update(&mut app, AppEvent::Tick(t + Duration::from_millis(4_100)));
    assert_eq!(
        app.list.counts_text(),
        "29 running · 8 queued · 1 failed · 2 done"
    );
    assert!(app.list.is_queued(app.wf.node_index(&id(34)).expect("w34")));
    ch(&mut app, 'v');
    select(&mut app, 33);
    let screen = render(&app);
    let row = |screen: &str, i: usize| {
        screen
            .lines()
            .find(|l| l.contains(&format!("worker {i:02}")))
            .map(str::to_string)
            .unwrap_or_default()
    };
    let w33 = row(&screen, 33);
    assert!(
        w33.contains("◌ queued") && w33.contains("1.5s") && w33.contains("slurm job 1234"),
        "{w33}"
    );
    assert!(!w33.contains("--max-parallel"), "it has its slot: {w33}");
    assert!(
        screen.contains("◌ queued 1.5s · slurm job 1234"),
        "the status line: {screen}"
    );
    insta::assert_snapshot!(screen);
    ch(&mut app, 'j');
    let screen = render(&app);
    assert!(
        row(&screen, 34).contains("waiting: --max-parallel 30 reached"),
        "{screen}"
    );
    // The state filter keeps both kinds.
    ch(&mut app, 'f');
    typed(&mut app, "queued");
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.list.rows.len(), 8);
    // It runs: a running worker again, its job named until it writes a line.
    ev(
        &mut app,
        Event::NodeStarted {
            node: Arc::from(id(33)),
            attempt: Attempt::FIRST,
            pid: None,
        },
    );
    assert_eq!(
        app.list.counts_text(),
        "30 running · 7 queued · 1 failed · 2 done"
    );
    assert_eq!(app.list.rows.len(), 7);
    key(&mut app, KeyCode::Esc);
    let w33 = row(&render(&app), 33);
    assert!(
        w33.contains("running") && w33.contains("slurm job 1234"),
        "{w33}"
    );
    log(&mut app, 33, "w33 up on node c1\n");
    let w33 = row(&render(&app), 33);
    assert!(w33.contains("w33 up on node c1"), "{w33}");
}
