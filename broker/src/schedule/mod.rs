//! Delayed delivery: Java 4.9.8's `ScheduleMessageService` (in the store there; 5.x moved it to
//! the broker, same behaviour).
//!
//! A send with a DELAY level is stored by the store in `SCHEDULE_TOPIC_XXXX`, queue level − 1,
//! with its consume-queue tagsCode set to the delivery time (store time + the level's delay).
//! Here one timer per level scans its queue in order: 1 s after start, then every 100 ms, each
//! due entry's message is read back, rebuilt for its REAL_TOPIC / REAL_QID
//! ([`deliver::message_timeup`]) and put; a failed put is retried 100 ms later.
//!
//! Progress: `offsetTable` maps a level to the queue offset after the last message delivered
//! (levels with no delivery yet are absent). It is written to `config/delayOffset.json`
//! (fastjson pretty, `{1:1,2:1,3:2}` integer keys, `.bak` kept) 10 s after start, then every
//! `flushDelayOffsetInterval`, and at shutdown; it is read at start (a Java-written file too)
//! and each level's offset clamped into its queue's [min, max] (`correctDelayOffset`).
//!
//! Duplicates: after a crash the levels restart from the last written table, so messages
//! delivered since that write (at most `flushDelayOffsetInterval` worth) are delivered again,
//! exactly as a Java broker would; nothing is lost, since the table only moves past a message
//! once its copy was stored.
//!
//! The timers are plain threads (Java: a scheduled pool with one thread per level): the store
//! API is synchronous and a put must not stall the async runtime.

mod deliver;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use remoting_codec::fastjson;
use remoting_codec::protocol::config_files::DelayOffsetSerializeWrapper;
use store::SCHEDULE_TOPIC;
use store::{config_file, DelayLevels, MessageStore};

use crate::config_file::ConfigFile;
use crate::stats::BrokerStatsManager;
use crate::stop_signal::StopSignal;

pub use deliver::correct_deliver_timestamp;

/// Java's `FIRST_DELAY_TIME`: the first pass of every level.
const FIRST_DELAY: Duration = Duration::from_millis(1000);
/// Java's `DELAY_FOR_A_WHILE`: between passes, and before retrying a failed put.
const DELAY_FOR_A_WHILE: Duration = Duration::from_millis(100);
/// Java's first run of the offset flush.
const FIRST_FLUSH_DELAY: Duration = Duration::from_millis(10_000);

pub struct ScheduleMessageService {
    store: Arc<MessageStore>,
    levels: DelayLevels,
    /// level → next queue offset to deliver (Java's `offsetTable`).
    offset_table: Mutex<BTreeMap<i32, i64>>,
    /// delayOffset.json.
    file: ConfigFile,
    flush_interval: Duration,
    started: AtomicBool,
    /// Wakes sleeping timers at shutdown.
    stop: StopSignal,
    threads: Mutex<Vec<JoinHandle<()>>>,
    /// Where deliveries are counted (`enableScheduleMessageStats`), once the broker set it.
    stats: std::sync::OnceLock<Arc<BrokerStatsManager>>,
}

impl ScheduleMessageService {
    /// A stopped service over `store`, with its offsets in `path` (`config/delayOffset.json`).
    pub fn new(store: Arc<MessageStore>, path: PathBuf) -> Self {
        let levels = store.delay_levels().clone();
        let flush_interval =
            Duration::from_millis(store.config().flush_delay_offset_interval.max(1));
        Self {
            store,
            levels,
            offset_table: Mutex::new(BTreeMap::new()),
            file: ConfigFile::new(path),
            flush_interval,
            started: AtomicBool::new(false),
            stop: StopSignal::default(),
            threads: Mutex::new(Vec::new()),
            stats: std::sync::OnceLock::new(),
        }
    }

    /// Counts every delivery from now on, as 4.9.8's `PutResultProcess.onSuccess` with
    /// `enableScheduleMessageStats`: a get of the level's queue by `SCHEDULE_CONSUMER`
    /// (QUEUE_GET_*, GROUP_GET_* of `SCHEDULE_TOPIC_XXXX@SCHEDULE_CONSUMER`) and a put of the
    /// real topic (TOPIC_PUT_*, BROKER_PUT_NUMS).
    pub fn count_deliveries_in(&self, stats: Arc<BrokerStatsManager>) {
        let _ = self.stats.set(stats);
    }

    /// Java's `load()`: reads delayOffset.json (or its `.bak`), then clamps every level's offset
    /// into its queue's bounds.
    pub fn load(&self) -> Result<(), config_file::ConfigFileError> {
        let loaded = self
            .file
            .load(fastjson::from_str::<DelayOffsetSerializeWrapper>)?;
        if let Some(wrapper) = loaded {
            self.table().extend(wrapper.offset_table);
        }
        self.correct_delay_offset();
        Ok(())
    }

