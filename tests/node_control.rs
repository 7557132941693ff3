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
