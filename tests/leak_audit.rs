//! The whole-product secret-leak audit. Both bundled workflows and a deliberately leaky
//! workflow run in every front-end mode; every byte they produce is searched for every secret
//! and every derived needle, built here independently of the redactor: zero hits.
//!
//! Searched: wfop's stdout and stderr; every file of the run record; `wfop runs` and
//! `wfop logs RUN` output; and what a bystander service (one that did not ask for any secret)
//! saw while the leaky service ran: every process's `/proc/<pid>/cmdline` and its own
//! `/proc/self/environ`.
//!
//! Modes: `--plain`, `--json`, and the TUI in a pseudo-terminal (`tests/pty_driver.py`): every
//! byte written to the terminal is kept, and the log pane is saved with the TUI's `s` key into
//! the case folder, so the saved file is searched as well.

mod run_support;

use std::process::Stdio;
use std::time::{Duration, Instant};

use run_support::*;
use serde_json::json;

#[derive(Debug, Clone, Copy)]
enum Mode {
    Plain,
    Json,
    Tui,
}

const MODES: [Mode; 3] = [Mode::Plain, Mode::Json, Mode::Tui];

/// The leaky service's secret: every byte class that encodings treat specially.
const LEAK: &str = "Lk/9+q \"x\"&y=z~é<p>'s\\end";

const STD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn b64(input: &[u8], alphabet: &[u8; 64]) -> Vec<u8> {
    let mut out = Vec::new();
    for chunk in input.chunks(3) {
        let g = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(g[0]) << 16) | (u32::from(g[1]) << 8) | u32::from(g[2]);
        for i in 0..=chunk.len() {
            out.push(alphabet[(n >> (18 - 6 * i) & 63) as usize]);
        }
    }
    out
}

fn percent(input: &[u8], keep: &[u8], plus: bool, upper: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for &b in input {
        if b.is_ascii_alphanumeric() || keep.contains(&b) {
            out.push(b);
        } else if b == b' ' && plus {
            out.push(b'+');
        } else if upper {
            out.extend_from_slice(format!("%{b:02X}").as_bytes());
        } else {
            out.extend_from_slice(format!("%{b:02x}").as_bytes());
        }
    }
    out
}

/// The secret and the forms a service is likely to print it in; base64 also as it appears
/// inside a longer encoded text (the characters that depend on the secret's bytes only, for
/// each of the three alignments).
fn needles(secret: &str) -> Vec<Vec<u8>> {
    let v = secret.as_bytes();
    let mut out = vec![v.to_vec()];
    for alphabet in [STD, URL] {
        for p in 0..3usize {
            let mut data = vec![0u8; p];
            data.extend_from_slice(v);
            let enc = b64(&data, alphabet);
            let first = (8 * p).div_ceil(6);
            let last = 8 * (p + v.len()) / 6;
            out.push(enc[first..last].to_vec());
        }
    }
    out.push(percent(v, b"-._~", false, true));
    out.push(percent(v, b"-._~", false, false));
    out.push(percent(v, b"-._~", true, true));
    out.push(percent(v, b"-._~/", false, true));
    out.push(percent(v, b"-_.!~*'()", false, true));
    let js = serde_json::to_string(secret).unwrap();
    out.push(js.as_bytes()[1..js.len() - 1].to_vec());
    let ascii: String = secret
        .chars()
        .map(|c| match c {
            '"' => "\\\"".to_string(),
            '\\' => "\\\\".to_string(),
            c if (c as u32) < 0x20 || (c as u32) >= 0x7f => format!("\\u{:04x}", c as u32),
            c => c.to_string(),
        })
        .collect();
    out.push(ascii.into_bytes());
    out.sort();
    out.dedup();
    out
}

fn hits(hay: &[u8], secrets: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for (i, s) in secrets.iter().enumerate() {
        for (k, n) in needles(s).iter().enumerate() {
            if hay.windows(n.len()).any(|w| w == n.as_slice()) {
                found.push(format!("secret #{i} form #{k}"));
            }
        }
    }
    found
}

