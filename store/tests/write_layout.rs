//! A store written by our code follows Java's layout rules.

mod support;

use std::path::Path;

use remoting_codec::message::sysflag::message_sys_flag::{
    TRANSACTION_PREPARED_TYPE, TRANSACTION_ROLLBACK_TYPE,
};
use remoting_codec::message::{decode_record, tags_string_to_tags_code, Record, StoredMessage};
use store::consume_queue::{CqEntry, CQ_STORE_UNIT_SIZE};
use store::{FlushDiskType, GetMessageStatus, PutMessageStatus};
use support::*;

fn files(dir: &Path) -> Vec<(String, u64)> {
    let mut out: Vec<(String, u64)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().into_string().unwrap(),
                e.metadata().unwrap().len(),
            )
        })
        .collect();
    out.sort();
    out
}

/// Decodes every record of the commitlog directory, checking names, sizes and BLANK ends.
fn read_commitlog(dir: &Path, file_size: u64) -> Vec<StoredMessage> {
    let mut out = Vec::new();
    let names = files(dir);
    for (n, (name, len)) in names.iter().enumerate() {
        assert_eq!(*len, file_size, "{name}");
        let start = n as u64 * file_size;
        assert_eq!(name, &format!("{start:020}"));
        let data = bytes::Bytes::from(std::fs::read(dir.join(name)).unwrap());
        let mut pos = 0usize;
        loop {
            match decode_record(&data.slice(pos..)) {
                Ok(Record::Message(m)) => {
                    assert_eq!(m.commit_log_offset, (start + pos as u64) as i64);
                    pos += m.store_size as usize;
                    out.push(m);
                }
                Ok(Record::Blank { total_size }) => {
                    assert_eq!(
                        total_size as usize,
                        data.len() - pos,
                        "BLANK fills the file"
                    );
                    assert!(data[pos + 8..].iter().all(|&b| b == 0));
                    assert!(n + 1 < names.len(), "only a full file ends with BLANK");
                    break;
                }
                Err(_) => {
                    assert_eq!(n + 1, names.len(), "only the last file ends without BLANK");
                    assert!(data[pos..].iter().all(|&b| b == 0), "clean tail");
                    break;
                }
            }
        }
    }
    out
}

