//! A private tmux server for driving the TUI as an operator would: start a command in a pane
//! of a given size, type, poll the screen, capture every byte written to the pane.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// How long a poll waits before the test gives up (a liveness bound, not a timing assertion).
pub const GIVE_UP: Duration = Duration::from_secs(120);

static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

pub struct Tmux {
    socket: String,
}

impl Tmux {
    pub fn start(name: &str, cmd: &str, w: u16, h: u16) -> Option<Tmux> {
        Tmux::start_with_env(name, cmd, w, h, &[])
    }

    /// Starts a private tmux server running `cmd` in a `w`×`h` pane; `envs` go into the
    /// server's environment (so they never appear on a command line). `None` without tmux.
    pub fn start_with_env(
        name: &str,
        cmd: &str,
        w: u16,
        h: u16,
        envs: &[(&str, &str)],
    ) -> Option<Tmux> {
        if Command::new("tmux").arg("-V").output().is_err() {
            super::skip_or_fail("tmux not installed");
            return None;
        }
        let t = Tmux {
            // One server per call, even for tests of one process that share a name.
            socket: format!(
                "wfop-test-{name}-{}-{}",
                std::process::id(),
                NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            ),
        };
        let ok = t
            .cmd_env(
                envs,
                &[
                    "new-session",
                    "-d",
                    "-x",
                    &w.to_string(),
                    "-y",
                    &h.to_string(),
                    "sh",
                    "-c",
                    cmd,
                    // In the same command queue, so a command that ends at once still leaves
                    // its pane (and its last screen) behind.
                    ";",
                    "set-option",
                    "-g",
                    "remain-on-exit",
                    "on",
                ],
            )
            .status
            .success();
        assert!(ok, "tmux new-session");
        Some(t)
    }

    pub fn cmd(&self, args: &[&str]) -> std::process::Output {
        self.cmd_env(&[], args)
    }

    fn cmd_env(&self, envs: &[(&str, &str)], args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .env_remove("TMUX")
            .envs(envs.iter().copied())
            .output()
            .expect("tmux")
    }

    /// From now on, every byte the program writes to the pane is appended to `path`.
    pub fn pipe_to(&self, path: &Path) {
        let cmd = format!("cat >> '{}'", path.display());
        assert!(
            self.cmd(&["pipe-pane", "-o", &cmd]).status.success(),
            "tmux pipe-pane"
        );
    }

    pub fn capture(&self) -> String {
        String::from_utf8_lossy(&self.cmd(&["capture-pane", "-p", "-e"]).stdout).into_owned()
    }

    /// The screen and its scrollback.
    pub fn capture_all(&self) -> String {
        String::from_utf8_lossy(&self.cmd(&["capture-pane", "-p", "-S", "-200"]).stdout)
            .into_owned()
    }

    pub fn keys(&self, literal: &str) {
        self.cmd(&["send-keys", "-l", literal]);
    }

    pub fn key(&self, name: &str) {
        self.cmd(&["send-keys", name]);
    }

    pub fn pane(&self, format: &str) -> String {
        String::from_utf8_lossy(&self.cmd(&["display-message", "-p", format]).stdout)
            .trim()
            .to_string()
    }

    /// Polls the screen until `pred` holds; every capture goes into `seen`.
    pub fn wait_for(
        &self,
        seen: &mut Vec<String>,
        what: &str,
        pred: impl Fn(&str) -> bool,
    ) -> String {
        let start = Instant::now();
        loop {
            let s = self.capture();
            seen.push(s.clone());
            if pred(&s) {
                return s;
            }
            assert!(
                start.elapsed() < GIVE_UP,
                "gave up waiting for {what}; screen:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Types `literal` and waits until the screen shows that the app took it (`ack`), typing it
    /// again (at most twice more) when nothing shows after `RESEND`: under load a key has been
    /// lost on its way to the app (seen in CI, cause not found), and a test about what a key
    /// does must not fail on its delivery. `ack` must hold as soon as the key was taken (the
    /// app's own message about it), so that a key is never typed twice into the app.
    #[allow(dead_code)]
    pub fn keys_taken(
        &self,
        seen: &mut Vec<String>,
        literal: &str,
        what: &str,
        ack: impl Fn(&str) -> bool,
    ) -> String {
        const RESEND: Duration = Duration::from_secs(5);
        for _ in 0..2 {
            self.keys(literal);
            let start = Instant::now();
            while start.elapsed() < RESEND {
                let s = self.capture();
                seen.push(s.clone());
                if ack(&s) {
                    return s;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            eprintln!("{what}: no sign of `{literal}` after {RESEND:?}; typing it again");
        }
        self.keys(literal);
        self.wait_for(seen, what, ack)
    }

    pub fn wait_dead(&self) {
        let start = Instant::now();
        while self.pane("#{pane_dead}") != "1" {
            assert!(start.elapsed() < GIVE_UP, "the pane did not end");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.cmd(&["kill-server"]);
    }
}
