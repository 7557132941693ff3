//! The TUI's model and its one `update(&mut App, AppEvent)` (Elm style): engine events, keys,
//! paste, resize, ticks, signals and finished effects change the state, side effects come out
//! as `Effect`s, and the derived state (mapping rows, node texts, layout) is recomputed only on
//! the events that change it, so `view` just reads.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::layout::Rect;

use super::fit::Fit;
use super::graphpane::{self, Dir, GraphModel};
use super::input::InputLine;
use super::keymap::{self, Action, Context};
use super::layout::{self, Areas};
use super::listview::{self, Jump, ListState};
use super::logbuf::{LogConfig, LogStore, NodeIdx, Selection, Stream as LogStream};
use super::logview::{LogViewState, view_text};
use super::mapping::{self, EdgeRun, MapRow, Vars};
use super::prompt::{PromptEvent, PromptState};
use super::theme::Theme;
use crate::engine::setup::Prepared;
use crate::engine::{
    Attempt, Event, NodeCommand, NodeOutcome, NodeState, NodeSummary, RunReport, RunStatus, Stream,
};
use crate::secrets::{Redactor, SecretStore, Source};
use crate::ui::graph::Charset;
use crate::workflow::layout::display_width;
use crate::workflow::{NodeKind, Workflow};

pub use super::layout::{MIN_HEIGHT, MIN_WIDTH};
/// Exit code when nothing was run (prompt cancelled) or the input was invalid.
pub const EXIT_INVALID: i32 = 2;

/// Everything that can happen to the TUI.
pub enum AppEvent {
    Key(KeyEvent),
    /// An Enter that more input followed at once (within `BURST_GAP`), as in text pasted
    /// without brackets: a line break at the secret prompt, an Enter anywhere else.
    PastedEnter(KeyEvent),
    Paste(String),
    Resize(u16, u16),
    /// Time passes (animation, durations).
    Tick(Instant),
    /// An event of the running engine.
    Engine(Event),
    /// An event of a run in a run host, with its time since the run started when known.
    Remote(Event, Option<u64>),
    /// Events of the run host read in one go (each as `Remote`).
    RemoteBatch(Vec<(Event, Option<u64>)>),
    /// A run host's stream ended: after the run's end (`Ok`), or the host went away (`Err`).
    StreamEnded(Result<(), String>),
    /// The engine returned (its report has the final, redacted variables).
    EngineDone(Result<RunReport, String>),
    /// Sources were read again for a rerun.
    Prepared(Result<Box<Prepared>, String>),
    /// SIGTERM, SIGHUP or SIGINT reached wfop.
    Signal(i32),
    /// The runtime carried out an effect; how it went.
    EffectDone(EffectDone),
    /// A click or a wheel notch (`mouse::wanted`).
    Mouse(crossterm::event::MouseEvent),
}

/// How an effect went, as the runtime reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EffectDone {
    /// The clipboard sequence could not be made (why).
    CopyFailed(String),
    /// The text was saved here (the path actually written: a fresh name).
    Saved(PathBuf),
    /// Saving to `path` failed (why).
    SaveFailed { path: PathBuf, error: String },
    /// A cancel or kill could not be passed on (why: the run has no host to ask).
    StopRefused(String),
}

/// What `update` asks the runtime to do.
pub enum Effect {
    /// Read the workflow, input and secret sources again (for a rerun).
    Prepare,
    /// The same, for a rerun from node `node` reusing the run recorded in `record` (`F`).
    PrepareFrom { node: String, record: PathBuf },
    /// Start the engine on this run (in this process or in a run host).
    Start(Box<Prepared>),
    /// Follow the run this screen was opened on (`wfop attach`).
    Attach,
    /// Pass a stop signal on to the run host of this screen's run (its engine stops the run
    /// as it would in this process: `interrupted`, 128 + signal).
    Forward(i32),
    /// Cancel the running run (children get SIGTERM, then SIGKILL after the grace period).
    Cancel,
    /// Stop the running run now (SIGKILL).
    Kill,
    /// Steer one node of the running run (stop, restart, stdin, terminal size).
    Node(NodeCommand),
    /// Put this text on the clipboard (OSC 52).
    Copy(String),
    /// Write this (redacted) text to a new file.
    Save { path: PathBuf, text: String },
}

/// The panes Tab moves between (the list takes the graph's place in the list view).
const PANES: [Context; 3] = [Context::Graph, Context::Mapping, Context::Logs];

/// A question waiting for y/n.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirm {
    Cancel,
    Quit,
    /// `F`: rerun from this node (index) reusing the finished run's other outputs.
    RerunFrom(usize),
}

/// What sits over the panes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Overlay {
    None,
    Help {
        scroll: u16,
    },
    Confirm(Confirm),
    Search(String),
    /// Typing the list's filter (it applies as it is typed).
    ListFilter,
    /// Typing a `&` filter.
    Filter(String),
    /// The failure detail of a node (Enter on a failed node).
    Detail(Box<super::detail::Detail>),
    /// Stop this node (a service): as failed or as cancelled? (`nodectl`)
    StopNode(usize),
    /// Input mode: a line for the selected service's stdin (`i`).
    Input(super::input::InputLine),
}

/// Where the run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Waiting at the secret prompt before a run.
    Prompt,
    /// Reading sources for a (re)run, or the engine is starting.
    Starting,
    Running,
    /// Stopping after a cancel, quit or signal.
    Stopping,
    Finished,
}

/// A status-line message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub text: String,
    pub error: bool,
}

/// How an edge is drawn during and after a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeLook {
    Plain,
    Taken,
    Untaken,
}

/// A service attempt handed to a cluster scheduler (`NodeQueued`, `--executor slurm`): the
/// executor and the scheduler's job id, kept for the attempt once it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterJob {
    /// `slurm` (terminal-safe).
    pub executor: String,
    /// The job id once the scheduler gave it (terminal-safe).
    pub job: Option<String>,
    /// Still in the scheduler's queue: no `NodeStarted` yet for this attempt.
    pub queued: bool,
}

impl ClusterJob {
    /// `slurm job 123`, or `slurm` before the job id is known.
    pub fn text(&self) -> String {
        match &self.job {
            Some(j) => format!("{} job {j}", self.executor),
            None => self.executor.clone(),
        }
    }
}

/// Per workflow node.
#[derive(Debug, Clone)]
pub struct NodeView {
    /// A service waiting in a cluster scheduler's queue is `Running` (its attempt has begun,
    /// it can be stopped) with a queued `cluster` job: see [`NodeView::is_queued`].
    pub state: NodeState,
    /// When it started (or was queued, until it starts), since the run began.
    pub since: Duration,
    /// How long it ran, once done.
    pub took: Duration,
    pub reason: Option<String>,
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub redactions: BTreeMap<String, u64>,
    /// Its index in the log store (service nodes of the current run).
    pub log: Option<NodeIdx>,
    /// Which run of it the latest event was about (loops and retries); `attempt` 0 before
    /// its first.
    pub attempt: Attempt,
    /// A waiting timer's deadline, since the run began.
    pub timer_end: Option<Duration>,
    /// When a scheduled retry starts, since the run began.
    pub retry_at: Option<Duration>,
    /// A service being stopped: when SIGKILL follows unless it ends first, since the run
    /// began (`NodeStopping`).
    pub kill_at: Option<Duration>,
    /// A failure one of its error paths caught: `CODE → node`.
    pub caught: Option<String>,
    /// Its latest attempt's extra output files (kept in the run record).
    pub files: Vec<crate::engine::OutputFile>,
    /// What its latest attempt's input mapping gave, as the engine showed it.
    pub inputs: Option<mapping::Given>,
    /// The run whose outputs a rerun reused instead of running it (`F`, `--reuse`).
    pub reused: Option<String>,
    /// Its latest attempt went to a cluster scheduler: its job, and whether it still waits.
    pub cluster: Option<ClusterJob>,
}

impl NodeView {
    fn new() -> Self {
        NodeView {
            state: NodeState::Pending,
            since: Duration::ZERO,
            took: Duration::ZERO,
            reason: None,
            exit_code: None,
            signal: None,
            redactions: BTreeMap::new(),
            log: None,
            attempt: Attempt {
                attempt: 0,
                iteration: 0,
                try_no: 0,
                tries: 0,
            },
            timer_end: None,
            retry_at: None,
            kill_at: None,
            caught: None,
            reused: None,
            files: Vec::new(),
            inputs: None,
            cluster: None,
        }
    }

    /// Its attempt waits in a cluster scheduler's queue (`NodeQueued`, no `NodeStarted` yet).
    pub fn is_queued(&self) -> bool {
        self.state == NodeState::Running && self.cluster.as_ref().is_some_and(|c| c.queued)
    }

