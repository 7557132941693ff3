//! Recursive-descent parser from tokens to `Expr`, with spans, "expected …" messages and the
//! nesting limits that keep every later walk of the tree shallow.

use std::collections::HashMap;

use super::ast::{BinaryOp, ContextEntry, Expr, ExprKind, Operand, PathStep, Span};
use super::lexer::{Tok, Token, tokenize};
use super::{Error, MAX_DEPTH, MAX_SOURCE_LEN};

pub(crate) fn parse(src: &str) -> Result<Expr, Error> {
    if src.len() > MAX_SOURCE_LEN {
        return Err(Error {
            span: Span::new(MAX_SOURCE_LEN, src.len()),
            message: format!(
                "expression is too long ({} bytes; the limit is {MAX_SOURCE_LEN})",
                src.len()
            ),
        });
    }
    let tokens = tokenize(src)?;
    let mut p = Parser {
        tokens,
        pos: 0,
        depth: 0,
    };
    // A leading `=` (as the Camunda / Kipu editors write it) is accepted and ignored.
    let mut after = None;
    if p.peek() == &Tok::Eq {
        after = Some("`=`");
        p.pos += 1;
    }
    if p.peek() == &Tok::Eof {
        let found = p.token();
        return Err(Error {
            span: found.span,
            message: match after {
                Some(eq) => format!("expected an expression after {eq}, found end of input"),
                None => "expected an expression, found end of input (the expression is empty)"
                    .to_string(),
            },
        });
    }
    let expr = p.expr()?;
    let found = p.token();
    if found.tok != Tok::Eof {
        return Err(p.trailing(found));
    }
    check_depth(&expr)?;
    Ok(expr)
}

/// Rejects trees deeper than `MAX_DEPTH` (the parser's own limit counts nesting, not nodes),
/// so that evaluation, analysis and `Drop` recurse at most `MAX_DEPTH` levels.
fn check_depth(expr: &Expr) -> Result<(), Error> {
    let mut stack = vec![(expr, 1usize)];
    while let Some((node, d)) = stack.pop() {
        if d > MAX_DEPTH {
            return Err(too_deep(node.span));
        }
        for child in node.children() {
            stack.push((child, d + 1));
        }
    }
    Ok(())
}

fn too_deep(span: Span) -> Error {
    Error {
        span,
        message: format!("expression nested too deeply (limit {MAX_DEPTH})"),
    }
}

/// Keywords of FEEL constructs we do not support, so that `if x then …` gets a clear message.
const UNSUPPORTED_WORDS: &[(&str, &str)] = &[
    ("if", "`if … then … else` expressions are not supported"),
    ("for", "`for … in … return` expressions are not supported"),
    ("some", "`some … satisfies` expressions are not supported"),
    ("every", "`every … satisfies` expressions are not supported"),
    ("function", "function definitions are not supported"),
];

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    /// Current nesting of recursive descents, bounded by `MAX_DEPTH`.
    depth: usize,
}

impl Parser {
    fn token(&self) -> Token {
        // `tokenize` always ends with `Eof` and we never advance past it.
        self.tokens
            .get(self.pos)
            .or_else(|| self.tokens.last())
            .cloned()
            .unwrap_or(Token {
                tok: Tok::Eof,
                span: Span::default(),
            })
    }

    fn peek(&self) -> &Tok {
        self.peek_n(0)
    }

    fn peek_n(&self, n: usize) -> &Tok {
        self.tokens
            .get(self.pos + n)
            .map(|t| &t.tok)
            .unwrap_or(&Tok::Eof)
    }

    fn enter(&mut self) -> Result<(), Error> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(too_deep(self.token().span));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    fn expected(&self, what: &str, found: &Token) -> Error {
        let message = match found.tok {
            Tok::StarStar => "`**` (exponentiation) is not supported".to_string(),
            Tok::DotDot => "ranges (`a..b`) are not supported".to_string(),
            _ => format!("expected {what}, found {}", found.tok.describe()),
        };
        Error {
            span: found.span,
            message,
        }
    }

    /// The error for a token left over after a complete expression.
    fn trailing(&self, found: Token) -> Error {
        let mut e = self.expected("an operator or end of input", &found);
        match found.tok {
            Tok::Name(_) | Tok::Quoted(_) => e.message.push_str(
                " (names with spaces are not supported; write them in backticks: `my var`)",
            ),
            _ => {}
        }
        e
    }

