//! Reads a workflow file into the model, reporting every structural problem (unknown or
//! duplicate fields, wrong types, bad names, unparsable expressions) with its position.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::json::{self, Member, Node as JNode, Span, Str, Value};
use super::model::{
    Condition, DEFAULT_MAX_ITERATIONS, DataPoolDecl, Decl, Edge, ErrorPath, Expression, HubAuth,
    HubRun, MappingRow, Node, NodeExecutor, NodeKind, Retries, Run, SECRETS_ROW, SlurmSettings,
    Timer, Workflow,
};
use super::project::{self, is_entrypoint};
use crate::diag::{Diagnostic, SourceFile, is_identifier, suggestion};
use crate::expr;

const TOP_FIELDS: &[&str] = &[
    "name",
    "description",
    "inputs",
    "secrets",
    "datapools",
    "nodes",
    "edges",
];
const NODE_FIELDS: &[&str] = &[
    "id",
    "type",
    "label",
    "description",
    "run",
    "secrets",
    "input_mapping",
    "output_mapping",
    "timeout",
    "retries",
    "errors",
    "max_iterations",
    "duration",
    "task_type",
    "result_variable",
    "result_expression",
    "error_expression",
    "tty",
    "stdin",
    "executor",
];
/// The node fields only some kinds of node take, and which kinds (`kinds_word` says it).
const KIND_FIELDS: &[(&str, &[NodeKind])] = &[
    ("run", &[NodeKind::Service]),
    ("secrets", &[NodeKind::Service]),
    ("input_mapping", &[NodeKind::Service]),
    ("output_mapping", &[NodeKind::Service, NodeKind::Start]),
    ("timeout", &[NodeKind::Service]),
    ("retries", &[NodeKind::Service]),
    ("errors", &[NodeKind::Service]),
    ("max_iterations", ITERATING),
    ("duration", &[NodeKind::Timer]),
    ("task_type", &[NodeKind::Service]),
    ("result_variable", &[NodeKind::Service]),
    ("result_expression", &[NodeKind::Service]),
    ("error_expression", &[NodeKind::Service]),
    ("tty", &[NodeKind::Service]),
    ("stdin", &[NodeKind::Service]),
    ("executor", &[NodeKind::Service]),
];
/// The kinds of node that can run more than once in a run (on a loop, or after a merge).
const ITERATING: &[NodeKind] = &[
    NodeKind::Service,
    NodeKind::Exclusive,
    NodeKind::Parallel,
    NodeKind::Timer,
];
const NODE_TYPES: &[&str] = &["start", "service", "end", "exclusive", "parallel", "timer"];
/// Most attempts `retries` may ask for.
pub const MAX_ATTEMPTS: u32 = 100;
/// Largest `max_iterations`.
pub const MAX_ITERATIONS_LIMIT: u32 = 1_000_000;
const RETRIES_FIELDS: &[&str] = &["attempts", "backoff"];
/// The executors a service node may name in `"executor"`.
const EXECUTOR_NAMES: &[&str] = &["local", "slurm"];
/// The fields of `"executor": { "slurm": { … } }`.
const SLURM_FIELDS: &[&str] = &["partition", "account", "qos", "args", "job"];
/// The values of `slurm.job`: a job of its own, or a step in the run's allocation.
const SLURM_JOBS: &[&str] = &["own", "step"];
const ERROR_FIELDS: &[&str] = &["code", "to", "output_mapping"];
const RUN_FIELDS: &[&str] = &[
    "command",
    "cwd",
    "env",
    "python",
    "function",
    "interpreter",
    "project",
    "entrypoint",
    "hub",
    "auth",
    "token_url",
    "poll",
];
/// The fields that say how a service runs; exactly one per `run`.
const RUN_FORMS: &[&str] = &["command", "python", "project", "hub"];
/// The other `run` fields, and which forms take them.
const RUN_FORM_FIELDS: &[(&str, &[&str])] = &[
    ("cwd", &["command"]),
    ("env", &["command"]),
    ("function", &["python"]),
    ("interpreter", &["python", "project"]),
    ("entrypoint", &["project"]),
    ("auth", &["hub"]),
    ("token_url", &["hub"]),
    ("poll", &["hub"]),
];
const HUB_AUTH_FIELDS: &[&str] = &["token", "access_key_id", "secret_access_key"];
const DECL_FIELDS: &[&str] = &["description"];
const ROW_FIELDS: &[&str] = &["name", "value"];
const EDGE_FIELDS: &[&str] = &["from", "to", "condition", "default", "label"];

/// Loads the model from the file's text. The workflow is returned whenever the file is a JSON
/// object, even with errors, so that validation can report its problems in the same pass.
pub fn load(src: &SourceFile) -> (Option<Workflow>, Vec<Diagnostic>) {
    let root = match json::parse(&src.text) {
        Ok(root) => root,
        Err(e) => {
            return (
                None,
                vec![Diagnostic::error(
                    e.span,
                    format!("invalid JSON: {}", e.message),
                    "here",
                )],
            );
        }
    };
    load_parsed(src, &root)
}

/// [`load`] from the file's JSON already parsed (`root`, parsed from `src.text`).
pub fn load_parsed(src: &SourceFile, root: &JNode) -> (Option<Workflow>, Vec<Diagnostic>) {
    let base_dir = base_dir_of(&src.path);
    let mut l = Loader {
        diags: Vec::new(),
        base_dir,
    };
    let workflow = l.workflow(root, src.path.clone());
    (workflow, l.diags)
}

/// The folder a workflow's relative paths resolve against: the file's folder, `.` for a bare
/// file name (`wf.json` has the parent ``, which would resolve against whatever folder a
/// service happens to run in), made absolute so it means the same from any folder.
pub(crate) fn base_dir_of(path: &Path) -> PathBuf {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf())
}

/// What a binding file's entry gives a BPMN service task (docs/bpmn.md): the fields of a JSON
/// node's `run`, plus its `timeout` and `secrets`.
pub(crate) struct BindingSpec {
    pub run: Option<Run>,
    pub timeout: Option<Duration>,
    /// The secret parameters the service expects, and the span of the `secrets` field.
    pub secrets: Option<(Vec<(String, Span)>, Span)>,
}

/// A binding entry's fields: a `run`'s, then the node fields a binding also gives. Derived, so
/// a new `run` field is a binding field too.
const BINDING_FIELDS: &[&str] =
    &with_fields::<{ RUN_FIELDS.len() + 2 }>(RUN_FIELDS, ["timeout", "secrets"]);

