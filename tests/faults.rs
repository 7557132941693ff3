//! Fault injection through `wfop run --plain`: children that die, hang on to pipes, never read
//! stdin, escape their process group, or flood one line; records that cannot be written.
//! For each: a clear report, the right exit code, no process left behind (session scan of
//! /proc), what could be kept of the record, no hang (every run has a generous watchdog; no
//! timing asserts), and the secret the service holds appears nowhere.

mod run_support;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use run_support::*;
use serde_json::json;

/// Liveness bound for one wfop run: far above any expected duration; reaching it is a hang.
const WATCHDOG: Duration = Duration::from_secs(120);

struct Ran {
    code: Option<i32>,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    /// wfop's pid, which is also its session id (the test starts it with setsid).
    sid: i32,
}

/// Runs `wfop run WF --plain` with the secret `api` from the environment; stdout and stderr
/// go to files (a 100 MB output does not need a pipe reader); kills the session and fails
/// when the watchdog fires.
fn run(case: &Case, wf: &Path, extra: &[&str], envs: &[(&str, &str)]) -> Ran {
    let mut args = vec!["run", wf.to_str().unwrap(), "--plain"];
    args.extend_from_slice(extra);
    let mut all_envs = vec![("WFOP_TEST_API", IBM_KEY)];
    all_envs.extend_from_slice(envs);
    run_cmd(case, case.command(&args, &all_envs))
}

/// `run` with a command of the caller's (e.g. without namespaces).
fn run_cmd(case: &Case, mut cmd: std::process::Command) -> Ran {
    let out_path = case.path().join("wfop.stdout");
    let err_path = case.path().join("wfop.stderr");
    cmd.stdout(Stdio::from(std::fs::File::create(&out_path).unwrap()))
        .stderr(Stdio::from(std::fs::File::create(&err_path).unwrap()));
    let mut child = cmd.spawn().expect("start wfop");
    let sid = child.id() as i32;
    let t0 = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait") {
            break st;
        }
        if t0.elapsed() > WATCHDOG {
            // SAFETY: kill takes plain integers; -sid addresses wfop's process group.
            unsafe { libc::kill(-sid, libc::SIGKILL) };
            let _ = child.wait();
            panic!("wfop hung (watchdog after {WATCHDOG:?})");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Ran {
        code: status.code(),
        stdout: std::fs::read(&out_path).unwrap(),
        stderr: std::fs::read(&err_path).unwrap(),
        sid,
    }
}

/// Live (non-zombie) processes of session `sid`, read from /proc.
fn session_members(sid: i32) -> Vec<i32> {
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some(rest) = stat.rfind(')').map(|i| &stat[i + 2..]) else {
            continue;
        };
        let f: Vec<&str> = rest.split(' ').collect();
        if f.len() > 3 && f[0] != "Z" && f[3].parse::<i32>() == Ok(sid) {
            found.push(pid);
        }
    }
    found
}

