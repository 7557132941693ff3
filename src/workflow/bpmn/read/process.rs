//! Which process of a BPMN file is read: the one `--process` names, else the file's one
//! executable process (a collaboration's one participant with a process); several → an error
//! naming them.

use roxmltree::Node;

use super::super::BPMN_NS;
use super::{Cx, xml};

/// The chosen `process` element, or `None` with the error said.
pub fn choose<'a, 'i>(
    cx: &mut Cx,
    root: Node<'a, 'i>,
    wanted: Option<&str>,
) -> Option<Node<'a, 'i>> {
    let processes: Vec<Node> = xml::children(root, BPMN_NS, "process").collect();
    let ids: Vec<&str> = processes
        .iter()
        .map(|p| p.attribute("id").unwrap_or_default())
        .collect();
    if let Some(want) = wanted {
        if let Some(p) = processes.iter().find(|p| p.attribute("id") == Some(want)) {
            return Some(*p);
        }
        let hint = crate::diag::suggestion(want, ids.iter().copied());
        cx.error(
            cx.tag(root),
            format!(
                "--process {want}: the file has no process with this id{hint} (its processes: {})",
                list(&ids)
            ),
            "no such process",
        );
        return None;
    }
    // A collaboration's participants name the processes drawn as pools; a pool without a
    // process (a black box) has none.
    let referenced: Vec<&str> = xml::children(root, BPMN_NS, "collaboration")
        .flat_map(|c| xml::children(c, BPMN_NS, "participant"))
        .filter_map(|p| p.attribute("processRef"))
        .collect();
    let mut candidates: Vec<Node> = processes
        .iter()
        .copied()
        .filter(|p| {
            referenced.is_empty() || referenced.contains(&p.attribute("id").unwrap_or_default())
        })
        .collect();
    let executable: Vec<Node> = candidates
        .iter()
        .copied()
        .filter(|p| p.attribute("isExecutable") == Some("true"))
        .collect();
    if !executable.is_empty() {
        candidates = executable;
    }
    match candidates.as_slice() {
        [] => {
            cx.error(
                cx.tag(root),
                "the file has no `process` element: nothing to run",
                "no process",
            );
            None
        }
        [one] => Some(*one),
        several => {
            let names: Vec<&str> = several
                .iter()
                .map(|p| p.attribute("id").unwrap_or_default())
                .collect();
            let mut d = crate::diag::Diagnostic::error(
                cx.tag(several[1]),
                format!(
                    "the file has {} executable processes ({}); choose one with --process ID",
                    several.len(),
                    list(&names)
                ),
                "another process",
            );
            d = d.with_secondary(cx.tag(several[0]), "the first process");
            cx.diags.push(d);
            None
        }
    }
}

fn list(ids: &[&str]) -> String {
    ids.iter()
        .map(|i| format!("`{i}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
