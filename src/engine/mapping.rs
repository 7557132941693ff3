//! A node's mappings and conditions at run time: input mappings over the workflow variables,
//! results put back through the result headers and output mappings, the error expression that
//! turns an attempt's end into a raised error, caught errors through their output mappings,
//! gateway conditions evaluated.

use serde_json::{Map, Value};

use super::service::ServiceInput;
use super::vars::{VarRef, Vars};
use crate::expr;
use crate::workflow::Node;
use crate::workflow::model::{Condition, ErrorPath, MappingRow, SECRETS_ROW};

/// The evaluated input mapping (no mapping: all workflow variables), without `$secrets`.
/// Read from the variables, never a copy of them (see [`eval_input`]); an input is parsed only
/// when a row reads it.
pub(crate) fn input_map(node: &Node, vars: &Vars) -> Result<Option<Map<String, Value>>, String> {
    let Some(rows) = &node.input_mapping else {
        return Ok(None);
    };
    // Later rows read earlier ones first, then the variables (never copied into one scope).
    let mut out = Map::new();
    for row in rows.iter().filter(|r| r.name != SECRETS_ROW) {
        let Some(e) = &row.expr else {
            return Err(format!("input mapping `{}` does not parse", row.name));
        };
        let v = vars
            .eval(e, &[&out])
            .map_err(|e| format!("input mapping `{}`: {e}", row.name))?;
        out.insert(row.name.clone(), v);
    }
    Ok(Some(out))
}

/// The service's input, serialized: its input mapping evaluated, or all workflow variables
/// (serialized from them by reference, inputs as their text: starting a service never copies
/// the variables' tree). With a mapping, its values are also kept as previews redacted by `r`
/// (`ServiceInput::shown`, for `Event::NodeInputs`).
pub(crate) fn eval_input(
    node: &Node,
    vars: &Vars,
    r: &crate::secrets::Redactor,
) -> Result<ServiceInput, String> {
    Ok(match input_map(node, vars)? {
        Some(m) => {
            let mut input =
                ServiceInput::new(m.iter().map(|(k, v)| (k.as_str(), VarRef::Value(v))));
            input.shown = Some(
                m.iter()
                    .map(|(k, v)| (k.clone(), super::event::preview(r, v)))
                    .collect(),
            );
            input
        }
        None => ServiceInput::new(vars.iter()),
    })
}

/// Puts a successful result into the workflow variables, as Zeebe completes a connector's job:
/// the result headers first — `result_variable` (the whole result) and `result_expression`
/// (evaluated with the result as `response` over the variables; its context's entries) make
/// the job's variables —, then the output mapping over those (no headers: over the result
/// itself, as a job worker's variables are its result). Returns the variables it set.
pub(crate) fn apply_output(
    node: &Node,
    result: &Value,
    vars: &mut Vars,
) -> Result<Map<String, Value>, String> {
    match job_variables(node, result, vars)? {
        Some(job) => apply_rows(node.output_mapping.as_deref(), &Value::Object(job), vars),
        None => apply_rows(node.output_mapping.as_deref(), result, vars),
    }
}

/// The variables a result makes through the node's result headers; `None` without headers.
fn job_variables(
    node: &Node,
    result: &Value,
    vars: &Vars,
) -> Result<Option<Map<String, Value>>, String> {
    if node.result_variable.is_none() && node.result_expression.is_none() {
        return Ok(None);
    }
    let mut job = Map::new();
    if let Some(name) = &node.result_variable {
        job.insert(name.clone(), result.clone());
    }
    if let Some(x) = &node.result_expression {
        let Some(e) = &x.expr else {
            return Err(format!(
                "result expression `{}` does not parse",
                x.value.text
            ));
        };
        let scope = response_scope(result, None);
        match vars.eval(e, &[&scope]) {
            Ok(Value::Object(entries)) => job.extend(entries),
            Ok(Value::Null) => {}
            Ok(other) => {
                return Err(format!(
                    "result expression `{}` gave {}, not a context",
                    x.value.text,
                    kind_of(&other)
                ));
            }
            Err(err) => return Err(format!("result expression `{}`: {err}", x.value.text)),
        }
    }
    Ok(Some(job))
}

