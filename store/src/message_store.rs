//! `MessageStore`: the facade the broker uses (Java's `DefaultMessageStore`).
//!
//! Calls are synchronous. `put_message` in SYNC_FLUSH blocks until the group commit has synced
//! the record (up to `syncFlushTimeout`), so an async caller runs it on a blocking thread; in
//! ASYNC_FLUSH it returns once the bytes are in the mapping. Reads never take the put lock:
//! they select published bytes of the mapped files and return them as shared [`Bytes`]; the
//! read path is in [`read`](self) (`message_store/read.rs`).
//!
//! Puts are refused with SERVICE_NOT_AVAILABLE after shutdown, on a SLAVE, and while the
//! running flags say the store is not writeable — in practice the disk-full flag set by the
//! clean service ([`crate::clean`]) above `diskSpaceWarningLevelRatio`; reads go on.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use remoting_codec::message::message_const::{PROPERTY_REAL_QUEUE_ID, PROPERTY_REAL_TOPIC};
use remoting_codec::message::record::MAX_TOPIC_LENGTH_V1;
use remoting_codec::message::sysflag::message_sys_flag::{
    get_transaction_value, TRANSACTION_COMMIT_TYPE, TRANSACTION_NOT_TYPE,
};
use remoting_codec::message::StoredMessage;

use crate::checkpoint::StoreCheckpoint;
use crate::clean::{CleanService, Cleaner, Clock, StoreOptions};
use crate::commit_log::{AppendMessageStatus, CommitLog};
use crate::config::{BrokerRole, DelayLevels, FlushDiskType, LiveConfig, MessageStoreConfig};
use crate::dispatch::{
    ConsumeQueueTable, Dispatcher, FilterBitMapCalculator, MessageArrivingListener, SCHEDULE_TOPIC,
};
use crate::flush::{
    flush_consume_queues, FlushConsumeQueueService, FlushRealTimeService, GroupCommitService,
};
use crate::ha::HAService;
use crate::index::IndexService;
use crate::lock::{AbortFile, StoreLock};
use crate::mapped_file_queue::MappedFileQueue;
use crate::recovery::{recover, RecoveryReport};
use crate::reput::{Appended, ReputService};
use crate::running_flags::RunningFlags;
use crate::stats::{StatsService, StoreStats};
use crate::StoreError;

mod maintenance;
mod pending;
mod read;
mod replication;

pub use replication::ReplicaWait;

pub use pending::{PendingFlush, PutOutcome};

pub use crate::results::{
    GetMessageResult, GetMessageStatus, MessageFilter, PutMessageResult, PutMessageStatus,
    QueryMessageResult,
};

enum CommitLogFlush {
    Async(FlushRealTimeService),
    Sync(GroupCommitService),
}

pub struct MessageStore {
    /// The settings the store was opened with.
    config: MessageStoreConfig,
    /// The settings now (see [`LiveConfig`]).
    live: LiveConfig,
    delay: DelayLevels,
    commit_log: Arc<CommitLog>,
    queues: Arc<ConsumeQueueTable>,
    index: Option<Arc<IndexService>>,
    checkpoint: Arc<StoreCheckpoint>,
    dispatcher: Arc<Dispatcher>,
    reput: Arc<ReputService>,
    flush: CommitLogFlush,
    cq_flush: FlushConsumeQueueService,
    flags: Arc<RunningFlags>,
    cleaner: Arc<Cleaner>,
    clean: CleanService,
    recovery: RecoveryReport,
    stats: Arc<StoreStats>,
    stats_service: StatsService,
    clock: Clock,
    shutdown: Arc<AtomicBool>,
    /// Replication (started by [`start_ha`](Self::start_ha)).
    ha: OnceLock<HAService>,
    memory_limit: i64,
    /// 5.x timer messages (`timerWheelEnable`), recovered at open, started by
    /// [`MessageStore::start_timer`].
    timer: Option<Arc<crate::timer::TimerMessageStore>>,
    _lock: StoreLock,
}

