//! The reput service (Java's `ReputMessageService`): follows the commitlog from `reput_from`
//! to the end of the written data and hands each record to the [`Dispatcher`] (consume queue,
//! index, arriving listener).
//!
//! Java's reput thread reads every record back from the commitlog and decodes it
//! (`checkMessageAndReturnSize`) to build its `DispatchRequest`, 1 ms after the append at worst.
//! Here a pass runs on the appending thread right after each append
//! ([`ReputService::dispatch_appended`]), or on the service's thread as a backstop; one pass
//! at a time, always in commitlog order. The thread sleeps until an append finds another pass
//! running (the only case where an append leaves records behind) and wakes it, or for at most
//! [`BACKSTOP_INTERVAL`] (a pass that failed is retried then): Java's thread wakes every 1 ms,
//! which on a small virtual machine costs a few percent of a core whether or not anything is
//! sent. The append hands its pass the records it
//! has just written ([`Appended`]: the messages and where they went), and the pass dispatches
//! those from the messages, without decoding them again: topic, queue id, offsets, size,
//! store time, sysFlag and properties are the ones the append wrote. Every other record
//! (another appender's, when its own pass found this one running; a file's BLANK end; a
//! slave's replicated bytes; what recovery left, or a Java store taken over) is decoded from
//! the bytes with [`check_message`], as Java does. Either way `reput_from` advances only
//! past records that are dispatched, in order, so a consume queue never shows a message
//! whose predecessors in the commitlog are not dispatched, and the flush (see
//! [`flush`](crate::flush)) still acknowledges a SYNC_FLUSH send only when its bytes are on
//! disk: dispatch reads nothing from the disk.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::{JoinHandle, Thread};
use std::time::Duration;

use remoting_codec::message::StoredMessage;

use crate::commit_log::{AppendedRecord, CommitLog};
use crate::config::DelayLevels;
use crate::dispatch::{check_message, tags_code_of, DispatchRef, Dispatcher, RecordCheck};
use crate::StoreError;

/// Records the caller has just appended: the messages and, one per message, where they went,
/// with their store time.
#[derive(Clone, Copy)]
pub struct Appended<'a> {
    pub msgs: &'a [StoredMessage],
    pub records: &'a [AppendedRecord],
    pub store_timestamp: i64,
}

impl Appended<'_> {
    pub const NONE: Appended<'static> = Appended {
        msgs: &[],
        records: &[],
        store_timestamp: 0,
    };

    /// The dispatch request of the appended record at `offset`, if it is one of these;
    /// `next` is where to start looking (records come in offset order), and is moved past it.
    fn at<'a>(
        &'a self,
        offset: i64,
        next: &mut usize,
        delay: &DelayLevels,
    ) -> Option<DispatchRef<'a>> {
        while let Some(rec) = self.records.get(*next) {
            if rec.offset > offset {
                return None;
            }
            *next += 1;
            if rec.offset == offset {
                let msg = &self.msgs[*next - 1];
                return Some(DispatchRef {
                    topic: &msg.topic,
                    queue_id: msg.queue_id,
                    commit_log_offset: rec.offset,
                    msg_size: rec.size,
                    tags_code: tags_code_of(
                        &msg.topic,
                        &msg.properties,
                        self.store_timestamp,
                        delay,
                    ),
                    store_timestamp: self.store_timestamp,
                    consume_queue_offset: rec.queue_offset,
                    sys_flag: msg.effective_sys_flag(),
                    properties: &msg.properties,
                });
            }
        }
        None
    }
}

/// Whether `buf` (the rest of the written data) holds only the beginning of a record: fewer
/// than 4 bytes, or a TOTALSIZE that runs past its end.
fn is_incomplete_tail(buf: &[u8]) -> bool {
    match buf.get(..4) {
        None => true,
        Some(h) => {
            let total = i32::from_be_bytes([h[0], h[1], h[2], h[3]]);
            total > 0 && total as usize > buf.len()
        }
    }
}
/// The reput service: a thread that dispatches what the commitlog gained.
pub struct ReputService {
    shared: Arc<ReputShared>,
    thread: Mutex<Option<JoinHandle<()>>>,
    /// The thread, to wake when an append's pass could not run.
    backstop: OnceLock<Thread>,
}

/// The longest the thread sleeps without being woken.
const BACKSTOP_INTERVAL: Duration = Duration::from_secs(1);

