//! `wfop prepare FILE`: one virtualenv per project requirements under `<state>/venvs/<key>`,
//! made with `python3 -m venv` and pip (the requirements and qhub-commons), used by `wfop run`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::workflow::project::{
    QHUB_COMMONS, READY_FILE, Requirements, pyproject_dependencies, venvs_dir,
};
use crate::workflow::{Run, Workflow};

/// How to prepare.
#[derive(Debug, Clone)]
pub struct Options {
    /// `<state>`: virtualenvs go to `<state>/venvs/`.
    pub state_dir: PathBuf,
    /// The interpreter the virtualenvs are made from (`python3`).
    pub python: String,
    /// Make them again even when they are there.
    pub force: bool,
    /// The workflow file as the user named it (for the messages' `wfop prepare FILE`).
    pub workflow: PathBuf,
}

/// One virtualenv to make: the projects that share its requirements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub key: String,
    pub requirements: Requirements,
    /// The projects (folders as written in the workflow) and their nodes.
    pub projects: Vec<(PathBuf, Vec<String>)>,
}

/// What the workflow's project services need: the virtualenvs by key, and the nodes that name
/// their own `interpreter` (not prepared). A project whose requirements cannot be read is an
/// error line.
pub fn plan(wf: &Workflow) -> (Vec<Plan>, Vec<String>, Vec<String>) {
    let mut plans: BTreeMap<String, Plan> = BTreeMap::new();
    let mut own = Vec::new();
    let mut errors = Vec::new();
    for node in &wf.nodes {
        let Some(Run::Project {
            dir, interpreter, ..
        }) = &node.run
        else {
            continue;
        };
        if interpreter.is_some() {
            own.push(node.id.clone());
            continue;
        }
        let root = wf.base_dir.join(dir);
        let requirements = Requirements::of(&root);
        let key = match requirements.venv_key() {
            Ok(k) => k,
            Err(e) => {
                errors.push(format!(
                    "project `{}`: cannot read its {}: {e}",
                    dir.display(),
                    requirements.file_name().unwrap_or("requirements")
                ));
                continue;
            }
        };
        let plan = plans.entry(key.clone()).or_insert_with(|| Plan {
            key,
            requirements,
            projects: Vec::new(),
        });
        match plan.projects.iter_mut().find(|(d, _)| d == dir) {
            Some((_, nodes)) => nodes.push(node.id.clone()),
            None => plan.projects.push((dir.clone(), vec![node.id.clone()])),
        }
    }
    (plans.into_values().collect(), own, errors)
}

/// Prepares every project of the workflow, printing progress and pip's output to `out` (stderr
/// for the command line). Returns how many virtualenvs could not be made.
pub fn prepare(wf: &Workflow, opts: &Options, out: &mut (dyn Write + Send)) -> usize {
    let (plans, own, errors) = plan(wf);
    for id in &own {
        let _ = writeln!(
            out,
            "wfop: node `{id}` names its own `interpreter`; it is used as it is (not prepared)"
        );
    }
    for e in &errors {
        let _ = writeln!(out, "wfop: {e}");
    }
    if plans.is_empty() && errors.is_empty() {
        let _ = writeln!(
            out,
            "wfop: {} has no `project` service without an `interpreter`; nothing to prepare",
            opts.workflow.display()
        );
        return 0;
    }
    let mut failed = errors.len();
    for p in &plans {
        if let Err(e) = prepare_one(p, wf, opts, out) {
            let _ = writeln!(out, "wfop: {e}");
            failed += 1;
        }
    }
    failed
}

/// The projects of a plan, as the messages name them.
fn names(p: &Plan) -> String {
    let names: Vec<String> = p
        .projects
        .iter()
        .map(|(d, _)| format!("`{}`", d.display()))
        .collect();
    names.join(", ")
}

/// What is installed, as the messages say it.
fn what(p: &Plan) -> String {
    match p.requirements.file_name() {
        Some(f) => format!("its {f} and {QHUB_COMMONS}"),
        None => QHUB_COMMONS.to_string(),
    }
}

