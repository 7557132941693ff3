//! The log pane's state (follow, cursor, scrolling, wrap, timestamps, search, filter, region) as
//! pure data, and its drawing into a ratatui buffer with the theme's styles; drawing takes `&self`.

use std::ops::Range;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use super::filter::{self, Filter};
use super::logbuf::{LogLine, LogStore, LogView, Selection, Stream};
use super::search::Search;
use super::theme::{Role, Theme};
use crate::human::{self, Form};

/// Longest node tag shown in the all-nodes view (longer ids are cut with `…`).
const MAX_TAG: usize = 12;
/// Width of the stderr gutter (a sign and a space before every line's text).
const GUTTER: usize = 2;
/// Width of a relative timestamp column (`00:01.500 `).
const REL_TS: usize = 10;
/// Width of an absolute timestamp column (`14:03:07.512 `).
const ABS_TS: usize = 13;

/// How timestamps are shown (`t` shows them, `T` switches between the two).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeMode {
    /// Since the run started.
    Relative,
    /// Local wall-clock time.
    Absolute,
}

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
    time_mode: TimeMode,
    /// When the run started (wall clock, ms since the Unix epoch), for absolute timestamps.
    wall_start: Option<i64>,
    /// The time zone absolute timestamps are shown in (the system's; tests fix one).
    tz: jiff::tz::TimeZone,
    /// ASCII signs instead of Unicode ones (a non-UTF-8 terminal).
    ascii: bool,
    width: u16,
    height: u16,
    pub search: Search,
    /// Filter mode (`&`): only matching lines and their context.
    pub filter: Option<Filter>,
    /// A region being selected (`V`): the line it started at.
    region: Option<u64>,
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

/// The lines the pane moves over: every line of the view, or the filter's, by index.
#[derive(Clone, Copy)]
struct Nav<'a> {
    view: LogView<'a>,
    shown: Option<&'a [u64]>,
}

impl<'a> Nav<'a> {
    fn len(&self) -> usize {
        match self.shown {
            Some(s) => s.len(),
            None => self.view.len(),
        }
    }
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The line at index `i`.
    fn at(&self, i: usize) -> Option<u64> {
        match self.shown {
            Some(s) => s.get(i).copied(),
            None => (i < self.view.len()).then(|| self.view.first() + i as u64),
        }
    }
    /// The index of the first line at or after `abs` (the last index past the end).
    fn index(&self, abs: u64) -> usize {
        let i = match self.shown {
            Some(s) => s.partition_point(|&l| l < abs),
            None => usize::try_from(abs.saturating_sub(self.view.first())).unwrap_or(usize::MAX),
        };
        i.min(self.len().saturating_sub(1))
    }
    fn first(&self) -> Option<u64> {
        self.at(0)
    }
    fn last(&self) -> Option<u64> {
        self.len().checked_sub(1).and_then(|i| self.at(i))
    }
    /// The nearest line shown at or after `abs` (else the last).
    fn clamp(&self, abs: u64) -> Option<u64> {
        self.at(self.index(abs))
    }
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
            time_mode: TimeMode::Relative,
            wall_start: None,
            tz: jiff::tz::TimeZone::system(),
            ascii: false,
            width: 80,
            height: 20,
            search: Search::new(),
            filter: None,
            region: None,
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
    pub fn time_mode(&self) -> TimeMode {
        self.time_mode
    }
    /// The line a region started at (`V`), while one is being selected.
    pub fn region(&self) -> Option<u64> {
        self.region
    }

    /// A new state for a new run over `sel`, keeping how lines are shown (wrap, timestamps
    /// and their mode, time zone, signs).
    pub fn fresh(&self, sel: Selection) -> LogViewState {
        let mut lv = LogViewState::new(sel);
        lv.wrap = self.wrap;
        lv.timestamps = self.timestamps;
        lv.time_mode = self.time_mode;
        lv.tz = self.tz.clone();
        lv.ascii = self.ascii;
        lv
    }

