//! No message or source excerpt repeats a value (issue 9, items 7, 8, 12, 16, 17): `--input`
//! files and a workflow's `$secrets` rows holding a value, written wrongly in every way the
//! issue found, give exit 2 and `file:line:col` on stderr, and neither the value nor its
//! encodings. Each case first checks that the value is really in what wfop was given.

mod run_support;

use std::path::{Path, PathBuf};

use run_support::*;
use serde_json::json;

/// The value planted in every case (a fake IBM key shape); `run_support::forms` gives its
/// encodings.
const V: &str = IBM_KEY;

/// A workflow with one service that needs the secret `api` as its parameter `tok`; the
/// service touches `marker` when it runs.
fn workflow(case: &Case, marker: &Path) -> PathBuf {
    case.workflow(
        json!([{ "id": "s", "type": "service",
                 "run": { "command": ["touch", marker.to_str().unwrap()] },
                 "secrets": ["tok"],
                 "input_mapping": [ { "name": "$secrets", "value": "{ \"tok\": secret_value(\"api\") }" } ] }]),
        &[],
        &["api"],
    )
}

/// `wfop check FILE` (no `--state-dir`, which `check` does not take).
fn check(path: &Path) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_wfop"))
        .arg("check")
        .arg(path)
        .output()
        .expect("run wfop check")
}

/// `line:col` (1-based, in characters) of the first occurrence of `needle` in `text`.
fn at(text: &str, needle: &str) -> String {
    let i = text.find(needle).expect("needle in text");
    let line = text[..i].matches('\n').count() + 1;
    let start = text[..i].rfind('\n').map_or(0, |k| k + 1);
    format!("{line}:{}", text[start..i].chars().count() + 1)
}

