//! The log pane's state (follow, cursor, scrolling, wrap, timestamps, search) as pure data, and
//! its drawing into a ratatui buffer with the theme's styles; drawing takes `&self`.

use std::ops::Range;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use super::logbuf::{LogLine, LogStore, LogView, Selection, Stream};
use super::search::Search;
use super::theme::{Role, Theme};
use crate::human::{self, Form};

/// Longest node tag shown in the all-nodes view (longer ids are cut with `…`).
const MAX_TAG: usize = 12;

/// State of the log pane.
#[derive(Debug, Clone)]
pub struct LogViewState {
    sel: Selection,
    follow: bool,
    cursor: u64,
    top: u64,
    /// Wrapped rows of the `top` line scrolled out above the pane.
    top_row: usize,
    hscroll: usize,
    wrap: bool,
    timestamps: bool,
    width: u16,
    height: u16,
    pub search: Search,
}

/// Pane size (width, height) used for row arithmetic.
#[derive(Debug, Clone, Copy)]
struct Geo(u16, u16);

/// One screen row: which line and which of its wrapped rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowRef {
    pub line: u64,
    pub row: usize,
}

impl LogViewState {
    pub fn new(sel: Selection) -> Self {
        LogViewState {
            sel,
            follow: true,
            cursor: 0,
            top: 0,
            top_row: 0,
            hscroll: 0,
            wrap: false,
            timestamps: false,
            width: 80,
            height: 20,
            search: Search::new(),
        }
    }

    pub fn selection(&self) -> Selection {
        self.sel
    }
    pub fn is_following(&self) -> bool {
        self.follow
    }
    pub fn wrap(&self) -> bool {
        self.wrap
    }
    pub fn timestamps(&self) -> bool {
        self.timestamps
    }

    /// Shows another node (or all): follow resumes, a running search restarts there.
    pub fn select(&mut self, sel: Selection) {
        if sel != self.sel {
            self.sel = sel;
            self.follow = true;
            self.top_row = 0;
            self.hscroll = 0;
            let q = self.search.query().to_string();
            self.search.set_query(&q, sel);
        }
    }

    /// The pane's inner size (call on layout/resize).
    pub fn set_viewport(&mut self, width: u16, height: u16) {
        self.width = width;
        self.height = height;
    }

    /// Advances the search by one slice; call once per tick/frame.
    pub fn tick(&mut self, store: &LogStore) {
        self.search.step(store.view(self.sel));
    }

    /// The selected line (the last one while following).
    pub fn cursor(&self, store: &LogStore) -> Option<u64> {
        let v = store.view(self.sel);
        if v.is_empty() {
            return None;
        }
        Some(if self.follow {
            v.end() - 1
        } else {
            self.cursor.clamp(v.first(), v.end() - 1)
        })
    }

    fn stop_following(&mut self, store: &LogStore) {
        if self.follow {
            self.follow = false;
            let (top, top_row) = self.bottom_anchor(store, self.geo());
            self.top = top;
            self.top_row = top_row;
            self.cursor = store.view(self.sel).end().saturating_sub(1);
        }
    }

    pub fn line_up(&mut self, store: &LogStore) {
        self.move_by(store, -1);
    }
    pub fn line_down(&mut self, store: &LogStore) {
        self.move_by(store, 1);
    }
    pub fn page_up(&mut self, store: &LogStore) {
        self.move_by(store, -i64::from(self.height.saturating_sub(1).max(1)));
    }
    pub fn page_down(&mut self, store: &LogStore) {
        self.move_by(store, i64::from(self.height.saturating_sub(1).max(1)));
    }

    /// `g`: the oldest kept line.
    pub fn go_top(&mut self, store: &LogStore) {
        self.stop_following(store);
        let first = store.view(self.sel).first();
        self.cursor = first;
        self.top = first;
        self.top_row = 0;
    }

    /// `G` / End: the newest line, and follow again.
    pub fn go_bottom(&mut self) {
        self.follow = true;
        self.top_row = 0;
    }

    /// `w`.
    pub fn toggle_wrap(&mut self) {
        self.wrap = !self.wrap;
        self.top_row = 0;
        self.hscroll = 0;
    }

    /// `t`.
    pub fn toggle_timestamps(&mut self) {
        self.timestamps = !self.timestamps;
    }

