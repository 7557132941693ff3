//! The TUI with a service on a pseudo-terminal, in tmux as an operator runs it (through its run
//! host, and in process with `--stop-on-hangup`): the service's clear-screen, alternate-screen
//! and title sequences neither wipe the log nor reach the operator's title; its terminal follows
//! the log pane's size; `i` types lines to it, `C-d` ends its input; what was typed is nowhere
//! in the record.

mod run_support;

use std::path::Path;

use run_support::tmux::Tmux;
use run_support::*;
use serde_json::json;

/// Typed by the operator, read by the service and never echoed: must be nowhere in the record.
const UNECHOED: &str = "typed-not-echoed-Wm4Rv";

/// The widest `size ROWS COLS` the service reported on screen.
fn widest(screen: &str) -> u32 {
    screen
        .lines()
        .filter_map(|l| l.split("size ").nth(1))
        .filter_map(|rest| {
            let mut w = rest.split_whitespace();
            let _rows: u32 = w.next()?.parse().ok()?;
            w.next()?.trim_end_matches('│').parse().ok()
        })
        .max()
        .unwrap_or(0)
}

fn operator_types_to_a_tty_service(flags: &[&str]) {
    let case = Case::new();
    let flag = case.path().join("go-on");
    let script = format!(
        "echo before-history-line; \
         printf '\\033]0;EVIL-TITLE\\007\\033]2;EVIL-TITLE\\007\\033[2J\\033[H\\033[3J\\033[?1049h\\033c'; \
         echo after-clear; last=''; \
         while [ ! -e {flag} ]; do s=$(stty size); \
           if [ \"$s\" != \"$last\" ]; then echo \"size $s\"; last=$s; fi; sleep 0.1; done; \
         echo ready-for-input; read line; echo \"got:$line\"; \
         read hidden; echo \"hidden:${{#hidden}}\"; \
         if read more; then echo \"more:$more\"; else echo eof-seen; fi",
        flag = shell_quote(&flag.display().to_string())
    );
    let wf = case.workflow(
        json!([{ "id": "t", "type": "service", "tty": true,
                 "run": { "command": ["sh", "-c", script] } }]),
        &[],
        &[],
    );
    let q = |p: &Path| shell_quote(&p.display().to_string());
    let cmd = format!(
        "cd {}; {} run {} {} --state-dir {}; echo $? > {}; sleep 60",
        q(case.path()),
        q(Path::new(env!("CARGO_BIN_EXE_wfop"))),
        q(&wf),
        flags.join(" "),
        q(&case.state()),
        q(&case.path().join("exit")),
    );
    let Some(t) = Tmux::start("input", &cmd, 100, 30) else {
        return;
    };
    let bytes = case.path().join("pane.bytes");
    t.pipe_to(&bytes);
    let mut seen = Vec::new();
    let s = t.wait_for(&mut seen, "the service's size", |s| s.contains("size "));
    let before = widest(&s);
    assert!(before > 0 && before < 100, "{s}");
    // A wider terminal: a wider log pane, and the service's terminal follows it.
    t.cmd(&["resize-window", "-x", "200", "-y", "50"]);
    t.wait_for(&mut seen, "the service to see the new size", |s| {
        widest(s) > 100
    });
    std::fs::write(&flag, "").expect("flag");
    t.wait_for(&mut seen, "the service to wait for input", |s| {
        s.contains("ready-for-input")
    });
    t.keys("i");
    t.wait_for(&mut seen, "input mode", |s| s.contains("t> ▏"));
    t.keys("hello there");
    t.key("Enter");
    t.wait_for(&mut seen, "the service's echo", |s| {
        s.contains("got:hello there")
    });
    t.keys(UNECHOED);
    t.key("Enter");
    let len = format!("hidden:{}", UNECHOED.len());
    t.wait_for(&mut seen, "the service to read the line", |s| {
        s.contains(&len)
    });
    t.key("C-d");
    let end = t.wait_for(&mut seen, "the run to end", |s| {
        s.contains("eof-seen") && s.lines().next().unwrap_or("").contains(" succeeded in ")
    });
    // The service's clear, alternate-screen and reset sequences wiped nothing.
    assert!(end.contains("before-history-line"), "{end}");
    assert!(end.contains("after-clear"), "{end}");
    // Its title never reached the operator's terminal.
    assert!(
        !t.pane("#{pane_title}").contains("EVIL"),
        "{}",
        t.pane("#{pane_title}")
    );
    t.keys("q");
    let start = std::time::Instant::now();
    // The shell creates `exit` before it writes the status into it: wait for the whole line.
    let code = loop {
        let code = std::fs::read_to_string(case.path().join("exit")).unwrap_or_default();
        if code.ends_with('\n') {
            break code;
        }
        assert!(start.elapsed() < tmux::GIVE_UP, "wfop did not exit");
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert_eq!(code.trim(), "0");
    let pane = std::fs::read(&bytes).expect("pane bytes");
    assert!(
        !pane.windows(10).any(|w| w == b"EVIL-TITLE"),
        "the child's title sequence reached the terminal"
    );
    // What was typed is in no file of the record (the service's own output is).
    let files = case.record_files();
    assert!(
        files
            .iter()
            .any(|(_, b)| b.windows(15).any(|w| w == b"got:hello there")),
        "the record holds the service's output"
    );
    for (p, b) in &files {
        let hit = b.windows(UNECHOED.len()).any(|w| w == UNECHOED.as_bytes());
        assert!(!hit, "the typed text is in {}", p.display());
    }
}

#[test]
fn typing_to_a_tty_service_through_its_run_host() {
    operator_types_to_a_tty_service(&[]);
}

#[test]
fn typing_to_a_tty_service_in_process() {
    operator_types_to_a_tty_service(&["--stop-on-hangup"]);
}
