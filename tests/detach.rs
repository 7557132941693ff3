//! Runs that outlive their terminal (issue 14), as an operator meets them: a TUI over a real
//! `ssh -tt` whose client is killed mid-run and a new session that attaches again (and, as the
//! control, the same drop with `--stop-on-hangup`); `d`; two clients at once, as JSON and as
//! screens with their own views; a stopped client and one that never reads under a log flood;
//! a peer of another uid and a client of another protocol; `wfop stop`; a run host killed
//! outright; the host's end after its linger and the replay from the record; and every byte
//! of socket traffic searched for the secret. Skipped with the reason where sshd, tmux or root
//! is missing; no wall-clock asserts: waits are polls with a generous give-up.

mod run_support;

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use run_support::sshd::Sshd;
use run_support::tmux::{GIVE_UP, Tmux};
use run_support::{
    Case, IBM_KEY, PID_AND_NS, SvcPid, assert_absent, node, shell_quote, skip_or_fail, text,
};
use serde_json::{Value, json};

/// The run host lingers this long after the end with no client (the default is 10 s).
const LINGER: (&str, &str) = ("WFOP_HOST_LINGER_MS", "500");
/// The variable `--secret tok=env:…` reads.
const SECRET_VAR: &str = "WFOP_TEST_TOK";

/// Polls `pred` every 50 ms until it holds; panics with `what` (and `why()`) at [`GIVE_UP`].
fn wait_until(what: &str, mut pred: impl FnMut() -> bool, why: impl Fn() -> String) {
    let start = Instant::now();
    while !pred() {
        assert!(
            start.elapsed() < GIVE_UP,
            "gave up waiting for {what}\n{}",
            why()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn q(p: &Path) -> String {
    shell_quote(&p.display().to_string())
}

/// Files of a counting service: where it writes its pid, and the file whose existence lets it
/// finish.
struct Counter {
    pid_file: PathBuf,
    go: PathBuf,
}

impl Counter {
    fn in_dir(dir: &Path) -> Counter {
        Counter {
            pid_file: dir.join("counter.pid"),
            go: dir.join("go"),
        }
    }

    /// A workflow of one service `counter` that writes its pid, prints the secret `tok` (when
    /// `secret`), then `line 0001`, `line 0002`… every 0.1 s until the `go` file exists (at
    /// most 900 lines), then `done N`. The paths are in the script, not in the environment,
    /// so the run host needs nothing from its starter's environment.
    fn workflow(&self, case: &Case, secret: bool) -> PathBuf {
        self.workflow_ending(case, secret, 0)
    }

    /// The same, with the service exiting with `code` after `done N`.
    fn workflow_ending(&self, case: &Case, secret: bool, code: u8) -> PathBuf {
        let leak = if secret {
            r#"v="$SECRET_TOK"; echo "token $v"; printf '%s' "$v" | base64; echo; echo "to stderr $v" >&2
"#
        } else {
            ""
        };
        let script = format!(
            r#"echo {PID_AND_NS} > {pid}
{leak}i=0
while [ ! -e {go} ] && [ $i -lt 900 ]; do i=$((i+1)); printf 'line %04d\n' $i; sleep 0.1; done
echo "done $i"
exit {code}"#,
            pid = q(&self.pid_file),
            go = q(&self.go),
        );
        let mut svc = json!({ "id": "counter", "type": "service",
                              "run": { "command": ["sh", "-c", script] } });
        if secret {
            svc["secrets"] = json!(["tok"]);
            svc["input_mapping"] =
                json!([{ "name": "$secrets", "value": "{ \"tok\": secret_value(\"tok\") }" }]);
        }
        case.workflow(json!([svc]), &[], if secret { &["tok"] } else { &[] })
    }

    fn release(&self) {
        std::fs::write(&self.go, "").expect("go file");
    }

    /// The service's processes (read while it runs).
    fn pid(&self) -> Procs {
        let text = std::fs::read_to_string(&self.pid_file).expect("counter pid file");
        Procs::of(&SvcPid::parse(&text).unwrap_or_else(|| panic!("no pid in {text:?}")))
    }
}

/// What a test started that must not outlive it, whatever the test's outcome: the counter is
/// released, then the run hosts and services still there are killed.
#[derive(Default)]
struct Leftovers {
    go: Vec<PathBuf>,
    /// Run hosts as (pid, start time): a pid that ended and was reused is left alone.
    hosts: Vec<(i32, Option<u64>)>,
    /// Service processes as (host pid, start time), taken while they ran: a pid namespace's
    /// number is reused once it is gone, so (namespace, pid) may name another test's service
    /// later; a host pid with its start time cannot.
    services: Vec<(i32, Option<u64>)>,
}

impl Leftovers {
    /// Leftovers of a test whose service finishes once `go` exists.
    fn releasing(go: &Path) -> Leftovers {
        let mut l = Leftovers::default();
        l.go.push(go.to_path_buf());
        l
    }

    /// Keeps the processes of a service, to kill them at the end if they still run.
    fn service(&mut self, svc: &Procs) {
        self.services.extend(svc.0.iter().copied());
    }
}

impl Drop for Leftovers {
    fn drop(&mut self) {
        for g in &self.go {
            let _ = std::fs::write(g, "");
        }
        for &(p, start) in self.services.iter().chain(&self.hosts) {
            if start.is_some() && proc_start(p) == start {
                // SAFETY: plain kill of a process this test started (same pid, same start).
                unsafe { libc::kill(p, libc::SIGKILL) };
            }
        }
    }
}

/// The host processes a service wrote down (`SvcPid`), taken while it runs, as (host pid,
/// start time): unlike (pid namespace, pid), which names another process once the namespace
/// is gone and its number reused, these never name anything else.
#[derive(Debug, Clone)]
struct Procs(Vec<(i32, Option<u64>)>);

impl Procs {
    fn of(svc: &SvcPid) -> Procs {
        Procs(
            svc.host_pids()
                .into_iter()
                .map(|p| (p, proc_start(p)))
                .collect(),
        )
    }

    /// Some of them still runs (a zombie waiting for its reaper does not count).
    fn alive(&self) -> bool {
        self.0.iter().any(|&(p, start)| {
            let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).unwrap_or_default();
            start.is_some() && proc_start(p) == start && !stat.contains(") Z ")
        })
    }

    /// Each one's parent pid, for messages.
    fn parents(&self) -> Vec<(i32, String)> {
        self.0
            .iter()
            .map(|&(p, _)| {
                let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).unwrap_or_default();
                let ppid = stat
                    .rsplit_once(')')
                    .and_then(|(_, r)| r.split_whitespace().nth(1))
                    .unwrap_or("gone")
                    .to_string();
                (p, ppid)
            })
            .collect()
    }
}

/// The numbers of the `line NNNN` lines, in order.
fn numbers(lines: &[String]) -> Vec<u32> {
    lines
        .iter()
        .filter_map(|l| l.strip_prefix("line ")?.trim().parse().ok())
        .collect()
}

/// `nums` is exactly 1, 2, … `n`.
fn assert_every_line(nums: &[u32], n: u32, whose: &str) {
    let want: Vec<u32> = (1..=n).collect();
    if nums != want.as_slice() {
        let first_bad = nums
            .iter()
            .zip(&want)
            .position(|(a, b)| a != b)
            .unwrap_or(nums.len().min(want.len()));
        panic!(
            "{whose}: {} lines, expected 1..={n} in order; first difference at #{first_bad}: {:?}",
            nums.len(),
            &nums[first_bad.saturating_sub(2)..(first_bad + 3).min(nums.len())]
        );
    }
}

/// The service's lines in the record (`<record>/counter.log`: `<time> <stream> <line>`).
fn record_lines(record: &Path, node: &str) -> Vec<String> {
    std::fs::read_to_string(record.join(format!("{node}.log")))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let mut f = l.splitn(3, ' ');
            let (_, stream, line) = (f.next()?, f.next()?, f.next()?);
            (stream == "stdout" || stream == "stderr").then(|| line.to_string())
        })
        .collect()
}

