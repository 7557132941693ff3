//! FEEL's string functions, pure (no evaluator types): positions and lengths in Unicode code points
//! as FEEL counts them, and XPath-style regular expressions (flags `s m i x q`) under size limits.
//!
//! Patterns compile with the `regex` crate (linear time, no back-references); a pattern's size,
//! its compiled size and its nesting are bounded so a user's pattern cannot exhaust memory.

use regex::{Regex, RegexBuilder};

/// Longest accepted pattern text, in bytes.
pub(crate) const MAX_PATTERN_LEN: usize = 4 * 1024;
/// Most memory a compiled pattern may take (the `regex` crate's size and DFA limits).
const COMPILED_LIMIT: usize = 1 << 20;
/// Deepest nesting of groups and repetitions in a pattern.
const NEST_LIMIT: u32 = 64;
/// Longest text `replace` may build.
const MAX_OUTPUT: usize = super::MAX_EVAL_BUDGET;

/// What is wrong with a string function's arguments. Messages never repeat the text or the
/// pattern (either may come from a variable).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("invalid regular expression: {0}")]
    Pattern(String),
    #[error("regular expression too long (over {MAX_PATTERN_LEN} bytes)")]
    PatternTooLong,
    #[error("regular expression too big once compiled (over {COMPILED_LIMIT} bytes)")]
    PatternTooBig,
    #[error("unknown regular expression flag `{0}` (use s, m, i, x or q)")]
    Flag(char),
    #[error("the regular expression matches the empty string, so it cannot {0}")]
    EmptyMatch(&'static str),
    #[error("invalid replacement: {0}")]
    Replacement(&'static str),
    #[error("{0}")]
    Position(&'static str),
    #[error("the result would be longer than {MAX_OUTPUT} bytes")]
    TooLong,
}

/// Compiles an XPath regular expression with its flags: `s` (`.` matches newlines), `m` (`^`/`$`
/// at line ends), `i` (ignore case), `x` (whitespace outside `[…]` is removed), `q` (the pattern
/// is literal text).
pub(crate) fn compile(pattern: &str, flags: Option<&str>) -> Result<Regex, TextError> {
    if pattern.len() > MAX_PATTERN_LEN {
        return Err(TextError::PatternTooLong);
    }
    let (mut dot_all, mut multi_line, mut case_insensitive, mut extended, mut literal) =
        (false, false, false, false, false);
    for c in flags.unwrap_or("").chars() {
        match c {
            's' => dot_all = true,
            'm' => multi_line = true,
            'i' => case_insensitive = true,
            'x' => extended = true,
            'q' => literal = true,
            other => return Err(TextError::Flag(other)),
        }
    }
    let source = if literal {
        regex::escape(pattern)
    } else if extended {
        strip_whitespace(pattern)
    } else {
        pattern.to_string()
    };
    RegexBuilder::new(&source)
        .dot_matches_new_line(dot_all)
        .multi_line(multi_line)
        .case_insensitive(case_insensitive)
        .size_limit(COMPILED_LIMIT)
        .dfa_size_limit(COMPILED_LIMIT)
        .nest_limit(NEST_LIMIT)
        .build()
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(_) => TextError::PatternTooBig,
            regex::Error::Syntax(msg) => TextError::Pattern(syntax_reason(&msg)),
            _ => TextError::Pattern("not accepted".to_string()),
        })
}

/// The `error: …` line of the `regex` crate's syntax error (the lines above it quote the pattern).
fn syntax_reason(msg: &str) -> String {
    msg.lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix("error: "))
        .unwrap_or("syntax error")
        .to_string()
}

/// The `x` flag: whitespace (space, tab, CR, LF) outside character classes is removed.
fn strip_whitespace(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    let (mut in_class, mut escaped) = (false, false);
    for c in pattern.chars() {
        if escaped {
            out.push(c);
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '[' => in_class = true,
            ']' => in_class = false,
            ' ' | '\t' | '\r' | '\n' if !in_class => continue,
            _ => {}
        }
        out.push(c);
    }
    out
}

