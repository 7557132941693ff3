//! How many colours the terminal shows (`--color-depth`, `WFOP_COLOR_DEPTH`, `COLORTERM`, `TERM`,
//! terminfo's `colors`) and the mapping of any colour down to that depth (nearest of the 256 or 16).

use std::path::{Path, PathBuf};

use ratatui::buffer::Buffer;
use ratatui::style::Color;

/// The colours a terminal can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ColorDepth {
    /// No colour at all (`TERM=dumb`, `--color-depth none`): modifiers only.
    None,
    /// The 16 ANSI colours (SGR 30–37, 90–97).
    Ansi16,
    /// The 256-colour palette (SGR 38;5;N).
    Ansi256,
    /// 24-bit colour (SGR 38;2;R;G;B).
    TrueColor,
}

impl ColorDepth {
    /// The names `--color-depth` and `WFOP_COLOR_DEPTH` take (`auto` is `None` here).
    pub fn parse(s: &str) -> Result<Option<ColorDepth>, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(None),
            "none" | "mono" | "0" | "2" => Ok(Some(ColorDepth::None)),
            "16" | "8" | "ansi" => Ok(Some(ColorDepth::Ansi16)),
            "256" => Ok(Some(ColorDepth::Ansi256)),
            "truecolor" | "24bit" | "24-bit" | "rgb" => Ok(Some(ColorDepth::TrueColor)),
            other => Err(format!(
                "unknown colour depth `{}` (auto, none, 16, 256 or truecolor)",
                crate::safe::line(other)
            )),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ColorDepth::None => "none",
            ColorDepth::Ansi16 => "16",
            ColorDepth::Ansi256 => "256",
            ColorDepth::TrueColor => "truecolor",
        }
    }

    /// The depth of the terminal described by the environment: `COLORTERM=truecolor|24bit`, then
    /// `TERM` (`dumb`, `*-direct`, `*-256color`), then terminfo's `colors` (`colors` looks it up
    /// for a terminal name; `None` when there is no entry), else 16 colours.
    pub fn detect(
        env: impl Fn(&str) -> Option<String>,
        colors: impl FnOnce(&str) -> Option<i32>,
    ) -> ColorDepth {
        let colorterm = env("COLORTERM").unwrap_or_default().to_ascii_lowercase();
        if colorterm == "truecolor" || colorterm == "24bit" {
            return ColorDepth::TrueColor;
        }
        let term = env("TERM").unwrap_or_default().to_ascii_lowercase();
        if term == "dumb" {
            return ColorDepth::None;
        }
        if term.ends_with("-direct") || term.ends_with("-truecolor") {
            return ColorDepth::TrueColor;
        }
        if term.ends_with("-256color") || term.ends_with("-256colour") {
            return ColorDepth::Ansi256;
        }
        match (!term.is_empty()).then(|| colors(&term)).flatten() {
            Some(n) if n >= 1 << 24 => ColorDepth::TrueColor,
            Some(n) if n >= 256 => ColorDepth::Ansi256,
            // An 8-colour entry (`xterm`, `linux`) still shows the bright eight (or as bold).
            Some(n) if n >= 8 => ColorDepth::Ansi16,
            Some(_) => ColorDepth::None,
            // No entry: xterm, screen, tmux, linux, rxvt… all show at least 16.
            None => ColorDepth::Ansi16,
        }
    }
}

/// The 16 ANSI colours as ratatui names them, by their index.
pub const ANSI: [Color; 16] = [
    Color::Black,
    Color::Red,
    Color::Green,
    Color::Yellow,
    Color::Blue,
    Color::Magenta,
    Color::Cyan,
    Color::Gray,
    Color::DarkGray,
    Color::LightRed,
    Color::LightGreen,
    Color::LightYellow,
    Color::LightBlue,
    Color::LightMagenta,
    Color::LightCyan,
    Color::White,
];

