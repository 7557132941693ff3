//! Terminal setup and restore: raw mode, alternate screen, hidden cursor, bracketed paste, mouse
//! clicks and wheel, undone step by step (each best-effort, unread input flushed), a panic hook,
//! synchronized draws and frame coalescing.

use std::fmt;
use std::io::{self, Write};
use std::time::{Duration, Instant};

use crossterm::cursor::{Hide, Show};
use crossterm::event::{DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste};
use crossterm::execute;
use crossterm::terminal::{
    BeginSynchronizedUpdate, EndSynchronizedUpdate, EnterAlternateScreen, LeaveAlternateScreen,
    disable_raw_mode, enable_raw_mode,
};
use ratatui::backend::Backend;
use ratatui::{Frame, Terminal};

/// Owns the terminal's TUI modes; dropping it restores the terminal.
#[derive(Debug)]
pub struct TerminalGuard {
    active: bool,
}

impl TerminalGuard {
    /// Enters raw mode, the alternate screen, hides the cursor, enables bracketed paste and,
    /// with `mouse`, clicks and the wheel. If a step fails, what was done is undone and the
    /// error returned.
    pub fn enter(mouse: bool) -> io::Result<TerminalGuard> {
        let mut out = io::stdout();
        let result = enable_raw_mode()
            .and_then(|_| execute!(out, EnterAlternateScreen))
            .and_then(|_| execute!(out, Hide))
            .and_then(|_| execute!(out, EnableBracketedPaste))
            .and_then(|_| {
                if mouse {
                    execute!(out, EnableClicksAndWheel)
                } else {
                    Ok(())
                }
            });
        match result {
            Ok(()) => Ok(TerminalGuard { active: true }),
            Err(e) => {
                restore();
                Err(e)
            }
        }
    }

    /// Restores now (also done on drop); returns the steps that failed.
    pub fn restore(&mut self) -> Vec<io::Error> {
        if !std::mem::take(&mut self.active) {
            return Vec::new();
        }
        restore()
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        self.restore();
    }
}

/// Mouse reporting of presses, releases and the wheel (1000) in SGR form (1006); not motion
/// (crossterm's `EnableMouseCapture` adds every motion, 1003, which the screen has no use for).
/// Restoring turns off every mouse mode (`DisableMouseCapture`).
#[derive(Debug, Clone, Copy)]
pub struct EnableClicksAndWheel;

impl crossterm::Command for EnableClicksAndWheel {
    fn write_ansi(&self, f: &mut impl fmt::Write) -> fmt::Result {
        f.write_str("\x1b[?1000h\x1b[?1006h")
    }
}

/// Undoes every TUI mode, each step on its own so one failure does not skip the rest. Safe to
/// call more than once and when nothing was set (signal handlers, panic hook).
pub fn restore() -> Vec<io::Error> {
    let mut out = io::stdout();
    restore_steps(&mut out, || {
        // Input the TUI did not read (the rest of a paste, keys typed while it closed) was
        // meant for it, never for the shell that reads the terminal next.
        // Harmless (ENOTTY) when stdin is not a terminal.
        let _ = rustix::termios::tcflush(io::stdin(), rustix::termios::QueueSelector::IFlush);
        disable_raw_mode()
    })
}

/// The restore sequence against any writer (testable); `raw` leaves raw mode.
pub fn restore_steps(out: &mut impl Write, raw: impl FnOnce() -> io::Result<()>) -> Vec<io::Error> {
    let results = [
        execute!(out, EndSynchronizedUpdate),
        execute!(out, DisableBracketedPaste),
        execute!(out, DisableMouseCapture),
        execute!(out, Show),
        execute!(out, LeaveAlternateScreen),
    ];
    let mut errors: Vec<io::Error> = results.into_iter().filter_map(Result::err).collect();
    if let Err(e) = raw() {
        errors.push(e);
    }
    errors
}

/// Installs a panic hook that restores the terminal before the panic message is printed.
pub fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        previous(info);
    }));
}

/// Draws one frame inside a synchronized update, so terminals (and tmux, SSH) show it whole.
pub fn draw_synchronized<B: Backend + Write>(
    terminal: &mut Terminal<B>,
    f: impl FnOnce(&mut Frame),
) -> io::Result<()>
where
    B::Error: Into<io::Error>,
{
    execute!(terminal.backend_mut(), BeginSynchronizedUpdate)?;
    let drawn = terminal.draw(f).map(|_| ()).map_err(Into::into);
    let ended = execute!(terminal.backend_mut(), EndSynchronizedUpdate);
    drawn.and(ended)
}

