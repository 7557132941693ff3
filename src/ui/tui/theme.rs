//! Colour themes keyed by meaning (semantic roles with fallbacks), loaded from TOML with
//! positioned errors (rendered by `crate::diag`); the bundled themes are compiled in,
//! `NO_COLOR` strips colours.

use std::ops::Range;
use std::path::Path;

use ratatui::style::{Color, Modifier, Style};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::diag::{self, Diagnostic, SourceFile};

/// What a piece of the screen means; a theme gives each a style.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    Text,
    Muted,
    Title,
    Border,
    BorderFocused,
    Selection,
    Redacted,
    SearchMatch,
    SearchCurrent,
    Error,
    Warning,
    Stderr,
    Timestamp,
    NodeTag,
    Keybar,
    KeybarKey,
    StatusPending,
    StatusRunning,
    StatusSucceeded,
    StatusFailed,
    StatusSkipped,
    StatusCancelled,
    Edge,
    EdgeTaken,
    EdgeUntaken,
    NodeUnsupported,
}

impl Role {
    /// Every role, in the order the docs list them.
    pub const ALL: [Role; 26] = [
        Role::Text,
        Role::Muted,
        Role::Title,
        Role::Border,
        Role::BorderFocused,
        Role::Selection,
        Role::Redacted,
        Role::SearchMatch,
        Role::SearchCurrent,
        Role::Error,
        Role::Warning,
        Role::Stderr,
        Role::Timestamp,
        Role::NodeTag,
        Role::Keybar,
        Role::KeybarKey,
        Role::StatusPending,
        Role::StatusRunning,
        Role::StatusSucceeded,
        Role::StatusFailed,
        Role::StatusSkipped,
        Role::StatusCancelled,
        Role::Edge,
        Role::EdgeTaken,
        Role::EdgeUntaken,
        Role::NodeUnsupported,
    ];

    /// The roles every bundled theme defines itself (the list).
    pub const KEY: [Role; 15] = [
        Role::StatusPending,
        Role::StatusRunning,
        Role::StatusSucceeded,
        Role::StatusFailed,
        Role::StatusSkipped,
        Role::Border,
        Role::BorderFocused,
        Role::Title,
        Role::Text,
        Role::Muted,
        Role::Selection,
        Role::Redacted,
        Role::SearchMatch,
        Role::Error,
        Role::Warning,
    ];

    /// The name used in theme files.
    pub fn name(self) -> &'static str {
        match self {
            Role::Text => "text",
            Role::Muted => "muted",
            Role::Title => "title",
            Role::Border => "border",
            Role::BorderFocused => "border.focused",
            Role::Selection => "selection",
            Role::Redacted => "redacted",
            Role::SearchMatch => "search.match",
            Role::SearchCurrent => "search.current",
            Role::Error => "error",
            Role::Warning => "warning",
            Role::Stderr => "stderr",
            Role::Timestamp => "timestamp",
            Role::NodeTag => "node.tag",
            Role::Keybar => "keybar",
            Role::KeybarKey => "keybar.key",
            Role::StatusPending => "status.pending",
            Role::StatusRunning => "status.running",
            Role::StatusSucceeded => "status.succeeded",
            Role::StatusFailed => "status.failed",
            Role::StatusSkipped => "status.skipped",
            Role::StatusCancelled => "status.cancelled",
            Role::Edge => "edge",
            Role::EdgeTaken => "edge.taken",
            Role::EdgeUntaken => "edge.untaken",
            Role::NodeUnsupported => "node.unsupported",
        }
    }

    /// The role whose style is used when a theme does not define this one.
    pub fn parent(self) -> Option<Role> {
        match self {
            Role::Text | Role::Selection => None,
            Role::Muted | Role::Title | Role::Border | Role::Redacted => Some(Role::Text),
            Role::Error | Role::Warning | Role::NodeTag => Some(Role::Text),
            Role::BorderFocused => Some(Role::Border),
            Role::SearchMatch => Some(Role::Selection),
            Role::SearchCurrent => Some(Role::SearchMatch),
            Role::Timestamp | Role::Keybar | Role::Stderr => Some(Role::Muted),
            Role::KeybarKey => Some(Role::Title),
            Role::StatusPending
            | Role::StatusRunning
            | Role::StatusSucceeded
            | Role::StatusFailed
            | Role::StatusSkipped => Some(Role::Text),
            Role::StatusCancelled => Some(Role::StatusSkipped),
            Role::Edge => Some(Role::Text),
            Role::EdgeTaken => Some(Role::StatusSucceeded),
            Role::EdgeUntaken => Some(Role::StatusSkipped),
            Role::NodeUnsupported => Some(Role::Warning),
        }
    }

    /// The style a role has when neither the theme nor any parent defines one.
    fn builtin(self) -> Style {
        match self {
            Role::Selection => Style::new().add_modifier(Modifier::REVERSED),
            _ => Style::new(),
        }
    }

    pub fn from_name(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.name() == name)
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// The themes compiled into the binary: name and TOML source.
pub const BUNDLED: [(&str, &str); 4] = [
    ("default", include_str!("../../../themes/default.toml")),
    ("light", include_str!("../../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../../themes/high-contrast.toml"),
    ),
    ("mono", include_str!("../../../themes/mono.toml")),
];

