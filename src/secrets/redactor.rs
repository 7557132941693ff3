//! The streaming redactor: replaces every occurrence of every needle of every known secret
//! with `***`, identically however the input is split into writes, in memory bounded by the
//! longest needle. Rules and limits: docs/secrets.md.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use secrecy::{ExposeSecret, SecretString};
use zeroize::{Zeroize, Zeroizing};

use aho_corasick::automaton::StateID;

use super::matcher::{EnginePref, Matcher, Walk};
use super::needles::{self, MAX_ENCODED_LEN, MAX_SECRET_LEN, MIN_ENCODED_LEN, Needle};

/// What replaces a redacted span.
pub const MARKER: &[u8] = b"***";

/// Bytes walked per step of a push: bounds the list of pending spans, whatever the write size.
const CHUNK: usize = 64 * 1024;

/// A secret that cannot be registered.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RedactError {
    #[error(
        "secret `{name}` is empty or only whitespace and control bytes; it cannot be redacted \
         and is refused"
    )]
    Empty { name: String },
    #[error("secret `{name}` makes the redaction automaton too large; it was not added")]
    TooLarge { name: String },
    #[error(
        "secret `{name}` is longer than {max} bytes; values this long cannot be redacted \
         efficiently and are refused"
    )]
    TooLong { name: String, max: usize },
}

/// A secret was registered, but with a caveat the operator should see.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RedactWarning {
    #[error(
        "secret `{name}` is shorter than {min} bytes: only its exact value is redacted, \
         not its encodings (base64, URL, JSON…)"
    )]
    Short { name: String, min: usize },
    #[error(
        "secret `{name}` is longer than {max} bytes: only its exact value (and its lines) is \
         redacted, not its encodings (base64, URL, JSON…)"
    )]
    Long { name: String, max: usize },
}

/// Redacts known secrets from output. Cheap to clone (shared state); every clone and every
/// stream sees secrets added later.
#[derive(Clone, Default)]
pub struct Redactor {
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    state: RwLock<State>,
    generations: AtomicU64,
    /// Set by `purge`, never cleared: from then on every stream drops its input.
    purged: AtomicBool,
}

struct State {
    secrets: Vec<Entry>,
    matcher: Arc<Matcher>,
    pref: EnginePref,
}

impl Default for State {
    fn default() -> Self {
        State {
            secrets: Vec::new(),
            matcher: Arc::new(Matcher::empty(0)),
            pref: EnginePref::Auto,
        }
    }
}

struct Entry {
    name: Arc<str>,
    value: SecretString,
}

impl Redactor {
    pub fn new() -> Self {
        Self::default()
    }

    #[cfg(test)]
    pub(crate) fn with_engine(pref: EnginePref) -> Self {
        let r = Self::new();
        r.write().pref = pref;
        r
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.shared.state.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.shared.state.write().unwrap_or_else(|e| e.into_inner())
    }

    fn matcher(&self) -> Arc<Matcher> {
        Arc::clone(&self.read().matcher)
    }

    /// Registers a secret; it applies to every byte pushed from now on, in every stream.
    /// Refuses empty and whitespace-only values and values over `MAX_SECRET_LEN` bytes. Warns
    /// (naming the secret, never showing the value) when the value is too short or too long to
    /// get encodings. Adding the same name and value again changes nothing; the same name with
    /// another value redacts both values.
    pub fn add_secret(
        &self,
        name: &str,
        value: &SecretString,
    ) -> Result<Option<RedactWarning>, RedactError> {
        self.add_secrets([(name, value)]).pop().unwrap_or(Ok(None))
    }

