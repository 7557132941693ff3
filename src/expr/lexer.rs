//! Turns expression text into tokens with byte spans: literals (with escape decoding), names,
//! backtick names, keywords and punctuation. Lexical mistakes become `Error`s.

use rust_decimal::Decimal;

use super::Error;
use super::ast::Span;

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Tok {
    Number(Decimal),
    Str(String),
    /// `@"…"`: a temporal literal's text.
    At(String),
    /// A plain name (`a`, `$secrets`, `is`, `not`…).
    Name(String),
    /// A backtick name: never a keyword, never part of `is defined`.
    Quoted(String),
    True,
    False,
    Null,
    And,
    Or,
    LParen,
    RParen,
    LBracket,
    RBracket,
    LBrace,
    RBrace,
    Comma,
    Colon,
    Dot,
    /// `..` — the middle of a range `[1..10]`.
    DotDot,
    Plus,
    Minus,
    Star,
    /// `**` — exponentiation.
    StarStar,
    Slash,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Eof,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Token {
    pub tok: Tok,
    pub span: Span,
}

impl Tok {
    /// How the token is named in "expected …, found X" messages.
    pub fn describe(&self) -> String {
        match self {
            Tok::Number(n) => format!("number `{n}`"),
            Tok::At(s) => format!(
                "temporal literal @\"{}\"",
                s.chars().take(20).collect::<String>()
            ),
            Tok::Str(s) => {
                let short: String = s.chars().take(20).collect();
                if short.len() < s.len() {
                    format!("string \"{short}…\"")
                } else {
                    format!("string \"{short}\"")
                }
            }
            Tok::Name(n) => format!("name `{n}`"),
            Tok::Quoted(n) => format!("name `{n}`"),
            Tok::True => "`true`".into(),
            Tok::False => "`false`".into(),
            Tok::Null => "`null`".into(),
            Tok::And => "`and`".into(),
            Tok::Or => "`or`".into(),
            Tok::LParen => "`(`".into(),
            Tok::RParen => "`)`".into(),
            Tok::LBracket => "`[`".into(),
            Tok::RBracket => "`]`".into(),
            Tok::LBrace => "`{`".into(),
            Tok::RBrace => "`}`".into(),
            Tok::Comma => "`,`".into(),
            Tok::Colon => "`:`".into(),
            Tok::Dot => "`.`".into(),
            Tok::DotDot => "`..`".into(),
            Tok::Plus => "`+`".into(),
            Tok::Minus => "`-`".into(),
            Tok::Star => "`*`".into(),
            Tok::StarStar => "`**`".into(),
            Tok::Slash => "`/`".into(),
            Tok::Eq => "`=`".into(),
            Tok::Ne => "`!=`".into(),
            Tok::Lt => "`<`".into(),
            Tok::Le => "`<=`".into(),
            Tok::Gt => "`>`".into(),
            Tok::Ge => "`>=`".into(),
            Tok::Eof => "end of input".into(),
        }
    }

    /// True if an expression can end with this token (so a following `.5` is a path, not a number).
    fn ends_operand(&self) -> bool {
        matches!(
            self,
            Tok::Number(_)
                | Tok::Str(_)
                | Tok::At(_)
                | Tok::Name(_)
                | Tok::Quoted(_)
                | Tok::True
                | Tok::False
                | Tok::Null
                | Tok::RParen
                | Tok::RBracket
                | Tok::RBrace
        )
    }
}

fn is_name_start(c: char) -> bool {
    c.is_alphabetic() || c == '_' || c == '$'
}

fn is_name_continue(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '$'
}

fn err(start: usize, end: usize, message: impl Into<String>) -> Error {
    Error {
        span: Span::new(start, end),
        message: message.into(),
    }
}

/// Splits `src` into tokens; the last token is always `Eof` with the empty span at the end.
pub(crate) fn tokenize(src: &str) -> Result<Vec<Token>, Error> {
    let mut lx = Lexer {
        src,
        pos: 0,
        out: Vec::new(),
    };
    lx.run()?;
    Ok(lx.out)
}

struct Lexer<'a> {
    src: &'a str,
    pos: usize,
    out: Vec<Token>,
}

