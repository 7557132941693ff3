//! The screen without a terminal: `update` driven by made-up engine events and keys, and
//! `view` drawn into ratatui's `TestBackend` for insta snapshots of the main screens.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use secrecy::SecretString;

use super::app::{self, App, AppEvent, Effect, Phase};
use super::logview::tests::buf_text;
use super::theme::{Role, Theme};
use super::{runtime, view};
use crate::engine::setup::{self, Prepared};
use crate::engine::{Event, NodeCommand, NodeOutcome, NodeSummary, RunStatus, Stream};
use crate::secrets::Source;
use crate::ui::graph::Charset;

const SECRET: &str = "Zq3-Xv8_Lm2Np7Rt4Wy9Kb6Hd1Jf5Gc0Sa-Ue8Io3Px2";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub(super) fn prepare(name: &str) -> Prepared {
    let wf = root().join(format!("workflows/{name}.json"));
    let input = root().join(format!("workflows/{name}.input.json"));
    setup::prepare(&wf, Some(&input), &[]).expect("prepare")
}

/// A prepared run whose secrets all came from the environment (no prompt).
pub(super) fn prepared_with_secrets(name: &str) -> Prepared {
    let mut p = prepare(name);
    for m in std::mem::take(&mut p.missing) {
        p.secrets
            .insert(
                &m.name,
                SecretString::from(format!("{}-{SECRET}", m.name)),
                Source::Env(m.name.to_uppercase()),
            )
            .expect("insert");
    }
    p
}

fn t0() -> Instant {
    // Any fixed instant: only differences are shown.
    Instant::now()
}

pub(super) fn new_app(p: Prepared, size: (u16, u16)) -> (App, Instant) {
    let t = t0();
    let mut app = App::new(p, Theme::default(), Charset::Unicode, t);
    app::update(&mut app, AppEvent::Resize(size.0, size.1));
    (app, t)
}

