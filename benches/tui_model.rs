//! The TUI model under a log flood with a large variable (issue 10 §1): `update()` takes 20 000
//! log lines (a tick every 100, a frame drawn every 500) while the service node is selected,
//! once with an input mapping `n = count(data)` over a ~4.3 MB input `data` and once without a
//! mapping. The mapped case must stay within 2× of the unmapped one: derived state (mapping
//! rows, node texts, layout) is recomputed on the events that change it, not per event or frame.
//!
//! Issue 15 §4 (and 16): a workflow of 1 000 and of 10 000 parallel workers (`--max-parallel`
//! 32, the list view shown, 120×40): the cost of one frame, of a tick, of a log line and of one
//! worker ending while the next starts (what recomputes the list's rows and counts).
//! `tui_model_graph`: the same in the graph view (issue 16 §5: the graph's texts are formatted
//! again only where a node's look changed, and a frame paints only the edges in the window).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use wfop::engine::setup;
use wfop::engine::{Event, ShownVars, Stream};
use wfop::secrets::Redactor;
use wfop::ui::graph::Charset;
use wfop::ui::tui::app::{self, App, AppEvent};
use wfop::ui::tui::theme::Theme;
use wfop::ui::tui::view;

const LINES: usize = 20_000;
const LINE: &[u8] =
    b"2024-06-28T15:30:12Z INFO worker-3 processed shot batch 4711: ok, 1024 counts\n";

/// A workflow with one service node (mapped or not) and its ~4.3 MB input, in a fresh folder.
fn files(dir: &std::path::Path, mapped: bool) -> (PathBuf, PathBuf) {
    let mapping = if mapped {
        r#", "input_mapping": [ { "name": "n", "value": "count(data)" } ]"#
    } else {
        ""
    };
    let wf = format!(
        r#"{{ "name": "mapping", "inputs": {{ "data": {{}} }},
  "nodes": [ {{ "id": "start", "type": "start" }},
             {{ "id": "flood", "type": "service", "run": {{ "command": ["true"] }}{mapping} }},
             {{ "id": "end", "type": "end" }} ],
  "edges": [ {{ "from": "start", "to": "flood" }}, {{ "from": "flood", "to": "end" }} ] }}"#
    );
    let data: Vec<serde_json::Value> = (0..82_000)
        .map(|i| serde_json::json!({ "id": i, "name": format!("sample-{i:06}"), "ok": i % 3 == 0 }))
        .collect();
    let input = serde_json::json!({ "data": data });
    let (wf_path, input_path) = (dir.join("wf.json"), dir.join("input.json"));
    std::fs::write(&wf_path, wf).expect("workflow");
    std::fs::write(&input_path, serde_json::to_vec(&input).expect("json")).expect("input");
    (wf_path, input_path)
}

/// An app with the run started and the service running and selected.
fn running_app(mapped: bool) -> (App, Instant) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (wf, input) = files(dir.path(), mapped);
    let prepared = setup::prepare(&wf, Some(&input), &[]).expect("prepare");
    let inputs = ShownVars::redact_inputs(&Redactor::new(), &prepared.inputs);
    let t = Instant::now();
    let mut app = App::new(prepared, Theme::default(), Charset::Unicode, t);
    app.take_effects();
    app::update(&mut app, AppEvent::Resize(120, 40));
    app::update(
        &mut app,
        AppEvent::Engine(Event::RunStarted {
            run_id: "bench".into(),
            workflow: "mapping".into(),
            record: PathBuf::from("/state/runs/bench"),
            nodes: vec!["flood".into()],
            inputs,
            started: None,
        }),
    );
    app::update(
        &mut app,
        AppEvent::Engine(Event::NodeStarted {
            node: Arc::from("flood"),
            attempt: wfop::engine::Attempt::FIRST,
            pid: Some(1),
        }),
    );
    assert_eq!(app.wf.nodes[app.selected].id, "flood");
    (app, t)
}

