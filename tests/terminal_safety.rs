//! Item 10 of issue 9, end to end: terminal control sequences from a failing service's problem
//! document (OSC 52 clipboard write, OSC 0 title, CSI, C1 as UTF-8, bidi override) and its
//! output (the same plus a raw 0x9B byte), and from a workflow's `name`, never reach the
//! terminal: plain mode (stdout and stderr), `--json`, `wfop runs`, `wfop logs`, and the summary
//! the TUI prints after it quits (a real terminal: tmux). The record keeps the bytes as they were.

mod run_support;

use std::path::Path;

use run_support::tmux::Tmux;
use run_support::*;
use serde_json::json;

/// The workflow's name: an OSC 0 title change, a C1 CSI, a bidi override.
const NAME: &str = "evil\u{1b}]0;pwned-title\u{7}\u{9b}2J\u{202e}name";
/// The problem document's title and detail: OSC 52 (clipboard), OSC 0, CSI, C1 CSI and OSC.
const TITLE: &str = "Bad\u{1b}]52;c;cHduZWQ=\u{7}\u{1b}]0;owned\u{7}Input";
const DETAIL: &str = "detail\u{1b}[2J\u{1b}[31m\u{9b}1;1H\u{9d}0;t\u{7}\u{202e}end";
/// What the service prints: the same kinds plus a raw 0x9B (not UTF-8).
const OUTPUT: &[u8] =
    b"out\x1b]52;c;cHduZWQ=\x07 csi\xc2\x9b2J osc\xc2\x9d0;x\x07 raw\x9b31m bidi\xe2\x80\xaeend\n";

/// Panics when `bytes` hold anything a terminal would act on: ESC, BEL, another C0 but tab and
/// newline, DEL, bytes that are not UTF-8 (a raw 0x9B), C1 controls, bidi controls.
fn assert_terminal_safe(bytes: &[u8], place: &str) {
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => panic!(
            "{place}: bytes that are not UTF-8 at {} ({:02x?})",
            e.valid_up_to(),
            &bytes[e.valid_up_to()..(e.valid_up_to() + 4).min(bytes.len())]
        ),
    };
    for (i, c) in text.char_indices() {
        let bad = (c < ' ' && c != '\n' && c != '\t')
            || ('\u{7f}'..='\u{9f}').contains(&c)
            || ('\u{202a}'..='\u{202e}').contains(&c)
            || ('\u{2066}'..='\u{2069}').contains(&c);
        assert!(
            !bad,
            "{place}: {c:?} reached the terminal at {i}:\n{}",
            &text[i.saturating_sub(80)..(i + 40).min(text.len())]
        );
    }
}

/// A workflow named [`NAME`] whose one service prints [`OUTPUT`] and fails with a problem
/// document holding [`TITLE`] and [`DETAIL`].
fn evil_case() -> (Case, std::path::PathBuf) {
    let case = Case::new();
    let out = case.path().join("out.bin");
    std::fs::write(&out, OUTPUT).unwrap();
    let doc = case.write(
        "problem.json",
        &json!({"type": "about:blank", "status": 500, "title": TITLE, "detail": DETAIL})
            .to_string(),
    );
    let script = format!(
        "cat '{}'; cp '{}' \"$OUTPUT_DIRECTORY/output.json\"; exit 3",
        out.display(),
        doc.display()
    );
    let wf = case.workflow(
        json!([{ "id": "svc", "type": "service", "run": { "command": ["sh", "-c", script] } }]),
        &[],
        &[],
    );
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&wf).unwrap()).unwrap();
    v["name"] = json!(NAME);
    std::fs::write(&wf, serde_json::to_string_pretty(&v).unwrap()).unwrap();
    (case, wf)
}

