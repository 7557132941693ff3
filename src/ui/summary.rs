//! The summary of a run, written by one function for both front ends: how the run ended and a
//! row per node; the line front end prints it last, the TUI after its screen has closed.

use std::io::{self, Write};
use std::path::Path;
use std::time::Duration;

use crate::engine::{NodeOutcome, NodeSummary, RunStatus};
use crate::human::{self, Form};
use crate::safe;

/// What a summary says.
#[derive(Debug, Clone, Copy)]
pub struct Summary<'a> {
    /// The run's id and its workflow's name: the TUI says them here, the line front end said
    /// them when the run started.
    pub run: Option<(&'a str, &'a str)>,
    /// How the run ended; `None` when it did not.
    pub status: Option<RunStatus>,
    pub duration: Option<Duration>,
    pub nodes: &'a [NodeSummary],
    /// Where the record is (the TUI's last line; the line front end said it at the start).
    pub record: Option<&'a Path>,
    pub layout: Layout,
}

/// How the node rows look: the two front ends have always differed here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Line output: a header row, durations as `850ms` or `1.2s`, bare exit codes, `-` for none.
    Lines,
    /// After the TUI: no header row, durations as `0.9s`, `exit N`, nothing for none.
    Screen,
}

impl Layout {
    /// A node's duration.
    fn node_duration(self, ms: u64) -> String {
        match self {
            Layout::Lines => human::millis(ms, Form::Summary),
            Layout::Screen => human::millis(ms, Form::Seconds),
        }
    }

    /// The run's duration.
    fn run_duration(self, d: Duration) -> String {
        match self {
            Layout::Lines => human::duration(d, Form::Summary),
            Layout::Screen => human::duration(d, Form::Seconds),
        }
    }

    fn exit(self, code: Option<i32>, signal: Option<i32>) -> String {
        match (code, signal, self) {
            (Some(c), _, Layout::Lines) => c.to_string(),
            (Some(c), _, Layout::Screen) => format!("exit {c}"),
            (_, Some(s), _) => format!("signal {s}"),
            (None, None, Layout::Lines) => "-".into(),
            (None, None, Layout::Screen) => String::new(),
        }
    }

    /// Width of the duration column.
    fn duration_width(self) -> usize {
        match self {
            Layout::Lines => 9,
            Layout::Screen => 7,
        }
    }
}

/// Writes the summary: the headline, the node rows (a failed node's reason after its row) and,
/// when given, the record's path. Every name, reason and path goes through `safe`.
pub fn write(out: &mut impl Write, s: &Summary) -> io::Result<()> {
    let layout = s.layout;
    let what = match s.status {
        Some(RunStatus::Interrupted { signal }) => format!("interrupted by signal {signal}"),
        Some(status) => status.as_str().to_string(),
        None => "did not finish".to_string(),
    };
    write!(out, "wfop: run ")?;
    if let Some((id, workflow)) = s.run {
        write!(out, "{} of {} ", safe::line(id), safe::line(workflow))?;
    }
    write!(out, "{what}")?;
    if let Some(d) = s.duration {
        let dur = layout.run_duration(d);
        write!(out, " in {dur}")?;
    }
    writeln!(out)?;
    let w = s
        .nodes
        .iter()
        .map(|n| safe::line(&n.node).chars().count())
        .max()
        .unwrap_or(4)
        .max(4);
    let dw = layout.duration_width();
    if layout == Layout::Lines {
        writeln!(
            out,
            "  {:w$}  {:10} {:>dw$}  exit",
            "node", "status", "duration"
        )?;
    }
    for n in s.nodes {
        let dur = n
            .duration_ms
            .map_or("-".to_string(), |ms| layout.node_duration(ms));
        let exit = layout.exit(n.exit_code, n.signal);
        write!(
            out,
            "  {:w$}  {:10} {dur:>dw$}  {exit}",
            safe::line(&n.node),
            n.status.as_str()
        )?;
        match (&n.reason, n.status, &n.reused) {
            (Some(r), s, _) if s != NodeOutcome::Succeeded => writeln!(out, "  {}", safe::line(r))?,
            (_, _, Some(run)) => writeln!(out, "  reused from run {}", safe::line(run))?,
            _ => writeln!(out)?,
        }
    }
    if let Some(r) = s.record {
        writeln!(out, "record: {}", safe::path(r))?;
    }
    Ok(())
}

