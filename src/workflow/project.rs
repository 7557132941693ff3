//! Platform service projects (`run.project`, docs/workflow-format.md): the descriptor
//! (`qhub.json`/`planqk.json`), the entrypoint, the requirements, the virtualenv key, and how a
//! project node starts. `engine::venv` makes the virtualenvs (`wfop prepare`).

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::json::{self, Value};
use crate::diag::{Diagnostic, SourceFile, is_identifier};

/// The entrypoint when neither the node, `$ENTRYPOINT` nor the descriptor names one: the
/// platform's (`qhub-serve`'s default; the platform's container imports the same module under
/// its `user_code` folder).
pub const DEFAULT_ENTRYPOINT: &str = "src.program:run";
/// The descriptor files a project may have, in the order wfop looks for them (`qhub.json` is
/// the hub's current name, `planqk.json` the older one).
pub const DESCRIPTOR_FILES: &[&str] = &["qhub.json", "planqk.json"];
/// The platform's runtime, installed into every prepared virtualenv beside the requirements.
pub const QHUB_COMMONS: &str = "qhub-commons>=1.2,<1.3";
/// The file in a prepared virtualenv that says it is complete (written last).
pub const READY_FILE: &str = "wfop-venv.json";
/// The descriptor's runtime of a container service (which wfop does not run as a project).
pub const DOCKER: &str = "DOCKER";
/// The runtimes of a descriptor that are Python projects wfop can run.
const PYTHON_RUNTIMES: &[&str] = &["PYTHON_TEMPLATE", "PYTHON"];

/// What wfop reads from a project's descriptor. The platform's own descriptors have `name`,
/// `description`/`descriptionFile`, `resources`, `runtime`, `serviceId` (and older ones
/// `quantumBackend`); none names an entrypoint, so [`DEFAULT_ENTRYPOINT`] is the usual one.
/// wfop also reads an optional `entrypoint` (`package.module:function`).
#[derive(Debug, Clone, PartialEq)]
pub struct Descriptor {
    pub file: PathBuf,
    pub entrypoint: Option<String>,
    /// `PYTHON_TEMPLATE`, `PYTHON` or `DOCKER` (an error, reported with the findings).
    pub runtime: Option<String>,
}

/// A descriptor and what is wrong with it (its findings, against its own text).
pub type DescriptorRead = (Option<Descriptor>, Option<(SourceFile, Vec<Diagnostic>)>);

/// The project's descriptor (`None` when it has none), and the findings about it when there are
/// any: not JSON, not an object, a bad `entrypoint`, a runtime wfop cannot run.
pub fn read_descriptor(dir: &Path) -> DescriptorRead {
    let Some(file) = DESCRIPTOR_FILES
        .iter()
        .map(|f| dir.join(f))
        .find(|p| p.is_file())
    else {
        return (None, None);
    };
    let source = match SourceFile::read(&file) {
        Ok(s) => s,
        Err(e) => {
            // Unreadable: reported against an empty text (no excerpt to show).
            let source = SourceFile::from_text(&file.display().to_string(), "");
            let d = Diagnostic::error(0..0, e.to_string(), "cannot read");
            return (None, Some((source, vec![d])));
        }
    };
    let mut found = Vec::new();
    let descriptor = descriptor_of(&source.text, file.clone(), &mut found);
    let findings = (!found.is_empty()).then_some((source, found));
    (descriptor, findings)
}

fn descriptor_of(text: &str, file: PathBuf, found: &mut Vec<Diagnostic>) -> Option<Descriptor> {
    let root = match json::parse(text) {
        Ok(r) => r,
        Err(e) => {
            found.push(Diagnostic::error(
                e.span,
                format!("invalid JSON in the project's descriptor: {}", e.message),
                "here",
            ));
            return None;
        }
    };
    let Value::Object(members) = &root.value else {
        found.push(Diagnostic::error(
            root.span.clone(),
            format!(
                "a project descriptor must be a JSON object, found {}",
                root.value.kind()
            ),
            "expected an object",
        ));
        return None;
    };
    let get = |key: &str| members.iter().find(|m| m.key.text == key).map(|m| &m.value);
    let mut d = Descriptor {
        file,
        entrypoint: None,
        runtime: None,
    };
    if let Some(e) = get("entrypoint") {
        match &e.value {
            Value::String(s) if is_entrypoint(&s.text) => d.entrypoint = Some(s.text.clone()),
            Value::String(s) => found.push(Diagnostic::error(
                e.span.clone(),
                format!(
                    "`{}` is not an entrypoint; write `package.module:function`, e.g. `{DEFAULT_ENTRYPOINT}`",
                    s.text
                ),
                "not module:function",
            )),
            other => found.push(Diagnostic::error(
                e.span.clone(),
                format!("`entrypoint` must be a string, found {}", other.kind()),
                "expected a string",
            )),
        }
    }
    if let Some(r) = get("runtime") {
        match &r.value {
            Value::String(s) if PYTHON_RUNTIMES.contains(&s.text.as_str()) => {
                d.runtime = Some(s.text.clone())
            }
            Value::String(s) if s.text == DOCKER => {
                d.runtime = Some(s.text.clone());
                found.push(Diagnostic::error(
                    r.span.clone(),
                    "this project is a Docker service (`\"runtime\": \"DOCKER\"`); wfop runs Python projects (`PYTHON_TEMPLATE`): run its image with a `command` service instead",
                    "a Docker project",
                ))
            }
            Value::String(s) => found.push(Diagnostic::warning(
                r.span.clone(),
                format!(
                    "unknown runtime `{}`; wfop runs the project as a Python project (`PYTHON_TEMPLATE`)",
                    s.text
                ),
                "unknown runtime",
            )),
            other => found.push(Diagnostic::error(
                r.span.clone(),
                format!("`runtime` must be a string, found {}", other.kind()),
                "expected a string",
            )),
        }
    }
    Some(d)
}

