//! Per-node bounded scrollback of children's (already redacted) output: lines with stream, time
//! and styled spans, the redactor's markers (from the engine's spans), and an interleaved "all nodes" view. Bounded
//! in lines per node and in bytes for the whole store (the buffer counts what it holds).

use std::collections::VecDeque;
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use ratatui::style::Style;
use unicode_width::UnicodeWidthStr;

use super::ansi::{Action, AnsiParser};

/// Index of a node in a [`LogStore`] (the order nodes were added).
pub type NodeIdx = usize;

/// Which output of the child a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// A run of text with the child's own style (SGR); byte offsets into the line text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StyledSpan {
    pub start: u32,
    pub end: u32,
    pub style: Style,
}

/// One line of a child's output, free of control characters.
#[derive(Debug, Clone, PartialEq)]
pub struct LogLine {
    pub node: NodeIdx,
    pub stream: Stream,
    /// When the line's first byte arrived, from the start of the run.
    pub at: Duration,
    text: Text,
    spans: Vec<StyledSpan>,
    redacted: Vec<Range<u32>>,
    open: bool,
}

/// A line's text: its own, or a piece of the chunk it arrived in. Plain lines (printable ASCII,
/// no style, no marker) of one read share that read's bytes: one allocation per read, not one
/// per line, which is most of what a flood costs.
#[derive(Debug, Clone)]
enum Text {
    Own(String),
    /// `chunk[start..end]`; `chunk` is the run of whole plain lines it came in, `\n`s included.
    Shared {
        chunk: Arc<str>,
        start: u32,
        end: u32,
    },
}

impl Text {
    fn as_str(&self) -> &str {
        match self {
            Text::Own(s) => s,
            Text::Shared { chunk, start, end } => chunk
                .get(*start as usize..*end as usize)
                .unwrap_or_default(),
        }
    }

    fn len(&self) -> usize {
        match self {
            Text::Own(s) => s.len(),
            Text::Shared { start, end, .. } => (end - start) as usize,
        }
    }

    /// Its own text, to change (a shared piece is copied first).
    fn to_mut(&mut self) -> &mut String {
        if let Text::Shared { .. } = self {
            *self = Text::Own(self.as_str().to_string());
        }
        match self {
            Text::Own(s) => s,
            Text::Shared { .. } => unreachable!("made its own above"),
        }
    }

    /// The bytes it holds: a `String`'s capacity; a piece's length and its `\n` in the chunk.
    fn held(&self) -> usize {
        match self {
            Text::Own(s) => s.capacity(),
            Text::Shared { start, end, .. } => (end - start) as usize + 1,
        }
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Text) -> bool {
        self.as_str() == other.as_str()
    }
}

/// Printable ASCII only (no control, no escape, no UTF-8): printed as is, one column a byte.
/// Branch-free so that it vectorises.
fn is_plain(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .fold(true, |ok, &b| ok & (b.wrapping_sub(0x20) < 0x5f))
}

/// The literal the redactor puts in place of a secret.
pub const REDACTED: &str = "***";

impl LogLine {
    fn new(node: NodeIdx, stream: Stream, at: Duration) -> Self {
        LogLine {
            node,
            stream,
            at,
            text: Text::Own(String::new()),
            spans: Vec::new(),
            redacted: Vec::new(),
            open: true,
        }
    }

    /// A closed line made from plain text (tests, summaries).
    pub fn plain(node: NodeIdx, stream: Stream, at: Duration, text: &str) -> Self {
        let mut l = LogLine::new(node, stream, at);
        l.push_str(text, Style::new(), false);
        l.open = false;
        l
    }

    pub fn text(&self) -> &str {
        self.text.as_str()
    }

    /// The child's styles; text outside every span has no style of its own.
    pub fn spans(&self) -> &[StyledSpan] {
        &self.spans
    }

    /// Byte ranges holding the redactor's `***`: where the engine said it redacted, never a
    /// service's own asterisks.
    pub fn redacted(&self) -> impl Iterator<Item = Range<usize>> + '_ {
        self.redacted
            .iter()
            .map(|r| r.start as usize..r.end as usize)
    }

    /// True while more bytes may still extend or rewrite this line (no newline seen yet).
    pub fn is_open(&self) -> bool {
        self.open
    }

    /// Appends text in one style, extending the last span; `redacted`: the text is (a piece
    /// of) a redactor's marker, joined to one that ends where it starts.
    fn push_str(&mut self, text: &str, style: Style, redacted: bool) {
        let own = self.text.to_mut();
        let start = own.len() as u32;
        own.push_str(text);
        let end = own.len() as u32;
        if style != Style::new() {
            match self.spans.last_mut() {
                Some(last) if last.end == start && last.style == style => last.end = end,
                _ => self.spans.push(StyledSpan { start, end, style }),
            }
        }
        if redacted && end > start {
            match self.redacted.last_mut() {
                Some(last) if last.end == start => last.end = end,
                _ => self.redacted.push(start..end),
            }
        }
    }

    fn clear(&mut self) {
        self.text = Text::Own(String::new());
        self.spans.clear();
        self.redacted.clear();
    }

    /// Display width of the text (tabs are already spaces).
    pub fn width(&self) -> usize {
        unicode_width::UnicodeWidthStr::width(self.text.as_str())
    }

    /// The memory this line holds: itself, its text, spans and marks (their capacities), and
    /// its entry in the all-nodes index.
    pub fn cost(&self) -> usize {
        std::mem::size_of::<LogLine>()
            + std::mem::size_of::<(NodeIdx, u64)>()
            + self.text.held()
            + self.spans.capacity() * std::mem::size_of::<StyledSpan>()
            + self.redacted.capacity() * std::mem::size_of::<Range<u32>>()
    }
}

