//! Asking the operator for missing secrets in plain mode: on `/dev/tty`, nothing echoed, a
//! paste taken whole (see `answer.rs`), the input queue flushed before the terminal is given
//! back; and the exit-2 report when there is no terminal to ask.

use std::fs::OpenOptions;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

use rustix::termios::{InputModes, LocalModes, OptionalActions, QueueSelector, SpecialCodeIndex};
use secrecy::SecretString;
use zeroize::Zeroizing;

use super::answer::{Answer, Step};
use super::store::{SecretError, SecretStore, Source};

/// A secret the workflow needs that no source supplied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    pub name: String,
    pub description: Option<String>,
    /// Where it is used, e.g. `orchestrated (ibm_token)`.
    pub used_by: Vec<String>,
}

/// Printed once before the first question.
pub const HINT: &str = "wfop: nothing you type or paste is shown; a pasted block is one value, line breaks included; Enter ends it.";

/// An Enter that more input follows within this time is a line break of pasted text, not the
/// end of the value (a terminal writes a paste in one go; nobody types that fast after Enter).
pub const BURST_GAP: Duration = Duration::from_millis(50);
/// How often a waiting prompt looks at the signal flag.
const SIGNAL_POLL: Duration = Duration::from_millis(200);
/// Signals whose default action ends the process: caught while the prompt is up, so that the
/// terminal is restored (and its input flushed) before wfop exits 128 + signal.
const SIGNALS: [libc::c_int; 7] = [
    libc::SIGINT,
    libc::SIGTERM,
    libc::SIGHUP,
    libc::SIGQUIT,
    libc::SIGUSR1,
    libc::SIGUSR2,
    libc::SIGALRM,
];

/// True when a controlling terminal can be opened to ask on.
pub fn terminal_available() -> bool {
    OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .is_ok()
}

/// Asks for each missing secret on `/dev/tty` with its description; empty (or unusable) answers
/// are asked again (three tries). Fails if the terminal cannot be used.
pub fn prompt_missing(store: &mut SecretStore, missing: &[Missing]) -> Result<(), PromptError> {
    // Echo stays off from before the first prompt until after the last answer; whatever is
    // still queued then is flushed, however this ends.
    let mut guard = PromptGuard::new()?;
    guard.say(&format!("{HINT}\r\n"))?;
    for m in missing {
        let mut label = format!("secret {}", m.name);
        if let Some(d) = &m.description {
            label.push_str(&format!(" ({d})"));
        }
        if !m.used_by.is_empty() {
            label.push_str(&format!(", used by {}", m.used_by.join(", ")));
        }
        let mut tries = 0;
        loop {
            // The description comes from the workflow file: shown terminal-safe.
            guard.say(&format!("{}: ", crate::safe::line(&label)))?;
            let answer = guard.ask();
            // The operator's Enter is not echoed: end the line ourselves.
            guard.say("\r\n")?;
            let problem = match answer? {
                Ok(a) => {
                    store.insert(&m.name, a, Source::Prompt)?;
                    break;
                }
                Err(e) => e.to_string(),
            };
            tries += 1;
            if tries >= 3 {
                return Err(PromptError::Empty(m.name.clone()));
            }
            eprintln!("wfop: {}; try again", crate::safe::line(&problem));
        }
    }
    Ok(())
}

/// The signal caught while a prompt waits (0: none).
static CAUGHT: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_signal(sig: libc::c_int) {
    CAUGHT.store(sig, Ordering::SeqCst);
}

/// While a prompt is up: echo, canonical mode and terminal signals are off *before* the prompt
/// is printed (so nothing typed ahead is echoed, and Ctrl-C is read as a byte), CR is not turned
/// into LF, bracketed paste is on, and terminating signals are caught. Dropping it (every exit
/// path) turns bracketed paste off, flushes the input queue (the rest of a paste must not reach
/// the shell) and restores the terminal and the signal actions.
struct PromptGuard {
    tty: std::fs::File,
    saved: Option<rustix::termios::Termios>,
    old_actions: Vec<(libc::c_int, libc::sigaction)>,
}

