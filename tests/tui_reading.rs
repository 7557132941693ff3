//! Issue 15 "reading and finding", in a real terminal (a private tmux server) on a real run:
//! `/` from the graph pane focuses the log pane and searches, `&` filters with a regex (`C-r`)
//! and context lines, `n` moves over the filtered view, and a copy inside tmux says which tmux
//! setting lets OSC 52 reach the terminal, until it is set.

mod run_support;

use std::path::Path;

use run_support::tmux::Tmux;
use run_support::*;
use serde_json::json;

fn shell_quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', "'\\''"))
}

/// The screen without its SGR sequences (a search highlight splits the text).
fn plain(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn filter_search_from_the_graph_and_copy_in_tmux() {
    if std::process::Command::new("tmux")
        .arg("-V")
        .output()
        .is_err()
    {
        return skip_or_fail("tmux is not installed");
    }
    let case = Case::new();
    // 200 lines; every 50th an error (with a code), and a stderr line.
    let script = "i=0; while [ $i -lt 200 ]; do \
                  if [ $((i % 50)) -eq 7 ]; then echo \"req $i ERROR code=E$i\"; \
                  else echo \"req $i ok\"; fi; i=$((i+1)); done; \
                  echo 'a note on stderr' >&2";
    let wf = case.workflow(
        json!([{ "id": "chatty", "type": "service",
                 "run": { "command": ["sh", "-c", script] } }]),
        &[],
        &[],
    );
    let cmd = format!(
        "cd {} && {} run {} --state-dir {}; echo exit=$?",
        shell_quote(case.path()),
        shell_quote(Path::new(env!("CARGO_BIN_EXE_wfop"))),
        shell_quote(&wf),
        shell_quote(&case.state()),
    );
    let Some(t) = Tmux::start("reading", &cmd, 120, 40) else {
        return skip_or_fail("tmux did not start");
    };
    let mut seen = Vec::new();
    t.wait_for(&mut seen, "the run to succeed", |s| {
        s.contains("run succeeded")
    });
    // The graph pane has the focus; `/` searches from there.
    t.keys("/");
    t.keys("ERROR");
    t.key("Enter");
    t.wait_for(&mut seen, "the search's count", |s| {
        s.contains("/ERROR 1/4")
    });
    // `&`, C-r, a regex; one line of context (`-` from the default two).
    t.keys("&");
    t.key("C-r");
    t.keys(r"code=E\d+7$");
    t.wait_for(&mut seen, "the filter input", |s| {
        s.contains(r"&re:code=E\d+7$")
    });
    t.key("Enter");
    t.keys("-");
    let s = plain(&t.wait_for(&mut seen, "the filtered view", |s| {
        s.contains("±1 3 of 201")
    }));
    assert!(
        s.contains("req 56 ok") && s.contains("req 57 ERROR code=E57"),
        "{s}"
    );
    assert!(!s.contains("req 10 ok"), "only matches and context: {s}");
    // n over the filtered view: the search's next match shown.
    t.keys("n");
    t.wait_for(&mut seen, "n to move", |s| s.contains("/ERROR 2/4"));
    // A bad regex is refused with a message, nothing breaks.
    t.keys("&");
    t.key("C-u");
    t.keys("(oops");
    t.key("Enter");
    t.wait_for(&mut seen, "the regex error", |s| s.contains("bad regex"));
    t.key("Escape");
    // (wait for the input to close: an Esc and a key at once read as Alt+key)
    t.wait_for(&mut seen, "the input to close", |s| !s.contains("(oops"));
    // Copy a line: this tmux keeps passthrough off, so wfop names the setting.
    t.keys("y");
    t.wait_for(&mut seen, "the tmux hint", |s| {
        s.contains("allow-passthrough on")
    });
    t.cmd(&["set-option", "-g", "allow-passthrough", "on"]);
    t.keys("y");
    t.wait_for(&mut seen, "a plain copy", |s| {
        s.contains("copied the selected line")
    });
    t.keys("q");
    t.wait_dead();
    let last = t.capture_all();
    assert!(last.contains("exit=0"), "{last}");
    // The record keeps the wall clock of the start with every event's offset.
    let runs: Vec<_> = std::fs::read_dir(case.state().join("runs"))
        .expect("runs")
        .flatten()
        .collect();
    assert_eq!(runs.len(), 1);
    let events = std::fs::read_to_string(runs[0].path().join("events.jsonl")).expect("events");
    let first: serde_json::Value =
        serde_json::from_str(events.lines().next().unwrap_or_default()).expect("json");
    assert_eq!(first["event"], "run_started");
    assert!(
        first["started"].as_str().is_some_and(|s| s.ends_with('Z')),
        "{first}"
    );
    assert!(first["t"].is_u64(), "{first}");
}
