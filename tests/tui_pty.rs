//! The real binary in a real pseudo-terminal (a private tmux server): a secret typed at the
//! masked prompt, the quantum example run to success, no form of the secret on any captured
//! screen; SIGTERM and SIGHUP restore the terminal (`stty -g` before and after) and exit
//! 143 / 129. Skipped when tmux is not installed. No wall-clock asserts: waits are polls with a
//! generous give-up.

mod run_support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use run_support::tmux::{GIVE_UP, Tmux};

/// A 44-character IBM Cloud API key shape, fake.
const SECRET: &str = "Zq3-Xv8_Lm2Np7Rt4Wy9Kb6Hd1Jf5Gc0Sa-Ue8Io3Px2";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn wfop() -> &'static str {
    env!("CARGO_BIN_EXE_wfop")
}

fn b64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in bytes.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..=c.len() {
            out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

/// The secret and the forms of it that must never be shown.
fn forms() -> Vec<String> {
    let url: String = SECRET
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let json = serde_json::to_string(SECRET).expect("json");
    vec![
        SECRET.to_string(),
        SECRET[..12].to_string(),
        SECRET[SECRET.len() - 12..].to_string(),
        b64(SECRET.as_bytes()),
        b64(SECRET.as_bytes()).replace('+', "-").replace('/', "_"),
        url,
        json.trim_matches('"').to_string(),
    ]
}

fn shell_quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', "'\\''"))
}

#[test]
fn secret_typed_at_the_prompt_never_reaches_the_screen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state");
    let exit = dir.path().join("exit");
    let cmd = format!(
        "cd {} && {} run workflows/quantum-secrets.json --input workflows/quantum-secrets.input.json --state-dir {}; echo $? > {}",
        shell_quote(&root()),
        shell_quote(Path::new(wfop())),
        shell_quote(&state),
        shell_quote(&exit),
    );
    let Some(t) = Tmux::start("secret", &cmd, 80, 24) else {
        return;
    };
    let mut seen = Vec::new();
    t.wait_for(&mut seen, "the prompt", |s| s.contains("secrets needed"));
    t.keys(SECRET);
    let typed = t.wait_for(&mut seen, "the mask", |s| s.contains("••••••••"));
    assert!(typed.contains("value:"), "{typed}");
    t.key("Enter");
    let done = t.wait_for(&mut seen, "the run to succeed", |s| {
        s.contains("succeeded in")
    });
    assert!(done.contains("(from: prompt)"), "{done}");
    assert!(done.contains("token accepted"), "{done}");
    // Search the logs, then quit to a clean terminal.
    t.key("Tab");
    t.key("Tab");
    t.keys("/token");
    t.key("Enter");
    t.wait_for(&mut seen, "search matches", |s| s.contains("/token 1/"));
    t.keys("q");
    t.wait_dead();
    let after = t.capture_all();
    seen.push(after.clone());
    assert!(
        after.contains("wfop: run "),
        "summary on the normal screen:\n{after}"
    );
    assert!(after.contains("orchestrated"), "{after}");
    assert!(after.contains("record: "), "{after}");
    // The outputs the run produced, as --plain prints them.
    assert!(after.contains("wfop: outputs"), "{after}");
    assert!(after.contains("counts   {\"00000\":"), "{after}");
    assert_eq!(
        std::fs::read_to_string(&exit).expect("exit code").trim(),
        "0"
    );
    for screen in &seen {
        for f in forms() {
            assert!(
                !screen.contains(&f),
                "a form of the secret on screen: {f}\n{screen}"
            );
        }
    }
}

/// Runs a long service in the TUI inside tmux, sends `sig` to wfop, and checks the terminal
/// modes and the exit code afterwards.
fn signal_restores_the_terminal(sig: &str, want: &str, during_run: bool) {
    signal_restores_the_terminal_with(sig, want, during_run, "");
}

