//! The workflow model: what a loaded workflow file says, with the spans that diagnostics
//! need. Built by `load`, checked by `validate`, read by the engine and the front ends.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use super::json::{Span, Str};
use crate::expr::{self, Expr, SecretBinding};

#[derive(Debug, Clone)]
pub struct Workflow {
    /// The file as the user named it.
    pub path: PathBuf,
    /// The folder relative paths in the file resolve against.
    pub base_dir: PathBuf,
    pub name: String,
    pub description: Option<String>,
    /// Declared workflow inputs; `None` when the file has no `inputs` field.
    pub inputs: Option<Vec<Decl>>,
    /// Declared secrets; `None` when the file has no `secrets` field.
    pub secrets: Option<Vec<Decl>>,
    /// `"datapools": { "NAME": "DIR" }`: folders mounted for Python services as the platform
    /// mounts data pools (`$DATAPOOL_DIRECTORY/NAME`); `dir` relative to the workflow.
    pub datapools: Vec<DataPoolDecl>,
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
    /// Set when the workflow was read from a BPMN file (directly or through a JSON file's
    /// `"bpmn"` field): which process, and the binding file its service tasks were bound with.
    pub bpmn: Option<BpmnOrigin>,
}

/// Where a BPMN workflow came from.
#[derive(Debug, Clone, PartialEq)]
pub struct BpmnOrigin {
    /// The BPMN file.
    pub file: PathBuf,
    /// The `process` element's `id`.
    pub process_id: String,
    /// The binding file used (`FLOW.services.json` beside the BPMN file, `--services FILE`, or
    /// the JSON file that referenced the BPMN); `None` when there was none.
    pub services: Option<PathBuf>,
}

/// A data pool the workflow mounts: the `DataPool` parameter name and the folder.
#[derive(Debug, Clone, PartialEq)]
pub struct DataPoolDecl {
    pub name: String,
    /// As written (relative paths resolve against `Workflow::base_dir`).
    pub dir: PathBuf,
    /// The member (`"NAME": "DIR"`).
    pub span: Span,
}

/// A declared input or secret.
#[derive(Debug, Clone)]
pub struct Decl {
    pub name: String,
    pub description: Option<String>,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    Start,
    Service,
    End,
    /// `"type": "exclusive"`: takes the first outgoing edge (file order) whose `condition` is
    /// true, else the `default` edge; with several incoming edges it merges (passes each
    /// arrival on).
    Exclusive,
    /// `"type": "parallel"`: forks to every outgoing edge; as a join it waits for one token on
    /// every incoming edge.
    Parallel,
    /// `"type": "timer"`: waits `Node::timer` (an ISO-8601 duration such as `PT30S`),
    /// cancellably.
    Timer,
}

impl NodeKind {
    /// Gateways route tokens and run nothing.
    pub fn is_gateway(self) -> bool {
        matches!(self, NodeKind::Exclusive | NodeKind::Parallel)
    }
}