    /// A waiting timer's time left at `now` (since the run began).
    pub fn timer_left(&self, now: Duration) -> Option<Duration> {
        match self.state {
            NodeState::Running => self.timer_end.map(|end| end.saturating_sub(now)),
            _ => None,
        }
    }

    /// The time its text shows at `now` (since the run began): how long it has run (or waited
    /// in a cluster scheduler's queue), or took; none while pending or when skipped.
    pub fn shown_time(&self, now: Duration) -> Option<Duration> {
        match self.state {
            NodeState::Pending | NodeState::Done(NodeOutcome::Skipped) => None,
            NodeState::Running => Some(now.saturating_sub(self.since)),
            NodeState::Waiting | NodeState::Done(_) => Some(self.took),
        }
    }

    /// A service being stopped: the time left before SIGKILL at `now` (zero once it is due).
    pub fn kill_left(&self, now: Duration) -> Option<Duration> {
        match self.state {
            NodeState::Running => self.kill_at.map(|at| at.saturating_sub(now)),
            _ => None,
        }
    }

    pub fn redaction_total(&self) -> u64 {
        self.redactions.values().sum()
    }
}

/// The whole state of the screen.
pub struct App {
    pub theme: Theme,
    pub charset: Charset,
    /// Colour depth and ASCII drawing for this terminal, applied to every frame.
    pub fit: Fit,
    pub wf: Workflow,
    pub graph: GraphModel,
    pub nodes: Vec<NodeView>,
    pub selected: usize,
    pub graph_scroll: (usize, usize),
    /// The list view: shown or not, its filter, its derived rows and counts.
    pub list: ListState,
    /// The run's `--max-parallel` when this screen knows it (not when attached): a step
    /// that has its tokens while that many services run says it waits for a slot.
    pub max_parallel: Option<usize>,
    pub focus: Context,
    pub overlay: Overlay,
    pub mapping_row: usize,
    pub prompt: Option<PromptState>,
    /// A prepared run waiting for the prompt.
    pending: Option<Box<Prepared>>,
    /// Secret name → where its value came from (kept after the purge; never a value).
    pub sources: BTreeMap<String, String>,
    /// The workflow variables as they stand, redacted by the engine (`ShownVars`, shared with
    /// it): the inputs from `RunStarted`, then what each node set; `None` until a run starts.
    pub vars: Option<Vars>,
    /// What this run did with each workflow edge (taken how often, the last gateway decision).
    pub edges: Vec<EdgeRun>,
    /// Derived: the mapping rows of every node, computed when the variables change while the
    /// run's secrets are known, and redacted then (a preview may join pieces of a secret).
    rows: Vec<Vec<MapRow>>,
    /// Derived: each node's text in the graph at the app's clock (spinner, duration, count).
    pub texts: Vec<String>,
    /// What each of `texts` shows: a text is formatted again only when its look changed (a
    /// 10 000-node graph does not format every node on each event).
    looks: Vec<Option<graphpane::Look>>,
    /// The charset `texts` were formatted in (all are formatted again when it changes).
    texts_charset: Option<Charset>,
    /// The ends of each edge as `ui::graph::graph_edges` numbers them (edges, then error
    /// paths), as node indexes: an edge's look needs no search by id.
    edge_ends: Vec<(Option<usize>, Option<usize>)>,
    /// Node id → index (the first node of an id, as `Workflow::node_index`): an engine event
    /// names its node, and a scan of 10 000 ids per event adds up.
    by_id: std::collections::HashMap<String, usize>,
    /// Derived: where each pane goes at `size`.
    pub layout: Areas,
    /// What the event being applied changed that derived state depends on.
    dirty: Dirty,
    /// The node texts are behind the node states (the list view was shown meanwhile).
    texts_stale: bool,
    /// How often each piece of derived state was recomputed.
    pub recomputed: Recomputed,
    /// A redactor for the previews, holding this run's secrets until the engine purges them.
    preview: Option<Redactor>,
    /// The secrets are purged: `rows` stay as they were.
    rows_frozen: bool,
    /// Gateways whose rows are behind an edge taken or a decision: brought up to date when
    /// selected (or before the rows freeze), so a fork to 10 000 workers does not compute
    /// its 10 000 rows once per token it passes.
    stale_rows: Vec<usize>,
    pub logs: LogStore,
    /// Sizes of the log buffer of each run (`--scrollback`).
    pub log_config: LogConfig,
    pub logview: LogViewState,
    pub phase: Phase,
    pub run_id: Option<String>,
    pub record: Option<PathBuf>,
    /// When the current run started (the app's clock).
    pub run_started: Option<Instant>,
    pub run_duration: Option<Duration>,
    pub status: Option<RunStatus>,
    pub summary: Vec<NodeSummary>,
    pub runs: u32,
    pub purged: bool,
    pub message: Option<Message>,
    pub now: Instant,
    pub size: (u16, u16),
    /// Quit once the run has stopped.
    quit_after_run: bool,
    /// An engine was started and has not returned yet.
    engine_live: bool,
    pub signal: Option<i32>,
    exit: Option<i32>,
    /// Why the app quit without a run (printed after the terminal is restored).
    pub exit_note: Option<String>,
    pub effects: Vec<Effect>,
    /// Where runs live: this process, or a run host (then `d` detaches, SIGHUP too).
    pub host: RunHome,
    /// The screen left a live run going (`d`, SIGHUP): no summary of a run not over.
    pub detached: bool,
    /// The search/filter input takes a regular expression (`C-r`); kept between inputs.
    pub input_regex: bool,
    /// The log pane's inside (columns, rows): the size of services' terminals.
    pub log_pane: (u16, u16),
    /// The size last sent to the run (`None`: none since it started).
    pty_size: Option<(u16, u16)>,
}

/// Where the runs of a screen live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunHome {
    /// In this process (`--stop-on-hangup`, tests): losing the terminal stops the run.
    InProcess,
    /// In a run host this screen started (`wfop run`): it can detach and run again.
    Host,
    /// In the run host (or the record) of a run opened with `wfop attach`: it can detach, it
    /// cannot run again (it has no secrets), and it shows no mapping previews (they could join
    /// pieces of a secret with no redactor to catch it).
    Attached,
}

impl App {
    /// A new screen for a prepared run. With missing secrets it opens on the prompt; otherwise
    /// the run starts at once (an `Effect::Start` is queued).
    pub fn new(prepared: Prepared, theme: Theme, charset: Charset, now: Instant) -> App {
        let mut app = App::blank(prepared.workflow.clone(), theme, charset, now);
        app.ready(Box::new(prepared));
        app.settle();
        app
    }

    /// A screen for a run that is already going or has ended (`wfop attach`): it follows the
    /// run's events (`Effect::Attach`) and never starts one.
    pub fn attached(wf: Workflow, theme: Theme, charset: Charset, now: Instant) -> App {
        let mut app = App::blank(wf, theme, charset, now);
        app.host = RunHome::Attached;
        // Where the values came from is the starting terminal's to know.
        for name in crate::engine::setup::secret_uses(&app.wf).into_keys() {
            app.sources
                .insert(name, "given when the run started".to_string());
        }
        app.engine_live = true;
        app.effects.push(Effect::Attach);
        app.refresh_rows();
        app.settle();
        app
    }

    fn blank(wf: Workflow, theme: Theme, charset: Charset, now: Instant) -> App {
        let graph = GraphModel::new(&wf, charset);
        let list = ListState::new(&wf);
        let by_id: std::collections::HashMap<String, usize> = wf
            .index_by_id()
            .into_iter()
            .map(|(id, i)| (id.to_string(), i))
            .collect();
        let edge_ends = crate::ui::graph::edge_ends(&wf);
        let selected = wf
            .nodes
            .iter()
            .position(|n| n.kind == NodeKind::Service)
            .unwrap_or(0);
        App {
            theme,
            charset,
            fit: Fit {
                charset,
                ..Fit::default()
            },
            graph,
            nodes: vec![NodeView::new(); wf.nodes.len()],
            wf,
            selected,
            graph_scroll: (0, 0),
            list,
            max_parallel: None,
            focus: Context::Graph,
            overlay: Overlay::None,
            mapping_row: 0,
            prompt: None,
            pending: None,
            sources: BTreeMap::new(),
            vars: None,
            edges: Vec::new(),
            rows: Vec::new(),
            texts: Vec::new(),
            looks: Vec::new(),
            texts_charset: None,
            edge_ends,
            by_id,
            layout: Areas::default(),
            dirty: Dirty {
                texts: true,
                layout: true,
                list: true,
            },
            texts_stale: false,
            recomputed: Recomputed::default(),
            preview: None,
            rows_frozen: false,
            stale_rows: Vec::new(),
            logs: LogStore::default(),
            log_config: LogConfig::default(),
            logview: {
                let mut lv = LogViewState::new(Selection::All);
                lv.set_ascii(charset == Charset::Ascii);
                lv
            },
            phase: Phase::Starting,
            run_id: None,
            record: None,
            run_started: None,
            run_duration: None,
            status: None,
            summary: Vec::new(),
            runs: 0,
            purged: false,
            message: None,
            now,
            size: (80, 24),
            quit_after_run: false,
            engine_live: false,
            signal: None,
            exit: None,
            exit_note: None,
            effects: Vec::new(),
            host: RunHome::InProcess,
            detached: false,
            input_regex: false,
            log_pane: (0, 0),
            pty_size: None,
        }
    }