    /// Registers several secrets with one build of the automaton (adding them one by one
    /// rebuilds it for each). One result per secret, in order, as `add_secret` gives it.
    pub fn add_secrets<'a>(
        &self,
        secrets: impl IntoIterator<Item = (&'a str, &'a SecretString)>,
    ) -> Vec<Result<Option<RedactWarning>, RedactError>> {
        let mut results = Vec::new();
        let mut state = self.write();
        let before = state.secrets.len();
        // Result index of each entry added now.
        let mut added_idx = Vec::new();
        for (name, value) in secrets {
            let result = Self::check(name, value);
            if result.is_ok()
                && !state
                    .secrets
                    .iter()
                    .any(|e| &*e.name == name && e.value.expose_secret() == value.expose_secret())
            {
                state.secrets.push(Entry {
                    name: Arc::from(name),
                    value: value.clone(),
                });
                added_idx.push(results.len());
            }
            results.push(result);
        }
        if state.secrets.len() == before {
            return results;
        }
        match self.compile(&state) {
            Ok(m) => state.matcher = Arc::new(m),
            Err(()) => {
                // Find the secrets that do not fit, one at a time.
                let added: Vec<Entry> = state.secrets.drain(before..).collect();
                for (entry, idx) in added.into_iter().zip(added_idx) {
                    state.secrets.push(entry);
                    match self.compile(&state) {
                        Ok(m) => state.matcher = Arc::new(m),
                        Err(()) => {
                            if let Some(e) = state.secrets.pop() {
                                results[idx] = Err(RedactError::TooLarge {
                                    name: e.name.to_string(),
                                });
                            }
                        }
                    }
                }
            }
        }
        results
    }

    /// Whether a value can be registered, and with which warning.
    fn check(name: &str, value: &SecretString) -> Result<Option<RedactWarning>, RedactError> {
        let trimmed_len = value.expose_secret().trim().len();
        // Blank once what a terminal does not show is gone: nothing to search for.
        if trimmed_len == 0
            || needles::normalize(value.expose_secret().as_bytes(), false)
                .iter()
                .all(u8::is_ascii_whitespace)
        {
            return Err(RedactError::Empty {
                name: name.to_owned(),
            });
        }
        if value.expose_secret().len() > MAX_SECRET_LEN {
            return Err(RedactError::TooLong {
                name: name.to_owned(),
                max: MAX_SECRET_LEN,
            });
        }
        Ok(if trimmed_len < MIN_ENCODED_LEN {
            Some(RedactWarning::Short {
                name: name.to_owned(),
                min: MIN_ENCODED_LEN,
            })
        } else if trimmed_len > MAX_ENCODED_LEN {
            Some(RedactWarning::Long {
                name: name.to_owned(),
                max: MAX_ENCODED_LEN,
            })
        } else {
            None
        })
    }

    /// Builds the matcher for all registered secrets.
    fn compile(&self, state: &State) -> Result<Matcher, ()> {
        let mut names: Vec<Arc<str>> = Vec::new();
        let mut all: Vec<(Needle, u32)> = Vec::new();
        // Whitespace mode when a secret spans lines: its line breaks may have become any run
        // of whitespace (indentation, blank lines), so every needle is matched that way.
        let ws = state
            .secrets
            .iter()
            .any(|e| e.value.expose_secret().trim().contains('\n'));
        for entry in &state.secrets {
            let idx = match names.iter().position(|n| *n == entry.name) {
                Some(i) => i,
                None => {
                    names.push(Arc::clone(&entry.name));
                    names.len() - 1
                }
            } as u32;
            for n in needles::normalized(entry.value.expose_secret(), ws) {
                all.push((n, idx));
            }
        }
        all.sort_by(|a, b| a.0.as_slice().cmp(b.0.as_slice()).then(a.1.cmp(&b.1)));
        let mut unique: Vec<(Needle, Vec<u32>)> = Vec::new();
        for (needle, idx) in all {
            match unique.last_mut() {
                Some((last, ids)) if last.as_slice() == needle.as_slice() => {
                    if !ids.contains(&idx) {
                        ids.push(idx);
                    }
                }
                _ => unique.push((needle, vec![idx])),
            }
        }
        let generation = self.shared.generations.fetch_add(1, Ordering::Relaxed) + 1;
        Matcher::build(generation, &unique, names, state.pref, ws).map_err(|_| ())
    }

    /// A new stream (one per output: a child's stdout, its stderr, a log file…).
    pub fn stream(&self) -> StreamRedactor {
        StreamRedactor {
            redactor: self.clone(),
            generation: None,
            walk: Walk::at(StateID::ZERO, 0),
            raw_walk: Walk::raw_at(StateID::ZERO, 0),
            pos: 0,
            emitted: 0,
            window: Zeroizing::new(Vec::new()),
            spans: Vec::new(),
            found: Vec::new(),
            last_plain: true,
            counts: BTreeMap::new(),
            dropped: 0,
        }
    }

    /// Redacts a whole buffer (one push and a finish).
    pub fn redact(&self, input: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(input.len());
        let mut s = self.stream();
        s.push(input, &mut out);
        s.finish(&mut out);
        out
    }

    /// Redacts a text (error messages, result values). Needles of valid UTF-8 values start and
    /// end on character boundaries, so the result stays valid UTF-8.
    pub fn redact_str(&self, s: &str) -> String {
        let out = self.redact(s.as_bytes());
        match String::from_utf8(out) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        }
    }

    /// Forgets every secret: values are zeroized, the automaton is dropped. From then on the
    /// redactor passes nothing: every stream (and `redact`) drops what it is given and what it
    /// held back — a late write can no longer be checked, so it is never shown raw. Streams
    /// count the dropped bytes (`dropped_after_purge`) so their owner can say so.
    pub fn purge(&self) {
        // The flag goes first: a push that sees the emptied matcher also sees the flag.
        self.shared.purged.store(true, Ordering::SeqCst);
        let generation = self.shared.generations.fetch_add(1, Ordering::Relaxed) + 1;
        let mut state = self.write();
        state.secrets.clear(); // SecretString zeroizes on drop
        state.matcher = Arc::new(Matcher::empty(generation));
    }

    /// True once `purge` was called: nothing passes any more.
    pub fn is_purged(&self) -> bool {
        self.shared.purged.load(Ordering::SeqCst)
    }

    /// Number of distinct needles currently searched for.
    pub fn needle_count(&self) -> usize {
        self.read().matcher.pattern_count()
    }

    /// Length of the longest needle (the bound on what a stream holds back).
    pub fn max_needle_len(&self) -> usize {
        self.read().matcher.max_len
    }

    /// Names of the registered secrets, in registration order.
    pub fn secret_names(&self) -> Vec<String> {
        self.read()
            .matcher
            .names
            .iter()
            .map(|n| n.to_string())
            .collect()
    }
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.read();
        f.debug_struct("Redactor")
            .field("secrets", &state.matcher.names)
            .field("needles", &state.matcher.pattern_count())
            .finish()
    }
}