/// Largest theme file read.
pub const MAX_THEME_BYTES: u64 = 1024 * 1024;

/// A loaded theme: a resolved style for every role.
#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    name: String,
    /// What the file itself set (before fallbacks), for tests and `--list-themes`.
    defined: Vec<Role>,
    resolved: [Style; Role::ALL.len()],
}

impl Default for Theme {
    fn default() -> Self {
        // The default theme is tested to parse; fall back to bare styles if that ever broke.
        Theme::bundled("default").unwrap_or_else(|_| Theme::from_styles("default", &[]))
    }
}

impl Theme {
    /// The resolved style of a role (fallbacks applied).
    pub fn style(&self, role: Role) -> Style {
        self.resolved[role.index()]
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// True when the theme file set this role itself (not through a fallback).
    pub fn defines(&self, role: Role) -> bool {
        self.defined.contains(&role)
    }

    fn from_styles(name: &str, own: &[(Role, Style)]) -> Theme {
        let lookup = |r: Role| own.iter().find(|(x, _)| *x == r).map(|(_, s)| *s);
        let mut resolved = [Style::new(); Role::ALL.len()];
        for role in Role::ALL {
            let mut cur = Some(role);
            let mut style = role.builtin();
            while let Some(r) = cur {
                if let Some(s) = lookup(r) {
                    style = s;
                    break;
                }
                style = r.builtin();
                if style != Style::new() {
                    break;
                }
                cur = r.parent();
            }
            resolved[role.index()] = style;
        }
        Theme {
            name: name.to_string(),
            defined: own.iter().map(|(r, _)| *r).collect(),
            resolved,
        }
    }

    /// One of the compiled-in themes by name.
    pub fn bundled(name: &str) -> Result<Theme, ThemeError> {
        match BUNDLED.iter().find(|(n, _)| *n == name) {
            Some((n, src)) => parse_theme(src, &format!("<bundled {n}>"), Some(n)),
            None => Err(ThemeError::UnknownName {
                name: name.to_string(),
                did_you_mean: did_you_mean(name, BUNDLED.iter().map(|(n, _)| *n)),
            }),
        }
    }

    /// Parses a theme file's text; `origin` names it in errors (`file:line:col`).
    pub fn parse(src: &str, origin: &str) -> Result<Theme, ThemeError> {
        parse_theme(src, origin, None)
    }

    /// `--theme NAME|PATH`: a bundled name, else a path (anything with a `/` or ending in `.toml`
    /// is always a path).
    pub fn load(spec: &str) -> Result<Theme, ThemeError> {
        let looks_like_path = spec.contains('/') || spec.ends_with(".toml");
        if !looks_like_path && BUNDLED.iter().any(|(n, _)| *n == spec) {
            return Theme::bundled(spec);
        }
        if !looks_like_path && !Path::new(spec).exists() {
            return Theme::bundled(spec);
        }
        let io = |message: String| ThemeError::Io {
            path: spec.to_string(),
            message,
        };
        // A theme is a few hundred bytes; a huge file is a mistake, refused before reading.
        let size = std::fs::metadata(spec)
            .map_err(|e| io(e.to_string()))?
            .len();
        if size > MAX_THEME_BYTES {
            return Err(io(format!(
                "the file is {size} bytes; theme files are limited to {MAX_THEME_BYTES}"
            )));
        }
        let src = std::fs::read_to_string(spec).map_err(|e| io(e.to_string()))?;
        Theme::parse(&src, spec)
    }

    /// The theme for this run: `--theme` wins over `WFOP_THEME`, else the default; a non-empty
    /// `NO_COLOR` then strips colours. `env` looks up environment variables (testable).
    pub fn select(
        cli: Option<&str>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Theme, ThemeError> {
        let from_env = env("WFOP_THEME").filter(|s| !s.is_empty());
        let theme = match cli.or(from_env.as_deref()) {
            Some(spec) => Theme::load(spec)?,
            None => Theme::bundled("default")?,
        };
        let no_color = env("NO_COLOR").is_some_and(|v| !v.is_empty());
        Ok(if no_color {
            theme.without_color()
        } else {
            theme
        })
    }

    /// The same theme with every colour removed and every modifier kept (`NO_COLOR`).
    pub fn without_color(mut self) -> Theme {
        for s in self.resolved.iter_mut() {
            *s = strip_color(*s);
        }
        self
    }
}

/// Removes fg, bg and underline colour, keeps modifiers.
pub fn strip_color(s: Style) -> Style {
    let mut out = Style::new()
        .add_modifier(s.add_modifier)
        .remove_modifier(s.sub_modifier);
    // Keep "reset to terminal default" meaning without naming a colour.
    if s.fg.is_some() {
        out.fg = Some(Color::Reset);
    }
    if s.bg.is_some() {
        out.bg = Some(Color::Reset);
    }
    out
}

/// Why a theme could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ThemeError {
    #[error("cannot read theme {path}: {message}")]
    Io { path: String, message: String },
    #[error(
        "unknown theme `{name}` (bundled: {}; or give a path to a .toml file){}",
        bundled_names(),
        did_you_mean.as_ref().map(|d| format!("; did you mean `{d}`?")).unwrap_or_default()
    )]
    UnknownName {
        name: String,
        did_you_mean: Option<String>,
    },
    /// Every problem of a theme file, in file order; shown as a count and then each problem
    /// as a diagnostic (`crate::diag::render`) at `origin:line:col`.
    #[error("{}", render_problems(origin, text, problems))]
    Invalid {
        origin: String,
        /// The theme's text, for the excerpts.
        text: String,
        problems: Vec<Problem>,
    },
}

