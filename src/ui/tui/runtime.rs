//! `wfop run` in the terminal UI: the shared start (`ui::start`; errors exit 2 before the screen
//! opens), the event loop (engine and input threads, one channel of `AppEvent`s, frames
//! coalesced), effects, signals, terminal restore, and the summary printed after exit.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use crossterm::event::{Event as TermEvent, KeyCode, KeyEventKind};
use ratatui::Terminal;

use super::app::{self, App, AppEvent, EXIT_INVALID, Effect, EffectDone, RunHome};
use super::backend::FitBackend;
use super::export::{self, Multiplexer};
use super::fit::Fit;
use super::terminal::{self, FrameCoalescer, TerminalGuard};
use super::theme::Theme;
use super::view;
use crate::engine::record::RunDoc;
use crate::engine::{self, CancelToken, RunControl, setup};
use crate::host;
use crate::safe;
use crate::secrets::prompt::BURST_GAP;
use crate::ui::remote;
use crate::ui::start::RunRequest;
use crate::ui::summary::{self, Layout, Summary};
use crate::workflow::LoadOptions;

/// What only the TUI needs of `wfop run`'s arguments (the rest is the `RunRequest`).
#[derive(Debug, Clone)]
pub struct TuiOptions {
    /// From `--theme NAME|PATH` or `WFOP_THEME`.
    pub theme: Theme,
    /// `--scrollback N`: log lines kept per node (and in the all-nodes view).
    pub scrollback: Option<usize>,
    /// `--scrollback-mib N`: bytes the log buffer of a run may hold, in MiB.
    pub scrollback_mib: Option<usize>,
    /// `--stop-on-hangup`: the run in this process (losing the terminal stops it), not in a
    /// run host.
    pub in_process: bool,
    /// Colour depth, ASCII drawing and mouse for this terminal.
    pub fit: Fit,
}

/// Engine events waiting for the UI at most: more slows the services' output down (the engine
/// never drops any) instead of growing memory, and a key never queues behind more than these.
const IN_FLIGHT: usize = 16;
/// Longest the loop spends taking in events before it looks at keys and frames again.
const DRAIN_BUDGET: Duration = Duration::from_millis(15);
const TICK_RUNNING: Duration = Duration::from_millis(100);
const TICK_IDLE: Duration = Duration::from_millis(500);
/// Signals are checked at least this often.
const SIGNAL_POLL: Duration = Duration::from_millis(100);

/// Runs `wfop run` in the TUI; returns the exit code (0, 1, 2, or 128 + signal).
pub fn run(request: RunRequest, options: TuiOptions) -> i32 {
    let started = match request.start() {
        Ok(started) => started,
        Err(code) => return code,
    };
    // What the engine (here or in the run host, on this machine) bounds its services by.
    let max_parallel = request.options(started.state_dir.clone()).max_parallel;
    let home = if options.in_process {
        RunHome::InProcess
    } else {
        RunHome::Host
    };
    let ui = Ui {
        request: Some(request),
        scrollback: options.scrollback,
        scrollback_mib: options.scrollback_mib,
        state_dir: started.state_dir,
        cancel: None,
        control: None,
        commands: Arc::default(),
        attach: None,
        home,
        pending: None,
    };
    let prepared = started.prepared;
    let theme = options.theme;
    let fit = options.fit;
    with_screen(ui, &started.warnings, fit, move |now| {
        let mut app = App::new(prepared, theme, fit.charset, now);
        app.host = home;
        app.max_parallel = Some(max_parallel);
        app.fit = fit;
        app
    })
}

