//! A node's mappings and conditions at run time: input mappings over the workflow variables,
//! results and caught errors put back through output mappings, gateway conditions evaluated.

use serde_json::{Map, Value};

use super::service::ServiceInput;
use crate::expr;
use crate::workflow::Node;
use crate::workflow::model::{Condition, ErrorPath, MappingRow, SECRETS_ROW};

/// The evaluated input mapping (no mapping: all workflow variables), without `$secrets`.
/// Read from the variables, never a copy of them (see [`eval_input`]).
pub(crate) fn input_map(
    node: &Node,
    vars: &Map<String, Value>,
) -> Result<Option<Map<String, Value>>, String> {
    let Some(rows) = &node.input_mapping else {
        return Ok(None);
    };
    // Later rows read earlier ones first, then the variables (never copied into one scope).
    let mut out = Map::new();
    for row in rows.iter().filter(|r| r.name != SECRETS_ROW) {
        let Some(e) = &row.expr else {
            return Err(format!("input mapping `{}` does not parse", row.name));
        };
        let v = expr::eval_layered(e, &[&out, vars])
            .map_err(|e| format!("input mapping `{}`: {e}", row.name))?;
        out.insert(row.name.clone(), v);
    }
    Ok(Some(out))
}

/// The service's input, serialized: its input mapping evaluated, or all workflow variables
/// (serialized from them by reference: starting a service never copies the variables' tree).
pub(crate) fn eval_input(node: &Node, vars: &Map<String, Value>) -> Result<ServiceInput, String> {
    Ok(match input_map(node, vars)? {
        Some(m) => ServiceInput::new(&m),
        None => ServiceInput::new(vars),
    })
}

/// Puts a successful result into the workflow variables, through the output mapping; returns
/// the variables it set.
pub(crate) fn apply_output(
    node: &Node,
    result: &Value,
    vars: &mut Map<String, Value>,
) -> Result<Map<String, Value>, String> {
    apply_rows(node.output_mapping.as_deref(), result, vars)
}

/// A caught error through its error path's output mapping: the rows read the problem document's
/// fields, `code` (the code raised) and `message` (its `detail`, else `title`, else the
/// failure's reason), then the workflow variables. Without a mapping nothing is set.
pub(crate) fn apply_error_output(
    path: &ErrorPath,
    problem: Option<&Value>,
    code: &str,
    reason: &str,
    vars: &mut Map<String, Value>,
) -> Result<Map<String, Value>, String> {
    let Some(rows) = path.output_mapping.as_deref() else {
        return Ok(Map::new());
    };
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
    scope.insert("code".into(), Value::String(code.into()));
    scope.entry("message").or_insert(Value::String(message));
    apply_rows(Some(rows), &Value::Object(scope), vars)
}

/// An exclusive gateway's edge condition over the workflow variables: `true` takes the edge,
/// `false` or null does not; anything else is an error (the gateway fails, as the platform
/// raises an incident).
pub(crate) fn eval_condition(cond: &Condition, vars: &Map<String, Value>) -> Result<bool, String> {
    let Some(e) = &cond.expr else {
        return Err(format!("condition `{}` does not parse", cond.value.text));
    };
    match expr::eval(e, vars) {
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
    vars: &mut Map<String, Value>,
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
                let v = expr::eval_layered(e, &[&set, result_map, vars])
                    .map_err(|e| format!("output mapping `{}`: {e}", row.name))?;
                set.insert(row.name.clone(), v);
            }
            set
        }
    };
    vars.extend(set.iter().map(|(k, v)| (k.clone(), v.clone())));
    Ok(set)
}

#[cfg(test)]
mod tests {
    use serde_json::{Map, Value, json};

    use super::{apply_output, eval_input, input_map};
    use crate::diag::SourceFile;
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

    fn vars(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!("an object"),
        }
    }

    #[test]
    fn without_an_input_mapping_a_service_gets_every_variable() {
        let v = vars(json!({"a": 1, "b": "two"}));
        assert_eq!(input_map(&node(""), &v), Ok(None));
        let body = eval_input(&node(""), &v).map(|i| i.body().to_vec());
        assert_eq!(body, Ok(serde_json::to_vec(&v).expect("json")));
    }

    #[test]
    fn input_rows_read_earlier_rows_and_leave_out_secrets() {
        let n = node(
            r#", "input_mapping": [ { "name": "x", "value": "a + 1" },
                 { "name": "y", "value": "x * 10" },
                 { "name": "$secrets", "value": "{}" } ]"#,
        );
        let got = input_map(&n, &vars(json!({"a": 1, "other": true})));
        assert_eq!(got, Ok(Some(vars(json!({"x": 2, "y": 20})))));
        let body = eval_input(&n, &vars(json!({"a": 1}))).map(|i| i.body().to_vec());
        assert_eq!(body, Ok(br#"{"x":2,"y":20}"#.to_vec()));
    }

    #[test]
    fn a_row_that_does_not_parse_fails_the_node_naming_the_row() {
        let n = node(r#", "input_mapping": [ { "name": "x", "value": "1 +" } ]"#);
        assert_eq!(
            input_map(&n, &Map::new()),
            Err("input mapping `x` does not parse".into())
        );
        let n = node(r#", "output_mapping": [ { "name": "y", "value": "(" } ]"#);
        let mut v = Map::new();
        let got = apply_output(&n, &json!({}), &mut v);
        assert_eq!(got, Err("output mapping `y` does not parse".into()));
        assert!(v.is_empty());
    }

    #[test]
    fn without_an_output_mapping_an_object_result_merges_and_others_set_nothing() {
        let n = node("");
        let mut v = vars(json!({"a": 1}));
        let set = apply_output(&n, &json!({"a": 2, "b": 3}), &mut v);
        assert_eq!(set, Ok(vars(json!({"a": 2, "b": 3}))));
        assert_eq!(v, vars(json!({"a": 2, "b": 3})));
        assert_eq!(apply_output(&n, &json!([1, 2]), &mut v), Ok(Map::new()));
        assert_eq!(v, vars(json!({"a": 2, "b": 3})));
    }

    #[test]
    fn output_rows_read_the_result_and_the_variables_and_set_only_their_names() {
        let n = node(
            r#", "output_mapping": [ { "name": "total", "value": "count + base" },
                 { "name": "twice", "value": "total * 2" } ]"#,
        );
        let mut v = vars(json!({"base": 10}));
        let set = apply_output(&n, &json!({"count": 5, "noise": 1}), &mut v);
        assert_eq!(set, Ok(vars(json!({"total": 15, "twice": 30}))));
        assert_eq!(v, vars(json!({"base": 10, "total": 15, "twice": 30})));
    }
}
