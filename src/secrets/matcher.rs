//! The compiled form of all needles: an Aho-Corasick automaton walked byte by byte across
//! writes, the depth of each state, and a gram pre-filter that skips bytes no needle can start at.
//!
//! Built once per set of secrets and shared read-only by every stream (`Arc<Matcher>`).

use std::sync::Arc;

use aho_corasick::automaton::{Automaton, StateID};
use aho_corasick::{Anchored, MatchKind, StartKind, dfa, nfa::contiguous};

use super::invisible::{self, Class, Invisible};
use super::needles::Needle;

/// Hidden bytes (control bytes, escape sequences, repeated whitespace in whitespace mode) a
/// match in progress may span in total. Past this the match is abandoned, which bounds what a
/// stream holds back to the longest needle plus this many bytes.
pub const MAX_HIDDEN_IN_MATCH: usize = 4096;

/// The "a line break in a secret matches a line break followed by any whitespace" rule
/// (whitespace mode): a line break (`\n` or `\r`) is walked as `\n`, and the blanks, tabs and
/// further line breaks after it are skipped. This is what each byte is for that rule.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ws {
    Break,
    Blank,
    Other,
}

#[inline(always)]
pub(crate) fn ws_kind(b: u8) -> Ws {
    match b {
        b'\n' | b'\r' => Ws::Break,
        b' ' | b'\t' => Ws::Blank,
        _ => Ws::Other,
    }
}

/// Above this many needle bytes in total the dense DFA gets large (states × alphabet classes ×
/// 4 bytes); the contiguous NFA is used instead. Either is only walked near candidates.
const DFA_MAX_NEEDLE_BYTES: usize = 16 * 1024;

/// Bits of each gram bitset, at least (2^17 bits = 16 KiB, stays in L1) and at most (2^20 bits
/// = 128 KiB, stays in L2). In between, a bitset gets about `BITS_PER_GRAM` bits per gram.
const MIN_FILTER_BITS: u32 = 17;
const MAX_FILTER_BITS: u32 = 20;
const BITS_PER_GRAM: usize = 8;
/// Largest stride of the skip scan.
const MAX_STRIDE: usize = 8;

/// The automaton could not be built (too many or too long needles for its state IDs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct BuildFailed;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EnginePref {
    Auto,
    #[cfg_attr(not(test), allow(dead_code))]
    Nfa,
}

enum Engine {
    Dfa(dfa::DFA),
    Nfa(contiguous::NFA),
}

/// One compiled set of needles. Holds no needle bytes itself apart from the automaton's own
/// copy inside `engine` (which aho-corasick does not zeroize; see docs/secrets.md).
pub(crate) struct Matcher {
    pub(crate) generation: u64,
    engine: Option<Engine>,
    start: StateID,
    /// Depth (length of the needle prefix a state stands for), indexed by `sid >> depth_shift`.
    depth: Vec<u32>,
    depth_shift: u32,
    filter: GramFilter,
    /// For each pattern (unique needle), the indexes into `names` of the secrets it came from.
    pattern_secrets: Vec<Box<[u32]>>,
    pub(crate) names: Vec<Arc<str>>,
    pub(crate) max_len: usize,
    /// Whitespace mode (some secret spans lines): a line break and the whitespace after it
    /// are walked as one `\n`, as the needles were built (see `needles::normalize`).
    ws: bool,
}

/// Where one stream is in its walk: the automaton state, the classifier of hidden bytes, and
/// the map from visible offsets (bytes fed to the automaton) to raw stream offsets for the
/// bytes a match in progress may still cover.
#[derive(Clone, Debug)]
pub(crate) struct Walk {
    pub(crate) sid: StateID,
    /// A raw walk hides nothing but repeated whitespace (in whitespace mode): it finds needles
    /// written out contiguously, whatever a terminal view would make of them.
    raw: bool,
    inv: Invisible,
    /// Whitespace mode: only whitespace since the last line break walked.
    prev_ws: bool,
    /// The last raw byte is a `C2` whose class depends on the next byte (not fed yet).
    pending_c2: bool,
    /// Visible bytes walked.
    vis: u64,
    /// Raw offset minus visible offset for the next visible byte.
    delta: u64,
    /// `(visible offset, delta from there on)`, increasing; the first entry is at or before
    /// every offset a match in progress may start at.
    map: Vec<(u64, u64)>,
}

