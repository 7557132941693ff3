//! The reader against small BPMN texts: what each element maps onto, and each finding's place.

use super::*;
use crate::diag::line_col;
use crate::workflow::{NodeKind, Workflow};

fn read_text(text: &str) -> (Option<Workflow>, Vec<Diagnostic>) {
    read(&SourceFile::from_text("t.bpmn", text), None)
}

/// A process around `body`, Camunda 8 namespaces declared, BPMN as the default namespace.
fn process(body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0">
  <process id="p" isExecutable="true">
{body}
  </process>
</definitions>"#
    )
}

fn at(text: &str, d: &Diagnostic) -> (usize, usize) {
    line_col(text, d.primary.0.start)
}

const MAPPED: &str = include_str!("../../../../tests/bpmn/mapped.bpmn");

fn mapped() -> Workflow {
    let (wf, diags) = read_text(MAPPED);
    assert!(diags.is_empty(), "{diags:?}");
    wf.expect("a workflow")
}

fn node<'w>(wf: &'w Workflow, id: &str) -> &'w Node {
    wf.nodes.iter().find(|n| n.id == id).expect("node")
}

use crate::workflow::Node;

#[test]
fn process_name_description_and_origin() {
    let wf = mapped();
    assert_eq!(wf.name, "Mapped\nflow");
    assert_eq!(wf.description.as_deref(), Some("Every element wfop maps."));
    let origin = wf.bpmn.as_ref().expect("origin");
    assert_eq!(origin.process_id, "mapped");
    assert_eq!(origin.services, None);
    assert!(wf.inputs.is_none());
}

#[test]
fn nodes_in_document_order_with_their_kinds() {
    let wf = mapped();
    let got: Vec<(&str, NodeKind)> = wf.nodes.iter().map(|n| (n.id.as_str(), n.kind)).collect();
    use NodeKind::*;
    assert_eq!(
        got,
        vec![
            ("start", Start),
            ("submit", Service),
            ("wait.merge", Exclusive),
            ("wait", Timer),
            ("check", Service),
            ("status", Exclusive),
            ("fork", Parallel),
            ("a", Service),
            ("b", Service),
            ("join", Parallel),
            ("done", End),
            ("failed", End),
        ]
    );
    assert!(wf.nodes.iter().all(|n| n.unsupported.is_none()));
}

#[test]
fn start_output_mapping() {
    let wf = mapped();
    let rows = node(&wf, "start").output_mapping.as_ref().expect("rows");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].name, "iteration");
    assert_eq!(rows[0].value.text, "= 0");
    assert!(rows[0].expr.is_some());
}

#[test]
fn service_task_definition_headers_and_mappings() {
    let wf = mapped();
    let n = node(&wf, "submit");
    assert_eq!(n.label.as_deref(), Some("Submit\njob"));
    assert_eq!(n.description.as_deref(), Some("Submits the circuit."));
    assert_eq!(n.task_type.as_deref(), Some("qhub:submit:1"));
    let r = n.retries.as_ref().expect("retries");
    assert_eq!(r.attempts, 3);
    assert_eq!(r.backoff, Some(std::time::Duration::from_secs(5)));
    assert_eq!(n.result_variable.as_deref(), Some("submitResult"));
    let re = n.result_expression.as_ref().expect("resultExpression");
    assert_eq!(re.value.text, "= {jobId: response.id}");
    assert!(re.expr.is_some());
    let ee = n.error_expression.as_ref().expect("errorExpression");
    assert!(ee.value.text.contains("bpmnError(\"SIDECAR_ERROR\""));
    assert!(ee.expr.is_some());
    assert!(n.run.is_none(), "bind gives the run");
    let inputs = n.input_mapping.as_ref().expect("inputs");
    let names: Vec<&str> = inputs.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["circuit", "method", "$secrets"]);
    // A source without `=` is a static string, kept as written.
    assert_eq!(inputs[1].value.text, "POST");
    assert_eq!(
        inputs[1].expr.as_ref().map(|e| &e.kind),
        Some(&expr::ExprKind::String("POST".into()))
    );
    let outputs = n.output_mapping.as_ref().expect("outputs");
    assert_eq!(outputs[0].name, "job");
    // The `$secrets` row: the bindings, the node's secret parameters, the workflow's secret.
    let b = n.bound_secrets();
    assert_eq!(b.len(), 1);
    assert_eq!(
        (b[0].param.as_str(), b[0].secret.as_str()),
        ("ibm_token", "ibm_api_token")
    );
    let params: Vec<&str> = n.secrets.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(params, ["ibm_token"]);
    assert_eq!(&MAPPED[n.secrets[0].1.clone()], "ibm_token");
    let decls = wf.secrets.as_ref().expect("declared secrets");
    assert_eq!(decls.len(), 1);
    assert_eq!(decls[0].name, "ibm_api_token");
    assert_eq!(
        decls[0].description.as_deref(),
        Some("Submits the circuit.")
    );
    assert_eq!(&MAPPED[decls[0].span.clone()], "&#34;ibm_api_token&#34;");
}