fn prepare_one(
    p: &Plan,
    wf: &Workflow,
    opts: &Options,
    out: &mut (dyn Write + Send),
) -> Result<(), String> {
    let base = venvs_dir(&opts.state_dir);
    std::fs::create_dir_all(&base).map_err(|e| format!("cannot create {}: {e}", base.display()))?;
    let venv = base.join(&p.key);
    let lock_path = base.join(format!("{}.lock", p.key));
    let lock = std::fs::File::create(&lock_path)
        .map_err(|e| format!("cannot create {}: {e}", lock_path.display()))?;
    // Held until this returns: a second `wfop prepare` of the same requirements waits.
    rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockExclusive)
        .map_err(|e| format!("cannot lock {}: {e}", lock_path.display()))?;
    let projects = names(p);
    if venv.join(READY_FILE).is_file() && !opts.force {
        let _ = writeln!(
            out,
            "wfop: project {projects}: prepared already ({})",
            venv.display()
        );
        return Ok(());
    }
    if venv.exists() {
        std::fs::remove_dir_all(&venv)
            .map_err(|e| format!("cannot remove the old {}: {e}", venv.display()))?;
    }
    let _ = writeln!(
        out,
        "wfop: project {projects}: making {} with {}",
        venv.display(),
        what(p)
    );
    let made = Command::new(&opts.python)
        .args(["-m", "venv"])
        .arg(&venv)
        .stdin(Stdio::null())
        .output();
    match made {
        Ok(o) if o.status.success() => {}
        Ok(o) => {
            let _ = std::fs::remove_dir_all(&venv);
            return Err(format!(
                "cannot prepare project {projects}: `{} -m venv` failed ({}): {}\nMissing: Python's venv module (e.g. `apt install python3-venv`); then run `wfop prepare {}` again",
                opts.python,
                o.status,
                String::from_utf8_lossy(&o.stderr).trim(),
                opts.workflow.display()
            ));
        }
        Err(e) => {
            return Err(format!(
                "cannot prepare project {projects}: cannot run `{}`: {e}\nMissing: a Python 3 interpreter; install one (or pass --python PATH), then run `wfop prepare {}` again",
                opts.python,
                opts.workflow.display()
            ));
        }
    }
    let python = venv.join("bin/python");
    let mut pip = Command::new(&python);
    pip.args(["-m", "pip", "install", "--disable-pip-version-check"]);
    match &p.requirements {
        Requirements::Txt(path) => {
            // pip resolves `-r other.txt` inside it against its folder: the project's.
            pip.arg("-r").arg(path);
        }
        Requirements::Pyproject(path) => {
            let deps = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))
                .and_then(|t| {
                    pyproject_dependencies(&t).map_err(|e| format!("{}: {e}", path.display()))
                });
            match deps {
                Ok(d) => pip.args(d),
                Err(e) => {
                    // Not left half-made: without its ready file it would only be in the way.
                    let _ = std::fs::remove_dir_all(&venv);
                    return Err(format!("cannot prepare project {projects}: {e}"));
                }
            };
        }
        Requirements::None => {}
    }
    pip.arg(QHUB_COMMONS);
    if let Some((dir, _)) = p.projects.first() {
        pip.current_dir(wf.base_dir.join(dir));
    }
    let (status, tail) =
        run_echoing(pip, out).map_err(|e| format!("cannot run pip in {}: {e}", venv.display()))?;
    if !status.success() {
        let _ = std::fs::remove_dir_all(&venv);
        let offline = tail.iter().any(|l| looks_offline(l));
        let why = if offline {
            "pip could not reach a package index (offline?)".to_string()
        } else {
            format!("pip failed ({status}; its messages are above)")
        };
        return Err(format!(
            "cannot prepare project {projects}: {why}.\nMissing: {} in a virtualenv ({}).\nFix: {}then run `wfop prepare {}` again. Until then `wfop run` runs the project with `python3` (wfop's built-in runtime, without its requirements).",
            what(p),
            venv.display(),
            if offline {
                "connect to the network, or point pip at a reachable index (PIP_INDEX_URL=URL) or at a folder of wheels (PIP_NO_INDEX=1 PIP_FIND_LINKS=DIR); "
            } else {
                "correct the requirements; "
            },
            opts.workflow.display()
        ));
    }
    let version = Command::new(&python)
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let ready = serde_json::json!({
        "requirements": p.requirements.file_name(),
        "projects": p.projects.iter().map(|(d, _)| wf.base_dir.join(d)).collect::<Vec<_>>(),
        "runtime": QHUB_COMMONS,
        "python": version,
    });
    std::fs::write(
        venv.join(READY_FILE),
        serde_json::to_string_pretty(&ready).unwrap_or_default() + "\n",
    )
    .map_err(|e| format!("cannot write {}: {e}", venv.join(READY_FILE).display()))?;
    let _ = writeln!(
        out,
        "wfop: project {projects}: ready ({}, {version})",
        python.display()
    );
    Ok(())
}

/// Lines of pip's that mean no package index could be reached.
fn looks_offline(line: &str) -> bool {
    const SIGNS: &[&str] = &[
        "Failed to establish a new connection",
        "Temporary failure in name resolution",
        "Network is unreachable",
        "No matching distribution found",
        "Could not find a version that satisfies",
        "ConnectionError",
        "Connection refused",
        "Read timed out",
    ];
    SIGNS.iter().any(|s| line.contains(s))
}

/// Runs `cmd`, copying its stdout and stderr to `out` line by line; returns how it ended and
/// its last lines.
fn run_echoing(
    mut cmd: Command,
    out: &mut (dyn Write + Send),
) -> std::io::Result<(std::process::ExitStatus, Vec<String>)> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn()?;
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let readers: Vec<_> = [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
    ]
    .into_iter()
    .flatten()
    .map(|pipe| {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).split(b'\n').map_while(Result::ok) {
                if tx
                    .send(String::from_utf8_lossy(&line).into_owned())
                    .is_err()
                {
                    break;
                }
            }
        })
    })
    .collect();
    drop(tx);
    let mut tail: std::collections::VecDeque<String> = std::collections::VecDeque::new();
    for line in rx {
        let _ = writeln!(out, "  {}", crate::safe::text(&line));
        tail.push_back(line);
        if tail.len() > 40 {
            tail.pop_front();
        }
    }
    for r in readers {
        let _ = r.join();
    }
    let status = child.wait()?;
    Ok((status, tail.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offline_signs_are_pips_network_messages() {
        assert!(looks_offline(
            "ERROR: No matching distribution found for qhub-commons<1.3,>=1.2"
        ));
        assert!(looks_offline(
            "  WARNING: Retrying ... Failed to establish a new connection: [Errno -3] Temporary failure in name resolution"
        ));
        assert!(!looks_offline("ERROR: Invalid requirement: 'numpy=='"));
    }
}
