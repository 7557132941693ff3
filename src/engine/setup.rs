//! Before a run: load and check the workflow, read the input, gather secrets from their
//! sources, find what is still missing. Typed results; the front end renders them (`ui::start`).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use secrecy::SecretString;
use zeroize::Zeroizing;

use super::vars::Inputs;
use crate::diag::{self, Diagnostic, ReadError, Sensitivity, SourceFile};
use crate::secrets::prompt::Missing;
use crate::secrets::store::{self, Source};
use crate::secrets::{SecretArg, SecretError, SecretStore};
use crate::workflow::model::SECRETS_ROW;
use crate::workflow::{self, Checked, LoadOptions, Workflow, json};

/// A run ready to start once the missing secrets are supplied.
#[derive(Debug)]
pub struct Prepared {
    pub workflow: Workflow,
    /// The workflow inputs, `$secrets` removed, each as its JSON text.
    pub inputs: Arc<Inputs>,
    pub secrets: SecretStore,
    /// Secrets the workflow uses that no source gave.
    pub missing: Vec<Missing>,
    /// What the front end warns about before the run, in this order (empty when none).
    pub warnings: Vec<Warning>,
    /// A rerun from one node reusing a finished run's outputs (`--from NODE --reuse RUN`).
    pub reuse: Option<Arc<super::reuse::Reuse>>,
}

impl Prepared {
    /// Makes this a rerun planned by `reuse`: only the secrets of the nodes that run are still
    /// missing (a reused node does not run: nothing asks for its secrets).
    pub fn rerun(&mut self, reuse: super::reuse::Reuse) {
        let wf = &self.workflow;
        let running: Vec<&str> = (0..wf.nodes.len())
            .filter(|&i| !reuse.reused(i))
            .map(|i| wf.nodes[i].id.as_str())
            .collect();
        let mut needed: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for node in wf.nodes.iter().filter(|n| running.contains(&n.id.as_str())) {
            for (secret, used) in node_secrets(node) {
                needed.entry(secret).or_default().push(used);
            }
        }
        self.missing.retain_mut(|m| match needed.get(&m.name) {
            Some(used) => {
                m.used_by = used.clone();
                true
            }
            None => false,
        });
        self.reuse = Some(Arc::new(reuse));
    }
}

/// Something worth a warning that does not stop the run.
#[derive(Debug)]
pub enum Warning {
    /// The workflow file's own warnings (it has no errors).
    Workflow(Box<FileDiagnostics>),
    /// The `flag`-th `--secret` gives a secret the input's `$secrets` gives too: the flag wins.
    SecretOverridden { name: String, flag: usize },
}

/// Findings about one file the user wrote, with the file to show them against (its excerpts
/// masked as its `sensitivity` says). The text is wiped when this is dropped: an `--input` file
/// may hold `$secrets` values. Rendering is the front end's work.
pub struct FileDiagnostics {
    pub source: SourceFile,
    /// In file order.
    pub diagnostics: Vec<Diagnostic>,
    /// The findings about the other files the workflow was read with (a BPMN file's binding
    /// file, the BPMN file a JSON workflow names), shown after the file's own.
    pub related: Vec<workflow::Related>,
}

impl FileDiagnostics {
    pub fn errors(&self) -> usize {
        self.diagnostics
            .iter()
            .chain(self.related.iter().flat_map(|(_, d)| d))
            .filter(|d| d.is_error())
            .count()
    }
}

impl Drop for FileDiagnostics {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.source.text);
        for (source, _) in &mut self.related {
            zeroize::Zeroize::zeroize(&mut source.text);
        }
    }
}

/// Never the file's text: it may hold values.
impl std::fmt::Debug for FileDiagnostics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileDiagnostics")
            .field("file", &self.source.name)
            .field("diagnostics", &self.diagnostics.len())
            .finish()
    }
}