/// Nothing of wfop's session is left, nor any of `pids` (escapees with a session of their
/// own); a moment is allowed for the kernel to reap.
fn assert_nothing_left(sid: i32, pids: &[SvcPid]) {
    let t0 = Instant::now();
    loop {
        let members = session_members(sid);
        let escaped: Vec<i32> = pids.iter().flat_map(SvcPid::host_pids).collect();
        if members.is_empty() && escaped.is_empty() {
            return;
        }
        if t0.elapsed() > Duration::from_secs(10) {
            for &p in members.iter().chain(&escaped) {
                // SAFETY: kill takes plain integers.
                unsafe { libc::kill(p, libc::SIGKILL) };
            }
            panic!("processes left behind: session {members:?}, escaped {escaped:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The process whose `PID_AND_NS` a service wrote to `p` (under the sandbox a namespace pid:
/// `SvcPid::host_pids` finds it through the host's /proc as long as it lives).
fn read_pid(p: &Path) -> SvcPid {
    let t0 = Instant::now();
    loop {
        if let Ok(s) = std::fs::read_to_string(p)
            && let Some(pid) = SvcPid::parse(&s)
        {
            return pid;
        }
        assert!(t0.elapsed() < Duration::from_secs(10), "no pid in {p:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A service node running `script` with the secret `api` as `$SECRET_TOK`.
fn svc(id: &str, script: &str) -> serde_json::Value {
    json!({ "id": id, "type": "service", "run": { "command": ["sh", "-c", script] },
            "secrets": ["tok"],
            "input_mapping": [ { "name": "$secrets", "value": "{ \"tok\": secret_value(\"api\") }" } ] })
}

const SECRET_ARG: [&str; 2] = ["--secret", "api=env:WFOP_TEST_API"];

fn assert_no_leak(case: &Case, r: &Ran) {
    assert_absent(&r.stdout, IBM_KEY, "stdout");
    assert_absent(&r.stderr, IBM_KEY, "stderr");
    for (path, bytes) in case.record_files() {
        assert_absent(&bytes, IBM_KEY, &path.display().to_string());
    }
}

#[test]
fn child_killed_by_sigkill() {
    let case = Case::new();
    let wf = case.workflow(
        json!([svc(
            "victim",
            r#"echo "before $SECRET_TOK"; kill -KILL $$; echo never"#
        )]),
        &[],
        &["api"],
    );
    let r = run(&case, &wf, &SECRET_ARG, &[]);
    let stdout = text(&r.stdout);
    assert_eq!(r.code, Some(1), "{stdout}");
    assert!(stdout.contains("[victim] before ***"), "{stdout}");
    assert!(stdout.contains("killed by signal 9 (SIGKILL)"), "{stdout}");
    let run = case.run_json();
    assert_eq!(run["status"], "failed");
    assert_eq!(node(&run, "victim")["signal"], 9);
    let log = std::fs::read_to_string(case.run_dir().join("victim.log")).unwrap();
    assert!(log.contains("before ***"), "{log}");
    assert_nothing_left(r.sid, &[]);
    assert_no_leak(&case, &r);
}

#[test]
fn child_closes_stdout_and_keeps_running() {
    let case = Case::new();
    // Closes stdout at once, keeps writing to stderr for a while, then succeeds.
    let mut quiet = svc(
        "quiet",
        r#"exec 1>&-; for i in 1 2 3; do echo "still here $i $SECRET_TOK" >&2; sleep 0.2; done"#,
    );
    quiet["timeout"] = json!("60s");
    // Closes both and hangs: only the timeout ends it.
    let mut mute = svc("mute", r#"exec 1>&- 2>&-; sleep 600"#);
    mute["timeout"] = json!("1s");
    let wf = case.workflow(json!([quiet, mute]), &[], &["api"]);
    let r = run(
        &case,
        &wf,
        &[&SECRET_ARG[..], &["--keep-going"]].concat(),
        &[],
    );
    let stdout = text(&r.stdout);
    assert_eq!(r.code, Some(1), "{stdout}");
    assert!(stdout.contains("[quiet] still here 3 ***"), "{stdout}");
    assert!(stdout.contains("wfop: quiet succeeded"), "{stdout}");
    assert!(stdout.contains("mute timed out"), "{stdout}");
    let run = case.run_json();
    assert_eq!(node(&run, "quiet")["status"], "succeeded");
    assert_eq!(node(&run, "mute")["status"], "timed_out");
    // SIGTERM to the group ended it (not the SIGKILL after the 5 s grace): the record says
    // which signal did (an outcome, not a wall-clock limit: CI machines are noisy).
    assert_eq!(node(&run, "mute")["signal"], 15, "{run}");
    assert_nothing_left(r.sid, &[]);
    assert_no_leak(&case, &r);
}

#[test]
fn child_never_reads_a_large_stdin() {
    let case = Case::new();
    // 8 MiB of input: far more than a pipe buffer, so a blocking write would hang.
    let big = "x".repeat(8 << 20);
    let input = case.write("in.json", &json!({ "blob": big }).to_string());
    let mut n = svc(
        "deaf",
        r#"echo "not reading $SECRET_TOK"; sleep 1; test -s "$INPUT_DIRECTORY/blob.json" && echo "file ok""#,
    );
    n["input_mapping"]
        .as_array_mut()
        .unwrap()
        .push(json!({ "name": "blob", "value": "blob" }));
    // A second one that keeps running long after not reading: the timeout ends it.
    let mut stuck = svc("stuck", "sleep 600");
    stuck["input_mapping"]
        .as_array_mut()
        .unwrap()
        .push(json!({ "name": "blob", "value": "blob" }));
    stuck["timeout"] = json!("2s");
    let wf = case.workflow(json!([n, stuck]), &[], &["api"]);
    let r = run(
        &case,
        &wf,
        &[
            &SECRET_ARG[..],
            &["--input", input.to_str().unwrap(), "--keep-going"],
        ]
        .concat(),
        &[],
    );
    let stdout = text(&r.stdout);
    assert_eq!(r.code, Some(1), "{stdout}");
    assert!(stdout.contains("[deaf] file ok"), "{stdout}");
    assert!(stdout.contains("wfop: deaf succeeded"), "{stdout}");
    assert!(stdout.contains("stuck timed out"), "{stdout}");
    // SIGTERM to the group ended it, not the SIGKILL after the 5 s grace.
    let run = case.run_json();
    assert_eq!(node(&run, "stuck")["signal"], 15, "{run}");
    assert_nothing_left(r.sid, &[]);
    assert_no_leak(&case, &r);
}

#[test]
fn grandchild_in_the_group_holding_the_pipes_is_killed() {
    let case = Case::new();
    let pidfile = case.path().join("gc.pid");
    let wf = case.workflow(
        json!([svc(
            "parent",
            r#"sleep 600 & echo "$! $(readlink /proc/self/ns/pid)" > "$PIDFILE"; echo "leaving $SECRET_TOK""#
        )]),
        &[],
        &["api"],
    );
    let r = run(
        &case,
        &wf,
        &SECRET_ARG,
        &[("PIDFILE", pidfile.to_str().unwrap())],
    );
    let stdout = text(&r.stdout);
    assert_eq!(r.code, Some(0), "{stdout}");
    assert!(stdout.contains("[parent] leaving ***"), "{stdout}");
    // The sweep ended the group: its pipes closed, so nothing was cut at the drain.
    assert!(
        !stdout.contains("left the service's process group"),
        "{stdout}"
    );
    let gc = read_pid(&pidfile);
    assert_nothing_left(r.sid, &[gc]);
    assert_no_leak(&case, &r);
}

#[test]
fn grandchild_escaping_with_setsid_is_killed_at_the_end() {
    let case = Case::new();
    let pipes = case.path().join("holder.pid");
    let daemon = case.path().join("daemon.pid");
    // One escapee keeps the output pipes; one is a quiet daemon (pipes closed).
    let script = r#"setsid sh -c 'echo "$$ $(readlink /proc/self/ns/pid)" > "$PIDFILE"; exec sleep 600' &
setsid sh -c 'echo "$$ $(readlink /proc/self/ns/pid)" > "$DAEMONFILE"; exec sleep 600' </dev/null >/dev/null 2>&1 &
sleep 0.3; echo "escaped $SECRET_TOK""#;
    let wf = case.workflow(json!([svc("escape", script)]), &[], &["api"]);
    let r = run(
        &case,
        &wf,
        &SECRET_ARG,
        &[
            ("PIDFILE", pipes.to_str().unwrap()),
            ("DAEMONFILE", daemon.to_str().unwrap()),
        ],
    );
    let stdout = text(&r.stdout);
    assert_eq!(r.code, Some(0), "{stdout}\n{}", text(&r.stderr));
    assert!(stdout.contains("[escape] escaped ***"), "{stdout}");
    // Without the sandbox the pipe holder outlives its service (until the run ends); in a
    // namespace of its own it dies with the service's init, and the pipes close with it.
    let isolated = !text(&r.stderr).contains("not isolated") && !stdout.contains("not isolated");
    assert_eq!(
        stdout.contains("left the service's process group"),
        !isolated,
        "{stdout}"
    );
    let (a, b) = (read_pid(&pipes), read_pid(&daemon));
    assert_nothing_left(r.sid, &[a, b]);
    assert_no_leak(&case, &r);
}

#[test]
fn output_of_an_escaped_process_after_the_drain_is_never_shown() {
    let case = Case::new();
    let tries = case.path().join("late.tries");
    let pidfile = case.path().join("late.pid");
    // `escape` leaves a process in a session of its own that outlives the 2 s drain and then
    // floods the secret (noting in a file outside the log that it got there). `slow` keeps the
    // run going past the drain; the run then ends and purges its secrets while the escapee
    // would still print (until the end-of-run reaper).
    let script = r#"setsid sh -c 'echo "$$ $(readlink /proc/self/ns/pid)" > "$PIDFILE"; sleep 4.5; echo tried >> "$TRIES"; i=0; while [ $i -lt 200000 ]; do echo "late-line $SECRET_TOK"; i=$((i+1)); done' &
while [ ! -s "$PIDFILE" ]; do sleep 0.01; done
echo "started $SECRET_TOK""#;
    let wf = case.workflow(
        json!([
            svc("escape", script),
            svc("slow", "sleep 6; echo slow done")
        ]),
        &[],
        &["api"],
    );
    // Inside the sandbox an escapee dies with its service's namespace (isolation.rs); the
    // pumps must hold without it too, so this runs where namespaces cannot be made.
    let mut args = vec!["run", wf.to_str().unwrap(), "--plain"];
    args.extend_from_slice(&SECRET_ARG);
    let Some(cmd) = case.command_without_namespaces(
        &args,
        &[
            ("WFOP_TEST_API", IBM_KEY),
            ("TRIES", tries.to_str().unwrap()),
            ("PIDFILE", pidfile.to_str().unwrap()),
        ],
    ) else {
        skip_or_fail("cannot run wfop in a user namespace that forbids nested ones (unshare)");
        return;
    };
    let r = run_cmd(&case, cmd);
    let stdout = text(&r.stdout);
    assert_eq!(r.code, Some(0), "{stdout}\n{}", text(&r.stderr));
    assert!(
        stdout.contains("services are not isolated"),
        "the run was sandboxed: {stdout}"
    );
    assert!(stdout.contains("[escape] started ***"), "{stdout}");
    assert!(stdout.contains("[slow] slow done"), "{stdout}");
    // The escapee really tried to print after the drain…
    let tried = std::fs::read_to_string(&tries).unwrap_or_default();
    assert!(
        !tried.is_empty(),
        "the escaped process never tried to print:\n{stdout}"
    );
    // …but its pipe was closed at the drain: not one late line, redacted or raw, anywhere.
    assert_no_leak(&case, &r);
    assert!(!stdout.contains("late-line"), "{stdout}");
    let log = std::fs::read_to_string(case.run_dir().join("escape.log")).unwrap();
    assert!(!log.contains("late-line"), "{log}");
    assert!(
        stdout.contains("stopped reading it and closed the pipe"),
        "{stdout}"
    );
    assert!(stdout.contains("wfop: secrets purged"), "{stdout}");
    assert_nothing_left(r.sid, &[read_pid(&pidfile)]);
}

/// Gone or a zombie (dead, waiting for its reaper), within `within`.
fn ends_within(pid: &SvcPid, within: Duration) -> bool {
    let t0 = Instant::now();
    loop {
        if !pid.alive() {
            return true;
        }
        if t0.elapsed() > within {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_service_group_is_gone_when_its_node_ends_while_the_run_goes_on() {
    use std::io::{BufRead, BufReader};
    let case = Case::new();
    let (gc1, gc2) = (case.path().join("gc1.pid"), case.path().join("gc2.pid"));
    // `hang` times out with a grandchild in its group (terminate: TERM to the group); `leave`
    // exits at once leaving one that holds its pipes (the sweep after the leader ends);
    // `keep` keeps the run going, so the end-of-run reaper cannot be what ends them.
    let mut hang = svc(
        "hang",
        r#"sleep 600 & echo "$! $(readlink /proc/self/ns/pid)" > "$GC1"; echo "hanging $SECRET_TOK"; wait"#,
    );
    hang["timeout"] = json!("500ms");
    let leave = svc(
        "leave",
        r#"sleep 600 & echo "$! $(readlink /proc/self/ns/pid)" > "$GC2"; echo left"#,
    );
    let keep = svc("keep", "sleep 6; echo kept");
    let wf = case.workflow(json!([hang, leave, keep]), &[], &["api"]);
    let mut cmd = case.command(
        &[
            "run",
            wf.to_str().unwrap(),
            "--plain",
            "--keep-going",
            "--max-parallel",
            "3",
            "--secret",
            "api=env:WFOP_TEST_API",
        ],
        &[
            ("WFOP_TEST_API", IBM_KEY),
            ("GC1", gc1.to_str().unwrap()),
            ("GC2", gc2.to_str().unwrap()),
        ],
    );
    let mut child = cmd.stdout(Stdio::piped()).spawn().expect("start wfop");
    let sid = child.id() as i32;
    let mut seen = Vec::new();
    let mut checked = 0;
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        seen.push(line.clone());
        let pidfile = if line.starts_with("wfop: hang timed out") {
            &gc1
        } else if line.starts_with("wfop: leave succeeded") {
            &gc2
        } else {
            continue;
        };
        // The node just ended and `keep` is still running: its group must be gone now.
        let all = seen.join("\n");
        assert!(!all.contains("[keep] kept"), "the run was over: {all}");
        let gc = read_pid(pidfile);
        assert!(
            ends_within(&gc, Duration::from_secs(2)),
            "{line}: a process of its group outlived the node:\n{all}"
        );
        checked += 1;
    }
    let status = child.wait().unwrap();
    let all = seen.join("\n");
    assert_eq!(status.code(), Some(1), "{all}");
    assert_eq!(checked, 2, "both nodes ended while the run went on:\n{all}");
    assert!(all.contains("[keep] kept"), "{all}");
    // The group was ended as a group: nothing "left" it, no pipe was cut at the drain.
    assert!(!all.contains("left the service's process group"), "{all}");
    // SIGTERM to the group ended it, not the SIGKILL after the 5 s grace.
    let run = case.run_json();
    assert_eq!(node(&run, "hang")["signal"], 15, "{run}");
    assert_absent(all.as_bytes(), IBM_KEY, "stdout");
    assert_nothing_left(sid, &[]);
}

#[test]
fn hundred_megabyte_line_without_newline() {
    let case = Case::new();
    let wf = case.workflow(
        json!([svc(
            "flood",
            r#"printf 'start %s ' "$SECRET_TOK"; head -c 100000000 /dev/zero | tr '\0' 'a'; printf ' %s end' "$SECRET_TOK"; sleep 1; grep VmHWM "/proc/$PPID/status" > "$HWM_FILE""#
        )]),
        &[],
        &["api"],
    );
    // The service itself notes wfop's peak memory ($PPID: wfop starts it directly) once the
    // line is all written and wfop had a moment to take it in, while wfop still runs.
    let hwm_file = case.path().join("hwm");
    let r = run(
        &case,
        &wf,
        &SECRET_ARG,
        &[("HWM_FILE", hwm_file.to_str().unwrap())],
    );
    assert_eq!(r.code, Some(0), "{}", text(&r.stderr));
    let count = r.stdout.iter().filter(|&&b| b == b'a').count();
    // Every byte arrives ("start" and "end" hold no `a`; wfop's status lines hold a few).
    assert!(
        (100_000_000..100_000_200).contains(&count),
        "{count} bytes of the line arrived"
    );
    let stdout = text(&r.stdout[..2000]);
    assert!(stdout.contains("[flood] start *** a"), "{stdout}");
    let tail = text(&r.stdout[r.stdout.len() - 2000..]);
    assert!(tail.contains(" *** end"), "{tail}");
    // wfop's own memory stays bounded: the line is passed on in pieces, never held whole
    // (holding it takes wfop's peak past 100 MB; streaming keeps it near 15 MiB).
    let hwm = std::fs::read_to_string(&hwm_file).expect("the service noted wfop's VmHWM");
    let kib: u64 = hwm
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("VmHWM line: {hwm:?}"));
    assert!(kib > 1024, "not wfop's memory: {hwm}");
    assert!(kib < 48 * 1024, "wfop's peak memory was {kib} KiB");
    assert_nothing_left(r.sid, &[]);
    assert_no_leak(&case, &r);
}

// ---------------------------------------------------------------------------------------------
// Records that cannot be written.

#[test]
fn state_folder_blocked_by_a_file() {
    let case = Case::new();
    std::fs::write(case.state(), "not a folder").unwrap();
    let marker = case.path().join("ran");
    let wf = case.workflow(
        json!([svc("s", &format!("touch {}", marker.display()))]),
        &[],
        &["api"],
    );
    let r = run(&case, &wf, &SECRET_ARG, &[]);
    let stderr = text(&r.stderr);
    assert_eq!(r.code, Some(2), "{stderr}");
    assert!(
        stderr.contains("cannot write the run record in"),
        "{stderr}"
    );
    assert!(stderr.contains(case.state().to_str().unwrap()), "{stderr}");
    assert!(!marker.exists(), "a service ran without a record");
    assert_nothing_left(r.sid, &[]);
    assert_no_leak(&case, &r);
}

/// A tmpfs mounted on `path` (root only); unmounted on drop. None when mounting is refused
/// (a failure under `WFOP_TEST_STRICT`).
struct Mount(PathBuf);

impl Mount {
    fn tmpfs(path: &Path, opts: &str) -> Option<Mount> {
        std::fs::create_dir_all(path).ok()?;
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", opts, "tmpfs"])
            .arg(path)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            skip_or_fail("cannot mount a tmpfs (needs root and util-linux mount)");
            return None;
        }
        Some(Mount(path.to_path_buf()))
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

#[test]
fn read_only_state_folder() {
    let case = Case::new();
    let Some(_m) = Mount::tmpfs(&case.state(), "ro,size=64k") else {
        return;
    };
    let wf = case.workflow(json!([svc("s", "echo hi")]), &[], &["api"]);
    let r = run(&case, &wf, &SECRET_ARG, &[]);
    let stderr = text(&r.stderr);
    assert_eq!(r.code, Some(2), "{stderr}");
    assert!(
        stderr.contains("cannot write the run record in"),
        "{stderr}"
    );
    assert!(stderr.contains("Read-only file system"), "{stderr}");
    assert_nothing_left(r.sid, &[]);
    assert_no_leak(&case, &r);
}

#[test]
fn state_folder_fills_up_during_the_run() {
    let case = Case::new();
    let Some(_m) = Mount::tmpfs(&case.state(), "size=64k") else {
        return;
    };
    // Far more log than 64 KiB fits; the run itself succeeds.
    let wf = case.workflow(
        json!([svc(
            "chatty",
            r#"i=0; while [ $i -lt 4000 ]; do echo "line $i of a long log with the token $SECRET_TOK"; i=$((i+1)); done; echo done"#
        )]),
        &[],
        &["api"],
    );
    let r = run(&case, &wf, &SECRET_ARG, &[]);
    let stdout = text(&r.stdout);
    assert_eq!(r.code, Some(0), "{stdout}\n{}", text(&r.stderr));
    assert!(
        stdout.contains("[chatty] line 3999 of"),
        "all output is shown"
    );
    assert!(stdout.contains("[chatty] done"), "{stdout}");
    assert!(
        stdout.contains("wfop: warning: chatty: cannot write the node's log"),
        "the operator is told the record is incomplete:\n{}",
        &stdout[stdout.len().saturating_sub(3000)..]
    );
    // What was written is kept: run.json from before the disk filled, the log's beginning.
    let run = case.run_json();
    assert_eq!(run["workflow"], "test");
    let log = std::fs::read_to_string(case.run_dir().join("chatty.log")).unwrap();
    assert!(log.contains("line 0 of"), "{}", &log[..log.len().min(500)]);
    assert_nothing_left(r.sid, &[]);
    assert_no_leak(&case, &r);
}
