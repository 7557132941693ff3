//! Recursive-descent parser from tokens to `Expr` for the FEEL grammar, with spans,
//! "expected …" messages and the nesting limits that keep every later walk of the tree shallow.

use std::collections::HashMap;

use super::ast::{
    BinaryOp, ContextEntry, Expr, ExprKind, Iteration, NAME_STOP_WORDS, Operand, PathStep,
    RangeLit, Span, TypeRef, UnaryTest,
};
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
        range_end: false,
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
        return Err(p.expected("an operator or end of input", &found));
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

/// Builtin function names that contain the keywords `and` / `or`, which the lexer splits off.
const KEYWORD_FUNCTIONS: &[&[&str]] = &[
    &["date", "and", "time"],
    &["years", "and", "months", "duration"],
    &["get", "or", "else"],
];

/// The type names `instance of` accepts.
const TYPE_NAMES: &[&str] = &[
    "number",
    "string",
    "boolean",
    "date",
    "time",
    "date and time",
    "days and time duration",
    "years and months duration",
    "list",
    "context",
    "range",
    "function",
    "Any",
    "Null",
];

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    /// Current nesting of recursive descents, bounded by `MAX_DEPTH`.
    depth: usize,
    /// While reading a range's end: `[` closes the range (`]1..5[`), it starts no filter.
    range_end: bool,
}

fn err(span: Span, message: impl Into<String>) -> Error {
    Error {
        span,
        message: message.into(),
    }
}

