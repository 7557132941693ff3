//! The TUI model under a log flood with a large variable (issue 10 §1): `update()` takes 20 000
//! log lines (a tick every 100, a frame drawn every 500) while the service node is selected,
//! once with an input mapping `n = count(data)` over a ~4.3 MB input `data` and once without a
//! mapping. The mapped case must stay within 2× of the unmapped one: derived state (mapping
//! rows, node texts, layout) is recomputed on the events that change it, not per event or frame.

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

criterion_group!(benches, bench);
criterion_main!(benches);
