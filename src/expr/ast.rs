//! The syntax tree of a mapping expression: nodes with their byte spans in the source text.
//! Built by the parser, read by the evaluator, the analysis and `secret_bindings`.

use std::fmt;

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
/// Parentheses leave no node of their own: `(a)` parses to the node of `a` (whose span excludes
/// the parentheses). Operator chains of one precedence level are flat (`Binary`), and so are
/// path chains (`Path`), so a long `1 + 1 + …` or `a.b.c…` does not make a deep tree.
#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    /// `null`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// A number literal (always held as `f64`; see the evaluator for how results are written).
    Number(f64),
    /// A string literal, escapes already decoded.
    String(String),
    /// A variable name (plain `circuit_data`, `$secrets`, or a backtick name `` `my var` ``),
    /// resolved first against enclosing context entries, then against the variables.
    Name(String),
    /// A path or index chain on a base: `a.b[1].c` is base `a` with steps `.b`, `[1]`, `.c`.
    Path {
        base: Box<Expr>,
        steps: Vec<PathStep>,
    },
    /// A list literal `[e, …]`.
    List(Vec<Expr>),
    /// A context literal `{ "k": e, k2: e }`; entries in source order, keys unique.
    Context(Vec<ContextEntry>),
    /// Unary minus `-e`.
    Neg(Box<Expr>),
    /// A left-associative chain of operators of one precedence level, evaluated left to right:
    /// `a + b - c` is `first = a`, `rest = [(+, b), (-, c)]`. Comparisons never chain, so a
    /// comparison is a `Binary` with exactly one entry in `rest`.
    Binary {
        first: Box<Expr>,
        rest: Vec<Operand>,
    },
    /// A function call `name(args…)`. `name` is as written (`is defined` with its one space).
    /// Whether the function exists is decided by the evaluator, not by the parser.
    Call {
        name: String,
        name_span: Span,
        args: Vec<Expr>,
    },
}

/// One step of a path chain.
#[derive(Clone, Debug, PartialEq)]
pub enum PathStep {
    /// `.name` — a key of a context, or a projection over a list of contexts.
    Field { name: String, span: Span },
    /// `[index]` — a 1-based (negative: from the end) list index. `span` covers the brackets.
    Index { index: Box<Expr>, span: Span },
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

/// Binary operators, lowest precedence first:
/// `or` < `and` < comparisons < `+ -` < `* /` (then unary minus, then paths and calls).
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

impl Expr {
    /// The direct children of this node, in source order.
    pub fn children(&self) -> Vec<&Expr> {
        match &self.kind {
            ExprKind::Null
            | ExprKind::Bool(_)
            | ExprKind::Number(_)
            | ExprKind::String(_)
            | ExprKind::Name(_) => Vec::new(),
            ExprKind::Path { base, steps } => {
                let mut out = vec![base.as_ref()];
                for step in steps {
                    if let PathStep::Index { index, .. } = step {
                        out.push(index.as_ref());
                    }
                }
                out
            }
            ExprKind::List(items) => items.iter().collect(),
            ExprKind::Context(entries) => entries.iter().map(|e| &e.value).collect(),
            ExprKind::Neg(inner) => vec![inner.as_ref()],
            ExprKind::Binary { first, rest } => {
                let mut out = vec![first.as_ref()];
                out.extend(rest.iter().map(|o| &o.expr));
                out
            }
            ExprKind::Call { args, .. } => args.iter().collect(),
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

/// Renders the tree fully parenthesised (`1 + 2 * 3` → `(1 + (2 * 3))`): re-parseable, and
/// handy to see how something was grouped.
impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ExprKind::Null => f.write_str("null"),
            ExprKind::Bool(b) => write!(f, "{b}"),
            ExprKind::Number(n) => write!(f, "{n}"),
            ExprKind::String(s) => write!(f, "{}", serde_json::Value::String(s.clone())),
            ExprKind::Name(n) => write_name(f, n),
            ExprKind::Path { base, steps } => {
                write!(f, "{base}")?;
                for step in steps {
                    match step {
                        PathStep::Field { name, .. } => {
                            f.write_str(".")?;
                            write_name(f, name)?;
                        }
                        PathStep::Index { index, .. } => write!(f, "[{index}]")?,
                    }
                }
                Ok(())
            }
            ExprKind::List(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
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
            ExprKind::Neg(inner) => write!(f, "(-{inner})"),
            ExprKind::Binary { first, rest } => {
                // Left-associative: ((a + b) - c)
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
            ExprKind::Call { name, args, .. } => {
                write!(f, "{name}(")?;
                for (i, arg) in args.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{arg}")?;
                }
                f.write_str(")")
            }
        }
    }
}

fn write_name(f: &mut fmt::Formatter<'_>, name: &str) -> fmt::Result {
    let mut chars = name.chars();
    let plain = chars
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_alphanumeric() || c == '_' || c == '$')
        && !matches!(name, "true" | "false" | "null" | "and" | "or");
    if plain {
        f.write_str(name)
    } else {
        write!(f, "`{name}`")
    }
}