/// `a` followed by `b`, as one array (for field lists made of others).
const fn with_fields<const N: usize>(
    a: &[&'static str],
    b: [&'static str; 2],
) -> [&'static str; N] {
    let mut out = [""; N];
    let mut i = 0;
    while i < a.len() {
        out[i] = a[i];
        i += 1;
    }
    out[a.len()] = b[0];
    out[a.len() + 1] = b[1];
    out
}

/// Reads one binding entry (`node`, an object); relative paths resolve against `base_dir`.
pub(crate) fn binding_spec(
    node: &JNode,
    base_dir: &Path,
) -> (Option<BindingSpec>, Vec<Diagnostic>) {
    let mut l = Loader {
        diags: Vec::new(),
        base_dir: base_dir.to_path_buf(),
    };
    let spec = l.binding_spec(node);
    (spec, l.diags)
}

struct Loader {
    diags: Vec<Diagnostic>,
    base_dir: PathBuf,
}

/// The members of a JSON object after the duplicate and unknown-field checks.
struct Obj<'a> {
    members: Vec<&'a Member>,
    span: Span,
}

impl<'a> Obj<'a> {
    fn get(&self, key: &str) -> Option<&'a JNode> {
        self.members
            .iter()
            .find(|m| m.key.text == key)
            .map(|m| &m.value)
    }
}

