//! wfop as the subreaper of its services' descendants: a process that leaves its service's
//! process group (`setsid`, a double fork) is reparented to wfop, not to init, and is ended
//! when the run ends. Linux only; elsewhere these are no-ops.

/// Makes this process the reaper of orphaned descendants (`PR_SET_CHILD_SUBREAPER`).
pub(crate) fn become_subreaper() -> bool {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: prctl with integer arguments only.
        unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0 }
    }
    #[cfg(not(target_os = "linux"))]
    {
        false
    }
}

/// Services of runs still going in this process (their leaders, which their own run waits
/// for): the end of one run must not end, or reap, another run's services (a library user or a
/// test may run several engines in one process).
static LIVE: std::sync::Mutex<Vec<libc::pid_t>> = std::sync::Mutex::new(Vec::new());

/// Marks a service leader as its run's own until the guard is dropped (after it was waited for).
pub(crate) fn track(pid: Option<libc::pid_t>) -> Tracked {
    if let Some(p) = pid {
        LIVE.lock().unwrap_or_else(|e| e.into_inner()).push(p);
    }
    Tracked(pid)
}

pub(crate) struct Tracked(Option<libc::pid_t>);

impl Drop for Tracked {
    fn drop(&mut self) {
        if let Some(p) = self.0 {
            let mut live = LIVE.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(i) = live.iter().position(|&q| q == p) {
                live.swap_remove(i);
            }
        }
    }
}

fn is_live_service(pid: libc::pid_t) -> bool {
    LIVE.lock()
        .unwrap_or_else(|e| e.into_inner())
        .contains(&pid)
}

/// This process's children, live or zombie, read from /proc (`ppid` is the 2nd field after
/// the command name, which may itself hold spaces and parentheses).
fn children() -> Vec<libc::pid_t> {
    let me = std::process::id() as libc::pid_t;
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<libc::pid_t>().ok())
        .filter(|&pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|s| {
                    let rest = &s[s.rfind(')')? + 1..];
                    rest.split_whitespace().nth(1)?.parse::<libc::pid_t>().ok()
                })
                == Some(me)
        })
        .collect()
}

/// Ends every child still there when a run is over — with the services all waited for, these
/// are orphans that escaped their service's process group — and reaps them. A child that
/// leads its own process group takes that group with it. Returns how many were ended.
pub(crate) fn end_orphans() -> usize {
    let mut ended = 0;
    // Ending one orphan can orphan its own children onto wfop: a few rounds.
    for _ in 0..32 {
        let kids: Vec<_> = children()
            .into_iter()
            .filter(|&p| !is_live_service(p))
            .collect();
        if kids.is_empty() {
            break;
        }
        for pid in kids {
            // SAFETY: getpgid, kill and waitpid take plain integers and a null status pointer.
            unsafe {
                if libc::getpgid(pid) == pid {
                    libc::kill(-pid, libc::SIGKILL);
                }
                libc::kill(pid, libc::SIGKILL);
                if libc::waitpid(pid, std::ptr::null_mut(), 0) == pid {
                    ended += 1;
                }
            }
        }
    }
    ended
}
