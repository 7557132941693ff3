//! The round trip (issue 12): a workflow exported as BPMN with its binding file, read back
//! and bound, is the same workflow. Workflows of every node kind are generated (proptest) and
//! compared in a canonical form without spans, where a JSON row `x` and the BPMN row `=x` are
//! the same expression and a service without a task type is one whose type is its id.

use std::path::{Path, PathBuf};
use std::time::Duration;

mod run_support;

use proptest::prelude::*;
use proptest::test_runner::Config;
use wfop::diag::SourceFile;
use wfop::expr;
use wfop::workflow::bpmn::{self, write};
use wfop::workflow::json::Str;
use wfop::workflow::model::Decl;
use wfop::workflow::{
    DEFAULT_MAX_ITERATIONS, Edge, ErrorPath, Expression, LoadOptions, MappingRow, Node,
    NodeExecutor, NodeKind, Retries, Run, SlurmSettings, Timer, Workflow,
};

// ---------------------------------------------------------------------------------------------
// The canonical form.

type Rows = Option<Vec<(String, String, bool)>>;

#[derive(Debug, PartialEq)]
struct CWorkflow {
    name: String,
    description: Option<String>,
    inputs: Option<Vec<(String, Option<String>)>>,
    secrets: Vec<(String, Option<String>)>,
    nodes: Vec<CNode>,
    edges: Vec<CEdge>,
}

#[derive(Debug, PartialEq)]
struct CNode {
    id: String,
    kind: NodeKind,
    label: Option<String>,
    description: Option<String>,
    run: Option<Run>,
    secrets: Vec<String>,
    input_mapping: Rows,
    output_mapping: Rows,
    timeout: Option<Duration>,
    retries: Option<(u32, Option<Duration>)>,
    errors: Vec<(String, String, Rows)>,
    max_iterations: u32,
    timer: Option<(Duration, String)>,
    task_type: Option<String>,
    result_variable: Option<String>,
    result_expression: Option<(String, bool)>,
    error_expression: Option<(String, bool)>,
    executor: NodeExecutor,
    unsupported: bool,
}

#[derive(Debug, PartialEq)]
struct CEdge {
    from: String,
    to: String,
    condition: Option<(String, bool)>,
    default: bool,
    label: Option<String>,
}

/// An expression's text without the modeler's leading `=`, and whether it parsed.
fn canon_text(text: &str) -> String {
    let t = text.trim();
    t.strip_prefix('=').unwrap_or(t).trim().to_string()
}

fn canon_expr(e: &Expression) -> (String, bool) {
    (canon_text(&e.value.text), e.expr.is_some())
}

fn canon_rows(rows: &Option<Vec<MappingRow>>) -> Rows {
    rows.as_ref().map(|rows| {
        rows.iter()
            .map(|r| (r.name.clone(), canon_text(&r.value.text), r.expr.is_some()))
            .collect()
    })
}

/// A declaration's description; an empty one is none (a property's value is a string).
fn canon_description(d: &Option<String>) -> Option<String> {
    d.clone().filter(|d| !d.is_empty())
}

/// `.` and `..` resolved lexically.
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            c => out.push(c.as_os_str()),
        }
    }
    out
}

/// A `run` with its paths resolved against the folder they are relative to (the JSON file's,
/// the binding file's): the same run wherever the binding file is.
fn resolved(run: &Run, base: &Path) -> Run {
    let base = std::path::absolute(base).unwrap_or_else(|_| base.to_path_buf());
    match run {
        Run::Command { argv, cwd, env } => Run::Command {
            argv: argv.clone(),
            cwd: cwd.as_ref().map(|c| normalize(&base.join(c))),
            env: env.clone(),
        },
        Run::Python {
            module,
            function,
            interpreter,
        } => Run::Python {
            module: normalize(&base.join(module)),
            function: function.clone(),
            interpreter: interpreter.clone(),
        },
        Run::Project {
            dir,
            entrypoint,
            interpreter,
        } => Run::Project {
            dir: normalize(&base.join(dir)),
            entrypoint: entrypoint.clone(),
            interpreter: interpreter.clone(),
        },
        Run::Hub(h) => Run::Hub(h.clone()),
    }
}

