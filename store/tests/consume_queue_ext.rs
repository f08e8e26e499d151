//! The consume-queue extension through the store (`enableConsumeQueueExt`): units written at
//! dispatch with the broker's bitmap, readers seeing the real tagsCode, the bitmap pre-filter
//! in `get_message`, recovery, expiry and deletion with the queue.

mod support;

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use remoting_codec::message::{java_string_hash_code, MessageProperties};
use store::consume_queue::ConsumeQueue;
use store::consume_queue_ext::{decorate, undecorate};
use store::{
    is_ext_addr, CqExtUnit, FilterBitMapCalculator, GetMessageStatus, MessageArrivingListener,
    MessageFilter, MessageStore, MessageStoreConfig, StoreOptions,
};
use support::{message, small_config};

/// The broker's part in the test: a 14-byte bitmap (m = 112) with bit 3 set for red messages
/// (as if one consumer's expression `color = 'red'` had bloom positions {3}).
struct RedBit;

impl FilterBitMapCalculator for RedBit {
    fn calc_filter_bit_map(&self, topic: &str, properties: &MessageProperties) -> Option<Vec<u8>> {
        if topic != "T" {
            return None;
        }
        let mut bits = vec![0u8; 14];
        if properties.get("color") == Some("red") {
            bits[0] |= 1 << 3;
        }
        Some(bits)
    }
}

/// Java's `ExpressionMessageFilter` in miniature: by the bitmap when there is one, counting the
/// records it is shown (each one read from the commitlog).
#[derive(Default)]
struct RedFilter {
    commit_log_checks: AtomicUsize,
}

impl MessageFilter for RedFilter {
    fn is_matched_by_consume_queue(&self, _tags_code: Option<i64>) -> bool {
        true
    }
    fn is_matched_by_consume_queue_with_ext(
        &self,
        _tags_code: Option<i64>,
        ext: Option<&CqExtUnit>,
    ) -> bool {
        match ext.and_then(|u| u.filter_bit_map.as_ref()) {
            Some(bits) => bits[0] & (1 << 3) != 0,
            None => true,
        }
    }
    fn is_matched_by_commit_log(&self, _record: &[u8]) -> bool {
        self.commit_log_checks.fetch_add(1, Ordering::SeqCst);
        true
    }
}

#[derive(Default)]
struct Arrivals(Mutex<Vec<(i64, Option<Vec<u8>>)>>);

impl MessageArrivingListener for Arrivals {
    fn arriving(&self, _: &str, _: i32, _: i64, _: i64, _: i64, _: &MessageProperties) {
        panic!("the store calls arriving_with_bit_map");
    }
    fn arriving_with_bit_map(
        &self,
        _topic: &str,
        _queue_id: i32,
        logic_offset: i64,
        _tags_code: i64,
        _store_timestamp: i64,
        filter_bit_map: Option<&[u8]>,
        _properties: &MessageProperties,
    ) {
        self.0
            .lock()
            .unwrap()
            .push((logic_offset, filter_bit_map.map(<[u8]>::to_vec)));
    }
}

fn ext_config(root: &Path) -> MessageStoreConfig {
    MessageStoreConfig {
        enable_consume_queue_ext: true,
        mapped_file_size_consume_queue_ext: 4096,
        ..small_config(root)
    }
}

fn options() -> StoreOptions {
    StoreOptions {
        filter_bit_map: Some(Arc::new(RedBit)),
        ..support::options()
    }
}

fn put_colored(store: &MessageStore, i: usize) -> i64 {
    let mut m = message("T", 0, i, 32);
    m.properties
        .insert("color", if i.is_multiple_of(2) { "red" } else { "blue" });
    let r = store.put_message(m);
    assert!(r.is_ok());
    r.append.unwrap().wrote_offset
}

fn tag_code(i: usize) -> i64 {
    java_string_hash_code(&format!("Tag{}", i % 3)) as i64
}

