//! Tests of the redactor: a naive reference (all occurrences, merged) against the streaming
//! implementation under random splits, and one named test per hard case.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use secrecy::SecretString;

use super::invisible::{Class, Invisible};
use super::matcher::{EnginePref, Ws, ws_kind};
use super::needles;
use super::{RedactError, RedactWarning, Redactor};

fn sec(v: &str) -> SecretString {
    SecretString::from(v)
}

fn redactor_with(pref: EnginePref, secrets: &[(&str, &str)]) -> Redactor {
    let r = Redactor::with_engine(pref);
    for (name, value) in secrets {
        r.add_secret(name, &sec(value)).unwrap();
    }
    r
}

fn redactor(secrets: &[(&str, &str)]) -> Redactor {
    redactor_with(EnginePref::Auto, secrets)
}

/// Pushes `parts` one by one into a fresh stream, then finishes.
fn stream_parts(r: &Redactor, parts: &[&[u8]]) -> (Vec<u8>, BTreeMap<String, u64>) {
    let mut s = r.stream();
    let mut out = Vec::new();
    for p in parts {
        s.push(p, &mut out);
    }
    s.finish(&mut out);
    (out, s.counts())
}

/// `stream_parts` with `push_marked`: the output and where the redactor's markers stand in it.
fn stream_marked(r: &Redactor, parts: &[&[u8]]) -> (Vec<u8>, Vec<std::ops::Range<usize>>) {
    let mut s = r.stream();
    let mut out = Vec::new();
    let mut marks = Vec::new();
    for p in parts {
        s.push_marked(p, &mut out, &mut marks);
    }
    s.finish_marked(&mut out, &mut marks);
    (out, marks)
}

fn split_at_points<'a>(input: &'a [u8], points: &[usize]) -> Vec<&'a [u8]> {
    let mut pts: Vec<usize> = points.iter().map(|p| p % (input.len() + 1)).collect();
    pts.sort_unstable();
    let mut parts = Vec::new();
    let mut last = 0;
    for p in pts {
        parts.push(&input[last..p]);
        last = p;
    }
    parts.push(&input[last..]);
    parts
}

/// All needles of all secrets, with the secret name.
fn all_needles(secrets: &[(&str, &str)]) -> Vec<(Vec<u8>, String)> {
    let mut v = Vec::new();
    for (name, value) in secrets {
        for n in needles::derive(value) {
            v.push((n.to_vec(), name.to_string()));
        }
    }
    v
}

/// `bytes` (each with its raw offset) as whitespace mode walks them: a line break as `\n`,
/// whitespace after a line break dropped.
fn ws_symbols(bytes: Vec<(u8, usize)>, ws: bool) -> Vec<(u8, usize)> {
    if !ws {
        return bytes;
    }
    let mut out = Vec::new();
    let mut after = false;
    for (b, i) in bytes {
        match ws_kind(b) {
            Ws::Break | Ws::Blank if after => {}
            Ws::Break => {
                out.push((b'\n', i));
                after = true;
            }
            Ws::Blank => out.push((b, i)),
            Ws::Other => {
                out.push((b, i));
                after = false;
            }
        }
    }
    out
}

/// The visible bytes of `input` (what a terminal view keeps, `invisible`), each with its raw
/// offset, as whitespace mode walks them.
fn visible(input: &[u8], ws: bool) -> Vec<(u8, usize)> {
    let mut out: Vec<(u8, usize)> = Vec::new();
    let mut inv = Invisible::new();
    for (i, &b) in input.iter().enumerate() {
        match inv.step(b) {
            Class::Visible | Class::Pending => out.push((b, i)),
            Class::C1 => {
                out.pop();
            }
            Class::Hidden => {}
        }
    }
    ws_symbols(out, ws)
}

type Marked = (Vec<u8>, BTreeMap<String, u64>, Vec<std::ops::Range<usize>>);

