//! The fuzz driver shared by `tests/fuzz_*.rs`: proptest strategies run through one runner with
//! a case count (small in `cargo test`, large with `--ignored`) and an optional time budget.
//!
//! * default `cargo test`: each target runs a few hundred cases (`smoke`), CI stays fast;
//! * `FUZZ_CASES=200000 cargo test --release --test fuzz_expr -- --ignored --nocapture`:
//!   the long run (`long`); `FUZZ_SECONDS=300` stops it after that many seconds instead;
//!   `FUZZ_SEED=N` replays a run. A failure prints the shrunk input; keep it as a named test.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use proptest::strategy::Strategy;
use proptest::test_runner::{
    Config, FileFailurePersistence, RngSeed, TestCaseError, TestError, TestRunner,
};

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

/// A few hundred cases: what the normal `cargo test` run does.
pub fn smoke<S: Strategy>(
    name: &str,
    cases: u32,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) where
    S::Value: std::fmt::Debug,
{
    drive(name, u64::from(cases), None, strategy, test);
}

/// The long run: `FUZZ_CASES` cases (default 100 000), or until `FUZZ_SECONDS` have passed.
pub fn long<S: Strategy>(
    name: &str,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) where
    S::Value: std::fmt::Debug,
{
    let seconds = env_u64("FUZZ_SECONDS").map(Duration::from_secs);
    let cases = env_u64("FUZZ_CASES").unwrap_or(if seconds.is_some() { u64::MAX } else { 100_000 });
    drive(name, cases, seconds, strategy, test);
}

fn drive<S: Strategy>(
    name: &str,
    cases: u64,
    budget: Option<Duration>,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) where
    S::Value: std::fmt::Debug,
{
    let t0 = Instant::now();
    let base_seed = env_u64("FUZZ_SEED").unwrap_or_else(|| {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        t ^ u64::from(std::process::id()).rotate_left(32)
    });
    let mut done: u64 = 0;
    let mut batch_no: u64 = 0;
    // Batches of at most 5 000 cases, so a time budget is checked often.
    while done < cases && budget.is_none_or(|b| t0.elapsed() < b) {
        let n = (cases - done).min(5_000) as u32;
        let seed = base_seed.wrapping_add(batch_no);
        let config = Config {
            cases: n,
            rng_seed: RngSeed::Fixed(seed),
            failure_persistence: Some(Box::new(FileFailurePersistence::Off)),
            max_shrink_iters: 4096,
            ..Config::default()
        };
        let mut runner = TestRunner::new(config);
        match runner.run(&strategy, &test) {
            Ok(()) => {}
            Err(TestError::Fail(why, value)) => panic!(
                "fuzz {name}: failed after {done}+ cases (batch seed {seed}): {why}\nminimal input: {value:#?}"
            ),
            Err(TestError::Abort(why)) => panic!("fuzz {name}: aborted: {why}"),
        }
        done += u64::from(n);
        batch_no += 1;
    }
    eprintln!(
        "fuzz {name}: {done} cases in {:.1}s, no failure (seed {base_seed})",
        t0.elapsed().as_secs_f64()
    );
}

/// A byte-level mutation of a text.
#[derive(Debug, Clone)]
pub enum Mutation {
    Delete { at: usize, len: usize },
    Insert { at: usize, bytes: Vec<u8> },
    Replace { at: usize, byte: u8 },
    Duplicate { at: usize, len: usize, to: usize },
    Truncate { at: usize },
}

/// Mutations that favour the bytes of the format at hand (`tokens`) over random noise.
pub fn mutations(tokens: &'static [&'static str]) -> impl Strategy<Value = Vec<Mutation>> {
    use proptest::prelude::*;
    let token_bytes = prop::sample::select(tokens).prop_map(|t| t.as_bytes().to_vec());
    let insert_bytes = prop_oneof![
        3 => token_bytes,
        1 => prop::collection::vec(any::<u8>(), 1..8),
    ];
    let one = prop_oneof![
        3 => (any::<usize>(), 1usize..16).prop_map(|(at, len)| Mutation::Delete { at, len }),
        4 => (any::<usize>(), insert_bytes).prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
        2 => (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Replace { at, byte }),
        1 => (any::<usize>(), 1usize..200, any::<usize>())
            .prop_map(|(at, len, to)| Mutation::Duplicate { at, len, to }),
        1 => any::<usize>().prop_map(|at| Mutation::Truncate { at }),
    ];
    prop::collection::vec(one, 1..6)
}

/// Applies mutations to `text`, keeping the result valid UTF-8 (invalid bytes become U+FFFD,
/// which loaders see as text; the bytes themselves are fuzzed by the arbitrary-bytes targets).
pub fn apply(text: &str, muts: &[Mutation]) -> String {
    let mut b = text.as_bytes().to_vec();
    for m in muts {
        let len = b.len();
        match m {
            Mutation::Delete { at, len: n } if len > 0 => {
                let at = at % len;
                let end = (at + n).min(len);
                b.drain(at..end);
            }
            Mutation::Insert { at, bytes } => {
                let at = at % (len + 1);
                b.splice(at..at, bytes.iter().copied());
            }
            Mutation::Replace { at, byte } if len > 0 => b[at % len] = *byte,
            Mutation::Duplicate { at, len: n, to } if len > 0 => {
                let at = at % len;
                let piece = b[at..(at + n).min(len)].to_vec();
                let to = to % (len + 1);
                b.splice(to..to, piece);
            }
            Mutation::Truncate { at } => b.truncate(at % (len + 1)),
            _ => {}
        }
    }
    String::from_utf8_lossy(&b).into_owned()
}

/// Byte offset → 1-based (line, column in characters).
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, text[start..offset].chars().count() + 1)
}

/// Every finding's spans lie inside its file (`text`) on character boundaries, and it says
/// something; the rendering shows the first finding of the file as `name:line:col`.
pub fn findings_are_sound<'a>(
    name: &str,
    text: &str,
    findings: impl IntoIterator<Item = (&'a str, &'a wfop::diag::Diagnostic)>,
    first: Option<&wfop::diag::Diagnostic>,
    rendered: &str,
) -> Result<(), TestCaseError> {
    for (file, d) in findings {
        let spans = std::iter::once(&d.primary.0).chain(d.secondary.iter().map(|(s, _)| s));
        for s in spans {
            proptest::prop_assert!(
                s.start <= s.end && s.end <= file.len(),
                "span {s:?} outside a file of {} bytes: {}",
                file.len(),
                d.message
            );
            proptest::prop_assert!(
                file.is_char_boundary(s.start) && file.is_char_boundary(s.end),
                "span {s:?} not on character boundaries: {}",
                d.message
            );
        }
        proptest::prop_assert!(!d.message.is_empty());
    }
    if let Some(d) = first {
        let (line, col) = line_col(text, d.primary.0.start);
        let want = format!("{name}:{line}:{col}");
        proptest::prop_assert!(
            rendered.contains(&want),
            "rendered diagnostics do not show {want}:\n{rendered}"
        );
    }
    Ok(())
}
