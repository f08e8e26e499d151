//! The 5.x timer layouts against values computed from Java's formats, the put hook's rules,
//! and the service over a real store with a driven clock (delivery never early, cancel,
//! restart recovery, metrics).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use remoting_codec::message::{MessageProperties, StoredMessage};

use super::checkpoint::{TimerCheckpoint, TimerCheckpointFile};
use super::hook::{self, *};
use super::log::{self as tlog, TimerLogUnit};
use super::metrics::TimerMetrics;
use super::wheel::{encode_slot, Slot, TimerWheel};
use super::*;
use crate::clean::StoreOptions;
use crate::config::MessageStoreConfig;
use crate::results::PutMessageStatus;

#[test]
fn timer_log_unit_is_java_layout() {
    // Java: 0xBBCCDDEE ^ 1880681586 + 8, i.e. 0xBBCCDDEE ^ 1880681594 = 0xCBD43194.
    assert_eq!(tlog::BLANK_MAGIC_CODE, 0xCBD4_3194_u32 as i32);
    assert_eq!(tlog::BLANK_MAGIC_CODE, -875_286_124);
    assert_eq!(tlog::UNIT_SIZE, 4 + 8 + 4 + 8 + 4 + 8 + 4 + 4 + 8);
    let unit = TimerLogUnit {
        prev_pos: 0x0102_0304_0506_0708,
        magic: 3,
        write_time_ms: 1_700_000_000_000,
        delay: 5000,
        offset_py: 123_456,
        size_py: 210,
        topic_hash: TimerMessageStore::hash_topic(Some("TopicA")),
    };
    let b = unit.encode();
    assert_eq!(&b[0..4], &52i32.to_be_bytes());
    assert_eq!(&b[4..12], &[1, 2, 3, 4, 5, 6, 7, 8]);
    assert_eq!(&b[12..16], &3i32.to_be_bytes());
    assert_eq!(&b[16..24], &1_700_000_000_000i64.to_be_bytes());
    assert_eq!(&b[24..28], &5000i32.to_be_bytes());
    // UNIT_PRE_SIZE_FOR_MSG: offsetPy then sizePy.
    assert_eq!(&b[28..36], &123_456i64.to_be_bytes());
    assert_eq!(&b[36..40], &210i32.to_be_bytes());
    // "TopicA".hashCode() in Java.
    assert_eq!(&b[40..44], &(-1_784_167_150i32).to_be_bytes());
    assert_eq!(&b[44..52], &[0u8; 8]);
    assert_eq!(TimerLogUnit::decode(&b), Some((52, unit)));
    assert_eq!(unit.delayed_time(), 1_700_000_005_000);
    assert!(tlog::is_magic_ok(7) && !tlog::is_magic_ok(16));
}

#[test]
fn timer_log_appends_blank_at_file_end() {
    let dir = tempfile::tempdir().unwrap();
    // Two units fit in 120 bytes; the third needs 52 + 16 more and goes to the next file.
    let log = tlog::TimerLog::new(dir.path(), 120);
    log.load().unwrap();
    let unit = [7u8; tlog::UNIT_SIZE];
    assert_eq!(log.append(&unit).unwrap(), 0);
    assert_eq!(log.append(&unit).unwrap(), 52);
    assert_eq!(log.append(&unit).unwrap(), 120);
    let first = std::fs::read(dir.path().join("00000000000000000000")).unwrap();
    assert_eq!(&first[104..108], &16i32.to_be_bytes());
    assert_eq!(&first[108..116], &[0u8; 8]);
    assert_eq!(&first[116..120], &tlog::BLANK_MAGIC_CODE.to_be_bytes());
    assert!(dir.path().join("00000000000000000120").exists());
}

