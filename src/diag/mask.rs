//! Masking for excerpts of files that may hold secret values: on the lines it covers, every
//! string and number literal (and any other bare word) is shown as `•••`, structure kept.

use std::ops::Range;

/// What every masked literal is shown as: a fixed mask, so that not even a value's length shows.
pub const MASK: &str = "•••";

/// Which lines of a file may hold secret values, and which words on them are known to be
/// public (names the workflow itself declares) and may stay.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Sensitivity {
    /// An ordinary file: excerpts are shown as they are.
    #[default]
    None,
    /// A data file (`--input`): every line; JSON strings (`"…"`) are masked as a whole.
    Data { keep: Vec<String> },
    /// A workflow: the lines touching these byte ranges (its `$secrets` rows). On them a JSON
    /// string is code (a FEEL expression), so its words are masked one by one and an escaped
    /// `\"…\"` string inside it as a whole.
    Rows {
        ranges: Vec<Range<usize>>,
        keep: Vec<String>,
    },
}

/// One masked stretch: its bytes in the original text and in the masked text.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Unit {
    orig: Range<usize>,
    masked: Range<usize>,
}

/// A file's text with its sensitive literals masked, and the map of offsets between the two.
/// Line breaks are never masked, so line numbers are the same in both.
#[derive(Debug, Clone)]
pub struct Masked {
    pub text: String,
    units: Vec<Unit>,
}

impl Masked {
    /// The text as it is (nothing masked).
    pub fn plain(text: &str) -> Masked {
        Masked {
            text: text.to_string(),
            units: Vec::new(),
        }
    }

    /// Masks `text` as `sensitivity` says.
    pub fn new(text: &str, sensitivity: &Sensitivity) -> Masked {
        let (keep, code, lines): (&[String], bool, Option<Vec<bool>>) = match sensitivity {
            Sensitivity::None => return Masked::plain(text),
            Sensitivity::Data { keep } => (keep, false, None),
            Sensitivity::Rows { ranges, keep } => (keep, true, Some(lines_touched(text, ranges))),
        };
        let mut m = Masked {
            text: String::with_capacity(text.len()),
            units: Vec::new(),
        };
        let mut start = 0;
        for (i, line) in text.split_inclusive('\n').enumerate() {
            if lines
                .as_ref()
                .is_none_or(|l| l.get(i).copied().unwrap_or(false))
            {
                let body = line.trim_end_matches(['\n', '\r']);
                m.mask_line(body, start, code, keep);
                m.text.push_str(&line[body.len()..]);
            } else {
                m.text.push_str(line);
            }
            start += line.len();
        }
        m
    }

    /// Maps the start of a span in the original text: inside a masked stretch, its start.
    pub fn map_start(&self, orig: usize) -> usize {
        let i = self.units.partition_point(|u| u.orig.start <= orig);
        match i.checked_sub(1).map(|k| &self.units[k]) {
            None => orig,
            Some(u) if orig < u.orig.end => u.masked.start,
            Some(u) => u.masked.end + (orig - u.orig.end),
        }
    }

    /// Maps the end of a span in the original text: inside a masked stretch, its end.
    pub fn map_end(&self, orig: usize) -> usize {
        let i = self.units.partition_point(|u| u.orig.start < orig);
        match i.checked_sub(1).map(|k| &self.units[k]) {
            None => orig,
            Some(u) if orig <= u.orig.end => u.masked.end,
            Some(u) => u.masked.end + (orig - u.orig.end),
        }
    }

    pub fn map_span(&self, span: &Range<usize>) -> Range<usize> {
        let start = self.map_start(span.start);
        start..self.map_end(span.end).max(start)
    }

    /// Appends `word` as it is when it is public, else the mask.
    fn word(&mut self, word: &str, at: usize, keep: &[String]) {
        if word.is_empty()
            || matches!(word, "true" | "false" | "null")
            || keep.iter().any(|k| k == word)
        {
            self.text.push_str(word);
            return;
        }
        let masked_start = self.text.len();
        self.text.push_str(MASK);
        self.units.push(Unit {
            orig: at..at + word.len(),
            masked: masked_start..self.text.len(),
        });
    }

    /// Masks one line (`base` is its offset in the file). Structure (`{}[]:,()`, quotes,
    /// whitespace) stays; strings are masked as a whole; every other word on its own.
    fn mask_line(&mut self, line: &str, base: usize, code: bool, keep: &[String]) {
        let is_punct = |c: char| c.is_whitespace() || "{}[]:,()".contains(c);
        let mut i = 0;
        while i < line.len() {
            let rest = &line[i..];
            let Some(c) = rest.chars().next() else { break };
            if is_punct(c) {
                self.text.push(c);
                i += c.len_utf8();
            } else if code && rest.starts_with("\\\"") {
                // A string inside the expression, written `\"…\"` in the JSON text.
                self.text.push_str("\\\"");
                let body = &rest[2..];
                let end = body.find("\\\"").unwrap_or(body.len());
                self.word(&body[..end], base + i + 2, keep);
                i += 2 + end;
                if end < body.len() {
                    self.text.push_str("\\\"");
                    i += 2;
                }
            } else if !code && c == '"' {
                self.text.push('"');
                let body = &rest[1..];
                let end = json_string_end(body);
                self.word(&body[..end], base + i + 1, keep);
                i += 1 + end;
                if end < body.len() {
                    self.text.push('"');
                    i += 1;
                }
            } else if code && (c == '"' || c == '\\') {
                self.text.push(c);
                i += 1;
            } else {
                let end = rest
                    .find(|c: char| is_punct(c) || c == '"' || (code && c == '\\'))
                    .unwrap_or(rest.len())
                    .max(c.len_utf8());
                self.word(&rest[..end], base + i, keep);
                i += end;
            }
        }
    }
}