impl Lexer<'_> {
    fn peek(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    fn peek_at(&self, offset: usize) -> Option<char> {
        self.src.get(self.pos + offset..)?.chars().next()
    }

    fn push(&mut self, tok: Tok, start: usize) {
        self.out.push(Token {
            tok,
            span: Span::new(start, self.pos),
        });
    }

    fn run(&mut self) -> Result<(), Error> {
        while let Some(c) = self.peek() {
            let start = self.pos;
            if c.is_whitespace() {
                self.pos += c.len_utf8();
                continue;
            }
            let prev_ends_operand = self.out.last().is_some_and(|t| t.tok.ends_operand());
            let next_is_digit = self.peek_at(1).is_some_and(|d| d.is_ascii_digit());
            if c.is_ascii_digit() || (c == '.' && next_is_digit && !prev_ends_operand) {
                self.number(start)?;
            } else if c == '"' {
                self.string(start)?;
            } else if c == '@' && self.peek_at(1) == Some('"') {
                self.pos += 1;
                self.string(start)?;
                if let Some(Token {
                    tok: Tok::Str(s), ..
                }) = self.out.pop()
                {
                    self.push(Tok::At(s), start);
                }
            } else if c == '`' {
                self.backtick(start)?;
            } else if is_name_start(c) {
                while self.peek().is_some_and(is_name_continue) {
                    self.pos += self.peek().map_or(1, char::len_utf8);
                }
                let word = &self.src[start..self.pos];
                let tok = match word {
                    "true" => Tok::True,
                    "false" => Tok::False,
                    "null" => Tok::Null,
                    "and" => Tok::And,
                    "or" => Tok::Or,
                    _ => Tok::Name(word.to_string()),
                };
                self.push(tok, start);
            } else {
                self.punct(c, start)?;
            }
        }
        self.out.push(Token {
            tok: Tok::Eof,
            span: Span::new(self.src.len(), self.src.len()),
        });
        Ok(())
    }

    fn punct(&mut self, c: char, start: usize) -> Result<(), Error> {
        let next = self.peek_at(1);
        let (tok, len) = match (c, next) {
            ('(', _) => (Tok::LParen, 1),
            (')', _) => (Tok::RParen, 1),
            ('[', _) => (Tok::LBracket, 1),
            (']', _) => (Tok::RBracket, 1),
            ('{', _) => (Tok::LBrace, 1),
            ('}', _) => (Tok::RBrace, 1),
            (',', _) => (Tok::Comma, 1),
            (':', _) => (Tok::Colon, 1),
            ('.', Some('.')) => (Tok::DotDot, 2),
            ('.', _) => (Tok::Dot, 1),
            ('+', _) => (Tok::Plus, 1),
            ('-', _) => (Tok::Minus, 1),
            ('*', Some('*')) => (Tok::StarStar, 2),
            ('*', _) => (Tok::Star, 1),
            ('/', _) => (Tok::Slash, 1),
            ('=', _) => (Tok::Eq, 1),
            ('!', Some('=')) => (Tok::Ne, 2),
            ('<', Some('=')) => (Tok::Le, 2),
            ('<', _) => (Tok::Lt, 1),
            ('>', Some('=')) => (Tok::Ge, 2),
            ('>', _) => (Tok::Gt, 1),
            ('!', _) => {
                return Err(err(
                    start,
                    start + 1,
                    "unexpected character `!`; negate with `not(…)`, compare with `!=`",
                ));
            }
            ('\'', _) => {
                return Err(err(
                    start,
                    start + 1,
                    "unexpected character `'`; strings use double quotes: \"…\"",
                ));
            }
            _ => {
                let end = start + c.len_utf8();
                let shown = if c.is_control() {
                    c.escape_unicode().to_string()
                } else {
                    c.to_string()
                };
                return Err(err(start, end, format!("unexpected character `{shown}`")));
            }
        };
        self.pos += len;
        self.push(tok, start);
        Ok(())
    }

    fn digits(&mut self) -> usize {
        let begin = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        self.pos - begin
    }

    fn number(&mut self, start: usize) -> Result<(), Error> {
        self.digits();
        if self.peek() == Some('.') && self.peek_at(1).is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
            self.digits();
        }
        if matches!(self.peek(), Some('e' | 'E')) {
            let sign = matches!(self.peek_at(1), Some('+' | '-'));
            let digit_at = if sign { 2 } else { 1 };
            if self.peek_at(digit_at).is_some_and(|c| c.is_ascii_digit()) {
                self.pos += digit_at;
                self.digits();
            }
        }
        let text = &self.src[start..self.pos];
        let value = if text.contains(['e', 'E']) {
            Decimal::from_scientific(text)
        } else {
            text.parse::<Decimal>()
        };
        let value = value.map_err(|_| {
            err(
                start,
                self.pos,
                format!("number `{text}` is out of range (FEEL numbers have 28 significant digits, magnitude below 7.9e28)"),
            )
        })?;
        self.push(Tok::Number(value), start);
        Ok(())
    }

    fn string(&mut self, start: usize) -> Result<(), Error> {
        self.pos += 1; // opening quote
        let mut out = String::new();
        loop {
            let Some(c) = self.peek() else {
                return Err(err(
                    start,
                    self.src.len(),
                    "unterminated string: expected a closing `\"`",
                ));
            };
            match c {
                '"' => {
                    self.pos += 1;
                    break;
                }
                '\\' => out.push(self.escape()?),
                _ => {
                    out.push(c);
                    self.pos += c.len_utf8();
                }
            }
        }
        self.push(Tok::Str(out), start);
        Ok(())
    }

    /// Decodes one escape; `self.pos` is at the backslash.
    fn escape(&mut self) -> Result<char, Error> {
        let start = self.pos;
        let Some(c) = self.peek_at(1) else {
            return Err(err(
                start,
                self.src.len(),
                "unterminated string: expected a closing `\"`",
            ));
        };
        self.pos += 1 + c.len_utf8();
        let decoded = match c {
            '"' => '"',
            '\\' => '\\',
            '\'' => '\'',
            '/' => '/',
            'n' => '\n',
            't' => '\t',
            'r' => '\r',
            'b' => '\u{8}',
            'f' => '\u{c}',
            'u' => return self.unicode_escape(start),
            _ => {
                return Err(err(
                    start,
                    self.pos,
                    format!(
                        "unknown escape `\\{c}` in string; expected one of \\\" \\\\ \\n \\t \\r \\uXXXX"
                    ),
                ));
            }
        };
        Ok(decoded)
    }

    /// Reads the four hex digits after `\u` (the position is just past the `u`).
    fn hex4(&mut self, escape_start: usize) -> Result<u32, Error> {
        let hex = self
            .src
            .get(self.pos..self.pos + 4)
            .filter(|h| h.chars().all(|c| c.is_ascii_hexdigit()));
        let Some(hex) = hex else {
            return Err(err(
                escape_start,
                self.pos,
                "expected four hex digits after `\\u`",
            ));
        };
        let value = u32::from_str_radix(hex, 16).map_err(|_| {
            err(
                escape_start,
                self.pos,
                "expected four hex digits after `\\u`",
            )
        })?;
        self.pos += 4;
        Ok(value)
    }

    fn unicode_escape(&mut self, start: usize) -> Result<char, Error> {
        let first = self.hex4(start)?;
        let code = if (0xD800..0xDC00).contains(&first) {
            // A high surrogate must be followed by `\u` and a low surrogate.
            if self.src.get(self.pos..self.pos + 2) != Some("\\u") {
                return Err(err(
                    start,
                    self.pos,
                    "unpaired surrogate: expected a `\\uDC00`–`\\uDFFF` escape after it",
                ));
            }
            let second_start = self.pos;
            self.pos += 2;
            let second = self.hex4(second_start)?;
            if !(0xDC00..0xE000).contains(&second) {
                return Err(err(
                    start,
                    self.pos,
                    "unpaired surrogate: expected a `\\uDC00`–`\\uDFFF` escape after it",
                ));
            }
            0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
        } else if (0xDC00..0xE000).contains(&first) {
            return Err(err(
                start,
                self.pos,
                "unpaired low surrogate in `\\u` escape",
            ));
        } else {
            first
        };
        char::from_u32(code).ok_or_else(|| err(start, self.pos, "invalid `\\u` escape"))
    }

    fn backtick(&mut self, start: usize) -> Result<(), Error> {
        let body_start = start + 1;
        let Some(len) = self.src[body_start..].find('`') else {
            return Err(err(
                start,
                self.src.len(),
                "unterminated name: expected a closing backtick",
            ));
        };
        let name = &self.src[body_start..body_start + len];
        self.pos = body_start + len + 1;
        if name.is_empty() {
            return Err(err(start, self.pos, "empty name between backticks"));
        }
        self.push(Tok::Quoted(name.to_string()), start);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Decimal {
        s.parse().expect("decimal")
    }

    fn toks(src: &str) -> Vec<Tok> {
        tokenize(src)
            .expect("lexes")
            .into_iter()
            .map(|t| t.tok)
            .collect()
    }

    #[test]
    fn names_keywords_and_dollar() {
        assert_eq!(
            toks("$secrets a_1 true and or null not"),
            vec![
                Tok::Name("$secrets".into()),
                Tok::Name("a_1".into()),
                Tok::True,
                Tok::And,
                Tok::Or,
                Tok::Null,
                Tok::Name("not".into()),
                Tok::Eof
            ]
        );
    }

    #[test]
    fn numbers() {
        assert_eq!(
            toks("1 2.5 1e3 2E-2 (.5"),
            vec![
                Tok::Number(dec("1")),
                Tok::Number(dec("2.5")),
                Tok::Number(dec("1000")),
                Tok::Number(dec("0.02")),
                Tok::LParen,
                Tok::Number(dec("0.5")),
                Tok::Eof
            ]
        );
        // after an operand, `.` is a path separator
        assert_eq!(
            toks("a.b"),
            vec![
                Tok::Name("a".into()),
                Tok::Dot,
                Tok::Name("b".into()),
                Tok::Eof
            ]
        );
        let e = tokenize("1e999").unwrap_err();
        assert_eq!(e.span, Span::new(0, 5));
    }

    #[test]
    fn operators() {
        assert_eq!(
            toks("<= >= != < > = ** .."),
            vec![
                Tok::Le,
                Tok::Ge,
                Tok::Ne,
                Tok::Lt,
                Tok::Gt,
                Tok::Eq,
                Tok::StarStar,
                Tok::DotDot,
                Tok::Eof
            ]
        );
    }

    #[test]
    fn spans_are_bytes() {
        let t = tokenize("é + `x y`").expect("lexes");
        assert_eq!(t[0].span, Span::new(0, 2));
        assert_eq!(t[1].span, Span::new(3, 4));
        assert_eq!(t[2].tok, Tok::Quoted("x y".into()));
        assert_eq!(t[2].span, Span::new(5, 10));
        assert_eq!(t[3].span, Span::new(10, 10));
    }

    #[test]
    fn unexpected_characters() {
        let e = tokenize("a ! b").unwrap_err();
        assert_eq!(e.span, Span::new(2, 3));
        assert!(e.message.contains("not("), "{}", e.message);
        let e = tokenize("'x'").unwrap_err();
        assert!(e.message.contains("double quotes"), "{}", e.message);
        let e = tokenize("a # b").unwrap_err();
        assert_eq!(e.message, "unexpected character `#`");
    }
}
