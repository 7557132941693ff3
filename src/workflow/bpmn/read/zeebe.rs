//! Camunda 8's `zeebe:` extension elements → the node: `taskDefinition` (task type, retries),
//! `ioMapping` (input and output rows), `taskHeaders` (`resultVariable`, `resultExpression`,
//! `errorExpression`, `retryBackoff`), the process's `description` property. Extensions wfop
//! does not use are warned about, never dropped silently.

use roxmltree::Node as XNode;

use super::super::{BPMN_NS, ZEEBE_NS, props};
use super::{Cx, xml};
use crate::diag::{Diagnostic, is_identifier, suggestion};
use crate::expr;
use crate::workflow::json::Str;
use crate::workflow::load::{MAX_ATTEMPTS, MAX_ITERATIONS_LIMIT};
use crate::workflow::model::{
    Decl, Expression, MappingRow, Node, NodeExecutor, NodeKind, Retries, SECRETS_ROW, SlurmSettings,
};

/// The `zeebe:` elements of an element's `extensionElements`.
fn extensions<'a, 'i>(el: XNode<'a, 'i>) -> impl Iterator<Item = XNode<'a, 'i>> {
    xml::children(el, BPMN_NS, "extensionElements")
        .flat_map(|x| x.children())
        .filter(|c| xml::in_ns(*c, ZEEBE_NS))
}

/// The element's `zeebe:<name>` extension, if any.
pub fn ext<'a, 'i>(el: XNode<'a, 'i>, name: &str) -> Option<XNode<'a, 'i>> {
    extensions(el).find(|c| c.tag_name().name() == name)
}

/// A service task's extensions.
pub fn service(cx: &mut Cx, el: XNode, node: &mut Node) {
    let mut backoff = None;
    for x in extensions(el) {
        match x.tag_name().name() {
            "taskDefinition" => task_definition(cx, x, node),
            "ioMapping" => {
                node.input_mapping = rows(cx, x, "input", &node.id);
                node.output_mapping = rows(cx, x, "output", &node.id);
            }
            "taskHeaders" => headers(cx, x, node, &mut backoff),
            "properties" => {}
            other => unused(cx, x, other, "a service task"),
        }
    }
    if let Some((d, span)) = backoff {
        match &mut node.retries {
            Some(r) => r.backoff = Some(d),
            None => cx.warning(
                span,
                "retryBackoff without retries: the task runs once, so there is nothing to wait for",
                "no retries",
            ),
        }
    }
    let row = node
        .input_mapping
        .iter()
        .flatten()
        .find(|r| r.name == SECRETS_ROW);
    if let Some(row) = row
        && let Some(e) = &row.expr
    {
        node.secret_bindings = expr::secret_bindings(e);
        if let Ok(bindings) = &node.secret_bindings {
            node.secrets = bindings
                .iter()
                .map(|b| {
                    let span = row.value.file_span(b.param_span.start..b.param_span.end);
                    (b.param.clone(), span)
                })
                .collect();
        }
    }
}

/// A start event's extensions: output rows only.
pub fn start(cx: &mut Cx, el: XNode, node: &mut Node) {
    for x in extensions(el) {
        match x.tag_name().name() {
            "ioMapping" => {
                if let Some(i) = xml::child(x, ZEEBE_NS, "input") {
                    cx.error(
                        cx.tag(i),
                        "a start event has no input mapping; set the process's first variables with output rows",
                        "not on a start event",
                    );
                }
                node.output_mapping = rows(cx, x, "output", &node.id);
            }
            "formDefinition" => cx.warning(
                cx.tag(x),
                "the start form is not shown: wfop takes the workflow's inputs from --input (or asks for its secrets)",
                "form not shown",
            ),
            "properties" => {}
            other => unused(cx, x, other, "a start event"),
        }
    }
}

