//! A small JSON parser that keeps the byte span of every value and key, so that every
//! diagnostic about a workflow file can point at `file:line:col`. Depth is bounded.

use std::ops::Range;

/// Byte range into the file's text.
pub type Span = Range<usize>;

/// Deepest nesting of arrays and objects accepted; deeper input is an error, not a stack overflow.
pub const MAX_DEPTH: usize = 128;

/// A JSON value together with where it stands in the file.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(Str),
    Array(Vec<Node>),
    /// Members in file order; duplicate keys are kept so the loader can report them.
    Object(Vec<Member>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub key: Str,
    pub value: Node,
}

/// A decoded JSON string that can map offsets in its decoded text back to the file.
#[derive(Debug, Clone, PartialEq)]
pub struct Str {
    pub text: String,
    /// The whole string literal, quotes included.
    pub span: Span,
    /// `(decoded offset, file offset)` anchors: the first is the content start, then one
    /// before and one after every escape sequence.
    anchors: Vec<(usize, usize)>,
}

impl Str {
    /// A decoded string from another format (an XML attribute, say): `anchors` as described
    /// on the field, the first being `(0, first content byte in the file)`.
    pub fn from_parts(text: String, span: Span, anchors: Vec<(usize, usize)>) -> Str {
        debug_assert!(anchors.first().is_some_and(|a| a.0 == 0));
        Str {
            text,
            span,
            anchors,
        }
    }

    /// Maps a byte offset into `text` to a byte offset into the file.
    pub fn file_offset(&self, decoded: usize) -> usize {
        let i = self.anchors.partition_point(|&(d, _)| d <= decoded);
        let (d, f) = self.anchors[i.saturating_sub(1)];
        f + (decoded - d)
    }

    /// Maps a span in `text` to a span in the file.
    pub fn file_span(&self, decoded: Range<usize>) -> Span {
        let start = self.file_offset(decoded.start.min(self.text.len()));
        let end = self.file_offset(decoded.end.min(self.text.len()));
        start..end.max(start)
    }
}

impl Value {
    /// What kind of value this is, for "expected X, found Y" messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "an array",
            Value::Object(_) => "an object",
        }
    }
}

impl Node {
    /// Converts to a plain `serde_json::Value` (later duplicate keys win, as in serde_json).
    pub fn to_serde(&self) -> serde_json::Value {
        match &self.value {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Number(n) => serde_json::Value::Number(n.clone()),
            Value::String(s) => serde_json::Value::String(s.text.clone()),
            Value::Array(items) => {
                serde_json::Value::Array(items.iter().map(Node::to_serde).collect())
            }
            Value::Object(members) => serde_json::Value::Object(
                members
                    .iter()
                    .map(|m| (m.key.text.clone(), m.value.to_serde()))
                    .collect(),
            ),
        }
    }
}

/// A syntax error: where and what was expected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct SyntaxError {
    pub span: Span,
    pub message: String,
}

/// Parses a whole JSON document.
pub fn parse(text: &str) -> Result<Node, SyntaxError> {
    let mut p = Parser {
        src: text.as_bytes(),
        text,
        pos: 0,
    };
    // A UTF-8 byte order mark is harmless; skip it.
    if text.starts_with('\u{feff}') {
        p.pos = 3;
    }
    p.skip_ws();
    if p.pos >= p.src.len() {
        return Err(p.error_here("expected a JSON value, found an empty file"));
    }
    let node = p.value(0)?;
    p.skip_ws();
    if p.pos < p.src.len() {
        return Err(p.error_here(&format!(
            "expected the end of the file after the JSON value, found {}",
            p.describe_here()
        )));
    }
    Ok(node)
}

