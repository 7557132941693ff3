//! `wfop runs` says why each run ended (the node that failed and why, the signal, a cancel, a
//! rerun's reused run), and `wfop logs -f` ends with the run's final status line.

mod run_support;

use std::process::Stdio;
use std::time::{Duration, Instant};

use run_support::*;
use serde_json::json;

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !done() {
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "waited in vain for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn last_id(case: &Case) -> String {
    case.run_dir()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

/// start → a → b → end: `a` says hello; `b` fails with exit 3 unless `ok` exists, and waits
/// for `go` when `wait` exists (it writes `waiting` first).
fn case() -> (Case, std::path::PathBuf) {
    let case = Case::new();
    let d = case.path().display().to_string();
    let b = format!(
        r#"if [ -f '{d}/wait' ]; then touch '{d}/waiting'; while [ ! -f '{d}/go' ]; do sleep 0.05; done; fi; echo b here; [ -f '{d}/ok' ] || {{ echo 'no ok file' >&2; exit 3; }}"#
    );
    let wf = case.workflow(
        json!([
            { "id": "a", "type": "service", "run": { "command": ["sh", "-c", "echo hello from a"] } },
            { "id": "b", "type": "service", "run": { "command": ["sh", "-c", b] } }
        ]),
        &[("a", "b")],
        &[],
    );
    (case, wf)
}

#[test]
fn runs_says_why_each_run_ended() {
    let (case, wf) = case();
    let wfs = wf.to_str().unwrap();
    let out = case.wfop(&["run", wfs, "--plain"], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let failed = last_id(&case);

    // Interrupted: SIGTERM to wfop while `b` waits.
    case.write("wait", "");
    let mut child = case
        .command(&["run", wfs, "--plain"], &[])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for("b to wait", || case.path().join("waiting").exists());
    // SAFETY: a plain kill of the wfop this test started.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(128 + 15));
    let interrupted = last_id(&case);
    std::fs::remove_file(case.path().join("wait")).unwrap();

    case.write("ok", "");
    let out = case.wfop(
        &["run", wfs, "--plain", "--from", "b", "--reuse", &failed],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let rerun = last_id(&case);

    let runs = text(&case.wfop(&["runs"], &[]).stdout);
    let row = |id: &str| {
        runs.lines()
            .find(|l| l.starts_with(id))
            .unwrap_or_else(|| panic!("{id} in {runs}"))
            .to_string()
    };
    assert!(runs.lines().next().unwrap().ends_with("why"), "{runs}");
    assert!(
        row(&failed).ends_with("b failed: exited with code 3"),
        "{runs}"
    );
    assert!(
        row(&interrupted).contains("interrupted")
            && row(&interrupted).ends_with("stopped by SIGTERM (signal 15)"),
        "{runs}"
    );
    assert!(
        row(&rerun).contains("succeeded")
            && row(&rerun).ends_with(&format!("rerun from b, reusing run {failed} (1 node)")),
        "{runs}"
    );
}

#[test]
fn logs_follow_ends_with_the_final_status_line() {
    let (case, wf) = case();
    let wfs = wf.to_str().unwrap();
    // A finished run: the logs, then the line.
    let out = case.wfop(&["run", wfs, "--plain"], &[]);
    assert_eq!(out.status.code(), Some(1));
    let id = last_id(&case);
    let logs = case.wfop(&["logs", &id, "-f"], &[]);
    assert!(
        text(&logs.stdout).contains("[a] "),
        "{}",
        text(&logs.stdout)
    );
    let err = text(&logs.stderr);
    assert!(
        err.trim_end()
            .lines()
            .last()
            .is_some_and(|l| l.starts_with(&format!("wfop: run {id} failed in "))
                && l.ends_with(": b failed: exited with code 3")),
        "{err}"
    );
    // Without -f, only the logs.
    let plain = case.wfop(&["logs", &id], &[]);
    assert!(
        !text(&plain.stderr).contains("wfop: run"),
        "{}",
        text(&plain.stderr)
    );

    // A live run followed to its end.
    case.write("wait", "");
    case.write("ok", "");
    let mut run = case
        .command(&["run", wfs, "--plain"], &[])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for("b to wait", || case.path().join("waiting").exists());
    let live = last_id(&case);
    let follow = case
        .command(&["logs", &live, "--follow"], &[])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    case.write("go", "");
    let out = follow.wait_with_output().unwrap();
    assert!(run.wait().unwrap().success());
    assert!(
        text(&out.stdout).contains("stdout b here"),
        "{}",
        text(&out.stdout)
    );
    let err = text(&out.stderr);
    assert!(
        err.trim_end()
            .lines()
            .last()
            .is_some_and(|l| l.starts_with(&format!("wfop: run {live} succeeded in "))),
        "{err}"
    );
}
