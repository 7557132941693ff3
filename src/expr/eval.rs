//! Evaluates a parsed expression over `serde_json` values with FEEL semantics (missing is null,
//! three-valued logic), within a memory budget and a value-depth limit.

use std::borrow::Cow;
use std::cell::Cell;

use serde_json::{Map, Number, Value};

use super::ast::{BinaryOp, Expr, ExprKind, PathStep, Span};
use super::{Error, MAX_DEPTH, MAX_VALUE_DEPTH};

/// Bytes charged per JSON node, roughly `size_of::<Value>()` plus bookkeeping.
const NODE_COST: usize = 32;

/// 2^53: integral results below this are written as JSON integers.
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_992.0;

pub(crate) fn eval(expr: &Expr, vars: &Map<String, Value>, budget: usize) -> Result<Value, Error> {
    if let Some(span) = first_secret_value_call(expr) {
        return Err(Error {
            span,
            message: "secret_value() may only be used in the $secrets mapping".into(),
        });
    }
    let ev = Evaluator {
        budget: Cell::new(budget),
    };
    let scope = Scope::Root(vars);
    // A plain name or path passes its value through without being charged to the budget.
    if matches!(expr.kind, ExprKind::Name(_) | ExprKind::Path { .. }) {
        return Ok(ev
            .resolve(expr, &scope, 0)?
            .map_or(Value::Null, |(v, _)| v.into_owned()));
    }
    Ok(ev.eval(expr, &scope, 0)?.0)
}

fn first_secret_value_call(expr: &Expr) -> Option<Span> {
    let mut stack = vec![expr];
    let mut found: Option<Span> = None;
    while let Some(node) = stack.pop() {
        if let ExprKind::Call { name, .. } = &node.kind
            && name == "secret_value"
            && found.is_none_or(|f| node.span.start < f.start)
        {
            found = Some(node.span);
        }
        stack.extend(node.children());
    }
    found
}

/// Where names are looked up: the entries of enclosing context literals (innermost first), then
/// the variables.
enum Scope<'s> {
    Root(&'s Map<String, Value>),
    Context {
        entries: &'s Map<String, Value>,
        parent: &'s Scope<'s>,
    },
}

impl<'s> Scope<'s> {
    fn get(&self, name: &str) -> Option<&'s Value> {
        let mut scope = self;
        loop {
            match scope {
                Scope::Root(vars) => return vars.get(name),
                Scope::Context { entries, parent } => {
                    if let Some(v) = entries.get(name) {
                        return Some(v);
                    }
                    scope = parent;
                }
            }
        }
    }
}

/// Upper bounds of a value's memory (bytes, roughly) and nesting depth (a scalar has depth 0).
#[derive(Clone, Copy, Debug, Default)]
struct Meta {
    size: usize,
    depth: usize,
}

const SCALAR: Meta = Meta {
    size: NODE_COST,
    depth: 0,
};

/// Measures a value without recursion.
fn measure(value: &Value) -> Meta {
    let mut meta = Meta::default();
    let mut stack = vec![(value, 0usize)];
    while let Some((v, d)) = stack.pop() {
        meta.depth = meta.depth.max(d);
        meta.size = meta.size.saturating_add(NODE_COST);
        match v {
            Value::String(s) => meta.size = meta.size.saturating_add(s.len()),
            Value::Array(items) => stack.extend(items.iter().map(|i| (i, d + 1))),
            Value::Object(m) => {
                for (k, item) in m {
                    meta.size = meta.size.saturating_add(k.len());
                    stack.push((item, d + 1));
                }
            }
            _ => {}
        }
    }
    meta
}

/// A resolved value: borrowed from the variables / scope, or computed (with its bounds).
type Resolved<'s> = Option<(Cow<'s, Value>, Option<Meta>)>;

struct Evaluator {
    budget: Cell<usize>,
}

fn error(span: Span, message: impl Into<String>) -> Error {
    Error {
        span,
        message: message.into(),
    }
}

impl Evaluator {
    fn charge(&self, bytes: usize, span: Span) -> Result<(), Error> {
        match self.budget.get().checked_sub(bytes) {
            Some(left) => {
                self.budget.set(left);
                Ok(())
            }
            None => Err(error(
                span,
                format!(
                    "expression builds too large a value (limit {} MiB)",
                    super::MAX_EVAL_BUDGET / (1024 * 1024)
                ),
            )),
        }
    }