/// Decides when to redraw: at most one frame per `min_interval` while output floods in, at once
/// after a key or resize.
#[derive(Debug, Clone)]
pub struct FrameCoalescer {
    min_interval: Duration,
    last_draw: Option<Instant>,
    dirty: bool,
    urgent: bool,
}

impl Default for FrameCoalescer {
    fn default() -> Self {
        FrameCoalescer::new(Duration::from_millis(33))
    }
}

impl FrameCoalescer {
    pub fn new(min_interval: Duration) -> Self {
        FrameCoalescer {
            min_interval,
            last_draw: None,
            dirty: true,
            urgent: true,
        }
    }

    /// State changed (e.g. log lines arrived).
    pub fn mark_dirty(&mut self) {
        self.dirty = true;
    }

    /// The operator acted (key, paste, resize): draw as soon as possible.
    pub fn mark_urgent(&mut self) {
        self.dirty = true;
        self.urgent = true;
    }

    /// True when a frame should be drawn now.
    pub fn should_draw(&self, now: Instant) -> bool {
        self.dirty
            && (self.urgent
                || self
                    .last_draw
                    .is_none_or(|t| now.saturating_duration_since(t) >= self.min_interval))
    }

    /// How long the event loop may sleep before the next frame is due (None: nothing to draw).
    pub fn wait(&self, now: Instant) -> Option<Duration> {
        if !self.dirty {
            return None;
        }
        if self.should_draw(now) {
            return Some(Duration::ZERO);
        }
        let since = self
            .last_draw
            .map_or(self.min_interval, |t| now.saturating_duration_since(t));
        Some(self.min_interval.saturating_sub(since))
    }

    /// A frame was drawn at `now`.
    pub fn drew(&mut self, now: Instant) {
        self.last_draw = Some(now);
        self.dirty = false;
        self.urgent = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restore_runs_every_step_even_when_some_fail() {
        struct Failing(Vec<u8>, usize);
        impl Write for Failing {
            fn write(&mut self, b: &[u8]) -> io::Result<usize> {
                self.1 += 1;
                if self.1 % 2 == 1 {
                    return Err(io::Error::other("boom"));
                }
                self.0.extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut w = Failing(Vec::new(), 0);
        let mut raw_called = false;
        let errors = restore_steps(&mut w, || {
            raw_called = true;
            Err(io::Error::other("no tty"))
        });
        assert!(raw_called, "raw mode is left even after earlier failures");
        assert!(!errors.is_empty());
        let mut ok = Vec::new();
        assert!(restore_steps(&mut ok, || Ok(())).is_empty());
        let s = String::from_utf8_lossy(&ok);
        for seq in [
            "\x1b[?2026l",
            "\x1b[?2004l",
            "\x1b[?25h",
            "\x1b[?1049l",
            "\x1b[?1000l",
            "\x1b[?1006l",
            "\x1b[?1003l",
        ] {
            assert!(s.contains(seq), "{seq:?} in {s:?}");
        }
    }

    #[test]
    fn coalescer_limits_floods_and_answers_keys_at_once() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut c = FrameCoalescer::new(ms(33));
        assert!(c.should_draw(t0), "first frame at once");
        c.drew(t0);
        assert!(!c.should_draw(t0));
        assert_eq!(c.wait(t0), None, "nothing to draw");
        // A flood: many changes within one interval give one frame.
        let mut frames = 0;
        for i in 0..1000u64 {
            let now = t0 + Duration::from_micros(i * 1000);
            c.mark_dirty();
            if c.should_draw(now) {
                frames += 1;
                c.drew(now);
            }
        }
        assert!((29..=31).contains(&frames), "{frames} frames in 1 s");
        let now = t0 + ms(1000);
        c.drew(now);
        c.mark_dirty();
        assert_eq!(c.wait(now + ms(10)), Some(ms(23)));
        c.mark_urgent();
        assert!(c.should_draw(now + ms(1)), "a key draws at once");
        assert_eq!(c.wait(now + ms(1)), Some(Duration::ZERO));
    }
}
