//! The terminal backend: crossterm's for everything but drawing cells, which writes SGR itself so
//! the 16 ANSI colours go out as SGR 30–37/90–97 (crossterm sends them as 256-colour indexes).

use std::io::{self, Write};

use crossterm::cursor::{Hide, MoveTo, Show};
use crossterm::{execute, queue};
use ratatui::backend::{Backend, ClearType, WindowSize};
use ratatui::buffer::Cell;
use ratatui::layout::{Position, Size};
use ratatui::style::{Color, Modifier};

use super::colors;

/// A crossterm backend (as ratatui's `CrosstermBackend`) with its own cell drawing.
pub struct FitBackend<W: Write> {
    out: W,
}

impl<W: Write> FitBackend<W> {
    pub fn new(out: W) -> Self {
        FitBackend { out }
    }

    pub fn writer(&self) -> &W {
        &self.out
    }
}

impl<W: Write> Write for FitBackend<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.out.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// The SGR parameters of a colour (`base` 30: foreground, 40: background, 50: underline).
fn color_params(c: Color, base: u8, out: &mut String) {
    use std::fmt::Write as _;
    let _ = match c {
        Color::Reset => write!(out, ";{}", base + 9),
        Color::Rgb(r, g, b) => write!(out, ";{};2;{r};{g};{b}", base + 8),
        Color::Indexed(i) if base == 50 || i >= 16 => write!(out, ";{};5;{i}", base + 8),
        Color::Indexed(i) => write!(out, ";{}", ansi_code(i, base)),
        named => match colors::ansi_index(named) {
            Some(i) if base != 50 => write!(out, ";{}", ansi_code(i, base)),
            Some(i) => write!(out, ";58;5;{i}"),
            None => Ok(()),
        },
    };
}

/// SGR 30–37 / 90–97 (foreground), 40–47 / 100–107 (background) for ANSI colour `i`.
fn ansi_code(i: u8, base: u8) -> u16 {
    if i < 8 {
        u16::from(base) + u16::from(i)
    } else {
        u16::from(base) + 60 + u16::from(i - 8)
    }
}

/// One SGR sequence that sets a whole style from scratch.
pub fn sgr(fg: Color, bg: Color, underline: Color, m: Modifier) -> String {
    let mut s = String::from("\x1b[0");
    for (flag, code) in [
        (Modifier::BOLD, 1),
        (Modifier::DIM, 2),
        (Modifier::ITALIC, 3),
        (Modifier::UNDERLINED, 4),
        (Modifier::SLOW_BLINK, 5),
        (Modifier::RAPID_BLINK, 6),
        (Modifier::REVERSED, 7),
        (Modifier::HIDDEN, 8),
        (Modifier::CROSSED_OUT, 9),
    ] {
        if m.contains(flag) {
            s.push_str(&format!(";{code}"));
        }
    }
    if fg != Color::Reset {
        color_params(fg, 30, &mut s);
    }
    if bg != Color::Reset {
        color_params(bg, 40, &mut s);
    }
    if underline != Color::Reset {
        color_params(underline, 50, &mut s);
    }
    s.push('m');
    s
}

impl<W: Write> Backend for FitBackend<W> {
    type Error = io::Error;

