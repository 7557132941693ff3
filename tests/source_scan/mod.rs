//! Reading wfop's own source in tests that guard the house's rules (terminal writers, layers):
//! test-only code removed, brackets matched past strings, every `.rs` file under a folder.

#![allow(dead_code)] // each test file uses its own part of it

use std::path::{Path, PathBuf};

/// The source without `#[cfg(test)] mod … { … }` blocks (comments and strings kept).
pub fn without_tests(src: &str) -> String {
    // `#[cfg(test)]` and `#[cfg(all(test, …))]` both open a test-only item.
    let next = |s: &str| -> Option<(usize, usize)> {
        ["#[cfg(test)]", "#[cfg(all(test"]
            .iter()
            .filter_map(|m| s.find(m).map(|i| (i, m.len())))
            .min()
    };
    let mut out = String::new();
    let mut rest = src;
    while let Some((i, len)) = next(rest) {
        out.push_str(&rest[..i]);
        let after = &rest[i..];
        match after.find('{') {
            Some(open) if after[..open].contains("mod ") => {
                let end = matching(after, open).unwrap_or(after.len() - 1);
                rest = &after[end + 1..];
            }
            _ => {
                out.push_str(&after[..len]);
                rest = &after[len..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The index of the bracket closing the one at `open`, skipping strings and chars.
pub fn matching(s: &str, open: usize) -> Option<usize> {
    let b = s.as_bytes();
    let (o, c) = match b[open] {
        b'(' => (b'(', b')'),
        b'{' => (b'{', b'}'),
        _ => (b'[', b']'),
    };
    let mut depth = 0;
    let mut i = open;
    while i < b.len() {
        match b[i] {
            b'"' => i = end_of_string(b, i),
            b'\'' if i + 2 < b.len() && (b[i + 2] == b'\'' || b[i + 1] == b'\\') => {
                i = i + 1 + b[i + 1..].iter().position(|&x| x == b'\'').unwrap_or(0);
            }
            x if x == o => depth += 1,
            x if x == c => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

pub fn end_of_string(b: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => return i,
            _ => i += 1,
        }
    }
    i
}

pub fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("read src").flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}
