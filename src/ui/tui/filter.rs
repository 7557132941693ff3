//! Filter mode of the log pane (`&`, as in less): only the lines a query matches, each with N
//! lines of context, kept up to date as lines arrive and leave; the lines shown, in order.

use super::logbuf::{LogView, Selection};
use super::search::Search;

/// Context lines shown around each matching line at first (`+`/`-` change it).
pub const DEFAULT_CONTEXT: usize = 2;
/// The most context lines `+` gives.
pub const MAX_CONTEXT: usize = 99;

/// A filter over one selection: its own [`Search`] (scanned in the same bounded slices) and the
/// absolute positions of the lines it shows.
#[derive(Debug, Clone)]
pub struct Filter {
    pub search: Search,
    context: usize,
    shown: Vec<u64>,
    /// What `shown` was computed from: (matches, first, end, context).
    built: Option<(usize, u64, u64, usize)>,
}

impl Filter {
    /// A filter for a started search (see [`Search::set_pattern`]).
    pub fn new(search: Search, context: usize) -> Filter {
        Filter {
            search,
            context: context.min(MAX_CONTEXT),
            shown: Vec::new(),
            built: None,
        }
    }

    pub fn context(&self) -> usize {
        self.context
    }

    /// `+`/`-`: more or fewer context lines (0 to [`MAX_CONTEXT`]).
    pub fn set_context(&mut self, n: usize) {
        self.context = n.min(MAX_CONTEXT);
    }

    /// Restarts the scan on another selection.
    pub fn reselect(&mut self, sel: Selection) {
        self.search.reselect(sel);
        self.built = None;
        self.shown.clear();
    }

    /// Scans the next slice and brings the shown lines up to date (call once per tick).
    pub fn step(&mut self, view: LogView<'_>) {
        self.search.step(view);
        self.rebuild(view);
    }

    /// Recomputes the shown lines when the matches, the kept lines or the context changed.
    pub fn rebuild(&mut self, view: LogView<'_>) {
        if view.selection() != self.search.selection() {
            return;
        }
        let key = (self.search.count(), view.first(), view.end(), self.context);
        if self.built == Some(key) {
            return;
        }
        self.shown = expand(
            &self.search.match_lines(),
            self.context,
            view.first(),
            view.end(),
        );
        self.built = Some(key);
    }

    /// The lines shown, sorted (absolute positions of the view).
    pub fn shown(&self) -> &[u64] {
        &self.shown
    }

    /// True when the line is shown.
    pub fn shows(&self, line: u64) -> bool {
        self.shown.binary_search(&line).is_ok()
    }

    /// True when a matching line (not a context line) is `line`.
    pub fn matches_line(&self, line: u64) -> bool {
        !self.search.ranges_in(line).is_empty()
    }
}

/// Every line within `context` of a matching line, inside `first..end`, sorted and each once.
pub fn expand(matching: &[u64], context: usize, first: u64, end: u64) -> Vec<u64> {
    let c = context as u64;
    let mut out: Vec<u64> = Vec::with_capacity(matching.len() * (1 + 2 * context.min(4)));
    for &m in matching {
        if m < first || m >= end {
            continue;
        }
        let lo = m.saturating_sub(c).max(first);
        let hi = m.saturating_add(c).min(end - 1);
        let from = match out.last() {
            Some(&last) if last >= lo => last + 1,
            _ => lo,
        };
        out.extend(from..=hi);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::tui::logbuf::{LogConfig, LogStore, Stream};
    use std::time::Duration;

    const T: Duration = Duration::ZERO;

    #[test]
    fn context_around_matches_merges_and_clamps() {
        assert_eq!(expand(&[5], 2, 0, 100), vec![3, 4, 5, 6, 7]);
        assert_eq!(expand(&[1, 3], 1, 0, 100), vec![0, 1, 2, 3, 4]);
        assert_eq!(expand(&[0, 9], 3, 0, 10), vec![0, 1, 2, 3, 6, 7, 8, 9]);
        assert_eq!(expand(&[4, 20], 0, 0, 30), vec![4, 20]);
        assert!(
            expand(&[2, 50], 2, 3, 40).is_empty(),
            "matches no longer kept (or not yet) bring no context"
        );
        assert!(expand(&[], 5, 0, 10).is_empty());
    }

    fn store(lines: &[&str]) -> (LogStore, usize) {
        let mut s = LogStore::new(LogConfig {
            max_lines: 8,
            ..LogConfig::default()
        });
        let n = s.add_node("a");
        for l in lines {
            s.push(n, Stream::Stdout, format!("{l}\n").as_bytes(), T);
        }
        (s, n)
    }

    #[test]
    fn follows_new_and_dropped_lines() {
        let (mut st, n) = store(&["a", "err 1", "b", "c", "d"]);
        let sel = Selection::Node(n);
        let mut s = Search::new();
        s.set_query("err", sel);
        let mut f = Filter::new(s, 1);
        f.step(st.view(sel));
        assert_eq!(f.shown(), &[0, 1, 2]);
        assert!(f.matches_line(1) && !f.matches_line(2));
        st.push(n, Stream::Stdout, b"x\nERR 2\n", T);
        f.step(st.view(sel));
        assert_eq!(
            f.shown(),
            &[0, 1, 2, 5, 6],
            "a context line after the last comes later"
        );
        st.push(n, Stream::Stdout, b"y\n", T);
        f.step(st.view(sel));
        assert_eq!(f.shown(), &[0, 1, 2, 5, 6, 7]);
        // Two more lines push the first two out of the 8 kept: the match and its context go.
        st.push(n, Stream::Stdout, b"z\nw\n", T);
        f.step(st.view(sel));
        assert_eq!(f.shown(), &[5, 6, 7]);
        f.set_context(0);
        f.rebuild(st.view(sel));
        assert_eq!(f.shown(), &[6]);
        assert!(f.shows(6) && !f.shows(5));
    }

    #[test]
    fn regex_filter() {
        let (st, n) = store(&["GET /a 200", "GET /b 500", "POST /c 503", "GET /d 204"]);
        let sel = Selection::Node(n);
        let mut s = Search::new();
        s.set_pattern(r" 5\d\d$", true, sel).expect("valid");
        let mut f = Filter::new(s, 0);
        f.step(st.view(sel));
        assert_eq!(f.shown(), &[1, 2]);
    }
}
