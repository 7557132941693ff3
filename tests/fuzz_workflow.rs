//! Fuzz target: the workflow loader and validator (and, for files that check clean, the graph
//! layout). Mutations of the bundled workflows, structure-aware generated workflows (ids from a
//! small pool, so duplicates, dangling edges, cycles and unreachable nodes are common; mapping
//! expressions from a small grammar; unknown fields and wrong types), and arbitrary bytes.
//! Properties: never a panic; every diagnostic span lies inside the file on character
//! boundaries; rendering shows `name:line:col`; a file without errors yields a workflow whose
//! graph can be drawn.
//!
//! Long run: `FUZZ_CASES=100000 cargo test --release --test fuzz_workflow -- --ignored --nocapture`

mod fuzz_support;

use fuzz_support::{Mutation, apply, line_col, mutations};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{Value, json};
use wfop::diag::SourceFile;
use wfop::ui::graph::{Charset, workflow_graph_text};
use wfop::workflow::check_source;

const BUNDLED: [&str; 2] = [
    include_str!("../workflows/quantum-secrets.json"),
    include_str!("../workflows/portfolio-risk.json"),
];

/// The name the fuzzed files get: inside `workflows/`, so the bundled services resolve.
const NAME: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/workflows/fuzz.json");

const JSON_TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\"",
    "\\",
    "\\u",
    "\\ud800",
    "null",
    "true",
    "false",
    "0",
    "-1",
    "1e999",
    "1.5",
    "\"id\"",
    "\"type\"",
    "\"service\"",
    "\"start\"",
    "\"end\"",
    "\"nodes\"",
    "\"edges\"",
    "\"from\"",
    "\"to\"",
    "\"run\"",
    "\"command\"",
    "\"python\"",
    "\"function\"",
    "\"secrets\"",
    "\"input_mapping\"",
    "\"output_mapping\"",
    "\"name\"",
    "\"value\"",
    "\"$secrets\"",
    "\"timeout\"",
    "\"5m\"",
    "\"0s\"",
    "\"99999999999h\"",
    "secret_value(",
    "\"env\"",
    "\"cwd\"",
    "\"label\"",
    "\"interpreter\"",
    " ",
    "\n",
    "\t",
    "\r\n",
    "é",
    "😀",
    "\u{0}",
    "/*",
    "//",
    "\u{feff}",
];

fn check_text(name: &str, text: &str) -> Result<(), TestCaseError> {
    let checked = check_source(SourceFile::from_text(name, text));
    for d in &checked.diagnostics {
        let spans = std::iter::once(&d.primary.0).chain(d.secondary.iter().map(|(s, _)| s));
        for s in spans {
            prop_assert!(
                s.start <= s.end && s.end <= text.len(),
                "span {s:?} outside a file of {} bytes: {}",
                text.len(),
                d.message
            );
            prop_assert!(
                text.is_char_boundary(s.start) && text.is_char_boundary(s.end),
                "span {s:?} not on character boundaries: {}",
                d.message
            );
        }
        prop_assert!(!d.message.is_empty());
    }
    let rendered = checked.render(false);
    if let Some(d) = checked.diagnostics.first() {
        let (line, col) = line_col(text, d.primary.0.start);
        let want = format!("{name}:{line}:{col}");
        prop_assert!(
            rendered.contains(&want),
            "rendered diagnostics do not show {want}:\n{rendered}"
        );
    }
    if text.contains("\"dag\"")
        && !text.contains('\u{fffd}')
        && checked.errors() > 0
        && generated_dag(text)
    {
        return Err(TestCaseError::fail(format!(
            "a well-formed DAG did not check clean:\n{rendered}"
        )));
    }
    if let Some(wf) = checked.workflow() {
        let _ = workflow_graph_text(wf, Charset::Unicode);
        let _ = workflow_graph_text(wf, Charset::Ascii);
    }
    Ok(())
}

/// True for an unmutated `valid_dag()` file (it parses as JSON and has the dag name).
fn generated_dag(text: &str) -> bool {
    serde_json::from_str::<Value>(text).is_ok_and(|v| v["name"] == "dag")
}

fn mutated() -> impl Strategy<Value = (usize, Vec<Mutation>)> {
    (0usize..BUNDLED.len(), mutations(JSON_TOKENS))
}

fn expr_text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("circuit_data".to_string()),
        Just("a + 1".to_string()),
        Just("= { \"k\": x.y[1] }".to_string()),
        Just("{ \"tok\": secret_value(\"api\") }".to_string()),
        Just("{ \"tok\": secret_value(\"nope\"), \"other\": 1 }".to_string()),
        Just("secret_value(\"api\")".to_string()),
        Just("{ tok: secret_value(api) }".to_string()),
        Just("string(count(items))".to_string()),
        Just("a +".to_string()),
        Just("\"unterminated".to_string()),
        "[a-z(){}\\[\\]\" +.,:=]{0,20}",
    ]
}

fn id() -> impl Strategy<Value = Value> {
    prop_oneof![
        8 => prop::sample::select(vec!["start", "end", "a", "b", "c", "d", "A", "a-b", ""])
            .prop_map(|s| json!(s)),
        1 => Just(json!(1)),
        1 => Just(json!(null)),
        1 => "[^\"]{0,5}".prop_map(|s| json!(s)),
    ]
}