fn canon(wf: &Workflow) -> CWorkflow {
    // The secrets a run asks for: the declared ones, then the used ones not declared.
    let mut secrets: Vec<(String, Option<String>)> = wf
        .secrets
        .iter()
        .flatten()
        .map(|d| (d.name.clone(), canon_description(&d.description)))
        .collect();
    for n in &wf.nodes {
        for b in n.bound_secrets() {
            if !secrets.iter().any(|(s, _)| *s == b.secret) {
                secrets.push((b.secret.clone(), None));
            }
        }
    }
    CWorkflow {
        name: wf.name.clone(),
        description: wf.description.clone(),
        inputs: wf.inputs.as_ref().map(|inputs| {
            inputs
                .iter()
                .map(|d| (d.name.clone(), canon_description(&d.description)))
                .collect()
        }),
        secrets,
        nodes: wf
            .nodes
            .iter()
            .map(|n| {
                let mut secrets: Vec<String> = n.secrets.iter().map(|(s, _)| s.clone()).collect();
                secrets.sort();
                CNode {
                    id: n.id.clone(),
                    kind: n.kind,
                    label: n.label.clone(),
                    description: n.description.clone(),
                    run: n.run.as_ref().map(|r| resolved(r, &wf.base_dir)),
                    secrets,
                    input_mapping: canon_rows(&n.input_mapping),
                    output_mapping: canon_rows(&n.output_mapping),
                    timeout: n.timeout,
                    retries: n.retries.as_ref().map(|r| (r.attempts, r.backoff)),
                    errors: n
                        .errors
                        .iter()
                        .map(|p| (p.code.clone(), p.to.clone(), canon_rows(&p.output_mapping)))
                        .collect(),
                    max_iterations: n.max_iterations,
                    timer: n.timer.as_ref().map(|t| (t.duration, t.text.clone())),
                    task_type: (n.kind == NodeKind::Service)
                        .then(|| n.task_type.clone().unwrap_or_else(|| n.id.clone())),
                    result_variable: n.result_variable.clone(),
                    result_expression: n.result_expression.as_ref().map(canon_expr),
                    error_expression: n.error_expression.as_ref().map(canon_expr),
                    executor: n.executor.clone(),
                    unsupported: n.unsupported.is_some(),
                }
            })
            .collect(),
        edges: wf
            .edges
            .iter()
            .map(|e| CEdge {
                from: e.from.clone(),
                to: e.to.clone(),
                condition: e.condition.as_ref().map(canon_expr),
                default: e.default,
                label: e.label.clone(),
            })
            .collect(),
    }
}

// ---------------------------------------------------------------------------------------------
// Building workflows.

fn s(text: &str) -> Str {
    Str::from_parts(text.to_string(), 0..0, vec![(0, 0)])
}

fn expression(text: &str) -> Expression {
    Expression {
        value: s(text),
        expr: expr::parse(text).ok(),
    }
}

fn row(name: &str, value: &str) -> MappingRow {
    MappingRow {
        name: name.to_string(),
        name_span: 0..0,
        value: s(value),
        expr: expr::parse(value).ok(),
    }
}

fn node(id: &str, kind: NodeKind) -> Node {
    Node::new(id.to_string(), 0..0, kind, 0..0)
}

fn decl(name: &str, description: Option<&str>) -> Decl {
    Decl {
        name: name.to_string(),
        description: description.map(str::to_string),
        span: 0..0,
    }
}

/// Texts with everything XML must escape and the modeler keeps: line breaks, `&`, `<`,
/// quotes, non-ASCII.
fn words() -> impl Strategy<Value = String> {
    let word = prop::sample::select(vec![
        "Check",
        "job",
        "A&B",
        "<tag>",
        "\"quoted\"",
        "it's",
        "Größe",
        "→",
        "x>y",
        "42",
    ]);
    let sep = prop::sample::select(vec![" ", "\n", " - "]);
    (word.clone(), prop::collection::vec((sep, word), 0..3)).prop_map(|(first, rest)| {
        let mut out = first.to_string();
        for (sep, w) in rest {
            out.push_str(sep);
            out.push_str(w);
        }
        out
    })
}

