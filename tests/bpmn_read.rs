//! Reading BPMN files (issue 12): the project's own small files always, and every real file in
//! `../shared/bpmn-samples/` (absent in a user's clone: those tests skip, or fail under
//! WFOP_TEST_STRICT) with its findings asserted precisely.

mod run_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use wfop::diag::{Diagnostic, SourceFile, line_col};
use wfop::workflow::bpmn::read::read;
use wfop::workflow::{LoadOptions, NodeKind, Workflow, check_file_with};

fn own(name: &str) -> PathBuf {
    run_support::root().join("tests/bpmn").join(name)
}

/// A sample file, or `None` (the test skips) when the samples are not there.
fn sample(name: &str) -> Option<PathBuf> {
    let dir = run_support::root().join("../shared/bpmn-samples");
    let path = dir.join(name);
    if path.is_file() {
        Some(path)
    } else {
        run_support::skip_or_fail(&format!("{} is absent", path.display()));
        None
    }
}

/// A finding as (line, col, error?, run-only?, message).
type Finding = (usize, usize, bool, bool, String);

/// The reader's own result: the workflow, and each finding.
fn read_file(path: &Path) -> (Option<Workflow>, Vec<Finding>) {
    let source = SourceFile::read(path).expect("readable");
    let (wf, diags) = read(&source, None);
    (wf, findings(&source.text, &diags))
}

fn findings(text: &str, diags: &[Diagnostic]) -> Vec<Finding> {
    diags
        .iter()
        .map(|d| {
            let (l, c) = line_col(text, d.primary.0.start);
            (l, c, d.is_error(), d.run_only, d.message.clone())
        })
        .collect()
}

fn node<'w>(wf: &'w Workflow, id: &str) -> &'w wfop::workflow::Node {
    wf.nodes
        .iter()
        .find(|n| n.id == id)
        .unwrap_or_else(|| panic!("no node `{id}`"))
}

