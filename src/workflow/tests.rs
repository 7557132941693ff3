//! One test per rule of the workflow format: feed a broken file, check message and position.

use super::check_source;
use crate::diag::{Severity, SourceFile, line_col};

/// A valid two-service workflow the tests break in one place at a time.
const BASE: &str = r#"{
  "name": "demo",
  "inputs": { "circuit_data": { "description": "the circuit" } },
  "secrets": { "ibm_api_token": { "description": "IBM token" } },
  "nodes": [
    { "id": "start", "type": "start" },
    { "id": "prep", "type": "service", "label": "Prepare",
      "run": { "command": ["sh", "-c", "true"] },
      "input_mapping": [ { "name": "circuit_data", "value": "circuit_data" } ],
      "output_mapping": [ { "name": "prepared", "value": "circuit" } ] },
    { "id": "orchestrated", "type": "service", "label": "Orchestrated Service",
      "run": { "command": ["sh", "-c", "true"] },
      "secrets": ["ibm_token"],
      "input_mapping": [
        { "name": "circuit_data", "value": "prepared" },
        { "name": "$secrets", "value": "{ \"ibm_token\": secret_value(\"ibm_api_token\") }" }
      ],
      "timeout": "5m" },
    { "id": "end", "type": "end" }
  ],
  "edges": [
    { "from": "start", "to": "prep" },
    { "from": "prep", "to": "orchestrated" },
    { "from": "orchestrated", "to": "end" }
  ]
}"#;

#[derive(Debug)]
struct Found {
    severity: Severity,
    message: String,
    line: usize,
    col: usize,
}

fn findings(text: &str) -> Vec<Found> {
    let checked = check_source(SourceFile::from_text("t.json", text));
    checked
        .diagnostics
        .iter()
        .map(|d| {
            let (line, col) = line_col(text, d.primary.0.start);
            Found {
                severity: d.severity,
                message: d.message.clone(),
                line,
                col,
            }
        })
        .collect()
}

/// Replaces the only occurrence of `from` in BASE.
fn broken(from: &str, to: &str) -> String {
    assert_eq!(
        BASE.matches(from).count(),
        1,
        "`{from}` must occur exactly once in BASE"
    );
    BASE.replacen(from, to, 1)
}

/// Position (line, col) of the `nth` occurrence of `needle` in `text`.
fn pos(text: &str, needle: &str, nth: usize) -> (usize, usize) {
    let at = text
        .match_indices(needle)
        .nth(nth)
        .unwrap_or_else(|| panic!("`{needle}` #{nth} not in text"))
        .0;
    line_col(text, at)
}

/// Asserts exactly one error, containing `message`, at the `nth` occurrence of `at`.
#[track_caller]
fn assert_error(text: &str, message: &str, at: &str, nth: usize) {
    let found = findings(text);
    let errors: Vec<&Found> = found
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .collect();
    assert!(
        errors
            .iter()
            .any(|f| f.message.contains(message) && (f.line, f.col) == pos(text, at, nth)),
        "expected an error containing {message:?} at {:?} (`{at}`), got {found:#?}",
        pos(text, at, nth)
    );
}

#[test]
fn the_base_workflow_is_clean() {
    let found = findings(BASE);
    assert!(found.is_empty(), "{found:#?}");
    let checked = check_source(SourceFile::from_text("t.json", BASE));
    let wf = checked.workflow().expect("valid");
    assert_eq!(wf.nodes.len(), 4);
    assert_eq!(
        wf.nodes[2].secrets_row().map(|r| r.name.as_str()),
        Some("$secrets")
    );
    // The bindings are read once, at load.
    let bound: Vec<(&str, &str)> = wf.nodes[2]
        .bound_secrets()
        .iter()
        .map(|b| (b.param.as_str(), b.secret.as_str()))
        .collect();
    assert_eq!(bound, [("ibm_token", "ibm_api_token")]);
    assert!(wf.nodes[1].bound_secrets().is_empty());
    assert_eq!(
        wf.nodes[2].timeout,
        Some(std::time::Duration::from_secs(300))
    );
}

