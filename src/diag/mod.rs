//! Diagnostics about text the user wrote (workflow, `--input` and theme files, expressions): the
//! finding, its `line_col`, the one renderer, `did_you_mean`, `is_identifier`. A leaf (uses `safe`).
//!
//! - `source`: a file's text as read ([`SourceFile`], size and UTF-8 checks, [`ReadError`]);
//! - `render`: the one renderer (codespan-reporting): `file:line:col`, the source line and a
//!   marker; masked where the file may hold secrets, terminal-safe, long lines cut;
//! - `mask`: which literals of a secret-bearing file an excerpt hides ([`Sensitivity`]);
//! - `words`: "did you mean" and the identifier rule, the same for every caller.

mod mask;
mod render;
mod source;
mod words;

use std::ops::Range;

pub use mask::Sensitivity;
pub use render::render;
pub use source::{MAX_FILE_BYTES, ReadError, SourceFile};
pub use words::{did_you_mean, is_identifier, suggestion};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Warning,
    Error,
}

/// One finding about a file. Spans are byte ranges into the file's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub message: String,
    /// The place the finding is about, with a short label.
    pub primary: (Range<usize>, String),
    /// Other places that explain it (the first definition of a duplicate, …).
    pub secondary: Vec<(Range<usize>, String)>,
    pub notes: Vec<String>,
    /// An error that stops a run but not the drawing: a BPMN element wfop does not run, a task
    /// with no binding. `wfop graph` draws a workflow whose errors are all of this kind.
    pub run_only: bool,
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
            run_only: false,
        }
    }

    /// Marks the finding as one that stops a run but not `wfop graph` (see `run_only`).
    pub fn run_only(mut self) -> Self {
        self.run_only = true;
        self
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

/// 1-based line and column (in characters) of a byte offset. An offset past the end is the
/// end; one inside a character is that character; one on the `\n` of a `\r\n` is the `\r`, so
/// a column is at most one past the line's last character.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = floor_char_boundary(text, offset.min(text.len()));
    if text[offset..].starts_with('\n') && text[..offset].ends_with('\r') {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, text[line_start..offset].chars().count() + 1)
}

/// [`line_col`] for many offsets of one text: the line starts found once, each lookup a binary
/// search and a count of the characters before it on its line (a file with thousands of
/// findings renders in time linear in its size, not in size × findings).
pub struct Lines<'t> {
    text: &'t str,
    /// Byte offset of each line's first byte.
    starts: Vec<usize>,
}

impl<'t> Lines<'t> {
    pub fn new(text: &'t str) -> Self {
        let starts = std::iter::once(0)
            .chain(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1))
            .collect();
        Lines { text, starts }
    }

    /// The same as `line_col(text, offset)`.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let text = self.text;
        let mut offset = floor_char_boundary(text, offset.min(text.len()));
        if text[offset..].starts_with('\n') && text[..offset].ends_with('\r') {
            offset -= 1;
        }
        let line = self.starts.partition_point(|&s| s <= offset);
        let line_start = self.starts[line - 1];
        (line, text[line_start..offset].chars().count() + 1)
    }
}

/// The largest character boundary at or before `i` (`i` must be at most `text.len()`).
pub(crate) fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
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
        assert_eq!(line_col(text, 4), (2, 1), "inside `ç`");
        assert_eq!(line_col(text, 100), (3, 1));
    }

    #[test]
    fn lines_give_what_line_col_gives_at_every_offset() {
        for text in ["", "ab\nçd\n", "ab\r\ncd\r\n", "\n\n", "x", "é\r\n\r\nz"] {
            let lines = Lines::new(text);
            for offset in 0..text.len() + 3 {
                assert_eq!(
                    lines.line_col(offset),
                    line_col(text, offset),
                    "{text:?} {offset}"
                );
            }
        }
    }

    #[test]
    fn a_column_stays_on_its_line_with_crlf_endings() {
        let text = "ab\r\ncd\r\n";
        assert_eq!(line_col(text, 2), (1, 3), "the `\\r`");
        assert_eq!(line_col(text, 3), (1, 3), "the `\\n` of `\\r\\n`");
        assert_eq!(line_col(text, 4), (2, 1));
        assert_eq!(line_col("a\n", 1), (1, 2), "a lone `\\n`");
    }
}
