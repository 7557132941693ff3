//! The result and error headers (issue 12): `task_type`, `result_variable`,
//! `result_expression`, `error_expression` on services and `label` on edges — what the loader
//! reads, and what validation refuses or warns about, with positions.

use super::{Found, findings, pos};
use crate::diag::{Severity, SourceFile};
use crate::workflow::{Workflow, check_source, load};

/// A valid workflow whose first service has every header and whose later services read what
/// the headers set. The tests break it in one place at a time.
const HEADERS: &str = r#"{
  "name": "headers",
  "inputs": { "url": { "description": "where to fetch" } },
  "nodes": [
    { "id": "start", "type": "start" },
    { "id": "fetch", "type": "service", "run": { "command": ["true"] },
      "task_type": "http-json",
      "input_mapping": [ { "name": "url", "value": "url" } ],
      "result_variable": "fetched",
      "result_expression": "{ \"status\": response.status, \"rows\": count(response.items) }",
      "error_expression": "if error != null then bpmnError(\"DOWN\", error.message) else if response.status = \"BAD\" then bpmnError(\"BAD\", \"bad\") else null",
      "errors": [ { "code": "DOWN", "to": "fallback" } ] },
    { "id": "use", "type": "service", "run": { "command": ["true"] },
      "input_mapping": [ { "name": "all", "value": "fetched" },
                         { "name": "s", "value": "status" },
                         { "name": "n", "value": "rows" } ],
      "output_mapping": [] },
    { "id": "fallback", "type": "service", "run": { "command": ["true"] },
      "input_mapping": [ { "name": "u", "value": "url" } ], "output_mapping": [] },
    { "id": "end", "type": "end" }
  ],
  "edges": [
    { "from": "start", "to": "fetch", "label": "go" },
    { "from": "fetch", "to": "use" },
    { "from": "use", "to": "end" },
    { "from": "fallback", "to": "end" }
  ]
}"#;

/// Replaces the only occurrence of `from` in HEADERS.
fn headers(from: &str, to: &str) -> String {
    assert_eq!(
        HEADERS.matches(from).count(),
        1,
        "`{from}` must occur exactly once in HEADERS"
    );
    HEADERS.replacen(from, to, 1)
}

fn loaded(text: &str) -> Workflow {
    let (wf, _) = load::load(&SourceFile::from_text("t.json", text));
    wf.expect("a JSON object")
}

/// Asserts a finding of `severity` containing `message` at the `nth` occurrence of `at`; with
/// a `|` in `at`, at the character after the `|`.
#[track_caller]
fn assert_found(text: &str, severity: Severity, message: &str, at: &str, nth: usize) {
    let found = findings(text);
    let (before, after) = at.split_once('|').unwrap_or(("", at));
    let (line, col) = pos(text, &format!("{before}{after}"), nth);
    let want = (line, col + before.chars().count());
    assert!(
        found.iter().any(|f| f.severity == severity
            && f.message.contains(message)
            && (f.line, f.col) == want),
        "expected a {severity:?} containing {message:?} at {want:?} (`{at}`), got {found:#?}",
    );
}

#[track_caller]
fn assert_error(text: &str, message: &str, at: &str) {
    assert_found(text, Severity::Error, message, at, 0);
}

fn messages(found: &[Found]) -> Vec<&str> {
    found.iter().map(|f| f.message.as_str()).collect()
}

#[test]
fn the_headers_workflow_is_clean_and_its_fields_are_read() {
    let found = findings(HEADERS);
    assert!(found.is_empty(), "{found:#?}");
    let checked = check_source(SourceFile::from_text("t.json", HEADERS));
    let wf = checked.workflow().expect("valid");
    let fetch = &wf.nodes[1];
    assert_eq!(fetch.task_type.as_deref(), Some("http-json"));
    assert_eq!(fetch.result_variable.as_deref(), Some("fetched"));
    let rx = fetch.result_expression.as_ref().expect("result expression");
    assert_eq!(
        rx.value.text,
        r#"{ "status": response.status, "rows": count(response.items) }"#
    );
    assert!(rx.expr.is_some());
    let ex = fetch.error_expression.as_ref().expect("error expression");
    assert!(
        ex.value
            .text
            .starts_with("if error != null then bpmnError(")
    );
    assert!(ex.expr.is_some());
    assert_eq!(wf.edges[0].label.as_deref(), Some("go"));
    assert_eq!(wf.edges[1].label, None);
    // A node without them has none.
    let plain = &wf.nodes[2];
    assert!(plain.task_type.is_none() && plain.result_variable.is_none());
    assert!(plain.result_expression.is_none() && plain.error_expression.is_none());
}