    /// ASCII signs (cut markers, stderr gutter) for terminals without UTF-8.
    pub fn set_ascii(&mut self, ascii: bool) {
        self.ascii = ascii;
    }

    /// When the run started, by the wall clock (ms since the Unix epoch).
    pub fn set_wall_start(&mut self, ms: Option<i64>) {
        self.wall_start = ms;
    }

    /// The time zone of absolute timestamps.
    pub fn set_time_zone(&mut self, tz: jiff::tz::TimeZone) {
        self.tz = tz;
    }

    fn nav<'a>(&'a self, store: &'a LogStore) -> Nav<'a> {
        Nav {
            view: store.view(self.sel),
            shown: self.filter.as_ref().map(Filter::shown),
        }
    }

    /// Shows another node (or all): follow resumes, a running search or filter restarts there.
    pub fn select(&mut self, sel: Selection) {
        if sel != self.sel {
            self.sel = sel;
            self.follow = true;
            self.top_row = 0;
            self.hscroll = 0;
            self.region = None;
            self.search.reselect(sel);
            if let Some(f) = self.filter.as_mut() {
                f.reselect(sel);
            }
        }
    }

    /// The pane's inner size (call on layout/resize).
    pub fn set_viewport(&mut self, width: u16, height: u16) {
        self.width = width;
        self.height = height;
    }

    /// Advances the search and the filter by one slice each; call once per tick/frame.
    pub fn tick(&mut self, store: &LogStore) {
        let view = store.view(self.sel);
        self.search.step(view);
        if let Some(f) = self.filter.as_mut() {
            f.step(view);
        }
    }

    /// True while the search or the filter still has lines to scan (the runtime then ticks
    /// again at once, so the full count comes as fast as the scan goes).
    pub fn scan_pending(&self, store: &LogStore) -> bool {
        let view = store.view(self.sel);
        self.search.is_pending(view)
            || self
                .filter
                .as_ref()
                .is_some_and(|f| f.search.is_pending(view))
    }

    /// The selected line (the last one while following).
    pub fn cursor(&self, store: &LogStore) -> Option<u64> {
        let nav = self.nav(store);
        if self.follow {
            nav.last()
        } else {
            nav.clamp(self.cursor)
        }
    }

