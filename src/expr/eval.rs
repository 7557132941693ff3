//! Evaluates a parsed expression with FEEL semantics (missing is null, three-valued logic,
//! decimal numbers) over borrowed JSON variables, within a memory budget, a step budget and
//! depth limits. The builtin functions are in `builtins`.

use std::cell::Cell;
use std::cmp::Ordering;
use std::rc::Rc;

use rust_decimal::prelude::{FromPrimitive, ToPrimitive};
use rust_decimal::{Decimal, MathematicalOps};
use serde_json::{Map, Value};

use super::ast::{
    BinaryOp, Expr, ExprKind, Iteration, PathStep, RangeLit, Span, TypeRef, UnaryTest,
};
use super::temporal::{Property, Temporal};
use super::value::{
    Kind, Lambda, NODE_COST, RangeVal, ToJsonError, Val, feel_cmp, feel_eq, to_json, type_name,
};
use super::{Error, MAX_DEPTH, MAX_EVAL_BUDGET, MAX_EVAL_STEPS, MAX_VALUE_DEPTH};

pub(crate) fn eval(
    expr: &Expr,
    layers: &[&Map<String, Value>],
    budget: usize,
) -> Result<Value, Error> {
    if let Some(span) = first_secret_value_call(expr) {
        return Err(error(
            span,
            "secret_value() may only be used in the $secrets mapping",
        ));
    }
    let ev = Evaluator {
        budget: Cell::new(budget),
        steps: Cell::new(MAX_EVAL_STEPS),
        layers,
    };
    let value = ev.eval(expr, &Scope::Root, 0)?;
    let mut left = ev.budget.get();
    to_json(&value, 0, MAX_VALUE_DEPTH, &mut left).map_err(|e| match e {
        ToJsonError::NoJsonForm(what) => error(
            expr.span,
            format!(
                "the result is {what}, which has no JSON form (a mapping's value must be data)"
            ),
        ),
        ToJsonError::TooDeep => error(
            expr.span,
            format!("expression builds a value nested too deeply (limit {MAX_VALUE_DEPTH})"),
        ),
        ToJsonError::TooLarge => budget_error(expr.span),
    })
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

pub(crate) fn error(span: Span, message: impl Into<String>) -> Error {
    Error {
        span,
        message: message.into(),
    }
}

fn budget_error(span: Span) -> Error {
    error(
        span,
        format!(
            "expression builds too large a value (limit {} MiB)",
            MAX_EVAL_BUDGET / (1024 * 1024)
        ),
    )
}

/// Where names are looked up: local bindings (context entries so far, `for`/`some` variables,
/// function parameters, a filter's element), innermost first, then the variables.
pub(crate) enum Scope<'s, 'a> {
    Root,
    Vars {
        vars: &'s [(String, Val<'a>)],
        parent: &'s Scope<'s, 'a>,
    },
    /// Inside a filter `list[…]`: the element as `item`, and its keys when it is a context.
    Item {
        item: &'s Val<'a>,
        parent: &'s Scope<'s, 'a>,
    },
}

pub(crate) struct Evaluator<'l, 'a> {
    budget: Cell<usize>,
    steps: Cell<usize>,
    layers: &'l [&'a Map<String, Value>],
}

