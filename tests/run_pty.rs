//! Services on a pseudo-terminal (`"tty": true`, `wfop run --tty`, docs/service-protocol.md
//! "Services on a terminal"): the service sees a terminal, keeps its colours, stdout and stderr
//! are one stream in order, its input comes from files, a secret it prints is redacted
//! everywhere, and a node without the option keeps its pipes.

mod run_support;

use run_support::*;
use serde_json::json;

fn sh(id: &str, script: &str) -> serde_json::Value {
    json!({ "id": id, "type": "service", "run": { "command": ["sh", "-c", script] } })
}

fn tty(id: &str, script: &str) -> serde_json::Value {
    let mut n = sh(id, script);
    n["tty"] = json!(true);
    n
}

fn events(out: &std::process::Output) -> Vec<serde_json::Value> {
    text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

/// The `node_log` lines of `node`, with their stream.
fn lines(events: &[serde_json::Value], node: &str) -> Vec<(String, String)> {
    events
        .iter()
        .filter(|e| e["event"] == "node_log" && e["node"] == node)
        .map(|e| {
            (
                e["stream"].as_str().unwrap_or("").to_string(),
                e["line"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

const SEES: &str = "if [ -t 0 ] && [ -t 1 ] && [ -t 2 ]; then echo terminal; else echo pipes; fi";

#[test]
fn a_tty_service_sees_a_terminal_keeps_its_colour_and_one_stream_in_order() {
    let case = Case::new();
    let wf = case.workflow(
        json!([
            tty(
                "t",
                &format!(
                    "{SEES}; echo one; echo two >&2; echo three; mkdir d; touch d/x; \
                     ls --color=auto -d d; stty -a | grep -o -- '-echo ' | head -1"
                )
            ),
            sh("p", SEES),
        ]),
        &[],
        &[],
    );
    let out = case.wfop(&["run", wf.to_str().unwrap(), "--json"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let ev = events(&out);
    let t = lines(&ev, "t");
    let only: Vec<&str> = t.iter().map(|(_, l)| l.as_str()).collect();
    // One stream (stdout), in the order the service wrote it, stderr included.
    assert!(t.iter().all(|(s, _)| s == "stdout"), "{t:?}");
    let at = |w: &str| only.iter().position(|l| *l == w).unwrap_or(usize::MAX);
    assert_eq!(only[0], "terminal", "{only:?}");
    assert!(at("one") < at("two") && at("two") < at("three"), "{only:?}");
    assert!(at("three") < only.len(), "{only:?}");
    // `ls --color=auto` colours on a terminal: the SGR is kept in the event (the viewers
    // style it), and in the record's log.
    assert!(
        only.iter()
            .any(|l| l.contains("\u{1b}[") && l.contains('d')),
        "{only:?}"
    );
    // Echo is off on the service's terminal (what the operator types is not in the log).
    assert!(only.contains(&"-echo "), "{only:?}");
    // The node without the option keeps its pipes.
    assert_eq!(lines(&ev, "p"), vec![("stdout".into(), "pipes".into())]);
    let log = std::fs::read(case.run_dir().join("t.log")).unwrap();
    assert!(
        log.windows(2).any(|w| w == b"\x1b["),
        "colour kept in the record"
    );
    assert!(!log.contains(&b'\r'), "no CR added to the record's lines");
}

#[test]
fn run_tty_gives_every_service_a_terminal_and_python_sees_it() {
    let case = Case::new();
    case.write(
        "svc.py",
        "import sys\n\ndef run() -> dict:\n    print('isatty', sys.stdout.isatty())\n    \
         print('\\033[31mred\\033[0m' if sys.stdout.isatty() else 'plain')\n    return {}\n",
    );
    let wf = case.workflow(
        json!([
            sh("a", SEES),
            { "id": "py", "type": "service", "run": { "python": "svc.py", "function": "run" } },
        ]),
        &[],
        &[],
    );
    let out = case.wfop(&["run", wf.to_str().unwrap(), "--tty", "--plain"], &[]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("[a] terminal"), "{stdout}");
    assert!(stdout.contains("[py] isatty True"), "{stdout}");
    // --plain shows the child's escape as text, never as a sequence.
    assert!(stdout.contains("[py] \\x1b[31mred\\x1b[0m"), "{stdout}");
}

#[test]
fn a_tty_service_gets_its_input_from_files_not_from_its_terminal() {
    let case = Case::new();
    let mut n = tty(
        "t",
        "cat \"$WFOP_INPUT_FILE\"; echo; cat \"$INPUT_DIRECTORY/n.json\"; echo; \
         [ -t 0 ] && echo stdin-is-the-terminal",
    );
    n["input_mapping"] = json!([{ "name": "n", "value": "41 + 1" }]);
    let wf = case.workflow(json!([n]), &[], &[]);
    let out = case.wfop(&["run", wf.to_str().unwrap(), "--plain"], &[]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("[t] {\"n\":42}"), "{stdout}");
    assert!(stdout.contains("[t] 42"), "{stdout}");
    assert!(stdout.contains("[t] stdin-is-the-terminal"), "{stdout}");
}

#[test]
fn a_tty_option_that_is_not_a_boolean_is_refused_where_it_is() {
    let case = Case::new();
    let mut n = sh("t", "true");
    n["tty"] = json!("yes");
    let mut m = sh("u", "true");
    m["stdin"] = json!("maybe");
    let wf = case.workflow(json!([n, m]), &[], &[]);
    let out = case.wfop(&["run", wf.to_str().unwrap(), "--plain"], &[]);
    let all = text(&out.stdout) + &text(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{all}");
    assert!(
        all.contains("`tty` must be true or false, found a string"),
        "{all}"
    );
    assert!(
        all.contains("`stdin` must be \"open\" or \"closed\", found \"maybe\""),
        "{all}"
    );
}

#[test]
fn a_secret_a_tty_service_prints_is_redacted_everywhere() {
    const SECRET: &str = "pty-s3cr3t-Zq9/+x";
    let case = Case::new();
    let mut n = tty(
        "t",
        "printf 'tok=%s\\n' \"$SECRET_TOK\"; printf '%s' \"$SECRET_TOK\" >&2; echo; \
         printf 'half=%.5s' \"$SECRET_TOK\"; sleep 0.2; printf '%s\\n' \"${SECRET_TOK#?????}\"",
    );
    n["secrets"] = json!(["tok"]);
    n["input_mapping"] =
        json!([{ "name": "$secrets", "value": "{ \"tok\": secret_value(\"api\") }" }]);
    let wf = case.workflow(json!([n]), &[], &["api"]);
    for mode in ["--plain", "--json"] {
        let out = case.wfop(
            &[
                "run",
                wf.to_str().unwrap(),
                mode,
                "--secret",
                "api=env:WFOP_TEST_PTY_API",
            ],
            &[("WFOP_TEST_PTY_API", SECRET)],
        );
        let stdout = text(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
        // The service did print it, whole and in two pieces: the search is not vacuous.
        let marks = stdout.matches("***").count();
        assert!(marks >= 3, "{mode}: {stdout}");
        assert!(stdout.contains("tok=***"), "{mode}: {stdout}");
        assert_absent(&out.stdout, SECRET, &format!("{mode} stdout"));
        assert_absent(&out.stderr, SECRET, &format!("{mode} stderr"));
    }
    for (p, b) in case.record_files() {
        assert_absent(&b, SECRET, &p.display().to_string());
    }
    for extra in [&["runs"][..], &["logs", "last"][..]] {
        let o = case.wfop(extra, &[]);
        assert_absent(&o.stdout, SECRET, &format!("wfop {extra:?}"));
        assert_absent(&o.stderr, SECRET, &format!("wfop {extra:?}"));
    }
}

#[test]
fn without_the_sandbox_a_tty_service_still_gets_its_terminal_in_a_session_of_its_own() {
    let case = Case::new();
    // The service leads its session and process group, with the terminal as its own.
    let wf = case.workflow(
        json!([tty(
            "t",
            &format!(
                "{SEES}; [ \"$(ps -o sid= -p $$ | tr -d ' ')\" = \"$$\" ] && echo session-leader; \
                 stty size"
            )
        )]),
        &[],
        &[],
    );
    let Some(mut c) =
        case.command_without_namespaces(&["run", wf.to_str().unwrap(), "--plain"], &[])
    else {
        skip_or_fail("cannot make a user namespace without nested ones");
        return;
    };
    let out = c.output().expect("wfop");
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("services are not isolated from each other"),
        "{stdout}"
    );
    assert!(stdout.contains("[t] terminal"), "{stdout}");
    assert!(stdout.contains("[t] session-leader"), "{stdout}");
    assert!(stdout.contains("[t] 24 80"), "{stdout}");
}

#[test]
fn tty_and_stdin_on_a_hub_service_are_a_warning() {
    let case = Case::new();
    let wf = case.workflow(
        json!([{ "id": "h", "type": "service", "tty": true, "stdin": "open",
                 "run": { "hub": "http://127.0.0.1:9/svc" } }]),
        &[],
        &[],
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_wfop"))
        .args(["check", wf.to_str().unwrap()])
        .output()
        .expect("wfop check");
    let all = text(&out.stdout) + &text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{all}");
    for field in ["tty", "stdin"] {
        assert!(
            all.contains(&format!("hub service `h`: `{field}` has no effect")),
            "{all}"
        );
    }
}
