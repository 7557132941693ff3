use super::*;

fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let p = dir.path().join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    dir
}

const TEMPLATE: &str = r#"{
  "name": "my-service",
  "descriptionFile": "README.md",
  "resources": { "cpu": 0.5, "memory": 1 },
  "runtime": "PYTHON_TEMPLATE"
}
"#;

#[test]
fn the_platforms_descriptor_names_no_entrypoint() {
    let p = project(&[("planqk.json", TEMPLATE)]);
    let (d, findings) = read_descriptor(p.path());
    let d = d.unwrap();
    assert!(findings.is_none());
    assert_eq!(d.file, p.path().join("planqk.json"));
    assert_eq!(d.entrypoint, None);
    assert_eq!(d.runtime.as_deref(), Some("PYTHON_TEMPLATE"));
    assert_eq!(
        entrypoint(None, None, Some(&d)),
        (DEFAULT_ENTRYPOINT.to_string(), EntrySource::Default)
    );
    // No descriptor at all: the same default.
    let none = project(&[]);
    let (d, findings) = read_descriptor(none.path());
    assert!(d.is_none() && findings.is_none());
}

#[test]
fn qhub_json_comes_before_planqk_json() {
    let p = project(&[
        ("planqk.json", r#"{"entrypoint": "src.old:run"}"#),
        ("qhub.json", r#"{"entrypoint": "src.new:main"}"#),
    ]);
    let (d, _) = read_descriptor(p.path());
    let d = d.unwrap();
    assert_eq!(d.entrypoint.as_deref(), Some("src.new:main"));
    assert_eq!(
        entrypoint(None, None, Some(&d)),
        (
            "src.new:main".to_string(),
            EntrySource::Descriptor("qhub.json".into())
        )
    );
}

#[test]
fn the_node_then_env_then_descriptor_then_default() {
    let d = Descriptor {
        file: "p/qhub.json".into(),
        entrypoint: Some("src.d:run".into()),
        runtime: None,
    };
    assert_eq!(
        entrypoint(Some("src.w:run"), Some("src.e:run"), Some(&d)).1,
        EntrySource::Workflow
    );
    assert_eq!(
        entrypoint(None, Some("src.e:run"), Some(&d)),
        ("src.e:run".to_string(), EntrySource::Env)
    );
    // `$ENTRYPOINT` that is not one is passed over.
    assert_eq!(entrypoint(None, Some("nonsense"), Some(&d)).0, "src.d:run");
    assert_eq!(entrypoint(None, None, None).0, DEFAULT_ENTRYPOINT);
}

#[test]
fn descriptor_findings_have_their_place() {
    let p = project(&[("qhub.json", "{\n  \"name\": \"x\",\n  \"name2\": \n}\n")]);
    let (d, findings) = read_descriptor(p.path());
    assert_eq!(d, None);
    let (source, diags) = findings.unwrap();
    assert_eq!(source.path, p.path().join("qhub.json"));
    assert_eq!(diags.len(), 1);
    assert!(diags[0].message.starts_with("invalid JSON"), "{diags:?}");
    let (line, _) = crate::diag::line_col(&source.text, diags[0].primary.0.start);
    assert_eq!(line, 4);

    let p = project(&[(
        "planqk.json",
        "{ \"runtime\": \"DOCKER\", \"entrypoint\": \"src/program.py\" }",
    )]);
    let (d, findings) = read_descriptor(p.path());
    let d = d.unwrap();
    assert_eq!(d.entrypoint, None);
    assert_eq!(d.runtime.as_deref(), Some(DOCKER));
    let (source, diags) = findings.unwrap();
    let at: Vec<&str> = diags
        .iter()
        .map(|d| &source.text[d.primary.0.clone()])
        .collect();
    assert_eq!(at, ["\"src/program.py\"", "\"DOCKER\""]);
    assert!(diags.iter().all(|d| d.is_error()));
    assert!(diags[1].message.contains("Docker"), "{diags:?}");

    let p = project(&[("planqk.json", "[1]")]);
    let (_, findings) = read_descriptor(p.path());
    assert!(findings.unwrap().1[0].message.contains("JSON object"));
}

#[test]
fn the_module_file_is_found_as_python_imports_it() {
    let p = project(&[
        ("src/__init__.py", ""),
        ("src/program.py", "def run(): pass\n"),
        ("pkg/sub/__init__.py", ""),
    ]);
    assert_eq!(
        module_file(p.path(), "src.program"),
        Some(p.path().join("src/program.py"))
    );
    assert_eq!(
        module_file(p.path(), "pkg.sub"),
        Some(p.path().join("pkg/sub/__init__.py"))
    );
    assert_eq!(module_file(p.path(), "src.missing"), None);
    assert_eq!(
        module_candidates("src.program"),
        ("src/program.py".into(), "src/program/__init__.py".into())
    );
}

#[test]
fn requirements_txt_comes_first_and_the_key_follows_its_text() {
    let a = project(&[
        ("requirements.txt", "numpy>=2\n"),
        ("pyproject.toml", "[project]\n"),
    ]);
    let b = project(&[("requirements.txt", "numpy>=2\n")]);
    let c = project(&[("requirements.txt", "numpy>=2.1\n")]);
    let none = project(&[]);
    let ra = Requirements::of(a.path());
    assert_eq!(ra, Requirements::Txt(a.path().join("requirements.txt")));
    let key = ra.venv_key().unwrap();
    assert_eq!(key.len(), 20);
    assert!(key.chars().all(|c| c.is_ascii_hexdigit()));
    // The same requirements share a key, whichever project has them.
    assert_eq!(Requirements::of(b.path()).venv_key().unwrap(), key);
    assert_ne!(Requirements::of(c.path()).venv_key().unwrap(), key);
    assert_eq!(Requirements::of(none.path()), Requirements::None);
    assert_ne!(Requirements::None.venv_key().unwrap(), key);
    let toml = project(&[("pyproject.toml", "[project]\n")]);
    assert_eq!(
        Requirements::of(toml.path()).file_name(),
        Some("pyproject.toml")
    );
}

#[test]
fn pyproject_dependencies_are_the_project_tables() {
    let text = "[project]\nname = \"x\"\ndependencies = [\"numpy>=2\", \"pydantic\"]\n\n[dependency-groups]\ndev = [\"pytest\"]\n";
    assert_eq!(
        pyproject_dependencies(text).unwrap(),
        ["numpy>=2", "pydantic"]
    );
    assert_eq!(
        pyproject_dependencies("[tool.x]\n").unwrap(),
        Vec::<String>::new()
    );
    assert!(pyproject_dependencies("[project]\ndependencies = \"numpy\"\n").is_err());
    assert!(pyproject_dependencies("[project\n").is_err());
}

#[test]
fn launch_uses_a_prepared_virtualenv_and_says_so() {
    let p = project(&[
        ("planqk.json", TEMPLATE),
        ("requirements.txt", "numpy\n"),
        ("src/program.py", ""),
    ]);
    let state = tempfile::tempdir().unwrap();
    let wf = Path::new("flow.json");
    let cx = LaunchCtx {
        base_dir: p.path(),
        state_dir: Some(state.path()),
        workflow: wf,
        env_entrypoint: None,
    };
    let l = launch(&cx, Path::new("."), None, None);
    assert_eq!(l.interpreter, PathBuf::from("python3"));
    assert_eq!(l.entrypoint, DEFAULT_ENTRYPOINT);
    assert!(
        l.notes[0].ends_with("(entrypoint src.program:run, from the platform's default)"),
        "{:?}",
        l.notes
    );
    let w = l.warning.unwrap();
    assert!(
        w.contains("requirements.txt is not installed") && w.contains("wfop prepare flow.json"),
        "{w}"
    );
    // Prepared: the virtualenv's python, once its ready file is there.
    let key = Requirements::of(p.path()).venv_key().unwrap();
    let venv = venvs_dir(state.path()).join(&key);
    std::fs::create_dir_all(venv.join("bin")).unwrap();
    std::fs::write(venv.join("bin/python"), "").unwrap();
    // Not complete without its ready file.
    assert!(launch(&cx, Path::new("."), None, None).warning.is_some());
    std::fs::write(venv.join(READY_FILE), "{}").unwrap();
    let l = launch(&cx, Path::new("."), Some("src.other:go"), None);
    assert_eq!(l.interpreter, venv.join("bin/python"));
    assert_eq!(l.entrypoint, "src.other:go");
    assert_eq!(l.warning, None);
    assert!(l.notes[1].contains("prepared by `wfop prepare` for requirements.txt"));
    // The node's interpreter wins over everything.
    let l = launch(&cx, Path::new("."), None, Some("/opt/py/bin/python"));
    assert_eq!(l.interpreter, PathBuf::from("/opt/py/bin/python"));
    assert_eq!(l.warning, None);
    // A relative path is the workflow folder's, a bare name PATH's.
    let l = launch(&cx, Path::new("."), None, Some(".venv/bin/python"));
    assert_eq!(l.interpreter, p.path().join(".venv/bin/python"));
    let l = launch(&cx, Path::new("."), None, Some("python3.12"));
    assert_eq!(l.interpreter, PathBuf::from("python3.12"));
}

#[test]
fn requirements_of_comments_only_ask_for_nothing() {
    let p = project(&[("requirements.txt", "# nothing\n\n  # really\n")]);
    assert!(!Requirements::of(p.path()).any());
    let p = project(&[("requirements.txt", "# numpy\nnumpy\n")]);
    assert!(Requirements::of(p.path()).any());
    let p = project(&[("pyproject.toml", "[project]\nname = \"x\"\n")]);
    assert!(!Requirements::of(p.path()).any());
    let p = project(&[("pyproject.toml", "[project]\ndependencies = [\"numpy\"]\n")]);
    assert!(Requirements::of(p.path()).any());
    assert!(!Requirements::None.any());
    let cx = LaunchCtx {
        base_dir: p.path(),
        state_dir: None,
        workflow: Path::new("w.json"),
        env_entrypoint: None,
    };
    assert!(launch(&cx, Path::new("."), None, None).warning.is_some());
    let empty = project(&[("requirements.txt", "# stdlib only\n")]);
    let cx = LaunchCtx {
        base_dir: empty.path(),
        ..cx
    };
    assert_eq!(launch(&cx, Path::new("."), None, None).warning, None);
}

#[test]
fn a_project_without_requirements_runs_with_python3_quietly() {
    let p = project(&[("src/program.py", "")]);
    let cx = LaunchCtx {
        base_dir: p.path(),
        state_dir: None,
        workflow: Path::new("w.json"),
        env_entrypoint: Some("src.program:main"),
    };
    let l = launch(&cx, Path::new("."), None, None);
    assert_eq!(l.interpreter, PathBuf::from("python3"));
    assert_eq!(l.entrypoint, "src.program:main");
    assert_eq!(l.warning, None);
    assert!(l.notes[0].contains("from $ENTRYPOINT"), "{:?}", l.notes);
}