    /// The exit code once the app is done, `None` while it goes on.
    pub fn exit_code(&self) -> Option<i32> {
        self.exit
    }

    /// Takes the queued effects.
    pub fn take_effects(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.effects)
    }

    /// True while an engine runs (or is starting).
    pub fn is_running(&self) -> bool {
        self.engine_live
    }

    /// Time since the run started, by the app's clock.
    pub fn elapsed(&self) -> Duration {
        self.run_started
            .map_or(Duration::ZERO, |t| self.now.saturating_duration_since(t))
    }

    /// The spinner frame (10 per second of run time).
    pub fn frame(&self) -> usize {
        (self.elapsed().as_millis() / 100) as usize
    }

    /// The exit code the last run stands for (2 when nothing ran).
    fn final_code(&self) -> i32 {
        if let Some(s) = self.signal {
            return 128 + s;
        }
        self.status.map_or(EXIT_INVALID, |s| s.exit_code())
    }

    /// Status-line texts are kept terminal-safe (`safe`): they may quote names and reasons.
    /// Services on a terminal follow the log pane's size: sent once the run has started and
    /// on every change while it runs.
    fn send_pty_size(&mut self) {
        if matches!(self.phase, Phase::Running | Phase::Stopping)
            && let Some(c) =
                super::input::resize(&mut self.pty_size, self.log_pane.0, self.log_pane.1)
        {
            self.effects.push(Effect::Node(c));
        }
    }

    pub(super) fn say(&mut self, text: impl Into<String>) {
        self.message = Some(Message {
            text: crate::safe::line(&text.into()).into_owned(),
            error: false,
        });
    }

    fn warn(&mut self, text: impl Into<String>) {
        self.message = Some(Message {
            text: crate::safe::line(&text.into()).into_owned(),
            error: true,
        });
    }

    /// A prepared run: remember where the secrets came from, then prompt or start.
    fn ready(&mut self, prepared: Box<Prepared>) {
        // The inputs are shown once the engine has redacted them (`RunStarted`).
        self.vars = None;
        self.rows_frozen = false;
        for name in prepared.secrets.names() {
            if let Some(src) = prepared.secrets.source(name) {
                self.sources.insert(name.to_string(), src.to_string());
            }
        }
        for m in &prepared.missing {
            self.sources.remove(&m.name);
        }
        if prepared.missing.is_empty() {
            self.phase = Phase::Starting;
            self.engine_live = true;
            self.preview = Some(preview_redactor(&prepared.secrets));
            self.effects.push(Effect::Start(prepared));
        } else {
            self.prompt = Some(PromptState::new(&prepared.missing));
            self.pending = Some(prepared);
            self.phase = Phase::Prompt;
        }
        self.refresh_rows();
    }

    /// Brings the node texts to the app's clock (what `texts` is kept as), formatting only
    /// the nodes whose look changed; true if a text's width changed (the layout may move).
    fn refresh_texts(&mut self) -> bool {
        let now = self.elapsed();
        let frame = self.frame();
        let n = self.wf.nodes.len();
        let fresh = self.texts.len() != n
            || self.looks.len() != n
            || self.texts_charset != Some(self.charset);
        if fresh {
            self.texts = vec![String::new(); n];
            self.looks = vec![None; n];
            self.texts_charset = Some(self.charset);
        }
        let mut widths_changed = fresh;
        for (i, (node, v)) in self.wf.nodes.iter().zip(&self.nodes).enumerate() {
            let look = graphpane::Look {
                state: v.state,
                time: v.shown_time(now),
                redactions: v.redaction_total(),
                // Only a running node's glyph turns with the spinner (not a queued one's).
                frame: if v.state == NodeState::Running && !v.is_queued() {
                    frame
                } else {
                    0
                },
                iteration: v.attempt.iteration,
                attempt: (v.attempt.try_no, v.attempt.tries),
                left: v.timer_left(now),
                reused: v.reused.is_some(),
                queued: v.is_queued(),
            };
            if self.looks[i] == Some(look) {
                continue;
            }
            let text = graphpane::node_text(node, &look, self.charset);
            widths_changed |= display_width(&text) != display_width(&self.texts[i]);
            self.texts[i] = text;
            self.looks[i] = Some(look);
        }
        widths_changed
    }

    /// Every node's text formatted afresh at the app's clock (what `texts` must equal).
    #[cfg(test)]
    pub fn texts_afresh(&self) -> Vec<String> {
        let now = self.elapsed();
        let frame = self.frame();
        self.wf
            .nodes
            .iter()
            .zip(&self.nodes)
            .map(|(n, v)| {
                let look = graphpane::Look {
                    state: v.state,
                    time: v.shown_time(now),
                    redactions: v.redaction_total(),
                    frame,
                    iteration: v.attempt.iteration,
                    attempt: (v.attempt.try_no, v.attempt.tries),
                    left: v.timer_left(now),
                    reused: v.reused.is_some(),
                    queued: v.is_queued(),
                };
                graphpane::node_text(n, &look, self.charset)
            })
            .collect()
    }

    /// The index of the node with this id (the first, as [`Workflow::node_index`]).
    pub fn node_index(&self, id: &str) -> Option<usize> {
        self.by_id.get(id).copied()
    }

    /// The mapping rows of the selected node.
    pub fn mapping_rows(&self) -> &[MapRow] {
        self.mapping_rows_of(self.selected)
    }

    /// The mapping rows of node `i`.
    pub fn mapping_rows_of(&self, i: usize) -> &[MapRow] {
        self.rows.get(i).map_or(&[], Vec::as_slice)
    }

    /// The laid-out graph's size in cells (width, height).
    pub fn graph_size(&self) -> (usize, usize) {
        (self.graph.layout.width, self.graph.layout.height)
    }

    /// Computes every node's mapping rows from the variables as they stand. The values are
    /// redacted by the engine already; the previews evaluated from them are redacted again
    /// with the run's secrets. Once the secrets are purged the rows are kept as they were
    /// (evaluating again could join pieces of a secret with nothing left to catch it).
    pub(super) fn refresh_rows(&mut self) {
        if !self.rows_frozen {
            self.stale_rows.clear();
        }
        self.refresh_rows_of(|_| true);
    }

    /// Marks the gateway rows that an edge taken (`edge`, numbered as `edge_ends`) or a
    /// decision (`node`) changes: a gateway's rows list its edges, and no other node's rows
    /// read them. They are computed again when the gateway is selected ([`App::settle`]).
    fn gateway_rows_changed(&mut self, edge: Option<usize>, node: Option<usize>) {
        let ends = edge
            .and_then(|e| self.edge_ends.get(e).copied())
            .map_or([None, None], |(a, b)| [a, b]);
        for i in ends.into_iter().chain([node]).flatten() {
            if self.wf.nodes.get(i).is_some_and(|n| n.kind.is_gateway())
                && !self.stale_rows.contains(&i)
            {
                self.stale_rows.push(i);
            }
        }
    }

    /// Computes the stale gateway rows `which` picks (see [`App::gateway_rows_changed`]).
    fn refresh_stale_rows(&mut self, which: impl Fn(usize) -> bool) {
        if self.stale_rows.iter().any(|&i| which(i)) {
            let picked: Vec<usize> = self
                .stale_rows
                .iter()
                .copied()
                .filter(|&i| which(i))
                .collect();
            self.stale_rows.retain(|&i| !which(i));
            self.refresh_rows_of(|i| picked.contains(&i));
        }
    }

    /// [`App::refresh_rows`] for the nodes `which` picks (all when no rows were made yet).
    fn refresh_rows_of(&mut self, which: impl Fn(usize) -> bool) {
        if self.rows_frozen {
            return;
        }
        let all = self.rows.len() != self.wf.nodes.len();
        self.recomputed.rows += 1;
        self.dirty.layout = true;
        let vars = self.vars.as_ref();
        // An attached screen holds no secrets: it evaluates nothing, it shows what the engine
        // said (the variables, each node's inputs, the gateways' decisions).
        let shown = match self.host {
            RunHome::Attached => mapping::Shown::engine_only(),
            _ => mapping::Shown::with(self.preview.as_ref()),
        };
        let make = |i: usize| {
            let given = self.nodes.get(i).and_then(|n| n.inputs.as_ref());
            let mut rows = mapping::rows(
                &self.wf,
                i,
                vars,
                &self.sources,
                &self.edges,
                (given, shown),
            );
            rows.iter_mut().for_each(terminal_safe_row);
            rows
        };
        if all {
            self.rows = (0..self.wf.nodes.len()).map(make).collect();
        } else {
            let fresh: Vec<(usize, Vec<MapRow>)> = (0..self.wf.nodes.len())
                .filter(|&i| which(i))
                .map(|i| (i, make(i)))
                .collect();
            for (i, rows) in fresh {
                self.rows[i] = rows;
            }
        }
    }

    /// How edge `e` (numbered as `ui::graph::graph_edges` does: edges, then error paths)
    /// looks as the run stands: taken once a token moved along it in this run (an error path:
    /// once it caught a failure); untaken when its gateway decided against it, a node at
    /// either end was skipped, or the run ended without it; plain otherwise (and before any
    /// run).
    pub fn edge_look(&self, e: usize) -> EdgeLook {
        let Some(&(from, to)) = self.edge_ends.get(e) else {
            return EdgeLook::Plain;
        };
        let run = self.edges.get(e);
        if run.is_some_and(|r| r.taken > 0) {
            return EdgeLook::Taken;
        }
        if self.runs == 0 {
            return EdgeLook::Plain;
        }
        let decided_against = run
            .and_then(|r| r.verdict.as_ref())
            .is_some_and(|v| !v.taken);
        let skipped = |i: Option<usize>| {
            i.and_then(|i| self.nodes.get(i))
                .is_some_and(|n| n.state == NodeState::Done(NodeOutcome::Skipped))
        };
        if decided_against || skipped(from) || skipped(to) || self.phase == Phase::Finished {
            EdgeLook::Untaken
        } else {
            EdgeLook::Plain
        }
    }

    /// The pane in the graph's place: the graph, or the list of nodes.
    pub fn main_pane(&self) -> Context {
        if self.list.shown {
            Context::List
        } else {
            Context::Graph
        }
    }

    /// The contexts keys are looked up in now.
    pub fn contexts(&self) -> Vec<Context> {
        if self.prompt.is_some() {
            return vec![Context::Prompt];
        }
        match self.overlay {
            Overlay::Help { .. } => keymap::active(Context::Help),
            Overlay::Confirm(_) => keymap::active(Context::Confirm),
            Overlay::Search(_) | Overlay::Filter(_) => keymap::active(Context::SearchInput),
            Overlay::Detail(_) => keymap::active(Context::Detail),
            Overlay::ListFilter => keymap::active(Context::ListFilter),
            Overlay::StopNode(_) => keymap::active(Context::StopDialog),
            Overlay::Input(_) => keymap::active(Context::Input),
            Overlay::None => keymap::active(self.focus),
        }
    }
}