#[test]
fn timer_log_files_expire_with_the_commitlog() {
    let dir = tempfile::tempdir().unwrap();
    let log = tlog::TimerLog::new(dir.path(), 120);
    log.load().unwrap();
    assert_eq!(tlog::TimerLog::offset_for_last_unit(120), 52);
    let unit = |offset_py| TimerLogUnit {
        prev_pos: -1,
        magic: 1,
        write_time_ms: 0,
        delay: 0,
        offset_py,
        size_py: 100,
        topic_hash: 0,
    };
    // Files of two units: [0, 100], [200, 300], [400].
    for offset_py in [0, 100, 200, 300, 400] {
        log.append(&unit(offset_py).encode()).unwrap();
    }
    assert_eq!(log.files().len(), 3);
    // The commitlog starts at 250: only the first file's messages are all gone.
    assert_eq!(log.delete_expired(250), 1);
    assert_eq!(log.files()[0].file_from_offset(), 120);
    // Never the last file.
    assert_eq!(log.delete_expired(i64::MAX), 1);
    assert_eq!(log.files().len(), 1);
}

#[test]
fn timer_wheel_is_java_layout_and_persists() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("timerwheel");
    let wheel = TimerWheel::open(&path, SLOTS_TOTAL, 1000).unwrap();
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 38_707_200);
    let t = 1_700_000_123_456i64;
    assert_eq!(wheel.slot(t), Slot::EMPTY);
    wheel.put_slot(t, 52, 104, 2, 0);
    // index = t / precision mod (slots × 2); the slot stores t / precision.
    let index = (t / 1000 % (SLOTS_TOTAL * 2)) as usize;
    assert_eq!(wheel.slot_index(t), index);
    let slot = wheel.slot(t);
    assert_eq!(
        slot,
        Slot {
            time_ms: 1_700_000_123_000,
            first_pos: 52,
            last_pos: 104,
            num: 2,
            magic: 0
        }
    );
    // The same index one round later is another slot.
    assert_eq!(wheel.slot(t + SLOTS_TOTAL * 2 * 1000), Slot::EMPTY);
    wheel.flush().unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(
        &bytes[index * 32..index * 32 + 32],
        &encode_slot(t / 1000, 52, 104, 2, 0)
    );
    assert_eq!(
        &bytes[index * 32..index * 32 + 8],
        &(t / 1000).to_be_bytes()
    );
    drop(wheel);
    let wheel = TimerWheel::open(&path, SLOTS_TOTAL, 1000).unwrap();
    assert_eq!(wheel.slot(t).last_pos, 104);
    assert_eq!(wheel.all_num(t / 1000 * 1000), 2);
    // Java refuses a wheel of another length.
    std::fs::write(&path, [0u8; 64]).unwrap();
    let err = TimerWheel::open(&path, SLOTS_TOTAL, 1000).err().unwrap();
    assert!(err
        .to_string()
        .contains("Timer wheel length:64 != expected:38707200"));
}

#[test]
fn timer_checkpoint_is_java_layout() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config").join("timercheck");
    let file = TimerCheckpointFile::new(&path);
    assert_eq!(file.load().unwrap(), TimerCheckpoint::default());
    let cp = TimerCheckpoint {
        last_read_time_ms: 1_700_000_000_000,
        last_timer_log_flush_pos: 520,
        last_timer_queue_offset: 10,
        master_timer_queue_offset: 11,
        state_version: 0,
        timestamp: 1_700_000_000_500,
        counter: 3,
    };
    file.flush(&cp).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(bytes.len(), 4096);
    let mut expected = Vec::new();
    for v in [1_700_000_000_000i64, 520, 10, 11, 0, 1_700_000_000_500, 3] {
        expected.extend_from_slice(&v.to_be_bytes());
    }
    assert_eq!(&bytes[..56], &expected[..]);
    assert!(bytes[56..].iter().all(|&b| b == 0));
    assert_eq!(file.load().unwrap(), cp);
    // An older checkpoint without the data version decodes with a zero version.
    let old = TimerCheckpoint::decode(&expected[..32]).unwrap();
    assert_eq!((old.master_timer_queue_offset, old.counter), (11, 0));
}

