//! FEEL values during evaluation: decimal numbers, strings, lists, contexts, temporal values,
//! ranges, functions; variables stay borrowed JSON until read. Conversion to and from JSON.

use std::cmp::Ordering;
use std::rc::Rc;

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde_json::{Map, Number, Value};

use super::ast::{Expr, Span};
use super::temporal::Temporal;

/// A FEEL value. `Json` is a variable's value (or a part of one) read in place: nothing is
/// copied until a result needs it, so passing a large variable through costs nothing.
#[derive(Clone, Debug)]
pub(crate) enum Val<'a> {
    Null,
    Bool(bool),
    Num(Decimal),
    Str(Rc<str>),
    Json(&'a Value),
    List(Rc<Vec<Val<'a>>>),
    Ctx(Rc<Vec<(String, Val<'a>)>>),
    Temporal(Rc<Temporal>),
    Range(Rc<RangeVal<'a>>),
    Func(Rc<Lambda<'a>>),
}

/// A range value: `[1..10]`, `(a..b]`, or a one-sided `< 5`.
#[derive(Clone, Debug)]
pub(crate) struct RangeVal<'a> {
    pub start: Option<Val<'a>>,
    pub start_closed: bool,
    pub end: Option<Val<'a>>,
    pub end_closed: bool,
}

/// A `function(a, b) body` value with the local bindings it saw where it was written.
#[derive(Debug)]
pub(crate) struct Lambda<'a> {
    pub params: &'a [(String, Span)],
    pub body: &'a Expr,
    pub captured: Vec<(String, Val<'a>)>,
}

/// The FEEL type of a value, for type checks, `instance of` and messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Null,
    Bool,
    Num,
    Str,
    List,
    Ctx,
    Temporal,
    Range,
    Func,
}

impl<'a> Val<'a> {
    pub fn str(s: impl Into<Rc<str>>) -> Val<'a> {
        Val::Str(s.into())
    }

    pub fn list(items: Vec<Val<'a>>) -> Val<'a> {
        Val::List(Rc::new(items))
    }

    pub fn kind(&self) -> Kind {
        match self {
            Val::Null => Kind::Null,
            Val::Bool(_) => Kind::Bool,
            Val::Num(_) => Kind::Num,
            Val::Str(_) => Kind::Str,
            Val::List(_) => Kind::List,
            Val::Ctx(_) => Kind::Ctx,
            Val::Temporal(_) => Kind::Temporal,
            Val::Range(_) => Kind::Range,
            Val::Func(_) => Kind::Func,
            Val::Json(v) => match v {
                Value::Null => Kind::Null,
                Value::Bool(_) => Kind::Bool,
                Value::Number(_) => Kind::Num,
                Value::String(_) => Kind::Str,
                Value::Array(_) => Kind::List,
                Value::Object(_) => Kind::Ctx,
            },
        }
    }

    pub fn is_null(&self) -> bool {
        self.kind() == Kind::Null
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Val::Bool(b) => Some(*b),
            Val::Json(Value::Bool(b)) => Some(*b),
            _ => None,
        }
    }

    pub fn as_num(&self) -> Option<Decimal> {
        match self {
            Val::Num(n) => Some(*n),
            Val::Json(Value::Number(n)) => decimal_from_json(n),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Val::Str(s) => Some(s),
            Val::Json(Value::String(s)) => Some(s),
            _ => None,
        }
    }

    pub fn as_temporal(&self) -> Option<&Temporal> {
        match self {
            Val::Temporal(t) => Some(t),
            _ => None,
        }
    }

    /// The number of elements of a list.
    pub fn list_len(&self) -> Option<usize> {
        match self {
            Val::List(items) => Some(items.len()),
            Val::Json(Value::Array(items)) => Some(items.len()),
            _ => None,
        }
    }

    /// The elements of a list (borrowed JSON elements stay borrowed).
    pub fn list_items(&self) -> Option<Vec<Val<'a>>> {
        match self {
            Val::List(items) => Some(items.as_ref().clone()),
            Val::Json(Value::Array(items)) => Some(items.iter().map(Val::Json).collect()),
            _ => None,
        }
    }

    /// The element at a 0-based position.
    pub fn list_get(&self, i: usize) -> Option<Val<'a>> {
        match self {
            Val::List(items) => items.get(i).cloned(),
            Val::Json(Value::Array(items)) => items.get(i).map(Val::Json),
            _ => None,
        }
    }

    /// The value of a context's key (`None`: no such key, or not a context).
    pub fn ctx_get(&self, key: &str) -> Option<Val<'a>> {
        match self {
            Val::Ctx(entries) => entries
                .iter()
                .rev()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone()),
            Val::Json(Value::Object(m)) => m.get(key).map(Val::Json),
            _ => None,
        }
    }

    /// A context's entries in order.
    pub fn ctx_entries(&self) -> Option<Vec<(String, Val<'a>)>> {
        match self {
            Val::Ctx(entries) => Some(entries.as_ref().clone()),
            Val::Json(Value::Object(m)) => {
                Some(m.iter().map(|(k, v)| (k.clone(), Val::Json(v))).collect())
            }
            _ => None,
        }
    }
}