fn is_node_id(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

impl Loader {
    fn error(&mut self, span: Span, message: impl Into<String>, label: impl Into<String>) {
        self.diags.push(Diagnostic::error(span, message, label));
    }

    fn type_error(&mut self, node: &JNode, what: &str, expected: &str) {
        let found = node.value.kind();
        self.error(
            node.span.clone(),
            format!("{what} must be {expected}, found {found}"),
            format!("expected {expected}"),
        );
    }

    fn object<'a>(
        &mut self,
        node: &'a JNode,
        what: &str,
        allowed: &[&'static str],
    ) -> Option<Obj<'a>> {
        let Value::Object(members) = &node.value else {
            self.type_error(node, what, "an object");
            return None;
        };
        let mut kept: Vec<&Member> = Vec::with_capacity(members.len());
        for m in members {
            if let Some(first) = kept.iter().find(|k| k.key.text == m.key.text) {
                let d = Diagnostic::error(
                    m.key.span.clone(),
                    format!("duplicate field `{}` in {what}", m.key.text),
                    "duplicate field",
                )
                .with_secondary(first.key.span.clone(), "first defined here");
                self.diags.push(d);
            } else if !allowed.contains(&m.key.text.as_str()) {
                let hint = suggestion(&m.key.text, allowed.iter().copied());
                let d = Diagnostic::error(
                    m.key.span.clone(),
                    format!("unknown field `{}` in {what}{hint}", m.key.text),
                    "unknown field",
                )
                .with_note(format!("{what} may have: {}", allowed.join(", ")));
                self.diags.push(d);
            } else {
                kept.push(m);
            }
        }
        Some(Obj {
            members: kept,
            span: node.span.clone(),
        })
    }

    fn string<'a>(&mut self, node: &'a JNode, what: &str) -> Option<&'a Str> {
        match &node.value {
            Value::String(s) => Some(s),
            _ => {
                self.type_error(node, what, "a string");
                None
            }
        }
    }

    fn non_empty_string<'a>(&mut self, node: &'a JNode, what: &str) -> Option<&'a Str> {
        let s = self.string(node, what)?;
        if s.text.trim().is_empty() {
            self.error(
                node.span.clone(),
                format!("{what} must not be empty"),
                "empty",
            );
            return None;
        }
        Some(s)
    }

    fn boolean(&mut self, node: &JNode, what: &str) -> Option<bool> {
        match node.value {
            Value::Bool(b) => Some(b),
            _ => {
                self.type_error(node, what, "true or false");
                None
            }
        }
    }

    /// A service's `stdin`: `"open"` (kept open for the operator) or `"closed"` (the default:
    /// closed after the JSON input). True for open.
    fn stdin(&mut self, node: &JNode) -> Option<bool> {
        let s = self.string(node, "`stdin`")?;
        match s.text.as_str() {
            "open" => Some(true),
            "closed" => Some(false),
            other => {
                self.error(
                    s.span.clone(),
                    format!(
                        "`stdin` must be \"open\" or \"closed\", found \"{}\"",
                        other.escape_debug()
                    ),
                    "expected \"open\" or \"closed\"",
                );
                None
            }
        }
    }

    fn array<'a>(&mut self, node: &'a JNode, what: &str) -> Option<&'a [JNode]> {
        match &node.value {
            Value::Array(items) => Some(items),
            _ => {
                self.type_error(node, what, "an array");
                None
            }
        }
    }

    fn workflow(&mut self, root: &JNode, path: PathBuf) -> Option<Workflow> {
        let top = self.object(root, "the workflow", TOP_FIELDS)?;
        let name = match top.get("name") {
            Some(n) => self
                .non_empty_string(n, "`name`")
                .map(|s| s.text.clone())
                .unwrap_or_default(),
            None => {
                self.error(
                    top.span.start..top.span.start + 1,
                    "the workflow has no `name`",
                    "add \"name\": \"…\"",
                );
                String::new()
            }
        };
        let description = top
            .get("description")
            .and_then(|d| self.string(d, "`description`"))
            .map(|s| s.text.clone());
        let inputs = top
            .get("inputs")
            .and_then(|n| self.decls(n, "`inputs`", false));
        let secrets = top
            .get("secrets")
            .and_then(|n| self.decls(n, "`secrets`", true));
        let datapools = top
            .get("datapools")
            .map(|n| self.datapools(n))
            .unwrap_or_default();
        let nodes = match top.get("nodes") {
            Some(n) => self.array(n, "`nodes`").map(|items| {
                if items.is_empty() {
                    self.error(
                        n.span.clone(),
                        "`nodes` is empty: a workflow needs a start node, services and an end node",
                        "no nodes",
                    );
                }
                items.iter().filter_map(|i| self.node(i)).collect()
            }),
            None => {
                self.error(
                    top.span.start..top.span.start + 1,
                    "the workflow has no `nodes`",
                    "add \"nodes\": [ … ]",
                );
                None
            }
        }
        .unwrap_or_default();
        let edges = match top.get("edges") {
            Some(n) => self
                .array(n, "`edges`")
                .map(|items| items.iter().filter_map(|i| self.edge(i)).collect()),
            None => {
                self.error(
                    top.span.start..top.span.start + 1,
                    "the workflow has no `edges`",
                    "add \"edges\": [ … ]",
                );
                None
            }
        }
        .unwrap_or_default();
        Some(Workflow {
            path,
            base_dir: self.base_dir.clone(),
            name,
            description,
            inputs,
            secrets,
            datapools,
            nodes,
            edges,
            bpmn: None,
        })
    }

    /// `{ "NAME": "DIR", … }`: each a `DataPool` parameter name and an existing folder
    /// (relative to the workflow).
    fn datapools(&mut self, node: &JNode) -> Vec<DataPoolDecl> {
        let Value::Object(members) = &node.value else {
            self.type_error(
                node,
                "`datapools`",
                "an object like { \"name\": \"folder\" }",
            );
            return Vec::new();
        };
        let mut pools: Vec<DataPoolDecl> = Vec::new();
        for m in members {
            let name = &m.key.text;
            if let Some(first) = pools.iter().find(|p| &p.name == name) {
                let d = Diagnostic::error(
                    m.key.span.clone(),
                    format!("data pool `{name}` is given twice"),
                    "given again",
                )
                .with_secondary(first.span.clone(), "first given here");
                self.diags.push(d);
                continue;
            }
            if !is_identifier(name) {
                self.error(
                    m.key.span.clone(),
                    "a data pool's name is the service's `DataPool` parameter: letters, digits and `_`, not starting with a digit",
                    "not a parameter name",
                );
            }
            let Some(dir) = self.non_empty_string(&m.value, &format!("data pool `{name}`")) else {
                continue;
            };
            let shown = self.base_dir.join(&dir.text);
            if !shown.is_dir() {
                self.error(
                    dir.span.clone(),
                    format!(
                        "data pool `{name}`: `{}` is not a folder ({} is resolved against the workflow file's folder)",
                        shown.display(),
                        dir.text
                    ),
                    "folder not found",
                );
            }
            pools.push(DataPoolDecl {
                name: name.clone(),
                dir: PathBuf::from(&dir.text),
                span: m.key.span.start..m.value.span.end,
            });
        }
        pools
    }

    /// `{ "name": { "description": "…" }, … }` for `inputs` and `secrets`.
    fn decls(&mut self, node: &JNode, what: &str, identifiers: bool) -> Option<Vec<Decl>> {
        let Value::Object(members) = &node.value else {
            self.type_error(node, what, "an object");
            return None;
        };
        let mut decls: Vec<Decl> = Vec::new();
        for m in members {
            let name = &m.key.text;
            if let Some(first) = decls.iter().find(|d| &d.name == name) {
                let d = Diagnostic::error(
                    m.key.span.clone(),
                    format!("`{name}` is declared twice in {what}"),
                    "declared again",
                )
                .with_secondary(first.span.clone(), "first declared here");
                self.diags.push(d);
                continue;
            }
            if identifiers && !is_identifier(name) {
                self.error(
                    m.key.span.clone(),
                    "a secret name must be letters, digits and `_`, not starting with a digit",
                    "invalid secret name",
                );
            }
            let description = match &m.value.value {
                Value::String(s) => Some(s.text.clone()),
                Value::Object(_) => self
                    .object(
                        &m.value,
                        &format!("the declaration of `{name}`"),
                        DECL_FIELDS,
                    )
                    .and_then(|o| o.get("description"))
                    .and_then(|d| self.string(d, "`description`"))
                    .map(|s| s.text.clone()),
                _ => {
                    self.type_error(
                        &m.value,
                        &format!("the declaration of `{name}`"),
                        "an object like { \"description\": \"…\" }",
                    );
                    None
                }
            };
            decls.push(Decl {
                name: name.clone(),
                description,
                span: m.key.span.clone(),
            });
        }
        Some(decls)
    }

    fn node(&mut self, item: &JNode) -> Option<Node> {
        let obj = self.object(item, "a node", NODE_FIELDS)?;
        let id_node = obj.get("id");
        let id = match id_node {
            Some(n) => self.non_empty_string(n, "a node's `id`").cloned(),
            None => {
                self.error(
                    item.span.start..item.span.start + 1,
                    "this node has no `id`",
                    "add \"id\": \"…\"",
                );
                None
            }
        };
        if let Some(id) = &id
            && !is_node_id(&id.text)
        {
            self.error(
                id.span.clone(),
                format!("node id `{}` may only contain letters, digits, `_`, `-` and `.`, and must start with a letter or digit", id.text),
                "invalid node id",
            );
        }
        let kind = match obj.get("type") {
            Some(t) => self
                .string(t, "a node's `type`")
                .and_then(|s| match node_kind(&s.text) {
                    Some(k) => Some(k),
                    None => {
                        let hint = suggestion(&s.text, NODE_TYPES.iter().copied());
                        self.error(
                            s.span.clone(),
                            format!("unknown node type `{}`{hint}", s.text),
                            "expected one of: start, service, end, exclusive, parallel, timer",
                        );
                        None
                    }
                }),
            None => {
                self.error(
                    item.span.start..item.span.start + 1,
                    "this node has no `type`",
                    "add \"type\": \"start\" | \"service\" | \"end\" | \"exclusive\" | \"parallel\" | \"timer\"",
                );
                None
            }
        };
        let label = obj
            .get("label")
            .and_then(|n| self.non_empty_string(n, "`label`"))
            .map(|s| s.text.clone());
        let description = obj
            .get("description")
            .and_then(|n| self.string(n, "`description`"))
            .map(|s| s.text.clone());
        let run = obj.get("run").and_then(|n| self.run(n));
        let secrets_node = obj.get("secrets");
        let secrets = secrets_node
            .and_then(|n| self.param_names(n))
            .unwrap_or_default();
        let input_mapping = obj
            .get("input_mapping")
            .and_then(|n| self.mapping(n, "`input_mapping`"));
        let output_mapping = obj
            .get("output_mapping")
            .and_then(|n| self.mapping(n, "`output_mapping`"));
        let secret_bindings = input_mapping
            .iter()
            .flatten()
            .find(|r| r.name == super::model::SECRETS_ROW)
            .and_then(|r| r.expr.as_ref())
            .map_or(Ok(Vec::new()), expr::secret_bindings);
        let timeout = obj.get("timeout").and_then(|n| self.timeout(n));
        let retries = obj.get("retries").and_then(|n| self.retries(n));
        let errors = obj
            .get("errors")
            .map(|n| self.error_paths(n))
            .unwrap_or_default();
        let max_iterations = obj
            .get("max_iterations")
            .and_then(|n| {
                self.count(
                    n,
                    "`max_iterations`",
                    MAX_ITERATIONS_LIMIT,
                    "how often the node may run in one run",
                )
            })
            .unwrap_or(DEFAULT_MAX_ITERATIONS);
        let duration = obj.get("duration").and_then(|n| self.timer(n));
        let task_type = obj
            .get("task_type")
            .and_then(|n| self.non_empty_string(n, "`task_type`"))
            .map(|s| s.text.clone());
        let result_variable = obj
            .get("result_variable")
            .and_then(|n| self.result_variable(n));
        let result_expression = obj
            .get("result_expression")
            .and_then(|n| self.expression(n, "`result_expression`"));
        let error_expression = obj
            .get("error_expression")
            .and_then(|n| self.expression(n, "`error_expression`"));
        let tty = obj
            .get("tty")
            .and_then(|n| self.boolean(n, "`tty`"))
            .unwrap_or(false);
        let stdin_open = obj
            .get("stdin")
            .and_then(|n| self.stdin(n))
            .unwrap_or(false);
        let executor = obj
            .get("executor")
            .and_then(|n| self.executor(n))
            .unwrap_or_default();
        let (id, kind) = (id?, kind?);
        for (field, kinds) in KIND_FIELDS {
            if kinds.contains(&kind) {
                continue;
            }
            if let Some(m) = obj.members.iter().find(|m| m.key.text == *field) {
                self.error(
                    m.key.span.clone(),
                    format!(
                        "{} has no `{field}`; only {} do",
                        kind_phrase(kind),
                        kinds_word(kinds)
                    ),
                    "not allowed here",
                );
            }
        }
        let timer = if kind == NodeKind::Timer {
            if obj.get("duration").is_none() {
                self.error(
                    id.span.clone(),
                    format!(
                        "timer node `{}` has no `duration` (an ISO-8601 duration such as \"PT30S\")",
                        id.text
                    ),
                    "add \"duration\": \"PT…\"",
                );
            }
            duration
        } else {
            None
        };
        Some(Node {
            id: id.text.clone(),
            id_span: id.span.clone(),
            kind,
            label,
            description,
            run,
            secrets,
            secrets_span: secrets_node.map(|n| n.span.clone()),
            input_mapping,
            output_mapping,
            secret_bindings,
            timeout,
            retries,
            errors,
            max_iterations,
            timer,
            task_type,
            result_variable,
            result_expression,
            error_expression,
            tty,
            stdin_open,
            executor,
            unsupported: None,
            span: item.span.clone(),
        })
    }

    /// A whole number from 1 to `max`, e.g. `max_iterations` or `retries`' attempts.
    fn count(&mut self, node: &JNode, what: &str, max: u32, meaning: &str) -> Option<u32> {
        let Value::Number(n) = &node.value else {
            self.type_error(node, what, "a whole number");
            return None;
        };
        match n.as_u64().and_then(|v| u32::try_from(v).ok()) {
            Some(v) if (1..=max).contains(&v) => Some(v),
            _ => {
                self.error(
                    node.span.clone(),
                    format!("{what} must be a whole number from 1 to {max} ({meaning})"),
                    format!("expected 1 to {max}"),
                );
                None
            }
        }
    }

    /// `"retries": 3` or `"retries": { "attempts": 3, "backoff": "PT5S" }`.
    fn retries(&mut self, node: &JNode) -> Option<Retries> {
        const MEANING: &str = "attempts in all, the first included";
        match &node.value {
            Value::Number(_) => Some(Retries {
                attempts: self.count(node, "`retries`", MAX_ATTEMPTS, MEANING)?,
                backoff: None,
                span: node.span.clone(),
            }),
            Value::Object(_) => {
                let obj = self.object(node, "`retries`", RETRIES_FIELDS)?;
                let backoff = obj.get("backoff").and_then(|b| {
                    let s = self.string(b, "`backoff`")?;
                    match iso_duration(s) {
                        Ok(d) => Some(d),
                        Err((why, span)) => {
                            self.error(
                                span,
                                format!("invalid backoff \"{}\": {why}", s.text),
                                "an ISO-8601 duration, e.g. \"PT5S\", \"PT1M30S\"",
                            );
                            None
                        }
                    }
                });
                let attempts = match obj.get("attempts") {
                    Some(a) => self.count(a, "`attempts`", MAX_ATTEMPTS, MEANING)?,
                    None => {
                        self.error(
                            node.span.clone(),
                            "`retries` has no `attempts` (how many attempts in all)",
                            "add \"attempts\": 3",
                        );
                        return None;
                    }
                };
                Some(Retries {
                    attempts,
                    backoff,
                    span: node.span.clone(),
                })
            }
            _ => {
                self.type_error(
                    node,
                    "`retries`",
                    "a whole number or an object like { \"attempts\": 3, \"backoff\": \"PT5S\" }",
                );
                None
            }
        }
    }

    /// `"executor": "local"`, `"slurm"`, or `{ "slurm": { "partition", "account", "qos",
    /// "args", "job" } }` (every field optional).
    fn executor(&mut self, node: &JNode) -> Option<NodeExecutor> {
        const EXPECTED: &str =
            "\"local\", \"slurm\" or an object like { \"slurm\": { \"partition\": \"gpu\" } }";
        match &node.value {
            Value::String(s) => {
                self.executor_name(&s.text, &s.span, false)?;
                Some(match s.text.as_str() {
                    "local" => NodeExecutor::Local,
                    _ => NodeExecutor::Slurm(SlurmSettings::default()),
                })
            }
            Value::Object(members) => {
                let Some((first, rest)) = members.split_first() else {
                    self.error(
                        node.span.clone(),
                        "`executor` is empty; name the executor and its settings, e.g. { \"slurm\": { \"partition\": \"gpu\" } }",
                        "no executor",
                    );
                    return None;
                };
                for m in rest {
                    let hint = if first.key.text == "slurm"
                        && SLURM_FIELDS.contains(&m.key.text.as_str())
                    {
                        format!(" (`{}` goes inside `slurm`)", m.key.text)
                    } else {
                        String::new()
                    };
                    self.error(
                        m.key.span.clone(),
                        format!(
                            "`executor` has more than one key; it takes one, the executor's name with its settings{hint}"
                        ),
                        "second key",
                    );
                }
                self.executor_name(&first.key.text, &first.key.span, true)?;
                let settings = self.slurm(&first.value)?;
                if !rest.is_empty() {
                    return None;
                }
                Some(NodeExecutor::Slurm(settings))
            }
            _ => {
                self.type_error(node, "`executor`", EXPECTED);
                None
            }
        }
    }

    /// An executor's name (`name` at `span`): one of [`EXECUTOR_NAMES`], and with settings (a
    /// key of an `executor` object) one that takes them.
    fn executor_name(&mut self, name: &str, span: &Span, with_settings: bool) -> Option<()> {
        match name {
            "slurm" => Some(()),
            "local" if !with_settings => Some(()),
            "local" => {
                self.error(
                    span.clone(),
                    "the local executor has no settings; write \"executor\": \"local\"",
                    "no settings",
                );
                None
            }
            other if with_settings && SLURM_FIELDS.contains(&other) => {
                self.error(
                    span.clone(),
                    format!(
                        "`{other}` is a Slurm setting, not an executor; write {{ \"slurm\": {{ \"{other}\": … }} }}"
                    ),
                    "not an executor",
                );
                None
            }
            other => {
                let hint = suggestion(other, EXECUTOR_NAMES.iter().copied());
                self.error(
                    span.clone(),
                    format!("unknown executor `{}`{hint}", other.escape_debug()),
                    "expected \"local\" or \"slurm\"",
                );
                None
            }
        }
    }

    /// `{ "partition"?, "account"?, "qos"?, "args"?: ["--opt=value", …], "job"?: "own" | "step" }`.
    fn slurm(&mut self, node: &JNode) -> Option<SlurmSettings> {
        let obj = self.object(node, "`slurm`", SLURM_FIELDS)?;
        let mut ok = true;
        let mut text = |this: &mut Self, field: &str| match obj.get(field) {
            Some(n) => match this.non_empty_string(n, &format!("`slurm.{field}`")) {
                Some(s) => Some(s.text.clone()),
                None => {
                    ok = false;
                    None
                }
            },
            None => None,
        };
        let partition = text(self, "partition");
        let account = text(self, "account");
        let qos = text(self, "qos");
        let args = match obj.get("args") {
            Some(n) => self.slurm_args(n),
            None => Some(Vec::new()),
        };
        let own_job = match obj.get("job") {
            None => Some(false),
            Some(n) => self.string(n, "`slurm.job`").and_then(|s| match s.text.as_str() {
                "own" => Some(true),
                "step" => Some(false),
                other => {
                    let hint = suggestion(other, SLURM_JOBS.iter().copied());
                    self.error(
                        s.span.clone(),
                        format!(
                            "`slurm.job` must be \"own\" (a job of its own) or \"step\" (a step in the run's allocation), found \"{}\"{hint}",
                            other.escape_debug()
                        ),
                        "expected \"own\" or \"step\"",
                    );
                    None
                }
            }),
        };
        let (args, own_job) = (args?, own_job?);
        if !ok {
            return None;
        }
        Some(SlurmSettings {
            partition,
            account,
            qos,
            args,
            own_job,
        })
    }

    /// `slurm.args`: each element one `srun`/`salloc` option (`--gres=gpu:1`, `-N2`).
    fn slurm_args(&mut self, node: &JNode) -> Option<Vec<String>> {
        let items = self.array(node, "`slurm.args`")?;
        let mut args = Vec::with_capacity(items.len());
        for item in items {
            let Some(s) = self.non_empty_string(item, "a `slurm.args` element") else {
                continue;
            };
            if !s.text.starts_with('-') {
                self.error(
                    s.span.clone(),
                    format!(
                        "`{}` is not an option: each element of `slurm.args` is one option with its value, e.g. \"--gres=gpu:1\" or \"--time=10:00\"",
                        s.text.escape_debug()
                    ),
                    "not an option (starts with `-`)",
                );
                continue;
            }
            args.push(s.text.clone());
        }
        (args.len() == items.len()).then_some(args)
    }

    /// `"errors": [ { "code": "…", "to": "node-id", "output_mapping": [...] }, … ]`.
    fn error_paths(&mut self, node: &JNode) -> Vec<ErrorPath> {
        let Some(items) = self.array(node, "`errors`") else {
            return Vec::new();
        };
        let mut paths: Vec<ErrorPath> = Vec::new();
        for item in items {
            let Some(obj) = self.object(item, "an error path", ERROR_FIELDS) else {
                continue;
            };
            let mut field = |name: &str, what: &str| match obj.get(name) {
                Some(n) => self.non_empty_string(n, what).cloned(),
                None => {
                    self.error(
                        item.span.clone(),
                        format!("this error path has no `{name}`"),
                        format!("add \"{name}\""),
                    );
                    None
                }
            };
            let code = field("code", "an error path's `code`");
            let to = field("to", "an error path's `to`");
            let output_mapping = obj
                .get("output_mapping")
                .and_then(|n| self.mapping(n, "an error path's `output_mapping`"));
            let (Some(code), Some(to)) = (code, to) else {
                continue;
            };
            if code.text.chars().any(char::is_control) {
                self.error(
                    code.span.clone(),
                    "an error code cannot contain control characters",
                    "control character",
                );
                continue;
            }
            if let Some(first) = paths.iter().find(|p| p.code == code.text) {
                let d = Diagnostic::error(
                    code.span.clone(),
                    format!("error code `{}` is caught twice", code.text),
                    "caught again",
                )
                .with_secondary(first.code_span.clone(), "first caught here");
                self.diags.push(d);
                continue;
            }
            paths.push(ErrorPath {
                code: code.text,
                code_span: code.span,
                to: to.text,
                to_span: to.span,
                output_mapping,
                span: item.span.clone(),
            });
        }
        paths
    }

    /// A timer node's `duration`.
    fn timer(&mut self, node: &JNode) -> Option<Timer> {
        let s = self.string(node, "`duration`")?;
        match iso_duration(s) {
            Ok(duration) => Some(Timer {
                duration,
                text: s.text.clone(),
                span: s.span.clone(),
            }),
            Err((why, span)) => {
                self.error(
                    span,
                    format!("invalid duration \"{}\": {why}", s.text),
                    "an ISO-8601 duration, e.g. \"PT30S\", \"PT5M\", \"P1D\"",
                );
                None
            }
        }
    }

    fn param_names(&mut self, node: &JNode) -> Option<Vec<(String, Span)>> {
        let items = self.array(node, "a node's `secrets`")?;
        let mut names: Vec<(String, Span)> = Vec::new();
        for item in items {
            let Some(s) = self.non_empty_string(item, "a secret parameter name") else {
                continue;
            };
            if !is_identifier(&s.text) {
                self.error(
                    s.span.clone(),
                    "a secret parameter name must be letters, digits and `_`, not starting with a digit",
                    "invalid parameter name",
                );
            } else if let Some((_, first)) = names.iter().find(|(n, _)| *n == s.text) {
                let d = Diagnostic::error(
                    s.span.clone(),
                    format!("secret parameter `{}` is listed twice", s.text),
                    "listed again",
                )
                .with_secondary(first.clone(), "first listed here");
                self.diags.push(d);
            } else {
                names.push((s.text.clone(), s.span.clone()));
            }
        }
        Some(names)
    }

    fn run(&mut self, node: &JNode) -> Option<Run> {
        let obj = self.object(node, "`run`", RUN_FIELDS)?;
        let forms: Vec<&Member> = RUN_FORMS
            .iter()
            .filter_map(|f| obj.members.iter().find(|m| m.key.text == *f))
            .copied()
            .collect();
        let form = match forms.as_slice() {
            [] => {
                self.error(
                    obj.span.clone(),
                    "`run` needs one of `command` (a program and its arguments), `python` (a module with a function), `project` (a platform service project) or `hub` (a managed service's URL)",
                    "nothing to run",
                );
                return None;
            }
            [one] => *one,
            [first, second, ..] => {
                self.error(
                    second.value.span.clone(),
                    format!(
                        "`run` has both `{}` and `{}`; give one of them",
                        first.key.text, second.key.text
                    ),
                    "second way to run",
                );
                return None;
            }
        };
        let kind = form.key.text.as_str();
        for (field, forms) in RUN_FORM_FIELDS {
            if forms.contains(&kind) {
                continue;
            }
            if let Some(m) = obj.members.iter().find(|m| m.key.text == *field) {
                let owners: Vec<String> = forms.iter().map(|f| format!("`{f}`")).collect();
                let why = match (*field, kind) {
                    ("cwd" | "env", "python" | "project") => {
                        "; a python service runs in its private folder and gets its inputs as parameters"
                    }
                    _ => "",
                };
                self.error(
                    m.key.span.clone(),
                    format!(
                        "`{field}` belongs to {} services, not to `{kind}`{why}",
                        owners.join(" and ")
                    ),
                    format!("not allowed with `{kind}`"),
                );
            }
        }
        match kind {
            "command" => self.run_command(&form.value, &obj),
            "python" => self.run_python(&form.value, &obj),
            "project" => self.run_project(&form.value, &obj),
            _ => self.run_hub(&form.value, &obj),
        }
    }

    fn run_command(&mut self, c: &JNode, obj: &Obj) -> Option<Run> {
        let items = self.array(c, "`command`")?;
        if items.is_empty() {
            self.error(
                c.span.clone(),
                "`command` must name at least the program to run",
                "empty command",
            );
            return None;
        }
        let argv: Vec<String> = items
            .iter()
            .filter_map(|i| {
                self.string(i, "a `command` element")
                    .map(|s| s.text.clone())
            })
            .collect();
        if argv.len() != items.len() {
            return None;
        }
        if argv[0].is_empty() {
            self.error(
                items[0].span.clone(),
                "the program name must not be empty",
                "empty",
            );
        }
        let cwd = obj
            .get("cwd")
            .and_then(|n| self.non_empty_string(n, "`cwd`"))
            .map(|s| PathBuf::from(&s.text));
        let env = obj.get("env").map(|n| self.env(n)).unwrap_or_default();
        Some(Run::Command { argv, cwd, env })
    }

    fn run_python(&mut self, p: &JNode, obj: &Obj) -> Option<Run> {
        let module = self.non_empty_string(p, "`python`")?;
        if !module.text.ends_with(".py") {
            self.error(
                module.span.clone(),
                "`python` must name a module file ending in `.py`",
                "not a .py file",
            );
        } else if !self.base_dir.join(&module.text).is_file() {
            let shown = self.base_dir.join(&module.text);
            self.error(
                module.span.clone(),
                format!("the python module `{}` does not exist ({} is resolved against the workflow file's folder)", shown.display(), module.text),
                "file not found",
            );
        }
        let function = match obj.get("function") {
            Some(f) => {
                let s = self.non_empty_string(f, "`function`")?;
                if !is_identifier(&s.text) {
                    self.error(
                        s.span.clone(),
                        format!("`{}` is not a Python function name", s.text),
                        "not an identifier",
                    );
                }
                s.text.clone()
            }
            None => "run".to_string(),
        };
        let interpreter = obj
            .get("interpreter")
            .and_then(|n| self.non_empty_string(n, "`interpreter`"))
            .map(|s| s.text.clone());
        Some(Run::Python {
            module: PathBuf::from(&module.text),
            function,
            interpreter,
        })
    }

    /// `{ "project": DIR, "entrypoint"?, "interpreter"? }`.
    fn run_project(&mut self, p: &JNode, obj: &Obj) -> Option<Run> {
        let dir = self.non_empty_string(p, "`project`")?;
        let shown = self.base_dir.join(&dir.text);
        if !shown.is_dir() {
            self.error(
                dir.span.clone(),
                format!(
                    "the service project `{}` is not a folder ({} is resolved against the workflow file's folder)",
                    shown.display(),
                    dir.text
                ),
                "folder not found",
            );
        }
        let mut entry_span = None;
        let entrypoint = match obj.get("entrypoint") {
            Some(e) => {
                let s = self.non_empty_string(e, "`entrypoint`")?;
                if !is_entrypoint(&s.text) {
                    self.error(
                        s.span.clone(),
                        format!(
                            "`{}` is not an entrypoint; write `package.module:function`, e.g. `src.program:run`",
                            s.text
                        ),
                        "not module:function",
                    );
                } else {
                    entry_span = Some(s.span.clone());
                }
                Some(s.text.clone())
            }
            None => None,
        };
        if shown.is_dir() && (entrypoint.is_none() || entry_span.is_some()) {
            self.entry_module(&shown, dir, entrypoint.as_deref(), entry_span);
        }
        let interpreter = obj
            .get("interpreter")
            .and_then(|n| self.non_empty_string(n, "`interpreter`"))
            .map(|s| s.text.clone());
        Some(Run::Project {
            dir: PathBuf::from(&dir.text),
            entrypoint,
            interpreter,
        })
    }

    /// The project's entrypoint module is a file in it, as the platform imports it (the project
    /// root first on `sys.path`, so `src.program` is `src/program.py`). The descriptor's own
    /// findings are reported against it by `project_findings`.
    fn entry_module(&mut self, root: &Path, dir: &Str, written: Option<&str>, at: Option<Span>) {
        let (descriptor, _) = project::read_descriptor(root);
        if descriptor
            .as_ref()
            .is_some_and(|d| d.runtime.as_deref() == Some(project::DOCKER))
        {
            // Not a Python project: its descriptor's finding says so, once.
            return;
        }
        let (entry, source) = project::entrypoint(written, None, descriptor.as_ref());
        let module = entry.split_once(':').map_or(entry.as_str(), |(m, _)| m);
        if project::module_file(root, module).is_some() {
            return;
        }
        let (file, package) = project::module_candidates(module);
        let span = at.unwrap_or_else(|| dir.span.clone());
        let d = Diagnostic::error(
            span,
            format!(
                "the entrypoint `{entry}` (from {source}) is not in the project `{}`: there is no {file} or {package} in it",
                dir.text
            ),
            "entrypoint module not found",
        )
        .with_note(format!(
            "the platform imports `{module}` with the project's folder first on `sys.path` (so `src` is a package and relative imports work); name another with `\"entrypoint\": \"package.module:function\"`"
        ));
        self.diags.push(d);
    }

    /// `{ "hub": URL, "auth"?: { "token" } | { "access_key_id", "secret_access_key" },
    /// "token_url"?, "poll"? }`; the auth fields name workflow secrets.
    fn run_hub(&mut self, h: &JNode, obj: &Obj) -> Option<Run> {
        let url = self.non_empty_string(h, "`hub`")?;
        if !(url.text.starts_with("http://") || url.text.starts_with("https://")) {
            self.error(
                url.span.clone(),
                format!(
                    "`{}` is not a Service API URL; write `https://…` (or `http://…` for a local qhub-serve)",
                    url.text
                ),
                "not an http(s) URL",
            );
        }
        self.no_userinfo(url, "`hub`");
        let token_url = obj
            .get("token_url")
            .and_then(|n| self.non_empty_string(n, "`token_url`"))
            .cloned();
        if let Some(t) = &token_url {
            self.no_userinfo(t, "`token_url`");
        }
        let token_url = token_url.map(|s| s.text);
        let poll = obj.get("poll").and_then(|n| self.timeout(n));
        let auth = match obj.get("auth") {
            None => HubAuth::None,
            Some(a) => {
                let a = self.object(a, "`auth`", HUB_AUTH_FIELDS)?;
                let name = |this: &mut Self, f: &str| {
                    a.get(f)
                        .and_then(|n| this.non_empty_string(n, &format!("`{f}`")))
                        .map(|s| s.text.clone())
                };
                match (
                    name(self, "token"),
                    name(self, "access_key_id"),
                    name(self, "secret_access_key"),
                ) {
                    (Some(token), None, None) => HubAuth::Bearer { token },
                    (None, Some(access_key_id), Some(secret_access_key)) => {
                        HubAuth::ClientCredentials {
                            access_key_id,
                            secret_access_key,
                        }
                    }
                    _ => {
                        self.error(
                            a.span.clone(),
                            "`auth` takes either `token` or both `access_key_id` and `secret_access_key`, each naming a workflow secret",
                            "incomplete credentials",
                        );
                        return None;
                    }
                }
            }
        };
        Some(Run::Hub(HubRun {
            url: url.text.clone(),
            auth,
            token_url,
            poll,
        }))
    }

    /// A URL with `user:password@` in it carries credentials in the workflow file: refused
    /// (without repeating it; credentials are workflow secrets named in `auth`).
    fn no_userinfo(&mut self, url: &Str, what: &str) {
        let rest = url.text.split_once("://").map_or("", |(_, r)| r);
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        if authority.contains('@') {
            self.error(
                url.span.clone(),
                format!("{what} holds credentials (`…@` before the host); name workflow secrets in `auth` instead"),
                "credentials in a URL",
            );
        }
    }

    fn binding_spec(&mut self, node: &JNode) -> Option<BindingSpec> {
        let obj = self.object(node, "a binding", BINDING_FIELDS)?;
        // The `run` fields, read by the same code as a JSON node's `run`.
        let run_members: Vec<Member> = obj
            .members
            .iter()
            .filter(|m| RUN_FIELDS.contains(&m.key.text.as_str()))
            .map(|m| (*m).clone())
            .collect();
        let run = self.run(&JNode {
            value: Value::Object(run_members),
            span: obj.span.clone(),
        });
        let timeout = obj.get("timeout").and_then(|n| self.timeout(n));
        let secrets = obj
            .get("secrets")
            .and_then(|n| Some((self.param_names(n)?, n.span.clone())));
        Some(BindingSpec {
            run,
            timeout,
            secrets,
        })
    }

    fn env(&mut self, node: &JNode) -> Vec<(String, String)> {
        let Value::Object(members) = &node.value else {
            self.type_error(node, "`env`", "an object of strings");
            return Vec::new();
        };
        let mut env: Vec<(String, String)> = Vec::new();
        for m in members {
            let key = &m.key.text;
            if key.is_empty() || key.contains('=') || key.contains('\0') {
                self.error(
                    m.key.span.clone(),
                    format!("`{key}` is not a valid environment variable name"),
                    "invalid name",
                );
                continue;
            }
            if key.starts_with("SECRET_") {
                self.error(
                    m.key.span.clone(),
                    format!("`{key}`: SECRET_* variables carry secrets and are set only from the node's `$secrets` mapping"),
                    "reserved for secrets",
                );
                continue;
            }
            if env.iter().any(|(k, _)| k == key) {
                self.error(
                    m.key.span.clone(),
                    format!("`{key}` is set twice in `env`"),
                    "set again",
                );
                continue;
            }
            if let Some(v) = self.string(&m.value, &format!("`env.{key}`")) {
                if v.text.contains('\0') {
                    self.error(
                        v.span.clone(),
                        "an environment value cannot contain a NUL character",
                        "NUL",
                    );
                    continue;
                }
                env.push((key.clone(), v.text.clone()));
            }
        }
        env
    }

    fn mapping(&mut self, node: &JNode, what: &str) -> Option<Vec<MappingRow>> {
        let items = self.array(node, what)?;
        let mut rows: Vec<MappingRow> = Vec::new();
        for item in items {
            let Some(obj) = self.object(item, &format!("a row of {what}"), ROW_FIELDS) else {
                continue;
            };
            let name = match obj.get("name") {
                Some(n) => self.non_empty_string(n, "a mapping row's `name`"),
                None => {
                    self.error(
                        item.span.clone(),
                        format!("this row of {what} has no `name` (the local variable name)"),
                        "add \"name\"",
                    );
                    None
                }
            };
            let value = match obj.get("value") {
                Some(n) => self.string(
                    n,
                    "a mapping row's `value` (an expression, written as a JSON string)",
                ),
                None => {
                    self.error(
                        item.span.clone(),
                        format!("this row of {what} has no `value` (the assignment expression)"),
                        "add \"value\"",
                    );
                    None
                }
            };
            let (Some(name), Some(value)) = (name, value) else {
                continue;
            };
            if let Some(first) = rows.iter().find(|r| r.name == name.text) {
                let d = Diagnostic::error(
                    name.span.clone(),
                    format!("`{}` is assigned twice in {what}", name.text),
                    "assigned again",
                )
                .with_secondary(first.name_span.clone(), "first assigned here");
                self.diags.push(d);
                continue;
            }
            let expr = match expr::parse(&value.text) {
                Ok(e) => Some(e),
                Err(e) => {
                    let span = non_empty(value.file_span(e.span.start..e.span.end));
                    // A `$secrets` row may hold a pasted value: its parse error does not quote
                    // the expression's text (the excerpt is masked too).
                    let message = if name.text == super::model::SECRETS_ROW {
                        "the `$secrets` expression does not parse here; it must be { \"param\": secret_value(\"secret_name\"), … }".to_string()
                    } else {
                        format!("in the expression for `{}`: {}", name.text, e.message)
                    };
                    self.error(span, message, "here");
                    None
                }
            };
            rows.push(MappingRow {
                name: name.text.clone(),
                name_span: name.span.clone(),
                value: value.clone(),
                expr,
            });
        }
        Some(rows)
    }

    fn timeout(&mut self, node: &JNode) -> Option<Duration> {
        let s = self.string(node, "`timeout`")?;
        match crate::human::parse_duration(&s.text) {
            Ok(d) => Some(d),
            Err(why) => {
                self.error(
                    s.span.clone(),
                    format!("invalid timeout \"{}\": {why}", s.text),
                    "e.g. \"30s\", \"5m\", \"1h30m\", \"250ms\"",
                );
                None
            }
        }
    }

    fn edge(&mut self, item: &JNode) -> Option<Edge> {
        let obj = self.object(item, "an edge", EDGE_FIELDS)?;
        let mut end = |field: &str| match obj.get(field) {
            Some(n) => self
                .non_empty_string(n, &format!("an edge's `{field}`"))
                .cloned(),
            None => {
                self.error(
                    item.span.clone(),
                    format!("this edge has no `{field}`"),
                    format!("add \"{field}\": \"node-id\""),
                );
                None
            }
        };
        let (from, to) = (end("from"), end("to"));
        let condition = obj.get("condition").and_then(|n| self.condition(n));
        let label = obj
            .get("label")
            .and_then(|n| self.non_empty_string(n, "an edge's `label`"))
            .map(|s| s.text.clone());
        let default = match obj.get("default") {
            Some(JNode {
                value: Value::Bool(b),
                ..
            }) => *b,
            Some(n) => {
                self.type_error(n, "an edge's `default`", "true or false");
                false
            }
            None => false,
        };
        let (from, to) = (from?, to?);
        Some(Edge {
            label,
            from: from.text,
            from_span: from.span,
            to: to.text,
            to_span: to.span,
            condition,
            default,
            span: item.span.clone(),
        })
    }

    /// An edge's `condition`: a FEEL expression in a JSON string.
    fn condition(&mut self, node: &JNode) -> Option<Condition> {
        let value = self.non_empty_string(node, "an edge's `condition`")?;
        Some(self.parsed(value, "the condition"))
    }

    /// A service's `result_expression` or `error_expression`: a FEEL expression in a JSON
    /// string.
    fn expression(&mut self, node: &JNode, what: &str) -> Option<Expression> {
        let value = self.non_empty_string(node, what)?;
        Some(self.parsed(value, what))
    }

    /// An expression's text parsed; a parse error is reported at its character in the file.
    fn parsed(&mut self, value: &Str, what: &str) -> Expression {
        let expr = match expr::parse(&value.text) {
            Ok(e) => Some(e),
            Err(e) => {
                let span = non_empty(value.file_span(e.span.start..e.span.end));
                self.error(span, format!("in {what}: {}", e.message), "here");
                None
            }
        };
        Expression {
            value: value.clone(),
            expr,
        }
    }

    /// A service's `result_variable`: the variable the whole result is set as.
    fn result_variable(&mut self, node: &JNode) -> Option<String> {
        let s = self.non_empty_string(node, "`result_variable`")?;
        if s.text == SECRETS_ROW {
            self.error(
                s.span.clone(),
                "`$secrets` cannot be a result variable: secrets never become workflow variables",
                "not allowed here",
            );
            return None;
        }
        Some(s.text.clone())
    }
}

