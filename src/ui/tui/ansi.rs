//! A byte-level terminal-output parser for children's logs: SGR colours become styles, every
//! other control sequence is dropped; survives any split, bounded memory, invalid UTF-8 → U+FFFD.

use ratatui::style::{Color, Modifier, Style};

/// What the parser found in the bytes, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// A printable character (never a control character, never ESC).
    Print(char),
    Newline,
    CarriageReturn,
    Tab,
    /// The child changed its colours or attributes (the whole current style).
    Style(Style),
}

const MAX_PARAMS: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StrKind {
    Osc,
    /// DCS, SOS, PM, APC: only ST (`ESC \`) ends them.
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Ground,
    Utf8,
    Escape,
    EscIntermediate,
    Csi,
    Str(StrKind),
    StrEsc(StrKind),
}

/// The parser; one per child stream. Its memory is fixed whatever it is fed.
#[derive(Debug, Clone)]
pub struct AnsiParser {
    state: State,
    utf8: [u8; 4],
    utf8_len: u8,
    utf8_need: u8,
    params: [u16; MAX_PARAMS],
    /// Bit i set: param i was introduced by `:` (a sub-parameter of the one before).
    sub: u32,
    nparams: usize,
    private: bool,
    intermediate: bool,
    style: Style,
}

impl Default for AnsiParser {
    fn default() -> Self {
        AnsiParser::new()
    }
}

impl AnsiParser {
    pub fn new() -> Self {
        AnsiParser {
            state: State::Ground,
            utf8: [0; 4],
            utf8_len: 0,
            utf8_need: 0,
            params: [0; MAX_PARAMS],
            sub: 0,
            nparams: 0,
            private: false,
            intermediate: false,
            style: Style::new(),
        }
    }

    /// The current SGR style.
    pub fn style(&self) -> Style {
        self.style
    }

    /// True between sequences and characters: a printable ASCII byte fed now is printed as is.
    pub fn is_ground(&self) -> bool {
        self.state == State::Ground
    }

    /// Feeds bytes; `out` receives the actions in order.
    pub fn feed(&mut self, bytes: &[u8], out: &mut impl FnMut(Action)) {
        for &b in bytes {
            self.byte(b, out);
        }
    }

    /// End of stream: an incomplete UTF-8 sequence becomes U+FFFD, an unfinished escape
    /// sequence is dropped.
    pub fn finish(&mut self, out: &mut impl FnMut(Action)) {
        if self.state == State::Utf8 {
            out(Action::Print(char::REPLACEMENT_CHARACTER));
        }
        self.state = State::Ground;
    }

    fn byte(&mut self, b: u8, out: &mut impl FnMut(Action)) {
        match self.state {
            State::Ground => self.ground(b, out),
            State::Utf8 => self.utf8(b, out),
            State::Escape => self.escape(b, out),
            State::EscIntermediate => match b {
                0x18 | 0x1a => self.state = State::Ground,
                0x1b => self.state = State::Escape,
                0x20..=0x2f => {}
                0x30..=0x7e => self.state = State::Ground,
                0x80..=0xff => {
                    self.state = State::Ground;
                    self.ground(b, out);
                }
                _ => {}
            },
            State::Csi => self.csi(b, out),
            State::Str(kind) => match b {
                0x07 if kind == StrKind::Osc => self.state = State::Ground,
                0x18 | 0x1a => self.state = State::Ground,
                0x1b => self.state = State::StrEsc(kind),
                _ => {}
            },
            State::StrEsc(kind) => match b {
                b'\\' => self.state = State::Ground,
                // ESC ESC: still waiting for the `\`.
                0x1b => self.state = State::StrEsc(kind),
                _ => self.escape(b, out),
            },
        }
    }

    fn ground(&mut self, b: u8, out: &mut impl FnMut(Action)) {
        match b {
            b'\n' => out(Action::Newline),
            b'\r' => out(Action::CarriageReturn),
            b'\t' => out(Action::Tab),
            0x1b => self.state = State::Escape,
            0x20..=0x7e => out(Action::Print(b as char)),
            0x00..=0x1f | 0x7f => {} // other C0 controls and DEL: dropped
            0xc2..=0xdf => self.start_utf8(b, 1),
            0xe0..=0xef => self.start_utf8(b, 2),
            0xf0..=0xf4 => self.start_utf8(b, 3),
            _ => out(Action::Print(char::REPLACEMENT_CHARACTER)),
        }
    }

    fn start_utf8(&mut self, b: u8, need: u8) {
        self.utf8[0] = b;
        self.utf8_len = 1;
        self.utf8_need = need;
        self.state = State::Utf8;
    }

