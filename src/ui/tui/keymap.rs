//! The one table of key bindings: it dispatches keys to actions and generates the context key
//! bar, the `?` help overlay and the key list in docs/tui.md, so help can never drift. The
//! effective table is [`BINDINGS`] with the keys the operator's keymap file (`keyfile`) gave.

use std::sync::OnceLock;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Widget};
use unicode_width::UnicodeWidthStr;

use super::theme::{Role, Theme};

/// Where a binding applies. Panes are focused with Tab; modal contexts take all keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Context {
    Global,
    Graph,
    /// The list of nodes (`v` toggles it with the graph).
    List,
    Mapping,
    Logs,
    /// Typing the list's filter (`f`).
    ListFilter,
    /// Typing a `/` query (or a `&` filter).
    SearchInput,
    /// The detail view of a failed node (its whole reason and problem document).
    Detail,
    /// A yes/no question (cancel, quit while running).
    Confirm,
    /// Stopping one node: as failed or as cancelled?
    StopDialog,
    Help,
    Prompt,
    /// Typing a line to the selected service's stdin (`i`).
    Input,
}

/// `SearchInput` → `search-input`: the stable names of contexts and actions in keymap files.
fn kebab(debug: String) -> String {
    let mut out = String::new();
    for (i, c) in debug.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('-');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

impl Context {
    /// Its name in keymap files (`logs`, `search-input`), derived from the variant.
    pub fn name(self) -> String {
        kebab(format!("{self:?}"))
    }

    pub fn title(self) -> &'static str {
        match self {
            Context::Global => "Everywhere",
            Context::Graph => "Graph pane",
            Context::List => "List pane",
            Context::ListFilter => "List filter input",
            Context::Mapping => "Mapping pane",
            Context::Logs => "Log pane",
            Context::SearchInput => "Search and filter input",
            Context::Detail => "Failure detail",
            Context::Confirm => "Confirmation",
            Context::StopDialog => "Stop dialog",
            Context::Help => "Help",
            Context::Prompt => "Secret prompt",
            Context::Input => "Input to a service",
        }
    }
}

/// What a key does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Quit,
    /// Leave the run going in its run host and quit.
    Detach,
    Help,
    FocusNext,
    FocusPrev,
    Up,
    Down,
    Left,
    Right,
    Select,
    Run,
    /// Rerun the finished run from the selected node, reusing the rest's outputs (asks first).
    RerunFrom,
    Cancel,
    ToggleAllNodes,
    SearchStart,
    SearchNext,
    SearchPrev,
    ToggleWrap,
    ToggleTimestamps,
    Save,
    Copy,
    CopyAll,
    Top,
    Bottom,
    PageUp,
    PageDown,
    Back,
    Submit,
    Yes,
    No,
    ClearInput,
    /// Delete the character before the cursor (text inputs).
    DeleteBack,
    /// Show the list of nodes instead of the graph, or the graph again.
    ToggleView,
    NextFailed,
    PrevFailed,
    NextRunning,
    PrevRunning,
    /// Filter the list by state or name.
    ListFilter,
    /// `&`: filter the log to matching lines with context.
    FilterStart,
    /// Substring or regular expression, in the search/filter input.
    ToggleRegex,
    /// More context lines around the filter's matches.
    MoreContext,
    /// Fewer context lines around the filter's matches.
    LessContext,
    /// Absolute (local time) or relative timestamps.
    ToggleTimeMode,
    /// Start or end a region selection in the log.
    Region,
    /// Stop the selected node (asks: failed or cancelled).
    StopNode,
    /// A new attempt of the selected node.
    RestartNode,
    /// In the stop dialog: the run treats the stopped node as failed.
    MarkFailed,
    /// In the stop dialog: the run treats the stopped node as cancelled.
    MarkCancelled,
    /// Open input mode on the selected node.
    InputStart,
    /// End the node's input (input mode).
    InputEof,
}

impl Action {
    /// Its name in keymap files (`search-start`, `copy-all`), derived from the variant.
    pub fn name(self) -> String {
        kebab(format!("{self:?}"))
    }
}

/// A key with its modifiers (Shift is ignored for characters: `N` is `N`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    pub code: KeyCode,
    pub ctrl: bool,
}

const fn k(c: char) -> Key {
    Key {
        code: KeyCode::Char(c),
        ctrl: false,
    }
}
const fn ctrl(c: char) -> Key {
    Key {
        code: KeyCode::Char(c),
        ctrl: true,
    }
}
const fn code(code: KeyCode) -> Key {
    Key { code, ctrl: false }
}

