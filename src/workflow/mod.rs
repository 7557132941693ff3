//! What a workflow is: the model, the JSON loader and validation (their findings are
//! `crate::diag` diagnostics), and the layered graph layout (pure data, no drawing).

pub mod json;
pub mod layout;
pub mod load;
pub mod model;
mod names;
pub mod validate;

use std::path::Path;

use crate::diag::{self, Diagnostic, ReadError, Sensitivity, SourceFile};

pub use model::{
    Condition, DEFAULT_MAX_ITERATIONS, Edge, ErrorPath, MappingRow, Node, NodeKind, Retries, Run,
    Timer, Workflow,
};
pub use names::secret_env_name;

/// A workflow file after loading and validation.
#[derive(Debug)]
pub struct Checked {
    pub source: SourceFile,
    /// Every finding, in file order.
    pub diagnostics: Vec<Diagnostic>,
    workflow: Option<Workflow>,
}

impl Checked {
    pub fn errors(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.is_error()).count()
    }

    pub fn warnings(&self) -> usize {
        self.diagnostics.len() - self.errors()
    }

    /// The workflow, only when the file has no errors (warnings are fine).
    pub fn workflow(&self) -> Option<&Workflow> {
        if self.errors() == 0 {
            self.workflow.as_ref()
        } else {
            None
        }
    }

    /// Takes the workflow out, only when the file has no errors.
    pub fn into_workflow(self) -> Option<Workflow> {
        if self.errors() == 0 {
            self.workflow
        } else {
            None
        }
    }

    /// All diagnostics rendered with `file:line:col`, the source line and a marker.
    pub fn render(&self, color: bool) -> String {
        diag::render(&self.source, &self.diagnostics, color)
    }
}

/// Loads and validates a workflow given as text; every finding of the file in one pass.
pub fn check_source(mut source: SourceFile) -> Checked {
    let (workflow, mut diagnostics) = load::load(&source);
    if let Some(wf) = &workflow {
        diagnostics.extend(validate::validate(wf));
    }
    source.sensitivity = secrets_rows(&source.text, workflow.as_ref());
    diagnostics.sort_by_key(|d| (d.primary.0.start, d.primary.0.end));
    Checked {
        source,
        diagnostics,
        workflow,
    }
}

/// The lines of a workflow whose excerpts are masked: every `$secrets` row the loader found,
/// and (also when the file did not parse) each line naming `$secrets` or `secret_value`, with
/// the lines after it up to one holding a `}`. Public words stay: the row's field names and
/// the names the workflow declares.
fn secrets_rows(text: &str, wf: Option<&Workflow>) -> Sensitivity {
    let mut ranges = Vec::new();
    let mut open: Option<usize> = None;
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        if line.contains(model::SECRETS_ROW) || line.contains("secret_value") {
            open.get_or_insert(at);
        }
        if let Some(start) = open
            && line.contains('}')
        {
            ranges.push(start..at + line.len());
            open = None;
        }
        at += line.len();
    }
    if let Some(start) = open {
        ranges.push(start..text.len());
    }
    let mut keep: Vec<String> = ["name", "value", model::SECRETS_ROW, "secret_value"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    if let Some(wf) = wf {
        for node in &wf.nodes {
            let rows = node.input_mapping.iter().flatten();
            for row in rows.chain(node.output_mapping.iter().flatten()) {
                if row.name == model::SECRETS_ROW {
                    ranges.push(row.name_span.start.min(row.value.span.start)..row.value.span.end);
                }
            }
            keep.extend(node.secrets.iter().map(|(p, _)| p.clone()));
        }
        keep.extend(wf.secrets.iter().flatten().map(|d| d.name.clone()));
        // Only names the loader accepts as names stay readable.
        keep.retain(|k| k.starts_with('$') || diag::is_identifier(k));
    }
    if ranges.is_empty() {
        return Sensitivity::None;
    }
    Sensitivity::Rows { ranges, keep }
}

/// Reads, loads and validates a workflow file.
pub fn check_file(path: &Path) -> Result<Checked, ReadError> {
    Ok(check_source(SourceFile::read(path)?))
}

#[cfg(test)]
mod tests;
