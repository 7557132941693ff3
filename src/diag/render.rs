//! The one diagnostic renderer (codespan-reporting): the message, `file:line:col`, the source
//! line and a marker, for workflow, `--input` and theme files and for expressions alike.

use std::ops::Range;

use codespan_reporting::diagnostic::{Diagnostic as CsDiagnostic, Label};
use codespan_reporting::files;
use codespan_reporting::term;

use super::mask::Masked;
use super::{Diagnostic, Lines, Severity, SourceFile, floor_char_boundary};
use crate::safe;

/// At most this many characters of a source line are shown; a longer line is cut around the
/// primary marker (`…` at a cut), so a one-line 30 MB file stays readable.
pub const EXCERPT_CHARS: usize = 160;

/// Renders diagnostics of one file: the message, `file:line:col`, the source line and a marker.
/// This is the one place excerpts of a file are made: on the lines its `sensitivity` covers,
/// every literal is masked (`mask.rs`), markers still point at the right place and
/// `file:line:col` is that of the original text. Terminal-safe (`safe`): control and format
/// characters of the shown lines become U+FFFD (one each, so columns stay the file's), those of
/// the file's name and the messages are escaped; with `color` the only escape sequences in the
/// result are the colours added here. Lines longer than [`EXCERPT_CHARS`] are cut.
pub fn render(src: &SourceFile, diagnostics: &[Diagnostic], color: bool) -> String {
    // Nothing to show: no masked copy and offset map of the whole file (2 MB of a 10 000-node
    // workflow is a 17 MB map).
    if diagnostics.is_empty() {
        return String::new();
    }
    let text = src.text.as_str();
    let file_name = safe::line(&src.name);
    let masked = Masked::new(text, &src.sensitivity);
    let (shown, moved) = safe::excerpt_mapped(&masked.text);
    let line_starts: Vec<usize> = files::line_starts(&shown).collect();
    let lines = Lines::new(text);
    let config = term::Config::default();
    let styles = term::Styles::default();
    let mut out = Vec::new();
    for d in diagnostics {
        let d = Diagnostic {
            severity: d.severity,
            message: safe::text(&d.message).into_owned(),
            primary: (d.primary.0.clone(), safe::text(&d.primary.1).into_owned()),
            secondary: d
                .secondary
                .iter()
                .map(|(r, m)| (r.clone(), safe::text(m).into_owned()))
                .collect(),
            notes: d.notes.iter().map(|n| safe::text(n).into_owned()).collect(),
            run_only: d.run_only,
        };
        // Each label's span in the shown text, and the original column of its start.
        let labels: Vec<(Range<usize>, usize)> = std::iter::once(&d.primary.0)
            .chain(d.secondary.iter().map(|(r, _)| r))
            .map(|span| {
                let orig = clamp(span, text);
                let span = masked.map_span(&orig);
                (
                    moved[span.start]..moved[span.end],
                    lines.line_col(orig.start).1,
                )
            })
            .collect();
        let excerpt = Excerpt::new(&file_name, &shown, &line_starts, &labels);
        let cs = to_codespan(&d, &excerpt.spans);
        let result = if color {
            let mut writer = term::StylesWriter::new(term::termcolor::Ansi::new(&mut out), &styles);
            term::emit_to_write_style(&mut writer, &config, &excerpt, &cs)
        } else {
            term::emit_to_io_write(&mut out, &config, &excerpt, &cs)
        };
        if result.is_err() {
            // Rendering only fails on a span outside the file; fall back to a plain line.
            let (line, col) = lines.line_col(d.primary.0.start);
            out.extend_from_slice(
                format!(
                    "{}: {file_name}:{line}:{col}: {}\n",
                    severity_word(&d),
                    d.message
                )
                .as_bytes(),
            );
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The lines one diagnostic shows (from its first label's line to its last's), each cut to at
/// most [`EXCERPT_CHARS`] characters, as codespan sees them: line numbers and the columns of
/// label starts are the original file's.
struct Excerpt<'a> {
    name: &'a str,
    text: String,
    line_starts: Vec<usize>,
    /// Index of the excerpt's first line in the file.
    first_line: usize,
    /// Each label's span in `text`.
    spans: Vec<Range<usize>>,
    /// Excerpt offset of a label start → its column in the original text.
    columns: Vec<(usize, usize)>,
}

/// How one line of the shown text appears in the excerpt.
struct CutLine {
    /// The kept bytes of the shown text.
    keep: Range<usize>,
    /// Where they start in the excerpt (after a leading `…`).
    at: usize,
}

impl<'a> Excerpt<'a> {
    fn new(
        name: &'a str,
        shown: &str,
        line_starts: &[usize],
        labels: &[(Range<usize>, usize)],
    ) -> Self {
        let line_of = |offset: usize| {
            line_starts
                .partition_point(|&s| s <= offset)
                .saturating_sub(1)
        };
        let first_line = labels
            .iter()
            .map(|(s, _)| line_of(s.start))
            .min()
            .unwrap_or(0);
        let last_line = labels
            .iter()
            .map(|(s, _)| line_of(s.end))
            .max()
            .unwrap_or(0);
        let mut text = String::new();
        let mut cuts = Vec::with_capacity(last_line + 1 - first_line);
        for index in first_line..=last_line {
            let start = line_starts[index];
            let end = line_starts.get(index + 1).map_or(shown.len(), |&e| e - 1);
            // The window of a long line is around the primary label's start, else its end,
            // else the first point of another label on the line.
            let on_line = |p: &usize| (start..=end).contains(p);
            let primary = labels.first().map(|(s, _)| [s.start, s.end]);
            let others = labels.iter().skip(1).flat_map(|(s, _)| [s.start, s.end]);
            let anchor = primary
                .into_iter()
                .flatten()
                .find(on_line)
                .or_else(|| others.filter(on_line).min())
                .unwrap_or(start);
            let keep = window(shown, start..end, anchor);
            if index > first_line {
                text.push('\n');
            }
            if keep.start > start {
                text.push('…');
            }
            cuts.push(CutLine {
                keep: keep.clone(),
                at: text.len(),
            });
            text.push_str(&shown[keep.clone()]);
            if keep.end < end {
                text.push('…');
            }
        }
        let place = |offset: usize| {
            let cut = &cuts[line_of(offset) - first_line];
            cut.at + offset.clamp(cut.keep.start, cut.keep.end) - cut.keep.start
        };
        let mut columns: Vec<(usize, usize)> = Vec::new();
        let spans = labels
            .iter()
            .map(|(span, col)| {
                let start = place(span.start);
                if !columns.iter().any(|(b, _)| *b == start) {
                    columns.push((start, *col));
                }
                start..place(span.end).max(start)
            })
            .collect();
        Excerpt {
            name,
            line_starts: files::line_starts(&text).collect(),
            text,
            first_line,
            spans,
            columns,
        }
    }
}

/// The bytes of `line` (a range of `shown`) kept in an excerpt: all of it when it is short,
/// else [`EXCERPT_CHARS`] characters around `anchor`.
fn window(shown: &str, line: Range<usize>, anchor: usize) -> Range<usize> {
    let body = &shown[line.clone()];
    let chars = body.chars().count();
    if chars <= EXCERPT_CHARS {
        return line;
    }
    let anchor_chars = body[..anchor - line.start].chars().count();
    let first = anchor_chars
        .saturating_sub(EXCERPT_CHARS / 2)
        .min(chars - EXCERPT_CHARS);
    let byte = |n: usize| body.char_indices().nth(n).map_or(body.len(), |(i, _)| i);
    line.start + byte(first)..line.start + byte(first + EXCERPT_CHARS)
}

impl<'a> files::Files<'a> for Excerpt<'a> {
    type FileId = ();
    type Name = &'a str;
    type Source = &'a str;

    fn name(&'a self, (): ()) -> Result<&'a str, files::Error> {
        Ok(self.name)
    }

    fn source(&'a self, (): ()) -> Result<&'a str, files::Error> {
        Ok(&self.text)
    }

    fn line_index(&'a self, (): (), byte_index: usize) -> Result<usize, files::Error> {
        Ok(self
            .line_starts
            .partition_point(|&s| s <= byte_index)
            .saturating_sub(1))
    }

    fn line_number(&'a self, (): (), line_index: usize) -> Result<usize, files::Error> {
        Ok(self.first_line + line_index + 1)
    }

    fn line_range(&'a self, (): (), line_index: usize) -> Result<Range<usize>, files::Error> {
        let start = |i: usize| -> Result<usize, files::Error> {
            match i.cmp(&self.line_starts.len()) {
                std::cmp::Ordering::Less => Ok(self.line_starts[i]),
                std::cmp::Ordering::Equal => Ok(self.text.len()),
                std::cmp::Ordering::Greater => Err(files::Error::LineTooLarge {
                    given: i,
                    max: self.line_starts.len() - 1,
                }),
            }
        };
        Ok(start(line_index)?..start(line_index + 1)?)
    }

    fn column_number(
        &'a self,
        (): (),
        line_index: usize,
        byte_index: usize,
    ) -> Result<usize, files::Error> {
        if let Some(&(_, col)) = self.columns.iter().find(|(b, _)| *b == byte_index) {
            return Ok(col);
        }
        let range = self.line_range((), line_index)?;
        Ok(files::column_index(&self.text, range, byte_index) + 1)
    }
}

fn severity_word(d: &Diagnostic) -> &'static str {
    match d.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

fn clamp(span: &Range<usize>, text: &str) -> Range<usize> {
    let start = floor_char_boundary(text, span.start.min(text.len()));
    let end = floor_char_boundary(text, span.end.min(text.len())).max(start);
    start..end
}

/// The codespan diagnostic, with its labels at `spans` (primary first, then the secondaries).
fn to_codespan(d: &Diagnostic, spans: &[Range<usize>]) -> CsDiagnostic<()> {
    let base = match d.severity {
        Severity::Error => CsDiagnostic::error(),
        Severity::Warning => CsDiagnostic::warning(),
    };
    let mut labels = vec![Label::primary((), spans[0].clone()).with_message(&d.primary.1)];
    for ((_, m), span) in d.secondary.iter().zip(&spans[1..]) {
        labels.push(Label::secondary((), span.clone()).with_message(m));
    }
    base.with_message(&d.message)
        .with_labels(labels)
        .with_notes(d.notes.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::line_col;

    #[test]
    fn renders_file_line_col_source_line_and_marker() {
        let text = "{\n  \"lable\": \"x\"\n}\n";
        let d = Diagnostic::error(
            4..11,
            "unknown field `lable`, did you mean `label`?",
            "unknown field",
        );
        let out = render(&SourceFile::from_text("w.json", text), &[d], false);
        assert!(
            out.contains("error: unknown field `lable`, did you mean `label`?"),
            "{out}"
        );
        assert!(out.contains("w.json:2:3"), "{out}");
        assert!(out.contains("  \"lable\": \"x\""), "{out}");
        assert!(out.contains("^^^^^^^ unknown field"), "{out}");
    }

    /// Excerpts of a data file never show a planted value, wherever it sits (a string, a key,
    /// a bare word, a number, an unterminated string, after escapes) and wherever the
    /// diagnostic points; `file:line:col` is the original's.
    #[test]
    fn data_file_excerpts_never_show_a_planted_value() {
        use proptest::prelude::*;
        use proptest::test_runner::{Config, TestRunner};
        let mut runner = TestRunner::new(Config::with_cases(400));
        let shapes = [
            "{ \"$secrets\": { \"api\": \"V\" } }",
            "{ \"$secrets\": { \"V\": \"api\" } }",
            "{\n  \"$secrets\": { \"api\": V }\n}",
            "{ \"a\": [1, \"x\\\"V\"], \"b\": \"é\\u00e9V",
            "{ \"n\": 1V2 }",
            "{ \"$secrets\": {\n \"api\": \"V\"\n",
            "[\"V\\q\", 'V']",
        ];
        runner
            .run(
                &(
                    "[A-Za-z0-9_+/=-]{6,24}",
                    0..shapes.len(),
                    0usize..200,
                    0usize..40,
                ),
                |(value, shape, start, len)| {
                    let text = shapes[shape].replace('V', &value);
                    let start = start.min(text.len());
                    let d = Diagnostic::error(start..start + len, "msg", "label")
                        .with_secondary(0..1, "other");
                    let mut src = SourceFile::from_text("in.json", &text);
                    src.sensitivity = crate::diag::Sensitivity::Data {
                        keep: vec!["$secrets".into(), "api".into()],
                    };
                    let out = render(&src, &[d], false);
                    prop_assert!(!out.contains(&value), "{out}");
                    let (line, col) = line_col(&text, floor_char_boundary(&text, start));
                    let at = format!("in.json:{line}:{col}");
                    prop_assert!(out.contains(&at), "want {at} in {out}");
                    Ok(())
                },
            )
            .unwrap();
    }

    #[test]
    fn control_characters_of_the_file_and_the_messages_are_escaped() {
        let text = "{\n  \"name\": \"\x1b]52;c;eA==\x07\u{9b}\u{202e}\", \"lable\": 1\n}\n";
        let at = text.find("\"lable\"").unwrap();
        let d = Diagnostic::error(
            at..at + 7,
            "unknown field `\x1b[2J`",
            "unknown \u{9d} field",
        );
        for color in [false, true] {
            let out = render(
                &SourceFile::from_text("w\x1b.json", text),
                std::slice::from_ref(&d),
                color,
            );
            let escapes = out.matches('\x1b').count();
            let colours = out.matches("\x1b[").count();
            assert_eq!(escapes, colours, "only colour sequences: {out:?}");
            assert!(
                !out.contains('\u{9b}') && !out.contains('\u{9d}') && !out.contains('\u{202e}')
            );
            if !color {
                assert!(
                    out.contains("\u{fffd}]52;c;eA==\u{fffd}\u{fffd}\u{fffd}")
                        && out.contains("w\\x1b.json:2:"),
                    "{out}"
                );
                // The marker still sits under the field.
                let src = out.lines().find(|l| l.contains("lable")).unwrap();
                let mark = out.lines().find(|l| l.contains("^^^^^^^")).unwrap();
                let col = |l: &str, i: Option<usize>| i.map(|i| l[..i].chars().count());
                assert_eq!(
                    col(src, src.find("\"lable\"")),
                    col(mark, mark.find('^')),
                    "{out}"
                );
            }
        }
    }

    /// A finding deep into a long line shows a cut of the line around it, with the marker under
    /// the field and the original `line:col`; the rest of the line is not shown.
    #[test]
    fn long_lines_are_cut_around_the_marker() {
        let text = format!("{{\"a\": \"{}\", \"lable\": 1}}\n", "x".repeat(100_000));
        let at = text.find("\"lable\"").unwrap();
        let d = Diagnostic::error(at..at + 7, "unknown field", "here")
            .with_secondary(0..1, "the object");
        let out = render(&SourceFile::from_text("w.json", &text), &[d], false);
        assert!(out.len() < 2_000, "{} bytes", out.len());
        assert!(out.contains(&format!("w.json:1:{}", at + 1)), "{out}");
        let src = out.lines().find(|l| l.contains("\"lable\"")).unwrap();
        assert!(src.contains('…'), "{out}");
        let mark = out.lines().find(|l| l.contains("^^^^^^^")).unwrap();
        let col = |l: &str, i: Option<usize>| i.map(|i| l[..i].chars().count());
        assert_eq!(
            col(src, src.find("\"lable\"")),
            col(mark, mark.find('^')),
            "{out}"
        );
        // A span as long as the line is marked across the cut only.
        let d = Diagnostic::error(0..text.len(), "m", "l");
        let out = render(&SourceFile::from_text("w.json", &text), &[d], false);
        assert!(out.len() < 2_000, "{} bytes", out.len());
    }

    #[test]
    fn line_numbers_are_the_files() {
        let text = "a\nb\nc\nd\ne\n";
        let d = Diagnostic::error(4..5, "m", "l").with_secondary(6..7, "other");
        let out = render(&SourceFile::from_text("f", text), &[d], false);
        assert!(
            out.contains("f:3:1") && out.contains("3 │ c") && out.contains("4 │ d"),
            "{out}"
        );
        assert!(!out.contains("│ a") && !out.contains("│ e"), "{out}");
    }

    #[test]
    fn out_of_range_spans_do_not_panic() {
        let d = Diagnostic::warning(50..80, "w", "l");
        let out = render(&SourceFile::from_text("w.json", "{}"), &[d], false);
        assert!(out.contains("warning"), "{out}");
    }
}
