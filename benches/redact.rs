//! Throughput of the streaming redactor on 64 MiB of log-like text with 20 realistic secrets
//! (and all their derived needles), written in 64 KiB writes.
//!
//! `cargo bench --bench redact` runs the criterion benchmark; `cargo bench --bench redact --
//! add_secrets` only the cost of registering 200 secrets, one by one and in one batch.
//! `WFOP_BENCH_DUMP=DIR cargo bench --bench redact` instead writes the same input to
//! `DIR/input.log`, a sed script with the 20 literal secrets to `DIR/secrets.sed`, times one
//! redaction pass of that file and prints it (used by `benches/redact_vs_sed.sh`).
//! `WFOP_BENCH_SCALE=1 cargo bench --bench redact` instead prints one line per number of
//! secrets (1, 20, 200, 500; `WFOP_BENCH_COUNTS=200,500` picks others) on 128 MiB
//! (`WFOP_BENCH_MIB`) of the same kind of text, best of 3, with the copy-only stream (no
//! secret) as the reference: issue 16's "flat in the number of secrets".

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group};
use secrecy::SecretString;
use wfop::secrets::Redactor;

const INPUT_LEN: usize = 64 << 20;
const WRITE: usize = 64 << 10;

#[path = "common/rng.rs"]
mod rng;
use rng::Rng;

const ALNUM: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const UPPER_NUM: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const HEX: &str = "0123456789abcdef";
const B64: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B64URL: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// 20 secrets of the shapes a workflow operator handles.
fn secrets(rng: &mut Rng) -> Vec<(String, String)> {
    let mut pem = String::from("-----BEGIN OPENSSH PRIVATE KEY-----\n");
    for _ in 0..12 {
        pem.push_str(&rng.chars(B64, 64));
        pem.push('\n');
    }
    pem.push_str(&rng.chars(B64, 20));
    pem.push_str("==\n-----END OPENSSH PRIVATE KEY-----\n");
    let v = vec![
        ("github_token", format!("ghp_{}", rng.chars(ALNUM, 36))),
        (
            "aws_access_key_id",
            format!("AKIA{}", rng.chars(UPPER_NUM, 16)),
        ),
        ("aws_secret_access_key", rng.chars(B64, 40)),
        (
            "slack_bot_token",
            format!(
                "xoxb-{}-{}-{}",
                rng.chars("0123456789", 12),
                rng.chars("0123456789", 13),
                rng.chars(ALNUM, 24)
            ),
        ),
        ("stripe_key", format!("sk_live_{}", rng.chars(ALNUM, 24))),
        (
            "jwt",
            format!(
                "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.{}.{}",
                rng.chars(B64URL, 60),
                rng.chars(B64URL, 43)
            ),
        ),
        (
            "db_password",
            "correct horse battery staple 42!".to_string(),
        ),
        ("ibm_token", rng.chars(HEX, 128)),
        ("deploy_key", pem),
        ("db_url_password", "p@ssw0rd/with+special&chars".to_string()),
        ("api_key", rng.chars(HEX, 32)),
        (
            "service_uuid",
            format!(
                "{}-{}-4{}-a{}-{}",
                rng.chars(HEX, 8),
                rng.chars(HEX, 4),
                rng.chars(HEX, 3),
                rng.chars(HEX, 3),
                rng.chars(HEX, 12)
            ),
        ),
        ("openai_key", format!("sk-proj-{}", rng.chars(ALNUM, 48))),
        ("google_api_key", format!("AIza{}", rng.chars(B64URL, 35))),
        ("npm_token", format!("npm_{}", rng.chars(ALNUM, 36))),
        ("azure_storage_key", format!("{}==", rng.chars(B64, 86))),
        ("basic_auth", "admin:Sup3r-Secret!".to_string()),
        ("twilio_auth", rng.chars(HEX, 32)),
        ("smtp_password", "hunter2-xyz".to_string()),
        (
            "ssh_passphrase",
            "my ssh passphrase, don't tell anyone".to_string(),
        ),
    ];
    v.into_iter().map(|(n, s)| (n.to_string(), s)).collect()
}