/// `wfop attach RUN` in the TUI: a live run followed through its host, a finished one replayed
/// from its record; returns the exit code (0 after detaching, else the run's).
pub fn attach(state_dir: &Path, run: &str, theme: Theme, fit: Fit) -> i32 {
    let (dir, doc) = match remote::find(state_dir, run) {
        Ok(found) => found,
        Err(code) => return code,
    };
    let load = LoadOptions {
        process: doc.process.clone(),
        services: doc.services.clone(),
    };
    let wf = match setup::load_workflow(&doc.workflow_path, &load) {
        Ok((wf, _)) => wf,
        Err(e) => {
            eprintln!(
                "wfop: run {}: cannot read its workflow {}: {}\nwfop: its logs: wfop logs {}",
                safe::line(&doc.run_id),
                safe::path(&doc.workflow_path),
                safe::text(&e.to_string()),
                safe::line(&doc.run_id)
            );
            return EXIT_INVALID;
        }
    };
    let ui = Ui {
        request: None,
        scrollback: None,
        scrollback_mib: None,
        state_dir: state_dir.to_path_buf(),
        cancel: None,
        control: None,
        commands: Arc::default(),
        attach: Some((dir, doc)),
        home: RunHome::Attached,
        pending: None,
    };
    with_screen(ui, "", fit, move |now| {
        let mut app = App::attached(wf, theme, fit.charset, now);
        app.fit = fit;
        app
    })
}

/// Opens the screen, runs the loop on the app `make` builds, restores the terminal and prints
/// what comes after (warnings, the exit note, the summary).
fn with_screen(mut ui: Ui, warnings: &str, fit: Fit, make: impl FnOnce(Instant) -> App) -> i32 {
    let signals = match Signals::register() {
        Ok(s) => s,
        Err(e) => {
            eprintln!(
                "wfop: cannot watch for signals: {}",
                safe::text(&e.to_string())
            );
            return EXIT_INVALID;
        }
    };

    terminal::install_panic_hook();
    let mut guard = match TerminalGuard::enter(fit.mouse) {
        Ok(g) => g,
        Err(e) => {
            eprintln!(
                "wfop: cannot use the terminal: {} (try --plain)",
                safe::text(&e.to_string())
            );
            return EXIT_INVALID;
        }
    };
    let (code, app) = {
        let out = ui.event_loop(make(Instant::now()), &signals);
        // The engine may still be running only if the loop ended on an error: stop it.
        if let Some(c) = &ui.cancel {
            c.kill();
        }
        out
    };
    let failed = guard.restore();
    let mut err = io::stderr().lock();
    for e in failed {
        let _ = writeln!(
            err,
            "wfop: warning: restoring the terminal: {}",
            safe::text(&e.to_string())
        );
    }
    if !warnings.is_empty() {
        let _ = write!(err, "{}", safe::styled(warnings));
    }
    match app {
        Some(app) => {
            if let Some(note) = &app.exit_note {
                let _ = writeln!(err, "{}", safe::text(note));
            }
            if app.runs > 0 && !app.detached {
                let _ = write!(io::stdout().lock(), "{}", safe::text(&summary(&app)));
            }
        }
        None => {
            let _ = writeln!(err, "wfop: the terminal failed; the run was stopped");
        }
    }
    code
}

/// The stop signals (`engine::signals::stop_signals`: TERM, HUP, INT, QUIT, USR1…) as flags
/// the loop polls (the engine, while running, sees them too and cancels the run; the registry
/// calls every handler). The loop then quits through the usual path: terminal restored.
struct Signals {
    flags: Vec<(i32, Arc<AtomicBool>)>,
}

impl Signals {
    fn register() -> io::Result<Signals> {
        let mut flags = Vec::new();
        for sig in engine::signals::stop_signals() {
            let flag = Arc::new(AtomicBool::new(false));
            signal_hook::flag::register(sig, flag.clone())?;
            flags.push((sig, flag));
        }
        Ok(Signals { flags })
    }

    fn take(&self) -> Option<i32> {
        self.flags
            .iter()
            .find(|(_, f)| f.swap(false, Ordering::SeqCst))
            .map(|(s, _)| *s)
    }
}

struct Ui {
    /// Read again (not parsed again) for a rerun; none for `wfop attach`.
    request: Option<RunRequest>,
    scrollback: Option<usize>,
    scrollback_mib: Option<usize>,
    state_dir: PathBuf,
    /// A run in this process.
    cancel: Option<CancelToken>,
    /// The in-process run's node commands (`None`: the run lives in a host, or is followed).
    control: Option<RunControl>,
    /// A run in a run host: its commands and its pid.
    commands: Arc<Mutex<Option<(host::client::Commands, u32)>>>,
    /// `wfop attach`: the run's record folder and `run.json`.
    attach: Option<(PathBuf, RunDoc)>,
    /// Where the runs live.
    home: RunHome,
    /// A stop signal to pass on once the run host is there.
    pending: Option<i32>,
}

