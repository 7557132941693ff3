//! `wfop run` through control flow with real services: an exclusive gateway and the branch it
//! did not take, a loop that ends and one whose guard trips, a retry that succeeds and its
//! attempts' logs, a join after a failed branch (with and without `--keep-going`), error paths
//! (command and Python services), a timer and a stop signal during it.

mod run_support;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use run_support::*;
use serde_json::{Value, json};

fn sh(id: &str, script: &str) -> Value {
    json!({ "id": id, "type": "service", "run": { "command": ["sh", "-c", script] } })
}

/// A workflow file from its nodes and edges as written (no start/end added).
fn workflow(case: &Case, nodes: Value, edges: Value) -> std::path::PathBuf {
    let wf = json!({ "name": "control-flow", "nodes": nodes, "edges": edges });
    case.write("wf.json", &wf.to_string())
}

fn run(case: &Case, wf: &std::path::Path, extra: &[&str]) -> (Option<i32>, String) {
    let mut args = vec!["run", wf.to_str().unwrap()];
    args.extend_from_slice(extra);
    let out = case.wfop(&args, &[]);
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    (out.status.code(), all)
}

/// The `--json` events of a run.
fn events(case: &Case, wf: &std::path::Path, extra: &[&str]) -> (Option<i32>, Vec<Value>) {
    let mut args = vec!["run", wf.to_str().unwrap(), "--json"];
    args.extend_from_slice(extra);
    let out = case.wfop(&args, &[]);
    let evs = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    (out.status.code(), evs)
}

fn of_kind<'a>(evs: &'a [Value], kind: &str) -> Vec<&'a Value> {
    evs.iter().filter(|e| e["event"] == kind).collect()
}

fn edge(from: &str, to: &str) -> Value {
    json!({ "from": from, "to": to })
}

fn cond(from: &str, to: &str, condition: &str) -> Value {
    json!({ "from": from, "to": to, "condition": condition })
}

fn default(from: &str, to: &str) -> Value {
    json!({ "from": from, "to": to, "default": true })
}

