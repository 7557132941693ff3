//! Item 2 of issue 9: a secret's value inside an ordinary `--input` variable (a connection
//! string holding the password) is redacted everywhere variables are shown or written — the
//! plain outputs block, the `--json` events, `run.json`, every record file, the TUI's mapping
//! table — while the service still receives the real value (it checks it and exits 0 only then).

mod run_support;

use std::path::Path;

use run_support::tmux::Tmux;
use run_support::*;
use serde_json::json;

/// The database password: given as a secret, and also inside the `dsn` input.
const PW: &str = "s3cr3t-Pa55w0rd-7fQ2xZ";

/// The workflow: `db` gets the connection string (and halves of the password it joins in its
/// input mapping), checks both against its own `SECRET_DB_PASSWORD`, and the output mapping
/// derives `url` from the connection string.
fn case() -> (Case, std::path::PathBuf, std::path::PathBuf) {
    let case = Case::new();
    let script = r#"
        want="\"postgres://u:$SECRET_DB_PASSWORD@h/db\""
        got=$(cat "$INPUT_DIRECTORY/dsn.json")
        joined=$(cat "$INPUT_DIRECTORY/joined.json")
        if [ "$got" = "$want" ] && [ "$joined" = "\"$SECRET_DB_PASSWORD\"" ]; then
          echo "the service got the real connection string"
          echo '{"ok": true}' > "$OUTPUT_DIRECTORY/output.json"
        else
          echo "the service got something else"; exit 7
        fi"#;
    let wf = case.workflow(
        json!([{
            "id": "db", "type": "service",
            "run": { "command": ["sh", "-c", script] },
            "secrets": ["db_password"],
            "input_mapping": [
                { "name": "dsn", "value": "dsn" },
                { "name": "joined", "value": "pa + pb" },
                { "name": "$secrets", "value": "{ \"db_password\": secret_value(\"db_password\") }" }
            ],
            "output_mapping": [
                { "name": "url", "value": "dsn + \"?sslmode=require\"" },
                { "name": "ok", "value": "ok" }
            ]
        }]),
        &[],
        &["db_password"],
    );
    let half = PW.len() / 2;
    let input = case.write(
        "input.json",
        &json!({
            "dsn": format!("postgres://u:{PW}@h/db"),
            "pa": &PW[..half],
            "pb": &PW[half..],
            "n": 1
        })
        .to_string(),
    );
    (case, wf, input)
}

fn assert_records_clean(case: &Case) {
    let files = case.record_files();
    assert!(!files.is_empty());
    for (p, bytes) in files {
        assert_absent(&bytes, PW, &p.display().to_string());
    }
    let run = case.run_json();
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(
        run["variables"]["url"], "postgres://u:***@h/db?sslmode=require",
        "{run}"
    );
    assert_eq!(run["inputs"]["dsn"], "postgres://u:***@h/db", "{run}");
}

/// Runs the case in `mode` (`--plain` or `--json`).
fn run_mode(mode: &str) -> (Case, std::process::Output) {
    let (case, wf, input) = case();
    let (wf, input) = (wf.display().to_string(), input.display().to_string());
    let args = [
        "run",
        &wf,
        "--input",
        &input,
        "--secret",
        "db_password=env:DBPW",
        mode,
    ];
    let out = case.wfop(&args, &[("DBPW", PW)]);
    (case, out)
}

#[test]
fn plain_mode_and_the_record_never_show_a_secret_inside_an_input() {
    let (case, out) = run_mode("--plain");
    let stdout = text(&out.stdout);
    // The service checked the real values and succeeded; the outputs block is there.
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("the service got the real connection string"),
        "{stdout}"
    );
    assert!(
        stdout.contains("url  \"postgres://u:***@h/db?sslmode=require\""),
        "{stdout}"
    );
    assert_absent(&out.stdout, PW, "plain stdout");
    assert_absent(&out.stderr, PW, "plain stderr");
    assert_records_clean(&case);
}

