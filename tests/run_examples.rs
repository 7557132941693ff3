//! The bundled example workflows run end to end through `wfop run`, and no secret leaks:
//! not to stdout, stderr, the record, any process's command line, or a child that did not ask.

mod run_support;

use run_support::*;

#[test]
fn quantum_example_end_to_end() {
    let case = Case::new();
    let wf = root().join("workflows/quantum-secrets.json");
    let input = root().join("workflows/quantum-secrets.input.json");
    let out = case.wfop(
        &[
            "run",
            wf.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
            "--secret",
            "ibm_api_token=env:WFOP_TEST_IBM",
            "--plain",
        ],
        &[("WFOP_TEST_IBM", IBM_KEY)],
    );
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("[orchestrated] quantum_service: token accepted (ibm-cloud-api-key)"),
        "{stdout}"
    );
    assert!(stdout.contains("wfop: run succeeded"), "{stdout}");
    assert!(stdout.contains("orchestrated  succeeded"), "{stdout}");
    assert_absent(&out.stdout, IBM_KEY, "stdout");
    assert_absent(&out.stderr, IBM_KEY, "stderr");

    let run = case.run_json();
    assert_eq!(run["status"], "succeeded");
    assert_eq!(run["exit_code"], 0);
    let counts = &run["variables"]["counts"];
    let total: u64 = counts
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(total, 1024, "{counts}");
    assert!(
        counts
            .as_object()
            .unwrap()
            .keys()
            .all(|k| k == "00000" || k == "11111"),
        "{counts}"
    );
    assert_eq!(run["variables"]["backend"], "wfop-local-statevector");
    let n = node(&run, "orchestrated");
    assert_eq!(n["status"], "succeeded");
    assert_eq!(n["exit_code"], 0);
    assert!(run["inputs"].get("$secrets").is_none());

    let log = std::fs::read_to_string(case.run_dir().join("orchestrated.log")).unwrap();
    assert!(
        log.lines()
            .any(|l| l.ends_with("stdout quantum_service: checking the IBM token")),
        "{log}"
    );
    for (path, bytes) in case.record_files() {
        assert_absent(&bytes, IBM_KEY, &path.display().to_string());
    }
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&case.run_dir()), 0o700);
    assert_eq!(mode(&case.run_dir().join("run.json")), 0o600);
    assert_eq!(mode(&case.run_dir().join("orchestrated.log")), 0o600);
}

#[test]
fn portfolio_example_forks_joins_and_uses_two_secrets() {
    let case = Case::new();
    let wf = root().join("workflows/portfolio-risk.json");
    let input = root().join("workflows/portfolio-risk.input.json");
    let out = case.wfop(
        &[
            "run",
            wf.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
            "--secret",
            "ibm_api_token=env:WFOP_TEST_IBM",
            "--secret",
            "market_data_api_key=env:WFOP_TEST_MARKET",
        ],
        &[("WFOP_TEST_IBM", IBM_KEY), ("WFOP_TEST_MARKET", MARKET_KEY)],
    );
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let run = case.run_json();
    for id in [
        "fetch_prices",
        "classical_risk",
        "quantum_sampling",
        "report",
    ] {
        assert_eq!(node(&run, id)["status"], "succeeded", "{id}");
    }
    let vars = &run["variables"];
    assert!(vars["risk_report"].is_object(), "{vars}");
    assert!(
        vars["classical_risk"]["var"]
            .as_f64()
            .is_some_and(|v| v > 0.0),
        "{vars}"
    );
    assert!(
        vars["quantum_risk"]["var"]
            .as_f64()
            .is_some_and(|v| v > 0.0),
        "{vars}"
    );
    // Data flowed through the output mappings into the later nodes.
    assert_eq!(vars["market_data"]["observations"], 251, "{vars}");
    assert_eq!(
        vars["prices"]["series"].as_array().map(Vec::len),
        Some(5),
        "{vars}"
    );
    let shots: u64 = vars["scenario_counts"]
        .as_object()
        .map_or(0, |m| m.values().filter_map(|v| v.as_u64()).sum());
    assert_eq!(shots, 4096, "{vars}");
    let status = vars["risk_report"]["status"].as_str().unwrap_or("");
    assert!(status == "consistent" || status == "review", "{vars}");
    assert!(
        vars["summary"]
            .as_str()
            .is_some_and(|s| s.contains("EU growth sleeve")),
        "{vars}"
    );
    for secret in [IBM_KEY, MARKET_KEY] {
        assert_absent(&out.stdout, secret, "stdout");
        assert_absent(&out.stderr, secret, "stderr");
        for (path, bytes) in case.record_files() {
            assert_absent(&bytes, secret, &path.display().to_string());
        }
    }
}

