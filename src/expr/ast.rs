//! The syntax tree of a FEEL expression: nodes with their byte spans in the source text.
//! Built by the parser, read by the evaluator, the analysis and `secret_bindings`.

use std::fmt;

use rust_decimal::Decimal;

/// A byte range `start..end` in the expression text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }

    /// The smallest span covering both `self` and `other`.
    pub fn to(self, other: Span) -> Span {
        Span {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..{}", self.start, self.end)
    }
}

/// One node of the tree, with the span of the source text it was parsed from.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

/// What a node is.
///
/// Parentheses leave no node of their own: `(a)` parses to the node of `a`. Operator chains of
/// one precedence level are flat (`Binary`), and so are path chains (`Path`), so a long
/// `1 + 1 + …` or `a.b.c…` does not make a deep tree.
#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    /// `null`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// A number literal, exact (FEEL numbers are decimals).
    Number(Decimal),
    /// A string literal, escapes already decoded.
    String(String),
    /// A temporal literal `@"2024-01-31"`; the text was checked by the parser.
    At(String),
    /// A variable name (`circuit_data`, `$secrets`, `first name`, `` `x-ray` ``), resolved
    /// against the innermost bindings first (context entries, `for` variables, `item`), then
    /// against the variables.
    Name(String),
    /// A path or filter chain on a base: `a.b[1].c` is base `a` with steps `.b`, `[1]`, `.c`.
    Path {
        base: Box<Expr>,
        steps: Vec<PathStep>,
    },
    /// A list literal `[e, …]`.
    List(Vec<Expr>),
    /// A context literal `{ "k": e, k2: e }`; entries in source order, keys unique.
    Context(Vec<ContextEntry>),
    /// A range literal: `[1..10]`, `(1..10)`, `]1..10[`, and inside `in`/unary tests `< 5`
    /// (one end open: `start` or `end` is `None`).
    Range(Box<RangeLit>),
    /// Unary minus `-e`.
    Neg(Box<Expr>),
    /// A left-associative chain of operators of one precedence level, evaluated left to right:
    /// `a + b - c` is `first = a`, `rest = [(+, b), (-, c)]`. Comparisons never chain.
    Binary {
        first: Box<Expr>,
        rest: Vec<Operand>,
    },
    /// A function call `name(args…)`, `name` as written with single spaces (`get or else`).
    /// `arg_names` is empty for positional arguments, else one name per argument.
    Call {
        name: String,
        name_span: Span,
        args: Vec<Expr>,
        arg_names: Vec<(String, Span)>,
    },
    /// `if c then a else b`.
    If {
        cond: Box<Expr>,
        then: Box<Expr>,
        els: Box<Expr>,
    },
    /// `for i in xs, j in 1..3 return e`.
    For {
        iters: Vec<Iteration>,
        body: Box<Expr>,
    },
    /// `some x in xs satisfies c` (`every: false`) / `every x in xs satisfies c`.
    Quantified {
        every: bool,
        iters: Vec<Iteration>,
        cond: Box<Expr>,
    },
    /// `x in test` / `x in (t1, t2, …)`: true when any test matches.
    In {
        value: Box<Expr>,
        tests: Vec<UnaryTest>,
    },
    /// `x between a and b` (both ends included).
    Between {
        value: Box<Expr>,
        low: Box<Expr>,
        high: Box<Expr>,
    },
    /// `x instance of type`.
    InstanceOf {
        value: Box<Expr>,
        ty: TypeRef,
        ty_span: Span,
    },
    /// `function(a, b) body`: a function value (for `sort(list, function(x, y) x < y)`).
    Function {
        params: Vec<(String, Span)>,
        body: Box<Expr>,
    },
}

/// One step of a path chain.
#[derive(Clone, Debug, PartialEq)]
pub enum PathStep {
    /// `.name` — a key of a context, a property of a date, duration or range, or a projection
    /// over a list of contexts.
    Field { name: String, span: Span },
    /// `[e]` — an index when `e` is a number (1-based, negative from the end), else a filter
    /// evaluated for each element with `item` and the element's keys in scope.
    Filter { expr: Box<Expr>, span: Span },
}

/// One `key: value` entry of a context literal.
#[derive(Clone, Debug, PartialEq)]
pub struct ContextEntry {
    pub key: String,
    pub key_span: Span,
    pub value: Expr,
}

/// The right-hand side of one operator in a `Binary` chain.
#[derive(Clone, Debug, PartialEq)]
pub struct Operand {
    pub op: BinaryOp,
    pub op_span: Span,
    pub expr: Expr,
}

/// `name in domain` of a `for` / `some` / `every`; `domain..to` when `to` is given.
#[derive(Clone, Debug, PartialEq)]
pub struct Iteration {
    pub name: String,
    pub name_span: Span,
    pub domain: Expr,
    pub to: Option<Expr>,
}

