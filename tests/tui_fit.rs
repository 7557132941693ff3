//! The TUI fitted to the terminal, as an operator's terminal gets it (the real binary in a private
//! tmux server, tests/run_support/tmux.rs): TERM=xterm gets no 24-bit or 256-colour sequences,
//! LANG=C gets ASCII borders, the mouse selects and scrolls, a keymap file rebinds keys.

mod run_support;

use std::path::{Path, PathBuf};

use run_support::tmux::Tmux;
use run_support::*;
use serde_json::json;

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// Two services (alpha prints 300 lines, then bravo runs) in a case folder.
fn two_services(case: &Case) -> PathBuf {
    case.workflow(
        json!([
            { "id": "alpha", "type": "service",
              "run": { "command": ["sh", "-c", "i=0; while [ $i -lt 300 ]; do echo alpha line $i; i=$((i+1)); done"] } },
            { "id": "bravo", "type": "service", "run": { "command": ["echo", "bravo done"] } }
        ]),
        &[("alpha", "bravo")],
        &[],
    )
}

/// Starts `wfop run WF ARGS` in a pane after `setup` (shell lines: exports), once `go` exists
/// (so the bytes pipe is in place first).
fn start(case: &Case, name: &str, wf: &Path, setup: &str, args: &str) -> Option<(Tmux, PathBuf)> {
    let go = case.path().join("go");
    let cmd = format!(
        "cd {}; {setup}; while [ ! -e {} ]; do sleep 0.05; done; {} run {} --state-dir {} {args}; echo wfop-exit=$?",
        quote(&case.path().display().to_string()),
        quote(&go.display().to_string()),
        quote(env!("CARGO_BIN_EXE_wfop")),
        quote(&wf.display().to_string()),
        quote(&case.state().display().to_string()),
    );
    let t = Tmux::start(name, &cmd, 140, 30)?;
    let bytes = case.path().join("terminal.bytes");
    t.pipe_to(&bytes);
    std::fs::write(&go, "").expect("go");
    Some((t, bytes))
}

