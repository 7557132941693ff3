//! Stopping services: a shell-wrapped service stops at SIGTERM without waiting out the grace
//! (with and without the sandbox's namespaces), a process group left with only zombies is
//! over, and nothing a stopped service started outlives the run.

mod run_support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use run_support::*;
use serde_json::json;

/// A grace so long that a stop which waits it out does not go unnoticed: the run would take
/// a minute and a half, and the SIGKILL warning would be in its output.
const GRACE: &str = "90s";

fn sh(id: &str, script: &str) -> serde_json::Value {
    json!({ "id": id, "type": "service", "run": { "command": ["sh", "-c", script] } })
}

/// A process as /proc shows it: its pid and start time (clock ticks since boot), so that a
/// pid used again by another process is not taken for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Proc {
    pid: i32,
    start: u64,
}

impl Proc {
    fn of(pid: i32) -> Option<Proc> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let rest = &stat[stat.rfind(')')? + 1..];
        // starttime is field 22; `rest` starts at field 3 (state).
        let start = rest.split_whitespace().nth(19)?.parse().ok()?;
        Some(Proc { pid, start })
    }

    /// Still there (running or a zombie).
    fn exists(&self) -> bool {
        Proc::of(self.pid) == Some(*self)
    }
}

/// Every process whose command line holds `marker`.
fn with_marker(marker: &str) -> Vec<Proc> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(marker))
        })
        .filter_map(Proc::of)
        .collect()
}

/// Polls `f` until it gives something (a liveness bound, not a timing assertion: 30 s).
fn wait_for<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    for _ in 0..1500 {
        if let Some(t) = f() {
            return t;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("never came: {what}");
}

/// `wfop run WF --plain --grace 90s`, with or without namespaces for its services; `None`
/// where the run without namespaces cannot be set up (then skipped, or failed under CI).
fn start(case: &Case, wf: &std::path::Path, isolated: bool) -> Option<Child> {
    let args = ["run", wf.to_str().unwrap(), "--plain", "--grace", GRACE];
    let mut cmd: Command = if isolated {
        case.command(&args, &[])
    } else {
        match case.command_without_namespaces(&args, &[]) {
            Some(c) => c,
            None => {
                skip_or_fail("cannot make a user namespace without further namespaces");
                return None;
            }
        }
    };
    Some(
        cmd.stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start wfop"),
    )
}

/// Stops wfop with SIGTERM and reads the rest of its output; its exit code and all it printed.
fn stop(mut child: Child, seen: Vec<String>) -> (Option<i32>, String) {
    // SAFETY: plain kill of our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let mut all = seen;
    let out = child.stdout.take().expect("stdout");
    all.extend(BufReader::new(out).lines().map_while(Result::ok));
    let status = child.wait().expect("wait for wfop");
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut err);
    }
    all.push(err);
    (status.code(), all.join("\n"))
}

/// Reads wfop's output until a line satisfies `f`.
fn read_until(child: &mut Child, f: impl Fn(&str) -> bool) -> Vec<String> {
    let out = child.stdout.as_mut().expect("stdout");
    let mut lines = Vec::new();
    let mut r = BufReader::new(out);
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).expect("read") == 0 {
            panic!("wfop ended first: {lines:#?}");
        }
        let line = line.trim_end().to_string();
        let done = f(&line);
        lines.push(line);
        if done {
            return lines;
        }
    }
}

#[test]
fn a_shell_wrapped_service_stops_at_sigterm_without_waiting_out_the_grace() {
    for isolated in [true, false] {
        let case = Case::new();
        // `sh` waits for its `sleep` (no exec of the last command): two processes in the group.
        let marker = "3021.5";
        let wf = case.workflow(
            json!([sh("sleeper", &format!("sleep {marker}; echo never"))]),
            &[],
            &[],
        );
        let Some(mut child) = start(&case, &wf, isolated) else {
            return;
        };
        let mut seen = read_until(&mut child, |l| l.starts_with("wfop: sleeper started"));
        // The service really runs: its `sleep` is there.
        let sleeps = wait_for("the service's sleep", || {
            Some(with_marker(marker)).filter(|p| !p.is_empty())
        });
        seen.push(format!("sleep: {sleeps:?}"));
        let (code, all) = stop(child, seen);
        assert_eq!(code, Some(143), "isolated {isolated}: {all}");
        assert!(
            all.contains("wfop: sleeper stopping: SIGTERM sent, SIGKILL in 90s"),
            "isolated {isolated}: {all}"
        );
        // Ended by the SIGTERM; the 90 s grace was never waited out.
        assert!(!all.contains("SIGKILL)"), "isolated {isolated}: {all}");
        let run = case.run_json();
        let node = &run["nodes"][0];
        assert_eq!(node["status"], "cancelled", "{run}");
        assert_eq!(node["signal"], 15, "{run}");
        assert!(
            node["duration_ms"].as_u64().unwrap() < 90_000,
            "isolated {isolated}: waited out the grace: {run}"
        );
        for p in sleeps {
            assert!(!p.exists(), "isolated {isolated}: {p:?} outlived the run");
        }
    }
}

