//! The SSH harness itself (tests/run_support/sshd.rs): a real `ssh -tt` to a private sshd on
//! 127.0.0.1 gives the remote command a pty of the local terminal's size, and killing the ssh
//! client hangs up the remote session, which is what tests/detach.rs builds on. Skipped (with
//! the reason) where sshd is not installed; no wall-clock asserts: waits are polls with a
//! generous give-up.

mod run_support;

use std::time::{Duration, Instant};

use run_support::sshd::Sshd;
use run_support::tmux::{GIVE_UP, Tmux};
use run_support::{pid_alive, shell_quote, text};

#[test]
fn ssh_runs_the_remote_command_in_a_pty_and_returns_its_exit_code() {
    let Some(sshd) = Sshd::start() else {
        return;
    };
    let out = sshd
        .ssh_command("tty; test -t 0 && test -t 1 && echo both-ends-are-a-tty; exit 7")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("ssh");
    let stdout = text(&out.stdout);
    let why = format!("{stdout}\n{}\nsshd:\n{}", text(&out.stderr), sshd.log());
    assert!(stdout.contains("/dev/pts/"), "{why}");
    assert!(stdout.contains("both-ends-are-a-tty"), "{why}");
    assert_eq!(out.status.code(), Some(7), "{why}");
}

#[test]
fn killing_the_ssh_client_hangs_up_the_remote_session() {
    let Some(sshd) = Sshd::start() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let remote_pid = dir.path().join("remote.pid");
    let client_pid = dir.path().join("client.pid");
    // The remote shell becomes `sleep`: the session leader on the remote pty.
    let remote = format!(
        "echo $$ > {}; stty size; echo remote-ready; exec sleep 600",
        shell_quote(&remote_pid.display().to_string())
    );
    let cmd = format!(
        "echo $$ > {}; exec {}",
        shell_quote(&client_pid.display().to_string()),
        sshd.ssh_line(&remote)
    );
    let Some(t) = Tmux::start("ssh", &cmd, 100, 30) else {
        return;
    };
    let mut seen = Vec::new();
    let screen = t.wait_for(&mut seen, "the remote command", |s| {
        s.contains("remote-ready")
    });
    assert!(
        screen.contains("30 100"),
        "the remote pty has the pane's size:\n{screen}"
    );
    let read_pid = |p: &std::path::Path| -> i32 {
        std::fs::read_to_string(p)
            .expect("pid file")
            .trim()
            .parse()
            .expect("a pid")
    };
    let (client, remote) = (read_pid(&client_pid), read_pid(&remote_pid));
    // What must go is there first.
    assert!(pid_alive(remote), "the remote sleep is running");
    // SAFETY: plain kill of the ssh client this test started (the pane's process).
    unsafe { libc::kill(client, libc::SIGKILL) };
    let start = Instant::now();
    while alive_not_zombie(remote) {
        assert!(
            start.elapsed() < GIVE_UP,
            "the remote session outlived its ssh client; sshd:\n{}",
            sshd.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Running (a zombie waiting for its reaper counts as gone).
fn alive_not_zombie(pid: i32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    !stat.is_empty() && !stat.contains(") Z ")
}
