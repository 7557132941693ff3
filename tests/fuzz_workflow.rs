//! Fuzz target: the workflow loader and validator (and, for files that check clean, the graph
//! layout). Mutations of the bundled workflows, structure-aware generated workflows (ids from a
//! small pool, so duplicates, dangling edges, cycles and unreachable nodes are common; every node
//! type, conditions, defaults, retries, error paths, timers; mapping expressions from a small
//! grammar; unknown fields and wrong types), well-formed DAGs and well-formed control flow
//! (choices, forks and joins, loops, timers, retried services with error paths), and arbitrary
//! bytes. Properties: never a panic; every diagnostic span lies inside the file on character
//! boundaries; rendering shows `name:line:col`; a well-formed DAG or flow checks clean; a file
//! without errors yields a workflow whose graph can be drawn.
//!
//! Long run: `FUZZ_CASES=100000 cargo test --release --test fuzz_workflow -- --ignored --nocapture`

mod fuzz_support;

use fuzz_support::{Mutation, apply, mutations};
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
    "\"exclusive\"",
    "\"parallel\"",
    "\"timer\"",
    "\"condition\"",
    "\"default\"",
    "\"retries\"",
    "\"attempts\"",
    "\"backoff\"",
    "\"errors\"",
    "\"code\"",
    "\"max_iterations\"",
    "\"duration\"",
    "\"PT30S\"",
    "\"P1Y\"",
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
    let rendered = checked.render(false);
    fuzz_support::findings_are_sound(
        name,
        text,
        checked.diagnostics.iter().map(|d| (text, d)),
        checked.diagnostics.first(),
        &rendered,
    )?;
    if (text.contains("\"dag\"") || text.contains("\"flow\""))
        && !text.contains('\u{fffd}')
        && checked.errors() > 0
        && generated_dag(text)
    {
        return Err(TestCaseError::fail(format!(
            "a well-formed DAG or flow did not check clean:\n{rendered}\n{text}"
        )));
    }
    if let Some(wf) = checked.workflow() {
        let _ = workflow_graph_text(wf, Charset::Unicode);
        let _ = workflow_graph_text(wf, Charset::Ascii);
    }
    Ok(())
}

/// True for an unmutated `valid_dag()` or `valid_flow()` file (it parses as JSON and has their
/// name).
fn generated_dag(text: &str) -> bool {
    serde_json::from_str::<Value>(text).is_ok_and(|v| v["name"] == "dag" || v["name"] == "flow")
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
        prop::sample::select(vec![
            "start",
            "end",
            "service",
            "task",
            "",
            "exclusive",
            "parallel",
            "timer",
        ]),
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
        control_fields(),
    )
        .prop_map(
            |(id, kind, run, secrets, input, output, timeout, junk, control)| {
                let mut n = json!({ "id": id, "type": kind });
                for (k, v) in control {
                    n[k] = v;
                }
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
            },
        )
}

/// Some of `retries`, `errors`, `max_iterations` and `duration`, right and wrong.
fn control_fields() -> impl Strategy<Value = Vec<(&'static str, Value)>> {
    let retries = prop_oneof![
        Just(json!(3)),
        Just(json!(0)),
        Just(json!(2.5)),
        Just(json!({ "attempts": 2, "backoff": "PT1S" })),
        Just(json!({ "backoff": "1s" })),
        Just(json!("3")),
    ];
    let errors = prop::collection::vec(
        (
            prop::sample::select(vec!["E", "", "E", "\u{7}"]),
            id(),
            prop::option::of(mapping()),
        ),
        0..3,
    )
    .prop_map(|paths| {
        Value::Array(
            paths
                .into_iter()
                .map(|(code, to, m)| {
                    let mut p = json!({ "code": code, "to": to });
                    if let Some(m) = m {
                        p["output_mapping"] = m;
                    }
                    p
                })
                .collect(),
        )
    });
    let max = prop::sample::select(vec![json!(5), json!(0), json!(-1), json!("7"), json!(1e9)]);
    let duration = prop::sample::select(vec![
        "PT30S", "PT0.5S", "P1D", "P2W", "P1M", "PT", "30s", "-PT1S", "PT1S1M", "ü",
    ])
    .prop_map(|d| json!(d));
    (
        prop::option::of(retries),
        prop::option::of(errors),
        prop::option::of(max),
        prop::option::of(duration),
    )
        .prop_map(|(r, e, m, d)| {
            let fields = [
                ("retries", r),
                ("errors", e),
                ("max_iterations", m),
                ("duration", d),
            ];
            fields
                .into_iter()
                .filter_map(|(k, v)| Some((k, v?)))
                .collect()
        })
}

/// An edge, sometimes with a condition and a default (right or wrong).
fn edge() -> impl Strategy<Value = Value> {
    (
        id(),
        id(),
        prop::option::of(expr_text()),
        prop::option::of(prop::sample::select(vec![
            json!(true),
            json!(false),
            json!(1),
        ])),
    )
        .prop_map(|(from, to, condition, default)| {
            let mut e = json!({ "from": from, "to": to });
            if let Some(c) = condition {
                e["condition"] = json!(c);
            }
            if let Some(d) = default {
                e["default"] = d;
            }
            e
        })
}

