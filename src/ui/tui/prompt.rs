//! The masked secret prompt: one field per missing secret, a fixed mask that never shows the
//! value or its length; its keys come from the keymap table, the value sits in a `SecretInput`.

use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Widget, Wrap};
use secrecy::SecretString;
use zeroize::{Zeroize, Zeroizing};

use super::keymap::{self, Action, Context};
use super::theme::{Role, Theme};
use crate::secrets::SecretInput;
use crate::secrets::prompt::Missing;

/// Shown for any non-empty value, whatever its length.
pub const MASK: &str = "••••••••";
/// Said when a key or paste would make the value longer than a secret may be.
const TOO_LONG: &str = "a secret is at most 1 MiB: that was not added";

/// One missing secret being typed.
pub struct SecretField {
    pub name: String,
    pub description: Option<String>,
    /// Nodes and parameters using it, e.g. `orchestrated (ibm_token)`.
    pub used_by: Vec<String>,
    value: SecretInput,
}

impl fmt::Debug for SecretField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretField")
            .field("name", &self.name)
            .field("value", &"[redacted]")
            .finish()
    }
}

/// What a key or paste did.
#[derive(Debug, PartialEq, Eq)]
pub enum PromptEvent {
    None,
    /// The current field was confirmed; the next one (if any) is active.
    Confirmed,
    /// Every field is filled: take the values with [`PromptState::take`].
    Done,
    /// Esc: the run is cancelled.
    Cancelled,
}

/// The prompt's state.
#[derive(Debug)]
pub struct PromptState {
    fields: Vec<SecretField>,
    current: usize,
    message: Option<String>,
    done: bool,
}

impl PromptState {
    pub fn new(missing: &[Missing]) -> Self {
        PromptState {
            fields: missing
                .iter()
                .map(|m| SecretField {
                    name: m.name.clone(),
                    description: m.description.clone(),
                    used_by: m.used_by.clone(),
                    value: SecretInput::new(),
                })
                .collect(),
            current: 0,
            message: None,
            done: missing.is_empty(),
        }
    }

    pub fn current(&self) -> Option<&SecretField> {
        self.fields.get(self.current)
    }

    pub fn is_done(&self) -> bool {
        self.done
    }

    /// A key press, looked up in the keymap table (`Context::Prompt`): a bound key is its
    /// action, any other character (and Tab) goes into the field.
    pub fn handle_key(&mut self, ev: &KeyEvent) -> PromptEvent {
        if ev.kind == KeyEventKind::Release || self.done {
            return PromptEvent::None;
        }
        match keymap::dispatch(&keymap::active(Context::Prompt), ev) {
            Some(action) => self.action(action),
            None => self.type_key(ev),
        }
    }

    /// What a bound key does here.
    fn action(&mut self, action: Action) -> PromptEvent {
        let Some(field) = self.fields.get_mut(self.current) else {
            return PromptEvent::None;
        };
        match action {
            Action::Submit => return self.confirm(),
            Action::Back => return PromptEvent::Cancelled,
            Action::ClearInput => field.value.clear(),
            Action::DeleteBack => field.value.pop_char(),
            _ => return PromptEvent::None,
        }
        self.message = None;
        PromptEvent::None
    }

