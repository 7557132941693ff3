//! `wfop run` with a service's result and error headers (issue 12), real services:
//! `result_variable` and `result_expression` making the variables the output mapping reads,
//! `error_expression` raising `bpmnError(…)` from a result or a failure (caught by an error
//! path, not retried; uncaught, retried as any coded failure), null changing nothing, and a
//! value that is neither failing the attempt with the reason; the same headers written in a
//! BPMN file (`tests/bpmn/headers.bpmn`) run the same way.

mod run_support;

use run_support::*;
use serde_json::{Value, json};

fn sh(id: &str, script: &str) -> Value {
    json!({ "id": id, "type": "service", "run": { "command": ["sh", "-c", script] } })
}

/// A service that writes `result` as its `output.json` and exits with `exit`.
fn returns(id: &str, result: &Value, exit: u8) -> Value {
    let text = result.to_string().replace('\'', r"'\''");
    sh(
        id,
        &format!(r#"echo '{text}' > "$OUTPUT_DIRECTORY/output.json"; exit {exit}"#),
    )
}

/// start → `backend` → `report` → end, with `fallback` → end for `backend`'s error path (when
/// it has one). `report` prints its input (`seen`), `fallback` its `why`.
fn flow(case: &Case, backend: Value, report_input: &str) -> std::path::PathBuf {
    let caught = !backend["errors"].is_null();
    let mut wf = json!({
        "name": "headers",
        "nodes": [
            { "id": "start", "type": "start" },
            backend,
            { "id": "report", "type": "service",
              "run": { "command": ["sh", "-c", r#"echo "seen $(tr -d ' \n' < "$INPUT_DIRECTORY/seen.json")""#] },
              "input_mapping": [ { "name": "seen", "value": report_input } ] },
            { "id": "fallback", "type": "service",
              "run": { "command": ["sh", "-c", r#"echo "fallback because $(cat "$INPUT_DIRECTORY/why.json")""#] } },
            { "id": "end", "type": "end" }
        ],
        "edges": [
            { "from": "start", "to": "backend" },
            { "from": "backend", "to": "report" },
            { "from": "report", "to": "end" },
            { "from": "fallback", "to": "end" }
        ]
    });
    if !caught {
        for (list, id) in [("nodes", "id"), ("edges", "from")] {
            if let Some(items) = wf[list].as_array_mut() {
                items.retain(|item| item[id] != "fallback");
            }
        }
    }
    case.write("wf.json", &wf.to_string())
}

fn errors_field() -> Value {
    json!([{ "code": "BACKEND_DOWN", "to": "fallback",
             "output_mapping": [ { "name": "why", "value": "code + \": \" + message + \" @\" + string(where)" } ] }])
}

/// The `--json` events of a run, and its exit code.
fn events(case: &Case, wf: &std::path::Path) -> (Option<i32>, Vec<Value>) {
    let out = case.wfop(&["run", wf.to_str().unwrap(), "--json"], &[]);
    let evs = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    (out.status.code(), evs)
}

fn of_kind<'a>(evs: &'a [Value], kind: &str) -> Vec<&'a Value> {
    evs.iter().filter(|e| e["event"] == kind).collect()
}

fn logs(evs: &[Value]) -> Vec<String> {
    of_kind(evs, "node_log")
        .iter()
        .map(|e| e["line"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// The variables `node` set, from its `outputs` event.
fn outputs(evs: &[Value], node: &str) -> Value {
    of_kind(evs, "outputs")
        .iter()
        .find(|e| e["node"] == node)
        .map(|e| e["variables"].clone())
        .unwrap_or(Value::Null)
}

#[test]
fn result_headers_set_the_whole_result_and_a_context_the_output_mapping_reads() {
    let case = Case::new();
    let result = json!({ "status": "UP", "items": ["a", "b", "c"], "noise": 1 });
    // Without an output mapping, the headers' variables are what the node sets.
    let mut backend = returns("backend", &result, 0);
    backend["result_variable"] = json!("raw");
    backend["result_expression"] =
        json!("{ \"n\": count(response.items), \"up\": response.status = \"UP\" }");
    let wf = flow(
        &case,
        backend.clone(),
        "{ raw: raw.noise, n: n, up: up, noise: noise }",
    );
    let (code, evs) = events(&case, &wf);
    assert_eq!(code, Some(0), "{evs:?}");
    assert_eq!(
        outputs(&evs, "backend"),
        json!({ "raw": result, "n": 3, "up": true })
    );
    // The result's own keys were not merged: `noise` is null downstream.
    assert_eq!(
        logs(&evs),
        [r#"seen {"raw":1,"n":3,"up":true,"noise":null}"#]
    );
    // With an output mapping, it reads the headers' variables (not the result's keys) and is
    // what the node sets.
    let case = Case::new();
    backend["output_mapping"] = json!([
        { "name": "count", "value": "n * 10" },
        { "name": "direct", "value": "items" }
    ]);
    let wf = flow(&case, backend, "{ count: count, direct: direct, n: n }");
    let (code, evs) = events(&case, &wf);
    assert_eq!(code, Some(0), "{evs:?}");
    assert_eq!(
        outputs(&evs, "backend"),
        json!({ "count": 30, "direct": null })
    );
    assert_eq!(logs(&evs), [r#"seen {"count":30,"direct":null,"n":null}"#]);
}

#[test]
fn without_headers_the_result_merges_as_before() {
    let case = Case::new();
    let result = json!({ "status": "UP", "items": ["a"] });
    let wf = flow(&case, returns("backend", &result, 0), "status");
    let (code, evs) = events(&case, &wf);
    assert_eq!(code, Some(0), "{evs:?}");
    assert_eq!(outputs(&evs, "backend"), result);
    assert_eq!(logs(&evs), [r#"seen "UP""#]);
}

#[test]
fn a_result_expression_that_gives_no_context_fails_the_node_with_the_reason() {
    let case = Case::new();
    let mut backend = returns("backend", &json!({ "items": [1, 2] }), 0);
    backend["result_expression"] = json!("response.items");
    let wf = flow(&case, backend, "1");
    let (code, evs) = events(&case, &wf);
    assert_eq!(code, Some(1), "{evs:?}");
    let finished = of_kind(&evs, "node_finished");
    assert_eq!(finished[0]["status"], "failed");
    assert_eq!(
        finished[0]["reason"],
        "result expression `response.items` gave a list, not a context"
    );
    assert!(logs(&evs).is_empty(), "{evs:?}");
}

/// An error expression that raises BACKEND_DOWN when the result says the backend is down, and
/// turns a QUOTA failure into BACKEND_DOWN too.
const RAISE: &str = "if response.status = \"DOWN\" then bpmnError(\"BACKEND_DOWN\", response.detail, { where: response.where }) \
     else if error.code = \"QUOTA\" then bpmnError(\"BACKEND_DOWN\", \"quota: \" + error.message, { where: \"quota\" }) else null";

#[test]
fn a_bpmn_error_from_a_successful_result_is_caught_by_its_error_path_and_not_retried() {
    let down = json!({ "status": "DOWN", "detail": "in maintenance", "where": "ibm_brisbane" });
    // First without the error expression: the same result goes on to `report`.
    let case = Case::new();
    let mut backend = returns("backend", &down, 0);
    backend["errors"] = errors_field();
    backend["retries"] = json!(3);
    let wf = flow(&case, backend.clone(), "status");
    let (code, evs) = events(&case, &wf);
    assert_eq!(code, Some(0), "{evs:?}");
    assert_eq!(logs(&evs), [r#"seen "DOWN""#]);
    assert!(of_kind(&evs, "error_caught").is_empty());
    // With it, the attempt raises BACKEND_DOWN: caught at once, its message and variables
    // read by the path's mapping, the result not set.
    let case = Case::new();
    backend["error_expression"] = json!(RAISE);
    let wf = flow(&case, backend, "status");
    let (code, evs) = events(&case, &wf);
    assert_eq!(code, Some(0), "{evs:?}");
    assert!(of_kind(&evs, "retry_scheduled").is_empty(), "{evs:?}");
    let caught = of_kind(&evs, "error_caught");
    assert_eq!(caught.len(), 1, "{evs:?}");
    assert_eq!(caught[0]["code"], "BACKEND_DOWN");
    assert_eq!(caught[0]["to"], "fallback");
    let finished = of_kind(&evs, "node_finished");
    assert_eq!(finished[0]["node"], "backend");
    assert_eq!(finished[0]["status"], "failed");
    assert_eq!(finished[0]["error_code"], "BACKEND_DOWN");
    assert_eq!(
        finished[0]["reason"],
        "BACKEND_DOWN caught → fallback: the error expression raised `BACKEND_DOWN`: in maintenance"
    );
    assert_eq!(
        logs(&evs),
        [r#"fallback because "BACKEND_DOWN: in maintenance @ibm_brisbane""#]
    );
    assert_eq!(
        outputs(&evs, "backend"),
        json!({ "why": "BACKEND_DOWN: in maintenance @ibm_brisbane" })
    );
    let run = case.run_json();
    assert_eq!(run["status"], "succeeded");
    assert_eq!(node(&run, "backend")["error_code"], "BACKEND_DOWN");
    assert_eq!(node(&run, "report")["reason"], "not taken");
}

#[test]
fn a_bpmn_error_from_a_failure_reads_its_code_and_message() {
    let quota = json!({ "code": "QUOTA", "title": "Quota exceeded", "detail": "10 jobs a day" });
    let case = Case::new();
    let mut backend = returns("backend", &quota, 2);
    backend["errors"] = errors_field();
    backend["error_expression"] = json!(RAISE);
    let wf = flow(&case, backend, "status");
    let (code, evs) = events(&case, &wf);
    assert_eq!(code, Some(0), "{evs:?}");
    assert_eq!(
        logs(&evs),
        [r#"fallback because "BACKEND_DOWN: quota: 10 jobs a day @quota""#]
    );
    assert_eq!(
        of_kind(&evs, "node_finished")[0]["error_code"],
        "BACKEND_DOWN"
    );
}

#[test]
fn a_null_error_expression_leaves_successes_and_failures_as_they_were() {
    let case = Case::new();
    let mut backend = returns("backend", &json!({ "status": "UP" }), 0);
    backend["errors"] = errors_field();
    backend["error_expression"] = json!(RAISE);
    let wf = flow(&case, backend, "status");
    let (code, evs) = events(&case, &wf);
    assert_eq!(code, Some(0), "{evs:?}");
    assert_eq!(logs(&evs), [r#"seen "UP""#]);
    // A failure with another code: still that failure, retried, never caught.
    let case = Case::new();
    let other = json!({ "code": "OTHER", "title": "Other" });
    let mut backend = returns("backend", &other, 2);
    backend["errors"] = errors_field();
    backend["retries"] = json!(2);
    backend["error_expression"] = json!(RAISE);
    let wf = flow(&case, backend, "status");
    let (code, evs) = events(&case, &wf);
    assert_eq!(code, Some(1), "{evs:?}");
    let finished = of_kind(&evs, "node_finished");
    assert_eq!(finished.len(), 2, "{evs:?}");
    for f in finished {
        assert_eq!(f["error_code"], "OTHER");
        assert_eq!(f["reason"], "Other");
    }
    assert_eq!(of_kind(&evs, "retry_scheduled").len(), 1);
}

#[test]
fn an_uncaught_bpmn_error_fails_the_node_after_its_retries_as_any_code_does() {
    let case = Case::new();
    let mut backend = returns("backend", &json!({ "status": "UP" }), 0);
    backend["retries"] = json!(2);
    backend["error_expression"] = json!("bpmnError(\"NOPE\", \"\")");
    let wf = flow(&case, backend, "status");
    let (code, evs) = events(&case, &wf);
    assert_eq!(code, Some(1), "{evs:?}");
    let finished = of_kind(&evs, "node_finished");
    assert_eq!(finished.len(), 2, "{evs:?}");
    for f in &finished {
        assert_eq!(f["status"], "failed");
        assert_eq!(f["error_code"], "NOPE");
        assert_eq!(f["reason"], "the error expression raised `NOPE`");
    }
    assert!(logs(&evs).is_empty(), "{evs:?}");
}

#[test]
fn an_error_expression_that_gives_something_else_fails_the_attempt_with_the_reason() {
    let case = Case::new();
    let mut backend = returns("backend", &json!({ "status": "UP" }), 0);
    backend["error_expression"] = json!("response.status");
    let wf = flow(&case, backend, "status");
    let (code, evs) = events(&case, &wf);
    assert_eq!(code, Some(1), "{evs:?}");
    let finished = of_kind(&evs, "node_finished");
    assert_eq!(finished[0]["status"], "failed");
    assert_eq!(
        finished[0]["reason"],
        "error expression `response.status` gave a string, neither bpmnError(…) nor null"
    );
    assert_eq!(finished[0]["error_code"], Value::Null);
    // After a failure, the failure's own reason comes first.
    let case = Case::new();
    let mut backend = returns("backend", &json!({ "title": "Broken" }), 3);
    backend["error_expression"] = json!("error.message");
    let wf = flow(&case, backend, "status");
    let (code, evs) = events(&case, &wf);
    assert_eq!(code, Some(1), "{evs:?}");
    assert_eq!(
        of_kind(&evs, "node_finished")[0]["reason"],
        "Broken; error expression `error.message` gave a string, neither bpmnError(…) nor null"
    );
}

/// `tests/bpmn/headers.bpmn` (the same headers as a modeler writes them, `zeebe:taskHeaders`)
/// run with `fetch` answering as `mode` says: UP, DOWN (a result the error expression turns
/// into BACKEND_DOWN) or QUOTA (a failure with a code it turns into BACKEND_DOWN).
fn run_bpmn(mode: &str) -> (Option<i32>, Vec<Value>) {
    let case = Case::new();
    let fetch = r#"case "$(cat "$INPUT_DIRECTORY/mode.json")" in
  '"UP"') echo '{"status": "UP", "items": ["a", "b"]}' > "$OUTPUT_DIRECTORY/output.json" ;;
  '"DOWN"') echo '{"status": "DOWN", "detail": "in maintenance", "where": "ibm"}' > "$OUTPUT_DIRECTORY/output.json" ;;
  *) echo '{"code": "QUOTA", "title": "Quota", "detail": "10 jobs a day"}' > "$OUTPUT_DIRECTORY/output.json"; exit 2 ;;
esac"#;
    let bindings = json!({
        "io.example:fetch:1": { "command": ["sh", "-c", fetch] },
        "io.example:report:1": { "command": ["sh", "-c", r#"echo "seen $(tr -d ' \n' < "$INPUT_DIRECTORY/seen.json")""#] },
        "io.example:fallback:1": { "command": ["sh", "-c", r#"echo "fallback because $(cat "$INPUT_DIRECTORY/why.json")""#] }
    });
    let bindings = case.write("b.services.json", &bindings.to_string());
    let input = case.write("in.json", &json!({ "mode": mode }).to_string());
    let bpmn = root().join("tests/bpmn/headers.bpmn");
    let out = case.wfop(
        &[
            "run",
            bpmn.to_str().unwrap(),
            "--services",
            bindings.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
            "--json",
        ],
        &[],
    );
    let evs = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    (out.status.code(), evs)
}

#[test]
fn a_bpmn_tasks_headers_run_as_zeebe_runs_them() {
    let (code, evs) = run_bpmn("UP");
    assert_eq!(code, Some(0), "{evs:?}");
    assert_eq!(
        outputs(&evs, "fetch"),
        json!({ "fetchResult": { "status": "UP", "items": ["a", "b"] }, "status": "UP", "rows": 2 })
    );
    assert_eq!(
        logs(&evs),
        [r#"seen {"status":"UP","rows":2,"items":["a","b"]}"#]
    );
    // A result the error expression reads as an error: the boundary event's path, its mapping
    // reading `error`.
    let (code, evs) = run_bpmn("DOWN");
    assert_eq!(code, Some(0), "{evs:?}");
    assert_eq!(of_kind(&evs, "error_caught")[0]["code"], "BACKEND_DOWN");
    assert_eq!(
        logs(&evs),
        [r#"fallback because "BACKEND_DOWN: in maintenance""#]
    );
    // A failure with a code, turned into the code the boundary catches.
    let (code, evs) = run_bpmn("QUOTA");
    assert_eq!(code, Some(0), "{evs:?}");
    assert_eq!(
        logs(&evs),
        // The input file is written as the platform writes it: non-ASCII as `\uXXXX`.
        [r#"fallback because "BACKEND_DOWN: QUOTA \u2013 10 jobs a day""#]
    );
}

#[test]
fn a_secret_in_the_result_never_reaches_a_raised_errors_message_or_the_record() {
    const TOKEN: &str = "hdr-Zq3Xv8Lm2Np7Rt4Wy9Kb6Hd1Jf5Gc0Sa";
    let case = Case::new();
    // The service echoes its token back in its result: redacted before the error expression
    // reads it.
    let mut backend = sh(
        "backend",
        r#"printf '{"status": "DOWN", "tok": "%s"}' "$SECRET_TOK" > "$OUTPUT_DIRECTORY/output.json""#,
    );
    backend["secrets"] = json!(["tok"]);
    backend["input_mapping"] =
        json!([{ "name": "$secrets", "value": "{ \"tok\": secret_value(\"api_token\") }" }]);
    backend["error_expression"] = json!(
        "if response.status = \"DOWN\" then bpmnError(\"BACKEND_DOWN\", \"token \" + response.tok, { where: response.tok }) else null"
    );
    backend["errors"] = errors_field();
    let wf = flow(&case, backend, "status");
    let out = case.wfop(
        &[
            "run",
            wf.to_str().unwrap(),
            "--json",
            "--secret",
            "api_token=env:WFOP_TEST_TOKEN",
        ],
        &[("WFOP_TEST_TOKEN", TOKEN)],
    );
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    // The error was raised and caught: the message and the variable hold the mask.
    assert!(
        stdout.contains("the error expression raised `BACKEND_DOWN`: token ***"),
        "{stdout}"
    );
    assert!(
        stdout.contains(r#"fallback because \"BACKEND_DOWN: token *** @***\""#),
        "{stdout}"
    );
    assert_absent(&out.stdout, TOKEN, "the events");
    assert_absent(&out.stderr, TOKEN, "stderr");
    let files = case.record_files();
    assert!(files.len() > 1, "the record has {} files", files.len());
    for (path, bytes) in files {
        assert_absent(&bytes, TOKEN, &path.display().to_string());
    }
}
