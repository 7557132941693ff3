//! `wfop run --executor slurm` against a real single-node Slurm cluster (docs/executors.md):
//! `.ci/run` brings one up with `.ci/slurm.sh up DIR` and exports its `SLURM_CONF`; without
//! one these tests skip with a message (and fail under `WFOP_TEST_STRICT`).
//!
//! Covered: the bundled workflows give the same results as locally (a step in the run's
//! allocation and a job of its own); stdout and stderr apart and live; a failing service; a
//! cancel mid-run (no job in the queue, no process left); a timeout counted from the start; a
//! lost step (its step daemon killed); and the secret audit — Slurm's state, spool and log
//! folders, `scontrol`/`squeue` output and every other process's command line and environment
//! never hold the secret in any form.

mod run_support;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use run_support::*;

/// The cluster the tests run on, one test at a time (a run's allocation may take all of its
/// CPUs: tests side by side would wait in its queue for each other).
struct Slurm {
    conf: PathBuf,
    _one_at_a_time: std::sync::MutexGuard<'static, ()>,
}

static CLUSTER: std::sync::Mutex<()> = std::sync::Mutex::new(());

impl Slurm {
    /// `$SLURM_CONF` of a cluster that answers, else `None` (after `skip_or_fail`).
    fn get() -> Option<Slurm> {
        let Some(conf) = std::env::var_os("SLURM_CONF").map(PathBuf::from) else {
            skip_or_fail(
                "no Slurm cluster: `bash .ci/slurm.sh up DIR && source DIR/env` starts one (as root)",
            );
            return None;
        };
        let ok = Command::new("sinfo")
            .args(["-h", "-o", "%t"])
            .output()
            .is_ok_and(|o| o.status.success());
        if !ok {
            skip_or_fail(&format!(
                "the Slurm cluster of SLURM_CONF={} does not answer (sinfo)",
                conf.display()
            ));
            return None;
        }
        Some(Slurm {
            conf,
            _one_at_a_time: CLUSTER.lock().unwrap_or_else(|e| e.into_inner()),
        })
    }

    /// The folders Slurm writes: state, spool, logs (from slurm.conf).
    fn folders(&self) -> Vec<PathBuf> {
        let text = std::fs::read_to_string(&self.conf).expect("slurm.conf");
        let mut out = Vec::new();
        for line in text.lines() {
            let Some((k, v)) = line.split_once('=') else {
                continue;
            };
            let p = PathBuf::from(v.trim());
            match k.trim() {
                "StateSaveLocation" | "SlurmdSpoolDir" => out.push(p),
                "SlurmctldLogFile" | "SlurmdLogFile" => {
                    out.push(p.parent().expect("a log folder").to_path_buf())
                }
                _ => {}
            }
        }
        out.sort();
        out.dedup();
        assert!(out.len() >= 3, "state, spool and log folders: {out:?}");
        out
    }

    /// The names of the jobs in the queue.
    fn queue(&self) -> String {
        let out = Command::new("squeue")
            .args(["-h", "-o", "%i %j %T"])
            .output()
            .expect("squeue");
        text(&out.stdout)
    }
}