    /// `h`/`l` when not wrapping: scroll sideways by 8 columns.
    pub fn scroll_left(&mut self) {
        self.hscroll = self.hscroll.saturating_sub(8);
    }
    pub fn scroll_right(&mut self) {
        if !self.wrap {
            self.hscroll += 8;
        }
    }

    /// Puts the cursor on a line (e.g. a search match) and scrolls it into view.
    pub fn jump_to(&mut self, store: &LogStore, line: u64) {
        self.stop_following(store);
        self.cursor = line;
        self.ensure_visible(store);
    }

    /// The mouse wheel: moves the view by `delta` lines, keeping the cursor inside it; scrolling
    /// down to the end follows again.
    pub fn scroll_lines(&mut self, store: &LogStore, delta: i64) {
        let v = store.view(self.sel);
        if v.is_empty() || (delta > 0 && self.follow) {
            return;
        }
        self.stop_following(store);
        let (last_top, _) = self.bottom_anchor(store, self.geo());
        let top = self
            .top
            .saturating_add_signed(delta)
            .clamp(v.first(), last_top.max(v.first()));
        if delta > 0 && top >= last_top {
            self.go_bottom();
            return;
        }
        self.top = top;
        self.top_row = 0;
        let rows = self.visible_rows(store);
        if let (Some(first), Some(last)) = (rows.first(), rows.last()) {
            self.cursor = self.cursor.clamp(first.line, last.line);
        }
    }

    /// A click on the pane's `row`-th row (from its top): the cursor goes to that line.
    pub fn click_row(&mut self, store: &LogStore, row: usize) {
        if let Some(r) = self.visible_rows(store).get(row) {
            let line = r.line;
            self.jump_to(store, line);
        }
    }

    /// `/` confirmed: search the whole view; the cursor goes to the first match after it.
    pub fn search_start(&mut self, store: &LogStore, query: &str) {
        self.search.set_query(query, self.sel);
        self.search.step(store.view(self.sel));
        self.search_next(store);
    }

    /// `n`.
    pub fn search_next(&mut self, store: &LogStore) {
        let from = self.cursor(store).map(|c| (c, 0));
        if let Some(line) = self.search.next(from) {
            self.jump_to(store, line);
        }
    }

    /// `N`.
    pub fn search_prev(&mut self, store: &LogStore) {
        let from = self.cursor(store).map(|c| (c, 0));
        if let Some(line) = self.search.prev(from) {
            self.jump_to(store, line);
        }
    }

    fn move_by(&mut self, store: &LogStore, delta: i64) {
        let v = store.view(self.sel);
        if v.is_empty() {
            return;
        }
        self.stop_following(store);
        let cur = self.cursor.clamp(v.first(), v.end() - 1);
        let target = cur.saturating_add_signed(delta);
        self.cursor = target.clamp(v.first(), v.end() - 1);
        self.ensure_visible(store);
    }

    fn ensure_visible(&mut self, store: &LogStore) {
        let v = store.view(self.sel);
        if self.top < v.first() {
            self.top = v.first();
            self.top_row = 0;
        }
        if self.cursor < self.top || (self.cursor == self.top && self.top_row > 0) {
            self.top = self.cursor;
            self.top_row = 0;
            return;
        }
        let h = usize::from(self.height.max(1));
        let mut rows = 0;
        for abs in self.top..=self.cursor {
            rows += self.rows_of(store, self.geo(), v.get(abs));
            if abs == self.top {
                rows -= self.top_row.min(rows.saturating_sub(1));
            }
        }
        if rows > h {
            // Put the cursor's last row at the bottom.
            let (top, top_row) = self.anchor_bottom_at(store, self.geo(), self.cursor);
            self.top = top;
            self.top_row = top_row;
        }
    }

    /// Width of the tag and timestamp columns.
    pub fn prefix_width(&self, store: &LogStore) -> usize {
        let mut w = 0;
        if self.timestamps {
            w += 10;
        }
        if self.sel == Selection::All {
            let longest = (0..store.node_count())
                .map(|n| store.node_name(n).width())
                .max()
                .unwrap_or(0);
            w += longest.min(MAX_TAG) + 3;
        }
        w
    }

    fn text_width(&self, store: &LogStore, g: Geo) -> usize {
        usize::from(g.0)
            .saturating_sub(self.prefix_width(store))
            .max(1)
    }

