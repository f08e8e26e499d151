//! Expiry (Java's CleanCommitLogService / CleanConsumeQueueService) and the disk-full guard,
//! with 64 KiB commitlog files, mtimes set in the past, a simulated disk, a simulated local hour
//! and a store clock pinned by the test.
//!
//! The clock: a file's age is its mtime measured against the store's clock. The kernel stamps
//! the mtimes of the files the store writes with its own real time, which a faked process clock
//! (libfaketime, as CI runs the tests a year or ten ahead) does not move. So the store's clock
//! here is the filesystem's time when the test starts, read from a file's mtime, and it stands
//! still: files written during the test are young, files the test ages are exactly as old as it
//! says, whatever the date and however slow the machine.

mod support;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use remoting_codec::message::StoredMessage;
use store::{
    DiskUsageProbe, GetMessageStatus, MessageStore, MessageStoreConfig, PutMessageStatus,
    StoreOptions,
};
use support::*;

const FILE: i64 = 64 * 1024;

/// A disk whose use the test sets.
#[derive(Default)]
struct SimDisk(AtomicU64);

impl SimDisk {
    fn set(&self, ratio: f64) {
        self.0.store(ratio.to_bits(), Ordering::Release);
    }
}

impl DiskUsageProbe for SimDisk {
    fn used_ratio(&self, _path: &Path) -> f64 {
        f64::from_bits(self.0.load(Ordering::Acquire))
    }
}

struct Env {
    _tmp: tempfile::TempDir,
    config: MessageStoreConfig,
    disk: Arc<SimDisk>,
    hour: Arc<AtomicU32>,
    /// The store's clock (epoch ms).
    now: Arc<AtomicI64>,
}

impl Env {
    fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let config = MessageStoreConfig {
            file_reserved_time: 1,
            delete_when: "04".into(),
            delete_commit_log_files_interval: 1,
            delete_consume_queue_files_interval: 0,
            clean_resource_interval: 50,
            ..small_config(tmp.path())
        };
        let disk = Arc::new(SimDisk::default());
        disk.set(0.5);
        let now = Arc::new(AtomicI64::new(filesystem_now(tmp.path())));
        Env {
            _tmp: tmp,
            config,
            disk,
            hour: Arc::new(AtomicU32::new(5)),
            now,
        }
    }

    /// Options with the simulated disk, hour and clock; the clean thread makes no periodic
    /// pass unless `clean_initial_delay` is lowered.
    fn options(&self) -> StoreOptions {
        let hour = self.hour.clone();
        let now = self.now.clone();
        StoreOptions {
            clock: Arc::new(move || now.load(Ordering::Acquire)),
            disk_probe: self.disk.clone(),
            local_hour: Arc::new(move || hour.load(Ordering::Acquire)),
            disk_check_interval: Duration::from_millis(20),
            disk_check_initial_delay: Duration::ZERO,
            clean_initial_delay: Duration::from_secs(3600),
            filter_bit_map: None,
        }
    }

    fn open(&self) -> MessageStore {
        MessageStore::open_with(self.config.clone(), self.options()).unwrap()
    }

    fn commit_log_dir(&self) -> PathBuf {
        self.config.commit_log_dir()
    }

    /// Sets the mtime of the commitlog files `range` (by position) `hours` before the store's
    /// clock.
    fn age(&self, range: std::ops::Range<usize>, hours: u64) {
        let now = UNIX_EPOCH + Duration::from_millis(self.now.load(Ordering::Acquire) as u64);
        let when = now - Duration::from_secs(hours * 3600);
        let dir = self.commit_log_dir();
        for name in &names(&dir)[range] {
            let f = std::fs::File::options()
                .write(true)
                .open(dir.join(name))
                .unwrap();
            f.set_modified(when).unwrap();
        }
    }
}