/// What the result headers read besides the variables: `response` (the result, null after a
/// failure) and, for the error expression, `error` (null after a success).
fn response_scope(response: &Value, error: Option<Value>) -> Map<String, Value> {
    let mut scope = Map::new();
    scope.insert("response".into(), response.clone());
    if let Some(error) = error {
        scope.insert("error".into(), error);
    }
    scope
}

/// How an attempt ended, as the error expression sees it.
pub(crate) enum AttemptEnd<'a> {
    /// It succeeded with this result.
    Succeeded(&'a Value),
    /// It failed: its error code, problem document and reason.
    Failed {
        code: Option<&'a str>,
        problem: Option<&'a Value>,
        reason: &'a str,
    },
}

/// The node's `error_expression` at the end of an attempt, evaluated with `response` (the
/// result, null after a failure) and `error` (`{code, message, …the problem document}`, null
/// after a success) over the variables: `bpmnError(code, message)` raises that error, null
/// changes nothing (`Ok(None)`), anything else — or an evaluation error — is the reason the
/// attempt fails. `Ok(None)` without an expression.
pub(crate) fn eval_error_expression(
    node: &Node,
    end: AttemptEnd<'_>,
    vars: &Vars,
) -> Result<Option<expr::BpmnError>, String> {
    let Some(x) = &node.error_expression else {
        return Ok(None);
    };
    let Some(e) = &x.expr else {
        return Err(format!(
            "error expression `{}` does not parse",
            x.value.text
        ));
    };
    let scope = match end {
        AttemptEnd::Succeeded(result) => response_scope(result, Some(Value::Null)),
        AttemptEnd::Failed {
            code,
            problem,
            reason,
        } => response_scope(
            &Value::Null,
            Some(Value::Object(error_of(code, problem, reason))),
        ),
    };
    match vars.eval(e, &[&scope]) {
        Ok(Value::Null) => Ok(None),
        Ok(v) => match expr::bpmn_error(&v) {
            Some(raised) => Ok(Some(raised)),
            None => Err(format!(
                "error expression `{}` gave {}, neither bpmnError(…) nor null",
                x.value.text,
                kind_of(&v)
            )),
        },
        Err(err) => Err(format!("error expression `{}`: {err}", x.value.text)),
    }
}

/// A failure as a context: the problem document's fields, `code` (the code raised, else null)
/// and `message` (the problem's `detail`, else its `title`, else the failure's reason).
fn error_of(code: Option<&str>, problem: Option<&Value>, reason: &str) -> Map<String, Value> {
    let mut scope = match problem {
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    };
    let message = ["detail", "title"]
        .iter()
        .find_map(|k| {
            scope
                .get(*k)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
        })
        .unwrap_or(reason)
        .to_string();
    scope.insert(
        "code".into(),
        code.map_or(Value::Null, |c| Value::String(c.into())),
    );
    scope.entry("message").or_insert(Value::String(message));
    scope
}

/// A caught error through its error path's output mapping: the rows read the problem document's
/// fields, `code` (the code raised) and `message` (its `detail`, else `title`, else the
/// failure's reason), and the same as one context, `error` (as an error expression sees it:
/// `error.message`, what BPMN boundary mappings write), unless the document has fields of
/// those names; then the workflow variables. Without a mapping nothing is set.
pub(crate) fn apply_error_output(
    path: &ErrorPath,
    problem: Option<&Value>,
    code: &str,
    reason: &str,
    vars: &mut Vars,
) -> Result<Map<String, Value>, String> {
    let Some(rows) = path.output_mapping.as_deref() else {
        return Ok(Map::new());
    };
    let mut scope = error_of(Some(code), problem, reason);
    if !scope.contains_key("error") {
        let error = Value::Object(scope.clone());
        scope.insert("error".into(), error);
    }
    apply_rows(Some(rows), &Value::Object(scope), vars)
}

