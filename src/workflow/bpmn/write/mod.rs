//! The workflow model → a Camunda 8 BPMN file with a diagram (`export`), and the binding file
//! that gives its service tasks their `run` again (`bindings`). docs/bpmn.md, "Writing BPMN",
//! says what becomes what.

mod bindings;
mod diagram;
mod xml;

pub use bindings::bindings;

use std::collections::HashMap;
use std::time::Duration;

use super::props;
use crate::workflow::model::CATCH_ALL;
use crate::workflow::{
    DEFAULT_MAX_ITERATIONS, Edge, ErrorPath, MappingRow, Node, NodeExecutor, NodeKind, Workflow,
};
use xml::{Ids, Xml};

/// Why a workflow cannot be written as BPMN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExportError {
    /// A node that stands for a BPMN element wfop does not run (read from a BPMN file).
    #[error("node `{node}` is a BPMN {element} that wfop does not run; it cannot be exported")]
    Unsupported { node: String, element: String },
    /// Text holding a character that no XML file can hold.
    #[error(
        "{element}: its `{field}` holds the control character U+{code:04X}, which a BPMN (XML) file cannot hold"
    )]
    Character {
        element: String,
        field: String,
        code: u32,
    },
    /// A Slurm argument with whitespace in it: `wfop.slurm.args` separates arguments by
    /// whitespace, so it would be read back as several.
    #[error(
        "node `{node}`: the Slurm argument \"{arg}\" holds whitespace, which `wfop.slurm.args` cannot keep (its arguments are separated by whitespace)"
    )]
    SlurmArg { node: String, arg: String },
}

/// The workflow as BPMN XML: one executable process, `zeebe:` extensions for what wfop's model
/// says (task definitions, mappings, headers, retries), `wfop.` properties for what only wfop
/// says (see `bpmn::props`), error boundary events for error paths, and a `bpmndi` diagram
/// laid out by `workflow::layout`. Reading the text back (`read` + `bind` with [`bindings`])
/// gives the same workflow. Every character of the workflow's texts is kept; the text holds no
/// character that a terminal acts on.
pub fn export(wf: &Workflow) -> Result<String, ExportError> {
    if let Some(n) = wf.nodes.iter().find(|n| n.unsupported.is_some()) {
        let element = n
            .unsupported
            .as_ref()
            .map(|u| u.element.clone())
            .unwrap_or_default();
        return Err(ExportError::Unsupported {
            node: n.id.clone(),
            element,
        });
    }
    for n in &wf.nodes {
        if let NodeExecutor::Slurm(s) = &n.executor
            && let Some(arg) = s.args.iter().find(|a| a.contains(char::is_whitespace))
        {
            return Err(ExportError::SlurmArg {
                node: n.id.clone(),
                arg: arg.escape_debug().to_string(),
            });
        }
    }
    let mut ids = Ids::default();
    for n in &wf.nodes {
        ids.reserve(&n.id);
    }
    let plan = Plan::new(wf, &mut ids);
    let mut x = Xml::new();
    x.element = "the workflow".into();
    x.open(
        "bpmn:definitions",
        &[
            ("xmlns:bpmn", super::BPMN_NS),
            ("xmlns:bpmndi", super::BPMNDI_NS),
            ("xmlns:dc", super::DC_NS),
            ("xmlns:di", super::DI_NS),
            ("xmlns:zeebe", super::ZEEBE_NS),
            ("xmlns:xsi", super::XSI_NS),
            ("xmlns:modeler", super::MODELER_NS),
            ("id", &plan.definitions_id),
            ("targetNamespace", "http://bpmn.io/schema/bpmn"),
            ("exporter", "wfop"),
            ("exporterVersion", env!("CARGO_PKG_VERSION")),
            ("modeler:executionPlatform", "Camunda Cloud"),
            ("modeler:executionPlatformVersion", "8.7.0"),
        ],
    );
    for (code, id) in &plan.errors {
        x.empty(
            "bpmn:error",
            &[("id", id), ("name", code), ("errorCode", code)],
        );
    }
    x.open(
        "bpmn:process",
        &[
            ("id", &plan.process_id),
            ("name", &wf.name),
            ("isExecutable", "true"),
        ],
    );
    process_properties(&mut x, wf);
    for n in &wf.nodes {
        x.element = format!("node `{}`", n.id);
        node(&mut x, wf, n, &plan);
    }
    for b in &plan.boundaries {
        x.element = format!("node `{}`", b.node);
        boundary(&mut x, wf, b, &plan);
    }
    for j in &plan.joins {
        x.element = format!("node `{}`", wf.nodes[j.node].id);
        join(&mut x, wf, j, &plan);
    }
    for f in &plan.flows {
        x.element = match f.edge {
            Some(i) => format!("the edge {} → {}", wf.edges[i].from, wf.edges[i].to),
            None => format!("node `{}`", f.from),
        };
        flow(&mut x, wf, f);
    }
    x.close("bpmn:process");
    x.element = "the diagram".into();
    diagram::write(&mut x, wf, &plan);
    x.close("bpmn:definitions");
    x.finish().map_err(|f| ExportError::Character {
        element: f.element,
        field: f.field,
        code: f.char as u32,
    })
}

