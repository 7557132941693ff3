//! `wfop redact` as a user runs it: a writer that pauses between partial writes, a prompt
//! without a newline that must appear at once, encodings, refusals that never echo a value.

mod cli_support;

use cli_support::scratch;
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const TOKEN: &str = "tok/3f9a+2c7e=1b4d8f60";

/// TOKEN URL-encoded (its `/`, `+` and `=` are reserved characters).
fn url_encoded() -> String {
    TOKEN
        .replace('/', "%2F")
        .replace('+', "%2B")
        .replace('=', "%3D")
}

fn wfop() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_wfop"));
    c.env("WFOP_TEST_TOKEN", TOKEN);
    c
}

fn b64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Everything the redactor must never let through for TOKEN.
fn needles() -> Vec<String> {
    vec![TOKEN.to_string(), b64(TOKEN.as_bytes()), url_encoded()]
}

fn run_with_input(args: &[&str], input: &[u8]) -> std::process::Output {
    let mut child = wfop()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("wfop starts");
    let mut stdin = child.stdin.take().expect("stdin");
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().expect("wfop ends");
    writer.join().expect("writer");
    out
}

#[test]
fn redacts_a_secret_written_in_pieces_with_pauses() {
    let (a, b) = TOKEN.split_at(7);
    let script = format!(
        "printf 'auth: {a}'; sleep 0.2; printf '{b} ok\\n'; sleep 0.2; printf 'b64 {}\\n'",
        b64(TOKEN.as_bytes())
    );
    let mut writer = Command::new("sh")
        .args(["-c", &script])
        .stdout(Stdio::piped())
        .spawn()
        .expect("sh");
    let out = wfop()
        .args(["redact", "--secret", "tok=env:WFOP_TEST_TOKEN"])
        .stdin(writer.stdout.take().expect("pipe"))
        .output()
        .expect("wfop runs");
    assert!(writer.wait().expect("sh ends").success());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "auth: *** ok\nb64 ***\n"
    );
}

#[test]
fn a_prompt_without_newline_appears_before_the_writer_goes_on() {
    let dir = scratch("redact-prompt");
    let go = dir.join("go");
    // The writer prints a prompt, then waits until the test has seen it on wfop's stdout.
    let script = format!(
        "printf 'password: '; while [ ! -e '{}' ]; do sleep 0.05; done; printf '{TOKEN}\\n'",
        go.display()
    );
    let mut writer = Command::new("sh")
        .args(["-c", &script])
        .stdout(Stdio::piped())
        .spawn()
        .expect("sh");
    let mut child = wfop()
        .args(["redact", "--secret", "tok=env:WFOP_TEST_TOKEN"])
        .stdin(writer.stdout.take().expect("pipe"))
        .stdout(Stdio::piped())
        .spawn()
        .expect("wfop runs");
    let mut stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut seen = Vec::new();
        let mut buf = [0u8; 256];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 {
                break;
            }
            seen.extend_from_slice(&buf[..n]);
            let _ = tx.send(seen.clone());
        }
    });
    let mut seen = Vec::new();
    while !seen.starts_with(b"password: ") {
        // A liveness bound, not a timing assertion: without the prompt the writer never goes on.
        seen = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("the prompt must appear before its newline");
    }
    std::fs::write(&go, "").expect("go");
    while let Ok(s) = rx.recv_timeout(Duration::from_secs(20)) {
        seen = s;
    }
    assert!(child.wait().expect("wfop ends").success());
    assert!(writer.wait().expect("sh ends").success());
    assert_eq!(String::from_utf8_lossy(&seen), "password: ***\n");
}

#[test]
fn encodings_binary_and_counts() {
    let mut input = format!(
        "raw {TOKEN}\nbase64 {}\nurl {}\njson \"{TOKEN}\"\n",
        b64(TOKEN.as_bytes()),
        url_encoded()
    )
    .into_bytes();
    input.extend_from_slice(&[0xff, 0x00, 0xfe, b'\n']);
    let out = run_with_input(
        &["redact", "--counts", "--secret", "tok=env:WFOP_TEST_TOKEN"],
        &input,
    );
    assert!(out.status.success());
    let stdout = out.stdout;
    let text = String::from_utf8_lossy(&stdout);
    for n in needles() {
        assert!(!text.contains(&n), "{n} leaked in {text}");
    }
    assert!(
        stdout.ends_with(&[0xff, 0x00, 0xfe, b'\n']),
        "binary passes through unchanged"
    );
    assert!(
        text.starts_with("raw ***\nbase64 ***\nurl ***\njson \"***\"\n"),
        "{text}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("wfop: tok redacted 4×"), "{stderr}");
}

#[test]
fn secrets_from_files_and_short_secret_warning() {
    let dir = scratch("redact-file");
    let file = dir.join("pin");
    std::fs::write(&file, "4711\n").unwrap();
    let spec = format!("pin=file:{}", file.display());
    let out = run_with_input(&["redact", "--secret", &spec], b"pin is 4711.\n");
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "pin is ***.\n");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("secret `pin` is shorter than"), "{stderr}");
    assert!(!stderr.contains("4711"), "{stderr}");
}

#[test]
fn refusals_exit_2_and_never_echo_the_value() {
    let out = run_with_input(&["redact", "--secret", "tok=hunter2-literal-value"], b"");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("literal values are refused"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");

    let out = run_with_input(
        &["redact", "--secret", "tok=env:WFOP_SURELY_UNSET_VARIABLE"],
        b"",
    );
    assert_eq!(out.status.code(), Some(2));
    // The flag is named by its position: the text after `env:` may be a value the shell
    // expanded (`env:$TOKEN`), so it is not repeated.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("the 1st --secret: its environment variable is not set"),
        "{stderr}"
    );
    assert!(!stderr.contains("WFOP_SURELY_UNSET_VARIABLE"), "{stderr}");

    let out = wfop()
        .args(["redact", "--secret", "tok=env:EMPTY"])
        .env("EMPTY", "  ")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("the value is empty"));

    let out = wfop()
        .args(["redact"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "at least one --secret is required"
    );
}

#[test]
fn core_dumps_are_off_while_it_runs() {
    let mut child = wfop()
        .args(["redact", "--secret", "tok=env:WFOP_TEST_TOKEN"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("wfop runs");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut stdout = child.stdout.take().expect("stdout");
    // Once a line comes back, the secrets are loaded and the process is hardened.
    stdin.write_all(b"ready\n").unwrap();
    let mut buf = [0u8; 6];
    stdout.read_exact(&mut buf).unwrap();
    let limits =
        std::fs::read_to_string(format!("/proc/{}/limits", child.id())).unwrap_or_default();
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", child.id())).unwrap_or_default();
    drop(stdin);
    assert!(child.wait().unwrap().success());
    let core = limits
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .expect("limits readable");
    assert!(
        core.split_whitespace().nth(4) == Some("0") && core.split_whitespace().nth(5) == Some("0"),
        "{core}"
    );
    assert!(
        !String::from_utf8_lossy(&cmdline).contains(TOKEN),
        "the secret is never in argv"
    );
}