/// A pending (not yet written) redacted span, in absolute stream offsets.
struct Span {
    start: u64,
    end: u64,
    secrets: Vec<Arc<str>>,
}

/// Redacts one output stream. Feed it with `push`, end it with `finish`.
///
/// Invariants between calls (absolute offsets; `pos` = bytes pushed so far):
/// - everything before `emitted` has been written out;
/// - `window` holds the raw bytes `[pos - window.len(), pos)`: the longest suffix of the input
///   that is a proper prefix of some needle (a match still in progress may start there);
/// - `spans` are the merged, sorted, pairwise non-touching spans not yet written; every byte
///   in `[emitted, pos)` outside them lies in `window`.
pub struct StreamRedactor {
    redactor: Redactor,
    /// Generation of the matcher `sid` belongs to; `None` before the first push.
    generation: Option<u64>,
    /// The walk over visible bytes (what a terminal view shows)…
    walk: Walk,
    /// …and the walk over the raw bytes (needles written out contiguously).
    raw_walk: Walk,
    pos: u64,
    emitted: u64,
    window: Zeroizing<Vec<u8>>,
    spans: Vec<Span>,
    /// Matches of the current chunk's plain walk, kept until the chunk is known to be plain.
    found: Vec<(u64, u64, usize)>,
    /// The last chunk was walked as plain (then the next one is walked before it is checked).
    last_plain: bool,
    counts: BTreeMap<Arc<str>, u64>,
    /// Bytes given (or held back) after the purge and dropped.
    dropped: u64,
}

impl StreamRedactor {
    /// Redacts `input` and appends to `out` everything that can no longer be part of a match.
    /// After `Redactor::purge` it appends nothing (see `dropped_after_purge`).
    pub fn push(&mut self, input: &[u8], out: &mut Vec<u8>) {
        self.push_inner(input, out, None);
    }

    /// As `push`, and appends to `marks` where in `out` each `***` it wrote stands (byte
    /// ranges, indices into `out`), so a viewer can tell the redactor's marker from a
    /// service's own `***`. A marker is never split between two calls.
    pub fn push_marked(&mut self, input: &[u8], out: &mut Vec<u8>, marks: &mut Vec<Range<usize>>) {
        self.push_inner(input, out, Some(marks));
    }

