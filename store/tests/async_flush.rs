//! ASYNC_FLUSH with `flushCommitLogTimed=false` wakes its flush thread early only when
//! `flushCommitLogLeastPages` pages are dirty: a small append waits for the interval, a large
//! one is flushed at once. (With the default `flushCommitLogTimed=true` the thread ignores
//! wakeups, as Java's sleeps through them, and appends do not signal it at all.)

mod support;

use std::time::{Duration, Instant};

use store::{MessageStore, PutMessageStatus};
use support::*;

#[test]
fn async_flush_runs_early_once_least_pages_are_dirty() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = small_config(dir.path());
    // An interval no test run reaches: only an early wakeup can flush.
    config.flush_interval_commit_log = 600_000;
    config.flush_commit_log_thorough_interval = 600_000;
    config.flush_commit_log_least_pages = 4;
    config.flush_commit_log_timed = false;
    let store = MessageStore::open(config).unwrap();

    let small = store.put_message(message("FlushTopic", 0, 0, 100));
    assert_eq!(small.status, PutMessageStatus::PutOk);
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        store.remain_how_many_data_to_flush() > 0,
        "one small append must not wake the flush thread"
    );

    // 5 × 4 KiB: more than 4 dirty pages.
    for i in 1..=5 {
        let r = store.put_message(message("FlushTopic", 0, i, 4096));
        assert_eq!(r.status, PutMessageStatus::PutOk);
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while store.remain_how_many_data_to_flush() > 0 {
        assert!(
            Instant::now() < deadline,
            "4+ dirty pages were not flushed early ({} bytes left)",
            store.remain_how_many_data_to_flush()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    store.shutdown().unwrap();
}
