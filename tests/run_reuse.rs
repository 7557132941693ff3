//! `wfop run --from NODE --reuse RUN` with real services: the upstream node does not run again
//! (a service that counts its runs), its outputs and the variables it set come from the reused
//! run's record, only the secrets of the nodes that run are asked for, neither record holds a
//! secret, and every refusal is a clear exit 2.

mod run_support;

use std::path::{Path, PathBuf};

use run_support::*;
use serde_json::{Value, json};

const SECRET: &str = "tok-3f9a-reuse-SeCrEt-value";

/// start → fetch → compute → report → end. `fetch` (secret `tok`) sets `data` (41) and `tok`
/// (its secret, redacted), `compute` sets `answer` = data + 1 and fails until `fixed` exists,
/// `report` prints the answer. Each counts its runs in `count-<id>`.
fn case() -> (Case, PathBuf) {
    let case = Case::new();
    let dir = case.path().display().to_string();
    let count = |id: &str| format!("echo run >> '{dir}/count-{id}'");
    let fetch = format!(
        r#"{}; echo "token is $SECRET_TOK"; printf '{{"data": 41, "tok": "%s"}}' "$SECRET_TOK" > "$OUTPUT_DIRECTORY/output.json""#,
        count("fetch")
    );
    let compute = format!(
        r#"{}; [ -f '{dir}/fixed' ] || {{ echo 'not fixed yet' >&2; exit 3; }}; d=$(cat "$INPUT_DIRECTORY/data.json"); echo "{{\"answer\": $((d + 1))}}" > "$OUTPUT_DIRECTORY/output.json""#,
        count("compute")
    );
    let report = format!(
        r#"{}; echo "answer: $(cat "$INPUT_DIRECTORY/answer.json")""#,
        count("report")
    );
    let wf = case.workflow(
        json!([
            { "id": "fetch", "type": "service", "run": { "command": ["sh", "-c", fetch] },
              "secrets": ["tok"],
              "input_mapping": [ { "name": "$secrets", "value": "{ \"tok\": secret_value(\"tok\") }" } ] },
            { "id": "compute", "type": "service", "run": { "command": ["sh", "-c", compute] } },
            { "id": "report", "type": "service", "run": { "command": ["sh", "-c", report] } }
        ]),
        &[("fetch", "compute"), ("compute", "report")],
        &["tok"],
    );
    (case, wf)
}

fn runs_of(case: &Case, id: &str) -> usize {
    std::fs::read_to_string(case.path().join(format!("count-{id}")))
        .map(|t| t.lines().count())
        .unwrap_or(0)
}

fn run(case: &Case, wf: &Path, extra: &[&str], envs: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut args = vec!["run", wf.to_str().unwrap(), "--plain"];
    args.extend_from_slice(extra);
    let out = case.wfop(&args, envs);
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(!all.contains("panicked"), "{all}");
    (out.status.code(), all)
}

