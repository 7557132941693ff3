//! Search over a whole log view (not just the screen): smart-case substring or regex matches, a
//! sorted match list kept up to date as lines arrive, scanned in bounded slices per frame.

use std::collections::VecDeque;
use std::ops::Range;

use aho_corasick::{AhoCorasick, MatchKind};
use memchr::memmem;
use regex::{Regex, RegexBuilder};

use super::logbuf::{LogView, Selection};

/// One match: a byte range in the line at absolute position `line`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Match {
    pub line: u64,
    pub start: usize,
    pub end: usize,
}

/// Bytes of line text scanned at most per [`Search::step`] (keeps a frame short).
pub const DEFAULT_BUDGET: usize = 2 * 1024 * 1024;

/// An incremental search over one [`Selection`] of a log store.
#[derive(Debug, Clone)]
pub struct Search {
    query: String,
    case_sensitive: bool,
    regex: bool,
    /// The query compiled once (not per line).
    pattern: Pattern,
    sel: Selection,
    /// Every line before this absolute position has been looked at.
    scanned: u64,
    /// Matches in closed lines (which never change again), sorted.
    matches: VecDeque<Match>,
    /// Lines that were still open when scanned, and their current matches.
    open: Vec<(u64, Vec<Range<usize>>)>,
    /// The match `n`/`N` last moved to.
    current: Option<Match>,
    budget: usize,
}

impl Default for Search {
    fn default() -> Self {
        Search::new()
    }
}

impl Search {
    pub fn new() -> Self {
        Search {
            query: String::new(),
            case_sensitive: false,
            regex: false,
            pattern: Pattern::new("", false),
            sel: Selection::All,
            scanned: 0,
            matches: VecDeque::new(),
            open: Vec::new(),
            current: None,
            budget: DEFAULT_BUDGET,
        }
    }

    /// Bytes scanned at most per step (tests use tiny budgets).
    pub fn with_budget(mut self, bytes: usize) -> Self {
        self.budget = bytes.max(1);
        self
    }

    /// Starts a new substring search (an empty query clears it). Smart case: a query with an
    /// upper-case letter is case-sensitive, otherwise case is ignored.
    pub fn set_query(&mut self, query: &str, sel: Selection) {
        self.case_sensitive = query.chars().any(char::is_uppercase);
        let pattern = Pattern::new(query, self.case_sensitive);
        self.start(query, false, pattern, sel);
    }

    /// Starts a new search, a regular expression when `regex` (smart case as for substrings,
    /// counting only the pattern's literal letters). A bad or too large pattern is refused
    /// with the reason and the search stays as it was.
    pub fn set_pattern(&mut self, query: &str, regex: bool, sel: Selection) -> Result<(), String> {
        if !regex {
            self.set_query(query, sel);
            return Ok(());
        }
        let sensitive = regex_has_upper(query);
        let pattern = Pattern::regex(query, sensitive)?;
        self.case_sensitive = sensitive;
        self.start(query, true, pattern, sel);
        Ok(())
    }

    /// Restarts the same query on another selection.
    pub fn reselect(&mut self, sel: Selection) {
        let (q, regex, pattern) = (self.query.clone(), self.regex, self.pattern.clone());
        self.start(&q, regex, pattern, sel);
    }

    fn start(&mut self, query: &str, regex: bool, pattern: Pattern, sel: Selection) {
        self.query = query.to_string();
        self.regex = regex && !query.is_empty();
        self.pattern = pattern;
        self.sel = sel;
        self.scanned = 0;
        self.matches.clear();
        self.open.clear();
        self.current = None;
    }

    pub fn clear(&mut self) {
        let sel = self.sel;
        self.set_query("", sel);
    }

    pub fn query(&self) -> &str {
        &self.query
    }

    /// True for a regular-expression search.
    pub fn is_regex(&self) -> bool {
        self.regex
    }

    /// The query as the title shows it: `/text` or `/re:pattern`.
    pub fn label(&self) -> String {
        if self.regex {
            format!("re:{}", self.query)
        } else {
            self.query.clone()
        }
    }

