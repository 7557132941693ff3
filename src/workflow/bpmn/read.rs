//! BPMN XML → the workflow model, every finding at its line:col: the process chosen, its flow
//! nodes, sequence flows, error boundaries and `zeebe:` extensions mapped onto wfop's nodes.
//!
//! - `xml`: the parse, elements by namespace, values as `Str`s that map into the file;
//! - `camunda7`: recognising a Camunda 7 file (one message for the whole file);
//! - `process`: which process of the file is read (`--process`, collaborations);
//! - `nodes`: flow elements → nodes (and the elements wfop does not run → `unsupported`);
//! - `zeebe`: the `zeebe:` extension elements → mappings, task type, retries, headers;
//! - `flows`: sequence flows → edges, error boundary events → error paths, implicit merges;
//! - `joins`: the join gateways wfop's export writes, folded back into their nodes;
//! - `secrets`: the workflow secrets the file's `secret_value("…")` calls name.

mod camunda7;
mod flows;
mod joins;
mod nodes;
mod process;
mod secrets;
mod xml;
mod zeebe;

use std::collections::HashMap;

use roxmltree::Node as XNode;

use super::BPMN_NS;
use crate::diag::{Diagnostic, SourceFile};
use crate::expr::{self, Expr, ExprKind};
use crate::workflow::json::{Span, Str};
use crate::workflow::load::base_dir_of;
use crate::workflow::{BpmnOrigin, Workflow};

/// Reads the process of a BPMN file (`process`: its id, needed when the file has several).
/// The workflow is returned whenever the XML parses and a process was chosen, even with
/// errors, so validation can report more in the same pass. Its service tasks have no `run`
/// yet (`bind` gives them one); `Workflow::bpmn` is set, with `services: None`.
pub fn read(source: &SourceFile, process: Option<&str>) -> (Option<Workflow>, Vec<Diagnostic>) {
    let text = source.text.as_str();
    let doc = match xml::parse(text) {
        Ok(doc) => doc,
        Err(d) => return (None, vec![d]),
    };
    let root = doc.root_element();
    if !xml::is(root, BPMN_NS, "definitions") {
        let d = Diagnostic::error(
            xml::tag_span(text, root),
            format!(
                "not a BPMN file: the root element is `{}`, not BPMN 2.0's `definitions`",
                root.tag_name().name()
            ),
            "expected <definitions xmlns=\"http://www.omg.org/spec/BPMN/20100524/MODEL\">",
        );
        return (None, vec![d]);
    }
    // A Camunda 7 file: one finding says so; the model is still read (so `graph` draws it),
    // its JUEL expressions kept as text, unparsed and unreported.
    let camunda7 = camunda7::check(text, root);
    let mut cx = Cx {
        text,
        diags: Vec::new(),
        quiet_expressions: camunda7.is_some(),
    };
    cx.diags.extend(camunda7);
    let Some(proc_el) = process::choose(&mut cx, root, process) else {
        return (None, cx.diags);
    };
    let wf = read_process(&mut cx, source, root, proc_el);
    cx.diags.sort_by_key(|d| d.primary.0.start);
    (Some(wf), cx.diags)
}

/// What every part of the reader shares: the file's text and the findings so far.
pub(crate) struct Cx<'t> {
    pub text: &'t str,
    pub diags: Vec<Diagnostic>,
    /// Set for a Camunda 7 file: its expressions are not FEEL, so one that does not parse is
    /// kept as text without a finding of its own.
    pub quiet_expressions: bool,
}