    /// The span of the token just consumed.
    fn prev_span(&self) -> Span {
        self.pos
            .checked_sub(1)
            .and_then(|i| self.tokens.get(i))
            .map_or_else(Span::default, |t| t.span)
    }

    fn bump_span(&mut self) -> Span {
        self.bump_tok();
        self.prev_span()
    }

    fn bump_tok(&mut self) {
        if self.peek() != &Tok::Eof {
            self.pos += 1;
        }
    }

    // The functions on the recursive path (`expr` → `binary` → `unary` → `postfix` →
    // `primary` → `list` / `context` / `call` → `expr`) keep their own frames small: every
    // check, error message and node assembly lives in a helper that returns before the next
    // recursion. That keeps a nesting level to about 2 KiB of stack even in debug builds.

    /// A full expression (lowest precedence), one nesting level deeper.
    fn expr(&mut self) -> Result<Expr, Error> {
        self.enter()?;
        let e = self.binary(0);
        self.leave();
        e
    }

    /// Precedence climbing over all binary operators. Operators of one level collect into one
    /// flat `Binary` chain, so `1 + 1 + …` is one node however long it is.
    fn binary(&mut self, min_prec: u8) -> Result<Expr, Error> {
        let mut first = self.unary()?;
        let mut rest: Vec<Operand> = Vec::new();
        let mut chain_prec = 0;
        while let Some((op, prec)) = binary_op(self.peek()).map(|op| (op, precedence(op))) {
            if prec < min_prec {
                break;
            }
            let op_span = self.operator(op, !rest.is_empty() && chain_prec == prec)?;
            let rhs = self.binary(prec + 1)?;
            if !rest.is_empty() && prec != chain_prec {
                // A lower-precedence operator: the chain so far becomes its left operand.
                first = make_binary(first, std::mem::take(&mut rest));
            }
            chain_prec = prec;
            rest.push(Operand {
                op,
                op_span,
                expr: rhs,
            });
        }
        Ok(make_binary(first, rest))
    }

    /// Consumes a binary operator and checks what follows it.
    #[inline(never)]
    fn operator(&mut self, op: BinaryOp, same_level: bool) -> Result<Span, Error> {
        let span = self.bump_span();
        if op.is_comparison() && same_level {
            return Err(Error {
                span,
                message: format!(
                    "comparisons cannot be chained: expected `and`, `or`, `)` or end of input, found `{op}`"
                ),
            });
        }
        self.need_operand_after(&format!("`{op}`"))?;
        Ok(span)
    }

    /// The "expected an expression after `+`" error, if the next token cannot start one.
    #[inline(never)]
    fn need_operand_after(&self, what: &str) -> Result<(), Error> {
        if starts_expression(self.peek()) {
            return Ok(());
        }
        let found = self.token();
        Err(self.expected(&format!("an expression after {what}"), &found))
    }

    /// Unary minus, iteratively: each `-` counts one nesting level.
    fn unary(&mut self) -> Result<Expr, Error> {
        let minuses = self.minuses()?;
        let result = self.postfix();
        self.depth = self.depth.saturating_sub(minuses.len());
        Ok(wrap_neg(result?, minuses))
    }

    #[inline(never)]
    fn minuses(&mut self) -> Result<Vec<Span>, Error> {
        let mut minuses = Vec::new();
        while self.peek() == &Tok::Minus {
            let span = self.bump_span();
            // (After an error the parse is over, so the depth count need not be restored.)
            self.enter()?;
            self.need_operand_after("`-`")?;
            minuses.push(span);
        }
        Ok(minuses)
    }

    fn postfix(&mut self) -> Result<Expr, Error> {
        let base = self.primary()?;
        let mut steps = Vec::new();
        loop {
            match self.peek() {
                Tok::Dot => steps.push(self.field_step()?),
                Tok::LBracket => {
                    let open = self.open_index()?;
                    let index = self.expr()?;
                    steps.push(self.close_index(open, index)?);
                }
                _ => break,
            }
        }
        Ok(make_path(base, steps))
    }