fn b64(bytes: &[u8]) -> String {
    let a = B64.as_bytes();
    let mut out = String::new();
    for c in bytes.chunks(3) {
        let b = [c[0], *c.get(1).unwrap_or(&0), *c.get(2).unwrap_or(&0)];
        let v = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for k in 0..4 {
            out.push(if k <= c.len() {
                a[((v >> (18 - 6 * k)) & 63) as usize] as char
            } else {
                '='
            });
        }
    }
    out
}

/// Log-like lines (timestamps, levels, paths, JSON snippets), a secret in about 1 line of 500.
fn input(rng: &mut Rng, secrets: &[(String, String)]) -> Vec<u8> {
    input_of_len(rng, secrets, INPUT_LEN)
}

fn input_of_len(rng: &mut Rng, secrets: &[(String, String)], len: usize) -> Vec<u8> {
    let levels = ["INFO ", "DEBUG", "WARN ", "INFO ", "ERROR", "TRACE"];
    let nodes = [
        "orchestrated",
        "prepare-data",
        "fetch_results",
        "transpile",
        "end",
    ];
    let paths = [
        "/var/lib/wfop/runs",
        "/home/operator/workflows/ibm-quantum/services",
        "/tmp/wfop-7f3a/input",
        "/usr/lib/python3.12/site-packages/qiskit",
    ];
    let words = [
        "processed",
        "items",
        "in",
        "ms",
        "circuit",
        "transpiled",
        "depth",
        "shots",
        "backend",
        "queue",
        "position",
        "job",
        "submitted",
        "waiting",
        "for",
        "result",
        "retrying",
        "after",
        "connection",
        "reset",
        "by",
        "peer",
        "cache",
        "hit",
        "miss",
        "loaded",
        "module",
    ];
    let mut out = Vec::with_capacity(len + 4096);
    let mut line = 0u64;
    while out.len() < len {
        line += 1;
        let ms = line * 7;
        out.extend_from_slice(
            format!(
                "2025-11-28T{:02}:{:02}:{:02}.{:03}Z {} [{}] ",
                (ms / 3_600_000) % 24,
                (ms / 60_000) % 60,
                (ms / 1000) % 60,
                ms % 1000,
                rng.pick(&levels),
                rng.pick(&nodes)
            )
            .as_bytes(),
        );
        match rng.below(4) {
            0 => out.extend_from_slice(
                format!(
                    "{}/{}/{}.log: ",
                    rng.pick(&paths),
                    rng.chars(HEX, 12),
                    rng.pick(&nodes)
                )
                .as_bytes(),
            ),
            1 => out.extend_from_slice(
                format!(
                    "{{\"node\":\"{}\",\"status\":\"ok\",\"count\":{},\"elapsed_ms\":{}}} ",
                    rng.pick(&nodes),
                    rng.below(100_000),
                    rng.below(5000)
                )
                .as_bytes(),
            ),
            _ => {}
        }
        for _ in 0..4 + rng.below(10) {
            out.extend_from_slice(rng.pick(&words).as_bytes());
            out.push(b' ');
            if rng.below(5) == 0 {
                out.extend_from_slice(rng.below(1_000_000).to_string().as_bytes());
                out.push(b' ');
            }
        }
        if rng.below(500) == 0 {
            let (_, value) = &secrets[rng.below(secrets.len())];
            let value = value.trim();
            match rng.below(3) {
                0 => out.extend_from_slice(format!("token={value}").as_bytes()),
                1 => out
                    .extend_from_slice(format!("auth: Basic {}", b64(value.as_bytes())).as_bytes()),
                _ => out.extend_from_slice(
                    format!(
                        "{{\"secret\":{}}}",
                        serde_json::to_string(value).unwrap_or_default()
                    )
                    .as_bytes(),
                ),
            }
        }
        out.push(b'\n');
    }
    out.truncate(len);
    out
}

fn redactor(secrets: &[(String, String)]) -> Redactor {
    let r = Redactor::new();
    let values: Vec<(&str, SecretString)> = secrets
        .iter()
        .map(|(n, v)| (n.as_str(), SecretString::from(v.as_str())))
        .collect();
    for result in r.add_secrets(values.iter().map(|(n, v)| (*n, v))) {
        if let Err(e) = result {
            panic!("{e}");
        }
    }
    r
}