#[test]
fn a_group_left_with_only_a_zombie_is_over() {
    // Without namespaces (with them the namespace ends with the service): the service's child
    // `keeper` forks `member`, then leaves the service's process group (`setsid`) and never
    // waits for it. The SIGTERM to the group ends the shell and `member`, which stays a zombie
    // of `keeper`, not of wfop: the group's only member is a zombie wfop cannot reap. It is
    // over all the same; the node ends without waiting out the grace; and when the run is over
    // `keeper` is ended and `member` reaped.
    let case = Case::new();
    let pids = case.path().join("pids");
    let script = format!(
        r#"
import os, sys, time
marker = "zombie-test-3022"
member = os.fork()
if member == 0:
    time.sleep(3022)
    os._exit(0)
os.setsid()
null = os.open("/dev/null", os.O_RDWR)
os.dup2(null, 1)
os.dup2(null, 2)
with open({pids:?}, "w") as f:
    f.write(f"{{os.getpid()}} {{member}}\n")
time.sleep(3023)
"#,
        pids = pids.to_str().unwrap()
    );
    case.write("keeper.py", &script);
    let keeper = case.path().join("keeper.py");
    let wf = case.workflow(
        json!([sh(
            "holder",
            &format!("python3 {} zombie-test-3022; echo never", keeper.display())
        )]),
        &[],
        &[],
    );
    let Some(mut child) = start(&case, &wf, false) else {
        return;
    };
    let mut seen = read_until(&mut child, |l| l.starts_with("wfop: holder started"));
    let text = wait_for("the keeper's pids", || {
        std::fs::read_to_string(&pids)
            .ok()
            .filter(|t| t.ends_with('\n'))
    });
    let ids: Vec<i32> = text
        .split_whitespace()
        .map(|p| p.parse().unwrap())
        .collect();
    let (keeper, member) = (Proc::of(ids[0]).unwrap(), Proc::of(ids[1]).unwrap());
    seen.push(format!("keeper {keeper:?}, member {member:?}"));
    let (code, all) = stop(child, seen);
    assert_eq!(code, Some(143), "{all}");
    assert!(
        all.contains("not isolated"),
        "the run had namespaces: {all}"
    );
    assert!(
        all.contains("wfop: holder stopping: SIGTERM sent, SIGKILL in 90s"),
        "{all}"
    );
    assert!(!all.contains("SIGKILL)"), "the grace was waited out: {all}");
    let run = case.run_json();
    let node = &run["nodes"][0];
    assert_eq!(node["status"], "cancelled", "{run}");
    assert!(
        node["duration_ms"].as_u64().unwrap() < 90_000,
        "waited out the grace: {run}"
    );
    assert!(!keeper.exists(), "the keeper outlived the run");
    assert!(!member.exists(), "the zombie was never reaped");
}

// ---------------------------------------------------------------------------------------
// Stop and restart one service (the operator's `x` and `R`), in process and through a run host.

mod steering {
    use std::sync::mpsc;

    use serde_json::{Value, json};
    use wfop::engine::{
        self, Event, NodeCommand, NodeOutcome, RunControl, RunOptions, RunReport, RunStatus,
        StopMark, setup,
    };