impl<'a> Evaluator<'_, 'a> {
    pub(crate) fn charge(&self, bytes: usize, span: Span) -> Result<(), Error> {
        match self.budget.get().checked_sub(bytes) {
            Some(left) => {
                self.budget.set(left);
                Ok(())
            }
            None => Err(budget_error(span)),
        }
    }

    /// One unit of work (a node evaluated, a loop turn); bounds the time an expression takes.
    pub(crate) fn step(&self, span: Span) -> Result<(), Error> {
        match self.steps.get().checked_sub(1) {
            Some(left) => {
                self.steps.set(left);
                Ok(())
            }
            None => Err(error(
                span,
                format!("expression takes too many steps (limit {MAX_EVAL_STEPS})"),
            )),
        }
    }

    fn lookup_name(&self, name: &str, scope: &Scope<'_, 'a>) -> Option<Val<'a>> {
        let mut scope = scope;
        loop {
            match scope {
                Scope::Root => {
                    return self.layers.iter().find_map(|m| m.get(name)).map(Val::Json);
                }
                Scope::Vars { vars, parent } => {
                    if let Some((_, v)) = vars.iter().rev().find(|(k, _)| k == name) {
                        return Some(v.clone());
                    }
                    scope = parent;
                }
                Scope::Item { item, parent } => {
                    if let Some(v) = item.ctx_get(name) {
                        return Some(v);
                    }
                    if name == "item" {
                        return Some((*item).clone());
                    }
                    scope = parent;
                }
            }
        }
    }

    /// Every local binding visible in `scope`, outermost first (what a function value keeps).
    fn locals(scope: &Scope<'_, 'a>) -> Vec<(String, Val<'a>)> {
        let mut frames = Vec::new();
        let mut scope = scope;
        loop {
            match scope {
                Scope::Root => break,
                Scope::Vars { vars, parent } => {
                    frames.push(vars.to_vec());
                    scope = parent;
                }
                Scope::Item { item, parent } => {
                    let mut frame = vec![("item".to_string(), (*item).clone())];
                    frame.extend(item.ctx_entries().unwrap_or_default());
                    frames.push(frame);
                    scope = parent;
                }
            }
        }
        frames.into_iter().rev().flatten().collect()
    }

    pub(crate) fn eval(
        &self,
        expr: &'a Expr,
        scope: &Scope<'_, 'a>,
        depth: usize,
    ) -> Result<Val<'a>, Error> {
        if depth > MAX_DEPTH {
            return Err(error(
                expr.span,
                format!("expression nested too deeply (limit {MAX_DEPTH})"),
            ));
        }
        self.step(expr.span)?;
        match &expr.kind {
            ExprKind::Null => Ok(Val::Null),
            ExprKind::Bool(b) => Ok(Val::Bool(*b)),
            ExprKind::Number(n) => Ok(Val::Num(*n)),
            ExprKind::String(s) => {
                self.charge(NODE_COST + s.len(), expr.span)?;
                Ok(Val::str(s.as_str()))
            }
            ExprKind::At(s) => Temporal::parse(s)
                .map(|t| Val::Temporal(Rc::new(t)))
                .map_err(|e| error(expr.span, format!("invalid temporal literal: {e}"))),
            ExprKind::Name(_) | ExprKind::Path { .. } => {
                Ok(self.lookup(expr, scope, depth)?.unwrap_or(Val::Null))
            }
            ExprKind::List(items) => self.list(items, expr.span, scope, depth),
            ExprKind::Context(entries) => self.context(entries, expr.span, scope, depth),
            ExprKind::Range(r) => self.range(r, scope, depth),
            ExprKind::Neg(inner) => {
                let v = self.eval(inner, scope, depth + 1)?;
                Ok(negate(&v))
            }
            ExprKind::Binary { first, rest } => self.binary_chain(first, rest, scope, depth),
            ExprKind::Call {
                name,
                name_span,
                args,
                arg_names,
            } => self.call(name, *name_span, args, arg_names, expr.span, scope, depth),
            ExprKind::If { cond, then, els } => {
                let c = self.eval(cond, scope, depth + 1)?;
                let branch = if c.as_bool() == Some(true) { then } else { els };
                self.eval(branch, scope, depth + 1)
            }
            ExprKind::For { iters, body } => {
                let mut out = Vec::new();
                let mut bound = Vec::new();
                self.for_each(iters, &mut bound, scope, depth, &mut |ev, inner| {
                    let v = ev.eval(body, inner, depth + 1)?;
                    ev.charge(NODE_COST, body.span)?;
                    out.push(v);
                    Ok(true)
                })?;
                Ok(Val::list(out))
            }
            ExprKind::Quantified { every, iters, cond } => {
                let every = *every;
                let mut result = every;
                let mut bound = Vec::new();
                self.for_each(iters, &mut bound, scope, depth, &mut |ev, inner| {
                    let ok = ev.eval(cond, inner, depth + 1)?.as_bool() == Some(true);
                    if ok != every {
                        result = !every;
                        return Ok(false);
                    }
                    Ok(true)
                })?;
                Ok(Val::Bool(result))
            }
            ExprKind::In { value, tests } => {
                let v = self.eval(value, scope, depth + 1)?;
                Ok(self
                    .tests_match(&v, tests, scope, depth)?
                    .map_or(Val::Null, Val::Bool))
            }
            ExprKind::Between { value, low, high } => {
                let v = self.eval(value, scope, depth + 1)?;
                let lo = self.eval(low, scope, depth + 1)?;
                let hi = self.eval(high, scope, depth + 1)?;
                let above = feel_cmp(&v, &lo).map(Ordering::is_ge);
                let below = feel_cmp(&v, &hi).map(Ordering::is_le);
                Ok(and3(above, below).map_or(Val::Null, Val::Bool))
            }
            ExprKind::InstanceOf { value, ty, .. } => {
                let v = self.eval(value, scope, depth + 1)?;
                Ok(Val::Bool(instance_of(&v, ty)))
            }
            ExprKind::Function { params, body } => Ok(Val::Func(Rc::new(Lambda {
                params,
                body,
                captured: Self::locals(scope),
            }))),
        }
    }

    #[inline(never)]
    fn list(
        &self,
        items: &'a [Expr],
        span: Span,
        scope: &Scope<'_, 'a>,
        depth: usize,
    ) -> Result<Val<'a>, Error> {
        self.charge(NODE_COST.saturating_mul(items.len() + 1), span)?;
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            out.push(self.eval(item, scope, depth + 1)?);
        }
        Ok(Val::list(out))
    }

    #[inline(never)]
    fn context(
        &self,
        entries: &'a [super::ast::ContextEntry],
        span: Span,
        scope: &Scope<'_, 'a>,
        depth: usize,
    ) -> Result<Val<'a>, Error> {
        self.charge(NODE_COST, span)?;
        let mut out: Vec<(String, Val<'a>)> = Vec::with_capacity(entries.len());
        for entry in entries {
            let v = {
                let inner = Scope::Vars {
                    vars: &out,
                    parent: scope,
                };
                self.eval(&entry.value, &inner, depth + 1)?
            };
            self.charge(NODE_COST + entry.key.len(), entry.key_span)?;
            out.push((entry.key.clone(), v));
        }
        Ok(Val::Ctx(Rc::new(out)))
    }

    #[inline(never)]
    fn range(
        &self,
        r: &'a RangeLit,
        scope: &Scope<'_, 'a>,
        depth: usize,
    ) -> Result<Val<'a>, Error> {
        let start = match &r.start {
            Some(e) => Some(self.eval(e, scope, depth + 1)?),
            None => None,
        };
        let end = match &r.end {
            Some(e) => Some(self.eval(e, scope, depth + 1)?),
            None => None,
        };
        Ok(Val::Range(Rc::new(RangeVal {
            start,
            start_closed: r.start_closed,
            end,
            end_closed: r.end_closed,
        })))
    }

    /// Resolves a name or path to the value it names, `None` if it is missing. Other
    /// expressions are evaluated and are always present (even when `null`).
    pub(crate) fn lookup(
        &self,
        expr: &'a Expr,
        scope: &Scope<'_, 'a>,
        depth: usize,
    ) -> Result<Option<Val<'a>>, Error> {
        match &expr.kind {
            ExprKind::Name(name) => Ok(self.lookup_name(name, scope)),
            ExprKind::Path { base, steps } => {
                let mut cur = match base.kind {
                    ExprKind::Name(_) => self.lookup(base, scope, depth + 1)?,
                    _ => Some(self.eval(base, scope, depth + 1)?),
                };
                for step in steps {
                    let Some(value) = cur else { return Ok(None) };
                    cur = match step {
                        PathStep::Field { name, span } => self.field(&value, name, *span)?,
                        PathStep::Filter { expr: f, span } => {
                            self.filter(&value, f, *span, scope, depth)?
                        }
                    };
                }
                Ok(cur)
            }
            _ => Ok(Some(self.eval(expr, scope, depth + 1)?)),
        }
    }

    /// `.name`: a context's key, a property of a temporal value or a range, or a projection
    /// over a list (each element's key, `null` where it has none).
    #[inline(never)]
    fn field(&self, value: &Val<'a>, name: &str, span: Span) -> Result<Option<Val<'a>>, Error> {
        Ok(match value.kind() {
            Kind::Ctx => value.ctx_get(name),
            Kind::List => {
                let items = value.list_items().unwrap_or_default();
                self.charge(NODE_COST.saturating_mul(items.len() + 1), span)?;
                let out = items
                    .iter()
                    .map(|item| item.ctx_get(name).unwrap_or(Val::Null))
                    .collect();
                Some(Val::list(out))
            }
            Kind::Temporal => value
                .as_temporal()
                .and_then(|t| t.property(name))
                .map(|p| match p {
                    Property::Number(n) => Val::Num(Decimal::from(n)),
                    Property::Text(s) => Val::str(s),
                    Property::Duration(d) => Val::Temporal(Rc::new(Temporal::DayTime(d))),
                    Property::Null => Val::Null,
                }),
            Kind::Range => match value {
                Val::Range(r) => match name {
                    "start" => Some(r.start.clone().unwrap_or(Val::Null)),
                    "end" => Some(r.end.clone().unwrap_or(Val::Null)),
                    "start included" => Some(Val::Bool(r.start_closed)),
                    "end included" => Some(Val::Bool(r.end_closed)),
                    _ => None,
                },
                _ => None,
            },
            _ => None,
        })
    }

    /// `[e]`: an index when `e` is a number, else a filter keeping the elements for which `e`
    /// (with `item` and the element's keys in scope) is `true`. A non-list filters as `[value]`.
    #[inline(never)]
    fn filter(
        &self,
        value: &Val<'a>,
        f: &'a Expr,
        span: Span,
        scope: &Scope<'_, 'a>,
        depth: usize,
    ) -> Result<Option<Val<'a>>, Error> {
        let outer = self.eval(f, scope, depth + 1)?;
        if outer.kind() == Kind::Num {
            let Some(i) = outer.as_num() else {
                return Ok(None);
            };
            if !i.fract().is_zero() {
                return Err(error(
                    f.span,
                    format!(
                        "a list index must be a whole number, found {}",
                        super::value::decimal_text(i)
                    ),
                ));
            }
            let Some(len) = value.list_len() else {
                return Ok(None);
            };
            let i = i.to_i128().unwrap_or(0);
            let len = len as i128;
            let position = if i >= 1 && i <= len {
                i - 1
            } else if i <= -1 && -i <= len {
                len + i
            } else {
                return Ok(None);
            };
            return Ok(value.list_get(position as usize));
        }
        let items = value.list_items().unwrap_or_else(|| vec![value.clone()]);
        let mut out = Vec::new();
        for item in &items {
            self.step(span)?;
            let inner = Scope::Item {
                item,
                parent: scope,
            };
            if self.eval(f, &inner, depth + 1)?.as_bool() == Some(true) {
                self.charge(NODE_COST, span)?;
                out.push(item.clone());
            }
        }
        Ok(Some(Val::list(out)))
    }

    /// Runs `body` for every combination of the iterations' values (the last varies fastest);
    /// `body` returns `false` to stop.
    fn for_each(
        &self,
        iters: &'a [Iteration],
        bound: &mut Vec<(String, Val<'a>)>,
        scope: &Scope<'_, 'a>,
        depth: usize,
        body: &mut dyn FnMut(&Self, &Scope<'_, 'a>) -> Result<bool, Error>,
    ) -> Result<bool, Error> {
        let Some((it, rest)) = iters.split_first() else {
            let inner = Scope::Vars {
                vars: bound,
                parent: scope,
            };
            return body(self, &inner);
        };
        let domain = {
            let inner = Scope::Vars {
                vars: bound,
                parent: scope,
            };
            self.domain(it, &inner, depth)?
        };
        for v in domain {
            self.step(it.name_span)?;
            bound.push((it.name.clone(), v));
            let go_on = self.for_each(rest, bound, scope, depth, body);
            bound.pop();
            if !go_on? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// The values an iteration variable takes: a list's elements, the whole numbers of
    /// `a..b` (counting down when `b < a`) or of a range with whole ends; another value once.
    fn domain(
        &self,
        it: &'a Iteration,
        scope: &Scope<'_, 'a>,
        depth: usize,
    ) -> Result<Vec<Val<'a>>, Error> {
        let from = self.eval(&it.domain, scope, depth + 1)?;
        let (start, end) = match &it.to {
            Some(to) => {
                let to = self.eval(to, scope, depth + 1)?;
                (from.as_num(), to.as_num())
            }
            None => match &from {
                Val::Range(r) => {
                    let s = r.start.as_ref().and_then(Val::as_num);
                    let e = r.end.as_ref().and_then(Val::as_num);
                    let one = Decimal::ONE;
                    (
                        s.map(|s| if r.start_closed { s } else { s + one }),
                        e.map(|e| if r.end_closed { e } else { e - one }),
                    )
                }
                _ => return Ok(from.list_items().unwrap_or_else(|| vec![from.clone()])),
            },
        };
        let (Some(start), Some(end)) = (start, end) else {
            return Err(error(
                it.domain.span,
                "a range to iterate over needs two numbers, like `1..10`",
            ));
        };
        let whole = |d: Decimal| d.fract().is_zero().then(|| d.to_i64()).flatten();
        let (Some(a), Some(b)) = (whole(start), whole(end)) else {
            return Err(error(
                it.domain.span,
                "a range to iterate over needs whole numbers",
            ));
        };
        let count = a.abs_diff(b).saturating_add(1);
        self.charge(
            NODE_COST.saturating_mul(usize::try_from(count).unwrap_or(usize::MAX)),
            it.domain.span,
        )?;
        Ok(if a <= b {
            (a..=b).map(|i| Val::Num(Decimal::from(i))).collect()
        } else {
            (b..=a).rev().map(|i| Val::Num(Decimal::from(i))).collect()
        })
    }

    /// Whether `v` passes any of the tests; `None` when a test cannot tell (e.g. `null < 5`)
    /// and none passed.
    fn tests_match(
        &self,
        v: &Val<'a>,
        tests: &'a [UnaryTest],
        scope: &Scope<'_, 'a>,
        depth: usize,
    ) -> Result<Option<bool>, Error> {
        let mut unknown = false;
        for t in tests {
            let m = match t {
                UnaryTest::Not(inner, _) => self.tests_match(v, inner, scope, depth)?.map(|b| !b),
                UnaryTest::Expr(e) => {
                    let test = self.eval(e, scope, depth + 1)?;
                    test_matches(v, &test)
                }
            };
            match m {
                Some(true) => return Ok(Some(true)),
                None => unknown = true,
                Some(false) => {}
            }
        }
        Ok(if unknown { None } else { Some(false) })
    }

    #[inline(never)]
    fn binary_chain(
        &self,
        first: &'a Expr,
        rest: &'a [super::ast::Operand],
        scope: &Scope<'_, 'a>,
        depth: usize,
    ) -> Result<Val<'a>, Error> {
        let mut acc = self.eval(first, scope, depth + 1)?;
        for operand in rest {
            // Three-valued short circuit: `false and …` is false, `true or …` is true.
            match (operand.op, acc.as_bool()) {
                (BinaryOp::And, Some(false)) | (BinaryOp::Or, Some(true)) => return Ok(acc),
                _ => {}
            }
            let rhs = self.eval(&operand.expr, scope, depth + 1)?;
            acc = self.binary(operand.op, &acc, &rhs, operand.op_span)?;
        }
        Ok(acc)
    }

    fn binary(&self, op: BinaryOp, a: &Val<'a>, b: &Val<'a>, span: Span) -> Result<Val<'a>, Error> {
        Ok(match op {
            BinaryOp::And => and3(a.as_bool(), b.as_bool()).map_or(Val::Null, Val::Bool),
            BinaryOp::Or => match (a.as_bool(), b.as_bool()) {
                (Some(true), _) | (_, Some(true)) => Val::Bool(true),
                (Some(false), Some(false)) => Val::Bool(false),
                _ => Val::Null,
            },
            // Values of two different types (neither null) do not compare: `null`, as the DMN
            // spec (10.3.2.2) and Camunda 8.3+ have it; `x = null` stays the null test.
            BinaryOp::Eq | BinaryOp::Ne
                if a.kind() != b.kind() && a.kind() != Kind::Null && b.kind() != Kind::Null =>
            {
                Val::Null
            }
            BinaryOp::Eq => Val::Bool(feel_eq(a, b)),
            BinaryOp::Ne => Val::Bool(!feel_eq(a, b)),
            BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => match feel_cmp(a, b) {
                None => Val::Null,
                Some(o) => Val::Bool(match op {
                    BinaryOp::Lt => o.is_lt(),
                    BinaryOp::Le => o.is_le(),
                    BinaryOp::Gt => o.is_gt(),
                    _ => o.is_ge(),
                }),
            },
            BinaryOp::Add => {
                if let (Some(x), Some(y)) = (a.as_str(), b.as_str()) {
                    self.charge(NODE_COST + x.len() + y.len(), span)?;
                    let mut s = String::with_capacity(x.len() + y.len());
                    s.push_str(x);
                    s.push_str(y);
                    return Ok(Val::str(s));
                }
                arith(a, b, Decimal::checked_add, Temporal::add)
            }
            BinaryOp::Sub => arith(a, b, Decimal::checked_sub, Temporal::sub),
            BinaryOp::Mul => match (a.as_temporal(), b.as_temporal()) {
                (Some(t), None) => b
                    .as_num()
                    .and_then(|n| scale(t, n, false))
                    .map_or(Val::Null, temporal),
                (None, Some(t)) => a
                    .as_num()
                    .and_then(|n| scale(t, n, false))
                    .map_or(Val::Null, temporal),
                _ => num_op(a, b, Decimal::checked_mul),
            },
            BinaryOp::Div => match (a.as_temporal(), b.as_temporal()) {
                (Some(t), None) => b
                    .as_num()
                    .and_then(|n| scale(t, n, true))
                    .map_or(Val::Null, temporal),
                (Some(x), Some(y)) => duration_ratio(x, y).map_or(Val::Null, Val::Num),
                _ => num_op(a, b, Decimal::checked_div),
            },
            BinaryOp::Pow => match (a.as_num(), b.as_num()) {
                (Some(x), Some(y)) => power(x, y).map_or(Val::Null, Val::Num),
                _ => Val::Null,
            },
        })
    }

    /// Calls a function value with positional arguments.
    pub(crate) fn apply(
        &self,
        f: &Lambda<'a>,
        args: Vec<Val<'a>>,
        span: Span,
        depth: usize,
    ) -> Result<Val<'a>, Error> {
        if args.len() != f.params.len() {
            return Err(error(
                span,
                format!(
                    "the function takes {} arguments, found {}",
                    f.params.len(),
                    args.len()
                ),
            ));
        }
        let captured = Scope::Vars {
            vars: &f.captured,
            parent: &Scope::Root,
        };
        let params: Vec<(String, Val<'a>)> =
            f.params.iter().map(|(p, _)| p.clone()).zip(args).collect();
        let inner = Scope::Vars {
            vars: &params,
            parent: &captured,
        };
        self.eval(f.body, &inner, depth + 1)
    }

    #[allow(clippy::too_many_arguments)]
    #[inline(never)]
    fn call(
        &self,
        name: &str,
        name_span: Span,
        args: &'a [Expr],
        arg_names: &[(String, Span)],
        span: Span,
        scope: &Scope<'_, 'a>,
        depth: usize,
    ) -> Result<Val<'a>, Error> {
        // A function value bound locally: `{ f: function(x) x + 1, y: f(2) }`.
        if let Some(Val::Func(f)) = self.lookup_name(name, scope) {
            if !arg_names.is_empty() {
                return Err(error(span, "a function value takes positional arguments"));
            }
            let mut values = Vec::with_capacity(args.len());
            for a in args {
                values.push(self.eval(a, scope, depth + 1)?);
            }
            return self.apply(&f, values, span, depth);
        }
        let Some(sig) = super::analyze::signature(name) else {
            return Err(error(
                name_span,
                super::analyze::unknown_function_message(name),
            ));
        };
        let ordered = super::analyze::order_arguments(name, sig, args, arg_names, span)?;
        if name == "is defined" {
            let present = match ordered.first() {
                Some(Some(arg)) => self.lookup(arg, scope, depth + 1)?.is_some(),
                _ => false,
            };
            return Ok(Val::Bool(present));
        }
        let mut values = Vec::with_capacity(ordered.len());
        for a in &ordered {
            values.push(match a {
                Some(e) => Some(self.eval(e, scope, depth + 1)?),
                None => None,
            });
        }
        self.builtin(name, values, span, depth)
    }
}

