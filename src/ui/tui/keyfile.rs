//! The operator's keymap file (`$XDG_CONFIG_HOME/wfop/keys.toml`): per context, an action's
//! keys replace its default ones in the effective table; every problem is reported at file:line:col.

use std::ops::Range;
use std::path::{Path, PathBuf};

use crossterm::event::KeyCode;
use toml::de::{DeTable, DeValue};

use super::keymap::{Context, Key, Table};
use crate::diag::{self, Diagnostic, SourceFile};

/// Largest keymap file read.
pub const MAX_KEYFILE_BYTES: u64 = 1024 * 1024;

/// One positioned problem of a keymap file (1-based line and column, in characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: usize,
    pub col: usize,
    pub message: String,
    pub help: Option<String>,
    pub span: Range<usize>,
}

/// Why a keymap file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyfileError {
    #[error("cannot read the keymap file {path}: {message}")]
    Io { path: String, message: String },
    #[error("{}", render(origin, text, problems))]
    Invalid {
        origin: String,
        text: String,
        problems: Vec<Problem>,
    },
}

fn render(origin: &str, text: &str, problems: &[Problem]) -> String {
    let diagnostics: Vec<Diagnostic> = problems
        .iter()
        .map(|p| Diagnostic::error(p.span.clone(), &p.message, p.help.as_deref().unwrap_or("")))
        .collect();
    let n = problems.len();
    let rendered = diag::render(&SourceFile::from_text(origin, text), &diagnostics, false);
    format!(
        "{origin}: {n} error{} in the keymap file (fix it, or move it away to use the default keys)\n{}",
        if n == 1 { "" } else { "s" },
        rendered.trim_end()
    )
}

/// Where the keymap file is: `$XDG_CONFIG_HOME/wfop/keys.toml` (an absolute
/// `XDG_CONFIG_HOME`), else `~/.config/wfop/keys.toml`; `None` without either.
pub fn path(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let xdg = env("XDG_CONFIG_HOME").filter(|d| Path::new(d).is_absolute());
    let base = match xdg {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env("HOME").filter(|h| !h.is_empty())?).join(".config"),
    };
    Some(base.join("wfop").join("keys.toml"))
}

/// The effective table for this user: the defaults with the keymap file at [`path`] applied
/// when there is one.
pub fn load(env: &dyn Fn(&str) -> Option<String>) -> Result<Table, KeyfileError> {
    let Some(p) = path(env) else {
        return Ok(Table::defaults());
    };
    let shown = p.display().to_string();
    let io = |message: String| KeyfileError::Io {
        path: shown.clone(),
        message,
    };
    let meta = match std::fs::metadata(&p) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Table::defaults()),
        Err(e) => return Err(io(e.to_string())),
    };
    if meta.len() > MAX_KEYFILE_BYTES {
        return Err(io(format!(
            "the file is {} bytes; keymap files are limited to {MAX_KEYFILE_BYTES}",
            meta.len()
        )));
    }
    let text = std::fs::read_to_string(&p).map_err(|e| io(e.to_string()))?;
    parse(&text, &shown)
}

/// The contexts a keymap file may name: those of the default table.
fn contexts(defaults: &Table) -> Vec<Context> {
    let mut out: Vec<Context> = Vec::new();
    for r in &defaults.rows {
        if !out.contains(&r.context) {
            out.push(r.context);
        }
    }
    out
}

const KEY_HELP: &str = "a key is a character (`q`, `N`, `/`), a name (Enter, Esc, Tab, S-Tab, Space, Up, Down, Left, Right, PgUp, PgDn, Home, End, Bksp, Del, Ins, F1…F12) or C- and one of them (`C-c`)";