/// `package.module:function`: dotted Python identifiers, a colon, an identifier.
pub fn is_entrypoint(s: &str) -> bool {
    let Some((module, function)) = s.split_once(':') else {
        return false;
    };
    is_identifier(function) && module.split('.').all(is_identifier)
}

/// Where a project's entrypoint came from (said in the node's log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntrySource {
    /// The node's `entrypoint`.
    Workflow,
    /// `$ENTRYPOINT` in wfop's environment (as the platform's runtime and `qhub-serve` take it).
    Env,
    /// The project's descriptor (its file name).
    Descriptor(String),
    /// [`DEFAULT_ENTRYPOINT`].
    Default,
}

impl std::fmt::Display for EntrySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EntrySource::Workflow => f.write_str("the node's `entrypoint`"),
            EntrySource::Env => f.write_str("$ENTRYPOINT"),
            EntrySource::Descriptor(file) => write!(f, "{file}"),
            EntrySource::Default => f.write_str("the platform's default"),
        }
    }
}

/// The entrypoint a project runs: the node's, else `$ENTRYPOINT` (when it is one), else the
/// descriptor's, else the platform's default.
pub fn entrypoint(
    written: Option<&str>,
    env: Option<&str>,
    descriptor: Option<&Descriptor>,
) -> (String, EntrySource) {
    if let Some(w) = written {
        return (w.to_string(), EntrySource::Workflow);
    }
    if let Some(e) = env.filter(|e| is_entrypoint(e)) {
        return (e.to_string(), EntrySource::Env);
    }
    if let Some(d) = descriptor
        && let Some(e) = &d.entrypoint
    {
        let name = d
            .file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        return (e.clone(), EntrySource::Descriptor(name));
    }
    (DEFAULT_ENTRYPOINT.to_string(), EntrySource::Default)
}

/// The file `module` (`src.program`) is imported from with `root` first on `sys.path`:
/// `root/src/program.py` or `root/src/program/__init__.py`; `None` when neither exists.
pub fn module_file(root: &Path, module: &str) -> Option<PathBuf> {
    let mut path = root.to_path_buf();
    path.extend(module.split('.'));
    let file = path.with_extension("py");
    if file.is_file() {
        return Some(file);
    }
    let init = path.join("__init__.py");
    init.is_file().then_some(init)
}

/// The two places a module can be, relative to the project (for messages).
pub fn module_candidates(module: &str) -> (String, String) {
    let rel = module.replace('.', "/");
    (format!("{rel}.py"), format!("{rel}/__init__.py"))
}

/// A project's requirements, as the platform installs them: `requirements.txt`, else the
/// `[project] dependencies` of `pyproject.toml`, else none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requirements {
    Txt(PathBuf),
    Pyproject(PathBuf),
    None,
}

impl Requirements {
    pub fn of(dir: &Path) -> Requirements {
        let txt = dir.join("requirements.txt");
        if txt.is_file() {
            return Requirements::Txt(txt);
        }
        let toml = dir.join("pyproject.toml");
        if toml.is_file() {
            return Requirements::Pyproject(toml);
        }
        Requirements::None
    }

    /// The file's name, for messages (`requirements.txt`, `pyproject.toml`).
    pub fn file_name(&self) -> Option<&'static str> {
        match self {
            Requirements::Txt(_) => Some("requirements.txt"),
            Requirements::Pyproject(_) => Some("pyproject.toml"),
            Requirements::None => None,
        }
    }

    /// Whether it asks for anything (a `requirements.txt` of comments only does not).
    pub fn any(&self) -> bool {
        match self {
            Requirements::Txt(p) => std::fs::read_to_string(p).map_or(true, |t| {
                t.lines().any(|l| {
                    let l = l.trim();
                    !l.is_empty() && !l.starts_with('#')
                })
            }),
            Requirements::Pyproject(p) => std::fs::read_to_string(p).map_or(true, |t| {
                pyproject_dependencies(&t).map_or(true, |d| !d.is_empty())
            }),
            Requirements::None => false,
        }
    }

    /// The virtualenv's key: a hash of the requirements file (its bytes, and which file it is)
    /// and of the runtime wfop adds; the same requirements share one virtualenv.
    pub fn venv_key(&self) -> std::io::Result<String> {
        let mut h = Sha256::new();
        h.update(b"wfop-venv-1\0");
        h.update(QHUB_COMMONS.as_bytes());
        h.update(b"\0");
        match self {
            Requirements::Txt(p) | Requirements::Pyproject(p) => {
                h.update(self.file_name().unwrap_or_default().as_bytes());
                h.update(b"\0");
                h.update(std::fs::read(p)?);
            }
            Requirements::None => h.update(b"none"),
        }
        let digest = h.finalize();
        Ok(digest.iter().take(10).map(|b| format!("{b:02x}")).collect())
    }
}

