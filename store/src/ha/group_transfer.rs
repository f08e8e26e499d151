//! Java's `GroupTransferService` for SYNC_MASTER: a put that must reach a slave waits until some
//! slave has reported an offset at or past the put's end (`push2SlaveMaxOffset`), or until
//! `slaveTimeout` (3 s: the s15-ha-sync recording answered FLUSH_SLAVE_TIMEOUT after 3.0 s),
//! then resolves PUT_OK or FLUSH_SLAVE_TIMEOUT.
//!
//! Java parks the sending thread on a `CompletableFuture`; here the waiting puts are entries of
//! one list keyed by offset, each with a [`ReplicaTicket`] that is a `Future` (the broker's
//! request task awaits it) and can also be waited on by a thread. One service thread resolves
//! them: woken by every report that moves the slave's offset, and every 10 ms for deadlines
//! while puts wait (Java's `waitForRunning(10)`); with none waiting it sleeps until a put or a
//! report wakes it (at most [`IDLE_WAIT`]), since on a small virtual machine each wake-up costs
//! tens of microseconds of CPU, on every broker whether or not it replicates. No thread per put.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Poll, Waker};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::results::PutMessageStatus;

/// Java's deadline check rhythm.
const TICK: Duration = Duration::from_millis(10);

/// The longest sleep with no put waiting (a put or a report wakes the thread at once).
const IDLE_WAIT: Duration = Duration::from_secs(1);

#[derive(Default)]
struct Slot {
    state: Mutex<(Option<PutMessageStatus>, Option<Waker>)>,
    done: Condvar,
}

impl Slot {
    fn resolve(&self, status: PutMessageStatus) {
        let mut s = self.state.lock().expect("replica slot");
        if s.0.is_none() {
            s.0 = Some(status);
            if let Some(w) = s.1.take() {
                w.wake();
            }
            self.done.notify_all();
        }
    }
}

/// The outcome of one SYNC_MASTER put's replication: PUT_OK or FLUSH_SLAVE_TIMEOUT.
#[derive(Clone)]
pub struct ReplicaTicket(Arc<Slot>);

impl ReplicaTicket {
    /// Blocks until resolved.
    pub fn wait(&self) -> PutMessageStatus {
        let mut s = self.0.state.lock().expect("replica slot");
        loop {
            if let Some(status) = s.0 {
                return status;
            }
            s = self.0.done.wait(s).expect("replica slot");
        }
    }
}