/// One positioned problem in a theme file (1-based line and column, in characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: usize,
    pub col: usize,
    pub message: String,
    pub help: Option<String>,
    pub source_line: String,
    /// The bytes of the theme's text it is about.
    pub span: Range<usize>,
}

fn bundled_names() -> String {
    let names: Vec<&str> = BUNDLED.iter().map(|(n, _)| *n).collect();
    names.join(", ")
}

/// `origin: N errors in the theme`, then each problem with its source line and a marker
/// labelled with its help.
fn render_problems(origin: &str, text: &str, problems: &[Problem]) -> String {
    let diagnostics: Vec<Diagnostic> = problems
        .iter()
        .map(|p| Diagnostic::error(p.span.clone(), &p.message, p.help.as_deref().unwrap_or("")))
        .collect();
    let n = problems.len();
    let rendered = diag::render(&SourceFile::from_text(origin, text), &diagnostics, false);
    format!(
        "{origin}: {n} error{} in the theme\n{}",
        if n == 1 { "" } else { "s" },
        rendered.trim_end()
    )
}

fn did_you_mean<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Option<String> {
    diag::did_you_mean(word, candidates).map(str::to_string)
}

struct Parser<'s> {
    src: &'s str,
    problems: Vec<(usize, Problem)>,
    own: Vec<(Role, Style)>,
}

const STYLE_KEYS: [&str; 8] = [
    "fg",
    "bg",
    "bold",
    "italic",
    "underline",
    "reversed",
    "dim",
    "crossed_out",
];

const META_KEYS: [&str; 3] = ["name", "description", "extends"];

