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
/// Values (after trimming) longer than this get no encodings, only their exact bytes, trimmed
/// form, lines and line joins: each encoding costs a needle about as long as the value, and
/// the automaton grows with the sum (a 1 MiB value with encodings took ~500 MB and seconds).
pub const MAX_ENCODED_LEN: usize = 16 * 1024;
/// Longer values are refused.
pub const MAX_SECRET_LEN: usize = 1024 * 1024;

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
    if trimmed.len() < MIN_ENCODED_LEN || trimmed.len() > MAX_ENCODED_LEN {
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
        for row in ENCODERS {
            set.push((row.encode)(base));
        }
    }
    // Sections of the value as other CI maskers also hide them (GitHub Actions runner,
    // `ValueEncoders.cs`): a value stored with surrounding double quotes printed without them,
    // and the two halves a PowerShell error splits a value at `&+` / `&` into.
    if trimmed.len() >= MIN_ENCODED_LEN {
        for section in sections(trimmed) {
            if section.len() >= MIN_ENCODED_LEN {
                set.push(copy(section.as_bytes()));
            }
        }
    }
    set.out
}

/// The needles of `value` as the matcher searches for them: without the bytes a terminal view
/// drops (they are transparent in the output too, see `invisible`), and in whitespace mode
/// with each line break and the whitespace after it as one `\n`, and no whitespace at either
/// end. Empty results dropped,
/// and derived ones (after the value and its trimmed form) shorter than `MIN_DERIVED_LEN`;
/// duplicates removed.
///
/// A needle that holds hidden bytes is also kept as written (whitespace-folded only), for the
/// matcher's raw walk: a hidden byte right before it (an ESC) can swallow its first bytes from
/// the visible walk, while the record and plain mode still hold it contiguously.
pub(crate) fn normalized(value: &str, ws: bool) -> Vec<Needle> {
    let mut out: Vec<Needle> = Vec::new();
    for (i, n) in derive(value).into_iter().enumerate() {
        let raw = fold_ws(Zeroizing::new(n.to_vec()), ws);
        for n in [normalize(&n, ws), raw] {
            if n.is_empty() || (i > 1 && n.len() < MIN_DERIVED_LEN) {
                continue;
            }
            if !out.iter().any(|o| o.as_slice() == n.as_slice()) {
                out.push(n);
            }
        }
    }
    out
}

/// One needle as the matcher sees it (see `normalized`).
pub(crate) fn normalize(needle: &[u8], ws: bool) -> Needle {
    fold_ws(super::invisible::strip(needle), ws)
}

/// In whitespace mode: each line break and the whitespace after it as one `\n`, and no
/// whitespace at either end.
fn fold_ws(visible: Needle, ws: bool) -> Needle {
    if !ws {
        return visible;
    }
    use super::matcher::{Ws, ws_kind};
    let mut out = Zeroizing::new(Vec::with_capacity(visible.len()));
    let mut after_break = false;
    for &b in visible.iter() {
        match ws_kind(b) {
            Ws::Break if after_break => {}
            Ws::Break => {
                out.push(b'\n');
                after_break = true;
            }
            Ws::Blank if after_break => {}
            Ws::Blank => out.push(b),
            Ws::Other => {
                out.push(b);
                after_break = false;
            }
        }
    }
    // No whitespace at either end (a needle never starts with whitespace in this mode).
    let end = out
        .iter()
        .rposition(|&b| ws_kind(b) == Ws::Other)
        .map_or(0, |p| p + 1);
    out.truncate(end);
    let start = out
        .iter()
        .position(|&b| ws_kind(b) == Ws::Other)
        .unwrap_or(out.len());
    if start > 0 {
        out.copy_within(start.., 0);
        let n = out.len() - start;
        out.truncate(n);
    }
    out
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

/// One real encoder whose output is searched for: what it is and how it writes a string.
pub(crate) struct Encoder {
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) name: &'static str,
    pub(crate) encode: fn(&str) -> Needle,
}

/// RFC 3986's unreserved punctuation.
const UNRESERVED: &[u8] = b"-._~";

