//! Before a run: load and check the workflow, read the input, gather secrets from their
//! sources, and find what is still missing. Every error here means exit 2, before anything runs.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value};

use secrecy::SecretString;
use zeroize::Zeroizing;

use crate::secrets::prompt::Missing;
use crate::secrets::store::{self, Source};
use crate::secrets::{SecretArg, SecretError, SecretStore};
use crate::workflow::mask::Sensitivity;
use crate::workflow::model::SECRETS_ROW;
use crate::workflow::{self, Diagnostic, ReadError, SourceFile, Workflow, json};

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
    /// Rendered diagnostics of the workflow, and a one-line summary.
    #[error("{summary}")]
    Workflow { rendered: String, summary: String },
    #[error("--input {path}: cannot read it: {reason}")]
    InputRead { path: String, reason: String },
    /// Rendered diagnostics of the `--input` file (its literals masked), and a one-line summary.
    #[error("{summary}")]
    Input { rendered: String, summary: String },
    #[error("{0}")]
    Secret(#[from] SecretError),
}

/// Where each workflow secret is used: secret name → `node (param)`.
pub fn secret_uses(wf: &Workflow) -> BTreeMap<String, Vec<String>> {
    let mut uses: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for node in &wf.nodes {
        for b in node.bound_secrets() {
            uses.entry(b.secret.clone())
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
        let summary = format!(
            "wfop: {}: {n} error{}; nothing was run",
            checked.source.name,
            if n == 1 { "" } else { "s" }
        );
        return Err(SetupError::Workflow {
            rendered: checked.render(color),
            summary,
        });
    }
    let mut warnings = if checked.warnings() > 0 {
        checked.render(color)
    } else {
        String::new()
    };
    let Some(workflow) = checked.into_workflow() else {
        return Err(SetupError::Workflow {
            rendered: String::new(),
            summary: "wfop: the workflow did not load".into(),
        });
    };
    let uses = secret_uses(&workflow);
    let declared: Vec<String> = match &workflow.secrets {
        Some(decls) => decls.iter().map(|d| d.name.clone()).collect(),
        None => uses.keys().cloned().collect(),
    };

    // Names first, values after: every name a message shows from here on is a declared one.
    let mut secrets = SecretStore::new();
    for arg in secret_args {
        arg.check_declared(declared.iter().map(String::as_str))?;
    }
    for arg in secret_args {
        secrets.load_arg(arg)?;
    }
    let mut inputs = Map::new();
    if let Some(p) = input {
        let public: Vec<String> = workflow
            .inputs
            .iter()
            .flatten()
            .map(|d| d.name.clone())
            .chain(declared.iter().cloned())
            .collect();
        let overridden;
        (inputs, overridden) = read_input(p, &declared, &public, &mut secrets, color)?;
        for name in overridden {
            let at = secrets.flag_of(&name).unwrap_or(0);
            warnings.push_str(&format!(
                "wfop: warning: secret `{name}`: the {} --secret overrides the input's `$secrets` entry\n",
                crate::secrets::store::nth(at)
            ));
        }
    }

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

/// An `--input` file's text, wiped when dropped: it may hold `$secrets` values.
struct InputText(SourceFile);

impl Drop for InputText {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0.text);
    }
}