fn temporal(t: Temporal) -> Val<'static> {
    Val::Temporal(Rc::new(t))
}

pub(crate) fn and3(a: Option<bool>, b: Option<bool>) -> Option<bool> {
    match (a, b) {
        (Some(false), _) | (_, Some(false)) => Some(false),
        (Some(true), Some(true)) => Some(true),
        _ => None,
    }
}

fn negate<'a>(v: &Val<'a>) -> Val<'a> {
    if let Some(n) = v.as_num() {
        return Val::Num(-n);
    }
    match v.as_temporal() {
        Some(Temporal::DayTime(d)) => d
            .negate()
            .map_or(Val::Null, |d| temporal(Temporal::DayTime(d))),
        Some(Temporal::YearMonth(d)) => temporal(Temporal::YearMonth(d.negate())),
        _ => Val::Null,
    }
}

fn num_op<'a>(a: &Val<'a>, b: &Val<'a>, f: fn(Decimal, Decimal) -> Option<Decimal>) -> Val<'a> {
    match (a.as_num(), b.as_num()) {
        (Some(x), Some(y)) => f(x, y).map_or(Val::Null, Val::Num),
        _ => Val::Null,
    }
}

fn arith<'a>(
    a: &Val<'a>,
    b: &Val<'a>,
    f: fn(Decimal, Decimal) -> Option<Decimal>,
    t: fn(&Temporal, &Temporal) -> Result<Temporal, super::temporal::TemporalError>,
) -> Val<'a> {
    match (a.as_temporal(), b.as_temporal()) {
        (Some(x), Some(y)) => t(x, y).map_or(Val::Null, temporal),
        _ => num_op(a, b, f),
    }
}

