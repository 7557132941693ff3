//! `wfop export --bpmn` as a user runs it: the BPMN on stdout parses and says what the JSON
//! workflow says (elements, flows, conditions, mappings, the diagram's shapes and waypoints),
//! the binding file binds every service, and what cannot be exported is refused with a reason.

mod cli_support;

use cli_support::{scratch, text, wfop};
use std::collections::HashMap;
use std::path::Path;

use roxmltree::{Document, Node as XNode};
use wfop::workflow::bpmn::{BPMN_NS, BPMNDI_NS, DC_NS, DI_NS, ZEEBE_NS};
use wfop::workflow::{self, NodeKind, Run, Workflow};

fn model(path: &str) -> Workflow {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    workflow::check_file(&file)
        .expect("readable")
        .into_workflow()
        .expect("the workflow checks clean")
}

fn elements<'a, 'i>(doc: &'a Document<'i>, ns: &str, name: &str) -> Vec<XNode<'a, 'i>> {
    doc.descendants()
        .filter(|n| n.tag_name().namespace() == Some(ns) && n.tag_name().name() == name)
        .collect()
}

fn child<'a, 'i>(n: XNode<'a, 'i>, ns: &str, name: &str) -> Option<XNode<'a, 'i>> {
    n.children()
        .find(|c| c.tag_name().namespace() == Some(ns) && c.tag_name().name() == name)
}

fn number(n: XNode, attr: &str) -> f64 {
    n.attribute(attr)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{attr} on {n:?}"))
}

/// Box of a diagram shape: x, y, width, height.
type Bounds = (f64, f64, f64, f64);

fn on_border(p: (f64, f64), b: Bounds) -> bool {
    let (x, y, w, h) = b;
    let inside_x = p.0 >= x && p.0 <= x + w;
    let inside_y = p.1 >= y && p.1 <= y + h;
    (inside_y && (p.0 == x || p.0 == x + w)) || (inside_x && (p.1 == y || p.1 == y + h))
}

