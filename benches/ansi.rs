//! The ANSI tokenizer (`ui::tui::ansi::AnsiParser`) against `anstyle-parse` (the vte state
//! machine, as clap uses it) on 16 MiB of coloured log output: the evaluation behind the
//! decision in docs/tui.md ("The ANSI tokenizer"). Both sides turn the bytes into characters
//! and SGR styles; the anstyle-parse side only collects the SGR parameters (the mapping to a
//! style, which ours includes, would come on top).
//!
//! `cargo bench --bench ansi`.

use std::hint::black_box;

use anstyle_parse::{Params, Parser, Perform};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use wfop::ui::tui::ansi::{Action, AnsiParser};

/// 16 MiB of log lines: SGR colours around words (16, 256 and true colour), some OSC 8
/// hyperlinks and cursor movements, UTF-8 text.
fn input() -> Vec<u8> {
    let parts: [&[u8]; 10] = [
        b"2026-12-01T21:07:00Z ",
        b"\x1b[32mINFO\x1b[0m ",
        b"request handled in 12ms ",
        b"\x1b[1;38;5;208mWARN\x1b[22;39m ",
        b"\x1b[38;2;255;100;0mretrying\x1b[m ",
        "caf\u{e9} \u{65e5}\u{672c} ".as_bytes(),
        b"\x1b]8;;https://example.com/trace/4711\x1b\\trace\x1b]8;;\x1b\\ ",
        b"\x1b[2K\x1b[1G",
        b"status=200 bytes=5120 ",
        b"\n",
    ];
    let mut out = Vec::with_capacity(16 << 20);
    let mut i = 0usize;
    while out.len() < 16 << 20 {
        out.extend_from_slice(parts[i % parts.len()]);
        i = i.wrapping_mul(31).wrapping_add(7) % 1009;
    }
    out
}

#[derive(Default)]
struct Count {
    chars: usize,
    sgr_params: usize,
}

impl Perform for Count {
    fn print(&mut self, _c: char) {
        self.chars += 1;
    }
    fn execute(&mut self, _byte: u8) {
        self.chars += 1;
    }
    fn csi_dispatch(&mut self, params: &Params, intermediates: &[u8], ignore: bool, action: u8) {
        if action == b'm' && intermediates.is_empty() && !ignore {
            self.sgr_params += params.iter().map(<[u16]>::len).sum::<usize>();
        }
    }
}

fn bench(c: &mut Criterion) {
    let data = input();
    let mut g = c.benchmark_group("ansi");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.sample_size(20);
    g.bench_function("wfop_ansi_parser", |b| {
        b.iter(|| {
            let mut p = AnsiParser::new();
            let (mut chars, mut styles) = (0usize, 0usize);
            p.feed(&data, &mut |a| match a {
                Action::Style(_) => styles += 1,
                _ => chars += 1,
            });
            black_box((chars, styles))
        })
    });
    g.bench_function("anstyle_parse", |b| {
        b.iter(|| {
            let mut p = Parser::<anstyle_parse::DefaultCharAccumulator>::new();
            let mut count = Count::default();
            for &byte in &data {
                p.advance(&mut count, byte);
            }
            black_box((count.chars, count.sgr_params))
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