/// xterm's default values of the 16 colours (what the nearest one is measured against).
const ANSI_RGB: [(u8, u8, u8); 16] = [
    (0, 0, 0),
    (205, 0, 0),
    (0, 205, 0),
    (205, 205, 0),
    (0, 0, 238),
    (205, 0, 205),
    (0, 205, 205),
    (229, 229, 229),
    (127, 127, 127),
    (255, 0, 0),
    (0, 255, 0),
    (255, 255, 0),
    (92, 92, 255),
    (255, 0, 255),
    (0, 255, 255),
    (255, 255, 255),
];

const CUBE: [u8; 6] = [0, 95, 135, 175, 215, 255];

/// The index of a named colour among the 16.
pub fn ansi_index(c: Color) -> Option<u8> {
    ANSI.iter().position(|a| *a == c).map(|i| i as u8)
}

/// The RGB value of a 256-palette index (xterm's palette).
pub fn indexed_rgb(i: u8) -> (u8, u8, u8) {
    match i {
        0..=15 => ANSI_RGB[usize::from(i)],
        16..=231 => {
            let i = i - 16;
            (
                CUBE[usize::from(i / 36)],
                CUBE[usize::from(i / 6 % 6)],
                CUBE[usize::from(i % 6)],
            )
        }
        _ => {
            let v = 8 + 10 * (i - 232);
            (v, v, v)
        }
    }
}

fn distance(a: (u8, u8, u8), b: (u8, u8, u8)) -> u32 {
    let d = |x: u8, y: u8| u32::from(x.abs_diff(y)).pow(2);
    // Weighted towards green, as the eye is.
    2 * d(a.0, b.0) + 4 * d(a.1, b.1) + 3 * d(a.2, b.2)
}

/// The nearest of the 16 ANSI colours.
pub fn nearest_16(rgb: (u8, u8, u8)) -> Color {
    let i = (0..16)
        .min_by_key(|&i| distance(rgb, ANSI_RGB[i]))
        .unwrap_or(7);
    ANSI[i]
}

/// The nearest colour of the 256 palette's fixed part (the cube and the greys: 16–255; the first
/// 16 differ from one terminal to the next).
pub fn nearest_256(rgb: (u8, u8, u8)) -> u8 {
    let level = |v: u8| (0..6).min_by_key(|&k| CUBE[k].abs_diff(v)).unwrap_or(0);
    let (r, g, b) = (level(rgb.0), level(rgb.1), level(rgb.2));
    let cube = 16 + 36 * r + 6 * g + b;
    let avg = (u32::from(rgb.0) + u32::from(rgb.1) + u32::from(rgb.2)) / 3;
    let grey = 232 + (avg.saturating_sub(3) / 10).min(23) as usize;
    let cube = cube as u8;
    let grey = grey as u8;
    if distance(rgb, indexed_rgb(grey)) < distance(rgb, indexed_rgb(cube)) {
        grey
    } else {
        cube
    }
}

/// A colour as a terminal of `depth` shows it: 24-bit colours become the nearest of the 256 or
/// the 16, palette indexes 0–15 become the named 16 (sent as SGR 30–37/90–97).
pub fn map(c: Color, depth: ColorDepth) -> Color {
    match (c, depth) {
        (Color::Reset, _) => Color::Reset,
        (_, ColorDepth::None) => Color::Reset,
        (Color::Indexed(i), _) if i < 16 => ANSI[usize::from(i)],
        (Color::Rgb(r, g, b), ColorDepth::Ansi256) => Color::Indexed(nearest_256((r, g, b))),
        (Color::Rgb(r, g, b), ColorDepth::Ansi16) => nearest_16((r, g, b)),
        (Color::Indexed(i), ColorDepth::Ansi16) => nearest_16(indexed_rgb(i)),
        (c, _) => c,
    }
}

/// Maps every cell's colours of a drawn frame to `depth` (themes and the services' own colours
/// alike). Nothing to do at 24 bits.
pub fn map_buffer(buf: &mut Buffer, depth: ColorDepth) {
    if depth == ColorDepth::TrueColor {
        return;
    }
    for cell in buf.content.iter_mut() {
        cell.fg = map(cell.fg, depth);
        cell.bg = map(cell.bg, depth);
        cell.underline_color = map(cell.underline_color, depth);
    }
}