#[derive(Debug, Clone)]
pub struct Node {
    pub id: String,
    pub id_span: Span,
    pub kind: NodeKind,
    pub label: Option<String>,
    pub description: Option<String>,
    pub run: Option<Run>,
    /// Secret parameter names the service expects, with their spans.
    pub secrets: Vec<(String, Span)>,
    /// Span of the `secrets` field, when present.
    pub secrets_span: Option<Span>,
    /// `None`: no mapping, the service gets all workflow variables.
    pub input_mapping: Option<Vec<MappingRow>>,
    /// `None`: a JSON-object result's keys merge into the workflow variables.
    pub output_mapping: Option<Vec<MappingRow>>,
    /// The input mapping's `$secrets` row, read once at load: which parameter gets which
    /// workflow secret (none without a row or when it does not parse), or what is wrong with
    /// it (`validate` reports that).
    pub secret_bindings: Result<Vec<SecretBinding>, Vec<expr::Error>>,
    pub timeout: Option<Duration>,
    /// A service's `retries`: how many attempts in all, and the wait between them.
    pub retries: Option<Retries>,
    /// A service's error boundaries: a failure that raises one of these codes continues at
    /// the named node instead of failing the run.
    pub errors: Vec<ErrorPath>,
    /// How often this node may run in one run (loops); `DEFAULT_MAX_ITERATIONS` unless given.
    pub max_iterations: u32,
    /// A timer node's wait (`"duration": "PT30S"`).
    pub timer: Option<Timer>,
    /// A service's task type: BPMN's `zeebe:taskDefinition type` (what a binding names, see
    /// docs/bpmn.md), JSON's `"task_type"`. `None`: the node id stands for it.
    pub task_type: Option<String>,
    /// `"result_variable"` / BPMN's `resultVariable` header: the whole result is set as this
    /// variable (before the output mapping).
    pub result_variable: Option<String>,
    /// `"result_expression"` / BPMN's `resultExpression` header: evaluated with the result as
    /// `response` (and the workflow variables); its context's entries are set as variables
    /// (before the output mapping).
    pub result_expression: Option<Expression>,
    /// `"error_expression"` / BPMN's `errorExpression` header: evaluated when the service ends,
    /// with `error` (`{code, message, …problem}`, null on success) and `response` (the result,
    /// null on failure); a `bpmnError(code, message)` value raises that error code (caught by
    /// `errors` like any other), null changes nothing.
    pub error_expression: Option<Expression>,
    /// `"tty": true` / BPMN's `wfop.tty`: the service runs on a pseudo-terminal of its own
    /// (stdout and stderr one stream; the operator can type to it). `wfop run --tty` gives
    /// every local service one.
    pub tty: bool,
    /// `"stdin": "open"` / BPMN's `wfop.stdin`: a service without a terminal keeps its stdin
    /// open after its JSON input, for what the operator types (`C-d` closes it).
    pub stdin_open: bool,
    /// `"executor"`: where the service runs (docs/executors.md); by default where the run
    /// puts its services (`wfop run --executor`).
    pub executor: NodeExecutor,
    /// Set when the node stands for a BPMN element wfop does not run (a user task, a message
    /// event, …): `graph` draws it, `check` reports it, `run` refuses the workflow.
    pub unsupported: Option<Unsupported>,
    /// The whole node object.
    pub span: Span,
}

/// A service node's `"executor"` (docs/executors.md).
#[derive(Debug, Clone, PartialEq, Default)]
pub enum NodeExecutor {
    /// Not given: the run's executor (`wfop run --executor`, local by default).
    #[default]
    Run,
    /// `"executor": "local"`: a subprocess of wfop's host, whatever the run's executor.
    Local,
    /// `"executor": "slurm"` or `{ "slurm": { … } }`: a Slurm job step, with the run's Slurm
    /// settings overridden by these.
    Slurm(SlurmSettings),
}

/// Where and how a service runs on Slurm: the run's (`--partition`, `--account`, `--qos`,
/// `--slurm-arg`) or a node's `"executor": { "slurm": { … } }`, which overrides the run's
/// `partition`/`account`/`qos` and adds its `args` after the run's.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct SlurmSettings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qos: Option<String>,
    /// More `srun`/`salloc` options, each one argument (`--gres=gpu:1`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// `"job": "own"`: a job of its own instead of a step in the run's allocation.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub own_job: bool,
}

impl SlurmSettings {
    /// Whether a node with these settings can run as a step in the run's allocation (made
    /// with the run's settings): only when it asks for nothing the allocation does not have.
    pub fn fits_allocation(&self) -> bool {
        !self.own_job
            && self.partition.is_none()
            && self.account.is_none()
            && self.qos.is_none()
            && self.args.is_empty()
    }
}

/// Why a node is not run: the BPMN element (`userTask`) and the reason, as `check` says it.
#[derive(Debug, Clone, PartialEq)]
pub struct Unsupported {
    pub element: String,
    pub reason: String,
}

/// The code of an error path that catches every code no other path of its service names
/// (BPMN's error boundary event without an `errorRef`).
pub const CATCH_ALL: &str = "*";

/// The loop guard every node has unless it says otherwise.
pub const DEFAULT_MAX_ITERATIONS: u32 = 1000;