#[test]
fn layout_follows_java_rules() {
    let tmp = tempfile::tempdir().unwrap();
    let config = small_config(tmp.path());
    let store = support::open(config.clone());
    let mut results = Vec::new();
    for i in 0..300 {
        let r = store.put_message(message("LayoutTopic", (i % 2) as i32, i, 700 + i % 50));
        assert_eq!(r.status, PutMessageStatus::PutOk);
        results.push(r.append.unwrap());
    }
    // Transaction records: PREPARED/ROLLBACK get queue offset 0 and no consume-queue entry.
    let mut half = message("LayoutTopic", 0, 1000, 10);
    half.sys_flag = TRANSACTION_PREPARED_TYPE;
    let r = store.put_message(half).append.unwrap();
    assert_eq!(r.logics_offset, 0);
    let mut rollback = message("LayoutTopic", 0, 1001, 10);
    rollback.sys_flag = TRANSACTION_ROLLBACK_TYPE;
    store.put_message(rollback);
    // A batch: consecutive queue offsets, one offsetMsgId per record.
    let batch: Vec<_> = (0..5)
        .map(|i| message("BatchTopic", 0, 2000 + i, 100))
        .collect();
    let r = store.put_messages(&batch).append.unwrap();
    assert_eq!((r.logics_offset, r.msg_num), (0, 5));
    assert_eq!(r.msg_id.split(',').count(), 5);
    // A delayed message goes to SCHEDULE_TOPIC_XXXX with its delivery time as tagsCode.
    let mut delayed = message("LayoutTopic", 1, 3000, 10);
    delayed.properties.insert("DELAY", "3");
    let d = store.put_message(delayed).append.unwrap();
    store.wait_dispatched().unwrap();
    store.shutdown().unwrap();
    drop(store);

    let records = read_commitlog(&config.commit_log_dir(), config.mapped_file_size_commit_log);
    assert_eq!(records.len(), 300 + 2 + 5 + 1);
    assert!(files(&config.commit_log_dir()).len() >= 4, "rolled over");
    for (r, rec) in results.iter().zip(&records) {
        assert_eq!(r.wrote_offset, rec.commit_log_offset);
        assert_eq!(r.logics_offset, rec.queue_offset);
        assert_eq!(r.msg_id, rec.offset_msg_id());
        assert_eq!(rec.body_crc, rec.compute_body_crc());
        assert_eq!(rec.store_timestamp, r.store_timestamp);
    }
    // Consume queues: file names are entry byte offsets, entries point at the records.
    for qid in 0..2 {
        let dir = config
            .consume_queue_dir()
            .join("LayoutTopic")
            .join(qid.to_string());
        let cq_files = files(&dir);
        assert_eq!(cq_files.len(), 3, "150 entries fill three 50-entry files");
        let mut entries = Vec::new();
        for (n, (name, len)) in cq_files.iter().enumerate() {
            assert_eq!(*len, config.mapped_file_size_consume_queue);
            assert_eq!(
                name,
                &format!("{:020}", n as u64 * config.mapped_file_size_consume_queue)
            );
            let data = std::fs::read(dir.join(name)).unwrap();
            entries.extend(
                data.chunks(CQ_STORE_UNIT_SIZE)
                    .map(CqEntry::decode)
                    .take_while(|e| e.is_valid()),
            );
        }
        let expected: Vec<_> = records
            .iter()
            .filter(|r| r.topic == "LayoutTopic" && r.queue_id == qid && r.sys_flag == 0)
            .collect();
        assert_eq!(entries.len(), 150);
        assert_eq!(expected.len(), 150);
        for (i, (e, r)) in entries.iter().zip(&expected).enumerate() {
            assert_eq!(r.queue_offset, i as i64);
            assert_eq!(e.offset, r.commit_log_offset);
            assert_eq!(e.size, r.store_size);
            assert_eq!(e.tags_code, tags_string_to_tags_code(r.properties.tags()));
        }
    }
    let sched = config
        .consume_queue_dir()
        .join("SCHEDULE_TOPIC_XXXX/2/00000000000000000000");
    let e = CqEntry::decode(&std::fs::read(sched).unwrap()[..20]);
    assert_eq!(e.offset, d.wrote_offset);
    assert_eq!(e.tags_code, d.store_timestamp + 10_000, "level 3 = 10 s");
    let rec = records.last().unwrap();
    assert_eq!(rec.properties.real_topic(), Some("LayoutTopic"));
    assert_eq!(rec.properties.real_queue_id(), Some(1));
    assert!(!config.store_path_root_dir.join("abort").exists());

    // Reopened: same offsets, and appends continue the queues.
    let store = support::open(config);
    assert!(!store.recovery_report().abnormal);
    assert_eq!(store.max_offset_in_queue("LayoutTopic", 0), 150);
    assert_eq!(store.max_offset_in_queue("BatchTopic", 0), 5);
    let r = store
        .put_message(message("LayoutTopic", 0, 4000, 10))
        .append
        .unwrap();
    assert_eq!(r.logics_offset, 150);
    store.wait_dispatched().unwrap();
    let got = store.get_message("LayoutTopic", 0, 140, 32, None);
    assert_eq!(got.status, GetMessageStatus::Found);
    // One pull reads within one consume-queue file (as Java): 140..150, then 150.
    assert_eq!(got.next_begin_offset, 150);
    assert_eq!(got.messages.len(), 10);
    let got = store.get_message("LayoutTopic", 0, 150, 32, None);
    assert_eq!((got.messages.len(), got.next_begin_offset), (1, 151));
    assert_eq!(
        store.get_message("LayoutTopic", 0, 151, 1, None).status,
        GetMessageStatus::OffsetOverflowOne
    );
    assert_eq!(
        store.get_message("LayoutTopic", 0, 200, 1, None).status,
        GetMessageStatus::OffsetOverflowBadly
    );
    assert_eq!(
        store.get_message("Nope", 0, 0, 1, None).status,
        GetMessageStatus::NoMessageInQueue
    );
    // Offset by time (Java picks the file by mtime, then binary-searches store times): before
    // everything is the first entry, after everything the last.
    assert_eq!(store.offset_in_queue_by_time("LayoutTopic", 0, 0), 0);
    let future = store.offset_in_queue_by_time("LayoutTopic", 0, i64::MAX / 2);
    assert_eq!(future, store.max_offset_in_queue("LayoutTopic", 0) - 1);
}

#[test]
fn torn_tail_record_is_truncated() {
    let tmp = tempfile::tempdir().unwrap();
    let config = small_config(tmp.path());
    let store = support::open(config.clone());
    for i in 0..20 {
        store.put_message(message("TornTopic", 0, i, 300));
    }
    let end = store.max_phy_offset();
    store.shutdown().unwrap();
    drop(store);
    // Write the first 100 bytes of a valid record at the tail, as a crash mid-copy would,
    // and mark the shutdown abnormal.
    let last = message("TornTopic", 0, 99, 300).encode().unwrap();
    let path = config.commit_log_dir().join(format!("{:020}", 0));
    let mut data = std::fs::read(&path).unwrap();
    let pos = end as usize;
    data[pos..pos + 100].copy_from_slice(&last[..100]);
    std::fs::write(&path, &data).unwrap();
    std::fs::write(config.store_path_root_dir.join("abort"), b"").unwrap();

    let store = support::open(config.clone());
    assert!(store.recovery_report().abnormal);
    assert_eq!(store.recovery_report().commit_log_end, end);
    assert_eq!(store.max_phy_offset(), end);
    assert_eq!(store.max_offset_in_queue("TornTopic", 0), 20);
    // The next append lands where the torn record was.
    let r = store
        .put_message(message("TornTopic", 0, 20, 300))
        .append
        .unwrap();
    assert_eq!((r.wrote_offset, r.logics_offset), (end, 20));
    store.shutdown().unwrap();
    drop(store);
    let records = read_commitlog(&config.commit_log_dir(), config.mapped_file_size_commit_log);
    assert_eq!(records.len(), 21);
}

