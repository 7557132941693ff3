//! wfop as the subreaper of its services' descendants: a process that leaves its service's
//! process group (`setsid`, a double fork) is reparented to wfop, not to init, and is ended
//! when the run ends. Linux only; elsewhere these are no-ops.

use rustix::process::{Pid, Signal, WaitOptions};

/// Makes this process the reaper of orphaned descendants (`PR_SET_CHILD_SUBREAPER`).
pub(crate) fn become_subreaper() -> bool {
    #[cfg(target_os = "linux")]
    {
        // The kernel reads the argument as a flag (non-zero: on); rustix takes it as a pid.
        rustix::process::set_child_subreaper(Some(rustix::process::getpid())).is_ok()
    }
    #[cfg(not(target_os = "linux"))]
    {
        false
    }
}

/// Services of runs still going in this process (their leaders, which their own run waits
/// for): the end of one run must not end, or reap, another run's services (a library user or a
/// test may run several engines in one process).
static LIVE: std::sync::Mutex<Vec<Pid>> = std::sync::Mutex::new(Vec::new());

/// Held from a service's spawn until it is tracked, and by `end_orphans` while it looks for
/// orphans: without it, a run ending in this process could take a child another run has just
/// spawned and not yet tracked for an orphan, kill and reap it, and that run would find no
/// child to wait for (`tests/engine_parallel_runs.rs`).
static SPAWNING: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The gate a service's spawn holds until it is tracked (see `SPAWNING`).
pub(crate) fn spawn_gate() -> std::sync::MutexGuard<'static, ()> {
    SPAWNING.lock().unwrap_or_else(|e| e.into_inner())
}

/// Marks a service leader as its run's own until the guard is dropped (after it was waited for).
pub(crate) fn track(pid: Option<Pid>) -> Tracked {
    if let Some(p) = pid {
        LIVE.lock().unwrap_or_else(|e| e.into_inner()).push(p);
    }
    Tracked(pid)
}

pub(crate) struct Tracked(Option<Pid>);

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

fn is_live_service(pid: Pid) -> bool {
    LIVE.lock()
        .unwrap_or_else(|e| e.into_inner())
        .contains(&pid)
}

/// This process's children, live or zombie, read from /proc (`ppid` is the 2nd field after
/// the command name, which may itself hold spaces and parentheses).
fn children() -> Vec<Pid> {
    let me = rustix::process::getpid();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| Pid::from_raw(e.file_name().to_str()?.parse().ok()?))
        .filter(|&pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|s| {
                    let rest = &s[s.rfind(')')? + 1..];
                    Pid::from_raw(rest.split_whitespace().nth(1)?.parse().ok()?)
                })
                == Some(me)
        })
        .collect()
}

/// Ends every child still there when a run is over — with the services all waited for, these
/// are orphans that escaped their service's process group — and reaps them. A child that
/// leads its own process group takes that group with it. Returns how many were ended.
pub(crate) fn end_orphans() -> usize {
    let _gate = spawn_gate();
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
            if rustix::process::getpgid(Some(pid)) == Ok(pid) {
                let _ = rustix::process::kill_process_group(pid, Signal::KILL);
            }
            let _ = rustix::process::kill_process(pid, Signal::KILL);
            if let Ok(Some((got, _))) = rustix::process::waitpid(Some(pid), WaitOptions::empty())
                && got == pid
            {
                ended += 1;
            }
        }
    }
    ended
}