fn mapping() -> impl Strategy<Value = Value> {
    prop::collection::vec(
        (
            prop::sample::select(vec!["x", "circuit_data", "$secrets", "a b", "", "items"]),
            expr_text(),
            any::<bool>(),
        ),
        0..4,
    )
    .prop_map(|rows| {
        Value::Array(
            rows.into_iter()
                .map(|(n, v, extra)| {
                    let mut r = json!({ "name": n, "value": v });
                    if extra {
                        r["valeu"] = json!("typo");
                    }
                    r
                })
                .collect(),
        )
    })
}

fn run_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!({ "command": ["sh", "-c", "true"] })),
        Just(json!({ "command": [] })),
        Just(json!({ "command": "sh" })),
        Just(json!({ "python": "svc.py", "function": "run" })),
        Just(json!({ "python": "svc.py" })),
        Just(json!({ "python": "svc.py", "function": "run", "command": ["x"] })),
        Just(json!({ "command": ["x"], "env": { "A": "1", "SECRET_X": 2 }, "cwd": "/" })),
        Just(json!(null)),
    ]
}

fn node() -> impl Strategy<Value = Value> {
    (
        id(),
        prop::sample::select(vec!["start", "end", "service", "task", ""]),
        prop::option::of(run_value()),
        prop::option::of(prop::collection::vec(
            prop::sample::select(vec!["tok", "other", "API_KEY", "x y"]),
            0..3,
        )),
        prop::option::of(mapping()),
        prop::option::of(mapping()),
        prop::option::of(prop::sample::select(vec![
            "5m", "1s", "0s", "-1s", "1.5h", "banana", "",
        ])),
        any::<bool>(),
    )
        .prop_map(|(id, kind, run, secrets, input, output, timeout, junk)| {
            let mut n = json!({ "id": id, "type": kind });
            if let Some(r) = run {
                n["run"] = r;
            }
            if let Some(s) = secrets {
                n["secrets"] = json!(s);
            }
            if let Some(m) = input {
                n["input_mapping"] = m;
            }
            if let Some(m) = output {
                n["output_mapping"] = m;
            }
            if let Some(t) = timeout {
                n["timeout"] = json!(t);
            }
            if junk {
                n["lable"] = json!("typo of label");
            }
            n
        })
}

fn generated() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(node(), 0..8),
        prop::collection::vec((id(), id()), 0..10),
        prop::option::of(prop::collection::btree_map(
            prop::sample::select(vec!["api", "api_key", "x"]),
            Just(json!({ "description": "d" })),
            0..3,
        )),
        any::<bool>(),
    )
        .prop_map(|(nodes, edges, secrets, pretty)| {
            let mut wf = json!({
                "name": "fuzz",
                "nodes": nodes,
                "edges": edges.into_iter().map(|(a, b)| json!({"from": a, "to": b})).collect::<Vec<_>>(),
            });
            if let Some(s) = secrets {
                wf["secrets"] = json!(s);
            }
            if pretty {
                serde_json::to_string_pretty(&wf).unwrap_or_default()
            } else {
                wf.to_string()
            }
        })
}

/// A well-formed DAG `start → services… → end` (random forks and joins): files that check
/// clean, so the layout is exercised too.
fn valid_dag() -> impl Strategy<Value = String> {
    (
        1usize..14,
        prop::collection::vec((0usize..14, 0usize..14), 0..24),
    )
        .prop_map(|(n, pairs)| {
            let mut nodes = vec![json!({"id": "start", "type": "start"})];
            for i in 0..n {
                nodes.push(
                    json!({"id": format!("s{i}"), "type": "service", "label": "x".repeat(i * 3 + 1),
                "run": {"command": ["true"]}}),
                );
            }
            nodes.push(json!({"id": "end", "type": "end"}));
            let mut edges: Vec<(usize, usize)> = pairs
                .into_iter()
                .map(|(a, b)| (a % n, b % n))
                .filter(|(a, b)| a < b)
                .collect();
            edges.sort_unstable();
            edges.dedup();
            let mut es: Vec<Value> = edges
                .iter()
                .map(|(a, b)| json!({"from": format!("s{a}"), "to": format!("s{b}")}))
                .collect();
            for i in 0..n {
                if !edges.iter().any(|e| e.1 == i) {
                    es.push(json!({"from": "start", "to": format!("s{i}")}));
                }
                if !edges.iter().any(|e| e.0 == i) {
                    es.push(json!({"from": format!("s{i}"), "to": "end"}));
                }
            }
            json!({"name": "dag", "nodes": nodes, "edges": es}).to_string()
        })
}

fn any_input() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => valid_dag(),
        4 => mutated().prop_map(|(i, m)| apply(BUNDLED[i], &m)),
        3 => generated(),
        1 => (generated(), mutations(JSON_TOKENS)).prop_map(|(t, m)| apply(&t, &m)),
        1 => prop::collection::vec(any::<u8>(), 0..300)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ]
}

#[test]
fn workflow_loader_smoke() {
    fuzz_support::smoke("workflow", 200, any_input(), |text| check_text(NAME, &text));
}

#[test]
#[ignore = "long fuzz run; see docs/fuzzing.md"]
fn workflow_loader() {
    fuzz_support::long("workflow", any_input(), |text| check_text(NAME, &text));
}

#[test]
fn bundled_workflows_check_clean() {
    for text in BUNDLED {
        let c = check_source(SourceFile::from_text(NAME, text));
        assert_eq!(c.errors(), 0, "{}", c.render(false));
    }
}
