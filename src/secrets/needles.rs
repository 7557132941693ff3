//! Derived needles: every form in which a secret value is searched for in output.
//! Pure functions from one value to a list of byte strings, each in a `Zeroizing` buffer.
//!
//! Every encoder writes into a buffer allocated once with an upper bound of its final size,
//! so no reallocation leaves an un-zeroized copy of a half-built needle behind.

use zeroize::Zeroizing;

/// A byte string searched for in output. Zeroized on drop.
pub(crate) type Needle = Zeroizing<Vec<u8>>;

/// Values (after trimming) shorter than this get no encodings, only their exact bytes.
pub const MIN_ENCODED_LEN: usize = 6;
/// Derived needles (lines, joins, encodings) shorter than this are dropped: too likely to
/// occur by chance, and they would shred ordinary output.
pub const MIN_DERIVED_LEN: usize = 4;
/// A single line of a multi-line value is a needle only from this length on.
pub const MIN_LINE_LEN: usize = 8;

const B64_STD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B64_URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";
const HEX_LOWER: &[u8; 16] = b"0123456789abcdef";

/// All needles of one secret value, without duplicates. The value itself is always first.
/// `value` must not be empty (the caller refuses empty and whitespace-only values).
pub(crate) fn derive(value: &str) -> Vec<Needle> {
    let mut set = NeedleSet {
        value: value.as_bytes(),
        out: Vec::new(),
    };
    set.out.push(copy(value.as_bytes()));

    let trimmed = value.trim();
    // The trimmed form is the effective value (a file source often ends in a newline), so it is
    // kept whatever its length; only the empty string is impossible here.
    if !trimmed.is_empty() && trimmed.len() != value.len() {
        set.push_always(copy(trimmed.as_bytes()));
    }

    if trimmed.contains('\n') {
        let lines: Vec<&str> = trimmed
            .split('\n')
            .map(|l| l.strip_suffix('\r').unwrap_or(l))
            .collect();
        for line in &lines {
            if line.len() >= MIN_LINE_LEN {
                set.push(copy(line.as_bytes()));
            }
            let t = line.trim();
            if t.len() >= MIN_LINE_LEN {
                set.push(copy(t.as_bytes()));
            }
        }
        for sep in ["\n", "\r\n", " ", ""] {
            set.push(join(&lines, sep));
        }
    }

    let mut bases: Vec<&str> = vec![value];
    if trimmed != value {
        bases.push(trimmed);
    }
    // Encodings only when the effective (trimmed) value is long enough, matching the warning
    // given for short values.
    if trimmed.len() < MIN_ENCODED_LEN {
        bases.clear();
    }
    for base in bases {
        let bytes = base.as_bytes();
        for alphabet in [B64_STD, B64_URL] {
            for shift in 0..3 {
                set.push(base64(alphabet, bytes, shift, B64End::Determined));
                set.push(base64(alphabet, bytes, shift, B64End::Partial));
                set.push(base64(alphabet, bytes, shift, B64End::Padded));
            }
        }
        for hex in [HEX_UPPER, HEX_LOWER] {
            for plus in [true, false] {
                set.push(url(bytes, hex, plus, b""));
            }
        }
        // Encoders that keep more bytes as they are: Python's `urllib.parse.quote` (`/` is
        // safe by default) and JavaScript's `encodeURIComponent` (`!'()*`).
        set.push(url(bytes, HEX_UPPER, false, b"/"));
        set.push(url(bytes, HEX_UPPER, false, b"!'()*"));
        for style in [
            JsonStyle::Minimal,
            JsonStyle::Ascii,
            JsonStyle::Slash,
            JsonStyle::Html,
        ] {
            set.push(json(base, style));
        }
        for style in [
            XmlStyle::Minimal,
            XmlStyle::Named,
            XmlStyle::Decimal,
            XmlStyle::Python,
        ] {
            set.push(xml(bytes, style));
        }
        set.push(shell_single_quote(bytes));
        set.push(backslash_escape(bytes, b"\""));
        set.push(backslash_escape(bytes, b"\\\"$`"));
    }
    set.out
}

struct NeedleSet<'a> {
    value: &'a [u8],
    out: Vec<Needle>,
}

