//! The mapping table of the selected node as data: Local variable name | Variable assignment
//! value | Resolved (a preview from the workflow variables as they stand, redacted; secrets
//! only by name and source, never a value or its length).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::expr;
use crate::secrets::Redactor;
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
            Resolved::Value(v) | Resolved::Note(v) => v.clone(),
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

/// One line of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapRow {
    /// A section heading (`output mapping`) rather than a row.
    pub heading: bool,
    pub name: String,
    /// The expression as written.
    pub value: String,
    pub resolved: Resolved,
}

impl MapRow {
    fn heading(text: &str) -> MapRow {
        MapRow {
            heading: true,
            name: text.to_string(),
            value: String::new(),
            resolved: Resolved::Note(String::new()),
        }
    }
}

/// Longest preview kept (the pane cuts it to its width anyway).
const PREVIEW_MAX: usize = 400;

/// How a preview is made: the redactor holding the run's secrets (none before a run and after
/// the purge, when the rows are not evaluated again).
#[derive(Clone, Copy)]
pub struct Shown<'a>(pub Option<&'a Redactor>);

impl Shown<'_> {
    fn text(self, s: String) -> String {
        match self.0 {
            Some(r) => r.redact_str(&s),
            None => s,
        }
    }

    fn value(self, v: &Value) -> Resolved {
        Resolved::Value(preview(v, self))
    }

    fn note(self, s: String) -> Resolved {
        Resolved::Note(self.text(s))
    }
}

/// A compact JSON preview of a value, redacted, then cut at a character boundary (redacting
/// first: a secret across the cut is still caught).
pub fn preview(v: &Value, shown: Shown<'_>) -> String {
    let s = shown.text(serde_json::to_string(v).unwrap_or_default());
    if s.len() <= PREVIEW_MAX {
        return s;
    }
    let mut end = PREVIEW_MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// The rows for node `node` of `wf`. `vars` are the workflow variables as they stand, as the
/// engine shows them (inputs, then what each finished node set, as its `Outputs` event came
/// in), `None` before a run has started; `sources` gives each secret's source; every preview
/// goes through `shown`.
pub fn rows(
    wf: &Workflow,
    node: usize,
    vars: Option<&Map<String, Value>>,
    sources: &BTreeMap<String, String>,
    shown: Shown<'_>,
) -> Vec<MapRow> {
    let Some(n) = wf.nodes.get(node) else {
        return Vec::new();
    };
    let empty = Map::new();
    let Some(vars) = vars else {
        return match n.kind {
            NodeKind::Start => start_rows(wf, &empty, shown, "(shown when the run starts)"),
            NodeKind::End => Vec::new(),
            NodeKind::Service => service_rows(n, &empty, sources, shown),
        };
    };
    match n.kind {
        NodeKind::Start => start_rows(wf, vars, shown, "(not given)"),
        NodeKind::End => vars
            .iter()
            .map(|(k, v)| MapRow {
                heading: false,
                name: k.clone(),
                value: String::new(),
                resolved: shown.value(v),
            })
            .collect(),
        NodeKind::Service => service_rows(n, vars, sources, shown),
    }
}

fn start_rows(
    wf: &Workflow,
    vars: &Map<String, Value>,
    shown: Shown<'_>,
    missing: &str,
) -> Vec<MapRow> {
    let mut out = Vec::new();
    let mut seen = Vec::new();
    for d in wf.inputs.iter().flatten() {
        seen.push(d.name.clone());
        out.push(MapRow {
            heading: false,
            name: d.name.clone(),
            value: d.description.clone().unwrap_or_default(),
            resolved: match vars.get(&d.name) {
                Some(v) => shown.value(v),
                None => Resolved::Note(missing.into()),
            },
        });
    }
    for (k, v) in vars {
        if !seen.contains(k) {
            out.push(MapRow {
                heading: false,
                name: k.clone(),
                value: String::new(),
                resolved: shown.value(v),
            });
        }
    }
    out
}

fn service_rows(
    n: &Node,
    vars: &Map<String, Value>,
    sources: &BTreeMap<String, String>,
    shown: Shown<'_>,
) -> Vec<MapRow> {
    let mut out = Vec::new();
    match &n.input_mapping {
        None => out.push(MapRow {
            heading: false,
            name: "(all)".into(),
            value: "no input mapping: every workflow variable".into(),
            resolved: Resolved::Value(format!("{} variables", vars.len())),
        }),
        Some(mapping) => {
            // Later rows may read earlier ones, as the engine evaluates them.
            let mut scope = vars.clone();
            for row in mapping {
                let value = row.value.text.clone();
                if row.name == SECRETS_ROW {
                    let bindings = n.bound_secrets();
                    if bindings.is_empty() {
                        out.push(MapRow {
                            heading: false,
                            name: row.name.clone(),
                            value: value.clone(),
                            resolved: Resolved::Note("(no secrets)".into()),
                        });
                    }
                    for (i, b) in bindings.iter().enumerate() {
                        let source = sources.get(&b.secret).cloned();
                        out.push(MapRow {
                            heading: false,
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
                let resolved = match &row.expr {
                    None => Resolved::Note("(does not parse)".into()),
                    Some(e) => {
                        let free = expr::analyze(e);
                        let missing: Vec<&str> = free
                            .free_variable_names()
                            .into_iter()
                            .filter(|v| !scope.contains_key(*v))
                            .collect();
                        match expr::eval(e, &scope) {
                            Ok(v) => {
                                scope.insert(row.name.clone(), v.clone());
                                if v.is_null() && !missing.is_empty() {
                                    Resolved::Note(format!(
                                        "(not known yet: {})",
                                        missing.join(", ")
                                    ))
                                } else {
                                    shown.value(&v)
                                }
                            }
                            Err(err) => shown.note(format!("(error: {err})")),
                        }
                    }
                };
                out.push(MapRow {
                    heading: false,
                    name: row.name.clone(),
                    value,
                    resolved,
                });
            }
        }
    }
    if let Some(mapping) = &n.output_mapping {
        out.push(MapRow::heading("output mapping"));
        for row in mapping {
            out.push(MapRow {
                heading: false,
                name: row.name.clone(),
                value: row.value.text.clone(),
                resolved: match vars.get(&row.name) {
                    Some(v) => shown.value(v),
                    None => Resolved::Note("(after the node runs)".into()),
                },
            });
        }
    }
    out
}
