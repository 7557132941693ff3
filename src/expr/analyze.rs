//! The builtin functions' signatures, argument ordering (named and positional), and static
//! facts about an expression for validation: free variables, `secret_value` calls, bad calls.

use super::Error;
use super::ast::{Expr, ExprKind, PathStep, Span, UnaryTest};

/// How a builtin is called: its parameter names in order, how many are required, and whether
/// it takes any number of further arguments (`min(1, 2, 3)`, `concatenate(a, b, c)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Signature {
    pub params: &'static [&'static str],
    pub required: usize,
    pub variadic: bool,
}

const fn sig(params: &'static [&'static str], required: usize) -> Signature {
    Signature {
        params,
        required,
        variadic: false,
    }
}

const fn var(params: &'static [&'static str], required: usize) -> Signature {
    Signature {
        params,
        required,
        variadic: true,
    }
}

const LIST: &[&str] = &["list"];
const STRING: &[&str] = &["string"];
const STRING_MATCH: &[&str] = &["string", "match"];
const NUMBER: &[&str] = &["number"];
const N_SCALE: &[&str] = &["n", "scale"];
const DATE: &[&str] = &["date"];

/// Every builtin function and its signature. `wfop check` and the evaluator both read this
/// table; a call of anything else is an unknown function.
pub const FUNCTIONS: &[(&str, Signature)] = &[
    // conversion, boolean, context
    ("not", sig(&["negand"], 1)),
    ("is defined", sig(&["value"], 1)),
    ("string", sig(&["from"], 1)),
    (
        "number",
        sig(&["from", "grouping separator", "decimal separator"], 1),
    ),
    ("get or else", sig(&["value", "default"], 2)),
    ("get value", sig(&["m", "key"], 2)),
    ("get entries", sig(&["m"], 1)),
    ("context", sig(&["entries"], 1)),
    ("context put", sig(&["context", "key", "value"], 3)),
    ("context merge", sig(&["contexts"], 1)),
    ("bpmnError", sig(&["code", "message", "variables"], 2)),
    ("secret_value", sig(&["name"], 1)),
    // string
    ("substring", sig(&["string", "start position", "length"], 2)),
    ("string length", sig(STRING, 1)),
    ("upper case", sig(STRING, 1)),
    ("lower case", sig(STRING, 1)),
    ("substring before", sig(STRING_MATCH, 2)),
    ("substring after", sig(STRING_MATCH, 2)),
    ("contains", sig(STRING_MATCH, 2)),
    ("starts with", sig(STRING_MATCH, 2)),
    ("ends with", sig(STRING_MATCH, 2)),
    ("matches", sig(&["input", "pattern", "flags"], 2)),
    (
        "replace",
        sig(&["input", "pattern", "replacement", "flags"], 3),
    ),
    ("split", sig(&["string", "delimiter"], 2)),
    ("extract", sig(&["string", "pattern"], 2)),
    (
        "string join",
        sig(&["list", "delimiter", "prefix", "suffix"], 1),
    ),
    ("trim", sig(STRING, 1)),
    ("is blank", sig(STRING, 1)),
    // list
    ("list contains", sig(&["list", "element"], 2)),
    ("count", sig(LIST, 1)),
    ("min", var(LIST, 1)),
    ("max", var(LIST, 1)),
    ("sum", var(LIST, 1)),
    ("product", var(LIST, 1)),
    ("mean", var(LIST, 1)),
    ("median", var(LIST, 1)),
    ("stddev", var(LIST, 1)),
    ("mode", var(LIST, 1)),
    ("all", var(LIST, 1)),
    ("any", var(LIST, 1)),
    ("sublist", sig(&["list", "start position", "length"], 2)),
    ("append", var(&["list", "item"], 1)),
    ("concatenate", var(&["list"], 0)),
    ("insert before", sig(&["list", "position", "newItem"], 3)),
    ("remove", sig(&["list", "position"], 2)),
    ("reverse", sig(LIST, 1)),
    ("index of", sig(&["list", "match"], 2)),
    ("union", var(&["list"], 0)),
    ("distinct values", sig(LIST, 1)),
    ("duplicate values", sig(LIST, 1)),
    ("flatten", sig(LIST, 1)),
    ("sort", sig(&["list", "precedes"], 1)),
    ("is empty", sig(LIST, 1)),
    ("partition", sig(&["list", "size"], 2)),
    // numeric
    ("decimal", sig(N_SCALE, 2)),
    ("floor", sig(N_SCALE, 1)),
    ("ceiling", sig(N_SCALE, 1)),
    ("round up", sig(N_SCALE, 1)),
    ("round down", sig(N_SCALE, 1)),
    ("round half up", sig(N_SCALE, 1)),
    ("round half down", sig(N_SCALE, 1)),
    ("abs", sig(&["n"], 1)),
    ("modulo", sig(&["dividend", "divisor"], 2)),
    ("sqrt", sig(NUMBER, 1)),
    ("log", sig(NUMBER, 1)),
    ("exp", sig(NUMBER, 1)),
    ("odd", sig(NUMBER, 1)),
    ("even", sig(NUMBER, 1)),
    // temporal
    ("date", sig(&["from", "month", "day"], 1)),
    ("time", sig(&["from", "minute", "second", "offset"], 1)),
    ("date and time", sig(&["from", "time"], 1)),
    ("duration", sig(&["from"], 1)),
    ("years and months duration", sig(&["from", "to"], 2)),
    ("now", sig(&[], 0)),
    ("today", sig(&[], 0)),
    ("day of week", sig(DATE, 1)),
    ("day of year", sig(DATE, 1)),
    ("week of year", sig(DATE, 1)),
    ("month of year", sig(DATE, 1)),
    ("last day of month", sig(DATE, 1)),
];

