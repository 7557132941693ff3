//! The mapping expression language (a FEEL subset): lexer, parser with spans, evaluator,
//! static analysis for validation, and the `$secrets` mapping's `secret_value` bindings.
//!
//! ```
//! use serde_json::{json, Map, Value};
//! let expr = wfop::expr::parse("= { total: a + 1, name: \"x\" + b.c }").unwrap();
//! let vars: Map<String, Value> = json!({ "a": 41, "b": { "c": "y" } })
//!     .as_object().cloned().unwrap();
//! assert_eq!(wfop::expr::eval(&expr, &vars).unwrap(), json!({ "total": 42, "name": "xy" }));
//! ```
//!
//! The user-facing description is `docs/expressions.md`.

mod analyze;
mod ast;
mod eval;
mod lexer;
mod parser;
mod secrets;

pub use analyze::{Analysis, FUNCTIONS, analyze};
pub use ast::{BinaryOp, ContextEntry, Expr, ExprKind, Operand, PathStep, Span};
pub use secrets::{SecretBinding, secret_bindings};

/// Longest accepted expression text, in bytes.
pub const MAX_SOURCE_LEN: usize = 64 * 1024;

/// Deepest accepted nesting (of brackets, calls, unary minus, and of the syntax tree itself).
/// Chosen so that parsing and evaluating at the limit fit well inside a 2 MiB thread stack
/// even in debug builds (about 8 KiB of stack per level there).
pub const MAX_DEPTH: usize = 100;

/// Deepest list / context value an evaluation may build (serde_json's own parsing limit, so a
/// result can always be read back).
pub const MAX_VALUE_DEPTH: usize = 128;

/// Most memory (roughly, in bytes) an evaluation may spend building new values. Passing a
/// variable through unchanged costs nothing; copying it into a new list or context costs its size.
pub const MAX_EVAL_BUDGET: usize = 64 * 1024 * 1024;

/// A syntax error: where, and what was expected there.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    pub span: Span,
    pub message: String,
}

/// An evaluation error (a missing variable is *not* one: it is `null`).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct EvalError {
    pub span: Span,
    pub message: String,
}

/// A problem found by a static check (`secret_bindings`, `Analysis::call_errors`).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct SpannedError {
    pub span: Span,
    pub message: String,
}

/// Parses an expression. A leading `=` is accepted; whitespace may appear anywhere between tokens.
pub fn parse(src: &str) -> Result<Expr, ParseError> {
    parser::parse(src)
}

/// Evaluates an expression over the workflow variables, with FEEL semantics: a missing variable
/// or key is `null`. An expression that contains `secret_value(…)` is an error: only the
/// `$secrets` mapping may use it, and that mapping is read with [`secret_bindings`].
pub fn eval(
    expr: &Expr,
    vars: &serde_json::Map<String, serde_json::Value>,
) -> Result<serde_json::Value, EvalError> {
    eval::eval(expr, &[vars], MAX_EVAL_BUDGET)
}

/// [`eval`] over layers of variables instead of one map: a name is looked up in `layers` in
/// order, the first that has it wins (a mapping's earlier rows over the workflow variables,
/// without copying the variables into one scope).
pub fn eval_layered(
    expr: &Expr,
    layers: &[&serde_json::Map<String, serde_json::Value>],
) -> Result<serde_json::Value, EvalError> {
    eval::eval(expr, layers, MAX_EVAL_BUDGET)
}

/// Renders a one-line caret diagnostic for `span` in `src`:
///
/// ```text
/// a + * b
///     ^ expected an expression after `+`, found `*`
/// ```
///
/// Spans past the end, or not on character boundaries, are clamped; this never panics.
pub fn render_diagnostic(src: &str, span: Span, message: &str) -> String {
    let mut start = span.start.min(src.len());
    while !src.is_char_boundary(start) {
        start -= 1;
    }
    let line_start = src[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = src[start..].find('\n').map_or(src.len(), |i| start + i);
    let line = &src[line_start..line_end];
    let col = src[line_start..start].chars().count();
    let end = span.end.clamp(start, line_end);
    let width = src.get(start..end).map_or(1, |s| s.chars().count().max(1));
    format!("{line}\n{}{} {message}", " ".repeat(col), "^".repeat(width))
}

macro_rules! impl_render {
    ($t:ty) => {
        impl $t {
            /// The error as a caret diagnostic under the offending source line.
            pub fn render(&self, src: &str) -> String {
                render_diagnostic(src, self.span, &self.message)
            }
        }
    };
}
impl_render!(ParseError);
impl_render!(EvalError);
impl_render!(SpannedError);

#[cfg(test)]
mod tests;