/// Exports `path`, checks the BPMN against the JSON model and returns it with the binding file.
fn export_and_check(path: &str, scratch_name: &str) -> (String, serde_json::Value) {
    let wf = model(path);
    let dir = scratch(scratch_name);
    let services = dir.join("flow.services.json");
    let out = wfop(&[
        "export",
        "--bpmn",
        path,
        "--services",
        services.to_str().expect("utf-8 path"),
    ]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    let xml = text(&out.stdout);
    assert_eq!(
        wfop::safe::text(&xml),
        xml,
        "nothing in the BPMN acts on a terminal"
    );
    let doc = Document::parse(&xml).unwrap_or_else(|e| panic!("{path}: {e}\n{xml}"));
    let processes = elements(&doc, BPMN_NS, "process");
    assert_eq!(processes.len(), 1, "one process");
    let process = processes[0];
    assert_eq!(process.attribute("isExecutable"), Some("true"));
    assert_eq!(process.attribute("name"), Some(wf.name.as_str()));
    let by_id: HashMap<&str, XNode> = process
        .children()
        .filter_map(|c| Some((c.attribute("id")?, c)))
        .collect();

    // Every node as its element.
    for n in &wf.nodes {
        let el = by_id
            .get(n.id.as_str())
            .unwrap_or_else(|| panic!("{path}: no element for node {}", n.id));
        let tag = match n.kind {
            NodeKind::Start => "startEvent",
            NodeKind::End => "endEvent",
            NodeKind::Service => "serviceTask",
            NodeKind::Exclusive => "exclusiveGateway",
            NodeKind::Parallel => "parallelGateway",
            NodeKind::Timer => "intermediateCatchEvent",
        };
        assert_eq!(el.tag_name().name(), tag, "{}", n.id);
        assert_eq!(el.tag_name().namespace(), Some(BPMN_NS));
        assert_eq!(el.attribute("name"), n.label.as_deref(), "{}", n.id);
        let doc_text = child(*el, BPMN_NS, "documentation").and_then(|d| d.text());
        assert_eq!(doc_text, n.description.as_deref(), "{}", n.id);
        if n.kind == NodeKind::Service {
            let def = el
                .descendants()
                .find(|d| {
                    d.tag_name().namespace() == Some(ZEEBE_NS)
                        && d.tag_name().name() == "taskDefinition"
                })
                .unwrap_or_else(|| panic!("{}: no task definition", n.id));
            assert_eq!(
                def.attribute("type"),
                Some(n.task_type.as_deref().unwrap_or(&n.id))
            );
            let inputs: Vec<(String, String)> = el
                .descendants()
                .filter(|d| d.tag_name().namespace() == Some(ZEEBE_NS))
                .filter(|d| d.tag_name().name() == "input")
                .map(|d| {
                    (
                        d.attribute("target").unwrap_or_default().to_string(),
                        d.attribute("source").unwrap_or_default().to_string(),
                    )
                })
                .collect();
            let want: Vec<(String, String)> = n
                .input_mapping
                .iter()
                .flatten()
                .map(|r| (r.name.clone(), format!("={}", r.value.text)))
                .collect();
            assert_eq!(inputs, want, "{}: input rows", n.id);
        }
        if let Some(t) = &n.timer {
            let duration = el
                .descendants()
                .find(|d| d.tag_name().name() == "timeDuration")
                .and_then(|d| d.text());
            assert_eq!(duration, Some(t.text.as_str()));
        }
    }

    // Every edge as a flow, in order, maybe through a join gateway (marked for its node).
    let flows: Vec<XNode> = process
        .children()
        .filter(|c| c.tag_name().name() == "sequenceFlow")
        .collect();
    let joins: HashMap<&str, &str> = process
        .children()
        .filter(|c| c.tag_name().name() == "parallelGateway")
        .filter_map(|g| {
            let p = g.descendants().find(|d| {
                d.tag_name().name() == "property" && d.attribute("name") == Some("wfop.join")
            })?;
            Some((g.attribute("id")?, p.attribute("value")?))
        })
        .collect();
    for (i, e) in wf.edges.iter().enumerate() {
        let f = flows[i];
        assert_eq!(f.attribute("sourceRef"), Some(e.from.as_str()));
        let target = f.attribute("targetRef").unwrap_or_default();
        let target = joins.get(target).copied().unwrap_or(target);
        assert_eq!(target, e.to, "edge {i}");
        assert_eq!(f.attribute("name"), e.label.as_deref());
        let condition = child(f, BPMN_NS, "conditionExpression").and_then(|c| c.text());
        let want = e.condition.as_ref().map(|c| format!("={}", c.value.text));
        assert_eq!(condition.map(str::to_string), want, "edge {i}");
        if e.default {
            let gateway = by_id[e.from.as_str()];
            assert_eq!(gateway.attribute("default"), f.attribute("id"));
        }
    }
    // Each error path as a boundary event on its service, its flow to the target.
    for n in &wf.nodes {
        for path in &n.errors {
            let b = process
                .children()
                .find(|c| {
                    c.tag_name().name() == "boundaryEvent"
                        && c.attribute("attachedToRef") == Some(n.id.as_str())
                        && c.descendants().any(|d| {
                            d.tag_name().name() == "errorEventDefinition"
                                && d.attribute("errorRef").is_some_and(|r| {
                                    elements(&doc, BPMN_NS, "error").iter().any(|err| {
                                        err.attribute("id") == Some(r)
                                            && err.attribute("errorCode")
                                                == Some(path.code.as_str())
                                    })
                                })
                        })
                })
                .unwrap_or_else(|| panic!("{}: no boundary event for {}", n.id, path.code));
            let id = b.attribute("id").unwrap_or_default();
            assert!(
                flows.iter().any(|f| f.attribute("sourceRef") == Some(id)
                    && f.attribute("targetRef") == Some(path.to.as_str())),
                "{}: the error path's flow",
                n.id
            );
        }
    }

    // The diagram: a shape of the modeler's size for every element, waypoints for every flow
    // that start and end on their shapes and turn at right angles.
    let mut shapes: HashMap<&str, Bounds> = HashMap::new();
    for s in elements(&doc, BPMNDI_NS, "BPMNShape") {
        let b = child(s, DC_NS, "Bounds").expect("bounds");
        let bounds = (
            number(b, "x"),
            number(b, "y"),
            number(b, "width"),
            number(b, "height"),
        );
        shapes.insert(s.attribute("bpmnElement").expect("element"), bounds);
    }
    for (id, el) in &by_id {
        let size = match el.tag_name().name() {
            "serviceTask" => (100.0, 80.0),
            "exclusiveGateway" | "parallelGateway" => (50.0, 50.0),
            "startEvent" | "endEvent" | "intermediateCatchEvent" | "boundaryEvent" => (36.0, 36.0),
            _ => continue,
        };
        let b = shapes
            .get(id)
            .unwrap_or_else(|| panic!("{path}: no shape for {id}"));
        assert_eq!((b.2, b.3), size, "{id}");
    }
    // Boundary events sit on their task's border (their centre on it).
    for b in process
        .children()
        .filter(|c| c.tag_name().name() == "boundaryEvent")
    {
        let (x, y, w, h) = shapes[b.attribute("id").unwrap_or_default()];
        let task = shapes[b.attribute("attachedToRef").unwrap_or_default()];
        assert!(
            on_border((x + w / 2.0, y + h / 2.0), task),
            "{path}: boundary {b:?} on {task:?}"
        );
    }
    let nodes: Vec<Bounds> = wf.nodes.iter().map(|n| shapes[n.id.as_str()]).collect();
    for (i, a) in nodes.iter().enumerate() {
        for b in &nodes[i + 1..] {
            let apart =
                a.0 + a.2 <= b.0 || b.0 + b.2 <= a.0 || a.1 + a.3 <= b.1 || b.1 + b.3 <= a.1;
            assert!(apart, "{path}: shapes overlap: {a:?} {b:?}");
        }
    }
    let edges: HashMap<&str, Vec<(f64, f64)>> = elements(&doc, BPMNDI_NS, "BPMNEdge")
        .into_iter()
        .map(|e| {
            let points = e
                .children()
                .filter(|w| {
                    w.tag_name().namespace() == Some(DI_NS) && w.tag_name().name() == "waypoint"
                })
                .map(|w| (number(w, "x"), number(w, "y")))
                .collect();
            (e.attribute("bpmnElement").expect("element"), points)
        })
        .collect();
    for f in &flows {
        let id = f.attribute("id").unwrap_or_default();
        let points = &edges[id];
        assert!(points.len() >= 2, "{id}: {points:?}");
        assert!(
            points
                .windows(2)
                .all(|w| w[0].0 == w[1].0 || w[0].1 == w[1].1),
            "{path}: {id} turns at right angles: {points:?}"
        );
        let from = shapes[f.attribute("sourceRef").unwrap_or_default()];
        let to = shapes[f.attribute("targetRef").unwrap_or_default()];
        assert!(on_border(points[0], from), "{id} starts on its source");
        assert!(
            on_border(points[points.len() - 1], to),
            "{id} ends on its target"
        );
    }

    let bindings: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&services).expect("binding file written"))
            .expect("the binding file is JSON");
    for n in wf.nodes.iter().filter(|n| n.kind == NodeKind::Service) {
        let task_type = n.task_type.as_deref().unwrap_or(&n.id);
        let entry = bindings
            .get(&n.id)
            .or_else(|| bindings.get(task_type))
            .unwrap_or_else(|| panic!("{path}: {} is not bound", n.id));
        match n.run.as_ref().expect("a service has a run") {
            Run::Command { argv, .. } => {
                let command: Vec<&str> = entry["command"]
                    .as_array()
                    .expect("a command")
                    .iter()
                    .filter_map(|a| a.as_str())
                    .collect();
                assert_eq!(command, *argv);
            }
            Run::Python {
                module, function, ..
            } => {
                assert_eq!(entry["function"], function.as_str());
                let written = dir.join(entry["python"].as_str().expect("a module"));
                let original = wf.base_dir.join(module);
                assert_eq!(
                    std::fs::canonicalize(written).expect("the module is found"),
                    std::fs::canonicalize(original).expect("the module exists")
                );
            }
            Run::Project { dir: project, .. } => {
                let written = dir.join(entry["project"].as_str().expect("a project"));
                assert_eq!(
                    std::fs::canonicalize(written).expect("the project is found"),
                    std::fs::canonicalize(wf.base_dir.join(project)).expect("the project exists")
                );
            }
            Run::Hub(h) => assert_eq!(entry["hub"], h.url.as_str()),
        }
    }
    (xml, bindings)
}