/// The ids of what the export writes besides the nodes, decided before anything is written.
pub(super) struct Plan {
    definitions_id: String,
    process_id: String,
    /// Each error code once, with the id of its `bpmn:error`, in the order they occur.
    errors: Vec<(String, String)>,
    /// The error boundary events, service by service.
    boundaries: Vec<Boundary>,
    /// The sequence flows: the workflow's edges in their order (their order is what an
    /// exclusive gateway tries), then the flows out of the boundary events.
    flows: Vec<Flow>,
    diagram_id: String,
    plane_id: String,
    /// Flow indexes by target element, and (the edges' flows only) by source node.
    by_target: HashMap<String, Vec<usize>>,
    by_source: HashMap<String, Vec<usize>>,
    /// The parallel gateways put in front of joins.
    joins: Vec<Join>,
    /// The diagram's shape ids: the nodes', then the boundary events', then the joins'.
    shape_ids: Vec<String>,
    /// The diagram's edge ids, one per flow.
    edge_ids: Vec<String>,
}

/// An error path as a boundary event on its service.
pub(super) struct Boundary {
    id: String,
    /// The service's id.
    node: String,
    /// Index of the service in `wf.nodes`, and of the path in its `errors`.
    at: (usize, usize),
    /// The id of the flow out of it.
    flow: String,
}

/// A parallel join gateway in front of a service or timer with several incoming edges: wfop's
/// service joins (runs once a token came along every edge), a BPMN task runs once per token.
pub(super) struct Join {
    id: String,
    /// Index of the node it joins for.
    node: usize,
    /// The id of the flow from it to the node.
    flow: String,
}

/// A sequence flow: from a node, a boundary event or a join gateway, to a node or a join
/// gateway.
pub(super) struct Flow {
    id: String,
    from: String,
    to: String,
    /// Index in `wf.edges`; `None` for a boundary event's flow and a join gateway's.
    edge: Option<usize>,
}

