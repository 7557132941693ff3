//! JSON text as the platform writes a service's input files: Python's `json.dumps(value,
//! indent=2)` (qhub-commons' `any_to_json`) — two-space indent, `", "`-free separators (`","` at
//! line ends, `": "` after keys), every character outside ASCII's printable range (DEL too) as a `\uXXXX` escape (UTF-16
//! surrogate pairs above U+FFFF), floats as Python's `repr` writes them (`1e+16`, `1e-07`,
//! `3.0`), key order as given. A `str` parameter gets this text as it is (docs/service-protocol.md),
//! so it must be the platform's to the byte.

use std::io::{self, Write};

use serde::Deserialize;
use serde_json::ser::{CharEscape, Formatter, PrettyFormatter};

/// A value's JSON text the way `json.dumps(value, indent=2)` writes it.
#[cfg(test)]
pub(crate) fn to_vec<T: serde::Serialize + ?Sized>(value: &T) -> Vec<u8> {
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut out, PyFormatter::new());
    // Serializing a `Value` (string keys only) into a `Vec` cannot fail.
    let _ = value.serialize(&mut ser);
    out
}

/// A JSON text re-written the way `json.dumps(json.loads(text), indent=2)` writes it, streamed
/// (no tree is built).
#[cfg(test)]
pub(crate) fn reformat(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() + text.len() / 4);
    write_reformatted(&mut out, text.as_bytes()).ok()?;
    Some(out)
}

/// Writes a JSON text the way `json.dumps(json.loads(text), indent=2)` writes it, as it is
/// read (no tree is built, nothing held whole). Text that is not JSON (never: an input's text
/// was checked when read, a value's was written by serde_json) is written as it is.
pub(crate) fn write_reformatted<W: Write>(out: &mut W, text: &[u8]) -> io::Result<()> {
    let mut probe = serde_json::Deserializer::from_slice(text);
    if serde::de::IgnoredAny::deserialize(&mut probe)
        .and_then(|_| probe.end())
        .is_err()
    {
        return out.write_all(text);
    }
    let mut de = serde_json::Deserializer::from_slice(text);
    let mut ser = serde_json::Serializer::with_formatter(&mut *out, PyFormatter::new());
    serde_transcode::transcode(&mut de, &mut ser).map_err(io::Error::other)
}

struct PyFormatter {
    pretty: PrettyFormatter<'static>,
}

impl PyFormatter {
    fn new() -> PyFormatter {
        PyFormatter {
            pretty: PrettyFormatter::with_indent(b"  "),
        }
    }
}

impl Formatter for PyFormatter {
    fn write_f64<W: ?Sized + Write>(&mut self, w: &mut W, value: f64) -> io::Result<()> {
        w.write_all(python_float(value).as_bytes())
    }

    fn write_f32<W: ?Sized + Write>(&mut self, w: &mut W, value: f32) -> io::Result<()> {
        self.write_f64(w, f64::from(value))
    }

    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            // Python escapes everything outside ' '..='~' (DEL too).
            if c.is_ascii() && c != '\x7f' {
                continue;
            }
            w.write_all(&fragment.as_bytes()[start..i])?;
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                write!(w, "\\u{u:04x}")?;
            }
            start = i + c.len_utf8();
        }
        w.write_all(&fragment.as_bytes()[start..])
    }

    fn write_char_escape<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        escape: CharEscape,
    ) -> io::Result<()> {
        // Python writes the same short escapes and `\u00XX` (lower-case hex) for the rest.
        self.pretty.write_char_escape(w, escape)
    }

    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.begin_array(w)
    }
    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.end_array(w)
    }
    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.pretty.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.end_array_value(w)
    }
    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.begin_object(w)
    }
    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.end_object(w)
    }
    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.pretty.begin_object_key(w, first)
    }
    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.end_object_value(w)
    }
}