/// Applies one event to the state.
pub fn update(app: &mut App, ev: AppEvent) {
    match ev {
        AppEvent::Key(k) => {
            if k.kind != KeyEventKind::Release {
                app.message = app.message.take().filter(|m| m.error);
                key(app, &k);
            }
        }
        AppEvent::PastedEnter(k) => match app.prompt.as_mut() {
            Some(p) => {
                p.handle_line_break();
            }
            None => return update(app, AppEvent::Key(k)),
        },
        AppEvent::Paste(text) => paste(app, text),
        AppEvent::Resize(w, h) => {
            app.size = (w, h);
            app.dirty.layout = true;
        }
        AppEvent::Tick(now) => {
            app.now = now;
            app.logview.tick(&app.logs);
            // Spinners, durations and timers move only while a node runs or waits to retry.
            app.dirty.texts |= app
                .nodes
                .iter()
                .any(|n| matches!(n.state, NodeState::Running | NodeState::Waiting));
        }
        AppEvent::Engine(e) => engine_event(app, e, None),
        AppEvent::Remote(e, t) => engine_event(app, e, t.map(Duration::from_millis)),
        AppEvent::RemoteBatch(batch) => {
            for (e, t) in batch {
                engine_event(app, e, t.map(Duration::from_millis));
            }
        }
        AppEvent::EngineDone(r) => engine_done(app, r),
        AppEvent::StreamEnded(r) => stream_ended(app, r),
        AppEvent::Prepared(r) => match r {
            Ok(p) => {
                app.message = None;
                app.ready(p);
            }
            Err(e) => {
                app.phase = if app.runs > 0 {
                    Phase::Finished
                } else {
                    Phase::Starting
                };
                app.warn(format!("cannot run again: {e}"));
            }
        },
        // Losing the terminal leaves a run in a run host going: detach.
        AppEvent::Signal(sig) if sig == libc::SIGHUP && app.host != RunHome::InProcess => {
            detach(app);
        }
        AppEvent::Signal(sig) => {
            app.signal.get_or_insert(sig);
            if app.engine_live && app.host == RunHome::Attached {
                // Not this screen's run to stop: a signal to the viewer only ends the viewer.
                app.exit = Some(128 + sig);
            } else if app.engine_live {
                // The engine saw the signal too (in a run host: is passed it) and stops; quit
                // when it has.
                app.phase = Phase::Stopping;
                app.quit_after_run = true;
                app.effects.push(match app.host {
                    RunHome::Host => Effect::Forward(sig),
                    _ => Effect::Cancel,
                });
                app.say(format!("signal {sig}: stopping the run…"));
            } else {
                app.exit = Some(128 + sig);
            }
        }
        AppEvent::EffectDone(done) => effect_done(app, done),
        AppEvent::Mouse(m) => super::mouse::handle(app, m),
    }
    app.settle();
}

/// What an event changed that derived state depends on (the mapping rows are recomputed at
/// once where the variables, sources or secrets change: `refresh_rows`).
#[derive(Debug, Default, Clone, Copy)]
struct Dirty {
    /// Node states or the clock of a running node.
    texts: bool,
    /// The size, the selection, the selected rows or the graph's layout.
    layout: bool,
    /// A node's state, an edge taken, or the list's filter (the list's rows and counts).
    list: bool,
}

/// How often each piece of derived state was recomputed since the app was made.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Recomputed {
    pub rows: u64,
    pub texts: u64,
    pub layout: u64,
    pub list: u64,
}

impl App {
    /// Brings the derived state in step with what the last event changed: node texts (and the
    /// graph layout when a text's width changed), then the pane areas, the log viewport and the
    /// graph scroll.
    fn settle(&mut self) {
        let selected = self.selected;
        self.refresh_stale_rows(|i| i == selected);
        let dirty = std::mem::take(&mut self.dirty);
        let mut relayout = dirty.layout;
        // The list view draws no graph: its texts (and a layout of a big graph they may
        // cause) wait until the graph is shown again.
        if dirty.texts && self.list.shown {
            self.texts_stale = true;
        } else if dirty.texts || std::mem::take(&mut self.texts_stale) {
            self.texts_stale = false;
            self.recomputed.texts += 1;
            if self.refresh_texts() {
                relayout |= self.graph.relayout(&self.texts);
            }
        }
        if dirty.list {
            self.recomputed.list += 1;
            let before = self.list.rows.len();
            self.list
                .refresh(&self.wf, &self.nodes, &self.edges, self.max_parallel);
            relayout |= self.list.shown && self.list.rows.len() != before;
        }
        if relayout {
            self.relayout();
        }
        if (relayout || dirty.list)
            && self.list.shown
            && let Some(l) = self.layout.list
        {
            let h = usize::from(layout::inner(l).1.saturating_sub(1));
            let sel = self.list.rows.iter().position(|&i| i == self.selected);
            self.list.follow(sel, h);
        }
    }

    /// Where the panes go at the app's size: the graph's layout, or the list view's.
    pub fn areas_at(&self, full: Rect) -> Areas {
        if self.list.shown {
            layout::list_areas(full, self.list.rows.len(), self.mapping_rows())
        } else {
            layout::areas(full, self.graph_size(), self.mapping_rows())
        }
    }

    fn relayout(&mut self) {
        self.recomputed.layout += 1;
        let full = Rect::new(0, 0, self.size.0, self.size.1);
        let a = self.areas_at(full);
        if let Some(logs) = a.logs {
            let (w, h) = layout::inner(logs);
            self.logview.set_viewport(w, h);
            self.log_pane = (w, h);
            self.send_pty_size();
        }
        if let Some(g) = a.graph {
            let (w, h) = layout::inner(g);
            self.graph_scroll = self.graph.scroll_for(
                self.selected,
                self.graph_scroll,
                usize::from(w),
                usize::from(h),
            );
        }
        self.layout = a;
    }
}

