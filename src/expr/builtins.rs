//! The builtin functions of FEEL as Camunda 8 documents them (string, list, numeric, context,
//! conversion, temporal), plus `bpmnError`; arguments arrive evaluated and in parameter order.

use std::cmp::Ordering;
use std::rc::Rc;

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, MathematicalOps, RoundingStrategy};

use super::ast::Span;
use super::eval::{Evaluator, error};
use super::temporal::{
    Date, DateTime, Duration, SystemClock, Temporal, Time, years_and_months_between,
};
use super::text::{self, TextError};
use super::value::{Kind, NODE_COST, Val, feel_cmp, feel_eq, to_feel_string};
use super::{Error, bpmn};

type Args<'a> = Vec<Option<Val<'a>>>;

fn arg<'a>(args: &Args<'a>, i: usize) -> Val<'a> {
    args.get(i).cloned().flatten().unwrap_or(Val::Null)
}

fn given(args: &Args<'_>, i: usize) -> bool {
    args.get(i).is_some_and(Option::is_some)
}

fn num(v: Decimal) -> Val<'static> {
    Val::Num(v)
}

fn opt_num(v: Option<Decimal>) -> Val<'static> {
    v.map_or(Val::Null, Val::Num)
}

fn temporal(t: Temporal) -> Val<'static> {
    Val::Temporal(Rc::new(t))
}

fn whole(v: &Val<'_>) -> Option<i64> {
    let d = v.as_num()?;
    if d.fract().is_zero() {
        d.to_i64()
    } else {
        None
    }
}