pub(super) fn key(app: &mut App, code: KeyCode) {
    app::update(app, AppEvent::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

pub(super) fn ch(app: &mut App, c: char) {
    key(app, KeyCode::Char(c));
}

fn ev(app: &mut App, e: Event) {
    app::update(app, AppEvent::Engine(e));
}

pub(super) fn started(app: &mut App, nodes: &[&str]) {
    ev(
        app,
        Event::RunStarted {
            run_id: "20250101-120000-abcd".into(),
            workflow: app.wf.name.clone(),
            record: PathBuf::from("/state/runs/20250101-120000-abcd"),
            nodes: nodes.iter().map(|s| s.to_string()).collect(),
            inputs: crate::engine::ShownVars::assume_redacted(example_inputs(app)),
            started: Some("2025-01-01T12:00:00.000Z".into()),
        },
    );
    // The run's terminals get the log pane's size at once (taken here, so the tests see the
    // effects their keys make).
    let size = app.log_pane;
    let before = app.effects.len();
    app.effects.retain(|e| {
        !matches!(e, Effect::Node(NodeCommand::Resize { cols, rows }) if (*cols, *rows) == size)
    });
    assert_eq!(
        before - app.effects.len(),
        1,
        "one resize when the run starts"
    );
}

/// The bundled example's input file next to its workflow, as the engine would show it.
fn example_inputs(app: &App) -> serde_json::Map<String, serde_json::Value> {
    let input = app.wf.path.with_extension("input.json");
    std::fs::read(&input)
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| v.as_object().cloned())
        .map(|mut m| {
            m.remove("$secrets");
            m
        })
        .unwrap_or_default()
}

pub(super) fn node_started(app: &mut App, id: &str) {
    ev(
        app,
        Event::NodeStarted {
            node: Arc::from(id),
            attempt: crate::engine::Attempt::FIRST,
            pid: Some(4242),
        },
    );
}

pub(super) fn log(app: &mut App, id: &str, stream: Stream, text: &str) {
    ev(
        app,
        Event::NodeLog {
            node: Arc::from(id),
            attempt: 1,
            stream,
            data: text.as_bytes().to_vec(),
            redacted: Vec::new(),
        },
    );
}

fn finished(app: &mut App, id: &str, status: NodeOutcome, ms: u64, reason: Option<&str>) {
    ev(
        app,
        Event::NodeFinished {
            node: Arc::from(id),
            status,
            duration_ms: ms,
            exit_code: Some(if status == NodeOutcome::Succeeded {
                0
            } else {
                1
            }),
            signal: None,
            reason: reason.map(str::to_string),
            attempt: 1,
            error_code: None,
        },
    );
}

fn summary(id: &str, status: NodeOutcome, ms: Option<u64>) -> NodeSummary {
    NodeSummary {
        node: id.into(),
        label: id.into(),
        status,
        attempts: u32::from(ms.is_some()),
        duration_ms: ms,
        exit_code: ms.map(|_| {
            if status == NodeOutcome::Succeeded {
                0
            } else {
                1
            }
        }),
        signal: None,
        reason: None,
        reused: None,
    }
}

fn run_finished(app: &mut App, status: RunStatus, nodes: Vec<NodeSummary>) {
    ev(app, Event::SecretsPurged);
    ev(
        app,
        Event::RunFinished {
            status,
            duration_ms: 1234,
            nodes,
        },
    );
}

pub(super) fn render(app: &App) -> String {
    let (w, h) = app.size;
    let mut term = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    term.draw(|f| view::view(app, f)).expect("draw");
    buf_text(term.backend().buffer())
}

pub(super) fn effects(app: &mut App) -> Vec<Effect> {
    app.take_effects()
}

/// The quantum example mid-run: the orchestrated service running, some log lines in.
pub(super) fn quantum_running() -> (App, Instant) {
    let (mut app, t) = new_app(prepared_with_secrets("quantum-secrets"), (80, 24));
    assert!(matches!(effects(&mut app).as_slice(), [Effect::Start(_)]));
    started(&mut app, &["orchestrated"]);
    node_started(&mut app, "orchestrated");
    log(
        &mut app,
        "orchestrated",
        Stream::Stdout,
        "quantum_service: checking the IBM token\nquantum_service: token accepted (ibm-cloud-api-key)\n",
    );
    log(
        &mut app,
        "orchestrated",
        Stream::Stderr,
        "warning: token *** seen in a debug line\n",
    );
    app::update(&mut app, AppEvent::Tick(t + Duration::from_millis(1500)));
    (app, t)
}

#[test]
fn snapshot_quantum_running_80x24_with_the_secrets_row() {
    let (app, _) = quantum_running();
    let screen = render(&app);
    assert!(screen.contains("$secrets"), "{screen}");
    assert!(
        screen.contains("secret_value(\"ibm_api_token\")"),
        "{screen}"
    );
    assert!(screen.contains("••••••"), "{screen}");
    assert!(screen.contains("(from: env:IBM_API_TOKEN)"), "{screen}");
    assert!(!screen.contains(SECRET), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn snapshot_portfolio_graph_160x48() {
    let (mut app, t) = new_app(prepared_with_secrets("portfolio-risk"), (160, 48));
    effects(&mut app);
    started(
        &mut app,
        &[
            "fetch_prices",
            "classical_risk",
            "quantum_sampling",
            "report",
        ],
    );
    node_started(&mut app, "fetch_prices");
    log(
        &mut app,
        "fetch_prices",
        Stream::Stdout,
        "fetching 5 symbols\n",
    );
    finished(&mut app, "fetch_prices", NodeOutcome::Succeeded, 412, None);
    ev(
        &mut app,
        Event::Redactions {
            node: Arc::from("fetch_prices"),
            counts: BTreeMap::from([("market_data_api_key".to_string(), 2)]),
        },
    );
    node_started(&mut app, "classical_risk");
    node_started(&mut app, "quantum_sampling");
    log(
        &mut app,
        "quantum_sampling",
        Stream::Stdout,
        "sampling 4096 shots\n",
    );
    app::update(&mut app, AppEvent::Tick(t + Duration::from_millis(2300)));
    let screen = render(&app);
    assert!(screen.contains("○"), "{screen}");
    assert!(screen.contains("●"), "{screen}");
    assert!(
        screen.contains("[✓ Fetch market data  0.4s *2]"),
        "{screen}"
    );
    insta::assert_snapshot!(screen);
}

#[test]
fn snapshot_quantum_graph_finished() {
    let (mut app, _) = quantum_running();
    finished(&mut app, "orchestrated", NodeOutcome::Succeeded, 1800, None);
    run_finished(
        &mut app,
        RunStatus::Succeeded,
        vec![summary("orchestrated", NodeOutcome::Succeeded, Some(1800))],
    );
    app::update(&mut app, AppEvent::EngineDone(Err("test".into())));
    let screen = render(&app);
    assert!(
        screen.contains("○ → [✓ Orchestrated Service  1.8s] → ●"),
        "{screen}"
    );
    insta::assert_snapshot!(screen);
}

#[test]
fn a_nodes_output_files_are_named_on_its_line() {
    let (mut app, _) = quantum_running();
    let file = |name: &str| crate::engine::OutputFile {
        name: name.into(),
        bytes: 12,
        path: Some(format!("orchestrated.files/1/{name}").into()),
        reason: None,
        redactions: Default::default(),
    };
    ev(
        &mut app,
        Event::OutputFiles {
            node: Arc::from("orchestrated"),
            attempt: 1,
            files: vec![file("counts.csv"), file("histogram.png")],
        },
    );
    finished(&mut app, "orchestrated", NodeOutcome::Succeeded, 1800, None);
    let screen = render(&app);
    assert!(
        screen.contains("2 files in the record: counts.csv, histogram.png"),
        "{screen}"
    );
}

#[test]
fn snapshot_failed_run() {
    let (mut app, _) = new_app(prepared_with_secrets("portfolio-risk"), (100, 30));
    effects(&mut app);
    started(
        &mut app,
        &[
            "fetch_prices",
            "classical_risk",
            "quantum_sampling",
            "report",
        ],
    );
    node_started(&mut app, "fetch_prices");
    log(
        &mut app,
        "fetch_prices",
        Stream::Stderr,
        "fetch_market_data: no prices for symbol ZZZZ\n",
    );
    finished(
        &mut app,
        "fetch_prices",
        NodeOutcome::Failed,
        230,
        Some("exit code 1: no prices for symbol ZZZZ"),
    );
    for id in ["classical_risk", "quantum_sampling", "report"] {
        ev(
            &mut app,
            Event::NodeSkipped {
                node: Arc::from(id),
                reason: "the run stopped after `fetch_prices` failed".into(),
            },
        );
    }
    run_finished(
        &mut app,
        RunStatus::Failed,
        vec![
            summary("fetch_prices", NodeOutcome::Failed, Some(230)),
            summary("classical_risk", NodeOutcome::Skipped, None),
        ],
    );
    app::update(&mut app, AppEvent::EngineDone(Err("x".into())));
    app.message = None;
    let screen = render(&app);
    assert!(screen.contains("✗ failed"), "{screen}");
    assert!(screen.contains("no prices for symbol ZZZZ"), "{screen}");
    insta::assert_snapshot!(screen);
    // The failed node is drawn in the failed style.
    let (w, h) = app.size;
    let mut term = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    term.draw(|f| view::view(&app, f)).expect("draw");
    let buf = term.backend().buffer();
    let failed_fg = app.theme.style(Role::StatusFailed).fg;
    let found = (0..h).any(|y| {
        (0..w)
            .any(|x| buf[(x, y)].symbol() == "✗" && buf[(x, y)].fg == failed_fg.unwrap_or_default())
    });
    assert!(found, "a ✗ in the failed colour");
}

#[test]
fn snapshot_prompt_and_the_secret_is_never_drawn() {
    let (mut app, _) = new_app(prepare("quantum-secrets"), (80, 24));
    assert_eq!(app.phase, Phase::Prompt);
    assert!(
        effects(&mut app).is_empty(),
        "nothing runs before the secret"
    );
    for c in SECRET.chars() {
        ch(&mut app, c);
    }
    let screen = render(&app);
    assert!(!screen.contains(SECRET));
    assert!(!screen.contains(&SECRET[..6]));
    assert!(!screen.contains(&SECRET.len().to_string()));
    insta::assert_snapshot!(screen);
    key(&mut app, KeyCode::Enter);
    let eff = effects(&mut app);
    match eff.as_slice() {
        [Effect::Start(p)] => {
            assert!(p.secrets.contains("ibm_api_token"));
            assert_eq!(p.secrets.source("ibm_api_token"), Some(&Source::Prompt));
        }
        _ => panic!("expected a start"),
    }
    assert_eq!(
        app.sources.get("ibm_api_token").map(String::as_str),
        Some("prompt")
    );
    let screen = render(&app);
    assert!(screen.contains("(from: prompt)"), "{screen}");
    assert!(!screen.contains(SECRET));
}

/// Text pasted without brackets arrives as keys; the input thread marks an Enter that more
/// input followed at once. At the prompt it is a line break (no confirm, so the rest of the
/// paste cannot become commands); elsewhere it is an Enter.
#[test]
fn an_enter_inside_an_unbracketed_paste_is_a_line_break_only_at_the_prompt() {
    let (mut app, _) = new_app(prepare("quantum-secrets"), (80, 24));
    let enter = KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE);
    for line in ["-----BEGIN K-----", "QUJD", "-----END K-----"] {
        for c in line.chars() {
            ch(&mut app, c);
        }
        app::update(&mut app, AppEvent::PastedEnter(enter));
        assert_eq!(
            app.phase,
            Phase::Prompt,
            "a pasted line break confirms nothing"
        );
        assert!(effects(&mut app).is_empty());
    }
    key(&mut app, KeyCode::Enter);
    match effects(&mut app).as_slice() {
        [Effect::Start(p)] => assert!(p.secrets.contains("ibm_api_token")),
        _ => panic!("expected a start"),
    }
    // Outside the prompt the same event is an Enter (here: open the node's log).
    let (mut app, _) = quantum_running();
    let before = render(&app);
    app::update(&mut app, AppEvent::PastedEnter(enter));
    let mut other = quantum_running().0;
    key(&mut other, KeyCode::Enter);
    assert_eq!(render(&app), render(&other));
    assert_ne!(render(&app), before, "Enter did something");
}

#[test]
fn snapshot_help() {
    let (mut app, _) = quantum_running();
    ch(&mut app, '?');
    let screen = render(&app);
    assert!(screen.contains("keys — Esc closes"), "{screen}");
    insta::assert_snapshot!(screen);
    key(&mut app, KeyCode::Esc);
    assert!(!render(&app).contains("keys — Esc closes"));
}

#[test]
fn snapshot_below_the_minimum_size() {
    let (mut app, _) = quantum_running();
    app::update(&mut app, AppEvent::Resize(50, 12));
    let screen = render(&app);
    assert!(screen.contains("wfop needs at least 60×16"), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn esc_at_the_first_prompt_exits_2_without_running() {
    let (mut app, _) = new_app(prepare("quantum-secrets"), (80, 24));
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.exit_code(), Some(2));
    assert!(effects(&mut app).is_empty());
    assert!(
        app.exit_note
            .as_deref()
            .unwrap_or("")
            .contains("nothing was run")
    );
}

#[test]
fn quit_while_running_asks_cancels_and_exits_when_the_engine_is_done() {
    let (mut app, _) = quantum_running();
    ch(&mut app, 'q');
    assert_eq!(app.overlay, app::Overlay::Confirm(app::Confirm::Quit));
    assert!(render(&app).contains("quit while running?"));
    ch(&mut app, 'n');
    assert_eq!(app.overlay, app::Overlay::None);
    assert!(effects(&mut app).is_empty());
    ch(&mut app, 'q');
    ch(&mut app, 'y');
    assert!(matches!(effects(&mut app).as_slice(), [Effect::Cancel]));
    assert_eq!(app.exit_code(), None, "waits for the engine");
    ch(&mut app, 'q');
    assert!(matches!(effects(&mut app).as_slice(), [Effect::Kill]));
    finished(&mut app, "orchestrated", NodeOutcome::Cancelled, 10, None);
    run_finished(
        &mut app,
        RunStatus::Cancelled,
        vec![summary("orchestrated", NodeOutcome::Cancelled, Some(10))],
    );
    app::update(&mut app, AppEvent::EngineDone(Err("x".into())));
    assert_eq!(app.exit_code(), Some(1));
}

#[test]
fn cancel_asks_first() {
    let (mut app, _) = quantum_running();
    ch(&mut app, 'c');
    assert!(render(&app).contains("cancel the run?"));
    key(&mut app, KeyCode::Esc);
    assert!(effects(&mut app).is_empty());
    ch(&mut app, 'c');
    key(&mut app, KeyCode::Enter);
    assert!(matches!(effects(&mut app).as_slice(), [Effect::Cancel]));
    assert_eq!(app.phase, Phase::Stopping);
}

#[test]
fn rerun_reads_the_sources_again_and_prompts_when_secrets_are_missing() {
    let (mut app, _) = quantum_running();
    ch(&mut app, 'r');
    assert!(effects(&mut app).is_empty(), "no rerun while running");
    finished(&mut app, "orchestrated", NodeOutcome::Succeeded, 100, None);
    run_finished(&mut app, RunStatus::Succeeded, vec![]);
    app::update(&mut app, AppEvent::EngineDone(Err("x".into())));
    ch(&mut app, 'r');
    assert!(matches!(effects(&mut app).as_slice(), [Effect::Prepare]));
    app::update(
        &mut app,
        AppEvent::Prepared(Ok(Box::new(prepare("quantum-secrets")))),
    );
    assert_eq!(app.phase, Phase::Prompt);
    // Esc at a rerun's prompt goes back to the finished run; nothing exits.
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.exit_code(), None);
    assert_eq!(app.phase, Phase::Finished);
    assert_eq!(app.status, Some(RunStatus::Succeeded));
}

#[test]
fn signals_exit_at_once_when_idle_and_after_the_run_when_running() {
    let (mut app, _) = new_app(prepare("quantum-secrets"), (80, 24));
    app::update(&mut app, AppEvent::Signal(libc::SIGTERM));
    assert_eq!(app.exit_code(), Some(143));

    let (mut app, _) = quantum_running();
    app::update(&mut app, AppEvent::Signal(libc::SIGHUP));
    assert!(matches!(effects(&mut app).as_slice(), [Effect::Cancel]));
    assert_eq!(app.exit_code(), None);
    run_finished(&mut app, RunStatus::Interrupted { signal: 1 }, vec![]);
    app::update(&mut app, AppEvent::EngineDone(Err("x".into())));
    assert_eq!(app.exit_code(), Some(129));
}

#[test]
fn graph_navigation_follows_the_layout() {
    let (mut app, _) = new_app(prepared_with_secrets("portfolio-risk"), (100, 30));
    let id = |app: &App| app.wf.nodes[app.selected].id.clone();
    assert_eq!(id(&app), "fetch_prices");
    ch(&mut app, 'l');
    let first = id(&app);
    assert!(
        first == "classical_risk" || first == "quantum_sampling",
        "{first}"
    );
    ch(&mut app, 'j');
    ch(&mut app, 'k');
    ch(&mut app, 'j');
    let second = id(&app);
    assert_ne!(first, second, "j moves within the layer");
    ch(&mut app, 'l');
    assert_eq!(id(&app), "report");
    ch(&mut app, 'l');
    assert_eq!(id(&app), "end");
    ch(&mut app, 'h');
    assert_eq!(id(&app), "report");
}

#[test]
fn enter_shows_the_nodes_log_and_search_counts_matches() {
    let (mut app, _) = quantum_running();
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.focus, super::keymap::Context::Logs);
    assert!(render(&app).contains("logs: orchestrated"));
    ch(&mut app, '/');
    for c in "token".chars() {
        ch(&mut app, c);
    }
    assert!(render(&app).contains("/token▏"));
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.logview.search.count(), 3);
    assert!(render(&app).contains("/token"));
    ch(&mut app, 'a');
    assert!(render(&app).contains("logs: all nodes"));
}

#[test]
fn save_and_copy_become_effects_with_redacted_text() {
    let (mut app, _) = quantum_running();
    key(&mut app, KeyCode::Tab);
    key(&mut app, KeyCode::Tab);
    ch(&mut app, 's');
    match effects(&mut app).as_slice() {
        [Effect::Save { path, text }] => {
            assert_eq!(path, Path::new("wfop-20250101-120000-abcd-all.log"));
            assert!(text.contains("token *** seen"));
        }
        _ => panic!("expected a save"),
    }
    ch(&mut app, 'Y');
    assert!(matches!(effects(&mut app).as_slice(), [Effect::Copy(t)] if t.lines().count() == 3));
}