/// The flood: log lines, a tick every 100, a frame every 500.
fn flood(app: &mut App, t: Instant) {
    let node: Arc<str> = Arc::from("flood");
    let area = Rect::new(0, 0, 120, 40);
    let mut buf = Buffer::empty(area);
    for i in 0..LINES {
        app::update(
            app,
            AppEvent::Engine(Event::NodeLog {
                node: node.clone(),
                attempt: 1,
                stream: Stream::Stdout,
                data: LINE.to_vec(),
                redacted: Vec::new(),
            }),
        );
        if i % 100 == 0 {
            app::update(app, AppEvent::Tick(t + Duration::from_millis(i as u64)));
        }
        if i % 500 == 0 {
            view::draw(app, area, &mut buf);
        }
    }
}

/// A fork to `n` workers and a join, in a fresh folder.
fn workers_file(dir: &std::path::Path, n: usize) -> PathBuf {
    let mut nodes = vec![
        serde_json::json!({ "id": "start", "type": "start" }),
        serde_json::json!({ "id": "fork", "type": "parallel" }),
    ];
    let mut edges = vec![serde_json::json!({ "from": "start", "to": "fork" })];
    for i in 0..n {
        let id = format!("w{i:05}");
        nodes.push(
            serde_json::json!({ "id": id, "type": "service", "label": format!("worker {i}"),
            "run": { "command": ["true"] } }),
        );
        edges.push(serde_json::json!({ "from": "fork", "to": id }));
        edges.push(serde_json::json!({ "from": id, "to": "join" }));
    }
    nodes.push(serde_json::json!({ "id": "join", "type": "parallel" }));
    nodes.push(serde_json::json!({ "id": "end", "type": "end" }));
    edges.push(serde_json::json!({ "from": "join", "to": "end" }));
    let wf = serde_json::json!({ "name": "many", "nodes": nodes, "edges": edges });
    let path = dir.join("many.json");
    std::fs::write(&path, serde_json::to_vec(&wf).expect("json")).expect("workflow");
    path
}

const PARALLEL: usize = 32;

/// `n` workers with the first `PARALLEL` running (each with a log line), the rest queued, the
/// list view shown. (Set up in the graph view, 10 000 workers take minutes: every node event
/// formats every node's text and a changed width lays the whole graph out again — issue 16.)
fn many_app(n: usize) -> (App, Instant) {
    workers_app(n, true)
}

/// [`many_app`] in the list view (`list`) or in the graph view.
fn workers_app(n: usize, list: bool) -> (App, Instant) {
    let dir = tempfile::tempdir().expect("tempdir");
    let wf = workers_file(dir.path(), n);
    let prepared = setup::prepare(&wf, None, &[]).expect("prepare");
    let inputs = ShownVars::redact_inputs(&Redactor::new(), &prepared.inputs);
    let t = Instant::now();
    let mut app = App::new(prepared, Theme::default(), Charset::Unicode, t);
    app.take_effects();
    app.max_parallel = Some(PARALLEL);
    app::update(&mut app, AppEvent::Resize(120, 40));
    // The list view first: the graph's texts and layout wait while it is shown.
    if list {
        app::update(&mut app, AppEvent::Key(key('v')));
    }
    assert_eq!(app.list.shown, list);
    let ids: Vec<String> = (0..n).map(|i| format!("w{i:05}")).collect();
    app::update(
        &mut app,
        AppEvent::Engine(Event::RunStarted {
            run_id: "bench".into(),
            workflow: "many".into(),
            record: PathBuf::from("/state/runs/bench"),
            nodes: ids.clone(),
            inputs,
            started: None,
        }),
    );
    let edge = |app: &mut App, k: usize, from: &str, to: &str| {
        app::update(
            app,
            AppEvent::Engine(Event::EdgeTaken {
                edge: k,
                from: Arc::from(from),
                to: Arc::from(to),
            }),
        )
    };
    edge(&mut app, 0, "start", "fork");
    for (i, id) in ids.iter().enumerate() {
        edge(&mut app, 1 + 2 * i, "fork", id);
    }
    for id in &ids[..PARALLEL] {
        start(&mut app, id);
        log(&mut app, id);
    }
    (app, t)
}

fn key(c: char) -> crossterm::event::KeyEvent {
    crossterm::event::KeyEvent::new(
        crossterm::event::KeyCode::Char(c),
        crossterm::event::KeyModifiers::NONE,
    )
}