/// The runtime's report on an effect becomes the status line.
fn effect_done(app: &mut App, done: EffectDone) {
    use crate::safe;
    app.message = Some(match done {
        EffectDone::CopyFailed(why) => Message {
            text: why,
            error: true,
        },
        EffectDone::Saved(path) => Message {
            text: format!("saved to {} (mode 0600)", safe::path(&path)),
            error: false,
        },
        EffectDone::SaveFailed { path, error } => Message {
            text: format!("cannot save {}: {error}", safe::path(&path)),
            error: true,
        },
        EffectDone::StopRefused(why) => {
            if app.phase == Phase::Stopping {
                app.phase = Phase::Running;
            }
            Message {
                text: safe::line(&why).into_owned(),
                error: true,
            }
        }
    });
}

fn paste(app: &mut App, text: String) {
    if let Some(p) = app.prompt.as_mut() {
        p.handle_paste(text);
        return;
    }
    match &mut app.overlay {
        Overlay::Search(q) | Overlay::Filter(q) => q.push_str(text.lines().next().unwrap_or("")),
        Overlay::Input(l) => l.paste(&text),
        _ => {}
    }
    if app.overlay == Overlay::ListFilter {
        let mut q = app.list.query.clone();
        q.push_str(text.lines().next().unwrap_or(""));
        set_filter(app, q);
    }
}

fn key(app: &mut App, k: &KeyEvent) {
    if let Some(p) = app.prompt.as_mut() {
        match p.handle_key(k) {
            PromptEvent::Done => prompt_done(app),
            PromptEvent::Cancelled => prompt_cancelled(app),
            PromptEvent::None | PromptEvent::Confirmed => {}
        }
        return;
    }
    let contexts = app.contexts();
    let action = keymap::dispatch(&contexts, k);
    if let Overlay::Search(q) | Overlay::Filter(q) = &mut app.overlay
        && action.is_none()
    {
        let plain = !k
            .modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
        match k.code {
            KeyCode::Char(c) if plain => q.push(c),
            KeyCode::Backspace => {
                q.pop();
            }
            _ => {}
        }
        return;
    }
    if app.overlay == Overlay::ListFilter && action.is_none() {
        let plain = !k
            .modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
        let mut q = app.list.query.clone();
        match k.code {
            KeyCode::Char(c) if plain => q.push(c),
            KeyCode::Backspace => {
                q.pop();
            }
            _ => return,
        }
        set_filter(app, q);
        return;
    }
    if let Overlay::Input(l) = &mut app.overlay
        && action.is_none()
    {
        if let KeyCode::Char(c) = k.code
            && !k
                .modifiers
                .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
        {
            l.push(c);
        }
        return;
    }
    let Some(action) = action else { return };
    if let Overlay::Input(l) = &mut app.overlay {
        match action {
            Action::Submit => {
                let cmd = l.submit();
                app.effects.push(Effect::Node(cmd));
            }
            Action::InputEof => {
                let node = l.node.clone();
                for cmd in l.end() {
                    app.effects.push(Effect::Node(cmd));
                }
                app.overlay = Overlay::None;
                app.say(format!("{node}: input ended"));
            }
            Action::ClearInput => l.clear(),
            Action::DeleteBack => l.backspace(),
            Action::Back => app.overlay = Overlay::None,
            _ => {}
        }
        return;
    }
    match app.overlay.clone() {
        Overlay::Help { scroll } => match action {
            Action::Back => app.overlay = Overlay::None,
            Action::Up => {
                app.overlay = Overlay::Help {
                    scroll: scroll.saturating_sub(1),
                }
            }
            Action::Down => {
                app.overlay = Overlay::Help {
                    scroll: scroll.saturating_add(1),
                }
            }
            _ => {}
        },
        Overlay::Confirm(c) => {
            app.overlay = Overlay::None;
            if action == Action::Yes {
                confirmed(app, c);
            }
        }
        Overlay::Search(q) => match action {
            Action::Submit => {
                if q.is_empty() {
                    app.overlay = Overlay::None;
                    app.logview.search.clear();
                } else {
                    match app
                        .logview
                        .search_start_with(&app.logs, &q, app.input_regex)
                    {
                        Ok(()) => {
                            app.overlay = Overlay::None;
                            if app.logview.search.count() == 0 {
                                let q = app.logview.search.label();
                                app.say(format!("/{q}: no match yet"));
                            }
                        }
                        // The input stays open to mend the pattern.
                        Err(e) => app.warn(e),
                    }
                }
            }
            Action::Back => app.overlay = Overlay::None,
            Action::ClearInput => app.overlay = Overlay::Search(String::new()),
            Action::ToggleRegex => app.input_regex = !app.input_regex,
            _ => {}
        },
        Overlay::Filter(q) => match action {
            Action::Submit => match app.logview.filter_start(&app.logs, &q, app.input_regex) {
                Ok(()) => {
                    app.overlay = Overlay::None;
                    if let Some(f) = &app.logview.filter
                        && f.search.count() == 0
                    {
                        let q = f.search.label();
                        app.say(format!("&{q}: no match yet (the filter stays on)"));
                    }
                }
                Err(e) => app.warn(e),
            },
            Action::Back => app.overlay = Overlay::None,
            Action::ClearInput => app.overlay = Overlay::Filter(String::new()),
            Action::ToggleRegex => app.input_regex = !app.input_regex,
            _ => {}
        },
        Overlay::Detail(mut d) => match action {
            Action::Back => {
                app.overlay = Overlay::None;
                app.focus = Context::Logs;
            }
            Action::Up | Action::Down | Action::PageUp | Action::PageDown => {
                let page = app.size.1.saturating_sub(8).max(1);
                d.scroll = match action {
                    Action::Up => d.scroll.saturating_sub(1),
                    Action::Down => d.scroll.saturating_add(1),
                    Action::PageUp => d.scroll.saturating_sub(page),
                    _ => d.scroll.saturating_add(page),
                };
                app.overlay = Overlay::Detail(d);
            }
            _ => {}
        },
        Overlay::ListFilter => match action {
            Action::Submit => app.overlay = Overlay::None,
            Action::Back => {
                app.overlay = Overlay::None;
                set_filter(app, String::new());
            }
            Action::ClearInput => set_filter(app, String::new()),
            _ => {}
        },
        Overlay::StopNode(i) => super::nodectl::dialog_action(app, i, action),
        Overlay::None => pane_action(app, action),
        Overlay::Input(_) => {}
    }
}

/// Sets the list's filter; its rows follow at once (`settle`).
fn set_filter(app: &mut App, q: String) {
    app.list.set_query(q);
    app.dirty.list = true;
}

fn prompt_done(app: &mut App) {
    let Some(mut p) = app.prompt.take() else {
        return;
    };
    let Some(mut prepared) = app.pending.take() else {
        return;
    };
    for (name, value) in p.take() {
        match prepared.secrets.insert(&name, value, Source::Prompt) {
            Ok(()) => {
                app.sources.insert(name, Source::Prompt.to_string());
            }
            Err(e) => {
                app.warn(e.to_string());
                app.phase = if app.runs > 0 {
                    Phase::Finished
                } else {
                    Phase::Starting
                };
                if app.runs == 0 {
                    app.exit_note = Some(format!("wfop: {e}"));
                    app.exit = Some(EXIT_INVALID);
                }
                return;
            }
        }
    }
    prepared.missing.clear();
    app.phase = Phase::Starting;
    app.engine_live = true;
    app.preview = Some(preview_redactor(&prepared.secrets));
    app.refresh_rows();
    app.effects.push(Effect::Start(prepared));
}

fn prompt_cancelled(app: &mut App) {
    app.prompt = None;
    app.pending = None;
    if app.runs == 0 {
        app.exit_note = Some("wfop: cancelled at the secret prompt; nothing was run".into());
        app.exit = Some(EXIT_INVALID);
    } else {
        app.phase = Phase::Finished;
        app.say("rerun cancelled at the secret prompt");
    }
}

fn confirmed(app: &mut App, c: Confirm) {
    match c {
        Confirm::Cancel => {
            if app.phase == Phase::Running {
                app.phase = Phase::Stopping;
                app.effects.push(Effect::Cancel);
                app.say("cancelling: stopping the services…");
            }
        }
        Confirm::RerunFrom(i) => {
            let (Some(node), Some(record)) = (app.wf.nodes.get(i), app.record.clone()) else {
                return;
            };
            if app.phase == Phase::Finished {
                app.phase = Phase::Starting;
                app.effects.push(Effect::PrepareFrom {
                    node: node.id.clone(),
                    record,
                });
                app.say(format!(
                    "reading the workflow and secret sources again to rerun from {}…",
                    node.line_label()
                ));
            }
        }
        Confirm::Quit => {
            if app.is_running() {
                app.phase = Phase::Stopping;
                app.quit_after_run = true;
                app.effects.push(Effect::Cancel);
                app.say("quitting: stopping the services first (q again kills them now)…");
            } else {
                app.exit = Some(app.final_code());
            }
        }
    }
}