/// Reads a key as the docs, the key bar and the help write it (`C-c`, `PgUp`, `↑`, `q`).
pub fn parse_key(s: &str) -> Option<Key> {
    let lower = s.to_ascii_lowercase();
    for prefix in ["c-", "ctrl-", "ctrl+", "control-"] {
        if lower.starts_with(prefix) && s.len() > prefix.len() {
            let rest = &s[prefix.len()..];
            let k = parse_key(rest)?;
            if k.ctrl {
                return None;
            }
            let code = match k.code {
                KeyCode::Char(c) => KeyCode::Char(c.to_ascii_lowercase()),
                other => other,
            };
            return Some(Key { code, ctrl: true });
        }
    }
    let mut chars = s.chars();
    if let (Some(c), None) = (chars.next(), chars.clone().next()) {
        let code = match c {
            '↑' => KeyCode::Up,
            '↓' => KeyCode::Down,
            '←' => KeyCode::Left,
            '→' => KeyCode::Right,
            c if c.is_control() => return None,
            c => KeyCode::Char(c),
        };
        return Some(Key { code, ctrl: false });
    }
    let code = match lower.as_str() {
        "space" => KeyCode::Char(' '),
        "enter" | "return" => KeyCode::Enter,
        "esc" | "escape" => KeyCode::Esc,
        "tab" => KeyCode::Tab,
        "s-tab" | "shift-tab" | "backtab" => KeyCode::BackTab,
        "up" => KeyCode::Up,
        "down" => KeyCode::Down,
        "left" => KeyCode::Left,
        "right" => KeyCode::Right,
        "pgup" | "pageup" => KeyCode::PageUp,
        "pgdn" | "pagedown" => KeyCode::PageDown,
        "home" => KeyCode::Home,
        "end" => KeyCode::End,
        "bksp" | "backspace" => KeyCode::Backspace,
        "del" | "delete" => KeyCode::Delete,
        "ins" | "insert" => KeyCode::Insert,
        f if f.starts_with('f') => match f[1..].parse::<u8>() {
            Ok(n @ 1..=12) => KeyCode::F(n),
            _ => return None,
        },
        _ => return None,
    };
    Some(Key { code, ctrl: false })
}

struct Parser<'s> {
    src: &'s str,
    problems: Vec<Problem>,
}

impl Parser<'_> {
    fn problem(&mut self, span: Range<usize>, message: String, help: Option<String>) {
        // A value's span may start at the blank before it.
        let skip = self
            .src
            .get(span.start..span.end)
            .map_or(0, |t| t.len() - t.trim_start().len());
        let span = span.start + skip..span.end.max(span.start + skip);
        let (line, col) = diag::line_col(self.src, span.start);
        self.problems.push(Problem {
            line,
            col,
            message,
            help,
            span,
        });
    }
}

/// Applies a keymap file's text (`origin` names it in errors) over the default table.
pub fn parse(src: &str, origin: &str) -> Result<Table, KeyfileError> {
    parse_over(Table::defaults(), src, origin)
}

