//! Steering services on a terminal in this process (`RunControl`, engine/pty.rs): typing, end
//! of input and the terminal's size reach the service; what is typed is nowhere in the events
//! or the record. Its own test binary: an in-process run reaps the orphans of this process,
//! which would take other tests' `wfop` children.

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

/// What the engine test's sink saw: every log line of each node, every warning, and every
/// event as JSON (as the record's event log and `--json` write them).
#[derive(Debug, Default)]
struct Seen {
    lines: Vec<(String, String)>,
    warnings: Vec<String>,
    json: Vec<u8>,
}

/// A run in this process whose sink steers it: `react(node, line, control)` after each line.
fn run_steered(
    case: &Case,
    wf: &std::path::Path,
    react: impl Fn(&str, &str, &wfop::engine::RunControl) + Send + 'static,
) -> (wfop::engine::RunReport, Seen) {
    use std::sync::{Arc, Mutex};
    use wfop::engine::{self, Event, RunOptions, setup};
    let prepared = setup::prepare(wf, None, &[]).expect("prepare");
    let options = RunOptions::new(case.state());
    let control = options.control.clone();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let sink_seen = seen.clone();
    let report = engine::run(
        prepared.workflow,
        prepared.inputs,
        prepared.secrets,
        options,
        move |e| {
            let mut s = sink_seen.lock().unwrap();
            let _ = engine::write_json(&mut s.json, &e, None);
            match e {
                Event::NodeLog { node, data, .. } => {
                    for l in String::from_utf8_lossy(&data).lines() {
                        s.lines.push((node.to_string(), l.to_string()));
                        react(&node, l, &control);
                    }
                }
                Event::Warning { message, .. } => s.warnings.push(message),
                _ => {}
            }
        },
    )
    .expect("run");
    let seen = std::mem::take(&mut *seen.lock().unwrap());
    (report, seen)
}

fn input(node: &str, text: &str) -> wfop::engine::NodeCommand {
    wfop::engine::NodeCommand::Input {
        node: node.into(),
        data: zeroize::Zeroizing::new(text.as_bytes().to_vec()),
    }
}

/// Typed by the tests but never echoed by their services: it must be nowhere in the record.
const UNECHOED: &str = "typed-not-echoed-Kx7Qp";

#[test]
fn input_resize_and_eof_reach_a_tty_service_in_process_and_nothing_typed_is_recorded() {
    use wfop::engine::NodeCommand;
    let case = Case::new();
    let flag = shell_quote(&case.path().join("t-ended").display().to_string());
    let wf = case.workflow(
        json!([
            tty(
                "t",
                &format!(
                    "trap 'echo winch' WINCH; echo ready; \
                     while [ \"$(stty size)\" != '33 101' ]; do sleep 0.05; done; \
                     echo \"size $(stty size)\"; read line; echo \"got:$line\"; \
                     read hidden; echo \"hidden:${{#hidden}}\"; \
                     if read more; then echo \"more:$more\"; else echo eof-seen; fi; touch {flag}"
                )
            ),
            // Runs until `t` has ended, so it is running when it is typed to.
            sh(
                "closed",
                &format!("cat; echo cat-ended; while [ ! -e {flag} ]; do sleep 0.05; done")
            ),
        ]),
        &[],
        &[],
    );
    let (report, seen) = run_steered(&case, &wf, |node, line, c| match (node, line) {
        ("t", "ready") => {
            c.send(NodeCommand::Resize {
                cols: 101,
                rows: 33,
            });
        }
        ("t", l) if l.starts_with("size ") => {
            c.send(input("t", "hello there\n"));
            c.send(input("t", &format!("{UNECHOED}\n")));
            c.send(NodeCommand::InputEof { node: "t".into() });
            // A service without a terminal or an open stdin, and one that does not exist.
            c.send(input("closed", "x\n"));
            c.send(input("nope", "x\n"));
        }
        _ => {}
    });
    assert_eq!(
        report.status,
        wfop::engine::RunStatus::Succeeded,
        "{seen:?}"
    );
    let t: Vec<&str> = seen
        .lines
        .iter()
        .filter(|(n, _)| n == "t")
        .map(|(_, l)| l.as_str())
        .collect();
    assert_eq!(
        t,
        [
            "ready",
            "winch",
            "size 33 101",
            "got:hello there",
            &format!("hidden:{}", UNECHOED.len()),
            "eof-seen"
        ]
    );
    // The default: stdin closed after the JSON input, as before (cat ends at once).
    let closed: Vec<&str> = seen
        .lines
        .iter()
        .filter(|(n, _)| n == "closed")
        .map(|(_, l)| l.as_str())
        .collect();
    assert_eq!(closed, ["{}cat-ended"]);
    let w = seen.warnings.join("\n");
    assert!(
        w.contains("node `closed` does not take input: its stdin was closed after its JSON input"),
        "{w}"
    );
    assert!(w.contains("no node `nope` to type to"), "{w}");
    // What was typed is in no event and nowhere in the record, only the service's own words.
    assert!(!String::from_utf8_lossy(&seen.json).contains(UNECHOED));
    let json = String::from_utf8_lossy(&seen.json);
    assert!(
        json.contains("got:hello there"),
        "the service's echo is output"
    );
    for (p, b) in case.record_files() {
        let hit = b.windows(UNECHOED.len()).any(|w| w == UNECHOED.as_bytes());
        assert!(!hit, "typed text in {}", p.display());
    }
}

#[test]
fn a_piped_service_with_stdin_open_gets_its_json_then_the_typed_lines_until_eof() {
    use wfop::engine::NodeCommand;
    let case = Case::new();
    let mut n = sh("p", "echo ready >&2; cat; echo; echo cat-ended");
    n["stdin"] = json!("open");
    let wf = case.workflow(json!([n]), &[], &[]);
    let (report, seen) = run_steered(&case, &wf, |node, line, c| {
        if (node, line) == ("p", "ready") {
            c.send(input("p", "typed line\n"));
            c.send(NodeCommand::InputEof { node: "p".into() });
        }
    });
    assert_eq!(
        report.status,
        wfop::engine::RunStatus::Succeeded,
        "{seen:?}"
    );
    let p: Vec<&str> = seen.lines.iter().map(|(_, l)| l.as_str()).collect();
    assert_eq!(p, ["ready", "{}typed line", "", "cat-ended"]);
}