impl Parser<'_> {
    fn problem(&mut self, span: Range<usize>, message: String, help: Option<String>) {
        let (line, col) = diag::line_col(self.src, span.start);
        let source_line = self.src.lines().nth(line - 1).unwrap_or("").to_string();
        self.problems.push((
            span.start,
            Problem {
                line,
                col,
                message,
                help,
                source_line,
                span,
            },
        ));
    }

    fn is_role_prefix(path: &str) -> bool {
        Role::ALL.iter().any(|r| {
            r.name()
                .strip_prefix(path)
                .is_some_and(|rest| rest.starts_with('.'))
        })
    }

    fn unknown_role(&mut self, path: &str, span: Range<usize>) {
        let help = did_you_mean(path, Role::ALL.iter().map(|r| r.name()))
            .map(|d| format!("did you mean `{d}`?"))
            .or_else(|| Some("see docs/tui.md for the list of roles".to_string()));
        self.problem(span, format!("unknown role `{path}`"), help);
    }

    /// Walks a table whose keys continue `prefix` (dotted keys and `[a.b]` headers both work).
    fn walk(&mut self, table: &DeTable<'_>, prefix: &str) {
        for (key, value) in table.iter() {
            let k: &str = key.get_ref();
            if prefix.is_empty() && META_KEYS.contains(&k) {
                if !matches!(value.get_ref(), DeValue::String(_)) {
                    self.problem(value.span(), format!("`{k}` must be a string"), None);
                }
                continue;
            }
            let path = if prefix.is_empty() {
                k.to_string()
            } else {
                format!("{prefix}.{k}")
            };
            let role = Role::from_name(&path);
            match value.get_ref() {
                DeValue::Table(t) => {
                    let has_attrs = t.iter().any(|(k, _)| STYLE_KEYS.contains(&&**k.get_ref()));
                    match role {
                        Some(r) => {
                            let style = self.style(t);
                            self.own.retain(|(x, _)| *x != r);
                            self.own.push((r, style));
                        }
                        None if has_attrs || !Self::is_role_prefix(&path) => {
                            self.unknown_role(&path, key.span());
                            continue;
                        }
                        None => {}
                    }
                    let mut children = DeTable::new();
                    for (ck, cv) in t.iter() {
                        if !STYLE_KEYS.contains(&&**ck.get_ref()) {
                            children.insert(ck.clone(), cv.clone());
                        }
                    }
                    self.walk(&children, &path);
                }
                DeValue::String(s) => match role {
                    Some(r) => {
                        if let Some(c) = self.color(s, value.span()) {
                            self.own.retain(|(x, _)| *x != r);
                            self.own.push((r, Style::new().fg(c)));
                        }
                    }
                    None => self.unknown_role(&path, key.span()),
                },
                other => {
                    if role.is_none() {
                        self.unknown_role(&path, key.span());
                    } else {
                        self.problem(
                            value.span(),
                            format!(
                                "`{path}` must be a table such as {{ fg = \"red\", bold = true }} or a colour name, not {}",
                                other.type_str()
                            ),
                            None,
                        );
                    }
                }
            }
        }
    }

    fn style(&mut self, t: &DeTable<'_>) -> Style {
        let mut style = Style::new();
        for (key, value) in t.iter() {
            let k: &str = key.get_ref();
            let modifier = match k {
                "fg" | "bg" => {
                    let color = match value.get_ref() {
                        DeValue::String(s) => self.color(s, value.span()),
                        DeValue::Integer(i) => {
                            match i64::from_str_radix(i.as_str(), i.radix()).ok() {
                                Some(n @ 0..=255) => Some(Color::Indexed(n as u8)),
                                _ => {
                                    self.problem(
                                        value.span(),
                                        "a colour index must be between 0 and 255".to_string(),
                                        None,
                                    );
                                    None
                                }
                            }
                        }
                        other => {
                            self.problem(
                                value.span(),
                                format!(
                                    "`{k}` must be a colour name, \"#rrggbb\" or 0-255, not {}",
                                    other.type_str()
                                ),
                                None,
                            );
                            None
                        }
                    };
                    if let Some(c) = color {
                        style = if k == "fg" { style.fg(c) } else { style.bg(c) };
                    }
                    continue;
                }
                "bold" => Modifier::BOLD,
                "italic" => Modifier::ITALIC,
                "underline" => Modifier::UNDERLINED,
                "reversed" => Modifier::REVERSED,
                "dim" => Modifier::DIM,
                "crossed_out" => Modifier::CROSSED_OUT,
                _ => continue, // a child role, walked by the caller
            };
            match value.get_ref() {
                DeValue::Boolean(true) => style = style.add_modifier(modifier),
                DeValue::Boolean(false) => style = style.remove_modifier(modifier),
                other => self.problem(
                    value.span(),
                    format!("`{k}` must be true or false, not {}", other.type_str()),
                    None,
                ),
            }
        }
        style
    }

    fn color(&mut self, s: &str, span: Range<usize>) -> Option<Color> {
        match parse_color(s) {
            Ok(c) => Some(c),
            Err(ColorError::BadHex) => {
                self.problem(
                    span,
                    format!("bad hex colour `{s}`"),
                    Some("write it as \"#rrggbb\" or \"#rgb\"".to_string()),
                );
                None
            }
            Err(ColorError::UnknownName) => {
                let norm = normalize_color_name(s);
                let help = did_you_mean(&norm, COLOR_NAMES.iter().map(|(n, _)| *n))
                    .map(|d| format!("did you mean `{d}`?"))
                    .or_else(|| {
                        Some(
                            "use one of the 16 ANSI names (red, bright-red, …), \"#rrggbb\" or 0-255"
                                .to_string(),
                        )
                    });
                self.problem(span, format!("unknown colour `{s}`"), help);
                None
            }
        }
    }
}

