//! The process's flow elements → nodes: start and end events, tasks with a task definition,
//! exclusive and parallel gateways, timer catch events; every other element becomes a node
//! marked `unsupported` (drawn, reported at its tag, refused by `run`). Sequence flows and
//! boundary events are collected for `flows`.

use roxmltree::Node as XNode;

use super::super::BPMN_NS;
use super::{Cx, Ids, flows, xml, zeebe};
use crate::expr;
use crate::workflow::json::{Span, Str};
use crate::workflow::model::{Edge, Expression, Node, NodeKind, Timer, Unsupported};

/// What the process's elements gave: nodes in document order, sequence flows, error boundary
/// events, and the gateways' `default` flows.
pub struct Parts {
    pub nodes: Vec<Node>,
    pub flows: Vec<flows::Flow>,
    pub boundaries: Vec<flows::Boundary>,
    /// `(gateway id, its default= attribute)`.
    pub defaults: Vec<(String, Str)>,
    /// Edges from a task to a boundary event wfop does not run (so `graph` draws it attached).
    pub attached: Vec<Edge>,
}

/// Elements that only draw or document (lanes, annotations, data objects): not run, not
/// reported.
const DRAWING_ONLY: &[&str] = &[
    "documentation",
    "extensionElements",
    "laneSet",
    "textAnnotation",
    "association",
    "group",
    "dataObject",
    "dataObjectReference",
    "dataStoreReference",
    "property",
    "ioSpecification",
    "ioBinding",
    "category",
];

/// Reads every child element of the process.
pub fn read_all(cx: &mut Cx, process: XNode) -> Parts {
    let mut parts = Parts {
        nodes: Vec::new(),
        flows: Vec::new(),
        boundaries: Vec::new(),
        defaults: Vec::new(),
        attached: Vec::new(),
    };
    let mut ids = Ids::new();
    for el in process.children().filter(|c| xml::in_ns(*c, BPMN_NS)) {
        let name = el.tag_name().name();
        if DRAWING_ONLY.contains(&name) {
            continue;
        }
        if !is_flow_element(name) {
            cx.warning(
                cx.tag(el),
                format!("`{name}` is not a flow element wfop knows; it is left out"),
                "not read",
            );
            continue;
        }
        let Some(id) = cx.required(el, "id") else {
            continue;
        };
        if let Some(first) = ids.get(&id.text) {
            let d = crate::diag::Diagnostic::error(
                id.span.clone(),
                format!("duplicate id `{}`", id.text),
                "used again",
            )
            .with_secondary(first.clone(), "first used here");
            cx.diags.push(d);
            continue;
        }
        ids.insert(id.text.clone(), id.span.clone());
        match name {
            "sequenceFlow" => parts.flows.push(flows::flow(cx, el, &id)),
            "boundaryEvent" => match flows::boundary(cx, el, &id) {
                Ok(b) => parts.boundaries.push(b),
                Err(reason) => {
                    let mut node = blank(cx, el, &id, NodeKind::Timer);
                    unsupported(cx, el, &mut node, reason);
                    if let Some(attached) = cx.attr(el, "attachedToRef") {
                        parts.attached.push(Edge {
                            from: attached.text.clone(),
                            from_span: attached.span.clone(),
                            to: id.text.clone(),
                            to_span: id.span.clone(),
                            condition: None,
                            default: false,
                            label: None,
                            span: cx.tag(el),
                        });
                    }
                    parts.nodes.push(node);
                }
            },
            _ => {
                if name == "exclusiveGateway"
                    && let Some(d) = cx.attr(el, "default")
                {
                    parts.defaults.push((id.text.clone(), d));
                }
                parts.nodes.push(node(cx, el, &id));
            }
        }
    }
    parts
}

fn is_flow_element(name: &str) -> bool {
    matches!(
        name,
        "sequenceFlow"
            | "boundaryEvent"
            | "startEvent"
            | "endEvent"
            | "intermediateCatchEvent"
            | "intermediateThrowEvent"
            | "task"
            | "serviceTask"
            | "sendTask"
            | "receiveTask"
            | "userTask"
            | "manualTask"
            | "scriptTask"
            | "businessRuleTask"
            | "callActivity"
            | "subProcess"
            | "adHocSubProcess"
            | "transaction"
            | "exclusiveGateway"
            | "parallelGateway"
            | "inclusiveGateway"
            | "eventBasedGateway"
            | "complexGateway"
    )
}