    #[inline(never)]
    fn field_step(&mut self) -> Result<PathStep, Error> {
        let dot = self.bump_span();
        let name_tok = self.token();
        let name = match name_tok.tok {
            Tok::Name(n) | Tok::Quoted(n) => n,
            _ => return Err(self.expected("a name after `.`", &self.token())),
        };
        self.bump_tok();
        if self.peek() == &Tok::LParen {
            return Err(Error {
                span: self.token().span,
                message: "method calls are not supported; call functions by name, like `string(x)`"
                    .into(),
            });
        }
        Ok(PathStep::Field {
            name,
            span: dot.to(name_tok.span),
        })
    }

    #[inline(never)]
    fn open_index(&mut self) -> Result<Span, Error> {
        let open = self.bump_span();
        if self.peek() == &Tok::RBracket {
            return Err(self.expected("an index inside `[ ]`", &self.token()));
        }
        Ok(open)
    }

    #[inline(never)]
    fn close_index(&mut self, open: Span, index: Expr) -> Result<PathStep, Error> {
        if looks_like_filter(&index) {
            return Err(Error {
                span: index.span,
                message: "filters (`list[condition]`) are not supported; an index must be a number like `a[1]` or `a[-1]`".into(),
            });
        }
        if self.peek() != &Tok::RBracket {
            return Err(self.expected("`]` to close the index", &self.token()));
        }
        let close = self.bump_span();
        Ok(PathStep::Index {
            index: Box::new(index),
            span: open.to(close),
        })
    }

    fn primary(&mut self) -> Result<Expr, Error> {
        match self.peek() {
            Tok::LParen => {
                let open = self.bump_span();
                let inner = self.expr()?;
                self.close_paren(open)?;
                Ok(inner)
            }
            Tok::LBracket => self.list(),
            Tok::LBrace => self.context(),
            Tok::Name(_) => match self.name()? {
                Head::Expr(e) => Ok(e),
                Head::Call(name, span) => self.call(name, span),
            },
            _ => self.leaf(),
        }
    }

    #[inline(never)]
    fn close_paren(&mut self, open: Span) -> Result<(), Error> {
        if self.peek() != &Tok::RParen {
            return Err(self.expected(
                &format!("`)` to close the `(` at byte {}", open.start),
                &self.token(),
            ));
        }
        self.bump_tok();
        Ok(())
    }

    /// A literal, a backtick name, or the error for a token that cannot start an expression.
    #[inline(never)]
    fn leaf(&mut self) -> Result<Expr, Error> {
        let t = self.token();
        let kind = match t.tok {
            Tok::Null => ExprKind::Null,
            Tok::True => ExprKind::Bool(true),
            Tok::False => ExprKind::Bool(false),
            Tok::Number(n) => ExprKind::Number(n),
            Tok::Str(s) => ExprKind::String(s),
            Tok::Quoted(n) => ExprKind::Name(n),
            _ => return Err(self.expected("an expression", &self.token())),
        };
        self.bump_tok();
        Ok(Expr { kind, span: t.span })
    }

    /// A plain name, or the head of a call `name(` / `is defined(`.
    #[inline(never)]
    fn name(&mut self) -> Result<Head, Error> {
        let Token {
            tok: Tok::Name(name),
            span,
        } = self.token()
        else {
            return Err(self.expected("a name", &self.token()));
        };
        self.bump_tok();
        if name == "is"
            && matches!(self.peek(), Tok::Name(n) if n == "defined")
            && self.peek_n(1) == &Tok::LParen
        {
            let defined = self.bump_span();
            return Ok(Head::Call("is defined".into(), span.to(defined)));
        }
        if self.peek() == &Tok::LParen {
            return Ok(Head::Call(name, span));
        }
        let operand_follows = matches!(
            self.peek(),
            Tok::Name(_)
                | Tok::Quoted(_)
                | Tok::Number(_)
                | Tok::Str(_)
                | Tok::True
                | Tok::False
                | Tok::Null
                | Tok::LBrace
        );
        if let Some((_, message)) = UNSUPPORTED_WORDS.iter().find(|(w, _)| *w == name)
            && operand_follows
        {
            return Err(Error {
                span,
                message: (*message).into(),
            });
        }
        Ok(Head::Expr(Expr {
            kind: ExprKind::Name(name),
            span,
        }))
    }