fn setup() -> (Redactor, Vec<(String, String)>, Vec<u8>) {
    let mut rng = Rng(0x5EED_CAFE_F00D_0001);
    let secrets = secrets(&mut rng);
    let r = redactor(&secrets);
    let data = input(&mut rng, &secrets);
    (r, secrets, data)
}

fn redact_stream(r: &Redactor, data: &[u8], out: &mut Vec<u8>) {
    out.clear();
    let mut s = r.stream();
    for w in data.chunks(WRITE) {
        s.push(w, out);
    }
    s.finish(out);
}

fn bench(c: &mut Criterion) {
    let (r, secrets, data) = setup();
    println!(
        "redact bench: {} secrets, {} needles (longest {} bytes), {} MiB input",
        r.secret_names().len(),
        r.needle_count(),
        r.max_needle_len(),
        data.len() >> 20
    );
    let mut out = Vec::with_capacity(data.len());
    let mut g = c.benchmark_group("redact");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.sample_size(10);
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(4));
    g.bench_function("stream_64KiB_writes", |b| {
        b.iter(|| redact_stream(&r, black_box(&data), &mut out))
    });
    // A 4-byte secret (a PIN) makes the shortest needle 4 bytes: the pre-filter then tests
    // every position instead of every 8th.
    let with_pin = redactor(&secrets);
    if let Err(e) = with_pin.add_secret("pin", &SecretString::from("4711")) {
        panic!("{e}");
    }
    g.bench_function("stream_64KiB_writes_with_4_byte_secret", |b| {
        b.iter(|| redact_stream(&with_pin, black_box(&data), &mut out))
    });
    g.finish();
}

/// 200 secrets: the 20 shapes above, ten times with fresh values.
fn many_secrets() -> Vec<(String, SecretString)> {
    let mut rng = Rng(0x5EED_CAFE_F00D_0002);
    (0..10)
        .flat_map(|round| {
            secrets(&mut rng)
                .into_iter()
                .map(move |(name, value)| (format!("{name}_{round}"), value))
        })
        .map(|(name, value)| (name, SecretString::from(value)))
        .collect()
}

/// Registering many secrets: one `add_secret` each (the automaton is built after each) against
/// one `add_secrets` for all (built once).
fn bench_add(c: &mut Criterion) {
    let secrets = many_secrets();
    let check = Redactor::new();
    let _ = check.add_secrets(secrets.iter().map(|(n, v)| (n.as_str(), v)));
    println!(
        "add_secrets bench: {} secrets, {} needles",
        secrets.len(),
        check.needle_count()
    );
    let mut g = c.benchmark_group("add_secrets");
    g.sample_size(10);
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(10));
    g.bench_function("200_one_by_one", |b| {
        b.iter(|| {
            let r = Redactor::new();
            for (name, value) in &secrets {
                if let Err(e) = r.add_secret(name, value) {
                    panic!("{e}");
                }
            }
            black_box(r)
        })
    });
    g.bench_function("200_in_one_batch", |b| {
        b.iter(|| {
            let r = Redactor::new();
            for result in r.add_secrets(secrets.iter().map(|(n, v)| (n.as_str(), v))) {
                if let Err(e) = result {
                    panic!("{e}");
                }
            }
            black_box(r)
        })
    });
    g.finish();
}

/// Escapes a literal for a sed basic regular expression.
fn sed_literal(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if "\\/.*[]^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Writes the input and a sed script, and times one redaction pass of the same input.
fn dump(dir: &str) -> std::io::Result<()> {
    let (r, secrets, data) = setup();
    let dir = std::path::Path::new(dir);
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("input.log"), &data)?;
    let mut script = String::new();
    for (_, value) in &secrets {
        // sed works line by line: a multi-line value becomes one expression per line.
        for line in value.lines().filter(|l| !l.is_empty()) {
            script.push_str(&format!("s/{}/***/g\n", sed_literal(line)));
        }
    }
    std::fs::write(dir.join("secrets.sed"), script)?;
    let mut out = Vec::with_capacity(data.len());
    let mut best = Duration::MAX;
    for _ in 0..5 {
        let t = Instant::now();
        redact_stream(&r, &data, &mut out);
        best = best.min(t.elapsed());
    }
    std::fs::write(dir.join("output.wfop.log"), &out)?;
    let mib = data.len() as f64 / (1 << 20) as f64;
    println!(
        "wfop: {} needles, {:.0} MiB in {:.3} s = {:.0} MiB/s (best of 5, 64 KiB writes, one core)",
        r.needle_count(),
        mib,
        best.as_secs_f64(),
        mib / best.as_secs_f64()
    );
    Ok(())
}