/// Sizes of a [`LogStore`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogConfig {
    /// Lines kept per node, and in the all-nodes view.
    pub max_lines: usize,
    /// A line longer than this (bytes) is broken into several.
    pub max_line_bytes: usize,
    /// Bytes the whole store may hold (`LogLine::cost` summed); past it the oldest lines of
    /// the node holding the most go first.
    pub max_bytes: usize,
}

/// The default byte budget of a run's log buffer (`--scrollback-mib`).
pub const DEFAULT_MAX_BYTES: usize = 64 * 1024 * 1024;

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            max_lines: 100_000,
            max_line_bytes: 32 * 1024,
            max_bytes: DEFAULT_MAX_BYTES,
        }
    }
}

const TAB_WIDTH: usize = 8;

#[derive(Debug, Clone, Default)]
struct StreamState {
    parser: AnsiParser,
    style: Style,
    /// Node-local absolute index of the line still being written.
    open: Option<u64>,
    /// A `\r` was seen: the next printable character starts the line again.
    pending_cr: bool,
    /// Display column in the open line (for tab stops).
    col: usize,
}

#[derive(Debug, Clone)]
struct NodeLog {
    name: String,
    /// The name as drawn (`safe`).
    shown: String,
    lines: VecDeque<LogLine>,
    /// Lines ever added; the absolute index of `lines[i]` is `pushed - len + i`.
    pushed: u64,
    streams: [StreamState; 2],
    /// `cost()` of every kept line, summed.
    bytes: usize,
}

impl NodeLog {
    fn first(&self) -> u64 {
        self.pushed - self.lines.len() as u64
    }

    /// Drops the oldest line; false when only one line is left (it may be open).
    fn drop_oldest(&mut self) -> bool {
        if self.lines.len() <= 1 {
            return false;
        }
        if let Some(l) = self.lines.pop_front() {
            self.bytes = self.bytes.saturating_sub(l.cost());
        }
        let first = self.first();
        for st in self.streams.iter_mut() {
            if st.open.is_some_and(|o| o < first) {
                st.open = None;
            }
        }
        true
    }
    fn get_mut(&mut self, abs: u64) -> Option<&mut LogLine> {
        let first = self.first();
        abs.checked_sub(first)
            .and_then(|i| self.lines.get_mut(usize::try_from(i).ok()?))
    }
}

/// Which lines a view shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Selection {
    /// Every node's lines, interleaved in order of arrival.
    All,
    Node(NodeIdx),
}

/// The logs of one run: a bounded buffer per node and the interleaved index.
#[derive(Debug, Clone)]
pub struct LogStore {
    config: LogConfig,
    nodes: Vec<NodeLog>,
    /// (node, node-local absolute index), in order of arrival.
    all: VecDeque<(NodeIdx, u64)>,
    all_pushed: u64,
    /// Every node's `bytes`, summed.
    bytes: usize,
    /// True while the bytes being fed are inside one of the redactor's markers.
    in_marker: bool,
}

impl Default for LogStore {
    fn default() -> Self {
        LogStore::new(LogConfig::default())
    }
}

impl LogStore {
    pub fn new(config: LogConfig) -> Self {
        LogStore {
            config: LogConfig {
                max_lines: config.max_lines.max(1),
                max_line_bytes: config.max_line_bytes.max(16),
                max_bytes: config.max_bytes,
            },
            nodes: Vec::new(),
            all: VecDeque::new(),
            all_pushed: 0,
            bytes: 0,
            in_marker: false,
        }
    }

    pub fn config(&self) -> LogConfig {
        self.config
    }

    /// The memory the kept lines hold (`LogLine::cost` summed): at most `max_bytes`, plus the
    /// last line of each node (kept whatever its size, at most `max_line_bytes` of text).
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Drops the oldest lines of the node holding the most until the store is within its
    /// byte budget (a node's last line stays).
    fn enforce_bytes(&mut self) {
        while self.bytes > self.config.max_bytes {
            let Some(big) = (0..self.nodes.len())
                .filter(|&i| self.nodes[i].lines.len() > 1)
                .max_by_key(|&i| self.nodes[i].bytes)
            else {
                return;
            };
            let before = self.nodes[big].bytes;
            self.nodes[big].drop_oldest();
            self.bytes = self.bytes.saturating_sub(before - self.nodes[big].bytes);
        }
        // All-nodes entries of dropped lines at the front go too.
        while let Some(&(n, abs)) = self.all.front() {
            if self.nodes.get(n).is_some_and(|node| abs < node.first()) {
                self.all.pop_front();
            } else {
                break;
            }
        }
    }