impl NeedleSet<'_> {
    /// Adds a derived needle unless it is too short, equal to the value, or already there.
    fn push(&mut self, n: Needle) {
        if n.len() >= MIN_DERIVED_LEN && n.as_slice() != self.value {
            self.push_always(n);
        }
    }

    fn push_always(&mut self, n: Needle) {
        if !n.is_empty() && !self.out.iter().any(|o| o.as_slice() == n.as_slice()) {
            self.out.push(n);
        }
    }
}

fn copy(bytes: &[u8]) -> Needle {
    let mut v = Zeroizing::new(Vec::with_capacity(bytes.len()));
    v.extend_from_slice(bytes);
    v
}

fn join(lines: &[&str], sep: &str) -> Needle {
    let cap = lines.iter().map(|l| l.len() + sep.len()).sum();
    let mut v = Zeroizing::new(Vec::with_capacity(cap));
    for (i, line) in lines.iter().enumerate() {
        if i > 0 {
            v.extend_from_slice(sep.as_bytes());
        }
        v.extend_from_slice(line.as_bytes());
    }
    v
}

/// Where a base64 needle ends.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum B64End {
    /// Only characters whose six bits all come from the value: found wherever the value sits
    /// inside a longer encoded string.
    Determined,
    /// The value ends the encoded data: also the last, partly zero-filled character.
    Partial,
    /// As `Partial`, plus `=` padding.
    Padded,
}

/// Base64 of `value` as it appears when the value starts `shift` bytes (0, 1 or 2) into a
/// 3-byte group of a longer encoded string. Characters that depend on bytes before the value
/// are dropped; the end is chosen by `end`.
pub(crate) fn base64(alphabet: &[u8; 64], value: &[u8], shift: usize, end: B64End) -> Needle {
    let n = value.len();
    let total_bits = 8 * (shift + n);
    let first = (8 * shift).div_ceil(6);
    let last = match end {
        B64End::Determined => total_bits / 6,
        B64End::Partial | B64End::Padded => total_bits.div_ceil(6),
    };
    let pad = if end == B64End::Padded {
        4 * (shift + n).div_ceil(3) - total_bits.div_ceil(6)
    } else {
        0
    };
    let byte_at = |i: usize| -> u16 {
        if i < shift || i - shift >= n {
            0
        } else {
            u16::from(value[i - shift])
        }
    };
    let mut out = Zeroizing::new(Vec::with_capacity(last.saturating_sub(first) + pad));
    for j in first..last {
        let bit = 6 * j;
        let i = bit / 8;
        let window = (byte_at(i) << 8) | byte_at(i + 1);
        let idx = (window >> (10 - bit % 8)) & 63;
        out.push(alphabet[usize::from(idx)]);
    }
    out.extend(std::iter::repeat_n(b'=', pad));
    out
}

/// Percent-encoding of every byte outside RFC 3986's unreserved set and `keep`; space as `+`
/// or `%20`.
pub(crate) fn url(value: &[u8], hex: &[u8; 16], plus_for_space: bool, keep: &[u8]) -> Needle {
    let mut out = Zeroizing::new(Vec::with_capacity(value.len() * 3));
    for &b in value {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => out.push(b),
            b if keep.contains(&b) => out.push(b),
            b' ' if plus_for_space => out.push(b'+'),
            _ => {
                out.push(b'%');
                out.push(hex[usize::from(b >> 4)]);
                out.push(hex[usize::from(b & 15)]);
            }
        }
    }
    out
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum JsonStyle {
    /// `"`, `\`, control characters (serde_json, JavaScript's `JSON.stringify`).
    Minimal,
    /// Also every non-ASCII character as `\uXXXX` (Python's `json.dumps` default).
    Ascii,
    /// Also `/` as `\/` (PHP's `json_encode` default).
    Slash,
    /// Also `<`, `>`, `&`, U+2028, U+2029 as `\u....` (Go's `encoding/json`).
    Html,
}