    fn stop_following(&mut self, store: &LogStore) {
        if self.follow {
            self.follow = false;
            let (top, top_row) = self.bottom_anchor(store, self.geo());
            self.top = top;
            self.top_row = top_row;
            self.cursor = self.nav(store).last().unwrap_or(0);
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
        let first = self.nav(store).first().unwrap_or(0);
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

    /// `T`: absolute (local time) or relative timestamps; shows them when they were off.
    pub fn toggle_time_mode(&mut self) {
        if !self.timestamps {
            self.timestamps = true;
        }
        self.time_mode = match self.time_mode {
            TimeMode::Relative => TimeMode::Absolute,
            TimeMode::Absolute => TimeMode::Relative,
        };
    }

    /// Sets how timestamps are shown (kept across runs).
    pub fn set_time_mode(&mut self, mode: TimeMode) {
        self.time_mode = mode;
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
        // A substring query never fails.
        let _ = self.search_start_with(store, query, false);
    }

    /// `/` confirmed, a regex when `regex`; a bad regex is refused with the reason.
    pub fn search_start_with(
        &mut self,
        store: &LogStore,
        query: &str,
        regex: bool,
    ) -> Result<(), String> {
        self.search.set_pattern(query, regex, self.sel)?;
        self.search.step(store.view(self.sel));
        self.search_next(store);
        Ok(())
    }

    /// `&` confirmed: show only the lines the query matches, with context lines (an empty
    /// query ends filter mode). A bad regex is refused with the reason.
    pub fn filter_start(
        &mut self,
        store: &LogStore,
        query: &str,
        regex: bool,
    ) -> Result<(), String> {
        if query.is_empty() {
            self.filter_clear();
            return Ok(());
        }
        let mut s = Search::new();
        s.set_pattern(query, regex, self.sel)?;
        let context = self
            .filter
            .as_ref()
            .map_or(filter::DEFAULT_CONTEXT, Filter::context);
        let mut f = Filter::new(s, context);
        f.step(store.view(self.sel));
        self.filter = Some(f);
        self.region = None;
        self.top_row = 0;
        if !self.follow {
            let c = self.cursor;
            self.follow = true;
            self.jump_to(store, c);
        }
        Ok(())
    }

    /// Leaves filter mode; the cursor stays on its line.
    pub fn filter_clear(&mut self) {
        self.filter = None;
        self.top_row = 0;
    }

    /// `+`/`-` in filter mode: more or fewer context lines.
    pub fn filter_context(&mut self, store: &LogStore, delta: i64) {
        if let Some(f) = self.filter.as_mut() {
            let n = f.context().saturating_add_signed(delta as isize);
            f.set_context(n);
            f.rebuild(store.view(self.sel));
        }
    }

    /// `n`: the next search match shown (in filter mode without a search: the next matching
    /// line of the filter).
    pub fn search_next(&mut self, store: &LogStore) {
        self.step_match(store, true);
    }

    /// `N`.
    pub fn search_prev(&mut self, store: &LogStore) {
        self.step_match(store, false);
    }

    fn step_match(&mut self, store: &LogStore, forward: bool) {
        let filter_only = !self.search.is_active() && self.filter.is_some();
        // A filter's matching lines are whole lines: `n` goes past the cursor's own.
        let byte = if filter_only && forward {
            usize::MAX
        } else {
            0
        };
        let from = self.cursor(store).map(|c| (c, byte));
        let shown = |lv: &Self, line: u64| lv.filter.as_ref().is_none_or(|f| f.shows(line));
        let tries = if filter_only {
            1
        } else {
            self.search.count().max(1)
        };
        for _ in 0..tries {
            let line = match (filter_only, forward) {
                (true, _) => {
                    let Some(f) = self.filter.as_mut() else {
                        return;
                    };
                    if forward {
                        f.search.next(from)
                    } else {
                        f.search.prev(from)
                    }
                }
                (false, true) => self.search.next(from),
                (false, false) => self.search.prev(from),
            };
            match line {
                Some(l) if shown(self, l) => {
                    self.jump_to(store, l);
                    return;
                }
                Some(_) => continue,
                None => return,
            }
        }
    }

    /// `V`: starts a region at the selected line, or ends (drops) the one being selected.
    pub fn toggle_region(&mut self, store: &LogStore) {
        if self.region.is_some() {
            self.region = None;
            return;
        }
        self.stop_following(store);
        self.region = self.cursor(store);
    }

    /// Esc: drops the region.
    pub fn cancel_region(&mut self) -> bool {
        self.region.take().is_some()
    }

    /// The region's first and last lines, when one is being selected.
    fn region_range(&self, store: &LogStore) -> Option<(u64, u64)> {
        let a = self.region?;
        let c = self.cursor(store)?;
        Some((a.min(c), a.max(c)))
    }

    /// The region's text as shown (redacted; timestamps and node tags as on screen, only the
    /// lines the filter shows), and how many lines; the region ends.
    pub fn take_region_text(&mut self, store: &LogStore) -> Option<(String, usize)> {
        let (lo, hi) = self.region_range(store)?;
        self.region = None;
        let nav = self.nav(store);
        let view = store.view(self.sel);
        let mut out = String::new();
        let mut n = 0;
        let mut i = nav.index(lo);
        while let Some(abs) = nav.at(i) {
            if abs > hi || abs < lo {
                break;
            }
            if let Some(l) = view.get(abs) {
                out.push_str(&self.line_text(store, l));
                out.push('\n');
                n += 1;
            }
            i += 1;
        }
        Some((out, n))
    }

    /// One line as copied: timestamp and tag as shown, then the text.
    fn line_text(&self, store: &LogStore, l: &LogLine) -> String {
        let mut s = String::new();
        if self.timestamps {
            s.push_str(&self.stamp(l));
            s.push(' ');
        }
        if self.sel == Selection::All {
            s.push_str(&format!("[{}] ", store.node_name(l.node)));
        }
        s.push_str(l.text());
        s
    }

    /// A line's timestamp as shown (without padding).
    fn stamp(&self, l: &LogLine) -> String {
        match (self.time_mode, self.wall_start) {
            (TimeMode::Absolute, Some(start)) => {
                let ms = start.saturating_add(l.at.as_millis() as i64);
                absolute_time(ms, &self.tz)
            }
            _ => human::duration(l.at, Form::Clock),
        }
    }

    fn move_by(&mut self, store: &LogStore, delta: i64) {
        let nav = self.nav(store);
        if nav.is_empty() {
            return;
        }
        self.stop_following(store);
        let nav = self.nav(store);
        let cur = nav.index(self.cursor) as i64;
        let target = (cur + delta).clamp(0, nav.len() as i64 - 1) as usize;
        self.cursor = nav.at(target).unwrap_or(self.cursor);
        self.ensure_visible(store);
    }

    fn ensure_visible(&mut self, store: &LogStore) {
        let Some(first) = self.nav(store).first() else {
            return;
        };
        if self.top < first {
            self.top = first;
            self.top_row = 0;
        }
        if let Some(t) = self.nav(store).clamp(self.top)
            && t != self.top
        {
            self.top = t;
            self.top_row = 0;
        }
        let nav = self.nav(store);
        let view = nav.view;
        if self.cursor < self.top || (self.cursor == self.top && self.top_row > 0) {
            self.top = self.cursor;
            self.top_row = 0;
            return;
        }
        let h = usize::from(self.height.max(1));
        let mut rows = 0;
        let mut i = nav.index(self.top);
        while let Some(abs) = nav.at(i) {
            if abs > self.cursor {
                break;
            }
            rows += self.rows_of(store, self.geo(), view.get(abs));
            if abs == self.top {
                rows -= self.top_row.min(rows.saturating_sub(1));
            }
            if rows > h {
                break;
            }
            i += 1;
        }
        if rows > h {
            // Put the cursor's last row at the bottom.
            let (top, top_row) = self.anchor_bottom_at(store, self.geo(), self.cursor);
            self.top = top;
            self.top_row = top_row;
        }
    }

    fn ts_width(&self) -> usize {
        match (self.timestamps, self.time_mode, self.wall_start) {
            (false, ..) => 0,
            (true, TimeMode::Absolute, Some(_)) => ABS_TS,
            (true, ..) => REL_TS,
        }
    }

    fn tag_width(&self, store: &LogStore) -> usize {
        if self.sel == Selection::All {
            let longest = (0..store.node_count())
                .map(|n| store.node_name(n).width())
                .max()
                .unwrap_or(0);
            longest.min(MAX_TAG) + 3
        } else {
            0
        }
    }

    /// Width of the timestamp, tag and gutter columns.
    pub fn prefix_width(&self, store: &LogStore) -> usize {
        self.ts_width() + self.tag_width(store) + GUTTER
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
        let nav = self.nav(store);
        match nav.last() {
            Some(last) => self.anchor_bottom_at(store, g, last),
            None => (nav.view.first(), 0),
        }
    }

    /// The (top, top_row) that puts `line`'s last row on the pane's last row.
    fn anchor_bottom_at(&self, store: &LogStore, g: Geo, line: u64) -> (u64, usize) {
        let nav = self.nav(store);
        let h = usize::from(g.1.max(1));
        let mut rows = 0;
        let mut i = nav.index(line);
        loop {
            let Some(abs) = nav.at(i) else {
                return (nav.view.first(), 0);
            };
            let r = self.rows_of(store, g, nav.view.get(abs));
            if rows + r >= h {
                return (abs, rows + r - h);
            }
            rows += r;
            if i == 0 {
                return (abs, 0);
            }
            i -= 1;
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
        let nav = self.nav(store);
        let Some(first) = nav.first() else {
            return Vec::new();
        };
        let (abs, mut row) = if self.follow {
            self.bottom_anchor(store, g)
        } else if self.top < first {
            (first, 0)
        } else {
            (self.top, self.top_row)
        };
        let h = usize::from(g.1);
        let mut out = Vec::with_capacity(h);
        let mut i = nav.index(abs);
        if nav.at(i) != Some(abs) {
            row = 0;
        }
        while out.len() < h {
            let Some(abs) = nav.at(i) else { break };
            let n = self.rows_of(store, g, nav.view.get(abs));
            while row < n && out.len() < h {
                out.push(RowRef { line: abs, row });
                row += 1;
            }
            i += 1;
            row = 0;
        }
        out
    }

    /// A title for the pane's border: source, follow/paused, wrap, filter, search count,
    /// region.
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
        if self.timestamps && self.time_mode == TimeMode::Absolute && self.wall_start.is_none() {
            t.push_str(" · no wall clock: times since start");
        }
        let view = store.view(self.sel);
        if let Some(f) = &self.filter {
            let more = if f.search.is_complete(view) { "" } else { "+" };
            let lines = f.shown().iter().filter(|&&l| f.matches_line(l)).count();
            t.push_str(&format!(
                " · &{} ±{} {lines}{more} of {}",
                crate::safe::line(&f.search.label()),
                f.context(),
                view.len()
            ));
        }
        if self.search.is_active() {
            let more = if self.search.is_complete(view) {
                ""
            } else {
                "+"
            };
            let q = crate::safe::line(&self.search.label()).into_owned();
            match self.search.current() {
                Some((_, rank)) => {
                    t.push_str(&format!(" · /{q} {rank}/{}{more}", self.search.count()))
                }
                None => t.push_str(&format!(" · /{q} {}{more} matches", self.search.count())),
            }
        }
        if let Some((lo, hi)) = self.region_range(store) {
            let n = match &self.filter {
                Some(f) => f.shown().iter().filter(|&&l| l >= lo && l <= hi).count(),
                None => (hi - lo + 1) as usize,
            };
            t.push_str(&format!(" · region {n} lines (y copies)"));
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
        let region = self.region_range(store);
        buf.set_style(area, theme.style(Role::Text));
        if v.is_empty() || (self.filter.is_some() && self.nav(store).is_empty()) {
            let msg = if v.is_empty() {
                "(no output yet)"
            } else {
                "(no line matches the filter yet)"
            };
            buf.set_stringn(
                area.x,
                area.y,
                msg,
                usize::from(area.width),
                theme.style(Role::Muted),
            );
            return;
        }
        let right = area.x + area.width;
        let text_x = area.x + self.prefix_width(store).min(usize::from(area.width)) as u16;
        let (gutter_sign, cut_right, cut_left) = if self.ascii {
            ("!", ">", "<")
        } else {
            ("▎", "…", "…")
        };
        for (i, r) in self.visible_rows_in(store, g).into_iter().enumerate() {
            let y = area.y + i as u16;
            let Some(line) = v.get(r.line) else { continue };
            let mut x = area.x;
            if r.row == 0 {
                if self.timestamps {
                    let ts = format!("{:<w$}", self.stamp(line), w = self.ts_width());
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
                    let tag = tag_for(store.node_name(line.node), self.tag_width(store));
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
            // The gutter: a subtle sign on every row of a stderr line.
            let gx = text_x.saturating_sub(GUTTER as u16).max(x);
            if line.stream == Stream::Stderr && gx < right {
                buf.set_stringn(gx, y, gutter_sign, 1, theme.style(Role::Stderr));
            }
            let x = text_x;
            let text = line.text();
            let range = if self.wrap {
                wrap_ranges(text, tw).get(r.row).cloned().unwrap_or(0..0)
            } else {
                skip_columns(text, self.hscroll)..text.len()
            };
            let matches = self.search.ranges_in(r.line);
            let filter_matches = self
                .filter
                .as_ref()
                .map(|f| f.search.ranges_in(r.line))
                .unwrap_or_default();
            let matches: Vec<_> = if matches.is_empty() {
                filter_matches
            } else {
                matches
            };
            draw_text(buf, x, y, right, line, range.clone(), &matches, theme);
            if !self.wrap && x < right {
                // Cut markers: text hidden to the left (scrolled) or past the right edge.
                let shown_w = text.get(range.clone()).map_or(0, UnicodeWidthStr::width);
                if shown_w > usize::from(right - x) {
                    buf.set_stringn(right - 1, y, cut_right, 1, theme.style(Role::Muted));
                }
                if range.start > 0 {
                    buf.set_stringn(x, y, cut_left, 1, theme.style(Role::Muted));
                }
            }
            let in_region = region.is_some_and(|(lo, hi)| r.line >= lo && r.line <= hi);
            if cursor == Some(r.line) || in_region {
                buf.set_style(
                    Rect::new(area.x, y, area.width, 1),
                    theme.style(Role::Selection),
                );
            }
        }
    }
}

/// `HH:MM:SS.mmm` in the given time zone, for a wall-clock time in ms since the Unix epoch.
pub fn absolute_time(ms: i64, tz: &jiff::tz::TimeZone) -> String {
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(ts) => ts
            .to_zoned_datetime(tz.clone())
            .strftime("%H:%M:%S%.3f")
            .to_string(),
        Err(_) => "--:--:--.---".to_string(),
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
    // stderr is ordinary output (the gutter marks it); red is for real errors.
    let base = theme.style(Role::Text);
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
        // 8 columns of text after the 2-column gutter.
        v.set_viewport(10, 4);
        v.toggle_wrap();
        let rows = v.visible_rows(&s);
        assert_eq!(
            rows.iter().map(|r| (r.line, r.row)).collect::<Vec<_>>(),
            vec![(0, 0), (0, 1), (0, 2), (1, 0)]
        );
        v.set_viewport(10, 2);
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
    fn filter_shows_matches_with_context_and_n_moves_over_it() {
        let mut s = LogStore::default();
        let a = s.add_node("a");
        for i in 0..100 {
            let l = if i % 20 == 10 {
                format!("ERROR boom {i}\n")
            } else {
                format!("line {i}\n")
            };
            s.push(a, Stream::Stdout, l.as_bytes(), T);
        }
        let mut v = LogViewState::new(Selection::Node(a));
        v.set_viewport(40, 30);
        v.filter_start(&s, "error", false).unwrap();
        // Five matches (10, 30, 50, 70, 90), two lines either side.
        assert_eq!(lines(&v, &s).len(), 25);
        assert_eq!(&lines(&v, &s)[..6], &[8, 9, 10, 11, 12, 28]);
        assert!(
            v.title(&s).contains("&error ±2 5 of 100"),
            "{}",
            v.title(&s)
        );
        v.filter_context(&s, -2);
        assert_eq!(lines(&v, &s), vec![10, 30, 50, 70, 90]);
        // Moving steps over the shown lines only.
        v.go_top(&s);
        v.line_down(&s);
        assert_eq!(v.cursor(&s), Some(30));
        // n/N with only a filter: its matches; with a search: its matches that are shown.
        v.search_next(&s);
        assert_eq!(v.cursor(&s), Some(50));
        v.filter_context(&s, 1);
        v.search_start(&s, "1");
        // "1" matches lines 1, 10-19, 21, … : shown are 9..=11 etc.; the next after 50 is 51.
        assert_eq!(v.cursor(&s), Some(51));
        v.search_next(&s);
        assert_eq!(v.cursor(&s), Some(71));
        v.search_prev(&s);
        v.search_prev(&s);
        assert_eq!(v.cursor(&s), Some(31));
        // A bad regex leaves the filter as it was.
        let err = v.filter_start(&s, "(", true).unwrap_err();
        assert!(err.starts_with("bad regex"), "{err}");
        assert!(v.filter.is_some());
        v.filter_start(&s, "", false).unwrap();
        assert!(v.filter.is_none());
        assert_eq!(v.cursor(&s), Some(31), "the cursor stays on its line");
    }

    #[test]
    fn region_copies_the_lines_as_shown() {
        let (s, a) = store_with(10);
        let mut v = LogViewState::new(Selection::Node(a));
        v.set_viewport(40, 10);
        v.go_top(&s);
        v.line_down(&s);
        v.toggle_region(&s);
        assert_eq!(v.region(), Some(1));
        v.line_down(&s);
        v.line_down(&s);
        assert!(
            v.title(&s).ends_with("region 3 lines (y copies)"),
            "{}",
            v.title(&s)
        );
        let (text, n) = v.take_region_text(&s).unwrap();
        assert_eq!((text.as_str(), n), ("line 1\nline 2\nline 3\n", 3));
        assert_eq!(v.region(), None, "the copy ends the region");
        // Upwards, with timestamps, and Esc drops it.
        v.toggle_timestamps();
        v.toggle_region(&s);
        v.line_up(&s);
        let (text, _) = v.take_region_text(&s).unwrap();
        assert_eq!(text, "00:00.000 line 2\n00:00.000 line 3\n");
        v.toggle_region(&s);
        assert!(v.cancel_region());
        assert!(v.take_region_text(&s).is_none());
    }

    #[test]
    fn absolute_timestamps_in_local_time() {
        let tz = jiff::tz::TimeZone::fixed(jiff::tz::offset(2));
        // 2025-01-01T12:00:00Z
        let start = 1_735_732_800_000;
        assert_eq!(absolute_time(start + 1_500, &tz), "14:00:01.500");
        let s = sample();
        let mut v = LogViewState::new(Selection::Node(1));
        v.set_time_zone(tz);
        v.toggle_time_mode();
        assert!(v.timestamps(), "T shows timestamps when they were off");
        assert!(v.title(&s).contains("no wall clock"), "{}", v.title(&s));
        v.set_wall_start(Some(start));
        let buf = render(&v, &s, &Theme::default(), 50, 6);
        let text = buf_text(&buf);
        assert!(text.contains("│14:00:01.500 ▎ warning: fewer"), "{text}");
        v.toggle_time_mode();
        let text = buf_text(&render(&v, &s, &Theme::default(), 50, 6));
        assert!(text.contains("│00:01.500 ▎ warning"), "{text}");
    }

    #[test]
    fn cut_markers_show_where_text_is_cut() {
        let s = sample();
        let mut v = LogViewState::new(Selection::Node(0));
        let theme = Theme::default();
        let row = |text: &str, needle: &str| -> String {
            text.lines()
                .find(|l| l.contains(needle))
                .unwrap_or_default()
                .to_string()
        };
        let text = buf_text(&render(&v, &s, &theme, 30, 7));
        assert_eq!(row(&text, "long"), "│  a long line that is wider…│");
        assert_eq!(row(&text, "connected"), "│  connected to market feed  │");
        v.scroll_right();
        let text = buf_text(&render(&v, &s, &theme, 30, 7));
        assert_eq!(row(&text, "that"), "│  …ne that is wider than th…│");
        assert_eq!(row(&text, "feed"), "│  … to market feed          │");
        v.set_ascii(true);
        let text = buf_text(&render(&v, &s, &theme, 30, 7));
        assert_eq!(row(&text, "that"), "│  <ne that is wider than th>│");
        // Wrapped lines are never cut.
        v.toggle_wrap();
        let text = buf_text(&render(&v, &s, &theme, 30, 7));
        assert!(!text.contains('>') && !text.contains('<'), "{text}");
    }

    #[test]
    fn snapshot_filter_with_context() {
        let s = sample();
        let mut v = LogViewState::new(Selection::All);
        v.filter_start(&s, r"var \d+%|key", true).unwrap();
        v.filter_context(&s, -1);
        v.set_viewport(58, 8);
        let buf = render(&v, &s, &Theme::default(), 60, 10);
        insta::assert_snapshot!(buf_text(&buf));
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
        // stderr: ordinary text, a muted sign in the gutter.
        assert_eq!(find("warning:"), find("download"), "styled as stdout is");
        assert_eq!(find("▎").fg, theme.style(Role::Stderr).fg);
        assert_eq!(
            find("▎").add_modifier,
            theme.style(Role::Stderr).add_modifier
        );
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