impl Plan {
    fn new(wf: &Workflow, ids: &mut Ids) -> Plan {
        let definitions_id = ids.fresh("Definitions_", "Definitions_wfop");
        let process_id = ids.fresh("Process_", &wf.name);
        let mut errors: Vec<(String, String)> = Vec::new();
        let mut flows: Vec<Flow> = wf
            .edges
            .iter()
            .enumerate()
            .map(|(i, e)| Flow {
                id: ids.fresh("Flow_", &format!("Flow_{}_{}", e.from, e.to)),
                from: e.from.clone(),
                to: e.to.clone(),
                edge: Some(i),
            })
            .collect();
        let mut joins: Vec<Join> = Vec::new();
        let mut into_node: HashMap<&str, Vec<usize>> = HashMap::new();
        for (k, e) in wf.edges.iter().enumerate() {
            into_node.entry(e.to.as_str()).or_default().push(k);
        }
        for (i, n) in wf.nodes.iter().enumerate() {
            let into = into_node.get(n.id.as_str()).cloned().unwrap_or_default();
            if !matches!(n.kind, NodeKind::Service | NodeKind::Timer) || into.len() < 2 {
                continue;
            }
            let id = ids.fresh("Join_", &format!("{}.join", n.id));
            for k in into {
                flows[k].to = id.clone();
            }
            let flow = ids.fresh("Flow_", &format!("Flow_{id}_{}", n.id));
            flows.push(Flow {
                id: flow.clone(),
                from: id.clone(),
                to: n.id.clone(),
                edge: None,
            });
            joins.push(Join { id, node: i, flow });
        }
        let mut boundaries = Vec::new();
        for (i, n) in wf.nodes.iter().enumerate() {
            for (j, path) in n.errors.iter().enumerate() {
                if path.code != CATCH_ALL && !errors.iter().any(|(code, _)| *code == path.code) {
                    let id = ids.fresh("Error_", &format!("Error_{}", path.code));
                    errors.push((path.code.clone(), id));
                }
                let name = if path.code == CATCH_ALL {
                    "any"
                } else {
                    &path.code
                };
                let id = ids.fresh("Error_", &format!("{}_error_{name}", n.id));
                let flow = ids.fresh("Flow_", &format!("Flow_{id}_{}", path.to));
                flows.push(Flow {
                    id: flow.clone(),
                    from: id.clone(),
                    to: path.to.clone(),
                    edge: None,
                });
                boundaries.push(Boundary {
                    id,
                    node: n.id.clone(),
                    at: (i, j),
                    flow,
                });
            }
        }
        let diagram_id = ids.fresh("Diagram_", "BPMNDiagram_1");
        let plane_id = ids.fresh("Plane_", "BPMNPlane_1");
        let shape_ids = wf
            .nodes
            .iter()
            .map(|n| n.id.as_str())
            .chain(boundaries.iter().map(|b| b.id.as_str()))
            .chain(joins.iter().map(|j| j.id.as_str()))
            .map(|id| ids.fresh("Shape_", &format!("{id}_di")))
            .collect();
        let edge_ids = flows
            .iter()
            .map(|f| ids.fresh("Edge_", &format!("{}_di", f.id)))
            .collect();
        let mut by_target: HashMap<String, Vec<usize>> = HashMap::new();
        let mut by_source: HashMap<String, Vec<usize>> = HashMap::new();
        for (k, f) in flows.iter().enumerate() {
            by_target.entry(f.to.clone()).or_default().push(k);
            if f.edge.is_some() {
                by_source.entry(f.from.clone()).or_default().push(k);
            }
        }
        Plan {
            by_target,
            by_source,
            definitions_id,
            process_id,
            errors,
            boundaries,
            flows,
            joins,
            diagram_id,
            plane_id,
            shape_ids,
            edge_ids,
        }
    }

    /// The flows into an element, in order.
    fn incoming(&self, id: &str) -> impl Iterator<Item = &Flow> + Clone {
        let list = self.by_target.get(id).map_or(&[][..], Vec::as_slice);
        list.iter().map(|&k| &self.flows[k])
    }

    /// The edges' flows out of a node, in order.
    fn outgoing(&self, id: &str) -> impl Iterator<Item = &Flow> + Clone {
        let list = self.by_source.get(id).map_or(&[][..], Vec::as_slice);
        list.iter().map(|&k| &self.flows[k])
    }

    fn error_id(&self, code: &str) -> &str {
        self.errors
            .iter()
            .find(|(c, _)| c == code)
            .map_or("", |(_, id)| id)
    }
}