impl Future for ReplicaTicket {
    type Output = PutMessageStatus;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<PutMessageStatus> {
        let mut s = self.0.state.lock().expect("replica slot");
        match s.0 {
            Some(status) => Poll::Ready(status),
            None => {
                s.1 = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

struct Waiting {
    deadline: Instant,
    slot: Arc<Slot>,
}

#[derive(Default)]
struct Shared {
    /// `(nextOffset, sequence)` → the put waiting for a slave to pass `nextOffset`.
    waiting: Mutex<BTreeMap<(i64, u64), Waiting>>,
    seq: AtomicI64,
    kick: Condvar,
    kick_lock: Mutex<bool>,
    /// Java's `push2SlaveMaxOffset`: the furthest offset any slave reported.
    push2slave_max: AtomicI64,
    stopped: AtomicBool,
}

pub struct GroupTransferService {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl GroupTransferService {
    pub fn start() -> std::io::Result<Self> {
        let shared = Arc::new(Shared::default());
        let s = shared.clone();
        let thread = std::thread::Builder::new()
            .name("GroupTransferService".into())
            .spawn(move || {
                while !s.stopped.load(Ordering::Acquire) {
                    // A put inserted after this check also sets `kicked`, so the wait below
                    // returns at once for it.
                    let idle = s.waiting.lock().expect("waiting puts").is_empty();
                    let wait = if idle { IDLE_WAIT } else { TICK };
                    {
                        let kicked = s.kick_lock.lock().expect("kick");
                        let (mut kicked, _) = s
                            .kick
                            .wait_timeout_while(kicked, wait, |k| !*k)
                            .expect("kick");
                        *kicked = false;
                    }
                    s.resolve(Instant::now());
                }
                // Stopping: nobody will report any more.
                s.resolve_all(PutMessageStatus::FlushSlaveTimeout);
            })?;
        Ok(Self {
            shared,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Queues a put ending at `next_offset`; resolved PUT_OK once a slave reported it, else
    /// FLUSH_SLAVE_TIMEOUT after `timeout`.
    pub fn put_request(&self, next_offset: i64, timeout: Duration) -> ReplicaTicket {
        let slot = Arc::new(Slot::default());
        let seq = self.shared.seq.fetch_add(1, Ordering::Relaxed) as u64;
        if self.shared.stopped.load(Ordering::Acquire) {
            slot.resolve(PutMessageStatus::FlushSlaveTimeout);
        } else if self.push2slave_max() >= next_offset {
            slot.resolve(PutMessageStatus::PutOk);
        } else {
            self.shared.waiting.lock().expect("waiting puts").insert(
                (next_offset, seq),
                Waiting {
                    deadline: Instant::now() + timeout,
                    slot: slot.clone(),
                },
            );
            // A report may have come between the check and the insert.
            self.kick();
        }
        ReplicaTicket(slot)
    }

    /// Java's `HAService.notifyTransferSome`: a slave reported `offset`.
    pub fn notify_transfer_some(&self, offset: i64) {
        if self.shared.push2slave_max.fetch_max(offset, Ordering::AcqRel) < offset {
            self.kick();
        }
    }

    pub fn push2slave_max(&self) -> i64 {
        self.shared.push2slave_max.load(Ordering::Acquire)
    }

    fn kick(&self) {
        *self.shared.kick_lock.lock().expect("kick") = true;
        self.shared.kick.notify_one();
    }

    pub fn waiting(&self) -> usize {
        self.shared.waiting.lock().expect("waiting puts").len()
    }

    pub fn shutdown(&self) {
        self.shared.stopped.store(true, Ordering::Release);
        self.kick();
        if let Some(t) = self.thread.lock().expect("group transfer thread").take() {
            let _ = t.join();
        }
        self.shared.resolve_all(PutMessageStatus::FlushSlaveTimeout);
    }
}

impl Shared {
    fn resolve(&self, now: Instant) {
        let acked = self.push2slave_max.load(Ordering::Acquire);
        let mut waiting = self.waiting.lock().expect("waiting puts");
        // Everything keyed at or below the acknowledged offset is replicated.
        let rest = waiting.split_off(&(acked.saturating_add(1), 0));
        let done = std::mem::replace(&mut *waiting, rest);
        let mut expired = Vec::new();
        waiting.retain(|_, w| {
            if w.deadline <= now {
                expired.push(w.slot.clone());
                false
            } else {
                true
            }
        });
        drop(waiting);
        for w in done.into_values() {
            w.slot.resolve(PutMessageStatus::PutOk);
        }
        for slot in expired {
            slot.resolve(PutMessageStatus::FlushSlaveTimeout);
        }
    }

    fn resolve_all(&self, status: PutMessageStatus) {
        let all = std::mem::take(&mut *self.waiting.lock().expect("waiting puts"));
        for w in all.into_values() {
            w.slot.resolve(status);
        }
    }
}

impl Drop for GroupTransferService {
    fn drop(&mut self) {
        self.shutdown();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_past_the_put_resolves_it_and_only_it() {
        let s = GroupTransferService::start().unwrap();
        let a = s.put_request(100, Duration::from_secs(30));
        let b = s.put_request(300, Duration::from_secs(30));
        s.notify_transfer_some(100);
        assert_eq!(a.wait(), PutMessageStatus::PutOk);
        let deadline = Instant::now() + Duration::from_secs(5);
        while s.waiting() != 1 && Instant::now() < deadline {
            std::thread::yield_now();
        }
        assert_eq!(s.waiting(), 1, "the put ending at 300 still waits");
        s.notify_transfer_some(299);
        s.notify_transfer_some(300);
        assert_eq!(b.wait(), PutMessageStatus::PutOk);
        // Already replicated: resolved at once.
        let c = s.put_request(50, Duration::from_secs(30));
        assert_eq!(c.wait(), PutMessageStatus::PutOk);
    }

    #[test]
    fn no_report_in_time_is_flush_slave_timeout() {
        let s = GroupTransferService::start().unwrap();
        let begin = Instant::now();
        let t = s.put_request(10, Duration::from_millis(200));
        assert_eq!(t.wait(), PutMessageStatus::FlushSlaveTimeout);
        assert!(begin.elapsed() >= Duration::from_millis(200));
        assert_eq!(s.waiting(), 0);
    }

    #[test]
    fn shutdown_resolves_every_waiting_put() {
        let s = GroupTransferService::start().unwrap();
        let t = s.put_request(10, Duration::from_secs(60));
        s.shutdown();
        assert_eq!(t.wait(), PutMessageStatus::FlushSlaveTimeout);
    }

    #[test]
    fn the_ticket_is_a_future() {
        let s = GroupTransferService::start().unwrap();
        let t = s.put_request(10, Duration::from_secs(60));
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        let mut pinned = Box::pin(t.clone());
        assert!(pinned.as_mut().poll(&mut cx).is_pending());
        s.notify_transfer_some(10);
        assert_eq!(t.wait(), PutMessageStatus::PutOk);
        assert_eq!(
            pinned.as_mut().poll(&mut cx),
            Poll::Ready(PutMessageStatus::PutOk)
        );
    }
}
