//! Fuzz target: the redactor through its public API, with needles built independently here
//! (the encodings a service is likely to use: base64 std/url with and without padding, URL
//! encodings as RFC 3986, Python's `quote`/`quote_plus` and JavaScript's `encodeURIComponent`
//! produce them, JSON as serde_json and Python's `json.dumps` write it). Properties:
//! * chunking: any split of the input into writes gives the bytes and counts of the whole;
//! * no needle survives: no independent needle of any secret is in the output, including the
//!   base64 characters of a secret embedded at any shift inside longer encoded text.
//!
//! The exact-output property (against the naive reference, over the redactor's own needle list)
//! lives next to the redactor, in `src/secrets/tests.rs`; its long run is
//! `FUZZ_CASES=20000 cargo test --release --lib secrets::tests::fuzz_ -- --ignored`.
//!
//! Long run: `FUZZ_CASES=100000 cargo test --release --test fuzz_redact -- --ignored --nocapture`

mod fuzz_support;

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use secrecy::SecretString;
use wfop::secrets::Redactor;

const STD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn b64(input: &[u8], alphabet: &[u8; 64], pad: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for chunk in input.chunks(3) {
        let g = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(g[0]) << 16) | (u32::from(g[1]) << 8) | u32::from(g[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(alphabet[(n >> (18 - 6 * i) & 63) as usize]);
            } else if pad {
                out.push(b'=');
            }
        }
    }
    out
}

/// Percent-encoding keeping `keep` (besides letters and digits); `plus`: space as `+`.
fn percent(input: &[u8], keep: &[u8], plus: bool, upper: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for &b in input {
        if b.is_ascii_alphanumeric() || keep.contains(&b) {
            out.push(b);
        } else if b == b' ' && plus {
            out.push(b'+');
        } else if upper {
            out.extend_from_slice(format!("%{b:02X}").as_bytes());
        } else {
            out.extend_from_slice(format!("%{b:02x}").as_bytes());
        }
    }
    out
}

/// Python's `json.dumps` (ensure_ascii): like serde_json, plus every non-ASCII character as
/// `\uXXXX` (UTF-16 units, lower-case hex); DEL (0x7f) too (Python escapes all but ` `..`~`).
fn python_json(s: &str) -> Vec<u8> {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (c as u32) >= 0x7f => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{u:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.into_bytes()
}

/// Every form of `value` the redactor must catch, computed here without the redactor.
fn needles(value: &str) -> Vec<Vec<u8>> {
    let trimmed = value.trim();
    let mut out = vec![value.as_bytes().to_vec(), trimmed.as_bytes().to_vec()];
    if trimmed.len() >= wfop::secrets::MIN_ENCODED_LEN {
        for base in [value, trimmed] {
            let b = base.as_bytes();
            for alphabet in [STD, URL] {
                out.push(b64(b, alphabet, true));
                out.push(b64(b, alphabet, false));
            }
            out.push(percent(b, b"-._~", false, true)); // RFC 3986
            out.push(percent(b, b"-._~", false, false));
            out.push(percent(b, b"-._~", true, true)); // Python quote_plus
            out.push(percent(b, b"-._~/", false, true)); // Python quote (safe="/")
            out.push(percent(b, b"-_.!~*'()", false, true)); // JS encodeURIComponent
            let js = serde_json::to_string(base).unwrap_or_default();
            out.push(js.as_bytes()[1..js.len() - 1].to_vec()); // serde_json, JSON.stringify
            out.push(python_json(base));
        }
    }
    out.retain(|n| !n.is_empty() && !n.contains(&b'*'));
    out.sort();
    out.dedup();
    out
}

/// The base64 of `pre + value + post` and its characters whose six bits all come from
/// `value` (they appear whatever surrounds the value, so they must not survive).
fn embedded_b64(pre: &[u8], value: &[u8], post: &[u8], url: bool, pad: bool) -> (Vec<u8>, Vec<u8>) {
    let mut data = pre.to_vec();
    data.extend_from_slice(value);
    data.extend_from_slice(post);
    let enc = b64(&data, if url { URL } else { STD }, pad);
    let first = (8 * pre.len()).div_ceil(6);
    let last = (8 * (pre.len() + value.len())) / 6;
    let determined = enc[first..last.max(first)].to_vec();
    (enc, determined)
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn secret_value() -> impl Strategy<Value = String> {
    prop_oneof![
        // Small alphabet: overlaps, shared prefixes, self-overlap; specials for every encoding.
        3 => prop::collection::vec(
            prop::sample::select(vec![
                "a", "b", "a", "0", " ", "/", "+", "!", "(", "~", "é", "😀", "\"", "\\", "\n",
                "'", "<", "&", "%", "=", "\u{7f}", "\u{1}",
            ]),
            1..24,
        )
        .prop_map(|v| v.concat()),
        // Token-like values.
        2 => "[A-Za-z0-9_/+=-]{6,48}",
        1 => any::<String>().prop_map(|s| s.chars().take(30).collect()),
    ]
    .prop_filter("not blank", |s| !s.trim().is_empty())
    // Only control bytes: refused (nothing of it is visible to redact).
    .prop_filter("visible", |s| {
        !wfop::secrets::invisible::strip(s.as_bytes())
            .iter()
            .all(u8::is_ascii_whitespace)
    })
}

#[derive(Debug, Clone)]
enum Piece {
    Noise(Vec<u8>),
    /// Needle `.1` of secret `.0`, cut to `.2` bytes when `.3`.
    Needle(usize, usize, usize, bool),
    /// Secret `.0` between the bytes `.1` and `.2`, all base64-encoded together (URL alphabet
    /// when `.3`, padded when `.4`): the value at every shift inside longer encoded text.
    Embedded(usize, Vec<u8>, Vec<u8>, bool, bool),
}

fn piece() -> impl Strategy<Value = Piece> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..8).prop_map(Piece::Noise),
        (0usize..4, 0usize..32, 0usize..64, any::<bool>())
            .prop_map(|(s, n, l, cut)| Piece::Needle(s, n, l, cut)),
        (
            0usize..4,
            prop::collection::vec(any::<u8>(), 0..8),
            prop::collection::vec(any::<u8>(), 0..8),
            any::<bool>(),
            any::<bool>()
        )
            .prop_map(|(s, pre, post, url, pad)| Piece::Embedded(s, pre, post, url, pad)),
    ]
}

