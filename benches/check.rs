//! Checking and laying out a large workflow: a generated 1 000- and 10 000-node graph with forks,
//! joins, mappings and secrets, through the same path as `wfop check` and `wfop graph`; and the same
//! workflow as BPMN: `wfop export --bpmn`, and `wfop check` of the exported file with its
//! binding file.

use std::fmt::Write;

use criterion::{Criterion, criterion_group, criterion_main};
use wfop::diag::SourceFile;
use wfop::ui::graph::{Charset, workflow_graph_text};
use wfop::workflow::bpmn::write;
use wfop::workflow::{LoadOptions, check_source, check_source_with};

/// A deterministic layered workflow: `services` service nodes in layers of up to `width`,
/// each fed by one or two nodes of the layer before, every node on a path from start to end.
fn generate(services: usize, width: usize) -> String {
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut rand = move |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    let layers: Vec<Vec<usize>> = (0..services)
        .collect::<Vec<_>>()
        .chunks(width)
        .map(<[usize]>::to_vec)
        .collect();
    let mut edges: Vec<(String, String)> = Vec::new();
    let mut has_succ = vec![false; services];
    for (k, layer) in layers.iter().enumerate() {
        for &s in layer {
            if k == 0 {
                edges.push(("start".into(), format!("s{s}")));
                continue;
            }
            let prev = &layers[k - 1];
            let a = prev[rand(prev.len())];
            let b = prev[rand(prev.len())];
            for p in if a == b { vec![a] } else { vec![a, b] } {
                edges.push((format!("s{p}"), format!("s{s}")));
                has_succ[p] = true;
            }
        }
    }
    for (k, layer) in layers.iter().enumerate() {
        for &s in layer {
            if !has_succ[s] {
                let to = match layers.get(k + 1) {
                    Some(next) => format!("s{}", next[rand(next.len())]),
                    None => "end".into(),
                };
                edges.push((format!("s{s}"), to));
            }
        }
    }
    let mut out = String::from(
        "{\n  \"name\": \"generated\",\n  \"inputs\": { \"seed_data\": {} },\n  \"secrets\": { \"api_token\": { \"description\": \"token\" } },\n  \"nodes\": [\n    { \"id\": \"start\", \"type\": \"start\" },\n",
    );
    for s in 0..services {
        let secret = if s % 10 == 0 {
            ", \"secrets\": [\"token\"]"
        } else {
            ""
        };
        let _ = write!(
            out,
            "    {{ \"id\": \"s{s}\", \"type\": \"service\", \"label\": \"Service {s}\"{secret},\n      \"run\": {{ \"command\": [\"sh\", \"-c\", \"echo {s}\"] }},\n      \"input_mapping\": [ {{ \"name\": \"data\", \"value\": \"{{ a: seed_data.items[1], b: count(seed_data.items) + {s}, c: string(a) }}\" }}"
        );
        if !secret.is_empty() {
            out.push_str(", { \"name\": \"$secrets\", \"value\": \"{ \\\"token\\\": secret_value(\\\"api_token\\\") }\" }");
        }
        let _ = writeln!(
            out,
            " ],\n      \"output_mapping\": [ {{ \"name\": \"out_{s}\", \"value\": \"result.value\" }} ], \"timeout\": \"30s\" }},"
        );
    }
    out.push_str("    { \"id\": \"end\", \"type\": \"end\" }\n  ],\n  \"edges\": [\n");
    let edges: Vec<String> = edges
        .iter()
        .map(|(a, b)| format!("    {{ \"from\": \"{a}\", \"to\": \"{b}\" }}"))
        .collect();
    out.push_str(&edges.join(",\n"));
    out.push_str("\n  ]\n}\n");
    out
}

fn bench(c: &mut Criterion) {
    // Issue 16 §5: the same generator at 10 000 services (target: check + layout + render
    // under 200 ms).
    for services in [1000, 10_000] {
        let text = generate(services, 40);
        let checked = check_source(SourceFile::from_text("generated.json", &text));
        assert_eq!(checked.errors(), 0, "{}", checked.render(false));
        let wf = checked.workflow().expect("clean");
        eprintln!(
            "generated workflow: {} nodes, {} edges, {} bytes",
            wf.nodes.len(),
            wf.edges.len(),
            text.len()
        );
        let mut group = c.benchmark_group(format!("workflow-{services}"));
        group.sample_size(if services > 1000 { 10 } else { 20 });
        group.bench_function("check", |b| {
            b.iter(|| check_source(SourceFile::from_text("generated.json", &text)))
        });
        group.bench_function("layout+render", |b| {
            b.iter(|| workflow_graph_text(wf, Charset::Unicode))
        });
        group.bench_function("check+layout+render", |b| {
            b.iter(|| {
                let checked = check_source(SourceFile::from_text("generated.json", &text));
                workflow_graph_text(checked.workflow().expect("clean"), Charset::Unicode)
            })
        });
        group.finish();
    }

    let text = generate(1000, 40);
    let checked = check_source(SourceFile::from_text("generated.json", &text));
    let wf = checked.workflow().expect("clean");

    // The same workflow as BPMN, read back with its binding file (from a temporary folder).
    let bpmn = write::export(wf).expect("exports");
    let dir = tempfile::tempdir().expect("tempdir");
    let services = dir.path().join("generated.services.json");
    std::fs::write(&services, write::bindings(wf, &services)).expect("bindings");
    let options = LoadOptions {
        process: None,
        services: Some(services),
    };
    let path = dir.path().join("generated.bpmn");
    let read = || {
        check_source_with(
            SourceFile::from_text(path.to_str().unwrap(), &bpmn),
            &options,
        )
    };
    let checked = read();
    assert_eq!(checked.errors(), 0, "{}", checked.render(false));
    eprintln!("as BPMN: {} bytes", bpmn.len());
    let mut group = c.benchmark_group("workflow-1000-bpmn");
    group.sample_size(20);
    group.bench_function("export", |b| b.iter(|| write::export(wf)));
    group.bench_function("check", |b| b.iter(read));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