impl Walk {
    /// A walk whose next raw byte is at `raw`, in the start state, outside any sequence.
    pub(crate) fn at(start: StateID, raw: u64) -> Self {
        Walk {
            sid: start,
            raw: false,
            inv: Invisible::new(),
            prev_ws: false,
            pending_c2: false,
            vis: 0,
            delta: raw,
            map: vec![(0, raw)],
        }
    }

    /// A raw walk (see `raw`) whose next byte is at `raw`.
    pub(crate) fn raw_at(start: StateID, raw: u64) -> Self {
        let mut w = Walk::at(start, raw);
        w.raw = true;
        w
    }

    /// Like `at`, keeping the kind and the classifier's state (used when nothing is held
    /// back).
    pub(crate) fn restart(&self, start: StateID, raw: u64) -> Self {
        let mut w = Walk::at(start, raw);
        w.raw = self.raw;
        w.inv = self.inv;
        w.prev_ws = self.prev_ws;
        w
    }

    /// Takes over `other`'s state (a raw walk after a plain chunk walked by `other` alone:
    /// both would have walked it the same way).
    pub(crate) fn follow(&mut self, other: &Walk) {
        self.sid = other.sid;
        self.prev_ws = other.prev_ws;
        self.pending_c2 = false;
        self.vis = other.vis;
        self.delta = other.delta;
        self.map.clone_from(&other.map);
    }

    #[inline]
    fn raw_of(&self, v: u64) -> u64 {
        let i = self.map.partition_point(|e| e.0 <= v);
        let d = if i == 0 {
            self.map[0].1
        } else {
            self.map[i - 1].1
        };
        v + d
    }

    /// Raw offset from which every match still to come starts (`pos` = raw bytes walked).
    pub(crate) fn live(&self, m: &Matcher, pos: u64) -> u64 {
        let d = m.depth(self.sid) as u64;
        let live = if d == 0 {
            pos
        } else {
            self.raw_of(self.vis - d)
        };
        if self.pending_c2 {
            live.min(pos - 1)
        } else {
            live
        }
    }

    /// `n` more hidden bytes before the next visible one.
    fn hide(&mut self, m: &Matcher, n: u64) {
        self.delta += n;
        let d = m.depth(self.sid) as u64;
        if d == 0 {
            self.map.clear();
        } else {
            let from = self.vis - d;
            let hidden = self.delta - (self.raw_of(from) - from);
            if hidden > MAX_HIDDEN_IN_MATCH as u64 {
                // Too much hidden inside one match: abandon it (bounded hold-back).
                self.sid = m.start;
                self.map.clear();
            } else if self.map.len() > 64 {
                let keep = self.map.partition_point(|e| e.0 <= from).saturating_sub(1);
                self.map.drain(..keep);
            }
        }
        match self.map.last_mut() {
            Some(last) if last.0 == self.vis => last.1 = self.delta,
            _ => self.map.push((self.vis, self.delta)),
        }
    }
}