/// Applies a keymap file's text over `base`: each `[context]` table maps action names to a key
/// or a list of keys, which replace that action's keys in that context.
pub fn parse_over(mut table: Table, src: &str, origin: &str) -> Result<Table, KeyfileError> {
    let mut p = Parser {
        src,
        problems: Vec::new(),
    };
    let invalid = |problems: Vec<Problem>| KeyfileError::Invalid {
        origin: origin.to_string(),
        text: src.to_string(),
        problems,
    };
    let doc = match DeTable::parse(src) {
        Ok(t) => t,
        Err(e) => {
            let span = e.span().unwrap_or(0..0);
            p.problem(span, format!("invalid TOML: {}", e.message().trim()), None);
            return Err(invalid(p.problems));
        }
    };
    let ctxs = contexts(&table);
    let ctx_names: Vec<String> = ctxs.iter().map(|c| c.name()).collect();
    // Row index → the span of the key list that set it, for clash reports.
    let mut set_at: Vec<Option<Vec<Range<usize>>>> = vec![None; table.rows.len()];
    for (ckey, cval) in doc.get_ref().iter() {
        let cname: &str = ckey.get_ref();
        let Some(ctx) = ctxs.iter().copied().find(|c| c.name() == cname) else {
            let help = diag::did_you_mean(cname, ctx_names.iter().map(String::as_str))
                .map(|d| format!("did you mean `{d}`?"))
                .unwrap_or_else(|| format!("the contexts are {}", ctx_names.join(", ")));
            p.problem(
                ckey.span(),
                format!("unknown context `{cname}`"),
                Some(help),
            );
            continue;
        };
        let DeValue::Table(actions) = cval.get_ref() else {
            p.problem(
                cval.span(),
                format!("`{cname}` must be a table of actions, as [{cname}] with `action = \"key\"` lines"),
                None,
            );
            continue;
        };
        for (akey, aval) in actions.iter() {
            let aname: &str = akey.get_ref();
            let Some(row) = table
                .rows
                .iter()
                .position(|r| r.context == ctx && r.action.name() == aname)
            else {
                let here: Vec<String> = table
                    .rows
                    .iter()
                    .filter(|r| r.context == ctx)
                    .map(|r| r.action.name())
                    .collect();
                let elsewhere: Vec<String> = table
                    .rows
                    .iter()
                    .filter(|r| r.action.name() == aname)
                    .map(|r| r.context.name())
                    .collect();
                let (message, help) = if elsewhere.is_empty() {
                    let help = diag::did_you_mean(aname, here.iter().map(String::as_str))
                        .map(|d| format!("did you mean `{d}`?"))
                        .unwrap_or_else(|| {
                            format!("the actions of [{cname}] are {}", here.join(", "))
                        });
                    (format!("unknown action `{aname}`"), help)
                } else {
                    (
                        format!("`{aname}` has no key in [{cname}]"),
                        format!("it has keys in [{}]", elsewhere.join("], [")),
                    )
                };
                p.problem(akey.span(), message, Some(help));
                continue;
            };
            let items: Vec<(String, Range<usize>)> = match aval.get_ref() {
                DeValue::String(s) => vec![(s.to_string(), aval.span())],
                DeValue::Array(a) => {
                    let mut items = Vec::new();
                    for v in a.iter() {
                        match v.get_ref() {
                            DeValue::String(s) => items.push((s.to_string(), v.span())),
                            other => p.problem(
                                v.span(),
                                format!("a key is a string, not {}", other.type_str()),
                                Some(KEY_HELP.to_string()),
                            ),
                        }
                    }
                    items
                }
                other => {
                    p.problem(
                        aval.span(),
                        format!(
                            "`{aname}` takes a key or a list of keys, not {}",
                            other.type_str()
                        ),
                        Some(KEY_HELP.to_string()),
                    );
                    continue;
                }
            };
            if items.is_empty() {
                p.problem(
                    aval.span(),
                    format!("`{aname}` would have no key left"),
                    Some("every action keeps at least one key".to_string()),
                );
                continue;
            }
            let mut keys: Vec<Key> = Vec::new();
            let mut spans = Vec::new();
            for (text, span) in items {
                match parse_key(&text) {
                    Some(k) if keys.contains(&k) => {}
                    Some(k) => {
                        keys.push(k);
                        spans.push(span);
                    }
                    None => p.problem(
                        span,
                        format!("unknown key `{}`", crate::safe::line(&text)),
                        Some(KEY_HELP.to_string()),
                    ),
                }
            }
            if !keys.is_empty() {
                table.rows[row].keys = keys;
                set_at[row] = Some(spans);
            }
        }
    }
    // A key does one thing per context: report each key the file set that another row of the
    // same context also has.
    for (i, row) in table.rows.iter().enumerate() {
        let Some(spans) = &set_at[i] else { continue };
        for (k, span) in row.keys.iter().zip(spans) {
            let other = table
                .rows
                .iter()
                .enumerate()
                .find(|(j, r)| *j != i && r.context == row.context && r.keys.contains(k));
            if let Some((j, other)) = other {
                // Two rows the file set both: reported once, at the later one.
                if set_at[j].is_some() && j > i {
                    continue;
                }
                p.problem(
                    span.clone(),
                    format!(
                        "`{}` is bound twice in [{}]: `{}` and `{}`",
                        k.label(),
                        row.context.name(),
                        row.action.name(),
                        other.action.name()
                    ),
                    Some(format!(
                        "give `{}` another key in the same file",
                        other.action.name()
                    )),
                );
            }
        }
    }
    if p.problems.is_empty() {
        Ok(table)
    } else {
        p.problems.sort_by_key(|x| x.span.start);
        Err(invalid(p.problems))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::tui::keymap::{self, Action, active};
    use crossterm::event::{KeyEvent, KeyEventKind, KeyEventState, KeyModifiers};

    fn ev(code: KeyCode, mods: KeyModifiers) -> KeyEvent {
        KeyEvent {
            code,
            modifiers: mods,
            kind: KeyEventKind::Press,
            state: KeyEventState::NONE,
        }
    }
    fn ch(c: char) -> KeyEvent {
        ev(KeyCode::Char(c), KeyModifiers::NONE)
    }

    fn problems(src: &str) -> (Vec<Problem>, String) {
        match parse(src, "keys.toml") {
            Err(e @ KeyfileError::Invalid { .. }) => {
                let text = e.to_string();
                let KeyfileError::Invalid { problems, .. } = e else {
                    unreachable!()
                };
                (problems, text)
            }
            other => panic!("expected problems, got {other:?}"),
        }
    }

    #[test]
    fn names_derive_from_the_enums() {
        assert_eq!(Action::SearchStart.name(), "search-start");
        assert_eq!(Action::CopyAll.name(), "copy-all");
        assert_eq!(Action::Quit.name(), "quit");
        assert_eq!(Context::SearchInput.name(), "search-input");
        assert_eq!(Context::Logs.name(), "logs");
    }

    #[test]
    fn keys_parse_as_the_docs_write_them() {
        let k = |c: char| Key {
            code: KeyCode::Char(c),
            ctrl: false,
        };
        assert_eq!(parse_key("q"), Some(k('q')));
        assert_eq!(parse_key("N"), Some(k('N')));
        assert_eq!(parse_key("/"), Some(k('/')));
        assert_eq!(parse_key("Space"), Some(k(' ')));
        assert_eq!(
            parse_key("C-c"),
            Some(Key {
                code: KeyCode::Char('c'),
                ctrl: true
            })
        );
        assert_eq!(parse_key("ctrl+F"), parse_key("C-f"));
        assert_eq!(parse_key("PgUp").map(|k| k.code), Some(KeyCode::PageUp));
        assert_eq!(
            parse_key("pagedown").map(|k| k.code),
            Some(KeyCode::PageDown)
        );
        assert_eq!(parse_key("↑").map(|k| k.code), Some(KeyCode::Up));
        assert_eq!(parse_key("S-Tab").map(|k| k.code), Some(KeyCode::BackTab));
        assert_eq!(parse_key("F5").map(|k| k.code), Some(KeyCode::F(5)));
        for bad in ["", "F13", "Hyper-x", "C-C-c", "\u{7}", "qq", "C-"] {
            assert_eq!(parse_key(bad), None, "{bad:?}");
        }
        // Every label the key bar and help print reads back as its key.
        for row in Table::defaults().rows {
            for key in row.keys {
                assert_eq!(parse_key(&key.label()), Some(key), "{}", key.label());
            }
        }
    }

    #[test]
    fn a_file_rebinds_actions_in_the_one_effective_table() {
        let src = "# mine\n[logs]\ndown = \"J\"\n\n[global]\nsearch-start = [\"C-f\", \"/\"]\nquit = [\"Q\", \"C-c\"]\n";
        let t = parse(src, "keys.toml").unwrap();
        let logs = active(Context::Logs);
        let ctrl_f = ev(KeyCode::Char('f'), KeyModifiers::CONTROL);
        assert_eq!(t.dispatch(&logs, &ctrl_f), Some(Action::SearchStart));
        assert_eq!(t.dispatch(&logs, &ch('/')), Some(Action::SearchStart));
        assert_eq!(t.dispatch(&logs, &ch('J')), Some(Action::Down));
        assert_eq!(t.dispatch(&logs, &ch('j')), None, "j is no longer down");
        assert_eq!(
            t.dispatch(&logs, &ev(KeyCode::Down, KeyModifiers::NONE)),
            None,
            "the list replaces the defaults"
        );
        assert_eq!(t.dispatch(&logs, &ch('q')), None);
        assert_eq!(t.dispatch(&logs, &ch('Q')), Some(Action::Quit));
        // Other contexts keep their keys.
        assert_eq!(
            t.dispatch(&active(Context::Graph), &ch('j')),
            Some(Action::Down)
        );
        // The table's rows keep their order, texts and count.
        let d = Table::defaults();
        assert_eq!(t.rows.len(), d.rows.len());
        for (a, b) in t.rows.iter().zip(&d.rows) {
            assert_eq!((a.context, a.action, a.long), (b.context, b.action, b.long));
        }
        // An empty file, or one with comments only, is the defaults.
        assert_eq!(parse("", "k").unwrap(), d);
        assert_eq!(parse("# nothing\n", "k").unwrap(), d);
        // Swapping two keys is no clash.
        let t = parse("[logs]\nup = \"j\"\ndown = \"k\"\n", "k").unwrap();
        assert_eq!(t.dispatch(&logs, &ch('j')), Some(Action::Up));
        assert_eq!(t.dispatch(&logs, &ch('k')), Some(Action::Down));
    }

    #[test]
    fn errors_say_file_line_col_and_what_is_wrong() {
        let (p, text) = problems("[global]\nserch-start = \"/\"\n");
        assert_eq!((p[0].line, p[0].col), (2, 1));
        assert_eq!(p[0].message, "unknown action `serch-start`");
        assert_eq!(p[0].help.as_deref(), Some("did you mean `search-start`?"));
        assert!(
            text.starts_with("keys.toml: 1 error in the keymap file"),
            "{text}"
        );
        assert!(text.contains("┌─ keys.toml:2:1"), "{text}");

        let (p, _) = problems("[logs]\nsubmit = \"x\"\n");
        assert_eq!(p[0].message, "`submit` has no key in [logs]");
        assert!(
            p[0].help.as_deref().unwrap().contains("[prompt]"),
            "{:?}",
            p[0].help
        );

        let (p, _) = problems("[lgos]\nquit = \"x\"\n");
        assert_eq!((p[0].line, p[0].col), (1, 2));
        assert_eq!(p[0].message, "unknown context `lgos`");
        assert_eq!(p[0].help.as_deref(), Some("did you mean `logs`?"));

        let (p, _) = problems("[global]\nquit = [\"Q\", \"Ctrl-Shift-q\"]\n");
        assert_eq!((p[0].line, p[0].col), (2, 14));
        assert_eq!(p[0].message, "unknown key `Ctrl-Shift-q`");

        // A clash: `j` already moves down in the log pane.
        let (p, text) = problems("[logs]\ntop = [\"g\", \"j\"]\n");
        assert_eq!((p[0].line, p[0].col), (2, 13));
        assert_eq!(
            p[0].message,
            "`j` is bound twice in [logs]: `top` and `down`"
        );
        assert!(text.contains("keys.toml:2:13"), "{text}");
        // Two rebinds onto one key: one report, at the later one.
        let (p, _) = problems("[logs]\nup = \"x\"\ndown = \"x\"\n");
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].line, 3);

        let (p, _) = problems("[logs]\nup = []\n");
        assert_eq!(p[0].message, "`up` would have no key left");
        let (p, _) = problems("[logs]\nup = 3\n");
        assert_eq!(
            p[0].message,
            "`up` takes a key or a list of keys, not integer"
        );
        let (p, _) = problems("logs = 1\n");
        assert!(
            p[0].message.starts_with("`logs` must be a table"),
            "{}",
            p[0].message
        );
        let (p, _) = problems("[logs]\nup = \"k\n");
        assert!(p[0].message.starts_with("invalid TOML"), "{}", p[0].message);
        assert_eq!(p[0].line, 2);

        // Every problem of the file, in file order.
        let (p, text) = problems("[lgos]\n[logs]\nup = \"nope\"\nwibble = \"x\"\n");
        let lines: Vec<usize> = p.iter().map(|p| p.line).collect();
        assert_eq!(lines, vec![1, 3, 4]);
        assert!(text.starts_with("keys.toml: 3 errors"), "{text}");
    }

    #[test]
    fn the_file_is_found_where_xdg_says() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                vars.iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(
            path(&env(&[("XDG_CONFIG_HOME", "/x"), ("HOME", "/h")])),
            Some(PathBuf::from("/x/wfop/keys.toml"))
        );
        assert_eq!(
            path(&env(&[("XDG_CONFIG_HOME", "relative"), ("HOME", "/h")])),
            Some(PathBuf::from("/h/.config/wfop/keys.toml"))
        );
        assert_eq!(path(&env(&[])), None);
        let dir = std::env::temp_dir().join(format!("terminal-fit-keys-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("wfop")).unwrap();
        let d = dir.to_string_lossy().to_string();
        let e = move |k: &str| (k == "XDG_CONFIG_HOME").then(|| d.clone());
        assert_eq!(
            load(&e).unwrap(),
            Table::defaults(),
            "no file: the defaults"
        );
        std::fs::write(dir.join("wfop/keys.toml"), "[global]\nhelp = \"F1\"\n").unwrap();
        let t = load(&e).unwrap();
        assert_eq!(
            t.dispatch(
                &active(Context::Graph),
                &ev(KeyCode::F(1), KeyModifiers::NONE)
            ),
            Some(Action::Help)
        );
        std::fs::write(dir.join("wfop/keys.toml"), "[global]\nhelp = \"F99\"\n").unwrap();
        let e2 = load(&e).unwrap_err().to_string();
        assert!(e2.contains("keys.toml:2:8"), "{e2}");
        std::fs::remove_dir_all(&dir).unwrap();
        // The table the screen uses is the defaults unless one was installed.
        assert_eq!(keymap::table().rows.len(), Table::defaults().rows.len());
    }
}