#[test]
fn summary_lists_nodes_and_the_record() {
    let (mut app, _) = quantum_running();
    finished(&mut app, "orchestrated", NodeOutcome::Succeeded, 1800, None);
    run_finished(
        &mut app,
        RunStatus::Succeeded,
        vec![summary("orchestrated", NodeOutcome::Succeeded, Some(1800))],
    );
    let s = runtime::summary(&app);
    assert!(
        s.contains("wfop: run 20250101-120000-abcd of quantum-secrets succeeded in 1.2s"),
        "{s}"
    );
    assert!(
        s.contains("orchestrated  succeeded     1.8s  exit 0"),
        "{s}"
    );
    assert!(
        s.contains("record: /state/runs/20250101-120000-abcd"),
        "{s}"
    );
}

#[test]
fn scrollback_bounds_the_lines_kept_per_run() {
    let (mut app, _) = new_app(prepare("quantum-secrets"), (80, 24));
    app.log_config.max_lines = 3;
    started(&mut app, &["orchestrated"]);
    node_started(&mut app, "orchestrated");
    let text: String = (1..=10).map(|i| format!("line {i}\n")).collect();
    log(&mut app, "orchestrated", Stream::Stdout, &text);
    let view = app.logs.view(crate::ui::tui::logbuf::Selection::All);
    let kept: Vec<String> = view
        .iter_from(view.first())
        .map(|(_, l)| l.text().to_string())
        .collect();
    assert_eq!(kept, ["line 8", "line 9", "line 10"]);
}

#[test]
fn a_later_nodes_preview_resolves_when_an_upstream_node_reports_its_outputs() {
    let (mut app, _) = new_app(prepare("portfolio-risk"), (160, 48));
    started(
        &mut app,
        &[
            "fetch_prices",
            "classical_risk",
            "quantum_sampling",
            "report",
        ],
    );
    let node = app.wf.node_index("classical_risk").expect("node");
    let series_row = |app: &App| {
        app.mapping_rows_of(node)
            .iter()
            .find(|r| r.name == "series")
            .map(|r| r.resolved.clone())
    };
    assert!(
        matches!(series_row(&app), Some(crate::ui::tui::mapping::Resolved::Note(n)) if n.contains("not known yet: prices"))
    );
    let variables = serde_json::json!({ "prices": { "series": { "AURA": [1.5, 2.5] } } });
    ev(
        &mut app,
        Event::Outputs {
            node: Arc::from("fetch_prices"),
            variables: crate::engine::ShownVars::assume_redacted(
                variables.as_object().cloned().unwrap_or_default(),
            ),
        },
    );
    assert_eq!(
        series_row(&app),
        Some(crate::ui::tui::mapping::Resolved::Value(
            "{\"AURA\":[1.5,2.5]}".into()
        ))
    );
}

#[test]
fn names_reasons_and_previews_are_drawn_terminal_safe() {
    let (mut app, _) = quantum_running();
    app.wf.name = "evil\u{202e}name\u{1b}]0;t\u{7}".into();
    finished(
        &mut app,
        "orchestrated",
        NodeOutcome::Failed,
        10,
        Some("Bad\u{202e}Input\u{9b}2J"),
    );
    ev(
        &mut app,
        Event::Outputs {
            node: Arc::from("orchestrated"),
            variables: crate::engine::ShownVars::assume_redacted(
                serde_json::json!({ "counts": "x\u{202e}y\u{9d}z" })
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
            ),
        },
    );
    app::update(&mut app, AppEvent::Resize(160, 48));
    let screen = render(&app);
    for bad in ['\u{202e}', '\u{1b}', '\u{9b}', '\u{9d}', '\u{7}'] {
        assert!(!screen.contains(bad), "{bad:?} drawn:\n{screen}");
    }
    assert!(
        screen.contains("evil\\u{202e}name\\x1b]0;t\\x07"),
        "{screen}"
    );
    assert!(screen.contains("Bad\\u{202e}Input\\u{9b}2J"), "{screen}");
    let end = app
        .wf
        .nodes
        .iter()
        .position(|n| n.kind == crate::workflow::NodeKind::End);
    app.selected = end.expect("an end node");
    let rows = app.mapping_rows();
    let counts = rows
        .iter()
        .find(|r| r.name == "counts")
        .expect("counts row");
    assert_eq!(
        counts.resolved,
        super::mapping::Resolved::Value("\"x\\u202ey\\u009dz\"".into())
    );
}

#[test]
fn derived_state_is_recomputed_on_the_events_that_change_it_and_not_on_ticks_or_logs() {
    let (mut app, t) = new_app(prepared_with_secrets("portfolio-risk"), (160, 48));
    started(
        &mut app,
        &[
            "fetch_prices",
            "classical_risk",
            "quantum_sampling",
            "report",
        ],
    );
    let before = app.recomputed;
    // Nothing runs: ticks and log lines leave rows, texts and layout alone.
    for i in 1..=50 {
        app::update(&mut app, AppEvent::Tick(t + Duration::from_millis(100 * i)));
        log(&mut app, "fetch_prices", Stream::Stdout, "a line\n");
    }
    assert_eq!(app.recomputed, before);

    // A node starts: its text changes, and with it each tick while it runs; rows do not.
    node_started(&mut app, "fetch_prices");
    let started_texts = app.recomputed.texts;
    assert_eq!(started_texts, before.texts + 1);
    let text = app.texts[app.wf.node_index("fetch_prices").expect("node")].clone();
    app::update(&mut app, AppEvent::Tick(t + Duration::from_millis(9000)));
    assert_eq!(app.recomputed.texts, started_texts + 1);
    assert_ne!(
        app.texts[app.wf.node_index("fetch_prices").expect("node")],
        text,
        "the spinner and the duration move"
    );
    for _ in 0..20 {
        log(&mut app, "fetch_prices", Stream::Stdout, "a line\n");
    }
    assert_eq!(app.recomputed.rows, before.rows);
    assert_eq!(app.recomputed.texts, started_texts + 1);

    // Outputs: the rows are computed again (a later node's preview resolves).
    let node = app.wf.node_index("classical_risk").expect("node");
    let rows_before = app.mapping_rows_of(node).to_vec();
    let variables = serde_json::json!({ "prices": { "series": { "AURA": [1.5, 2.5] } } });
    ev(
        &mut app,
        Event::Outputs {
            node: Arc::from("fetch_prices"),
            variables: crate::engine::ShownVars::assume_redacted(
                variables.as_object().cloned().unwrap_or_default(),
            ),
        },
    );
    assert_eq!(app.recomputed.rows, before.rows + 1);
    assert_ne!(app.mapping_rows_of(node), rows_before.as_slice());

    // Selection: the layout follows the selected node's rows; no row is evaluated again.
    let layout_before = app.recomputed.layout;
    let rows_count = app.recomputed.rows;
    let shown = app.mapping_rows().to_vec();
    ch(&mut app, 'l');
    assert_eq!(app.recomputed.layout, layout_before + 1);
    assert_eq!(app.recomputed.rows, rows_count);
    assert_ne!(app.mapping_rows(), shown.as_slice());

    // Resize: the layout, at the new size.
    app::update(&mut app, AppEvent::Resize(80, 24));
    assert_eq!(app.recomputed.layout, layout_before + 2);
    assert_eq!(app.layout.full, ratatui::layout::Rect::new(0, 0, 80, 24));
    assert_eq!(
        app.layout,
        super::layout::areas(app.layout.full, app.graph_size(), app.mapping_rows())
    );
}

#[test]
fn a_save_or_copy_result_comes_back_as_an_event_and_sets_the_message() {
    let (mut app, _) = quantum_running();
    app::update(
        &mut app,
        AppEvent::EffectDone(app::EffectDone::Saved(PathBuf::from("wfop-run-x.log"))),
    );
    let m = app.message.clone().expect("a message");
    assert_eq!(m.text, "saved to wfop-run-x.log (mode 0600)");
    assert!(!m.error);
    app::update(
        &mut app,
        AppEvent::EffectDone(app::EffectDone::SaveFailed {
            path: PathBuf::from("/nope/\u{1b}x.log"),
            error: "No such file or directory".into(),
        }),
    );
    let m = app.message.clone().expect("a message");
    assert!(m.error);
    assert!(m.text.starts_with("cannot save /nope/"), "{}", m.text);
    assert!(!m.text.contains('\u{1b}'), "terminal-safe: {}", m.text);
    app::update(
        &mut app,
        AppEvent::EffectDone(app::EffectDone::CopyFailed("too long to copy".into())),
    );
    assert_eq!(
        app.message.clone().map(|m| (m.text, m.error)),
        Some(("too long to copy".to_string(), true))
    );
    assert!(render(&app).contains("too long to copy"));
}

#[test]
fn the_model_does_not_use_the_view_and_the_layout_uses_neither() {
    let app_src = include_str!("app.rs");
    assert!(!app_src.contains("super::view"), "app must not import view");
    let layout_src = include_str!("layout.rs");
    for m in ["super::app", "super::view", "super::runtime"] {
        assert!(!layout_src.contains(m), "layout is pure: no {m}");
    }
}