impl Key {
    pub fn label(&self) -> String {
        let base = match self.code {
            KeyCode::Char(' ') => "Space".to_string(),
            KeyCode::Char(c) => c.to_string(),
            KeyCode::Up => "↑".into(),
            KeyCode::Down => "↓".into(),
            KeyCode::Left => "←".into(),
            KeyCode::Right => "→".into(),
            KeyCode::Tab => "Tab".into(),
            KeyCode::BackTab => "S-Tab".into(),
            KeyCode::Enter => "Enter".into(),
            KeyCode::Esc => "Esc".into(),
            KeyCode::PageUp => "PgUp".into(),
            KeyCode::PageDown => "PgDn".into(),
            KeyCode::Home => "Home".into(),
            KeyCode::End => "End".into(),
            KeyCode::Backspace => "Bksp".into(),
            other => format!("{other:?}"),
        };
        if self.ctrl { format!("C-{base}") } else { base }
    }

    pub fn matches(&self, ev: &KeyEvent) -> bool {
        let ev_ctrl = ev.modifiers.contains(KeyModifiers::CONTROL);
        ev.code == self.code && ev_ctrl == self.ctrl && !ev.modifiers.contains(KeyModifiers::ALT)
    }
}

/// One row of the table.
#[derive(Debug, Clone, Copy)]
pub struct Binding {
    pub keys: &'static [Key],
    pub context: Context,
    pub action: Action,
    /// For the key bar; empty: not shown there.
    pub short: &'static str,
    /// For the help overlay and docs.
    pub long: &'static str,
}

use Action as A;
use Context as C;

