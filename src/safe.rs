//! Display safety: the one rule that turns any text or bytes into text a terminal shows as
//! it is (no control sequence, no C1 control, no bidi reordering). Every writer to a terminal
//! outside the TUI's canvas (plain mode, `wfop runs`, `wfop logs`, the summary after the TUI,
//! error and warning lines, diagnostics) passes what it did not write itself through here.
//!
//! What is escaped, and how (`docs/secrets.md`, "Terminal safety"):
//! - C0 controls but tab (and newline where the text may have several lines), and DEL: `\xNN`;
//! - bytes that are not valid UTF-8 (a raw 0x9B, a lone 0xFF): `\xNN`, one per byte;
//! - C1 controls encoded as UTF-8 (U+0080–U+009F, e.g. U+009B CSI, U+009D OSC): `\u{9b}`;
//! - invisible format characters that reorder or hide text (Trojan Source, CVE-2021-42574):
//!   the bidi embeddings, overrides, isolates and marks (U+202A–U+202E, U+2066–U+2069,
//!   U+200E, U+200F, U+061C), line and paragraph separators (U+2028, U+2029), zero-width
//!   space, word joiner and invisible operators (U+200B, U+2060–U+2064), deprecated format
//!   characters (U+206A–U+206F), the BOM (U+FEFF), interlinear annotations (U+FFF9–U+FFFB)
//!   and tag characters (U+E0000–U+E007F): `\u{202e}`.
//!
//! Kept: printable text in any script, tab, zero-width (non-)joiners U+200C/U+200D and
//! variation selectors (scripts and emoji need them). The escapes are plain ASCII, so escaping
//! twice changes nothing more.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io;

/// Whether a line break in the text is kept (a multi-line message) or shown as `\x0a`
/// (one field of a line: a node's reason cannot start a line of its own).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Newlines {
    Keep,
    Escape,
}

/// A character that must not reach a terminal as it is: a control (C0 but tab and newline,
/// DEL, C1) or an invisible format character that reorders or hides text. Newline is judged by
/// the caller ([`Newlines`]).
pub fn is_unsafe_char(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{8}' | '\u{b}'..='\u{1f}' | '\u{7f}'..='\u{9f}'
        | '\u{61c}'
        | '\u{200b}' | '\u{200e}' | '\u{200f}'
        | '\u{2028}'..='\u{202e}'
        | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{206f}'
        | '\u{feff}'
        | '\u{fff9}'..='\u{fffb}'
        | '\u{e0000}'..='\u{e007f}')
}

/// The one function: `bytes` as text safe for a terminal (see the module comment). Borrows
/// when nothing needs escaping.
pub fn escape(bytes: &[u8], newlines: Newlines) -> Cow<'_, str> {
    let plain = |b: u8| {
        (0x20..0x7f).contains(&b) || b == b'\t' || (b == b'\n' && newlines == Newlines::Keep)
    };
    if bytes.iter().all(|&b| plain(b)) {
        // Pure printable ASCII: valid UTF-8 by construction.
        return Cow::Borrowed(std::str::from_utf8(bytes).unwrap_or_default());
    }
    if let Ok(s) = std::str::from_utf8(bytes)
        && !s
            .chars()
            .any(|c| is_unsafe_char(c) || (c == '\n' && newlines == Newlines::Escape))
    {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(bytes.len() + 16);
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\n' if newlines == Newlines::Keep => out.push('\n'),
                '\u{0}'..='\u{1f}' | '\u{7f}' => {
                    let _ = write!(out, "\\x{:02x}", c as u32);
                }
                c if is_unsafe_char(c) => {
                    let _ = write!(out, "\\u{{{:x}}}", c as u32);
                }
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    Cow::Owned(out)
}

/// A text that may hold several lines (a message, a rendered diagnostic without colour).
pub fn text(s: &(impl AsRef<[u8]> + ?Sized)) -> Cow<'_, str> {
    escape(s.as_ref(), Newlines::Keep)
}

/// One field of a line (a name, a reason, a path): line breaks are escaped too.
pub fn line(s: &(impl AsRef<[u8]> + ?Sized)) -> Cow<'_, str> {
    escape(s.as_ref(), Newlines::Escape)
}

