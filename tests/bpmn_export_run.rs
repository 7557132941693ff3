//! An exported workflow runs as the JSON one does: `wfop export --bpmn` and its binding file,
//! run with `wfop run`, give the same nodes, statuses, variables and logs.

mod run_support;

use run_support::*;
use serde_json::Value;

/// Each node's id, status and attempts, and the variables the run left.
fn shape(run: &Value) -> (Vec<(String, String, usize)>, Value) {
    let nodes = run["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|n| {
            (
                n["id"].as_str().unwrap_or_default().to_string(),
                n["status"].as_str().unwrap_or_default().to_string(),
                n["attempts"].as_array().map_or(0, Vec::len),
            )
        })
        .collect();
    (nodes, run["variables"].clone())
}

/// The lines of a node's log without their time stamps.
fn log_lines(run_dir: &std::path::Path, node: &str) -> Vec<String> {
    let text = std::fs::read_to_string(run_dir.join(format!("{node}.log"))).unwrap_or_default();
    text.lines()
        .map(|l| {
            l.split_once(" stdout ")
                .or_else(|| l.split_once(" stderr "))
                .map_or_else(|| l.to_string(), |(_, rest)| rest.to_string())
        })
        .collect()
}

/// The polling workflow (a loop through a timer, retries, an error path, a fork and a join),
/// exported next to its binding file and run, against the JSON run.
#[test]
fn the_exported_polling_workflow_gives_the_json_run() {
    let json = root().join("tests/workflows/polling.json");
    let json = json.to_str().expect("utf-8");
    let exported = Case::new();
    let services = exported.path().join("polling.services.json");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_wfop"))
        .args([
            "export",
            "--bpmn",
            json,
            "--services",
            services.to_str().expect("utf-8"),
        ])
        .output()
        .expect("wfop runs");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let bpmn = exported.write("polling.bpmn", &text(&out.stdout));
    let bpmn = bpmn.to_str().expect("utf-8");

    let original = Case::new();
    let runs = [(&original, json), (&exported, bpmn)].map(|(case, file)| {
        let input = case.write("input.json", r#"{ "job": { "qubits": 2 } }"#);
        let out = case.wfop(
            &[
                "run",
                file,
                "--input",
                input.to_str().expect("utf-8"),
                "--plain",
            ],
            &[],
        );
        assert_eq!(
            out.status.code(),
            Some(0),
            "{file}: {}\n{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        case.run_json()
    });
    assert_eq!(runs[1]["status"], "succeeded");
    assert_eq!(shape(&runs[1]), shape(&runs[0]));
    // The poll went through the timer and its status reached the end.
    assert_eq!(runs[1]["variables"]["status"], "COMPLETED", "{:#}", runs[1]);
    for node in ["submit", "poll", "report", "archive"] {
        assert_eq!(
            log_lines(&exported.run_dir(), node),
            log_lines(&original.run_dir(), node),
            "{node}"
        );
    }
}
