//! The front ends' command to stop a run: a cloneable `CancelToken` the scheduler watches.
//! `cancel()` stops the run as SIGINT does (children terminated, rest skipped, secrets purged),
//! but the run ends as `cancelled`, not as killed by a signal; `kill()` skips the grace period.

use std::sync::Arc;

use tokio::sync::watch;

const NONE: u8 = 0;
const CANCEL: u8 = 1;
const KILL: u8 = 2;

/// A handle to cancel a run from another thread. Cheap to clone; every clone is the same token.
#[derive(Debug, Clone)]
pub struct CancelToken(Arc<watch::Sender<u8>>);

impl Default for CancelToken {
    fn default() -> Self {
        CancelToken::new()
    }
}

impl CancelToken {
    pub fn new() -> Self {
        CancelToken(Arc::new(watch::Sender::new(NONE)))
    }

    /// Stops the run: running services get SIGTERM (SIGKILL after the grace period), the rest
    /// are skipped. Calling it again does nothing more.
    pub fn cancel(&self) {
        self.0.send_if_modified(|l| {
            let was = *l;
            *l = (*l).max(CANCEL);
            was != *l
        });
    }

    /// Stops the run without a grace period: running services get SIGKILL.
    pub fn kill(&self) {
        self.0.send_if_modified(|l| {
            let was = *l;
            *l = KILL;
            was != *l
        });
    }

    pub fn is_cancelled(&self) -> bool {
        *self.0.borrow() >= CANCEL
    }

    /// True once `kill()` was called.
    pub fn is_killed(&self) -> bool {
        *self.0.borrow() >= KILL
    }

    /// Waits until the level rises above `seen` (0 none, 1 cancel, 2 kill) and returns it.
    pub(crate) async fn above(&self, seen: u8) -> u8 {
        let mut rx = self.0.subscribe();
        match rx.wait_for(|l| *l > seen).await {
            Ok(l) => *l,
            // The sender lives as long as `self`: never reached, but never wake up wrongly.
            Err(_) => std::future::pending().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_only_rise() {
        let t = CancelToken::new();
        let t2 = t.clone();
        assert!(!t.is_cancelled());
        t2.cancel();
        assert!(t.is_cancelled() && !t.is_killed());
        t.kill();
        t.cancel();
        assert!(t2.is_killed());
    }

    #[test]
    fn waiting_sees_a_cancel_made_before_it_started() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let t = CancelToken::new();
        t.cancel();
        assert_eq!(rt.block_on(t.above(0)), 1);
        let t3 = t.clone();
        std::thread::spawn(move || t3.kill());
        assert_eq!(rt.block_on(t.above(1)), 2);
    }
}