/// Any other node's extensions: all but properties warned about.
pub fn other(cx: &mut Cx, el: XNode, what: &str) {
    for x in extensions(el) {
        let name = x.tag_name().name();
        if name != "properties" {
            unused(cx, x, name, what);
        }
    }
}

fn unused(cx: &mut Cx, x: XNode, name: &str, what: &str) {
    cx.warning(
        cx.tag(x),
        format!("`zeebe:{name}` on {what} is not used by wfop"),
        "ignored",
    );
}

/// `<zeebe:taskDefinition type="…" retries="3"/>`.
fn task_definition(cx: &mut Cx, x: XNode, node: &mut Node) {
    if let Some(t) = cx.attr(x, "type").filter(|t| !t.text.trim().is_empty()) {
        if t.text.trim_start().starts_with('=') {
            cx.run_only(
                t.span.clone(),
                format!("the task type of `{}` is an expression: wfop binds a fixed task type (or the task id) to a service", node.id),
                "computed at run time",
            );
        }
        // A type equal to the id says what no type says (docs/bpmn.md: a binding names the
        // task type, else the task id), and is what wfop's own export writes for no type.
        let t = t.text.trim();
        node.task_type = (t != node.id).then(|| t.to_string());
    }
    let Some(r) = cx.attr(x, "retries") else {
        return;
    };
    match r.text.trim().parse::<u32>() {
        Ok(n) if (1..=MAX_ATTEMPTS).contains(&n) => {
            node.retries = Some(Retries {
                attempts: n,
                backoff: None,
                span: r.span.clone(),
            });
        }
        _ => cx.error(
            r.span.clone(),
            format!("retries must be a whole number from 1 to {MAX_ATTEMPTS} (attempts in all, the first included)"),
            format!("expected 1 to {MAX_ATTEMPTS}"),
        ),
    }
}

/// The `zeebe:input` or `zeebe:output` rows of an ioMapping; `None` when it has none.
fn rows(cx: &mut Cx, io: XNode, which: &str, owner: &str) -> Option<Vec<MappingRow>> {
    let mut out: Vec<MappingRow> = Vec::new();
    for row in xml::children(io, ZEEBE_NS, which) {
        let Some(target) = cx.required(row, "target") else {
            continue;
        };
        if let Some(first) = out.iter().find(|r| r.name == target.text) {
            let d = Diagnostic::error(
                target.span.clone(),
                format!(
                    "`{}` is assigned twice in the {which} mapping of `{owner}`",
                    target.text
                ),
                "assigned again",
            )
            .with_secondary(first.name_span.clone(), "first assigned here");
            cx.diags.push(d);
            continue;
        }
        // A row without a source sets its variable to null (the modeler's empty value).
        let value = cx.attr(row, "source").unwrap_or_else(|| {
            let at = xml::attr_span(cx.text, row, "target").start;
            Str::from_parts(String::new(), at..at, vec![(0, at)])
        });
        let what = if target.text == SECRETS_ROW {
            format!("the `{SECRETS_ROW}` expression")
        } else {
            format!("in the expression for `{}`", target.text)
        };
        let expr = if value.text.trim().is_empty() {
            Some(expr::Expr {
                kind: expr::ExprKind::Null,
                span: expr::Span::new(0, value.text.len()),
            })
        } else {
            cx.source(&value, &what)
        };
        out.push(MappingRow {
            name: target.text.clone(),
            name_span: target.span.clone(),
            value,
            expr,
        });
    }
    (!out.is_empty()).then_some(out)
}