#[test]
fn headers_belong_to_services_only() {
    for field in [
        "task_type",
        "result_variable",
        "result_expression",
        "error_expression",
    ] {
        let text = headers(
            r#"{ "id": "end", "type": "end" }"#,
            &format!(r#"{{ "id": "end", "type": "end", "{field}": "x" }}"#),
        );
        assert_error(
            &text,
            &format!("an end node has no `{field}`; only service nodes do"),
            &format!("\"{field}\": \"x\""),
        );
    }
}

#[test]
fn headers_must_be_non_empty_strings() {
    let text = headers(r#""task_type": "http-json""#, r#""task_type": 3"#);
    assert_error(
        &text,
        "`task_type` must be a string, found a number",
        "\"task_type\": |3",
    );
    let text = headers(
        r#""result_variable": "fetched""#,
        r#""result_variable": "  ""#,
    );
    assert_error(&text, "`result_variable` must not be empty", "\"  \"");
    let text = headers(
        r#""from": "start", "to": "fetch", "label": "go""#,
        r#""from": "start", "to": "fetch", "label": """#,
    );
    assert_error(&text, "an edge's `label` must not be empty", "\"\" }");
    let text = headers(r#""label": "go""#, r#""label": true"#);
    assert_error(&text, "an edge's `label` must be a string", "true }");
}

#[test]
fn secrets_is_not_a_result_variable() {
    let text = headers(
        r#""result_variable": "fetched""#,
        r#""result_variable": "$secrets""#,
    );
    assert_error(
        &text,
        "`$secrets` cannot be a result variable",
        "\"$secrets\"",
    );
}

#[test]
fn parse_errors_point_into_the_expressions() {
    let text = headers(
        r#""result_expression": "{ \"status\": response.status, \"rows\": count(response.items) }""#,
        r#""result_expression": "{ \"status\": response.status +  }""#,
    );
    assert_error(&text, "in `result_expression`:", "response.status +  |}");
    let text = headers(r#"else null""#, r#"else )""#);
    assert_error(&text, "in `error_expression`:", "else |)");
}

#[test]
fn a_result_expression_that_is_never_a_context_is_refused() {
    for (expr, what) in [
        ("42", "a number"),
        ("\\\"ok\\\"", "a string"),
        ("[1, 2]", "a list"),
        ("response.n + 1", "an arithmetic result"),
        ("response.n > 1", "a boolean"),
        ("true", "a boolean"),
    ] {
        let text = headers(
            r#""result_expression": "{ \"status\": response.status, \"rows\": count(response.items) }""#,
            &format!(r#""result_expression": "{expr}""#),
        );
        assert_error(
            &text,
            &format!("this result expression is {what}, never a context"),
            &format!("\"result_expression\": \"|{}", &expr[..1]),
        );
    }
    // A context, null, a variable or a conditional may be one.
    for ok in [
        "null",
        "response",
        "if response.ok then { a: 1 } else null",
        "{}",
    ] {
        let text = headers(
            r#""result_expression": "{ \"status\": response.status, \"rows\": count(response.items) }""#,
            &format!(r#""result_expression": "{ok}""#),
        );
        let errors: Vec<Found> = findings(&text)
            .into_iter()
            .filter(|f| f.severity == Severity::Error)
            .collect();
        assert!(errors.is_empty(), "{ok}: {errors:#?}");
    }
}

#[test]
fn an_error_expression_that_is_never_an_error_or_null_is_refused() {
    let ours = r#""error_expression": "if error != null then bpmnError(\"DOWN\", error.message) else if response.status = \"BAD\" then bpmnError(\"BAD\", \"bad\") else null""#;
    for (expr, what) in [("42", "a number"), ("error = null", "a boolean")] {
        let text = headers(ours, &format!(r#""error_expression": "{expr}""#));
        assert_error(
            &text,
            &format!("this error expression is {what}, neither `bpmnError(…)` nor null"),
            &format!("\"error_expression\": \"|{}", &expr[..1]),
        );
    }
    for ok in ["null", "bpmnError(\\\"X\\\", \\\"m\\\")", "response.err"] {
        let text = headers(ours, &format!(r#""error_expression": "{ok}""#));
        let found = findings(&text);
        assert!(
            found.iter().all(|f| f.severity != Severity::Error),
            "{ok}: {found:#?}"
        );
    }
}

#[test]
fn the_expressions_are_checked_like_mapping_rows() {
    let text = headers("count(response.items) }", r#"secret_value(\"x\") }"#);
    assert_error(
        &text,
        "`secret_value()` may only be used in the `$secrets` row",
        "secret_value(",
    );
    let text = headers(
        r#"bpmnError(\"BAD\", \"bad\")"#,
        r#"bpmnErorr(\"BAD\", \"bad\")"#,
    );
    assert_error(
        &text,
        "unknown function `bpmnErorr`, did you mean `bpmnError`?",
        "bpmnErorr",
    );
}

#[test]
fn what_the_headers_set_is_known_downstream() {
    // `fetched`, `status` and `rows` come from the headers: no warning (the base is clean).
    // A name they do not set is warned about.
    let text = headers(
        r#"{ "name": "n", "value": "rows" }"#,
        r#"{ "name": "n", "value": "rowz" }"#,
    );
    assert_found(
        &text,
        Severity::Warning,
        "`rowz` is not provided by any workflow input or upstream node, did you mean `rows`?",
        "\"|rowz\"",
        0,
    );
    // Without the result expression, its keys are not provided.
    let text = headers(
        r#""result_expression": "{ \"status\": response.status, \"rows\": count(response.items) }","#,
        "",
    );
    let found = findings(&text);
    let warned = messages(&found);
    assert!(
        warned
            .iter()
            .any(|m| m.starts_with("`status` is not provided"))
            && warned
                .iter()
                .any(|m| m.starts_with("`rows` is not provided"))
            && !warned.iter().any(|m| m.starts_with("`fetched`")),
        "{found:#?}"
    );
    // A result expression whose keys the syntax does not tell may set anything: no warning.
    let text = headers(
        r#""result_expression": "{ \"status\": response.status, \"rows\": count(response.items) }","#,
        r#""result_expression": "response.vars","#,
    );
    let found = findings(&text);
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn the_expressions_may_read_response_and_error_and_the_variables() {
    // The base reads `response` and `error`: clean. A typo of them is warned about, with
    // them as suggestions, and so is a variable nothing provides.
    let text = headers("count(response.items)", "count(respnse.items)");
    assert_found(
        &text,
        Severity::Warning,
        "`respnse` is not provided by any workflow input or upstream node, did you mean `response`?",
        "respnse",
        0,
    );
    let text = headers("error.message)", "eror.message)");
    assert_found(
        &text,
        Severity::Warning,
        "`eror` is not provided by any workflow input or upstream node, did you mean `error`?",
        "eror",
        0,
    );
    // The result expression cannot read `error`.
    let text = headers("count(response.items)", "count(error.items)");
    assert_found(
        &text,
        Severity::Warning,
        "`error` is not provided",
        "error.items",
        0,
    );
    // The workflow's inputs are readable.
    let text = headers("count(response.items)", "count(url)");
    let found = findings(&text);
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn the_edge_label_is_only_shown() {
    let wf = loaded(&headers(r#""label": "go""#, r#""label": "Yes\nreally""#));
    assert_eq!(wf.edges[0].label.as_deref(), Some("Yes\nreally"));
    let text = headers(r#""label": "go""#, r#""lable": "go""#);
    assert_error(
        &text,
        "unknown field `lable` in an edge, did you mean `label`?",
        "\"lable\"",
    );
}