/// A duration times or divided by a number.
fn scale(t: &Temporal, n: Decimal, divide: bool) -> Option<Temporal> {
    if divide && n.is_zero() {
        return None;
    }
    match t {
        Temporal::DayTime(d) => {
            let nanos = Decimal::from_i128_with_scale(d.as_nanos(), 0);
            let r = if divide {
                nanos.checked_div(n)?
            } else {
                nanos.checked_mul(n)?
            };
            super::temporal::DayTimeDuration::from_nanos(r.round().to_i128()?)
                .ok()
                .map(Temporal::DayTime)
        }
        Temporal::YearMonth(d) => {
            let months = Decimal::from(d.months());
            let r = if divide {
                months.checked_div(n)?
            } else {
                months.checked_mul(n)?
            };
            super::temporal::YearMonthDuration::from_months(r.trunc().to_i64()?)
                .ok()
                .map(Temporal::YearMonth)
        }
        _ => None,
    }
}

fn duration_ratio(x: &Temporal, y: &Temporal) -> Option<Decimal> {
    match (x, y) {
        (Temporal::DayTime(a), Temporal::DayTime(b)) => {
            Decimal::from_i128_with_scale(a.as_nanos(), 0)
                .checked_div(Decimal::from_i128_with_scale(b.as_nanos(), 0))
        }
        (Temporal::YearMonth(a), Temporal::YearMonth(b)) => {
            Decimal::from(a.months()).checked_div(Decimal::from(b.months()))
        }
        _ => None,
    }
}