    fn push_inner(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
        mut marks: Option<&mut Vec<Range<usize>>>,
    ) {
        let m = self.redactor.matcher();
        // Checked after taking the matcher: an emptied one always comes with the flag set.
        if self.drop_if_purged(input.len()) {
            return;
        }
        self.sync(&m, out, marks.as_deref_mut());
        for chunk in input.chunks(CHUNK) {
            if Matcher::plain_state(&self.walk) && self.raw_walk.sid == self.walk.sid {
                // Both walks are in the same state: if raw and visible bytes are the same (the
                // common case), one walk finds everything. After a plain chunk the walk comes
                // first and the check after (see `scan_as_plain`), undoing the walk if the
                // chunk is not plain; after one that was not, the check comes first.
                let before = self.last_plain.then(|| self.walk.clone());
                let plain = if before.is_some() || m.is_plain(chunk, &self.walk) {
                    let found = &mut self.found;
                    found.clear();
                    m.scan_as_plain(chunk, &mut self.walk, &mut |s, e, p| found.push((s, e, p)));
                    match before {
                        Some(before) if !m.is_plain(chunk, &before) => {
                            self.walk = before;
                            false
                        }
                        _ => true,
                    }
                } else {
                    false
                };
                if plain {
                    for &(s, e, p) in &self.found {
                        add_match(&mut self.spans, &m, s, e, p);
                    }
                    self.raw_walk.follow(&self.walk);
                } else {
                    self.scan_both(&m, chunk);
                }
                // A chunk dense with matches must not leave its buffer that large.
                self.found.clear();
                self.found.shrink_to(256);
                self.last_plain = plain;
            } else {
                self.scan_both(&m, chunk);
                self.last_plain = false;
            }
            self.pos += chunk.len() as u64;
            self.release(&m, chunk, false, out, marks.as_deref_mut());
        }
    }