    fn call(&mut self, name: String, name_span: Span) -> Result<Expr, Error> {
        let open = self.bump_span(); // `(`
        let mut args = Vec::new();
        while self.call_argument_follows(&name, args.is_empty())? {
            args.push(self.expr()?);
            if self.separator(Tok::RParen, &name, open)? {
                break;
            }
        }
        Ok(make_call(name, name_span, args, self.prev_span()))
    }

    /// Before a call argument: `false` (and consumes it) if `)` closes an empty call.
    #[inline(never)]
    fn call_argument_follows(&mut self, name: &str, first: bool) -> Result<bool, Error> {
        if first && self.peek() == &Tok::RParen {
            self.bump_tok();
            return Ok(false);
        }
        if matches!(self.peek(), Tok::Name(_) | Tok::Quoted(_)) && self.peek_n(1) == &Tok::Colon {
            return Err(Error {
                span: self.token().span,
                message: "named arguments are not supported; pass arguments by position".into(),
            });
        }
        if !starts_expression(self.peek()) {
            let what = if first {
                format!("an argument or `)` after `{name}(`")
            } else {
                "an argument after `,`".to_string()
            };
            return Err(self.expected(&what, &self.token()));
        }
        Ok(true)
    }

    /// After an element of a call, list or context: `,` (→ `false`) or the closer (→ `true`).
    #[inline(never)]
    fn separator(&mut self, close: Tok, name: &str, open: Span) -> Result<bool, Error> {
        if self.peek() == &Tok::Comma {
            self.bump_tok();
            return Ok(false);
        }
        if self.peek() == &close {
            self.bump_tok();
            return Ok(true);
        }
        let what = match close {
            Tok::RParen => format!(
                "`,` or `)` to close the call of `{name}` at byte {}",
                open.start
            ),
            Tok::RBracket => format!("`,` or `]` to close the list at byte {}", open.start),
            _ => format!("`,` or `}}` to close the context at byte {}", open.start),
        };
        Err(self.expected(&what, &self.token()))
    }

    fn list(&mut self) -> Result<Expr, Error> {
        let open = self.bump_span();
        let mut items = Vec::new();
        while self.list_item_follows(items.is_empty())? {
            items.push(self.expr()?);
            if self.separator(Tok::RBracket, "", open)? {
                break;
            }
        }
        Ok(Expr {
            span: open.to(self.prev_span()),
            kind: ExprKind::List(items),
        })
    }

    /// Before a list item: `false` (and consumes it) if `]` closes an empty list.
    #[inline(never)]
    fn list_item_follows(&mut self, first: bool) -> Result<bool, Error> {
        if first && self.peek() == &Tok::RBracket {
            self.bump_tok();
            return Ok(false);
        }
        if !starts_expression(self.peek()) {
            let what = if first {
                "an expression or `]` after `[`"
            } else {
                "an expression after `,`"
            };
            return Err(self.expected(what, &self.token()));
        }
        Ok(true)
    }

    fn context(&mut self) -> Result<Expr, Error> {
        let open = self.bump_span();
        let mut entries = Vec::new();
        let mut seen = HashMap::new();
        while let Some((key, key_span)) = self.context_key(&mut seen)? {
            let value = self.expr()?;
            entries.push(ContextEntry {
                key,
                key_span,
                value,
            });
            if self.separator(Tok::RBrace, "", open)? {
                break;
            }
        }
        Ok(Expr {
            span: open.to(self.prev_span()),
            kind: ExprKind::Context(entries),
        })
    }

    /// Before a context entry: its key and `:` (checked for duplicates and for a value
    /// following), or `None` (consumed) if `}` closes an empty context.
    #[inline(never)]
    fn context_key(
        &mut self,
        seen: &mut HashMap<String, Span>,
    ) -> Result<Option<(String, Span)>, Error> {
        if seen.is_empty() && self.peek() == &Tok::RBrace {
            self.bump_tok();
            return Ok(None);
        }
        let key_tok = self.token();
        let key = match key_tok.tok {
            Tok::Str(s) | Tok::Name(s) | Tok::Quoted(s) => s,
            _ => {
                let what = if seen.is_empty() {
                    "a key (a name or a \"string\") or `}` after `{`"
                } else {
                    "a key (a name or a \"string\") after `,`"
                };
                return Err(self.expected(what, &self.token()));
            }
        };
        self.bump_tok();
        if let Some(first) = seen.get(&key) {
            return Err(Error {
                span: key_tok.span,
                message: format!(
                    "duplicate key `{key}` in context (first defined at byte {})",
                    first.start
                ),
            });
        }
        if self.peek() != &Tok::Colon {
            let found = self.token();
            let mut e = self.expected(&format!("`:` after the key `{key}`"), &found);
            if matches!(found.tok, Tok::Name(_)) {
                e.message
                    .push_str(" (keys with spaces must be written as strings: \"my key\")");
            }
            return Err(e);
        }
        self.bump_tok();
        if !starts_expression(self.peek()) {
            return Err(self.expected(&format!("a value after `{key}:`"), &self.token()));
        }
        seen.insert(key.clone(), key_tok.span);
        Ok(Some((key, key_tok.span)))
    }
}