/// Gram sets over the needles, hashed into bitsets: no false negatives; a false positive only
/// costs a few automaton steps. `G = min(4, shortest needle)` bytes make a gram.
///
/// - `start`: the gram at offset 0 of each needle ("could a needle start here?").
/// - `any`: the grams at offsets `0..stride` of each needle, with
///   `stride = min(8, shortest needle - G + 1)`. Every occurrence of a needle starting at `s`
///   covers a position `t` in `[s, s + stride)` where its gram is in `any`, so testing only
///   every `stride`-th position is enough to find every place where a needle may start.
///
/// Each set is two bitsets under two independent hashes (a gram may be in the set when both
/// its bits are set; the second is only read when the first bit is), each sized to the number
/// of grams (`BITS_PER_GRAM`). With hundreds of secrets (thousands of needles, `stride` grams
/// each) one fixed 2^17-bit set filled up: at 500 secrets it said "maybe" at about a third of
/// the positions tested, and each "maybe" was a mispredicted branch and a walk of `stride`
/// automaton steps. (A blocked Bloom filter, both bits in one word, was tried: fewer
/// mispredictions still, but more instructions per test than it saved.)
struct GramFilter {
    /// `start` under the first hash, then under the second (`words` each).
    start: Box<[u64]>,
    /// `any`, likewise.
    any: Box<[u64]>,
    /// Words of one bitset.
    words: usize,
    /// `32 - log2(bits of one bitset)`.
    shift: u32,
    mask: u32,
    /// Gram length in bytes (1..=4).
    len: usize,
    stride: usize,
}

/// The two hashes' multipliers (odd; the first is 2^32 / golden ratio).
const HASH1: u32 = 0x9E37_79B1;
const HASH2: u32 = 0x85EB_CA77;

impl GramFilter {
    /// In whitespace mode grams stay clear of the first line break of each needle (it stands
    /// for a line break and any whitespace after it in the output).
    fn new(needles: &[&[u8]], ws: bool) -> Self {
        let clear = |n: &[u8]| {
            if ws {
                n.iter().position(|&b| b == b'\n').unwrap_or(n.len())
            } else {
                n.len()
            }
        };
        let min = needles.iter().map(|n| clear(n)).min().unwrap_or(4).max(1);
        let len = min.min(4);
        let mask = if len == 4 {
            u32::MAX
        } else {
            (1u32 << (8 * len)) - 1
        };
        let stride = (min - len + 1).clamp(1, MAX_STRIDE);
        let grams = needles.len() * stride;
        let bits = (grams * BITS_PER_GRAM)
            .next_power_of_two()
            .trailing_zeros()
            .clamp(MIN_FILTER_BITS, MAX_FILTER_BITS);
        let words = 1usize << (bits - 6);
        let mut f = GramFilter {
            start: vec![0u64; 2 * words].into_boxed_slice(),
            any: vec![0u64; 2 * words].into_boxed_slice(),
            words,
            shift: 32 - bits,
            mask,
            len,
            stride,
        };
        for n in needles {
            for offset in 0..f.stride {
                let mut w = [0u8; 4];
                w[..len].copy_from_slice(&n[offset..offset + len]);
                let w = u32::from_le_bytes(w);
                let (h1, h2) = (f.hash(w, HASH1), f.hash(w, HASH2) + f.words * 64);
                for h in [h1, h2] {
                    f.any[h >> 6] |= 1 << (h & 63);
                    if offset == 0 {
                        f.start[h >> 6] |= 1 << (h & 63);
                    }
                }
            }
        }
        f
    }

    #[inline(always)]
    fn hash(&self, word: u32, k: u32) -> usize {
        ((word & self.mask).wrapping_mul(k) >> self.shift) as usize
    }

    /// Whether `word`'s gram may be in `set` (both bits set).
    #[inline(always)]
    fn in_set(&self, set: &[u64], word: u32) -> bool {
        let h = self.hash(word, HASH1);
        if set[h >> 6] & (1 << (h & 63)) == 0 {
            return false;
        }
        let h = self.hash(word, HASH2) + self.words * 64;
        set[h >> 6] & (1 << (h & 63)) != 0
    }

    #[inline(always)]
    fn word_at(data: &[u8], i: usize) -> u32 {
        u32::from_le_bytes([data[i], data[i + 1], data[i + 2], data[i + 3]])
    }