/// A range literal's ends. An end is `None` for the unary tests `< e`, `>= e`….
#[derive(Clone, Debug, PartialEq)]
pub struct RangeLit {
    pub start: Option<Expr>,
    pub start_closed: bool,
    pub end: Option<Expr>,
    pub end_closed: bool,
}

/// One positive unary test on the right of `in`.
#[derive(Clone, Debug, PartialEq)]
pub enum UnaryTest {
    /// An expression: equal to the value, or (a list) containing it, or (a range) including it.
    Expr(Expr),
    /// `not(t, …)`: none of the tests match.
    Not(Vec<UnaryTest>, Span),
}

/// A type named after `instance of`: `number`, `string`, `boolean`, `date`, `time`,
/// `date and time`, `days and time duration`, `years and months duration`, `list`, `context`,
/// `range`, `function`, `Any`, `Null`, or `list<T>`.
#[derive(Clone, Debug, PartialEq)]
pub struct TypeRef {
    pub name: String,
    pub element: Option<Box<TypeRef>>,
}

impl fmt::Display for TypeRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if let Some(e) = &self.element {
            write!(f, "<{e}>")?;
        }
        Ok(())
    }
}

/// Binary operators, lowest precedence first:
/// `or` < `and` < comparisons < `+ -` < `* /` < `**` (then unary minus, then paths and calls).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Add,
    Sub,
    Mul,
    Div,
    Pow,
}

impl BinaryOp {
    /// The operator as written in the source.
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Or => "or",
            BinaryOp::And => "and",
            BinaryOp::Eq => "=",
            BinaryOp::Ne => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Pow => "**",
        }
    }

    /// True for `= != < <= > >=`.
    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinaryOp::Eq | BinaryOp::Ne | BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge
        )
    }
}

impl fmt::Display for BinaryOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.symbol())
    }
}

impl UnaryTest {
    fn exprs<'e>(&'e self, out: &mut Vec<&'e Expr>) {
        match self {
            UnaryTest::Expr(e) => out.push(e),
            UnaryTest::Not(tests, _) => tests.iter().for_each(|t| t.exprs(out)),
        }
    }
}

impl Expr {
    /// The direct children of this node, in source order.
    pub fn children(&self) -> Vec<&Expr> {
        match &self.kind {
            ExprKind::Null
            | ExprKind::Bool(_)
            | ExprKind::Number(_)
            | ExprKind::String(_)
            | ExprKind::At(_)
            | ExprKind::Name(_) => Vec::new(),
            ExprKind::Path { base, steps } => {
                let mut out = vec![base.as_ref()];
                for step in steps {
                    if let PathStep::Filter { expr, .. } = step {
                        out.push(expr.as_ref());
                    }
                }
                out
            }
            ExprKind::List(items) => items.iter().collect(),
            ExprKind::Context(entries) => entries.iter().map(|e| &e.value).collect(),
            ExprKind::Range(r) => r.start.iter().chain(r.end.iter()).collect(),
            ExprKind::Neg(inner) => vec![inner.as_ref()],
            ExprKind::Binary { first, rest } => {
                let mut out = vec![first.as_ref()];
                out.extend(rest.iter().map(|o| &o.expr));
                out
            }
            ExprKind::Call { args, .. } => args.iter().collect(),
            ExprKind::If { cond, then, els } => vec![cond, then, els],
            ExprKind::For { iters, body } => {
                let mut out = iteration_children(iters);
                out.push(body);
                out
            }
            ExprKind::Quantified { iters, cond, .. } => {
                let mut out = iteration_children(iters);
                out.push(cond);
                out
            }
            ExprKind::In { value, tests } => {
                let mut out = vec![value.as_ref()];
                tests.iter().for_each(|t| t.exprs(&mut out));
                out
            }
            ExprKind::Between { value, low, high } => vec![value, low, high],
            ExprKind::InstanceOf { value, .. } => vec![value],
            ExprKind::Function { body, .. } => vec![body],
        }
    }

    /// The depth of the tree (a leaf has depth 1), computed without recursion.
    pub fn depth(&self) -> usize {
        let mut max = 0;
        let mut stack = vec![(self, 1usize)];
        while let Some((node, d)) = stack.pop() {
            max = max.max(d);
            for child in node.children() {
                stack.push((child, d + 1));
            }
        }
        max
    }
}

fn iteration_children(iters: &[Iteration]) -> Vec<&Expr> {
    let mut out = Vec::new();
    for it in iters {
        out.push(&it.domain);
        if let Some(to) = &it.to {
            out.push(to);
        }
    }
    out
}