/// `"retries": 3` or `"retries": { "attempts": 3, "backoff": "PT5S" }` on a service.
#[derive(Debug, Clone, PartialEq)]
pub struct Retries {
    /// Attempts in all, the first included (the platform's `retries="3"`: three attempts).
    pub attempts: u32,
    /// Wait before each further attempt.
    pub backoff: Option<Duration>,
    pub span: Span,
}

/// `{ "code": "SIDECAR_ERROR", "to": "node-id", "output_mapping": [...] }` in a service's
/// `errors`: an error boundary.
#[derive(Debug, Clone)]
pub struct ErrorPath {
    pub code: String,
    pub code_span: Span,
    pub to: String,
    pub to_span: Span,
    /// Applied to the error (its `code`, `message` and problem document) before continuing.
    pub output_mapping: Option<Vec<MappingRow>>,
    pub span: Span,
}

/// A timer node's duration, as written and as read.
#[derive(Debug, Clone, PartialEq)]
pub struct Timer {
    pub duration: Duration,
    /// The text as the user wrote it (`PT30S`), for display.
    pub text: String,
    pub span: Span,
}

impl Node {
    /// A node with only its id, kind and spans: no label, run, mappings or other settings, the
    /// default loop guard. The loaders and tests fill in the rest.
    pub fn new(id: String, id_span: Span, kind: NodeKind, span: Span) -> Node {
        Node {
            id,
            id_span,
            kind,
            label: None,
            description: None,
            run: None,
            secrets: Vec::new(),
            secrets_span: None,
            input_mapping: None,
            output_mapping: None,
            secret_bindings: Ok(Vec::new()),
            timeout: None,
            retries: None,
            errors: Vec::new(),
            max_iterations: DEFAULT_MAX_ITERATIONS,
            timer: None,
            task_type: None,
            result_variable: None,
            result_expression: None,
            error_expression: None,
            tty: false,
            stdin_open: false,
            executor: NodeExecutor::Run,
            unsupported: None,
            span,
        }
    }

    /// What the graph and the tables show for this node.
    pub fn display_label(&self) -> &str {
        self.label.as_deref().unwrap_or(&self.id)
    }

    /// [`Node::display_label`] on one line, as every box, row, title and summary draws it: a
    /// line break (a BPMN `name` keeps the modeler's, `Generate&#10;QAOA circuit`), with the
    /// blanks around it, is one space.
    pub fn line_label(&self) -> Cow<'_, str> {
        let label = self.display_label();
        if !label.contains(['\n', '\r']) {
            return Cow::Borrowed(label);
        }
        let parts: Vec<&str> = label
            .split(['\n', '\r'])
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .collect();
        Cow::Owned(parts.join(" "))
    }

    /// The secret parameters this service gets: the bindings of its `$secrets` row (none when
    /// the row is missing or invalid).
    pub fn bound_secrets(&self) -> &[SecretBinding] {
        self.secret_bindings.as_deref().unwrap_or(&[])
    }

    /// The `$secrets` row of the input mapping, if any.
    pub fn secrets_row(&self) -> Option<&MappingRow> {
        self.input_mapping
            .as_ref()?
            .iter()
            .find(|r| r.name == SECRETS_ROW)
    }
}

/// The name of the input-mapping row that binds secret parameters.
pub const SECRETS_ROW: &str = "$secrets";