struct ReputShared {
    commit_log: Arc<CommitLog>,
    dispatcher: Arc<Dispatcher>,
    delay: DelayLevels,
    reput_from: AtomicI64,
    stopped: AtomicBool,
    /// Serialises catch-up passes (the thread and `wait_dispatched`).
    pass: Mutex<()>,
    /// Rounds the thread has run (a test waits for the first, to know it sleeps next).
    thread_rounds: AtomicU64,
}

impl ReputService {
    pub fn new(
        commit_log: Arc<CommitLog>,
        dispatcher: Arc<Dispatcher>,
        delay: DelayLevels,
        reput_from: i64,
    ) -> Self {
        Self {
            shared: Arc::new(ReputShared {
                commit_log,
                dispatcher,
                delay,
                reput_from: AtomicI64::new(reput_from),
                stopped: AtomicBool::new(false),
                pass: Mutex::new(()),
                thread_rounds: AtomicU64::new(0),
            }),
            thread: Mutex::new(None),
            backstop: OnceLock::new(),
        }
    }

    pub fn reput_from(&self) -> i64 {
        self.shared.reput_from.load(Ordering::Acquire)
    }

    /// Bytes of the commitlog not dispatched yet.
    pub fn behind(&self) -> i64 {
        self.shared.commit_log.max_offset() - self.reput_from()
    }

    /// Dispatches everything written so far, on the calling thread.
    pub fn catch_up(&self) -> Result<(), StoreError> {
        self.shared.do_reput()
    }

    pub fn start(&self) -> std::io::Result<()> {
        self.start_with(BACKSTOP_INTERVAL)
    }

    fn start_with(&self, backstop_interval: Duration) -> std::io::Result<()> {
        let shared = self.shared.clone();
        let handle = std::thread::Builder::new()
            .name("ReputMessageService".into())
            .spawn(move || {
                while !shared.stopped.load(Ordering::Acquire) {
                    if let Err(e) = shared.do_reput() {
                        tracing::error!(error = %e, "dispatch failed");
                    }
                    shared.thread_rounds.fetch_add(1, Ordering::Release);
                    // Appends dispatch what they wrote themselves (`dispatch_appended`); this
                    // thread is the backstop for an append that found another pass running,
                    // which unparks it (the token is kept if it is running now: the park
                    // after this pass then returns at once).
                    std::thread::park_timeout(backstop_interval);
                }
            })?;
        let _ = self.backstop.set(handle.thread().clone());
        *self.thread.lock().expect("reput thread") = Some(handle);
        Ok(())
    }

    /// Called after each append with what it wrote (or [`Appended::NONE`]): dispatches what
    /// the commitlog gained on the calling thread, unless another pass (another appender, or
    /// the thread) is running, which then covers it or leaves it to the next pass. Java hands
    /// every append to its reput thread; doing the dispatch here saves a thread wake-up and
    /// two context switches per message, a consumer sees the message as soon as its sender has
    /// the answer, and the records this caller wrote are dispatched from its messages rather
    /// than decoded.
    pub fn dispatch_appended(&self, appended: Appended<'_>) {
        let mut appended = appended;
        loop {
            let Ok(pass) = self.shared.pass.try_lock() else {
                // The running pass may be ending without seeing these records; the thread's
                // pass after this wake-up waits for it and covers them (unpark happens-before
                // the return of the park it ends, so the records are visible to it).
                if let Some(thread) = self.backstop.get() {
                    thread.unpark();
                }
                return;
            };
            let before = self.reput_from();
            let result = self.shared.do_reput_locked(appended);
            // A second round only finds other appenders' records.
            appended = Appended::NONE;
            drop(pass);
            if let Err(e) = result {
                tracing::error!(error = %e, "dispatch failed");
                return;
            }
            // An append that failed its try_lock while this pass was ending relies on this
            // re-check (and, at worst, on the thread's next round). A pass that made no
            // progress stops here: a replica's commitlog may end inside a record (the rest
            // comes with the next transfer), which no pass can dispatch yet.
            if self.behind() <= 0 || self.reput_from() == before {
                return;
            }
        }
    }

    /// Stops the thread after a last catch-up pass.
    pub fn shutdown(&self) {
        self.shared.stopped.store(true, Ordering::Release);
        if let Some(t) = self.thread.lock().expect("reput thread").take() {
            t.thread().unpark();
            let _ = t.join();
        }
        if let Err(e) = self.shared.do_reput() {
            tracing::error!(error = %e, "final dispatch failed");
        }
    }
}

impl ReputShared {
    fn do_reput(&self) -> Result<(), StoreError> {
        let _pass = self.pass.lock().unwrap_or_else(|e| e.into_inner());
        self.do_reput_locked(Appended::NONE)
    }