    /// End of input: writes out everything held back. The stream can be reused afterwards;
    /// nothing carries over (a match cannot span a `finish`).
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        self.finish_inner(out, None);
    }

    /// As `finish`, with the markers' ranges as in `push_marked`.
    pub fn finish_marked(&mut self, out: &mut Vec<u8>, marks: &mut Vec<Range<usize>>) {
        self.finish_inner(out, Some(marks));
    }

    fn finish_inner(&mut self, out: &mut Vec<u8>, mut marks: Option<&mut Vec<Range<usize>>>) {
        let m = self.redactor.matcher();
        if self.drop_if_purged(0) {
            return;
        }
        self.sync(&m, out, marks.as_deref_mut());
        self.release(&m, &[], true, out, marks);
        self.walk = Walk::at(m.start(), self.pos);
        self.raw_walk = Walk::raw_at(m.start(), self.pos);
    }

    /// After the purge: forgets what was held back (zeroized) and drops `len` more bytes.
    fn drop_if_purged(&mut self, len: usize) -> bool {
        if !self.redactor.is_purged() {
            return false;
        }
        // Everything in [emitted, pos) was held back, unwritten.
        self.dropped += (self.pos - self.emitted) + len as u64;
        self.window.zeroize();
        self.spans.clear();
        self.emitted = self.pos;
        true
    }

    /// Bytes this stream dropped because they came (or were held back) after the purge.
    pub fn dropped_after_purge(&self) -> u64 {
        self.dropped
    }

    /// Number of redacted spans written so far, per secret name. A span where several
    /// secrets matched (merged) counts once for each of them.
    pub fn counts(&self) -> BTreeMap<String, u64> {
        self.counts
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect()
    }

    /// Raw bytes held back because a needle may start in them (≤ the longest needle).
    /// Bytes of a pending redacted span are not held: they will become `***` whatever follows.
    pub fn held_back(&self) -> usize {
        self.window.len()
    }

    /// Adopts the current matcher if the secrets changed since the last call: re-walks the
    /// held-back window with it, so a match in progress of an older needle survives the change
    /// and new needles are found in the held-back bytes too. Bytes already written stay as they
    /// were.
    fn sync(&mut self, m: &Matcher, out: &mut Vec<u8>, marks: Option<&mut Vec<Range<usize>>>) {
        if self.generation == Some(m.generation) {
            return;
        }
        self.generation = Some(m.generation);
        if self.window.capacity() < m.max_len {
            let mut bigger = Zeroizing::new(Vec::with_capacity(m.max_len));
            bigger.extend_from_slice(&self.window);
            self.window = bigger;
        }
        if self.window.is_empty() {
            self.walk = self.walk.restart(m.start(), self.pos);
            self.raw_walk = self.raw_walk.restart(m.start(), self.pos);
            return;
        }
        // The window starts at a visible byte (or a pending C2): walked again from the
        // classifier's ground state, it is classified as before.
        let base = self.pos - self.window.len() as u64;
        self.walk = Walk::at(m.start(), base);
        self.raw_walk = Walk::raw_at(m.start(), base);
        let window = std::mem::take(&mut self.window);
        self.scan_both(m, &window);
        self.window = window;
        self.release(m, &[], false, out, marks);
    }

    /// Walks `data` (at raw offset `base`) both ways and adds the matches of both, in order of
    /// their end.
    fn scan_both(&mut self, m: &Matcher, data: &[u8]) {
        let mut found: Vec<(u64, u64, usize)> = Vec::new();
        m.scan(data, &mut self.walk, &mut |s, e, p| found.push((e, s, p)));
        m.scan(data, &mut self.raw_walk, &mut |s, e, p| {
            found.push((e, s, p))
        });
        found.sort_unstable();
        found.dedup();
        for (e, s, p) in found {
            add_match(&mut self.spans, m, s, e, p);
        }
    }

    /// Writes out what is final after `chunk` (the bytes just scanned, ending at `pos`), and
    /// keeps the new window. At `eof` everything is final.
    fn release(
        &mut self,
        m: &Matcher,
        chunk: &[u8],
        eof: bool,
        out: &mut Vec<u8>,
        mut marks: Option<&mut Vec<Range<usize>>>,
    ) {
        let pos = self.pos;
        let chunk_start = pos - chunk.len() as u64;
        let win_start = chunk_start - self.window.len() as u64;
        // Every match still to come starts at or after `live` (in either walk).
        let live = if eof {
            pos
        } else {
            self.walk.live(m, pos).min(self.raw_walk.live(m, pos))
        };
        // A pending span that reaches `live` may still grow: hold it (and what follows).
        let boundary = match self.spans.iter().find(|s| s.end >= live) {
            Some(s) if !eof => s.start.min(live),
            _ => live,
        };
        let source = |from: u64, to: u64| -> (&[u8], &[u8]) {
            debug_assert!(from >= win_start && to <= pos && from <= to);
            let from = from.max(win_start);
            let (w, c) = (&self.window[..], chunk);
            let split = |at: u64| (at - win_start) as usize;
            let (a, b) = (split(from), split(to));
            let wl = w.len();
            (
                &w[a.min(wl)..b.min(wl)],
                &c[a.saturating_sub(wl)..b.saturating_sub(wl)],
            )
        };
        let mut cursor = self.emitted;
        let mut done = 0;
        for span in self.spans.iter().take_while(|s| s.start < boundary) {
            if cursor < span.start {
                let (a, b) = source(cursor, span.start);
                out.extend_from_slice(a);
                out.extend_from_slice(b);
            }
            if let Some(marks) = marks.as_deref_mut() {
                marks.push(out.len()..out.len() + MARKER.len());
            }
            out.extend_from_slice(MARKER);
            for name in &span.secrets {
                *self.counts.entry(Arc::clone(name)).or_insert(0) += 1;
            }
            cursor = span.end;
            done += 1;
        }
        if cursor < boundary {
            let (a, b) = source(cursor, boundary);
            out.extend_from_slice(a);
            out.extend_from_slice(b);
            cursor = boundary;
        }
        self.spans.drain(..done);
        self.emitted = cursor;

        // New window: raw bytes [live, pos), taken from the old window and the chunk.
        let keep = (pos - live) as usize;
        if keep <= chunk.len() {
            self.window.clear();
            self.window.extend_from_slice(&chunk[chunk.len() - keep..]);
        } else {
            let from_old = keep - chunk.len();
            let drop = self.window.len() - from_old;
            self.window.copy_within(drop.., 0);
            self.window.truncate(from_old);
            self.window.extend_from_slice(chunk);
        }
        if eof {
            self.spans.clear();
        }
    }
}

/// Merges the match `[start, end)` of `pattern` into the pending spans. Matches arrive in
/// order of their end, so only trailing spans can overlap or touch it.
fn add_match(spans: &mut Vec<Span>, m: &Matcher, start: u64, end: u64, pattern: usize) {
    let ids = m.secrets_of(pattern);
    if let Some(last) = spans.last()
        && last.start <= start
        && last.end >= end
        && ids
            .iter()
            .all(|&i| last.secrets.contains(&m.names[i as usize]))
    {
        return; // already covered
    }
    let mut span = Span {
        start,
        end,
        secrets: ids
            .iter()
            .map(|&i| Arc::clone(&m.names[i as usize]))
            .collect(),
    };
    while let Some(last) = spans.last() {
        if last.end < span.start {
            break;
        }
        if let Some(last) = spans.pop() {
            span.start = span.start.min(last.start);
            span.end = span.end.max(last.end);
            span.secrets.extend(last.secrets);
        }
    }
    span.secrets.sort();
    span.secrets.dedup();
    spans.push(span);
}

impl fmt::Debug for StreamRedactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamRedactor")
            .field("counts", &self.counts)
            .field("held_back", &self.window.len())
            .field("pending_spans", &self.spans.len())
            .finish()
    }
}