/// Every binding. Order matters: the first match wins, and the key bar and help follow it.
#[rustfmt::skip]
pub static BINDINGS: &[Binding] = &[
    // Modal contexts first.
    Binding { keys: &[code(KeyCode::Enter)], context: C::Prompt, action: A::Submit, short: "confirm", long: "use the typed or pasted secret (empty is refused)" },
    Binding { keys: &[code(KeyCode::Esc), ctrl('c')], context: C::Prompt, action: A::Back, short: "cancel run", long: "cancel the run without starting anything" },
    Binding { keys: &[ctrl('u')], context: C::Prompt, action: A::ClearInput, short: "clear", long: "clear the field" },
    Binding { keys: &[code(KeyCode::Backspace)], context: C::Prompt, action: A::DeleteBack, short: "", long: "delete the last character (other keys, Tab and pastes are the value; nothing is shown)" },
    Binding { keys: &[code(KeyCode::Enter)], context: C::ListFilter, action: A::Submit, short: "keep", long: "keep the filter and leave the input (the list follows as you type)" },
    Binding { keys: &[code(KeyCode::Esc)], context: C::ListFilter, action: A::Back, short: "clear", long: "clear the filter and leave the input" },
    Binding { keys: &[ctrl('u')], context: C::ListFilter, action: A::ClearInput, short: "", long: "clear the text (a state word — failed, running, queued, done… — filters by state; other text by name, smart case)" },
    Binding { keys: &[code(KeyCode::Enter)], context: C::SearchInput, action: A::Submit, short: "search", long: "search the whole log for the text (smart case)" },
    Binding { keys: &[code(KeyCode::Esc)], context: C::SearchInput, action: A::Back, short: "cancel", long: "leave the search input" },
    Binding { keys: &[ctrl('u')], context: C::SearchInput, action: A::ClearInput, short: "", long: "clear the query" },
    Binding { keys: &[ctrl('r')], context: C::SearchInput, action: A::ToggleRegex, short: "regex", long: "regular expression or plain text (smart case either way; shown as re:)" },
    Binding { keys: &[code(KeyCode::Esc), k('q')], context: C::Detail, action: A::Back, short: "close", long: "close the failure detail (the node's logs are selected)" },
    Binding { keys: &[code(KeyCode::Up), k('k')], context: C::Detail, action: A::Up, short: "scroll", long: "scroll the detail up" },
    Binding { keys: &[code(KeyCode::Down), k('j')], context: C::Detail, action: A::Down, short: "", long: "scroll the detail down" },
    Binding { keys: &[code(KeyCode::PageUp)], context: C::Detail, action: A::PageUp, short: "", long: "page up" },
    Binding { keys: &[code(KeyCode::PageDown), k(' ')], context: C::Detail, action: A::PageDown, short: "", long: "page down" },
    Binding { keys: &[code(KeyCode::Enter)], context: C::Input, action: A::Submit, short: "send", long: "send the line and a newline to the service's stdin (shown here only: never logged or recorded)" },
    Binding { keys: &[ctrl('d')], context: C::Input, action: A::InputEof, short: "end input", long: "send the line typed so far, then end the service's input (its terminal's EOF character; a pipe is closed) and leave" },
    Binding { keys: &[code(KeyCode::Esc)], context: C::Input, action: A::Back, short: "leave", long: "leave input mode (the line typed so far is dropped)" },
    Binding { keys: &[ctrl('u')], context: C::Input, action: A::ClearInput, short: "", long: "clear the line" },
    Binding { keys: &[code(KeyCode::Backspace)], context: C::Input, action: A::DeleteBack, short: "", long: "delete the last character" },
    Binding { keys: &[k('y'), code(KeyCode::Enter)], context: C::Confirm, action: A::Yes, short: "yes", long: "confirm" },
    Binding { keys: &[k('n'), code(KeyCode::Esc)], context: C::Confirm, action: A::No, short: "no", long: "keep going" },
    Binding { keys: &[k('f')], context: C::StopDialog, action: A::MarkFailed, short: "failed", long: "stop it; the run treats it as failed (error paths, fail-fast, keep-going apply)" },
    Binding { keys: &[k('c')], context: C::StopDialog, action: A::MarkCancelled, short: "cancelled", long: "stop it; the run treats it as cancelled (what needs it is skipped)" },
    Binding { keys: &[code(KeyCode::Esc)], context: C::StopDialog, action: A::Back, short: "keep running", long: "leave it running" },
    Binding { keys: &[code(KeyCode::Esc), k('?'), k('q')], context: C::Help, action: A::Back, short: "close", long: "close the help" },
    Binding { keys: &[code(KeyCode::Up), k('k')], context: C::Help, action: A::Up, short: "scroll", long: "scroll the help up" },
    Binding { keys: &[code(KeyCode::Down), k('j')], context: C::Help, action: A::Down, short: "", long: "scroll the help down" },
    // Log pane.
    Binding { keys: &[code(KeyCode::Up), k('k')], context: C::Logs, action: A::Up, short: "", long: "previous line (pauses follow)" },
    Binding { keys: &[code(KeyCode::Down), k('j')], context: C::Logs, action: A::Down, short: "", long: "next line" },
    Binding { keys: &[code(KeyCode::Left), k('h')], context: C::Logs, action: A::Left, short: "", long: "scroll left (when not wrapping)" },
    Binding { keys: &[code(KeyCode::Right), k('l')], context: C::Logs, action: A::Right, short: "", long: "scroll right (when not wrapping)" },
    Binding { keys: &[code(KeyCode::PageUp)], context: C::Logs, action: A::PageUp, short: "", long: "page up (pauses follow)" },
    Binding { keys: &[code(KeyCode::PageDown)], context: C::Logs, action: A::PageDown, short: "", long: "page down" },
    Binding { keys: &[k('g'), code(KeyCode::Home)], context: C::Logs, action: A::Top, short: "", long: "oldest kept line" },
    Binding { keys: &[k('G'), code(KeyCode::End)], context: C::Logs, action: A::Bottom, short: "follow", long: "newest line, and follow again" },
    Binding { keys: &[k('&')], context: C::Logs, action: A::FilterStart, short: "filter", long: "filter: only matching lines, with context lines (empty: all)" },
    Binding { keys: &[k('+')], context: C::Logs, action: A::MoreContext, short: "", long: "filter: one more context line around each match" },
    Binding { keys: &[k('-')], context: C::Logs, action: A::LessContext, short: "", long: "filter: one context line fewer" },
    Binding { keys: &[k('n')], context: C::Logs, action: A::SearchNext, short: "next", long: "next match shown (wraps; a filter alone: its next match)" },
    Binding { keys: &[k('N')], context: C::Logs, action: A::SearchPrev, short: "", long: "previous match shown (wraps around)" },
    Binding { keys: &[k('w')], context: C::Logs, action: A::ToggleWrap, short: "wrap", long: "wrap long lines on or off" },
    Binding { keys: &[k('t')], context: C::Logs, action: A::ToggleTimestamps, short: "", long: "timestamps on or off" },
    Binding { keys: &[k('T')], context: C::Logs, action: A::ToggleTimeMode, short: "", long: "timestamps: local time, or time since the run started" },
    Binding { keys: &[k('V')], context: C::Logs, action: A::Region, short: "region", long: "start a region here (moving extends it, y copies it), or drop it" },
    Binding { keys: &[k('a')], context: C::Logs, action: A::ToggleAllNodes, short: "", long: "all nodes interleaved, or the selected node only" },
    Binding { keys: &[k('y')], context: C::Logs, action: A::Copy, short: "copy", long: "copy the selected line or region (OSC 52: over SSH, in tmux)" },
    Binding { keys: &[k('Y')], context: C::Logs, action: A::CopyAll, short: "", long: "copy the whole log shown (OSC 52)" },
    Binding { keys: &[k('s')], context: C::Logs, action: A::Save, short: "save", long: "save the shown (redacted) log to a file (mode 0600)" },
    Binding { keys: &[code(KeyCode::Esc)], context: C::Logs, action: A::Back, short: "", long: "drop the region, else the search highlight, else the filter" },
    // Graph pane.
    Binding { keys: &[code(KeyCode::Up), k('k')], context: C::Graph, action: A::Up, short: "", long: "select the node above" },
    Binding { keys: &[code(KeyCode::Down), k('j')], context: C::Graph, action: A::Down, short: "", long: "select the node below" },
    Binding { keys: &[code(KeyCode::Left), k('h')], context: C::Graph, action: A::Left, short: "select", long: "select the previous layer's node" },
    Binding { keys: &[code(KeyCode::Right), k('l')], context: C::Graph, action: A::Right, short: "", long: "select the next layer's node" },
    Binding { keys: &[code(KeyCode::Enter)], context: C::Graph, action: A::Select, short: "logs", long: "show the selected node's logs (a failed node: its whole failure reason first)" },
    Binding { keys: &[k('x')], context: C::Graph, action: A::StopNode, short: "", long: "stop the selected service (SIGTERM; asks: failed or cancelled)" },
    Binding { keys: &[k('R')], context: C::Graph, action: A::RestartNode, short: "", long: "restart the selected service (a new attempt; the run goes on)" },
    Binding { keys: &[k('v')], context: C::Graph, action: A::ToggleView, short: "list", long: "show the list of nodes instead of the graph" },
    Binding { keys: &[k('e')], context: C::Graph, action: A::NextFailed, short: "", long: "select the next failed node (wraps around)" },
    Binding { keys: &[k('E')], context: C::Graph, action: A::PrevFailed, short: "", long: "select the previous failed node (wraps around)" },
    Binding { keys: &[k(']')], context: C::Graph, action: A::NextRunning, short: "", long: "select the next running node (wraps around)" },
    Binding { keys: &[k('[')], context: C::Graph, action: A::PrevRunning, short: "", long: "select the previous running node (wraps around)" },
    // List pane.
    Binding { keys: &[code(KeyCode::Up), k('k')], context: C::List, action: A::Up, short: "select", long: "select the node above" },
    Binding { keys: &[code(KeyCode::Down), k('j')], context: C::List, action: A::Down, short: "", long: "select the node below" },
    Binding { keys: &[code(KeyCode::PageUp)], context: C::List, action: A::PageUp, short: "", long: "a page up" },
    Binding { keys: &[code(KeyCode::PageDown)], context: C::List, action: A::PageDown, short: "", long: "a page down" },
    Binding { keys: &[k('g'), code(KeyCode::Home)], context: C::List, action: A::Top, short: "", long: "the first row" },
    Binding { keys: &[k('G'), code(KeyCode::End)], context: C::List, action: A::Bottom, short: "", long: "the last row" },
    Binding { keys: &[code(KeyCode::Enter)], context: C::List, action: A::Select, short: "logs", long: "show the selected node's logs" },
    Binding { keys: &[k('v')], context: C::List, action: A::ToggleView, short: "graph", long: "show the graph instead of the list" },
    Binding { keys: &[k('f')], context: C::List, action: A::ListFilter, short: "filter", long: "filter the list by state (failed, running, queued, done…) or name" },
    Binding { keys: &[k('e')], context: C::List, action: A::NextFailed, short: "", long: "select the next failed node (wraps around)" },
    Binding { keys: &[k('E')], context: C::List, action: A::PrevFailed, short: "", long: "select the previous failed node (wraps around)" },
    Binding { keys: &[k(']')], context: C::List, action: A::NextRunning, short: "", long: "select the next running node (wraps around)" },
    Binding { keys: &[k('[')], context: C::List, action: A::PrevRunning, short: "", long: "select the previous running node (wraps around)" },
    Binding { keys: &[code(KeyCode::Esc)], context: C::List, action: A::Back, short: "", long: "clear the filter" },
    Binding { keys: &[k('x')], context: C::List, action: A::StopNode, short: "", long: "stop the selected service (SIGTERM; asks: failed or cancelled)" },
    Binding { keys: &[k('R')], context: C::List, action: A::RestartNode, short: "", long: "restart the selected service (a new attempt; the run goes on)" },
    // Mapping pane.
    Binding { keys: &[code(KeyCode::Up), k('k')], context: C::Mapping, action: A::Up, short: "row", long: "previous mapping row" },
    Binding { keys: &[code(KeyCode::Down), k('j')], context: C::Mapping, action: A::Down, short: "", long: "next mapping row" },
    Binding { keys: &[k('y')], context: C::Mapping, action: A::Copy, short: "copy", long: "copy the row's expression (never a secret value)" },
    // Everywhere.
    Binding { keys: &[code(KeyCode::Tab)], context: C::Global, action: A::FocusNext, short: "pane", long: "focus the next pane" },
    Binding { keys: &[code(KeyCode::BackTab)], context: C::Global, action: A::FocusPrev, short: "", long: "focus the previous pane" },
    Binding { keys: &[k('r')], context: C::Global, action: A::Run, short: "run", long: "run the workflow, or run it again when finished" },
    Binding { keys: &[k('F')], context: C::Global, action: A::RerunFrom, short: "", long: "rerun from the selected node when finished, reusing the rest" },
    Binding { keys: &[k('c')], context: C::Global, action: A::Cancel, short: "cancel", long: "cancel the run (asks first; children are stopped)" },
    Binding { keys: &[k('?')], context: C::Global, action: A::Help, short: "help", long: "show all keys" },
    Binding { keys: &[k('i')], context: C::Global, action: A::InputStart, short: "", long: "type to the selected running service's stdin (input mode)" },
    Binding { keys: &[k('d')], context: C::Global, action: A::Detach, short: "detach", long: "quit and leave the run going (wfop attach comes back)" },
    Binding { keys: &[k('/')], context: C::Global, action: A::SearchStart, short: "search", long: "search the whole log buffer (from any pane: focuses the log pane)" },
    Binding { keys: &[k('q'), ctrl('c')], context: C::Global, action: A::Quit, short: "quit", long: "quit (asks first while running; cancels children)" },
];