    /// Turns a resolved value into an owned one, charging a copy of a borrowed value.
    fn own(&self, resolved: Resolved<'_>, span: Span) -> Result<(Value, Meta), Error> {
        match resolved {
            None => Ok((Value::Null, SCALAR)),
            Some((Cow::Owned(v), Some(meta))) => Ok((v, meta)),
            Some((cow, _)) => {
                let meta = measure(&cow);
                self.charge(meta.size, span)?;
                Ok((cow.into_owned(), meta))
            }
        }
    }

    fn eval(&self, expr: &Expr, scope: &Scope<'_>, depth: usize) -> Result<(Value, Meta), Error> {
        // The parser bounds the tree depth; this guards trees built by hand.
        if depth > MAX_DEPTH {
            return Err(error(
                expr.span,
                format!("expression nested too deeply (limit {MAX_DEPTH})"),
            ));
        }
        let scalar = |v: Value| Ok((v, SCALAR));
        match &expr.kind {
            ExprKind::Null => scalar(Value::Null),
            ExprKind::Bool(b) => scalar(Value::Bool(*b)),
            ExprKind::Number(n) => scalar(number(*n)),
            ExprKind::String(s) => {
                self.charge(s.len(), expr.span)?;
                Ok((
                    Value::String(s.clone()),
                    Meta {
                        size: NODE_COST + s.len(),
                        depth: 0,
                    },
                ))
            }
            ExprKind::Name(_) | ExprKind::Path { .. } => {
                let resolved = self.resolve(expr, scope, depth)?;
                self.own(resolved, expr.span)
            }
            ExprKind::List(items) => {
                let mut out = Vec::with_capacity(items.len());
                let mut meta = Meta {
                    size: NODE_COST,
                    depth: 1,
                };
                for item in items {
                    let (v, m) = self.eval(item, scope, depth + 1)?;
                    meta.size = meta.size.saturating_add(m.size);
                    meta.depth = meta.depth.max(m.depth + 1);
                    out.push(v);
                }
                self.charge(NODE_COST.saturating_mul(items.len()), expr.span)?;
                check_value_depth(meta, expr.span)?;
                Ok((Value::Array(out), meta))
            }
            ExprKind::Context(entries) => {
                let mut map = Map::new();
                let mut meta = Meta {
                    size: NODE_COST,
                    depth: 1,
                };
                for entry in entries {
                    let inner = Scope::Context {
                        entries: &map,
                        parent: scope,
                    };
                    let (v, m) = self.eval(&entry.value, &inner, depth + 1)?;
                    let cost = NODE_COST + entry.key.len();
                    self.charge(cost, entry.key_span)?;
                    meta.size = meta.size.saturating_add(m.size).saturating_add(cost);
                    meta.depth = meta.depth.max(m.depth + 1);
                    map.insert(entry.key.clone(), v);
                }
                check_value_depth(meta, expr.span)?;
                Ok((Value::Object(map), meta))
            }
            ExprKind::Neg(inner) => {
                let (v, _) = self.eval(inner, scope, depth + 1)?;
                scalar(match v.as_f64() {
                    Some(x) => number(-x),
                    None => Value::Null,
                })
            }
            ExprKind::Binary { first, rest } => {
                let (mut acc, mut meta) = self.eval(first, scope, depth + 1)?;
                for operand in rest {
                    // Three-valued short circuit: `false and …` is false, `true or …` is true.
                    match (operand.op, &acc) {
                        (BinaryOp::And, Value::Bool(false)) | (BinaryOp::Or, Value::Bool(true)) => {
                            return scalar(acc);
                        }
                        _ => {}
                    }
                    let (rhs, _) = self.eval(&operand.expr, scope, depth + 1)?;
                    acc = self.binary(operand.op, acc, rhs, expr.span)?;
                    meta = match &acc {
                        Value::String(s) => Meta {
                            size: NODE_COST + s.len(),
                            depth: 0,
                        },
                        _ => SCALAR,
                    };
                }
                Ok((acc, meta))
            }
            ExprKind::Call {
                name,
                name_span,
                args,
            } => self.call(name, *name_span, args, expr.span, scope, depth),
        }
    }