impl MessageStore {
    /// Opens (creating if needed) the store, recovers it, dispatches what the consume queues
    /// lack, and starts the services.
    pub fn open(config: MessageStoreConfig) -> Result<Self, StoreError> {
        Self::open_with(config, StoreOptions::default())
    }

    /// [`open`](Self::open) with non-default hooks (disk probe, clock) and service timings.
    pub fn open_with(
        config: MessageStoreConfig,
        options: StoreOptions,
    ) -> Result<Self, StoreError> {
        let root = config.store_path_root_dir.clone();
        std::fs::create_dir_all(&root)?;
        // As Java's constructor: the paths the disk checks measure exist from the start.
        std::fs::create_dir_all(config.commit_log_dir())?;
        std::fs::create_dir_all(config.consume_queue_dir())?;
        let lock = StoreLock::acquire(&root).map_err(|e| StoreError::Locked(e.to_string()))?;
        let last_exit_ok = !AbortFile::exists(&root);
        let checkpoint = Arc::new(StoreCheckpoint::open(config.checkpoint_path())?);
        let mut commit_log_files =
            MappedFileQueue::new(config.commit_log_dir(), config.mapped_file_size_commit_log);
        if config.flush_disk_type == FlushDiskType::SyncFlush {
            commit_log_files = commit_log_files
                .random_access_while_writing()
                .pwrite_appends();
        }
        let commit_log = Arc::new(CommitLog::new(commit_log_files, config.max_message_size));
        commit_log.queue().load()?;
        let mut queues = ConsumeQueueTable::new(
            config.consume_queue_dir(),
            config.mapped_file_size_consume_queue,
        );
        if config.enable_consume_queue_ext {
            queues = queues.with_ext(
                config.consume_queue_ext_dir(),
                config.mapped_file_size_consume_queue_ext,
            );
        }
        let queues = Arc::new(queues);
        queues.load()?;
        let index = if config.message_index_enable {
            let index = IndexService::open(
                config.index_dir(),
                config.max_hash_slot_num,
                config.max_index_num,
            )?;
            index.load(last_exit_ok, &checkpoint)?;
            Some(Arc::new(index))
        } else {
            None
        };
        let dispatcher = Arc::new(Dispatcher {
            queues: queues.clone(),
            index: index.clone(),
            checkpoint: checkpoint.clone(),
            listener: Default::default(),
            bit_map: std::sync::RwLock::new(options.filter_bit_map.clone()),
            notify: config.broker_role != BrokerRole::Slave,
            slave_stats: Default::default(),
        });
        let recovery = recover(
            &config,
            last_exit_ok,
            &commit_log,
            &queues,
            &checkpoint,
            &dispatcher,
        )?;
        tracing::info!(?recovery, "store recovered");

        // Dispatch from the furthest point any consume queue reached (Java's start()).
        let min = commit_log.min_offset();
        let reput_from = queues
            .all()
            .iter()
            .map(|cq| cq.max_physic_offset())
            .fold(min, i64::max);
        let delay = config.delay_levels();
        let reput = Arc::new(ReputService::new(
            commit_log.clone(),
            dispatcher.clone(),
            delay.clone(),
            reput_from,
        ));
        reput.catch_up()?;
        commit_log.set_topic_queue_table(queues.all().iter().map(|cq| {
            (
                cq.topic().to_owned(),
                cq.queue_id(),
                cq.max_offset_in_queue(),
            )
        }));

        AbortFile::create(&root)?;
        reput.start()?;
        let live = LiveConfig::new(config.clone());
        let flush = match config.flush_disk_type {
            FlushDiskType::AsyncFlush => CommitLogFlush::Async(FlushRealTimeService::start(
                &live,
                commit_log.clone(),
                checkpoint.clone(),
            )?),
            FlushDiskType::SyncFlush => CommitLogFlush::Sync(GroupCommitService::start(
                commit_log.clone(),
                checkpoint.clone(),
            )?),
        };
        let cq_flush = FlushConsumeQueueService::start(&live, queues.clone(), checkpoint.clone())?;
        let flags = Arc::new(RunningFlags::default());
        let cleaner = Arc::new(Cleaner::new(
            live.clone(),
            commit_log.clone(),
            queues.clone(),
            index.clone(),
            flags.clone(),
            options.clone(),
        ));
        let clean = CleanService::start(
            cleaner.clone(),
            Duration::from_millis(config.clean_resource_interval),
            &options,
        )?;
        let clock = options.clock.clone();
        let stats = Arc::new(StoreStats::new(clock()));
        if config.broker_role == BrokerRole::Slave {
            let _ = dispatcher.slave_stats.set(stats.clone());
        }
        let stats_service = StatsService::start(stats.clone(), clock.clone())?;
        let memory_limit = (total_physical_memory() as f64
            * (config.access_message_in_memory_max_ratio as f64 / 100.0))
            as i64;
        let timer = if config.timer_wheel_enable {
            Some(Arc::new(crate::timer::TimerMessageStore::open(
                &config,
                clock.clone(),
            )?))
        } else {
            None
        };
        let store = Self {
            config,
            live,
            delay,
            commit_log,
            queues,
            index,
            checkpoint,
            dispatcher,
            reput,
            flush,
            cq_flush,
            flags,
            cleaner,
            clean,
            recovery,
            stats,
            stats_service,
            clock,
            shutdown: Arc::new(AtomicBool::new(false)),
            ha: OnceLock::new(),
            memory_limit,
            timer,
            _lock: lock,
        };
        if let Some(timer) = &store.timer {
            timer.recover(&store)?;
        }
        Ok(store)
    }