fn generated() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(node(), 0..8),
        prop::collection::vec(edge(), 0..10),
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
                "edges": edges,
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

/// One block of a well-formed flow, between the previous block's exit and the next's entry.
#[derive(Clone, Debug)]
enum Block {
    /// A service; with `Some(retried)`, it also has an error path to a handler that ends.
    Service(Option<bool>),
    Timer,
    /// An exclusive choice between n services (the last the default), merged again.
    Choice(usize),
    /// A parallel fork to n services, joined again.
    Fork(usize),
    /// A loop: merge → body service → exclusive check, back to the merge or on (the default).
    Loop,
}

fn block() -> impl Strategy<Value = Block> {
    prop_oneof![
        prop::option::of(any::<bool>()).prop_map(Block::Service),
        Just(Block::Timer),
        (1usize..4).prop_map(Block::Choice),
        (1usize..4).prop_map(Block::Fork),
        Just(Block::Loop),
    ]
}

/// A well-formed control flow `start → blocks… → end`: files that check clean.
fn valid_flow() -> impl Strategy<Value = String> {
    prop::collection::vec(block(), 1..7).prop_map(|blocks| {
        let mut nodes = vec![json!({"id": "start", "type": "start"})];
        let mut edges: Vec<Value> = Vec::new();
        let service = |id: &str| json!({"id": id, "type": "service", "run": {"command": ["true"]}});
        let mut exit = "start".to_string();
        let mut exit_is_choice = false;
        for (i, b) in blocks.iter().enumerate() {
            let (entry, out) = match b {
                Block::Service(errors) => {
                    let id = format!("s{i}");
                    let mut n = service(&id);
                    if let Some(retried) = errors {
                        let handler = format!("h{i}");
                        n["errors"] = json!([{ "code": "E", "to": handler,
                            "output_mapping": [{ "name": "why", "value": "message" }] }]);
                        if *retried {
                            n["retries"] = json!({ "attempts": 3, "backoff": "PT0.1S" });
                        }
                        nodes.push(service(&handler));
                        edges.push(json!({"from": handler, "to": "end"}));
                    }
                    nodes.push(n);
                    (id.clone(), id)
                }
                Block::Timer => {
                    let id = format!("t{i}");
                    nodes.push(json!({"id": id, "type": "timer", "duration": "PT1S"}));
                    (id.clone(), id)
                }
                Block::Choice(k) | Block::Fork(k) => {
                    let kind = if matches!(b, Block::Choice(_)) {
                        "exclusive"
                    } else {
                        "parallel"
                    };
                    let (split, join) = (format!("x{i}"), format!("m{i}"));
                    nodes.push(json!({"id": split, "type": kind}));
                    nodes.push(json!({"id": join, "type": kind}));
                    for j in 0..*k {
                        let arm = format!("b{i}_{j}");
                        nodes.push(service(&arm));
                        let mut e = json!({"from": split, "to": arm});
                        if kind == "exclusive" && *k > 1 {
                            if j + 1 == *k {
                                e["default"] = json!(true);
                            } else {
                                e["condition"] = json!(format!("v = {j}"));
                            }
                        }
                        edges.push(e);
                        edges.push(json!({"from": arm, "to": join}));
                    }
                    (split, join)
                }
                Block::Loop => {
                    let (again, body, check) = (format!("a{i}"), format!("l{i}"), format!("c{i}"));
                    nodes.push(json!({"id": again, "type": "exclusive"}));
                    let mut n = service(&body);
                    n["max_iterations"] = json!(10);
                    nodes.push(n);
                    nodes.push(json!({"id": check, "type": "exclusive"}));
                    edges.push(json!({"from": again, "to": body}));
                    edges.push(json!({"from": body, "to": check}));
                    edges.push(json!({"from": check, "to": again, "condition": "n < 3"}));
                    (again, check)
                }
            };
            let mut e = json!({"from": exit, "to": entry});
            if exit_is_choice {
                e["default"] = json!(true);
            }
            edges.push(e);
            exit = out;
            exit_is_choice = matches!(b, Block::Loop);
        }
        let mut e = json!({"from": exit, "to": "end"});
        if exit_is_choice {
            e["default"] = json!(true);
        }
        edges.push(e);
        nodes.push(json!({"id": "end", "type": "end"}));
        json!({"name": "flow", "nodes": nodes, "edges": edges}).to_string()
    })
}

fn any_input() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => valid_dag(),
        2 => valid_flow(),
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

/// The flow generator makes what it promises: every block kind, checking clean.
#[test]
fn a_generated_flow_with_every_block_checks_clean() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let mut seen = [false; 5];
    for _ in 0..200 {
        let text = valid_flow()
            .new_tree(&mut runner)
            .expect("a flow")
            .current();
        for (k, needle) in [
            "\"errors\"",
            "\"timer\"",
            "\"v = 0\"",
            "\"parallel\"",
            "\"n < 3\"",
        ]
        .iter()
        .enumerate()
        {
            seen[k] |= text.contains(needle);
        }
        let c = check_source(SourceFile::from_text(NAME, &text));
        assert_eq!(c.errors(), 0, "{}\n{text}", c.render(false));
    }
    assert_eq!(seen, [true; 5], "some block kind was never generated");
}
