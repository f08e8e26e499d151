//! Flushing the commitlog and the consume queues to disk (msync of the mapped pages).
//!
//! - **ASYNC_FLUSH** ([`FlushRealTimeService`], Java's `FlushRealTimeService`): every
//!   `flushIntervalCommitLog` ms (500) the pages written since the last flush are synced if
//!   there are at least `flushCommitLogLeastPages` (4) of them; every
//!   `flushCommitLogThoroughInterval` ms (10 s) everything is synced whatever its size. With
//!   `flushCommitLogTimed` (4.9.8 default true) the thread sleeps the interval and appends
//!   leave it alone; otherwise an append that leaves the least pages dirty wakes it early.
//! - **SYNC_FLUSH** ([`GroupCommitService`], Java's `GroupCommitService`): an append that
//!   waits for its store (`WAIT` not `false`) queues a request for "flushed ≥ end of my
//!   record" and blocks up to `syncFlushTimeout` ms (5 s; then FLUSH_DISK_TIMEOUT). The
//!   service takes every queued request at once and syncs; one msync covers every record
//!   written before it, so many concurrent appends share few msyncs (group commit).
//! - Consume queues ([`FlushConsumeQueueService`]): every `flushIntervalConsumeQueue` ms (1 s)
//!   with `flushConsumeQueueLeastPages` (2), thoroughly every 60 s, then the checkpoint file.
//!   As Java's `lastFlushTimestamp = 0`, the first round of each service is thorough: the
//!   checkpoint is on disk one interval after start, so abnormal recovery after an early
//!   crash starts near the end of the commitlog instead of at file 0.
//!   As in Java, consume queues are never synced per append: they are rebuilt from the
//!   commitlog by recovery, so the commitlog alone carries durability.
//!
//! # What is guaranteed when a put returns PUT_OK
//!
//! - SYNC_FLUSH (and `WAIT` not false): the record and everything before it has been msync'ed:
//!   it survives a process kill and an OS crash or power loss.
//! - ASYNC_FLUSH: the record is in the page cache (a shared mapping): it survives the process
//!   being killed (SIGKILL included), since the kernel writes the pages back; an OS crash or
//!   power loss may lose up to the last flush interval (or more if fewer than the least pages
//!   are dirty, up to the thorough interval).
//! - Everything is synced on clean shutdown.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::checkpoint::StoreCheckpoint;
use crate::commit_log::CommitLog;
use crate::config::LiveConfig;
use crate::dispatch::ConsumeQueueTable;
use crate::mapped_file::OS_PAGE_SIZE;

/// A thread with Java's `ServiceThread` wait/wakeup.
pub(crate) struct Service {
    stopped: AtomicBool,
    notified: Mutex<bool>,
    cv: Condvar,
}

impl Service {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self {
            stopped: AtomicBool::new(false),
            notified: Mutex::new(false),
            cv: Condvar::new(),
        })
    }

    pub(crate) fn stopped(&self) -> bool {
        self.stopped.load(Ordering::Acquire)
    }

    /// Waits `interval` or until woken (`honour_wakeup`) or stopped; returns whether a wakeup
    /// came.
    pub(crate) fn wait(&self, interval: Duration, honour_wakeup: bool) -> bool {
        let deadline = Instant::now() + interval;
        let mut notified = self.notified.lock().expect("service lock");
        loop {
            if self.stopped() || (honour_wakeup && *notified) {
                break;
            }
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            notified = self
                .cv
                .wait_timeout(notified, deadline - now)
                .expect("service lock")
                .0;
        }
        std::mem::replace(&mut *notified, false)
    }

    pub(crate) fn wakeup(&self) {
        *self.notified.lock().expect("service lock") = true;
        self.cv.notify_all();
    }

    pub(crate) fn stop(&self) {
        self.stopped.store(true, Ordering::Release);
        self.wakeup();
    }
}

pub(crate) fn spawn(
    name: &str,
    f: impl FnOnce() + Send + 'static,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new().name(name.into()).spawn(f)
}

fn now_ms() -> i64 {
    crate::now_millis()
}

/// ASYNC_FLUSH of the commitlog.
pub struct FlushRealTimeService {
    service: Arc<Service>,
    thread: Mutex<Option<JoinHandle<()>>>,
    commit_log: Arc<CommitLog>,
    /// Unflushed bytes that make an append wake the thread early (`flushCommitLogLeastPages`
    /// pages, kept current by the thread); `None` when `flushCommitLogTimed` (the thread only
    /// runs on its interval).
    wake_at_bytes: Option<Arc<AtomicU64>>,
}

