//! BPMN workflows through the `wfop` binary: the bundled BPMN example gives the same run as its
//! JSON twin; the public engine samples in `../shared/bpmn-samples/` run through their gateways
//! with their tasks bound to small test services; `wfop bind` writes a binding skeleton; an
//! unbound task is named with the binding to add; a JSON workflow can name a BPMN file.

mod run_support;

use std::path::{Path, PathBuf};

use run_support::*;
use serde_json::{Value, json};

/// The public BPMN samples (`../shared/bpmn-samples`, beside the checkout), or `None` after
/// saying why (a failure under `WFOP_TEST_STRICT`).
fn samples() -> Option<PathBuf> {
    let dir = root().join("../shared/bpmn-samples");
    if dir.join("SOURCES.txt").is_file() {
        Some(dir)
    } else {
        skip_or_fail(&format!(
            "the public BPMN samples are not at {} (they sit beside the checkout in CI)",
            dir.display()
        ));
        None
    }
}

/// `wfop ARGS` for the commands that take no state folder (check, graph, bind), in `dir`.
fn cli(dir: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_wfop"))
        .args(args)
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run wfop")
}

/// The lines of a node's log without their time stamps.
fn log_lines(run_dir: &Path, node: &str) -> Vec<String> {
    let text = std::fs::read_to_string(run_dir.join(format!("{node}.log"))).expect("node log");
    text.lines()
        .map(|l| {
            l.split_once(" stdout ")
                .or_else(|| l.split_once(" stderr "))
                .map_or_else(|| l.to_string(), |(_, rest)| rest.to_string())
        })
        .collect()
}