/// `<zeebe:taskHeaders>`: the headers wfop reads; any other is warned about.
fn headers(
    cx: &mut Cx,
    x: XNode,
    node: &mut Node,
    backoff: &mut Option<(std::time::Duration, crate::workflow::json::Span)>,
) {
    for h in xml::children(x, ZEEBE_NS, "header") {
        let Some(key) = cx.required(h, "key") else {
            continue;
        };
        let value = cx.attr(h, "value").filter(|v| !v.text.trim().is_empty());
        let Some(value) = value else {
            cx.warning(
                xml::attr_span(cx.text, h, "value"),
                format!("header `{}` has no value; it is left out", key.text),
                "empty",
            );
            continue;
        };
        match key.text.as_str() {
            "resultVariable" => node.result_variable = Some(value.text.trim().to_string()),
            "resultExpression" => {
                let expr = cx.feel(&value, "in the resultExpression");
                node.result_expression = Some(Expression { value, expr });
            }
            "errorExpression" => {
                let expr = cx.feel(&value, "in the errorExpression");
                node.error_expression = Some(Expression { value, expr });
            }
            "retryBackoff" => match expr::timer_duration(value.text.trim()) {
                Ok(d) => *backoff = Some((d, value.span.clone())),
                Err(e) => cx.error(
                    value.span.clone(),
                    format!("invalid retryBackoff \"{}\": {}", value.text.trim(), e.reason),
                    "an ISO-8601 duration, e.g. PT5S",
                ),
            },
            other => cx.warning(
                key.span.clone(),
                format!("task header `{other}` is not used by wfop (a service gets its inputs from the input mapping)"),
                "ignored",
            ),
        }
    }
}

/// What a process's `zeebe:properties` say: its `description`, and what wfop's own export
/// writes there (`wfop.input.NAME`, `wfop.secret.NAME`: declarations with descriptions).
#[derive(Default)]
pub struct ProcessProperties {
    pub description: Option<String>,
    /// `None`: no `wfop.input.*` property.
    pub inputs: Option<Vec<Decl>>,
    pub secrets: Vec<Decl>,
}

/// The `zeebe:property` elements of an element, with their name and value.
fn properties<'a, 'i>(cx: &Cx, el: XNode<'a, 'i>) -> Vec<(XNode<'a, 'i>, Str, Option<Str>)> {
    extensions(el)
        .filter(|x| x.tag_name().name() == "properties")
        .flat_map(|x| xml::children(x, ZEEBE_NS, "property"))
        .filter_map(|p| {
            let name = cx.attr(p, "name")?;
            let value = cx.attr(p, "value");
            Some((p, name, value))
        })
        .collect()
}

/// The process's properties.
pub fn process_properties(cx: &mut Cx, process: XNode) -> ProcessProperties {
    let mut out = ProcessProperties::default();
    for (_, name, value) in properties(cx, process) {
        let description = value
            .as_ref()
            .map(|v| v.text.clone())
            .filter(|v| !v.trim().is_empty());
        let (list, decl_name, secret) = if name.text == "description" {
            out.description = description;
            continue;
        } else if name.text == props::INPUTS {
            // `"inputs": {}`: declared, none.
            if empty_value(cx, &name, value.as_ref(), props::EMPTY_OBJECT) {
                out.inputs.get_or_insert_with(Vec::new);
            }
            continue;
        } else if let Some(n) = name.text.strip_prefix("wfop.input.") {
            (out.inputs.get_or_insert_with(Vec::new), n, false)
        } else if let Some(n) = name.text.strip_prefix("wfop.secret.") {
            (&mut out.secrets, n, true)
        } else {
            if name.text.starts_with("wfop.") {
                unknown_property(cx, &name, "a process");
            }
            continue;
        };
        let what = if secret { "secret" } else { "input" };
        if decl_name.is_empty() || (secret && !is_identifier(decl_name)) {
            cx.diags.push(Diagnostic::error(
                name.span.clone(),
                format!("`{}` does not name a workflow {what} (letters, digits and `_`, not starting with a digit)", name.text),
                format!("invalid {what} name"),
            ));
            continue;
        }
        if let Some(first) = list.iter().find(|d| d.name == decl_name) {
            let d = Diagnostic::error(
                name.span.clone(),
                format!("{what} `{decl_name}` is declared twice"),
                "declared again",
            )
            .with_secondary(first.span.clone(), "first declared here");
            cx.diags.push(d);
            continue;
        }
        list.push(Decl {
            name: decl_name.to_string(),
            description,
            span: name.span.clone(),
        });
    }
    out
}