/// [`signal_restores_the_terminal`] with more `wfop run` flags; returns the case's folder (its
/// `state` holds the run's record), none when tmux is missing (skipped).
fn signal_restores_the_terminal_with(
    sig: &str,
    want: &str,
    during_run: bool,
    flags: &str,
) -> Option<tempfile::TempDir> {
    let dir = tempfile::tempdir().expect("tempdir");
    let wf = dir.path().join("wf.json");
    std::fs::write(
        &wf,
        r#"{ "name": "sleepy", "secrets": { "tok": {} },
  "nodes": [ { "id": "start", "type": "start" },
             { "id": "sleeper", "type": "service",
               "run": { "command": ["sh", "-c", "echo sleeping; sleep 60"] },
               "secrets": ["tok"],
               "input_mapping": [ { "name": "$secrets", "value": "{ \"tok\": secret_value(\"tok\") }" } ] },
             { "id": "end", "type": "end" } ],
  "edges": [ { "from": "start", "to": "sleeper" }, { "from": "sleeper", "to": "end" } ] }"#,
    )
    .expect("write");
    let p = |name: &str| shell_quote(&dir.path().join(name));
    // With the secret from a file the run starts at once; without, wfop waits at the prompt.
    std::fs::write(dir.path().join("tok"), "s3cr3t-t0ken-value\n").expect("write");
    let secret = if during_run {
        format!("--secret tok=file:{}", p("tok"))
    } else {
        String::new()
    };
    let cmd = format!(
        "stty -g > {before}; sh -c 'echo $$ > {pid}; exec \"$0\" \"$@\"' {wfop} run {wf} {secret} {flags} --state-dir {state}; echo $? > {exit}; stty -g > {after}; sleep 60",
        before = p("before"),
        pid = p("pid"),
        wfop = shell_quote(Path::new(wfop())),
        wf = shell_quote(&wf),
        state = p("state"),
        exit = p("exit"),
        after = p("after"),
    );
    let t = Tmux::start(&format!("sig{sig}"), &cmd, 80, 24)?;
    let mut seen = Vec::new();
    let what = if during_run {
        "sleeping"
    } else {
        "secrets needed"
    };
    t.wait_for(&mut seen, what, |s| s.contains(what));
    assert_eq!(
        t.pane("#{alternate_on}"),
        "1",
        "the TUI uses the alternate screen"
    );
    let pid = std::fs::read_to_string(dir.path().join("pid")).expect("pid");
    let ok = Command::new("kill")
        .args([&format!("-{sig}"), pid.trim()])
        .status()
        .expect("kill")
        .success();
    assert!(ok);
    let start = Instant::now();
    while !dir.path().join("after").exists() {
        assert!(
            start.elapsed() < GIVE_UP,
            "wfop did not exit:\n{}",
            t.capture()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(100));
    let read = |n: &str| {
        std::fs::read_to_string(dir.path().join(n))
            .expect(n)
            .trim()
            .to_string()
    };
    assert_eq!(read("exit"), want);
    assert_eq!(
        read("before"),
        read("after"),
        "stty -g differs after the signal"
    );
    assert_eq!(t.pane("#{alternate_on}"), "0", "left the alternate screen");
    assert_eq!(t.pane("#{cursor_flag}"), "1", "the cursor is shown again");
    Some(dir)
}

#[test]
fn sigterm_during_a_run_restores_the_terminal_and_exits_143() {
    signal_restores_the_terminal("TERM", "143", true);
}

/// With `--stop-on-hangup` the run lives in the TUI's process: a lost terminal stops it.
#[test]
fn sighup_during_a_run_with_stop_on_hangup_restores_the_terminal_and_exits_129() {
    let Some(dir) = signal_restores_the_terminal_with("HUP", "129", true, "--stop-on-hangup")
    else {
        return;
    };
    let runs = dir.path().join("state/runs");
    let run = std::fs::read_dir(&runs)
        .expect("runs")
        .next()
        .expect("a run");
    let doc = std::fs::read_to_string(run.expect("entry").path().join("run.json")).expect("doc");
    assert!(doc.contains("\"interrupted\""), "{doc}");
}

/// By default the run lives in its run host: a lost terminal detaches (exit 0) and the run goes
/// on until `wfop stop` ends it.
#[test]
fn sighup_during_a_run_detaches_restores_the_terminal_and_the_run_goes_on() {
    let Some(dir) = signal_restores_the_terminal_with("HUP", "0", true, "") else {
        return;
    };
    let state = dir.path().join("state");
    let ps = Command::new(wfop())
        .args(["ps", "--json", "--state-dir"])
        .arg(&state)
        .output()
        .expect("ps");
    let listed = String::from_utf8_lossy(&ps.stdout).to_string();
    assert!(listed.contains("\"state\":\"running\""), "{listed}");
    let stop = Command::new(wfop())
        .args(["stop", "last", "--state-dir"])
        .arg(&state)
        .output()
        .expect("stop");
    assert!(
        stop.status.success(),
        "{}",
        String::from_utf8_lossy(&stop.stderr)
    );
    assert!(
        String::from_utf8_lossy(&stop.stdout).contains("cancelled"),
        "{}",
        String::from_utf8_lossy(&stop.stdout)
    );
}

#[test]
fn sigquit_during_a_run_restores_the_terminal_and_exits_131() {
    signal_restores_the_terminal("QUIT", "131", true);
}

#[test]
fn sigusr1_during_a_run_restores_the_terminal_and_exits_138() {
    signal_restores_the_terminal("USR1", "138", true);
}

#[test]
fn sigterm_at_the_prompt_restores_the_terminal_and_exits_143() {
    signal_restores_the_terminal("TERM", "143", false);
}