const EXPRESSIONS: &[&str] = &[
    "x",
    "prices.series",
    "count(items) + 1",
    "{ \"k\": v, n: 2 }",
    "if x > 1 then \"big\" else \"small & <ok>\"",
    "items[1]",
    "x\n  + 1",
    "= y",
];

const CONDITIONS: &[&str] = &[
    "x < 3",
    "status = \"RUNNING\"",
    "ok",
    "n >= 2 and not(done)",
];

fn rows(names: &'static [&'static str]) -> impl Strategy<Value = Option<Vec<MappingRow>>> {
    prop::option::of(prop::collection::vec(
        (
            prop::sample::select(names),
            prop::sample::select(EXPRESSIONS),
        ),
        0..3,
    ))
    .prop_map(|rows| {
        rows.map(|rows| {
            let mut out: Vec<MappingRow> = Vec::new();
            for (name, value) in rows {
                if !out.iter().any(|r| r.name == name) {
                    out.push(row(name, value));
                }
            }
            out
        })
    })
}

fn run() -> impl Strategy<Value = Run> {
    prop_oneof![
        (
            prop::collection::vec(
                prop::sample::select(vec!["sh", "-c", "echo \"hi\" & <x>", "a b"]),
                1..4
            ),
            prop::option::of(prop::sample::select(vec![".", "sub"])),
            prop::collection::vec(
                prop::sample::select(vec![("MODE", "fast"), ("A_B", "x y")]),
                0..3
            ),
        )
            .prop_map(|(argv, cwd, env)| {
                let mut vars: Vec<(String, String)> = Vec::new();
                for (k, v) in env {
                    if !vars.iter().any(|(n, _)| n == k) {
                        vars.push((k.to_string(), v.to_string()));
                    }
                }
                Run::Command {
                    argv: argv.into_iter().map(str::to_string).collect(),
                    cwd: cwd.map(PathBuf::from),
                    env: vars,
                }
            }),
        (
            prop::sample::select(vec!["svc.py", "lib/m.py"]),
            prop::sample::select(vec!["run", "main"]),
            prop::option::of(Just("python3")),
        )
            .prop_map(|(module, function, interpreter)| Run::Python {
                module: PathBuf::from(module),
                function: function.to_string(),
                interpreter: interpreter.map(str::to_string),
            }),
    ]
}

/// What a service node gets besides its id.
#[derive(Debug, Clone)]
struct ServiceParts {
    run: Run,
    task_type: Option<&'static str>,
    inputs: Option<Vec<MappingRow>>,
    secret: Option<(&'static str, &'static str)>,
    outputs: Option<Vec<MappingRow>>,
    timeout: Option<Duration>,
    retries: Option<(u32, Option<Duration>)>,
    headers: (
        Option<&'static str>,
        Option<&'static str>,
        Option<&'static str>,
    ),
    executor: NodeExecutor,
}

/// A service's executor: the run's, local, or Slurm with some settings (an argument with the
/// characters XML escapes among them).
fn executor() -> impl Strategy<Value = NodeExecutor> {
    prop_oneof![
        2 => Just(NodeExecutor::Run),
        1 => Just(NodeExecutor::Local),
        2 => (
            prop::option::of(prop::sample::select(vec!["gpu", "debug,long"])),
            prop::option::of(Just("proj-1")),
            prop::option::of(Just("high")),
            prop::collection::vec(
                prop::sample::select(vec!["--gres=gpu:1", "-N2", "--comment=a&<b>\"c\""]),
                0..3
            ),
            any::<bool>(),
        )
            .prop_map(|(partition, account, qos, args, own_job)| {
                NodeExecutor::Slurm(SlurmSettings {
                    partition: partition.map(str::to_string),
                    account: account.map(str::to_string),
                    qos: qos.map(str::to_string),
                    args: args.into_iter().map(str::to_string).collect(),
                    own_job,
                })
            }),
    ]
}

