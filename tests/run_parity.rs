//! The parity table (issue 13 §2): wfop's built-in runtime (the shim's emulation of
//! `qhub-commons`) against the platform's real one. Every case of `tests/parity/cases.json`
//! runs through `wfop run` handed over to `qhub-commons` 1.2.x (a virtualenv with
//! [`QHUB_COMMONS`]) and emulated (a virtualenv with only pydantic, the same version; and,
//! unless the case needs pydantic, one without it), and every way must agree on the node's
//! status, exit code, reason, result, problem document, error code, extra output files kept
//! in the record (names and contents), and the notes and warnings on its stderr. The real runtime's outcome must also be what the case's `expect`
//! says (the platform's behaviour, written down; docs/service-protocol.md).
//!
//! Virtualenvs come from PyPI (made once, shared: `run_support::venv`); without a registry the
//! test skips, saying so (a failure under `WFOP_TEST_STRICT`, which CI sets).

mod run_support;

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use run_support::*;
use serde_json::{Value, json};

fn parity_dir() -> PathBuf {
    root().join("tests/parity")
}

/// What one run of a case gave, as compared between the runtimes.
#[derive(Debug, PartialEq)]
struct Observed {
    status: String,
    exit_code: Value,
    reason: Value,
    result: Value,
    problem: Value,
    error_code: Value,
    /// wfop's notes (`wfop: …`, but the hand-over line) and the runtime's WARNING and ERROR
    /// log lines as `LEVEL message` (without loguru's time and source location).
    lines: Vec<String>,
    /// The extra output files kept in the record: name and content.
    files: Vec<(String, Vec<u8>)>,
}

/// `2026-01-02 03:04:05.678 | WARNING  | where:function:12 - message` → `WARNING message`.
fn log_line(line: &str) -> Option<String> {
    let (stamp, rest) = line.split_once(" | ")?;
    if stamp.len() != 23 || !stamp.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let (level, rest) = rest.split_once(" | ")?;
    let level = level.trim();
    let (_, message) = rest.split_once(" - ").unwrap_or((rest, ""));
    ["WARNING", "ERROR", "CRITICAL"]
        .contains(&level)
        .then(|| format!("{level} {message}").trim_end().to_string())
}

/// The stderr lines of the node's record log that the runtimes must agree on.
fn compared_lines(log: &str) -> Vec<String> {
    log.lines()
        .filter_map(|l| {
            let (_, rest) = l.split_once(' ')?;
            rest.strip_prefix("stderr ")
        })
        .filter_map(|l| {
            if let Some(note) = l.strip_prefix("wfop: ") {
                (!note.starts_with("handing over to ")).then(|| l.to_string())
            } else {
                log_line(l)
            }
        })
        .collect()
}

