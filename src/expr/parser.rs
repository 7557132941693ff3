//! Recursive-descent parser from tokens to `Expr`, with spans, "expected …" messages and the
//! nesting limits that keep every later walk of the tree shallow.

use std::collections::HashMap;

use super::ast::{BinaryOp, ContextEntry, Expr, ExprKind, Operand, PathStep, Span};
use super::lexer::{Tok, Token, tokenize};
use super::{MAX_DEPTH, MAX_SOURCE_LEN, ParseError};

pub(crate) fn parse(src: &str) -> Result<Expr, ParseError> {
    if src.len() > MAX_SOURCE_LEN {
        return Err(ParseError {
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
        return Err(ParseError {
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
fn check_depth(expr: &Expr) -> Result<(), ParseError> {
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

fn too_deep(span: Span) -> ParseError {
    ParseError {
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

    fn bump(&mut self) -> Token {
        let t = self.token();
        if t.tok != Tok::Eof {
            self.pos += 1;
        }
        t
    }

    fn enter(&mut self, span: Span) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(too_deep(span));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    fn expected(&self, what: &str, found: &Token) -> ParseError {
        ParseError {
            span: found.span,
            message: format!("expected {what}, found {}", found.tok.describe()),
        }
    }

    /// The error for a token left over after a complete expression.
    fn trailing(&self, found: Token) -> ParseError {
        let mut e = self.expected("an operator or end of input", &found);
        match found.tok {
            Tok::Name(_) | Tok::Quoted(_) => e.message.push_str(
                " (names with spaces are not supported; write them in backticks: `my var`)",
            ),
            Tok::StarStar => e.message = "`**` (exponentiation) is not supported".into(),
            Tok::DotDot => e.message = "ranges (`a..b`) are not supported".into(),
            _ => {}
        }
        e
    }

    /// Parses `what` after the operator token `op` (for the "expected … after `+`" message).
    fn operand_after(
        &mut self,
        op: &Token,
        f: fn(&mut Parser) -> Result<Expr, ParseError>,
    ) -> Result<Expr, ParseError> {
        if !starts_expression(self.peek()) {
            let found = self.token();
            return Err(self.expected(
                &format!("an expression after {}", op.tok.describe()),
                &found,
            ));
        }
        f(self)
    }

    fn expr(&mut self) -> Result<Expr, ParseError> {
        let span = self.token().span;
        self.enter(span)?;
        let e = self.or();
        self.leave();
        e
    }

    fn chain(
        &mut self,
        next: fn(&mut Parser) -> Result<Expr, ParseError>,
        op_of: fn(&Tok) -> Option<BinaryOp>,
    ) -> Result<Expr, ParseError> {
        let first = next(self)?;
        let mut rest = Vec::new();
        while let Some(op) = op_of(self.peek()) {
            let op_tok = self.bump();
            let expr = self.operand_after(&op_tok, next)?;
            rest.push(Operand {
                op,
                op_span: op_tok.span,
                expr,
            });
        }
        Ok(make_binary(first, rest))
    }

    fn or(&mut self) -> Result<Expr, ParseError> {
        self.chain(Parser::and, |t| (t == &Tok::Or).then_some(BinaryOp::Or))
    }

    fn and(&mut self) -> Result<Expr, ParseError> {
        self.chain(Parser::comparison, |t| {
            (t == &Tok::And).then_some(BinaryOp::And)
        })
    }

    fn comparison(&mut self) -> Result<Expr, ParseError> {
        let first = self.additive()?;
        let Some(op) = comparison_op(self.peek()) else {
            return Ok(first);
        };
        let op_tok = self.bump();
        let rhs = self.operand_after(&op_tok, Parser::additive)?;
        if comparison_op(self.peek()).is_some() {
            let second = self.token();
            return Err(ParseError {
                span: second.span,
                message: format!(
                    "comparisons cannot be chained: expected `and`, `or`, `)` or end of input, found {}",
                    second.tok.describe()
                ),
            });
        }
        Ok(make_binary(
            first,
            vec![Operand {
                op,
                op_span: op_tok.span,
                expr: rhs,
            }],
        ))
    }

    fn additive(&mut self) -> Result<Expr, ParseError> {
        self.chain(Parser::multiplicative, |t| match t {
            Tok::Plus => Some(BinaryOp::Add),
            Tok::Minus => Some(BinaryOp::Sub),
            _ => None,
        })
    }

    fn multiplicative(&mut self) -> Result<Expr, ParseError> {
        self.chain(Parser::unary, |t| match t {
            Tok::Star => Some(BinaryOp::Mul),
            Tok::Slash => Some(BinaryOp::Div),
            _ => None,
        })
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        if self.peek() != &Tok::Minus {
            return self.postfix();
        }
        let minus = self.bump();
        self.enter(minus.span)?;
        let inner = self.operand_after(&minus, Parser::unary);
        self.leave();
        let inner = inner?;
        Ok(Expr {
            span: minus.span.to(inner.span),
            kind: ExprKind::Neg(Box::new(inner)),
        })
    }

    fn postfix(&mut self) -> Result<Expr, ParseError> {
        let base = self.primary()?;
        let mut steps = Vec::new();
        let mut span = base.span;
        loop {
            match self.peek() {
                Tok::Dot => {
                    let dot = self.bump();
                    let name_tok = self.bump();
                    let name = match &name_tok.tok {
                        Tok::Name(n) | Tok::Quoted(n) => n.clone(),
                        _ => return Err(self.expected("a name after `.`", &name_tok)),
                    };
                    if self.peek() == &Tok::LParen {
                        let paren = self.token();
                        return Err(ParseError {
                            span: paren.span,
                            message: "method calls are not supported; call functions by name, like `string(x)`".into(),
                        });
                    }
                    span = span.to(name_tok.span);
                    steps.push(PathStep::Field {
                        name,
                        span: dot.span.to(name_tok.span),
                    });
                }
                Tok::LBracket => {
                    let open = self.bump();
                    if self.peek() == &Tok::RBracket {
                        let found = self.token();
                        return Err(self.expected("an index inside `[ ]`", &found));
                    }
                    let index = self.expr()?;
                    if looks_like_filter(&index) {
                        return Err(ParseError {
                            span: index.span,
                            message: "filters (`list[condition]`) are not supported; an index must be a number like `a[1]` or `a[-1]`".into(),
                        });
                    }
                    let close = self.bump();
                    if close.tok != Tok::RBracket {
                        return Err(self.expected("`]` to close the index", &close));
                    }
                    span = span.to(close.span);
                    steps.push(PathStep::Index {
                        index: Box::new(index),
                        span: open.span.to(close.span),
                    });
                }
                _ => break,
            }
        }
        if steps.is_empty() {
            return Ok(base);
        }
        Ok(Expr {
            span,
            kind: ExprKind::Path {
                base: Box::new(base),
                steps,
            },
        })
    }

    fn primary(&mut self) -> Result<Expr, ParseError> {
        let t = self.bump();
        let leaf = |kind| Ok(Expr { kind, span: t.span });
        match &t.tok {
            Tok::Null => leaf(ExprKind::Null),
            Tok::True => leaf(ExprKind::Bool(true)),
            Tok::False => leaf(ExprKind::Bool(false)),
            Tok::Number(n) => leaf(ExprKind::Number(*n)),
            Tok::Str(s) => leaf(ExprKind::String(s.clone())),
            Tok::Quoted(n) => leaf(ExprKind::Name(n.clone())),
            Tok::Name(n) => self.name(n.clone(), t.span),
            Tok::LParen => {
                let inner = self.expr()?;
                let close = self.bump();
                if close.tok != Tok::RParen {
                    return Err(self.expected(
                        &format!("`)` to close the `(` at byte {}", t.span.start),
                        &close,
                    ));
                }
                Ok(inner)
            }
            Tok::LBracket => self.list(t.span),
            Tok::LBrace => self.context(t.span),
            Tok::StarStar => Err(ParseError {
                span: t.span,
                message: "`**` (exponentiation) is not supported".into(),
            }),
            Tok::DotDot => Err(ParseError {
                span: t.span,
                message: "ranges (`a..b`) are not supported".into(),
            }),
            _ => Err(self.expected("an expression", &t)),
        }
    }

    /// A name, a call `name(…)`, or `is defined(…)`.
    fn name(&mut self, name: String, span: Span) -> Result<Expr, ParseError> {
        if name == "is"
            && matches!(self.peek(), Tok::Name(n) if n == "defined")
            && self.peek_n(1) == &Tok::LParen
        {
            let defined = self.bump();
            return self.call("is defined".into(), span.to(defined.span));
        }
        if self.peek() == &Tok::LParen {
            return self.call(name, span);
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
            return Err(ParseError {
                span,
                message: (*message).into(),
            });
        }
        Ok(Expr {
            kind: ExprKind::Name(name),
            span,
        })
    }

    fn call(&mut self, name: String, name_span: Span) -> Result<Expr, ParseError> {
        let open = self.bump(); // `(`
        let mut args = Vec::new();
        let close = loop {
            if self.peek() == &Tok::RParen && args.is_empty() {
                break self.bump();
            }
            if matches!(self.peek(), Tok::Name(_) | Tok::Quoted(_)) && self.peek_n(1) == &Tok::Colon
            {
                let found = self.token();
                return Err(ParseError {
                    span: found.span,
                    message: "named arguments are not supported; pass arguments by position".into(),
                });
            }
            if !starts_expression(self.peek()) {
                let found = self.token();
                let what = if args.is_empty() {
                    format!("an argument or `)` after `{name}(`")
                } else {
                    "an argument after `,`".to_string()
                };
                return Err(self.expected(&what, &found));
            }
            args.push(self.expr()?);
            let sep = self.bump();
            match sep.tok {
                Tok::Comma => continue,
                Tok::RParen => break sep,
                _ => {
                    return Err(self.expected(
                        &format!(
                            "`,` or `)` to close the call of `{name}` at byte {}",
                            open.span.start
                        ),
                        &sep,
                    ));
                }
            }
        };
        Ok(Expr {
            span: name_span.to(close.span),
            kind: ExprKind::Call {
                name,
                name_span,
                args,
            },
        })
    }

    fn list(&mut self, open: Span) -> Result<Expr, ParseError> {
        let mut items = Vec::new();
        let close = loop {
            if self.peek() == &Tok::RBracket && items.is_empty() {
                break self.bump();
            }
            if !starts_expression(self.peek()) {
                let found = self.token();
                let what = if items.is_empty() {
                    "an expression or `]` after `[`"
                } else {
                    "an expression after `,`"
                };
                return Err(self.expected(what, &found));
            }
            items.push(self.expr()?);
            let sep = self.bump();
            match sep.tok {
                Tok::Comma => continue,
                Tok::RBracket => break sep,
                _ => {
                    return Err(self.expected(
                        &format!("`,` or `]` to close the list at byte {}", open.start),
                        &sep,
                    ));
                }
            }
        };
        Ok(Expr {
            span: open.to(close.span),
            kind: ExprKind::List(items),
        })
    }

    fn context(&mut self, open: Span) -> Result<Expr, ParseError> {
        let mut entries: Vec<ContextEntry> = Vec::new();
        let mut seen: HashMap<String, Span> = HashMap::new();
        let close = loop {
            if self.peek() == &Tok::RBrace && entries.is_empty() {
                break self.bump();
            }
            let key_tok = self.bump();
            let key = match &key_tok.tok {
                Tok::Str(s) | Tok::Name(s) | Tok::Quoted(s) => s.clone(),
                _ => {
                    let what = if entries.is_empty() {
                        "a key (a name or a \"string\") or `}` after `{`"
                    } else {
                        "a key (a name or a \"string\") after `,`"
                    };
                    return Err(self.expected(what, &key_tok));
                }
            };
            if let Some(first) = seen.get(&key) {
                return Err(ParseError {
                    span: key_tok.span,
                    message: format!(
                        "duplicate key `{key}` in context (first defined at byte {})",
                        first.start
                    ),
                });
            }
            let colon = self.bump();
            if colon.tok != Tok::Colon {
                let mut e = self.expected(&format!("`:` after the key `{key}`"), &colon);
                if matches!(colon.tok, Tok::Name(_)) {
                    e.message
                        .push_str(" (keys with spaces must be written as strings: \"my key\")");
                }
                return Err(e);
            }
            if !starts_expression(self.peek()) {
                let found = self.token();
                return Err(self.expected(&format!("a value after `{key}:`"), &found));
            }
            let value = self.expr()?;
            seen.insert(key.clone(), key_tok.span);
            entries.push(ContextEntry {
                key,
                key_span: key_tok.span,
                value,
            });
            let sep = self.bump();
            match sep.tok {
                Tok::Comma => continue,
                Tok::RBrace => break sep,
                _ => {
                    return Err(self.expected(
                        &format!("`,` or `}}` to close the context at byte {}", open.start),
                        &sep,
                    ));
                }
            }
        };
        Ok(Expr {
            span: open.to(close.span),
            kind: ExprKind::Context(entries),
        })
    }
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

fn comparison_op(t: &Tok) -> Option<BinaryOp> {
    Some(match t {
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