fn service_parts() -> impl Strategy<Value = ServiceParts> {
    (
        run(),
        prop::option::of(prop::sample::select(vec![
            "shared",
            "io.camunda:http-json:1",
        ])),
        rows(&["url", "body", "n"]),
        prop::option::of(prop::sample::select(vec![
            ("tok", "api_key"),
            ("ibmToken", "ibm_api_token"),
        ])),
        rows(&["result", "counts", "why"]),
        prop::option::of(prop::sample::select(vec![
            Duration::from_secs(30),
            Duration::from_secs(5400),
            Duration::from_millis(1500),
            Duration::from_millis(250),
        ])),
        prop::option::of((
            1u32..6,
            prop::option::of(prop::sample::select(vec![
                Duration::from_secs(5),
                Duration::from_millis(500),
            ])),
        )),
        (
            prop::option::of(Just("generateResult")),
            prop::option::of(Just("{ circuit: response.body.circuit }")),
            prop::option::of(Just(
                "if error.code != null then bpmnError(\"BOOM\", error.message) else null",
            )),
        ),
        executor(),
    )
        .prop_map(
            |(run, task_type, inputs, secret, outputs, timeout, retries, headers, executor)| {
                ServiceParts {
                    run,
                    task_type,
                    inputs,
                    secret,
                    outputs,
                    timeout,
                    retries,
                    headers,
                    executor,
                }
            },
        )
}

