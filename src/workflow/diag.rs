//! Diagnostics about a file the user wrote: severity, message, labelled spans and notes,
//! rendered with the source line and a marker at `file:line:col` (via codespan-reporting).

use std::ops::Range;

use codespan_reporting::diagnostic::{Diagnostic as CsDiagnostic, Label};
use codespan_reporting::files::SimpleFile;
use codespan_reporting::term;

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
/// Terminal-safe (`ui::safe`): control and format characters of the file's lines are shown as
/// U+FFFD (one each, so lines and columns stay the file's; the spans move with them), those of
/// its name and the messages are escaped; with `color` the only escape sequences in the result
/// are the colours added here.
pub fn render(file_name: &str, text: &str, diagnostics: &[Diagnostic], color: bool) -> String {
    use crate::ui::safe;
    let (shown, map) = safe::excerpt_mapped(text);
    let moved = |r: &Range<usize>| {
        let r = clamp(r, text);
        map[r.start]..map[r.end]
    };
    let diagnostics: Vec<Diagnostic> = diagnostics
        .iter()
        .map(|d| Diagnostic {
            severity: d.severity,
            message: safe::text(&d.message).into_owned(),
            primary: (moved(&d.primary.0), safe::text(&d.primary.1).into_owned()),
            secondary: d
                .secondary
                .iter()
                .map(|(r, m)| (moved(r), safe::text(m).into_owned()))
                .collect(),
            notes: d.notes.iter().map(|n| safe::text(n).into_owned()).collect(),
        })
        .collect();
    let (file_name, text) = (&*safe::line(file_name), shown.as_str());
    let file = SimpleFile::new(file_name, text);
    let config = term::Config::default();
    let styles = term::Styles::default();
    let mut out = Vec::new();
    for d in &diagnostics {
        let cs = to_codespan(d, text);
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
                    severity_word(d),
                    d.message
                )
                .as_bytes(),
            );
        }
    }
    String::from_utf8_lossy(&out).into_owned()
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

fn to_codespan(d: &Diagnostic, text: &str) -> CsDiagnostic<()> {
    let base = match d.severity {
        Severity::Error => CsDiagnostic::error(),
        Severity::Warning => CsDiagnostic::warning(),
    };
    let mut labels = vec![Label::primary((), clamp(&d.primary.0, text)).with_message(&d.primary.1)];
    labels.extend(
        d.secondary
            .iter()
            .map(|(s, m)| Label::secondary((), clamp(s, text)).with_message(m)),
    );
    base.with_message(&d.message)
        .with_labels(labels)
        .with_notes(d.notes.clone())
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
        let out = render("w.json", text, &[d], false);
        assert!(
            out.contains("error: unknown field `lable`, did you mean `label`?"),
            "{out}"
        );
        assert!(out.contains("w.json:2:3"), "{out}");
        assert!(out.contains("  \"lable\": \"x\""), "{out}");
        assert!(out.contains("^^^^^^^ unknown field"), "{out}");
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
            let out = render("w\x1b.json", text, std::slice::from_ref(&d), color);
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
        let out = render("w.json", "{}", &[d], false);
        assert!(out.contains("warning"), "{out}");
    }
}
