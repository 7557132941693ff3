//! A run's end in a process ends the orphans its services left (children of wfop, the
//! subreaper, in groups of their own), never a command the process ran itself in its own
//! process group: the TUI's `tmux` queries, the Slurm executor's `scancel`, a test harness's
//! `tmux send-keys` in another thread (issue 16's lost key was such a command, killed and
//! reaped by another test's run).

use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use wfop::engine::{self, RunOptions, setup};

fn alive(pid: u32) -> bool {
    // A zombie is not alive: read its state.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .map(|(_, r)| r.trim_start().starts_with('Z'))
        })
        .is_some_and(|zombie| !zombie)
}

#[test]
fn a_runs_end_leaves_the_processs_own_commands_alone_and_ends_orphans() {
    let dir = tempfile::tempdir().unwrap();
    let wf = dir.path().join("wf.json");
    std::fs::write(
        &wf,
        r#"{"name": "t", "nodes": [{"id": "start", "type": "start"},
            {"id": "a", "type": "service", "run": {"command": ["true"]}},
            {"id": "end", "type": "end"}],
           "edges": [{"from": "start", "to": "a"}, {"from": "a", "to": "end"}]}"#,
    )
    .unwrap();
    // The process's own command, in its process group (as `Command` makes it).
    let mut own = Command::new("sleep")
        .arg("30")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    // A child of the process in a group of its own that no service of the run tracks: what an
    // orphan that escaped its service's group looks like to the run's end.
    let mut orphan_like = Command::new("sleep")
        .arg("31")
        .process_group(0)
        .spawn()
        .unwrap();
    assert!(
        alive(own.id()) && alive(orphan_like.id()),
        "both there to catch"
    );
    let prepared = setup::prepare(&wf, None, &[]).expect("prepare");
    let report = engine::run(
        prepared.workflow,
        prepared.inputs,
        prepared.secrets,
        RunOptions::new(dir.path().join("state")),
        |_| {},
    )
    .expect("run");
    assert_eq!(report.status.exit_code(), 0);
    assert!(
        matches!(orphan_like.try_wait(), Err(_) | Ok(Some(_))) || !alive(orphan_like.id()),
        "the run's end ended the child in a group of its own"
    );
    assert!(alive(own.id()), "the process's own command was left alone");
    assert!(
        own.try_wait().unwrap().is_none(),
        "and its exit status is still this thread's to take"
    );
    let _ = own.kill();
    let _ = own.wait();
}