#[derive(Debug, Clone)]
enum Middle {
    Service(Box<ServiceParts>),
    Exclusive,
    Parallel,
    Timer(&'static str),
}

fn middle() -> impl Strategy<Value = Middle> {
    prop_oneof![
        3 => service_parts().prop_map(|p| Middle::Service(Box::new(p))),
        1 => Just(Middle::Exclusive),
        1 => Just(Middle::Parallel),
        1 => prop::sample::select(vec!["PT30S", "PT1M30S", "PT0.5S", "P1D", "P2W"])
            .prop_map(Middle::Timer),
    ]
}

const IDS: &[&str] = &["task", "Check_job", "gw.1", "x-y", "step"];

/// A workflow: a start, middle nodes of every kind, one or two ends, edges among them (into
/// no start, out of no end, conditions and defaults only out of exclusive gateways), error
/// paths, declarations.
fn workflow() -> impl Strategy<Value = Workflow> {
    (
        words(),
        prop::option::of(words()),
        prop::collection::vec(
            (
                middle(),
                prop::option::of(words()),
                prop::option::of(words()),
                prop::sample::select(vec![DEFAULT_MAX_ITERATIONS, 1, 5, 120]),
            ),
            1..7,
        ),
        1usize..3,
        prop::collection::vec(
            (any::<prop::sample::Index>(), any::<prop::sample::Index>()),
            1..14,
        ),
        prop::collection::vec(
            (
                prop::option::of(prop::sample::select(CONDITIONS)),
                any::<bool>(),
                prop::option::of(words()),
            ),
            14,
        ),
        prop::collection::vec(
            (
                any::<prop::sample::Index>(),
                prop::sample::select(vec!["BOOM", "SIDECAR_ERROR", "io.err-1", "*"]),
                any::<prop::sample::Index>(),
                rows(&["why", "code"]),
            ),
            0..4,
        ),
        prop::option::of(prop::collection::vec(
            (
                prop::sample::select(vec!["circuit", "n", "prices"]),
                prop::option::of(words()),
            ),
            0..3,
        )),
        prop::option::of(prop::collection::vec(
            (
                prop::sample::select(vec!["api_key", "other_key"]),
                prop::option::of(words()),
            ),
            0..3,
        )),
        prop::option::of(rows(&["polls", "n"])),
    )
        .prop_map(
            |(
                name,
                description,
                middles,
                ends,
                pairs,
                edge_parts,
                paths,
                inputs,
                secrets,
                start_out,
            )| {
                let mut nodes = vec![node("start", NodeKind::Start)];
                nodes[0].output_mapping = start_out.flatten();
                for (i, (m, label, description, max)) in middles.into_iter().enumerate() {
                    let id = format!("{}{}", IDS[i % IDS.len()], i);
                    let mut n = match m {
                        Middle::Service(p) => {
                            let mut n = node(&id, NodeKind::Service);
                            n.run = Some(p.run);
                            n.task_type = p.task_type.map(str::to_string);
                            let mut inputs = p.inputs;
                            if let Some((param, secret)) = p.secret {
                                let text = format!("{{ \"{param}\": secret_value(\"{secret}\") }}");
                                let r = row("$secrets", &text);
                                n.secret_bindings =
                                    expr::secret_bindings(r.expr.as_ref().expect("parses"));
                                n.secrets = vec![(param.to_string(), 0..0)];
                                inputs.get_or_insert_with(Vec::new).push(r);
                            }
                            n.input_mapping = inputs;
                            n.output_mapping = p.outputs;
                            n.timeout = p.timeout;
                            n.retries = p.retries.map(|(attempts, backoff)| Retries {
                                attempts,
                                backoff,
                                span: 0..0,
                            });
                            n.result_variable = p.headers.0.map(str::to_string);
                            n.result_expression = p.headers.1.map(expression);
                            n.error_expression = p.headers.2.map(expression);
                            n.executor = p.executor;
                            n
                        }
                        Middle::Exclusive => node(&id, NodeKind::Exclusive),
                        Middle::Parallel => node(&id, NodeKind::Parallel),
                        Middle::Timer(text) => {
                            let mut n = node(&id, NodeKind::Timer);
                            n.timer = Some(Timer {
                                duration: expr::timer_duration(text).expect("a duration"),
                                text: text.to_string(),
                                span: 0..0,
                            });
                            n
                        }
                    };
                    n.label = label;
                    n.description = description;
                    n.max_iterations = max;
                    nodes.push(n);
                }
                let middle_count = nodes.len() - 1;
                for e in 0..ends {
                    nodes.push(node(&format!("end{e}"), NodeKind::End));
                }
                // Edges: from the start or a middle node, to a middle node or an end.
                let mut edges: Vec<Edge> = Vec::new();
                let mut defaults: Vec<String> = Vec::new();
                for ((a, z), (condition, default, label)) in pairs.into_iter().zip(edge_parts) {
                    let from = a.index(middle_count);
                    let to = 1 + z.index(nodes.len() - 1);
                    if from == to
                        || edges
                            .iter()
                            .any(|e| e.from == nodes[from].id && e.to == nodes[to].id)
                    {
                        continue;
                    }
                    let gateway = nodes[from].kind == NodeKind::Exclusive;
                    let is_default = gateway
                        && condition.is_none()
                        && default
                        && !defaults.contains(&nodes[from].id);
                    if is_default {
                        defaults.push(nodes[from].id.clone());
                    }
                    edges.push(Edge {
                        from: nodes[from].id.clone(),
                        from_span: 0..0,
                        to: nodes[to].id.clone(),
                        to_span: 0..0,
                        condition: condition.filter(|_| gateway).map(expression),
                        default: is_default,
                        label,
                        span: 0..0,
                    });
                }
                // Error paths: on services, to another node that is not the start.
                for (at, code, to, output_mapping) in paths {
                    let services: Vec<usize> = (1..=middle_count)
                        .filter(|&i| nodes[i].kind == NodeKind::Service)
                        .collect();
                    if services.is_empty() {
                        break;
                    }
                    let i = services[at.index(services.len())];
                    let to = 1 + to.index(nodes.len() - 1);
                    if to == i || nodes[i].errors.iter().any(|p| p.code == code) {
                        continue;
                    }
                    let to = nodes[to].id.clone();
                    nodes[i].errors.push(ErrorPath {
                        code: code.to_string(),
                        code_span: 0..0,
                        to,
                        to_span: 0..0,
                        output_mapping,
                        span: 0..0,
                    });
                }
                let unique = |list: Vec<(&str, Option<String>)>| {
                    let mut out: Vec<Decl> = Vec::new();
                    for (n, d) in list {
                        if !out.iter().any(|x| x.name == n) {
                            out.push(decl(n, d.as_deref()));
                        }
                    }
                    out
                };
                Workflow {
                    path: PathBuf::from("flow.json"),
                    base_dir: PathBuf::new(),
                    name,
                    description,
                    inputs: inputs.map(unique),
                    secrets: secrets.map(unique),
                    datapools: Vec::new(),
                    nodes,
                    edges,
                    bpmn: None,
                }
            },
        )
}

// ---------------------------------------------------------------------------------------------
// The round trip.

/// A folder with the modules the generated Python services name.
fn folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary folder");
    std::fs::create_dir_all(dir.path().join("lib")).expect("lib/");
    std::fs::create_dir_all(dir.path().join("sub")).expect("sub/");
    for m in ["svc.py", "lib/m.py"] {
        std::fs::write(dir.path().join(m), "def run(**kw):\n    return {}\n").expect("module");
    }
    dir
}