/// The specification, naively: strip what a terminal view drops (and, when a secret spans
/// lines, walk a line break and the whitespace after it as one `\n`), find every occurrence of every normalized needle there, map each back
/// to the raw span from its first to its last byte; add every occurrence in the raw bytes; merge overlapping and touching spans,
/// replace each merged span by `***`, counted once per distinct secret.
/// Returns the output, the counts, and where each `***` stands in the output.
fn reference_marked(secrets: &[(&str, &str)], input: &[u8]) -> Marked {
    let ws = secrets.iter().any(|(_, v)| v.trim().contains('\n'));
    let vis = visible(input, ws);
    let text: Vec<u8> = vis.iter().map(|v| v.0).collect();
    // The raw bytes too.
    let raw_sym = ws_symbols(input.iter().copied().zip(0..).collect(), ws);
    let raw: Vec<u8> = raw_sym.iter().map(|v| v.0).collect();
    let raw_pos: Vec<usize> = raw_sym.iter().map(|v| v.1).collect();
    let mut matches: Vec<(usize, usize, String)> = Vec::new();
    for (name, value) in secrets {
        for n in needles::normalized(value, ws) {
            for start in 0..text.len() {
                if text[start..].starts_with(&n) {
                    let end = start + n.len();
                    matches.push((vis[start].1, vis[end - 1].1 + 1, name.to_string()));
                }
            }
            for start in 0..raw.len() {
                if raw[start..].starts_with(&n) {
                    let end = start + n.len();
                    matches.push((raw_pos[start], raw_pos[end - 1] + 1, name.to_string()));
                }
            }
        }
    }
    matches.sort();
    let mut spans: Vec<(usize, usize, BTreeSet<String>)> = Vec::new();
    for (s, e, name) in matches {
        match spans.last_mut() {
            Some(last) if s <= last.1 => {
                last.1 = last.1.max(e);
                last.2.insert(name);
            }
            _ => spans.push((s, e, BTreeSet::from([name]))),
        }
    }
    let mut out = Vec::new();
    let mut counts = BTreeMap::new();
    let mut marks = Vec::new();
    let mut cursor = 0;
    for (s, e, names) in spans {
        out.extend_from_slice(&input[cursor..s]);
        marks.push(out.len()..out.len() + 3);
        out.extend_from_slice(b"***");
        for n in names {
            *counts.entry(n).or_insert(0) += 1;
        }
        cursor = e;
    }
    out.extend_from_slice(&input[cursor..]);
    (out, counts, marks)
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

/// Checks batch, one-byte writes and the given split against the reference.
fn check_all_ways(secrets: &[(&str, &str)], input: &[u8], points: &[usize]) {
    check_all_ways_with(secrets, input, points, redactor_with);
}

/// `check_all_ways` with the redactors `build` makes.
fn check_all_ways_with(
    secrets: &[(&str, &str)],
    input: &[u8],
    points: &[usize],
    build: fn(EnginePref, &[(&str, &str)]) -> Redactor,
) {
    let (want, want_counts, want_marks) = reference_marked(secrets, input);
    for pref in [EnginePref::Auto, EnginePref::Nfa] {
        let r = build(pref, secrets);
        assert_eq!(r.redact(input), want, "batch, {pref:?}");
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        let (out, counts) = stream_parts(&r, &bytes);
        assert_eq!(out, want, "one byte per write, {pref:?}");
        assert_eq!(counts, want_counts, "counts, {pref:?}");
        let (out, _) = stream_parts(&r, &split_at_points(input, points));
        assert_eq!(out, want, "split at {points:?}, {pref:?}");
        // The markers' places, whatever the split (a service's own `***` is not one).
        for parts in [
            vec![input],
            input.chunks(1).collect(),
            split_at_points(input, points),
        ] {
            let (out, marks) = stream_marked(&r, &parts);
            assert_eq!(out, want, "marked, {pref:?}");
            assert_eq!(marks, want_marks, "marks, {} parts, {pref:?}", parts.len());
        }
    }
}

fn assert_no_needle(secrets: &[(&str, &str)], out: &[u8]) {
    for (n, name) in all_needles(secrets) {
        if !n.contains(&b'*') {
            assert!(
                !contains(out, &n),
                "a needle of {name} survived: {:?} in {:?}",
                String::from_utf8_lossy(&n),
                String::from_utf8_lossy(out)
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The invariant, on random secrets, inputs and splits.

fn secret_value(len: std::ops::Range<usize>) -> impl Strategy<Value = String> {
    // A small alphabet makes overlaps, shared prefixes and self-overlaps likely; the specials
    // exercise every encoding.
    proptest::collection::vec(
        prop::sample::select(vec![
            "a", "b", "c", "a", "b", "0", " ", "\n", "\"", "'", "&", "/", "+", "<", "é", "\\",
        ]),
        len,
    )
    .prop_map(|v| v.concat())
    .prop_filter("not blank", |s| !s.trim().is_empty())
}

#[derive(Debug, Clone)]
enum Piece {
    Noise(Vec<u8>),
    /// A needle of secret `.0` (index `.1` into its needle list), truncated to `.2` bytes
    /// when `.2` is shorter.
    Needle(usize, usize, usize),
    /// A needle (as above, whole) with hidden bytes `HIDDEN[.3]` inserted after `.2` bytes.
    Split(usize, usize, usize, usize),
    /// Hidden bytes on their own.
    Hidden(usize),
}

/// Bytes a terminal view drops: controls, C1, escape sequences, an unterminated one.
const HIDDEN: &[&[u8]] = &[
    b"\x7f",
    b"\x00",
    b"\x08",
    b"\xc2\x9b",
    b"\x1b[31m",
    b"\x1b[0m\x1b[1;38;2;1;2;3m",
    b"\x1b]0;t\x07",
    b"\x1b]52;c;eA==\x1b\\",
    b"\x1b[2J\x1b[3;4H",
    b"\x1bPq\x1b\\",
    b"\x1b(B",
    b"\x1b[",
    b"\xc2",
];

fn piece() -> impl Strategy<Value = Piece> {
    prop_oneof![
        proptest::collection::vec(
            prop::sample::select(vec![
                b'a', b'b', b'c', b'0', b' ', b'\n', b'\r', b'\t', 0xff, 0x00, 0xc3, 0xc2, 0x9b,
                0x1b, b'[', b'm', 0x7f
            ]),
            0..6
        )
        .prop_map(Piece::Noise),
        (0usize..4, 0usize..64, 0usize..200).prop_map(|(s, n, l)| Piece::Needle(s, n, l)),
        (0usize..4, 0usize..64, 0usize..200, 0..HIDDEN.len())
            .prop_map(|(s, n, l, h)| Piece::Split(s, n, l, h)),
        (0..HIDDEN.len()).prop_map(Piece::Hidden),
    ]
}

fn build_input(values: &[String], pieces: &[Piece]) -> Vec<u8> {
    let mut input = Vec::new();
    for p in pieces {
        match p {
            Piece::Noise(b) => input.extend_from_slice(b),
            Piece::Needle(s, n, l) => {
                let derived = needles::derive(&values[s % values.len()]);
                let needle = &derived[n % derived.len()];
                let len = if *l < needle.len() && l % 3 == 0 {
                    *l
                } else {
                    needle.len()
                };
                input.extend_from_slice(&needle[..len]);
            }
            Piece::Split(s, n, at, h) => {
                let derived = needles::derive(&values[s % values.len()]);
                let needle = &derived[n % derived.len()];
                let at = at % (needle.len() + 1);
                input.extend_from_slice(&needle[..at]);
                input.extend_from_slice(HIDDEN[*h]);
                input.extend_from_slice(&needle[at..]);
            }
            Piece::Hidden(h) => input.extend_from_slice(HIDDEN[*h]),
        }
    }
    input
}

fn check_random_case(values: &[String], pieces: &[Piece], points: &[usize]) {
    let names = ["s0", "s1", "s2", "s3"];
    let secrets: Vec<(&str, &str)> = values
        .iter()
        .enumerate()
        .map(|(i, v)| (names[i], v.as_str()))
        .collect();
    let input = build_input(values, pieces);
    check_all_ways(&secrets, &input, points);
    let out = redactor(&secrets).redact(&input);
    assert_no_needle(&secrets, &out);
}

// 256 cases each by default; `PROPTEST_CASES=5000 cargo test --release --lib secrets` for more.
proptest! {

    #[test]
    fn output_is_split_independent_and_matches_reference(
        values in proptest::collection::vec(secret_value(1..14), 1..4),
        pieces in proptest::collection::vec(piece(), 0..12),
        points in proptest::collection::vec(any::<usize>(), 0..8),
    ) {
        check_random_case(&values, &pieces, &points);
    }

    /// Long secrets only: every needle is long, so the pre-filter tests every 2nd…8th byte.
    #[test]
    fn long_secrets_output_is_split_independent_and_matches_reference(
        values in proptest::collection::vec(secret_value(11..30), 1..4),
        pieces in proptest::collection::vec(piece(), 0..16),
        points in proptest::collection::vec(any::<usize>(), 0..8),
    ) {
        check_random_case(&values, &pieces, &points);
    }
}

/// The long fuzz run of the two properties above (docs/fuzzing.md):
/// `FUZZ_CASES=20000 cargo test --release --lib secrets::tests::fuzz_ -- --ignored --nocapture`.
#[test]
#[ignore = "long fuzz run; see docs/fuzzing.md"]
fn fuzz_reference_long() {
    let cases = std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(20_000);
    let config = ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    let t0 = std::time::Instant::now();
    let mut runner = proptest::test_runner::TestRunner::new(config);
    let strategy = (
        proptest::collection::vec(secret_value(1..30), 1..4),
        proptest::collection::vec(piece(), 0..24),
        proptest::collection::vec(any::<usize>(), 0..8),
    );
    if let Err(e) = runner.run(&strategy, |(values, pieces, points)| {
        check_random_case(&values, &pieces, &points);
        Ok(())
    }) {
        panic!("{e}");
    }
    eprintln!(
        "fuzz redact-reference: {cases} cases in {:.1}s, no failure",
        t0.elapsed().as_secs_f64()
    );
}

// ---------------------------------------------------------------------------------------------
// Named hard cases.

#[test]
fn split_mid_secret_and_at_every_boundary() {
    let secrets = [("tok", "s3cr3t-token-42")];
    let input = b"before s3cr3t-token-42 between s3cr3t-token-42after";
    let want = b"before *** between ***after".to_vec();
    let r = redactor(&secrets);
    for i in 0..=input.len() {
        for j in i..=input.len() {
            let (out, counts) = stream_parts(&r, &[&input[..i], &input[i..j], &input[j..]]);
            assert_eq!(out, want, "split at {i},{j}");
            assert_eq!(counts.get("tok"), Some(&2));
        }
    }
}

#[test]
fn marks_say_which_stars_are_the_redactors() {
    let r = redactor(&[("tok", "hunter2-abc")]);
    let input = b"own **** then hunter2-abc and *** again, hunter2-abc";
    for parts in [
        vec![&input[..]],
        input.chunks(1).collect(),
        split_at_points(input, &[14, 20, 50]),
    ] {
        let (out, marks) = stream_marked(&r, &parts);
        assert_eq!(out, b"own **** then *** and *** again, ***");
        assert_eq!(marks, vec![14..17, 33..36]);
    }
    // Marks are indices into `out`, whatever it held before.
    let mut s = r.stream();
    let mut out = b"prefix ".to_vec();
    let mut marks = Vec::new();
    s.push_marked(b"hunter2-abc", &mut out, &mut marks);
    s.finish_marked(&mut out, &mut marks);
    assert_eq!(marks, vec![7..10]);
    assert_eq!(&out[7..10], b"***");
}

#[test]
fn self_overlapping_secret() {
    let secrets = [("s", "aaaaaaab")];
    let r = redactor(&secrets);
    let (out, _) = stream_parts(&r, &[b"aaaaaaa", b"aab"]);
    assert_eq!(out, b"aa***");
    check_all_ways(&secrets, b"aaaaaaaaab aaaaaaaab aaaaaaa", &[3, 9, 14]);
}

#[test]
fn overlapping_different_secrets_merge_into_one_marker() {
    let secrets = [("a", "abcdef12"), ("b", "ef12ghij")];
    let r = redactor(&secrets);
    let (out, counts) = stream_parts(&r, &[b"xxabcdef12ghijyy"]);
    assert_eq!(out, b"xx***yy");
    assert_eq!(counts.get("a"), Some(&1));
    assert_eq!(counts.get("b"), Some(&1));
    // Adjacent (touching) spans merge too.
    assert_eq!(r.redact(b"abcdef12ef12ghij!"), b"***!");
    check_all_ways(&secrets, b"xxabcdef12ghijyy abcdef12ef12ghij", &[5, 13]);
}

#[test]
fn secret_that_is_prefix_suffix_or_infix_of_another_in_both_orders() {
    let long = "password123456";
    for short in ["password", "word123456", "sword12"] {
        for order in [
            [("long", long), ("short", short)],
            [("short", short), ("long", long)],
        ] {
            let r = redactor(&order);
            let out = r.redact(format!("x {long} y {short} z").as_bytes());
            assert_eq!(out, b"x *** y *** z", "{short}");
            check_all_ways(&order, format!("{long}{short}{long}").as_bytes(), &[3, 11]);
        }
    }
}

#[test]
fn duplicate_secrets() {
    let r = redactor(&[("a", "same-value-1"), ("b", "same-value-1")]);
    let (out, counts) = stream_parts(&r, &[b"v=same-value-1"]);
    assert_eq!(out, b"v=***");
    assert_eq!(counts.get("a"), Some(&1));
    assert_eq!(counts.get("b"), Some(&1));
    let before = r.needle_count();
    assert_eq!(r.add_secret("a", &sec("same-value-1")), Ok(None));
    assert_eq!(r.needle_count(), before);
    // Same name, another value: both values are redacted under that name.
    r.add_secret("a", &sec("other-value-2")).unwrap();
    let (out, counts) = stream_parts(&r, &[b"same-value-1 other-value-2"]);
    assert_eq!(out, b"*** ***");
    assert_eq!(counts.get("a"), Some(&2));
}

/// An ESC right before a secret that holds a hidden byte swallows the secret's first bytes from
/// the visible walk (`ESC !` opens a sequence), while the record and plain mode still hold the
/// whole value contiguously: the raw walk must know the value as written (found by
/// fuzz_redact).
#[test]
fn a_secret_holding_a_hidden_byte_is_found_as_written_after_an_escape() {
    let r = redactor(&[("t", "!tok\u{7f}en-secret/")]);
    for input in [
        &b"\x1b!tok\x7fen-secret/"[..],
        &b"x\x1b!tok\x7fen-secret/ y"[..],
    ] {
        let (out, _) = stream_parts(&r, &[input]);
        let tail = b"tok\x7fen-secret/";
        assert!(
            !out.windows(tail.len()).any(|w| w == tail),
            "{:?}",
            String::from_utf8_lossy(&out)
        );
    }
}

#[test]
fn empty_and_whitespace_only_values_are_refused() {
    let r = Redactor::new();
    // Whitespace around control bytes only (nothing a terminal shows): blank too (found by
    // fuzz_redact: "\x7f\n" was taken, and its raw DEL then passed).
    for v in ["", " ", "\n\t  \r\n", "\u{7f}\n", " \u{1b}[31m \u{7f}"] {
        assert_eq!(
            r.add_secret("blank", &sec(v)),
            Err(RedactError::Empty {
                name: "blank".into()
            })
        );
    }
    assert_eq!(r.needle_count(), 0);
    assert_eq!(r.redact(b"  \n"), b"  \n");
}

#[test]
fn short_values_are_redacted_exactly_with_a_warning_naming_the_secret() {
    let r = Redactor::new();
    let w = r.add_secret("pin", &sec("4711")).unwrap();
    assert_eq!(
        w,
        Some(RedactWarning::Short {
            name: "pin".into(),
            min: 6
        })
    );
    let text = w.map(|w| w.to_string()).unwrap_or_default();
    assert!(text.contains("pin") && !text.contains("4711"));
    assert_eq!(r.needle_count(), 1);
    assert_eq!(r.redact(b"pin 4711, NDcxMQ=="), b"pin ***, NDcxMQ==");
}

#[test]
fn regex_metacharacters_are_literal() {
    let v = r"a.b*c+?(x)[y]{z}|^$\d";
    let secrets = [("re", v)];
    let r = redactor(&secrets);
    assert_eq!(r.redact(format!("<{v}>").as_bytes()), b"<***>");
    assert_eq!(r.redact(b"aXbbbcx"), b"aXbbbcx");
    check_all_ways(&secrets, format!("{v}{v} a.b").as_bytes(), &[4, 20]);
}

#[test]
fn marker_inside_a_secret() {
    let secrets = [("m", "ab***cd-42")];
    let r = redactor(&secrets);
    assert_eq!(r.redact(b"x ab***cd-42 y"), b"x *** y");
    assert_eq!(r.redact(b"ab*** alone"), b"ab*** alone");
    check_all_ways(&secrets, b"ab***ab***cd-42***", &[2, 5, 7]);
    // A secret that is the marker itself: redacted to the same bytes.
    let r = redactor(&[("stars", "***")]);
    assert_eq!(r.redact(b"a***b****"), b"a***b***");
}

#[test]
fn cr_and_lf_split_across_writes() {
    let v = "line-one-abc\r\nline-two-def";
    let secrets = [("ml", v)];
    let r = redactor(&secrets);
    let (out, counts) = stream_parts(&r, &[b"<line-one-abc\r", b"\nline-two-def>"]);
    assert_eq!(out, b"<***>");
    assert_eq!(counts.get("ml"), Some(&1));
    check_all_ways(&secrets, b"line-one-abc\r\nline-two-def\r\n", &[13, 14]);
}

#[test]
fn multi_line_pem_like_secret() {
    let lines = [
        "-----BEGIN TEST PRIVATE KEY-----",
        "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC",
        "BKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj",
        "-----END TEST PRIVATE KEY-----",
    ];
    let lf = lines.join("\n") + "\n";
    let secrets = [("key", lf.as_str())];
    let r = redactor(&secrets);
    for form in [
        lines.join("\n"),
        lines.join("\r\n"),
        lines.join(" "),
        lines.join(""),
    ] {
        let out = r.redact(format!("key: {form} end").as_bytes());
        assert_eq!(out, b"key: *** end", "{form:?}");
    }
    // Each line alone, e.g. when a log prints one line per event.
    for line in lines {
        assert_eq!(r.redact(format!("> {line}\n").as_bytes()), b"> ***\n");
    }
    // JSON-escaped (the value inside a JSON string).
    let json = serde_json::to_string(&lf).unwrap();
    assert_eq!(r.redact(json.as_bytes()), b"\"***\"");
    check_all_ways(&secrets, lines.join("\r\n").as_bytes(), &[30, 33, 34, 70]);
}

#[test]
fn ansi_colour_codes_around_a_secret() {
    let r = redactor(&[("c", "SECRETVALUE")]);
    assert_eq!(
        r.redact(b"\x1b[31mSECRETVALUE\x1b[0m"),
        b"\x1b[31m***\x1b[0m"
    );
}

#[test]
fn utf8_split_inside_a_code_point() {
    let v = "pässwörd-ü€😀";
    let secrets = [("u", v)];
    let r = redactor(&secrets);
    let input = format!("é {v} 😀");
    let bytes: Vec<&[u8]> = input.as_bytes().chunks(1).collect();
    let (out, _) = stream_parts(&r, &bytes);
    assert_eq!(out, "é *** 😀".as_bytes());
    assert_eq!(r.redact_str(&input), "é *** 😀");
    check_all_ways(&secrets, input.as_bytes(), &[1, 4, 9]);
}

#[test]
fn invalid_utf8_and_binary_pass_through() {
    let secrets = [("b", "bin-secret")];
    let r = redactor(&secrets);
    let mut input: Vec<u8> = (0..=255u8).collect();
    input.extend_from_slice(b"\xff\xfebin-secret\x00\xc3");
    input.extend((0..=255u8).rev());
    let mut want: Vec<u8> = (0..=255u8).collect();
    want.extend_from_slice(b"\xff\xfe***\x00\xc3");
    want.extend((0..=255u8).rev());
    assert_eq!(r.redact(&input), want);
    check_all_ways(&secrets, &input, &[100, 257, 262, 300]);
}

/// A 100 MB line without a newline streams in bounded memory.
#[test]
fn hundred_megabyte_line_streams_in_bounded_memory() {
    let secret = "hundred-mb-secret-xyz";
    let r = redactor(&[("big", secret), ("other", "prefix-of-nothing-9")]);
    let max = r.max_needle_len();
    let mut s = r.stream();
    let mut out = Vec::with_capacity(1 << 20);
    let mut block = Vec::with_capacity(1 << 20);
    while block.len() < (1 << 20) - 64 {
        block.extend_from_slice(b"abcdefghij hundred-mb-secret-xy, hundred-mb-secret-xyz ");
    }
    // Cut the block so that writes end inside a secret.
    let block = &block[..block.len() - 30];
    let (mut total_out, mut markers, mut total_in) = (0usize, 0usize, 0usize);
    while total_in < 100_000_000 {
        s.push(block, &mut out);
        total_in += block.len();
        assert!(s.held_back() <= max, "held back {} > {max}", s.held_back());
        assert!(!contains(&out, b"\n"));
        assert!(!contains(&out, secret.as_bytes()));
        total_out += out.len();
        markers += out.windows(3).filter(|w| w == b"***").count();
        out.clear();
    }
    s.finish(&mut out);
    total_out += out.len();
    assert!(total_out < total_in);
    assert_eq!(
        s.counts().get("big").copied().unwrap_or(0) as usize,
        markers
    );
}

/// The worst case for held-back bytes: every byte continues a partial match.
#[test]
fn long_run_of_a_self_overlapping_prefix_holds_back_at_most_the_longest_needle() {
    let r = redactor(&[("s", "aaaaaaab")]);
    let max = r.max_needle_len();
    let mut s = r.stream();
    let mut out = Vec::new();
    let block = vec![b'a'; 4096];
    for _ in 0..256 {
        s.push(&block, &mut out);
        assert!(s.held_back() <= max);
        assert!(s.held_back() >= 7);
    }
    s.push(b"b", &mut out);
    s.finish(&mut out);
    assert_eq!(out.len(), 4096 * 256 - 7 + 3);
    assert!(out.ends_with(b"a***"));
}

/// A pending span that keeps growing (`aaaa…` with the secret `aaaaaa`) is not held in memory.
#[test]
fn ever_growing_span_is_not_held() {
    let r = redactor(&[("a", "aaaaaa")]);
    let mut s = r.stream();
    let mut out = Vec::new();
    for _ in 0..1000 {
        s.push(&[b'a'; 1000], &mut out);
        assert!(s.held_back() <= 6);
    }
    s.push(b"!", &mut out);
    assert_eq!(out, b"***!");
}

fn b64(bytes: &[u8], url: bool) -> String {
    let alphabet: &[u8; 64] = if url {
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    } else {
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    };
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let v = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(alphabet[((v >> (18 - 6 * k)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn every_encoding_family() {
    let v = "p@ss w/rd+&<'\"é>~?";
    let r = redactor(&[("e", v)]);
    let redacted = |text: &str| -> bool {
        let out = r.redact(text.as_bytes());
        contains(&out, b"***")
    };
    // Base64, both alphabets, value at every alignment, with and without padding, and with
    // bytes after it (the trailing partial group trimmed).
    for url in [false, true] {
        for prefix in ["", "u", "us", "use", "user:"] {
            for suffix in ["", "!", "!!", "!!!"] {
                let plain = format!("{prefix}{v}{suffix}");
                for enc in [
                    b64(plain.as_bytes(), url),
                    b64(plain.as_bytes(), url).replace('=', ""),
                ] {
                    let out = r.redact(format!("Authorization: Basic {enc}\n").as_bytes());
                    assert!(contains(&out, b"***"), "{url} {prefix:?} {suffix:?} {enc}");
                    // At most the characters that depend on bytes outside the value remain,
                    // plus one partial character on each side.
                    let visible = out.len() - "Authorization: Basic ***\n".len();
                    let around = (prefix.len() + suffix.len()) * 4 / 3 + 2 + 2 + 2;
                    assert!(
                        visible <= around,
                        "{enc}: {}",
                        String::from_utf8_lossy(&out)
                    );
                    if suffix.is_empty() {
                        assert!(out.ends_with(b"***\n"), "{}", String::from_utf8_lossy(&out));
                    }
                }
            }
        }
    }
    // URL encoding: upper and lower hex, `+` and `%20` for the space.
    let mut upper = String::new();
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            upper.push(b as char);
        } else {
            upper.push_str(&format!("%{b:02X}"));
        }
    }
    let lower = {
        let mut s = String::new();
        for b in v.bytes() {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                s.push(b as char);
            } else {
                s.push_str(&format!("%{b:02x}"));
            }
        }
        s
    };
    for u in [
        upper.clone(),
        lower.clone(),
        upper.replace("%20", "+"),
        lower.replace("%20", "+"),
    ] {
        assert_eq!(
            r.redact(format!("GET /?p={u}&x=1").as_bytes()),
            b"GET /?p=***&x=1",
            "{u}"
        );
    }
    // JSON: serde_json, Python's ensure_ascii, PHP's `\/`, Go's HTML-safe escapes.
    let serde = serde_json::to_string(v).unwrap();
    assert_eq!(
        r.redact(format!("{{\"p\":{serde}}}").as_bytes()),
        b"{\"p\":\"***\"}"
    );
    let python = "p@ss w/rd+&<'\\\"\\u00e9>~?";
    let php = "p@ss w\\/rd+&<'\\\"é>~?";
    let go = "p@ss w/rd+\\u0026\\u003c'\\\"é\\u003e~?";
    for j in [python, php, go] {
        assert!(redacted(&format!("{{\"p\":\"{j}\"}}")), "{j}");
    }
    // XML / HTML.
    for x in [
        "p@ss w/rd+&amp;&lt;'\"é&gt;~?",
        "p@ss w/rd+&amp;&lt;&apos;&quot;é&gt;~?",
        "p@ss w/rd+&amp;&lt;&#39;&#34;é&gt;~?",
        "p@ss w/rd+&amp;&lt;&#x27;&quot;é&gt;~?",
    ] {
        assert_eq!(
            r.redact(format!("<p>{x}</p>").as_bytes()),
            b"<p>***</p>",
            "{x}"
        );
    }
    // Shell single quotes, `\"` and shell double-quote escaping.
    for sh in [
        "p@ss w/rd+&<'\\''\"é>~?",
        "p@ss w/rd+&<'\\\"é>~?",
        "p@ss w/rd+&<'\\\"é>~?",
    ] {
        assert!(redacted(&format!("sh -c '{sh}'")), "{sh}");
    }
    let dq = r#"p\$x\`y\"z\\w"#;
    let r2 = redactor(&[("d", r#"p$x`y"z\w"#)]);
    assert_eq!(r2.redact(format!("\"{dq}\"").as_bytes()), b"\"***\"");
}

/// Fuzz finding (tests/fuzz_redact.rs): Python's `urllib.parse.quote` keeps `/` and
/// JavaScript's `encodeURIComponent` keeps `!'()*`, so their forms of a secret holding those
/// bytes were not needles and passed unredacted.
#[test]
fn python_quote_and_js_encode_uri_component_forms() {
    let r = redactor(&[("s", "a/aa a"), ("t", "a!éé(x)")]);
    assert_eq!(r.redact(b"<a/aa%20a>"), b"<***>");
    assert_eq!(r.redact(b"<a!%C3%A9%C3%A9(x)>"), b"<***>");
}

#[test]
fn prompt_without_newline_is_released_immediately() {
    let r = redactor(&[("pw", "hunter2-pw")]);
    let mut s = r.stream();
    let mut out = Vec::new();
    s.push(b"Password: ", &mut out);
    assert_eq!(out, b"Password: ");
    assert_eq!(s.held_back(), 0);
    out.clear();
    // Only the bytes that may start the secret are held.
    s.push(b"Enter hun", &mut out);
    assert_eq!(out, b"Enter ");
    assert_eq!(s.held_back(), 3);
    out.clear();
    s.push(b"gry? ", &mut out);
    assert_eq!(out, b"hungry? ");
    assert_eq!(s.held_back(), 0);
}

#[test]
fn secret_added_mid_stream() {
    let r = Redactor::new();
    let mut s = r.stream();
    let mut out = Vec::new();
    s.push(b"early late-secret-1 ", &mut out);
    r.add_secret("late", &sec("late-secret-1")).unwrap();
    s.push(b"then late-secret-1.", &mut out);
    s.finish(&mut out);
    // Bytes already released stay as they were; later ones are redacted.
    assert_eq!(out, b"early late-secret-1 then ***.");

    // A partial match of an older secret that is held back survives the change, and held-back
    // bytes are searched for the new secret too.
    let r = redactor(&[("a", "abcdefgh-1")]);
    let mut s = r.stream();
    let mut out = Vec::new();
    s.push(b"x abcde", &mut out);
    assert_eq!(out, b"x ");
    r.add_secret("b", &sec("cdeXYZ-99")).unwrap();
    s.push(b"fgh-1 abcdeXYZ-", &mut out);
    s.push(b"99!", &mut out);
    s.finish(&mut out);
    assert_eq!(out, b"x *** ab***!");
}

#[test]
fn counts_per_secret() {
    let r = redactor(&[("one", "first-secret"), ("two", "second-secret")]);
    let mut s = r.stream();
    let mut out = Vec::new();
    s.push(b"first-secret second-secret first-secret ", &mut out);
    s.push(b"Zmlyc3Qtc2VjcmV0", &mut out); // base64 of first-secret
    s.finish(&mut out);
    let counts = s.counts();
    assert_eq!(counts.get("one"), Some(&3));
    assert_eq!(counts.get("two"), Some(&1));
    assert_eq!(out, b"*** *** *** ***");
}

#[test]
fn debug_never_shows_the_value() {
    let r = redactor(&[("token", "debug-visible-value")]);
    let mut s = r.stream();
    let mut out = Vec::new();
    s.push(b"debug-visible-va", &mut out);
    for text in [format!("{r:?}"), format!("{s:?}"), format!("{r:#?} {s:#?}")] {
        assert!(!text.contains("debug-visible"), "{text}");
        assert!(!text.contains("ZGVidWct"), "{text}"); // base64 prefix
    }
    assert!(format!("{r:?}").contains("token"));
}

#[test]
fn purge_forgets_every_secret() {
    let r = redactor(&[("p", "purged-secret-1")]);
    let mut s = r.stream();
    let mut out = Vec::new();
    s.push(b"purged-secret-1 purged-sec", &mut out);
    assert_eq!(out, b"*** ");
    r.purge();
    assert_eq!(r.needle_count(), 0);
    assert!(r.secret_names().is_empty());
    // After the purge nothing passes: neither the held-back start nor later bytes (they can
    // no longer be checked), and the stream counts what it dropped.
    assert!(r.is_purged());
    s.push(b"ret-1 and more", &mut out);
    s.finish(&mut out);
    assert_eq!(out, b"*** ");
    assert_eq!(
        s.dropped_after_purge(),
        ("purged-sec".len() + "ret-1 and more".len()) as u64
    );
    assert_eq!(r.redact(b"purged-secret-1"), b"");
    let mut late = r.stream();
    let mut out = Vec::new();
    late.push(b"anything", &mut out);
    late.finish(&mut out);
    assert!(out.is_empty());
    assert_eq!(late.dropped_after_purge(), 8);
}

#[test]
fn clones_share_secrets() {
    let r = Redactor::new();
    let c = r.clone();
    c.add_secret("shared", &sec("shared-secret")).unwrap();
    assert_eq!(r.redact(b"shared-secret"), b"***");
}

#[test]
fn redactor_is_shareable_across_threads() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<Redactor>();
    send::<super::StreamRedactor>();
    let r = redactor(&[("t", "thread-secret-1")]);
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let r = r.clone();
            std::thread::spawn(move || r.redact(b"a thread-secret-1 b"))
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().ok(), Some(b"a *** b".to_vec()));
    }
}

// ---------------------------------------------------------------------------------------------
// Bytes a terminal view drops, inside a secret (issue 9, items 5 and 6).

/// Every class of hidden bytes, inside the secret at every position, under every split of the
/// input into two writes and one byte per write: the whole secret becomes one `***`, the
/// hidden bytes inside it included, the ones around it kept.
#[test]
fn hidden_bytes_inside_a_secret_are_spanned_under_every_split() {
    let value = "s3cr3t-t0ken";
    let secrets = [("tok", value)];
    let classes: &[(&str, &[u8])] = &[
        ("DEL", b"\x7f"),
        ("NUL", b"\x00"),
        ("BS", b"\x08"),
        ("C1 CSI", b"\xc2\x9b"),
        ("C1 PAD", b"\xc2\x80"),
        ("SGR", b"\x1b[31m"),
        ("SGR pair", b"\x1b[1;31mX\x1b[0m"),
        ("OSC title", b"\x1b]0;title\x07"),
        ("OSC 52", b"\x1b]52;c;aGVsbG8=\x1b\\"),
        ("CSI cursor", b"\x1b[10;20H\x1b[2A\x1b[K"),
        ("DCS", b"\x1bPq#0;2\x1b\\"),
        ("ESC charset", b"\x1b(B"),
    ];
    for (what, hidden) in classes {
        // "SGR pair" colours one letter: the hidden bytes hold a visible letter.
        let hidden: Vec<u8> = if *what == "SGR pair" {
            b"\x1b[1;31m".to_vec()
        } else {
            hidden.to_vec()
        };
        // (Colouring the last letter leaves the reset after the secret, outside the span.)
        let last = value.len() - usize::from(*what == "SGR pair");
        for at in 1..last {
            let mut input = b"x ".to_vec();
            input.extend_from_slice(&value.as_bytes()[..at]);
            input.extend_from_slice(&hidden);
            if *what == "SGR pair" {
                input.push(value.as_bytes()[at]);
                input.extend_from_slice(b"\x1b[0m");
                input.extend_from_slice(&value.as_bytes()[at + 1..]);
            } else {
                input.extend_from_slice(&value.as_bytes()[at..]);
            }
            input.extend_from_slice(b" y\n");
            let r = redactor(&secrets);
            assert_eq!(r.redact(&input), b"x *** y\n", "{what} at {at}");
            for cut in 0..=input.len() {
                check_all_ways(&secrets, &input, &[cut]);
            }
        }
    }
}

#[test]
fn hidden_bytes_around_a_secret_stay_and_encodings_are_spanned_too() {
    let value = "s3cr3t-t0ken";
    let r = redactor(&[("tok", value)]);
    assert_eq!(
        r.redact(b"\x1b[31ms3cr3t-t0ken\x1b[0m!"),
        b"\x1b[31m***\x1b[0m!"
    );
    // base64 of the value, coloured in the middle.
    let enc = b64(value.as_bytes(), false);
    let (a, b) = enc.split_at(5);
    let input = format!("{a}\x1b[33m{b}\n");
    assert_eq!(r.redact(input.as_bytes()), b"***\n");
}

/// An unterminated sequence inside a possible match does not make the stream hold back
/// unbounded bytes: past `MAX_HIDDEN_IN_MATCH` hidden bytes the match is abandoned.
#[test]
fn an_unterminated_sequence_inside_a_secret_holds_back_a_bounded_amount() {
    let value = "s3cr3t-t0ken";
    let r = redactor(&[("tok", value)]);
    let bound = r.max_needle_len() + super::MAX_HIDDEN_IN_MATCH + 8;
    let mut s = r.stream();
    let mut out = Vec::new();
    s.push(b"s3cr3t\x1b]0;", &mut out);
    assert!(s.held_back() > 0, "the partial match is held");
    let junk = vec![b'A'; 1 << 16];
    for _ in 0..16 {
        s.push(&junk, &mut out);
        assert!(s.held_back() <= bound, "held {} > {bound}", s.held_back());
    }
    // Within the bound, the secret is still found across the hidden bytes.
    let mut input = b"s3cr3t".to_vec();
    input.extend(std::iter::repeat_n(b"\x1b[0m".as_slice(), 500).flatten());
    input.extend_from_slice(b"-t0ken");
    assert_eq!(r.redact(&input), b"***");
}

/// The TUI's parser (`ui::tui::ansi`) drops exactly what `invisible` calls hidden: every byte it
/// drops is hidden, on every byte value after every state-changing prefix, and on random input.
#[test]
fn the_classifier_covers_everything_the_tui_drops() {
    use crate::ui::tui::ansi::{Action, AnsiParser};
    /// Bytes the parser dropped (no visible action came of them).
    fn dropped_by_tui(input: &[u8]) -> Vec<bool> {
        let mut p = AnsiParser::new();
        let mut dropped = vec![false; input.len()];
        let mut pending: Vec<usize> = Vec::new();
        for (i, &b) in input.iter().enumerate() {
            let mut shown = false;
            p.feed(&[b], &mut |a| {
                if !matches!(a, Action::Style(_)) {
                    shown = true;
                }
            });
            pending.push(i);
            if shown {
                pending.clear();
                if !p.is_ground() {
                    pending.push(i); // the byte also began something new
                }
            } else if p.is_ground() {
                for j in pending.drain(..) {
                    dropped[j] = true;
                }
            }
        }
        dropped
    }
    fn hidden_by_classifier(input: &[u8]) -> Vec<bool> {
        let mut inv = Invisible::new();
        let mut hidden = vec![false; input.len()];
        for (i, &b) in input.iter().enumerate() {
            match inv.step(b) {
                Class::Hidden => hidden[i] = true,
                Class::C1 => {
                    hidden[i] = true;
                    hidden[i - 1] = true;
                }
                Class::Visible | Class::Pending => {}
            }
        }
        hidden
    }
    fn check(input: &[u8]) {
        let d = dropped_by_tui(input);
        let h = hidden_by_classifier(input);
        for i in 0..input.len() {
            assert!(
                !d[i] || h[i],
                "byte {i} of {input:x?}: the TUI drops it, not hidden"
            );
        }
    }
    let prefixes: &[&[u8]] = &[
        b"",
        b"\x1b",
        b"\x1b[",
        b"\x1b[1;",
        b"\x1b[?",
        b"\x1b[ ",
        b"\x1b]",
        b"\x1b]0;x",
        b"\x1b]0;\x1b",
        b"\x1bP",
        b"\x1bPx\x1b",
        b"\x1b(",
        b"\xc2",
        b"\xe2",
        b"\xe2\x82",
        b"\xf0\x9f",
        b"\x1b_",
        b"\x1bX",
        b"\x1b^",
    ];
    for pre in prefixes {
        for b in 0..=255u8 {
            for post in [b"".as_slice(), b"a", b"\x9b", b"\x1b\\a", b"ma"] {
                let mut v = pre.to_vec();
                v.push(b);
                v.extend_from_slice(post);
                check(&v);
            }
        }
    }
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let alphabet: &[u8] = b"\x1b[]P\\;0m\x07\x18\x9b\xc2\x80\xe2a \x7f\x00(_^X\xff\n";
    for _ in 0..20_000 {
        let mut v = Vec::new();
        for _ in 0..24 {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            v.push(alphabet[(rng % alphabet.len() as u64) as usize]);
        }
        check(&v);
    }
}

// ---------------------------------------------------------------------------------------------
// The encoder table against the real encoders (issue 9, item 5).

/// Runs a real encoder: `program args…` with `input` on stdin; its stdout is the form with
/// each value's output ended by NUL. `None` (with the reason printed, or a failure under
/// `WFOP_TEST_STRICT`) when the program is not installed.
fn run_encoder(program: &str, args: &[&str], input: &str) -> Option<Vec<String>> {
    use std::io::Write;
    let child = std::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            let reason =
                format!("{program} is not installed ({e}): its rows are checked only by vectors");
            if std::env::var_os("WFOP_TEST_STRICT").is_some() && program == "python3" {
                panic!("{reason}");
            }
            eprintln!("skipped: {reason}");
            return None;
        }
    };
    child.stdin.take()?.write_all(input.as_bytes()).ok()?;
    let out = child.wait_with_output().ok()?;
    assert!(out.status.success(), "{program} failed");
    let text = String::from_utf8(out.stdout).ok()?;
    Some(text.split('\0').map(str::to_owned).collect())
}

fn row(name_starts: &str) -> fn(&str) -> needles::Needle {
    needles::ENCODERS
        .iter()
        .find(|e| e.name == name_starts)
        .or_else(|| {
            needles::ENCODERS
                .iter()
                .find(|e| e.name.starts_with(name_starts))
        })
        .unwrap_or_else(|| panic!("no encoder row {name_starts}"))
        .encode
}

const SAMPLE: &str = "S3c r~*!'\"()+-._/\\&<>é😀$`;,?:@=#%[]{}|^";
const SAMPLE_CTRL: &str = "k3y\u{7f}x\ny'\"\u{85}";

#[test]
fn encoder_table_matches_real_encoders() {
    let enc = |name: &str, v: &str| String::from_utf8(row(name)(v).to_vec()).unwrap();
    let input = format!("{SAMPLE}\0{SAMPLE_CTRL}");
    // Python: every row it has an encoder for.
    let py = r#"
import sys, json, shlex, html, urllib.parse as u
vals = sys.stdin.read().split('\0')
out = []
for v in vals:
    out += [u.quote(v, safe=''), u.quote_plus(v, safe=''), u.quote(v), json.dumps(v)[1:-1],
            html.escape(v), shlex.quote(v), repr(v)[1:-1]]
sys.stdout.write('\0'.join(out))
"#;
    if let Some(got) = run_encoder("python3", &["-c", py], &input) {
        for (k, v) in [SAMPLE, SAMPLE_CTRL].iter().enumerate() {
            let g = &got[k * 7..k * 7 + 7];
            assert_eq!(g[0], enc("percent-encoding, RFC 3986 (", v));
            assert_eq!(g[1], enc("Python urllib.parse.quote_plus", v));
            assert_eq!(g[2], enc("Python urllib.parse.quote (", v));
            assert_eq!(g[3], enc("JSON: Python", v));
            assert_eq!(g[4], enc("Python html.escape", v));
            // shlex.quote wraps the value in '…' and writes ' as '"'"'.
            let inner = g[5].strip_prefix('\'').and_then(|x| x.strip_suffix('\''));
            assert_eq!(inner.map(str::to_owned), Some(enc("Python shlex.quote", v)));
            assert_eq!(g[6], enc("Python repr()", v));
        }
    }
    let js = r#"
let d = ''; process.stdin.on('data', c => d += c).on('end', () => {
  const out = [];
  for (const v of d.split('\0')) {
    out.push(encodeURIComponent(v), encodeURI(v), new URLSearchParams({k: v}).toString().slice(2),
             JSON.stringify(v).slice(1, -1));
  }
  process.stdout.write(out.join('\0'));
});
"#;
    if let Some(got) = run_encoder("node", &["-e", js], SAMPLE) {
        assert_eq!(got[0], enc("JavaScript encodeURIComponent", SAMPLE));
        assert_eq!(got[1], enc("JavaScript encodeURI", SAMPLE));
        assert_eq!(got[2], enc("form-urlencoded", SAMPLE));
        assert_eq!(got[3], enc("JSON: serde_json", SAMPLE));
    }
    let java = "class U { public static void main(String[] a) throws Exception { \
        String v = new String(System.in.readAllBytes(), \"UTF-8\"); \
        System.out.print(java.net.URLEncoder.encode(v, \"UTF-8\")); } }";
    let dir = std::env::temp_dir().join(format!("wfop-enc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("U.java");
    std::fs::write(&file, java).unwrap();
    if let Some(got) = run_encoder("java", &[file.to_str().unwrap()], SAMPLE) {
        assert_eq!(got[0], enc("form-urlencoded", SAMPLE));
    }
    let _ = std::fs::remove_dir_all(&dir);
    // bash's printf %q (a value not starting with `~` or `#`, which it also escapes there).
    if let Some(got) = run_encoder("bash", &["-c", "printf '%q' \"$(cat)\""], SAMPLE) {
        assert_eq!(got[0], enc("bash printf %q", SAMPLE));
    }
}

/// Rows whose encoders are not installed here: vectors from their documentation.
#[test]
fn encoder_table_matches_documented_vectors() {
    let enc = |name: &str, v: &str| String::from_utf8(row(name)(v).to_vec()).unwrap();
    // PHP manual, json_encode: "/" is escaped unless JSON_UNESCAPED_SLASHES, non-ASCII as
    // \uXXXX unless JSON_UNESCAPED_UNICODE: json_encode("a/é") === "\"a\\/\\u00e9\"".
    assert_eq!(
        enc("JSON: PHP json_encode default", "a/é\"b"),
        "a\\/\\u00e9\\\"b"
    );
    assert_eq!(enc("JSON: PHP json_encode with", "a/é"), "a\\/é");
    // PHP manual, urlencode: every non-alphanumeric but -_. as %XX, space as +.
    assert_eq!(enc("PHP urlencode", "a~b*c d-e_f.g"), "a%7Eb%2Ac+d-e_f.g");
    // .NET docs (System.Text.Json character encoding): the default encoder escapes
    // HTML-sensitive characters, '+' and non-ASCII; the quote as \u0022.
    assert_eq!(
        enc("JSON: .NET", "a+b<c>&'\"é`\\"),
        "a\\u002Bb\\u003Cc\\u003E\\u0026\\u0027\\u0022\\u00E9\\u0060\\\\"
    );
    // Go strconv.Quote("k\x7fy\"\u0085") == `"k\x7fy\"\u0085"`.
    assert_eq!(enc("Go %q", "k\u{7f}y\"\u{85}"), "k\\x7fy\\\"\\u0085");
    // Doubled single quote: PowerShell 'it''s', SQL.
    assert_eq!(enc("doubled single quote", "it's"), "it''s");
    // GitHub runner ValueEncoders tests: PowerShell sections around &+ (ours also keep the
    // coloured letter).
    let n: Vec<String> = needles::derive("abcdef&+ghijklm")
        .iter()
        .map(|n| String::from_utf8(n.to_vec()).unwrap())
        .collect();
    for want in ["abcdef&+", "hijklm", "ghijklm"] {
        assert!(n.iter().any(|x| x == want), "missing {want}");
    }
    let n: Vec<String> = needles::derive("\"quoted-value\"")
        .iter()
        .map(|n| String::from_utf8(n.to_vec()).unwrap())
        .collect();
    assert!(n.iter().any(|x| x == "quoted-value"));
}

/// Each new form, printed by a service, is redacted (these leak on the old needle list).
#[test]
fn encoded_forms_other_maskers_hide_are_redacted() {
    let value = "p@ss w~rd*'x\"y/é&+Zend1234";
    let r = redactor(&[("tok", value)]);
    for (what, printed) in [
        (
            "URLSearchParams",
            "p%40ss+w%7Erd*%27x%22y%2F%C3%A9%26%2BZend1234",
        ),
        (
            "PHP urlencode",
            "p%40ss+w%7Erd%2A%27x%22y%2F%C3%A9%26%2BZend1234",
        ),
        ("PHP json_encode", "p@ss w~rd*'x\\\"y\\/\\u00e9&+Zend1234"),
        (
            ".NET",
            "p@ss w~rd*\\u0027x\\u0022y/\\u00E9\\u0026\\u002BZend1234",
        ),
        ("shlex.quote", "p@ss w~rd*'\"'\"'x\"y/é&+Zend1234"),
        ("repr", "p@ss w~rd*\\'x\"y/é&+Zend1234"),
        ("printf %q", "p@ss\\ w~rd\\*\\'x\\\"y/é\\&+Zend1234"),
        ("doubled quote", "p@ss w~rd*''x\"y/é&+Zend1234"),
        ("encodeURI", "p@ss%20w~rd*'x%22y/%C3%A9&+Zend1234"),
        (
            "PowerShell split",
            "p@ss w~rd*'x\"y/é&+ … Z\x1b[31m\x1b[0mend1234",
        ),
    ] {
        let out = r.redact(printed.as_bytes());
        assert!(
            out.starts_with(b"***"),
            "{what}: {:?}",
            String::from_utf8_lossy(&out)
        );
        assert!(!String::from_utf8_lossy(&out).contains("end1234"), "{what}");
    }
    let go = redactor(&[("tok", "s3cr\u{7f}t-value")]);
    assert_eq!(go.redact(b"\"s3cr\\x7ft-value\""), b"\"***\"");
    let quoted = redactor(&[("tok", "\"inner-value-9\"")]);
    assert_eq!(quoted.redact(b"pw=inner-value-9;"), b"pw=***;");
}

/// A multi-line secret whose line breaks were followed by any whitespace (indentation, tabs,
/// blank lines, CRLF), or joined with a space or nothing, is one span; lines too short to be
/// needles on their own are covered.
#[test]
fn a_multi_line_secret_matches_across_any_whitespace() {
    let value = "pa55\nw0rd-x\nq9";
    let secrets = [("key", value)];
    let r = redactor(&secrets);
    for printed in [
        "pa55\n    w0rd-x\n    q9",
        "pa55\r\n\r\n\tw0rd-x\n  q9",
        "pa55 w0rd-x q9",
        "pa55w0rd-xq9",
        "pa55\n\x1b[2m  w0rd-x\n\n q9",
    ] {
        let input = format!("key: {printed}\n");
        assert_eq!(r.redact(input.as_bytes()), b"key: ***\n", "{printed:?}");
        for cut in 0..=input.len() {
            check_all_ways(&secrets, input.as_bytes(), &[cut]);
        }
    }
}

/// Item 17: a 1 MiB value costs needles of about its own size (no encodings past
/// `MAX_ENCODED_LEN`), with a warning naming it; a longer one is refused by name.
#[test]
fn a_huge_secret_gets_bounded_needle_work() {
    let big: String = (0..needles::MAX_SECRET_LEN)
        .map(|i| (b'a' + (i * 7 % 26) as u8) as char)
        .collect();
    let bytes: usize = needles::normalized(&big, false)
        .iter()
        .map(|n| n.len())
        .sum();
    assert!(
        bytes <= 2 * big.len(),
        "{bytes} needle bytes for a {} byte value",
        big.len()
    );
    let r = Redactor::new();
    let w = r.add_secret("big", &sec(&big)).unwrap();
    assert!(matches!(w, Some(RedactWarning::Long { .. })), "{w:?}");
    assert_eq!(r.redact(format!("x{big}y").as_bytes()), b"x***y");
    let over = format!("{big}z");
    let e = r.add_secret("huge", &sec(&over)).unwrap_err();
    assert_eq!(
        e,
        RedactError::TooLong {
            name: "huge".into(),
            max: needles::MAX_SECRET_LEN
        }
    );
    assert!(!e.to_string().contains("abcdef"));
    // Up to the bound, encodings as before.
    let mid = &big[..needles::MAX_ENCODED_LEN];
    let k = needles::normalized(mid, false).len();
    assert!(k > 5, "{k} needles");
}

#[test]
fn add_secrets_builds_once_and_reports_each() {
    let r = Redactor::new();
    let (a, b, c) = (sec("alpha-secret-1"), sec(" "), sec("abc"));
    let res = r.add_secrets([("a", &a), ("b", &b), ("c", &c)]);
    assert_eq!(res.len(), 3);
    assert_eq!(res[0], Ok(None));
    assert!(matches!(res[1], Err(RedactError::Empty { .. })));
    assert!(matches!(res[2], Ok(Some(RedactWarning::Short { .. }))));
    assert_eq!(r.redact(b"alpha-secret-1 abc"), b"*** ***");
}

// ---------------------------------------------------------------------------------------------
// Hundreds of secrets (issue 16): the pre-filter's sets grow with the number of needles; every
// occurrence must still be found, whatever the split.

/// xorshift64*: deterministic values and inputs for the many-secrets cases.
struct Xs(u64);

impl Xs {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chars(&mut self, alphabet: &[u8], n: usize) -> String {
        (0..n)
            .map(|_| alphabet[self.below(alphabet.len())] as char)
            .collect()
    }
}

/// `n` distinct values of token-like shapes (8 to 60 bytes; some with characters that have
/// encodings), and with `multi_line` one PEM-like value (whitespace mode).
fn many_values(rng: &mut Xs, n: usize, multi_line: bool) -> Vec<String> {
    const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    const HEX: &[u8] = b"0123456789abcdef";
    const SPECIAL: &[u8] = b"abcdefgh0123 /+&\"'<>\\%=";
    let mut values: Vec<String> = Vec::new();
    if multi_line {
        values.push(format!(
            "-----BEGIN KEY-----\n{}\n{}\n-----END KEY-----",
            rng.chars(ALNUM, 40),
            rng.chars(ALNUM, 12)
        ));
    }
    while values.len() < n {
        let len = 6 + rng.below(50);
        let v = match rng.below(5) {
            0 => format!("ghp_{}", rng.chars(ALNUM, len)),
            1 => rng.chars(HEX, len + 2),
            2 => rng.chars(ALNUM, len + 2),
            3 => format!("p{}x", rng.chars(SPECIAL, len)),
            _ => format!("AKIA{}", rng.chars(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)),
        };
        if !v.trim().is_empty() && !values.contains(&v) {
            values.push(v);
        }
    }
    values
}

/// Log-like noise with needles of `values` at random places: whole, cut short, with one byte
/// changed (a near miss), split by hidden bytes, and right next to each other.
fn many_input(rng: &mut Xs, values: &[String], pieces: usize) -> Vec<u8> {
    const WORDS: &[&str] = &[
        "INFO ",
        "job ",
        "queued ",
        "0a1b2c3d ",
        "ms ",
        "\n",
        "{\"k\":1} ",
        "ghp_",
        "AKIA",
        "-----",
        "p",
        "x",
        " ",
        "\t",
    ];
    let mut input = Vec::new();
    for _ in 0..pieces {
        for _ in 0..rng.below(12) {
            input.extend_from_slice(WORDS[rng.below(WORDS.len())].as_bytes());
        }
        let derived = needles::derive(&values[rng.below(values.len())]);
        let needle = derived[rng.below(derived.len())].to_vec();
        match rng.below(6) {
            0 => input.extend_from_slice(&needle[..rng.below(needle.len() + 1)]),
            1 => {
                let mut near = needle;
                let at = rng.below(near.len());
                near[at] = near[at].wrapping_add(1);
                input.extend_from_slice(&near);
            }
            2 => {
                let at = rng.below(needle.len() + 1);
                input.extend_from_slice(&needle[..at]);
                input.extend_from_slice(HIDDEN[rng.below(HIDDEN.len())]);
                input.extend_from_slice(&needle[at..]);
            }
            _ => input.extend_from_slice(&needle),
        }
    }
    input
}

fn check_many_secrets(seed: u64, n: usize, multi_line: bool) {
    let mut rng = Xs(seed);
    let values = many_values(&mut rng, n, multi_line);
    let names: Vec<String> = (0..n).map(|i| format!("s{i}")).collect();
    let secrets: Vec<(&str, &str)> = names
        .iter()
        .map(String::as_str)
        .zip(values.iter().map(String::as_str))
        .collect();
    let r = redactor_batch(EnginePref::Auto, &secrets);
    assert!(r.needle_count() > 5 * n, "{} needles", r.needle_count());
    let input = many_input(&mut rng, &values, 120);
    let points: Vec<usize> = (0..6).map(|_| rng.below(input.len() + 1)).collect();
    check_all_ways_with(&secrets, &input, &points, redactor_batch);
    assert_no_needle(&secrets, &r.redact(&input));
}

/// `redactor_with`, all secrets in one `add_secrets` (one build of the automaton).
fn redactor_batch(pref: EnginePref, secrets: &[(&str, &str)]) -> Redactor {
    let r = Redactor::with_engine(pref);
    let values: Vec<(&str, SecretString)> = secrets.iter().map(|(n, v)| (*n, sec(v))).collect();
    for result in r.add_secrets(values.iter().map(|(n, v)| (*n, v))) {
        result.unwrap();
    }
    r
}

#[test]
fn two_hundred_secrets_match_the_reference() {
    check_many_secrets(0x1616_0200, 200, false);
}

#[test]
fn five_hundred_secrets_in_whitespace_mode_match_the_reference() {
    check_many_secrets(0x1616_0500, 500, true);
}
