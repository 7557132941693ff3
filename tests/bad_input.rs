//! Everything a user hands to `wfop run` — the workflow file, the `--input` file, `--secret`
//! sources — and the theme loader (`--theme PATH` once the TUI flag exists; the loader is
//! tested directly here): missing, a folder, a named pipe, empty, binary, huge (100 MB) and
//! deeply nested. Each fails with exit 2 and a message that says where (`file:line:col` for
//! files the user wrote), never a panic, a crash or a hang, and nothing runs.

mod run_support;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use run_support::*;
use serde_json::json;
use wfop::ui::tui::theme::{Theme, ThemeError};

const WATCHDOG: Duration = Duration::from_secs(120);

/// `wfop ARGS` with a watchdog; (exit code, stderr).
fn wfop(case: &Case, args: &[&str], envs: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut c = case.command(args, envs);
    c.stdout(Stdio::null()).stderr(Stdio::piped());
    let mut child = c.spawn().expect("start wfop");
    let mut err = child.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = std::io::Read::read_to_end(&mut err, &mut s);
        s
    });
    let t0 = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait") {
            break st;
        }
        if t0.elapsed() > WATCHDOG {
            let _ = child.kill();
            panic!("wfop {args:?} hung");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stderr = text(&reader.join().unwrap_or_default());
    assert!(!stderr.contains("panicked"), "{args:?} panicked: {stderr}");
    (status.code(), stderr)
}

/// The hostile files, by kind: (file name, bytes).
fn hostile(case: &Case) -> Vec<(&'static str, PathBuf)> {
    let dir = case.path().join("folder.json");
    std::fs::create_dir_all(&dir).unwrap();
    let huge = case.path().join("huge.json");
    let f = std::fs::File::create(&huge).unwrap();
    f.set_len(100 * 1024 * 1024).unwrap(); // 100 MB of NUL bytes, sparse
    vec![
        ("missing", case.path().join("missing.json")),
        ("folder", dir),
        ("empty", case.write("empty.json", "")),
        ("binary", {
            let p = case.path().join("binary.json");
            std::fs::write(&p, b"{\n  \"a\": \xff\xfe\x00\x01\n}").unwrap();
            p
        }),
        ("huge", huge),
        ("deep", case.write("deep.json", &"[".repeat(200_000))),
    ]
}

/// A named pipe at `name` in the case folder, with a writer thread that writes `content` once
/// a reader opens it (wfop reads a pipe like `cat` does: it waits for its writer).
fn fifo_with(case: &Case, name: &str, content: &str) -> PathBuf {
    let fifo = case.path().join(name);
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo reads a valid C string.
    let rc = unsafe { libc::mkfifo(c.as_ptr(), 0o600) };
    assert_eq!(rc, 0, "mkfifo: {}", std::io::Error::last_os_error());
    let (path, content) = (fifo.clone(), content.to_string());
    // Blocks in open() until wfop opens the pipe for reading; left behind if it never does
    // (then the test's assertion on the pipe's `file:line:col` fails).
    std::thread::spawn(move || {
        if let Ok(mut f) = std::fs::OpenOptions::new().write(true).open(&path) {
            let _ = std::io::Write::write_all(&mut f, content.as_bytes());
        }
    });
    fifo
}

fn workflow(case: &Case, marker: &Path) -> PathBuf {
    case.workflow(
        json!([{ "id": "s", "type": "service",
                 "run": { "command": ["touch", marker.to_str().unwrap()] },
                 "secrets": ["tok"],
                 "input_mapping": [ { "name": "$secrets", "value": "{ \"tok\": secret_value(\"api\") }" } ] }]),
        &[],
        &["api"],
    )
}

