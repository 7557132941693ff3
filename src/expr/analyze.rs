//! Static facts about an expression for validation: the variables it reads from outside, its
//! `secret_value` calls, calls to unknown functions and calls with the wrong number of arguments.

use super::Error;
use super::ast::{Expr, ExprKind, PathStep, Span};

/// The built-in functions and how many arguments each takes.
pub const FUNCTIONS: &[(&str, usize)] = &[
    ("string", 1),
    ("number", 1),
    ("count", 1),
    ("is defined", 1),
    ("not", 1),
    ("secret_value", 1),
];

pub(crate) fn arity(name: &str) -> Option<usize> {
    FUNCTIONS.iter().find(|(n, _)| *n == name).map(|(_, a)| *a)
}

pub(crate) fn unknown_function_message(name: &str) -> String {
    let known: Vec<&str> = FUNCTIONS.iter().map(|(n, _)| *n).collect();
    format!(
        "unknown function `{name}`; the functions are: {}",
        known.join(", ")
    )
}

pub(crate) fn arity_message(name: &str, got: usize) -> String {
    let want = arity(name).unwrap_or(0);
    let plural = |n: usize| if n == 1 { "argument" } else { "arguments" };
    format!("`{name}` takes {want} {}, found {got}", plural(want))
}

/// What `analyze` found. All lists are in source order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Analysis {
    /// Every read of a variable from outside the expression (one entry per occurrence): the
    /// root name of a name or path (`a` for `a.b[1]`), with the span of that name. Names bound
    /// by earlier entries of an enclosing context literal are not free.
    pub free_variables: Vec<(String, Span)>,
    /// The span of every `secret_value(…)` call.
    pub secret_value_calls: Vec<Span>,
    /// Calls to functions that do not exist, with the span of the function name.
    pub unknown_calls: Vec<(String, Span)>,
    /// Calls of known functions with the wrong number of arguments (span: the whole call).
    pub call_errors: Vec<Error>,
}

impl Analysis {
    /// The distinct free variable names, in order of first use.
    pub fn free_variable_names(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for (name, _) in &self.free_variables {
            if !out.contains(&name.as_str()) {
                out.push(name);
            }
        }
        out
    }
}

/// Walks the expression once and reports what a validator needs (see [`Analysis`]).
pub fn analyze(expr: &Expr) -> Analysis {
    let mut a = Analysis::default();
    let mut bound = Vec::new();
    walk(expr, &mut bound, &mut a, 0);
    a
}

/// Recursion is bounded by the parser's depth limit; deeper hand-built trees are cut off.
fn walk(expr: &Expr, bound: &mut Vec<String>, a: &mut Analysis, depth: usize) {
    if depth > super::MAX_DEPTH {
        return;
    }
    match &expr.kind {
        ExprKind::Null | ExprKind::Bool(_) | ExprKind::Number(_) | ExprKind::String(_) => {}
        ExprKind::Name(name) => {
            if !bound.contains(name) {
                a.free_variables.push((name.clone(), expr.span));
            }
        }
        ExprKind::Path { base, steps } => {
            walk(base, bound, a, depth + 1);
            for step in steps {
                if let PathStep::Index { index, .. } = step {
                    walk(index, bound, a, depth + 1);
                }
            }
        }
        ExprKind::List(items) => {
            for item in items {
                walk(item, bound, a, depth + 1);
            }
        }
        ExprKind::Context(entries) => {
            let mark = bound.len();
            for entry in entries {
                walk(&entry.value, bound, a, depth + 1);
                bound.push(entry.key.clone());
            }
            bound.truncate(mark);
        }
        ExprKind::Neg(inner) => walk(inner, bound, a, depth + 1),
        ExprKind::Binary { first, rest } => {
            walk(first, bound, a, depth + 1);
            for operand in rest {
                walk(&operand.expr, bound, a, depth + 1);
            }
        }
        ExprKind::Call {
            name,
            name_span,
            args,
        } => {
            match arity(name) {
                None => a.unknown_calls.push((name.clone(), *name_span)),
                Some(n) if n != args.len() => a.call_errors.push(Error {
                    span: expr.span,
                    message: arity_message(name, args.len()),
                }),
                Some(_) => {}
            }
            if name == "secret_value" {
                a.secret_value_calls.push(expr.span);
            }
            for arg in args {
                walk(arg, bound, a, depth + 1);
            }
        }
    }
}