#[test]
fn task_and_send_task_with_a_definition_are_services() {
    let wf = mapped();
    assert_eq!(
        node(&wf, "check").task_type.as_deref(),
        Some("qhub:check:1")
    );
    assert_eq!(node(&wf, "a").task_type.as_deref(), Some("notify"));
    // A service task without a task definition is bound by its id.
    assert_eq!(node(&wf, "b").task_type, None);
}

#[test]
fn error_boundary_becomes_an_error_path() {
    let wf = mapped();
    let n = node(&wf, "submit");
    assert_eq!(n.errors.len(), 1);
    let p = &n.errors[0];
    assert_eq!(p.code, "SIDECAR_ERROR");
    assert_eq!(p.to, "failed");
    assert_eq!(&MAPPED[p.to_span.clone()], "\"failed\"");
    assert_eq!(&MAPPED[p.code_span.clone()], "\"err-down\"");
    let rows = p.output_mapping.as_ref().expect("boundary outputs");
    assert_eq!(rows[0].name, "why");
    // Its flow is no edge.
    assert!(!wf.edges.iter().any(|e| e.to == "failed"));
}

#[test]
fn timer_duration() {
    let wf = mapped();
    let t = node(&wf, "wait").timer.as_ref().expect("timer");
    assert_eq!(t.duration, std::time::Duration::from_secs(30));
    assert_eq!(t.text, "PT30S");
}

#[test]
fn flows_labels_conditions_defaults_in_document_order() {
    let wf = mapped();
    let out: Vec<(&str, Option<&str>, bool, bool)> = wf
        .edges
        .iter()
        .filter(|e| e.from == "status")
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
        out,
        vec![
            ("fork", Some("Yes"), true, false),
            ("wait.merge", Some("Running"), false, true),
        ]
    );
    let c = wf
        .edges
        .iter()
        .find_map(|e| e.condition.as_ref())
        .expect("condition");
    assert_eq!(c.value.text, "= status = \"DONE\" and count >= 1");
    assert!(c.expr.is_some());
}

#[test]
fn a_task_with_two_incoming_flows_gets_a_merge() {
    let wf = mapped();
    let into_wait: Vec<&str> = wf
        .edges
        .iter()
        .filter(|e| e.to == "wait")
        .map(|e| e.from.as_str())
        .collect();
    assert_eq!(into_wait, ["wait.merge"]);
    let into_merge: Vec<&str> = wf
        .edges
        .iter()
        .filter(|e| e.to == "wait.merge")
        .map(|e| e.from.as_str())
        .collect();
    assert_eq!(into_merge, ["submit", "status"]);
    // Parallel joins keep their meaning (wait for all): no merge in front.
    assert_eq!(wf.edges.iter().filter(|e| e.to == "join").count(), 2);
}

#[test]
fn unsupported_elements_are_drawable_nodes_with_a_run_only_error() {
    let text = process(
        r#"    <startEvent id="s" />
    <sequenceFlow id="f1" sourceRef="s" targetRef="u" />
    <userTask id="u" name="Review" />
    <sequenceFlow id="f2" sourceRef="u" targetRef="g" />
    <inclusiveGateway id="g" />
    <sequenceFlow id="f3" sourceRef="g" targetRef="m" />
    <intermediateCatchEvent id="m"><messageEventDefinition /></intermediateCatchEvent>
    <sequenceFlow id="f4" sourceRef="m" targetRef="st" />
    <serviceTask id="st"><multiInstanceLoopCharacteristics /></serviceTask>
    <sequenceFlow id="f5" sourceRef="st" targetRef="e" />
    <endEvent id="e"><terminateEventDefinition /></endEvent>"#,
    );
    let (wf, diags) = read_text(&text);
    let wf = wf.expect("workflow");
    let found: Vec<(String, NodeKind, &str)> = wf
        .nodes
        .iter()
        .filter_map(|n| {
            Some((
                n.id.clone(),
                n.kind,
                n.unsupported.as_ref()?.element.as_str(),
            ))
        })
        .collect();
    assert_eq!(
        found,
        vec![
            ("u".to_string(), NodeKind::Service, "userTask"),
            ("g".to_string(), NodeKind::Exclusive, "inclusiveGateway"),
            ("m".to_string(), NodeKind::Timer, "intermediateCatchEvent"),
            ("st".to_string(), NodeKind::Service, "serviceTask"),
            ("e".to_string(), NodeKind::End, "endEvent"),
        ]
    );
    assert_eq!(diags.len(), 5, "{diags:?}");
    assert!(diags.iter().all(|d| d.is_error() && d.run_only));
    assert_eq!(at(&text, &diags[0]), (6, 5));
    assert!(
        diags[0].message.contains("`userTask` `u`"),
        "{}",
        diags[0].message
    );
    assert!(
        diags[2].message.contains("a message"),
        "{}",
        diags[2].message
    );
    assert!(
        diags[3].message.contains("multi-instance"),
        "{}",
        diags[3].message
    );
}