/// `$secrets` rows name workflow secrets `s_<param>`, read from `WFOP_PARITY_<param>`.
fn run_case(case: &Value, python: &Path) -> Result<Observed, String> {
    let dir = Case::new();
    let module = parity_dir().join(case["module"].as_str().unwrap_or("services.py"));
    let input = case["input"].as_object().cloned().unwrap_or_default();
    let secrets = case["secrets"].as_object().cloned().unwrap_or_default();
    let mut node = json!({
        "id": "svc", "type": "service",
        "run": { "python": module, "function": case["function"], "interpreter": python },
    });
    let mut args: Vec<String> = Vec::new();
    let mut envs: Vec<(String, String)> = Vec::new();
    if !secrets.is_empty() {
        let mut rows: Vec<Value> = input
            .keys()
            .map(|k| json!({ "name": k, "value": k }))
            .collect();
        let binding: Vec<String> = secrets
            .keys()
            .map(|p| format!("\"{p}\": secret_value(\"s_{p}\")"))
            .collect();
        rows.push(json!({ "name": "$secrets", "value": format!("{{ {} }}", binding.join(", ")) }));
        node["input_mapping"] = Value::Array(rows);
        node["secrets"] = json!(secrets.keys().collect::<Vec<_>>());
        for (p, v) in &secrets {
            args.push("--secret".into());
            args.push(format!("s_{p}=env:WFOP_PARITY_{p}"));
            envs.push((format!("WFOP_PARITY_{p}"), v.as_str().unwrap_or("").into()));
        }
    }
    if case["datapool"] == json!(true) {
        envs.push((
            "DATAPOOL_DIRECTORY".into(),
            parity_dir().join("datapool").display().to_string(),
        ));
    }
    let names: Vec<String> = secrets.keys().map(|p| format!("s_{p}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let wf = dir.workflow(json!([node]), &[], &names);
    let input_file = dir.write("input.json", &Value::Object(input).to_string());
    let mut all = vec![
        "run".to_string(),
        wf.display().to_string(),
        "--plain".into(),
        "--input".into(),
        input_file.display().to_string(),
    ];
    all.extend(args);
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    let envs: Vec<(&str, &str)> = envs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let out = dir.wfop(&all, &envs);
    if !dir.state().join("runs").is_dir() {
        return Err(format!(
            "wfop made no run\n{}\n{}",
            text(&out.stdout),
            text(&out.stderr)
        ));
    }
    let run = dir.run_json();
    let n = node_of(&run, "svc").ok_or_else(|| {
        format!(
            "no node svc in run.json\n{}\n{}",
            text(&out.stdout),
            text(&out.stderr)
        )
    })?;
    let log = std::fs::read_to_string(dir.run_dir().join("svc.log")).unwrap_or_default();
    let files = n["files"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| {
            let content = f["path"]
                .as_str()
                .and_then(|p| std::fs::read(dir.run_dir().join(p)).ok())
                .unwrap_or_default();
            (f["name"].as_str().unwrap_or("").to_string(), content)
        })
        .collect();
    Ok(Observed {
        status: n["status"].as_str().unwrap_or("").to_string(),
        exit_code: n["exit_code"].clone(),
        reason: match &n["reason"] {
            Value::String(r) => Value::String(private_folder_named(r)),
            other => other.clone(),
        },
        result: n["result"].clone(),
        problem: n.get("problem").cloned().unwrap_or(Value::Null),
        error_code: n.get("error_code").cloned().unwrap_or(Value::Null),
        lines: compared_lines(&log)
            .iter()
            .map(|l| private_folder_named(l))
            .collect(),
        files,
    })
}

/// The service's private folder (`…/wfop-XXXXXX/`, a new name each run) named the same in
/// every run, so the runtimes' messages about paths in it (a data pool's) compare.
fn private_folder_named(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("/wfop-") {
        let tail = &rest[i + 6..];
        let name: String = tail
            .chars()
            .take_while(char::is_ascii_alphanumeric)
            .collect();
        out.push_str(&rest[..i]);
        if name.len() == 6 && tail[6..].starts_with('/') {
            out.push_str("/wfop-PRIVATE");
            rest = &tail[6..];
        } else {
            out.push_str("/wfop-");
            rest = tail;
        }
    }
    out.push_str(rest);
    out
}

fn node_of<'a>(run: &'a Value, id: &str) -> Option<&'a Value> {
    run["nodes"].as_array()?.iter().find(|n| n["id"] == id)
}

/// The ways the real runtime's outcome differs from the case's `expect`.
fn unexpected(expect: &Value, real: &Observed) -> Vec<String> {
    let mut bad = Vec::new();
    let status = expect["status"].as_str().unwrap_or("succeeded");
    if real.status != status {
        bad.push(format!("status {} (expected {status})", real.status));
    }
    for key in ["result", "reason", "problem", "error_code"] {
        let Some(want) = expect.get(key) else {
            continue;
        };
        let got = match key {
            "result" => &real.result,
            "reason" => &real.reason,
            "problem" => &real.problem,
            _ => &real.error_code,
        };
        if got != want {
            bad.push(format!("{key} {got} (expected {want})"));
        }
    }
    if let Some(start) = expect["reason_starts"].as_str()
        && !real.reason.as_str().is_some_and(|r| r.starts_with(start))
    {
        bad.push(format!(
            "reason {} (expected to start {start:?})",
            real.reason
        ));
    }
    let notes: Vec<&String> = real
        .lines
        .iter()
        .filter(|l| l.starts_with("wfop: "))
        .collect();
    if let Some(want) = expect["notes"].as_array() {
        if want.is_empty() && !notes.is_empty() {
            bad.push(format!("notes {notes:?} (expected none)"));
        }
        for w in want.iter().filter_map(Value::as_str) {
            if !notes.iter().any(|n| n.contains(w)) {
                bad.push(format!("no note with {w:?} in {notes:?}"));
            }
        }
    }
    if let Some(want) = expect["files"].as_array() {
        let got: Vec<&str> = real.files.iter().map(|(n, _)| n.as_str()).collect();
        let want: Vec<&str> = want.iter().filter_map(Value::as_str).collect();
        if got != want {
            bad.push(format!("files {got:?} (expected {want:?})"));
        }
    }
    for (name, want) in expect["file_text"].as_object().into_iter().flatten() {
        let got = real
            .files
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, c)| text(c));
        if got.as_deref() != want.as_str() {
            bad.push(format!("file {name}: {got:?} (expected {want})"));
        }
    }
    for w in expect["warnings"].as_array().into_iter().flatten() {
        let w = w.as_str().unwrap_or("");
        if !real.lines.iter().any(|l| l.starts_with(w)) {
            bad.push(format!("no line starting {w:?} in {:?}", real.lines));
        }
    }
    bad
}

