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
//!   written before it, so many concurrent appends share few msyncs (group commit). The
//!   broker's sends do not block a thread for it: `put_message_deferred` hands the request
//!   back as a future ([`FlushTicket`], woken by the completion), and the service is notified
//!   only when it is idle (requests queued while it syncs are the next round's). A request is
//!   completed true only once `flushed_where`, which advances after an msync has returned, is
//!   at or past its end. Appends with `WAIT=false` are synced by the service's 10 ms round.
//!   Under SYNC_FLUSH the commitlog file being appended to is mapped without read-ahead
//!   ([`MappedFileQueue::random_access_while_writing`](crate::mapped_file_queue::MappedFileQueue::random_access_while_writing)),
//!   so that each msync writes back the pages written since the last one, not whole large
//!   folios of the page cache, and its appends are `pwrite`s
//!   ([`MappedFileQueue::pwrite_appends`](crate::mapped_file_queue::MappedFileQueue::pwrite_appends)):
//!   the msync covers them as it covers stores through the mapping (one page cache), without
//!   write-protecting mapped pages each round.
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

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context as TaskContext, Poll, Waker};
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
                    if let Err(e) = checkpoint.advance_physic_msg_timestamp(ts) {
                    tracing::error!(error = %e, "checkpoint flush failed");
                }
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
                if let Err(e) = checkpoint.advance_physic_msg_timestamp(ts) {
                    tracing::error!(error = %e, "checkpoint flush failed");
                }
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

/// One waiting SYNC_FLUSH append: "flushed ≥ `next_offset`". Waited for on a thread
/// ([`wait`](Self::wait)) or as a future ([`FlushTicket`]), completed by the group commit once
/// the msync covering `next_offset` has returned.
pub struct FlushRequest {
    next_offset: u64,
    state: Mutex<FlushState>,
    cv: Condvar,
}

#[derive(Default)]
struct FlushState {
    done: Option<bool>,
    /// The task of a [`FlushTicket`] polled before completion.
    waker: Option<Waker>,
    /// Whether a thread waits on the condvar (only then is it notified).
    thread_waiting: bool,
}