/// The `[project] dependencies` of a `pyproject.toml` (PEP 621): what pip installs for it.
pub fn pyproject_dependencies(text: &str) -> Result<Vec<String>, String> {
    let doc: toml::Table = toml::from_str(text).map_err(|e| e.to_string())?;
    let Some(project) = doc.get("project") else {
        return Ok(Vec::new());
    };
    let Some(deps) = project.get("dependencies") else {
        return Ok(Vec::new());
    };
    let Some(items) = deps.as_array() else {
        return Err("`[project] dependencies` must be an array of strings".into());
    };
    items
        .iter()
        .map(|i| {
            i.as_str()
                .map(str::to_string)
                .ok_or_else(|| "`[project] dependencies` must be an array of strings".to_string())
        })
        .collect()
}

/// `<state>/venvs`: where prepared virtualenvs are (absolute: services run in another folder).
pub fn venvs_dir(state_dir: &Path) -> PathBuf {
    let dir = state_dir.join("venvs");
    std::path::absolute(&dir).unwrap_or(dir)
}

/// The interpreter of the virtualenv `wfop prepare` made for these requirements, when it is
/// there and complete.
pub fn prepared_python(state_dir: &Path, key: &str) -> Option<PathBuf> {
    let venv = venvs_dir(state_dir).join(key);
    let python = venv.join("bin/python");
    (venv.join(READY_FILE).is_file() && python.exists()).then_some(python)
}

/// How a project node is started: which interpreter and entrypoint, and the lines that say so
/// in its log (and a warning when its requirements are not prepared).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Launch {
    pub interpreter: PathBuf,
    pub entrypoint: String,
    /// For the node's log: the entrypoint and the interpreter, and where each came from.
    pub notes: Vec<String>,
    /// Said as a warning: the project has requirements and no prepared virtualenv.
    pub warning: Option<String>,
}

/// What `launch` needs from the run.
pub struct LaunchCtx<'a> {
    /// The folder the workflow's relative paths resolve against.
    pub base_dir: &'a Path,
    /// `<state>` (`None`: no prepared virtualenvs are looked for).
    pub state_dir: Option<&'a Path>,
    /// The workflow file, for the `wfop prepare FILE` hint.
    pub workflow: &'a Path,
    /// `$ENTRYPOINT` in the services' environment.
    pub env_entrypoint: Option<&'a str>,
}

/// Resolves a project node's interpreter and entrypoint (docs/workflow-format.md).
pub fn launch(
    cx: &LaunchCtx,
    dir: &Path,
    entrypoint_written: Option<&str>,
    interpreter: Option<&str>,
) -> Launch {
    let root = std::path::absolute(cx.base_dir.join(dir)).unwrap_or_else(|_| cx.base_dir.join(dir));
    let (descriptor, _) = read_descriptor(&root);
    let (entry, source) = entrypoint(entrypoint_written, cx.env_entrypoint, descriptor.as_ref());
    let mut notes = vec![format!(
        "project {} (entrypoint {entry}, from {source})",
        root.display()
    )];
    let mut warning = None;
    let interpreter = match interpreter {
        Some(i) => {
            // A path (`.venv/bin/python`) is the workflow folder's; a bare name is PATH's.
            let i = if i.contains('/') {
                let p = cx.base_dir.join(i);
                std::path::absolute(&p).unwrap_or(p)
            } else {
                PathBuf::from(i)
            };
            notes.push(format!(
                "interpreter {} (the node's `interpreter`)",
                i.display()
            ));
            i
        }
        None => {
            let req = Requirements::of(&root);
            let key = req.venv_key().ok();
            let prepared = cx
                .state_dir
                .zip(key.as_deref())
                .and_then(|(s, k)| prepared_python(s, k));
            match (prepared, req.file_name()) {
                (Some(python), file) => {
                    notes.push(format!(
                        "interpreter {} (prepared by `wfop prepare` for {})",
                        python.display(),
                        file.unwrap_or("no requirements")
                    ));
                    python
                }
                (None, file) => {
                    notes.push(
                        "interpreter python3 (no prepared virtualenv; wfop's built-in runtime unless it has qhub-commons)"
                            .into(),
                    );
                    if let Some(file) = file.filter(|_| req.any()) {
                        warning = Some(format!(
                            "project `{}` is not prepared: its {file} is not installed, it runs with `python3`; run `wfop prepare {}` to install it with qhub-commons",
                            dir.display(),
                            cx.workflow.display()
                        ));
                    }
                    PathBuf::from("python3")
                }
            }
        }
    };
    Launch {
        interpreter,
        entrypoint: entry,
        notes,
        warning,
    }
}

#[cfg(test)]
mod tests;