#[test]
fn units_hold_the_real_tags_code_and_the_bitmap() {
    let tmp = tempfile::tempdir().unwrap();
    let store = MessageStore::open_with(ext_config(tmp.path()), options()).unwrap();
    let arrivals = Arc::new(Arrivals::default());
    store.set_message_arriving_listener(arrivals.clone());
    for i in 0..10 {
        put_colored(&store, i);
    }
    store.wait_dispatched().unwrap();

    let view = store.consume_queue("T", 0).unwrap();
    for (index, raw) in view.entries_from_raw(0).unwrap() {
        let i = index as usize;
        // the slot holds the unit's address: 20 + 14 = 34 bytes per unit
        assert!(is_ext_addr(raw.tags_code));
        assert_eq!(undecorate(raw.tags_code), 34 * index);
        let unit = view.ext_unit(raw.tags_code).unwrap();
        assert_eq!(unit.tags_code, tag_code(i));
        let record = store.select_one_message_by_offset(raw.offset).unwrap();
        assert_eq!(
            Some(unit.msg_store_time),
            store::record_store_timestamp(&record)
        );
        let bits = unit.filter_bit_map.unwrap();
        assert_eq!(bits.len(), 14);
        assert_eq!(bits[0], if i.is_multiple_of(2) { 8 } else { 0 });
        // readers see the real tagsCode
        assert_eq!(view.entry(index).unwrap().tags_code, tag_code(i));
        assert_eq!(view.entry_raw(index).unwrap(), raw);
    }
    let resolved: Vec<i64> = view
        .entries_from(0)
        .unwrap()
        .map(|(_, e)| e.tags_code)
        .collect();
    assert_eq!(resolved, (0..10).map(tag_code).collect::<Vec<_>>());
    assert!(tmp
        .path()
        .join("consumequeue_ext/T/0/00000000000000000000")
        .exists());

    // long polling got the bitmaps
    let got = arrivals.0.lock().unwrap().clone();
    assert_eq!(got.len(), 10);
    assert_eq!(got[0].0, 1);
    assert_eq!(got[0].1.as_deref().map(|b| b[0]), Some(8));
    assert_eq!(got[1].1.as_deref().map(|b| b[0]), Some(0));

    // the bitmap pre-filter: blue records are never read
    let filter = RedFilter::default();
    let r = store.get_message("T", 0, 0, 32, Some(&filter));
    assert_eq!(r.status, GetMessageStatus::Found);
    assert_eq!(r.message_queue_offsets, [0, 2, 4, 6, 8]);
    assert_eq!(filter.commit_log_checks.load(Ordering::SeqCst), 5);
    assert_eq!(r.next_begin_offset, 10);
    // tag filtering sees the real tagsCode
    let tag1 = tag_code(1);
    let r = store.get_message("T", 0, 0, 32, Some(&move |c: i64| c == tag1));
    assert_eq!(r.message_queue_offsets, [1, 4, 7]);

    // reopen: the units are recovered, new ones follow the last
    store.shutdown().unwrap();
    drop(store);
    let store = MessageStore::open_with(ext_config(tmp.path()), options()).unwrap();
    put_colored(&store, 10);
    store.wait_dispatched().unwrap();
    let view = store.consume_queue("T", 0).unwrap();
    let raw = view.entry_raw(10).unwrap();
    assert_eq!(undecorate(raw.tags_code), 340);
    assert_eq!(view.entry(10).unwrap().tags_code, tag_code(10));
    let filter = RedFilter::default();
    let r = store.get_message("T", 0, 0, 32, Some(&filter));
    assert_eq!(r.message_queue_offsets, [0, 2, 4, 6, 8, 10]);
}

#[test]
fn delayed_messages_keep_their_due_time() {
    let tmp = tempfile::tempdir().unwrap();
    let store = MessageStore::open_with(ext_config(tmp.path()), options()).unwrap();
    let mut m = message("T", 0, 1, 16);
    m.properties.insert("DELAY", "3");
    let r = store.put_message(m);
    let stored_at = r.append.unwrap().store_timestamp;
    store.wait_dispatched().unwrap();
    let view = store.consume_queue(store::SCHEDULE_TOPIC, 2).unwrap();
    assert!(is_ext_addr(view.entry_raw(0).unwrap().tags_code));
    // level 3 = 10 s: the schedule service reads the due time through the view
    assert_eq!(view.entry(0).unwrap().tags_code, stored_at + 10_000);
    let (_, first) = view.entries_from(0).unwrap().next().unwrap();
    assert_eq!(first.tags_code, stored_at + 10_000);
    // no bitmap for a topic the hook does not know
    let unit = view.ext_unit(view.entry_raw(0).unwrap().tags_code).unwrap();
    assert_eq!(unit.filter_bit_map, None);
}