    fn utf8(&mut self, b: u8, out: &mut impl FnMut(Action)) {
        let ok = if self.utf8_len == 1 {
            match self.utf8[0] {
                0xe0 => (0xa0..=0xbf).contains(&b),
                0xed => (0x80..=0x9f).contains(&b),
                0xf0 => (0x90..=0xbf).contains(&b),
                0xf4 => (0x80..=0x8f).contains(&b),
                _ => (0x80..=0xbf).contains(&b),
            }
        } else {
            (0x80..=0xbf).contains(&b)
        };
        if !ok {
            out(Action::Print(char::REPLACEMENT_CHARACTER));
            self.state = State::Ground;
            self.ground(b, out);
            return;
        }
        self.utf8[self.utf8_len as usize] = b;
        self.utf8_len += 1;
        if self.utf8_len > self.utf8_need {
            self.state = State::Ground;
            let bytes = &self.utf8[..self.utf8_len as usize];
            let c = std::str::from_utf8(bytes)
                .ok()
                .and_then(|s| s.chars().next())
                .unwrap_or(char::REPLACEMENT_CHARACTER);
            // C1 controls (U+0080–U+009F) could act as CSI/OSC on some terminals: dropped.
            // Format characters that reorder or hide text (bidi overrides…) are shown escaped,
            // as plain mode shows them (`safe`).
            if ('\u{80}'..='\u{9f}').contains(&c) {
            } else if crate::safe::is_unsafe_char(c) {
                crate::safe::line(c.encode_utf8(&mut [0; 4]).as_bytes())
                    .chars()
                    .for_each(|e| out(Action::Print(e)));
            } else {
                out(Action::Print(c));
            }
        }
    }

    fn escape(&mut self, b: u8, out: &mut impl FnMut(Action)) {
        self.state = match b {
            0x18 | 0x1a => State::Ground,
            0x1b => State::Escape,
            b'[' => {
                self.nparams = 0;
                self.params = [0; MAX_PARAMS];
                self.sub = 0;
                self.private = false;
                self.intermediate = false;
                State::Csi
            }
            b']' => State::Str(StrKind::Osc),
            b'P' | b'X' | b'^' | b'_' => State::Str(StrKind::Other),
            0x20..=0x2f => State::EscIntermediate,
            0x30..=0x7e => State::Ground,
            0x80..=0xff => {
                self.state = State::Ground;
                self.ground(b, out);
                return;
            }
            _ => State::Escape, // C0 inside an escape: ignored
        };
    }

    fn csi(&mut self, b: u8, out: &mut impl FnMut(Action)) {
        match b {
            b'0'..=b'9' => {
                if self.nparams == 0 {
                    self.nparams = 1;
                }
                if let Some(p) = self.params.get_mut(self.nparams - 1) {
                    *p = p.saturating_mul(10).saturating_add(u16::from(b - b'0'));
                }
            }
            b';' | b':' => {
                if self.nparams == 0 {
                    self.nparams = 1;
                }
                if self.nparams < MAX_PARAMS {
                    if b == b':' {
                        self.sub |= 1 << self.nparams;
                    }
                    self.nparams += 1;
                } else {
                    // Too many parameters: the sequence is dropped whatever it is.
                    self.private = true;
                }
            }
            0x3c..=0x3f => self.private = true,
            0x20..=0x2f => self.intermediate = true,
            0x40..=0x7e => {
                self.state = State::Ground;
                if b == b'm' && !self.private && !self.intermediate {
                    self.sgr();
                    out(Action::Style(self.style));
                }
            }
            0x18 | 0x1a => self.state = State::Ground,
            0x1b => self.state = State::Escape,
            0x80..=0xff => {
                self.state = State::Ground;
                self.ground(b, out);
            }
            _ => {} // other C0 inside CSI: ignored
        }
    }

    fn is_sub(&self, i: usize) -> bool {
        i < 32 && self.sub & (1 << i) != 0
    }