/// A JSON number as a decimal: exact for integers and for every float's shortest text; `None`
/// beyond the decimal range (about ±7.9e28), which FEEL arithmetic then treats as `null`.
pub(crate) fn decimal_from_json(n: &Number) -> Option<Decimal> {
    if let Some(i) = n.as_i64() {
        return Some(Decimal::from(i));
    }
    if let Some(u) = n.as_u64() {
        return Some(Decimal::from(u));
    }
    let text = n.to_string();
    let parsed = if text.contains(['e', 'E']) {
        Decimal::from_scientific(&text)
    } else {
        text.parse::<Decimal>()
    };
    parsed.ok().map(|d| d.normalize())
}

/// A decimal as a JSON number: an integer when it is whole and fits 64 bits, else the nearest
/// float (JSON readers are floats); `None` if no float can hold it.
pub(crate) fn decimal_to_json(d: Decimal) -> Option<Value> {
    let d = d.normalize();
    if d.scale() == 0 {
        if let Some(i) = d.to_i64() {
            return Some(Value::from(i));
        }
        if let Some(u) = d.to_u64() {
            return Some(Value::from(u));
        }
    }
    let f: f64 = d.to_string().parse().ok()?;
    Number::from_f64(f).map(Value::Number)
}

/// A decimal as FEEL's `string()` writes it: no exponent, no trailing zeros.
pub(crate) fn decimal_text(d: Decimal) -> String {
    d.normalize().to_string()
}

/// FEEL `=` between two values: deep equality; numbers by value; temporal values by
/// [`Temporal::compare`]; values of different types are unequal; `null = null`.
pub(crate) fn feel_eq(a: &Val<'_>, b: &Val<'_>) -> bool {
    let (ka, kb) = (a.kind(), b.kind());
    if ka != kb {
        return false;
    }
    match ka {
        Kind::Null => true,
        Kind::Bool => a.as_bool() == b.as_bool(),
        Kind::Num => match (a.as_num(), b.as_num()) {
            (Some(x), Some(y)) => x == y,
            // Numbers beyond the decimal range compare as JSON.
            _ => matches!((a, b), (Val::Json(x), Val::Json(y)) if x == y),
        },
        Kind::Str => a.as_str() == b.as_str(),
        Kind::Temporal => match (a.as_temporal(), b.as_temporal()) {
            (Some(x), Some(y)) => x.compare(y) == Some(Ordering::Equal),
            _ => false,
        },
        Kind::List => match (a.list_items(), b.list_items()) {
            (Some(x), Some(y)) => {
                x.len() == y.len() && x.iter().zip(y.iter()).all(|(p, q)| feel_eq(p, q))
            }
            _ => false,
        },
        Kind::Ctx => match (a.ctx_entries(), b.ctx_entries()) {
            (Some(x), Some(y)) => {
                x.len() == y.len()
                    && x.iter().all(|(k, v)| {
                        y.iter()
                            .find(|(k2, _)| k2 == k)
                            .is_some_and(|(_, w)| feel_eq(v, w))
                    })
            }
            _ => false,
        },
        Kind::Range => match (a, b) {
            (Val::Range(x), Val::Range(y)) => {
                x.start_closed == y.start_closed
                    && x.end_closed == y.end_closed
                    && opt_eq(&x.start, &y.start)
                    && opt_eq(&x.end, &y.end)
            }
            _ => false,
        },
        Kind::Func => false,
    }
}

