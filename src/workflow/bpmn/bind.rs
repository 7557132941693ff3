//! Binding files (`FLOW.services.json`): which wfop `run` each BPMN service task gets, keyed by
//! task id or task type (the id wins). Also the skeleton `wfop bind` writes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::diag::{Diagnostic, SourceFile, did_you_mean};
use crate::workflow::json::{self, Member, Node as JNode, Value};
use crate::workflow::load::{base_dir_of, binding_spec};
use crate::workflow::{NodeKind, Related, Workflow};

/// `FLOW.services.json` beside `FLOW.bpmn`.
pub fn default_path(bpmn: &Path) -> PathBuf {
    bpmn.with_extension("services.json")
}

/// Gives each service task of `wf` its `run` (and `timeout`) from the binding file; an unbound
/// task is a `run_only` error in `diagnostics` (the BPMN file's) naming the binding to add.
/// Returns the binding file's own findings. Sets `wf.base_dir` to the binding file's folder
/// (relative paths in it resolve there) and `wf.bpmn.services`.
pub fn bind(
    wf: &mut Workflow,
    services: Option<&Path>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<Related> {
    let Some(path) = services else {
        unbound(wf, None, diagnostics);
        return Vec::new();
    };
    let source = match SourceFile::read(path) {
        Ok(s) => s,
        Err(e) => {
            diagnostics.push(
                Diagnostic::error(
                    0..0,
                    format!("cannot read the binding file: {e}"),
                    "its service tasks are bound there",
                )
                .run_only(),
            );
            unbound(wf, None, diagnostics);
            return Vec::new();
        }
    };
    let mut found = Vec::new();
    match json::parse(&source.text) {
        Ok(root) => bind_entries(wf, &source, &root, diagnostics, &mut found),
        Err(e) => {
            found.push(Diagnostic::error(
                e.span,
                format!("invalid JSON: {}", e.message),
                "here",
            ));
            unbound(wf, Some(&source.name), diagnostics);
        }
    }
    vec![(source, found)]
}

/// Binds from a parsed object of entries (a binding file's root, or the `"services"` of a JSON
/// workflow that names a BPMN file): `file` is the file the object is in. Findings about the
/// entries go to `found`, unbound tasks to `diagnostics`.
pub(crate) fn bind_entries(
    wf: &mut Workflow,
    file: &SourceFile,
    root: &JNode,
    diagnostics: &mut Vec<Diagnostic>,
    found: &mut Vec<Diagnostic>,
) {
    let base_dir = base_dir_of(&file.path);
    let Value::Object(members) = &root.value else {
        found.push(Diagnostic::error(
            root.span.clone(),
            format!(
                "a binding file must be an object of task id or task type → how to run it, found {}",
                root.value.kind()
            ),
            "expected { \"task-type\": { \"command\": [...] }, … }",
        ));
        unbound(wf, Some(&file.name), diagnostics);
        return;
    };
    let mut entries: BTreeMap<&str, &Member> = BTreeMap::new();
    for m in members {
        if let Some(first) = entries.get(m.key.text.as_str()) {
            found.push(
                Diagnostic::error(
                    m.key.span.clone(),
                    format!("duplicate binding `{}`", m.key.text),
                    "duplicate",
                )
                .with_secondary(first.key.span.clone(), "first bound here"),
            );
            continue;
        }
        entries.insert(&m.key.text, m);
    }
    let mut used: Vec<&str> = Vec::new();
    let mut bound: Vec<String> = Vec::new();
    for node in wf.nodes.iter_mut().filter(|n| is_task(n)) {
        let key = [Some(node.id.as_str()), node.task_type.as_deref()]
            .into_iter()
            .flatten()
            .find(|k| entries.contains_key(k));
        let Some(key) = key else { continue };
        let member = entries[key];
        used.push(member.key.text.as_str());
        // Bound, rightly or not: a wrong entry is the binding file's finding, not "unbound".
        bound.push(node.id.clone());
        let (spec, mut d) = binding_spec(&member.value, &base_dir);
        found.append(&mut d);
        let Some(spec) = spec else { continue };
        if let Some((params, span)) = &spec.secrets {
            check_secrets(node, key, params, span, found);
        }
        node.run = spec.run;
        if spec.timeout.is_some() {
            node.timeout = spec.timeout;
        }
    }
    let tasks: Vec<String> = wf
        .nodes
        .iter()
        .filter(|n| is_task(n))
        .flat_map(|n| std::iter::once(n.id.clone()).chain(n.task_type.clone()))
        .collect();
    for m in members {
        if !used.contains(&m.key.text.as_str()) && entries.contains_key(m.key.text.as_str()) {
            let hint = did_you_mean(&m.key.text, tasks.iter().map(String::as_str))
                .map(|c| format!("; did you mean `{c}`?"))
                .unwrap_or_default();
            found.push(
                Diagnostic::warning(
                    m.key.span.clone(),
                    format!(
                        "no service task has the id or task type `{}`{hint}",
                        m.key.text
                    ),
                    "binds nothing",
                )
                .with_note(format!("task types and ids: {}", tasks.join(", "))),
            );
        }
    }
    wf.base_dir = base_dir;
    if let Some(origin) = &mut wf.bpmn {
        origin.services = Some(file.path.clone());
    }
    unbound_but(wf, Some(&file.name), &bound, diagnostics);
}

/// A service task wfop runs (not one it reports as unsupported).
fn is_task(node: &crate::workflow::Node) -> bool {
    node.kind == NodeKind::Service && node.unsupported.is_none()
}

/// The binding's `secrets` must be the parameters the task's `$secrets` row binds.
fn check_secrets(
    node: &crate::workflow::Node,
    key: &str,
    params: &[(String, json::Span)],
    span: &json::Span,
    found: &mut Vec<Diagnostic>,
) {
    let bound: Vec<&str> = node
        .bound_secrets()
        .iter()
        .map(|b| b.param.as_str())
        .collect();
    for (p, s) in params {
        if !bound.contains(&p.as_str()) {
            found.push(
                Diagnostic::error(
                    s.clone(),
                    format!(
                        "binding `{key}` expects the secret parameter `{p}`, but task `{}` binds no such parameter in its `$secrets` row",
                        node.id
                    ),
                    "not bound by the task",
                )
                .with_note(if bound.is_empty() {
                    "the task binds no secrets".to_string()
                } else {
                    format!("the task binds: {}", bound.join(", "))
                }),
            );
        }
    }
    let missing: Vec<&str> = bound
        .iter()
        .copied()
        .filter(|b| !params.iter().any(|(p, _)| p == b))
        .collect();
    if !missing.is_empty() {
        found.push(Diagnostic::warning(
            span.clone(),
            format!(
                "task `{}` binds the secret parameters {} that binding `{key}` does not list",
                node.id,
                missing.join(", ")
            ),
            "incomplete",
        ));
    }
}

/// Reports every service task still without a `run`.
fn unbound(wf: &Workflow, services: Option<&str>, diagnostics: &mut Vec<Diagnostic>) {
    unbound_but(wf, services, &[], diagnostics);
}

/// Reports every service task still without a `run`, but those in `bound` (their entry has
/// errors of its own).
fn unbound_but(
    wf: &Workflow,
    services: Option<&str>,
    bound: &[String],
    diagnostics: &mut Vec<Diagnostic>,
) {
    let file = match services {
        Some(name) => format!("the binding file {name}"),
        None => {
            let default = default_path(&wf.path);
            let name = default.file_name().map_or_else(
                || "FLOW.services.json".to_string(),
                |n| n.to_string_lossy().into_owned(),
            );
            format!("a binding file {name} beside it (or --services FILE)")
        }
    };
    for node in wf
        .nodes
        .iter()
        .filter(|n| is_task(n) && n.run.is_none() && !bound.contains(&n.id))
    {
        let key = node.task_type.as_deref().unwrap_or(&node.id);
        let what = match &node.task_type {
            Some(t) => format!("service task `{}` (task type `{t}`)", node.id),
            None => format!("service task `{}`", node.id),
        };
        diagnostics.push(
            Diagnostic::error(
                node.id_span.clone(),
                format!("{what} is not bound to anything to run"),
                "no binding",
            )
            .with_note(format!(
                "add to {file}: {}: {}",
                json_str(key),
                skeleton_entry(key)
            ))
            .with_note(
                "`wfop bind FILE.bpmn` writes a binding file with one entry per task type"
                    .to_string(),
            )
            .run_only(),
        );
    }
}

/// A JSON string literal.
fn json_str(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

/// The entry `wfop bind` writes for a task type: a Python service file to write.
fn skeleton_entry(key: &str) -> String {
    format!(
        "{{ \"python\": {}, \"function\": \"run\" }}",
        json_str(&format!("services/{}.py", slug(key)))
    )
}

/// A file name for a task type: `io.camunda:http-json:1` → `io_camunda_http_json_1`.
fn slug(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for c in key.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    let out = out.trim_matches('_').to_string();
    if out.is_empty() {
        "service".to_string()
    } else {
        out
    }
}

/// The skeleton binding file for a workflow's service tasks: one entry per task type (the task
/// id for a task without one), in the order the tasks come, each naming a Python module to
/// write (`services/<type>.py`). `check` says which are missing.
pub fn skeleton(wf: &Workflow) -> String {
    let mut keys: Vec<&str> = Vec::new();
    for node in wf.nodes.iter().filter(|n| is_task(n)) {
        let key = node.task_type.as_deref().unwrap_or(&node.id);
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    if keys.is_empty() {
        return "{}\n".to_string();
    }
    let lines: Vec<String> = keys
        .iter()
        .map(|k| format!("  {}: {}", json_str(k), skeleton_entry(k)))
        .collect();
    format!("{{\n{}\n}}\n", lines.join(",\n"))
}

#[cfg(test)]
mod tests {
    use super::slug;

    #[test]
    fn slugs_are_file_names() {
        assert_eq!(slug("io.camunda:http-json:1"), "io_camunda_http_json_1");
        assert_eq!(slug("task-a"), "task_a");
        assert_eq!(slug("::"), "service");
        assert_eq!(slug("Ü-x"), "x");
    }
}
