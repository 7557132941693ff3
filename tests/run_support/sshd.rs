//! A private `sshd` on 127.0.0.1 for the tests that go through a real SSH connection: its own
//! config, host key and client key in a temp folder, in the foreground, killed on drop.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use super::tmux::GIVE_UP;

/// Where Debian's openssh-server puts the daemon (not on a user's PATH).
pub const SSHD: &str = "/usr/sbin/sshd";

/// The folder sshd needs for privilege separation when it starts as root (made by the
/// package's systemd unit, which does not run in a container).
const PRIVSEP_DIR: &str = "/run/sshd";

pub struct Sshd {
    dir: tempfile::TempDir,
    port: u16,
    user: String,
    child: Child,
    log: Arc<Mutex<String>>,
}

impl Sshd {
    /// Starts sshd on a free port of 127.0.0.1; `None` (after `skip_or_fail`) when sshd, ssh or
    /// ssh-keygen is missing or sshd cannot start here.
    pub fn start() -> Option<Sshd> {
        if !Path::new(SSHD).exists() {
            super::skip_or_fail(&format!(
                "{SSHD} not found (apt-get install openssh-server)"
            ));
            return None;
        }
        for tool in ["ssh", "ssh-keygen"] {
            if Command::new(tool).arg("-V").output().is_err() {
                super::skip_or_fail(&format!(
                    "{tool} not found (apt-get install openssh-client)"
                ));
                return None;
            }
        }
        // SAFETY: getuid has no preconditions.
        let root = unsafe { libc::getuid() } == 0;
        if root && !Path::new(PRIVSEP_DIR).is_dir() {
            use std::os::unix::fs::DirBuilderExt;
            if let Err(e) = std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o755)
                .create(PRIVSEP_DIR)
            {
                super::skip_or_fail(&format!("cannot make sshd's {PRIVSEP_DIR}: {e}"));
                return None;
            }
        }
        let user = match Command::new("id").arg("-un").output() {
            Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).trim().to_string(),
            _ => {
                super::skip_or_fail("`id -un` cannot name the current user");
                return None;
            }
        };
        let dir = tempfile::tempdir().expect("tempdir");
        for key in ["host_key", "client_key"] {
            let ok = Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-C", "wfop-test", "-f"])
                .arg(dir.path().join(key))
                .stdin(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "ssh-keygen {key}");
        }
        std::fs::copy(
            dir.path().join("client_key.pub"),
            dir.path().join("authorized_keys"),
        )
        .expect("authorized_keys");
        // A port that was free a moment ago may be taken by the time sshd binds it: retry.
        let mut last_log = String::new();
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("a free port")
                .port();
            let config = dir.path().join("sshd_config");
            std::fs::write(&config, config_text(dir.path(), port)).expect("sshd_config");
            let mut child = Command::new(SSHD)
                .args(["-D", "-e", "-f"])
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn sshd");
            let log = Arc::new(Mutex::new(String::new()));
            let (tx, rx) = mpsc::channel();
            let stderr = child.stderr.take().expect("sshd stderr");
            let sink = Arc::clone(&log);
            // Drains sshd's log for as long as it runs, so it never blocks on a full pipe.
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    if let Ok(mut l) = sink.lock() {
                        l.push_str(&line);
                        l.push('\n');
                    }
                    let _ = tx.send(line);
                }
            });
            let start = Instant::now();
            let listening = loop {
                match rx.recv_timeout(Duration::from_millis(200)) {
                    Ok(line) if line.starts_with("Server listening on") => break true,
                    Ok(_) | Err(mpsc::RecvTimeoutError::Timeout) => {}
                    Err(mpsc::RecvTimeoutError::Disconnected) => break false,
                }
                if start.elapsed() > GIVE_UP {
                    break false;
                }
            };
            if listening {
                return Some(Sshd {
                    dir,
                    port,
                    user,
                    child,
                    log,
                });
            }
            let _ = child.kill();
            let _ = child.wait();
            last_log = log.lock().map(|l| l.clone()).unwrap_or_default();
            if !last_log.contains("Address already in use") {
                break;
            }
        }
        super::skip_or_fail(&format!("sshd did not start:\n{last_log}"));
        None
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// What sshd logged so far (for failure messages; it never sees a secret).
    pub fn log(&self) -> String {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// The ssh client's arguments up to (not including) the remote command.
    pub fn ssh_args(&self) -> Vec<String> {
        let key = self.dir.path().join("client_key");
        vec![
            "-F".into(),
            "/dev/null".into(),
            "-tt".into(),
            "-p".into(),
            self.port.to_string(),
            "-i".into(),
            key.display().to_string(),
            "-o".into(),
            "StrictHostKeyChecking=no".into(),
            "-o".into(),
            "UserKnownHostsFile=/dev/null".into(),
            "-o".into(),
            "BatchMode=yes".into(),
            "-o".into(),
            "IdentitiesOnly=yes".into(),
            "-o".into(),
            "LogLevel=ERROR".into(),
            format!("{}@127.0.0.1", self.user),
            "--".into(),
        ]
    }

    /// `ssh -tt … user@127.0.0.1 -- REMOTE_CMD`: the remote side runs `REMOTE_CMD` with the
    /// user's login shell (`$SHELL -c`) in a fresh pty, with sshd's environment (HOME, PATH,
    /// TERM from this side…): pass anything else in the command, e.g. `env VAR=.. wfop …`.
    pub fn ssh_command(&self, remote_cmd: &str) -> Command {
        let mut c = Command::new("ssh");
        c.args(self.ssh_args()).arg(remote_cmd);
        c
    }

    /// The same as one line of shell, e.g. for a tmux pane.
    pub fn ssh_line(&self, remote_cmd: &str) -> String {
        let mut words: Vec<String> = vec!["ssh".into()];
        words.extend(self.ssh_args());
        words.push(remote_cmd.to_string());
        words
            .iter()
            .map(|w| super::shell_quote(w))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn config_text(dir: &Path, port: u16) -> String {
    let p = |name: &str| -> PathBuf { dir.join(name) };
    format!(
        "ListenAddress 127.0.0.1:{port}
HostKey {host_key}
AuthorizedKeysFile {keys}
PidFile {pid}
StrictModes no
UsePAM no
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PrintMotd no
PrintLastLog no
X11Forwarding no
AllowTcpForwarding no
AllowAgentForwarding no
",
        host_key = p("host_key").display(),
        keys = p("authorized_keys").display(),
        pid = p("sshd.pid").display(),
    )
}
