//! Issue 15 §4 in a real terminal (a private tmux server): 40 workers that say hello and sleep
//! (`tests/workflows/many-workers.json`) run with `--max-parallel 30`; `v` shows the list of
//! nodes with their rows, their last log lines, the counts by state and the ten that wait for
//! a slot; `f` filters it; quitting cancels the run.

mod run_support;

use std::path::Path;

use run_support::tmux::Tmux;
use run_support::*;

fn quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', "'\\''"))
}

/// The screen without its colours (`capture-pane -e` keeps SGR sequences).
fn plain(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
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
fn v_shows_the_list_of_forty_workers_with_counts_and_the_wait_for_a_slot() {
    let case = Case::new();
    let wf = root().join("tests/workflows/many-workers.json");
    let cmd = format!(
        "cd {} && {} run {} --max-parallel 30 --state-dir {}; echo exit=$?",
        quote(case.path()),
        quote(Path::new(env!("CARGO_BIN_EXE_wfop"))),
        quote(&wf),
        quote(&case.state()),
    );
    let Some(t) = Tmux::start("list", &cmd, 120, 36) else {
        return skip_or_fail("tmux did not start");
    };
    let mut seen = Vec::new();
    // The graph's title counts the states too.
    t.wait_for(&mut seen, "30 workers running", |s| {
        plain(s).contains("graph · 30 running · 10 queued")
    });
    t.keys("v");
    // Polled until the whole frame is there (a capture may land in the middle of a redraw).
    let full_list = |s: &str| {
        let s = plain(s);
        let rows: Vec<&str> = s.lines().filter(|l| l.contains("│worker ")).collect();
        s.contains("nodes · 30 running · 10 queued · 1-15/40")
            && s.contains("v graph")
            && rows.len() == 15
            && rows
                .iter()
                .any(|r| r.contains("worker 01") && r.contains("running"))
            && rows.iter().any(|r| r.contains("w01 up, polling the queue"))
    };
    t.wait_for(&mut seen, "the list with its rows", full_list);
    // Down to the queued ones: they say why they wait.
    t.keys("G");
    t.wait_for(&mut seen, "the last rows, waiting for a slot", |s| {
        plain(s).lines().any(|l| {
            l.contains("worker 40")
                && l.contains("queued")
                && l.contains("waiting: --max-parallel 30 reached")
        })
    });
    // The filter: by state.
    t.keys("fqueued");
    t.key("Enter");
    t.wait_for(&mut seen, "the filtered list", |s| {
        let s = plain(s);
        s.contains("filter queued: 10")
            && s.lines().filter(|l| l.contains("│worker ")).count() == 10
            && !s.contains("worker 01 ")
    });
    // Quit: asks, cancels the 30 sleeping workers, and the summary follows.
    t.keys("q");
    t.wait_for(&mut seen, "the quit question", |s| {
        plain(s).contains("quit while running?")
    });
    t.keys("y");
    t.wait_dead();
    let after = plain(&t.capture_all());
    assert!(after.contains("exit=1"), "{after}");
}