/// Renders the tree fully parenthesised (`1 + 2 * 3` → `(1 + (2 * 3))`): re-parseable, and
/// handy to see how something was grouped.
impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ExprKind::Null => f.write_str("null"),
            ExprKind::Bool(b) => write!(f, "{b}"),
            ExprKind::Number(n) => write!(f, "{}", n.normalize()),
            ExprKind::String(s) => write!(f, "{}", serde_json::Value::String(s.clone())),
            ExprKind::At(s) => write!(f, "@{}", serde_json::Value::String(s.clone())),
            ExprKind::Name(n) => write_name(f, n),
            ExprKind::Path { base, steps } => {
                write!(f, "{base}")?;
                for step in steps {
                    match step {
                        PathStep::Field { name, .. } => {
                            f.write_str(".")?;
                            write_name(f, name)?;
                        }
                        PathStep::Filter { expr, .. } => write!(f, "[{expr}]")?,
                    }
                }
                Ok(())
            }
            ExprKind::List(items) => {
                f.write_str("[")?;
                write_list(f, items)?;
                f.write_str("]")
            }
            ExprKind::Context(entries) => {
                f.write_str("{")?;
                for (i, e) in entries.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    let key = serde_json::Value::String(e.key.clone());
                    write!(f, "{key}: {}", e.value)?;
                }
                f.write_str("}")
            }
            ExprKind::Range(r) => match (&r.start, &r.end) {
                (Some(s), Some(e)) => write!(
                    f,
                    "{}{s}..{e}{}",
                    if r.start_closed { "[" } else { "(" },
                    if r.end_closed { "]" } else { ")" }
                ),
                (None, Some(e)) => write!(f, "{}{e}", if r.end_closed { "<=" } else { "<" }),
                (Some(s), None) => write!(f, "{}{s}", if r.start_closed { ">=" } else { ">" }),
                (None, None) => f.write_str("-"),
            },
            ExprKind::Neg(inner) => write!(f, "(-{inner})"),
            ExprKind::Binary { first, rest } => {
                for _ in 1..rest.len() {
                    f.write_str("(")?;
                }
                write!(f, "({first}")?;
                for (i, o) in rest.iter().enumerate() {
                    write!(f, " {} {}", o.op, o.expr)?;
                    if i + 1 < rest.len() {
                        f.write_str(")")?;
                    }
                }
                f.write_str(")")
            }
            ExprKind::Call {
                name,
                args,
                arg_names,
                ..
            } => {
                write!(f, "{name}(")?;
                for (i, arg) in args.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    if let Some((n, _)) = arg_names.get(i) {
                        write!(f, "{n}: ")?;
                    }
                    write!(f, "{arg}")?;
                }
                f.write_str(")")
            }
            ExprKind::If { cond, then, els } => write!(f, "(if {cond} then {then} else {els})"),
            ExprKind::For { iters, body } => {
                f.write_str("(for ")?;
                write_iters(f, iters)?;
                write!(f, " return {body})")
            }
            ExprKind::Quantified { every, iters, cond } => {
                f.write_str(if *every { "(every " } else { "(some " })?;
                write_iters(f, iters)?;
                write!(f, " satisfies {cond})")
            }
            ExprKind::In { value, tests } => {
                write!(f, "({value} in (")?;
                write_tests(f, tests)?;
                f.write_str("))")
            }
            ExprKind::Between { value, low, high } => {
                write!(f, "({value} between {low} and {high})")
            }
            ExprKind::InstanceOf { value, ty, .. } => write!(f, "({value} instance of {ty})"),
            ExprKind::Function { params, body } => {
                f.write_str("function(")?;
                for (i, (p, _)) in params.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write_name(f, p)?;
                }
                write!(f, ") {body}")
            }
        }
    }
}

fn write_list(f: &mut fmt::Formatter<'_>, items: &[Expr]) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{item}")?;
    }
    Ok(())
}

fn write_iters(f: &mut fmt::Formatter<'_>, iters: &[Iteration]) -> fmt::Result {
    for (i, it) in iters.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write_name(f, &it.name)?;
        write!(f, " in {}", it.domain)?;
        if let Some(to) = &it.to {
            write!(f, "..{to}")?;
        }
    }
    Ok(())
}

fn write_tests(f: &mut fmt::Formatter<'_>, tests: &[UnaryTest]) -> fmt::Result {
    for (i, t) in tests.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        match t {
            UnaryTest::Expr(e) => write!(f, "{e}")?,
            UnaryTest::Not(inner, _) => {
                f.write_str("not(")?;
                write_tests(f, inner)?;
                f.write_str(")")?;
            }
        }
    }
    Ok(())
}

/// Words that end a multi-word name (they continue the surrounding construct).
pub(crate) const NAME_STOP_WORDS: &[&str] =
    &["in", "then", "else", "return", "satisfies", "between"];

fn write_name(f: &mut fmt::Formatter<'_>, name: &str) -> fmt::Result {
    let plain_word = |w: &str| {
        let mut chars = w.chars();
        chars
            .next()
            .is_some_and(|c| c.is_alphabetic() || c == '_' || c == '$')
            && chars.all(|c| c.is_alphanumeric() || c == '_' || c == '$')
            && !matches!(w, "true" | "false" | "null" | "and" | "or" | "instance")
            && !NAME_STOP_WORDS.contains(&w)
    };
    let plain = !name.is_empty() && name.split(' ').all(plain_word);
    if plain {
        f.write_str(name)
    } else {
        write!(f, "`{name}`")
    }
}