    fn rows_of(&self, store: &LogStore, g: Geo, line: Option<&LogLine>) -> usize {
        match line {
            Some(l) if self.wrap => wrap_ranges(l.text(), self.text_width(store, g)).len(),
            _ => 1,
        }
    }

    fn bottom_anchor(&self, store: &LogStore, g: Geo) -> (u64, usize) {
        let v = store.view(self.sel);
        match v.end().checked_sub(1) {
            Some(last) if !v.is_empty() => self.anchor_bottom_at(store, g, last),
            _ => (v.first(), 0),
        }
    }

    /// The (top, top_row) that puts `line`'s last row on the pane's last row.
    fn anchor_bottom_at(&self, store: &LogStore, g: Geo, line: u64) -> (u64, usize) {
        let v = store.view(self.sel);
        let h = usize::from(g.1.max(1));
        let mut rows = 0;
        let mut abs = line;
        loop {
            let r = self.rows_of(store, g, v.get(abs));
            if rows + r >= h {
                return (abs, rows + r - h);
            }
            rows += r;
            if abs <= v.first() {
                return (v.first(), 0);
            }
            abs -= 1;
        }
    }

    /// The rows the pane shows, top to bottom (at most the viewport height).
    pub fn visible_rows(&self, store: &LogStore) -> Vec<RowRef> {
        self.visible_rows_in(store, self.geo())
    }

    fn geo(&self) -> Geo {
        Geo(self.width, self.height)
    }

    fn visible_rows_in(&self, store: &LogStore, g: Geo) -> Vec<RowRef> {
        let v = store.view(self.sel);
        if v.is_empty() {
            return Vec::new();
        }
        let (mut abs, mut row) = if self.follow {
            self.bottom_anchor(store, g)
        } else if self.top < v.first() {
            (v.first(), 0)
        } else {
            (self.top, self.top_row)
        };
        let h = usize::from(g.1);
        let mut out = Vec::with_capacity(h);
        while out.len() < h && abs < v.end() {
            let n = self.rows_of(store, g, v.get(abs));
            while row < n && out.len() < h {
                out.push(RowRef { line: abs, row });
                row += 1;
            }
            abs += 1;
            row = 0;
        }
        out
    }

    /// A title for the pane's border: source, follow/paused, wrap, search count.
    pub fn title(&self, store: &LogStore) -> String {
        let mut t = match self.sel {
            Selection::All => "logs: all nodes".to_string(),
            Selection::Node(n) => format!("logs: {}", store.node_name(n)),
        };
        t.push_str(if self.follow {
            " · follow"
        } else {
            " · paused"
        });
        if self.wrap {
            t.push_str(" · wrap");
        }
        if self.search.is_active() {
            let view = store.view(self.sel);
            let more = if self.search.is_complete(view) {
                ""
            } else {
                "+"
            };
            match self.search.current() {
                Some((_, rank)) => t.push_str(&format!(
                    " · /{} {rank}/{}{more}",
                    self.search.query(),
                    self.search.count()
                )),
                None => t.push_str(&format!(
                    " · /{} {}{more} matches",
                    self.search.query(),
                    self.search.count()
                )),
            }
        }
        t
    }

    /// The selected line's text (for `y`).
    pub fn selected_text(&self, store: &LogStore) -> Option<String> {
        let c = self.cursor(store)?;
        store.view(self.sel).get(c).map(|l| l.text().to_string())
    }

    /// Draws the visible lines into `area`. `focused` shows the cursor line.
    pub fn draw(
        &self,
        store: &LogStore,
        theme: &Theme,
        area: Rect,
        buf: &mut Buffer,
        focused: bool,
    ) {
        self.render_rows(store, theme, area, buf, focused);
    }