/// A FEEL expression as the modeler writes it: with a leading `=` (a value without one is a
/// static string in Zeebe).
fn feel(text: &str) -> String {
    if text.trim_start().starts_with('=') {
        text.to_string()
    } else {
        format!("={text}")
    }
}

/// A timeout as a workflow writes it, exactly (`1h30m`, `1s500ms`).
pub(super) fn timeout_text(d: Duration) -> String {
    let ms = d.as_millis();
    let parts = [
        (ms / 3_600_000, "h"),
        (ms / 60_000 % 60, "m"),
        (ms / 1000 % 60, "s"),
        (ms % 1000, "ms"),
    ];
    let text: String = parts
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| format!("{n}{unit}"))
        .collect();
    if text.is_empty() { "0ms".into() } else { text }
}

/// A duration as ISO 8601 (`PT5S`, `PT0.25S`), exactly.
pub(super) fn iso_duration(d: Duration) -> String {
    let nanos = d.subsec_nanos();
    if nanos == 0 {
        format!("PT{}S", d.as_secs())
    } else {
        let frac = format!("{nanos:09}");
        format!("PT{}.{}S", d.as_secs(), frac.trim_end_matches('0'))
    }
}

/// The process's `zeebe:properties`: its description, the declared inputs and every secret it
/// declares or uses, with their descriptions.
fn process_properties(x: &mut Xml, wf: &Workflow) {
    let mut props: Vec<(String, Option<String>)> = Vec::new();
    if let Some(d) = &wf.description {
        props.push(("description".into(), Some(d.clone())));
    }
    match &wf.inputs {
        Some(inputs) if inputs.is_empty() => {
            props.push((props::INPUTS.into(), Some(props::EMPTY_OBJECT.into())));
        }
        Some(inputs) => props.extend(inputs.iter().map(|d| {
            (
                format!("{}{}", props::INPUT_PREFIX, d.name),
                d.description.clone(),
            )
        })),
        None => {}
    }
    props.extend(
        secret_decls(wf)
            .into_iter()
            .map(|(name, d)| (format!("{}{name}", props::SECRET_PREFIX), d)),
    );
    if props.is_empty() {
        return;
    }
    x.open("bpmn:extensionElements", &[]);
    properties(x, &props);
    x.close("bpmn:extensionElements");
}

/// The workflow's secrets: the declared ones (with their descriptions), then each field a
/// `$secrets` row uses that is not declared (as the BPMN reader declares it).
pub(super) fn secret_decls(wf: &Workflow) -> Vec<(String, Option<String>)> {
    let mut out: Vec<(String, Option<String>)> = wf
        .secrets
        .iter()
        .flatten()
        .map(|d| (d.name.clone(), d.description.clone()))
        .collect();
    for n in &wf.nodes {
        for b in n.bound_secrets() {
            if !out.iter().any(|(name, _)| *name == b.secret) {
                out.push((b.secret.clone(), None));
            }
        }
    }
    out
}

fn properties(x: &mut Xml, props: &[(String, Option<String>)]) {
    x.open("zeebe:properties", &[]);
    for (name, value) in props {
        let value = value.as_deref().unwrap_or_default();
        x.empty("zeebe:property", &[("name", name), ("value", value)]);
    }
    x.close("zeebe:properties");
}

fn element_name(kind: NodeKind) -> &'static str {
    match kind {
        NodeKind::Start => "bpmn:startEvent",
        NodeKind::End => "bpmn:endEvent",
        NodeKind::Service => "bpmn:serviceTask",
        NodeKind::Exclusive => "bpmn:exclusiveGateway",
        NodeKind::Parallel => "bpmn:parallelGateway",
        NodeKind::Timer => "bpmn:intermediateCatchEvent",
    }
}

