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