    /// One catch-up pass; the caller holds `pass`. The records of `appended` are dispatched
    /// from their messages, the others decoded.
    fn do_reput_locked(&self, appended: Appended<'_>) -> Result<(), StoreError> {
        let mut next = 0usize;
        loop {
            let from = self.reput_from.load(Ordering::Acquire);
            if from < self.commit_log.min_offset() {
                self.reput_from
                    .store(self.commit_log.min_offset(), Ordering::Release);
                continue;
            }
            if from >= self.commit_log.max_offset() {
                return Ok(());
            }
            let Some(data) = self.commit_log.get_data(from) else {
                return Ok(());
            };
            let mut pos = 0usize;
            while pos < data.len() {
                let buf = data.slice(pos..);
                // A slave's replicated bytes may end inside a record (a transfer is cut at
                // `haTransferBatchSize`): wait for the rest, as Java's reput does.
                if is_incomplete_tail(&buf) {
                    return Ok(());
                }
                let at = from + pos as i64;
                if let Some(req) = appended.at(at, &mut next, &self.delay) {
                    self.dispatch_one(&req, &mut pos, from)?;
                    continue;
                }
                match check_message(&buf, false, &self.delay) {
                    RecordCheck::Message(req) => {
                        self.dispatch_one(&req.as_ref(), &mut pos, from)?;
                    }
                    RecordCheck::Blank => {
                        let next_file = self.commit_log.roll_next_file(from + pos as i64);
                        self.reput_from.store(next_file, Ordering::Release);
                        break;
                    }
                    RecordCheck::Invalid(why) => {
                        // Written data below max offset are whole records: this is a bug or
                        // corruption; stop rather than index garbage.
                        return Err(StoreError::Corrupt(format!(
                            "undecodable record at {}: {why}",
                            from + pos as i64
                        )));
                    }
                }
            }
        }
    }

