//! Hub services as workflow nodes, against the platform's real local server: `qhub-serve`
//! from PyPI (in a shared virtualenv) serving a copy of `tests/hub/service` on 127.0.0.1, in a
//! process group of its own that each test ends. Success, failure, a slow service and a
//! timeout, a cancelled run, the server going away; and, through a small gateway of our own
//! (`tests/hub/gateway.py`: an OAuth2 token endpoint and a proxy), client credentials and a
//! bearer token, which appear nowhere in wfop's output or record.

mod run_support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use run_support::*;
use serde_json::{Value, json};

/// The platform's local server, the version whose behaviour wfop's hub client follows.
const QHUB_SERVE: &str = "qhub-serve>=1.4.3,<1.5";

/// A process (and its group) started for a test, killed with its group when dropped.
struct Group {
    child: Child,
}

impl Group {
    fn spawn(mut c: Command) -> Group {
        c.process_group(0);
        Group {
            child: c.spawn().expect("spawn"),
        }
    }

    fn kill(&mut self) {
        // SAFETY: SIGKILL to the process group this test started (its leader is our child).
        unsafe { libc::kill(-(self.child.id() as i32), libc::SIGKILL) };
        let _ = self.child.wait();
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A running `qhub-serve` with the test service.
struct Serve {
    group: Group,
    port: u16,
    log: PathBuf,
    _workspace: tempfile::TempDir,
}

impl Serve {
    /// `None` (after `skip_or_fail`) when the virtualenv cannot be had.
    fn start() -> Option<Serve> {
        let venv = venv(&[QHUB_SERVE])?;
        // A copy: qhub-serve writes its executions' outputs into the workspace (`out/`).
        let workspace = tempfile::tempdir().expect("tempdir");
        let src = workspace.path().join("src");
        std::fs::create_dir(&src).unwrap();
        for f in ["__init__.py", "program.py"] {
            std::fs::copy(root().join("tests/hub/service/src").join(f), src.join(f)).unwrap();
        }
        let log = workspace.path().join("serve.log");
        let port = free_port();
        let mut c = Command::new(venv.join("bin/python"));
        c.args(["-m", "qhub_serve", "--workspace"])
            .arg(workspace.path())
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::File::create(workspace.path().join("serve.err")).unwrap());
        let serve = Serve {
            group: Group::spawn(c),
            port,
            log,
            _workspace: workspace,
        };
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(60) {
            if http(port, "GET", "/", None).is_some_and(|(s, _)| s == 200) {
                return Some(serve);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "qhub-serve did not answer within 60 s:\n{}",
            std::fs::read_to_string(&serve.log).unwrap_or_default()
        );
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Starts an execution directly (not through wfop); returns its id.
    fn start_execution(&self, body: &Value) -> String {
        let (status, text) = http(self.port, "POST", "/", Some(&body.to_string())).unwrap();
        assert_eq!(status, 201, "{text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        v["id"].as_str().unwrap().to_string()
    }

    fn status(&self, id: &str) -> String {
        let (_, text) = http(self.port, "GET", &format!("/{id}"), None).unwrap();
        let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        v["status"].as_str().unwrap_or_default().to_string()
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One HTTP/1.1 request to 127.0.0.1:`port`: the status and the body (`None`: no answer).
fn http(port: u16, method: &str, path: &str, body: Option<&str>) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let body = body.unwrap_or("");
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut answer = String::new();
    s.read_to_string(&mut answer).ok()?;
    let (head, rest) = answer.split_once("\r\n\r\n")?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    Some((status, if chunked { unchunk(rest) } else { rest.into() }))
}

fn unchunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&rest[..n]);
        s = &rest[n + 2..];
    }
    out
}

/// A workflow with one hub node `sum` (its `run` as given), mapping `values`, `delay` and
/// `fail` in and `sum` out as `total`.
fn hub_flow(case: &Case, run: Value, input: Value, extra: Value, secrets: &[&str]) -> PathBuf {
    let mut rows = vec![];
    for (k, v) in input.as_object().unwrap() {
        rows.push(json!({ "name": k, "value": v.to_string() }));
    }
    let mut node = json!({
        "id": "sum", "type": "service", "run": run,
        "input_mapping": rows,
        "output_mapping": [ { "name": "total", "value": "sum" } ],
    });
    for (k, v) in extra.as_object().unwrap() {
        if k == "input_mapping" {
            node["input_mapping"]
                .as_array_mut()
                .unwrap()
                .extend(v.as_array().unwrap().iter().cloned());
        } else {
            node[k] = v.clone();
        }
    }
    case.workflow(json!([node]), &[], secrets)
}

/// The text of node `sum`'s log in the case's only run (empty before there is one).
/// `wfop run WF --secret S…` (each `S` is `NAME=env:VAR`).
fn run_with_secrets(
    case: &Case,
    wf: &Path,
    secrets: &[&str],
    envs: &[(&str, &str)],
) -> std::process::Output {
    let mut args = vec!["run", wf.to_str().unwrap()];
    for s in secrets {
        args.extend(["--secret", s]);
    }
    case.wfop(&args, envs)
}

fn node_log(case: &Case) -> String {
    std::fs::read_to_string(case.run_dir().join("sum.log")).unwrap_or_default()
}

/// Waits (at most 60 s) until node `sum`'s log of a run still going says `what`.
fn wait_for_log(case: &Case, what: &str) -> String {
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(60) {
        let started =
            std::fs::read_dir(case.state().join("runs")).is_ok_and(|mut d| d.next().is_some());
        if started {
            let log = node_log(case);
            if log.contains(what) {
                return log;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the node's log never said {what:?}");
}

/// The execution id in a node log line `hub: execution ID is …`.
fn execution_id(log: &str) -> String {
    let at = log.find("hub: execution ").expect("an execution line") + "hub: execution ".len();
    log[at..].split(' ').next().unwrap().to_string()
}

fn spawn_wfop(case: &Case, wf: &Path) -> Child {
    case.command(&["run", wf.to_str().unwrap(), "--json"], &[])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn finish(mut child: Child) -> (Option<i32>, String) {
    let mut out = String::new();
    if let Some(mut o) = child.stdout.take() {
        o.read_to_string(&mut out).unwrap();
    }
    let status = child.wait().unwrap();
    (status.code(), out)
}

#[test]
fn a_hub_service_runs_as_a_node() {
    let Some(serve) = Serve::start() else { return };
    let case = Case::new();
    let wf = hub_flow(
        &case,
        json!({ "hub": serve.url(), "poll": "100ms" }),
        json!({ "values": [1, 2, 3, 4] }),
        json!({}),
        &[],
    );
    let out = case.wfop(&["run", wf.to_str().unwrap()], &[]);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    let run = case.run_json();
    assert_eq!(run["variables"]["total"], 10);
    let sum = node(&run, "sum");
    assert_eq!(sum["status"], "succeeded");
    // The result is the service's values, without the API's `_links`/`_embedded`, in the
    // service's order.
    assert_eq!(sum["result"].to_string(), r#"{"sum":10,"count":4}"#);
    let log = node_log(&case);
    assert!(
        log.contains("wfop hub: starting an execution at http://127.0.0.1:"),
        "{log}"
    );
    assert!(log.contains(" is SUCCEEDED"), "{log}");
    // The result file beside the result is kept in the record, as a local service's extra
    // output file.
    let files = &sum["files"];
    assert_eq!(files.as_array().map(Vec::len), Some(1), "{sum}");
    assert_eq!(files[0]["name"], "report.txt");
    assert_eq!(files[0]["bytes"], 7);
    let kept = case.run_dir().join(files[0]["path"].as_str().unwrap());
    assert_eq!(std::fs::read_to_string(kept).unwrap(), "sum=10\n");
    assert!(log.contains("wfop file report.txt (7 B) at "), "{log}");
    let id = execution_id(&log);
    assert_eq!(serve.status(&id), "SUCCEEDED");

    // A simple value: the platform writes its JSON text to output.txt, which wfop reads as a
    // local Python service's output.txt: 10 is a number.
    let case = Case::new();
    let wf = hub_flow(
        &case,
        json!({ "hub": serve.url(), "poll": "100ms" }),
        json!({ "values": [1, 2, 3, 4], "plain": 1 }),
        json!({ "output_mapping": [ { "name": "total", "value": "response" } ],
                "result_variable": "response" }),
        &[],
    );
    let out = case.wfop(&["run", wf.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let run = case.run_json();
    assert_eq!(node(&run, "sum")["result"], 10);
    assert_eq!(run["variables"]["total"], 10);
}

#[test]
fn a_hub_node_survives_the_bpmn_export() {
    let Some(serve) = Serve::start() else { return };
    let case = Case::new();
    let wf = hub_flow(
        &case,
        json!({ "hub": serve.url(), "poll": "100ms", "auth": { "token": "hub_token" } }),
        json!({ "values": [3, 4] }),
        json!({}),
        &["hub_token"],
    );
    let bpmn = case.path().join("flow.bpmn");
    let services = case.path().join("flow.services.json");
    let out = Command::new(env!("CARGO_BIN_EXE_wfop"))
        .args(["export", "--bpmn"])
        .arg(&wf)
        .arg("--services")
        .arg(&services)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    std::fs::write(&bpmn, &out.stdout).unwrap();
    // The binding file keeps the hub call, credentials as secret names.
    let binding: Value = serde_json::from_slice(&std::fs::read(&services).unwrap()).unwrap();
    assert_eq!(binding["sum"]["hub"], serve.url().as_str());
    assert_eq!(binding["sum"]["auth"], json!({ "token": "hub_token" }));
    let checked = check(&bpmn);
    assert!(checked.status.success(), "{}", text(&checked.stderr));
    // And the BPMN runs the same call.
    let out = run_with_secrets(
        &case,
        &bpmn,
        &["hub_token=env:WFOP_TEST_BEARER"],
        &[("WFOP_TEST_BEARER", BEARER)],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert_eq!(case.run_json()["variables"]["total"], 7);
    assert_nothing_leaked(&case, &[&out.stdout, &out.stderr]);
}

#[test]
fn a_failed_hub_execution_fails_the_node() {
    let Some(serve) = Serve::start() else { return };
    let case = Case::new();
    let wf = hub_flow(
        &case,
        json!({ "hub": serve.url(), "poll": "100ms" }),
        json!({ "values": [1], "fail": 1 }),
        json!({}),
        &[],
    );
    let out = case.wfop(&["run", wf.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let run = case.run_json();
    let sum = node(&run, "sum");
    assert_eq!(sum["status"], "failed");
    let reason = sum["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("hub execution ") && reason.ends_with(" failed"),
        "{reason}"
    );
    let id = execution_id(&node_log(&case));
    assert_eq!(serve.status(&id), "FAILED");
}

#[test]
fn a_slow_hub_service_is_waited_for_and_a_timeout_cancels_it() {
    let Some(serve) = Serve::start() else { return };
    // Slow: polled while RUNNING (the default poll, which grows), then its result.
    let case = Case::new();
    let wf = hub_flow(
        &case,
        json!({ "hub": serve.url() }),
        json!({ "values": [5, 6], "delay": 2.5 }),
        json!({}),
        &[],
    );
    let t0 = Instant::now();
    let out = case.wfop(&["run", wf.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(t0.elapsed() >= Duration::from_millis(2500));
    assert_eq!(case.run_json()["variables"]["total"], 11);
    let log = node_log(&case);
    let (running, done) = (
        log.find(" is RUNNING").unwrap(),
        log.find(" is SUCCEEDED").unwrap(),
    );
    assert!(running < done, "{log}");

    // Too slow for its `timeout`: timed out, and the hub is asked to cancel it (qhub-serve
    // cannot stop an execution that already runs, and says so).
    let case = Case::new();
    let wf = hub_flow(
        &case,
        json!({ "hub": serve.url(), "poll": "100ms" }),
        json!({ "values": [1], "delay": 30 }),
        json!({ "timeout": "1500ms" }),
        &[],
    );
    let t0 = Instant::now();
    let out = case.wfop(&["run", wf.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(t0.elapsed() < Duration::from_secs(20));
    let run = case.run_json();
    let sum = node(&run, "sum");
    assert_eq!(sum["status"], "timed_out", "{sum}");
    assert_eq!(sum["reason"], "timed out after 1.5s");
    let log = node_log(&case);
    assert!(log.contains("hub: cancelling execution "), "{log}");
    assert!(log.contains("is RUNNING (the hub may not stop"), "{log}");
}

#[test]
fn cancelling_the_run_cancels_a_queued_hub_execution() {
    let Some(serve) = Serve::start() else { return };
    // qhub-serve runs three executions at a time: with three slow ones running, wfop's waits
    // in the queue, where a cancel really lands.
    for _ in 0..3 {
        serve.start_execution(&json!({ "values": [1], "delay": 20 }));
    }
    let case = Case::new();
    let wf = hub_flow(
        &case,
        json!({ "hub": serve.url(), "poll": "100ms" }),
        json!({ "values": [1, 2] }),
        json!({}),
        &[],
    );
    let child = spawn_wfop(&case, &wf);
    let log = wait_for_log(&case, " is RUNNING");
    let id = execution_id(&log);
    // SAFETY: SIGTERM to our own child, wfop.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let t0 = Instant::now();
    let (code, events) = finish(child);
    assert_eq!(code, Some(143), "{events}");
    assert!(t0.elapsed() < Duration::from_secs(20));
    let run = case.run_json();
    assert_eq!(node(&run, "sum")["status"], "cancelled");
    let log = node_log(&case);
    assert!(
        log.contains(&format!("hub: execution {id} is CANCELLED")),
        "{log}"
    );
    // The server agrees.
    assert_eq!(serve.status(&id), "CANCELLED");
}

#[test]
fn a_cancel_during_the_start_still_cancels_the_execution() {
    let Some(serve) = Serve::start() else { return };
    for _ in 0..3 {
        serve.start_execution(&json!({ "values": [1], "delay": 20 }));
    }
    // The gateway holds the start for two seconds: the run is cancelled before wfop knows
    // the execution's id, waits for it, and cancels the execution all the same.
    let dir = tempfile::tempdir().unwrap();
    let gw = Gateway::start(
        &serve,
        dir.path(),
        &[("GW_BEARER", BEARER), ("GW_START_DELAY", "2")],
    );
    let case = Case::new();
    let wf = hub_flow(
        &case,
        json!({ "hub": gw.url(), "poll": "100ms", "auth": { "token": "hub_token" } }),
        json!({ "values": [1, 2] }),
        json!({}),
        &["hub_token"],
    );
    let child = case
        .command(
            &[
                "run",
                wf.to_str().unwrap(),
                "--json",
                "--secret",
                "hub_token=env:WFOP_TEST_BEARER",
            ],
            &[("WFOP_TEST_BEARER", BEARER)],
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_log(&case, "hub: starting an execution");
    std::thread::sleep(Duration::from_millis(300));
    // SAFETY: SIGTERM to our own child, wfop.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let (code, events) = finish(child);
    assert_eq!(code, Some(143), "{events}");
    assert_eq!(node(&case.run_json(), "sum")["status"], "cancelled");
    let log = node_log(&case);
    let id = log
        .split("hub: cancelling execution ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("no cancel line: {log}"))
        .to_string();
    // Cancelled from inside the start: wfop never saw it as started and polled.
    assert!(!log.contains(" is PENDING"), "{log}");
    assert!(
        log.contains(&format!("hub: execution {id} is CANCELLED")),
        "{log}"
    );
    assert_eq!(serve.status(&id), "CANCELLED");
}

#[test]
fn the_hub_going_away_mid_run_fails_the_node_clearly() {
    let Some(mut serve) = Serve::start() else {
        return;
    };
    let case = Case::new();
    let wf = hub_flow(
        &case,
        json!({ "hub": serve.url(), "poll": "100ms" }),
        json!({ "values": [1], "delay": 60 }),
        json!({}),
        &[],
    );
    let child = spawn_wfop(&case, &wf);
    wait_for_log(&case, " is RUNNING");
    serve.group.kill();
    let t0 = Instant::now();
    let (code, events) = finish(child);
    assert_eq!(code, Some(1), "{events}");
    // Within the time the hub may be unreachable (10 s) and a little more: no hang.
    assert!(t0.elapsed() < Duration::from_secs(30), "{:?}", t0.elapsed());
    let run = case.run_json();
    let reason = node(&run, "sum")["reason"].as_str().unwrap().to_string();
    assert!(
        reason.starts_with(&format!("lost the hub at {}: ", serve.url())),
        "{reason}"
    );
    assert!(reason.contains("it may still run there"), "{reason}");
}

/// The gateway of `tests/hub/gateway.py` in front of `serve`, with these credentials.
struct Gateway {
    _group: Group,
    port: u16,
    record: PathBuf,
}

impl Gateway {
    fn start(serve: &Serve, dir: &Path, envs: &[(&str, &str)]) -> Gateway {
        std::fs::create_dir_all(dir).unwrap();
        let record = dir.join("gateway.json");
        let mut c = Command::new("python3");
        c.arg(root().join("tests/hub/gateway.py"))
            .arg(serve.url())
            .arg(&record)
            .envs(envs.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut group = Group::spawn(c);
        let mut line = String::new();
        BufReader::new(group.child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        Gateway {
            _group: group,
            port: line.trim().parse().expect("the gateway's port"),
            record,
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn seen(&self) -> Value {
        serde_json::from_slice(&std::fs::read(&self.record).unwrap()).unwrap()
    }
}

const KEY_ID: &str = "hub-key-id-7f3a9c21e5";
/// With characters the basic-auth pair must encode (`:`, `/`, `=`, `!`).
const KEY_SECRET: &str = "hub-s3cret:Q8w!x/2z=Lp4";
const BEARER: &str = "hub-bearer-5d1e8b7c0a9f";
const SERVICE_SECRET: &str = "svc-secret-value-91ab3c";

/// Nothing of any credential in wfop's output or anywhere in its state folder.
fn assert_nothing_leaked(case: &Case, outputs: &[&[u8]]) {
    for secret in [KEY_ID, KEY_SECRET, BEARER, SERVICE_SECRET] {
        for (i, o) in outputs.iter().enumerate() {
            assert_absent(o, secret, &format!("output #{i}"));
        }
        for (path, bytes) in case.record_files() {
            assert_absent(&bytes, secret, &path.display().to_string());
        }
    }
}

#[test]
fn client_credentials_and_bearer_tokens_through_a_gateway_and_nothing_leaks() {
    let Some(serve) = Serve::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let expect = json!({ "api_token": SERVICE_SECRET }).to_string();
    // Tokens live four seconds: a run of three or more must refresh its token as the SDK
    // does, before it expires (half-way for so short a token; the gateway refuses an expired
    // one, and two seconds of margin keep a slow machine from getting there).
    let gw = Gateway::start(
        &serve,
        dir.path(),
        &[
            ("GW_KEY_ID", KEY_ID),
            ("GW_SECRET", KEY_SECRET),
            ("GW_BEARER", BEARER),
            ("GW_LIFETIME", "4"),
            ("GW_EXPECT_SECRETS", &expect),
            ("GW_LOG_SECRET", SERVICE_SECRET),
        ],
    );
    let secrets_row = json!({ "input_mapping": [
        { "name": "$secrets", "value": "{ \"api_token\": secret_value(\"service_token\") }" } ],
        "secrets": ["api_token"] });
    let envs = [
        ("WFOP_TEST_KEY_ID", KEY_ID),
        ("WFOP_TEST_KEY_SECRET", KEY_SECRET),
        ("WFOP_TEST_BEARER", BEARER),
        ("WFOP_TEST_SERVICE", SERVICE_SECRET),
    ];

    // Client credentials: a token from the token endpoint, refreshed; `$secrets` in the body.
    let case = Case::new();
    let wf = hub_flow(
        &case,
        json!({ "hub": gw.url(), "poll": "100ms", "token_url": format!("{}/token", gw.url()),
                "auth": { "access_key_id": "hub_key_id", "secret_access_key": "hub_key_secret" } }),
        json!({ "values": [2, 3], "delay": 3 }),
        secrets_row.clone(),
        &["hub_key_id", "hub_key_secret", "service_token"],
    );
    let out = run_with_secrets(
        &case,
        &wf,
        &[
            "hub_key_id=env:WFOP_TEST_KEY_ID",
            "hub_key_secret=env:WFOP_TEST_KEY_SECRET",
            "service_token=env:WFOP_TEST_SERVICE",
        ],
        &envs,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert_eq!(case.run_json()["variables"]["total"], 5);
    let seen = gw.seen();
    // The credentials were there to leak: the gateway checked them, and the secret parameter.
    assert!(seen["tokens_granted"].as_u64().unwrap() >= 2, "{seen}");
    assert_eq!(seen["credentials_refused"], 0, "{seen}");
    assert_eq!(seen["expired_token_refused"], 0, "{seen}");
    assert_eq!(seen["api_unauthorized"], 0, "{seen}");
    assert_eq!(seen["starts_with_expected_secrets"], 1, "{seen}");
    // The hub's log (the whole log on every poll): each entry once, in order, redacted,
    // warnings on stderr.
    assert!(seen["log_answers"].as_u64().unwrap() >= 6, "{seen}");
    let log = node_log(&case);
    let lines: Vec<&str> = log
        .lines()
        .filter_map(|l| l.split_once(' ').map(|(_, rest)| rest))
        .filter(|l| l.contains("step ") || l.contains("the token is"))
        .collect();
    assert_eq!(
        lines,
        [
            "stdout INFO step 1",
            "stderr WARNING the token is ***",
            "stdout INFO step 3",
            "stdout INFO step 4",
            "stdout INFO step 5",
            "stdout INFO step 6",
        ],
        "{log}"
    );
    assert_eq!(
        node(&case.run_json(), "sum")["redactions"]["service_token"],
        1
    );
    assert_nothing_leaked(&case, &[&out.stdout, &out.stderr]);

    // Two hub nodes of one run share the run's token: one fetch (a token that lives an hour).
    let gw_hour = Gateway::start(
        &serve,
        &dir.path().join("hour"),
        &[("GW_KEY_ID", KEY_ID), ("GW_SECRET", KEY_SECRET)],
    );
    let case = Case::new();
    let hub_node = |id: &str| {
        json!({ "id": id, "type": "service",
                "run": { "hub": gw_hour.url(), "poll": "100ms",
                         "token_url": format!("{}/token", gw_hour.url()),
                         "auth": { "access_key_id": "hub_key_id", "secret_access_key": "hub_key_secret" } },
                "input_mapping": [ { "name": "values", "value": "[1, 2]" } ] })
    };
    let wf = case.workflow(
        json!([hub_node("first"), hub_node("second")]),
        &[("first", "second")],
        &["hub_key_id", "hub_key_secret"],
    );
    let out = run_with_secrets(
        &case,
        &wf,
        &[
            "hub_key_id=env:WFOP_TEST_KEY_ID",
            "hub_key_secret=env:WFOP_TEST_KEY_SECRET",
        ],
        &envs,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let seen = gw_hour.seen();
    assert_eq!(seen["starts"], 2, "{seen}");
    assert_eq!(seen["tokens_granted"], 1, "{seen}");
    assert_nothing_leaked(&case, &[&out.stdout, &out.stderr]);

    // A token the hub stops accepting (401): fetched again, once, and the run goes on.
    let gw_revoke = Gateway::start(
        &serve,
        &dir.path().join("revoke"),
        &[
            ("GW_KEY_ID", KEY_ID),
            ("GW_SECRET", KEY_SECRET),
            ("GW_REVOKE_FIRST", "1"),
        ],
    );
    let case = Case::new();
    let wf = hub_flow(
        &case,
        json!({ "hub": gw_revoke.url(), "poll": "100ms", "token_url": format!("{}/token", gw_revoke.url()),
                "auth": { "access_key_id": "hub_key_id", "secret_access_key": "hub_key_secret" } }),
        json!({ "values": [4, 4], "delay": 1 }),
        json!({}),
        &["hub_key_id", "hub_key_secret"],
    );
    let out = run_with_secrets(
        &case,
        &wf,
        &[
            "hub_key_id=env:WFOP_TEST_KEY_ID",
            "hub_key_secret=env:WFOP_TEST_KEY_SECRET",
        ],
        &envs,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert_eq!(case.run_json()["variables"]["total"], 8);
    let seen = gw_revoke.seen();
    assert_eq!(seen["revoked_token_refused"], 1, "{seen}");
    assert_eq!(seen["tokens_granted"], 2, "{seen}");
    assert_nothing_leaked(&case, &[&out.stdout, &out.stderr]);

    // A bearer token.
    let case = Case::new();
    let wf = hub_flow(
        &case,
        json!({ "hub": gw.url(), "poll": "100ms", "auth": { "token": "hub_token" } }),
        json!({ "values": [7] }),
        json!({}),
        &["hub_token"],
    );
    let out = run_with_secrets(&case, &wf, &["hub_token=env:WFOP_TEST_BEARER"], &envs);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert_eq!(case.run_json()["variables"]["total"], 7);
    assert!(gw.seen()["static_token_used"].as_u64().unwrap() >= 2);
    assert_nothing_leaked(&case, &[&out.stdout, &out.stderr]);

    // A wrong secret: refused at the token endpoint, said clearly, nothing started.
    let case = Case::new();
    let wf = hub_flow(
        &case,
        json!({ "hub": gw.url(), "token_url": format!("{}/token", gw.url()),
                "auth": { "access_key_id": "hub_key_id", "secret_access_key": "hub_key_secret" } }),
        json!({ "values": [1] }),
        json!({}),
        &["hub_key_id", "hub_key_secret"],
    );
    let starts = gw.seen()["starts"].as_u64().unwrap();
    let out = run_with_secrets(
        &case,
        &wf,
        &[
            "hub_key_id=env:WFOP_TEST_KEY_ID",
            "hub_key_secret=env:WFOP_TEST_BEARER",
        ],
        &envs,
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let run = case.run_json();
    let reason = node(&run, "sum")["reason"].as_str().unwrap().to_string();
    assert!(
        reason.contains(
            "refused the client credentials: HTTP 401 (invalid_client: bad client credentials)"
        ),
        "{reason}"
    );
    assert!(gw.seen()["credentials_refused"].as_u64().unwrap() >= 1);
    assert_eq!(gw.seen()["starts"].as_u64().unwrap(), starts);
    assert_nothing_leaked(&case, &[&out.stdout, &out.stderr]);

    // A wrong bearer token: the hub's 401, said as such.
    let case = Case::new();
    let wf = hub_flow(
        &case,
        json!({ "hub": gw.url(), "auth": { "token": "hub_token" } }),
        json!({ "values": [1] }),
        json!({}),
        &["hub_token"],
    );
    let out = run_with_secrets(&case, &wf, &["hub_token=env:WFOP_TEST_KEY_SECRET"], &envs);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let run = case.run_json();
    let reason = node(&run, "sum")["reason"].as_str().unwrap().to_string();
    assert!(
        reason.contains("HTTP 401") && reason.contains("the hub refused the credentials"),
        "{reason}"
    );
    assert_eq!(gw.seen()["starts"].as_u64().unwrap(), starts);
    assert_nothing_leaked(&case, &[&out.stdout, &out.stderr]);
}

fn check(wf: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_wfop"))
        .arg("check")
        .arg(wf)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn hub_credentials_must_name_declared_secrets() {
    let case = Case::new();
    let wf = hub_flow(
        &case,
        json!({ "hub": "https://hub.example/svc/1.0.0", "auth": { "token": "hub_tokn" } }),
        json!({ "values": [1] }),
        json!({}),
        &["hub_token"],
    );
    let out = check(&wf);
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_ne!(out.status.code(), Some(0), "{all}");
    assert!(
        all.contains("`auth.token` names a secret the workflow does not declare in its `secrets`"),
        "{all}"
    );
    assert!(all.contains("hub_token"), "the suggestion: {all}");

    // Declared, a hub credential is asked for like any secret the run uses.
    let wf = hub_flow(
        &case,
        json!({ "hub": "https://hub.example/svc/1.0.0", "auth": { "token": "hub_token" } }),
        json!({ "values": [1] }),
        json!({}),
        &["hub_token"],
    );
    let out = case.wfop(&["run", wf.to_str().unwrap()], &[]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("missing secrets and no terminal to ask for them")
            && err.contains("hub_token — a test secret (used by sum (hub credentials))"),
        "{err}"
    );

    // Credentials inside the URL are refused.
    let wf = hub_flow(
        &case,
        json!({ "hub": "https://me:pa55word@hub.example/svc" }),
        json!({ "values": [1] }),
        json!({}),
        &[],
    );
    let out = check(&wf);
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_ne!(out.status.code(), Some(0), "{all}");
    assert!(all.contains("`hub` holds credentials"), "{all}");
}
