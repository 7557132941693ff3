//! With the hub's real runtime (`qhub-commons` from PyPI) installed, the shim hands over to it
//! and the platform-style quantum service runs unchanged. Installs into a throwaway virtualenv;
//! skips, saying so, when no package registry is reachable (a failure under `WFOP_TEST_STRICT`,
//! which CI sets).

mod run_support;

use run_support::*;
use serde_json::json;

#[test]
fn shim_hands_over_to_the_real_qhub_commons_runtime() {
    let case = Case::new();
    let Some(venv) = venv(&[QHUB_COMMONS]) else {
        return;
    };
    let python = venv.join("bin/python");
    let service = root().join("workflows/services/quantum_service.py");
    let wf = case.workflow(
        json!([{ "id": "orchestrated", "type": "service",
                 "run": { "python": service.to_str().unwrap(), "function": "run",
                          "interpreter": python.to_str().unwrap() },
                 "secrets": ["ibm_token"],
                 "input_mapping": [
                   { "name": "circuit_data", "value": "circuit_data" },
                   { "name": "$secrets", "value": "{ \"ibm_token\": secret_value(\"ibm_api_token\") }" } ],
                 "output_mapping": [ { "name": "counts", "value": "counts" } ] }]),
        &[],
        &["ibm_api_token"],
    );
    let input = root().join("workflows/quantum-secrets.input.json");
    let out = case.wfop(
        &[
            "run",
            wf.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
            "--secret",
            "ibm_api_token=env:WFOP_TEST_IBM",
        ],
        &[("WFOP_TEST_IBM", IBM_KEY)],
    );
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    assert!(
        stdout.contains("[orchestrated] wfop: handing over to qhub.commons"),
        "{stdout}"
    );
    assert!(
        stdout.contains("token accepted (ibm-cloud-api-key)"),
        "{stdout}"
    );
    let counts = &case.run_json()["variables"]["counts"];
    let total: u64 = counts
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(total, 1024);
    assert_absent(&out.stdout, IBM_KEY, "stdout");
    for (path, bytes) in case.record_files() {
        assert_absent(&bytes, IBM_KEY, &path.display().to_string());
    }
}

/// A workflow given by a relative path, whose `python` module and `interpreter` are relative to
/// its folder, hands over (the module is found: the paths are made absolute before the service
/// starts in its private folder).
#[test]
fn relative_python_and_interpreter_paths_hand_over() {
    let case = Case::new();
    let Some(venv) = venv(&[QHUB_COMMONS]) else {
        return;
    };
    let flows = case.path().join("flows");
    std::fs::create_dir(&flows).unwrap();
    std::os::unix::fs::symlink(&venv, flows.join("py")).unwrap();
    std::fs::write(
        flows.join("svc.py"),
        "def run(n: int) -> dict:\n    return {'twice': n * 2}\n",
    )
    .unwrap();
    let wf = case.workflow(
        json!([{ "id": "svc", "type": "service",
                 "run": { "python": "svc.py", "function": "run", "interpreter": "py/bin/python" },
                 "input_mapping": [ { "name": "n", "value": "21" } ] }]),
        &[],
        &[],
    );
    std::fs::rename(&wf, flows.join("wf.json")).unwrap();
    let out = case.wfop(&["run", "flows/wf.json", "--plain"], &[]);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    assert!(
        stdout.contains("[svc] wfop: handing over to qhub.commons"),
        "{stdout}"
    );
    assert_eq!(case.run_json()["variables"]["twice"], 42);
}

/// The real runtime logs DEBUG by default (loguru's stock sink); the platform runs it at
/// `LOG_LEVEL`, INFO unless set, and so does wfop — the emulation too.
#[test]
fn runtime_log_lines_follow_log_level() {
    let Some(venv) = venv(&[QHUB_COMMONS]) else {
        return;
    };
    let real = venv.join("bin/python");
    for (mode, python) in [
        ("hand-over", real.to_str().unwrap()),
        ("emulation", "python3"),
    ] {
        for level in [None, Some("DEBUG")] {
            let case = Case::new();
            case.write("svc.py", "def run(n: int) -> dict:\n    return {'n': n}\n");
            let wf = case.workflow(
                json!([{ "id": "svc", "type": "service",
                         "run": { "python": "svc.py", "function": "run", "interpreter": python },
                         "input_mapping": [ { "name": "n", "value": "1" } ] }]),
                &[],
                &[],
            );
            let envs: Vec<(&str, &str)> = level.iter().map(|l| ("LOG_LEVEL", *l)).collect();
            let out = case.wfop(&["run", wf.to_str().unwrap(), "--plain"], &envs);
            let stdout = text(&out.stdout);
            assert_eq!(out.status.code(), Some(0), "{mode} {level:?}: {stdout}");
            let debug = stdout
                .lines()
                .filter(|l| l.starts_with("[svc] ") && l.contains(" | DEBUG    | "))
                .count();
            match level {
                None => assert_eq!(debug, 0, "{mode}: no DEBUG lines at INFO:\n{stdout}"),
                Some(_) => {
                    assert!(debug > 0, "{mode}: DEBUG lines at DEBUG:\n{stdout}");
                    assert!(stdout.contains("Entrypoint: svc:run"), "{mode}: {stdout}");
                }
            }
        }
    }
}

/// A service that fails before writing a problem document (here: its module raises on import,
/// which no runtime catches) is named by the exception its traceback ends with — redacted.
#[test]
fn a_failure_without_a_problem_document_is_named_by_its_exception() {
    let Some(venv) = venv(&[QHUB_COMMONS]) else {
        return;
    };
    let real = venv.join("bin/python");
    for (mode, python) in [
        ("hand-over", real.to_str().unwrap()),
        ("emulation", "python3"),
    ] {
        let case = Case::new();
        case.write(
            "svc.py",
            "import os\nfrom qhub.commons.secret import SecretValue\n\n\
             raise RuntimeError('token ' + os.environ['SECRET_TOK'] + ' refused')\n\n\
             def run(tok: SecretValue) -> dict:\n    return {}\n",
        );
        let wf = case.workflow(
            json!([{ "id": "svc", "type": "service",
                     "run": { "python": "svc.py", "function": "run", "interpreter": python },
                     "secrets": ["tok"],
                     "input_mapping": [ { "name": "$secrets", "value": "{ \"tok\": secret_value(\"api\") }" } ] }]),
            &[],
            &["api"],
        );
        let out = case.wfop(
            &[
                "run",
                wf.to_str().unwrap(),
                "--plain",
                "--secret",
                "api=env:WFOP_TEST_IBM",
            ],
            &[("WFOP_TEST_IBM", IBM_KEY)],
        );
        let stdout = text(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{mode}: {stdout}");
        // The secret was there to catch: the service printed it (redacted on the way).
        assert!(
            stdout.contains("RuntimeError: token *** refused"),
            "{mode}: {stdout}"
        );
        let run = case.run_json();
        assert_eq!(
            node(&run, "svc")["reason"],
            "RuntimeError: token *** refused",
            "{mode}"
        );
        assert_absent(&out.stdout, IBM_KEY, "stdout");
        for (path, bytes) in case.record_files() {
            assert_absent(&bytes, IBM_KEY, &path.display().to_string());
        }
    }
}