    fn render_rows(
        &self,
        store: &LogStore,
        theme: &Theme,
        area: Rect,
        buf: &mut Buffer,
        focused: bool,
    ) {
        let v = store.view(self.sel);
        let g = Geo(area.width, area.height);
        let tw = self.text_width(store, g);
        let cursor = if focused && !self.follow {
            self.cursor(store)
        } else {
            None
        };
        buf.set_style(area, theme.style(Role::Text));
        if v.is_empty() {
            let msg = "(no output yet)";
            buf.set_stringn(
                area.x,
                area.y,
                msg,
                usize::from(area.width),
                theme.style(Role::Muted),
            );
            return;
        }
        for (i, r) in self.visible_rows_in(store, g).into_iter().enumerate() {
            let y = area.y + i as u16;
            let Some(line) = v.get(r.line) else { continue };
            let mut x = area.x;
            let right = area.x + area.width;
            if r.row == 0 {
                if self.timestamps {
                    let ts = format!("{:<9} ", human::duration(line.at, Form::Clock));
                    let (nx, _) = buf.set_stringn(
                        x,
                        y,
                        ts,
                        usize::from(right - x),
                        theme.style(Role::Timestamp),
                    );
                    x = nx;
                }
                if self.sel == Selection::All {
                    let tag = tag_for(
                        store.node_name(line.node),
                        self.prefix_width(store) - if self.timestamps { 10 } else { 0 },
                    );
                    let (nx, _) = buf.set_stringn(
                        x,
                        y,
                        tag,
                        usize::from(right - x),
                        theme.style(Role::NodeTag),
                    );
                    x = nx;
                }
            }
            x = x.max(area.x + self.prefix_width(store).min(usize::from(area.width)) as u16);
            let range = if self.wrap {
                wrap_ranges(line.text(), tw)
                    .get(r.row)
                    .cloned()
                    .unwrap_or(0..0)
            } else {
                skip_columns(line.text(), self.hscroll)..line.text().len()
            };
            let matches = self.search.ranges_in(r.line);
            draw_text(buf, x, y, right, line, range, &matches, theme);
            if cursor == Some(r.line) {
                buf.set_style(
                    Rect::new(area.x, y, area.width, 1),
                    theme.style(Role::Selection),
                );
            }
        }
    }
}

/// `[name] ` padded to `width`, long names cut with `…`.
fn tag_for(name: &str, width: usize) -> String {
    let inner = width.saturating_sub(3);
    let mut s = String::new();
    let mut w = 0;
    for c in name.chars() {
        let cw = c.width().unwrap_or(0);
        if w + cw > inner {
            s.pop();
            s.push('…');
            break;
        }
        s.push(c);
        w += cw;
    }
    format!("{:<width$}", format!("[{s}]"), width = width)
}

/// Byte offset of the first character at or after display column `cols`.
fn skip_columns(text: &str, cols: usize) -> usize {
    let mut w = 0;
    for (i, c) in text.char_indices() {
        if w >= cols {
            return i;
        }
        w += c.width().unwrap_or(0);
    }
    text.len()
}

/// Splits text into rows of at most `width` display columns (a wide character never straddles
/// two rows); an empty text is one empty row.
pub fn wrap_ranges(text: &str, width: usize) -> Vec<Range<usize>> {
    let width = width.max(1);
    let mut rows = Vec::new();
    let mut start = 0;
    let mut w = 0;
    for (i, c) in text.char_indices() {
        let cw = c.width().unwrap_or(0);
        if w + cw > width && i > start {
            rows.push(start..i);
            start = i;
            w = 0;
        }
        w += cw;
    }
    rows.push(start..text.len());
    rows
}

#[allow(clippy::too_many_arguments)]
fn draw_text(
    buf: &mut Buffer,
    mut x: u16,
    y: u16,
    right: u16,
    line: &LogLine,
    range: Range<usize>,
    matches: &[(Range<usize>, bool)],
    theme: &Theme,
) {
    let base = match line.stream {
        Stream::Stdout => theme.style(Role::Text),
        Stream::Stderr => theme.style(Role::Stderr),
    };
    let text = line.text();
    let Some(slice) = text.get(range.clone()) else {
        return;
    };
    let style_at = |i: usize| -> Style {
        let mut s = base;
        if let Some(sp) = line
            .spans()
            .iter()
            .find(|sp| (sp.start as usize..sp.end as usize).contains(&i))
        {
            s = s.patch(sp.style);
        }
        if line.redacted().any(|r| r.contains(&i)) {
            s = s.patch(theme.style(Role::Redacted));
        }
        if let Some((_, cur)) = matches.iter().find(|(r, _)| r.contains(&i)) {
            s = s.patch(theme.style(if *cur {
                Role::SearchCurrent
            } else {
                Role::SearchMatch
            }));
        }
        s
    };
    let mut seg = String::new();
    let mut seg_style: Option<Style> = None;
    for (off, c) in slice.char_indices() {
        let st = style_at(range.start + off);
        if seg_style.is_some_and(|s| s != st) {
            x = flush(buf, x, y, right, &mut seg, seg_style.unwrap_or_default());
        }
        seg_style = Some(st);
        seg.push(c);
        if x >= right {
            return;
        }
    }
    flush(buf, x, y, right, &mut seg, seg_style.unwrap_or_default());
}