#[test]
fn bad_workflow_files() {
    let case = Case::new();
    let expected = [
        ("missing", "cannot read the file"),
        ("folder", "cannot read the file"),
        ("empty", "1:1"),
        ("binary", "binary.json:2:8: the file is not UTF-8 text"),
        ("huge", "files wfop reads are limited to"),
        ("deep", "nested too deeply"),
    ];
    for ((kind, path), (k2, want)) in hostile(&case).into_iter().zip(expected) {
        assert_eq!(kind, k2);
        let (code, stderr) = wfop(
            &case,
            &["run", path.to_str().unwrap(), "--plain"],
            &[("WFOP_TEST_API", IBM_KEY)],
        );
        assert_eq!(code, Some(2), "{kind}: {stderr}");
        assert!(stderr.contains(want), "{kind}: want {want:?} in {stderr}");
        assert!(
            stderr.contains(path.file_name().unwrap().to_str().unwrap()),
            "{kind}: the message names the file: {stderr}"
        );
    }
    // A named pipe is read to its end; what came through it is checked like a file.
    let fifo = fifo_with(
        &case,
        "fifo.json",
        "{\n  \"name\": \"x\",\n  \"nodes\": [\n",
    );
    let (code, stderr) = wfop(&case, &["run", fifo.to_str().unwrap(), "--plain"], &[]);
    assert_eq!(code, Some(2), "fifo: {stderr}");
    assert!(
        stderr.contains("fifo.json:3:12") && stderr.contains("never closed"),
        "fifo: the pipe's content was read and placed: {stderr}"
    );
    assert!(!case.state().join("runs").exists(), "a record was made");
}

#[test]
fn bad_input_files() {
    let case = Case::new();
    let marker = case.path().join("ran");
    let wf = workflow(&case, &marker);
    let expected = [
        ("missing", "cannot read it"),
        ("folder", "cannot read it"),
        ("empty", "empty.json:1:1"),
        ("binary", "binary.json:2:8"),
        ("huge", "huge.json: the file is 104857600 bytes"),
        ("deep", "deep.json:1:129"),
    ];
    let nested_obj = case.write("nested.json", &"{\"a\":".repeat(10_000));
    let not_object = case.write("list.json", "[1, 2]");
    let mut all: Vec<(&str, PathBuf, &str)> = hostile(&case)
        .into_iter()
        .zip(expected)
        .map(|((k, p), (_, w))| (k, p, w))
        .collect();
    all.push(("nested object", nested_obj, "nested.json:1:"));
    // A named pipe holding a value after a syntax slip: read, placed, and masked.
    let fifo = fifo_with(
        &case,
        "fifo.json",
        &format!("{{ \"$secrets\": {{ \"api\": \"{IBM_KEY}\" \"x\": 1 }} }}"),
    );
    all.push(("named pipe", fifo, "fifo.json:1:"));
    all.push(("not an object", not_object, "not an array"));
    for (kind, path, want) in all {
        let (code, stderr) = wfop(
            &case,
            &[
                "run",
                wf.to_str().unwrap(),
                "--plain",
                "--input",
                path.to_str().unwrap(),
                "--secret",
                "api=env:WFOP_TEST_API",
            ],
            &[("WFOP_TEST_API", IBM_KEY)],
        );
        assert_eq!(code, Some(2), "{kind}: {stderr}");
        assert!(stderr.contains(want), "{kind}: want {want:?} in {stderr}");
        assert!(stderr.contains("--input"), "{kind}: {stderr}");
        if kind == "named pipe" {
            assert!(
                stderr.contains("fifo.json:1:71") && stderr.contains("expected `,` or `}`"),
                "the pipe's content was read: {stderr}"
            );
            assert_absent(stderr.as_bytes(), IBM_KEY, "stderr of the named pipe input");
        }
    }
    assert!(!marker.exists(), "a service ran");
}