/// The value as the inside of a JSON string literal.
pub(crate) fn json(value: &str, style: JsonStyle) -> Needle {
    // Worst case: a supplementary character (4 bytes) becomes two `\uXXXX` (12 bytes).
    let mut out = Zeroizing::new(Vec::with_capacity(value.len() * 6));
    let mut buf = [0u8; 4];
    let u_escape = |out: &mut Vec<u8>, unit: u16| {
        out.extend_from_slice(b"\\u");
        for k in (0..4).rev() {
            out.push(HEX_LOWER[usize::from((unit >> (4 * k)) & 15)]);
        }
    };
    for c in value.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            '\u{8}' => out.extend_from_slice(b"\\b"),
            '\u{c}' => out.extend_from_slice(b"\\f"),
            c if (c as u32) < 0x20 => u_escape(&mut out, c as u16),
            '/' if style == JsonStyle::Slash => out.extend_from_slice(b"\\/"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' if style == JsonStyle::Html => {
                u_escape(&mut out, c as u16)
            }
            c if style == JsonStyle::Ascii && (c as u32) >= 0x7f => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    u_escape(&mut out, *unit);
                }
            }
            c => out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes()),
        }
    }
    buf.fill(0);
    out
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum XmlStyle {
    /// `&`, `<`, `>` only (text content).
    Minimal,
    /// Also `&quot;` and `&apos;` (attribute values).
    Named,
    /// Also `&#34;` and `&#39;` (Go's `html.EscapeString`).
    Decimal,
    /// Also `&quot;` and `&#x27;` (Python's `html.escape`).
    Python,
}

/// The value as XML/HTML character data.
pub(crate) fn xml(value: &[u8], style: XmlStyle) -> Needle {
    let mut out = Zeroizing::new(Vec::with_capacity(value.len() * 6));
    for &b in value {
        let rep: &[u8] = match (b, style) {
            (b'&', _) => b"&amp;",
            (b'<', _) => b"&lt;",
            (b'>', _) => b"&gt;",
            (b'"', XmlStyle::Named | XmlStyle::Python) => b"&quot;",
            (b'"', XmlStyle::Decimal) => b"&#34;",
            (b'\'', XmlStyle::Named) => b"&apos;",
            (b'\'', XmlStyle::Decimal) => b"&#39;",
            (b'\'', XmlStyle::Python) => b"&#x27;",
            _ => {
                out.push(b);
                continue;
            }
        };
        out.extend_from_slice(rep);
    }
    out
}

/// The value inside a shell single-quoted string: `'` becomes `'\''`.
pub(crate) fn shell_single_quote(value: &[u8]) -> Needle {
    let mut out = Zeroizing::new(Vec::with_capacity(value.len() * 4));
    for &b in value {
        if b == b'\'' {
            out.extend_from_slice(b"'\\''");
        } else {
            out.push(b);
        }
    }
    out
}

