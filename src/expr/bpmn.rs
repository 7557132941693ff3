//! The value `bpmnError(code, message)` produces, as the engine sees it at the JSON boundary:
//! a context `{"errorType": "bpmnError", "code": …, "message": …}` (Camunda's shape), and its reader.

use serde_json::{Map, Value};

/// The `errorType` of a context made by `bpmnError(…)`.
pub const BPMN_ERROR_TYPE: &str = "bpmnError";

/// An error raised by `bpmnError(code, message[, variables])`, read back from its JSON value.
#[derive(Clone, Debug, PartialEq)]
pub struct BpmnError {
    /// The error code an error path's `code` matches.
    pub code: String,
    /// The message; `bpmnError` requires one, an empty string when the caller has none.
    pub message: String,
    /// The optional third argument: variables the error carries (a context), else empty.
    pub variables: Map<String, Value>,
}

/// Builds the JSON value of `bpmnError(code, message, variables)`.
pub fn bpmn_error_value(code: &str, message: &str, variables: Option<Map<String, Value>>) -> Value {
    let mut m = Map::new();
    m.insert("errorType".into(), Value::String(BPMN_ERROR_TYPE.into()));
    m.insert("code".into(), Value::String(code.into()));
    m.insert("message".into(), Value::String(message.into()));
    if let Some(v) = variables {
        m.insert("variables".into(), Value::Object(v));
    }
    Value::Object(m)
}

/// The error a value stands for, if it is the result of `bpmnError(…)`: a context whose
/// `errorType` is `"bpmnError"` and whose `code` is a non-empty string. Anything else is `None`.
pub fn bpmn_error(value: &Value) -> Option<BpmnError> {
    let m = value.as_object()?;
    if m.get("errorType")?.as_str()? != BPMN_ERROR_TYPE {
        return None;
    }
    let code = m
        .get("code")?
        .as_str()
        .filter(|c| !c.is_empty())?
        .to_string();
    let message = m
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let variables = m
        .get("variables")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    Some(BpmnError {
        code,
        message,
        variables,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trip_and_rejects_other_contexts() {
        let v = bpmn_error_value("SIDECAR_ERROR", "backend down", None);
        assert_eq!(
            v,
            json!({"errorType": "bpmnError", "code": "SIDECAR_ERROR", "message": "backend down"})
        );
        let e = bpmn_error(&v).expect("recognised");
        assert_eq!(e.code, "SIDECAR_ERROR");
        assert_eq!(e.message, "backend down");
        let with_vars = bpmn_error_value("X", "", json!({"a": 1}).as_object().cloned());
        assert_eq!(bpmn_error(&with_vars).map(|e| e.variables.len()), Some(1));
        assert_eq!(bpmn_error(&json!({"code": "X", "message": "m"})), None);
        assert_eq!(
            bpmn_error(&json!({"errorType": "bpmnError", "code": ""})),
            None
        );
        assert_eq!(
            bpmn_error(&json!({"errorType": "jobError", "code": "X"})),
            None
        );
        assert_eq!(bpmn_error(&json!("bpmnError")), None);
    }
}
