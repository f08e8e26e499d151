//! The stop flag of the broker's own service threads (the schedule timers, the transaction
//! check): they sleep between passes on it, and a shutdown wakes them at once.

use std::sync::{Condvar, Mutex};
use std::time::Duration;

#[derive(Default)]
pub struct StopSignal {
    stopped: Mutex<bool>,
    wake: Condvar,
}

impl StopSignal {
    /// Sleeps `d` unless stopped first; false once stopped.
    pub fn sleep(&self, d: Duration) -> bool {
        let stopped = self.stopped.lock().unwrap_or_else(|e| e.into_inner());
        let (stopped, _) = self
            .wake
            .wait_timeout_while(stopped, d, |stopped| !*stopped)
            .unwrap_or_else(|e| e.into_inner());
        !*stopped
    }

    /// Stops every sleeper now and every later sleep.
    pub fn stop(&self) {
        *self.stopped.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.wake.notify_all();
    }
}
