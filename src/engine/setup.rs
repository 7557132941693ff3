//! Before a run: load and check the workflow, read the input, gather secrets from their
//! sources, and find what is still missing. Every error here means exit 2, before anything runs.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value};

use crate::expr;
use crate::secrets::prompt::Missing;
use crate::secrets::{SecretArg, SecretError, SecretStore};
use crate::workflow::{self, ReadError, Workflow};

/// A run ready to start once the missing secrets are supplied.
#[derive(Debug)]
pub struct Prepared {
    pub workflow: Workflow,
    /// The workflow inputs, `$secrets` removed.
    pub inputs: Map<String, Value>,
    pub secrets: SecretStore,
    /// Secrets the workflow uses that no source gave.
    pub missing: Vec<Missing>,
    /// Rendered warnings of the workflow check (empty when none).
    pub warnings: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("{0}")]
    Read(#[from] ReadError),
    /// The rendered diagnostics and a one-line summary.
    #[error("{0}")]
    Workflow(String),
    #[error("--input {path}: cannot read it: {reason}")]
    InputRead { path: String, reason: String },
    /// The rendered diagnostic (`file:line:col`, the source line, a marker).
    #[error("{0}")]
    InputJson(String),
    #[error("--input {path}: the input must be a JSON object of workflow variables, not {found}")]
    InputNotObject { path: String, found: &'static str },
    #[error("{0}")]
    Secret(#[from] SecretError),
}

/// Where each workflow secret is used: secret name → `node (param)`.
pub fn secret_uses(wf: &Workflow) -> BTreeMap<String, Vec<String>> {
    let mut uses: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for node in &wf.nodes {
        let Some(e) = node.secrets_row().and_then(|r| r.expr.as_ref()) else {
            continue;
        };
        for b in expr::secret_bindings(e).unwrap_or_default() {
            uses.entry(b.secret)
                .or_default()
                .push(format!("{} ({})", node.id, b.param));
        }
    }
    uses
}

/// Loads everything a run needs from the command line's files and sources. Call
/// `secrets::harden::harden_process()` first: this reads secret values.
pub fn prepare(
    file: &Path,
    input: Option<&Path>,
    secret_args: &[SecretArg],
    color: bool,
) -> Result<Prepared, SetupError> {
    let checked = workflow::check_file(file)?;
    if checked.errors() > 0 {
        let n = checked.errors();
        return Err(SetupError::Workflow(format!(
            "{}wfop: {}: {n} error{}; nothing was run",
            checked.render(color),
            checked.source.name,
            if n == 1 { "" } else { "s" }
        )));
    }
    let warnings = if checked.warnings() > 0 {
        checked.render(color)
    } else {
        String::new()
    };
    let Some(workflow) = checked.into_workflow() else {
        return Err(SetupError::Workflow(
            "wfop: the workflow did not load".into(),
        ));
    };
    let mut inputs = match input {
        Some(p) => read_input(p, color)?,
        None => Map::new(),
    };

    let mut secrets = SecretStore::new();
    for arg in secret_args {
        secrets.load_arg(arg)?;
    }
    secrets.take_from_input(&mut inputs)?;

    let uses = secret_uses(&workflow);
    let declared: Vec<String> = match &workflow.secrets {
        Some(decls) => decls.iter().map(|d| d.name.clone()).collect(),
        None => uses.keys().cloned().collect(),
    };
    secrets.check_known(declared.iter().map(String::as_str))?;
    let missing = uses
        .iter()
        .filter(|(name, _)| !secrets.contains(name))
        .map(|(name, used_by)| Missing {
            name: name.clone(),
            description: workflow
                .secrets
                .iter()
                .flatten()
                .find(|d| &d.name == name)
                .and_then(|d| d.description.clone()),
            used_by: used_by.clone(),
        })
        .collect();
    Ok(Prepared {
        workflow,
        inputs,
        secrets,
        missing,
        warnings,
    })
}

fn read_input(path: &Path, color: bool) -> Result<Map<String, Value>, SetupError> {
    let name = path.display().to_string();
    let src = crate::workflow::SourceFile::read(path).map_err(|e| match e {
        ReadError::Io { source, .. } => SetupError::InputRead {
            path: name.clone(),
            reason: source.to_string(),
        },
        other => SetupError::InputRead {
            path: name.clone(),
            reason: other.to_string(),
        },
    })?;
    let root = crate::workflow::json::parse(&src.text).map_err(|e| {
        let d = crate::workflow::Diagnostic::error(
            e.span,
            format!("invalid JSON in --input: {}", e.message),
            "here",
        );
        SetupError::InputJson(crate::workflow::diag::render(
            &src.name,
            &src.text,
            &[d],
            color,
        ))
    })?;
    match root.to_serde() {
        Value::Object(m) => Ok(m),
        other => Err(SetupError::InputNotObject {
            path: name,
            found: match other {
                Value::Array(_) => "an array",
                Value::String(_) => "a string",
                Value::Number(_) => "a number",
                Value::Bool(_) => "a boolean",
                _ => "null",
            },
        }),
    }
}

impl SetupError {
    /// The text to print for this error: rendered diagnostics as they are, anything else as a
    /// `wfop: …` line.
    pub fn report(&self) -> String {
        match self {
            SetupError::Workflow(text) | SetupError::InputJson(text) => text.trim_end().to_string(),
            other => format!("wfop: {other}"),
        }
    }
}

/// What both front ends do before a run, in order: harden the process (before any secret is
/// read), parse the `--secret` arguments, load the workflow, the input and the secret sources,
/// and find the state folder. An error is the text to print before exiting 2.
pub fn start(
    file: &Path,
    input: Option<&Path>,
    secret_args: &[String],
    state_dir: Option<std::path::PathBuf>,
    color: bool,
) -> Result<(Prepared, std::path::PathBuf), String> {
    if let Err(e) = crate::secrets::harden::harden_process() {
        eprintln!(
            "wfop: warning: cannot harden the process (core dumps, ptrace): {}",
            crate::ui::safe::text(&e.to_string())
        );
    }
    let parsed = secret_args
        .iter()
        .map(|a| SecretArg::parse(a).map_err(|e| format!("wfop: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    let prepared = prepare(file, input, &parsed, color).map_err(|e| e.report())?;
    let state_dir = state_dir
        .map_or_else(super::record::default_state_dir, Ok)
        .map_err(|e| format!("wfop: {e}"))?;
    Ok((prepared, state_dir))
}