    /// Adds a node (or finds it) by id; its index stays valid for the store's life.
    pub fn add_node(&mut self, name: &str) -> NodeIdx {
        if let Some(i) = self.node_index(name) {
            return i;
        }
        self.nodes.push(NodeLog {
            name: name.to_string(),
            shown: crate::safe::line(name).into_owned(),
            lines: VecDeque::new(),
            pushed: 0,
            streams: Default::default(),
            bytes: 0,
        });
        self.nodes.len() - 1
    }

    pub fn node_index(&self, name: &str) -> Option<NodeIdx> {
        self.nodes.iter().position(|n| n.name == name)
    }

    /// The node's id as it may be drawn (terminal-safe).
    pub fn node_name(&self, node: NodeIdx) -> &str {
        self.nodes.get(node).map_or("?", |n| n.shown.as_str())
    }

    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Feeds a chunk of a child's (redacted) output with no redactor's marker in it (a `***`
    /// there is the child's own); see [`LogStore::push_marked`].
    pub fn push(&mut self, node: NodeIdx, stream: Stream, bytes: &[u8], at: Duration) {
        self.push_marked(node, stream, bytes, &[], at);
    }

    /// Feeds a chunk of a child's (redacted) output; it may end anywhere, even inside a
    /// character or an escape sequence. `redacted`: where in `bytes` the redactor wrote its
    /// markers (sorted byte ranges, as `Event::NodeLog` carries them); the text printed from
    /// them is what [`LogLine::redacted`] reports. `at` is the time since the run started.
    pub fn push_marked(
        &mut self,
        node: NodeIdx,
        stream: Stream,
        bytes: &[u8],
        redacted: &[Range<usize>],
        at: Duration,
    ) {
        if node >= self.nodes.len() {
            return;
        }
        let si = stream as usize;
        let mut parser = std::mem::take(&mut self.nodes[node].streams[si].parser);
        let mut marks = redacted.iter().filter(|m| m.start < m.end).peekable();
        let mut off = 0;
        while off < bytes.len() {
            // The marker `off` is in, or the next one.
            while marks.next_if(|m| m.end <= off).is_some() {}
            let (inside, stop) = match marks.peek() {
                Some(m) if m.start <= off => (true, m.end),
                Some(m) => (false, m.start),
                None => (false, bytes.len()),
            };
            let rest = &bytes[off..stop.min(bytes.len())];
            self.in_marker = inside;
            // Fastest path: whole plain lines, kept as pieces of the bytes they came in.
            if parser.is_ground() && !inside {
                let took = self.push_plain_lines(node, stream, rest, at);
                if took > 0 {
                    off += took;
                    continue;
                }
            }
            // Fast path: a run of printable ASCII between sequences is printed in one go.
            if parser.is_ground() {
                let run = rest
                    .iter()
                    .position(|b| !(0x20..=0x7e).contains(b))
                    .unwrap_or(rest.len());
                if run > 0 {
                    // Printable ASCII is valid UTF-8.
                    let text = std::str::from_utf8(&rest[..run]).unwrap_or_default();
                    self.print_text(node, stream, text, at);
                    off += run;
                    continue;
                }
            }
            // Anything else goes through the parser, up to the next printable ASCII byte (a
            // marker's byte alone: what it prints is the marker's).
            let next = if inside {
                1
            } else {
                rest[1..]
                    .iter()
                    .position(|b| (0x20..=0x7e).contains(b))
                    .map_or(rest.len(), |p| p + 1)
            };
            parser.feed(&rest[..next], &mut |a| self.apply(node, stream, a, at));
            off += next;
        }
        self.in_marker = false;
        self.nodes[node].streams[si].parser = parser;
    }

    /// The stream ended: a partial last character becomes U+FFFD and the open line is closed.
    pub fn finish(&mut self, node: NodeIdx, stream: Stream, at: Duration) {
        if node >= self.nodes.len() {
            return;
        }
        let si = stream as usize;
        let mut parser = std::mem::take(&mut self.nodes[node].streams[si].parser);
        parser.finish(&mut |a| self.apply(node, stream, a, at));
        self.nodes[node].streams[si].parser = parser;
        self.close(node, stream);
    }

    fn apply(&mut self, node: NodeIdx, stream: Stream, action: Action, at: Duration) {
        let si = stream as usize;
        match action {
            Action::Style(s) => self.nodes[node].streams[si].style = s,
            Action::Newline => {
                self.nodes[node].streams[si].pending_cr = false;
                if self.nodes[node].streams[si].open.is_none() {
                    self.new_line(node, stream, at);
                }
                self.close(node, stream);
            }
            Action::CarriageReturn => {
                let st = &mut self.nodes[node].streams[si];
                if st.open.is_some() {
                    st.pending_cr = true;
                }
            }
            Action::Tab => {
                let col = self.nodes[node].streams[si].col;
                let n = TAB_WIDTH - col % TAB_WIDTH;
                for _ in 0..n {
                    self.print(node, stream, ' ', at);
                }
            }
            Action::Print(c) => self.print(node, stream, c, at),
        }
    }

    fn print(&mut self, node: NodeIdx, stream: Stream, c: char, at: Duration) {
        self.print_text(node, stream, c.encode_utf8(&mut [0; 4]), at);
    }

    /// Appends printable text to the stream's open line (opening one if needed), starting it
    /// again after a pending `\r`, and closing it whenever it reaches the length limit.
    fn print_text(&mut self, node: NodeIdx, stream: Stream, mut text: &str, at: Duration) {
        let si = stream as usize;
        while !text.is_empty() {
            let open = match self.nodes[node].streams[si].open {
                Some(abs) => abs,
                None => self.new_line(node, stream, at),
            };
            let max = self.config.max_line_bytes;
            let n = &mut self.nodes[node];
            let st = &mut n.streams[si];
            let style = st.style;
            let reset = std::mem::take(&mut st.pending_cr);
            if reset {
                st.col = 0;
            }
            let Some(line) = n.get_mut(open) else { return };
            let cost_before = line.cost();
            if reset {
                line.clear();
            }
            // As much as fits, cut on a character boundary, and at least one character.
            let room = max.saturating_sub(line.text.len());
            let mut take = room.min(text.len());
            while !text.is_char_boundary(take) {
                take -= 1;
            }
            if take == 0 {
                take = text.chars().next().map_or(text.len(), char::len_utf8);
            }
            let (now, rest) = text.split_at(take);
            line.push_str(now, style, self.in_marker);
            let full = line.text.len() >= max;
            let cost_after = line.cost();
            n.bytes = n.bytes + cost_after - cost_before;
            self.bytes = self.bytes + cost_after - cost_before;
            // Printable ASCII (the flood's usual text) is one column a byte.
            n.streams[si].col += if now.is_ascii() {
                now.len()
            } else {
                now.width()
            };
            text = rest;
            if full {
                self.close(node, stream);
            }
            self.enforce_bytes();
        }
    }

    /// The whole plain lines at the start of `bytes` (printable ASCII, each ending in `\n`,
    /// shorter than the length limit), when the stream has no open line, no pending `\r` and
    /// no style: added closed, as pieces of one shared chunk, exactly as the parser would have
    /// made them. Returns the bytes taken (0: none, the caller goes the usual way).
    fn push_plain_lines(
        &mut self,
        node: NodeIdx,
        stream: Stream,
        bytes: &[u8],
        at: Duration,
    ) -> usize {
        let st = &self.nodes[node].streams[stream as usize];
        if st.open.is_some() || st.pending_cr || st.style != Style::new() {
            return 0;
        }
        let max = self.config.max_line_bytes;
        let mut end = 0;
        for nl in memchr::memchr_iter(b'\n', bytes) {
            let line = &bytes[end..nl];
            // A line of `max` bytes is closed at its limit and its `\n` makes another.
            if line.len() >= max || !is_plain(line) {
                break;
            }
            end = nl + 1;
        }
        let Some(text) = bytes.get(..end).and_then(|b| std::str::from_utf8(b).ok()) else {
            return 0;
        };
        if end == 0 {
            return 0;
        }
        let chunk: Arc<str> = Arc::from(text);
        let mut start = 0;
        for nl in memchr::memchr_iter(b'\n', text.as_bytes()) {
            let mut line = LogLine::new(node, stream, at);
            line.text = Text::Shared {
                chunk: chunk.clone(),
                start: start as u32,
                end: nl as u32,
            };
            line.open = false;
            self.push_line(line);
            self.enforce_bytes();
            start = nl + 1;
        }
        end
    }

    fn new_line(&mut self, node: NodeIdx, stream: Stream, at: Duration) -> u64 {
        let abs = self.push_line(LogLine::new(node, stream, at));
        let st = &mut self.nodes[node].streams[stream as usize];
        st.open = Some(abs);
        st.col = 0;
        st.pending_cr = false;
        abs
    }

    /// Adds a line at the end of its node's and of the all-nodes view, dropping the oldest past
    /// `max_lines`; returns its node-local absolute index.
    fn push_line(&mut self, line: LogLine) -> u64 {
        let max = self.config.max_lines;
        let node = line.node;
        let n = &mut self.nodes[node];
        let abs = n.pushed;
        n.bytes += line.cost();
        self.bytes += line.cost();
        n.lines.push_back(line);
        n.pushed += 1;
        while n.lines.len() > max {
            let before = n.bytes;
            n.drop_oldest();
            self.bytes -= before - n.bytes;
        }
        self.all.push_back((node, abs));
        self.all_pushed += 1;
        while self.all.len() > max {
            self.all.pop_front();
        }
        abs
    }

    fn close(&mut self, node: NodeIdx, stream: Stream) {
        let n = &mut self.nodes[node];
        let st = &mut n.streams[stream as usize];
        st.pending_cr = false;
        st.col = 0;
        if let Some(abs) = st.open.take()
            && let Some(line) = n.get_mut(abs)
        {
            line.open = false;
        }
    }

    /// A read-only view of the selected lines, indexed by absolute position.
    pub fn view(&self, sel: Selection) -> LogView<'_> {
        LogView { store: self, sel }
    }
}