#[test]
fn timer_metrics_file_is_java_json() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("timermetrics");
    let metrics = TimerMetrics::new(&path);
    metrics.add_and_get("TopicA", 1, 1_700_000_000_000);
    metrics.add_and_get("TopicA", 1, 1_700_000_000_001);
    metrics.add_and_get("TopicB", -1, 1_700_000_000_002);
    assert_eq!(metrics.timing_count("TopicA"), 2);
    metrics.persist();
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        r#"{"dataVersion":{"counter":3,"stateVersion":0,"timestamp":1700000000002},"timingCount":{"TopicA":{"count":2,"timeStamp":1700000000001},"TopicB":{"count":-1,"timeStamp":1700000000002}}}"#
    );
    let again = TimerMetrics::new(&path);
    again.load().unwrap();
    assert_eq!(again.snapshot(), metrics.snapshot());
}

fn message(topic: &str, props: &[(&str, &str)]) -> StoredMessage {
    let mut properties = MessageProperties::new();
    for (k, v) in props {
        properties.insert(*k, *v);
    }
    let host: SocketAddr = "127.0.0.1:10911".parse().unwrap();
    StoredMessage {
        topic: topic.to_owned(),
        queue_id: 3,
        born_host: host,
        store_host: host,
        body: bytes::Bytes::from_static(b"hello"),
        properties,
        ..StoredMessage::default()
    }
}

#[test]
fn hook_rewrites_timer_messages_as_5x() {
    let config = MessageStoreConfig::default();
    let now = 1_700_000_000_300;
    let handle = |msg: &mut StoredMessage| handle_timer_message(&config, || now, None, msg);

    let mut msg = message("TopicA", &[("TIMER_DELAY_SEC", "5"), ("UNIQ_KEY", "AB")]);
    handle(&mut msg).unwrap();
    assert_eq!(msg.topic, TIMER_TOPIC);
    assert_eq!(msg.queue_id, 0);
    // now + 5000 = ...5300, rounded down to the second.
    assert_eq!(msg.properties.get(TIMER_OUT_MS), Some("1700000005000"));
    assert_eq!(msg.properties.real_topic(), Some("TopicA"));
    assert_eq!(msg.properties.real_queue_id(), Some(3));
    let mut expected = msg.properties.clone();
    expected.sort_in_java_hash_map_order();
    assert_eq!(msg.properties.encode(), expected.encode());

    // An exact multiple goes one slot earlier.
    let mut msg = message("TopicA", &[("TIMER_DELIVER_MS", "1700000010000")]);
    handle(&mut msg).unwrap();
    assert_eq!(msg.properties.get(TIMER_OUT_MS), Some("1700000009000"));
    let mut msg = message("TopicA", &[("TIMER_DELAY_MS", "1500")]);
    handle(&mut msg).unwrap();
    assert_eq!(msg.properties.get(TIMER_OUT_MS), Some("1700000001000"));

    // Refusals.
    let illegal = Err(PutMessageStatus::WheelTimerMsgIllegal);
    assert_eq!(
        handle(&mut message("T", &[("TIMER_DELIVER_MS", "soon")])),
        illegal
    );
    let too_far = (now + 3 * 24 * 3600 * 1000 + 1).to_string();
    assert_eq!(
        handle(&mut message("T", &[("TIMER_DELIVER_MS", &too_far)])),
        illegal
    );
    let past = (now - 1).to_string();
    let del = [
        ("TIMER_DELIVER_MS", past.as_str()),
        ("TIMER_DEL_UNIQKEY", "T+AB"),
    ];
    assert_eq!(handle(&mut message("T", &del)), illegal);
    // A time in the past is an ordinary message.
    let mut msg = message("T", &[("TIMER_DELIVER_MS", &past)]);
    handle(&mut msg).unwrap();
    assert_eq!((msg.topic.as_str(), msg.queue_id), ("T", 3));
    assert_eq!(msg.properties.get(TIMER_OUT_MS), None);
    // A delay level wins and drops the timer properties.
    let mut msg = message(
        "T",
        &[
            ("DELAY", "2"),
            ("TIMER_DELAY_SEC", "5"),
            ("TIMER_DELAY_MS", "9"),
        ],
    );
    handle(&mut msg).unwrap();
    assert_eq!(msg.topic, "T");
    assert!(!msg.properties.contains_key(TIMER_DELAY_SEC));
    assert!(!msg.properties.contains_key(TIMER_DELAY_MS));
    // A level that is 0 or not a number does not: the message is a timer message.
    for level in ["0", "x"] {
        let mut msg = message("T", &[("DELAY", level), ("TIMER_DELAY_SEC", "5")]);
        handle(&mut msg).unwrap();
        assert_eq!(msg.properties.get(TIMER_OUT_MS), Some("1700000005000"));
    }
    // A message that already has TIMER_OUT_MS (delivered by the wheel) is put as it is.
    let mut msg = message("T", &[("TIMER_OUT_MS", "7"), ("TIMER_DELAY_SEC", "5")]);
    handle(&mut msg).unwrap();
    assert_eq!(
        (msg.topic.as_str(), msg.properties.get(TIMER_OUT_MS)),
        ("T", Some("7"))
    );
    // Disabled.
    let off = MessageStoreConfig {
        timer_wheel_enable: false,
        ..MessageStoreConfig::default()
    };
    let mut msg = message("T", &[("TIMER_DELAY_SEC", "5")]);
    assert_eq!(
        hook::handle_timer_message(&off, || now, None, &mut msg),
        Err(PutMessageStatus::WheelTimerNotEnable)
    );
    assert_eq!(crate::config::snap_timer_precision(300), 200);
    assert_eq!(crate::config::snap_timer_precision(50), 100);
    assert_eq!(crate::config::snap_timer_precision(5000), 1000);
}

