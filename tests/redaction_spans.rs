//! The engine's log events say where the redactor wrote its `***`: a service that prints a
//! literal `****` and its secret gets one marker, on the secret, whatever the writes; the TUI's
//! log buffer styles exactly that one (`logbuf`/`logview` unit tests check the styling).

use std::sync::mpsc;

use wfop::engine::{self, Event, RunOptions, setup};
use wfop::secrets::SecretArg;

const TOKEN: &str = "Zq8-spans-secret-41";

#[test]
fn only_the_secrets_marker_is_reported_not_a_services_own_stars() {
    let dir = tempfile::tempdir().expect("tempdir");
    let secret_file = dir.path().join("tok");
    std::fs::write(&secret_file, TOKEN).expect("write secret");
    // The secret comes in three writes with pauses; the stars before it in their own write.
    let script = r#"printf 'pin **** '; sleep 0.2; v="$SECRET_TOK"; printf '%s' "${v%%-*}"; sleep 0.2
printf '%s' "-${v#*-}"; printf ' and *** end\n'"#;
    let wf = dir.path().join("wf.json");
    let doc = serde_json::json!({
        "name": "spans",
        "secrets": { "api": { "description": "a test secret" } },
        "nodes": [
            { "id": "start", "type": "start" },
            { "id": "svc", "type": "service", "run": { "command": ["sh", "-c", script] },
              "secrets": ["tok"],
              "input_mapping": [
                  { "name": "$secrets", "value": "{ \"tok\": secret_value(\"api\") }" } ] },
            { "id": "end", "type": "end" } ],
        "edges": [ { "from": "start", "to": "svc" }, { "from": "svc", "to": "end" } ]
    });
    std::fs::write(&wf, doc.to_string()).expect("write workflow");
    let arg = SecretArg::parse(&format!("api=file:{}", secret_file.display()), 1).expect("arg");
    let prepared = setup::prepare(&wf, None, &[arg]).expect("prepare");
    let options = RunOptions::new(dir.path().join("state"));
    let (tx, rx) = mpsc::channel();
    let report = engine::run(
        prepared.workflow,
        prepared.inputs,
        prepared.secrets,
        options,
        move |e| {
            let _ = tx.send(e);
        },
    )
    .expect("run");
    let mut data = Vec::new();
    let mut marks = Vec::new();
    for e in rx.try_iter() {
        if let Event::NodeLog {
            node,
            data: d,
            redacted,
            ..
        } = e
            && &*node == "svc"
        {
            marks.extend(
                redacted
                    .iter()
                    .map(|r| r.start + data.len()..r.end + data.len()),
            );
            data.extend_from_slice(&d);
        }
    }
    let text = String::from_utf8_lossy(&data);
    assert_eq!(text, "pin **** *** and *** end\n", "{report:?}");
    assert_eq!(marks, vec![9..12], "only the secret's marker: {text}");
}
