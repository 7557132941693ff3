//! Diagnostics about a file the user wrote: severity, message, labelled spans and notes,
//! rendered with the source line and a marker at `file:line:col` (via codespan-reporting).

use std::ops::Range;

use codespan_reporting::diagnostic::{Diagnostic as CsDiagnostic, Label};
use codespan_reporting::files;
use codespan_reporting::term;

use super::load::SourceFile;
use super::mask::Masked;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Warning,
    Error,
}

/// One finding about a file. Spans are byte ranges into the file's text.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub message: String,
    /// The place the finding is about, with a short label.
    pub primary: (Range<usize>, String),
    /// Other places that explain it (the first definition of a duplicate, …).
    pub secondary: Vec<(Range<usize>, String)>,
    pub notes: Vec<String>,
}

impl Diagnostic {
    pub fn error(span: Range<usize>, message: impl Into<String>, label: impl Into<String>) -> Self {
        Self::new(Severity::Error, span, message, label)
    }

    pub fn warning(
        span: Range<usize>,
        message: impl Into<String>,
        label: impl Into<String>,
    ) -> Self {
        Self::new(Severity::Warning, span, message, label)
    }

    fn new(
        severity: Severity,
        span: Range<usize>,
        message: impl Into<String>,
        label: impl Into<String>,
    ) -> Self {
        Diagnostic {
            severity,
            message: message.into(),
            primary: (span, label.into()),
            secondary: Vec::new(),
            notes: Vec::new(),
        }
    }

    pub fn with_secondary(mut self, span: Range<usize>, label: impl Into<String>) -> Self {
        self.secondary.push((span, label.into()));
        self
    }

    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = floor_char_boundary(text, offset.min(text.len()));
    let before = &text[..offset];
    let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, text[line_start..offset].chars().count() + 1)
}

fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Renders diagnostics of one file: the message, `file:line:col`, the source line and a marker.
/// This is the one place excerpts of a file are made: on the lines its `sensitivity` covers,
/// every literal is masked (`mask.rs`), markers still point at the right place and
/// `file:line:col` is that of the original text. Terminal-safe (`safe`): control and format
/// characters of the shown lines become U+FFFD (one each, so columns stay the file's), those of
/// the file's name and the messages are escaped; with `color` the only escape sequences in the
/// result are the colours added here.
pub fn render(src: &SourceFile, diagnostics: &[Diagnostic], color: bool) -> String {
    use crate::safe;
    let text = src.text.as_str();
    let file_name = safe::line(&src.name);
    let masked = Masked::new(text, &src.sensitivity);
    let (shown, moved) = safe::excerpt_mapped(&masked.text);
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
        };
        let (cs, columns) = to_codespan(&d, text, &masked, &moved);
        let file = MaskedFile::new(&file_name, &shown, columns);
        let result = if color {
            let mut writer = term::StylesWriter::new(term::termcolor::Ansi::new(&mut out), &styles);
            term::emit_to_write_style(&mut writer, &config, &file, &cs)
        } else {
            term::emit_to_io_write(&mut out, &config, &file, &cs)
        };
        if result.is_err() {
            // Rendering only fails on a span outside the file; fall back to a plain line.
            let (line, col) = line_col(text, d.primary.0.start);
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

/// The masked text as codespan sees it; `file:line:col` of each label start is the original's.
struct MaskedFile<'a> {
    name: &'a str,
    text: &'a str,
    line_starts: Vec<usize>,
    /// Masked offset of a label start → its column in the original text.
    columns: Vec<(usize, usize)>,
}

impl<'a> MaskedFile<'a> {
    fn new(name: &'a str, text: &'a str, columns: Vec<(usize, usize)>) -> Self {
        MaskedFile {
            name,
            text,
            line_starts: files::line_starts(text).collect(),
            columns,
        }
    }
}

impl<'a> files::Files<'a> for MaskedFile<'a> {
    type FileId = ();
    type Name = &'a str;
    type Source = &'a str;

    fn name(&'a self, (): ()) -> Result<&'a str, files::Error> {
        Ok(self.name)
    }

    fn source(&'a self, (): ()) -> Result<&'a str, files::Error> {
        Ok(self.text)
    }

    fn line_index(&'a self, (): (), byte_index: usize) -> Result<usize, files::Error> {
        Ok(self
            .line_starts
            .partition_point(|&s| s <= byte_index)
            .saturating_sub(1))
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
        Ok(files::column_index(self.text, range, byte_index) + 1)
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

/// The codespan diagnostic over the masked text, and the original column of each label start.
fn to_codespan(
    d: &Diagnostic,
    text: &str,
    masked: &Masked,
    moved: &[usize],
) -> (CsDiagnostic<()>, Vec<(usize, usize)>) {
    let base = match d.severity {
        Severity::Error => CsDiagnostic::error(),
        Severity::Warning => CsDiagnostic::warning(),
    };
    let mut columns = Vec::new();
    let mut label = |span: &Range<usize>| {
        let orig = clamp(span, text);
        let span = masked.map_span(&orig);
        let span = moved[span.start]..moved[span.end];
        if !columns.iter().any(|(b, _)| *b == span.start) {
            columns.push((span.start, line_col(text, orig.start).1));
        }
        span
    };
    let mut labels = vec![Label::primary((), label(&d.primary.0)).with_message(&d.primary.1)];
    for (s, m) in &d.secondary {
        labels.push(Label::secondary((), label(s)).with_message(m));
    }
    let cs = base
        .with_message(&d.message)
        .with_labels(labels)
        .with_notes(d.notes.clone());
    (cs, columns)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_are_one_based_and_count_characters() {
        let text = "ab\nçd\n";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 3), (2, 1));
        assert_eq!(line_col(text, 5), (2, 2));
        assert_eq!(line_col(text, 100), (3, 1));
    }

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
                    src.sensitivity = super::super::mask::Sensitivity::Data {
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

    #[test]
    fn out_of_range_spans_do_not_panic() {
        let d = Diagnostic::warning(50..80, "w", "l");
        let out = render(&SourceFile::from_text("w.json", "{}"), &[d], false);
        assert!(out.contains("warning"), "{out}");
    }
}
