//! Control flow in the workflow format (issue 11): gateways, conditions, loops, retries, error
//! paths and timers — what the loader reads, and what validation refuses, with positions.

use std::time::Duration;

use super::{Found, findings, pos};
use crate::diag::{Severity, SourceFile};
use crate::workflow::{NodeKind, Workflow, check_source, load};

/// A valid polling workflow with every control-flow field: a retried service with an error
/// path, a timer, a loop through an exclusive gateway, an exclusive merge, a parallel fork and
/// join. The tests break it in one place at a time.
pub(super) const FLOW: &str = r#"{
  "name": "poll",
  "inputs": { "job": { "description": "the job" } },
  "nodes": [
    { "id": "start", "type": "start",
      "output_mapping": [ { "name": "polls", "value": "0" } ] },
    { "id": "submit", "type": "service", "run": { "command": ["true"] },
      "input_mapping": [ { "name": "job", "value": "job" } ],
      "retries": { "attempts": 3, "backoff": "PT2S" },
      "errors": [ { "code": "BACKEND_DOWN", "to": "simulate",
                    "output_mapping": [ { "name": "reason", "value": "message" } ] } ],
      "output_mapping": [ { "name": "job_id", "value": "id" } ] },
    { "id": "again", "type": "exclusive" },
    { "id": "wait", "type": "timer", "label": "Wait", "duration": "PT30S" },
    { "id": "poll", "type": "service", "run": { "command": ["true"] }, "retries": 2,
      "max_iterations": 50,
      "input_mapping": [ { "name": "job_id", "value": "job_id" } ],
      "output_mapping": [ { "name": "status", "value": "status" } ] },
    { "id": "check", "type": "exclusive", "label": "Done?" },
    { "id": "simulate", "type": "service", "run": { "command": ["true"] },
      "input_mapping": [ { "name": "reason", "value": "reason" } ],
      "output_mapping": [ { "name": "status", "value": "\"SIMULATED\"" } ] },
    { "id": "merge", "type": "exclusive" },
    { "id": "fork", "type": "parallel" },
    { "id": "report", "type": "service", "run": { "command": ["true"] },
      "input_mapping": [ { "name": "status", "value": "status" } ],
      "output_mapping": [] },
    { "id": "archive", "type": "service", "run": { "command": ["true"] },
      "input_mapping": [ { "name": "polls", "value": "polls" } ],
      "output_mapping": [] },
    { "id": "join", "type": "parallel" },
    { "id": "end", "type": "end" }
  ],
  "edges": [
    { "from": "start", "to": "submit" },
    { "from": "submit", "to": "again" },
    { "from": "again", "to": "wait" },
    { "from": "wait", "to": "poll" },
    { "from": "poll", "to": "check" },
    { "from": "check", "to": "again", "condition": "status = \"RUNNING\"" },
    { "from": "check", "to": "merge", "default": true },
    { "from": "simulate", "to": "merge" },
    { "from": "merge", "to": "fork" },
    { "from": "fork", "to": "report" },
    { "from": "fork", "to": "archive" },
    { "from": "report", "to": "join" },
    { "from": "archive", "to": "join" },
    { "from": "join", "to": "end" }
  ]
}"#;

/// Replaces the only occurrence of `from` in FLOW.
fn flow(from: &str, to: &str) -> String {
    assert_eq!(
        FLOW.matches(from).count(),
        1,
        "`{from}` must occur exactly once in FLOW"
    );
    FLOW.replacen(from, to, 1)
}

/// The loader's model of `text`, whatever validation would say.
fn loaded(text: &str) -> Workflow {
    let (wf, _) = load::load(&SourceFile::from_text("t.json", text));
    wf.expect("a JSON object")
}

fn node<'w>(wf: &'w Workflow, id: &str) -> &'w crate::workflow::Node {
    wf.nodes.iter().find(|n| n.id == id).expect("node")
}

/// Asserts an error containing `message` at the `nth` occurrence of `at`; with a `|` in `at`,
/// at the character after the `|` (`"retries": |0` points at the `0`).
#[track_caller]
fn assert_error(text: &str, message: &str, at: &str, nth: usize) {
    let found = findings(text);
    let (before, after) = at.split_once('|').unwrap_or(("", at));
    let (line, col) = pos(text, &format!("{before}{after}"), nth);
    let want = (line, col + before.chars().count());
    assert!(
        found.iter().any(|f| f.severity == Severity::Error
            && f.message.contains(message)
            && (f.line, f.col) == want),
        "expected an error containing {message:?} at {want:?} (`{at}`), got {found:#?}",
    );
}

