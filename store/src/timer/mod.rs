//! Timer messages: 5.x's `TimerMessageStore` (store/timer), delivery at any time, not only on
//! the delay levels.
//!
//! The send path ([`hook`]) parks a message with `TIMER_DELIVER_MS` / `TIMER_DELAY_SEC` /
//! `TIMER_DELAY_MS` in `rmq_sys_wheel_timer` queue 0 with its slot time in `TIMER_OUT_MS`. The
//! service thread then, every tick (`timerPrecisionMs` / 10):
//! 1. *enqueue* ([`service`]): reads the timer queue from `currQueueOffset`; each message is
//!    appended to [`log`] (`timerlog/`) and chained into its [`wheel`] slot (`timerwheel`);
//!    one already due is delivered at once;
//! 2. *dequeue*: while `currReadTimeMs` < the current write time (now rounded down to the
//!    precision), walks the slot's chain, drops the messages cancelled in that slot by a
//!    `TIMER_DEL_UNIQKEY` message (`<topic>+<uniqKey>`), and puts each other one to its real
//!    topic and queue (`TIMER_ENQUEUE_MS`, `TIMER_DEQUEUE_MS` added; REAL_TOPIC / REAL_QID kept
//!    in the record's bytes as Java does); a message further than the roll window
//!    (`timerRollWindowSlot`) is re-parked in the timer topic with `TIMER_ROLL_TIMES` + 1;
//! 3. every `timerFlushIntervalMs`: flushes the log, the wheel, [`checkpoint`]
//!    (`config/timercheck`) and [`metrics`] (`config/timermetrics`, pending messages per real
//!    topic); every 30 s deletes the log files whose messages left the commitlog.
//!
//! So a message is never delivered before its time (by the store's clock) and at most one
//! precision plus a tick after it.
//!
//! Recovery ([`TimerMessageStore::recover`], Java's `recover`): the log is scanned from one file
//! before the checkpoint's flush position, rebuilding the wheel slots and cutting a torn tail;
//! the queue offset restarts after the message of the last log unit (capped by the
//! checkpoint), so messages read from the queue but lost from the log are read again; the read
//! time restarts at the checkpoint's `lastReadTimeMs`, so a slot whose delivery was cut short is
//! delivered again (at-least-once, as Java). Differences from Java: one thread instead of
//! seven (enqueue, dequeue and flush in turn); a put that fails three times stops the slot and
//! retries it on the next tick instead of dropping the message.

pub mod checkpoint;
pub mod hook;
pub mod log;
pub mod metrics;
mod service;
pub mod wheel;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

use checkpoint::{TimerCheckpoint, TimerCheckpointFile};
use log::TimerLog;
use metrics::TimerMetrics;
use wheel::TimerWheel;

use crate::clean::Clock;
use crate::config::MessageStoreConfig;
use crate::message_store::MessageStore;
use crate::StoreError;

/// `TimerMessageStore.TIMER_TOPIC`.
pub const TIMER_TOPIC: &str = "rmq_sys_wheel_timer";
/// `TIMER_WHEEL_TTL_DAY × DAY_SECS`: the wheel's slots whatever the precision.
pub const SLOTS_TOTAL: i64 = 7 * 24 * 3600;
/// `TIMER_BLANK_SLOTS`.
pub const TIMER_BLANK_SLOTS: i64 = 60;
/// Java's 30 s schedule of the timer log's expiry.
const CLEAN_INTERVAL_MS: i64 = 30_000;

/// The progress the service keeps (Java's volatile fields).
#[derive(Debug, Default)]
struct Progress {
    curr_write_time_ms: i64,
    curr_read_time_ms: i64,
    curr_queue_offset: i64,
    commit_read_time_ms: i64,
    commit_queue_offset: i64,
    checkpoint: TimerCheckpoint,
    last_commit: (i64, i64),
}