/// The first `n` secrets of the rounds of 20 shapes, every value distinct (the fixed
/// passwords of `secrets` get a random tail after the first round).
fn n_secrets(n: usize) -> Vec<(String, String)> {
    let mut rng = Rng(0x5EED_CAFE_F00D_0003);
    let mut out = Vec::new();
    let mut round = 0;
    while out.len() < n {
        for (name, value) in secrets(&mut rng) {
            let value = if round > 0 && !value.contains('\n') && value.len() < 40 {
                format!("{value}{}", rng.chars(ALNUM, 4))
            } else {
                value
            };
            out.push((format!("{name}_{round}"), value));
        }
        round += 1;
    }
    out.truncate(n);
    out
}

/// CPU time of the calling thread: on a machine shared with other jobs it leaves out the time
/// the thread waited for a core.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Best of `runs` passes, in MiB per wall-clock second and per CPU second.
fn best_mib_s(r: &Redactor, data: &[u8], out: &mut Vec<u8>, runs: usize) -> (f64, f64) {
    let (mut wall, mut cpu) = (Duration::MAX, Duration::MAX);
    for _ in 0..runs {
        let (t, c) = (Instant::now(), thread_cpu());
        redact_stream(r, black_box(data), out);
        cpu = cpu.min(thread_cpu() - c);
        wall = wall.min(t.elapsed());
    }
    let mib = data.len() as f64 / (1 << 20) as f64;
    (mib / wall.as_secs_f64(), mib / cpu.as_secs_f64())
}

/// One line per number of secrets: throughput, needles, against the copy-only stream.
fn scale() {
    let counts: Vec<usize> = std::env::var("WFOP_BENCH_COUNTS")
        .ok()
        .map(|v| v.split(',').filter_map(|c| c.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1, 20, 200, 500]);
    let mib: usize = std::env::var("WFOP_BENCH_MIB")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(128);
    let runs: usize = std::env::var("WFOP_BENCH_RUNS")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(3);
    let mut out = Vec::with_capacity((mib << 20) + 4096);
    for n in counts {
        let secrets = n_secrets(n);
        let r = redactor(&secrets);
        let mut rng = Rng(0x5EED_CAFE_F00D_0004);
        let data = input_of_len(&mut rng, &secrets, mib << 20);
        let (copy, copy_cpu) = best_mib_s(&Redactor::new(), &data, &mut out, runs);
        let (speed, speed_cpu) = best_mib_s(&r, &data, &mut out, runs);
        let redacted = out.windows(3).filter(|w| w == b"***").count();
        println!(
            "redact scale: {n:>3} secrets, {:>5} needles (longest {:>4} B), {mib} MiB: \
             {speed_cpu:>5.0} MiB/s (CPU time; wall {speed:>5.0}); copy-only stream \
             {copy_cpu:>5.0} (wall {copy:>5.0}), ratio {:.2}; {redacted} markers \
             (best of {runs}, 64 KiB writes, one core)",
            r.needle_count(),
            r.max_needle_len(),
            speed_cpu / copy_cpu,
        );
    }
}

criterion_group!(benches, bench, bench_add);

fn main() {
    if std::env::var_os("WFOP_BENCH_SCALE").is_some() {
        scale();
        return;
    }
    if let Ok(dir) = std::env::var("WFOP_BENCH_DUMP") {
        if let Err(e) = dump(&dir) {
            eprintln!("redact bench dump: {e}");
            std::process::exit(1);
        }
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