fn pane_action(app: &mut App, action: Action) {
    match action {
        Action::Quit => {
            if app.quit_after_run {
                app.effects.push(Effect::Kill);
                app.say("killing the services…");
            } else if app.is_running() {
                app.overlay = Overlay::Confirm(Confirm::Quit);
            } else {
                app.exit = Some(app.final_code());
            }
        }
        Action::Help => app.overlay = Overlay::Help { scroll: 0 },
        // `/` from any pane: the log pane takes the focus and the search starts.
        Action::SearchStart => {
            app.focus = Context::Logs;
            app.overlay = Overlay::Search(String::new());
        }
        Action::InputStart => {
            let running = app.is_running()
                && app
                    .nodes
                    .get(app.selected)
                    .is_some_and(|n| n.state == NodeState::Running);
            match app
                .wf
                .nodes
                .get(app.selected)
                .map(|n| InputLine::open(n, running))
            {
                Some(Ok(line)) => app.overlay = Overlay::Input(line),
                Some(Err(why)) => app.warn(why),
                None => {}
            }
        }
        Action::FocusNext | Action::FocusPrev => {
            let main = app.main_pane();
            let panes = PANES.map(|c| if c == Context::Graph { main } else { c });
            let i = panes.iter().position(|c| *c == app.focus).unwrap_or(0);
            let n = panes.len();
            let j = if action == Action::FocusNext {
                (i + 1) % n
            } else {
                (i + n - 1) % n
            };
            app.focus = panes[j];
        }
        Action::ToggleView => {
            app.list.shown = !app.list.shown;
            app.focus = app.main_pane();
            if app.list.shown
                && !app.list.rows.contains(&app.selected)
                && let Some(&first) = app.list.rows.first()
            {
                select_node(app, first);
            }
            app.dirty.layout = true;
        }
        Action::NextFailed | Action::PrevFailed | Action::NextRunning | Action::PrevRunning => {
            let jump = match action {
                Action::NextFailed | Action::PrevFailed => Jump::Failed,
                _ => Jump::Running,
            };
            let forward = matches!(action, Action::NextFailed | Action::NextRunning);
            jump_to(app, jump, forward);
        }
        Action::Detach => match app.host {
            RunHome::InProcess => app.say("cannot detach (--stop-on-hangup)"),
            _ => detach(app),
        },
        Action::Run if app.host == RunHome::Attached => {
            app.say("this screen follows a run it did not start: run it again with wfop run")
        }
        Action::Run => match app.phase {
            Phase::Finished => {
                app.phase = Phase::Starting;
                app.effects.push(Effect::Prepare);
                app.say("reading the workflow and secret sources again…");
            }
            Phase::Starting if app.runs > 0 => {}
            _ => app.say("a run is already going; c cancels it"),
        },
        Action::StopNode => super::nodectl::ask_stop(app),
        Action::RestartNode => super::nodectl::restart(app),
        Action::RerunFrom if app.host == RunHome::Attached => app.say(
            "this screen follows a run it did not start: rerun it with wfop run --from NODE --reuse RUN",
        ),
        Action::RerunFrom => match (app.phase, &app.record) {
            (Phase::Finished, Some(_)) => {
                app.overlay = Overlay::Confirm(Confirm::RerunFrom(app.selected));
            }
            (Phase::Finished, None) => app.say("no finished run to reuse"),
            _ => app.say("F reruns from a node once the run has finished"),
        },
        Action::Cancel => {
            if app.phase == Phase::Running {
                app.overlay = Overlay::Confirm(Confirm::Cancel);
            } else if app.phase == Phase::Stopping {
                app.say("already stopping");
            } else {
                app.say("nothing is running");
            }
        }
        _ => match app.focus {
            Context::Graph => graph_action(app, action),
            Context::List => list_action(app, action),
            Context::Mapping => mapping_action(app, action),
            _ => log_action(app, action),
        },
    }
}

pub(super) fn select_node(app: &mut App, i: usize) {
    if i != app.selected {
        app.selected = i;
        app.dirty.layout = true;
        app.mapping_row = 0;
        if let Selection::Node(_) = app.logview.selection() {
            app.logview.select(node_selection(app));
        }
    }
}

/// The log view of the selected node (all nodes for start/end or before a run).
fn node_selection(app: &App) -> Selection {
    app.nodes
        .get(app.selected)
        .and_then(|n| n.log)
        .map_or(Selection::All, Selection::Node)
}

fn graph_action(app: &mut App, action: Action) {
    let dir = match action {
        Action::Up => Dir::Up,
        Action::Down => Dir::Down,
        Action::Left => Dir::Left,
        Action::Right => Dir::Right,
        Action::Select => {
            show_node(app);
            return;
        }
        _ => return,
    };
    let next = app.graph.step(app.selected, dir);
    select_node(app, next);
}

/// Selects the next (or previous) failed or running step, wrapping around: among the list's
/// rows in the list view (the filter applies), among all steps in the graph.
fn jump_to(app: &mut App, jump: Jump, forward: bool) {
    let all: Vec<usize>;
    let order = if app.list.shown {
        &app.list.rows
    } else {
        all = (0..app.wf.nodes.len())
            .filter(|&i| listview::is_step(app.wf.nodes[i].kind))
            .collect();
        &all
    };
    match listview::jump_target(order, &app.list.class, app.selected, jump, forward) {
        Some((i, k, n)) => {
            select_node(app, i);
            let name = app.wf.nodes[i].line_label().into_owned();
            app.say(format!("{} node {k} of {n}: {name}", jump.word()));
        }
        None => {
            let where_ = if app.list.shown && !app.list.query.trim().is_empty() {
                " in the filtered list"
            } else {
                ""
            };
            app.say(format!("no {} node{where_}", jump.word()));
        }
    }
}

/// Enter on a node (graph or list): its logs, and for a failed node its whole failure first.
fn show_node(app: &mut App) {
    app.logview.select(node_selection(app));
    app.focus = Context::Logs;
    if let Some(d) = super::detail::Detail::open(app, app.selected) {
        app.overlay = Overlay::Detail(Box::new(d));
    }
}

fn list_action(app: &mut App, action: Action) {
    let rows = &app.list.rows;
    let pos = rows.iter().position(|&i| i == app.selected);
    let page = app.layout.list.map_or(1, |l| {
        usize::from(layout::inner(l).1.saturating_sub(1)).max(1)
    });
    let last = rows.len().saturating_sub(1);
    let target = match action {
        Action::Up => pos.map_or(0, |p| p.saturating_sub(1)),
        Action::Down => pos.map_or(0, |p| (p + 1).min(last)),
        Action::PageUp => pos.map_or(0, |p| p.saturating_sub(page)),
        Action::PageDown => pos.map_or(0, |p| (p + page).min(last)),
        Action::Top => 0,
        Action::Bottom => last,
        Action::Select => {
            show_node(app);
            return;
        }
        Action::ListFilter => {
            app.overlay = Overlay::ListFilter;
            return;
        }
        Action::Back => {
            if !app.list.query.is_empty() {
                set_filter(app, String::new());
                app.say("filter cleared");
            }
            return;
        }
        _ => return,
    };
    if let Some(&i) = rows.get(target) {
        select_node(app, i);
    }
}

fn mapping_action(app: &mut App, action: Action) {
    let n = app.mapping_rows().len();
    match action {
        Action::Up => app.mapping_row = app.mapping_row.saturating_sub(1),
        Action::Down => app.mapping_row = (app.mapping_row + 1).min(n.saturating_sub(1)),
        Action::Copy => {
            // The expression as written (a `$secrets` row names secrets, it holds no value).
            let row = app
                .mapping_rows()
                .get(app.mapping_row.min(n.saturating_sub(1)));
            if let Some((value, name)) = row.map(|r| (r.value.clone(), r.name.clone())) {
                app.effects.push(Effect::Copy(value));
                app.say(format!("copied the `{name}` expression"));
            }
        }
        _ => {}
    }
}

