//! The one start path of `wfop run` for both front ends: the `RunRequest` main builds from the
//! command line, preparing it (the engine's typed errors and warnings rendered here), its options.

use std::path::{Path, PathBuf};

use crate::diag;
use crate::engine::setup::{self, FileDiagnostics, PrepareError, Prepared, Warning};
use crate::engine::{RunOptions, record, reuse};
use crate::safe;
use crate::secrets::SecretArg;
use crate::secrets::store::nth;
use crate::workflow::LoadOptions;

/// Exit code when nothing was run: invalid input or usage.
pub const EXIT_INVALID: i32 = 2;

/// What `wfop run` was asked to run, whatever the front end. Built once by main; a rerun in the
/// TUI reads the same sources again from it. It names where each secret is, never a value.
#[derive(Debug, Clone)]
pub struct RunRequest {
    /// The workflow file.
    pub workflow: PathBuf,
    /// `--process`, `--services` (BPMN workflows).
    pub load: LoadOptions,
    /// `--input F.json`.
    pub input: Option<PathBuf>,
    /// The `--secret` sources, parsed once (never a value): each (re)run reads them again.
    pub secrets: Vec<SecretArg>,
    /// `--max-parallel N` (default: the number of CPUs).
    pub max_parallel: Option<usize>,
    pub keep_going: bool,
    /// `--grace DURATION`: between SIGTERM and SIGKILL (default: the engine's).
    pub grace: Option<std::time::Duration>,
    /// `--tty`: every local service on a pseudo-terminal.
    pub tty: bool,
    /// `--state-dir DIR` (default: `record::default_state_dir`).
    pub state_dir: Option<PathBuf>,
    /// `--datapool NAME=DIR`, checked (the folders exist).
    pub datapools: Vec<crate::engine::datapool::Pool>,
    /// Colour for diagnostics on stderr.
    pub color: bool,
    /// `--from NODE [--reuse RUN]`: rerun from a node, reusing a finished run's outputs.
    pub rerun: Option<Rerun>,
    /// `--executor` and its settings (engine/executor/).
    pub executor: crate::engine::executor::ExecutorOptions,
}

/// `--from NODE --reuse RUN` (engine/reuse.rs): RUN is a run id (a unique prefix, `last`) or
/// a record folder; without it, the latest finished run of the same workflow.
#[derive(Debug, Clone, PartialEq)]
pub struct Rerun {
    pub from: String,
    pub reuse: Option<String>,
}

/// Which front end shows the run.
pub enum Front {
    Tui(Box<super::tui::TuiOptions>),
    Lines(super::plain::Mode),
    /// `--detach`: the run goes to a run host; print its id (as JSON with `true`).
    Detach {
        json: bool,
    },
}

/// A request ready to run once its missing secrets are supplied.
#[derive(Debug)]
pub struct Started {
    pub prepared: Prepared,
    /// Where the record goes (`<state>/runs/<run-id>/`).
    pub state_dir: PathBuf,
    /// The warnings, rendered for stderr (empty when none): the line front end prints them at
    /// once, the TUI after its screen has closed.
    pub warnings: String,
}

/// `wfop run`, start to end, in the front end asked for; returns the exit code (0, 1, 2, or
/// 128 + signal).
pub fn run(request: RunRequest, front: Front) -> i32 {
    match front {
        Front::Tui(options) => super::tui::run(request, *options),
        Front::Lines(mode) => super::plain::run(request, mode),
        Front::Detach { json } => super::remote::detach(request, json),
    }
}

/// Hardens the process before any secret is read (no core dumps, no ptrace); a failure is
/// only a warning.
pub fn harden() {
    if let Err(e) = crate::secrets::harden::harden_process() {
        eprintln!(
            "wfop: warning: cannot harden the process (core dumps, ptrace): {}",
            safe::text(&e.to_string())
        );
    }
}

impl RunRequest {
    /// The first start, the same for both front ends: loads the workflow, the input and the
    /// secret sources and finds the state folder. On an error, prints it (diagnostics with
    /// their masked excerpts, then a `wfop: …` line) and returns the exit code, 2.
    pub fn start(&self) -> Result<Started, i32> {
        self.try_start().map_err(|text| {
            eprintln!("{}", safe::styled(&text));
            EXIT_INVALID
        })
    }

    fn try_start(&self) -> Result<Started, String> {
        let mut prepared = self.prepare().map_err(|e| report(&e, self.color))?;
        let state_dir = self.state_dir()?;
        // Before any secret is asked for: a run on Slurm needs its commands and a remote work
        // folder (the engine checks again when the run starts).
        if self.executor.uses_slurm(&prepared.workflow) {
            crate::engine::executor::slurm::check(&self.executor, &prepared.workflow, &state_dir)
                .map_err(|e| format!("wfop: {e}"))?;
        }
        if let Some(r) = &self.rerun {
            let dir = reuse::find(&state_dir, &prepared.workflow, r.reuse.as_deref())
                .map_err(|e| format!("wfop: {e}"))?;
            self.plan_rerun(&mut prepared, &dir, &r.from)?;
        }
        let warnings = warnings(&prepared.warnings, self.color);
        Ok(Started {
            prepared,
            state_dir,
            warnings,
        })
    }