    /// The timer message store, when `timerWheelEnable`.
    pub fn timer(&self) -> Option<&Arc<crate::timer::TimerMessageStore>> {
        self.timer.as_ref()
    }

    /// Starts the timer service (Java's `TimerMessageStore.start`, from the broker's start).
    pub fn start_timer(self: &Arc<Self>) -> std::io::Result<()> {
        match &self.timer {
            Some(timer) => timer.start(Arc::downgrade(self)),
            None => Ok(()),
        }
    }

    /// The settings the store was opened with (file sizes, paths, flush type, role: what only
    /// a restart changes). What changes at run time is in [`current_config`](Self::current_config).
    pub fn config(&self) -> &MessageStoreConfig {
        &self.config
    }

    /// The settings now: the open-time ones with every [`update_config`](Self::update_config)
    /// applied.
    pub fn current_config(&self) -> MessageStoreConfig {
        self.live.snapshot()
    }

    /// Java's `properties2Object` on the running store's `MessageStoreConfig` (UPDATE_BROKER_CONFIG):
    /// known keys are set, values that do not parse are left out (returned), unknown keys
    /// ignored. The clean service (`fileReservedTime`, `deleteWhen`, `diskMaxUsedSpaceRatio`,
    /// `cleanFileForciblyEnable`, the delete intervals), the flush services (intervals, least
    /// pages, thorough intervals) and the SYNC_FLUSH wait (`syncFlushTimeout`) use the new
    /// values from their next round; everything else in [`MessageStoreConfig`] is read at open.
    pub fn update_config(&self, pairs: &[(String, String)]) -> Vec<crate::config::ConfigError> {
        self.live.update(pairs)
    }

    pub fn delay_levels(&self) -> &DelayLevels {
        &self.delay
    }

    pub fn recovery_report(&self) -> &RecoveryReport {
        &self.recovery
    }

    /// Registers the long-polling listener told of every dispatched message.
    pub fn set_message_arriving_listener(&self, listener: Arc<dyn MessageArrivingListener>) {
        *self.dispatcher.listener.write().expect("listener") = Some(listener);
    }

