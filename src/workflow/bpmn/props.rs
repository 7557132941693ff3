//! The `wfop.` properties: what a JSON workflow says and BPMN cannot (declared inputs, secret
//! descriptions, timeouts, loop guards, empty mapping tables), kept as
//! `zeebe:property` entries, which the modeler shows and keeps. `write` writes them, `read`
//! reads them; docs/bpmn.md lists them.

/// Process: `wfop.input.NAME` declares the workflow input `NAME`; its value is the
/// description (empty: none).
pub const INPUT_PREFIX: &str = "wfop.input.";
/// Process: `wfop.inputs` with the value `{}`: the workflow declares that it has no inputs
/// (JSON's `"inputs": {}`; any `wfop.input.NAME` declares them too).
pub const INPUTS: &str = "wfop.inputs";
/// Process: `wfop.secret.NAME` declares the workflow secret `NAME`; its value is the
/// description (empty: none), which wins over the documentation of the element using it.
pub const SECRET_PREFIX: &str = "wfop.secret.";
/// Service task: the `timeout`, as wfop writes it (`30s`, `1h30m`, `1s500ms`).
pub const TIMEOUT: &str = "wfop.timeout";
/// Service task: the retries' `backoff`, an ISO-8601 duration (`PT5S`). The export writes
/// the connectors' own `retryBackoff` task header instead; this is read too.
pub const BACKOFF: &str = "wfop.backoff";
/// Service task, gateway, timer: `max_iterations` (when not the default).
pub const MAX_ITERATIONS: &str = "wfop.max_iterations";
/// Service task: `wfop.tty` with the value `true`: the service runs on a pseudo-terminal
/// (JSON's `"tty": true`).
pub const TTY: &str = "wfop.tty";
/// Service task: `wfop.stdin` with the value `open`: its stdin stays open for the operator
/// after its JSON input (JSON's `"stdin": "open"`).
pub const STDIN: &str = "wfop.stdin";
/// Service task: `wfop.executor` with the value `local` or `slurm`: where the service runs
/// (JSON's `"executor"`; no property: the run's executor).
pub const EXECUTOR: &str = "wfop.executor";
/// Service task with `wfop.executor` = `slurm`: its Slurm settings, `wfop.slurm.partition`,
/// `…account`, `…qos`, `…args` (options separated by whitespace) and `…job` (`own` or
/// `step`), JSON's `{ "slurm": { … } }`.
pub const SLURM_PREFIX: &str = "wfop.slurm.";
/// The settings a `wfop.slurm.` property may name.
pub const SLURM_SETTINGS: &[&str] = &["partition", "account", "qos", "args", "job"];
/// Service task: `wfop.input_mapping` with the value `[]`: an input mapping with no rows (the
/// service gets nothing), which BPMN cannot tell from no mapping (it gets every variable).
pub const INPUT_MAPPING: &str = "wfop.input_mapping";
/// Service task, start event, error boundary event: `wfop.output_mapping` with the value `[]`:
/// an output mapping with no rows (nothing is kept), unlike no mapping (everything merges).
pub const OUTPUT_MAPPING: &str = "wfop.output_mapping";
/// The value of [`INPUTS`]: no inputs.
pub const EMPTY_OBJECT: &str = "{}";
/// The value of [`INPUT_MAPPING`] and [`OUTPUT_MAPPING`]: a table without rows.
pub const EMPTY_TABLE: &str = "[]";
/// The parallel gateway an export puts in front of a service or timer that joins several
/// edges (a BPMN task would run once per token): its value is that node's id, and reading
/// folds the gateway back into the node.
pub const JOIN: &str = "wfop.join";