    /// The lines holding at least one match, sorted, each once.
    pub fn match_lines(&self) -> Vec<u64> {
        let mut out: Vec<u64> = Vec::with_capacity(self.matches.len() + self.open.len());
        for m in &self.matches {
            if out.last() != Some(&m.line) {
                out.push(m.line);
            }
        }
        let open: Vec<u64> = self
            .open
            .iter()
            .filter(|(_, r)| !r.is_empty())
            .map(|(l, _)| *l)
            .collect();
        if !open.is_empty() {
            out.extend(open);
            out.sort_unstable();
            out.dedup();
        }
        out
    }

    /// True when some line of the view is still to be scanned.
    pub fn is_pending(&self, view: LogView<'_>) -> bool {
        self.is_active() && view.selection() == self.sel && self.scanned < view.end()
    }

    pub fn is_active(&self) -> bool {
        !self.query.is_empty()
    }

    pub fn selection(&self) -> Selection {
        self.sel
    }

    /// Scans the next slice of lines (at most the byte budget), drops matches of lines that
    /// left the buffer and refreshes lines still being written. Call once per frame or tick.
    /// Returns true when everything up to the end is scanned.
    pub fn step(&mut self, view: LogView<'_>) -> bool {
        if !self.is_active() || view.selection() != self.sel {
            return true;
        }
        let first = view.first();
        while self.matches.front().is_some_and(|m| m.line < first) {
            self.matches.pop_front();
        }
        if self.current.as_ref().is_some_and(|m| m.line < first) {
            self.current = None;
        }
        // Lines that were open: rescan; once closed, their matches join the sorted list.
        let mut still_open = Vec::new();
        for (abs, _) in std::mem::take(&mut self.open) {
            let Some(line) = view.get(abs) else { continue };
            let found = self.pattern.find_all(line.text());
            if line.is_open() {
                still_open.push((abs, found));
            } else {
                for r in found {
                    let m = Match {
                        line: abs,
                        start: r.start,
                        end: r.end,
                    };
                    let at = self.matches.partition_point(|x| *x < m);
                    self.matches.insert(at, m);
                }
            }
        }
        self.open = still_open;
        let mut spent = 0;
        let mut pos = self.scanned.max(first);
        let end = view.end();
        while pos < end && spent < self.budget {
            if let Some(line) = view.get(pos) {
                spent += line.text().len() + 1;
                let found = self.pattern.find_all(line.text());
                if line.is_open() {
                    self.open.push((pos, found));
                } else {
                    self.matches.extend(found.into_iter().map(|r| Match {
                        line: pos,
                        start: r.start,
                        end: r.end,
                    }));
                }
            }
            pos += 1;
        }
        self.scanned = pos;
        self.open.sort_by_key(|(abs, _)| *abs);
        pos >= end
    }

    /// True when the whole view has been scanned.
    pub fn is_complete(&self, view: LogView<'_>) -> bool {
        !self.is_active() || self.scanned >= view.end()
    }

    /// How many matches are known (all of them once the scan is complete).
    pub fn count(&self) -> usize {
        self.matches.len() + self.open.iter().map(|(_, r)| r.len()).sum::<usize>()
    }