    fn draw<'a, I>(&mut self, content: I) -> io::Result<()>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        let mut style: Option<(Color, Color, Color, Modifier)> = None;
        let mut last: Option<Position> = None;
        for (x, y, cell) in content {
            if !matches!(last, Some(p) if x == p.x + 1 && y == p.y) {
                queue!(self.out, MoveTo(x, y))?;
            }
            last = Some(Position { x, y });
            let want = (cell.fg, cell.bg, cell.underline_color, cell.modifier);
            if style != Some(want) {
                self.out
                    .write_all(sgr(want.0, want.1, want.2, want.3).as_bytes())?;
                style = Some(want);
            }
            self.out.write_all(cell.symbol().as_bytes())?;
        }
        self.out.write_all(b"\x1b[0m")
    }

    fn hide_cursor(&mut self) -> io::Result<()> {
        execute!(self.out, Hide)
    }

    fn show_cursor(&mut self) -> io::Result<()> {
        execute!(self.out, Show)
    }

    fn get_cursor_position(&mut self) -> io::Result<Position> {
        let (x, y) = crossterm::cursor::position()?;
        Ok(Position { x, y })
    }

    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> io::Result<()> {
        let p = position.into();
        execute!(self.out, MoveTo(p.x, p.y))
    }

    fn clear(&mut self) -> io::Result<()> {
        self.clear_region(ClearType::All)
    }

    fn clear_region(&mut self, clear_type: ClearType) -> io::Result<()> {
        use crossterm::terminal::{Clear, ClearType as C};
        let t = match clear_type {
            ClearType::All => C::All,
            ClearType::AfterCursor => C::FromCursorDown,
            ClearType::BeforeCursor => C::FromCursorUp,
            ClearType::CurrentLine => C::CurrentLine,
            ClearType::UntilNewLine => C::UntilNewLine,
        };
        execute!(self.out, Clear(t))
    }

    fn size(&self) -> io::Result<Size> {
        let (width, height) = crossterm::terminal::size()?;
        Ok(Size { width, height })
    }

    fn window_size(&mut self) -> io::Result<WindowSize> {
        let w = crossterm::terminal::window_size()?;
        Ok(WindowSize {
            columns_rows: Size {
                width: w.columns,
                height: w.rows,
            },
            pixels: Size {
                width: w.width,
                height: w.height,
            },
        })
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::style::Style;

    fn drawn(cells: &[(u16, u16, Style, &'static str)]) -> String {
        let mut b = FitBackend::new(Vec::new());
        let cells: Vec<(u16, u16, Cell)> = cells
            .iter()
            .map(|(x, y, s, t)| {
                let mut c = Cell::new(t);
                c.set_style(*s);
                (*x, *y, c)
            })
            .collect();
        b.draw(cells.iter().map(|(x, y, c)| (*x, *y, c))).unwrap();
        String::from_utf8(b.writer().clone()).unwrap()
    }

    #[test]
    fn sixteen_colours_go_out_as_16_colour_codes() {
        let out = drawn(&[
            (0, 0, Style::new().fg(Color::Red), "a"),
            (1, 0, Style::new().fg(Color::LightRed).bg(Color::Blue), "b"),
            (
                2,
                0,
                Style::new().fg(Color::Indexed(3)).bg(Color::White),
                "c",
            ),
            (3, 0, Style::new().fg(Color::Gray).bg(Color::DarkGray), "d"),
        ]);
        assert!(out.contains("\x1b[0;31ma"), "{out:?}");
        assert!(out.contains("\x1b[0;91;44mb"), "{out:?}");
        assert!(out.contains("\x1b[0;33;107mc"), "{out:?}");
        assert!(out.contains("\x1b[0;37;100md"), "{out:?}");
        assert!(!out.contains("38;5"), "{out:?}");
        assert!(out.ends_with("\x1b[0m"));
    }

    #[test]
    fn other_colours_modifiers_and_positions() {
        let bold = Style::new().add_modifier(Modifier::BOLD | Modifier::REVERSED);
        let out = drawn(&[
            (0, 0, Style::new().fg(Color::Indexed(208)), "a"),
            (1, 0, Style::new().fg(Color::Indexed(208)), "b"),
            (5, 2, Style::new().bg(Color::Rgb(1, 2, 3)), "c"),
            (6, 2, bold, "d"),
            (7, 2, Style::new(), "e"),
        ]);
        // Same style: one SGR for two cells; a jump moves the cursor (1-based CUP).
        assert!(out.contains("\x1b[0;38;5;208mab"), "{out:?}");
        assert!(out.contains("\x1b[3;6H\x1b[0;48;2;1;2;3mc"), "{out:?}");
        assert!(out.contains("\x1b[0;1;7md"), "{out:?}");
        assert!(out.contains("\x1b[0me"), "{out:?}");
    }
}