/// `wfop run FILE --plain --executor slurm …` in `case`, its services' folders in the case.
fn slurm_args<'a>(case: &'a Case, wf: &'a str, extra: &[&'a str]) -> Vec<String> {
    let mut a: Vec<String> = [
        "run",
        wf,
        "--plain",
        "--executor",
        "slurm",
        "--remote-workdir",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    a.push(case.remote().display().to_string());
    a.extend(extra.iter().map(|s| s.to_string()));
    a
}

trait Remote {
    fn remote(&self) -> PathBuf;
    fn run_id(&self) -> String;
}

impl Remote for Case {
    fn remote(&self) -> PathBuf {
        let d = self.path().join("remote");
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn run_id(&self) -> String {
        self.run_dir()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned()
    }
}

fn run(case: &Case, wf: &str, extra: &[&str], envs: &[(&str, &str)]) -> std::process::Output {
    let args = slurm_args(case, wf, extra);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    case.wfop(&args, envs)
}

/// The events of the only run, from its record.
fn events(case: &Case) -> Vec<serde_json::Value> {
    std::fs::read_to_string(case.run_dir().join("events.jsonl"))
        .expect("events.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).expect("an event"))
        .collect()
}

/// A wfop the test started: killed if the test fails first (its srun and salloc then end
/// with it, and its jobs leave the queue), so that no run holds the cluster for the next test.
struct Wfop(Child);

impl Drop for Wfop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts wfop with stdout piped; returns it and a reader of its lines.
fn spawn(
    case: &Case,
    wf: &str,
    extra: &[&str],
    envs: &[(&str, &str)],
) -> (Wfop, std::sync::mpsc::Receiver<String>) {
    let args = slurm_args(case, wf, extra);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut child = case
        .command(&args, envs)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("wfop");
    let (tx, rx) = std::sync::mpsc::channel();
    let out = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for l in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    (Wfop(child), rx)
}

/// Waits (at most two minutes) for a line containing `what`; returns every line so far.
fn wait_line(rx: &std::sync::mpsc::Receiver<String>, what: &str, seen: &mut Vec<String>) {
    let until = Instant::now() + Duration::from_secs(120);
    while Instant::now() < until {
        if let Ok(l) = rx.recv_timeout(Duration::from_millis(200)) {
            let found = l.contains(what);
            seen.push(l);
            if found {
                return;
            }
        }
    }
    panic!("no line with {what:?} in:\n{}", seen.join("\n"));
}

fn rest(rx: &std::sync::mpsc::Receiver<String>, seen: &mut Vec<String>) {
    while let Ok(l) = rx.recv_timeout(Duration::from_secs(30)) {
        seen.push(l);
    }
}

/// The pids whose command line holds `marker`.
fn pids_with(marker: &str) -> Vec<i32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let cmd = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
        if cmd.windows(marker.len()).any(|w| w == marker.as_bytes())
            && pid != std::process::id() as i32
        {
            out.push(pid);
        }
    }
    out
}

/// The service's own processes among those with `marker` (not srun's, nor the launcher's,
/// whose command lines carry the service's too).
fn service_pids(marker: &str) -> Vec<i32> {
    pids_with(marker)
        .into_iter()
        .filter(|p| {
            let cmd = std::fs::read(format!("/proc/{p}/cmdline")).unwrap_or_default();
            !cmd.starts_with(b"srun") && !cmd.windows(11).any(|w| w == b"wfop-launch")
        })
        .collect()
}

fn wait_gone(marker: &str) -> Vec<i32> {
    let until = Instant::now() + Duration::from_secs(20);
    loop {
        let left = pids_with(marker);
        if left.is_empty() || Instant::now() > until {
            return left;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn no_job_of(slurm: &Slurm, run_id: &str) {
    let q = slurm.queue();
    assert!(
        !q.contains(&format!("wfop-{run_id}")),
        "the run's jobs are still queued:\n{q}"
    );
}

fn bundled(case: &Case, name: &str, extra: &[&str], slurm: bool) -> serde_json::Value {
    let wf = root().join(format!("workflows/{name}.json"));
    let input = root().join(format!("workflows/{name}.input.json"));
    let mut args: Vec<String> = vec![
        "run".into(),
        wf.display().to_string(),
        "--plain".into(),
        "--input".into(),
        input.display().to_string(),
        "--secret".into(),
        "ibm_api_token=env:WFOP_TEST_IBM".into(),
    ];
    if name == "portfolio-risk" {
        args.extend([
            "--secret".into(),
            "market_data_api_key=env:WFOP_TEST_MARKET".into(),
        ]);
    }
    if slurm {
        args.extend(
            ["--executor", "slurm", "--remote-workdir"]
                .iter()
                .map(|s| s.to_string()),
        );
        args.push(case.remote().display().to_string());
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = case.wfop(
        &args,
        &[("WFOP_TEST_IBM", IBM_KEY), ("WFOP_TEST_MARKET", MARKET_KEY)],
    );
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{name}:\n{stdout}\n{stderr}");
    for s in [IBM_KEY, MARKET_KEY] {
        assert_absent(&out.stdout, s, "stdout");
        assert_absent(&out.stderr, s, "stderr");
    }
    if slurm {
        assert!(stdout.contains("queued (slurm"), "{stdout}");
    }
    let run = case.run_json();
    for (path, bytes) in case.record_files() {
        for s in [IBM_KEY, MARKET_KEY] {
            assert_absent(&bytes, s, &path.display().to_string());
        }
    }
    run
}

#[test]
fn the_bundled_workflows_give_the_same_results_on_slurm_as_locally() {
    let Some(slurm) = Slurm::get() else { return };
    for (name, extra) in [
        ("quantum-secrets", &[][..]),
        ("portfolio-risk", &[][..]),
        ("portfolio-risk", &["--slurm-own-jobs"][..]),
    ] {
        let local = Case::new();
        let on_slurm = Case::new();
        let want = bundled(&local, name, &[], false);
        let got = bundled(&on_slurm, name, extra, true);
        assert_eq!(got["status"], "succeeded", "{name} {extra:?}");
        assert_eq!(
            got["variables"], want["variables"],
            "{name} {extra:?}: the same outputs as locally"
        );
        let nodes = |r: &serde_json::Value| {
            let mut v: Vec<(String, String)> = r["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| (n["id"].to_string(), n["status"].to_string()))
                .collect();
            v.sort();
            v
        };
        assert_eq!(nodes(&got), nodes(&want), "{name} {extra:?}");
        // Every service went through Slurm: queued, with a job id, then started.
        let ev = events(&on_slurm);
        let queued: Vec<_> = ev
            .iter()
            .filter(|e| e["event"] == "node_queued" && e["job"].is_string())
            .collect();
        assert!(!queued.is_empty(), "{name}: {ev:?}");
        no_job_of(&slurm, &on_slurm.run_id());
    }
}

#[test]
fn stdout_and_stderr_stay_apart_and_arrive_while_the_service_runs() {
    let Some(_slurm) = Slurm::get() else { return };
    let case = Case::new();
    let wf = case.workflow(
        serde_json::json!([{ "id": "talk", "type": "service", "run": { "command": [
            "sh", "-c",
            "for i in 1 2 3 4; do echo out$i; echo err$i >&2; sleep 0.5; done"
        ] } }]),
        &[],
        &[],
    );
    let out = run(&case, wf.to_str().unwrap(), &[], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let ev = events(&case);
    // The record's event log: `lines` of one read each, `t` in ms since the run started.
    let logs: Vec<(f64, String, String)> = ev
        .iter()
        .filter(|e| e["event"] == "node_log")
        .map(|e| {
            (
                e["t"].as_f64().unwrap_or_default() / 1000.0,
                e["stream"].as_str().unwrap().to_string(),
                e["lines"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let on = |stream: &str| -> String {
        logs.iter()
            .filter(|(_, s, _)| s == stream)
            .map(|(_, _, d)| d.as_str())
            .collect()
    };
    assert_eq!(on("stdout"), "out1\nout2\nout3\nout4\n", "{logs:?}");
    assert!(
        on("stderr").starts_with("err1\nerr2\nerr3\nerr4\n"),
        "{logs:?}"
    );
    assert!(
        !on("stderr").contains("WFOP:"),
        "the launcher's control lines are taken out: {logs:?}"
    );
    // Live: the first line came well before the last (1.5 s of sleeps between them).
    let t = |what: &str| {
        logs.iter()
            .find(|(_, _, d)| d.contains(what))
            .map(|(t, ..)| *t)
            .unwrap()
    };
    assert!(t("out4") - t("out1") > 1.0, "{logs:?}");
    assert!(t("err4") - t("err1") > 1.0, "{logs:?}");
}

#[test]
fn a_failing_service_fails_with_its_exit_code_and_keeps_its_output() {
    let Some(slurm) = Slurm::get() else { return };
    let case = Case::new();
    let wf = case.workflow(
        serde_json::json!([{ "id": "bad", "type": "service", "run": { "command": [
            "sh", "-c", "echo before; echo boom >&2; exit 3"
        ] } }]),
        &[],
        &[],
    );
    let out = run(&case, wf.to_str().unwrap(), &[], &[]);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    assert!(stdout.contains("[bad] before"), "{stdout}");
    assert!(stdout.contains("[bad] boom"), "{stdout}");
    let run = case.run_json();
    let n = node(&run, "bad");
    assert_eq!(n["status"], "failed");
    assert_eq!(n["exit_code"], 3, "{n}");
    assert_eq!(run["status"], "failed");
    no_job_of(&slurm, &case.run_id());
}

#[test]
fn a_cancel_mid_run_stops_the_step_with_sigterm_and_leaves_no_job_and_no_process() {
    let Some(slurm) = Slurm::get() else { return };
    for own in [false, true] {
        let case = Case::new();
        let marker = format!("wfop-cancel-marker-{}-{own}", std::process::id());
        let wf = case.workflow(
            serde_json::json!([{ "id": "long", "type": "service", "run": { "command": [
                "sh", "-c",
                "trap 'echo got TERM; exit 5' TERM; echo ready; while :; do sleep 0.2; done",
                marker
            ] } }]),
            &[],
            &[],
        );
        let extra: &[&str] = if own { &["--slurm-own-jobs"] } else { &[] };
        let (mut child, rx) = spawn(&case, wf.to_str().unwrap(), extra, &[]);
        let mut seen = Vec::new();
        wait_line(&rx, "[long] ready", &mut seen);
        // There to catch: the service runs, its job is in the queue.
        assert!(!pids_with(&marker).is_empty(), "the service runs");
        let run_id = case.run_id();
        assert!(
            slurm.queue().contains(&format!("wfop-{run_id}")),
            "{}",
            slurm.queue()
        );
        // SAFETY: a signal to our own child.
        unsafe { libc::kill(child.0.id() as i32, libc::SIGTERM) };
        rest(&rx, &mut seen);
        let status = child.0.wait().unwrap();
        let all = seen.join("\n");
        assert_eq!(status.code(), Some(143), "{all}");
        assert!(
            all.contains("[long] got TERM"),
            "SIGTERM reached the service: {all}"
        );
        let run = case.run_json();
        assert_eq!(node(&run, "long")["status"], "cancelled", "{all}");
        assert_eq!(wait_gone(&marker), Vec::<i32>::new(), "no process is left");
        no_job_of(&slurm, &run_id);
    }
}

#[test]
fn a_timeout_counts_from_the_start_and_stops_the_step() {
    let Some(slurm) = Slurm::get() else { return };
    let case = Case::new();
    let marker = format!("wfop-timeout-marker-{}", std::process::id());
    let wf = case.workflow(
        serde_json::json!([{ "id": "slow", "type": "service", "timeout": "2s", "run": { "command": [
            "sh", "-c", "echo started; sleep 60", marker
        ] } }]),
        &[],
        &[],
    );
    let out = run(&case, wf.to_str().unwrap(), &[], &[]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("[slow] started"), "{stdout}");
    let run = case.run_json();
    let n = node(&run, "slow");
    assert_eq!(n["status"], "timed_out", "{n}");
    assert!(
        n["reason"].as_str().unwrap().contains("timed out after 2s"),
        "{n}"
    );
    assert_eq!(wait_gone(&marker), Vec::<i32>::new(), "no process is left");
    no_job_of(&slurm, &case.run_id());
}

#[test]
fn a_step_whose_daemon_dies_is_lost_not_succeeded() {
    let Some(slurm) = Slurm::get() else { return };
    let case = Case::new();
    let marker = format!("wfop-lost-marker-{}", std::process::id());
    let wf = case.workflow(
        serde_json::json!([{ "id": "orphan", "type": "service", "run": { "command": [
            "sh", "-c", "echo ready; while :; do sleep 0.2; done", marker
        ] } }]),
        &[],
        &[],
    );
    let (mut child, rx) = spawn(
        &case,
        wf.to_str().unwrap(),
        &["--slurm-heartbeat", "1s"],
        &[],
    );
    let mut seen = Vec::new();
    wait_line(&rx, "[orphan] ready", &mut seen);
    // The step daemon of the service: the slurmstepd that is an ancestor of the marker.
    let svc = service_pids(&marker);
    assert!(!svc.is_empty(), "the service runs");
    let stepd = ancestors(svc[0])
        .into_iter()
        .find(|&p| {
            std::fs::read(format!("/proc/{p}/cmdline")).is_ok_and(|c| c.starts_with(b"slurmstepd"))
        })
        .expect("the step's slurmstepd");
    // SAFETY: a signal to a test-made process (the cluster is the test's own).
    unsafe { libc::kill(stepd, libc::SIGKILL) };
    rest(&rx, &mut seen);
    let status = child.0.wait().unwrap();
    let all = seen.join("\n");
    assert_eq!(status.code(), Some(1), "{all}");
    let run = case.run_json();
    let n = node(&run, "orphan");
    assert_eq!(n["status"], "failed", "{all}");
    let reason = n["reason"].as_str().unwrap_or_default();
    assert!(reason.starts_with("lost:"), "{reason}");
    no_job_of(&slurm, &case.run_id());
    // What the dead daemon left behind is the cluster's to clean; the test's own is ended.
    for p in pids_with(&marker) {
        // SAFETY: the test's own service.
        unsafe { libc::kill(p, libc::SIGKILL) };
    }
}

fn ancestors(mut pid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    while pid > 1 {
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            break;
        };
        let after = &stat[stat.rfind(')').unwrap() + 2..];
        pid = after.split(' ').nth(1).unwrap().parse().unwrap();
        out.push(pid);
    }
    out
}

/// A secret that cannot be a base64 or hex accident.
const SECRET: &str = "slurm-audit-Zx7#Qv9!kP2@mW4$";

#[test]
fn slurm_never_holds_the_secret_in_any_form_anywhere() {
    let Some(slurm) = Slurm::get() else { return };
    for own in [false, true] {
        let case = Case::new();
        let marker = format!("wfop-audit-marker-{}-{own}", std::process::id());
        let wf = case.workflow(
            serde_json::json!([{ "id": "audit", "type": "service", "secrets": ["token"],
                "input_mapping": [{ "name": "$secrets",
                                    "value": "{ \"token\": secret_value(\"audit_token\") }" }],
                "run": { "command": [
                    "sh", "-c",
                    "printf 'token=%s\\n' \"$SECRET_TOKEN\"; unset SECRET_TOKEN; echo ready; sleep 4",
                    marker
            ] } }]),
            &[],
            &["audit_token"],
        );
        let extra: &[&str] = &["--secret", "audit_token=env:WFOP_AUDIT", "--slurm-own-jobs"];
        let extra = if own { extra } else { &extra[..2] };
        let (mut child, rx) = spawn(
            &case,
            wf.to_str().unwrap(),
            extra,
            &[("WFOP_AUDIT", SECRET)],
        );
        let mut seen = Vec::new();
        wait_line(&rx, "[audit] ready", &mut seen);
        // There to catch: the service got the value (shown redacted) and runs.
        let svc = service_pids(&marker);
        assert!(!svc.is_empty(), "the service runs");
        assert!(
            seen.iter().any(|l| l.contains("[audit] token=***")),
            "{seen:?}"
        );
        let environ = std::fs::read(format!("/proc/{}/environ", svc[0])).unwrap();
        assert!(
            environ
                .windows(SECRET.len())
                .any(|w| w == SECRET.as_bytes()),
            "the service itself has it, as it asked"
        );
        // Every other process: command line and environment.
        let mut scanned = 0;
        for e in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            // wfop's own environment is where the operator put the value (`env:WFOP_AUDIT`).
            if svc.contains(&pid) || pid == std::process::id() as i32 || pid == child.0.id() as i32
            {
                continue;
            }
            let name = std::fs::read(e.path().join("comm")).unwrap_or_default();
            let name = String::from_utf8_lossy(&name);
            for f in ["cmdline", "environ"] {
                if let Ok(b) = std::fs::read(e.path().join(f)) {
                    scanned += 1;
                    assert_absent(&b, SECRET, &format!("/proc/{pid}/{f} ({})", name.trim()));
                }
            }
        }
        assert!(scanned > 20, "{scanned}");
        // What Slurm shows of the job, while it runs.
        let run_id = case.run_id();
        let q = slurm.queue();
        let job = q
            .lines()
            .find(|l| l.contains(&format!("wfop-{run_id}")))
            .and_then(|l| l.split(' ').next())
            .unwrap_or_else(|| panic!("the run's job in the queue: {q}"))
            .to_string();
        assert_absent(q.as_bytes(), SECRET, "squeue");
        for args in [
            vec!["show", "job", "-d", job.as_str()],
            vec!["show", "step", job.as_str()],
        ] {
            let o = Command::new("scontrol").args(&args).output().unwrap();
            assert!(o.status.success(), "scontrol {args:?}");
            assert_absent(&o.stdout, SECRET, &format!("scontrol {args:?}"));
        }
        rest(&rx, &mut seen);
        assert_eq!(child.0.wait().unwrap().code(), Some(0), "{seen:?}");
        let all = seen.join("\n");
        assert_absent(all.as_bytes(), SECRET, "wfop's output");
        // After the run: Slurm's folders, and the record.
        let mut files = 0;
        for dir in slurm.folders() {
            let mut stack = vec![dir];
            while let Some(d) = stack.pop() {
                for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                    let p = e.path();
                    if p.is_dir() {
                        stack.push(p);
                    } else if let Ok(b) = std::fs::read(&p) {
                        files += 1;
                        assert_absent(&b, SECRET, &p.display().to_string());
                    }
                }
            }
        }
        assert!(files > 0);
        for (path, bytes) in case.record_files() {
            assert_absent(&bytes, SECRET, &path.display().to_string());
        }
        // Nothing of the service's folder is left in the remote work folder.
        let left: Vec<_> = std::fs::read_dir(case.remote())
            .unwrap()
            .flatten()
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }
}

#[test]
fn a_missing_remote_workdir_is_refused_before_anything_runs() {
    let Some(_slurm) = Slurm::get() else { return };
    let case = Case::new();
    let wf = case.workflow(
        serde_json::json!([{ "id": "a", "type": "service", "run": { "command": ["true"] } }]),
        &[],
        &[],
    );
    let out = case.wfop(
        &[
            "run",
            wf.to_str().unwrap(),
            "--plain",
            "--executor",
            "slurm",
            "--remote-workdir",
            "/nonexistent/shared",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    let err = text(&out.stderr);
    assert!(
        err.contains("--remote-workdir /nonexistent/shared: no such folder"),
        "{err}"
    );
    assert!(!case.state().join("runs").exists(), "no run was started");
}

#[test]
fn a_run_stopped_while_it_waits_in_the_queue_leaves_nothing_queued() {
    let Some(slurm) = Slurm::get() else { return };
    for own in [false, true] {
        // Every CPU of the cluster taken by another job: the run's waits in the queue.
        let cpus = Command::new("sinfo")
            .args(["-h", "-o", "%c"])
            .output()
            .map(|o| text(&o.stdout).trim().to_string())
            .unwrap();
        let _blocker = Blocker(
            Command::new("srun")
                .args([
                    "--job-name=wfop-test-blocker",
                    &format!("--ntasks={cpus}"),
                    "sleep",
                    "120",
                ])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        let until = Instant::now() + Duration::from_secs(30);
        while !slurm.queue().contains("wfop-test-blocker RUNNING") {
            assert!(
                Instant::now() < until,
                "the blocker runs: {}",
                slurm.queue()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let case = Case::new();
        let wf = case.workflow(
            serde_json::json!([{ "id": "waits", "type": "service", "run": { "command": ["true"] } }]),
            &[],
            &[],
        );
        let extra: &[&str] = if own { &["--slurm-own-jobs"] } else { &[] };
        let (mut child, rx) = spawn(&case, wf.to_str().unwrap(), extra, &[]);
        let mut seen = Vec::new();
        wait_line(&rx, "waits queued", &mut seen);
        // There to catch: the run's request is pending in the queue.
        let run_id = case.run_id();
        let until = Instant::now() + Duration::from_secs(30);
        while !slurm.queue().contains(&format!("wfop-{run_id}")) {
            assert!(
                Instant::now() < until,
                "the run's job is queued: {}",
                slurm.queue()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let t0 = Instant::now();
        // SAFETY: a signal to our own child.
        unsafe { libc::kill(child.0.id() as i32, libc::SIGTERM) };
        rest(&rx, &mut seen);
        let status = child.0.wait().unwrap();
        let all = seen.join("\n");
        assert_eq!(status.code(), Some(143), "{all}");
        assert_eq!(
            node(&case.run_json(), "waits")["status"],
            "cancelled",
            "{all}"
        );
        no_job_of(&slurm, &run_id);
        assert!(
            !all.contains("still in the queue"),
            "stopped by its own stop, not by the sweep: {all}"
        );
        eprintln!("own job: {own}; stopped in {:?}", t0.elapsed());
        drop(_blocker);
        let until = Instant::now() + Duration::from_secs(30);
        while slurm.queue().contains("wfop-test-blocker") {
            assert!(Instant::now() < until, "{}", slurm.queue());
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// Another user's job that holds the cluster: cancelled (by its name, as killing its srun
/// would leave it running) when the test ends, however it ends.
struct Blocker(Child);

impl Drop for Blocker {
    fn drop(&mut self) {
        let _ = Command::new("scancel")
            .arg("--name=wfop-test-blocker")
            .status();
        let _ = self.0.wait();
    }
}
