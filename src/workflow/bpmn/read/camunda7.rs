//! Recognises a Camunda 7 file (`camunda:` extensions, JUEL `${…}` expressions, the modeler's
//! "Camunda Platform"): one clear message for the whole file instead of one per expression (a
//! run-only error: the file is still read and drawn).

use roxmltree::Node;

use super::super::{BPMN_NS, CAMUNDA7_NS, MODELER_NS};
use super::xml;
use crate::diag::Diagnostic;
use crate::workflow::json::Span;

/// The message when the file is a Camunda 7 file, at the first place that shows it (it stops a
/// run, not `graph`).
pub fn check(text: &str, root: Node) -> Option<Diagnostic> {
    let (span, why) = evidence(text, root)?;
    Some(
        Diagnostic::error(
            span,
            format!("this is a Camunda 7 BPMN file ({why}); wfop runs Camunda 8 (Zeebe) files, whose extensions are `zeebe:` and whose expressions are FEEL"),
            "Camunda 7",
        )
        .with_note("migrate the file to Camunda 8 (the Camunda Modeler's migration or the Migration Analyzer converts most of it), then run that file")
        .run_only(),
    )
}

/// Where the file first shows it is a Camunda 7 file, and what shows it.
fn evidence(text: &str, root: Node) -> Option<(Span, &'static str)> {
    if let Some(a) = root.attribute_node((MODELER_NS, "executionPlatform"))
        && a.value().trim().starts_with("Camunda Platform")
    {
        return Some((a.range(), "its execution platform is Camunda Platform 7"));
    }
    for node in root.descendants().filter(|n| n.is_element()) {
        if xml::in_ns(node, CAMUNDA7_NS) {
            return Some((
                xml::tag_span(text, node),
                "it uses `camunda:` extension elements",
            ));
        }
        if let Some(a) = node
            .attributes()
            .find(|a| a.namespace() == Some(CAMUNDA7_NS))
        {
            return Some((a.range(), "it uses `camunda:` attributes"));
        }
        if node.tag_name().namespace() == Some(BPMN_NS)
            && matches!(
                node.tag_name().name(),
                "conditionExpression" | "timeDuration" | "timeDate" | "timeCycle"
            )
            && let Some(t) = node.text()
            && (t.trim_start().starts_with("${") || t.trim_start().starts_with("#{"))
        {
            return Some((xml::tag_span(text, node), "its expressions are JUEL `${…}`"));
        }
    }
    None
}