/// A text wfop styled itself (a rendered diagnostic with colours): like [`text`], but SGR
/// sequences (`ESC [ digits;… m`: colours and attributes only) pass. Whatever was put into such
/// a text from a file or a service went through [`text`]/[`line`] first, so it holds no ESC of
/// its own; this is the second line of defence, and it lets nothing but colours through.
pub fn styled(s: &str) -> Cow<'_, str> {
    if !s.contains('\x1b') {
        return text(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('\x1b') {
        out.push_str(&text(&rest[..i]));
        let seq = &rest[i..];
        let body = seq.strip_prefix("\x1b[").map(|b| {
            b.find(|c: char| !(c.is_ascii_digit() || c == ';'))
                .map_or((b, ""), |e| b.split_at(e))
        });
        match body {
            Some((params, tail)) if tail.starts_with('m') && params.len() <= 64 => {
                let n = 2 + params.len() + 1;
                out.push_str(&seq[..n]);
                rest = &seq[n..];
            }
            _ => {
                out.push_str("\\x1b");
                rest = &seq[1..];
            }
        }
    }
    out.push_str(&text(rest));
    Cow::Owned(out)
}

/// A source excerpt (a file shown under a diagnostic): every character [`text`] would escape
/// becomes one U+FFFD, so lines and columns stay those of the file (a CR is kept only before
/// LF); with a map from each byte offset of `s` (0..=len) to the same place in the result, so
/// that spans into `s` can be moved onto it.
pub fn excerpt_mapped(s: &str) -> (String, Vec<usize>) {
    let mut out = String::with_capacity(s.len());
    let mut map = Vec::with_capacity(s.len() + 1);
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        map.extend(std::iter::repeat_n(out.len(), c.len_utf8()));
        let keep = match c {
            '\n' | '\t' => true,
            '\r' => chars.peek() == Some(&'\n'),
            c => !(c < ' ' || is_unsafe_char(c)),
        };
        out.push(if keep { c } else { char::REPLACEMENT_CHARACTER });
    }
    map.push(out.len());
    (out, map)
}

