//! A service node's `executor` (issue 17): the forms the loader reads, every mistake with its
//! position, and what validation refuses or warns about.

use super::{Found, assert_error, broken, findings, pos};
use crate::diag::{Severity, SourceFile};
use crate::workflow::{NodeExecutor, SlurmSettings, check_source};

/// BASE with `"executor": {executor}` on the `prep` service.
fn with_executor(executor: &str) -> String {
    broken(
        r#""label": "Prepare","#,
        &format!(r#""label": "Prepare", "executor": {executor},"#),
    )
}

/// The `prep` node's executor, the file being clean.
#[track_caller]
fn executor_of(text: &str) -> NodeExecutor {
    let found = findings(text);
    assert!(found.is_empty(), "{found:#?}");
    let checked = check_source(SourceFile::from_text("t.json", text));
    let wf = checked.workflow().expect("valid");
    let prep = wf.nodes.iter().find(|n| n.id == "prep").expect("prep");
    prep.executor.clone()
}

/// Asserts a finding of `severity` containing `message` at the `nth` occurrence of `at`.
#[track_caller]
fn assert_found(text: &str, severity: Severity, message: &str, at: &str, nth: usize) {
    let found: Vec<Found> = findings(text);
    let want = pos(text, at, nth);
    assert!(
        found.iter().any(|f| f.severity == severity
            && f.message.contains(message)
            && (f.line, f.col) == want),
        "expected a {severity:?} containing {message:?} at {want:?} (`{at}`), got {found:#?}",
    );
}

#[test]
fn every_form_is_read() {
    assert_eq!(executor_of(super::BASE), NodeExecutor::Run);
    assert_eq!(
        executor_of(&with_executor(r#""local""#)),
        NodeExecutor::Local
    );
    assert_eq!(
        executor_of(&with_executor(r#""slurm""#)),
        NodeExecutor::Slurm(SlurmSettings::default())
    );
    let default = executor_of(&with_executor(r#"{ "slurm": {} }"#));
    assert_eq!(default, NodeExecutor::Slurm(SlurmSettings::default()));
    let NodeExecutor::Slurm(step) =
        executor_of(&with_executor(r#"{ "slurm": { "job": "step" } }"#))
    else {
        panic!("not slurm")
    };
    assert!(step.fits_allocation());
    let full = executor_of(&with_executor(
        r#"{ "slurm": { "partition": "gpu", "account": "proj1", "qos": "high",
                          "args": ["--gres=gpu:1", "-N2"], "job": "own" } }"#,
    ));
    assert_eq!(
        full,
        NodeExecutor::Slurm(SlurmSettings {
            partition: Some("gpu".into()),
            account: Some("proj1".into()),
            qos: Some("high".into()),
            args: vec!["--gres=gpu:1".into(), "-N2".into()],
            own_job: true,
        })
    );
}

#[test]
fn an_unknown_executor_suggests_one() {
    let text = with_executor(r#""slrum""#);
    assert_error(
        &text,
        "unknown executor `slrum`, did you mean `slurm`?",
        "\"slrum\"",
        0,
    );
    let text = with_executor(r#"{ "lokal": {} }"#);
    assert_error(
        &text,
        "unknown executor `lokal`, did you mean `local`?",
        "\"lokal\"",
        0,
    );
    let text = with_executor(r#"{ "local": {} }"#);
    assert_error(&text, "the local executor has no settings", "\"local\"", 0);
    let text = with_executor(r#"{ "partition": "gpu" }"#);
    assert_error(
        &text,
        "`partition` is a Slurm setting, not an executor",
        "\"partition\"",
        0,
    );
}

#[test]
fn wrong_shapes_of_executor() {
    let text = with_executor("true");
    assert_error(
        &text,
        "`executor` must be \"local\", \"slurm\" or an object",
        "true",
        0,
    );
    let text = with_executor("{ }");
    assert_error(&text, "`executor` is empty", "{ }", 0);
    let text = with_executor(r#"{ "slurm": "gpu" }"#);
    assert_error(
        &text,
        "`slurm` must be an object, found a string",
        "\"gpu\"",
        0,
    );
    let text = with_executor(r#"{ "slurm": {}, "partition": "gpu" }"#);
    assert_error(
        &text,
        "`executor` has more than one key; it takes one, the executor's name with its settings (`partition` goes inside `slurm`)",
        "\"partition\"",
        0,
    );
    let text = with_executor(r#"{ "slurm": {}, "slurm": {} }"#);
    assert_error(&text, "more than one key", "\"slurm\"", 1);
}

#[test]
fn slurm_settings_mistakes() {
    let text = with_executor(r#"{ "slurm": { "partiton": "gpu" } }"#);
    assert_error(
        &text,
        "unknown field `partiton` in `slurm`, did you mean `partition`?",
        "\"partiton\"",
        0,
    );
    let text = with_executor(r#"{ "slurm": { "account": "" } }"#);
    assert_error(&text, "`slurm.account` must not be empty", "\"\"", 0);
    let text = with_executor(r#"{ "slurm": { "qos": 3 } }"#);
    assert_error(
        &text,
        "`slurm.qos` must be a string, found a number",
        "3 }",
        0,
    );
    let text = with_executor(r#"{ "slurm": { "job": "onw" } }"#);
    assert_error(
        &text,
        "`slurm.job` must be \"own\" (a job of its own) or \"step\" (a step in the run's allocation), found \"onw\", did you mean `own`?",
        "\"onw\"",
        0,
    );
    let text = with_executor(r#"{ "slurm": { "args": "--gres=gpu:1" } }"#);
    assert_error(&text, "`slurm.args` must be an array", "\"--gres", 0);
}

#[test]
fn slurm_args_are_options_each_one_string() {
    let text = with_executor(r#"{ "slurm": { "args": ["--exclusive", 7] } }"#);
    assert_error(
        &text,
        "a `slurm.args` element must be a string, found a number",
        "7]",
        0,
    );
    let text = with_executor(r#"{ "slurm": { "args": ["--exclusive", " "] } }"#);
    assert_error(
        &text,
        "a `slurm.args` element must not be empty",
        "\" \"",
        0,
    );
    let text = with_executor(r#"{ "slurm": { "args": ["--time", "10:00"] } }"#);
    assert_error(
        &text,
        "`10:00` is not an option: each element of `slurm.args` is one option with its value",
        "\"10:00\"",
        0,
    );
    // A refused settings object leaves the node on the run's executor, not a half-read one.
    let (wf, _) = crate::workflow::load::load(&SourceFile::from_text("t.json", &text));
    let wf = wf.expect("a JSON object");
    let prep = wf.nodes.iter().find(|n| n.id == "prep").expect("prep");
    assert_eq!(prep.executor, NodeExecutor::Run);
}

#[test]
fn only_service_nodes_take_an_executor() {
    let text = broken(
        r#"{ "id": "end", "type": "end" }"#,
        r#"{ "id": "end", "type": "end", "executor": "local" }"#,
    );
    assert_error(
        &text,
        "an end node has no `executor`; only service nodes do",
        "\"executor\"",
        0,
    );
}

#[test]
fn tty_cannot_run_on_slurm() {
    let text = broken(
        r#""label": "Prepare","#,
        r#""label": "Prepare", "tty": true, "executor": { "slurm": { "partition": "gpu" } },"#,
    );
    assert_error(
        &text,
        "service `prep`: `tty` cannot be used with the slurm executor",
        "\"prep\"",
        0,
    );
    // On the local executor, or the run's (the engine checks `--executor slurm` at start).
    for executor in [r#" "executor": "local","#, ""] {
        let text = broken(
            r#""label": "Prepare","#,
            &format!(r#""label": "Prepare", "tty": true,{executor}"#),
        );
        let found = findings(&text);
        assert!(found.is_empty(), "{executor}: {found:#?}");
    }
}

#[test]
fn an_executor_on_a_hub_service_has_no_effect() {
    let hub = |executor: &str| {
        broken(
            r#""run": { "command": ["sh", "-c", "true"] },
      "input_mapping": [ { "name": "circuit_data""#,
            &format!(
                r#""run": {{ "hub": "https://hub.example/api" }},{executor}
      "input_mapping": [ {{ "name": "circuit_data""#
            ),
        )
    };
    let found = findings(&hub(""));
    assert!(found.is_empty(), "{found:#?}");
    for executor in [r#""local""#, r#"{ "slurm": { "qos": "high" } }"#] {
        let text = hub(&format!(r#" "executor": {executor},"#));
        assert_found(
            &text,
            Severity::Warning,
            "hub service `prep`: `executor` has no effect (the service runs on the hub)",
            "\"prep\"",
            0,
        );
        assert_eq!(findings(&text).len(), 1, "{:#?}", findings(&text));
    }
}
