//! The binding file that goes with an export: each service task's `run`, keyed by task type
//! when every task of that type runs the same thing, else by task id; relative paths rewritten
//! for the binding file's folder.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

use crate::human::{self, Form};
use crate::workflow::{HubAuth, Node, NodeKind, Run, Workflow};

/// The binding file (a JSON object, see docs/bpmn.md) for [`super::export`]'s BPMN, to be
/// written as `file`: relative paths of the workflow (`python` modules, `cwd`)
/// are rewritten to mean the same from its folder. A service's timeout and retries are in the BPMN
/// itself (`wfop.` properties), and its secret parameters are its `$secrets` row's keys.
pub fn bindings(wf: &Workflow, file: &Path) -> String {
    let services: Vec<&Node> = wf
        .nodes
        .iter()
        .filter(|n| n.kind == NodeKind::Service)
        .collect();
    let type_of = |n: &Node| n.task_type.clone().unwrap_or_else(|| n.id.clone());
    // The services by type, types in order of first use.
    let mut order: Vec<String> = Vec::new();
    let mut groups: HashMap<String, Vec<&Node>> = HashMap::new();
    for n in &services {
        let key = type_of(n);
        if !groups.contains_key(&key) {
            order.push(key.clone());
        }
        groups.entry(key).or_default().push(n);
    }
    let type_of_id: HashMap<&str, String> = services
        .iter()
        .map(|n| (n.id.as_str(), type_of(n)))
        .collect();
    let mut entries: Vec<(String, &Run)> = Vec::new();
    for key in order {
        let group = &groups[&key];
        let runs: Vec<&Run> = group.iter().filter_map(|m| m.run.as_ref()).collect();
        // A key by type is read for every task of the type, unless a task elsewhere has that
        // id (an id wins over a type).
        let one = runs.len() == group.len()
            && runs.windows(2).all(|w| w[0] == w[1])
            && type_of_id.get(key.as_str()).is_none_or(|t| *t == key);
        match runs.first() {
            Some(run) if one => entries.push((key, run)),
            _ => entries.extend(
                group
                    .iter()
                    .filter_map(|m| Some((m.id.clone(), m.run.as_ref()?))),
            ),
        }
    }
    let base = absolute(&wf.base_dir);
    let dir = absolute(&crate::workflow::load::base_dir_of(file));
    let mut out = String::from("{");
    for (i, (key, run)) in entries.iter().enumerate() {
        out.push_str(if i == 0 { "\n  " } else { ",\n  " });
        out.push_str(&json(key));
        out.push_str(": ");
        out.push_str(&run_spec(run, &base, &dir));
    }
    out.push_str(if entries.is_empty() { "}\n" } else { "\n}\n" });
    out
}

/// A JSON string.
fn json(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

/// A `run` spec as one JSON object, in the order a JSON workflow writes its fields.
fn run_spec(run: &Run, base: &Path, dir: &Path) -> String {
    let mut fields: Vec<(&str, String)> = Vec::new();
    match run {
        Run::Command { argv, cwd, env } => {
            let argv: Vec<String> = argv.iter().map(|a| json(a)).collect();
            fields.push(("command", format!("[{}]", argv.join(", "))));
            if let Some(cwd) = cwd {
                fields.push(("cwd", json(&path_text(&rebase(cwd, base, dir)))));
            }
            if !env.is_empty() {
                let vars: Vec<String> = env
                    .iter()
                    .map(|(k, v)| format!("{}: {}", json(k), json(v)))
                    .collect();
                fields.push(("env", format!("{{ {} }}", vars.join(", "))));
            }
        }
        Run::Python {
            module,
            function,
            interpreter,
        } => {
            fields.push(("python", json(&path_text(&rebase(module, base, dir)))));
            fields.push(("function", json(function)));
            if let Some(i) = interpreter {
                fields.push(("interpreter", json(i)));
            }
        }
        Run::Project {
            dir: project,
            entrypoint,
            interpreter,
        } => {
            fields.push(("project", json(&path_text(&rebase(project, base, dir)))));
            if let Some(e) = entrypoint {
                fields.push(("entrypoint", json(e)));
            }
            if let Some(i) = interpreter {
                fields.push(("interpreter", json(i)));
            }
        }
        Run::Hub(hub) => {
            fields.push(("hub", json(&hub.url)));
            let auth: Vec<String> = match &hub.auth {
                HubAuth::None => Vec::new(),
                HubAuth::Bearer { token } => vec![format!("\"token\": {}", json(token))],
                HubAuth::ClientCredentials {
                    access_key_id,
                    secret_access_key,
                } => vec![
                    format!("\"access_key_id\": {}", json(access_key_id)),
                    format!("\"secret_access_key\": {}", json(secret_access_key)),
                ],
            };
            if !auth.is_empty() {
                fields.push(("auth", format!("{{ {} }}", auth.join(", "))));
            }
            if let Some(t) = &hub.token_url {
                fields.push(("token_url", json(t)));
            }
            if let Some(p) = hub.poll {
                fields.push(("poll", json(&human::duration(p, Form::Exact))));
            }
        }
    }
    let fields: Vec<String> = fields
        .into_iter()
        .map(|(k, v)| format!("\"{k}\": {v}"))
        .collect();
    format!("{{ {} }}", fields.join(", "))
}

fn path_text(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// `path` (relative to `base`) made relative to `dir` instead; as it is when the folders are
/// the same or it is absolute.
fn rebase(path: &Path, base: &Path, dir: &Path) -> PathBuf {
    if path.is_absolute() || base == dir {
        return path.to_path_buf();
    }
    relative(&normalize(&base.join(path)), &normalize(dir))
}

fn absolute(p: &Path) -> PathBuf {
    normalize(&std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf()))
}

/// `.` and `..` resolved lexically (no file is looked at).
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            c => out.push(c.as_os_str()),
        }
    }
    out
}

/// `target` as a path relative to `from` (both absolute and normalized); absolute when they
/// share no folder but the root.
fn relative(target: &Path, from: &Path) -> PathBuf {
    let t: Vec<Component> = target.components().collect();
    let f: Vec<Component> = from.components().collect();
    let common = t.iter().zip(&f).take_while(|(a, b)| a == b).count();
    let shared_folder = t[..common]
        .iter()
        .any(|c| matches!(c, Component::Normal(_)));
    if !shared_folder {
        return target.to_path_buf();
    }
    let mut out = PathBuf::new();
    for _ in common..f.len() {
        out.push("..");
    }
    for c in &t[common..] {
        out.push(c.as_os_str());
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_move_to_the_binding_files_folder() {
        let base = Path::new("/w/flows");
        assert_eq!(
            rebase(Path::new("services/a.py"), base, base),
            Path::new("services/a.py")
        );
        assert_eq!(
            rebase(Path::new("services/a.py"), base, Path::new("/w/out")),
            Path::new("../flows/services/a.py")
        );
        assert_eq!(
            rebase(Path::new("."), base, Path::new("/w/flows/sub")),
            Path::new("..")
        );
        assert_eq!(
            rebase(Path::new("../x"), base, Path::new("/w")),
            Path::new("x")
        );
        assert_eq!(
            rebase(Path::new("/abs/m.py"), base, Path::new("/w")),
            Path::new("/abs/m.py")
        );
        assert_eq!(relative(Path::new("/w"), Path::new("/w")), Path::new("."));
        assert_eq!(
            rebase(Path::new("a.py"), base, Path::new("/tmp")),
            Path::new("/w/flows/a.py")
        );
    }
}