/// The signature of a builtin, `None` if there is no such function.
pub fn signature(name: &str) -> Option<Signature> {
    FUNCTIONS.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
}

pub(crate) fn unknown_function_message(name: &str) -> String {
    format!("unknown function `{name}` (docs/expressions.md lists the functions)")
}

fn arity_message(name: &str, s: Signature, got: usize) -> String {
    let plural = |n: usize| if n == 1 { "argument" } else { "arguments" };
    let max = s.params.len();
    let want = if s.variadic {
        format!("at least {} {}", s.required, plural(s.required))
    } else if s.required == max {
        format!("{max} {}", plural(max))
    } else {
        format!("{} to {max} arguments", s.required)
    };
    format!("`{name}` takes {want}, found {got}")
}

/// The arguments of a call in parameter order (`None`: an optional one not given). Named
/// arguments are matched by parameter name; wrong counts and unknown names are errors.
pub(crate) fn order_arguments<'e>(
    name: &str,
    s: Signature,
    args: &'e [Expr],
    arg_names: &[(String, Span)],
    span: Span,
) -> Result<Vec<Option<&'e Expr>>, Error> {
    let err = |span: Span, message: String| Error { span, message };
    if arg_names.is_empty() {
        if args.len() < s.required || (!s.variadic && args.len() > s.params.len()) {
            return Err(err(span, arity_message(name, s, args.len())));
        }
        let mut out: Vec<Option<&Expr>> = args.iter().map(Some).collect();
        while out.len() < s.params.len() {
            out.push(None);
        }
        return Ok(out);
    }
    let mut out: Vec<Option<&Expr>> = vec![None; s.params.len()];
    for ((arg_name, name_span), arg) in arg_names.iter().zip(args) {
        let Some(i) = s.params.iter().position(|p| p == arg_name) else {
            return Err(err(
                *name_span,
                format!(
                    "`{name}` has no parameter `{arg_name}`; its parameters are: {}",
                    s.params.join(", ")
                ),
            ));
        };
        if out[i].is_some() {
            return Err(err(
                *name_span,
                format!("the argument `{arg_name}` is given twice"),
            ));
        }
        out[i] = Some(arg);
    }
    if let Some(missing) = (0..s.required).find(|&i| out[i].is_none()) {
        return Err(err(
            span,
            format!("`{name}` needs the argument `{}`", s.params[missing]),
        ));
    }
    Ok(out)
}

