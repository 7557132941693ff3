//! Fitting the screen to the terminal: colour depth, UTF-8 or ASCII drawing (from the locale) and
//! mouse capture, each detected from the environment with an override; the frame pass that applies them.

use ratatui::buffer::Buffer;

use super::colors::{self, ColorDepth};
use crate::ui::graph::Charset;

/// How the screen is drawn on this terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fit {
    pub depth: ColorDepth,
    /// ASCII when the locale's character set is not UTF-8.
    pub charset: Charset,
    /// The TUI takes mouse events (wheel, clicks); Shift+drag still selects text.
    pub mouse: bool,
}

impl Default for Fit {
    /// What the tests draw with: every colour, UTF-8, no mouse.
    fn default() -> Self {
        Fit {
            depth: ColorDepth::TrueColor,
            charset: Charset::Unicode,
            mouse: false,
        }
    }
}

/// The command-line overrides (`--color-depth`, `--charset`, `--no-mouse`); `None`: the
/// environment decides.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FitArgs {
    pub color_depth: Option<String>,
    pub charset: Option<String>,
    pub no_mouse: bool,
}

impl Fit {
    /// The fit for this terminal: each of the flags, else its variable (`WFOP_COLOR_DEPTH`,
    /// `WFOP_CHARSET`, `WFOP_MOUSE`), else what the environment says (`COLORTERM`, `TERM`,
    /// terminfo; `LC_ALL`/`LC_CTYPE`/`LANG`). Bad values are errors (wfop exits 2).
    pub fn detect(args: &FitArgs, env: &dyn Fn(&str) -> Option<String>) -> Result<Fit, String> {
        let var = |k: &str| env(k).filter(|v| !v.trim().is_empty());
        let depth = match args.color_depth.clone().or_else(|| var("WFOP_COLOR_DEPTH")) {
            Some(s) => ColorDepth::parse(&s)?,
            None => None,
        };
        let depth = depth
            .unwrap_or_else(|| ColorDepth::detect(env, |term| colors::terminfo_colors(term, env)));
        let charset = match args.charset.clone().or_else(|| var("WFOP_CHARSET")) {
            Some(s) => parse_charset(&s)?,
            None => None,
        };
        let charset = charset.unwrap_or_else(|| locale_charset(env));
        let mouse = if args.no_mouse {
            false
        } else {
            match var("WFOP_MOUSE") {
                Some(v) => parse_switch(&v).ok_or_else(|| {
                    format!("WFOP_MOUSE: `{}` is not on or off", crate::safe::line(&v))
                })?,
                None => true,
            }
        };
        Ok(Fit {
            depth,
            charset,
            mouse,
        })
    }

    /// Applies the fit to a drawn frame: colours mapped to the depth, and in ASCII every other
    /// character replaced (borders, arrows, spinners, marks, the services' text alike).
    pub fn apply(&self, buf: &mut Buffer) {
        colors::map_buffer(buf, self.depth);
        if self.charset == Charset::Ascii {
            asciify(buf);
        }
    }
}

fn parse_charset(s: &str) -> Result<Option<Charset>, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "auto" => Ok(None),
        "ascii" => Ok(Some(Charset::Ascii)),
        "unicode" | "utf-8" | "utf8" => Ok(Some(Charset::Unicode)),
        other => Err(format!(
            "unknown charset `{}` (auto, unicode or ascii)",
            crate::safe::line(other)
        )),
    }
}

fn parse_switch(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "1" | "on" | "yes" | "true" => Some(true),
        "0" | "off" | "no" | "false" => Some(false),
        _ => None,
    }
}

