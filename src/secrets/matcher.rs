//! The compiled form of all needles: an Aho-Corasick automaton walked byte by byte across
//! writes, the depth of each state, and a gram pre-filter that skips bytes no needle can start at.
//!
//! Built once per set of secrets and shared read-only by every stream (`Arc<Matcher>`).

use std::sync::Arc;

use aho_corasick::automaton::{Automaton, StateID};
use aho_corasick::{Anchored, MatchKind, StartKind, dfa, nfa::contiguous};

use super::needles::Needle;

/// Above this many needle bytes in total the dense DFA gets large (states × alphabet classes ×
/// 4 bytes); the contiguous NFA is used instead. Either is only walked near candidates.
const DFA_MAX_NEEDLE_BYTES: usize = 16 * 1024;

/// Bits of each gram bitset (2^17 bits = 16 KiB, stays in L1).
const FILTER_BITS: u32 = 17;
const FILTER_WORDS: usize = 1 << (FILTER_BITS - 6);
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
}

/// Gram sets over the needles, hashed into bitsets: no false negatives; a false positive only
/// costs a few automaton steps. `G = min(4, shortest needle)` bytes make a gram.
///
/// - `start`: the gram at offset 0 of each needle ("could a needle start here?").
/// - `any`: the grams at offsets `0..stride` of each needle, with
///   `stride = min(8, shortest needle - G + 1)`. Every occurrence of a needle starting at `s`
///   covers a position `t` in `[s, s + stride)` where its gram is in `any`, so testing only
///   every `stride`-th position is enough to find every place where a needle may start.
struct GramFilter {
    start: Box<[u64; FILTER_WORDS]>,
    any: Box<[u64; FILTER_WORDS]>,
    mask: u32,
    /// Gram length in bytes (1..=4).
    len: usize,
    stride: usize,
}

impl GramFilter {
    fn new(needles: &[&[u8]]) -> Self {
        let min = needles.iter().map(|n| n.len()).min().unwrap_or(4).max(1);
        let len = min.min(4);
        let mask = if len == 4 {
            u32::MAX
        } else {
            (1u32 << (8 * len)) - 1
        };
        let mut f = GramFilter {
            start: Box::new([0u64; FILTER_WORDS]),
            any: Box::new([0u64; FILTER_WORDS]),
            mask,
            len,
            stride: (min - len + 1).clamp(1, MAX_STRIDE),
        };
        for n in needles {
            for offset in 0..f.stride {
                let mut w = [0u8; 4];
                w[..len].copy_from_slice(&n[offset..offset + len]);
                let h = f.hash(u32::from_le_bytes(w));
                f.any[h >> 6] |= 1 << (h & 63);
                if offset == 0 {
                    f.start[h >> 6] |= 1 << (h & 63);
                }
            }
        }
        f
    }

    #[inline(always)]
    fn hash(&self, word: u32) -> usize {
        ((word & self.mask).wrapping_mul(0x9E37_79B1) >> (32 - FILTER_BITS)) as usize
    }

    #[inline(always)]
    fn word_at(data: &[u8], i: usize) -> u32 {
        u32::from_le_bytes([data[i], data[i + 1], data[i + 2], data[i + 3]])
    }

    /// Could a needle start at `data[i]`? Needs `i + 4 <= data.len()`.
    #[inline(always)]
    fn may_start(&self, data: &[u8], i: usize) -> bool {
        let h = self.hash(Self::word_at(data, i));
        self.start[h >> 6] & (1 << (h & 63)) != 0
    }

    /// The first position `>= i` where a needle may start, as far as the filter can tell:
    /// either `stride - 1` bytes before a hit of `any`, or just after the last position that
    /// tests could rule out near the end of `data`.
    #[inline(always)]
    fn skip(&self, data: &[u8], i: usize) -> usize {
        let k = self.stride;
        let mut t = i;
        if k == 1 {
            // Five positions from one 8-byte load.
            while t + 8 <= data.len() {
                let w = u64::from_le_bytes([
                    data[t],
                    data[t + 1],
                    data[t + 2],
                    data[t + 3],
                    data[t + 4],
                    data[t + 5],
                    data[t + 6],
                    data[t + 7],
                ]);
                for j in 0..5 {
                    let h = self.hash((w >> (8 * j)) as u32);
                    if self.any[h >> 6] & (1 << (h & 63)) != 0 {
                        return t + j;
                    }
                }
                t += 5;
            }
        }
        while t + 4 <= data.len() {
            let h = self.hash(Self::word_at(data, t));
            if self.any[h >> 6] & (1 << (h & 63)) != 0 {
                return (t + 1).saturating_sub(k).max(i);
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
            filter: GramFilter::new(&[]),
            pattern_secrets: Vec::new(),
            names: Vec::new(),
            max_len: 0,
        }
    }

    /// Compiles `needles` (each with the secret indexes it belongs to; unique needles).
    pub(crate) fn build(
        generation: u64,
        needles: &[(Needle, Vec<u32>)],
        names: Vec<Arc<str>>,
        pref: EnginePref,
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
            filter: GramFilter::new(&patterns),
            pattern_secrets: needles
                .iter()
                .map(|(_, s)| s.clone().into_boxed_slice())
                .collect(),
            names,
            max_len: patterns.iter().map(|p| p.len()).max().unwrap_or(0),
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

    /// Walks `data` (which starts at absolute offset `base`) from state `*sid`, reporting every
    /// match as `(start, end, pattern)` in absolute offsets, overlapping ones included, in order
    /// of their end. Leaves `*sid` at the state after the last byte.
    pub(crate) fn scan(
        &self,
        data: &[u8],
        base: u64,
        sid: &mut StateID,
        on_match: &mut dyn FnMut(u64, u64, usize),
    ) {
        match &self.engine {
            None => {}
            Some(Engine::Dfa(a)) => self.scan_with(a, data, base, sid, on_match),
            Some(Engine::Nfa(a)) => self.scan_with(a, data, base, sid, on_match),
        }
    }

    #[inline(always)]
    fn scan_with<A: Automaton>(
        &self,
        aut: &A,
        data: &[u8],
        base: u64,
        sid: &mut StateID,
        on_match: &mut dyn FnMut(u64, u64, usize),
    ) {
        let n = data.len();
        let gram = self.filter.len;
        let start = self.start;
        let mut s = *sid;
        let mut i = 0usize;
        loop {
            if s == start {
                // In the start state no needle is partly matched: jump to the next position
                // where one could begin. Positions too close to the end are walked instead.
                i = self.filter.skip(data, i);
            }
            let mut reset = false;
            while i < n {
                s = aut.next_state(Anchored::No, s, data[i]);
                i += 1;
                if aut.is_special(s) && aut.is_match(s) {
                    let end = base + i as u64;
                    for k in 0..aut.match_len(s) {
                        let pid = aut.match_pattern(s, k);
                        let len = aut.pattern_len(pid) as u64;
                        on_match(end - len, end, pid.as_usize());
                    }
                }
                let d = self.depth(s);
                if d < gram {
                    // Every match still possible starts in data[i-d..i]. If the filter rules
                    // out all those positions, nothing in progress can complete: restart in
                    // the start state and go back to skipping.
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
