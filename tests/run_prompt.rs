//! The plain-mode secret prompt as an operator meets it: `wfop run --plain` in a real
//! pseudo-terminal asks on /dev/tty with the secret's description, echoes nothing, and runs.

mod run_support;

use std::process::Command;

use run_support::{IBM_KEY, assert_absent, root, text};

/// Runs `wfop ARGS` in a pty, answering prompts; returns (exit code, transcript).
fn in_pty(args: &[&str], answers: &[(&str, &str)]) -> (Option<i32>, Vec<u8>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let transcript = dir.path().join("transcript");
    let answers = serde_json::to_string(&answers.iter().map(|(e, r)| [*e, *r]).collect::<Vec<_>>())
        .expect("json");
    let status = Command::new("python3")
        .arg(root().join("tests/pty_driver.py"))
        .arg(&transcript)
        .arg(answers)
        .arg("--")
        .arg(env!("CARGO_BIN_EXE_wfop"))
        .args(args)
        .current_dir(root())
        .env_remove("IBM_API_TOKEN")
        .status()
        .expect("python3 runs the pty driver");
    (
        status.code(),
        std::fs::read(&transcript).unwrap_or_default(),
    )
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