/// The folders compiled terminfo entries are looked for in, in ncurses' order.
fn terminfo_dirs(env: &dyn Fn(&str) -> Option<String>) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(d) = env("TERMINFO").filter(|d| !d.is_empty()) {
        dirs.push(PathBuf::from(d));
    }
    if let Some(h) = env("HOME").filter(|h| !h.is_empty()) {
        dirs.push(Path::new(&h).join(".terminfo"));
    }
    if let Some(list) = env("TERMINFO_DIRS") {
        dirs.extend(list.split(':').filter(|d| !d.is_empty()).map(PathBuf::from));
    }
    for d in [
        "/etc/terminfo",
        "/lib/terminfo",
        "/usr/share/terminfo",
        "/usr/lib/terminfo",
        "/usr/share/lib/terminfo",
    ] {
        dirs.push(PathBuf::from(d));
    }
    dirs
}

/// Entries larger than this are not terminfo.
const MAX_TERMINFO_BYTES: u64 = 64 * 1024;

/// terminfo's `colors` for terminal `term`, read from its compiled entry (`x/xterm` or
/// `78/xterm`); `None` without one, or when it has no `colors`. Never fails.
pub fn terminfo_colors(term: &str, env: &dyn Fn(&str) -> Option<String>) -> Option<i32> {
    let first = term.chars().next()?;
    if term.contains('/') || term.starts_with('.') {
        return None;
    }
    for dir in terminfo_dirs(env) {
        for sub in [first.to_string(), format!("{:x}", first as u32)] {
            let path = dir.join(sub).join(term);
            let Ok(meta) = std::fs::metadata(&path) else {
                continue;
            };
            if !meta.is_file() || meta.len() > MAX_TERMINFO_BYTES {
                continue;
            }
            if let Ok(bytes) = std::fs::read(&path) {
                return parse_colors(&bytes);
            }
        }
    }
    None
}