struct Fixture {
    dir: tempfile::TempDir,
    clock: Arc<AtomicI64>,
}

impl Fixture {
    fn new(start: i64) -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            clock: Arc::new(AtomicI64::new(start)),
        }
    }

    fn open(&self, name: &str) -> MessageStore {
        self.open_with(name, MessageStoreConfig::default())
    }

    fn open_with(&self, name: &str, base: MessageStoreConfig) -> MessageStore {
        let config = MessageStoreConfig {
            store_path_root_dir: self.dir.path().join(name),
            mapped_file_size_commit_log: 1024 * 1024,
            mapped_file_size_consume_queue: 1000 * 20,
            mapped_file_size_timer_log: 52 * 100 + 16,
            ..base
        };
        let clock = self.clock.clone();
        let options = StoreOptions {
            clock: Arc::new(move || clock.load(Ordering::SeqCst)),
            // Not the machine's disk: over 90 % used, puts would be refused from 1 s on.
            disk_probe: Arc::new(crate::FixedDiskUsage(0.5)),
            ..StoreOptions::default()
        };
        MessageStore::open_with(config, options).unwrap()
    }

    fn set(&self, now: i64) {
        self.clock.store(now, Ordering::SeqCst);
    }
}

/// Bodies delivered to `topic` queue 3, with their TIMER_* properties.
fn delivered(store: &MessageStore, topic: &str) -> Vec<StoredMessage> {
    store.wait_dispatched().unwrap();
    let Some(cq) = store.consume_queue(topic, 3) else {
        return Vec::new();
    };
    let Some(entries) = cq.entries_from(cq.min_offset()) else {
        return Vec::new();
    };
    entries
        .filter_map(|(_, e)| store.look_message_by_offset(e.offset))
        .collect()
}

fn round(store: &MessageStore) {
    store.wait_dispatched().unwrap();
    store.timer().unwrap().round(store);
    store.wait_dispatched().unwrap();
}