/// A serialised JSON document (one `--json` event) made terminal-safe with JSON's own escape:
/// every unsafe character (DEL, C1, format characters; serde already escapes C0) becomes
/// `\uXXXX` (a surrogate pair above U+FFFF). The JSON means the same; a terminal sees only
/// printable text.
pub fn json(s: &str) -> Cow<'_, str> {
    // Printable ASCII is never escaped: the common case, checked a word at a time.
    if s.bytes().all(|b| (0x20..0x7f).contains(&b)) || !s.chars().any(is_unsafe_char) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    let mut units = [0u16; 2];
    for c in s.chars() {
        if is_unsafe_char(c) {
            for u in c.encode_utf16(&mut units) {
                let _ = write!(out, "\\u{u:04x}");
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Appends `s` as a JSON string (quotes included), exactly as [`json`] makes what
/// `serde_json` writes for it: serde's escapes (`\"`, `\\`, `\b`, `\f`, `\n`, `\r`, `\t`, other
/// C0 as `\u00xx`), then every other unsafe character (DEL, C1, format characters) as
/// `\uXXXX` (a surrogate pair above U+FFFF). One pass: runs of plain bytes are found eight at a
/// time and copied whole (the event log's cost under a flood of log lines).
pub fn json_string_into(out: &mut Vec<u8>, s: &str) {
    let b = s.as_bytes();
    out.reserve(b.len() + b.len() / 16 + 2);
    out.push(b'"');
    // `b[run..i]` is plain, not copied yet.
    let mut run = 0;
    let mut i = 0;
    while i < b.len() {
        // Sixteen bytes at a time while they are plain (one branch for two words).
        while let Some(two) = b.get(i..i + 16) {
            let (mut lo, mut hi) = ([0u8; 8], [0u8; 8]);
            lo.copy_from_slice(&two[..8]);
            hi.copy_from_slice(&two[8..]);
            if json_special(u64::from_le_bytes(lo)) | json_special(u64::from_le_bytes(hi)) != 0 {
                break;
            }
            i += 16;
        }
        if i == b.len() {
            break;
        }
        if let Some(word) = b.get(i..i + 8) {
            let mut w = [0u8; 8];
            w.copy_from_slice(word);
            let m = json_special(u64::from_le_bytes(w));
            if m == 0 {
                i += 8;
                continue;
            }
            i += (m.trailing_zeros() / 8) as usize;
        }
        let c = b[i];
        if c < 0x80 && !is_json_special(c) {
            i += 1;
            continue;
        }
        if c < 0x80 {
            out.extend_from_slice(&b[run..i]);
            match c {
                b'"' => out.extend_from_slice(b"\\\""),
                b'\\' => out.extend_from_slice(b"\\\\"),
                b'\n' => out.extend_from_slice(b"\\n"),
                b'\t' => out.extend_from_slice(b"\\t"),
                b'\r' => out.extend_from_slice(b"\\r"),
                0x08 => out.extend_from_slice(b"\\b"),
                0x0c => out.extend_from_slice(b"\\f"),
                c => push_u_escape(out, u16::from(c)),
            }
            i += 1;
            run = i;
            continue;
        }
        // A character beyond ASCII (`s` is a `str`: `i` is at its start).
        let ch = s[i..].chars().next().unwrap_or(char::REPLACEMENT_CHARACTER);
        let len = ch.len_utf8();
        if is_unsafe_char(ch) {
            out.extend_from_slice(&b[run..i]);
            let mut units = [0u16; 2];
            for &u in ch.encode_utf16(&mut units).iter() {
                push_u_escape(out, u);
            }
            run = i + len;
        }
        i += len;
    }
    out.extend_from_slice(&b[run..]);
    out.push(b'"');
}

/// `\uXXXX`, lowercase hex (as serde and [`json`] write it).
fn push_u_escape(out: &mut Vec<u8>, u: u16) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.extend_from_slice(b"\\u");
    for shift in [12, 8, 4, 0] {
        out.push(HEX[usize::from((u >> shift) & 0xf)]);
    }
}

/// A byte a JSON string cannot hold as it is, or that may start an unsafe character: C0,
/// `"`, `\`, DEL, and every byte of a character beyond ASCII.
fn is_json_special(c: u8) -> bool {
    c < 0x20 || c == b'"' || c == b'\\' || c >= 0x7f
}

const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
const HIGH: u64 = 0x8080_8080_8080_8080;
const ONES: u64 = 0x0101_0101_0101_0101;

/// The high bit of each byte of `w` that is below `n` (`n` ≤ 0x80), exactly (no carry crosses
/// a byte).
fn bytes_below(w: u64, n: u8) -> u64 {
    !(((w & LOW7) + ONES * u64::from(0x80 - n)) | w) & HIGH
}

/// The high bit of each byte of `w` equal to `c`, exactly.
fn bytes_equal(w: u64, c: u8) -> u64 {
    let x = w ^ (ONES * u64::from(c));
    !(((x & LOW7) + LOW7) | x) & HIGH
}

/// The high bit of each byte of eight (little-endian) that [`is_json_special`] marks.
fn json_special(w: u64) -> u64 {
    bytes_below(w, 0x20)
        | bytes_equal(w, b'"')
        | bytes_equal(w, b'\\')
        | bytes_equal(w, 0x7f)
        | (w & HIGH)
}

/// Whether `bytes` are all printable ASCII, tab or newline: lines that every escape of this
/// module ([`line`], [`text`]) leaves as they are, and that need no UTF-8 check. Eight bytes at
/// a time (the plain front end's and the record's check of a whole batch of log lines).
pub fn is_plain_lines(bytes: &[u8]) -> bool {
    let mut words = bytes.chunks_exact(8);
    for word in words.by_ref() {
        let mut a = [0u8; 8];
        a.copy_from_slice(word);
        let w = u64::from_le_bytes(a);
        let odd = (bytes_below(w, 0x20) & !(bytes_equal(w, b'\t') | bytes_equal(w, b'\n')))
            | bytes_equal(w, 0x7f)
            | (w & HIGH);
        if odd != 0 {
            return false;
        }
    }
    words
        .remainder()
        .iter()
        .all(|&b| (0x20..0x7f).contains(&b) || b == b'\t' || b == b'\n')
}

/// A path, shown as one field.
pub fn path(p: &std::path::Path) -> Cow<'static, str> {
    Cow::Owned(line(p.as_os_str().as_encoded_bytes()).into_owned())
}

/// Writes one line of a service's output (without its newline), escaped.
pub fn write_line(out: &mut impl io::Write, bytes: &[u8]) -> io::Result<()> {
    out.write_all(line(bytes).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn styled_keeps_only_colours() {
        let red = "\x1b[1;31merror\x1b[0m: bad \x1b]0;t\x07 \x1b[2J x\u{9b}";
        assert_eq!(
            styled(red),
            "\x1b[1;31merror\x1b[0m: bad \\x1b]0;t\\x07 \\x1b[2J x\\u{9b}"
        );
        assert_eq!(styled("a\nb"), "a\nb");
    }

    #[test]
    fn excerpts_keep_columns_and_map_offsets() {
        let s = "a\x1bb\u{202e}c\r\nd\re\u{9b}";
        let (t, map) = excerpt_mapped(s);
        assert_eq!(t, "a\u{fffd}b\u{fffd}c\r\nd\u{fffd}e\u{fffd}");
        assert_eq!(t.chars().count(), s.chars().count());
        assert_eq!(map.len(), s.len() + 1);
        assert_eq!(&t[map[2]..map[3]], "b");
        assert_eq!(&t[map[6]..map[7]], "c");
        assert_eq!(map[s.len()], t.len());
    }

    #[test]
    fn json_uses_json_escapes_and_means_the_same() {
        let v = serde_json::json!({"t": "a\u{7f}\u{9b}2J\u{202e}\u{e0041}\x1b", "ok": "é"});
        let s = serde_json::to_string(&v).unwrap();
        let shown = json(&s);
        assert!(
            !shown.chars().any(is_unsafe_char) && !shown.contains('\x1b'),
            "{shown}"
        );
        assert!(
            shown.contains("\\u009b") && shown.contains("\\udb40\\udc41"),
            "{shown}"
        );
        let back: serde_json::Value = serde_json::from_str(&shown).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn printable_text_is_borrowed_unchanged() {
        for s in [
            "plain ascii\twith tab",
            "ünïcödé ✓ 日本語",
            "👩‍💻 family 👨‍👩‍👧",
            "",
        ] {
            assert!(matches!(line(s), Cow::Borrowed(_)), "{s}");
            assert_eq!(line(s), s);
        }
        assert!(matches!(text("a\nb"), Cow::Borrowed(_)));
    }

    #[test]
    fn c0_del_and_newlines_by_mode() {
        assert_eq!(line("a\x1b]52;c;eA==\x07b"), "a\\x1b]52;c;eA==\\x07b");
        assert_eq!(line("a\r\nb\x7f\x00"), "a\\x0d\\x0ab\\x7f\\x00");
        assert_eq!(text("a\r\nb"), "a\\x0d\nb");
        assert_eq!(line("tab\tkept"), "tab\tkept");
    }

    #[test]
    fn c1_as_utf8_and_raw_high_bytes() {
        // U+009B (CSI) and U+009D (OSC) encoded as UTF-8, then a raw 0x9B and a lone 0xFF.
        let bytes = b"x\xc2\x9b31mred\xc2\x9d0;t\xc2\x9c \x9b2J \xff\xfe end";
        assert_eq!(
            line(&bytes[..]),
            "x\\u{9b}31mred\\u{9d}0;t\\u{9c} \\x9b2J \\xff\\xfe end"
        );
        // A truncated multi-byte character.
        assert_eq!(line(b"ok \xe2\x9c"), "ok \\xe2\\x9c");
    }

    #[test]
    fn bidi_and_invisible_format_characters() {
        let s = "user\u{202e}nimda\u{202c} \u{2066}x\u{2069} \u{200b}\u{feff}\u{e0041}\u{2028}";
        assert_eq!(
            line(s),
            "user\\u{202e}nimda\\u{202c} \\u{2066}x\\u{2069} \\u{200b}\\u{feff}\\u{e0041}\\u{2028}"
        );
        // Joiners and variation selectors stay (scripts and emoji need them).
        assert_eq!(line("क्‍ष ❤\u{fe0f}"), "क्‍ष ❤\u{fe0f}");
    }

    #[test]
    fn the_result_never_holds_an_unsafe_character_and_escaping_is_idempotent() {
        // Every single byte, every two-byte prefix of the C1 range, and every format character.
        let mut inputs: Vec<Vec<u8>> = (0u8..=255).map(|b| vec![b'a', b, b'z']).collect();
        inputs.extend((0x80u32..0xa0).map(|c| char::from_u32(c).unwrap().to_string().into_bytes()));
        inputs.extend(
            (0u32..0x11_0000)
                .filter_map(char::from_u32)
                .filter(|&c| is_unsafe_char(c))
                .map(|c| c.to_string().into_bytes()),
        );
        for i in &inputs {
            for mode in [Newlines::Keep, Newlines::Escape] {
                let once = escape(i, mode).into_owned();
                assert!(
                    !once.chars().any(is_unsafe_char),
                    "{i:?} → {once:?} holds an unsafe character"
                );
                assert!(!once.bytes().any(|b| b == 0x1b), "{i:?} → {once:?}");
                if mode == Newlines::Escape {
                    assert!(!once.contains('\n'));
                }
                assert_eq!(escape(once.as_bytes(), mode), once, "idempotent on {i:?}");
            }
        }
    }

    /// What `json_string_into` must write: serde's string, then `json` over it.
    fn reference_json(s: &str) -> String {
        json(&serde_json::to_string(s).expect("a string serialises")).into_owned()
    }

    fn fast_json(s: &str) -> String {
        let mut out = b"x".to_vec();
        json_string_into(&mut out, s);
        assert_eq!(out[0], b'x', "appends");
        String::from_utf8(out[1..].to_vec()).expect("valid UTF-8")
    }

    #[test]
    fn json_strings_are_serdes_made_safe_for_every_special_character() {
        // Every character serde or `json` escapes, and its neighbours, at every offset of a
        // word (the eight-byte scan) and at the end.
        let mut chars: Vec<char> = (0u32..0x100).filter_map(char::from_u32).collect();
        chars.extend(
            (0u32..0x11_0000)
                .filter_map(char::from_u32)
                .filter(|&c| is_unsafe_char(c)),
        );
        chars.extend([
            '\u{200c}',
            '\u{200d}',
            '\u{fe0f}',
            'é',
            '日',
            '👩',
            '\u{10ffff}',
        ]);
        for &c in &chars {
            for pad in 0..10 {
                let s = format!("{}{c}{}", "a".repeat(pad), "b".repeat(9 - pad));
                assert_eq!(fast_json(&s), reference_json(&s), "{s:?}");
                let s = format!("{}{c}", "é".repeat(pad));
                assert_eq!(fast_json(&s), reference_json(&s), "{s:?}");
            }
        }
        assert_eq!(fast_json(""), "\"\"");
        // Plain text of every length around the sixteen- and eight-byte steps, and with a
        // special byte last.
        for n in 0..80 {
            let s = "p".repeat(n);
            assert_eq!(fast_json(&s), reference_json(&s), "{n} plain bytes");
            let s = format!("{}\n", "p".repeat(n));
            assert_eq!(
                fast_json(&s),
                reference_json(&s),
                "{n} plain bytes and a newline"
            );
        }
        assert_eq!(
            fast_json("a\"b\\c\nd\te\u{7f}\u{9b}\u{202e}\u{e0041}"),
            r#""a\"b\\c\nd\te\u007f\u009b\u202e\udb40\udc41""#
        );
    }

    #[test]
    fn plain_lines_are_printable_ascii_tab_and_newline() {
        for b in 0u8..=255 {
            let plain = (0x20..0x7f).contains(&b) || b == b'\t' || b == b'\n';
            for pad in 0..17 {
                let mut v = vec![b'a'; pad];
                v.push(b);
                v.extend_from_slice(b"\t\nzz");
                assert_eq!(is_plain_lines(&v), plain, "{b:#x} at {pad}");
            }
        }
        assert!(is_plain_lines(b""));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        #[test]
        fn json_strings_match_serde_and_json(s in "(\\PC|[\\x00-\\x1f\"\\\\\\x7f\\u{80}-\\u{9f}\\u{2028}-\\u{202e}\\u{feff}\\u{e0000}-\\u{e007f}]){0,40}") {
            proptest::prop_assert_eq!(fast_json(&s), reference_json(&s));
        }

        #[test]
        fn plain_lines_match_a_byte_by_byte_check(v in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40)) {
            let naive = v.iter().all(|&b| (0x20..0x7f).contains(&b) || b == b'\t' || b == b'\n');
            proptest::prop_assert_eq!(is_plain_lines(&v), naive);
        }
    }
}
