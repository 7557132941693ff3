//! Log search over a full default log buffer (100 000 log-like lines, about 10 MB): one whole
//! scan of `Search::step` per query, case-sensitive (an upper-case letter in the query) and
//! case-insensitive (smart case), a rare and a frequent needle, and a non-ASCII query.
//!
//! The `find_all` group runs the matcher alone on the same lines, side by side with the
//! implementation before issue 10 (`str::match_indices`; a char-by-char fold), so the two are
//! compared in one sitting.
//!
//! `cargo bench --bench search` runs it; docs/benchmarks.md has the figures.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use wfop::ui::tui::logbuf::{LogStore, Selection, Stream};
use wfop::ui::tui::search::{Pattern, Search};

#[path = "common/rng.rs"]
mod rng;
use rng::Rng;

const WORDS: &[&str] = &[
    "GET",
    "POST",
    "/api/v1/orders",
    "status=200",
    "status=404",
    "user_id=4711",
    "latency_ms=12",
    "INFO",
    "WARN",
    "DEBUG",
    "request",
    "handled",
    "connection",
    "pool",
    "acquired",
    "released",
    "cache",
    "miss",
    "hit",
    "retrying",
    "upstream",
    "Été",
    "payload",
    "bytes=5120",
    "trace_id",
];

/// 100 000 lines of 8–20 words; one line in about 500 says "Timeout".
fn store() -> (LogStore, usize) {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut s = LogStore::default();
    let n = s.add_node("svc");
    let mut bytes = 0;
    for i in 0..100_000u32 {
        let mut line = format!("2026-12-01T21:{:02}:{:02}Z ", (i / 60) % 60, i % 60);
        for _ in 0..8 + rng.below(13) {
            line.push_str(WORDS[rng.below(WORDS.len())]);
            line.push(' ');
        }
        if rng.below(500) == 0 {
            line.push_str("upstream Timeout after 30s");
        }
        line.push('\n');
        bytes += line.len();
        s.push(n, Stream::Stdout, line.as_bytes(), Duration::ZERO);
    }
    (s, bytes)
}

fn bench(c: &mut Criterion) {
    let (st, bytes) = store();
    let mut g = c.benchmark_group("search");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.sample_size(20);
    for (name, query) in [
        ("sensitive_rare", "Timeout"),
        ("insensitive_rare", "timeout"),
        ("sensitive_frequent", "GET"),
        ("insensitive_frequent", "status"),
        ("insensitive_non_ascii", "été"),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut s = Search::new().with_budget(usize::MAX);
                s.set_query(query, Selection::All);
                s.step(st.view(Selection::All));
                black_box(s.count())
            })
        });
    }
    g.finish();
}

/// `find_all` as it was before issue 10 (case-sensitive `match_indices`; case-insensitive, a
/// compare of each character's simple lower-case form at every character).
fn find_all_before(hay: &str, needle: &str, case_sensitive: bool) -> usize {
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
    if case_sensitive {
        return hay.match_indices(needle).count();
    }
    let folded: Vec<char> = needle.chars().map(fold).collect();
    let mut n = 0;
    let mut i = 0;
    while i < hay.len() {
        let Some(rest) = hay.get(i..) else { break };
        let mut chars = rest.char_indices();
        let mut ok = true;
        let mut end = i;
        for want in &folded {
            match chars.next() {
                Some((j, c)) if fold(c) == *want => end = i + j + c.len_utf8(),
                _ => {
                    ok = false;
                    break;
                }
            }
        }
        if ok {
            n += 1;
            i = end;
        } else {
            i += rest.chars().next().map_or(1, char::len_utf8);
        }
    }
    n
}

fn bench_find_all(c: &mut Criterion) {
    let (st, bytes) = store();
    let view = st.view(Selection::All);
    let lines: Vec<&str> = (view.first()..view.end())
        .filter_map(|i| view.get(i).map(|l| l.text()))
        .collect();
    let mut g = c.benchmark_group("find_all");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.sample_size(20);
    for (name, query) in [
        ("sensitive_rare", "Timeout"),
        ("insensitive_rare", "timeout"),
        ("insensitive_frequent", "status"),
    ] {
        let sensitive = query.chars().any(char::is_uppercase);
        g.bench_function(format!("{name}/before"), |b| {
            b.iter(|| {
                let n: usize = lines
                    .iter()
                    .map(|l| find_all_before(l, query, sensitive))
                    .sum();
                black_box(n)
            })
        });
        let pattern = Pattern::new(query, sensitive);
        g.bench_function(format!("{name}/after"), |b| {
            b.iter(|| {
                let n: usize = lines.iter().map(|l| pattern.find_all(l).len()).sum();
                black_box(n)
            })
        });
        let before: usize = lines
            .iter()
            .map(|l| find_all_before(l, query, sensitive))
            .sum();
        let after: usize = lines.iter().map(|l| pattern.find_all(l).len()).sum();
        assert_eq!(before, after, "{name}: the same matches");
    }
    g.finish();
}

/// The full match count as the TUI reaches it: slices of `DEFAULT_BUDGET` bytes, one per tick.
/// Before issue 15 the runtime took one slice per tick (100 ms while a run runs, 500 ms after),
/// so the count needed `slices` ticks; now it takes the next slice at once while the scan is
/// pending, and the count takes the scan's own time. Printed once (slices and scan time), then
/// measured.
fn bench_full_count(c: &mut Criterion) {
    let (st, bytes) = store();
    let mut g = c.benchmark_group("full_count");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.sample_size(10);
    for (name, query, regex) in [
        ("substring_rare", "timeout", false),
        ("regex_rare", r"Timeout after \d+s", true),
        ("regex_frequent", r"status=[45]\d\d", true),
    ] {
        let mut s = Search::new();
        s.set_pattern(query, regex, Selection::All).expect("valid");
        let t0 = std::time::Instant::now();
        let mut slices = 1;
        while !s.step(st.view(Selection::All)) {
            slices += 1;
        }
        let scan = t0.elapsed();
        eprintln!(
            "full_count/{name}: {} matches in {slices} slices of {} MiB; scan {scan:?}; \
             before (a slice per tick): {:?} while running, {:?} after the run",
            s.count(),
            wfop::ui::tui::search::DEFAULT_BUDGET >> 20,
            scan + Duration::from_millis(100) * (slices - 1),
            scan + Duration::from_millis(500) * (slices - 1),
        );
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut s = Search::new();
                s.set_pattern(query, regex, Selection::All).expect("valid");
                while !s.step(st.view(Selection::All)) {}
                black_box(s.count())
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench, bench_find_all, bench_full_count);
criterion_main!(benches);