/// A run's shape: each node's id and status, and the variables it left.
fn shape(run: &Value) -> (Vec<(String, String)>, Value) {
    let nodes = run["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|n| {
            (
                n["id"].as_str().unwrap_or_default().to_string(),
                n["status"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    (nodes, run["variables"].clone())
}

fn run_example(file: &str) -> (Case, std::process::Output) {
    let case = Case::new();
    let wf = root().join("workflows").join(file);
    let input = root().join("workflows/quantum-secrets.input.json");
    let out = case.wfop(
        &[
            "run",
            wf.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
            "--secret",
            "ibm_api_token=env:WFOP_TEST_IBM",
            "--plain",
        ],
        &[("WFOP_TEST_IBM", IBM_KEY)],
    );
    (case, out)
}

#[test]
fn the_bundled_bpmn_example_gives_the_same_run_as_its_json_twin() {
    let (json_case, json_out) = run_example("quantum-secrets.json");
    let (bpmn_case, bpmn_out) = run_example("quantum-secrets.bpmn");
    for (out, what) in [(&json_out, "json"), (&bpmn_out, "bpmn")] {
        assert_eq!(
            out.status.code(),
            Some(0),
            "{what}: {}\n{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        assert_absent(&out.stdout, IBM_KEY, "stdout");
        assert_absent(&out.stderr, IBM_KEY, "stderr");
    }
    // The service got the token (it says it accepted it) in both runs.
    let accepted = "[orchestrated] quantum_service: token accepted (ibm-cloud-api-key)";
    assert!(
        text(&bpmn_out.stdout).contains(accepted),
        "{}",
        text(&bpmn_out.stdout)
    );
    let (json_run, bpmn_run) = (json_case.run_json(), bpmn_case.run_json());
    assert_eq!(bpmn_run["status"], "succeeded");
    assert_eq!(shape(&json_run), shape(&bpmn_run));
    assert_eq!(bpmn_run["variables"]["backend"], "wfop-local-statevector");
    assert_eq!(
        log_lines(&json_case.run_dir(), "orchestrated"),
        log_lines(&bpmn_case.run_dir(), "orchestrated")
    );
    for (path, bytes) in bpmn_case.record_files() {
        assert_absent(&bytes, IBM_KEY, &path.display().to_string());
    }
}

/// A binding file that binds each key to a shell service printing `ran <node>` and returning
/// `{ "<node>_ran": true }`.
fn echo_bindings(case: &Case, keys: &[&str]) -> PathBuf {
    let script = "echo \"ran $WFOP_NODE_ID\"; \
                  printf '{\"%s_ran\": true}' \"$WFOP_NODE_ID\" | tr '-' '_' > \"$OUTPUT_DIRECTORY/output.json\"";
    let entries: serde_json::Map<String, Value> = keys
        .iter()
        .map(|k| (k.to_string(), json!({ "command": ["sh", "-c", script] })))
        .collect();
    case.write(
        "bindings.services.json",
        &Value::Object(entries).to_string(),
    )
}

/// `wfop run --plain FILE --input <input> EXTRA…`; returns the exit code and stdout+stderr.
fn run_plain(case: &Case, file: &Path, input: Value, extra: &[&str]) -> (Option<i32>, String) {
    let input = case.write("in.json", &input.to_string());
    let mut args = vec![
        "run",
        file.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--plain",
    ];
    args.extend_from_slice(extra);
    let out = case.wfop(&args, &[]);
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    (out.status.code(), all)
}

/// Runs a sample with bindings and input; returns (exit code, stdout+stderr, run.json).
fn run_sample(
    case: &Case,
    file: &Path,
    bindings: &Path,
    input: Value,
) -> (Option<i32>, String, Value) {
    let (code, all) = run_plain(
        case,
        file,
        input,
        &["--services", bindings.to_str().unwrap()],
    );
    (code, all, case.run_json())
}

fn status<'a>(run: &'a Value, id: &str) -> &'a str {
    node(run, id)["status"].as_str().unwrap_or_default()
}

#[test]
fn the_exclusive_gateway_sample_takes_the_first_true_flow_in_document_order_else_the_default() {
    let Some(dir) = samples() else { return };
    let file = dir.join("exclusive-gateway-multiple-tasks.bpmn");
    // price 0 makes both conditions true: the first flow in the file (price >= 0) wins.
    for (price, taken) in [(5, "task-a"), (0, "task-a"), (-1, "task-default")] {
        let case = Case::new();
        let bindings = echo_bindings(&case, &["task-a", "task-b", "task-default"]);
        let (code, all, run) = run_sample(&case, &file, &bindings, json!({ "price": price }));
        assert_eq!(code, Some(0), "price {price}: {all}");
        assert!(
            all.contains(&format!("ran {taken}")),
            "price {price}: {all}"
        );
        for other in ["task-a", "task-b", "task-default"] {
            if other == taken {
                assert_eq!(status(&run, other), "succeeded", "price {price}: {run}");
            } else {
                assert_eq!(
                    status(&run, other),
                    "skipped",
                    "price {price}, {other}: {run}"
                );
                assert_eq!(node(&run, other)["reason"], "not taken", "{run}");
            }
        }
    }
}

#[test]
fn the_parallel_samples_fork_and_join() {
    let Some(dir) = samples() else { return };
    // A fork, then a join before one more task.
    let case = Case::new();
    let bindings = echo_bindings(&case, &["task-a-1", "task-a-2", "task-b-1"]);
    let file = dir.join("fork-controlled-parallel-join.bpmn");
    let (code, all, run) = run_sample(&case, &file, &bindings, json!({}));
    assert_eq!(code, Some(0), "{all}");
    for id in ["id-a-1", "id-a-2", "id-b-1"] {
        assert_eq!(status(&run, id), "succeeded", "{id}: {run}");
    }
    // The join waited for both branches: B.1 started after A.1 and A.2 ended.
    let pos = |s: &str| all.find(s).unwrap_or_else(|| panic!("{s} in {all}"));
    assert!(pos("ran id-b-1") > pos("ran id-a-1") && pos("ran id-b-1") > pos("ran id-a-2"));
    assert_eq!(run["variables"]["id_b_1_ran"], true, "{run}");

    // A task, then a fork whose branches meet at one end event.
    let case = Case::new();
    let bindings = echo_bindings(&case, &["a1", "b1", "b2"]);
    let file = dir.join("parallel-gateway-flow.bpmn");
    let (code, all, run) = run_sample(&case, &file, &bindings, json!({}));
    assert_eq!(code, Some(0), "{all}");
    for id in ["id-a-1", "id-b-1", "id-b-2"] {
        assert_eq!(status(&run, id), "succeeded", "{id}: {run}");
    }
}

#[test]
fn every_sample_checks_clean_or_names_what_it_does_not_run_and_still_draws() {
    let Some(dir) = samples() else { return };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("samples")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "bpmn"))
        .collect();
    files.sort();
    assert!(files.len() >= 7, "{files:?}");
    let case = Case::new();
    for file in &files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let graph = cli(case.path(), &["graph", file.to_str().unwrap()]);
        let (out, err) = (text(&graph.stdout), text(&graph.stderr));
        assert_eq!(graph.status.code(), Some(0), "{name}: {out}\n{err}");
        assert!(out.contains('○') && out.contains('●'), "{name}: {out}");
        // Every error names its place as file:line:col.
        for line in err.lines().filter(|l| l.starts_with("error")) {
            assert!(err.contains(&format!("{name}:")), "{name}: {line}\n{err}");
        }
    }
}