/// One row of the effective table: a row of [`BINDINGS`] with its keys (the keymap file's
/// when it rebinds the action).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub keys: Vec<Key>,
    pub context: Context,
    pub action: Action,
    pub short: &'static str,
    pub long: &'static str,
}

/// The table keys are looked up in: [`BINDINGS`] in order, keys overridden by a keymap file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub rows: Vec<Row>,
}

impl Table {
    /// The built-in bindings.
    pub fn defaults() -> Table {
        Table {
            rows: BINDINGS
                .iter()
                .map(|b| Row {
                    keys: b.keys.to_vec(),
                    context: b.context,
                    action: b.action,
                    short: b.short,
                    long: b.long,
                })
                .collect(),
        }
    }

    /// The action of a key in the given contexts (from [`active`]); key releases are ignored.
    pub fn dispatch(&self, contexts: &[Context], ev: &KeyEvent) -> Option<Action> {
        if ev.kind == KeyEventKind::Release {
            return None;
        }
        contexts.iter().find_map(|ctx| {
            self.rows
                .iter()
                .find(|b| b.context == *ctx && b.keys.iter().any(|k| k.matches(ev)))
                .map(|b| b.action)
        })
    }
}

static EFFECTIVE: OnceLock<Table> = OnceLock::new();