impl<'a> Evaluator<'_, 'a> {
    fn text_error(&self, e: TextError, span: Span) -> Result<Val<'a>, Error> {
        match e {
            TextError::Position(_) => Ok(Val::Null),
            other => Err(error(span, other.to_string())),
        }
    }

    fn built_str(&self, s: String, span: Span) -> Result<Val<'a>, Error> {
        self.charge(NODE_COST + s.len(), span)?;
        Ok(Val::str(s))
    }

    fn built_list(&self, items: Vec<Val<'a>>, span: Span) -> Result<Val<'a>, Error> {
        self.charge(NODE_COST.saturating_mul(items.len() + 1), span)?;
        Ok(Val::list(items))
    }

    /// The list a list function works on: `f([1, 2])` or `f(1, 2)` for the variadic ones.
    fn list_of(args: &Args<'a>, variadic: bool) -> Option<Vec<Val<'a>>> {
        let given: Vec<Val<'a>> = args.iter().flatten().cloned().collect();
        if given.len() == 1 || !variadic {
            return given.first()?.list_items();
        }
        Some(given)
    }

    pub(crate) fn builtin(
        &self,
        name: &str,
        args: Args<'a>,
        span: Span,
        depth: usize,
    ) -> Result<Val<'a>, Error> {
        let a0 = arg(&args, 0);
        let a1 = arg(&args, 1);
        Ok(match name {
            // conversion, boolean, context
            "not" => a0.as_bool().map_or(Val::Null, |b| Val::Bool(!b)),
            "string" => match to_feel_string(&a0) {
                None => Val::Null,
                Some(_) if a0.kind() == Kind::Str => a0,
                Some(s) => self.built_str(s, span)?,
            },
            "number" => self.number(&args),
            "get or else" => {
                if a0.is_null() {
                    a1
                } else {
                    a0
                }
            }
            "get value" => match a1.as_str() {
                Some(k) => a0.ctx_get(k).unwrap_or(Val::Null),
                None => match a1.list_items() {
                    Some(keys) => {
                        let mut cur = Some(a0);
                        for k in keys {
                            cur = match (cur, k.as_str()) {
                                (Some(c), Some(k)) => c.ctx_get(k),
                                _ => None,
                            };
                        }
                        cur.unwrap_or(Val::Null)
                    }
                    None => Val::Null,
                },
            },
            "get entries" => match a0.ctx_entries() {
                Some(entries) => {
                    let mut out = Vec::with_capacity(entries.len());
                    for (k, v) in entries {
                        self.charge(3 * NODE_COST + k.len(), span)?;
                        out.push(Val::Ctx(Rc::new(vec![
                            ("key".to_string(), Val::str(k)),
                            ("value".to_string(), v),
                        ])));
                    }
                    self.built_list(out, span)?
                }
                None => Val::Null,
            },
            "context" => match a0.list_items() {
                Some(items) => {
                    let mut out: Vec<(String, Val<'a>)> = Vec::new();
                    for item in items {
                        let (Some(k), Some(v)) = (item.ctx_get("key"), item.ctx_get("value"))
                        else {
                            return Ok(Val::Null);
                        };
                        let Some(k) = k.as_str().map(str::to_string) else {
                            return Ok(Val::Null);
                        };
                        self.charge(NODE_COST + k.len(), span)?;
                        out.retain(|(key, _)| *key != k);
                        out.push((k, v));
                    }
                    Val::Ctx(Rc::new(out))
                }
                None => Val::Null,
            },
            "context put" => {
                let (Some(mut entries), Some(key)) = (a0.ctx_entries(), a1.as_str()) else {
                    return Ok(Val::Null);
                };
                self.charge(NODE_COST.saturating_mul(entries.len() + 2), span)?;
                let value = arg(&args, 2);
                match entries.iter_mut().find(|(k, _)| k == key) {
                    Some(slot) => slot.1 = value,
                    None => entries.push((key.to_string(), value)),
                }
                Val::Ctx(Rc::new(entries))
            }
            "context merge" => {
                let Some(contexts) = a0.list_items() else {
                    return Ok(Val::Null);
                };
                let mut out: Vec<(String, Val<'a>)> = Vec::new();
                for c in contexts {
                    let Some(entries) = c.ctx_entries() else {
                        return Ok(Val::Null);
                    };
                    self.charge(NODE_COST.saturating_mul(entries.len()), span)?;
                    for (k, v) in entries {
                        match out.iter_mut().find(|(key, _)| *key == k) {
                            Some(slot) => slot.1 = v,
                            None => out.push((k, v)),
                        }
                    }
                }
                Val::Ctx(Rc::new(out))
            }
            "bpmnError" => {
                let (Some(code), Some(message)) = (a0.as_str(), a1.as_str()) else {
                    return Err(error(
                        span,
                        "bpmnError(code, message) takes two strings (and optionally a context of variables)",
                    ));
                };
                let mut entries = vec![
                    ("errorType".to_string(), Val::str(bpmn::BPMN_ERROR_TYPE)),
                    ("code".to_string(), Val::str(code)),
                    ("message".to_string(), Val::str(message)),
                ];
                let vars = arg(&args, 2);
                if vars.kind() == Kind::Ctx {
                    entries.push(("variables".to_string(), vars));
                }
                self.charge(4 * NODE_COST + code.len() + message.len(), span)?;
                Val::Ctx(Rc::new(entries))
            }
            // string
            "string length" => a0.as_str().map_or(Val::Null, |s| {
                num(Decimal::from(text::string_length(s) as u64))
            }),
            "substring" => {
                let (Some(s), Some(start)) = (a0.as_str(), whole(&a1)) else {
                    return Ok(Val::Null);
                };
                let length = if given(&args, 2) {
                    match whole(&arg(&args, 2)) {
                        Some(l) => Some(l),
                        None => return Ok(Val::Null),
                    }
                } else {
                    None
                };
                match text::substring(s, start, length) {
                    Ok(r) => self.built_str(r, span)?,
                    Err(e) => return self.text_error(e, span),
                }
            }
            "upper case" => match a0.as_str() {
                Some(s) => self.built_str(text::upper_case(s), span)?,
                None => Val::Null,
            },
            "lower case" => match a0.as_str() {
                Some(s) => self.built_str(text::lower_case(s), span)?,
                None => Val::Null,
            },
            "substring before" | "substring after" | "contains" | "starts with" | "ends with" => {
                let (Some(s), Some(m)) = (a0.as_str(), a1.as_str()) else {
                    return Ok(Val::Null);
                };
                match name {
                    "substring before" => {
                        self.built_str(text::substring_before(s, m).into(), span)?
                    }
                    "substring after" => {
                        self.built_str(text::substring_after(s, m).into(), span)?
                    }
                    "contains" => Val::Bool(text::contains(s, m)),
                    "starts with" => Val::Bool(text::starts_with(s, m)),
                    _ => Val::Bool(text::ends_with(s, m)),
                }
            }
            "matches" => {
                let (Some(s), Some(p)) = (a0.as_str(), a1.as_str()) else {
                    return Ok(Val::Null);
                };
                let flags = arg(&args, 2);
                match text::matches(s, p, flags.as_str()) {
                    Ok(b) => Val::Bool(b),
                    Err(e) => return self.text_error(e, span),
                }
            }
            "replace" => {
                let a2 = arg(&args, 2);
                let (Some(s), Some(p), Some(r)) = (a0.as_str(), a1.as_str(), a2.as_str()) else {
                    return Ok(Val::Null);
                };
                let flags = arg(&args, 3);
                match text::replace(s, p, r, flags.as_str()) {
                    Ok(out) => self.built_str(out, span)?,
                    Err(e) => return self.text_error(e, span),
                }
            }
            "split" | "extract" => {
                let (Some(s), Some(p)) = (a0.as_str(), a1.as_str()) else {
                    return Ok(Val::Null);
                };
                let parts = if name == "split" {
                    text::split(s, p, None)
                } else {
                    text::extract(s, p)
                };
                match parts {
                    Ok(parts) => {
                        let mut out = Vec::with_capacity(parts.len());
                        for p in parts {
                            out.push(self.built_str(p, span)?);
                        }
                        self.built_list(out, span)?
                    }
                    Err(e) => return self.text_error(e, span),
                }
            }
            "string join" => {
                let Some(items) = a0.list_items() else {
                    return Ok(Val::Null);
                };
                if items.iter().any(|i| !i.is_null() && i.kind() != Kind::Str) {
                    return Ok(Val::Null);
                }
                let strs: Vec<Option<&str>> = items.iter().map(Val::as_str).collect();
                let (d, p, s) = (arg(&args, 1), arg(&args, 2), arg(&args, 3));
                self.built_str(
                    text::string_join(&strs, d.as_str(), p.as_str(), s.as_str()),
                    span,
                )?
            }
            "trim" => match a0.as_str() {
                Some(s) => self.built_str(text::trim(s).to_string(), span)?,
                None => Val::Null,
            },
            "is blank" => a0
                .as_str()
                .map_or(Val::Null, |s| Val::Bool(text::is_blank(s))),
            // list
            "list contains" => match a0.list_items() {
                Some(items) => Val::Bool(items.iter().any(|i| feel_eq(i, &a1))),
                None => Val::Null,
            },
            "count" => a0
                .list_len()
                .map_or(Val::Null, |n| num(Decimal::from(n as u64))),
            "min" | "max" => {
                let Some(items) = Self::list_of(&args, true) else {
                    return Ok(Val::Null);
                };
                let want = if name == "min" {
                    Ordering::Less
                } else {
                    Ordering::Greater
                };
                let mut best: Option<Val<'a>> = None;
                for item in items {
                    best = match best {
                        None => Some(item),
                        Some(b) => match feel_cmp(&item, &b) {
                            Some(o) if o == want => Some(item),
                            Some(_) => Some(b),
                            None => return Ok(Val::Null),
                        },
                    };
                }
                best.unwrap_or(Val::Null)
            }
            "sum" | "product" | "mean" | "median" | "stddev" | "mode" => {
                let Some(items) = Self::list_of(&args, true) else {
                    return Ok(Val::Null);
                };
                let Some(nums) = items.iter().map(Val::as_num).collect::<Option<Vec<_>>>() else {
                    return Ok(Val::Null);
                };
                self.statistic(name, nums, span)?
            }
            "all" | "any" => {
                let Some(items) = Self::list_of(&args, true) else {
                    return Ok(Val::Null);
                };
                let bools: Vec<Option<bool>> = items.iter().map(Val::as_bool).collect();
                let (stop, empty) = if name == "all" {
                    (false, true)
                } else {
                    (true, false)
                };
                if bools.contains(&Some(stop)) {
                    Val::Bool(stop)
                } else if bools.iter().any(Option::is_none) {
                    Val::Null
                } else {
                    Val::Bool(empty)
                }
            }
            "sublist" => {
                let (Some(items), Some(start)) = (a0.list_items(), whole(&a1)) else {
                    return Ok(Val::Null);
                };
                let len = items.len() as i64;
                let from = if start > 0 { start - 1 } else { len + start };
                if start == 0 || from < 0 || from >= len {
                    return Ok(Val::Null);
                }
                let count = if given(&args, 2) {
                    match whole(&arg(&args, 2)) {
                        Some(c) if c >= 0 => c,
                        _ => return Ok(Val::Null),
                    }
                } else {
                    len - from
                };
                let to = from.saturating_add(count).min(len);
                self.built_list(items[from as usize..to as usize].to_vec(), span)?
            }
            "append" => {
                let Some(mut items) = a0.list_items() else {
                    return Ok(Val::Null);
                };
                items.extend(args.iter().skip(1).flatten().cloned());
                self.built_list(items, span)?
            }
            "concatenate" | "union" => {
                let mut out: Vec<Val<'a>> = Vec::new();
                for l in args.iter().flatten() {
                    let Some(items) = l.list_items() else {
                        return Ok(Val::Null);
                    };
                    for item in items {
                        if name == "union" && out.iter().any(|o| feel_eq(o, &item)) {
                            continue;
                        }
                        out.push(item);
                    }
                }
                self.built_list(out, span)?
            }
            "insert before" | "remove" => {
                let (Some(mut items), Some(pos)) = (a0.list_items(), whole(&a1)) else {
                    return Ok(Val::Null);
                };
                let len = items.len() as i64;
                let i = if pos > 0 { pos - 1 } else { len + pos };
                if pos == 0 || i < 0 || i >= len.max(1) || (name == "remove" && i >= len) {
                    return Ok(Val::Null);
                }
                if name == "remove" {
                    items.remove(i as usize);
                } else {
                    items.insert(i as usize, arg(&args, 2));
                }
                self.built_list(items, span)?
            }
            "reverse" => match a0.list_items() {
                Some(mut items) => {
                    items.reverse();
                    self.built_list(items, span)?
                }
                None => Val::Null,
            },
            "index of" => match a0.list_items() {
                Some(items) => {
                    let found = items
                        .iter()
                        .enumerate()
                        .filter(|(_, i)| feel_eq(i, &a1))
                        .map(|(n, _)| num(Decimal::from(n as u64 + 1)))
                        .collect();
                    self.built_list(found, span)?
                }
                None => Val::Null,
            },
            "distinct values" | "duplicate values" => {
                let Some(items) = a0.list_items() else {
                    return Ok(Val::Null);
                };
                let mut seen: Vec<Val<'a>> = Vec::new();
                let mut dups: Vec<Val<'a>> = Vec::new();
                for item in items {
                    self.step(span)?;
                    if seen.iter().any(|s| feel_eq(s, &item)) {
                        if !dups.iter().any(|d| feel_eq(d, &item)) {
                            dups.push(item);
                        }
                    } else {
                        seen.push(item);
                    }
                }
                if name == "distinct values" {
                    self.built_list(seen, span)?
                } else {
                    // In the order of their first occurrence.
                    let ordered = seen
                        .into_iter()
                        .filter(|s| dups.iter().any(|d| feel_eq(d, s)))
                        .collect();
                    self.built_list(ordered, span)?
                }
            }
            "flatten" => {
                if a0.kind() != Kind::List {
                    return Ok(Val::Null);
                }
                let mut out = Vec::new();
                let mut stack = vec![a0];
                while let Some(v) = stack.pop() {
                    match v.list_items() {
                        Some(items) => stack.extend(items.into_iter().rev()),
                        None => out.push(v),
                    }
                    self.step(span)?;
                }
                self.built_list(out, span)?
            }
            "sort" => self.sort(&args, span, depth)?,
            "is empty" => a0.list_len().map_or(Val::Null, |n| Val::Bool(n == 0)),
            "partition" => {
                let (Some(items), Some(size)) = (a0.list_items(), whole(&a1)) else {
                    return Ok(Val::Null);
                };
                if size <= 0 {
                    return Ok(Val::Null);
                }
                let mut out = Vec::new();
                for chunk in items.chunks(size as usize) {
                    out.push(self.built_list(chunk.to_vec(), span)?);
                }
                self.built_list(out, span)?
            }
            // numeric
            "decimal" | "floor" | "ceiling" | "round up" | "round down" | "round half up"
            | "round half down" => {
                let Some(n) = a0.as_num() else {
                    return Ok(Val::Null);
                };
                let scale = if given(&args, 1) {
                    match whole(&a1) {
                        Some(s) if (0..=28).contains(&s) => s as u32,
                        _ => return Ok(Val::Null),
                    }
                } else {
                    0
                };
                let strategy = match name {
                    "decimal" => RoundingStrategy::MidpointNearestEven,
                    "floor" => RoundingStrategy::ToNegativeInfinity,
                    "ceiling" => RoundingStrategy::ToPositiveInfinity,
                    "round up" => RoundingStrategy::AwayFromZero,
                    "round down" => RoundingStrategy::ToZero,
                    "round half up" => RoundingStrategy::MidpointAwayFromZero,
                    _ => RoundingStrategy::MidpointTowardZero,
                };
                num(n.round_dp_with_strategy(scale, strategy))
            }
            "abs" => match a0.as_num() {
                Some(n) => num(n.abs()),
                None => match a0.as_temporal() {
                    Some(Temporal::DayTime(d)) => d
                        .abs()
                        .map_or(Val::Null, |d| temporal(Temporal::DayTime(d))),
                    Some(Temporal::YearMonth(d)) => temporal(Temporal::YearMonth(d.abs())),
                    _ => Val::Null,
                },
            },
            "modulo" => match (a0.as_num(), a1.as_num()) {
                (Some(x), Some(y)) if !y.is_zero() => opt_num(
                    x.checked_div(y)
                        .map(|q| q.floor())
                        .and_then(|q| q.checked_mul(y))
                        .and_then(|p| x.checked_sub(p)),
                ),
                _ => Val::Null,
            },
            "sqrt" => opt_num(a0.as_num().and_then(|n| n.sqrt())),
            "log" => opt_num(
                a0.as_num()
                    .filter(|n| n.is_sign_positive() && !n.is_zero())
                    .and_then(|n| n.checked_ln()),
            ),
            "exp" => opt_num(a0.as_num().and_then(|n| n.checked_exp())),
            "odd" | "even" => match whole(&a0) {
                Some(n) => Val::Bool((n % 2 != 0) == (name == "odd")),
                None => Val::Null,
            },
            // temporal
            "date" | "time" | "date and time" | "duration" | "years and months duration" => {
                self.temporal_builtin(name, &args)
            }
            "now" => temporal(Temporal::DateTime(DateTime::now(&SystemClock))),
            "today" => temporal(Temporal::Date(Date::today(&SystemClock))),
            "day of week" | "day of year" | "week of year" | "month of year"
            | "last day of month" => {
                let date = match a0.as_temporal() {
                    Some(Temporal::Date(d)) => *d,
                    Some(Temporal::DateTime(dt)) => dt.date(),
                    _ => return Ok(Val::Null),
                };
                match name {
                    "day of week" => Val::str(date.day_of_week()),
                    "day of year" => num(Decimal::from(date.day_of_year())),
                    "week of year" => num(Decimal::from(date.week_of_year())),
                    "month of year" => Val::str(date.month_of_year()),
                    _ => temporal(Temporal::Date(date.last_day_of_month())),
                }
            }
            _ => {
                return Err(error(span, super::analyze::unknown_function_message(name)));
            }
        })
    }

    fn number(&self, args: &Args<'a>) -> Val<'a> {
        let a0 = arg(args, 0);
        if let Some(n) = a0.as_num() {
            return num(n);
        }
        let Some(s) = a0.as_str() else {
            return Val::Null;
        };
        let mut text = s.trim().to_string();
        if let Some(g) = arg(args, 1).as_str().filter(|g| !g.is_empty()) {
            text = text.replace(g, "");
        }
        if let Some(d) = arg(args, 2).as_str().filter(|d| !d.is_empty()) {
            text = text.replace(d, ".");
        }
        parse_number(&text).map_or(Val::Null, num)
    }

    fn statistic(&self, name: &str, mut nums: Vec<Decimal>, span: Span) -> Result<Val<'a>, Error> {
        let n = Decimal::from(nums.len() as u64);
        Ok(match name {
            "sum" => opt_num(
                nums.iter()
                    .try_fold(Decimal::ZERO, |a, b| a.checked_add(*b)),
            ),
            "product" => {
                if nums.is_empty() {
                    Val::Null
                } else {
                    opt_num(nums.iter().try_fold(Decimal::ONE, |a, b| a.checked_mul(*b)))
                }
            }
            "mean" if !nums.is_empty() => opt_num(
                nums.iter()
                    .try_fold(Decimal::ZERO, |a, b| a.checked_add(*b))
                    .and_then(|s| s.checked_div(n)),
            ),
            "median" if !nums.is_empty() => {
                nums.sort();
                let mid = nums.len() / 2;
                if nums.len() % 2 == 1 {
                    num(nums[mid])
                } else {
                    opt_num(
                        nums[mid - 1]
                            .checked_add(nums[mid])
                            .and_then(|s| s.checked_div(Decimal::TWO)),
                    )
                }
            }
            "stddev" if nums.len() > 1 => {
                let mean = nums
                    .iter()
                    .try_fold(Decimal::ZERO, |a, b| a.checked_add(*b))
                    .and_then(|s| s.checked_div(n));
                let var = mean.and_then(|m| {
                    nums.iter()
                        .try_fold(Decimal::ZERO, |a, x| {
                            let d = x.checked_sub(m)?;
                            a.checked_add(d.checked_mul(d)?)
                        })
                        .and_then(|s| s.checked_div(n - Decimal::ONE))
                });
                opt_num(var.and_then(|v| v.sqrt()))
            }
            "mode" => {
                nums.sort();
                let mut best: Vec<Decimal> = Vec::new();
                let (mut best_count, mut i) = (0usize, 0usize);
                while i < nums.len() {
                    let mut j = i;
                    while j < nums.len() && nums[j] == nums[i] {
                        j += 1;
                    }
                    let c = j - i;
                    if c > best_count {
                        best_count = c;
                        best.clear();
                    }
                    if c == best_count {
                        best.push(nums[i]);
                    }
                    i = j;
                }
                self.built_list(best.into_iter().map(Val::Num).collect(), span)?
            }
            _ => Val::Null,
        })
    }

    fn sort(&self, args: &Args<'a>, span: Span, depth: usize) -> Result<Val<'a>, Error> {
        let Some(mut items) = arg(args, 0).list_items() else {
            return Ok(Val::Null);
        };
        self.charge(NODE_COST.saturating_mul(items.len() + 1), span)?;
        match arg(args, 1) {
            Val::Func(f) => {
                // Insertion by binary search keeps the number of calls at n log n and never
                // needs a total order from the user's function.
                let mut sorted: Vec<Val<'a>> = Vec::with_capacity(items.len());
                for item in items {
                    let (mut lo, mut hi) = (0, sorted.len());
                    while lo < hi {
                        let mid = (lo + hi) / 2;
                        let before = self
                            .apply(&f, vec![item.clone(), sorted[mid].clone()], span, depth)?
                            .as_bool()
                            == Some(true);
                        if before {
                            hi = mid;
                        } else {
                            lo = mid + 1;
                        }
                    }
                    sorted.insert(lo, item);
                }
                Ok(Val::list(sorted))
            }
            Val::Null => {
                let mut failed = false;
                items.sort_by(|a, b| {
                    feel_cmp(a, b).unwrap_or_else(|| {
                        failed = true;
                        Ordering::Equal
                    })
                });
                Ok(if failed { Val::Null } else { Val::list(items) })
            }
            _ => Err(error(
                span,
                "sort's second argument must be a function, like function(x, y) x < y",
            )),
        }
    }

    fn temporal_builtin(&self, name: &str, args: &Args<'a>) -> Val<'a> {
        let a0 = arg(args, 0);
        let a1 = arg(args, 1);
        let from_text = |parse: fn(&str) -> Option<Temporal>| a0.as_str().and_then(parse);
        let out: Option<Temporal> = match name {
            "date" if given(args, 1) => match (whole(&a0), whole(&a1), whole(&arg(args, 2))) {
                (Some(y), Some(m), Some(d)) => Date::from_parts(y, m, d).ok().map(Temporal::Date),
                _ => None,
            },
            "date" => match a0.as_temporal() {
                Some(Temporal::Date(d)) => Some(Temporal::Date(*d)),
                Some(Temporal::DateTime(dt)) => Some(Temporal::Date(dt.date())),
                _ => from_text(|s| Date::parse(s).ok().map(Temporal::Date)),
            },
            "time" if given(args, 1) => {
                let sec = arg(args, 2).as_num();
                let offset = match arg(args, 3).as_temporal() {
                    Some(Temporal::DayTime(d)) => Some(*d),
                    _ => None,
                };
                match (whole(&a0), whole(&a1), sec) {
                    (Some(h), Some(m), Some(s)) => {
                        let secs = s.trunc().to_i64();
                        let nanos = (s.fract() * Decimal::from(1_000_000_000)).trunc().to_i32();
                        match (secs, nanos) {
                            (Some(secs), Some(nanos)) => {
                                Time::from_parts(h, m, secs, nanos, offset)
                                    .ok()
                                    .map(Temporal::Time)
                            }
                            _ => None,
                        }
                    }
                    _ => None,
                }
            }
            "time" => match a0.as_temporal() {
                Some(Temporal::Time(t)) => Some(Temporal::Time(*t)),
                Some(Temporal::DateTime(dt)) => dt.time().ok().map(Temporal::Time),
                Some(Temporal::Date(_)) => {
                    Time::from_parts(0, 0, 0, 0, None).ok().map(Temporal::Time)
                }
                _ => from_text(|s| Time::parse(s).ok().map(Temporal::Time)),
            },
            "date and time" if given(args, 1) => match (a0.as_temporal(), a1.as_temporal()) {
                (Some(Temporal::Date(d)), Some(Temporal::Time(t))) => {
                    Some(Temporal::DateTime(DateTime::from_date_time(*d, *t)))
                }
                (Some(Temporal::DateTime(dt)), Some(Temporal::Time(t))) => {
                    Some(Temporal::DateTime(DateTime::from_date_time(dt.date(), *t)))
                }
                (Some(Temporal::DateTime(dt)), None) => a1
                    .as_str()
                    .and_then(|z| dt.in_zone(z).ok())
                    .map(Temporal::DateTime),
                _ => None,
            },
            "date and time" => match a0.as_temporal() {
                Some(Temporal::DateTime(dt)) => Some(Temporal::DateTime(dt.clone())),
                Some(Temporal::Date(d)) => Time::from_parts(0, 0, 0, 0, None)
                    .ok()
                    .map(|t| Temporal::DateTime(DateTime::from_date_time(*d, t))),
                _ => from_text(|s| {
                    if s.contains('T') {
                        DateTime::parse(s).ok().map(Temporal::DateTime)
                    } else {
                        let d = Date::parse(s).ok()?;
                        let t = Time::from_parts(0, 0, 0, 0, None).ok()?;
                        Some(Temporal::DateTime(DateTime::from_date_time(d, t)))
                    }
                }),
            },
            "duration" => match a0.as_temporal() {
                Some(t @ (Temporal::DayTime(_) | Temporal::YearMonth(_))) => Some(t.clone()),
                _ => from_text(|s| {
                    Duration::parse(s).ok().map(|d| match d {
                        Duration::DayTime(d) => Temporal::DayTime(d),
                        Duration::YearMonth(d) => Temporal::YearMonth(d),
                    })
                }),
            },
            _ => {
                let date = |v: &Val<'_>| match v.as_temporal() {
                    Some(Temporal::Date(d)) => Some(*d),
                    Some(Temporal::DateTime(dt)) => Some(dt.date()),
                    _ => None,
                };
                match (date(&a0), date(&a1)) {
                    (Some(f), Some(t)) => Some(Temporal::YearMonth(years_and_months_between(f, t))),
                    _ => None,
                }
            }
        };
        out.map_or(Val::Null, temporal)
    }
}

/// FEEL's `number(string)`: an optional sign, digits with an optional fraction and exponent;
/// anything else is `None`.
pub(crate) fn parse_number(t: &str) -> Option<Decimal> {
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
    let text = t.strip_prefix('+').unwrap_or(t);
    if exponent.is_some() {
        Decimal::from_scientific(text).ok()
    } else {
        text.parse::<Decimal>().ok()
    }
}