/// Reads an `--input` file: a JSON object of workflow variables, whose `$secrets` object (if
/// any) goes into `secrets`. Returns the variables and the `$secrets` names a `--secret` flag
/// gave already (the flag wins). Every problem is a diagnostic at `file:line:col`, rendered with
/// the file's literals masked and without quoting its text: any input file may hold values.
fn read_input(
    path: &Path,
    declared: &[String],
    public: &[String],
    secrets: &mut SecretStore,
    color: bool,
) -> Result<(Map<String, Value>, Vec<String>), SetupError> {
    let name = path.display().to_string();
    let mut src = SourceFile::read(path).map_err(|e| match e {
        ReadError::Io { source, .. } => SetupError::InputRead {
            path: name.clone(),
            reason: source.to_string(),
        },
        other => SetupError::InputRead {
            path: name.clone(),
            reason: other.to_string(),
        },
    })?;
    let mut keep = vec![SECRETS_ROW.to_string()];
    keep.extend(public.iter().cloned());
    src.sensitivity = Sensitivity::Data { keep };
    let src = InputText(src);
    let fail = |diags: Vec<Diagnostic>| {
        let n = diags.len();
        SetupError::Input {
            rendered: workflow::diag::render(&src.0, &diags, color),
            summary: format!(
                "wfop: --input {}: {n} error{}; nothing was run",
                src.0.name,
                if n == 1 { "" } else { "s" }
            ),
        }
    };
    let root = json::parse(&src.0.text).map_err(|e| {
        fail(vec![Diagnostic::error(
            e.span,
            format!("invalid JSON in --input: {}", e.message),
            "here",
        )])
    })?;
    let json::Value::Object(members) = root.value else {
        let found = root.value.kind();
        return Err(fail(vec![Diagnostic::error(
            root.span.start..root.span.start + 1,
            format!("the input must be a JSON object of workflow variables, not {found}"),
            "expected an object",
        )]));
    };
    let mut diags = Vec::new();
    let mut inputs = Map::new();
    let mut secret_member: Option<json::Member> = None;
    for m in members {
        if m.key.text != SECRETS_ROW {
            // Later duplicates win, as in serde_json.
            inputs.insert(m.key.text.clone(), m.value.to_serde());
        } else if let Some(first) = &secret_member {
            diags.push(
                Diagnostic::error(
                    m.key.span.clone(),
                    "`$secrets` is given twice in the input",
                    "given again",
                )
                .with_secondary(first.key.span.clone(), "first given here"),
            );
            wipe_node(m.value);
        } else {
            secret_member = Some(m);
        }
    }
    let mut overridden = Vec::new();
    if let Some(m) = secret_member {
        overridden = take_secrets(m.value, declared, secrets, &mut diags);
    }
    if diags.is_empty() {
        Ok((inputs, overridden))
    } else {
        Err(fail(diags))
    }
}

/// Moves the values of the input's `$secrets` object into the store. A key is named in a
/// message only once it is known to be a declared secret; otherwise by its position.
fn take_secrets(
    node: json::Node,
    declared: &[String],
    secrets: &mut SecretStore,
    diags: &mut Vec<Diagnostic>,
) -> Vec<String> {
    let json::Value::Object(members) = node.value else {
        let found = node.value.kind();
        diags.push(Diagnostic::error(
            node.span.clone(),
            format!("the input's `$secrets` must be an object of secret name → value, not {found}"),
            "expected an object",
        ));
        wipe_node(node);
        return Vec::new();
    };
    let mut overridden = Vec::new();
    let mut seen: Vec<(String, std::ops::Range<usize>, usize)> = Vec::new();
    for (i, m) in members.into_iter().enumerate() {
        let at = store::nth(i + 1);
        let (key, value) = (m.key, m.value);
        if !declared.contains(&key.text) {
            let hint = workflow::load::did_you_mean(&key.text, declared.iter().map(String::as_str))
                .map(|d| format!(" (did you mean `{d}`?)"))
                .unwrap_or_default();
            let list = if declared.is_empty() {
                "(none)".to_string()
            } else {
                declared.join(", ")
            };
            diags.push(
                Diagnostic::error(
                    key.span.clone(),
                    format!(
                        "the {at} key of `$secrets` is not a secret this workflow declares{hint}"
                    ),
                    "not a declared secret",
                )
                .with_note(format!(
                    "the workflow declares: {list}; `$secrets` maps a secret name to its value"
                )),
            );
            wipe_str(key);
            wipe_node(value);
            continue;
        }
        if let Some((_, first, n)) = seen.iter().find(|(k, _, _)| *k == key.text) {
            diags.push(
                Diagnostic::error(
                    key.span.clone(),
                    format!(
                        "secret `{}` is given twice in `$secrets` (the {} and the {at} key)",
                        key.text,
                        store::nth(*n)
                    ),
                    "given again",
                )
                .with_secondary(first.clone(), "first given here"),
            );
            wipe_node(value);
            continue;
        }
        seen.push((key.text.clone(), key.span.clone(), i + 1));
        let name = key.text;
        let span = value.span.clone();
        let json::Value::String(s) = value.value else {
            let found = value.value.kind();
            diags.push(Diagnostic::error(
                span,
                format!("the value of secret `{name}` in `$secrets` must be a string, not {found}"),
                "expected a string",
            ));
            wipe_node(value);
            continue;
        };
        let text = Zeroizing::new(s.text);
        if secrets.flag_of(&name).is_some() {
            overridden.push(name);
            continue;
        }
        let sealed = SecretString::from(Box::<str>::from(text.as_str()));
        if let Err(e) = secrets.insert(&name, sealed, Source::Input) {
            let what = match e {
                SecretError::Nul { .. } => {
                    "contains a NUL character, which no environment variable can hold"
                }
                SecretError::Empty { .. } => "is empty",
                _ => "cannot be used",
            };
            diags.push(Diagnostic::error(
                span,
                format!("the value of secret `{name}` in `$secrets` {what}"),
                "this value",
            ));
        }
    }
    overridden
}

