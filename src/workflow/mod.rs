//! What a workflow is: the model, the JSON loader and validation (their findings are
//! `crate::diag` diagnostics), and the layered graph layout (pure data, no drawing).

pub mod bpmn;
pub mod json;
pub mod layout;
pub mod load;
pub mod model;
mod names;
pub mod project;
pub mod validate;

use std::path::{Path, PathBuf};

use crate::diag::{self, Diagnostic, ReadError, Sensitivity, SourceFile};

pub use model::{
    BpmnOrigin, Condition, DEFAULT_MAX_ITERATIONS, DataPoolDecl, Edge, ErrorPath, Expression,
    HubAuth, HubRun, MappingRow, Node, NodeExecutor, NodeKind, Retries, Run, SlurmSettings, Timer,
    Unsupported, Workflow,
};
pub use names::secret_env_name;

/// A workflow file after loading and validation.
#[derive(Debug)]
pub struct Checked {
    pub source: SourceFile,
    /// Every finding, in file order.
    pub diagnostics: Vec<Diagnostic>,
    /// Findings about the other files the workflow was read with (a BPMN file's binding file,
    /// the BPMN file a JSON workflow names), each against its own text.
    pub related: Vec<Related>,
    workflow: Option<Workflow>,
}

impl Checked {
    fn all(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics
            .iter()
            .chain(self.related.iter().flat_map(|(_, d)| d))
    }

    pub fn errors(&self) -> usize {
        self.all().filter(|d| d.is_error()).count()
    }

    pub fn warnings(&self) -> usize {
        self.all().count() - self.errors()
    }

    /// The workflow when it can be drawn: every error it has is one that only stops a run
    /// (`Diagnostic::run_only`: a BPMN element wfop does not run, an unbound task).
    pub fn drawable(&self) -> Option<&Workflow> {
        if self.all().all(|d| !d.is_error() || d.run_only) {
            self.workflow.as_ref()
        } else {
            None
        }
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

    /// All diagnostics rendered with `file:line:col`, the source line and a marker (the
    /// related files' after the file's own).
    pub fn render(&self, color: bool) -> String {
        let mut out = diag::render(&self.source, &self.diagnostics, color);
        for (source, diagnostics) in &self.related {
            out.push_str(&diag::render(source, diagnostics, color));
        }
        out
    }
}

/// Another file a workflow was read with, and the findings about it.
pub type Related = (SourceFile, Vec<Diagnostic>);

/// How to read a workflow file beyond its text: the command line's `--process` and
/// `--services` (BPMN files only).
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// `--process ID`: the process to run from a BPMN file that has several.
    pub process: Option<String>,
    /// `--services FILE`: the binding file for a BPMN file's service tasks (default:
    /// `FLOW.services.json` beside `FLOW.bpmn`, when it exists).
    pub services: Option<PathBuf>,
}

/// What kind of workflow file a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Bpmn,
}

/// By extension (`.bpmn`, `.json`), else by content (XML starts with `<`).
pub fn format_of(path: &Path, text: &str) -> Format {
    match path.extension().and_then(|e| e.to_str()) {
        Some(e) if e.eq_ignore_ascii_case("bpmn") => Format::Bpmn,
        Some(e) if e.eq_ignore_ascii_case("json") => Format::Json,
        _ if text
            .trim_start_matches('\u{feff}')
            .trim_start()
            .starts_with('<') =>
        {
            Format::Bpmn
        }
        _ => Format::Json,
    }
}

/// Loads and validates a workflow given as text; every finding of the file in one pass.
pub fn check_source(source: SourceFile) -> Checked {
    check_source_with(source, &LoadOptions::default())
}

/// [`check_source`] with the command line's options; BPMN or JSON by [`format_of`].
pub fn check_source_with(mut source: SourceFile, options: &LoadOptions) -> Checked {
    // Whether the model's spans are into `related[0]` (a BPMN file a JSON file names).
    let mut referenced = false;
    let (workflow, mut diagnostics, mut related) = match format_of(&source.path, &source.text) {
        // Parsed once: a file that names a BPMN file, or a workflow of its own.
        Format::Json => match json::parse(&source.text) {
            Ok(root) if bpmn::is_reference(&root) => {
                referenced = true;
                bpmn::load_reference(&source, &root, options)
            }
            Ok(root) => {
                let (wf, d) = load::load_parsed(&source, &root);
                (wf, d, Vec::new())
            }
            Err(_) => {
                let (wf, d) = load::load(&source);
                (wf, d, Vec::new())
            }
        },
        Format::Bpmn => bpmn::load(&source, options),
    };
    if let Some(wf) = &workflow {
        let found = validate::validate(wf);
        match related.first_mut() {
            Some((_, d)) if referenced => d.extend(found),
            _ => diagnostics.extend(found),
        }
    }
    if referenced {
        if let Some((bpmn_source, _)) = related.first_mut() {
            bpmn_source.sensitivity = secrets_rows(&bpmn_source.text, workflow.as_ref());
        }
        source.sensitivity = secrets_rows(&source.text, None);
    } else {
        source.sensitivity = secrets_rows(&source.text, workflow.as_ref());
    }
    if let Some(wf) = &workflow {
        related.extend(project_findings(wf));
    }
    diagnostics.sort_by_key(|d| (d.primary.0.start, d.primary.0.end));
    for (_, d) in &mut related {
        d.sort_by_key(|d| (d.primary.0.start, d.primary.0.end));
    }
    Checked {
        source,
        diagnostics,
        related,
        workflow,
    }
}

/// The findings about the descriptors (`qhub.json`/`planqk.json`) of the workflow's service
/// projects, each against its own text; a project used by several nodes is read once.
fn project_findings(wf: &Workflow) -> Vec<Related> {
    let mut seen = std::collections::HashSet::new();
    let mut found = Vec::new();
    for node in &wf.nodes {
        let Some(Run::Project { dir, .. }) = &node.run else {
            continue;
        };
        let root = wf.base_dir.join(dir);
        if root.is_dir()
            && seen.insert(root.clone())
            && let (_, Some(findings)) = project::read_descriptor(&root)
        {
            found.push(findings);
        }
    }
    found
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
    check_file_with(path, &LoadOptions::default())
}

/// [`check_file`] with the command line's options. A binding file (`FLOW.services.json`) with
/// its BPMN file beside it stands for that BPMN file bound with it.
pub fn check_file_with(path: &Path, options: &LoadOptions) -> Result<Checked, ReadError> {
    if let Some(bpmn) = bpmn_of_binding_file(path) {
        let options = LoadOptions {
            services: Some(path.to_path_buf()),
            ..options.clone()
        };
        return Ok(check_source_with(SourceFile::read(&bpmn)?, &options));
    }
    Ok(check_source_with(SourceFile::read(path)?, options))
}

/// `FLOW.bpmn` for `FLOW.services.json`, when it exists.
fn bpmn_of_binding_file(path: &Path) -> Option<PathBuf> {
    let name = path.file_name()?.to_str()?;
    let stem = name.strip_suffix(".services.json")?;
    let bpmn = path.with_file_name(format!("{stem}.bpmn"));
    bpmn.is_file().then_some(bpmn)
}

#[cfg(test)]
mod tests;