impl FlushRealTimeService {
    pub fn start(
        config: &LiveConfig,
        commit_log: Arc<CommitLog>,
        checkpoint: Arc<StoreCheckpoint>,
    ) -> std::io::Result<Self> {
        let service = Service::new();
        let s = service.clone();
        // `flushCommitLogTimed` is read once: it decides whether appends wake the thread.
        let timed = config.with(|c| c.flush_commit_log_timed);
        let least_bytes = |pages: usize| pages as u64 * OS_PAGE_SIZE as u64;
        let initial_pages = config.with(|c| c.flush_commit_log_least_pages);
        let wake_at_bytes = (!timed).then(|| Arc::new(AtomicU64::new(least_bytes(initial_pages))));
        let wake_at = wake_at_bytes.clone();
        let live = config.clone();
        let flushed_log = commit_log.clone();
        let thread = spawn("FlushRealTimeService", move || {
            // Java's `lastFlushTimestamp` starts at 0: the first round is a thorough one.
            let mut last_thorough = 0;
            while !s.stopped() {
                // Read every round, as Java's thread calls the getters each time.
                let (interval, least_pages, thorough) = live.with(|c| {
                    (
                        Duration::from_millis(c.flush_interval_commit_log),
                        c.flush_commit_log_least_pages,
                        c.flush_commit_log_thorough_interval as i64,
                    )
                });
                if let Some(wake_at) = &wake_at {
                    wake_at.store(least_bytes(least_pages), Ordering::Relaxed);
                }
                let mut pages = least_pages;
                if now_ms() >= last_thorough + thorough {
                    last_thorough = now_ms();
                    pages = 0;
                }
                s.wait(interval, !timed);
                if let Err(e) = flushed_log.queue().flush(pages) {
                    tracing::error!(error = %e, "commitlog flush failed");
                }
                let ts = flushed_log.queue().store_timestamp();
                if ts > 0 {
                    checkpoint.set_physic_msg_timestamp(ts);
                }
            }
            // Shutdown: sync everything (Java retries 10 times).
            for _ in 0..10 {
                match flushed_log.queue().flush(0) {
                    Ok(true) => break,
                    Ok(false) => {}
                    Err(e) => tracing::error!(error = %e, "final commitlog flush failed"),
                }
            }
            let ts = flushed_log.queue().store_timestamp();
            if ts > 0 {
                checkpoint.set_physic_msg_timestamp(ts);
            }
        })?;
        Ok(Self {
            service,
            thread: Mutex::new(Some(thread)),
            commit_log,
            wake_at_bytes,
        })
    }

    /// Called after each append. Java wakes the thread on every append, and the thread then
    /// flushes only if `flushCommitLogLeastPages` pages are dirty; waking it only when they are
    /// gives the same flushes without two thread switches per message.
    pub fn wakeup(&self) {
        let Some(wake_at) = self
            .wake_at_bytes
            .as_ref()
            .map(|w| w.load(Ordering::Relaxed))
        else {
            return;
        };
        let queue = self.commit_log.queue();
        if queue.max_offset().saturating_sub(queue.flushed_where()) >= wake_at {
            self.service.wakeup();
        }
    }

    pub fn shutdown(&self) {
        self.service.stop();
        if let Some(t) = self.thread.lock().expect("flush thread").take() {
            let _ = t.join();
        }
    }
}

/// One waiting SYNC_FLUSH append.
pub struct FlushRequest {
    next_offset: u64,
    done: Mutex<Option<bool>>,
    cv: Condvar,
}

impl FlushRequest {
    /// Waits for the flush; `None` on timeout.
    pub fn wait(&self, timeout: Duration) -> Option<bool> {
        let guard = self.done.lock().expect("flush request");
        let (guard, _) = self
            .cv
            .wait_timeout_while(guard, timeout, |d| d.is_none())
            .expect("flush request");
        *guard
    }

    fn complete(&self, ok: bool) {
        *self.done.lock().expect("flush request") = Some(ok);
        self.cv.notify_all();
    }
}

/// SYNC_FLUSH of the commitlog with group commit.
pub struct GroupCommitService {
    shared: Arc<GroupShared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

struct GroupShared {
    requests: Mutex<Vec<Arc<FlushRequest>>>,
    cv: Condvar,
    stopped: AtomicBool,
}

impl GroupCommitService {
    pub fn start(
        commit_log: Arc<CommitLog>,
        checkpoint: Arc<StoreCheckpoint>,
    ) -> std::io::Result<Self> {
        let shared = Arc::new(GroupShared {
            requests: Mutex::new(Vec::new()),
            cv: Condvar::new(),
            stopped: AtomicBool::new(false),
        });
        let s = shared.clone();
        let thread = spawn("GroupCommitService", move || loop {
            // Java's `waitForRunning(10)`: a round every 10 ms, or at once on a request.
            let batch = {
                let reqs = s.requests.lock().expect("group commit");
                let (mut reqs, _) = s
                    .cv
                    .wait_timeout_while(reqs, Duration::from_millis(10), |r| {
                        r.is_empty() && !s.stopped.load(Ordering::Acquire)
                    })
                    .expect("group commit");
                std::mem::take(&mut *reqs)
            };
            let stopping = s.stopped.load(Ordering::Acquire);
            Self::commit(&commit_log, &checkpoint, batch);
            if stopping && s.requests.lock().expect("group commit").is_empty() {
                break;
            }
        })?;
        Ok(Self {
            shared,
            thread: Mutex::new(Some(thread)),
        })
    }

