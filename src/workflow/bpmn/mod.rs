//! BPMN 2.0 files, as the Camunda 8 / Kipu Quantum Hub modeler saves them, as wfop workflows:
//! `read` maps one process onto the workflow model (no second engine), `bind` gives its service
//! tasks something to run from a binding file, `write` exports a workflow as BPMN with a
//! diagram the modeler opens. The user's description is docs/bpmn.md.

pub mod bind;
pub mod props;
pub mod read;
pub mod write;

use std::path::Path;

use crate::diag::{Diagnostic, SourceFile, suggestion};
use crate::workflow::json::{Node as JNode, Value};

use super::{LoadOptions, Related, Workflow};

/// BPMN 2.0's model namespace (elements are found by namespace, whatever the prefix).
pub const BPMN_NS: &str = "http://www.omg.org/spec/BPMN/20100524/MODEL";
/// BPMN 2.0's diagram interchange namespace.
pub const BPMNDI_NS: &str = "http://www.omg.org/spec/BPMN/20100524/DI";
/// Diagram bounds (`dc:Bounds`).
pub const DC_NS: &str = "http://www.omg.org/spec/DD/20100524/DC";
/// Diagram waypoints (`di:waypoint`).
pub const DI_NS: &str = "http://www.omg.org/spec/DD/20100524/DI";
/// Camunda 8 (Zeebe) extensions: `zeebe:taskDefinition`, `zeebe:ioMapping`, …
pub const ZEEBE_NS: &str = "http://camunda.org/schema/zeebe/1.0";
/// Camunda 7 extensions (`camunda:`): a file using them is a Camunda 7 file.
pub const CAMUNDA7_NS: &str = "http://camunda.org/schema/1.0/bpmn";
/// The modeler's own attributes (`modeler:executionPlatform`).
pub const MODELER_NS: &str = "http://camunda.org/schema/modeler/1.0";
/// `xsi:type="tFormalExpression"`.
pub const XSI_NS: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// Loads a BPMN workflow: the process read (`options.process` picks one of several), then its
/// service tasks bound (`options.services`, else `FLOW.services.json` beside the file when it
/// exists). Returns the workflow, the findings about the BPMN file, and those about the
/// binding file (against its own text).
pub fn load(
    source: &SourceFile,
    options: &LoadOptions,
) -> (Option<Workflow>, Vec<Diagnostic>, Vec<Related>) {
    let (workflow, mut diagnostics) = read::read(source, options.process.as_deref());
    let Some(mut wf) = workflow else {
        return (None, diagnostics, Vec::new());
    };
    let services = options
        .services
        .clone()
        .or_else(|| Some(bind::default_path(&source.path)).filter(|p| p.is_file()));
    let related = bind::bind(&mut wf, services.as_deref(), &mut diagnostics);
    (Some(wf), diagnostics, related)
}

/// The fields of a JSON workflow that names a BPMN file instead of listing nodes and edges.
const REFERENCE_FIELDS: &[&str] = &["bpmn", "process", "services"];

/// Whether a parsed JSON workflow names a BPMN file (`{ "bpmn": "flow.bpmn", … }`).
pub fn is_reference(root: &JNode) -> bool {
    matches!(&root.value, Value::Object(m) if m.iter().any(|m| m.key.text == "bpmn"))
}

/// Loads a JSON workflow that names a BPMN file: `{ "bpmn": "flow.bpmn", "process"?: "id",
/// "services"?: { binding entries } }`, paths relative to the JSON file. The model's spans are
/// into the BPMN file: the returned `Related` list starts with it (its findings, validation's
/// go there too), the JSON file's own findings are the second element.
pub fn load_reference(
    source: &SourceFile,
    root: &JNode,
    options: &LoadOptions,
) -> (Option<Workflow>, Vec<Diagnostic>, Vec<Related>) {
    let mut own = Vec::new();
    let Value::Object(members) = &root.value else {
        return (None, own, Vec::new());
    };
    let get = |key: &str| members.iter().find(|m| m.key.text == key).map(|m| &m.value);
    for m in members {
        if !REFERENCE_FIELDS.contains(&m.key.text.as_str()) {
            let hint = suggestion(&m.key.text, REFERENCE_FIELDS.iter().copied());
            own.push(
                Diagnostic::error(
                    m.key.span.clone(),
                    format!(
                        "unknown field `{}` in a workflow that names a BPMN file{hint}",
                        m.key.text
                    ),
                    "unknown field",
                )
                .with_note(
                    "a workflow with `bpmn` may have: bpmn, process, services (the nodes and edges are the BPMN file's)",
                ),
            );
        }
    }
    let string = |n: &JNode, what: &str, own: &mut Vec<Diagnostic>| match &n.value {
        Value::String(s) if !s.text.trim().is_empty() => Some(s.clone()),
        other => {
            own.push(Diagnostic::error(
                n.span.clone(),
                format!("{what} must be a non-empty string, found {}", other.kind()),
                "expected a string",
            ));
            None
        }
    };
    let Some(bpmn) = get("bpmn").and_then(|n| string(n, "`bpmn`", &mut own)) else {
        return (None, own, Vec::new());
    };
    let process = match get("process") {
        Some(n) => string(n, "`process`", &mut own).map(|s| s.text),
        None => options.process.clone(),
    };
    let path = super::load::base_dir_of(&source.path).join(&bpmn.text);
    let bpmn_source = match SourceFile::read(&path) {
        Ok(s) => SourceFile {
            name: shown_path(&source.path, &bpmn.text),
            ..s
        },
        Err(e) => {
            own.push(Diagnostic::error(
                bpmn.span.clone(),
                format!("cannot read the BPMN file: {e}"),
                "named here",
            ));
            return (None, own, Vec::new());
        }
    };
    let (workflow, mut diagnostics) = read::read(&bpmn_source, process.as_deref());
    let Some(mut wf) = workflow else {
        return (None, own, vec![(bpmn_source, diagnostics)]);
    };
    wf.path = source.path.clone();
    let others = match get("services") {
        Some(entries) => {
            bind::bind_entries(&mut wf, source, entries, &mut diagnostics, &mut own);
            Vec::new()
        }
        None => bind::bind(&mut wf, options.services.as_deref(), &mut diagnostics),
    };
    let mut related = vec![(bpmn_source, diagnostics)];
    related.extend(others);
    (Some(wf), own, related)
}

/// The path a diagnostic shows for a file named relative to another file.
fn shown_path(from: &Path, name: &str) -> String {
    match from.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.join(name).display().to_string(),
        _ => name.to_string(),
    }
}
