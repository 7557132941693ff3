//! `F` in the real TUI (a private tmux server, the run in its run host): a run that failed at
//! `compute` is rerun from it after the fix; `fetch` (which counts its runs) does not run again,
//! its outputs reach `compute`, the graph shows it `reused`, and the summary after `q` says so.

mod run_support;

use run_support::tmux::Tmux;
use run_support::*;
use serde_json::json;

fn runs_of(case: &Case, id: &str) -> usize {
    std::fs::read_to_string(case.path().join(format!("count-{id}")))
        .map(|t| t.lines().count())
        .unwrap_or(0)
}

#[test]
fn f_reruns_the_finished_run_from_the_selected_node() {
    let case = Case::new();
    let d = case.path().display().to_string();
    let count = |id: &str| format!("echo run >> '{d}/count-{id}'");
    let fetch = format!(
        r#"{}; echo '{{"data": 41}}' > "$OUTPUT_DIRECTORY/output.json""#,
        count("fetch")
    );
    let compute = format!(
        r#"{}; [ -f '{d}/fixed' ] || {{ echo 'not fixed yet'; exit 3; }}; d=$(cat "$INPUT_DIRECTORY/data.json"); echo "answer is $((d + 1))""#,
        count("compute")
    );
    let wf = case.workflow(
        json!([
            { "id": "fetch", "type": "service", "label": "Fetch", "run": { "command": ["sh", "-c", fetch] } },
            { "id": "compute", "type": "service", "label": "Compute", "run": { "command": ["sh", "-c", compute] } }
        ]),
        &[("fetch", "compute")],
        &[],
    );
    let exit = case.path().join("exit");
    let cmd = format!(
        "cd '{d}' && '{}' run '{}' --state-dir '{}'; echo $? > '{}'",
        env!("CARGO_BIN_EXE_wfop"),
        wf.display(),
        case.state().display(),
        exit.display()
    );
    let Some(t) = Tmux::start("rerun-from", &cmd, 100, 30) else {
        return;
    };
    let mut seen = Vec::new();
    t.wait_for(&mut seen, "the run to fail", |s| s.contains("run failed"));
    assert_eq!((runs_of(&case, "fetch"), runs_of(&case, "compute")), (1, 1));
    case.write("fixed", "");
    // `fetch` is selected first; the next layer's node is `compute`.
    t.keys("l");
    t.wait_for(&mut seen, "compute selected", |s| {
        s.contains("Compute (compute)")
    });
    t.keys("F");
    let dialog = t.wait_for(&mut seen, "the question", |s| {
        s.contains("rerun from the selected node?")
    });
    assert!(dialog.contains("`compute`"), "{dialog}");
    t.keys("y");
    let done = t.wait_for(&mut seen, "the rerun to succeed", |s| {
        s.contains("run succeeded")
    });
    assert!(done.contains("Fetch reused"), "{done}");
    assert_eq!(
        (runs_of(&case, "fetch"), runs_of(&case, "compute")),
        (1, 2),
        "fetch did not run again"
    );
    // The reused data reached compute.
    let log = std::fs::read_to_string(case.run_dir().join("compute.log")).unwrap();
    assert!(log.contains("answer is 42"), "{log}");
    t.keys("q");
    t.wait_dead();
    let after = t.capture_all();
    assert!(after.contains("reused from run "), "{after}");
    assert_eq!(std::fs::read_to_string(&exit).unwrap().trim(), "0");
}