fn unknown_property(cx: &mut Cx, name: &Str, what: &str) {
    let known = [
        "wfop.timeout",
        "wfop.max_iterations",
        "wfop.backoff",
        "wfop.tty",
        "wfop.stdin",
        "wfop.executor",
        "wfop.slurm.partition",
        "wfop.slurm.account",
        "wfop.slurm.qos",
        "wfop.slurm.args",
        "wfop.slurm.job",
        "wfop.input.NAME",
        "wfop.secret.NAME",
        "wfop.inputs",
        "wfop.input_mapping",
        "wfop.output_mapping",
        "wfop.join",
    ];
    cx.warning(
        name.span.clone(),
        format!(
            "property `{}` on {what} is not one wfop knows; it is left out (known: {})",
            name.text,
            known.join(", ")
        ),
        "unknown wfop property",
    );
}

/// Whether a property that stands for an empty JSON value (`{}`, `[]`) has that value; an
/// error at it when not.
fn empty_value(cx: &mut Cx, name: &Str, value: Option<&Str>, want: &str) -> bool {
    if value.is_some_and(|v| v.text.trim() == want) {
        return true;
    }
    cx.error(
        value.map_or(name.span.clone(), |v| v.span.clone()),
        format!("`{}` must have the value `{want}`", name.text),
        format!("expected {want}"),
    );
    false
}

/// A service task's `wfop.executor` and `wfop.slurm.*` properties as read so far: they may
/// come in any order, so [`Executor::apply`] puts them together at the end.
#[derive(Default)]
struct Executor {
    /// `wfop.executor`'s value (when `local` or `slurm`) and where.
    name: Option<(&'static str, Str)>,
    slurm: SlurmSettings,
    /// The first `wfop.slurm.*` property's name.
    first_setting: Option<Str>,
    /// A property was refused: the executor stays the run's.
    refused: bool,
    /// `wfop.executor` was refused: the Slurm settings are not checked against it.
    bad_name: bool,
}

impl Executor {
    /// `wfop.executor`.
    fn name(&mut self, cx: &mut Cx, value: &Str, text: &str) {
        let name = match text {
            "local" => "local",
            "slurm" => "slurm",
            _ => {
                let hint = suggestion(text, ["local", "slurm"]);
                cx.error(
                    value.span.clone(),
                    format!(
                        "wfop.executor must be `local` or `slurm`, found \"{}\"{hint}",
                        text.escape_debug()
                    ),
                    "expected local or slurm",
                );
                self.bad_name = true;
                return;
            }
        };
        self.name = Some((name, value.clone()));
    }

    /// `wfop.slurm.<setting>` (a known one) with the value `value` (`text`, trimmed).
    fn setting(&mut self, cx: &mut Cx, name: &Str, setting: &str, value: &Str, text: &str) {
        self.first_setting.get_or_insert_with(|| name.clone());
        if text.is_empty() {
            cx.error(
                value.span.clone(),
                format!("`{}` must not be empty", name.text),
                "empty",
            );
            self.refused = true;
            return;
        }
        let s = &mut self.slurm;
        match setting {
            "partition" => s.partition = Some(text.to_string()),
            "account" => s.account = Some(text.to_string()),
            "qos" => s.qos = Some(text.to_string()),
            "job" => match text {
                "own" => s.own_job = true,
                "step" => s.own_job = false,
                _ => {
                    let hint = suggestion(text, ["own", "step"]);
                    cx.error(
                        value.span.clone(),
                        format!(
                            "wfop.slurm.job must be `own` (a job of its own) or `step` (a step in the run's allocation), found \"{}\"{hint}",
                            text.escape_debug()
                        ),
                        "expected own or step",
                    );
                    self.refused = true;
                }
            },
            _ => {
                let args: Vec<&str> = text.split_whitespace().collect();
                if let Some(bad) = args.iter().find(|a| !a.starts_with('-')) {
                    cx.error(
                        value.span.clone(),
                        format!(
                            "wfop.slurm.args: `{}` is not an option; the value is options separated by whitespace, each with its value, e.g. `--gres=gpu:1 --time=10:00`",
                            bad.escape_debug()
                        ),
                        "not an option (starts with `-`)",
                    );
                    self.refused = true;
                    return;
                }
                s.args = args.into_iter().map(String::from).collect();
            }
        }
    }