/// The service ran and its bytes are in the record as they were (what the tests below must
/// keep off the terminal was really there).
fn assert_the_record_keeps_the_bytes(case: &Case) {
    let run = case.run_json();
    assert_eq!(run["workflow"], NAME, "{run}");
    let reason = node(&run, "svc")["reason"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(
        reason.contains(TITLE) && reason.contains(DETAIL),
        "the record keeps the reason: {reason:?}"
    );
    let log = std::fs::read(case.run_dir().join("svc.log")).unwrap();
    assert!(
        log.windows(OUTPUT.len() - 1)
            .any(|w| w == &OUTPUT[..OUTPUT.len() - 1]),
        "the record's log keeps the service's bytes"
    );
}

#[test]
fn plain_mode_runs_and_logs_show_escapes_never_control_sequences() {
    let (case, wf) = evil_case();
    let out = case.wfop(&["run", wf.to_str().unwrap(), "--plain"], &[]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert_the_record_keeps_the_bytes(&case);
    assert_terminal_safe(&out.stdout, "plain stdout");
    assert_terminal_safe(&out.stderr, "plain stderr");
    // Shown, escaped: the start line with the name, the failure line and the summary with the
    // problem document, the log line with every kind of byte.
    assert!(
        stdout.contains("of evil\\x1b]0;pwned-title\\x07\\u{9b}2J\\u{202e}name started"),
        "{stdout}"
    );
    let reason = "Bad\\x1b]52;c;cHduZWQ=\\x07\\x1b]0;owned\\x07Input: detail\\x1b[2J\\x1b[31m\\u{9b}1;1H\\u{9d}0;t\\x07\\u{202e}end";
    assert!(
        stdout.contains(&format!("(exit code 3): {reason}")),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("  svc ") && l.ends_with(reason)),
        "summary: {stdout}"
    );
    assert!(
        stdout.contains(
            "[svc] out\\x1b]52;c;cHduZWQ=\\x07 csi\\u{9b}2J osc\\u{9d}0;x\\x07 raw\\x9b31m bidi\\u{202e}end"
        ),
        "{stdout}"
    );

    let runs = case.wfop(&["runs"], &[]);
    assert_eq!(runs.status.code(), Some(0));
    assert!(
        text(&runs.stdout).contains("evil\\x1b]0;pwned-title\\x07\\u{9b}2J\\u{202e}name"),
        "{}",
        text(&runs.stdout)
    );
    assert_terminal_safe(&runs.stdout, "wfop runs");

    for args in [&["logs", "last"][..], &["logs", "last", "svc"]] {
        let logs = case.wfop(args, &[]);
        assert_eq!(logs.status.code(), Some(0), "{}", text(&logs.stderr));
        let shown = text(&logs.stdout);
        assert!(shown.contains("raw\\x9b31m bidi\\u{202e}end"), "{shown}");
        assert!(
            shown.contains("owned\\x07Input"),
            "the failure note: {shown}"
        );
        assert_terminal_safe(&logs.stdout, "wfop logs");
        assert_terminal_safe(&logs.stderr, "wfop logs (stderr)");
    }
}

#[test]
fn json_mode_escapes_what_serde_leaves_raw() {
    let (case, wf) = evil_case();
    let out = case.wfop(&["run", wf.to_str().unwrap(), "--json"], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_the_record_keeps_the_bytes(&case);
    assert_terminal_safe(&out.stdout, "--json stdout");
    // The same JSON: the events carry the values as they were.
    let events: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON event per line"))
        .collect();
    let started = events.iter().find(|e| e["event"] == "run_started").unwrap();
    assert_eq!(started["workflow"], NAME);
    let finished = events
        .iter()
        .find(|e| e["event"] == "node_finished")
        .unwrap();
    assert_eq!(finished["reason"], format!("{TITLE}: {DETAIL}"));
}

fn shell_quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', "'\\''"))
}

#[test]
fn the_summary_after_the_tui_quits_shows_escapes_never_control_sequences() {
    let (case, wf) = evil_case();
    let bytes = case.path().join("pane.bytes");
    let cmd = format!(
        "cd {} && {} run {} --state-dir {}; echo done",
        shell_quote(case.path()),
        shell_quote(Path::new(env!("CARGO_BIN_EXE_wfop"))),
        shell_quote(&wf),
        shell_quote(&case.state()),
    );
    if std::process::Command::new("tmux")
        .arg("-V")
        .output()
        .is_err()
    {
        return skip_or_fail("tmux is not installed");
    }
    let Some(t) = Tmux::start("termsafe", &cmd, 120, 30) else {
        return skip_or_fail("tmux did not start");
    };
    t.pipe_to(&bytes);
    let mut seen = Vec::new();
    t.wait_for(&mut seen, "the run to fail", |s| s.contains("run failed"));
    t.keys("q");
    t.wait_dead();
    assert_the_record_keeps_the_bytes(&case);
    let all = std::fs::read(&bytes).expect("the pane's bytes");
    // What wfop wrote after the TUI closed: from the summary's first line to the end.
    let from = all
        .windows(10)
        .rposition(|w| w == b"wfop: run ")
        .unwrap_or_else(|| panic!("no summary in {}", String::from_utf8_lossy(&all)));
    let summary = &all[from..];
    let shown = String::from_utf8_lossy(summary);
    assert!(
        shown.contains("evil\\x1b]0;pwned-title\\x07\\u{9b}2J\\u{202e}name failed"),
        "{shown}"
    );
    assert!(
        shown.contains("Bad\\x1b]52;c;cHduZWQ=\\x07\\x1b]0;owned\\x07Input: detail\\x1b[2J"),
        "{shown}"
    );
    // The pty turns each newline into CR LF; any other CR would be the summary's own.
    let summary = String::from_utf8_lossy(summary).replace("\r\n", "\n");
    assert!(
        !shown.contains('\u{fffd}'),
        "bytes that are not UTF-8: {shown}"
    );
    assert_terminal_safe(summary.as_bytes(), "the summary after the TUI");
}