/// The value with a backslash before every byte in `special` (`\"` escaping; with
/// `\"$\``, shell double-quote escaping).
pub(crate) fn backslash_escape(value: &[u8], special: &[u8]) -> Needle {
    let mut out = Zeroizing::new(Vec::with_capacity(value.len() * 2));
    for &b in value {
        if special.contains(&b) {
            out.push(b'\\');
        }
        out.push(b);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(n: &Needle) -> &str {
        std::str::from_utf8(n).unwrap()
    }

    /// Reference base64 (standard, padded) for the tests only.
    fn b64_full(bytes: &[u8], alphabet: &[u8; 64]) -> String {
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let b = [
                chunk[0],
                *chunk.get(1).unwrap_or(&0),
                *chunk.get(2).unwrap_or(&0),
            ];
            let v = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            let chars = chunk.len() + 1;
            for k in 0..4 {
                if k < chars {
                    out.push(alphabet[((v >> (18 - 6 * k)) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out
    }

    #[test]
    fn base64_shift_zero_matches_plain_encoding() {
        let v = b"hunter2-secret";
        let full = b64_full(v, B64_STD);
        assert_eq!(s(&base64(B64_STD, v, 0, B64End::Padded)), full);
        assert_eq!(
            s(&base64(B64_STD, v, 0, B64End::Partial)),
            full.trim_end_matches('=')
        );
        // 14 bytes = 112 bits = 18 full characters and a partial one.
        assert_eq!(s(&base64(B64_STD, v, 0, B64End::Determined)), &full[..18]);
    }

    #[test]
    fn base64_shifted_needles_are_substrings_of_embedded_encodings() {
        let v = b"s3cr3t?>value~~";
        for shift in 0..3 {
            for prefix_len in [shift, shift + 3, shift + 6] {
                for suffix_len in 0..4 {
                    let mut data = vec![b'x'; prefix_len];
                    data.extend_from_slice(v);
                    data.extend(std::iter::repeat_n(b'y', suffix_len));
                    for alphabet in [B64_STD, B64_URL] {
                        let enc = b64_full(&data, alphabet);
                        let det = base64(alphabet, v, shift, B64End::Determined);
                        assert!(enc.contains(s(&det)), "shift {shift} {enc} {}", s(&det));
                        if suffix_len == 0 {
                            let pad = base64(alphabet, v, shift, B64End::Padded);
                            assert!(enc.ends_with(s(&pad)), "{enc} {}", s(&pad));
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn url_json_xml_shell_forms() {
        assert_eq!(s(&url(b"a b/c", HEX_UPPER, true, b"")), "a+b%2Fc");
        assert_eq!(s(&url(b"a b/c", HEX_LOWER, false, b"")), "a%20b%2fc");
        assert_eq!(s(&url(b"a b/c!", HEX_UPPER, false, b"/")), "a%20b/c%21");
        assert_eq!(
            s(&json("a\"b\\c\n\u{1}", JsonStyle::Minimal)),
            "a\\\"b\\\\c\\n\\u0001"
        );
        assert_eq!(s(&json("é😀/", JsonStyle::Ascii)), "\\u00e9\\ud83d\\ude00/");
        assert_eq!(s(&json("a/b", JsonStyle::Slash)), "a\\/b");
        assert_eq!(s(&json("a<b", JsonStyle::Html)), "a\\u003cb");
        assert_eq!(s(&xml(b"<a&'\">", XmlStyle::Minimal)), "&lt;a&amp;'\"&gt;");
        assert_eq!(s(&xml(b"'\"", XmlStyle::Named)), "&apos;&quot;");
        assert_eq!(s(&xml(b"'\"", XmlStyle::Decimal)), "&#39;&#34;");
        assert_eq!(s(&xml(b"'\"", XmlStyle::Python)), "&#x27;&quot;");
        assert_eq!(s(&shell_single_quote(b"it's")), "it'\\''s");
        assert_eq!(s(&backslash_escape(b"a\"$b", b"\"")), "a\\\"$b");
        assert_eq!(s(&backslash_escape(b"a\"$b", b"\\\"$`")), "a\\\"\\$b");
    }

    #[test]
    fn derive_short_value_has_no_encodings() {
        let n = derive("abc");
        assert_eq!(n.len(), 1);
        assert_eq!(s(&n[0]), "abc");
        // Six bytes with the newline, five without: still short.
        let n = derive("abcde\n");
        assert_eq!(n.iter().map(s).collect::<Vec<_>>(), ["abcde\n", "abcde"]);
    }

    #[test]
    fn derive_keeps_trimmed_form_and_dedups() {
        let n = derive("  tok3n-value\n");
        let all: Vec<&str> = n.iter().map(s).collect();
        assert_eq!(all[0], "  tok3n-value\n");
        assert!(all.contains(&"tok3n-value"));
        let mut sorted = all.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), all.len());
        assert!(all.iter().all(|n| n.len() >= MIN_DERIVED_LEN));
    }

    #[test]
    fn derive_multiline_lines_and_joins() {
        let v = "-----BEGIN KEY-----\nAAAAline1xyz\nBBBBline2xyz\n-----END KEY-----\n";
        let all: Vec<String> = derive(v).iter().map(|n| s(n).to_owned()).collect();
        for want in [
            "-----BEGIN KEY-----",
            "AAAAline1xyz",
            "-----BEGIN KEY-----\r\nAAAAline1xyz\r\nBBBBline2xyz\r\n-----END KEY-----",
            "-----BEGIN KEY----- AAAAline1xyz BBBBline2xyz -----END KEY-----",
            "-----BEGIN KEY-----AAAAline1xyzBBBBline2xyz-----END KEY-----",
        ] {
            assert!(all.iter().any(|n| n == want), "missing {want:?}");
        }
    }
}
