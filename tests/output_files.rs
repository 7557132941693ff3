//! Extra output files: what a service leaves in its output folder besides `output.json` /
//! `output.txt` is kept in the run record, redacted, and listed in `run.json`, the plain
//! output, `--json`'s `output_files` event and `wfop logs`.

mod run_support;

use run_support::*;
use serde_json::json;

#[test]
fn files_a_service_writes_are_kept_redacted_and_listed_everywhere() {
    let case = Case::new();
    // A CSV with the secret in it, a binary file, a folder (not kept), and the result.
    let script = r#"printf 'name,token\nibm,%s\n' "$SECRET_TOK" > "$OUTPUT_DIRECTORY/report.csv"
printf '\000\001\377' > "$OUTPUT_DIRECTORY/blob.bin"
mkdir "$OUTPUT_DIRECTORY/plots"
echo '{"ok": true}' > "$OUTPUT_DIRECTORY/output.json""#;
    let wf = case.workflow(
        json!([{ "id": "reporter", "type": "service", "run": { "command": ["sh", "-c", script] },
                 "secrets": ["tok"],
                 "input_mapping": [ { "name": "$secrets", "value": "{ \"tok\": secret_value(\"api\") }" } ] }]),
        &[],
        &["api"],
    );
    let wf_s = wf.to_str().unwrap();
    let out = case.wfop(
        &["run", wf_s, "--secret", "api=env:WFOP_TEST_API"],
        &[("WFOP_TEST_API", IBM_KEY)],
    );
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("wfop: reporter: file blob.bin (3 B) at reporter.files/1/blob.bin"),
        "{stdout}"
    );
    assert!(
        stdout.contains("wfop: reporter: file report.csv (19 B) at reporter.files/1/report.csv"),
        "{stdout}"
    );
    assert!(
        stdout.contains("wfop: reporter: file plots: a folder; not kept"),
        "{stdout}"
    );

    // The record: the files, redacted (the service did write the secret: the count says so).
    let dir = case.run_dir();
    assert_eq!(
        std::fs::read_to_string(dir.join("reporter.files/1/report.csv")).unwrap(),
        "name,token\nibm,***\n"
    );
    assert_eq!(
        std::fs::read(dir.join("reporter.files/1/blob.bin")).unwrap(),
        [0u8, 1, 255]
    );
    let run = case.run_json();
    let files = &node(&run, "reporter")["files"];
    assert_eq!(files[2]["name"], "report.csv");
    assert_eq!(files[2]["redactions"]["api"], 1);
    assert_eq!(files[2]["path"], "reporter.files/1/report.csv");
    assert_eq!(node(&run, "reporter")["attempts"][0]["files"], *files);
    assert_eq!(node(&run, "reporter")["redactions"]["api"], 1);
    assert_eq!(run["variables"]["ok"], true);

    // `wfop logs` lists them (the node's log says where each is).
    let logs = case.wfop(&["logs", "last"], &[]);
    let logs_out = text(&logs.stdout);
    assert!(
        logs_out.contains("[reporter]")
            && logs_out.contains("wfop file report.csv (19 B) at reporter.files/1/report.csv"),
        "{logs_out}\n{}",
        text(&logs.stderr)
    );

    // --json: one `output_files` event before `node_finished`.
    let json_out = case.wfop(
        &["run", wf_s, "--json", "--secret", "api=env:WFOP_TEST_API"],
        &[("WFOP_TEST_API", IBM_KEY)],
    );
    let events: Vec<serde_json::Value> = text(&json_out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON event per line"))
        .collect();
    let at = |name: &str| events.iter().position(|e| e["event"] == name).expect(name);
    assert!(at("output_files") < at("node_finished"));
    assert_eq!(events[at("output_files")]["files"][2]["name"], "report.csv");

    for (path, bytes) in case.record_files() {
        assert_absent(&bytes, IBM_KEY, &path.display().to_string());
    }
    assert_absent(&out.stdout, IBM_KEY, "stdout");
    assert_absent(&json_out.stdout, IBM_KEY, "--json stdout");
    assert_absent(&logs.stdout, IBM_KEY, "wfop logs");
}
