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
fn camunda7_is_one_message_and_the_model_is_still_read() {
    let text = r#"<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL">
  <process id="p" isExecutable="true">
    <startEvent id="s" />
    <sequenceFlow id="f" sourceRef="s" targetRef="g"><conditionExpression>${a}</conditionExpression></sequenceFlow>
    <sequenceFlow id="f2" sourceRef="s" targetRef="g"><conditionExpression>${!a}</conditionExpression></sequenceFlow>
    <exclusiveGateway id="g" />
  </process>
</definitions>"#;
    let (wf, diags) = read_text(text);
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert!(
        diags[0].message.contains("Camunda 7"),
        "{}",
        diags[0].message
    );
    assert!(diags[0].message.contains("JUEL"), "{}", diags[0].message);
    assert!(diags[0].is_error() && diags[0].run_only);
    assert_eq!(at(text, &diags[0]), (4, 54));
    // The JUEL conditions are kept as written, unparsed.
    let wf = wf.expect("the model, for graph");
    let conditions: Vec<(&str, bool)> = wf
        .edges
        .iter()
        .filter_map(|e| e.condition.as_ref())
        .map(|c| (c.value.text.as_str(), c.expr.is_some()))
        .collect();
    assert_eq!(conditions, [("${a}", false), ("${!a}", false)]);
    // The same conditions in a Camunda 8 file are FEEL errors.
    let c8 = text.replace("${a}", "= a +").replace("${!a}", "= )");
    let (_, diags) = read_text(&c8);
    assert_eq!(diags.len(), 2, "{diags:?}");
    assert!(
        diags
            .iter()
            .all(|d| d.message.starts_with("in the condition"))
    );
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

/// A start, one service task `t` with `ext` as its extension elements and `extra` after it, an
/// end.
fn one_task(ext: &str, extra: &str) -> String {
    process(&format!(
        r#"    <startEvent id="s" />
    <sequenceFlow id="f1" sourceRef="s" targetRef="t" />
    <serviceTask id="t"><extensionElements>{ext}</extensionElements></serviceTask>
    <sequenceFlow id="f2" sourceRef="t" targetRef="e" />
    <endEvent id="e" />
{extra}"#
    ))
}

fn messages(diags: &[Diagnostic]) -> Vec<&str> {
    diags.iter().map(|d| d.message.as_str()).collect()
}

#[test]
fn wfop_properties_declare_inputs_secrets_and_node_fields() {
    let text = format!(
        r#"<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0">
  <process id="p" isExecutable="true">
    <extensionElements><zeebe:properties>
      <zeebe:property name="wfop.input.circuit" value="the circuit" />
      <zeebe:property name="wfop.input.shots" value="" />
      <zeebe:property name="wfop.secret.token" value="an API token" />
      <zeebe:property name="wfop.secret.unused" value="declared, not used" />
      <zeebe:property name="wfop.colour" value="blue" />
    </zeebe:properties></extensionElements>
{}
  </process>
</definitions>"#,
        r#"    <serviceTask id="t"><extensionElements>
      <zeebe:taskDefinition type="x" retries="2" />
      <zeebe:properties>
        <zeebe:property name="wfop.timeout" value="5m" />
        <zeebe:property name="wfop.max_iterations" value="7" />
        <zeebe:property name="wfop.backoff" value="PT2S" />
        <zeebe:property name="other" value="kept by the modeler" />
      </zeebe:properties>
      <zeebe:ioMapping><zeebe:input source="= {k: secret_value(&#34;token&#34;), j: secret_value(&#34;more&#34;)}" target="$secrets" /></zeebe:ioMapping>
    </extensionElements></serviceTask>
    <exclusiveGateway id="g"><extensionElements><zeebe:properties><zeebe:property name="wfop.timeout" value="1s" /></zeebe:properties></extensionElements></exclusiveGateway>"#
    );
    let (wf, diags) = read_text(&text);
    let wf = wf.expect("workflow");
    let inputs: Vec<(&str, Option<&str>)> = wf
        .inputs
        .iter()
        .flatten()
        .map(|d| (d.name.as_str(), d.description.as_deref()))
        .collect();
    assert_eq!(inputs, [("circuit", Some("the circuit")), ("shots", None)]);
    let secrets: Vec<(&str, Option<&str>)> = wf
        .secrets
        .iter()
        .flatten()
        .map(|d| (d.name.as_str(), d.description.as_deref()))
        .collect();
    assert_eq!(
        secrets,
        [
            ("token", Some("an API token")),
            ("unused", Some("declared, not used")),
            ("more", None)
        ]
    );
    let t = node(&wf, "t");
    assert_eq!(t.timeout, Some(std::time::Duration::from_secs(300)));
    assert_eq!(t.max_iterations, 7);
    assert_eq!(
        t.retries.as_ref().and_then(|r| r.backoff),
        Some(std::time::Duration::from_secs(2))
    );
    let m = messages(&diags);
    assert_eq!(m.len(), 2, "{m:?}");
    assert!(
        m[0].contains("`wfop.colour`") && !diags[0].is_error(),
        "{m:?}"
    );
    assert!(
        m[1].contains("`wfop.timeout` does not apply to `exclusiveGateway`") && diags[1].is_error()
    );
}

#[test]
fn timers_fixed_feel_variable_and_dates() {
    let timer = |def: &str| {
        process(&format!(
            r#"    <startEvent id="s" />
    <sequenceFlow id="f1" sourceRef="s" targetRef="w" />
    <intermediateCatchEvent id="w"><timerEventDefinition>{def}</timerEventDefinition></intermediateCatchEvent>
    <sequenceFlow id="f2" sourceRef="w" targetRef="e" />
    <endEvent id="e" />"#
        ))
    };
    let (wf, diags) = read_text(&timer(r#"<timeDuration>= duration("PT2M")</timeDuration>"#));
    assert!(diags.is_empty(), "{diags:?}");
    let t = wf.expect("wf").nodes[1].timer.clone().expect("timer");
    assert_eq!(t.duration, std::time::Duration::from_secs(120));
    assert_eq!(t.text, "= duration(\"PT2M\")");

    let (wf, diags) = read_text(&timer("<timeDuration>=wait</timeDuration>"));
    let w = &wf.expect("wf").nodes[1];
    assert!(w.unsupported.is_some() && w.timer.is_none());
    assert!(diags[0].run_only && diags[0].message.contains("computed from variables"));

    let text = timer("<timeDuration>=PT30S</timeDuration>");
    let (wf, diags) = read_text(&text);
    assert!(wf.expect("wf").nodes[1].timer.is_none());
    assert!(
        diags[0].message.contains("reads a variable named PT30S"),
        "{diags:?}"
    );
    assert!(diags[0].is_error() && !diags[0].run_only);
    assert_eq!(&text[diags[0].primary.0.clone()], "PT30S");

    let (wf, diags) = read_text(&timer("<timeDate>2030-01-01T00:00:00Z</timeDate>"));
    assert!(wf.expect("wf").nodes[1].unsupported.is_some());
    assert!(diags[0].message.contains("until a date"), "{diags:?}");

    let text = timer("<timeDuration>PT5X</timeDuration>");
    let (_, diags) = read_text(&text);
    assert!(
        diags[0]
            .message
            .starts_with("invalid timer duration \"PT5X\""),
        "{diags:?}"
    );
    assert!(!diags[0].run_only);
    assert_eq!(&text[diags[0].primary.0.clone()], "X");
}

#[test]
fn error_boundaries_catch_all_nowhere_and_unknown_errors() {
    let boundary = |def: &str, flow: bool| {
        let flow = if flow {
            r#"<sequenceFlow id="fb" sourceRef="b" targetRef="e" />"#
        } else {
            ""
        };
        format!(
            r#"<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL">
  <error id="known" errorCode="BOOM" /><error id="codeless" />
  <process id="p" isExecutable="true">
    <startEvent id="s" /><sequenceFlow id="f1" sourceRef="s" targetRef="t" />
    <serviceTask id="t" /><sequenceFlow id="f2" sourceRef="t" targetRef="e" />
    <boundaryEvent id="b" attachedToRef="t">{def}</boundaryEvent>{flow}
    <endEvent id="e" />
  </process>
</definitions>"#
        )
    };
    let (wf, diags) = read_text(&boundary("<errorEventDefinition />", true));
    let wf = wf.expect("wf");
    assert_eq!(wf.nodes[1].errors[0].code, flows::CATCH_ALL);
    assert_eq!(flows::CATCH_ALL, "*");
    assert_eq!(wf.nodes[1].errors[0].to, "e");
    assert!(diags.is_empty(), "{diags:?}");

    let (wf, diags) = read_text(&boundary(
        r#"<errorEventDefinition errorRef="known" />"#,
        false,
    ));
    assert!(wf.expect("wf").nodes[1].errors.is_empty());
    assert!(
        diags[0].run_only && diags[0].message.contains("no outgoing flow"),
        "{diags:?}"
    );

    let (_, diags) = read_text(&boundary(
        r#"<errorEventDefinition errorRef="nope" />"#,
        true,
    ));
    assert!(
        diags[0]
            .message
            .contains("errorRef `nope` names no `error`"),
        "{diags:?}"
    );
    let (_, diags) = read_text(&boundary(
        r#"<errorEventDefinition errorRef="codeless" />"#,
        true,
    ));
    assert!(diags[0].message.contains("has no errorCode"), "{diags:?}");
}

#[test]
fn mapping_rows_static_empty_and_duplicate() {
    let text = one_task(
        r#"<zeebe:ioMapping>
      <zeebe:input source="plain text" target="a" />
      <zeebe:input target="b" />
      <zeebe:input source="=1" target="a" />
    </zeebe:ioMapping>"#,
        "",
    );
    let (wf, diags) = read_text(&text);
    let rows = node(&wf.expect("wf"), "t")
        .input_mapping
        .clone()
        .expect("rows");
    assert_eq!(rows.len(), 2);
    assert_eq!(
        rows[0].expr.as_ref().map(|e| &e.kind),
        Some(&expr::ExprKind::String("plain text".into()))
    );
    assert_eq!(
        rows[1].expr.as_ref().map(|e| &e.kind),
        Some(&expr::ExprKind::Null)
    );
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert!(diags[0].message.contains("`a` is assigned twice"));
    assert_eq!(diags[0].secondary.len(), 1);
}

#[test]
fn task_definition_and_header_findings() {
    let text = one_task(
        r#"<zeebe:taskDefinition type="= kind" retries="0" />
      <zeebe:taskHeaders>
        <zeebe:header key="retryBackoff" value="PT1S" />
        <zeebe:header key="custom" value="x" />
        <zeebe:header key="resultExpression" value="= {a: " />
      </zeebe:taskHeaders>
      <zeebe:userTask />"#,
        "",
    );
    let (wf, diags) = read_text(&text);
    let t = node(&wf.expect("wf"), "t").clone();
    assert_eq!(t.task_type.as_deref(), Some("= kind"));
    assert!(t.retries.is_none());
    let m = messages(&diags);
    assert_eq!(m.len(), 6, "{m:?}");
    assert!(m[0].contains("task type of `t` is an expression") && diags[0].run_only);
    assert!(m[1].contains("retries must be a whole number from 1 to"));
    assert!(m[2].contains("retryBackoff without retries") && !diags[2].is_error());
    assert!(m[3].contains("task header `custom`") && !diags[3].is_error());
    assert!(m[4].contains("in the resultExpression"), "{m:?}");
    assert!(m[5].contains("`zeebe:userTask` on a service task") && !diags[5].is_error());
}

#[test]
fn start_event_inputs_and_message_start() {
    let text = process(
        r#"    <startEvent id="s"><extensionElements><zeebe:ioMapping><zeebe:input source="=1" target="x" /></zeebe:ioMapping></extensionElements></startEvent>
    <sequenceFlow id="f1" sourceRef="s" targetRef="e" />
    <endEvent id="e" />"#,
    );
    let (_, diags) = read_text(&text);
    assert!(
        diags[0]
            .message
            .contains("a start event has no input mapping"),
        "{diags:?}"
    );
    let text = process(
        r#"    <startEvent id="s"><messageEventDefinition /></startEvent>
    <sequenceFlow id="f1" sourceRef="s" targetRef="e" />
    <endEvent id="e" />"#,
    );
    let (wf, diags) = read_text(&text);
    let s = &wf.expect("wf").nodes[0];
    assert_eq!(s.kind, NodeKind::Start);
    assert_eq!(
        s.unsupported.as_ref().map(|u| u.element.as_str()),
        Some("startEvent")
    );
    assert!(diags[0].message.contains("a message"), "{diags:?}");
}

#[test]
fn unknown_and_drawing_only_elements() {
    let text = process(
        r#"    <startEvent id="s" />
    <textAnnotation id="note"><text>hello</text></textAnnotation>
    <association id="as" sourceRef="s" targetRef="note" />
    <laneSet id="ls" />
    <somethingNew id="n" />"#,
    );
    let (wf, diags) = read_text(&text);
    assert_eq!(wf.expect("wf").nodes.len(), 1);
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert!(!diags[0].is_error() && diags[0].message.contains("`somethingNew`"));
    assert_eq!(at(&text, &diags[0]), (8, 5));
}

#[test]
fn secrets_in_a_secrets_row_are_masked_in_parse_errors() {
    let text = one_task(
        r#"<zeebe:ioMapping><zeebe:input source="= {k: hunter2 + }" target="$secrets" /></zeebe:ioMapping>"#,
        "",
    );
    let (_, diags) = read_text(&text);
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert!(
        diags[0]
            .message
            .contains("`$secrets` expression does not parse")
    );
    assert!(!diags[0].message.contains("hunter"), "{}", diags[0].message);
}

#[test]
fn a_task_type_equal_to_the_id_is_no_type() {
    let (wf, _) = read_text(&one_task(r#"<zeebe:taskDefinition type="t" />"#, ""));
    assert_eq!(node(&wf.expect("wf"), "t").task_type, None);
    let (wf, _) = read_text(&one_task(r#"<zeebe:taskDefinition type="other" />"#, ""));
    assert_eq!(
        node(&wf.expect("wf"), "t").task_type.as_deref(),
        Some("other")
    );
}

#[test]
fn no_input_makes_it_panic() {
    // Every prefix of a rich file, and the file with each byte class swapped in at many places:
    // findings, never a panic.
    let text = MAPPED;
    let cuts = (0..text.len())
        .step_by(3)
        .filter(|&i| text.is_char_boundary(i));
    for cut in cuts {
        let _ = read_text(&text[..cut]);
    }
    for (i, _) in text.char_indices().step_by(5) {
        for c in ['<', '>', '"', '&', '=', 'é', '\r', ';'] {
            let mut s = text.to_string();
            let end = i + s[i..].chars().next().map_or(0, char::len_utf8);
            s.replace_range(i..end, &c.to_string());
            let (_, diags) = read_text(&s);
            for d in diags {
                assert!(d.primary.0.start <= s.len() && d.primary.0.end <= s.len());
            }
        }
    }
}

#[test]
fn a_timer_error_inside_a_multibyte_character_does_not_split_it() {
    let text = process(
        r#"    <startEvent id="s" /><sequenceFlow id="f1" sourceRef="s" targetRef="w" />
    <intermediateCatchEvent id="w"><timerEventDefinition><timeDuration>PT5é</timeDuration></timerEventDefinition></intermediateCatchEvent>"#,
    );
    let (_, diags) = read_text(&text);
    let d = diags
        .iter()
        .find(|d| d.message.contains("invalid timer"))
        .expect("finding");
    assert!(text.get(d.primary.0.clone()).is_some(), "{:?}", d.primary.0);
}

#[test]
fn an_error_path_into_a_task_makes_no_merge() {
    let text = r#"<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL">
  <error id="x" errorCode="X" />
  <process id="p" isExecutable="true">
    <startEvent id="s" /><sequenceFlow id="f1" sourceRef="s" targetRef="a" />
    <serviceTask id="a" /><sequenceFlow id="f2" sourceRef="a" targetRef="h" />
    <boundaryEvent id="b" attachedToRef="a"><errorEventDefinition errorRef="x" /></boundaryEvent>
    <sequenceFlow id="f3" sourceRef="b" targetRef="h" />
    <serviceTask id="h" /><sequenceFlow id="f4" sourceRef="h" targetRef="e" />
    <endEvent id="e" />
  </process>
</definitions>"#;
    let (wf, diags) = read_text(text);
    assert!(diags.is_empty(), "{diags:?}");
    let wf = wf.expect("wf");
    let ids: Vec<&str> = wf.nodes.iter().map(|n| n.id.as_str()).collect();
    assert_eq!(ids, ["s", "a", "h", "e"]);
    assert_eq!(wf.nodes[1].errors[0].to, "h");
}

#[test]
fn camunda7_by_its_execution_platform() {
    let text = r#"<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:modeler="http://camunda.org/schema/modeler/1.0" modeler:executionPlatform="Camunda Platform" modeler:executionPlatformVersion="7.19.0">
  <process id="p" isExecutable="true"><startEvent id="s" /></process>
</definitions>"#;
    let (wf, diags) = read_text(text);
    assert!(wf.is_some());
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert!(
        diags[0].message.contains("Camunda Platform 7"),
        "{}",
        diags[0].message
    );
    let c8 = text.replace("Camunda Platform", "Camunda Cloud");
    let (_, diags) = read_text(&c8);
    assert!(diags.is_empty(), "{diags:?}");
}

#[test]
fn wfop_tty_and_stdin_properties_read_write_and_refuse_other_values() {
    let props = |tty: &str, stdin: &str| {
        one_task(
            &format!(
                r#"<zeebe:taskDefinition type="x" /><zeebe:properties>
        <zeebe:property name="wfop.tty" value="{tty}" />
        <zeebe:property name="wfop.stdin" value="{stdin}" />
      </zeebe:properties>"#
            ),
            "",
        )
    };
    let (wf, diags) = read_text(&props("true", "open"));
    assert!(diags.is_empty(), "{diags:?}");
    let wf = wf.expect("workflow");
    let t = node(&wf, "t");
    assert!(t.tty && t.stdin_open);
    // Written back as the same properties (and only when set).
    let text = crate::workflow::bpmn::write::export(&wf).expect("export");
    assert!(text.contains(r#"name="wfop.tty" value="true""#), "{text}");
    assert!(text.contains(r#"name="wfop.stdin" value="open""#), "{text}");
    let (again, _) = read_text(&text);
    let again = again.expect("re-read");
    assert!(node(&again, "t").tty && node(&again, "t").stdin_open);
    let (wf, diags) = read_text(&props("false", "closed"));
    let t = node(wf.as_ref().expect("workflow"), "t");
    assert!(diags.is_empty() && !t.tty && !t.stdin_open, "{diags:?}");
    let plain = crate::workflow::bpmn::write::export(wf.as_ref().unwrap()).unwrap();
    assert!(!plain.contains("wfop.tty") && !plain.contains("wfop.stdin"));
    let (_, diags) = read_text(&props("yes", "maybe"));
    let m = messages(&diags);
    assert!(
        m.iter()
            .any(|m| m.contains("wfop.tty must be `true` or `false`, found \"yes\"")),
        "{m:?}"
    );
    assert!(
        m.iter()
            .any(|m| m.contains("wfop.stdin must be `open` or `closed`, found \"maybe\"")),
        "{m:?}"
    );
}

/// A service task with these `wfop.` properties (`(name, value)`).
fn task_with(props: &[(&str, &str)]) -> String {
    let props: String = props
        .iter()
        .map(|(n, v)| format!("\n        <zeebe:property name=\"{n}\" value=\"{v}\" />"))
        .collect();
    one_task(
        &format!(
            r#"<zeebe:taskDefinition type="x" /><zeebe:properties>{props}
      </zeebe:properties>"#
        ),
        "",
    )
}

#[test]
fn wfop_executor_and_slurm_properties_read_and_write_back() {
    use crate::workflow::{NodeExecutor, SlurmSettings};
    let text = task_with(&[
        ("wfop.slurm.args", " --gres=gpu:1  -N2 "),
        ("wfop.executor", "slurm"),
        ("wfop.slurm.partition", "gpu"),
        ("wfop.slurm.account", "proj1"),
        ("wfop.slurm.qos", "high"),
        ("wfop.slurm.job", "own"),
    ]);
    let (wf, diags) = read_text(&text);
    assert!(diags.is_empty(), "{diags:?}");
    let wf = wf.expect("workflow");
    let full = NodeExecutor::Slurm(SlurmSettings {
        partition: Some("gpu".into()),
        account: Some("proj1".into()),
        qos: Some("high".into()),
        args: vec!["--gres=gpu:1".into(), "-N2".into()],
        own_job: true,
    });
    assert_eq!(node(&wf, "t").executor, full);
    // Written back as the same properties; read again, the same executor.
    let text = crate::workflow::bpmn::write::export(&wf).expect("export");
    for (name, value) in [
        ("wfop.executor", "slurm"),
        ("wfop.slurm.partition", "gpu"),
        ("wfop.slurm.args", "--gres=gpu:1 -N2"),
        ("wfop.slurm.job", "own"),
    ] {
        assert!(
            text.contains(&format!(r#"name="{name}" value="{value}""#)),
            "{name}: {text}"
        );
    }
    let (again, diags) = read_text(&text);
    assert!(diags.is_empty(), "{diags:?}");
    assert_eq!(node(&again.expect("re-read"), "t").executor, full);
    // Each other form, round-tripped; the run's executor writes nothing.
    for (props, want) in [
        (vec![("wfop.executor", "local")], NodeExecutor::Local),
        (
            vec![("wfop.executor", "slurm")],
            NodeExecutor::Slurm(SlurmSettings::default()),
        ),
        (
            vec![("wfop.executor", "slurm"), ("wfop.slurm.job", "step")],
            NodeExecutor::Slurm(SlurmSettings::default()),
        ),
        (vec![], NodeExecutor::Run),
    ] {
        let (wf, diags) = read_text(&task_with(&props));
        assert!(diags.is_empty(), "{diags:?}");
        let wf = wf.expect("workflow");
        assert_eq!(node(&wf, "t").executor, want, "{props:?}");
        let text = crate::workflow::bpmn::write::export(&wf).expect("export");
        assert_eq!(text.contains("wfop.executor"), want != NodeExecutor::Run);
        assert!(!text.contains("wfop.slurm."), "{text}");
        let (again, _) = read_text(&text);
        assert_eq!(node(&again.expect("re-read"), "t").executor, want);
    }
}

#[test]
fn wfop_executor_and_slurm_property_mistakes_at_their_place() {
    // (properties, the message, the text the finding points at)
    type Props<'a> = &'a [(&'a str, &'a str)];
    let cases: &[(Props, &str, &str)] = &[
        (
            &[("wfop.executor", "slrum")],
            "wfop.executor must be `local` or `slurm`, found \"slrum\", did you mean `slurm`?",
            "slrum",
        ),
        (
            &[("wfop.executor", "slurm"), ("wfop.slurm.partiton", "gpu")],
            "unknown Slurm setting `wfop.slurm.partiton`, did you mean `wfop.slurm.partition`?",
            "wfop.slurm.partiton",
        ),
        (
            &[
                ("wfop.executor", "slurm"),
                ("wfop.slurm.args", "--time 10:00"),
            ],
            "wfop.slurm.args: `10:00` is not an option",
            "--time 10:00",
        ),
        (
            &[("wfop.executor", "slurm"), ("wfop.slurm.job", "mine")],
            "wfop.slurm.job must be `own` (a job of its own) or `step` (a step in the run's allocation), found \"mine\"",
            "mine",
        ),
        (
            &[("wfop.executor", "slurm"), ("wfop.slurm.qos", " ")],
            "`wfop.slurm.qos` must not be empty",
            " ",
        ),
        (
            &[("wfop.slurm.account", "proj1")],
            "`wfop.slurm.account` needs `wfop.executor` = `slurm` on the same task",
            "wfop.slurm.account",
        ),
        (
            &[("wfop.executor", "local"), ("wfop.slurm.partition", "gpu")],
            "`wfop.slurm.partition` is a Slurm setting, but this task's `wfop.executor` is `local`",
            "wfop.slurm.partition",
        ),
    ];
    for (props, message, at) in cases {
        let text = task_with(props);
        let (wf, diags) = read_text(&text);
        assert_eq!(diags.len(), 1, "{props:?}: {diags:?}");
        let d = &diags[0];
        assert!(
            d.is_error() && d.message.contains(message),
            "{props:?}: {}",
            d.message
        );
        // The attribute's value, quotes included.
        assert_eq!(&text[d.primary.0.clone()], format!("\"{at}\""), "{props:?}");
        // A refused property leaves the task on the run's executor.
        let executor = &node(wf.as_ref().expect("workflow"), "t").executor;
        assert_eq!(*executor, crate::workflow::NodeExecutor::Run, "{props:?}");
    }
    // Only service tasks take them.
    let text = process(
        r#"    <startEvent id="s"><extensionElements><zeebe:properties>
      <zeebe:property name="wfop.slurm.qos" value="high" />
    </zeebe:properties></extensionElements></startEvent>"#,
    );
    let (_, diags) = read_text(&text);
    let d = diags
        .iter()
        .find(|d| d.message.contains("does not apply to `startEvent`"))
        .unwrap_or_else(|| panic!("{diags:?}"));
    assert_eq!(&text[d.primary.0.clone()], "\"wfop.slurm.qos\"");
    assert_eq!(at(&text, d), (5, 28));
}

#[test]
fn a_slurm_argument_with_whitespace_is_not_exported() {
    let (wf, _) = read_text(&task_with(&[("wfop.executor", "slurm")]));
    let mut wf = wf.expect("workflow");
    let t = wf.nodes.iter_mut().find(|n| n.id == "t").expect("t");
    t.executor = crate::workflow::NodeExecutor::Slurm(crate::workflow::SlurmSettings {
        args: vec!["--exclusive".into(), "--comment=two words".into()],
        ..Default::default()
    });
    let err = crate::workflow::bpmn::write::export(&wf).expect_err("refused");
    assert!(
        err.to_string()
            .contains("node `t`: the Slurm argument \"--comment=two words\" holds whitespace"),
        "{err}"
    );
}