/// A node with the element's id, label and description, nothing else set yet.
pub fn blank(cx: &mut Cx, el: XNode, id: &Str, kind: NodeKind) -> Node {
    let mut node = Node::new(id.text.clone(), id.span.clone(), kind, el.range());
    node.label = el
        .attribute("name")
        .filter(|n| !n.trim().is_empty())
        .map(str::to_string);
    node.description = documentation(cx, el);
    node
}

/// An element's `documentation` children, joined by blank lines; `None` when empty.
pub fn documentation(cx: &Cx, el: XNode) -> Option<String> {
    let docs: Vec<String> = xml::children(el, BPMN_NS, "documentation")
        .filter_map(|d| xml::text_str(cx.text, d))
        .map(|s| s.text.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    (!docs.is_empty()).then(|| docs.join("\n\n"))
}

/// Marks `node` as an element wfop does not run, with the `run_only` error at its tag.
pub fn unsupported(cx: &mut Cx, el: XNode, node: &mut Node, reason: String) {
    let element = el.tag_name().name().to_string();
    cx.run_only(
        cx.tag(el),
        format!("`{element}` `{}` is not run by wfop: {reason}", node.id),
        "not run",
    );
    node.unsupported = Some(Unsupported { element, reason });
}

/// The event definitions of an event (`messageEventDefinition`, …), by local name.
fn event_definitions<'a>(el: XNode<'a, '_>) -> Vec<&'a str> {
    el.children()
        .filter(|c| xml::in_ns(*c, BPMN_NS))
        .map(|c| c.tag_name().name())
        .filter(|n| n.ends_with("EventDefinition") || *n == "eventDefinitionRef")
        .collect()
}

/// What an event definition makes an event do, for messages ("waits for a message").
pub fn event_word(definition: &str) -> &'static str {
    match definition {
        "messageEventDefinition" => "a message",
        "signalEventDefinition" => "a signal",
        "timerEventDefinition" => "a timer",
        "errorEventDefinition" => "an error",
        "escalationEventDefinition" => "an escalation",
        "compensateEventDefinition" => "a compensation",
        "conditionalEventDefinition" => "a condition",
        "linkEventDefinition" => "a link",
        "terminateEventDefinition" => "a termination",
        "cancelEventDefinition" => "a cancellation",
        _ => "an event definition",
    }
}