fn errors(text: &str) -> Vec<Found> {
    findings(text)
        .into_iter()
        .filter(|f| f.severity == Severity::Error)
        .collect()
}

#[test]
fn the_flow_workflow_is_clean() {
    let found = findings(FLOW);
    assert!(found.is_empty(), "{found:#?}");
    let checked = check_source(SourceFile::from_text("t.json", FLOW));
    assert!(checked.workflow().is_some());
}

#[test]
fn node_types_are_read() {
    let wf = loaded(FLOW);
    let kind = |id| node(&wf, id).kind;
    assert_eq!(kind("check"), NodeKind::Exclusive);
    assert_eq!(kind("merge"), NodeKind::Exclusive);
    assert_eq!(kind("fork"), NodeKind::Parallel);
    assert_eq!(kind("wait"), NodeKind::Timer);
    assert!(NodeKind::Exclusive.is_gateway() && !NodeKind::Timer.is_gateway());
    assert_eq!(node(&wf, "check").display_label(), "Done?");
}

#[test]
fn timer_duration_is_read_as_iso_8601() {
    let wf = loaded(FLOW);
    let timer = node(&wf, "wait").timer.as_ref().expect("a timer");
    assert_eq!(timer.duration, Duration::from_secs(30));
    assert_eq!(timer.text, "PT30S");
    assert_eq!(&FLOW[timer.span.clone()], "\"PT30S\"");
    for (text, secs) in [
        ("PT1M30S", 90.0),
        ("PT1H", 3600.0),
        ("P1D", 86_400.0),
        ("P1DT1S", 86_401.0),
        ("PT0.25S", 0.25),
        ("PT0S", 0.0),
    ] {
        let wf = loaded(&flow("\"PT30S\"", &format!("\"{text}\"")));
        let got = node(&wf, "wait").timer.as_ref().map(|t| t.duration);
        assert_eq!(got, Some(Duration::from_secs_f64(secs)), "{text}");
    }
}