    fn sgr(&mut self) {
        let n = self.nparams.max(1);
        let p = self.params;
        let mut s = self.style;
        let mut i = 0;
        while i < n {
            match p[i] {
                0 => s = Style::new(),
                1 => s = s.add_modifier(Modifier::BOLD),
                2 => s = s.add_modifier(Modifier::DIM),
                3 => s = s.add_modifier(Modifier::ITALIC),
                4 if self.is_sub(i + 1) && p[i + 1] == 0 => {
                    s = s.remove_modifier(Modifier::UNDERLINED)
                }
                4 | 21 => s = s.add_modifier(Modifier::UNDERLINED),
                7 => s = s.add_modifier(Modifier::REVERSED),
                9 => s = s.add_modifier(Modifier::CROSSED_OUT),
                22 => s = s.remove_modifier(Modifier::BOLD | Modifier::DIM),
                23 => s = s.remove_modifier(Modifier::ITALIC),
                24 => s = s.remove_modifier(Modifier::UNDERLINED),
                27 => s = s.remove_modifier(Modifier::REVERSED),
                29 => s = s.remove_modifier(Modifier::CROSSED_OUT),
                c @ 30..=37 => s.fg = Some(ansi_color(c - 30)),
                c @ 40..=47 => s.bg = Some(ansi_color(c - 40)),
                c @ 90..=97 => s.fg = Some(ansi_color(c - 90 + 8)),
                c @ 100..=107 => s.bg = Some(ansi_color(c - 100 + 8)),
                39 => s.fg = None,
                49 => s.bg = None,
                c @ (38 | 48 | 58) => {
                    let (color, used) = self.extended(i + 1, n);
                    if let Some(color) = color {
                        match c {
                            38 => s.fg = Some(color),
                            48 => s.bg = Some(color),
                            _ => {} // underline colour: not kept
                        }
                    }
                    i += used;
                }
                // Blink, hidden (would hide text from the operator), fonts, …: ignored.
                _ => {}
            }
            // Skip the sub-parameters of anything we did not consume.
            i += 1;
            while i < n && self.is_sub(i) {
                i += 1;
            }
        }
        self.style = s;
    }

    /// `38;5;N`, `38;2;R;G;B`, `38:5:N`, `38:2:R:G:B` and `38:2:CS:R:G:B`: the colour and how
    /// many parameters after 38 it used.
    fn extended(&self, at: usize, n: usize) -> (Option<Color>, usize) {
        let p = self.params;
        if at >= n {
            return (None, 0);
        }
        let colon = self.is_sub(at);
        match p[at] {
            5 if at + 1 < n => (Some(Color::Indexed(p[at + 1].min(255) as u8)), 2),
            2 => {
                let mut start = at + 1;
                if colon {
                    let subs = (at + 1..n).take_while(|&j| self.is_sub(j)).count();
                    if subs >= 4 {
                        start += 1; // colour-space id
                    }
                }
                if start + 2 < n {
                    let c = |v: u16| v.min(255) as u8;
                    (
                        Some(Color::Rgb(c(p[start]), c(p[start + 1]), c(p[start + 2]))),
                        start + 3 - at,
                    )
                } else {
                    (None, n - at)
                }
            }
            _ => (None, 1),
        }
    }
}