#[test]
fn xml_syntax_error_at_line_and_column() {
    let text = "<definitions xmlns=\"http://www.omg.org/spec/BPMN/20100524/MODEL\">\n  <process id=\"p\">\n  </proces>\n</definitions>";
    let (wf, diags) = read_text(text);
    assert!(wf.is_none());
    assert_eq!(diags.len(), 1);
    assert!(
        diags[0].message.starts_with("invalid XML"),
        "{}",
        diags[0].message
    );
    assert_eq!(at(text, &diags[0]).0, 3);
}

#[test]
fn not_bpmn_and_no_process() {
    let (wf, diags) = read_text("<html></html>");
    assert!(wf.is_none());
    assert!(
        diags[0].message.contains("not a BPMN file"),
        "{}",
        diags[0].message
    );
    let (wf, diags) =
        read_text("<definitions xmlns=\"http://www.omg.org/spec/BPMN/20100524/MODEL\"/>");
    assert!(wf.is_none());
    assert!(
        diags[0].message.contains("no `process`"),
        "{}",
        diags[0].message
    );
}

#[test]
fn camunda7_is_one_message() {
    let text = r#"<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL">
  <process id="p" isExecutable="true">
    <startEvent id="s" />
    <sequenceFlow id="f" sourceRef="s" targetRef="g"><conditionExpression>${a}</conditionExpression></sequenceFlow>
    <sequenceFlow id="f2" sourceRef="s" targetRef="g"><conditionExpression>${!a}</conditionExpression></sequenceFlow>
  </process>
</definitions>"#;
    let (wf, diags) = read_text(text);
    assert!(wf.is_none());
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert!(
        diags[0].message.contains("Camunda 7"),
        "{}",
        diags[0].message
    );
    assert!(diags[0].message.contains("JUEL"), "{}", diags[0].message);
    assert_eq!(at(text, &diags[0]), (4, 54));
}

#[test]
fn duplicate_ids_and_unknown_refs() {
    let text = process(
        r#"    <startEvent id="s" />
    <sequenceFlow id="f1" sourceRef="s" targetRef="e" />
    <endEvent id="s" />
    <exclusiveGateway id="g" default="nope" />"#,
    );
    let (_, diags) = read_text(&text);
    let dup = diags
        .iter()
        .find(|d| d.message.contains("duplicate id `s`"))
        .expect("dup");
    assert_eq!(at(&text, dup), (6, 18));
    assert_eq!(dup.secondary.len(), 1);
    let def = diags
        .iter()
        .find(|d| d.message.contains("default flow `nope`"))
        .expect("default");
    assert_eq!(at(&text, def), (7, 38));
}

#[test]
fn feel_errors_point_into_the_attribute() {
    let text = process(
        r#"    <serviceTask id="t"><extensionElements><zeebe:ioMapping>
      <zeebe:input source="= a + &#34;x&#34; + )" target="v" />
    </zeebe:ioMapping></extensionElements></serviceTask>"#,
    );
    let (_, diags) = read_text(&text);
    let d = diags
        .iter()
        .find(|d| d.message.contains("for `v`"))
        .expect("feel error");
    let (line, col) = at(&text, d);
    assert_eq!(line, 5);
    assert_eq!(&text[d.primary.0.clone()], ")");
    assert!(col > 30);
}

#[test]
fn several_processes_need_a_choice() {
    let text = r#"<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL">
  <process id="one" isExecutable="true"><startEvent id="s1" /></process>
  <process id="two" isExecutable="true"><startEvent id="s2" /></process>
</definitions>"#;
    let (wf, diags) = read_text(text);
    assert!(wf.is_none());
    assert!(
        diags[0].message.contains("`one`, `two`"),
        "{}",
        diags[0].message
    );
    assert!(
        diags[0].message.contains("--process"),
        "{}",
        diags[0].message
    );
    let (wf, diags) = read(&SourceFile::from_text("t.bpmn", text), Some("two"));
    assert!(diags.is_empty(), "{diags:?}");
    assert_eq!(wf.expect("wf").nodes[0].id, "s2");
    let (wf, diags) = read(&SourceFile::from_text("t.bpmn", text), Some("tow"));
    assert!(wf.is_none());
    assert!(
        diags[0].message.contains("did you mean"),
        "{}",
        diags[0].message
    );
}

#[test]
fn a_collaboration_picks_its_participants_process() {
    let text = r#"<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL">
  <collaboration id="c"><participant id="pool" processRef="two" /><participant id="bb" /></collaboration>
  <process id="one" isExecutable="false"><startEvent id="s1" /></process>
  <process id="two" isExecutable="true"><startEvent id="s2" /></process>
</definitions>"#;
    let (wf, diags) = read_text(text);
    assert!(diags.is_empty(), "{diags:?}");
    assert_eq!(wf.expect("wf").bpmn.expect("origin").process_id, "two");
}
