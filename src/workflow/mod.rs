//! What a workflow is: the model, the JSON loader with positioned diagnostics, validation,
//! and the layered graph layout (pure data, no drawing).

pub mod diag;
pub mod json;
pub mod layout;
pub mod load;
pub mod model;
pub mod validate;

use std::path::Path;

pub use diag::{Diagnostic, Severity};
pub use load::{ReadError, SourceFile};
pub use model::{Edge, MappingRow, Node, NodeKind, Run, Workflow};

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
        diag::render(
            &self.source.name,
            &self.source.text,
            &self.diagnostics,
            color,
        )
    }
}

/// Loads and validates a workflow given as text; every finding of the file in one pass.
pub fn check_source(source: SourceFile) -> Checked {
    let (workflow, mut diagnostics) = load::load(&source);
    if let Some(wf) = &workflow {
        diagnostics.extend(validate::validate(wf));
    }
    diagnostics.sort_by_key(|d| (d.primary.0.start, d.primary.0.end));
    Checked {
        source,
        diagnostics,
        workflow,
    }
}

/// Reads, loads and validates a workflow file.
pub fn check_file(path: &Path) -> Result<Checked, ReadError> {
    Ok(check_source(SourceFile::read(path)?))
}

#[cfg(test)]
mod tests;