fn opt_eq(a: &Option<Val<'_>>, b: &Option<Val<'_>>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(x), Some(y)) => feel_eq(x, y),
        _ => false,
    }
}

/// FEEL's order: numbers, strings (by code point) and temporal values of one type; `None`
/// for anything else (the comparison is then `null`).
pub(crate) fn feel_cmp(a: &Val<'_>, b: &Val<'_>) -> Option<Ordering> {
    match (a.kind(), b.kind()) {
        (Kind::Num, Kind::Num) => Some(a.as_num()?.cmp(&b.as_num()?)),
        (Kind::Str, Kind::Str) => Some(a.as_str()?.cmp(b.as_str()?)),
        (Kind::Temporal, Kind::Temporal) => a.as_temporal()?.compare(b.as_temporal()?),
        _ => None,
    }
}

/// The FEEL name of a value's type, for messages and `instance of`.
pub(crate) fn type_name(v: &Val<'_>) -> &'static str {
    match v.kind() {
        Kind::Null => "null",
        Kind::Bool => "boolean",
        Kind::Num => "number",
        Kind::Str => "string",
        Kind::List => "list",
        Kind::Ctx => "context",
        Kind::Temporal => v.as_temporal().map_or("date", Temporal::type_name),
        Kind::Range => "range",
        Kind::Func => "function",
    }
}

/// Bytes charged per JSON node when a borrowed value is copied into a result.
pub(crate) const NODE_COST: usize = 32;

/// Size (roughly, bytes) and depth of a JSON value, without recursion.
pub(crate) fn measure(value: &Value) -> (usize, usize) {
    let (mut size, mut depth) = (0usize, 0usize);
    let mut stack = vec![(value, 0usize)];
    while let Some((v, d)) = stack.pop() {
        depth = depth.max(d);
        size = size.saturating_add(NODE_COST);
        match v {
            Value::String(s) => size = size.saturating_add(s.len()),
            Value::Array(items) => stack.extend(items.iter().map(|i| (i, d + 1))),
            Value::Object(m) => {
                for (k, item) in m {
                    size = size.saturating_add(k.len());
                    stack.push((item, d + 1));
                }
            }
            _ => {}
        }
    }
    (size, depth)
}

/// Why a value has no JSON form.
#[derive(Debug)]
pub(crate) enum ToJsonError {
    /// A range or a function.
    NoJsonForm(&'static str),
    /// Nested deeper than the limit.
    TooDeep,
    /// Copying borrowed values would exceed the budget.
    TooLarge,
}

/// Converts a result to JSON. Temporal values become their FEEL string (`"2024-01-31"`).
/// Every node written is charged to `budget`, and so are borrowed values nested inside built
/// lists and contexts; a borrowed value at the top is copied uncharged (a pass-through).
pub(crate) fn to_json(
    v: &Val<'_>,
    depth: usize,
    max_depth: usize,
    budget: &mut usize,
) -> Result<Value, ToJsonError> {
    if depth > max_depth {
        return Err(ToJsonError::TooDeep);
    }
    // Built values may share parts (`[x, x, x]` holds `x` once); their JSON copy does not, so
    // every node written is charged.
    let own = match v {
        Val::Str(s) => s.len(),
        Val::List(items) => NODE_COST.saturating_mul(items.len()),
        Val::Ctx(entries) => NODE_COST.saturating_mul(entries.len()),
        _ => 0,
    };
    *budget = budget.checked_sub(own).ok_or(ToJsonError::TooLarge)?;
    Ok(match v {
        Val::Null => Value::Null,
        Val::Bool(b) => Value::Bool(*b),
        Val::Num(n) => decimal_to_json(*n).unwrap_or(Value::Null),
        Val::Str(s) => Value::String(s.to_string()),
        Val::Json(j) => {
            if depth > 0 {
                let (size, d) = measure(j);
                if depth + d > max_depth {
                    return Err(ToJsonError::TooDeep);
                }
                *budget = budget.checked_sub(size).ok_or(ToJsonError::TooLarge)?;
            }
            (*j).clone()
        }
        Val::List(items) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items.iter() {
                out.push(to_json(item, depth + 1, max_depth, budget)?);
            }
            Value::Array(out)
        }
        Val::Ctx(entries) => {
            let mut out = Map::new();
            for (k, item) in entries.iter() {
                out.insert(k.clone(), to_json(item, depth + 1, max_depth, budget)?);
            }
            Value::Object(out)
        }
        Val::Temporal(t) => Value::String(t.to_string()),
        Val::Range(_) => return Err(ToJsonError::NoJsonForm("a range")),
        Val::Func(_) => return Err(ToJsonError::NoJsonForm("a function")),
    })
}

/// FEEL's `string(x)` of any value: numbers without exponent, temporal values in ISO form,
/// lists and contexts as FEEL writes them (`[1, 2]`, `{a: 1}`); `None` for `null`.
pub(crate) fn to_feel_string(v: &Val<'_>) -> Option<String> {
    let mut out = String::new();
    write_feel(v, &mut out, 0);
    (!v.is_null()).then_some(out)
}

fn write_feel(v: &Val<'_>, out: &mut String, depth: usize) {
    if depth > 256 {
        out.push('…');
        return;
    }
    match v {
        Val::Null | Val::Json(Value::Null) => out.push_str("null"),
        Val::Str(s) => out.push_str(s),
        Val::Json(Value::String(s)) if depth == 0 => out.push_str(s),
        Val::Json(Value::String(s)) => out.push_str(&Value::String(s.clone()).to_string()),
        Val::Bool(b) | Val::Json(Value::Bool(b)) => out.push_str(if *b { "true" } else { "false" }),
        Val::Num(n) => out.push_str(&decimal_text(*n)),
        Val::Json(Value::Number(n)) => match decimal_from_json(n) {
            Some(d) => out.push_str(&decimal_text(d)),
            None => out.push_str(&n.to_string()),
        },
        Val::Temporal(t) => out.push_str(&t.to_string()),
        Val::List(_) | Val::Json(Value::Array(_)) => {
            out.push('[');
            for (i, item) in v.list_items().unwrap_or_default().iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_nested(item, out, depth);
            }
            out.push(']');
        }
        Val::Ctx(_) | Val::Json(Value::Object(_)) => {
            out.push('{');
            for (i, (k, item)) in v.ctx_entries().unwrap_or_default().iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(k);
                out.push_str(": ");
                write_nested(item, out, depth);
            }
            out.push('}');
        }
        Val::Range(r) => {
            out.push(if r.start_closed { '[' } else { '(' });
            if let Some(s) = &r.start {
                write_nested(s, out, depth);
            }
            out.push_str("..");
            if let Some(e) = &r.end {
                write_nested(e, out, depth);
            }
            out.push(if r.end_closed { ']' } else { ')' });
        }
        Val::Func(_) => out.push_str("function"),
    }
}

/// Inside a list or context strings are quoted, as FEEL writes them.
fn write_nested(v: &Val<'_>, out: &mut String, depth: usize) {
    match v.as_str() {
        Some(s) => out.push_str(&Value::String(s.to_string()).to_string()),
        None => write_feel(v, out, depth + 1),
    }
}