fn start(app: &mut App, id: &str) {
    app::update(
        app,
        AppEvent::Engine(Event::NodeStarted {
            node: Arc::from(id),
            attempt: wfop::engine::Attempt::FIRST,
            pid: Some(1),
        }),
    );
}

fn log(app: &mut App, id: &str) {
    app::update(
        app,
        AppEvent::Engine(Event::NodeLog {
            node: Arc::from(id),
            attempt: 1,
            stream: Stream::Stdout,
            data: LINE.to_vec(),
            redacted: Vec::new(),
        }),
    );
}

fn bench_many(c: &mut Criterion) {
    let mut g = c.benchmark_group("tui_model_list");
    g.sample_size(10);
    for n in [1_000usize, 10_000] {
        let (mut app, t) = many_app(n);
        let area = Rect::new(0, 0, 120, 40);
        let mut buf = Buffer::empty(area);
        g.bench_function(format!("frame_{n}"), |b| {
            b.iter(|| {
                view::draw(&app, area, &mut buf);
            })
        });
        let mut ms = 0;
        g.bench_function(format!("tick_{n}"), |b| {
            b.iter(|| {
                ms += 100;
                app::update(&mut app, AppEvent::Tick(t + Duration::from_millis(ms)));
            })
        });
        g.bench_function(format!("log_line_{n}"), |b| {
            b.iter(|| log(&mut app, "w00003"))
        });
        // One worker ends, the next queued one starts (in a cycle over all of them).
        let mut next = PARALLEL;
        g.bench_function(format!("worker_done_next_starts_{n}"), |b| {
            b.iter(|| {
                worker_done_next_starts(&mut app, n, next);
                next += 1;
            })
        });
    }
    g.finish();
}

/// Worker `next - PARALLEL` (of `n`, in a cycle) ends and worker `next` starts.
fn worker_done_next_starts(app: &mut App, n: usize, next: usize) {
    let done = format!("w{:05}", (next - PARALLEL) % n);
    app::update(
        app,
        AppEvent::Engine(Event::NodeFinished {
            node: Arc::from(done.as_str()),
            status: wfop::engine::NodeOutcome::Succeeded,
            duration_ms: 1_000,
            exit_code: Some(0),
            signal: None,
            reason: None,
            attempt: 1,
            error_code: None,
        }),
    );
    start(app, &format!("w{:05}", next % n));
}

/// Issue 16 §5: the same forks in the graph view (120×40): one frame, a tick (spinners and
/// durations of the 32 running workers move), one worker ending while the next starts.
fn bench_graph(c: &mut Criterion) {
    let mut g = c.benchmark_group("tui_model_graph");
    g.sample_size(10);
    for n in [1_000usize, 10_000] {
        let set_up = Instant::now();
        let (mut app, t) = workers_app(n, false);
        eprintln!("graph view, {n} workers: set-up {:?}", set_up.elapsed());
        let area = Rect::new(0, 0, 120, 40);
        let mut buf = Buffer::empty(area);
        g.bench_function(format!("frame_{n}"), |b| {
            b.iter(|| {
                view::draw(&app, area, &mut buf);
            })
        });
        let mut ms = 0;
        g.bench_function(format!("tick_{n}"), |b| {
            b.iter(|| {
                ms += 100;
                app::update(&mut app, AppEvent::Tick(t + Duration::from_millis(ms)));
            })
        });
        let mut next = PARALLEL;
        g.bench_function(format!("worker_done_next_starts_{n}"), |b| {
            b.iter(|| {
                worker_done_next_starts(&mut app, n, next);
                next += 1;
            })
        });
    }
    g.finish();
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("tui_model_flood");
    g.sample_size(10);
    for (name, mapped) in [("unmapped", false), ("mapped_count_data", true)] {
        g.bench_function(name, |b| {
            b.iter_batched(
                || running_app(mapped),
                |(mut app, t)| {
                    flood(&mut app, t);
                    app
                },
                BatchSize::PerIteration,
            )
        });
    }
    g.finish();
}

criterion_group!(benches, bench, bench_many, bench_graph);
criterion_main!(benches);