impl Parser {
    fn token(&self) -> Token {
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

    fn peek_word(&self, n: usize) -> Option<&str> {
        match self.peek_n(n) {
            Tok::Name(w) => Some(w),
            _ => None,
        }
    }

    fn at_word(&self, word: &str) -> bool {
        self.peek_word(0) == Some(word)
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

    #[inline(never)]
    fn expected(&self, what: &str, found: &Token) -> Error {
        let mut message = format!("expected {what}, found {}", found.tok.describe());
        if matches!(found.tok, Tok::Name(_) | Tok::Quoted(_)) && what.contains("operator") {
            message.push_str(" (a name with other characters than letters, digits, `_`, `$` and single spaces goes in backticks: `x-ray`)");
        }
        err(found.span, message)
    }

    #[inline(never)]
    fn expect(&mut self, tok: Tok, what: &str) -> Result<Span, Error> {
        if self.peek() == &tok {
            return Ok(self.bump_span());
        }
        Err(self.expected(what, &self.token()))
    }

    #[inline(never)]
    fn expect_word(&mut self, word: &str, what: &str) -> Result<Span, Error> {
        if self.at_word(word) {
            return Ok(self.bump_span());
        }
        Err(self.expected(what, &self.token()))
    }

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

    /// A full expression (lowest precedence), one nesting level deeper.
    fn expr(&mut self) -> Result<Expr, Error> {
        self.enter()?;
        let e = self.binary(0);
        self.leave();
        e
    }

    /// An operand of `in`, `between`, a unary test or a range end: arithmetic only, so that
    /// `x between 1 and 5` or `x in [1, 2] and y` keep their `and`.
    fn arith(&mut self) -> Result<Expr, Error> {
        self.enter()?;
        let e = self.binary(4);
        self.leave();
        e
    }

    /// Precedence climbing over all binary operators. Operators of one level collect into one
    /// flat `Binary` chain, so `1 + 1 + …` is one node however long it is. `in`, `between` and
    /// `instance of` sit at the level of comparisons.
    fn binary(&mut self, min_prec: u8) -> Result<Expr, Error> {
        let mut first = self.unary()?;
        let mut rest: Vec<Operand> = Vec::new();
        let mut chain_prec = 0;
        loop {
            if min_prec <= 3 && self.at_comparison_keyword() {
                if !rest.is_empty() {
                    first = make_binary(first, std::mem::take(&mut rest));
                }
                first = self.comparison_keyword(first)?;
                chain_prec = 0;
                continue;
            }
            let Some(op) = binary_op(self.peek()) else {
                break;
            };
            let prec = precedence(op);
            if prec < min_prec {
                break;
            }
            let op_span = self.operator(op, !rest.is_empty() && chain_prec == prec)?;
            let rhs = self.binary(prec + 1)?;
            if !rest.is_empty() && prec != chain_prec {
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

    fn at_comparison_keyword(&self) -> bool {
        match self.peek_word(0) {
            Some("in" | "between") => true,
            Some("instance") => self.peek_word(1) == Some("of"),
            _ => false,
        }
    }

    /// `value in …`, `value between a and b`, `value instance of type`.
    fn comparison_keyword(&mut self, value: Expr) -> Result<Expr, Error> {
        let word = self.peek_word(0).unwrap_or_default().to_string();
        let kw = self.bump_span();
        match word.as_str() {
            "in" => {
                let tests = self.positive_unary_tests()?;
                let end = self.prev_span();
                Ok(Expr {
                    span: value.span.to(end),
                    kind: ExprKind::In {
                        value: Box::new(value),
                        tests,
                    },
                })
            }
            "between" => {
                self.need_operand_after("`between`")?;
                let low = self.arith()?;
                if self.peek() != &Tok::And {
                    return Err(self.expected("`and` in `between … and …`", &self.token()));
                }
                self.bump_tok();
                self.need_operand_after("`and`")?;
                let high = self.arith()?;
                Ok(Expr {
                    span: value.span.to(high.span),
                    kind: ExprKind::Between {
                        value: Box::new(value),
                        low: Box::new(low),
                        high: Box::new(high),
                    },
                })
            }
            _ => {
                self.bump_tok(); // `of`
                let (ty, ty_span) = self.type_ref(kw)?;
                Ok(Expr {
                    span: value.span.to(ty_span),
                    kind: ExprKind::InstanceOf {
                        value: Box::new(value),
                        ty,
                        ty_span,
                    },
                })
            }
        }
    }

    fn type_ref(&mut self, after: Span) -> Result<(TypeRef, Span), Error> {
        let start = self.token().span;
        let mut words: Vec<String> = Vec::new();
        loop {
            match self.peek() {
                Tok::Name(w) => words.push(w.clone()),
                Tok::Quoted(w) => words.push(w.clone()),
                Tok::And if !words.is_empty() => words.push("and".into()),
                Tok::Null => words.push("Null".into()),
                _ => break,
            }
            self.bump_tok();
        }
        if words.is_empty() {
            let _ = after;
            return Err(self.expected("a type name after `instance of`", &self.token()));
        }
        let name = words.join(" ");
        let mut span = start.to(self.prev_span());
        if !TYPE_NAMES.contains(&name.as_str()) {
            return Err(err(
                span,
                format!(
                    "unknown type `{name}`; the types are: {}",
                    TYPE_NAMES.join(", ")
                ),
            ));
        }
        let mut element = None;
        if self.peek() == &Tok::Lt && matches!(name.as_str(), "list" | "range") {
            let open = self.bump_span();
            self.enter()?;
            let inner = self.type_ref(open);
            self.leave();
            let (inner, _) = inner?;
            let close = self.expect(Tok::Gt, "`>` to close the element type")?;
            span = span.to(close);
            element = Some(Box::new(inner));
        }
        Ok((TypeRef { name, element }, span))
    }

    /// After `in`: one test, or `(t, …)` a list of them.
    fn positive_unary_tests(&mut self) -> Result<Vec<UnaryTest>, Error> {
        if self.peek() == &Tok::LParen {
            let open = self.bump_span();
            let first = self.unary_test()?;
            // `(1..5]`: a range with an open start.
            if self.peek() == &Tok::DotDot
                && let UnaryTest::Expr(start) = first
            {
                let range = self.range_rest(open, Some(start), false)?;
                return Ok(vec![UnaryTest::Expr(range)]);
            }
            let mut tests = vec![first];
            while self.peek() == &Tok::Comma {
                self.bump_tok();
                tests.push(self.unary_test()?);
            }
            self.expect(
                Tok::RParen,
                &format!(
                    "`,` or `)` to close the tests opened at byte {}",
                    open.start
                ),
            )?;
            return Ok(tests);
        }
        Ok(vec![self.unary_test()?])
    }

    /// `< e`, `<= e`, `> e`, `>= e`, `= e`, `!= e`, `not(tests)`, or an expression.
    fn unary_test(&mut self) -> Result<UnaryTest, Error> {
        self.enter()?;
        let t = self.unary_test_inner();
        self.leave();
        t
    }

    fn unary_test_inner(&mut self) -> Result<UnaryTest, Error> {
        let op = match self.peek() {
            Tok::Lt => Some(BinaryOp::Lt),
            Tok::Le => Some(BinaryOp::Le),
            Tok::Gt => Some(BinaryOp::Gt),
            Tok::Ge => Some(BinaryOp::Ge),
            Tok::Eq => Some(BinaryOp::Eq),
            Tok::Ne => Some(BinaryOp::Ne),
            _ => None,
        };
        if let Some(op) = op {
            let op_span = self.bump_span();
            self.need_operand_after(&format!("`{op}`"))?;
            let operand = self.arith()?;
            let span = op_span.to(operand.span);
            let kind = match op {
                BinaryOp::Eq => return Ok(UnaryTest::Expr(operand)),
                BinaryOp::Ne => {
                    return Ok(UnaryTest::Not(vec![UnaryTest::Expr(operand)], span));
                }
                BinaryOp::Lt | BinaryOp::Le => RangeLit {
                    start: None,
                    start_closed: false,
                    end: Some(operand),
                    end_closed: op == BinaryOp::Le,
                },
                _ => RangeLit {
                    start: Some(operand),
                    start_closed: op == BinaryOp::Ge,
                    end: None,
                    end_closed: false,
                },
            };
            return Ok(UnaryTest::Expr(Expr {
                kind: ExprKind::Range(Box::new(kind)),
                span,
            }));
        }
        if self.at_word("not") && self.peek_n(1) == &Tok::LParen {
            let start = self.bump_span();
            self.bump_tok();
            let mut tests = vec![self.unary_test()?];
            while self.peek() == &Tok::Comma {
                self.bump_tok();
                tests.push(self.unary_test()?);
            }
            let close = self.expect(Tok::RParen, "`,` or `)` to close `not(`")?;
            return Ok(UnaryTest::Not(tests, start.to(close)));
        }
        if self.peek() != &Tok::RBracket {
            self.need_operand_after("`in`")?;
        }
        Ok(UnaryTest::Expr(self.arith()?))
    }

    /// Consumes a binary operator and checks what follows it.
    #[inline(never)]
    fn operator(&mut self, op: BinaryOp, same_level: bool) -> Result<Span, Error> {
        let span = self.bump_span();
        if op.is_comparison() && same_level {
            return Err(err(
                span,
                format!(
                    "comparisons cannot be chained: expected `and`, `or`, `)` or end of input, found `{op}`"
                ),
            ));
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
                Tok::LBracket if !self.range_end => {
                    let open = self.open_filter()?;
                    let inner = self.expr()?;
                    steps.push(self.close_filter(open, inner)?);
                }
                _ => break,
            }
        }
        Ok(make_path(base, steps))
    }

    #[inline(never)]
    fn field_step(&mut self) -> Result<PathStep, Error> {
        let dot = self.bump_span();
        let first = self.token();
        let mut name = match &first.tok {
            Tok::Name(n) | Tok::Quoted(n) => n.clone(),
            _ => return Err(self.expected("a name after `.`", &first)),
        };
        self.bump_tok();
        // Multi-word keys and properties: `.time offset`.
        if matches!(first.tok, Tok::Name(_)) {
            while let Some(w) = self.joinable_word() {
                name.push(' ');
                name.push_str(&w);
                self.bump_tok();
            }
        }
        if self.peek() == &Tok::LParen {
            return Err(err(
                self.token().span,
                "method calls are not supported; call functions by name, like `string(x)`",
            ));
        }
        Ok(PathStep::Field {
            name,
            span: dot.to(self.prev_span()),
        })
    }

    #[inline(never)]
    fn open_filter(&mut self) -> Result<Span, Error> {
        let open = self.bump_span();
        if self.peek() == &Tok::RBracket {
            return Err(self.expected("an index or a condition inside `[ ]`", &self.token()));
        }
        Ok(open)
    }

    #[inline(never)]
    fn close_filter(&mut self, open: Span, inner: Expr) -> Result<PathStep, Error> {
        if self.peek() != &Tok::RBracket {
            return Err(self.expected("`]` to close the filter", &self.token()));
        }
        let close = self.bump_span();
        Ok(PathStep::Filter {
            expr: Box::new(inner),
            span: open.to(close),
        })
    }

    /// The next token, if it is a word that continues a multi-word name.
    fn joinable_word(&self) -> Option<String> {
        let w = self.peek_word(0)?;
        if NAME_STOP_WORDS.contains(&w) || (w == "instance" && self.peek_word(1) == Some("of")) {
            return None;
        }
        Some(w.to_string())
    }

    fn primary(&mut self) -> Result<Expr, Error> {
        match self.peek() {
            Tok::LParen => self.paren(),
            Tok::LBracket => self.list_or_range(),
            Tok::RBracket => {
                let open = self.bump_span();
                self.need_operand_after("`]`")?;
                let start = self.arith()?;
                self.range_rest(open, Some(start), false)
            }
            Tok::LBrace => self.context(),
            Tok::Name(_) => self.named(),
            _ => self.leaf(),
        }
    }

    fn paren(&mut self) -> Result<Expr, Error> {
        let open = self.bump_span();
        let outer = std::mem::replace(&mut self.range_end, false);
        let r = self.paren_inner(open);
        self.range_end = outer;
        r
    }

    fn paren_inner(&mut self, open: Span) -> Result<Expr, Error> {
        self.need_operand_after("`(`")?;
        let inner = self.expr()?;
        if self.peek() == &Tok::DotDot {
            return self.range_rest(open, Some(inner), false);
        }
        self.close_paren(open)?;
        Ok(inner)
    }

    /// After `[a` / `(a` / `]a`, at `..`: the end and the closing bracket of a range.
    fn range_rest(
        &mut self,
        open: Span,
        start: Option<Expr>,
        start_closed: bool,
    ) -> Result<Expr, Error> {
        self.expect(Tok::DotDot, "`..` in a range")?;
        self.need_operand_after("`..`")?;
        let outer = std::mem::replace(&mut self.range_end, true);
        let end = self.arith();
        self.range_end = outer;
        let end = end?;
        let end_closed = match self.peek() {
            Tok::RBracket => true,
            Tok::RParen | Tok::LBracket => false,
            _ => return Err(self.expected("`]`, `)` or `[` to close the range", &self.token())),
        };
        let close = self.bump_span();
        Ok(Expr {
            span: open.to(close),
            kind: ExprKind::Range(Box::new(RangeLit {
                start,
                start_closed,
                end: Some(end),
                end_closed,
            })),
        })
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
            Tok::At(s) => {
                if let Err(e) = super::temporal::Temporal::parse(&s) {
                    return Err(err(t.span, format!("invalid temporal literal: {e}")));
                }
                ExprKind::At(s)
            }
            Tok::Quoted(n) => {
                self.bump_tok();
                if self.peek() == &Tok::LParen {
                    return self.call(n, t.span);
                }
                return Ok(Expr {
                    kind: ExprKind::Name(n),
                    span: t.span,
                });
            }
            _ => return Err(self.expected("an expression", &t)),
        };
        self.bump_tok();
        Ok(Expr { kind, span: t.span })
    }

    /// An expression that starts with a word: `if`, `for`, `some`, `every`, `function`, a call
    /// (also of a multi-word function: `string length(`, `get or else(`), or a (multi-word) name.
    fn named(&mut self) -> Result<Expr, Error> {
        let t = self.token();
        let word = self.peek_word(0).unwrap_or_default().to_string();
        let keyword_form = match word.as_str() {
            "if" | "some" | "every" => starts_expression(self.peek_n(1)),
            "for" => matches!(self.peek_n(1), Tok::Name(_) | Tok::Quoted(_)),
            "function" => self.peek_n(1) == &Tok::LParen,
            _ => false,
        };
        if keyword_form {
            self.bump_tok();
            return match word.as_str() {
                "if" => self.if_expr(t.span),
                "for" => self.for_expr(t.span),
                "some" | "every" => self.quantified(t.span, word == "every"),
                _ => self.function(t.span),
            };
        }
        if let Some(n) = self.keyword_function() {
            let name = KEYWORD_FUNCTIONS[n].join(" ");
            self.pos += KEYWORD_FUNCTIONS[n].len();
            return self.call(name, t.span.to(self.prev_span()));
        }
        let mut name = word;
        self.bump_tok();
        while let Some(w) = self.joinable_word() {
            name.push(' ');
            name.push_str(&w);
            self.bump_tok();
        }
        let span = t.span.to(self.prev_span());
        if self.peek() == &Tok::LParen {
            return self.call(name, span);
        }
        Ok(Expr {
            kind: ExprKind::Name(name),
            span,
        })
    }

    /// Which of `KEYWORD_FUNCTIONS` is spelled at the cursor and followed by `(`.
    fn keyword_function(&self) -> Option<usize> {
        KEYWORD_FUNCTIONS.iter().position(|words| {
            words.iter().enumerate().all(|(i, w)| match self.peek_n(i) {
                Tok::Name(n) => n == w,
                Tok::And => *w == "and",
                Tok::Or => *w == "or",
                _ => false,
            }) && self.peek_n(words.len()) == &Tok::LParen
        })
    }

    fn if_expr(&mut self, start: Span) -> Result<Expr, Error> {
        self.need_operand_after("`if`")?;
        let cond = self.expr()?;
        self.expect_word("then", "`then` after the condition of `if`")?;
        self.need_operand_after("`then`")?;
        let then = self.expr()?;
        self.expect_word(
            "else",
            "`else` after `if … then …` (FEEL's `if` always has an `else`)",
        )?;
        self.need_operand_after("`else`")?;
        let els = self.expr()?;
        Ok(Expr {
            span: start.to(els.span),
            kind: ExprKind::If {
                cond: Box::new(cond),
                then: Box::new(then),
                els: Box::new(els),
            },
        })
    }

    fn iterations(&mut self, construct: &str) -> Result<Vec<Iteration>, Error> {
        let mut iters = Vec::new();
        loop {
            let t = self.token();
            let mut name = match &t.tok {
                Tok::Name(n) | Tok::Quoted(n) => n.clone(),
                _ => return Err(self.expected(&format!("a variable name in `{construct}`"), &t)),
            };
            self.bump_tok();
            if matches!(t.tok, Tok::Name(_)) {
                while let Some(w) = self.joinable_word() {
                    name.push(' ');
                    name.push_str(&w);
                    self.bump_tok();
                }
            }
            let name_span = t.span.to(self.prev_span());
            self.expect_word("in", &format!("`in` after the variable `{name}`"))?;
            self.need_operand_after("`in`")?;
            let domain = self.expr()?;
            let to = if self.peek() == &Tok::DotDot {
                self.bump_tok();
                self.need_operand_after("`..`")?;
                Some(self.expr()?)
            } else {
                None
            };
            iters.push(Iteration {
                name,
                name_span,
                domain,
                to,
            });
            if self.peek() != &Tok::Comma {
                return Ok(iters);
            }
            self.bump_tok();
        }
    }

    fn for_expr(&mut self, start: Span) -> Result<Expr, Error> {
        let iters = self.iterations("for")?;
        self.expect_word("return", "`,` or `return` in `for … in … return …`")?;
        self.need_operand_after("`return`")?;
        let body = self.expr()?;
        Ok(Expr {
            span: start.to(body.span),
            kind: ExprKind::For {
                iters,
                body: Box::new(body),
            },
        })
    }

    fn quantified(&mut self, start: Span, every: bool) -> Result<Expr, Error> {
        let word = if every { "every" } else { "some" };
        let iters = self.iterations(word)?;
        self.expect_word(
            "satisfies",
            &format!("`,` or `satisfies` in `{word} … in … satisfies …`"),
        )?;
        self.need_operand_after("`satisfies`")?;
        let cond = self.expr()?;
        Ok(Expr {
            span: start.to(cond.span),
            kind: ExprKind::Quantified {
                every,
                iters,
                cond: Box::new(cond),
            },
        })
    }

    fn function(&mut self, start: Span) -> Result<Expr, Error> {
        self.expect(Tok::LParen, "`(` after `function`")?;
        let mut params = Vec::new();
        if self.peek() == &Tok::RParen {
            self.bump_tok();
        } else {
            loop {
                let t = self.token();
                match t.tok {
                    Tok::Name(n) | Tok::Quoted(n) => params.push((n, t.span)),
                    _ => return Err(self.expected("a parameter name", &t)),
                }
                self.bump_tok();
                if self.peek() == &Tok::Comma {
                    self.bump_tok();
                    continue;
                }
                self.expect(Tok::RParen, "`,` or `)` after a parameter")?;
                break;
            }
        }
        self.need_operand_after("the parameters")?;
        let body = self.expr()?;
        Ok(Expr {
            span: start.to(body.span),
            kind: ExprKind::Function {
                params,
                body: Box::new(body),
            },
        })
    }

    fn call(&mut self, name: String, name_span: Span) -> Result<Expr, Error> {
        let open = self.bump_span(); // `(`
        let mut args = Vec::new();
        let mut arg_names = Vec::new();
        if self.peek() == &Tok::RParen {
            self.bump_tok();
        } else {
            loop {
                if let Some(arg_name) = self.argument_name()? {
                    if arg_names.len() != args.len() {
                        return Err(err(
                            arg_name.1,
                            "named and positional arguments cannot be mixed",
                        ));
                    }
                    arg_names.push(arg_name);
                } else if !arg_names.is_empty() {
                    return Err(err(
                        self.token().span,
                        "named and positional arguments cannot be mixed",
                    ));
                }
                if !starts_expression(self.peek()) {
                    let what = if args.is_empty() {
                        format!("an argument or `)` after `{name}(`")
                    } else {
                        "an argument after `,`".to_string()
                    };
                    return Err(self.expected(&what, &self.token()));
                }
                args.push(self.expr()?);
                if self.separator(Tok::RParen, &name, open)? {
                    break;
                }
            }
        }
        Ok(Expr {
            span: name_span.to(self.prev_span()),
            kind: ExprKind::Call {
                name,
                name_span,
                args,
                arg_names,
            },
        })
    }

    /// `name:` before an argument (the name may have several words), consumed; else `None`.
    #[inline(never)]
    fn argument_name(&mut self) -> Result<Option<(String, Span)>, Error> {
        let mut n = 0;
        while matches!(self.peek_n(n), Tok::Name(_)) {
            n += 1;
        }
        if n == 0 && matches!(self.peek_n(0), Tok::Quoted(_)) {
            n = 1;
        }
        if n == 0 || self.peek_n(n) != &Tok::Colon {
            return Ok(None);
        }
        let start = self.token().span;
        let mut words = Vec::new();
        for _ in 0..n {
            if let Tok::Name(w) | Tok::Quoted(w) = self.peek() {
                words.push(w.clone());
            }
            self.bump_tok();
        }
        let span = start.to(self.prev_span());
        self.bump_tok(); // `:`
        Ok(Some((words.join(" "), span)))
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

    fn list_or_range(&mut self) -> Result<Expr, Error> {
        let open = self.bump_span();
        let mut items = Vec::new();
        if self.peek() == &Tok::RBracket {
            self.bump_tok();
        } else {
            loop {
                if !starts_expression(self.peek()) {
                    let what = if items.is_empty() {
                        "an expression or `]` after `[`"
                    } else {
                        "an expression after `,`"
                    };
                    return Err(self.expected(what, &self.token()));
                }
                let item = self.expr()?;
                if items.is_empty() && self.peek() == &Tok::DotDot {
                    return self.range_rest(open, Some(item), true);
                }
                items.push(item);
                if self.separator(Tok::RBracket, "", open)? {
                    break;
                }
            }
        }
        Ok(Expr {
            span: open.to(self.prev_span()),
            kind: ExprKind::List(items),
        })
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

    /// Before a context entry: its key (a name of one or more words, a backtick name or a
    /// string) and `:`, or `None` (consumed) if `}` closes an empty context.
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
        let mut key = match &key_tok.tok {
            Tok::Str(s) | Tok::Name(s) | Tok::Quoted(s) => s.clone(),
            Tok::True | Tok::False | Tok::Null | Tok::And | Tok::Or => {
                key_tok.tok.describe().trim_matches('`').to_string()
            }
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
        if matches!(key_tok.tok, Tok::Name(_)) {
            while let Tok::Name(w) = self.peek() {
                key.push(' ');
                key.push_str(w);
                self.bump_tok();
            }
        }
        let key_span = key_tok.span.to(self.prev_span());
        if let Some(first) = seen.get(&key) {
            return Err(err(
                key_span,
                format!(
                    "duplicate key `{key}` in context (first defined at byte {})",
                    first.start
                ),
            ));
        }
        if self.peek() != &Tok::Colon {
            return Err(self.expected(&format!("`:` after the key `{key}`"), &self.token()));
        }
        self.bump_tok();
        if !starts_expression(self.peek()) {
            return Err(self.expected(&format!("a value after `{key}:`"), &self.token()));
        }
        seen.insert(key.clone(), key_span);
        Ok(Some((key, key_span)))
    }
}

fn make_path(base: Expr, steps: Vec<PathStep>) -> Expr {
    let Some(last) = steps.last() else {
        return base;
    };
    let end = match last {
        PathStep::Field { span, .. } | PathStep::Filter { span, .. } => *span,
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

/// Binding strength: `or` < `and` < comparisons < `+ -` < `* /` < `**`.
fn precedence(op: BinaryOp) -> u8 {
    match op {
        BinaryOp::Or => 1,
        BinaryOp::And => 2,
        BinaryOp::Eq | BinaryOp::Ne | BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => {
            3
        }
        BinaryOp::Add | BinaryOp::Sub => 4,
        BinaryOp::Mul | BinaryOp::Div => 5,
        BinaryOp::Pow => 6,
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
        Tok::StarStar => BinaryOp::Pow,
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
            | Tok::At(_)
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