/// UTF-8 when the locale in effect for characters says so: the first set of `LC_ALL`,
/// `LC_CTYPE`, `LANG` (as the C library picks it), its charset part (`en_US.UTF-8@euro`). None
/// set, `C`, `POSIX` or another charset: ASCII.
pub fn locale_charset(env: &dyn Fn(&str) -> Option<String>) -> Charset {
    let locale = ["LC_ALL", "LC_CTYPE", "LANG"]
        .iter()
        .find_map(|k| env(k).filter(|v| !v.is_empty()))
        .unwrap_or_default();
    let codeset = locale
        .split_once('.')
        .map(|(_, rest)| rest.split('@').next().unwrap_or(""))
        .unwrap_or("");
    let norm: String = codeset
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    if norm == "utf8" {
        Charset::Unicode
    } else {
        Charset::Ascii
    }
}

/// Replaces every non-ASCII symbol of a buffer with its ASCII stand-in.
pub fn asciify(buf: &mut Buffer) {
    for cell in buf.content.iter_mut() {
        let sym = cell.symbol();
        if !sym.is_ascii() {
            let to = ascii_for(sym);
            cell.set_symbol(to);
        }
    }
}

/// The ASCII stand-in of one cell's symbol (a grapheme): box drawing as `+-|`, arrows as
/// `<>^v`, the spinner as `|/-\`, marks as letters, anything else `?`.
pub fn ascii_for(sym: &str) -> &'static str {
    let Some(c) = sym.chars().next() else {
        return " ";
    };
    let u = c as u32;
    match c {
        '─' | '━' | '┄' | '┅' | '┈' | '┉' | '╌' | '╍' | '╴' | '╶' | '╸' | '╺' => {
            "-"
        }
        '═' => "=",
        '│' | '┃' | '┆' | '┇' | '┊' | '┋' | '╎' | '╏' | '║' | '╵' | '╷' | '╹' | '╻' => {
            "|"
        }
        '╱' => "/",
        '╲' => "\\",
        '╳' => "X",
        _ if (0x2500..=0x257f).contains(&u) => "+",
        '█' | '▓' | '▒' | '░' | '▀' | '▄' | '■' => "#",
        '▏' | '▎' | '▍' | '▌' | '▋' | '▊' | '▉' | '▐' | '▕' => "|",
        '←' | '◀' | '◂' | '‹' | '«' => "<",
        '→' | '▶' | '▸' | '›' | '»' | '⇒' | '➜' => ">",
        '↑' | '▲' | '▴' => "^",
        '↓' | '▼' | '▾' => "v",
        '↻' | '↺' => "~",
        '✓' | '✔' => "+",
        '✗' | '✘' | '×' => "x",
        '⊘' => "!",
        '·' | '∙' => ".",
        '•' | '●' | '◆' | '⁕' | '∗' => "*",
        '○' | '◯' | '◦' | '◌' => "o",
        '◎' | '◉' => "@",
        '◇' | '◊' => "<",
        '◷' | '⏱' => "t",
        '…' => "~",
        '—' | '–' | '‐' | '‒' | '―' | '−' => "-",
        '‘' | '’' | '′' => "'",
        '“' | '”' | '″' => "\"",
        '\u{a0}' | '\u{2000}'..='\u{200a}' => " ",
        _ if (0x2800..=0x28ff).contains(&u) => ["|", "/", "-", "\\"][(u % 4) as usize],
        _ => "?",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::layout::Rect;
    use ratatui::style::Style;
    use ratatui::widgets::{Block, Borders, Widget};

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn the_locale_decides_utf8_or_ascii() {
        use Charset::*;
        let cases: &[(&[(&str, &str)], Charset)] = &[
            (&[("LANG", "en_US.UTF-8")], Unicode),
            (&[("LANG", "C.UTF-8")], Unicode),
            (&[("LANG", "de_DE.utf8@euro")], Unicode),
            (&[("LANG", "C")], Ascii),
            (&[("LANG", "POSIX")], Ascii),
            (&[("LANG", "en_US")], Ascii),
            (&[("LANG", "ja_JP.eucJP")], Ascii),
            (&[("LANG", "en_US.ISO-8859-1")], Ascii),
            (&[], Ascii),
            // LC_ALL wins over LC_CTYPE, which wins over LANG; empty ones do not count.
            (&[("LC_ALL", "C"), ("LANG", "en_US.UTF-8")], Ascii),
            (&[("LC_CTYPE", "C"), ("LANG", "en_US.UTF-8")], Ascii),
            (&[("LC_CTYPE", "en_US.UTF-8"), ("LANG", "C")], Unicode),
            (&[("LC_ALL", ""), ("LC_CTYPE", "fr_FR.UTF-8")], Unicode),
            (&[("LC_MESSAGES", "en_US.UTF-8")], Ascii),
        ];
        for (vars, want) in cases {
            assert_eq!(locale_charset(&env(vars)), *want, "{vars:?}");
        }
    }

    #[test]
    fn flags_then_variables_then_the_environment() {
        let vars = [
            ("TERM", "xterm-256color"),
            ("LANG", "en_US.UTF-8"),
            ("WFOP_MOUSE", "off"),
        ];
        let fit = Fit::detect(&FitArgs::default(), &env(&vars)).unwrap();
        assert_eq!(fit.depth, ColorDepth::Ansi256);
        assert_eq!(fit.charset, Charset::Unicode);
        assert!(!fit.mouse);
        let vars = [
            ("TERM", "xterm-256color"),
            ("WFOP_COLOR_DEPTH", "16"),
            ("WFOP_CHARSET", "ascii"),
            ("LANG", "en_US.UTF-8"),
        ];
        let fit = Fit::detect(&FitArgs::default(), &env(&vars)).unwrap();
        assert_eq!(
            (fit.depth, fit.charset, fit.mouse),
            (ColorDepth::Ansi16, Charset::Ascii, true)
        );
        let args = FitArgs {
            color_depth: Some("truecolor".into()),
            charset: Some("unicode".into()),
            no_mouse: true,
        };
        let fit = Fit::detect(&args, &env(&vars)).unwrap();
        assert_eq!(
            (fit.depth, fit.charset, fit.mouse),
            (ColorDepth::TrueColor, Charset::Unicode, false)
        );
        let bad = FitArgs {
            charset: Some("ebcdic".into()),
            ..FitArgs::default()
        };
        let e = Fit::detect(&bad, &env(&[])).unwrap_err();
        assert!(e.contains("unknown charset `ebcdic`"), "{e}");
        let e = Fit::detect(&FitArgs::default(), &env(&[("WFOP_MOUSE", "maybe")])).unwrap_err();
        assert!(e.contains("WFOP_MOUSE"), "{e}");
        let e =
            Fit::detect(&FitArgs::default(), &env(&[("WFOP_COLOR_DEPTH", "9000")])).unwrap_err();
        assert!(e.contains("9000"), "{e}");
    }

    #[test]
    fn ascii_replaces_every_other_character() {
        let mut buf = Buffer::empty(Rect::new(0, 0, 12, 3));
        Block::default()
            .borders(Borders::ALL)
            .render(buf.area, &mut buf);
        buf.set_string(1, 1, "✓·…←⠙界•x", Style::new());
        asciify(&mut buf);
        let rows: Vec<String> = (0..3)
            .map(|y| (0..12).map(|x| buf[(x, y)].symbol().to_string()).collect())
            .collect();
        assert_eq!(rows[0], "+----------+");
        assert_eq!(rows[1], "|+.~</? *x |");
        assert_eq!(rows[2], "+----------+");
        assert!(buf.content.iter().all(|c| c.symbol().is_ascii()));
        for c in ['╭', '╯', '┼', '┬', '└'] {
            assert_eq!(ascii_for(&c.to_string()), "+");
        }
        assert_eq!(ascii_for("═"), "=");
        assert_eq!(ascii_for("║"), "|");
        assert_eq!(ascii_for("↓"), "v");
        assert_eq!(ascii_for("↑"), "^");
        assert_eq!(ascii_for("→"), ">");
        // The queued glyph as the graph's ASCII charset draws it.
        assert_eq!(
            ascii_for(&crate::ui::tui::graphpane::queued_glyph(Charset::Unicode).to_string()),
            crate::ui::tui::graphpane::queued_glyph(Charset::Ascii).to_string()
        );
    }
}