#[test]
fn service_delivers_on_time_cancels_and_recovers() {
    let t0 = 1_700_000_000_300;
    let fx = Fixture::new(t0);
    {
        let store = fx.open("a");
        let put = |props: &[(&str, &str)]| {
            let r = store.put_message(message("TopicA", props));
            assert_eq!(r.status, PutMessageStatus::PutOk);
        };
        put(&[("TIMER_DELAY_SEC", "3"), ("UNIQ_KEY", "K1")]);
        put(&[("TIMER_DELAY_SEC", "5"), ("UNIQ_KEY", "K2")]);
        put(&[("TIMER_DELAY_SEC", "5"), ("UNIQ_KEY", "K3")]);
        // Cancels K3 (same delivery time, the key is `<real topic>+<uniq key>`).
        put(&[("TIMER_DELAY_SEC", "5"), ("TIMER_DEL_UNIQKEY", "TopicA+K3")]);
        put(&[("TIMER_DELAY_SEC", "60"), ("UNIQ_KEY", "K4")]);
        round(&store);
        let timer = store.timer().unwrap();
        // K1, K2, K3, K4 counted, the cancel subtracted.
        assert_eq!(timer.metrics().timing_count("TopicA"), 3);
        assert!(delivered(&store, "TopicA").is_empty());
        // K1's time is t0 + 3000 = ...3300 → slot ...3000, due once now ≥ ...4000 > ...3300.
        fx.set(t0 + 3000);
        round(&store);
        assert!(
            delivered(&store, "TopicA").is_empty(),
            "never before its time"
        );
        fx.set(t0 + 3700);
        round(&store);
        let got = delivered(&store, "TopicA");
        assert_eq!(got.len(), 1);
        let k1 = &got[0];
        assert_eq!(k1.properties.uniq_key(), Some("K1"));
        assert_eq!(k1.body.as_ref(), b"hello");
        assert_eq!(k1.store_timestamp, t0 + 3700);
        assert!(k1.properties.contains_key(TIMER_ENQUEUE_MS));
        assert_eq!(
            k1.properties.get(TIMER_DEQUEUE_MS),
            Some((t0 + 3700).to_string().as_str())
        );
        // Java keeps REAL_TOPIC / REAL_QID in the delivered record's bytes.
        assert_eq!(k1.properties.real_topic(), Some("TopicA"));
        timer.flush(&store).unwrap();
        store.shutdown().unwrap();
    }
    // Restart: K2 (K3 cancelled) and K4 are still pending.
    {
        let store = fx.open("a");
        fx.set(t0 + 5700);
        round(&store);
        let keys: Vec<String> = delivered(&store, "TopicA")
            .iter()
            .map(|m| m.properties.uniq_key().unwrap().to_owned())
            .collect();
        assert_eq!(keys, ["K1", "K2"]);
        assert_eq!(store.timer().unwrap().metrics().timing_count("TopicA"), 1);
        // What kill -9 leaves: the files as written (page cache), no shutdown, no final
        // flush of the wheel or the checkpoint, the abort file in place.
        copy_dir(&fx.dir.path().join("a"), &fx.dir.path().join("b"));
    }
    {
        let store = fx.open("b");
        assert!(store.recovery_report().abnormal);
        fx.set(t0 + 59_000);
        round(&store);
        let n = delivered(&store, "TopicA").len();
        assert!(n >= 2, "nothing lost");
        assert!(
            !delivered(&store, "TopicA")
                .iter()
                .any(|m| m.properties.uniq_key() == Some("K4")),
            "K4 not early"
        );
        fx.set(t0 + 60_700);
        round(&store);
        let got = delivered(&store, "TopicA");
        let k4: Vec<_> = got
            .iter()
            .filter(|m| m.properties.uniq_key() == Some("K4"))
            .collect();
        assert_eq!(k4.len(), 1);
        assert!(!got.iter().any(|m| m.properties.uniq_key() == Some("K3")));
    }
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else if entry.file_name() != "lock" {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[test]
fn a_message_beyond_the_roll_window_is_rolled_until_its_time() {
    let t0 = 1_700_000_000_300;
    let fx = Fixture::new(t0);
    let store = fx.open_with(
        "roll",
        MessageStoreConfig {
            timer_roll_window_slot: 4,
            ..MessageStoreConfig::default()
        },
    );
    let due = t0 + 10_000;
    let msg = message(
        "TopicR",
        &[("TIMER_DELIVER_MS", &due.to_string()), ("UNIQ_KEY", "R1")],
    );
    assert_eq!(store.put_message(msg).status, PutMessageStatus::PutOk);
    let mut now = t0;
    while now < due + 1500 {
        round(&store);
        let got = delivered(&store, "TopicR");
        assert!(
            got.is_empty() || now >= due,
            "delivered at {now}, before {due}"
        );
        now += 250;
        fx.set(now);
    }
    round(&store);
    let got = delivered(&store, "TopicR");
    assert_eq!(got.len(), 1);
    let rolls: i32 = got[0]
        .properties
        .get(TIMER_ROLL_TIMES)
        .unwrap()
        .parse()
        .unwrap();
    assert!(rolls >= 1, "{:?}", got[0].properties);
    assert!(got[0].store_timestamp >= due);
    // Each roll went back through the timer topic.
    assert_eq!(store.max_offset_in_queue(TIMER_TOPIC, 0), 1 + rolls as i64);
    assert_eq!(store.timer().unwrap().metrics().timing_count("TopicR"), 0);
}

#[test]
fn a_congested_slot_refuses_with_flow_control() {
    let t0 = 1_700_000_000_300;
    let fx = Fixture::new(t0);
    let store = fx.open_with(
        "congest",
        MessageStoreConfig {
            timer_congest_num_each_slot: 1,
            ..MessageStoreConfig::default()
        },
    );
    let put = || {
        store
            .put_message(message("TopicC", &[("TIMER_DELAY_SEC", "5")]))
            .status
    };
    assert_eq!(put(), PutMessageStatus::PutOk);
    round(&store);
    // One in the slot: not above the limit.
    assert_eq!(put(), PutMessageStatus::PutOk);
    round(&store);
    // Two (= 2 × limit): refused.
    assert_eq!(put(), PutMessageStatus::WheelTimerFlowControl);
}

/// Throughput of the timer path in one process (not a CI test: run with
/// `cargo test --release -p store --lib timer_throughput -- --ignored --nocapture`).
#[test]
#[ignore]
fn timer_throughput() {
    let n: i64 = 200_000;
    let t0 = 1_700_000_000_000;
    let fx = Fixture::new(t0);
    let store = fx.open_with(
        "bench",
        MessageStoreConfig {
            mapped_file_size_commit_log: 256 * 1024 * 1024,
            mapped_file_size_consume_queue: 300_000 * 20,
            ..MessageStoreConfig::default()
        },
    );
    let started = std::time::Instant::now();
    for i in 0..n {
        let at = (t0 + 5_000 + (i % 60_000)).to_string();
        let m = message(
            "TopicB",
            &[("TIMER_DELIVER_MS", &at), ("UNIQ_KEY", &i.to_string())],
        );
        assert_eq!(store.put_message(m).status, PutMessageStatus::PutOk);
    }
    let put = started.elapsed();
    store.wait_dispatched().unwrap();
    let started = std::time::Instant::now();
    let timer = store.timer().unwrap();
    timer.round(&store);
    let enqueue = started.elapsed();
    assert_eq!(timer.metrics().timing_count("TopicB"), n);
    fx.set(t0 + 70_000);
    let started = std::time::Instant::now();
    timer.round(&store);
    let dequeue = started.elapsed();
    store.wait_dispatched().unwrap();
    assert_eq!(store.max_offset_in_queue("TopicB", 3), n);
    let rate = |d: std::time::Duration| n as f64 / d.as_secs_f64();
    println!(
        "{n} timers: put {:.0}/s, enqueue {:.0}/s, dequeue (deliver) {:.0}/s",
        rate(put),
        rate(enqueue),
        rate(dequeue)
    );
}

#[test]
fn a_finer_precision_delivers_in_its_slot() {
    let t0 = 1_700_000_000_330;
    let fx = Fixture::new(t0);
    let store = fx.open_with(
        "fine",
        MessageStoreConfig {
            timer_precision_ms: 100,
            ..MessageStoreConfig::default()
        },
    );
    // t0 + 250 = ...580 → slot ...500, due once the write time passes it (now ≥ ...600).
    let m = message("TopicF", &[("TIMER_DELAY_MS", "250"), ("UNIQ_KEY", "F1")]);
    assert_eq!(store.put_message(m).status, PutMessageStatus::PutOk);
    round(&store);
    fx.set(t0 + 250);
    round(&store);
    assert!(
        delivered(&store, "TopicF").is_empty(),
        "not before its time"
    );
    fx.set(t0 + 270);
    round(&store);
    let got = delivered(&store, "TopicF");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].properties.get(TIMER_OUT_MS), Some("1700000000500"));
    assert_eq!(got[0].store_timestamp, t0 + 270);
}