/// Why a run cannot start. Every one means exit 2, before anything runs.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    #[error("{0}")]
    Read(#[from] ReadError),
    /// The workflow file has errors (its diagnostics hold them, and any warnings).
    #[error("{}: {}; nothing was run", .0.source.name, errors(.0.errors()))]
    Workflow(Box<FileDiagnostics>),
    /// No errors, yet no workflow: the loader's own failure.
    #[error("the workflow did not load")]
    NotLoaded,
    #[error("--input {path}: cannot read it: {reason}")]
    InputRead { path: String, reason: String },
    /// The `--input` file's problems (every diagnostic is an error).
    #[error("--input {}: {}; nothing was run", .0.source.name, errors(.0.errors()))]
    Input(Box<FileDiagnostics>),
    #[error("{0}")]
    Secret(#[from] SecretError),
}

impl PrepareError {
    /// The diagnostics to show above the message, for errors about a file's content.
    pub fn diagnostics(&self) -> Option<&FileDiagnostics> {
        match self {
            PrepareError::Workflow(d) | PrepareError::Input(d) => Some(d),
            _ => None,
        }
    }
}

/// "1 error", "2 errors".
fn errors(n: usize) -> String {
    format!("{n} error{}", if n == 1 { "" } else { "s" })
}

/// Where each workflow secret is used: secret name → `node (param)`.
pub fn secret_uses(wf: &Workflow) -> BTreeMap<String, Vec<String>> {
    let mut uses: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for node in &wf.nodes {
        for (secret, used) in node_secrets(node) {
            uses.entry(secret).or_default().push(used);
        }
    }
    uses
}

/// The workflow secrets one node uses, each with where: `node (param)`.
fn node_secrets(node: &workflow::Node) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = node
        .bound_secrets()
        .iter()
        .map(|b| (b.secret.clone(), format!("{} ({})", node.id, b.param)))
        .collect();
    // A hub node's credentials are workflow secrets too.
    if let Some(workflow::Run::Hub(hub)) = &node.run {
        for name in hub.auth.secret_names() {
            out.push((name.to_string(), format!("{} (hub credentials)", node.id)));
        }
    }
    out
}

/// Loads everything a run needs: the workflow file, the `--input` file and the secret
/// sources (`--secret` arguments, parsed once by the front end; read here, again on each call).
/// Call `secrets::harden::harden_process()` first: this reads secret values.
pub fn prepare(
    file: &Path,
    input: Option<&Path>,
    secret_args: &[SecretArg],
) -> Result<Prepared, PrepareError> {
    prepare_with(file, &LoadOptions::default(), input, secret_args)
}

/// [`prepare`] with the command line's `--process` / `--services` (BPMN workflows).
pub fn prepare_with(
    file: &Path,
    load: &LoadOptions,
    input: Option<&Path>,
    secret_args: &[SecretArg],
) -> Result<Prepared, PrepareError> {
    let (workflow, mut warnings) = load_workflow(file, load)?;
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
    let mut inputs = Inputs::default();
    if let Some(p) = input {
        let public: Vec<String> = workflow
            .inputs
            .iter()
            .flatten()
            .map(|d| d.name.clone())
            .chain(declared.iter().cloned())
            .collect();
        let overridden;
        (inputs, overridden) = read_input(p, &declared, &public, &mut secrets)?;
        for name in overridden {
            let flag = secrets.flag_of(&name).unwrap_or(0);
            warnings.push(Warning::SecretOverridden { name, flag });
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
        inputs: Arc::new(inputs),
        secrets,
        missing,
        warnings,
        reuse: None,
    })
}

/// Loads and checks the workflow file alone: the workflow and its warnings (the run host loads
/// it so; its inputs and secrets come from the client that started it).
pub fn load_workflow(
    file: &Path,
    load: &LoadOptions,
) -> Result<(Workflow, Vec<Warning>), PrepareError> {
    let checked = workflow::check_file_with(file, load)?;
    if checked.errors() > 0 {
        let Checked {
            source,
            diagnostics,
            related,
            ..
        } = checked;
        return Err(PrepareError::Workflow(Box::new(FileDiagnostics {
            source,
            diagnostics,
            related,
        })));
    }
    let mut warnings = Vec::new();
    if checked.warnings() > 0 {
        warnings.push(Warning::Workflow(Box::new(FileDiagnostics {
            source: checked.source.clone(),
            diagnostics: checked.diagnostics.clone(),
            related: checked.related.clone(),
        })));
    }
    let Some(workflow) = checked.into_workflow() else {
        return Err(PrepareError::NotLoaded);
    };
    Ok((workflow, warnings))
}

/// Reads an `--input` file: a JSON object of workflow variables, whose `$secrets` object (if
/// any) goes into `secrets`. Returns the variables and the `$secrets` names a `--secret` flag
/// gave already (the flag wins). Every problem is a diagnostic at `file:line:col`, to be rendered
/// with the file's literals masked and without quoting its text: any input file may hold values.
///
/// A valid file is read without building a tree of it: each variable is kept as its JSON text
/// (`vars::Inputs`), and only `$secrets` goes through the positioned parser. A file with any
/// problem is read again by the positioned parser, which finds and places every one.
fn read_input(
    path: &Path,
    declared: &[String],
    public: &[String],
    secrets: &mut SecretStore,
) -> Result<(Inputs, Vec<String>), PrepareError> {
    let name = path.display().to_string();
    let mut src = SourceFile::read(path).map_err(|e| match e {
        ReadError::Io { source, .. } => PrepareError::InputRead {
            path: name.clone(),
            reason: source.to_string(),
        },
        other => PrepareError::InputRead {
            path: name.clone(),
            reason: other.to_string(),
        },
    })?;
    let mut keep = vec![SECRETS_ROW.to_string()];
    keep.extend(public.iter().cloned());
    src.sensitivity = Sensitivity::Data { keep };
    // Wiped when dropped: here, or once the front end has shown the diagnostics.
    let file = FileDiagnostics {
        source: src,
        diagnostics: Vec::new(),
        related: Vec::new(),
    };
    match read_members(&file.source.text, declared, secrets) {
        Some((inputs, overridden, diags)) if diags.is_empty() => Ok((inputs, overridden)),
        Some((_, _, diags)) => Err(fail(file, diags)),
        None => read_positioned(file, declared, secrets),
    }
}

