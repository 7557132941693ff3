//! Platform service projects (`run.project`) through `wfop run` and `wfop prepare`: a project
//! laid out as the platform's starter template (tests/projects/starter: relative imports, a
//! result object, requirements.txt, planqk.json) runs unchanged and returns the platform's JSON,
//! emulated and with the real runtime `wfop prepare` installs; the loader's checks; data pools
//! mounted the platform's way (`--datapool`, the workflow's `datapools`).

mod run_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use run_support::*;
use serde_json::json;

fn starter() -> PathBuf {
    root().join("tests/projects/starter")
}

/// start → stats (the starter project) → end, with `data` and `params` mapped in.
fn starter_workflow(case: &Case, run: serde_json::Value) -> PathBuf {
    case.workflow(
        json!([{
            "id": "stats",
            "type": "service",
            "run": run,
            "input_mapping": [
                { "name": "data", "value": "data" },
                { "name": "params", "value": "params" }
            ]
        }]),
        &[],
        &[],
    )
}

fn input(case: &Case) -> PathBuf {
    case.write(
        "in.json",
        r#"{ "data": { "values": [3, 1, 2] }, "params": { "scale": 10 } }"#,
    )
}

/// The platform's JSON for the starter's result object (`json.dumps(default=__dict__)`).
fn platform_result() -> serde_json::Value {
    json!({
        "result": { "sum": 60, "min": 10, "max": 30 },
        "metadata": { "count": 3, "scale": 10 }
    })
}

fn run_plain(case: &Case, wf: &Path, extra: &[&str], envs: &[(&str, &str)]) -> (i32, String) {
    let input = input(case);
    let mut args = vec![
        "run",
        wf.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--plain",
    ];
    args.extend_from_slice(extra);
    let out = case.wfop(&args, envs);
    let all = format!("{}\n{}", text(&out.stdout), text(&out.stderr));
    (out.status.code().unwrap_or(-1), all)
}

fn log_of(case: &Case, node: &str) -> String {
    std::fs::read_to_string(case.run_dir().join(format!("{node}.log"))).expect("node log")
}

/// `wfop check FILE` (no state folder).
fn check(file: &Path) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_wfop"))
        .arg("check")
        .arg(file)
        .env("NO_COLOR", "1")
        .output()
        .expect("wfop check");
    (
        out.status.code().unwrap_or(-1),
        format!("{}{}", text(&out.stdout), text(&out.stderr)),
    )
}

#[test]
fn a_template_project_runs_emulated_with_its_relative_imports() {
    let case = Case::new();
    let wf = starter_workflow(&case, json!({ "project": starter() }));
    // python3 here has no qhub-commons: wfop's built-in runtime runs the project.
    let (code, all) = run_plain(&case, &wf, &[], &[]);
    assert_eq!(code, 0, "{all}");
    assert!(all.contains("[stats] starter: 3 values, scale 10"), "{all}");
    assert!(!all.contains("handing over"), "{all}");
    // Said once as a warning: the project's requirements are not installed, and how to.
    assert!(
        all.contains("project `")
            && all.contains("is not prepared: its requirements.txt is not installed")
            && all.contains("run `wfop prepare"),
        "{all}"
    );
    let log = log_of(&case, "stats");
    assert!(
        log.contains("wfop project ")
            && log.contains("(entrypoint src.program:run, from the platform's default)"),
        "{log}"
    );
    assert!(
        log.contains("wfop interpreter python3 (no prepared virtualenv"),
        "{log}"
    );
    let run = case.run_json();
    assert_eq!(node(&run, "stats")["result"], platform_result(), "{run}");
}

