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

/// While a service that holds a secret runs, another service without secrets looks at every
/// process's command line and at its own environment.
#[test]
fn secrets_stay_out_of_command_lines_and_other_childrens_environments() {
    let case = Case::new();
    let spy_out = case.path().join("spy");
    std::fs::create_dir(&spy_out).unwrap();
    let holder = r#"touch "$SPY/holder-up"; i=0; while [ ! -e "$SPY/spy-done" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done"#;
    let spy = r#"i=0; while [ ! -e "$SPY/holder-up" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done
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
    let out = case.wfop(
        &[
            "run",
            wf.to_str().unwrap(),
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
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
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