fn node(x: &mut Xml, wf: &Workflow, n: &Node, plan: &Plan) {
    let tag = element_name(n.kind);
    let mut attrs: Vec<(&str, &str)> = vec![("id", &n.id)];
    if let Some(label) = &n.label {
        attrs.push(("name", label));
    }
    let outgoing = plan.outgoing(&n.id);
    let default_flow = outgoing
        .clone()
        .find(|f| f.edge.is_some_and(|i| wf.edges[i].default));
    if n.kind == NodeKind::Exclusive
        && let Some(f) = default_flow
    {
        attrs.push(("default", &f.id));
    }
    x.open(tag, &attrs);
    if let Some(d) = &n.description {
        x.text("bpmn:documentation", &[], d);
    }
    extensions(x, n);
    for f in plan.incoming(&n.id) {
        x.text("bpmn:incoming", &[], &f.id);
    }
    for f in outgoing {
        x.text("bpmn:outgoing", &[], &f.id);
    }
    if let Some(t) = &n.timer {
        x.open("bpmn:timerEventDefinition", &[]);
        x.text(
            "bpmn:timeDuration",
            &[("xsi:type", "bpmn:tFormalExpression")],
            &t.text,
        );
        x.close("bpmn:timerEventDefinition");
    }
    x.close(tag);
}

/// A node's `extensionElements`: task definition, headers, mappings, `wfop.` properties.
fn extensions(x: &mut Xml, n: &Node) {
    let mut props: Vec<(String, Option<String>)> = Vec::new();
    if let Some(t) = n.timeout {
        props.push((props::TIMEOUT.into(), Some(timeout_text(t))));
    }
    if n.tty {
        props.push((props::TTY.into(), Some("true".into())));
    }
    if n.stdin_open {
        props.push((props::STDIN.into(), Some("open".into())));
    }
    match &n.executor {
        NodeExecutor::Run => {}
        NodeExecutor::Local => props.push((props::EXECUTOR.into(), Some("local".into()))),
        NodeExecutor::Slurm(s) => {
            props.push((props::EXECUTOR.into(), Some("slurm".into())));
            let args = (!s.args.is_empty()).then(|| s.args.join(" "));
            let job = s.own_job.then(|| "own".to_string());
            let settings = [
                ("partition", s.partition.clone()),
                ("account", s.account.clone()),
                ("qos", s.qos.clone()),
                ("args", args),
                ("job", job),
            ];
            for (setting, value) in settings {
                if let Some(v) = value {
                    props.push((format!("{}{setting}", props::SLURM_PREFIX), Some(v)));
                }
            }
        }
    }
    if n.max_iterations != DEFAULT_MAX_ITERATIONS {
        props.push((
            props::MAX_ITERATIONS.into(),
            Some(n.max_iterations.to_string()),
        ));
    }
    if n.input_mapping.as_ref().is_some_and(|m| m.is_empty()) {
        props.push((props::INPUT_MAPPING.into(), Some(props::EMPTY_TABLE.into())));
    }
    if n.output_mapping.as_ref().is_some_and(|m| m.is_empty()) {
        props.push((
            props::OUTPUT_MAPPING.into(),
            Some(props::EMPTY_TABLE.into()),
        ));
    }
    let service = n.kind == NodeKind::Service;
    let headers: Vec<(&str, String)> = [
        ("resultVariable", n.result_variable.clone()),
        (
            "resultExpression",
            n.result_expression.as_ref().map(|e| feel(&e.value.text)),
        ),
        (
            "errorExpression",
            n.error_expression.as_ref().map(|e| feel(&e.value.text)),
        ),
        // The connectors' header for the wait between attempts.
        (
            "retryBackoff",
            n.retries.as_ref().and_then(|r| r.backoff).map(iso_duration),
        ),
    ]
    .into_iter()
    .filter_map(|(k, v)| Some((k, v?)))
    .collect();
    let inputs = n.input_mapping.as_deref().unwrap_or_default();
    let outputs = n.output_mapping.as_deref().unwrap_or_default();
    if !service && headers.is_empty() && inputs.is_empty() && outputs.is_empty() && props.is_empty()
    {
        return;
    }
    x.open("bpmn:extensionElements", &[]);
    if service {
        let task_type = n.task_type.as_deref().unwrap_or(&n.id);
        let retries = n.retries.as_ref().map(|r| r.attempts.to_string());
        let mut attrs = vec![("type", task_type)];
        if let Some(r) = &retries {
            attrs.push(("retries", r));
        }
        x.empty("zeebe:taskDefinition", &attrs);
    }
    if !headers.is_empty() {
        x.open("zeebe:taskHeaders", &[]);
        for (key, value) in &headers {
            x.empty("zeebe:header", &[("key", key), ("value", value)]);
        }
        x.close("zeebe:taskHeaders");
    }
    io_mapping(x, inputs, outputs);
    if !props.is_empty() {
        properties(x, &props);
    }
    x.close("bpmn:extensionElements");
}