/// Exports `wf` (whose relative paths are `dir`'s) into `dir` and reads it back, bound.
fn round_trip(wf: &Workflow, dir: &Path) -> (Workflow, String) {
    let bpmn_path = dir.join("flow.bpmn");
    let services = dir.join("flow.services.json");
    let xml = write::export(wf).expect("exports");
    std::fs::write(&bpmn_path, &xml).expect("written");
    std::fs::write(&services, write::bindings(wf, &services)).expect("written");
    let source = SourceFile::read(&bpmn_path).expect("readable");
    let options = LoadOptions {
        process: None,
        services: Some(services),
    };
    let (read, diagnostics, related) = bpmn::load(&source, &options);
    let errors: Vec<String> = diagnostics
        .iter()
        .chain(related.iter().flat_map(|(_, d)| d))
        .filter(|d| d.is_error())
        .map(|d| format!("{d:?}"))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}\n{xml}");
    (read.expect("a workflow"), xml)
}

proptest! {
    #![proptest_config(Config { cases: 200, ..Config::default() })]

    #[test]
    fn export_then_read_gives_the_same_workflow(mut wf in workflow()) {
        let dir = folder();
        wf.base_dir = dir.path().to_path_buf();
        wf.path = dir.path().join("flow.json");
        let (back, xml) = round_trip(&wf, dir.path());
        prop_assert_eq!(canon(&back), canon(&wf), "\n{}", xml);
    }
}

/// The canonical form sees what the round trip must keep: a changed label, condition, row or
/// error path makes two workflows differ.
#[test]
fn the_canonical_form_sees_each_field() {
    let mut wf = Workflow {
        path: PathBuf::from("flow.json"),
        base_dir: PathBuf::new(),
        name: "w".into(),
        description: None,
        inputs: None,
        secrets: None,
        datapools: Vec::new(),
        nodes: vec![node("start", NodeKind::Start), node("a", NodeKind::Service)],
        edges: Vec::new(),
        bpmn: None,
    };
    wf.nodes[1].errors.push(ErrorPath {
        code: "E".into(),
        code_span: 0..0,
        to: "start".into(),
        to_span: 0..0,
        output_mapping: None,
        span: 0..0,
    });
    let base = canon(&wf);
    let changes: Vec<fn(&mut Workflow)> = vec![
        |w| w.nodes[1].label = Some("A".into()),
        |w| {
            w.nodes[1].run = Some(Run::Command {
                argv: vec!["x".into()],
                cwd: Some("sub".into()),
                env: Vec::new(),
            })
        },
        |w| w.nodes[1].input_mapping = Some(vec![row("a", "x")]),
        |w| w.nodes[1].input_mapping = Some(Vec::new()),
        |w| w.nodes[1].errors[0].code = "F".into(),
        |w| w.nodes[1].task_type = Some("t".into()),
        |w| w.nodes[1].timeout = Some(Duration::from_secs(1)),
        |w| w.nodes[1].executor = NodeExecutor::Local,
        |w| {
            w.nodes[1].executor = NodeExecutor::Slurm(SlurmSettings {
                own_job: true,
                ..SlurmSettings::default()
            })
        },
        |w| w.inputs = Some(Vec::new()),
        |w| w.secrets = Some(vec![decl("k", None)]),
        |w| {
            w.edges.push(Edge {
                from: "start".into(),
                from_span: 0..0,
                to: "a".into(),
                to_span: 0..0,
                condition: None,
                default: false,
                label: None,
                span: 0..0,
            })
        },
    ];
    for (i, change) in changes.iter().enumerate() {
        let mut changed = wf.clone();
        change(&mut changed);
        assert_ne!(canon(&changed), base, "change {i}");
    }
    // `x` and `=x` are one expression; no task type is the id as task type.
    let mut same = wf.clone();
    wf.nodes[1].input_mapping = Some(vec![row("a", "x")]);
    same.nodes[1].input_mapping = Some(vec![row("a", "=x")]);
    same.nodes[1].task_type = Some("a".into());
    assert_eq!(canon(&same), canon(&wf));
}