/// What `analyze` found. All lists are in source order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Analysis {
    /// Every read of a variable from outside the expression (one entry per occurrence): the
    /// root name of a name or path (`a` for `a.b[1]`), with the span of that name. Names bound
    /// inside the expression (context entries, `for`/`some`/`every` variables, function
    /// parameters) are not free, nor are names inside a filter (they may be the element's keys).
    pub free_variables: Vec<(String, Span)>,
    /// The span of every `secret_value(…)` call.
    pub secret_value_calls: Vec<Span>,
    /// Calls to functions that do not exist, with the span of the function name.
    pub unknown_calls: Vec<(String, Span)>,
    /// Calls of known functions with the wrong arguments (span: the whole call or the name).
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
    let mut w = Walk {
        bound: Vec::new(),
        in_filter: 0,
    };
    w.walk(expr, &mut a, 0);
    a
}

struct Walk {
    bound: Vec<String>,
    in_filter: usize,
}

impl Walk {
    /// Recursion is bounded by the parser's depth limit; deeper hand-built trees are cut off.
    fn walk(&mut self, expr: &Expr, a: &mut Analysis, depth: usize) {
        if depth > super::MAX_DEPTH {
            return;
        }
        let d = depth + 1;
        match &expr.kind {
            ExprKind::Name(name) => {
                if !self.bound.contains(name) && self.in_filter == 0 {
                    a.free_variables.push((name.clone(), expr.span));
                }
            }
            ExprKind::Path { base, steps } => {
                self.walk(base, a, d);
                for step in steps {
                    if let PathStep::Filter { expr: f, .. } = step {
                        self.in_filter += 1;
                        self.walk(f, a, d);
                        self.in_filter -= 1;
                    }
                }
            }
            ExprKind::Context(entries) => {
                let mark = self.bound.len();
                for entry in entries {
                    self.walk(&entry.value, a, d);
                    self.bound.push(entry.key.clone());
                }
                self.bound.truncate(mark);
            }
            ExprKind::For { iters, body: inner }
            | ExprKind::Quantified {
                iters, cond: inner, ..
            } => {
                let mark = self.bound.len();
                for it in iters {
                    self.walk(&it.domain, a, d);
                    if let Some(to) = &it.to {
                        self.walk(to, a, d);
                    }
                    self.bound.push(it.name.clone());
                }
                self.walk(inner, a, d);
                self.bound.truncate(mark);
            }
            ExprKind::Function { params, body } => {
                let mark = self.bound.len();
                self.bound.extend(params.iter().map(|(p, _)| p.clone()));
                self.walk(body, a, d);
                self.bound.truncate(mark);
            }
            ExprKind::In { value, tests } => {
                self.walk(value, a, d);
                self.tests(tests, a, d);
            }
            ExprKind::Call {
                name,
                name_span,
                args,
                arg_names,
            } => {
                if !self.bound.contains(name) {
                    match signature(name) {
                        None => a.unknown_calls.push((name.clone(), *name_span)),
                        Some(s) => {
                            if let Err(e) = order_arguments(name, s, args, arg_names, expr.span) {
                                a.call_errors.push(e);
                            }
                        }
                    }
                }
                if name == "secret_value" {
                    a.secret_value_calls.push(expr.span);
                }
                for arg in args {
                    self.walk(arg, a, d);
                }
            }
            _ => {
                for child in expr.children() {
                    self.walk(child, a, d);
                }
            }
        }
    }

    fn tests(&mut self, tests: &[UnaryTest], a: &mut Analysis, depth: usize) {
        for t in tests {
            match t {
                UnaryTest::Expr(e) => self.walk(e, a, depth),
                UnaryTest::Not(inner, _) => self.tests(inner, a, depth + 1),
            }
        }
    }
}
