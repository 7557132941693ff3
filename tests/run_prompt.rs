//! The plain-mode secret prompt as an operator meets it: `wfop run --plain` in a real
//! pseudo-terminal asks on /dev/tty with the secret's description, echoes nothing (not even what
//! is typed before the prompt is printed), takes a pasted multi-line key whole, leaves nothing in
//! the terminal's input queue for the shell, and restores the terminal however it ends.

mod run_support;

use std::path::Path;
use std::process::Command;

use run_support::{Case, IBM_KEY, assert_absent, root, text};
use serde_json::json;

/// What the pty driver saw.
struct Pty {
    code: Option<i32>,
    /// Every byte the command wrote to the terminal.
    screen: Vec<u8>,
    /// What was still in the terminal's input queue after the command ended.
    left: Vec<u8>,
    /// `echo=E icanon=I` after the command ended.
    stty: String,
    /// Per reply: how much output had been read when it was typed, and the echo flag then.
    order: String,
}

/// Runs `wfop ARGS` in `dir` in a pty, answering prompts (see tests/pty_driver.py).
fn pty_in(dir: &Path, args: &[&str], answers: &[(&str, &str)]) -> Pty {
    let tmp = tempfile::tempdir().expect("tempdir");
    let transcript = tmp.path().join("transcript");
    let answers = serde_json::to_string(&answers.iter().map(|(e, r)| [*e, *r]).collect::<Vec<_>>())
        .expect("json");
    let status = Command::new("python3")
        .arg(root().join("tests/pty_driver.py"))
        .arg(&transcript)
        .arg(answers)
        .arg("--")
        .arg(env!("CARGO_BIN_EXE_wfop"))
        .args(args)
        .current_dir(dir)
        .env_remove("IBM_API_TOKEN")
        .status()
        .expect("python3 runs the pty driver");
    let side = |ext: &str| std::fs::read(transcript.with_extension(ext)).unwrap_or_default();
    Pty {
        code: status.code(),
        screen: std::fs::read(&transcript).unwrap_or_default(),
        left: side("left"),
        stty: String::from_utf8_lossy(&side("stty")).into_owned(),
        order: String::from_utf8_lossy(&side("order")).into_owned(),
    }
}

/// Runs `wfop ARGS` in the project folder in a pty; returns (exit code, transcript).
fn in_pty(args: &[&str], answers: &[(&str, &str)]) -> (Option<i32>, Vec<u8>) {
    let p = pty_in(&root(), args, answers);
    (p.code, p.screen)
}

#[test]
fn prompts_on_the_terminal_without_echo_and_runs() {
    let state = tempfile::tempdir().expect("tempdir");
    let state_arg = state.path().to_str().expect("utf-8 path");
    let (code, screen) = in_pty(
        &[
            "run",
            "--plain",
            "workflows/quantum-secrets.json",
            "--input",
            "workflows/quantum-secrets.input.json",
            "--state-dir",
            state_arg,
        ],
        &[(
            "secret ibm_api_token (IBM Quantum API token), used by orchestrated (ibm_token): ",
            IBM_KEY,
        )],
    );
    let shown = text(&screen);
    assert_eq!(code, Some(0), "{shown}");
    assert!(shown.contains("run succeeded"), "{shown}");
    assert!(shown.contains("token accepted"), "{shown}");
    assert_absent(&screen, IBM_KEY, "the terminal");
    // The record does not hold it either.
    for entry in walk(state.path()) {
        assert_absent(
            &std::fs::read(&entry).unwrap_or_default(),
            IBM_KEY,
            &entry.display().to_string(),
        );
    }
}

#[test]
fn an_empty_answer_is_asked_again() {
    let state = tempfile::tempdir().expect("tempdir");
    let state_arg = state.path().to_str().expect("utf-8 path");
    let (code, screen) = in_pty(
        &[
            "run",
            "--plain",
            "workflows/quantum-secrets.json",
            "--input",
            "workflows/quantum-secrets.input.json",
            "--state-dir",
            state_arg,
        ],
        &[
            ("used by orchestrated (ibm_token): ", "   "),
            ("try again", IBM_KEY),
        ],
    );
    let shown = text(&screen);
    assert_eq!(code, Some(0), "{shown}");
    assert!(
        shown.contains("an empty value is not a secret; try again"),
        "{shown}"
    );
    assert_absent(&screen, IBM_KEY, "the terminal");
}

