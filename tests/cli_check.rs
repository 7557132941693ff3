//! `wfop check` and `wfop graph` as a user runs them: exit codes, messages with file:line:col,
//! the bundled workflows, and hostile input (empty, binary, deep, huge) that must not crash.

mod cli_support;

use cli_support::{scratch, text, wfop};
use std::path::Path;

#[test]
fn bundled_workflows_check_clean() {
    let out = wfop(&[
        "check",
        "workflows/quantum-secrets.json",
        "workflows/portfolio-risk.json",
    ]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("ok: workflows/quantum-secrets.json (3 nodes, 2 edges)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("ok: workflows/portfolio-risk.json"),
        "{stdout}"
    );
    assert_eq!(
        text(&out.stderr),
        "",
        "no warnings expected on the bundled workflows"
    );
}

/// Every workflow shipped in `workflows/` but `broken.json` checks clean (the BPMN one with its
/// binding file beside it).
#[test]
fn every_bundled_workflow_but_the_broken_one_checks_clean() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("workflows");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json") || n.ends_with(".bpmn"))
        .filter(|n| !n.ends_with(".input.json") && !n.ends_with(".services.json"))
        .filter(|n| n != "broken.json")
        .map(|n| format!("workflows/{n}"))
        .collect();
    files.sort();
    assert!(files.len() >= 5, "{files:?}");
    let mut args = vec!["check"];
    args.extend(files.iter().map(String::as_str));
    let out = wfop(&args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    for f in &files {
        assert!(
            text(&out.stdout).contains(&format!("ok: {f} (")),
            "{f}: {}",
            text(&out.stdout)
        );
    }
    assert_eq!(text(&out.stderr), "");
}

/// `workflows/broken.json`, the README's example, has exactly its three deliberate mistakes,
/// each with its position, and the README shows what `wfop check` prints for it, byte for byte.
#[test]
fn the_shipped_broken_workflow_shows_exactly_its_three_mistakes() {
    let out = wfop(&["check", "workflows/broken.json"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    let findings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("error:") || l.starts_with("warning:") || l.contains("┌─"))
        .map(str::trim)
        .collect();
    assert_eq!(
        findings,
        [
            "error: unknown field `lable` in a node, did you mean `label`?",
            "┌─ workflows/broken.json:15:7",
            "error: this `secret_value` names a secret the workflow does not declare in its `secrets`, did you mean `ibm_api_token`?",
            "┌─ workflows/broken.json:21:71",
            "error: in the expression for `backend`: expected an expression after `+`, found end of input",
            "┌─ workflows/broken.json:25:49",
        ],
        "{stderr}"
    );
    assert!(
        stderr.ends_with("wfop: workflows/broken.json: 3 errors\n"),
        "{stderr}"
    );
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let shown = format!("$ wfop check workflows/broken.json\n{stderr}```");
    assert!(readme.contains(&shown), "the README shows:\n{stderr}");
}

#[test]
fn broken_file_exits_2_with_positions_for_every_error() {
    let dir = scratch("broken");
    let original = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("workflows/quantum-secrets.json"),
    )
    .unwrap();
    let broken = original
        .replacen("\"label\"", "\"lable\"", 1)
        .replacen("\"to\": \"end\"", "\"to\": \"ende\"", 1)
        .replacen(
            "secret_value(\\\"ibm_api_token\\\")",
            "secret_value(\\\"ibm_api_tokn\\\")",
            1,
        );
    let path = dir.join("broken.json");
    std::fs::write(&path, &broken).unwrap();
    std::fs::create_dir_all(dir.join("services")).unwrap();
    std::fs::write(dir.join("services/quantum_service.py"), "def run(): pass\n").unwrap();
    let out = wfop(&["check", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    let line_of = |needle: &str| broken.lines().position(|l| l.contains(needle)).unwrap() + 1;
    let col_of = |needle: &str| {
        broken
            .lines()
            .find(|l| l.contains(needle))
            .unwrap()
            .find(needle)
            .unwrap()
            + 1
    };
    for (message, needle) in [
        (
            "unknown field `lable` in a node, did you mean `label`?",
            "\"lable\"",
        ),
        (
            "edge refers to unknown node `ende`, did you mean `end`?",
            "\"ende\"",
        ),
        (
            "this `secret_value` names a secret the workflow does not declare in its `secrets`, did you mean `ibm_api_token`?",
            "\\\"ibm_api_tokn",
        ),
    ] {
        assert!(
            stderr.contains(message),
            "missing {message:?} in:\n{stderr}"
        );
        let at = format!("broken.json:{}:{}", line_of(needle), col_of(needle));
        assert!(
            stderr.contains(&at),
            "missing position {at} for {message:?} in:\n{stderr}"
        );
    }
    // The dangling edge also leaves `orchestrated` without a path to the end, and `end` unreachable.
    assert!(
        stderr.contains("node `orchestrated` reaches no end node"),
        "{stderr}"
    );
    assert!(stderr.contains("broken.json: 5 errors"), "{stderr}");
    // The source line is shown with a marker under it.
    assert!(stderr.contains("^^^^^^^ unknown field"), "{stderr}");
}

#[test]
fn warnings_do_not_fail_the_check() {
    let dir = scratch("warning");
    let original = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("workflows/quantum-secrets.json"),
    )
    .unwrap();
    let warned = original.replacen(
        "\"value\": \"circuit_data\"",
        "\"value\": \"circuit_dat\"",
        1,
    );
    let path = dir.join("quantum-secrets.json");
    std::fs::write(&path, warned).unwrap();
    std::fs::create_dir_all(dir.join("services")).unwrap();
    std::fs::write(dir.join("services/quantum_service.py"), "def run(): pass\n").unwrap();
    let out = wfop(&["check", path.to_str().unwrap()]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("warning: `circuit_dat` is not provided by any workflow input or upstream node, did you mean `circuit_data`?"), "{stderr}");
    assert!(text(&out.stdout).contains("1 warning"));
}

#[test]
fn hostile_input_never_crashes() {
    let dir = scratch("hostile");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty.json", Vec::new(), "empty file"),
        ("binary.json", vec![0x7b, 0xff, 0xfe, 0x00, 0x01], "not UTF-8"),
        ("deep.json", "[".repeat(200_000).into_bytes(), "nested too deeply"),
        ("array.json", b"[1, 2, 3]".to_vec(), "the workflow must be an object, found an array"),
        ("trailing.json", b"{} {}".to_vec(), "expected the end of the file"),
        ("deep-expr.json", format!("{{\"name\":\"x\",\"nodes\":[{{\"id\":\"s\",\"type\":\"service\",\"run\":{{\"command\":[\"true\"]}},\"input_mapping\":[{{\"name\":\"a\",\"value\":\"{}\"}}]}}],\"edges\":[]}}", "(".repeat(60_000)).into_bytes(), "nested too deeply"),
    ];
    for (name, content, expected) in cases {
        let path = dir.join(name);
        std::fs::write(&path, content).unwrap();
        let out = wfop(&["check", path.to_str().unwrap()]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {stderr}");
        assert!(
            stderr.contains(expected),
            "{name}: expected {expected:?} in:\n{stderr}"
        );
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
    }
    let out = wfop(&["check", dir.join("missing.json").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("missing.json: cannot read the file"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn graph_prints_the_platform_example_on_one_line() {
    let out = wfop(&["graph", "workflows/quantum-secrets.json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "○ → [Orchestrated Service] → ●\n");
    let out = wfop(&["graph", "--ascii", "workflows/quantum-secrets.json"]);
    assert_eq!(out.status.code(), Some(0));
    let ascii = text(&out.stdout);
    assert!(
        ascii.is_ascii() && ascii.contains("[Orchestrated Service]"),
        "{ascii}"
    );
}

#[test]
fn graph_draws_forks_and_joins() {
    let out = wfop(&["graph", "workflows/portfolio-risk.json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let g = text(&out.stdout);
    for label in [
        "[Fetch market data]",
        "[Historical VaR]",
        "[Quantum tail sampling]",
        "[Risk report]",
    ] {
        assert!(g.contains(label), "{label} missing in\n{g}");
    }
    assert!(g.lines().count() >= 3, "a fork needs several rows:\n{g}");
    assert!(
        g.contains('┤') || g.contains('┬') || g.contains('┐'),
        "no fork drawn:\n{g}"
    );
}

#[test]
fn graph_refuses_a_broken_workflow() {
    let dir = scratch("graph-broken");
    let path = dir.join("w.json");
    std::fs::write(&path, "{ \"name\": \"x\", \"nodes\": [], \"edges\": [] }").unwrap();
    let out = wfop(&["graph", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("`nodes` is empty"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn run_input_syntax_errors_point_into_the_input_file() {
    let dir = scratch("bad-input");
    let input = dir.join("input.json");
    std::fs::write(&input, "{\n  \"circuit_data\": { \"qubits\": 5,, }\n}\n").unwrap();
    let out = wfop(&[
        "run",
        "--plain",
        "workflows/quantum-secrets.json",
        "--input",
        input.to_str().unwrap(),
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("invalid JSON in --input: expected a key in double quotes, found `,`"),
        "{stderr}"
    );
    assert!(stderr.contains("input.json:2:33"), "{stderr}");
    // The source line is shown with its literals masked (any input file may hold secret
    // values); a declared input name stays readable.
    assert!(
        stderr.contains("\"circuit_data\": { \"•••\": •••,, }"),
        "the source line is shown, masked: {stderr}"
    );
}

#[test]
fn bundled_input_files_match_their_workflows_and_hold_no_secret() {
    for name in ["quantum-secrets", "portfolio-risk"] {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("workflows");
        let read = |f: String| -> serde_json::Value {
            serde_json::from_str(&std::fs::read_to_string(dir.join(&f)).unwrap_or_default())
                .unwrap_or_default()
        };
        let (wf, input) = (
            read(format!("{name}.json")),
            read(format!("{name}.input.json")),
        );
        let keys = |v: &serde_json::Value| -> Vec<String> {
            v.as_object()
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default()
        };
        assert!(
            !keys(&input).is_empty(),
            "{name}.input.json is missing or empty"
        );
        assert_eq!(
            keys(&input),
            keys(&wf["inputs"]),
            "{name}: the input file gives exactly the declared inputs"
        );
        assert!(
            input.get("$secrets").is_none(),
            "{name}: no secret values in a bundled input file"
        );
        let text = input.to_string();
        for secret in keys(&wf["secrets"]) {
            assert!(
                !text.contains(&secret),
                "{name}: the input mentions secret {secret}"
            );
        }
    }
}

#[test]
fn a_workflow_with_gateways_loops_retries_error_paths_and_timers_checks_clean() {
    let out = wfop(&["check", "tests/workflows/polling.json"]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("ok: tests/workflows/polling.json (13 nodes, 14 edges)"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(text(&out.stderr), "", "no warnings expected");
    // Its loop is drawn, not refused.
    let out = wfop(&["graph", "tests/workflows/polling.json"]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    let drawn = text(&out.stdout);
    assert!(drawn.contains("[Poll]") && drawn.contains('←'), "{drawn}");
}

#[test]
fn control_flow_errors_are_reported_with_positions() {
    let out = wfop(&["check", "tests/workflows/bad-flow.json"]);
    assert_eq!(out.status.code(), Some(2), "stdout: {}", text(&out.stdout));
    let stderr = text(&out.stderr);
    let file = "tests/workflows/bad-flow.json";
    for (message, at) in [
        ("`retries` must be a whole number from 1 to 100", "6:18"),
        (
            "error path to unknown node `fallbak`, did you mean `fallback`?",
            "7:40",
        ),
        ("node `fallback` is unreachable", "11:13"),
        (
            "parallel join `join` can never complete: its incoming edges lie on different branches of exclusive gateway `choose`",
            "12:13",
        ),
        ("invalid duration \"30s\": expected `P`", "13:51"),
        (
            "a condition on an edge out of a start node `start`",
            "17:51",
        ),
        (
            "this condition is an arithmetic result, never a boolean",
            "19:50",
        ),
        (
            "edge `choose` → `b` has no `condition` and is not the `default`",
            "20:5",
        ),
    ] {
        let shown = format!("error: {message}");
        let pos = format!("┌─ {file}:{at}");
        let i = stderr
            .find(&shown)
            .unwrap_or_else(|| panic!("no `{shown}` in:\n{stderr}"));
        let next_line = stderr[i..].lines().nth(1).unwrap_or_default();
        assert!(
            next_line.ends_with(&pos),
            "`{shown}` not at {pos}:\n{stderr}"
        );
    }
    assert!(stderr.contains("8 errors"), "{stderr}");
}