impl Cx<'_> {
    pub fn error(&mut self, span: Span, message: impl Into<String>, label: impl Into<String>) {
        self.diags.push(Diagnostic::error(span, message, label));
    }

    pub fn warning(&mut self, span: Span, message: impl Into<String>, label: impl Into<String>) {
        self.diags.push(Diagnostic::warning(span, message, label));
    }

    /// An error that stops a run but not `wfop graph`.
    pub fn run_only(&mut self, span: Span, message: impl Into<String>, label: impl Into<String>) {
        self.diags
            .push(Diagnostic::error(span, message, label).run_only());
    }

    pub fn tag(&self, node: XNode) -> Span {
        xml::tag_span(self.text, node)
    }

    /// An attribute's value as written, `None` when missing.
    pub fn attr(&self, node: XNode, name: &str) -> Option<Str> {
        xml::attr_str(self.text, node, name)
    }

    /// An attribute's value, `None` (and an error naming it) when missing or blank.
    pub fn required(&mut self, node: XNode, name: &str) -> Option<Str> {
        match self.attr(node, name) {
            Some(s) if !s.text.trim().is_empty() => Some(s),
            found => {
                let span = match &found {
                    Some(s) => s.span.clone(),
                    None => self.tag(node),
                };
                let what = if found.is_some() { "an empty" } else { "no" };
                self.error(
                    span,
                    format!("`{}` has {what} `{name}` attribute", node.tag_name().name()),
                    format!("add {name}=\"…\""),
                );
                None
            }
        }
    }

    /// Parses a FEEL expression (a leading `=` is part of the text); a syntax error is
    /// reported at its place in the file, prefixed by `what`. A `$secrets` row's error does not
    /// quote the text (it may hold a pasted value).
    pub fn feel(&mut self, value: &Str, what: &str) -> Option<Expr> {
        match expr::parse(&value.text) {
            Ok(e) => Some(e),
            Err(_) if self.quiet_expressions => None,
            Err(e) => {
                let span = non_empty(value.file_span(e.span.start..e.span.end));
                let message = if what.contains(crate::workflow::model::SECRETS_ROW) {
                    format!(
                        "{what} does not parse here; it must be = {{ \"param\": secret_value(\"secret_name\"), … }}"
                    )
                } else {
                    format!("{what}: {}", e.message)
                };
                self.error(span, message, "here");
                None
            }
        }
    }

    /// A Zeebe mapping source: FEEL when it starts with `=`, else a static string (Zeebe's
    /// rule), kept as a string literal whose text is the value as written.
    pub fn source(&mut self, value: &Str, what: &str) -> Option<Expr> {
        if value.text.trim_start().starts_with('=') {
            self.feel(value, what)
        } else {
            Some(Expr {
                kind: ExprKind::String(value.text.clone()),
                span: expr::Span::new(0, value.text.len()),
            })
        }
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

/// The chosen process → the workflow.
fn read_process(cx: &mut Cx, source: &SourceFile, root: XNode, proc_el: XNode) -> Workflow {
    let process_id = proc_el.attribute("id").unwrap_or_default().to_string();
    let errors = flows::error_codes(cx, root);
    let mut parts = nodes::read_all(cx, proc_el);
    flows::attach_boundaries(cx, &mut parts, &errors);
    let (mut node_list, mut edges) = flows::edges(cx, parts);
    flows::implicit_merges(&mut node_list, &mut edges);
    joins::fold(cx, proc_el, &mut node_list, &mut edges);
    let props = zeebe::process_properties(cx, proc_el);
    let declared = secrets::declared(props.secrets, &node_list, &edges);
    let name = proc_el
        .attribute("name")
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or(&process_id)
        .to_string();
    let description = props
        .description
        .or_else(|| nodes::documentation(cx, proc_el));
    Workflow {
        path: source.path.clone(),
        base_dir: base_dir_of(&source.path),
        name,
        description,
        inputs: props.inputs,
        secrets: (!declared.is_empty()).then_some(declared),
        datapools: Vec::new(),
        nodes: node_list,
        edges,
        bpmn: Some(BpmnOrigin {
            file: source.path.clone(),
            process_id,
            services: None,
        }),
    }
}

/// Ids seen so far in the process, for the duplicate check.
pub(crate) type Ids = HashMap<String, Span>;

#[cfg(test)]
mod tests;