/// One flow node element → a node.
fn node(cx: &mut Cx, el: XNode, id: &Str) -> Node {
    let name = el.tag_name().name();
    let defs = event_definitions(el);
    let has_task_definition = zeebe::ext(el, "taskDefinition").is_some();
    let (kind, why_not): (NodeKind, Option<String>) = match name {
        "startEvent" => match defs.first() {
            None => (NodeKind::Start, None),
            Some(d) => (
                NodeKind::Start,
                Some(format!(
                    "a start event with {} waits for it to start the process; a wfop run starts when you start it (use a plain start event)",
                    event_word(d)
                )),
            ),
        },
        "endEvent" => match defs.first() {
            None => (NodeKind::End, None),
            Some(d) => (
                NodeKind::End,
                Some(format!(
                    "an end event that throws {} is not run; only plain end events are (an error path catches a service's error code)",
                    event_word(d)
                )),
            ),
        },
        "serviceTask" => (NodeKind::Service, None),
        "task" | "sendTask" if has_task_definition => (NodeKind::Service, None),
        "task" => (
            NodeKind::Service,
            Some("an undefined task has no `zeebe:taskDefinition`, so there is nothing to bind it to (make it a service task with a task type)".into()),
        ),
        "sendTask" => (
            NodeKind::Service,
            Some("a send task without a `zeebe:taskDefinition` publishes a message; wfop has no message broker (give it a task type to run it as a service)".into()),
        ),
        "userTask" => (
            NodeKind::Service,
            Some("a user task waits for a person to complete it in a tasklist".into()),
        ),
        "manualTask" => (
            NodeKind::Service,
            Some("a manual task is work a person does outside any system".into()),
        ),
        "receiveTask" => (
            NodeKind::Service,
            Some("a receive task waits for a message".into()),
        ),
        "scriptTask" => (
            NodeKind::Service,
            Some("a script task's script runs inside the Zeebe engine; wfop runs services bound to task types".into()),
        ),
        "businessRuleTask" => (
            NodeKind::Service,
            Some("a business rule task evaluates a DMN decision".into()),
        ),
        "callActivity" => (
            NodeKind::Service,
            Some("a call activity starts another process".into()),
        ),
        "subProcess" if el.attribute("triggeredByEvent") == Some("true") => (
            NodeKind::Service,
            Some("an event sub-process waits for an event; its inner elements are not read".into()),
        ),
        "subProcess" | "adHocSubProcess" | "transaction" => (
            NodeKind::Service,
            Some("sub-processes are not run; their inner elements are not read".into()),
        ),
        "exclusiveGateway" => (NodeKind::Exclusive, None),
        "parallelGateway" => (NodeKind::Parallel, None),
        "inclusiveGateway" => (
            NodeKind::Exclusive,
            Some("an inclusive gateway takes every flow whose condition holds; wfop's gateways are exclusive (one flow) or parallel (all flows)".into()),
        ),
        "eventBasedGateway" => (
            NodeKind::Exclusive,
            Some("an event-based gateway waits for the first of several events".into()),
        ),
        "complexGateway" => (
            NodeKind::Exclusive,
            Some("a complex gateway's activation rule is not supported".into()),
        ),
        "intermediateCatchEvent" => match defs.as_slice() {
            ["timerEventDefinition"] => (NodeKind::Timer, None),
            [] => (
                NodeKind::Timer,
                Some("a catch event without an event definition waits for nothing".into()),
            ),
            [d, ..] => (
                NodeKind::Timer,
                Some(format!("a catch event that waits for {} is not run; only timers are", event_word(d))),
            ),
        },
        "intermediateThrowEvent" => match defs.first() {
            None => (
                NodeKind::Service,
                Some("a none intermediate throw event only marks a state; wfop has no such node (remove it, or connect its flows directly)".into()),
            ),
            Some(d) => (
                NodeKind::Service,
                Some(format!("an intermediate event that throws {} is not run", event_word(d))),
            ),
        },
        _ => (
            NodeKind::Service,
            Some(format!("`{name}` is not an element wfop runs")),
        ),
    };
    let mut node = blank(cx, el, id, kind);
    let mut why_not = why_not;
    if why_not.is_none() && kind == NodeKind::Service {
        why_not = loop_marker(el);
    }
    if let Some(reason) = why_not {
        unsupported(cx, el, &mut node, reason);
        return node;
    }
    match kind {
        NodeKind::Service => {
            zeebe::service(cx, el, &mut node);
            zeebe::node_properties(cx, el, &mut node);
        }
        NodeKind::Start => {
            zeebe::start(cx, el, &mut node);
            zeebe::node_properties(cx, el, &mut node);
        }
        NodeKind::Timer => {
            zeebe::other(cx, el, "a timer");
            if let Err(reason) = timer(cx, el, &mut node) {
                unsupported(cx, el, &mut node, reason);
            } else {
                zeebe::node_properties(cx, el, &mut node);
            }
        }
        NodeKind::End => zeebe::other(cx, el, "an end event"),
        NodeKind::Exclusive | NodeKind::Parallel => {
            zeebe::other(cx, el, "a gateway");
            zeebe::node_properties(cx, el, &mut node);
        }
    }
    node
}

/// Why an activity with a loop marker is not run, if it has one.
fn loop_marker(el: XNode) -> Option<String> {
    if xml::child(el, BPMN_NS, "multiInstanceLoopCharacteristics").is_some() {
        return Some(
            "multi-instance activities (one instance per item of a collection) are not run".into(),
        );
    }
    if xml::child(el, BPMN_NS, "standardLoopCharacteristics").is_some() {
        return Some("loop activities are not run; draw the loop with an exclusive gateway".into());
    }
    None
}

