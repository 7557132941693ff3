//! The mapping expression language, FEEL as Camunda 8 documents it: lexer, parser with spans,
//! evaluator with the builtin library, static analysis, and the `$secrets` mapping's bindings.
//!
//! One error type, [`Error`] (a span and a message), for all of them; `crate::diag` renders it.
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
mod bpmn;
mod builtins;
mod eval;
mod lexer;
mod parser;
mod secrets;
// Pure pieces: only part of their API is called by the evaluator (the rest is tested directly).
#[allow(dead_code)]
mod temporal;
#[allow(dead_code)]
mod text;
mod value;

pub use analyze::{Analysis, FUNCTIONS, Signature, analyze, signature};
pub use ast::{
    BinaryOp, ContextEntry, Expr, ExprKind, Iteration, Operand, PathStep, RangeLit, Span, TypeRef,
    UnaryTest,
};
pub use bpmn::{BPMN_ERROR_TYPE, BpmnError, bpmn_error, bpmn_error_value};
pub use secrets::{SecretBinding, secret_bindings};
pub use temporal::{IsoDurationError, timer_duration};

use crate::diag::{self, Diagnostic, SourceFile};

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

/// Most units of work (nodes evaluated, loop turns, filter tests) one evaluation may take, so
/// that `some i in 1..1000000000 satisfies false` ends with an error instead of running on.
pub const MAX_EVAL_STEPS: usize = 10_000_000;

/// What went wrong in an expression, and where: a syntax error ([`parse`]), an evaluation error
/// ([`eval`]; a missing variable is *not* one: it is `null`), or a static-check finding
/// ([`secret_bindings`], [`Analysis::call_errors`]).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    pub span: Span,
    pub message: String,
}

impl Error {
    /// The error as a diagnostic whose span is into the expression's text. A workflow maps the
    /// span into its file instead (`workflow::load`, `workflow::validate`).
    pub fn diagnostic(&self) -> Diagnostic {
        Diagnostic::error(self.span.start..self.span.end, &self.message, "here")
    }

    /// The error rendered under the expression's text (`crate::diag::render`), the expression
    /// shown as a file named `expression`. Spans past the end, or not on character
    /// boundaries, are clamped; this never panics.
    pub fn render(&self, src: &str) -> String {
        diag::render(
            &SourceFile::from_text("expression", src),
            &[self.diagnostic()],
            false,
        )
    }
}

/// Parses an expression. A leading `=` is accepted; whitespace may appear anywhere between tokens.
pub fn parse(src: &str) -> Result<Expr, Error> {
    parser::parse(src)
}

/// Evaluates an expression over the workflow variables, with FEEL semantics: a missing variable
/// or key is `null`. An expression that contains `secret_value(…)` is an error: only the
/// `$secrets` mapping may use it, and that mapping is read with [`secret_bindings`].
pub fn eval(
    expr: &Expr,
    vars: &serde_json::Map<String, serde_json::Value>,
) -> Result<serde_json::Value, Error> {
    eval::eval(expr, &[vars], MAX_EVAL_BUDGET)
}

/// [`eval`] over layers of variables instead of one map: a name is looked up in `layers` in
/// order, the first that has it wins (a mapping's earlier rows over the workflow variables,
/// without copying the variables into one scope).
pub fn eval_layered(
    expr: &Expr,
    layers: &[&serde_json::Map<String, serde_json::Value>],
) -> Result<serde_json::Value, Error> {
    eval::eval(expr, layers, MAX_EVAL_BUDGET)
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_feel;