/// Zeroizes every string of a JSON value from an input file before dropping it.
fn wipe_node(node: json::Node) {
    match node.value {
        json::Value::String(s) => wipe_str(s),
        json::Value::Array(items) => items.into_iter().for_each(wipe_node),
        json::Value::Object(members) => {
            for m in members {
                wipe_str(m.key);
                wipe_node(m.value);
            }
        }
        _ => {}
    }
}

fn wipe_str(s: json::Str) {
    drop(Zeroizing::new(s.text));
}

impl SetupError {
    /// The text to print for this error: rendered diagnostics and their summary line, anything
    /// else as a `wfop: …` line.
    pub fn report(&self) -> String {
        match self {
            SetupError::Workflow { rendered, summary }
            | SetupError::Input { rendered, summary } => {
                format!("{rendered}{summary}")
            }
            other => format!("wfop: {other}"),
        }
    }

    /// One line for a status bar: never a source excerpt.
    pub fn summary(&self) -> String {
        match self {
            SetupError::Workflow { summary, .. } | SetupError::Input { summary, .. } => {
                summary.clone()
            }
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
            crate::safe::text(&e.to_string())
        );
    }
    let parsed = SecretArg::parse_all(secret_args).map_err(|e| format!("wfop: {e}"))?;
    let prepared = prepare(file, input, &parsed, color).map_err(|e| e.report())?;
    let state_dir = state_dir
        .map_or_else(super::record::default_state_dir, Ok)
        .map_err(|e| format!("wfop: {e}"))?;
    Ok((prepared, state_dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    const WF: &str = r#"{ "name": "t", "secrets": { "api": {} },
  "nodes": [ { "id": "start", "type": "start" },
    { "id": "s", "type": "service", "run": { "command": ["true"] }, "secrets": ["tok"],
      "input_mapping": [ { "name": "$secrets", "value": "{ \"tok\": secret_value(\"api\") }" } ] },
    { "id": "end", "type": "end" } ],
  "edges": [ { "from": "start", "to": "s" }, { "from": "s", "to": "end" } ] }"#;

    /// The TUI's rerun shows `summary()` in its one status line: one line, no excerpt, no value;
    /// `report()` (plain mode, stderr) has the masked excerpt.
    #[test]
    fn the_summary_is_one_line_without_the_excerpt() {
        let dir = tempfile::tempdir().unwrap();
        let wf = dir.path().join("wf.json");
        std::fs::write(&wf, WF).unwrap();
        let input = dir.path().join("in.json");
        std::fs::write(
            &input,
            "{ \"$secrets\": { \"api\": hunter2-secret-value } }",
        )
        .unwrap();
        let e = prepare(&wf, Some(&input), &[], false).unwrap_err();
        let summary = e.summary();
        assert!(
            !summary.contains('\n') && !summary.contains('│'),
            "{summary}"
        );
        assert!(
            summary.contains("in.json") && summary.contains("1 error"),
            "{summary}"
        );
        let report = e.report();
        assert!(
            report.contains("in.json:1:24") && report.contains("•••"),
            "{report}"
        );
        assert!(
            !report.contains("hunter2") && !summary.contains("hunter2"),
            "{report}"
        );
    }
}