    fn open_matches(&self) -> impl Iterator<Item = Match> + '_ {
        self.open.iter().flat_map(|(abs, rs)| {
            rs.iter().map(move |r| Match {
                line: *abs,
                start: r.start,
                end: r.end,
            })
        })
    }

    /// The current match and its 1-based rank among all matches ("3/120").
    pub fn current(&self) -> Option<(&Match, usize)> {
        let cur = self.current.as_ref()?;
        let rank = self.matches.partition_point(|m| m < cur)
            + self.open_matches().filter(|m| m < cur).count()
            + 1;
        Some((cur, rank))
    }

    /// Moves to the first match after `(line, byte)` (or after the current match), wrapping
    /// around to the first one; returns the match's line.
    pub fn next(&mut self, from: Option<(u64, usize)>) -> Option<u64> {
        let key = self.current.clone().or_else(|| {
            from.map(|(line, b)| Match {
                line,
                start: b,
                end: b,
            })
        });
        let after = |m: &Match| key.as_ref().is_none_or(|k| m > k);
        let closed = {
            let i = key
                .as_ref()
                .map_or(0, |k| self.matches.partition_point(|m| m <= k));
            self.matches.get(i).cloned()
        };
        let open = self.open_matches().find(|m| after(m));
        let found = [closed, open]
            .into_iter()
            .flatten()
            .min()
            .or_else(|| self.first_match());
        self.current = found;
        self.current.as_ref().map(|m| m.line)
    }

    /// Moves to the last match before `(line, byte)` (or the current match), wrapping around.
    pub fn prev(&mut self, from: Option<(u64, usize)>) -> Option<u64> {
        let key = self.current.clone().or_else(|| {
            from.map(|(line, b)| Match {
                line,
                start: b,
                end: b,
            })
        });
        let closed = match &key {
            Some(k) => {
                let i = self.matches.partition_point(|m| m < k);
                i.checked_sub(1).and_then(|i| self.matches.get(i).cloned())
            }
            None => self.matches.back().cloned(),
        };
        let open = self
            .open_matches()
            .filter(|m| key.as_ref().is_none_or(|k| m < k))
            .max();
        let found = [closed, open]
            .into_iter()
            .flatten()
            .max()
            .or_else(|| self.last_match());
        self.current = found;
        self.current.as_ref().map(|m| m.line)
    }

    fn first_match(&self) -> Option<Match> {
        [self.matches.front().cloned(), self.open_matches().min()]
            .into_iter()
            .flatten()
            .min()
    }

    fn last_match(&self) -> Option<Match> {
        [self.matches.back().cloned(), self.open_matches().max()]
            .into_iter()
            .flatten()
            .max()
    }

    /// The highlighted byte ranges of one line, each with "is the current match".
    pub fn ranges_in(&self, line: u64) -> Vec<(Range<usize>, bool)> {
        let is_cur = |s: usize| {
            self.current
                .as_ref()
                .is_some_and(|c| c.line == line && c.start == s)
        };
        let lo = self.matches.partition_point(|m| m.line < line);
        let mut out: Vec<(Range<usize>, bool)> = self
            .matches
            .range(lo..)
            .take_while(|m| m.line == line)
            .map(|m| (m.start..m.end, is_cur(m.start)))
            .collect();
        if let Some((_, rs)) = self.open.iter().find(|(abs, _)| *abs == line) {
            out.extend(rs.iter().map(|r| (r.clone(), is_cur(r.start))));
        }
        out
    }
}

/// Non-overlapping occurrences of `needle` in `hay`, left to right. Case-insensitive compares
/// characters by their simple lower-case form (byte ranges always fall on the line's text).
pub fn find_all(hay: &str, needle: &str, case_sensitive: bool) -> Vec<Range<usize>> {
    Pattern::new(needle, case_sensitive).find_all(hay)
}

/// A query compiled for [`find_all`]'s semantics: case-sensitive through memchr's `memmem`,
/// case-insensitive ASCII queries through aho-corasick's ASCII folding, others char by char; or
/// a regular expression ([`Pattern::regex`]).
#[derive(Debug, Clone)]
pub struct Pattern(Kind);

