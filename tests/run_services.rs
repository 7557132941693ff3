//! `wfop run` with small test services: failure, fail-fast and keep-going, timeouts (no
//! grandchild survives), crashes, binary output, secrets printed or returned, input errors,
//! signals to wfop, `--json`, `wfop runs` and `wfop logs --follow`, the Python shim.

mod run_support;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

use run_support::*;
use serde_json::json;

fn sh(id: &str, script: &str) -> serde_json::Value {
    json!({ "id": id, "type": "service", "run": { "command": ["sh", "-c", script] } })
}

fn run_wf(
    case: &Case,
    wf: &std::path::Path,
    extra: &[&str],
    envs: &[(&str, &str)],
) -> std::process::Output {
    let mut args = vec!["run", wf.to_str().unwrap()];
    args.extend_from_slice(extra);
    case.wfop(&args, envs)
}

#[test]
fn failure_shows_the_problem_document_cancels_siblings_and_skips_the_rest() {
    let case = Case::new();
    let wf = case.workflow(
        json!([
            sh("bad", r#"sleep 0.2; echo '{"title":"BadInput","detail":"qubits must be positive"}' > "$OUTPUT_DIRECTORY/output.json"; exit 3"#),
            sh("slow", "sleep 30"),
            sh("after", "echo never"),
        ]),
        &[("bad", "after")],
        &[],
    );
    let out = run_wf(&case, &wf, &["--max-parallel", "2"], &[]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("wfop: bad failed in"), "{stdout}");
    assert!(
        stdout.contains("(exit code 3): BadInput: qubits must be positive"),
        "{stdout}"
    );
    assert!(stdout.contains("wfop: slow cancelled"), "{stdout}");
    assert!(
        stdout.contains("wfop: after skipped: the run stopped after `bad` failed"),
        "{stdout}"
    );
    let run = case.run_json();
    assert_eq!(run["status"], "failed");
    assert_eq!(node(&run, "bad")["exit_code"], 3);
    assert_eq!(node(&run, "slow")["status"], "cancelled");
    assert_eq!(node(&run, "after")["status"], "skipped");
}

#[test]
fn keep_going_runs_what_does_not_depend_on_the_failure() {
    let case = Case::new();
    let wf = case.workflow(
        json!([
            sh("bad", "exit 1"),
            sh("after", "echo never"),
            sh("other", "sleep 0.3; echo fine")
        ]),
        &[("bad", "after")],
        &[],
    );
    let out = run_wf(&case, &wf, &["--keep-going", "--max-parallel", "1"], &[]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("[other] fine"), "{stdout}");
    assert!(
        stdout.contains("after skipped: needs `bad`, which did not succeed"),
        "{stdout}"
    );
    assert_eq!(node(&case.run_json(), "other")["status"], "succeeded");
}

#[test]
fn timeout_kills_the_whole_process_group_grandchildren_too() {
    let case = Case::new();
    let pidfile = case.path().join("grandchild.pid");
    let mut n = sh(
        "hang",
        r#"sleep 600 & echo "$! $(readlink /proc/self/ns/pid)" > "$PIDFILE"; echo started; wait"#,
    );
    n["timeout"] = json!("500ms");
    let wf = case.workflow(json!([n]), &[], &[]);
    let out = run_wf(&case, &wf, &[], &[("PIDFILE", pidfile.to_str().unwrap())]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("[hang] started"), "{stdout}");
    assert!(stdout.contains("hang timed out in"), "{stdout}");
    assert!(stdout.contains("timed out after 500ms"), "{stdout}");
    // The group was ended as one (SIGTERM, well within the 5 s grace): no pipe held past it.
    assert!(
        !stdout.contains("left the service's process group"),
        "{stdout}"
    );
    // SIGTERM ended it, not the SIGKILL after the grace.
    let run = case.run_json();
    assert_eq!(node(&run, "hang")["signal"], 15, "{run}");
    let pid = SvcPid::parse(&std::fs::read_to_string(&pidfile).unwrap()).unwrap();
    // The grandchild may be a zombie for a moment until init reaps it; give it that moment.
    let mut alive = pid.alive();
    for _ in 0..50 {
        if !alive {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
        alive = pid.alive();
    }
    assert!(!alive, "the grandchild survived");
    assert_eq!(node(&case.run_json(), "hang")["status"], "timed_out");
}

#[test]
fn a_service_killed_by_a_signal_fails_with_the_signal() {
    let case = Case::new();
    let wf = case.workflow(json!([sh("crash", "echo before; kill -SEGV $$")]), &[], &[]);
    let out = run_wf(&case, &wf, &[], &[]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("killed by signal 11 (SIGSEGV)"), "{stdout}");
    assert_eq!(node(&case.run_json(), "crash")["signal"], 11);
}

#[test]
fn binary_output_passes_with_control_bytes_neutralised() {
    let case = Case::new();
    let wf = case.workflow(
        json!([sh("bin", r#"printf 'head\033]0;evil title\007\000\377\376tail\n'; head -c 3000 /dev/urandom; printf '\nend\n'"#)]),
        &[],
        &[],
    );
    let out = run_wf(&case, &wf, &[], &[]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("[bin] head\\x1b]0;evil title\\x07\\x00"),
        "{stdout}"
    );
    assert!(
        !out.stdout.contains(&0x1b),
        "an escape byte reached the terminal"
    );
    assert!(stdout.contains("[bin] end"), "{stdout}");
    let log = std::fs::read(case.run_dir().join("bin.log")).unwrap();
    assert!(
        log.windows(3).any(|w| w == b"\xff\xfet"),
        "the record keeps the bytes"
    );
}

#[test]
fn a_secret_printed_in_pieces_with_pauses_is_redacted() {
    let case = Case::new();
    let script = r#"v="$SECRET_TOK"; a=$(printf %s "$v" | cut -c1-10); b=$(printf %s "$v" | cut -c11-30); c=$(printf %s "$v" | cut -c31-)
printf 'token: %s' "$a"; sleep 0.3; printf '%s' "$b"; sleep 0.3; printf '%s done\n' "$c"
printf '%s' "$v" | base64; echo; echo "to stderr $v" >&2"#;
    let wf = case.workflow(
        json!([{ "id": "leaky", "type": "service", "run": { "command": ["sh", "-c", script] },
                 "secrets": ["tok"],
                 "input_mapping": [ { "name": "$secrets", "value": "{ \"tok\": secret_value(\"api\") }" } ] }]),
        &[],
        &["api"],
    );
    let out = run_wf(
        &case,
        &wf,
        &["--secret", "api=env:WFOP_TEST_API"],
        &[("WFOP_TEST_API", IBM_KEY)],
    );
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("[leaky] token: *** done"), "{stdout}");
    assert!(stdout.contains("[leaky] to stderr ***"), "{stdout}");
    assert!(stdout.contains("redacted api"), "{stdout}");
    assert_absent(&out.stdout, IBM_KEY, "stdout");
    for (path, bytes) in case.record_files() {
        assert_absent(&bytes, IBM_KEY, &path.display().to_string());
    }
}

/// A flood of short lines (it fills the pipe, which wfop then enlarges, and comes in large
/// batches): every line on stdout, in the node's log and in the event log, in order, each
/// secret redacted.
#[test]
fn a_flood_of_short_lines_keeps_every_line_in_order_everywhere() {
    const N: u32 = 120_000;
    let case = Case::new();
    let script = format!(
        r#"awk 'BEGIN {{ for (i = 1; i <= {N}; i++) {{ if (i % 997 == 0) printf "line %d key %s \"q\"\n", i, ENVIRON["SECRET_TOK"]; else printf "line %d of the flood\t%s\n", i, "x" }} }}'"#
    );
    let wf = case.workflow(
        json!([{ "id": "flood", "type": "service", "run": { "command": ["sh", "-c", script] },
                 "secrets": ["tok"],
                 "input_mapping": [ { "name": "$secrets", "value": "{ \"tok\": secret_value(\"api\") }" } ] }]),
        &[],
        &["api"],
    );
    let out = run_wf(
        &case,
        &wf,
        &["--plain", "--secret", "api=env:WFOP_TEST_API"],
        &[("WFOP_TEST_API", IBM_KEY)],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let want: Vec<String> = (1..=N)
        .map(|i| match i % 997 {
            0 => format!("line {i} key *** \"q\""),
            _ => format!("line {i} of the flood\tx"),
        })
        .collect();
    let stdout = text(&out.stdout);
    let shown: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("[flood] "))
        .collect();
    assert!(
        shown == want,
        "stdout: {} lines, not the {N} in order",
        shown.len()
    );
    let log = text(&std::fs::read(case.run_dir().join("flood.log")).unwrap());
    let logged: Vec<&str> = log
        .lines()
        .filter_map(|l| l.splitn(3, ' ').nth(2))
        .filter(|l| l.starts_with("line "))
        .collect();
    assert!(
        logged == want,
        "node log: {} lines, not the {N} in order",
        logged.len()
    );
    let events = text(&std::fs::read(case.run_dir().join("events.jsonl")).unwrap());
    let mut batched = String::new();
    for e in events.lines() {
        let v: serde_json::Value = serde_json::from_str(e).expect("each event is JSON");
        if v["event"] == "node_log" && v["node"] == "flood" {
            batched.push_str(v["lines"].as_str().expect("lines"));
        }
    }
    let evented: Vec<&str> = batched.lines().collect();
    assert!(
        evented == want,
        "event log: {} lines, not the {N} in order",
        evented.len()
    );
    assert_absent(&out.stdout, IBM_KEY, "stdout");
    for (path, bytes) in case.record_files() {
        assert_absent(&bytes, IBM_KEY, &path.display().to_string());
    }
}

#[test]
fn a_secret_returned_in_the_result_is_redacted_with_a_warning() {
    let case = Case::new();
    let svc = case.write(
        "svc.py",
        "from qhub.commons.secret import SecretValue\n\ndef run(tok: SecretValue) -> dict:\n    return {\"echo\": tok.unwrap(), \"n\": 1}\n",
    );
    let wf = case.workflow(
        json!([{ "id": "returns", "type": "service",
                 "run": { "python": svc.file_name().unwrap().to_str().unwrap(), "function": "run" },
                 "secrets": ["tok"],
                 "input_mapping": [ { "name": "$secrets", "value": "{ \"tok\": secret_value(\"api\") }" } ] }]),
        &[],
        &["api"],
    );
    let out = run_wf(
        &case,
        &wf,
        &["--secret", "api=env:WFOP_TEST_API"],
        &[("WFOP_TEST_API", IBM_KEY)],
    );
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("returned the value of secret `api`"),
        "{stdout}"
    );
    let run = case.run_json();
    assert_eq!(run["variables"]["echo"], "***");
    assert_eq!(run["variables"]["n"], 1);
    for (path, bytes) in case.record_files() {
        assert_absent(&bytes, IBM_KEY, &path.display().to_string());
    }
}

#[test]
fn python_shim_emulates_the_hub_runtime() {
    let case = Case::new();
    let svc = case.write(
        "svc.py",
        r#"import os, sys
from qhub.commons.secret import SecretValue
from planqk.commons.secret import SecretValue as PlanqkSecretValue

def run(data: dict, scale: int, myToken: SecretValue) -> dict:
    facts = {"str": str(myToken), "repr": repr(myToken), "locked_before": myToken.is_locked,
             "same_class": SecretValue is PlanqkSecretValue}
    value = myToken.unwrap()
    facts["unwrapped_len_ok"] = len(value) == 44
    facts["locked_after"] = myToken.is_locked
    try:
        myToken.unwrap()
    except ValueError as e:
        facts["second"] = str(e)
    facts["doubled"] = [x * scale for x in data["xs"]]
    facts["stdin"] = sys.stdin.read() != ""
    print("hello from the service")
    return facts
"#,
    );
    let input = case.write("in.json", r#"{"xs": [1, 2, 3], "k": 2}"#);
    let wf = case.workflow(
        json!([{ "id": "py", "type": "service",
                 "run": { "python": "svc.py", "function": "run" },
                 "secrets": ["myToken"],
                 "input_mapping": [
                   { "name": "data", "value": "{ xs: xs }" },
                   { "name": "scale", "value": "k" },
                   { "name": "$secrets", "value": "{ \"myToken\": secret_value(\"api\") }" } ] }]),
        &[],
        &["api"],
    );
    let _ = svc;
    let out = run_wf(
        &case,
        &wf,
        &[
            "--input",
            input.to_str().unwrap(),
            "--secret",
            "api=env:WFOP_TEST_API",
        ],
        &[("WFOP_TEST_API", IBM_KEY)],
    );
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    assert!(stdout.contains("[py] hello from the service"), "{stdout}");
    let v = &case.run_json()["variables"];
    assert_eq!(v["str"], "[redacted]");
    assert_eq!(v["repr"], "SecretValue([redacted])");
    assert_eq!(v["locked_before"], false);
    assert_eq!(v["locked_after"], true);
    assert_eq!(v["unwrapped_len_ok"], true);
    assert_eq!(v["same_class"], true);
    assert_eq!(v["second"], "Secret is locked and cannot be unwrapped");
    assert_eq!(v["doubled"], json!([2, 4, 6]));
    assert_eq!(v["stdin"], true);
}

#[test]
fn a_python_service_runs_when_the_workflow_is_named_without_a_folder() {
    let case = Case::new();
    case.write(
        "svc.py",
        "def run(n: int) -> dict:\n    print('module found')\n    return {'twice': n * 2}\n",
    );
    case.workflow(
        json!([{ "id": "py", "type": "service",
                 "run": { "python": "svc.py", "function": "run" },
                 "input_mapping": [ { "name": "n", "value": "21" } ] }]),
        &[],
        &[],
    );
    // wfop runs in the case folder (Case::command): `wf.json` and `./wf.json` name one file.
    for name in ["wf.json", "./wf.json"] {
        let out = case.wfop(&["run", name, "--plain"], &[]);
        let stdout = text(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{name}: {stdout}\n{}",
            text(&out.stderr)
        );
        assert!(stdout.contains("[py] module found"), "{name}: {stdout}");
        assert_eq!(case.run_json()["variables"]["twice"], 42, "{name}");
    }
}

#[test]
fn python_exception_becomes_the_failure_reason() {
    let case = Case::new();
    case.write(
        "svc.py",
        "def run(x: int):\n    raise RuntimeError('no backend for ' + str(x))\n",
    );
    let wf = case.workflow(
        json!([{ "id": "py", "type": "service", "run": { "python": "svc.py", "function": "run" },
                 "input_mapping": [ { "name": "x", "value": "41 + 1" } ] }]),
        &[],
        &[],
    );
    let out = run_wf(&case, &wf, &[], &[]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("(exit code 1): RuntimeError: no backend for 42"),
        "{stdout}"
    );
}

#[test]
fn input_errors_exit_2_before_anything_runs() {
    let case = Case::new();
    let marker = case.path().join("ran");
    let wf = case.workflow(
        json!([{ "id": "s", "type": "service", "run": { "command": ["touch", marker.to_str().unwrap()] },
                 "secrets": ["tok"],
                 "input_mapping": [ { "name": "$secrets", "value": "{ \"tok\": secret_value(\"api_token\") }" } ] }]),
        &[],
        &["api_token"],
    );
    let w = wf.to_str().unwrap();
    let bad = case.write("bad.json", "{\n  \"a\": 1,\n  \"b\": ]\n}");
    let arr = case.write("arr.json", "[1, 2]");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec![
                "--input",
                bad.to_str().unwrap(),
                "--secret",
                "api_token=env:HOME",
            ],
            "bad.json:3:8",
        ),
        (
            vec![
                "--input",
                arr.to_str().unwrap(),
                "--secret",
                "api_token=env:HOME",
            ],
            "must be a JSON object of workflow variables, not an array",
        ),
        (
            vec!["--secret", "api_tokn=env:HOME"],
            "did you mean `api_token`?",
        ),
        (
            vec!["--secret", "api_token=env:WFOP_SURELY_UNSET"],
            "the 1st --secret: its environment variable is not set",
        ),
        (
            vec!["--secret", "api_token=file:/nonexistent/x"],
            "the 1st --secret: cannot read its file",
        ),
        (
            vec!["--secret", "api_token=hunter2-literal"],
            "literal values are refused",
        ),
        (vec![], "missing secrets and no terminal to ask for them"),
    ];
    for (extra, expected) in cases {
        let out = run_wf(&case, std::path::Path::new(w), &extra, &[]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {stderr}");
        assert!(stderr.contains(expected), "{extra:?}: {stderr}");
        assert!(!stderr.contains("hunter2"), "{stderr}");
    }
    assert!(!marker.exists(), "a service ran");
    assert!(!case.state().join("runs").exists(), "a record was made");
}

/// Gone, or a zombie waiting for its reaper; a moment is allowed for the kernel to get there.
fn gone(pid: &SvcPid) -> bool {
    for _ in 0..250 {
        if !pid.alive() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// The process a service wrote down as `PID_AND_NS` (a namespace pid inside the sandbox).
fn read_pid(p: &std::path::Path) -> SvcPid {
    let text = std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    SvcPid::parse(&text).unwrap_or_else(|| panic!("{}: no pid in {text:?}", p.display()))
}

/// Starts `wfop run WF` (plain) with a `sleeper` service whose pid and grandchild's pid are
/// written to files; returns wfop and what it printed up to `[sleeper] waiting`.
fn start_sleeper(
    case: &Case,
) -> (
    std::process::Child,
    std::io::Lines<BufReader<std::process::ChildStdout>>,
    Vec<String>,
    SvcPid,
    SvcPid,
) {
    let pidfile = case.path().join("child.pid");
    let gcfile = case.path().join("grandchild.pid");
    let wf = case.workflow(
        json!([
            sh(
                "sleeper",
                r#"echo "$$ $(readlink /proc/self/ns/pid)" > "$PIDFILE"; sleep 600 & echo "$! $(readlink /proc/self/ns/pid)" > "$GCFILE"; echo waiting; wait"#
            ),
            sh("later", "true")
        ]),
        &[("sleeper", "later")],
        &[],
    );
    let mut child = case
        .command(
            &["run", wf.to_str().unwrap(), "--plain"],
            &[
                ("PIDFILE", pidfile.to_str().unwrap()),
                ("GCFILE", gcfile.to_str().unwrap()),
            ],
        )
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        seen.push(line.clone());
        if line == "[sleeper] waiting" {
            break;
        }
    }
    // The service and its grandchild are running now (precondition of "none is left").
    let (pid, gc) = (read_pid(&pidfile), read_pid(&gcfile));
    assert!(pid.alive() && gc.alive(), "{seen:?}");
    (child, lines, seen, pid, gc)
}

#[test]
fn signals_to_wfop_cancel_purge_record_and_exit_128_plus_signal() {
    // Every stop signal a user or a system sends (engine::signals), not only TERM/INT/HUP.
    for (sig, code) in [
        (libc::SIGINT, 130),
        (libc::SIGTERM, 143),
        (libc::SIGHUP, 129),
        (libc::SIGQUIT, 131),
        (libc::SIGUSR1, 138),
        (libc::SIGUSR2, 140),
        (libc::SIGALRM, 142),
        (libc::SIGRTMIN() + 1, 128 + libc::SIGRTMIN() + 1),
    ] {
        let case = Case::new();
        let (mut child, lines, mut seen, pid, gc) = start_sleeper(&case);
        // SAFETY: plain kill of our own child.
        unsafe { libc::kill(child.id() as i32, sig) };
        seen.extend(lines.map(|l| l.unwrap()));
        let status = child.wait().unwrap();
        let all = seen.join("\n");
        assert_eq!(status.code(), Some(code), "signal {sig}: {all}");
        assert!(all.contains("wfop: secrets purged"), "{all}");
        assert!(
            all.contains(&format!("interrupted by signal {sig}")),
            "{all}"
        );
        let run = case.run_json();
        assert_eq!(run["status"], "interrupted");
        assert_eq!(run["exit_code"], code);
        assert_eq!(run["signal"], sig);
        assert_eq!(node(&run, "sleeper")["status"], "cancelled");
        assert_eq!(node(&run, "later")["status"], "skipped");
        // SIGTERM to the service's group ended it (not the SIGKILL after the 5 s grace, nor
        // the end-of-run reaper).
        assert_eq!(node(&run, "sleeper")["signal"], 15, "signal {sig}: {run}");
        assert!(!all.contains("left the service's process group"), "{all}");
        let log = std::fs::read_to_string(case.run_dir().join("sleeper.log")).unwrap();
        assert!(log.contains("stdout waiting"), "{log}");
        assert!(gone(&pid), "signal {sig}: the service survived");
        assert!(gone(&gc), "signal {sig}: the service's child survived");
    }
}

#[test]
fn a_closed_stdout_stops_the_output_not_the_run() {
    // SIGPIPE stays ignored (engine::signals): writing to a closed stdout is an error wfop
    // handles; the run goes on to its end and is recorded whole, and wfop exits normally.
    let case = Case::new();
    let marker = case.path().join("second.ran");
    let wf = case.workflow(
        json!([
            sh(
                "first",
                "i=0; while [ $i -lt 2000 ]; do echo line $i; i=$((i+1)); done"
            ),
            sh("second", r#"sleep 0.3; echo done; touch "$MARK""#)
        ]),
        &[("first", "second")],
        &[],
    );
    let mut child = case
        .command(
            &["run", wf.to_str().unwrap(), "--plain"],
            &[("MARK", marker.to_str().unwrap())],
        )
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // Read the first line, then close the pipe.
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    assert!(first.starts_with("wfop: run "), "{first}");
    drop(lines);
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{status:?}");
    assert!(marker.exists(), "the run stopped with its output");
    let run = case.run_json();
    assert_eq!(run["status"], "succeeded");
    let log = std::fs::read_to_string(case.run_dir().join("first.log")).unwrap();
    assert!(log.contains("stdout line 1999"), "the record is whole");
}

#[test]
fn a_wfop_killed_outright_shows_its_run_as_abandoned() {
    let case = Case::new();
    let (mut child, lines, seen, pid, gc) = start_sleeper(&case);
    let runs = text(&case.wfop(&["runs"], &[]).stdout);
    assert!(runs.contains("running"), "{runs}\n{seen:?}");
    // SAFETY: plain kill of our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    lines.for_each(drop);
    // Not reaped yet: its pid still answers `kill(pid, 0)`, as a dead wfop under a parent that
    // does not wait (or a reused pid) would.
    let listing = text(&case.wfop(&["runs"], &[]).stdout);
    assert!(
        listing.contains("abandoned") && !listing.contains("running"),
        "a killed, unreaped wfop: {listing}"
    );
    let status = child.wait().unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9)
    );
    let runs = case.wfop(&["runs"], &[]);
    let listing = text(&runs.stdout);
    assert!(
        listing.contains("abandoned") && !listing.contains("running"),
        "{listing}"
    );
    // The listing finished the record itself: it no longer says `running`.
    let doc = case.run_json();
    assert_eq!(doc["status"], "abandoned", "{doc}");
    assert!(
        doc["error"]
            .as_str()
            .unwrap_or("")
            .contains("ended without finishing"),
        "{doc}"
    );
    let logs = case.wfop(&["logs", "last"], &[]);
    assert!(
        text(&logs.stderr).contains("ended abnormally"),
        "{}",
        text(&logs.stderr)
    );
    assert!(text(&logs.stdout).contains("stdout waiting"));
    // The record side only: making the service tree die with wfop is the sandbox's job.
    for p in [pid, gc].iter().flat_map(SvcPid::host_pids) {
        // SAFETY: plain kill of processes this test started.
        unsafe { libc::kill(p, libc::SIGKILL) };
    }
}

#[test]
fn json_mode_is_one_event_per_line() {
    let case = Case::new();
    let wf = case.workflow(json!([sh("a", "echo one; echo two >&2")]), &[], &[]);
    let out = run_wf(&case, &wf, &["--json"], &[]);
    assert_eq!(out.status.code(), Some(0));
    let events: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.first(), Some(&"run_started"));
    assert_eq!(kinds.last(), Some(&"run_finished"));
    assert!(
        events
            .iter()
            .any(|e| e["event"] == "node_log" && e["line"] == "one" && e["stream"] == "stdout")
    );
    assert!(
        events
            .iter()
            .any(|e| e["event"] == "node_log" && e["line"] == "two" && e["stream"] == "stderr")
    );
    assert!(events.iter().any(|e| e["event"] == "secrets_purged"));
    let fin = events.last().unwrap();
    assert_eq!(fin["status"]["status"], "succeeded");
    assert_eq!(fin["nodes"][0]["node"], "a");
}

#[test]
fn a_long_line_of_multibyte_characters_round_trips_in_json_events() {
    let case = Case::new();
    // 2 + 3 × 100 000 bytes (> 256 KiB, the longest piece): `xx` shifts every 3-byte `€` so
    // pieces cut at a power of two would split characters.
    let line = format!("xx{}", "€".repeat(100_000));
    let file = case.write("line.txt", &line);
    let wf = case.workflow(
        json!([sh("wide", r#"cat "$LINE_FILE"; echo; echo after"#)]),
        &[],
        &[],
    );
    let out = run_wf(
        &case,
        &wf,
        &["--json"],
        &[("LINE_FILE", file.to_str().unwrap())],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let pieces: Vec<String> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["event"] == "node_log" && e["node"] == "wide")
        .map(|e| e["line"].as_str().unwrap().to_string())
        .collect();
    assert!(
        pieces.len() > 2,
        "the line came in pieces: {}",
        pieces.len()
    );
    assert_eq!(pieces.last().map(String::as_str), Some("after"));
    let joined = pieces[..pieces.len() - 1].concat();
    assert!(!joined.contains('\u{FFFD}'), "a character was split");
    assert!(joined == line, "the line does not round-trip");
}

#[test]
fn node_ids_are_bounded_by_check_and_the_longest_allowed_one_runs() {
    let case = Case::new();
    let long = "n".repeat(300);
    let wf = case.workflow(json!([sh(&long, "echo hi")]), &[], &[]);
    let check = std::process::Command::new(env!("CARGO_BIN_EXE_wfop"))
        .args(["check", wf.to_str().unwrap()])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stderr = text(&check.stderr);
    assert_eq!(check.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("this node id is 300 characters long; at most 128 are allowed"),
        "{stderr}"
    );
    // file:line:col of the id.
    let at = format!("{}:", wf.display());
    let pos = stderr.find(&at).map(|i| &stderr[i + at.len()..]);
    assert!(
        pos.is_some_and(|p| {
            let mut f = p.split(':');
            let line = f.next().unwrap_or("");
            let col: String = f
                .next()
                .unwrap_or("")
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            line.parse::<u32>().is_ok() && col.parse::<u32>().is_ok()
        }),
        "{stderr}"
    );
    let run = case.wfop(&["run", wf.to_str().unwrap(), "--plain"], &[]);
    assert_eq!(run.status.code(), Some(2), "{}", text(&run.stdout));
    assert!(!case.state().join("runs").exists(), "nothing ran");

    let max = format!("a{}", "b".repeat(127));
    let wf = case.workflow(json!([sh(&max, "echo hi")]), &[], &[]);
    let run = case.wfop(&["run", wf.to_str().unwrap(), "--plain"], &[]);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stdout));
    let logs = case.wfop(&["logs", "last", &max], &[]);
    assert!(
        text(&logs.stdout).contains("stdout hi"),
        "{}",
        text(&logs.stderr)
    );
}

#[test]
fn runs_started_in_one_second_are_listed_in_start_order() {
    let case = Case::new();
    let wf = case.workflow(json!([sh("say", r#"echo "run $N""#)]), &[], &[]);
    let mut ids = Vec::new();
    for n in 0..6 {
        let out = case.wfop(
            &["run", wf.to_str().unwrap(), "--plain"],
            &[("N", &n.to_string())],
        );
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
        let first = text(&out.stdout);
        let id = first
            .split_whitespace()
            .nth(2)
            .unwrap_or_default()
            .to_string();
        ids.push(id);
    }
    // Precondition: some runs share their second (the ids' `YYYYMMDD-HHMMSS` head).
    let heads: std::collections::HashSet<&str> = ids.iter().map(|i| &i[..15]).collect();
    assert!(
        heads.len() < ids.len(),
        "no two runs in one second: {ids:?}"
    );
    let listing = text(&case.wfop(&["runs"], &[]).stdout);
    let listed: Vec<&str> = listing
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(listed, ids, "{listing}");
    let last = case.wfop(&["logs", "last"], &[]);
    assert!(
        text(&last.stdout).contains("stdout run 5"),
        "{}",
        text(&last.stdout)
    );
}

#[test]
fn runs_lists_and_logs_follow_a_run_that_is_still_going() {
    let case = Case::new();
    let wf = case.workflow(
        json!([
            sh(
                "ticker",
                "for i in 1 2 3 4 5; do echo tick $i; sleep 0.2; done"
            ),
            sh("quiet", "echo hush")
        ]),
        &[("quiet", "ticker")],
        &[],
    );
    let mut run = case
        .command(&["run", wf.to_str().unwrap()], &[])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(run.stdout.take().unwrap()).lines();
    for line in lines.by_ref() {
        if line.unwrap().contains("[ticker] tick 1") {
            break;
        }
    }
    let follow = case.wfop(&["logs", "last", "--follow"], &[]);
    let followed = text(&follow.stdout);
    assert_eq!(follow.status.code(), Some(0), "{}", text(&follow.stderr));
    for i in 1..=5 {
        assert!(
            followed.contains("[ticker] ") && followed.contains(&format!("stdout tick {i}")),
            "{followed}"
        );
    }
    assert!(
        followed.contains("[quiet] ") && followed.contains("stdout hush"),
        "{followed}"
    );
    lines.for_each(drop);
    assert!(run.wait().unwrap().success());
    let one = case.wfop(&["logs", "last", "ticker"], &[]);
    assert_eq!(
        text(&one.stdout).lines().count(),
        5,
        "{}",
        text(&one.stdout)
    );
    let runs = case.wfop(&["runs"], &[]);
    let listing = text(&runs.stdout);
    assert!(
        listing.contains("succeeded") && listing.contains("test"),
        "{listing}"
    );
    let missing = case.wfop(&["logs", "last", "nope"], &[]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        text(&missing.stderr).contains("its nodes: quiet, ticker")
            || text(&missing.stderr).contains("its nodes: ticker, quiet"),
        "{}",
        text(&missing.stderr)
    );
}