impl FlushRequest {
    fn new(next_offset: u64) -> Self {
        Self {
            next_offset,
            state: Mutex::new(FlushState::default()),
            cv: Condvar::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FlushState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits for the flush; `None` on timeout.
    pub fn wait(&self, timeout: Duration) -> Option<bool> {
        let mut state = self.lock();
        state.thread_waiting = true;
        let (mut state, _) = self
            .cv
            .wait_timeout_while(state, timeout, |s| s.done.is_none())
            .unwrap_or_else(|e| e.into_inner());
        state.thread_waiting = false;
        state.done
    }

    fn complete(&self, ok: bool) {
        let mut state = self.lock();
        state.done = Some(ok);
        let waker = state.waker.take();
        let notify = state.thread_waiting;
        drop(state);
        if notify {
            self.cv.notify_all();
        }
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// A [`FlushRequest`] as a future: resolves to whether the flush covering the append
/// succeeded. No timeout of its own: the caller bounds the wait (`syncFlushTimeout`).
pub struct FlushTicket(pub(crate) Arc<FlushRequest>);

impl Future for FlushTicket {
    type Output = bool;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<bool> {
        let mut state = self.0.lock();
        match state.done {
            Some(ok) => Poll::Ready(ok),
            None => {
                if !state.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                    state.waker = Some(cx.waker().clone());
                }
                Poll::Pending
            }
        }
    }
}

/// SYNC_FLUSH of the commitlog with group commit.
pub struct GroupCommitService {
    shared: Arc<GroupShared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

struct GroupShared {
    queue: Mutex<GroupQueue>,
    cv: Condvar,
    stopped: AtomicBool,
}

#[derive(Default)]
struct GroupQueue {
    requests: Vec<Arc<FlushRequest>>,
    /// The thread waits on `cv` (between rounds): only then does a new request notify it. While
    /// it syncs, requests pile up and are taken together by its next round, without a wake-up
    /// each.
    idle: bool,
}

impl GroupCommitService {
    pub fn start(
        commit_log: Arc<CommitLog>,
        checkpoint: Arc<StoreCheckpoint>,
    ) -> std::io::Result<Self> {
        let shared = Arc::new(GroupShared {
            queue: Mutex::new(GroupQueue::default()),
            cv: Condvar::new(),
            stopped: AtomicBool::new(false),
        });
        let s = shared.clone();
        let thread = spawn("GroupCommitService", move || loop {
            // Java's `waitForRunning(10)`: a round every 10 ms, or at once on a request.
            let batch = {
                let mut queue = s.lock();
                if queue.requests.is_empty() && !s.stopped.load(Ordering::Acquire) {
                    // Java's waitForRunning(10): a round at least every 10 ms.
                    queue.idle = true;
                    queue =
                        s.cv.wait_timeout(queue, Duration::from_millis(10))
                            .unwrap_or_else(|e| e.into_inner())
                            .0;
                    queue.idle = false;
                }
                std::mem::take(&mut queue.requests)
            };
            let stopping = s.stopped.load(Ordering::Acquire);
            Self::commit(&commit_log, &checkpoint, batch);
            if stopping && s.lock().requests.is_empty() {
                break;
            }
        })?;
        Ok(Self {
            shared,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Syncs until every request of the batch is covered, then completes them. A request is
    /// completed `true` only once `flushed_where` (advanced only after an msync returned) is at
    /// or past its end: one msync covers every record appended before it, so a batch of
    /// concurrent appends shares one (or, across a file boundary, two) syncs.
    fn commit(commit_log: &CommitLog, checkpoint: &StoreCheckpoint, batch: Vec<Arc<FlushRequest>>) {
        let queue = commit_log.queue();
        if batch.is_empty() {
            // A round without waiting appends (Java's doCommit with no requests): what appends
            // with WAIT=false left unflushed is synced now.
            if queue.max_offset() <= queue.flushed_where() {
                return;
            }
            if let Err(e) = queue.flush(0) {
                tracing::error!(error = %e, "commitlog sync flush failed");
            }
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
            if let Err(e) = checkpoint.advance_physic_msg_timestamp(ts) {
                    tracing::error!(error = %e, "checkpoint flush failed");
                }
        }
    }

    /// Queues a request for "flushed up to `next_offset`".
    pub fn put_request(&self, next_offset: u64) -> Arc<FlushRequest> {
        let req = Arc::new(FlushRequest::new(next_offset));
        let mut queue = self.shared.lock();
        queue.requests.push(req.clone());
        let idle = queue.idle;
        drop(queue);
        if idle {
            self.shared.cv.notify_one();
        }
        req
    }

    /// An append that does not wait (`WAIT=false`): Java wakes the service, which syncs; ours
    /// syncs such appends on its 10 ms rhythm (or with the next waiting append) instead of a
    /// wake-up per message.
    pub fn wakeup(&self) {}

    pub fn shutdown(&self) {
        self.shared.stopped.store(true, Ordering::Release);
        self.shared.cv.notify_all();
        if let Some(t) = self.thread.lock().expect("group thread").take() {
            let _ = t.join();
        }
    }
}

impl GroupShared {
    fn lock(&self) -> std::sync::MutexGuard<'_, GroupQueue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapped_file_queue::MappedFileQueue;

    /// A request is completed `true` only when the synced offset covers it: one for bytes
    /// nobody wrote is completed `false` (the sender would get FLUSH_DISK_TIMEOUT), never
    /// acknowledged.
    #[test]
    fn a_request_beyond_the_written_data_is_never_acknowledged() {
        let tmp = tempfile::tempdir().unwrap();
        let log = Arc::new(CommitLog::new(
            MappedFileQueue::new(tmp.path().join("commitlog"), 64 * 1024),
            4 << 20,
        ));
        let checkpoint = Arc::new(StoreCheckpoint::open(tmp.path().join("checkpoint")).unwrap());
        let group = GroupCommitService::start(log.clone(), checkpoint).unwrap();
        let beyond = group.put_request(4096);
        assert_eq!(beyond.wait(Duration::from_secs(30)), Some(false));
        let nothing = group.put_request(0);
        assert_eq!(nothing.wait(Duration::from_secs(30)), Some(true));
        group.shutdown();
    }
}
