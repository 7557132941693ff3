//! Several runs in one process (a library user, the tests): one run's end reaps the orphans
//! its services left, and must never take a service another run has just started (which that
//! run then cannot wait for: "No child processes").

use std::time::Duration;

use wfop::engine::{self, RunOptions, RunStatus, setup};

#[test]
fn runs_ending_while_others_start_services_leave_those_services_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let wf = dir.path().join("wf.json");
    // Short services, one after another: many spawns, many run ends.
    std::fs::write(
        &wf,
        r#"{ "name": "quick",
  "nodes": [ { "id": "start", "type": "start" },
             { "id": "a", "type": "service", "run": { "command": ["true"] } },
             { "id": "b", "type": "service", "run": { "command": ["true"] } },
             { "id": "c", "type": "service", "run": { "command": ["true"] } },
             { "id": "end", "type": "end" } ],
  "edges": [ { "from": "start", "to": "a" }, { "from": "a", "to": "b" },
             { "from": "b", "to": "c" }, { "from": "c", "to": "end" } ] }"#,
    )
    .expect("write");
    let threads: Vec<_> = (0..6)
        .map(|t| {
            let wf = wf.clone();
            let state = dir.path().join(format!("state{t}"));
            std::thread::spawn(move || {
                let mut failures = Vec::new();
                for _ in 0..15 {
                    let prepared = setup::prepare(&wf, None, &[]).expect("prepare");
                    let mut options = RunOptions::new(state.clone());
                    options.kill_grace = Duration::from_secs(5);
                    let report = engine::run(
                        prepared.workflow,
                        prepared.inputs,
                        prepared.secrets,
                        options,
                        |_| {},
                    )
                    .expect("run");
                    if report.status != RunStatus::Succeeded {
                        failures.push(format!("{:?}", report.nodes));
                    }
                }
                failures
            })
        })
        .collect();
    let failures: Vec<String> = threads
        .into_iter()
        .flat_map(|t| t.join().expect("thread"))
        .collect();
    assert!(
        failures.is_empty(),
        "{} runs failed: {failures:#?}",
        failures.len()
    );
}