    /// Registers the broker's filter-bitmap calculation (Java's `CommitLogDispatcherCalcBitMap`)
    /// for the messages dispatched from now on; [`StoreOptions::filter_bit_map`] sets it before
    /// recovery.
    pub fn set_filter_bit_map_calculator(&self, calculator: Arc<dyn FilterBitMapCalculator>) {
        *self.dispatcher.bit_map.write().expect("bit map hook") = Some(calculator);
    }

    fn check_store_status(&self) -> Option<PutMessageStatus> {
        if self.shutdown.load(Ordering::Acquire) || self.config.broker_role == BrokerRole::Slave {
            return Some(PutMessageStatus::ServiceNotAvailable);
        }
        if !self.flags.is_writeable() {
            return Some(PutMessageStatus::ServiceNotAvailable);
        }
        None
    }

    /// Appends one message. The broker has filled topic, queue, flags, born/store hosts and
    /// the final properties; the store sets the CRC, store time, offsets, and (as 4.9.8's
    /// `CommitLog`) redirects a NOT/COMMIT message with a `DELAY` level to
    /// `SCHEDULE_TOPIC_XXXX` (queue level−1) keeping `REAL_TOPIC`/`REAL_QID`.
    pub fn put_message(&self, msg: StoredMessage) -> PutMessageResult {
        self.finish_blocking(self.put_message_deferred(msg))
    }

    /// [`put_message`](Self::put_message) without blocking for a SYNC_FLUSH group commit: the
    /// wait, if any, is handed back as a [`PendingFlush`] (see [`pending`](self)).
    pub fn put_message_deferred(&self, msg: StoredMessage) -> PutOutcome {
        self.put_message_deferred_inspect(msg, |_| {})
    }

    /// [`put_message_deferred`](Self::put_message_deferred), showing `inspect` the message as
    /// it is appended (after the 5.x timer hook and the DELAY redirect): the 5.x broker reads a
    /// timer message's `TIMER_OUT_MS` / `REAL_TOPIC` there for the send's `recallHandle`. Not
    /// called for a put refused before the append.
    pub fn put_message_deferred_inspect(
        &self,
        mut msg: StoredMessage,
        inspect: impl FnOnce(&StoredMessage),
    ) -> PutOutcome {
        if let Some(refused) = self.refuse_single_put(&msg) {
            return PutOutcome::Done(refused);
        }
        let tran = get_transaction_value(msg.sys_flag);
        if tran == TRANSACTION_NOT_TYPE || tran == TRANSACTION_COMMIT_TYPE {
            let timer = self.timer.as_deref();
            if let Err(status) = crate::timer::hook::handle_timer_message(
                &self.config,
                &*self.clock,
                timer,
                &mut msg,
            ) {
                return PutOutcome::Done(PutMessageResult::status(status));
            }
        }
        if let Some(level) = self.schedule_redirect_level(&msg) {
            if level != msg.properties.delay_time_level().unwrap_or(0) {
                msg.properties.insert("DELAY", level.to_string());
            }
            msg.properties
                .insert(PROPERTY_REAL_TOPIC, msg.topic.clone());
            msg.properties
                .insert(PROPERTY_REAL_QUEUE_ID, msg.queue_id.to_string());
            msg.topic = SCHEDULE_TOPIC.to_owned();
            msg.queue_id = level - 1;
            // Java rewrites the properties string from the message's HashMap here.
            msg.properties.sort_in_java_hash_map_order();
        }
        let wait = msg.properties.wait_store_msg_ok();
        inspect(&msg);
        self.append(std::slice::from_ref(&msg), wait)
    }

    /// Waits on this thread for what a deferred put left to wait for, and counts the put's
    /// latency (flush wait included) as Java's `putMessage` does.
    fn finish_blocking(&self, outcome: PutOutcome) -> PutMessageResult {
        match outcome {
            PutOutcome::Done(result) => result,
            PutOutcome::Flushing(pending) => pending.wait_blocking(),
        }
    }