#[test]
fn json_mode_never_shows_a_secret_inside_an_input() {
    let (case, out) = run_mode("--json");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let events: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect();
    assert!(
        events
            .iter()
            .any(|e| e["line"] == "the service got the real connection string"),
        "the service checked the real values"
    );
    let outputs = events
        .iter()
        .find(|e| e["event"] == "outputs")
        .expect("an outputs event");
    assert_eq!(
        outputs["variables"]["url"],
        "postgres://u:***@h/db?sslmode=require"
    );
    // What the mapping gave the service, as viewers see it (the attached TUI shows these): the
    // halves joined into the password are redacted as a whole, `$secrets` is not there.
    let given = events
        .iter()
        .find(|e| e["event"] == "node_inputs")
        .expect("a node_inputs event");
    assert_eq!(given["node"], "db");
    assert_eq!(given["inputs"]["joined"], "\"***\"", "{given}");
    assert_eq!(
        given["inputs"]["dsn"], "\"postgres://u:***@h/db\"",
        "{given}"
    );
    assert!(given["inputs"].get("$secrets").is_none(), "{given}");
    assert_absent(&out.stdout, PW, "--json stdout");
    assert_absent(&out.stderr, PW, "--json stderr");
    assert_records_clean(&case);
}

/// A captured screen without its colour sequences.
fn plain(screen: &str) -> String {
    let mut out = String::new();
    let mut rest = screen;
    while let Some(i) = rest.find('\x1b') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let end = tail.find('m').map_or(tail.len(), |e| e + 1);
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

fn shell_quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', "'\\''"))
}

#[test]
fn the_tui_mapping_table_never_shows_a_secret_inside_an_input() {
    if std::process::Command::new("tmux")
        .arg("-V")
        .output()
        .is_err()
    {
        return skip_or_fail("tmux is not installed");
    }
    let (case, wf, input) = case();
    let bytes = case.path().join("pane.bytes");
    let cmd = format!(
        "cd {} && {} run {} --input {} --secret db_password=env:DBPW --state-dir {}; echo exit=$?",
        shell_quote(case.path()),
        shell_quote(Path::new(env!("CARGO_BIN_EXE_wfop"))),
        shell_quote(&wf),
        shell_quote(&input),
        shell_quote(&case.state()),
    );
    let Some(t) = Tmux::start_with_env("shownvars", &cmd, 160, 40, &[("DBPW", PW)]) else {
        return skip_or_fail("tmux did not start");
    };
    t.pipe_to(&bytes);
    let mut seen = Vec::new();
    // The `db` node is selected: its mapping table shows the resolved inputs.
    let done = t.wait_for(&mut seen, "the run to succeed", |s| {
        s.contains("run succeeded")
    });
    let done = plain(&done);
    assert!(done.contains("postgres://u:***@h/db"), "{done}");
    // The output mapping rows after the run.
    assert!(
        done.contains("postgres://u:***@h/db?sslmode=require"),
        "{done}"
    );
    // Joined from two inputs that each hold half of it: still redacted in the preview.
    assert!(
        done.lines()
            .any(|l| l.contains("pa + pb") && l.contains("\"***\"")),
        "{done}"
    );
    // The start node's rows (the inputs themselves).
    t.key("Left");
    let start = t.wait_for(&mut seen, "the start node's rows", |s| {
        plain(s).contains("start ─")
    });
    assert!(
        plain(&start).contains("\"postgres://u:***@h/db\""),
        "{start}"
    );
    t.keys("q");
    t.wait_dead();
    seen.push(t.capture_all());
    let all = std::fs::read(&bytes).unwrap_or_default();
    assert!(!all.is_empty(), "the pane's bytes were captured");
    assert!(
        seen.last().unwrap().contains("exit=0"),
        "the service checked the real values: {}",
        seen.last().unwrap()
    );
    for (i, s) in seen.iter().enumerate() {
        assert_absent(s.as_bytes(), PW, &format!("screen #{i}"));
    }
    assert_absent(&all, PW, "the bytes written to the terminal");
    assert_records_clean(&case);
}