/// An exclusive gateway's edge condition over the workflow variables: `true` takes the edge,
/// `false` or null does not; anything else is an error (the edge is not taken, the error is
/// shown with it).
pub(crate) fn eval_condition(cond: &Condition, vars: &Vars) -> Result<bool, String> {
    let Some(e) = &cond.expr else {
        return Err(format!("condition `{}` does not parse", cond.value.text));
    };
    match vars.eval(e, &[]) {
        Ok(Value::Bool(b)) => Ok(b),
        Ok(Value::Null) => Ok(false),
        Ok(other) => Err(format!(
            "condition `{}` gave {}, not a boolean",
            cond.value.text,
            kind_of(&other)
        )),
        Err(err) => Err(format!("condition `{}`: {err}", cond.value.text)),
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a context",
    }
}

/// Rows evaluated over a result (earlier rows, then the result's fields, then the variables)
/// into the variables; no rows: an object result's fields, as they are.
fn apply_rows(
    rows: Option<&[MappingRow]>,
    result: &Value,
    vars: &mut Vars,
) -> Result<Map<String, Value>, String> {
    let empty = Map::new();
    let result_map = match result {
        Value::Object(m) => m,
        _ => &empty,
    };
    let set = match rows {
        // No mapping: the result's fields, as they are.
        None => result_map.clone(),
        Some(rows) => {
            let mut set = Map::new();
            for row in rows {
                let Some(e) = &row.expr else {
                    return Err(format!("output mapping `{}` does not parse", row.name));
                };
                // Earlier rows, then the result, then the variables (never copied into one
                // scope).
                let v = vars
                    .eval(e, &[&set, result_map])
                    .map_err(|e| format!("output mapping `{}`: {e}", row.name))?;
                set.insert(row.name.clone(), v);
            }
            set
        }
    };
    vars.extend(set.clone());
    Ok(set)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::{Map, Value, json};

    use super::{apply_output, eval_input, input_map};
    use crate::diag::SourceFile;
    use crate::engine::vars::{Inputs, Vars};
    use crate::workflow::Node;
    use crate::workflow::load::load;

    /// The service node of a one-service workflow with these mapping fields.
    fn node(mappings: &str) -> Node {
        let text = format!(
            r#"{{ "name": "m", "nodes": [ {{ "id": "s", "type": "service",
                 "run": {{ "command": ["true"] }} {mappings} }} ], "edges": [] }}"#
        );
        let (wf, _) = load(&SourceFile::from_text("m.json", &text));
        wf.expect("loads").nodes.remove(0)
    }

    fn map(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!("an object"),
        }
    }

    /// Workflow variables that are all inputs (held as text).
    fn vars(v: Value) -> Vars {
        Vars::new(Arc::new(Inputs::from_map(&map(v)).expect("inputs")))
    }

    fn json_of(v: &Vars) -> Value {
        serde_json::to_value(v).expect("json")
    }

    #[test]
    fn without_an_input_mapping_a_service_gets_every_variable() {
        let mut v = vars(json!({"a": 1, "b": "two"}));
        assert_eq!(input_map(&node(""), &v), Ok(None));
        let body =
            eval_input(&node(""), &v, &crate::secrets::Redactor::new()).map(|i| i.body().to_vec());
        assert_eq!(body, Ok(br#"{"a":1,"b":"two"}"#.to_vec()));
        // What nodes set goes with the inputs, over them.
        v.extend(map(json!({"b": [2], "c": null})));
        let body =
            eval_input(&node(""), &v, &crate::secrets::Redactor::new()).map(|i| i.body().to_vec());
        assert_eq!(body, Ok(br#"{"a":1,"b":[2],"c":null}"#.to_vec()));
    }

    #[test]
    fn input_rows_read_earlier_rows_and_leave_out_secrets() {
        let n = node(
            r#", "input_mapping": [ { "name": "x", "value": "a + 1" },
                 { "name": "y", "value": "x * 10" },
                 { "name": "$secrets", "value": "{}" } ]"#,
        );
        let got = input_map(&n, &vars(json!({"a": 1, "other": true})));
        assert_eq!(got, Ok(Some(map(json!({"x": 2, "y": 20})))));
        let body = eval_input(&n, &vars(json!({"a": 1})), &crate::secrets::Redactor::new())
            .map(|i| i.body().to_vec());
        assert_eq!(body, Ok(br#"{"x":2,"y":20}"#.to_vec()));
    }

    #[test]
    fn a_row_that_does_not_parse_fails_the_node_naming_the_row() {
        let n = node(r#", "input_mapping": [ { "name": "x", "value": "1 +" } ]"#);
        assert_eq!(
            input_map(&n, &Vars::default()),
            Err("input mapping `x` does not parse".into())
        );
        let n = node(r#", "output_mapping": [ { "name": "y", "value": "(" } ]"#);
        let mut v = Vars::default();
        let got = apply_output(&n, &json!({}), &mut v);
        assert_eq!(got, Err("output mapping `y` does not parse".into()));
        assert!(v.is_empty());
    }

    #[test]
    fn without_an_output_mapping_an_object_result_merges_and_others_set_nothing() {
        let n = node("");
        let mut v = vars(json!({"a": 1}));
        let set = apply_output(&n, &json!({"a": 2, "b": 3}), &mut v);
        assert_eq!(set, Ok(map(json!({"a": 2, "b": 3}))));
        assert_eq!(json_of(&v), json!({"a": 2, "b": 3}));
        assert_eq!(apply_output(&n, &json!([1, 2]), &mut v), Ok(Map::new()));
        assert_eq!(json_of(&v), json!({"a": 2, "b": 3}));
    }

    #[test]
    fn output_rows_read_the_result_and_the_variables_and_set_only_their_names() {
        let n = node(
            r#", "output_mapping": [ { "name": "total", "value": "count + base" },
                 { "name": "twice", "value": "total * 2" } ]"#,
        );
        let mut v = vars(json!({"base": 10}));
        let set = apply_output(&n, &json!({"count": 5, "noise": 1}), &mut v);
        assert_eq!(set, Ok(map(json!({"total": 15, "twice": 30}))));
        assert_eq!(json_of(&v), json!({"base": 10, "total": 15, "twice": 30}));
    }

    #[test]
    fn result_headers_make_the_job_variables_the_output_mapping_reads() {
        let rx = r#""result_expression": "{ \"n\": count(response.items), \"first\": response.items[1] }""#;
        // Result variable only: the whole result, whatever it is.
        let n = node(r#", "result_variable": "got""#);
        let mut v = vars(json!({"a": 1}));
        let set = apply_output(&n, &json!([1, 2]), &mut v);
        assert_eq!(set, Ok(map(json!({"got": [1, 2]}))));
        assert_eq!(json_of(&v), json!({"a": 1, "got": [1, 2]}));
        // Result expression only: its entries, reading `response` and the variables.
        let n = node(&format!(", {rx}"));
        let mut v = vars(json!({"a": 1}));
        let set = apply_output(&n, &json!({"items": ["x", "y"], "noise": 1}), &mut v);
        assert_eq!(set, Ok(map(json!({"n": 2, "first": "x"}))));
        assert_eq!(json_of(&v), json!({"a": 1, "n": 2, "first": "x"}));
        // Both, then an output mapping over them (the result's own keys are not in scope).
        let n = node(&format!(
            r#", "result_variable": "got", {rx},
                 "output_mapping": [ {{ "name": "total", "value": "n + a" }},
                                     {{ "name": "whole", "value": "got.noise" }},
                                     {{ "name": "raw", "value": "noise" }} ]"#
        ));
        let mut v = vars(json!({"a": 10}));
        let set = apply_output(&n, &json!({"items": ["x"], "noise": 7}), &mut v);
        assert_eq!(set, Ok(map(json!({"total": 11, "whole": 7, "raw": null}))));
        assert_eq!(
            json_of(&v),
            json!({"a": 10, "total": 11, "whole": 7, "raw": null})
        );
        // Without headers, the output mapping reads the result as before.
        let n = node(r#", "output_mapping": [ { "name": "raw", "value": "noise" } ]"#);
        let mut v = vars(json!({}));
        let set = apply_output(&n, &json!({"noise": 7}), &mut v);
        assert_eq!(set, Ok(map(json!({"raw": 7}))));
    }

    #[test]
    fn a_result_expression_that_is_not_a_context_fails_and_null_sets_nothing() {
        let n = node(r#", "result_expression": "response.items""#);
        let mut v = vars(json!({"a": 1}));
        let got = apply_output(&n, &json!({"items": [1]}), &mut v);
        assert_eq!(
            got,
            Err("result expression `response.items` gave a list, not a context".into())
        );
        assert_eq!(json_of(&v), json!({"a": 1}));
        let got = apply_output(&n, &json!({}), &mut v);
        assert_eq!(got, Ok(Map::new()));
        assert_eq!(json_of(&v), json!({"a": 1}));
    }

    #[test]
    fn the_error_expression_raises_passes_or_fails_the_attempt() {
        use super::{AttemptEnd, eval_error_expression};
        let n = node(
            r#", "error_expression": "if error != null then bpmnError(if error.code = null then \"NONE\" else \"E_\" + error.code, error.message, { status: error.status }) else if response.status = \"DOWN\" then bpmnError(\"DOWN\", response.why + limit) else if response.status = \"ODD\" then 42 else null""#,
        );
        let v = vars(json!({"limit": "!"}));
        // A success: `response` is the result, `error` null.
        let ok = json!({"status": "UP"});
        assert_eq!(
            eval_error_expression(&n, AttemptEnd::Succeeded(&ok), &v),
            Ok(None)
        );
        let down = json!({"status": "DOWN", "why": "maintenance"});
        let raised = eval_error_expression(&n, AttemptEnd::Succeeded(&down), &v)
            .expect("evaluates")
            .expect("raises");
        assert_eq!(
            (raised.code.as_str(), raised.message.as_str()),
            ("DOWN", "maintenance!")
        );
        let odd = json!({"status": "ODD"});
        let text = n.error_expression.as_ref().map(|x| x.value.text.clone());
        assert_eq!(
            eval_error_expression(&n, AttemptEnd::Succeeded(&odd), &v).map(|r| r.is_some()),
            Err(format!(
                "error expression `{}` gave a number, neither bpmnError(…) nor null",
                text.unwrap_or_default()
            ))
        );
        // A failure: `error` is the problem with its code and message, `response` null.
        let problem = json!({"title": "Down", "detail": "in maintenance", "status": 503});
        let end = AttemptEnd::Failed {
            code: Some("X"),
            problem: Some(&problem),
            reason: "exited with code 1",
        };
        let raised = eval_error_expression(&n, end, &v)
            .expect("evaluates")
            .expect("raises");
        assert_eq!(raised.code, "E_X");
        assert_eq!(raised.message, "in maintenance");
        assert_eq!(raised.variables, map(json!({"status": 503})));
        // Without a problem: code null, the reason as the message.
        let end = AttemptEnd::Failed {
            code: None,
            problem: None,
            reason: "exited with code 1",
        };
        let raised = eval_error_expression(&n, end, &v)
            .expect("evaluates")
            .expect("raises");
        assert_eq!(raised.code, "NONE");
        assert_eq!(raised.message, "exited with code 1");
        // No expression: nothing to say.
        let plain = node("");
        assert_eq!(
            eval_error_expression(&plain, AttemptEnd::Succeeded(&ok), &v),
            Ok(None)
        );
    }

    /// The conditions of the edges out of gateway `x`, in file order.
    fn conditions(conds: &[&str]) -> Vec<crate::workflow::model::Condition> {
        let edges: Vec<String> = conds
            .iter()
            .enumerate()
            .map(|(k, c)| {
                format!(
                    r#"{{ "from": "x", "to": "e{k}", "condition": {} }}"#,
                    serde_json::to_string(c).expect("json")
                )
            })
            .collect();
        let ends: Vec<String> = (0..conds.len())
            .map(|k| format!(r#"{{ "id": "e{k}", "type": "end" }}"#))
            .collect();
        let text = format!(
            r#"{{ "name": "c", "nodes": [ {{ "id": "s", "type": "start" }},
                 {{ "id": "x", "type": "exclusive" }}, {} ],
                 "edges": [ {{ "from": "s", "to": "x" }}, {} ] }}"#,
            ends.join(","),
            edges.join(",")
        );
        let (wf, _) = load(&SourceFile::from_text("c.json", &text));
        let wf = wf.expect("loads");
        wf.edges.into_iter().filter_map(|e| e.condition).collect()
    }

    #[test]
    fn conditions_are_true_false_or_an_error_and_null_is_not_true() {
        use super::eval_condition;
        let c = conditions(&["n > 2", "n < 2", "missing", "n + 1", "\"x\" * 2"]);
        assert_eq!(c.len(), 5);
        let v = vars(json!({"n": 3}));
        assert_eq!(eval_condition(&c[0], &v), Ok(true));
        assert_eq!(eval_condition(&c[1], &v), Ok(false));
        assert_eq!(eval_condition(&c[2], &v), Ok(false));
        assert_eq!(
            eval_condition(&c[3], &v),
            Err("condition `n + 1` gave a number, not a boolean".into())
        );
        // FEEL gives null for a string times a number: not true.
        assert!(matches!(eval_condition(&c[4], &v), Ok(false) | Err(_)));
    }

    #[test]
    fn an_error_paths_mapping_reads_code_message_and_the_problem() {
        use super::apply_error_output;
        let text = r#"{ "name": "e", "nodes": [ { "id": "st", "type": "start" },
            { "id": "s", "type": "service", "run": { "command": ["true"] },
              "errors": [ { "code": "DOWN", "to": "f", "output_mapping": [
                  { "name": "why", "value": "code + \": \" + message" },
                  { "name": "status", "value": "status" },
                  { "name": "seen", "value": "base" } ] },
                { "code": "QUIET", "to": "f" } ] },
            { "id": "f", "type": "service", "run": { "command": ["true"] } },
            { "id": "end", "type": "end" } ],
            "edges": [ { "from": "st", "to": "s" }, { "from": "s", "to": "end" },
                       { "from": "f", "to": "end" } ] }"#;
        let (wf, _) = load(&SourceFile::from_text("e.json", text));
        let wf = wf.expect("loads");
        let node = &wf.nodes[1];
        let problem = json!({"title": "Down", "detail": "in maintenance", "status": 503});
        let mut v = vars(json!({"base": 1}));
        let set = apply_error_output(&node.errors[0], Some(&problem), "DOWN", "exited", &mut v);
        let want = map(json!({"why": "DOWN: in maintenance", "status": 503, "seen": 1}));
        assert_eq!(set, Ok(want));
        assert_eq!(json_of(&v)["why"], "DOWN: in maintenance");
        // Without a problem document, the failure's reason is the message.
        let mut v = vars(json!({}));
        let set = apply_error_output(&node.errors[0], None, "DOWN", "exited with code 2", &mut v);
        assert_eq!(
            set.map(|s| s["why"].clone()),
            Ok(json!("DOWN: exited with code 2"))
        );
        // The same error as one context, as BPMN boundary mappings read it; a problem
        // document's own `error` field wins.
        let text = r#"{ "name": "e", "nodes": [ { "id": "st", "type": "start" },
            { "id": "s", "type": "service", "run": { "command": ["true"] },
              "errors": [ { "code": "DOWN", "to": "f", "output_mapping": [
                  { "name": "why", "value": "error.code + \": \" + error.message" },
                  { "name": "status", "value": "error.status" } ] } ] },
            { "id": "f", "type": "service", "run": { "command": ["true"] } },
            { "id": "end", "type": "end" } ],
            "edges": [ { "from": "st", "to": "s" }, { "from": "s", "to": "end" },
                       { "from": "f", "to": "end" } ] }"#;
        let (wf2, _) = load(&SourceFile::from_text("e2.json", text));
        let boundary = &wf2.expect("loads").nodes[1].errors[0];
        let mut v = vars(json!({}));
        let set = apply_error_output(boundary, Some(&problem), "DOWN", "x", &mut v);
        let want = map(json!({"why": "DOWN: in maintenance", "status": 503}));
        assert_eq!(set, Ok(want));
        let own = json!({"title": "Down", "error": "its own"});
        let mut v = vars(json!({}));
        let set = apply_error_output(boundary, Some(&own), "DOWN", "x", &mut v);
        assert_eq!(set.map(|s| s["why"].clone()), Ok(Value::Null));
        // A path without a mapping sets nothing (the problem's fields do not leak in).
        let mut v = vars(json!({}));
        let set = apply_error_output(&node.errors[1], Some(&problem), "QUIET", "x", &mut v);
        assert_eq!(set, Ok(Map::new()));
        assert!(v.is_empty());
    }
}