/// A span at least one byte long (an empty one at the end of an expression marks its end).
fn non_empty(span: Span) -> Span {
    if span.is_empty() {
        span.start..span.start + 1
    } else {
        span
    }
}

fn node_kind(text: &str) -> Option<NodeKind> {
    Some(match text {
        "start" => NodeKind::Start,
        "service" => NodeKind::Service,
        "end" => NodeKind::End,
        "exclusive" => NodeKind::Exclusive,
        "parallel" => NodeKind::Parallel,
        "timer" => NodeKind::Timer,
        _ => return None,
    })
}

/// "a start node", "an exclusive gateway", … for messages.
pub(crate) fn kind_phrase(kind: NodeKind) -> &'static str {
    match kind {
        NodeKind::Start => "a start node",
        NodeKind::Service => "a service node",
        NodeKind::End => "an end node",
        NodeKind::Exclusive => "an exclusive gateway",
        NodeKind::Parallel => "a parallel gateway",
        NodeKind::Timer => "a timer node",
    }
}

/// "service nodes", "service and start nodes", … for the kinds that take a field.
fn kinds_word(kinds: &[NodeKind]) -> &'static str {
    match kinds {
        [NodeKind::Service] => "service nodes",
        [NodeKind::Timer] => "timer nodes",
        [NodeKind::Service, NodeKind::Start] => "service and start nodes",
        _ => "services, gateways and timers",
    }
}