fn edge(from: &str, to: &str) -> Edge {
    Edge {
        from: from.into(),
        from_span: 0..0,
        to: to.into(),
        to_span: 0..0,
        condition: None,
        default: false,
        label: None,
        span: 0..0,
    }
}

fn small(nodes: Vec<Node>, edges: Vec<Edge>, dir: &Path) -> Workflow {
    Workflow {
        path: dir.join("flow.json"),
        base_dir: dir.to_path_buf(),
        name: "small".into(),
        description: None,
        inputs: None,
        secrets: None,
        datapools: Vec::new(),
        nodes,
        edges,
        bpmn: None,
    }
}

fn service(id: &str) -> Node {
    let mut n = node(id, NodeKind::Service);
    n.run = Some(Run::Command {
        argv: vec!["true".into()],
        cwd: None,
        env: Vec::new(),
    });
    n
}

/// A service that joins two edges goes out with a parallel gateway in front (a BPMN task
/// would run once per token) and comes back as the join it was, without the gateway.
#[test]
fn a_service_join_comes_back_as_a_join() {
    let dir = folder();
    let wf = small(
        vec![
            node("start", NodeKind::Start),
            service("a"),
            service("b"),
            service("both"),
            node("end", NodeKind::End),
        ],
        vec![
            edge("start", "a"),
            edge("start", "b"),
            edge("a", "both"),
            edge("b", "both"),
            edge("both", "end"),
        ],
        dir.path(),
    );
    let (back, xml) = round_trip(&wf, dir.path());
    assert!(
        xml.contains("<bpmn:parallelGateway id=\"both.join\">"),
        "{xml}"
    );
    assert!(
        xml.contains(
            "<bpmn:sequenceFlow id=\"Flow_a_both\" sourceRef=\"a\" targetRef=\"both.join\" />"
        ),
        "{xml}"
    );
    assert_eq!(canon(&back), canon(&wf));
    let into: Vec<&str> = back
        .edges
        .iter()
        .filter(|e| e.to == "both")
        .map(|e| e.from.as_str())
        .collect();
    assert_eq!(into, ["a", "b"]);
}

/// A service reached by one edge and by an error path is no merge: the error path's token
/// starts it on its own, in BPMN and in wfop.
#[test]
fn an_error_path_into_a_task_adds_no_merge() {
    let dir = folder();
    let mut a = service("a");
    a.errors.push(ErrorPath {
        code: "BOOM".into(),
        code_span: 0..0,
        to: "fix".into(),
        to_span: 0..0,
        output_mapping: Some(vec![row("why", "message")]),
        span: 0..0,
    });
    let wf = small(
        vec![
            node("start", NodeKind::Start),
            a,
            service("fix"),
            node("end", NodeKind::End),
        ],
        vec![edge("start", "a"), edge("a", "fix"), edge("fix", "end")],
        dir.path(),
    );
    let (back, xml) = round_trip(&wf, dir.path());
    // Two flows enter `fix` in the BPMN file.
    assert_eq!(xml.matches("targetRef=\"fix\"").count(), 2, "{xml}");
    assert_eq!(canon(&back), canon(&wf));
    assert!(back.node_index("fix.merge").is_none());
}

/// A sample file from `../shared/bpmn-samples`, or `None` (the test skips; it fails under
/// WFOP_TEST_STRICT) when the samples are not there.
fn sample(name: &str) -> Option<PathBuf> {
    let path = run_support::root()
        .join("../shared/bpmn-samples")
        .join(name);
    if path.is_file() {
        Some(path)
    } else {
        run_support::skip_or_fail(&format!("{} is absent", path.display()));
        None
    }
}

/// Reads a BPMN file bound with `services`; every finding that is an error fails the test.
fn load_bound(path: &Path, services: &Path) -> Workflow {
    let source = SourceFile::read(path).expect("readable");
    let options = LoadOptions {
        process: None,
        services: Some(services.to_path_buf()),
    };
    let (wf, diagnostics, related) = bpmn::load(&source, &options);
    let errors: Vec<String> = diagnostics
        .iter()
        .chain(related.iter().flat_map(|(_, d)| d))
        .filter(|d| d.is_error())
        .map(|d| d.message.clone())
        .collect();
    assert!(errors.is_empty(), "{}: {errors:#?}", path.display());
    wf.expect("a workflow")
}