fn flush(buf: &mut Buffer, x: u16, y: u16, right: u16, seg: &mut String, style: Style) -> u16 {
    if x >= right || seg.is_empty() {
        seg.clear();
        return x;
    }
    let (nx, _) = buf.set_stringn(x, y, seg.as_str(), usize::from(right - x), style);
    seg.clear();
    nx
}

/// Plain text of a whole view (for saving or copying a node's log).
pub fn view_text(view: LogView<'_>, timestamps: bool) -> String {
    let store = view.store();
    let mut out = String::new();
    for (_, l) in view.iter_from(0) {
        if timestamps {
            out.push_str(&human::duration(l.at, Form::Clock));
            out.push(' ');
        }
        if view.selection() == Selection::All {
            out.push_str(&format!("[{}] ", store.node_name(l.node)));
        }
        out.push_str(l.text());
        out.push('\n');
    }
    out
}

#[cfg(test)]
// Marker ranges: a list of one range is a list, not a range.
#[allow(clippy::single_range_in_vec_init)]
pub(crate) mod tests {
    use super::*;
    use crate::ui::tui::logbuf::LogConfig;
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    use ratatui::style::{Color, Modifier};
    use ratatui::widgets::{Block, Borders, Widget};
    use std::time::Duration;

    const T: Duration = Duration::ZERO;

    fn store_with(n: usize) -> (LogStore, usize) {
        let mut s = LogStore::new(LogConfig::default());
        let a = s.add_node("a");
        for i in 0..n {
            s.push(a, Stream::Stdout, format!("line {i}\n").as_bytes(), T);
        }
        (s, a)
    }

    fn lines(v: &LogViewState, s: &LogStore) -> Vec<u64> {
        v.visible_rows(s).iter().map(|r| r.line).collect()
    }

    #[test]
    fn follow_shows_the_tail_and_pauses_on_scroll_up() {
        let (mut s, a) = store_with(100);
        let mut v = LogViewState::new(Selection::Node(a));
        v.set_viewport(40, 10);
        assert_eq!(lines(&v, &s), (90..100).collect::<Vec<_>>());
        v.line_up(&s);
        assert!(!v.is_following());
        assert_eq!(v.cursor(&s), Some(98));
        s.push(a, Stream::Stdout, b"new\n", T);
        assert_eq!(
            lines(&v, &s),
            (90..100).collect::<Vec<_>>(),
            "paused view stays put"
        );
        v.go_bottom();
        assert!(v.is_following());
        assert_eq!(lines(&v, &s), (91..101).collect::<Vec<_>>());
    }

    #[test]
    fn paging_and_top_bottom() {
        let (s, a) = store_with(100);
        let mut v = LogViewState::new(Selection::Node(a));
        v.set_viewport(40, 10);
        v.page_up(&s);
        assert_eq!(v.cursor(&s), Some(90));
        v.page_up(&s);
        assert_eq!(v.cursor(&s), Some(81));
        assert_eq!(lines(&v, &s)[0], 81);
        v.go_top(&s);
        assert_eq!(lines(&v, &s)[0], 0);
        v.line_up(&s);
        assert_eq!(v.cursor(&s), Some(0));
        v.page_down(&s);
        v.page_down(&s);
        assert_eq!(v.cursor(&s), Some(18));
        assert_eq!(lines(&v, &s), (9..19).collect::<Vec<_>>());
        v.line_down(&s);
        assert_eq!(*lines(&v, &s).last().unwrap(), 19);
    }