/// A captured screen without its colour sequences.
fn plain(screen: &str) -> String {
    let mut out = String::new();
    let mut rest = screen;
    while let Some(i) = rest.find('\x1b') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let end = tail.find('m').map_or(tail.len(), |e| e + 1);
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// Waits for `pred` on the screen without its colours; returns that screen.
fn wait(t: &Tmux, seen: &mut Vec<String>, what: &str, pred: impl Fn(&str) -> bool) -> String {
    plain(&t.wait_for(seen, what, |s| pred(&plain(s))))
}

fn ended(s: &str) -> bool {
    let title = s.lines().next().unwrap_or("");
    title.contains("succeeded in") || title.contains("failed in")
}

fn have_tmux() -> bool {
    if std::process::Command::new("tmux")
        .arg("-V")
        .output()
        .is_err()
    {
        skip_or_fail("tmux is not installed");
        return false;
    }
    true
}

#[test]
fn term_xterm_gets_no_24_bit_colour_and_lang_c_gets_ascii() {
    if !have_tmux() {
        return;
    }
    let case = Case::new();
    let wf = two_services(&case);
    // The light theme has 24-bit colours; xterm's terminfo says 8 colours.
    let setup =
        "export TERM=xterm LANG=C; unset COLORTERM LC_ALL LC_CTYPE WFOP_COLOR_DEPTH WFOP_CHARSET";
    let Some((t, bytes)) = start(&case, "fit-xterm", &wf, setup, "--theme light") else {
        return;
    };
    let mut screens = Vec::new();
    let screen = wait(&t, &mut screens, "the run to end", ended);
    t.keys("q");
    wait(&t, &mut screens, "wfop to exit", |s| {
        s.contains("wfop-exit=")
    });
    let raw = std::fs::read(&bytes).expect("bytes");
    let text = String::from_utf8_lossy(&raw);
    for seq in ["38;2;", "48;2;", "38;5;", "48;5;"] {
        assert!(
            !text.contains(seq),
            "{seq:?} reached a TERM=xterm terminal: {text:?}"
        );
    }
    assert!(
        text.contains("\x1b[0;1;34m") || text.contains("\x1b[0;34"),
        "the light theme's blue title as SGR 34: {text:?}"
    );
    // LANG=C: ASCII borders, no box drawing anywhere in what was written.
    assert!(screen.contains("+ graph "), "{screen}");
    assert!(screen.contains("+ logs: "), "{screen}");
    let drawn = String::from_utf8_lossy(&raw);
    assert!(
        !drawn.contains('─') && !drawn.contains('│') && !drawn.contains('┌'),
        "box drawing sent to a LANG=C terminal"
    );
    // The terminal is left as it was: mouse reporting off, main screen back.
    assert!(
        text.contains("\x1b[?1000h"),
        "mouse on while the screen was up"
    );
    assert!(
        text.rfind("\x1b[?1000l") > text.rfind("\x1b[?1000h"),
        "mouse reporting turned off"
    );
    assert!(text.contains("\x1b[?1049l"), "main screen back");
}

#[test]
fn utf8_truecolor_terminal_keeps_its_colours_and_box_drawing() {
    if !have_tmux() {
        return;
    }
    let case = Case::new();
    let wf = two_services(&case);
    let setup =
        "export TERM=xterm-256color COLORTERM=truecolor LANG=C.UTF-8; unset LC_ALL LC_CTYPE";
    let Some((t, bytes)) = start(&case, "fit-true", &wf, setup, "--theme light") else {
        return;
    };
    let mut screens = Vec::new();
    let screen = wait(&t, &mut screens, "the run to end", ended);
    t.keys("q");
    wait(&t, &mut screens, "wfop to exit", |s| {
        s.contains("wfop-exit=")
    });
    let text = String::from_utf8_lossy(&std::fs::read(&bytes).expect("bytes")).into_owned();
    assert!(text.contains("38;2;") || text.contains("48;2;"), "{text:?}");
    assert!(screen.contains("┌ graph "), "{screen}");
}

/// An SGR mouse report (1-based column and row), as a terminal writes it.
fn sgr_mouse(t: &Tmux, button: u8, col: usize, row: usize) {
    let seq = format!("\x1b[<{button};{col};{row}M");
    let hex: Vec<String> = seq.bytes().map(|b| format!("{b:02x}")).collect();
    let mut args = vec!["send-keys", "-H"];
    args.extend(hex.iter().map(String::as_str));
    assert!(t.cmd(&args).status.success(), "tmux send-keys -H");
}

#[test]
fn the_mouse_selects_a_node_and_the_wheel_scrolls_the_log() {
    if !have_tmux() {
        return;
    }
    let case = Case::new();
    let wf = two_services(&case);
    let setup = "export LANG=C.UTF-8; unset LC_ALL LC_CTYPE WFOP_MOUSE";
    let Some((t, _)) = start(&case, "fit-mouse", &wf, setup, "") else {
        return;
    };
    let mut screens = Vec::new();
    let screen = wait(&t, &mut screens, "the run to end", ended);
    assert!(
        screen.contains("┌ alpha "),
        "alpha is selected first: {screen}"
    );
    // Click on bravo in the graph.
    let (row, col) = screen
        .lines()
        .enumerate()
        .find_map(|(y, l)| {
            let plain = l.to_string();
            plain
                .find(" bravo")
                .map(|x| (y, plain[..x].chars().count() + 1))
        })
        .expect("bravo in the graph");
    sgr_mouse(&t, 0, col + 1, row + 1);
    wait(&t, &mut screens, "bravo selected by a click", |s| {
        s.contains("┌ bravo ")
    });
    // The wheel over the log pane scrolls it (follow pauses).
    let log_row = screen
        .lines()
        .position(|l| l.contains("logs: all nodes"))
        .expect("the log pane")
        + 3;
    assert!(screen.contains("· follow"), "{screen}");
    sgr_mouse(&t, 64, 10, log_row);
    wait(&t, &mut screens, "the wheel to scroll the log", |s| {
        s.contains("· paused")
    });
    // Down again to the end: following.
    for _ in 0..3 {
        sgr_mouse(&t, 65, 10, log_row);
    }
    wait(&t, &mut screens, "the wheel to reach the end", |s| {
        s.contains("· follow")
    });
    t.keys("q");
    wait(&t, &mut screens, "wfop to exit", |s| {
        s.contains("wfop-exit=0")
    });
}

#[test]
fn a_keymap_file_rebinds_keys_and_a_bad_one_keeps_the_screen_closed() {
    if !have_tmux() {
        return;
    }
    let case = Case::new();
    let wf = two_services(&case);
    let config = case.path().join("config");
    std::fs::create_dir_all(config.join("wfop")).expect("config");
    let keys = config.join("wfop/keys.toml");
    std::fs::write(
        &keys,
        "[global]\nquit = \"Q\"\n[logs]\nserch-start = \"/\"\n",
    )
    .expect("keys");
    let setup = format!(
        "export LANG=C.UTF-8 XDG_CONFIG_HOME={}",
        quote(&config.display().to_string())
    );
    let Some((t, _)) = start(&case, "fit-keys-bad", &wf, &setup, "") else {
        return;
    };
    let mut screens = Vec::new();
    let s = wait(&t, &mut screens, "wfop to refuse", |s| {
        s.contains("wfop-exit=")
    });
    assert!(s.contains("wfop-exit=2"), "{s}");
    assert!(s.contains("unknown action `serch-start`"), "{s}");
    assert!(s.contains("keys.toml:4:1"), "{s}");
    drop(t);

    std::fs::write(&keys, "[global]\nquit = \"Q\"\n").expect("keys");
    let _ = std::fs::remove_file(case.path().join("go"));
    let Some((t, _)) = start(&case, "fit-keys", &wf, &setup, "") else {
        return;
    };
    let screen = wait(&t, &mut screens, "the run to end", ended);
    assert!(
        screen.contains("Q quit"),
        "the key bar shows the new key: {screen}"
    );
    t.keys("q");
    t.keys("?");
    wait(&t, &mut screens, "the help", |s| {
        s.contains("keys — Esc closes")
    });
    t.key("Escape");
    t.keys("Q");
    wait(&t, &mut screens, "Q to quit", |s| s.contains("wfop-exit=0"));
}
