//! Tests of the redactor: a naive reference (all occurrences, merged) against the streaming
//! implementation under random splits, and one named test per hard case.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use secrecy::SecretString;

use super::matcher::EnginePref;
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

/// The specification, naively: every occurrence of every needle, overlapping and touching
/// spans merged, each merged span replaced by `***`, counted once per distinct secret.
fn reference(secrets: &[(&str, &str)], input: &[u8]) -> (Vec<u8>, BTreeMap<String, u64>) {
    let needles = all_needles(secrets);
    let mut matches: Vec<(usize, usize, String)> = Vec::new();
    for (n, name) in &needles {
        for start in 0..input.len() {
            if input[start..].starts_with(n) {
                matches.push((start, start + n.len(), name.clone()));
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
    let mut cursor = 0;
    for (s, e, names) in spans {
        out.extend_from_slice(&input[cursor..s]);
        out.extend_from_slice(b"***");
        for n in names {
            *counts.entry(n).or_insert(0) += 1;
        }
        cursor = e;
    }
    out.extend_from_slice(&input[cursor..]);
    (out, counts)
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

/// Checks batch, one-byte writes and the given split against the reference.
fn check_all_ways(secrets: &[(&str, &str)], input: &[u8], points: &[usize]) {
    let (want, want_counts) = reference(secrets, input);
    for pref in [EnginePref::Auto, EnginePref::Nfa] {
        let r = redactor_with(pref, secrets);
        assert_eq!(r.redact(input), want, "batch, {pref:?}");
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        let (out, counts) = stream_parts(&r, &bytes);
        assert_eq!(out, want, "one byte per write, {pref:?}");
        assert_eq!(counts, want_counts, "counts, {pref:?}");
        let (out, _) = stream_parts(&r, &split_at_points(input, points));
        assert_eq!(out, want, "split at {points:?}, {pref:?}");
    }
}

fn assert_no_needle(secrets: &[(&str, &str)], out: &[u8]) {
    for (n, name) in all_needles(secrets) {
        if !n.contains(&b'*') {
            assert!(!contains(out, &n), "a needle of {name} survived");
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
}

fn piece() -> impl Strategy<Value = Piece> {
    prop_oneof![
        proptest::collection::vec(
            prop::sample::select(vec![
                b'a', b'b', b'c', b'0', b' ', b'\n', b'\r', 0xff, 0x00, 0xc3
            ]),
            0..6
        )
        .prop_map(Piece::Noise),
        (0usize..4, 0usize..64, 0usize..200).prop_map(|(s, n, l)| Piece::Needle(s, n, l)),
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

#[test]
fn empty_and_whitespace_only_values_are_refused() {
    let r = Redactor::new();
    for v in ["", " ", "\n\t  \r\n"] {
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