    /// Reads the workflow, the input and the secret sources (the parsed `--secret` arguments).
    pub fn prepare(&self) -> Result<Prepared, PrepareError> {
        setup::prepare_with(
            &self.workflow,
            &self.load,
            self.input.as_deref(),
            &self.secrets,
        )
    }

    /// `--state-dir`, else the default; an error as a `wfop: …` line.
    pub fn state_dir(&self) -> Result<PathBuf, String> {
        self.state_dir
            .clone()
            .map_or_else(record::default_state_dir, Ok)
            .map_err(|e| format!("wfop: {e}"))
    }

    /// For a rerun (TUI): the same sources read again, not parsed again; an error as the one
    /// line a status line shows, never a source excerpt. A request with `--from` reruns from
    /// its node again (the run it reuses found again: without `--reuse`, the latest).
    pub fn prepare_again(&self) -> Result<Prepared, String> {
        let mut prepared = self.prepare().map_err(|e| one_line(&e))?;
        if let Some(r) = &self.rerun {
            let state_dir = self.state_dir()?;
            let dir = reuse::find(&state_dir, &prepared.workflow, r.reuse.as_deref())
                .map_err(|e| format!("wfop: {e}"))?;
            self.plan_rerun(&mut prepared, &dir, &r.from)?;
        }
        Ok(prepared)
    }

    /// The TUI's `F`: the sources read again, as a rerun from node `from` reusing the run
    /// recorded in `record`; an error as one line.
    pub fn prepare_rerun_from(&self, from: &str, record: &Path) -> Result<Prepared, String> {
        let mut prepared = self.prepare().map_err(|e| one_line(&e))?;
        self.plan_rerun(&mut prepared, record, from)?;
        Ok(prepared)
    }

    /// Plans the rerun against the reused run's record (engine/reuse.rs); only the secrets of
    /// the nodes that run stay missing.
    fn plan_rerun(&self, prepared: &mut Prepared, record: &Path, from: &str) -> Result<(), String> {
        let plan =
            reuse::plan(&prepared.workflow, record, from).map_err(|e| format!("wfop: {e}"))?;
        prepared.rerun(plan);
        Ok(())
    }

    /// The engine's options for a run whose record goes under `state_dir`.
    pub fn options(&self, state_dir: PathBuf) -> RunOptions {
        let mut options = RunOptions::new(state_dir);
        if let Some(n) = self.max_parallel {
            options.max_parallel = n.max(1);
        }
        options.keep_going = self.keep_going;
        if let Some(g) = self.grace {
            options.kill_grace = g;
        }
        options.tty = self.tty;
        options.datapools = self.datapools.clone();
        options.load = self.load.clone();
        options.executor = self.executor.clone();
        options
    }

    /// The engine's options for `prepared` (with its rerun plan, if it is one).
    pub fn options_for(&self, state_dir: PathBuf, prepared: &Prepared) -> RunOptions {
        let mut options = self.options(state_dir);
        options.reuse = prepared.reuse.clone();
        options
    }
}

/// A file's findings with `file:line:col`, the source line (masked as the file says) and a
/// marker.
fn render(file: &FileDiagnostics, color: bool) -> String {
    let mut out = diag::render(&file.source, &file.diagnostics, color);
    for (source, diagnostics) in &file.related {
        out.push_str(&diag::render(source, diagnostics, color));
    }
    out
}

/// The text to print for an error: rendered diagnostics and their summary line, anything else
/// as a `wfop: …` line.
pub fn report(e: &PrepareError, color: bool) -> String {
    match e.diagnostics() {
        Some(file) => format!("{}wfop: {e}", render(file, color)),
        None => format!("wfop: {e}"),
    }
}

/// One line for a status bar: never a source excerpt.
pub fn one_line(e: &PrepareError) -> String {
    format!("wfop: {e}")
}