    /// Could a needle start at `data[i]`? Needs `i + 4 <= data.len()`.
    #[inline(always)]
    fn may_start(&self, data: &[u8], i: usize) -> bool {
        self.in_set(&self.start, Self::word_at(data, i))
    }

    /// The first position `>= i` where a needle may start, as far as the filter can tell:
    /// a position in `stride - 1` bytes before a hit of `any` (and the hit) whose gram is in
    /// `start`, or just after the last position that tests could rule out near the end of
    /// `data`. (Testing `start` there costs a hash per position; walking the automaton from
    /// the first of them, as before, cost a step and a `start` test per position, and most
    /// hits of `any` start no needle.)
    ///
    /// Out of line and on locals: inlined into the automaton walk it ran short of registers
    /// and reloaded the stride, the shift and the mask from the stack, and checked each of the
    /// four bytes of a gram on its own (35 instructions per test, 4.4 per byte at stride 8).
    #[inline(never)]
    fn skip(&self, data: &[u8], i: usize) -> usize {
        let k = self.stride;
        let (any, mask, shift, second) = (&self.any[..], self.mask, self.shift, self.words * 64);
        let hit = |w: u32| -> bool {
            let w = w & mask;
            let h = (w.wrapping_mul(HASH1) >> shift) as usize;
            if any[h >> 6] & (1 << (h & 63)) == 0 {
                return false;
            }
            let h = (w.wrapping_mul(HASH2) >> shift) as usize + second;
            any[h >> 6] & (1 << (h & 63)) != 0
        };
        let mut t = i;
        if k == 1 {
            // Five positions from one 8-byte load.
            while let Some(w) = data.get(t..).and_then(<[u8]>::first_chunk::<8>) {
                let w = u64::from_le_bytes(*w);
                for j in 0..5 {
                    if hit((w >> (8 * j)) as u32) {
                        return t + j;
                    }
                }
                t += 5;
            }
        }
        while let Some(w) = data.get(t..).and_then(<[u8]>::first_chunk::<4>) {
            if hit(u32::from_le_bytes(*w)) {
                // Every start in `from..=t` is ruled out unless its gram is in `start` (a
                // needle's first gram always is); `t + 4 <= len` so each can be tested.
                let from = (t + 1).saturating_sub(k).max(i);
                if let Some(p) = (from..=t).find(|&p| self.may_start(data, p)) {
                    return p;
                }
            }
            t += k;
        }
        // A negative test at `t` rules out every start in `t + 1 - k ..= t`.
        if t == i { i } else { t + 1 - k }
    }
}

impl Matcher {
    /// The matcher with no needles: everything passes through at once.
    pub(crate) fn empty(generation: u64) -> Self {
        Matcher {
            generation,
            engine: None,
            start: StateID::ZERO,
            depth: Vec::new(),
            depth_shift: 0,
            filter: GramFilter::new(&[], false),
            pattern_secrets: Vec::new(),
            names: Vec::new(),
            max_len: 0,
            ws: false,
        }
    }