struct Parser<'a> {
    src: &'a [u8],
    text: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.src.get(self.pos) {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.src.get(self.pos).copied()
    }

    /// The span of the character at the current position (empty at the end).
    fn char_span(&self) -> Span {
        let len = self.text[self.pos..]
            .chars()
            .next()
            .map_or(0, char::len_utf8);
        self.pos..self.pos + len
    }

    fn error_here(&self, message: &str) -> SyntaxError {
        SyntaxError {
            span: self.char_span(),
            message: message.to_string(),
        }
    }

    /// What stands at the current position, for "found …": JSON punctuation by name, anything
    /// else by kind only. Messages never quote the file's text: it may hold secret values.
    fn describe_here(&self) -> String {
        match self.text[self.pos.min(self.text.len())..].chars().next() {
            None => "the end of the file".to_string(),
            Some(c) if "{}[]:,\"".contains(c) => format!("`{c}`"),
            Some(c) if c.is_control() => "a control character".to_string(),
            Some(_) => "an unexpected character".to_string(),
        }
    }

    fn value(&mut self, depth: usize) -> Result<Node, SyntaxError> {
        let start = self.pos;
        let value = match self.peek() {
            Some(b'{') => self.object(depth)?,
            Some(b'[') => self.array(depth)?,
            Some(b'"') => Value::String(self.string()?),
            Some(b'-' | b'0'..=b'9') => self.number()?,
            Some(b't') => self.keyword("true", Value::Bool(true))?,
            Some(b'f') => self.keyword("false", Value::Bool(false))?,
            Some(b'n') => self.keyword("null", Value::Null)?,
            Some(b'\'') => {
                return Err(self.error_here("JSON strings use double quotes `\"`, not `'`"));
            }
            _ => {
                return Err(self.error_here(&format!(
                    "expected a JSON value, found {}",
                    self.describe_here()
                )));
            }
        };
        Ok(Node {
            value,
            span: start..self.pos,
        })
    }

    fn keyword(&mut self, word: &str, value: Value) -> Result<Value, SyntaxError> {
        if self.src[self.pos..].starts_with(word.as_bytes()) {
            let after = self.src.get(self.pos + word.len()).copied();
            if !after.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_') {
                self.pos += word.len();
                return Ok(value);
            }
        }
        let end = self.src[self.pos..]
            .iter()
            .position(|b| !(b.is_ascii_alphanumeric() || *b == b'_'))
            .map_or(self.src.len(), |n| self.pos + n.max(1));
        Err(SyntaxError {
            span: self.pos..end,
            message: "expected a JSON value, found a bare word (strings need double quotes)"
                .to_string(),
        })
    }

    fn enter(&self, depth: usize) -> Result<(), SyntaxError> {
        if depth >= MAX_DEPTH {
            return Err(self.error_here(&format!("nested too deeply (limit {MAX_DEPTH} levels)")));
        }
        Ok(())
    }

    fn object(&mut self, depth: usize) -> Result<Value, SyntaxError> {
        self.enter(depth)?;
        let open = self.pos;
        self.pos += 1;
        let mut members = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Value::Object(members));
        }
        loop {
            self.skip_ws();
            match self.peek() {
                Some(b'"') => {}
                Some(b'}') if !members.is_empty() => {
                    return Err(self.error_here("trailing comma: remove the `,` before `}`"));
                }
                None => return Err(self.unclosed(open, '{')),
                _ => {
                    return Err(self.error_here(&format!(
                        "expected a key in double quotes, found {}",
                        self.describe_here()
                    )));
                }
            }
            let key = self.string()?;
            self.skip_ws();
            if self.peek() != Some(b':') {
                return Err(self.error_here(&format!(
                    "expected `:` after the key, found {}",
                    self.describe_here()
                )));
            }
            self.pos += 1;
            self.skip_ws();
            let value = self.value(depth + 1)?;
            members.push(Member { key, value });
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Value::Object(members));
                }
                None => return Err(self.unclosed(open, '{')),
                _ => {
                    return Err(self.error_here(&format!(
                        "expected `,` or `}}` after an object member, found {}",
                        self.describe_here()
                    )));
                }
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Value, SyntaxError> {
        self.enter(depth)?;
        let open = self.pos;
        self.pos += 1;
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Value::Array(items));
        }
        loop {
            self.skip_ws();
            match self.peek() {
                Some(b']') if !items.is_empty() => {
                    return Err(self.error_here("trailing comma: remove the `,` before `]`"));
                }
                None => return Err(self.unclosed(open, '[')),
                _ => {}
            }
            items.push(self.value(depth + 1)?);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Value::Array(items));
                }
                None => return Err(self.unclosed(open, '[')),
                _ => {
                    return Err(self.error_here(&format!(
                        "expected `,` or `]` after an array element, found {}",
                        self.describe_here()
                    )));
                }
            }
        }
    }

    fn unclosed(&self, open: usize, c: char) -> SyntaxError {
        let close = if c == '{' { '}' } else { ']' };
        SyntaxError {
            span: open..open + 1,
            message: format!(
                "this `{c}` is never closed: expected `{close}` before the end of the file"
            ),
        }
    }

    fn string(&mut self) -> Result<Str, SyntaxError> {
        let open = self.pos;
        self.pos += 1;
        // Sized once for the raw text up to the closing quote (escapes only shrink it): the
        // string never reallocates, so a `$secrets` value leaves no copy in freed memory.
        let mut text = String::with_capacity(self.raw_string_len());
        let mut anchors = vec![(0, self.pos)];
        let mut run_start = self.pos;
        loop {
            let Some(b) = self.peek() else {
                return Err(SyntaxError {
                    span: open..open + 1,
                    message: "unterminated string: expected a closing `\"`".to_string(),
                });
            };
            match b {
                b'"' => {
                    text.push_str(&self.text[run_start..self.pos]);
                    self.pos += 1;
                    return Ok(Str {
                        text,
                        span: open..self.pos,
                        anchors,
                    });
                }
                b'\\' => {
                    text.push_str(&self.text[run_start..self.pos]);
                    anchors.push((text.len(), self.pos));
                    let esc_start = self.pos;
                    let c = self.escape()?;
                    text.push(c);
                    anchors.push((text.len(), self.pos));
                    debug_assert!(self.pos > esc_start);
                    run_start = self.pos;
                }
                0x00..=0x1f => {
                    return Err(self.error_here(
                        "control character in a string: write it as an escape (`\\n`, `\\t`, `\\u00XX`)",
                    ));
                }
                _ => self.pos += 1,
            }
        }
    }

    /// Bytes from here to the closing quote of the string being read (or to the end).
    fn raw_string_len(&self) -> usize {
        let rest = &self.src[self.pos..];
        let mut i = 0;
        while i < rest.len() {
            match rest[i] {
                b'"' => return i,
                b'\\' => i += 2,
                _ => i += 1,
            }
        }
        rest.len()
    }

    fn escape(&mut self) -> Result<char, SyntaxError> {
        let start = self.pos;
        self.pos += 1;
        let Some(b) = self.peek() else {
            return Err(SyntaxError {
                span: start..self.pos,
                message: "unterminated escape".into(),
            });
        };
        self.pos += 1;
        Ok(match b {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let hi = self.hex4(start)?;
                if (0xD800..0xDC00).contains(&hi) {
                    if self.src[self.pos..].starts_with(b"\\u") {
                        let save = self.pos;
                        self.pos += 2;
                        let lo = self.hex4(save)?;
                        if (0xDC00..0xE000).contains(&lo) {
                            let c = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                            return char::from_u32(c).ok_or_else(|| self.bad_unicode(start));
                        }
                    }
                    return Err(self.bad_unicode(start));
                }
                return char::from_u32(hi).ok_or_else(|| self.bad_unicode(start));
            }
            _ => {
                self.pos = start
                    + 1
                    + self.text[start + 1..]
                        .chars()
                        .next()
                        .map_or(0, char::len_utf8);
                return Err(SyntaxError {
                    span: start..self.pos,
                    message: "unknown escape: JSON knows \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX"
                        .to_string(),
                });
            }
        })
    }

    fn bad_unicode(&self, start: usize) -> SyntaxError {
        SyntaxError {
            span: start..self.pos,
            message: "invalid \\u escape: a lone surrogate is not a character".into(),
        }
    }

    fn hex4(&mut self, start: usize) -> Result<u32, SyntaxError> {
        let digits = self
            .src
            .get(self.pos..self.pos + 4)
            .filter(|d| d.iter().all(u8::is_ascii_hexdigit));
        let Some(digits) = digits else {
            // Up to the end of the character after `\u`, which may be several bytes long.
            let mut end = (self.pos + 1).min(self.src.len());
            while !self.text.is_char_boundary(end) {
                end += 1;
            }
            return Err(SyntaxError {
                span: start..end,
                message: "expected four hex digits after `\\u`".into(),
            });
        };
        let v = digits.iter().fold(0u32, |acc, d| {
            acc * 16 + (*d as char).to_digit(16).unwrap_or(0)
        });
        self.pos += 4;
        Ok(v)
    }

    fn number(&mut self) -> Result<Value, SyntaxError> {
        let start = self.pos;
        let digits = |p: &mut Self| {
            let s = p.pos;
            while p.peek().is_some_and(|b| b.is_ascii_digit()) {
                p.pos += 1;
            }
            p.pos - s
        };
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        let int_start = self.pos;
        if digits(self) == 0 {
            return Err(self.error_here("expected a digit in the number"));
        }
        if self.src[int_start] == b'0' && self.pos - int_start > 1 {
            return Err(SyntaxError {
                span: start..self.pos,
                message: "numbers must not have leading zeros".into(),
            });
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if digits(self) == 0 {
                return Err(self.error_here("expected a digit after the decimal point"));
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if digits(self) == 0 {
                return Err(self.error_here("expected a digit in the exponent"));
            }
        }
        let lexeme = &self.text[start..self.pos];
        match serde_json::from_str::<serde_json::Number>(lexeme) {
            Ok(n) => Ok(Value::Number(n)),
            Err(_) => Err(SyntaxError {
                span: start..self.pos,
                message: "the number is out of range".to_string(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> SyntaxError {
        parse(text).expect_err("expected a syntax error")
    }

    #[test]
    fn parses_values_with_spans() {
        let text = r#"{ "a": [1, true, null], "b": "x\ny" }"#;
        let node = parse(text).unwrap();
        let Value::Object(members) = &node.value else {
            panic!()
        };
        assert_eq!(members[0].key.text, "a");
        assert_eq!(&text[members[0].value.span.clone()], "[1, true, null]");
        let Value::String(s) = &members[1].value.value else {
            panic!()
        };
        assert_eq!(s.text, "x\ny");
        assert_eq!(&text[s.span.clone()], r#""x\ny""#);
        assert_eq!(
            node.to_serde(),
            serde_json::json!({"a": [1, true, null], "b": "x\ny"})
        );
    }

    #[test]
    fn a_string_is_allocated_once_whatever_its_escapes() {
        // Sized for its raw text: pushing the decoded pieces never reallocated it (a
        // reallocation would leave a copy of a `$secrets` value behind).
        for raw in [
            r#""plain-value""#,
            r#""a\"b\\c\u00e9\ud83d\ude00-tail-of-it""#,
            r#""""#,
        ] {
            let Value::String(s) = parse(raw).unwrap().value else {
                panic!()
            };
            assert_eq!(s.text.capacity(), raw.len() - 2, "{raw}");
            assert!(s.text.len() <= s.text.capacity());
        }
    }

    #[test]
    fn maps_decoded_offsets_back_through_escapes() {
        let text = r#""{ \"k\": secret_value(\"x\") }""#;
        let Value::String(s) = parse(text).unwrap().value else {
            panic!()
        };
        assert_eq!(s.text, r#"{ "k": secret_value("x") }"#);
        let at = s.text.find("secret_value").unwrap();
        let span = s.file_span(at..at + "secret_value".len());
        assert_eq!(&text[span], "secret_value");
        let q = s.text.find("\"x\"").unwrap();
        assert_eq!(&text[s.file_span(q..q + 3)], r#"\"x\""#);
        // Unicode escape and multi-byte text.
        let text = r#""é\u00e9 abc""#;
        let Value::String(s) = parse(text).unwrap().value else {
            panic!()
        };
        let at = s.text.find("abc").unwrap();
        assert_eq!(&text[s.file_span(at..at + 3)], "abc");
    }

    #[test]
    fn surrogate_pairs() {
        let Value::String(s) = parse(r#""\ud83d\ude00""#).unwrap().value else {
            panic!()
        };
        assert_eq!(s.text, "😀");
        assert!(err(r#""\ud83d""#).message.contains("surrogate"));
    }

    #[test]
    fn syntax_errors_say_what_was_expected_and_where() {
        let e = err("{ \"a\": 1, }");
        assert!(e.message.contains("trailing comma"), "{}", e.message);
        assert_eq!(e.span, 10..11);
        let e = err("{ \"a\" 1 }");
        assert!(e.message.contains("expected `:`"), "{}", e.message);
        assert_eq!(e.span, 6..7);
        let e = err("{ a: 1 }");
        assert!(e.message.contains("key in double quotes"), "{}", e.message);
        let e = err("[1, 2");
        assert!(e.message.contains("never closed"), "{}", e.message);
        assert_eq!(e.span, 0..1);
        let e = err("\"abc");
        assert!(e.message.contains("unterminated string"));
        let e = err("{} x");
        assert!(e.message.contains("end of the file"));
        assert_eq!(e.span, 3..4);
        assert!(err("").message.contains("empty"));
        assert!(err("[tru]").message.contains("bare word"));
        // No message quotes the file's text (it may be a secret value).
        for text in [
            "[hunter2x]",
            "{\"a\": 1 hunter2x}",
            "{\"hunter2x\" 1}",
            "[\"\\qhunter2x\"]",
            "[1e999999999]",
            "{} hunter2x",
        ] {
            let e = err(text);
            assert!(
                !e.message.contains("hunter2x") && !e.message.contains("999"),
                "{text}: {}",
                e.message
            );
        }
        assert!(err("['a']").message.contains("double quotes"));
        assert!(err("[01]").message.contains("leading zeros"));
        assert!(err(r#"["\q"]"#).message.contains("unknown escape"));
        assert!(err("[\"a\tb\"]").message.contains("control character"));
        assert!(err("[1e999999]").message.contains("out of range"));
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = "[".repeat(100_000);
        assert!(err(&deep).message.contains("nested too deeply"));
        let deep = "{\"a\":".repeat(100_000);
        assert!(err(&deep).message.contains("nested too deeply"));
    }

    /// Fuzz finding (tests/fuzz_workflow.rs): the span of a bad `\u` escape ended inside the
    /// multi-byte character after it.
    #[test]
    fn bad_unicode_escape_before_a_multibyte_character() {
        for text in ["[\"\\u\u{fffd}\"]", "[\"\\u0\u{10000}\"]", "[\"\\u\u{e9}"] {
            let e = err(text);
            assert!(e.message.contains("four hex digits"), "{}", e.message);
            assert!(text.is_char_boundary(e.span.end), "{text:?}: {:?}", e.span);
            assert!(e.span.end <= text.len());
        }
    }

    #[test]
    fn never_panics_on_truncations() {
        let text = r#"{ "a": [1, -2.5e3, "\u00e9\"", {"b": null}], "c": false }"#;
        for end in 0..text.len() {
            if text.is_char_boundary(end) {
                let _ = parse(&text[..end]);
            }
        }
        for b in [0u8, 0x7f, 0xff] {
            let s = String::from_utf8_lossy(&[b'[', b]).into_owned();
            let _ = parse(&s);
        }
    }
}