/// Every encoder (besides base64 at each shift) whose form of a secret is a needle. Each row
/// is checked against the real encoder where it is installed, else against vectors from its
/// documentation (`tests::encoder_table_matches_real_encoders`).
pub(crate) const ENCODERS: &[Encoder] = &[
    Encoder {
        name: "percent-encoding, RFC 3986 (PHP rawurlencode, Go url.PathEscape), upper hex",
        encode: |v| url(v.as_bytes(), HEX_UPPER, false, UNRESERVED),
    },
    Encoder {
        name: "percent-encoding, RFC 3986, lower hex",
        encode: |v| url(v.as_bytes(), HEX_LOWER, false, UNRESERVED),
    },
    Encoder {
        name: "Python urllib.parse.quote_plus (space as +)",
        encode: |v| url(v.as_bytes(), HEX_UPPER, true, UNRESERVED),
    },
    Encoder {
        name: "quote_plus, lower hex",
        encode: |v| url(v.as_bytes(), HEX_LOWER, true, UNRESERVED),
    },
    Encoder {
        name: "Python urllib.parse.quote (safe='/')",
        encode: |v| url(v.as_bytes(), HEX_UPPER, false, b"-._~/"),
    },
    Encoder {
        name: "JavaScript encodeURIComponent",
        encode: |v| url(v.as_bytes(), HEX_UPPER, false, b"-._~!'()*"),
    },
    Encoder {
        name: "JavaScript encodeURI",
        encode: |v| url(v.as_bytes(), HEX_UPPER, false, b"-._~!'()*;/?:@&=+$,#"),
    },
    Encoder {
        name: "form-urlencoded: URLSearchParams, browsers' forms, Java URLEncoder",
        encode: |v| url(v.as_bytes(), HEX_UPPER, true, b"*-._"),
    },
    Encoder {
        name: "PHP urlencode",
        encode: |v| url(v.as_bytes(), HEX_UPPER, true, b"-._"),
    },
    Encoder {
        name: "JSON: serde_json, JavaScript JSON.stringify",
        encode: |v| json(v, JsonStyle::Minimal),
    },
    Encoder {
        name: "JSON: Python json.dumps (ensure_ascii)",
        encode: |v| json(v, JsonStyle::Ascii),
    },
    Encoder {
        name: "JSON: PHP json_encode default (\\/ and \\uXXXX)",
        encode: |v| json(v, JsonStyle::Php),
    },
    Encoder {
        name: "JSON: PHP json_encode with JSON_UNESCAPED_UNICODE",
        encode: |v| json(v, JsonStyle::Slash),
    },
    Encoder {
        name: "JSON: Go encoding/json",
        encode: |v| json(v, JsonStyle::Html),
    },
    Encoder {
        name: "JSON: .NET System.Text.Json default (JavaScriptEncoder.Default)",
        encode: |v| json(v, JsonStyle::DotNet),
    },
    Encoder {
        name: "XML/HTML text",
        encode: |v| xml(v.as_bytes(), XmlStyle::Minimal),
    },
    Encoder {
        name: "XML attribute (&quot; &apos;)",
        encode: |v| xml(v.as_bytes(), XmlStyle::Named),
    },
    Encoder {
        name: "Go html.EscapeString",
        encode: |v| xml(v.as_bytes(), XmlStyle::Decimal),
    },
    Encoder {
        name: "Python html.escape",
        encode: |v| xml(v.as_bytes(), XmlStyle::Python),
    },
    Encoder {
        name: "shell single quotes ('\\'')",
        encode: |v| replace_byte(v.as_bytes(), b'\'', b"'\\''"),
    },
    Encoder {
        name: "Python shlex.quote ('\"'\"')",
        encode: |v| replace_byte(v.as_bytes(), b'\'', b"'\"'\"'"),
    },
    Encoder {
        name: "doubled single quote (PowerShell, SQL, expression strings)",
        encode: |v| replace_byte(v.as_bytes(), b'\'', b"''"),
    },
    Encoder {
        name: "command-line argument (\\\")",
        encode: |v| backslash_escape(v.as_bytes(), b"\""),
    },
    Encoder {
        name: "shell double quotes",
        encode: |v| backslash_escape(v.as_bytes(), b"\\\"$`"),
    },
    Encoder {
        name: "bash printf %q",
        encode: |v| backslash_escape(v.as_bytes(), b" !\"$&'()*,;<>?[\\]^`{|}"),
    },
    Encoder {
        name: "Python repr()",
        encode: python_repr,
    },
    Encoder {
        name: "Go %q (strconv.Quote)",
        encode: go_quote,
    },
];

/// Parts of a value printed on their own: the inside of a value stored with surrounding double
/// quotes, and the sections before and after `&+` (or the last `&`) that a PowerShell parse
/// error prints apart, colouring the letter after `&+` (the colour codes are hidden bytes, see
/// `invisible`; the section is also given without that letter, as the GitHub runner does).
fn sections(v: &str) -> Vec<&str> {
    let mut out = Vec::new();
    if v.len() >= 2 && v.starts_with('"') && v.ends_with('"') {
        out.push(&v[1..v.len() - 1]);
    }
    if let Some(i) = v.find("&+") {
        out.push(&v[..i + 2]);
        let after = &v[i + 2..];
        out.push(after);
        if let Some(c) = after.chars().next() {
            out.push(&after[c.len_utf8()..]);
        }
    } else if let Some(i) = v.rfind('&') {
        out.push(&v[..i + 1]);
        out.push(&v[i + 1..]);
    }
    out
}

