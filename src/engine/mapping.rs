//! A service node's mappings at run time: its input mapping evaluated over the workflow
//! variables, its result put back into them through its output mapping.

use serde_json::{Map, Value};

use super::service::ServiceInput;
use super::vars::{VarRef, Vars};
use crate::workflow::Node;
use crate::workflow::model::SECRETS_ROW;

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
/// the variables' tree).
pub(crate) fn eval_input(node: &Node, vars: &Vars) -> Result<ServiceInput, String> {
    Ok(match input_map(node, vars)? {
        Some(m) => ServiceInput::new(m.iter().map(|(k, v)| (k.as_str(), VarRef::Value(v)))),
        None => ServiceInput::new(vars.iter()),
    })
}

/// Puts a successful result into the workflow variables, through the output mapping; returns
/// the variables it set.
pub(crate) fn apply_output(
    node: &Node,
    result: &Value,
    vars: &mut Vars,
) -> Result<Map<String, Value>, String> {
    let empty = Map::new();
    let result_map = match result {
        Value::Object(m) => m,
        _ => &empty,
    };
    let set = match &node.output_mapping {
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
        let body = eval_input(&node(""), &v).map(|i| i.body().to_vec());
        assert_eq!(body, Ok(br#"{"a":1,"b":"two"}"#.to_vec()));
        // What nodes set goes with the inputs, over them.
        v.extend(map(json!({"b": [2], "c": null})));
        let body = eval_input(&node(""), &v).map(|i| i.body().to_vec());
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
        let body = eval_input(&n, &vars(json!({"a": 1}))).map(|i| i.body().to_vec());
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
}