/// The lines of one node or of all nodes. Positions are absolute: they keep naming the same
/// line while older lines are dropped, from `first()` (inclusive) to `end()` (exclusive).
#[derive(Debug, Clone, Copy)]
pub struct LogView<'a> {
    store: &'a LogStore,
    sel: Selection,
}

impl<'a> LogView<'a> {
    pub fn selection(&self) -> Selection {
        self.sel
    }

    pub fn store(&self) -> &'a LogStore {
        self.store
    }

    pub fn first(&self) -> u64 {
        match self.sel {
            Selection::All => self.store.all_pushed - self.store.all.len() as u64,
            Selection::Node(n) => self.store.nodes.get(n).map_or(0, |n| n.first()),
        }
    }

    pub fn end(&self) -> u64 {
        match self.sel {
            Selection::All => self.store.all_pushed,
            Selection::Node(n) => self.store.nodes.get(n).map_or(0, |n| n.pushed),
        }
    }

    pub fn len(&self) -> usize {
        (self.end() - self.first()) as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The line at absolute position `abs`, if it is still kept.
    pub fn get(&self, abs: u64) -> Option<&'a LogLine> {
        let i = usize::try_from(abs.checked_sub(self.first())?).ok()?;
        match self.sel {
            Selection::All => {
                let (node, local) = *self.store.all.get(i)?;
                let n = self.store.nodes.get(node)?;
                n.lines
                    .get(usize::try_from(local.checked_sub(n.first())?).ok()?)
            }
            Selection::Node(n) => self.store.nodes.get(n)?.lines.get(i),
        }
    }

    /// Lines from `from` (absolute) on.
    pub fn iter_from(&self, from: u64) -> impl Iterator<Item = (u64, &'a LogLine)> + 'a {
        let v = *self;
        (from.max(v.first())..v.end()).filter_map(move |i| v.get(i).map(|l| (i, l)))
    }
}