    #[test]
    fn wrapped_rows_use_display_width() {
        assert_eq!(wrap_ranges("abcdefgh", 3), vec![0..3, 3..6, 6..8]);
        assert_eq!(wrap_ranges("", 3), vec![0..0]);
        // Wide characters never straddle rows.
        assert_eq!(wrap_ranges("a界界", 4), vec![0..4, 4..7]);
        assert_eq!(wrap_ranges("界", 1), vec![0..3]);
        let mut s = LogStore::default();
        let a = s.add_node("a");
        s.push(a, Stream::Stdout, b"0123456789abcdefghij\nshort\n", T);
        let mut v = LogViewState::new(Selection::Node(a));
        v.set_viewport(8, 4);
        v.toggle_wrap();
        let rows = v.visible_rows(&s);
        assert_eq!(
            rows.iter().map(|r| (r.line, r.row)).collect::<Vec<_>>(),
            vec![(0, 0), (0, 1), (0, 2), (1, 0)]
        );
        v.set_viewport(8, 2);
        assert_eq!(
            v.visible_rows(&s)
                .iter()
                .map(|r| (r.line, r.row))
                .collect::<Vec<_>>(),
            vec![(0, 2), (1, 0)],
            "follow anchors the last row at the bottom"
        );
    }

    #[test]
    fn evicted_top_is_clamped() {
        let mut s = LogStore::new(LogConfig {
            max_lines: 20,
            max_line_bytes: 100,
            ..LogConfig::default()
        });
        let a = s.add_node("a");
        for i in 0..20 {
            s.push(a, Stream::Stdout, format!("{i}\n").as_bytes(), T);
        }
        let mut v = LogViewState::new(Selection::Node(a));
        v.set_viewport(10, 5);
        v.go_top(&s);
        for i in 0..10 {
            s.push(a, Stream::Stdout, format!("n{i}\n").as_bytes(), T);
        }
        assert_eq!(lines(&v, &s)[0], 10);
        assert_eq!(v.cursor(&s), Some(10));
    }

    #[test]
    fn search_jumps_and_title_counts() {
        let (s, a) = store_with(100);
        let mut v = LogViewState::new(Selection::Node(a));
        v.set_viewport(40, 10);
        v.go_top(&s);
        v.search_start(&s, "line 5");
        assert_eq!(v.cursor(&s), Some(5));
        assert_eq!(v.title(&s), "logs: a · paused · /line 5 1/11");
        v.search_next(&s);
        assert_eq!(v.cursor(&s), Some(50));
        assert!(lines(&v, &s).contains(&50));
        v.search_prev(&s);
        v.search_prev(&s);
        assert_eq!(v.cursor(&s), Some(59), "wraps to the last match");
    }

    #[test]
    fn timestamps_and_tags_format() {
        assert_eq!(tag_for("fetch", 10), "[fetch]   ");
        assert_eq!(tag_for("a-very-long-node", 10), "[a-very…] ");
    }

    fn sample() -> LogStore {
        let mut s = LogStore::default();
        let f = s.add_node("fetch");
        let r = s.add_node("risk");
        let ms = Duration::from_millis;
        s.push(
            f,
            Stream::Stdout,
            b"\x1b[1;32mconnected\x1b[0m to market feed\n",
            ms(12),
        );
        s.push_marked(
            f,
            Stream::Stdout,
            b"using key *** for signing\n",
            &[10..13],
            ms(40),
        );
        s.push(
            r,
            Stream::Stderr,
            b"warning: fewer than 250 samples\n",
            ms(1500),
        );
        s.push(
            r,
            Stream::Stdout,
            b"\x1b]0;pwned\x07\x1b[2Jvar 95%: 0.031 \x1b[38;5;208mok\x1b[m\n",
            ms(2100),
        );
        s.push(
            f,
            Stream::Stdout,
            b"download 10%\rdownload 100%\n",
            ms(2500),
        );
        s.push_marked(
            r,
            Stream::Stdout,
            b"token=*** sent; var written\n",
            &[6..9],
            ms(3000),
        );
        s.push(f, Stream::Stdout, "a long line that is wider than the pane so that wrapping has something to do, ünïcödé 界界\n".as_bytes(), ms(3100));
        s
    }

    fn render(v: &LogViewState, s: &LogStore, theme: &Theme, w: u16, h: u16) -> Buffer {
        let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
        t.draw(|f| {
            let area = f.area();
            let block = Block::default().borders(Borders::ALL).title(v.title(s));
            let inner = block.inner(area);
            block.render(area, f.buffer_mut());
            v.draw(s, theme, inner, f.buffer_mut(), true);
        })
        .unwrap();
        t.backend().buffer().clone()
    }