#[test]
fn the_built_in_runtime_agrees_with_qhub_commons_case_by_case() {
    let Some(real) = venv(&[QHUB_COMMONS]) else {
        return;
    };
    let real_python = real.join("bin/python");
    let version = std::process::Command::new(&real_python)
        .args(["-c", "import pydantic; print(pydantic.VERSION)"])
        .output()
        .expect("the real runtime's python runs");
    let version = text(&version.stdout).trim().to_string();
    assert!(
        !version.is_empty(),
        "pydantic's version in the qhub-commons venv"
    );
    let pydantic = format!("pydantic=={version}");
    let Some(with_pydantic) = venv(&[pydantic.as_str()]) else {
        return;
    };
    let Some(plain) = venv(&[]) else {
        return;
    };
    let modes = [
        ("qhub-commons", real_python),
        ("emulation+pydantic", with_pydantic.join("bin/python")),
        ("emulation", plain.join("bin/python")),
    ];
    // Not even pydantic in the plain one (else it would not test the stand-ins).
    let has = std::process::Command::new(&modes[2].1)
        .args(["-c", "import pydantic"])
        .output()
        .expect("the plain venv's python runs");
    assert!(!has.status.success(), "the plain venv has no pydantic");

    let cases: Vec<Value> = serde_json::from_slice(
        &std::fs::read(parity_dir().join("cases.json")).expect("tests/parity/cases.json"),
    )
    .expect("cases.json is JSON");
    assert!(cases.len() >= 60, "the table has its cases");

    let next = AtomicUsize::new(0);
    let rows: Mutex<Vec<(usize, String, Vec<String>)>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..3 {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(case) = cases.get(i) else { break };
                    let name = case["case"].as_str().unwrap_or("?").to_string();
                    let mut problems = Vec::new();
                    let reference = match run_case(case, &modes[0].1) {
                        Ok(o) => o,
                        Err(e) => {
                            rows.lock().unwrap().push((i, name, vec![e]));
                            continue;
                        }
                    };
                    problems.extend(
                        unexpected(&case["expect"], &reference)
                            .into_iter()
                            .map(|p| format!("{}: {p}", modes[0].0)),
                    );
                    let needs_pydantic = case["pydantic"] == json!(true);
                    for (mode, python) in &modes[1..] {
                        if needs_pydantic && *mode == "emulation" {
                            continue;
                        }
                        match run_case(case, python) {
                            Ok(o) if o == reference => {}
                            Ok(o) => problems.push(format!(
                                "{mode} differs:\n      real: {reference:?}\n      {mode}: {o:?}"
                            )),
                            Err(e) => problems.push(format!("{mode}: {e}")),
                        }
                    }
                    rows.lock().unwrap().push((i, name, problems));
                }
            });
        }
    });
    let mut rows = rows.into_inner().unwrap();
    rows.sort_by_key(|r| r.0);
    let mut report = String::new();
    let mut failed = 0;
    for (i, name, problems) in &rows {
        let mark = if problems.is_empty() {
            "agree"
        } else {
            "DIFFER"
        };
        report.push_str(&format!("{:>3} {mark:<6} {name}\n", i + 1));
        for p in problems {
            report.push_str(&format!("      {p}\n"));
        }
        failed += usize::from(!problems.is_empty());
    }
    println!("{report}");
    assert_eq!(rows.len(), cases.len(), "every case ran");
    assert_eq!(
        failed,
        0,
        "{failed} of {} cases differ:\n{report}",
        cases.len()
    );
}

#[test]
fn log_lines_are_compared_without_time_and_place() {
    assert_eq!(
        log_line(
            "2026-12-02 04:15:00.050 | WARNING  | qhub.commons.runtime.error:write:98 - Over - x"
        )
        .as_deref(),
        Some("WARNING Over - x")
    );
    assert_eq!(
        log_line("2026-12-02 04:15:00.050 | ERROR    | wfop.runtime:emulated - ").as_deref(),
        Some("ERROR")
    );
    assert_eq!(
        log_line("2026-12-02 04:15:00.050 | DEBUG    | a:b:1 - Input files: []"),
        None
    );
    assert_eq!(log_line("a | b | c - d"), None);
    let log = "2026-12-02T04:15:00.050Z stderr wfop: handing over to qhub.commons\n\
               2026-12-02T04:15:00.050Z stderr wfop: parameter 'x' is a str: …\n\
               2026-12-02T04:15:00.050Z stdout wfop: printed by the service\n\
               2026-12-02T04:15:00.050Z stderr Traceback (most recent call last):\n";
    assert_eq!(
        compared_lines(log),
        vec!["wfop: parameter 'x' is a str: …".to_string()]
    );
}
