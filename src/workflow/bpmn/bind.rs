//! Binding files (`FLOW.services.json`): task type or task id → a wfop `run` spec. (The lead
//! builds it.)

use std::path::{Path, PathBuf};

use crate::diag::Diagnostic;
use crate::workflow::{Related, Workflow};

/// `FLOW.services.json` beside `FLOW.bpmn`.
pub fn default_path(bpmn: &Path) -> PathBuf {
    bpmn.with_extension("services.json")
}

/// Gives each service task of `wf` its `run` (and `secrets`, `timeout`) from the binding file;
/// an unbound task is a `run_only` error in `diagnostics` (the BPMN file's) naming the binding
/// to add. Returns the binding file's own findings. Sets `wf.base_dir` to the binding file's
/// folder (relative paths in it resolve there) and `wf.bpmn.services`.
pub fn bind(
    wf: &mut Workflow,
    services: Option<&Path>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<Related> {
    let _ = (wf, services, diagnostics);
    Vec::new()
}