/// Python's `repr(float)`: the shortest digits that read back as the same float, in fixed
/// notation when the decimal exponent is in -4..16 (always with a fraction: `3.0`), else as
/// `d.ddde±XX` (at least two exponent digits). Not finite: JSON has no form for it, and no
/// JSON text or FEEL value holds one.
fn python_float(v: f64) -> String {
    if !v.is_finite() {
        return "null".into();
    }
    // Rust's `{:e}` gives the shortest round-trip digits: `-1.2345e-7`, `0e0`.
    let sci = format!("{v:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    if (-4..16).contains(&exp) {
        let point = exp + 1; // digits before the decimal point
        let (int, frac) = if point <= 0 {
            (
                "0".to_string(),
                "0".repeat(point.unsigned_abs() as usize) + &digits,
            )
        } else if point as usize >= digits.len() {
            (
                digits.clone() + &"0".repeat(point as usize - digits.len()),
                String::new(),
            )
        } else {
            let (a, b) = digits.split_at(point as usize);
            (a.to_string(), b.to_string())
        };
        let frac = if frac.is_empty() { "0".into() } else { frac };
        format!("{sign}{int}.{frac}")
    } else {
        let (first, rest) = digits.split_at(1);
        let mant = if rest.is_empty() {
            first.to_string()
        } else {
            format!("{first}.{rest}")
        };
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{mant}e{esign}{:02}", exp.unsigned_abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn text(v: &serde_json::Value) -> String {
        String::from_utf8(to_vec(v)).unwrap()
    }

    #[test]
    fn floats_are_written_as_python_writes_them() {
        for (v, want) in [
            (3.0, "3.0"),
            (0.1, "0.1"),
            (-0.0, "-0.0"),
            (0.0, "0.0"),
            (1e16, "1e+16"),
            (1.5e16, "1.5e+16"),
            (1e15, "1000000000000000.0"),
            (123456.789, "123456.789"),
            (1e-4, "0.0001"),
            (1e-5, "1e-05"),
            (1.25e-7, "1.25e-07"),
            (2.5e300, "2.5e+300"),
            (f64::MAX, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
        ] {
            assert_eq!(python_float(v), want, "{v:e}");
        }
    }

    #[test]
    fn objects_keep_their_key_order_and_indent_by_two() {
        let v: serde_json::Value =
            serde_json::from_str(r#"{"b": 1, "a": [1, {"z": null, "y": true}], "e": {}, "f": []}"#)
                .unwrap();
        assert_eq!(
            text(&v),
            "{\n  \"b\": 1,\n  \"a\": [\n    1,\n    {\n      \"z\": null,\n      \"y\": true\n    }\n  ],\n  \"e\": {},\n  \"f\": []\n}"
        );
    }

    #[test]
    fn non_ascii_is_escaped_as_utf16_units() {
        assert_eq!(
            text(&json!("Zürich → 🚀 \u{7f}\u{1}\n\"\\/")),
            "\"Z\\u00fcrich \\u2192 \\ud83d\\ude80 \\u007f\\u0001\\n\\\"\\\\/\""
        );
    }

    #[test]
    fn a_text_is_reformatted_without_a_tree_the_same_as_its_value() {
        let raw = r#" { "q" : [1.0, 2e16, -0, 18446744073709551615, "ä"], "p": {"k": "v"} } "#;
        let v: serde_json::Value = serde_json::from_str(raw).unwrap();
        assert_eq!(String::from_utf8(reformat(raw).unwrap()).unwrap(), text(&v));
        // Not JSON (never an input's text): written as it is.
        assert_eq!(reformat("{").as_deref(), Some(&b"{"[..]));
        assert_eq!(reformat("1 2").as_deref(), Some(&b"1 2"[..]));
    }

    /// Differential: for random JSON values, wfop's text is Python's own `json.dumps(json.loads(
    /// compact), indent=2)` to the byte (python3 is there wherever wfop's services run; CI has it).
    #[test]
    fn random_values_are_written_byte_for_byte_as_python_writes_them() {
        use proptest::prelude::*;
        use proptest::strategy::ValueTree;
        use proptest::test_runner::TestRunner;

        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<u64>().prop_map(serde_json::Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(serde_json::Value::from),
            (-1e6f64..1e6).prop_map(serde_json::Value::from),
            any::<String>().prop_map(serde_json::Value::from),
            "[ -~\\u{80}-\\u{10ffff}]{0,8}".prop_map(serde_json::Value::from),
        ];
        let value = leaf.prop_recursive(4, 40, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::from),
                prop::collection::vec((any::<String>(), inner), 0..6)
                    .prop_map(|kv| { serde_json::Value::Object(kv.into_iter().collect()) }),
            ]
        });
        let mut runner = TestRunner::deterministic();
        let values: Vec<serde_json::Value> = (0..400)
            .map(|_| value.new_tree(&mut runner).unwrap().current())
            .collect();
        let lines: String = values.iter().map(|v| format!("{v}\n")).collect();
        let script = "import json,sys\nfor l in sys.stdin:\n    sys.stdout.write(json.dumps(json.loads(l), indent=2) + '\\0')\n";
        let out = std::process::Command::new("python3")
            .args(["-c", script])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                use std::io::Write as _;
                c.stdin.take().unwrap().write_all(lines.as_bytes())?;
                c.wait_with_output()
            })
            .expect("python3 runs");
        assert!(out.status.success());
        let python: Vec<&[u8]> = out.stdout.split(|&b| b == 0).collect();
        for (i, v) in values.iter().enumerate() {
            let compact = v.to_string();
            assert_eq!(
                String::from_utf8_lossy(&to_vec(v)),
                String::from_utf8_lossy(python[i]),
                "value {compact}"
            );
            assert_eq!(
                reformat(&compact).as_deref(),
                Some(python[i]),
                "text {compact}"
            );
        }
    }
}