/// One row of a mapping table: "Local variable name" ← "Variable assignment value".
#[derive(Debug, Clone)]
pub struct MappingRow {
    pub name: String,
    pub name_span: Span,
    /// The expression text, able to map its offsets back into the file.
    pub value: Str,
    /// The parsed expression; `None` when it did not parse (an error was reported).
    pub expr: Option<Expr>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Run {
    /// `{ "command": [prog, args…], "cwd"?, "env"? }`
    Command {
        argv: Vec<String>,
        cwd: Option<PathBuf>,
        env: Vec<(String, String)>,
    },
    /// `{ "python": "module.py", "function": "run", "interpreter"? }` — the hub runtime.
    Python {
        module: PathBuf,
        function: String,
        interpreter: Option<String>,
    },
    /// `{ "project": "services/hello", "entrypoint"?: "src.program:run", "interpreter"? }` — a
    /// platform service project, imported as the platform imports it (the project root on
    /// `sys.path`, `src` a package). `entrypoint` as written (`None`: from the project's
    /// `planqk.json`/`qhub.json`, else the platform's default); `dir` relative to the workflow.
    Project {
        dir: PathBuf,
        entrypoint: Option<String>,
        interpreter: Option<String>,
    },
    /// `{ "hub": "https://…/my-service/1.0.0", "auth"?, "token_url"?, "poll"? }` — a managed
    /// service on the hub, called through its Service API (src/engine/hub.rs).
    Hub(HubRun),
}

/// A hub-hosted service node's call: where and how to authenticate.
#[derive(Debug, Clone, PartialEq)]
pub struct HubRun {
    /// The service's Service API base URL (`POST {url}/` starts an execution).
    pub url: String,
    pub auth: HubAuth,
    /// The OAuth2 token endpoint for [`HubAuth::ClientCredentials`] (`None`: the hub gateway's).
    pub token_url: Option<String>,
    /// Time between status polls (`None`: the default).
    pub poll: Option<std::time::Duration>,
}

/// How a hub node authenticates; the fields name **workflow secrets** (prompted, redacted,
/// never logged), not values.
#[derive(Debug, Clone, PartialEq)]
pub enum HubAuth {
    /// No credentials (a local `qhub-serve`).
    None,
    /// `"auth": { "token": "SECRET" }`: `Authorization: Bearer <value>`.
    Bearer { token: String },
    /// `"auth": { "access_key_id": "SECRET", "secret_access_key": "SECRET" }`: the gateway's
    /// OAuth2 client-credentials flow (as the platform's `qhub-service` SDK does it).
    ClientCredentials {
        access_key_id: String,
        secret_access_key: String,
    },
}

impl HubAuth {
    /// The workflow secrets these credentials name.
    pub fn secret_names(&self) -> Vec<&str> {
        match self {
            HubAuth::None => Vec::new(),
            HubAuth::Bearer { token } => vec![token],
            HubAuth::ClientCredentials {
                access_key_id,
                secret_access_key,
            } => vec![access_key_id, secret_access_key],
        }
    }
}

#[derive(Debug, Clone)]
pub struct Edge {
    pub from: String,
    pub from_span: Span,
    pub to: String,
    pub to_span: Span,
    /// A FEEL condition; only on the outgoing edges of an exclusive gateway.
    pub condition: Option<Condition>,
    /// `"default": true`: the exclusive gateway's edge taken when no condition is true.
    pub default: bool,
    /// `"label"` / a BPMN sequence flow's `name` ("Yes", "Running"): shown, never evaluated.
    pub label: Option<String>,
    pub span: Span,
}

/// An expression as written (able to map offsets into the file) and as parsed (`None` when it
/// did not parse; an error was reported): an edge's condition, a result or error expression.
#[derive(Debug, Clone)]
pub struct Expression {
    pub value: Str,
    pub expr: Option<Expr>,
}

/// An edge's `condition`.
pub type Condition = Expression;

impl Workflow {
    pub fn node_index(&self, id: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.id == id)
    }

    /// Edges as index pairs; edges naming unknown nodes are left out.
    pub fn edge_indices(&self) -> Vec<(usize, usize)> {
        let index = self.index_by_id();
        self.edges
            .iter()
            .filter_map(|e| Some((*index.get(e.from.as_str())?, *index.get(e.to.as_str())?)))
            .collect()
    }

    /// Node index by id (the first node with that id, should ids repeat): for callers that look
    /// up many ids at once (`node_index` is a linear search).
    pub fn index_by_id(&self) -> HashMap<&str, usize> {
        let mut index = HashMap::with_capacity(self.nodes.len());
        for (i, n) in self.nodes.iter().enumerate() {
            index.entry(n.id.as_str()).or_insert(i);
        }
        index
    }
}