/// The summary as text.
pub fn text(s: &Summary) -> String {
    let mut out = Vec::new();
    // Writing to a Vec cannot fail.
    let _ = write(&mut out, s);
    String::from_utf8_lossy(&out).into_owned()
}

/// Longest rendering of one output variable after a summary.
const OUTPUT_PREVIEW: usize = 160;

/// The workflow variables the run produced or changed (already redacted by the engine), one per
/// line as compact JSON, cut at [`OUTPUT_PREVIEW`] characters; the record holds them whole.
pub fn write_outputs(
    out: &mut impl Write,
    inputs: &crate::engine::ShownVars,
    variables: &crate::engine::ShownVars,
) -> io::Result<()> {
    let produced: Vec<(&str, crate::engine::VarRef)> = variables
        .iter()
        .filter(|(k, v)| inputs.get(k) != Some(*v))
        .collect();
    if produced.is_empty() {
        return Ok(());
    }
    writeln!(out, "wfop: outputs")?;
    let w = produced
        .iter()
        .map(|(k, _)| safe::line(k).chars().count())
        .max()
        .unwrap_or(0);
    for (name, value) in produced {
        let mut text = serde_json::to_string(&value).unwrap_or_default();
        if let Some((cut, _)) = text.char_indices().nth(OUTPUT_PREVIEW) {
            text.truncate(cut);
            text.push('…');
        }
        writeln!(out, "  {:w$}  {}", safe::line(name), safe::line(&text))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: &str, status: NodeOutcome, ms: Option<u64>) -> NodeSummary {
        NodeSummary {
            node: id.into(),
            label: id.into(),
            status,
            attempts: u32::from(ms.is_some()),
            duration_ms: ms,
            exit_code: None,
            signal: None,
            reason: None,
            reused: None,
        }
    }

    fn nodes() -> Vec<NodeSummary> {
        let mut ok = node("fetch", NodeOutcome::Succeeded, Some(850));
        ok.exit_code = Some(0);
        let mut failed = node("evil\u{1b}]0;x\u{7}", NodeOutcome::Failed, Some(1250));
        failed.exit_code = Some(3);
        failed.reason = Some("exit code 3\nand more".into());
        let mut killed = node("k", NodeOutcome::Cancelled, Some(20));
        killed.signal = Some(9);
        vec![
            ok,
            failed,
            killed,
            node("later", NodeOutcome::Skipped, None),
        ]
    }

    /// The line front end's summary, byte for byte as it has always been.
    #[test]
    fn the_line_layout_has_a_header_row_and_bare_exit_codes() {
        let nodes = nodes();
        let s = Summary {
            run: None,
            status: Some(RunStatus::Failed),
            duration: Some(Duration::from_millis(2345)),
            nodes: &nodes,
            record: None,
            layout: Layout::Lines,
        };
        assert_eq!(
            text(&s),
            "wfop: run failed in 2.3s\n\
             \x20 node              status      duration  exit\n\
             \x20 fetch             succeeded      850ms  0\n\
             \x20 evil\\x1b]0;x\\x07  failed          1.2s  3  exit code 3\\x0aand more\n\
             \x20 k                 cancelled       20ms  signal 9\n\
             \x20 later             skipped            -  -\n"
        );
    }

    /// The summary after the TUI: the same rows from the same data, in the screen's layout.
    #[test]
    fn the_screen_layout_names_the_run_and_its_record() {
        let nodes = nodes();
        let s = Summary {
            run: Some(("20250101-1", "wf")),
            status: Some(RunStatus::Interrupted { signal: 15 }),
            duration: Some(Duration::from_millis(1800)),
            nodes: &nodes,
            record: Some(Path::new("/state/runs/20250101-1")),
            layout: Layout::Screen,
        };
        assert_eq!(
            text(&s),
            "wfop: run 20250101-1 of wf interrupted by signal 15 in 1.8s\n\
             \x20 fetch             succeeded     0.8s  exit 0\n\
             \x20 evil\\x1b]0;x\\x07  failed        1.2s  exit 3  exit code 3\\x0aand more\n\
             \x20 k                 cancelled     0.0s  signal 9\n\
             \x20 later             skipped          -  \n\
             record: /state/runs/20250101-1\n"
        );
    }

    #[test]
    fn a_run_that_did_not_finish_says_so() {
        let s = Summary {
            run: Some(("?", "wf")),
            status: None,
            duration: None,
            nodes: &[],
            record: None,
            layout: Layout::Screen,
        };
        assert_eq!(text(&s), "wfop: run ? of wf did not finish\n");
    }
}