/// Every byte a run produced, by place.
struct Produced {
    places: Vec<(String, Vec<u8>)>,
    code: Option<i32>,
}

/// The TUI in a pseudo-terminal (a private tmux server): every byte written to the pane is
/// kept, and every screen polled; once the run has ended the log pane is focused and saved with `s`, then `q` quits. Secrets reach wfop
/// through the tmux server's environment, never a command line.
fn run_tui(case: &Case, args: &[&str], envs: &[(&str, &str)]) -> Produced {
    use run_support::tmux::Tmux;
    let go = case.path().join("go");
    let bytes = case.path().join("terminal.bytes");
    let quote = |s: &str| format!("'{}'", s.replace('\'', "'\\''"));
    let mut argv: Vec<String> = vec![quote(env!("CARGO_BIN_EXE_wfop"))];
    argv.extend(args.iter().map(|a| quote(a)));
    argv.push("--state-dir".into());
    argv.push(quote(&case.state().display().to_string()));
    let exit = case.path().join("exit");
    let cmd = format!(
        "cd {}; while [ ! -e {} ]; do sleep 0.05; done; {}; echo $? > {}",
        quote(&case.path().display().to_string()),
        quote(&go.display().to_string()),
        argv.join(" "),
        quote(&exit.display().to_string())
    );
    let Some(t) = Tmux::start_with_env("leak", &cmd, 120, 40, envs) else {
        panic!("tmux is needed for the TUI leak audit (.ci/run installs it)");
    };
    t.pipe_to(&bytes);
    std::fs::write(&go, "").expect("go");
    let mut screens = Vec::new();
    // The title line says how the run ended.
    t.wait_for(&mut screens, "the run to end", |s| {
        let title = s.lines().next().unwrap_or("");
        title.contains(" succeeded in ") || title.contains(" failed in ")
    });
    t.key("Tab");
    t.key("Tab");
    t.keys("s");
    t.wait_for(&mut screens, "the log to be saved", |s| {
        s.contains("saved to")
    });
    t.keys("q");
    t.wait_dead();
    let code = std::fs::read_to_string(&exit)
        .ok()
        .and_then(|c| c.trim().parse().ok());
    screens.push(t.capture_all());
    let mut places = vec![
        (
            "Tui terminal bytes".to_string(),
            std::fs::read(&bytes).unwrap_or_default(),
        ),
        ("Tui screens".to_string(), screens.concat().into_bytes()),
    ];
    assert!(
        !places[0].1.is_empty(),
        "nothing was captured from the pane"
    );
    let saved: Vec<_> = std::fs::read_dir(case.path())
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .collect();
    assert!(!saved.is_empty(), "the TUI saved no log");
    for p in saved {
        places.push((
            format!("saved {}", p.display()),
            std::fs::read(&p).unwrap_or_default(),
        ));
    }
    for (p, b) in case.record_files() {
        places.push((p.display().to_string(), b));
    }
    Produced { places, code }
}

fn run_in_mode(mode: Mode, case: &Case, args: &[&str], envs: &[(&str, &str)]) -> Produced {
    let mut all: Vec<&str> = args.to_vec();
    match mode {
        Mode::Plain => all.push("--plain"),
        Mode::Json => all.push("--json"),
        Mode::Tui => return run_tui(case, args, envs),
    }
    let mut c = case.command(&all, envs);
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    let child = c.spawn().expect("start wfop");
    let t0 = Instant::now();
    let out = child.wait_with_output().expect("wfop output");
    assert!(t0.elapsed() < Duration::from_secs(300), "wfop hung");
    let mut places = vec![
        (format!("{mode:?} stdout"), out.stdout),
        (format!("{mode:?} stderr"), out.stderr),
    ];
    for (p, b) in case.record_files() {
        places.push((p.display().to_string(), b));
    }
    for extra in [&["runs"][..], &["logs", "last"][..]] {
        let o = case.wfop(extra, &[]);
        places.push((format!("wfop {extra:?}"), [o.stdout, o.stderr].concat()));
    }
    Produced {
        places,
        code: out.status.code(),
    }
}

