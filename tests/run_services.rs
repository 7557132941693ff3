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
fn python_exception_becomes_the_failure_reason() {
    let case = Case::new();
    case.write(
        "svc.py",
        "def run(x):\n    raise RuntimeError('no backend for ' + str(x))\n",
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
            "environment variable WFOP_SURELY_UNSET is not set",
        ),
        (
            vec!["--secret", "api_token=file:/nonexistent/x"],
            "cannot read /nonexistent/x",
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

#[test]
fn signals_to_wfop_cancel_purge_record_and_exit_128_plus_signal() {
    for (sig, code) in [
        (libc::SIGINT, 130),
        (libc::SIGTERM, 143),
        (libc::SIGHUP, 129),
    ] {
        let case = Case::new();
        let pidfile = case.path().join("child.pid");
        let wf = case.workflow(
            json!([
                sh(
                    "sleeper",
                    r#"echo "$$ $(readlink /proc/self/ns/pid)" > "$PIDFILE"; echo waiting; sleep 600"#
                ),
                sh("later", "true")
            ]),
            &[("sleeper", "later")],
            &[],
        );
        let mut child = case
            .command(
                &["run", wf.to_str().unwrap()],
                &[("PIDFILE", pidfile.to_str().unwrap())],
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
        // SAFETY: plain kill of our own child.
        unsafe { libc::kill(child.id() as i32, sig) };
        seen.extend(lines.map(|l| l.unwrap()));
        let status = child.wait().unwrap();
        let all = seen.join("\n");
        assert_eq!(status.code(), Some(code), "{all}");
        assert!(all.contains("wfop: secrets purged"), "{all}");
        assert!(
            all.contains(&format!("interrupted by signal {sig}")),
            "{all}"
        );
        let run = case.run_json();
        assert_eq!(run["status"], "interrupted");
        assert_eq!(run["exit_code"], code);
        assert_eq!(node(&run, "sleeper")["status"], "cancelled");
        assert_eq!(node(&run, "later")["status"], "skipped");
        let log = std::fs::read_to_string(case.run_dir().join("sleeper.log")).unwrap();
        assert!(log.contains("stdout waiting"), "{log}");
        let pid = SvcPid::parse(&std::fs::read_to_string(&pidfile).unwrap()).unwrap();
        assert!(!pid.alive(), "the service survived");
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