/// While a service that holds a secret runs — proven: it says "ready" before the scans and
/// waits for "scanned" after them — another service without secrets looks at every process's
/// command line it can see and at its own environment, and the test itself looks at every
/// command line on the machine (wfop's, the holder's, the sandbox's own processes).
#[test]
fn secrets_stay_out_of_command_lines_and_other_childrens_environments() {
    use std::time::{Duration, Instant};
    let case = Case::new();
    let spy_out = case.path().join("spy");
    std::fs::create_dir(&spy_out).unwrap();
    let holder = r#"echo ready > "$SPY/holder-ready"; i=0; while [ ! -e "$SPY/scanned" ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done
[ -e "$SPY/scanned" ] && echo held > "$SPY/holder-held""#;
    let spy = r#"i=0; while [ ! -e "$SPY/holder-ready" ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done
[ -e "$SPY/holder-ready" ] || exit 3
for p in /proc/[0-9]*; do cat "$p/cmdline" 2>/dev/null; echo; done > "$SPY/cmdlines"
env > "$SPY/env"; touch "$SPY/spy-done""#;
    let wf = case.workflow(
        serde_json::json!([
            { "id": "holder", "type": "service", "run": { "command": ["sh", "-c", holder] },
              "secrets": ["tok"],
              "input_mapping": [ { "name": "$secrets", "value": "{ \"tok\": secret_value(\"api\") }" } ] },
            { "id": "spy", "type": "service", "run": { "command": ["sh", "-c", spy] } }
        ]),
        &[],
        &["api"],
    );
    let sp = spy_out.to_str().unwrap();
    let child = case
        .command(
            &[
                "run",
                wf.to_str().unwrap(),
                "--plain",
                "--secret",
                "api=env:WFOP_TEST_API",
                "--max-parallel",
                "2",
            ],
            &[
                ("WFOP_TEST_API", IBM_KEY),
                ("SPY", sp),
                ("SECRET_STRAY", "from-the-parent"),
            ],
        )
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while !spy_out.join("spy-done").exists() && t0.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(20));
    }
    // The host's view: every command line on the machine while the holder runs.
    let mut host = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        if e.file_name().to_string_lossy().parse::<u32>().is_ok() {
            host.extend(std::fs::read(e.path().join("cmdline")).unwrap_or_default());
            host.push(b'\n');
        }
    }
    std::fs::write(spy_out.join("scanned"), "").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(spy_out.join("holder-ready").exists());
    assert!(
        spy_out.join("holder-held").exists(),
        "the holder did not run through the scans"
    );
    let seen = String::from_utf8_lossy(&host);
    assert!(
        seen.contains("echo ready > ") && seen.contains("api=env:WFOP_TEST_API"),
        "the host scan missed the holder or wfop"
    );
    assert_absent(&host, IBM_KEY, "a /proc/<pid>/cmdline on the host");
    let cmdlines = std::fs::read(spy_out.join("cmdlines")).unwrap();
    assert!(!cmdlines.is_empty());
    assert_absent(&cmdlines, IBM_KEY, "a /proc/<pid>/cmdline");
    let env = std::fs::read_to_string(spy_out.join("env")).unwrap();
    assert_absent(env.as_bytes(), IBM_KEY, "the spy's environment");
    assert!(
        !env.contains("WFOP_TEST_API="),
        "the secret's source variable reached a child"
    );
    assert!(
        !env.contains("SECRET_"),
        "a SECRET_ variable reached a child that asked for none"
    );
    assert!(env.contains("WFOP_NODE_ID=spy"), "{env}");
    assert!(env.contains("INPUT_DIRECTORY="), "{env}");
}