#[test]
fn bad_secret_sources() {
    let case = Case::new();
    let marker = case.path().join("ran");
    let wf = workflow(&case, &marker);
    let big = case.path().join("big.secret");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(100 * 1024 * 1024)
        .unwrap();
    let fifo = case.path().join("secret.fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo reads a valid C string.
    unsafe { libc::mkfifo(c.as_ptr(), 0o600) };
    let binary = case.path().join("bin.secret");
    std::fs::write(&binary, b"\xff\xfe\x00tok").unwrap();
    let empty = case.write("empty.secret", "");
    let newline = case.write("nl.secret", "\n");
    let nul = case.path().join("nul.secret");
    std::fs::write(&nul, format!("{IBM_KEY}\0tail")).unwrap();
    let holding = case.write("holding.secret", IBM_KEY);
    let p = |p: &PathBuf| format!("api=file:{}", p.display());
    let cases: Vec<(String, &str)> = vec![
        // Values where a name, a variable or a path goes (issue 9, item 7).
        (format!("{IBM_KEY}=="), "literal values are refused"),
        (format!("api={IBM_KEY}"), "literal values are refused"),
        (format!("sk-{IBM_KEY}=x"), "literal values are refused"),
        (
            format!("api=env:{IBM_KEY}"),
            "its environment variable is not set",
        ),
        (format!("api=file:{IBM_KEY}"), "cannot read its file"),
        (
            format!("{IBM_KEY}=file:{}", holding.display()),
            "is not a secret name",
        ),
        (
            "api=env:WFOP_SURELY_UNSET".into(),
            "the 1st --secret: its environment variable is not set",
        ),
        ("api=env:WFOP_TEST_EMPTY".into(), "the value is empty"),
        ("api=env:WFOP_TEST_BLANK".into(), "the value is empty"),
        (
            p(&case.path().join("missing.secret")),
            "cannot read its file",
        ),
        (p(&case.path().to_path_buf()), "not a regular file"),
        (p(&fifo), "not a regular file"),
        (p(&binary), "not UTF-8"),
        (p(&big), "a secret file may hold at most"),
        (p(&empty), "the value is empty"),
        (p(&newline), "the value is empty"),
        (p(&nul), "NUL character"),
        ("api=".into(), "literal values are refused"),
        ("api".into(), "NAME=env:VAR or NAME=file:PATH"),
        ("=env:X".into(), "is not a secret name"),
        ("api=file:".into(), "the path after `file:` is empty"),
    ];
    for (arg, want) in cases {
        let (code, stderr) = wfop(
            &case,
            &["run", wf.to_str().unwrap(), "--plain", "--secret", &arg],
            &[("WFOP_TEST_EMPTY", ""), ("WFOP_TEST_BLANK", "  \t ")],
        );
        // The value is in the argument or in the file it names; it is not in the message.
        assert_absent(stderr.as_bytes(), IBM_KEY, &format!("stderr for `{want}`"));
        assert_eq!(code, Some(2), "{arg}: {stderr}");
        assert!(stderr.contains(want), "{arg}: want {want:?} in {stderr}");
    }
    // Not valid UTF-8 in the environment.
    {
        use std::os::unix::ffi::OsStrExt;
        let mut c = case.command(
            &[
                "run",
                wf.to_str().unwrap(),
                "--plain",
                "--secret",
                "api=env:WFOP_TEST_BIN",
            ],
            &[],
        );
        c.env("WFOP_TEST_BIN", std::ffi::OsStr::from_bytes(b"\xff\xfe"));
        let out = c.output().unwrap();
        assert_eq!(out.status.code(), Some(2));
        assert!(
            text(&out.stderr).contains("not valid UTF-8"),
            "{}",
            text(&out.stderr)
        );
    }
    assert!(!marker.exists(), "a service ran");
}

#[test]
fn bad_theme_files() {
    let case = Case::new();
    for (kind, path) in hostile(&case) {
        if kind == "empty" {
            // An empty theme is the default theme: every role falls back.
            assert!(Theme::load(path.to_str().unwrap()).is_ok());
            continue;
        }
        let e = Theme::load(path.to_str().unwrap()).expect_err(kind);
        let shown = e.to_string();
        assert!(
            shown.contains(path.to_str().unwrap()),
            "{kind}: the message names the file: {shown}"
        );
        match kind {
            "deep" => assert!(
                matches!(e, ThemeError::Invalid { .. }) && shown.contains(":1:"),
                "{kind}: {shown}"
            ),
            "huge" => assert!(shown.contains("theme files are limited to"), "{shown}"),
            _ => {}
        }
    }
    let bad = case.write(
        "bad.toml",
        "text = { fg = \"red\" }\nerror = { fg = \"rde\" }\n",
    );
    let shown = Theme::load(bad.to_str().unwrap()).unwrap_err().to_string();
    assert!(shown.contains("bad.toml:2:"), "{shown}");
}

/// Finding: a problem far into a long line made the theme error's Display panic ("Formatting
/// argument out of range": the caret's padding was a format width) and print the whole line.
#[test]
fn theme_problem_deep_into_a_long_line_is_shown_cut() {
    let src = format!("text = {{ fg = \"{}\" }}\n", "x".repeat(200_000));
    let e = Theme::parse(&src, "long.toml").unwrap_err();
    let shown = e.to_string();
    assert!(shown.contains("┌─ long.toml:1:"), "{}", &shown[..300]);
    // The message quotes the bad value once; the source line is not shown whole again.
    assert!(
        shown.len() < src.len() + 2_000,
        "{} bytes shown",
        shown.len()
    );
    let src = format!("{}\n", "a".repeat(100_000));
    let shown = Theme::parse(&src, "flat.toml").unwrap_err().to_string();
    assert!(shown.len() < 2_000 && shown.contains('^'), "{shown}");
}