/// `string length(string)`: code points.
pub(crate) fn string_length(s: &str) -> usize {
    s.chars().count()
}

/// `substring(string, start position, length?)`: positions count code points from 1; a negative
/// start counts from the end (-1 is the last). Past the end gives `""`; a start before the
/// beginning starts at the first; position 0 and a negative length are errors.
pub(crate) fn substring(s: &str, start: i64, length: Option<i64>) -> Result<String, TextError> {
    if start == 0 {
        return Err(TextError::Position(
            "start position 0 does not exist (the first is 1, the last -1)",
        ));
    }
    if length.is_some_and(|l| l < 0) {
        return Err(TextError::Position("the length is negative"));
    }
    let count = i64::try_from(string_length(s)).unwrap_or(i64::MAX);
    let first = if start > 0 {
        start - 1
    } else {
        count.saturating_add(start).max(0)
    };
    let skip = usize::try_from(first).unwrap_or(usize::MAX);
    let take = length.map_or(usize::MAX, |l| usize::try_from(l).unwrap_or(usize::MAX));
    Ok(s.chars().skip(skip).take(take).collect())
}

/// `upper case(string)`.
pub(crate) fn upper_case(s: &str) -> String {
    s.to_uppercase()
}

/// `lower case(string)`.
pub(crate) fn lower_case(s: &str) -> String {
    s.to_lowercase()
}

/// `substring before(string, match)`: the text before the first match, `""` if none.
pub(crate) fn substring_before<'a>(s: &'a str, m: &str) -> &'a str {
    s.find(m).map_or("", |i| &s[..i])
}

/// `substring after(string, match)`: the text after the first match, `""` if none (all of it for
/// an empty match).
pub(crate) fn substring_after<'a>(s: &'a str, m: &str) -> &'a str {
    s.find(m).map_or("", |i| &s[i + m.len()..])
}

/// `contains(string, match)`.
pub(crate) fn contains(s: &str, m: &str) -> bool {
    s.contains(m)
}

/// `starts with(string, match)`.
pub(crate) fn starts_with(s: &str, m: &str) -> bool {
    s.starts_with(m)
}

/// `ends with(string, match)`.
pub(crate) fn ends_with(s: &str, m: &str) -> bool {
    s.ends_with(m)
}

/// `matches(input, pattern, flags?)`: whether the pattern matches anywhere in the input.
pub(crate) fn matches(input: &str, pattern: &str, flags: Option<&str>) -> Result<bool, TextError> {
    Ok(compile(pattern, flags)?.is_match(input))
}

/// `replace(input, pattern, replacement, flags?)`: every non-overlapping match replaced. In the
/// replacement `$N` is group N (empty if it did not take part), `\$` and `\\` are `$` and `\`;
/// with the `q` flag the replacement is literal too. A pattern that matches `""` is an error,
/// as in XPath.
pub(crate) fn replace(
    input: &str,
    pattern: &str,
    replacement: &str,
    flags: Option<&str>,
) -> Result<String, TextError> {
    let re = compile(pattern, flags)?;
    if re.is_match("") {
        return Err(TextError::EmptyMatch("replace"));
    }
    let literal = flags.is_some_and(|f| f.contains('q'));
    let parts = if literal {
        vec![Piece::Text(replacement.to_string())]
    } else {
        read_replacement(replacement, re.captures_len())?
    };
    let mut out = String::with_capacity(input.len());
    let mut last = 0;
    for caps in re.captures_iter(input) {
        let Some(whole) = caps.get(0) else { continue };
        if whole.is_empty() {
            return Err(TextError::EmptyMatch("replace"));
        }
        out.push_str(&input[last..whole.start()]);
        for p in &parts {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Group(n) => out.push_str(caps.get(*n).map_or("", |m| m.as_str())),
            }
        }
        last = whole.end();
        if out.len() > MAX_OUTPUT {
            return Err(TextError::TooLong);
        }
    }
    out.push_str(&input[last..]);
    if out.len() > MAX_OUTPUT {
        return Err(TextError::TooLong);
    }
    Ok(out)
}