#[derive(Debug, Clone)]
enum Kind {
    /// The empty query: no matches.
    Empty,
    Exact(memmem::Finder<'static>),
    /// An ASCII query, case ignored. Only ASCII characters fold onto ASCII ones, but for one:
    /// U+212A KELVIN SIGN folds to `k`, so for a query with a `k` a line holding it goes the
    /// char-by-char way (`kelvin` finds it).
    Ascii {
        ac: AhoCorasick,
        kelvin: Option<memmem::Finder<'static>>,
        folded: Vec<char>,
    },
    /// A query with non-ASCII characters, case ignored: each folded character compared.
    Folded(Vec<char>),
    /// A regular expression (empty matches are skipped).
    Regex(Regex),
}

/// The longest regular expression accepted, in bytes.
pub const MAX_REGEX_LEN: usize = 1000;
/// The compiled size a regular expression may take (the `regex` crate's own limit).
pub const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// Smart case for a regular expression: true when a letter the pattern matches literally is
/// upper case (an escape such as `\S` or `\p{Lu}` is not a literal).
pub fn regex_has_upper(pattern: &str) -> bool {
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            // `\pL` or `\p{…}`: skip the class name.
            if matches!(chars.next(), Some('p' | 'P')) && chars.next() == Some('{') {
                for c in chars.by_ref() {
                    if c == '}' {
                        break;
                    }
                }
            }
            continue;
        }
        if c.is_uppercase() {
            return true;
        }
    }
    false
}

const KELVIN: &str = "\u{212A}";

impl Pattern {
    pub fn new(needle: &str, case_sensitive: bool) -> Pattern {
        if needle.is_empty() {
            return Pattern(Kind::Empty);
        }
        if case_sensitive {
            return Pattern(Kind::Exact(memmem::Finder::new(needle).into_owned()));
        }
        let folded: Vec<char> = needle.chars().map(fold).collect();
        if needle.is_ascii() {
            let ac = AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .match_kind(MatchKind::LeftmostFirst)
                .build([needle]);
            // Building fails only past aho-corasick's size limits: then char by char.
            if let Ok(ac) = ac {
                let kelvin = folded
                    .contains(&'k')
                    .then(|| memmem::Finder::new(KELVIN).into_owned());
                return Pattern(Kind::Ascii { ac, kelvin, folded });
            }
        }
        Pattern(Kind::Folded(folded))
    }

    /// A regular expression (the `regex` crate's syntax), case ignored unless
    /// `case_sensitive`; refused with a one-line reason when it does not parse, is longer than
    /// [`MAX_REGEX_LEN`] or compiles larger than [`REGEX_SIZE_LIMIT`].
    pub fn regex(pattern: &str, case_sensitive: bool) -> Result<Pattern, String> {
        if pattern.is_empty() {
            return Ok(Pattern(Kind::Empty));
        }
        if pattern.len() > MAX_REGEX_LEN {
            return Err(format!(
                "the regex is {} bytes long (at most {MAX_REGEX_LEN})",
                pattern.len()
            ));
        }
        RegexBuilder::new(pattern)
            .case_insensitive(!case_sensitive)
            .size_limit(REGEX_SIZE_LIMIT)
            .dfa_size_limit(REGEX_SIZE_LIMIT)
            .nest_limit(100)
            .build()
            .map(|r| Pattern(Kind::Regex(r)))
            .map_err(|e| match e {
                regex::Error::CompiledTooBig(_) => {
                    "the regex is too large (simplify it or use a substring)".to_string()
                }
                // The parser's message names the place and the problem; keep its last line.
                other => {
                    let text = other.to_string();
                    let why = text
                        .lines()
                        .rev()
                        .find(|l| l.trim_start().starts_with("error:"))
                        .map(|l| {
                            l.trim_start()
                                .trim_start_matches("error:")
                                .trim()
                                .to_string()
                        })
                        .unwrap_or_else(|| text.lines().last().unwrap_or("").trim().to_string());
                    format!("bad regex: {why}")
                }
            })
    }

    /// Non-overlapping occurrences in `hay`, left to right.
    pub fn find_all(&self, hay: &str) -> Vec<Range<usize>> {
        match &self.0 {
            Kind::Empty => Vec::new(),
            Kind::Regex(r) => r
                .find_iter(hay)
                .filter(|m| !m.is_empty())
                .map(|m| m.range())
                .collect(),
            Kind::Exact(f) => f
                .find_iter(hay.as_bytes())
                .map(|i| i..i + f.needle().len())
                .collect(),
            Kind::Ascii { kelvin, folded, .. }
                if kelvin
                    .as_ref()
                    .is_some_and(|k| k.find(hay.as_bytes()).is_some()) =>
            {
                find_folded(hay, folded)
            }
            Kind::Ascii { ac, .. } => ac.find_iter(hay).map(|m| m.range()).collect(),
            Kind::Folded(folded) => find_folded(hay, folded),
        }
    }
}