#[test]
fn the_bundled_workflows_export_with_every_element_and_a_diagram() {
    for (path, name) in [
        ("workflows/quantum-secrets.json", "export-qs"),
        ("workflows/portfolio-risk.json", "export-pr"),
        ("workflows/quantum-job.json", "export-qj"),
        ("tests/workflows/polling.json", "export-polling"),
        ("tests/workflows/export-tour.json", "export-tour"),
    ] {
        export_and_check(path, name);
    }
}

#[test]
fn declarations_and_limits_become_wfop_properties() {
    let (xml, _) = export_and_check("workflows/quantum-secrets.json", "export-props");
    let doc = Document::parse(&xml).expect("parses");
    let props: Vec<(&str, &str)> = elements(&doc, ZEEBE_NS, "property")
        .iter()
        .map(|p| {
            (
                p.attribute("name").unwrap_or_default(),
                p.attribute("value").unwrap_or_default(),
            )
        })
        .collect();
    assert!(props.contains(&("wfop.secret.ibm_api_token", "IBM Quantum API token")));
    assert!(props.contains(&(
        "description",
        "Runs a circuit through an orchestrated service that needs an IBM token"
    )));
    assert!(props.iter().any(|(k, _)| *k == "wfop.input.circuit_data"));
    assert!(props.contains(&("wfop.timeout", "5m")), "{props:?}");
}