pub struct TimerMessageStore {
    precision_ms: i64,
    roll_window_slots: i64,
    flush_interval_ms: i64,
    wheel: TimerWheel,
    log: TimerLog,
    metrics: TimerMetrics,
    checkpoint_file: TimerCheckpointFile,
    progress: Mutex<Progress>,
    clock: Clock,
    stop: Arc<(Mutex<bool>, std::sync::Condvar)>,
    running: AtomicBool,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl TimerMessageStore {
    /// Opens `timerwheel`, `timerlog/`, `config/timercheck` and `config/timermetrics` under
    /// the store root (not yet recovered).
    pub fn open(config: &MessageStoreConfig, clock: Clock) -> Result<Self, StoreError> {
        let root = config.root();
        let precision_ms = config.timer_precision_ms;
        let wheel = TimerWheel::open(&root.join("timerwheel"), SLOTS_TOTAL, precision_ms)?;
        let log = TimerLog::new(&root.join("timerlog"), config.mapped_file_size_timer_log);
        log.load()?;
        let metrics = TimerMetrics::new(&root.join("config").join("timermetrics"));
        if let Err(e) = metrics.load() {
            tracing::error!("timermetrics not loaded: {e}");
        }
        let checkpoint_file = TimerCheckpointFile::new(&root.join("config").join("timercheck"));
        let checkpoint = checkpoint_file.load()?;
        let window = config.timer_roll_window_slot;
        let roll_window_slots = if !(2..=SLOTS_TOTAL - TIMER_BLANK_SLOTS).contains(&window) {
            SLOTS_TOTAL - TIMER_BLANK_SLOTS
        } else {
            window
        };
        Ok(Self {
            precision_ms,
            roll_window_slots,
            flush_interval_ms: config.timer_flush_interval_ms.max(1) as i64,
            wheel,
            log,
            metrics,
            checkpoint_file,
            progress: Mutex::new(Progress {
                checkpoint,
                ..Progress::default()
            }),
            clock,
            stop: Arc::default(),
            running: AtomicBool::new(false),
            thread: Mutex::new(None),
        })
    }

    fn progress(&self) -> std::sync::MutexGuard<'_, Progress> {
        self.progress.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn format_time(&self, ms: i64) -> i64 {
        ms / self.precision_ms * self.precision_ms
    }

    pub fn metrics(&self) -> &TimerMetrics {
        &self.metrics
    }

    pub fn wheel(&self) -> &TimerWheel {
        &self.wheel
    }

    /// The checkpoint as last prepared.
    pub fn checkpoint(&self) -> TimerCheckpoint {
        self.progress().checkpoint
    }

    /// (currReadTimeMs, currQueueOffset).
    pub fn read_time_and_queue_offset(&self) -> (i64, i64) {
        let p = self.progress();
        (p.curr_read_time_ms, p.curr_queue_offset)
    }

    /// Java's `recover` (see the module doc).
    pub fn recover(&self, store: &MessageStore) -> Result<(), StoreError> {
        let now = (self.clock)();
        let mut p = self.progress();
        let file_size = self.log.queue().file_size() as i64;
        let mut last_flush_pos = p.checkpoint.last_timer_log_flush_pos;
        if self.log.queue().last_file().is_some() {
            last_flush_pos -= file_size;
        }
        let process_offset = self.recover_and_revise(last_flush_pos.max(0), true)?;
        self.log.queue().set_flushed_where(process_offset as u64);
        let queue_offset = self.revise_queue_offset(store, process_offset);
        let mut offset = match queue_offset {
            Some(o) => o + 1,
            None => p.checkpoint.last_timer_queue_offset,
        };
        offset = offset.min(p.checkpoint.master_timer_queue_offset);
        if let Some(cq) = store.consume_queue(TIMER_TOPIC, 0) {
            offset = offset.max(cq.min_offset()).min(cq.max_offset());
        }
        p.curr_queue_offset = offset;
        let floor = self.format_time(now) - SLOTS_TOTAL * self.precision_ms
            + TIMER_BLANK_SLOTS * self.precision_ms;
        p.curr_read_time_ms = p.checkpoint.last_read_time_ms.max(floor);
        let min_first = self
            .wheel
            .check_phy_pos(p.curr_read_time_ms, process_offset);
        if min_first < process_offset {
            tracing::warn!(
                "Timer recheck because of minFirst:{min_first} processOffset:{process_offset}"
            );
            self.recover_and_revise(min_first, false)?;
        }
        p.commit_read_time_ms = p.curr_read_time_ms;
        p.commit_queue_offset = p.curr_queue_offset;
        p.curr_write_time_ms = self.format_time(now);
        self.prepare_checkpoint(&mut p, store);
        tracing::info!(
            "Timer recover ok currReadTimerMs:{} currQueueOffset:{} processOffset:{process_offset}",
            p.curr_read_time_ms,
            p.curr_queue_offset
        );
        Ok(())
    }

    /// Java's `recoverAndRevise`: scans the log from the file holding `begin`, re-pointing each
    /// unit's slot at it; with `check`, stops at a bad unit and cuts the log there. Returns
    /// the position after the last good unit.
    fn recover_and_revise(&self, begin: i64, check: bool) -> Result<i64, StoreError> {
        let files = self.log.files();
        if files.is_empty() {
            return Ok(0);
        }
        let mut index = files
            .iter()
            .rposition(|f| begin >= f.file_from_offset() as i64)
            .unwrap_or(0);
        let mut check_offset = files[index].file_from_offset() as i64;
        while index < files.len() {
            let file = &files[index];
            let view = TimerLog::recovery_view(file);
            let end = if check {
                file.file_size()
            } else {
                file.wrote_position()
            };
            let mut position = 0usize;
            let mut stop = false;
            while position + log::UNIT_SIZE <= end {
                let Some((size, unit)) = log::TimerLogUnit::decode(&view[position..]) else {
                    break;
                };
                if unit.magic == log::BLANK_MAGIC_CODE {
                    break;
                }
                if check && (!log::is_magic_ok(unit.magic) || size != log::UNIT_SIZE as i32) {
                    stop = true;
                    break;
                }
                if size == log::UNIT_SIZE as i32 && log::is_magic_ok(unit.magic) {
                    let pos = file.file_from_offset() as i64 + position as i64;
                    self.wheel
                        .revise_slot(unit.delayed_time(), wheel::IGNORE, pos, true);
                }
                position += log::UNIT_SIZE;
            }
            check_offset = file.file_from_offset() as i64 + position as i64;
            if stop {
                break;
            }
            index += 1;
        }
        if check {
            self.log.queue().truncate_dirty_files(check_offset as u64)?;
        }
        Ok(check_offset)
    }

    /// Java's `reviseQueueOffset`: the timer-queue offset of the message the unit before
    /// `process_offset` points at.
    fn revise_queue_offset(&self, store: &MessageStore, process_offset: i64) -> Option<i64> {
        let unit = self.log.unit_at(process_offset - log::UNIT_SIZE as i64)?;
        let msg = store.look_message_by_offset(unit.offset_py)?;
        let cq = store.consume_queue(TIMER_TOPIC, msg.queue_id);
        let Some(cq) = cq else {
            return Some(msg.queue_offset);
        };
        let mut at = msg.queue_offset;
        for _ in 0..20_000 {
            if at < 0 {
                break;
            }
            match cq.entry(at) {
                Some(e) if e.offset == unit.offset_py && e.size == unit.size_py => return Some(at),
                _ => at -= 1,
            }
        }
        Some(msg.queue_offset)
    }

    /// Java's `prepareTimerCheckPoint`.
    fn prepare_checkpoint(&self, p: &mut Progress, store: &MessageStore) {
        let _ = store;
        p.checkpoint.last_timer_log_flush_pos = self.log.flushed_where();
        p.checkpoint.last_read_time_ms = p.commit_read_time_ms;
        p.checkpoint.master_timer_queue_offset = p.commit_queue_offset;
        if (p.commit_read_time_ms, p.commit_queue_offset) != p.last_commit {
            p.checkpoint.counter += 1;
            p.checkpoint.timestamp = (self.clock)();
            p.last_commit = (p.commit_read_time_ms, p.commit_queue_offset);
        }
        p.checkpoint.last_timer_queue_offset = p
            .commit_queue_offset
            .min(p.checkpoint.master_timer_queue_offset);
    }

    /// Java's `TimerFlushService` round (and shutdown): log, wheel, checkpoint, metrics.
    pub fn flush(&self, store: &MessageStore) -> Result<(), StoreError> {
        let cp = {
            let mut p = self.progress();
            self.prepare_checkpoint(&mut p, store);
            p.checkpoint
        };
        self.log.queue().flush_all()?;
        self.wheel.flush()?;
        self.checkpoint_file.flush(&cp)?;
        self.metrics.persist();
        Ok(())
    }

    /// Java's `isReject`: flow control of a congested slot (`timerCongestNumEachSlot`).
    pub fn is_reject(&self, deliver_ms: i64, congest_each_slot: i64) -> bool {
        let congest = self.wheel.slot(deliver_ms).num as i64;
        if congest <= congest_each_slot {
            return false;
        }
        if congest >= congest_each_slot.saturating_mul(2) {
            return true;
        }
        let draw = ((self.clock)().wrapping_mul(2_654_435_761) as u64 % 1000) as f64;
        draw > 1000.0 * (congest - congest_each_slot) as f64 / (congest_each_slot as f64 + 0.1)
    }

    /// Starts the service thread over `store` (held weakly: the store's shutdown stops it).
    pub fn start(self: &Arc<Self>, store: Weak<MessageStore>) -> std::io::Result<()> {
        if self.running.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let timer = self.clone();
        let tick = Duration::from_millis((self.precision_ms / 10).max(10) as u64);
        let handle = std::thread::Builder::new()
            .name("TimerMessageStore".into())
            .spawn(move || timer.run(store, tick))?;
        *self.thread.lock().unwrap_or_else(|e| e.into_inner()) = Some(handle);
        Ok(())
    }

    fn run(&self, store: Weak<MessageStore>, tick: Duration) {
        let mut last_flush = (self.clock)();
        let mut last_clean = last_flush;
        loop {
            {
                let (lock, cvar) = &*self.stop;
                let stopped = lock.lock().unwrap_or_else(|e| e.into_inner());
                if *stopped {
                    return;
                }
                let (stopped, _) = cvar
                    .wait_timeout(stopped, tick)
                    .unwrap_or_else(|e| e.into_inner());
                if *stopped {
                    return;
                }
            }
            let Some(store) = store.upgrade() else {
                return;
            };
            self.round(&store);
            let now = (self.clock)();
            if now - last_flush >= self.flush_interval_ms {
                if let Err(e) = self.flush(&store) {
                    tracing::error!("timer flush failed: {e}");
                }
                last_flush = now;
            }
            if now - last_clean >= CLEAN_INTERVAL_MS {
                self.log.delete_expired(store.min_phy_offset());
                last_clean = now;
            }
        }
    }

    /// One tick: move the write time, enqueue what arrived, deliver the due slots.
    pub fn round(&self, store: &MessageStore) {
        let now = (self.clock)();
        self.progress().curr_write_time_ms = self.format_time(now);
        while self.enqueue(store) {}
        while self.dequeue(store) >= 0 {}
    }

    /// Stops the thread (unless called from it) and flushes.
    pub fn shutdown(&self, store: &MessageStore) {
        if !self.running.swap(false, Ordering::AcqRel) {
            return;
        }
        {
            let (lock, cvar) = &*self.stop;
            *lock.lock().unwrap_or_else(|e| e.into_inner()) = true;
            cvar.notify_all();
        }
        let handle = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(h) = handle {
            if h.thread().id() != std::thread::current().id() {
                let _ = h.join();
            }
        }
        if let Err(e) = self.flush(store) {
            tracing::error!("timer flush at shutdown failed: {e}");
        }
    }

    /// Topics of the timer log's units (for the metrics check) are hashed as Java's
    /// `hashTopicForMetrics` (`String.hashCode`, 0 for none).
    pub fn hash_topic(topic: Option<&str>) -> i32 {
        topic.map_or(0, remoting_codec::message::hash::java_string_hash_code)
    }
}

#[cfg(test)]
mod tests;