    /// Resolves a name or path to the value it names, `None` if it is missing. Other expressions
    /// are evaluated and are always present (even when `null`).
    fn resolve<'s>(
        &self,
        expr: &Expr,
        scope: &Scope<'s>,
        depth: usize,
    ) -> Result<Resolved<'s>, Error> {
        match &expr.kind {
            ExprKind::Name(name) => Ok(scope.get(name).map(|v| (Cow::Borrowed(v), None))),
            ExprKind::Path { base, steps } => {
                let mut cur = match base.kind {
                    ExprKind::Name(_) => self.resolve(base, scope, depth + 1)?,
                    _ => {
                        let (v, m) = self.eval(base, scope, depth + 1)?;
                        Some((Cow::Owned(v), Some(m)))
                    }
                };
                for step in steps {
                    cur = match step {
                        PathStep::Field { name, span } => match cur {
                            Some((value, meta)) => self.field(value, meta, name, *span)?,
                            None => None,
                        },
                        PathStep::Index { index, .. } => {
                            let position = self.index_value(index, scope, depth)?;
                            match (cur, position) {
                                (Some((value, meta)), Some(i)) => index_into(value, meta, i),
                                _ => None,
                            }
                        }
                    };
                }
                Ok(cur)
            }
            _ => {
                let (v, m) = self.eval(expr, scope, depth + 1)?;
                Ok(Some((Cow::Owned(v), Some(m))))
            }
        }
    }

    /// `.name` on a value: a context's key, or a projection over a list.
    fn field<'s>(
        &self,
        value: Cow<'s, Value>,
        meta: Option<Meta>,
        name: &str,
        span: Span,
    ) -> Result<Resolved<'s>, Error> {
        Ok(match value {
            Cow::Borrowed(Value::Object(m)) => m.get(name).map(|v| (Cow::Borrowed(v), None)),
            Cow::Owned(Value::Object(mut m)) => m.remove(name).map(|v| (Cow::Owned(v), meta)),
            Cow::Borrowed(Value::Array(items)) => {
                let mut out = Vec::with_capacity(items.len());
                let mut projected = Meta {
                    size: NODE_COST,
                    depth: 1,
                };
                for item in items {
                    let picked = item.as_object().and_then(|m| m.get(name));
                    let m = picked.map_or(SCALAR, measure);
                    self.charge(m.size, span)?;
                    projected.size = projected.size.saturating_add(m.size);
                    projected.depth = projected.depth.max(m.depth + 1);
                    out.push(picked.cloned().unwrap_or(Value::Null));
                }
                Some((Cow::Owned(Value::Array(out)), Some(projected)))
            }
            Cow::Owned(Value::Array(items)) => {
                let out = items
                    .into_iter()
                    .map(|item| match item {
                        Value::Object(mut m) => m.remove(name).unwrap_or(Value::Null),
                        _ => Value::Null,
                    })
                    .collect();
                Some((Cow::Owned(Value::Array(out)), meta))
            }
            _ => None,
        })
    }

    /// Evaluates an index: `Some(i)` for a whole number, `None` for null (a missing index
    /// gives a missing element), an error for anything else.
    fn index_value(
        &self,
        index: &Expr,
        scope: &Scope<'_>,
        depth: usize,
    ) -> Result<Option<f64>, Error> {
        let (v, _) = self.eval(index, scope, depth + 1)?;
        match v {
            Value::Null => Ok(None),
            Value::Number(n) => {
                let i = n.as_f64().unwrap_or(f64::NAN);
                if i.fract() == 0.0 {
                    Ok(Some(i))
                } else {
                    Err(error(
                        index.span,
                        format!("a list index must be a whole number, found {n}"),
                    ))
                }
            }
            other => Err(error(
                index.span,
                format!(
                    "a list index must be a number, found {} (filters like `list[condition]` are not supported)",
                    type_name(&other)
                ),
            )),
        }
    }

    fn binary(&self, op: BinaryOp, lhs: Value, rhs: Value, span: Span) -> Result<Value, Error> {
        Ok(match op {
            BinaryOp::And => match (truth(&lhs), truth(&rhs)) {
                (Some(false), _) | (_, Some(false)) => Value::Bool(false),
                (Some(true), Some(true)) => Value::Bool(true),
                _ => Value::Null,
            },
            BinaryOp::Or => match (truth(&lhs), truth(&rhs)) {
                (Some(true), _) | (_, Some(true)) => Value::Bool(true),
                (Some(false), Some(false)) => Value::Bool(false),
                _ => Value::Null,
            },
            BinaryOp::Eq => Value::Bool(feel_eq(&lhs, &rhs)),
            BinaryOp::Ne => Value::Bool(!feel_eq(&lhs, &rhs)),
            BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => {
                let ordering = match (&lhs, &rhs) {
                    (Value::Number(a), Value::Number(b)) => a
                        .as_f64()
                        .zip(b.as_f64())
                        .and_then(|(a, b)| a.partial_cmp(&b)),
                    (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
                    _ => None,
                };
                match ordering {
                    None => Value::Null,
                    Some(o) => Value::Bool(match op {
                        BinaryOp::Lt => o.is_lt(),
                        BinaryOp::Le => o.is_le(),
                        BinaryOp::Gt => o.is_gt(),
                        _ => o.is_ge(),
                    }),
                }
            }
            BinaryOp::Add => match (lhs, rhs) {
                (Value::String(mut a), Value::String(b)) => {
                    self.charge(a.len().saturating_add(b.len()), span)?;
                    a.push_str(&b);
                    Value::String(a)
                }
                (a, b) => arith(&a, &b, |x, y| Some(x + y)),
            },
            BinaryOp::Sub => arith(&lhs, &rhs, |x, y| Some(x - y)),
            BinaryOp::Mul => arith(&lhs, &rhs, |x, y| Some(x * y)),
            BinaryOp::Div => arith(&lhs, &rhs, |x, y| (y != 0.0).then(|| x / y)),
        })
    }

    fn call(
        &self,
        name: &str,
        name_span: Span,
        args: &[Expr],
        span: Span,
        scope: &Scope<'_>,
        depth: usize,
    ) -> Result<(Value, Meta), Error> {
        let Some(arity) = super::analyze::arity(name) else {
            return Err(error(
                name_span,
                super::analyze::unknown_function_message(name),
            ));
        };
        if args.len() != arity {
            return Err(error(span, super::analyze::arity_message(name, args.len())));
        }
        let Some(arg) = args.first() else {
            return Err(error(span, super::analyze::arity_message(name, 0)));
        };
        if name == "is defined" {
            let present = self.resolve(arg, scope, depth + 1)?.is_some();
            return Ok((Value::Bool(present), SCALAR));
        }
        let (value, meta) = self.eval(arg, scope, depth + 1)?;
        let out = match name {
            "not" => match value {
                Value::Bool(b) => Value::Bool(!b),
                _ => Value::Null,
            },
            "count" => match value {
                Value::Array(items) => Value::from(items.len()),
                _ => Value::Null,
            },
            "number" => match value {
                Value::Number(n) => Value::Number(n),
                Value::String(s) => parse_number(&s).map_or(Value::Null, number),
                _ => Value::Null,
            },
            "string" => {
                let text = match value {
                    Value::Null => return Ok((Value::Null, SCALAR)),
                    Value::String(s) => return Ok((Value::String(s), meta)),
                    Value::Number(n) => match number_from_json(&n) {
                        Value::Number(n) => n.to_string(),
                        _ => return Ok((Value::Null, SCALAR)),
                    },
                    Value::Bool(b) => b.to_string(),
                    other => {
                        self.charge(meta.size, span)?;
                        other.to_string()
                    }
                };
                Value::String(text)
            }
            // `secret_value` is refused before evaluation starts.
            _ => {
                return Err(error(
                    span,
                    "secret_value() may only be used in the $secrets mapping",
                ));
            }
        };
        let meta = match &out {
            Value::String(s) => Meta {
                size: NODE_COST + s.len(),
                depth: 0,
            },
            _ => SCALAR,
        };
        Ok((out, meta))
    }
}