/// The 16 ANSI colour names (plus `reset`); `white` is ANSI 7 and `bright-white` ANSI 15.
const COLOR_NAMES: [(&str, Color); 20] = [
    ("reset", Color::Reset),
    ("default", Color::Reset),
    ("black", Color::Black),
    ("red", Color::Red),
    ("green", Color::Green),
    ("yellow", Color::Yellow),
    ("blue", Color::Blue),
    ("magenta", Color::Magenta),
    ("cyan", Color::Cyan),
    ("white", Color::Gray),
    ("bright-black", Color::DarkGray),
    ("bright-red", Color::LightRed),
    ("bright-green", Color::LightGreen),
    ("bright-yellow", Color::LightYellow),
    ("bright-blue", Color::LightBlue),
    ("bright-magenta", Color::LightMagenta),
    ("bright-cyan", Color::LightCyan),
    ("bright-white", Color::White),
    ("gray", Color::DarkGray),
    ("grey", Color::DarkGray),
];

enum ColorError {
    BadHex,
    UnknownName,
}

fn normalize_color_name(s: &str) -> String {
    let lower = s.trim().to_ascii_lowercase().replace(['_', ' '], "-");
    match lower.strip_prefix("bright") {
        Some(rest) if !rest.starts_with('-') && !rest.is_empty() => format!("bright-{rest}"),
        _ => lower,
    }
}

fn parse_color(s: &str) -> Result<Color, ColorError> {
    if let Some(hex) = s.trim().strip_prefix('#') {
        let digits: Option<Vec<u8>> = hex
            .chars()
            .map(|c| c.to_digit(16).map(|d| d as u8))
            .collect();
        return match digits.as_deref() {
            Some([r1, r2, g1, g2, b1, b2]) => {
                Ok(Color::Rgb(r1 * 16 + r2, g1 * 16 + g2, b1 * 16 + b2))
            }
            Some([r, g, b]) => Ok(Color::Rgb(r * 17, g * 17, b * 17)),
            _ => Err(ColorError::BadHex),
        };
    }
    let norm = normalize_color_name(s);
    COLOR_NAMES
        .iter()
        .find(|(n, _)| *n == norm)
        .map(|(_, c)| *c)
        .ok_or(ColorError::UnknownName)
}

fn parse_theme(src: &str, origin: &str, bundled_name: Option<&str>) -> Result<Theme, ThemeError> {
    let invalid = |problems: Vec<(usize, Problem)>| ThemeError::Invalid {
        origin: origin.to_string(),
        text: src.to_string(),
        problems: problems.into_iter().map(|(_, p)| p).collect(),
    };
    let mut parser = Parser {
        src,
        problems: Vec::new(),
        own: Vec::new(),
    };
    let table: Spanned<DeTable<'_>> = match DeTable::parse(src) {
        Ok(t) => t,
        Err(e) => {
            let span = e.span().unwrap_or(0..0);
            parser.problem(span, format!("invalid TOML: {}", e.message().trim()), None);
            return Err(invalid(parser.problems));
        }
    };
    let table = table.get_ref();
    // `extends = "NAME"` starts from a bundled theme.
    let mut base: Vec<(Role, Style)> = Vec::new();
    if let Some(ext) = table.get("extends")
        && let DeValue::String(name) = ext.get_ref()
    {
        match BUNDLED.iter().find(|(n, _)| *n == name.as_ref()) {
            Some((n, _)) if Some(*n) == bundled_name => {
                parser.problem(ext.span(), "a theme cannot extend itself".to_string(), None)
            }
            Some((_, s)) => base = own_styles(s),
            None => {
                let help = did_you_mean(name, BUNDLED.iter().map(|(n, _)| *n))
                    .map(|d| format!("did you mean `{d}`?"));
                parser.problem(
                    ext.span(),
                    format!("`extends` names no bundled theme: `{name}`"),
                    help,
                )
            }
        }
    }
    parser.walk(table, "");
    if !parser.problems.is_empty() {
        parser.problems.sort_by_key(|(offset, _)| *offset);
        return Err(invalid(parser.problems));
    }
    let name = match table.get("name").map(|v| v.get_ref()) {
        Some(DeValue::String(s)) => s.to_string(),
        _ => bundled_name.unwrap_or(origin).to_string(),
    };
    for (r, s) in parser.own {
        base.retain(|(x, _)| *x != r);
        base.push((r, s));
    }
    Ok(Theme::from_styles(&name, &base))
}