    /// A workflow of `nodes` (services `{id, script}`), `edges` (from, to); start and end are
    /// added, as `Case::workflow` does.
    fn workflow(
        dir: &std::path::Path,
        nodes: &[(&str, &str)],
        edges: &[(&str, &str)],
    ) -> std::path::PathBuf {
        let mut all = vec![json!({"id": "start", "type": "start"})];
        for (id, script) in nodes {
            all.push(
                json!({"id": id, "type": "service", "run": {"command": ["sh", "-c", script]}}),
            );
        }
        all.push(json!({"id": "end", "type": "end"}));
        let mut es: Vec<Value> = edges
            .iter()
            .map(|(a, b)| json!({"from": a, "to": b}))
            .collect();
        for (id, _) in nodes {
            if !edges.iter().any(|(_, b)| b == id) {
                es.push(json!({"from": "start", "to": id}));
            }
            if !edges.iter().any(|(a, _)| a == id) {
                es.push(json!({"from": id, "to": "end"}));
            }
        }
        let wf = dir.join("wf.json");
        std::fs::write(
            &wf,
            json!({"name": "steer", "nodes": all, "edges": es}).to_string(),
        )
        .unwrap();
        wf
    }

    /// Runs `wf` in this process; `on` sees every event and may steer the run (it gets the
    /// run's control). Returns the report and every event.
    fn run(
        wf: &std::path::Path,
        state: &std::path::Path,
        keep_going: bool,
        mut on: impl FnMut(&Event, &RunControl),
    ) -> (RunReport, Vec<Event>) {
        let prepared = setup::prepare(wf, None, &[]).expect("prepare");
        let mut options = RunOptions::new(state.to_path_buf());
        // Long: a stop that waited it out would be seen (the SIGKILL warning).
        options.kill_grace = std::time::Duration::from_secs(60);
        options.keep_going = keep_going;
        let control = options.control.clone();
        let (tx, rx) = mpsc::channel();
        let runner = std::thread::spawn(move || {
            engine::run(
                prepared.workflow,
                prepared.inputs,
                prepared.secrets,
                options,
                move |e| {
                    let _ = tx.send(e);
                },
            )
        });
        let mut events = Vec::new();
        for e in rx.iter() {
            on(&e, &control);
            events.push(e);
        }
        let report = runner.join().expect("engine thread").expect("run");
        (report, events)
    }

    fn logged(e: &Event, id: &str, text: &str) -> bool {
        matches!(e, Event::NodeLog { node, data, .. } if &**node == id
            && String::from_utf8_lossy(data).contains(text))
    }