/// Reads an ISO-8601 duration such as `PT30S` (the timer's and the backoff's format) with
/// `expr::timer_duration`; the error is the reason and the span of the character it is about.
fn iso_duration(s: &Str) -> Result<Duration, (String, Span)> {
    expr::timer_duration(&s.text).map_err(|e| {
        let at = e.at.min(s.text.len());
        let at = (0..=at)
            .rev()
            .find(|&i| s.text.is_char_boundary(i))
            .unwrap_or(0);
        let end = s.text[at..]
            .chars()
            .next()
            .map_or(at, |c| at + c.len_utf8());
        (e.reason.to_string(), non_empty(s.file_span(at..end)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::did_you_mean;

    #[test]
    fn suggestions() {
        assert_eq!(
            did_you_mean("lable", NODE_FIELDS.iter().copied()),
            Some("label")
        );
        assert_eq!(
            did_you_mean("input_mappings", NODE_FIELDS.iter().copied()),
            Some("input_mapping")
        );
        assert_eq!(did_you_mean("zzz", NODE_FIELDS.iter().copied()), None);
    }

    #[test]
    fn names() {
        assert!(
            is_identifier("ibm_token")
                && is_identifier("_x1")
                && !is_identifier("1x")
                && !is_identifier("a-b")
        );
        assert!(
            is_node_id("fetch-data.v2")
                && !is_node_id("../x")
                && !is_node_id("a b")
                && !is_node_id("")
        );
    }
}