    #[test]
    fn a_childs_own_stars_are_not_styled_as_redacted() {
        let mut s = LogStore::default();
        let n = s.add_node("svc");
        // A service prints `****` itself and then its secret, which the redactor replaced.
        s.push_marked(
            n,
            Stream::Stdout,
            b"pin **** key *** end\n",
            &[13..16],
            Duration::ZERO,
        );
        let theme = Theme::default();
        let mut v = LogViewState::new(Selection::Node(n));
        v.set_viewport(38, 4);
        let buf = render(&v, &s, &theme, 40, 6);
        let text = buf_text(&buf);
        let (row, line) = text
            .lines()
            .enumerate()
            .find(|(_, l)| l.contains("pin"))
            .unwrap();
        let col = |needle: &str| line[..line.find(needle).unwrap()].chars().count() as u16;
        let red = theme.style(Role::Redacted);
        let (own, marker) = (col("****"), col("*** end"));
        for x in own..own + 4 {
            assert_ne!(
                buf[(x, row as u16)].style(),
                buf[(marker, row as u16)].style()
            );
        }
        for x in marker..marker + 3 {
            assert_eq!(buf[(x, row as u16)].style().fg, red.fg, "column {x}");
            assert!(
                buf[(x, row as u16)]
                    .style()
                    .add_modifier
                    .contains(red.add_modifier)
            );
        }
        assert_eq!(
            buf[(own, row as u16)].style(),
            buf[(col("pin"), row as u16)].style()
        );
    }

    #[test]
    fn snapshot_all_nodes_with_colours_search_and_redaction() {
        let s = sample();
        let theme = Theme::default();
        let mut v = LogViewState::new(Selection::All);
        v.set_viewport(78, 22);
        v.search_start(&s, "var");
        let buf = render(&v, &s, &theme, 80, 24);
        insta::assert_snapshot!(buf_text(&buf));
        // Styles: child colour kept, redaction, search, stderr, selection.
        let find = |needle: &str| {
            let text = buf_text(&buf);
            let (row, line) = text
                .lines()
                .enumerate()
                .find(|(_, l)| l.contains(needle))
                .unwrap();
            let col = line[..line.find(needle).unwrap()].chars().count();
            buf[(col as u16, row as u16)].style()
        };
        assert_eq!(find("connected").fg, Some(Color::Green));
        assert!(find("connected").add_modifier.contains(Modifier::BOLD));
        assert_eq!(find("***").fg, theme.style(Role::Redacted).fg);
        assert_eq!(find("warning:").fg, theme.style(Role::Stderr).fg);
        assert_eq!(find("ok").fg, Some(Color::Indexed(208)));
        assert!(!buf_text(&buf).contains("pwned"));
        let cur = find("var 95%");
        assert!(
            cur.add_modifier.contains(Modifier::REVERSED),
            "cursor line selected"
        );
        let other = find("var written");
        assert_eq!(other.bg, theme.style(Role::SearchMatch).bg);
    }

    #[test]
    fn snapshot_wrapped_with_timestamps() {
        let s = sample();
        let theme = Theme::default();
        let mut v = LogViewState::new(Selection::Node(0));
        v.toggle_wrap();
        v.toggle_timestamps();
        let buf = render(&v, &s, &theme, 50, 10);
        insta::assert_snapshot!(buf_text(&buf));
    }

    #[test]
    fn empty_view_says_so() {
        let s = LogStore::default();
        let v = LogViewState::new(Selection::All);
        let buf = render(&v, &s, &Theme::default(), 30, 4);
        assert!(buf_text(&buf).contains("(no output yet)"));
    }

    #[test]
    fn view_text_for_saving() {
        let s = sample();
        let t = view_text(s.view(Selection::Node(1)), true);
        assert_eq!(
            t,
            "00:01.500 warning: fewer than 250 samples\n00:02.100 var 95%: 0.031 ok\n00:03.000 token=*** sent; var written\n"
        );
    }

    pub(crate) fn buf_text(buf: &Buffer) -> String {
        let mut out = String::new();
        for y in 0..buf.area.height {
            let mut skip = 0;
            for x in 0..buf.area.width {
                if skip > 0 {
                    skip -= 1;
                    continue;
                }
                let sym = buf[(x, y)].symbol();
                skip = sym.width().saturating_sub(1);
                out.push_str(sym);
            }
            out.push('\n');
        }
        out
    }
}