    /// Dispatches one record at `from + pos` and moves past it.
    fn dispatch_one(
        &self,
        req: &DispatchRef<'_>,
        pos: &mut usize,
        from: i64,
    ) -> Result<(), StoreError> {
        let bit_map = self.dispatcher.dispatch(req)?;
        *pos += req.msg_size as usize;
        self.reput_from.store(from + *pos as i64, Ordering::Release);
        self.dispatcher.notify_arrival(req, bit_map.as_deref());
        if let Some(stats) = self.dispatcher.slave_stats.get() {
            stats.record_stored(1, req.msg_size as usize);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapped_file_queue::MappedFileQueue;
    use bytes::Bytes;
    use remoting_codec::message::sysflag::message_sys_flag::{
        TRANSACTION_COMMIT_TYPE, TRANSACTION_PREPARED_TYPE,
    };
    use remoting_codec::message::MessageProperties;

    fn message(topic: &str, queue_id: i32, props: &str, sys_flag: i32) -> StoredMessage {
        StoredMessage {
            topic: topic.to_owned(),
            queue_id,
            sys_flag,
            body: Bytes::from_static(b"hello dispatch"),
            properties: MessageProperties::parse(props),
            born_host: "[::1]:4000".parse().unwrap(),
            store_host: "10.0.0.1:10911".parse().unwrap(),
            born_timestamp: 1_700_000_000_000,
            prepared_transaction_offset: 77,
            ..Default::default()
        }
    }

    /// What an append hands its dispatch is exactly what decoding the written record gives:
    /// tags code (hash, empty tags, delay level in SCHEDULE_TOPIC_XXXX), keys, uniq key,
    /// offsets, size, queue offsets (PREPARED: 0), store time, sysFlag (IPv6 born host).
    #[test]
    fn appended_records_dispatch_as_decoded() {
        let dir = tempfile::tempdir().unwrap();
        // Small files, so that appends cross a BLANK file end.
        let log = CommitLog::new(MappedFileQueue::new(dir.path(), 1024), 4 << 20);
        let delay = DelayLevels::default();
        let batches = [
            vec![message("T", 0, "TAGS\u{1}a\u{2}KEYS\u{1}k1 k2\u{2}UNIQ_KEY\u{1}U1", 0)],
            vec![message("T", 0, "TAGS\u{1}\u{2}WAIT\u{1}true", 0)],
            vec![message(
                "SCHEDULE_TOPIC_XXXX",
                2,
                "DELAY\u{1}3\u{2}REAL_TOPIC\u{1}T\u{2}REAL_QID\u{1}0",
                0,
            )],
            vec![message("H", 1, "TAGS\u{1}b", TRANSACTION_PREPARED_TYPE)],
            vec![message("T", 0, "TAGS\u{1}c", TRANSACTION_COMMIT_TYPE)],
            vec![message("B", 3, "TAGS\u{1}x", 0), message("B", 3, "TAGS\u{1}y", 0)],
        ];
        let mut seen = 0;
        for round in 0..12 {
            let msgs = &batches[round % batches.len()];
            let (result, records) = log.append(msgs, || 1_700_000_000_123 + round as i64).unwrap();
            assert_eq!(records.len(), msgs.len());
            let appended = Appended {
                msgs,
                records: &records,
                store_timestamp: result.store_timestamp,
            };
            let mut next = 0;
            for rec in &records {
                let bytes = log.get_record(rec.offset).unwrap();
                let RecordCheck::Message(decoded) = check_message(&bytes, true, &delay) else {
                    panic!("record at {} does not decode", rec.offset);
                };
                let built = appended.at(rec.offset, &mut next, &delay).unwrap();
                assert_eq!(built, decoded.as_ref());
                assert_eq!(
                    built.properties.uniq_key(),
                    decoded.properties.uniq_key(),
                    "index keys"
                );
                seen += 1;
            }
        }
        assert_eq!(seen, 14);
        assert!(log.queue().files().len() > 1, "the appends crossed a file end");
    }

    /// An append whose pass cannot run (another is running) wakes the thread, which
    /// dispatches it once that pass ends: with a thread that would otherwise sleep for an
    /// hour, the record still reaches its consume queue.
    #[test]
    fn an_append_that_finds_a_pass_running_wakes_the_thread() {
        let dir = tempfile::tempdir().unwrap();
        let log = Arc::new(CommitLog::new(
            MappedFileQueue::new(dir.path().join("commitlog"), 1 << 20),
            4 << 20,
        ));
        let queues = Arc::new(crate::dispatch::ConsumeQueueTable::new(
            dir.path().join("consumequeue"),
            6000,
        ));
        let dispatcher = Arc::new(Dispatcher {
            queues: queues.clone(),
            index: None,
            checkpoint: Arc::new(
                crate::checkpoint::StoreCheckpoint::open(dir.path().join("checkpoint")).unwrap(),
            ),
            listener: Default::default(),
            bit_map: Default::default(),
            notify: false,
            slave_stats: Default::default(),
        });
        let reput = ReputService::new(log.clone(), dispatcher, DelayLevels::default(), 0);
        reput.start_with(Duration::from_secs(3600)).unwrap();
        // Let the thread's first round end: it sleeps (for an hour) next.
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while reput.shared.thread_rounds.load(Ordering::Acquire) == 0 {
            assert!(std::time::Instant::now() < deadline);
            std::thread::sleep(Duration::from_millis(1));
        }

        let running = reput.shared.pass.lock().unwrap();
        let msgs = [message("W", 0, "TAGS\u{1}a", 0)];
        let (_, records) = log.append(&msgs, || 1_700_000_000_000).unwrap();
        reput.dispatch_appended(Appended {
            msgs: &msgs,
            records: &records,
            store_timestamp: 1_700_000_000_000,
        });
        assert!(reput.behind() > 0, "dispatched while another pass ran");
        drop(running);

        while reput.behind() > 0 {
            assert!(std::time::Instant::now() < deadline, "the thread was not woken");
            std::thread::sleep(Duration::from_millis(2));
        }
        assert_eq!(queues.find("W", 0).unwrap().max_offset_in_queue(), 1);
        reput.shutdown();
    }

    /// A pass given another appender's records dispatches nothing of its own from them; it
    /// skips offsets it does not hold.
    #[test]
    fn at_skips_offsets_it_does_not_hold() {
        let msgs = [message("T", 0, "", 0), message("T", 0, "", 0)];
        let rec = |offset| AppendedRecord {
            offset,
            size: 100,
            queue_offset: 0,
            start: 0,
            store_ts_pos: 0,
            dispatched: true,
        };
        let records = [rec(100), rec(300)];
        let appended = Appended {
            msgs: &msgs,
            records: &records,
            store_timestamp: 5,
        };
        let delay = DelayLevels::default();
        let mut next = 0;
        assert!(appended.at(0, &mut next, &delay).is_none());
        assert!(appended.at(200, &mut next, &delay).is_none());
        assert_eq!(next, 1);
        assert_eq!(appended.at(300, &mut next, &delay).unwrap().commit_log_offset, 300);
        assert!(appended.at(400, &mut next, &delay).is_none());
    }
}