fn check_value_depth(meta: Meta, span: Span) -> Result<(), Error> {
    if meta.depth > MAX_VALUE_DEPTH {
        return Err(error(
            span,
            format!("expression builds a value nested too deeply (limit {MAX_VALUE_DEPTH})"),
        ));
    }
    Ok(())
}

/// `[i]` on a resolved value: 1-based, negative from the end, `None` out of range or on a non-list.
fn index_into<'s>(value: Cow<'s, Value>, meta: Option<Meta>, i: f64) -> Resolved<'s> {
    let len = match value.as_ref() {
        Value::Array(items) => items.len(),
        _ => return None,
    };
    // 1-based from the front, -1 is the last.
    let position = if i >= 1.0 && i <= len as f64 {
        i as usize - 1
    } else if i <= -1.0 && -i <= len as f64 {
        len - (-i) as usize
    } else {
        return None;
    };
    match value {
        Cow::Borrowed(Value::Array(items)) => items.get(position).map(|v| (Cow::Borrowed(v), None)),
        Cow::Owned(Value::Array(mut items)) if position < items.len() => {
            Some((Cow::Owned(items.swap_remove(position)), meta))
        }
        _ => None,
    }
}

/// FEEL truth of an `and` / `or` operand: a non-boolean is "unknown" (null).
fn truth(v: &Value) -> Option<bool> {
    v.as_bool()
}