fn edges(wf: &Workflow) -> Vec<(String, String)> {
    wf.edges
        .iter()
        .map(|e| (e.from.clone(), e.to.clone()))
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

/// `wfop check` and the whole load (read, bind, validate): only errors that stop a run.
fn only_run_only_errors(path: &Path) {
    let checked = check_file_with(path, &LoadOptions::default()).expect("readable");
    assert!(checked.drawable().is_some(), "{}", checked.render(false));
}

#[test]
fn own_file_with_every_mapped_element_checks_clean_with_its_bindings() {
    let path = own("mapped.bpmn");
    let (wf, found) = read_file(&path);
    assert_eq!(found, vec![]);
    let wf = wf.expect("workflow");
    assert_eq!(wf.nodes.len(), 12);
    let checked = check_file_with(&path, &LoadOptions::default()).expect("readable");
    assert_eq!(
        checked.errors() + checked.warnings(),
        0,
        "{}",
        checked.render(false)
    );
    let wf = checked.workflow().expect("no errors");
    assert!(node(wf, "submit").run.is_some(), "bound by task type");
    assert!(node(wf, "b").run.is_some(), "bound by task id");
    let out = Command::new(env!("CARGO_BIN_EXE_wfop"))
        .args(["check", "tests/bpmn/mapped.bpmn"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("wfop runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn own_file_with_unsupported_elements_reports_each_and_still_draws() {
    let path = own("unsupported.bpmn");
    let (wf, found) = read_file(&path);
    let wf = wf.expect("workflow");
    let at: Vec<(usize, usize, bool, bool)> = found.iter().map(|f| (f.0, f.1, f.2, f.3)).collect();
    assert_eq!(
        at,
        vec![
            (6, 5, true, true),
            (10, 5, true, true),
            (15, 5, true, true),
            (20, 5, true, true),
        ],
        "{found:?}"
    );
    assert!(found[0].4.contains("`userTask` `review`"), "{}", found[0].4);
    assert!(
        found[1].4.contains("`scriptTask` `score`"),
        "{}",
        found[1].4
    );
    assert!(found[2].4.contains("waits for a timer"), "{}", found[2].4);
    assert!(found[3].4.contains("sub-processes"), "{}", found[3].4);
    let unsupported: Vec<&str> = wf
        .nodes
        .iter()
        .filter(|n| n.unsupported.is_some())
        .map(|n| n.id.as_str())
        .collect();
    assert_eq!(unsupported, ["review", "score", "fetch-late", "sub"]);
    // The timer boundary is drawn attached to its task; the sub-process's inside is not read.
    assert!(edges(&wf).contains(&("fetch".into(), "fetch-late".into())));
    assert!(wf.nodes.iter().all(|n| n.id != "inner-start"));
    let out = Command::new(env!("CARGO_BIN_EXE_wfop"))
        .args(["graph", "tests/bpmn/unsupported.bpmn"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .output()
        .expect("wfop runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("Review"), "{stdout}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("tests/bpmn/unsupported.bpmn:6:5"),
        "{stderr}"
    );
}

#[test]
fn own_file_with_event_and_inclusive_gateways_draws() {
    let path = own("event-gateway.bpmn");
    let checked = check_file_with(&path, &LoadOptions::default()).expect("readable");
    let found = findings(&checked.source.text, &checked.diagnostics);
    let at: Vec<(usize, usize, bool, bool)> = found.iter().map(|f| (f.0, f.1, f.2, f.3)).collect();
    // Their edges need no conditions: the gateways are not run, so their routing never applies.
    assert_eq!(
        at,
        vec![(5, 5, true, true), (8, 5, true, true), (13, 5, true, true)],
        "{found:?}"
    );
    let wf = checked.drawable().expect("drawable");
    assert_eq!(wf.edges.iter().filter(|e| e.from == "g").count(), 2);
}

#[test]
fn sample_qaoa_maps_all_but_its_three_user_tasks() {
    let Some(path) = sample("qaoa-max-cut-workflow.bpmn") else {
        return;
    };
    let (wf, found) = read_file(&path);
    let wf = wf.expect("workflow");
    let at: Vec<(usize, usize, bool, bool)> = found.iter().map(|f| (f.0, f.1, f.2, f.3)).collect();
    assert_eq!(
        at,
        vec![
            (12, 9, false, false),
            (174, 5, true, true),
            (186, 5, true, true),
            (198, 5, true, true),
        ],
        "{found:?}"
    );
    assert!(found[0].4.contains("start form"));
    for (f, id) in found[1..].iter().zip([
        "review-sidecar-error",
        "review-job-failure",
        "review-result",
    ]) {
        assert!(f.4.contains(&format!("`userTask` `{id}`")), "{}", f.4);
    }
    assert_eq!(wf.name, "QAOA Max-Cut – IBM Quantum Blueprint");
    assert!(
        wf.description
            .as_deref()
            .is_some_and(|d| d.starts_with("Blueprint for QAOA"))
    );
    let kinds: Vec<(&str, NodeKind)> = wf.nodes.iter().map(|n| (n.id.as_str(), n.kind)).collect();
    use NodeKind::*;
    assert_eq!(
        kinds,
        vec![
            ("start", Start),
            ("generate-circuit.merge", Exclusive),
            ("generate-circuit", Service),
            ("submit-job", Service),
            ("poll-timer.merge", Exclusive),
            ("poll-timer", Timer),
            ("check-job", Service),
            ("status-gateway", Exclusive),
            ("evaluate-results", Service),
            ("optimize", Service),
            ("converge-gateway", Exclusive),
            ("sidecar-error-gateway", Exclusive),
            ("review-sidecar-error", Service),
            ("end-sidecar-error", End),
            ("review-job-failure", Service),
            ("end-failed", End),
            ("review-result", Service),
            ("end", End),
        ]
    );
    let start = node(&wf, "start");
    assert_eq!(start.label.as_deref(), Some("MaxCut\nproblem submitted"));
    let rows = start.output_mapping.as_ref().expect("start outputs");
    assert_eq!(
        (rows[0].name.as_str(), rows[0].value.text.as_str()),
        ("iteration", "= 0")
    );
    let g = node(&wf, "generate-circuit");
    assert_eq!(g.task_type.as_deref(), Some("io.camunda:http-json:1"));
    assert_eq!(g.retries.as_ref().map(|r| r.attempts), Some(3));
    assert_eq!(g.result_variable.as_deref(), Some("generateCircuitResult"));
    assert!(
        g.result_expression
            .as_ref()
            .is_some_and(|e| e.expr.is_some())
    );
    assert!(
        g.error_expression
            .as_ref()
            .is_some_and(|e| e.expr.is_some())
    );
    assert_eq!(g.input_mapping.as_ref().map(Vec::len), Some(4));
    for id in ["generate-circuit", "evaluate-results", "optimize"] {
        let errors: Vec<(&str, &str)> = node(&wf, id)
            .errors
            .iter()
            .map(|p| (p.code.as_str(), p.to.as_str()))
            .collect();
        assert_eq!(errors, [("SIDECAR_ERROR", "sidecar-error-gateway")], "{id}");
    }
    let t = node(&wf, "poll-timer").timer.as_ref().expect("timer");
    assert_eq!(t.duration, std::time::Duration::from_secs(30));
    let status: Vec<(&str, Option<&str>, bool, bool)> = wf
        .edges
        .iter()
        .filter(|e| e.from == "status-gateway")
        .map(|e| {
            (
                e.to.as_str(),
                e.label.as_deref(),
                e.condition.is_some(),
                e.default,
            )
        })
        .collect();
    assert_eq!(
        status,
        vec![
            ("poll-timer.merge", Some("Running"), false, true),
            ("evaluate-results", Some("Completed"), true, false),
            (
                "review-job-failure",
                Some("Failed / Cancelled"),
                true,
                false
            ),
        ]
    );
    assert!(wf.secrets.is_none());
    only_run_only_errors(&path);
}

#[test]
fn sample_payment_process() {
    let Some(path) = sample("payment_process.bpmn") else {
        return;
    };
    let (wf, found) = read_file(&path);
    let wf = wf.expect("workflow");
    let at: Vec<(usize, usize, bool, bool)> = found.iter().map(|f| (f.0, f.1, f.2, f.3)).collect();
    assert_eq!(
        at,
        vec![(73, 5, true, true), (81, 5, true, true)],
        "{found:?}"
    );
    assert!(found[0].4.contains("`userTask` `CheckPaymentDataTask`"));
    assert!(
        found[1]
            .4
            .contains("`intermediateThrowEvent` `NoCreditCardPaymentRequiredEvent`")
    );
    let charge = node(&wf, "ChargeCreditCardTask");
    assert_eq!(charge.task_type.as_deref(), Some("creditCardCharging"));
    let p = &charge.errors[0];
    assert_eq!(
        (p.code.as_str(), p.to.as_str()),
        ("creditCardError", "CheckPaymentDataTask")
    );
    let rows = p.output_mapping.as_ref().expect("boundary outputs");
    assert_eq!(rows[0].name, "creditCardErrorMessage");
    // Two flows enter the credit card task: BPMN runs it once per token, so a merge.
    let into: Vec<&str> = wf
        .edges
        .iter()
        .filter(|e| e.to == "ChargeCreditCardTask.merge")
        .map(|e| e.from.as_str())
        .collect();
    assert_eq!(into, ["CreditSufficientGateway", "ErrorResolvedGateway"]);
    assert_eq!(
        node(&wf, "CreditSufficientGateway").label.as_deref(),
        Some("Credit sufficient?")
    );
    only_run_only_errors(&path);
}

#[test]
fn sample_service_task_input_output() {
    let Some(path) = sample("service-task-input-output.bpmn") else {
        return;
    };
    let (wf, found) = read_file(&path);
    let wf = wf.expect("workflow");
    let at: Vec<(usize, usize, bool, bool)> = found.iter().map(|f| (f.0, f.1, f.2, f.3)).collect();
    assert_eq!(at, vec![(28, 5, true, true)], "{found:?}");
    let t = node(&wf, "service-task-1");
    let names = |rows: &Option<Vec<wfop::workflow::MappingRow>>| -> Vec<String> {
        rows.iter().flatten().map(|r| r.name.clone()).collect()
    };
    assert_eq!(names(&t.input_mapping), ["name", "id", "city"]);
    assert_eq!(names(&t.output_mapping), ["order", "orderId", "dstcity"]);
    assert_eq!(
        t.input_mapping.as_ref().expect("rows")[0].value.text,
        "=\"task-1\""
    );
    only_run_only_errors(&path);
}

#[test]
fn sample_exclusive_gateway_reads_clean_with_conditions_in_document_order() {
    let Some(path) = sample("exclusive-gateway-multiple-tasks.bpmn") else {
        return;
    };
    let (wf, found) = read_file(&path);
    assert_eq!(found, vec![]);
    let wf = wf.expect("workflow");
    let out: Vec<(&str, Option<&str>, bool)> = wf
        .edges
        .iter()
        .filter(|e| e.from == "Gateway_01wr5g0")
        .map(|e| {
            (
                e.to.as_str(),
                e.condition.as_ref().map(|c| c.value.text.as_str()),
                e.default,
            )
        })
        .collect();
    assert_eq!(
        out,
        vec![
            ("task-a", Some("=price >= 0"), false),
            ("task-b", Some("=price = 0"), false),
            ("task-default", None, true),
        ]
    );
    only_run_only_errors(&path);
}

#[test]
fn sample_parallel_gateways_read_clean() {
    let Some(path) = sample("fork-controlled-parallel-join.bpmn") else {
        return;
    };
    let (wf, found) = read_file(&path);
    assert_eq!(found, vec![]);
    let wf = wf.expect("workflow");
    assert_eq!(node(&wf, "parallel-join-gateway").kind, NodeKind::Parallel);
    assert_eq!(
        edges(&wf),
        pairs(&[
            ("StartEvent_1", "id-parallel-gateway-1"),
            ("id-parallel-gateway-1", "id-a-1"),
            ("id-parallel-gateway-1", "id-a-2"),
            ("id-b-1", "id-c-1"),
            ("id-a-1", "parallel-join-gateway"),
            ("id-a-2", "parallel-join-gateway"),
            ("parallel-join-gateway", "id-b-1"),
        ])
    );
    only_run_only_errors(&path);

    let Some(path) = sample("parallel-gateway-flow.bpmn") else {
        return;
    };
    let (wf, found) = read_file(&path);
    assert_eq!(found, vec![]);
    let wf = wf.expect("workflow");
    assert_eq!(wf.name, "aName");
    // The end event merges its two incoming flows (an end node is no join).
    assert_eq!(
        wf.edges.iter().filter(|e| e.to == "Event_1qu1nt8").count(),
        2
    );
    only_run_only_errors(&path);
}

#[test]
fn sample_camunda7_file_is_one_clear_message_and_still_draws() {
    let Some(path) = sample("invokeRestService.bpmn") else {
        return;
    };
    let (wf, found) = read_file(&path);
    let at: Vec<(usize, usize, bool, bool)> = found.iter().map(|f| (f.0, f.1, f.2, f.3)).collect();
    assert_eq!(
        at,
        vec![
            (3, 70, true, true),
            (38, 5, true, true),
            (45, 5, true, true)
        ],
        "{found:?}"
    );
    assert!(found[0].4.contains("Camunda 7"), "{}", found[0].4);
    assert!(
        found[1].4.contains("`userTask` `UserTask_1`"),
        "{}",
        found[1].4
    );
    let wf = wf.expect("workflow");
    let conditions: Vec<&str> = wf
        .edges
        .iter()
        .filter_map(|e| e.condition.as_ref())
        .map(|c| c.value.text.as_str())
        .collect();
    assert_eq!(conditions, ["${isHoliday}", "${!isHoliday}"]);
    only_run_only_errors(&path);
}

/// `wfop run FILE --json --services BINDINGS` with `args` after it: the exit code and events.
fn run_events(
    case: &run_support::Case,
    file: &Path,
    bindings: &serde_json::Value,
    args: &[&str],
) -> (Option<i32>, Vec<serde_json::Value>) {
    let services = case.write("flow.services.json", &bindings.to_string());
    let mut all = vec![
        "run",
        file.to_str().expect("utf-8 path"),
        "--json",
        "--services",
        services.to_str().expect("utf-8 path"),
    ];
    all.extend_from_slice(args);
    let out = case.wfop(&all, &[]);
    let events = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    (out.status.code(), events)
}

fn ended_nodes(events: &[serde_json::Value]) -> Vec<(String, String)> {
    events
        .iter()
        .filter(|e| e["event"] == "edge_taken")
        .map(|e| {
            (
                e["from"].as_str().unwrap_or_default().to_string(),
                e["to"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn sh(script: &str) -> serde_json::Value {
    serde_json::json!({ "command": ["sh", "-c", script] })
}

#[test]
fn sample_exclusive_gateway_runs_the_first_true_condition_in_document_order() {
    let Some(path) = sample("exclusive-gateway-multiple-tasks.bpmn") else {
        return;
    };
    let case = run_support::Case::new();
    let bindings = serde_json::json!({
        "task-a": sh("echo a"), "task-b": sh("echo b"), "task-default": sh("echo default")
    });
    let input = case.write("in.json", r#"{"price": 0}"#);
    let (code, evs) = run_events(
        &case,
        &path,
        &bindings,
        &["--input", input.to_str().expect("utf-8")],
    );
    assert_eq!(code, Some(0), "{evs:?}");
    // price = 0 satisfies both conditions: the first in the file wins.
    assert_eq!(
        ended_nodes(&evs),
        pairs(&[
            ("StartEvent_1", "Gateway_01wr5g0"),
            ("Gateway_01wr5g0", "task-a"),
            ("task-a", "Event_1g3ipua"),
        ])
    );
    let input = case.write("in.json", r#"{"price": -1}"#);
    let (code, evs) = run_events(
        &case,
        &path,
        &bindings,
        &["--input", input.to_str().expect("utf-8")],
    );
    assert_eq!(code, Some(0), "{evs:?}");
    assert!(ended_nodes(&evs).contains(&("Gateway_01wr5g0".into(), "task-default".into())));
}

#[test]
fn own_file_runs_an_error_boundary_and_a_loop_through_an_implicit_merge() {
    let case = run_support::Case::new();
    let bpmn = case.write(
        "flow.bpmn",
        r#"<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0">
  <error id="e-down" errorCode="DOWN" />
  <process id="p" isExecutable="true">
    <startEvent id="start"><extensionElements><zeebe:ioMapping>
      <zeebe:output source="= 0" target="n" />
    </zeebe:ioMapping></extensionElements></startEvent>
    <sequenceFlow id="f1" sourceRef="start" targetRef="count" />
    <serviceTask id="count"><extensionElements>
      <zeebe:taskDefinition type="counter" />
      <zeebe:ioMapping>
        <zeebe:input source="= n" target="n" />
        <zeebe:output source="= n + 1" target="n" />
      </zeebe:ioMapping>
    </extensionElements></serviceTask>
    <sequenceFlow id="f2" sourceRef="count" targetRef="more" />
    <exclusiveGateway id="more" default="again" />
    <sequenceFlow id="enough" sourceRef="more" targetRef="fail">
      <conditionExpression>= n &gt;= 2</conditionExpression>
    </sequenceFlow>
    <sequenceFlow id="again" sourceRef="more" targetRef="count" />
    <serviceTask id="fail"><extensionElements><zeebe:taskDefinition type="failing" /></extensionElements></serviceTask>
    <boundaryEvent id="caught" attachedToRef="fail">
      <extensionElements><zeebe:ioMapping><zeebe:output source="= code" target="why" /></zeebe:ioMapping></extensionElements>
      <errorEventDefinition errorRef="e-down" />
    </boundaryEvent>
    <sequenceFlow id="f3" sourceRef="caught" targetRef="handled" />
    <sequenceFlow id="f4" sourceRef="fail" targetRef="end" />
    <endEvent id="handled" />
    <endEvent id="end" />
  </process>
</definitions>"#,
    );
    let bindings = serde_json::json!({
        "counter": sh(r#"printf '{"n": %s}' "$(cat "$INPUT_DIRECTORY/n.json")" > "$OUTPUT_DIRECTORY/output.json""#),
        "failing": sh(r#"echo '{"code": "DOWN", "title": "backend down"}' > "$OUTPUT_DIRECTORY/output.json"; exit 3"#),
    });
    let (code, evs) = run_events(&case, &bpmn, &bindings, &[]);
    assert_eq!(code, Some(0), "{evs:?}");
    assert_eq!(
        ended_nodes(&evs),
        pairs(&[
            ("start", "count.merge"),
            ("count.merge", "count"),
            ("count", "more"),
            ("more", "count.merge"),
            ("count.merge", "count"),
            ("count", "more"),
            ("more", "fail"),
        ]),
        "{evs:?}"
    );
    let caught: Vec<&serde_json::Value> = evs
        .iter()
        .filter(|e| e["event"] == "error_caught")
        .collect();
    assert_eq!(caught.len(), 1, "{evs:?}");
    assert_eq!(caught[0]["code"], "DOWN");
    assert_eq!(caught[0]["to"], "handled");
    // The boundary event's output mapping ran over the error.
    assert!(
        evs.iter()
            .any(|e| e["event"] == "outputs" && e["variables"]["why"] == "DOWN")
    );
}

#[test]
fn a_flow_to_an_unknown_id_is_reported_at_its_target_ref() {
    let case = run_support::Case::new();
    let text = r#"<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL">
  <process id="p" isExecutable="true">
    <startEvent id="s" />
    <sequenceFlow id="f1" sourceRef="s" targetRef="ennd" />
    <endEvent id="end" />
  </process>
</definitions>"#;
    let path = case.write("flow.bpmn", text);
    let checked = check_file_with(&path, &LoadOptions::default()).expect("readable");
    let found = findings(&checked.source.text, &checked.diagnostics);
    let unknown = found
        .iter()
        .find(|f| f.4.contains("unknown node `ennd`"))
        .unwrap_or_else(|| panic!("{found:?}"));
    assert_eq!(
        (unknown.0, unknown.1, unknown.2, unknown.3),
        (4, 51, true, false)
    );
    assert!(unknown.4.contains("did you mean `end`"), "{}", unknown.4);
    assert!(checked.drawable().is_none());
}
