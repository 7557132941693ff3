//! What the operator types or pastes at the plain prompt, byte by byte, made into one value:
//! line editing, bracketed paste, and where the value ends. Pure; the terminal is `prompt.rs`.
//!
//! The rule (the same as the TUI's masked field): **a paste is one value, line breaks included;
//! an Enter you type ends it.** A bracketed paste (`ESC[200~ … ESC[201~`) goes in as it is, its
//! line breaks (`\r`, `\r\n`, `\n`) as `\n`, one trailing line break dropped; it never ends the
//! value. Without brackets, an Enter that more input follows at once (the rest of the same burst
//! of bytes) is a line break of the value; an Enter with nothing after it ends the value. The
//! caller decides "at once" ([`Answer::pending_enter`], then [`Answer::finish`]).

use secrecy::SecretString;
use zeroize::Zeroizing;

use super::input::{InputError, SecretInput};

const PASTE_START: &[u8] = b"\x1b[200~";
const PASTE_END: &[u8] = b"\x1b[201~";

/// What one byte did.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    Continue,
    /// Ctrl-C, or Ctrl-D on an empty value.
    Cancel,
}

/// Why a finished answer is not a value.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum AnswerError {
    #[error("the value is not UTF-8 text")]
    NotUtf8,
    #[error("the value is longer than 1 MiB")]
    TooLong,
    #[error("an empty value is not a secret")]
    Blank,
}

/// One answer being typed.
pub struct Answer {
    value: SecretInput,
    /// Inside a bracketed paste.
    pasting: bool,
    /// An escape sequence being read (outside a paste), or a possible paste end (inside one).
    esc: Zeroizing<Vec<u8>>,
    /// An Enter was typed; it ends the value unless more input follows at once.
    pending_enter: bool,
    /// The last byte was a CR (a following LF belongs to it).
    after_cr: bool,
    too_long: bool,
}

impl std::fmt::Debug for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Answer")
            .field("value", &"[redacted]")
            .finish()
    }
}

impl Default for Answer {
    fn default() -> Self {
        Answer {
            value: SecretInput::new(),
            pasting: false,
            esc: Zeroizing::new(Vec::with_capacity(16)),
            pending_enter: false,
            after_cr: false,
            too_long: false,
        }
    }
}

impl Answer {
    /// True when an Enter was typed and nothing has come after it yet: if nothing follows at
    /// once, the caller ends the value with [`Answer::finish`].
    pub fn pending_enter(&self) -> bool {
        self.pending_enter
    }

    /// One byte from the terminal.
    pub fn feed(&mut self, b: u8) -> Step {
        let after_cr = std::mem::take(&mut self.after_cr);
        if self.pasting {
            self.feed_paste(b, after_cr);
            return Step::Continue;
        }
        if b == b'\n' && after_cr && self.pending_enter {
            // The LF of a CR LF: one Enter.
            return Step::Continue;
        }
        if !self.esc.is_empty() {
            self.feed_escape(b);
            return Step::Continue;
        }
        if self.pending_enter && b != 0x03 {
            // More input came right after the Enter: it was a line break of pasted text.
            self.pending_enter = false;
            self.push(b'\n');
        }
        match b {
            0x03 => return Step::Cancel,
            0x04 if self.value.is_empty() => return Step::Cancel,
            b'\r' | b'\n' => {
                self.pending_enter = true;
                self.after_cr = b == b'\r';
            }
            0x7f | 0x08 => self.backspace(),
            0x15 => self.clear(),
            0x1b => self.esc.push(b),
            b'\t' => self.push(b),
            0x00..=0x1f => {}
            _ => self.push(b),
        }
        Step::Continue
    }

    /// Ends the value. Errors leave nothing behind (the bytes are zeroized).
    pub fn finish(mut self) -> Result<SecretString, AnswerError> {
        if self.too_long {
            return Err(AnswerError::TooLong);
        }
        let value = self.value.take().map_err(|e| match e {
            InputError::TooLong => AnswerError::TooLong,
            InputError::NotUtf8 => AnswerError::NotUtf8,
        })?;
        if secrecy::ExposeSecret::expose_secret(&value)
            .trim()
            .is_empty()
        {
            return Err(AnswerError::Blank);
        }
        Ok(value)
    }

    fn feed_paste(&mut self, b: u8, after_cr: bool) {
        if !self.esc.is_empty() || b == 0x1b {
            self.esc.push(b);
            if self.esc.as_slice() == PASTE_END {
                self.esc.clear();
                self.pasting = false;
                // One trailing line break of the pasted text is not part of the value.
                if self.value.last_byte() == Some(b'\n') {
                    self.value.pop_byte();
                }
            } else if !PASTE_END.starts_with(&self.esc) {
                // Not the end: the bytes were pasted text (a new ESC may start the end).
                let held = Zeroizing::new(std::mem::take(&mut *self.esc));
                let (last, rest) = held.split_last().unwrap_or((&0, &[]));
                for &c in rest {
                    self.push(c);
                }
                if *last == 0x1b {
                    self.esc.push(0x1b);
                } else {
                    self.push(*last);
                }
            }
            return;
        }
        match b {
            b'\r' => {
                self.push(b'\n');
                self.after_cr = true;
            }
            b'\n' if after_cr => {}
            _ => self.push(b),
        }
    }

