//! Java's `WaitNotifyObject` as the HA writers use it: `wakeup_all` (a SYNC_MASTER put) makes
//! every writer's next [`WaitNotify::wait`] return at once, even one not waiting at the time of
//! the wakeup; otherwise a wait lasts its timeout (100 ms for the writers).

use std::sync::{Condvar, Mutex};
use std::time::Duration;

#[derive(Default)]
pub struct WaitNotify {
    generation: Mutex<u64>,
    cond: Condvar,
}

impl WaitNotify {
    pub fn wakeup_all(&self) {
        *self.generation.lock().expect("wait-notify") += 1;
        self.cond.notify_all();
    }

    /// Waits until a wakeup later than `seen` or the timeout; returns the generation to pass
    /// next time.
    pub fn wait(&self, seen: u64, timeout: Duration) -> u64 {
        let g = self.generation.lock().expect("wait-notify");
        if *g != seen {
            return *g;
        }
        let (g, _) = self
            .cond
            .wait_timeout_while(g, timeout, |g| *g == seen)
            .expect("wait-notify");
        *g
    }

    pub fn generation(&self) -> u64 {
        *self.generation.lock().expect("wait-notify")
    }
}