    /// The delay level [`put_message`](Self::put_message) parks `msg` at in
    /// `SCHEDULE_TOPIC_XXXX` (queue level − 1), if it does: a NOT/COMMIT message with a `DELAY`
    /// level > 0, capped at the highest level. Callers that count puts by stored topic (Java's
    /// send statistics see the redirected topic) ask here.
    pub fn schedule_redirect_level(&self, msg: &StoredMessage) -> Option<i32> {
        let tran = get_transaction_value(msg.sys_flag);
        if tran != TRANSACTION_NOT_TYPE && tran != TRANSACTION_COMMIT_TYPE {
            return None;
        }
        msg.properties
            .delay_time_level()
            .filter(|&l| l > 0)
            .map(|l| l.min(self.delay.max_level()))
    }

    /// Puts the copy of a due delayed message (Java's put of `ScheduleMessageService.messageTimeup`'s
    /// result) as it is: no DELAY redirect and no wait for a sync flush. Java builds that copy's
    /// properties string *before* it removes DELAY from the property map and sets WAIT=false,
    /// so the record keeps `DELAY` and `WAIT` in its bytes (the golden `clean` store shows it)
    /// while the put sees neither; the caller passes the properties unchanged for that reason.
    pub fn put_timeup_message(&self, msg: StoredMessage) -> PutMessageResult {
        if let Some(refused) = self.refuse_single_put(&msg) {
            return refused;
        }
        self.finish_blocking(self.append(std::slice::from_ref(&msg), false))
    }

    /// Java's `checkStoreStatus` and `checkMessage`: a store that cannot take puts, a topic name
    /// over 127 bytes, or properties over 32767 bytes.
    fn refuse_single_put(&self, msg: &StoredMessage) -> Option<PutMessageResult> {
        if let Some(status) = self.check_store_status() {
            return Some(PutMessageResult::status(status));
        }
        if msg.topic.len() > MAX_TOPIC_LENGTH_V1 || msg.properties.encoded_len() > i16::MAX as usize
        {
            return Some(PutMessageResult::status(PutMessageStatus::MessageIllegal));
        }
        None
    }

    /// Appends a batch (one topic and queue, consecutive queue offsets, one store time).
    /// As Java: transactional or delayed batches are illegal.
    pub fn put_messages(&self, msgs: &[StoredMessage]) -> PutMessageResult {
        self.finish_blocking(self.put_messages_deferred(msgs))
    }

    /// [`put_messages`](Self::put_messages) without blocking for a SYNC_FLUSH group commit.
    pub fn put_messages_deferred(&self, msgs: &[StoredMessage]) -> PutOutcome {
        if let Some(status) = self.check_store_status() {
            return PutOutcome::Done(PutMessageResult::status(status));
        }
        let Some(first) = msgs.first() else {
            return PutOutcome::Done(PutMessageResult::status(PutMessageStatus::MessageIllegal));
        };
        let illegal = msgs.iter().any(|m| {
            m.topic != first.topic
                || m.queue_id != first.queue_id
                || m.topic.len() > MAX_TOPIC_LENGTH_V1
                || get_transaction_value(m.sys_flag) != TRANSACTION_NOT_TYPE
                || m.properties.delay_time_level().is_some_and(|l| l > 0)
        });
        if illegal {
            return PutOutcome::Done(PutMessageResult::status(PutMessageStatus::MessageIllegal));
        }
        self.append(msgs, first.properties.wait_store_msg_ok())
    }

    /// Appends and counts the put in the statistics, as Java's `putMessage` times every put that
    /// reaches the commitlog (a SYNC_FLUSH wait included: a [`PendingFlush`] counts its put
    /// when the wait ends).
    fn append(&self, msgs: &[StoredMessage], wait_store_msg_ok: bool) -> PutOutcome {
        let begin = std::time::Instant::now();
        let outcome = self.append_and_flush(msgs, wait_store_msg_ok, begin);
        let result = match &outcome {
            PutOutcome::Done(result) => result,
            PutOutcome::Flushing(pending) => &pending.result,
        };
        let stored = result
            .append
            .as_ref()
            .filter(|a| a.status == AppendMessageStatus::PutOk);
        if let Some(a) = stored {
            self.stats.record_stored(a.msg_num, a.wrote_bytes);
        }
        if let PutOutcome::Done(_) = outcome {
            self.stats
                .record_put(stored.is_some(), begin.elapsed().as_millis() as i64);
        }
        outcome
    }