#[test]
fn ctrl_c_at_the_prompt_exits_130_and_restores_the_terminal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let transcript = dir.path().join("transcript");
    let answers = r#"[["used by orchestrated (ibm_token): ", "^C"]]"#;
    let status = Command::new("python3")
        .arg(root().join("tests/pty_driver.py"))
        .arg(&transcript)
        .arg(answers)
        .arg("--")
        .arg(env!("CARGO_BIN_EXE_wfop"))
        .args([
            "run",
            "--plain",
            "workflows/quantum-secrets.json",
            "--input",
            "workflows/quantum-secrets.input.json",
        ])
        .arg("--state-dir")
        .arg(dir.path().join("state"))
        .current_dir(root())
        .status()
        .expect("python3 runs the pty driver");
    let shown = text(&std::fs::read(&transcript).unwrap_or_default());
    assert_eq!(status.code(), Some(130), "{shown}");
    assert!(shown.contains("cancelled at the secret prompt"), "{shown}");
    let stty = std::fs::read_to_string(dir.path().join("transcript.stty")).unwrap_or_default();
    assert_eq!(stty, "echo=1 icanon=1", "the terminal is left as it was");
    assert!(
        !dir.path().join("state/runs").exists()
            || std::fs::read_dir(dir.path().join("state/runs"))
                .map(|d| d.count())
                .unwrap_or(0)
                == 0,
        "nothing ran"
    );
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = entry.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// A PEM-shaped fake key of three lines (the body line is what a leak would show).
const PEM_BODY: &str = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0MjQyZmFrZWtleQ";
fn pem() -> String {
    format!("-----BEGIN TEST KEY-----\n{PEM_BODY}\n-----END TEST KEY-----")
}

/// A workflow whose service compares its secret with `expected.pem` and prints a verdict
/// (never the value): `pem: full value received` or how many line breaks it got.
fn pem_case() -> Case {
    let case = Case::new();
    let expected = case.write("expected.pem", &pem());
    let script = format!(
        r#"if printf %s "$SECRET_KEY" | cmp -s - '{}'; then echo 'pem: full value received'; else echo "pem: mismatch, $(printf %s "$SECRET_KEY" | wc -l) line breaks"; fi; printf "leak: %s\n" "$SECRET_KEY""#,
        expected.display()
    );
    case.workflow(
        json!([{ "id": "check", "type": "service", "run": { "command": ["sh", "-c", script] },
                 "secrets": ["key"],
                 "input_mapping": [ { "name": "$secrets", "value": "{ \"key\": secret_value(\"pem\") }" } ] }]),
        &[],
        &["pem"],
    );
    case
}

fn run_pem(case: &Case, answers: &[(&str, &str)]) -> Pty {
    let state = case.state();
    pty_in(
        case.path(),
        &[
            "run",
            "--plain",
            "wf.json",
            "--state-dir",
            state.to_str().expect("utf-8 path"),
        ],
        answers,
    )
}

fn assert_pem_taken_whole(case: &Case, p: &Pty, how: &str) {
    let shown = text(&p.screen);
    assert_eq!(p.code, Some(0), "{how}: {shown}");
    assert!(
        shown.contains("pem: full value received"),
        "{how}: the service got the whole key\n{shown}"
    );
    assert!(
        p.left.is_empty(),
        "{how}: left in the terminal's input queue for the shell: {:?}",
        text(&p.left)
    );
    assert_eq!(p.stty, "echo=1 icanon=1", "{how}: the terminal is restored");
    // The service printed the key (whole, so line by line too): redacted.
    assert!(shown.contains("leak: ***"), "{how}: {shown}");
    assert_absent(&p.screen, PEM_BODY, &format!("{how}: the terminal"));
    for (path, bytes) in case.record_files() {
        assert_absent(&bytes, PEM_BODY, &format!("{how}: {}", path.display()));
    }
}

#[test]
fn a_key_pasted_without_brackets_is_taken_whole_and_nothing_is_left_for_the_shell() {
    // A terminal without bracketed paste sends the lines with CR, in one write.
    let case = pem_case();
    let paste = format!("raw:{}\r", pem().replace('\n', "\r"));
    let p = run_pem(&case, &[("used by check (key): ", &paste)]);
    assert_pem_taken_whole(&case, &p, "unbracketed");
}

#[test]
fn a_bracketed_paste_is_taken_whole_with_its_line_breaks() {
    let case = pem_case();
    // The prompt asks the terminal for bracketed paste; the paste is framed by ESC[200~ …
    // ESC[201~ (lines ending in CR, one trailing line break), then the operator presses Enter.
    let paste = format!("raw:\x1b[200~{}\r\x1b[201~\r", pem().replace('\n', "\r"));
    let p = run_pem(&case, &[("used by check (key): ", &paste)]);
    assert_pem_taken_whole(&case, &p, "bracketed");
    let shown = text(&p.screen);
    assert!(
        shown.contains("\x1b[?2004h"),
        "bracketed paste asked for: {shown:?}"
    );
    assert!(
        shown.contains("\x1b[?2004l"),
        "and turned off again: {shown:?}"
    );
}

