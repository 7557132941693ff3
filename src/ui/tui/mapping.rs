//! The mapping table of the selected node as data: Local variable name | Variable assignment
//! value | Resolved (a preview from the workflow variables as they stand, redacted; secrets
//! only by name and source, never a value or its length); a gateway's edges and conditions
//! with the values the run last gave them, a timer's wait.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::engine::{ShownVars, VarRef};
use crate::expr;
use crate::secrets::{Redactor, StreamRedactor};
use crate::workflow::model::SECRETS_ROW;
use crate::workflow::{Node, NodeKind, Workflow};

/// Shown in place of every secret value: fixed, whatever the value's length.
pub const SECRET_MASK: &str = "••••••";

/// How a resolved cell reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// A value preview (compact JSON).
    Value(String),
    /// Not known yet (the variables it reads come from a node that has not run) or an error.
    Note(String),
    /// What the run did: a gateway's edge that was taken (`true · taken`).
    Taken(String),
    /// A `$secrets` binding: `param ← secret_value("secret") ••••••  (from: source)`.
    Secret {
        param: String,
        secret: String,
        source: Option<String>,
    },
}

impl Resolved {
    /// The text as shown.
    pub fn text(&self) -> String {
        match self {
            Resolved::Value(v) | Resolved::Note(v) | Resolved::Taken(v) => v.clone(),
            Resolved::Secret {
                param,
                secret,
                source,
            } => {
                let from = source.as_deref().unwrap_or("not given yet");
                format!("{param} ← secret_value(\"{secret}\") {SECRET_MASK}  (from: {from})")
            }
        }
    }
}

/// What a line of the table is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowKind {
    /// A row: name, value, resolved.
    Row,
    /// A section heading (`output mapping`): `name` across the pane.
    Heading,
    /// A line of prose across the pane (`name`): the node's description, why it is not run.
    Text,
}

/// One line of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapRow {
    pub kind: RowKind,
    pub name: String,
    /// The expression as written.
    pub value: String,
    pub resolved: Resolved,
}

impl MapRow {
    fn heading(text: &str) -> MapRow {
        MapRow {
            kind: RowKind::Heading,
            name: text.to_string(),
            value: String::new(),
            resolved: Resolved::Note(String::new()),
        }
    }

    fn text(text: &str) -> MapRow {
        MapRow {
            kind: RowKind::Text,
            ..MapRow::heading(text)
        }
    }
}

/// Longest preview kept (the pane cuts it to its width anyway).
pub const PREVIEW_MAX: usize = 400;

/// How a preview is made: the redactor holding the run's secrets (none before a run and after
/// the purge, when the rows are not evaluated again); and whether this screen may evaluate
/// expressions at all (not a screen attached to a run it holds no secrets of: a value it would
/// compute from redacted variables could join pieces of a secret with nothing to catch it).
#[derive(Clone, Copy)]
pub struct Shown<'a> {
    redactor: Option<&'a Redactor>,
    evaluate: bool,
}

impl<'a> Shown<'a> {
    /// Previews evaluated here, redacted by `redactor` when there is one.
    pub fn with(redactor: Option<&'a Redactor>) -> Shown<'a> {
        Shown {
            redactor,
            evaluate: true,
        }
    }

    /// No expression evaluated here: values only as the engine gave them.
    pub fn engine_only() -> Shown<'a> {
        Shown {
            redactor: None,
            evaluate: false,
        }
    }
}

impl Shown<'_> {
    fn text(self, s: String) -> String {
        match self.redactor {
            Some(r) => r.redact_str(&s),
            None => s,
        }
    }

    fn value(self, v: &impl Serialize) -> Resolved {
        Resolved::Value(preview(v, self))
    }

    fn note(self, s: String) -> Resolved {
        Resolved::Note(self.text(s))
    }
}

/// A compact JSON preview of a value, redacted, cut at [`PREVIEW_MAX`] bytes (at a character
/// boundary, with `…`). Serializing stops soon after the cap: a large value costs the preview,
/// not the value's size.
pub fn preview(v: &impl Serialize, shown: Shown<'_>) -> String {
    bounded_json(v, PREVIEW_MAX, shown).0
}

/// Bytes handed to the redactor at a time (how far past the cap serializing may run).
const PIECE: usize = 64;