fn ansi_color(i: u16) -> Color {
    match i {
        0 => Color::Black,
        1 => Color::Red,
        2 => Color::Green,
        3 => Color::Yellow,
        4 => Color::Blue,
        5 => Color::Magenta,
        6 => Color::Cyan,
        7 => Color::Gray,
        8 => Color::DarkGray,
        9 => Color::LightRed,
        10 => Color::LightGreen,
        11 => Color::LightYellow,
        12 => Color::LightBlue,
        13 => Color::LightMagenta,
        14 => Color::LightCyan,
        _ => Color::White,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(chunks: &[&[u8]]) -> Vec<Action> {
        let mut p = AnsiParser::new();
        let mut v = Vec::new();
        for c in chunks {
            p.feed(c, &mut |a| v.push(a));
        }
        p.finish(&mut |a| v.push(a));
        v
    }

    fn text(actions: &[Action]) -> String {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::Print(c) => Some(*c),
                Action::Newline => Some('\n'),
                _ => None,
            })
            .collect()
    }

    fn last_style(actions: &[Action]) -> Style {
        actions
            .iter()
            .rev()
            .find_map(|a| match a {
                Action::Style(s) => Some(*s),
                _ => None,
            })
            .unwrap_or_default()
    }

    #[test]
    fn sgr_16_256_truecolor_and_attributes() {
        let a = run(&[b"\x1b[1;31mred\x1b[0m"]);
        assert_eq!(text(&a), "red");
        assert_eq!(
            a[0],
            Action::Style(Style::new().fg(Color::Red).add_modifier(Modifier::BOLD))
        );
        assert_eq!(last_style(&a), Style::new());
        let s = last_style(&run(&[b"\x1b[38;5;208;48;2;1;2;3m"]));
        assert_eq!(s.fg, Some(Color::Indexed(208)));
        assert_eq!(s.bg, Some(Color::Rgb(1, 2, 3)));
        let s = last_style(&run(&[b"\x1b[38:2::10:20:30;4m"]));
        assert_eq!(s.fg, Some(Color::Rgb(10, 20, 30)));
        assert!(s.add_modifier.contains(Modifier::UNDERLINED));
        let s = last_style(&run(&[b"\x1b[38:2:10:20:30m"]));
        assert_eq!(s.fg, Some(Color::Rgb(10, 20, 30)));
        let s = last_style(&run(&[b"\x1b[92;104;3;7m\x1b[23m"]));
        assert_eq!(s.fg, Some(Color::LightGreen));
        assert_eq!(s.bg, Some(Color::LightBlue));
        assert!(!s.add_modifier.contains(Modifier::ITALIC));
        assert!(s.add_modifier.contains(Modifier::REVERSED));
        let s = last_style(&run(&[b"\x1b[31m\x1b[39m\x1b[m"]));
        assert_eq!(s, Style::new());
        let s = last_style(&run(&[b"\x1b[1;2m\x1b[22m"]));
        assert_eq!(s.add_modifier, Modifier::empty());
        // Hidden text is not hidden from the operator.
        let s = last_style(&run(&[b"\x1b[8m"]));
        assert_eq!(s, Style::new());
    }

    #[test]
    fn every_other_sequence_is_dropped() {
        let input: &[&[u8]] = &[
            b"a\x1b[2Jb\x1b[10;20Hc\x1b[?1049hd\x1b[>4;2me\x1b[3 qf",
            b"\x1b]0;evil title\x07g\x1b]52;c;aGVsbG8=\x1b\\h",
            b"\x1bPq#0;2;0;0;0\x1b\\i\x1b_apc\x1b\\j\x1b^pm\x1b\\k\x1bXsos\x1b\\l",
            b"\x1b7m\x1b8n\x1b(Bo\x1bcp\x1b=q",
            b"\x00\x01\x07\x08\x0b\x0c\x0e\x0f\x7fr",
        ];
        let a = run(input);
        assert_eq!(text(&a), "abcdefghijklmnopqr");
        // Private-mode `m` (xterm modifyOtherKeys) is not an SGR.
        assert!(!a.iter().any(|x| matches!(x, Action::Style(_))));
    }

    #[test]
    fn sequences_split_anywhere_give_the_same_result() {
        let whole: &[u8] = b"x\x1b[1;38;2;1;2;3mhi\x1b]0;t\x1b\\\xc3\xa9\xe2\x82\xac\r\n\x1b[0m";
        let expect = run(&[whole]);
        for cut in 0..whole.len() {
            let (a, b) = whole.split_at(cut);
            assert_eq!(run(&[a, b]), expect, "split at {cut}");
        }
        let bytes: Vec<&[u8]> = whole.chunks(1).collect();
        assert_eq!(run(&bytes), expect);
    }

    #[test]
    fn invalid_utf8_becomes_replacement_characters() {
        assert_eq!(text(&run(&[b"a\xffb\xc3(c"])), "a\u{fffd}b\u{fffd}(c");
        assert_eq!(text(&run(&[b"\xed\xa0\x80"])), "\u{fffd}\u{fffd}\u{fffd}");
        assert_eq!(text(&run(&[b"ok\xe2\x82"])), "ok\u{fffd}");
        assert_eq!(text(&run(&[b"\xe2\x82\x1b[31mx"])), "\u{fffd}x");
        // The C1 control U+009B (a CSI on some terminals) is dropped.
        assert_eq!(text(&run(&[b"a\xc2\x9b31mb"])), "a31mb");
        // Raw 8-bit C1 bytes are invalid UTF-8.
        assert_eq!(text(&run(&[b"a\x9b2Jb"])), "a\u{fffd}2Jb");
    }

    #[test]
    fn unterminated_strings_hold_no_memory_and_can_be_cancelled() {
        let mut p = AnsiParser::new();
        let before = std::mem::size_of_val(&p);
        let mut out = Vec::new();
        p.feed(b"\x1b]0;", &mut |a| out.push(a));
        let junk = vec![b'A'; 1 << 20];
        p.feed(&junk, &mut |a| out.push(a));
        assert!(out.is_empty());
        assert_eq!(std::mem::size_of_val(&p), before);
        p.feed(b"\x18visible", &mut |a| out.push(a));
        assert_eq!(text(&out), "visible");
        // Many parameters do not grow anything either; the sequence is dropped.
        let mut long = b"\x1b[".to_vec();
        long.extend(std::iter::repeat_n(b"1;".as_slice(), 10_000).flatten());
        long.extend(b"31mz");
        let a = run(&[&long]);
        assert_eq!(text(&a), "z");
        assert!(!a.iter().any(|x| matches!(x, Action::Style(_))));
    }

    #[test]
    fn bidi_overrides_are_shown_escaped() {
        let a = run(&["user\u{202e}nimda\u{2066}".as_bytes()]);
        assert_eq!(text(&a), "user\\u{202e}nimda\\u{2066}");
    }

    #[test]
    fn controls_are_reported() {
        let a = run(&[b"a\tb\r\n"]);
        assert_eq!(
            a,
            vec![
                Action::Print('a'),
                Action::Tab,
                Action::Print('b'),
                Action::CarriageReturn,
                Action::Newline
            ]
        );
    }
}