/// The warnings, in order, as text for stderr.
pub fn warnings(warnings: &[Warning], color: bool) -> String {
    let mut out = String::new();
    for w in warnings {
        match w {
            Warning::Workflow(file) => out.push_str(&render(file, color)),
            Warning::SecretOverridden { name, flag } => out.push_str(&format!(
                "wfop: warning: secret `{name}`: the {} --secret overrides the input's `$secrets` entry\n",
                nth(*flag)
            )),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::engine::setup::tests::WF;

    fn request(dir: &std::path::Path, input: Option<&str>, secrets: &[String]) -> RunRequest {
        let wf = dir.join("wf.json");
        std::fs::write(&wf, WF).unwrap();
        let input = input.map(|text| {
            let p = dir.join("in.json");
            std::fs::write(&p, text).unwrap();
            p
        });
        RunRequest {
            workflow: wf,
            load: LoadOptions::default(),
            input,
            secrets: SecretArg::parse_all(secrets).unwrap(),
            max_parallel: None,
            keep_going: false,
            grace: None,
            tty: false,
            executor: Default::default(),
            state_dir: Some(dir.join("state")),
            datapools: Vec::new(),
            color: false,
            rerun: None,
        }
    }

    /// The TUI's rerun shows `one_line()` in its one status line: one line, no excerpt, no
    /// value; `report()` (the first start, stderr) has the masked excerpt.
    #[test]
    fn the_one_line_error_has_no_excerpt() {
        let dir = tempfile::tempdir().unwrap();
        let r = request(
            dir.path(),
            Some("{ \"$secrets\": { \"api\": hunter2-secret-value } }"),
            &[],
        );
        let e = r.prepare().unwrap_err();
        let line = one_line(&e);
        assert!(!line.contains('\n') && !line.contains('│'), "{line}");
        assert!(
            line.contains("in.json") && line.contains("1 error"),
            "{line}"
        );
        assert_eq!(r.prepare_again().unwrap_err(), line);
        let report = report(&e, false);
        assert!(
            report.contains("in.json:1:24") && report.contains("•••"),
            "{report}"
        );
        assert!(
            report.ends_with(&format!("\n{line}")),
            "the excerpt, then the same line: {report}"
        );
        assert!(
            !report.contains("hunter2") && !line.contains("hunter2"),
            "{report}"
        );
    }

    /// A rerun reads the sources again through the `--secret` arguments parsed once: a file
    /// changed between runs gives the new value, and the request holds no argument text.
    #[test]
    fn a_rerun_reads_the_parsed_secret_sources_again() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("api.txt");
        std::fs::write(&secret, "first-value").unwrap();
        let r = request(
            dir.path(),
            None,
            &[format!("api=file:{}", secret.display())],
        );
        assert_eq!(r.secrets.len(), 1);
        assert_eq!(r.secrets[0].at, 1);
        let first = r.start().unwrap();
        assert!(first.prepared.missing.is_empty());
        assert!(first.prepared.secrets.contains("api"));
        assert_eq!(first.state_dir, dir.path().join("state"));
        std::fs::write(&secret, "second-value").unwrap();
        let again = r.prepare_again().unwrap();
        let values: Vec<bool> = ["first-value", "second-value"]
            .iter()
            .map(|v| {
                again
                    .secrets
                    .iter()
                    .any(|(_, s)| crate::secrets::secret_equals(s, v))
            })
            .collect();
        assert_eq!(values, [false, true]);
        // Once the source is gone, the rerun says so in one line, naming the flag.
        std::fs::remove_file(&secret).unwrap();
        let e = r.prepare_again().unwrap_err();
        assert!(e.starts_with("wfop: ") && !e.contains('\n'), "{e}");
    }

    /// The warnings come in the engine's order: the workflow's own, then each overridden
    /// `$secrets` entry, by the flag's position.
    #[test]
    fn warnings_are_rendered_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("api.txt");
        std::fs::write(&secret, "from-file").unwrap();
        let r = request(
            dir.path(),
            Some("{ \"$secrets\": { \"api\": \"from-input\" } }"),
            &[format!("api=file:{}", secret.display())],
        );
        let started = r.start().unwrap();
        assert_eq!(
            started.warnings,
            "wfop: warning: secret `api`: the 1st --secret overrides the input's `$secrets` entry\n"
        );
        let file = FileDiagnostics {
            source: diag::SourceFile {
                path: "w.json".into(),
                name: "w.json".into(),
                text: "{}\n".into(),
                sensitivity: Default::default(),
            },
            diagnostics: vec![diag::Diagnostic::warning(0..1, "odd", "here")],
            related: Vec::new(),
        };
        let both = [
            Warning::Workflow(Box::new(file)),
            Warning::SecretOverridden {
                name: "api".into(),
                flag: 2,
            },
        ];
        let text = warnings(&both, false);
        let at = text.find("w.json:1:1").expect(&text);
        let over = text.find("the 2nd --secret").expect(&text);
        assert!(at < over, "{text}");
    }

    #[test]
    fn options_follow_the_request() {
        let dir = tempfile::tempdir().unwrap();
        let mut r = request(dir.path(), None, &[]);
        r.max_parallel = Some(0);
        r.keep_going = true;
        let o = r.options(dir.path().to_path_buf());
        assert_eq!(o.max_parallel, 1);
        assert!(o.keep_going);
        assert_eq!(o.state_dir, dir.path());
    }
}