/// Makes `table` the one every lookup uses (once, at start-up, before the screen opens); false
/// if a table was in use already.
pub fn install(table: Table) -> bool {
    EFFECTIVE.set(table).is_ok()
}

/// The effective table: the installed one, else the defaults.
pub fn table() -> &'static Table {
    EFFECTIVE.get_or_init(Table::defaults)
}

/// The contexts in effect, most specific first: a modal context alone, else the focused pane
/// then `Global`.
pub fn active(focus: Context) -> Vec<Context> {
    match focus {
        Context::Prompt
        | Context::SearchInput
        | Context::ListFilter
        | Context::Confirm
        | Context::StopDialog
        | Context::Help
        | Context::Detail
        | Context::Input => vec![focus],
        pane => vec![pane, Context::Global],
    }
}

/// The action of a key in the given contexts (from [`active`]), by the effective table.
pub fn dispatch(contexts: &[Context], ev: &KeyEvent) -> Option<Action> {
    table().dispatch(contexts, ev)
}

fn keys_label(b: &Row) -> String {
    b.keys.iter().map(Key::label).collect::<Vec<_>>().join("/")
}

/// (keys, short description) for the key bar, in table order, most specific context first.
pub fn key_bar_items(contexts: &[Context]) -> Vec<(String, &'static str)> {
    let mut out = Vec::new();
    for ctx in contexts {
        for b in table()
            .rows
            .iter()
            .filter(|b| b.context == *ctx && !b.short.is_empty() && !b.keys.is_empty())
        {
            let keys = match b.keys.as_slice() {
                // Arrow + letter pairs are long; the bar shows the letter.
                [first, second, ..]
                    if matches!(
                        first.code,
                        KeyCode::Up | KeyCode::Down | KeyCode::Left | KeyCode::Right
                    ) =>
                {
                    format!("{}/{}", first.label(), second.label())
                }
                _ => b.keys.first().map(Key::label).unwrap_or_default(),
            };
            out.push((keys, b.short));
        }
    }
    out
}