    fn feed_escape(&mut self, b: u8) {
        self.esc.push(b);
        let seq = self.esc.as_slice();
        if seq == PASTE_START {
            self.esc.clear();
            if self.pending_enter {
                self.pending_enter = false;
                self.push(b'\n');
            }
            self.pasting = true;
            return;
        }
        // Any other key sequence (arrows, function keys, Alt-x) is not part of a value.
        let done = match seq {
            [0x1b, b'['] | [0x1b, b'O'] => false,
            [0x1b, b'[', .., last] => (0x40..=0x7e).contains(last) || seq.len() > 16,
            [0x1b, b'O', _] => true,
            _ => true,
        };
        if done {
            self.esc.clear();
        }
    }

    fn backspace(&mut self) {
        self.value.pop_char();
    }

    fn clear(&mut self) {
        self.value.clear();
    }

    fn push(&mut self, b: u8) {
        // The buffer grows by moving to a bigger wiped block (`SecretInput`).
        if self.value.push_bytes(&[b]).is_err() {
            self.too_long = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    /// Feeds `input` as one burst (every Enter but a last one is followed by more); returns
    /// the value if the burst ended it, and whether a cancel was seen.
    fn burst(a: &mut Answer, input: &[u8]) -> Step {
        for &b in input {
            if a.feed(b) == Step::Cancel {
                return Step::Cancel;
            }
        }
        Step::Continue
    }

    fn typed(input: &[u8]) -> Option<String> {
        let mut a = Answer::default();
        if burst(&mut a, input) == Step::Cancel {
            return None;
        }
        assert!(a.pending_enter(), "the burst ends with an Enter");
        a.finish().ok().map(|s| s.expose_secret().to_string())
    }

    const PEM: &str = "-----BEGIN TEST KEY-----\nQUJDREVGR0g=\n-----END TEST KEY-----";

    #[test]
    fn a_typed_line_ends_at_enter() {
        assert_eq!(typed(b"hunter2\r").as_deref(), Some("hunter2"));
        assert_eq!(typed(b"hunter2\n").as_deref(), Some("hunter2"));
        assert_eq!(typed(b"hunter2\r\n").as_deref(), Some("hunter2"));
    }

    #[test]
    fn editing_keys_edit_and_other_keys_are_ignored() {
        assert_eq!(typed(b"abX\x7fc\r").as_deref(), Some("abc"));
        assert_eq!(typed(b"wrong\x15right\r").as_deref(), Some("right"));
        assert_eq!(typed("é\x7fe\r".as_bytes()).as_deref(), Some("e"));
        // Arrow keys, F5, Alt-x and stray controls add nothing.
        assert_eq!(
            typed(b"a\x1b[Ab\x1b[15~c\x1bOPd\x1bxe\x01\r").as_deref(),
            Some("abcde")
        );
        assert_eq!(typed(b"a\tb\r").as_deref(), Some("a\tb"));
    }

    #[test]
    fn ctrl_c_cancels_and_ctrl_d_cancels_only_when_empty() {
        assert_eq!(typed(b"abc\x03"), None);
        assert_eq!(typed(b"\x04"), None);
        assert_eq!(typed(b"ab\x04c\r").as_deref(), Some("abc"));
        assert_eq!(
            typed(b"abc\r\x03"),
            None,
            "Ctrl-C after an Enter in one burst"
        );
    }

    #[test]
    fn an_unbracketed_paste_is_one_value_with_its_line_breaks() {
        for sep in ["\r", "\n", "\r\n"] {
            let pasted = PEM.replace('\n', sep);
            assert_eq!(
                typed(format!("{pasted}{sep}").as_bytes()).as_deref(),
                Some(PEM),
                "{sep:?}"
            );
        }
    }

    #[test]
    fn a_bracketed_paste_is_one_value_and_needs_enter() {
        for sep in ["\r", "\n", "\r\n"] {
            let pasted = PEM.replace('\n', sep);
            let mut a = Answer::default();
            burst(
                &mut a,
                format!("\x1b[200~{pasted}{sep}\x1b[201~").as_bytes(),
            );
            assert!(!a.pending_enter(), "a paste never ends the value");
            burst(&mut a, b"\r");
            assert!(a.pending_enter());
            assert_eq!(
                a.finish()
                    .ok()
                    .map(|s| s.expose_secret().to_string())
                    .as_deref(),
                Some(PEM)
            );
        }
        // Typed text around it, an ESC inside it, and a paste right after an Enter.
        assert_eq!(
            typed(b"a\x1b[200~b\x1bc\x1b\x1b[201~d\r").as_deref(),
            Some("ab\x1bc\x1bd")
        );
        assert_eq!(typed(b"a\r\x1b[200~b\x1b[201~\r").as_deref(), Some("a\nb"));
        // Editing keys are text inside a paste.
        assert_eq!(
            typed(b"\x1b[200~a\x03\x7f\x1b[201~\r").as_deref(),
            Some("a\x03\x7f")
        );
    }

    #[test]
    fn bad_values_are_refused_and_long_ones_grow_safely() {
        assert_eq!(
            {
                let mut a = Answer::default();
                burst(&mut a, b"\xff\xfe\r");
                a.finish().err()
            },
            Some(AnswerError::NotUtf8)
        );
        let long = "x".repeat(10_000);
        assert_eq!(typed(format!("{long}\r").as_bytes()), Some(long));
        let mut a = Answer::default();
        for _ in 0..=crate::secrets::MAX_SECRET_LEN {
            a.feed(b'x');
        }
        a.feed(b'\r');
        assert_eq!(a.finish().err(), Some(AnswerError::TooLong));
    }

    #[test]
    fn debug_never_shows_the_value() {
        let mut a = Answer::default();
        burst(&mut a, b"hunter2");
        assert!(!format!("{a:?}").contains("hunter2"));
    }
}