/// Percent-encoding of every byte but ASCII letters, digits and `keep`; space as `+` or `%20`.
pub(crate) fn url(value: &[u8], hex: &[u8; 16], plus_for_space: bool, keep: &[u8]) -> Needle {
    let mut out = Zeroizing::new(Vec::with_capacity(value.len() * 3));
    for &b in value {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' => out.push(b),
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
    /// `Slash` and `Ascii` at once (PHP's `json_encode` default).
    Php,
    /// .NET `System.Text.Json` default: `"` as `\u0022`, ``<>&'+` `` as `\u00XX`, every
    /// non-ASCII character and DEL as `\uXXXX`, upper-case hex.
    DotNet,
}

/// The value as the inside of a JSON string literal.
pub(crate) fn json(value: &str, style: JsonStyle) -> Needle {
    // Worst case: a supplementary character (4 bytes) becomes two `\uXXXX` (12 bytes).
    let mut out = Zeroizing::new(Vec::with_capacity(value.len() * 6));
    let mut buf = [0u8; 4];
    let hex = if style == JsonStyle::DotNet {
        HEX_UPPER
    } else {
        HEX_LOWER
    };
    let u_escape = |out: &mut Vec<u8>, unit: u16| {
        out.extend_from_slice(b"\\u");
        for k in (0..4).rev() {
            out.push(hex[usize::from((unit >> (4 * k)) & 15)]);
        }
    };
    let ascii_only = matches!(style, JsonStyle::Ascii | JsonStyle::Php | JsonStyle::DotNet);
    for c in value.chars() {
        match c {
            '"' | '<' | '>' | '&' | '\'' | '+' | '`' | '\u{7f}' if style == JsonStyle::DotNet => {
                u_escape(&mut out, c as u16)
            }
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            '\u{8}' => out.extend_from_slice(b"\\b"),
            '\u{c}' => out.extend_from_slice(b"\\f"),
            c if (c as u32) < 0x20 => u_escape(&mut out, c as u16),
            '/' if matches!(style, JsonStyle::Slash | JsonStyle::Php) => {
                out.extend_from_slice(b"\\/")
            }
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' if style == JsonStyle::Html => {
                u_escape(&mut out, c as u16)
            }
            c if ascii_only && (c as u32) >= 0x7f => {
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

/// The value with every `from` byte replaced by `to` (at most 5 bytes).
pub(crate) fn replace_byte(value: &[u8], from: u8, to: &[u8]) -> Needle {
    let mut out = Zeroizing::new(Vec::with_capacity(value.len() * to.len().max(1)));
    for &b in value {
        if b == from {
            out.extend_from_slice(to);
        } else {
            out.push(b);
        }
    }
    out
}

/// `\xNN` for a byte or code point below 256.
fn x_escape(out: &mut Vec<u8>, b: u32) {
    out.extend_from_slice(b"\\x");
    out.push(HEX_LOWER[(b >> 4) as usize & 15]);
    out.push(HEX_LOWER[b as usize & 15]);
}

/// The inside of Python's `repr()` of a string: `\\`, the quote it chose (`'` unless the
/// value holds `'` and no `"`), `\n` `\r` `\t`, `\xNN` for other controls and the
/// non-printable U+007F..U+00A0 and U+00AD.
pub(crate) fn python_repr(value: &str) -> Needle {
    let quote = if value.contains('\'') && !value.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = Zeroizing::new(Vec::with_capacity(value.len() * 4));
    let mut buf = [0u8; 4];
    for c in value.chars() {
        match c {
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            c if c == quote => {
                out.push(b'\\');
                out.push(c as u8);
            }
            c if (c as u32) < 0x20 || ('\u{7f}'..='\u{a0}').contains(&c) || c == '\u{ad}' => {
                x_escape(&mut out, c as u32)
            }
            c => out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes()),
        }
    }
    buf.fill(0);
    out
}

/// The inside of Go's `%q` (`strconv.Quote`): `\"` `\\`, `\a\b\f\n\r\t\v`, `\xNN` for
/// other controls and DEL, `\u00NN` for C1 controls.
pub(crate) fn go_quote(value: &str) -> Needle {
    let mut out = Zeroizing::new(Vec::with_capacity(value.len() * 6));
    let mut buf = [0u8; 4];
    for c in value.chars() {
        let short: Option<&[u8]> = match c {
            '"' => Some(b"\\\""),
            '\\' => Some(b"\\\\"),
            '\u{7}' => Some(b"\\a"),
            '\u{8}' => Some(b"\\b"),
            '\u{c}' => Some(b"\\f"),
            '\n' => Some(b"\\n"),
            '\r' => Some(b"\\r"),
            '\t' => Some(b"\\t"),
            '\u{b}' => Some(b"\\v"),
            _ => None,
        };
        match short {
            Some(s) => out.extend_from_slice(s),
            None if (c as u32) < 0x20 || c == '\u{7f}' => x_escape(&mut out, c as u32),
            None if ('\u{80}'..='\u{9f}').contains(&c) => {
                out.extend_from_slice(b"\\u00");
                out.push(HEX_LOWER[(c as usize >> 4) & 15]);
                out.push(HEX_LOWER[c as usize & 15]);
            }
            None => out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes()),
        }
    }
    buf.fill(0);
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
        assert_eq!(s(&url(b"a b/c", HEX_UPPER, true, UNRESERVED)), "a+b%2Fc");
        assert_eq!(s(&url(b"a b/c", HEX_LOWER, false, UNRESERVED)), "a%20b%2fc");
        assert_eq!(s(&url(b"a b/c!", HEX_UPPER, false, b"-._~/")), "a%20b/c%21");
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
        assert_eq!(s(&replace_byte(b"it's", b'\'', b"'\\''")), "it'\\''s");
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