/// A screen capture without its escape sequences (`capture` keeps them: `-e`).
fn plain(screen: &str) -> String {
    let mut out = String::new();
    let mut chars = screen.chars().peekable();
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

/// The highest `line NNNN` on a screen (0 when none).
fn newest_on(screen: &str) -> u32 {
    let screen = plain(screen);
    screen
        .match_indices("line ")
        .filter_map(|(i, _)| screen.get(i + 5..i + 9)?.parse().ok())
        .max()
        .unwrap_or(0)
}

/// `N` from the service's `done N`.
fn done_count(lines: &[String]) -> Option<u32> {
    lines
        .iter()
        .find_map(|l| l.strip_prefix("done ")?.trim().parse().ok())
}

/// The newest run folder, if there is one yet.
fn latest_run(case: &Case) -> Option<PathBuf> {
    std::fs::read_dir(case.state().join("runs"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .max()
}

/// `wfop run WF --detach ARGS…` (exit 0): the run's id, from its `run <ID> started` line, and
/// its record; the host goes into `left` before anything is checked.
fn start_detached(
    case: &Case,
    wf: &Path,
    args: &[&str],
    envs: &[(&str, &str)],
    left: &mut Leftovers,
) -> (String, PathBuf, String) {
    let mut all = vec!["run", wf.to_str().expect("utf-8 path"), "--detach"];
    all.extend_from_slice(args);
    let mut envs = envs.to_vec();
    envs.push(LINGER);
    let out = case.wfop(&all, &envs);
    let record = latest_run(case);
    if let Some(pid) = record
        .as_deref()
        .and_then(|r| std::fs::read(r.join("run.json")).ok())
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .and_then(|d| d["pid"].as_i64())
    {
        left.hosts.push((pid as i32, proc_start(pid as i32)));
    }
    let stdout = text(&out.stdout);
    let why = format!("stdout: {stdout}\nstderr: {}", text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{why}");
    let id = stdout
        .lines()
        .find_map(|l| {
            let mut w = l.split_whitespace().skip_while(|&w| w != "run").skip(1);
            let id = w.next()?;
            (w.next()? == "started" || l.contains(&format!("run {id} started"))).then_some(id)
        })
        .unwrap_or_else(|| panic!("no `run <ID> started` line: {why}"))
        .to_string();
    let record = record.unwrap_or_else(|| panic!("no record: {why}"));
    assert_eq!(run_json(&record)["run_id"], id.as_str(), "{why}");
    host_pid(&record);
    (id, record, stdout)
}

fn run_json(record: &Path) -> Value {
    let bytes = std::fs::read(record.join("run.json")).expect("run.json");
    serde_json::from_slice(&bytes).expect("run.json is JSON")
}

/// The run host's pid (the process that writes the record), checked to be `wfop __run-host`.
fn host_pid(record: &Path) -> i32 {
    let pid = run_json(record)["pid"].as_i64().expect("run.json pid") as i32;
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    assert!(
        text(&cmdline).contains("__run-host"),
        "run.json's pid {pid} is not a run host: {:?}",
        text(&cmdline)
    );
    pid
}

/// A process's start time (`/proc/<pid>/stat` field 22), `None` when it is gone.
fn proc_start(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?
        .1
        .split_whitespace()
        .nth(19)?
        .parse()
        .ok()
}

/// The run host as `Leftovers` keeps it.
fn host_of(record: &Path) -> (i32, Option<u64>) {
    let pid = host_pid(record);
    (pid, proc_start(pid))
}

/// An `attach --json` (or any wfop) child whose stdout lines are collected as they come.
struct Lines {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Lines {
    fn spawn(case: &Case, args: &[&str]) -> Lines {
        Lines::of(case.command(args, &[]))
    }

    fn of(mut cmd: std::process::Command) -> Lines {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn wfop");
        let out = child.stdout.take().expect("stdout");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&lines);
        let reader = std::thread::spawn(move || {
            for l in BufReader::new(out).lines() {
                let Ok(l) = l else { break };
                sink.lock().expect("lines").push(l);
            }
        });
        Lines {
            child,
            lines,
            reader: Some(reader),
        }
    }

    fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    fn snapshot(&self) -> Vec<String> {
        self.lines.lock().expect("lines").clone()
    }

    /// The `line` of every `node_log` event of `node` so far.
    fn logged(&self, node: &str) -> Vec<String> {
        node_logs(&self.snapshot(), node)
    }

    /// Waits for the exit; returns the exit code, every stdout line and stderr.
    fn finish(mut self) -> (Option<i32>, Vec<String>, String) {
        let mut err = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        let status = self.child.wait().expect("wait");
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
        (status.code(), self.snapshot(), err)
    }
}

impl Drop for Lines {
    fn drop(&mut self) {
        if self.reader.is_some() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The `line` of every `node_log` event of `node` in JSON lines.
fn node_logs(lines: &[String], node: &str) -> Vec<String> {
    lines
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["event"] == "node_log" && e["node"] == node)
        .filter_map(|e| e["line"].as_str().map(str::to_string))
        .collect()
}

/// The lines of a `node_log` object off the socket: `lines` (one read of the service's output,
/// each line ending in `\n`, as the event log keeps it) or `line` (one, as `--json` writes it).
fn raw_log_lines(e: &Value) -> Vec<String> {
    if let Some(l) = e["line"].as_str() {
        return vec![l.to_string()];
    }
    e["lines"]
        .as_str()
        .map(|s| s.split_terminator('\n').map(String::from).collect())
        .unwrap_or_default()
}

/// A raw client of `<record>/host.sock` that keeps every byte the host sends.
struct Raw {
    stream: UnixStream,
    /// Every byte received, in order.
    got: Vec<u8>,
    /// How much of `got` `line` has handed out.
    used: usize,
    /// The host's hello (after `attach`).
    hello: Value,
}

impl Raw {
    fn connect(record: &Path) -> Raw {
        let sock = record.join("host.sock");
        wait_until("the run host's socket", || sock.exists(), String::new);
        let stream = UnixStream::connect(&sock).expect("connect host.sock");
        stream
            .set_read_timeout(Some(GIVE_UP))
            .expect("read timeout");
        Raw {
            stream,
            got: Vec::new(),
            used: 0,
            hello: Value::Null,
        }
    }

    /// Connects, checks the host's hello and says hello in `mode`.
    fn attach(record: &Path, mode: &str) -> Raw {
        let mut r = Raw::connect(record);
        let hello = r.line().expect("the host's hello");
        assert_eq!(hello["hello"], "wfop-run-host", "{hello}");
        assert_eq!(hello["protocol"], 1, "{hello}");
        r.send(&json!({"hello": "wfop", "protocol": 1, "mode": mode}));
        r.hello = hello;
        r
    }

    fn send(&mut self, v: &Value) {
        let mut line = serde_json::to_vec(v).expect("json");
        line.push(b'\n');
        self.stream.write_all(&line).expect("send to the host");
    }

    /// The next line as JSON (`None` at EOF); every byte read is kept in `got`.
    fn line(&mut self) -> Option<Value> {
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            if let Some(k) = self.got[self.used..].iter().position(|&b| b == b'\n') {
                let l = &self.got[self.used..self.used + k];
                self.used += k + 1;
                return Some(
                    serde_json::from_slice(l).unwrap_or_else(|e| panic!("{e}: {:?}", text(l))),
                );
            }
            match self.stream.read(&mut chunk) {
                Ok(0) => return None,
                Ok(n) => self.got.extend_from_slice(&chunk[..n]),
                Err(e) => panic!("reading host.sock: {e}"),
            }
        }
    }

    /// Reads on to EOF, keeping the bytes; false when the read failed or timed out first.
    fn rest(&mut self) -> bool {
        self.stream.read_to_end(&mut self.got).is_ok()
    }

    /// Reads lines (kept in `got`) up to the reply to a command.
    fn reply(&mut self) -> Value {
        loop {
            match self.line() {
                Some(v) if v.get("reply").is_some() => return v,
                Some(_) => {}
                None => panic!("the host closed before replying: {}", text(&self.got)),
            }
        }
    }
}

// ---------------------------------------------------------------------------------------

/// `wfop run WF EXTRA` (the TUI, secret `tok` from a file the remote shell reads: never on a
/// command line) over `ssh -tt` in a tmux pane; waits for `line 0003` on the screen. Returns the
/// pane and the ssh client's pid; `None` (skipped) without tmux.
fn tui_over_ssh(
    sshd: &Sshd,
    case: &Case,
    wf: &Path,
    extra: &str,
    seen: &mut Vec<String>,
) -> Option<(Tmux, i32)> {
    let secret_file = case.write("tok", IBM_KEY);
    let remote_run = format!(
        "cd {dir} && export {SECRET_VAR}=\"$(cat {secret})\" {l}={lv} && exec {wfop} run {wf} --secret tok=env:{SECRET_VAR} {extra} --state-dir {state}",
        dir = q(case.path()),
        secret = q(&secret_file),
        l = LINGER.0,
        lv = LINGER.1,
        wfop = shell_quote(env!("CARGO_BIN_EXE_wfop")),
        wf = q(wf),
        state = q(&case.state()),
    );
    let client_pid = case.path().join("client.pid");
    let first = format!(
        "echo $$ > {}; exec {}",
        q(&client_pid),
        sshd.ssh_line(&remote_run)
    );
    let t = Tmux::start("detach-ssh", &first, 100, 30)?;
    t.wait_for(seen, "the run's TUI with a few lines", |s| {
        s.contains("line 0003") && s.contains("running")
    });
    let client = std::fs::read_to_string(&client_pid)
        .expect("client pid")
        .trim()
        .parse()
        .expect("a pid");
    Some((t, client))
}

#[test]
fn an_ssh_drop_leaves_the_run_going_and_attach_last_shows_it_all() {
    let Some(sshd) = Sshd::start() else {
        return;
    };
    let case = Case::new();
    let counter = Counter::in_dir(case.path());
    let mut left = Leftovers::releasing(&counter.go);
    let wf = counter.workflow(&case, true);
    let mut seen = Vec::new();
    let Some((t1, client)) = tui_over_ssh(&sshd, &case, &wf, "", &mut seen) else {
        return;
    };
    let record = case.run_dir();
    let id = run_json(&record)["run_id"]
        .as_str()
        .expect("run_id")
        .to_string();
    left.hosts.push(host_of(&record));
    let svc = counter.pid();
    left.service(&svc);
    assert!(svc.alive(), "the service runs");
    // SAFETY: plain kill of the ssh client this test started (the pane's process).
    unsafe { libc::kill(client, libc::SIGKILL) };
    let at_drop = numbers(&record_lines(&record, "counter")).len();
    // The run goes on without any terminal: the service lives and its lines keep coming.
    wait_until(
        "lines logged after the ssh client died",
        || numbers(&record_lines(&record, "counter")).len() >= at_drop + 5,
        || {
            format!(
                "record: {:?}\nsshd:\n{}",
                record_lines(&record, "counter"),
                sshd.log()
            )
        },
    );
    assert!(svc.alive(), "the service outlived the ssh session");
    assert_eq!(run_json(&record)["status"], "running");
    // The remote TUI got the hangup and let go of the run.
    wait_until(
        "the hung-up client to leave the run",
        || ps_entry(&case, &id).is_some_and(|e| e["clients"] == 0),
        || format!("{:?}", ps_entries(&case)),
    );
    drop(t1);

    // A new SSH session attaches to the live run.
    let wfop = shell_quote(env!("CARGO_BIN_EXE_wfop"));
    let state = q(&case.state());
    let remote_attach = format!("exec {wfop} attach last --state-dir {state}",);
    let Some(t2) = Tmux::start("detach-ssh2", &sshd.ssh_line(&remote_attach), 100, 30) else {
        return;
    };
    let before = numbers(&record_lines(&record, "counter")).len() as u32;
    // The log pane follows the newest line: one logged after this session began.
    let screen = t2.wait_for(&mut seen, "the attached TUI at the live end", |s| {
        newest_on(s) >= before && s.contains("running")
    });
    assert!(screen.contains("counter"), "{screen}");
    // The secret's row: held by the run host, not asked for again, never shown.
    let row = plain(&screen);
    assert!(row.contains("given when the run"), "{row}");
    // The history is there too: the oldest lines, from before this session.
    t2.key("Tab");
    t2.key("Tab");
    t2.keys("g");
    t2.wait_for(&mut seen, "the first lines in the log pane", |s| {
        let s = plain(s);
        s.contains("line 0001") && s.contains("token ***")
    });
    // A JSON client attached now gets every line from the first, then the live ones.
    let json = Lines::spawn(&case, &["attach", "last", "--json"]);
    wait_until(
        "the JSON client to catch up with the live run",
        || numbers(&json.logged("counter")).len() > before as usize,
        || format!("{:?}", json.snapshot()),
    );
    counter.release();
    let (code, lines, err) = json.finish();
    assert_eq!(code, Some(0), "{err}\n{lines:?}");
    let logged = node_logs(&lines, "counter");
    let n = done_count(&logged).expect("done N in the stream");
    assert_every_line(&numbers(&logged), n, "attach last --json");
    assert!(logged.iter().any(|l| l == "token ***"), "{logged:?}");
    let last: Value = serde_json::from_str(lines.last().expect("a last line")).expect("JSON");
    assert_eq!(last["event"], "run_finished", "{last}");
    for l in &lines {
        let e: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
        assert!(e["t"].is_u64(), "every line has `t`: {l}");
    }
    t2.wait_for(&mut seen, "the attached TUI to see the end", |s| {
        s.contains("succeeded")
    });
    assert_eq!(run_json(&record)["status"], "succeeded");
    for s in &seen {
        assert_absent(s.as_bytes(), IBM_KEY, "a screen");
    }
    assert_absent(lines.join("\n").as_bytes(), IBM_KEY, "attach --json");
}

/// The entries of `wfop ps --json` (one JSON array, an object with `runs`, or one object a
/// line: whichever the core prints).
fn ps_entries(case: &Case) -> Vec<Value> {
    let out = case.wfop(&["ps", "--json"], &[]);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "wfop ps --json: {stdout}\n{}",
        text(&out.stderr)
    );
    match serde_json::from_str::<Value>(&stdout) {
        Ok(Value::Array(a)) => a,
        Ok(v) if v["runs"].is_array() => v["runs"].as_array().cloned().unwrap_or_default(),
        _ => stdout
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("ps --json: {e}: {l}")))
            .collect(),
    }
}

/// `wfop ps --json`'s entry for run `id`.
fn ps_entry(case: &Case, id: &str) -> Option<Value> {
    ps_entries(case)
        .into_iter()
        .find(|e| e["id"] == id || e["run_id"] == id)
}

#[test]
fn two_clients_at_once_both_get_every_line_and_a_late_one_replays_it() {
    let case = Case::new();
    let counter = Counter::in_dir(case.path());
    let mut left = Leftovers::releasing(&counter.go);
    let wf = counter.workflow(&case, false);
    let (id, record, _) = start_detached(&case, &wf, &[], &[], &mut left);
    let a = Lines::spawn(&case, &["attach", &id, "--json"]);
    let b = Lines::spawn(&case, &["attach", "last", "--json"]);
    for (name, c) in [("a", &a), ("b", &b)] {
        wait_until(
            &format!("client {name} to see lines"),
            || numbers(&c.logged("counter")).len() >= 3,
            || format!("{:?}", c.snapshot()),
        );
    }
    let entry = ps_entry(&case, &id).unwrap_or_else(|| panic!("ps lists {id}"));
    assert_eq!(entry["clients"], 2, "{entry}");
    assert_eq!(entry["workflow"], "test", "{entry}");
    counter.release();
    let (code_a, lines_a, err_a) = a.finish();
    let (code_b, lines_b, err_b) = b.finish();
    assert_eq!(code_a, Some(0), "{err_a}");
    assert_eq!(code_b, Some(0), "{err_b}");
    let logged = node_logs(&lines_a, "counter");
    let n = done_count(&logged).expect("done N");
    assert!(n >= 3, "{logged:?}");
    assert_every_line(&numbers(&logged), n, "client a");
    assert_every_line(&numbers(&node_logs(&lines_b, "counter")), n, "client b");
    assert_eq!(lines_a, lines_b, "both clients got the same stream");
    assert_eq!(run_json(&record)["status"], "succeeded");
    // The finished run, attached again: the same events from the record.
    let (code_c, lines_c, err_c) = Lines::spawn(&case, &["attach", &id, "--json"]).finish();
    assert_eq!(code_c, Some(0), "{err_c}");
    let events = |ls: &[String]| -> Vec<Value> {
        ls.iter()
            .map(|l| {
                let mut e: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
                e.as_object_mut().map(|o| o.remove("t"));
                e
            })
            .collect()
    };
    assert_eq!(
        events(&lines_c),
        events(&lines_a),
        "the replay is the live stream"
    );
    // And as text.
    let out = case.wfop(&["attach", &id, "--plain"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let plain = text(&out.stdout);
    let shown: Vec<String> = plain
        .lines()
        .filter_map(|l| l.strip_prefix("[counter] ").map(str::to_string))
        .collect();
    assert_every_line(&numbers(&shown), n, "attach --plain");
}

#[test]
fn a_stopped_client_does_not_hold_up_the_run_or_the_other_client() {
    const FLOOD: u32 = 50_000;
    let case = Case::new();
    let go = case.path().join("go");
    let mut left = Leftovers::releasing(&go);
    // About 4 MB of log (and more as JSON events) once the clients are there.
    let script = format!(
        r#"n=0; while [ ! -e {go} ] && [ $n -lt 1200 ]; do n=$((n+1)); sleep 0.05; done
awk 'BEGIN {{ for (i = 1; i <= {FLOOD}; i++) printf "flood %06d %s\n", i, "the quick brown fox jumps over the lazy dog 0123456789" }}'
echo "flood over""#,
        go = q(&go)
    );
    let wf = case.workflow(
        json!([{ "id": "flood", "type": "service", "run": { "command": ["sh", "-c", script] } }]),
        &[],
        &[],
    );
    let (id, record, _) = start_detached(&case, &wf, &[], &[], &mut left);
    // A raw client that says hello and then reads nothing until the run is over.
    let mut mute = Raw::attach(&record, "attach");
    // An `attach --json` that is stopped once it is connected.
    let stopped = Lines::spawn(&case, &["attach", &id, "--json"]);
    wait_until(
        "the stopped client's first event",
        || !stopped.snapshot().is_empty(),
        String::new,
    );
    // SAFETY: plain signal to the child this test started.
    unsafe { libc::kill(stopped.pid(), libc::SIGSTOP) };
    let reader = Lines::spawn(&case, &["attach", &id, "--json"]);
    wait_until(
        "the reading client's first event",
        || !reader.snapshot().is_empty(),
        String::new,
    );
    std::fs::write(&go, "").expect("go");
    // The run gets to its end while one client never reads and one is stopped.
    wait_until(
        "the run to end under the flood",
        || run_json(&record)["status"] != "running",
        || format!("run.json: {}", run_json(&record)),
    );
    assert_eq!(run_json(&record)["status"], "succeeded");
    let (code, lines, err) = reader.finish();
    assert_eq!(code, Some(0), "{err}");
    let flood: Vec<u32> = node_logs(&lines, "flood")
        .iter()
        .filter_map(|l| l.strip_prefix("flood ")?.get(..6)?.parse().ok())
        .collect();
    let want: Vec<u32> = (1..=FLOOD).collect();
    assert!(
        flood == want,
        "the reading client got {} flood lines, expected 1..={FLOOD} in order",
        flood.len()
    );
    // The stopped client, let go, catches up (from the record) and ends as the run did.
    // SAFETY: plain signal to the child this test started.
    unsafe { libc::kill(stopped.pid(), libc::SIGCONT) };
    let (code, late, err) = stopped.finish();
    assert_eq!(code, Some(0), "{err}");
    let flood_late: Vec<u32> = node_logs(&late, "flood")
        .iter()
        .filter_map(|l| l.strip_prefix("flood ")?.get(..6)?.parse().ok())
        .collect();
    assert!(
        flood_late == want,
        "the stopped client got {} flood lines, expected 1..={FLOOD} in order",
        flood_late.len()
    );
    // The raw client, reading at last, gets it all too: far more than any socket buffer holds,
    // so the host really had a client that did not keep up, and served it at its own pace.
    let mut flood_raw: Vec<u32> = Vec::new();
    while let Some(e) = mute.line() {
        if e["event"] == "node_log" {
            flood_raw.extend(
                raw_log_lines(&e)
                    .iter()
                    .filter_map(|l| l.strip_prefix("flood ")?.get(..6)?.parse::<u32>().ok()),
            );
        }
        if e["event"] == "run_finished" {
            break;
        }
    }
    assert!(
        flood_raw == want,
        "the raw client got {} flood lines, expected 1..={FLOOD} in order",
        flood_raw.len()
    );
    // A Unix socket buffers about wmem_default (sender) + rmem_default (receiver) unless
    // told otherwise.
    let sysctl = |name: &str| -> usize {
        std::fs::read_to_string(format!("/proc/sys/net/core/{name}"))
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(256 << 10)
    };
    let buffers = sysctl("wmem_default") + sysctl("rmem_default");
    assert!(
        mute.got.len() > 4 * buffers,
        "the stream ({} bytes) is far larger than the socket's buffers ({buffers} bytes)",
        mute.got.len()
    );
}

#[test]
fn a_peer_of_another_uid_is_refused() {
    // SAFETY: getuid has no preconditions.
    if unsafe { libc::getuid() } != 0 {
        skip_or_fail("needs root: the run host runs as nobody and root connects to it");
        return;
    }
    if std::process::Command::new("setpriv")
        .arg("--version")
        .output()
        .is_err()
    {
        skip_or_fail("setpriv (util-linux) not installed");
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    const NOBODY: u32 = 65534;
    let case = Case::new();
    // nobody must reach the workflow and own the state folder and the counter's files.
    std::fs::set_permissions(case.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let own = case.path().join("nobody");
    for d in [own.clone(), case.state()] {
        std::fs::create_dir(&d).expect("mkdir");
        std::os::unix::fs::chown(&d, Some(NOBODY), Some(NOBODY)).expect("chown");
    }
    // The run host is `current_exe()` of nobody's wfop: a copy nobody can reach (the build's
    // folder may be private, as a CI clone in a 0700 folder is).
    let exe = case.path().join("wfop");
    std::fs::copy(env!("CARGO_BIN_EXE_wfop"), &exe).expect("copy wfop");
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let counter = Counter::in_dir(&own);
    let mut left = Leftovers::releasing(&counter.go);
    let wf = counter.workflow(&case, false);
    let as_nobody = || {
        let mut c = std::process::Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"]);
        c.arg(&exe);
        c.env("HOME", &own);
        c
    };
    let out = case
        .command_of(
            as_nobody(),
            &["run", wf.to_str().expect("utf-8"), "--detach"],
            &[LINGER],
        )
        .output()
        .expect("setpriv wfop run --detach");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let record = case.run_dir();
    left.hosts.push(host_of(&record));
    // The host's own uid is served: nobody's `attach --json` gets the lines.
    let theirs = Lines::of(case.command_of(as_nobody(), &["attach", "last", "--json"], &[]));
    wait_until(
        "nobody's client to get lines",
        || numbers(&theirs.logged("counter")).len() >= 2,
        || format!("{:?}", theirs.snapshot()),
    );
    let sock = record.join("host.sock");
    let mode = |p: &Path| std::fs::metadata(p).expect("stat").permissions().mode() & 0o7777;
    assert_eq!(mode(&sock), 0o600, "host.sock");
    assert_eq!(mode(&record), 0o700, "the record folder");
    // Root passes the file mode; only the peer check can refuse it.
    let mut raw = Raw::connect(&record);
    raw.stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("read timeout");
    assert!(
        raw.rest(),
        "the host closed the connection: {}",
        text(&raw.got)
    );
    let got = text(&raw.got);
    let lines: Vec<&str> = got.lines().collect();
    assert_eq!(lines.len(), 1, "one line, then the end: {got}");
    let first: Value = serde_json::from_str(lines[0]).unwrap_or_else(|e| panic!("{e}: {got}"));
    assert!(first["error"].is_string(), "{got}");
    assert!(!got.contains("\"event\""), "{got}");
    assert!(!got.contains("line 0001"), "{got}");
    // `wfop attach` as root says so and shows nothing of the run.
    let out = case.wfop(&["attach", "last", "--json"], &[]);
    assert_ne!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(
        !text(&out.stdout).contains("line 0001"),
        "{}",
        text(&out.stdout)
    );
    eprintln!("root's `wfop attach`: {}", text(&out.stderr).trim());
    counter.release();
    let (code, lines, err) = theirs.finish();
    assert_eq!(code, Some(0), "{err}");
    let logged = node_logs(&lines, "counter");
    assert_every_line(
        &numbers(&logged),
        done_count(&logged).expect("done N"),
        "nobody's client",
    );
}

/// A detached run of a service that starts a grandchild and waits: returns the id, the
/// record, the service and the grandchild (both checked to be running).
fn start_sleeper(case: &Case, left: &mut Leftovers) -> (String, PathBuf, Procs, Procs) {
    let pid_file = case.path().join("sleeper.pid");
    let gc_file = case.path().join("grandchild.pid");
    let script = format!(
        r#"echo {PID_AND_NS} > {pid}; sleep 600 & echo "$! $(readlink /proc/self/ns/pid)" > {gc}; echo waiting; wait"#,
        pid = q(&pid_file),
        gc = q(&gc_file),
    );
    let wf = case.workflow(
        json!([
            { "id": "sleeper", "type": "service", "run": { "command": ["sh", "-c", script] } },
            { "id": "later", "type": "service", "run": { "command": ["true"] } }
        ]),
        &[("sleeper", "later")],
        &[],
    );
    let (id, record, _) = start_detached(case, &wf, &[], &[], left);
    wait_until(
        "the sleeper to be waiting",
        || {
            record_lines(&record, "sleeper")
                .iter()
                .any(|l| l == "waiting")
        },
        || format!("{:?}", record_lines(&record, "sleeper")),
    );
    let read = |p: &Path| {
        let t = std::fs::read_to_string(p).expect("pid file");
        Procs::of(&SvcPid::parse(&t).unwrap_or_else(|| panic!("no pid in {t:?}")))
    };
    let (svc, gc) = (read(&pid_file), read(&gc_file));
    left.service(&svc);
    left.service(&gc);
    assert!(svc.alive() && gc.alive(), "the service and its child run");
    (id, record, svc, gc)
}

/// Gone, or a zombie waiting for its reaper; a moment is allowed for the kernel to get there.
fn gone(pid: &Procs) -> bool {
    for _ in 0..250 {
        if !pid.alive() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

#[test]
fn stop_cancels_the_run_and_leaves_no_service() {
    let case = Case::new();
    let mut left = Leftovers::default();
    let (id, record, svc, gc) = start_sleeper(&case, &mut left);
    let out = case.wfop(&["stop", &id], &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    // `stop` waited for the end: the record is final when it returns.
    let run = run_json(&record);
    assert_eq!(run["status"], "cancelled", "{run}");
    assert_eq!(node(&run, "sleeper")["status"], "cancelled", "{run}");
    assert_eq!(node(&run, "later")["status"], "skipped", "{run}");
    assert!(gone(&svc), "the service survived `wfop stop`");
    assert!(gone(&gc), "the service's child survived `wfop stop`");
    let log = record_lines(&record, "sleeper");
    assert!(log.iter().any(|l| l == "waiting"), "{log:?}");
}

#[test]
fn a_run_host_killed_outright_leaves_an_abandoned_record() {
    let case = Case::new();
    let mut left = Leftovers::default();
    let (id, record, svc, gc) = start_sleeper(&case, &mut left);
    let host = host_pid(&record);
    let entry = ps_entry(&case, &id).unwrap_or_else(|| panic!("ps lists {id}"));
    assert_eq!(entry["state"], "running", "{entry}");
    assert_eq!(
        entry["pid"], host,
        "ps and run.json name the same host: {entry}"
    );
    let runs = text(&case.wfop(&["runs"], &[]).stdout);
    assert!(runs.contains("running"), "{runs}");
    // SAFETY: plain kill of the run host this test started.
    unsafe { libc::kill(host, libc::SIGKILL) };
    wait_until(
        "`wfop runs` to show the run as abandoned",
        || {
            let l = text(&case.wfop(&["runs"], &[]).stdout);
            l.contains("abandoned") && !l.contains("running")
        },
        || text(&case.wfop(&["runs"], &[]).stdout),
    );
    assert!(ps_entry(&case, &id).is_none(), "ps lists a dead host's run");
    // The listing that saw the death finished the record as abandoned.
    assert_eq!(run_json(&record)["status"], "abandoned");
    let logs = case.wfop(&["logs", "last"], &[]);
    assert!(
        text(&logs.stderr).contains("ended abnormally"),
        "{}",
        text(&logs.stderr)
    );
    // No orphans: the services went with their host (the sandbox sees to it).
    for (what, p) in [("service", &svc), ("service's child", &gc)] {
        assert!(
            gone(p),
            "the {what} outlived its run host's SIGKILL: (pid, parent) {:?}",
            p.parents()
        );
    }
    // Attaching to it replays the record and ends (no live host to wait for).
    let (code, lines, err) = Lines::spawn(&case, &["attach", &id, "--json"]).finish();
    assert_ne!(code, Some(0), "{err}");
    assert!(err.contains("abandoned"), "{err}");
    assert!(
        node_logs(&lines, "sleeper").iter().any(|l| l == "waiting"),
        "{lines:?}"
    );
}

#[test]
fn no_secret_crosses_the_socket() {
    let case = Case::new();
    let counter = Counter::in_dir(case.path());
    let mut left = Leftovers::releasing(&counter.go);
    let wf = counter.workflow(&case, true);
    let (id, record, _) = start_detached(
        &case,
        &wf,
        &["--secret", &format!("tok=env:{SECRET_VAR}")],
        &[(SECRET_VAR, IBM_KEY)],
        &mut left,
    );
    let mut watch = Raw::attach(&record, "attach");
    let mut control = Raw::attach(&record, "control");
    let mut events = Vec::new();
    while let Some(e) = watch.line() {
        let second = raw_log_lines(&e).iter().any(|l| l == "line 0002");
        events.push(e);
        if second {
            break;
        }
    }
    control.send(&json!({"command": "status"}));
    let status = control.reply();
    assert_eq!(status["reply"], "status", "{status}");
    // The attach client counts; a control client does not.
    assert_eq!(status["clients"], 1, "{status}");
    assert_eq!(status["state"], "running", "{status}");
    counter.release();
    while let Some(e) = watch.line() {
        let end = e["event"] == "run_finished";
        events.push(e);
        if end {
            break;
        }
    }
    assert_eq!(
        events.last().map(|e| e["event"].clone()),
        Some(json!("run_finished")),
        "the stream ran to the end"
    );
    // The service did print the secret (it was there to leak) …
    let redacted: u64 = events
        .iter()
        .filter(|e| e["event"] == "redactions")
        .filter_map(|e| e["counts"]["tok"].as_u64())
        .sum();
    assert!(redacted > 0, "redactions: {events:?}");
    let logged: Vec<String> = events
        .iter()
        .filter(|e| e["event"] == "node_log")
        .flat_map(raw_log_lines)
        .collect();
    assert!(logged.iter().any(|l| l == "token ***"), "{logged:?}");
    // … and none of its forms crossed the socket, either way round.
    assert_absent(&watch.got, IBM_KEY, "the attach client's traffic");
    assert_absent(&control.got, IBM_KEY, "the control client's traffic");
    for (path, bytes) in case.record_files() {
        assert_absent(&bytes, IBM_KEY, &path.display().to_string());
    }
    assert_eq!(watch.hello["run_id"], id.as_str(), "{}", watch.hello);
    assert!(watch.hello["wfop"].is_string(), "{}", watch.hello);
}

#[test]
fn detach_prints_the_id_and_how_to_attach() {
    let case = Case::new();
    let mut left = Leftovers::default();
    let wf = case.workflow(
        json!([{ "id": "quick", "type": "service", "run": { "command": ["echo", "hi"] } }]),
        &[],
        &[],
    );
    let (id, record, stdout) = start_detached(&case, &wf, &[], &[], &mut left);
    let (code, lines, err) = Lines::spawn(&case, &["attach", &id, "--json"]).finish();
    assert_eq!(
        code,
        Some(0),
        "{err}\nprinted: {lines:?}\n{}",
        record_tail(&record)
    );
    assert_eq!(node_logs(&lines, "quick"), ["hi"]);
    // The wording the lead settled (STATUS.md 07:28): two lines on stdout.
    let want = [
        format!(
            "wfop: run {id} started in the background (record: {})",
            record.display()
        ),
        format!("wfop: attach with: wfop attach {id}"),
    ];
    assert_eq!(stdout.lines().collect::<Vec<_>>(), want, "{stdout}");
    // `--json`: one object with the id, the record and the host's pid.
    let out = case.wfop(
        &["run", wf.to_str().expect("utf-8"), "--detach", "--json"],
        &[LINGER],
    );
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{stdout}");
    let started: Value = serde_json::from_str(lines[0]).expect("one JSON object");
    let id2 = started["run_id"].as_str().expect("run_id").to_string();
    let record2 = PathBuf::from(started["record"].as_str().expect("record"));
    assert_ne!(id2, id);
    assert_eq!(record2, case.state().join("runs").join(&id2), "{started}");
    let pid = started["pid"].as_i64().expect("pid") as i32;
    left.hosts.push((pid, proc_start(pid)));
    assert_eq!(
        started["pid"],
        run_json(&record2)["pid"],
        "{started} vs run.json"
    );
    let (code, lines, err) = Lines::spawn(&case, &["attach", &id2, "--json"]).finish();
    assert_eq!(
        code,
        Some(0),
        "{err}\nprinted: {lines:?}\n{}",
        record_tail(&record2)
    );
    assert_eq!(node_logs(&lines, "quick"), ["hi"]);
}

/// The record's state for a failure message: run.json's status and the event log's last lines.
fn record_tail(record: &Path) -> String {
    let events = std::fs::read_to_string(record.join("events.jsonl")).unwrap_or_default();
    let last: Vec<&str> = events.lines().rev().take(3).collect();
    format!(
        "run.json status: {}; host.sock exists: {}; events.jsonl ({} lines) ends: {last:?}",
        run_json(record)["status"],
        record.join("host.sock").exists(),
        events.lines().count()
    )
}

/// The host `(pid, start)` has exited (a zombie counts as exited).
fn host_gone(host: (i32, Option<u64>)) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", host.0)).unwrap_or_default();
    proc_start(host.0) != host.1 || stat.contains(") Z ")
}

#[test]
fn with_stop_on_hangup_an_ssh_drop_ends_the_run_as_before() {
    // The other side of an_ssh_drop_leaves_the_run_going…: the same drop, and the run that
    // asked for the old behaviour stops, so that test's checks do tell the two apart.
    let Some(sshd) = Sshd::start() else {
        return;
    };
    let case = Case::new();
    let counter = Counter::in_dir(case.path());
    let mut left = Leftovers::releasing(&counter.go);
    let wf = counter.workflow(&case, true);
    let mut seen = Vec::new();
    let Some((_t, client)) = tui_over_ssh(&sshd, &case, &wf, "--stop-on-hangup", &mut seen) else {
        return;
    };
    let record = case.run_dir();
    let svc = counter.pid();
    left.service(&svc);
    assert!(svc.alive(), "the service runs");
    // SAFETY: plain kill of the ssh client this test started (the pane's process).
    unsafe { libc::kill(client, libc::SIGKILL) };
    wait_until(
        "the run to end with its terminal",
        || run_json(&record)["status"] != "running",
        || format!("run.json: {}", run_json(&record)),
    );
    let run = run_json(&record);
    assert_eq!(run["status"], "interrupted", "{run}");
    assert_eq!(run["signal"], libc::SIGHUP, "{run}");
    assert_eq!(run["exit_code"], 129, "{run}");
    assert!(gone(&svc), "the service outlived a --stop-on-hangup run");
}

#[test]
fn d_detaches_on_purpose_and_the_run_goes_on() {
    let case = Case::new();
    let counter = Counter::in_dir(case.path());
    let mut left = Leftovers::releasing(&counter.go);
    let wf = counter.workflow(&case, false);
    let cmd = format!(
        "{wfop} run {wf} --state-dir {state}; echo \"wfop exited $?\"",
        wfop = shell_quote(env!("CARGO_BIN_EXE_wfop")),
        wf = q(&wf),
        state = q(&case.state()),
    );
    let Some(t) = Tmux::start_with_env("detach-d", &cmd, 100, 30, &[LINGER]) else {
        return;
    };
    let mut seen = Vec::new();
    t.wait_for(&mut seen, "the run's TUI with a few lines", |s| {
        s.contains("line 0003") && s.contains("running")
    });
    let record = case.run_dir();
    let id = run_json(&record)["run_id"]
        .as_str()
        .expect("run_id")
        .to_string();
    let host = host_of(&record);
    left.hosts.push(host);
    let svc = counter.pid();
    left.service(&svc);
    t.keys("d");
    t.wait_for(&mut seen, "wfop to leave the terminal", |s| {
        s.contains("wfop exited 0")
    });
    let after = t.capture_all();
    assert!(after.contains("wfop attach"), "how to come back:\n{after}");
    assert_eq!(t.pane("#{alternate_on}"), "0", "the normal screen is back");
    let at_detach = numbers(&record_lines(&record, "counter")).len();
    wait_until(
        "lines logged after detaching",
        || numbers(&record_lines(&record, "counter")).len() >= at_detach + 3,
        || format!("{:?}", record_lines(&record, "counter")),
    );
    assert!(svc.alive(), "the service goes on");
    assert!(!host_gone(host), "the run host goes on");
    let entry = ps_entry(&case, &id).unwrap_or_else(|| panic!("ps lists {id}"));
    assert_eq!(entry["clients"], 0, "{entry}");
    let json = Lines::spawn(&case, &["attach", &id, "--json"]);
    wait_until(
        "the JSON client to get lines",
        || !json.logged("counter").is_empty(),
        || format!("{:?}", json.snapshot()),
    );
    counter.release();
    let (code, lines, err) = json.finish();
    assert_eq!(code, Some(0), "{err}");
    let logged = node_logs(&lines, "counter");
    assert_every_line(
        &numbers(&logged),
        done_count(&logged).expect("done N"),
        "attach --json after d",
    );
}

#[test]
fn the_host_ends_after_its_linger_and_attach_replays_the_record() {
    let case = Case::new();
    let counter = Counter::in_dir(case.path());
    let mut left = Leftovers::releasing(&counter.go);
    let wf = counter.workflow(&case, false);
    let (id, record, _) = start_detached(&case, &wf, &[], &[], &mut left);
    let host = left.hosts[0];
    let sock = record.join("host.sock");
    // The host waits for the run, however long it takes with nobody attached …
    wait_until(
        "a few lines",
        || numbers(&record_lines(&record, "counter")).len() >= 3,
        || format!("{:?}", record_lines(&record, "counter")),
    );
    assert!(!host_gone(host) && sock.exists(), "the host serves the run");
    counter.release();
    // … then ends (after WFOP_HOST_LINGER_MS with no client) and removes its socket.
    wait_until(
        "the host to end and remove its socket",
        || host_gone(host) && !sock.exists(),
        || format!("host gone: {}, socket: {}", host_gone(host), sock.exists()),
    );
    assert_eq!(run_json(&record)["status"], "succeeded");
    assert!(ps_entry(&case, &id).is_none(), "ps lists an ended run");
    // The finished run in the TUI, from the record alone.
    let n = done_count(&record_lines(&record, "counter")).expect("done N");
    let cmd = format!(
        "{wfop} attach {id} --state-dir {state}; echo \"wfop exited $?\"",
        wfop = shell_quote(env!("CARGO_BIN_EXE_wfop")),
        state = q(&case.state()),
    );
    let Some(t) = Tmux::start("detach-replay", &cmd, 100, 30) else {
        return;
    };
    let mut seen = Vec::new();
    let want = format!("done {n}");
    t.wait_for(&mut seen, "the replayed run's end", |s| {
        let s = plain(s);
        s.contains("succeeded") && s.contains(&want)
    });
    t.keys("q");
    t.wait_for(&mut seen, "wfop to quit", |s| s.contains("wfop exited 0"));
}

#[test]
fn a_client_of_another_protocol_gets_a_clear_message() {
    let case = Case::new();
    let counter = Counter::in_dir(case.path());
    let mut left = Leftovers::releasing(&counter.go);
    let wf = counter.workflow(&case, false);
    let (_, record, _) = start_detached(&case, &wf, &[], &[], &mut left);
    for (hello, says) in [
        (
            json!({"hello": "wfop", "protocol": 99, "mode": "attach"}),
            "99",
        ),
        (json!({"hello": "something else", "protocol": 1}), "hello"),
    ] {
        let mut raw = Raw::connect(&record);
        let host = raw.line().expect("the host's hello");
        assert_eq!(host["protocol"], 1, "{host}");
        raw.send(&hello);
        let answer = raw.line().expect("an answer");
        let msg = answer["error"]
            .as_str()
            .unwrap_or_else(|| panic!("{answer}"));
        assert!(msg.contains(says), "{hello} → {msg}");
        assert!(raw.rest(), "the host closes the connection");
        assert!(!text(&raw.got).contains("\"event\""), "{}", text(&raw.got));
    }
    counter.release();
}

#[test]
fn two_attached_screens_each_keep_their_own_view() {
    let case = Case::new();
    let counter = Counter::in_dir(case.path());
    let mut left = Leftovers::releasing(&counter.go);
    let wf = counter.workflow(&case, false);
    let (id, record, _) = start_detached(&case, &wf, &[], &[], &mut left);
    let cmd = format!(
        "{wfop} attach {id} --state-dir {state}",
        wfop = shell_quote(env!("CARGO_BIN_EXE_wfop")),
        state = q(&case.state()),
    );
    let (Some(a), Some(b)) = (
        Tmux::start("detach-view-a", &cmd, 100, 30),
        Tmux::start("detach-view-b", &cmd, 100, 30),
    ) else {
        return;
    };
    let mut seen = Vec::new();
    for t in [&a, &b] {
        t.wait_for(&mut seen, "an attached screen with lines", |s| {
            newest_on(s) >= 20 && s.contains("running")
        });
    }
    let entry = ps_entry(&case, &id).unwrap_or_else(|| panic!("ps lists {id}"));
    assert_eq!(entry["clients"], 2, "{entry}");
    // One operator goes to the top of the log; the other keeps following.
    a.key("Tab");
    a.key("Tab");
    a.keys("g");
    a.wait_for(&mut seen, "the top of the log on screen a", |s| {
        let s = plain(s);
        s.contains("line 0001") && s.contains("paused")
    });
    // Past what a 30-row screen can show from the top.
    let later = numbers(&record_lines(&record, "counter")).len().max(40) as u32 + 5;
    b.wait_for(&mut seen, "screen b to follow on", |s| {
        newest_on(s) >= later
    });
    let a_now = a.capture();
    assert!(
        plain(&a_now).contains("line 0001"),
        "screen a stayed at the top:\n{a_now}"
    );
    assert!(
        newest_on(&a_now) < later,
        "screen a did not follow:\n{a_now}"
    );
    counter.release();
    for t in [&a, &b] {
        t.wait_for(&mut seen, "the end on both screens", |s| {
            s.contains("succeeded")
        });
    }
}

#[test]
fn stop_kill_ends_a_service_that_ignores_sigterm() {
    let case = Case::new();
    let mut left = Leftovers::default();
    let pid_file = case.path().join("stubborn.pid");
    let script = format!(
        r#"trap '' TERM; echo {PID_AND_NS} > {pid}; echo waiting; n=0; while [ $n -lt 1200 ]; do n=$((n+1)); sleep 0.1; done"#,
        pid = q(&pid_file),
    );
    let wf = case.workflow(
        json!([{ "id": "stubborn", "type": "service", "run": { "command": ["sh", "-c", script] } }]),
        &[],
        &[],
    );
    let (id, record, _) = start_detached(&case, &wf, &[], &[], &mut left);
    wait_until(
        "the service to be waiting",
        || {
            record_lines(&record, "stubborn")
                .iter()
                .any(|l| l == "waiting")
        },
        || format!("{:?}", record_lines(&record, "stubborn")),
    );
    let svc = Procs::of(
        &SvcPid::parse(&std::fs::read_to_string(&pid_file).expect("pid file")).expect("a pid"),
    );
    left.service(&svc);
    assert!(svc.alive(), "the service runs");
    let out = case.wfop(&["stop", &id, "--kill"], &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let run = run_json(&record);
    assert_ne!(run["status"], "running", "{run}");
    assert_eq!(node(&run, "stubborn")["signal"], libc::SIGKILL, "{run}");
    assert!(gone(&svc), "the service survived `wfop stop --kill`");
}

#[test]
fn attach_follows_a_run_without_a_host_and_ends_with_its_code() {
    // `wfop run --plain` keeps the run in its own process (no host, no socket): `attach`
    // follows the record's event log as it grows, read-only, to the run's end.
    let case = Case::new();
    let counter = Counter::in_dir(case.path());
    let mut left = Leftovers::releasing(&counter.go);
    let wf = counter.workflow_ending(&case, false, 3);
    let plain = Lines::spawn(&case, &["run", wf.to_str().expect("utf-8"), "--plain"]);
    wait_until(
        "the plain run's first lines",
        || latest_run(&case).is_some_and(|r| numbers(&record_lines(&r, "counter")).len() >= 3),
        || format!("{:?}", plain.snapshot()),
    );
    let record = case.run_dir();
    left.service(&counter.pid());
    assert_eq!(
        run_json(&record)["pid"],
        plain.pid(),
        "the run is in the plain wfop itself"
    );
    assert!(!record.join("host.sock").exists(), "no host, no socket");
    let json = Lines::spawn(&case, &["attach", "last", "--json"]);
    let before = numbers(&record_lines(&record, "counter")).len();
    wait_until(
        "the attach client to follow the growing log",
        || numbers(&json.logged("counter")).len() > before,
        || format!("{:?}", json.snapshot()),
    );
    counter.release();
    let (run_code, shown, err) = plain.finish();
    assert_ne!(run_code, Some(0), "the service exits 3: {shown:?}\n{err}");
    let (code, lines, err) = json.finish();
    assert_eq!(code, run_code, "attach ends with the run's code: {err}");
    let logged = node_logs(&lines, "counter");
    assert_every_line(
        &numbers(&logged),
        done_count(&logged).expect("done N"),
        "attach --json of a run without a host",
    );
    let last: Value = serde_json::from_str(lines.last().expect("a line")).expect("JSON");
    assert_eq!(last["event"], "run_finished", "{last}");
}