/// `x ** y`: exact for whole exponents, else through floating point.
pub(crate) fn power(x: Decimal, y: Decimal) -> Option<Decimal> {
    if y.fract().is_zero()
        && let Some(e) = y.to_i64()
        && e.abs() <= 10_000
    {
        if e >= 0 {
            return x.checked_powi(e);
        }
        return Decimal::ONE.checked_div(x.checked_powi(-e)?);
    }
    let r = x.to_f64()?.powf(y.to_f64()?);
    if r.is_finite() {
        Decimal::from_f64(r)
    } else {
        None
    }
}

/// One unary test's verdict on `v`: a range includes it, a list contains it, else equality.
fn test_matches(v: &Val<'_>, test: &Val<'_>) -> Option<bool> {
    match test {
        Val::Range(r) => in_range(v, r),
        _ if test.kind() == Kind::List => Some(
            test.list_items()
                .unwrap_or_default()
                .iter()
                .any(|item| match item {
                    Val::Range(r) => in_range(v, r) == Some(true),
                    _ => feel_eq(v, item),
                })
                || feel_eq(v, test),
        ),
        _ => Some(feel_eq(v, test)),
    }
}

pub(crate) fn in_range(v: &Val<'_>, r: &RangeVal<'_>) -> Option<bool> {
    let above = match &r.start {
        None => Some(true),
        Some(s) => feel_cmp(v, s).map(|o| o.is_gt() || (r.start_closed && o.is_eq())),
    };
    let below = match &r.end {
        None => Some(true),
        Some(e) => feel_cmp(v, e).map(|o| o.is_lt() || (r.end_closed && o.is_eq())),
    };
    and3(above, below)
}

fn instance_of(v: &Val<'_>, ty: &TypeRef) -> bool {
    let k = v.kind();
    match ty.name.as_str() {
        "Any" => k != Kind::Null,
        "Null" => k == Kind::Null,
        "list" => {
            k == Kind::List
                && ty.element.as_ref().is_none_or(|e| {
                    v.list_items()
                        .unwrap_or_default()
                        .iter()
                        .all(|item| instance_of(item, e))
                })
        }
        "range" => k == Kind::Range,
        "function" => k == Kind::Func,
        "context" => k == Kind::Ctx,
        other => k != Kind::Null && type_name(v) == other,
    }
}