#[test]
fn a_workflow_with_errors_is_not_exported() {
    let out = wfop(&["export", "--bpmn", "tests/workflows/bad-flow.json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("fix them to export it"), "{stderr}");
    assert!(
        stderr.contains("tests/workflows/bad-flow.json:"),
        "{stderr}"
    );
}

#[test]
fn without_services_a_note_says_where_the_runs_go() {
    let out = wfop(&["export", "--bpmn", "workflows/quantum-secrets.json"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains("<bpmn:serviceTask id=\"orchestrated\""));
    assert!(
        text(&out.stderr).contains("--services"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_character_xml_cannot_hold_is_refused_by_name() {
    let dir = scratch("export-bell");
    let flow = dir.join("bell.json");
    std::fs::write(
        &flow,
        r#"{ "name": "bell", "nodes": [
             { "id": "start", "type": "start" },
             { "id": "ring", "type": "service", "label": "ring \u0007 here",
               "run": { "command": ["true"] } },
             { "id": "end", "type": "end" } ],
           "edges": [ { "from": "start", "to": "ring" }, { "from": "ring", "to": "end" } ] }"#,
    )
    .expect("written");
    let path = flow.to_str().expect("utf-8");
    // The label is there and the workflow is fine: only XML cannot hold it.
    let wf = workflow::check_file(&flow)
        .expect("readable")
        .into_workflow()
        .expect("checks clean");
    assert_eq!(wf.nodes[1].label.as_deref(), Some("ring \u{7} here"));
    let out = wfop(&["export", "--bpmn", path]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("node `ring`: its `name` holds the control character U+0007"),
        "{stderr}"
    );
}

/// The exported file is a workflow wfop reads as it reads the JSON one: `check` finds nothing
/// (no warning either) and `graph` draws the same graph.
#[test]
fn the_exported_file_checks_clean_and_draws_the_same_graph() {
    for (path, name) in [
        ("workflows/quantum-secrets.json", "export-graph-qs"),
        ("workflows/portfolio-risk.json", "export-graph-pr"),
        ("workflows/quantum-job.json", "export-graph-qj"),
        ("tests/workflows/polling.json", "export-graph-polling"),
        ("tests/workflows/export-tour.json", "export-graph-tour"),
    ] {
        let dir = scratch(name);
        let services = dir.join("flow.services.json");
        let out = wfop(&[
            "export",
            "--bpmn",
            path,
            "--services",
            services.to_str().expect("utf-8"),
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let bpmn = dir.join("flow.bpmn");
        std::fs::write(&bpmn, &out.stdout).expect("written");
        let bpmn = bpmn.to_str().expect("utf-8");
        let check = wfop(&["check", bpmn]);
        assert_eq!(check.status.code(), Some(0), "{}", text(&check.stderr));
        assert_eq!(text(&check.stderr), "", "{path}: no finding at all");
        let json_graph = wfop(&["graph", path]);
        let bpmn_graph = wfop(&["graph", bpmn]);
        assert_eq!(
            bpmn_graph.status.code(),
            Some(0),
            "{}",
            text(&bpmn_graph.stderr)
        );
        assert_eq!(text(&bpmn_graph.stdout), text(&json_graph.stdout), "{path}");
    }
}

/// The `wfop.` properties only the export writes are checked when read, at their place.
#[test]
fn wrong_wfop_properties_are_errors_at_their_place() {
    let out = wfop(&["check", "tests/bpmn/wfop-properties-bad.bpmn"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    for (message, at) in [
        (
            "`wfop.inputs` must have the value `{}`",
            "wfop-properties-bad.bpmn:6:50",
        ),
        (
            "`wfop.input_mapping` must have the value `[]`",
            "wfop-properties-bad.bpmn:14:59",
        ),
        (
            "`wfop.join` does not apply to `exclusiveGateway`",
            "wfop-properties-bad.bpmn:21:32",
        ),
    ] {
        let found = stderr
            .split("error: ")
            .find(|d| d.starts_with(message))
            .unwrap_or_else(|| panic!("{message}:\n{stderr}"));
        assert!(found.contains(at), "{message} at {at}:\n{found}");
    }
}

/// A `wfop.join` mark on a gateway that is more than a join in front of its node (here a fork
/// to two tasks) is a warning at the mark, and the gateway stays.
#[test]
fn a_join_mark_that_does_not_fit_is_a_warning_and_the_gateway_stays() {
    let out = wfop(&["graph", "tests/bpmn/wfop-join-unfit.bpmn"]);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(
            "warning: gateway `fork` is marked as the join of `a` (wfop.join), but it is not only that"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("wfop-join-unfit.bpmn:8:50"), "{stderr}");
    assert!(
        text(&out.stdout).contains("◇+ fork"),
        "{}",
        text(&out.stdout)
    );
}

mod any_workflow {
    //! Export never panics, whatever the model holds (unknown ids, duplicates, any text): it
    //! gives XML that parses, or says which character XML cannot hold.

    use std::path::PathBuf;

    use proptest::prelude::*;
    use wfop::workflow::bpmn::write;
    use wfop::workflow::json::Str;
    use wfop::workflow::{Edge, ErrorPath, Expression, Node, NodeKind, Workflow};

    const KINDS: [NodeKind; 6] = [
        NodeKind::Start,
        NodeKind::Service,
        NodeKind::End,
        NodeKind::Exclusive,
        NodeKind::Parallel,
        NodeKind::Timer,
    ];

    fn node(id: String, kind: NodeKind, label: Option<String>) -> Node {
        Node {
            label,
            ..Node::new(id, 0..0, kind, 0..0)
        }
    }

    fn id() -> impl Strategy<Value = String> {
        prop::sample::select(vec!["a", "b", "c", "a.join", "Flow_a_b", "", "1x"])
            .prop_map(str::to_string)
    }

    proptest! {
        #[test]
        fn export_gives_xml_that_parses_or_a_reason(
            nodes in prop::collection::vec(
                (id(), 0usize..6, prop::option::of(any::<String>())), 0..8),
            edges in prop::collection::vec(
                (id(), id(), prop::option::of(any::<String>()), any::<bool>()), 0..12),
            paths in prop::collection::vec((0usize..8, any::<String>(), id()), 0..4),
            name in any::<String>(),
        ) {
            let mut nodes: Vec<Node> = nodes
                .into_iter()
                .map(|(id, k, label)| node(id, KINDS[k], label))
                .collect();
            for (at, code, to) in paths {
                if let Some(n) = nodes.get_mut(at) {
                    n.errors.push(ErrorPath {
                        code,
                        code_span: 0..0,
                        to,
                        to_span: 0..0,
                        output_mapping: None,
                        span: 0..0,
                    });
                }
            }
            let edges = edges
                .into_iter()
                .map(|(from, to, condition, default)| Edge {
                    from,
                    from_span: 0..0,
                    to,
                    to_span: 0..0,
                    condition: condition.map(|c| Expression {
                        value: Str::from_parts(c, 0..0, vec![(0, 0)]),
                        expr: None,
                    }),
                    default,
                    label: None,
                    span: 0..0,
                })
                .collect();
            let wf = Workflow {
                path: PathBuf::from("any.json"),
                base_dir: PathBuf::from("/"),
                name,
                description: None,
                inputs: None,
                secrets: None,
                datapools: Vec::new(),
                nodes,
                edges,
                bpmn: None,
            };
            match write::export(&wf) {
                Ok(xml) => {
                    prop_assert!(roxmltree::Document::parse(&xml).is_ok(), "{}", xml);
                    prop_assert_eq!(wfop::safe::text(&xml), xml.as_str());
                }
                Err(write::ExportError::Character { code, .. }) => {
                    prop_assert!(code < 0x20 || code == 0xfffe || code == 0xffff);
                }
                Err(e) => prop_assert!(false, "{}", e),
            }
            let _ = write::bindings(&wf, std::path::Path::new("/tmp/any.services.json"));
        }
    }
}

/// The tour of every node kind, exported: the BPMN and the binding file as they are written
/// (a change to the format shows up here for review).
#[test]
fn the_tour_exports_as_written() {
    let dir = scratch("export-snapshot");
    let services = dir.join("tour.services.json");
    let out = wfop(&[
        "export",
        "--bpmn",
        "tests/workflows/export-tour.json",
        "--services",
        services.to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    insta::assert_snapshot!("export_tour_bpmn", text(&out.stdout));
    insta::assert_snapshot!(
        "export_tour_services",
        std::fs::read_to_string(&services).expect("written")
    );
}
