//! Item 17 of issue 9 (the TUI parts), in a real terminal (a private tmux server): pressing `s`
//! twice saves the log twice, to two fresh files (mode 0600), instead of failing with "File
//! exists". (The log buffer's byte bound is tested on the buffer itself, with its own byte
//! accounting: `src/ui/tui/logbuf.rs`, `scrollback_is_bounded_in_bytes_whatever_the_line_breaks`.)

mod run_support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use run_support::tmux::Tmux;
use run_support::*;
use serde_json::json;

fn shell_quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', "'\\''"))
}

#[test]
fn pressing_s_twice_saves_two_files() {
    if std::process::Command::new("tmux")
        .arg("-V")
        .output()
        .is_err()
    {
        return skip_or_fail("tmux is not installed");
    }
    let case = Case::new();
    let wf = case.workflow(
        json!([{ "id": "talk", "type": "service",
                 "run": { "command": ["sh", "-c", "echo first line; echo second line"] } }]),
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
    let Some(t) = Tmux::start("save", &cmd, 120, 30) else {
        return skip_or_fail("tmux did not start");
    };
    let mut seen = Vec::new();
    t.wait_for(&mut seen, "the run to succeed", |s| {
        s.contains("run succeeded")
    });
    t.key("Tab");
    t.key("Tab");
    t.keys("s");
    t.wait_for(&mut seen, "the first save", |s| s.contains("saved to"));
    t.keys("s");
    let second = t.wait_for(&mut seen, "the second save", |s| {
        s.contains("-2.log") || s.contains("cannot save")
    });
    assert!(!second.contains("cannot save"), "{second}");
    t.keys("q");
    t.wait_dead();
    let mut saved: Vec<_> = std::fs::read_dir(case.path())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .collect();
    saved.sort();
    assert_eq!(saved.len(), 2, "{saved:?}");
    for p in &saved {
        let text = std::fs::read_to_string(p).unwrap();
        assert!(
            text.contains("first line") && text.contains("second line"),
            "{text}"
        );
        let mode = std::fs::metadata(p).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{}", p.display());
    }
}