/// The platform's polling pattern: start → submit → wait (timer, 30s) → poll → check
/// (exclusive: `status = "DONE"` → report, default → wait) → report → end. Built from a
/// services-only file, then given its control flow in memory (the conditions parsed as the
/// loader parses them).
pub(super) fn polling_workflow() -> crate::workflow::Workflow {
    use crate::diag::SourceFile;
    use crate::workflow::model::{Condition, Timer};
    use crate::workflow::{NodeKind, check_source, json};
    let svc = |id: &str, label: &str| {
        format!(
            r#"{{ "id": "{id}", "type": "service", "label": "{label}",
                 "run": {{ "command": ["true"] }} }}"#
        )
    };
    let text = format!(
        r#"{{ "name": "polling", "nodes": [
            {{ "id": "start", "type": "start" }}, {}, {}, {}, {}, {},
            {{ "id": "end", "type": "end" }} ],
          "edges": [
            {{ "from": "start", "to": "submit" }}, {{ "from": "submit", "to": "wait" }},
            {{ "from": "wait", "to": "poll" }}, {{ "from": "poll", "to": "check" }},
            {{ "from": "check", "to": "report" }}, {{ "from": "check", "to": "end" }},
            {{ "from": "report", "to": "end" }} ] }}"#,
        svc("submit", "Submit"),
        svc("wait", "wait"),
        svc("poll", "Poll"),
        svc("check", "done?"),
        svc("report", "Report"),
    );
    let checked = check_source(SourceFile::from_text("polling.json", &text));
    let shown = checked.render(false);
    let mut wf = checked
        .into_workflow()
        .unwrap_or_else(|| panic!("the base file loads: {shown}"));
    let condition = |text: &str| {
        let literal = serde_json::to_string(text).expect("a JSON string");
        let Ok(json::Node {
            value: json::Value::String(value),
            ..
        }) = json::parse(&literal)
        else {
            panic!("a string literal parses as a string");
        };
        let expr = crate::expr::parse(&value.text).ok();
        Condition { value, expr }
    };
    for n in &mut wf.nodes {
        match n.id.as_str() {
            "wait" => {
                n.kind = NodeKind::Timer;
                n.run = None;
                n.timer = Some(Timer {
                    duration: Duration::from_secs(30),
                    text: "PT30S".into(),
                    span: n.span.clone(),
                });
            }
            "check" => {
                n.kind = NodeKind::Exclusive;
                n.run = None;
            }
            _ => {}
        }
    }
    // check → report when done; check → wait by default (the loop).
    wf.edges[4].condition = Some(condition(r#"status = "DONE""#));
    wf.edges[5].to = "wait".into();
    wf.edges[5].default = true;
    wf
}

/// The polling workflow of `tests/workflows/polling.json` (retries, a timer in a loop through
/// exclusive gateways, an error path, a parallel fork and join), ready to run.
fn polling_app(size: (u16, u16)) -> (App, Instant) {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("input.json");
    std::fs::write(&input, r#"{ "job": { "circuit": "bell" } }"#).expect("input");
    let wf = root().join("tests/workflows/polling.json");
    let p = setup::prepare(&wf, Some(&input), &[]).expect("prepare");
    let (mut app, t) = new_app(p, size);
    assert!(matches!(effects(&mut app).as_slice(), [Effect::Start(_)]));
    let steps = ["submit", "wait", "poll", "simulate", "report", "archive"];
    started(&mut app, &steps);
    (app, t)
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

fn attempt_started(app: &mut App, id: &str, attempt: u32, iteration: u32, try_no: u32, tries: u32) {
    ev(
        app,
        Event::NodeStarted {
            node: Arc::from(id),
            attempt: crate::engine::Attempt {
                attempt,
                iteration,
                try_no,
                tries,
            },
            pid: None,
        },
    );
}

fn select(app: &mut App, id: &str) {
    app.selected = app.wf.node_index(id).expect("node");
    let size = app.size;
    app::update(app, AppEvent::Resize(size.0, size.1));
}

/// The decision of `done`: loop again (`status` RUNNING) or not.
fn decided(app: &mut App, iteration: u32, again: bool) {
    let loop_edge = app
        .wf
        .edges
        .iter()
        .position(|e| e.from == "done" && e.to == "again")
        .expect("loop edge");
    let default = loop_edge + 1;
    ev(
        app,
        Event::GatewayDecision {
            node: Arc::from("done"),
            iteration,
            conditions: vec![
                crate::engine::ConditionResult {
                    edge: loop_edge,
                    to: Arc::from("again"),
                    value: Some(again),
                    default: false,
                    error: None,
                },
                crate::engine::ConditionResult {
                    edge: default,
                    to: Arc::from("merge"),
                    value: None,
                    default: true,
                    error: None,
                },
            ],
            taken: Some(if again { loop_edge } else { default }),
            reason: None,
        },
    );
}

/// The polling run in its second round: submit retried once, the first poll said RUNNING,
/// the timer waits again.
fn polling_second_round() -> (App, Instant) {
    let (mut app, t) = polling_app((138, 36));
    edge(&mut app, "start", "submit");
    attempt_started(&mut app, "submit", 1, 1, 1, 3);
    finished(&mut app, "submit", NodeOutcome::Failed, 100, Some("exit 1"));
    ev(
        &mut app,
        Event::RetryScheduled {
            node: Arc::from("submit"),
            attempt: 1,
            next: crate::engine::Attempt {
                attempt: 2,
                iteration: 1,
                try_no: 2,
                tries: 3,
            },
            delay_ms: 1000,
            at: "2026-12-01T23:40:00.000Z".into(),
        },
    );
    attempt_started(&mut app, "submit", 2, 1, 2, 3);
    finished(&mut app, "submit", NodeOutcome::Succeeded, 200, None);
    edge(&mut app, "submit", "again");
    edge(&mut app, "again", "wait");
    attempt_started(&mut app, "wait", 1, 1, 1, 1);
    finished(&mut app, "wait", NodeOutcome::Succeeded, 2000, None);
    edge(&mut app, "wait", "poll");
    attempt_started(&mut app, "poll", 1, 1, 1, 2);
    ev(
        &mut app,
        Event::Outputs {
            node: Arc::from("poll"),
            variables: crate::engine::ShownVars::assume_redacted(
                serde_json::json!({ "status": "RUNNING" })
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
            ),
        },
    );
    finished(&mut app, "poll", NodeOutcome::Succeeded, 300, None);
    edge(&mut app, "poll", "done");
    decided(&mut app, 1, true);
    edge(&mut app, "done", "again");
    edge(&mut app, "again", "wait");
    app::update(&mut app, AppEvent::Tick(t + Duration::from_millis(3000)));
    attempt_started(&mut app, "wait", 2, 2, 1, 1);
    ev(
        &mut app,
        Event::TimerStarted {
            node: Arc::from("wait"),
            attempt: 2,
            duration_ms: 2000,
            deadline: "2026-12-01T23:40:05.000Z".into(),
        },
    );
    app::update(&mut app, AppEvent::Tick(t + Duration::from_millis(3500)));
    (app, t)
}

#[test]
fn snapshot_polling_loop_timer_waiting() {
    let (mut app, _) = polling_second_round();
    select(&mut app, "wait");
    let screen = render(&app);
    // The timer's time left, its loop count; the retried step's count.
    assert!(screen.contains("Wait  1.5s left ↻2"), "{screen}");
    assert!(screen.contains("waiting, 1.5s left of 2s"), "{screen}");
    assert!(screen.contains("[✓ Submit  0.2s attempt 2/3]"), "{screen}");
    // The loop back runs under the graph.
    assert!(screen.contains('←'), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn snapshot_polling_gateway_conditions_with_their_last_values() {
    let (mut app, _) = polling_second_round();
    select(&mut app, "done");
    let screen = render(&app);
    assert!(screen.contains("◇× Done?"), "{screen}");
    assert!(screen.contains("decided 1×"), "{screen}");
    assert!(
        screen.contains(r#"status = "RUNNING" or status = "QUEU"#),
        "{screen}"
    );
    assert!(screen.contains("true · taken"), "{screen}");
    assert!(screen.contains("(not needed)"), "{screen}");
    insta::assert_snapshot!(screen);
}

/// The style of the last cell of edge `from → to` that no other edge shares, in the graph
/// pane as drawn, scrolled to show it.
fn edge_style(app: &mut App, from: &str, to: &str) -> ratatui::style::Style {
    let ends = (
        app.wf.node_index(from).expect("from"),
        app.wf.node_index(to).expect("to"),
    );
    let edges = &app.graph.layout.edges;
    let this = edges
        .iter()
        .find(|r| (r.from, r.to) == ends)
        .expect("drawn");
    let head = this
        .cells
        .iter()
        .rev()
        .find(|c| {
            edges
                .iter()
                .filter(|r| (r.from, r.to) != ends)
                .all(|r| r.cells.iter().all(|o| (o.x, o.y) != (c.x, c.y)))
        })
        .copied()
        .expect("a cell of its own");
    app.graph_scroll = (head.x.saturating_sub(4), 0);
    let (w, h) = app.size;
    let mut term = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    term.draw(|f| view::view(app, f)).expect("draw");
    let g = app.layout.graph.expect("a graph pane");
    let (sx, sy) = app.graph_scroll;
    let x = g.x + 1 + (head.x - sx) as u16;
    let y = g.y + 1 + (head.y - sy) as u16;
    term.backend().buffer()[(x, y)].style()
}

#[test]
fn taken_edges_stand_out_and_untaken_ones_are_dimmed() {
    use ratatui::style::Modifier;
    let (mut app, _) = polling_second_round();
    // Before anything is decided against, an edge not taken yet is plain.
    let plain = edge_style(&mut app, "fork", "report");
    assert!(!plain.add_modifier.contains(Modifier::DIM), "{plain:?}");
    assert!(!plain.add_modifier.contains(Modifier::BOLD), "{plain:?}");
    // Taken: bold, in the taken role.
    let taken = edge_style(&mut app, "done", "again");
    assert!(taken.add_modifier.contains(Modifier::BOLD), "{taken:?}");
    assert_eq!(taken.fg, app.theme.style(Role::StatusSucceeded).fg);
    // Decided against (its cells are all shared with edges drawn over it, see below).
    let k = |from: &str, to: &str| {
        app.wf
            .edges
            .iter()
            .position(|e| e.from == from && e.to == to)
            .expect("an edge")
    };
    let (against, pending) = (k("done", "merge"), k("fork", "report"));
    assert_eq!(app.edge_look(against), app::EdgeLook::Untaken);
    assert_eq!(app.edge_look(pending), app::EdgeLook::Plain);
    // The error path was not needed yet: plain; once caught, taken.
    let path = app.wf.edges.len();
    assert_eq!(app.edge_look(path), app::EdgeLook::Plain);
    // The run ends: what it never took is dimmed, what it took stays.
    run_finished(&mut app, RunStatus::Cancelled, Vec::new());
    app::update(&mut app, AppEvent::EngineDone(Err("test".into())));
    let after = edge_style(&mut app, "fork", "report");
    assert!(after.add_modifier.contains(Modifier::DIM), "{after:?}");
    assert_ne!(after, plain);
    assert_eq!(app.edge_look(path), app::EdgeLook::Untaken);
    let still = edge_style(&mut app, "wait", "poll");
    assert!(still.add_modifier.contains(Modifier::BOLD), "{still:?}");
}

#[test]
fn a_caught_error_takes_its_error_path() {
    let (mut app, _) = polling_app((138, 36));
    let path = app.wf.edges.len();
    assert_eq!(app.edge_look(path), app::EdgeLook::Plain);
    attempt_started(&mut app, "submit", 1, 1, 1, 3);
    finished(
        &mut app,
        "submit",
        NodeOutcome::Failed,
        100,
        Some("backend down"),
    );
    ev(
        &mut app,
        Event::ErrorCaught {
            node: Arc::from("submit"),
            attempt: 1,
            code: "BACKEND_DOWN".into(),
            to: Arc::from("simulate"),
        },
    );
    assert_eq!(app.edge_look(path), app::EdgeLook::Taken);
    select(&mut app, "submit");
    let screen = render(&app);
    assert!(
        screen.contains("caught BACKEND_DOWN → Simulate"),
        "{screen}"
    );
}

/// start → fetch (a service with a description and every result and error header) →
/// approve (standing for a BPMN user task wfop does not run) → end, prepared from a file and
/// given the unsupported element in memory (only a BPMN file can say it).
fn headers_app(size: (u16, u16)) -> (App, Instant, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let wf = dir.path().join("headers.json");
    let text = r#"{ "name": "headers", "nodes": [
        { "id": "start", "type": "start" },
        { "id": "fetch", "type": "service", "label": "Fetch",
          "description": "Fetches the job's state.\nRetried by the platform, not here.",
          "run": { "command": ["true"] },
          "result_variable": "raw",
          "result_expression": "{ \"n\": count(response.items), \"ok\": response.ok }",
          "error_expression": "if response.ok then null else bpmnError(\"DOWN\", \"down\")",
          "output_mapping": [ { "name": "total", "value": "n * 2" } ] },
        { "id": "approve", "type": "service", "label": "Approve", "run": { "command": ["true"] } },
        { "id": "end", "type": "end" } ],
      "edges": [ { "from": "start", "to": "fetch" }, { "from": "fetch", "to": "approve" },
                 { "from": "approve", "to": "end" } ] }"#;
    std::fs::write(&wf, text).expect("write");
    let mut p = setup::prepare(&wf, None, &[]).expect("prepare");
    let approve = p.workflow.node_index("approve").expect("approve");
    p.workflow.nodes[approve].unsupported = Some(crate::workflow::model::Unsupported {
        element: "userTask".into(),
        reason: "a user task waits for a person to complete a form".into(),
    });
    let (mut app, t) = new_app(p, size);
    effects(&mut app);
    (app, t, dir)
}

#[test]
fn snapshot_headers_description_and_an_unsupported_node() {
    let (mut app, _, _dir) = headers_app((160, 40));
    select(&mut app, "fetch");
    let screen = render(&app);
    for want in [
        "Fetches the job's state.",
        "Retried by the platform, not here.",
        "headers",
        "resultVariable",
        "resultExpression",
        "{ \"n\": count(response",
        "errorExpression",
        "(at the end of each attempt)",
        "output mapping",
        "[⊘ Approve]",
    ] {
        assert!(screen.contains(want), "{want:?} in\n{screen}");
    }
    // Only the unsupported node is marked.
    assert!(!screen.contains("⊘ Fetch"), "{screen}");
    assert!(screen.contains("[· Fetch"), "{screen}");
    insta::assert_snapshot!(screen);
    // The mark is drawn in the node.unsupported colour, which the bundled theme sets apart
    // from a pending node's.
    let (w, h) = app.size;
    let mut term = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    term.draw(|f| view::view(&app, f)).expect("draw");
    let buf = term.backend().buffer();
    let unsupported = app.theme.style(Role::NodeUnsupported);
    assert_ne!(unsupported, app.theme.style(Role::StatusPending));
    let marked = (0..h).any(|y| {
        (0..w).any(|x| {
            buf[(x, y)].symbol() == "⊘" && buf[(x, y)].fg == unsupported.fg.unwrap_or_default()
        })
    });
    assert!(marked, "{screen}");
    // The selected unsupported node says why it is not run.
    select(&mut app, "approve");
    let screen = render(&app);
    assert!(
        screen.contains("not run: userTask — a user task waits for a person to complete a form"),
        "{screen}"
    );
}

#[test]
fn the_headers_rows_show_what_the_headers_set() {
    let (mut app, _, _dir) = headers_app((100, 30));
    started(&mut app, &["fetch"]);
    select(&mut app, "fetch");
    let row = |app: &App, name: &str| {
        app.mapping_rows()
            .iter()
            .find(|r| r.name == name)
            .map(|r| (r.value.clone(), r.resolved.text()))
    };
    assert_eq!(
        row(&app, "resultVariable"),
        Some(("raw".into(), "(after the node runs)".into()))
    );
    assert_eq!(
        row(&app, "resultExpression").map(|r| r.1),
        Some("(after the node runs)".into())
    );
    ev(
        &mut app,
        Event::Outputs {
            node: Arc::from("fetch"),
            variables: crate::engine::ShownVars::assume_redacted(
                serde_json::json!({ "raw": { "items": [1, 2] }, "n": 2, "ok": true, "total": 4 })
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
            ),
        },
    );
    assert_eq!(
        row(&app, "resultVariable"),
        Some(("raw".into(), r#"{"items":[1,2]}"#.into()))
    );
    assert_eq!(
        row(&app, "resultExpression").map(|r| r.1),
        Some(r#"{"n":2,"ok":true}"#.into())
    );
    assert_eq!(
        row(&app, "errorExpression").map(|r| r.1),
        Some("(at the end of each attempt)".into())
    );
    assert_eq!(row(&app, "total").map(|r| r.1), Some("4".into()));
    // The headers come between the input and the output mapping, in the engine's order.
    let names: Vec<&str> = app.mapping_rows().iter().map(|r| r.name.as_str()).collect();
    let at = |n: &str| names.iter().position(|x| *x == n).unwrap_or(usize::MAX);
    assert!(
        at("headers") < at("resultVariable")
            && at("resultVariable") < at("resultExpression")
            && at("resultExpression") < at("errorExpression")
            && at("errorExpression") < at("output mapping"),
        "{names:?}"
    );
}

#[test]
fn the_graph_pane_draws_edge_labels_where_they_fit() {
    use super::graphpane::{self, GraphModel, Look};
    let mut wf = polling_workflow();
    let paint = |wf: &crate::workflow::Workflow| {
        let model = GraphModel::new(wf, Charset::Unicode);
        let texts: Vec<String> = wf
            .nodes
            .iter()
            .map(|n| graphpane::node_text(n, &Look::PENDING, Charset::Unicode))
            .collect();
        let area = ratatui::layout::Rect::new(0, 0, 90, 4);
        let mut buf = ratatui::buffer::Buffer::empty(area);
        let theme = Theme::default();
        let style = theme.style(Role::Text);
        graphpane::paint(
            &model,
            &texts,
            (0, 0),
            area,
            &mut buf,
            &theme,
            (|_| style, |_| (style, 0)),
        );
        buf_text(&buf)
    };
    let before = paint(&wf);
    assert!(!before.contains("Running"), "{before}");
    // The loop back from `check` to `wait` is long enough for its label.
    wf.edges[5].label = Some("Running".into());
    let after = paint(&wf);
    assert!(after.contains("Running"), "{after}");
    assert_eq!(after.lines().count(), before.lines().count());
}

/// The BPMN example's node pane: the modeler's rows as written (`=circuit_data`), the
/// `$secrets` row's binding, the task's documentation; the same rows as the JSON twin's but for
/// the `=` the modeler writes.
#[test]
fn a_bpmn_workflow_shows_the_modelers_rows_as_written() {
    let wf = root().join("workflows/quantum-secrets.bpmn");
    let input = root().join("workflows/quantum-secrets.input.json");
    let p = setup::prepare(&wf, Some(&input), &[]).expect("prepare");
    let (app, _) = new_app(p, (150, 40));
    let bpmn = render(&app);
    for shown in [
        "Orchestrated Service (orchestrated)",
        "=circuit_data",
        "={ \"ibm_token\": secr",
        "ibm_token ← secret_value(\"ibm_api_token\")",
        "=counts",
        "Secret ibm_api_token",
        "IBM Quantum API token",
        "Checks the IBM token's shape",
    ] {
        assert!(bpmn.contains(shown), "{shown}: {bpmn}");
    }
    // Line for line the JSON twin's screen, but for the `=` of each row.
    let (app, _) = new_app(prepare("quantum-secrets"), (150, 40));
    let json = render(&app);
    let squeeze = |s: &str| {
        s.lines()
            .map(|l| {
                l.replace('=', "")
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .map(|l| l.replace("secr…", "secre…"))
            .collect::<Vec<_>>()
    };
    assert_eq!(squeeze(&bpmn), squeeze(&json));
}

/// A screen whose run lives in a run host detaches on `d` and on SIGHUP (exit 0, the run goes
/// on, no summary of a run that is not over); other stop signals are passed on to the host.
/// With the run in this process (`--stop-on-hangup`) `d` only says why not, and SIGHUP stops
/// the run as before (tested above).
#[test]
fn a_hosted_run_detaches_on_d_and_on_sighup_and_passes_other_signals_on() {
    for how in ["d", "hup"] {
        let (mut app, _) = quantum_running();
        app.host = app::RunHome::Host;
        match how {
            "d" => ch(&mut app, 'd'),
            _ => app::update(&mut app, AppEvent::Signal(libc::SIGHUP)),
        }
        assert_eq!(app.exit_code(), Some(0), "{how}");
        assert!(app.detached, "{how}");
        let note = app.exit_note.clone().unwrap_or_default();
        assert!(
            note.contains("wfop attach 20250101-120000-abcd"),
            "{how}: {note}"
        );
        assert!(effects(&mut app).is_empty(), "{how}: nothing is stopped");
    }

    let (mut app, _) = quantum_running();
    app.host = app::RunHome::Host;
    app::update(&mut app, AppEvent::Signal(libc::SIGTERM));
    assert!(matches!(
        effects(&mut app).as_slice(),
        [Effect::Forward(libc::SIGTERM)]
    ));
    assert_eq!(app.exit_code(), None, "it quits when the run has ended");
    app::update(&mut app, AppEvent::StreamEnded(Ok(())));
    assert_eq!(app.exit_code(), Some(143));

    let (mut app, _) = quantum_running();
    ch(&mut app, 'd');
    assert_eq!(app.exit_code(), None);
    assert!(render(&app).contains("cannot detach"), "{}", render(&app));
}

/// `wfop attach`: the screen follows the run's events with their own times (a node that has
/// run 40 s shows 40 s, not the time since attaching), cannot run the workflow again, shows no
/// previews it would have to evaluate without the run's secrets, and leaves the run alone on a
/// signal (it only ends itself).
#[test]
fn an_attached_screen_follows_the_run_with_its_times_and_never_evaluates_previews() {
    let p = prepare("portfolio-risk");
    let t = t0();
    let mut app = App::attached(p.workflow, Theme::default(), Charset::Unicode, t);
    app::update(&mut app, AppEvent::Resize(160, 48));
    assert!(matches!(effects(&mut app).as_slice(), [Effect::Attach]));
    let remote = |app: &mut App, e: Event, ms: u64| {
        app::update(app, AppEvent::Remote(e, Some(ms)));
    };
    let inputs = example_inputs(&app);
    remote(
        &mut app,
        Event::RunStarted {
            run_id: "r1".into(),
            workflow: "portfolio-risk".into(),
            record: PathBuf::from("/state/runs/r1"),
            nodes: vec!["fetch_prices".into(), "classical_risk".into()],
            inputs: crate::engine::ShownVars::assume_redacted(inputs),
            started: None,
        },
        0,
    );
    // A live run's terminals follow this screen's log pane too.
    assert!(matches!(
        effects(&mut app).as_slice(),
        [Effect::Node(NodeCommand::Resize { .. })]
    ));
    remote(
        &mut app,
        Event::NodeStarted {
            node: Arc::from("fetch_prices"),
            attempt: crate::engine::Attempt::FIRST,
            pid: Some(7),
        },
        2_000,
    );
    let variables = serde_json::json!({ "prices": { "series": { "AURA": [1.5, 2.5] } } });
    remote(
        &mut app,
        Event::Outputs {
            node: Arc::from("fetch_prices"),
            variables: crate::engine::ShownVars::assume_redacted(
                variables.as_object().cloned().unwrap_or_default(),
            ),
        },
        42_000,
    );
    app::update(&mut app, AppEvent::Tick(t));
    let i = app.wf.node_index("fetch_prices").expect("node");
    let shown = app.nodes[i].shown_time(app.elapsed()).expect("running");
    assert!(shown >= Duration::from_secs(40), "{shown:?}");
    // The in-process screen shows this preview (the test above); this one does not evaluate it.
    let node = app.wf.node_index("classical_risk").expect("node");
    let series = app
        .mapping_rows_of(node)
        .iter()
        .find(|r| r.name == "series")
        .map(|r| r.resolved.clone());
    assert!(
        !matches!(series, Some(crate::ui::tui::mapping::Resolved::Value(_))),
        "{series:?}"
    );
    // Once the node starts, the engine says what its mapping gave: that is shown.
    let given: crate::ui::tui::mapping::Given =
        [("series".to_string(), "{\"AURA\":[1.5,2.5]}".to_string())]
            .into_iter()
            .collect();
    remote(
        &mut app,
        Event::NodeInputs {
            node: Arc::from("classical_risk"),
            attempt: 1,
            inputs: given,
        },
        43_000,
    );
    let series = app
        .mapping_rows_of(node)
        .iter()
        .find(|r| r.name == "series")
        .map(|r| r.resolved.clone());
    assert_eq!(
        series,
        Some(crate::ui::tui::mapping::Resolved::Value(
            "{\"AURA\":[1.5,2.5]}".into()
        ))
    );
    ch(&mut app, 'r');
    assert!(effects(&mut app).is_empty());
    assert!(render(&app).contains("did not start"), "{}", render(&app));
    app::update(&mut app, AppEvent::Signal(libc::SIGTERM));
    assert!(effects(&mut app).is_empty(), "the run is not the viewer's");
    assert_eq!(app.exit_code(), Some(143));
}

/// A host that goes away before the run's end is said on the status line, not taken for a
/// success.
#[test]
fn a_host_gone_before_the_end_is_a_failure_on_screen() {
    let (mut app, _) = quantum_running();
    app.host = app::RunHome::Host;
    app::update(
        &mut app,
        AppEvent::StreamEnded(Err("the run host went away before the run's end".into())),
    );
    assert_eq!(app.status, Some(RunStatus::Failed));
    assert!(render(&app).contains("went away"), "{}", render(&app));
}

// Issue 15, reading and finding: filter, regex, `/` from any pane, cut markers, the failure
// detail view, the stderr gutter, absolute timestamps, region selection.

fn ctrl(app: &mut App, c: char) {
    app::update(
        app,
        AppEvent::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)),
    );
}

fn typed(app: &mut App, text: &str) {
    for c in text.chars() {
        ch(app, c);
    }
}

/// The quantum example with a chatty service: 40 lines, a few of them errors, and a long one.
fn chatty() -> (App, Instant) {
    let (mut app, t) = quantum_running();
    let mut text = String::new();
    for i in 0..40 {
        if i % 13 == 5 {
            text.push_str(&format!("job {i}: ERROR code=E{i} upstream refused\n"));
        } else {
            text.push_str(&format!("job {i}: ok in {}ms\n", 10 + i));
        }
    }
    log(&mut app, "orchestrated", Stream::Stdout, &text);
    log(
        &mut app,
        "orchestrated",
        Stream::Stderr,
        "a very long stderr line that goes on and on past the right edge of the log pane, to be cut\n",
    );
    app::update(&mut app, AppEvent::Tick(t + Duration::from_millis(1600)));
    (app, t)
}

#[test]
fn snapshot_filter_with_context_from_the_graph_pane() {
    let (mut app, _) = chatty();
    assert_eq!(app.focus, super::keymap::Context::Graph);
    // `/` from the graph pane focuses the log pane and opens the search input.
    ch(&mut app, '/');
    assert_eq!(app.focus, super::keymap::Context::Logs);
    assert!(matches!(app.overlay, app::Overlay::Search(_)));
    key(&mut app, KeyCode::Esc);
    // `&` with a regex (C-r), one line of context.
    ch(&mut app, '&');
    ctrl(&mut app, 'r');
    typed(&mut app, r"ERROR code=E\d+");
    assert!(
        render(&app).contains(r"&re:ERROR code=E\d+▏"),
        "{}",
        render(&app)
    );
    key(&mut app, KeyCode::Enter);
    ch(&mut app, '-');
    let screen = render(&app);
    assert!(screen.contains("±1 3 of 44"), "{screen}");
    assert!(!screen.contains("job 0:"), "{screen}");
    insta::assert_snapshot!(screen);
    // n goes from match to match of the filter.
    ch(&mut app, 'g');
    ch(&mut app, 'n');
    let cur = app.logview.cursor(&app.logs);
    let line = cur.and_then(|c| {
        app.logs
            .view(app.logview.selection())
            .get(c)
            .map(|l| l.text().to_string())
    });
    assert_eq!(
        line.as_deref(),
        Some("job 5: ERROR code=E5 upstream refused")
    );
    ch(&mut app, 'n');
    assert!(render(&app).contains("job 18: ERROR"));
    // A bad regex: a clear message, the input stays open to mend it.
    ch(&mut app, '&');
    ctrl(&mut app, 'u');
    typed(&mut app, "(oops");
    key(&mut app, KeyCode::Enter);
    assert!(matches!(app.overlay, app::Overlay::Filter(_)));
    let msg = app.message.clone().expect("a message");
    assert!(msg.error && msg.text.starts_with("bad regex:"), "{msg:?}");
    key(&mut app, KeyCode::Esc);
    // Esc in the pane leaves the filter.
    key(&mut app, KeyCode::Esc);
    assert!(app.logview.filter.is_none());
}

#[test]
fn snapshot_stderr_gutter_cut_marker_and_absolute_time() {
    let (mut app, _) = chatty();
    app.logview.set_time_zone(jiff::tz::TimeZone::UTC);
    ch(&mut app, '/');
    key(&mut app, KeyCode::Esc);
    ch(&mut app, 'T');
    let screen = render(&app);
    // The run started at 12:00:00.000 UTC (its `run_started`); the lines came 1.5 s in.
    assert!(
        screen.contains("12:00:01.500 [orchestrated] ▎ a very long stderr line"),
        "{screen}"
    );
    assert!(
        screen.contains("12:00:01.500 [orchestrated]   job 39"),
        "{screen}"
    );
    assert!(
        screen.contains("…│"),
        "a cut marker at the right edge: {screen}"
    );
    insta::assert_snapshot!(screen);
    // The gutter sign is muted, the stderr text is not red.
    let (w, h) = app.size;
    let mut term = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    term.draw(|f| view::view(&app, f)).expect("draw");
    let buf = term.backend().buffer();
    let sign = (0..h)
        .flat_map(|y| (0..w).map(move |x| (x, y)))
        .find(|&(x, y)| buf[(x, y)].symbol() == "▎")
        .expect("a gutter sign");
    assert_eq!(
        buf[sign].modifier,
        app.theme.style(Role::Stderr).add_modifier
    );
    let text = buf[(sign.0 + 2, sign.1)].fg;
    assert_ne!(Some(text), app.theme.style(Role::Error).fg);
    // T again: relative.
    ch(&mut app, 'T');
    assert!(render(&app).contains("│00:01.500 [orchestrated] ▎ a very"));
}

#[test]
fn region_selection_copies_the_redacted_lines() {
    let (mut app, _) = quantum_running();
    key(&mut app, KeyCode::Enter);
    ch(&mut app, 'k');
    ch(&mut app, 'V');
    ch(&mut app, 'k');
    let screen = render(&app);
    assert!(screen.contains("region 2 lines (y copies)"), "{screen}");
    insta::assert_snapshot!(screen);
    effects(&mut app);
    ch(&mut app, 'y');
    match effects(&mut app).as_slice() {
        [Effect::Copy(t)] => assert_eq!(
            t,
            "quantum_service: checking the IBM token\nquantum_service: token accepted (ibm-cloud-api-key)\n"
        ),
        _ => panic!("expected a copy"),
    }
    assert_eq!(app.logview.region(), None);
    // Esc drops a region without copying.
    ch(&mut app, 'V');
    key(&mut app, KeyCode::Esc);
    ch(&mut app, 'y');
    assert!(
        matches!(effects(&mut app).as_slice(), [Effect::Copy(t)] if t.lines().count() == 1),
        "y copies one line again"
    );
}

/// A run record holding a problem document for `fetch_prices`.
fn record_with_problem(dir: &Path) {
    let doc = serde_json::json!({
        "run_id": "r", "workflow": "portfolio-risk", "workflow_path": "w.json", "pid": 1,
        "status": "failed", "exit_code": 1, "started": "2025-01-01T12:00:00.000Z",
        "finished": null, "duration_ms": null, "inputs": {}, "variables": null,
        "nodes": [{
            "id": "fetch_prices", "label": "Fetch prices", "status": "failed",
            "started": null, "finished": null, "duration_ms": 230, "exit_code": 1,
            "signal": null, "reason": "x", "result": null,
            "problem": {"type": "urn:prices:missing", "title": "no prices",
                        "detail": "the feed has no prices for ZZZZ between 2024-01-01 and 2024-12-31", "code": "NO_PRICES"}
        }]
    });
    std::fs::write(dir.join("run.json"), doc.to_string()).expect("write run.json");
}

#[test]
fn snapshot_failure_detail_view() {
    let (mut app, _) = new_app(prepared_with_secrets("portfolio-risk"), (80, 24));
    effects(&mut app);
    started(&mut app, &["fetch_prices", "classical_risk"]);
    let dir = tempfile::tempdir().expect("tempdir");
    record_with_problem(dir.path());
    app.record = Some(dir.path().to_path_buf());
    node_started(&mut app, "fetch_prices");
    let reason = "no prices: the feed has no prices for ZZZZ between 2024-01-01 and \
                  2024-12-31 (asked 3 mirrors: eu-1 refused, us-2 timed out, ap-1 empty)";
    finished(
        &mut app,
        "fetch_prices",
        NodeOutcome::Failed,
        230,
        Some(reason),
    );
    app.selected = app.wf.node_index("fetch_prices").expect("node");
    app::update(&mut app, AppEvent::Resize(80, 24));
    // The status line cuts the reason with a hint, never silently.
    let screen = render(&app);
    assert!(screen.contains("… Enter: whole reason"), "{screen}");
    key(&mut app, KeyCode::Enter);
    assert!(matches!(app.overlay, app::Overlay::Detail(_)));
    let screen = render(&app);
    assert!(screen.contains("ap-1 empty)"), "the whole reason: {screen}");
    assert!(screen.contains("\"code\": \"NO_PRICES\""), "{screen}");
    insta::assert_snapshot!(screen);
    // Scrolls, and Esc closes it onto the node's logs.
    key(&mut app, KeyCode::Down);
    assert!(matches!(&app.overlay, app::Overlay::Detail(d) if d.scroll == 1));
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.overlay, app::Overlay::None);
    assert_eq!(app.focus, super::keymap::Context::Logs);
    // A node that did not fail: Enter shows its logs, no detail.
    let (mut app, _) = quantum_running();
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.overlay, app::Overlay::None);
}

// Stopping and restarting one node (issue 15): `x` asks failed or cancelled, `R` restarts; the
// stopping node counts down to SIGKILL.

#[test]
fn x_asks_how_the_run_treats_the_stopped_node_and_r_restarts_it() {
    use crate::engine::{NodeCommand, StopMark};
    let (mut app, _) = quantum_running();
    select(&mut app, "orchestrated");
    ch(&mut app, 'x');
    assert_eq!(app.overlay, app::Overlay::StopNode(1));
    let screen = render(&app);
    assert!(screen.contains("stop "), "{screen}");
    assert!(screen.contains("f failed"), "{screen}");
    assert!(screen.contains("c cancelled"), "{screen}");
    // Esc leaves it running; `c` in the dialog is not the run's cancel.
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.overlay, app::Overlay::None);
    assert!(effects(&mut app).is_empty());
    ch(&mut app, 'x');
    ch(&mut app, 'c');
    let stopped = |got: &[Effect], want: StopMark| {
        matches!(got, [Effect::Node(NodeCommand::Stop { node, mark })]
            if node == "orchestrated" && *mark == want)
    };
    assert!(stopped(&effects(&mut app), StopMark::Cancelled));
    assert_eq!(app.phase, Phase::Running, "the run goes on");
    ch(&mut app, 'x');
    ch(&mut app, 'f');
    assert!(stopped(&effects(&mut app), StopMark::Failed));
    ch(&mut app, 'R');
    assert!(matches!(effects(&mut app).as_slice(),
        [Effect::Node(NodeCommand::Restart { node })] if node == "orchestrated"));
    // Not a service, or not running: said why, nothing sent.
    select(&mut app, "start");
    // (A new layout may resize the services' terminals: not what this test is about.)
    effects(&mut app);
    ch(&mut app, 'x');
    assert_eq!(app.overlay, app::Overlay::None);
    assert!(effects(&mut app).is_empty());
    assert!(render(&app).contains("only a service can be stopped"));
    select(&mut app, "orchestrated");
    finished(&mut app, "orchestrated", NodeOutcome::Succeeded, 100, None);
    effects(&mut app);
    ch(&mut app, 'R');
    assert!(effects(&mut app).is_empty());
    let said = app
        .message
        .as_ref()
        .map(|m| m.text.clone())
        .unwrap_or_default();
    assert!(
        said.ends_with("is not running: nothing to restart"),
        "{said}"
    );
}

#[test]
fn snapshot_a_stopping_node_counts_down_to_sigkill() {
    let (mut app, t) = quantum_running();
    select(&mut app, "orchestrated");
    // SIGTERM went out 1.5 s into the run; SIGKILL follows 5 s later.
    ev(
        &mut app,
        Event::NodeStopping {
            node: Arc::from("orchestrated"),
            attempt: 1,
            kill_in_ms: 5000,
        },
    );
    app::update(&mut app, AppEvent::Tick(t + Duration::from_millis(2700)));
    let screen = render(&app);
    assert!(screen.contains("stopping · SIGKILL in 3.8s"), "{screen}");
    // The run's own cancel: the title counts down too.
    ch(&mut app, 'c');
    ch(&mut app, 'y');
    effects(&mut app);
    app::update(&mut app, AppEvent::Tick(t + Duration::from_millis(4500)));
    let screen = render(&app);
    assert!(
        screen
            .lines()
            .next()
            .unwrap_or("")
            .contains("stopping · SIGKILL in 2.0s"),
        "{screen}"
    );
    insta::assert_snapshot!(screen);
    // Past the deadline: SIGKILL was sent; then it ends.
    app::update(&mut app, AppEvent::Tick(t + Duration::from_millis(7000)));
    assert!(render(&app).contains("stopping · SIGKILL sent"));
    finished(
        &mut app,
        "orchestrated",
        NodeOutcome::Cancelled,
        6500,
        Some("cancelled"),
    );
    assert!(!render(&app).contains("stopping ·"));
}

fn node_index(app: &App, id: &str) -> usize {
    app.wf.nodes.iter().position(|n| n.id == id).expect("node")
}

#[test]
fn input_mode_sends_lines_and_eof_to_the_selected_service_and_shows_the_line_only() {
    let (mut app, _) = quantum_running();
    // A node that is not a service, or not running, says why and opens nothing.
    app.selected = node_index(&app, "start");
    ch(&mut app, 'i');
    assert_eq!(app.overlay, app::Overlay::None);
    let m = app.message.clone().expect("a message");
    assert!(
        m.error && m.text.contains("start is not a service"),
        "{m:?}"
    );
    app.selected = node_index(&app, "orchestrated");
    ch(&mut app, 'i');
    assert!(matches!(app.overlay, app::Overlay::Input(_)));
    assert_eq!(app.contexts(), vec![super::keymap::Context::Input]);
    // Every key is text here (`q` does not quit), Backspace deletes.
    for c in "q?xy".chars() {
        ch(&mut app, c);
    }
    key(&mut app, KeyCode::Backspace);
    assert!(
        render(&app).contains("orchestrated> q?x▏"),
        "{}",
        render(&app)
    );
    assert!(effects(&mut app).is_empty());
    key(&mut app, KeyCode::Enter);
    let sent = effects(&mut app);
    assert!(
        matches!(sent.as_slice(), [Effect::Node(NodeCommand::Input { node, data })]
            if node == "orchestrated" && data.as_slice() == b"q?x\n"),
        "{}",
        sent.len()
    );
    assert_eq!(app.exit_code(), None);
    // C-d sends the line typed so far, then the end of input, and leaves.
    ch(&mut app, 'a');
    app::update(
        &mut app,
        AppEvent::Key(KeyEvent::new(KeyCode::Char('d'), KeyModifiers::CONTROL)),
    );
    let sent = effects(&mut app);
    assert!(
        matches!(sent.as_slice(), [
            Effect::Node(NodeCommand::Input { data, .. }),
            Effect::Node(NodeCommand::InputEof { node })
        ] if data.as_slice() == b"a\n" && node == "orchestrated"),
        "{}",
        sent.len()
    );
    assert_eq!(app.overlay, app::Overlay::None);
    // Esc leaves without sending.
    ch(&mut app, 'i');
    ch(&mut app, 'z');
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.overlay, app::Overlay::None);
    assert!(effects(&mut app).is_empty());
    assert!(!render(&app).contains("orchestrated> z"));
}

#[test]
fn services_terminals_follow_the_log_pane_while_the_run_runs() {
    let (mut app, _) = quantum_running();
    app::update(&mut app, AppEvent::Resize(120, 40));
    let (w, h) = app.log_pane;
    assert!(w > 0 && h > 0);
    let sent = effects(&mut app);
    assert!(
        matches!(sent.as_slice(), [Effect::Node(NodeCommand::Resize { cols, rows })]
            if (*cols, *rows) == (w, h)),
        "{}",
        sent.len()
    );
    // The same size again: nothing to send.
    app::update(&mut app, AppEvent::Resize(120, 40));
    assert!(effects(&mut app).is_empty());
}

/// `F` once the run has finished: a dialog naming the node and the reused run, then the
/// sources read again as a rerun from that node reusing this run's record; not while running,
/// never from an attached screen. The rerun's reused node shows as such.
#[test]
fn f_reruns_from_the_selected_node_after_asking_and_shows_reused_nodes() {
    let (mut app, _) = quantum_running();
    app.selected = app.wf.node_index("orchestrated").expect("node");
    ch(&mut app, 'F');
    assert!(effects(&mut app).is_empty(), "no rerun while running");
    assert!(app.overlay == app::Overlay::None);
    finished(
        &mut app,
        "orchestrated",
        NodeOutcome::Failed,
        100,
        Some("exit 1"),
    );
    run_finished(&mut app, RunStatus::Failed, vec![]);
    app::update(&mut app, AppEvent::EngineDone(Err("x".into())));
    assert_eq!(app.phase, Phase::Finished);
    ch(&mut app, 'F');
    let screen = render(&app);
    assert!(screen.contains("rerun from the selected node?"), "{screen}");
    assert!(screen.contains("`orchestrated`"), "{screen}");
    assert!(screen.contains("20250101-120000-abcd"), "{screen}");
    assert!(
        screen.contains("y yes   n no"),
        "the answer keys show: {screen}"
    );
    key(&mut app, KeyCode::Esc);
    assert!(effects(&mut app).is_empty());
    assert_eq!(app.phase, Phase::Finished);
    ch(&mut app, 'F');
    key(&mut app, KeyCode::Enter);
    match effects(&mut app).as_slice() {
        [Effect::PrepareFrom { node, record }] => {
            assert_eq!(node, "orchestrated");
            assert_eq!(record, &PathBuf::from("/state/runs/20250101-120000-abcd"));
        }
        _ => panic!("expected PrepareFrom"),
    }
    assert_eq!(app.phase, Phase::Starting);
    // The rerun: a reused node says so on the graph and on its status line.
    app::update(
        &mut app,
        AppEvent::Prepared(Ok(Box::new(prepared_with_secrets("quantum-secrets")))),
    );
    assert!(matches!(effects(&mut app).as_slice(), [Effect::Start(_)]));
    started(&mut app, &["orchestrated"]);
    ev(
        &mut app,
        Event::Reusing {
            run_id: "20250101-110000-0000".into(),
            record: PathBuf::from("/state/runs/20250101-110000-0000"),
            from: "end".into(),
            nodes: vec!["orchestrated".into()],
        },
    );
    ev(
        &mut app,
        Event::NodeReused {
            node: "orchestrated".into(),
            attempt: 1,
            run_id: "20250101-110000-0000".into(),
        },
    );
    finished(&mut app, "orchestrated", NodeOutcome::Succeeded, 0, None);
    let screen = render(&app);
    assert!(screen.contains("Orchestrated Service reused"), "{screen}");
    assert!(
        screen.contains("succeeded in run 20250101-110000-0000 (reused, not run again)"),
        "{screen}"
    );
    assert_eq!(
        app.message.as_ref().map(|m| m.text.as_str()),
        Some("rerun from end, reusing run 20250101-110000-0000: orchestrated"),
        "{screen}"
    );
}

/// Issue 16 §5: a gateway's rows list its edges, but the tokens a fork passes do not compute
/// them once each: they are brought up to date when the gateway is shown — and then they are
/// what computing them afresh gives.
#[test]
fn an_unselected_gateways_rows_wait_until_it_is_selected() {
    let (mut app, _) = polling_app((160, 48));
    select(&mut app, "report");
    let fork = app.wf.node_index("fork").expect("fork");
    let before_rows = app.mapping_rows_of(fork).to_vec();
    let before = app.recomputed.rows;
    edge(&mut app, "merge", "fork");
    edge(&mut app, "fork", "report");
    edge(&mut app, "fork", "archive");
    assert_eq!(
        app.recomputed.rows, before,
        "no rows computed for an unselected gateway"
    );
    assert_eq!(app.mapping_rows_of(fork), before_rows.as_slice());
    select(&mut app, "fork");
    assert_eq!(
        app.recomputed.rows,
        before + 1,
        "the fork's rows computed once, when shown"
    );
    let shown = app.mapping_rows().to_vec();
    assert_ne!(
        shown, before_rows,
        "the edges taken show in the fork's rows"
    );
    // The same as computing every row afresh.
    app.refresh_rows();
    assert_eq!(app.mapping_rows(), shown.as_slice());
    // Selected, a gateway's rows follow each edge at once.
    edge(&mut app, "fork", "report");
    assert_ne!(app.mapping_rows(), shown.as_slice());
}

// A service on a cluster (issue 17): queued in Slurm until it runs on a compute node.

fn queued(app: &mut App, id: &str, job: Option<&str>) {
    ev(
        app,
        Event::NodeQueued {
            node: Arc::from(id),
            attempt: crate::engine::Attempt::FIRST,
            executor: "slurm".into(),
            job: job.map(str::to_string),
        },
    );
}

#[test]
fn a_queued_service_waits_with_its_job_then_runs_from_its_start() {
    let (mut app, t) = new_app(prepared_with_secrets("quantum-secrets"), (80, 24));
    effects(&mut app);
    started(&mut app, &["orchestrated"]);
    select(&mut app, "orchestrated");
    let i = node_index(&app, "orchestrated");
    app::update(&mut app, AppEvent::Tick(t + Duration::from_millis(500)));
    queued(&mut app, "orchestrated", None);
    assert!(app.nodes[i].is_queued());
    assert_eq!(app.nodes[i].since, Duration::from_millis(500));
    app::update(&mut app, AppEvent::Tick(t + Duration::from_millis(1500)));
    let screen = render(&app);
    assert!(screen.contains("◌ queued 1.0s · slurm"), "{screen}");
    assert!(
        screen.contains("[◌ Orchestrated Service  1.0s]"),
        "{screen}"
    );
    assert!(screen.contains("graph · 1 queued"), "{screen}");
    // The job id comes later for the same attempt: the queued time goes on.
    queued(&mut app, "orchestrated", Some("123"));
    app::update(&mut app, AppEvent::Tick(t + Duration::from_millis(2500)));
    assert_eq!(app.nodes[i].since, Duration::from_millis(500));
    let screen = render(&app);
    assert!(screen.contains("◌ queued 2.0s · slurm job 123"), "{screen}");
    // Ticks do not turn its glyph.
    app::update(&mut app, AppEvent::Tick(t + Duration::from_millis(2600)));
    assert!(render(&app).contains("[◌ Orchestrated Service  2.1s]"));
    // It can be stopped as a running one can; the dialog says it leaves the queue.
    ch(&mut app, 'x');
    assert_eq!(app.overlay, app::Overlay::StopNode(i));
    let screen = render(&app);
    assert!(screen.contains("slurm job 123 is cancelled"), "{screen}");
    assert!(screen.contains("keep it queued"), "{screen}");
    key(&mut app, KeyCode::Esc);
    // It runs on a compute node: running from here (its timeout counts from here too), its
    // job still named.
    app::update(&mut app, AppEvent::Tick(t + Duration::from_millis(3000)));
    ev(
        &mut app,
        Event::NodeStarted {
            node: Arc::from("orchestrated"),
            attempt: crate::engine::Attempt::FIRST,
            pid: None,
        },
    );
    app::update(&mut app, AppEvent::Tick(t + Duration::from_millis(3400)));
    let v = &app.nodes[i];
    assert_eq!(v.state, crate::engine::NodeState::Running);
    assert!(!v.is_queued());
    assert_eq!(v.since, Duration::from_millis(3000));
    assert_eq!(
        v.cluster.as_ref().and_then(|c| c.job.as_deref()),
        Some("123")
    );
    let screen = render(&app);
    assert!(screen.contains("running 0.4s · slurm job 123"), "{screen}");
    assert!(!screen.contains('◌'), "{screen}");
    assert!(screen.contains("graph · 1 running"), "{screen}");
    finished(&mut app, "orchestrated", NodeOutcome::Succeeded, 400, None);
    let screen = render(&app);
    assert!(
        screen.contains("succeeded in 0.4s · slurm job 123"),
        "{screen}"
    );
}

#[test]
fn a_new_attempt_started_here_forgets_the_job_of_the_queued_one() {
    let (mut app, _) = new_app(prepared_with_secrets("quantum-secrets"), (80, 24));
    effects(&mut app);
    started(&mut app, &["orchestrated"]);
    let i = node_index(&app, "orchestrated");
    select(&mut app, "orchestrated");
    queued(&mut app, "orchestrated", None);
    // Before its job id, the dialog names the scheduler.
    ch(&mut app, 'x');
    let screen = render(&app);
    assert!(screen.contains("It leaves slurm's queue."), "{screen}");
    key(&mut app, KeyCode::Esc);
    queued(&mut app, "orchestrated", Some("77"));
    // A stop while queued, then the operator's restart as a local attempt.
    ev(
        &mut app,
        Event::NodeStopping {
            node: Arc::from("orchestrated"),
            attempt: 1,
            kill_in_ms: 5000,
        },
    );
    assert!(render(&app).contains("stopping · SIGKILL in 5.0s"));
    ev(
        &mut app,
        Event::NodeStarted {
            node: Arc::from("orchestrated"),
            attempt: crate::engine::Attempt {
                attempt: 2,
                ..crate::engine::Attempt::FIRST
            },
            pid: Some(99),
        },
    );
    let v = &app.nodes[i];
    assert!(!v.is_queued());
    assert_eq!(v.cluster, None);
    assert_eq!(v.kill_at, None, "the new attempt is not being stopped");
    // A queued attempt that ends in the queue (cancelled) is no longer queued.
    queued(&mut app, "orchestrated", Some("78"));
    assert!(app.nodes[i].is_queued());
    finished(
        &mut app,
        "orchestrated",
        NodeOutcome::Cancelled,
        0,
        Some("cancelled"),
    );
    assert!(!app.nodes[i].is_queued());
    assert!(app.list.counts_text().contains("1 cancelled"));
}

#[test]
fn snapshot_portfolio_graph_with_a_service_queued_on_slurm() {
    let (mut app, t) = new_app(prepared_with_secrets("portfolio-risk"), (160, 48));
    effects(&mut app);
    started(
        &mut app,
        &[
            "fetch_prices",
            "classical_risk",
            "quantum_sampling",
            "report",
        ],
    );
    node_started(&mut app, "fetch_prices");
    finished(&mut app, "fetch_prices", NodeOutcome::Succeeded, 412, None);
    app::update(&mut app, AppEvent::Tick(t + Duration::from_millis(500)));
    node_started(&mut app, "classical_risk");
    queued(&mut app, "quantum_sampling", Some("4711"));
    select(&mut app, "quantum_sampling");
    app::update(&mut app, AppEvent::Tick(t + Duration::from_millis(7300)));
    let screen = render(&app);
    assert!(screen.contains("[◌ Quantum"), "{screen}");
    assert!(
        screen.contains("◌ queued 6.8s · slurm job 4711"),
        "{screen}"
    );
    assert!(
        screen.contains("1 running · 1 queued · 1 done · 1 pending"),
        "{screen}"
    );
    insta::assert_snapshot!(screen);
}
