//! The front ends' command to stop a run: a cloneable `CancelToken` the scheduler watches.
//! `cancel()` stops the run as SIGINT does (children terminated, rest skipped, secrets purged),
//! but the run ends as `cancelled`, not as killed by a signal; `kill()` skips the grace period.

use std::sync::Arc;

use tokio::sync::watch;

use super::lifecycle::Stop;

/// A handle to cancel a run from another thread. Cheap to clone; every clone is the same token.
#[derive(Debug, Clone)]
pub struct CancelToken(Arc<watch::Sender<Stop>>);

impl Default for CancelToken {
    fn default() -> Self {
        CancelToken::new()
    }
}

impl CancelToken {
    pub fn new() -> Self {
        CancelToken(Arc::new(watch::Sender::new(Stop::None)))
    }

    /// Stops the run: running services get SIGTERM (SIGKILL after the grace period), the rest
    /// are skipped. Calling it again does nothing more.
    pub fn cancel(&self) {
        self.raise(Stop::Cancel);
    }

    /// Stops the run without a grace period: running services get SIGKILL.
    pub fn kill(&self) {
        self.raise(Stop::Kill);
    }

    fn raise(&self, to: Stop) {
        self.0.send_if_modified(|l| {
            let was = *l;
            *l = was.max(to);
            was != *l
        });
    }

    /// The level asked for so far.
    pub fn level(&self) -> Stop {
        *self.0.borrow()
    }

    /// Waits until the level rises above `seen` and returns it.
    pub(crate) async fn above(&self, seen: Stop) -> Stop {
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
        assert_eq!(t.level(), Stop::None);
        t2.cancel();
        assert_eq!(t.level(), Stop::Cancel);
        t.kill();
        t.cancel();
        assert_eq!(t2.level(), Stop::Kill);
    }

    #[test]
    fn waiting_sees_a_cancel_made_before_it_started() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let t = CancelToken::new();
        t.cancel();
        assert_eq!(rt.block_on(t.above(Stop::None)), Stop::Cancel);
        let t3 = t.clone();
        std::thread::spawn(move || t3.kill());
        assert_eq!(rt.block_on(t.above(Stop::Cancel)), Stop::Kill);
    }
}