    fn finished<'a>(events: &'a [Event], id: &str) -> Vec<(u32, NodeOutcome, Option<&'a str>)> {
        events
            .iter()
            .filter_map(|e| match e {
                Event::NodeFinished {
                    node,
                    attempt,
                    status,
                    reason,
                    ..
                } if &**node == id => Some((*attempt, *status, reason.as_deref())),
                _ => None,
            })
            .collect()
    }

    fn warnings(events: &[Event]) -> Vec<String> {
        events
            .iter()
            .filter_map(|e| match e {
                Event::Warning { message, .. } => Some(message.clone()),
                _ => None,
            })
            .collect()
    }

    fn position(events: &[Event], f: impl Fn(&Event) -> bool) -> usize {
        events.iter().position(f).expect("the event is there")
    }

    fn run_json(report: &RunReport) -> Value {
        serde_json::from_slice(&std::fs::read(report.record.join("run.json")).unwrap()).unwrap()
    }

    fn node<'a>(run: &'a Value, id: &str) -> &'a Value {
        run["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["id"] == id)
            .unwrap()
    }

    fn stop(node: &str, mark: StopMark) -> NodeCommand {
        NodeCommand::Stop {
            node: node.into(),
            mark,
        }
    }

    #[test]
    fn a_service_stopped_as_failed_fails_the_run_and_its_downstream_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let wf = workflow(
            dir.path(),
            &[
                ("svc", "echo up; sleep 3031; echo never"),
                ("after", "echo never"),
            ],
            &[("svc", "after")],
        );
        let (report, events) = run(&wf, &dir.path().join("state"), false, |e, c| {
            if logged(e, "svc", "up") {
                assert!(c.send(stop("svc", StopMark::Failed)));
            }
        });
        assert_eq!(report.status, RunStatus::Failed);
        assert_eq!(
            finished(&events, "svc"),
            [(1, NodeOutcome::Failed, Some("stopped by the operator"))]
        );
        let stopping = position(
            &events,
            |e| matches!(e, Event::NodeStopping { node, attempt: 1, kill_in_ms: 60_000 } if &**node == "svc"),
        );
        let ended = position(
            &events,
            |e| matches!(e, Event::NodeFinished { node, .. } if &**node == "svc"),
        );
        assert!(stopping < ended);
        assert!(
            events
                .iter()
                .any(|e| matches!(e, Event::NodeSkipped { node, reason }
            if &**node == "after" && reason == "the run stopped after `svc` failed"))
        );
        assert!(
            !warnings(&events).iter().any(|w| w.contains("SIGKILL")),
            "{events:#?}"
        );
        let run = run_json(&report);
        assert_eq!(run["status"], "failed");
        assert_eq!(node(&run, "svc")["status"], "failed");
        assert_eq!(node(&run, "svc")["signal"], 15);
        assert_eq!(
            node(&run, "svc")["attempts"][0]["reason"],
            "stopped by the operator"
        );
    }

    #[test]
    fn a_service_stopped_as_cancelled_ends_the_run_cancelled_while_the_rest_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        // `other` goes on until the test lets it end, after `svc` was stopped.
        let go = dir.path().join("go");
        let other = format!(
            "while [ ! -e {} ]; do sleep 0.02; done; echo fine",
            go.display()
        );
        let wf = workflow(
            dir.path(),
            &[
                ("svc", "echo up; sleep 3032"),
                ("after", "echo never"),
                ("other", &other),
            ],
            &[("svc", "after")],
        );
        let (report, events) = run(&wf, &dir.path().join("state"), false, |e, c| {
            if logged(e, "svc", "up") {
                assert!(c.send(stop("svc", StopMark::Cancelled)));
            }
            if matches!(e, Event::NodeFinished { node, .. } if &**node == "svc") {
                std::fs::write(&go, "").unwrap();
            }
        });
        assert_eq!(
            finished(&events, "svc"),
            [(1, NodeOutcome::Cancelled, Some("stopped by the operator"))]
        );
        assert_eq!(
            finished(&events, "other"),
            [(1, NodeOutcome::Succeeded, None)]
        );
        assert!(events.iter().any(|e| logged(e, "other", "fine")));
        assert!(
            events
                .iter()
                .any(|e| matches!(e, Event::NodeSkipped { node, reason }
            if &**node == "after" && reason == "needs `svc`, which did not succeed"))
        );
        assert_eq!(report.status, RunStatus::Cancelled);
        let run = run_json(&report);
        assert_eq!(run["status"], "cancelled");
        assert_eq!(node(&run, "svc")["status"], "cancelled");
        assert_eq!(node(&run, "other")["status"], "succeeded");
    }

    #[test]
    fn a_restarted_service_runs_again_and_its_downstream_gets_the_second_attempt_s_result() {
        let dir = tempfile::tempdir().unwrap();
        let count = dir.path().join("count");
        // Counts its starts; the first waits to be restarted, the second returns its number.
        let svc = format!(
            r#"n=$(( $(cat {c} 2>/dev/null || echo 0) + 1 )); echo $n > {c}; echo "up $n"; [ $n -gt 1 ] || sleep 3033; echo "{{\"starts\": $n}}" > "$OUTPUT_DIRECTORY/output.json""#,
            c = count.display()
        );
        let wf = workflow(
            dir.path(),
            &[("svc", &svc), ("after", "echo got; cat")],
            &[("svc", "after")],
        );
        let mut asked = 0;
        let (report, events) = run(&wf, &dir.path().join("state"), false, |e, c| {
            if logged(e, "svc", "up 1") {
                asked += 1;
                assert!(c.send(NodeCommand::Restart { node: "svc".into() }));
            }
        });
        assert_eq!(asked, 1);
        assert_eq!(report.status, RunStatus::Succeeded, "{events:#?}");
        assert_eq!(std::fs::read_to_string(&count).unwrap().trim(), "2");
        assert_eq!(
            finished(&events, "svc"),
            [
                (1, NodeOutcome::Cancelled, Some("restarted by the operator")),
                (2, NodeOutcome::Succeeded, None)
            ]
        );
        // The downstream started after the second attempt, and got its result.
        let second = position(
            &events,
            |e| matches!(e, Event::NodeFinished { node, attempt: 2, .. } if &**node == "svc"),
        );
        let after = position(
            &events,
            |e| matches!(e, Event::NodeStarted { node, .. } if &**node == "after"),
        );
        assert!(second < after);
        assert!(
            events.iter().any(
                |e| logged(e, "after", r#""starts": 2"#) || logged(e, "after", r#""starts":2"#)
            ),
            "{events:#?}"
        );
        // Every attempt is in the record, and in the node's log.
        let run = run_json(&report);
        let attempts = node(&run, "svc")["attempts"].as_array().unwrap().clone();
        assert_eq!(attempts.len(), 2, "{run}");
        assert_eq!(attempts[0]["status"], "cancelled");
        assert_eq!(attempts[0]["reason"], "restarted by the operator");
        assert_eq!(attempts[1]["status"], "succeeded");
        let log = std::fs::read_to_string(report.record.join("svc.log")).unwrap();
        assert!(
            log.contains("up 1") && log.contains("wfop attempt 2") && log.contains("up 2"),
            "{log}"
        );
    }

    #[test]
    fn commands_for_nodes_that_do_not_exist_or_do_not_run_are_warnings() {
        let dir = tempfile::tempdir().unwrap();
        let go = dir.path().join("go");
        let svc = format!(
            "echo up; while [ ! -e {} ]; do sleep 0.02; done",
            go.display()
        );
        let wf = workflow(
            dir.path(),
            &[("svc", &svc), ("after", "echo fine")],
            &[("svc", "after")],
        );
        let mut sent = false;
        let (report, events) = run(&wf, &dir.path().join("state"), false, |e, c| {
            if logged(e, "svc", "up") && !sent {
                sent = true;
                assert!(c.send(stop("nope", StopMark::Failed)));
                assert!(c.send(NodeCommand::Restart {
                    node: "after".into()
                }));
                assert!(c.send(NodeCommand::Restart {
                    node: "start".into()
                }));
            }
            if let Event::Warning { message, .. } = e
                && message.contains("start")
                && message.contains("not a service")
            {
                std::fs::write(&go, "").unwrap();
            }
        });
        let w = warnings(&events);
        assert!(
            w.contains(&"cannot stop `nope`: the workflow has no such node".to_string()),
            "{w:?}"
        );
        assert!(
            w.contains(&"cannot restart it: `after` has not started".to_string()),
            "{w:?}"
        );
        assert!(
            w.iter().any(|m| m.contains("`start` is not a service")),
            "{w:?}"
        );
        assert_eq!(report.status, RunStatus::Succeeded);
        assert_eq!(
            finished(&events, "after"),
            [(1, NodeOutcome::Succeeded, None)]
        );
    }
}