    /// Compiles `needles` (each with the secret indexes it belongs to; unique needles).
    pub(crate) fn build(
        generation: u64,
        needles: &[(Needle, Vec<u32>)],
        names: Vec<Arc<str>>,
        pref: EnginePref,
        ws: bool,
    ) -> Result<Self, BuildFailed> {
        if needles.is_empty() {
            let mut m = Matcher::empty(generation);
            m.names = names;
            return Ok(m);
        }
        let patterns: Vec<&[u8]> = needles.iter().map(|(n, _)| n.as_slice()).collect();
        let total: usize = patterns.iter().map(|p| p.len()).sum();
        let engine = if pref == EnginePref::Auto && total <= DFA_MAX_NEEDLE_BYTES {
            Engine::Dfa(
                dfa::DFA::builder()
                    .match_kind(MatchKind::Standard)
                    .start_kind(StartKind::Unanchored)
                    .prefilter(false)
                    .build(&patterns)
                    .map_err(|_| BuildFailed)?,
            )
        } else {
            Engine::Nfa(
                contiguous::NFA::builder()
                    .match_kind(MatchKind::Standard)
                    .prefilter(false)
                    .build(&patterns)
                    .map_err(|_| BuildFailed)?,
            )
        };
        let (start, depth, depth_shift) = match &engine {
            Engine::Dfa(a) => depth_table(a, &patterns)?,
            Engine::Nfa(a) => depth_table(a, &patterns)?,
        };
        Ok(Matcher {
            generation,
            engine: Some(engine),
            start,
            depth,
            depth_shift,
            filter: GramFilter::new(&patterns, ws),
            pattern_secrets: needles
                .iter()
                .map(|(_, s)| s.clone().into_boxed_slice())
                .collect(),
            names,
            max_len: patterns.iter().map(|p| p.len()).max().unwrap_or(0),
            ws,
        })
    }

    pub(crate) fn pattern_count(&self) -> usize {
        self.pattern_secrets.len()
    }

    pub(crate) fn start(&self) -> StateID {
        self.start
    }

    /// Length of the longest suffix of the bytes seen so far that is a needle prefix.
    #[inline(always)]
    pub(crate) fn depth(&self, sid: StateID) -> usize {
        self.depth
            .get(sid.as_usize() >> self.depth_shift)
            .map_or(0, |&d| d as usize)
    }

    /// Secret indexes (into `names`) of a reported pattern.
    pub(crate) fn secrets_of(&self, pattern: usize) -> &[u32] {
        self.pattern_secrets.get(pattern).map_or(&[], |s| s)
    }

    /// Walks `data` (the next raw bytes of the stream) from `w`, reporting every match as
    /// `(start, end, pattern)` in raw stream offsets, overlapping ones included, in order of
    /// their end. Hidden bytes (`invisible`) are not fed to the automaton; a match spans them.
    pub(crate) fn scan(
        &self,
        data: &[u8],
        w: &mut Walk,
        on_match: &mut dyn FnMut(u64, u64, usize),
    ) {
        // Fast path: nothing hidden can start in `data`; it is one visible run.
        if self.is_plain(data, w) {
            self.run(data, w, on_match);
            return;
        }
        let mut from: Option<usize> = None; // start of the current visible run in `data`
        for (i, &b) in data.iter().enumerate() {
            let class = if w.raw { Class::Visible } else { w.inv.step(b) };
            if w.pending_c2 {
                w.pending_c2 = false;
                if class == Class::C1 {
                    // The C2 before `b` and `b` are hidden.
                    if let Some(f) = from.take() {
                        self.run(&data[f..i - 1], w, on_match);
                    }
                    w.hide(self, 2);
                    continue;
                }
                // The C2 is visible (from the previous data, or inside the current run).
                if i == 0 {
                    self.run(&[0xc2], w, on_match);
                }
            }
            match class {
                Class::Visible => {
                    from.get_or_insert(i);
                }
                Class::Pending => {
                    from.get_or_insert(i);
                    w.pending_c2 = true;
                }
                Class::Hidden | Class::C1 => {
                    if let Some(f) = from.take() {
                        self.run(&data[f..i], w, on_match);
                    }
                    w.hide(self, 1);
                }
            }
        }
        if let Some(f) = from {
            let end = data.len() - usize::from(w.pending_c2);
            self.run(&data[f..end], w, on_match);
        }
    }

    /// Walks `data` from `w` as one visible run, as `scan` does when `is_plain(data, w)`.
    /// For `data` that is not plain from `w` what it does is meaningless: the caller checks
    /// `is_plain` (on a copy of `w` taken before) and throws the walk and its matches away.
    /// Walking first and checking after lets the walk be the first pass over bytes not yet
    /// in the cache (its work hides the memory latency) and the check run from the cache.
    #[inline]
    pub(crate) fn scan_as_plain(
        &self,
        data: &[u8],
        w: &mut Walk,
        on_match: &mut dyn FnMut(u64, u64, usize),
    ) {
        self.run(data, w, on_match);
    }