/// The real files wfop runs whole, bound to a command, exported and read back: the same
/// workflow (their implicit merges included).
#[test]
fn the_samples_wfop_runs_whole_come_back_the_same() {
    for name in [
        "exclusive-gateway-multiple-tasks.bpmn",
        "fork-controlled-parallel-join.bpmn",
        "parallel-gateway-flow.bpmn",
    ] {
        let Some(path) = sample(name) else { return };
        let dir = folder();
        // One binding per task type (or id), all the same command.
        let source = SourceFile::read(&path).expect("readable");
        let (unbound, _) = bpmn::read::read(&source, None);
        let unbound = unbound.expect("a workflow");
        let entries: Vec<String> = unbound
            .nodes
            .iter()
            .filter(|n| n.kind == NodeKind::Service)
            .map(|n| n.task_type.clone().unwrap_or_else(|| n.id.clone()))
            .map(|key| format!("{key:?}: {{ \"command\": [\"true\"] }}"))
            .collect();
        let services = dir.path().join("sample.services.json");
        std::fs::write(&services, format!("{{ {} }}", entries.join(", "))).expect("written");
        let wf = load_bound(&path, &services);
        assert!(
            wf.nodes.iter().any(|n| n.kind.is_gateway()),
            "{name}: has gateways"
        );
        let (back, xml) = round_trip(&wf, dir.path());
        assert_eq!(canon(&back), canon(&wf), "{name}\n{xml}");
    }
}

/// A sample with elements wfop does not run is not exported; the error names one.
#[test]
fn a_sample_with_user_tasks_is_not_exported() {
    let Some(path) = sample("qaoa-max-cut-workflow.bpmn") else {
        return;
    };
    let source = SourceFile::read(&path).expect("readable");
    let (wf, _) = bpmn::read::read(&source, None);
    let wf = wf.expect("a workflow");
    assert!(wf.nodes.iter().any(|n| n.unsupported.is_some()));
    match write::export(&wf) {
        Err(write::ExportError::Unsupported { node, element }) => {
            assert_eq!(element, "userTask");
            assert!(node.starts_with("review-"), "{node}");
        }
        other => panic!("{other:?}"),
    }
}

/// The bundled JSON workflows, as the JSON loader reads them (timeouts, retries, loops,
/// timers, error paths, secrets), exported and read back: the same workflow.
#[test]
fn the_bundled_json_workflows_come_back_the_same() {
    for name in [
        "workflows/quantum-secrets.json",
        "workflows/portfolio-risk.json",
        "workflows/quantum-job.json",
        "tests/workflows/polling.json",
        "tests/workflows/export-tour.json",
    ] {
        let path = run_support::root().join(name);
        let wf = wfop::workflow::check_file(&path)
            .expect("readable")
            .into_workflow()
            .expect("checks clean");
        let dir = tempfile::tempdir().expect("a temporary folder");
        let (back, xml) = round_trip(&wf, dir.path());
        assert_eq!(canon(&back), canon(&wf), "{name}\n{xml}");
    }
}

/// A catch-all error path (`"*"`) goes out as an error boundary without `errorRef` (and no
/// `error` element), and comes back as the catch-all.
#[test]
fn a_catch_all_error_path_comes_back() {
    let dir = folder();
    let mut a = service("a");
    a.errors.push(ErrorPath {
        code: "*".into(),
        code_span: 0..0,
        to: "fix".into(),
        to_span: 0..0,
        output_mapping: None,
        span: 0..0,
    });
    let wf = small(
        vec![
            node("start", NodeKind::Start),
            a,
            service("fix"),
            node("end", NodeKind::End),
        ],
        vec![edge("start", "a"), edge("a", "end"), edge("fix", "end")],
        dir.path(),
    );
    let (back, xml) = round_trip(&wf, dir.path());
    assert!(xml.contains("<bpmn:errorEventDefinition />"), "{xml}");
    assert!(!xml.contains("<bpmn:error "), "{xml}");
    assert_eq!(canon(&back), canon(&wf));
    assert_eq!(back.nodes[1].errors[0].code, "*");
}