/// A compact JSON writer that keeps the first `cap` bytes of the redacted text and refuses
/// more once it has them (serde_json stops at the first refused write). The serialized bytes go
/// through the run's stream redactor before they count: a secret across the cap is caught as
/// it would be in the whole text, and what is kept is exactly the start of the whole text
/// redacted.
struct BoundedJson {
    out: Vec<u8>,
    cap: usize,
    stream: Option<StreamRedactor>,
    /// Serialized bytes taken in (for the tests: how far serializing went).
    taken: usize,
}

impl std::io::Write for BoundedJson {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        for piece in buf.chunks(PIECE) {
            if self.out.len() > self.cap {
                return Err(std::io::Error::other("the preview is full"));
            }
            self.taken += piece.len();
            match &mut self.stream {
                Some(s) => s.push(piece, &mut self.out),
                None => self.out.extend_from_slice(piece),
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The preview of `v` cut at `cap` bytes, and how many serialized bytes it took to make it.
fn bounded_json(v: &impl Serialize, cap: usize, shown: Shown<'_>) -> (String, usize) {
    let mut w = BoundedJson {
        out: Vec::new(),
        cap,
        stream: shown.redactor.map(Redactor::stream),
        taken: 0,
    };
    let complete = serde_json::to_writer(&mut w, v).is_ok();
    if complete && let Some(s) = w.stream.as_mut() {
        s.finish(&mut w.out);
    }
    let whole = complete && w.out.len() <= cap;
    let end = w.out.len().min(cap);
    let kept = match std::str::from_utf8(&w.out[..end]) {
        Ok(t) => t.to_string(),
        Err(e) if e.error_len().is_none() => {
            // Cut inside a character: keep the characters before it.
            String::from_utf8_lossy(&w.out[..e.valid_up_to()]).into_owned()
        }
        Err(_) => String::from_utf8_lossy(&w.out[..end]).into_owned(),
    };
    let text = if whole { kept } else { format!("{kept}…") };
    (text, w.taken)
}

/// The workflow variables as the TUI knows them during a run: the inputs as the engine showed
/// them (shared with the engine's copy, never cloned; inputs stay JSON text until a mapping
/// reads them) and what nodes set since (those win).
#[derive(Debug, Clone, Default)]
pub struct Vars {
    shown: ShownVars,
    set: Map<String, Value>,
}

impl Vars {
    pub fn new(inputs: ShownVars) -> Vars {
        Vars {
            shown: inputs,
            set: Map::new(),
        }
    }

    /// What a node set (its `Outputs`).
    pub fn extend(&mut self, set: ShownVars) {
        self.set.extend(set.into_map());
    }

    pub fn get(&self, name: &str) -> Option<VarRef<'_>> {
        match self.set.get(name) {
            Some(v) => Some(VarRef::Value(v)),
            None => self.shown.get(name),
        }
    }

    pub fn contains_key(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Every variable once, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, VarRef<'_>)> {
        let mut all: Vec<(&str, VarRef<'_>)> = self
            .set
            .iter()
            .map(|(k, v)| (k.as_str(), VarRef::Value(v)))
            .chain(
                self.shown
                    .iter()
                    .filter(|(k, _)| !self.set.contains_key(*k)),
            )
            .collect();
        all.sort_by(|a, b| a.0.cmp(b.0));
        all.into_iter()
    }

    pub fn len(&self) -> usize {
        self.set.len()
            + self
                .shown
                .iter()
                .filter(|(k, _)| !self.set.contains_key(*k))
                .count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Evaluates `e` over a mapping's earlier `rows`, then the variables (an input is parsed
    /// only when `e` reads it).
    pub fn eval(&self, e: &expr::Expr, rows: &Map<String, Value>) -> Result<Value, expr::Error> {
        self.shown.vars().eval(e, &[rows, &self.set])
    }
}

/// What the run did with one workflow edge: how often a token moved along it, and what the
/// last decision of its exclusive gateway said about it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EdgeRun {
    pub taken: u32,
    pub verdict: Option<Verdict>,
}

/// An exclusive gateway's last decision about one of its outgoing edges (the engine's
/// `GatewayDecision`, one entry of its `conditions`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The condition's value; `None` for null, a non-boolean, the default edge, or an edge
    /// after the taken one.
    pub value: Option<bool>,
    /// This edge was the one taken.
    pub taken: bool,
    /// The edge came after the taken one: its condition was not evaluated.
    pub skipped: bool,
    /// Why the condition could not be evaluated (redacted by the engine).
    pub error: Option<String>,
}

impl Verdict {
    fn resolved(&self, default: bool) -> Resolved {
        let value = match self.value {
            Some(v) => v.to_string(),
            None if default => "default".to_string(),
            None => "null".to_string(),
        };
        match (&self.error, self.taken, self.skipped) {
            (Some(e), _, _) => Resolved::Note(format!("(error: {e})")),
            (None, true, _) => Resolved::Taken(format!("{value} · taken")),
            (None, false, true) => Resolved::Note("(not evaluated)".into()),
            (None, false, false) if default => Resolved::Note("(not needed)".into()),
            (None, false, false) => Resolved::Value(value),
        }
    }
}

/// The rows for node `node` of `wf`. `vars` are the workflow variables as they stand, as the
/// engine shows them (inputs, then what each finished node set, as its `Outputs` event came
/// in), `None` before a run has started; `sources` gives each secret's source; `edges` what
/// the run did with each edge of `wf` (empty before a run); `given` what the engine said the
/// node's input mapping gave its latest attempt (`Event::NodeInputs`: shown instead of
/// evaluating those rows); every preview goes through `shown`.
pub fn rows(
    wf: &Workflow,
    node: usize,
    vars: Option<&Vars>,
    sources: &BTreeMap<String, String>,
    edges: &[EdgeRun],
    (given, shown): (Option<&Given>, Shown<'_>),
) -> Vec<MapRow> {
    let Some(n) = wf.nodes.get(node) else {
        return Vec::new();
    };
    let mut out = about(n);
    out.extend(kind_rows(wf, n, vars, sources, edges, (given, shown)));
    out
}

/// A node's input values as the engine gave them (local variable name → preview).
pub type Given = indexmap::IndexMap<String, String>;

/// What the table says of a node before its rows: why wfop does not run it, and its
/// description (a BPMN element's documentation), line by line.
fn about(n: &Node) -> Vec<MapRow> {
    let mut out = Vec::new();
    if let Some(u) = &n.unsupported {
        out.push(MapRow::text(&format!(
            "not run: {} — {}",
            u.element, u.reason
        )));
    }
    if let Some(d) = &n.description {
        out.extend(
            d.lines()
                .map(str::trim_end)
                .filter(|l| !l.trim().is_empty())
                .map(MapRow::text),
        );
    }
    out
}

/// The rows of node `n` by its kind (see [`rows`]).
fn kind_rows(
    wf: &Workflow,
    n: &Node,
    vars: Option<&Vars>,
    sources: &BTreeMap<String, String>,
    edges: &[EdgeRun],
    (given, shown): (Option<&Given>, Shown<'_>),
) -> Vec<MapRow> {
    let empty = Vars::default();
    match n.kind {
        NodeKind::Exclusive => return exclusive_rows(wf, n, vars, edges, shown),
        NodeKind::Parallel => return parallel_rows(wf, n, edges),
        NodeKind::Timer => return timer_rows(n),
        _ => {}
    }
    let Some(vars) = vars else {
        return match n.kind {
            NodeKind::Start => start_rows(wf, &empty, shown, "(shown when the run starts)"),
            NodeKind::Service => service_rows(n, &empty, sources, (given, shown)),
            _ => Vec::new(),
        };
    };
    match n.kind {
        NodeKind::Start => start_rows(wf, vars, shown, "(not given)"),
        NodeKind::End => vars
            .iter()
            .map(|(k, v)| MapRow {
                kind: RowKind::Row,
                name: k.to_string(),
                value: String::new(),
                resolved: shown.value(&v),
            })
            .collect(),
        NodeKind::Service => service_rows(n, vars, sources, (given, shown)),
        NodeKind::Exclusive | NodeKind::Parallel | NodeKind::Timer => Vec::new(),
    }
}

/// `→ Report` for an edge to `to`; `Yes → Report` when the edge has a label (a BPMN sequence
/// flow's name).
/// `index`: [`Workflow::index_by_id`], made once per gateway (a fork to 10 000 workers would
/// otherwise search the nodes once per edge, at every edge taken).
fn arrow_to(wf: &Workflow, index: &NodeIndex<'_>, e: &crate::workflow::Edge) -> String {
    let label = index
        .get(e.to.as_str())
        .map_or(Cow::Borrowed(e.to.as_str()), |&i| wf.nodes[i].line_label());
    match &e.label {
        Some(name) => {
            let name: Vec<&str> = name.split_whitespace().collect();
            format!("{} → {label}", name.join(" "))
        }
        None => format!("→ {label}"),
    }
}

/// An exclusive gateway: each outgoing edge in file order (the order they are tried), its
/// condition, and the value the last decision gave it; before the gateway decided, a preview
/// from the variables as they stand.
fn exclusive_rows(
    wf: &Workflow,
    n: &Node,
    vars: Option<&Vars>,
    edges: &[EdgeRun],
    shown: Shown<'_>,
) -> Vec<MapRow> {
    let empty = Vars::default();
    let index = wf.index_by_id();
    let mut out = Vec::new();
    for (i, e) in wf.edges.iter().enumerate().filter(|(_, e)| e.from == n.id) {
        let value = match (&e.condition, e.default) {
            (Some(c), _) => c.value.text.clone(),
            (None, true) => "(default)".to_string(),
            (None, false) => "(no condition)".to_string(),
        };
        let verdict = edges.get(i).and_then(|r| r.verdict.as_ref());
        let resolved = match (verdict, &e.condition) {
            (Some(v), _) => v.resolved(e.default),
            (None, None) if e.default => Resolved::Note("(when no condition is true)".into()),
            (None, None) => Resolved::Note("(never taken)".into()),
            (None, Some(c)) => match &c.expr {
                None => Resolved::Note("(does not parse)".into()),
                // A comparison with a missing variable is false, not null: say what it waits
                // for instead.
                Some(ex) => preview_expr(ex, vars.unwrap_or(&empty), &Map::new(), shown, true).0,
            },
        };
        out.push(MapRow {
            kind: RowKind::Row,
            name: arrow_to(wf, &index, e),
            value,
            resolved,
        });
    }
    out
}

/// Node indices by id.
type NodeIndex<'a> = std::collections::HashMap<&'a str, usize>;

/// A parallel gateway: the edges it forks to and, as a join, the edges it waits for, with how
/// often a token took each.
fn parallel_rows(wf: &Workflow, n: &Node, edges: &[EdgeRun]) -> Vec<MapRow> {
    let taken = |i: usize| edges.get(i).map_or(0, |r| r.taken);
    let count = |k: u32| match k {
        0 => Resolved::Note(String::new()),
        1 => Resolved::Taken("taken".into()),
        k => Resolved::Taken(format!("taken {k}×")),
    };
    let mut out = Vec::new();
    let index = wf.index_by_id();
    let incoming: Vec<(usize, &crate::workflow::Edge)> = wf
        .edges
        .iter()
        .enumerate()
        .filter(|(_, e)| e.to == n.id)
        .collect();
    if incoming.len() > 1 {
        for (i, e) in incoming {
            let from = index
                .get(e.from.as_str())
                .map_or(Cow::Borrowed(e.from.as_str()), |&k| {
                    wf.nodes[k].line_label()
                });
            out.push(MapRow {
                kind: RowKind::Row,
                name: format!("← {from}"),
                value: "(the join waits for it)".into(),
                resolved: match taken(i) {
                    0 => Resolved::Note("(not arrived)".into()),
                    k => count(k),
                },
            });
        }
    }
    for (i, e) in wf.edges.iter().enumerate().filter(|(_, e)| e.from == n.id) {
        out.push(MapRow {
            kind: RowKind::Row,
            name: arrow_to(wf, &index, e),
            value: "(every branch)".into(),
            resolved: count(taken(i)),
        });
    }
    out
}

/// A timer: its wait, as written and as read.
fn timer_rows(n: &Node) -> Vec<MapRow> {
    let Some(t) = &n.timer else {
        return Vec::new();
    };
    vec![MapRow {
        kind: RowKind::Row,
        name: "duration".into(),
        value: t.text.clone(),
        resolved: Resolved::Value(crate::human::duration(
            t.duration,
            crate::human::Form::Exact,
        )),
    }]
}

/// A preview of an expression over the variables and the rows before it (`scope`): its
/// value, or what it waits for (when it is null and reads a variable not set yet, or with
/// `any_missing` whenever it does), or its error; and the value, when it has one.
fn preview_expr(
    e: &expr::Expr,
    vars: &Vars,
    scope: &Map<String, Value>,
    shown: Shown<'_>,
    any_missing: bool,
) -> (Resolved, Option<Value>) {
    if !shown.evaluate {
        return (Resolved::Note("(when the run gets here)".into()), None);
    }
    let free = expr::analyze(e);
    let missing: Vec<&str> = free
        .free_variable_names()
        .into_iter()
        .filter(|v| !scope.contains_key(*v) && !vars.contains_key(v))
        .collect();
    match vars.eval(e, scope) {
        Ok(v) => {
            let r = if (v.is_null() || any_missing) && !missing.is_empty() {
                Resolved::Note(format!("(not known yet: {})", missing.join(", ")))
            } else {
                shown.value(&v)
            };
            (r, Some(v))
        }
        Err(err) => (shown.note(format!("(error: {err})")), None),
    }
}

fn start_rows(wf: &Workflow, vars: &Vars, shown: Shown<'_>, missing: &str) -> Vec<MapRow> {
    let mut out = Vec::new();
    let mut seen = Vec::new();
    for d in wf.inputs.iter().flatten() {
        seen.push(d.name.clone());
        out.push(MapRow {
            kind: RowKind::Row,
            name: d.name.clone(),
            value: d.description.clone().unwrap_or_default(),
            resolved: match vars.get(&d.name) {
                Some(v) => shown.value(&v),
                None => Resolved::Note(missing.into()),
            },
        });
    }
    for (k, v) in vars.iter() {
        if !seen.iter().any(|s| s == k) {
            out.push(MapRow {
                kind: RowKind::Row,
                name: k.to_string(),
                value: String::new(),
                resolved: shown.value(&v),
            });
        }
    }
    out
}

fn service_rows(
    n: &Node,
    vars: &Vars,
    sources: &BTreeMap<String, String>,
    (given, shown): (Option<&Given>, Shown<'_>),
) -> Vec<MapRow> {
    let mut out = Vec::new();
    match &n.input_mapping {
        None => out.push(MapRow {
            kind: RowKind::Row,
            name: "(all)".into(),
            value: "no input mapping: every workflow variable".into(),
            resolved: Resolved::Value(format!("{} variables", vars.len())),
        }),
        Some(mapping) => {
            // Later rows may read earlier ones, as the engine evaluates them (over the
            // variables as they are: never a copy of them).
            let mut scope = Map::new();
            for row in mapping {
                let value = row.value.text.clone();
                if row.name == SECRETS_ROW {
                    let bindings = n.bound_secrets();
                    if bindings.is_empty() {
                        out.push(MapRow {
                            kind: RowKind::Row,
                            name: row.name.clone(),
                            value: value.clone(),
                            resolved: Resolved::Note("(no secrets)".into()),
                        });
                    }
                    for (i, b) in bindings.iter().enumerate() {
                        let source = sources.get(&b.secret).cloned();
                        out.push(MapRow {
                            kind: RowKind::Row,
                            name: if i == 0 {
                                row.name.clone()
                            } else {
                                String::new()
                            },
                            value: if i == 0 { value.clone() } else { String::new() },
                            resolved: Resolved::Secret {
                                param: b.param.clone(),
                                secret: b.secret.clone(),
                                source,
                            },
                        });
                    }
                    continue;
                }
                let from_engine = given.and_then(|g| g.get(&row.name));
                let resolved = match (&row.expr, from_engine) {
                    (_, Some(v)) => Resolved::Value(v.clone()),
                    (None, None) => Resolved::Note("(does not parse)".into()),
                    (Some(e), None) => {
                        let (resolved, v) = preview_expr(e, vars, &scope, shown, false);
                        if let Some(v) = v {
                            scope.insert(row.name.clone(), v);
                        }
                        resolved
                    }
                };
                out.push(MapRow {
                    kind: RowKind::Row,
                    name: row.name.clone(),
                    value,
                    resolved,
                });
            }
        }
    }
    out.extend(header_rows(n, vars, shown));
    if let Some(mapping) = &n.output_mapping {
        out.push(MapRow::heading("output mapping"));
        for row in mapping {
            out.push(MapRow {
                kind: RowKind::Row,
                name: row.name.clone(),
                value: row.value.text.clone(),
                resolved: match vars.get(&row.name) {
                    Some(v) => shown.value(&v),
                    None => Resolved::Note("(after the node runs)".into()),
                },
            });
        }
    }
    out
}

/// A service's result and error headers, under their BPMN names, in the order the engine
/// applies them: the variable the whole result is set as, the expression whose context's
/// entries are set (what it set, once every entry is there), the error expression.
fn header_rows(n: &Node, vars: &Vars, shown: Shown<'_>) -> Vec<MapRow> {
    let after = || Resolved::Note("(after the node runs)".into());
    let mut out = Vec::new();
    if let Some(name) = &n.result_variable {
        out.push(MapRow {
            kind: RowKind::Row,
            name: "resultVariable".into(),
            value: name.clone(),
            resolved: vars.get(name).map_or_else(after, |v| shown.value(&v)),
        });
    }
    if let Some(x) = &n.result_expression {
        let keys: Option<Vec<&str>> = match x.expr.as_ref().map(|e| &e.kind) {
            Some(expr::ExprKind::Context(entries)) => {
                Some(entries.iter().map(|c| c.key.as_str()).collect())
            }
            _ => None,
        };
        let set: Option<Map<String, Value>> = keys.and_then(|keys| {
            keys.iter()
                .map(|k| {
                    let v = vars.get(k)?;
                    Some((k.to_string(), serde_json::to_value(v).ok()?))
                })
                .collect()
        });
        out.push(MapRow {
            kind: RowKind::Row,
            name: "resultExpression".into(),
            value: x.value.text.clone(),
            resolved: match set {
                Some(set) if !set.is_empty() => shown.value(&set),
                _ => after(),
            },
        });
    }
    if let Some(x) = &n.error_expression {
        out.push(MapRow {
            kind: RowKind::Row,
            name: "errorExpression".into(),
            value: x.value.text.clone(),
            resolved: Resolved::Note("(at the end of each attempt)".into()),
        });
    }
    if !out.is_empty() {
        out.insert(0, MapRow::heading("headers"));
    }
    out
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use secrecy::SecretString;
    use serde_json::json;

    use super::*;

    const SECRET: &str = "Zq3-Xv8_Lm2Np7Rt4Wy9Kb6Hd1Jf5Gc0Sa-Ue8Io3Px2";

    fn redactor() -> Redactor {
        let r = Redactor::new();
        r.add_secret("tok", &SecretString::from(SECRET))
            .expect("add");
        r
    }

    /// What the preview was before it was bounded: the whole text, redacted, then cut.
    fn whole_then_cut(v: &Value, cap: usize, shown: Shown<'_>) -> String {
        let s = shown.text(serde_json::to_string(v).unwrap_or_default());
        if s.len() <= cap {
            return s;
        }
        let mut end = cap;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}…", &s[..end])
    }

    #[test]
    fn a_small_value_is_shown_whole() {
        let v = json!({ "a": [1, 2.5, "x"], "b": null });
        assert_eq!(
            preview(&v, Shown::with(None)),
            serde_json::to_string(&v).unwrap()
        );
        assert_eq!(
            preview(&v, Shown::with(Some(&redactor()))),
            r#"{"a":[1,2.5,"x"],"b":null}"#
        );
    }

    #[test]
    fn a_large_value_stops_serializing_soon_after_the_cap() {
        let big = json!({ "data": (0..200_000).map(|i| json!({ "id": i, "name": format!("n{i}") })).collect::<Vec<_>>() });
        let long = json!("é".repeat(1_000_000));
        for v in [&big, &long] {
            for shown in [Shown::with(None), Shown::with(Some(&redactor()))] {
                let (text, taken) = bounded_json(v, PREVIEW_MAX, shown);
                assert!(text.ends_with('…'), "{text}");
                assert!(text.len() <= PREVIEW_MAX + '…'.len_utf8(), "{}", text.len());
                // Stopped a piece or so past the cap (what the redactor holds back at most).
                assert!(taken <= 2 * PREVIEW_MAX + 2 * PIECE, "took {taken} bytes");
                assert_eq!(text, whole_then_cut(v, PREVIEW_MAX, shown));
            }
        }
    }

    #[test]
    fn a_secret_across_the_cap_is_redacted() {
        let r = redactor();
        for at in PREVIEW_MAX - SECRET.len()..PREVIEW_MAX + 2 {
            let v = json!(format!("{}{SECRET}{}", "a".repeat(at), "b".repeat(500)));
            let text = preview(&v, Shown::with(Some(&r)));
            assert_eq!(
                text,
                whole_then_cut(&v, PREVIEW_MAX, Shown::with(Some(&r))),
                "at {at}"
            );
            // Not even the secret's start shows.
            assert!(!text.contains(&SECRET[..8]), "at {at}: {text}");
        }
    }

    #[test]
    fn a_cut_inside_a_character_keeps_the_characters_before_it() {
        for pad in 0..4 {
            let v = json!(format!("{}{}", "a".repeat(pad), "€".repeat(300)));
            let text = preview(&v, Shown::with(None));
            assert_eq!(text, whole_then_cut(&v, PREVIEW_MAX, Shown::with(None)));
        }
    }

    fn cells(rows: &[MapRow]) -> Vec<(String, String, String)> {
        rows.iter()
            .map(|r| (r.name.clone(), r.value.clone(), r.resolved.text()))
            .collect()
    }

    fn owned(rows: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
        rows.iter()
            .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
            .collect()
    }

    fn vars(v: Value) -> Vars {
        let map = v.as_object().cloned().unwrap_or_default();
        Vars::new(ShownVars::assume_redacted(map))
    }

    #[test]
    fn an_exclusive_gateway_shows_its_conditions_in_the_order_they_are_tried() {
        let wf = crate::ui::tui::screen_tests::polling_workflow();
        let check = wf.node_index("check").expect("check");
        let none = BTreeMap::new();
        // Before a run: what the condition waits for.
        let rows = rows(&wf, check, None, &none, &[], (None, Shown::with(None)));
        assert_eq!(
            cells(&rows),
            owned(&[
                ("→ Report", r#"status = "DONE""#, "(not known yet: status)"),
                ("→ wait", "(default)", "(when no condition is true)"),
            ])
        );
        // During a run, before the gateway decided: a preview from the variables.
        let running = vars(serde_json::json!({ "status": "RUNNING" }));
        let rows = rows_of(&wf, check, Some(&running), &[]);
        assert_eq!(rows[0].resolved, Resolved::Value("false".into()));
        let done = vars(serde_json::json!({ "status": "DONE" }));
        let rows = rows_of(&wf, check, Some(&done), &[]);
        assert_eq!(rows[0].resolved, Resolved::Value("true".into()));
        // Once it decided, the engine's values win over the preview.
        let mut edges = vec![EdgeRun::default(); wf.edges.len()];
        edges[4].verdict = Some(Verdict {
            value: Some(false),
            taken: false,
            skipped: false,
            error: None,
        });
        edges[5].verdict = Some(Verdict {
            value: None,
            taken: true,
            skipped: false,
            error: None,
        });
        let rows = rows_of(&wf, check, Some(&done), &edges);
        assert_eq!(rows[0].resolved, Resolved::Value("false".into()));
        assert_eq!(rows[1].resolved, Resolved::Taken("default · taken".into()));
        edges[4].verdict = Some(Verdict {
            value: Some(true),
            taken: true,
            skipped: false,
            error: None,
        });
        edges[5].verdict = Some(Verdict {
            value: None,
            taken: false,
            skipped: true,
            error: None,
        });
        let rows = rows_of(&wf, check, Some(&done), &edges);
        assert_eq!(rows[0].resolved, Resolved::Taken("true · taken".into()));
        assert_eq!(rows[1].resolved, Resolved::Note("(not evaluated)".into()));
        edges[4].verdict = Some(Verdict {
            value: None,
            taken: false,
            skipped: false,
            error: Some("`status` is not a string".into()),
        });
        let rows = rows_of(&wf, check, Some(&done), &edges);
        assert_eq!(
            rows[0].resolved,
            Resolved::Note("(error: `status` is not a string)".into())
        );
    }

    #[test]
    fn a_gateway_names_its_labelled_edges_by_their_label() {
        let mut wf = crate::ui::tui::screen_tests::polling_workflow();
        let check = wf.node_index("check").expect("check");
        wf.edges[4].label = Some("Yes,\n done".into());
        let rows = rows_of(&wf, check, None, &[]);
        let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["Yes, done → Report", "→ wait"]);
    }

    #[test]
    fn a_description_comes_first_and_an_unsupported_node_says_why() {
        let mut wf = crate::ui::tui::screen_tests::polling_workflow();
        let poll = wf.node_index("poll").expect("poll");
        let before = rows_of(&wf, poll, None, &[]);
        assert_eq!(before[0].kind, RowKind::Row, "{before:?}");
        wf.nodes[poll].description = Some("Asks the backend.\n\n  Every 30s.  ".into());
        wf.nodes[poll].unsupported = Some(crate::workflow::model::Unsupported {
            element: "sendTask".into(),
            reason: "it has no task definition".into(),
        });
        let rows = rows_of(&wf, poll, None, &[]);
        let text: Vec<(RowKind, &str)> = rows
            .iter()
            .take(3)
            .map(|r| (r.kind, r.name.as_str()))
            .collect();
        assert_eq!(
            text,
            [
                (
                    RowKind::Text,
                    "not run: sendTask — it has no task definition"
                ),
                (RowKind::Text, "Asks the backend."),
                (RowKind::Text, "  Every 30s."),
            ]
        );
        assert_eq!(&rows[3..], &before[..]);
    }

    fn rows_of(wf: &Workflow, node: usize, vars: Option<&Vars>, edges: &[EdgeRun]) -> Vec<MapRow> {
        rows(
            wf,
            node,
            vars,
            &BTreeMap::new(),
            edges,
            (None, Shown::with(None)),
        )
    }

    #[test]
    fn a_condition_preview_is_redacted() {
        let wf = crate::ui::tui::screen_tests::polling_workflow();
        let check = wf.node_index("check").expect("check");
        // A condition that fails on a value holding a secret: the error names no secret.
        let secret = vars(serde_json::json!({ "status": { "token": SECRET } }));
        let r = redactor();
        let rows = rows(
            &wf,
            check,
            Some(&secret),
            &BTreeMap::new(),
            &[],
            (None, Shown::with(Some(&r))),
        );
        for row in &rows {
            assert!(!row.resolved.text().contains(&SECRET[..8]), "{row:?}");
        }
    }

    #[test]
    fn a_parallel_gateway_shows_its_branches_and_what_its_join_waits_for() {
        let mut wf = crate::ui::tui::screen_tests::polling_workflow();
        let check = wf.node_index("check").expect("check");
        wf.nodes[check].kind = NodeKind::Parallel;
        let mut edges = vec![EdgeRun::default(); wf.edges.len()];
        assert_eq!(
            cells(&rows_of(&wf, check, None, &edges)),
            owned(&[
                ("→ Report", "(every branch)", ""),
                ("→ wait", "(every branch)", ""),
            ])
        );
        edges[4].taken = 1;
        edges[5].taken = 3;
        assert_eq!(
            cells(&rows_of(&wf, check, None, &edges)),
            owned(&[
                ("→ Report", "(every branch)", "taken"),
                ("→ wait", "(every branch)", "taken 3×"),
            ])
        );
        // The timer has two incoming edges: as a parallel join it waits for both.
        let wait = wf.node_index("wait").expect("wait");
        wf.nodes[wait].kind = NodeKind::Parallel;
        edges[1].taken = 1;
        edges[5].taken = 0;
        assert_eq!(
            cells(&rows_of(&wf, wait, None, &edges)),
            owned(&[
                ("← Submit", "(the join waits for it)", "taken"),
                ("← done?", "(the join waits for it)", "(not arrived)"),
                ("→ Poll", "(every branch)", ""),
            ])
        );
    }

    #[test]
    fn a_timer_shows_its_wait() {
        let wf = crate::ui::tui::screen_tests::polling_workflow();
        let wait = wf.node_index("wait").expect("wait");
        assert_eq!(
            cells(&rows_of(&wf, wait, None, &[])),
            owned(&[("duration", "PT30S", "30s")])
        );
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            "[a-zé€\"\\\\\n ]{0,40}".prop_map(Value::String),
            Just(json!(SECRET)),
        ];
        leaf.prop_recursive(4, 200, 12, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..12).prop_map(Value::Array),
                prop::collection::btree_map("[a-z]{1,6}", inner, 0..12)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn the_bounded_preview_is_the_whole_text_redacted_and_cut(v in json_value(), cap in 1usize..600) {
            let r = redactor();
            for shown in [Shown::with(None), Shown::with(Some(&r))] {
                prop_assert_eq!(bounded_json(&v, cap, shown).0, whole_then_cut(&v, cap, shown));
            }
        }
    }
}