    /// The part of `is_plain` that depends on `w` alone.
    #[inline]
    pub(crate) fn plain_state(w: &Walk) -> bool {
        (w.raw || w.inv.is_ground()) && !w.pending_c2
    }

    /// Whether `data`, walked from `w`, is one visible run (nothing hidden, no repeated
    /// whitespace in whitespace mode): then the raw bytes are the visible bytes.
    #[inline]
    pub(crate) fn is_plain(&self, data: &[u8], w: &Walk) -> bool {
        Self::plain_state(w) && (w.raw || !invisible::any_may_hide(data))
    }

    /// Feeds one visible run (no hidden byte) to the automaton.
    fn run(&self, data: &[u8], w: &mut Walk, on_match: &mut dyn FnMut(u64, u64, usize)) {
        if data.is_empty() {
            return;
        }
        let base = w.vis;
        let mut skips = Vec::new();
        if !self.ws {
            let Walk {
                sid, map, prev_ws, ..
            } = w;
            let lookup = |v: u64| -> u64 {
                let i = map.partition_point(|e| e.0 <= v);
                v + if i == 0 { map[0].1 } else { map[i - 1].1 }
            };
            let mut report = |s: u64, e: u64, p: usize| on_match(lookup(s), lookup(e - 1) + 1, p);
            match &self.engine {
                None => {}
                Some(Engine::Dfa(a)) => {
                    self.scan_with::<_, false>(a, data, base, sid, prev_ws, &mut skips, &mut report)
                }
                Some(Engine::Nfa(a)) => {
                    self.scan_with::<_, false>(a, data, base, sid, prev_ws, &mut skips, &mut report)
                }
            }
            w.vis += data.len() as u64;
        } else {
            // Matches are mapped once the skipped whitespace is in the map.
            let mut found: Vec<(u64, u64, usize)> = Vec::new();
            let mut collect = |s: u64, e: u64, p: usize| found.push((s, e, p));
            match &self.engine {
                None => {}
                Some(Engine::Dfa(a)) => self.scan_with::<_, true>(
                    a,
                    data,
                    base,
                    &mut w.sid,
                    &mut w.prev_ws,
                    &mut skips,
                    &mut collect,
                ),
                Some(Engine::Nfa(a)) => self.scan_with::<_, true>(
                    a,
                    data,
                    base,
                    &mut w.sid,
                    &mut w.prev_ws,
                    &mut skips,
                    &mut collect,
                ),
            }
            for &v in &skips {
                w.delta += 1;
                match w.map.last_mut() {
                    Some(last) if last.0 == v => last.1 = w.delta,
                    _ => w.map.push((v, w.delta)),
                }
            }
            for (s, e, p) in found {
                on_match(w.raw_of(s), w.raw_of(e - 1) + 1, p);
            }
            w.vis += (data.len() - skips.len()) as u64;
        }
        if self.depth(w.sid) == 0 && w.map.len() > 1 {
            let last = w.map[w.map.len() - 1];
            w.map.clear();
            w.map.push(last);
        }
    }