#[test]
fn wfop_prepare_installs_the_runtime_and_run_uses_it() {
    let case = Case::new();
    let wf = starter_workflow(&case, json!({ "project": starter() }));
    let out = case.wfop(&["prepare", wf.to_str().unwrap()], &[]);
    let said = text(&out.stderr);
    if out.status.code() != Some(0) && said.contains("offline?") {
        skip_or_fail(&format!("no package index reachable:\n{said}"));
        return;
    }
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(
        said.contains("with its requirements.txt and qhub-commons>=1.2,<1.3"),
        "{said}"
    );
    let venvs = case.state().join("venvs");
    let made: Vec<PathBuf> = std::fs::read_dir(&venvs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    assert_eq!(made.len(), 1, "{made:?}");
    let venv = &made[0];
    assert!(venv.join("wfop-venv.json").is_file());
    let python = venv.join("bin/python");
    let has = Command::new(&python)
        .args(["-c", "import qhub.commons.runtime.main, pydantic"])
        .status()
        .unwrap();
    assert!(
        has.success(),
        "qhub-commons and the requirements are installed"
    );

    // Once made, a second prepare leaves it as it is.
    let again = case.wfop(&["prepare", wf.to_str().unwrap()], &[]);
    assert_eq!(again.status.code(), Some(0));
    assert!(
        text(&again.stderr).contains("prepared already"),
        "{}",
        text(&again.stderr)
    );

    let (code, all) = run_plain(&case, &wf, &[], &[]);
    assert_eq!(code, 0, "{all}");
    assert!(all.contains("wfop: handing over to qhub.commons"), "{all}");
    assert!(!all.contains("is not prepared"), "{all}");
    let log = log_of(&case, "stats");
    assert!(
        log.contains(&format!(
            "wfop interpreter {} (prepared by `wfop prepare` for requirements.txt)",
            python.display()
        )),
        "{log}"
    );
    // The real runtime returns the platform's JSON for the result object.
    let run = case.run_json();
    assert_eq!(node(&run, "stats")["result"], platform_result(), "{run}");

    // A node naming its own interpreter keeps it (and `prepare` says it leaves it alone).
    let own = case.workflow(
        json!([{
            "id": "stats",
            "type": "service",
            "run": { "project": starter(), "interpreter": "python3" },
        }]),
        &[],
        &[],
    );
    let out = case.wfop(&["prepare", own.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text(&out.stderr).contains("node `stats` names its own `interpreter`"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn prepare_offline_says_what_is_missing_and_run_still_works() {
    let case = Case::new();
    let wf = starter_workflow(&case, json!({ "project": starter() }));
    let wheels = case.path().join("no-wheels");
    std::fs::create_dir(&wheels).unwrap();
    // pip with no index and an empty wheel folder: as offline as it gets.
    let envs = [
        ("PIP_NO_INDEX", "1"),
        ("PIP_FIND_LINKS", wheels.to_str().unwrap()),
    ];
    let out = case.wfop(&["prepare", wf.to_str().unwrap()], &envs);
    let said = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{said}");
    for part in [
        "cannot prepare project",
        "pip could not reach a package index (offline?)",
        "Missing: its requirements.txt and qhub-commons>=1.2,<1.3 in a virtualenv",
        "PIP_INDEX_URL",
        &format!("then run `wfop prepare {}` again", wf.display()),
    ] {
        assert!(said.contains(part), "{part:?} in:\n{said}");
    }
    // Nothing half-made is left for `wfop run` to use: it runs the built-in runtime.
    let leftovers: Vec<_> = std::fs::read_dir(case.state().join("venvs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let (code, all) = run_plain(&case, &wf, &[], &[]);
    assert_eq!(code, 0, "{all}");
    assert!(all.contains("is not prepared"), "{all}");

    // A project with a pyproject.toml (no requirements.txt): its `[project] dependencies`.
    let project = case.path().join("uv-project");
    std::fs::create_dir_all(project.join("src")).unwrap();
    std::fs::write(project.join("src/program.py"), "def run():\n    return 1\n").unwrap();
    std::fs::write(
        project.join("pyproject.toml"),
        "[project]\nname = \"uv-project\"\ndependencies = [\"numpy>=2\"]\n",
    )
    .unwrap();
    let wf = case.workflow(
        json!([{ "id": "svc", "type": "service", "run": { "project": "uv-project" } }]),
        &[],
        &[],
    );
    let out = case.wfop(&["prepare", wf.to_str().unwrap()], &envs);
    let said = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains("Missing: its pyproject.toml and qhub-commons>=1.2,<1.3 in a virtualenv"),
        "{said}"
    );
    assert!(
        said.contains("numpy>=2"),
        "pip was asked for the dependency: {said}"
    );
}

#[test]
fn the_entrypoint_comes_from_the_node_then_entrypoint_env_then_the_descriptor() {
    let case = Case::new();
    let project = case.path().join("svc");
    for (name, body) in [
        ("src/__init__.py", ""),
        (
            "src/program.py",
            "from .util import tag\n\ndef run():\n    return tag('default')\n\ndef other():\n    return tag('node')\n",
        ),
        (
            "src/alt.py",
            "from .util import tag\n\ndef main():\n    return tag('descriptor')\n\ndef env():\n    return tag('env')\n",
        ),
        ("src/util.py", "def tag(t):\n    return {'from': t}\n"),
    ] {
        let p = project.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, body).unwrap();
    }
    let result = |case: &Case, run: serde_json::Value, envs: &[(&str, &str)]| {
        let wf = case.workflow(
            json!([{ "id": "svc", "type": "service", "run": run }]),
            &[],
            &[],
        );
        let (code, all) = run_plain(case, &wf, &[], envs);
        assert_eq!(code, 0, "{all}");
        (
            node(&case.run_json(), "svc")["result"].clone(),
            log_of(case, "svc"),
        )
    };
    let (r, log) = result(&case, json!({ "project": "svc" }), &[]);
    assert_eq!(r, json!({ "from": "default" }));
    assert!(log.contains("from the platform's default"), "{log}");
    let (r, _) = result(
        &case,
        json!({ "project": "svc" }),
        &[("ENTRYPOINT", "src.alt:env")],
    );
    assert_eq!(r, json!({ "from": "env" }));
    std::fs::write(
        project.join("qhub.json"),
        r#"{ "name": "svc", "runtime": "PYTHON_TEMPLATE", "entrypoint": "src.alt:main" }"#,
    )
    .unwrap();
    let (r, log) = result(&case, json!({ "project": "svc" }), &[]);
    assert_eq!(r, json!({ "from": "descriptor" }));
    assert!(
        log.contains("(entrypoint src.alt:main, from qhub.json)"),
        "{log}"
    );
    let (r, log) = result(
        &case,
        json!({ "project": "svc", "entrypoint": "src.program:other" }),
        &[("ENTRYPOINT", "src.alt:env")],
    );
    assert_eq!(r, json!({ "from": "node" }));
    assert!(log.contains("from the node's `entrypoint`"), "{log}");
}

#[test]
fn check_reports_project_and_datapool_problems_where_they_are() {
    let case = Case::new();
    let empty = case.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let docker = case.path().join("docker");
    std::fs::create_dir(&docker).unwrap();
    std::fs::write(
        docker.join("planqk.json"),
        "{\n  \"name\": \"d\",\n  \"runtime\": \"DOCKER\"\n}\n",
    )
    .unwrap();
    let broken = case.path().join("broken");
    std::fs::create_dir_all(broken.join("src")).unwrap();
    std::fs::write(broken.join("src/program.py"), "def run(): pass\n").unwrap();
    std::fs::write(broken.join("qhub.json"), "{\n  \"name\": \"b\",\n}\n").unwrap();
    let text = r#"{
  "name": "w",
  "datapools": { "market": "no-such-folder", "bad-name": "empty" },
  "nodes": [
    { "id": "start", "type": "start" },
    { "id": "a", "type": "service", "run": { "project": "missing" } },
    { "id": "b", "type": "service", "run": { "project": "empty" } },
    { "id": "c", "type": "service", "run": { "project": "empty", "entrypoint": "pkg.mod:go" } },
    { "id": "d", "type": "service", "run": { "project": "docker", "entrypoint": "src.program:run" } },
    { "id": "e", "type": "service", "run": { "project": "broken" } },
    { "id": "end", "type": "end" }
  ],
  "edges": [
    { "from": "start", "to": "a" }, { "from": "a", "to": "b" }, { "from": "b", "to": "c" },
    { "from": "c", "to": "d" }, { "from": "d", "to": "e" }, { "from": "e", "to": "end" }
  ]
}
"#;
    let wf = case.write("wf.json", text);
    let (code, all) = check(&wf);
    assert_eq!(code, 2, "{all}");
    let wf_name = wf.display().to_string();
    for (at, what) in [
        ("3:28", "data pool `market`: `"),
        (
            "3:46",
            "a data pool's name is the service's `DataPool` parameter",
        ),
        ("6:57", "the service project `"),
        (
            "7:57",
            "the entrypoint `src.program:run` (from the platform's default) is not in the project `empty`: there is no src/program.py or src/program/__init__.py in it",
        ),
        (
            "8:80",
            "the entrypoint `pkg.mod:go` (from the node's `entrypoint`) is not in the project `empty`",
        ),
    ] {
        let line = format!("{wf_name}:{at}");
        assert!(all.contains(&line), "{line} in:\n{all}");
        assert!(all.contains(what), "{what:?} in:\n{all}");
    }
    // The descriptors' findings are reported against their own files.
    let docker_at = format!("{}:3:14", docker.join("planqk.json").display());
    assert!(all.contains(&docker_at), "{docker_at} in:\n{all}");
    assert!(all.contains("this project is a Docker service"), "{all}");
    // …and only that: a Docker project is not looked into for a Python entrypoint.
    assert!(!all.contains("in the project `docker`"), "{all}");
    let broken_at = format!("{}:3:1", broken.join("qhub.json").display());
    assert!(all.contains(&broken_at), "{broken_at} in:\n{all}");
    assert!(
        all.contains("invalid JSON in the project's descriptor"),
        "{all}"
    );
}

#[test]
fn datapools_are_mounted_the_platform_way() {
    let case = Case::new();
    let market = case.path().join("market");
    std::fs::create_dir(&market).unwrap();
    std::fs::write(market.join("prices.csv"), "a,b\n1,2\n").unwrap();
    let other = case.path().join("other");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("prices.csv"), "from the command line\n").unwrap();
    let extra = case.path().join("extra");
    std::fs::create_dir(&extra).unwrap();
    std::fs::write(extra.join("x.bin"), "x").unwrap();
    // A plain python service sees what the platform's runtime sees: $DATAPOOL_DIRECTORY/NAME.
    case.write(
        "pools.py",
        r#"import os

def run():
    root = os.environ["DATAPOOL_DIRECTORY"]
    pools = {}
    for name in sorted(os.listdir(root)):
        path = os.path.join(root, name)
        pools[name] = sorted(os.listdir(path))
    with open(os.path.join(root, "market", "prices.csv")) as f:
        first = f.readline().strip()
    return {"pools": pools, "first": first, "private": oct(os.stat(root).st_mode & 0o777)}
"#,
    );
    let wf_text = json!({
        "name": "pools",
        "datapools": { "market": "market" },
        "nodes": [
            { "id": "start", "type": "start" },
            { "id": "svc", "type": "service", "run": { "python": "pools.py" } },
            { "id": "end", "type": "end" }
        ],
        "edges": [ { "from": "start", "to": "svc" }, { "from": "svc", "to": "end" } ]
    });
    let wf = case.write("wf.json", &wf_text.to_string());
    let (code, all) = run_plain(&case, &wf, &[], &[]);
    assert_eq!(code, 0, "{all}");
    let r = node(&case.run_json(), "svc")["result"].clone();
    assert_eq!(r["pools"], json!({ "market": ["prices.csv"] }), "{r}");
    assert_eq!(r["first"], "a,b");
    assert_eq!(r["private"], "0o700");

    // `--datapool` adds pools and replaces the workflow's of the same name.
    let market_arg = format!("market={}", other.display());
    let extra_arg = format!("extra={}", extra.display());
    let (code, all) = run_plain(
        &case,
        &wf,
        &["--datapool", &market_arg, "--datapool", &extra_arg],
        &[],
    );
    assert_eq!(code, 0, "{all}");
    let r = node(&case.run_json(), "svc")["result"].clone();
    assert_eq!(
        r["pools"],
        json!({ "extra": ["x.bin"], "market": ["prices.csv"] }),
        "{r}"
    );
    assert_eq!(r["first"], "from the command line");

    // A `$DATAPOOL_DIRECTORY` wfop inherits is a folder of pools too (the platform's mount
    // point), below the workflow's and the command line's.
    let mount = case.path().join("mount");
    std::fs::create_dir_all(mount.join("archive")).unwrap();
    std::fs::create_dir_all(mount.join("market")).unwrap();
    std::fs::write(mount.join("archive/old.csv"), "x").unwrap();
    std::fs::write(mount.join("market/prices.csv"), "from the environment\n").unwrap();
    let (code, all) = run_plain(
        &case,
        &wf,
        &[],
        &[("DATAPOOL_DIRECTORY", mount.to_str().unwrap())],
    );
    assert_eq!(code, 0, "{all}");
    let r = node(&case.run_json(), "svc")["result"].clone();
    assert_eq!(
        r["pools"],
        json!({ "archive": ["old.csv"], "market": ["prices.csv"] }),
        "{r}"
    );
    assert_eq!(r["first"], "a,b", "the workflow's `market` wins: {r}");

    // A folder that is not there is refused before anything runs.
    let missing = case.path().join("nope");
    let bad = format!("market={}", missing.display());
    let (code, all) = run_plain(&case, &wf, &["--datapool", &bad], &[]);
    assert_eq!(code, 2, "{all}");
    assert!(
        all.contains(&format!(
            "wfop: data pool `market`: {} is not a folder",
            missing.display()
        )),
        "{all}"
    );
    let (code, all) = run_plain(&case, &wf, &["--datapool", "market"], &[]);
    assert_eq!(code, 2, "{all}");
    assert!(all.contains("write NAME=DIR"), "{all}");
}

/// The real runtime (qhub-commons in a venv) binds a `DataPool` parameter from the folder wfop
/// mounts, and an absent `Optional[DataPool]` is `None`, as on the platform.
#[test]
fn the_real_runtime_reads_a_mounted_datapool() {
    let Some(venv) = venv(&[QHUB_COMMONS]) else {
        return;
    };
    let case = Case::new();
    let market = case.path().join("market");
    std::fs::create_dir(&market).unwrap();
    std::fs::write(market.join("prices.csv"), "a,b\n1,2\n").unwrap();
    let project = case.path().join("svc");
    std::fs::create_dir_all(project.join("src")).unwrap();
    std::fs::write(project.join("src/__init__.py"), "").unwrap();
    std::fs::write(
        project.join("src/program.py"),
        r#"from typing import Optional

from qhub.commons.datapool import DataPool


def run(market: DataPool, archive: Optional[DataPool] = None) -> dict:
    with market.open("prices.csv") as f:
        header = f.readline().strip()
    return {
        "name": market.name,
        "files": sorted(market.list_files()),
        "header": header,
        "archive": archive,
    }
"#,
    )
    .unwrap();
    let wf_text = json!({
        "name": "pools",
        "datapools": { "market": "market" },
        "nodes": [
            { "id": "start", "type": "start" },
            { "id": "svc", "type": "service", "run": {
                "project": "svc",
                "interpreter": venv.join("bin/python")
            } },
            { "id": "end", "type": "end" }
        ],
        "edges": [ { "from": "start", "to": "svc" }, { "from": "svc", "to": "end" } ]
    });
    let wf = case.write("wf.json", &wf_text.to_string());
    let (code, all) = run_plain(&case, &wf, &[], &[]);
    assert_eq!(code, 0, "{all}");
    assert!(all.contains("handing over to qhub.commons"), "{all}");
    let r = node(&case.run_json(), "svc")["result"].clone();
    assert_eq!(
        r,
        json!({ "name": "market", "files": ["prices.csv"], "header": "a,b", "archive": null })
    );
}

#[test]
fn the_bundled_platform_project_example_runs() {
    let case = Case::new();
    let wf = root().join("workflows/platform-project.json");
    let input = root().join("workflows/platform-project.input.json");
    let out = case.wfop(
        &[
            "run",
            wf.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
            "--plain",
        ],
        &[],
    );
    let all = format!("{}\n{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(
        all.contains("[price_stats] price-stats: 2 symbols from data pool 'market', window 60"),
        "{all}"
    );
    let run = case.run_json();
    let stats = &run["variables"]["statistics"];
    for sym in ["AURA", "CYAN"] {
        let s = &stats[sym];
        assert!(s["last"].as_f64().is_some_and(|v| v > 0.0), "{stats}");
        assert!(
            s["annual_volatility"].as_f64().is_some_and(|v| v > 0.0),
            "{stats}"
        );
    }
    assert_eq!(
        run["variables"]["computed_with"],
        json!({ "window": 60, "datapool": "market" })
    );
    let (code, all) = check(&wf);
    assert_eq!(code, 0, "{all}");
}

/// A project service exported to BPMN keeps its `run` in the binding file, and the bound BPMN
/// runs it (the binding file takes `project` and `entrypoint`); the data pools it cannot carry
/// are named on stderr.
#[test]
fn a_project_service_survives_export_to_bpmn() {
    let case = Case::new();
    let market = case.path().join("market");
    std::fs::create_dir(&market).unwrap();
    let wf_text = json!({
        "name": "exported",
        "datapools": { "market": "market" },
        "inputs": { "data": {}, "params": {} },
        "nodes": [
            { "id": "start", "type": "start" },
            { "id": "stats", "type": "service",
              "run": { "project": starter(), "entrypoint": "src.program:run" },
              "input_mapping": [
                { "name": "data", "value": "data" },
                { "name": "params", "value": "params" }
              ] },
            { "id": "end", "type": "end" }
        ],
        "edges": [ { "from": "start", "to": "stats" }, { "from": "stats", "to": "end" } ]
    });
    let wf = case.write("wf.json", &wf_text.to_string());
    let services = case.path().join("flow.services.json");
    let out = Command::new(env!("CARGO_BIN_EXE_wfop"))
        .args(["export", "--bpmn"])
        .arg(&wf)
        .arg("--services")
        .arg(&services)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("data pools (`market`) are not in the BPMN"),
        "{}",
        text(&out.stderr)
    );
    let bpmn = case.path().join("flow.bpmn");
    std::fs::write(&bpmn, &out.stdout).unwrap();
    let binding = std::fs::read_to_string(&services).unwrap();
    assert!(
        binding.contains("\"project\"") && binding.contains("\"entrypoint\""),
        "{binding}"
    );
    let (code, all) = run_plain(&case, &bpmn, &[], &[]);
    assert_eq!(code, 0, "{all}");
    assert!(all.contains("[stats] starter: 3 values, scale 10"), "{all}");
}