fn audit(p: &Produced, secrets: &[&str]) {
    let mut bad = Vec::new();
    for (place, bytes) in &p.places {
        for h in hits(bytes, secrets) {
            bad.push(format!("{h} in {place}"));
        }
    }
    assert!(bad.is_empty(), "leaks: {bad:#?}");
}

#[test]
fn needles_are_built_right() {
    // Cross-checked with Python: base64.b64encode(b"x" + s), quote(s), json.dumps(s).
    let n = needles("abcdef");
    assert!(n.contains(&b"YWJjZGVm".to_vec()));
    assert!(n.contains(&b"hYmNkZW".to_vec())); // inside b64("x" + "abcdef") = eGFiY2RlZg==
    let n = needles(LEAK);
    assert!(n.contains(&b"Lk/9%2Bq%20%22x%22%26y%3Dz~%C3%A9%3Cp%3E%27s%5Cend".to_vec()));
    assert!(n.contains(&b"Lk/9+q \\\"x\\\"&y=z~\\u00e9<p>'s\\\\end".to_vec()));
}

/// Every bundled workflow with its input file(s), and the secrets it needs.
const BUNDLED: &[(&str, &str, &[&str])] = &[
    (
        "portfolio-risk.json",
        "portfolio-risk.input.json",
        &["ibm_api_token", "market_data_api_key"],
    ),
    (
        "quantum-secrets.json",
        "quantum-secrets.input.json",
        &["ibm_api_token"],
    ),
    // The same seed example as the platform's modeler saves it (BPMN + binding file).
    (
        "quantum-secrets.bpmn",
        "quantum-secrets.input.json",
        &["ibm_api_token"],
    ),
    // Retries, a timer loop, a gateway; and (offline) an error path.
    (
        "quantum-job.json",
        "quantum-job.input.json",
        &["ibm_api_token"],
    ),
    (
        "quantum-job.json",
        "quantum-job.offline.input.json",
        &["ibm_api_token"],
    ),
];

#[test]
fn bundled_workflows_leak_nothing_in_any_mode() {
    for mode in MODES {
        for (workflow, input, secrets) in BUNDLED {
            let case = Case::new();
            let wf = root().join("workflows").join(workflow);
            let input = root().join("workflows").join(input);
            let mut args = vec![
                "run".to_string(),
                wf.to_str().unwrap().to_string(),
                "--input".to_string(),
                input.to_str().unwrap().to_string(),
            ];
            let mut values = Vec::new();
            for name in *secrets {
                let (var, value) = match *name {
                    "ibm_api_token" => ("WFOP_TEST_IBM", IBM_KEY),
                    "market_data_api_key" => ("WFOP_TEST_MARKET", MARKET_KEY),
                    other => panic!("no test value for the secret {other}"),
                };
                args.push("--secret".into());
                args.push(format!("{name}=env:{var}"));
                values.push((var, value));
            }
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let p = run_in_mode(mode, &case, &args, &values);
            assert_eq!(
                p.code,
                Some(0),
                "{mode:?} {workflow}: {}",
                text(&p.places[0].1)
            );
            let secrets: Vec<&str> = values.iter().map(|(_, v)| *v).collect();
            audit(&p, &secrets);
        }
    }
}

const LEAKY: &str = r#"import base64, json, os, sys, time, urllib.parse
from qhub.commons.secret import SecretValue

def run(tok: SecretValue, fail: bool = False) -> dict:
    v = tok.unwrap()
    b = v.encode()
    for out in (sys.stdout, sys.stderr):
        print("raw:", v, file=out)
        print("b64:", base64.b64encode(b).decode(), base64.urlsafe_b64encode(b).decode(), file=out)
        print("shifted:", base64.b64encode(b"x" + b).decode(), base64.b64encode(b"xy" + b).decode(), file=out)
        print("url:", urllib.parse.quote(v), urllib.parse.quote_plus(v), urllib.parse.quote(v, safe=""), file=out)
        print("json:", json.dumps(v), json.dumps(v, ensure_ascii=False), json.dumps({"t": v}), file=out)
        out.flush()
        for i in range(0, len(v), 3):
            out.write(v[i:i + 3]); out.flush(); time.sleep(0.05)
        out.write("\n"); out.flush()
    if fail:
        raise RuntimeError("backend refused token " + v)
    return {"echo": v, "nested": {"b64": base64.b64encode(b).decode()}, "list": [v, json.dumps(v)]}