/// Runs `wfop run WF --plain --input FILE` for an input text; returns (exit code, stderr).
fn run_input(case: &Case, wf: &Path, name: &str, input: &str, extra: &[&str]) -> (i32, String) {
    let path = case.write(name, input);
    assert!(
        std::fs::read_to_string(&path).unwrap().contains(V) || !input.contains(V),
        "precondition: the value is in the file"
    );
    let mut args = vec![
        "run",
        wf.to_str().unwrap(),
        "--plain",
        "--input",
        path.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let out = case.wfop(&args, &[("WFOP_TEST_API", MARKET_KEY)]);
    let stderr = text(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_absent(&out.stderr, V, &format!("stderr of {name}"));
    assert_absent(&out.stdout, V, &format!("stdout of {name}"));
    (out.status.code().unwrap_or(-1), stderr)
}

/// Item 8 (and 7, 17): every way of writing a value wrongly into an `--input` file.
#[test]
fn input_file_errors_show_position_but_never_the_value() {
    let case = Case::new();
    let marker = case.path().join("ran");
    let wf = workflow(&case, &marker);
    let cases: Vec<(&str, String, String, &str)> = vec![
        // `$secrets` written backwards: the value as the key.
        (
            "backwards.json",
            format!("{{ \"$secrets\": {{ \"{V}\": \"api\" }} }}\n"),
            format!("\"{V}\""),
            "the 1st key of `$secrets` is not a secret this workflow declares",
        ),
        // An unquoted value: the parser stops on it.
        (
            "unquoted.json",
            format!("{{\n  \"$secrets\": {{ \"api\": {V} }}\n}}\n"),
            V.to_string(),
            "invalid JSON in --input",
        ),
        // An unquoted value starting like `true`/`null`: the parser read it as a bare word.
        (
            "bareword.json",
            format!("{{\n  \"$secrets\": {{ \"api\": n{V} }}\n}}\n"),
            format!("n{V}"),
            "found a bare word",
        ),
        // A syntax error right after the value.
        (
            "near.json",
            format!("{{\n  \"$secrets\": {{ \"api\": \"{V}\" \"x\": 1 }}\n}}\n"),
            "\"x\"".to_string(),
            "expected `,` or `}`",
        ),
        // An unclosed `{` whose line holds the value.
        (
            "unclosed.json",
            format!("{{ \"other\": 1,\n  \"$secrets\": {{ \"api\": \"{V}\"\n"),
            "{ \"api\"".to_string(),
            "never closed",
        ),
        // A bad escape inside the value.
        (
            "escape.json",
            format!("{{ \"$secrets\": {{ \"api\": \"{V}\\q\" }} }}\n"),
            "\\q".to_string(),
            "unknown escape",
        ),
        // Duplicate keys: an error with both positions (item 17), no value.
        (
            "twice.json",
            format!(
                "{{ \"$secrets\": {{\n  \"api\": \"other-value-1234\",\n  \"api\": \"{V}\" }} }}\n"
            ),
            "\"api\": \"Zq3".to_string(),
            "secret `api` is given twice in `$secrets`",
        ),
        // A NUL inside the value (item 17): refused up front, naming the source.
        (
            "nul.json",
            format!("{{ \"$secrets\": {{ \"api\": \"{V}\\u0000\" }} }}\n"),
            format!("\"{V}"),
            "contains a NUL character",
        ),
        // A value that is not a string.
        (
            "number.json",
            "{ \"$secrets\": { \"api\": 4417123456789113 } }\n".to_string(),
            "4417".to_string(),
            "must be a string, not a number",
        ),
    ];
    for (name, input, needle, message) in cases {
        let (code, stderr) = run_input(&case, &wf, name, &input, &[]);
        assert_eq!(code, 2, "{name}: {stderr}");
        assert!(
            stderr.contains(message),
            "{name}: want {message:?} in {stderr}"
        );
        let pos = format!("{name}:{}", at(&input, &needle));
        assert!(stderr.contains(&pos), "{name}: want {pos} in {stderr}");
        assert!(
            !stderr.contains("4417"),
            "{name}: a number literal shown: {stderr}"
        );
        if name == "twice.json" {
            // The first key's position is shown too (the secondary label's line).
            assert!(stderr.contains("first given here"), "{stderr}");
            assert!(!stderr.contains("other-value"), "{stderr}");
        }
    }
    assert!(!marker.exists(), "a service ran");
}

/// Item 8: a value pasted into a workflow's `$secrets` row is refused by `check` and `run`,
/// whose messages and excerpts do not show it.
#[test]
fn a_value_in_a_workflow_secrets_row_is_refused_without_showing_it() {
    let case = Case::new();
    let marker = case.path().join("ran");
    let wf = workflow(&case, &marker);
    let good = std::fs::read_to_string(&wf).unwrap();
    for (kind, row) in [
        ("literal", format!("{{ \\\"tok\\\": \\\"{V}\\\" }}")),
        (
            "as a name",
            format!("{{ \\\"tok\\\": secret_value(\\\"{V}\\\") }}"),
        ),
        (
            "as the key",
            format!("{{ \\\"{V}\\\": secret_value(\\\"api\\\") }}"),
        ),
        ("bare", format!("{{ \\\"tok\\\": {V} }}")),
    ] {
        let wf_text = good.replace("{ \\\"tok\\\": secret_value(\\\"api\\\") }", &row);
        assert!(
            wf_text.contains(V),
            "precondition: {kind}: the value is in the workflow"
        );
        let path = case.write("pasted.json", &wf_text);
        for args in [
            vec!["check", path.to_str().unwrap()],
            vec!["run", path.to_str().unwrap(), "--plain"],
        ] {
            let out = if args[0] == "check" {
                check(&path)
            } else {
                case.wfop(&args, &[])
            };
            let stderr = text(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{kind} {args:?}: {stderr}");
            assert_absent(&out.stderr, V, &format!("stderr of {kind} {args:?}"));
            assert_absent(&out.stdout, V, &format!("stdout of {kind} {args:?}"));
            let line = wf_text[..wf_text.find(V).unwrap()].matches('\n').count() + 1;
            assert!(
                stderr.contains(&format!("pasted.json:{line}:")),
                "{kind} {args:?}: want the row's line {line} in {stderr}"
            );
            assert!(
                stderr.contains("\"value\": \""),
                "{kind}: the row is shown, masked: {stderr}"
            );
        }
    }
    assert!(!marker.exists(), "a service ran");
}

/// Item 7: `--secret` arguments that hold a value name the flag by position only.
#[test]
fn secret_flags_holding_a_value_are_named_by_position() {
    let case = Case::new();
    let marker = case.path().join("ran");
    let wf = workflow(&case, &marker);
    for (arg, want) in [
        // A base64 token with its padding, mistaken for NAME=VALUE.
        (
            format!("{V}=="),
            "the 1st --secret: literal values are refused",
        ),
        (
            format!("sk-{V}=x"),
            "the 1st --secret: literal values are refused",
        ),
        (
            format!("{V}=env:WFOP_TEST_API"),
            "the 1st --secret: the text before `=` is not a secret name",
        ),
        // The slip `--secret api=env:$TOKEN`: the shell put the value after `env:`.
        (
            format!("api=env:{V}"),
            "the 1st --secret: its environment variable is not set",
        ),
        (
            format!("api=file:{V}"),
            "the 1st --secret: cannot read its file",
        ),
        // A value where the name goes: "did you mean" may only name declared secrets.
        (
            format!("{}=env:WFOP_TEST_API", V.replace('-', "_")),
            "the 1st --secret: this workflow declares no secret of that name",
        ),
    ] {
        assert!(
            arg.contains(V) || arg.contains(&V.replace('-', "_")),
            "precondition"
        );
        let out = case.wfop(
            &["run", wf.to_str().unwrap(), "--plain", "--secret", &arg],
            &[("WFOP_TEST_API", MARKET_KEY)],
        );
        assert_absent(&out.stderr, V, &format!("stderr for `{want}`"));
        assert_absent(&out.stderr, &V.replace('-', "_"), "stderr");
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(want), "{arg:?}: want {want:?} in {stderr}");
    }
    // The position counts the flags.
    let out = case.wfop(
        &[
            "run",
            wf.to_str().unwrap(),
            "--plain",
            "--secret",
            "api=env:WFOP_TEST_API",
            "--secret",
            &format!("{V}=="),
        ],
        &[("WFOP_TEST_API", MARKET_KEY)],
    );
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("the 2nd --secret: literal values are refused"),
        "{stderr}"
    );
    assert_absent(&out.stderr, V, "stderr");
    assert!(!marker.exists(), "a service ran");
}

/// Item 16: a `--secret` flag wins over the input's `$secrets` entry of the same name, with a
/// warning naming the secret and the flag, never a value.
#[test]
fn a_flag_overriding_the_input_warns_with_names_only() {
    let case = Case::new();
    let marker = case.path().join("ran");
    let wf = workflow(&case, &marker);
    let (code, stderr) = run_input(
        &case,
        &wf,
        "in.json",
        &format!("{{ \"$secrets\": {{ \"api\": \"{V}\" }} }}\n"),
        &["--secret", "api=env:WFOP_TEST_API"],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(marker.exists(), "the service ran");
    assert!(
        stderr.contains(
            "wfop: warning: secret `api`: the 1st --secret overrides the input's `$secrets` entry"
        ),
        "{stderr}"
    );
    assert_absent(stderr.as_bytes(), MARKET_KEY, "stderr");
}

/// Item 17: a NUL inside a secret is refused up front from a file source, naming the flag.
#[test]
fn a_nul_in_a_secret_file_is_refused_naming_the_flag() {
    let case = Case::new();
    let marker = case.path().join("ran");
    let wf = workflow(&case, &marker);
    let f = case.path().join("nul.secret");
    std::fs::write(&f, format!("{V}\0tail\n")).unwrap();
    let out = case.wfop(
        &[
            "run",
            wf.to_str().unwrap(),
            "--plain",
            "--secret",
            &format!("api=file:{}", f.display()),
        ],
        &[],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("the 1st --secret (file:") && stderr.contains("NUL"),
        "{stderr}"
    );
    assert_absent(&out.stderr, V, "stderr");
    assert!(!marker.exists(), "a service ran");
}

/// Item 12: two secret parameters that become one `SECRET_*` variable fail `check`, with both
/// positions.
#[test]
fn two_parameters_for_one_variable_fail_check_with_both_positions() {
    let case = Case::new();
    let wf = case.workflow(
        json!([{ "id": "s", "type": "service",
                 "run": { "command": ["true"] },
                 "secrets": ["ibmToken", "ibm_token"],
                 "input_mapping": [ { "name": "$secrets",
                    "value": "{ \"ibmToken\": secret_value(\"a\"), \"ibm_token\": secret_value(\"b\") }" } ] }]),
        &[],
        &["a", "b"],
    );
    let text_wf = std::fs::read_to_string(&wf).unwrap();
    let out = check(&wf);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("secret parameters `ibmToken` and `ibm_token` of service `s` both become the environment variable SECRET_IBM_TOKEN"),
        "{stderr}"
    );
    let second = format!("wf.json:{}", at(&text_wf, "\"ibm_token\""));
    assert!(stderr.contains(&second), "want {second} in {stderr}");
    let first_line = at(&text_wf, "\"ibmToken\"");
    let first_line = first_line.split(':').next().unwrap();
    assert!(
        stderr.contains(&format!("{first_line} │")) && stderr.contains("becomes SECRET_IBM_TOKEN"),
        "the first parameter's line is shown: {stderr}"
    );
}