fn arith(a: &Value, b: &Value, f: impl Fn(f64, f64) -> Option<f64>) -> Value {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => f(x, y).map_or(Value::Null, number),
        _ => Value::Null,
    }
}

/// Writes a computed number: an integer when it is integral and |x| < 2^53, else a float;
/// a non-finite result (overflow) is `null`, as JSON has no infinity.
pub(crate) fn number(x: f64) -> Value {
    if !x.is_finite() {
        return Value::Null;
    }
    if x.fract() == 0.0 && x.abs() < MAX_SAFE_INTEGER {
        return Value::from(x as i64);
    }
    Number::from_f64(x).map_or(Value::Null, Value::Number)
}

/// A JSON number as `string()` writes it: integral floats as integers.
fn number_from_json(n: &Number) -> Value {
    if n.is_f64() {
        n.as_f64().map_or(Value::Null, number)
    } else {
        Value::Number(n.clone())
    }
}

/// FEEL's `number(string)`: an optional sign, digits with an optional fraction and exponent,
/// surrounding whitespace ignored; anything else is `None`.
pub(crate) fn parse_number(s: &str) -> Option<f64> {
    let t = s.trim();
    let body = t.strip_prefix(['-', '+']).unwrap_or(t);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let (int, frac) = match mantissa.split_once('.') {
        Some((a, b)) => (a, Some(b)),
        None => (mantissa, None),
    };
    let digits = |d: &str| d.bytes().all(|b| b.is_ascii_digit());
    let ok = digits(int)
        && frac.is_none_or(|f| !f.is_empty() && digits(f))
        && !(int.is_empty() && frac.is_none())
        && exponent.is_none_or(|e| {
            let e = e.strip_prefix(['-', '+']).unwrap_or(e);
            !e.is_empty() && digits(e)
        });
    if !ok {
        return None;
    }
    t.parse::<f64>().ok().filter(|x| x.is_finite())
}

/// FEEL `=`: deep equality, numbers by value (`1 = 1.0`), different types unequal.
/// Iterative, so arbitrarily deep inputs are safe.
fn feel_eq(a: &Value, b: &Value) -> bool {
    let mut stack = vec![(a, b)];
    while let Some((a, b)) = stack.pop() {
        let same = match (a, b) {
            (Value::Null, Value::Null) => true,
            (Value::Bool(x), Value::Bool(y)) => x == y,
            (Value::Number(x), Value::Number(y)) => {
                x == y || matches!((x.as_f64(), y.as_f64()), (Some(p), Some(q)) if p == q)
            }
            (Value::String(x), Value::String(y)) => x == y,
            (Value::Array(x), Value::Array(y)) => {
                stack.extend(x.iter().zip(y.iter()));
                x.len() == y.len()
            }
            (Value::Object(x), Value::Object(y)) => {
                if x.len() != y.len() {
                    false
                } else {
                    let mut all = true;
                    for (k, v) in x {
                        match y.get(k) {
                            Some(w) => stack.push((v, w)),
                            None => all = false,
                        }
                    }
                    all
                }
            }
            _ => false,
        };
        if !same {
            return false;
        }
    }
    true
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a context",
    }
}