/// The `colors` number (the 14th number) of a compiled terminfo entry, legacy (16-bit numbers)
/// or extended (32-bit numbers) format.
pub fn parse_colors(b: &[u8]) -> Option<i32> {
    let short = |i: usize| -> Option<i32> {
        let lo = *b.get(i)?;
        let hi = *b.get(i + 1)?;
        Some(i32::from(i16::from_le_bytes([lo, hi])))
    };
    const COLORS: usize = 13;
    let magic = short(0)?;
    let wide = match magic {
        0o432 => false,
        0o1036 => true,
        _ => return None,
    };
    let names = usize::try_from(short(2)?).ok()?;
    let bools = usize::try_from(short(4)?).ok()?;
    let nums = usize::try_from(short(6)?).ok()?;
    if nums <= COLORS {
        return None;
    }
    let mut at = 12 + names + bools;
    at += at % 2;
    let v = if wide {
        let p = at + 4 * COLORS;
        i32::from_le_bytes(b.get(p..p + 4)?.try_into().ok()?)
    } else {
        short(at + 2 * COLORS)?
    };
    (v >= 0).then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn depth_comes_from_colorterm_then_term_then_terminfo() {
        let none = |_: &str| None;
        type Case<'a> = (&'a [(&'a str, &'a str)], Option<i32>, ColorDepth);
        let cases: &[Case] = &[
            (&[("TERM", "xterm")], None, ColorDepth::Ansi16),
            (&[("TERM", "xterm")], Some(8), ColorDepth::Ansi16),
            (&[("TERM", "xterm-256color")], None, ColorDepth::Ansi256),
            (&[("TERM", "screen-256color")], Some(8), ColorDepth::Ansi256),
            (
                &[("TERM", "xterm"), ("COLORTERM", "truecolor")],
                None,
                ColorDepth::TrueColor,
            ),
            (
                &[("TERM", "xterm-256color"), ("COLORTERM", "24bit")],
                None,
                ColorDepth::TrueColor,
            ),
            (&[("TERM", "xterm-direct")], None, ColorDepth::TrueColor),
            (&[("TERM", "dumb")], Some(256), ColorDepth::None),
            (
                &[("TERM", "dumb"), ("COLORTERM", "truecolor")],
                None,
                ColorDepth::TrueColor,
            ),
            (&[("TERM", "linux")], Some(8), ColorDepth::Ansi16),
            (&[("TERM", "vt100")], Some(2), ColorDepth::None),
            (&[("TERM", "mystery")], Some(256), ColorDepth::Ansi256),
            (
                &[("TERM", "mystery")],
                Some(16_777_216),
                ColorDepth::TrueColor,
            ),
            (&[], None, ColorDepth::Ansi16),
            // A COLORTERM that says nothing about depth changes nothing.
            (
                &[("TERM", "xterm"), ("COLORTERM", "yes")],
                None,
                ColorDepth::Ansi16,
            ),
        ];
        for (vars, colors, want) in cases {
            let got = ColorDepth::detect(env(vars), |_| *colors);
            assert_eq!(got, *want, "{vars:?} colors={colors:?}");
        }
        assert_eq!(ColorDepth::detect(none, |_| Some(256)), ColorDepth::Ansi16);
    }

    #[test]
    fn depth_names_parse() {
        assert_eq!(ColorDepth::parse("auto"), Ok(None));
        assert_eq!(ColorDepth::parse("16"), Ok(Some(ColorDepth::Ansi16)));
        assert_eq!(ColorDepth::parse("256"), Ok(Some(ColorDepth::Ansi256)));
        assert_eq!(
            ColorDepth::parse("TrueColor"),
            Ok(Some(ColorDepth::TrueColor))
        );
        assert_eq!(ColorDepth::parse("none"), Ok(Some(ColorDepth::None)));
        let e = ColorDepth::parse("lots").unwrap_err();
        assert!(e.contains("unknown colour depth `lots`"), "{e}");
    }

    #[test]
    fn colours_map_to_the_nearest_of_the_depth() {
        use ColorDepth::*;
        // Pure colours land on their ANSI names.
        assert_eq!(map(Color::Rgb(255, 0, 0), Ansi16), Color::LightRed);
        assert_eq!(map(Color::Rgb(200, 10, 0), Ansi16), Color::Red);
        assert_eq!(map(Color::Rgb(0, 0, 0), Ansi16), Color::Black);
        assert_eq!(map(Color::Rgb(250, 250, 250), Ansi16), Color::White);
        assert_eq!(map(Color::Rgb(128, 128, 128), Ansi16), Color::DarkGray);
        // 256: the cube and the greys.
        assert_eq!(map(Color::Rgb(255, 0, 0), Ansi256), Color::Indexed(196));
        assert_eq!(
            map(Color::Rgb(0x87, 0xaf, 0xd7), Ansi256),
            Color::Indexed(110)
        );
        assert_eq!(
            map(Color::Rgb(0x80, 0x80, 0x80), Ansi256),
            Color::Indexed(244)
        );
        assert_eq!(
            map(Color::Rgb(0x12, 0x12, 0x12), Ansi256),
            Color::Indexed(233)
        );
        // Palette indexes: 0-15 become names at every depth; others shrink to 16.
        assert_eq!(map(Color::Indexed(1), TrueColor), Color::Red);
        assert_eq!(map(Color::Indexed(9), Ansi256), Color::LightRed);
        assert_eq!(map(Color::Indexed(196), Ansi256), Color::Indexed(196));
        assert_eq!(map(Color::Indexed(196), Ansi16), Color::LightRed);
        assert_eq!(map(Color::Indexed(28), Ansi16), Color::Green);
        assert_eq!(map(Color::Indexed(244), Ansi16), Color::DarkGray);
        // Named colours and Reset stay; nothing is left without colour support.
        assert_eq!(map(Color::Green, Ansi16), Color::Green);
        assert_eq!(map(Color::Reset, Ansi16), Color::Reset);
        assert_eq!(map(Color::Rgb(1, 2, 3), TrueColor), Color::Rgb(1, 2, 3));
        assert_eq!(map(Color::Green, None), Color::Reset);
        // Every cube colour maps back to its own index.
        for i in 16..=255u8 {
            let (r, g, b) = indexed_rgb(i);
            let back = nearest_256((r, g, b));
            assert_eq!(indexed_rgb(back), (r, g, b), "{i} -> {back}");
        }
    }

    #[test]
    fn buffer_cells_are_mapped() {
        use ratatui::layout::Rect;
        use ratatui::style::Style;
        let mut buf = Buffer::empty(Rect::new(0, 0, 3, 1));
        buf.set_string(
            0,
            0,
            "abc",
            Style::new()
                .fg(Color::Rgb(255, 0, 0))
                .bg(Color::Indexed(250)),
        );
        map_buffer(&mut buf, ColorDepth::Ansi16);
        assert_eq!(buf[(1, 0)].fg, Color::LightRed);
        assert_eq!(buf[(1, 0)].bg, Color::Gray);
        let mut keep = Buffer::empty(Rect::new(0, 0, 1, 1));
        keep.set_string(0, 0, "x", Style::new().fg(Color::Rgb(1, 2, 3)));
        map_buffer(&mut keep, ColorDepth::TrueColor);
        assert_eq!(keep[(0, 0)].fg, Color::Rgb(1, 2, 3));
    }

    /// A legacy-format entry: names, no booleans, `n` numbers with colors = `c`.
    fn entry(magic: u16, colors: i32) -> Vec<u8> {
        let wide = magic == 0o1036;
        let names = b"test|a test\0";
        let mut b = Vec::new();
        for v in [magic, names.len() as u16, 1, 15, 0, 0] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        b.extend_from_slice(names);
        b.push(1); // one boolean
        if b.len() % 2 == 1 {
            b.push(0);
        }
        for i in 0..15 {
            let v = if i == 13 { colors } else { -1 };
            if wide {
                b.extend_from_slice(&v.to_le_bytes());
            } else {
                b.extend_from_slice(&(v as i16).to_le_bytes());
            }
        }
        b
    }

    #[test]
    fn terminfo_colors_is_read_from_compiled_entries() {
        assert_eq!(parse_colors(&entry(0o432, 8)), Some(8));
        assert_eq!(parse_colors(&entry(0o1036, 16_777_216)), Some(16_777_216));
        assert_eq!(parse_colors(&entry(0o432, -1)), None);
        assert_eq!(parse_colors(b"not terminfo"), None);
        assert_eq!(parse_colors(&entry(0o432, 256)[..20]), None);
        assert_eq!(parse_colors(&[]), None);
        // From a folder as ncurses lays it out (`x/xterm` and the hex form `78/xterm`).
        let dir = std::env::temp_dir().join(format!("terminal-fit-ti-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("t")).unwrap();
        std::fs::create_dir_all(dir.join("6d")).unwrap();
        std::fs::write(dir.join("t/test"), entry(0o432, 88)).unwrap();
        std::fs::write(dir.join("6d/mine"), entry(0o1036, 256)).unwrap();
        let d = dir.to_string_lossy().to_string();
        let e = |k: &str| (k == "TERMINFO").then(|| d.clone());
        assert_eq!(terminfo_colors("test", &e), Some(88));
        assert_eq!(terminfo_colors("mine", &e), Some(256));
        assert_eq!(terminfo_colors("absent-terminal-xyz", &e), None);
        assert_eq!(terminfo_colors("../t/test", &e), None);
        assert_eq!(terminfo_colors("", &e), None);
        std::fs::remove_dir_all(&dir).unwrap();
        // The system's own xterm entry, when there is one, has 8 colours.
        let sys = |_: &str| None;
        if let Some(n) = terminfo_colors("xterm", &sys) {
            assert_eq!(n, 8);
        }
    }
}