#[test]
fn an_exclusive_gateway_takes_the_first_true_condition_and_skips_the_rest_as_not_taken() {
    let case = Case::new();
    let wf = workflow(
        &case,
        json!([
            { "id": "start", "type": "start",
              "output_mapping": [ { "name": "status", "value": "\"FAILED\"" } ] },
            { "id": "check", "type": "exclusive" },
            sh("done", "echo done"),
            sh("broken", "echo broken"),
            sh("other", "echo other"),
            { "id": "end", "type": "end" }
        ]),
        json!([
            edge("start", "check"),
            cond("check", "done", "status = \"COMPLETED\""),
            cond("check", "broken", "status in [\"FAILED\", \"ERROR\"]"),
            default("check", "other"),
            edge("done", "end"),
            edge("broken", "end"),
            edge("other", "end")
        ]),
    );
    let (code, evs) = events(&case, &wf, &[]);
    assert_eq!(code, Some(0), "{evs:?}");
    let d = of_kind(&evs, "gateway_decision");
    assert_eq!(d.len(), 1, "{evs:?}");
    assert_eq!(d[0]["node"], "check");
    assert_eq!(d[0]["taken"], 2, "{}", d[0]);
    let values: Vec<&Value> = d[0]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["value"])
        .collect();
    // The default is not evaluated, nor anything after the taken edge.
    assert_eq!(values, [&json!(false), &json!(true), &Value::Null]);
    let taken: Vec<(String, String)> = of_kind(&evs, "edge_taken")
        .iter()
        .map(|e| {
            (
                e["from"].as_str().unwrap().into(),
                e["to"].as_str().unwrap().into(),
            )
        })
        .collect();
    let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    };
    assert_eq!(
        taken,
        pairs(&[("start", "check"), ("check", "broken"), ("broken", "end")])
    );
    let skipped: Vec<(String, String)> = of_kind(&evs, "node_skipped")
        .iter()
        .map(|e| {
            (
                e["node"].as_str().unwrap().into(),
                e["reason"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        skipped,
        pairs(&[("done", "not taken"), ("other", "not taken")])
    );
    // The start node's output mapping set the variable the condition read.
    let outputs = of_kind(&evs, "outputs");
    assert_eq!(outputs[0]["node"], "start");
    assert_eq!(outputs[0]["variables"]["status"], "FAILED");
    let run = case.run_json();
    assert_eq!(run["status"], "succeeded");
    assert_eq!(node(&run, "broken")["status"], "succeeded");
    assert_eq!(node(&run, "done")["status"], "skipped");
    assert_eq!(node(&run, "done")["reason"], "not taken");
}

#[test]
fn a_gateway_with_no_true_condition_and_no_default_fails_the_run_with_the_reason() {
    let case = Case::new();
    let wf = workflow(
        &case,
        json!([
            { "id": "start", "type": "start" },
            { "id": "check", "type": "exclusive" },
            sh("a", "true"), sh("b", "true"),
            { "id": "end", "type": "end" }
        ]),
        json!([
            edge("start", "check"),
            cond("check", "a", "1 > 2"),
            cond("check", "b", "false"),
            edge("a", "end"),
            edge("b", "end")
        ]),
    );
    let (code, all) = run(&case, &wf, &["--plain"]);
    assert_eq!(code, Some(1), "{all}");
    assert!(
        all.contains("wfop: check failed: no condition is true and there is no default edge"),
        "{all}"
    );
    assert!(
        all.contains("wfop: a skipped: the run stopped after `check` failed"),
        "{all}"
    );
    let run = case.run_json();
    assert_eq!(run["status"], "failed");
    assert!(
        run["error"]
            .as_str()
            .unwrap_or_default()
            .contains("gateway `check`"),
        "{run}"
    );
}

/// `start → loop (merge) → step → more?` back to `loop` while `n < limit`, else to the end.
/// `step` adds one to `n`.
fn counting_loop(case: &Case, limit: u32, max_iterations: u32) -> std::path::PathBuf {
    workflow(
        case,
        json!([
            { "id": "start", "type": "start",
              "output_mapping": [ { "name": "n", "value": "0" } ] },
            { "id": "loop", "type": "exclusive" },
            { "id": "step", "type": "service", "max_iterations": max_iterations,
              "run": { "command": ["sh", "-c",
                r#"n=$(cat "$INPUT_DIRECTORY/n.json"); echo "step sees $n"; echo "iteration $WFOP_ITERATION"; echo "{\"n\": $((n + 1))}" > "$OUTPUT_DIRECTORY/output.json""#] } },
            { "id": "more", "type": "exclusive" },
            { "id": "end", "type": "end" }
        ]),
        json!([
            edge("start", "loop"),
            edge("loop", "step"),
            edge("step", "more"),
            cond("more", "loop", &format!("n < {limit}")),
            default("more", "end")
        ]),
    )
}

#[test]
fn a_loop_runs_until_its_gateway_leaves_it_each_iteration_an_attempt() {
    let case = Case::new();
    let wf = counting_loop(&case, 3, 10);
    let (code, evs) = events(&case, &wf, &[]);
    assert_eq!(code, Some(0), "{evs:?}");
    let started: Vec<(u64, u64)> = of_kind(&evs, "node_started")
        .iter()
        .map(|e| {
            (
                e["attempt"].as_u64().unwrap(),
                e["iteration"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(started, [(1, 1), (2, 2), (3, 3)]);
    let run = case.run_json();
    let step = node(&run, "step");
    assert_eq!(step["iterations"], 3);
    assert_eq!(step["attempts"].as_array().unwrap().len(), 3, "{step}");
    assert_eq!(run["variables"]["n"], 3);
    // Each iteration's output is its own section of the log.
    for (attempt, n) in [("1", "0"), ("2", "1"), ("3", "2")] {
        let out = case.wfop(&["logs", "last", "step", "--attempt", attempt], &[]);
        let log = text(&out.stdout);
        assert!(log.contains(&format!("step sees {n}")), "{attempt}: {log}");
        assert_eq!(log.matches("step sees").count(), 1, "{attempt}: {log}");
        assert!(
            log.contains(&format!("iteration {attempt}")),
            "{attempt}: {log}"
        );
    }
    let out = case.wfop(&["logs", "last", "step", "--attempt", "4"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("node `step` has no attempt 4; it made 3"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_loop_guard_trips_when_a_condition_never_ends_the_loop() {
    let case = Case::new();
    // `n < 1000000`: the condition would go on; `step` may run 4 times.
    let wf = counting_loop(&case, 1_000_000, 4);
    let (code, all) = run(&case, &wf, &["--plain"]);
    assert_eq!(code, Some(1), "{all}");
    assert_eq!(all.matches("[step] step sees").count(), 4, "{all}");
    assert!(
        all.contains("more than its max_iterations (4): a loop did not end"),
        "{all}"
    );
    let run = case.run_json();
    assert_eq!(run["status"], "failed");
    let step = node(&run, "step");
    assert_eq!(step["status"], "failed");
    assert_eq!(step["iterations"], 4, "{step}");
}

#[test]
fn a_retry_succeeds_after_a_failed_attempt_and_both_attempts_are_kept() {
    let case = Case::new();
    let count = case.path().join("count");
    let wf = workflow(
        &case,
        json!([
            { "id": "start", "type": "start" },
            { "id": "flaky", "type": "service",
              "retries": { "attempts": 3, "backoff": "PT0.2S" },
              "run": { "command": ["sh", "-c", format!(
                r#"echo x >> {c}; n=$(wc -l < {c}); echo "try $n"; echo "env $WFOP_ATTEMPT $WFOP_ITERATION $WFOP_TRY"; [ "$n" -ge 2 ]"#,
                c = count.display())] } },
            sh("after", "echo after"),
            { "id": "end", "type": "end" }
        ]),
        json!([
            edge("start", "flaky"),
            edge("flaky", "after"),
            edge("after", "end")
        ]),
    );
    let (code, evs) = events(&case, &wf, &[]);
    assert_eq!(code, Some(0), "{evs:?}");
    let retry = of_kind(&evs, "retry_scheduled");
    assert_eq!(retry.len(), 1, "{evs:?}");
    assert_eq!(retry[0]["delay_ms"], 200);
    assert_eq!(
        retry[0]["next"],
        json!({"attempt": 2, "iteration": 1, "try": 2, "tries": 3})
    );
    let finished: Vec<(&str, &str)> = of_kind(&evs, "node_finished")
        .iter()
        .map(|e| (e["node"].as_str().unwrap(), e["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        finished,
        [
            ("flaky", "failed"),
            ("flaky", "succeeded"),
            ("after", "succeeded")
        ]
    );
    let run = case.run_json();
    let flaky = node(&run, "flaky");
    assert_eq!(flaky["status"], "succeeded");
    let attempts = flaky["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2, "{flaky}");
    assert_eq!(attempts[0]["status"], "failed");
    assert_eq!(attempts[0]["reason"], "exited with code 1");
    assert_eq!(attempts[1]["status"], "succeeded");
    assert_eq!(attempts[1]["try"], 2);
    let one = text(
        &case
            .wfop(&["logs", "last", "flaky", "--attempt", "1"], &[])
            .stdout,
    );
    let two = text(
        &case
            .wfop(&["logs", "last", "flaky", "--attempt", "2"], &[])
            .stdout,
    );
    assert!(
        one.contains("stdout try 1") && !one.contains("try 2"),
        "{one}"
    );
    assert!(
        two.contains("stdout try 2") && !two.contains("try 1"),
        "{two}"
    );
    assert!(two.contains("wfop attempt 2"), "{two}");
    // Each attempt knows which it is.
    assert!(one.contains("stdout env 1 1 1"), "{one}");
    assert!(two.contains("stdout env 2 1 2"), "{two}");
    let all = text(&case.wfop(&["logs", "last", "flaky"], &[]).stdout);
    assert!(all.contains("try 1") && all.contains("try 2"), "{all}");
}

const FORK_JOIN_EDGES: [(&str, &str); 6] = [
    ("start", "fork"),
    ("fork", "bad"),
    ("fork", "good"),
    ("bad", "join"),
    ("good", "join"),
    ("join", "after"),
];

fn fork_join(case: &Case, good: &str) -> std::path::PathBuf {
    let mut edges: Vec<Value> = FORK_JOIN_EDGES.iter().map(|(a, b)| edge(a, b)).collect();
    edges.push(edge("after", "end"));
    workflow(
        case,
        json!([
            { "id": "start", "type": "start" },
            { "id": "fork", "type": "parallel" },
            sh("bad", "sleep 0.2; exit 4"),
            sh("good", good),
            { "id": "join", "type": "parallel" },
            sh("after", "echo after"),
            { "id": "end", "type": "end" }
        ]),
        Value::Array(edges),
    )
}

#[test]
fn a_join_after_a_failed_branch_stops_the_run_without_keep_going() {
    let case = Case::new();
    let wf = fork_join(&case, "sleep 30");
    let t0 = Instant::now();
    let (code, all) = run(&case, &wf, &["--plain"]);
    assert_eq!(code, Some(1), "{all}");
    assert!(t0.elapsed() < Duration::from_secs(25), "{all}");
    assert!(all.contains("wfop: good cancelled"), "{all}");
    assert!(
        all.contains("wfop: after skipped: the run stopped after `bad` failed"),
        "{all}"
    );
    let run = case.run_json();
    assert_eq!(node(&run, "good")["status"], "cancelled");
}

#[test]
fn a_join_after_a_failed_branch_with_keep_going_runs_the_other_branch_and_never_joins() {
    let case = Case::new();
    let wf = fork_join(&case, "sleep 0.5; echo good done");
    let (code, all) = run(&case, &wf, &["--plain", "--keep-going"]);
    assert_eq!(code, Some(1), "{all}");
    assert!(all.contains("[good] good done"), "{all}");
    assert!(all.contains("wfop: good succeeded"), "{all}");
    assert!(
        all.contains("wfop: after skipped: needs `bad`, which did not succeed"),
        "{all}"
    );
    let run = case.run_json();
    assert_eq!(run["status"], "failed");
    assert_eq!(node(&run, "good")["status"], "succeeded");
    assert_eq!(node(&run, "after")["status"], "skipped");
}

fn error_path_workflow(case: &Case, failing: Value) -> std::path::PathBuf {
    workflow(
        case,
        json!([
            { "id": "start", "type": "start" },
            failing,
            sh("report", "echo report"),
            { "id": "fallback", "type": "service",
              "run": { "command": ["sh", "-c", r#"echo "fallback because $(cat "$INPUT_DIRECTORY/why.json")""#] } },
            { "id": "end", "type": "end" }
        ]),
        json!([
            edge("start", "backend"),
            edge("backend", "report"),
            edge("report", "end"),
            edge("fallback", "end")
        ]),
    )
}

fn errors_field() -> Value {
    json!([{ "code": "BACKEND_DOWN", "to": "fallback",
             "output_mapping": [ { "name": "why", "value": "code + \": \" + message" } ] }])
}

#[test]
fn an_error_path_catches_a_command_service_problem_code_and_goes_on() {
    let case = Case::new();
    let mut backend = sh(
        "backend",
        r#"echo '{"type": "https://errors.example/BACKEND_DOWN", "title": "Backend down", "detail": "ibm_brisbane is in maintenance"}' > "$OUTPUT_DIRECTORY/output.json"; exit 2"#,
    );
    backend["errors"] = errors_field();
    backend["retries"] = json!(3);
    let wf = error_path_workflow(&case, backend);
    let (code, evs) = events(&case, &wf, &[]);
    assert_eq!(code, Some(0), "{evs:?}");
    // A raised code is not retried: it goes along its path at once.
    assert!(of_kind(&evs, "retry_scheduled").is_empty(), "{evs:?}");
    let caught = of_kind(&evs, "error_caught");
    assert_eq!(caught.len(), 1, "{evs:?}");
    assert_eq!(caught[0]["code"], "BACKEND_DOWN");
    assert_eq!(caught[0]["to"], "fallback");
    let finished = of_kind(&evs, "node_finished");
    assert_eq!(finished[0]["node"], "backend");
    assert_eq!(finished[0]["status"], "failed");
    assert_eq!(finished[0]["error_code"], "BACKEND_DOWN");
    let logs: Vec<&str> = of_kind(&evs, "node_log")
        .iter()
        .map(|e| e["line"].as_str().unwrap())
        .collect();
    assert_eq!(
        logs,
        ["fallback because \"BACKEND_DOWN: ibm_brisbane is in maintenance\""]
    );
    let run = case.run_json();
    assert_eq!(run["status"], "succeeded");
    assert_eq!(node(&run, "report")["reason"], "not taken");
    assert_eq!(
        node(&run, "backend")["attempts"][0]["error_code"],
        "BACKEND_DOWN"
    );
    assert_eq!(node(&run, "backend")["error_code"], "BACKEND_DOWN");
    // The reason says it was caught and where the run went on.
    let reason = "BACKEND_DOWN caught → fallback: Backend down: ibm_brisbane is in maintenance";
    assert_eq!(node(&run, "backend")["reason"], reason);
    assert_eq!(finished[0]["reason"], reason);
    let summary = of_kind(&evs, "run_finished")[0]["nodes"][0].clone();
    assert_eq!(summary["node"], "backend");
    assert_eq!(summary["reason"], reason);
}

#[test]
fn an_uncaught_code_fails_the_run_as_before() {
    let case = Case::new();
    let mut backend = sh(
        "backend",
        r#"echo '{"code": "QUOTA", "title": "Quota exceeded"}' > "$OUTPUT_DIRECTORY/output.json"; exit 2"#,
    );
    backend["errors"] = errors_field();
    let wf = error_path_workflow(&case, backend);
    let (code, all) = run(&case, &wf, &["--plain"]);
    assert_eq!(code, Some(1), "{all}");
    assert!(all.contains("(error QUOTA): Quota exceeded"), "{all}");
    assert!(!all.contains("fallback because"), "{all}");
}

#[test]
fn a_catch_all_error_path_catches_any_code_after_the_paths_that_name_theirs() {
    // QUOTA is caught by the catch-all (`*`, BPMN's error boundary without an errorRef);
    // BACKEND_DOWN still by the path that names it, though the catch-all comes first.
    for (raised, to) in [("QUOTA", "fallback"), ("BACKEND_DOWN", "report")] {
        let case = Case::new();
        let mut backend = sh(
            "backend",
            &format!(
                r#"echo '{{"code": "{raised}", "title": "no"}}' > "$OUTPUT_DIRECTORY/output.json"; exit 2"#
            ),
        );
        backend["errors"] = json!([
            { "code": "*", "to": "fallback",
              "output_mapping": [ { "name": "why", "value": "code" } ] },
            { "code": "BACKEND_DOWN", "to": "report" }
        ]);
        let wf = error_path_workflow(&case, backend);
        let (code, evs) = events(&case, &wf, &[]);
        assert_eq!(code, Some(0), "{raised}: {evs:?}");
        let caught = of_kind(&evs, "error_caught");
        assert_eq!(caught.len(), 1, "{evs:?}");
        assert_eq!(caught[0]["code"], raised);
        assert_eq!(caught[0]["to"], to);
        if to == "fallback" {
            let logs: Vec<&str> = of_kind(&evs, "node_log")
                .iter()
                .map(|e| e["line"].as_str().unwrap())
                .collect();
            assert_eq!(logs, ["fallback because \"QUOTA\""]);
        }
    }
}

#[test]
fn a_python_exception_with_a_code_raises_it() {
    let case = Case::new();
    case.write(
        "backend.py",
        "class BackendDown(Exception):\n    code = \"BACKEND_DOWN\"\n\n\
         def run():\n    raise BackendDown(\"no qubits today\")\n",
    );
    let backend = json!({ "id": "backend", "type": "service",
        "run": { "python": "backend.py", "function": "run" },
        "errors": errors_field() });
    let wf = error_path_workflow(&case, backend);
    let (code, all) = run(&case, &wf, &["--plain"]);
    assert_eq!(code, Some(0), "{all}");
    assert!(
        all.contains("[fallback] fallback because \"BACKEND_DOWN: no qubits today\""),
        "{all}"
    );
    assert!(
        all.contains("wfop: backend raised BACKEND_DOWN: continuing at `fallback`"),
        "{all}"
    );
}

/// start → a timer of `duration` → `after` → end.
fn timer_flow(case: &Case, duration: &str) -> std::path::PathBuf {
    workflow(
        case,
        json!([
            { "id": "start", "type": "start" },
            { "id": "wait", "type": "timer", "duration": duration },
            sh("after", "echo after"),
            { "id": "end", "type": "end" }
        ]),
        json!([
            edge("start", "wait"),
            edge("wait", "after"),
            edge("after", "end")
        ]),
    )
}

#[test]
fn a_timer_waits_and_a_stop_signal_during_it_ends_the_run_at_once() {
    // A short timer passes its token on.
    let case = Case::new();
    let short = timer_flow(&case, "PT0.3S");
    let t0 = Instant::now();
    let (code, evs) = events(&case, &short, &[]);
    assert_eq!(code, Some(0), "{evs:?}");
    assert!(t0.elapsed() >= Duration::from_millis(300));
    let timer = of_kind(&evs, "timer_started");
    assert_eq!(timer.len(), 1, "{evs:?}");
    assert_eq!(timer[0]["duration_ms"], 300);
    assert!(timer[0]["deadline"].as_str().unwrap().ends_with('Z'));

    // A long one is ended by SIGTERM to wfop: the run is interrupted, not waited out.
    let case = Case::new();
    let long = timer_flow(&case, "PT1H");
    let mut child = case
        .command(&["run", long.to_str().unwrap(), "--json"], &[])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        seen.push(line.clone());
        if line.contains("\"timer_started\"") {
            break;
        }
    }
    assert!(
        seen.last().is_some_and(|l| l.contains("timer_started")),
        "{seen:?}"
    );
    let t0 = Instant::now();
    // SAFETY: plain kill of our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    seen.extend(lines.map(|l| l.unwrap()));
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(143), "{seen:?}");
    assert!(t0.elapsed() < Duration::from_secs(30), "{seen:?}");
    let run = case.run_json();
    assert_eq!(run["status"], "interrupted");
    assert_eq!(node(&run, "wait")["status"], "cancelled");
    assert_eq!(node(&run, "after")["status"], "skipped");
    assert_eq!(node(&run, "after")["reason"], "the run was interrupted");
}