/// What a name turned out to be: an expression, or the head of a call.
enum Head {
    Expr(Expr),
    Call(String, Span),
}

fn make_call(name: String, name_span: Span, args: Vec<Expr>, close: Span) -> Expr {
    Expr {
        span: name_span.to(close),
        kind: ExprKind::Call {
            name,
            name_span,
            args,
        },
    }
}

fn make_path(base: Expr, steps: Vec<PathStep>) -> Expr {
    let Some(last) = steps.last() else {
        return base;
    };
    let end = match last {
        PathStep::Field { span, .. } | PathStep::Index { span, .. } => *span,
    };
    Expr {
        span: base.span.to(end),
        kind: ExprKind::Path {
            base: Box::new(base),
            steps,
        },
    }
}

fn wrap_neg(mut expr: Expr, mut minuses: Vec<Span>) -> Expr {
    while let Some(span) = minuses.pop() {
        expr = Expr {
            span: span.to(expr.span),
            kind: ExprKind::Neg(Box::new(expr)),
        };
    }
    expr
}

fn make_binary(first: Expr, rest: Vec<Operand>) -> Expr {
    match rest.last() {
        None => first,
        Some(last) => Expr {
            span: first.span.to(last.expr.span),
            kind: ExprKind::Binary {
                first: Box::new(first),
                rest,
            },
        },
    }
}

/// Binding strength: `or` < `and` < comparisons < `+ -` < `* /`.
fn precedence(op: BinaryOp) -> u8 {
    match op {
        BinaryOp::Or => 1,
        BinaryOp::And => 2,
        BinaryOp::Eq | BinaryOp::Ne | BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => {
            3
        }
        BinaryOp::Add | BinaryOp::Sub => 4,
        BinaryOp::Mul | BinaryOp::Div => 5,
    }
}

fn binary_op(t: &Tok) -> Option<BinaryOp> {
    Some(match t {
        Tok::Or => BinaryOp::Or,
        Tok::And => BinaryOp::And,
        Tok::Plus => BinaryOp::Add,
        Tok::Minus => BinaryOp::Sub,
        Tok::Star => BinaryOp::Mul,
        Tok::Slash => BinaryOp::Div,
        Tok::Eq => BinaryOp::Eq,
        Tok::Ne => BinaryOp::Ne,
        Tok::Lt => BinaryOp::Lt,
        Tok::Le => BinaryOp::Le,
        Tok::Gt => BinaryOp::Gt,
        Tok::Ge => BinaryOp::Ge,
        _ => return None,
    })
}

fn starts_expression(t: &Tok) -> bool {
    matches!(
        t,
        Tok::Number(_)
            | Tok::Str(_)
            | Tok::Name(_)
            | Tok::Quoted(_)
            | Tok::True
            | Tok::False
            | Tok::Null
            | Tok::LParen
            | Tok::LBracket
            | Tok::LBrace
            | Tok::Minus
    )
}

/// An index that is plainly a condition (`a[x > 1]`, `a[true]`, `a[not(x)]`) is a FEEL filter.
fn looks_like_filter(index: &Expr) -> bool {
    match &index.kind {
        ExprKind::Bool(_) => true,
        ExprKind::Binary { rest, .. } => rest
            .iter()
            .any(|o| o.op.is_comparison() || matches!(o.op, BinaryOp::And | BinaryOp::Or)),
        ExprKind::Call { name, .. } => name == "not" || name == "is defined",
        _ => false,
    }
}