    /// Java's `correctDelayOffset`: an offset below its queue's minimum (expired files) or above
    /// its maximum (a store that lost its tail) is moved to that bound.
    pub fn correct_delay_offset(&self) {
        let mut table = self.table();
        for level in 1..=self.levels.max_level() {
            let (Some(current), Some(cq)) = (
                table.get(&level).copied(),
                self.store.consume_queue(SCHEDULE_TOPIC, level - 1),
            ) else {
                continue;
            };
            let corrected = current.max(cq.min_offset()).min(cq.max_offset());
            if corrected != current {
                tracing::error!(
                    "correct delay offset [ delayLevel {level} ] from {current} to {corrected}"
                );
                table.insert(level, corrected);
            }
        }
    }

    fn table(&self) -> std::sync::MutexGuard<'_, BTreeMap<i32, i64>> {
        self.offset_table.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn update_offset(&self, level: i32, offset: i64) {
        self.table().insert(level, offset);
    }

    /// The delivered offset of every level that delivered something.
    pub fn offset_table(&self) -> BTreeMap<i32, i64> {
        self.table().clone()
    }

    pub fn delay_levels(&self) -> &DelayLevels {
        &self.levels
    }

    pub fn is_started(&self) -> bool {
        self.started.load(Ordering::Acquire)
    }

    /// Java's `encode(prettyFormat)`: the table as delayOffset.json holds it (pretty) or as
    /// GET_ALL_DELAY_OFFSET answers it (compact).
    pub fn encode(&self, pretty: bool) -> String {
        let wrapper = DelayOffsetSerializeWrapper {
            data_version: None,
            offset_table: self.offset_table(),
        };
        let text = if pretty {
            fastjson::to_string_pretty(&wrapper)
        } else {
            fastjson::to_string(&wrapper)
        };
        text.expect("an integer map serializes")
    }

    /// Writes delayOffset.json (keeping the previous content in `.bak`).
    pub fn persist(&self) {
        self.file.persist_logged(|| self.encode(true));
    }

    /// A slave's copy of its master's delayOffset.json (Java's `syncDelayOffset` writes the
    /// master's text to the file as it came; the running table is the master's business).
    pub fn write_master_offsets(&self, text: &str) {
        if let Err(e) = self.file.persist(|| text.to_owned()) {
            tracing::error!("write delayOffset.json failed: {e}");
        }
    }

    /// Java's `buildRunningStats`: `scheduleMessageOffset_<level>` = `"<delivered>,<max>"` for
    /// every level in the table, for GET_BROKER_RUNTIME_INFO.
    pub fn build_running_stats(&self, stats: &mut BTreeMap<String, String>) {
        for (level, offset) in self.offset_table() {
            let max = self.store.max_offset_in_queue(SCHEDULE_TOPIC, level - 1);
            stats.insert(
                format!("scheduleMessageOffset_{level}"),
                format!("{offset},{max}"),
            );
        }
    }

    /// Java's `start()` (after `load()`): one timer thread per level and the periodic flush.
    pub fn start(self: &Arc<Self>) -> std::io::Result<()> {
        if self.started.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let mut threads = self.threads.lock().unwrap_or_else(|e| e.into_inner());
        for level in 1..=self.levels.max_level() {
            let service = self.clone();
            let start = self.table().get(&level).copied().unwrap_or(0);
            threads.push(
                std::thread::Builder::new()
                    .name(format!("ScheduleMessageTimerThread_{level}"))
                    .spawn(move || service.run_level(level, start))?,
            );
        }
        let service = self.clone();
        threads.push(
            std::thread::Builder::new()
                .name("ScheduleMessageFlushThread".into())
                .spawn(move || {
                    let mut wait = FIRST_FLUSH_DELAY;
                    while service.stop.sleep(wait) {
                        service.persist();
                        wait = service.flush_interval;
                    }
                })?,
        );
        Ok(())
    }

    fn run_level(&self, level: i32, mut offset: i64) {
        let mut wait = FIRST_DELAY;
        while self.stop.sleep(wait) {
            offset = self.deliver_due(level, offset, &crate::now_millis).offset;
            wait = DELAY_FOR_A_WHILE;
        }
    }

    /// Java's `shutdown()`: stops the timers (a pass in progress finishes its current put),
    /// then writes delayOffset.json.
    pub fn shutdown(&self) {
        if !self.started.swap(false, Ordering::AcqRel) {
            return;
        }
        self.stop.stop();
        let threads = std::mem::take(&mut *self.threads.lock().unwrap_or_else(|e| e.into_inner()));
        for t in threads {
            let _ = t.join();
        }
        self.persist();
    }
}
