//! A secret split by bytes a terminal view drops (DEL, NUL, BS, a C1 control, SGR colouring
//! one letter, an OSC title, CSI cursor moves) must not be rejoined by the TUI: the screen, the
//! log saved with `s` and the text copied with `Y` (the OSC 52 payload written to the terminal)
//! hold no trace of it. The real binary in a private tmux server (tests/run_support/tmux.rs).

mod run_support;

use run_support::tmux::Tmux;
use run_support::*;
use serde_json::json;

const TOK: &str = "Hd7sEc-r3tVq9x";

/// Prints the secret once per class of hidden bytes, split after six bytes (for SGR: the 7th
/// letter coloured, as a PowerShell error does), each line labelled.
const SCRIPT: &str = r#"S="$SECRET_TOK"; a=${S:0:6}; b=${S:6:1}; c=${S:7}
printf 'sgr: %s\033[1;31m%s\033[0m%s\n' "$a" "$b" "$c"
printf 'del: %s\177%s\n' "$a" "$b$c"
printf 'nul: %s\000%s\n' "$a" "$b$c"
printf 'bs: %s\010%s\n' "$a" "$b$c"
printf 'c1: %s\302\233%s\n' "$a" "$b$c"
printf 'osc: %s\033]0;title\007%s\n' "$a" "$b$c"
printf 'csi: %s\033[2C\033[1A%s\n' "$a" "$b$c"
echo printed-all"#;

const LABELS: [&str; 7] = ["sgr", "del", "nul", "bs", "c1", "osc", "csi"];

fn decode_b64(s: &[u8]) -> Vec<u8> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for &c in s {
        let Some(v) = val(c) else { break };
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

/// Every OSC 52 payload in the bytes written to the terminal, decoded.
fn osc52_payloads(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(p) = bytes[i..].windows(5).position(|w| w == b"52;c;") {
        let start = i + p + 5;
        out.push(decode_b64(&bytes[start..]));
        i = start;
    }
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn a_secret_split_by_hidden_bytes_is_not_shown_saved_or_copied() {
    if std::process::Command::new("tmux")
        .arg("-V")
        .output()
        .is_err()
    {
        skip_or_fail("tmux is not installed");
        return;
    }
    let case = Case::new();
    let wf = case.workflow(
        json!([{ "id": "printer", "type": "service",
                 "run": { "command": ["bash", "-c", SCRIPT] }, "secrets": ["tok"],
                 "input_mapping": [
                     { "name": "$secrets", "value": "{ \"tok\": secret_value(\"tok\") }" }
                 ] }]),
        &[],
        &["tok"],
    );
    let quote = |s: &str| format!("'{}'", s.replace('\'', "'\\''"));
    let go = case.path().join("go");
    let cmd = format!(
        "cd {}; while [ ! -e {} ]; do sleep 0.05; done; {} run {} --secret tok=env:WFOP_TEST_TOK --state-dir {}",
        quote(&case.path().display().to_string()),
        quote(&go.display().to_string()),
        quote(env!("CARGO_BIN_EXE_wfop")),
        quote(&wf.display().to_string()),
        quote(&case.state().display().to_string()),
    );
    let Some(t) = Tmux::start_with_env("hidden", &cmd, 120, 40, &[("WFOP_TEST_TOK", TOK)]) else {
        skip_or_fail("tmux could not start a server");
        return;
    };
    let bytes_file = case.path().join("terminal.bytes");
    t.pipe_to(&bytes_file);
    // An operator whose tmux lets OSC 52 through (else wfop says how and copies nothing:
    // tests/tui_reading.rs).
    t.cmd(&["set-option", "-g", "allow-passthrough", "on"]);
    std::fs::write(&go, "").expect("go");
    let mut screens = Vec::new();
    t.wait_for(&mut screens, "the run to end", |s| {
        let title = s.lines().next().unwrap_or("");
        title.contains(" succeeded in ") || title.contains(" failed in ")
    });
    // Focus the log pane, save it, copy all of it.
    t.key("Tab");
    t.key("Tab");
    t.keys("s");
    t.wait_for(&mut screens, "the log to be saved", |s| {
        s.contains("saved to")
    });
    t.keys("Y");
    t.wait_for(&mut screens, "the log to be copied", |s| {
        s.contains("copied")
    });
    screens.push(t.capture_all());
    t.keys("q");
    t.wait_dead();
    let screen = screens.concat();
    if std::env::var_os("SHOW_SCREEN").is_some() {
        eprintln!("{screen}");
    }

    // The service ran and printed every line; each was redacted as a whole.
    assert!(
        screen.contains("printed-all"),
        "the service did not print: {screen}"
    );
    for label in LABELS {
        assert!(
            screen.contains(&format!("{label}: ***")),
            "{label}: the split secret was not redacted as one: {screen}"
        );
    }
    let terminal = std::fs::read(&bytes_file).unwrap_or_default();
    assert!(!terminal.is_empty(), "nothing was captured from the pane");
    let copied = osc52_payloads(&terminal);
    assert!(
        copied.iter().any(|c| contains(c, b"printed-all")),
        "no OSC 52 copy of the log was written"
    );
    let saved: Vec<_> = std::fs::read_dir(case.path())
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .collect();
    assert!(!saved.is_empty(), "the TUI saved no log");

    let mut places: Vec<(String, Vec<u8>)> = vec![
        ("the screen".into(), screen.into_bytes()),
        ("the terminal bytes".into(), terminal),
    ];
    for (i, c) in copied.into_iter().enumerate() {
        places.push((format!("OSC 52 copy #{i}"), c));
    }
    for p in saved {
        places.push((
            format!("saved {}", p.display()),
            std::fs::read(&p).unwrap_or_default(),
        ));
    }
    for (place, bytes) in &places {
        assert_absent(bytes, TOK, place);
        // Also the two halves around the split point, as the view would rejoin them.
        assert!(
            !contains(bytes, &TOK.as_bytes()[4..10]),
            "the middle of the secret is in {place}"
        );
    }
}