#[test]
fn what_follows_ctrl_c_is_flushed_not_left_for_the_shell() {
    let case = pem_case();
    // Ctrl-C in the middle of a paste (the rest would be run by the shell).
    let paste = format!("raw:{}\x03echo LEFTOVER\recho MORE\r", &pem()[..30]);
    let p = run_pem(&case, &[("used by check (key): ", &paste)]);
    let shown = text(&p.screen);
    assert_eq!(p.code, Some(130), "{shown}");
    assert!(shown.contains("cancelled at the secret prompt"), "{shown}");
    assert!(p.left.is_empty(), "left for the shell: {:?}", text(&p.left));
    assert_eq!(p.stty, "echo=1 icanon=1");
    assert!(
        !case.state().join("runs").exists() || case.record_files().is_empty(),
        "nothing ran"
    );
}

#[test]
fn a_signal_at_the_prompt_restores_the_terminal_and_exits_as_the_signal() {
    for (sig, code) in [("TERM", 143), ("HUP", 129), ("QUIT", 131), ("USR1", 138)] {
        let case = pem_case();
        let p = run_pem(
            &case,
            &[
                ("used by check (key): ", "raw:half-typed"),
                ("", &format!("sig:{sig}")),
            ],
        );
        let shown = text(&p.screen);
        assert_eq!(p.code, Some(code), "SIG{sig}: {shown}");
        assert!(shown.contains("at the secret prompt"), "SIG{sig}: {shown}");
        assert_eq!(
            p.stty, "echo=1 icanon=1",
            "SIG{sig}: the terminal is restored"
        );
        assert!(
            shown.contains("\x1b[?2004l"),
            "SIG{sig}: bracketed paste off"
        );
        assert!(p.left.is_empty(), "SIG{sig}: {:?}", text(&p.left));
    }
}

/// The terminal's input queue is flushed however the prompt ends: here a signal arrives while
/// typed keys are still unread (the driver stops wfop, types, signals, continues it).
#[test]
fn keys_still_unread_when_a_signal_ends_the_prompt_are_flushed() {
    let case = pem_case();
    let p = run_pem(
        &case,
        &[("used by check (key): ", "stopped:TERM:echo LEFTOVER\r")],
    );
    let shown = text(&p.screen);
    assert_eq!(p.code, Some(143), "{shown}");
    assert!(
        shown.contains("stopped by signal 15 at the secret prompt"),
        "{shown}"
    );
    assert!(p.left.is_empty(), "left for the shell: {:?}", text(&p.left));
    assert_eq!(p.stty, "echo=1 icanon=1");
}

/// Guarantee 4: echo is off *before* the prompt is printed. The driver stops the terminal's
/// output (Ctrl-S), so wfop cannot print its prompt; types the reply the moment wfop's prompt
/// code first changes the terminal's modes, before reading any output; then lets output go on
/// (Ctrl-Q). A terminal that still echoed then would show the reply.
#[test]
fn a_reply_typed_before_the_prompt_is_printed_is_not_echoed() {
    let state = tempfile::tempdir().expect("tempdir");
    let p = pty_in(
        &root(),
        &[
            "run",
            "--plain",
            "workflows/quantum-secrets.json",
            "--input",
            "workflows/quantum-secrets.input.json",
            "--state-dir",
            state.path().to_str().expect("utf-8 path"),
        ],
        &[
            ("@start", "raw:\x13"),
            ("@termios", IBM_KEY),
            ("@start", "raw:\x11"),
        ],
    );
    let shown = text(&p.screen);
    // The precondition: the reply was typed before any output was read, while output was
    // stopped, so before the prompt was printed; and wfop read it as the answer.
    let typed = p.order.lines().nth(1).unwrap_or_default();
    assert!(typed.starts_with("reply 1: after 0 bytes"), "{}", p.order);
    assert_eq!(p.code, Some(0), "{shown}");
    assert!(
        shown.contains("secret ibm_api_token"),
        "the prompt was printed: {shown}"
    );
    assert!(
        shown.contains("token accepted"),
        "the typed reply was the answer: {shown}"
    );
    // The claim: not one character of it was echoed.
    assert_absent(&p.screen, IBM_KEY, "the terminal");
    assert!(!shown.contains(&IBM_KEY[..8]), "{shown}");
    assert!(
        typed.ends_with("echo=0"),
        "echo was off when it was typed: {typed}"
    );
}