#[test]
fn a_broken_theme_file_exits_2_with_its_position_before_the_screen_opens() {
    let dir = tempfile::tempdir().expect("tempdir");
    let theme = dir.path().join("broken.toml");
    std::fs::write(
        &theme,
        "border = \"red\"\n[status]\nrunning = { fg = \"blurple\" }\n",
    )
    .unwrap();
    let cmd = format!(
        "cd {}; {} run --theme {} workflows/quantum-secrets.json; echo $? > {}",
        shell_quote(&root()),
        shell_quote(Path::new(wfop())),
        shell_quote(&theme),
        shell_quote(&dir.path().join("exit"))
    );
    let Some(t) = Tmux::start("theme", &cmd, 100, 20) else {
        return;
    };
    t.wait_dead();
    let screen = t.capture_all();
    let exit = std::fs::read_to_string(dir.path().join("exit")).unwrap_or_default();
    assert_eq!(exit.trim(), "2", "{screen}");
    assert!(
        screen.contains("error: unknown colour `blurple`") && screen.contains("broken.toml:3:18"),
        "{screen}"
    );
    assert!(screen.contains("did you mean `blue`?"), "{screen}");
    assert_eq!(t.pane("#{alternate_on}"), "0", "the screen never opened");
}

/// A PEM-shaped fake key of three lines (the body line is what a leak would show).
const PEM_BODY: &str = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0MjQyZmFrZWtleQ";

fn pem() -> String {
    format!("-----BEGIN TEST KEY-----\n{PEM_BODY}\n-----END TEST KEY-----")
}

/// Pastes a three-line key at the masked field (`bracketed`: tmux frames it as the TUI asked,
/// then Enter is pressed; otherwise its lines arrive as keys, CR-separated, ending with one).
/// The service compares what it got with the key and prints a verdict, never the value.
fn paste_a_key_at_the_masked_field(bracketed: bool) {
    let dir = tempfile::tempdir().expect("tempdir");
    let expected = dir.path().join("expected.pem");
    std::fs::write(&expected, pem()).expect("write");
    let script = format!(
        r#"if printf %s "$SECRET_KEY" | cmp -s - {}; then echo 'pem: full value received'; else echo "pem: mismatch, $(printf %s "$SECRET_KEY" | wc -l) line breaks"; fi; printf "leak: %s\n" "$SECRET_KEY""#,
        shell_quote(&expected)
    );
    let wf = serde_json::json!({
        "name": "pem", "secrets": { "pem": { "description": "a PEM key" } },
        "nodes": [ { "id": "start", "type": "start" },
                   { "id": "check", "type": "service", "run": { "command": ["sh", "-c", script] },
                     "secrets": ["key"],
                     "input_mapping": [ { "name": "$secrets", "value": "{ \"key\": secret_value(\"pem\") }" } ] },
                   { "id": "end", "type": "end" } ],
        "edges": [ { "from": "start", "to": "check" }, { "from": "check", "to": "end" } ] });
    std::fs::write(dir.path().join("wf.json"), wf.to_string()).expect("write");
    let cmd = format!(
        "cd {} && {} run wf.json --state-dir state; echo $? > exit",
        shell_quote(dir.path()),
        shell_quote(Path::new(wfop())),
    );
    let Some(t) = Tmux::start("paste", &cmd, 100, 30) else {
        return;
    };
    let mut seen = Vec::new();
    t.wait_for(&mut seen, "the prompt", |s| s.contains("secrets needed"));
    let buffer = format!("{}\n", pem());
    assert!(t.cmd(&["set-buffer", "--", &buffer]).status.success());
    let paste: &[&str] = if bracketed {
        &["paste-buffer", "-p"]
    } else {
        &["paste-buffer"]
    };
    assert!(t.cmd(paste).status.success(), "tmux paste-buffer");
    if bracketed {
        t.wait_for(&mut seen, "the mask", |s| s.contains("••••••••"));
        t.key("Enter");
    }
    let done = t.wait_for(&mut seen, "the run to end", |s| {
        s.contains("succeeded in") || s.contains("failed in") || s.contains("pem: mismatch")
    });
    // No key of the paste became a command: still on the graph pane, no overlay, one run.
    let plain = t.capture_all();
    seen.push(plain.clone());
    assert!(plain.contains("←/h select"), "focus moved:\n{plain}");
    assert!(
        !plain.contains("keys — Esc closes"),
        "an overlay opened:\n{plain}"
    );
    assert!(
        done.contains("pem: full value received"),
        "the service got the whole key, line breaks included:\n{done}"
    );
    // The service printed the key: redacted.
    assert!(
        plain
            .lines()
            .any(|l| l.contains("[check]") && l.contains("leak: ***")),
        "{plain}"
    );
    t.keys("q");
    t.wait_dead();
    let after = t.capture_all();
    seen.push(after.clone());
    assert_eq!(
        std::fs::read_to_string(dir.path().join("exit"))
            .expect("exit code")
            .trim(),
        "0",
        "{after}"
    );
    let runs = std::fs::read_dir(dir.path().join("state/runs"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(runs, 1, "the paste started no second run");
    for screen in &seen {
        assert!(!screen.contains(PEM_BODY), "the key on screen:\n{screen}");
    }
}

#[test]
fn a_key_pasted_bracketed_at_the_masked_field_is_taken_whole() {
    paste_a_key_at_the_masked_field(true);
}

#[test]
fn a_key_pasted_without_brackets_is_taken_whole_and_fires_no_command() {
    paste_a_key_at_the_masked_field(false);
}