    fn commit(commit_log: &CommitLog, checkpoint: &StoreCheckpoint, batch: Vec<Arc<FlushRequest>>) {
        let queue = commit_log.queue();
        if batch.is_empty() {
            // Java's `doCommit` with no request: appends that did not wait (`WAIT` false) are
            // synced too; the checkpoint's physic timestamp is left alone, as in Java.
            if let Err(e) = queue.flush(0) {
                tracing::error!(error = %e, "commitlog sync flush failed");
            }
            return;
        }
        for req in &batch {
            // One file per flush call: a request across a file boundary takes two.
            let mut ok = queue.flushed_where() >= req.next_offset;
            for _ in 0..2 {
                if ok {
                    break;
                }
                if let Err(e) = queue.flush(0) {
                    tracing::error!(error = %e, "commitlog sync flush failed");
                }
                ok = queue.flushed_where() >= req.next_offset;
            }
            req.complete(ok);
        }
        let ts = queue.store_timestamp();
        if ts > 0 {
            checkpoint.set_physic_msg_timestamp(ts);
        }
    }

    /// Queues a request for "flushed up to `next_offset`".
    pub fn put_request(&self, next_offset: u64) -> Arc<FlushRequest> {
        let req = Arc::new(FlushRequest {
            next_offset,
            done: Mutex::new(None),
            cv: Condvar::new(),
        });
        self.shared
            .requests
            .lock()
            .expect("group commit")
            .push(req.clone());
        self.shared.cv.notify_one();
        req
    }

    pub fn wakeup(&self) {
        self.shared.cv.notify_one();
    }

    pub fn shutdown(&self) {
        self.shared.stopped.store(true, Ordering::Release);
        self.shared.cv.notify_all();
        if let Some(t) = self.thread.lock().expect("group thread").take() {
            let _ = t.join();
        }
    }
}

/// Periodic flush of every consume queue, then the checkpoint.
pub struct FlushConsumeQueueService {
    service: Arc<Service>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl FlushConsumeQueueService {
    pub fn start(
        config: &LiveConfig,
        queues: Arc<ConsumeQueueTable>,
        checkpoint: Arc<StoreCheckpoint>,
    ) -> std::io::Result<Self> {
        let service = Service::new();
        let s = service.clone();
        let live = config.clone();
        let thread = spawn("FlushConsumeQueueService", move || {
            // Java's `lastFlushTimestamp` starts at 0: the first round (after one
            // `flushIntervalConsumeQueue`) is thorough and writes the checkpoint, so a crash
            // soon after start does not leave it all zeros (recovery from file 0).
            let mut last_thorough = 0;
            while !s.stopped() {
                let (interval, least_pages, thorough) = live.with(|c| {
                    (
                        Duration::from_millis(c.flush_interval_consume_queue),
                        c.flush_consume_queue_least_pages,
                        c.flush_consume_queue_thorough_interval as i64,
                    )
                });
                s.wait(interval, false);
                let mut pages = least_pages;
                if now_ms() >= last_thorough + thorough {
                    last_thorough = now_ms();
                    pages = 0;
                }
                flush_consume_queues(&queues, &checkpoint, pages);
            }
            flush_consume_queues(&queues, &checkpoint, 0);
        })?;
        Ok(Self {
            service,
            thread: Mutex::new(Some(thread)),
        })
    }

    pub fn shutdown(&self) {
        self.service.stop();
        if let Some(t) = self.thread.lock().expect("cq flush thread").take() {
            let _ = t.join();
        }
    }
}

/// Java's `FlushConsumeQueueService.doFlush`: the logics timestamp read before the flush is
/// what the checkpoint may claim afterwards.
pub fn flush_consume_queues(
    queues: &ConsumeQueueTable,
    checkpoint: &StoreCheckpoint,
    least_pages: usize,
) {
    let logics_ts = checkpoint.logics_msg_timestamp();
    for cq in queues.all() {
        if let Err(e) = cq.flush(least_pages) {
            tracing::error!(error = %e, topic = cq.topic(), "consume queue flush failed");
        }
    }
    if least_pages == 0 {
        if logics_ts > 0 {
            checkpoint.set_logics_msg_timestamp(logics_ts);
        }
        if let Err(e) = checkpoint.flush() {
            tracing::error!(error = %e, "checkpoint flush failed");
        }
    }
}