/// The filesystem's current time (the mtime the kernel gives a file written now), in epoch ms.
fn filesystem_now(dir: &Path) -> i64 {
    let probe = dir.join("clock-probe");
    std::fs::write(&probe, b"now").unwrap();
    let mtime = std::fs::metadata(&probe).unwrap().modified().unwrap();
    std::fs::remove_file(&probe).unwrap();
    mtime
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// One put: queue, queue offset, commitlog offset, message number.
#[derive(Clone, Copy, Debug)]
struct Put {
    queue: i32,
    queue_offset: i64,
    phy: i64,
    i: usize,
}

const TOPIC: &str = "ExpiryTopic";

/// `n` messages of ~850 bytes over two queues, dispatched and flushed (so no page is dirtied
/// after the test sets the mtimes).
fn fill(store: &MessageStore, n: usize) -> Vec<Put> {
    fill_from(store, 0, n)
}

fn fill_from(store: &MessageStore, start: usize, n: usize) -> Vec<Put> {
    let mut out = Vec::new();
    for i in start..start + n {
        let queue = (i % 2) as i32;
        let r = store.put_message(message(TOPIC, queue, i, 700));
        assert_eq!(r.status, PutMessageStatus::PutOk);
        let a = r.append.unwrap();
        out.push(Put {
            queue,
            queue_offset: a.logics_offset,
            phy: a.wrote_offset,
            i,
        });
    }
    store.wait_dispatched().unwrap();
    store.flush().unwrap();
    out
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    v.sort();
    v
}

/// Each queue's first offset whose record starts at or after `min_phy`.
fn expected_min(puts: &[Put], queue: i32, min_phy: i64) -> i64 {
    puts.iter()
        .filter(|p| p.queue == queue && p.phy >= min_phy)
        .map(|p| p.queue_offset)
        .min()
        .unwrap()
}

/// (name, endPhyOffset) of each index file, oldest first.
fn index_files(root: &Path) -> Vec<(String, i64)> {
    let dir = root.join("index");
    names(&dir)
        .into_iter()
        .map(|n| {
            let data = std::fs::read(dir.join(&n)).unwrap();
            let end = i64::from_be_bytes(data[24..32].try_into().unwrap());
            (n, end)
        })
        .collect()
}

/// The index files expiry must keep: drop the oldest while endPhyOffset < min, never the last.
fn surviving_index_files(before: &[(String, i64)], min: i64) -> Vec<String> {
    let drop = before
        .iter()
        .take(before.len() - 1)
        .take_while(|(_, end)| *end < min)
        .count();
    before[drop..].iter().map(|(n, _)| n.clone()).collect()
}

fn decode(b: &bytes::Bytes) -> StoredMessage {
    StoredMessage::decode(b).unwrap()
}

/// Every record from `min_phy` on is readable through its queue; everything below answers
/// as Java does.
fn check_reads(store: &MessageStore, puts: &[Put], min_phy: i64) {
    for queue in 0..2 {
        let min = expected_min(puts, queue, min_phy);
        assert_eq!(
            store.min_offset_in_queue(TOPIC, queue),
            min,
            "queue {queue}"
        );
        let r = store.get_message(TOPIC, queue, 0, 32, None);
        assert_eq!(r.status, GetMessageStatus::OffsetTooSmall, "queue {queue}");
        assert_eq!(r.next_begin_offset, min);
        assert_eq!(r.min_offset, min);
        // Read the rest of the queue in batches from the new minimum.
        let mut offset = min;
        let mut seen = 0;
        loop {
            let r = store.get_message(TOPIC, queue, offset, 32, None);
            if r.status == GetMessageStatus::OffsetOverflowOne {
                break;
            }
            assert_eq!(
                r.status,
                GetMessageStatus::Found,
                "queue {queue} @ {offset}"
            );
            for (rec, qo) in r.messages.iter().zip(&r.message_queue_offsets) {
                let m = decode(rec);
                let p = puts
                    .iter()
                    .find(|p| p.queue == queue && p.queue_offset == *qo)
                    .unwrap();
                assert_eq!(m.commit_log_offset, p.phy);
                assert_eq!(m.body[0], (p.i % 251) as u8);
                seen += 1;
            }
            offset = r.next_begin_offset;
        }
        let total = puts.iter().filter(|p| p.queue == queue).count() as i64;
        assert_eq!(seen, total - min, "queue {queue}");
    }
    for p in puts {
        let found = store.look_message_by_offset(p.phy);
        if p.phy < min_phy {
            assert!(found.is_none(), "deleted record {} still readable", p.phy);
        } else {
            assert_eq!(found.unwrap().queue_offset, p.queue_offset);
        }
    }
    // Index: keys of deleted messages find nothing, keys of kept ones their record.
    let first_kept = puts.iter().find(|p| p.phy >= min_phy).unwrap();
    let last_gone = puts.iter().rev().find(|p| p.phy < min_phy).unwrap();
    let q = store.query_message(TOPIC, &format!("K-{}", first_kept.i), 32, 0, i64::MAX);
    assert!(q
        .messages
        .iter()
        .any(|m| decode(m).commit_log_offset == first_kept.phy));
    let q = store.query_message(TOPIC, &format!("K-{}", last_gone.i), 32, 0, i64::MAX);
    assert!(q.messages.is_empty());
    let first_time = store
        .look_message_by_offset(first_kept.phy)
        .unwrap()
        .store_timestamp;
    assert_eq!(store.earliest_message_time(), first_time);
}

#[test]
fn expired_files_go_at_delete_when_oldest_first_and_queues_and_index_follow() {
    let env = Env::new();
    let store = env.open();
    let puts = fill(&store, 1500);
    let dir = env.commit_log_dir();
    let files = names(&dir);
    assert!(files.len() >= 18, "{} commitlog files", files.len());
    let cq_files = |q: i32| {
        names(
            &env.config
                .consume_queue_dir()
                .join(TOPIC)
                .join(q.to_string()),
        )
    };
    let cq_before = cq_files(0).len();
    let index_before = index_files(env.config.root());
    assert!(
        index_before.len() >= 5,
        "{} index files",
        index_before.len()
    );

    // 14 files are older than fileReservedTime (1 h), the rest are young.
    env.age(0..14, 2);

    // Not the deleteWhen hour, disk fine: nothing happens.
    env.hour.store(5, Ordering::Release);
    let r = store.clean_expired_files_now();
    assert!(!r.timeup && !r.spacefull && !r.manual);
    assert_eq!(r.commit_log_files, 0);
    assert_eq!(names(&dir), files);

    // 04:xx: the 10 oldest (batch limit) go, in order.
    env.hour.store(4, Ordering::Release);
    let r = store.clean_expired_files_now();
    assert!(r.timeup && !r.clean_at_once);
    assert_eq!(r.commit_log_files, 10);
    assert_eq!(names(&dir), files[10..]);
    let min = 10 * FILE;
    assert_eq!(store.min_phy_offset(), min);
    assert!(r.consume_queue_files > 0);
    assert!(cq_files(0).len() < cq_before);
    assert_eq!(
        names(&env.config.root().join("index")),
        surviving_index_files(&index_before, min)
    );
    assert!(r.index_files > 0);
    check_reads(&store, &puts, min);

    // The next pass takes the other 4 expired files and stops at the first young one.
    let index_before = index_files(env.config.root());
    let r = store.clean_expired_files_now();
    assert_eq!(r.commit_log_files, 4);
    assert_eq!(names(&dir), files[14..]);
    let min = 14 * FILE;
    assert_eq!(store.min_phy_offset(), min);
    assert_eq!(
        names(&env.config.root().join("index")),
        surviving_index_files(&index_before, min)
    );
    check_reads(&store, &puts, min);
    let r = store.clean_expired_files_now();
    assert_eq!(
        (r.commit_log_files, r.consume_queue_files, r.index_files),
        (0, 0, 0)
    );

    // Writes go on after the gap; a restart keeps the min offsets and the reads.
    let more = fill_from(&store, 1500, 10);
    drop(store);
    let store = env.open();
    assert_eq!(store.min_phy_offset(), min);
    let all: Vec<Put> = puts.iter().copied().chain(more).collect();
    check_reads(&store, &all, min);
}

#[test]
fn disk_ratios_make_expiry_hourless_then_forced_but_never_the_last_file() {
    let env = Env::new();
    let store = env.open();
    let puts = fill(&store, 1200);
    let dir = env.commit_log_dir();
    let files = names(&dir);
    env.age(0..3, 2);

    // 80 %: above diskMaxUsedSpaceRatio (75): expired files go at any hour, young ones stay.
    env.disk.set(0.80);
    let r = store.clean_expired_files_now();
    assert!(r.spacefull && !r.timeup && !r.clean_at_once);
    assert_eq!(r.commit_log_files, 3);
    assert_eq!(names(&dir), files[3..]);
    assert!(!store.running_flags().is_disk_full());

    // 87 %: above the forced-clean ratio (85): age no longer matters, 10 per pass; the
    // current file is never deleted; puts still work (below 90 %).
    env.disk.set(0.87);
    let r = store.clean_expired_files_now();
    assert!(r.clean_at_once);
    assert_eq!(r.commit_log_files, 10);
    while store.clean_expired_files_now().commit_log_files > 0 {}
    assert_eq!(names(&dir), [files.last().unwrap().clone()]);
    let min = (files.len() as i64 - 1) * FILE;
    assert_eq!(store.min_phy_offset(), min);
    check_reads(&store, &puts, min);
    assert_eq!(
        store.put_message(message(TOPIC, 0, 5000, 10)).status,
        PutMessageStatus::PutOk
    );
}

#[test]
fn forced_clean_needs_clean_file_forcibly_enable() {
    let mut env = Env::new();
    env.config.clean_file_forcibly_enable = false;
    let store = env.open();
    fill(&store, 300);
    let files = names(&env.commit_log_dir());
    env.disk.set(0.87);
    let r = store.clean_expired_files_now();
    assert!(r.spacefull && !r.clean_at_once);
    assert_eq!(r.commit_log_files, 0);
    assert_eq!(names(&env.commit_log_dir()), files);
}

/// Polls `cond` (the store's threads act on their own); the deadline only catches a hang.
fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn full_disk_refuses_puts_keeps_reads_and_recovers() {
    let env = Env::new();
    let store = env.open();
    let puts = fill(&store, 50);
    let max = store.max_phy_offset();

    // The disk check (its own period, 20 ms here) marks the disk full above 90 %.
    env.disk.set(0.95);
    wait_for("disk full", || store.running_flags().is_disk_full());
    let r = store.put_message(message(TOPIC, 0, 100, 10));
    assert_eq!(r.status, PutMessageStatus::ServiceNotAvailable);
    assert!(r.append.is_none());
    let batch = [message(TOPIC, 1, 101, 10), message(TOPIC, 1, 102, 10)];
    assert_eq!(
        store.put_messages(&batch).status,
        PutMessageStatus::ServiceNotAvailable
    );
    assert_eq!(store.max_phy_offset(), max, "nothing written");
    // Reads keep working.
    let r = store.get_message(TOPIC, 0, 0, 32, None);
    assert_eq!(r.status, GetMessageStatus::Found);
    assert_eq!(r.messages.len(), 25);
    assert!(store.look_message_by_offset(puts[49].phy).is_some());

    // Back under the warning ratio: writes resume.
    env.disk.set(0.89);
    wait_for("disk ok", || !store.running_flags().is_disk_full());
    let r = store.put_message(message(TOPIC, 0, 103, 10));
    assert_eq!(r.status, PutMessageStatus::PutOk);
    store.wait_dispatched().unwrap();
    assert_eq!(store.max_offset_in_queue(TOPIC, 0), 26);

    // The on-demand check and a clean pass set the flag too (Java's isSpaceToDelete).
    env.disk.set(0.91);
    assert!(store.check_disk_space_now());
    env.disk.set(0.5);
    assert!(!store.check_disk_space_now());
    env.disk.set(0.93);
    store.clean_expired_files_now();
    assert!(store.running_flags().is_disk_full());
}

#[test]
fn manual_trigger_gives_20_hourless_rounds_starting_at_once() {
    let env = Env::new();
    let store = env.open();
    let puts = fill(&store, 600);
    let dir = env.commit_log_dir();
    let files = names(&dir);
    env.age(0..3, 2);

    // Not 04:xx, disk fine: the periodic rule would keep everything.
    assert_eq!(store.clean_expired_files_now().commit_log_files, 0);
    store.execute_delete_files_manually();
    // The clean thread runs the first round at once (its periodic passes are an hour away).
    wait_for("manual round", || store.min_phy_offset() == 3 * FILE);
    wait_for("queues follow", || {
        store.min_offset_in_queue(TOPIC, 0) == expected_min(&puts, 0, 3 * FILE)
    });
    assert_eq!(store.manual_delete_rounds_left(), 19);
    assert_eq!(names(&dir), files[3..], "young files stay");
    check_reads(&store, &puts, 3 * FILE);
    for left in (0..19).rev() {
        let r = store.clean_expired_files_now();
        assert!(r.manual && !r.timeup);
        assert_eq!(store.manual_delete_rounds_left(), left);
    }
    assert!(!store.clean_expired_files_now().manual);
}

#[test]
fn clean_thread_runs_passes_every_clean_resource_interval() {
    let env = Env::new();
    env.hour.store(4, Ordering::Release);
    let store = {
        let mut options = env.options();
        options.clean_initial_delay = Duration::ZERO;
        MessageStore::open_with(env.config.clone(), options).unwrap()
    };
    let puts = fill(&store, 600);
    env.age(0..2, 2);
    wait_for("expiry", || store.min_phy_offset() == 2 * FILE);
    wait_for("queues follow", || {
        (0..2).all(|q| store.min_offset_in_queue(TOPIC, q) == expected_min(&puts, q, 2 * FILE))
    });
    // A later ageing is picked up by a later pass.
    env.age(0..1, 2);
    wait_for("second expiry", || store.min_phy_offset() == 3 * FILE);
}

/// UPDATE_BROKER_CONFIG's part in the store: `fileReservedTime` and `deleteWhen` changed on the
/// running store decide the next pass; a value that does not parse is refused and the old one
/// kept.
#[test]
fn clean_settings_change_on_a_running_store() {
    let env = Env::new();
    let store = env.open();
    let puts = fill(&store, 600);
    let dir = env.commit_log_dir();
    let files = names(&dir);
    env.age(0..3, 2);
    env.hour.store(5, Ordering::Release);

    // Not the hour: nothing. deleteWhen=05 makes it the hour, but 3 h of reserve keeps the
    // 2 h old files.
    assert!(!store.clean_expired_files_now().timeup);
    let set = |k: &str, v: &str| store.update_config(&[(k.to_owned(), v.to_owned())]);
    assert!(set("deleteWhen", "05").is_empty());
    assert!(set("fileReservedTime", "3").is_empty());
    let r = store.clean_expired_files_now();
    assert!(r.timeup);
    assert_eq!(r.commit_log_files, 0);
    assert_eq!(store.current_config().file_reserved_time, 3);
    assert_eq!(
        store.config().file_reserved_time,
        1,
        "the open-time settings stay"
    );

    // A bad value is refused and the 3 h kept; 1 h then lets the pass take the old files.
    assert_eq!(set("fileReservedTime", "two").len(), 1);
    assert_eq!(store.current_config().file_reserved_time, 3);
    assert_eq!(store.clean_expired_files_now().commit_log_files, 0);
    assert!(set("fileReservedTime", "1").is_empty());
    assert_eq!(store.clean_expired_files_now().commit_log_files, 3);
    assert_eq!(names(&dir), files[3..]);
    check_reads(&store, &puts, 3 * FILE);
}

/// CLEAN_EXPIRED_CONSUMEQUEUE (`cleanExpiredConsumerQueue`): a queue whose every message is in
/// deleted commitlog files goes (files, directory, queue offset); queues with a live message
/// and SCHEDULE_TOPIC_XXXX stay.
#[test]
fn expired_consume_queues_go_when_all_their_messages_expired() {
    let env = Env::new();
    let store = env.open();
    for i in 0..5 {
        assert_eq!(
            store.put_message(message("OldTopic", 0, i, 700)).status,
            PutMessageStatus::PutOk
        );
        assert_eq!(
            store
                .put_message(message("SCHEDULE_TOPIC_XXXX", 1, i, 700))
                .status,
            PutMessageStatus::PutOk
        );
    }
    let puts = fill(&store, 600);
    let cq_dir = env.config.consume_queue_dir();
    assert!(cq_dir.join("OldTopic").join("0").is_dir());

    // Nothing expired yet: every queue has a live message.
    assert_eq!(store.clean_expired_consumer_queue(), Vec::new());

    env.age(0..3, 2);
    env.hour.store(4, Ordering::Release);
    assert_eq!(store.clean_expired_files_now().commit_log_files, 3);
    let min = store.min_phy_offset();
    assert_eq!(min, 3 * FILE);

    assert_eq!(
        store.clean_expired_consumer_queue(),
        vec![("OldTopic".to_owned(), 0)]
    );
    assert!(!cq_dir.join("OldTopic").exists());
    assert_eq!(store.queue_ids("OldTopic"), Vec::<i32>::new());
    assert_eq!(store.max_offset_in_queue("OldTopic", 0), 0);
    assert_eq!(store.queue_ids("SCHEDULE_TOPIC_XXXX"), vec![1]);
    assert_eq!(store.queue_ids(TOPIC), vec![0, 1]);
    check_reads(&store, &puts, min);
    // A second call finds nothing more.
    assert_eq!(store.clean_expired_consumer_queue(), Vec::new());
    // The topic starts again at offset 0.
    assert!(store.put_message(message("OldTopic", 0, 9, 100)).is_ok());
    store.wait_dispatched().unwrap();
    assert_eq!(store.max_offset_in_queue("OldTopic", 0), 1);
}