impl Ui {
    /// The loop; returns the exit code and the app (None if the terminal failed).
    fn event_loop(&mut self, mut app: App, signals: &Signals) -> (i32, Option<App>) {
        let backend = FitBackend::new(io::stdout());
        let mut term = match Terminal::new(backend) {
            Ok(t) => t,
            Err(_) => return (1, None),
        };
        let (tx, rx) = mpsc::channel::<AppEvent>();
        let credits = Arc::new(Credits::default());
        let prompt_open = Arc::new(AtomicBool::new(false));
        spawn_input(tx.clone(), prompt_open.clone());
        if let Some(n) = self.scrollback {
            app.log_config.max_lines = n.max(1);
        }
        if let Some(n) = self.scrollback_mib {
            app.log_config.max_bytes = n.max(1).saturating_mul(1024 * 1024);
        }
        if let Ok(size) = term.size() {
            app::update(&mut app, AppEvent::Resize(size.width, size.height));
        }
        let mut frames = FrameCoalescer::default();
        let mut next_tick = Instant::now();
        loop {
            prompt_open.store(app.prompt.is_some(), Ordering::SeqCst);
            for eff in app.take_effects() {
                self.effect(eff, &tx, &credits, term.backend_mut());
                frames.mark_urgent();
            }
            self.forward_pending();
            if let Some(code) = app.exit_code() {
                return (code, Some(app));
            }
            let now = Instant::now();
            if frames.should_draw(now) {
                // A failed frame (a terminal gone after SIGHUP) is not fatal: the signal ends us.
                let _ = terminal::draw_synchronized(&mut term, |f| view::view(&app, f));
                frames.drew(Instant::now());
            }
            let tick = if app.is_running() {
                TICK_RUNNING
            } else {
                TICK_IDLE
            };
            let scanning = app.logview.scan_pending(&app.logs);
            let wait = frames
                .wait(now)
                .unwrap_or(SIGNAL_POLL)
                .min(next_tick.saturating_duration_since(now))
                .min(if scanning {
                    Duration::ZERO
                } else {
                    SIGNAL_POLL
                });
            match rx.recv_timeout(wait) {
                Ok(ev) => {
                    let urgent = take_in(&mut app, ev, &credits);
                    let start = Instant::now();
                    let mut urgent_any = urgent;
                    // Take what else is waiting, within a budget, so keys stay quick.
                    while start.elapsed() < DRAIN_BUDGET {
                        match rx.try_recv() {
                            Ok(ev) => urgent_any |= take_in(&mut app, ev, &credits),
                            Err(_) => break,
                        }
                    }
                    if urgent_any {
                        frames.mark_urgent();
                    } else {
                        frames.mark_dirty();
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return (1, Some(app)),
            }
            let now = Instant::now();
            if now >= next_tick {
                app::update(&mut app, AppEvent::Tick(now));
                next_tick = now + tick;
                if app.is_running()
                    || app.logview.search.is_active()
                    || app.logview.filter.is_some()
                {
                    frames.mark_dirty();
                }
            }
            // A search or filter still scanning takes its next slice at once (each is
            // bounded, and keys are read between two): the full count comes as fast as the
            // scan, not one slice per tick.
            if app.logview.scan_pending(&app.logs) {
                app.logview.tick(&app.logs);
                frames.mark_dirty();
            }
            if let Some(sig) = signals.take() {
                app::update(&mut app, AppEvent::Signal(sig));
                frames.mark_urgent();
            }
        }
    }

    fn effect(
        &mut self,
        eff: Effect,
        tx: &Sender<AppEvent>,
        credits: &Arc<Credits>,
        out: &mut impl Write,
    ) {
        match eff {
            Effect::Prepare => {
                let Some(request) = self.request.clone() else {
                    return;
                };
                let tx = tx.clone();
                std::thread::spawn(move || {
                    // The status line gets one line, never a source excerpt.
                    let r = request.prepare_again().map(Box::new);
                    let _ = tx.send(AppEvent::Prepared(r));
                });
            }
            Effect::PrepareFrom { node, record } => {
                let Some(request) = self.request.clone() else {
                    return;
                };
                let tx = tx.clone();
                std::thread::spawn(move || {
                    let r = request.prepare_rerun_from(&node, &record).map(Box::new);
                    let _ = tx.send(AppEvent::Prepared(r));
                });
            }
            Effect::Start(prepared) if self.home == RunHome::Host => {
                let Some(request) = self.request.clone() else {
                    return;
                };
                let state_dir = self.state_dir.clone();
                let (tx, credits, commands) = (tx.clone(), credits.clone(), self.commands.clone());
                std::thread::spawn(move || {
                    let stream = remote::launch(&request, &state_dir, *prepared).and_then(|l| {
                        host::Client::connect(&l.record, host::Mode::Attach)
                            .map(remote::Stream::Live)
                    });
                    match stream {
                        Ok(stream) => follow(stream, &tx, &credits, &commands),
                        Err(e) => {
                            let _ = tx.send(AppEvent::EngineDone(Err(e)));
                        }
                    }
                });
            }
            Effect::Attach => {
                let Some((dir, doc)) = self.attach.clone() else {
                    return;
                };
                let (tx, credits, commands) = (tx.clone(), credits.clone(), self.commands.clone());
                std::thread::spawn(move || match remote::open(&dir, &doc) {
                    Ok(stream) => follow(stream, &tx, &credits, &commands),
                    Err(e) => {
                        let _ = tx.send(AppEvent::StreamEnded(Err(e)));
                    }
                });
            }
            Effect::Start(prepared) => {
                let Some(request) = &self.request else {
                    return;
                };
                let options = request.options_for(self.state_dir.clone(), &prepared);
                self.cancel = Some(options.cancel.clone());
                self.control = Some(options.control.clone());
                let tx = tx.clone();
                let credits = credits.clone();
                std::thread::spawn(move || {
                    let p = *prepared;
                    let sink_tx = tx.clone();
                    let r = engine::run(p.workflow, p.inputs, p.secrets, options, move |e| {
                        credits.acquire();
                        let _ = sink_tx.send(AppEvent::Engine(e));
                    });
                    let _ = tx.send(AppEvent::EngineDone(r.map_err(|e| e.to_string())));
                });
            }
            Effect::Cancel | Effect::Kill => {
                let kill = matches!(eff, Effect::Kill);
                let command = if kill {
                    host::Command::Kill
                } else {
                    host::Command::Cancel
                };
                if let Some(c) = &self.cancel {
                    if kill { c.kill() } else { c.cancel() }
                } else if !self.command(command)
                    && let Some((_, doc)) = &self.attach
                {
                    // A run in line mode (no host) is followed from its log, read only.
                    let why = format!(
                        "this run has no host to ask (it runs in line mode): stop it with kill {}",
                        doc.pid
                    );
                    let _ = tx.send(AppEvent::EffectDone(EffectDone::StopRefused(why)));
                }
            }
            Effect::Node(cmd) => {
                // The terminals' size is a hint: a run that cannot take it needs no word.
                let hint = matches!(cmd, engine::NodeCommand::Resize { .. });
                let sent = match &self.control {
                    Some(c) => c.send(cmd),
                    None => self.command(host::Command::from(cmd)),
                };
                if !sent
                    && !hint
                    && let Some((_, doc)) = &self.attach
                {
                    let why = format!(
                        "this run has no host to ask (it runs in line mode, pid {}): its nodes \
                         cannot be steered from here",
                        doc.pid
                    );
                    let _ = tx.send(AppEvent::EffectDone(EffectDone::StopRefused(why)));
                }
            }
            Effect::Forward(sig) => self.forward(sig),
            Effect::Copy(text) => {
                let mut mux = Multiplexer::detect(|k| std::env::var(k).ok());
                // Inside tmux: will the sequence reach the outer terminal? (read each time:
                // the operator may just have changed the setting)
                if mux == Multiplexer::Tmux {
                    let pass = export::tmux_option("allow-passthrough");
                    let clip = export::tmux_option("set-clipboard");
                    match export::tmux_route(pass.as_deref(), clip.as_deref()) {
                        export::TmuxRoute::Passthrough => {}
                        export::TmuxRoute::Direct => mux = Multiplexer::None,
                        export::TmuxRoute::Blocked(why) => {
                            let _ = tx.send(AppEvent::EffectDone(EffectDone::CopyFailed(why)));
                        }
                    }
                }
                match export::osc52(&text, mux) {
                    Ok(seq) => {
                        let _ = out.write_all(seq.as_bytes()).and_then(|_| out.flush());
                    }
                    Err(e) => {
                        let _ =
                            tx.send(AppEvent::EffectDone(EffectDone::CopyFailed(e.to_string())));
                    }
                }
            }
            Effect::Save { path, text } => {
                let done = match export::save_log_fresh(&path, &text) {
                    Ok(saved) => EffectDone::Saved(saved),
                    Err(e) => EffectDone::SaveFailed {
                        path,
                        error: e.to_string(),
                    },
                };
                let _ = tx.send(AppEvent::EffectDone(done));
            }
        }
    }
}

impl Ui {
    /// Sends a command to the run host of the run this screen follows; false without one.
    fn command(&self, c: host::Command) -> bool {
        match self
            .commands
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_mut()
        {
            Some((cmds, _)) => cmds.send(c).is_ok(),
            None => false,
        }
    }

    /// Passes a stop signal on to the run host (same user: allowed); while the host is still
    /// starting, keeps it for when it is there (`pending`).
    fn forward(&mut self, sig: i32) {
        if !self.forward_now(sig) {
            self.pending = Some(sig);
        }
    }

    /// Passes a signal kept while the host was starting, once it is there.
    fn forward_pending(&mut self) {
        if let Some(sig) = self.pending
            && self.forward_now(sig)
        {
            self.pending = None;
        }
    }

    fn forward_now(&self, sig: i32) -> bool {
        let pid = self
            .commands
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(|(_, pid)| *pid);
        let target = pid.and_then(|p| rustix::process::Pid::from_raw(p as i32));
        let signal = rustix::process::Signal::from_named_raw(sig);
        match (target, signal) {
            (Some(p), Some(s)) => rustix::process::kill_process(p, s).is_ok(),
            _ => false,
        }
    }
}

/// Feeds a run host's stream (or a record's event log) to the app, with the same back-pressure
/// as the engine's events: this thread waits, the host holds the rest for it (or the file
/// does). Ends after the run's end, or with the reason the stream ended before it.
fn follow(
    stream: remote::Stream,
    tx: &Sender<AppEvent>,
    credits: &Credits,
    commands: &Mutex<Option<(host::client::Commands, u32)>>,
) {
    let live = matches!(stream, remote::Stream::Live(_));
    if let remote::Stream::Live(c) = &stream {
        *commands.lock().unwrap_or_else(|e| e.into_inner()) =
            c.commands().ok().map(|cmds| (cmds, c.host.pid));
    }
    let mut end = None;
    for batch in stream.into_batches() {
        let mut events = Vec::with_capacity(batch.len());
        for line in batch {
            match line {
                Ok(host::Incoming::Event { t, event }) => {
                    let last = matches!(event, engine::Event::RunFinished { .. });
                    events.push((event, t));
                    if last {
                        end = Some(Ok(()));
                        break;
                    }
                }
                Ok(host::Incoming::Error(e)) => {
                    end = Some(Err(format!("the run host says: {e}")));
                    break;
                }
                // A line this wfop cannot read is skipped; the record has it.
                Ok(host::Incoming::Status(_)) | Err(_) => {}
            }
        }
        if !events.is_empty() {
            credits.acquire();
            if tx.send(AppEvent::RemoteBatch(events)).is_err() {
                end = Some(Ok(()));
            }
        }
        if end.is_some() {
            break;
        }
        if live {
            // What the host sends meanwhile is taken as the next batch.
            std::thread::sleep(GATHER);
        }
    }
    let end = end.unwrap_or_else(|| Err("the run host went away before the run's end".to_string()));
    let _ = tx.send(AppEvent::StreamEnded(end));
}

/// How long the reader of a live host's stream lets its events gather after each batch: under a
/// flood the screen wakes a few hundred times a second, not once per read of the service's
/// output (the host's socket buffers far more than a flood writes in this time).
const GATHER: Duration = Duration::from_millis(2);

/// Back-pressure for engine events: the sink waits while `IN_FLIGHT` are queued.
#[derive(Default)]
struct Credits {
    queued: Mutex<usize>,
    freed: Condvar,
}

impl Credits {
    fn acquire(&self) {
        let mut n = self.queued.lock().unwrap_or_else(|e| e.into_inner());
        while *n >= IN_FLIGHT {
            n = self.freed.wait(n).unwrap_or_else(|e| e.into_inner());
        }
        *n += 1;
    }

    fn release(&self) {
        let mut n = self.queued.lock().unwrap_or_else(|e| e.into_inner());
        *n = n.saturating_sub(1);
        self.freed.notify_one();
    }
}

/// Feeds one event to the app; true when it came from the operator (draw at once).
fn take_in(app: &mut App, ev: AppEvent, credits: &Credits) -> bool {
    if let AppEvent::Engine(_) | AppEvent::Remote(..) | AppEvent::RemoteBatch(_) = ev {
        credits.release();
    }
    let urgent = matches!(
        ev,
        AppEvent::Key(_)
            | AppEvent::PastedEnter(_)
            | AppEvent::Paste(_)
            | AppEvent::Resize(..)
            | AppEvent::Signal(_)
            | AppEvent::EngineDone(_)
            | AppEvent::StreamEnded(_)
            | AppEvent::Prepared(_)
            | AppEvent::EffectDone(_)
            | AppEvent::Mouse(_)
    );
    app::update(app, ev);
    urgent
}

/// Reads the terminal's input on a thread of its own and forwards keys, pastes, resizes and
/// the mouse events the screen uses.
/// While the secret prompt is open, an Enter that more input follows at once is sent as a
/// [`AppEvent::PastedEnter`]: text pasted without brackets arrives as keys, and its line breaks
/// must neither confirm the field nor let the rest of the paste become commands.
fn spawn_input(tx: Sender<AppEvent>, prompt_open: Arc<AtomicBool>) {
    std::thread::spawn(move || {
        loop {
            let ev = match crossterm::event::read() {
                Ok(TermEvent::Key(k))
                    if k.code == KeyCode::Enter
                        && k.kind == KeyEventKind::Press
                        && prompt_open.load(Ordering::SeqCst)
                        && crossterm::event::poll(BURST_GAP).unwrap_or(false) =>
                {
                    AppEvent::PastedEnter(k)
                }
                Ok(TermEvent::Key(k)) => AppEvent::Key(k),
                Ok(TermEvent::Paste(s)) => AppEvent::Paste(s),
                Ok(TermEvent::Resize(w, h)) => AppEvent::Resize(w, h),
                Ok(TermEvent::Mouse(m)) if super::mouse::wanted(&m) => AppEvent::Mouse(m),
                Ok(_) => continue,
                Err(_) => return,
            };
            if tx.send(ev).is_err() {
                return;
            }
        }
    });
}

/// The text printed on the normal screen after the TUI closes: how the last run went, per
/// node, where its record is, and the outputs it produced (as `--plain` prints them), read
/// from its record (the same wherever the run ran: here, in a run host, attached).
pub fn summary(app: &App) -> String {
    let mut text = summary::text(&Summary {
        run: Some((app.run_id.as_deref().unwrap_or("?"), &app.wf.name)),
        status: app.status,
        duration: app.run_duration,
        nodes: &app.summary,
        record: app.record.as_deref(),
        layout: Layout::Screen,
    });
    let doc = app
        .record
        .as_deref()
        .and_then(|r| crate::engine::record::read_doc(r).ok());
    if let Some((inputs, Some(vars))) = doc.map(|d| (d.inputs, d.variables)) {
        let mut out = Vec::new();
        let _ = summary::write_outputs(&mut out, &inputs, &vars);
        text.push_str(&String::from_utf8_lossy(&out));
    }
    text
}