/// The top-level members of the `--input` object, each value as a slice of the file's text.
struct Members<'a>(Vec<(String, &'a RawValue)>);

impl<'de> Deserialize<'de> for Members<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members<'de>, A::Error> {
                let mut out = Vec::new();
                while let Some(entry) = map.next_entry::<String, &'de RawValue>()? {
                    out.push(entry);
                }
                Ok(Members(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// The fast path of [`read_input`]: the inputs, the overridden `$secrets` names and the
/// diagnostics about `$secrets` (placed in the file). `None` when the text is not a JSON object
/// with at most one `$secrets` that this path reads: the positioned parser reads it then.
fn read_members(
    text: &str,
    declared: &[String],
    secrets: &mut SecretStore,
) -> Option<(Inputs, Vec<String>, Vec<Diagnostic>)> {
    let members: Members = serde_json::from_str(text).ok()?;
    if members.0.iter().filter(|(k, _)| k == SECRETS_ROW).count() > 1 {
        return None;
    }
    let mut inputs = Inputs::default();
    let mut secret_member = None;
    for (key, raw) in members.0 {
        if key == SECRETS_ROW {
            secret_member = Some(raw);
        } else {
            inputs.insert_json(key, raw.get()).ok()?;
        }
    }
    let mut overridden = Vec::new();
    let mut diags = Vec::new();
    if let Some(raw) = secret_member {
        // Where the value stands in the file: the positioned parser reads it alone, and its
        // diagnostics move by as much.
        let at = (raw.get().as_ptr() as usize).checked_sub(text.as_ptr() as usize)?;
        text.get(at..at + raw.get().len())?;
        let node = json::parse(raw.get()).ok()?;
        overridden = take_secrets(node, declared, secrets, &mut diags);
        for d in &mut diags {
            shift(&mut d.primary.0, at);
            for (span, _) in &mut d.secondary {
                shift(span, at);
            }
        }
    }
    Some((inputs, overridden, diags))
}

fn shift(span: &mut std::ops::Range<usize>, by: usize) {
    *span = span.start + by..span.end + by;
}

/// [`read_input`] by the positioned parser: every problem of the file, in file order.
fn read_positioned(
    file: FileDiagnostics,
    declared: &[String],
    secrets: &mut SecretStore,
) -> Result<(Inputs, Vec<String>), PrepareError> {
    let root = match json::parse(&file.source.text) {
        Ok(root) => root,
        Err(e) => {
            return Err(fail(
                file,
                vec![Diagnostic::error(
                    e.span,
                    format!("invalid JSON in --input: {}", e.message),
                    "here",
                )],
            ));
        }
    };
    let json::Value::Object(members) = root.value else {
        let found = root.value.kind();
        return Err(fail(
            file,
            vec![Diagnostic::error(
                root.span.start..root.span.start + 1,
                format!("the input must be a JSON object of workflow variables, not {found}"),
                "expected an object",
            )],
        ));
    };
    let mut diags = Vec::new();
    let mut inputs = Inputs::default();
    let mut secret_member: Option<json::Member> = None;
    for m in members {
        if m.key.text != SECRETS_ROW {
            // Later duplicates win, as in serde_json.
            if let Err(e) = inputs.insert_value(m.key.text.clone(), &m.value.to_serde()) {
                diags.push(Diagnostic::error(
                    m.value.span.clone(),
                    format!("this input cannot be kept: {e}"),
                    "this value",
                ));
            }
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
        Err(fail(file, diags))
    }
}

/// The `--input` file's problems, with the file to show them against.
fn fail(mut file: FileDiagnostics, diagnostics: Vec<Diagnostic>) -> PrepareError {
    file.diagnostics = diagnostics;
    PrepareError::Input(Box::new(file))
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
            let hint = diag::did_you_mean(&key.text, declared.iter().map(String::as_str))
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A workflow with one service mapping the secret `api` (also used by `ui::start`'s tests).
    pub(crate) const WF: &str = r#"{ "name": "t", "secrets": { "api": {} },
  "nodes": [ { "id": "start", "type": "start" },
    { "id": "s", "type": "service", "run": { "command": ["true"] }, "secrets": ["tok"],
      "input_mapping": [ { "name": "$secrets", "value": "{ \"tok\": secret_value(\"api\") }" } ] },
    { "id": "end", "type": "end" } ],
  "edges": [ { "from": "start", "to": "s" }, { "from": "s", "to": "end" } ] }"#;

    fn files(input: &str) -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let wf = dir.path().join("wf.json");
        std::fs::write(&wf, WF).unwrap();
        let inp = dir.path().join("in.json");
        std::fs::write(&inp, input).unwrap();
        (dir, wf, inp)
    }

    /// An `--input` problem is data: the diagnostic with its span and the file to show it
    /// against; its `Debug` never shows the file's text.
    #[test]
    fn an_input_error_carries_its_diagnostics_not_a_rendering() {
        let (_dir, wf, inp) = files("{ \"$secrets\": { \"api\": hunter2-secret-value } }");
        let e = prepare(&wf, Some(&inp), &[]).unwrap_err();
        let PrepareError::Input(file) = &e else {
            panic!("{e:?}");
        };
        assert_eq!(file.errors(), 1);
        assert_eq!(
            file.diagnostics[0].primary.0.start, 23,
            "{:?}",
            file.diagnostics
        );
        assert!(file.source.name.ends_with("in.json"));
        assert!(
            e.to_string().ends_with("in.json: 1 error; nothing was run"),
            "{e}"
        );
        let debug = format!("{e:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
    }

    /// A `--secret` that overrides the input's entry is a typed warning naming the flag.
    #[test]
    fn an_overridden_input_secret_is_a_warning_naming_the_flag() {
        let (dir, wf, inp) = files("{ \"$secrets\": { \"api\": \"from-input\" } }");
        let secret = dir.path().join("api.txt");
        std::fs::write(&secret, "from-file").unwrap();
        let arg = SecretArg::parse(&format!("api=file:{}", secret.display()), 1).unwrap();
        let p = prepare(&wf, Some(&inp), &[arg]).unwrap();
        assert!(p.missing.is_empty());
        match p.warnings.as_slice() {
            [Warning::SecretOverridden { name, flag: 1 }] => assert_eq!(name, "api"),
            other => panic!("{other:?}"),
        }
        let source = p.secrets.source("api").map(|s| s.to_string());
        assert_eq!(source, Some(format!("file:{}", secret.display())));
    }

    /// A valid file takes the fast path; its `$secrets` findings are the positioned parser's,
    /// at the same places in the file, and so are its inputs.
    #[test]
    fn the_fast_path_reads_and_places_like_the_positioned_parser() {
        let declared = vec!["api".to_string(), "db".to_string()];
        let cases = [
            r#"{ "a": 1, "$secrets": { "api": "v-1234567", "apx": "x" }, "b": [ 2 ] }"#,
            "{\n  \"$secrets\": {\"db\": 5, \"api\": \"\"},\n  \"x\": {\"k\": null}\n}",
            r#"{ "$secrets": [], "s": "\u00e9\n" }"#,
            r#"{ "$secrets": { "api": "v-1234567", "api": "v-7654321" } }"#,
            r#"{ "a": 1, "a": { "b" : 2 } }"#,
        ];
        for text in cases {
            let mut fast_store = SecretStore::new();
            let fast = read_members(text, &declared, &mut fast_store).expect("fast path");
            let file = FileDiagnostics {
                source: SourceFile::from_text("in.json", text),
                diagnostics: Vec::new(),
                related: Vec::new(),
            };
            let mut slow_store = SecretStore::new();
            let slow = read_positioned(file, &declared, &mut slow_store);
            match slow {
                Ok((inputs, overridden)) => {
                    assert!(fast.2.is_empty(), "{text}: {:?}", fast.2);
                    assert_eq!(fast.0, inputs, "{text}");
                    assert_eq!(fast.1, overridden, "{text}");
                }
                Err(PrepareError::Input(d)) => {
                    let places = |ds: &[Diagnostic]| -> Vec<(std::ops::Range<usize>, String)> {
                        ds.iter()
                            .map(|d| (d.primary.0.clone(), d.message.clone()))
                            .collect()
                    };
                    assert_eq!(places(&fast.2), places(&d.diagnostics), "{text}");
                    assert!(!fast.2.is_empty(), "{text}");
                }
                Err(e) => panic!("{text}: {e}"),
            }
            assert_eq!(
                fast_store.contains("api"),
                slow_store.contains("api"),
                "{text}"
            );
        }
        // Not an object, two `$secrets`, bad JSON, too deep: the positioned parser reads them.
        let deep = format!("{{ \"a\": {}{} }}", "[".repeat(128), "]".repeat(128));
        for text in [
            "[1]",
            r#"{ "$secrets": {}, "$secrets": {} }"#,
            "{ \"a\": }",
            &deep,
        ] {
            assert!(
                read_members(text, &declared, &mut SecretStore::new()).is_none(),
                "{text}"
            );
        }
    }
}