fn log_action(app: &mut App, action: Action) {
    let (lv, store) = (&mut app.logview, &app.logs);
    match action {
        Action::Up => lv.line_up(store),
        Action::Down => lv.line_down(store),
        Action::Left => lv.scroll_left(),
        Action::Right => lv.scroll_right(),
        Action::PageUp => lv.page_up(store),
        Action::PageDown => lv.page_down(store),
        Action::Top => lv.go_top(store),
        Action::Bottom => lv.go_bottom(),
        Action::ToggleWrap => lv.toggle_wrap(),
        Action::ToggleTimestamps => lv.toggle_timestamps(),
        Action::ToggleTimeMode => {
            lv.toggle_time_mode();
            let what = match lv.time_mode() {
                super::logview::TimeMode::Absolute => "timestamps: local time",
                super::logview::TimeMode::Relative => "timestamps: since the run started",
            };
            app.say(what);
        }
        Action::FilterStart => {
            let q = lv
                .filter
                .as_ref()
                .map(|f| f.search.query().to_string())
                .unwrap_or_default();
            app.overlay = Overlay::Filter(q);
        }
        Action::MoreContext | Action::LessContext => {
            if lv.filter.is_some() {
                lv.filter_context(store, if action == Action::MoreContext { 1 } else { -1 });
            } else {
                app.say("no filter: & starts one");
            }
        }
        Action::Region => {
            lv.toggle_region(store);
            if lv.region().is_some() {
                app.say("region: move to extend it, y copies it, Esc drops it");
            }
        }
        Action::SearchNext => lv.search_next(store),
        Action::SearchPrev => lv.search_prev(store),
        Action::Back => {
            // Esc undoes the latest layer: the region, the search highlight, the filter.
            if lv.cancel_region() {
                return;
            }
            if lv.search.is_active() {
                lv.search.clear();
            } else if lv.filter.is_some() {
                lv.filter_clear();
                app.say("filter off: all lines");
            }
        }
        Action::ToggleAllNodes => {
            let sel = match lv.selection() {
                Selection::All => node_selection(app),
                Selection::Node(_) => Selection::All,
            };
            app.logview.select(sel);
            if sel == Selection::All
                && let Some(n) = app.wf.nodes.get(app.selected)
                && n.kind == NodeKind::Service
                && app.nodes[app.selected].log.is_none()
            {
                app.say("this node has no output yet: showing all nodes");
            }
        }
        Action::Copy if lv.region().is_some() => {
            if let Some((text, n)) = lv.take_region_text(store) {
                app.effects.push(Effect::Copy(text));
                app.say(format!(
                    "copied {n} {}",
                    if n == 1 { "line" } else { "lines" }
                ));
            }
        }
        Action::Copy => match lv.selected_text(store) {
            Some(t) => {
                app.effects.push(Effect::Copy(t));
                app.say("copied the selected line");
            }
            None => app.say("nothing to copy"),
        },
        Action::CopyAll => {
            let text = view_text(store.view(lv.selection()), lv.timestamps());
            let lines = text.lines().count();
            app.effects.push(Effect::Copy(text));
            app.say(format!("copied {lines} lines"));
        }
        Action::Save => {
            let sel = lv.selection();
            let node = match sel {
                Selection::All => "all".to_string(),
                Selection::Node(n) => store.node_name(n).to_string(),
            };
            let run = app.run_id.clone().unwrap_or_else(|| "norun".into());
            let text = view_text(store.view(sel), lv.timestamps());
            let path = PathBuf::from(super::export::default_save_name(&run, &node));
            app.effects.push(Effect::Save { path, text });
        }
        _ => {}
    }
}

/// Applies an engine event; `t` is its time since the run started when the stream says it (a
/// run in a run host), else the event is taken as happening now.
fn engine_event(app: &mut App, e: Event, t: Option<Duration>) {
    let at = t.unwrap_or_else(|| app.elapsed());
    // Every event but a log line may change a state, a token or the running count.
    app.dirty.list |= !matches!(e, Event::NodeLog { .. });
    engine_event_at(app, e, at);
    // Events from before the screen opened (an attach catching up) move the run's start back,
    // so running nodes show the time they have really run.
    if let (Some(t), Some(start)) = (t, app.run_started)
        && app.now.saturating_duration_since(start) < t
    {
        app.run_started = app.now.checked_sub(t).or(Some(start));
    }
}

fn engine_event_at(app: &mut App, e: Event, at: Duration) {
    match e {
        Event::RunStarted {
            run_id,
            record,
            nodes,
            inputs,
            started,
            ..
        } => {
            app.runs += 1;
            app.vars = Some(Vars::new(inputs));
            let paths: usize = app.wf.nodes.iter().map(|n| n.errors.len()).sum();
            app.edges = vec![EdgeRun::default(); app.wf.edges.len() + paths];
            app.phase = if app.quit_after_run {
                Phase::Stopping
            } else {
                Phase::Running
            };
            app.run_started = Some(app.now);
            app.run_duration = None;
            app.status = None;
            app.summary.clear();
            app.purged = false;
            app.run_id = Some(run_id);
            app.record = Some(record);
            app.pty_size = None;
            app.send_pty_size();
            app.rows_frozen = false;
            app.refresh_rows();
            let keep = app.logview.selection();
            let mut lv = app.logview.fresh(Selection::All);
            app.logs = LogStore::new(app.log_config);
            app.nodes = vec![NodeView::new(); app.wf.nodes.len()];
            for id in &nodes {
                let idx = app.logs.add_node(id);
                if let Some(i) = app.node_index(id) {
                    app.nodes[i].log = Some(idx);
                }
            }
            // The wall clock of the run's start: the engine's, else now less the event's time.
            let wall = started
                .as_deref()
                .and_then(|s| s.parse::<jiff::Timestamp>().ok())
                .map(|t| t.as_millisecond())
                .or_else(|| {
                    jiff::Timestamp::now()
                        .as_millisecond()
                        .checked_sub(i64::try_from(at.as_millis()).ok()?)
                });
            lv.set_wall_start(wall);
            app.logview = lv;
            if let Selection::Node(_) = keep {
                app.logview.select(node_selection(app));
            }
            app.dirty.texts = true;
            app.dirty.layout = true;
        }
        Event::NodeStarted { node, attempt, .. } => {
            if let Some(i) = app.node_index(&node) {
                let v = &mut app.nodes[i];
                // A queued attempt that now runs keeps its job (and a stop already asked for);
                // any other start is a new attempt.
                let was_queued = v.is_queued() && v.attempt == attempt;
                match (&mut v.cluster, was_queued) {
                    (Some(c), true) => c.queued = false,
                    _ => {
                        v.cluster = None;
                        v.kill_at = None;
                    }
                }
                v.state = NodeState::Running;
                // Its time (and its `timeout`) counts from here, not from its queueing.
                v.since = at;
                v.attempt = attempt;
                v.timer_end = None;
                v.retry_at = None;
                // The new attempt's own end will say how it went.
                (v.exit_code, v.signal, v.reason) = (None, None, None);
                app.dirty.texts = true;
            }
        }
        Event::NodeQueued {
            node,
            attempt,
            executor,
            job,
        } => {
            if let Some(i) = app.node_index(&node) {
                let v = &mut app.nodes[i];
                // Sent again for the same attempt when the job id becomes known: the queued
                // time goes on.
                let again = v.is_queued() && v.attempt == attempt;
                let job = job
                    .map(|j| crate::safe::line(&j).into_owned())
                    .or_else(|| again.then(|| v.cluster.as_ref()?.job.clone()).flatten());
                if !again {
                    v.state = NodeState::Running;
                    v.since = at;
                    v.attempt = attempt;
                    v.timer_end = None;
                    v.retry_at = None;
                    v.kill_at = None;
                    (v.exit_code, v.signal, v.reason) = (None, None, None);
                }
                v.cluster = Some(ClusterJob {
                    executor: crate::safe::line(&executor).into_owned(),
                    job,
                    queued: true,
                });
                app.dirty.texts = true;
            }
        }
        Event::NodeStopping {
            node, kill_in_ms, ..
        } => {
            if let Some(i) = app.node_index(&node) {
                app.nodes[i].kill_at = Some(at + Duration::from_millis(kill_in_ms));
                app.dirty.texts = true;
            }
        }
        Event::TimerStarted {
            node, duration_ms, ..
        } => {
            if let Some(i) = app.node_index(&node) {
                app.nodes[i].timer_end = Some(at + Duration::from_millis(duration_ms));
                app.dirty.texts = true;
            }
        }
        Event::RetryScheduled {
            node,
            next,
            delay_ms,
            ..
        } => {
            if let Some(i) = app.node_index(&node) {
                let v = &mut app.nodes[i];
                v.state = NodeState::Waiting;
                v.cluster = None;
                v.attempt = next;
                v.retry_at = Some(at + Duration::from_millis(delay_ms));
                app.dirty.texts = true;
            }
        }
        Event::ErrorCaught { node, code, to, .. } => {
            if let Some(i) = app.node_index(&node) {
                if let Some(r) = crate::ui::graph::error_path_number(&app.wf, i, &code)
                    .and_then(|k| app.edges.get_mut(k))
                {
                    r.taken += 1;
                }
                let to = app
                    .node_index(&to)
                    .map_or(std::borrow::Cow::Borrowed(to.as_ref()), |k| {
                        app.wf.nodes[k].line_label()
                    });
                app.nodes[i].caught = Some(crate::safe::line(&format!("{code} → {to}")).into());
            }
        }
        Event::EdgeTaken { edge, from, .. } => {
            if let Some(r) = app.edges.get_mut(edge) {
                r.taken += 1;
            }
            // A gateway has no events of its own but its decisions and the tokens it passes.
            if let Some(i) = app.node_index(&from)
                && app.wf.nodes[i].kind.is_gateway()
            {
                let v = &mut app.nodes[i];
                v.state = NodeState::Done(NodeOutcome::Succeeded);
                if app.wf.nodes[i].kind == NodeKind::Parallel {
                    // The workflow's edges out of it, by index (no id compared per edge).
                    v.attempt.iteration = app
                        .edge_ends
                        .iter()
                        .take(app.wf.edges.len())
                        .zip(&app.edges)
                        .filter(|((from, _), _)| *from == Some(i))
                        .map(|(_, r)| r.taken)
                        .max()
                        .unwrap_or(0);
                }
                app.dirty.texts = true;
            }
            app.gateway_rows_changed(Some(edge), None);
        }
        Event::GatewayDecision {
            node,
            iteration,
            conditions,
            taken,
            reason,
        } => {
            let pos = conditions.iter().position(|c| Some(c.edge) == taken);
            for (k, c) in conditions.iter().enumerate() {
                if let Some(r) = app.edges.get_mut(c.edge) {
                    r.verdict = Some(mapping::Verdict {
                        value: c.value,
                        taken: Some(c.edge) == taken,
                        skipped: pos.is_some_and(|p| k > p) && !c.default,
                        error: c
                            .error
                            .as_deref()
                            .map(|e| crate::safe::line(e).into_owned()),
                    });
                }
            }
            if let Some(i) = app.node_index(&node) {
                let v = &mut app.nodes[i];
                v.attempt.iteration = iteration;
                if taken.is_none() {
                    v.state = NodeState::Done(NodeOutcome::Failed);
                    v.reason = reason.map(|r| crate::safe::line(&r).into_owned());
                }
                app.dirty.texts = true;
            }
            let i = app.node_index(&node);
            app.gateway_rows_changed(None, i);
        }
        Event::NodeLog {
            node,
            stream,
            data,
            redacted,
            ..
        } => {
            if let Some(idx) = app.logs.node_index(&node) {
                let s = match stream {
                    Stream::Stdout => LogStream::Stdout,
                    Stream::Stderr => LogStream::Stderr,
                };
                app.logs.push_marked(idx, s, &data, &redacted, at);
            }
        }
        Event::NodeFinished {
            node,
            status,
            duration_ms,
            exit_code,
            signal,
            reason,
            ..
        } => {
            if let Some(idx) = app.logs.node_index(&node) {
                app.logs.finish(idx, LogStream::Stdout, at);
                app.logs.finish(idx, LogStream::Stderr, at);
            }
            if let Some(i) = app.node_index(&node) {
                let v = &mut app.nodes[i];
                v.state = NodeState::Done(status);
                v.took = Duration::from_millis(duration_ms);
                v.timer_end = None;
                v.kill_at = None;
                // Its job stays named (an operator looks it up with `sacct -j`).
                if let Some(c) = &mut v.cluster {
                    c.queued = false;
                }
                v.exit_code = exit_code;
                v.signal = signal;
                v.reason = reason.map(|r| crate::safe::line(&r).into_owned());
                app.dirty.texts = true;
            }
        }
        Event::Reusing {
            run_id,
            from,
            nodes,
            ..
        } => {
            let what = match nodes.is_empty() {
                true => "nothing".to_string(),
                false => nodes.join(", "),
            };
            app.say(format!("rerun from {from}, reusing run {run_id}: {what}"));
        }
        Event::NodeReused { node, run_id, .. } => {
            if let Some(i) = app.node_index(&node) {
                app.nodes[i].reused = Some(crate::safe::line(&run_id).into_owned());
                app.dirty.texts = true;
            }
        }
        Event::NodeInputs { node, inputs, .. } => {
            let i = app.node_index(&node);
            if let Some(i) = i {
                app.nodes[i].inputs = Some(inputs);
            }
            // Only this node's rows show what its attempt was given.
            app.refresh_rows_of(|k| Some(k) == i);
        }
        Event::OutputFiles { node, files, .. } => {
            if let Some(i) = app.node_index(&node) {
                app.nodes[i].files = files;
                app.dirty.texts = true;
            }
        }
        Event::NodeSkipped { node, reason } => {
            if let Some(i) = app.node_index(&node) {
                app.nodes[i].state = NodeState::Done(NodeOutcome::Skipped);
                app.nodes[i].cluster = None;
                app.nodes[i].reason = Some(crate::safe::line(&reason).into_owned());
                app.dirty.texts = true;
            }
        }
        Event::Redactions { node, counts } => {
            if let Some(i) = app.node_index(&node) {
                app.nodes[i].redactions = counts;
                app.dirty.texts = true;
            }
        }
        // Later mappings' previews resolve as soon as the values they read exist.
        Event::Outputs { variables, .. } => {
            if let Some(vars) = app.vars.as_mut() {
                vars.extend(variables);
            }
            app.refresh_rows();
        }
        Event::Warning { node, message } => match node {
            Some(n) => app.warn(format!("{n}: {message}")),
            None => app.warn(message),
        },
        Event::SecretsPurged => {
            app.purged = true;
            // The last evaluation with the secrets at hand to redact it.
            app.refresh_stale_rows(|_| true);
            app.rows_frozen = true;
            if let Some(r) = app.preview.take() {
                r.purge();
            }
        }
        Event::RunFinished {
            status,
            duration_ms,
            nodes,
        } => {
            app.status = Some(status);
            app.run_duration = Some(Duration::from_millis(duration_ms));
            app.summary = nodes;
        }
    }
}