    /// The node's executor from the properties read; the Slurm settings need
    /// `wfop.executor` = `slurm`.
    fn apply(self, cx: &mut Cx, node: &mut Node) {
        if self.bad_name {
            return;
        }
        let first = self.first_setting;
        match (self.name, first) {
            (None, Some(setting)) => {
                cx.error(
                    setting.span.clone(),
                    format!(
                        "`{}` needs `wfop.executor` = `slurm` on the same task",
                        setting.text
                    ),
                    "no slurm executor",
                );
            }
            (Some(("local", value)), Some(setting)) => {
                let d = Diagnostic::error(
                    setting.span.clone(),
                    format!(
                        "`{}` is a Slurm setting, but this task's `wfop.executor` is `local`",
                        setting.text
                    ),
                    "not for the local executor",
                )
                .with_secondary(value.span.clone(), "the executor");
                cx.diags.push(d);
            }
            _ if self.refused => {}
            (Some(("local", _)), None) => node.executor = NodeExecutor::Local,
            (Some(_), _) => node.executor = NodeExecutor::Slurm(self.slurm),
            (None, None) => {}
        }
    }
}

/// A node's `wfop.` properties: `wfop.timeout`, `wfop.tty`, `wfop.stdin`, `wfop.executor`,
/// `wfop.slurm.*` (services),
/// `wfop.max_iterations` (services,
/// gateways, timers), `wfop.backoff` (services with retries), `wfop.input_mapping` (services)
/// and `wfop.output_mapping` (services, start events) with the value `[]` (a table without
/// rows), `wfop.join` (parallel gateways; `read::joins` folds them).
pub fn node_properties(cx: &mut Cx, el: XNode, node: &mut Node) {
    let kind = node.kind;
    let mut executor = Executor::default();
    for (_, name, value) in properties(cx, el) {
        let Some(field) = name.text.strip_prefix("wfop.") else {
            continue;
        };
        let allowed =
            match field {
                "timeout" | "backoff" | "input_mapping" | "tty" | "stdin" | "executor" => {
                    kind == NodeKind::Service
                }
                f if f.starts_with("slurm.") => {
                    let setting = &f["slurm.".len()..];
                    if !props::SLURM_SETTINGS.contains(&setting) {
                        let hint = suggestion(setting, props::SLURM_SETTINGS.iter().copied())
                            .replacen('`', &format!("`{}", props::SLURM_PREFIX), 1);
                        cx.error(
                            name.span.clone(),
                            format!("unknown Slurm setting `{}`{hint}", name.text),
                            format!("known: {}", props::SLURM_SETTINGS.join(", ")),
                        );
                        executor.refused = true;
                        continue;
                    }
                    kind == NodeKind::Service
                }
                "output_mapping" => matches!(kind, NodeKind::Service | NodeKind::Start),
                "join" => kind == NodeKind::Parallel,
                "max_iterations" => matches!(
                    kind,
                    NodeKind::Service | NodeKind::Exclusive | NodeKind::Parallel | NodeKind::Timer
                ),
                _ => {
                    unknown_property(cx, &name, "an element");
                    continue;
                }
            };
        if !allowed {
            cx.error(
                name.span.clone(),
                format!(
                    "`{}` does not apply to `{}`",
                    name.text,
                    el.tag_name().name()
                ),
                "not here",
            );
            continue;
        }
        let Some(value) = value else {
            cx.error(
                name.span.clone(),
                format!("`{}` has no value", name.text),
                "no value",
            );
            continue;
        };
        let text = value.text.trim();
        if let Some(setting) = field.strip_prefix("slurm.") {
            executor.setting(cx, &name, setting, &value, text);
            continue;
        }
        match field {
            "join" => {}
            "executor" => executor.name(cx, &value, text),
            "tty" => match text {
                "true" => node.tty = true,
                "false" => node.tty = false,
                _ => cx.error(
                    value.span.clone(),
                    format!("wfop.tty must be `true` or `false`, found \"{}\"", text.escape_debug()),
                    "expected true or false",
                ),
            },
            "stdin" => match text {
                "open" => node.stdin_open = true,
                "closed" => node.stdin_open = false,
                _ => cx.error(
                    value.span.clone(),
                    format!("wfop.stdin must be `open` or `closed`, found \"{}\"", text.escape_debug()),
                    "expected open or closed",
                ),
            },
            "input_mapping" => {
                if empty_value(cx, &name, Some(&value), props::EMPTY_TABLE) {
                    node.input_mapping.get_or_insert_with(Vec::new);
                }
            }
            "output_mapping" => {
                if empty_value(cx, &name, Some(&value), props::EMPTY_TABLE) {
                    node.output_mapping.get_or_insert_with(Vec::new);
                }
            }
            "timeout" => match crate::human::parse_duration(text) {
                Ok(d) => node.timeout = Some(d),
                Err(why) => cx.error(
                    value.span.clone(),
                    format!("invalid wfop.timeout \"{text}\": {why}"),
                    "e.g. \"30s\", \"5m\", \"1h30m\"",
                ),
            },
            "max_iterations" => match text.parse::<u32>() {
                Ok(n) if (1..=MAX_ITERATIONS_LIMIT).contains(&n) => node.max_iterations = n,
                _ => cx.error(
                    value.span.clone(),
                    format!("wfop.max_iterations must be a whole number from 1 to {MAX_ITERATIONS_LIMIT}"),
                    format!("expected 1 to {MAX_ITERATIONS_LIMIT}"),
                ),
            },
            _ => match expr::timer_duration(text) {
                Ok(d) => match &mut node.retries {
                    Some(r) => r.backoff = Some(d),
                    None => cx.warning(
                        value.span.clone(),
                        "wfop.backoff without retries: the task runs once, so there is nothing to wait for",
                        "no retries",
                    ),
                },
                Err(e) => cx.error(
                    value.span.clone(),
                    format!("invalid wfop.backoff \"{text}\": {}", e.reason),
                    "an ISO-8601 duration, e.g. PT5S",
                ),
            },
        }
    }
    executor.apply(cx, node);
}

/// An error boundary event's output rows.
pub fn boundary_outputs(cx: &mut Cx, el: XNode, id: &str) -> Option<Vec<MappingRow>> {
    let mut found = None;
    for x in extensions(el) {
        match x.tag_name().name() {
            "ioMapping" => {
                if let Some(i) = xml::child(x, ZEEBE_NS, "input") {
                    cx.warning(
                        cx.tag(i),
                        "an error boundary event's input rows are not used by wfop",
                        "ignored",
                    );
                }
                found = rows(cx, x, "output", id);
            }
            "properties" => {}
            other => unused(cx, x, other, "an error boundary event"),
        }
    }
    for (_, name, value) in properties(cx, el) {
        if name.text == props::OUTPUT_MAPPING {
            if empty_value(cx, &name, value.as_ref(), props::EMPTY_TABLE) {
                found.get_or_insert_with(Vec::new);
            }
        } else if name.text.starts_with("wfop.") {
            unknown_property(cx, &name, "an error boundary event");
        }
    }
    found
}