fn run_ids(case: &Case) -> Vec<String> {
    let mut ids: Vec<String> = std::fs::read_dir(case.state().join("runs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    ids.sort();
    ids
}

fn doc(case: &Case, id: &str) -> Value {
    let text = std::fs::read(case.state().join("runs").join(id).join("run.json")).unwrap();
    serde_json::from_slice(&text).unwrap()
}

/// The first run fails at `compute`; after the fix, `--from compute` (no `--reuse`: the latest
/// finished run) runs `compute` and `report` only, with `fetch`'s outputs from the record, and
/// without asking for `fetch`'s secret.
#[test]
fn a_rerun_from_a_node_reuses_the_upstream_outputs_and_runs_only_the_rest() {
    let (case, wf) = case();
    let secret = [("TOK", SECRET)];
    let (code, out) = run(&case, &wf, &["--secret", "tok=env:TOK"], &secret);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("compute failed"), "{out}");
    // The secret was there to leak: fetch printed it (redacted on the way).
    assert!(out.contains("[fetch] token is ***"), "{out}");
    assert_eq!((runs_of(&case, "fetch"), runs_of(&case, "compute")), (1, 1));
    let first = run_ids(&case).pop().unwrap();

    case.write("fixed", "");
    // No --secret and no terminal: `fetch`'s secret would be missing if it were asked for.
    let (code, out) = run(&case, &wf, &["--from", "compute"], &[]);
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(
        (
            runs_of(&case, "fetch"),
            runs_of(&case, "compute"),
            runs_of(&case, "report")
        ),
        (1, 2, 1),
        "fetch did not run again\n{out}"
    );
    assert!(
        out.contains(&format!("rerun from compute, reusing run {first}: fetch")),
        "{out}"
    );
    assert!(
        out.contains(&format!("fetch reused (the outputs of run {first})")),
        "{out}"
    );
    assert!(
        out.contains("[report] answer: 42"),
        "the reused data reached compute\n{out}"
    );
    assert!(
        out.contains(&format!("reused from run {first}")),
        "the summary says it\n{out}"
    );
    assert!(
        out.contains("answer  42"),
        "the outputs after the summary\n{out}"
    );

    let second = run_ids(&case).pop().unwrap();
    assert_ne!(first, second);
    let d = doc(&case, &second);
    assert_eq!(d["reused"]["run_id"], first.as_str());
    assert_eq!(d["reused"]["from"], "compute");
    assert_eq!(d["reused"]["nodes"], json!(["fetch"]));
    assert_eq!(node(&d, "fetch")["status"], "succeeded");
    assert_eq!(node(&d, "fetch")["reused_from"], first.as_str());
    assert_eq!(node(&d, "fetch")["attempts"].as_array().unwrap().len(), 1);
    assert_eq!(node(&d, "compute")["status"], "succeeded");
    assert!(node(&d, "compute").get("reused_from").is_none());
    assert_eq!(d["variables"]["data"], 41);
    assert_eq!(d["variables"]["answer"], 42);
    // The reused secret was redacted in the first record; it stays so.
    assert_eq!(d["variables"]["tok"], "***");
    let log =
        std::fs::read_to_string(case.state().join("runs").join(&second).join("fetch.log")).unwrap();
    assert!(
        log.contains(&format!("reused the outputs of run {first}")),
        "{log}"
    );

    // `--reuse` by id, in --json: `reusing`, then `node_reused` for fetch instead of its start.
    let out = case.wfop(
        &[
            "run",
            wf.to_str().unwrap(),
            "--json",
            "--from",
            "report",
            "--reuse",
            &second,
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let evs: Vec<Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let reusing = evs
        .iter()
        .find(|e| e["event"] == "reusing")
        .expect("reusing");
    assert_eq!(reusing["run_id"], second.as_str());
    assert_eq!(reusing["nodes"], json!(["fetch", "compute"]));
    let reused: Vec<&str> = evs
        .iter()
        .filter(|e| e["event"] == "node_reused")
        .map(|e| e["node"].as_str().unwrap())
        .collect();
    assert_eq!(reused, ["fetch", "compute"]);
    let started: Vec<&str> = evs
        .iter()
        .filter(|e| e["event"] == "node_started")
        .map(|e| e["node"].as_str().unwrap())
        .collect();
    assert_eq!(started, ["report"]);
    let end = evs.iter().find(|e| e["event"] == "run_finished").unwrap();
    let fetch = end["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["node"] == "fetch")
        .unwrap();
    assert_eq!(fetch["reused"], second.as_str());
    assert_eq!(
        (
            runs_of(&case, "fetch"),
            runs_of(&case, "compute"),
            runs_of(&case, "report")
        ),
        (1, 2, 2)
    );

    // Rerunning from `fetch` runs it: now its secret is asked for (no terminal: exit 2).
    let (code, out) = run(&case, &wf, &["--from", "fetch"], &[]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("tok"), "{out}");
    assert_eq!(runs_of(&case, "fetch"), 1);

    // The first service printed the secret and returned it: no record holds it, in any form.
    assert!(run_ids(&case).len() >= 3);
    for (path, bytes) in case.record_files() {
        assert_absent(&bytes, SECRET, &path.display().to_string());
    }
}

#[test]
fn refusals_say_why_and_exit_2() {
    let (case, wf) = case();
    let wfs = wf.to_str().unwrap();
    // Nothing to reuse yet.
    let (code, out) = run(&case, &wf, &["--from", "compute"], &[]);
    assert_eq!(code, Some(2), "{out}");
    assert!(
        out.contains("no finished run of workflow `test` to reuse"),
        "{out}"
    );

    // A run where `fetch` fails: its outputs are missing for a rerun from `compute`.
    let bad = case.write("bad-fetch.json", &{
        let mut w: Value = serde_json::from_slice(&std::fs::read(&wf).unwrap()).unwrap();
        w["nodes"][1]["run"]["command"] = json!(["sh", "-c", "echo broken; exit 4"]);
        w.to_string()
    });
    let (code, out) = run(
        &case,
        &bad,
        &["--secret", "tok=env:TOK"],
        &[("TOK", SECRET)],
    );
    assert_eq!(code, Some(1), "{out}");
    let failed = run_ids(&case).pop().unwrap();
    let (code, out) = run(&case, &wf, &["--from", "compute", "--reuse", &failed], &[]);
    assert_eq!(code, Some(2), "{out}");
    assert!(
        out.contains(&format!("run {failed} has no successful outputs of `fetch`, which `compute` needs: it failed there")),
        "{out}"
    );

    // A good run to reuse; then the errors about the request itself.
    case.write("fixed", "");
    let (code, out) = run(&case, &wf, &["--secret", "tok=env:TOK"], &[("TOK", SECRET)]);
    assert_eq!(code, Some(0), "{out}");
    let good = run_ids(&case).pop().unwrap();
    let (code, out) = run(&case, &wf, &["--from", "compte"], &[]);
    assert_eq!(code, Some(2), "{out}");
    assert!(
        out.contains("no node `compte`") && out.contains("did you mean `compute`"),
        "{out}"
    );
    let (code, out) = run(
        &case,
        &wf,
        &["--from", "compute", "--reuse", "no-such-run"],
        &[],
    );
    assert_eq!(code, Some(2), "{out}");
    assert!(
        out.contains("--reuse: no run `no-such-run` (see `wfop runs`)"),
        "{out}"
    );

    // The workflow changed upstream: a new node before `compute`.
    let changed = case.write("changed.json", &{
        let mut w: Value = serde_json::from_slice(&std::fs::read(&wf).unwrap()).unwrap();
        w["nodes"].as_array_mut().unwrap().insert(
            1,
            json!({ "id": "extra", "type": "service", "run": { "command": ["true"] } }),
        );
        w["edges"]
            .as_array_mut()
            .unwrap()
            .push(json!({ "from": "extra", "to": "compute" }));
        w["edges"]
            .as_array_mut()
            .unwrap()
            .push(json!({ "from": "start", "to": "extra" }));
        w.to_string()
    });
    let (code, out) = run(
        &case,
        &changed,
        &["--from", "compute", "--reuse", &good],
        &[],
    );
    assert_eq!(code, Some(2), "{out}");
    assert!(
        out.contains(&format!(
            "the workflow changed since run {good}: node `extra` is new"
        )),
        "{out}"
    );
    // A record folder works as well as an id; `--reuse` without `--from` is a usage error.
    let folder = case.state().join("runs").join(&good);
    let (code, out) = run(
        &case,
        &wf,
        &["--from", "report", "--reuse", folder.to_str().unwrap()],
        &[],
    );
    assert_eq!(code, Some(0), "{out}");
    let out = case.wfop(&["run", wfs, "--plain", "--reuse", &good], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("--from"),
        "{}",
        text(&out.stderr)
    );
}

/// A rerun in a run host (`--detach`, what the TUI's `F` starts): the host plans it again from
/// the reused run's record, and the upstream node does not run again there either.
#[test]
fn a_detached_rerun_reuses_in_its_run_host() {
    let (case, wf) = case();
    let secret = [("TOK", SECRET)];
    let (code, out) = run(&case, &wf, &["--secret", "tok=env:TOK"], &secret);
    assert_eq!(code, Some(1), "{out}");
    let first = run_ids(&case).pop().unwrap();
    case.write("fixed", "");
    let out = case.wfop(
        &[
            "run",
            wf.to_str().unwrap(),
            "--detach",
            "--json",
            "--from",
            "compute",
            "--reuse",
            &first,
        ],
        &[("WFOP_HOST_LINGER_MS", "200")],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let started: Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    let id = started["run_id"].as_str().unwrap().to_string();
    // Follow its logs to the end: the last line says how it ended.
    let logs = case.wfop(&["logs", &id, "--follow"], &[]);
    let err = text(&logs.stderr);
    assert!(
        err.contains(&format!("wfop: run {id} succeeded in ")),
        "{err}"
    );
    assert!(
        err.contains(&format!("rerun from compute, reusing run {first} (1 node)")),
        "{err}"
    );
    assert!(
        text(&logs.stdout).contains("answer: 42"),
        "{}",
        text(&logs.stdout)
    );
    assert_eq!(
        (
            runs_of(&case, "fetch"),
            runs_of(&case, "compute"),
            runs_of(&case, "report")
        ),
        (1, 2, 1)
    );
    let d = doc(&case, &id);
    assert_eq!(d["reused"]["run_id"], first.as_str());
    assert_eq!(node(&d, "fetch")["reused_from"], first.as_str());
}