/// A run host's stream ended: the run's end was in it (`Ok`), or the host went away.
fn stream_ended(app: &mut App, r: Result<(), String>) {
    if let Err(e) = r {
        app.warn(format!("{e} (see wfop runs)"));
        app.status.get_or_insert(RunStatus::Failed);
    }
    app.engine_live = false;
    if let Some(r) = app.preview.take() {
        r.purge();
    }
    run_over(app);
}

/// Leaves a run in its run host going and quits.
fn detach(app: &mut App) {
    let id = app.run_id.clone().unwrap_or_else(|| "last".to_string());
    app.exit_note = Some(if app.engine_live {
        format!("wfop: detached; run {id} goes on — attach again with: wfop attach {id}")
    } else {
        format!("wfop: run {id} has ended — look at it again with: wfop attach {id}")
    });
    app.detached = app.engine_live;
    app.exit = Some(if app.engine_live { 0 } else { app.final_code() });
}

fn engine_done(app: &mut App, r: Result<RunReport, String>) {
    app.engine_live = false;
    match r {
        Ok(report) => {
            app.vars = Some(Vars::new(report.variables));
            if app.status.is_none() {
                app.status = Some(report.status);
                app.summary = report.nodes;
            }
        }
        Err(e) => {
            if let Some(r) = app.preview.take() {
                r.purge();
            }
            app.warn(format!("the run could not start: {e}"));
            app.status.get_or_insert(RunStatus::Failed);
        }
    }
    run_over(app);
}

/// The run is over (engine returned, or its host's stream ended): quit if asked, else say how
/// it went.
fn run_over(app: &mut App) {
    app.phase = Phase::Finished;
    if app.quit_after_run {
        app.exit = Some(app.final_code());
    } else if let Some(s) = app.status {
        let text = match s {
            RunStatus::Succeeded if app.host == RunHome::Attached => {
                "run succeeded — q quits".to_string()
            }
            RunStatus::Succeeded => "run succeeded — r runs again, q quits".to_string(),
            RunStatus::Failed => "run failed — select a node for its reason and logs".to_string(),
            RunStatus::Cancelled => "run cancelled".to_string(),
            RunStatus::Interrupted { signal } => format!("run interrupted by signal {signal}"),
        };
        if app.message.as_ref().is_none_or(|m| !m.error) {
            app.say(text);
        }
    }
}

/// A redactor holding the run's secrets, for the mapping previews the TUI evaluates itself.
fn preview_redactor(store: &SecretStore) -> Redactor {
    let r = Redactor::new();
    // One build for all; a secret the engine refuses (empty) is refused here too.
    let _ = r.add_secrets(store.iter());
    r
}

/// A mapping row as it may be drawn: names, expressions, notes and sources escaped
/// (`safe`), previews (JSON) with JSON's own escapes for what serde leaves raw.
fn terminal_safe_row(row: &mut MapRow) {
    use crate::safe;
    let line = |s: &mut String| *s = safe::line(s.as_str()).into_owned();
    line(&mut row.name);
    line(&mut row.value);
    match &mut row.resolved {
        mapping::Resolved::Value(t) => *t = safe::json(t).into_owned(),
        mapping::Resolved::Note(t) | mapping::Resolved::Taken(t) => line(t),
        mapping::Resolved::Secret {
            param,
            secret,
            source,
        } => {
            line(param);
            line(secret);
            if let Some(s) = source {
                line(s);
            }
        }
    }
}