#[test]
fn group_commit_uses_fewer_msyncs_than_appends() {
    let tmp = tempfile::tempdir().unwrap();
    let mut config = small_config(tmp.path());
    config.flush_disk_type = FlushDiskType::SyncFlush;
    config.mapped_file_size_commit_log = 4 << 20;
    let store = std::sync::Arc::new(support::open(config));
    let before = store.commit_log_msync_count();
    let threads: Vec<_> = (0..16)
        .map(|t| {
            let store = store.clone();
            std::thread::spawn(move || {
                for i in 0..40 {
                    let r =
                        store.put_message(message("SyncTopic", t % 4, t as usize * 100 + i, 200));
                    assert_eq!(r.status, PutMessageStatus::PutOk);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let msyncs = store.commit_log_msync_count() - before;
    println!("group commit: 640 sync appends, {msyncs} msyncs");
    assert!(msyncs > 0);
    assert!(msyncs < 640, "{msyncs} msyncs for 640 appends");
}

/// Runs a future to completion on this thread, woken only through its waker (no polling
/// loop): a future that never wakes its task would hang here.
fn block_on<F: std::future::Future>(f: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = std::task::Waker::from(std::sync::Arc::new(Unpark(std::thread::current())));
    let mut cx = std::task::Context::from_waker(&waker);
    let mut f = std::pin::pin!(f);
    loop {
        if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park();
    }
}

/// SYNC_FLUSH puts that do not block (what the broker's send path uses): each is answered
/// PUT_OK only once the commitlog is synced past its record, and puts waiting together share
/// their msyncs.
#[test]
fn deferred_sync_flush_puts_are_acknowledged_once_flushed_and_share_syncs() {
    let tmp = tempfile::tempdir().unwrap();
    let mut config = small_config(tmp.path());
    config.flush_disk_type = FlushDiskType::SyncFlush;
    config.mapped_file_size_commit_log = 4 << 20;
    let store = support::open(config);
    let before = store.commit_log_msync_count();
    let pending: Vec<_> = (0..64)
        .map(
            |i| match store.put_message_deferred(message("SyncTopic", i % 4, i as usize, 200)) {
                store::PutOutcome::Flushing(p) => p,
                store::PutOutcome::Done(r) => {
                    panic!("a waiting put answered at once: {:?}", r.status)
                }
            },
        )
        .collect();
    for (i, p) in pending.into_iter().enumerate() {
        // The deadline never comes: only the group commit's wake-up ends the wait.
        let result = if i % 2 == 0 {
            block_on(p.wait_until(std::future::pending()))
        } else {
            p.wait_blocking()
        };
        assert_eq!(result.status, PutMessageStatus::PutOk);
        let a = result.append.unwrap();
        let flushed = store.max_phy_offset() - store.remain_how_many_data_to_flush();
        assert!(
            flushed >= a.wrote_offset + a.wrote_bytes as i64,
            "put {i} acknowledged at {flushed}, before its end"
        );
    }
    let msyncs = store.commit_log_msync_count() - before;
    assert!(
        msyncs > 0 && msyncs < 64,
        "{msyncs} msyncs for 64 waiting puts"
    );

    // A put that does not wait (WAIT=false) is answered at once, and synced by the service's
    // own round soon after.
    let mut m = message("SyncTopic", 0, 999, 200);
    m.properties.insert("WAIT", "false");
    let store::PutOutcome::Done(r) = store.put_message_deferred(m) else {
        panic!("WAIT=false waited");
    };
    assert_eq!(r.status, PutMessageStatus::PutOk);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while store.remain_how_many_data_to_flush() > 0 {
        assert!(std::time::Instant::now() < deadline, "never synced");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// Appends dispatch what they wrote themselves (the reput thread is only a backstop): puts
/// from several threads at once all reach their consume queues, in order.
#[test]
fn concurrent_puts_are_all_dispatched_in_order() {
    let tmp = tempfile::tempdir().unwrap();
    let mut config = small_config(tmp.path());
    config.mapped_file_size_commit_log = 1 << 20;
    let store = std::sync::Arc::new(support::open(config));
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let store = store.clone();
            std::thread::spawn(move || {
                for i in 0..500 {
                    let r = store.put_message(message("Disp", t, t as usize * 1000 + i, 100));
                    assert_eq!(r.status, PutMessageStatus::PutOk);
                    assert_eq!(r.append.unwrap().logics_offset, i as i64);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while store.dispatch_behind_bytes() > 0 {
        assert!(std::time::Instant::now() < deadline, "dispatch stuck");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    for q in 0..4 {
        let cq = store.consume_queue("Disp", q).unwrap();
        assert_eq!(cq.max_offset(), 500);
        let mut last = -1;
        for index in 0..500 {
            let e = cq.entry(index).unwrap();
            assert!(e.offset > last, "queue {q} entry {index}");
            last = e.offset;
        }
    }
}