"#;

/// Dumps what a service without secrets can see: every process's command line, and its own
/// environment.
const BYSTANDER: &str = r#"for i in 1 2 3 4 5 6 7 8 9 10; do
  for p in /proc/[0-9]*; do cat "$p/cmdline" 2>/dev/null; echo; done >> "$SPY/cmdlines"
  sleep 0.1
done
cat /proc/self/environ > "$SPY/environ"; env > "$SPY/env""#;

#[test]
fn leaky_service_leaks_nothing_in_any_mode() {
    for mode in MODES {
        let case = Case::new();
        case.write("leaky.py", LEAKY);
        let spy = case.path().join("spy");
        std::fs::create_dir_all(&spy).unwrap();
        let secrets_row =
            json!({ "name": "$secrets", "value": "{ \"tok\": secret_value(\"leak\") }" });
        let wf = case.workflow(
            json!([
                { "id": "leaky", "type": "service", "run": { "python": "leaky.py", "function": "run" },
                  "secrets": ["tok"], "input_mapping": [ secrets_row ] },
                // The same on a pseudo-terminal (stdout and stderr one stream, ONLCR off).
                { "id": "leaky_tty", "type": "service", "tty": true,
                  "run": { "python": "leaky.py", "function": "run" },
                  "secrets": ["tok"], "input_mapping": [ secrets_row ] },
                { "id": "failing", "type": "service", "run": { "python": "leaky.py", "function": "run" },
                  "secrets": ["tok"],
                  "input_mapping": [ { "name": "fail", "value": "true" }, secrets_row ] },
                { "id": "bystander", "type": "service", "run": { "command": ["sh", "-c", BYSTANDER] } },
            ]),
            &[],
            &["leak"],
        );
        let p = run_in_mode(
            mode,
            &case,
            &[
                "run",
                wf.to_str().unwrap(),
                "--keep-going",
                "--max-parallel",
                "4",
                "--secret",
                "leak=env:WFOP_TEST_LEAK",
            ],
            &[("WFOP_TEST_LEAK", LEAK), ("SPY", spy.to_str().unwrap())],
        );
        // What the operator got: stdout, or in the TUI the terminal and the saved log.
        let stdout: String = p
            .places
            .iter()
            .filter(|(place, _)| place.ends_with("stdout") || place.starts_with("saved"))
            .map(|(_, b)| text(b))
            .collect();
        assert_eq!(p.code, Some(1), "{mode:?}: {stdout}");
        // The service did print, return and raise it: the audit is not vacuous.
        assert!(stdout.contains("raw: ***"), "{mode:?}: {stdout}");
        assert!(
            stdout.contains("backend refused token ***"),
            "{mode:?}: {stdout}"
        );
        let run = case.run_json();
        assert_eq!(node(&run, "leaky")["result"]["echo"], "***");
        assert_eq!(node(&run, "leaky_tty")["result"]["echo"], "***");
        let tty_log = std::fs::read_to_string(case.run_dir().join("leaky_tty.log")).unwrap();
        assert!(tty_log.contains("raw: ***"), "{mode:?}: {tty_log}");
        let mut places = p.places;
        for f in ["cmdlines", "environ", "env"] {
            let bytes = std::fs::read(spy.join(f)).unwrap_or_default();
            assert!(!bytes.is_empty(), "{mode:?}: the bystander wrote no {f}");
            places.push((format!("bystander's {f}"), bytes));
        }
        let env = std::fs::read_to_string(spy.join("env")).unwrap_or_default();
        assert!(
            !env.contains("WFOP_TEST_LEAK"),
            "the secret source var reached a child"
        );
        assert!(
            !env.contains("SECRET_"),
            "a SECRET_ variable reached a child that did not ask"
        );
        audit(
            &Produced {
                places,
                code: p.code,
            },
            &[LEAK],
        );
    }
}