/// The key bar's items as one line (`Enter confirm · Esc cancel run`), for a dialog's border.
pub fn hint(contexts: &[Context]) -> String {
    key_bar_items(contexts)
        .iter()
        .map(|(keys, short)| format!("{keys} {short}"))
        .collect::<Vec<_>>()
        .join(" · ")
}

/// Draws the key bar on one row; items that do not fit are left out (help is always last).
pub fn render_key_bar(contexts: &[Context], theme: &Theme, area: Rect, buf: &mut Buffer) {
    let items = key_bar_items(contexts);
    let mut spans = Vec::new();
    let mut used = 0;
    let width = usize::from(area.width);
    // Quit and help are always shown, at the end.
    let pinned = |s: &str| s == "quit" || s == "help";
    let reserve: usize = items
        .iter()
        .filter(|(_, s)| pinned(s))
        .map(|(k, s)| k.width() + s.width() + 3)
        .sum();
    let push = |spans: &mut Vec<Span<'static>>, keys: &str, short: &str| {
        spans.push(Span::styled(
            format!(" {keys}"),
            theme.style(Role::KeybarKey),
        ));
        spans.push(Span::styled(
            format!(" {short} "),
            theme.style(Role::Keybar),
        ));
    };
    for (keys, short) in items.iter().filter(|(_, s)| !pinned(s)) {
        let w = keys.width() + short.width() + 3;
        if used + w + reserve > width {
            break;
        }
        push(&mut spans, keys, short);
        used += w;
    }
    for (keys, short) in items.iter().filter(|(_, s)| pinned(s)) {
        push(&mut spans, keys, short);
    }
    buf.set_line(area.x, area.y, &Line::from(spans), area.width);
}

/// The help text: the focused context first, then the others, each binding with its keys and
/// long description.
pub fn help_lines(focus: Context, theme: &Theme) -> Vec<Line<'static>> {
    let mut order = active(focus);
    for c in [
        Context::Logs,
        Context::Graph,
        Context::List,
        Context::Mapping,
        Context::Global,
        Context::SearchInput,
        Context::ListFilter,
        Context::Detail,
        Context::Input,
        Context::Confirm,
        Context::StopDialog,
        Context::Prompt,
        Context::Help,
    ] {
        if !order.contains(&c) {
            order.push(c);
        }
    }
    let rows = &table().rows;
    let key_w = rows
        .iter()
        .map(|b| keys_label(b).width())
        .max()
        .unwrap_or(8);
    let mut lines = Vec::new();
    for ctx in order {
        if !lines.is_empty() {
            lines.push(Line::raw(""));
        }
        lines.push(Line::styled(
            ctx.title().to_string(),
            theme.style(Role::Title),
        ));
        for b in rows.iter().filter(|b| b.context == ctx) {
            let keys = keys_label(b);
            lines.push(Line::from(vec![
                Span::styled(format!("  {keys:<key_w$}  "), theme.style(Role::KeybarKey)),
                Span::styled(b.long.to_string(), theme.style(Role::Text)),
            ]));
        }
    }
    lines
}

/// Draws the help overlay centred in `area`, scrolled by `scroll` lines.
pub fn render_help(focus: Context, scroll: u16, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let lines = help_lines(focus, theme);
    let height = area.height.saturating_sub(2);
    let rect = super::layout::centered(area, area.width.saturating_sub(4).min(96), height);
    Clear.render(rect, buf);
    let total = lines.len() as u16;
    let inner_h = height.saturating_sub(2);
    let scroll = scroll.min(total.saturating_sub(inner_h));
    let more = if scroll + inner_h < total {
        " ↓ more "
    } else {
        ""
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.style(Role::BorderFocused))
        .title(Span::styled(
            " keys — Esc closes ",
            theme.style(Role::Title),
        ))
        .title_bottom(Line::styled(more, theme.style(Role::Muted)).right_aligned());
    Paragraph::new(lines)
        .block(block)
        .scroll((scroll, 0))
        .render(rect, buf);
}