#[derive(Debug, Clone)]
struct Case {
    secrets: Vec<String>,
    pieces: Vec<Piece>,
    splits: Vec<usize>,
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop::collection::vec(secret_value(), 1..4),
        prop::collection::vec(piece(), 0..16),
        prop::collection::vec(any::<usize>(), 0..10),
    )
        .prop_map(|(secrets, pieces, splits)| Case {
            secrets,
            pieces,
            splits,
        })
}

fn check(c: &Case) -> Result<(), TestCaseError> {
    let r = Redactor::new();
    for (i, v) in c.secrets.iter().enumerate() {
        r.add_secret(&format!("s{i}"), &SecretString::from(v.as_str()))
            .map_err(|e| TestCaseError::fail(format!("add_secret: {e}")))?;
    }
    let mut all: Vec<Vec<Vec<u8>>> = c.secrets.iter().map(|v| needles(v)).collect();
    let mut input = Vec::new();
    let mut embedded: Vec<(usize, Vec<u8>)> = Vec::new();
    for p in &c.pieces {
        match p {
            Piece::Noise(b) => input.extend_from_slice(b),
            Piece::Needle(s, n, l, cut) => {
                let list = &all[s % all.len()];
                // A value made only of `*` has no needle the check can use.
                let Some(needle) = list.get(n % list.len().max(1)) else {
                    continue;
                };
                let len = if *cut {
                    (*l).min(needle.len())
                } else {
                    needle.len()
                };
                input.extend_from_slice(&needle[..len]);
            }
            Piece::Embedded(s, pre, post, url, pad) => {
                let i = s % c.secrets.len();
                let v = &c.secrets[i];
                let (enc, determined) = embedded_b64(pre, v.as_bytes(), post, *url, *pad);
                input.extend_from_slice(&enc);
                let n = v.trim().len();
                // Encodings are searched for values of MIN_ENCODED_LEN..=MAX_ENCODED_LEN bytes.
                if (wfop::secrets::MIN_ENCODED_LEN..=wfop::secrets::MAX_ENCODED_LEN).contains(&n)
                    && !determined.contains(&b'*')
                {
                    embedded.push((i, determined));
                }
            }
        }
    }
    for (i, d) in embedded {
        all[i].push(d);
    }
    let whole = r.redact(&input);
    let mut whole_stream = r.stream();
    let mut o = Vec::new();
    whole_stream.push(&input, &mut o);
    whole_stream.finish(&mut o);
    let counts = whole_stream.counts();

    // Any split gives the same bytes and counts.
    let mut points: Vec<usize> = c.splits.iter().map(|p| p % (input.len() + 1)).collect();
    points.sort_unstable();
    let mut s = r.stream();
    let mut out = Vec::new();
    let mut last = 0;
    for p in points.into_iter().chain([input.len()]) {
        s.push(&input[last..p], &mut out);
        last = p;
    }
    s.finish(&mut out);
    prop_assert!(out == whole, "a split changed the output");
    prop_assert_eq!(s.counts(), counts, "a split changed the counts");
    // Byte by byte too (short inputs only; long ones are slow in debug builds).
    if input.len() <= 512 {
        let mut s = r.stream();
        let mut out = Vec::new();
        for b in input.chunks(1) {
            s.push(b, &mut out);
        }
        s.finish(&mut out);
        prop_assert!(out == whole, "one-byte writes changed the output");
    }
    // No needle of any secret survives.
    for (i, list) in all.iter().enumerate() {
        for (k, n) in list.iter().enumerate() {
            prop_assert!(
                !contains(&whole, n),
                "needle #{k} ({:?}) of secret s{i} survived",
                String::from_utf8_lossy(n)
            );
        }
    }
    Ok(())
}

#[test]
fn redactor_smoke() {
    fuzz_support::smoke("redact", 256, case(), |c| check(&c));
}

#[test]
#[ignore = "long fuzz run; see docs/fuzzing.md"]
fn redactor() {
    fuzz_support::long("redact", case(), |c| check(&c));
}