/// The styles a (valid) theme source sets itself, before fallbacks.
fn own_styles(src: &str) -> Vec<(Role, Style)> {
    let Ok(table) = DeTable::parse(src) else {
        return Vec::new();
    };
    let mut parser = Parser {
        src,
        problems: Vec::new(),
        own: Vec::new(),
    };
    parser.walk(table.get_ref(), "");
    parser.own
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(src: &str) -> (Problem, String) {
        match Theme::parse(src, "my.toml") {
            Err(e @ ThemeError::Invalid { .. }) => {
                let text = e.to_string();
                let ThemeError::Invalid { problems, .. } = e else {
                    unreachable!()
                };
                (problems[0].clone(), text)
            }
            other => panic!("expected an error, got {other:?}"),
        }
    }

    #[test]
    fn every_bundled_theme_loads_and_defines_the_key_roles() {
        for (name, _) in BUNDLED {
            let t = Theme::bundled(name).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(t.name(), name);
            for role in Role::KEY {
                assert!(t.defines(role), "{name} does not define {}", role.name());
            }
        }
    }

    #[test]
    fn default_theme_uses_only_the_16_ansi_colours() {
        let t = Theme::bundled("default").unwrap();
        for role in Role::ALL {
            let s = t.style(role);
            for c in [s.fg, s.bg].into_iter().flatten() {
                assert!(
                    !matches!(c, Color::Rgb(..) | Color::Indexed(_)),
                    "{} uses {c:?}",
                    role.name()
                );
            }
        }
    }

    #[test]
    fn key_roles_have_the_expected_styles() {
        let t = Theme::bundled("default").unwrap();
        assert!(
            t.style(Role::Selection)
                .add_modifier
                .contains(Modifier::REVERSED)
        );
        assert_eq!(t.style(Role::StatusFailed).fg, Some(Color::Red));
        assert_eq!(t.style(Role::StatusSucceeded).fg, Some(Color::Green));
        assert_ne!(t.style(Role::BorderFocused), t.style(Role::Border));
        assert_ne!(t.style(Role::SearchMatch), t.style(Role::Text));
        assert_ne!(t.style(Role::SearchCurrent), t.style(Role::SearchMatch));
        assert_ne!(t.style(Role::Redacted), t.style(Role::Text));
        assert_ne!(t.style(Role::Stderr), t.style(Role::Text));
        // stderr is marked subtly, never painted as an error.
        assert_ne!(t.style(Role::Stderr), t.style(Role::Error));
        assert_ne!(t.style(Role::Stderr).fg, Some(Color::Red));
        // Statuses are told apart from each other.
        let statuses = [
            Role::StatusPending,
            Role::StatusRunning,
            Role::StatusSucceeded,
            Role::StatusFailed,
            Role::StatusSkipped,
        ];
        for (i, a) in statuses.iter().enumerate() {
            for b in &statuses[i + 1..] {
                assert_ne!(t.style(*a), t.style(*b), "{a:?} vs {b:?}");
            }
        }
        let mono = Theme::bundled("mono").unwrap();
        for role in Role::ALL {
            let s = mono.style(role);
            assert!(
                s.fg.is_none() && s.bg.is_none(),
                "mono colours {}",
                role.name()
            );
        }
    }

    #[test]
    fn high_contrast_reads_on_light_and_dark_backgrounds() {
        let t = Theme::bundled("high-contrast").unwrap();
        for role in Role::ALL {
            let s = t.style(role);
            // A colour only comes as a block with both its colours (or as reverse video), so
            // no text depends on the terminal's background: no white text on a white terminal.
            assert_eq!(s.fg.is_some(), s.bg.is_some(), "{}: {s:?}", role.name());
        }
        for role in [
            Role::Selection,
            Role::SearchMatch,
            Role::SearchCurrent,
            Role::BorderFocused,
            Role::Redacted,
            Role::Error,
            Role::Warning,
            Role::StatusFailed,
            Role::StatusRunning,
            Role::StatusSucceeded,
        ] {
            assert_ne!(t.style(role), t.style(Role::Text), "{}", role.name());
        }
        let statuses = [
            Role::StatusPending,
            Role::StatusRunning,
            Role::StatusSucceeded,
            Role::StatusFailed,
            Role::StatusSkipped,
            Role::StatusCancelled,
        ];
        for (i, a) in statuses.iter().enumerate() {
            for b in &statuses[i + 1..] {
                assert_ne!(t.style(*a), t.style(*b), "{a:?} vs {b:?}");
            }
        }
    }

    #[test]
    fn missing_roles_fall_back_to_their_parent() {
        let t = Theme::parse(
            "text = { fg = \"white\" }\nborder = { fg = \"blue\" }\nselection = { bg = \"cyan\" }\n",
            "t.toml",
        )
        .unwrap();
        assert_eq!(t.style(Role::StatusRunning), t.style(Role::Text));
        assert_eq!(t.style(Role::BorderFocused).fg, Some(Color::Blue));
        assert_eq!(t.style(Role::SearchMatch).bg, Some(Color::Cyan));
        assert_eq!(t.style(Role::SearchCurrent).bg, Some(Color::Cyan));
        assert_eq!(t.style(Role::Timestamp), t.style(Role::Muted));
        assert_eq!(t.style(Role::Muted), t.style(Role::Text));
        // Nothing defined at all: selection is still visible.
        let empty = Theme::parse("", "e.toml").unwrap();
        assert!(
            empty
                .style(Role::Selection)
                .add_modifier
                .contains(Modifier::REVERSED)
        );
        assert!(
            empty
                .style(Role::SearchMatch)
                .add_modifier
                .contains(Modifier::REVERSED)
        );
    }

    #[test]
    fn dotted_keys_headers_and_shorthand_all_work() {
        let src = "name = \"mine\"\n\"search.match\" = { bg = \"#abc\" }\n[status]\nrunning = { fg = \"bright-blue\", bold = true }\nfailed = \"#ff0000\"\n[border]\nfg = \"blue\"\n[border.focused]\nfg = 208\n";
        let t = Theme::parse(src, "t.toml").unwrap();
        assert_eq!(t.name(), "mine");
        assert_eq!(t.style(Role::StatusRunning).fg, Some(Color::LightBlue));
        assert!(
            t.style(Role::StatusRunning)
                .add_modifier
                .contains(Modifier::BOLD)
        );
        assert_eq!(t.style(Role::StatusFailed).fg, Some(Color::Rgb(255, 0, 0)));
        assert_eq!(t.style(Role::Border).fg, Some(Color::Blue));
        assert_eq!(t.style(Role::BorderFocused).fg, Some(Color::Indexed(208)));
        assert_eq!(
            t.style(Role::SearchMatch).bg,
            Some(Color::Rgb(0xaa, 0xbb, 0xcc))
        );
    }

    #[test]
    fn extends_starts_from_a_bundled_theme() {
        let t = Theme::parse(
            "extends = \"default\"\nerror = { fg = \"magenta\" }\n",
            "t.toml",
        )
        .unwrap();
        let d = Theme::bundled("default").unwrap();
        assert_eq!(t.style(Role::Error).fg, Some(Color::Magenta));
        assert_eq!(t.style(Role::StatusFailed), d.style(Role::StatusFailed));
        let (p, _) = err("extends = \"defualt\"\n");
        assert!(p.help.unwrap().contains("default"));
    }

    #[test]
    fn no_color_strips_colours_and_keeps_modifiers() {
        let vars = |k: &str| (k == "NO_COLOR").then(|| "1".to_string());
        let t = Theme::select(None, vars).unwrap();
        for role in Role::ALL {
            let s = t.style(role);
            assert!(matches!(s.fg, None | Some(Color::Reset)), "{}", role.name());
            assert!(matches!(s.bg, None | Some(Color::Reset)), "{}", role.name());
        }
        assert!(
            t.style(Role::Selection)
                .add_modifier
                .contains(Modifier::REVERSED)
        );
        assert!(t.style(Role::Title).add_modifier.contains(Modifier::BOLD));
        // What must stay visible without colour still differs from plain text.
        for role in [
            Role::Selection,
            Role::SearchMatch,
            Role::SearchCurrent,
            Role::BorderFocused,
            Role::Redacted,
            Role::StatusFailed,
            Role::StatusRunning,
        ] {
            assert_ne!(t.style(role), t.style(Role::Text), "{}", role.name());
        }
        // An empty NO_COLOR does not count.
        let empty = |k: &str| (k == "NO_COLOR").then(String::new);
        let t = Theme::select(None, empty).unwrap();
        assert_eq!(t.style(Role::StatusFailed).fg, Some(Color::Red));
    }

    #[test]
    fn theme_is_chosen_from_flag_then_env() {
        let env = |k: &str| (k == "WFOP_THEME").then(|| "light".to_string());
        assert_eq!(Theme::select(None, env).unwrap().name(), "light");
        assert_eq!(Theme::select(Some("mono"), env).unwrap().name(), "mono");
        assert_eq!(Theme::select(None, |_| None).unwrap().name(), "default");
        match Theme::select(Some("ligth"), |_| None) {
            Err(e @ ThemeError::UnknownName { .. }) => {
                assert!(e.to_string().contains("did you mean `light`"), "{e}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn theme_loads_from_a_path() {
        let dir = std::env::temp_dir().join(format!("wfop-theme-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.toml");
        std::fs::write(&path, "error = \"bright-red\"\n").unwrap();
        let t = Theme::load(path.to_str().unwrap()).unwrap();
        assert_eq!(t.style(Role::Error).fg, Some(Color::LightRed));
        std::fs::write(&path, "error = \"brigth-red\"\n").unwrap();
        let e = Theme::load(path.to_str().unwrap()).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!(
                "{}: 1 error in the theme\nerror: unknown colour",
                path.display()
            )),
            "{e}"
        );
        assert!(e.contains(&format!("┌─ {}:1:9\n", path.display())), "{e}");
        let missing = Theme::load("/nonexistent/x.toml").unwrap_err();
        assert!(matches!(missing, ThemeError::Io { .. }));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bad_toml_is_reported_with_its_position() {
        let (p, text) = err("text = { fg = \"red\" }\nmuted = { fg = \n");
        assert_eq!(p.line, 2);
        assert!(p.message.starts_with("invalid TOML"), "{}", p.message);
        assert!(text.contains("┌─ my.toml:2:"), "{text}");
    }

    #[test]
    fn unknown_role_suggests_a_close_one() {
        let (p, text) = err("text = {}\nstatus.runing = { fg = \"blue\" }\n");
        assert_eq!((p.line, p.col), (2, 8));
        assert_eq!(p.message, "unknown role `status.runing`");
        assert_eq!(p.help.as_deref(), Some("did you mean `status.running`?"));
        assert_eq!(
            text,
            "my.toml: 1 error in the theme\n\
             error: unknown role `status.runing`\n  \
             ┌─ my.toml:2:8\n  \
             │\n\
             2 │ status.runing = { fg = \"blue\" }\n  \
             │        ^^^^^^ did you mean `status.running`?"
        );
        let (p, _) = err("[bordr]\nfg = \"red\"\n");
        assert_eq!((p.line, p.col), (1, 2));
        assert_eq!(p.help.as_deref(), Some("did you mean `border`?"));
        let (p, _) = err("wibble = \"red\"\n");
        assert_eq!(p.message, "unknown role `wibble`");
    }

    #[test]
    fn unknown_colour_name_suggests_a_close_one() {
        let (p, _) = err("error = { fg = \"rde\" }\n");
        assert_eq!((p.line, p.col), (1, 16));
        assert_eq!(p.message, "unknown colour `rde`");
        assert_eq!(p.help.as_deref(), Some("did you mean `red`?"));
        let (p, _) = err("\n\nerror = { bg = \"brightgreen\", fg = \"purple\" }\n");
        assert_eq!((p.line, p.col), (3, 36));
    }

    #[test]
    fn bad_hex_colour_is_reported() {
        let (p, _) = err("muted = { fg = \"#12345g\" }\n");
        assert_eq!((p.line, p.col), (1, 16));
        assert_eq!(p.message, "bad hex colour `#12345g`");
        let (p, _) = err("muted = { fg = \"#1234\" }\n");
        assert_eq!(p.message, "bad hex colour `#1234`");
    }

    #[test]
    fn wrong_types_and_ranges_are_reported() {
        let (p, _) = err("title = { bold = \"yes\" }\n");
        assert_eq!(p.message, "`bold` must be true or false, not string");
        let (p, _) = err("title = { fg = 300 }\n");
        assert_eq!(p.message, "a colour index must be between 0 and 255");
        let (p, _) = err("title = 3\n");
        assert!(
            p.message.starts_with("`title` must be a table"),
            "{}",
            p.message
        );
    }

    #[test]
    fn all_problems_of_a_file_are_reported_in_order() {
        match Theme::parse("b = 1\na = \"x\"\ntext = { fg = \"nope\" }\n", "t.toml") {
            Err(ThemeError::Invalid { problems, .. }) => {
                let lines: Vec<usize> = problems.iter().map(|p| p.line).collect();
                assert_eq!(lines, vec![1, 2, 3]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn positions_count_characters_not_bytes() {
        let (p, _) = err("# thème\nerror = { fg = \"rouge\" } # é\n");
        assert_eq!((p.line, p.col), (2, 16));
        let (p, _) = err("title = { fg = \"é#\" }\n");
        assert_eq!((p.line, p.col), (1, 16));
    }
}
