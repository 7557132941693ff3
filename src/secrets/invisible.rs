//! Which bytes of a child's output a terminal view drops: C0 controls but `\t` `\n` `\r`, DEL,
//! UTF-8 C1 controls (`C2 80`..`C2 9F`) and whole escape sequences (CSI, OSC, DCS/SOS/PM/APC…).
//!
//! One definition for the redactor (such bytes are transparent inside a match, so a secret split
//! by them is still found) and the TUI (`ui::tui::ansi` drops exactly these bytes; a test checks
//! the two agree on every byte and a corpus of sequences). A byte-level state machine of fixed
//! size: it survives any split of the input.

/// What a byte is, given everything before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// Shown (or, for `\t` `\n` `\r`, acted on visibly).
    Visible,
    /// Dropped by the terminal view.
    Hidden,
    /// A `C2` lead byte: hidden if the next byte is `80`..`9F` (a C1 control), else visible.
    /// The next byte's class says which: `C1` for both bytes hidden, anything else for `C2`
    /// visible.
    Pending,
    /// The byte after a `Pending` one that makes both a C1 control: hidden, and so is the `C2`.
    C1,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum St {
    Ground,
    AfterC2,
    Escape,
    EscIntermediate,
    Csi,
    /// OSC: ended by BEL or ST.
    Osc,
    /// DCS, SOS, PM, APC: only ST (`ESC \`) ends them.
    Str,
    OscEsc,
    StrEsc,
}

/// The classifier; one per stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Invisible {
    st: St,
}

impl Default for Invisible {
    fn default() -> Self {
        Invisible::new()
    }
}

/// Bytes that begin something hidden when the classifier is in its ground state: a chunk
/// without any of them (fed in the ground state) is visible byte for byte.
#[inline(always)]
pub fn may_hide(b: u8) -> bool {
    (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r')) || b == 0x7f || b == 0xc2
}

/// Whether any byte of `data` may be hidden (see [`may_hide`]). Written to vectorize.
#[inline]
pub fn any_may_hide(data: &[u8]) -> bool {
    // Fixed-size blocks: each is one straight run of vector compares, tested once.
    let mut blocks = data.chunks_exact(64);
    for block in &mut blocks {
        let hit = block.iter().fold(false, |acc, &b| {
            let c0 = (b < 0x20) & (b != b'\t') & (b != b'\n') & (b != b'\r');
            acc | c0 | (b == 0x7f) | (b == 0xc2)
        });
        if hit {
            return true;
        }
    }
    blocks.remainder().iter().any(|&b| may_hide(b))
}

impl Invisible {
    pub const fn new() -> Self {
        Invisible { st: St::Ground }
    }

    /// In the ground state nothing is pending: a byte for which [`may_hide`] is false is
    /// visible.
    #[inline(always)]
    pub fn is_ground(&self) -> bool {
        self.st == St::Ground
    }

    /// Classifies the next byte.
    pub fn step(&mut self, b: u8) -> Class {
        match self.st {
            St::Ground => self.ground(b),
            St::AfterC2 => {
                if (0x80..=0x9f).contains(&b) {
                    self.st = St::Ground;
                    Class::C1
                } else {
                    // The C2 is visible (a character, or U+FFFD for the view); `b` starts over.
                    // A second C2 is `Pending` again; the first is resolved visible all the same.
                    self.st = St::Ground;
                    self.ground(b)
                }
            }
            St::Escape => self.escape(b),
            St::EscIntermediate => match b {
                0x18 | 0x1a | 0x30..=0x7e => {
                    self.st = St::Ground;
                    Class::Hidden
                }
                0x1b => {
                    self.st = St::Escape;
                    Class::Hidden
                }
                0x80..=0xff => {
                    self.st = St::Ground;
                    self.ground(b)
                }
                _ => Class::Hidden,
            },
            St::Csi => match b {
                0x40..=0x7e | 0x18 | 0x1a => {
                    self.st = St::Ground;
                    Class::Hidden
                }
                0x1b => {
                    self.st = St::Escape;
                    Class::Hidden
                }
                0x80..=0xff => {
                    self.st = St::Ground;
                    self.ground(b)
                }
                _ => Class::Hidden,
            },
            St::Osc | St::Str => {
                match b {
                    0x07 if self.st == St::Osc => self.st = St::Ground,
                    0x18 | 0x1a => self.st = St::Ground,
                    0x1b => {
                        self.st = if self.st == St::Osc {
                            St::OscEsc
                        } else {
                            St::StrEsc
                        }
                    }
                    _ => {}
                }
                Class::Hidden
            }
            St::OscEsc | St::StrEsc => match b {
                b'\\' => {
                    self.st = St::Ground;
                    Class::Hidden
                }
                0x1b => Class::Hidden,
                _ => self.escape(b),
            },
        }
    }

    fn ground(&mut self, b: u8) -> Class {
        match b {
            0x1b => {
                self.st = St::Escape;
                Class::Hidden
            }
            0xc2 => {
                self.st = St::AfterC2;
                Class::Pending
            }
            b if may_hide(b) => Class::Hidden,
            _ => Class::Visible,
        }
    }

    fn escape(&mut self, b: u8) -> Class {
        self.st = match b {
            0x18 | 0x1a => St::Ground,
            0x1b => St::Escape,
            b'[' => St::Csi,
            b']' => St::Osc,
            b'P' | b'X' | b'^' | b'_' => St::Str,
            0x20..=0x2f => St::EscIntermediate,
            0x30..=0x7e => St::Ground,
            0x80..=0xff => {
                self.st = St::Ground;
                return self.ground(b);
            }
            _ => St::Escape, // C0 inside an escape: ignored
        };
        Class::Hidden
    }
}

/// `bytes` without the bytes a terminal view drops (classified from the ground state).
/// Zeroized on drop: it may be a secret's needle.
pub fn strip(bytes: &[u8]) -> zeroize::Zeroizing<Vec<u8>> {
    let mut out = zeroize::Zeroizing::new(Vec::with_capacity(bytes.len()));
    let mut inv = Invisible::new();
    for &b in bytes {
        match inv.step(b) {
            // A pending C2 is already in `out`: it stays unless the next byte is `C1`.
            Class::Visible => out.push(b),
            Class::Hidden => {}
            Class::Pending => out.push(0xc2),
            Class::C1 => {
                out.pop(); // the C2
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_what_a_terminal_view_drops() {
        assert_eq!(*strip(b"sec\x1b[31mr\x1b[0met"), b"secret");
        assert_eq!(*strip(b"s\x00e\x7fc\x08r\x0be\x0ct"), b"secret");
        assert_eq!(*strip(b"se\xc2\x9bcr\xc2\x80et"), b"secret");
        assert_eq!(
            *strip(b"se\x1b]0;title\x07cr\x1b]52;c;eA==\x1b\\et"),
            b"secret"
        );
        assert_eq!(*strip(b"se\x1bPq#0\x1b\\cr\x1b(Bet\x1b7"), b"secret");
        assert_eq!(*strip("£é\t\n\r".as_bytes()), "£é\t\n\r".as_bytes());
        assert_eq!(*strip(b"a\xc2\xc2\x9bb"), b"a\xc2b");
        assert_eq!(*strip(b"\x1b[31\xc3\xa9x"), "éx".as_bytes());
    }

    #[test]
    fn any_may_hide_agrees_with_may_hide() {
        for b in 0..=255u8 {
            let mut v = vec![b'a'; 100];
            v[77] = b;
            assert_eq!(any_may_hide(&v), may_hide(b), "{b:#x}");
        }
    }
}