#[test]
fn invalid_json_is_reported_with_position() {
    let text = broken(r#""label": "Prepare","#, r#""label": "Prepare" "oops","#);
    assert_error(
        &text,
        "invalid JSON: expected `,` or `}` after an object member",
        "\"oops\"",
        0,
    );
}

#[test]
fn unknown_fields_suggest_the_right_name() {
    let text = broken(r#""label": "Prepare""#, r#""lable": "Prepare""#);
    assert_error(
        &text,
        "unknown field `lable` in a node, did you mean `label`?",
        "\"lable\"",
        0,
    );
    let text = broken(r#""name": "demo""#, r#""nmae": "demo""#);
    assert_error(&text, "did you mean `name`?", "\"nmae\"", 0);
    let text = broken(
        r#""run": { "command": ["sh", "-c", "true"] },
      "input_mapping""#,
        r#""run": { "comand": ["sh", "-c", "true"] },
      "input_mapping""#,
    );
    assert_error(&text, "did you mean `command`?", "\"comand\"", 0);
    let text = broken(
        r#"{ "from": "start", "to": "prep" }"#,
        r#"{ "from": "start", "too": "prep" }"#,
    );
    assert_error(&text, "did you mean `to`?", "\"too\"", 0);
}

#[test]
fn duplicate_fields() {
    let text = broken(
        r#""label": "Prepare","#,
        r#""label": "Prepare", "label": "Again","#,
    );
    assert_error(&text, "duplicate field `label`", "\"label\"", 1);
}

#[test]
fn wrong_types() {
    let text = broken(r#""timeout": "5m""#, r#""timeout": 5"#);
    assert_error(
        &text,
        "`timeout` must be a string, found a number",
        "5 }",
        0,
    );
    let text = broken(r#""secrets": ["ibm_token"]"#, r#""secrets": "ibm_token""#);
    assert_error(&text, "must be an array", "\"ibm_token\"", 0);
}

#[test]
fn bad_timeout() {
    let text = broken(r#""timeout": "5m""#, r#""timeout": "5 minutes""#);
    assert_error(&text, "invalid timeout", "\"5 minutes\"", 0);
}

#[test]
fn unknown_node_type() {
    let text = broken(
        r#""id": "prep", "type": "service""#,
        r#""id": "prep", "type": "servce""#,
    );
    assert_error(
        &text,
        "unknown node type `servce`, did you mean `service`?",
        "\"servce\"",
        0,
    );
}

#[test]
fn duplicate_node_ids() {
    let text = broken(r#""id": "prep""#, r#""id": "orchestrated""#);
    assert_error(
        &text,
        "duplicate node id `orchestrated`",
        "\"orchestrated\"",
        1,
    );
}

#[test]
fn invalid_node_id() {
    let text = BASE.replace("\"prep\"", "\"../prep\"");
    assert_error(
        &text,
        "node id `../prep` may only contain",
        "\"../prep\"",
        0,
    );
}

#[test]
fn dangling_edge_suggests_a_node() {
    let text = broken(
        r#"{ "from": "prep", "to": "orchestrated" }"#,
        r#"{ "from": "prep", "to": "orchestrate" }"#,
    );
    assert_error(
        &text,
        "edge refers to unknown node `orchestrate`, did you mean `orchestrated`?",
        "\"orchestrate\"",
        0,
    );
}

#[test]
fn duplicate_edge_and_self_loop() {
    let text = broken(
        r#"{ "from": "prep", "to": "orchestrated" }"#,
        r#"{ "from": "prep", "to": "orchestrated" }, { "from": "prep", "to": "orchestrated" }"#,
    );
    assert_error(
        &text,
        "duplicate edge `prep` → `orchestrated`",
        "{ \"from\": \"prep\"",
        1,
    );
    let text = broken(
        r#"{ "from": "start", "to": "prep" },"#,
        r#"{ "from": "start", "to": "prep" }, { "from": "prep", "to": "prep" },"#,
    );
    assert_error(
        &text,
        "edge from `prep` to itself",
        "{ \"from\": \"prep\", \"to\": \"prep\"",
        0,
    );
}

#[test]
fn exactly_one_start_and_at_least_one_end() {
    let text = broken(
        r#"{ "id": "end", "type": "end" }"#,
        r#"{ "id": "end", "type": "start" }"#,
    );
    assert_error(&text, "a second start node `end`", "\"end\"", 0);
    assert_error(&text, "the workflow has no end node", "{", 0);
    let text = broken(
        r#"{ "id": "start", "type": "start" }"#,
        r#"{ "id": "start", "type": "end" }"#,
    );
    assert_error(&text, "the workflow has no start node", "{", 0);
}

#[test]
fn edges_into_start_and_out_of_end() {
    let text = broken(
        r#"{ "from": "orchestrated", "to": "end" }"#,
        r#"{ "from": "orchestrated", "to": "end" }, { "from": "end", "to": "start" }"#,
    );
    assert_error(&text, "edge into the start node `start`", "\"start\"", 3);
    assert_error(&text, "edge out of the end node `end`", "\"end\"", 3);
}

#[test]
fn unreachable_and_dead_end_nodes() {
    let text = broken(
        r#"{ "from": "start", "to": "prep" },"#,
        r#"{ "from": "start", "to": "orchestrated" },"#,
    );
    assert_error(&text, "node `prep` is unreachable", "\"prep\"", 0);
    let text = broken(
        r#"{ "from": "orchestrated", "to": "end" }"#,
        r#"{ "from": "prep", "to": "end" }"#,
    );
    assert_error(
        &text,
        "node `orchestrated` reaches no end node",
        "\"orchestrated\"",
        0,
    );
}

#[test]
fn cycles_are_named() {
    let text = broken(
        r#"{ "from": "orchestrated", "to": "end" }"#,
        r#"{ "from": "orchestrated", "to": "end" }, { "from": "orchestrated", "to": "prep" }"#,
    );
    let found = findings(&text);
    let cycle = found
        .iter()
        .find(|f| f.message.starts_with("cycle without an exclusive gateway:"))
        .expect("a cycle error");
    assert!(
        cycle.message == "cycle without an exclusive gateway: prep → orchestrated → prep"
            || cycle.message
                == "cycle without an exclusive gateway: orchestrated → prep → orchestrated",
        "{}",
        cycle.message
    );
}

#[test]
fn service_needs_run_and_run_needs_a_way() {
    let text = broken(
        r#""run": { "command": ["sh", "-c", "true"] },
      "input_mapping": [ { "name": "circuit_data""#,
        r#""input_mapping": [ { "name": "circuit_data""#,
    );
    assert_error(&text, "service node `prep` has no `run`", "\"prep\"", 0);
    let text = broken(
        r#""run": { "command": ["sh", "-c", "true"] },
      "input_mapping": [ { "name": "circuit_data""#,
        r#""run": { },
      "input_mapping": [ { "name": "circuit_data""#,
    );
    assert_error(&text, "`run` needs one of `command`", "{ }", 0);
    let text = broken(
        r#""run": { "command": ["sh", "-c", "true"] },
      "input_mapping": [ { "name": "circuit_data""#,
        r#""run": { "command": ["sh"], "python": "x.py" },
      "input_mapping": [ { "name": "circuit_data""#,
    );
    assert_error(&text, "both `command` and `python`", "\"x.py\"", 0);
    let text = broken(
        r#""run": { "command": ["sh", "-c", "true"] },
      "input_mapping": [ { "name": "circuit_data""#,
        r#""run": { "command": [] },
      "input_mapping": [ { "name": "circuit_data""#,
    );
    assert_error(&text, "at least the program", "[]", 0);
}

#[test]
fn python_module_must_exist() {
    let text = broken(
        r#""run": { "command": ["sh", "-c", "true"] },
      "input_mapping": [ { "name": "circuit_data""#,
        r#""run": { "python": "services/nope.py", "function": "run" },
      "input_mapping": [ { "name": "circuit_data""#,
    );
    assert_error(&text, "does not exist", "\"services/nope.py\"", 0);
}

#[test]
fn start_and_end_nodes_take_no_service_fields() {
    let text = broken(
        r#"{ "id": "end", "type": "end" }"#,
        r#"{ "id": "end", "type": "end", "run": { "command": ["x"] } }"#,
    );
    assert_error(&text, "an end node has no `run`", "\"run\"", 2);
}

#[test]
fn reserved_secret_env_names() {
    let text = broken(
        r#""run": { "command": ["sh", "-c", "true"] },
      "input_mapping": [ { "name": "circuit_data""#,
        r#""run": { "command": ["sh"], "env": { "SECRET_X": "1" } },
      "input_mapping": [ { "name": "circuit_data""#,
    );
    assert_error(&text, "SECRET_* variables carry secrets", "\"SECRET_X\"", 0);
}

#[test]
fn expression_parse_errors_point_into_the_expression() {
    let text = broken(
        r#"{ "name": "circuit_data", "value": "prepared" }"#,
        r#"{ "name": "circuit_data", "value": "prepared +" }"#,
    );
    let found = findings(&text);
    let e = found
        .iter()
        .find(|f| f.message.contains("in the expression for `circuit_data`"))
        .expect("{found:#?}");
    let (line, col) = pos(&text, "prepared +", 0);
    assert_eq!(e.line, line);
    assert!(
        e.col >= col + "prepared ".len() && e.col <= col + "prepared +".len(),
        "{e:?} vs col {col}"
    );
}

#[test]
fn duplicate_mapping_rows() {
    let text = broken(
        r#"{ "name": "circuit_data", "value": "prepared" },"#,
        r#"{ "name": "circuit_data", "value": "prepared" }, { "name": "circuit_data", "value": "1" },"#,
    );
    assert_error(
        &text,
        "`circuit_data` is assigned twice",
        "\"circuit_data\"",
        4,
    );
}

#[test]
fn secrets_row_must_be_a_context_of_secret_value_calls() {
    let text = broken(r#"secret_value(\"ibm_api_token\") }"#, r#"\"plain\" }"#);
    assert_error(&text, "in `$secrets`", "\\\"plain\\\"", 0);
    let text = broken(
        r#""{ \"ibm_token\": secret_value(\"ibm_api_token\") }""#,
        r#""secret_value(\"ibm_api_token\")""#,
    );
    assert_error(&text, "in `$secrets`", "secret_value", 0);
    // The loaded node keeps what is wrong with its row, and binds no secret.
    let (wf, _) = crate::workflow::load::load(&SourceFile::from_text("t.json", &text));
    let node = wf
        .expect("loads")
        .nodes
        .into_iter()
        .find(|n| n.id == "orchestrated");
    let node = node.expect("the service");
    assert!(node.secret_bindings.is_err() && node.bound_secrets().is_empty());
}

#[test]
fn secrets_keys_must_match_declared_secrets() {
    let text = broken(
        r#"{ \"ibm_token\": secret_value"#,
        r#"{ \"ibm_tokn\": secret_value"#,
    );
    assert_error(
        &text,
        "`$secrets` binds a parameter that service `orchestrated` does not declare in its `secrets`, did you mean `ibm_token`?",
        "\\\"ibm_tokn",
        0,
    );
    assert_error(
        &text,
        "secret parameter `ibm_token` of service `orchestrated` is not bound",
        "\"ibm_token\"",
        0,
    );
}

/// Two parameters that become one `SECRET_*` variable: an error at the second, pointing at
/// the first, instead of one value silently replacing the other.
#[test]
fn two_secret_parameters_may_not_become_one_variable() {
    let text = broken(
        r#""secrets": ["ibm_token"],"#,
        r#""secrets": ["ibm_token", "ibmToken"],"#,
    )
    .replace(
        r#"{ \"ibm_token\": secret_value"#,
        r#"{ \"ibmToken\": secret_value(\"ibm_api_token\"), \"ibm_token\": secret_value"#,
    );
    assert_error(
        &text,
        "secret parameters `ibm_token` and `ibmToken` of service `orchestrated` both become the environment variable SECRET_IBM_TOKEN",
        "\"ibmToken\"",
        0,
    );
    let checked = check_source(SourceFile::from_text("t.json", &text));
    let d = checked
        .diagnostics
        .iter()
        .find(|d| d.message.contains("SECRET_IBM_TOKEN"))
        .expect("the error");
    assert_eq!(
        line_col(&text, d.secondary[0].0.start),
        pos(&text, "\"ibm_token\"", 0),
        "the second position is the first parameter"
    );
    let out = checked.render(false);
    assert!(out.contains("t.json:13:32"), "{out}");
}

/// A value pasted into a `$secrets` row is refused, and neither the message nor the excerpt
/// repeats it; `file:line:col` still points at it.
#[test]
fn a_literal_in_a_secrets_row_is_refused_without_showing_it() {
    for (from, to) in [
        (
            r#"secret_value(\"ibm_api_token\")"#,
            r#"\"ghp_R3alTokenValue0123\""#,
        ),
        (
            r#"secret_value(\"ibm_api_token\")"#,
            r#"secret_value(\"ghp-R3alTokenValue0123\")"#,
        ),
        (
            r#"secret_value(\"ibm_api_token\")"#,
            r#"secret_value(\"ghp_R3alTokenValue0123\")"#,
        ),
        (
            r#"{ \"ibm_token\": secret_value"#,
            r#"{ \"ghp_R3alTokenValue0123\": secret_value"#,
        ),
        (
            r#"{ \"ibm_token\": secret_value(\"ibm_api_token\") }"#,
            r#"{ \"ibm_token\": ghp_R3alTokenValue0123 ( }"#,
        ),
    ] {
        let text = broken(from, to);
        let checked = check_source(SourceFile::from_text("t.json", &text));
        assert!(checked.errors() > 0, "{to}");
        let out = checked.render(false);
        assert!(!out.contains("R3al"), "{to}:\n{out}");
        assert!(out.contains("t.json:16:"), "{to}:\n{out}");
        assert!(
            out.contains("\"$secrets\""),
            "the row's structure stays:\n{out}"
        );
    }
}

#[test]
fn declared_secrets_need_a_secrets_row() {
    let text = broken(
        r#",
        { "name": "$secrets", "value": "{ \"ibm_token\": secret_value(\"ibm_api_token\") }" }"#,
        "",
    );
    assert_error(
        &text,
        "declares secrets but its input mapping has no `$secrets` row",
        "[\"ibm_token\"]",
        0,
    );
}

#[test]
fn secret_value_only_inside_secrets() {
    let text = broken(
        r#"{ "name": "circuit_data", "value": "prepared" }"#,
        r#"{ "name": "circuit_data", "value": "secret_value(\"ibm_api_token\")" }"#,
    );
    assert_error(
        &text,
        "`secret_value()` may only be used in the `$secrets` row",
        "secret_value",
        0,
    );
    let text = broken(
        r#"{ "name": "prepared", "value": "circuit" }"#,
        r#"{ "name": "prepared", "value": "secret_value(\"ibm_api_token\")" }"#,
    );
    assert_error(
        &text,
        "`secret_value()` may only be used in the `$secrets` row",
        "secret_value",
        0,
    );
}

#[test]
fn secret_fields_must_be_declared_by_the_workflow() {
    let text = broken(
        r#"secret_value(\"ibm_api_token\")"#,
        r#"secret_value(\"ibm_api_tokn\")"#,
    );
    assert_error(
        &text,
        "this `secret_value` names a secret the workflow does not declare in its `secrets`, did you mean `ibm_api_token`?",
        "\\\"ibm_api_tokn\\\"",
        0,
    );
    // Without a `secrets` declaration any field name is accepted.
    let text = broken(
        r#""secrets": { "ibm_api_token": { "description": "IBM token" } },"#,
        "",
    );
    assert!(
        findings(&text)
            .iter()
            .all(|f| f.severity != Severity::Error),
        "{:#?}",
        findings(&text)
    );
}

#[test]
fn unknown_functions_are_errors() {
    let text = broken(
        r#"{ "name": "circuit_data", "value": "prepared" }"#,
        r#"{ "name": "circuit_data", "value": "uppercase(prepared)" }"#,
    );
    assert_error(&text, "unknown function `uppercase`", "uppercase", 0);
}

#[test]
fn unprovided_variables_are_warnings_not_errors() {
    let text = broken(
        r#"{ "name": "circuit_data", "value": "prepared" }"#,
        r#"{ "name": "circuit_data", "value": "prepard.x" }"#,
    );
    let found = findings(&text);
    assert!(
        found.iter().all(|f| f.severity == Severity::Warning),
        "{found:#?}"
    );
    let w = found
        .iter()
        .find(|f| f.message.contains("`prepard` is not provided"))
        .expect("{found:#?}");
    assert!(
        w.message.contains("did you mean `prepared`?"),
        "{}",
        w.message
    );
    assert_eq!((w.line, w.col), pos(&text, "prepard.x", 0));
    let checked = check_source(SourceFile::from_text("t.json", &text));
    assert!(
        checked.workflow().is_some(),
        "warnings keep the workflow usable"
    );
}

#[test]
fn a_service_without_output_mapping_may_provide_anything() {
    let text = broken(
        r#",
      "output_mapping": [ { "name": "prepared", "value": "circuit" } ]"#,
        "",
    );
    let text = text.replacen(
        r#""value": "prepared""#,
        r#""value": "whatever_it_returned""#,
        1,
    );
    assert!(findings(&text).is_empty(), "{:#?}", findings(&text));
}

#[test]
fn all_errors_are_reported_in_one_pass() {
    let text = BASE
        .replacen(r#""lable""#, "x", 1)
        .replacen(r#""label": "Prepare""#, r#""lable": "Prepare""#, 1)
        .replacen(r#""to": "orchestrated" }"#, r#""to": "orchestrate" }"#, 1)
        .replacen(r#""timeout": "5m""#, r#""timeout": "5""#, 1);
    let errors = findings(&text)
        .into_iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    assert!(errors >= 3, "{:#?}", findings(&text));
}

#[test]
fn missing_required_fields() {
    let text = broken(r#""name": "demo","#, "");
    assert_error(&text, "the workflow has no `name`", "{", 0);
    let text = broken(r#"{ "id": "end", "type": "end" }"#, r#"{ "type": "end" }"#);
    assert_error(&text, "this node has no `id`", "{ \"type\": \"end\" }", 0);
}

mod never_panics {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// Random edits of a valid workflow (bytes replaced, removed, inserted) never panic the
        /// loader or the validator, and every diagnostic's span lies inside the file.
        #[test]
        fn mutated_workflows(edits in proptest::collection::vec((0usize..4000, 0u8..4, any::<char>()), 1..6)) {
            let mut text: Vec<char> = BASE.chars().collect();
            for (at, op, c) in edits {
                let at = at % (text.len() + 1);
                match op {
                    0 if at < text.len() => { text[at] = c; }
                    1 if at < text.len() => { text.remove(at); }
                    2 => text.insert(at, c),
                    _ => text.insert(at, ['{', '}', '[', ']', '"', ',', ':', '\\'][at % 8]),
                }
            }
            let text: String = text.into_iter().collect();
            let checked = check_source(SourceFile::from_text("t.json", &text));
            for d in &checked.diagnostics {
                prop_assert!(d.primary.0.start <= text.len() && d.primary.0.end <= text.len());
            }
            let _ = checked.render(false);
        }

        /// Arbitrary text as a mapping expression never panics anything.
        #[test]
        fn arbitrary_expressions(expr in "\\PC{0,60}") {
            let escaped = serde_json::to_string(&expr).unwrap_or_default();
            let text = BASE.replacen("\"prepared\" }", &format!("{escaped} }}"), 1);
            let _ = check_source(SourceFile::from_text("t.json", &text)).render(false);
        }
    }
}

mod executor;
mod flow;
mod headers;