#[derive(Debug, PartialEq)]
enum Piece {
    Text(String),
    Group(usize),
}

/// Reads an XPath replacement string for a pattern with `groups` groups (group 0 included): after
/// `$` the longest run of digits that names a group (at least one digit).
fn read_replacement(r: &str, groups: usize) -> Result<Vec<Piece>, TextError> {
    let mut parts = Vec::new();
    let mut text = String::new();
    let mut chars = r.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some((_, e @ ('\\' | '$'))) => text.push(e),
                _ => {
                    return Err(TextError::Replacement(
                        "`\\` must be followed by `\\` or `$`",
                    ));
                }
            },
            '$' => {
                let digits: String = r[i + 1..]
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .collect();
                if digits.is_empty() {
                    return Err(TextError::Replacement(
                        "`$` must be followed by a group number",
                    ));
                }
                // The longest prefix that is a group number; the first digit always counts.
                let mut used = 1;
                let mut n = usize::from(digits.as_bytes()[0] - b'0');
                for d in digits.bytes().skip(1) {
                    let next = n.saturating_mul(10).saturating_add(usize::from(d - b'0'));
                    if next >= groups {
                        break;
                    }
                    n = next;
                    used += 1;
                }
                for _ in 0..used {
                    chars.next();
                }
                if !text.is_empty() {
                    parts.push(Piece::Text(std::mem::take(&mut text)));
                }
                if n < groups {
                    parts.push(Piece::Group(n));
                }
            }
            c => text.push(c),
        }
    }
    if !text.is_empty() {
        parts.push(Piece::Text(text));
    }
    Ok(parts)
}

/// `split(string, delimiter, flags?)`: the pieces between matches of the delimiter pattern, empty
/// pieces kept; the empty string gives no pieces. A delimiter that matches `""` is an error.
pub(crate) fn split(
    s: &str,
    delimiter: &str,
    flags: Option<&str>,
) -> Result<Vec<String>, TextError> {
    let re = compile(delimiter, flags)?;
    if re.is_match("") {
        return Err(TextError::EmptyMatch("split"));
    }
    if s.is_empty() {
        return Ok(Vec::new());
    }
    let mut pieces = Vec::new();
    let mut last = 0;
    for m in re.find_iter(s) {
        if m.is_empty() {
            return Err(TextError::EmptyMatch("split"));
        }
        pieces.push(s[last..m.start()].to_string());
        last = m.end();
    }
    pieces.push(s[last..].to_string());
    Ok(pieces)
}

/// `extract(input, pattern)`: every non-overlapping match, in order.
pub(crate) fn extract(input: &str, pattern: &str) -> Result<Vec<String>, TextError> {
    let re = compile(pattern, None)?;
    Ok(re
        .find_iter(input)
        .map(|m| m.as_str().to_string())
        .collect())
}

/// `string join(list, delimiter?, prefix?, suffix?)`: the strings joined; `null` items are left
/// out.
pub(crate) fn string_join(
    items: &[Option<&str>],
    delimiter: Option<&str>,
    prefix: Option<&str>,
    suffix: Option<&str>,
) -> String {
    let mut out = String::from(prefix.unwrap_or(""));
    let mut first = true;
    for s in items.iter().flatten() {
        if !first {
            out.push_str(delimiter.unwrap_or(""));
        }
        out.push_str(s);
        first = false;
    }
    out.push_str(suffix.unwrap_or(""));
    out
}

/// `trim(string)`: leading and trailing whitespace removed.
pub(crate) fn trim(s: &str) -> &str {
    s.trim()
}

/// `is blank(string)`: empty or only whitespace.
pub(crate) fn is_blank(s: &str) -> bool {
    s.trim().is_empty()
}

