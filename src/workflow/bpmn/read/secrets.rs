//! The workflow secrets a BPMN file declares: every `secret_value("name")` in any of its
//! expressions names one (described by the documentation of the element using it), so the
//! masked prompt asks for it by name as it does for a JSON workflow's `secrets`; the process's
//! `wfop.secret.NAME` properties declare secrets too (their descriptions win).

use crate::diag::is_identifier;
use crate::expr::{self, ExprKind};
use crate::workflow::json::Str;
use crate::workflow::model::{Decl, Edge, Expression, MappingRow, Node};

/// The secrets the process's properties declare (`properties`, first), then those named by
/// `secret_value` calls that are not among them, in file order of first use.
pub fn declared(properties: Vec<Decl>, nodes: &[Node], edges: &[Edge]) -> Vec<Decl> {
    let mut out: Vec<Decl> = properties;
    for node in nodes {
        let errors = node
            .errors
            .iter()
            .flat_map(|p| p.output_mapping.iter().flatten());
        let rows = node
            .input_mapping
            .iter()
            .flatten()
            .chain(node.output_mapping.iter().flatten())
            .chain(errors);
        let headers = [&node.result_expression, &node.error_expression]
            .into_iter()
            .flatten();
        let texts = rows
            .filter_map(row_parts)
            .chain(headers.filter_map(expression_parts));
        for (value, e) in texts {
            for (name, span) in names(value, e) {
                if !out.iter().any(|d| d.name == name) {
                    out.push(Decl {
                        name,
                        description: node.description.clone(),
                        span,
                    });
                }
            }
        }
    }
    for e in edges {
        if let Some((value, ex)) = e.condition.as_ref().and_then(expression_parts) {
            for (name, span) in names(value, ex) {
                if !out.iter().any(|d| d.name == name) {
                    out.push(Decl {
                        name,
                        description: None,
                        span,
                    });
                }
            }
        }
    }
    out
}

fn row_parts(r: &MappingRow) -> Option<(&Str, &expr::Expr)> {
    Some((&r.value, r.expr.as_ref()?))
}

fn expression_parts(e: &Expression) -> Option<(&Str, &expr::Expr)> {
    Some((&e.value, e.expr.as_ref()?))
}

/// The secret names of the `secret_value("…")` calls in one expression, with their spans in
/// the file: each call's text is parsed on its own and its one string literal read.
fn names(value: &Str, e: &expr::Expr) -> Vec<(String, std::ops::Range<usize>)> {
    let mut out = Vec::new();
    for call in expr::analyze(e).secret_value_calls {
        let Some(text) = value.text.get(call.start..call.end) else {
            continue;
        };
        let Ok(parsed) = expr::parse(text) else {
            continue;
        };
        let ExprKind::Call { args, .. } = &parsed.kind else {
            continue;
        };
        if let [arg] = args.as_slice()
            && let ExprKind::String(name) = &arg.kind
            && is_identifier(name)
        {
            let at = call.start + arg.span.start;
            out.push((name.clone(), value.file_span(at..call.start + arg.span.end)));
        }
    }
    out
}
