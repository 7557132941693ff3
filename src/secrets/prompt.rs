//! Asking the operator for missing secrets in plain mode: `rpassword` on `/dev/tty`, nothing
//! echoed; and the exit-2 report when there is no terminal to ask.

use std::fs::OpenOptions;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};

use secrecy::SecretString;
use zeroize::Zeroizing;

use super::store::{SecretError, SecretStore, Source};

/// A secret the workflow needs that no source supplied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    pub name: String,
    pub description: Option<String>,
    /// Where it is used, e.g. `orchestrated (ibm_token)`.
    pub used_by: Vec<String>,
}

/// True when a controlling terminal can be opened to ask on.
pub fn terminal_available() -> bool {
    OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .is_ok()
}

/// Asks for each missing secret on `/dev/tty` with its description; empty answers are asked again
/// (three tries). Fails if the terminal cannot be used.
pub fn prompt_missing(store: &mut SecretStore, missing: &[Missing]) -> Result<(), PromptError> {
    // Echo stays off from before the first prompt until after the last answer.
    let _guard = PromptGuard::new()?;
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
            let answer = ask(&format!("{}: ", crate::ui::safe::line(&label)))?;
            if answer.trim().is_empty() {
                tries += 1;
                if tries >= 3 {
                    return Err(PromptError::Empty(m.name.clone()));
                }
                eprintln!("wfop: an empty value is not a secret; try again");
                continue;
            }
            store.insert(
                &m.name,
                SecretString::from(Box::<str>::from(answer.as_str())),
                Source::Prompt,
            )?;
            break;
        }
    }
    Ok(())
}

/// Set by the SIGINT handler that is in place while a prompt waits.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_sigint(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// While a prompt is up: echo and terminal signals are off *before* the prompt is printed (so
/// nothing typed ahead of rpassword's own raw mode is echoed, and a Ctrl-C typed then is read as
/// a byte), and the SIGINT rpassword raises for Ctrl-C is caught so that the terminal is
/// restored before wfop exits 130.
struct PromptGuard {
    tty: std::fs::File,
    saved: Option<libc::termios>,
    old_action: Option<libc::sigaction>,
}

impl PromptGuard {
    fn new() -> Result<PromptGuard, PromptError> {
        let tty = OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/tty")
            .map_err(|e| PromptError::Terminal(e.to_string()))?;
        let fd = tty.as_raw_fd();
        INTERRUPTED.store(false, Ordering::SeqCst);
        // SAFETY: sigaction with a zeroed struct, a plain handler that only stores an atomic,
        // and a valid out-pointer for the old action.
        let old_action = unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_sigint as extern "C" fn(libc::c_int) as libc::sighandler_t;
            libc::sigemptyset(&mut action.sa_mask);
            let mut old: libc::sigaction = std::mem::zeroed();
            (libc::sigaction(libc::SIGINT, &action, &mut old) == 0).then_some(old)
        };
        // SAFETY: tcgetattr/tcsetattr on an open terminal fd with valid termios pointers.
        let saved = unsafe {
            let mut t: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(fd, &mut t) == 0 {
                let mut quiet = t;
                // No echo, and Ctrl-C as a byte (rpassword turns it into SIGINT once it reads
                // it): a signal before rpassword's read began would leave that read waiting.
                quiet.c_lflag &= !(libc::ECHO | libc::ISIG);
                libc::tcsetattr(fd, libc::TCSANOW, &quiet);
                Some(t)
            } else {
                None
            }
        };
        Ok(PromptGuard {
            tty,
            saved,
            old_action,
        })
    }
}

impl Drop for PromptGuard {
    fn drop(&mut self) {
        // Each step on its own: one failing does not skip the other.
        if let Some(t) = &self.saved {
            // SAFETY: restoring the attributes read in `new` on the same open fd.
            unsafe { libc::tcsetattr(self.tty.as_raw_fd(), libc::TCSANOW, t) };
        }
        if let Some(old) = &self.old_action {
            // SAFETY: reinstalling the action saved in `new`.
            unsafe { libc::sigaction(libc::SIGINT, old, std::ptr::null_mut()) };
        }
    }
}

/// One masked question on the terminal (a `PromptGuard` must be in place).
fn ask(prompt: &str) -> Result<Zeroizing<String>, PromptError> {
    let answer = rpassword::prompt_password(prompt).map(Zeroizing::new);
    let interrupted = INTERRUPTED.load(Ordering::SeqCst);
    match answer {
        _ if interrupted => Err(PromptError::Interrupted),
        Ok(a) => Ok(a),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Err(PromptError::Interrupted),
        Err(e) => Err(PromptError::Terminal(e.to_string())),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    #[error("cancelled at the secret prompt")]
    Interrupted,
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