    /// Walks `data` (visible offset `base`) from `*sid`, reporting matches in visible
    /// offsets. In whitespace mode (`WS`) a line break is walked as `\n`, and inside a match in
    /// progress whitespace after a line break is skipped: its visible offset goes to `skips`
    /// (the caller maps it); `prev_ws` carries "only whitespace since a line break" in and out.
    /// (Outside a match nothing is skipped: no needle starts with whitespace, so walking it
    /// leaves the start state as it is.)
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn scan_with<A: Automaton, const WS: bool>(
        &self,
        aut: &A,
        data: &[u8],
        base: u64,
        sid: &mut StateID,
        prev_ws: &mut bool,
        skips: &mut Vec<u64>,
        on_match: &mut dyn FnMut(u64, u64, usize),
    ) {
        let n = data.len();
        let gram = self.filter.len;
        let start = self.start;
        let mut s = *sid;
        let mut i = 0usize;
        let mut skipped = 0usize;
        // Whitespace bytes skipped since the walk last left the start state.
        let mut dups = 0usize;
        loop {
            if s == start {
                // In the start state no needle is partly matched: jump to the next position
                // where one could begin. Positions too close to the end are walked instead.
                let to = self.filter.skip(data, i);
                if WS && to > i {
                    // Skipped bytes were not walked; whatever they were, the start state
                    // stays (a needle starts on a byte that resets this).
                    *prev_ws = false;
                }
                i = to;
                dups = 0;
            }
            let mut reset = false;
            while i < n {
                let mut b = data[i];
                let kind = if WS { ws_kind(b) } else { Ws::Other };
                if WS && kind != Ws::Other {
                    if *prev_ws && s != start {
                        skips.push(base + (i - skipped) as u64);
                        skipped += 1;
                        i += 1;
                        dups += 1;
                        if dups > MAX_HIDDEN_IN_MATCH {
                            // Too much whitespace inside one match: abandon it.
                            s = start;
                            reset = true;
                            break;
                        }
                        continue;
                    }
                    if kind == Ws::Break {
                        b = b'\n';
                        *prev_ws = true;
                    }
                } else if WS {
                    *prev_ws = false;
                }
                s = aut.next_state(Anchored::No, s, b);
                i += 1;
                if aut.is_special(s) && aut.is_match(s) {
                    let end = base + (i - skipped) as u64;
                    for k in 0..aut.match_len(s) {
                        let pid = aut.match_pattern(s, k);
                        let len = aut.pattern_len(pid) as u64;
                        on_match(end - len, end, pid.as_usize());
                    }
                }
                let d = self.depth(s);
                if d < gram {
                    // Every match still possible starts in data[i-d..i] (a needle prefix
                    // shorter than a gram holds no whitespace, so nothing was skipped there).
                    // If the filter rules out all those positions, nothing in progress can
                    // complete: restart in the start state and go back to skipping.
                    if d == 0
                        || (i >= d
                            && i + 3 <= n
                            && (i - d..i).all(|p| !self.filter.may_start(data, p)))
                    {
                        s = start;
                        reset = true;
                        break;
                    }
                }
            }
            if !reset || i >= n {
                break;
            }
        }
        *sid = s;
    }
}

/// The start state and the depth of every state. Walking needle `p` from the start state
/// visits, after `k` bytes, the state standing for `p[..k]` (a needle prefix is its own
/// longest suffix that is a needle prefix), so walking all needles labels every state.
fn depth_table<A: Automaton>(
    aut: &A,
    patterns: &[&[u8]],
) -> Result<(StateID, Vec<u32>, u32), BuildFailed> {
    let start = aut.start_state(Anchored::No).map_err(|_| BuildFailed)?;
    let mut seen: Vec<(usize, u32)> = vec![(start.as_usize(), 0)];
    for p in patterns {
        let mut s = start;
        for (k, &b) in p.iter().enumerate() {
            s = aut.next_state(Anchored::No, s, b);
            seen.push((s.as_usize(), (k + 1) as u32));
        }
    }
    let shift = seen
        .iter()
        .filter(|(id, _)| *id != 0)
        .map(|(id, _)| id.trailing_zeros())
        .min()
        .unwrap_or(0);
    let max = seen.iter().map(|(id, _)| id >> shift).max().unwrap_or(0);
    let mut depth = vec![0u32; max + 1];
    for (id, d) in seen {
        depth[id >> shift] = d;
    }
    Ok((start, depth, shift))
}
