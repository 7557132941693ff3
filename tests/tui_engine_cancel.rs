//! The engine's cancel command (what the TUI's `c` and `q` send): running services are
//! stopped, the rest skipped, secrets purged, and the run ends as `cancelled`, not by a signal.

use std::sync::mpsc;
use std::time::Duration;

use wfop::engine::{self, Event, NodeOutcome, RunOptions, RunStatus, setup};

#[test]
fn cancel_token_stops_the_run_as_cancelled() {
    let dir = tempfile::tempdir().expect("tempdir");
    let wf = dir.path().join("wf.json");
    std::fs::write(
        &wf,
        r#"{ "name": "slow",
  "nodes": [ { "id": "start", "type": "start" },
             { "id": "sleeper", "type": "service", "run": { "command": ["sleep", "30"] } },
             { "id": "after", "type": "service", "run": { "command": ["true"] } },
             { "id": "end", "type": "end" } ],
  "edges": [ { "from": "start", "to": "sleeper" }, { "from": "sleeper", "to": "after" },
             { "from": "after", "to": "end" } ] }"#,
    )
    .expect("write");
    let prepared = setup::prepare(&wf, None, &[]).expect("prepare");
    let mut options = RunOptions::new(dir.path().join("state"));
    // `sleep` ends at the SIGTERM at once; the grace only has to outlast the sandbox's relay of
    // the signal on a loaded machine (500 ms did not, once, at load 20: the SIGKILL came first).
    options.kill_grace = Duration::from_secs(10);
    let token = options.cancel.clone();
    let (tx, rx) = mpsc::channel();
    let runner = std::thread::spawn(move || {
        engine::run(
            prepared.workflow,
            prepared.inputs,
            prepared.secrets,
            options,
            move |e| {
                let _ = tx.send(e);
            },
        )
    });
    // Cancel once the sleeper runs.
    let mut events = Vec::new();
    for e in rx.iter() {
        let started = matches!(&e, Event::NodeStarted { node, .. } if &**node == "sleeper");
        events.push(e);
        if started {
            token.cancel();
            break;
        }
    }
    events.extend(rx.iter());
    let report = runner.join().expect("engine thread").expect("run");
    assert_eq!(report.status, RunStatus::Cancelled);
    assert_eq!(report.status.exit_code(), 1);
    let status = |id: &str| report.nodes.iter().find(|n| n.node == id).map(|n| n.status);
    // Seen once under heavy load (not reproduced in 540 runs since): the whole report and the
    // events say what happened if it comes back.
    assert_eq!(
        status("sleeper"),
        Some(NodeOutcome::Cancelled),
        "{:#?}\n{events:#?}",
        report.nodes
    );
    assert_eq!(
        status("after"),
        Some(NodeOutcome::Skipped),
        "{:#?}",
        report.nodes
    );
    // Ended by the SIGTERM to its process group, not by the SIGKILL after the grace period.
    let sleeper = report.nodes.iter().find(|n| n.node == "sleeper");
    assert_eq!(sleeper.and_then(|n| n.signal), Some(libc::SIGTERM));
    assert!(events.iter().any(|e| matches!(e, Event::SecretsPurged)));
    assert!(events.iter().any(
        |e| matches!(e, Event::NodeSkipped { reason, .. } if reason == "the run was cancelled")
    ));
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(report.record.join("run.json")).expect("run.json"))
            .expect("json");
    assert_eq!(doc["status"], "cancelled");
}

#[test]
fn a_token_cancelled_before_the_run_starts_runs_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let wf = dir.path().join("wf.json");
    // The service touches a file by absolute path (a service runs in a private folder).
    let marker = dir.path().join("ran");
    let doc = serde_json::json!({ "name": "never",
        "nodes": [ { "id": "start", "type": "start" },
                   { "id": "touch", "type": "service",
                     "run": { "command": ["touch", marker.to_str().expect("utf-8 path")] } },
                   { "id": "end", "type": "end" } ],
        "edges": [ { "from": "start", "to": "touch" }, { "from": "touch", "to": "end" } ] });
    std::fs::write(&wf, doc.to_string()).expect("write");
    let run = |cancel_first: bool| {
        let prepared = setup::prepare(&wf, None, &[]).expect("prepare");
        let options = RunOptions::new(dir.path().join("state"));
        if cancel_first {
            options.cancel.cancel();
        }
        engine::run(
            prepared.workflow,
            prepared.inputs,
            prepared.secrets,
            options,
            |_| {},
        )
        .expect("run")
    };
    // Precondition: run normally, the service leaves the marker where the test looks.
    let report = run(false);
    assert_eq!(report.status, RunStatus::Succeeded);
    assert!(
        marker.exists(),
        "the service's marker is not where the test looks"
    );
    std::fs::remove_file(&marker).expect("remove marker");

    let report = run(true);
    assert_eq!(report.status, RunStatus::Cancelled);
    assert_eq!(report.nodes[0].status, NodeOutcome::Skipped);
    assert!(!marker.exists(), "the service ran");
}