#[test]
fn a_service_in_a_run_host_is_restarted_and_stopped_by_host_commands() {
    use std::io::Write;
    use std::os::unix::net::UnixStream;
    let case = Case::new();
    let count = case.path().join("count");
    // Counts its starts: the first waits to be restarted, the second to be stopped.
    let svc = format!(
        r#"n=$(( $(cat {c} 2>/dev/null || echo 0) + 1 )); echo $n > {c}; echo "up $n"; sleep 303$n"#,
        c = count.display()
    );
    let wf = case.workflow(
        json!([sh("svc", &svc), sh("after", "echo never")]),
        &[("svc", "after")],
        &[],
    );
    let out = case.wfop(
        &["run", wf.to_str().unwrap(), "--detach", "--grace", GRACE],
        &[("WFOP_HOST_LINGER_MS", "500")],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let record = case.run_dir();
    let sock = record.join("host.sock");
    wait_for("the run host's socket", || sock.exists().then_some(()));
    let stream = UnixStream::connect(&sock).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .unwrap();
    let mut w = stream.try_clone().unwrap();
    let mut lines = BufReader::new(stream).lines();
    let mut send = |v: serde_json::Value| {
        let mut l = serde_json::to_vec(&v).unwrap();
        l.push(b'\n');
        w.write_all(&l).unwrap();
    };
    let hello: serde_json::Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(hello["hello"], "wfop-run-host", "{hello}");
    send(json!({"hello": "wfop", "protocol": 1, "mode": "attach"}));
    let mut seen = Vec::new();
    for line in lines.map_while(Result::ok) {
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        let log = v["lines"].as_str().unwrap_or_default().to_string();
        seen.push(v.clone());
        if v["event"] == "node_log" && v["node"] == "svc" && log.contains("up 1") {
            send(json!({"command": "restart_node", "node": "svc"}));
            send(json!({"command": "stop_node", "node": "ghost", "mark": "failed"}));
        }
        if v["event"] == "node_log" && v["node"] == "svc" && log.contains("up 2") {
            send(json!({"command": "stop_node", "node": "svc", "mark": "cancelled"}));
        }
        if v["event"] == "run_finished" {
            break;
        }
    }
    let of = |ev: &str| -> Vec<&serde_json::Value> {
        seen.iter()
            .filter(|v| v["event"] == ev && v["node"] == "svc")
            .collect()
    };
    let ends: Vec<(u64, String, String)> = of("node_finished")
        .iter()
        .map(|v| {
            (
                v["attempt"].as_u64().unwrap(),
                v["status"].as_str().unwrap().to_string(),
                v["reason"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(
        ends,
        [
            (1, "cancelled".into(), "restarted by the operator".into()),
            (2, "cancelled".into(), "stopped by the operator".into())
        ],
        "{seen:#?}"
    );
    assert_eq!(of("node_stopping").len(), 2, "{seen:#?}");
    assert!(
        seen.iter().any(|v| v["event"] == "warning"
            && v["message"] == "cannot stop `ghost`: the workflow has no such node"),
        "{seen:#?}"
    );
    let last = seen.last().unwrap();
    assert_eq!(last["event"], "run_finished");
    assert_eq!(last["status"]["status"], "cancelled", "{last}");
    let run = case.run_json();
    assert_eq!(
        run["nodes"][0]["attempts"].as_array().unwrap().len(),
        2,
        "{run}"
    );
}

/// A screen without its escape sequences.
fn plain(screen: &str) -> String {
    let mut out = String::new();
    let mut chars = screen.chars();
    while let Some(c) = chars.next() {
        if c != '\x1b' {
            out.push(c);
            continue;
        }
        // CSI: ESC [ parameters… final byte (0x40..=0x7e); anything else: ESC and one more.
        if chars.next() == Some('[') {
            for c in chars.by_ref() {
                if ('\x40'..='\x7e').contains(&c) {
                    break;
                }
            }
        }
    }
    out
}

#[test]
fn in_the_tui_r_restarts_the_selected_service_and_x_stops_it_as_cancelled() {
    use run_support::tmux::Tmux;
    let case = Case::new();
    let count = case.path().join("count");
    let svc = format!(
        r#"n=$(( $(cat {c} 2>/dev/null || echo 0) + 1 )); echo $n > {c}; echo "up $n"; sleep 304$n"#,
        c = count.display()
    );
    let wf = case.workflow(
        json!([sh("svc", &svc), sh("after", "echo never")]),
        &[("svc", "after")],
        &[],
    );
    let cmd = format!(
        "cd {} && {} run {} --grace {GRACE} --state-dir {}; echo exit=$?",
        shell_quote(&case.path().display().to_string()),
        shell_quote(env!("CARGO_BIN_EXE_wfop")),
        shell_quote(&wf.display().to_string()),
        shell_quote(&case.state().display().to_string()),
    );
    let Some(t) = Tmux::start("node-control", &cmd, 120, 36) else {
        return;
    };
    let mut seen = Vec::new();
    t.wait_for(&mut seen, "the first attempt", |s| s.contains("up 1"));
    // The graph pane has the focus, and the first service is selected.
    t.keys_taken(&mut seen, "R", "the restart", |s| {
        let s = plain(s);
        s.contains("restarting") || s.contains("up 2")
    });
    t.wait_for(&mut seen, "the second attempt", |s| {
        let s = plain(s);
        s.contains("up 2") && s.contains("attempt 2") && !s.contains("restarted by")
    });
    t.keys_taken(&mut seen, "x", "the stop dialog", |s| {
        let s = plain(s);
        s.contains("f failed") && s.contains("c cancelled")
    });
    t.keys_taken(&mut seen, "c", "the stop", |s| {
        let s = plain(s);
        s.contains("stopping") || s.contains("cancelled in")
    });
    let end = plain(&t.wait_for(&mut seen, "the run's end", |s| {
        plain(s).contains("cancelled in")
    }));
    assert!(!end.contains("SIGKILL)"), "{end}");
    t.keys("q");
    t.wait_for(&mut seen, "wfop's exit", |s| s.contains("exit=1"));
    assert_eq!(std::fs::read_to_string(&count).unwrap().trim(), "2");
    let run = case.run_json();
    assert_eq!(run["status"], "cancelled", "{run}");
    let attempts = run["nodes"][0]["attempts"].as_array().unwrap().clone();
    assert_eq!(attempts.len(), 2, "{run}");
    assert_eq!(attempts[0]["status"], "cancelled");
    assert_eq!(attempts[0]["reason"], "restarted by the operator");
    assert_eq!(attempts[1]["status"], "cancelled");
    assert_eq!(attempts[1]["reason"], "stopped by the operator");
    assert_eq!(run["nodes"][1]["status"], "skipped", "{run}");
}