impl PromptGuard {
    fn new() -> Result<PromptGuard, PromptError> {
        let tty = OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/tty")
            .map_err(|e| PromptError::Terminal(e.to_string()))?;
        CAUGHT.store(0, Ordering::SeqCst);
        let mut old_actions = Vec::new();
        for sig in SIGNALS {
            // libc, not signal-hook: the old action is put back exactly when the prompt ends
            // (signal-hook keeps its own handler installed for good, so a later TERM would no
            // longer end wfop before the engine installs its handlers).
            // SAFETY: sigaction with a zeroed struct, a plain handler that only stores an
            // atomic, and a valid out-pointer for the old action. No SA_RESTART: a signal
            // interrupts the wait for input.
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
                libc::sigemptyset(&mut action.sa_mask);
                let mut old: libc::sigaction = std::mem::zeroed();
                if libc::sigaction(sig, &action, &mut old) == 0 {
                    old_actions.push((sig, old));
                }
            }
        }
        let saved = rustix::termios::tcgetattr(&tty).ok();
        if let Some(t) = &saved {
            let mut quiet = t.clone();
            // All in one call, before anything is printed: no echo, bytes as they come
            // (wfop edits the line), Ctrl-C as a byte, CR kept as CR.
            quiet.local_modes &= !(LocalModes::ECHO
                | LocalModes::ECHONL
                | LocalModes::ICANON
                | LocalModes::ISIG
                | LocalModes::IEXTEN);
            quiet.input_modes &= !(InputModes::ICRNL | InputModes::INLCR | InputModes::IGNCR);
            quiet.special_codes[SpecialCodeIndex::VMIN] = 1;
            quiet.special_codes[SpecialCodeIndex::VTIME] = 0;
            let _ = rustix::termios::tcsetattr(&tty, OptionalActions::Now, &quiet);
        }
        let mut guard = PromptGuard {
            tty,
            saved,
            old_actions,
        };
        guard.say("\x1b[?2004h")?;
        Ok(guard)
    }

    /// Writes to the terminal.
    fn say(&mut self, text: &str) -> Result<(), PromptError> {
        self.tty
            .write_all(text.as_bytes())
            .and_then(|_| self.tty.flush())
            .map_err(|e| PromptError::Terminal(e.to_string()))
    }

    /// Waits for `fd` to be readable; `Ok(false)` on timeout, `Err(sig)` for a caught signal.
    fn wait(&self, timeout: Duration) -> Result<bool, PromptError> {
        use rustix::event::{PollFd, PollFlags, Timespec};
        let mut pfd = [PollFd::new(&self.tty, PollFlags::IN)];
        let timeout = Timespec::try_from(timeout).ok();
        let n = rustix::event::poll(&mut pfd, timeout.as_ref());
        let sig = CAUGHT.load(Ordering::SeqCst);
        if sig != 0 {
            return Err(PromptError::Signal(sig));
        }
        match n {
            Ok(n) => Ok(n > 0),
            Err(rustix::io::Errno::INTR) => Ok(false),
            Err(e) => Err(PromptError::Terminal(std::io::Error::from(e).to_string())),
        }
    }

    /// One answer: the outer error ends the prompt (cancel, signal, terminal gone), the inner
    /// one asks again.
    fn ask(&mut self) -> Result<Result<SecretString, super::answer::AnswerError>, PromptError> {
        let mut answer = Answer::default();
        let mut chunk = Zeroizing::new([0u8; 4096]);
        loop {
            let timeout = if answer.pending_enter() {
                BURST_GAP
            } else {
                SIGNAL_POLL
            };
            if !self.wait(timeout)? {
                if answer.pending_enter() {
                    return Ok(answer.finish());
                }
                continue;
            }
            let n = match self.tty.read(&mut chunk[..]) {
                Ok(0) => return Err(PromptError::Interrupted),
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(PromptError::Terminal(e.to_string())),
            };
            for &b in &chunk[..n] {
                if answer.feed(b) == Step::Cancel {
                    return Err(PromptError::Interrupted);
                }
            }
        }
    }
}

impl Drop for PromptGuard {
    fn drop(&mut self) {
        // Each step on its own: one failing does not skip the others.
        let _ = self.tty.write_all(b"\x1b[?2004l");
        let _ = self.tty.flush();
        // Drops input not read yet (the rest of a paste, keys typed after the answer), so
        // the shell does not run it after wfop.
        let _ = rustix::termios::tcflush(&self.tty, QueueSelector::IFlush);
        if let Some(t) = &self.saved {
            let _ = rustix::termios::tcsetattr(&self.tty, OptionalActions::Now, t);
        }
        for (sig, old) in &self.old_actions {
            // SAFETY: reinstalling the action saved in `new`.
            unsafe { libc::sigaction(*sig, old, std::ptr::null_mut()) };
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    #[error("cancelled at the secret prompt")]
    Interrupted,
    #[error("stopped by signal {0} at the secret prompt")]
    Signal(i32),
    #[error("cannot ask on the terminal: {0}")]
    Terminal(String),
    #[error("no value given for secret `{0}`")]
    Empty(String),
    #[error(transparent)]
    Store(#[from] SecretError),
}

/// The message for missing secrets with no terminal: each name and the flags that supply it.
pub fn missing_report(missing: &[Missing]) -> String {
    let mut out = String::from("wfop: missing secrets and no terminal to ask for them:\n");
    for m in missing {
        out.push_str(&format!("  {}", m.name));
        if let Some(d) = &m.description {
            out.push_str(&format!(" — {d}"));
        }
        if !m.used_by.is_empty() {
            out.push_str(&format!(" (used by {})", m.used_by.join(", ")));
        }
        out.push('\n');
    }
    out.push_str("supply each with --secret NAME=env:VAR or --secret NAME=file:PATH, or in the input's \"$secrets\" object, e.g.\n");
    let example: Vec<String> = missing
        .iter()
        .map(|m| format!("--secret {}=env:{}", m.name, m.name.to_uppercase()))
        .collect();
    out.push_str(&format!("  {}\n", example.join(" ")));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_names_every_secret_and_the_flags() {
        let missing = vec![
            Missing {
                name: "ibm_api_token".into(),
                description: Some("IBM Quantum API token".into()),
                used_by: vec!["orchestrated (ibm_token)".into()],
            },
            Missing {
                name: "data_key".into(),
                description: None,
                used_by: vec![],
            },
        ];
        let r = missing_report(&missing);
        assert!(
            r.contains("ibm_api_token — IBM Quantum API token (used by orchestrated (ibm_token))"),
            "{r}"
        );
        assert!(r.contains("data_key\n"), "{r}");
        assert!(
            r.contains("--secret ibm_api_token=env:IBM_API_TOKEN --secret data_key=env:DATA_KEY"),
            "{r}"
        );
    }
}