/// `zeebe:ioMapping` with the rows as inputs and outputs (`target` ← `source`), when there are
/// any.
fn io_mapping(x: &mut Xml, inputs: &[MappingRow], outputs: &[MappingRow]) {
    if inputs.is_empty() && outputs.is_empty() {
        return;
    }
    x.open("zeebe:ioMapping", &[]);
    for (tag, rows) in [("zeebe:input", inputs), ("zeebe:output", outputs)] {
        for row in rows {
            let source = feel(&row.value.text);
            x.empty(tag, &[("source", &source), ("target", &row.name)]);
        }
    }
    x.close("zeebe:ioMapping");
}

fn boundary(x: &mut Xml, wf: &Workflow, b: &Boundary, plan: &Plan) {
    let path: &ErrorPath = &wf.nodes[b.at.0].errors[b.at.1];
    x.open(
        "bpmn:boundaryEvent",
        &[("id", &b.id), ("attachedToRef", &b.node)],
    );
    let outputs = path.output_mapping.as_deref().unwrap_or_default();
    let empty = path.output_mapping.as_ref().is_some_and(|m| m.is_empty());
    if !outputs.is_empty() || empty {
        x.open("bpmn:extensionElements", &[]);
        io_mapping(x, &[], outputs);
        if empty {
            properties(
                x,
                &[(
                    props::OUTPUT_MAPPING.into(),
                    Some(props::EMPTY_TABLE.into()),
                )],
            );
        }
        x.close("bpmn:extensionElements");
    }
    x.text("bpmn:outgoing", &[], &b.flow);
    if path.code == CATCH_ALL {
        x.empty("bpmn:errorEventDefinition", &[]);
    } else {
        x.empty(
            "bpmn:errorEventDefinition",
            &[("errorRef", plan.error_id(&path.code))],
        );
    }
    x.close("bpmn:boundaryEvent");
}

/// The join gateway, marked (`wfop.join`) so that reading folds it back into its node.
fn join(x: &mut Xml, wf: &Workflow, j: &Join, plan: &Plan) {
    x.open("bpmn:parallelGateway", &[("id", &j.id)]);
    x.open("bpmn:extensionElements", &[]);
    properties(
        x,
        &[(props::JOIN.into(), Some(wf.nodes[j.node].id.clone()))],
    );
    x.close("bpmn:extensionElements");
    for f in plan.incoming(&j.id) {
        x.text("bpmn:incoming", &[], &f.id);
    }
    x.text("bpmn:outgoing", &[], &j.flow);
    x.close("bpmn:parallelGateway");
}