#[test]
fn the_qaoa_sample_names_each_user_task_it_does_not_run_at_its_line() {
    let Some(dir) = samples() else { return };
    let file = dir.join("qaoa-max-cut-workflow.bpmn");
    let case = Case::new();
    let out = cli(case.path(), &["check", file.to_str().unwrap()]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let text = std::fs::read_to_string(&file).unwrap();
    for id in [
        "review-sidecar-error",
        "review-job-failure",
        "review-result",
    ] {
        let line = text
            .lines()
            .position(|l| l.contains(&format!("<userTask id=\"{id}\"")))
            .expect("the user task is in the file")
            + 1;
        assert!(
            err.contains(&format!("qaoa-max-cut-workflow.bpmn:{line}:")),
            "{id} at line {line}: {err}"
        );
    }
    assert!(err.contains("userTask"), "{err}");
}

#[test]
fn the_camunda_7_sample_is_recognised_as_such() {
    let Some(dir) = samples() else { return };
    let file = dir.join("invokeRestService.bpmn");
    let case = Case::new();
    let out = cli(case.path(), &["check", file.to_str().unwrap()]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("Camunda 7"), "{err}");
}

/// A small BPMN file of our own: one service task of type `greet`, with an input row.
const GREET: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="d" targetNamespace="t">
  <process id="greet-flow" name="greet" isExecutable="true">
    <startEvent id="start"><outgoing>f1</outgoing></startEvent>
    <sequenceFlow id="f1" sourceRef="start" targetRef="greet" />
    <serviceTask id="greet" name="Greet">
      <extensionElements>
        <zeebe:taskDefinition type="io.example:greeter:1" />
        <zeebe:ioMapping>
          <zeebe:input source="= &quot;hello &quot; + who" target="greeting" />
        </zeebe:ioMapping>
      </extensionElements>
      <incoming>f1</incoming><outgoing>f2</outgoing>
    </serviceTask>
    <sequenceFlow id="f2" sourceRef="greet" targetRef="end" />
    <endEvent id="end"><incoming>f2</incoming></endEvent>
  </process>
</definitions>
"#;

#[test]
fn an_unbound_task_is_named_with_the_binding_to_add_and_wfop_bind_writes_it() {
    let case = Case::new();
    let file = case.write("greet.bpmn", GREET);
    let out = cli(case.path(), &["check", file.to_str().unwrap()]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("greet.bpmn:6:"), "{err}");
    assert!(
        err.contains("service task `greet` (task type `io.example:greeter:1`)"),
        "{err}"
    );
    assert!(
        err.contains(r#""io.example:greeter:1": { "python": "services/io_example_greeter_1.py", "function": "run" }"#),
        "{err}"
    );
    // The graph is drawn all the same.
    let graph = cli(case.path(), &["graph", file.to_str().unwrap()]);
    assert_eq!(graph.status.code(), Some(0), "{}", text(&graph.stderr));
    assert!(
        text(&graph.stdout).contains("Greet"),
        "{}",
        text(&graph.stdout)
    );

    let bind = cli(case.path(), &["bind", file.to_str().unwrap()]);
    assert_eq!(bind.status.code(), Some(0), "{}", text(&bind.stderr));
    let written = case.path().join("greet.services.json");
    let skeleton: Value =
        serde_json::from_str(&std::fs::read_to_string(&written).unwrap()).unwrap();
    assert_eq!(
        skeleton,
        json!({ "io.example:greeter:1": { "python": "services/io_example_greeter_1.py", "function": "run" } })
    );
    // A second `bind` keeps the file.
    std::fs::write(&written, "{ \"greet\": { \"command\": [\"true\"] } }").unwrap();
    let again = cli(case.path(), &["bind", file.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(2));
    assert!(
        text(&again.stderr).contains("--force"),
        "{}",
        text(&again.stderr)
    );
    assert!(
        std::fs::read_to_string(&written)
            .unwrap()
            .contains("\"greet\"")
    );

    // The skeleton names a module that does not exist yet: check says so, in the binding file.
    let again = cli(case.path(), &["bind", file.to_str().unwrap(), "--force"]);
    assert_eq!(again.status.code(), Some(0));
    let out = cli(case.path(), &["check", file.to_str().unwrap()]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("greet.services.json:"), "{err}");
    assert!(err.contains("io_example_greeter_1.py"), "{err}");

    // Written, the module runs: the task gets its input row's value.
    std::fs::create_dir_all(case.path().join("services")).unwrap();
    std::fs::write(
        case.path().join("services/io_example_greeter_1.py"),
        // `Any`, not `str`: the platform passes a `str` parameter its input's JSON text.
        "from typing import Any\n\ndef run(greeting: Any):\n    print('service says', greeting)\n    return {'said': greeting}\n",
    )
    .unwrap();
    let (code, all) = run_plain(&case, &file, json!({ "who": "operator" }), &[]);
    assert_eq!(code, Some(0), "{all}");
    assert!(all.contains("service says hello operator"), "{all}");
    assert_eq!(case.run_json()["variables"]["said"], "hello operator");
}

#[test]
fn a_binding_that_binds_nothing_is_a_warning_with_the_task_types_and_a_bad_entry_an_error_at_its_line()
 {
    let case = Case::new();
    let file = case.write("greet.bpmn", GREET);
    case.write(
        "greet.services.json",
        "{\n  \"io.example:greeter:2\": { \"command\": [\"true\"] },\n  \"greet\": { \"comand\": [\"true\"] }\n}\n",
    );
    let out = cli(case.path(), &["check", file.to_str().unwrap()]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("greet.services.json:2:3"), "{err}");
    assert!(err.contains("did you mean `io.example:greeter:1`"), "{err}");
    assert!(err.contains("greet.services.json:3:14"), "{err}");
    // A task whose binding is wrong is not also reported as unbound.
    assert!(!err.contains("not bound to anything"), "{err}");
    assert!(err.contains("unknown field `comand`"), "{err}");
}

#[test]
fn a_json_workflow_can_name_a_bpmn_file_and_bind_its_tasks_inline() {
    let case = Case::new();
    case.write("greet.bpmn", GREET);
    let wf = case.write(
        "greet.json",
        r#"{ "bpmn": "greet.bpmn", "services": { "greet": { "command": ["sh", "-c", "cat \"$INPUT_DIRECTORY/greeting.json\""] } } }"#,
    );
    let (code, all) = run_plain(&case, &wf, json!({ "who": "json" }), &[]);
    assert_eq!(code, Some(0), "{all}");
    assert!(all.contains("[greet] \"hello json\""), "{all}");
    // A mistake in the BPMN file is reported against the BPMN file.
    case.write(
        "greet.bpmn",
        &GREET.replace("targetRef=\"end\"", "targetRef=\"nowhere\""),
    );
    let out = cli(case.path(), &["check", wf.to_str().unwrap()]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("greet.bpmn:15:"), "{err}");
}