    /// A key that no binding takes: a character (or Tab) of the value; others are ignored.
    fn type_key(&mut self, ev: &KeyEvent) -> PromptEvent {
        let Some(field) = self.fields.get_mut(self.current) else {
            return PromptEvent::None;
        };
        let typed = match ev.code {
            KeyCode::Tab => '\t',
            KeyCode::Char(c)
                if !ev
                    .modifiers
                    .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) =>
            {
                c
            }
            _ => return PromptEvent::None,
        };
        self.message = field.value.push_char(typed).err().map(|_| TOO_LONG.into());
        PromptEvent::None
    }

    /// Bracketed paste: the text goes in as one piece of the value, its line breaks (`\r`,
    /// `\r\n`, `\n` — terminals send CR) as `\n`, one trailing line break dropped; it never
    /// confirms. The pasted string is zeroized afterwards.
    pub fn handle_paste(&mut self, mut text: String) -> PromptEvent {
        if !self.done
            && let Some(field) = self.fields.get_mut(self.current)
        {
            let mut lines = Zeroizing::new(String::with_capacity(text.len()));
            let mut chars = text.chars().peekable();
            while let Some(c) = chars.next() {
                if c == '\r' {
                    chars.next_if_eq(&'\n');
                    lines.push('\n');
                } else {
                    lines.push(c);
                }
            }
            let trimmed = lines.strip_suffix('\n').unwrap_or(&lines);
            self.message = field.value.push_str(trimmed).err().map(|_| TOO_LONG.into());
        }
        text.zeroize();
        PromptEvent::None
    }

    /// An Enter that more input followed at once (text pasted without brackets, one key at a
    /// time): a line break inside the value, not a confirm.
    pub fn handle_line_break(&mut self) -> PromptEvent {
        if !self.done
            && let Some(field) = self.fields.get_mut(self.current)
        {
            self.message = field.value.push_char('\n').err().map(|_| TOO_LONG.into());
        }
        PromptEvent::None
    }

    fn confirm(&mut self) -> PromptEvent {
        let Some(field) = self.fields.get(self.current) else {
            return PromptEvent::None;
        };
        if field.value.is_blank() {
            self.message = Some("an empty value is not a secret: type or paste it".to_string());
            return PromptEvent::None;
        }
        self.message = None;
        self.current += 1;
        if self.current >= self.fields.len() {
            self.done = true;
            PromptEvent::Done
        } else {
            PromptEvent::Confirmed
        }
    }

    /// Hands out every confirmed value once (name, secret); later calls get nothing.
    pub fn take(&mut self) -> Vec<(String, SecretString)> {
        let upto = self.current.min(self.fields.len());
        self.fields[..upto]
            .iter_mut()
            .filter(|f| !f.value.is_empty())
            // A value typed here is UTF-8 (keys and pastes are text); the field is left empty
            // and wiped either way.
            .filter_map(|f| Some((f.name.clone(), f.value.take().ok()?)))
            .collect()
    }

    /// Draws the prompt as a centred dialog in `area`.
    pub fn draw(&self, theme: &Theme, area: Rect, buf: &mut Buffer) {
        let width = area.width.saturating_sub(4).min(72);
        let height = area.height.min(12 + self.fields.len() as u16);
        let rect = super::layout::centered(area, width, height);
        Clear.render(rect, buf);
        let mut lines = Vec::new();
        if let Some(f) = self.current() {
            lines.push(Line::from(vec![
                Span::styled("Secret ", theme.style(Role::Text)),
                Span::styled(f.name.clone(), theme.style(Role::Title)),
                Span::styled(
                    format!("  ({} of {})", self.current + 1, self.fields.len()),
                    theme.style(Role::Muted),
                ),
            ]));
            if let Some(d) = &f.description {
                lines.push(Line::styled(d.clone(), theme.style(Role::Text)));
            }
            if !f.used_by.is_empty() {
                lines.push(Line::styled(
                    format!("used by: {}", f.used_by.join(", ")),
                    theme.style(Role::Muted),
                ));
            }
            lines.push(Line::raw(""));
            let shown = if f.value.is_empty() {
                Span::styled(
                    "(type or paste; a paste is one value; nothing shown)",
                    theme.style(Role::Muted),
                )
            } else {
                Span::styled(MASK, theme.style(Role::Redacted))
            };
            lines.push(Line::from(vec![
                Span::styled("value: ", theme.style(Role::Text)),
                shown,
            ]));
            lines.push(Line::raw(""));
            if let Some(m) = &self.message {
                lines.push(Line::styled(m.clone(), theme.style(Role::Error)));
            }
        }
        let others: Vec<String> = self
            .fields
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let mark = if i < self.current {
                    "✓"
                } else if i == self.current {
                    "›"
                } else {
                    " "
                };
                format!("{mark} {}", f.name)
            })
            .collect();
        if self.fields.len() > 1 {
            lines.push(Line::styled(others.join("   "), theme.style(Role::Muted)));
        }
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.style(Role::BorderFocused))
            .title(Span::styled(" secrets needed ", theme.style(Role::Title)))
            .title_bottom(Line::styled(
                format!(" {} ", keymap::hint(&[Context::Prompt])),
                theme.style(Role::Keybar),
            ));
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false })
            .render(rect, buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::tui::logview::tests::buf_text;
    use crossterm::event::KeyEventState;

    fn key(code: KeyCode, mods: KeyModifiers) -> KeyEvent {
        KeyEvent {
            code,
            modifiers: mods,
            kind: KeyEventKind::Press,
            state: KeyEventState::NONE,
        }
    }

    fn missing() -> Vec<Missing> {
        vec![
            Missing {
                name: "ibm_api_token".into(),
                description: Some("IBM Quantum API token".into()),
                used_by: vec!["orchestrated (ibm_token)".into()],
            },
            Missing {
                name: "market_key".into(),
                description: None,
                used_by: vec!["fetch (api_key)".into(), "risk (key)".into()],
            },
        ]
    }

    fn type_str(p: &mut PromptState, s: &str) {
        for c in s.chars() {
            p.handle_key(&key(KeyCode::Char(c), KeyModifiers::NONE));
        }
    }

    fn render(p: &PromptState) -> Buffer {
        let mut buf = Buffer::empty(Rect::new(0, 0, 80, 24));
        p.draw(&Theme::default(), buf.area, &mut buf);
        buf
    }

    #[test]
    fn typing_editing_and_confirming() {
        let mut p = PromptState::new(&missing());
        assert_eq!(
            p.handle_key(&key(KeyCode::Enter, KeyModifiers::NONE)),
            PromptEvent::None
        );
        assert!(buf_text(&render(&p)).contains("an empty value is not a secret"));
        type_str(&mut p, "wrong");
        p.handle_key(&key(KeyCode::Char('u'), KeyModifiers::CONTROL));
        type_str(&mut p, "s3cr3tX");
        p.handle_key(&key(KeyCode::Backspace, KeyModifiers::NONE));
        assert_eq!(
            p.handle_key(&key(KeyCode::Enter, KeyModifiers::NONE)),
            PromptEvent::Confirmed
        );
        assert_eq!(p.current().map(|f| f.name.as_str()), Some("market_key"));
        p.handle_paste("pasted-key-with spaces\n".to_string());
        assert_eq!(
            p.handle_key(&key(KeyCode::Enter, KeyModifiers::NONE)),
            PromptEvent::Done
        );
        let got = p.take();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].0, "ibm_api_token");
        assert!(crate::secrets::secret_equals(&got[0].1, "s3cr3t"));
        assert!(crate::secrets::secret_equals(
            &got[1].1,
            "pasted-key-with spaces"
        ));
        assert!(p.take().is_empty(), "take-once");
    }

    #[test]
    fn esc_and_ctrl_c_cancel() {
        let mut p = PromptState::new(&missing());
        type_str(&mut p, "abc");
        assert_eq!(
            p.handle_key(&key(KeyCode::Esc, KeyModifiers::NONE)),
            PromptEvent::Cancelled
        );
        assert_eq!(
            p.handle_key(&key(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            PromptEvent::Cancelled
        );
        assert!(p.take().is_empty());
    }

    #[test]
    fn paste_keeps_inner_newlines_and_grows_safely() {
        let mut p = PromptState::new(&missing());
        let long = "x".repeat(1000);
        p.handle_paste("line1\nline2\r\n".to_string());
        p.handle_paste(long.clone());
        p.handle_key(&key(KeyCode::Enter, KeyModifiers::NONE));
        p.handle_paste("y".into());
        p.handle_key(&key(KeyCode::Enter, KeyModifiers::NONE));
        let got = p.take();
        assert!(crate::secrets::secret_equals(
            &got[0].1,
            &format!("line1\nline2{long}")
        ));
    }

    #[test]
    fn a_pasted_key_keeps_its_line_breaks_whatever_the_terminal_sends() {
        let pem = "-----BEGIN K-----\nQUJD\n-----END K-----";
        for sep in ["\r", "\n", "\r\n"] {
            let mut p = PromptState::new(&missing()[..1]);
            p.handle_paste(format!("{}{sep}", pem.replace('\n', sep)));
            assert_eq!(
                p.handle_key(&key(KeyCode::Enter, KeyModifiers::NONE)),
                PromptEvent::Done
            );
            assert!(
                crate::secrets::secret_equals(&p.take()[0].1, pem),
                "{sep:?}"
            );
        }
    }

    #[test]
    fn a_line_break_of_an_unbracketed_paste_does_not_confirm() {
        let mut p = PromptState::new(&missing()[..1]);
        type_str(&mut p, "line1");
        assert_eq!(p.handle_line_break(), PromptEvent::None);
        type_str(&mut p, "line2");
        p.handle_key(&key(KeyCode::Tab, KeyModifiers::NONE));
        type_str(&mut p, "x");
        assert_eq!(
            p.handle_key(&key(KeyCode::Enter, KeyModifiers::NONE)),
            PromptEvent::Done
        );
        assert!(crate::secrets::secret_equals(
            &p.take()[0].1,
            "line1\nline2\tx"
        ));
    }

    #[test]
    fn debug_never_shows_the_value() {
        let mut p = PromptState::new(&missing());
        type_str(&mut p, "hunter2-topsecret");
        let d = format!("{p:?}");
        assert!(!d.contains("hunter2"), "{d}");
        assert!(d.contains("[redacted]"));
    }

    #[test]
    fn rendering_never_shows_the_value_or_its_length() {
        let mut shots = Vec::new();
        for value in ["a", "hunter2", &"Z".repeat(300)] {
            let mut p = PromptState::new(&missing());
            type_str(&mut p, value);
            let buf = render(&p);
            let text = buf_text(&buf);
            if value.len() > 1 {
                assert!(!text.contains(value), "{value}");
            }
            assert!(!text.contains("hunter"));
            assert!(!text.contains("ZZ"));
            shots.push(buf);
        }
        assert_eq!(shots[0], shots[1], "same screen whatever the length");
        assert_eq!(shots[1], shots[2], "same screen whatever the length");
    }

    #[test]
    fn keys_come_from_the_table_and_its_hint_is_drawn() {
        // The border shows the table's prompt bindings, in table order.
        let hint = keymap::hint(&[Context::Prompt]);
        assert_eq!(hint, "Enter confirm · Esc cancel run · C-u clear");
        assert!(buf_text(&render(&PromptState::new(&missing()))).contains(&hint));
        // Every prompt binding does its action; unbound keys are text.
        let mut p = PromptState::new(&missing()[..1]);
        type_str(&mut p, "ab");
        p.handle_key(&key(KeyCode::Backspace, KeyModifiers::NONE));
        p.handle_key(&key(KeyCode::F(5), KeyModifiers::NONE));
        p.handle_key(&key(KeyCode::Char('x'), KeyModifiers::ALT));
        type_str(&mut p, "q?");
        assert_eq!(
            p.handle_key(&key(KeyCode::Enter, KeyModifiers::NONE)),
            PromptEvent::Done
        );
        assert!(crate::secrets::secret_equals(&p.take()[0].1, "aq?"));
    }

    #[test]
    fn a_value_over_the_limit_is_refused_with_a_message() {
        let mut p = PromptState::new(&missing()[..1]);
        p.handle_paste("x".repeat(crate::secrets::MAX_SECRET_LEN));
        p.handle_paste("more".into());
        assert!(buf_text(&render(&p)).contains("at most 1 MiB"));
        type_str(&mut p, "y");
        assert!(buf_text(&render(&p)).contains("at most 1 MiB"));
        p.handle_key(&key(KeyCode::Backspace, KeyModifiers::NONE));
        assert!(!buf_text(&render(&p)).contains("at most 1 MiB"));
        p.handle_key(&key(KeyCode::Enter, KeyModifiers::NONE));
        let got = p.take();
        assert!(crate::secrets::secret_equals(
            &got[0].1,
            &"x".repeat(crate::secrets::MAX_SECRET_LEN - 1)
        ));
    }

    #[test]
    fn snapshot_prompt() {
        let mut p = PromptState::new(&missing());
        let empty = buf_text(&render(&p));
        type_str(&mut p, "abc");
        insta::assert_snapshot!(buf_text(&render(&p)));
        assert!(empty.contains("(type or paste; a paste is one value; nothing shown)"));
    }
}
