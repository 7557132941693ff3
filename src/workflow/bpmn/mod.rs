//! BPMN 2.0 files, as the Camunda 8 / Kipu Quantum Hub modeler saves them, as wfop workflows:
//! `read` maps one process onto the workflow model (no second engine), `bind` gives its service
//! tasks something to run from a binding file, `write` exports a workflow as BPMN with a
//! diagram the modeler opens. The user's description is docs/bpmn.md.

pub mod bind;
pub mod props;
pub mod read;
pub mod write;

use crate::diag::{Diagnostic, SourceFile};

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