#[test]
fn a_crash_cuts_the_units_of_the_lost_records() {
    let tmp = tempfile::tempdir().unwrap();
    let store = MessageStore::open_with(ext_config(tmp.path()), options()).unwrap();
    let offsets: Vec<i64> = (0..6).map(|i| put_colored(&store, i)).collect();
    store.shutdown().unwrap();
    drop(store);
    // The last two records are lost (zeroed) and the store did not stop cleanly.
    let log = tmp.path().join("commitlog/00000000000000000000");
    let mut data = std::fs::read(&log).unwrap();
    data[offsets[4] as usize..].fill(0);
    std::fs::write(&log, &data).unwrap();
    std::fs::write(tmp.path().join("abort"), b"").unwrap();

    let store = MessageStore::open_with(ext_config(tmp.path()), options()).unwrap();
    assert!(store.recovery_report().abnormal);
    assert_eq!(store.max_offset_in_queue("T", 0), 4);
    // the extension was cut after the fourth unit: the next one takes the fifth's place
    let ext = std::fs::read(tmp.path().join("consumequeue_ext/T/0/00000000000000000000")).unwrap();
    assert!(ext[4 * 34..].iter().all(|&b| b == 0));
    put_colored(&store, 4);
    store.wait_dispatched().unwrap();
    let view = store.consume_queue("T", 0).unwrap();
    assert_eq!(undecorate(view.entry_raw(4).unwrap().tags_code), 4 * 34);
    assert_eq!(view.entry(4).unwrap().tags_code, tag_code(4));
}

#[test]
fn the_extension_goes_with_its_queue() {
    let tmp = tempfile::tempdir().unwrap();
    let store = MessageStore::open_with(ext_config(tmp.path()), options()).unwrap();
    put_colored(&store, 0);
    store.wait_dispatched().unwrap();
    assert!(tmp.path().join("consumequeue_ext/T/0").exists());
    let removed = store.clean_unused_topic(&Default::default());
    assert_eq!(removed, ["T"]);
    assert!(!tmp.path().join("consumequeue/T").exists());
    assert!(!tmp.path().join("consumequeue_ext/T").exists());
}

/// Expiry: when the first kept entry moves, extension files wholly before its unit go.
#[test]
fn expiry_deletes_extension_files_before_the_first_kept_entry() {
    let tmp = tempfile::tempdir().unwrap();
    let cq = ConsumeQueue::new(&tmp.path().join("cq"), "T", 0, 4 * 20)
        .with_ext(&tmp.path().join("ext"), 64);
    // 20-byte units (no bitmap): three per 64-byte extension file (a fourth would leave less
    // than 4 bytes)
    for i in 0..8i64 {
        cq.put_message_position_info(i * 100, 100, 7, i, 1000 + i, None)
            .unwrap();
    }
    let ext_files = |cq: &ConsumeQueue| -> Vec<u64> {
        cq.ext()
            .unwrap()
            .files()
            .files()
            .iter()
            .map(|f| f.file_from_offset())
            .collect()
    };
    assert_eq!(ext_files(&cq), [0, 64, 128]);
    // the commitlog now starts at record 5: cq file 0 (entries 0-3) goes, min = entry 5,
    // whose unit is at 104 (file 64): ext file 0 ends before it
    assert_eq!(cq.delete_expired_file(500), 1);
    assert_eq!(cq.min_offset_in_queue(), 5);
    assert_eq!(ext_files(&cq), [64, 128]);
    let e = cq.entry(5).unwrap();
    assert_eq!(e.tags_code, decorate(104));
    assert_eq!(cq.resolve(e.tags_code).unwrap().0, 7);
    assert_eq!(cq.get_ext(decorate(0)), None);
}

#[test]
fn without_the_setting_nothing_changes() {
    let tmp = tempfile::tempdir().unwrap();
    let store = MessageStore::open_with(small_config(tmp.path()), options()).unwrap();
    put_colored(&store, 1);
    store.wait_dispatched().unwrap();
    let view = store.consume_queue("T", 0).unwrap();
    assert_eq!(view.entry_raw(0).unwrap().tags_code, tag_code(1));
    assert_eq!(view.ext_unit(decorate(0)), None);
    assert!(!tmp.path().join("consumequeue_ext").exists());
    let filter = RedFilter::default();
    let r = store.get_message("T", 0, 0, 32, Some(&filter));
    assert_eq!(r.message_queue_offsets, [0]); // no unit: the filter lets it through
}