#[test]
fn bad_timer_durations_are_errors_at_the_duration() {
    for bad in [
        "30s",
        "P",
        "PT",
        "PT30",
        "P1M",
        "PT1S1M",
        "PT99999999999999999999H",
        "PTxS",
        "-PT1S",
    ] {
        let text = flow("\"PT30S\"", &format!("\"{bad}\""));
        let found = findings(&text);
        let e = found
            .iter()
            .find(|f| {
                f.message
                    .starts_with(&format!("invalid duration \"{bad}\": "))
            })
            .unwrap_or_else(|| panic!("{bad}: {found:#?}"));
        let (line, col) = pos(&text, &format!("\"{bad}\""), 0);
        assert!(
            e.line == line && e.col > col && e.col <= col + bad.len() + 1,
            "{bad}: {e:#?}"
        );
    }
    let text = flow(r#", "duration": "PT30S""#, "");
    assert_error(&text, "timer node `wait` has no `duration`", "\"wait\"", 0);
    let text = flow(r#""duration": "PT30S""#, r#""duration": 30"#);
    assert_error(&text, "`duration` must be a string", "30 }", 0);
}

#[test]
fn retries_are_a_number_or_attempts_with_backoff() {
    let wf = loaded(FLOW);
    let submit = node(&wf, "submit").retries.as_ref().expect("retries");
    assert_eq!(
        (submit.attempts, submit.backoff),
        (3, Some(Duration::from_secs(2)))
    );
    assert!(FLOW[submit.span.clone()].starts_with("{ \"attempts\""));
    let poll = node(&wf, "poll").retries.as_ref().expect("retries");
    assert_eq!((poll.attempts, poll.backoff), (2, None));
    assert_eq!(&FLOW[poll.span.clone()], "2");
    assert!(node(&wf, "simulate").retries.is_none());
}

#[test]
fn bad_retries_are_errors() {
    for bad in ["0", "101", "2.5", "-1"] {
        let text = flow(r#""retries": 2,"#, &format!(r#""retries": {bad},"#));
        assert_error(
            &text,
            "`retries` must be a whole number from 1 to 100",
            &format!("\"retries\": |{bad}"),
            0,
        );
    }
    let text = flow(r#""retries": 2,"#, r#""retries": "2","#);
    assert_error(
        &text,
        "`retries` must be a whole number or an object",
        "\"2\"",
        0,
    );
    let text = flow(r#""attempts": 3, "#, "");
    assert_error(&text, "`retries` has no `attempts`", "{ \"backoff\"", 0);
    let text = flow(r#""backoff": "PT2S""#, r#""backof": "PT2S""#);
    assert_error(&text, "did you mean `backoff`?", "\"backof\"", 0);
    let text = flow(r#""backoff": "PT2S""#, r#""backoff": "2s""#);
    assert_error(&text, "invalid backoff \"2s\": expected `P`", "\"|2s\"", 0);
    let text = flow(r#""attempts": 3"#, r#""attempts": 0"#);
    assert_error(
        &text,
        "`attempts` must be a whole number from 1 to 100",
        "0,",
        0,
    );
}

#[test]
fn max_iterations_defaults_and_is_checked() {
    let wf = loaded(FLOW);
    assert_eq!(node(&wf, "poll").max_iterations, 50);
    assert_eq!(
        node(&wf, "check").max_iterations,
        crate::workflow::DEFAULT_MAX_ITERATIONS
    );
    for bad in ["0", "1000001", "1.5", "\"50\""] {
        let text = flow(
            r#""max_iterations": 50"#,
            &format!(r#""max_iterations": {bad}"#),
        );
        assert_error(
            &text,
            "`max_iterations` must be",
            &format!("\"max_iterations\": |{bad}"),
            0,
        );
    }
    let text = flow(
        r#"{ "id": "check", "type": "exclusive", "label": "Done?" }"#,
        r#"{ "id": "check", "type": "exclusive", "label": "Done?", "max_iterations": 7 }"#,
    );
    assert_eq!(node(&loaded(&text), "check").max_iterations, 7);
    assert!(errors(&text).is_empty(), "{:#?}", errors(&text));
}

#[test]
fn error_paths_are_read_with_their_mapping() {
    let wf = loaded(FLOW);
    let errors = &node(&wf, "submit").errors;
    assert_eq!(errors.len(), 1);
    let e = &errors[0];
    assert_eq!(
        (e.code.as_str(), e.to.as_str()),
        ("BACKEND_DOWN", "simulate")
    );
    assert_eq!(&FLOW[e.code_span.clone()], "\"BACKEND_DOWN\"");
    assert_eq!(&FLOW[e.to_span.clone()], "\"simulate\"");
    let rows = e.output_mapping.as_ref().expect("a mapping");
    assert_eq!(rows[0].name, "reason");
    assert!(rows[0].expr.is_some());
    assert!(node(&wf, "poll").errors.is_empty());
}

#[test]
fn bad_error_paths_are_errors() {
    let text = flow(r#""code": "BACKEND_DOWN", "#, "");
    assert_error(
        &text,
        "this error path has no `code`",
        "{ \"to\": \"simulate\"",
        0,
    );
    let text = flow(r#""code": "BACKEND_DOWN""#, r#""code": """#);
    assert_error(&text, "an error path's `code` must not be empty", "\"\"", 0);
    let text = flow(r#""to": "simulate","#, r#""too": "simulate","#);
    assert_error(&text, "did you mean `to`?", "\"too\"", 0);
    let text = flow(
        r#""to": "simulate","#,
        r#""to": "simulate" }, { "code": "BACKEND_DOWN", "to": "end","#,
    );
    assert_error(
        &text,
        "error code `BACKEND_DOWN` is caught twice",
        "\"BACKEND_DOWN\"",
        1,
    );
    let text = flow(r#""value": "message""#, r#""value": "message +""#);
    assert_error(&text, "in the expression for `reason`", "\"message +|\"", 0);
    let text = flow(r#""errors": ["#, r#""errors": {}, "x": ["#);
    assert_error(&text, "`errors` must be an array", "{}", 0);
}

#[test]
fn conditions_and_defaults_are_read() {
    let wf = loaded(FLOW);
    let out_of_check: Vec<_> = wf.edges.iter().filter(|e| e.from == "check").collect();
    let c = out_of_check[0].condition.as_ref().expect("a condition");
    assert_eq!(c.value.text, "status = \"RUNNING\"");
    assert!(c.expr.is_some());
    assert!(!out_of_check[0].default);
    assert!(out_of_check[1].condition.is_none() && out_of_check[1].default);
    assert!(
        wf.edges
            .iter()
            .filter(|e| e.from != "check")
            .all(|e| !e.default)
    );
}

#[test]
fn bad_conditions_and_defaults_are_errors() {
    let text = flow(r#""status = \"RUNNING\"""#, r#""status = ""#);
    assert_error(&text, "in the condition:", "\"status = |\"", 0);
    let text = flow(r#""default": true"#, r#""default": "yes""#);
    assert_error(
        &text,
        "an edge's `default` must be true or false",
        "\"yes\"",
        0,
    );
    let text = flow(r#""default": true"#, r#""defualt": true"#);
    assert_error(&text, "did you mean `default`?", "\"defualt\"", 0);
    let text = flow(
        r#""condition": "status = \"RUNNING\"""#,
        r#""condition": 1"#,
    );
    assert_error(&text, "an edge's `condition` must be a string", "1 }", 0);
}

#[test]
fn fields_that_do_not_belong_to_a_kind_are_errors() {
    for (field, kind, only) in [
        (
            r#""run": { "command": ["x"] }"#,
            "an exclusive gateway",
            "service nodes",
        ),
        (
            r#""duration": "PT1S""#,
            "an exclusive gateway",
            "timer nodes",
        ),
        (r#""retries": 2"#, "an exclusive gateway", "service nodes"),
        (r#""errors": []"#, "an exclusive gateway", "service nodes"),
        (
            r#""output_mapping": []"#,
            "an exclusive gateway",
            "service and start nodes",
        ),
    ] {
        let text = flow(
            r#""type": "exclusive", "label": "Done?" }"#,
            &format!(r#""type": "exclusive", "label": "Done?", {field} }}"#),
        );
        let name = field.split('"').nth(1).unwrap_or_default();
        let message = format!("{kind} has no `{name}`; only {only} do");
        assert_error(&text, &message, &format!("\"Done?\", |{field}"), 0);
    }
    let text = flow(
        r#"{ "id": "end", "type": "end" }"#,
        r#"{ "id": "end", "type": "end", "max_iterations": 3 }"#,
    );
    assert_error(
        &text,
        "an end node has no `max_iterations`; only services, gateways and timers do",
        "\"max_iterations\"",
        1,
    );
    let text = flow(
        r#""duration": "PT30S""#,
        r#""duration": "PT30S", "timeout": "5m""#,
    );
    assert_error(&text, "a timer node has no `timeout`", "\"timeout\"", 0);
    let text = flow(
        r#""id": "fork", "type": "parallel""#,
        r#""id": "fork", "type": "paralel""#,
    );
    assert_error(
        &text,
        "unknown node type `paralel`, did you mean `parallel`?",
        "\"paralel\"",
        0,
    );
}

#[test]
fn start_nodes_take_an_output_mapping() {
    let wf = loaded(FLOW);
    let rows = node(&wf, "start").output_mapping.as_ref().expect("rows");
    assert_eq!(rows[0].name, "polls");
}

#[test]
fn loops_through_an_exclusive_gateway_are_allowed_other_cycles_are_not() {
    // FLOW loops again → wait → poll → check → again, and checks clean (above).
    let text = flow(
        r#"{ "from": "poll", "to": "check" },"#,
        r#"{ "from": "poll", "to": "check" }, { "from": "poll", "to": "archive" }, { "from": "archive", "to": "poll" },"#,
    );
    let found = errors(&text);
    let cycle = found
        .iter()
        .find(|f| {
            f.message
                .starts_with("cycle without an exclusive gateway: ")
        })
        .unwrap_or_else(|| panic!("{found:#?}"));
    assert!(
        cycle.message.ends_with("poll → archive → poll")
            || cycle.message.ends_with("archive → poll → archive"),
        "{}",
        cycle.message
    );
}

#[test]
fn conditions_belong_on_exclusive_gateway_edges_only() {
    let text = flow(
        r#"{ "from": "start", "to": "submit" }"#,
        r#"{ "from": "start", "to": "submit", "condition": "true" }"#,
    );
    assert_error(
        &text,
        "a condition on an edge out of a start node `start`: only the edges out of an exclusive gateway have conditions",
        "\"condition\": |\"true\"",
        0,
    );
    let text = flow(
        r#"{ "from": "fork", "to": "report" }"#,
        r#"{ "from": "fork", "to": "report", "default": true }"#,
    );
    assert_error(
        &text,
        "a default edge out of a parallel gateway `fork`",
        r#"{ "from": "fork", "to": "report""#,
        0,
    );
}

#[test]
fn defaults_are_one_per_gateway_and_have_no_condition() {
    let text = flow(
        r#""to": "merge", "default": true }"#,
        r#""to": "merge", "default": true, "condition": "true" }"#,
    );
    assert_error(
        &text,
        "the default edge of exclusive gateway `check` has a condition",
        "\"condition\": |\"true\"",
        0,
    );
    let text = flow(
        r#""to": "again", "condition": "status = \"RUNNING\"" }"#,
        r#""to": "again", "default": true }"#,
    );
    assert_error(
        &text,
        "exclusive gateway `check` has a second default edge",
        r#"{ "from": "check", "to": "merge""#,
        0,
    );
}

#[test]
fn every_branch_of_an_exclusive_gateway_has_a_condition_or_is_the_default() {
    let text = flow(r#""to": "merge", "default": true }"#, r#""to": "merge" }"#);
    assert_error(
        &text,
        "edge `check` → `merge` has no `condition` and is not the `default`: exclusive gateway `check` takes one of its 2 outgoing edges",
        r#"{ "from": "check", "to": "merge""#,
        0,
    );
    assert_eq!(errors(&text).len(), 1, "{:#?}", errors(&text));
}

#[test]
fn conditions_are_checked_like_mappings_and_must_be_boolean() {
    for (cond, message) in [
        (
            "1 + 2",
            "this condition is an arithmetic result, never a boolean",
        ),
        (
            "\\\"RUNNING\\\"",
            "this condition is a string, never a boolean",
        ),
        (
            "count(status)",
            "this condition is a number, never a boolean",
        ),
        ("null", "this condition is null, never a boolean"),
        (
            "{ \\\"a\\\": 1 }",
            "this condition is a context, never a boolean",
        ),
        ("statsu(1)", "unknown function `statsu`"),
        (
            "secret_value(\\\"x\\\") = 1",
            "`secret_value()` may only be used in the `$secrets` row",
        ),
    ] {
        let text = flow(r#""status = \"RUNNING\"""#, &format!("\"{cond}\""));
        let found = errors(&text);
        assert!(
            found.iter().any(|f| f.message.contains(message)),
            "{cond}: {found:#?}"
        );
    }
    for fine in [
        "status",
        "not(status = 1)",
        "is defined(status)",
        "a < 1 or b",
    ] {
        let text = flow(r#""status = \"RUNNING\"""#, &format!("\"{fine}\""));
        assert!(errors(&text).is_empty(), "{fine}: {:#?}", errors(&text));
    }
}

#[test]
fn conditions_that_read_unprovided_variables_are_warned_about() {
    let text = flow(r#""status = \"RUNNING\"""#, r#""statsu = \"RUNNING\"""#);
    let found = findings(&text);
    assert!(
        found.iter().any(|f| f.severity == Severity::Warning
            && f.message == "`statsu` is not provided by any workflow input or upstream node, did you mean `status`?"
            && (f.line, f.col) == pos(&text, "statsu", 0)),
        "{found:#?}"
    );
    assert!(errors(&text).is_empty(), "{found:#?}");
}

#[test]
fn variables_flow_through_loops_error_paths_and_start_mappings() {
    // Without the error path's mapping, `reason` (read by `simulate`) has no source.
    let text = flow(
        r#",
                    "output_mapping": [ { "name": "reason", "value": "message" } ]"#,
        "",
    );
    let found = findings(&text);
    assert!(
        found.iter().any(|f| f.severity == Severity::Warning
            && f.message.starts_with("`reason` is not provided")),
        "{found:#?}"
    );
    // Without the start node's mapping, `polls` (read by `archive`) has none either.
    let text = flow(
        r#",
      "output_mapping": [ { "name": "polls", "value": "0" } ]"#,
        "",
    );
    assert!(
        findings(&text)
            .iter()
            .any(|f| f.message.starts_with("`polls` is not provided")),
        "{:#?}",
        findings(&text)
    );
    // A start mapping row reads the inputs and the rows above it.
    let text = flow(
        r#"{ "name": "polls", "value": "0" }"#,
        r#"{ "name": "polls", "value": "0" }, { "name": "twice", "value": "polls + jbo" }"#,
    );
    let found = findings(&text);
    assert!(
        found.iter().any(|f| f.message
            == "`jbo` is not provided by any workflow input or upstream node, did you mean `job`?"),
        "{found:#?}"
    );
    assert!(
        !found.iter().any(|f| f.message.starts_with("`polls`")),
        "{found:#?}"
    );
}

#[test]
fn error_paths_must_lead_to_another_node() {
    let text = flow(r#""to": "simulate","#, r#""to": "simulat","#);
    assert_error(
        &text,
        "error path to unknown node `simulat`, did you mean `simulate`?",
        "\"simulat\"",
        0,
    );
    let text = flow(r#""to": "simulate","#, r#""to": "submit","#);
    assert_error(
        &text,
        "error path from `submit` back to itself",
        "\"submit\"",
        1,
    );
    let text = flow(r#""to": "simulate","#, r#""to": "start","#);
    assert_error(
        &text,
        "error path into the start node `start`",
        "\"start\"",
        2,
    );
}

#[test]
fn error_path_mappings_are_output_mappings() {
    let text = flow(
        r#"{ "name": "reason", "value": "message" }"#,
        r#"{ "name": "$secrets", "value": "message" }"#,
    );
    assert_error(
        &text,
        "`$secrets` belongs in the input mapping, not the output mapping",
        "\"$secrets\"",
        0,
    );
    let text = flow(r#""value": "message""#, r#""value": "secret_value(\"t\")""#);
    assert_error(
        &text,
        "`secret_value()` may only be used",
        "secret_value",
        0,
    );
    let text = flow(r#""value": "0""#, r#""value": "secret_value(\"t\")""#);
    assert_error(
        &text,
        "`secret_value()` may only be used",
        "secret_value",
        0,
    );
}

/// A workflow from the parts given: nodes `start` and `end` are added, each other node is
/// `id:kind`, edges are `from>to` with an optional `?condition` or `!` for default.
fn graph(nodes: &[&str], edges: &[&str]) -> String {
    let mut ns = vec![r#"{ "id": "start", "type": "start" }"#.to_string()];
    for n in nodes {
        let (id, kind) = n.split_once(':').unwrap_or((n, "service"));
        ns.push(match kind {
            "service" => format!(r#"{{ "id": "{id}", "type": "service", "run": {{ "command": ["true"] }} }}"#),
            "timer" => format!(r#"{{ "id": "{id}", "type": "timer", "duration": "PT1S" }}"#),
            "fallible" => format!(
                r#"{{ "id": "{id}", "type": "service", "run": {{ "command": ["true"] }}, "errors": [ {{ "code": "E", "to": "e_{id}" }} ] }}"#
            ),
            other => format!(r#"{{ "id": "{id}", "type": "{other}" }}"#),
        });
    }
    ns.push(r#"{ "id": "end", "type": "end" }"#.to_string());
    let es: Vec<String> = edges
        .iter()
        .map(|e| {
            let (ft, extra) = match e.split_once('?') {
                Some((ft, c)) => (ft, format!(r#", "condition": "{c}""#)),
                None => match e.strip_suffix('!') {
                    Some(ft) => (ft, r#", "default": true"#.to_string()),
                    None => (*e, String::new()),
                },
            };
            let (from, to) = ft.split_once('>').unwrap_or((ft, ft));
            format!(r#"{{ "from": "{from}", "to": "{to}"{extra} }}"#)
        })
        .collect();
    format!(
        "{{ \"name\": \"g\",\n  \"nodes\": [\n    {} ],\n  \"edges\": [\n    {} ] }}",
        ns.join(",\n    "),
        es.join(",\n    ")
    )
}

#[test]
fn a_join_on_branches_of_one_exclusive_choice_never_completes() {
    let text = graph(
        &["x:exclusive", "a", "b", "j:parallel"],
        &["start>x", "x>a?go", "x>b!", "a>j", "b>j", "j>end"],
    );
    assert_error(
        &text,
        "parallel join `j` can never complete: its incoming edges lie on different branches of exclusive gateway `x`, which takes only one",
        "\"j\"",
        0,
    );
    // The same with a service as the join.
    let text = graph(
        &["x:exclusive", "a", "b", "j"],
        &["start>x", "x>a?go", "x>b!", "a>j", "b>j", "j>end"],
    );
    assert_error(
        &text,
        "service `j` can never run: it joins its 2 incoming edges (waits for a token on each): its incoming edges lie on different branches of exclusive gateway `x`",
        "\"j\"",
        0,
    );
    // Merged by an exclusive gateway instead, it is fine.
    let text = graph(
        &["x:exclusive", "a", "b", "j:exclusive"],
        &["start>x", "x>a?go", "x>b!", "a>j", "b>j", "j>end"],
    );
    assert!(errors(&text).is_empty(), "{:#?}", errors(&text));
}

#[test]
fn a_join_after_a_fork_inside_one_branch_completes() {
    let text = graph(
        &["x:exclusive", "f:parallel", "a", "b", "j:parallel", "c"],
        &[
            "start>x", "x>f?go", "x>c!", "f>a", "f>b", "a>j", "b>j", "j>end", "c>end",
        ],
    );
    assert!(errors(&text).is_empty(), "{:#?}", errors(&text));
    // A choice after a fork may see several tokens: no claim is made there.
    let text = graph(
        &[
            "f:parallel",
            "p",
            "q",
            "x:exclusive",
            "a",
            "b",
            "j:parallel",
        ],
        &[
            "start>f", "f>p", "f>q", "p>x", "q>x", "x>a?go", "x>b!", "a>j", "b>j", "j>end",
        ],
    );
    assert!(errors(&text).is_empty(), "{:#?}", errors(&text));
}

#[test]
fn a_join_on_a_result_and_an_error_path_never_completes() {
    let text = graph(
        &["s:fallible", "ok", "e_s", "j:parallel"],
        &["start>s", "s>ok", "ok>j", "e_s>j", "j>end"],
    );
    assert_error(
        &text,
        "parallel join `j` can never complete: its incoming edges lie on different outcomes of service `s`",
        "\"j\"",
        0,
    );
    let text = graph(
        &["s:fallible", "ok", "e_s", "j:exclusive"],
        &["start>s", "s>ok", "ok>j", "e_s>j", "j>end"],
    );
    assert!(errors(&text).is_empty(), "{:#?}", errors(&text));
}

#[test]
fn a_join_that_waits_for_its_own_loop_never_completes() {
    let text = graph(
        &["j:parallel", "s", "x:exclusive"],
        &["start>j", "j>s", "s>x", "x>j?again", "x>end!"],
    );
    assert_error(
        &text,
        "parallel join `j` can never complete: the token from `x` can only come after `j` itself has run",
        "\"j\"",
        0,
    );
    // In FLOW, the loop back into the timer without the `again` merge.
    let text = flow(
        r#"{ "from": "check", "to": "again", "condition""#,
        r#"{ "from": "check", "to": "wait", "condition""#,
    );
    assert_error(
        &text,
        "timer `wait` can never run: it joins its 2 incoming edges (waits for a token on each): the token from `check` can only come after `wait` itself has run",
        "\"wait\"",
        0,
    );
}

#[test]
fn gateways_and_timers_reach_ends_and_are_reachable() {
    let text = graph(
        &["x:exclusive", "a", "t:timer"],
        &["start>x", "x>a?go", "x>end!", "t>end"],
    );
    assert_error(&text, "node `t` is unreachable", "\"t\"", 0);
    let text = graph(
        &["x:exclusive", "a", "b:exclusive"],
        &["start>x", "x>a?go", "x>end!", "a>b"],
    );
    assert_error(&text, "node `b` reaches no end node", "\"b\"", 0);
    // A node reached only by an error path is reachable.
    let text = graph(&["s:fallible", "e_s"], &["start>s", "s>end", "e_s>end"]);
    assert!(errors(&text).is_empty(), "{:#?}", errors(&text));
}