#[cfg(test)]
// Marker ranges: a list of one range is a list, not a range.
#[allow(clippy::single_range_in_vec_init)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use ratatui::style::{Color, Modifier};

    const T: Duration = Duration::ZERO;

    fn texts(store: &LogStore, sel: Selection) -> Vec<String> {
        let v = store.view(sel);
        v.iter_from(0).map(|(_, l)| l.text().to_string()).collect()
    }

    #[test]
    fn lines_and_code_points_split_anywhere() {
        let input = "héllo wörld €\nsecond 😀 line\nthird";
        for cut in 0..input.len() {
            let mut s = LogStore::default();
            let n = s.add_node("a");
            let (x, y) = input.as_bytes().split_at(cut);
            s.push(n, Stream::Stdout, x, T);
            s.push(n, Stream::Stdout, y, T);
            assert_eq!(
                texts(&s, Selection::Node(n)),
                vec!["héllo wörld €", "second 😀 line", "third"],
                "cut {cut}"
            );
            let v = s.view(Selection::Node(n));
            assert!(!v.get(0).unwrap().is_open());
            assert!(
                v.get(2).unwrap().is_open(),
                "a partial last line is kept, open"
            );
        }
    }

    #[test]
    fn partial_line_is_extended_and_closed() {
        let mut s = LogStore::default();
        let n = s.add_node("a");
        s.push(n, Stream::Stdout, b"Password: ", Duration::from_secs(1));
        assert_eq!(texts(&s, Selection::Node(n)), vec!["Password: "]);
        s.push(n, Stream::Stdout, b"ok\n", Duration::from_secs(2));
        let v = s.view(Selection::Node(n));
        assert_eq!(v.get(0).unwrap().text(), "Password: ok");
        assert_eq!(v.get(0).unwrap().at, Duration::from_secs(1));
        assert!(!v.get(0).unwrap().is_open());
        s.push(n, Stream::Stdout, b"tail", T);
        s.finish(n, Stream::Stdout, T);
        assert!(!s.view(Selection::Node(n)).get(1).unwrap().is_open());
    }

    #[test]
    fn streams_keep_their_own_partial_lines_and_styles() {
        let mut s = LogStore::default();
        let n = s.add_node("a");
        s.push(n, Stream::Stdout, b"\x1b[32mout ", T);
        s.push(n, Stream::Stderr, b"err line\n", T);
        s.push(n, Stream::Stdout, b"more\n", T);
        let v = s.view(Selection::Node(n));
        assert_eq!(v.get(0).unwrap().text(), "out more");
        assert_eq!(v.get(0).unwrap().stream, Stream::Stdout);
        assert_eq!(v.get(0).unwrap().spans()[0].style.fg, Some(Color::Green));
        assert_eq!(v.get(1).unwrap().text(), "err line");
        assert_eq!(v.get(1).unwrap().stream, Stream::Stderr);
        assert!(v.get(1).unwrap().spans().is_empty());
    }

    #[test]
    fn styles_become_spans_and_carry_across_lines() {
        let mut s = LogStore::default();
        let n = s.add_node("a");
        s.push(n, Stream::Stdout, b"a\x1b[1;31mbc\nd\x1b[0me\n", T);
        let v = s.view(Selection::Node(n));
        let red = Style::new().fg(Color::Red).add_modifier(Modifier::BOLD);
        assert_eq!(
            v.get(0).unwrap().spans(),
            &[StyledSpan {
                start: 1,
                end: 3,
                style: red
            }]
        );
        assert_eq!(
            v.get(1).unwrap().spans(),
            &[StyledSpan {
                start: 0,
                end: 1,
                style: red
            }]
        );
    }

    #[test]
    fn carriage_return_keeps_the_last_segment() {
        let mut s = LogStore::default();
        let n = s.add_node("a");
        s.push(n, Stream::Stdout, b"10%\r", T);
        s.push(n, Stream::Stdout, b"50%\r100% done\r\n", T);
        s.push(n, Stream::Stdout, b"dos line\r\n\rlone\n", T);
        assert_eq!(
            texts(&s, Selection::Node(n)),
            vec!["100% done", "dos line", "lone"]
        );
    }

    #[test]
    fn tabs_expand_to_stops_and_controls_vanish() {
        let mut s = LogStore::default();
        let n = s.add_node("a");
        s.push(n, Stream::Stdout, "a\tb\x07\x08c\tdé\t|\n".as_bytes(), T);
        assert_eq!(
            texts(&s, Selection::Node(n)),
            vec!["a       bc      dé      |"]
        );
    }

    #[test]
    fn only_the_redactors_markers_are_marked_even_when_split() {
        let mut s = LogStore::default();
        let n = s.add_node("a");
        // The engine's spans: the marker after `token=`, cut between two events; the `****`
        // and `***` are the child's own.
        s.push_marked(n, Stream::Stdout, b"token=*", &[6..7], T);
        s.push_marked(
            n,
            Stream::Stdout,
            b"** and ****, not *** or *\n",
            &[0..2],
            T,
        );
        // Colours and a tab before a marker do not move it.
        s.push_marked(
            n,
            Stream::Stdout,
            b"\x1b[31mk\t***\x1b[0m ***\n",
            &[7..10],
            T,
        );
        let v = s.view(Selection::Node(n));
        let l = v.get(0).unwrap();
        assert_eq!(l.redacted().collect::<Vec<_>>(), vec![6..9]);
        assert_eq!(&l.text()[6..9], REDACTED);
        let l = v.get(1).unwrap();
        assert_eq!(l.text(), "k       *** ***");
        assert_eq!(l.redacted().collect::<Vec<_>>(), vec![8..11]);
        // Without spans nothing is marked, however many stars.
        s.push(n, Stream::Stdout, b"*** ****\n", T);
        let v = s.view(Selection::Node(n));
        assert_eq!(v.get(2).unwrap().redacted().count(), 0);
    }

    #[test]
    fn scrollback_is_bounded_per_node_and_in_all() {
        let mut s = LogStore::new(LogConfig {
            max_lines: 3,
            max_line_bytes: 1000,
            ..LogConfig::default()
        });
        let a = s.add_node("a");
        let b = s.add_node("b");
        s.push(b, Stream::Stdout, b"b0\n", T);
        for i in 0..10 {
            s.push(a, Stream::Stdout, format!("a{i}\n").as_bytes(), T);
        }
        assert_eq!(texts(&s, Selection::Node(a)), vec!["a7", "a8", "a9"]);
        assert_eq!(
            texts(&s, Selection::Node(b)),
            vec!["b0"],
            "a chatty node keeps b's lines"
        );
        assert_eq!(texts(&s, Selection::All), vec!["a7", "a8", "a9"]);
        let v = s.view(Selection::Node(a));
        assert_eq!((v.first(), v.end()), (7, 10));
        assert!(v.get(6).is_none());
    }

    /// The cost of every kept line, counted again from the lines themselves.
    fn recount(s: &LogStore) -> usize {
        (0..s.node_count())
            .map(|n| {
                let v = s.view(Selection::Node(n));
                v.iter_from(0).map(|(_, l)| l.cost()).sum::<usize>()
            })
            .sum()
    }

    /// A newline-free flood, plain and with a colour change at every character.
    fn flood(s: &mut LogStore, node: NodeIdx, total: usize) {
        let plain = vec![b'x'; 64 * 1024];
        let styled = b"\x1b[31mx\x1b[32my".repeat(4096);
        let mut sent = 0;
        let mut i = 0;
        while sent < total {
            let chunk: &[u8] = if i % 2 == 0 { &plain } else { &styled };
            s.push(node, Stream::Stdout, chunk, T);
            sent += chunk.len();
            i += 1;
        }
    }

    #[test]
    fn scrollback_is_bounded_in_bytes_whatever_the_line_breaks() {
        const BUDGET: usize = 1024 * 1024;
        let config = LogConfig {
            max_lines: 100_000,
            max_line_bytes: 32 * 1024,
            max_bytes: BUDGET,
        };
        // Without a byte budget the same flood is held whole: the budget is what bounds it.
        let mut unbounded = LogStore::new(LogConfig {
            max_bytes: usize::MAX,
            ..config
        });
        let u = unbounded.add_node("a");
        flood(&mut unbounded, u, 24 * 1024 * 1024);
        assert!(
            unbounded.bytes() > 20 * 1024 * 1024,
            "{}",
            unbounded.bytes()
        );
        assert_eq!(recount(&unbounded), unbounded.bytes());

        let mut s = LogStore::new(config);
        let quiet = s.add_node("quiet");
        let a = s.add_node("a");
        s.push(quiet, Stream::Stdout, b"one line\n", T);
        flood(&mut s, a, 24 * 1024 * 1024);
        s.push(a, Stream::Stdout, b"END\n", T);
        assert!(s.bytes() <= BUDGET, "{} bytes held", s.bytes());
        assert_eq!(
            recount(&s),
            s.bytes(),
            "the accounting matches the lines kept"
        );
        // The newest output is what is kept, and a good share of the budget is used.
        let lines = texts(&s, Selection::Node(a));
        assert!(
            lines.last().is_some_and(|l| l.ends_with("END")),
            "{:?}",
            lines.last()
        );
        assert!(s.bytes() > BUDGET / 2, "{}", s.bytes());
        assert_eq!(texts(&s, Selection::Node(quiet)), vec!["one line"]);
        // The all-nodes view holds only lines that are still kept.
        let v = s.view(Selection::All);
        assert!(v.iter_from(0).count() >= lines.len());
    }

    #[test]
    fn all_view_interleaves_by_arrival_with_node_tags() {
        let mut s = LogStore::default();
        let a = s.add_node("fetch");
        let b = s.add_node("risk");
        s.push(a, Stream::Stdout, b"a1\na", T);
        s.push(b, Stream::Stderr, b"b1\n", T);
        s.push(a, Stream::Stdout, b"2\n", T);
        let v = s.view(Selection::All);
        let got: Vec<_> = v
            .iter_from(0)
            .map(|(_, l)| format!("[{}] {}", s.node_name(l.node), l.text()))
            .collect();
        assert_eq!(got, vec!["[fetch] a1", "[fetch] a2", "[risk] b1"]);
        assert_eq!(s.add_node("risk"), b);
    }

    #[test]
    fn long_lines_are_broken() {
        let mut s = LogStore::new(LogConfig {
            max_lines: 100,
            max_line_bytes: 16,
            ..LogConfig::default()
        });
        let n = s.add_node("a");
        s.push(n, Stream::Stdout, &[b'x'; 40], T);
        s.push(n, Stream::Stdout, b"\n", T);
        let t = texts(&s, Selection::Node(n));
        assert_eq!(
            t.iter().map(|l| l.len()).collect::<Vec<_>>(),
            vec![16, 16, 8]
        );
    }

    fn is_clean(c: char) -> bool {
        !(c.is_control()) && c != '\u{1b}'
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        #[test]
        fn arbitrary_bytes_never_leak_controls(
            bytes in proptest::collection::vec(any::<u8>(), 0..400),
            cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..8),
        ) {
            let mut pieces = vec![0, bytes.len()];
            pieces.extend(cuts.iter().map(|c| c.index(bytes.len() + 1)));
            pieces.sort_unstable();
            let mut split = LogStore::default();
            let n = split.add_node("a");
            for w in pieces.windows(2) {
                split.push(n, Stream::Stdout, &bytes[w[0]..w[1]], T);
            }
            split.finish(n, Stream::Stdout, T);
            let mut whole = LogStore::default();
            let m = whole.add_node("a");
            whole.push(m, Stream::Stdout, &bytes, T);
            whole.finish(m, Stream::Stdout, T);
            let a = texts(&split, Selection::Node(n));
            prop_assert_eq!(&a, &texts(&whole, Selection::Node(m)));
            for line in &a {
                prop_assert!(line.chars().all(is_clean), "{:?}", line);
            }
        }

        /// The ASCII fast path of `push` gives exactly what the parser, character by
        /// character, gives: texts, styles, redacted runs, line splits at the length limit.
        #[test]
        fn fast_path_matches_the_parser_char_by_char(
            parts in proptest::collection::vec(prop_oneof![
                Just(b"\x1b[31m".to_vec()), Just(b"\x1b[0m".to_vec()), Just(b"\r".to_vec()),
                Just(b"\n".to_vec()), Just(b"\t".to_vec()), Just(b"***".to_vec()), Just(b"*".to_vec()),
                Just("é".as_bytes().to_vec()), Just(b"plain text ".to_vec()),
                proptest::collection::vec(any::<u8>(), 0..6),
            ], 0..60),
            max_line in 4usize..40,
        ) {
            let bytes: Vec<u8> = parts.concat();
            // Each `***` part stands for a redactor's marker.
            let mut marks = Vec::new();
            let mut at = 0;
            for p in &parts {
                if p.as_slice() == b"***" {
                    marks.push(at..at + 3);
                }
                at += p.len();
            }
            let config = LogConfig { max_line_bytes: max_line, ..LogConfig::default() };
            let mut fast = LogStore::new(config);
            let n = fast.add_node("a");
            fast.push_marked(n, Stream::Stdout, &bytes, &marks, T);
            let mut slow = LogStore::new(config);
            let m = slow.add_node("a");
            let mut parser = AnsiParser::new();
            for (i, b) in bytes.iter().enumerate() {
                slow.in_marker = marks.iter().any(|r| r.contains(&i));
                parser.feed(&[*b], &mut |a| slow.apply(m, Stream::Stdout, a, T));
            }
            let (vf, vs) = (fast.view(Selection::Node(n)), slow.view(Selection::Node(m)));
            let lf: Vec<_> = vf.iter_from(vf.first()).map(|(_, l)| (l.text().to_string(), l.spans().to_vec(), l.redacted().collect::<Vec<_>>(), l.is_open())).collect();
            let ls: Vec<_> = vs.iter_from(vs.first()).map(|(_, l)| (l.text().to_string(), l.spans().to_vec(), l.redacted().collect::<Vec<_>>(), l.is_open())).collect();
            prop_assert_eq!(lf, ls);
        }

        /// A flood of plain lines (the shared-chunk path), cut anywhere and mixed with styled,
        /// long and partial lines, keeps the same lines as feeding it byte by byte, and the
        /// store's count of its bytes stays the sum of what its lines hold, within budget.
        #[test]
        fn plain_line_chunks_match_byte_by_byte_and_are_counted(
            lines in proptest::collection::vec(prop_oneof![
                4 => "[a-z ]{0,30}",
                1 => Just("\x1b[32mgreen\x1b[0m".to_string()),
                1 => Just("x".repeat(70)),
                1 => Just("tab\there é".to_string()),
            ], 0..120),
            cuts in proptest::collection::vec(1usize..400, 1..20),
            max_lines in 5usize..60,
        ) {
            let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
            let bytes = text.as_bytes();
            let chunked = |config: LogConfig| {
                let mut s = LogStore::new(config);
                let (a, b) = (s.add_node("a"), s.add_node("b"));
                let mut off = 0;
                for c in cuts.iter().cycle() {
                    if off >= bytes.len() {
                        break;
                    }
                    let end = (off + c).min(bytes.len());
                    s.push(a, Stream::Stdout, &bytes[off..end], T);
                    s.push(b, Stream::Stderr, &bytes[off..end], T);
                    off = end;
                }
                s
            };
            // Bounded in lines only: the same lines as byte by byte.
            let config = LogConfig { max_lines, max_line_bytes: 64, ..LogConfig::default() };
            let fast = chunked(config);
            let mut single = LogStore::new(config);
            let (x, y) = (single.add_node("a"), single.add_node("b"));
            for i in 0..bytes.len() {
                single.push(x, Stream::Stdout, &bytes[i..i + 1], T);
                single.push(y, Stream::Stderr, &bytes[i..i + 1], T);
            }
            for n in [0, 1] {
                prop_assert_eq!(texts(&fast, Selection::Node(n)), texts(&single, Selection::Node(n)));
            }
            // The all-nodes view interleaves by arrival, which the cuts change; not the lines
            // it was given.
            prop_assert_eq!(fast.view(Selection::All).end(), single.view(Selection::All).end());
            // Bounded in bytes: the count is what the lines hold, within the budget.
            let chunked = chunked(LogConfig { max_bytes: 6_000, ..config });
            let held: usize = [0, 1]
                .iter()
                .flat_map(|&n| {
                    let v = chunked.view(Selection::Node(n));
                    v.iter_from(v.first()).map(|(_, l)| l.cost()).collect::<Vec<_>>()
                })
                .sum();
            prop_assert_eq!(chunked.bytes(), held);
            prop_assert!(chunked.bytes() <= 6_000 + 2 * 300, "{}", chunked.bytes());
        }

        #[test]
        fn escape_heavy_input_never_leaks_controls(
            parts in proptest::collection::vec(prop_oneof![
                Just(b"\x1b".to_vec()), Just(b"\x1b[".to_vec()), Just(b"\x1b]".to_vec()),
                Just(b"\x07".to_vec()), Just(b"\x1b\\".to_vec()), Just(b"\r".to_vec()),
                Just(b"\n".to_vec()), Just(b";".to_vec()), Just(b"38;5;1m".to_vec()),
                Just(b"\xc2\x9b".to_vec()), Just(b"\xe2".to_vec()), Just(b"P".to_vec()),
                proptest::collection::vec(any::<u8>(), 0..4),
            ], 0..60),
            chunk in 1usize..7,
        ) {
            let bytes: Vec<u8> = parts.concat();
            let mut s = LogStore::default();
            let n = s.add_node("a");
            for c in bytes.chunks(chunk) {
                s.push(n, Stream::Stderr, c, T);
            }
            for line in texts(&s, Selection::Node(n)) {
                prop_assert!(line.chars().all(is_clean), "{:?}", line);
            }
        }
    }
}