/// The char-by-char search: at each character, compares the next `folded.len()` characters'
/// folded forms; a match is taken and the search goes on after it.
fn find_folded(hay: &str, folded: &[char]) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < hay.len() {
        let Some(rest) = hay.get(i..) else { break };
        let mut chars = rest.char_indices();
        let mut ok = true;
        let mut end = i;
        for want in folded {
            match chars.next() {
                Some((j, c)) if fold(c) == *want => end = i + j + c.len_utf8(),
                _ => {
                    ok = false;
                    break;
                }
            }
        }
        if ok {
            out.push(i..end);
            i = end;
        } else {
            i += rest.chars().next().map_or(1, char::len_utf8);
        }
    }
    out
}

fn fold(c: char) -> char {
    if c.is_ascii() {
        return c.to_ascii_lowercase();
    }
    let mut lower = c.to_lowercase();
    match (lower.next(), lower.next()) {
        (Some(l), None) => l,
        _ => c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::tui::logbuf::{LogConfig, LogStore, Stream};
    use std::time::Duration;

    const T: Duration = Duration::ZERO;

    fn store(lines: &[&str]) -> (LogStore, usize) {
        let mut s = LogStore::default();
        let n = s.add_node("a");
        for l in lines {
            s.push(n, Stream::Stdout, format!("{l}\n").as_bytes(), T);
        }
        (s, n)
    }

    #[test]
    fn smart_case_substring() {
        assert_eq!(find_all("Error error ERROR", "error", false).len(), 3);
        assert_eq!(find_all("Error error ERROR", "Error", true), vec![0..5]);
        assert_eq!(find_all("ÉTÉ été", "été", false), vec![0..5, 6..11]);
        assert_eq!(find_all("aaaa", "aa", false), vec![0..2, 2..4]);
        assert!(find_all("abc", "", false).is_empty());
        let mut s = Search::new();
        s.set_query("Foo", Selection::All);
        assert!(s.case_sensitive);
        s.set_query("foo", Selection::All);
        assert!(!s.case_sensitive);
    }

    #[test]
    fn next_and_prev_wrap_around_with_count_and_rank() {
        let (st, _) = store(&["x hit", "none", "hit hit", "end"]);
        let mut s = Search::new();
        s.set_query("hit", Selection::All);
        assert!(s.step(st.view(Selection::All)));
        assert_eq!(s.count(), 3);
        assert_eq!(s.next(Some((1, 0))), Some(2));
        assert_eq!(s.current().map(|(_, r)| r), Some(2));
        assert_eq!(s.next(None), Some(2));
        assert_eq!(s.current().map(|(m, r)| (m.start, r)), Some((4, 3)));
        assert_eq!(s.next(None), Some(0), "wraps to the first");
        assert_eq!(s.prev(None), Some(2), "wraps to the last");
        assert_eq!(s.current().map(|(_, r)| r), Some(3));
        assert_eq!(s.prev(None), Some(2));
        assert_eq!(s.prev(None), Some(0));
        let hl = s.ranges_in(2);
        assert_eq!(hl, vec![(0..3, false), (4..7, false)]);
        assert_eq!(s.ranges_in(0), vec![(2..5, true)]);
    }

    #[test]
    fn scans_in_bounded_slices() {
        let lines: Vec<String> = (0..1000).map(|i| format!("line {i:04}")).collect();
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        let (st, _) = store(&refs);
        let mut s = Search::new().with_budget(100);
        s.set_query("line 09", Selection::All);
        let mut steps = 0;
        while !s.step(st.view(Selection::All)) {
            steps += 1;
            assert!(s.count() <= 100);
        }
        assert!(steps >= 90, "{steps} steps");
        assert_eq!(s.count(), 100);
        assert!(s.is_complete(st.view(Selection::All)));
    }

    #[test]
    fn new_lines_are_searched_incrementally() {
        let (mut st, n) = store(&["one hit"]);
        let mut s = Search::new();
        s.set_query("hit", Selection::Node(n));
        s.step(st.view(Selection::Node(n)));
        assert_eq!(s.count(), 1);
        st.push(n, Stream::Stdout, b"second h", T);
        s.step(st.view(Selection::Node(n)));
        assert_eq!(s.count(), 1);
        st.push(n, Stream::Stdout, b"it", T);
        s.step(st.view(Selection::Node(n)));
        assert_eq!(s.count(), 2, "a partial line is searched too");
        st.push(n, Stream::Stdout, b"\rgone\n", T);
        s.step(st.view(Selection::Node(n)));
        assert_eq!(
            s.count(),
            1,
            "an overwritten partial line is searched again"
        );
        st.push(n, Stream::Stdout, b"hit\nhit\n", T);
        s.step(st.view(Selection::Node(n)));
        assert_eq!(s.count(), 3);
        assert_eq!(s.ranges_in(2), vec![(0..3, false)]);
    }

    #[test]
    fn open_line_before_closed_ones_keeps_order() {
        let mut st = LogStore::default();
        let n = st.add_node("a");
        st.push(n, Stream::Stdout, b"prompt hit? ", T);
        st.push(n, Stream::Stderr, b"hit 1\nhit 2\n", T);
        let mut s = Search::new();
        s.set_query("hit", Selection::Node(n));
        s.step(st.view(Selection::Node(n)));
        assert_eq!(s.count(), 3);
        assert_eq!(s.next(None), Some(0));
        assert_eq!(s.next(None), Some(1));
        st.push(n, Stream::Stdout, b"yes\n", T);
        s.step(st.view(Selection::Node(n)));
        assert_eq!(s.count(), 3);
        assert_eq!(s.prev(None), Some(0));
        assert_eq!(s.current().map(|(_, r)| r), Some(1));
    }

    #[test]
    fn evicted_lines_drop_their_matches() {
        let mut st = LogStore::new(LogConfig {
            max_lines: 5,
            max_line_bytes: 100,
            ..LogConfig::default()
        });
        let n = st.add_node("a");
        let mut s = Search::new();
        s.set_query("x", Selection::All);
        for _ in 0..5 {
            st.push(n, Stream::Stdout, b"x\n", T);
        }
        s.step(st.view(Selection::All));
        assert_eq!(s.count(), 5);
        s.next(None);
        for _ in 0..3 {
            st.push(n, Stream::Stdout, b"y\n", T);
        }
        s.step(st.view(Selection::All));
        assert_eq!(s.count(), 2);
        assert!(s.current().is_none());
        assert_eq!(s.next(None), Some(3));
    }

    #[test]
    fn no_match_and_empty_query() {
        let (st, _) = store(&["abc"]);
        let mut s = Search::new();
        s.set_query("zzz", Selection::All);
        s.step(st.view(Selection::All));
        assert_eq!(s.count(), 0);
        assert_eq!(s.next(None), None);
        assert_eq!(s.prev(None), None);
        s.clear();
        assert!(!s.is_active());
        assert!(s.step(st.view(Selection::All)));
    }

    #[test]
    fn regex_search_with_smart_case_and_clear_errors() {
        let (st, _) = store(&["GET /a 200", "get /b 500", "POST /c 503"]);
        let mut s = Search::new();
        s.set_pattern(r"^get /\w", true, Selection::All)
            .expect("valid");
        assert!(s.is_regex() && !s.case_sensitive);
        s.step(st.view(Selection::All));
        assert_eq!(s.count(), 2, "case ignored: no literal upper-case letter");
        assert_eq!(s.label(), r"re:^get /\w");
        s.set_pattern(r"^GET", true, Selection::All).expect("valid");
        s.step(st.view(Selection::All));
        assert_eq!(s.count(), 1, "an upper-case letter makes it case-sensitive");
        s.set_pattern(r"\S+ 5\d\d", true, Selection::All)
            .expect("valid");
        s.step(st.view(Selection::All));
        assert_eq!(s.count(), 2, "escapes are not literal letters");
        assert!(regex_has_upper("a[A-Z]") && !regex_has_upper(r"\p{Lu}\W\D"));
        // Empty matches are not matches.
        s.set_pattern("x*", true, Selection::All).expect("valid");
        s.step(st.view(Selection::All));
        assert_eq!(s.count(), 0);
        // A bad pattern is refused with the reason; the search stays as it was.
        s.set_pattern("50", false, Selection::All).unwrap();
        let err = s
            .set_pattern("(unclosed", true, Selection::All)
            .unwrap_err();
        assert!(
            err.starts_with("bad regex:") && err.contains("unclosed"),
            "{err}"
        );
        assert_eq!(s.query(), "50");
        let err = s
            .set_pattern(&"a".repeat(MAX_REGEX_LEN + 1), true, Selection::All)
            .unwrap_err();
        assert!(err.contains("at most"), "{err}");
        let err = s
            .set_pattern(r"\w{1000}\w{1000}\w{1000}", true, Selection::All)
            .unwrap_err();
        assert!(err.contains("too large"), "{err}");
        // Substring queries keep their meaning: regex characters are literal.
        s.set_pattern("/a 2", false, Selection::All).unwrap();
        s.step(st.view(Selection::All));
        assert_eq!(s.count(), 1);
    }

    #[test]
    fn match_lines_and_pending() {
        let (st, _) = store(&["hit hit", "no", "hit"]);
        let mut s = Search::new().with_budget(1);
        s.set_query("hit", Selection::All);
        assert!(s.is_pending(st.view(Selection::All)));
        while !s.step(st.view(Selection::All)) {}
        assert!(!s.is_pending(st.view(Selection::All)));
        assert_eq!(s.match_lines(), vec![0, 2]);
    }

    #[test]
    fn only_the_kelvin_sign_folds_onto_ascii() {
        let onto_ascii: Vec<char> = (0..=char::MAX as u32)
            .filter_map(char::from_u32)
            .filter(|c| !c.is_ascii() && fold(*c).is_ascii())
            .collect();
        assert_eq!(onto_ascii, vec!['\u{212A}']);
        assert_eq!(
            find_all("\u{212A}ey KEY key", "key", false),
            vec![0..5, 6..9, 10..13]
        );
        assert_eq!(find_all("\u{212A}ey KEY", "ey", false), vec![3..5, 7..9]);
        assert_eq!(
            find_all("\u{212A}ey", "Key", true),
            Vec::<Range<usize>>::new()
        );
    }

    /// The compiled patterns against the plain definitions (`match_indices`; every folded
    /// character compared), on text full of the characters that make folding hard.
    mod same_as_the_definition {
        use super::super::*;
        use proptest::prelude::*;

        fn text(max: usize) -> impl Strategy<Value = String> {
            proptest::collection::vec(
                prop::sample::select(vec![
                    "a", "A", "k", "K", "\u{212A}", "e", "é", "É", "ß", "İ", "i", "ǅ", "σ", "Σ",
                    "ς", " ", "\x1b", "日", "ab", "Ka",
                ]),
                0..max,
            )
            .prop_map(|v| v.concat())
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2000))]
            #[test]
            fn find_all_matches_the_definition(hay in text(40), needle in text(4)) {
                let sensitive: Vec<_> =
                    hay.match_indices(&needle).map(|(i, s)| i..i + s.len()).collect();
                let folded: Vec<char> = needle.chars().map(fold).collect();
                let insensitive = if needle.is_empty() { Vec::new() } else { find_folded(&hay, &folded) };
                if !needle.is_empty() {
                    prop_assert_eq!(find_all(&hay, &needle, true), sensitive);
                }
                prop_assert_eq!(find_all(&hay, &needle, false), insensitive);
            }
        }
    }
}