/// Runs `workflows/quantum-job.json` with the given input file, in line mode.
fn run_quantum_job(case: &Case, input: &str) -> (std::process::Output, String) {
    let wf = root().join("workflows/quantum-job.json");
    let input = root().join("workflows").join(input);
    let out = case.wfop(
        &[
            "run",
            wf.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
            "--secret",
            "ibm_api_token=env:WFOP_TEST_IBM",
            "--plain",
        ],
        &[("WFOP_TEST_IBM", IBM_KEY)],
    );
    let stdout = text(&out.stdout);
    assert_absent(&out.stdout, IBM_KEY, "stdout");
    assert_absent(&out.stderr, IBM_KEY, "stderr");
    for (path, bytes) in case.record_files() {
        assert_absent(&bytes, IBM_KEY, &path.display().to_string());
    }
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    // The submit got the token (the service checks its shape) and did not print it.
    assert!(
        stdout.contains("[submit] token accepted (ibm-cloud-api-key)"),
        "{stdout}"
    );
    (out, stdout)
}

#[test]
fn quantum_job_retries_the_flaky_step_and_polls_until_completed() {
    let case = Case::new();
    let (_, stdout) = run_quantum_job(&case, "quantum-job.input.json");
    // The flaky step failed once, was retried and succeeded.
    assert!(
        stdout.contains("RuntimeError: calibration data for ibm_brisbane is not ready yet"),
        "{stdout}"
    );
    assert!(stdout.contains("transpile will retry"), "{stdout}");
    for status in [
        "poll 1: job-",
        "is QUEUED",
        "poll 2: job-",
        "is RUNNING",
        "is COMPLETED",
    ] {
        assert!(stdout.contains(status), "{status}: {stdout}");
    }
    assert!(
        stdout.contains("[report] COMPLETED on ibm_brisbane after 3 poll(s)"),
        "{stdout}"
    );

    let run = case.run_json();
    assert_eq!(run["status"], "succeeded");
    let attempts = |id: &str| node(&run, id)["attempts"].as_array().unwrap().len();
    assert_eq!(attempts("transpile"), 2, "one failure, one retry");
    assert_eq!(node(&run, "transpile")["attempts"][0]["status"], "failed");
    assert_eq!(
        node(&run, "poll")["iterations"],
        3,
        "the loop ran three times"
    );
    assert_eq!(node(&run, "wait")["iterations"], 3);
    assert_eq!(node(&run, "simulate")["status"], "skipped");
    assert_eq!(node(&run, "simulate")["reason"], "not taken");
    assert_eq!(run["variables"]["status"], "COMPLETED");
    assert_eq!(run["variables"]["summary"]["backend"], "ibm_brisbane");

    // The first attempt's log is kept and shown on its own.
    let logs = case.wfop(
        &[
            "logs",
            run["run_id"].as_str().unwrap(),
            "transpile",
            "--attempt",
            "1",
        ],
        &[],
    );
    let first = text(&logs.stdout);
    assert!(first.contains("not ready yet"), "{first}");
    assert!(
        !first.contains("depth 5"),
        "attempt 2's lines are not in attempt 1: {first}"
    );
}

#[test]
fn quantum_job_falls_back_to_the_simulator_on_a_backend_error() {
    let case = Case::new();
    let (_, stdout) = run_quantum_job(&case, "quantum-job.offline.input.json");
    assert!(
        stdout.contains("falling back to the local simulator: ibm_kyiv is in maintenance"),
        "{stdout}"
    );
    let run = case.run_json();
    assert_eq!(run["status"], "succeeded");
    assert_eq!(
        node(&run, "submit")["attempts"][0]["error_code"],
        "BACKEND_UNAVAILABLE"
    );
    assert_eq!(node(&run, "poll")["status"], "skipped");
    assert_eq!(node(&run, "simulate")["status"], "succeeded");
    assert_eq!(run["variables"]["status"], "SIMULATED");
    assert_eq!(
        run["variables"]["fallback_reason"],
        "ibm_kyiv is in maintenance"
    );
    assert_eq!(
        run["variables"]["summary"]["backend"],
        "wfop-local-statevector"
    );
}