/// A timer catch event's `timeDuration`: an ISO-8601 duration, or a FEEL expression that needs
/// no variables. `Err`: why the timer is not run.
fn timer(cx: &mut Cx, el: XNode, node: &mut Node) -> Result<(), String> {
    let Some(def) = xml::child(el, BPMN_NS, "timerEventDefinition") else {
        return Err("it has no timer definition".into());
    };
    if xml::child(def, BPMN_NS, "timeDate").is_some() {
        return Err("a timer that waits until a date is not run; wfop timers wait a duration (timeDuration)".into());
    }
    if xml::child(def, BPMN_NS, "timeCycle").is_some() {
        return Err("a cycle timer is not run; wfop timers wait a duration (timeDuration)".into());
    }
    let Some(d) = xml::child(def, BPMN_NS, "timeDuration") else {
        return Err("its timer has no timeDuration".into());
    };
    let Some(value) = xml::text_str(cx.text, d).filter(|s| !s.text.trim().is_empty()) else {
        cx.error(
            cx.tag(d),
            format!("timer `{}` has an empty timeDuration", node.id),
            "add a duration such as PT30S",
        );
        return Ok(());
    };
    let written = value.text.trim();
    let lead = value.text.len() - value.text.trim_start().len();
    let (iso, iso_at) = if written.starts_with('=') {
        let Some(e) = cx.feel(&value, "in the timer's duration") else {
            return Ok(());
        };
        // `=PT30S` reads a variable named PT30S (null in Zeebe too): say what was meant.
        if let expr::ExprKind::Name(n) = &e.kind
            && expr::timer_duration(n).is_ok()
        {
            cx.error(
                value.file_span(e.span.start..e.span.end),
                format!("`={n}` reads a variable named {n}, not a duration; write {n}, or =duration(\"{n}\")"),
                "a variable, not a duration",
            );
            return Ok(());
        }
        if !expr::analyze(&e).free_variables.is_empty() {
            return Err("its duration is computed from variables at run time; wfop timers wait a fixed duration".into());
        }
        match expr::eval(&e, &serde_json::Map::new()) {
            Ok(serde_json::Value::String(s)) => (s, None),
            _ => {
                return Err("its duration expression does not give a duration".into());
            }
        }
    } else {
        (written.to_string(), Some(lead))
    };
    match expr::timer_duration(&iso) {
        Ok(duration) => {
            node.timer = Some(Timer {
                duration,
                text: written.to_string(),
                span: value.span.clone(),
            });
        }
        Err(e) => {
            let span: Span = match iso_at {
                Some(at) => {
                    let start = floor_boundary(&value.text, at + e.at.min(iso.len()));
                    let len = value.text[start..].chars().next().map_or(0, char::len_utf8);
                    value.file_span(start..start + len)
                }
                None => value.span.clone(),
            };
            let span = if span.is_empty() {
                span.start..span.start + 1
            } else {
                span
            };
            cx.error(
                span,
                format!("invalid timer duration \"{written}\": {}", e.reason),
                "an ISO-8601 duration, e.g. PT30S, PT5M, P1D",
            );
        }
    }
    Ok(())
}

/// The largest character boundary of `text` at or before `i`.
fn floor_boundary(text: &str, i: usize) -> usize {
    let mut i = i.min(text.len());
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// A condition on a sequence flow.
pub fn condition(cx: &mut Cx, el: XNode) -> Option<Expression> {
    let c = xml::child(el, BPMN_NS, "conditionExpression")?;
    let Some(value) = xml::text_str(cx.text, c).filter(|s| !s.text.trim().is_empty()) else {
        cx.error(
            cx.tag(c),
            "an empty conditionExpression",
            "write a FEEL condition, e.g. = status = \"DONE\"",
        );
        return None;
    };
    let expr = cx.feel(&value, "in the condition");
    Some(Expression { value, expr })
}
