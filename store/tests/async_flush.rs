//! ASYNC_FLUSH with `flushCommitLogTimed=false` wakes its flush thread early only when
//! `flushCommitLogLeastPages` pages are dirty: a small append waits for the interval, a large
//! one is flushed at once. (With the default `flushCommitLogTimed=true` the thread ignores
//! wakeups, as Java's sleeps through them, and appends do not signal it at all.)
//!
//! The test does not race the flush thread. Its interval is out of reach, so nothing is
//! flushed until an append wakes it, and which append does is known in advance: the first
//! whose end is `flushCommitLogLeastPages` pages past the flushed position (0). The test waits
//! for the flushed position to reach that append's end, however late the thread runs; the
//! appends after it may or may not be flushed along, depending on when the thread wakes.

mod support;

use std::time::{Duration, Instant};

use store::{MessageStore, PutMessageStatus};
use support::*;

const LEAST_PAGES: usize = 4;
const PAGE: i64 = 4096;

#[test]
fn async_flush_runs_early_once_least_pages_are_dirty() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = small_config(dir.path());
    // An interval no test run reaches: only an early wakeup can flush.
    config.flush_interval_commit_log = 600_000;
    config.flush_commit_log_thorough_interval = 600_000;
    config.flush_commit_log_least_pages = LEAST_PAGES;
    config.flush_commit_log_timed = false;
    let store = support::open(config);
    let flushed =
        |store: &MessageStore| store.max_phy_offset() - store.remain_how_many_data_to_flush();
    let threshold = LEAST_PAGES as i64 * PAGE;

    let small = store.put_message(message("FlushTopic", 0, 0, 100));
    assert_eq!(small.status, PutMessageStatus::PutOk);
    // Nothing can flush a small append before the 600 s interval, so this check cannot fail
    // on a slow machine; it fails at once if a small append wakes a flush.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        flushed(&store),
        0,
        "one small append must not be flushed early"
    );

    // 4 KiB appends until one leaves the least pages dirty: that one wakes the thread.
    let mut waking_end = None;
    for i in 1..=5 {
        let r = store.put_message(message("FlushTopic", 0, i, 4096));
        assert_eq!(r.status, PutMessageStatus::PutOk);
        let end = store.max_phy_offset();
        if waking_end.is_none() && end >= threshold {
            // Below the threshold no append may have woken it.
            assert_eq!(
                flushed(&store),
                0,
                "flushed before {LEAST_PAGES} pages were dirty"
            );
            waking_end = Some(end);
        }
    }
    let waking_end = waking_end.expect("5 × 4 KiB leave 4 pages dirty");
    let deadline = Instant::now() + Duration::from_secs(120);
    while flushed(&store) < waking_end {
        assert!(
            Instant::now() < deadline,
            "{LEAST_PAGES} dirty pages were not flushed early (flushed {} of {waking_end} bytes)",
            flushed(&store)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // What the thread left is what the last appends wrote after it ran: less than the least
    // pages, or it would have been woken again.
    assert!(store.remain_how_many_data_to_flush() < threshold);
    store.shutdown().unwrap();
}