fn flow(x: &mut Xml, wf: &Workflow, f: &Flow) {
    let edge: Option<&Edge> = f.edge.map(|i| &wf.edges[i]);
    let mut attrs: Vec<(&str, &str)> = vec![("id", &f.id)];
    if let Some(label) = edge.and_then(|e| e.label.as_deref()) {
        attrs.push(("name", label));
    }
    attrs.push(("sourceRef", &f.from));
    attrs.push(("targetRef", &f.to));
    match edge.and_then(|e| e.condition.as_ref()) {
        Some(c) => {
            x.open("bpmn:sequenceFlow", &attrs);
            x.text(
                "bpmn:conditionExpression",
                &[("xsi:type", "bpmn:tFormalExpression")],
                &feel(&c.value.text),
            );
            x.close("bpmn:sequenceFlow");
        }
        None => x.empty("bpmn:sequenceFlow", &attrs),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflow::{Run, Unsupported};

    fn node(id: &str, kind: NodeKind) -> Node {
        Node::new(id.into(), 0..0, kind, 0..0)
    }

    fn workflow(nodes: Vec<Node>) -> Workflow {
        Workflow {
            path: "/w/flow.json".into(),
            base_dir: "/w".into(),
            name: "w".into(),
            description: None,
            inputs: None,
            secrets: None,
            datapools: Vec::new(),
            nodes,
            edges: Vec::new(),
            bpmn: None,
        }
    }

    fn command(argv: &[&str]) -> Option<Run> {
        Some(Run::Command {
            argv: argv.iter().map(|a| a.to_string()).collect(),
            cwd: None,
            env: Vec::new(),
        })
    }

    #[test]
    fn durations_are_written_exactly() {
        assert_eq!(timeout_text(Duration::from_secs(300)), "5m");
        assert_eq!(timeout_text(Duration::from_secs(5400)), "1h30m");
        assert_eq!(timeout_text(Duration::from_millis(1500)), "1s500ms");
        assert_eq!(
            crate::human::parse_duration(&timeout_text(Duration::from_millis(3_723_004))),
            Ok(Duration::from_millis(3_723_004))
        );
        assert_eq!(iso_duration(Duration::from_secs(5)), "PT5S");
        assert_eq!(iso_duration(Duration::from_millis(250)), "PT0.25S");
        assert_eq!(
            crate::expr::timer_duration(&iso_duration(Duration::new(7, 1))),
            Ok(Duration::new(7, 1))
        );
    }

    #[test]
    fn a_node_wfop_does_not_run_is_not_exported() {
        let mut task = node("review", NodeKind::Service);
        task.unsupported = Some(Unsupported {
            element: "userTask".into(),
            reason: "a person does it".into(),
        });
        let wf = workflow(vec![node("start", NodeKind::Start), task]);
        assert_eq!(
            export(&wf),
            Err(ExportError::Unsupported {
                node: "review".into(),
                element: "userTask".into()
            })
        );
    }

    #[test]
    fn bindings_are_by_type_when_every_task_of_it_runs_the_same() {
        let mut a = node("a", NodeKind::Service);
        a.task_type = Some("fetch".into());
        a.run = command(&["sh", "fetch.sh"]);
        let mut b = a.clone();
        b.id = "b".into();
        // Same type, another command: each by its id.
        let mut c = node("c", NodeKind::Service);
        c.task_type = Some("calc".into());
        c.run = command(&["one"]);
        let mut d = c.clone();
        d.id = "d".into();
        d.run = command(&["two"]);
        // A type that is another task's id would bind that task too: by id.
        let mut e = node("e", NodeKind::Service);
        e.task_type = Some("f".into());
        e.run = command(&["e"]);
        let mut f = node("f", NodeKind::Service);
        f.task_type = Some("other".into());
        f.run = command(&["f"]);
        let wf = workflow(vec![a, b, c, d, e, f]);
        let text = bindings(&wf, std::path::Path::new("/w/flow.services.json"));
        let v: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        let keys: Vec<&str> = v
            .as_object()
            .expect("an object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, ["fetch", "c", "d", "e", "other"], "{text}");
        assert_eq!(v["fetch"]["command"], serde_json::json!(["sh", "fetch.sh"]));
        assert_eq!(v["d"]["command"], serde_json::json!(["two"]));
    }
}