/// Where a JSON string body ends: the byte of its closing quote, or the end of the line.
fn json_string_end(body: &str) -> usize {
    let bytes = body.as_bytes();
    let mut k = 0;
    while k < bytes.len() {
        match bytes[k] {
            b'"' => return k,
            // An escape: skip the next character whole (it may be several bytes long).
            b'\\' => {
                k += 1;
                while k < bytes.len() && !body.is_char_boundary(k + 1) {
                    k += 1;
                }
                k += 1;
            }
            b'\n' | b'\r' => return k,
            _ => k += 1,
        }
    }
    bytes.len().min(body.len())
}

/// Per line of `text`: does any of `ranges` touch it?
fn lines_touched(text: &str, ranges: &[Range<usize>]) -> Vec<bool> {
    let starts: Vec<usize> = std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    let line_of = |o: usize| starts.partition_point(|&s| s <= o).saturating_sub(1);
    let mut lines = vec![false; starts.len()];
    for r in ranges {
        let (a, b) = (line_of(r.start), line_of(r.end.max(r.start)));
        for l in lines.iter_mut().take(b + 1).skip(a) {
            *l = true;
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(text: &str, keep: &[&str]) -> Masked {
        Masked::new(
            text,
            &Sensitivity::Data {
                keep: keep.iter().map(|s| s.to_string()).collect(),
            },
        )
    }

    #[test]
    fn data_files_keep_structure_and_public_words_only() {
        let m = data(
            "{ \"$secrets\": { \"tok\": \"hunter2-very\", \"n\": 12345 }, \"ok\": true }\n",
            &["$secrets", "tok"],
        );
        assert_eq!(
            m.text,
            "{ \"$secrets\": { \"tok\": \"•••\", \"•••\": ••• }, \"•••\": true }\n"
        );
        // Unquoted and unterminated values, escapes, non-ASCII.
        let m = data(
            "{\"a\": hunter2, \"b\": \"x\\\"y\\u00e9é\", \"c\": \"open\n",
            &[],
        );
        assert_eq!(m.text, "{\"•••\": •••, \"•••\": \"•••\", \"•••\": \"•••\n");
        assert!(!m.text.contains("hunter2") && !m.text.contains("open"));
    }

    #[test]
    fn offsets_map_around_and_into_masked_literals() {
        let text = "{\"k\": \"abcdefgh\" true}";
        let m = data(text, &["k"]);
        assert_eq!(m.text, "{\"k\": \"•••\" true}");
        let x = text.find('t').unwrap();
        assert_eq!(&m.text[m.map_span(&(x..x + 4))], "true");
        // A span inside the literal points at the whole mask.
        let inside = text.find("cd").unwrap();
        assert_eq!(&m.text[m.map_span(&(inside..inside + 2))], MASK);
        // The whole string literal, quotes included.
        let s = text.find("\"abc").unwrap();
        assert_eq!(&m.text[m.map_span(&(s..s + 10))], "\"•••\"");
    }

    #[test]
    fn workflow_rows_mask_words_of_the_expression_on_their_lines_only() {
        let text = "{ \"a\": \"visible-text\",\n  { \"name\": \"$secrets\", \"value\": \"{ \\\"tok\\\": \\\"pasted value\\\", t2: sk-live-9 }\" }\n}";
        let row = text.find("{ \"name\"").unwrap();
        let m = Masked::new(
            text,
            &Sensitivity::Rows {
                ranges: std::iter::once(row..row + 3).collect(),
                keep: ["name", "value", "$secrets", "tok", "t2"]
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
            },
        );
        assert!(m.text.contains("visible-text"), "{}", m.text);
        assert!(
            m.text.contains(
                "{ \"name\": \"$secrets\", \"value\": \"{ \\\"tok\\\": \\\"•••\\\", t2: ••• }\" }"
            ),
            "{}",
            m.text
        );
    }

    #[test]
    fn never_panics_and_keeps_line_breaks() {
        for text in ["\"", "\"\\", "\"\\é", "é\"\\\"", "\\\"", "{\n\"a\\\n\"\n}"] {
            for s in [
                Sensitivity::Data { keep: vec![] },
                Sensitivity::Rows {
                    ranges: std::iter::once(0..text.len()).collect(),
                    keep: vec![],
                },
            ] {
                let m = Masked::new(text, &s);
                assert_eq!(m.text.matches('\n').count(), text.matches('\n').count());
                for o in 0..=text.len() {
                    assert!(m.map_start(o) <= m.text.len() && m.map_end(o) <= m.text.len());
                }
            }
        }
    }
}