    fn append_and_flush(
        &self,
        msgs: &[StoredMessage],
        wait_store_msg_ok: bool,
        begin: std::time::Instant,
    ) -> PutOutcome {
        let (result, records) = match self.commit_log.append(msgs, &*self.clock) {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "append failed");
                return PutOutcome::Done(PutMessageResult::status(
                    PutMessageStatus::CreateMappedFileFailed,
                ));
            }
        };
        let status = match result.status {
            AppendMessageStatus::PutOk => PutMessageStatus::PutOk,
            AppendMessageStatus::MessageSizeExceeded
            | AppendMessageStatus::PropertiesSizeExceeded => PutMessageStatus::MessageIllegal,
            AppendMessageStatus::EndOfFile | AppendMessageStatus::UnknownError => {
                PutMessageStatus::UnknownError
            }
        };
        if status != PutMessageStatus::PutOk {
            return PutOutcome::Done(PutMessageResult {
                status,
                append: Some(result),
            });
        }
        self.reput.dispatch_appended(Appended {
            msgs,
            records: &records,
            store_timestamp: result.store_timestamp,
        });
        match &self.flush {
            CommitLogFlush::Sync(group) if wait_store_msg_ok => {
                let end = (result.wrote_offset + result.wrote_bytes as i64) as u64;
                let ticket = crate::flush::FlushTicket(group.put_request(end));
                let timeout = Duration::from_millis(self.live.with(|c| c.sync_flush_timeout));
                return PutOutcome::Flushing(PendingFlush {
                    result: PutMessageResult {
                        status,
                        append: Some(result),
                    },
                    ticket,
                    timeout,
                    stats: self.stats.clone(),
                    begin,
                });
            }
            CommitLogFlush::Sync(group) => group.wakeup(),
            CommitLogFlush::Async(service) => service.wakeup(),
        }
        PutOutcome::Done(PutMessageResult {
            status,
            append: Some(result),
        })
    }

    pub fn min_phy_offset(&self) -> i64 {
        self.commit_log.min_offset()
    }

    /// End of the written commitlog data.
    pub fn max_phy_offset(&self) -> i64 {
        self.commit_log.max_offset()
    }

    /// The put/get statistics (GET_BROKER_RUNTIME_INFO's `putTps`, `putMessageTimesTotal`, …).
    pub fn stats(&self) -> &StoreStats {
        &self.stats
    }

    /// Java's `lockTimeMills`: how long the current put has held the commitlog lock, 0 when
    /// none does (`pageCacheLockTimeMills`).
    pub fn lock_time_mills(&self) -> i64 {
        self.commit_log.lock_time_mills((self.clock)())
    }

    /// Commitlog bytes written but not yet flushed (Java's `remainHowManyDataToFlush`).
    pub fn remain_how_many_data_to_flush(&self) -> i64 {
        (self.commit_log.max_offset() - self.commit_log.queue().flushed_where() as i64).max(0)
    }

    /// Commitlog bytes not yet dispatched to the consume queues.
    pub fn dispatch_behind_bytes(&self) -> i64 {
        self.reput.behind()
    }

    /// Dispatches everything written so far before returning (tests, admin tools).
    pub fn wait_dispatched(&self) -> Result<(), StoreError> {
        self.reput.catch_up()
    }

    /// Java's `checkInDiskByConsumeOffset`: whether the message at a queue offset lies further
    /// behind the commitlog's end than the in-memory share (`accessMessageInMemoryMaxRatio` of
    /// physical memory), i.e. would be read from disk. False when the queue has no such entry.
    pub fn check_in_disk_by_consume_offset(
        &self,
        topic: &str,
        queue_id: i32,
        consume_offset: i64,
    ) -> bool {
        let max_offset_py = self.commit_log.max_offset();
        self.queues
            .find(topic, queue_id)
            .and_then(|cq| cq.entry(consume_offset))
            .is_some_and(|e| e.offset >= 0 && max_offset_py - e.offset > self.memory_limit)
    }

    /// A read-only view of a topic queue's consume queue, if it exists (Java's
    /// `getConsumeQueue`: nothing is created). QUERY_CONSUME_QUEUE and the schedule service
    /// (SCHEDULE_TOPIC_XXXX) read entries through it.
    pub fn consume_queue(&self, topic: &str, queue_id: i32) -> Option<crate::ConsumeQueueView> {
        self.queues
            .find(topic, queue_id)
            .map(crate::ConsumeQueueView::new)
    }

    /// Queue ids of a topic that have a consume queue.
    pub fn queue_ids(&self, topic: &str) -> Vec<i32> {
        self.queues.queue_ids(topic)
    }

    /// How many msyncs the commitlog has run (group-commit accounting).
    pub fn commit_log_msync_count(&self) -> u64 {
        self.commit_log.queue().msync_count()
    }

    /// The used ratio (0..1; -1 unmeasurable) of the disks of the commitlog, the consume
    /// queues and the index, through the store's disk probe (the figures of Java's
    /// SERVICE_NOT_AVAILABLE remark).
    pub fn disk_used_ratios(&self) -> [f64; 3] {
        self.cleaner.disk_used_ratios()
    }

    /// The store's health bits; `is_disk_full()` explains a SERVICE_NOT_AVAILABLE put.
    pub fn running_flags(&self) -> &RunningFlags {
        &self.flags
    }

    /// Syncs the commitlog, consume queues, index and checkpoint now; returns the flushed
    /// commitlog offset.
    pub fn flush(&self) -> Result<i64, StoreError> {
        self.commit_log.queue().flush_all()?;
        let ts = self.commit_log.queue().store_timestamp();
        if ts > 0 {
            self.checkpoint.set_physic_msg_timestamp(ts);
        }
        for cq in self.queues.all() {
            cq.flush_all()?;
        }
        flush_consume_queues(&self.queues, &self.checkpoint, 0);
        if let Some(index) = &self.index {
            index.flush()?;
        }
        Ok(self.commit_log.queue().flushed_where() as i64)
    }

    /// Clean shutdown: stop the services, dispatch the rest, sync everything, and remove the
    /// `abort` file (only when everything was dispatched, as Java).
    pub fn shutdown(&self) -> Result<(), StoreError> {
        if self.shutdown.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        if let Some(timer) = &self.timer {
            timer.shutdown(self);
        }
        if let Some(ha) = self.ha.get() {
            ha.shutdown();
        }
        self.clean.shutdown();
        self.stats_service.shutdown();
        self.reput.shutdown();
        match &self.flush {
            CommitLogFlush::Async(s) => s.shutdown(),
            CommitLogFlush::Sync(s) => s.shutdown(),
        }
        self.cq_flush.shutdown();
        self.flush()?;
        if self.reput.behind() == 0 {
            AbortFile::remove(&self.config.store_path_root_dir)?;
        } else {
            tracing::warn!(
                behind = self.reput.behind(),
                "dispatch incomplete; keeping the abort file"
            );
        }
        Ok(())
    }
}

impl Drop for MessageStore {
    fn drop(&mut self) {
        if let Err(e) = self.shutdown() {
            tracing::error!(error = %e, "store shutdown failed");
        }
    }
}

/// Physical memory in bytes (Java's `StoreUtil.TOTAL_PHYSICAL_MEMORY_SIZE`).
fn total_physical_memory() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let (pages, size) = unsafe {
        (
            libc::sysconf(libc::_SC_PHYS_PAGES),
            libc::sysconf(libc::_SC_PAGESIZE),
        )
    };
    if pages > 0 && size > 0 {
        pages as u64 * size as u64
    } else {
        24 * 1024 * 1024 * 1024
    }
}