/// `to base64(string)`: the UTF-8 bytes in standard Base64 with padding.
pub(crate) fn to_base64(s: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = s.as_bytes();
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * k)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn substring_counts_code_points_from_one() {
        assert_eq!(substring("foobar", 3, None).unwrap(), "obar");
        assert_eq!(substring("foobar", 3, Some(3)).unwrap(), "oba");
        assert_eq!(substring("foobar", -2, Some(1)).unwrap(), "a");
        assert_eq!(substring("foobar", -1, None).unwrap(), "r");
        assert_eq!(substring("\u{1F40A}bc", 2, None).unwrap(), "bc");
        assert_eq!(substring("\u{1F40A}bc", 1, Some(1)).unwrap(), "\u{1F40A}");
        assert_eq!(substring("foobar", 7, None).unwrap(), "");
        assert_eq!(substring("foobar", 4, Some(100)).unwrap(), "bar");
        assert_eq!(substring("foobar", -100, Some(2)).unwrap(), "fo");
        assert_eq!(substring("foobar", 2, Some(0)).unwrap(), "");
        assert_eq!(substring("foobar", i64::MAX, Some(i64::MAX)).unwrap(), "");
        assert_eq!(substring("foobar", i64::MIN, None).unwrap(), "foobar");
        assert!(matches!(
            substring("foobar", 0, None),
            Err(TextError::Position(_))
        ));
        assert!(matches!(
            substring("foobar", 1, Some(-1)),
            Err(TextError::Position(_))
        ));
    }

    #[test]
    fn plain_string_functions() {
        assert_eq!(string_length("foo"), 3);
        assert_eq!(string_length("\u{1F40A}bc"), 3);
        assert_eq!(string_length(""), 0);
        assert_eq!(upper_case("aBc4"), "ABC4");
        assert_eq!(lower_case("aBc4"), "abc4");
        assert_eq!(upper_case("straße"), "STRASSE");
        assert_eq!(substring_before("foobar", "bar"), "foo");
        assert_eq!(substring_before("foobar", "xyz"), "");
        assert_eq!(substring_before("foobar", ""), "");
        assert_eq!(substring_after("foobar", "ob"), "ar");
        assert_eq!(substring_after("", "a"), "");
        assert_eq!(substring_after("foobar", ""), "foobar");
        assert_eq!(substring_after("foobar", "xyz"), "");
        assert!(contains("foobar", "ob"));
        assert!(!contains("foobar", "of"));
        assert!(!contains("foobar", "fo "));
        assert!(starts_with("foobar", "fo"));
        assert!(!starts_with("foobar", "ob"));
        assert!(ends_with("foobar", "r"));
        assert!(!ends_with("foobar", "o"));
        assert_eq!(trim("  hello world  "), "hello world");
        assert_eq!(trim("\t\n x \u{3000}"), "x");
        assert!(is_blank(""));
        assert!(is_blank(" \t\n"));
        assert!(!is_blank(" a "));
    }

    #[test]
    fn matches_with_xpath_flags() {
        assert!(matches("foobar", "^fo*b", None).unwrap());
        assert!(!matches("foobar", "^o", None).unwrap());
        assert!(matches("FooBar", "foobar", Some("i")).unwrap());
        assert!(!matches("FooBar", "foobar", None).unwrap());
        assert!(matches("a\nb", "a.b", Some("s")).unwrap());
        assert!(!matches("a\nb", "a.b", None).unwrap());
        assert!(matches("a\nb", "^b$", Some("m")).unwrap());
        assert!(!matches("a\nb", "^b$", None).unwrap());
        assert!(matches("helloworld", "hello world", Some("x")).unwrap());
        assert!(matches("a b", "a[ ]b", Some("x")).unwrap());
        assert!(matches("a b", "a\\ b", Some("x")).unwrap());
        assert!(matches("1+1", "1+1", Some("q")).unwrap());
        assert!(!matches("11", "1+1", Some("q")).unwrap());
        assert!(matches("abc", "", None).unwrap());
        assert_eq!(matches("a", "a", Some("g")), Err(TextError::Flag('g')));
    }

    #[test]
    fn bad_and_oversized_patterns_are_errors_that_do_not_repeat_the_pattern() {
        let e = matches("a", "(secretish", None).unwrap_err();
        assert!(matches!(e, TextError::Pattern(_)), "{e:?}");
        assert!(!e.to_string().contains("secretish"), "{e}");
        assert!(e.to_string().contains("unclosed group"), "{e}");
        let e = matches("a", "(a)\\1", None).unwrap_err();
        assert!(!e.to_string().contains("(a)"), "{e}");
        let long = "a".repeat(MAX_PATTERN_LEN + 1);
        assert_eq!(matches("a", &long, None), Err(TextError::PatternTooLong));
        assert_eq!(
            matches("a", "\\w{1000}\\w{1000}\\w{1000}", None),
            Err(TextError::PatternTooBig)
        );
        let deep = format!("{}a{}", "(".repeat(100), ")".repeat(100));
        assert!(matches!(
            matches("a", &deep, None),
            Err(TextError::Pattern(_))
        ));
    }

    #[test]
    fn replace_follows_xpath() {
        let r = |i, p, x, f| replace(i, p, x, f).unwrap();
        assert_eq!(r("abcd", "(ab)|(a)", "[1=$1][2=$2]", None), "[1=ab][2=]cd");
        assert_eq!(
            r("0123456789", "(\\d{3})(\\d{3})(\\d{4})", "($1) $2-$3", None),
            "(012) 345-6789"
        );
        assert_eq!(r("abracadabra", "bra", "*", None), "a*cada*");
        assert_eq!(r("abracadabra", "a.*a", "*", None), "*");
        assert_eq!(r("abracadabra", "a.*?a", "*", None), "*c*bra");
        assert_eq!(r("abracadabra", "a", "", None), "brcdbr");
        assert_eq!(r("abracadabra", "a(.)", "a$1$1", None), "abbraccaddabbra");
        assert_eq!(r("AAAA", "A+", "b", None), "b");
        assert_eq!(r("AAAA", "A+?", "b", None), "bbbb");
        assert_eq!(r("darted", "^(.*?)d(.*)$", "$1c$2", None), "carted");
        assert_eq!(r("abc", "B", "x", Some("i")), "axc");
        assert_eq!(r("a.b.c", ".", "$", Some("q")), "a$b$c");
        assert_eq!(r("price", "price", "\\$5 \\\\", None), "$5 \\");
        // `$12` is group 1 then "2" when there is no group 12.
        assert_eq!(r("ab", "(a)(b)", "$12", None), "a2");
        assert_eq!(r("ab", "(a)(b)", "$3", None), "");
        assert_eq!(
            replace("abc", "b*", "x", None),
            Err(TextError::EmptyMatch("replace"))
        );
        assert!(matches!(
            replace("abc", "b", "$x", None),
            Err(TextError::Replacement(_))
        ));
        assert!(matches!(
            replace("abc", "b", "\\n", None),
            Err(TextError::Replacement(_))
        ));
        assert!(matches!(
            replace("abc", "b", "$", None),
            Err(TextError::Replacement(_))
        ));
    }

    #[test]
    fn replace_refuses_a_result_past_the_budget() {
        let input = "a".repeat(1 << 16);
        let big = "b".repeat(1 << 11);
        assert_eq!(replace(&input, "a", &big, None), Err(TextError::TooLong));
        assert_eq!(
            replace(&input, "a", "bb", None).map(|s| s.len()),
            Ok(1 << 17)
        );
    }

    #[test]
    fn split_extract_and_join() {
        assert_eq!(
            split("John Doe", "\\s", None).unwrap(),
            strings(&["John", "Doe"])
        );
        assert_eq!(
            split("a;b;c;;", ";", None).unwrap(),
            strings(&["a", "b", "c", "", ""])
        );
        assert_eq!(
            split("aXbxc", "x", Some("i")).unwrap(),
            strings(&["a", "b", "c"])
        );
        assert_eq!(split("abc", ",", None).unwrap(), strings(&["abc"]));
        assert_eq!(split("", ",", None).unwrap(), Vec::<String>::new());
        assert_eq!(
            split("a,b", ",*", None),
            Err(TextError::EmptyMatch("split"))
        );
        assert_eq!(
            extract("this is foobar and folbar", "fo[a-z]*").unwrap(),
            strings(&["foobar", "folbar"])
        );
        assert_eq!(extract("nothing", "\\d+").unwrap(), Vec::<String>::new());
        assert_eq!(
            string_join(&[Some("a"), Some("b"), Some("c")], None, None, None),
            "abc"
        );
        assert_eq!(
            string_join(&[Some("a"), None, Some("c")], Some(", "), None, None),
            "a, c"
        );
        assert_eq!(
            string_join(
                &[Some("a"), Some("b"), Some("c")],
                Some(", "),
                Some("["),
                Some("]")
            ),
            "[a, b, c]"
        );
        assert_eq!(string_join(&[], Some(", "), None, None), "");
        assert_eq!(string_join(&[None], Some(", "), Some("("), Some(")")), "()");
    }

    #[test]
    fn patterns_that_match_empty_text_somewhere_are_refused() {
        // `\b` does not match "" itself, only between a letter and a space.
        assert!(!matches("", "\\b", None).unwrap());
        assert_eq!(
            split("a b", "\\b", None),
            Err(TextError::EmptyMatch("split"))
        );
        assert_eq!(
            replace("a b", "\\b", "|", None),
            Err(TextError::EmptyMatch("replace"))
        );
        assert_eq!(split("a b", " ", None).unwrap(), strings(&["a", "b"]));
    }

    #[test]
    fn errors_never_repeat_the_pattern_or_the_text() {
        let m = "S3CR3Tvalue";
        // The regex crate's own message quotes the pattern; ours must not.
        let raw = RegexBuilder::new(&format!("({m}")).build().unwrap_err();
        assert!(raw.to_string().contains(m));
        let bad = [
            matches(m, &format!("({m}"), None),
            matches(m, &format!("[{m}"), None),
            matches(m, &format!("{m}\\p{{Is{m}}}"), None),
            matches(m, &format!("{m}{{99999}}"), None),
            matches(m, m, Some("k")),
        ];
        for e in bad {
            let shown = e.unwrap_err().to_string();
            assert!(!shown.contains(m), "{shown}");
        }
        let shown = replace(m, m, &format!("${m}"), None)
            .unwrap_err()
            .to_string();
        assert!(!shown.contains(m), "{shown}");
    }

    #[test]
    fn base64() {
        assert_eq!(to_base64(""), "");
        assert_eq!(to_base64("f"), "Zg==");
        assert_eq!(to_base64("fo"), "Zm8=");
        assert_eq!(to_base64("foo"), "Zm9v");
        assert_eq!(to_base64("foob"), "Zm9vYg==");
        assert_eq!(to_base64("FEEL"), "RkVFTA==");
        assert_eq!(to_base64("ü"), "w7w=");
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_text_and_patterns_never_panic(
            s in "\\PC{0,30}", p in "\\PC{0,20}", r in "\\PC{0,10}", f in "[smixqg]{0,3}",
            start in proptest::num::i64::ANY, len in proptest::option::of(proptest::num::i64::ANY),
        ) {
            let _ = substring(&s, start, len);
            let _ = substring_before(&s, &p);
            let _ = substring_after(&s, &p);
            let _ = matches(&s, &p, Some(&f));
            let _ = replace(&s, &p, &r, Some(&f));
            let _ = split(&s, &p, Some(&f));
            let _ = extract(&s, &p);
            let _ = to_base64(&s);
        }

        #[test]
        fn regex_shaped_patterns_never_panic(
            s in "[a-c$\\\\()]{0,20}", p in "[a-c()|*+?{}\\[\\]\\\\^$.0-9,-]{0,16}", r in "[a-c$\\\\0-9]{0,8}",
        ) {
            let _ = matches(&s, &p, None);
            let _ = replace(&s, &p, &r, None);
            let _ = split(&s, &p, None);
        }

        #[test]
        fn substring_pieces_rebuild_the_string(s in "\\PC{0,20}", cut in 1i64..25) {
            let head = substring(&s, 1, Some(cut - 1)).unwrap();
            let tail = substring(&s, cut, None).unwrap();
            proptest::prop_assert_eq!(format!("{head}{tail}"), s);
        }
    }
}