/// The key table as Markdown, with each context's and action's name for keymap files
/// (docs/tui.md holds a copy; a test keeps them equal).
pub fn markdown() -> String {
    let mut out = String::new();
    let rows = &table().rows;
    let mut ctxs: Vec<Context> = Vec::new();
    for b in rows {
        if !ctxs.contains(&b.context) {
            ctxs.push(b.context);
        }
    }
    for ctx in ctxs {
        out.push_str(&format!(
            "\n**{}** (`[{}]` in keys.toml)\n\n| keys | action | name |\n| --- | --- | --- |\n",
            ctx.title(),
            ctx.name()
        ));
        for b in rows.iter().filter(|b| b.context == ctx) {
            let keys: Vec<String> = b.keys.iter().map(|k| format!("`{}`", k.label())).collect();
            out.push_str(&format!(
                "| {} | {} | `{}` |\n",
                keys.join(" "),
                b.long,
                b.action.name()
            ));
        }
    }
    out
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
    fn ch(c: char) -> KeyEvent {
        let mods = if c.is_uppercase() {
            KeyModifiers::SHIFT
        } else {
            KeyModifiers::NONE
        };
        key(KeyCode::Char(c), mods)
    }

    #[test]
    fn keys_from_the_issue_dispatch() {
        let logs = active(Context::Logs);
        let cases = [
            (ch('j'), A::Down),
            (key(KeyCode::Down, KeyModifiers::NONE), A::Down),
            (ch('k'), A::Up),
            (ch('h'), A::Left),
            (ch('l'), A::Right),
            (key(KeyCode::Tab, KeyModifiers::NONE), A::FocusNext),
            (ch('r'), A::Run),
            (ch('c'), A::Cancel),
            (ch('q'), A::Quit),
            (ch('?'), A::Help),
            (ch('/'), A::SearchStart),
            (ch('n'), A::SearchNext),
            (ch('N'), A::SearchPrev),
            (ch('w'), A::ToggleWrap),
            (ch('t'), A::ToggleTimestamps),
            (ch('s'), A::Save),
            (ch('y'), A::Copy),
            (ch('g'), A::Top),
            (ch('G'), A::Bottom),
            (key(KeyCode::PageUp, KeyModifiers::NONE), A::PageUp),
            (key(KeyCode::PageDown, KeyModifiers::NONE), A::PageDown),
            (key(KeyCode::End, KeyModifiers::NONE), A::Bottom),
            (key(KeyCode::Esc, KeyModifiers::NONE), A::Back),
            (key(KeyCode::Char('c'), KeyModifiers::CONTROL), A::Quit),
        ];
        for (ev, want) in cases {
            assert_eq!(dispatch(&logs, &ev), Some(want), "{ev:?}");
        }
        let graph = active(Context::Graph);
        assert_eq!(
            dispatch(&graph, &key(KeyCode::Enter, KeyModifiers::NONE)),
            Some(A::Select)
        );
        assert_eq!(
            dispatch(&graph, &ch('/')),
            Some(A::SearchStart),
            "search works from any pane"
        );
        assert_eq!(dispatch(&logs, &ch('&')), Some(A::FilterStart));
        assert_eq!(dispatch(&logs, &ch('V')), Some(A::Region));
        assert_eq!(dispatch(&logs, &ch('T')), Some(A::ToggleTimeMode));
        let input = active(Context::SearchInput);
        assert_eq!(
            dispatch(&input, &key(KeyCode::Char('r'), KeyModifiers::CONTROL)),
            Some(A::ToggleRegex)
        );
        assert_eq!(dispatch(&input, &ch('&')), None, "typed into the query");
        let detail = active(Context::Detail);
        assert_eq!(
            dispatch(&detail, &key(KeyCode::Esc, KeyModifiers::NONE)),
            Some(A::Back)
        );
        assert_eq!(
            dispatch(&detail, &ch('r')),
            None,
            "the detail view is modal"
        );
        assert_eq!(dispatch(&graph, &ch('q')), Some(A::Quit));
    }

    #[test]
    fn list_keys_work_in_the_graph_and_the_list() {
        for ctx in [Context::Graph, Context::List] {
            let a = active(ctx);
            assert_eq!(dispatch(&a, &ch('v')), Some(A::ToggleView));
            assert_eq!(dispatch(&a, &ch('e')), Some(A::NextFailed));
            assert_eq!(dispatch(&a, &ch('E')), Some(A::PrevFailed));
            assert_eq!(dispatch(&a, &ch(']')), Some(A::NextRunning));
            assert_eq!(dispatch(&a, &ch('[')), Some(A::PrevRunning));
        }
        assert_eq!(
            dispatch(&active(Context::List), &ch('f')),
            Some(A::ListFilter)
        );
        assert_eq!(dispatch(&active(Context::Logs), &ch('v')), None);
        let input = active(Context::ListFilter);
        assert_eq!(dispatch(&input, &ch('q')), None, "typed into the filter");
        assert_eq!(
            dispatch(&input, &key(KeyCode::Esc, KeyModifiers::NONE)),
            Some(A::Back)
        );
    }

    #[test]
    fn modal_contexts_take_precedence_and_leave_typing_alone() {
        let confirm = active(Context::Confirm);
        assert_eq!(dispatch(&confirm, &ch('y')), Some(A::Yes));
        assert_eq!(dispatch(&confirm, &ch('q')), None);
        let prompt = active(Context::Prompt);
        assert_eq!(
            dispatch(&prompt, &ch('q')),
            None,
            "q is typed into the secret"
        );
        assert_eq!(
            dispatch(&prompt, &key(KeyCode::Esc, KeyModifiers::NONE)),
            Some(A::Back)
        );
        assert_eq!(
            dispatch(&prompt, &key(KeyCode::Char('u'), KeyModifiers::CONTROL)),
            Some(A::ClearInput)
        );
        let search = active(Context::SearchInput);
        assert_eq!(dispatch(&search, &ch('n')), None);
        let mut release = ch('q');
        release.kind = KeyEventKind::Release;
        assert_eq!(dispatch(&active(Context::Logs), &release), None);
    }

    #[test]
    fn no_key_is_bound_twice_in_one_context() {
        for (i, a) in BINDINGS.iter().enumerate() {
            for b in &BINDINGS[i + 1..] {
                if a.context == b.context {
                    for ka in a.keys {
                        assert!(
                            !b.keys.contains(ka),
                            "{:?} twice in {:?}",
                            ka.label(),
                            a.context
                        );
                    }
                }
            }
            assert!(!a.long.is_empty());
        }
    }

    #[test]
    fn help_lists_every_binding() {
        let theme = Theme::default();
        let text: String = help_lines(Context::Logs, &theme)
            .iter()
            .map(|l| {
                l.spans
                    .iter()
                    .map(|s| s.content.as_ref())
                    .collect::<String>()
                    + "\n"
            })
            .collect();
        for b in BINDINGS {
            assert!(text.contains(b.long), "{}", b.long);
        }
    }

    fn draw(f: impl FnOnce(&mut Buffer), w: u16, h: u16) -> Buffer {
        let mut buf = Buffer::empty(Rect::new(0, 0, w, h));
        f(&mut buf);
        buf
    }

    #[test]
    fn snapshot_key_bars() {
        let theme = Theme::default();
        let mut out = String::new();
        for focus in [
            Context::Logs,
            Context::Graph,
            Context::Mapping,
            Context::Prompt,
            Context::SearchInput,
            Context::Input,
            Context::Confirm,
            Context::Help,
        ] {
            let buf = draw(
                |b| render_key_bar(&active(focus), &theme, Rect::new(0, 0, 80, 1), b),
                80,
                1,
            );
            out.push_str(&format!("{focus:?}:\n{}", buf_text(&buf)));
        }
        insta::assert_snapshot!(out);
        let buf = draw(
            |b| render_key_bar(&active(Context::Logs), &theme, Rect::new(0, 0, 80, 1), b),
            80,
            1,
        );
        assert!(
            buf_text(&buf).trim_end().ends_with("? help  q quit"),
            "help always shown"
        );
        assert_eq!(
            buf[(1, 0)].style().add_modifier,
            theme.style(Role::KeybarKey).add_modifier
        );
    }

    #[test]
    fn snapshot_help_overlay() {
        let theme = Theme::default();
        let buf = draw(
            |b| render_help(Context::Logs, 0, &theme, Rect::new(0, 0, 80, 24), b),
            80,
            24,
        );
        insta::assert_snapshot!(buf_text(&buf));
        let scrolled = draw(
            |b| render_help(Context::Logs, 1000, &theme, Rect::new(0, 0, 80, 24), b),
            80,
            24,
        );
        assert!(buf_text(&scrolled).contains("scroll the help down"));
        assert!(!buf_text(&scrolled).contains("↓ more"));
    }

    #[test]
    #[ignore = "prints the key table for docs/tui.md"]
    fn print_key_table() {
        println!("{}", markdown());
    }

    #[test]
    fn docs_hold_the_generated_key_table() {
        let docs = include_str!("../../../docs/tui.md");
        assert!(
            docs.contains(markdown().trim()),
            "regenerate the key table in docs/tui.md:\n{}",
            markdown()
        );
    }
}
